/* The strict non-allocating JSON parser (decode/json.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "decode/json.h"

static int parse(struct json_doc *d, const char *s, struct json_tok *t, unsigned cap)
{
	return json_parse(d, s, strlen(s), t, cap);
}

Test(json, accepts_rfc8259_documents)
{
	static const char *const ok[] = {
		"{}", "[]", " { } ", "\t[\n]\r\n", "0", "-0", "1.5", "-1.5e+10", "1E-2", "\"\"", "true", "false",
		"null", "{\"a\":1,\"b\":[1,2,{\"c\":null}],\"d\":\"x\"}", "\"\\u00e9\\ud83d\\ude00\"",
		"\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
		"123456789012345678901234567890",
	};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		struct json_tok t[64];
		struct json_doc d;
		int rc = parse(&d, ok[i], t, 64);
		cr_expect_eq(rc, JSON_OK, "%s: rc %d (%s at %zu)", ok[i], rc, d.err ? d.err : "", d.err_pos);
	}
}

Test(json, rejects_what_rfc8259_forbids)
{
	static const struct {
		const char *js;
		int rc;
	} bad[] = {
		{"", JSON_E_SYNTAX},
		{" ", JSON_E_SYNTAX},
		{"{", JSON_E_SYNTAX},
		{"{\"a\"}", JSON_E_SYNTAX},
		{"{\"a\":}", JSON_E_SYNTAX},
		{"{\"a\":1,}", JSON_E_SYNTAX},
		{"[1,]", JSON_E_SYNTAX},
		{"[,1]", JSON_E_SYNTAX},
		{"{a:1}", JSON_E_SYNTAX},
		{"{'a':1}", JSON_E_SYNTAX},
		{"01", JSON_E_SYNTAX},
		{"-", JSON_E_SYNTAX},
		{"1.", JSON_E_SYNTAX},
		{".5", JSON_E_SYNTAX},
		{"1e", JSON_E_SYNTAX},
		{"+1", JSON_E_SYNTAX},
		{"NaN", JSON_E_SYNTAX},
		{"Infinity", JSON_E_SYNTAX},
		{"tru", JSON_E_SYNTAX},
		{"truex", JSON_E_SYNTAX},
		{"nul", JSON_E_SYNTAX},
		{"\"abc", JSON_E_SYNTAX},
		{"\"a\nb\"", JSON_E_SYNTAX},
		{"\"\\x\"", JSON_E_SYNTAX},
		{"\"\\u12\"", JSON_E_SYNTAX},
		{"\"\\u12g4\"", JSON_E_SYNTAX},
		{"\"\\ud800\"", JSON_E_SYNTAX},
		{"\"\\udc00\"", JSON_E_SYNTAX},
		{"\"\\ud800\\u0041\"", JSON_E_SYNTAX},
		{"\"\xff\"", JSON_E_SYNTAX},
		{"\"\xc0\xaf\"", JSON_E_SYNTAX},       /* overlong '/' */
		{"\"\xed\xa0\x80\"", JSON_E_SYNTAX},   /* UTF-8 encoded surrogate */
		{"\"\xf4\x90\x80\x80\"", JSON_E_SYNTAX}, /* above U+10FFFF */
		{"\"\xe2\x82\"", JSON_E_SYNTAX},       /* cut sequence */
		{"{} {}", JSON_E_SYNTAX},
		{"[1] x", JSON_E_SYNTAX},
		{"{\"a\":1}}", JSON_E_SYNTAX},
		{"[1}", JSON_E_SYNTAX},
		{"\xc2\xa0{}", JSON_E_SYNTAX}, /* NBSP is not JSON whitespace */
		{"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", JSON_E_DEPTH},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct json_tok t[64];
		struct json_doc d;
		int rc = parse(&d, bad[i].js, t, 64);
		cr_expect_eq(rc, bad[i].rc, "case %zu: rc %d, want %d", i, rc, bad[i].rc);
		if (rc != JSON_OK)
			cr_expect_not_null(d.err, "case %zu has no reason", i);
	}
	/* an embedded NUL byte is not whitespace */
	struct json_tok t[4];
	struct json_doc d;
	cr_expect_eq(json_parse(&d, "{}\0", 3, t, 4), JSON_E_SYNTAX);
	cr_expect_eq(json_parse(&d, "\"a\0b\"", 5, t, 4), JSON_E_SYNTAX);
}

Test(json, token_limit_is_an_error_not_an_overflow)
{
	struct json_tok t[5];
	struct json_doc d;
	cr_expect_eq(parse(&d, "[1,2,3,4]", t, 5), JSON_OK);
	cr_expect_eq(parse(&d, "[1,2,3,4,5]", t, 5), JSON_E_TOKENS);
	cr_expect_eq(parse(&d, "{\"a\":1,\"b\":2}", t, 4), JSON_E_TOKENS);
	cr_expect_eq(parse(&d, "1", t, 0), JSON_E_TOKENS);
}

Test(json, structure_and_lookup)
{
	struct json_tok t[32];
	struct json_doc d;
	const char *js = "{\"a\":{\"x\":[1,2,3],\"y\":true},\"b\":\"s\",\"c\":null,\"d\":-12}";
	cr_assert_eq(parse(&d, js, t, 32), JSON_OK);
	cr_expect_eq(t[0].type, JSON_OBJECT);
	cr_expect_eq(t[0].size, 4);
	cr_expect_eq(t[0].after, d.ntoks);
	int a = json_obj_get(&d, 0, "a");
	cr_assert_geq(a, 0);
	cr_expect_eq(t[a].type, JSON_OBJECT);
	int x = json_obj_get(&d, a, "x");
	cr_expect_eq(t[x].type, JSON_ARRAY);
	cr_expect_eq(t[x].size, 3);
	cr_expect_eq(json_get_bool(&d, json_obj_get(&d, a, "y")), 1);
	/* members of a nested object are not found from the outer one */
	cr_expect_eq(json_obj_get(&d, 0, "x"), -1);
	cr_expect_eq(json_obj_get(&d, 0, "zz"), -1);
	cr_expect_eq(t[json_obj_get(&d, 0, "c")].type, JSON_NULL);
	int64_t v = 0;
	cr_expect_eq(json_get_int64(&d, json_obj_get(&d, 0, "d"), &v), JSON_NUM_OK);
	cr_expect_eq(v, -12);
	cr_expect_eq(json_get_int64(&d, json_obj_get(&d, 0, "b"), &v), JSON_NUM_NOT_NUMBER);
	/* iteration visits the 4 keys in order and stops at the object's end */
	const char *keys[] = {"a", "b", "c", "d"};
	int n = 0;
	for (int k = json_obj_first(&d, 0); k >= 0; k = json_obj_next(&d, 0, k), n++)
		cr_expect(json_str_eq(&d, k, keys[n], 1), "key %d", n);
	cr_expect_eq(n, 4);
	n = 0;
	for (int k = json_obj_first(&d, a); k >= 0; k = json_obj_next(&d, a, k))
		n++;
	cr_expect_eq(n, 2);
	cr_expect_eq(json_obj_first(&d, x), -1);
	cr_expect_eq(json_obj_get(&d, 999, "a"), -1);
}

Test(json, strings_unescape)
{
	struct json_tok t[8];
	struct json_doc d;
	const char *js = "[\"a\\u0041\\n\\\"\\/\", \"\\ud83d\\ude00\\u00e9\", \"plain\"]";
	cr_assert_eq(parse(&d, js, t, 8), JSON_OK);
	char buf[32];
	cr_expect_eq(json_str_copy(&d, 1, buf, sizeof buf), 5);
	cr_expect_str_eq(buf, "aA\n\"/");
	cr_expect_eq(json_str_copy(&d, 2, buf, sizeof buf), 6);
	cr_expect_str_eq(buf, "\xf0\x9f\x98\x80\xc3\xa9");
	cr_expect(json_str_eq(&d, 2, "\xf0\x9f\x98\x80\xc3\xa9", 6));
	cr_expect(!json_str_eq(&d, 2, "\xf0\x9f\x98\x80", 4));
	cr_expect(json_str_eq(&d, 3, "plain", 5));
	cr_expect(!json_str_eq(&d, 3, "plai", 4));
	cr_expect_eq(json_str_len(&d, 1), 5);
	/* truncation keeps whole UTF-8 characters and NUL-terminates */
	cr_expect_eq(json_str_copy(&d, 2, buf, 3), 6);
	cr_expect_str_eq(buf, "");
	cr_expect_eq(json_str_copy(&d, 2, buf, 6), 6);
	cr_expect_str_eq(buf, "\xf0\x9f\x98\x80");
	cr_expect_eq(json_str_copy(&d, 3, buf, 4), 5);
	cr_expect_str_eq(buf, "pla");
	cr_expect_eq(json_str_copy(&d, 0, buf, sizeof buf), -1);
	cr_expect_str_eq(buf, "");
}

Test(json, duplicate_keys_found_after_unescaping)
{
	static const struct {
		const char *js;
		const char *dup; /* NULL: none */
	} cases[] = {
		{"{\"a\":1,\"b\":2}", NULL},
		{"{\"a\":1,\"a\":2}", "a"},
		{"{\"alg\":\"HS256\",\"x\":{\"alg\":1},\"alg\":\"none\"}", "alg"},
		{"{\"alg\":1,\"\\u0061lg\":2}", "alg"},
		{"{\"x\":{\"a\":1,\"a\":2}}", NULL}, /* only the object asked about */
		{"{\"ab\":1,\"a\":2,\"b\":3}", NULL},
		{"{\"\\u0061lg\":1,\"alg\":2}", "alg"}, /* a raw key after its escaped twin */
		{"{\"ba\":1,\"ab\":2,\"aa\":3,\"bb\":4}", NULL},
		{"{\"exp\":1,\"iat\":2,\"nbf\":3,\"iss\":4,\"sub\":5,\"jti\":6,\"iat\":7}", "iat"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct json_tok t[16];
		struct json_doc d;
		cr_assert_eq(parse(&d, cases[i].js, t, 16), JSON_OK, "case %zu", i);
		int k = json_obj_dup(&d, 0);
		if (!cases[i].dup) {
			cr_expect_eq(k, -1, "case %zu", i);
			continue;
		}
		cr_assert_geq(k, 0, "case %zu", i);
		char buf[16];
		json_str_copy(&d, k, buf, sizeof buf);
		cr_expect_str_eq(buf, cases[i].dup, "case %zu", i);
	}
}

/* Many keys (more than the 64 bits of the filter that skips most
 * compares): a repeat is found wherever it is, and distinct keys that share
 * lengths and end bytes are not taken for repeats. */
Test(json, duplicate_keys_among_many)
{
	static char js[4096];
	static struct json_tok t[512];
	for (int dup_at = -1; dup_at < 100; dup_at += 7) {
		size_t o = 0;
		o += (size_t)snprintf(js + o, sizeof js - o, "{");
		for (int i = 0; i < 100; i++)
			o += (size_t)snprintf(js + o, sizeof js - o, "%s\"k%c%02dx\":%d", i ? "," : "", 'a' + i % 3, i, i);
		if (dup_at >= 0)
			o += (size_t)snprintf(js + o, sizeof js - o, ",\"k%c%02dx\":0", 'a' + dup_at % 3, dup_at);
		snprintf(js + o, sizeof js - o, "}");
		struct json_doc d;
		cr_assert_eq(parse(&d, js, t, 512), JSON_OK);
		int k = json_obj_dup(&d, 0);
		if (dup_at < 0) {
			cr_expect_eq(k, -1);
			continue;
		}
		cr_assert_geq(k, 0, "repeat of key %d not found", dup_at);
		char want[16], buf[16];
		snprintf(want, sizeof want, "k%c%02dx", 'a' + dup_at % 3, dup_at);
		json_str_copy(&d, k, buf, sizeof buf);
		cr_expect_str_eq(buf, want);
		cr_expect_eq((unsigned)k, d.ntoks - 2, "the repeat is the last key");
	}
}

Test(json, integers_exact_and_bounded)
{
	static const struct {
		const char *js;
		int rc;
		int64_t v;
	} cases[] = {
		{"1795377600", JSON_NUM_OK, 1795377600},
		{"0", JSON_NUM_OK, 0},
		{"-0", JSON_NUM_OK, 0},
		{"999999999999999999", JSON_NUM_OK, 999999999999999999},    /* 18 characters */
		{"-99999999999999999", JSON_NUM_OK, -99999999999999999},    /* 18 characters */
		{"-999999999999999999", JSON_NUM_OK, -999999999999999999},  /* 19 */
		{"1000000000000000000", JSON_NUM_OK, 1000000000000000000},  /* 19 */
		{"9223372036854775807", JSON_NUM_OK, INT64_MAX},
		{"-9223372036854775808", JSON_NUM_OK, INT64_MIN},
		{"9223372036854775808", JSON_NUM_RANGE, 0},
		{"-9223372036854775809", JSON_NUM_RANGE, 0},
		{"99999999999999999999999999", JSON_NUM_RANGE, 0},
		/* whole numbers in any notation */
		{"1.5e9", JSON_NUM_OK, 1500000000},
		{"1795377600.0", JSON_NUM_OK, 1795377600},
		{"1.796138679e9", JSON_NUM_OK, 1796138679},
		{"1.796138679E+9", JSON_NUM_OK, 1796138679},
		{"17961386790e-1", JSON_NUM_OK, 1796138679},
		{"1e3", JSON_NUM_OK, 1000},
		{"-1.0e1", JSON_NUM_OK, -10},
		{"100e-2", JSON_NUM_OK, 1},
		{"120.000", JSON_NUM_OK, 120},
		{"0.0e-7", JSON_NUM_OK, 0},
		{"9.223372036854775807e18", JSON_NUM_OK, INT64_MAX},
		/* fractions stay fractions */
		{"1795377600.5", JSON_NUM_NOT_INTEGER, 0},
		{"1e-1", JSON_NUM_NOT_INTEGER, 0},
		{"10.50", JSON_NUM_NOT_INTEGER, 0},
		{"1e-99999999999", JSON_NUM_NOT_INTEGER, 0},
		{"1e400", JSON_NUM_RANGE, 0},
		{"9.223372036854775808e18", JSON_NUM_RANGE, 0},
		{"1e99999999999999", JSON_NUM_RANGE, 0},
		{"\"1795377600\"", JSON_NUM_NOT_NUMBER, 0},
		{"true", JSON_NUM_NOT_NUMBER, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct json_tok t[2];
		struct json_doc d;
		cr_assert_eq(parse(&d, cases[i].js, t, 2), JSON_OK, "case %zu", i);
		int64_t v = 0;
		cr_expect_eq(json_get_int64(&d, 0, &v), cases[i].rc, "case %zu (%s)", i, cases[i].js);
		if (cases[i].rc == JSON_NUM_OK)
			cr_expect_eq(v, cases[i].v, "case %zu", i);
	}
}

/* Payloads nest (a Voice grant's outgoing.params): 64 levels are allowed,
 * the 65th is a limit error, never a stack overflow. */
Test(json, depth_at_least_64_and_bounded)
{
	static char js[2 * (JSON_MAX_DEPTH + 2) + 1];
	static struct json_tok t[JSON_MAX_DEPTH + 2];
	struct json_doc d;
	cr_assert_geq(JSON_MAX_DEPTH, 64);
	for (int depth = 60; depth <= JSON_MAX_DEPTH + 1; depth++) {
		size_t n = 0;
		for (int i = 0; i < depth; i++)
			js[n++] = '[';
		for (int i = 0; i < depth; i++)
			js[n++] = ']';
		int rc = json_parse(&d, js, n, t, JSON_MAX_DEPTH + 2);
		cr_expect_eq(rc, depth <= JSON_MAX_DEPTH ? JSON_OK : JSON_E_DEPTH, "depth %d: %d", depth, rc);
	}
}

Test(json, hostile_inputs_terminate)
{
	/* deep nesting, long runs, every prefix of a document: no crash, no hang */
	static char buf[70000];
	struct json_tok t[512];
	struct json_doc d;
	memset(buf, '[', sizeof buf);
	cr_expect_eq(json_parse(&d, buf, sizeof buf, t, 512), JSON_E_DEPTH);
	memset(buf, '{', sizeof buf);
	cr_expect_eq(json_parse(&d, buf, sizeof buf, t, 512), JSON_E_SYNTAX);
	buf[0] = '[';
	for (size_t i = 0; i < 20000; i++)
		memcpy(buf + 1 + 2 * i, "1,", 2);
	cr_expect_eq(json_parse(&d, buf, 40000, t, 512), JSON_E_TOKENS);
	const char *doc = "{\"a\":[1,{\"b\":\"\\ud83d\\ude00x\"},null,true,-1.5e3],\"c\":\"d\"}";
	size_t n = strlen(doc);
	for (size_t i = 0; i < n; i++)
		cr_expect_neq(json_parse(&d, doc, i, t, 512), JSON_OK, "prefix %zu parsed", i);
	cr_expect_eq(json_parse(&d, doc, n, t, 512), JSON_OK);
}
