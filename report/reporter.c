/* The reporter: sinks from a TOKSHIM_OUTPUT spec, the level filter, and the
 * per-token rate limit. See reporter.h for the rules. */
#include "report/reporter.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "decode/cold.h"

struct rl_entry {
	int used;
	char fp[24];
	uint32_t causes;      /* cause-id bits at or above the level */
	int accept;
	int64_t last_seen;
	int64_t last_line;    /* time of the last full report or summary line */
	uint32_t pending;     /* new connections counted since then */
	uint64_t conns[REPORTER_CONNS];
	unsigned nconns;      /* ring position */
};

struct reporter {
	pthread_mutex_t lock;
	atomic_int wedged;    /* the last wait for the lock timed out: try once, don't wait */
	enum severity level;
	int window;
	report_write_fn write_fn;
	atomic_int err_fd;    /* -1: not open at creation, or closed by the host */
	dev_t err_dev;        /* what err_fd was at creation */
	ino_t err_ino;
	mode_t err_type;
	unsigned long warn_dropped;
	char ident[32];
	int have_stderr;
	int syslog_idx;       /* -1: none */
	int cee_idx;          /* the syslog:cee sink; -1: none */
	size_t nsinks;
	struct sink sinks[REPORTER_MAX_SINKS];
	/* REPORTER_TABLE entries, allocated at the first report: a process
	 * that never reports a token does not carry them */
	struct rl_entry *table;
};

/* 1 when err_fd is still the file it was when the reporter was made. */
static int err_usable(const struct reporter *r)
{
	int fd = atomic_load(&r->err_fd);
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == r->err_dev && st.st_ino == r->err_ino &&
	       (st.st_mode & S_IFMT) == r->err_type;
}

/* "<ident>[pid]: warning: <msg>\n" on err_fd, never blocking, dropped when
 * err_fd is not writable or no longer the reporter's stderr. */
static void warn_fd(struct reporter *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn_fd(struct reporter *r, const char *fmt, ...)
{
	if (!err_usable(r)) {
		r->warn_dropped++;
		return;
	}
	char msg[400], buf[700];
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	int n = snprintf(buf, sizeof buf, "%s[%d]: warning: ", r->ident, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof buf)
		return;
	/* the message quotes configuration values: escaped as a whole */
	size_t len = (size_t)n + report_escape(buf + n, sizeof buf - (size_t)n - 1, msg, sizeof msg);
	buf[len++] = '\n';
	if (report_write_polled(r->write_fn, atomic_load(&r->err_fd), buf, len) < 0)
		r->warn_dropped++;
}

/* Robust: a thread that ends holding it does not lock every report out. */
TK_COLD static void mutex_init_robust(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	if (pthread_mutexattr_init(&a) != 0) {
		pthread_mutex_init(m, NULL);
		return;
	}
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

/* The mutex, but never waiting for ever (a thread stopped or interrupted
 * while holding it must not hang the host): about budget_ms at most. 0 when
 * taken, -1 when the caller should step aside. */
static int lock_bounded(struct reporter *r, int budget_ms)
{
	for (int i = 0;; i++) {
		int e = pthread_mutex_trylock(&r->lock);
		if (e == EOWNERDEAD) {
			/* its holder ended holding it (a signal handler jumped
			 * out of a report, then the thread exited): ours now */
			pthread_mutex_consistent(&r->lock);
			e = 0;
		}
		if (e == 0) {
			atomic_store_explicit(&r->wedged, 0, memory_order_relaxed);
			return 0;
		}
		/* a holder that stays (a thread that jumped out of a report and
		 * lives on) would cost every later report the whole budget:
		 * after one timeout, step aside at once until the lock is free */
		if (i >= 64 + budget_ms * 10 || atomic_load_explicit(&r->wedged, memory_order_relaxed)) {
			atomic_store_explicit(&r->wedged, 1, memory_order_relaxed);
			return -1;
		}
		if (i < 64) {
			sched_yield();
		} else {
			struct timespec ts = {0, 100000};
			nanosleep(&ts, NULL);
		}
	}
}

/* The sinks array is published to threads that read it without the lock
 * (reporter_fd_closed): entries first, then the count. */
static size_t nsinks_get(const struct reporter *r)
{
	return __atomic_load_n(&r->nsinks, __ATOMIC_ACQUIRE);
}

static void nsinks_set(struct reporter *r, size_t n)
{
	__atomic_store_n(&r->nsinks, n, __ATOMIC_RELEASE);
}

/* Adds an opened sink; the level applies to its text. */
static int add_sink(struct reporter *r, struct sink *s)
{
	if (r->nsinks >= REPORTER_MAX_SINKS) {
		sink_release(s);
		return -1;
	}
	s->min_sev = r->level;
	r->sinks[r->nsinks] = *s;
	nsinks_set(r, r->nsinks + 1);
	return 0;
}

/* The grammar of TOKSHIM_OUTPUT, in one place: a comma list of entries,
 * blanks around each trimmed, empty ones skipped. */
enum output_kind { OUT_NONE, OUT_STDERR, OUT_SYSLOG, OUT_SYSLOG_CEE, OUT_JSON, OUT_UNKNOWN, OUT_TOO_LONG };

struct output_item {
	enum output_kind kind;
	char item[512]; /* the entry, trimmed ("" for OUT_TOO_LONG) */
	const char *arg; /* OUT_JSON: the path, inside item */
};

/* The next entry from *p into it; 0 at the end of the list. */
TK_COLD static int output_next(const char **p, struct output_item *it)
{
	while (**p) {
		const char *end = strchr(*p, ',');
		size_t n = end ? (size_t)(end - *p) : strlen(*p);
		const char *a = *p, *b = *p + n;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		*p = end ? end + 1 : *p + n;
		if (a == b)
			continue;
		it->arg = NULL;
		if ((size_t)(b - a) >= sizeof it->item) {
			it->kind = OUT_TOO_LONG;
			it->item[0] = '\0';
			return 1;
		}
		memcpy(it->item, a, (size_t)(b - a));
		it->item[b - a] = '\0';
		if (!strcmp(it->item, "none"))
			it->kind = OUT_NONE;
		else if (!strcmp(it->item, "stderr"))
			it->kind = OUT_STDERR;
		else if (!strcmp(it->item, "syslog"))
			it->kind = OUT_SYSLOG;
		else if (!strcmp(it->item, "syslog:cee"))
			it->kind = OUT_SYSLOG_CEE;
		else if (!strncmp(it->item, "json:", 5)) {
			it->kind = OUT_JSON;
			it->arg = it->item + 5;
		} else
			it->kind = OUT_UNKNOWN;
		return 1;
	}
	return 0;
}

int reporter_output_valid(const char *spec, struct tk_error *err)
{
	struct output_item it;
	const char *p = spec ? spec : "";
	int any = 0;
	while (output_next(&p, &it)) {
		if (it.kind == OUT_TOO_LONG) {
			tk_error_set(err, "an entry is too long");
			return -1;
		}
		if (it.kind == OUT_UNKNOWN || (it.kind == OUT_JSON && !it.arg[0])) {
			tk_error_set(err, "unknown sink '%.80s'", it.item);
			return -1;
		}
		any = 1;
	}
	if (!any) {
		tk_error_set(err, "no sink");
		return -1;
	}
	return 0;
}

TK_COLD static void parse_output(struct reporter *r, const struct reporter_options *o)
{
	const char *p = o->output && o->output[0] ? o->output : "stderr";
	int none = 0, bad = 0;
	char first[300] = "";
	/* one warning for the variable, not one per bad entry: the first
	 * problem and how many entries were ignored */
#define BAD(...)                                                              \
	do {                                                                  \
		if (!bad++)                                                   \
			snprintf(first, sizeof first, __VA_ARGS__);           \
	} while (0)
	struct output_item it;
	while (output_next(&p, &it)) {
		struct sink s;
		struct tk_error err = {0};
		int rc;
		if (it.kind == OUT_TOO_LONG) {
			BAD("an entry is too long");
			continue;
		}
		if (r->nsinks >= REPORTER_MAX_SINKS) {
			BAD("more than %d sinks: '%.200s'", REPORTER_MAX_SINKS, it.item);
			continue;
		}
		switch (it.kind) {
		case OUT_NONE:
			none = 1;
			continue;
		case OUT_STDERR:
			if (r->have_stderr)
				continue;
			rc = sink_text_open(&s, atomic_load(&r->err_fd), r->write_fn, r->ident, o->color, &err);
			r->have_stderr = rc == 0;
			break;
		case OUT_SYSLOG:
			if (r->syslog_idx >= 0)
				continue;
			rc = sink_syslog_open(&s, o->syslog_path, r->write_fn, &err);
			if (rc == 0)
				r->syslog_idx = (int)r->nsinks;
			break;
		case OUT_SYSLOG_CEE:
			if (r->cee_idx >= 0)
				continue;
			rc = sink_syslog_cee_open(&s, o->syslog_path, &err);
			if (rc == 0)
				r->cee_idx = (int)r->nsinks;
			break;
		case OUT_JSON:
			rc = sink_json_open(&s, it.arg, r->write_fn, &err);
			break;
		default:
			BAD("unknown sink '%.200s' (stderr, syslog, syslog:cee, json:PATH, none)", it.item);
			continue;
		}
		if (rc < 0) {
			BAD("%s", err.msg);
			continue;
		}
		add_sink(r, &s);
	}
#undef BAD
	if (bad == 1)
		warn_fd(r, "TOKSHIM_OUTPUT: %s, ignored", first);
	else if (bad > 1)
		warn_fd(r, "TOKSHIM_OUTPUT: %d entries ignored, the first: %s", bad, first);
	if (!r->nsinks && !none) {
		struct sink s;
		if (sink_text_open(&s, atomic_load(&r->err_fd), r->write_fn, r->ident, o->color, NULL) == 0)
			add_sink(r, &s);
	}
}

TK_COLD struct reporter *reporter_new(const struct reporter_options *o)
{
	static const struct reporter_options defaults = {0};
	if (!o)
		o = &defaults;
	struct reporter *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	mutex_init_robust(&r->lock);
	r->syslog_idx = -1;
	r->cee_idx = -1;
	r->write_fn = o->write_fn;
	int efd = o->err_fd > 0 ? o->err_fd : 2;
	struct stat est;
	if (fstat(efd, &est) == 0) {
		/* stderr is the host's: remember which file it is now, and write
		 * nothing to that number once it is something else */
		r->err_dev = est.st_dev;
		r->err_ino = est.st_ino;
		r->err_type = est.st_mode & S_IFMT;
		atomic_init(&r->err_fd, efd);
	} else {
		atomic_init(&r->err_fd, -1); /* closed at load: no stderr sink */
	}
	r->window = o->window > 0 ? o->window : REPORTER_WINDOW;
	/* a bounded copy, not snprintf: the load calls no printf function
	 * (their libc pages stay unmapped in a process that prints nothing) */
	const char *ident = o->ident && o->ident[0] ? o->ident : "tokshim";
	size_t idn = strnlen(ident, sizeof r->ident - 1);
	memcpy(r->ident, ident, idn);
	r->ident[idn] = '\0';
	r->level = SEV_WARNING;
	if (o->level && o->level[0]) {
		int l = severity_from_name(o->level);
		if (l < 0)
			warn_fd(r, "TOKSHIM_LEVEL: unknown level '%.40s' (error, warning, info), using 'warning'",
				o->level);
		else
			r->level = (enum severity)l;
	}
	parse_output(r, o);
	return r;
}

void reporter_free(struct reporter *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nsinks; i++)
		sink_release(&r->sinks[i]);
	pthread_mutex_destroy(&r->lock);
	free(r->table);
	free(r);
}

int reporter_add_sink(struct reporter *r, const struct sink *s)
{
	struct sink copy = *s;
	if (pthread_mutex_lock(&r->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&r->lock);
	int rc = -1;
	if (r->nsinks < REPORTER_MAX_SINKS) {
		copy.min_sev = r->level;
		r->sinks[r->nsinks] = copy;
		nsinks_set(r, r->nsinks + 1);
		rc = 0;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

size_t reporter_nsinks(const struct reporter *r)
{
	return nsinks_get(r);
}

void reporter_fd_closed(struct reporter *r, int fd)
{
	if (!r || fd < 0)
		return;
	int expect = fd;
	atomic_compare_exchange_strong(&r->err_fd, &expect, -1);
	size_t n = nsinks_get(r);
	for (size_t i = 0; i < n; i++) {
		struct sink *s = &r->sinks[i];
		if (s->ops->fd_closed)
			s->ops->fd_closed(s, fd);
	}
}

int reporter_uses_fd(struct reporter *r, int fd)
{
	if (!r || fd < 0)
		return 0;
	if (atomic_load(&r->err_fd) == fd)
		return 1;
	size_t n = nsinks_get(r);
	for (size_t i = 0; i < n; i++) {
		struct sink *s = &r->sinks[i];
		if (s->ops->uses_fd ? s->ops->uses_fd(s, fd) : s->ops->fd_closed != NULL)
			return 1;
	}
	return 0;
}

unsigned long reporter_dropped(struct reporter *r)
{
	if (!r)
		return 0;
	unsigned long n = 0;
	if (lock_bounded(r, 50) < 0)
		return 0;
	n = r->warn_dropped;
	for (size_t i = 0; i < r->nsinks; i++)
		n += r->sinks[i].dropped;
	pthread_mutex_unlock(&r->lock);
	return n;
}

enum severity reporter_level(const struct reporter *r)
{
	return r->level;
}

void reporter_after_fork(struct reporter *r)
{
	if (r)
		mutex_init_robust(&r->lock);
}

/* ---- rate limit ------------------------------------------------------------- */

/* The rate limit's key bits above the cause ids: the record's kind. */
#define RL_ANSWER (1u << 30)
#define RL_LIFETIME (1u << 31)
_Static_assert(CAUSE__COUNT <= 30, "cause ids must leave the two kind bits free");

static uint32_t cause_mask(const struct diag *d, enum severity level)
{
	uint32_t m = d->event == DIAG_EV_ANSWER ? RL_ANSWER : d->event == DIAG_EV_LIFETIME ? RL_LIFETIME : 0;
	if (d->event == DIAG_EV_ANSWER && d->answer.pred_accept != d->answer.server_accept)
		m |= 1u << 29; /* a disagreement is its own entry */
	for (size_t i = 0; i < d->ncauses && i < DIAG_MAX_CAUSES; i++)
		if (d->causes[i].severity >= level && (unsigned)d->causes[i].id < 32)
			m |= 1u << d->causes[i].id;
	return m;
}

/* r->table made (reporter_report) */
static struct rl_entry *rl_find(struct reporter *r, const char *fp, uint32_t causes)
{
	for (size_t i = 0; i < REPORTER_TABLE; i++) {
		struct rl_entry *e = &r->table[i];
		if (e->used && e->causes == causes && !strcmp(e->fp, fp))
			return e;
	}
	return NULL;
}

static int rl_has_conn(const struct rl_entry *e, uint64_t conn)
{
	unsigned n = e->nconns < REPORTER_CONNS ? e->nconns : REPORTER_CONNS;
	for (unsigned i = 0; i < n; i++)
		if (e->conns[i] == conn)
			return 1;
	return 0;
}

static void rl_add_conn(struct rl_entry *e, uint64_t conn)
{
	e->conns[e->nconns % REPORTER_CONNS] = conn;
	e->nconns++;
	if (e->nconns >= 2 * REPORTER_CONNS)
		e->nconns -= REPORTER_CONNS; /* keeps "full" and the ring position */
}

/* "token sha256:.. rejected again on N connections in the last 10s (expired)" */
static void summary(struct reporter *r, struct rl_entry *e, int64_t now)
{
	char line[512], dur[32];
	/* the span the repeats came in: up to now, or, for a late flush (a
	 * tick long after the last repeat, e.g. at exit), up to the last one */
	int64_t span = now - e->last_line;
	if (now - e->last_seen > r->window)
		span = e->last_seen - e->last_line;
	fmt_duration(span > 0 ? span : 1, dur, sizeof dur);
	int n = snprintf(line, sizeof line, "token %s %s again on %u connection%s in the last %s (",
			 e->fp[0] ? e->fp : "(no fingerprint)",
			 (e->causes & RL_ANSWER) ? (e->accept ? "accepted by the server" : "rejected by the server")
			 : (e->causes & RL_LIFETIME) ? "outlived its lifetime"
			 : e->accept ? "accepted with warnings" : "rejected", e->pending,
			 e->pending == 1 ? "" : "s", dur);
	int first = 1;
	for (int id = 0; id < CAUSE__COUNT && id < 29 && n > 0 && (size_t)n < sizeof line; id++) {
		if (!(e->causes & (1u << id)))
			continue;
		n += snprintf(line + n, sizeof line - (size_t)n, "%s%s", first ? "" : ", ",
			      cause_name((enum cause_id)id));
		first = 0;
	}
	if (n > 0 && (size_t)n < sizeof line - 1)
		snprintf(line + n, sizeof line - (size_t)n, ")");
	enum severity sev = e->accept ? SEV_WARNING : SEV_ERROR;
	for (size_t i = 0; i < r->nsinks; i++) {
		struct sink *s = &r->sinks[i];
		if (s->ops->write_line && !(s->flags & SINK_F_ALL_REPEATS))
			s->ops->write_line(s, sev, line);
	}
	e->pending = 0;
	e->last_line = now;
}

static struct rl_entry *rl_take(struct reporter *r, int64_t now)
{
	struct rl_entry *victim = &r->table[0];
	for (size_t i = 0; i < REPORTER_TABLE; i++) {
		struct rl_entry *e = &r->table[i];
		if (!e->used)
			return e;
		if (e->last_seen < victim->last_seen)
			victim = e;
	}
	if (victim->pending)
		summary(r, victim, now);
	return victim;
}

static int diag_reportable(const struct diag *d, enum severity level)
{
	if (d->event == DIAG_EV_ANSWER)
		return d->answer.level >= level;
	for (size_t i = 0; i < d->ncauses && i < DIAG_MAX_CAUSES; i++)
		if (d->causes[i].severity >= level)
			return 1;
	return 0;
}

int reporter_report(struct reporter *r, const struct diag *d, const struct conn_info *ci,
		    uint64_t conn_id, int64_t now)
{
	if (!r || !d || !diag_reportable(d, r->level))
		return 0;
	uint32_t causes = cause_mask(d, r->level);
	int full = 0;
	int saved = errno;
	if (lock_bounded(r, 200) < 0) {
		errno = saved;
		return 0; /* stepped aside: the report is lost, the host goes on */
	}
	if (!r->table && !(r->table = calloc(REPORTER_TABLE, sizeof *r->table))) {
		pthread_mutex_unlock(&r->lock);
		errno = saved;
		return 0; /* no memory for the table: the report is lost, the host goes on */
	}
	struct rl_entry *e = rl_find(r, d->token.fingerprint, causes);
	if (!e) {
		e = rl_take(r, now);
		memset(e, 0, sizeof *e);
		e->used = 1;
		snprintf(e->fp, sizeof e->fp, "%s", d->token.fingerprint);
		e->causes = causes;
		e->accept = d->accept;
		e->last_seen = e->last_line = now;
		rl_add_conn(e, conn_id);
		for (size_t i = 0; i < r->nsinks; i++)
			if (r->sinks[i].ops->write(&r->sinks[i], d, ci) == 0)
				full++;
	} else if (rl_has_conn(e, conn_id)) {
		e->last_seen = now; /* the same token again on one connection: nothing */
	} else {
		e->last_seen = now;
		rl_add_conn(e, conn_id);
		e->pending++;
		for (size_t i = 0; i < r->nsinks; i++)
			if ((r->sinks[i].flags & SINK_F_ALL_REPEATS) && r->sinks[i].ops->write(&r->sinks[i], d, ci) == 0)
				full++;
		if (now - e->last_line >= r->window)
			summary(r, e, now);
	}
	pthread_mutex_unlock(&r->lock);
	errno = saved;
	return full;
}

void reporter_tick(struct reporter *r, int64_t now)
{
	if (!r)
		return;
	int saved = errno;
	/* also the final flush at exit: never wait for ever */
	if (lock_bounded(r, 50) < 0) {
		errno = saved;
		return;
	}
	for (size_t i = 0; r->table && i < REPORTER_TABLE; i++) {
		struct rl_entry *e = &r->table[i];
		if (e->used && e->pending && now - e->last_line >= r->window)
			summary(r, e, now);
	}
	pthread_mutex_unlock(&r->lock);
	errno = saved;
}

void reporter_warn(struct reporter *r, const char *line)
{
	if (!r || !line)
		return;
	int saved = errno;
	if (lock_bounded(r, 200) < 0) {
		errno = saved;
		return;
	}
	warn_fd(r, "%s", line);
	int logs[] = {r->syslog_idx, r->cee_idx};
	for (size_t i = 0; i < sizeof logs / sizeof *logs; i++) {
		if (logs[i] < 0)
			continue;
		struct sink *s = &r->sinks[logs[i]];
		s->ops->write_line(s, SEV_WARNING, line);
	}
	pthread_mutex_unlock(&r->lock);
	errno = saved;
}
