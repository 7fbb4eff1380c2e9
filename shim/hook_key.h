/* The connection work of a hook whose connection is a plain key (mbedTLS,
 * wolfSSL, TOKSHIM_HOOKS descriptions): no library call to learn the host or
 * the socket, which come from the host-name hooks and from the socket the
 * library wrote to underneath (shim_inner_fd). Called inside the guard. */
#ifndef TOKSHIM_SHIM_HOOK_KEY_H
#define TOKSHIM_SHIM_HOOK_KEY_H

#include <string.h>

#include "shim/shim.h"

/* Feeds the n bytes written on key's connection (created when new). */
static inline void hook_key_feed(conn_key key, const char *library, const char *hook, const void *buf, size_t n)
{
	if (!n || !buf)
		return;
	struct conn *c = conn_find(key);
	if (!c && (c = conn_add(key, library, 1)))
		c->hook = hook;
	if (!c)
		return;
	/* the socket the library wrote to underneath, for the peer */
	if (c->fd < 0 && shim_inner_fd >= 0)
		conn_set_peer_fd(c, shim_inner_fd);
	conn_hook_fed(c, hook);
	shim_feed(c, buf, n);
	if (shim_nested_id == 0)
		shim_nested_id = (int64_t)c->id;
	conn_unlock(c);
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
