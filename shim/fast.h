/* The write hooks' fast path: a write that lies wholly in WebSocket frames
 * nobody looks at (bulk binary frames, control frames; decode/ws_frame.h),
 * or in HTTP/2 DATA frames (decode/h2_fast.h), costs no session feed, no
 * errno to save and no clock read (the time is cached per thread, refreshed
 * when the CPU's counter moved on). Everything else goes the slow way.
 *
 * Two steps, both inline in the hooks:
 *   shim_quick, before the real call, with no lock: a write that is one
 *     whole frame like the last one shim_take took with the decoder at rest
 *     (the connection's q_* fields) leaves the decoder at rest: nothing to
 *     feed when the real call puts it out whole. A few loads and compares.
 *   shim_take, after the real call, under the connection's lock: what the
 *     decoder's fast path (ws_frame_take, h2_fast_take) takes of the bytes
 *     put out; it arms the quick check again. */
#ifndef TOKSHIM_SHIM_FAST_H
#define TOKSHIM_SHIM_FAST_H

#include <stdint.h>
#include <string.h>

#include "decode/h2_fast.h"
#include "decode/ws_frame.h"
#include "shim/clock.h"
#include "shim/shim.h"


/* 1 when the write of p[0..n) on c, which should hold key, needs no feed if
 * the real call puts it out whole (nor if it puts out nothing): it is one
 * whole frame ws_frame_whole takes, the decoder at rest, the time not past
 * due; 2 when that depends on whether it is a Twilsock message of a method
 * with no token (shim_quick_tw, out of the common path); 0 otherwise. No lock
 * (the fields are the slot's, never unmapped; a stale answer costs at most
 * one write of a connection re-made this instant), no store, no call,
 * errno untouched. */
static inline __attribute__((always_inline)) int shim_quick3(const struct conn *c, conn_key key, const void *buf,
							     size_t n)
{
	const unsigned char *p = buf;
	if (atomic_load_explicit(&c->key, memory_order_relaxed) != key || __atomic_load_n(&c->q_n, __ATOMIC_ACQUIRE) != n)
		return 0;
	/* n is the length of a frame taken before: 14 bytes at least */
	uint32_t h, m4, v, tw;
	memcpy(&h, p, 4);
	if ((h & __atomic_load_n(&c->q_mask, __ATOMIC_RELAXED)) != __atomic_load_n(&c->q_hdr, __ATOMIC_RELAXED) ||
	    (uintptr_t)shim_ticks() - __atomic_load_n(&c->tick0, __ATOMIC_RELAXED) >=
		    __atomic_load_n(&c->tick_win, __ATOMIC_RELAXED))
		return 0;
	size_t hs = __atomic_load_n(&c->q_size, __ATOMIC_RELAXED);
	memcpy(&m4, p + hs - 4, 4);
	memcpy(&v, p + hs, 4);
	memcpy(&tw, "TWIL", 4);
	if (__builtin_expect((v ^ m4) != tw, 1))
		return p[0] == 0x82; /* a text message is scanned */
	return 2;
}

/* The case shim_quick3 answers 2 decided, the header of c's quick check
 * (matched by p) known whole. */
static inline int shim_quick_tw(const struct conn *c, const void *p, size_t n)
{
	size_t hs = __atomic_load_n(&c->q_size, __ATOMIC_RELAXED);
	return ws_frame_payload_ok(p, hs, n - hs);
}

/* shim_quick3, the Twilsock case decided. */
static inline __attribute__((always_inline)) int shim_quick(const struct conn *c, conn_key key, const void *buf,
							    size_t n)
{
	int q = shim_quick3(c, key, buf, n);
	return q == 2 ? shim_quick_tw(c, buf, n) : q;
}

/* Under c's lock, with key checked: 1 when the time is not past c's due
 * time (the slow path decides otherwise), the quick check's window armed
 * for as long as that answer holds, from the counter value the thread's
 * cached second was read at: the clock cache's window while the second
 * read is the due one, else a second of the counter's ticks where the
 * counter's rate is known (due is a second away at least; a wall clock set
 * forward is seen within a second). */
static inline int shim_due_ok(struct conn *c)
{
	if (c->due == INT64_MAX) {
		__atomic_store_n(&c->tick0, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&c->tick_win, UINTPTR_MAX, __ATOMIC_RELAXED);
		return 1;
	}
	int64_t now = shim_now_cached();
	if (now > c->due)
		return 0;
	uint64_t rate = shim_tick_rate(), win = shim_now_fresh_win();
	if (rate && now < c->due && rate > win)
		win = rate;
	/* a reader without the lock may pair an old start with a new length
	 * or the reverse: at most one write of a window just re-armed */
	__atomic_store_n(&c->tick0, (uintptr_t)shim_now_tsc, __ATOMIC_RELAXED);
	__atomic_store_n(&c->tick_win, (uintptr_t)(win < UINTPTR_MAX ? win : UINTPTR_MAX), __ATOMIC_RELAXED);
	return 1;
}

/* The quick check of c (locked) on: writes like p[0..n), one whole frame
 * with a header of hs bytes (ws_frame_whole), the decoder at rest. */
static inline void shim_quick_on(struct conn *c, const unsigned char *p, size_t n, size_t hs)
{
	uint32_t mask = hs == 6 ? 0xffffu : 0xffffffffu, h;
	memcpy(&h, p, 4);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	mask = hs == 6 ? 0xffff0000u : 0xffffffffu;
#endif
	__atomic_store_n(&c->q_hdr, h & mask, __ATOMIC_RELAXED);
	__atomic_store_n(&c->q_mask, mask, __ATOMIC_RELAXED);
	__atomic_store_n(&c->q_size, (uint32_t)hs, __ATOMIC_RELAXED);
	__atomic_store_n(&c->q_n, n, __ATOMIC_RELEASE);
}

/* shim_take's work on c, locked by the caller and holding its key. */
static inline __attribute__((always_inline)) size_t shim_take_locked(struct conn *c, const void *buf, size_t n)
{
	if (atomic_load_explicit(&c->passthrough, memory_order_relaxed))
		return n;
	size_t k = 0;
	struct ws_frame *f = c->fast;
	struct h2_fast *h = c->fast_h2;
	if ((f && f->open) || (h && h->armed)) {
		/* the decoder may change: the quick check is armed again below
		 * when it is left at rest */
		conn_quick_off(c);
		if (shim_due_ok(c)) {
			size_t hs;
			if (f && f->open) {
				if (ws_frame_at_rest(f) && (hs = ws_frame_whole(buf, n)) != 0) {
					k = n;
					shim_quick_on(c, buf, n, hs);
				} else {
					k = ws_frame_take(f, buf, n);
				}
			} else {
				k = h2_fast_take(h, buf, n);
			}
		}
	}
	return k;
}

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
	size_t k = atomic_load_explicit(&c->key, memory_order_relaxed) == key ? shim_take_locked(c, buf, n) : 0;
	atomic_store_explicit(&c->lock, 0, memory_order_release);
	return k;
}

/* ---- the TLS write hooks' one path (hook_openssl.c, hook_gnutls.c,
 * hook_mbedtls.c, hook_wolfssl.c) ----------------------------------------------
 * A hook checks its call site and shim_tls_quick before the real call; a
 * write that goes the quick way and is put out whole costs nothing more.
 * Otherwise (inside the guard) the bytes put out go to shim_tls_written. */

/* Makes key's connection, locked (conn_add, then what the family learns
 * from its library: host name, socket, ex_data); NULL when not followed. */
typedef struct conn *(*shim_conn_make_fn)(conn_key key, void *arg);

/* key's connection, locked: the thread's last one when it holds key, else
 * the table's, else (make non-NULL) made by make; NULL when none. It
 * becomes the thread's last; a socket not known yet is the one the library
 * wrote to underneath (shim_inner_fd). Inside the guard. */
struct conn *shim_conn_get(conn_key key, shim_conn_make_fn make, void *arg);

/* The n bytes written on key fed to its connection (made when new), which
 * a write seen by hook names; errno kept. Inside the guard. */
void shim_tls_feed(conn_key key, const void *buf, size_t n, const char *hook, shim_conn_make_fn make, void *arg);

/* Before the real write of n bytes on key: 1 when the write may go the
 * quick way (shim_quick on the thread's last connection), the thread not
 * inside the shim nor recording for a TOKSHIM_HOOKS function. */
static inline __attribute__((always_inline)) int shim_tls_quick(conn_key key, const void *buf, size_t n)
{
	return !shim_thr.gate && shim_quick(shim_thr.last, key, buf, n);
}

/* shim_tls_quick as shim_quick3 answers (2: a Twilsock message to decide,
 * shim_quick_tw). */
static inline __attribute__((always_inline)) int shim_tls_quick3(conn_key key, const void *buf, size_t n)
{
	return !shim_thr.gate ? shim_quick3(shim_thr.last, key, buf, n) : 0;
}

/* After the real write put out n > 0 bytes of buf on key, outside the quick
 * way: what the fast path takes on the thread's last connection, the rest
 * fed. Inside the guard. */
static inline __attribute__((always_inline)) void shim_tls_written(conn_key key, const void *buf, size_t n,
								   const char *hook, shim_conn_make_fn make,
								   void *arg)
{
	size_t k = shim_take(shim_thr.last, key, buf, n);
	if (__builtin_expect(k < n || shim_nested_id == 0, 0))
		shim_tls_feed(key, (const char *)buf + k, n - k, hook, make, arg);
}

/* The connection of fd when it is followed and still wanted, else NULL. */
static inline struct conn *shim_fd_conn(int fd)
{
	if ((unsigned)fd >= CONN_FD_MAX)
		return NULL;
	uint32_t idx = atomic_load_explicit(&shim_fd_map[fd], memory_order_acquire);
	if (!idx)
		return NULL;
	struct conn *c = shim_conn_at(idx - 1);
	if (atomic_load_explicit(&c->key, memory_order_acquire) != conn_key_fd(fd) ||
	    atomic_load_explicit(&c->passthrough, memory_order_relaxed))
		return NULL;
	return c;
}

#endif
