/* The shim's clocks (clock.h). */
#include "shim/clock.h"

__thread int64_t shim_now_sec __attribute__((tls_model("initial-exec")));
__thread uint64_t shim_now_tsc __attribute__((tls_model("initial-exec")));

int64_t shim_clock(int precise)
{
	struct timespec ts;
	if (clock_gettime(precise ? CLOCK_REALTIME : CLOCK_REALTIME_COARSE, &ts) != 0)
		clock_gettime(CLOCK_REALTIME, &ts);
	if (precise == 2)
		return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return (int64_t)ts.tv_sec;
}

int64_t shim_mono_ns(void)
{
	struct timespec ts;
	int saved = errno;
	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0 && clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		ts.tv_sec = ts.tv_nsec = 0;
	errno = saved;
	return (int64_t)ts.tv_sec * 1000000000L + ts.tv_nsec;
}
