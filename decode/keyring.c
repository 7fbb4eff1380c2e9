/* API Key secrets, each keyed once for HMAC-SHA256/384/512.
 *
 * HMAC(K, m) = H((K0 ^ opad) || H((K0 ^ ipad) || m)). The two one-block
 * prefixes do not depend on the message, so keyring_add hashes them once and
 * keeps the intermediate digest states; a verification copies the two states
 * (plain structs: no allocation) and hashes only the message and the inner
 * digest. That is several times faster than a one-shot HMAC() or an
 * EVP_MAC_CTX_dup per token, which allocate and re-key every time. The
 * prefixes are hashed at the key's first verification, not in keyring_add
 * (the shim loads libcrypto only when a token is to be verified): until then
 * the key holds a copy of its secret (kept, and wiped, with the key). The states
 * use OpenSSL's SHA256_CTX/SHA512_CTX, deprecated in 3.0 but present; a build
 * without them (OPENSSL_NO_DEPRECATED_3_0, or -DTOKSHIM_HMAC_EVP) uses an
 * EVP_MAC_CTX keyed once and duplicated per verification instead. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "decode/cold.h"
#include "decode/keyring.h"
#include "decode/text.h"

#include <openssl/crypto.h>
#include <openssl/opensslconf.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(OPENSSL_NO_DEPRECATED_3_0) && !defined(TOKSHIM_HMAC_EVP)
#define TOKSHIM_HMAC_EVP 1
#endif

#ifdef TOKSHIM_HMAC_EVP
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#else
#include <openssl/sha.h>
#endif

#define SID_MAX 64

#ifndef TOKSHIM_HMAC_EVP
/* The first 64 characters (one SHA-256 block) of the encoded headers the
 * helper libraries write for HS256 (node and most others: alg, typ, cty,
 * with or without twr; python: typ, alg, cty), and SHA-256's state after
 * that block. A token (the fingerprint) or a signing input (the HMAC)
 * that starts with one is hashed on from that state: one block fewer, the
 * same digest. */
#define SHA256_HEADERS 2
static const struct {
	char block[65];
	SHA_LONG h[8];
} sha256_headers[SHA256_HEADERS] = {
	{"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImN0eSI6InR3aWxpby1mcGE7dj0x",
	 {0x40de272f, 0x4cc84e02, 0x986b0e44, 0x32219a5f, 0x4350805b, 0xc3270fbb, 0x9e9688ab, 0xf55b2ee0}},
	{"eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiIsImN0eSI6InR3aWxpby1mcGE7dj0x",
	 {0x4a079619, 0x40b7fb6a, 0x59ad7258, 0x5a7bb777, 0x440c2589, 0xd3b7c93c, 0x5f15eafb, 0x2352a7f8}},
};

/* Which of sha256_headers data[0..n) starts with, -1 none. */
static int sha256_header(const void *data, size_t n)
{
	if (n < 64)
		return -1;
	for (int i = 0; i < SHA256_HEADERS; i++)
		if (!memcmp(data, sha256_headers[i].block, 64))
			return i;
	return -1;
}
#endif

struct keyring_key {
	char sid[SID_MAX]; /* "" for the default key */
	char account[SID_MAX]; /* the Account the key belongs to (secrets file), "" unknown */
	int hexlike;
#ifdef TOKSHIM_HMAC_EVP
	EVP_MAC_CTX *ctx[HMAC__COUNT];
#else
	SHA256_CTX in256, out256;
	SHA256_CTX in256_hdr[SHA256_HEADERS]; /* in256 after each of sha256_headers */
	SHA512_CTX in384, out384, in512, out512;
	atomic_int keyed;     /* 0 not yet, 1 being keyed, 2 the states above are set */
	uint8_t *secret;      /* new: a copy, until keyring_free */
	size_t secret_len;
#endif
};

struct keyring {
	struct keyring_key **keys;
	size_t n, cap;
	EVP_MAC *mac; /* EVP path only */
};

size_t hmac_len(enum hmac_alg alg)
{
	return alg == HMAC_SHA256 ? 32 : alg == HMAC_SHA384 ? 48 : 64;
}

TK_COLD struct keyring *keyring_new(void)
{
	return calloc(1, sizeof(struct keyring));
}

static void key_free(struct keyring_key *k)
{
	if (!k)
		return;
#ifdef TOKSHIM_HMAC_EVP
	for (int a = 0; a < HMAC__COUNT; a++)
		EVP_MAC_CTX_free(k->ctx[a]);
#else
	if (k->secret) {
		OPENSSL_cleanse(k->secret, k->secret_len);
		free(k->secret);
	}
#endif
	OPENSSL_cleanse(k, sizeof *k);
	free(k);
}

void keyring_free(struct keyring *kr)
{
	if (!kr)
		return;
	for (size_t i = 0; i < kr->n; i++)
		key_free(kr->keys[i]);
	free(kr->keys);
#ifdef TOKSHIM_HMAC_EVP
	EVP_MAC_free(kr->mac);
#endif
	free(kr);
}

TK_COLD size_t keyring_count(const struct keyring *kr)
{
	return kr ? kr->n : 0;
}

#ifdef TOKSHIM_HMAC_EVP
static int key_setup(struct keyring *kr, struct keyring_key *k, const uint8_t *secret, size_t n)
{
	static const char *const digests[HMAC__COUNT] = {"SHA256", "SHA384", "SHA512"};
	if (!kr->mac && !(kr->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)))
		return -1;
	for (int a = 0; a < HMAC__COUNT; a++) {
		OSSL_PARAM params[2] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digests[a], 0),
			OSSL_PARAM_construct_end(),
		};
		if (!(k->ctx[a] = EVP_MAC_CTX_new(kr->mac)) || !EVP_MAC_init(k->ctx[a], secret, n, params))
			return -1;
	}
	return 0;
}

int keyring_mac(const struct keyring_key *k, enum hmac_alg alg, const void *data, size_t n, uint8_t *mac)
{
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(k->ctx[alg]);
	size_t outl = 0;
	int ok = c && EVP_MAC_update(c, data, n) && EVP_MAC_final(c, mac, &outl, HMAC_MAX_LEN);
	EVP_MAC_CTX_free(c);
	return ok && outl == hmac_len(alg) ? 0 : -1;
}
#else
static int key_setup(struct keyring *kr, struct keyring_key *k, const uint8_t *secret, size_t n)
{
	(void)kr;
	uint8_t k0[128], pad[128];
	/* SHA-256 (64-byte blocks) */
	memset(k0, 0, sizeof k0);
	if (n > 64)
		SHA256(secret, n, k0);
	else
		memcpy(k0, secret, n);
	for (int i = 0; i < 64; i++)
		pad[i] = k0[i] ^ 0x36;
	SHA256_Init(&k->in256);
	SHA256_Update(&k->in256, pad, 64);
	for (int i = 0; i < SHA256_HEADERS; i++) {
		k->in256_hdr[i] = k->in256;
		SHA256_Update(&k->in256_hdr[i], sha256_headers[i].block, 64);
	}
	for (int i = 0; i < 64; i++)
		pad[i] = k0[i] ^ 0x5c;
	SHA256_Init(&k->out256);
	SHA256_Update(&k->out256, pad, 64);
	/* SHA-384 and SHA-512 (128-byte blocks; the long-key digest differs) */
	for (int a = HMAC_SHA384; a <= HMAC_SHA512; a++) {
		SHA512_CTX *in = a == HMAC_SHA384 ? &k->in384 : &k->in512;
		SHA512_CTX *out = a == HMAC_SHA384 ? &k->out384 : &k->out512;
		memset(k0, 0, sizeof k0);
		if (n > 128) {
			if (a == HMAC_SHA384)
				SHA384(secret, n, k0);
			else
				SHA512(secret, n, k0);
		} else {
			memcpy(k0, secret, n);
		}
		for (int i = 0; i < 128; i++)
			pad[i] = k0[i] ^ 0x36;
		if (a == HMAC_SHA384)
			SHA384_Init(in);
		else
			SHA512_Init(in);
		SHA512_Update(in, pad, 128);
		for (int i = 0; i < 128; i++)
			pad[i] = k0[i] ^ 0x5c;
		if (a == HMAC_SHA384)
			SHA384_Init(out);
		else
			SHA512_Init(out);
		SHA512_Update(out, pad, 128);
	}
	OPENSSL_cleanse(k0, sizeof k0);
	OPENSSL_cleanse(pad, sizeof pad);
	return 0;
}

/* k keyed (its prefixes hashed) now; a thread that finds another keying it
 * keys a copy of its own in *local and uses that. */
static const struct keyring_key *key_ready(const struct keyring_key *kc, struct keyring_key *local)
{
	struct keyring_key *k = (struct keyring_key *)kc; /* the keyed states are filled once */
	if (atomic_load_explicit(&k->keyed, memory_order_acquire) == 2)
		return k;
	int expect = 0;
	if (atomic_compare_exchange_strong_explicit(&k->keyed, &expect, 1, memory_order_acq_rel,
						    memory_order_acquire)) {
		key_setup(NULL, k, k->secret, k->secret_len);
		atomic_store_explicit(&k->keyed, 2, memory_order_release);
		return k;
	}
	if (expect == 2)
		return k;
	key_setup(NULL, local, k->secret, k->secret_len);
	return local;
}

int keyring_mac(const struct keyring_key *kk, enum hmac_alg alg, const void *data, size_t n, uint8_t *mac)
{
	uint8_t inner[HMAC_MAX_LEN];
	struct keyring_key local;
	const struct keyring_key *k = key_ready(kk, &local);
	if (alg == HMAC_SHA256) {
		int hdr = sha256_header(data, n);
		SHA256_CTX c = hdr < 0 ? k->in256 : k->in256_hdr[hdr];
		size_t skip = hdr < 0 ? 0 : 64;
		SHA256_Update(&c, (const uint8_t *)data + skip, n - skip);
		SHA256_Final(inner, &c);
		c = k->out256;
		SHA256_Update(&c, inner, 32);
		SHA256_Final(mac, &c);
		OPENSSL_cleanse(&c, sizeof c);
	} else {
		SHA512_CTX c = alg == HMAC_SHA384 ? k->in384 : k->in512;
		size_t dl = hmac_len(alg);
		SHA512_Update(&c, data, n);
		if (alg == HMAC_SHA384)
			SHA384_Final(inner, &c);
		else
			SHA512_Final(inner, &c);
		c = alg == HMAC_SHA384 ? k->out384 : k->out512;
		SHA512_Update(&c, inner, dl);
		if (alg == HMAC_SHA384)
			SHA384_Final(mac, &c);
		else
			SHA512_Final(mac, &c);
		OPENSSL_cleanse(&c, sizeof c);
	}
	if (k == &local)
		OPENSSL_cleanse(&local, sizeof local);
	return 0;
}
#endif

#ifdef TOKSHIM_HMAC_EVP
void sha256_digest(const void *data, size_t n, uint8_t *md)
{
	unsigned ml = 0;
	if (!EVP_Digest(data, n, md, &ml, EVP_sha256(), NULL))
		memset(md, 0, 32);
}
#else
void sha256_digest(const void *data, size_t n, uint8_t *md)
{
	SHA256_CTX c; /* SHA256() itself goes through EVP_Q_digest and allocates */
	int hdr = sha256_header(data, n);
	if (hdr < 0) {
		SHA256_Init(&c);
		SHA256_Update(&c, data, n);
	} else {
		/* the state SHA256_Init and an Update of the block would leave */
		memset(&c, 0, sizeof c);
		memcpy(c.h, sha256_headers[hdr].h, sizeof c.h);
		c.Nl = 64 * 8;
		c.md_len = SHA256_DIGEST_LENGTH;
		SHA256_Update(&c, (const uint8_t *)data + 64, n - 64);
	}
	SHA256_Final(md, &c);
}
#endif

TK_COLD int keyring_add(struct keyring *kr, const char *key_sid, const char *secret, size_t secret_len,
		struct tk_error *err)
{
	if (!kr) {
		tk_error_set(err, "cannot add key: no keyring");
		return -1;
	}
	if (!key_sid)
		key_sid = "";
	size_t sl = strlen(key_sid);
	if (sl >= SID_MAX) {
		tk_error_set(err, "cannot add key '%.8s...': key sid too long", key_sid);
		return -1;
	}
	if (!secret || !secret_len) {
		tk_error_set(err, "cannot add key '%.8s': empty secret", sl ? key_sid : "default");
		return -1;
	}
	struct keyring_key *k = calloc(1, sizeof *k);
	if (!k) {
		tk_error_set(err, "cannot add key: out of memory");
		return -1;
	}
	memcpy(k->sid, key_sid, sl + 1);
	k->hexlike = secret_len == 32;
	for (size_t i = 0; i < secret_len && k->hexlike; i++)
		k->hexlike = text_is_hex((unsigned char)secret[i]);
#ifdef TOKSHIM_HMAC_EVP
	int bad = key_setup(kr, k, (const uint8_t *)secret, secret_len) < 0;
#else
	/* keyed at its first verification (key_ready) */
	int bad = !(k->secret = malloc(secret_len));
	if (!bad) {
		memcpy(k->secret, secret, secret_len);
		k->secret_len = secret_len;
	}
#endif
	if (bad) {
		key_free(k);
		tk_error_set(err, "cannot add key '%.8s': hmac setup failed", sl ? key_sid : "default");
		return -1;
	}
	/* a second secret for the same SID replaces the first */
	for (size_t i = 0; i < kr->n; i++) {
		if (!strcmp(kr->keys[i]->sid, k->sid)) {
			key_free(kr->keys[i]);
			kr->keys[i] = k;
			return 0;
		}
	}
	if (kr->n == kr->cap) {
		size_t nc = kr->cap ? kr->cap * 2 : 4;
		struct keyring_key **nk = realloc(kr->keys, nc * sizeof *nk);
		if (!nk) {
			key_free(k);
			tk_error_set(err, "cannot add key: out of memory");
			return -1;
		}
		kr->keys = nk;
		kr->cap = nc;
	}
	kr->keys[kr->n++] = k;
	return 0;
}

/* "SK" and hex digits only (a SID with a typo in its length), or an Account
 * SID (AC + 32 hex) put where the API Key SID goes: never a secret. */
static int sid_like(const char *s, size_t n)
{
	if (n < 2 || n > 40 || !((s[0] == 'S' && s[1] == 'K') || (s[0] == 'A' && s[1] == 'C' && n == 34)))
		return 0;
	for (size_t i = 2; i < n; i++)
		if (!text_is_hex((unsigned char)s[i]))
			return 0;
	return 1;
}

int keyring_add_lines(struct keyring *kr, const char *buf, size_t len, struct tk_error *err)
{
	int added = 0, lineno = 0;
	size_t p = 0;
	while (p < len) {
		size_t e = p;
		while (e < len && buf[e] != '\n')
			e++;
		lineno++;
		size_t a = p, b = e;
		p = e + 1;
		if (b > a && buf[b - 1] == '\r')
			b--;
		while (a < b && (buf[a] == ' ' || buf[a] == '\t'))
			a++;
		while (b > a && (buf[b - 1] == ' ' || buf[b - 1] == '\t'))
			b--;
		if (a == b || buf[a] == '#')
			continue;
		size_t s1 = a;
		while (s1 < b && buf[s1] != ' ' && buf[s1] != '\t')
			s1++;
		size_t s2 = s1;
		while (s2 < b && (buf[s2] == ' ' || buf[s2] == '\t'))
			s2++;
		if (s2 == b) {
			tk_error_set(err, "cannot read secrets: line %d: expected 'SKxxxxxxxx SECRET'", lineno);
			return -1;
		}
		if (!sid_is(buf + a, s1 - a, "SK")) {
			/* the field may be the secret itself (the two swapped):
			 * show it only when it is a mistyped SID */
			if (sid_like(buf + a, s1 - a))
				tk_error_set(err, "cannot read secrets: line %d: '%.*s' is not an API Key SID (SK + 32 hex)",
					     lineno, (int)((s1 - a) < 12 ? (s1 - a) : 12), buf + a);
			else
				tk_error_set(err, "cannot read secrets: line %d: first field is not an API Key SID (SK + 32 hex)",
					     lineno);
			return -1;
		}
		/* SECRET, then an optional third field: the key's Account SID */
		size_t s3 = s2;
		while (s3 < b && buf[s3] != ' ' && buf[s3] != '\t')
			s3++;
		size_t secret_end = s3;
		while (s3 < b && (buf[s3] == ' ' || buf[s3] == '\t'))
			s3++;
		size_t acc = s3;
		if (acc < b) {
			for (size_t i = acc; i < b; i++) {
				if (buf[i] == ' ' || buf[i] == '\t') {
					tk_error_set(err, "cannot read secrets: line %d: more than three fields", lineno);
					return -1;
				}
			}
			if (!sid_is(buf + acc, b - acc, "AC")) {
				tk_error_set(err,
					     "cannot read secrets: line %d: third field is not an Account SID (AC + 32 hex)",
					     lineno);
				return -1;
			}
		}
		char sid[SID_MAX];
		memcpy(sid, buf + a, s1 - a);
		sid[s1 - a] = 0;
		if (keyring_add(kr, sid, buf + s2, secret_end - s2, err) < 0)
			return -1;
		if (acc < b) {
			for (size_t i = 0; i < kr->n; i++) {
				if (!strcmp(kr->keys[i]->sid, sid)) {
					memcpy(kr->keys[i]->account, buf + acc, b - acc);
					kr->keys[i]->account[b - acc] = 0;
				}
			}
		}
		added++;
	}
	return added;
}

const struct keyring_key *keyring_find(const struct keyring *kr, const char *sid, size_t n)
{
	if (!kr)
		return NULL;
	const struct keyring_key *def = NULL;
	for (size_t i = 0; i < kr->n; i++) {
		const struct keyring_key *k = kr->keys[i];
		if (!k->sid[0])
			def = k;
		else if (sid && n && strlen(k->sid) == n && !memcmp(k->sid, sid, n))
			return k;
	}
	return def;
}

const char *keyring_key_sid(const struct keyring_key *k)
{
	return k->sid;
}

const char *keyring_key_account(const struct keyring_key *k)
{
	return k->account;
}

int keyring_key_hexlike(const struct keyring_key *k)
{
	return k->hexlike;
}
