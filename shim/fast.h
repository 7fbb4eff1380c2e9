/* The write hooks' fast path: a write that lies wholly in WebSocket frames
 * nobody looks at (bulk binary frames, control frames; decode/ws_frame.h)
 * is taken under the connection's lock with no call at all: no errno to
 * save, no clock read (the time is cached per thread, refreshed when the
 * TSC moved on), no session feed. Everything else goes the slow way. */
#ifndef TOKSHIM_SHIM_FAST_H
#define TOKSHIM_SHIM_FAST_H

#include <stdint.h>

#include "decode/ws_frame.h"
#include "shim/clock.h"
#include "shim/shim.h"

/* Bytes of buf[0..n) that need no feed on c, which should hold key: n for a
 * connection with nothing more to find (no lock: a stale answer costs at most
 * the bytes of one write of a connection re-made this instant), else what
 * the decoder's fast path takes under the lock (0 when the lock is busy).
 * Sets neither errno nor anything else outside c. */
static inline __attribute__((always_inline)) size_t shim_take(struct conn *c, conn_key key, const void *buf, size_t n)
{
	if (atomic_load_explicit(&c->key, memory_order_relaxed) != key)
		return 0;
	if (atomic_load_explicit(&c->passthrough, memory_order_relaxed))
		return n;
	if (atomic_exchange_explicit(&c->lock, 1, memory_order_acquire))
		return 0;
	size_t k = 0;
	struct ws_frame *f = c->fast;
	if (f && f->open && atomic_load_explicit(&c->key, memory_order_relaxed) == key &&
	    (c->due == INT64_MAX || shim_now_cached() <= c->due))
		k = ws_frame_take(f, buf, n);
	atomic_store_explicit(&c->lock, 0, memory_order_release);
	return k;
}

/* The connection of fd when it is followed and still wanted, else NULL. */
static inline struct conn *shim_fd_conn(int fd)
{
	if ((unsigned)fd >= CONN_FD_MAX)
		return NULL;
	unsigned idx = atomic_load_explicit(&shim_fd_map[fd], memory_order_acquire);
	if (!idx)
		return NULL;
	struct conn *c = &shim_slots[idx - 1];
	if (atomic_load_explicit(&c->key, memory_order_acquire) != conn_key_fd(fd) ||
	    atomic_load_explicit(&c->passthrough, memory_order_relaxed))
		return NULL;
	return c;
}

#endif
