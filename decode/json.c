/* Strict, non-allocating JSON parser. See json.h. */
#include "decode/json.h"
#include "decode/text.h"

#include <string.h>

static int fail(struct json_doc *d, size_t pos, int status, const char *why)
{
	d->err_pos = pos;
	d->err = why;
	return status;
}

static inline __attribute__((always_inline)) size_t skip_ws(const char *js, size_t len, size_t p)
{
	if (p < len && (unsigned char)js[p] > ' ')
		return p; /* the common case: no whitespace at all */
	while (p < len && text_is_ws(js[p]))
		p++;
	return p;
}

/* Four hex digits at s (already known to be in range), or -1. */
static long hex4(const unsigned char *s)
{
	long v = 0;
	for (int i = 0; i < 4; i++) {
		int h = text_hexval(s[i]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

/* 1 for the bytes a string's scan must stop at: '"', '\\', control
 * characters, and the first byte of a UTF-8 sequence (>= 0x80) */
static const uint8_t str_stop[256] = {
	[0x00 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1,
};

/* p at the opening quote. On success *pp is past the closing quote. */
static int parse_string(struct json_doc *d, size_t *pp, struct json_tok *t)
{
	const unsigned char *s = (const unsigned char *)d->js;
	size_t len = d->len, p = *pp + 1;
	t->type = JSON_STRING;
	t->flags = 0;
	t->size = 0;
	t->start = (uint32_t)p;
	for (;;) {
		/* plain characters, four at a time */
		while (p + 4 <= len && !(str_stop[s[p]] | str_stop[s[p + 1]] | str_stop[s[p + 2]] | str_stop[s[p + 3]]))
			p += 4;
		while (p < len && !str_stop[s[p]])
			p++;
		if (p >= len)
			return fail(d, p, JSON_E_SYNTAX, "unterminated string");
		unsigned char c = s[p];
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(d, p, JSON_E_SYNTAX, "control character in string");
		if (c == '\\') {
			t->flags |= JSON_F_ESCAPED;
			if (p + 1 >= len)
				return fail(d, p, JSON_E_SYNTAX, "unterminated string");
			c = s[p + 1];
			if (c == 'u') {
				if (p + 6 > len)
					return fail(d, p, JSON_E_SYNTAX, "short \\u escape");
				long u = hex4(s + p + 2);
				if (u < 0)
					return fail(d, p, JSON_E_SYNTAX, "bad \\u escape");
				p += 6;
				if (u >= 0xdc00 && u <= 0xdfff)
					return fail(d, p - 6, JSON_E_SYNTAX, "lone low surrogate");
				if (u >= 0xd800 && u <= 0xdbff) {
					long lo = (p + 6 <= len && s[p] == '\\' && s[p + 1] == 'u') ? hex4(s + p + 2) : -1;
					if (lo < 0xdc00 || lo > 0xdfff)
						return fail(d, p - 6, JSON_E_SYNTAX, "lone high surrogate");
					p += 6;
				}
				continue;
			}
			if (!strchr("\"\\/bfnrt", c) || c == 0)
				return fail(d, p, JSON_E_SYNTAX, "bad escape");
			p += 2;
			continue;
		}
		if (c >= 0x80) {
			size_t k = text_utf8_seq(s + p, len - p);
			if (!k)
				return fail(d, p, JSON_E_SYNTAX, "invalid utf-8 in string");
			p += k;
			continue;
		}
		p++;
	}
	t->end = (uint32_t)p;
	*pp = p + 1;
	return JSON_OK;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct json_doc *d, size_t *pp, struct json_tok *t)
{
	const char *s = d->js;
	size_t len = d->len, p = *pp;
	t->type = JSON_NUMBER;
	t->flags = JSON_F_INTEGER;
	t->size = 0;
	t->start = (uint32_t)p;
	if (s[p] == '-')
		p++;
	if (p >= len || !is_digit(s[p]))
		return fail(d, p, JSON_E_SYNTAX, "bad number");
	if (s[p] == '0')
		p++;
	else
		while (p < len && is_digit(s[p]))
			p++;
	if (p < len && s[p] == '.') {
		t->flags = 0;
		p++;
		if (p >= len || !is_digit(s[p]))
			return fail(d, p, JSON_E_SYNTAX, "bad number fraction");
		while (p < len && is_digit(s[p]))
			p++;
	}
	if (p < len && (s[p] == 'e' || s[p] == 'E')) {
		t->flags = 0;
		p++;
		if (p < len && (s[p] == '+' || s[p] == '-'))
			p++;
		if (p >= len || !is_digit(s[p]))
			return fail(d, p, JSON_E_SYNTAX, "bad number exponent");
		while (p < len && is_digit(s[p]))
			p++;
	}
	t->end = (uint32_t)p;
	*pp = p;
	return JSON_OK;
}

enum state { ST_VALUE, ST_KEY, ST_AFTER };

int json_parse(struct json_doc *d, const char *js, size_t len, struct json_tok *toks, unsigned cap)
{
	d->js = js;
	d->len = len;
	d->toks = toks;
	d->ntoks = 0;
	d->err = NULL;
	d->err_pos = 0;
	if (cap > JSON_MAX_TOKENS)
		cap = JSON_MAX_TOKENS;
	if (len >= UINT32_MAX)
		return fail(d, 0, JSON_E_TOKENS, "document too large");
	unsigned stack[JSON_MAX_DEPTH];
	int depth = 0;
	unsigned n = 0;
	enum state st = ST_VALUE;
	size_t p = 0;
	int rc;

	for (;;) {
		p = skip_ws(js, len, p);
		if (st == ST_AFTER) {
			if (depth == 0) {
				if (p != len)
					return fail(d, p, JSON_E_SYNTAX, "trailing characters after the value");
				d->ntoks = n;
				return JSON_OK;
			}
			if (p >= len)
				return fail(d, p, JSON_E_SYNTAX, "unexpected end");
			struct json_tok *top = &toks[stack[depth - 1]];
			char close = top->type == JSON_OBJECT ? '}' : ']';
			if (js[p] == ',') {
				p++;
				st = top->type == JSON_OBJECT ? ST_KEY : ST_VALUE;
				if (top->type == JSON_ARRAY) {
					if (top->size == UINT16_MAX)
						return fail(d, p, JSON_E_TOKENS, "too many values");
					top->size++;
				}
			} else if (js[p] == close) {
				p++;
				top->end = (uint32_t)p;
				top->after = n;
				depth--;
			} else {
				return fail(d, p, JSON_E_SYNTAX,
					    top->type == JSON_OBJECT ? "expected ',' or '}'" : "expected ',' or ']'");
			}
			continue;
		}
		if (p >= len)
			return fail(d, p, JSON_E_SYNTAX, "unexpected end");
		/* the depth limit first: a deep document says so, whatever the cap */
		if (st == ST_VALUE && (js[p] == '{' || js[p] == '[') && depth >= JSON_MAX_DEPTH)
			return fail(d, p, JSON_E_DEPTH, "nested too deep");
		if (n >= cap)
			return fail(d, p, JSON_E_TOKENS, "too many values");
		struct json_tok *t = &toks[n];
		if (st == ST_KEY) {
			if (js[p] != '"')
				return fail(d, p, JSON_E_SYNTAX, "expected a string key");
			if ((rc = parse_string(d, &p, t)) != JSON_OK)
				return rc;
			t->after = ++n;
			struct json_tok *obj = &toks[stack[depth - 1]];
			if (obj->size == UINT16_MAX)
				return fail(d, p, JSON_E_TOKENS, "too many values");
			obj->size++;
			p = skip_ws(js, len, p);
			if (p >= len || js[p] != ':')
				return fail(d, p, JSON_E_SYNTAX, "expected ':'");
			p++;
			st = ST_VALUE;
			continue;
		}
		/* ST_VALUE */
		char c = js[p];
		if (c == '{' || c == '[') {
			if (depth >= JSON_MAX_DEPTH)
				return fail(d, p, JSON_E_DEPTH, "nested too deep");
			t->type = c == '{' ? JSON_OBJECT : JSON_ARRAY;
			t->flags = 0;
			t->size = 0;
			t->start = (uint32_t)p;
			stack[depth++] = n++;
			p = skip_ws(js, len, p + 1);
			char close = c == '{' ? '}' : ']';
			if (p < len && js[p] == close) {
				p++;
				t->end = (uint32_t)p;
				t->after = n;
				depth--;
				st = ST_AFTER;
			} else if (c == '{') {
				st = ST_KEY;
			} else {
				t->size = 1;
				st = ST_VALUE;
			}
			continue;
		}
		if (c == '"') {
			rc = parse_string(d, &p, t);
		} else if (c == '-' || is_digit(c)) {
			rc = parse_number(d, &p, t);
		} else {
			static const struct {
				const char *word;
				size_t n;
				enum json_type type;
			} lits[] = {{"true", 4, JSON_TRUE}, {"false", 5, JSON_FALSE}, {"null", 4, JSON_NULL}};
			rc = fail(d, p, JSON_E_SYNTAX, "unexpected character");
			for (size_t i = 0; i < 3; i++) {
				if (len - p >= lits[i].n && !memcmp(js + p, lits[i].word, lits[i].n)) {
					t->type = (uint8_t)lits[i].type;
					t->flags = 0;
					t->size = 0;
					t->start = (uint32_t)p;
					p += lits[i].n;
					t->end = (uint32_t)p;
					rc = JSON_OK;
					break;
				}
			}
		}
		if (rc != JSON_OK)
			return rc;
		t->after = ++n;
		st = ST_AFTER;
	}
}

const char *json_type_desc(enum json_type t)
{
	switch (t) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_NUMBER:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	default:
		return "nothing";
	}
}

static int valid_index(const struct json_doc *d, int i)
{
	return i >= 0 && (unsigned)i < d->ntoks;
}

int json_obj_first(const struct json_doc *d, int obj)
{
	if (!valid_index(d, obj) || d->toks[obj].type != JSON_OBJECT || d->toks[obj].size == 0)
		return -1;
	return obj + 1;
}

int json_obj_next(const struct json_doc *d, int obj, int key)
{
	/* the key's value follows it; the next key follows the value's subtree */
	unsigned next = d->toks[key + 1].after;
	if (next >= d->toks[obj].after)
		return -1;
	return (int)next;
}

/* Byte iterator over a string's unescaped UTF-8 (the string is valid). */
struct str_it {
	const unsigned char *p, *end;
	unsigned char pend[4];
	int npend, ipend;
};

static void it_init(struct str_it *it, const struct json_doc *d, int i)
{
	it->p = (const unsigned char *)d->js + d->toks[i].start;
	it->end = (const unsigned char *)d->js + d->toks[i].end;
	it->npend = it->ipend = 0;
}

static int put_cp(unsigned char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Next byte, or -1 at the end. */
static int it_next(struct str_it *it)
{
	if (it->ipend < it->npend)
		return it->pend[it->ipend++];
	if (it->p >= it->end)
		return -1;
	if (*it->p != '\\')
		return *it->p++;
	unsigned char e = it->p[1];
	it->p += 2;
	switch (e) {
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'u': {
		uint32_t cp = (uint32_t)hex4(it->p);
		it->p += 4;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			uint32_t lo = (uint32_t)hex4(it->p + 2);
			it->p += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		it->npend = put_cp(it->pend, cp);
		it->ipend = 1;
		return it->pend[0];
	}
	default:
		return e; /* " \ / */
	}
}

static int is_str(const struct json_doc *d, int i)
{
	return valid_index(d, i) && d->toks[i].type == JSON_STRING;
}

int json_str_eq(const struct json_doc *d, int i, const char *s, size_t n)
{
	if (!is_str(d, i))
		return 0;
	const struct json_tok *t = &d->toks[i];
	if (!(t->flags & JSON_F_ESCAPED))
		return t->end - t->start == n && !memcmp(d->js + t->start, s, n);
	struct str_it it;
	it_init(&it, d, i);
	for (size_t k = 0; k < n; k++)
		if (it_next(&it) != (unsigned char)s[k])
			return 0;
	return it_next(&it) == -1;
}

int json_str_eq_tok(const struct json_doc *d, int a, int b)
{
	if (!is_str(d, a) || !is_str(d, b))
		return 0;
	const struct json_tok *ta = &d->toks[a], *tb = &d->toks[b];
	if (!((ta->flags | tb->flags) & JSON_F_ESCAPED))
		return ta->end - ta->start == tb->end - tb->start &&
		       !memcmp(d->js + ta->start, d->js + tb->start, ta->end - ta->start);
	struct str_it ia, ib;
	it_init(&ia, d, a);
	it_init(&ib, d, b);
	for (;;) {
		int x = it_next(&ia), y = it_next(&ib);
		if (x != y)
			return 0;
		if (x == -1)
			return 1;
	}
}

long json_str_copy(const struct json_doc *d, int i, char *buf, size_t cap)
{
	if (!is_str(d, i)) {
		if (cap)
			buf[0] = 0;
		return -1;
	}
	const struct json_tok *t = &d->toks[i];
	size_t o = 0, total = 0;
	int full = 0; /* once set, nothing more is written */
	if (!(t->flags & JSON_F_ESCAPED)) {
		total = t->end - t->start;
		o = cap ? (total < cap - 1 ? total : cap - 1) : 0;
		if (cap)
			memcpy(buf, d->js + t->start, o);
		full = total > o;
	} else {
		struct str_it it;
		it_init(&it, d, i);
		int c;
		while ((c = it_next(&it)) != -1) {
			total++;
			if (!full && cap && o < cap - 1)
				buf[o++] = (char)c;
			else
				full = 1;
		}
	}
	if (!cap)
		return (long)total;
	if (full && o > 0) { /* do not leave half a UTF-8 character at the cut */
		size_t lead = o - 1;
		while (lead > 0 && ((unsigned char)buf[lead] & 0xc0) == 0x80)
			lead--;
		unsigned char c = (unsigned char)buf[lead];
		size_t want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		if (lead + want > o)
			o = lead;
	}
	buf[o] = 0;
	return (long)total;
}

long json_str_len(const struct json_doc *d, int i)
{
	return json_str_copy(d, i, NULL, 0);
}

int json_obj_getn(const struct json_doc *d, int obj, const char *key, size_t n)
{
	if (!valid_index(d, obj) || d->toks[obj].type != JSON_OBJECT)
		return -1;
	const struct json_tok *toks = d->toks;
	unsigned k = (unsigned)obj + 1;
	for (unsigned m = toks[obj].size; m; m--) {
		const struct json_tok *t = &toks[k];
		/* an escaped key's raw length says nothing: compare it unescaped */
		if (t->flags & JSON_F_ESCAPED ? json_str_eq(d, (int)k, key, n)
					      : t->end - t->start == n && !memcmp(d->js + t->start, key, n))
			return (int)k + 1;
		k = toks[k + 1].after;
	}
	return -1;
}

/* A key's bit in a 64-bit filter (its length and end bytes): raw keys with
 * different bits differ. */
static uint64_t key_bit(const struct json_doc *d, const struct json_tok *t)
{
	size_t n = t->end - t->start;
	const unsigned char *s = (const unsigned char *)d->js + t->start;
	unsigned h = n ? (unsigned)n * 7u + s[0] * 3u + s[n - 1] : 0;
	return 1ull << (h & 63);
}

int json_obj_dup(const struct json_doc *d, int obj)
{
	if (!valid_index(d, obj) || d->toks[obj].type != JSON_OBJECT)
		return -1;
	uint64_t seen = 0;
	int escaped = 0; /* an escaped key so far: the filter cannot speak for it */
	int k = obj + 1;
	for (unsigned m = 0; m < d->toks[obj].size; m++) {
		const struct json_tok *tk = &d->toks[k];
		uint64_t bit = 0;
		if (!(tk->flags & JSON_F_ESCAPED)) {
			bit = key_bit(d, tk);
			if (!escaped && !(seen & bit)) { /* no earlier key can equal it */
				seen |= bit;
				k = (int)d->toks[k + 1].after;
				continue;
			}
			seen |= bit;
		} else {
			escaped = 1;
		}
		int j = obj + 1;
		for (unsigned q = 0; q < m; q++) {
			const struct json_tok *tj = &d->toks[j];
			/* raw keys of different lengths differ: no call for them */
			int same = (tj->flags | tk->flags) & JSON_F_ESCAPED
					   ? json_str_eq_tok(d, j, k)
					   : tj->end - tj->start == tk->end - tk->start &&
						     !memcmp(d->js + tj->start, d->js + tk->start, tk->end - tk->start);
			if (same)
				return k;
			j = (int)d->toks[j + 1].after;
		}
		k = (int)d->toks[k + 1].after;
	}
	return -1;
}

/* Whole numbers in any notation: 1796138679, 1796138679.0, 1.796138679e9,
 * 17961386790e-1 are the same integer. Exact decimal arithmetic on the
 * digits (no double rounding): the significant digits without trailing
 * zeros, times a power of ten that must not be negative. */
int json_get_int64(const struct json_doc *d, int i, int64_t *out)
{
	if (!valid_index(d, i) || d->toks[i].type != JSON_NUMBER)
		return JSON_NUM_NOT_NUMBER;
	const struct json_tok *t = &d->toks[i];
	const char *s = d->js + t->start, *e = d->js + t->end;
	if ((t->flags & JSON_F_INTEGER) && e - s <= 18) {
		/* the common case: an integer of at most 18 characters fits;
		 * the parser checked its grammar */
		int neg = *s == '-';
		int64_t v = 0;
		for (const char *q = s + neg; q < e; q++)
			v = v * 10 + (*q - '0');
		*out = neg ? -v : v;
		return JSON_NUM_OK;
	}
	int neg = *s == '-';
	s += neg;
	/* the mantissa's digits (the grammar was checked by the parser) */
	const char *m0 = s, *dot = NULL;
	while (s < e && (is_digit(*s) || *s == '.')) {
		if (*s == '.')
			dot = s;
		s++;
	}
	const char *m1 = s;
	long exp10 = 0;
	if (s < e && (*s == 'e' || *s == 'E')) {
		s++;
		int eneg = *s == '-';
		if (*s == '-' || *s == '+')
			s++;
		for (; s < e; s++)
			if (exp10 < 100000)
				exp10 = exp10 * 10 + (*s - '0');
		if (eneg)
			exp10 = -exp10;
	}
	if (dot)
		exp10 -= (long)(m1 - dot - 1);
	/* the digits without the point: no leading zeros; each trailing zero
	 * moves into exp10 */
	const char *a = m0, *b = m1;
	while (a < b && (*a == '0' || *a == '.'))
		a++;
	while (b > a && (b[-1] == '0' || b[-1] == '.')) {
		if (b[-1] == '0')
			exp10++;
		b--;
	}
	if (a == b) {
		*out = 0;
		return JSON_NUM_OK;
	}
	if (exp10 < 0)
		return JSON_NUM_NOT_INTEGER;
	uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (const char *q = a; q < b; q++) {
		if (*q == '.')
			continue;
		unsigned dg = (unsigned)(*q - '0');
		if (v > (lim - dg) / 10)
			return JSON_NUM_RANGE;
		v = v * 10 + dg;
	}
	for (long k = 0; k < exp10; k++) {
		if (v > lim / 10)
			return JSON_NUM_RANGE;
		v *= 10;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return JSON_NUM_OK;
}

int json_get_bool(const struct json_doc *d, int i)
{
	if (!valid_index(d, i))
		return -1;
	if (d->toks[i].type == JSON_TRUE)
		return 1;
	if (d->toks[i].type == JSON_FALSE)
		return 0;
	return -1;
}
