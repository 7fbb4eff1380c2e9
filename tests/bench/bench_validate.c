/* validate() against libjwt's jwt_decode() on the same realistic token (HS256,
 * chat + data_sync + voice grants, ~600 bytes), in one run: rounds of each
 * side interleaved, medians reported. Also the HMAC strategies on the same
 * signing input: keyed-once states (keyring_mac) vs one-shot HMAC() vs an
 * EVP_MAC_CTX duplicated per message.
 * Last line: validate_vs_libjwt <libjwt/s> <ours/s> <ratio>. */
#include <jwt.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode/b64url.h"
#include "decode/keyring.h"
#include "decode/validate.h"

#define T0 1795377600
#define KEY "SKfedcba9876543210fedcba9876543210"
#define ACC "AC0123456789abcdef0123456789abcdef"
#define SECRET "tokshimFakeTestSecret0000000000x"
#define ROUNDS 7
#define ROUND_SECONDS 0.25

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

static char tok[2048];
static size_t toklen;
static struct keyring *kr;
static struct vconfig cfg;
static volatile int sink;

static int run_ours(void)
{
	static struct diag d;
	int rc = validate(tok, toklen, T0 + 60, &cfg, &d);
	sink += (int)d.ncauses;
	return rc;
}

static int run_libjwt(void)
{
	jwt_t *jwt = NULL;
	int rc = jwt_decode(&jwt, tok, (const unsigned char *)SECRET, (int)strlen(SECRET));
	jwt_free(jwt);
	return rc;
}

static size_t signing_len;
static const struct keyring_key *key;
static EVP_MAC_CTX *mac_keyed;

static int run_hmac_keyed(void)
{
	uint8_t mac[HMAC_MAX_LEN];
	int rc = keyring_mac(key, HMAC_SHA256, tok, signing_len, mac);
	sink += mac[0];
	return rc;
}

static int run_hmac_oneshot(void)
{
	uint8_t mac[64];
	unsigned ml = 0;
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const uint8_t *)tok, signing_len, mac, &ml);
	sink += mac[0];
	return ml == 32 ? 0 : -1;
}

static int run_hmac_evp_dup(void)
{
	uint8_t mac[64];
	size_t ml = 0;
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(mac_keyed);
	int ok = c && EVP_MAC_update(c, (const uint8_t *)tok, signing_len) && EVP_MAC_final(c, mac, &ml, sizeof mac);
	EVP_MAC_CTX_free(c);
	sink += mac[0];
	return ok ? 0 : -1;
}

/* Calls fn for about ROUND_SECONDS; returns calls per second. */
static double rate(int (*fn)(void))
{
	long n = 0, batch = 256;
	double t0 = now_s(), t;
	do {
		for (long i = 0; i < batch; i++)
			fn();
		n += batch;
		t = now_s();
	} while (t - t0 < ROUND_SECONDS);
	return (double)n / (t - t0);
}

static void make_token(void)
{
	const char *header = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"cty\":\"twilio-fpa;v=1\"}";
	const char *payload =
		"{\"jti\":\"" KEY "-1795377600\",\"grants\":{\"identity\":\"alice\","
		"\"chat\":{\"service_sid\":\"IS11111111111111111111111111111111\"},"
		"\"data_sync\":{\"service_sid\":\"IS22222222222222222222222222222222\"},"
		"\"voice\":{\"incoming\":{\"allow\":true},\"outgoing\":{\"application_sid\":"
		"\"AP44444444444444444444444444444444\"}}},"
		"\"iat\":1795377600,\"exp\":1795381200,\"iss\":\"" KEY "\",\"sub\":\"" ACC "\"}";
	size_t o = b64url_encode((const uint8_t *)header, strlen(header), tok, sizeof tok);
	tok[o++] = '.';
	o += b64url_encode((const uint8_t *)payload, strlen(payload), tok + o, sizeof tok - o);
	signing_len = o;
	uint8_t mac[32];
	unsigned ml = 0;
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const uint8_t *)tok, o, mac, &ml);
	tok[o++] = '.';
	o += b64url_encode(mac, ml, tok + o, sizeof tok - o);
	toklen = o;
}

int main(void)
{
	make_token();
	kr = keyring_new();
	struct tk_error err = {0};
	if (!kr || keyring_add(kr, KEY, SECRET, strlen(SECRET), &err) < 0) {
		fprintf(stderr, "bench_validate: cannot set up keyring: %s\n", err.msg);
		return 1;
	}
	key = keyring_find(kr, KEY, strlen(KEY));
	vconfig_init(&cfg);
	cfg.keys = kr;
	cfg.account_sid = ACC;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
			       OSSL_PARAM_construct_end()};
	mac_keyed = mac ? EVP_MAC_CTX_new(mac) : NULL;
	if (!mac_keyed || !EVP_MAC_init(mac_keyed, (const uint8_t *)SECRET, strlen(SECRET), params)) {
		fprintf(stderr, "bench_validate: cannot set up EVP_MAC\n");
		return 1;
	}
	/* both sides must accept the token, or the comparison means nothing */
	if (run_ours() != 0) {
		fprintf(stderr, "bench_validate: validate() rejects the benchmark token\n");
		return 1;
	}
	if (run_libjwt() != 0) {
		fprintf(stderr, "bench_validate: jwt_decode() rejects the benchmark token\n");
		return 1;
	}

	double ours[ROUNDS], theirs[ROUNDS], hk[ROUNDS], ho[ROUNDS], he[ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		theirs[r] = rate(run_libjwt);
		ours[r] = rate(run_ours);
		hk[r] = rate(run_hmac_keyed);
		ho[r] = rate(run_hmac_oneshot);
		he[r] = rate(run_hmac_evp_dup);
	}
	double o = median(ours, ROUNDS), t = median(theirs, ROUNDS);
	printf("bench_validate: token %zu bytes (HS256; chat, data_sync, voice grants), %d rounds of %.2fs, medians\n",
	       toklen, ROUNDS, ROUND_SECONDS);
	printf("  libjwt jwt_decode (decode + HMAC verify): %12.0f /s\n", t);
	printf("  tokshim validate (decode, JSON, HMAC, all rules): %12.0f /s\n", o);
	printf("  hmac-sha256 keyed once (keyring_mac): %12.0f /s\n", median(hk, ROUNDS));
	printf("  hmac-sha256 one-shot HMAC():          %12.0f /s\n", median(ho, ROUNDS));
	printf("  hmac-sha256 EVP_MAC_CTX_dup:          %12.0f /s\n", median(he, ROUNDS));
	printf("validate_vs_libjwt %.0f %.0f %.2f\n", t, o, o / t);
	EVP_MAC_CTX_free(mac_keyed);
	EVP_MAC_free(mac);
	keyring_free(kr);
	return 0;
}
