/* Plain TCP (ws://, SIP over TCP): connect, send, sendto, sendmsg, write,
 * writev, close, and dup2/dup3 (which close their target). Only sockets
 * that connected to a TCP peer (AF_INET or AF_INET6, SOCK_STREAM) are
 * followed; a write to any other descriptor costs one look-up in the fd map. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim/fast.h"
#include "shim/shim.h"

static size_t put_port(char *buf, size_t cap, size_t at, unsigned port)
{
	char tmp[8];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + port % 10);
		port /= 10;
	} while (port && n < sizeof tmp);
	if (at + 1 + n + 1 > cap)
		return 0;
	buf[at++] = ':';
	while (n)
		buf[at++] = tmp[--n];
	buf[at] = '\0';
	return at;
}

int shim_format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap,
		     unsigned short *port)
{
	if (!sa || cap < 8)
		return 0;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)sa;
		if (!inet_ntop(AF_INET, &in->sin_addr, buf, (socklen_t)cap))
			return 0;
		*port = ntohs(in->sin_port);
		return put_port(buf, cap, strlen(buf), *port) != 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		buf[0] = '[';
		if (!inet_ntop(AF_INET6, &in6->sin6_addr, buf + 1, (socklen_t)(cap - 1)))
			return 0;
		size_t n = strlen(buf);
		if (n + 2 > cap)
			return 0;
		buf[n++] = ']';
		buf[n] = '\0';
		*port = ntohs(in6->sin6_port);
		return put_port(buf, cap, n, *port) != 0;
	}
	return 0;
}

static void feed_fd(int fd, const void *buf, size_t n)
{
	struct conn *c = conn_find(conn_key_fd(fd));
	if (c) {
		shim_feed(c, buf, n);
		if (shim_nested_id == 0)
			shim_nested_id = (int64_t)c->id;
		conn_unlock(c);
	}
}

/* The bytes a write on followed connection c (fd's) put out: shim_take,
 * else the feed of the rest with errno kept. */
static inline void feed_fd_write(struct conn *c, int fd, const void *buf, size_t n)
{
	size_t k = shim_take(c, conn_key_fd(fd), buf, n);
	if (__builtin_expect(k < n, 0)) {
		int saved = errno;
		feed_fd(fd, (const char *)buf + k, n - k);
		errno = saved;
	}
}

static void feed_fd_iov(int fd, const struct iovec *iov, size_t cnt, size_t total)
{
	struct conn *c = conn_find(conn_key_fd(fd));
	if (c) {
		shim_feed_iov(c, iov, cnt, total);
		if (shim_nested_id == 0)
			shim_nested_id = (int64_t)c->id;
		conn_unlock(c);
	}
}

/* ---- connect ------------------------------------------------------------------- */
typedef int (*connect_fn)(int, __CONST_SOCKADDR_ARG, socklen_t);

static void track(int fd, const struct sockaddr *sa, socklen_t len)
{
	int type = 0;
	socklen_t tl = sizeof type;
	if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) || fd < 0 || fd >= CONN_FD_MAX)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM)
		return;
	/* a vfork child's connection is not ours (the table is the parent's) */
	if (shim_vfork_child())
		return;
	struct conn *c = conn_add(conn_key_fd(fd), "libc", 0);
	if (c) {
		conn_set_peer_addr(c, sa, len);
		conn_set_ident(c, fd);
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

/* ---- write, send, sendto --------------------------------------------------------- */
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, __CONST_SOCKADDR_ARG, socklen_t);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef int (*close_fn)(int);

static ssize_t __attribute__((noinline)) write_slow(int fd, const void *buf, size_t n)
{
	write_fn real = (write_fn)SHIM_LIBC(write);
	struct conn *c = shim_active() ? shim_fd_conn(fd) : NULL;
	if (!c) {
		shim_note_inner_fd(fd);
		return real(fd, buf, n);
	}
	shim_in = 1;
	ssize_t r = real(fd, buf, n);
	if (r > 0)
		feed_fd_write(c, fd, buf, (size_t)r);
	shim_in = 0;
	return r;
}
/* Fast path: an fd that is not followed (a file, a pipe, the socket under a
 * TLS connection) costs one load in the fd map, before anything else. */
SHIM_HIDDEN ssize_t shim_write(int fd, const void *buf, size_t n)
{
	write_fn real = (write_fn)atomic_load_explicit(&shim_libc.write, memory_order_acquire);
	if (__builtin_expect(real && !shim_fd_mapped(fd), 1)) {
		shim_note_inner_fd(fd);
		return real(fd, buf, n);
	}
	return write_slow(fd, buf, n);
}
SHIM_EXPORT ssize_t write(int, const void *, size_t) __attribute__((alias("shim_write")));

static ssize_t __attribute__((noinline)) send_slow(int fd, const void *buf, size_t n, int flags)
{
	send_fn real = (send_fn)SHIM_LIBC(send);
	struct conn *c = shim_active() ? shim_fd_conn(fd) : NULL;
	if (!c) {
		shim_note_inner_fd(fd);
		return real(fd, buf, n, flags);
	}
	shim_in = 1;
	ssize_t r = real(fd, buf, n, flags);
	if (r > 0)
		feed_fd_write(c, fd, buf, (size_t)r);
	shim_in = 0;
	return r;
}
/* Fast path: an fd that is not followed (a file, a pipe, the socket under a
 * TLS connection) costs one load in the fd map, before anything else. */
SHIM_HIDDEN ssize_t shim_send(int fd, const void *buf, size_t n, int flags)
{
	send_fn real = (send_fn)atomic_load_explicit(&shim_libc.send, memory_order_acquire);
	if (__builtin_expect(real && !shim_fd_mapped(fd), 1)) {
		shim_note_inner_fd(fd);
		return real(fd, buf, n, flags);
	}
	return send_slow(fd, buf, n, flags);
}
SHIM_EXPORT ssize_t send(int, const void *, size_t, int) __attribute__((alias("shim_send")));

static ssize_t __attribute__((noinline)) sendto_slow(int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG addr,
			socklen_t alen)
{
	sendto_fn real = (sendto_fn)SHIM_LIBC(sendto);
	if (!shim_active() || !conn_fd_wanted(fd)) {
		shim_note_inner_fd(fd);
		return real(fd, buf, n, flags, addr, alen);
	}
	shim_in = 1;
	ssize_t r = real(fd, buf, n, flags, addr, alen);
	int saved = errno;
	if (r > 0)
		feed_fd(fd, buf, (size_t)r);
	shim_in = 0;
	errno = saved;
	return r;
}
/* Fast path: an fd that is not followed (a file, a pipe, the socket under a
 * TLS connection) costs one load in the fd map, before anything else. */
SHIM_HIDDEN ssize_t shim_sendto(int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG addr,
				socklen_t alen)
{
	sendto_fn real = (sendto_fn)atomic_load_explicit(&shim_libc.sendto, memory_order_acquire);
	if (__builtin_expect(real && !shim_fd_mapped(fd), 1)) {
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
	if (!shim_active() || !conn_fd_wanted(fd)) {
		shim_note_inner_fd(fd);
		return real(fd, msg, flags);
	}
	shim_in = 1;
	ssize_t r = real(fd, msg, flags);
	int saved = errno;
	if (r > 0 && msg)
		feed_fd_iov(fd, msg->msg_iov, msg->msg_iovlen, (size_t)r);
	shim_in = 0;
	errno = saved;
	return r;
}
/* Fast path: an fd that is not followed (a file, a pipe, the socket under a
 * TLS connection) costs one load in the fd map, before anything else. */
SHIM_HIDDEN ssize_t shim_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	sendmsg_fn real = (sendmsg_fn)atomic_load_explicit(&shim_libc.sendmsg, memory_order_acquire);
	if (__builtin_expect(real && !shim_fd_mapped(fd), 1)) {
		shim_note_inner_fd(fd);
		return real(fd, msg, flags);
	}
	return sendmsg_slow(fd, msg, flags);
}
SHIM_EXPORT ssize_t sendmsg(int, const struct msghdr *, int) __attribute__((alias("shim_sendmsg")));

static ssize_t __attribute__((noinline)) writev_slow(int fd, const struct iovec *iov, int cnt)
{
	writev_fn real = (writev_fn)SHIM_LIBC(writev);
	if (!shim_active() || !conn_fd_wanted(fd)) {
		shim_note_inner_fd(fd);
		return real(fd, iov, cnt);
	}
	shim_in = 1;
	ssize_t r = real(fd, iov, cnt);
	int saved = errno;
	if (r > 0 && cnt > 0)
		feed_fd_iov(fd, iov, (size_t)cnt, (size_t)r);
	shim_in = 0;
	errno = saved;
	return r;
}
/* Fast path: an fd that is not followed (a file, a pipe, the socket under a
 * TLS connection) costs one load in the fd map, before anything else. */
SHIM_HIDDEN ssize_t shim_writev(int fd, const struct iovec *iov, int cnt)
{
	writev_fn real = (writev_fn)atomic_load_explicit(&shim_libc.writev, memory_order_acquire);
	if (__builtin_expect(real && !shim_fd_mapped(fd), 1)) {
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
			conn_forget(conn_key_fd(fd));
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
