/* The connection work of a hook whose connection is a plain key (mbedTLS,
 * wolfSSL, TOKSHIM_HOOKS descriptions): no library call to learn the host or
 * the socket, which come from the host-name hooks and from the socket the
 * library wrote to underneath (shim_inner_fd). Called inside the guard. */
#ifndef TOKSHIM_SHIM_HOOK_KEY_H
#define TOKSHIM_SHIM_HOOK_KEY_H

#include <string.h>

#include "shim/fast.h"
#include "shim/shim.h"

/* Makes a plain key's connection (shim_conn_make_fn). */
struct hook_key_make {
	const char *library, *hook;
};

static inline struct conn *hook_key_make(conn_key key, void *arg)
{
	const struct hook_key_make *m = arg;
	struct conn *c = conn_add(key, m->library, 1);
	if (c)
		c->hook = m->hook;
	return c;
}

/* The n bytes written on key's connection (created when new): the fast
 * path's take, the rest fed (shim_tls_written). */
static inline void hook_key_feed(conn_key key, const char *library, const char *hook, const void *buf, size_t n)
{
	if (!n || !buf)
		return;
	struct hook_key_make m = { library, hook };
	shim_tls_written(key, buf, n, hook, hook_key_make, &m);
}

/* An entry hook's TLS write of n bytes on key, around its real call (the
 * caller checked shim_tls_write_active): the guard set (what it was in
 * *was); 1 when the write goes the quick way (shim/fast.h: never inside a
 * TLS read), else 0 with the socket underneath recorded (*inner for
 * hook_key_write_end). */
static inline int hook_key_write_begin(conn_key key, const void *buf, size_t n, int *inner, int *was)
{
	*was = shim_in;
	int q = n && buf && shim_tls_quick(key, buf, n);
	shim_in = 1;
	*inner = q ? 0 : shim_inner_begin();
	return q;
}

/* After the real call put out w of the n bytes (0: none): fed unless the
 * quick way covers them (all put out); the guard back to was, errno kept. */
static inline void hook_key_write_end(int q, int inner, int was, conn_key key, const char *library,
				      const char *hook, const void *buf, size_t n, size_t w)
{
	if (!q || (w && w < n)) {
		int saved = errno;
		hook_key_feed(key, library, hook, buf, w);
		errno = saved;
	}
	if (!q)
		shim_inner_end(inner);
	shim_in = was;
}

/* Feeds the n bytes a read on key's connection returned (the server's
 * answers); nothing when the connection is not followed. */
static inline void hook_key_read(conn_key key, const void *buf, size_t n)
{
	if (!n || !buf)
		return;
	struct conn *c = conn_find(key);
	if (!c)
		return;
	shim_feed_read(c, buf, n);
	conn_unlock(c);
}

/* The host name (SNI) of key's connection; created when a name is given. */
static inline void hook_key_host(conn_key key, const char *library, const char *hook, const char *host, size_t n)
{
	struct conn *c = conn_find(key);
	if (!c && host && n && (c = conn_add(key, library, 1)))
		c->hook = hook;
	if (c) {
		conn_set_host(c, host, n);
		conn_unlock(c);
	}
}

#endif
