/* Which file a sink's fd is (fd_watch.h). */
#include "report/fd_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decode/cold.h"

TK_COLD int fd_id_get(int fd, struct fd_id *id)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		return -1;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->type = st.st_mode & S_IFMT;
	return 0;
}

int fd_id_same(int fd, const struct fd_id *id)
{
	struct fd_id now;
	return fd_id_get(fd, &now) == 0 && now.dev == id->dev && now.ino == id->ino && now.type == id->type;
}

int fd_place_high(int fd)
{
	if (fd < 0)
		return fd;
	int saved = errno;
	struct rlimit rl;
	long lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur : 1024;
	if (lim > 4096)
		lim = 4096; /* a higher number grows the kernel's fd table for nothing */
	/* the top eighth of the range below the soft limit, where programs
	 * that count on free low numbers (3 and up) never look */
	long from = lim - 1 - lim / 8;
	if (from < 3)
		from = 3;
	int nfd = fd >= from ? fd : fcntl(fd, F_DUPFD_CLOEXEC, (int)from);
	if (nfd < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (nfd != fd)
		close(fd);
	/* never the host's last free descriptor: one more must still be
	 * available (else the host's next open would fail because of us) */
	int probe = fcntl(nfd, F_DUPFD_CLOEXEC, 0);
	if (probe < 0) {
		close(nfd);
		errno = EMFILE;
		return -1;
	}
	close(probe);
	errno = saved;
	return nfd;
}

TK_COLD void fd_watch_set(struct fd_watch *w, int fd, const struct fd_id *id)
{
	w->id = *id;
	atomic_store(&w->lost, 0);
	atomic_store(&w->fd, fd);
}

void fd_watch_closed(struct fd_watch *w, int fd)
{
	if (fd >= 0 && atomic_load(&w->fd) == fd)
		atomic_store(&w->lost, 1);
}

int fd_watch_uses(struct fd_watch *w, int fd)
{
	return fd >= 0 && atomic_load(&w->fd) == fd && !atomic_load(&w->lost);
}

int fd_watch_current(struct fd_watch *w, int forget)
{
	int fd = atomic_load(&w->fd);
	if (fd < 0)
		return -1;
	if (!atomic_load(&w->lost) && fd_id_same(fd, &w->id))
		return fd;
	if (forget) {
		atomic_store(&w->fd, -1);
		atomic_store(&w->lost, 0);
	}
	return -1;
}
