/* libtokshim.so's core: the configuration read once at load (init.c calls
 * shim_core_init), warnings, the reporter's sinks as the close hooks see
 * them, and the path from a connection's written bytes through the session
 * to the reporter. The hooks themselves live in hook_*.c, one family per
 * file. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/secrets_file.h"
#include "decode/session.h"
#include "decode/validate.h"
#include "decode/wire.h"
#include "report/reporter.h"
#include "shim/clock.h"
#include "shim/fast.h"
#include "shim/shim.h"
#include "decode/cold.h"

int shim_read_on = 1;

#define SHIM_HOSTS_MAX 64

static struct {
	struct keyring *keys;
	struct reporter *rep;
	char account[40];
	struct session_config scfg;
} g TK_LOAD_BSS;
/* TOKSHIM_HOSTS's rules: apart from g, untouched without that variable */
static struct host_rule hosts[SHIM_HOSTS_MAX];

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
	/* the message quotes configuration values: escaped as a whole (a
	 * value with ESC, CR or LF must not forge lines or drive a terminal) */
	char msg[400], buf[700];
	int m = vsnprintf(msg, sizeof msg, fmt, ap);
	if (m < 0)
		msg[0] = '\0';
	int n = snprintf(buf, sizeof buf, "tokshim[%d]: %s: ", (int)getpid(), what);
	size_t len = (size_t)n + report_escape(buf + n, sizeof buf - (size_t)n - 1, msg, sizeof msg);
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

/* An info line at every level: a reason the user needs to learn once (what
 * the shim cannot read in this process). */
static void __attribute__((format(printf, 1, 2))) shim_info_always(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	shim_vline("info", fmt, ap);
	va_end(ap);
}

void shim_info(const char *fmt, ...)
{
	/* TOKSHIM_LEVEL=info shows them; the default level keeps the host's
	 * stderr clean */
	if (!g.rep || reporter_level(g.rep) > SEV_INFO)
		return;
	va_list ap;
	va_start(ap, fmt);
	shim_vline("info", fmt, ap);
	va_end(ap);
}

void shim_warn_note(struct shim_warn_once *w, const char *fmt, ...)
{
	if (w->n++)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(w->first, sizeof w->first, fmt, ap) < 0)
		w->first[0] = '\0';
	va_end(ap);
}

void shim_warn_flush(struct shim_warn_once *w, const char *var)
{
	if (w->n == 1)
		shim_warn("%s: %s", var, w->first);
	else if (w->n > 1)
		shim_warn("%s: %d problems, the first: %s", var, w->n, w->first);
	w->n = 0;
	w->first[0] = '\0';
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

/* ---- configuration --------------------------------------------------------- */
static void config_secrets_file(const char *path)
{
	struct tk_error err = { 0 };
	enum secrets_status st = secrets_file_load(g.keys, path, &err);
	if (st == SECRETS_MISSING)
		shim_warn("ignoring TOKSHIM_SECRETS_FILE (%zu characters): %s", strlen(path), err.msg);
	else if (st == SECRETS_BAD_LINE)
		shim_warn("TOKSHIM_SECRETS_FILE '%s': %s", path, err.msg);
	else if (st != SECRETS_OK)
		shim_warn("ignoring TOKSHIM_SECRETS_FILE '%s': %s", path, err.msg);
}

/* wire_config.hpack: libnghttp2's functions, loaded at the first HTTP/2
 * connection preface (hpack.c); when they cannot be had, one info line for
 * the process and HTTP/2 connections are passed through unread. */
static const struct h2_hpack_ops *hpack_ops(void)
{
	char why[240];
	int first = 0;
	const struct h2_hpack_ops *ops = shim_hpack_load(&first, why, sizeof why);
	if (!ops && first)
		shim_info_always("HTTP/2 connections are passed through unread: cannot load libnghttp2.so.14: %s", why);
	return ops;
}

TK_COLD static int config_read(void)
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
	g.scfg.w.hpack = hpack_ops;

	g.scfg.v.skew = 30;
	if ((v = getenv("TOKSHIM_SKEW")) && *v) {
		if (parse_skew(v, &g.scfg.v.skew) < 0)
			shim_warn("ignoring TOKSHIM_SKEW '%.40s': not a number of seconds from 0 to %d", v, SKEW_MAX);
	}

	if ((v = getenv("TOKSHIM_READ")) && *v) {
		if (!strcmp(v, "0"))
			shim_read_on = 0;
		else if (strcmp(v, "1"))
			shim_warn("ignoring TOKSHIM_READ '%.40s': not 0 or 1", v);
	}
	g.scfg.no_answers = !shim_read_on;

	if ((v = getenv("TOKSHIM_HOSTS")) && *v) {
		struct tk_error err = { 0 };
		memset(hosts, 0, sizeof hosts);
		int n = host_rules_parse(v, hosts, SHIM_HOSTS_MAX, &err);
		if (n < 0) {
			shim_warn("TOKSHIM_HOSTS: %s", err.msg);
			n = 0;
			while (n < SHIM_HOSTS_MAX && hosts[n].host[0])
				n++;
		}
		g.scfg.w.hosts = hosts;
		g.scfg.w.nhosts = (size_t)n;
	}
	return 0;
}

TK_COLD int shim_core_init(void)
{
	if (config_read() < 0) {
		shim_warn("out of memory at load: hooking nothing");
		return -1;
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
		return -1;
	}
	return 0;
}

void shim_core_after_fork(void)
{
	if (g.rep)
		reporter_after_fork(g.rep);
}

void shim_core_fini(void)
{
	/* summary lines still due (a reconnect storm that ended) */
	if (g.rep)
		reporter_tick(g.rep, INT64_MAX / 2);
	unsigned long lost = conn_unfollowed();
	if (lost)
		shim_warn("%lu connection%s not followed (out of memory for the connection table, or an fd past %d)",
			  lost, lost == 1 ? "" : "s", CONN_FD_MAX - 1);
}

/* ---- the write path ---------------------------------------------------------- */

static void emit(void *ctx, const struct diag *d)
{
	struct conn *c = ctx;
	/* before saying anything: a number reused by a file is no connection
	 * (c->gone then makes shim_feed drop the session) */
	if (!conn_ident_ok(c))
		return;
	conn_learn_tid();
	if (!c->peer[0] && c->fd >= 0)
		conn_set_peer_fd(c, c->fd);
	struct conn_info ci = {
		.transport = c->tls ? "tls" : "tcp",
		.library = c->library,
		.hook = c->hook,
		/* SNI, else what the decoder read (Host, HTTP/2 :authority) */
		.host = c->host[0] || !c->s ? c->host : session_host(c->s),
		.peer = c->peer,
		.pid = shim_pid(),
	};
	reporter_report(g.rep, d, &ci, c->id, d->time);
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

/* A parked session (c->parked) back in a block, going on where it was. */
static int session_resume(struct conn *c)
{
	size_t size;
	void *p = shim_block_get(&size);
	if (!p)
		return -1;
	c->s = p;
	c->s_size = size;
	session_unpark(c->s, &g.scfg, c->park);
	/* the packed history (identities, SIDs, Twilsock ids) lives on in the
	 * block now: none of it stays behind in the slot */
	explicit_bzero(c->park, sizeof c->park);
	c->parked = 0;
	return 0;
}

/* The first bytes of a TLS stream (a record header): nothing to see in
 * plain TCP, the plaintext is followed through the TLS hooks. */
static int looks_tls(const unsigned char *p, size_t n)
{
	return n >= 3 && p[0] >= 0x14 && p[0] <= 0x18 && p[1] == 3 && p[2] <= 4;
}

/* The time the session's checks are next due (c->due) has not come: by the
 * thread's cached clock (shim/clock.h), no clock read. */
static int due_not_passed(const struct conn *c)
{
	return c->due == INT64_MAX || shim_now_cached() <= c->due;
}

/* After a feed of c (locked, with a block): judged and at rest, c parks
 * (its block back to the pool, the fast paths on the parked frame states),
 * unless it is one of the hot connections or its history does not fit; else
 * the fast paths go on with the session's own state. */
static void park_or_keep(struct conn *c)
{
	/* c->due is set anew: the quick check's time is checked again */
	conn_due_changed(c);
	if (!c->hot && session_at_rest(c->s) && !conn_hot(c) && session_park(c->s, c->park)) {
		session_release(c->s);
		shim_block_put(c->s, c->s_size);
		c->s = NULL;
		c->s_size = 0;
		c->parked = 1;
		c->fast = session_park_frame(c->park);
		c->fast_h2 = NULL; /* a parked decoder never speaks HTTP/2 */
		c->due = session_park_due(c->park);
		return;
	}
	/* for the hooks' fast path (shim/fast.h) */
	c->fast = session_frame(c->s);
	c->fast_h2 = session_fast_h2(c->s);
	c->due = session_watch_due(c->s);
}

void shim_feed(struct conn *c, const void *buf, size_t len)
{
	if (!len || atomic_load_explicit(&c->passthrough, memory_order_relaxed))
		return;
	/* the decoder is about to change: shim_take arms the quick check again */
	conn_quick_off(c);
	conn_due_changed(c);
	if (__builtin_expect(!c->s, 0) && c->parked) {
		/* what the hooks' fast path did not try (it looks at the thread's
		 * last connection only): taken on the parked frame state first */
		struct ws_frame *f = session_park_frame(c->park);
		if (f->open && due_not_passed(c)) {
			size_t k = ws_frame_take(f, buf, len);
			if (k == len)
				return;
			buf = (const char *)buf + k;
			len -= k;
		}
		if (session_resume(c) < 0) {
			conn_set_passthrough(c);
			return;
		}
	} else if (__builtin_expect(!c->s, 0)) {
		/* the first bytes (the fd's identity is checked before a report, not
		 * here: no system call on the write path) */
		if (c->gone || (!c->tls && looks_tls(buf, len)) || session_start(c) < 0) {
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
	park_or_keep(c);
}

struct conn *shim_conn_get(conn_key key, shim_conn_make_fn make, void *arg)
{
	struct conn *c = shim_thr.last;
	/* the key checked first: never wait for the lock of another connection */
	if (!c || atomic_load_explicit(&c->key, memory_order_relaxed) != key || !(c = conn_lock_if(c, key)))
		c = conn_find(key);
	if (!c && make)
		c = make(key, arg);
	if (c) {
		shim_thr.last = c;
		/* curl's SSL has no fd (its own BIO): the socket the library wrote to */
		if (c->fd < 0 && shim_inner_fd >= 0)
			conn_set_peer_fd(c, shim_inner_fd);
	}
	return c;
}

void shim_tls_feed(conn_key key, const void *buf, size_t n, const char *hook, shim_conn_make_fn make, void *arg)
{
	int saved = errno;
	struct conn *c = shim_conn_get(key, make, arg);
	if (c) {
		conn_hook_fed(c, hook);
		shim_feed(c, buf, n);
		if (shim_nested_id == 0)
			shim_nested_id = (int64_t)c->id;
		conn_unlock(c);
	}
	errno = saved;
}

void shim_conn_close(conn_key key)
{
	struct conn *c = conn_find(key);
	if (!c)
		return;
	/* the stream ended: a token that was its very last bytes is judged now */
	if (c->s && !c->gone && !atomic_load_explicit(&c->passthrough, memory_order_relaxed))
		session_end(c->s, shim_clock(1), emit, c);
	conn_remove(c);
}

/* ---- the read path ------------------------------------------------------------ */

void shim_feed_read(struct conn *c, const void *buf, size_t len)
{
	if (!len || atomic_load_explicit(&c->passthrough, memory_order_relaxed))
		return;
	/* what needs no feed is taken by length with no clock read but the
	 * cached one (shim/fast.h): the session's bulk server frames, or the
	 * parked session's, and there also the messages that can change
	 * nothing */
	size_t k = 0;
	if (c->s) {
		struct ws_frame *f = session_server_frame(c->s);
		if (f && f->open && due_not_passed(c))
			k = ws_frame_take(f, buf, len);
	} else if (c->parked && session_park_reads(c->park)) {
		if (due_not_passed(c))
			k = session_park_server_take(c->park, buf, len);
	} else {
		return; /* nothing written yet (no session), or the server's bytes not read */
	}
	if (k == len)
		return;
	buf = (const char *)buf + k;
	len -= k;
	/* an answer, a Twilsock message, an HTTP response: the session, which
	 * the write hooks' quick check does not go on from meanwhile */
	conn_quick_off(c);
	conn_due_changed(c);
	if (!c->s && session_resume(c) < 0) {
		conn_set_passthrough(c);
		return;
	}
	session_feed_server_clock(c->s, buf, len, shim_clock, emit, c);
	if (__builtin_expect(session_passthrough(c->s) || c->gone, 0)) {
		conn_set_passthrough(c);
		return;
	}
	park_or_keep(c);
}

void shim_feed_read_iov(struct conn *c, const struct iovec *iov, size_t iovcnt, size_t total)
{
	for (size_t i = 0; i < iovcnt && total > 0; i++) {
		size_t n = iov[i].iov_len < total ? iov[i].iov_len : total;
		if (n)
			shim_feed_read(c, iov[i].iov_base, n);
		total -= n;
	}
}

void shim_read_lost(struct conn *c)
{
	if (atomic_load_explicit(&c->passthrough, memory_order_relaxed))
		return;
	conn_quick_off(c);
	conn_due_changed(c);
	if (!c->s && c->parked && session_resume(c) < 0) {
		conn_set_passthrough(c);
		return;
	}
	if (!c->s)
		return;
	session_server_lost(c->s);
	if (__builtin_expect(session_passthrough(c->s), 0)) {
		conn_set_passthrough(c);
		return;
	}
	park_or_keep(c);
}
