/* The shim's clocks, in one place: the wall-clock seconds the sessions and
 * the write hooks' fast path judge tokens by, and the monotonic nanoseconds
 * the bounded lock waits are measured in. */
#ifndef TOKSHIM_SHIM_CLOCK_H
#define TOKSHIM_SHIM_CLOCK_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "shim/thread.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

/* Per thread (shim/thread.h): the last second read from the coarse clock,
 * shim_now_sec, and the CPU's counter then, shim_now_tsc (x86's TSC,
 * aarch64's virtual counter CNTVCT_EL0). */
/* aarch64: the counter's frequency (CNTFRQ_EL0), read once */
extern _Atomic uint64_t shim_cntfrq;
/* x86: the TSC's ticks per second, measured against CLOCK_MONOTONIC over
 * 20 ms at least by one thread, twice in a row alike within 1/64, and
 * taken 7/8 of (a span of ticks lasts at least the time it stands for);
 * never known (0) on a CPU without an invariant TSC, which the window of
 * the clock cache alone serves. Measured by shim_tick_calibrate, called on
 * the clock cache's refreshes until it is known. */
extern _Atomic uint64_t shim_tsc_rate;
void shim_tick_calibrate(uint64_t tsc);

/* The CPU's counter now (as shim_now_tsc holds it); 0 where user space has
 * none (32-bit ARM). */
static inline uint64_t shim_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#elif defined(__aarch64__)
	uint64_t t;
	__asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(t));
	return t;
#else
	return 0;
#endif
}

/* The ticks from shim_now_tsc for which the second the last
 * shim_now_cached call of this thread returned stays its answer (no clock
 * read needed); 0 where there is no counter. aarch64's is known once
 * shim_now_cached has run in some thread. */
static inline uint64_t shim_now_fresh_win(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return (uint64_t)1 << 22;
#elif defined(__aarch64__)
	return atomic_load_explicit(&shim_cntfrq, memory_order_relaxed) >> 9;
#else
	return 0;
#endif
}

/* The time in seconds, as the coarse clock gives it, at most ~2 ms stale
 * (shim_now_fresh_win: 2^22 TSC ticks; 1/512 s of aarch64's counter; the
 * coarse clock itself moves in ticks of a few ms). 32-bit ARM has no
 * counter user space can be sure to read: the coarse clock (vDSO) every
 * time. INT64_MAX when the clock cannot be read. errno is kept. */
static inline int64_t shim_now_cached(void)
{
#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__)
	uint64_t t = shim_ticks();
#if defined(__aarch64__)
	if (__builtin_expect(!atomic_load_explicit(&shim_cntfrq, memory_order_relaxed), 0)) {
		uint64_t f;
		__asm__ __volatile__("mrs %0, cntfrq_el0" : "=r"(f));
		atomic_store_explicit(&shim_cntfrq, f ? f : 1, memory_order_relaxed); /* alike in every thread */
	}
#endif
	if (t - shim_now_tsc < shim_now_fresh_win())
		return shim_now_sec;
	shim_now_tsc = t;
#if defined(__x86_64__) || defined(__i386__)
	if (__builtin_expect(!atomic_load_explicit(&shim_tsc_rate, memory_order_relaxed), 0))
		shim_tick_calibrate(t);
#endif
#endif
	struct timespec ts;
	int saved = errno;
	if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0) {
		errno = saved;
		return INT64_MAX; /* cannot tell: the slow path decides */
	}
	return shim_now_sec = (int64_t)ts.tv_sec;
}

/* The counter's ticks in a second, at most (0: not known yet, or no
 * counter): x86's measured rate; 7/8 of aarch64's stated frequency (a
 * board's firmware may state CNTFRQ_EL0 a little off). */
static inline uint64_t shim_tick_rate(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return atomic_load_explicit(&shim_tsc_rate, memory_order_relaxed);
#elif defined(__aarch64__)
	uint64_t f = atomic_load_explicit(&shim_cntfrq, memory_order_relaxed);
	return f > 1 ? f - f / 8 : 0;
#else
	return 0;
#endif
}

/* The session's clock (session_feed_clock, session_feed_server_clock):
 * wall-clock seconds, precise (1) for a token to validate, the coarse clock
 * (0: a few loads in the vDSO) for the expiry watch of a live token on every
 * write; 2: precise milliseconds, for the answers' after_ms. SESSION_NO_TIME
 * when no clock can be read. errno is kept. */
int64_t shim_clock(int precise);

/* Monotonic nanoseconds (coarse), 0 when no clock can be read; errno kept. */
int64_t shim_mono_ns(void);

#endif
