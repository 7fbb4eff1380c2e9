/* The token validator: every cause of SPEC.md that a token alone can show.
 * Pure: no globals, no I/O, no clock; no allocation on its path (the JSON
 * parser fills the fixed arrays of a struct validate_work: the caller's, or
 * one on the stack for validate(); HMAC states are copied structs). */
#include "decode/validate.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "decode/b64url.h"
#include "decode/json.h"
#include "decode/keyring.h"
#include "decode/product.h"

#define HDR_TOKS VALIDATE_HDR_TOKS
#define PAY_TOKS VALIDATE_PAY_TOKS
#define MAX_TTL 86400
#define SOON_SECS 180
#define TWILIO_CTY "twilio-fpa;v=1"

/* A token split, decoded and parsed; the arrays are a struct validate_work's. */
struct parsed {
	const char *tok;
	size_t len;
	size_t dot1, dot2;   /* positions of the two dots */
	size_t siglen;       /* decoded signature length */
	const uint8_t *sig;  /* into buf */
	struct json_doc h, p;
	struct json_tok *ht; /* [HDR_TOKS] */
	struct json_tok *pt; /* [PAY_TOKS] */
	uint8_t *buf;        /* [B64URL_DECODED_MAX(TOKEN_MAX_LEN)] */
};

static void parsed_init(struct parsed *x, struct validate_work *w)
{
	x->ht = w->ht;
	x->pt = w->pt;
	x->buf = w->buf;
}

/* ---- small helpers --------------------------------------------------------- */

static int is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* prefix (2 upper-case letters, NULL any) + 32 hex digits */
static int sid_shape(const char *s, const char *prefix)
{
	return sid_is(s, strlen(s), prefix);
}

static const struct {
	char prefix[3];
	const char *kind;
} sid_kinds[] = {
	{"AC", "an Account SID"},
	{"SK", "an API Key SID"},
	{"IS", "a Service SID (Conversations, Chat or Sync)"},
	{"AP", "a TwiML App SID"},
	{"CR", "a Push Credential SID"},
	{"MG", "a Messaging Service SID"},
	{"PN", "a Phone Number SID"},
	{"CH", "a Conversation SID"},
	{"US", "a Conversations User SID"},
	{"MB", "a Participant SID"},
	{"IM", "a Message SID"},
	{"RL", "a Role SID"},
	{"RM", "a Room SID"},
	{"CA", "a Call SID"},
	{"SM", "an SMS Message SID"},
	{"MM", "an MMS Message SID"},
	{"VA", "a Verify Service SID"},
	{"WS", "a TaskRouter Workspace SID"},
	{"WK", "a TaskRouter Worker SID"},
	{"KS", "a Sync Stream SID"},
	{"ES", "a Sync List SID"},
	{"MP", "a Sync Map SID"},
	{"ET", "a Sync Document SID"},
	{"ZS", "a Serverless Service SID"},
	{"CF", "a Conference SID"},
	{"XE", "an Event Stream SID"},
};

/* "a Messaging Service SID", "a SID of kind 'ZZ'", "not a SID", "empty" */
static void sid_describe(const char *s, char *buf, size_t cap)
{
	if (!*s) {
		snprintf(buf, cap, "empty");
		return;
	}
	if (strlen(s) >= 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z') {
		const char *kind = NULL;
		for (size_t i = 0; i < sizeof sid_kinds / sizeof *sid_kinds; i++)
			if (s[0] == sid_kinds[i].prefix[0] && s[1] == sid_kinds[i].prefix[1])
				kind = sid_kinds[i].kind;
		int shaped = sid_shape(s, NULL);
		if (kind && shaped)
			snprintf(buf, cap, "%s", kind);
		else if (kind)
			snprintf(buf, cap, "shaped like %s but not 34 characters (2 letters + 32 hex)", kind);
		else if (shaped)
			snprintf(buf, cap, "a SID of kind '%.2s'", s);
		else
			snprintf(buf, cap, "not a SID (2 letters + 32 hex)");
		return;
	}
	snprintf(buf, cap, "not a SID (2 letters + 32 hex)");
}

/* "SK12ab..." : a key SID shown by its first characters only */
static void short_sid(const char *s, char *buf, size_t cap)
{
	if (!*s)
		snprintf(buf, cap, "(default)");
	else if (strlen(s) > 8)
		snprintf(buf, cap, "%.6s...", s);
	else
		snprintf(buf, cap, "%s", s);
}

/* A claim value for a text: control characters and quotes replaced, cut to max. */
static void printable(const char *s, char *buf, size_t cap, size_t max)
{
	size_t o = 0, i = 0;
	if (max + 4 > cap)
		max = cap > 4 ? cap - 4 : 0;
	for (; s[i] && o < max; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[o++] = (c < 0x20 || c == 0x7f || c == '\'') ? '?' : (char)c;
	}
	if (s[i] && o + 3 < cap) {
		while (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
			o--; /* whole characters only */
		if (o > 0 && (unsigned char)buf[o - 1] >= 0xc0)
			o--;
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = 0;
}

static const char *alg_names[HMAC__COUNT] = {"HS256", "HS384", "HS512"};

/* ---- splitting and parsing ----------------------------------------------- */

/* 1: base64url alphabet, 2: '.', 0: anything else (b64url_is_char, inlined) */
static const uint8_t jwt_class[256] = {
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
	['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
	['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
	['9'] = 1, ['-'] = 1, ['_'] = 1, ['.'] = 2,
};

static int jwt_charset_ok(const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!jwt_class[(unsigned char)t[i]])
			return 0;
	return 1;
}

static const char *json_err_name(int rc)
{
	return rc == JSON_E_DEPTH ? "nested more than 16 levels" : rc == JSON_E_TOKENS ? "too many values" : NULL;
}

/* 0 when tok splits, decodes and parses; else -1 with why[] set (malformed). */
static int parse_token(struct parsed *x, const char *tok, size_t len, char *why, size_t whycap)
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
	size_t ndots = 0, d[2] = {0, 0};
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)tok[i];
		if (jwt_class[c] == 1)
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
	x->sig = x->buf + hl + pl;
	x->siglen = (size_t)sl;

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
			printable(key, pk, sizeof pk, 40);
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
			printable(key, pk, sizeof pk, 40);
			if (names[i]) {
				snprintf(name, sizeof name, "%s", names[i]);
			} else {
				json_str_copy(&x->p, objs[i] - 1, gname, sizeof gname);
				char pg[48];
				printable(gname, pg, sizeof pg, 32);
				snprintf(name, sizeof name, "grants.%s", pg);
			}
			snprintf(why, whycap, "'%s' has the key '%s' twice (servers may take either value)", name, pk);
			return -1;
		}
	}
	return 0;
}

/* Copies string member key of obj, "" when absent or not a string.
 * Returns the member's value index or -1. */
static int member_str(const struct json_doc *d, int obj, const char *key, char *buf, size_t cap)
{
	int v = json_obj_get(d, obj, key);
	if (cap)
		buf[0] = 0;
	if (v >= 0 && d->toks[v].type == JSON_STRING)
		json_str_copy(d, v, buf, cap);
	return v;
}

static void fingerprint(const char *tok, size_t len, char out[24])
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

static uint32_t grant_bit_of(const struct json_doc *d, int key)
{
	static const char *const names[GRANT_BIT__COUNT] = {
#define GRANT_NAME_(e, name) name,
		GRANT_LIST(GRANT_NAME_)
#undef GRANT_NAME_
	};
	for (int b = 0; b < GRANT_BIT__COUNT; b++)
		if (json_str_eq(d, key, names[b], strlen(names[b])))
			return 1u << b;
	return 0;
}

static void summarize(const struct parsed *x, struct token_summary *s)
{
	const struct json_doc *h = &x->h, *p = &x->p;
	int64_t v;
	s->parsed = 1;
	member_str(h, 0, "alg", s->alg, sizeof s->alg);
	member_str(h, 0, "twr", s->region, sizeof s->region);
	member_str(p, 0, "jti", s->jti, sizeof s->jti);
	member_str(p, 0, "iss", s->iss, sizeof s->iss);
	member_str(p, 0, "sub", s->sub, sizeof s->sub);
	if (json_get_int64(p, json_obj_get(p, 0, "iat"), &v) == JSON_NUM_OK)
		s->iat = v, s->has_iat = 1;
	if (json_get_int64(p, json_obj_get(p, 0, "nbf"), &v) == JSON_NUM_OK)
		s->nbf = v, s->has_nbf = 1;
	if (json_get_int64(p, json_obj_get(p, 0, "exp"), &v) == JSON_NUM_OK)
		s->exp = v, s->has_exp = 1;
	int g = json_obj_get(p, 0, "grants");
	if (g < 0 || p->toks[g].type != JSON_OBJECT)
		return;
	member_str(p, g, "identity", s->identity, sizeof s->identity);
	for (int k = json_obj_first(p, g); k >= 0; k = json_obj_next(p, g, k))
		s->grants |= grant_bit_of(p, k);
	int chat = json_obj_get(p, g, "chat");
	if (chat < 0)
		chat = json_obj_get(p, g, "ip_messaging");
	if (chat >= 0)
		member_str(p, chat, "service_sid", s->chat_service_sid, sizeof s->chat_service_sid);
	int sync = json_obj_get(p, g, "data_sync");
	if (sync >= 0)
		member_str(p, sync, "service_sid", s->sync_service_sid, sizeof s->sync_service_sid);
}

/* ---- the rules ------------------------------------------------------------- */

struct ctx {
	const struct parsed *x;
	const struct vconfig *cfg;
	int64_t now;
	struct diag *d;
	enum product product; /* in use: configured or inferred */
	enum product want;    /* configured, or chosen for the channel: its grant is required */
};

static void check_header(struct ctx *c, int *alg_out)
{
	const struct json_doc *h = &c->x->h;
	struct diag *d = c->d;
	char alg[32], palg[40];
	*alg_out = -1;
	int a = member_str(h, 0, "alg", alg, sizeof alg);
	printable(alg, palg, sizeof palg, 20);
	if (a < 0) {
		diag_add(d, CAUSE_ALG, "sign the token with HS256 and the API Key Secret (the helper libraries do)",
			 "the header has no 'alg'");
	} else if (h->toks[a].type != JSON_STRING) {
		diag_add(d, CAUSE_ALG, "sign the token with HS256 and the API Key Secret (the helper libraries do)",
			 "header 'alg' is %s, not a string", json_type_desc(h->toks[a].type));
	} else if (!strcmp(alg, "HS256")) {
		*alg_out = HMAC_SHA256;
	} else if (!strcmp(alg, "HS384") || !strcmp(alg, "HS512")) {
		*alg_out = alg[2] == '3' ? HMAC_SHA384 : HMAC_SHA512;
		diag_add(d, CAUSE_ALG_NONSTANDARD, "sign with HS256, the default of every helper library",
			 "'alg' is '%s': Twilio documents HS256 only", alg);
	} else if (!strcmp(alg, "none") || !strcmp(alg, "None") || !strcmp(alg, "NONE")) {
		diag_add(d, CAUSE_ALG, "sign the token with HS256 and the API Key Secret (the helper libraries do)",
			 "'alg' is '%s': the token is unsigned", palg);
	} else {
		diag_add(d, CAUSE_ALG, "sign the token with HS256 and the API Key Secret (the helper libraries do)",
			 "'alg' is '%s': Twilio accepts only HS256 (HS384, HS512) signed with an API Key Secret",
			 palg);
	}

	char cty[48], pcty[48];
	int ct = member_str(h, 0, "cty", cty, sizeof cty);
	const char *fix = "make the token with a Twilio helper library (AccessToken), which sets cty '" TWILIO_CTY "'";
	if (ct < 0)
		diag_add(d, CAUSE_HEADER_CTY, fix, "the header has no 'cty'; Twilio requires '" TWILIO_CTY "'");
	else if (h->toks[ct].type != JSON_STRING)
		diag_add(d, CAUSE_HEADER_CTY, fix, "header 'cty' is %s, not '" TWILIO_CTY "'",
			 json_type_desc(h->toks[ct].type));
	else if (!json_str_eq(h, ct, TWILIO_CTY, strlen(TWILIO_CTY))) {
		printable(cty, pcty, sizeof pcty, 32);
		diag_add(d, CAUSE_HEADER_CTY, fix, "header 'cty' is '%s', not '" TWILIO_CTY "'", pcty);
	}
}

static void check_signature(struct ctx *c, int alg)
{
	const struct parsed *x = c->x;
	struct diag *d = c->d;
	if (alg < 0)
		return; /* `alg` already says why nothing can be verified */
	const char *iss = d->token.iss;
	char ks[16];
	const struct keyring_key *k = c->cfg->keys ? keyring_find(c->cfg->keys, iss, strlen(iss)) : NULL;
	if (!k) {
		short_sid(iss, ks, sizeof ks);
		diag_add(d, CAUSE_SIGNATURE_UNCHECKED,
			 "give the API Key Secret with --secret, TOKSHIM_SECRET or a secrets file",
			 "cannot verify 'signature': no secret for key '%s'", *iss ? ks : "(none)");
		return;
	}
	char which[40];
	short_sid(keyring_key_sid(k), ks, sizeof ks);
	if (*keyring_key_sid(k))
		snprintf(which, sizeof which, "the secret of key '%s'", ks);
	else
		snprintf(which, sizeof which, "the default secret");
	size_t want = hmac_len((enum hmac_alg)alg);
	const char *fix = "sign with the API Key Secret of the key in 'iss' (SK...), not the Account Auth Token";
	if (x->siglen == 0) {
		diag_add(d, CAUSE_SIGNATURE, fix, "the signature is empty (%s needs %zu bytes)", alg_names[alg], want);
		return;
	}
	if (x->siglen != want) {
		diag_add(d, CAUSE_SIGNATURE, fix, "the signature is %zu bytes, %s gives %zu", x->siglen,
			 alg_names[alg], want);
		return;
	}
	uint8_t mac[HMAC_MAX_LEN];
	if (keyring_mac(k, (enum hmac_alg)alg, x->tok, x->dot2, mac) < 0) {
		diag_add(d, CAUSE_SIGNATURE_UNCHECKED, "retry; report a bug if it persists",
			 "cannot verify 'signature': hmac failed");
		return;
	}
	int bad = CRYPTO_memcmp(mac, x->sig, want);
	OPENSSL_cleanse(mac, sizeof mac);
	if (bad)
		diag_add(d, CAUSE_SIGNATURE, fix,
			 "%s signature does not match %s%s; a common cause is signing with the Account Auth "
			 "Token instead of the API Key Secret",
			 alg_names[alg], which,
			 keyring_key_hexlike(k) ? " (which looks like an Auth Token: 32 hex)" : "");
}

/* Reads an integer time claim into *v. Returns 1 when present and usable,
 * 0 when absent, -1 when present but unusable (problem appended to prob). */
static int time_claim(const struct json_doc *p, const char *name, int64_t *v, char *prob, size_t cap)
{
	int i = json_obj_get(p, 0, name);
	if (i < 0)
		return 0;
	int rc = json_get_int64(p, i, v);
	if (rc == JSON_NUM_OK)
		return 1;
	size_t o = strlen(prob);
	const char *sep = o ? "; " : "";
	if (rc == JSON_NUM_NOT_NUMBER)
		snprintf(prob + o, cap - o, "%s'%s' is %s, not a number", sep, name, json_type_desc(p->toks[i].type));
	else if (rc == JSON_NUM_NOT_INTEGER)
		snprintf(prob + o, cap - o, "%s'%s' is %.*s, not a whole number of seconds", sep, name,
			 (int)(p->toks[i].end - p->toks[i].start < 24 ? p->toks[i].end - p->toks[i].start : 24),
			 p->js + p->toks[i].start);
	else
		snprintf(prob + o, cap - o, "%s'%s' is out of range", sep, name);
	return -1;
}

static void check_claims(struct ctx *c)
{
	const struct json_doc *p = &c->x->p;
	struct diag *d = c->d;
	struct token_summary *s = &d->token;
	char prob[DIAG_TEXT_MAX] = "";
	int64_t exp = 0, nbf = 0, iat = 0;
	int hexp = time_claim(p, "exp", &exp, prob, sizeof prob);
	int hnbf = time_claim(p, "nbf", &nbf, prob, sizeof prob);
	int hiat = time_claim(p, "iat", &iat, prob, sizeof prob);
	if (hexp == 0) {
		size_t o = strlen(prob);
		snprintf(prob + o, sizeof prob - o, "%s'exp' is missing", o ? "; " : "");
	}
	int jti = json_obj_get(p, 0, "jti");
	if (jti < 0 || p->toks[jti].type != JSON_STRING || p->toks[jti].end == p->toks[jti].start) {
		size_t o = strlen(prob);
		if (jti < 0)
			snprintf(prob + o, sizeof prob - o, "%s'jti' is missing", o ? "; " : "");
		else if (p->toks[jti].type != JSON_STRING)
			snprintf(prob + o, sizeof prob - o, "%s'jti' is %s, not a string", o ? "; " : "",
				 json_type_desc(p->toks[jti].type));
		else
			snprintf(prob + o, sizeof prob - o, "%s'jti' is empty", o ? "; " : "");
	}
	if (*prob)
		diag_add(d, CAUSE_CLAIMS,
			 "make the token with a Twilio helper library: it sets jti, iss, sub, exp (integer seconds)",
			 "%s", prob);

	/* issuer and subject */
	char v[64];
	int iss = json_obj_get(p, 0, "iss");
	const char *iss_fix = "use an API Key SID (SK...) and its secret (Console > API keys), not the Account SID";
	if (iss < 0) {
		diag_add(d, CAUSE_ISSUER, iss_fix, "'iss' is missing");
	} else if (p->toks[iss].type != JSON_STRING) {
		diag_add(d, CAUSE_ISSUER, iss_fix, "'iss' is %s, not an API Key SID", json_type_desc(p->toks[iss].type));
	} else if (!*s->iss) {
		diag_add(d, CAUSE_ISSUER, "set the API Key SID (SK...) in the token server's configuration",
			 "'iss' is empty: likely an unset server configuration (the API Key SID was empty when the "
			 "token was made)");
	} else if (!sid_shape(s->iss, "SK")) {
		char kind[96];
		printable(s->iss, v, sizeof v, 40);
		sid_describe(s->iss, kind, sizeof kind);
		diag_add(d, CAUSE_ISSUER, iss_fix, "'iss' is '%s', %s, not an API Key SID (SK + 32 hex)", v, kind);
	}
	if (*s->iss && *s->jti && strncmp(s->jti, s->iss, strlen(s->iss))) {
		char pj[64], pi[48];
		printable(s->jti, pj, sizeof pj, 48);
		printable(s->iss, pi, sizeof pi, 40);
		diag_add(d, CAUSE_ISSUER, "let the helper library set 'jti' (<API Key SID>-<time>)",
			 "'jti' '%s' does not start with 'iss' '%s'", pj, pi);
	}
	int sub = json_obj_get(p, 0, "sub");
	const char *sub_fix = "pass the Account SID (AC...) as the first argument of AccessToken";
	if (sub < 0) {
		diag_add(d, CAUSE_SUBJECT, sub_fix, "'sub' is missing");
	} else if (p->toks[sub].type != JSON_STRING) {
		diag_add(d, CAUSE_SUBJECT, sub_fix, "'sub' is %s, not an Account SID", json_type_desc(p->toks[sub].type));
	} else if (!sid_shape(s->sub, "AC")) {
		char kind[96];
		printable(s->sub, v, sizeof v, 40);
		sid_describe(s->sub, kind, sizeof kind);
		diag_add(d, CAUSE_SUBJECT, sub_fix, "'sub' is '%s', %s, not an Account SID (AC + 32 hex)", v, kind);
	} else if (c->cfg->account_sid && *c->cfg->account_sid && strcmp(s->sub, c->cfg->account_sid)) {
		char pa[48];
		printable(c->cfg->account_sid, pa, sizeof pa, 40);
		diag_add(d, CAUSE_ACCOUNT_MISMATCH,
			 "mint the token with this account's credentials, or correct --account/TOKSHIM_ACCOUNT_SID",
			 "'sub' is '%s', but the expected account is '%s'", s->sub, pa);
	}
	if (sid_shape(s->sub, "AC") && c->cfg->keys && *s->iss) {
		/* mixed credentials: the key in 'iss' belongs to another account */
		const struct keyring_key *k = keyring_find(c->cfg->keys, s->iss, strlen(s->iss));
		const char *ka = k && *keyring_key_sid(k) ? keyring_key_account(k) : "";
		if (*ka && strcmp(ka, s->sub) && !diag_has(d, CAUSE_ACCOUNT_MISMATCH)) {
			char ks[16];
			short_sid(s->iss, ks, sizeof ks);
			diag_add(d, CAUSE_ACCOUNT_MISMATCH,
				 "mint with the Account SID the API key belongs to (or a key of the token's account): "
				 "credentials of two accounts or subaccounts are mixed",
				 "'sub' is '%s', but key '%s' belongs to account '%s' (secrets file)", s->sub, ks, ka);
		}
	}

	/* times */
	char iso[40], dur[40];
	int64_t skew = c->cfg->skew < 0 ? 0 : c->cfg->skew, now = c->now;
	if (hexp == 1 && (exp < now - skew || exp - now < SOON_SECS)) {
		fmt_iso8601(exp, iso, sizeof iso);
		if (exp < now - skew) {
			fmt_duration(now - exp, dur, sizeof dur);
			diag_add(d, CAUSE_EXPIRED,
				 "mint a fresh token, and refresh it before it expires (tokenAboutToExpire/tokenWillExpire)",
				 "expired %s ago at %s", dur, iso);
		} else if (exp - now < SOON_SECS) {
			fmt_duration(exp - now, dur, sizeof dur);
			if (exp <= now)
				diag_add(d, CAUSE_EXPIRING_SOON, "refresh the token now (updateToken)",
					 "expired %s ago at %s, still within the %llds clock-skew allowance", dur, iso,
					 (long long)skew);
			else
				diag_add(d, CAUSE_EXPIRING_SOON,
					 "refresh the token before it expires (updateToken on tokenAboutToExpire)",
					 "expires in %s at %s", dur, iso);
		}
	}
	if (hnbf == 1 && nbf > now + skew) {
		fmt_iso8601(nbf, iso, sizeof iso);
		fmt_duration(nbf - now, dur, sizeof dur);
		diag_add(d, CAUSE_NOT_YET_VALID, "do not set 'nbf' in the future; if this device's clock is wrong, fix it",
			 "not valid until %s (in %s, beyond the %llds skew allowance)", iso, dur, (long long)skew);
	}
	/* the token was made moments ago by a server: stamped in this device's
	 * future means this device's clock is behind (reported with, not
	 * instead of, not_yet_valid: the server may judge by the right clock) */
	/* judged by iat when present: a future nbf beside a sane iat was chosen */
	int skew_iat = hiat == 1 && iat > now + skew, skew_nbf = hiat != 1 && hnbf == 1 && nbf > now + skew;
	if (skew_iat || skew_nbf) {
		int64_t t = skew_iat ? iat : nbf;
		fmt_iso8601(t, iso, sizeof iso);
		fmt_duration(t - now, dur, sizeof dur);
		diag_add(d, CAUSE_CLOCK_SKEW, "check the clocks of this device and of the token server (NTP)",
			 "'%s' is %s in this device's future (%s): its clock is probably wrong", skew_iat ? "iat" : "nbf",
			 dur, iso);
	}
	if (hexp == 1) {
		int64_t from = hnbf == 1 ? nbf : hiat == 1 ? iat : now;
		const char *base = hnbf == 1 ? "'nbf'" : hiat == 1 ? "'iat'" : "now";
		/* overflow-safe: both in int64, compare as a difference of halves */
		if ((exp > from) && ((uint64_t)exp - (uint64_t)from) > MAX_TTL) {
			uint64_t life = (uint64_t)exp - (uint64_t)from;
			fmt_duration(life > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)life, dur, sizeof dur);
			diag_add(d, CAUSE_TTL_TOO_LONG, "set ttl to at most 86400 seconds (the default is 3600)",
				 "lifetime %llus (%s, 'exp' - %s), over the 86400s (24h) maximum",
				 (unsigned long long)life, dur, base);
		}
	}
}

struct sid_rule {
	const char *field;   /* member name */
	const char *prefix;  /* wanted SID prefix */
	const char *kind;    /* "a Conversations Service SID (IS...)" */
	int required;
	const char *fix;
};

static void check_sid_field(struct ctx *c, int obj, const char *path, const struct sid_rule *r)
{
	const struct json_doc *p = &c->x->p;
	char val[64], pv[64], desc[96];
	int i = member_str(p, obj, r->field, val, sizeof val);
	if (i < 0 || (p->toks[i].type == JSON_STRING && p->toks[i].end == p->toks[i].start) ||
	    p->toks[i].type == JSON_NULL) {
		if (r->required)
			diag_add(c->d, CAUSE_GRANT_FIELD_MISSING, r->fix, "'%s.%s' is %s: %s is needed", path, r->field,
				 i < 0 ? "missing" : p->toks[i].type == JSON_NULL ? "null" : "empty", r->kind);
		return;
	}
	if (p->toks[i].type != JSON_STRING) {
		diag_add(c->d, CAUSE_GRANT_FIELD_INVALID, r->fix, "'%s.%s' is %s, where %s belongs", path, r->field,
			 json_type_desc(p->toks[i].type), r->kind);
		return;
	}
	if (sid_shape(val, r->prefix))
		return;
	printable(val, pv, sizeof pv, 40);
	sid_describe(val, desc, sizeof desc);
	diag_add(c->d, CAUSE_GRANT_FIELD_INVALID, r->fix, "'%s.%s' is '%s', %s, where %s belongs", path, r->field, pv,
		 desc, r->kind);
}

static const struct sid_rule chat_rules[] = {
	{"service_sid", "IS", "a Conversations Service SID (IS...)", 1,
	 "use the Conversations Service SID (IS...) from Console > Conversations > Services, not a Messaging "
	 "Service SID"},
	{"push_credential_sid", "CR", "a Push Credential SID (CR...)", 0,
	 "use a Push Credential SID (CR...) from Console > Credentials"},
	{"deployment_role_sid", "RL", "a Role SID (RL...)", 0, "use a Role SID (RL...) of the service"},
};
static const struct sid_rule sync_rules[] = {
	{"service_sid", "IS", "a Sync Service SID (IS...)", 1,
	 "use the Sync Service SID (IS...) from Console > Sync > Services (or 'default')"},
};
static const struct sid_rule voice_rules[] = {
	{"push_credential_sid", "CR", "a Push Credential SID (CR...)", 0,
	 "use a Push Credential SID (CR...) from Console > Voice > Credentials"},
};
static const struct sid_rule voice_out_rules[] = {
	{"application_sid", "AP", "a TwiML App SID (AP...)", 0,
	 "use the TwiML App SID (AP...) from Console > Voice > TwiML Apps"},
};
static const struct sid_rule tr_rules[] = {
	{"workspace_sid", "WS", "a TaskRouter Workspace SID (WS...)", 0, "use the Workspace SID (WS...)"},
	{"worker_sid", "WK", "a TaskRouter Worker SID (WK...)", 0, "use the Worker SID (WK...)"},
};

static void check_rules(struct ctx *c, int obj, const char *path, const struct sid_rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_sid_field(c, obj, path, &r[i]);
}

static void check_voice(struct ctx *c, int vg)
{
	const struct json_doc *p = &c->x->p;
	check_rules(c, vg, "grants.voice", voice_rules, 1);
	int in = json_obj_get(p, vg, "incoming");
	int out = json_obj_get(p, vg, "outgoing");
	int allow = 0, app = 0;
	if (in >= 0) {
		if (p->toks[in].type != JSON_OBJECT) {
			diag_add(c->d, CAUSE_GRANT_FIELD_INVALID, "use a VoiceGrant from a helper library",
				 "'grants.voice.incoming' is %s, not an object", json_type_desc(p->toks[in].type));
		} else {
			int a = json_obj_get(p, in, "allow");
			if (a >= 0 && json_get_bool(p, a) < 0)
				diag_add(c->d, CAUSE_GRANT_FIELD_INVALID, "set incomingAllow to true or false",
					 "'grants.voice.incoming.allow' is %s, not a boolean", json_type_desc(p->toks[a].type));
			allow = json_get_bool(p, a) == 1;
		}
	}
	if (out >= 0) {
		if (p->toks[out].type != JSON_OBJECT) {
			diag_add(c->d, CAUSE_GRANT_FIELD_INVALID, "use a VoiceGrant from a helper library",
				 "'grants.voice.outgoing' is %s, not an object", json_type_desc(p->toks[out].type));
		} else {
			check_rules(c, out, "grants.voice.outgoing", voice_out_rules, 1);
			int as = json_obj_get(p, out, "application_sid");
			app = as >= 0 && p->toks[as].type == JSON_STRING && p->toks[as].end > p->toks[as].start;
			int prm = json_obj_get(p, out, "params");
			if (prm >= 0 && p->toks[prm].type != JSON_OBJECT)
				diag_add(c->d, CAUSE_GRANT_FIELD_INVALID, "pass outgoingApplicationParams as an object",
					 "'grants.voice.outgoing.params' is %s, not an object",
					 json_type_desc(p->toks[prm].type));
		}
	}
	if (!allow && !app)
		diag_add(c->d, CAUSE_GRANT_FIELD_MISSING,
			 "set outgoingApplicationSid (a TwiML App SID, AP...) and/or incomingAllow: true in the VoiceGrant",
			 "the voice grant allows nothing: no 'outgoing.application_sid' and no 'incoming.allow' true");
}

static const char *const grant_for_product[] = {
	[PRODUCT_CONVERSATIONS] = "chat",
	[PRODUCT_SYNC] = "data_sync",
	[PRODUCT_VOICE] = "voice",
	[PRODUCT_VIDEO] = "video",
};
static const char *const grant_class_for_product[] = {
	[PRODUCT_CONVERSATIONS] = "a ChatGrant with the Conversations Service SID (IS...)",
	[PRODUCT_SYNC] = "a SyncGrant with the Sync Service SID (IS...)",
	[PRODUCT_VOICE] = "a VoiceGrant with outgoingApplicationSid and/or incomingAllow",
	[PRODUCT_VIDEO] = "a VideoGrant (room optional)",
};

static void check_grants(struct ctx *c)
{
	const struct json_doc *p = &c->x->p;
	struct diag *d = c->d;
	struct token_summary *s = &d->token;
	int g = json_obj_get(p, 0, "grants");
	if (g < 0 || p->toks[g].type != JSON_OBJECT) {
		const char *fix = "add grants with a helper library (token.addGrant(...)) and set an identity";
		if (g < 0)
			diag_add(d, CAUSE_GRANTS_MISSING, fix, "the payload has no 'grants'");
		else
			diag_add(d, CAUSE_GRANTS_MISSING, fix, "'grants' is %s, not an object",
				 json_type_desc(p->toks[g].type));
		return;
	}
	int id = json_obj_get(p, g, "identity");
	const char *id_fix = "set the identity option of the AccessToken (your user's id)";
	if (id < 0)
		diag_add(d, CAUSE_IDENTITY_MISSING, id_fix, "'grants.identity' is missing");
	else if (p->toks[id].type != JSON_STRING)
		diag_add(d, CAUSE_IDENTITY_MISSING, id_fix, "'grants.identity' is %s, not a string",
			 json_type_desc(p->toks[id].type));
	else if (p->toks[id].end == p->toks[id].start)
		diag_add(d, CAUSE_IDENTITY_MISSING, id_fix, "'grants.identity' is empty");
	else if (c->product == PRODUCT_VOICE) {
		long n = json_str_len(p, id);
		const char *bad = NULL;
		size_t at = 0;
		if (n >= (long)sizeof s->identity)
			bad = "too long";
		for (size_t i = 0; !bad && s->identity[i]; i++) {
			unsigned char ch = (unsigned char)s->identity[i];
			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
				bad = "", at = i;
		}
		if (n != (long)strlen(s->identity) && !bad)
			bad = "", at = strlen(s->identity); /* an embedded \u0000 */
		if (bad) {
			char pid[72];
			printable(s->identity, pid, sizeof pid, 48);
			if (*bad)
				diag_add(d, CAUSE_IDENTITY_INVALID, "use a shorter identity of letters, digits and '_'",
					 "voice identity '%s' is %s", pid, bad);
			else {
				unsigned char ch = (unsigned char)s->identity[at];
				char shown[16];
				if (ch > 0x20 && ch < 0x7f)
					snprintf(shown, sizeof shown, "'%c'", ch);
				else if (ch == ' ')
					snprintf(shown, sizeof shown, "a space");
				else
					snprintf(shown, sizeof shown, "byte 0x%02x", ch);
				diag_add(d, CAUSE_IDENTITY_INVALID,
					 "use only letters, digits and '_' in Voice identities (e.g. replace '-', '.', '@' and spaces with '_')",
					 "voice identity '%s' has %s at position %zu: only letters, digits and '_' are allowed",
					 pid, shown, at);
			}
		}
	}

	/* every grant present is judged, whatever the product */
	for (int k = json_obj_first(p, g); k >= 0; k = json_obj_next(p, g, k)) {
		uint32_t bit = grant_bit_of(p, k);
		if (!bit)
			continue;
		int v = k + 1;
		const char *name = grant_name((enum grant_bit)__builtin_ctz(bit));
		if (p->toks[v].type != JSON_OBJECT) {
			if (bit == GRANT_MASK(PLAYER))
				continue; /* opaque */
			diag_add(d, CAUSE_GRANT_FIELD_INVALID, "add grants with the helper library's grant classes",
				 "'grants.%s' is %s, not an object", name, json_type_desc(p->toks[v].type));
			continue;
		}
		if (bit == GRANT_MASK(CHAT))
			check_rules(c, v, "grants.chat", chat_rules, 3);
		else if (bit == GRANT_MASK(IP_MESSAGING))
			check_rules(c, v, "grants.ip_messaging", chat_rules, 3);
		else if (bit == GRANT_MASK(DATA_SYNC))
			check_rules(c, v, "grants.data_sync", sync_rules, 1);
		else if (bit == GRANT_MASK(VOICE))
			check_voice(c, v);
		else if (bit == GRANT_MASK(TASK_ROUTER))
			check_rules(c, v, "grants.task_router", tr_rules, 2);
		else if (bit == GRANT_MASK(VIDEO)) {
			int room = json_obj_get(p, v, "room");
			if (room >= 0 && p->toks[room].type != JSON_STRING)
				diag_add(d, CAUSE_GRANT_FIELD_INVALID, "set the VideoGrant room to a room name or SID",
					 "'grants.video.room' is %s, not a string", json_type_desc(p->toks[room].type));
		}
	}

	/* the grant the product in use needs */
	enum product want = c->want;
	if (want != PRODUCT_UNKNOWN && (unsigned)want < sizeof grant_for_product / sizeof *grant_for_product) {
		const char *gname = grant_for_product[want];
		if (json_obj_get(p, g, gname) < 0) {
			char have[96] = "";
			size_t o = 0;
			for (int b = 0; b < GRANT_BIT__COUNT; b++)
				if (s->grants & (1u << b))
					o += (size_t)snprintf(have + o, o < sizeof have ? sizeof have - o : 0, "%s%s",
							      o ? ", " : "", grant_name((enum grant_bit)b));
			if (o >= sizeof have)
				o = sizeof have - 1;
			char fix[DIAG_FIX_MAX];
			snprintf(fix, sizeof fix, "add %s to the token", grant_class_for_product[want]);
			if (want == PRODUCT_CONVERSATIONS && (s->grants & GRANT_MASK(IP_MESSAGING)))
				diag_add(d, CAUSE_GRANT_MISSING, fix,
					 "Conversations needs a 'chat' grant; the token has the legacy 'ip_messaging' grant");
			else
				diag_add(d, CAUSE_GRANT_MISSING, fix, "%s needs a '%s' grant; the token has %s",
					 product_name(want), gname, *have ? have : "none");
		}
	}
}

static void check_region(struct ctx *c)
{
	struct token_summary *s = &c->d->token;
	const char *twr = s->region;
	char pr[24];
	printable(twr, pr, sizeof pr, 16);
	if (c->product == PRODUCT_VIDEO && *twr && strcmp(twr, "us1"))
		diag_add(c->d, CAUSE_REGION, "create the API Key in the US1 region for Video",
			 "Video needs a US1 API Key, but this token's key is from region '%s' (header 'twr')", pr);
	const char *host = c->cfg->host_region;
	if (host && *host) {
		const char *mine = *twr ? twr : "us1";
		if (strcmp(mine, host)) {
			char ph[24];
			printable(host, ph, sizeof ph, 16);
			diag_add(c->d, CAUSE_REGION,
				 "point the SDK at the API Key's region (its region option) or use a key made in that region",
				 "the token's region '%s'%s differs from the host's region '%s'", *twr ? pr : "us1",
				 *twr ? " (header 'twr')" : " (no 'twr')", ph);
		}
	}
}

/* Twilsock carries Conversations (chat grant) and Sync (data_sync grant): a
 * token sent there with neither is refused whatever else it grants. In auto
 * mode no product grant is demanded (product_choose), so this rule says
 * what is missing. */
static void check_twilsock_grant(struct ctx *c)
{
	const struct token_summary *t = &c->d->token;
	const struct vconfig *cfg = c->cfg;
	if (!cfg->choose_product || cfg->channel != CHANNEL_TWILSOCK || cfg->product != PRODUCT_UNKNOWN ||
	    cfg->host_product != PRODUCT_UNKNOWN || (t->grants & PRODUCT_TWILSOCK_GRANTS) ||
	    diag_has(c->d, CAUSE_GRANTS_MISSING) || diag_has(c->d, CAUSE_GRANT_MISSING))
		return;
	char have[128] = "";
	size_t n = 0;
	for (int b = 0; b < GRANT_BIT__COUNT && n < sizeof have; b++)
		if (t->grants & (1u << b))
			n += (size_t)snprintf(have + n, sizeof have - n, "%s%s", n ? ", " : "",
					      grant_name((enum grant_bit)b));
	const char *fix = "add a ChatGrant with the Conversations Service SID (IS...) for Conversations, or a "
			  "SyncGrant with the Sync Service SID for Sync, when minting the token";
	if (n)
		diag_add(c->d, CAUSE_GRANT_MISSING, fix,
			 "Twilsock (Conversations, Sync) needs a 'chat' grant for Conversations or a 'data_sync' "
			 "grant for Sync; the token has neither, only %s", have);
	else
		diag_add(c->d, CAUSE_GRANT_MISSING, fix,
			 "Twilsock (Conversations, Sync) needs a 'chat' grant for Conversations or a 'data_sync' "
			 "grant for Sync; the token has no product grant");
}

static struct product_ask product_ask_of(const struct vconfig *cfg)
{
	struct product_ask a = {.configured = cfg->product,
				.host = cfg->choose_product ? cfg->host_product : PRODUCT_UNKNOWN,
				.channel = cfg->choose_product ? cfg->channel : CHANNEL_UNKNOWN,
				.session = cfg->choose_product};
	return a;
}

/* Validates a token already known to parse; appends to d. wrapped: it came
 * wrapped (its grants choose no product). */
static void judge(const struct parsed *x, int64_t now, const struct vconfig *cfg, struct diag *d,
		  int wrapped)
{
	struct ctx c = {.x = x, .cfg = cfg, .now = now, .d = d};
	int alg, demand;
	summarize(x, &d->token);
	fingerprint(x->tok, x->len, d->token.fingerprint);
	struct product_ask ask = product_ask_of(cfg);
	ask.wrapped = wrapped;
	c.product = product_choose(&ask, d->token.grants, &demand);
	c.want = demand ? c.product : PRODUCT_UNKNOWN;
	d->product = c.product;
	check_header(&c, &alg);
	check_signature(&c, alg);
	check_claims(&c);
	check_grants(&c);
	check_region(&c);
	check_twilsock_grant(&c);
}

/* ---- wrapped tokens (wrong_format) -------------------------------------------- */

enum wrap {
	WRAP_JSON = 1 << 0,
	WRAP_QUOTES = 1 << 1,
	WRAP_BEARER = 1 << 2,
	WRAP_SPACE = 1 << 3,
	WRAP_NEWLINE = 1 << 4,
	WRAP_URLENC = 1 << 5,
	WRAP_QUERY = 1 << 6,
	WRAP_PADDING = 1 << 7,
};

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

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Non-zero when s[0..n) looks like a JWT: eyJ, three segments. */
static int jwt_shaped(const char *s, size_t n)
{
	if (n < 10 || memcmp(s, "eyJ", 3))
		return 0;
	size_t dots = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t k = jwt_class[(unsigned char)s[i]];
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
	if (len && (is_space(s[0]) || is_space(s[len - 1]))) {
		size_t a = 0, b = len;
		while (a < b && is_space(s[a]))
			a++;
		while (b > a && is_space(s[b - 1]))
			b--;
		memmove(s, s + a, b - a);
		*n = b - a;
		return WRAP_SPACE;
	}
	if (len > 7 && !strncasecmp(s, "bearer", 6) && is_space(s[6])) {
		size_t a = 6;
		while (a < len && is_space(s[a]))
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
		pct = s[i] == '%' && is_hex((unsigned char)s[i + 1]) && is_hex((unsigned char)s[i + 2]);
	if (pct) {
		size_t o = 0;
		for (size_t i = 0; i < len; i++) {
			if (s[i] == '%' && i + 2 < len && is_hex((unsigned char)s[i + 1]) && is_hex((unsigned char)s[i + 2])) {
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
		sp = is_space(s[i]);
	if (sp) {
		size_t o = 0;
		for (size_t i = 0; i < len; i++)
			if (!is_space(s[i]))
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

#define WRAP_MAX_LAYERS 8

/* Tries to find a real token inside tok. On success fills buf[0..*inner_len)
 * and order[] (the wraps, outermost first) and returns how many were found;
 * 0 when no token is inside. */
static int find_wrapped(const char *tok, size_t len, char *buf, size_t *inner_len, enum wrap *order,
			struct json_tok *toks)
{
	int found = 0;
	size_t n = len;
	memcpy(buf, tok, len);
	while (!jwt_charset_ok(buf, n)) {
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
static void report_wrapped(struct diag *d, const enum wrap *order, int n)
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

/* ---- public API ------------------------------------------------------------- */

void vconfig_init(struct vconfig *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->skew = 30;
	cfg->product = PRODUCT_UNKNOWN;
	cfg->host_product = PRODUCT_UNKNOWN;
	cfg->channel = CHANNEL_UNKNOWN;
	cfg->choose_product = 0;
}

static const char *const malformed_fix =
	"pass the token string exactly as the helper library's toJwt() returned it (three base64url parts)";

/* x: the caller's, free to reuse (the bare parse failed); w: its work area. */
static __attribute__((noinline)) int validate_wrapped(const char *tok, size_t len, int64_t now,
						       const struct vconfig *cfg, struct diag *out,
						       const char *why, struct parsed *x,
						       struct validate_work *w)
{
	char *buf = w->inner;
	size_t n = 0;
	enum wrap order[WRAP_MAX_LAYERS];
	int found = find_wrapped(tok, len, buf, &n, order, w->wt);
	char why2[DIAG_TEXT_MAX];
	if (!found || parse_token(x, buf, n, why2, sizeof why2) < 0) {
		if (found)
			diag_add(out, CAUSE_MALFORMED, malformed_fix, "not a token: a wrapped token was found, but %s",
				 why2);
		else if (len && (tok[0] == '{' || tok[0] == '['))
			diag_add(out, CAUSE_MALFORMED, malformed_fix, "not a token: a JSON document with no token inside");
		else
			diag_add(out, CAUSE_MALFORMED, malformed_fix, "not a token: %s", why);
		fingerprint(tok, len, out->token.fingerprint);
		diag_finish(out);
		return 1;
	}
	report_wrapped(out, order, found);
	judge(x, now, cfg, out, 1);
	diag_finish(out);
	return out->accept ? 0 : 1;
}

size_t validate_work_sizeof(void)
{
	return sizeof(struct validate_work);
}

int validate(const char *tok, size_t len, int64_t now, const struct vconfig *cfg, struct diag *out)
{
	struct validate_work w;
	return validate_ex(tok, len, now, cfg, out, &w);
}

int validate_ex(const char *tok, size_t len, int64_t now, const struct vconfig *cfg, struct diag *out,
		struct validate_work *work)
{
	struct vconfig defcfg;
	if (!cfg) {
		vconfig_init(&defcfg);
		cfg = &defcfg;
	}
	diag_init(out, now);
	struct product_ask ask = product_ask_of(cfg);
	out->product = product_choose(&ask, PRODUCT_GRANTS_UNREAD, NULL);
	if (!tok)
		len = 0;
	if (len > TOKEN_MAX_LEN) {
		diag_add(out, CAUSE_MALFORMED, "pass a single access token; Twilio tokens are well under 16 KiB",
			 "not a token: %zu bytes, over the %d-byte limit", len, TOKEN_MAX_LEN);
		diag_finish(out);
		return 1;
	}
	struct parsed x;
	char why[DIAG_TEXT_MAX];
	parsed_init(&x, work);
	if (parse_token(&x, tok, len, why, sizeof why) < 0) {
		if (len && !jwt_charset_ok(tok, len))
			return validate_wrapped(tok, len, now, cfg, out, why, &x, work);
		diag_add(out, CAUSE_MALFORMED, malformed_fix, "not a token: %s", why);
		if (len)
			fingerprint(tok, len, out->token.fingerprint);
		diag_finish(out);
		return 1;
	}
	judge(&x, now, cfg, out, 0);
	diag_finish(out);
	return out->accept ? 0 : 1;
}

int token_peek(const char *tok, size_t len, struct token_summary *out)
{
	struct validate_work w;
	return token_peek_ex(tok, len, out, &w);
}

int token_peek_ex(const char *tok, size_t len, struct token_summary *out, struct validate_work *work)
{
	struct parsed x;
	char why[DIAG_TEXT_MAX];
	parsed_init(&x, work);
	memset(out, 0, sizeof *out);
	if (!tok || len > TOKEN_MAX_LEN)
		return -1;
	fingerprint(tok, len, out->fingerprint);
	if (parse_token(&x, tok, len, why, sizeof why) < 0)
		return -1;
	summarize(&x, out);
	return 0;
}

int token_is_twilio(const char *tok, size_t len)
{
	if (!tok || len < 10 || len > TOKEN_MAX_LEN || memcmp(tok, "eyJ", 3))
		return 0;
	size_t dots = 0, d1 = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t k = jwt_class[(unsigned char)tok[i]];
		if (!k)
			return 0;
		if (k == 2 && !dots++)
			d1 = i;
	}
	if (dots != 2 || d1 > 1024)
		return 0;
	uint8_t hb[B64URL_DECODED_MAX(1024)];
	long hl = b64url_decode(tok, d1, hb, sizeof hb);
	if (hl <= 0)
		return 0;
	struct json_tok toks[HDR_TOKS];
	struct json_doc h;
	if (json_parse(&h, (const char *)hb, (size_t)hl, toks, HDR_TOKS) != JSON_OK || toks[0].type != JSON_OBJECT)
		return 0;
	return json_str_eq(&h, json_obj_get(&h, 0, "cty"), TWILIO_CTY, strlen(TWILIO_CTY));
}
