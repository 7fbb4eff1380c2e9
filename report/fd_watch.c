/* Which file a sink's fd is (fd_watch.h). */
#include "report/fd_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int fd_id_get(int fd, struct fd_id *id)
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

int fd_above_std(int fd)
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


void fd_watch_set(struct fd_watch *w, int fd, const struct fd_id *id)
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
