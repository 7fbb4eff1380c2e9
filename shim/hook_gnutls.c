/* GnuTLS: gnutls_record_send, gnutls_record_recv (the server's answers),
 * gnutls_server_name_set (the host name) and gnutls_deinit (the connection's end). No GnuTLS headers: the few types are
 * declared here as the ABI has them (GnuTLS 3). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "shim/fast.h"
#include "shim/shim.h"

typedef struct gnutls_session_int *gnutls_session_t;
#define SHIM_GNUTLS_NAME_DNS 1

enum { G_SEND, G_NAME_SET, G_DEINIT, G_TRANSPORT_GET_INT, G_RECV, G__COUNT };

static const char *const names[G__COUNT] = {
	[G_SEND] = "gnutls_record_send",
	[G_NAME_SET] = "gnutls_server_name_set",
	[G_DEINIT] = "gnutls_deinit",
	[G_TRANSPORT_GET_INT] = "gnutls_transport_get_int",
	[G_RECV] = "gnutls_record_recv",
};

typedef ssize_t (*send_fn)(gnutls_session_t, const void *, size_t);
typedef ssize_t (*recv_fn)(gnutls_session_t, void *, size_t);
typedef int (*name_set_fn)(gnutls_session_t, int, const void *, size_t);
typedef void (*deinit_fn)(gnutls_session_t);
typedef int (*get_int_fn)(gnutls_session_t);

struct realfamily shim_gnutls_family = {
	.soname = "libgnutls.so",
	.names = names,
	.nnames = G__COUNT,
};
#define F (&shim_gnutls_family)

/* Makes a session's connection (shim_conn_make_fn): its peer. */
struct session_make {
	struct reallib *l;
	gnutls_session_t s;
	const char *hook;
};

static struct conn *session_make(conn_key key, void *arg)
{
	struct session_make *m = arg;
	struct conn *c = conn_add(key, "gnutls", 1);
	if (c) {
		c->hook = m->hook;
		get_int_fn gi = (get_int_fn)reallib_fn(F, m->l, G_TRANSPORT_GET_INT);
		conn_set_peer_fd(c, gi ? gi(m->s) : -1);
	}
	return c;
}

/* The connection of s, locked (the thread's last one: shim_conn_get); made
 * when create is set. */
static struct conn *session_conn(struct reallib *l, gnutls_session_t s, int create, const char *hook)
{
	struct session_make m = { l, s, hook };
	return shim_conn_get(conn_key_ptr(CONN_GNUTLS, s), create ? session_make : NULL, &m);
}

/* GnuTLS's codes for a send to be retried (gnutls/gnutls.h). */
#define SHIM_GNUTLS_E_AGAIN (-28)
#define SHIM_GNUTLS_E_INTERRUPTED (-52)

/* A send that must be retried: GnuTLS has taken (a record's worth of) the
 * data and will report it sent on a retry, which may pass NULL, 0 (the
 * documented way) after the caller let go of the buffer. Keep a copy. */
static void pend_keep(struct conn *c, const void *data, size_t size)
{
	if (atomic_load_explicit(&c->passthrough, memory_order_relaxed))
		return;
	if (!c->pend) {
		void *p = mmap(NULL, CONN_PEND_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return;
		c->pend = p;
	}
	c->pend_n = size < CONN_PEND_MAX ? size : CONN_PEND_MAX;
	memcpy(c->pend, data, c->pend_n);
	/* no quick way while a copy waits: the next send wipes it */
	conn_quick_off(c);
}

/* After a send's real call (outside the quick way, or a quick one not put
 * out whole): r bytes sent are taken by the fast path or fed (a retry with
 * NULL, 0 reports the copy pend_keep made), a send to be retried keeps a
 * copy. Inside the guard; errno kept. */
static void __attribute__((noinline)) record_sent(struct reallib *l, gnutls_session_t s, const void *data,
						  size_t size, ssize_t r, const char *hook)
{
	int saved = errno;
	if (r > 0) {
		struct conn *c = session_conn(l, s, 1, hook);
		if (c) {
			if (shim_nested_id == 0)
				shim_nested_id = (int64_t)c->id;
			conn_hook_fed(c, hook);
			if (data && size) {
				size_t n = (size_t)r < size ? (size_t)r : size;
				size_t k = c->pend_n ? 0 : shim_take_locked(c, data, n);
				if (k < n)
					shim_feed(c, (const char *)data + k, n - k);
			} else if (c->pend_n) {
				/* the retry of a send that returned E_AGAIN */
				shim_feed(c, c->pend, (size_t)r < c->pend_n ? (size_t)r : c->pend_n);
			}
			if (c->pend_n)
				explicit_bzero(c->pend, c->pend_n); /* a token stays no longer than needed */
			c->pend_n = 0;
			conn_unlock(c);
		}
	} else if ((r == SHIM_GNUTLS_E_AGAIN || r == SHIM_GNUTLS_E_INTERRUPTED) && data && size) {
		struct conn *c = session_conn(l, s, 1, hook);
		if (c) {
			pend_keep(c, data, size);
			conn_unlock(c);
		}
	}
	errno = saved;
}

/* The quick way (shim/fast.h) first: a send put out whole that needs no
 * feed costs nothing more. */
static inline ssize_t record_send(send_fn real, struct reallib *l, gnutls_session_t s, const void *data, size_t size,
				  const char *hook)
{
	if (!shim_tls_write_active())
		return real(s, data, size);
	int was = shim_in;
	int q = data && size && shim_tls_quick(conn_key_ptr(CONN_GNUTLS, s), data, size);
	shim_in = 1;
	int inner = q ? 0 : shim_inner_begin();
	ssize_t r = real(s, data, size);
	if (!q || r != (ssize_t)size)
		record_sent(l, s, data, size, r, hook);
	if (!q)
		shim_inner_end(inner);
	shim_in = was;
	return r;
}

SHIM_HIDDEN ssize_t shim_gnutls_record_send(gnutls_session_t s, const void *data, size_t size)
{
	if (__builtin_expect(!atomic_load_explicit(&shim_ready, memory_order_acquire), 0)) {
		send_fn idle = (send_fn)realfamily_idle_fn(F, __builtin_return_address(0), G_SEND);
		if (!idle) {
			errno = ENOSYS;
			return -1;
		}
		return idle(s, data, size);
	}
	/* the call site's library and function, cached per thread */
	const void *ret = __builtin_return_address(0);
	struct shim_site *sc = &shim_thr.sites[SITE_GNUTLS_SEND];
	if (__builtin_expect(sc->site != ret, 0)) {
		struct reallib *l = realfamily_for_caller(F, ret);
		send_fn real = (send_fn)reallib_call_fn(F, l, G_SEND);
		if (!real) {
			errno = ENOSYS;
			return -1;
		}
		sc->fn = (void *)real;
		sc->lib = l;
		sc->site = ret;
	}
	return record_send((send_fn)sc->fn, sc->lib, s, data, size, "plt");
}
SHIM_EXPORT ssize_t gnutls_record_send(gnutls_session_t, const void *, size_t)
	__attribute__((alias("shim_gnutls_record_send")));

SHIM_HIDDEN int shim_gnutls_server_name_set(gnutls_session_t s, int type, const void *name, size_t len)
{
	if (__builtin_expect(!atomic_load_explicit(&shim_ready, memory_order_acquire), 0)) {
		name_set_fn idle = (name_set_fn)realfamily_idle_fn(F, __builtin_return_address(0), G_NAME_SET);
		if (!idle) {
			errno = ENOSYS;
			return -1;
		}
		return idle(s, type, name, len);
	}
	struct reallib *l = realfamily_for_caller(F, __builtin_return_address(0));
	name_set_fn real = (name_set_fn)reallib_call_fn(F, l, G_NAME_SET);
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	/* the host's call, also from a callback inside a TLS read (shim_tls_write_active) */
	if (!shim_tls_write_active())
		return real(s, type, name, len);
	int was = shim_in;
	shim_in = 1;
	int r = real(s, type, name, len);
	int saved = errno;
	if (r == 0 && type == SHIM_GNUTLS_NAME_DNS && name) {
		struct conn *c = session_conn(l, s, 1, "plt");
		if (c) {
			conn_set_host(c, name, strnlen(name, len));
			conn_unlock(c);
		}
	}
	shim_in = was;
	errno = saved;
	return r;
}
SHIM_EXPORT int gnutls_server_name_set(gnutls_session_t, int, const void *, size_t)
	__attribute__((alias("shim_gnutls_server_name_set")));

SHIM_HIDDEN void shim_gnutls_deinit(gnutls_session_t s)
{
	if (__builtin_expect(!atomic_load_explicit(&shim_ready, memory_order_acquire), 0)) {
		deinit_fn idle = (deinit_fn)realfamily_idle_fn(F, __builtin_return_address(0), G_DEINIT);
		if (idle)
			idle(s);
		return;
	}
	struct reallib *l = realfamily_for_caller(F, __builtin_return_address(0));
	deinit_fn real = (deinit_fn)reallib_call_fn(F, l, G_DEINIT);
	/* the host's call, also from a callback inside a TLS read (shim_tls_write_active) */
	if (shim_tls_write_active() && s)
		shim_conn_close_hooked(conn_key_ptr(CONN_GNUTLS, s));
	if (real)
		real(s);
}
SHIM_EXPORT void gnutls_deinit(gnutls_session_t) __attribute__((alias("shim_gnutls_deinit")));

/* The server's answers: the bytes a receive returned (never more than the
 * host's buffer), on a session the client wrote on. */
SHIM_HIDDEN ssize_t shim_gnutls_record_recv(gnutls_session_t s, void *data, size_t size)
{
	if (__builtin_expect(!atomic_load_explicit(&shim_ready, memory_order_acquire), 0)) {
		recv_fn idle = (recv_fn)realfamily_idle_fn(F, __builtin_return_address(0), G_RECV);
		if (!idle) {
			errno = ENOSYS;
			return -1;
		}
		return idle(s, data, size);
	}
	struct reallib *l = realfamily_for_caller(F, __builtin_return_address(0));
	recv_fn real = (recv_fn)reallib_call_fn(F, l, G_RECV);
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	if (!shim_read_on || !shim_active())
		return real(s, data, size);
	shim_in = SHIM_IN_TLS_READ;
	ssize_t r = real(s, data, size);
	shim_in = 1;
	if (r > 0 && data && size) {
		int saved = errno;
		struct conn *c = session_conn(l, s, 0, "plt");
		if (c) {
			shim_feed_read(c, data, (size_t)r < size ? (size_t)r : size);
			conn_unlock(c);
		}
		errno = saved;
	}
	shim_in = 0;
	return r;
}
SHIM_EXPORT ssize_t gnutls_record_recv(gnutls_session_t, void *, size_t)
	__attribute__((alias("shim_gnutls_record_recv")));

/* ---- entry-patched copies (targets.c): a library bound to its own GnuTLS,
 * a static copy. */
static struct inline_site site_send[INLINE_COPIES];

#define SITE_HOOK(k)                                                                                   \
	static ssize_t inl_send_##k(gnutls_session_t s, const void *d, size_t n)                        \
	{                                                                                              \
		struct inline_site *st = &site_send[k];                                                \
		return record_send((send_fn)atomic_load_explicit(&st->orig, memory_order_acquire), st->lib, s, \
				   d, n, "inline");                                                    \
	}
SITE_HOOK(0)
SITE_HOOK(1)
SITE_HOOK(2)
SITE_HOOK(3)
_Static_assert(INLINE_COPIES == 4, "one SITE_HOOK line per copy");

static const struct inline_target t_send = {
	INLINE_SYMBOL("gnutls_record_send"),
	.kind = IK_WRITE,
	.family = F,
	.fn = G_SEND,
	.hook = { (void *)inl_send_0, (void *)inl_send_1, (void *)inl_send_2, (void *)inl_send_3 },
	.site = site_send,
};

const struct inline_target *const shim_gnutls_inline[] = { &t_send, NULL };
