#!/usr/bin/env bash
# decode/keyring.c also builds without OpenSSL's deprecated SHA-256 calls
# (-DTOKSHIM_HMAC_EVP, what OPENSSL_NO_DEPRECATED_3_0 selects), and its MACs
# and digests then agree with libcrypto's HMAC() and SHA256()
# (tests/e2e/hmac_evp.c).
. "$(dirname "$0")/lib.sh"
e2e_init --no-shim
check "keyring.c builds the EVP way (-Werror)" \
	cc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$ROOT" -O1 -DTOKSHIM_HMAC_EVP \
	-c "$ROOT/decode/keyring.c" -o "$TMP/keyring_evp.o"
check "the EVP build links" \
	cc -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$ROOT" -O1 -o "$TMP/hmac_evp" \
	"$ROOT/tests/e2e/hmac_evp.c" "$TMP/keyring_evp.o" "$BUILD/libdecode.a" -lcrypto
check "the EVP build's HMAC-SHA256 and SHA-256 agree with libcrypto's" "$TMP/hmac_evp"
e2e_done
