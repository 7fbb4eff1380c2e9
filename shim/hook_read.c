/* Plain TCP reads: read, readv, recv, recvfrom, recvmsg on a followed
 * socket feed what the client received to the server's direction of its
 * session (the answers). Only the bytes the call returned, never more than
 * the buffers hold (MSG_TRUNC on a stream discards bytes into no buffer:
 * the direction is given up); MSG_PEEK reads are not fed (the bytes come
 * again). A read on any other descriptor costs one load in the fd map. */
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim/fast.h"
#include "shim/shim.h"

typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*readv_fn)(int, const struct iovec *, int);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, __SOCKADDR_ARG, socklen_t *);
typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);

/* The bytes a read on followed fd put in buf[0..n) (n <= the buffer). */
static void fed(int fd, const void *buf, size_t n)
{
	int saved = errno;
	struct conn *c = conn_find(conn_key_fd(fd));
	if (c) {
		shim_feed_read(c, buf, n);
		conn_unlock(c);
	}
	errno = saved;
}

static void fed_iov(int fd, const struct iovec *iov, size_t cnt, size_t total)
{
	int saved = errno;
	struct conn *c = conn_find(conn_key_fd(fd));
	if (c) {
		shim_feed_read_iov(c, iov, cnt, total);
		conn_unlock(c);
	}
	errno = saved;
}

static void lost(int fd)
{
	int saved = errno;
	struct conn *c = conn_find(conn_key_fd(fd));
	if (c) {
		shim_read_lost(c);
		conn_unlock(c);
	}
	errno = saved;
}

/* ---- read ------------------------------------------------------------------------ */
static ssize_t __attribute__((noinline)) read_slow(int fd, void *buf, size_t n)
{
	read_fn real = (read_fn)SHIM_LIBC(read);
	if (!shim_read_on || !shim_active() || !shim_fd_conn(fd))
		return real(fd, buf, n);
	shim_in = 1;
	ssize_t r = real(fd, buf, n);
	if (r > 0)
		fed(fd, buf, (size_t)r < n ? (size_t)r : n);
	shim_in = 0;
	return r;
}
/* Fast path: an fd that is not followed costs one load in the fd map. */
SHIM_HIDDEN ssize_t shim_read(int fd, void *buf, size_t n)
{
	read_fn real = (read_fn)atomic_load_explicit(&shim_libc.read, memory_order_acquire);
	if (__builtin_expect(real && !shim_fd_mapped(fd), 1))
		return real(fd, buf, n);
	return read_slow(fd, buf, n);
}
SHIM_EXPORT ssize_t read(int, void *, size_t) __attribute__((alias("shim_read")));

/* ---- readv ----------------------------------------------------------------------- */
static ssize_t __attribute__((noinline)) readv_slow(int fd, const struct iovec *iov, int cnt)
{
	readv_fn real = (readv_fn)SHIM_LIBC(readv);
	if (!shim_read_on || !shim_active() || !shim_fd_conn(fd))
		return real(fd, iov, cnt);
	shim_in = 1;
	ssize_t r = real(fd, iov, cnt);
	if (r > 0 && cnt > 0)
		fed_iov(fd, iov, (size_t)cnt, (size_t)r);
	shim_in = 0;
	return r;
}
SHIM_HIDDEN ssize_t shim_readv(int fd, const struct iovec *iov, int cnt)
{
	readv_fn real = (readv_fn)atomic_load_explicit(&shim_libc.readv, memory_order_acquire);
	if (__builtin_expect(real && !shim_fd_mapped(fd), 1))
		return real(fd, iov, cnt);
	return readv_slow(fd, iov, cnt);
}
SHIM_EXPORT ssize_t readv(int, const struct iovec *, int) __attribute__((alias("shim_readv")));

/* ---- recv, recvfrom ------------------------------------------------------------------ */
/* What a recv-family call with flags that returned r put in a buffer of n. */
static void recv_done(int fd, const void *buf, size_t n, int flags, ssize_t r)
{
	if (r <= 0 || (flags & MSG_PEEK))
		return;
	if (flags & MSG_TRUNC)
		lost(fd); /* a stream's MSG_TRUNC discards the bytes: none reached buf */
	else
		fed(fd, buf, (size_t)r < n ? (size_t)r : n);
}

static ssize_t __attribute__((noinline)) recv_slow(int fd, void *buf, size_t n, int flags)
{
	recv_fn real = (recv_fn)SHIM_LIBC(recv);
	if (!shim_read_on || !shim_active() || !shim_fd_conn(fd))
		return real(fd, buf, n, flags);
	shim_in = 1;
	ssize_t r = real(fd, buf, n, flags);
	recv_done(fd, buf, n, flags, r);
	shim_in = 0;
	return r;
}
SHIM_HIDDEN ssize_t shim_recv(int fd, void *buf, size_t n, int flags)
{
	recv_fn real = (recv_fn)atomic_load_explicit(&shim_libc.recv, memory_order_acquire);
	if (__builtin_expect(real && !shim_fd_mapped(fd), 1))
		return real(fd, buf, n, flags);
	return recv_slow(fd, buf, n, flags);
}
SHIM_EXPORT ssize_t recv(int, void *, size_t, int) __attribute__((alias("shim_recv")));

static ssize_t __attribute__((noinline)) recvfrom_slow(int fd, void *buf, size_t n, int flags, __SOCKADDR_ARG addr,
						       socklen_t *alen)
{
	recvfrom_fn real = (recvfrom_fn)SHIM_LIBC(recvfrom);
	if (!shim_read_on || !shim_active() || !shim_fd_conn(fd))
		return real(fd, buf, n, flags, addr, alen);
	shim_in = 1;
	ssize_t r = real(fd, buf, n, flags, addr, alen);
	recv_done(fd, buf, n, flags, r);
	shim_in = 0;
	return r;
}
SHIM_HIDDEN ssize_t shim_recvfrom(int fd, void *buf, size_t n, int flags, __SOCKADDR_ARG addr, socklen_t *alen)
{
	recvfrom_fn real = (recvfrom_fn)atomic_load_explicit(&shim_libc.recvfrom, memory_order_acquire);
	if (__builtin_expect(real && !shim_fd_mapped(fd), 1))
		return real(fd, buf, n, flags, addr, alen);
	return recvfrom_slow(fd, buf, n, flags, addr, alen);
}
SHIM_EXPORT ssize_t recvfrom(int, void *, size_t, int, __SOCKADDR_ARG, socklen_t *)
	__attribute__((alias("shim_recvfrom")));

/* ---- recvmsg ---------------------------------------------------------------------- */
static ssize_t __attribute__((noinline)) recvmsg_slow(recvmsg_fn real, int fd, struct msghdr *msg, int flags)
{
	if (!shim_read_on || !shim_active() || !shim_fd_conn(fd))
		return real(fd, msg, flags);
	shim_in = 1;
	ssize_t r = real(fd, msg, flags);
	if (r > 0 && msg && !(flags & MSG_PEEK)) {
		if ((flags & MSG_TRUNC) || (msg->msg_flags & MSG_TRUNC))
			lost(fd);
		else
			fed_iov(fd, msg->msg_iov, msg->msg_iovlen, (size_t)r);
	}
	shim_in = 0;
	return r;
}
SHIM_HIDDEN ssize_t shim_recvmsg(int fd, struct msghdr *msg, int flags)
{
	recvmsg_fn real = (recvmsg_fn)atomic_load_explicit(&shim_libc.recvmsg, memory_order_acquire);
	if (__builtin_expect(real && !shim_fd_mapped(fd), 1))
		return real(fd, msg, flags);
	return recvmsg_slow((recvmsg_fn)SHIM_LIBC(recvmsg), fd, msg, flags);
}
/* By its symbol name: under _TIME_BITS=64 glibc's header renames a
 * declaration of recvmsg to __recvmsg64 on 32-bit targets. */
SHIM_EXPORT ssize_t shim_recvmsg_export(int, struct msghdr *, int) __asm__("recvmsg")
	__attribute__((alias("shim_recvmsg")));
#if defined(__TIMESIZE) && __TIMESIZE == 32
/* A 32-bit program built with _TIME_BITS=64 calls recvmsg as __recvmsg64,
 * a function of its own in libc (it gives control messages' timestamps in
 * the program's 64-bit time_t): hooked with its own real function. */
SHIM_HIDDEN ssize_t shim_recvmsg64(int fd, struct msghdr *msg, int flags)
{
	recvmsg_fn real = (recvmsg_fn)atomic_load_explicit(&shim_libc.recvmsg64, memory_order_acquire);
	if (__builtin_expect(real && !shim_fd_mapped(fd), 1))
		return real(fd, msg, flags);
	if (!real && !(real = (recvmsg_fn)shim_libc_resolve(&shim_libc.recvmsg64, "__recvmsg64")))
		real = shim_sys_recvmsg;
	return recvmsg_slow(real, fd, msg, flags);
}
SHIM_EXPORT ssize_t shim_recvmsg64_export(int, struct msghdr *, int) __asm__("__recvmsg64")
	__attribute__((alias("shim_recvmsg64")));
#endif
