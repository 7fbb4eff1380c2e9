/* report/: the sinks never block the host, never write into an fd the host
 * took over, and error messages never echo a secret. Each test has a
 * timeout: a sink that blocks hangs here. Fixed times. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "decode/validate.h"
#include "report/reporter.h"

#define T0 1795383600

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A reject whose token fingerprint is i: each one a new token, so the rate
 * limit lets every one through as a full report. */
static void reject_diag(struct diag *d, int i)
{
	diag_init(d, T0);
	d->product = PRODUCT_SYNC;
	diag_add(d, CAUSE_EXPIRED, "get a new token", "expired %d minutes ago", i + 1);
	diag_finish(d);
	snprintf(d->token.fingerprint, sizeof d->token.fingerprint, "sha256:%016x", (unsigned)i);
}

static void tmp_path(char *buf, size_t cap, const char *what)
{
	snprintf(buf, cap, "/tmp/tokshim-safety-%d-%s", (int)getpid(), what);
	unlink(buf);
}

static int unix_server(int type, const char *path)
{
	int fd = socket(AF_UNIX, type, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0, "%s", strerror(errno));
	if (type == SOCK_STREAM)
		cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

/* Reads what is there (fd: the test's own reading end). */
static size_t drain(int fd, char *buf, size_t cap)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	size_t got = 0;
	for (;;) {
		ssize_t n = recv(fd, buf + got, cap - got - 1, MSG_DONTWAIT);
		if (n < 0 && errno == ENOTSOCK)
			n = read(fd, buf + got, cap - got - 1);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got >= cap - 1)
			got = 0; /* keep the tail */
	}
	buf[got] = '\0';
	return got;
}

/* ---- stderr: a pipe nobody reads ---------------------------------------------- */

Test(sink_safety, stderr_pipe_never_read_drops, .timeout = 20)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	struct reporter_options o = {.output = "stderr", .level = "warning", .err_fd = p[1]};
	struct reporter *r = reporter_new(&o);
	cr_assert_not_null(r);
	cr_assert_eq(reporter_nsinks(r), 1);
	double t = now_s();
	int full = 0;
	for (int i = 0; i < 1000; i++) {
		struct diag d;
		reject_diag(&d, i);
		errno = 1234;
		full += reporter_report(r, &d, NULL, (uint64_t)i, T0);
		cr_assert_eq(errno, 1234, "errno changed");
	}
	cr_assert_lt(now_s() - t, 5.0, "reports blocked on a full pipe");
	unsigned long dropped = reporter_dropped(r);
	cr_assert_gt(dropped, 0);
	cr_assert_eq((unsigned long)full + dropped, 1000, "full %d dropped %lu", full, dropped);
	/* fd 2's flags are not ours: still blocking */
	cr_assert_eq(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);

	/* the reader comes back: the next record says how many were lost */
	static char buf[1 << 17];
	drain(p[0], buf, sizeof buf);
	struct diag d;
	reject_diag(&d, 5000);
	cr_assert_eq(reporter_report(r, &d, NULL, 5000, T0), 1);
	drain(p[0], buf, sizeof buf);
	char want[64];
	snprintf(want, sizeof want, "warning: %lu reports dropped (output not writable)\n", dropped);
	cr_assert_not_null(strstr(buf, want), "%s", buf);
	cr_assert_not_null(strstr(buf, "expired 5001 minutes ago"), "%s", buf);
	reporter_free(r);
	close(p[0]);
	close(p[1]);
}

static size_t max_write;
static char wbuf[16384];
static size_t wlen;

static ssize_t chunk_write(int fd, const void *b, size_t n)
{
	(void)fd;
	if (n > max_write)
		max_write = n;
	if (n > sizeof wbuf - wlen)
		n = sizeof wbuf - wlen;
	memcpy(wbuf + wlen, b, n);
	wlen += n;
	return (ssize_t)n;
}

Test(sink_safety, stderr_record_longer_than_pipe_buf_is_cut_at_lines, .timeout = 20)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	struct sink s;
	cr_assert_eq(sink_text_open(&s, p[1], chunk_write, "", 0, NULL), 0);
	/* 100 lines of 60 characters in one record of 6000 bytes */
	static char line[8000];
	size_t n = 0;
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(line + n, sizeof line - n, "%s%057d", i ? "\n" : "", i);
	cr_assert_eq(s.ops->write_line(&s, SEV_ERROR, line), 0);
	cr_assert_leq(max_write, PIPE_BUF);
	cr_assert_eq(wlen, n + 1);
	cr_assert_eq(memcmp(wbuf, line, n), 0, "bytes changed");
	/* a short record: one write */
	max_write = wlen = 0;
	cr_assert_eq(s.ops->write_line(&s, SEV_ERROR, "short"), 0);
	cr_assert_eq(max_write, 6);
	sink_release(&s);
	close(p[0]);
	close(p[1]);
}

Test(sink_safety, stderr_fd_taken_over_by_the_host, .timeout = 20)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	struct reporter_options o = {.output = "stderr", .err_fd = p[1]};
	struct reporter *r = reporter_new(&o);
	cr_assert_not_null(r);
	/* the host closes "stderr" and its own file gets the number */
	int num = p[1];
	close(p[1]);
	char path[128];
	tmp_path(path, sizeof path, "host.dat");
	int host = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_eq(host, num);
	struct diag d;
	reject_diag(&d, 1);
	cr_assert_eq(reporter_report(r, &d, NULL, 1, T0), 0);
	reporter_warn(r, "a warning");
	struct stat st;
	cr_assert_eq(fstat(host, &st), 0);
	cr_assert_eq(st.st_size, 0, "report written into the host's file");
	cr_assert_eq(reporter_dropped(r), 2);

	/* told by the close hook: off for good, even for the same file again */
	reporter_fd_closed(r, host);
	cr_assert_eq(reporter_report(r, &d, NULL, 2, T0), 0);
	reporter_free(r);
	close(host);
	unlink(path);
	close(p[0]);
}

Test(sink_safety, stderr_closed_at_load_means_no_stderr_sink)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	int num = p[1];
	close(p[1]);
	struct reporter_options o = {.output = "stderr", .err_fd = num};
	struct reporter *r = reporter_new(&o);
	cr_assert_not_null(r);
	cr_assert_eq(reporter_nsinks(r), 0);
	reporter_free(r);
	close(p[0]);
}

/* ---- syslog: a syslogd that does not read ---------------------------------------- */

Test(sink_safety, syslog_dgram_never_read, .timeout = 20)
{
	char path[108];
	tmp_path(path, sizeof path, "dgram.sock");
	int srv = unix_server(SOCK_DGRAM, path);
	struct sink s;
	cr_assert_eq(sink_syslog_open(&s, path, NULL, NULL), 0);
	double t = now_s();
	int ok = 0;
	for (int i = 0; i < 1000; i++)
		ok += s.ops->write_line(&s, SEV_ERROR, "a line for a syslogd that is asleep") == 0;
	cr_assert_lt(now_s() - t, 5.0, "sends blocked");
	cr_assert_gt(s.dropped, 0);
	cr_assert_eq((unsigned long)ok + s.dropped, 1000);

	/* syslogd reads again: the next line goes out, then a note of the loss */
	static char buf[1 << 16];
	while (recv(srv, buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
	unsigned long dropped = s.dropped;
	cr_assert_eq(s.ops->write_line(&s, SEV_ERROR, "awake"), 0);
	ssize_t n = recv(srv, buf, sizeof buf - 1, MSG_DONTWAIT);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_not_null(strstr(buf, "]: awake"), "%s", buf);
	n = recv(srv, buf, sizeof buf - 1, MSG_DONTWAIT);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	char want[64];
	snprintf(want, sizeof want, "]: %lu reports dropped (syslog not reading)", dropped);
	cr_assert_not_null(strstr(buf, want), "%s", buf);
	sink_release(&s);
	close(srv);
	unlink(path);
}

Test(sink_safety, syslog_stream_accepted_never_read, .timeout = 20)
{
	char path[108];
	tmp_path(path, sizeof path, "stream.sock");
	int srv = unix_server(SOCK_STREAM, path);
	struct sink s;
	cr_assert_eq(sink_syslog_open(&s, path, NULL, NULL), 0);
	cr_assert_eq(s.ops->write_line(&s, SEV_ERROR, "first"), 0);
	int c = accept(srv, NULL, NULL);
	cr_assert_geq(c, 0);
	static char big[4000];
	memset(big, 'x', sizeof big - 1);
	double t = now_s();
	for (int i = 0; i < 2000; i++)
		s.ops->write_line(&s, SEV_ERROR, big);
	cr_assert_lt(now_s() - t, 5.0, "sends blocked");
	cr_assert_gt(s.dropped, 0);
	sink_release(&s);
	close(c);
	close(srv);
	unlink(path);
}

/* Reports through a reporter whose only sink is syslog on a socket that is
 * never read, from the stream side too: the reporter returns. */
Test(sink_safety, reporter_syslog_never_read, .timeout = 20)
{
	int types[] = {SOCK_DGRAM, SOCK_STREAM};
	for (int k = 0; k < 2; k++) {
		char path[108];
		tmp_path(path, sizeof path, k ? "rs.sock" : "rd.sock");
		int srv = unix_server(types[k], path);
		int p[2];
		cr_assert_eq(pipe(p), 0);
		struct reporter_options o = {.output = "syslog", .syslog_path = path, .err_fd = p[1]};
		struct reporter *r = reporter_new(&o);
		cr_assert_eq(reporter_nsinks(r), 1);
		double t = now_s();
		for (int i = 0; i < 1000; i++) {
			struct diag d;
			reject_diag(&d, i);
			reporter_report(r, &d, NULL, (uint64_t)i, T0);
		}
		cr_assert_lt(now_s() - t, 5.0, "type %d: reports blocked", types[k]);
		cr_assert_gt(reporter_dropped(r), 0);
		reporter_free(r);
		close(srv);
		unlink(path);
		close(p[0]);
		close(p[1]);
	}
}

/* The host closes the syslog socket and reuses its number: nothing of ours
 * goes into the host's file, the sink reconnects. */
Test(sink_safety, syslog_fd_taken_over_by_the_host, .timeout = 20)
{
	char path[108], hp[128];
	tmp_path(path, sizeof path, "re.sock");
	tmp_path(hp, sizeof hp, "host2.dat");
	int srv = unix_server(SOCK_DGRAM, path);
	struct sink s;
	cr_assert_eq(sink_syslog_open(&s, path, NULL, NULL), 0);
	cr_assert_eq(s.ops->write_line(&s, SEV_ERROR, "one"), 0);
	/* the socket is at a high number (fd_place_high): find it by probing */
	int fd = -1;
	for (int i = 3; i < 4096 && fd < 0; i++) {
		struct stat st;
		struct sockaddr_un peer;
		socklen_t len = sizeof peer;
		if (i != srv && fstat(i, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    getpeername(i, (struct sockaddr *)&peer, &len) == 0 && !strcmp(peer.sun_path, path))
			fd = i;
	}
	cr_assert_geq(fd, 0);
	int hosts[2];
	cr_assert_gt(fd, 64, "the socket is at a high number, not the lowest free one");
	for (int told = 0; told < 2; told++) {
		/* the host makes that number one of its files */
		int h = open(hp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		cr_assert_eq(dup2(h, fd), fd);
		close(h);
		int host = hosts[told] = fd;
		if (told)
			s.ops->fd_closed(&s, host);
		cr_assert_eq(s.ops->write_line(&s, SEV_ERROR, "two"), 0);
		struct stat st;
		cr_assert_eq(fstat(host, &st), 0);
		cr_assert_eq(st.st_size, 0, "a syslog line went into the host's file");
		/* the sink's new socket: another high number */
		fd = -1;
		for (int i = 3; i < 4096 && fd < 0; i++) {
			struct stat st2;
			struct sockaddr_un peer;
			socklen_t len = sizeof peer;
			if (i != srv && fstat(i, &st2) == 0 && S_ISSOCK(st2.st_mode) &&
			    getpeername(i, (struct sockaddr *)&peer, &len) == 0 && !strcmp(peer.sun_path, path))
				fd = i;
		}
		cr_assert_geq(fd, 0, "no new socket");
	}
	char buf[512];
	int lines = 0;
	while (recv(srv, buf, sizeof buf, MSG_DONTWAIT) > 0)
		lines++;
	cr_assert_eq(lines, 3);
	sink_release(&s);
	if (hosts[0] != hosts[1])
		close(hosts[0]);
	close(hosts[1]);
	close(srv);
	unlink(path);
	unlink(hp);
}

/* ---- json ---------------------------------------------------------------------- */

Test(sink_safety, json_fifo_does_not_block_open, .timeout = 20)
{
	char path[128];
	tmp_path(path, sizeof path, "j.fifo");
	cr_assert_eq(mkfifo(path, 0600), 0);
	struct sink s;
	struct tk_error err = {0};
	double t = now_s();
	cr_assert_eq(sink_json_open(&s, path, NULL, &err), -1);
	char want[200];
	snprintf(want, sizeof want, "cannot open '%s': not a regular file", path);
	cr_assert_str_eq(err.msg, want);
	/* with a reader there, still not a file */
	int rd = open(path, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(rd, 0);
	err = (struct tk_error){0};
	cr_assert_eq(sink_json_open(&s, path, NULL, &err), -1);
	cr_assert_str_eq(err.msg, want);
	close(rd);

	/* TOKSHIM_OUTPUT=json:FIFO: one warning, the sink left out */
	int p[2];
	cr_assert_eq(pipe(p), 0);
	char spec[160];
	snprintf(spec, sizeof spec, "json:%s,none", path);
	struct reporter_options o = {.output = spec, .err_fd = p[1]};
	struct reporter *r = reporter_new(&o);
	cr_assert_lt(now_s() - t, 5.0);
	cr_assert_eq(reporter_nsinks(r), 0);
	static char buf[4096];
	drain(p[0], buf, sizeof buf);
	cr_assert_not_null(strstr(buf, "not a regular file, ignored"), "%s", buf);
	reporter_free(r);
	close(p[0]);
	close(p[1]);
	unlink(path);
}

static off_t file_size(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	return st.st_size;
}

Test(sink_safety, json_fd_taken_over_by_the_host, .timeout = 20)
{
	char ours[128], host_path[128];
	tmp_path(ours, sizeof ours, "ours.json");
	tmp_path(host_path, sizeof host_path, "victim.dat");
	struct sink s;
	struct tk_error err = {0};
	cr_assert_eq(sink_json_open(&s, ours, NULL, &err), 0, "%s", err.msg);
	struct stat a, b;
	cr_assert_neq(stat(ours, &b), 0, "no file (and no descriptor) before the first record");

	struct diag d;
	reject_diag(&d, 1);
	cr_assert_eq(s.ops->write(&s, &d, NULL), 0);
	off_t one = file_size(ours);
	cr_assert_gt(one, 0);
	cr_assert_eq(stat(ours, &b), 0);
	/* the sink's fd: at a high number */
	int fd = -1;
	for (int i = 3; i < 4096 && fd < 0; i++)
		if (fstat(i, &a) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			fd = i;
	cr_assert_gt(fd, 64, "fd %d: not at a high number", fd);

	/* a daemon makes that number its own file */
	int h = open(host_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_eq(dup2(h, fd), fd);
	close(h);
	int host = fd;
	cr_assert_eq(s.ops->write(&s, &d, NULL), 0);
	cr_assert_eq(file_size(host_path), 0, "a json line went into the host's file");
	cr_assert_eq(file_size(ours), 2 * one, "the sink did not open its path again");

	/* the host closes ours and opens the same file at that number (no
	 * O_APPEND): told by the close hook, the sink does not use it */
	int fd2 = -1;
	for (int i = 3; i < 4096 && fd2 < 0; i++)
		if (i != host && fstat(i, &a) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			fd2 = i;
	cr_assert_geq(fd2, 0);
	s.ops->fd_closed(&s, fd2);
	int o2 = open(ours, O_WRONLY);
	cr_assert_eq(dup2(o2, fd2), fd2);
	close(o2);
	int again = fd2;
	cr_assert_eq(s.ops->write(&s, &d, NULL), 0);
	cr_assert_eq(lseek(again, 0, SEEK_CUR), 0, "the sink wrote through the host's fd");
	cr_assert_eq(file_size(ours), 3 * one);
	sink_release(&s);
	/* release closes the sink's own fd, not the host's */
	cr_assert_eq(fcntl(again, F_GETFD) >= 0, 1);
	cr_assert_eq(fcntl(host, F_GETFD) >= 0, 1);
	close(again);
	close(host);
	unlink(ours);
	unlink(host_path);
}

/* ---- secrets never echoed -------------------------------------------------------- */

#define SID "SK0123456789abcdef0123456789abcdef"
#define SECRET "q8Zr3TfL0wPx7nYb2KsV9dHc5mAe1uGj"

static void assert_no_secret_part(const char *msg)
{
	for (size_t i = 0; i + 4 <= strlen(SECRET); i++) {
		char part[5];
		memcpy(part, SECRET + i, 4);
		part[4] = '\0';
		cr_assert_null(strstr(msg, part), "'%s' of the secret in: %s", part, msg);
	}
}

Test(sink_safety, secrets_line_swapped_is_not_echoed)
{
	static const struct {
		const char *file;
		const char *msg;
	} bad[] = {
		{"# ok\n" SID " " SECRET "\n" SECRET " " SID "\n",
		 "cannot read secrets: line 3: first field is not an API Key SID (SK + 32 hex)"},
		{SECRET "\n", "cannot read secrets: line 1: expected 'SKxxxxxxxx SECRET'"},
		{"SK" SECRET " x\n", "cannot read secrets: line 1: first field is not an API Key SID (SK + 32 hex)"},
		{SECRET " " SECRET "\n", "cannot read secrets: line 1: first field is not an API Key SID (SK + 32 hex)"},
		/* a mistyped SID is shown */
		{"SK0123456789abc " SECRET "\n", "cannot read secrets: line 1: 'SK0123456789' is not an API Key SID"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct keyring *kr = keyring_new();
		struct tk_error err = {0};
		cr_assert_eq(keyring_add_lines(kr, bad[i].file, strlen(bad[i].file), &err), -1, "case %zu", i);
		cr_assert_eq(strncmp(err.msg, bad[i].msg, strlen(bad[i].msg)), 0, "case %zu: %s", i, err.msg);
		assert_no_secret_part(err.msg);
		keyring_free(kr);
	}
}
