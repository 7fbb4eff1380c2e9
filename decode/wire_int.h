/* Internals of the wire decoder (decode/wire*.c and decode/session.c only).
 *
 * Bounds, per connection (struct wire is one fixed block, no allocation):
 *   WIRE_LINE_MAX   an HTTP/SIP request or header line: 16 KiB (TOKEN_MAX_LEN)
 *                   + 8 KiB for the name and the rest of the line. A longer line
 *                   is skipped (WIRE_E_LIMIT); the decoder resynchronises at the
 *                   next line.
 *   WIRE_BODY_SCAN  the prefix of a textual HTTP body (JSON, form, text) that is
 *                   kept and scanned for a Twilio JWT; the rest is skipped by length.
 *   WIRE_MSG_MAX    the prefix of a WebSocket text message, or of a binary one
 *                   that starts with "TWILSOCK", kept (inflated) and scanned;
 *                   the rest is skipped by length (compressed with context
 *                   takeover: inflated into a scratch buffer, to keep the
 *                   permessage-deflate context). Of a Twilsock message (text
 *                   or binary) only the preamble `TWILSOCK V3.0 <n>\r\n` and
 *                   the n bytes of header JSON are kept: the header is scanned
 *                   as soon as it is complete, the payload skipped by length
 *                   (compressed with context takeover: inflated, not kept).
 *   WIRE_ZARENA     the bump arena zlib's inflate allocates from (its state and
 *                   a 32 KiB window).
 * Binary WebSocket messages that do not start with "TWILSOCK", HTTP bodies of
 * other types and SIP bodies are never copied nor scanned. */
#ifndef TOKSHIM_WIRE_INT_H
#define TOKSHIM_WIRE_INT_H

#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "decode/validate.h"
#include "decode/wire.h"
#include "decode/wire_h2.h"
#include "decode/ws_frame.h"
#include "decode/wire_srv.h"

#define WIRE_LINE_MAX (TOKEN_MAX_LEN + 8192)
#define WIRE_BODY_SCAN WIRE_LINE_MAX
#define WIRE_MSG_MAX 65536
#define WIRE_ZARENA (48 * 1024)
#define WIRE_SCRATCH 4096
#define WIRE_SNIFF 4096      /* bytes of an unknown stream looked at for binary content */
#define WIRE_SMALL_LINE 128  /* chunk-size and trailer lines: only their start is kept */

enum wire_mode { WM_DETECT = 0, WM_HTTP, WM_WS, WM_RAW, WM_PASS, WM_H2 };

enum http_state {
	HS_REQLINE = 0,
	HS_HEADERS,
	HS_BODY,
	HS_CHUNK_SIZE,
	HS_CHUNK_DATA,
	HS_CHUNK_CRLF,
	HS_TRAILERS,
};

enum msg_mode { MM_UNDECIDED = 0, MM_COLLECT, MM_DISCARD };

/* Which channel the request path or the host points at. */
enum wire_hint { HINT_NONE = 0, HINT_TWILSOCK, HINT_VOICE, HINT_VIDEO };

/* A complete unit of buf (a line, a body prefix, a message) being scanned:
 * first its structured token (if any), then the fallback JWT scan. */
struct wire_job {
	int active;
	int stage;             /* 0: structured token next, 1: fallback scan */
	size_t len;            /* bytes of buf in the unit */
	int truncated;         /* the unit was cut at a cap: a JWT touching its end is dropped */
	size_t pos;            /* fallback scan resumes here */
	int have_tok;
	size_t tok_off, tok_len;
	size_t skip_off, skip_len; /* span the fallback scan must not report again */
	enum channel channel;
	const char *message, *where;
	const char *fb_message, *fb_where;
	char id[64];           /* Twilsock message id of the structured token */
	int whole;             /* the unit itself is the event (WIRE_EV_MESSAGE, server direction) */
};

struct wire {
	const struct wire_config *cfg;
	int tls;
	enum wire_mode mode;
	int pending_err;       /* enum wire_status to return at the end of this feed */

	/* where the bytes go */
	char host[128];        /* lower case, no port; "" unknown */
	int host_from_sni;
	unsigned short port;
	enum wire_hint host_hint;
	enum product host_product;
	char region[16];

	/* HTTP / SIP */
	enum http_state hs;
	size_t line_len;
	int line_over;         /* the current line exceeded WIRE_LINE_MAX: being skipped */
	/* header unfolding (RFC 3261 7.3.1, RFC 7230 3.2.4 obs-fold): a header
	 * line is read only once the next line's first byte shows it does not
	 * continue (SP or HT); buf[0..fold_len) holds it, without its CRLF */
	int fold_pending;
	size_t fold_len;
	/* end of stream (wire_end): the bytes that close what is pending */
	int ended;
	const char *end_p;
	size_t end_left;
	int requests;          /* requests seen on this connection */
	int answered;          /* of them, those the server answers: not the client's own SIP
				  responses, not a SIP ACK */
	int is_sip, is_get, is_connect, is_h2;
	const char *sip_msg;   /* "register", "invite", ... */
	enum wire_hint path_hint;
	int upgrade_ws;
	unsigned ext;          /* WIRE_WS_* permessage-deflate parameters the upgrade offered */
	int chunked, has_cl, body_scan, body_trunc, ctype_seen;
	uint64_t content_length, remaining;
	size_t body_len;

	/* WebSocket: one direction's frames (decode/ws_frame.h), the open
	 * message, and this direction's deflate context below */
	struct ws_frame wf;
	int ws_no_ctx;         /* the sender resets its compressor after each message */
	unsigned ws_offer;     /* WIRE_WS_* of the upgrade request that started it */
	int msg_op, msg_z;
	enum msg_mode msg_mode;
	size_t msg_len;
	int msg_trunc;
	int msg_zdone;         /* inflate reached the end of its stream or failed in this message */
	size_t msg_want;       /* a Twilsock message: the bytes of its preamble and header JSON,
				* all that is kept (the payload is skipped); 0 not known yet */
	enum wire_hint ws_hint;

	/* unknown text stream: streaming JWT candidate (kept in buf) */
	int raw_cand, raw_cand_over;
	size_t raw_cand_len;
	unsigned char raw_prev;
	size_t raw_seen, raw_ctrl;

	/* Voice `register` messages sent so far: a 31204 after a register
	 * sent since the listen answers the register, not the listen */
	unsigned voice_registers;

	/* Everything above is what a decoder at rest (wire_at_rest) needs to go
	 * on: a session parks it (session_park) and a fresh block goes on from
	 * a copy of it. What follows is rebuilt from nothing. */
	char rest_end[0];

	char small[WIRE_SMALL_LINE];
	size_t small_len;

	/* inflate (permessage-deflate) */
	int z_ready;
	z_stream z;
	size_t z_used;

	/* HTTP/2 (wire_h2.c): h2 below is set up (h2_init) */
	int h2_on;
	uint32_t h2_stream;    /* the stream whose header block is being read */
	int h2_authority;      /* this block's :authority was seen */
	int h2_path_pending;   /* its :path waits in buf for the :authority */
	int h2_path_ready;     /* ... which came: the :path at the next step */
	size_t h2_path_len;
	int h2_held;           /* a field to read at the next step (after the :path) */
	struct h2_event h2_held_ev;
	struct h2_fast h2f;    /* the caller's fast path over DATA frames (h2_fast.h) */

	struct wire_job job; /* the last member wire_init clears */

	unsigned char zscratch_in[WIRE_SCRATCH];
	unsigned char zscratch_out[WIRE_SCRATCH];
	unsigned char zarena[WIRE_ZARENA] __attribute__((aligned(16)));
	char buf[WIRE_MSG_MAX + 16];

	/* HTTP/2, the client direction: frames and HPACK (its arena is only
	 * touched on HTTP/2 connections) */
	struct h2 h2;
};

/* The bytes of struct wire a decoder at rest is (the part before rest_end). */
#define WIRE_REST_SIZE offsetof(struct wire, rest_end)
/* Non-zero when w is between units with nothing held in its buffers or its
 * inflate context (HTTP before a request line, WebSocket between frames of
 * no message or of a message skipped by length, with no context takeover
 * in use, pass-through): a copy of its first WIRE_REST_SIZE bytes with the
 * rest cleared goes on exactly as w would (wire_resume). */
int wire_at_rest(const struct wire *w);
/* w (its first WIRE_REST_SIZE bytes a copy of a decoder at rest) made
 * whole: the rest cleared, cfg set. */
void wire_resume(struct wire *w, const struct wire_config *cfg);

/* ---- the server's direction (decode/wire_srv.c) ---- */
#define SRV_LINE_MAX 2048


enum srv_mode { SM_DETECT = 0, SM_HTTP, SM_WS, SM_PASS, SM_H2 };

/* HTTP/2: the responses followed at once (the streams whose requests carried
 * a token), each with its slice of wire_srv.body for the error body */
#define SRV_H2_STREAMS 8
#define SRV_H2_BODY (WIRE_SRV_KEEP / SRV_H2_STREAMS)

struct srv_h2_stream {
	uint32_t id;     /* 0: a free slot */
	uint64_t order;  /* when it was asked for: the oldest gives way */
	int status;      /* :status of the final response, 0 not yet */
	int final;       /* the final response's header block is complete */
	int compressed;
	size_t body_len;
};

enum srv_http_state {
	SH_LINE = 0,  /* status line (or a request line the server sends, SIP) */
	SH_HEADERS,
	SH_BODY,      /* Content-Length bytes */
	SH_CHUNK_SIZE,
	SH_CHUNK_DATA,
	SH_CHUNK_CRLF,
	SH_TRAILERS,
	SH_EOF_BODY,  /* no length: the body runs to the end of the stream */
};

/* The server-to-client decoder: HTTP/SIP responses, then a struct wire in
 * the WS_SERVER direction once upgraded. */
struct wire_srv {
	enum srv_mode mode;
	enum srv_http_state hs;
	/* the message being read */
	int is_sip, is_request, status;
	int chunked, has_cl, compressed, json, upgrade_ws;
	unsigned ws_ext;           /* WIRE_WS_* of the 101's Sec-WebSocket-Extensions */
	uint64_t remaining;
	int twilio_error;          /* SIP X-Twilio-Error code */
	char reason[ANSWER_TEXT_MAX];
	char xerr_text[ANSWER_TEXT_MAX];
	size_t line_len;
	int line_over;
	size_t body_len;
	int body_over;
	/* HTTP/2 (SM_H2): the frames through ws.h2, the embedded wire's
	 * HTTP/2 state, which the WebSocket phase never uses; body[] holds
	 * SRV_H2_STREAMS slices of SRV_H2_BODY bytes */
	const struct wire_config *cfg; /* its hpack: libnghttp2's functions */
	int h2_on, upgrade_h2c;
	struct srv_h2_stream h2s[SRV_H2_STREAMS];
	uint64_t h2_order;
	char line[SRV_LINE_MAX];
	char body[WIRE_SRV_KEEP];
	/* the WebSocket phase: the wire decoder's frame layer for the server's
	 * direction (its own deflate context) */
	struct wire ws;
};


/* decode/wire_scan.c */
struct jspan {
	const char *p;
	size_t n;
	int is_string; /* p..n are the string's contents, without quotes (escapes left raw) */
};
/* Finds the member `key` of the JSON object at the start of p[0..n)
 * (whitespace allowed before it). 1 and its value's span, or 0. Never reads
 * past n; nesting is skipped without recursion. */
int wire_json_member_n(const char *p, size_t n, const char *key, size_t klen, struct jspan *out);
static inline int wire_json_member(const char *p, size_t n, const char *key, struct jspan *out)
{
	return wire_json_member_n(p, n, key, strlen(key), out);
}
/* Whether s is the string lit (raw, escapes not decoded). */
static inline int wire_jspan_eq(const struct jspan *s, const char *lit)
{
	size_t n = strlen(lit);
	return s->is_string && s->n == n && !memcmp(s->p, lit, n);
}
/* Decodes a JSON string's escapes in place (p[0..n) is the text between the
 * quotes); returns the decoded length (<= n). Bad escapes are kept as they are. */
size_t wire_json_unescape(char *p, size_t n);

/* Non-zero for the characters of a compact JWT (base64url and '.'). */
int wire_is_jwt_char(unsigned char c);
/* Non-zero when p[0..n) is three base64url segments, the first two non-empty. */
int wire_jwt_shaped(const char *p, size_t n);
/* Non-zero when p[0..n) is JWT-shaped and its header has cty "twilio-fpa;v=1". */
int wire_jwt_is_twilio(const char *p, size_t n);
/* Next Twilio JWT in p[from..n) that starts at a word boundary; 1 with its
 * span, 0 when none. truncated: a candidate reaching n is not complete. */
int wire_find_jwt(const char *p, size_t n, size_t from, int truncated, size_t *off, size_t *len);

/* Host classification: fills w->host_hint, host_product, region from w->host,
 * w->port and the TOKSHIM_HOSTS rules. */
void wire_host_classify(struct wire *w);
/* Region-shaped label: two lower-case letters and a digit ("us1", "ie1"). */
int wire_is_region(const char *p, size_t n);

/* decode/wire_ws.c */
/* Starts reading direction dir's frames; no_ctx: the sender does without
 * context takeover. */
void wire_ws_start(struct wire *w, enum ws_dir dir, int no_ctx);
/* Consumes WebSocket bytes; may start a job (a complete message to scan). */
size_t wire_ws_step(struct wire *w, const unsigned char *p, size_t n);
void wire_ws_release(struct wire *w);

/* decode/wire_h2.c */
/* At the end of the connection preface's first part (preface_seen bytes of
 * H2_PREFACE read by the HTTP/1 parser): HTTP/2 from here on when the HPACK
 * functions are there (w->cfg->hpack), else pass-through. */
int wire_h2_start(struct wire *w, size_t preface_seen);
/* What wire_h2_step leaves in buf[0..len) for wire.c's HTTP header rules. */
enum { WIRE_H2_NONE = 0, WIRE_H2_HEADER, WIRE_H2_HOST, WIRE_H2_QUERY };
/* Consumes client bytes (0..n; 0 with a line to run, or with work left that
 * needs no bytes); *line: what to run on buf[0..*len) (HEADER and QUERY
 * with their job started, HOST the Host rules alone). */
size_t wire_h2_step(struct wire *w, const unsigned char *p, size_t n, int *line, size_t *len);
/* Non-zero when wire_h2_step has work with no more bytes (a held field, the
 * end of a header block): wire_feed steps on at the end of its input. */
int wire_h2_more(const struct wire *w);
/* The fast path over DATA frames (h2_fast.h): armed at the end of a feed
 * where it may go on, folded back at the start of the next. */
void wire_h2_arm(struct wire *w);
void wire_h2_fold(struct wire *w);
void wire_h2_release(struct wire *w);

/* decode/wire.c */

/* Starts the job of scanning buf[0..len) (a line, a body prefix, a message);
 * wire_feed produces its events. */
static inline void wire_job_start(struct wire *w, size_t len, int truncated, const char *fb_message,
				  const char *fb_where)
{
	struct wire_job *j = &w->job;
	memset(j, 0, sizeof *j);
	j->active = 1;
	j->len = len;
	j->truncated = truncated;
	j->fb_message = fb_message;
	j->fb_where = fb_where;
}

#endif
