/* The stderr sink: human text (report_format_text) on an fd the host owns,
 * written polled so that it never blocks (report_write_polled), never into
 * a number that is no longer the file it was at open (fd_watch). */
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

struct text_state {
	struct fd_watch w; /* lost: off for good (the host closed it) */
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
	if (fd_watch_current(&t->w, 0) >= 0)
		return 1;
	s->dropped++;
	t->unreported++;
	return 0;
}

static int text_out(struct sink *s, const char *buf, size_t n)
{
	struct text_state *t = s->state;
	int fd = atomic_load(&t->w.fd);
	if (t->unreported) {
		char note[128], prefix[48];
		sink_prefix(prefix, sizeof prefix, t->ident);
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
	sink_prefix(prefix, sizeof prefix, t->ident);
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
	sink_prefix(prefix, sizeof prefix, t->ident);
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
	if (t)
		fd_watch_closed(&t->w, fd);
}

static int text_uses_fd(struct sink *s, int fd)
{
	struct text_state *t = s->state;
	return t && fd_watch_uses(&t->w, fd);
}

static const struct sink_ops text_ops = {
	.name = "stderr",
	.write = text_write,
	.write_line = text_line,
	.uses_fd = text_uses_fd,
	.fd_closed = text_fd_closed,
	.release = sink_free_state,
};

TK_COLD int sink_text_open(struct sink *s, int fd, report_write_fn write_fn, const char *ident, int color,
		   struct tk_error *err)
{
	sink_clear(s);
	struct fd_id id;
	if (fd_id_get(fd, &id) < 0) {
		tk_error_set(err, "cannot open 'stderr' sink: fd %d: %s", fd, strerror(fd < 0 ? EBADF : errno));
		return -1;
	}
	struct text_state *t = SINK_STATE_ALLOC(struct text_state);
	if (!t) {
		tk_error_set(err, "cannot open 'stderr' sink: out of memory");
		return -1;
	}
	fd_watch_set(&t->w, fd, &id);
	t->write_fn = write_fn;
	t->color = color;
	snprintf(t->ident, sizeof t->ident, "%s", ident ? ident : "");
	s->state = t;
	s->ops = &text_ops;
	return 0;
}
