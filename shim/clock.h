/* The shim's clocks, in one place: the wall-clock seconds the sessions and
 * the write hooks' fast path judge tokens by, and the monotonic nanoseconds
 * the bounded lock waits are measured in. */
#ifndef TOKSHIM_SHIM_CLOCK_H
#define TOKSHIM_SHIM_CLOCK_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

/* Per thread: the last second read from the coarse clock, and the CPU's
 * counter then (x86's TSC, aarch64's virtual counter CNTVCT_EL0). */
extern __thread int64_t shim_now_sec __attribute__((tls_model("initial-exec")));
extern __thread uint64_t shim_now_tsc __attribute__((tls_model("initial-exec")));
/* aarch64: the counter's frequency (CNTFRQ_EL0), read once */
extern _Atomic uint64_t shim_cntfrq;

/* The time in seconds, as the coarse clock gives it, at most ~2 ms stale
 * (2^22 TSC ticks; 1/512 s of aarch64's counter; the coarse clock itself
 * moves in ticks of a few ms). 32-bit ARM has no counter user space can be
 * sure to read: the coarse clock (vDSO) every time. INT64_MAX when the
 * clock cannot be read. errno is kept. */
static inline int64_t shim_now_cached(void)
{
#if defined(__x86_64__) || defined(__i386__)
	uint64_t t = __rdtsc();
	if (t - shim_now_tsc < ((uint64_t)1 << 22))
		return shim_now_sec;
	shim_now_tsc = t;
#elif defined(__aarch64__)
	uint64_t t, f = atomic_load_explicit(&shim_cntfrq, memory_order_relaxed);
	__asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(t));
	if (__builtin_expect(!f, 0)) {
		__asm__ __volatile__("mrs %0, cntfrq_el0" : "=r"(f));
		f = f ? f : 1; /* the same value in every thread */
		atomic_store_explicit(&shim_cntfrq, f, memory_order_relaxed);
	}
	if (t - shim_now_tsc < (f >> 9))
		return shim_now_sec;
	shim_now_tsc = t;
#endif
	struct timespec ts;
	int saved = errno;
	if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0) {
		errno = saved;
		return INT64_MAX; /* cannot tell: the slow path decides */
	}
	return shim_now_sec = (int64_t)ts.tv_sec;
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
