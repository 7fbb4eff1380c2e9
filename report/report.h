/* Diagnosis output: one formatter per format, one sink interface (STYLE.md).
 * Each record is formatted into a bounded buffer and written once. */
#ifndef TOKSHIM_REPORT_H
#define TOKSHIM_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "decode/diag.h"

#define REPORT_RECORD_MAX 8192 /* a record longer than this is truncated, still one line */

/* Where a diagnosis was seen. All strings borrowed; NULL or "" when unknown.
 * For `check`, pass NULL instead of a conn_info. */
struct conn_info {
	const char *transport; /* "tls" | "tcp" */
	const char *library;   /* "openssl" | "gnutls" | "libc" | "ffi:NAME" */
	const char *host;
	const char *peer;      /* "127.0.0.1:9443" */
	int pid;
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

/* A sink: write one diagnosis. Implementations: stderr text, syslog, json
 * file, and a memory buffer for tests. */
struct sink {
	int (*write)(struct sink *s, const struct diag *d, const struct conn_info *ci);
	void (*release)(struct sink *s);
	void *state;
};

#endif
