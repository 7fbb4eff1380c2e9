/* The shim's per-thread state, in one initial-exec thread-local block
 * (guard.c): a hook reaches all of it from one address (one GOT load in the
 * library), with no __tls_get_addr and no malloc. */
#ifndef TOKSHIM_SHIM_THREAD_H
#define TOKSHIM_SHIM_THREAD_H

#include <stdint.h>

struct conn;

/* One call site of a hooked TLS write or read and the real function it
 * reaches (realfamily_for_caller and reallib_call_fn once per site, not per
 * call). site is set only with fn, and only once the shim is ready. */
struct shim_site {
	const void *site;
	void *fn;
	struct reallib *lib;
};

/* The hooks whose call site is cached per thread. */
enum shim_site_id { SITE_SSL_WRITE, SITE_SSL_WRITE_EX, SITE_SSL_READ, SITE_SSL_READ_EX, SITE_GNUTLS_SEND, SITE__COUNT };

struct shim_thread {
	union {
		struct {
			/* the recursion guard (shim_in, shim.h) */
			int in;
			/* 1 while a TOKSHIM_HOOKS function records the report id of
			 * the connection a built-in hook feeds underneath
			 * (shim_nested_id is 0 until one does) */
			int nest_rec;
		};
		/* 0: neither: a TLS write may go the quick way (shim/fast.h) */
		uint64_t gate;
	};
	int inner_fd;            /* shim_inner_fd (shim.h) */
	int64_t nested_id;       /* shim_nested_id (shim.h) */
	/* the connection this thread's TLS writes went to last (shim/fast.h);
	 * never NULL: shim_conn_none, whose key (0) no connection has, before */
	struct conn *last;
	/* the clock cache (shim/clock.h) */
	int64_t now_sec;
	uint64_t now_tsc;
	struct shim_site sites[SITE__COUNT];
	/* a TLS write that went the quick way, while its real call runs (set
	 * and read only outside the guard: a call nested in it finds the
	 * guard set and never goes the quick way) */
	struct {
		const void *ret, *buf;
		void *ssl;
		size_t num;
		size_t *written;
	} quick;
};

extern __thread struct shim_thread shim_thr __attribute__((tls_model("initial-exec")));
extern struct conn shim_conn_none __attribute__((visibility("hidden")));

#define shim_in (shim_thr.in)
#define shim_inner_fd (shim_thr.inner_fd)
#define shim_nested_id (shim_thr.nested_id)
#define shim_now_sec (shim_thr.now_sec)
#define shim_now_tsc (shim_thr.now_tsc)

#endif
