/* For the tests: a token's summary straight from the validator's parser
 * (decode/token.c), without judging it. 0 when the header and payload
 * decode and parse; out is cleared first, its fingerprint always set for a
 * token within TOKEN_MAX_LEN. work: NULL for a fresh one. */
#ifndef TOKSHIM_TEST_TOKEN_PEEK_H
#define TOKSHIM_TEST_TOKEN_PEEK_H

#include <stdlib.h>
#include <string.h>

#include "decode/validate_int.h"

static inline int tv_peek_in(const char *tok, size_t len, struct token_summary *out, struct validate_work *work)
{
	struct parsed x;
	char why[DIAG_TEXT_MAX];
	memset(out, 0, sizeof *out);
	if (!tok || len > TOKEN_MAX_LEN)
		return -1;
	struct validate_work *w = work ? work : malloc(sizeof *w);
	if (!w)
		return -1;
	parsed_init(&x, w);
	token_fingerprint(tok, len, out->fingerprint);
	int r = token_parse(&x, tok, len, why, sizeof why) < 0 ? -1 : 0;
	if (!r)
		token_summarize(&x, out);
	if (!work)
		free(w);
	return r;
}

static inline int tv_peek(const char *tok, size_t len, struct token_summary *out)
{
	return tv_peek_in(tok, len, out, NULL);
}

#endif
