/* The syslog:cee sink: RFC 5424 messages whose MSG is the whole diagnosis,
 * the JSON object of the json sink (report_format_json: one formatter for
 * both) after the "@cee:" cookie, as rsyslog's mmjsonparse and the
 * journald/Fluent Bit/Vector shippers take it:
 *   <PRI>1 2026-11-22T21:40:00Z HOST tokshim PID - - @cee:{"tokshim":1,...}
 * on the same local socket as the syslog sink (report/syslog_sock.c). Lines
 * that are not diagnoses (rate-limit summaries, warnings) go out as plain
 * text, without the cookie.
 *
 * systemd-journald's socket (/dev/log on systemd machines links to
 * /run/systemd/journal/dev-log) reads RFC 3164 headers only: it keeps an
 * RFC 5424 header as message text, without an identifier (systemd 252). To
 * journald the sink writes "<PRI>tokshim[PID]: @cee:{...}" instead, so that
 * its MESSAGE is the cookie and the record, SYSLOG_IDENTIFIER tokshim. */
#include "report/sink_int.h"
#include "report/syslog_sock.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include "decode/cold.h"

/* A whole message, header included, stays under rsyslog's default
 * maxMessageSize (8 KiB) with room for the header a relay puts in front:
 * the JSON is cut to fit (its "truncated": true), never the line. */
#define CEE_LINE_MAX 7936

struct cee_state {
	struct syslog_sock sk;
	unsigned long unreported;
	char host[256];    /* RFC 5424 HOSTNAME, read at open; "-" when unknown */
	int journald;      /* the socket is journald's: RFC 3164 headers */
	char buf[REPORT_RECORD_MAX];
};

/* "<PRI>1 YYYY-MM-DDThh:mm:ssZ HOST tokshim PID - - " (no MSGID, no
 * structured data); the time in UTC (fmt_iso8601: arithmetic, no tzset lock). */
static size_t cee_header(char *buf, size_t cap, const struct cee_state *st, int pri, int64_t when)
{
	if (st->journald) {
		/* journald stamps the time itself */
		int n = snprintf(buf, cap, "<%d>tokshim[%d]: ", pri, (int)getpid());
		return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
	}
	const char *host = st->host;
	char ts[40];
	fmt_iso8601(when, ts, sizeof ts);
	if (strlen(ts) != 20)
		strcpy(ts, "-"); /* outside years 1..9999: RFC 5424's NILVALUE */
	int n = snprintf(buf, cap, "<%d>1 %s %s tokshim %d - - ", pri, ts, host, (int)getpid());
	return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

/* Sends buf[0..n) (buf[n] its NUL); after drops, a message that went out
 * is followed by a note of how many. */
static int cee_send(struct sink *s, size_t n)
{
	struct cee_state *st = s->state;
	if (syslog_sock_send(&st->sk, st->buf, n) < 0) {
		s->dropped++;
		st->unreported++;
		return -1;
	}
	if (st->unreported) {
		char note[400];
		size_t h = cee_header(note, sizeof note, st, LOG_USER | LOG_WARNING, sink_header_time());
		int m = snprintf(note + h, sizeof note - h - 1, "%lu report%s dropped (syslog not reading)",
				 st->unreported, st->unreported == 1 ? "" : "s");
		if (m > 0 && (size_t)m < sizeof note - h - 1 && syslog_sock_send(&st->sk, note, h + (size_t)m) == 0)
			st->unreported = 0;
	}
	return 0;
}

static int cee_write(struct sink *s, const struct diag *d, const struct conn_info *ci)
{
	struct cee_state *st = s->state;
	static const char cookie[] = "@cee:";
	size_t h = cee_header(st->buf, CEE_LINE_MAX, st, LOG_USER | sink_syslog_priority(d), d->time);
	memcpy(st->buf + h, cookie, sizeof cookie - 1);
	h += sizeof cookie - 1;
	size_t n = report_format_json(st->buf + h, CEE_LINE_MAX - h, d, ci);
	if (!n)
		return -1;
	if (st->buf[h + n - 1] == '\n')
		n--;
	st->buf[h + n] = '\0';
	return cee_send(s, h + n);
}

static int cee_line(struct sink *s, enum severity sev, const char *line)
{
	struct cee_state *st = s->state;
	int pri = sev == SEV_ERROR ? LOG_ERR : sev == SEV_WARNING ? LOG_WARNING : LOG_INFO;
	size_t h = cee_header(st->buf, CEE_LINE_MAX, st, LOG_USER | pri, sink_header_time());
	int n = snprintf(st->buf + h, CEE_LINE_MAX - h, "%s", line);
	if (n < 0)
		return -1;
	size_t len = h + ((size_t)n < CEE_LINE_MAX - h ? (size_t)n : CEE_LINE_MAX - h - 1);
	return cee_send(s, len);
}

static void cee_fd_closed(struct sink *s, int fd)
{
	struct cee_state *st = s->state;
	if (st)
		fd_watch_closed(&st->sk.w, fd);
}

static int cee_uses_fd(struct sink *s, int fd)
{
	struct cee_state *st = s->state;
	return st && fd_watch_uses(&st->sk.w, fd);
}

static void cee_release(struct sink *s)
{
	struct cee_state *st = s->state;
	if (st)
		syslog_sock_close(&st->sk);
	sink_free_state(s);
}

static const struct sink_ops cee_ops = {
	.name = "syslog:cee",
	.write = cee_write,
	.write_line = cee_line,
	.uses_fd = cee_uses_fd,
	.fd_closed = cee_fd_closed,
	.release = cee_release,
};

/* RFC 5424 HOSTNAME: printable US-ASCII without spaces, at most 255. */
static void cee_hostname(char *out, size_t cap)
{
	char h[256] = "";
	if (gethostname(h, sizeof h - 1) != 0)
		h[0] = '\0';
	size_t n = 0;
	for (const char *p = h; *p && n + 1 < cap; p++)
		if (*p > ' ' && *p < 0x7f)
			out[n++] = *p;
	if (!n)
		out[n++] = '-';
	out[n] = '\0';
}

TK_COLD int sink_syslog_cee_open(struct sink *s, const char *path, struct tk_error *err)
{
	sink_clear(s);
	struct cee_state *st = SINK_STATE_ALLOC(struct cee_state);
	if (!st) {
		tk_error_set(err, "cannot open 'syslog:cee' sink: out of memory");
		return -1;
	}
	if (syslog_sock_init(&st->sk, path) < 0) {
		tk_error_set(err, "cannot open 'syslog:cee' sink: socket path too long");
		free(st);
		return -1;
	}
	/* read now, not at a record (inside a hook) */
	cee_hostname(st->host, sizeof st->host);
	char real[PATH_MAX];
	st->journald = realpath(st->sk.addr.sun_path, real) && !strncmp(real, "/run/systemd/journal/", 21);
	s->state = st;
	s->ops = &cee_ops;
	return 0;
}
