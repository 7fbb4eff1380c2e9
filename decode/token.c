/* A compact JWT split at its dots, each segment base64url-decoded, header
 * and payload parsed as JSON into the work area; the token's summary and
 * fingerprint. */
#include <stdio.h>
#include <string.h>

#include "decode/b64url.h"
#include "decode/keyring.h"
#include "decode/text.h"
#include "decode/validate_int.h"

/* 1: base64url alphabet, 2: '.', 0: anything else (b64url_is_char, inlined) */
const uint8_t token_jwt_class[256] = {
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
	['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
	['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
	['9'] = 1, ['-'] = 1, ['_'] = 1, ['.'] = 2,
};

int token_charset_ok(const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!token_jwt_class[(unsigned char)t[i]])
			return 0;
	return 1;
}

static const char *json_err_name(int rc)
{
	return rc == JSON_E_DEPTH ? "nested more than 64 levels" : rc == JSON_E_TOKENS ? "too many values" : NULL;
}

/* The common case in one pass per segment: exactly two dots (memchr), and
 * each segment decodes, which checks every byte of it against the alphabet.
 * 0 then, with x's segments set; -1 when anything is off, for
 * split_decode_slow to find and name the first problem. */
static int split_decode_fast(struct parsed *x, const char *tok, size_t len)
{
	const char *a = memchr(tok, '.', len);
	if (!a)
		return -1;
	const char *b = memchr(a + 1, '.', len - (size_t)(a + 1 - tok));
	if (!b || memchr(b + 1, '.', len - (size_t)(b + 1 - tok)))
		return -1;
	size_t hn = (size_t)(a - tok), pn = (size_t)(b - a - 1), sn = len - (size_t)(b + 1 - tok);
	if (!hn || !pn)
		return -1;
	size_t cap = sizeof(((struct validate_work *)0)->buf);
	long hl = b64url_decode(tok, hn, x->buf, cap);
	long pl = hl < 0 ? -1 : b64url_decode(a + 1, pn, x->buf + hl, cap - (size_t)hl);
	long sl = pl < 0 ? -1 : b64url_decode(b + 1, sn, x->buf + hl + pl, cap - (size_t)(hl + pl));
	if (sl < 0)
		return -1;
	x->dot1 = hn;
	x->dot2 = (size_t)(b - tok);
	x->hl = (size_t)hl;
	x->pl = (size_t)pl;
	x->sig = x->buf + hl + pl;
	x->siglen = (size_t)sl;
	return 0;
}

/* The same split, byte by byte, naming the first problem in why[]: 0 when
 * there is none, else -1. */
static int split_decode_slow(struct parsed *x, const char *tok, size_t len, char *why, size_t whycap)
{
	size_t ndots = 0, d[2] = {0, 0};
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)tok[i];
		if (token_jwt_class[c] == 1)
			continue;
		if (c == '.') {
			if (ndots < 2)
				d[ndots] = i;
			ndots++;
		} else {
			if (c >= 0x21 && c < 0x7f)
				snprintf(why, whycap, "character '%c' at offset %zu is not base64url", c, i);
			else
				snprintf(why, whycap, "byte 0x%02x at offset %zu is not base64url", c, i);
			return -1;
		}
	}
	if (ndots != 2) {
		snprintf(why, whycap, "%zu segments, expected 3 (header.payload.signature)", ndots + 1);
		return -1;
	}
	x->dot1 = d[0];
	x->dot2 = d[1];
	size_t hn = x->dot1, pn = x->dot2 - x->dot1 - 1, sn = len - x->dot2 - 1;
	if (!hn || !pn) {
		snprintf(why, whycap, "the %s segment is empty", !hn ? "header" : "payload");
		return -1;
	}
	size_t cap = sizeof(((struct validate_work *)0)->buf);
	long hl = b64url_decode(tok, hn, x->buf, cap);
	if (hl < 0) {
		snprintf(why, whycap, "the header is not valid base64url");
		return -1;
	}
	long pl = b64url_decode(tok + x->dot1 + 1, pn, x->buf + hl, cap - (size_t)hl);
	if (pl < 0) {
		snprintf(why, whycap, "the payload is not valid base64url");
		return -1;
	}
	long sl = b64url_decode(tok + x->dot2 + 1, sn, x->buf + hl + pl, cap - (size_t)(hl + pl));
	if (sl < 0) {
		snprintf(why, whycap, "the signature is not valid base64url");
		return -1;
	}
	x->hl = (size_t)hl;
	x->pl = (size_t)pl;
	x->sig = x->buf + hl + pl;
	x->siglen = (size_t)sl;
	return 0;
}

/* 0 when tok splits, decodes and parses; else -1 with why[] set (malformed). */
int token_parse(struct parsed *x, const char *tok, size_t len, char *why, size_t whycap)
{
	x->tok = tok;
	x->len = len;
	if (len == 0) {
		snprintf(why, whycap, "empty token");
		return -1;
	}
	if (len > TOKEN_MAX_LEN) {
		snprintf(why, whycap, "token is %zu bytes, over the %d-byte limit", len, TOKEN_MAX_LEN);
		return -1;
	}
	if (split_decode_fast(x, tok, len) < 0 && split_decode_slow(x, tok, len, why, whycap) < 0)
		return -1;
	size_t hl = x->hl, pl = x->pl;

	const char *what[2] = {"header", "payload"};
	struct json_doc *docs[2] = {&x->h, &x->p};
	const char *js[2] = {(const char *)x->buf, (const char *)x->buf + hl};
	size_t jl[2] = {(size_t)hl, (size_t)pl};
	struct json_tok *toks[2] = {x->ht, x->pt};
	unsigned caps[2] = {HDR_TOKS, PAY_TOKS};
	for (int k = 0; k < 2; k++) {
		int rc = json_parse(docs[k], js[k], jl[k], toks[k], caps[k]);
		if (rc != JSON_OK) {
			const char *e = json_err_name(rc);
			snprintf(why, whycap, "the %s is not JSON: %s at byte %zu", what[k], e ? e : docs[k]->err,
				 docs[k]->err_pos);
			return -1;
		}
		if (docs[k]->toks[0].type != JSON_OBJECT) {
			snprintf(why, whycap, "the %s is %s, not a JSON object", what[k],
				 json_type_desc(docs[k]->toks[0].type));
			return -1;
		}
		int dup = json_obj_dup(docs[k], 0);
		if (dup >= 0) {
			char key[64], pk[64];
			json_str_copy(docs[k], dup, key, sizeof key);
			text_printable(key, pk, sizeof pk, 40);
			snprintf(why, whycap, "the %s has the key '%s' twice (servers may take either value)",
				 what[k], pk);
			return -1;
		}
	}
	/* duplicate keys inside the objects the rules read */
	int grants = json_obj_get(&x->p, 0, "grants");
	if (grants >= 0 && x->pt[grants].type == JSON_OBJECT) {
		int objs[16], nobj = 0;
		const char *names[16];
		objs[nobj] = grants;
		names[nobj++] = "grants";
		for (int k = json_obj_first(&x->p, grants); k >= 0 && nobj < 12; k = json_obj_next(&x->p, grants, k)) {
			if (x->pt[k + 1].type != JSON_OBJECT)
				continue;
			objs[nobj] = k + 1;
			names[nobj++] = NULL; /* named from the key below */
			if (json_str_eq(&x->p, k, "voice", 5)) {
				int in = json_obj_get(&x->p, k + 1, "incoming");
				int out = json_obj_get(&x->p, k + 1, "outgoing");
				if (in >= 0 && x->pt[in].type == JSON_OBJECT) {
					objs[nobj] = in;
					names[nobj++] = "grants.voice.incoming";
				}
				if (out >= 0 && x->pt[out].type == JSON_OBJECT) {
					objs[nobj] = out;
					names[nobj++] = "grants.voice.outgoing";
				}
			}
		}
		for (int i = 0; i < nobj; i++) {
			int dup = json_obj_dup(&x->p, objs[i]);
			if (dup < 0)
				continue;
			char key[64], pk[64], gname[64], name[80];
			json_str_copy(&x->p, dup, key, sizeof key);
			text_printable(key, pk, sizeof pk, 40);
			if (names[i]) {
				snprintf(name, sizeof name, "%s", names[i]);
			} else {
				json_str_copy(&x->p, objs[i] - 1, gname, sizeof gname);
				char pg[48];
				text_printable(gname, pg, sizeof pg, 32);
				snprintf(name, sizeof name, "grants.%s", pg);
			}
			snprintf(why, whycap, "'%s' has the key '%s' twice (servers may take either value)", name, pk);
			return -1;
		}
	}
	return 0;
}

int token_value_str(const struct json_doc *d, int v, char *buf, size_t cap)
{
	if (cap)
		buf[0] = 0;
	if (v < 0 || d->toks[v].type != JSON_STRING || !cap)
		return v;
	long n = json_str_copy(d, v, buf, cap);
	size_t have = n < 0 ? 0 : (size_t)n < cap ? (size_t)n : strlen(buf);
	/* only an escape can put a NUL there: the parser refuses raw control bytes */
	if (!(d->toks[v].flags & JSON_F_ESCAPED) || !memchr(buf, 0, have))
		return v;
	/* a \u0000 inside: the whole string is kept, each NUL written as the
	 * six characters \u0000, so that a check sees a value that is not
	 * the part before it ('alice' of "alice\u0000bob"), and every output
	 * shows it escaped; cut at a whole escape or character */
	char tmp[256];
	size_t m = have < sizeof tmp ? have : sizeof tmp;
	memcpy(tmp, buf, m);
	size_t o = 0, boundary = 0, i = 0;
	for (; i < m; i++) {
		if (((unsigned char)tmp[i] & 0xc0) != 0x80)
			boundary = o; /* a character starts here */
		size_t need = tmp[i] ? 1 : 6;
		if (o + need >= cap)
			break;
		if (tmp[i])
			buf[o++] = tmp[i];
		else {
			memcpy(buf + o, "\\u0000", 6);
			o += 6;
		}
	}
	if (i < m && i > 0 && ((unsigned char)tmp[i] & 0xc0) == 0x80)
		o = boundary; /* stopped inside a character */
	buf[o] = 0;
	return v;
}

int token_str_has_nul(const struct json_doc *d, int v, size_t *at)
{
	if (v < 0 || d->toks[v].type != JSON_STRING || !(d->toks[v].flags & JSON_F_ESCAPED))
		return 0;
	char buf[1024];
	long n = json_str_copy(d, v, buf, sizeof buf);
	size_t have = n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
	const char *z = memchr(buf, 0, have);
	if (z && at)
		*at = (size_t)(z - buf);
	return z != NULL;
}

void token_fingerprint(const char *tok, size_t len, char out[24])
{
	uint8_t md[32];
	static const char hex[] = "0123456789abcdef";
	sha256_digest(tok, len, md);
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 8; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[23] = 0;
}

uint32_t token_grant_bit(const struct json_doc *d, int key)
{
	static const struct {
		const char *name;
		size_t n;
	} names[GRANT_BIT__COUNT] = {
#define GRANT_NAME_(e, name) {name, sizeof name - 1},
		GRANT_LIST(GRANT_NAME_)
#undef GRANT_NAME_
	};
	if (key < 0 || (unsigned)key >= d->ntoks || d->toks[key].type != JSON_STRING)
		return 0;
	const struct json_tok *t = &d->toks[key];
	int raw = !(t->flags & JSON_F_ESCAPED);
	for (int b = 0; b < GRANT_BIT__COUNT; b++)
		if (raw ? t->end - t->start == names[b].n && !memcmp(d->js + t->start, names[b].name, names[b].n)
			: json_str_eq(d, key, names[b].name, names[b].n))
			return 1u << b;
	return 0;
}

void token_summarize(const struct parsed *x, struct token_summary *s)
{
	const struct json_doc *h = &x->h, *p = &x->p;
	int64_t v;
	s->parsed = 1;
	token_member_str(h, 0, "alg", s->alg, sizeof s->alg);
	token_member_str(h, 0, "twr", s->region, sizeof s->region);
	token_member_str(p, 0, "jti", s->jti, sizeof s->jti);
	token_member_str(p, 0, "iss", s->iss, sizeof s->iss);
	token_member_str(p, 0, "sub", s->sub, sizeof s->sub);
	if (json_get_int64(p, json_obj_get(p, 0, "iat"), &v) == JSON_NUM_OK)
		s->iat = v, s->has_iat = 1;
	if (json_get_int64(p, json_obj_get(p, 0, "nbf"), &v) == JSON_NUM_OK)
		s->nbf = v, s->has_nbf = 1;
	if (json_get_int64(p, json_obj_get(p, 0, "exp"), &v) == JSON_NUM_OK)
		s->exp = v, s->has_exp = 1;
	int g = json_obj_get(p, 0, "grants");
	if (g < 0 || p->toks[g].type != JSON_OBJECT)
		return;
	token_member_str(p, g, "identity", s->identity, sizeof s->identity);
	for (int k = json_obj_first(p, g); k >= 0; k = json_obj_next(p, g, k))
		s->grants |= token_grant_bit(p, k);
	int chat = json_obj_get(p, g, "chat");
	if (chat < 0)
		chat = json_obj_get(p, g, "ip_messaging");
	if (chat >= 0)
		token_member_str(p, chat, "service_sid", s->chat_service_sid, sizeof s->chat_service_sid);
	int sync = json_obj_get(p, g, "data_sync");
	if (sync >= 0)
		token_member_str(p, sync, "service_sid", s->sync_service_sid, sizeof s->sync_service_sid);
}

