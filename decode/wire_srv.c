/* The server-to-client decoder (see wire_srv.h): HTTP and SIP responses
 * here, WebSocket frames through the wire decoder's one frame parser
 * (decode/wire_ws.c, direction WS_SERVER, its own inflate context), and the
 * answer-shaped messages of Twilsock, Voice and Video; HTTP/2 frames and
 * header blocks through decode/wire_h2.c (direction H2_SERVER). */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "decode/wire_int.h"
#include "decode/wire_srv.h"

size_t wire_srv_sizeof(void)
{
	return sizeof(struct wire_srv);
}

static void msg_reset(struct wire_srv *w)
{
	w->hs = SH_LINE;
	w->is_sip = w->is_request = w->status = 0;
	w->chunked = w->has_cl = w->compressed = w->json = w->upgrade_ws = w->upgrade_h2c = 0;
	w->ws_ext = 0;
	w->remaining = 0;
	w->twilio_error = 0;
	w->reason[0] = w->xerr_text[0] = 0;
	w->line_len = 0;
	w->line_over = 0;
	w->body_len = 0;
	w->body_over = 0;
}

void wire_srv_init(struct wire_srv *w, const struct wire_config *cfg)
{
	memset(w, 0, offsetof(struct wire_srv, line));
	w->cfg = cfg;
	w->mode = SM_DETECT;
	msg_reset(w);
	wire_init(&w->ws, NULL, 0);
}

void wire_srv_release(struct wire_srv *w)
{
	if (w->h2_on)
		h2_release(&w->ws.h2);
	w->h2_on = 0;
	wire_release(&w->ws);
	w->mode = SM_PASS;
}

void wire_srv_lost(struct wire_srv *w)
{
	w->mode = SM_PASS;
}

int wire_srv_passthrough(const struct wire_srv *w)
{
	return w->mode == SM_PASS;
}

/* ---- small helpers -------------------------------------------------------------- */

static int ieq(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && !strncasecmp(p, lit, n);
}

static int icontains(const char *p, size_t n, const char *lit)
{
	size_t k = strlen(lit);
	for (size_t i = 0; i + k <= n; i++)
		if (!strncasecmp(p + i, lit, k))
			return 1;
	return 0;
}

/* A decimal integer at the start of p[0..n) (leading spaces allowed); 0 when none. */
static int leading_int(const char *p, size_t n, size_t *used)
{
	size_t i = 0;
	long v = 0;
	while (i < n && p[i] == ' ')
		i++;
	size_t s = i;
	while (i < n && p[i] >= '0' && p[i] <= '9' && i - s < 9)
		v = v * 10 + (p[i++] - '0');
	if (used)
		*used = i;
	return i > s ? (int)v : 0;
}

/* Printable text of p[0..n) into out (control bytes dropped), cut to fit. */
static void copy_text(char *out, size_t cap, const char *p, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < cap; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c != 0x7f)
			out[k++] = (char)c;
	}
	out[k] = 0;
}

/* A JSON number or numeric string member. 1 with *v, 0 when absent. */
static int json_int(const char *p, size_t n, const char *key, int *v)
{
	struct jspan s;
	if (!wire_json_member(p, n, key, &s) || s.n == 0)
		return 0;
	size_t used;
	int x = leading_int(s.p, s.n, &used);
	if (used == 0 || (used < s.n && s.p[used] != '.'))
		return 0;
	*v = x;
	return 1;
}

static void json_text(const char *p, size_t n, const char *key, char *out, size_t cap)
{
	struct jspan s;
	if (wire_json_member(p, n, key, &s) && s.is_string)
		copy_text(out, cap, s.p, s.n);
}

/* ---- messages ------------------------------------------------------------------- */

static void twilsock_message(const char *b, size_t n, struct srv_event *ev)
{
	/* TWILSOCK V3.0 <header bytes>\r\n<header JSON>\r\n<payload> */
	size_t i = 12;
	while (i < n && b[i] >= '0' && b[i] <= '9')
		i++;
	ev->msg = SRV_MSG_TW_OTHER;
	if (i >= n || b[i] != ' ')
		return;
	size_t used;
	size_t hlen = (size_t)leading_int(b + i + 1, n - i - 1, &used);
	i += 1 + used;
	if (i + 1 >= n || b[i] != '\r' || b[i + 1] != '\n')
		return;
	i += 2;
	const char *h = b + i;
	size_t hn = hlen && hlen < n - i ? hlen : n - i;
	struct jspan method, status;
	if (!wire_json_member(h, hn, "method", &method))
		return;
	struct jspan id;
	if (wire_json_member(h, hn, "id", &id) && id.is_string)
		copy_text(ev->id, sizeof ev->id, id.p, id.n);
	if (wire_jspan_eq(&method, "reply"))
		ev->msg = SRV_MSG_TW_REPLY;
	else if (wire_jspan_eq(&method, "close"))
		ev->msg = SRV_MSG_TW_CLOSE;
	else if (wire_jspan_eq(&method, "client_update"))
		ev->msg = SRV_MSG_TW_CLIENT_UPDATE;
	if (ev->msg == SRV_MSG_TW_CLIENT_UPDATE) {
		json_text(h, hn, "client_update_type", ev->update_type, sizeof ev->update_type);
		return;
	}
	if (wire_json_member(h, hn, "status", &status) && !status.is_string) {
		json_int(status.p, status.n, "code", &ev->status);
		json_int(status.p, status.n, "errorCode", &ev->code);
		json_text(status.p, status.n, "description", ev->text, sizeof ev->text);
		if (!ev->text[0])
			json_text(status.p, status.n, "status", ev->text, sizeof ev->text);
	}
}

static void json_message(const char *b, size_t n, struct srv_event *ev)
{
	struct jspan type, inner, err, btype;
	ev->msg = SRV_MSG_OTHER;
	if (!wire_json_member(b, n, "type", &type))
		return;
	if (wire_jspan_eq(&type, "error")) {
		/* Voice: payload.error {code, message}; Video: code, message at the top */
		if (wire_json_member(b, n, "payload", &inner) && !inner.is_string &&
		    wire_json_member(inner.p, inner.n, "error", &err) && !err.is_string) {
			ev->msg = SRV_MSG_VOICE_ERROR;
			json_int(err.p, err.n, "code", &ev->code);
			json_text(err.p, err.n, "message", ev->text, sizeof ev->text);
			return;
		}
		ev->msg = SRV_MSG_VIDEO_ERROR;
		json_int(b, n, "code", &ev->code);
		json_text(b, n, "message", ev->text, sizeof ev->text);
		return;
	}
	/* a success shape has no code: its text is its type, the reply's name */
	if (wire_jspan_eq(&type, "connected") || wire_jspan_eq(&type, "ready")) {
		/* Voice's answers to a good listen; Video also says "connected" */
		ev->msg = wire_json_member(b, n, "payload", &inner) ? SRV_MSG_VOICE_OK : SRV_MSG_VIDEO_OK;
		copy_text(ev->text, sizeof ev->text, type.p, type.n);
		return;
	}
	if (wire_jspan_eq(&type, "welcome")) {
		ev->msg = SRV_MSG_VIDEO_OK;
		copy_text(ev->text, sizeof ev->text, type.p, type.n);
		return;
	}
	if (wire_jspan_eq(&type, "msg") && wire_json_member(b, n, "body", &inner) && !inner.is_string &&
	    wire_json_member(inner.p, inner.n, "type", &btype)) {
		if (wire_jspan_eq(&btype, "connected") || wire_jspan_eq(&btype, "welcome")) {
			ev->msg = SRV_MSG_VIDEO_OK;
			copy_text(ev->text, sizeof ev->text, btype.p, btype.n);
		} else if (wire_jspan_eq(&btype, "error")) {
			ev->msg = SRV_MSG_VIDEO_ERROR;
			json_int(inner.p, inner.n, "code", &ev->code);
			json_text(inner.p, inner.n, "message", ev->text, sizeof ev->text);
		}
	}
}

void wire_srv_message(const char *p, size_t n, struct srv_event *ev)
{
	ev->kind = SRV_EV_MESSAGE;
	if (n >= 12 && !memcmp(p, "TWILSOCK V3.", 12)) {
		twilsock_message(p, n, ev);
		return;
	}
	size_t s = 0;
	while (s < n && (p[s] == ' ' || p[s] == '\t' || p[s] == '\r' || p[s] == '\n'))
		s++;
	if (s < n && p[s] == '{')
		json_message(p + s, n - s, ev);
	else
		ev->msg = SRV_MSG_OTHER;
}

/* ---- HTTP and SIP responses -------------------------------------------------------- */

static void status_line(struct wire_srv *w, const char *b, size_t n)
{
	int http = n >= 12 && !memcmp(b, "HTTP/1.", 7) && b[8] == ' ';
	int sip = n >= 12 && !memcmp(b, "SIP/2.0 ", 8);
	if (!http && !sip) {
		/* a request the server sends (SIP OPTIONS, NOTIFY): read past it */
		w->is_request = 1;
		w->is_sip = 1;
		return;
	}
	w->is_sip = sip;
	size_t used;
	w->status = leading_int(b + 8, n - 8, &used);
	size_t r = 8 + used;
	while (r < n && b[r] == ' ')
		r++;
	copy_text(w->reason, sizeof w->reason, b + r, n - r);
}

static void header(struct wire_srv *w, const char *b, size_t n)
{
	const char *colon = memchr(b, ':', n);
	if (!colon || colon == b)
		return;
	size_t nn = (size_t)(colon - b);
	while (nn && (b[nn - 1] == ' ' || b[nn - 1] == '\t'))
		nn--;
	size_t v0 = (size_t)(colon - b) + 1;
	while (v0 < n && (b[v0] == ' ' || b[v0] == '\t'))
		v0++;
	const char *v = b + v0;
	size_t vn = n - v0;
	while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
		vn--;
	if (ieq(b, nn, "Content-Length") || (w->is_sip && ieq(b, nn, "l"))) {
		uint64_t cl = 0;
		size_t i = 0;
		while (i < vn && v[i] >= '0' && v[i] <= '9' && i < 19)
			cl = cl * 10 + (uint64_t)(v[i++] - '0');
		if (i > 0 && i == vn) {
			w->has_cl = 1;
			w->remaining = cl;
		}
	} else if (ieq(b, nn, "Transfer-Encoding")) {
		if (!w->is_sip && icontains(v, vn, "chunked"))
			w->chunked = 1;
	} else if (ieq(b, nn, "Content-Encoding")) {
		if (vn && !ieq(v, vn, "identity"))
			w->compressed = 1;
	} else if (ieq(b, nn, "Content-Type") || (w->is_sip && ieq(b, nn, "c"))) {
		w->json = icontains(v, vn, "json");
	} else if (ieq(b, nn, "Upgrade")) {
		if (icontains(v, vn, "websocket"))
			w->upgrade_ws = 1;
		else if (ieq(v, vn, "h2c"))
			w->upgrade_h2c = 1;
	} else if (ieq(b, nn, "Sec-WebSocket-Extensions")) {
		if (icontains(v, vn, "permessage-deflate"))
			w->ws_ext |= WIRE_WS_DEFLATE;
		if (icontains(v, vn, "server_no_context_takeover"))
			w->ws_ext |= WIRE_WS_SERVER_NO_CTX;
		if (icontains(v, vn, "client_no_context_takeover"))
			w->ws_ext |= WIRE_WS_CLIENT_NO_CTX;
	} else if (w->is_sip && ieq(b, nn, "X-Twilio-Error")) {
		size_t used;
		w->twilio_error = leading_int(v, vn, &used);
		while (used < vn && (v[used] == ' ' || v[used] == '-' || v[used] == ':'))
			used++;
		copy_text(w->xerr_text, sizeof w->xerr_text, v + used, vn - used);
	}
}

/* Twilio's JSON error body {"code":20104,"message":...,"status":401}: the
 * code and message into ev. */
static void error_body(const char *b, size_t n, struct srv_event *ev)
{
	size_t s = 0;
	while (s < n && (b[s] == ' ' || b[s] == '\r' || b[s] == '\n' || b[s] == '\t'))
		s++;
	if (s < n && b[s] == '{') {
		int code;
		if (json_int(b + s, n - s, "code", &code)) {
			ev->code = code;
			json_text(b + s, n - s, "message", ev->text, sizeof ev->text);
		}
	}
}

/* The response is complete: its event. */
static void response_event(struct wire_srv *w, struct srv_event *ev)
{
	ev->kind = w->is_sip ? SRV_EV_SIP : SRV_EV_HTTP;
	ev->status = w->status;
	ev->compressed = w->compressed;
	ev->interim = w->status >= 100 && w->status < 200 && w->status != 101;
	ev->upgrade = !w->is_sip && w->status == 101;
	memcpy(ev->text, w->reason, sizeof ev->text);
	if (w->is_sip && w->twilio_error) {
		ev->code = w->twilio_error;
		if (w->xerr_text[0])
			memcpy(ev->text, w->xerr_text, sizeof ev->text);
	}
	if (!w->compressed)
		error_body(w->body, w->body_len, ev);
}

static void body_keep(struct wire_srv *w, const char *p, size_t n)
{
	if (w->compressed || w->is_request)
		return;
	size_t room = sizeof w->body - w->body_len;
	if (n > room) {
		n = room;
		w->body_over = 1;
	}
	memcpy(w->body + w->body_len, p, n);
	w->body_len += n;
}

static void h2_start(struct wire_srv *w);

/* The message ended: 1 when it gives an event. */
static int message_done(struct wire_srv *w, struct srv_event *ev)
{
	int is_request = w->is_request;
	int upgrade = !w->is_sip && w->status == 101 && w->upgrade_ws;
	int h2c = !w->is_sip && w->status == 101 && w->upgrade_h2c;
	unsigned ext = w->ws_ext;
	if (!is_request) {
		response_event(w, ev);
		ev->h2c = h2c;
	}
	msg_reset(w);
	if (upgrade) {
		/* the server's frames from the next byte on */
		wire_start_ws(&w->ws, WS_SERVER, ext);
		w->mode = SM_WS;
	} else if (h2c) {
		h2_start(w); /* the server's connection preface (SETTINGS) next */
	}
	return !is_request;
}

/* Takes one line into w->line (cut at SRV_LINE_MAX). Returns the bytes used;
 * *done when the line ended. */
static size_t line_take(struct wire_srv *w, const unsigned char *p, size_t n, int *done)
{
	const unsigned char *nl = memchr(p, '\n', n);
	size_t take = nl ? (size_t)(nl - p) + 1 : n;
	size_t room = SRV_LINE_MAX - w->line_len;
	size_t k = take < room ? take : room;
	memcpy(w->line + w->line_len, p, k);
	w->line_len += k;
	*done = nl != NULL;
	return take;
}

static size_t http_step(struct wire_srv *w, const unsigned char *p, size_t n, struct srv_event *ev)
{
	int done = 0;
	size_t used;
	switch (w->hs) {
	case SH_LINE:
	case SH_HEADERS:
	case SH_CHUNK_SIZE:
	case SH_CHUNK_CRLF:
	case SH_TRAILERS: {
		used = line_take(w, p, n, &done);
		if (!done)
			return used;
		size_t ln = w->line_len;
		while (ln && (w->line[ln - 1] == '\n' || w->line[ln - 1] == '\r'))
			ln--;
		w->line_len = 0;
		const char *b = w->line;
		if (w->hs == SH_LINE) {
			if (ln == 0)
				return used; /* keep-alive blank lines */
			if (!(ln >= 5 && (!memcmp(b, "HTTP/", 5) || !memcmp(b, "SIP/2", 5))) &&
			    !(b[0] >= 'A' && b[0] <= 'Z')) {
				w->mode = SM_PASS; /* not a response stream we can follow */
				return n;
			}
			status_line(w, b, ln);
			w->hs = SH_HEADERS;
			return used;
		}
		if (w->hs == SH_HEADERS) {
			if (ln) {
				header(w, b, ln);
				return used;
			}
			/* the end of the headers */
			int no_body = (w->status >= 100 && w->status < 200) || w->status == 204 ||
				      w->status == 304;
			if (!w->is_sip && w->chunked && !no_body) {
				w->hs = SH_CHUNK_SIZE;
			} else if (w->has_cl && w->remaining > 0 && !no_body) {
				w->hs = SH_BODY;
			} else if (!w->has_cl && !w->chunked && !no_body && !w->is_sip) {
				/* the body runs to the end: the status is all we get */
				message_done(w, ev);
				w->hs = SH_EOF_BODY;
				return used;
			} else {
				message_done(w, ev);
			}
			return used;
		}
		if (w->hs == SH_CHUNK_CRLF) {
			w->hs = SH_CHUNK_SIZE;
			return used;
		}
		if (w->hs == SH_TRAILERS) {
			if (ln == 0)
				message_done(w, ev);
			return used;
		}
		/* chunk-size [; ext] */
		uint64_t size = 0;
		size_t i = 0;
		while (i < ln && i < 16) {
			char c = b[i];
			int h = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
			if (h < 0)
				break;
			size = size * 16 + (uint64_t)h;
			i++;
		}
		if (i == 0) {
			w->mode = SM_PASS; /* lost the chunk framing */
			return n;
		}
		if (size == 0) {
			w->hs = SH_TRAILERS;
		} else {
			w->remaining = size;
			w->hs = SH_CHUNK_DATA;
		}
		return used;
	}
	case SH_BODY:
	case SH_CHUNK_DATA:
		used = n < w->remaining ? n : (size_t)w->remaining;
		body_keep(w, (const char *)p, used);
		w->remaining -= used;
		if (w->remaining == 0) {
			if (w->hs == SH_BODY)
				message_done(w, ev);
			else
				w->hs = SH_CHUNK_CRLF;
		}
		return used;
	case SH_EOF_BODY:
		return n;
	}
	return n;
}

/* ---- HTTP/2 ------------------------------------------------------------------------- */

/* The server direction's HTTP/2 from here on: its own inflater in ws.h2
 * (the WebSocket phase never uses it), libnghttp2's functions from the
 * configuration; without them the direction is not read. */
static void h2_start(struct wire_srv *w)
{
	const struct h2_hpack_ops *ops = w->cfg && w->cfg->hpack ? w->cfg->hpack() : NULL;
	if (!ops || h2_init(&w->ws.h2, H2_SERVER, ops) != 0) {
		w->mode = SM_PASS;
		return;
	}
	w->h2_on = 1;
	w->mode = SM_H2;
	for (size_t i = 0; i < SRV_H2_STREAMS; i++)
		if (w->h2s[i].id)
			h2_want_data(&w->ws.h2, w->h2s[i].id);
}

/* The first 9 bytes of a stream starting with a zero byte, in w->line: the
 * header of the SETTINGS frame that begins a server's HTTP/2 (not an ACK,
 * stream 0, entries of 6 bytes), else the stream is not followed. */
static void h2_sniffed(struct wire_srv *w)
{
	const unsigned char *h = (const unsigned char *)w->line;
	uint32_t len = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
	uint32_t stream = ((uint32_t)h[5] << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8]) & 0x7fffffffu;
	w->line_len = 0;
	if (h[3] != 4 || (h[4] & 1) || stream || len % 6 || len > 16384) {
		w->mode = SM_PASS;
		return;
	}
	h2_start(w);
	if (w->mode == SM_H2) {
		struct h2_event he;
		h2_feed(&w->ws.h2, h, 9, &he); /* a SETTINGS header alone: no event */
	}
}

void wire_srv_h2_want(struct wire_srv *w, unsigned stream)
{
	if (!stream)
		return;
	struct srv_h2_stream *s = &w->h2s[0];
	for (size_t i = 0; i < SRV_H2_STREAMS; i++) {
		if (w->h2s[i].id == stream)
			return;
		if (!w->h2s[i].id) {
			if (s->id)
				s = &w->h2s[i];
		} else if (s->id && w->h2s[i].order < s->order) {
			s = &w->h2s[i];
		}
	}
	memset(s, 0, sizeof *s);
	s->id = stream;
	s->order = ++w->h2_order;
	if (w->h2_on)
		h2_want_data(&w->ws.h2, stream);
}

static struct srv_h2_stream *h2_slot(struct wire_srv *w, uint32_t stream)
{
	if (!stream)
		return NULL;
	for (size_t i = 0; i < SRV_H2_STREAMS; i++)
		if (w->h2s[i].id == stream)
			return &w->h2s[i];
	return NULL;
}

/* The stream's response is complete (or reset: status 0): its event, and
 * the slot is free. */
static void h2_done(struct wire_srv *w, struct srv_h2_stream *s, struct srv_event *ev)
{
	ev->kind = SRV_EV_HTTP;
	ev->stream = s->id;
	ev->status = s->status;
	ev->compressed = s->compressed;
	if (!s->compressed)
		error_body(w->body + (size_t)(s - w->h2s) * SRV_H2_BODY, s->body_len, ev);
	memset(s, 0, sizeof *s);
}

static void h2_field(struct srv_h2_stream *s, const struct h2_event *he)
{
	const char *n = (const char *)he->name, *v = (const char *)he->value;
	size_t nn = he->namelen, vn = he->valuelen;
	if (s->final)
		return; /* trailers */
	if (ieq(n, nn, ":status")) {
		size_t used;
		int st = leading_int(v, vn, &used);
		s->status = used == vn && vn == 3 ? st : 0;
	} else if (ieq(n, nn, "content-encoding")) {
		if (vn && !ieq(v, vn, "identity"))
			s->compressed = 1;
	}
}

/* A header block's last fields come with no more bytes (H2S_BLOCK_END). */
static int h2_more(const struct wire_srv *w)
{
	return w->mode == SM_H2 && w->ws.h2.st == H2S_BLOCK_END;
}

static size_t h2_step(struct wire_srv *w, const unsigned char *p, size_t n, struct srv_event *ev)
{
	struct h2_event he;
	ssize_t r = h2_feed(&w->ws.h2, p, n, &he);
	if (r < 0) {
		w->mode = SM_PASS; /* not HTTP/2 we can follow */
		return n;
	}
	struct srv_h2_stream *s = he.push ? NULL : h2_slot(w, he.stream);
	if (!s)
		return (size_t)r;
	switch (he.kind) {
	case H2_EV_FIELD:
		h2_field(s, &he);
		break;
	case H2_EV_HEADERS_END:
		if (!s->final) {
			if (s->status >= 100 && s->status < 200)
				s->status = 0; /* interim: the final response follows */
			else
				s->final = 1;
		}
		if (he.end_stream && s->final)
			h2_done(w, s, ev);
		break;
	case H2_EV_DATA:
		if (!s->final)
			break;
		if (!s->compressed && s->body_len < SRV_H2_BODY) {
			size_t k = SRV_H2_BODY - s->body_len;
			if (k > he.valuelen)
				k = he.valuelen;
			memcpy(w->body + (size_t)(s - w->h2s) * SRV_H2_BODY + s->body_len, he.value, k);
			s->body_len += k;
		}
		if (he.end_stream)
			h2_done(w, s, ev);
		break;
	case H2_EV_RST_STREAM:
		s->status = 0; /* no response: no verdict on the request */
		h2_done(w, s, ev);
		break;
	default:
		break;
	}
	return (size_t)r;
}

/* ---- WebSocket ---------------------------------------------------------------------- */

static size_t ws_step(struct wire_srv *w, const unsigned char *p, size_t n, struct srv_event *ev)
{
	struct wire_event we;
	ssize_t r = wire_feed(&w->ws, p, n, &we);
	if (we.kind == WIRE_EV_MESSAGE) {
		wire_srv_message(we.token, we.token_len, ev);
		return r > 0 ? (size_t)r : 0;
	}
	if (wire_passthrough(&w->ws))
		w->mode = SM_PASS;
	return n;
}

/* ---- the feed --------------------------------------------------------------------------- */

size_t wire_srv_feed(struct wire_srv *w, const void *buf, size_t len, struct srv_event *ev)
{
	const unsigned char *p = buf;
	size_t off = 0;
	memset(ev, 0, sizeof *ev);
	while (off < len || h2_more(w)) {
		size_t used;
		switch (w->mode) {
		case SM_PASS:
			return len;
		case SM_DETECT: {
			unsigned char c = p[off];
			if (w->line_len || c == 0) {
				/* HTTP/2: the server's preface is a SETTINGS frame, whose
				 * length (a multiple of 6, small) starts with a zero byte;
				 * its 9-byte header decides */
				size_t k = 9 - w->line_len;
				if (k > len - off)
					k = len - off;
				memcpy(w->line + w->line_len, p + off, k);
				w->line_len += k;
				off += k;
				if (w->line_len == 9)
					h2_sniffed(w);
			} else if (c >= 'A' && c <= 'Z') {
				w->mode = SM_HTTP;
			} else if (ws_first_ok(c, 0)) {
				/* a stream that starts after the handshake (a capture, or a
				 * client whose upgrade the shim did not see): server frames,
				 * compressed ones included (RSV1: permessage-deflate was
				 * agreed), as the client direction's detection takes them */
				wire_start_ws(&w->ws, WS_SERVER, WIRE_WS_DEFLATE);
				w->mode = SM_WS;
			} else {
				w->mode = SM_PASS;
			}
			continue;
		}
		case SM_HTTP:
			used = http_step(w, p + off, len - off, ev);
			break;
		case SM_WS:
			used = ws_step(w, p + off, len - off, ev);
			break;
		case SM_H2:
			used = h2_step(w, p + off, len - off, ev);
			break;
		default:
			return len;
		}
		off += used;
		if (ev->kind != SRV_EV_NONE)
			return off;
	}
	return off;
}
