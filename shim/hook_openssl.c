/* OpenSSL 3 (and 1.1.1, whose symbols match): SSL_write, SSL_write_ex (curl
 * uses the first, Python the second; neither calls the other) and SSL_ctrl
 * for the host name (SSL_set_tlsext_host_name is a macro over it).
 *
 * The shim does not link libssl: each call is forwarded to the SSL_* of the
 * libssl the calling object uses (real.c). SSL_free is reference-counted and
 * not hooked: a connection's state ends in the free callback of an ex_data
 * index registered on that libssl's libcrypto. */
#include <errno.h>
#include <string.h>

#include <openssl/ssl.h>

#include "shim/fast.h"
#include "shim/shim.h"

enum {
	O_WRITE,
	O_WRITE_EX,
	O_CTRL,
	O_GET_FD,
	O_SERVERNAME,
	O_SET_EX_DATA,
	O_EX_NEW_INDEX,
	O_READ,
	O_READ_EX,
	O_BIO_F_SSL,
	O_BIO_METH_GET_WRITE_EX,
	O_BIO_CTRL,
	O__COUNT
};

static const char *const names[O__COUNT] = {
	[O_WRITE] = "SSL_write",
	[O_WRITE_EX] = "SSL_write_ex",
	[O_CTRL] = "SSL_ctrl",
	[O_GET_FD] = "SSL_get_fd",
	[O_SERVERNAME] = "SSL_get_servername",
	[O_SET_EX_DATA] = "SSL_set_ex_data",
	[O_EX_NEW_INDEX] = "CRYPTO_get_ex_new_index",
	[O_READ] = "SSL_read",
	[O_READ_EX] = "SSL_read_ex",
	[O_BIO_F_SSL] = "BIO_f_ssl",
	[O_BIO_METH_GET_WRITE_EX] = "BIO_meth_get_write_ex",
	[O_BIO_CTRL] = "BIO_ctrl",
};

typedef int (*write_fn)(SSL *, const void *, int);
typedef int (*write_ex_fn)(SSL *, const void *, size_t, size_t *);
typedef int (*read_fn)(SSL *, void *, int);
typedef int (*read_ex_fn)(SSL *, void *, size_t, size_t *);
typedef long (*ctrl_fn)(SSL *, int, long, void *);
typedef int (*get_fd_fn)(const SSL *);
typedef const char *(*servername_fn)(const SSL *, const int);
typedef int (*set_ex_data_fn)(SSL *, int, void *);
typedef int (*ex_new_index_fn)(int, long, void *, CRYPTO_EX_new *, CRYPTO_EX_dup *, CRYPTO_EX_free *);

static void on_new(struct reallib *l);

struct realfamily shim_openssl_family = {
	.soname = "libssl.so",
	.names = names,
	.nnames = O__COUNT,
	.on_new = on_new,
};
#define F (&shim_openssl_family)

/* Called by libcrypto when an SSL is finally freed (its reference count
 * reached zero), for every SSL: ptr is what we set, NULL on the others. */
static void ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)ad, (void)idx, (void)argl, (void)argp;
	if (!ptr)
		return;
	shim_conn_close_hooked(conn_key_ptr(CONN_SSL, parent));
}

static void on_new(struct reallib *l)
{
	ex_new_index_fn fn = (ex_new_index_fn)atomic_load(&l->fn[O_EX_NEW_INDEX]);
	l->aux = fn ? fn(CRYPTO_EX_INDEX_SSL, 0, NULL, NULL, NULL, ex_free) : -1;
}

/* The call site of a hook and the real function it reaches, cached per
 * thread (shim/thread.h): realfamily_for_caller and reallib_call_fn once
 * per site, not per call. */
static inline void *site_fn(enum shim_site_id id, const void *ret, size_t i, struct reallib **lp)
{
	struct shim_site *sc = &shim_thr.sites[id];
	if (__builtin_expect(sc->site == ret, 1)) {
		*lp = sc->lib;
		return sc->fn;
	}
	struct reallib *l = realfamily_for_caller(F, ret);
	void *fn = reallib_call_fn(F, l, i);
	if (fn) {
		sc->fn = fn;
		sc->lib = l;
		sc->site = ret;
	}
	*lp = l;
	return fn;
}

/* Makes ssl's connection (shim_conn_make_fn): its host, peer and ex_data. */
struct ssl_make {
	struct reallib *l;
	SSL *ssl;
	const char *hook;
};

static struct conn *ssl_make(conn_key key, void *arg)
{
	struct ssl_make *m = arg;
	struct reallib *l = m->l;
	SSL *ssl = m->ssl;
	struct conn *c = conn_add(key, "openssl", 1);
	if (!c)
		return NULL;
	c->hook = m->hook;
	set_ex_data_fn set = (set_ex_data_fn)reallib_fn(F, l, O_SET_EX_DATA);
	if (l->aux >= 0 && set)
		set(ssl, l->aux, ssl);
	servername_fn sn = (servername_fn)reallib_fn(F, l, O_SERVERNAME);
	const char *h = sn ? sn(ssl, TLSEXT_NAMETYPE_host_name) : NULL;
	if (h)
		conn_set_host(c, h, strlen(h));
	get_fd_fn gfd = (get_fd_fn)reallib_fn(F, l, O_GET_FD);
	conn_set_peer_fd(c, gfd ? gfd(ssl) : -1);
	return c;
}

/* The connection of ssl, locked; made (with its host, peer and ex_data)
 * when create is set. Called inside the guard. */
static struct conn *ssl_conn(struct reallib *l, SSL *ssl, int create, const char *hook)
{
	struct ssl_make m = { l, ssl, hook };
	return shim_conn_get(conn_key_ptr(CONN_SSL, ssl), create ? ssl_make : NULL, &m);
}

/* The n bytes a write on ssl put out (inside the guard): the fast path,
 * else the feed. */
static inline void feed_write(struct reallib *l, SSL *ssl, const void *buf, size_t n, const char *hook)
{
	struct ssl_make m = { l, ssl, hook };
	shim_tls_written(conn_key_ptr(CONN_SSL, ssl), buf, n, hook, ssl_make, &m);
}

/* The rest of a write that went the quick way (shim_tls_quick) but was put
 * out in part, n bytes (the guard left): fed as any other write. r is
 * returned. */
static int __attribute__((noinline)) quick_part(const void *ret, SSL *ssl, const void *buf, size_t n, int r)
{
	int saved = errno;
	shim_in = 1;
	struct reallib *l = realfamily_for_caller(F, ret);
	if (l)
		feed_write(l, ssl, buf, n, "plt");
	shim_in = 0;
	errno = saved;
	return r;
}

/* The quick way's real calls: what the rest needs is kept in the thread's
 * block (shim_thr.quick) rather than in registers saved around the call.
 * shim_thr.quick is written and read only while shim_in is set (the signal
 * fences keep the compiler to that order), so a signal handler's SSL_write
 * in between goes the guarded way and leaves it alone. */
static inline __attribute__((always_inline)) int quick_write(SSL *ssl, const void *buf, int num, const void *ret)
{
	shim_in = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	shim_thr.quick.ret = ret;
	shim_thr.quick.ssl = ssl;
	shim_thr.quick.buf = buf;
	shim_thr.quick.num = (size_t)num;
	write_fn real = (write_fn)shim_thr.sites[SITE_SSL_WRITE].fn;
	int r = real(ssl, buf, num);
	if (__builtin_expect(r <= 0 || (size_t)r >= shim_thr.quick.num, 1)) {
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		shim_in = 0;
		return r;
	}
	const void *qret = shim_thr.quick.ret, *qbuf = shim_thr.quick.buf;
	SSL *qssl = shim_thr.quick.ssl;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	shim_in = 0;
	return quick_part(qret, qssl, qbuf, (size_t)r, r);
}

static inline __attribute__((always_inline)) int quick_write_ex(SSL *ssl, const void *buf, size_t num,
								size_t *written, const void *ret)
{
	shim_in = 1; /* as in quick_write */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	shim_thr.quick.ret = ret;
	shim_thr.quick.ssl = ssl;
	shim_thr.quick.buf = buf;
	shim_thr.quick.num = num;
	shim_thr.quick.written = written;
	write_ex_fn real = (write_ex_fn)shim_thr.sites[SITE_SSL_WRITE_EX].fn;
	int r = real(ssl, buf, num, written);
	size_t *w = shim_thr.quick.written;
	if (__builtin_expect(r != 1 || !w || *w >= shim_thr.quick.num || !*w, 1)) {
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		shim_in = 0;
		return r;
	}
	const void *qret = shim_thr.quick.ret, *qbuf = shim_thr.quick.buf;
	SSL *qssl = shim_thr.quick.ssl;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	shim_in = 0;
	return quick_part(qret, qssl, qbuf, *w, r);
}

static int __attribute__((noinline)) write_slow(SSL *ssl, const void *buf, int num, const void *ret)
{
	struct reallib *l;
	if (__builtin_expect(!atomic_load_explicit(&shim_ready, memory_order_acquire), 0)) {
		write_fn idle = (write_fn)realfamily_idle_fn(F, ret, O_WRITE);
		if (!idle) {
			errno = ENOSYS;
			return -1;
		}
		return idle(ssl, buf, num);
	}
	write_fn real = (write_fn)site_fn(SITE_SSL_WRITE, ret, O_WRITE, &l);
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	if (!shim_tls_write_active())
		return real(ssl, buf, num);
	int was = shim_in;
	shim_in = 1;
	int inner = shim_inner_begin();
	int r = real(ssl, buf, num);
	if (r > 0)
		feed_write(l, ssl, buf, (size_t)r, "plt");
	shim_inner_end(inner);
	shim_in = was;
	return r;
}

static int write_ex_slow(SSL *ssl, const void *buf, size_t num, size_t *written, const void *ret);

/* A Twilsock message on the quick way's doorstep: decided out of line. */
static int __attribute__((noinline)) write_tw(SSL *ssl, const void *buf, int num, const void *ret)
{
	if (shim_quick_tw(shim_thr.last, buf, (size_t)num))
		return quick_write(ssl, buf, num, ret);
	return write_slow(ssl, buf, num, ret);
}

static int __attribute__((noinline)) write_ex_tw(SSL *ssl, const void *buf, size_t num, size_t *written,
						  const void *ret)
{
	if (shim_quick_tw(shim_thr.last, buf, num))
		return quick_write_ex(ssl, buf, num, written, ret);
	return write_ex_slow(ssl, buf, num, written, ret);
}

/* The quick way first (shim/fast.h): the site known, a write that needs no
 * feed when put out whole; every other way out a tail call, so that the
 * common case saves no registers. */
SHIM_HIDDEN int shim_SSL_write(SSL *ssl, const void *buf, int num)
{
	const void *ret = __builtin_return_address(0);
	if (__builtin_expect(shim_thr.sites[SITE_SSL_WRITE].site == ret, 1) && num > 0) {
		int q = shim_tls_quick3(conn_key_ptr(CONN_SSL, ssl), buf, (size_t)num);
		if (__builtin_expect(q == 1, 1))
			return quick_write(ssl, buf, num, ret);
		if (q == 2)
			return write_tw(ssl, buf, num, ret);
	}
	return write_slow(ssl, buf, num, ret);
}
SHIM_EXPORT int SSL_write(SSL *, const void *, int) __attribute__((alias("shim_SSL_write")));

static int __attribute__((noinline)) write_ex_slow(SSL *ssl, const void *buf, size_t num, size_t *written,
						    const void *ret)
{
	struct reallib *l;
	if (__builtin_expect(!atomic_load_explicit(&shim_ready, memory_order_acquire), 0)) {
		write_ex_fn idle = (write_ex_fn)realfamily_idle_fn(F, ret, O_WRITE_EX);
		if (!idle) {
			errno = ENOSYS;
			return 0;
		}
		return idle(ssl, buf, num, written);
	}
	write_ex_fn real = (write_ex_fn)site_fn(SITE_SSL_WRITE_EX, ret, O_WRITE_EX, &l);
	if (!real) {
		errno = ENOSYS;
		return 0;
	}
	if (!shim_tls_write_active())
		return real(ssl, buf, num, written);
	int was = shim_in;
	shim_in = 1;
	int inner = shim_inner_begin();
	int r = real(ssl, buf, num, written);
	if (r == 1 && written && *written > 0)
		feed_write(l, ssl, buf, *written <= num ? *written : num, "plt");
	shim_inner_end(inner);
	shim_in = was;
	return r;
}

SHIM_HIDDEN int shim_SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written)
{
	const void *ret = __builtin_return_address(0);
	if (__builtin_expect(shim_thr.sites[SITE_SSL_WRITE_EX].site == ret, 1)) {
		int q = shim_tls_quick3(conn_key_ptr(CONN_SSL, ssl), buf, num);
		if (__builtin_expect(q == 1, 1))
			return quick_write_ex(ssl, buf, num, written, ret);
		if (q == 2)
			return write_ex_tw(ssl, buf, num, written, ret);
	}
	return write_ex_slow(ssl, buf, num, written, ret);
}
SHIM_EXPORT int SSL_write_ex(SSL *, const void *, size_t, size_t *) __attribute__((alias("shim_SSL_write_ex")));

SHIM_HIDDEN long shim_SSL_ctrl(SSL *ssl, int cmd, long larg, void *parg)
{
	if (__builtin_expect(!atomic_load_explicit(&shim_ready, memory_order_acquire), 0)) {
		ctrl_fn idle = (ctrl_fn)realfamily_idle_fn(F, __builtin_return_address(0), O_CTRL);
		if (!idle) {
			errno = ENOSYS;
			return 0;
		}
		return idle(ssl, cmd, larg, parg);
	}
	struct reallib *l = realfamily_for_caller(F, __builtin_return_address(0));
	ctrl_fn real = (ctrl_fn)reallib_call_fn(F, l, O_CTRL);
	if (!real) {
		errno = ENOSYS;
		return 0;
	}
	/* the host's call, also from a callback inside a TLS read (shim_tls_write_active) */
	if (cmd != SSL_CTRL_SET_TLSEXT_HOSTNAME || !shim_tls_write_active())
		return real(ssl, cmd, larg, parg);
	int was = shim_in;
	shim_in = 1;
	long r = real(ssl, cmd, larg, parg);
	int saved = errno;
	if (r == 1 && larg == TLSEXT_NAMETYPE_host_name) {
		struct conn *c = ssl_conn(l, ssl, parg != NULL, "plt");
		if (c) {
			conn_set_host(c, parg, parg ? strlen(parg) : 0);
			conn_unlock(c);
		}
	}
	shim_in = was;
	errno = saved;
	return r;
}
SHIM_EXPORT long SSL_ctrl(SSL *, int, long, void *) __attribute__((alias("shim_SSL_ctrl")));

/* ---- reads: the server's answers ------------------------------------------------ */
/* The n bytes a read on ssl returned (n <= the host's buffer). Only a
 * connection the client wrote on (its session exists) is fed. */
static void __attribute__((noinline)) feed_read(struct reallib *l, SSL *ssl, const void *buf, size_t n)
{
	int saved = errno;
	struct conn *c = ssl_conn(l, ssl, 0, "plt");
	if (c) {
		shim_feed_read(c, buf, n);
		conn_unlock(c);
	}
	errno = saved;
}

SHIM_HIDDEN int shim_SSL_read(SSL *ssl, void *buf, int num)
{
	if (__builtin_expect(!atomic_load_explicit(&shim_ready, memory_order_acquire), 0)) {
		read_fn idle = (read_fn)realfamily_idle_fn(F, __builtin_return_address(0), O_READ);
		if (!idle) {
			errno = ENOSYS;
			return -1;
		}
		return idle(ssl, buf, num);
	}
	struct reallib *l;
	read_fn real = (read_fn)site_fn(SITE_SSL_READ, __builtin_return_address(0), O_READ, &l);
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	if (!shim_read_on || !shim_active())
		return real(ssl, buf, num);
	shim_in = SHIM_IN_TLS_READ;
	int r = real(ssl, buf, num);
	shim_in = 1;
	if (r > 0 && num > 0)
		feed_read(l, ssl, buf, r < num ? (size_t)r : (size_t)num);
	shim_in = 0;
	return r;
}
SHIM_EXPORT int SSL_read(SSL *, void *, int) __attribute__((alias("shim_SSL_read")));

SHIM_HIDDEN int shim_SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes)
{
	if (__builtin_expect(!atomic_load_explicit(&shim_ready, memory_order_acquire), 0)) {
		read_ex_fn idle = (read_ex_fn)realfamily_idle_fn(F, __builtin_return_address(0), O_READ_EX);
		if (!idle) {
			errno = ENOSYS;
			return 0;
		}
		return idle(ssl, buf, num, readbytes);
	}
	struct reallib *l;
	read_ex_fn real = (read_ex_fn)site_fn(SITE_SSL_READ_EX, __builtin_return_address(0), O_READ_EX, &l);
	if (!real) {
		errno = ENOSYS;
		return 0;
	}
	if (!shim_read_on || !shim_active())
		return real(ssl, buf, num, readbytes);
	shim_in = SHIM_IN_TLS_READ;
	int r = real(ssl, buf, num, readbytes);
	shim_in = 1;
	if (r == 1 && readbytes && *readbytes > 0)
		feed_read(l, ssl, buf, *readbytes <= num ? *readbytes : num);
	shim_in = 0;
	return r;
}
SHIM_EXPORT int SSL_read_ex(SSL *, void *, size_t, size_t *) __attribute__((alias("shim_SSL_read_ex")));

/* ---- entry-patched copies (targets.c): Node's bundled OpenSSL, a static
 * libssl.a, a library bound to its own libssl (RTLD_DEEPBIND, -Bsymbolic,
 * an RTLD_NEXT wrapper): the same work, through the site's trampoline. */
static struct inline_site site_write[INLINE_COPIES], site_write_ex[INLINE_COPIES], site_bio[INLINE_COPIES],
	site_read[INLINE_COPIES], site_read_ex[INLINE_COPIES];

/* BIO_f_ssl's write (a static function of libssl, bio_ssl.c): it reaches
 * libssl's internal write without SSL_write. Found with public calls: the
 * method's write_ex function. */
typedef int (*bio_write_fn)(BIO *, const char *, size_t, size_t *);
typedef const BIO_METHOD *(*bio_f_ssl_fn)(void);
typedef bio_write_fn (*meth_get_write_ex_fn)(const BIO_METHOD *);
typedef long (*bio_ctrl_fn)(BIO *, int, long, void *);

static void *find_bio_write(void *const *fns)
{
	bio_f_ssl_fn f = (bio_f_ssl_fn)fns[O_BIO_F_SSL];
	meth_get_write_ex_fn g = (meth_get_write_ex_fn)fns[O_BIO_METH_GET_WRITE_EX];
	const BIO_METHOD *m = f && g ? f() : NULL;
	return m ? (void *)g(m) : NULL;
}

static inline int inl_bio_write(struct inline_site *st, BIO *b, const char *buf, size_t size, size_t *written)
{
	bio_write_fn real = (bio_write_fn)atomic_load_explicit(&st->orig, memory_order_acquire);
	if (!shim_tls_write_active())
		return real(b, buf, size, written);
	int was = shim_in;
	shim_in = 1;
	int inner = shim_inner_begin();
	int r = real(b, buf, size, written);
	if (r > 0 && written && *written > 0) {
		int saved = errno;
		bio_ctrl_fn ctrl = (bio_ctrl_fn)reallib_fn(F, st->lib, O_BIO_CTRL);
		SSL *ssl = NULL;
		if (ctrl && ctrl(b, BIO_C_GET_SSL, 0, &ssl) > 0 && ssl)
			feed_write(st->lib, ssl, buf, *written <= size ? *written : size, "inline");
		errno = saved;
	}
	shim_inner_end(inner);
	shim_in = was;
	return r;
}

/* After an entry hook's real write put out w of n bytes: fed unless the
 * quick way (q) covers them; the guard back to was, errno kept. */
static inline void inl_write_end(struct inline_site *st, int q, int inner, int was, SSL *ssl, const void *buf,
				 size_t n, size_t w)
{
	if (w && (!q || w < n)) {
		int saved = errno;
		feed_write(st->lib, ssl, buf, w, "inline");
		errno = saved;
	}
	if (!q)
		shim_inner_end(inner);
	shim_in = was;
}

static inline int inl_write(struct inline_site *st, SSL *ssl, const void *buf, int num)
{
	write_fn real = (write_fn)atomic_load_explicit(&st->orig, memory_order_acquire);
	if (!shim_tls_write_active())
		return real(ssl, buf, num);
	int was = shim_in;
	int q = num > 0 && shim_tls_quick(conn_key_ptr(CONN_SSL, ssl), buf, (size_t)num);
	shim_in = 1;
	int inner = q ? 0 : shim_inner_begin();
	int r = real(ssl, buf, num);
	inl_write_end(st, q, inner, was, ssl, buf, num > 0 ? (size_t)num : 0, r > 0 ? (size_t)r : 0);
	return r;
}

static inline int inl_write_ex(struct inline_site *st, SSL *ssl, const void *buf, size_t num, size_t *written)
{
	write_ex_fn real = (write_ex_fn)atomic_load_explicit(&st->orig, memory_order_acquire);
	if (!shim_tls_write_active())
		return real(ssl, buf, num, written);
	int was = shim_in;
	int q = shim_tls_quick(conn_key_ptr(CONN_SSL, ssl), buf, num);
	shim_in = 1;
	int inner = q ? 0 : shim_inner_begin();
	int r = real(ssl, buf, num, written);
	inl_write_end(st, q, inner, was, ssl, buf, num,
		      r == 1 && written && *written > 0 ? (*written <= num ? *written : num) : 0);
	return r;
}

/* Reads: as the PLT read hooks, inside the guard's TLS-read state (the
 * socket read beneath is ciphertext, a write from a callback is the host's:
 * SHIM_IN_TLS_READ); a call the PLT hook already holds passes straight on. */
static inline int inl_read(struct inline_site *st, SSL *ssl, void *buf, int num)
{
	read_fn real = (read_fn)atomic_load_explicit(&st->orig, memory_order_acquire);
	if (!shim_read_on || !shim_active())
		return real(ssl, buf, num);
	shim_in = SHIM_IN_TLS_READ;
	int r = real(ssl, buf, num);
	shim_in = 1;
	if (r > 0 && num > 0)
		feed_read(st->lib, ssl, buf, r < num ? (size_t)r : (size_t)num);
	shim_in = 0;
	return r;
}

static inline int inl_read_ex(struct inline_site *st, SSL *ssl, void *buf, size_t num, size_t *readbytes)
{
	read_ex_fn real = (read_ex_fn)atomic_load_explicit(&st->orig, memory_order_acquire);
	if (!shim_read_on || !shim_active())
		return real(ssl, buf, num, readbytes);
	shim_in = SHIM_IN_TLS_READ;
	int r = real(ssl, buf, num, readbytes);
	shim_in = 1;
	if (r == 1 && readbytes && *readbytes > 0)
		feed_read(st->lib, ssl, buf, *readbytes <= num ? *readbytes : num);
	shim_in = 0;
	return r;
}

#define SITE_HOOKS(k)                                                                                  \
	static int inl_read_##k(SSL *s, void *b, int n)                                                \
	{                                                                                              \
		return inl_read(&site_read[k], s, b, n);                                               \
	}                                                                                              \
	static int inl_read_ex_##k(SSL *s, void *b, size_t n, size_t *r)                               \
	{                                                                                              \
		return inl_read_ex(&site_read_ex[k], s, b, n, r);                                      \
	}                                                                                              \
	static int inl_write_##k(SSL *s, const void *b, int n)                                         \
	{                                                                                              \
		return inl_write(&site_write[k], s, b, n);                                             \
	}                                                                                              \
	static int inl_write_ex_##k(SSL *s, const void *b, size_t n, size_t *w)                        \
	{                                                                                              \
		return inl_write_ex(&site_write_ex[k], s, b, n, w);                                    \
	}                                                                                              \
	static int inl_bio_write_##k(BIO *bio, const char *b, size_t n, size_t *w)                     \
	{                                                                                              \
		return inl_bio_write(&site_bio[k], bio, b, n, w);                                      \
	}
SITE_HOOKS(0)
SITE_HOOKS(1)
SITE_HOOKS(2)
SITE_HOOKS(3)
_Static_assert(INLINE_COPIES == 4, "one SITE_HOOKS line per copy");

static const struct inline_target t_write = {
	INLINE_SYMBOL("SSL_write"),
	.kind = IK_WRITE,
	.family = F,
	.fn = O_WRITE,
	.hook = { (void *)inl_write_0, (void *)inl_write_1, (void *)inl_write_2, (void *)inl_write_3 },
	.site = site_write,
};
static const struct inline_target t_write_ex = {
	INLINE_SYMBOL("SSL_write_ex"),
	.kind = IK_WRITE,
	.family = F,
	.fn = O_WRITE_EX,
	.hook = { (void *)inl_write_ex_0, (void *)inl_write_ex_1, (void *)inl_write_ex_2, (void *)inl_write_ex_3 },
	.site = site_write_ex,
};

static const struct inline_target t_bio_write = {
	.symbol = "BIO_f_ssl's write",
	.find = find_bio_write,
	.kind = IK_WRITE,
	.family = F,
	.fn = -1,
	.hook = { (void *)inl_bio_write_0, (void *)inl_bio_write_1, (void *)inl_bio_write_2, (void *)inl_bio_write_3 },
	.site = site_bio,
};

static const struct inline_target t_read = {
	INLINE_SYMBOL("SSL_read"),
	.kind = IK_READ,
	.family = F,
	.fn = O_READ,
	.hook = { (void *)inl_read_0, (void *)inl_read_1, (void *)inl_read_2, (void *)inl_read_3 },
	.site = site_read,
};
static const struct inline_target t_read_ex = {
	INLINE_SYMBOL("SSL_read_ex"),
	.kind = IK_READ,
	.family = F,
	.fn = O_READ_EX,
	.hook = { (void *)inl_read_ex_0, (void *)inl_read_ex_1, (void *)inl_read_ex_2, (void *)inl_read_ex_3 },
	.site = site_read_ex,
};

const struct inline_target *const shim_openssl_inline[] = { &t_write, &t_write_ex, &t_bio_write, &t_read, &t_read_ex,
							    NULL };
