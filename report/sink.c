/* The sink interface's common part: writing to an fd (all of it, or
 * polled so that it never blocks), release, and what the sink files share.
 * The sinks themselves: sink_text.c (stderr), sink_syslog.c, sink_json.c,
 * sink_memory.c (tests).
 *
 * The shim calls the sinks from the host's own threads, with locks held:
 * nothing here may block on an output that does not drain, nor write into
 * an fd that is no longer the one the sink opened (fd_watch.c). A record
 * that cannot go out safely is dropped and counted. */
#include "report/sink_int.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "decode/cold.h"

/* One write that raises no signal the host did not ask for: SIGXFSZ (a
 * file at RLIMIT_FSIZE) and SIGPIPE (a pipe with no reader) are blocked on
 * this thread for the call, and one the write itself raised is taken back
 * (one that was pending before stays, for the host). errno is the
 * write's (EFBIG, EPIPE). */
ssize_t report_write_nosig(report_write_fn write_fn, int fd, const void *buf, size_t len)
{
	sigset_t block, old, before, after;
	sigemptyset(&block);
	sigaddset(&block, SIGXFSZ);
	sigaddset(&block, SIGPIPE);
	int masked = pthread_sigmask(SIG_BLOCK, &block, &old) == 0;
	if (masked && sigpending(&before) != 0)
		sigemptyset(&before);
	ssize_t n = write_fn ? write_fn(fd, buf, len) : write(fd, buf, len);
	int saved = errno;
	if (masked) {
		if (sigpending(&after) == 0) {
			static const int sigs[] = {SIGXFSZ, SIGPIPE};
			for (size_t i = 0; i < 2; i++) {
				if (sigismember(&after, sigs[i]) == 1 && sigismember(&before, sigs[i]) != 1) {
					sigset_t one;
					sigemptyset(&one);
					sigaddset(&one, sigs[i]);
					struct timespec zero = {0, 0};
					while (sigtimedwait(&one, NULL, &zero) < 0 && errno == EINTR)
						;
				}
			}
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	errno = saved;
	return n;
}

int report_write_all(report_write_fn write_fn, int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = report_write_nosig(write_fn, fd, p, len);
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
				    : report_write_nosig(write_fn, fd, p, chunk);
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
	if (s->ops && s->ops->release)
		s->ops->release(s);
	memset(s, 0, sizeof *s);
}

TK_COLD void sink_clear(struct sink *s)
{
	memset(s, 0, sizeof *s);
	s->min_sev = SEV_INFO;
}

TK_COLD void *sink_state_alloc(size_t size, size_t head)
{
	void *p = malloc(size);
	if (p)
		memset(p, 0, head);
	return p;
}

void sink_free_state(struct sink *s)
{
	free(s->state);
	s->state = NULL;
}

void sink_prefix(char *buf, size_t cap, const char *ident)
{
	if (!ident[0])
		buf[0] = '\0';
	else
		snprintf(buf, cap, "%s[%d]: ", ident, (int)getpid());
}


int sink_syslog_priority(const struct diag *d)
{
	if (!d->accept)
		return LOG_ERR;
	for (size_t i = 0; i < d->ncauses && i < DIAG_MAX_CAUSES; i++)
		if (d->causes[i].severity >= SEV_WARNING)
			return LOG_WARNING;
	return LOG_INFO;
}

int64_t sink_header_time(void)
{
	int64_t now;
	return report_wall_clock(&now) == 0 ? now : 0;
}
