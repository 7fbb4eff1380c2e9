/* Wrapped tokens (wrong_format): a real token inside a JSON object,
 * quotes, a Bearer prefix, whitespace, URL-encoding, a query string or
 * segment padding, peeled layer by layer. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "decode/json.h"
#include "decode/text.h"
#include "decode/validate_int.h"

static const struct {
	enum wrap w;
	const char *what;
	const char *fix;
} wraps[] = {
	{WRAP_JSON, "the whole JSON response was passed instead of the token string",
	 "pass only the token string, the response's 'token' field (e.g. data.token), not the whole JSON"},
	{WRAP_QUERY, "a URL query string was passed instead of the token",
	 "pass only the value of the 'token' parameter, URL-decoded"},
	{WRAP_BEARER, "it has a 'Bearer ' prefix", "pass the bare token, without the 'Bearer ' prefix"},
	{WRAP_QUOTES, "it is wrapped in quotes",
	 "pass the token without quotes (parse the JSON string instead of using its raw text)"},
	{WRAP_URLENC, "it is URL-encoded", "URL-decode the token (decodeURIComponent) before passing it"},
	{WRAP_SPACE, "it has leading or trailing whitespace", "trim whitespace and newlines from the token"},
	{WRAP_NEWLINE, "it has an embedded line break or space",
	 "remove line breaks and spaces from the token (do not wrap it when storing or copying)"},
	{WRAP_PADDING, "it has base64 '=' padding",
	 "strip the '=' padding: JWT segments are unpadded base64url"},
};

/* Non-zero when s[0..n) looks like a JWT: eyJ, three segments. */
static int jwt_shaped(const char *s, size_t n)
{
	if (n < 10 || memcmp(s, "eyJ", 3))
		return 0;
	size_t dots = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t k = token_jwt_class[(unsigned char)s[i]];
		if (!k)
			return 0;
		dots += k == 2;
	}
	return dots == 2;
}

/* Finds a JWT-shaped string value in the JSON document s[0..*n) and moves it
 * to the front of s. Prefers members named token/accessToken/access_token/
 * jwt. Strings with escapes are skipped: base64url needs none. */
static int json_find_token(char *s, size_t *n, struct json_tok *toks)
{
	struct json_doc d;
	if (json_parse(&d, s, *n, toks, VALIDATE_WRAP_TOKS) != JSON_OK)
		return -1;
	int best = -1, best_named = 0;
	for (unsigned i = 0; i < d.ntoks; i++) {
		if (toks[i].type != JSON_STRING || (toks[i].flags & JSON_F_ESCAPED) ||
		    !jwt_shaped(s + toks[i].start, toks[i].end - toks[i].start))
			continue;
		/* a value (not a key) whose key is a token-ish name */
		int named = 0;
		if (i > 0 && toks[i - 1].type == JSON_STRING && toks[i - 1].after == i) {
			static const char *const names[] = {"token", "accessToken", "access_token", "jwt", "jwtToken"};
			for (size_t k = 0; k < sizeof names / sizeof *names; k++)
				if (json_str_eq(&d, (int)i - 1, names[k], strlen(names[k])))
					named = 1;
		}
		if (best < 0 || (named && !best_named))
			best = (int)i, best_named = named;
	}
	if (best < 0)
		return -1;
	*n = toks[best].end - toks[best].start;
	memmove(s, s + toks[best].start, *n);
	return 0;
}

/* Undoes one layer of wrapping of s[0..*n) in place (buf). Returns the wrap
 * found, 0 when none applies. */
static enum wrap unwrap_once(char *s, size_t *n, struct json_tok *toks)
{
	size_t len = *n;
	/* leading/trailing whitespace */
	if (len && (text_is_space(s[0]) || text_is_space(s[len - 1]))) {
		size_t a = 0, b = len;
		while (a < b && text_is_space(s[a]))
			a++;
		while (b > a && text_is_space(s[b - 1]))
			b--;
		memmove(s, s + a, b - a);
		*n = b - a;
		return WRAP_SPACE;
	}
	if (len > 7 && !strncasecmp(s, "bearer", 6) && text_is_space(s[6])) {
		size_t a = 6;
		while (a < len && text_is_space(s[a]))
			a++;
		memmove(s, s + a, len - a);
		*n = len - a;
		return WRAP_BEARER;
	}
	if (len >= 2 && ((s[0] == '"' && s[len - 1] == '"') || (s[0] == '\'' && s[len - 1] == '\''))) {
		memmove(s, s + 1, len - 2);
		*n = len - 2;
		return WRAP_QUOTES;
	}
	if (len && (s[0] == '{' || s[0] == '['))
		return json_find_token(s, n, toks) < 0 ? 0 : WRAP_JSON;
	/* a query string or URL: ...token=<jwt>[&...] */
	for (size_t i = 0; i + 6 < len; i++) {
		if (memcmp(s + i, "token=", 6) || (i && s[i - 1] != '?' && s[i - 1] != '&' && s[i - 1] != '_' &&
						   s[i - 1] != 'n' /* accessToken= */ && s[i - 1] != 'N'))
			continue;
		size_t a = i + 6, b = a;
		while (b < len && s[b] != '&' && s[b] != '#')
			b++;
		if (b == a)
			continue;
		memmove(s, s + a, b - a);
		*n = b - a;
		return WRAP_QUERY;
	}
	/* percent-encoding */
	int pct = 0;
	for (size_t i = 0; i + 2 < len + 0 && !pct; i++)
		pct = s[i] == '%' && text_is_hex((unsigned char)s[i + 1]) && text_is_hex((unsigned char)s[i + 2]);
	if (pct) {
		size_t o = 0;
		for (size_t i = 0; i < len; i++) {
			if (s[i] == '%' && i + 2 < len && text_is_hex((unsigned char)s[i + 1]) && text_is_hex((unsigned char)s[i + 2])) {
				int hi = s[i + 1], lo = s[i + 2];
				hi = hi <= '9' ? hi - '0' : (hi | 0x20) - 'a' + 10;
				lo = lo <= '9' ? lo - '0' : (lo | 0x20) - 'a' + 10;
				s[o++] = (char)(hi << 4 | lo);
				i += 2;
			} else {
				s[o++] = s[i];
			}
		}
		*n = o;
		return WRAP_URLENC;
	}
	/* whitespace inside */
	int sp = 0;
	for (size_t i = 0; i < len && !sp; i++)
		sp = text_is_space(s[i]);
	if (sp) {
		size_t o = 0;
		for (size_t i = 0; i < len; i++)
			if (!text_is_space(s[i]))
				s[o++] = s[i];
		*n = o;
		return WRAP_NEWLINE;
	}
	/* '=' padding at the end of segments */
	int pad = 0;
	for (size_t i = 0; i < len && !pad; i++)
		pad = s[i] == '=' && (i + 1 == len || s[i + 1] == '.' || s[i + 1] == '=');
	if (pad) {
		size_t o = 0;
		for (size_t i = 0; i < len; i++) {
			size_t j = i;
			while (j < len && s[j] == '=')
				j++;
			if (s[i] == '=' && (j == len || s[j] == '.')) {
				i = j - 1;
				continue;
			}
			s[o++] = s[i];
		}
		*n = o;
		return WRAP_PADDING;
	}
	return 0;
}

/* Tries to find a real token inside tok. On success fills buf[0..*inner_len)
 * and order[] (the wraps, outermost first) and returns how many were found;
 * 0 when no token is inside. */
int unwrap_find(const char *tok, size_t len, char *buf, size_t *inner_len, enum wrap *order,
			struct json_tok *toks)
{
	int found = 0;
	size_t n = len;
	memcpy(buf, tok, len);
	while (!token_charset_ok(buf, n)) {
		if (found == WRAP_MAX_LAYERS)
			return 0;
		enum wrap w = unwrap_once(buf, &n, toks);
		if (!w)
			return 0;
		order[found++] = w;
	}
	if (!found || !jwt_shaped(buf, n))
		return 0;
	*inner_len = n;
	return found;
}

/* The text lists the wraps outermost first; the fix is the most telling
 * one's (wraps[] order). */
void unwrap_report(struct diag *d, const enum wrap *order, int n)
{
	char text[DIAG_TEXT_MAX] = "";
	const char *fix = NULL;
	size_t o = 0;
	unsigned seen = 0;
	for (size_t i = 0; i < sizeof wraps / sizeof *wraps && !fix; i++)
		for (int k = 0; k < n; k++)
			if (order[k] == wraps[i].w)
				fix = wraps[i].fix;
	for (int k = 0; k < n; k++) {
		if (seen & order[k])
			continue;
		seen |= order[k];
		for (size_t i = 0; i < sizeof wraps / sizeof *wraps; i++)
			if (wraps[i].w == order[k] && o < sizeof text)
				o += (size_t)snprintf(text + o, sizeof text - o, "%s%s", o ? "; " : "", wraps[i].what);
	}
	diag_add(d, CAUSE_WRONG_FORMAT, fix, "not a bare token: %s (the token inside is judged below)", text);
}

