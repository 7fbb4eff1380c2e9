/* The shim's clocks (clock.h). */
#include "shim/clock.h"

#include "decode/session.h"

__thread int64_t shim_now_sec __attribute__((tls_model("initial-exec")));
__thread uint64_t shim_now_tsc __attribute__((tls_model("initial-exec")));
_Atomic uint64_t shim_cntfrq;

int64_t shim_clock(int precise)
{
	struct timespec ts;
	int saved = errno;
	/* both checked: with a 32-bit time_t after 2038 glibc says EOVERFLOW
	 * and leaves ts unset; no token is judged by an unknown time */
	if (clock_gettime(precise ? CLOCK_REALTIME : CLOCK_REALTIME_COARSE, &ts) != 0 &&
	    clock_gettime(CLOCK_REALTIME, &ts) != 0) {
		errno = saved;
		return SESSION_NO_TIME;
	}
	errno = saved;
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
