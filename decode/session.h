/* A connection's session: the wire decoder, validation of each token found,
 * and the stateful checks (update_mismatch, expired_in_use, one report per
 * token per connection). Used alike by the shim and by `tokshim scan`.
 * Pure: time and output are parameters. */
#ifndef TOKSHIM_SESSION_H
#define TOKSHIM_SESSION_H

#include "decode/diag.h"
#include "decode/validate.h"
#include "decode/wire.h"

struct session_config {
	struct vconfig v;    /* keys, account, skew, product (PRODUCT_UNKNOWN: infer) */
	struct wire_config w;
};

/* Called for each diagnosis. d is borrowed, valid during the call only. */
typedef void (*session_emit_fn)(void *ctx, const struct diag *d);

struct session;
size_t session_sizeof(void);
void session_init(struct session *s, const struct session_config *cfg, int tls);
void session_set_host(struct session *s, const char *host, size_t n);
void session_set_port(struct session *s, unsigned short port);
void session_release(struct session *s);

/* Feeds bytes written by the client at time `now`; emits a diagnosis for each
 * new token found (the same token twice on one connection: once), for an
 * update_mismatch, and once for expired_in_use. Returns the number of
 * diagnoses emitted. Never fails: bad bytes make the decoder resynchronise. */
int session_feed(struct session *s, const void *buf, size_t len, int64_t now, session_emit_fn emit,
		 void *ctx);
/* The same with the time read only when it is needed: clock(1) once per feed
 * that finds a token (validation), clock(0) once per feed while a token is
 * watched for expired_in_use (a coarse clock will do), after a feed that found
 * no token. Bulk traffic of a
 * connection with no live token reads no clock at all. */
typedef int64_t (*session_clock_fn)(int precise);
/* What a clock returns when it cannot be read (a 32-bit time_t after 2038, a
 * failing clock_gettime): nothing is judged by a time it does not know, the
 * session steps aside (passthrough) at a token, skips the expiry watch. */
#define SESSION_NO_TIME INT64_MIN
/* *passthrough: session_passthrough(s) after the feed. */
int session_feed_clock(struct session *s, const void *buf, size_t len, session_clock_fn clock,
		       session_emit_fn emit, void *ctx, int *passthrough);
/* The stream ended: judges what the decoder still held (wire_end), at
 * time now. Returns the number of diagnoses emitted. Feed nothing after. */
int session_end(struct session *s, int64_t now, session_emit_fn emit, void *ctx);
/* The decoder's frame state for the per-write fast path (ws_frame_take,
 * decode/ws_frame.h): bytes ws_frame_take takes count as fed, with no clock
 * read; the caller takes the session's lock for it and feeds the rest with
 * session_feed*. Stable for the session's life. */
struct ws_frame *session_frame(struct session *s);
/* The time after which a feed would report expired_in_use (the watched
 * token's expiry plus the skew), INT64_MAX when no token is watched: a caller
 * using session_frame feeds through session_feed* once its clock passes it. */
int64_t session_watch_due(const struct session *s);
/* Non-zero when nothing more can be found: the caller may stop feeding. */
int session_passthrough(const struct session *s);
/* The server name the decoder knows (SNI, else the HTTP Host header); "" unknown. */
const char *session_host(const struct session *s);

#endif
