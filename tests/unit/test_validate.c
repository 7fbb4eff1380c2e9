/* The validator, cause by cause, with a fixed clock and tokens signed here
 * (HMAC with OpenSSL's one-shot HMAC(), independent of decode/keyring.c). */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/b64url.h"
#include "decode/keyring.h"
#include "decode/validate.h"
#include "decode/wire_int.h"
#include "tests/unit/token_peek.h"

#define T0 1795377600 /* 2026-11-22T20:00:00Z */
#define T0S "1795377600"
#define EXPS "1795381200" /* T0 + 3600 */
#define NOW (T0 + 60)
#define ACC "AC0123456789abcdef0123456789abcdef"
#define ACC2 "AC99999999999999999999999999999999"
#define KEY "SKfedcba9876543210fedcba9876543210"
#define KEY2 "SK00000000000000000000000000000002"
#define SECRET "tokshimFakeTestSecret0000000000x"
#define WRONG "anotherFakeSecret000000000000000"
#define IS1 "IS11111111111111111111111111111111"
#define MG1 "MG33333333333333333333333333333333"
#define AP1 "AP44444444444444444444444444444444"
#define CR1 "CR55555555555555555555555555555555"

#define H256 "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"cty\":\"twilio-fpa;v=1\"}"
#define HEAD(alg) "{\"alg\":\"" alg "\",\"typ\":\"JWT\",\"cty\":\"twilio-fpa;v=1\"}"
/* payload: standard claims (iat T0, exp T0+3600) + extra claims + grants */
#define PAY(extra, grants)                                                                                \
	"{\"jti\":\"" KEY "-" T0S "\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"iat\":" T0S ",\"exp\":" EXPS \
	extra ",\"grants\":{\"identity\":\"alice\"" grants "}}"
#define CHAT ",\"chat\":{\"service_sid\":\"" IS1 "\"}"
#define VOICE ",\"voice\":{\"incoming\":{\"allow\":true},\"outgoing\":{\"application_sid\":\"" AP1 "\"}}"

enum { SEC_NONE, SEC_RIGHT, SEC_WRONG, SEC_DEFAULT, SEC_WRONG_DEFAULT };

/* Signs header.payload (JSON texts, kept byte for byte) with secret. */
static size_t sign(const char *header, const char *payload, const char *alg, const char *secret, char *out,
		   size_t cap)
{
	size_t o = b64url_encode((const uint8_t *)header, strlen(header), out, cap);
	out[o++] = '.';
	o += b64url_encode((const uint8_t *)payload, strlen(payload), out + o, cap - o);
	const EVP_MD *md = !strcmp(alg, "HS384") ? EVP_sha384() : !strcmp(alg, "HS512") ? EVP_sha512() : EVP_sha256();
	uint8_t mac[64];
	unsigned ml = 0;
	HMAC(md, secret, (int)strlen(secret), (const uint8_t *)out, o, mac, &ml);
	out[o++] = '.';
	o += b64url_encode(mac, ml, out + o, cap - o);
	out[o] = 0;
	return o;
}

struct vcase {
	const char *name;
	const char *header;
	const char *payload;
	const char *alg;       /* signing algorithm; NULL: HS256 */
	int secret;            /* SEC_*: what the validator's keyring holds */
	enum product product;
	int64_t now;           /* 0: NOW */
	const char *account;
	const char *host_region;
	int accept;
	enum cause_id causes[12];
	int ncauses;
	const char *text; /* NULL or a substring of the first cause's text */
};

#define C(...) {__VA_ARGS__}, sizeof((enum cause_id[]){__VA_ARGS__}) / sizeof(enum cause_id)
#define NONE {0}, 0

static const struct vcase cases[] = {
	{"baseline", H256, PAY("", CHAT), NULL, SEC_RIGHT, PRODUCT_CONVERSATIONS, 0, NULL, NULL, 1, NONE, NULL},
	{"header_keys_any_order", "{\"cty\":\"twilio-fpa;v=1\",\"typ\":\"JWT\",\"alg\":\"HS256\"}", PAY("", CHAT),
	 NULL, SEC_RIGHT, PRODUCT_CONVERSATIONS, 0, NULL, NULL, 1, NONE, NULL},
	{"default_secret", H256, PAY("", CHAT), NULL, SEC_DEFAULT, PRODUCT_UNKNOWN, 0, NULL, NULL, 1, NONE, NULL},
	{"alg_none", "{\"alg\":\"none\",\"typ\":\"JWT\",\"cty\":\"twilio-fpa;v=1\"}", PAY("", CHAT), NULL,
	 SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_ALG), "'alg' is 'none'"},
	{"alg_rs256", HEAD("RS256"), PAY("", CHAT), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0,
	 C(CAUSE_ALG), "'RS256'"},
	{"alg_missing", "{\"typ\":\"JWT\",\"cty\":\"twilio-fpa;v=1\"}", PAY("", CHAT), NULL, SEC_RIGHT,
	 PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_ALG), "no 'alg'"},
	{"alg_not_string", "{\"alg\":256,\"cty\":\"twilio-fpa;v=1\"}", PAY("", CHAT), NULL, SEC_RIGHT,
	 PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_ALG), "a number"},
	{"alg_hs384", HEAD("HS384"), PAY("", CHAT), "HS384", SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 1,
	 C(CAUSE_ALG_NONSTANDARD), "HS384"},
	{"alg_hs512_wrong_secret", HEAD("HS512"), PAY("", CHAT), "HS512", SEC_WRONG, PRODUCT_UNKNOWN, 0, NULL,
	 NULL, 0, C(CAUSE_ALG_NONSTANDARD, CAUSE_SIGNATURE), NULL},
	{"cty_missing", "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", PAY("", CHAT), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0,
	 NULL, NULL, 0, C(CAUSE_HEADER_CTY), "no 'cty'"},
	{"cty_wrong", "{\"alg\":\"HS256\",\"cty\":\"JWT\"}", PAY("", CHAT), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0,
	 NULL, NULL, 0, C(CAUSE_HEADER_CTY), "'JWT'"},
	{"signature_wrong_secret", H256, PAY("", CHAT), NULL, SEC_WRONG, PRODUCT_UNKNOWN, 0, NULL, NULL, 0,
	 C(CAUSE_SIGNATURE), "Account Auth Token instead of the API Key Secret"},
	{"signature_signed_384_claims_256", H256, PAY("", CHAT), "HS384", SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL,
	 NULL, 0, C(CAUSE_SIGNATURE), "48 bytes"},
	{"signature_unchecked", H256, PAY("", CHAT), NULL, SEC_NONE, PRODUCT_UNKNOWN, 0, NULL, NULL, 1,
	 C(CAUSE_SIGNATURE_UNCHECKED), "no secret for key 'SKfedc...'"},
	{"expired_issue_example", H256, PAY("", CHAT), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, T0 + 3600 + 5520, NULL,
	 NULL, 0, C(CAUSE_EXPIRED), "expired 1h32m ago at 2026-11-22T21:00:00Z"},
	{"expired_beyond_skew", H256, PAY("", CHAT), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, T0 + 3600 + 31, NULL,
	 NULL, 0, C(CAUSE_EXPIRED), "expired 31s ago"},
	{"expired_within_skew", H256, PAY("", CHAT), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, T0 + 3600 + 30, NULL,
	 NULL, 1, C(CAUSE_EXPIRING_SOON), "within the 30s"},
	{"expiring_soon", H256, PAY("", CHAT), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, T0 + 3600 - 179, NULL, NULL, 1,
	 C(CAUSE_EXPIRING_SOON), "expires in 2m59s at 2026-11-22T21:00:00Z"},
	{"not_expiring_soon_at_3m", H256, PAY("", CHAT), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, T0 + 3600 - 180, NULL,
	 NULL, 1, NONE, NULL},
	{"not_yet_valid", H256, PAY(",\"nbf\":1795381000", CHAT), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL,
	 NULL, 0, C(CAUSE_NOT_YET_VALID), "not valid until 2026-11-22T20:56:40Z"},
	{"nbf_within_skew", H256, PAY(",\"nbf\":1795377690", CHAT), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL,
	 NULL, 1, NONE, NULL},
	{"clock_skew_iat_future", H256, PAY("", CHAT), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, T0 - 3000, NULL, NULL, 1,
	 C(CAUSE_CLOCK_SKEW), "'iat' is 50m0s in this device's future"},
	{"clock_skew_with_not_yet_valid",
	 H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"nbf\":" T0S ",\"exp\":" EXPS
	 ",\"grants\":{\"identity\":\"alice\"}}",
	 NULL, SEC_RIGHT, PRODUCT_UNKNOWN, T0 - 600, NULL, NULL, 0, C(CAUSE_NOT_YET_VALID, CAUSE_CLOCK_SKEW), NULL},
	{"ttl_too_long_from_iat", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"iat\":" T0S ",\"exp\":1795464001"
	 ",\"grants\":{\"identity\":\"alice\"}}",
	 NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_TTL_TOO_LONG), "86401s"},
	{"ttl_too_long_from_nbf", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"iat\":1795377000,\"nbf\":" T0S
	 ",\"exp\":1795464001,\"grants\":{\"identity\":\"alice\"}}",
	 NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_TTL_TOO_LONG), "'nbf'"},
	{"ttl_24h_exactly", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"nbf\":" T0S ",\"exp\":1795464000"
	 ",\"grants\":{\"identity\":\"alice\"}}",
	 NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 1, NONE, NULL},
	{"ttl_no_iat_nbf_from_now", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"exp\":1795500000"
	 ",\"grants\":{\"identity\":\"alice\"}}",
	 NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_TTL_TOO_LONG), "now"},
	{"claims_exp_missing", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"grants\":{\"identity\":\"alice\"}}", NULL,
	 SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_CLAIMS), "'exp' is missing"},
	{"claims_exp_fraction", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"exp\":1.7953812005e9,\"grants\":{\"identity\":\"a\"}}",
	 NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_CLAIMS), "'exp' is 1.7953812005e9, not a whole number"},
	/* whole numbers written with a fraction or an exponent are whole numbers */
	{"exp_whole_with_fraction", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"iat\":" T0S ".0,\"exp\":" EXPS
	 ".0,\"grants\":{\"identity\":\"a\"}}",
	 NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 1, NONE, NULL},
	{"exp_whole_with_exponent", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"iat\":1.7953776e9,\"exp\":1.7953812e9"
	 ",\"grants\":{\"identity\":\"a\"}}",
	 NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 1, NONE, NULL},
	/* a helper-made Voice token with nested outgoing.params (20 levels) */
	{"voice_params_nested_deep", H256,
	 PAY("", ",\"voice\":{\"outgoing\":{\"application_sid\":\"" AP1 "\",\"params\":"
	     "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":1"
	     "}}}}}}}}}}}}}}}}}}"),
	 NULL, SEC_RIGHT, PRODUCT_VOICE, 0, NULL, NULL, 1, NONE, NULL},
	{"claims_exp_string", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"exp\":\"" EXPS
	 "\",\"grants\":{\"identity\":\"a\"}}",
	 NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_CLAIMS), "'exp' is a string, not a number"},
	{"claims_exp_huge", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC
	 "\",\"exp\":99999999999999999999999,\"grants\":{\"identity\":\"a\"}}",
	 NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_CLAIMS), "out of range"},
	{"exp_int64_max", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"iat\":-9223372036854775808"
	 ",\"exp\":9223372036854775807,\"grants\":{\"identity\":\"a\"}}",
	 NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_TTL_TOO_LONG), NULL},
	{"claims_iat_float_and_jti_missing", H256,
	 "{\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"iat\":1795377600.5,\"exp\":" EXPS
	 ",\"grants\":{\"identity\":\"a\"}}",
	 NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_CLAIMS), "'iat' is 1795377600.5"},
	{"issuer_empty", H256,
	 "{\"jti\":\"-1795377600\",\"iss\":\"\",\"sub\":\"" ACC "\",\"exp\":" EXPS ",\"grants\":{\"identity\":\"a\"}}",
	 NULL, SEC_DEFAULT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_ISSUER), "unset server configuration"},
	{"issuer_missing", H256,
	 "{\"jti\":\"x-1\",\"sub\":\"" ACC "\",\"exp\":" EXPS ",\"grants\":{\"identity\":\"a\"}}", NULL, SEC_NONE,
	 PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_ISSUER, CAUSE_SIGNATURE_UNCHECKED), NULL},
	{"issuer_account_sid", H256,
	 "{\"jti\":\"" ACC "-1\",\"iss\":\"" ACC "\",\"sub\":\"" ACC "\",\"exp\":" EXPS
	 ",\"grants\":{\"identity\":\"a\"}}",
	 NULL, SEC_DEFAULT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_ISSUER), "an Account SID"},
	{"issuer_jti_mismatch", H256,
	 "{\"jti\":\"" KEY2 "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"exp\":" EXPS
	 ",\"grants\":{\"identity\":\"a\"}}",
	 NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_ISSUER), "does not start with 'iss'"},
	{"subject_key_sid", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" KEY "\",\"exp\":" EXPS
	 ",\"grants\":{\"identity\":\"a\"}}",
	 NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_SUBJECT), "an API Key SID, not an Account SID"},
	{"subject_short", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"AC123\",\"exp\":" EXPS ",\"grants\":{\"identity\":\"a\"}}",
	 NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_SUBJECT), "not 34 characters"},
	{"account_mismatch", H256, PAY("", CHAT), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, ACC2, NULL, 0,
	 C(CAUSE_ACCOUNT_MISMATCH), ACC2},
	{"account_match", H256, PAY("", CHAT), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, ACC, NULL, 1, NONE, NULL},
	{"grants_missing", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"exp\":" EXPS "}", NULL, SEC_RIGHT,
	 PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_GRANTS_MISSING), "no 'grants'"},
	{"grants_array", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"exp\":" EXPS ",\"grants\":[]}", NULL,
	 SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_GRANTS_MISSING), "an array"},
	{"identity_missing", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"exp\":" EXPS ",\"grants\":{\"chat\":{"
	 "\"service_sid\":\"" IS1 "\"}}}",
	 NULL, SEC_RIGHT, PRODUCT_CONVERSATIONS, 0, NULL, NULL, 0, C(CAUSE_IDENTITY_MISSING), NULL},
	{"identity_empty", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"exp\":" EXPS ",\"grants\":{\"identity\":\"\"}}",
	 NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_IDENTITY_MISSING), "empty"},
	{"identity_invalid_voice", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"exp\":" EXPS
	 ",\"grants\":{\"identity\":\"al-ice\"" VOICE "}}",
	 NULL, SEC_RIGHT, PRODUCT_VOICE, 0, NULL, NULL, 0, C(CAUSE_IDENTITY_INVALID), "'-' at position 2"},
	{"identity_nul_voice", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"exp\":" EXPS
	 ",\"grants\":{\"identity\":\"al\\u0000ice\"" VOICE "}}",
	 NULL, SEC_RIGHT, PRODUCT_VOICE, 0, NULL, NULL, 0, C(CAUSE_IDENTITY_INVALID), NULL},
	/* a NUL never cuts a claim short: the whole string is judged, and shown escaped */
	{"identity_nul_chat", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"exp\":" EXPS
	 ",\"grants\":{\"identity\":\"alice\\u0000bob\"" CHAT "}}",
	 NULL, SEC_RIGHT, PRODUCT_CONVERSATIONS, 0, NULL, NULL, 0, C(CAUSE_IDENTITY_INVALID),
	 "identity 'alice\\u0000bob' holds a NUL character (\\u0000) at position 5"},
	{"iss_nul_evil", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\\u0000evil\",\"sub\":\"" ACC "\",\"exp\":" EXPS
	 ",\"grants\":{\"identity\":\"alice\"" CHAT "}}",
	 NULL, SEC_RIGHT, PRODUCT_CONVERSATIONS, 0, NULL, NULL, 0, C(CAUSE_ISSUER, CAUSE_SIGNATURE_UNCHECKED),
	 "'iss' is '" KEY "\\u000"},
	{"sub_nul", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\\u0000\",\"exp\":" EXPS
	 ",\"grants\":{\"identity\":\"alice\"" CHAT "}}",
	 NULL, SEC_RIGHT, PRODUCT_CONVERSATIONS, 0, NULL, NULL, 0, C(CAUSE_SUBJECT), NULL},
	{"service_sid_nul", H256,
	 PAY("", ",\"chat\":{\"service_sid\":\"" IS1 "\\u0000x\"}"),
	 NULL, SEC_RIGHT, PRODUCT_CONVERSATIONS, 0, NULL, NULL, 0, C(CAUSE_GRANT_FIELD_INVALID), "\\u0000"},
	/* null optional grant fields are absent, not invalid */
	{"video_room_null", H256, PAY("", ",\"video\":{\"room\":null}"), NULL, SEC_RIGHT, PRODUCT_VIDEO, 0, NULL,
	 NULL, 1, NONE, NULL},
	{"voice_null_optionals", H256,
	 PAY("", ",\"voice\":{\"push_credential_sid\":null,\"incoming\":{\"allow\":null},\"outgoing\":{"
	     "\"application_sid\":\"" AP1 "\",\"params\":null}}"),
	 NULL, SEC_RIGHT, PRODUCT_VOICE, 0, NULL, NULL, 1, NONE, NULL},
	{"chat_null_optionals", H256,
	 PAY("", ",\"chat\":{\"service_sid\":\"" IS1 "\",\"push_credential_sid\":null,\"deployment_role_sid\":null}"),
	 NULL, SEC_RIGHT, PRODUCT_CONVERSATIONS, 0, NULL, NULL, 1, NONE, NULL},
	{"chat_service_null_is_missing", H256, PAY("", ",\"chat\":{\"service_sid\":null}"), NULL, SEC_RIGHT,
	 PRODUCT_CONVERSATIONS, 0, NULL, NULL, 0, C(CAUSE_GRANT_FIELD_MISSING), "is null"},
	{"identity_dash_ok_for_chat", H256,
	 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"exp\":" EXPS
	 ",\"grants\":{\"identity\":\"al-ice\"" CHAT "}}",
	 NULL, SEC_RIGHT, PRODUCT_CONVERSATIONS, 0, NULL, NULL, 1, NONE, NULL},
	{"grant_missing_conversations", H256, PAY("", VOICE), NULL, SEC_RIGHT, PRODUCT_CONVERSATIONS, 0, NULL, NULL,
	 0, C(CAUSE_GRANT_MISSING), "the token has voice"},
	{"grant_missing_sync", H256, PAY("", CHAT), NULL, SEC_RIGHT, PRODUCT_SYNC, 0, NULL, NULL, 0,
	 C(CAUSE_GRANT_MISSING), "'data_sync'"},
	{"grant_missing_voice", H256, PAY("", CHAT), NULL, SEC_RIGHT, PRODUCT_VOICE, 0, NULL, NULL, 0,
	 C(CAUSE_GRANT_MISSING), NULL},
	{"grant_missing_video", H256, PAY("", ""), NULL, SEC_RIGHT, PRODUCT_VIDEO, 0, NULL, NULL, 0,
	 C(CAUSE_GRANT_MISSING), "has none"},
	{"auto_demands_nothing", H256, PAY("", ""), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 1, NONE, NULL},
	{"chat_without_service", H256, PAY("", ",\"chat\":{}"), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0,
	 C(CAUSE_GRANT_FIELD_MISSING), "'grants.chat.service_sid' is missing"},
	{"sync_without_service", H256, PAY("", ",\"data_sync\":{\"endpoint_id\":\"e\"}"), NULL, SEC_RIGHT,
	 PRODUCT_SYNC, 0, NULL, NULL, 0, C(CAUSE_GRANT_FIELD_MISSING), "data_sync.service_sid"},
	{"voice_allows_nothing", H256, PAY("", ",\"voice\":{\"incoming\":{\"allow\":false}}"), NULL, SEC_RIGHT,
	 PRODUCT_VOICE, 0, NULL, NULL, 0, C(CAUSE_GRANT_FIELD_MISSING), NULL},
	{"voice_incoming_false_outgoing_ok", H256,
	 PAY("", ",\"voice\":{\"incoming\":{\"allow\":false},\"outgoing\":{\"application_sid\":\"" AP1 "\"}}"), NULL,
	 SEC_RIGHT, PRODUCT_VOICE, 0, NULL, NULL, 1, NONE, NULL},
	{"chat_service_is_mg_auto", H256, PAY("", ",\"chat\":{\"service_sid\":\"" MG1 "\"}"), NULL, SEC_RIGHT,
	 PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_GRANT_FIELD_INVALID), "a Messaging Service SID"},
	{"chat_push_is_ap", H256,
	 PAY("", ",\"chat\":{\"service_sid\":\"" IS1 "\",\"push_credential_sid\":\"" AP1 "\"}"), NULL, SEC_RIGHT,
	 PRODUCT_CONVERSATIONS, 0, NULL, NULL, 0, C(CAUSE_GRANT_FIELD_INVALID), "a TwiML App SID"},
	{"sync_service_is_account", H256, PAY("", ",\"data_sync\":{\"service_sid\":\"" ACC "\"}"), NULL, SEC_RIGHT,
	 PRODUCT_SYNC, 0, NULL, NULL, 0, C(CAUSE_GRANT_FIELD_INVALID), "an Account SID"},
	{"voice_app_is_phone_number", H256,
	 PAY("", ",\"voice\":{\"outgoing\":{\"application_sid\":\"PN12121212121212121212121212121212\"}}"), NULL,
	 SEC_RIGHT, PRODUCT_VOICE, 0, NULL, NULL, 0, C(CAUSE_GRANT_FIELD_INVALID), "a Phone Number SID"},
	{"voice_push_is_sk", H256,
	 PAY("", ",\"voice\":{\"push_credential_sid\":\"" KEY "\",\"incoming\":{\"allow\":true}}"), NULL, SEC_RIGHT,
	 PRODUCT_VOICE, 0, NULL, NULL, 0, C(CAUSE_GRANT_FIELD_INVALID), "an API Key SID"},
	{"chat_service_short", H256, PAY("", ",\"chat\":{\"service_sid\":\"IS123\"}"), NULL, SEC_RIGHT,
	 PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_GRANT_FIELD_INVALID), "not 34 characters"},
	{"chat_service_number", H256, PAY("", ",\"chat\":{\"service_sid\":5}"), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0,
	 NULL, NULL, 0, C(CAUSE_GRANT_FIELD_INVALID), "a number"},
	{"chat_push_credential_cr_ok", H256,
	 PAY("", ",\"chat\":{\"service_sid\":\"" IS1 "\",\"push_credential_sid\":\"" CR1 "\"}"), NULL, SEC_RIGHT,
	 PRODUCT_CONVERSATIONS, 0, NULL, NULL, 1, NONE, NULL},
	{"chat_grant_not_object", H256, PAY("", ",\"chat\":\"" IS1 "\""), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL,
	 NULL, 0, C(CAUSE_GRANT_FIELD_INVALID), "not an object"},
	{"region_video_ie1", "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"cty\":\"twilio-fpa;v=1\",\"twr\":\"ie1\"}",
	 PAY("", ",\"video\":{}"), NULL, SEC_RIGHT, PRODUCT_UNKNOWN, 0, NULL, NULL, 0, C(CAUSE_REGION), "'ie1'"},
	{"region_video_us1", "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"cty\":\"twilio-fpa;v=1\",\"twr\":\"us1\"}",
	 PAY("", ",\"video\":{}"), NULL, SEC_RIGHT, PRODUCT_VIDEO, 0, NULL, NULL, 1, NONE, NULL},
	{"region_host_differs", H256, PAY("", CHAT), NULL, SEC_RIGHT, PRODUCT_CONVERSATIONS, 0, NULL, "ie1", 0,
	 C(CAUSE_REGION), "host's region 'ie1'"},
	{"region_host_same", "{\"alg\":\"HS256\",\"cty\":\"twilio-fpa;v=1\",\"twr\":\"ie1\"}", PAY("", CHAT), NULL,
	 SEC_RIGHT, PRODUCT_CONVERSATIONS, 0, NULL, "ie1", 1, NONE, NULL},
	{"many_causes_at_once", "{\"alg\":\"HS256\"}",
	 "{\"iss\":\"\",\"sub\":\"" MG1 "\",\"exp\":1795300000,\"grants\":{\"chat\":{\"service_sid\":\"" MG1 "\"}}}",
	 NULL, SEC_WRONG, PRODUCT_SYNC, 0, ACC, NULL, 0,
	 C(CAUSE_HEADER_CTY, CAUSE_SIGNATURE_UNCHECKED, CAUSE_CLAIMS, CAUSE_ISSUER, CAUSE_SUBJECT, CAUSE_EXPIRED,
	   CAUSE_IDENTITY_MISSING, CAUSE_GRANT_FIELD_INVALID, CAUSE_GRANT_MISSING),
	 "unset server configuration"},
	{"many_causes_wrong_default_secret", "{\"alg\":\"HS256\"}",
	 "{\"iss\":\"\",\"sub\":\"" MG1 "\",\"exp\":1795300000,\"grants\":{\"chat\":{\"service_sid\":\"" MG1 "\"}}}",
	 NULL, SEC_WRONG_DEFAULT, PRODUCT_SYNC, 0, ACC, NULL, 0,
	 C(CAUSE_HEADER_CTY, CAUSE_SIGNATURE, CAUSE_CLAIMS, CAUSE_ISSUER, CAUSE_SUBJECT, CAUSE_EXPIRED,
	   CAUSE_IDENTITY_MISSING, CAUSE_GRANT_FIELD_INVALID, CAUSE_GRANT_MISSING),
	 "the default secret"},
};

static struct keyring *ring_for(int which)
{
	if (which == SEC_NONE)
		return NULL;
	struct keyring *kr = keyring_new();
	cr_assert_not_null(kr);
	struct tk_error err = {0};
	const char *sid = which == SEC_DEFAULT || which == SEC_WRONG_DEFAULT ? NULL : KEY;
	const char *s = which == SEC_WRONG || which == SEC_WRONG_DEFAULT ? WRONG : SECRET;
	cr_assert_eq(keyring_add(kr, KEY2, WRONG, strlen(WRONG), &err), 0);
	cr_assert_eq(keyring_add(kr, sid, s, strlen(s), &err), 0, "%s", err.msg);
	return kr;
}

static int has_cause(const struct diag *d, enum cause_id id)
{
	return diag_has(d, id);
}

/* The diagnosis must hold exactly the expected cause ids, and never a secret
 * or the token's signature. */
static void check_exact(const char *name, const struct diag *d, const enum cause_id *want, size_t n,
			const char *tok)
{
	for (size_t i = 0; i < n; i++)
		cr_expect(has_cause(d, want[i]), "%s: missing cause %s", name, cause_name(want[i]));
	for (size_t i = 0; i < d->ncauses; i++) {
		int ok = 0;
		for (size_t k = 0; k < n; k++)
			ok |= d->causes[i].id == want[k];
		cr_expect(ok, "%s: unexpected cause %s: %s", name, cause_name(d->causes[i].id), d->causes[i].text);
		cr_expect(!strstr(d->causes[i].text, SECRET) && !strstr(d->causes[i].fix, SECRET) &&
				  !strstr(d->causes[i].text, WRONG),
			  "%s: a secret in the text", name);
		const char *sig = tok ? strrchr(tok, '.') : NULL;
		if (sig && strlen(sig) > 8)
			cr_expect(!strstr(d->causes[i].text, sig + 1), "%s: the signature in the text", name);
		cr_expect(d->causes[i].text[0] != 0, "%s: empty text", name);
		cr_expect(d->causes[i].fix[0] != 0, "%s: empty fix", name);
		cr_expect(!strchr(d->causes[i].text, '\n'), "%s: multi-line text", name);
	}
}

Test(validate, every_cause_table)
{
	static char tok[8192];
	static struct diag d;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct vcase *c = &cases[i];
		const char *secret = SECRET;
		sign(c->header, c->payload, c->alg ? c->alg : "HS256", secret, tok, sizeof tok);
		struct keyring *kr = ring_for(c->secret);
		struct vconfig cfg;
		vconfig_init(&cfg);
		cfg.keys = kr;
		cfg.product = c->product;
		cfg.account_sid = c->account;
		cfg.host_region = c->host_region;
		int rc = validate(tok, strlen(tok), c->now ? c->now : NOW, &cfg, &d);
		cr_expect_eq(rc, c->accept ? 0 : 1, "%s: rc %d", c->name, rc);
		cr_expect_eq(d.accept, c->accept, "%s: verdict", c->name);
		check_exact(c->name, &d, c->causes, (size_t)c->ncauses, tok);
		if (c->text) {
			int found = 0;
			for (size_t k = 0; k < d.ncauses; k++)
				found |= !!strstr(d.causes[k].text, c->text);
			cr_expect(found, "%s: no cause text holds \"%s\" (first: %s)", c->name, c->text,
				  d.ncauses ? d.causes[0].text : "-");
		}
		cr_expect(d.token.parsed, "%s: not parsed", c->name);
		keyring_free(kr);
	}
}

Test(validate, verdict_and_code_follow_the_product)
{
	static char tok[4096];
	static struct diag d;
	struct vconfig cfg;
	vconfig_init(&cfg);
	sign(H256, PAY("", CHAT), "HS256", SECRET, tok, sizeof tok);
	cr_expect_eq(validate(tok, strlen(tok), T0 + 99999, &cfg, &d), 1);
	cr_expect_eq(d.product, PRODUCT_CONVERSATIONS); /* inferred from the grants */
	cr_expect_eq(d.code, 51215);
	cr_expect_eq(d.channel, CHANNEL_UNKNOWN);
	cr_expect_null(d.message);
	cr_expect_eq(d.time, T0 + 99999);
	sign(H256, PAY("", VOICE), "HS256", SECRET, tok, sizeof tok);
	cr_expect_eq(validate(tok, strlen(tok), T0 + 99999, &cfg, &d), 1);
	cr_expect_eq(d.product, PRODUCT_VOICE);
	cr_expect_eq(d.code, 51007);
	sign(H256, PAY("", CHAT VOICE), "HS256", SECRET, tok, sizeof tok);
	cr_expect_eq(validate(tok, strlen(tok), NOW, &cfg, &d), 0);
	cr_expect_eq(d.product, PRODUCT_UNKNOWN);
	cr_expect_eq(d.code, 0);
	cfg.product = PRODUCT_VIDEO;
	cr_expect_eq(validate(tok, strlen(tok), NOW, &cfg, &d), 1);
	cr_expect_eq(d.product, PRODUCT_VIDEO);
	/* NULL configuration: defaults */
	cr_expect_eq(validate(tok, strlen(tok), NOW, NULL, &d), 0);
}

Test(validate, token_summary_filled)
{
	static char tok[4096];
	static struct diag d;
	const char *payload = "{\"jti\":\"" KEY "-" T0S "\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"iat\":" T0S
			      ",\"nbf\":1795377000,\"exp\":" EXPS ",\"grants\":{\"identity\":\"caf\\u00e9\"" CHAT
			      ",\"data_sync\":{\"service_sid\":\"IS22222222222222222222222222222222\"}" VOICE
			      ",\"video\":{},\"task_router\":{},\"player\":{},\"rtc\":{},\"ip_messaging\":{\"service_sid\":\"" IS1
			      "\"},\"unknown_grant\":{}}}";
	sign("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"cty\":\"twilio-fpa;v=1\",\"twr\":\"au1\"}", payload, "HS256",
	     SECRET, tok, sizeof tok);
	struct vconfig cfg;
	vconfig_init(&cfg);
	validate(tok, strlen(tok), NOW, &cfg, &d);
	const struct token_summary *s = &d.token;
	cr_expect_eq(s->parsed, 1);
	cr_expect_str_eq(s->alg, "HS256");
	cr_expect_str_eq(s->region, "au1");
	cr_expect_str_eq(s->jti, KEY "-" T0S);
	cr_expect_str_eq(s->iss, KEY);
	cr_expect_str_eq(s->sub, ACC);
	cr_expect_str_eq(s->identity, "caf\xc3\xa9");
	cr_expect(s->has_iat && s->has_nbf && s->has_exp);
	cr_expect_eq(s->iat, T0);
	cr_expect_eq(s->nbf, 1795377000);
	cr_expect_eq(s->exp, T0 + 3600);
	cr_expect_eq(s->grants, GRANT_MASK(CHAT) | GRANT_MASK(DATA_SYNC) | GRANT_MASK(VOICE) | GRANT_MASK(VIDEO) |
					GRANT_MASK(TASK_ROUTER) | GRANT_MASK(PLAYER) | GRANT_MASK(IP_MESSAGING) |
					GRANT_MASK(RTC));
	cr_expect_str_eq(s->chat_service_sid, IS1);
	cr_expect_str_eq(s->sync_service_sid, "IS22222222222222222222222222222222");
	/* fingerprint: sha256 of the token bytes, 16 hex */
	uint8_t md[32];
	SHA256((const uint8_t *)tok, strlen(tok), md);
	char want[24] = "sha256:";
	for (int i = 0; i < 8; i++)
		sprintf(want + 7 + 2 * i, "%02x", md[i]);
	cr_expect_str_eq(s->fingerprint, want);

	struct token_summary peek;
	cr_expect_eq(tv_peek(tok, strlen(tok), &peek), 0);
	cr_expect_eq(memcmp(&peek, s, sizeof peek), 0, "token_summarize and validate disagree");
	cr_expect(wire_jwt_is_twilio(tok, strlen(tok)));
	cr_expect_eq(tv_peek("abc", 3, &peek), -1);
	cr_expect_eq(peek.parsed, 0);
}

/* The one "is this a Twilio token" check (the wire decoder's). */
Test(validate, token_is_twilio_needs_the_cty)
{
	static char tok[4096];
	sign("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", PAY("", CHAT), "HS256", SECRET, tok, sizeof tok);
	cr_expect(!wire_jwt_is_twilio(tok, strlen(tok)));
	sign(H256, PAY("", CHAT), "HS256", SECRET, tok, sizeof tok);
	cr_expect(wire_jwt_is_twilio(tok, strlen(tok)));
	cr_expect(!wire_jwt_is_twilio(tok, strlen(tok) - 1 - strlen(strrchr(tok, '.'))));
	cr_expect(!wire_jwt_is_twilio("eyJhbGciOi", 10));
	cr_expect(!wire_jwt_is_twilio(NULL, 0));
	cr_expect(!wire_jwt_is_twilio("hello world and more", 20));
}

/* inputs that are not tokens at all */
static const struct {
	const char *name;
	const char *input;
	const char *text;
} malformed[] = {
	{"empty", "", "empty token"},
	{"word", "hello", "1 segments"},
	{"two_segments", "eyJhbGciOiJIUzI1NiJ9.eyJ9", "2 segments"},
	{"four_segments", "a.b.c.d", "4 segments"},
	{"empty_header", ".eyJ9.sig", "header segment is empty"},
	{"empty_payload", "eyJ9..sig", "payload segment is empty"},
	{"bad_base64_length", "eyJhb.eyJ9.abc", "header is not valid base64url"},
	{"header_not_json", "aGVsbG8.eyJ9.abc", "header is not JSON"},
	{"header_array", "W10.e30.abc", "header is an array"},
	{"payload_string", "e30.ImEi.abc", "payload is a string"},
	{"signature_padding_bits", "e30.e30.abd", "signature is not valid base64url"},
	{"plus_slash", "e30.e30.ab+/", "'+' at offset 10"},
	{"json_without_token", "{\"identity\":\"alice\",\"error\":\"no token\"}", "JSON document with no token"},
	{"binary", "\x01\x02\x03", "byte 0x01 at offset 0"},
	{"wrapped_but_broken", "{\"token\":\"eyJhbGciOi.e30.abc\"}", "a wrapped token was found, but the header is not"},
};

Test(validate, malformed_inputs)
{
	static struct diag d;
	struct vconfig cfg;
	vconfig_init(&cfg);
	for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
		const char *in = malformed[i].input;
		cr_expect_eq(validate(in, strlen(in), NOW, &cfg, &d), 1, "%s", malformed[i].name);
		cr_expect_eq(d.ncauses, 1, "%s: %zu causes", malformed[i].name, d.ncauses);
		cr_expect_eq(d.causes[0].id, CAUSE_MALFORMED, "%s: %s", malformed[i].name, cause_name(d.causes[0].id));
		cr_expect(strstr(d.causes[0].text, malformed[i].text), "%s: text \"%s\"", malformed[i].name,
			  d.causes[0].text);
		cr_expect_eq(d.causes[0].twilio_code, 20101);
		cr_expect_eq(d.token.parsed, 0);
		cr_expect_eq(d.accept, 0);
	}
}

Test(validate, duplicate_keys_are_malformed)
{
	static const struct {
		const char *header, *payload, *key;
	} dups[] = {
		{"{\"alg\":\"HS256\",\"cty\":\"twilio-fpa;v=1\",\"alg\":\"none\"}", PAY("", CHAT), "'alg'"},
		{H256,
		 "{\"jti\":\"" KEY "-1\",\"iss\":\"" KEY "\",\"sub\":\"" ACC "\",\"exp\":" EXPS ",\"exp\":9999999999"
		 ",\"grants\":{\"identity\":\"a\"}}",
		 "'exp'"},
		{H256, PAY("", ",\"identity\":\"mallory\""), "'grants' has the key 'identity'"},
		{H256, PAY("", ",\"chat\":{\"service_sid\":\"" IS1 "\",\"service_sid\":\"" MG1 "\"}"),
		 "'grants.chat' has the key 'service_sid'"},
		{H256, PAY("", ",\"voice\":{\"outgoing\":{\"application_sid\":\"" AP1 "\",\"application_sid\":\"x\"}}"),
		 "'grants.voice.outgoing'"},
		{H256, PAY("", ",\"voice\":{\"incoming\":{\"allow\":false,\"\\u0061llow\":true}}"), "'allow'"},
	};
	static char tok[4096];
	static struct diag d;
	struct vconfig cfg;
	vconfig_init(&cfg);
	for (size_t i = 0; i < sizeof dups / sizeof *dups; i++) {
		sign(dups[i].header, dups[i].payload, "HS256", SECRET, tok, sizeof tok);
		cr_expect_eq(validate(tok, strlen(tok), NOW, &cfg, &d), 1, "case %zu", i);
		cr_expect_eq(d.ncauses, 1, "case %zu", i);
		cr_expect_eq(d.causes[0].id, CAUSE_MALFORMED, "case %zu", i);
		cr_expect(strstr(d.causes[0].text, dups[i].key), "case %zu: %s", i, d.causes[0].text);
	}
	/* a duplicate inside voice params, which nothing reads, is not judged */
	sign(H256, PAY("", ",\"voice\":{\"outgoing\":{\"application_sid\":\"" AP1 "\",\"params\":{\"a\":1,\"a\":2}}}"),
	     "HS256", SECRET, tok, sizeof tok);
	cr_expect_eq(validate(tok, strlen(tok), NOW, &cfg, &d), 0, "%s", d.ncauses ? d.causes[0].text : "");
}

Test(validate, size_limit_and_hostile_shapes)
{
	static char big[TOKEN_MAX_LEN + 2];
	static struct diag d;
	struct vconfig cfg;
	vconfig_init(&cfg);
	memset(big, 'A', sizeof big);
	cr_expect_eq(validate(big, TOKEN_MAX_LEN + 1, NOW, &cfg, &d), 1);
	cr_expect_eq(d.causes[0].id, CAUSE_MALFORMED);
	cr_expect(strstr(d.causes[0].text, "16384"), "%s", d.causes[0].text);
	/* exactly at the limit: judged (here: one segment) */
	cr_expect_eq(validate(big, TOKEN_MAX_LEN, NOW, &cfg, &d), 1);
	cr_expect(strstr(d.causes[0].text, "segments"), "%s", d.causes[0].text);
	/* a header nested 70 deep (more than JSON_MAX_DEPTH) */
	char h[256] = "", p[1024];
	for (int i = 0; i < 70; i++)
		strcat(h, "[");
	for (int i = 0; i < 70; i++)
		strcat(h, "]");
	static char tok[8192];
	sign(h, PAY("", CHAT), "HS256", SECRET, tok, sizeof tok);
	cr_expect_eq(validate(tok, strlen(tok), NOW, &cfg, &d), 1);
	cr_expect(strstr(d.causes[0].text, "nested"), "%s", d.causes[0].text);
	/* a payload of too many values */
	strcpy(p, "{\"a\":[");
	for (int i = 0; i < 300; i++)
		strcat(p, "1,");
	strcat(p, "1]}");
	char p2[4096];
	snprintf(p2, sizeof p2, "{\"x\":%s,\"y\":%s}", p, p);
	sign(H256, p2, "HS256", SECRET, tok, sizeof tok);
	cr_expect_eq(validate(tok, strlen(tok), NOW, &cfg, &d), 1);
	cr_expect(strstr(d.causes[0].text, "too many values"), "%s", d.causes[0].text);
	/* NULL token */
	cr_expect_eq(validate(NULL, 5, NOW, &cfg, &d), 1);
}

/* Mutations and truncations of a real token: never a crash, always a verdict. */
Test(validate, mutations_never_crash)
{
	static char tok[4096], m[4096];
	static struct diag d;
	struct keyring *kr = ring_for(SEC_RIGHT);
	struct vconfig cfg;
	vconfig_init(&cfg);
	cfg.keys = kr;
	size_t n = sign(H256, PAY(",\"nbf\":" T0S, CHAT VOICE), "HS256", SECRET, tok, sizeof tok);
	for (size_t i = 0; i <= n; i++) {
		int rc = validate(tok, i, NOW, &cfg, &d);
		cr_assert(rc == 0 || rc == 1);
		if (i < n)
			cr_expect_eq(rc, 1, "prefix %zu accepted", i);
	}
	static const char alphabet[] = "AZaz09-_.=+/% \"{}\n\x80\xff";
	uint32_t seed = 12345;
	for (int round = 0; round < 3000; round++) {
		memcpy(m, tok, n + 1);
		int edits = 1 + round % 4;
		for (int e = 0; e < edits; e++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % n;
			seed = seed * 1103515245u + 12345u;
			m[at] = alphabet[(seed >> 8) % (sizeof alphabet - 1)];
		}
		int rc = validate(m, n, NOW, &cfg, &d);
		cr_assert(rc == 0 || rc == 1);
		cr_assert_leq(d.ncauses, (size_t)DIAG_MAX_CAUSES);
		if (rc == 0)
			cr_assert(!memcmp(m, tok, n) || d.ncauses == 0 || d.causes[0].severity != SEV_ERROR);
	}
	keyring_free(kr);
}

/* wrapped tokens: the wrapping named, the inner token still judged */
Test(validate, wrong_format_wrappings)
{
	static char tok[4096], in[8192];
	static struct diag d;
	struct keyring *kr = ring_for(SEC_RIGHT);
	struct vconfig cfg;
	vconfig_init(&cfg);
	cfg.keys = kr;
	sign(H256, PAY("", CHAT), "HS256", SECRET, tok, sizeof tok);
	static const struct {
		const char *fmt; /* %s: the token */
		const char *text;
	} w[] = {
		{"{\"identity\":\"alice\",\"token\":\"%s\"}", "whole JSON response"},
		{"{\"data\":{\"jwt\":\"%s\",\"ttl\":3600}}", "whole JSON response"},
		{"\"%s\"", "quotes"},
		{"'%s'", "quotes"},
		{"Bearer %s", "'Bearer ' prefix"},
		{"bearer   %s", "'Bearer ' prefix"},
		{" %s", "leading or trailing whitespace"},
		{"%s\n", "leading or trailing whitespace"},
		{"https://example.invalid/app?identity=a&token=%s", "URL query string"},
		{"\"Bearer %s\"\n", "whitespace; it is wrapped in quotes; it has a 'Bearer ' prefix"},
	};
	for (size_t i = 0; i < sizeof w / sizeof *w; i++) {
		snprintf(in, sizeof in, w[i].fmt, tok);
		cr_expect_eq(validate(in, strlen(in), NOW, &cfg, &d), 1, "case %zu", i);
		cr_assert_geq(d.ncauses, 1);
		cr_expect_eq(d.causes[0].id, CAUSE_WRONG_FORMAT, "case %zu: %s", i, d.causes[0].text);
		cr_expect(strstr(d.causes[0].text, w[i].text), "case %zu: %s", i, d.causes[0].text);
		cr_expect_eq(d.ncauses, 1, "case %zu: inner token has causes", i);
		cr_expect_str_eq(d.token.iss, KEY, "case %zu", i);
		cr_expect_eq(d.token.parsed, 1);
	}
	/* URL-encoded dots, line breaks, '=' padding */
	size_t n = strlen(tok), o = 0;
	for (size_t i = 0; i < n; i++)
		o += (size_t)(tok[i] == '.' ? sprintf(in + o, "%%2E") : sprintf(in + o, "%c", tok[i]));
	cr_expect_eq(validate(in, o, NOW, &cfg, &d), 1);
	cr_expect(diag_has(&d, CAUSE_WRONG_FORMAT) && strstr(d.causes[0].text, "URL-encoded"), "%s", d.causes[0].text);
	snprintf(in, sizeof in, "%.40s\r\n%s", tok, tok + 40);
	cr_expect_eq(validate(in, strlen(in), NOW, &cfg, &d), 1);
	cr_expect(strstr(d.causes[0].text, "embedded line break"), "%s", d.causes[0].text);
	/* the signature of a 32-byte MAC is 43 characters: padding adds '=' */
	snprintf(in, sizeof in, "%s=", tok);
	cr_expect_eq(validate(in, strlen(in), NOW, &cfg, &d), 1);
	cr_expect(strstr(d.causes[0].text, "'=' padding"), "%s", d.causes[0].text);
	cr_expect_eq(d.ncauses, 1, "%s", d.ncauses > 1 ? d.causes[1].text : "");
	/* the inner token's own causes come after wrong_format */
	snprintf(in, sizeof in, "{\"token\":\"%s\"}", tok);
	cr_expect_eq(validate(in, strlen(in), T0 + 99999, &cfg, &d), 1);
	cr_expect_eq(d.ncauses, 2);
	cr_expect_eq(d.causes[1].id, CAUSE_EXPIRED);
	keyring_free(kr);
}

Test(keyring, lines_and_lookup)
{
	struct keyring *kr = keyring_new();
	struct tk_error err = {0};
	const char *file = "# tokshim secrets\n\n" KEY " " SECRET "\r\n  " KEY2 "\t" WRONG "  \n";
	cr_expect_eq(keyring_add_lines(kr, file, strlen(file), &err), 2, "%s", err.msg);
	cr_expect_eq(keyring_count(kr), 2);
	const struct keyring_key *k = keyring_find(kr, KEY, strlen(KEY));
	cr_assert_not_null(k);
	cr_expect_str_eq(keyring_key_sid(k), KEY);
	cr_expect_null(keyring_find(kr, "SKnope", 6));
	cr_expect_eq(keyring_add(kr, NULL, "dflt", 4, &err), 0);
	cr_expect_str_eq(keyring_key_sid(keyring_find(kr, "SKnope", 6)), "");
	/* the same SID again replaces its secret */
	cr_expect_eq(keyring_add(kr, KEY, "x", 1, &err), 0);
	cr_expect_eq(keyring_count(kr), 3);
	keyring_free(kr);

	static const struct {
		const char *file;
		const char *msg;
	} bad[] = {
		{KEY "\n", "line 1: expected"},
		{"\n# c\nAC0123456789abcdef0123456789abcdef s3cr3tv4lue\n", "line 3: 'AC0123456789' is not an API Key SID"},
		{KEY " a b\n", "line 1: third field is not an Account SID"},
		{KEY " a AC0123456789abcdef0123456789abcdef x\n", "line 1: more than three fields"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct tk_error e = {0};
		kr = keyring_new();
		cr_expect_eq(keyring_add_lines(kr, bad[i].file, strlen(bad[i].file), &e), -1, "case %zu", i);
		cr_expect(strstr(e.msg, bad[i].msg), "case %zu: %s", i, e.msg);
		cr_expect(!strstr(e.msg, "s3cr3tv4lue"), "secret in message");
		keyring_free(kr);
	}
	struct tk_error e = {0};
	kr = keyring_new();
	cr_expect_eq(keyring_add(kr, KEY, "", 0, &e), -1);
	cr_expect(strstr(e.msg, "empty secret"), "%s", e.msg);
	keyring_free(kr);
	keyring_free(NULL);
	cr_expect_eq(keyring_count(NULL), 0);
}

/* Inputs that start with a helper library's header (hashed from a state kept
 * for it) and ones that almost do: the same digests as OpenSSL's one-shot
 * SHA256() and HMAC(), at every length around the block boundaries. */
Test(keyring, header_prefixed_inputs_hash_as_any)
{
	static const char *const heads[] = {
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImN0eSI6InR3aWxpby1mcGE7dj0x", /* node */
		"eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiIsImN0eSI6InR3aWxpby1mcGE7dj0x", /* python */
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImN0eSI6InR3aWxpby1mcGE7dj0y", /* last byte differs */
		"fyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImN0eSI6InR3aWxpby1mcGE7dj0x", /* first byte differs */
	};
	static char buf[400];
	struct keyring *kr = keyring_new();
	cr_assert_eq(keyring_add(kr, KEY, SECRET, strlen(SECRET), NULL), 0);
	const struct keyring_key *k = keyring_find(kr, KEY, strlen(KEY));
	for (size_t h = 0; h < sizeof heads / sizeof *heads; h++) {
		for (size_t n = 0; n < 300; n++) {
			memcpy(buf, heads[h], 64);
			for (size_t i = 64; i < n + 64; i++)
				buf[i] = (char)('A' + (i * 7 + n) % 26);
			size_t len = n + 64;
			for (size_t cut = 0; cut < 2; cut++) {
				size_t l = cut ? (n < 64 ? n : 63) : len; /* and inputs shorter than the header */
				uint8_t md[32], want[32], mac[HMAC_MAX_LEN], wmac[32];
				unsigned wl = 0;
				sha256_digest(buf, l, md);
				SHA256((const uint8_t *)buf, l, want);
				cr_expect_eq(memcmp(md, want, 32), 0, "sha256 head %zu len %zu", h, l);
				cr_assert_eq(keyring_mac(k, HMAC_SHA256, buf, l, mac), 0);
				HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const uint8_t *)buf, l, wmac, &wl);
				cr_expect_eq(memcmp(mac, wmac, 32), 0, "hmac head %zu len %zu", h, l);
			}
		}
	}
	keyring_free(kr);
}

/* RFC 4231 test cases 1, 2 and 6 (a key longer than the block), all three digests. */
Test(keyring, hmac_matches_rfc4231)
{
	static const struct {
		const char *key;
		size_t keylen;
		const char *data;
		const char *h256, *h384, *h512;
	} v[] = {
		{"\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b", 20, "Hi There",
		 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
		 "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
		 "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
		{"Jefe", 4, "what do ya want for nothing?",
		 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		 "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
		 "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
	};
	static uint8_t longkey[131];
	memset(longkey, 0xaa, sizeof longkey);
	for (size_t i = 0; i < 3; i++) {
		const char *key = i < 2 ? v[i].key : (const char *)longkey;
		size_t kl = i < 2 ? v[i].keylen : sizeof longkey;
		const char *data = i < 2 ? v[i].data : "Test Using Larger Than Block-Size Key - Hash Key First";
		struct keyring *kr = keyring_new();
		cr_assert_eq(keyring_add(kr, KEY, key, kl, NULL), 0);
		const struct keyring_key *k = keyring_find(kr, KEY, strlen(KEY));
		for (int a = 0; a < HMAC__COUNT; a++) {
			uint8_t mac[HMAC_MAX_LEN], want[64];
			unsigned wl = 0;
			cr_assert_eq(keyring_mac(k, (enum hmac_alg)a, data, strlen(data), mac), 0);
			const EVP_MD *md = a == 0 ? EVP_sha256() : a == 1 ? EVP_sha384() : EVP_sha512();
			HMAC(md, key, (int)kl, (const uint8_t *)data, strlen(data), want, &wl);
			cr_expect_eq(wl, hmac_len((enum hmac_alg)a));
			cr_expect_eq(memcmp(mac, want, wl), 0, "vector %zu alg %d vs HMAC()", i, a);
			if (i < 2) {
				const char *hex = a == 0 ? v[i].h256 : a == 1 ? v[i].h384 : v[i].h512;
				char got[129];
				for (unsigned b = 0; b < wl; b++)
					sprintf(got + 2 * b, "%02x", mac[b]);
				cr_expect_str_eq(got, hex, "vector %zu alg %d", i, a);
			}
		}
		keyring_free(kr);
	}
}
