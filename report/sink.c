/* Sinks: stderr text, syslog (our own /dev/log client), JSON lines, memory.
 * Each record is formatted into the sink's own buffer (allocated when the
 * sink is opened) and written with one write(); no stdio, no malloc later.
 *
 * The shim calls the sinks from the host's own threads, with locks held:
 * nothing here may block on an output that does not drain, nor write into
 * an fd that is no longer the one the sink opened (daemons close fds and
 * reuse the numbers). A record that cannot go out safely is dropped and
 * counted. */
#include "report/report.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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

/* 1 when fd can take a write now without blocking; else 0, errno set. */
static int fd_writable(int fd)
{
	struct pollfd pf = {.fd = fd, .events = POLLOUT};
	int rc;
	do
		rc = poll(&pf, 1, 0);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return 0;
	if (pf.revents & POLLNVAL) {
		errno = EBADF;
		return 0;
	}
	if (pf.revents & (POLLERR | POLLHUP)) {
		errno = EPIPE; /* no reader: a write would raise SIGPIPE */
		return 0;
	}
	if (!(pf.revents & POLLOUT)) {
		errno = EAGAIN;
		return 0;
	}
	return 1;
}

int report_write_polled(report_write_fn write_fn, int fd, const void *buf, size_t len)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
	int sock = S_ISSOCK(st.st_mode);
	const char *p = buf;
	while (len) {
		size_t chunk = len;
		if (chunk > PIPE_BUF) {
			chunk = PIPE_BUF;
			const char *nl = memrchr(p, '\n', PIPE_BUF);
			if (nl)
				chunk = (size_t)(nl - p) + 1;
		}
		while (chunk) {
			if (!fd_writable(fd))
				return -1;
			ssize_t n = sock ? send(fd, p, chunk, MSG_DONTWAIT | MSG_NOSIGNAL)
				    : write_fn ? write_fn(fd, p, chunk) : write(fd, p, chunk);
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
			chunk -= (size_t)n;
		}
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

/* ---- which file an fd is ---------------------------------------------------- */

/* What fstat said about a sink's fd when the sink opened (or got) it: the
 * same number later may be the host's own file or socket. */
struct fd_id {
	dev_t dev;
	ino_t ino;
	mode_t type;
};

static int fd_id_get(int fd, struct fd_id *id)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		return -1;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->type = st.st_mode & S_IFMT;
	return 0;
}

static int fd_id_same(int fd, const struct fd_id *id)
{
	struct fd_id now;
	return fd_id_get(fd, &now) == 0 && now.dev == id->dev && now.ino == id->ino && now.type == id->type;
}

/* fd moved to a number >= 3 (close-on-exec): a daemon that closes 0, 1, 2
 * and opens /dev/null three times expects to get them back. */
static int fd_above_std(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int saved = errno;
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		saved = errno;
	close(fd);
	errno = saved;
	return nfd;
}

/* ---- text ----------------------------------------------------------------- */

struct text_state {
	atomic_int fd;    /* -1: off for good (the host closed it) */
	struct fd_id id;
	report_write_fn write_fn;
	int color;
	unsigned long unreported; /* drops not yet told about */
	char ident[32];
	char buf[REPORT_RECORD_MAX];
};

/* 1 when fd is still the file the sink got; else the record is dropped. */
static int text_usable(struct sink *s)
{
	struct text_state *t = s->state;
	int fd = atomic_load(&t->fd);
	if (fd >= 0 && fd_id_same(fd, &t->id))
		return 1;
	s->dropped++;
	t->unreported++;
	return 0;
}

static int text_out(struct sink *s, const char *buf, size_t n)
{
	struct text_state *t = s->state;
	int fd = atomic_load(&t->fd);
	if (t->unreported) {
		char note[128], prefix[48];
		make_prefix(prefix, sizeof prefix, t->ident);
		int m = snprintf(note, sizeof note, "%swarning: %lu report%s dropped (output not writable)\n",
				 prefix, t->unreported, t->unreported == 1 ? "" : "s");
		if (m > 0 && (size_t)m < sizeof note && report_write_polled(t->write_fn, fd, note, (size_t)m) == 0)
			t->unreported = 0;
	}
	if (report_write_polled(t->write_fn, fd, buf, n) == 0)
		return 0;
	s->dropped++;
	t->unreported++;
	return -1;
}

static int text_write(struct sink *s, const struct diag *d, const struct conn_info *ci)
{
	struct text_state *t = s->state;
	if (!text_usable(s))
		return -1;
	char prefix[48];
	make_prefix(prefix, sizeof prefix, t->ident);
	size_t n = report_format_text_ex(t->buf, sizeof t->buf, d, ci, prefix, t->color, s->min_sev);
	return n ? text_out(s, t->buf, n) : 0;
}

static int text_line(struct sink *s, enum severity sev, const char *line)
{
	(void)sev;
	struct text_state *t = s->state;
	if (!text_usable(s))
		return -1;
	char prefix[48];
	make_prefix(prefix, sizeof prefix, t->ident);
	int n = snprintf(t->buf, sizeof t->buf, "%s%s\n", prefix, line);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof t->buf) {
		n = (int)sizeof t->buf - 1;
		t->buf[n - 1] = '\n';
	}
	return text_out(s, t->buf, (size_t)n);
}

static void text_fd_closed(struct sink *s, int fd)
{
	struct text_state *t = s->state;
	if (t && fd >= 0) {
		int expect = fd;
		atomic_compare_exchange_strong(&t->fd, &expect, -1);
	}
}

static int text_uses_fd(struct sink *s, int fd)
{
	struct text_state *t = s->state;
	return t && fd >= 0 && atomic_load(&t->fd) == fd;
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
	struct fd_id id;
	if (fd_id_get(fd, &id) < 0) {
		tk_error_set(err, "cannot open 'stderr' sink: fd %d: %s", fd, strerror(fd < 0 ? EBADF : errno));
		return -1;
	}
	struct text_state *t = calloc(1, sizeof *t);
	if (!t) {
		tk_error_set(err, "cannot open 'stderr' sink: out of memory");
		return -1;
	}
	atomic_init(&t->fd, fd);
	t->id = id;
	t->write_fn = write_fn;
	t->color = color;
	snprintf(t->ident, sizeof t->ident, "%s", ident ? ident : "");
	s->state = t;
	s->write = text_write;
	s->write_line = text_line;
	s->release = free_state;
	s->fd_closed = text_fd_closed;
	s->uses_fd = text_uses_fd;
	return 0;
}

/* ---- syslog --------------------------------------------------------------- */

struct syslog_state {
	atomic_int fd;     /* -1 until the first record, and after a disconnect */
	atomic_int lost;   /* the host closed fd: forget it, do not close it */
	struct fd_id id;
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
		int fd = fd_above_std(socket(AF_UNIX, types[i] | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
		if (fd < 0)
			return -1;
		/* AF_UNIX: connect does not wait; EAGAIN when the backlog is full */
		if (connect(fd, (const struct sockaddr *)&st->addr, sizeof st->addr) == 0 &&
		    fd_id_get(fd, &st->id) == 0) {
			st->type = types[i];
			atomic_store(&st->lost, 0);
			atomic_store(&st->fd, fd);
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
	int fd = atomic_exchange(&st->fd, -1);
	int lost = atomic_exchange(&st->lost, 0);
	if (fd >= 0 && !lost && fd_id_same(fd, &st->id))
		close(fd);
}

enum { SEND_OK, SEND_DROP, SEND_RETRY };

static int syslog_send_once(struct syslog_state *st, const char *p, size_t n)
{
	int fd = atomic_load(&st->fd);
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
		if (atomic_load(&st->lost) ||
		    (atomic_load(&st->fd) >= 0 && !fd_id_same(atomic_load(&st->fd), &st->id)))
			syslog_disconnect(st); /* the number is the host's now: not closed */
		if (atomic_load(&st->fd) < 0 && syslog_connect(st) < 0)
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
	if (st && fd >= 0 && atomic_load(&st->fd) == fd)
		atomic_store(&st->lost, 1);
}

static int syslog_uses_fd(struct sink *s, int fd)
{
	struct syslog_state *st = s->state;
	return st && fd >= 0 && atomic_load(&st->fd) == fd;
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
	atomic_init(&st->fd, -1);
	atomic_init(&st->lost, 0);
	st->addr.sun_family = AF_UNIX;
	memcpy(st->addr.sun_path, path, strlen(path) + 1);
	s->state = st;
	s->write = syslog_write;
	s->write_line = syslog_line;
	s->release = syslog_release;
	s->fd_closed = syslog_fd_closed;
	s->uses_fd = syslog_uses_fd;
	return 0;
}

/* ---- json lines ----------------------------------------------------------- */

struct json_state {
	atomic_int fd;     /* -1: none (a reopen failed) */
	atomic_int lost;   /* the host closed fd */
	struct fd_id id;
	int owned;
	report_write_fn write_fn;
	char *path;        /* owned sinks: opened again when fd was lost */
	char buf[REPORT_RECORD_MAX];
};

/* Opens path for appending without ever blocking (a FIFO would block a
 * plain open until a reader comes): a regular file only. */
static int json_open_path(const char *path, struct fd_id *id, struct tk_error *err)
{
	int fd = fd_above_std(open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0644));
	if (fd < 0) {
		if (errno == ENXIO) /* a FIFO with no reader */
			tk_error_set(err, "cannot open '%s': not a regular file", path);
		else
			tk_error_set(err, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fd_id_get(fd, id) < 0 || id->type != S_IFREG) {
		tk_error_set(err, "cannot open '%s': not a regular file", path);
		close(fd);
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		tk_error_set(err, "cannot open '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The fd to write to, opened again when the host took the old one; -1:
 * drop the record. */
static int json_fd(struct json_state *j)
{
	int fd = atomic_load(&j->fd);
	if (fd >= 0 && (atomic_load(&j->lost) || !fd_id_same(fd, &j->id))) {
		/* the number is the host's now: forget it, never close it */
		atomic_store(&j->fd, -1);
		atomic_store(&j->lost, 0);
		fd = -1;
	}
	if (fd < 0 && j->owned && j->path) {
		fd = json_open_path(j->path, &j->id, NULL);
		if (fd >= 0)
			atomic_store(&j->fd, fd);
	}
	return fd;
}

static int json_write(struct sink *s, const struct diag *d, const struct conn_info *ci)
{
	struct json_state *j = s->state;
	int fd = json_fd(j);
	if (fd < 0) {
		s->dropped++;
		return -1;
	}
	size_t n = report_format_json(j->buf, sizeof j->buf, d, ci);
	if (n && report_write_all(j->write_fn, fd, j->buf, n) < 0) {
		s->dropped++;
		return -1;
	}
	return 0;
}

static void json_fd_closed(struct sink *s, int fd)
{
	struct json_state *j = s->state;
	if (j && fd >= 0 && atomic_load(&j->fd) == fd)
		atomic_store(&j->lost, 1);
}

static int json_uses_fd(struct sink *s, int fd)
{
	struct json_state *j = s->state;
	return j && fd >= 0 && atomic_load(&j->fd) == fd;
}

static void json_release(struct sink *s)
{
	struct json_state *j = s->state;
	if (j) {
		int fd = atomic_exchange(&j->fd, -1);
		if (j->owned && fd >= 0 && !atomic_load(&j->lost) && fd_id_same(fd, &j->id))
			close(fd);
		free(j->path);
	}
	free_state(s);
}

static int json_new(struct sink *s, int fd, const struct fd_id *id, report_write_fn write_fn,
		    struct tk_error *err)
{
	struct json_state *j = calloc(1, sizeof *j);
	if (!j) {
		tk_error_set(err, "cannot open 'json' sink: out of memory");
		return -1;
	}
	atomic_init(&j->fd, fd);
	atomic_init(&j->lost, 0);
	j->id = *id;
	j->write_fn = write_fn;
	s->state = j;
	s->write = json_write;
	s->release = json_release;
	s->fd_closed = json_fd_closed;
	s->uses_fd = json_uses_fd;
	s->flags = SINK_F_ALL_REPEATS;
	return 0;
}

int sink_json_fd(struct sink *s, int fd, report_write_fn write_fn, struct tk_error *err)
{
	sink_clear(s);
	struct fd_id id;
	if (fd_id_get(fd, &id) < 0) {
		tk_error_set(err, "cannot open 'json' sink: fd %d: %s", fd, strerror(fd < 0 ? EBADF : errno));
		return -1;
	}
	return json_new(s, fd, &id, write_fn, err);
}

int sink_json_open(struct sink *s, const char *path, report_write_fn write_fn, struct tk_error *err)
{
	sink_clear(s);
	if (!path || !path[0]) {
		tk_error_set(err, "cannot open 'json' sink: no path (json:PATH)");
		return -1;
	}
	/* absolute, so that a reopen after the host's chdir finds the same file */
	char *copy = NULL;
	if (path[0] == '/') {
		copy = strdup(path);
	} else {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof cwd)) {
			size_t n = strlen(cwd) + 1 + strlen(path) + 1;
			if ((copy = malloc(n)))
				snprintf(copy, n, "%s/%s", cwd, path);
		} else {
			copy = strdup(path);
		}
	}
	if (!copy) {
		tk_error_set(err, "cannot open 'json' sink: out of memory");
		return -1;
	}
	struct fd_id id;
	int fd = json_open_path(path, &id, err);
	if (fd < 0) {
		free(copy);
		return -1;
	}
	if (json_new(s, fd, &id, write_fn, err) < 0) {
		close(fd);
		free(copy);
		return -1;
	}
	struct json_state *j = s->state;
	j->owned = 1;
	j->path = copy;
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
