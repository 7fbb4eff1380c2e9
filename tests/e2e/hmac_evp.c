/* keyring.c built the EVP way (-DTOKSHIM_HMAC_EVP: OpenSSL without its
 * deprecated SHA-256 calls) against libcrypto's one-shot HMAC() and SHA256():
 * for a short input, one that starts with a known header block and a long
 * one. Exit 0 when every MAC and digest agrees. */
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "decode/keyring.h"

int main(void)
{
	static const char *const in[] = {
		"x",
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImN0eSI6InR3aWxpby1mcGE7dj0xIn0.eyJqdGkiOiJTSyJ9",
		"eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiIsImN0eSI6InR3aWxpby1mcGE7dj0xIn0.eyJqdGkiOiJTSzEyMzQ1Njc4OTAiLCJpc3MiOiJTSzEyMzQ1Njc4OTAiLCJzdWIiOiJBQzEyMyIsImV4cCI6MTc5NTM4MTIwMH0",
	};
	const char *secret = "tokshimFakeTestSecret0000000000x";
	struct keyring *kr = keyring_new();
	struct tk_error err = {0};
	if (!kr || keyring_add(kr, "SKfedcba9876543210fedcba9876543210", secret, strlen(secret), &err) < 0) {
		fprintf(stderr, "hmac_evp: keyring: %s\n", err.msg);
		return 2;
	}
	const struct keyring_key *k = keyring_find(kr, "SKfedcba9876543210fedcba9876543210", 34);
	int bad = !k;
	for (size_t i = 0; k && i < sizeof in / sizeof in[0]; i++) {
		uint8_t mac[HMAC_MAX_LEN], want[EVP_MAX_MD_SIZE], md[32], wmd[32];
		unsigned wl = 0;
		HMAC(EVP_sha256(), secret, (int)strlen(secret), (const uint8_t *)in[i], strlen(in[i]), want, &wl);
		if (keyring_mac(k, HMAC_SHA256, in[i], strlen(in[i]), mac) != 0 || wl != 32 || memcmp(mac, want, 32)) {
			fprintf(stderr, "hmac_evp: HMAC-SHA256 of input %zu differs\n", i);
			bad = 1;
		}
		sha256_digest(in[i], strlen(in[i]), md);
		SHA256((const uint8_t *)in[i], strlen(in[i]), wmd);
		if (memcmp(md, wmd, 32)) {
			fprintf(stderr, "hmac_evp: SHA-256 of input %zu differs\n", i);
			bad = 1;
		}
	}
	keyring_free(kr);
	return bad;
}
