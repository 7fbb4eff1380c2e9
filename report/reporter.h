/* The reporter: the sinks of a TOKSHIM_OUTPUT spec, the TOKSHIM_LEVEL filter,
 * and rate limiting, behind one call the shim makes for each diagnosis.
 *
 * Safe to call from hooks: thread-safe (one mutex: reporting is rare), no
 * malloc and no stdio after reporter_new(), bounded memory (a fixed table of
 * recent tokens, least recently seen entry overwritten), the time passed in
 * by the caller. Output goes through the caller's write function. Never
 * blocks on an output that does not drain (see report.h: such records are
 * dropped and counted), never waits for ever on its mutex (after a bounded
 * wait the call does nothing), and keeps errno. */
#ifndef TOKSHIM_REPORTER_H
#define TOKSHIM_REPORTER_H

#include <stdint.h>

#include "report/report.h"

#define REPORTER_MAX_SINKS 8
#define REPORTER_TABLE 256      /* tokens (fingerprint + cause set) remembered */
#define REPORTER_CONNS 8        /* connections remembered per token */
#define REPORTER_WINDOW 10      /* seconds between summary lines of a storm */

struct reporter_options {
	const char *output;          /* TOKSHIM_OUTPUT spec; NULL or "": "stderr" */
	const char *level;           /* TOKSHIM_LEVEL; NULL or "": "warning" */
	report_write_fn write_fn;    /* NULL: write(2) */
	int err_fd;                  /* stderr sink and warnings; 0 here means 2.
				      * Not open now: no stderr sink, no warnings */
	int color;                   /* ANSI colours on the stderr sink */
	const char *ident;           /* prefix "<ident>[pid]: "; NULL: "tokshim" */
	const char *syslog_path;     /* NULL: "/dev/log" (tests point it elsewhere) */
	int window;                  /* seconds between summary lines; 0: REPORTER_WINDOW */
};

struct reporter;

/* new (reporter_free). Never fails for a bad spec or level: each bad entry
 * gives one warning line on err_fd ("<ident>[pid]: warning: ...") and is
 * ignored; with no usable sink left, stderr (unless the spec said "none").
 * Returns NULL only when out of memory. */
struct reporter *reporter_new(const struct reporter_options *o);
/* 0 when spec is a TOKSHIM_OUTPUT list reporter_new understands entry by
 * entry (at least one entry; json: with a path), else -1 with err naming
 * the first entry it would ignore. Grammar only: opens nothing. */
int reporter_output_valid(const char *spec, struct tk_error *err);
void reporter_free(struct reporter *r);

/* Adds a sink the caller opened (tests: a memory sink). The reporter owns it
 * from then on (released by reporter_free). 0, or -1 when full. */
int reporter_add_sink(struct reporter *r, const struct sink *s);
size_t reporter_nsinks(const struct reporter *r);
enum severity reporter_level(const struct reporter *r);

/* Reports one diagnosis seen on connection conn_id at time now (seconds).
 * Dropped when no cause is at or above the level (an accept with only info
 * causes, or at level error an accept with warnings). Then, per token
 * fingerprint and cause set:
 *  - the same connection again: dropped;
 *  - a new connection within the window of the last line for that token:
 *    counted; the first one after the window has passed gives a summary line
 *    "token sha256:... rejected again on N connections in the last 10s (expired)"
 *    on the text and syslog sinks, syslog:cee too (sinks with SINK_F_ALL_REPEATS, the json
 *    sink, get the full diagnosis every time).
 * Returns the number of sinks that got a full report (0: filtered or limited). */
int reporter_report(struct reporter *r, const struct diag *d, const struct conn_info *ci,
		    uint64_t conn_id, int64_t now);

/* Writes the summary lines that are due (counted repeats whose window has
 * passed). Optional: call it now and then, or at exit with a far-future now. */
void reporter_tick(struct reporter *r, int64_t now);

/* Writes one warning line "<ident>[pid]: warning: LINE" on err_fd (whatever
 * the sinks) and to the syslog and syslog:cee sinks if there are, e.g. for a bad
 * TOKSHIM_SECRETS_FILE found by the shim. */
void reporter_warn(struct reporter *r, const char *line);

/* The host closed fd (call from the close hook, before the real close; any
 * thread, takes no lock): a sink writing to fd, and the warnings on err_fd,
 * forget it without touching it. The json sink opens its path again at the
 * next record, the syslog sink reconnects; stderr stays off. */
void reporter_fd_closed(struct reporter *r, int fd);
/* Non-zero when a sink or the warnings write to fd now (any thread, no
 * lock): whether reporter_fd_closed would change anything. */
int reporter_uses_fd(struct reporter *r, int fd);

/* Records dropped so far over all sinks and warnings (a full pipe, a
 * syslogd not reading, an fd the host took over). */
unsigned long reporter_dropped(struct reporter *r);

/* In a forked child: the mutex may have been held by another thread of the
 * parent. Reinitialises it (call from a pthread_atfork child handler). */
void reporter_after_fork(struct reporter *r);

#endif
