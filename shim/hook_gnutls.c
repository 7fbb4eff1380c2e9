/* GnuTLS: gnutls_record_send, gnutls_server_name_set (the host name) and
 * gnutls_deinit (the connection's end). No GnuTLS headers: the few types are
 * declared here as the ABI has them (GnuTLS 3). */
#include <errno.h>
#include <string.h>
#include <sys/types.h>

#include "shim/shim.h"

typedef struct gnutls_session_int *gnutls_session_t;
#define SHIM_GNUTLS_NAME_DNS 1

enum { G_SEND, G_NAME_SET, G_DEINIT, G_TRANSPORT_GET_INT, G__COUNT };

static const char *const names[G__COUNT] = {
	[G_SEND] = "gnutls_record_send",
	[G_NAME_SET] = "gnutls_server_name_set",
	[G_DEINIT] = "gnutls_deinit",
	[G_TRANSPORT_GET_INT] = "gnutls_transport_get_int",
};

typedef ssize_t (*send_fn)(gnutls_session_t, const void *, size_t);
typedef int (*name_set_fn)(gnutls_session_t, int, const void *, size_t);
typedef void (*deinit_fn)(gnutls_session_t);
typedef int (*get_int_fn)(gnutls_session_t);

struct realfamily shim_gnutls_family = {
	.soname = "libgnutls.so",
	.names = names,
	.nnames = G__COUNT,
};
#define F (&shim_gnutls_family)

static struct conn *session_conn(struct reallib *l, gnutls_session_t s, int create)
{
	uintptr_t key = conn_key_ptr(CONN_GNUTLS, s);
	struct conn *c = conn_find(key);
	if (!c && create && (c = conn_add(key, "gnutls", 1))) {
		get_int_fn gi = (get_int_fn)reallib_fn(F, l, G_TRANSPORT_GET_INT);
		conn_set_peer_fd(c, gi ? gi(s) : -1);
	}
	if (c && c->fd < 0 && shim_inner_fd >= 0)
		conn_set_peer_fd(c, shim_inner_fd);
	return c;
}

SHIM_HIDDEN ssize_t shim_gnutls_record_send(gnutls_session_t s, const void *data, size_t size)
{
	struct reallib *l = realfamily_for_caller(F, __builtin_return_address(0));
	send_fn real = (send_fn)reallib_fn(F, l, G_SEND);
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	if (!shim_active())
		return real(s, data, size);
	shim_in = 1;
	shim_inner_fd = -1;
	ssize_t r = real(s, data, size);
	int saved = errno;
	if (r > 0) {
		struct conn *c = session_conn(l, s, 1);
		if (c) {
			shim_feed(c, data, (size_t)r);
			conn_unlock(c);
		}
	}
	shim_inner_fd = -2;
	shim_in = 0;
	errno = saved;
	return r;
}
SHIM_EXPORT ssize_t gnutls_record_send(gnutls_session_t, const void *, size_t)
	__attribute__((alias("shim_gnutls_record_send")));

SHIM_HIDDEN int shim_gnutls_server_name_set(gnutls_session_t s, int type, const void *name, size_t len)
{
	struct reallib *l = realfamily_for_caller(F, __builtin_return_address(0));
	name_set_fn real = (name_set_fn)reallib_fn(F, l, G_NAME_SET);
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	if (!shim_active())
		return real(s, type, name, len);
	shim_in = 1;
	int r = real(s, type, name, len);
	int saved = errno;
	if (r == 0 && type == SHIM_GNUTLS_NAME_DNS && name) {
		struct conn *c = session_conn(l, s, 1);
		if (c) {
			conn_set_host(c, name, strnlen(name, len));
			conn_unlock(c);
		}
	}
	shim_in = 0;
	errno = saved;
	return r;
}
SHIM_EXPORT int gnutls_server_name_set(gnutls_session_t, int, const void *, size_t)
	__attribute__((alias("shim_gnutls_server_name_set")));

SHIM_HIDDEN void shim_gnutls_deinit(gnutls_session_t s)
{
	struct reallib *l = realfamily_for_caller(F, __builtin_return_address(0));
	deinit_fn real = (deinit_fn)reallib_fn(F, l, G_DEINIT);
	if (shim_active() && s) {
		int saved = errno;
		shim_in = 1;
		conn_forget(conn_key_ptr(CONN_GNUTLS, s));
		shim_in = 0;
		errno = saved;
	}
	if (real)
		real(s);
}
SHIM_EXPORT void gnutls_deinit(gnutls_session_t) __attribute__((alias("shim_gnutls_deinit")));
