/* The token validator's entry: validate() and validate_ex() parse the
 * token (decode/token.c), or peel a wrapped one (decode/unwrap.c), and judge
 * it (decode/rules.c). Pure: no globals, no I/O, no clock; no allocation on
 * its path (the JSON parser fills the fixed arrays of a struct
 * validate_work: the caller's, or one on the stack for validate(); HMAC
 * states are copied structs). */
#include <stdio.h>
#include <string.h>

#include "decode/product.h"
#include "decode/validate_int.h"
#include "decode/cold.h"

TK_COLD void vconfig_init(struct vconfig *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->skew = 30;
	cfg->product = PRODUCT_UNKNOWN;
	cfg->host_product = PRODUCT_UNKNOWN;
	cfg->channel = CHANNEL_UNKNOWN;
	cfg->choose_product = 0;
}

static const char *const malformed_fix =
	"pass the token string exactly as the helper library's toJwt() returned it (three base64url parts)";

/* x: the caller's, free to reuse (the bare parse failed); w: its work area. */
static __attribute__((noinline)) int validate_wrapped(const char *tok, size_t len, int64_t now,
						       const struct vconfig *cfg, struct diag *out,
						       const char *why, struct parsed *x,
						       struct validate_work *w)
{
	char *buf = w->inner;
	size_t n = 0;
	enum wrap order[WRAP_MAX_LAYERS];
	int found = unwrap_find(tok, len, buf, &n, order, w->wt);
	char why2[DIAG_TEXT_MAX];
	if (!found || token_parse(x, buf, n, why2, sizeof why2) < 0) {
		if (found)
			diag_add(out, CAUSE_MALFORMED, malformed_fix, "not a token: a wrapped token was found, but %s",
				 why2);
		else if (len && (tok[0] == '{' || tok[0] == '['))
			diag_add(out, CAUSE_MALFORMED, malformed_fix, "not a token: a JSON document with no token inside");
		else
			diag_add(out, CAUSE_MALFORMED, malformed_fix, "not a token: %s", why);
		token_fingerprint(tok, len, out->token.fingerprint);
		diag_finish(out);
		return 1;
	}
	unwrap_report(out, order, found);
	rules_judge(x, now, cfg, out, 1);
	diag_finish(out);
	return out->accept ? 0 : 1;
}

int validate(const char *tok, size_t len, int64_t now, const struct vconfig *cfg, struct diag *out)
{
	struct validate_work w;
	return validate_ex(tok, len, now, cfg, out, &w);
}

int validate_ex(const char *tok, size_t len, int64_t now, const struct vconfig *cfg, struct diag *out,
		struct validate_work *work)
{
	struct vconfig defcfg;
	if (!cfg) {
		vconfig_init(&defcfg);
		cfg = &defcfg;
	}
	diag_init(out, now);
	out->product = rules_product(cfg, PRODUCT_GRANTS_UNREAD, 0, NULL);
	if (!tok)
		len = 0;
	if (len > TOKEN_MAX_LEN) {
		diag_add(out, CAUSE_MALFORMED, "pass a single access token; Twilio tokens are well under 16 KiB",
			 "not a token: %zu bytes, over the %d-byte limit", len, TOKEN_MAX_LEN);
		diag_finish(out);
		return 1;
	}
	struct parsed x;
	char why[DIAG_TEXT_MAX];
	parsed_init(&x, work);
	if (token_parse(&x, tok, len, why, sizeof why) < 0) {
		if (len && !token_charset_ok(tok, len))
			return validate_wrapped(tok, len, now, cfg, out, why, &x, work);
		diag_add(out, CAUSE_MALFORMED, malformed_fix, "not a token: %s", why);
		if (len)
			token_fingerprint(tok, len, out->token.fingerprint);
		diag_finish(out);
		return 1;
	}
	rules_judge(&x, now, cfg, out, 0);
	diag_finish(out);
	return out->accept ? 0 : 1;
}
