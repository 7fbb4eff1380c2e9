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
 *                   the rest is skipped by length (or inflated into a scratch
 *                   buffer to keep the permessage-deflate context).
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
#include "decode/ws_frame.h"
#include "decode/wire_srv.h"

#define WIRE_LINE_MAX (TOKEN_MAX_LEN + 8192)
#define WIRE_BODY_SCAN WIRE_LINE_MAX
#define WIRE_MSG_MAX 65536
#define WIRE_ZARENA (48 * 1024)
#define WIRE_SCRATCH 4096
#define WIRE_SNIFF 4096      /* bytes of an unknown stream looked at for binary content */
#define WIRE_SMALL_LINE 128  /* chunk-size and trailer lines: only their start is kept */

enum wire_mode { WM_DETECT = 0, WM_HTTP, WM_WS, WM_RAW, WM_PASS };

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
	char small[WIRE_SMALL_LINE];
	size_t small_len;

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
	enum wire_hint ws_hint;

	/* inflate (permessage-deflate) */
	int z_ready;
	z_stream z;
	size_t z_used;

	/* unknown text stream: streaming JWT candidate (kept in buf) */
	int raw_cand, raw_cand_over;
	size_t raw_cand_len;
	unsigned char raw_prev;
	size_t raw_seen, raw_ctrl;

	struct wire_job job; /* the last member wire_init clears */

	unsigned char zscratch_in[WIRE_SCRATCH];
	unsigned char zscratch_out[WIRE_SCRATCH];
	unsigned char zarena[WIRE_ZARENA] __attribute__((aligned(16)));
	char buf[WIRE_MSG_MAX + 16];
};

/* ---- the server's direction (decode/wire_srv.c) ---- */
#define SRV_LINE_MAX 2048


enum srv_mode { SM_DETECT = 0, SM_HTTP, SM_WS, SM_PASS };

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
int wire_json_member(const char *p, size_t n, const char *key, struct jspan *out);
int wire_jspan_eq(const struct jspan *s, const char *lit);
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
