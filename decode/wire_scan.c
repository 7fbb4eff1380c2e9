/* The wire decoder's small scanners: a targeted, non-allocating JSON member
 * lookup, JWT shape and "is it Twilio's" checks, the fallback JWT finder, and
 * host classification (built-in Twilio hosts and TOKSHIM_HOSTS rules). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decode/b64url.h"
#include "decode/wire_int.h"
#include "decode/cold.h"

/* ---- JSON ------------------------------------------------------------------ */

static inline size_t skip_ws(const char *p, size_t n, size_t i)
{
	if (i < n && (unsigned char)p[i] > ' ')
		return i; /* the common case: no whitespace */
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	return i;
}

/* p[i] is '"'. Returns the index of the closing quote, or n. */
static size_t string_end(const char *p, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		const char *q = memchr(p + i, '"', n - i);
		if (!q)
			return n;
		size_t k = (size_t)(q - p), bs = 0;
		while (k - bs > i && p[k - bs - 1] == '\\')
			bs++;
		if (bs % 2 == 0)
			return k;
		i = k;
	}
	return n;
}

/* Skips one value starting at p[i]; returns the index after it, or n when it
 * does not end within p (or is not a value). */
static size_t value_end(const char *p, size_t n, size_t i)
{
	if (i >= n)
		return n;
	if (p[i] == '"') {
		size_t e = string_end(p, n, i);
		return e < n ? e + 1 : n;
	}
	if (p[i] == '{' || p[i] == '[') {
		size_t depth = 0;
		for (; i < n; i++) {
			char c = p[i];
			if (c == '"') {
				i = string_end(p, n, i);
				if (i >= n)
					return n;
			} else if (c == '{' || c == '[') {
				depth++;
			} else if (c == '}' || c == ']') {
				if (--depth == 0)
					return i + 1;
			}
		}
		return n;
	}
	size_t s = i;
	while (i < n && !strchr(",}] \t\r\n", p[i]))
		i++;
	return i > s ? i : n;
}

int wire_json_member_n(const char *p, size_t n, const char *key, size_t klen, struct jspan *out)
{
	size_t i = skip_ws(p, n, 0);
	if (i >= n || p[i] != '{')
		return 0;
	i = skip_ws(p, n, i + 1);
	while (i < n && p[i] == '"') {
		size_t ke = string_end(p, n, i);
		if (ke >= n)
			return 0;
		int match = ke - i - 1 == klen && !memcmp(p + i + 1, key, klen);
		i = skip_ws(p, n, ke + 1);
		if (i >= n || p[i] != ':')
			return 0;
		i = skip_ws(p, n, i + 1);
		if (i >= n)
			return 0;
		if (match && p[i] == '"') {
			size_t e = string_end(p, n, i);
			if (e >= n)
				return 0;
			out->p = p + i + 1;
			out->n = e - i - 1;
			out->is_string = 1;
			return 1;
		}
		size_t ve = value_end(p, n, i);
		if (match) {
			if (ve >= n)
				return 0;
			out->p = p + i;
			out->n = ve - i;
			out->is_string = 0;
			return 1;
		}
		if (ve >= n)
			return 0;
		i = skip_ws(p, n, ve);
		if (i >= n || p[i] != ',')
			return 0;
		i = skip_ws(p, n, i + 1);
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static long hex4(const char *p)
{
	long v = 0;
	for (int k = 0; k < 4; k++) {
		int h = hexval(p[k]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

size_t wire_json_unescape(char *p, size_t n)
{
	size_t i = 0, o = 0;
	while (i < n) {
		char c = p[i];
		if (c != '\\' || i + 1 >= n) {
			p[o++] = p[i++];
			continue;
		}
		char e = p[i + 1];
		static const char esc[] = "\"\\/bfnrt", out[] = "\"\\/\b\f\n\r\t";
		const char *simple = e ? strchr(esc, e) : NULL;
		if (simple) {
			p[o++] = out[simple - esc];
			i += 2;
			continue;
		}
		long cp = e == 'u' && i + 6 <= n ? hex4(p + i + 2) : -1;
		if (cp < 0) {
			p[o++] = p[i++];
			continue;
		}
		size_t used = 6;
		if (cp >= 0xd800 && cp < 0xdc00 && i + 12 <= n && p[i + 6] == '\\' && p[i + 7] == 'u') {
			long lo = hex4(p + i + 8);
			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				used = 12;
			}
		}
		if (cp >= 0xd800 && cp < 0xe000)
			cp = 0xfffd; /* lone surrogate */
		/* UTF-8 is never longer than the escape it replaces */
		if (cp < 0x80) {
			p[o++] = (char)cp;
		} else if (cp < 0x800) {
			p[o++] = (char)(0xc0 | cp >> 6);
			p[o++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			p[o++] = (char)(0xe0 | cp >> 12);
			p[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
			p[o++] = (char)(0x80 | (cp & 0x3f));
		} else {
			p[o++] = (char)(0xf0 | cp >> 18);
			p[o++] = (char)(0x80 | (cp >> 12 & 0x3f));
			p[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
			p[o++] = (char)(0x80 | (cp & 0x3f));
		}
		i += used;
	}
	return o;
}

/* ---- JWT -------------------------------------------------------------------- */

int wire_is_jwt_char(unsigned char c)
{
	return c == '.' || b64url_is_char(c);
}

int wire_jwt_shaped(const char *p, size_t n)
{
	size_t seg = 0, seglen[3] = {0, 0, 0};
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.') {
			if (++seg > 2)
				return 0;
		} else if (b64url_is_char((unsigned char)p[i])) {
			seglen[seg]++;
		} else {
			return 0;
		}
	}
	return seg == 2 && seglen[0] > 0 && seglen[1] > 0;
}

#define JWT_HEADER_MAX 1024 /* header segment characters looked at */

int wire_jwt_is_twilio(const char *p, size_t n)
{
	if (n > TOKEN_MAX_LEN || !wire_jwt_shaped(p, n))
		return 0;
	const char *dot = memchr(p, '.', n);
	size_t hn = (size_t)(dot - p);
	if (hn > JWT_HEADER_MAX)
		return 0;
	uint8_t hdr[B64URL_DECODED_MAX(JWT_HEADER_MAX)];
	long dn = b64url_decode(p, hn, hdr, sizeof hdr);
	if (dn <= 0)
		return 0;
	struct jspan cty;
	return wire_json_member((const char *)hdr, (size_t)dn, "cty", &cty) &&
	       wire_jspan_eq(&cty, "twilio-fpa;v=1");
}

int wire_find_jwt(const char *p, size_t n, size_t from, int truncated, size_t *off, size_t *len)
{
	/* look for the 'J' of "eyJ" ('{"' in base64url): rare in text and JSON,
	 * so memchr runs long stretches */
	size_t i = from + 2;
	while (i < n) {
		const char *q = memchr(p + i, 'J', n - i);
		if (!q)
			return 0;
		size_t j = (size_t)(q - p);
		i = j + 1;
		if (p[j - 1] != 'y' || p[j - 2] != 'e')
			continue;
		size_t s = j - 2;
		if (s < from || (s > 0 && wire_is_jwt_char((unsigned char)p[s - 1])))
			continue;
		size_t e = j + 1;
		while (e < n && wire_is_jwt_char((unsigned char)p[e]))
			e++;
		i = e;
		if (e == n && truncated)
			return 0;
		if (wire_jwt_is_twilio(p + s, e - s)) {
			*off = s;
			*len = e - s;
			return 1;
		}
	}
	return 0;
}

/* ---- hosts -------------------------------------------------------------------- */

int wire_is_region(const char *p, size_t n)
{
	return n == 3 && p[0] >= 'a' && p[0] <= 'z' && p[1] >= 'a' && p[1] <= 'z' && p[2] >= '0' &&
	       p[2] <= '9';
}

static int ends_with(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n >= k && !memcmp(s + n - k, suf, k);
}

static int starts_with(const char *s, const char *pre)
{
	return !strncmp(s, pre, strlen(pre));
}

static void set_region(struct wire *w, const char *p, size_t n)
{
	if (wire_is_region(p, n)) {
		memcpy(w->region, p, n);
		w->region[n] = 0;
	}
}

/* The first region-shaped label of h[a..b). */
static void region_from_labels(struct wire *w, const char *h, size_t a, size_t b)
{
	while (a < b) {
		const char *dot = memchr(h + a, '.', b - a);
		size_t e = dot ? (size_t)(dot - h) : b;
		if (wire_is_region(h + a, e - a)) {
			set_region(w, h + a, e - a);
			return;
		}
		a = e + 1;
	}
}

static int rule_matches(const struct host_rule *r, const char *h, size_t hn, unsigned short port)
{
	if (r->port && r->port != port)
		return 0;
	if (r->host[0] == '*' && r->host[1] == '.') {
		size_t sn = strlen(r->host + 1); /* ".suffix" */
		return hn > sn && !strcasecmp(h + hn - sn, r->host + 1);
	}
	return !strcasecmp(h, r->host);
}

static enum wire_hint hint_of_product(enum product p)
{
	switch (p) {
	case PRODUCT_CONVERSATIONS:
	case PRODUCT_SYNC:
		return HINT_TWILSOCK;
	case PRODUCT_VOICE:
		return HINT_VOICE;
	case PRODUCT_VIDEO:
		return HINT_VIDEO;
	default:
		return HINT_NONE;
	}
}

void wire_host_classify(struct wire *w)
{
	const char *h = w->host;
	size_t hn = strlen(h);
	w->host_hint = HINT_NONE;
	w->host_product = PRODUCT_UNKNOWN;
	w->region[0] = 0;
	if (!hn)
		return;
	static const char tw[] = ".twilio.com";
	size_t twn = sizeof tw - 1;
	if (starts_with(h, "tsock.") && ends_with(h, hn, tw)) {
		w->host_hint = HINT_TWILSOCK;
		if (hn > 6 + twn)
			region_from_labels(w, h, 6, hn - twn);
	} else if (starts_with(h, "voice-js.") && ends_with(h, hn, tw)) {
		/* voice-js.<edge>.twilio.com: an edge (roaming, ashburn, ...), not a region */
		w->host_hint = HINT_VOICE;
		w->host_product = PRODUCT_VOICE;
		if (hn > 9 + twn)
			region_from_labels(w, h, 9, hn - twn);
	} else if (starts_with(h, "chunderw") && ends_with(h, hn, tw)) {
		/* chunderw-vpc-gll[-<region>].twilio.com */
		w->host_hint = HINT_VOICE;
		w->host_product = PRODUCT_VOICE;
		const char *dot = strchr(h, '.');
		const char *dash = memrchr(h, '-', (size_t)(dot - h));
		if (dash)
			set_region(w, dash + 1, (size_t)(dot - dash - 1));
	} else if (ends_with(h, hn, ".vss.twilio.com")) {
		/* <region>.vss.twilio.com; "global" names no region */
		w->host_hint = HINT_VIDEO;
		w->host_product = PRODUCT_VIDEO;
		const char *dot = strchr(h, '.');
		set_region(w, h, (size_t)(dot - h));
	}
	if (w->cfg && w->cfg->hosts) {
		for (size_t i = 0; i < w->cfg->nhosts; i++) {
			const struct host_rule *r = &w->cfg->hosts[i];
			if (rule_matches(r, h, hn, w->port)) {
				w->host_product = r->product;
				w->host_hint = hint_of_product(r->product);
				break;
			}
		}
	}
}

/* ---- TOKSHIM_HOSTS ------------------------------------------------------------------ */

static int parse_rule(const char *s, size_t n, struct host_rule *r, struct tk_error *err)
{
	const char *eq = memchr(s, '=', n);
	if (!eq) {
		tk_error_set(err, "cannot parse host rule '%.*s': expected host[:port]=product", (int)n, s);
		return -1;
	}
	size_t hn = (size_t)(eq - s);
	const char *prod = eq + 1;
	size_t pn = n - hn - 1;
	const char *colon = memchr(s, ':', hn);
	unsigned long port = 0;
	if (colon) {
		size_t k = (size_t)(colon - s) + 1;
		if (k == hn || hn - k > 5) {
			tk_error_set(err, "cannot parse host rule '%.*s': bad port", (int)n, s);
			return -1;
		}
		for (; k < hn; k++) {
			if (!isdigit((unsigned char)s[k])) {
				tk_error_set(err, "cannot parse host rule '%.*s': bad port", (int)n, s);
				return -1;
			}
			port = port * 10 + (unsigned long)(s[k] - '0');
		}
		if (port == 0 || port > 65535) {
			tk_error_set(err, "cannot parse host rule '%.*s': bad port", (int)n, s);
			return -1;
		}
		hn = (size_t)(colon - s);
	}
	if (hn == 0 || hn >= sizeof r->host) {
		tk_error_set(err, "cannot parse host rule '%.*s': bad host", (int)n, s);
		return -1;
	}
	for (size_t k = 0; k < hn; k++) {
		unsigned char c = (unsigned char)s[k];
		if (!(isalnum(c) || c == '-' || c == '.' || c == '_' || (c == '*' && k == 0)) ||
		    (k == 0 && c == '*' && (hn < 3 || s[1] != '.'))) {
			tk_error_set(err, "cannot parse host rule '%.*s': bad host", (int)n, s);
			return -1;
		}
	}
	char pname[32];
	if (pn == 0 || pn >= sizeof pname) {
		tk_error_set(err, "cannot parse host rule '%.*s': bad product", (int)n, s);
		return -1;
	}
	memcpy(pname, prod, pn);
	pname[pn] = 0;
	int p = product_from_name(pname);
	if (p <= 0) {
		tk_error_set(err,
			     "cannot parse host rule '%.*s': unknown product '%s' "
			     "(conversations, sync, voice, video)",
			     (int)n, s, pname);
		return -1;
	}
	for (size_t k = 0; k < hn; k++)
		r->host[k] = (char)tolower((unsigned char)s[k]);
	r->host[hn] = 0;
	r->port = (unsigned short)port;
	r->product = (enum product)p;
	return 0;
}

TK_COLD int host_rules_parse(const char *spec, struct host_rule *rules, size_t cap, struct tk_error *err)
{
	size_t count = 0;
	const char *s = spec ? spec : "";
	while (*s) {
		size_t n = strcspn(s, ",");
		const char *a = s, *b = s + n;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (b > a) {
			if (count >= cap) {
				tk_error_set(err, "too many host rules: at most %zu", cap);
				return -1;
			}
			if (parse_rule(a, (size_t)(b - a), &rules[count], err) < 0) {
				rules[count].host[0] = 0; /* the good rules before it end here */
				return -1;
			}
			count++;
		}
		s += n;
		if (*s == ',')
			s++;
	}
	return (int)count;
}
