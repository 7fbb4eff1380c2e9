/* Internals of the validator (decode/token.c, rules.c, unwrap.c,
 * validate.c): the parsed token, and what each file offers the others. */
#ifndef TOKSHIM_VALIDATE_INT_H
#define TOKSHIM_VALIDATE_INT_H

#include <stdint.h>

#include "decode/json.h"
#include "decode/product.h"
#include "decode/validate.h"

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
	size_t hl, pl;       /* decoded header and payload lengths (in buf) */
	size_t siglen;       /* decoded signature length */
	const uint8_t *sig;  /* into buf */
	struct json_doc h, p;
	struct json_tok *ht; /* [HDR_TOKS] */
	struct json_tok *pt; /* [PAY_TOKS] */
	uint8_t *buf;        /* [B64URL_DECODED_MAX(TOKEN_MAX_LEN)] */
};

static inline void parsed_init(struct parsed *x, struct validate_work *w)
{
	x->ht = w->ht;
	x->pt = w->pt;
	x->buf = w->buf;
}


/* decode/token.c: splitting, decoding and parsing a compact JWT */
/* 1: base64url alphabet, 2: '.', 0: anything else */
extern const uint8_t token_jwt_class[256];
/* Non-zero when t[0..n) has only base64url characters and dots. */
int token_charset_ok(const char *t, size_t n);
/* 0 when tok splits, decodes and parses into x; else -1 with why[] set (malformed). */
int token_parse(struct parsed *x, const char *tok, size_t len, char *why, size_t whycap);
/* Copies string member key of obj, "" when absent or not a string.
 * Returns the member's value index or -1. token_value_str: the same for
 * value index v (-1: absent). */
/* A NUL (\u0000) inside string member key is kept, written as the six
 * characters \u0000 (never a C string cut short: 'alice\u0000bob' is not
 * 'alice'). */
int token_value_str(const struct json_doc *d, int v, char *buf, size_t cap);
static inline int token_member_str(const struct json_doc *d, int obj, const char *key, char *buf, size_t cap)
{
	return token_value_str(d, json_obj_get(d, obj, key), buf, cap);
}
/* Non-zero when string token v holds a NUL once unescaped (its first 1 KiB);
 * *at: its position. */
int token_str_has_nul(const struct json_doc *d, int v, size_t *at);
/* "sha256:" and the first 16 hex digits of the token's SHA-256. */
void token_fingerprint(const char *tok, size_t len, char out[24]);
/* The GRANT_MASK() bit of the grant named by key (a member name), 0 unknown. */
uint32_t token_grant_bit(const struct json_doc *d, int key);
/* Fills s from the parsed token's header and payload. */
void token_summarize(const struct parsed *x, struct token_summary *s);

/* decode/rules.c: every rule a token alone can break. Judges a token
 * already known to parse, for the product product_choose gives; appends
 * to d. wrapped: it came wrapped (its grants choose no product). */
/* The product the token is judged for under cfg (product_choose with the
 * configuration's, the channel's and the host's part). */
enum product rules_product(const struct vconfig *cfg, uint32_t grants, int wrapped, int *demand);
void rules_judge(const struct parsed *x, int64_t now, const struct vconfig *cfg, struct diag *d,
		 int wrapped);

/* decode/unwrap.c: a real token wrapped (wrong_format) */
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
#define WRAP_MAX_LAYERS 8
/* Tries to find a real token inside tok. On success fills buf[0..*inner_len)
 * and order[] (the wraps, outermost first) and returns how many were found;
 * 0 when no token is inside. toks: [VALIDATE_WRAP_TOKS]. */
int unwrap_find(const char *tok, size_t len, char *buf, size_t *inner_len, enum wrap *order,
		struct json_tok *toks);
/* Adds the wrong_format cause: the wraps outermost first, the most telling
 * one's fix. */
void unwrap_report(struct diag *d, const enum wrap *order, int n);

#endif
