/* libnghttp2's HPACK functions for the wire decoder (decode/wire_h2.h),
 * loaded at the first HTTP/2 connection preface, never at load time:
 * libtokshim.so has no DT_NEEDED on libnghttp2, so a process that never
 * speaks HTTP/2 never maps it.
 *
 * The host's copy first (dlopen RTLD_NOLOAD: curl, for one, links it), else
 * libnghttp2.so.14 loaded RTLD_NOW | RTLD_LOCAL (its symbols stay out of the
 * host's scope). The functions are resolved with glibc's own dlsym
 * (shim_real_dlsym), not through our dlsym hook. The inflaters allocate from
 * an arena inside each connection's block (decode/wire_h2.c), so HTTP/2
 * adds no malloc to the write path; the library is never unloaded.
 *
 * When it cannot be loaded, every HTTP/2 connection is passed through
 * unread; the caller (shim.c) says so once, with the reason given here. */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "decode/wire_h2.h"
#include "shim/lazy.h"
#include "shim/shim.h"

#define NGHTTP2_SONAME "libnghttp2.so.14"

enum { HP_UNTRIED = 0, HP_LOADING, HP_READY, HP_FAILED };

static atomic_int state;
static struct h2_hpack_ops table;

static void *fn(void *h, const char *name, const char **missing)
{
	void *p = shim_real_dlsym(h, name);
	if (!p && !*missing)
		*missing = name;
	return p;
}

static int load(char *why, size_t cap)
{
	const char *missing = NULL;
	void *h = lazy_dlopen(NGHTTP2_SONAME);
	if (!h) {
		const char *e = dlerror();
		snprintf(why, cap, "%s", e ? e : "not found");
	} else {
		table.inflate_new2 = (int (*)(nghttp2_hd_inflater **, nghttp2_mem *))fn(h, "nghttp2_hd_inflate_new2", &missing);
		table.inflate_del = (void (*)(nghttp2_hd_inflater *))fn(h, "nghttp2_hd_inflate_del", &missing);
		table.inflate_change_table_size = (int (*)(nghttp2_hd_inflater *, size_t))fn(
			h, "nghttp2_hd_inflate_change_table_size", &missing);
		table.inflate_hd2 = (ssize_t (*)(nghttp2_hd_inflater *, nghttp2_nv *, int *, const uint8_t *, size_t,
						 int))fn(h, "nghttp2_hd_inflate_hd2", &missing);
		table.inflate_end_headers = (int (*)(nghttp2_hd_inflater *))fn(h, "nghttp2_hd_inflate_end_headers", &missing);
		if (missing)
			snprintf(why, cap, "it has no '%s'", missing);
	}
	/* leave no error of ours for the host's dlerror() */
	dlerror();
	return h && !missing;
}

const struct h2_hpack_ops *shim_hpack_load(int *first_failure, char *why, size_t cap)
{
	int st = atomic_load_explicit(&state, memory_order_acquire);
	if (st == HP_READY)
		return &table;
	if (st == HP_FAILED)
		return NULL;
	int expect = HP_UNTRIED;
	if (atomic_compare_exchange_strong_explicit(&state, &expect, HP_LOADING, memory_order_acq_rel,
						    memory_order_acquire)) {
		int saved = errno;
		why[0] = '\0';
		int ok = load(why, cap);
		errno = saved;
		atomic_store_explicit(&state, ok ? HP_READY : HP_FAILED, memory_order_release);
		*first_failure = !ok;
		return ok ? &table : NULL;
	}
	/* another thread is loading it: wait a bounded while (a dlopen takes
	 * well under a millisecond), else this connection is not read */
	for (unsigned i = 0; i < 20000; i++) {
		st = atomic_load_explicit(&state, memory_order_acquire);
		if (st == HP_READY)
			return &table;
		if (st == HP_FAILED)
			return NULL;
		sched_yield();
	}
	return NULL;
}
