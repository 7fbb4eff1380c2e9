#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

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

/* utc_from_unix is plain arithmetic (no tzset lock): it must agree with
 * gmtime_r everywhere, negative times and leap days included. */
Test(diag, utc_from_unix_agrees_with_gmtime)
{
	static const int64_t fixed[] = {0, -1, 86399, 86400, 951782400 /* 2000-02-29 */,
					4107542400LL /* 2100-03-01 */, -2208988800LL /* 1900-01-01 */,
					1795383000, 253402300799LL};
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 20000; i++) {
		int64_t t;
		if (i < (int)(sizeof fixed / sizeof fixed[0])) {
			t = fixed[i];
		} else {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift, fixed seed */
			t = (int64_t)(x % 20000000000ull) - 5000000000LL;
		}
		time_t tt = (time_t)t;
		if ((int64_t)tt != t) {
			/* a 32-bit time_t (a build without _TIME_BITS=64) cannot
			 * hold 2100 for gmtime_r: that value is checked against the
			 * fixed dates below instead of truncated */
			continue;
		}
		struct tm tm;
		cr_assert_not_null(gmtime_r(&tt, &tm));
		struct utc_time u;
		utc_from_unix(t, &u);
		cr_assert(u.year == tm.tm_year + 1900LL && u.mon == tm.tm_mon + 1 && u.mday == tm.tm_mday &&
				  u.hour == tm.tm_hour && u.min == tm.tm_min && u.sec == tm.tm_sec,
			  "t=%lld: %lld-%d-%d %d:%d:%d", (long long)t, (long long)u.year, u.mon, u.mday,
			  u.hour, u.min, u.sec);
	}
	char buf[40];
	/* beyond 32-bit time, whatever time_t is: plain 64-bit arithmetic */
	fmt_iso8601(4107542400LL, buf, sizeof buf);
	cr_assert_str_eq(buf, "2100-03-01T00:00:00Z");
	fmt_iso8601(2222164800LL, buf, sizeof buf);
	cr_assert_str_eq(buf, "2040-06-01T12:00:00Z");
	fmt_iso8601(951782400, buf, sizeof buf);
	cr_assert_str_eq(buf, "2000-02-29T00:00:00Z");
	fmt_iso8601(-1, buf, sizeof buf);
	cr_assert_str_eq(buf, "1969-12-31T23:59:59Z");
}
