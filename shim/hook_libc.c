/* Plain TCP (ws://, SIP over TCP): connect, send, sendto, sendmsg, write,
 * writev, close, and dup2/dup3 (which close their target). Only sockets
 * that connected to a TCP peer (AF_INET or AF_INET6, SOCK_STREAM) are
 * followed; a write to any other descriptor costs one look-up in the fd map. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim/fast.h"
#include "shim/shim.h"

/* ---- the one path of every write-family hook -------------------------------------
 * write, send, sendto, sendmsg and writev differ only in how they describe
 * their bytes; each hands them here as an iovec array:
 *   1. write_begin: the followed connection of fd (NULL: straight through);
 *   2. the real call, inside the guard;
 *   3. write_end (one buffer) or write_end_iov: the bytes it put out through
 *      shim_take (the decoder's fast path, no call), segment by segment,
 *      until one needs a feed; the rest through write_feed (under the slot
 *      lock, errno kept). */

/* The rest of a write the fast path did not take: from skip bytes into
 * iov[0], total bytes in all. */
static void __attribute__((noinline)) write_feed(int fd, const struct iovec *iov, size_t cnt, size_t skip,
						 size_t total)
{
	int saved = errno;
	struct conn *c = conn_find(conn_key_fd(fd));
	if (c) {
		for (size_t i = 0; i < cnt && total > 0; i++, skip = 0) {
			size_t len = iov[i].iov_len - skip;
			size_t n = len < total ? len : total;
			if (n)
				shim_feed(c, (const char *)iov[i].iov_base + skip, n);
			total -= n;
		}
		if (shim_nested_id == 0)
			shim_nested_id = (int64_t)c->id;
		conn_unlock(c);
	}
	errno = saved;
}

/* The connection the write on fd feeds, inside the guard from now on; NULL
 * (fd noted for a TLS library's write underneath): straight through. */
static inline __attribute__((always_inline)) struct conn *write_begin(int fd)
{
	struct conn *c = shim_active() ? shim_fd_conn(fd) : NULL;
	if (c)
		shim_in = 1;
	else
		shim_note_inner_fd(fd);
	return c;
}

/* After the real call on c (write_begin's, non-NULL) put out r bytes of
 * buf (write, send, sendto). always_inline: the fast path's take and one
 * test, as cheap as the hook can be; the feed is the cold branch. */
static inline __attribute__((always_inline)) void write_end(struct conn *c, int fd, const void *buf, ssize_t r)
{
	if (r > 0) {
		size_t n = (size_t)r;
		size_t k = shim_take(c, conn_key_fd(fd), buf, n);
		if (__builtin_expect(k < n, 0))
			write_feed(fd, &(struct iovec){ (void *)buf, n }, 1, k, n - k);
	}
	shim_in = 0;
}

/* The same for the r bytes an iovec array put out (sendmsg, writev): each
 * segment through the fast path's take until one needs a feed, the rest of
 * the write through write_feed. */
static void write_end_iov(struct conn *c, int fd, const struct iovec *iov, size_t cnt, ssize_t r)
{
	size_t total = r > 0 ? (size_t)r : 0;
	conn_key key = conn_key_fd(fd);
	for (size_t i = 0; i < cnt && total > 0; i++) {
		size_t n = iov[i].iov_len < total ? iov[i].iov_len : total;
		size_t k = shim_take(c, key, iov[i].iov_base, n);
		if (__builtin_expect(k < n, 0)) {
			write_feed(fd, iov + i, cnt - i, k, total - k);
			break;
		}
		total -= n;
	}
	shim_in = 0;
}

/* A write on fd goes straight through: inside the guard (a TLS library's
 * write under a TLS hook, ciphertext: looked at first, as the hook above it
 * costs enough), or on an fd not followed (one load in the fd map). */
static inline __attribute__((always_inline)) int write_passes(int fd)
{
	return shim_in || !shim_fd_mapped(fd);
}

/* ---- connect ------------------------------------------------------------------- */
typedef int (*connect_fn)(int, __CONST_SOCKADDR_ARG, socklen_t);

/* Follows fd after a connect to an IPv4/IPv6 peer. No system call here
 * (a sandboxed host's seccomp filter knows only its own): whether fd is a
 * TCP socket, and still the one that connected, is checked when there is
 * something to report (conn_ident_ok). A connected UDP socket is followed
 * too; its datagrams rarely look like anything and are never reported. A
 * vfork child connecting (rare: it execs or exits) is recognised there
 * too, and its entry dropped. */
static void track(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) || fd < 0 || fd >= CONN_FD_MAX)
		return;
	struct conn *c = conn_add(conn_key_fd(fd), "libc", 0);
	if (c) {
		conn_set_peer_addr(c, sa, len);
		conn_unlock(c);
	}
}

SHIM_HIDDEN int shim_connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	connect_fn real = (connect_fn)SHIM_LIBC(connect);
	if (!shim_active())
		return real(fd, addr, len);
	shim_in = 1;
	int r = real(fd, addr, len);
	int saved = errno;
	if (r == 0 || saved == EINPROGRESS)
		track(fd, addr.__sockaddr__, len);
	shim_in = 0;
	errno = saved;
	return r;
}
SHIM_EXPORT int connect(int, __CONST_SOCKADDR_ARG, socklen_t) __attribute__((alias("shim_connect")));

/* ---- write, send, sendto, sendmsg, writev (one path: write_begin, write_end) --- */
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, __CONST_SOCKADDR_ARG, socklen_t);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef int (*close_fn)(int);

static ssize_t __attribute__((noinline)) write_slow(int fd, const void *buf, size_t n)
{
	write_fn real = (write_fn)SHIM_LIBC(write);
	struct conn *c = write_begin(fd);
	if (!c)
		return real(fd, buf, n);
	ssize_t r = real(fd, buf, n);
	write_end(c, fd, buf, r);
	return r;
}
/* Fast path: a write inside the guard, or on an fd that is not followed (a
 * file, a pipe, the socket under a TLS connection), costs a load or two
 * before anything else (write_passes). */
SHIM_HIDDEN ssize_t shim_write(int fd, const void *buf, size_t n)
{
	write_fn real = (write_fn)atomic_load_explicit(&shim_libc.write, memory_order_acquire);
	if (__builtin_expect(real && write_passes(fd), 1)) {
		shim_note_inner_fd(fd);
		return real(fd, buf, n);
	}
	return write_slow(fd, buf, n);
}
SHIM_EXPORT ssize_t write(int, const void *, size_t) __attribute__((alias("shim_write")));

static ssize_t __attribute__((noinline)) send_slow(int fd, const void *buf, size_t n, int flags)
{
	send_fn real = (send_fn)SHIM_LIBC(send);
	struct conn *c = write_begin(fd);
	if (!c)
		return real(fd, buf, n, flags);
	ssize_t r = real(fd, buf, n, flags);
	write_end(c, fd, buf, r);
	return r;
}
SHIM_HIDDEN ssize_t shim_send(int fd, const void *buf, size_t n, int flags)
{
	send_fn real = (send_fn)atomic_load_explicit(&shim_libc.send, memory_order_acquire);
	if (__builtin_expect(real && write_passes(fd), 1)) {
		shim_note_inner_fd(fd);
		return real(fd, buf, n, flags);
	}
	return send_slow(fd, buf, n, flags);
}
SHIM_EXPORT ssize_t send(int, const void *, size_t, int) __attribute__((alias("shim_send")));

static ssize_t __attribute__((noinline)) sendto_slow(int fd, const void *buf, size_t n, int flags,
						     __CONST_SOCKADDR_ARG addr, socklen_t alen)
{
	sendto_fn real = (sendto_fn)SHIM_LIBC(sendto);
	struct conn *c = write_begin(fd);
	if (!c)
		return real(fd, buf, n, flags, addr, alen);
	ssize_t r = real(fd, buf, n, flags, addr, alen);
	write_end(c, fd, buf, r);
	return r;
}
SHIM_HIDDEN ssize_t shim_sendto(int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG addr,
				socklen_t alen)
{
	sendto_fn real = (sendto_fn)atomic_load_explicit(&shim_libc.sendto, memory_order_acquire);
	if (__builtin_expect(real && write_passes(fd), 1)) {
		shim_note_inner_fd(fd);
		return real(fd, buf, n, flags, addr, alen);
	}
	return sendto_slow(fd, buf, n, flags, addr, alen);
}
SHIM_EXPORT ssize_t sendto(int, const void *, size_t, int, __CONST_SOCKADDR_ARG, socklen_t)
	__attribute__((alias("shim_sendto")));

static ssize_t __attribute__((noinline)) sendmsg_slow(int fd, const struct msghdr *msg, int flags)
{
	sendmsg_fn real = (sendmsg_fn)SHIM_LIBC(sendmsg);
	struct conn *c = write_begin(fd);
	if (!c)
		return real(fd, msg, flags);
	ssize_t r = real(fd, msg, flags);
	write_end_iov(c, fd, msg ? msg->msg_iov : NULL, msg ? msg->msg_iovlen : 0, r);
	return r;
}
SHIM_HIDDEN ssize_t shim_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	sendmsg_fn real = (sendmsg_fn)atomic_load_explicit(&shim_libc.sendmsg, memory_order_acquire);
	if (__builtin_expect(real && write_passes(fd), 1)) {
		shim_note_inner_fd(fd);
		return real(fd, msg, flags);
	}
	return sendmsg_slow(fd, msg, flags);
}
/* By its symbol name: under _TIME_BITS=64 glibc's header renames a
 * declaration of sendmsg to __sendmsg64 on 32-bit targets. */
SHIM_EXPORT ssize_t shim_sendmsg_export(int, const struct msghdr *, int) __asm__("sendmsg")
	__attribute__((alias("shim_sendmsg")));
#if defined(__TIMESIZE) && __TIMESIZE == 32
/* A 32-bit program built with _TIME_BITS=64 (Debian's armhf since the t64
 * transition) calls sendmsg by glibc's name __sendmsg64 (glibc 2.34+): the
 * same function in libc (sending converts no time), so the same hook. */
SHIM_EXPORT ssize_t shim_sendmsg64_export(int, const struct msghdr *, int) __asm__("__sendmsg64")
	__attribute__((alias("shim_sendmsg")));
#endif

static ssize_t __attribute__((noinline)) writev_slow(int fd, const struct iovec *iov, int cnt)
{
	writev_fn real = (writev_fn)SHIM_LIBC(writev);
	struct conn *c = write_begin(fd);
	if (!c)
		return real(fd, iov, cnt);
	ssize_t r = real(fd, iov, cnt);
	write_end_iov(c, fd, iov, cnt > 0 ? (size_t)cnt : 0, r);
	return r;
}
SHIM_HIDDEN ssize_t shim_writev(int fd, const struct iovec *iov, int cnt)
{
	writev_fn real = (writev_fn)atomic_load_explicit(&shim_libc.writev, memory_order_acquire);
	if (__builtin_expect(real && write_passes(fd), 1)) {
		shim_note_inner_fd(fd);
		return real(fd, iov, cnt);
	}
	return writev_slow(fd, iov, cnt);
}
SHIM_EXPORT ssize_t writev(int, const struct iovec *, int) __attribute__((alias("shim_writev")));

/* ---- close ------------------------------------------------------------------------ */
/* fd is closed or is about to hold another file: a connection we follow
 * there is forgotten, our sinks let go of it. Not in a vfork child: it
 * closes its copy of the number, the parent's stays open. */
static void fd_gone(int fd)
{
	int saved = errno;
	shim_in = 1;
	int mapped = shim_fd_mapped(fd);
	if ((mapped || shim_fd_is_sink(fd)) && !shim_vfork_child()) {
		if (mapped)
			shim_conn_close(conn_key_fd(fd));
		shim_fd_closing(fd);
	}
	shim_in = 0;
	errno = saved;
}

SHIM_HIDDEN int shim_close(int fd)
{
	close_fn real = (close_fn)SHIM_LIBC(close);
	/* forget first: once closed, another thread may get the same number
	 * (a connection we follow; an fd one of our sinks writes to) */
	if (shim_active())
		fd_gone(fd);
	return real(fd);
}
SHIM_EXPORT int close(int) __attribute__((alias("shim_close")));

/* ---- dup2, dup3 -------------------------------------------------------------------- */
/* The target number holds another file after a call that worked (replaced
 * at once: no other file gets the number in between; our sinks check the
 * file before each record); on failure it is left as it was. */
static void dup_done(int r, int newfd)
{
	if (r >= 0 && shim_active())
		fd_gone(newfd);
}

typedef int (*dup2_fn)(int, int);
typedef int (*dup3_fn)(int, int, int);

SHIM_HIDDEN int shim_dup2(int oldfd, int newfd)
{
	dup2_fn real = (dup2_fn)SHIM_LIBC(dup2);
	if (oldfd == newfd)
		return real(oldfd, newfd);
	int r = real(oldfd, newfd);
	dup_done(r, newfd);
	return r;
}
SHIM_EXPORT int dup2(int, int) __attribute__((alias("shim_dup2")));

SHIM_HIDDEN int shim_dup3(int oldfd, int newfd, int flags)
{
	dup3_fn real = (dup3_fn)SHIM_LIBC(dup3);
	int r = real(oldfd, newfd, flags);
	dup_done(r, newfd);
	return r;
}
SHIM_EXPORT int dup3(int, int, int) __attribute__((alias("shim_dup3")));
