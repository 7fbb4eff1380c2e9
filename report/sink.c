/* Sinks: stderr text, syslog (our own /dev/log client), JSON lines, memory.
 * Each record is formatted into the sink's own buffer (allocated when the
 * sink is opened) and written with one write(); no stdio, no malloc later. */
#include "report/report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

int report_write_all(report_write_fn write_fn, int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write_fn ? write_fn(fd, p, len) : write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void sink_release(struct sink *s)
{
	if (!s)
		return;
	if (s->release)
		s->release(s);
	memset(s, 0, sizeof *s);
}

static void sink_clear(struct sink *s)
{
	memset(s, 0, sizeof *s);
	s->min_sev = SEV_INFO;
}

/* "<ident>[pid]: " into buf, "" when ident is empty. */
static void make_prefix(char *buf, size_t cap, const char *ident)
{
	if (!ident[0])
		buf[0] = '\0';
	else
		snprintf(buf, cap, "%s[%d]: ", ident, (int)getpid());
}

/* ---- text ----------------------------------------------------------------- */

struct text_state {
	int fd;
	report_write_fn write_fn;
	int color;
	char ident[32];
	char buf[REPORT_RECORD_MAX];
};

static int text_write(struct sink *s, const struct diag *d, const struct conn_info *ci)
{
	struct text_state *t = s->state;
	char prefix[48];
	make_prefix(prefix, sizeof prefix, t->ident);
	size_t n = report_format_text_ex(t->buf, sizeof t->buf, d, ci, prefix, t->color, s->min_sev);
	return n ? report_write_all(t->write_fn, t->fd, t->buf, n) : 0;
}

static int text_line(struct sink *s, enum severity sev, const char *line)
{
	(void)sev;
	struct text_state *t = s->state;
	char prefix[48];
	make_prefix(prefix, sizeof prefix, t->ident);
	int n = snprintf(t->buf, sizeof t->buf, "%s%s\n", prefix, line);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof t->buf) {
		n = (int)sizeof t->buf - 1;
		t->buf[n - 1] = '\n';
	}
	return report_write_all(t->write_fn, t->fd, t->buf, (size_t)n);
}

static void free_state(struct sink *s)
{
	free(s->state);
	s->state = NULL;
}

int sink_text_open(struct sink *s, int fd, report_write_fn write_fn, const char *ident, int color,
		   struct tk_error *err)
{
	sink_clear(s);
	struct text_state *t = calloc(1, sizeof *t);
	if (!t) {
		tk_error_set(err, "cannot open 'stderr' sink: out of memory");
		return -1;
	}
	t->fd = fd;
	t->write_fn = write_fn;
	t->color = color;
	snprintf(t->ident, sizeof t->ident, "%s", ident ? ident : "");
	s->state = t;
	s->write = text_write;
	s->write_line = text_line;
	s->release = free_state;
	return 0;
}

/* ---- syslog --------------------------------------------------------------- */

struct syslog_state {
	int fd;     /* -1 until the first record */
	int type;   /* SOCK_DGRAM or SOCK_STREAM once connected */
	report_write_fn write_fn;
	struct sockaddr_un addr;
	char buf[REPORT_RECORD_MAX];
};

static int syslog_connect(struct syslog_state *st)
{
	static const int types[] = {SOCK_DGRAM, SOCK_STREAM};
	for (size_t i = 0; i < 2; i++) {
		int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (const struct sockaddr *)&st->addr, sizeof st->addr) == 0) {
			st->fd = fd;
			st->type = types[i];
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

static void syslog_disconnect(struct syslog_state *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}

static int syslog_send_once(struct syslog_state *st, const char *p, size_t n)
{
	if (st->type == SOCK_DGRAM) {
		ssize_t w;
		do
			w = st->write_fn ? st->write_fn(st->fd, p, n) : write(st->fd, p, n);
		while (w < 0 && errno == EINTR);
		return w == (ssize_t)n ? 0 : -1;
	}
	/* a stream: the NUL ends the record (as glibc sends it); no SIGPIPE */
	while (n) {
		ssize_t w = send(st->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Sends buf[0..n) (buf[n] is its NUL, sent too on a stream); connects at
 * the first record, reconnects once when a send fails. */
static int syslog_send(struct syslog_state *st, size_t n)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (st->fd < 0 && syslog_connect(st) < 0)
			return -1;
		if (syslog_send_once(st, st->buf, n + (st->type == SOCK_STREAM)) == 0)
			return 0;
		syslog_disconnect(st);
	}
	return -1;
}

/* "<PRI>Mmm dd hh:mm:ss tokshim[pid]: " as glibc's syslog() writes to /dev/log. */
static size_t syslog_header(char *buf, size_t cap, int pri, int64_t when)
{
	static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	time_t t = (time_t)when;
	if (!localtime_r(&t, &tm))
		memset(&tm, 0, sizeof tm);
	int n = snprintf(buf, cap, "<%d>%s %2d %02d:%02d:%02d tokshim[%d]: ", pri,
			 mon[(unsigned)tm.tm_mon % 12], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
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
	size_t h = syslog_header(st->buf, sizeof st->buf, LOG_USER | diag_priority(d), d->time);
	/* leave room for the stream's NUL */
	size_t n = report_format_kv_ex(st->buf + h, sizeof st->buf - h - 1, d, ci, s->min_sev);
	return syslog_send(st, h + n);
}

static int syslog_line(struct sink *s, enum severity sev, const char *line)
{
	struct syslog_state *st = s->state;
	int pri = sev == SEV_ERROR ? LOG_ERR : sev == SEV_WARNING ? LOG_WARNING : LOG_INFO;
	size_t h = syslog_header(st->buf, sizeof st->buf, LOG_USER | pri, (int64_t)time(NULL));
	int n = snprintf(st->buf + h, sizeof st->buf - h - 1, "%s", line);
	if (n < 0)
		return -1;
	size_t len = h + ((size_t)n < sizeof st->buf - h - 1 ? (size_t)n : sizeof st->buf - h - 2);
	return syslog_send(st, len);
}

static void syslog_release(struct sink *s)
{
	struct syslog_state *st = s->state;
	if (st)
		syslog_disconnect(st);
	free_state(s);
}

int sink_syslog_open(struct sink *s, const char *path, report_write_fn write_fn, struct tk_error *err)
{
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
	/* load the time zone now, not at the first record (inside a hook) */
	time_t t0 = time(NULL);
	struct tm tm0;
	localtime_r(&t0, &tm0);
	st->fd = -1;
	st->write_fn = write_fn;
	st->addr.sun_family = AF_UNIX;
	memcpy(st->addr.sun_path, path, strlen(path) + 1);
	s->state = st;
	s->write = syslog_write;
	s->write_line = syslog_line;
	s->release = syslog_release;
	return 0;
}

/* ---- json lines ----------------------------------------------------------- */

struct json_state {
	int fd;
	int owned;
	report_write_fn write_fn;
	char buf[REPORT_RECORD_MAX];
};

static int json_write(struct sink *s, const struct diag *d, const struct conn_info *ci)
{
	struct json_state *j = s->state;
	size_t n = report_format_json(j->buf, sizeof j->buf, d, ci);
	return n ? report_write_all(j->write_fn, j->fd, j->buf, n) : 0;
}

static void json_release(struct sink *s)
{
	struct json_state *j = s->state;
	if (j && j->owned && j->fd >= 0)
		close(j->fd);
	free_state(s);
}

int sink_json_fd(struct sink *s, int fd, report_write_fn write_fn, struct tk_error *err)
{
	sink_clear(s);
	struct json_state *j = calloc(1, sizeof *j);
	if (!j) {
		tk_error_set(err, "cannot open 'json' sink: out of memory");
		return -1;
	}
	j->fd = fd;
	j->write_fn = write_fn;
	s->state = j;
	s->write = json_write;
	s->release = json_release;
	s->flags = SINK_F_ALL_REPEATS;
	return 0;
}

int sink_json_open(struct sink *s, const char *path, report_write_fn write_fn, struct tk_error *err)
{
	sink_clear(s);
	if (!path || !path[0]) {
		tk_error_set(err, "cannot open 'json' sink: no path (json:PATH)");
		return -1;
	}
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		tk_error_set(err, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (sink_json_fd(s, fd, write_fn, err) < 0) {
		close(fd);
		return -1;
	}
	((struct json_state *)s->state)->owned = 1;
	return 0;
}

/* ---- memory (tests) ------------------------------------------------------- */

struct mem_state {
	enum sink_memory_kind kind;
	size_t cap, len, records;
	char *data;
	char buf[REPORT_RECORD_MAX];
};

static void mem_append(struct mem_state *m, const char *p, size_t n)
{
	if (n > m->cap - m->len)
		return; /* dropped whole */
	memcpy(m->data + m->len, p, n);
	m->len += n;
	m->data[m->len] = '\0';
	m->records++;
}

static int mem_write(struct sink *s, const struct diag *d, const struct conn_info *ci)
{
	struct mem_state *m = s->state;
	size_t n;
	switch (m->kind) {
	case SINK_MEM_JSON:
		n = report_format_json(m->buf, sizeof m->buf, d, ci);
		break;
	case SINK_MEM_KV:
		n = report_format_kv_ex(m->buf, sizeof m->buf - 1, d, ci, s->min_sev);
		m->buf[n++] = '\n';
		break;
	default:
		n = report_format_text_ex(m->buf, sizeof m->buf, d, ci, "", 0, s->min_sev);
	}
	mem_append(m, m->buf, n);
	return 0;
}

static int mem_line(struct sink *s, enum severity sev, const char *line)
{
	(void)sev;
	struct mem_state *m = s->state;
	int n = snprintf(m->buf, sizeof m->buf, "%s\n", line);
	if (n > 0 && (size_t)n < sizeof m->buf)
		mem_append(m, m->buf, (size_t)n);
	return 0;
}

static void mem_release(struct sink *s)
{
	struct mem_state *m = s->state;
	if (m)
		free(m->data);
	free_state(s);
}

int sink_memory_open(struct sink *s, enum sink_memory_kind kind, size_t cap, struct tk_error *err)
{
	sink_clear(s);
	struct mem_state *m = calloc(1, sizeof *m);
	char *data = malloc(cap + 1);
	if (!m || !data) {
		free(m);
		free(data);
		tk_error_set(err, "cannot open 'memory' sink: out of memory");
		return -1;
	}
	m->kind = kind;
	m->cap = cap;
	m->data = data;
	data[0] = '\0';
	s->state = m;
	s->write = mem_write;
	s->release = mem_release;
	if (kind == SINK_MEM_JSON)
		s->flags = SINK_F_ALL_REPEATS; /* like the json sink */
	else
		s->write_line = mem_line;
	return 0;
}

const char *sink_memory_data(const struct sink *s, size_t *len, size_t *records)
{
	const struct mem_state *m = s->state;
	if (len)
		*len = m->len;
	if (records)
		*records = m->records;
	return m->data;
}

void sink_memory_clear(struct sink *s)
{
	struct mem_state *m = s->state;
	m->len = 0;
	m->records = 0;
	m->data[0] = '\0';
}
