/* The token validator: token bytes + time + configuration in, diagnosis out.
 * Pure (STYLE.md): no globals, no I/O, no environment, no clock. */
#ifndef TOKSHIM_VALIDATE_H
#define TOKSHIM_VALIDATE_H

#include "decode/b64url.h"
#include "decode/diag.h"
#include "decode/json_tok.h"

#define TOKEN_MAX_LEN 16384 /* longer input is malformed, unread */

/* API Key secrets, keyed once per secret for HMAC (SHA-256/384/512).
 * keyring_new: new, free with keyring_free. Thread-safe for concurrent
 * validate() once filled. */
struct keyring;
struct keyring *keyring_new(void);
void keyring_free(struct keyring *kr);
/* key_sid NULL or "": a default secret, used for any `iss` without its own.
 * The secret is copied. 0 on success, -1 with err set. */
int keyring_add(struct keyring *kr, const char *key_sid, const char *secret, size_t secret_len,
		struct tk_error *err);
/* Adds every "SKxxxx SECRET [ACxxxx]" line (the optional third field: the
 * Account the key belongs to, for account_mismatch) of a secrets-file's contents (blank lines
 * and lines starting with '#' ignored). Returns the number added, -1 with err
 * set (naming the line number, never the secret) on a bad line. */
int keyring_add_lines(struct keyring *kr, const char *buf, size_t len, struct tk_error *err);
size_t keyring_count(const struct keyring *kr);

struct vconfig {
	const struct keyring *keys; /* borrowed; NULL: signatures unchecked */
	const char *account_sid;    /* borrowed; NULL: any account */
	int64_t skew;               /* seconds, default 30 */
	enum product product;       /* PRODUCT_UNKNOWN: auto (judge the grants present) */
	const char *host_region;    /* borrowed; region the host names (e.g. "ie1"), NULL unknown */
	/* A connection's token (choose_product 1, set by the session): the
	 * channel it was sent on and the product its host names join the
	 * product decision (decode/product.h), and on Twilsock the Twilsock
	 * grant rule applies. 0 (`check`): a bare token, channel and host
	 * ignored. */
	enum channel channel;
	enum product host_product;
	int choose_product;
};
void vconfig_init(struct vconfig *cfg);

/* Validates one token. `out` is fully (re)initialised; out->channel and
 * out->message are left CHANNEL_UNKNOWN/NULL for the caller to set before
 * diag_finish() if it knows them (validate() calls diag_finish itself with
 * what it has). Returns 0 when the token would be accepted, 1 when rejected. */
int validate(const char *tok, size_t len, int64_t now, const struct vconfig *cfg, struct diag *out);

/* The big scratch space of one validation (~41 KiB): the decoded segments,
 * their JSON values, and a wrapped token's unwrapped copy. validate() puts
 * it on the caller's stack; callers on a stack of unknown
 * size (the shim, on the host's threads) keep one in their own memory and
 * call validate_ex, which then uses under 2 KiB of stack besides libc's
 * (snprintf). A work area serves one call at a time; contents between calls
 * are meaningless. */
#define VALIDATE_HDR_TOKS 64   /* JSON values of a header */
#define VALIDATE_PAY_TOKS 512  /* JSON values of a payload */
#define VALIDATE_WRAP_TOKS 256 /* JSON values of a document a token is wrapped in */
struct validate_work {
	uint8_t buf[B64URL_DECODED_MAX(TOKEN_MAX_LEN)];
	struct json_tok ht[VALIDATE_HDR_TOKS];
	struct json_tok pt[VALIDATE_PAY_TOKS];
	struct json_tok wt[VALIDATE_WRAP_TOKS];
	char inner[TOKEN_MAX_LEN];
};
/* validate() with the caller's work area (borrowed, not NULL). */
int validate_ex(const char *tok, size_t len, int64_t now, const struct vconfig *cfg, struct diag *out,
		struct validate_work *work);

#endif
