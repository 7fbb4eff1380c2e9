#include <criterion/criterion.h>
#include <string.h>

#include "decode/b64url.h"
#include "decode/diag.h"

Test(diag, cause_table_round_trips)
{
	for (int i = 0; i < CAUSE__COUNT; i++) {
		cr_assert_eq(cause_from_name(cause_name(i)), i, "cause %d (%s)", i, cause_name(i));
	}
	cr_assert_eq(cause_from_name("nope"), -1);
	cr_assert_eq(cause_severity(CAUSE_EXPIRING_SOON), SEV_WARNING);
	cr_assert_eq(cause_twilio_code(CAUSE_EXPIRED), 20104);
}

Test(diag, verdict_and_code)
{
	struct diag d;
	diag_init(&d, 1000);
	diag_add(&d, CAUSE_EXPIRING_SOON, "refresh", "expires in %ds", 10);
	diag_finish(&d);
	cr_assert_eq(d.accept, 1);
	cr_assert_eq(d.code, 0);
	diag_add(&d, CAUSE_EXPIRED, "mint a new one", "expired");
	d.product = PRODUCT_SYNC;
	diag_finish(&d);
	cr_assert_eq(d.accept, 0);
	cr_assert_eq(d.code, 51215);
	d.channel = CHANNEL_VOICE;
	diag_finish(&d);
	cr_assert_eq(d.code, 51007);
}

Test(diag, times)
{
	char buf[64];
	int64_t t;
	fmt_iso8601(1795383000, buf, sizeof buf);
	cr_assert_str_eq(buf, "2026-11-22T21:30:00Z");
	cr_assert_eq(parse_time("2026-11-22T21:30:00Z", &t), 0);
	cr_assert_eq(t, 1795383000);
	cr_assert_eq(parse_time("1795383000", &t), 0);
	cr_assert_eq(t, 1795383000);
	cr_assert_neq(parse_time("2026-13-22T21:30:00Z", &t), 0);
	cr_assert_neq(parse_time("yesterday", &t), 0);
	fmt_duration(-(1 * 3600 + 32 * 60 + 5), buf, sizeof buf);
	cr_assert_str_eq(buf, "1h32m");
	fmt_duration(59, buf, sizeof buf);
	cr_assert_str_eq(buf, "59s");
}

Test(b64url, strict)
{
	uint8_t out[16];
	cr_assert_eq(b64url_decode("aGk", 3, out, sizeof out), 2);
	cr_assert_eq(memcmp(out, "hi", 2), 0);
	cr_assert_eq(b64url_decode("aGk=", 4, out, sizeof out), -1, "padding refused");
	cr_assert_eq(b64url_decode("aGl", 3, out, sizeof out), -1, "unused bits set");
	cr_assert_eq(b64url_decode("a+k", 3, out, sizeof out), -1, "'+' is not base64url");
	cr_assert_eq(b64url_decode("a", 1, out, sizeof out), -1);
	cr_assert_eq(b64url_decode("aGk", 3, out, 1), -1, "no room");
	char enc[8];
	cr_assert_eq(b64url_encode((const uint8_t *)"hi", 2, enc, sizeof enc), 3);
	cr_assert_str_eq(enc, "aGk");
}
