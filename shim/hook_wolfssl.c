/* wolfSSL: wolfSSL_write, the host from wolfSSL_UseSNI (a host-name SNI) and
 * wolfSSL_check_domain_name, the end in wolfSSL_free. Hooked at their
 * entries only (targets.c). No wolfSSL headers: WOLFSSL is an opaque
 * pointer; WOLFSSL_SUCCESS is 1 and WOLFSSL_SNI_HOST_NAME 0 in its ABI. */
#include <errno.h>
#include <string.h>

#include "shim/hook_key.h"
#include "shim/shim.h"

#define SHIM_WOLFSSL_SUCCESS 1
#define SHIM_WOLFSSL_SNI_HOST_NAME 0

enum { W_WRITE, W_USE_SNI, W_CHECK_DOMAIN, W_FREE, W_READ, W__COUNT };

static const char *const names[W__COUNT] = {
	[W_WRITE] = "wolfSSL_write",
	[W_USE_SNI] = "wolfSSL_UseSNI",
	[W_CHECK_DOMAIN] = "wolfSSL_check_domain_name",
	[W_FREE] = "wolfSSL_free",
	[W_READ] = "wolfSSL_read",
};

struct realfamily shim_wolfssl_family = {
	.soname = "libwolfssl.so",
	.names = names,
	.nnames = W__COUNT,
};
#define F (&shim_wolfssl_family)

typedef int (*write_fn)(void *, const void *, int);
typedef int (*use_sni_fn)(void *, unsigned char, const void *, unsigned short);
typedef int (*check_domain_fn)(void *, const char *);
typedef void (*free_fn)(void *);
typedef int (*read_fn)(void *, void *, int);

static struct inline_site site_write[INLINE_COPIES], site_sni[INLINE_COPIES], site_dom[INLINE_COPIES],
	site_free[INLINE_COPIES], site_read[INLINE_COPIES];

static inline void *orig_of(struct inline_site *st)
{
	return atomic_load_explicit(&st->orig, memory_order_acquire);
}

static int ssl_write(struct inline_site *st, void *ssl, const void *buf, int len)
{
	write_fn real = (write_fn)orig_of(st);
	if (!shim_tls_write_active())
		return real(ssl, buf, len);
	conn_key key = conn_key_space(CONN_SPACE_WOLFSSL, ssl);
	int was, inner, q = hook_key_write_begin(key, buf, len > 0 ? (size_t)len : 0, &inner, &was);
	int r = real(ssl, buf, len);
	hook_key_write_end(q, inner, was, key, "wolfssl", "inline", buf, len > 0 ? (size_t)len : 0,
			   r > 0 && r <= len ? (size_t)r : 0);
	return r;
}

/* The server's answers: the bytes a read returned, on a connection the
 * client wrote on. */
static int ssl_read(struct inline_site *st, void *ssl, void *buf, int len)
{
	read_fn real = (read_fn)orig_of(st);
	if (!shim_read_on || !shim_active())
		return real(ssl, buf, len);
	shim_in = SHIM_IN_TLS_READ;
	int r = real(ssl, buf, len);
	shim_in = 1;
	int saved = errno;
	if (r > 0 && r <= len)
		hook_key_read(conn_key_space(CONN_SPACE_WOLFSSL, ssl), buf, (size_t)r);
	shim_in = 0;
	errno = saved;
	return r;
}

static int use_sni(struct inline_site *st, void *ssl, unsigned char type, const void *data, unsigned short size)
{
	use_sni_fn real = (use_sni_fn)orig_of(st);
	/* the host's call, also from a callback inside a TLS read (shim_tls_write_active) */
	if (!shim_tls_write_active())
		return real(ssl, type, data, size);
	int was = shim_in;
	shim_in = 1;
	int r = real(ssl, type, data, size);
	int saved = errno;
	if (r == SHIM_WOLFSSL_SUCCESS && type == SHIM_WOLFSSL_SNI_HOST_NAME && data)
		hook_key_host(conn_key_space(CONN_SPACE_WOLFSSL, ssl), "wolfssl", "inline", data,
			      strnlen(data, size));
	shim_in = was;
	errno = saved;
	return r;
}

static int check_domain(struct inline_site *st, void *ssl, const char *dn)
{
	check_domain_fn real = (check_domain_fn)orig_of(st);
	/* the host's call, also from a callback inside a TLS read (shim_tls_write_active) */
	if (!shim_tls_write_active())
		return real(ssl, dn);
	int was = shim_in;
	shim_in = 1;
	int r = real(ssl, dn);
	int saved = errno;
	if (r == SHIM_WOLFSSL_SUCCESS && dn)
		hook_key_host(conn_key_space(CONN_SPACE_WOLFSSL, ssl), "wolfssl", "inline", dn, strnlen(dn, 255));
	shim_in = was;
	errno = saved;
	return r;
}

static void ssl_free(struct inline_site *st, void *ssl)
{
	free_fn real = (free_fn)orig_of(st);
	/* the host's call, also from a callback inside a TLS read (shim_tls_write_active) */
	if (shim_tls_write_active() && ssl)
		shim_conn_close_hooked(conn_key_space(CONN_SPACE_WOLFSSL, ssl));
	real(ssl);
}

#define SITE_HOOKS(k)                                                                                  \
	static int inl_write_##k(void *s, const void *b, int n)                                        \
	{                                                                                              \
		return ssl_write(&site_write[k], s, b, n);                                             \
	}                                                                                              \
	static int inl_read_##k(void *s, void *b, int n)                                               \
	{                                                                                              \
		return ssl_read(&site_read[k], s, b, n);                                               \
	}                                                                                              \
	static int inl_sni_##k(void *s, unsigned char t, const void *d, unsigned short n)              \
	{                                                                                              \
		return use_sni(&site_sni[k], s, t, d, n);                                              \
	}                                                                                              \
	static int inl_dom_##k(void *s, const char *dn)                                                \
	{                                                                                              \
		return check_domain(&site_dom[k], s, dn);                                              \
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

#define TARGET(var, sym, kd, idx, pfx, sites)                                                          \
	static const struct inline_target var = {                                                      \
		INLINE_SYMBOL(sym),                                                                    \
		.kind = kd,                                                                            \
		.family = F,                                                                           \
		.fn = idx,                                                                             \
		.hook = { (void *)pfx##0, (void *)pfx##1, (void *)pfx##2, (void *)pfx##3 },            \
		.site = sites,                                                                         \
	}
TARGET(t_write, "wolfSSL_write", IK_WRITE, W_WRITE, inl_write_, site_write);
TARGET(t_sni, "wolfSSL_UseSNI", IK_HOST, W_USE_SNI, inl_sni_, site_sni);
TARGET(t_dom, "wolfSSL_check_domain_name", IK_HOST, W_CHECK_DOMAIN, inl_dom_, site_dom);
TARGET(t_free, "wolfSSL_free", IK_FREE, W_FREE, inl_free_, site_free);
TARGET(t_read, "wolfSSL_read", IK_READ, W_READ, inl_read_, site_read);

const struct inline_target *const shim_wolfssl_inline[] = { &t_write, &t_sni, &t_dom, &t_free, &t_read, NULL };
