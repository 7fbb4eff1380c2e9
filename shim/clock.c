/* The shim's clocks (clock.h). */
#include "shim/clock.h"

#include "decode/session.h"

_Atomic uint64_t shim_cntfrq;
_Atomic uint64_t shim_tsc_rate;

void shim_tick_calibrate(uint64_t tsc)
{
	static _Atomic uint64_t tsc0, ns0;
	struct timespec ts;
	int saved = errno;
	int ok = clock_gettime(CLOCK_MONOTONIC, &ts) == 0;
	errno = saved;
	if (!ok)
		return;
	uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	uint64_t t0 = atomic_load_explicit(&tsc0, memory_order_relaxed);
	uint64_t n0 = atomic_load_explicit(&ns0, memory_order_relaxed);
	if (!n0 || tsc <= t0 || ns <= n0) {
		/* the first sample (or one that went backwards: a migrated
		 * thread on unsynchronised counters): start again */
		atomic_store_explicit(&tsc0, tsc, memory_order_relaxed);
		atomic_store_explicit(&ns0, ns, memory_order_relaxed);
		return;
	}
	if (ns - n0 < 20000000u)
		return;
	double rate = (double)(tsc - t0) * 1e9 / (double)(ns - n0) * 0.875;
	if (rate >= 1e6 && rate < 1e12)
		atomic_store_explicit(&shim_tsc_rate, (uint64_t)rate, memory_order_relaxed);
}

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
