/* Diagnosis output: one formatter per format, one sink interface (STYLE.md).
 * Each record is formatted into a bounded buffer and written once. */
#ifndef TOKSHIM_REPORT_H
#define TOKSHIM_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "decode/diag.h"

#define REPORT_RECORD_MAX 8192 /* a record longer than this is truncated, still one line */

/* Where a diagnosis was seen. All strings borrowed; NULL or "" when unknown.
 * For `check`, pass NULL instead of a conn_info. */
struct conn_info {
	const char *transport; /* "tls" | "tcp" */
	const char *library;   /* "openssl" | "gnutls" | "mbedtls" | "wolfssl" | "libc" | "ffi:NAME" */
	const char *host;
	const char *peer;      /* "127.0.0.1:9443" */
	int pid;
	const char *hook;      /* "plt" | "inline" | "ffi": how the write was seen */
};

/* Formatters: return the length written (buffer always NUL-terminated, at
 * most cap-1 bytes), never more than cap-1. No allocation. */
/* The SPEC.md JSON object, one line, ending in '\n'. */
size_t report_format_json(char *buf, size_t cap, const struct diag *d, const struct conn_info *ci);
/* Human text as `tokshim check` prints it: verdict line, then per cause its
 * text and fix. prefix (e.g. "tokshim[123]: ") starts every line; color adds
 * ANSI colours. Ends in '\n'. */
size_t report_format_text(char *buf, size_t cap, const struct diag *d, const struct conn_info *ci,
			  const char *prefix, int color);
/* One line of key=value fields for syslog, no trailing newline. */
size_t report_format_kv(char *buf, size_t cap, const struct diag *d, const struct conn_info *ci);

/* The same, with the least severity of the causes shown: causes below
 * min_sev are left out of the text (the verdict line still counts them all).
 * report_format_text() is report_format_text_ex(..., SEV_INFO). */
size_t report_format_text_ex(char *buf, size_t cap, const struct diag *d, const struct conn_info *ci,
			     const char *prefix, int color, enum severity min_sev);
size_t report_format_kv_ex(char *buf, size_t cap, const struct diag *d, const struct conn_info *ci,
			   enum severity min_sev);
/* Non-zero for a code point every text output escapes (report/format.c:
 * C0, DEL, C1, bidi controls, U+2028/U+2029). */
int report_cp_unsafe(unsigned cp);
/* Untrusted text (a configuration value, a whole warning line) made safe
 * for a terminal or a log: at most max bytes of in, cut at a character
 * boundary ("..." then), the report_cp_unsafe code points as \xNN or
 * \uNNNN, invalid UTF-8 bytes as \xNN; one '\n' that ends in is kept. Into
 * out (cap bytes, NUL-terminated, an escape never cut); returns the length. */
size_t report_escape(char *out, size_t cap, const char *in, size_t max);
/* The verdict's description: "Twilsock: Unauthorized" for 51215, ... ; "" for 0. */
const char *report_code_text(int code);

/* How sinks write: write(2), or the shim's pointer to the real libc write
 * (so its own hooks are bypassed). */
typedef ssize_t (*report_write_fn)(int fd, const void *buf, size_t len);
/* One write(2) through write_fn (NULL: write) that never raises SIGXFSZ or
 * SIGPIPE in the host: both blocked on this thread for the call, one it
 * raised consumed (report/sink.c). Returns what the write returned. */
ssize_t report_write_nosig(report_write_fn write_fn, int fd, const void *buf, size_t len);
/* Writes all of buf with write_fn (NULL: write(2)), retrying on EINTR and
 * partial writes. 0, or -1 with errno set. */
/* The wall clock in seconds: 0, or -1 when it cannot be read (with a
 * 32-bit time_t after 2038 glibc says EOVERFLOW; never a wrapped or -1
 * time). errno is kept. The shim's own clocks are shim/clock.c's. */
int report_wall_clock(int64_t *out);

int report_write_all(report_write_fn write_fn, int fd, const void *buf, size_t len);
/* Writes buf on an fd the caller does not own (stderr) without ever blocking
 * and without changing its flags: before each write, poll(fd, POLLOUT, 0);
 * at most PIPE_BUF bytes a write (cut after a newline when longer), so a
 * pipe that polled writable takes it whole; a socket gets
 * send(MSG_DONTWAIT | MSG_NOSIGNAL). 0 when all was written; -1 with errno
 * (EAGAIN: not writable, EPIPE: no reader) when some or all was dropped. */
int report_write_polled(report_write_fn write_fn, int fd, const void *buf, size_t len);

/* A sink: where records go. One file per sink (report/sink_text.c: stderr,
 * sink_syslog.c, sink_json.c, sink_memory.c for tests), each a struct
 * sink_ops; the ones that write to an fd share report/fd_watch.c. A sink is
 * not thread-safe by itself (it formats into its own buffer): struct
 * reporter serialises its sinks, except uses_fd and fd_closed, which any
 * thread may call without a lock (the shim's close hook). */
struct sink;
struct sink_ops {
	const char *name; /* "stderr", "syslog", "json", "memory" */
	/* One diagnosis, formatted and written once: 0, or -1 when it was
	 * dropped (counted in s->dropped). */
	int (*write)(struct sink *s, const struct diag *d, const struct conn_info *ci);
	/* One line that is not a diagnosis (a rate-limit summary, a warning);
	 * NULL: the sink ignores such lines (the json sink does). */
	int (*write_line)(struct sink *s, enum severity sev, const char *line);
	/* The fd check: non-zero when the sink writes to fd now. NULL: no fd. */
	int (*uses_fd)(struct sink *s, int fd);
	/* The host closed fd, or made it another file: a sink that writes to fd
	 * forgets it without touching it, and reopens its output at the next
	 * record where it can (syslog reconnects, json opens its path again;
	 * stderr stays off). NULL: no fd. */
	void (*fd_closed)(struct sink *s, int fd);
	void (*release)(struct sink *s);
};

struct sink {
	const struct sink_ops *ops; /* NULL: no sink (released, or never opened) */
	void *state;
	/* Least severity of the causes shown (text and kv sinks); the json sink
	 * always writes every cause. Default SEV_INFO. */
	enum severity min_sev;
	unsigned flags; /* SINK_F_* */
	/* Records dropped so far: the output was not writable (a full pipe or
	 * socket), gone, or no longer the file or socket the sink opened. */
	unsigned long dropped;
};
/* Every diagnosis, even during a reconnect storm (the json sink: the log
 * that `tokshim report` counts). Repeats on one connection are still dropped. */
#define SINK_F_ALL_REPEATS 1u

/* Sink constructors: 0, or -1 with err set (s then needs no release).
 * sink_release() calls s->release and clears s. */
void sink_release(struct sink *s);

/* Human text (report_format_text) on fd, one write per record of up to
 * PIPE_BUF bytes (report_write_polled: never blocks; a record that does not
 * fit is cut at line ends). ident NULL: no prefix; else every line starts
 * with "<ident>[<pid>]: " (pid at write time, so a forked child shows its
 * own). fd is borrowed: the file it is at open (fstat) is remembered, and a
 * record is dropped when fd is then something else (the host closed it and
 * reused the number); after fd_closed the sink writes nothing more. Fails
 * when fd is not open. After drops, the next record that goes out is
 * preceded by a line "<prefix>warning: N reports dropped (output not writable)". */
int sink_text_open(struct sink *s, int fd, report_write_fn write_fn, const char *ident, int color,
		   struct tk_error *err);

/* Syslog without openlog(): glibc keeps one process-global syslog
 * connection and ident, which belong to the host program. This sink writes
 * RFC 3164 lines "<PRI>Mmm dd hh:mm:ss tokshim[pid]: <kv line>" itself to
 * path (NULL: "/dev/log"), AF_UNIX SOCK_DGRAM, else SOCK_STREAM (NUL
 * terminated), facility LOG_USER; LOG_ERR for a reject, LOG_WARNING with
 * warnings, LOG_INFO otherwise. The socket (SOCK_NONBLOCK | SOCK_CLOEXEC) is
 * opened at the first record and reopened once when a send fails (syslogd
 * restarted); a syslogd that is not there loses the record, quietly. Sends
 * never block (MSG_DONTWAIT | MSG_NOSIGNAL): a full socket drops the record
 * (counted; a stream cut in the middle of a record is closed and reopened at
 * the next one). A socket the host closed or replaced is forgotten, not
 * closed, and reopened. write_fn is not used. */
int sink_syslog_open(struct sink *s, const char *path, report_write_fn write_fn, struct tk_error *err);

/* RFC 5424 with the whole diagnosis after the "@cee:" cookie (syslog:cee):
 * "<PRI>1 TIME HOST tokshim PID - - @cee:{...the json sink's object...}" on
 * path (NULL: "/dev/log"), with the syslog sink's socket behaviour (never
 * blocks, reconnects, drops counted); priorities as the syslog sink's. A
 * message stays within 7936 bytes (the JSON cut to fit, "truncated": true).
 * Lines that are not diagnoses carry plain text, no cookie. To journald's
 * socket (path resolving under /run/systemd/journal/), which reads RFC 3164
 * headers only, the header is "<PRI>tokshim[PID]: " instead. */
int sink_syslog_cee_open(struct sink *s, const char *path, struct tk_error *err);

/* JSON lines appended to path. Checked at open without opening it (a
 * regular file owned by the user or root, not a symbolic link; or a name
 * in an existing directory); the file is opened at the first record
 * (O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC|O_NOCTTY|O_NOFOLLOW, mode 0600 when
 * created; O_NONBLOCK so a FIFO cannot block, then made blocking; the same
 * checks on what was opened) at a high descriptor number (fd_place_high).
 * One write per line so several processes can share the file; a record cut
 * short (a full disk, RLIMIT_FSIZE: never a SIGXFSZ) is truncated away and
 * counted as dropped. When the host closed the fd (fd_closed) or it is no
 * longer that file (checked before each record), the path is opened again. */
int sink_json_open(struct sink *s, const char *path, report_write_fn write_fn, struct tk_error *err);

/* Tests: records (and lines) appended to a buffer of cap bytes; what does
 * not fit is dropped whole. kind: 0 text (no prefix, no colour), 1 json, 2 kv. */
enum sink_memory_kind { SINK_MEM_TEXT = 0, SINK_MEM_JSON = 1, SINK_MEM_KV = 2 };
int sink_memory_open(struct sink *s, enum sink_memory_kind kind, size_t cap, struct tk_error *err);
/* Borrowed view of what was written so far (NUL-terminated), and its count of records. */
const char *sink_memory_data(const struct sink *s, size_t *len, size_t *records);
void sink_memory_clear(struct sink *s);

#endif
