/* A fixed clock for the tests: preloaded before libtokshim.so, it moves the
 * wall clock (CLOCK_REALTIME and its coarse form, time()) by the seconds in
 * CLOCK_SHIFT, so a test can run the shim "in 2040". On 32-bit glibc it
 * stands in for both entry points, as glibc does: the 64-bit-time ones
 * (__clock_gettime64, __time64) and the 32-bit-time ones, which fail with
 * EOVERFLOW when the time does not fit 32 bits (glibc's behaviour after
 * 2038). Built without _TIME_BITS so that the 32-bit names stay ours. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static int64_t shift_of(void)
{
	const char *s = getenv("CLOCK_SHIFT");
	return s ? strtoll(s, NULL, 10) : 0;
}

static int wall(clockid_t id)
{
	return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE;
}

#if defined(__TIMESIZE) && __TIMESIZE == 32
struct ts64 {
	int64_t tv_sec;
	int32_t tv_nsec;
	int32_t pad;
};
static int real64(clockid_t id, struct ts64 *ts)
{
	static int (*fn)(clockid_t, struct ts64 *);
	if (!fn)
		fn = (int (*)(clockid_t, struct ts64 *))dlsym(RTLD_NEXT, "__clock_gettime64");
	return fn(id, ts);
}
int __clock_gettime64(clockid_t id, struct ts64 *ts)
{
	int r = real64(id, ts);
	if (r == 0 && wall(id))
		ts->tv_sec += shift_of();
	return r;
}
int clock_gettime(clockid_t id, struct timespec *ts)
{
	struct ts64 t;
	int r = __clock_gettime64(id, &t);
	if (r != 0)
		return r;
	if (t.tv_sec > INT32_MAX || t.tv_sec < INT32_MIN) {
		errno = EOVERFLOW;
		return -1;
	}
	ts->tv_sec = (time_t)t.tv_sec;
	ts->tv_nsec = t.tv_nsec;
	return 0;
}
int64_t __time64(int64_t *out)
{
	struct ts64 t;
	int64_t v = __clock_gettime64(CLOCK_REALTIME, &t) == 0 ? t.tv_sec : -1;
	if (out)
		*out = v;
	return v;
}
time_t time(time_t *out)
{
	int64_t v = __time64(NULL);
	time_t r = v > INT32_MAX ? (errno = EOVERFLOW, (time_t)-1) : (time_t)v;
	if (out)
		*out = r;
	return r;
}
#else
int clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*fn)(clockid_t, struct timespec *);
	if (!fn)
		fn = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	int r = fn(id, ts);
	if (r == 0 && wall(id))
		ts->tv_sec += (time_t)shift_of();
	return r;
}
time_t time(time_t *out)
{
	struct timespec ts;
	time_t v = clock_gettime(CLOCK_REALTIME, &ts) == 0 ? ts.tv_sec : (time_t)-1;
	if (out)
		*out = v;
	return v;
}
#endif
