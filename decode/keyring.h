/* Internals of struct keyring shared by keyring.c and validate.c (the public
 * API is in validate.h). Pure: no globals, no I/O. */
#ifndef TOKSHIM_KEYRING_H
#define TOKSHIM_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "decode/validate.h"

enum hmac_alg { HMAC_SHA256 = 0, HMAC_SHA384, HMAC_SHA512, HMAC__COUNT };

#define HMAC_MAX_LEN 64

/* Digest length in bytes of alg (32, 48, 64). */
size_t hmac_len(enum hmac_alg alg);

struct keyring_key; /* one secret, keyed once for each algorithm */

/* The key for API Key SID sid[0..n), else the default key, else NULL.
 * Borrowed from kr. */
const struct keyring_key *keyring_find(const struct keyring *kr, const char *sid, size_t n);
/* The key's SID, "" for the default key. */
const char *keyring_key_sid(const struct keyring_key *k);
/* The Account SID the secrets file names for the key (its third field), ""
 * when none was given. */
const char *keyring_key_account(const struct keyring_key *k);
/* Non-zero when the secret looks like an Account Auth Token (32 hex digits)
 * rather than an API Key Secret (32 letters and digits). */
int keyring_key_hexlike(const struct keyring_key *k);
/* Writes the MAC of data[0..n) into mac (HMAC_MAX_LEN bytes). 0 on success,
 * -1 when OpenSSL failed. */
int keyring_mac(const struct keyring_key *k, enum hmac_alg alg, const void *data, size_t n,
		uint8_t *mac);

/* SHA-256 of data[0..n) into md (32 bytes), without allocating. */
void sha256_digest(const void *data, size_t n, uint8_t *md);

#endif
