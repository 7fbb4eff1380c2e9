/* A small strict JSON parser (RFC 8259) that never allocates: values become
 * tokens in a caller-provided array (jsmn-like), strings stay slices of the
 * input and are unescaped on demand into caller buffers.
 * Pure: no globals, no I/O. */
#ifndef TOKSHIM_JSON_H
#define TOKSHIM_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64     /* nesting of objects and arrays (a Voice grant's nested params) */
#define JSON_MAX_TOKENS 65535 /* a larger caller array is used only up to this */

enum json_type {
	JSON_NONE = 0,
	JSON_OBJECT,
	JSON_ARRAY,
	JSON_STRING,
	JSON_NUMBER,
	JSON_TRUE,
	JSON_FALSE,
	JSON_NULL,
};

#define JSON_F_ESCAPED 1 /* string: holds at least one backslash escape */
#define JSON_F_INTEGER 2 /* number: no fraction, no exponent */

#include "decode/json_tok.h" /* struct json_tok */

/* A parsed document. js and toks are borrowed from the caller. */
struct json_doc {
	const char *js;
	size_t len;
	struct json_tok *toks;
	unsigned ntoks;
	size_t err_pos;  /* on error: byte offset where parsing stopped */
	const char *err; /* on error: static, lower-case reason */
};

enum json_status {
	JSON_OK = 0,
	JSON_E_SYNTAX = -1, /* not JSON (err says why) */
	JSON_E_DEPTH = -2,  /* nested deeper than JSON_MAX_DEPTH */
	JSON_E_TOKENS = -3, /* more values than the token array holds */
};

/* Parses js[0..len) (one value, surrounded only by whitespace) into
 * toks[0..cap). Returns JSON_OK with doc->ntoks set, or a json_status < 0
 * with doc->err and doc->err_pos set. toks[0] is the top-level value. */
int json_parse(struct json_doc *doc, const char *js, size_t len, struct json_tok *toks, unsigned cap);

/* Human name of a type: "an object", "a string", ... */
const char *json_type_desc(enum json_type t);

/* Index of the value of member `key` of object obj, or -1 (not an object, or
 * no such member). With duplicate keys, the first one. */
int json_obj_getn(const struct json_doc *doc, int obj, const char *key, size_t n);
/* Non-zero when string token i, unescaped, equals s[0..n). */
int json_str_eq(const struct json_doc *doc, int i, const char *s, size_t n);
/* Inline where the key is a literal: its length is a constant, and so the
 * compare of a key of that length is a few loads, not a call. */
static inline int json_obj_get(const struct json_doc *doc, int obj, const char *key)
{
	size_t n = __builtin_strlen(key);
	if (!__builtin_constant_p(n))
		return json_obj_getn(doc, obj, key, n);
	if (obj < 0 || (unsigned)obj >= doc->ntoks || doc->toks[obj].type != JSON_OBJECT)
		return -1;
	const struct json_tok *toks = doc->toks;
	unsigned k = (unsigned)obj + 1;
	for (unsigned m = toks[obj].size; m; m--) {
		const struct json_tok *t = &toks[k];
		if (t->flags & JSON_F_ESCAPED ? json_str_eq(doc, (int)k, key, n)
					      : t->end - t->start == n && !__builtin_memcmp(doc->js + t->start, key, n))
			return (int)k + 1;
		k = toks[k + 1].after;
	}
	return -1;
}
/* Index of the first key of object obj that repeats an earlier key (compared
 * after unescaping), or -1 when all keys differ. */
int json_obj_dup(const struct json_doc *doc, int obj);
/* Member iteration: first key index (or -1), then json_obj_next(obj, key)
 * (-1 after the last); the member's value is at key + 1. */
int json_obj_first(const struct json_doc *doc, int obj);
int json_obj_next(const struct json_doc *doc, int obj, int key);

/* Non-zero when string tokens a and b are equal after unescaping. */
int json_str_eq_tok(const struct json_doc *doc, int a, int b);
/* Unescapes string token i into buf (capacity cap, always NUL-terminated when
 * cap > 0; cut at a UTF-8 character boundary when too long). Returns the full
 * unescaped length (may be >= cap: truncated), or -1 when i is not a string. */
long json_str_copy(const struct json_doc *doc, int i, char *buf, size_t cap);
/* Length of string token i once unescaped, -1 when not a string. */
long json_str_len(const struct json_doc *doc, int i);

enum json_num_status {
	JSON_NUM_OK = 0,
	JSON_NUM_NOT_NUMBER = -1,  /* the value is not a number */
	JSON_NUM_NOT_INTEGER = -2, /* a fraction or exponent */
	JSON_NUM_RANGE = -3,       /* does not fit int64_t */
};
/* Reads number token i as an int64. Returns a json_num_status. */
int json_get_int64(const struct json_doc *doc, int i, int64_t *out);
/* 1 for true, 0 for false, -1 when the value is not a boolean. */
int json_get_bool(const struct json_doc *doc, int i);

#endif
