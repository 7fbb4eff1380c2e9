/* mbedTLS (2.x and 3.x share these prototypes): mbedtls_ssl_write, the host
 * from mbedtls_ssl_set_hostname, the end in mbedtls_ssl_free. Hooked at
 * their entries only (targets.c), wherever the library is: a shared
 * libmbedtls, a static copy in the executable. No mbedTLS headers: the
 * context is an opaque pointer. */
#include <errno.h>
#include <string.h>

#include "shim/hook_key.h"
#include "shim/shim.h"

enum { M_WRITE, M_SET_HOSTNAME, M_FREE, M_READ, M__COUNT };

static const char *const names[M__COUNT] = {
	[M_WRITE] = "mbedtls_ssl_write",
	[M_SET_HOSTNAME] = "mbedtls_ssl_set_hostname",
	[M_FREE] = "mbedtls_ssl_free",
	[M_READ] = "mbedtls_ssl_read",
};

struct realfamily shim_mbedtls_family = {
	.soname = "libmbedtls.so",
	.names = names,
	.nnames = M__COUNT,
};
#define F (&shim_mbedtls_family)

typedef int (*write_fn)(void *, const unsigned char *, size_t);
typedef int (*hostname_fn)(void *, const char *);
typedef int (*read_fn)(void *, unsigned char *, size_t);
typedef void (*free_fn)(void *);

static struct inline_site site_write[INLINE_COPIES], site_host[INLINE_COPIES], site_free[INLINE_COPIES],
	site_read[INLINE_COPIES];

static inline void *orig_of(struct inline_site *st)
{
	return atomic_load_explicit(&st->orig, memory_order_acquire);
}

static int ssl_write(struct inline_site *st, void *ssl, const unsigned char *buf, size_t len)
{
	write_fn real = (write_fn)orig_of(st);
	if (!shim_tls_write_active())
		return real(ssl, buf, len);
	conn_key key = conn_key_space(CONN_SPACE_MBEDTLS, ssl);
	int was, inner, q = hook_key_write_begin(key, buf, len, &inner, &was);
	int r = real(ssl, buf, len);
	/* the bytes written; 0 and the negative MBEDTLS_ERR_* count nothing */
	hook_key_write_end(q, inner, was, key, "mbedtls", "inline", buf, len, r > 0 && (size_t)r <= len ? (size_t)r : 0);
	return r;
}

/* The server's answers: the bytes a read returned (0 and the negative
 * MBEDTLS_ERR_* read nothing), on a connection the client wrote on. */
static int ssl_read(struct inline_site *st, void *ssl, unsigned char *buf, size_t len)
{
	read_fn real = (read_fn)orig_of(st);
	if (!shim_read_on || !shim_active())
		return real(ssl, buf, len);
	shim_in = SHIM_IN_TLS_READ;
	int r = real(ssl, buf, len);
	shim_in = 1;
	int saved = errno;
	if (r > 0 && (size_t)r <= len)
		hook_key_read(conn_key_space(CONN_SPACE_MBEDTLS, ssl), buf, (size_t)r);
	shim_in = 0;
	errno = saved;
	return r;
}

static int set_hostname(struct inline_site *st, void *ssl, const char *host)
{
	hostname_fn real = (hostname_fn)orig_of(st);
	/* the host's call, also from a callback inside a TLS read (shim_tls_write_active) */
	if (!shim_tls_write_active())
		return real(ssl, host);
	int was = shim_in;
	shim_in = 1;
	int r = real(ssl, host);
	int saved = errno;
	if (r == 0)
		hook_key_host(conn_key_space(CONN_SPACE_MBEDTLS, ssl), "mbedtls", "inline", host,
			      host ? strnlen(host, 255) : 0);
	shim_in = was;
	errno = saved;
	return r;
}

static void ssl_free(struct inline_site *st, void *ssl)
{
	free_fn real = (free_fn)orig_of(st);
	/* the host's call, also from a callback inside a TLS read (shim_tls_write_active) */
	if (shim_tls_write_active() && ssl)
		shim_conn_close_hooked(conn_key_space(CONN_SPACE_MBEDTLS, ssl));
	real(ssl);
}

#define SITE_HOOKS(k)                                                                                  \
	static int inl_write_##k(void *s, const unsigned char *b, size_t n)                            \
	{                                                                                              \
		return ssl_write(&site_write[k], s, b, n);                                             \
	}                                                                                              \
	static int inl_read_##k(void *s, unsigned char *b, size_t n)                                   \
	{                                                                                              \
		return ssl_read(&site_read[k], s, b, n);                                               \
	}                                                                                              \
	static int inl_host_##k(void *s, const char *h)                                                \
	{                                                                                              \
		return set_hostname(&site_host[k], s, h);                                              \
	}                                                                                              \
	static void inl_free_##k(void *s)                                                              \
	{                                                                                              \
		ssl_free(&site_free[k], s);                                                            \
	}
SITE_HOOKS(0)
SITE_HOOKS(1)
SITE_HOOKS(2)
SITE_HOOKS(3)
_Static_assert(INLINE_COPIES == 4, "one SITE_HOOKS line per copy");

static const struct inline_target t_write = {
	INLINE_SYMBOL("mbedtls_ssl_write"),
	.kind = IK_WRITE,
	.family = F,
	.fn = M_WRITE,
	.hook = { (void *)inl_write_0, (void *)inl_write_1, (void *)inl_write_2, (void *)inl_write_3 },
	.site = site_write,
};
static const struct inline_target t_host = {
	INLINE_SYMBOL("mbedtls_ssl_set_hostname"),
	.kind = IK_HOST,
	.family = F,
	.fn = M_SET_HOSTNAME,
	.hook = { (void *)inl_host_0, (void *)inl_host_1, (void *)inl_host_2, (void *)inl_host_3 },
	.site = site_host,
};
static const struct inline_target t_free = {
	INLINE_SYMBOL("mbedtls_ssl_free"),
	.kind = IK_FREE,
	.family = F,
	.fn = M_FREE,
	.hook = { (void *)inl_free_0, (void *)inl_free_1, (void *)inl_free_2, (void *)inl_free_3 },
	.site = site_free,
};

static const struct inline_target t_read = {
	INLINE_SYMBOL("mbedtls_ssl_read"),
	.kind = IK_READ,
	.family = F,
	.fn = M_READ,
	.hook = { (void *)inl_read_0, (void *)inl_read_1, (void *)inl_read_2, (void *)inl_read_3 },
	.site = site_read,
};

const struct inline_target *const shim_mbedtls_inline[] = { &t_write, &t_host, &t_free, &t_read, NULL };
