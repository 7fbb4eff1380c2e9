/* The syslog sink: our own /dev/log client (no openlog(): the host's
 * syslog connection and ident stay the host's), RFC 3164 lines of
 * key=value fields, sends that never block, a socket the host took over
 * forgotten (fd_watch) and reopened. */
#include "report/sink_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

struct syslog_state {
	struct fd_watch w; /* fd -1 until the first record, and after a disconnect */
	int type;          /* SOCK_DGRAM or SOCK_STREAM once connected */
	unsigned long unreported;
	long gmtoff;       /* local time's offset from UTC, read once at open */
	struct sockaddr_un addr;
	char buf[REPORT_RECORD_MAX];
};

static int syslog_connect(struct syslog_state *st)
{
	static const int types[] = {SOCK_DGRAM, SOCK_STREAM};
	for (size_t i = 0; i < 2; i++) {
		int fd = fd_place_high(socket(AF_UNIX, types[i] | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
		if (fd < 0)
			return -1;
		/* AF_UNIX: connect does not wait; EAGAIN when the backlog is full */
		struct fd_id id;
		if (connect(fd, (const struct sockaddr *)&st->addr, sizeof st->addr) == 0 && fd_id_get(fd, &id) == 0) {
			st->type = types[i];
			fd_watch_set(&st->w, fd, &id);
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

/* Forgets the socket; closes it only when it is still ours. */
static void syslog_disconnect(struct syslog_state *st)
{
	int fd = atomic_exchange(&st->w.fd, -1);
	int lost = atomic_exchange(&st->w.lost, 0);
	if (fd >= 0 && !lost && fd_id_same(fd, &st->w.id))
		close(fd);
}

enum { SEND_OK, SEND_DROP, SEND_RETRY };

static int syslog_send_once(struct syslog_state *st, const char *p, size_t n)
{
	int fd = atomic_load(&st->w.fd);
	size_t sent = 0;
	while (sent < n) {
		ssize_t w = send(fd, p + sent, n - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			/* syslogd is not reading: drop the record; a stream cut
			 * inside a record has lost its framing: start over */
			if (sent)
				syslog_disconnect(st);
			return SEND_DROP;
		}
		if (w <= 0)
			return SEND_RETRY;
		if (st->type == SOCK_DGRAM)
			return (size_t)w == n ? SEND_OK : SEND_DROP;
		sent += (size_t)w;
	}
	return SEND_OK;
}

static int syslog_send_raw(struct syslog_state *st, const char *p, size_t n)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (atomic_load(&st->w.fd) >= 0 && fd_watch_current(&st->w, 0) < 0)
			syslog_disconnect(st); /* the number is the host's now: not closed */
		if (atomic_load(&st->w.fd) < 0 && syslog_connect(st) < 0)
			return -1;
		int rc = syslog_send_once(st, p, n + (st->type == SOCK_STREAM));
		if (rc == SEND_OK)
			return 0;
		if (rc == SEND_DROP)
			return -1;
		syslog_disconnect(st);
	}
	return -1;
}

static size_t syslog_header(char *buf, size_t cap, long gmtoff, int pri, int64_t when);

/* Sends buf[0..n) (buf[n] is its NUL, sent too on a stream); connects at
 * the first record, reconnects once when a send fails. Counts a drop; after
 * drops, a record that went out is followed by a note of how many. */
static int syslog_send(struct sink *s, size_t n)
{
	struct syslog_state *st = s->state;
	if (syslog_send_raw(st, st->buf, n) < 0) {
		s->dropped++;
		st->unreported++;
		return -1;
	}
	if (st->unreported) {
		char note[160];
		size_t h = syslog_header(note, sizeof note, st->gmtoff, LOG_USER | LOG_WARNING, (int64_t)time(NULL));
		int m = snprintf(note + h, sizeof note - h - 1, "%lu report%s dropped (syslog not reading)",
				 st->unreported, st->unreported == 1 ? "" : "s");
		if (m > 0 && (size_t)m < sizeof note - h - 1 && syslog_send_raw(st, note, h + (size_t)m) == 0)
			st->unreported = 0;
	}
	return 0;
}

/* "<PRI>Mmm dd hh:mm:ss tokshim[pid]: " as glibc's syslog() writes to /dev/log.
 * Local time from the offset read at open, by arithmetic: localtime_r takes
 * glibc's tzset lock, which a signal handler jumping out of a hook could
 * leave held (a change of daylight saving time shows after a restart). */
static size_t syslog_header(char *buf, size_t cap, long gmtoff, int pri, int64_t when)
{
	static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct utc_time tm;
	utc_from_unix(when + gmtoff, &tm);
	int n = snprintf(buf, cap, "<%d>%s %2d %02d:%02d:%02d tokshim[%d]: ", pri,
			 mon[(unsigned)(tm.mon - 1) % 12], tm.mday, tm.hour, tm.min, tm.sec,
			 (int)getpid());
	return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

static int diag_priority(const struct diag *d)
{
	if (!d->accept)
		return LOG_ERR;
	for (size_t i = 0; i < d->ncauses && i < DIAG_MAX_CAUSES; i++)
		if (d->causes[i].severity >= SEV_WARNING)
			return LOG_WARNING;
	return LOG_INFO;
}

static int syslog_write(struct sink *s, const struct diag *d, const struct conn_info *ci)
{
	struct syslog_state *st = s->state;
	size_t h = syslog_header(st->buf, sizeof st->buf, st->gmtoff, LOG_USER | diag_priority(d), d->time);
	/* leave room for the stream's NUL */
	size_t n = report_format_kv_ex(st->buf + h, sizeof st->buf - h - 1, d, ci, s->min_sev);
	return syslog_send(s, h + n);
}

static int syslog_line(struct sink *s, enum severity sev, const char *line)
{
	struct syslog_state *st = s->state;
	int pri = sev == SEV_ERROR ? LOG_ERR : sev == SEV_WARNING ? LOG_WARNING : LOG_INFO;
	size_t h = syslog_header(st->buf, sizeof st->buf, st->gmtoff, LOG_USER | pri, (int64_t)time(NULL));
	int n = snprintf(st->buf + h, sizeof st->buf - h - 1, "%s", line);
	if (n < 0)
		return -1;
	size_t len = h + ((size_t)n < sizeof st->buf - h - 1 ? (size_t)n : sizeof st->buf - h - 2);
	return syslog_send(s, len);
}

static void syslog_fd_closed(struct sink *s, int fd)
{
	struct syslog_state *st = s->state;
	if (st)
		fd_watch_closed(&st->w, fd);
}

static int syslog_uses_fd(struct sink *s, int fd)
{
	struct syslog_state *st = s->state;
	return st && fd_watch_uses(&st->w, fd);
}

static void syslog_release(struct sink *s)
{
	struct syslog_state *st = s->state;
	if (st)
		syslog_disconnect(st);
	sink_free_state(s);
}

static const struct sink_ops syslog_ops = {
	.name = "syslog",
	.write = syslog_write,
	.write_line = syslog_line,
	.uses_fd = syslog_uses_fd,
	.fd_closed = syslog_fd_closed,
	.release = syslog_release,
};

int sink_syslog_open(struct sink *s, const char *path, report_write_fn write_fn, struct tk_error *err)
{
	(void)write_fn; /* send(MSG_DONTWAIT) on our own socket */
	sink_clear(s);
	if (!path || !path[0])
		path = "/dev/log";
	struct syslog_state *st = calloc(1, sizeof *st);
	if (!st) {
		tk_error_set(err, "cannot open 'syslog' sink: out of memory");
		return -1;
	}
	if (strlen(path) >= sizeof st->addr.sun_path) {
		tk_error_set(err, "cannot open 'syslog' sink: socket path too long");
		free(st);
		return -1;
	}
	/* the time zone is read now, not at a record (inside a hook) */
	time_t t0 = time(NULL);
	struct tm tm0;
	st->gmtoff = localtime_r(&t0, &tm0) ? tm0.tm_gmtoff : 0;
	atomic_init(&st->w.fd, -1);
	atomic_init(&st->w.lost, 0);
	st->addr.sun_family = AF_UNIX;
	memcpy(st->addr.sun_path, path, strlen(path) + 1);
	s->state = st;
	s->ops = &syslog_ops;
	return 0;
}
