/* Which file a sink's fd is (report/fd_watch.c), shared by the sinks that
 * write to an fd: the number a sink opened or was given may later be the
 * host's own file or socket (daemons close fds and reuse the numbers). */
#ifndef TOKSHIM_REPORT_FD_WATCH_H
#define TOKSHIM_REPORT_FD_WATCH_H

#include <stdatomic.h>
#include <sys/types.h>

/* What fstat said about an fd when the sink opened (or got) it. */
struct fd_id {
	dev_t dev;
	ino_t ino;
	mode_t type;
};
/* 0 and *id filled, or -1 (fd not open). */
int fd_id_get(int fd, struct fd_id *id);
/* 1 when fd is still the file id describes. */
int fd_id_same(int fd, const struct fd_id *id);
/* A descriptor a sink opened (fd, which it owns), moved (close-on-exec) to
 * a high number: the top eighth below the soft RLIMIT_NOFILE (at most 4096),
 * never a low one a program expects free (a daemon reopening 0-2, bash's
 * `>&3`, a subprocess's pass_fds), and never the host's last free one (fd
 * is closed and -1 returned, errno EMFILE, when no other is left). The new
 * number, or -1 (fd closed). */
int fd_place_high(int fd);

/* A sink's fd and what the host did to it. Read from any thread without a
 * lock (the close hook); written under the reporter's lock, except lost. */
struct fd_watch {
	atomic_int fd;   /* -1: none */
	atomic_int lost; /* the host closed fd: forget it, never close it */
	struct fd_id id;
};
/* Watches fd from now on (id: what it is); lost cleared. */
void fd_watch_set(struct fd_watch *w, int fd, const struct fd_id *id);
/* The host closed fd (or made it another file): marks it lost when it is
 * the watched one. */
void fd_watch_closed(struct fd_watch *w, int fd);
/* 1 when the sink writes to fd now (watched and not lost). */
int fd_watch_uses(struct fd_watch *w, int fd);
/* The watched fd when it is still the file it was and not lost, else -1;
 * with forget, a lost or changed fd is then dropped from the watch (never
 * closed: the number is the host's). */
int fd_watch_current(struct fd_watch *w, int forget);

#endif
