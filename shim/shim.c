/* libtokshim.so's core: the configuration read once at load, the recursion
 * guard, and the path from a connection's written bytes to the reporter.
 * The hooks themselves live in hook_*.c, one family per file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "decode/session.h"
#include "decode/validate.h"
#include "decode/wire.h"
#include "report/reporter.h"
#include "report/secrets_file.h"
#include "shim/shim.h"

__thread int shim_in __attribute__((tls_model("initial-exec")));
__thread int shim_inner_fd __attribute__((tls_model("initial-exec"))) = -2;
atomic_int shim_ready;

#define SHIM_HOSTS_MAX 64

static struct {
	struct keyring *keys;
	char account[40];
	struct host_rule hosts[SHIM_HOSTS_MAX];
	struct session_config scfg;
	struct reporter *rep;
	int pid;
} g;

/* The free list of session blocks: a few, under a spinlock (taken once per
 * connection, never per write). Blocks are all of one size. */
#define BLOCKS_KEPT 16
static struct {
	atomic_int lock;
	int n;
	void *b[BLOCKS_KEPT];
} pool;

static ssize_t real_write_fn(int fd, const void *buf, size_t len)
{
	ssize_t (*w)(int, const void *, size_t) = SHIM_LIBC(write);
	/* A followed connection is never one of our outputs: the host closed
	 * the sink's fd (stderr, a daemon) and the number now is its socket.
	 * Dropped quietly, as written: not a byte into the host's stream. */
	if (shim_fd_mapped(fd))
		return (ssize_t)len;
	return w(fd, buf, len);
}

static void shim_vline(const char *what, const char *fmt, va_list ap)
{
	char buf[600];
	int n = snprintf(buf, sizeof buf, "tokshim[%d]: %s: ", (int)getpid(), what);
	int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	size_t len = (size_t)n + ((size_t)m < sizeof buf - (size_t)n - 1 ? (size_t)m : sizeof buf - (size_t)n - 2);
	buf[len++] = '\n';
	int saved = errno;
	report_write_all(real_write_fn, 2, buf, len);
	errno = saved;
}

void shim_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	shim_vline("warning", fmt, ap);
	va_end(ap);
}

void shim_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	shim_vline("info", fmt, ap);
	va_end(ap);
}

void shim_fd_closing(int fd)
{
	if (g.rep)
		reporter_fd_closed(g.rep, fd);
}

int shim_fd_is_sink(int fd)
{
	return g.rep && reporter_uses_fd(g.rep, fd);
}

int shim_vfork_child(void)
{
	/* glibc >= 2.25 caches no pid: the caller's own */
	return (int)getpid() != g.pid;
}

/* ---- configuration --------------------------------------------------------- */
static void config_secrets_file(const char *path)
{
	struct tk_error err = { 0 };
	enum secrets_status st = secrets_file_load(g.keys, path, &err);
	if (st == SECRETS_BAD_LINE)
		shim_warn("TOKSHIM_SECRETS_FILE '%s': %s", path, err.msg);
	else if (st != SECRETS_OK)
		shim_warn("ignoring TOKSHIM_SECRETS_FILE '%s': %s", path, err.msg);
}

static int config_read(void)
{
	const char *v;

	vconfig_init(&g.scfg.v);
	g.keys = keyring_new();
	if (!g.keys)
		return -1;
	if ((v = getenv("TOKSHIM_SECRET")) && *v) {
		struct tk_error err = { 0 };
		if (keyring_add(g.keys, NULL, v, strlen(v), &err) < 0)
			shim_warn("ignoring TOKSHIM_SECRET: %s", err.msg);
	}
	if ((v = getenv("TOKSHIM_SECRETS_FILE")) && *v)
		config_secrets_file(v);
	g.scfg.v.keys = keyring_count(g.keys) ? g.keys : NULL;

	if ((v = getenv("TOKSHIM_ACCOUNT_SID")) && *v) {
		size_t n = strlen(v);
		if (sid_is(v, n, "AC")) {
			memcpy(g.account, v, n + 1);
			g.scfg.v.account_sid = g.account;
		} else {
			/* echo the value only when it looks like a SID: a user who
			 * swapped it with a secret must not see the secret printed */
			if (v[0] == 'A' && v[1] == 'C')
				shim_warn("ignoring TOKSHIM_ACCOUNT_SID '%.34s': not an Account SID (AC and 32 hex digits)",
					  v);
			else
				shim_warn("ignoring TOKSHIM_ACCOUNT_SID (%zu characters): not an Account SID (AC and 32 hex digits)",
					  n);
		}
	}

	/* HTTP/2: libnghttp2 dlopen'ed at the first connection preface */
	g.scfg.w.hpack = shim_hpack;

	g.scfg.v.skew = 30;
	if ((v = getenv("TOKSHIM_SKEW")) && *v) {
		if (parse_skew(v, &g.scfg.v.skew) < 0)
			shim_warn("ignoring TOKSHIM_SKEW '%.40s': not a number of seconds from 0 to %d", v, SKEW_MAX);
	}

	if ((v = getenv("TOKSHIM_HOSTS")) && *v) {
		struct tk_error err = { 0 };
		memset(g.hosts, 0, sizeof g.hosts);
		int n = host_rules_parse(v, g.hosts, SHIM_HOSTS_MAX, &err);
		if (n < 0) {
			shim_warn("TOKSHIM_HOSTS: %s", err.msg);
			n = 0;
			while (n < SHIM_HOSTS_MAX && g.hosts[n].host[0])
				n++;
		}
		g.scfg.w.hosts = g.hosts;
		g.scfg.w.nhosts = (size_t)n;
	}
	return 0;
}

static void after_fork_child(void)
{
	/* the lock may be held by a thread that does not exist here */
	atomic_store_explicit(&pool.lock, 0, memory_order_relaxed);
	/* its blocks are left mapped: another thread may have forked between a
	 * shim_block_put and its c->s = NULL, so conn_after_fork would unmap one
	 * of them too (a few pages kept by the child, no use after unmap) */
	pool.n = 0;
	conn_after_fork();
	realfamily_after_fork();
	if (g.rep)
		reporter_after_fork(g.rep);
	g.pid = (int)getpid();
}

__attribute__((constructor)) static void shim_init(void)
{
	shim_in = 1;
	int saved = errno;
	/* every libc function now, not at a first call (a signal handler) */
	shim_libc_init();
	g.pid = (int)getpid();
	const char *v = getenv("TOKSHIM_DISABLE");
	if (v && strcmp(v, "1") == 0)
		goto out;
	if (v && *v && strcmp(v, "0") != 0)
		shim_warn("ignoring TOKSHIM_DISABLE '%.40s': not 0 or 1", v);

	if (config_read() < 0) {
		shim_warn("out of memory at load: hooking nothing");
		goto out;
	}
	const char *nc = getenv("NO_COLOR");
	struct reporter_options ro = {
		.output = getenv("TOKSHIM_OUTPUT"),
		.level = getenv("TOKSHIM_LEVEL"),
		.write_fn = real_write_fn,
		.err_fd = 2,
		.color = isatty(2) && !(nc && *nc),
		.ident = "tokshim",
		/* not in SPEC.md's table: lets a test point the syslog sink at
		 * its own syslogd instead of the system's /dev/log */
		.syslog_path = getenv("TOKSHIM_SYSLOG_PATH"),
	};
	g.rep = reporter_new(&ro);
	if (!g.rep) {
		shim_warn("out of memory at load: hooking nothing");
		goto out;
	}
	shim_ffi_init(getenv("TOKSHIM_HOOKS"));
	pthread_atfork(NULL, NULL, after_fork_child);
	atomic_store_explicit(&shim_ready, 1, memory_order_release);
out:
	errno = saved;
	shim_in = 0;
}

__attribute__((destructor)) static void shim_fini(void)
{
	if (!atomic_load_explicit(&shim_ready, memory_order_acquire) || shim_in)
		return;
	shim_in = 1;
	int saved = errno;
	/* summary lines still due (a reconnect storm that ended) */
	reporter_tick(g.rep, INT64_MAX / 2);
	errno = saved;
	shim_in = 0;
}

/* ---- the write path ---------------------------------------------------------- */
static void emit(void *ctx, const struct diag *d)
{
	struct conn *c = ctx;
	/* before saying anything: a number reused by a file is no connection
	 * (c->gone then makes shim_feed drop the session) */
	if (!conn_ident_ok(c))
		return;
	if (!c->peer[0] && c->fd >= 0)
		conn_set_peer_fd(c, c->fd);
	struct conn_info ci = {
		.transport = c->tls ? "tls" : "tcp",
		.library = c->library,
		/* SNI, else what the decoder read (Host, HTTP/2 :authority) */
		.host = c->host[0] || !c->s ? c->host : session_host(c->s),
		.peer = c->peer,
		.pid = g.pid,
	};
	reporter_report(g.rep, d, &ci, c->id, d->time);
}

static size_t block_size(void)
{
	static size_t size;
	if (!size) {
		long page = sysconf(_SC_PAGESIZE);
		size_t sz = session_sizeof();
		if (page > 0)
			sz = (sz + (size_t)page - 1) & ~((size_t)page - 1);
		size = sz;
	}
	return size;
}

/* 1 with the lock, 0 when it stayed busy (a holder that siglongjmp'ed out of
 * a hook never lets go): the caller then maps or unmaps on its own. */
static int pool_lock(void)
{
	for (unsigned i = 0; i < 4096; i++) {
		if (!atomic_exchange_explicit(&pool.lock, 1, memory_order_acquire))
			return 1;
		while (atomic_load_explicit(&pool.lock, memory_order_relaxed) && ++i < 4096)
			if (i > 64)
				sched_yield();
	}
	return 0;
}

static void pool_unlock(void)
{
	atomic_store_explicit(&pool.lock, 0, memory_order_release);
}

void *shim_block_get(size_t *size)
{
	*size = block_size();
	void *p = NULL;
	if (pool_lock()) {
		if (pool.n > 0)
			p = pool.b[--pool.n];
		pool_unlock();
	}
	if (p)
		return p;
	p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void shim_block_put(void *p, size_t size)
{
	if (!p)
		return;
	if (size == block_size() && pool_lock()) {
		if (pool.n < BLOCKS_KEPT) {
			pool.b[pool.n++] = p;
			p = NULL;
		}
		pool_unlock();
	}
	if (p)
		munmap(p, size);
}

static int session_start(struct conn *c)
{
	size_t size;
	void *p = shim_block_get(&size);
	if (!p)
		return -1;
	c->s = p;
	c->s_size = size;
	session_init(c->s, &g.scfg, c->tls);
	if (c->host[0])
		session_set_host(c->s, c->host, strlen(c->host));
	if (c->port)
		session_set_port(c->s, c->port);
	return 0;
}

/* The first bytes of a TLS stream (a record header): nothing to see in
 * plain TCP, the plaintext is followed through the TLS hooks. */
static int looks_tls(const unsigned char *p, size_t n)
{
	return n >= 3 && p[0] >= 0x14 && p[0] <= 0x18 && p[1] == 3 && p[2] <= 4;
}

/* The time for the session, read only when it needs it: precise for a token
 * to validate, the coarse clock (no rdtsc, a few loads in the vDSO) for the
 * expiry watch of a live token on every write. */
static int64_t shim_clock(int precise)
{
	struct timespec ts;
	if (clock_gettime(precise ? CLOCK_REALTIME : CLOCK_REALTIME_COARSE, &ts) != 0)
		clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

void shim_feed(struct conn *c, const void *buf, size_t len)
{
	if (!len || atomic_load_explicit(&c->passthrough, memory_order_relaxed))
		return;
	if (__builtin_expect(!c->s, 0)) {
		/* the first bytes: is the fd still the socket that connected? */
		if (!conn_ident_ok(c) || (!c->tls && looks_tls(buf, len)) || session_start(c) < 0) {
			conn_set_passthrough(c);
			return;
		}
	}
	int pass;
	session_feed_clock(c->s, buf, len, shim_clock, emit, c, &pass);
	if (__builtin_expect(pass || c->gone, 0)) {
		conn_set_passthrough(c);
		return;
	}
	/* for the hooks' fast path (shim/fast.h) */
	c->fast = session_frame(c->s);
	c->fast_h2 = session_fast_h2(c->s);
	c->due = session_watch_due(c->s);
}

void shim_feed_iov(struct conn *c, const struct iovec *iov, size_t iovcnt, size_t total)
{
	for (size_t i = 0; i < iovcnt && total > 0; i++) {
		size_t n = iov[i].iov_len < total ? iov[i].iov_len : total;
		if (n)
			shim_feed(c, iov[i].iov_base, n);
		total -= n;
	}
}
