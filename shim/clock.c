/* The shim's clocks (clock.h). */
#include "shim/clock.h"

#include "decode/session.h"

_Atomic uint64_t shim_cntfrq;
_Atomic uint64_t shim_tsc_rate;

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* 1: the TSC runs at one rate in every power state (CPUID 0x80000007,
 * EDX bit 8), so a span of its ticks stands for a span of time */
static int tsc_invariant(void)
{
	static atomic_int known; /* 0 not asked, 1 no, 2 yes */
	int k = atomic_load_explicit(&known, memory_order_relaxed);
	if (!k) {
		unsigned a, b, c, d;
		k = __get_cpuid(0x80000007, &a, &b, &c, &d) && (d & (1u << 8)) ? 2 : 1;
		atomic_store_explicit(&known, k, memory_order_relaxed);
	}
	return k == 2;
}
#else
static int tsc_invariant(void)
{
	return 0;
}
#endif

void shim_tick_calibrate(uint64_t tsc)
{
	/* this thread's samples: a pair read by one thread, on the CPU it ran
	 * on then; the first rate measured waits for a second one alike */
	static __thread uint64_t tsc0 __attribute__((tls_model("initial-exec")));
	static __thread uint64_t ns0 __attribute__((tls_model("initial-exec")));
	static __thread double rate0 __attribute__((tls_model("initial-exec")));
	if (!tsc_invariant())
		return;
	struct timespec ts;
	int saved = errno;
	int ok = clock_gettime(CLOCK_MONOTONIC, &ts) == 0;
	errno = saved;
	if (!ok)
		return;
	uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (!ns0 || tsc <= tsc0 || ns <= ns0) {
		/* the first sample, or one that went backwards (the thread moved
		 * to a CPU whose counter is behind): start again */
		tsc0 = tsc;
		ns0 = ns;
		rate0 = 0;
		return;
	}
	if (ns - ns0 < 20000000u)
		return;
	double rate = (double)(tsc - tsc0) * 1e9 / (double)(ns - ns0);
	tsc0 = tsc;
	ns0 = ns;
	if (rate < 1e6 || rate > 2e10) {
		rate0 = 0;
		return;
	}
	double prev = rate0;
	rate0 = rate;
	if (prev && rate > prev - prev / 64 && rate < prev + prev / 64)
		atomic_store_explicit(&shim_tsc_rate, (uint64_t)((rate < prev ? rate : prev) * 0.875),
				      memory_order_relaxed);
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
