/* The wire decoder: detection, HTTP/1.x and SIP requests, unknown text
 * streams, and the events. WebSocket frames are in wire_ws.c, the scanners in
 * wire_scan.c; bounds are documented in wire_int.h. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "decode/product.h"
#include "decode/text.h"
#include "decode/wire_int.h"

size_t wire_sizeof(void)
{
	return sizeof(struct wire);
}

static void http_request_reset(struct wire *w)
{
	w->hs = HS_REQLINE;
	w->line_len = 0;
	w->line_over = 0;
	w->fold_pending = 0;
	w->fold_len = 0;
	w->is_sip = w->is_get = w->is_connect = w->is_h2 = 0;
	w->sip_msg = NULL;
	w->path_hint = HINT_NONE;
	w->upgrade_ws = 0;
	w->ext = 0;
	w->chunked = w->has_cl = w->body_scan = w->body_trunc = w->ctype_seen = 0;
	w->content_length = w->remaining = 0;
	w->body_len = 0;
	w->small_len = 0;
}

void wire_init(struct wire *w, const struct wire_config *cfg, int tls)
{
	/* Only the header part is cleared: the buffers need no initialisation and
	 * clearing them would touch ~130 KiB of memory for every connection. */
	memset(w, 0, offsetof(struct wire, job) + sizeof w->job);
	w->cfg = cfg;
	w->tls = tls;
	w->mode = WM_DETECT;
	http_request_reset(w);
}

void wire_release(struct wire *w)
{
	wire_ws_release(w);
	w->mode = WM_PASS;
	w->wf.open = 0;
}

unsigned wire_ws_offer(const struct wire *w)
{
	return w->ws_offer;
}

void wire_start_ws(struct wire *w, enum ws_dir dir, unsigned ext)
{
	w->ws_hint = w->host_hint;
	wire_ws_start(w, dir, (ext & (dir == WS_SERVER ? WIRE_WS_SERVER_NO_CTX : WIRE_WS_CLIENT_NO_CTX)) != 0);
	w->wf.seen = 1; /* no going back to HTTP */
	w->wf.open = 1;
}

static void set_host(struct wire *w, const char *host, size_t n, int from_sni)
{
	size_t k = 0;
	while (n && (host[n - 1] == '.' || host[n - 1] == ' '))
		n--;
	for (size_t i = 0; i < n && k + 1 < sizeof w->host; i++)
		w->host[k++] = (char)tolower((unsigned char)host[i]);
	w->host[k] = 0;
	w->host_from_sni = from_sni;
	wire_host_classify(w);
}

void wire_set_host(struct wire *w, const char *host, size_t n)
{
	set_host(w, host, n, 1);
}

void wire_set_port(struct wire *w, unsigned short port)
{
	w->port = port;
	wire_host_classify(w);
}

const char *wire_host(const struct wire *w)
{
	return w->host;
}

int wire_request_seq(const struct wire *w)
{
	return w->answered;
}

int wire_passthrough(const struct wire *w)
{
	return w->mode == WM_PASS;
}

static void set_err(struct wire *w, enum wire_status e)
{
	if (!w->pending_err)
		w->pending_err = e;
}

/* ---- events ------------------------------------------------------------------ */

static void fill_event(const struct wire *w, struct wire_event *ev, enum channel ch,
		       const char *message, const char *where, const char *tok, size_t n)
{
	ev->kind = WIRE_EV_TOKEN;
	ev->channel = ch;
	struct product_ask ask = {.host = w->host_product, .channel = ch, .session = 1};
	ev->product = product_choose(&ask, PRODUCT_GRANTS_UNREAD, NULL);
	ev->host_product = w->host_product;
	ev->message = message;
	ev->where = where;
	ev->token = tok;
	ev->token_len = n;
	memcpy(ev->region, w->region, sizeof ev->region);
	memcpy(ev->host, w->host, sizeof ev->host);
}

static void job_token(struct wire *w, size_t off, size_t n, enum channel ch, const char *message,
		      const char *where)
{
	struct wire_job *j = &w->job;
	j->have_tok = 1;
	j->tok_off = j->skip_off = off;
	j->tok_len = j->skip_len = n;
	j->channel = ch;
	j->message = message;
	j->where = where;
}

/* Produces the job's next event; 0 (and the job ends) when there is none. */
static int job_next(struct wire *w, struct wire_event *ev)
{
	struct wire_job *j = &w->job;
	if (j->whole) {
		/* the server's message, whole: no token scan */
		memset(ev, 0, sizeof *ev);
		ev->kind = WIRE_EV_MESSAGE;
		ev->channel = CHANNEL_UNKNOWN;
		ev->message = "message";
		ev->where = "WebSocket server message";
		ev->token = w->buf;
		ev->token_len = j->len;
		j->active = 0;
		return 1;
	}
	if (j->stage == 0) {
		j->stage = 1;
		if (j->have_tok) {
			fill_event(w, ev, j->channel, j->message, j->where, w->buf + j->tok_off,
				   j->tok_len);
			memcpy(ev->msg_id, j->id, sizeof ev->msg_id);
			return 1;
		}
	}
	size_t off, n;
	while (wire_find_jwt(w->buf, j->len, j->pos, j->truncated, &off, &n)) {
		j->pos = off + n;
		if (j->have_tok && off < j->skip_off + j->skip_len && j->skip_off < off + n)
			continue;
		fill_event(w, ev, CHANNEL_UNKNOWN, j->fb_message, j->fb_where, w->buf + off, n);
		return 1;
	}
	j->active = 0;
	return 0;
}

/* ---- unknown text streams ------------------------------------------------------ */

static int is_ctrl(unsigned char c)
{
	return c < 0x20 ? !(c == '\t' || c == '\n' || c == '\r' || c == '\f') : c == 0x7f;
}

static void raw_start(struct wire *w, unsigned char prev)
{
	w->mode = WM_RAW;
	w->raw_cand = 0;
	w->raw_prev = prev;
}

/* A streaming JWT finder over an unknown text stream: candidates are kept in
 * buf (at most TOKEN_MAX_LEN bytes); the rest is looked at with memchr. */
/* Adds p[0..n) to the binary sniff; returns the index of the byte at which
 * the stream is judged binary, or n. */
static size_t sniff(struct wire *w, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n && w->raw_seen < WIRE_SNIFF; i++) {
		w->raw_seen++;
		w->raw_ctrl += is_ctrl(p[i]);
		/* text protocols have next to no control characters */
		if (w->raw_ctrl >= 8 && w->raw_ctrl * 32 > w->raw_seen)
			return i;
	}
	return n;
}

static size_t raw_scan(struct wire *w, const unsigned char *p, size_t n, struct wire_event *ev);

static size_t raw_step(struct wire *w, const unsigned char *p, size_t n, struct wire_event *ev)
{
	if (w->raw_seen >= WIRE_SNIFF)
		return raw_scan(w, p, n, ev);
	/* judge and scan in step, so that any split of the input gives the same events */
	size_t seen = w->raw_seen, ctrl = w->raw_ctrl;
	size_t t = sniff(w, p, n);
	size_t lim = t < n ? t : n;
	size_t used = raw_scan(w, p, lim, ev);
	if (ev->kind != WIRE_EV_NONE) {
		w->raw_seen = seen;
		w->raw_ctrl = ctrl;
		sniff(w, p, used);
		return used;
	}
	if (t < n) {
		w->mode = WM_PASS; /* binary: no text protocol we could scan */
		return n;
	}
	return used;
}

static size_t raw_scan(struct wire *w, const unsigned char *p, size_t n, struct wire_event *ev)
{
	size_t i = 0;
	while (i < n) {
		if (w->raw_cand) {
			size_t s = i;
			while (i < n && wire_is_jwt_char(p[i]))
				i++;
			size_t k = i - s;
			if (!w->raw_cand_over && w->raw_cand_len + k <= TOKEN_MAX_LEN) {
				memcpy(w->buf + w->raw_cand_len, p + s, k);
				w->raw_cand_len += k;
			} else {
				w->raw_cand_over = 1;
			}
			if (i == n)
				break;
			w->raw_cand = 0;
			if (!w->raw_cand_over && w->raw_cand_len >= 3 && !memcmp(w->buf, "eyJ", 3) &&
			    wire_jwt_is_twilio(w->buf, w->raw_cand_len)) {
				fill_event(w, ev, CHANNEL_UNKNOWN, "text", "JWT in the byte stream", w->buf,
					   w->raw_cand_len);
				w->raw_prev = i > 0 ? p[i - 1] : (unsigned char)w->buf[w->raw_cand_len - 1];
				return i;
			}
			continue;
		}
		const unsigned char *q = memchr(p + i, 'e', n - i);
		if (!q) {
			i = n;
			break;
		}
		size_t j = (size_t)(q - p);
		unsigned char pc = j > 0 ? p[j - 1] : w->raw_prev;
		if (wire_is_jwt_char(pc) || (j + 1 < n && p[j + 1] != 'y') ||
		    (j + 2 < n && p[j + 2] != 'J')) {
			i = j + 1;
			continue;
		}
		w->raw_cand = 1;
		w->raw_cand_over = 0;
		w->raw_cand_len = 0;
		i = j;
	}
	if (n)
		w->raw_prev = p[n - 1];
	return n;
}

/* ---- HTTP and SIP ------------------------------------------------------------------ */

static const char *const sip_methods[][2] = {
	{"REGISTER", "register"}, {"INVITE", "invite"},     {"ACK", "ack"},
	{"BYE", "bye"},           {"CANCEL", "cancel"},     {"OPTIONS", "options"},
	{"SUBSCRIBE", "subscribe"}, {"NOTIFY", "notify"},   {"REFER", "refer"},
	{"MESSAGE", "message"},   {"INFO", "info"},         {"PRACK", "prack"},
	{"UPDATE", "update"},     {"PUBLISH", "publish"},
};

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

/* Whether the structured place should be trusted without the cty check: the
 * host is Twilio's or named by a rule. */
static int host_is_twilio(const struct wire *w)
{
	size_t n = strlen(w->host);
	return w->host_hint != HINT_NONE || w->host_product != PRODUCT_UNKNOWN ||
	       (n >= 11 && !strcmp(w->host + n - 11, ".twilio.com"));
}

static enum wire_hint path_hint(const char *p, size_t n)
{
	const char *q = memchr(p, '?', n);
	if (q)
		n = (size_t)(q - p);
	if (n >= 13 && !memcmp(p + n - 13, "/v3/wsconnect", 13))
		return HINT_TWILSOCK;
	if (n >= 10 && !memcmp(p + n - 10, "/signaling", 10))
		return HINT_VIDEO;
	if (n >= 7 && !memcmp(p + n - 7, "/signal", 7))
		return HINT_VOICE;
	return HINT_NONE;
}

/* Parses the request line in buf[0..n). Returns 0 when it is not one. */
static int request_line(struct wire *w, size_t n)
{
	char *b = w->buf;
	size_t m = 0;
	if (n > 8 && !memcmp(b, "SIP/2.0 ", 8)) {
		/* a SIP response sent by the client (to the server's request) */
		w->requests++;
		w->is_sip = 1;
		w->sip_msg = "response";
		return 1;
	}
	while (m < n && m < 32 && ((b[m] >= 'A' && b[m] <= 'Z') || b[m] == '-' || b[m] == '_'))
		m++;
	if (m == 0 || m >= n || b[m] != ' ')
		return 0;
	size_t t0 = m + 1, t1 = t0;
	while (t1 < n && b[t1] != ' ')
		t1++;
	if (t1 == t0 || t1 >= n)
		return 0;
	const char *ver = b + t1 + 1;
	size_t vn = n - t1 - 1;
	if (vn == 7 && !memcmp(ver, "SIP/2.0", 7)) {
		w->is_sip = 1;
		w->sip_msg = "request";
		for (size_t i = 0; i < sizeof sip_methods / sizeof sip_methods[0]; i++)
			if (ieq(b, m, sip_methods[i][0]))
				w->sip_msg = sip_methods[i][1];
	} else if (vn == 8 && !memcmp(ver, "HTTP/2.0", 8) && ieq(b, m, "PRI")) {
		w->is_h2 = 1;
	} else if (!(vn == 8 && !memcmp(ver, "HTTP/1.", 7) && ver[7] >= '0' && ver[7] <= '9')) {
		return 0;
	}
	w->requests++;
	if (!(w->is_sip && ieq(b, m, "ACK")))
		w->answered++;
	w->is_get = ieq(b, m, "GET");
	w->is_connect = ieq(b, m, "CONNECT");
	if (w->is_sip)
		return 1;
	w->path_hint = path_hint(b + t0, t1 - t0);
	/* token= in the query */
	const char *q = memchr(b + t0, '?', t1 - t0);
	if (!q)
		return 1;
	size_t i = (size_t)(q - b) + 1;
	while (i < t1) {
		size_t e = i;
		while (e < t1 && b[e] != '&' && b[e] != '#')
			e++;
		if (e - i > 6 && !memcmp(b + i, "token=", 6)) {
			size_t vlen = text_url_decode(b + i + 6, e - i - 6, 1);
			if (vlen && (host_is_twilio(w) || wire_jwt_is_twilio(b + i + 6, vlen))) {
				job_token(w, i + 6, vlen, CHANNEL_HTTP, "query", "token= query parameter");
				w->job.skip_off = i + 6;
				w->job.skip_len = e - i - 6;
			}
			break;
		}
		if (e < t1 && b[e] == '#')
			break;
		i = e + 1;
	}
	return 1;
}

static int parse_u64(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 19)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

static void header_line(struct wire *w, size_t n)
{
	char *b = w->buf;
	char *colon = memchr(b, ':', n);
	if (!colon || colon == b || b[0] == ' ' || b[0] == '\t')
		return;
	size_t nn = (size_t)(colon - b);
	while (nn && (b[nn - 1] == ' ' || b[nn - 1] == '\t'))
		nn--;
	size_t v0 = (size_t)(colon - b) + 1, v1 = n;
	while (v0 < v1 && (b[v0] == ' ' || b[v0] == '\t'))
		v0++;
	while (v1 > v0 && (b[v1 - 1] == ' ' || b[v1 - 1] == '\t'))
		v1--;
	const char *v = b + v0;
	size_t vn = v1 - v0;
	enum channel ch = w->is_sip ? CHANNEL_SIP : CHANNEL_HTTP;
	const char *msg = w->is_sip ? w->sip_msg : "header";

	if (ieq(b, nn, "X-Twilio-Token")) {
		job_token(w, v0, vn, ch, msg, "X-Twilio-Token header");
	} else if (ieq(b, nn, "X-Twilio-AccessToken")) {
		job_token(w, v0, vn, ch, msg, "X-Twilio-AccessToken header");
	} else if (ieq(b, nn, "Authorization")) {
		if (vn > 7 && !strncasecmp(v, "Bearer ", 7)) {
			size_t s = 7;
			while (s < vn && v[s] == ' ')
				s++;
			if ((host_is_twilio(w) && wire_jwt_shaped(v + s, vn - s)) ||
			    wire_jwt_is_twilio(v + s, vn - s))
				job_token(w, v0 + s, vn - s, ch, msg, "Authorization: Bearer header");
		}
	} else if (ieq(b, nn, "Host")) {
		if (!w->host_from_sni && vn) {
			size_t hn = vn;
			if (v[0] == '[') {
				const char *rb = memchr(v, ']', vn);
				hn = rb ? (size_t)(rb - v) + 1 : vn;
			} else {
				const char *c = memchr(v, ':', vn);
				if (c)
					hn = (size_t)(c - v);
			}
			if (hn < vn && v[hn] == ':' && !w->port) {
				uint64_t port;
				if (!parse_u64(v + hn + 1, vn - hn - 1, &port) && port > 0 && port < 65536)
					w->port = (unsigned short)port;
			}
			set_host(w, v, hn, 0);
		}
	} else if (ieq(b, nn, "Content-Length") || (w->is_sip && ieq(b, nn, "l"))) {
		uint64_t cl;
		if (!parse_u64(v, vn, &cl)) {
			w->has_cl = 1;
			w->content_length = cl;
		}
	} else if (ieq(b, nn, "Transfer-Encoding")) {
		if (!w->is_sip && icontains(v, vn, "chunked"))
			w->chunked = 1;
	} else if (ieq(b, nn, "Content-Type") || (w->is_sip && ieq(b, nn, "c"))) {
		w->ctype_seen = 1;
		w->body_scan = !w->is_sip &&
			       (icontains(v, vn, "json") || icontains(v, vn, "text/") ||
				icontains(v, vn, "x-www-form-urlencoded"));
	} else if (ieq(b, nn, "Upgrade")) {
		if (icontains(v, vn, "websocket"))
			w->upgrade_ws = 1;
	} else if (ieq(b, nn, "Sec-WebSocket-Extensions")) {
		if (icontains(v, vn, "permessage-deflate"))
			w->ext |= WIRE_WS_DEFLATE;
		if (icontains(v, vn, "client_no_context_takeover"))
			w->ext |= WIRE_WS_CLIENT_NO_CTX;
		if (icontains(v, vn, "server_no_context_takeover"))
			w->ext |= WIRE_WS_SERVER_NO_CTX;
	}
}

/* Reads the pending (unfolded) header line buf[0..fold_len). */
static void header_flush(struct wire *w)
{
	size_t ln = w->fold_len;
	w->fold_pending = 0;
	w->fold_len = 0;
	w->line_len = 0;
	wire_job_start(w, ln, 0, "header", "JWT in a header");
	header_line(w, ln);
}

/* The empty line after the headers. */
static void headers_end(struct wire *w)
{
	if (w->is_h2) {
		w->mode = WM_PASS; /* HTTP/2: HPACK-compressed headers, out of reach */
		return;
	}
	if (w->is_connect) {
		/* a tunnel: whatever comes next starts afresh */
		http_request_reset(w);
		w->mode = WM_DETECT;
		return;
	}
	if (w->is_get && w->upgrade_ws && !w->is_sip) {
		w->ws_hint = w->path_hint != HINT_NONE ? w->path_hint : w->host_hint;
		/* a client offering client_no_context_takeover does without it
		 * whatever the server answers (RFC 7692 7.1.1.2) */
		w->ws_offer = w->ext;
		http_request_reset(w);
		wire_ws_start(w, WS_CLIENT, (w->ws_offer & WIRE_WS_CLIENT_NO_CTX) != 0);
		return;
	}
	int scan = !w->is_sip && (w->body_scan || !w->ctype_seen);
	if (w->chunked && !w->is_sip) {
		http_request_reset(w);
		w->body_scan = scan;
		w->chunked = 1;
		w->hs = HS_CHUNK_SIZE;
	} else if (w->has_cl && w->content_length > 0) {
		uint64_t cl = w->content_length;
		http_request_reset(w);
		w->body_scan = scan;
		w->remaining = cl;
		w->hs = HS_BODY;
	} else {
		http_request_reset(w);
	}
}

/* Takes bytes of a line into buf (up to WIRE_LINE_MAX). Returns the bytes
 * used; *done when the line ended with '\n'. */
static size_t line_take(struct wire *w, const unsigned char *p, size_t n, int *done)
{
	const unsigned char *nl = memchr(p, '\n', n);
	size_t take = nl ? (size_t)(nl - p) + 1 : n;
	if (!w->line_over) {
		if (w->line_len + take <= WIRE_LINE_MAX) {
			memcpy(w->buf + w->line_len, p, take);
			w->line_len += take;
		} else {
			w->line_over = 1;
		}
	}
	*done = nl != NULL;
	return take;
}

/* A small line (chunk size, trailer): only its start is kept. */
static size_t small_take(struct wire *w, const unsigned char *p, size_t n, int *done)
{
	const unsigned char *nl = memchr(p, '\n', n);
	size_t take = nl ? (size_t)(nl - p) + 1 : n;
	size_t room = sizeof w->small - w->small_len;
	size_t k = take < room ? take : room;
	memcpy(w->small + w->small_len, p, k);
	w->small_len += k;
	*done = nl != NULL;
	return take;
}

static void body_data(struct wire *w, const unsigned char *p, size_t n)
{
	if (!w->body_scan)
		return;
	size_t room = WIRE_BODY_SCAN - w->body_len;
	if (n > room) {
		w->body_trunc = 1;
		n = room;
	}
	memcpy(w->buf + w->body_len, p, n);
	w->body_len += n;
}

static void body_end(struct wire *w)
{
	if (w->body_scan && w->body_len)
		wire_job_start(w, w->body_len, w->body_trunc, "body", "JWT in an HTTP body");
	http_request_reset(w);
}

static size_t http_step(struct wire *w, const unsigned char *p, size_t n)
{
	int done = 0;
	size_t used;
	switch (w->hs) {
	case HS_REQLINE:
	case HS_HEADERS: {
		if (w->fold_pending && w->line_len == w->fold_len) {
			/* the first byte after a header line: SP or HT continues
			 * it (the fold's CRLF dropped, its whitespace kept as the
			 * separator), anything else ends it */
			if (p[0] == ' ' || p[0] == '\t') {
				w->fold_pending = 0;
			} else {
				header_flush(w);
				return 0; /* its job runs before buf is reused */
			}
		}
		used = line_take(w, p, n, &done);
		if (!done)
			return used;
		if (w->line_over) {
			set_err(w, WIRE_E_LIMIT);
			w->line_over = 0;
			w->line_len = 0;
			w->fold_pending = 0;
			w->fold_len = 0;
			if (w->hs == HS_REQLINE)
				w->hs = HS_HEADERS; /* the request line is lost; its headers follow */
			return used;
		}
		size_t len = w->line_len, ln = len - 1;
		if (ln && w->buf[ln - 1] == '\r')
			ln--;
		w->line_len = 0;
		if (w->hs == HS_REQLINE) {
			if (ln == 0)
				return used; /* blank lines between requests */
			wire_job_start(w, ln, 0, "text", "JWT in the request line");
			if (request_line(w, ln)) {
				w->job.fb_message = "query";
				w->hs = HS_HEADERS;
			} else {
				/* not HTTP or SIP: an unknown text protocol from here on */
				raw_start(w, '\n');
			}
			return used;
		}
		if (ln == 0) {
			headers_end(w);
			return used;
		}
		/* read when the next line shows it is not folded */
		w->line_len = ln;
		w->fold_len = ln;
		w->fold_pending = 1;
		return used;
	}
	case HS_BODY:
	case HS_CHUNK_DATA: {
		used = n < w->remaining ? n : (size_t)w->remaining;
		body_data(w, p, used);
		w->remaining -= used;
		if (w->remaining == 0) {
			if (w->hs == HS_BODY) {
				body_end(w);
			} else {
				w->hs = HS_CHUNK_CRLF;
				w->small_len = 0;
			}
		}
		return used;
	}
	case HS_CHUNK_CRLF:
	case HS_CHUNK_SIZE:
	case HS_TRAILERS: {
		used = small_take(w, p, n, &done);
		if (!done)
			return used;
		size_t ln = w->small_len;
		if (ln && w->small[ln - 1] == '\n')
			ln--;
		if (ln && w->small[ln - 1] == '\r')
			ln--;
		w->small_len = 0;
		if (w->hs == HS_CHUNK_CRLF) {
			if (ln != 0)
				goto bad_chunk;
			w->hs = HS_CHUNK_SIZE;
			return used;
		}
		if (w->hs == HS_TRAILERS) {
			if (ln == 0)
				body_end(w);
			return used;
		}
		/* chunk-size [; ext] */
		uint64_t size = 0;
		size_t i = 0;
		while (i < ln && text_hexval(w->small[i]) >= 0 && i < 16)
			size = size * 16 + (uint64_t)text_hexval(w->small[i++]);
		if (i == 0 || (i < ln && w->small[i] != ';' && w->small[i] != ' ' && w->small[i] != '\t'))
			goto bad_chunk;
		if (size == 0) {
			w->hs = HS_TRAILERS;
		} else {
			w->remaining = size;
			w->hs = HS_CHUNK_DATA;
		}
		return used;
	bad_chunk:
		/* lost the chunk framing: treat the rest as an unknown stream */
		set_err(w, WIRE_E_PROTOCOL);
		if (w->body_scan && w->body_len)
			wire_job_start(w, w->body_len, 1, "body", "JWT in an HTTP body");
		http_request_reset(w);
		raw_start(w, '\n');
		return used;
	}
	}
	return n;
}

/* ---- detection and the feed loop ------------------------------------------------------ */

static void detect(struct wire *w, const unsigned char *p)
{
	unsigned char c = p[0];
	if (c == 0x16) {
		w->mode = WM_PASS; /* a TLS record: TLS inside TLS, or ciphertext */
	} else if (c >= 'A' && c <= 'Z') {
		http_request_reset(w);
		w->mode = WM_HTTP;
	} else if (ws_first_ok(c, 0)) {
		/* a frame that starts a message or a control frame: a capture begun after the handshake */
		w->ws_hint = w->host_hint;
		wire_ws_start(w, WS_CLIENT, 0);
		w->wf.seen = 1; /* no going back to HTTP */
	} else {
		raw_start(w, '\n');
	}
}

/* At the end of the stream, what a delimiter would have closed is closed by
 * feeding one: the line ending of a pending header or request line (and
 * the blank line after it), the byte after a JWT candidate of an unknown
 * text stream; a body cut short is scanned as far as it came. */
int wire_end(struct wire *w, struct wire_event *ev)
{
	memset(ev, 0, sizeof *ev);
	if (!w->ended) {
		w->ended = 1;
		w->end_left = 0;
		if (w->mode == WM_RAW && w->raw_cand) {
			w->end_p = "\n";
			w->end_left = 1;
		} else if (w->mode == WM_HTTP && (w->hs == HS_REQLINE || w->hs == HS_HEADERS) &&
			   (w->line_len || w->fold_pending)) {
			w->end_p = "\r\n\r\n";
			w->end_left = 4;
		} else if (w->mode == WM_HTTP && (w->hs == HS_BODY || w->hs == HS_CHUNK_DATA) && w->body_scan &&
			   w->body_len && !w->job.active) {
			wire_job_start(w, w->body_len, 1, "body", "JWT in an HTTP body");
			http_request_reset(w);
		}
	}
	if (w->job.active && job_next(w, ev))
		return 1;
	while (w->end_left) {
		ssize_t r = wire_feed(w, w->end_p, w->end_left, ev);
		if (r < 0) {
			w->end_left = 0;
			break;
		}
		w->end_p += r;
		w->end_left -= (size_t)r;
		if (ev->kind != WIRE_EV_NONE)
			return 1;
	}
	return 0;
}

ssize_t wire_feed(struct wire *w, const void *buf, size_t len, struct wire_event *ev)
{
	const unsigned char *p = buf;
	size_t off = 0;
	memset(ev, 0, sizeof *ev);
	w->wf.open = 0;
	if (w->job.active && job_next(w, ev))
		return 0;
	while (off < len) {
		size_t used = 0;
		switch (w->mode) {
		case WM_PASS:
			used = len - off;
			break;
		case WM_DETECT:
			detect(w, p + off);
			continue;
		case WM_HTTP:
			used = http_step(w, p + off, len - off);
			break;
		case WM_WS:
			used = wire_ws_step(w, p + off, len - off);
			break;
		case WM_RAW:
			used = raw_step(w, p + off, len - off, ev);
			if (ev->kind != WIRE_EV_NONE)
				return (ssize_t)(off + used);
			break;
		}
		off += used;
		if (w->job.active && job_next(w, ev))
			return (ssize_t)off;
	}
	if (w->pending_err) {
		int e = w->pending_err;
		w->pending_err = 0;
		w->wf.open = w->mode == WM_WS;
		return e;
	}
	/* ws_frame_take may go on until the next wire_feed */
	w->wf.open = w->mode == WM_WS && !w->job.active;
	return (ssize_t)off;
}
