/* The local syslog socket (syslog_sock.h): connect, sends that never block,
 * a reconnect when syslogd restarted, and a socket the host took over
 * forgotten (fd_watch) and reopened. */
#include "report/syslog_sock.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "decode/cold.h"

TK_COLD int syslog_sock_init(struct syslog_sock *sk, const char *path)
{
	if (!path || !path[0])
		path = "/dev/log";
	memset(sk, 0, sizeof *sk);
	if (strlen(path) >= sizeof sk->addr.sun_path)
		return -1;
	atomic_init(&sk->w.fd, -1);
	atomic_init(&sk->w.lost, 0);
	sk->addr.sun_family = AF_UNIX;
	memcpy(sk->addr.sun_path, path, strlen(path) + 1);
	return 0;
}

static int syslog_connect(struct syslog_sock *sk)
{
	static const int types[] = {SOCK_DGRAM, SOCK_STREAM};
	for (size_t i = 0; i < 2; i++) {
		int fd = fd_place_high(socket(AF_UNIX, types[i] | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
		if (fd < 0)
			return -1;
		/* AF_UNIX: connect does not wait; EAGAIN when the backlog is full */
		struct fd_id id;
		if (connect(fd, (const struct sockaddr *)&sk->addr, sizeof sk->addr) == 0 && fd_id_get(fd, &id) == 0) {
			sk->type = types[i];
			fd_watch_set(&sk->w, fd, &id);
			return 0;
		}
		int e = errno;
		close(fd);
		errno = e;
		if (e != EPROTOTYPE)
			return -1;
	}
	return -1;
}

void syslog_sock_close(struct syslog_sock *sk)
{
	int fd = atomic_exchange(&sk->w.fd, -1);
	int lost = atomic_exchange(&sk->w.lost, 0);
	if (fd >= 0 && !lost && fd_id_same(fd, &sk->w.id))
		close(fd);
}

enum { SEND_OK, SEND_DROP, SEND_RETRY };

static int syslog_send_once(struct syslog_sock *sk, const char *p, size_t n)
{
	int fd = atomic_load(&sk->w.fd);
	size_t sent = 0;
	while (sent < n) {
		ssize_t w = send(fd, p + sent, n - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			/* syslogd is not reading: drop the record; a stream cut
			 * inside a record has lost its framing: start over */
			if (sent)
				syslog_sock_close(sk);
			return SEND_DROP;
		}
		if (w <= 0)
			return SEND_RETRY;
		if (sk->type == SOCK_DGRAM)
			return (size_t)w == n ? SEND_OK : SEND_DROP;
		sent += (size_t)w;
	}
	return SEND_OK;
}

int syslog_sock_send(struct syslog_sock *sk, const char *p, size_t n)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (atomic_load(&sk->w.fd) >= 0 && fd_watch_current(&sk->w, 0) < 0)
			syslog_sock_close(sk); /* the number is the host's now: not closed */
		if (atomic_load(&sk->w.fd) < 0 && syslog_connect(sk) < 0)
			return -1;
		int rc = syslog_send_once(sk, p, n + (sk->type == SOCK_STREAM));
		if (rc == SEND_OK)
			return 0;
		if (rc == SEND_DROP)
			return -1;
		syslog_sock_close(sk);
	}
	return -1;
}
