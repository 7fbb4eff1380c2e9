/* The shim's clocks (shim/clock.c): the write path's cached seconds agree
 * with the coarse clock, and on CPUs with a counter user space reads (x86's
 * TSC, aarch64's CNTVCT_EL0) a second read within ~2 ms is the cached one. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <time.h>

#include "decode/session.h"
#include "shim/clock.h"

Test(clock, cached_seconds_agree_with_the_clock)
{
	for (int i = 0; i < 50; i++) {
		struct timespec before, after;
		cr_assert_eq(clock_gettime(CLOCK_REALTIME_COARSE, &before), 0);
		int64_t t = shim_now_cached();
		cr_assert_eq(clock_gettime(CLOCK_REALTIME_COARSE, &after), 0);
		/* stale by at most one coarse tick and the cache's ~2 ms */
		cr_assert(t >= (int64_t)before.tv_sec - 1 && t <= (int64_t)after.tv_sec, "cached %lld, clock %lld..%lld",
			  (long long)t, (long long)before.tv_sec, (long long)after.tv_sec);
		struct timespec nap = {0, 3 * 1000 * 1000};
		nanosleep(&nap, NULL);
	}
}

Test(clock, second_read_within_the_window_is_cached)
{
#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__)
	shim_now_cached();
	uint64_t stamp = shim_now_tsc;
	cr_assert_neq(stamp, 0, "the counter was read");
	shim_now_cached();
	cr_assert_eq(shim_now_tsc, stamp, "a read right after is the cached one (no clock call)");
#else
	cr_log_info("clock: no user-space counter on this CPU: the coarse clock is read every time");
	shim_now_cached();
	cr_assert_eq(shim_now_tsc, 0);
#endif
}

Test(clock, session_clock_is_the_wall_clock)
{
	struct timespec ts;
	cr_assert_eq(clock_gettime(CLOCK_REALTIME, &ts), 0);
	int64_t t = shim_clock(1);
	cr_assert_neq(t, SESSION_NO_TIME);
	cr_assert(t >= (int64_t)ts.tv_sec && t <= (int64_t)ts.tv_sec + 2);
}
