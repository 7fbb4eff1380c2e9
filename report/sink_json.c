/* The json:PATH sink: the SPEC.md diagnosis object, one line per record,
 * appended to a regular file with one write per line (several processes
 * may share it); opened again when the host took its fd (fd_watch). */
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

struct json_state {
	struct fd_watch w; /* fd -1: none (a reopen failed) */
	report_write_fn write_fn;
	char *path;        /* absolute: opened again when fd was lost */
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
	struct json_state *j = calloc(1, sizeof *j);
	if (!j) {
		tk_error_set(err, "cannot open 'json' sink: out of memory");
		close(fd);
		free(copy);
		return -1;
	}
	fd_watch_set(&j->w, fd, &id);
	j->write_fn = write_fn;
	j->path = copy;
	s->state = j;
	s->ops = &json_ops;
	s->flags = SINK_F_ALL_REPEATS;
	return 0;
}
