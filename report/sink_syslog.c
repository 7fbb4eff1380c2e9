/* The syslog sink: RFC 3164 lines of key=value fields on the local syslog
 * socket (report/syslog_sock.c: our own /dev/log client, no openlog(), sends
 * that never block). */
#include "report/sink_int.h"
#include "report/syslog_sock.h"

#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "decode/cold.h"

struct syslog_state {
	struct syslog_sock sk;
	unsigned long unreported;
	long gmtoff;       /* local time's offset from UTC, read once at open */
	char buf[REPORT_RECORD_MAX];
};

static size_t syslog_header(char *buf, size_t cap, long gmtoff, int pri, int64_t when);

/* Sends buf[0..n) (buf[n] is its NUL, sent too on a stream); connects at
 * the first record, reconnects once when a send fails. Counts a drop; after
 * drops, a record that went out is followed by a note of how many. */
static int syslog_send(struct sink *s, size_t n)
{
	struct syslog_state *st = s->state;
	if (syslog_sock_send(&st->sk, st->buf, n) < 0) {
		s->dropped++;
		st->unreported++;
		return -1;
	}
	if (st->unreported) {
		char note[160];
		size_t h = syslog_header(note, sizeof note, st->gmtoff, LOG_USER | LOG_WARNING, sink_header_time());
		int m = snprintf(note + h, sizeof note - h - 1, "%lu report%s dropped (syslog not reading)",
				 st->unreported, st->unreported == 1 ? "" : "s");
		if (m > 0 && (size_t)m < sizeof note - h - 1 && syslog_sock_send(&st->sk, note, h + (size_t)m) == 0)
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

static int syslog_write(struct sink *s, const struct diag *d, const struct conn_info *ci)
{
	struct syslog_state *st = s->state;
	size_t h = syslog_header(st->buf, sizeof st->buf, st->gmtoff, LOG_USER | sink_syslog_priority(d), d->time);
	/* leave room for the stream's NUL */
	size_t n = report_format_kv_ex(st->buf + h, sizeof st->buf - h - 1, d, ci, s->min_sev);
	return syslog_send(s, h + n);
}

static int syslog_line(struct sink *s, enum severity sev, const char *line)
{
	struct syslog_state *st = s->state;
	int pri = sev == SEV_ERROR ? LOG_ERR : sev == SEV_WARNING ? LOG_WARNING : LOG_INFO;
	size_t h = syslog_header(st->buf, sizeof st->buf, st->gmtoff, LOG_USER | pri, sink_header_time());
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
		fd_watch_closed(&st->sk.w, fd);
}

static int syslog_uses_fd(struct sink *s, int fd)
{
	struct syslog_state *st = s->state;
	return st && fd_watch_uses(&st->sk.w, fd);
}

static void syslog_release(struct sink *s)
{
	struct syslog_state *st = s->state;
	if (st)
		syslog_sock_close(&st->sk);
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

TK_COLD int sink_syslog_open(struct sink *s, const char *path, report_write_fn write_fn, struct tk_error *err)
{
	(void)write_fn; /* send(MSG_DONTWAIT) on our own socket */
	sink_clear(s);
	struct syslog_state *st = SINK_STATE_ALLOC(struct syslog_state);
	if (!st) {
		tk_error_set(err, "cannot open 'syslog' sink: out of memory");
		return -1;
	}
	if (syslog_sock_init(&st->sk, path) < 0) {
		tk_error_set(err, "cannot open 'syslog' sink: socket path too long");
		free(st);
		return -1;
	}
	/* the time zone is read now, not at a record (inside a hook) */
	int64_t now;
	time_t t0 = report_wall_clock(&now) == 0 ? (time_t)now : 0;
	struct tm tm0;
	st->gmtoff = localtime_r(&t0, &tm0) ? tm0.tm_gmtoff : 0;
	s->state = st;
	s->ops = &syslog_ops;
	return 0;
}
