/* libFuzzer target over the token validator and the JSON parser.
 * Byte 0 picks the configuration (product, keyring, account, host region);
 * the rest is the token. Checks the diagnosis' invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/json.h"
#include "decode/validate.h"
#include "decode/wire_int.h"
#include "tests/unit/token_peek.h"

#define KEY "SKfedcba9876543210fedcba9876543210"
#define SECRET "tokshimFakeTestSecret0000000000x"

static struct keyring *kr;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!kr) {
		kr = keyring_new();
		keyring_add(kr, KEY, SECRET, strlen(SECRET), NULL);
		keyring_add(kr, NULL, "default-secret", 14, NULL);
	}
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	const char *tok = (const char *)data + 1;
	size_t len = size - 1;
	struct vconfig cfg;
	vconfig_init(&cfg);
	cfg.product = (enum product)(sel % 5);
	cfg.keys = sel & 8 ? kr : NULL;
	cfg.account_sid = sel & 16 ? "AC0123456789abcdef0123456789abcdef" : NULL;
	cfg.host_region = sel & 32 ? "ie1" : NULL;
	cfg.skew = sel & 64 ? 0 : 30;
	static struct diag d;
	int rc = validate(tok, len, 1795377660, &cfg, &d);
	if (rc != 0 && rc != 1)
		abort();
	if (d.ncauses > DIAG_MAX_CAUSES || (rc == 0) != (d.accept == 1))
		abort();
	for (size_t i = 0; i < d.ncauses; i++) {
		if (d.accept && d.causes[i].severity == SEV_ERROR)
			abort();
		if (!memchr(d.causes[i].text, 0, sizeof d.causes[i].text) || !d.causes[i].text[0])
			abort();
		if (strstr(d.causes[i].text, SECRET))
			abort();
	}
	struct token_summary s;
	tv_peek(tok, len, &s);
	wire_jwt_is_twilio(tok, len);
	struct json_tok toks[128];
	struct json_doc doc;
	if (json_parse(&doc, tok, len, toks, 128) == JSON_OK) {
		char buf[64];
		for (unsigned i = 0; i < doc.ntoks; i++) {
			int64_t v;
			json_str_copy(&doc, (int)i, buf, sizeof buf);
			json_get_int64(&doc, (int)i, &v);
			json_obj_dup(&doc, (int)i);
			json_obj_get(&doc, (int)i, "token");
		}
	}
	return 0;
}
