/* The wire decoder: one connection's client-to-server byte stream in, "token
 * found" events out. Push style (STYLE.md, picohttpparser/wslay): the caller
 * feeds whatever it has, of any size; the decoder keeps bounded state.
 * Pure: no globals, no I/O, no clock. Memory: struct wire is one fixed block
 * (wire_sizeof() bytes, caller-allocated, e.g. by mmap); zlib's inflate state
 * lives inside it too, so the decoder never calls malloc. zlib keeps pointers
 * into the block: do not move or copy it after wire_init. The bounds (a
 * header line: 24 KiB, a WebSocket message kept for scanning: 64 KiB, an HTTP
 * body prefix: 24 KiB; the rest skipped by length) are in decode/wire_int.h;
 * HTTP/2's (HPACK table 8 KiB, its arena 112 KiB) in decode/wire_h2.h. */
#ifndef TOKSHIM_WIRE_H
#define TOKSHIM_WIRE_H

#include <stddef.h>
#include <sys/types.h>

#include "decode/diag.h"
#include "decode/ws_frame.h"

/* A TOKSHIM_HOSTS entry: host (exact, or "*.suffix"), optional port (0 any). */
struct host_rule {
	char host[128];
	unsigned short port;
	enum product product;
};

struct h2_hpack_ops;
struct wire_config {
	const struct host_rule *hosts; /* borrowed, may be NULL */
	size_t nhosts;
	/* libnghttp2's HPACK functions (decode/wire_h2.h), asked for at the
	 * first HTTP/2 connection preface; NULL (or a NULL answer): HTTP/2
	 * connections are passed through unread. The answer must stay valid
	 * for the life of every decoder using it. */
	const struct h2_hpack_ops *(*hpack)(void);
};

/* Parses "host[:port]=product,..." into rules[0..cap). Returns the count, or
 * -1 with err set on the first bad entry (the good ones before it are kept). */
int host_rules_parse(const char *spec, struct host_rule *rules, size_t cap, struct tk_error *err);

/* WIRE_EV_MESSAGE: a complete WebSocket message of a WS_SERVER-direction
 * decoder (token/token_len: its bytes, inflated, cut at the message cap),
 * for the server-answer layer (decode/wire_srv.c); never a token. */
enum wire_event_kind { WIRE_EV_NONE = 0, WIRE_EV_TOKEN, WIRE_EV_MESSAGE };

struct wire_event {
	enum wire_event_kind kind;
	enum channel channel;
	enum product product;  /* from the host or the channel (product_choose before the grants
	                          are read); PRODUCT_UNKNOWN: the grants decide */
	enum product host_product; /* what the host names (a TOKSHIM_HOSTS rule), PRODUCT_UNKNOWN none */
	const char *message;   /* static: "init", "update", "listen", "hello", "connect", "ice",
	                          "sync", "header", "query", "register", "invite", ...; never NULL
	                          when kind != NONE */
	const char *where;     /* static, human: "X-Twilio-Token header", "twilsock init", ... */
	const char *token;     /* borrowed: valid until the next call on this decoder */
	size_t token_len;
	char region[16];       /* region named by the host (tsock.ie1.twilio.com: "ie1"), "" unknown */
	char host[128];        /* SNI or Host header (HTTP/2: :authority), "" unknown */
	unsigned stream;       /* the HTTP/2 stream of the request, 0 elsewhere */
	char msg_id[64];       /* Twilsock: the message's "id" (its reply carries it), "" none */
};

enum wire_status {
	WIRE_NEED_MORE = 0,
	WIRE_E_PROTOCOL = -1, /* the stream is not what it claimed; decoder resynchronised or gave up */
	WIRE_E_LIMIT = -2,    /* a message exceeded a documented cap; skipped */
	WIRE_E_NOMEM = -3,    /* inflate could not get memory from its arena */
};

struct wire;
size_t wire_sizeof(void);
/* cfg is borrowed and must outlive the decoder. tls: 1 when the bytes are a
 * TLS plaintext (affects nothing but the events' context). */
void wire_init(struct wire *w, const struct wire_config *cfg, int tls);
/* The server name from SNI, before or after the first feed. */
void wire_set_host(struct wire *w, const char *host, size_t n);
/* Port of the peer, 0 unknown (used for TOKSHIM_HOSTS rules with a port). */
void wire_set_port(struct wire *w, unsigned short port);
void wire_release(struct wire *w);

/* Feeds bytes. Returns the number of bytes consumed (0..len): less than len
 * only when an event was produced (ev->kind != WIRE_EV_NONE), in which case
 * the caller handles it and calls again with the rest. A negative return is
 * an error class (enum wire_status): all of buf counts as consumed and the
 * decoder has resynchronised (or switched to pass-through). ev is reset at
 * entry. */
ssize_t wire_feed(struct wire *w, const void *buf, size_t len, struct wire_event *ev);

/* The stream ended (the connection closed, the file ended): what is still
 * pending is judged as if a delimiter had come (a JWT at the very end of an
 * unknown text stream, a last header line with no line end). Call until it
 * returns 0: 1 with an event in ev each time. Feed nothing after it. */
int wire_end(struct wire *w, struct wire_event *ev);

/* Non-zero once the decoder knows no token can follow on this connection
 * (e.g. an unknown binary protocol): callers may stop feeding it. */
int wire_passthrough(const struct wire *w);

/* The number of HTTP/SIP requests begun on w so far that the server answers
 * (the one being read included; not the client's own SIP responses, not a
 * SIP ACK): the server's final responses come in this order, so a token
 * event's request is answered by the response of this number. */
int wire_request_seq(const struct wire *w);
/* The number of Voice signalling `register` messages sent on w so far (they
 * carry no token; Twilio answers one that arrives before the `listen`'s
 * token is validated with 31204). */
unsigned wire_voice_registers(const struct wire *w);
/* permessage-deflate parameters of a WebSocket upgrade (RFC 7692). */
#define WIRE_WS_DEFLATE 1u        /* permessage-deflate offered */
#define WIRE_WS_CLIENT_NO_CTX 2u  /* client_no_context_takeover */
#define WIRE_WS_SERVER_NO_CTX 4u  /* server_no_context_takeover */
/* What the last WebSocket upgrade request on w offered (WIRE_WS_*), 0 none. */
unsigned wire_ws_offer(const struct wire *w);
/* Makes w read direction dir's WebSocket frames from its next byte, after a
 * handshake the caller has seen: dir WS_SERVER for what the server sends
 * (unmasked, its own deflate context), WS_CLIENT for the client's. ext: the
 * negotiated WIRE_WS_* parameters; the direction's *_no_context_takeover
 * resets its inflate context after each message. */
void wire_start_ws(struct wire *w, enum ws_dir dir, unsigned ext);
/* The frame state for the per-write fast path (ws_frame_take in
 * decode/ws_frame.h); stable for the decoder's life. */
struct ws_frame *wire_frame(struct wire *w);
/* The HTTP/2 fast path's state (decode/h2_fast.h), stable for the
 * decoder's life. */
struct h2_fast;
struct h2_fast *wire_h2_fast_of(struct wire *w);

/* The server name: SNI when set, else the last HTTP Host header (lower case,
 * no port); "" unknown. Borrowed, valid while w is. */
const char *wire_host(const struct wire *w);

#endif
