/* Dumps every field of validate()'s diagnosis (verdict, code, product,
 * each cause's id, severity, code, text and fix, the token summary with its
 * fingerprint) for each token of tests/fixtures/tokens.json under nine
 * configurations, and for deterministic mutants of each (bytes changed,
 * deleted, inserted, cut; the decoded header or payload JSON changed and
 * re-signed; wrapped): about 480,000 lines. Two builds' dumps compared
 * with diff show whether the validator's results moved
 * (tests/tools/validate_diff.sh does this for a git revision and the work
 * tree). Only the validator's public API is used, so that older revisions
 * build with it. usage: validate_dump [tokens.json] > out */
#include <jansson.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/b64url.h"
#include "decode/validate.h"

#define SECRET "tokshimFakeTestSecret0000000000x"
#define KEY "SKfedcba9876543210fedcba9876543210"

static struct keyring *kr, *kr2;
static uint64_t rs = 88172645463325252ull;
static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static void dump(const char *name, const char *tok, size_t len, int64_t now, const struct vconfig *cfg, int ci)
{
	static struct diag d;
	memset(&d, 0x5a, sizeof d);
	int rc = validate(tok, len, now, cfg, &d);
	printf("== %s cfg%d len %zu rc %d accept %d code %d product %d channel %d n %zu\n", name, ci, len, rc,
	       d.accept, d.code, d.product, d.channel, d.ncauses);
	for (size_t i = 0; i < d.ncauses; i++)
		printf("  c %d %d %d |%s| |%s|\n", d.causes[i].id, d.causes[i].severity, d.causes[i].twilio_code,
		       d.causes[i].text, d.causes[i].fix);
	const struct token_summary *t = &d.token;
	printf("  t %d |%s|%s|%s|%s|%s|%s|%s| %lld %lld %lld %d%d%d %u |%s|%s|\n", t->parsed, t->fingerprint, t->alg,
	       t->region, t->jti, t->iss, t->sub, t->identity, (long long)t->iat, (long long)t->nbf,
	       (long long)t->exp, t->has_iat, t->has_nbf, t->has_exp, t->grants, t->chat_service_sid,
	       t->sync_service_sid);
}

static const char *const prods[] = {"unknown", "conversations", "sync", "voice", "video"};

static void all_cfgs(const char *name, const char *tok, size_t len, int64_t now, const char *prod)
{
	for (int ci = 0; ci < 9; ci++) {
		struct vconfig c;
		vconfig_init(&c);
		c.keys = ci == 1 ? NULL : ci == 2 ? kr2 : kr;
		int p = product_from_name(ci >= 3 && ci <= 7 ? prods[ci - 3] : prod);
		c.product = p < 0 ? PRODUCT_UNKNOWN : (enum product)p;
		if (ci == 0) {
			c.account_sid = "AC0123456789abcdef0123456789abcdef";
			c.host_region = "ie1";
		}
		if (ci == 8) {
			c.choose_product = 1;
			c.channel = CHANNEL_TWILSOCK;
			c.product = PRODUCT_UNKNOWN;
			c.skew = 0;
			c.account_sid = "AC0123456789abcdef0123456789abcdee";
		}
		if (ci == 7) {
			c.choose_product = 1;
			c.channel = CHANNEL_VOICE;
			c.host_product = PRODUCT_VIDEO;
			c.host_region = "us1";
		}
		dump(name, tok, len, now, &c, ci);
	}
}

static const char charset[] = "AZaz09-_.=+/ %\"{}[]:,\\\x80\xc3\xa9\t\n\x01";

static size_t resign(const char *json_h, size_t hl, const char *json_p, size_t pl, int alg, char *out, size_t cap)
{
	size_t o = b64url_encode((const uint8_t *)json_h, hl, out, cap);
	out[o++] = '.';
	o += b64url_encode((const uint8_t *)json_p, pl, out + o, cap - o);
	uint8_t mac[64];
	unsigned ml = 0;
	const EVP_MD *md = alg == 0 ? EVP_sha256() : alg == 1 ? EVP_sha384() : EVP_sha512();
	HMAC(md, SECRET, (int)strlen(SECRET), (const uint8_t *)out, o, mac, &ml);
	out[o++] = '.';
	o += b64url_encode(mac, ml, out + o, cap - o);
	out[o] = 0;
	return o;
}

static const char *const json_mut[] = {"\"", "\\", "\\u0000", "\\ud800", "null", "1.5", "1e3", "{", "}", "[]",
				       ",", ":", "\"x\":1,", "\"grants\":{},", "\"exp\":\"1\",", "\xc3", " ",
				       "\"iss\":\"SKfedcba9876543210fedcba9876543210\",", "0", "-", "true"};

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "tests/fixtures/tokens.json";
	kr = keyring_new();
	kr2 = keyring_new();
	keyring_add(kr, KEY, SECRET, strlen(SECRET), NULL);
	keyring_add(kr2, NULL, "0123456789abcdef0123456789abcdef", 32, NULL);
	keyring_add_lines(kr2, "SKfedcba9876543210fedcba9876543210 " SECRET " AC0123456789abcdef0123456789abcdee\n", 200, NULL);
	json_error_t e;
	json_t *root = json_load_file(path, 0, &e);
	if (!root) {
		fprintf(stderr, "cannot read %s\n", path);
		return 1;
	}
	size_t i;
	json_t *t;
	static char buf[40000], name[200];
	static uint8_t dec[20000];
	json_array_foreach(json_object_get(root, "tokens"), i, t) {
		const char *tok = json_string_value(json_object_get(t, "token"));
		const char *nm = json_string_value(json_object_get(t, "name"));
		const char *prod = json_string_value(json_object_get(t, "product"));
		int64_t now = json_integer_value(json_object_get(t, "now"));
		size_t len = strlen(tok);
		all_cfgs(nm, tok, len, now, prod);
		/* byte mutants */
		for (int m = 0; m < 150; m++) {
			memcpy(buf, tok, len + 1);
			size_t n = len, at = rnd() % (len + 1);
			int kind = (int)(rnd() % 4);
			char ch = charset[rnd() % (sizeof charset - 1)];
			if (kind == 0 && at < n)
				buf[at] = ch;
			else if (kind == 1 && at < n) {
				memmove(buf + at, buf + at + 1, n - at);
				n--;
			} else if (kind == 2) {
				memmove(buf + at + 1, buf + at, n - at + 1);
				buf[at] = ch;
				n++;
			} else
				n = at;
			snprintf(name, sizeof name, "%s/b%d", nm, m);
			all_cfgs(name, buf, n, now, prod);
		}
		/* JSON mutants, re-signed */
		const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
		if (!d2)
			continue;
		long hl = b64url_decode(tok, (size_t)(d1 - tok), dec, sizeof dec);
		long pl = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), dec + 8000, 8000);
		if (hl < 0 || pl < 0)
			continue;
		int alg = strstr((char *)dec, "HS384") ? 1 : strstr((char *)dec, "HS512") ? 2 : 0;
		for (int m = 0; m < 150; m++) {
			static char js[9000];
			int in_hdr = m % 5 == 0;
			const char *src = (const char *)dec + (in_hdr ? 0 : 8000);
			size_t sl = (size_t)(in_hdr ? hl : pl), at = rnd() % (sl + 1);
			const char *ins = json_mut[rnd() % (sizeof json_mut / sizeof *json_mut)];
			size_t del = rnd() % 3;
			if (at + del > sl)
				del = sl - at;
			size_t il = strlen(ins);
			memcpy(js, src, at);
			memcpy(js + at, ins, il);
			memcpy(js + at + il, src + at + del, sl - at - del);
			size_t jl = sl - del + il;
			size_t n = in_hdr ? resign(js, jl, (const char *)dec + 8000, (size_t)pl, alg, buf, sizeof buf)
					  : resign((const char *)dec, (size_t)hl, js, jl, alg, buf, sizeof buf);
			snprintf(name, sizeof name, "%s/j%d", nm, m);
			all_cfgs(name, buf, n, now, prod);
		}
		/* wrapped */
		snprintf(buf, sizeof buf, "Bearer %s", tok);
		all_cfgs("wrap1", buf, strlen(buf), now, prod);
		snprintf(buf, sizeof buf, "{\"token\":\"%s\"}", tok);
		all_cfgs("wrap2", buf, strlen(buf), now, prod);
	}
	json_decref(root);
	keyring_free(kr);
	keyring_free(kr2);
	return 0;
}
