/* A connection's session: the wire decoder, validation of each token found,
 * and the stateful checks (update_mismatch, one report per token per
 * connection); the server's direction: its answers to the token-carrying
 * messages (the answer records), and the lifetime checks (refresh_missing,
 * expired_in_use) judged on the connection's traffic both ways. Used alike
 * by the shim and by `tokshim scan`. Pure: time and output are parameters. */
#ifndef TOKSHIM_SESSION_H
#define TOKSHIM_SESSION_H

#include "decode/diag.h"
#include "decode/validate.h"
#include "decode/wire.h"

struct session_config {
	struct vconfig v;    /* keys, account, skew, product (PRODUCT_UNKNOWN: infer) */
	struct wire_config w;
	int no_answers;      /* 1: the server's bytes are not read (TOKSHIM_READ=0): no questions kept */
};

/* Called for each diagnosis. d is borrowed, valid during the call only. */
typedef void (*session_emit_fn)(void *ctx, const struct diag *d);

struct session;
size_t session_sizeof(void);
void session_init(struct session *s, const struct session_config *cfg, int tls);
void session_set_host(struct session *s, const char *host, size_t n);
void session_set_port(struct session *s, unsigned short port);
void session_release(struct session *s);

/* Parking: a session whose token was judged and whose decoders are at rest
 * (the client's between messages or requests, the server's between
 * answers, or not read; nothing buffered, no inflate context to keep) fits
 * in SESSION_PARK_SIZE bytes: what later checks need (the init token's
 * identity, service and account for update_mismatch, the tokens already
 * reported, the newest token for refresh_missing and expired_in_use, the
 * questions awaiting an answer) and both decoders' positions (frame states,
 * Twilsock message boundaries, HTTP request and response counts).
 * session_park: 1 with park filled (the block may then be released), 0 when
 * s is not at rest or its history does not fit (nothing written).
 * session_unpark: a block (any, uninitialised) made the session that was
 * parked, going on exactly as it would have. */
#define SESSION_PARK_SIZE 1408
/* 1 when s is judged and at rest (session_park parks it when it fits). */
int session_at_rest(const struct session *s);
int session_park(const struct session *s, void *park);
void session_unpark(struct session *s, const struct session_config *cfg, const void *park);
/* The parked decoder's frame state of the client's direction, for the
 * write fast path while parked (ws_frame_take on it counts as fed:
 * session_unpark goes on from it). */
struct ws_frame *session_park_frame(void *park);
/* The read fast path while parked: the bytes of buf[0..len) that need no
 * feed (they count as fed: session_unpark goes on after them): bulk and
 * control frames of the server (ws_frame_take), and whole messages that
 * can change nothing (no question of theirs is open, not a close or a
 * client_update); all of them when the server's decoder passed through.
 * The caller feeds through session_feed_server* once its clock passes
 * session_park_due (the lifetime checks are judged on reads too). */
size_t session_park_server_take(void *park, const void *buf, size_t len);
/* Non-zero while the parked session reads the server's bytes (0: they
 * need no feed, the server's direction was given up). */
int session_park_reads(const void *park);
/* session_watch_due of the parked session. */
int64_t session_park_due(const void *park);
/* The bytes of park in use (at most SESSION_PARK_SIZE). */
size_t session_park_used(const void *park);

/* Wipes what s's block can hold of its connection (after session_release,
 * before the block is reused): every small field, and of each buffer the
 * part its decoders can have written since session_init or session_unpark
 * on an all-zero block. The block is all zeros after. */
void session_wipe(struct session *s);

/* Feeds bytes written by the client at time `now`; emits a diagnosis for each
 * new token found (the same token twice on one connection: once), for an
 * update_mismatch, and a lifetime record (refresh_missing, expired_in_use:
 * each once per token). Returns the number of records emitted. Never fails:
 * bad bytes make the decoder resynchronise. */
int session_feed(struct session *s, const void *buf, size_t len, int64_t now, session_emit_fn emit,
		 void *ctx);
/* The same with the time read only when it is needed: clock(1) once per feed
 * that finds a token (validation) and clock(2) then (milliseconds, for the
 * answers' after_ms), clock(0) once per feed while a token is
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
/* Feeds bytes the client read from the server at time now (seconds):
 * emits an answer record for each answer to a token-carrying message
 * (after_ms null), and lifetime records. Returns the records emitted. */
int session_feed_server(struct session *s, const void *buf, size_t len, int64_t now,
			session_emit_fn emit, void *ctx);
/* The same with the clock read when needed (clock(1) and clock(2) at an
 * answer, clock(0) while a token is watched). */
int session_feed_server_clock(struct session *s, const void *buf, size_t len, session_clock_fn clock,
			      session_emit_fn emit, void *ctx);
/* The frame state of the server's WebSocket direction for the per-read fast
 * path (ws_frame_take, decode/ws_frame.h: bulk frames that cannot answer
 * anything taken by length), NULL while the server's bytes are not
 * WebSocket frames. Bytes ws_frame_take takes count as fed; the caller holds
 * the session's lock and feeds the rest with session_feed_server*, and feeds
 * through session_feed_server* once its clock passes session_watch_due. */
struct ws_frame *session_server_frame(struct session *s);
/* The client read bytes the caller could not see (MSG_TRUNC): the server's
 * direction cannot be followed any more; its open questions are dropped. */
void session_server_lost(struct session *s);
/* The decoder's frame state for the per-write fast path (ws_frame_take,
 * decode/ws_frame.h): bytes ws_frame_take takes count as fed, with no clock
 * read; the caller takes the session's lock for it and feeds the rest with
 * session_feed*. Stable for the session's life. */
struct ws_frame *session_frame(struct session *s);
/* The same for HTTP/2 DATA frames (decode/h2_fast.h, h2_fast_take). */
struct h2_fast;
struct h2_fast *session_fast_h2(struct session *s);
/* The time after which a feed would report expired_in_use (the watched
 * token's expiry plus the skew), INT64_MAX when no token is watched: a caller
 * using session_frame feeds through session_feed* once its clock passes it. */
int64_t session_watch_due(const struct session *s);
/* Non-zero when nothing more can be found: the caller may stop feeding. */
int session_passthrough(const struct session *s);
/* The server name the decoder knows (SNI, else the HTTP Host header); "" unknown. */
const char *session_host(const struct session *s);

#endif
