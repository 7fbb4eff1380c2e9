/* The json:PATH sink: the SPEC.md diagnosis object, one line per record,
 * appended to a regular file with one write per line (several processes
 * may share it), whole or not at all; the file is opened at the first
 * record (none at load: no descriptor taken from a host that never
 * reports), at a high descriptor number, and opened again when the host
 * took its fd (fd_watch). */
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
#include "decode/cold.h"

struct json_state {
	struct fd_watch w; /* fd -1: none (a reopen failed) */
	report_write_fn write_fn;
	char *path;        /* absolute: opened again when fd was lost */
	char buf[REPORT_RECORD_MAX];
};

/* A file the sink may append to: a regular file owned by this user (the
 * effective uid) or root; NULL, else why not. */
static const char *json_file_refused(const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return "owned by another user";
	return NULL;
}

/* Opens path for appending without ever blocking (a FIFO would block a
 * plain open until a reader comes) and without following a symbolic link
 * another user may have planted (O_NOFOLLOW; a dangling one is not
 * followed to create a file either); a new file is made 0600 (it holds
 * identities). Then moved to a high descriptor number (fd_place_high). */
static int json_open_path(const char *path, struct fd_id *id, struct tk_error *err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno == ENXIO) /* a FIFO with no reader */
			tk_error_set(err, "cannot open '%s': not a regular file", path);
		else if (errno == ELOOP)
			tk_error_set(err, "cannot open '%s': a symbolic link (name the file itself)", path);
		else
			tk_error_set(err, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	const char *why = fstat(fd, &st) != 0 ? "cannot stat it" : json_file_refused(&st);
	if (why) {
		tk_error_set(err, "cannot open '%s': %s", path, why);
		close(fd);
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		tk_error_set(err, "cannot open '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if ((fd = fd_place_high(fd)) < 0 || fd_id_get(fd, id) < 0) {
		tk_error_set(err, "cannot open '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* At load, without opening (the file is opened at the first record): the
 * path must be usable then. NULL, else why not (err set). */
static int json_path_check(const char *path, struct tk_error *err)
{
	struct stat st;
	if (lstat(path, &st) == 0) {
		const char *why = S_ISLNK(st.st_mode) ? "a symbolic link (name the file itself)" : json_file_refused(&st);
		if (why) {
			tk_error_set(err, "cannot open '%s': %s", path, why);
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		tk_error_set(err, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	/* to be created: its directory must be there */
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n >= sizeof dir) {
		tk_error_set(err, "cannot open '%s': path too long", path);
		return -1;
	}
	if (!slash)
		memcpy(dir, ".", 2);
	else if (n == 0)
		memcpy(dir, "/", 2);
	else {
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	errno = 0;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		tk_error_set(err, "cannot open '%s': %s", path, strerror(errno ? errno : ENOTDIR));
		return -1;
	}
	return 0;
}

/* The fd to write to: opened at the first record, and again when the host
 * took the old one; -1: drop the record. */
static int json_fd(struct json_state *j)
{
	/* a number that is the host's now is forgotten, never closed */
	int fd = fd_watch_current(&j->w, 1);
	if (fd < 0 && j->path) {
		struct fd_id id;
		fd = json_open_path(j->path, &id, NULL);
		if (fd >= 0)
			fd_watch_set(&j->w, fd, &id);
	}
	return fd;
}

/* A record is whole or absent: one write; when it was cut short (ENOSPC,
 * RLIMIT_FSIZE, EIO) the file is truncated back to where the record began,
 * unless another writer has appended since (then the cut record stays: the
 * next line starts after a newline we add when we can). */
static int json_append(struct json_state *j, int fd, const char *buf, size_t n)
{
	ssize_t w;
	do
		w = report_write_nosig(j->write_fn, fd, buf, n);
	while (w < 0 && errno == EINTR);
	if (w == (ssize_t)n)
		return 0;
	if (w > 0) {
		struct stat st;
		off_t end = lseek(fd, 0, SEEK_CUR);
		if (end >= w && fstat(fd, &st) == 0 && st.st_size == end)
			(void)!ftruncate(fd, end - w);
	}
	return -1;
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
	if (n && json_append(j, fd, j->buf, n) < 0) {
		s->dropped++;
		return -1;
	}
	return 0;
}

static void json_fd_closed(struct sink *s, int fd)
{
	struct json_state *j = s->state;
	if (j)
		fd_watch_closed(&j->w, fd);
}

static int json_uses_fd(struct sink *s, int fd)
{
	struct json_state *j = s->state;
	return j && fd_watch_uses(&j->w, fd);
}

static void json_release(struct sink *s)
{
	struct json_state *j = s->state;
	if (j) {
		int fd = atomic_exchange(&j->w.fd, -1);
		if (fd >= 0 && !atomic_load(&j->w.lost) && fd_id_same(fd, &j->w.id))
			close(fd);
		free(j->path);
	}
	sink_free_state(s);
}

static const struct sink_ops json_ops = {
	.name = "json",
	.write = json_write,
	.write_line = NULL, /* the log `tokshim report` reads holds diagnoses only */
	.uses_fd = json_uses_fd,
	.fd_closed = json_fd_closed,
	.release = json_release,
};

TK_COLD int sink_json_open(struct sink *s, const char *path, report_write_fn write_fn, struct tk_error *err)
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
	if (json_path_check(copy, err) < 0) {
		free(copy);
		return -1;
	}
	struct json_state *j = SINK_STATE_ALLOC(struct json_state);
	if (!j) {
		tk_error_set(err, "cannot open 'json' sink: out of memory");
		free(copy);
		return -1;
	}
	/* no descriptor until the first record */
	atomic_init(&j->w.fd, -1);
	atomic_init(&j->w.lost, 0);
	j->write_fn = write_fn;
	j->path = copy;
	s->state = j;
	s->ops = &json_ops;
	s->flags = SINK_F_ALL_REPEATS;
	return 0;
}
