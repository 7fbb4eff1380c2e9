/* The wire decoder, table-driven: every case is fed whole, byte by byte and
 * at random split points (fixed seed) and must give the same events; every
 * strict prefix gives a prefix of them (and, when the last token's unit ends
 * the input, strictly fewer). */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/wire_testlib.h"

enum { T_CHAT, T_CHAT2, T_VOICE, T_VIDEO, T_SYNC, T_NOCTY, T__COUNT };

static char toks[T__COUNT][4096];
static size_t tok_len[T__COUNT];

static void make_tokens(void)
{
	if (tok_len[0])
		return;
	int64_t iat = WT_NOW - 60, exp = WT_NOW + 3600;
	tok_len[T_CHAT] = wt_token(toks[T_CHAT], sizeof toks[0], "alice", WT_CHAT_GRANT, iat, exp);
	tok_len[T_CHAT2] = wt_token(toks[T_CHAT2], sizeof toks[0], "bob", WT_CHAT_GRANT, iat, exp);
	tok_len[T_VOICE] = wt_token(toks[T_VOICE], sizeof toks[0], "alice_1", WT_VOICE_GRANT, iat, exp);
	tok_len[T_VIDEO] = wt_token(toks[T_VIDEO], sizeof toks[0], "carol", WT_VIDEO_GRANT, iat, exp);
	tok_len[T_SYNC] = wt_token(toks[T_SYNC], sizeof toks[0], "dave", WT_SYNC_GRANT, iat, exp);
	tok_len[T_NOCTY] = wt_sign(toks[T_NOCTY], sizeof toks[0], "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
				   "{\"sub\":\"someone\",\"exp\":1795386600}", "other-secret");
}

#define TK(i) toks[i]

/* ---- stream builders ----------------------------------------------------------- */

static void ws_upgrade(struct wt_buf *b, const char *host, const char *path, const char *ext)
{
	wt_printf(b,
		  "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
		  "%s%s%s\r\n",
		  path, host, ext ? "Sec-WebSocket-Extensions: " : "", ext ? ext : "", ext ? "\r\n" : "");
}

static void twilsock(struct wt_buf *out, const char *method, const char *tok, const char *payload)
{
	char hdr[8192];
	snprintf(hdr, sizeof hdr,
		 "{\"id\":\"TM0123\",\"method\":\"%s\",\"token\":\"%s\",\"continuation_token\":null,"
		 "\"metadata\":{\"env\":\"test\"},\"registrations\":[],\"capabilities\":[\"client_update\"],"
		 "\"payload_size\":%zu}",
		 method, tok, strlen(payload));
	wt_printf(out, "TWILSOCK V3.0 %zu\r\n%s\r\n%s", strlen(hdr), hdr, payload);
}

static void twilsock_plain(struct wt_buf *out, const char *payload)
{
	char hdr[256];
	snprintf(hdr, sizeof hdr, "{\"id\":\"TM9\",\"method\":\"message\",\"payload_size\":%zu}",
		 strlen(payload));
	wt_printf(out, "TWILSOCK V3.0 %zu\r\n%s\r\n%s", strlen(hdr), hdr, payload);
}

static void b_http_header(struct wt_buf *b)
{
	wt_printf(b, "GET /v1/configuration HTTP/1.1\r\nHost: eventgw.twilio.com\r\nAccept: */*\r\n"
		     "X-Twilio-Token: %s\r\n\r\n", TK(T_VOICE));
}

static void b_http_keepalive_bodies(struct wt_buf *b)
{
	/* a binary body holding a token-looking header is skipped by length */
	char body[600];
	int n = snprintf(body, sizeof body, "\x01\x02X-Twilio-Token: %s\r\n", TK(T_CHAT2));
	wt_printf(b, "POST /upload HTTP/1.1\r\nHost: media.twilio.com\r\n"
		     "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", n);
	wt_put(b, body, (size_t)n);
	wt_printf(b, "GET /next HTTP/1.1\r\nHost: media.twilio.com\r\nAuthorization: Bearer %s\r\n\r\n",
		  TK(T_CHAT));
}

static void b_http_chunked_query(struct wt_buf *b)
{
	wt_printf(b, "POST /x HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: chunked\r\n"
		     "Content-Type: image/png\r\n\r\n");
	static const char fake[] = "X-Twilio-Token: not-a-header";
	wt_printf(b, "%zx;ext=1\r\n%s\r\n", strlen(fake), fake);
	wt_printf(b, "%zx\r\n%s\r\n", tok_len[T_CHAT2], TK(T_CHAT2));
	wt_printf(b, "0\r\nX-Trailer: 1\r\n\r\n");
	/* the token URL-encoded in the query: '.' as %2E */
	char enc[8192];
	size_t k = 0;
	for (size_t i = 0; i < tok_len[T_CHAT]; i++) {
		if (TK(T_CHAT)[i] == '.')
			k += (size_t)snprintf(enc + k, sizeof enc - k, "%%2E");
		else
			enc[k++] = TK(T_CHAT)[i];
	}
	enc[k] = 0;
	wt_printf(b, "GET /v1/x?a=1&token=%s&b=2 HTTP/1.1\r\nHost: api.example.com\r\n\r\n", enc);
}

static void b_http_json_body(struct wt_buf *b)
{
	char body[4096];
	int n = snprintf(body, sizeof body, "{\"identity\":\"alice\",\"token\":\"%s\"}", TK(T_SYNC));
	wt_printf(b, "POST /api/login HTTP/1.1\r\nHost: app.example.com\r\n"
		     "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", n, body);
}

static void b_http_foreign_bearer(struct wt_buf *b)
{
	/* a JWT of another service is not ours; a Twilio one is */
	wt_printf(b, "GET / HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer %s\r\n\r\n",
		  TK(T_NOCTY));
	wt_printf(b, "GET / HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer %s\r\n\r\n",
		  TK(T_VIDEO));
}

static void b_http_long_line(struct wt_buf *b)
{
	wt_printf(b, "GET / HTTP/1.1\r\nHost: eventgw.twilio.com\r\nX-Junk: ");
	for (int i = 0; i < 30000; i++)
		wt_puts(b, "a");
	wt_printf(b, "\r\nX-Twilio-Token: %s\r\n\r\n", TK(T_VOICE));
}

static void b_sip(struct wt_buf *b)
{
	wt_printf(b, "REGISTER sip:alice_1@example.sip.twilio.com SIP/2.0\r\n"
		     "Via: SIP/2.0/TLS 10.0.0.1;branch=z9hG4bK776asdhds\r\nMax-Forwards: 70\r\n"
		     "X-Twilio-AccessToken: %s\r\nl: 10\r\n\r\n0123456789",
		  TK(T_VOICE));
	char sdp[] = "v=0\r\no=- 0 0 IN IP4 10.0.0.1\r\ns=-\r\n";
	wt_printf(b, "SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS 10.0.0.1\r\nCSeq: 1 OPTIONS\r\n"
		     "Content-Length: 3\r\n\r\nabc");
	wt_printf(b, "INVITE sip:bob@example.sip.twilio.com SIP/2.0\r\nContent-Type: application/sdp\r\n"
		     "Content-Length: %zu\r\nX-Twilio-AccessToken: %s\r\n\r\n%s",
		  strlen(sdp), TK(T_CHAT2), sdp);
}

/* RFC 3261 7.3.1 folding: the token on a continuation line (the value is
 * not empty), a folded Content-Length whose body is skipped */
static void b_sip_folded(struct wt_buf *b)
{
	wt_printf(b, "REGISTER sip:alice_1@example.sip.twilio.com SIP/2.0\r\n"
		     "Via: SIP/2.0/TLS 10.0.0.1\r\n ;branch=z9hG4bK776asdhds\r\n"
		     "X-Twilio-AccessToken:\r\n   %s\r\nContent-Length:\r\n\t10\r\n\r\n0123456789",
		  TK(T_VOICE));
	wt_printf(b, "INVITE sip:bob@example.sip.twilio.com SIP/2.0\r\nX-Twilio-AccessToken:\r\n\t%s\r\n"
		     "Content-Length: 0\r\n\r\n",
		  TK(T_CHAT2));
}

/* RFC 7230 obs-fold in HTTP/1.1: folded Host, Content-Type and
 * Content-Length (its body skipped by that length), a folded token */
static void b_http_folded(struct wt_buf *b)
{
	wt_printf(b, "POST /v1 HTTP/1.1\r\nHost:\r\n eventgw.twilio.com\r\nContent-Type:\r\n application/octet-stream\r\n"
		     "Content-Length:\r\n 4\r\n\r\nabcd");
	wt_printf(b, "GET / HTTP/1.1\r\nHost: eventgw.twilio.com\r\nX-Twilio-Token:\r\n\t %s\r\n\r\n", TK(T_VOICE));
}

static void b_ws_twilsock(struct wt_buf *b)
{
	ws_upgrade(b, "tsock.ie1.twilio.com", "/v3/wsconnect", NULL);
	struct wt_buf m = {0};
	twilsock(&m, "init", TK(T_CHAT), "");
	wt_frame(b, 1, 0, 2, m.p, m.n, 0);
	m.n = 0;
	twilsock_plain(&m, "{\"hello\":1}");
	wt_frame(b, 1, 0, 2, m.p, m.n, 0);
	m.n = 0;
	twilsock(&m, "update", TK(T_CHAT2), "");
	wt_frame(b, 1, 0, 1, m.p, m.n, 64); /* text frame, 64-bit length */
	wt_free(&m);
}

static void b_ws_voice_fragmented(struct wt_buf *b)
{
	ws_upgrade(b, "voice-js.roaming.twilio.com", "/signal", "permessage-deflate; client_max_window_bits");
	wt_frame(b, 1, 0, 1, "\n", 1, 0); /* heartbeat */
	char msg[8192];
	int n = snprintf(msg, sizeof msg,
			 "{\"type\":\"listen\",\"version\":\"1.6\",\"payload\":{\"browserinfo\":{\"p\":\"linux\"},"
			 "\"reconnectTimeout\":30,\"token\":\"%s\"}}",
			 TK(T_VOICE));
	int a = n / 3, c = 2 * n / 3;
	wt_frame(b, 0, 0, 1, msg, (size_t)a, 0);
	wt_frame(b, 1, 0, 9, "ping", 4, 0); /* interleaved control frame */
	wt_frame(b, 0, 0, 0, msg + a, (size_t)(c - a), 16);
	wt_frame(b, 1, 0, 10, "", 0, 0);
	wt_frame(b, 1, 0, 0, msg + c, (size_t)(n - c), 0);
}

static void b_ws_deflate_ctx(struct wt_buf *b)
{
	ws_upgrade(b, "127.0.0.1:9443", "/v3/wsconnect", "permessage-deflate; client_max_window_bits");
	z_stream z = {0};
	deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	struct wt_buf m = {0}, c = {0};
	/* a large binary message that is not Twilsock, holding the token text it must not report */
	for (int i = 0; i < 2000; i++)
		wt_printf(&m, "blob %d %s ", i, i == 1000 ? TK(T_CHAT2) : "");
	wt_deflate(&z, m.p, m.n, &c);
	wt_frame(b, 1, 1, 2, c.p, c.n, 0);
	m.n = c.n = 0;
	twilsock(&m, "init", TK(T_CHAT), "{\"a\":1}");
	wt_deflate(&z, m.p, m.n, &c);
	wt_frame(b, 1, 1, 2, c.p, c.n, 0);
	m.n = c.n = 0;
	/* the same init again: context takeover makes it mostly back-references */
	twilsock(&m, "update", TK(T_CHAT), "{\"a\":1}");
	wt_deflate(&z, m.p, m.n, &c);
	wt_frame(b, 1, 1, 2, c.p, c.n, 0);
	m.n = c.n = 0;
	twilsock(&m, "update", TK(T_SYNC), "");
	wt_deflate(&z, m.p, m.n, &c);
	wt_frame(b, 1, 1, 1, c.p, c.n, 0);
	deflateEnd(&z);
	wt_free(&m);
	wt_free(&c);
}

static void b_ws_deflate_noctx_fragmented(struct wt_buf *b)
{
	ws_upgrade(b, "global.vss.twilio.com", "/signaling",
		   "permessage-deflate; client_no_context_takeover; client_max_window_bits");
	z_stream z = {0};
	deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	struct wt_buf m = {0}, c = {0};
	wt_printf(&m, "{\"id\":\"1\",\"timeout\":60000,\"type\":\"hello\",\"version\":2,\"body\":{\"type\":"
		      "\"connect\",\"version\":2,\"name\":\"room\",\"token\":\"%s\"}}",
		  TK(T_VIDEO));
	wt_deflate(&z, m.p, m.n, &c);
	size_t h = c.n / 2;
	wt_frame(b, 0, 1, 1, c.p, h, 0); /* RSV1 only on the first frame */
	wt_frame(b, 1, 0, 9, "", 0, 0);
	wt_frame(b, 1, 0, 0, c.p + h, c.n - h, 0);
	deflateReset(&z);
	m.n = c.n = 0;
	/* uncompressed message in between (RSV1 decides per message) */
	wt_printf(&m, "{\"type\":\"msg\",\"body\":{\"type\":\"sync\",\"session\":\"s\",\"token\":\"%s\"}}",
		  TK(T_CHAT));
	wt_frame(b, 1, 0, 1, m.p, m.n, 0);
	m.n = 0;
	wt_printf(&m, "{\"type\":\"msg\",\"body\":{\"type\":\"ice\",\"ice\":{},\"token\":\"%s\"}}",
		  TK(T_CHAT2));
	wt_deflate(&z, m.p, m.n, &c);
	wt_frame(b, 1, 1, 1, c.p, c.n, 0);
	deflateEnd(&z);
	wt_free(&m);
	wt_free(&c);
}

static void b_ws_big_binary(struct wt_buf *b)
{
	ws_upgrade(b, "tsock.twilio.com", "/v3/wsconnect", NULL);
	struct wt_buf m = {0};
	for (int i = 0; i < 7000; i++)
		wt_printf(&m, "0123456789");
	memcpy(m.p + 5000, TK(T_CHAT2), tok_len[T_CHAT2]); /* skipped, never scanned */
	wt_frame(b, 1, 0, 2, m.p, m.n, 0);
	m.n = 0;
	/* a Twilsock message longer than the cap: its header is still read */
	struct wt_buf payload = {0};
	for (int i = 0; i < 8000; i++)
		wt_printf(&payload, "payload%d,", i);
	wt_put(&payload, "", 1);
	twilsock(&m, "init", TK(T_CHAT), (const char *)payload.p);
	wt_frame(b, 1, 0, 2, m.p, m.n, 0);
	wt_free(&m);
	wt_free(&payload);
}

static void b_ws_no_handshake(struct wt_buf *b)
{
	struct wt_buf m = {0};
	twilsock(&m, "init", TK(T_SYNC), "");
	wt_frame(b, 1, 0, 2, m.p, m.n, 0);
	wt_free(&m);
}

static void b_ws_refused_then_http(struct wt_buf *b)
{
	ws_upgrade(b, "voice-js.ashburn.us1.twilio.com", "/signal", NULL);
	wt_printf(b, "GET /retry HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: %s\r\n\r\n", TK(T_VOICE));
}

static void b_raw_text(struct wt_buf *b)
{
	wt_printf(b, "HELO there\r\nsome text; eyJnot a token; xeyJ%s\r\nuser token %s\r\n", TK(T_CHAT2),
		  TK(T_CHAT));
}

static void b_raw_binary(struct wt_buf *b)
{
	uint64_t s = 42;
	wt_put(b, "\x00\x01", 2);
	for (int i = 0; i < 6000; i++) {
		uint8_t c = (uint8_t)wt_rand(&s);
		wt_put(b, &c, 1);
		if (i == 3000)
			wt_printf(b, " %s\n", TK(T_CHAT));
	}
}

static void b_tls_in_tls(struct wt_buf *b)
{
	wt_put(b, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
	wt_printf(b, " %s\n", TK(T_CHAT));
}

static void b_connect_tunnel(struct wt_buf *b)
{
	wt_printf(b, "CONNECT tsock.us1.twilio.com:443 HTTP/1.1\r\nHost: tsock.us1.twilio.com:443\r\n\r\n");
	ws_upgrade(b, "tsock.us1.twilio.com", "/v3/wsconnect", NULL);
	struct wt_buf m = {0};
	twilsock(&m, "init", TK(T_CHAT), "");
	wt_frame(b, 1, 0, 2, m.p, m.n, 16);
	wt_free(&m);
}

/* ---- the table -------------------------------------------------------------------- */

struct exp_ev {
	enum channel ch;
	enum product prod;
	const char *msg;
	int tok;
	const char *region;
};

struct wcase {
	const char *name;
	void (*build)(struct wt_buf *b);
	const char *sni;
	int tail; /* bytes after the last token's unit; -1: not checked */
	int passthrough;
	int limit_errors;
	size_t nexp;
	struct exp_ev exp[6];
};

#define U PRODUCT_UNKNOWN
static const struct wcase cases[] = {
	{"http X-Twilio-Token", b_http_header, NULL, 2, 0, 0, 1,
	 {{CHANNEL_HTTP, U, "header", T_VOICE, ""}}},
	{"http keep-alive, bodies skipped by length, bearer", b_http_keepalive_bodies, NULL, 2, 0, 0, 1,
	 {{CHANNEL_HTTP, U, "header", T_CHAT, ""}}},
	{"http chunked body skipped, token= query", b_http_chunked_query, NULL, 25, 0, 0, 1,
	 {{CHANNEL_HTTP, U, "query", T_CHAT, ""}}},
	{"http json body prefix fallback", b_http_json_body, NULL, 0, 0, 0, 1,
	 {{CHANNEL_UNKNOWN, U, "body", T_SYNC, ""}}},
	{"http bearer of another service ignored", b_http_foreign_bearer, NULL, 2, 0, 0, 1,
	 {{CHANNEL_HTTP, U, "header", T_VIDEO, ""}}},
	{"http over-long header line skipped", b_http_long_line, NULL, 2, 0, 1, 1,
	 {{CHANNEL_HTTP, U, "header", T_VOICE, ""}}},
	{"sip register and invite", b_sip, NULL, -1, 0, 0, 2,
	 {{CHANNEL_SIP, PRODUCT_VOICE, "register", T_VOICE, ""},
	  {CHANNEL_SIP, PRODUCT_VOICE, "invite", T_CHAT2, ""}}},
	{"sip folded headers", b_sip_folded, NULL, -1, 0, 0, 2,
	 {{CHANNEL_SIP, PRODUCT_VOICE, "register", T_VOICE, ""},
	  {CHANNEL_SIP, PRODUCT_VOICE, "invite", T_CHAT2, ""}}},
	{"http folded headers", b_http_folded, NULL, -1, 0, 0, 1,
	 {{CHANNEL_HTTP, U, "header", T_VOICE, ""}}},
	{"ws twilsock init, update (ie1)", b_ws_twilsock, NULL, 0, 0, 0, 2,
	 {{CHANNEL_TWILSOCK, U, "init", T_CHAT, "ie1"}, {CHANNEL_TWILSOCK, U, "update", T_CHAT2, "ie1"}}},
	{"ws voice listen fragmented with control frames", b_ws_voice_fragmented, NULL, 0, 0, 0, 1,
	 {{CHANNEL_VOICE, PRODUCT_VOICE, "listen", T_VOICE, ""}}},
	{"ws permessage-deflate, context takeover", b_ws_deflate_ctx, NULL, 0, 0, 0, 3,
	 {{CHANNEL_TWILSOCK, U, "init", T_CHAT, ""},
	  {CHANNEL_TWILSOCK, U, "update", T_CHAT, ""},
	  {CHANNEL_TWILSOCK, U, "update", T_SYNC, ""}}},
	{"ws permessage-deflate, no context takeover, fragmented", b_ws_deflate_noctx_fragmented, NULL, 0,
	 0, 0, 3,
	 {{CHANNEL_VIDEO, PRODUCT_VIDEO, "connect", T_VIDEO, ""},
	  {CHANNEL_VIDEO, PRODUCT_VIDEO, "sync", T_CHAT, ""},
	  {CHANNEL_VIDEO, PRODUCT_VIDEO, "ice", T_CHAT2, ""}}},
	{"ws big binary skipped, long twilsock kept", b_ws_big_binary, NULL, 0, 0, 0, 1,
	 {{CHANNEL_TWILSOCK, U, "init", T_CHAT, ""}}},
	{"ws frames without handshake, sni", b_ws_no_handshake, "tsock.au1.twilio.com", 0, 0, 0, 1,
	 {{CHANNEL_TWILSOCK, U, "init", T_SYNC, "au1"}}},
	{"ws upgrade refused, back to http", b_ws_refused_then_http, NULL, 2, 0, 0, 1,
	 {{CHANNEL_HTTP, U, "header", T_VOICE, ""}}},
	{"unknown text stream fallback", b_raw_text, NULL, 1, 0, 0, 1,
	 {{CHANNEL_UNKNOWN, U, "text", T_CHAT, ""}}},
	{"unknown binary stream passes through", b_raw_binary, NULL, -1, 1, 0, 0, {{0}}},
	{"tls inside tls passes through", b_tls_in_tls, NULL, -1, 1, 0, 0, {{0}}},
	{"connect tunnel then websocket", b_connect_tunnel, NULL, 0, 0, 0, 1,
	 {{CHANNEL_TWILSOCK, U, "init", T_CHAT, "us1"}}},
};
#undef U

static struct wire *new_wire(void)
{
	struct wire *w = malloc(wire_sizeof());
	cr_assert_not_null(w);
	return w;
}

static void check_expected(const struct wcase *c, const struct wt_result *r)
{
	cr_assert_eq(r->n, c->nexp, "%s: %zu events, expected %zu", c->name, r->n, c->nexp);
	for (size_t i = 0; i < c->nexp; i++) {
		const struct exp_ev *e = &c->exp[i];
		const struct wt_event *g = &r->ev[i];
		cr_assert_eq(g->channel, e->ch, "%s: event %zu channel %s", c->name, i,
			     channel_name(g->channel));
		cr_assert_eq(g->product, e->prod, "%s: event %zu product %s", c->name, i,
			     product_name(g->product));
		cr_assert_str_eq(g->message, e->msg, "%s: event %zu", c->name, i);
		cr_assert_str_eq(g->region, e->region, "%s: event %zu", c->name, i);
		cr_assert_eq(g->token_len, tok_len[e->tok], "%s: event %zu token length", c->name, i);
		cr_assert_eq(memcmp(g->token, toks[e->tok], g->token_len), 0, "%s: event %zu token",
			     c->name, i);
	}
	cr_assert_eq(r->passthrough, c->passthrough, "%s: passthrough", c->name);
	cr_assert_eq(r->errors[0], 0, "%s: stopped early without an event", c->name);
	cr_assert_eq(r->errors[-WIRE_E_LIMIT] > 0, c->limit_errors > 0, "%s: limit errors %d", c->name,
		     r->errors[-WIRE_E_LIMIT]);
}

Test(wire, table_whole_feed)
{
	make_tokens();
	struct wire *w = new_wire();
	struct wt_result *r = malloc(sizeof *r);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct wcase *c = &cases[i];
		struct wt_buf b = {0};
		c->build(&b);
		struct wt_setup su = {.host = c->sni};
		wt_feed_cuts(w, &su, b.p, b.n, NULL, 0, r);
		check_expected(c, r);
		wt_free(&b);
	}
	free(r);
	free(w);
}

Test(wire, table_byte_by_byte_and_random_splits)
{
	make_tokens();
	struct wire *w = new_wire();
	struct wt_result *whole = malloc(sizeof *whole), *r = malloc(sizeof *r);
	uint64_t seed = 20261122;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct wcase *c = &cases[i];
		struct wt_buf b = {0};
		c->build(&b);
		struct wt_setup su = {.host = c->sni};
		wt_feed_cuts(w, &su, b.p, b.n, NULL, 0, whole);
		size_t *cuts = malloc(sizeof *cuts * (b.n + 1));
		for (size_t k = 1; k < b.n; k++)
			cuts[k - 1] = k;
		wt_feed_cuts(w, &su, b.p, b.n, cuts, b.n ? b.n - 1 : 0, r);
		cr_assert(wt_events_prefix(r, whole, 1), "%s: byte by byte: %zu events, whole: %zu",
			  c->name, r->n, whole->n);
		check_expected(c, r);
		for (int round = 0; round < 40; round++) {
			size_t ncuts = 1 + wt_rand(&seed) % 12, prev = 0, m = 0;
			for (size_t k = 0; k < ncuts && b.n > 1; k++) {
				size_t cut = prev + 1 + wt_rand(&seed) % (b.n / ncuts + 1);
				if (cut >= b.n)
					break;
				cuts[m++] = prev = cut;
			}
			wt_feed_cuts(w, &su, b.p, b.n, cuts, m, r);
			cr_assert(wt_events_prefix(r, whole, 1), "%s: split round %d: %zu events",
				  c->name, round, r->n);
		}
		free(cuts);
		wt_free(&b);
	}
	free(whole);
	free(r);
	free(w);
}

Test(wire, table_strict_prefixes)
{
	make_tokens();
	struct wire *w = new_wire();
	struct wt_result *whole = malloc(sizeof *whole), *r = malloc(sizeof *r);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct wcase *c = &cases[i];
		struct wt_buf b = {0};
		c->build(&b);
		struct wt_setup su = {.host = c->sni};
		wt_feed_cuts(w, &su, b.p, b.n, NULL, 0, whole);
		/* every prefix of small inputs; a stride plus the tail of big ones */
		size_t stride = b.n <= 8192 ? 1 : b.n / 1500;
		for (size_t k = 0; k < b.n; k += (b.n - k <= 256 ? 1 : stride)) {
			wt_feed_cuts(w, &su, b.p, k, NULL, 0, r);
			cr_assert(wt_events_prefix(r, whole, 0), "%s: prefix %zu: events not a prefix",
				  c->name, k);
			if (c->tail >= 0 && k + (size_t)c->tail < b.n)
				cr_assert_lt(r->n, whole->n, "%s: prefix %zu of %zu has all %zu events",
					     c->name, k, b.n, whole->n);
		}
		wt_free(&b);
	}
	free(whole);
	free(r);
	free(w);
}

/* ---- details ---------------------------------------------------------------------- */

Test(wire, consumed_stops_at_event)
{
	make_tokens();
	struct wire *w = new_wire();
	struct wt_buf b = {0};
	b_sip(&b);
	wire_init(w, NULL, 0);
	struct wire_event ev;
	ssize_t k = wire_feed(w, b.p, b.n, &ev);
	cr_assert_eq(ev.kind, WIRE_EV_TOKEN);
	cr_assert_gt(k, 0);
	cr_assert_lt((size_t)k, b.n, "stops after the first event");
	cr_assert_str_eq(ev.where, "X-Twilio-AccessToken header");
	size_t off = (size_t)k;
	k = wire_feed(w, b.p + off, b.n - off, &ev);
	cr_assert_eq(ev.kind, WIRE_EV_TOKEN);
	cr_assert_str_eq(ev.message, "invite");
	off += (size_t)k;
	k = wire_feed(w, b.p + off, b.n - off, &ev);
	cr_assert_eq(ev.kind, WIRE_EV_NONE);
	cr_assert_eq((size_t)k, b.n - off);
	wire_release(w);
	wt_free(&b);
	free(w);
}

Test(wire, limit_error_then_resync)
{
	make_tokens();
	struct wire *w = new_wire();
	struct wt_buf b = {0};
	b_http_long_line(&b);
	wire_init(w, NULL, 0);
	struct wire_event ev;
	/* up to the end of the long line: an error, all consumed */
	const unsigned char *nl = memmem(b.p + 60, b.n - 60, "\r\n", 2);
	size_t cut = (size_t)(nl - b.p) + 2;
	ssize_t k = wire_feed(w, b.p, cut, &ev);
	cr_assert_eq(k, WIRE_E_LIMIT);
	cr_assert_eq(ev.kind, WIRE_EV_NONE);
	k = wire_feed(w, b.p + cut, b.n - cut, &ev);
	cr_assert_eq(ev.kind, WIRE_EV_TOKEN);
	cr_assert_eq(ev.token_len, tok_len[T_VOICE]);
	cr_assert_str_eq(ev.host, "eventgw.twilio.com");
	cr_assert_str_eq(wire_host(w), "eventgw.twilio.com");
	wire_release(w);
	wt_free(&b);
	free(w);
}

Test(wire, lost_websocket_sync_passes_through)
{
	make_tokens();
	struct wire *w = new_wire();
	struct wt_buf b = {0};
	ws_upgrade(&b, "tsock.us1.twilio.com", "/v3/wsconnect", NULL);
	wt_frame(&b, 1, 0, 2, "abc", 3, 0);
	wt_put(&b, "\x83\x80", 2); /* opcode 3: reserved */
	twilsock(&b, "init", TK(T_CHAT), "");
	wire_init(w, NULL, 1);
	struct wire_event ev;
	ssize_t k = wire_feed(w, b.p, b.n, &ev);
	cr_assert_eq(k, WIRE_E_PROTOCOL);
	cr_assert_eq(ev.kind, WIRE_EV_NONE);
	cr_assert(wire_passthrough(w));
	k = wire_feed(w, "more", 4, &ev);
	cr_assert_eq(k, 4);
	wire_release(w);
	wt_free(&b);
	free(w);
}

Test(wire, corrupt_deflate_resets_and_recovers)
{
	make_tokens();
	struct wire *w = new_wire();
	struct wt_buf b = {0}, m = {0}, c = {0};
	ws_upgrade(&b, "tsock.us1.twilio.com", "/v3/wsconnect", "permessage-deflate");
	wt_frame(&b, 1, 1, 2, "\xff\xff\xff\xff\xff", 5, 0); /* not deflate data */
	z_stream z = {0};
	deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	twilsock(&m, "init", TK(T_CHAT), "");
	wt_deflate(&z, m.p, m.n, &c);
	wt_frame(&b, 1, 1, 2, c.p, c.n, 0);
	deflateEnd(&z);
	wire_init(w, NULL, 1);
	struct wire_event ev;
	ssize_t k = wire_feed(w, b.p, b.n, &ev);
	cr_assert_eq(ev.kind, WIRE_EV_TOKEN);
	cr_assert_str_eq(ev.message, "init");
	cr_assert_eq(ev.token_len, tok_len[T_CHAT]);
	k = wire_feed(w, b.p + k, b.n - (size_t)k, &ev);
	cr_assert_eq(k, WIRE_E_PROTOCOL, "the bad message is reported once the feed ends");
	wire_release(w);
	wt_free(&b);
	wt_free(&m);
	wt_free(&c);
	free(w);
}

Test(wire, wrong_format_token_member_is_reported_raw)
{
	/* the whole token-endpoint response passed as the token: still reported
	 * (validate says wrong_format) because the host says Voice */
	make_tokens();
	struct wire *w = new_wire();
	struct wt_buf b = {0};
	ws_upgrade(&b, "voice-js.roaming.twilio.com", "/signal", NULL);
	char msg[8192];
	int n = snprintf(msg, sizeof msg,
			 "{\"type\":\"listen\",\"payload\":{\"token\":{\"identity\":\"a\",\"token\":\"%s\"}}}",
			 TK(T_VOICE));
	wt_frame(&b, 1, 0, 1, msg, (size_t)n, 0);
	struct wt_result *r = malloc(sizeof *r);
	wt_feed_cuts(w, NULL, b.p, b.n, NULL, 0, r);
	cr_assert_eq(r->n, 1, "structured (raw object) only: the inner token is inside its span");
	cr_assert_eq(r->ev[0].channel, CHANNEL_VOICE);
	cr_assert_eq(r->ev[0].token[0], '{');
	free(r);
	wt_free(&b);
	free(w);
}

Test(wire, host_classification)
{
	static const struct {
		const char *host;
		enum product prod;
		const char *region;
	} t[] = {
		{"tsock.ie1.twilio.com", PRODUCT_UNKNOWN, "ie1"},
		{"TSOCK.us1.twilio.com.", PRODUCT_UNKNOWN, "us1"},
		{"voice-js.roaming.twilio.com", PRODUCT_VOICE, ""},
		{"voice-js.dublin.ie1.twilio.com", PRODUCT_VOICE, "ie1"},
		{"chunderw-vpc-gll-au1.twilio.com", PRODUCT_VOICE, "au1"},
		{"chunderw-vpc-gll.twilio.com", PRODUCT_VOICE, ""},
		{"global.vss.twilio.com", PRODUCT_VIDEO, ""},
		{"us1.vss.twilio.com", PRODUCT_VIDEO, "us1"},
		{"chat.example.com", PRODUCT_CONVERSATIONS, ""},
		{"a.b.sync.example.org", PRODUCT_SYNC, ""},
		{"sync.example.org", PRODUCT_UNKNOWN, ""},
		{"localhost", PRODUCT_VIDEO, ""},
	};
	struct host_rule rules[4];
	struct tk_error err = {0};
	int n = host_rules_parse(" chat.example.com=conversations, *.sync.example.org=sync,"
				 "localhost:9443=video,,",
				 rules, 4, &err);
	cr_assert_eq(n, 3, "%s", err.msg);
	struct wire_config cfg = {rules, (size_t)n};
	struct wire *w = new_wire();
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		wire_init(w, &cfg, 1);
		wire_set_port(w, 9443);
		wire_set_host(w, t[i].host, strlen(t[i].host));
		struct wire_event ev;
		/* a Twilsock init without handshake gives an event carrying the host's view */
		struct wt_buf b = {0}, m = {0};
		make_tokens();
		twilsock(&m, "init", TK(T_CHAT), "");
		wt_frame(&b, 1, 0, 2, m.p, m.n, 0);
		ssize_t k = wire_feed(w, b.p, b.n, &ev);
		cr_assert_gt(k, 0);
		cr_assert_eq(ev.kind, WIRE_EV_TOKEN, "%s", t[i].host);
		cr_assert_eq(ev.product, t[i].prod, "%s: product %s", t[i].host, product_name(ev.product));
		cr_assert_str_eq(ev.region, t[i].region, "%s", t[i].host);
		wire_release(w);
		wt_free(&b);
		wt_free(&m);
	}
	/* a rule with a port matches that port only */
	make_tokens();
	struct wt_buf b = {0}, m = {0};
	twilsock(&m, "init", TK(T_CHAT), "");
	wt_frame(&b, 1, 0, 2, m.p, m.n, 0);
	struct wt_setup su = {.host = "localhost", .port = 443, .cfg = &cfg};
	struct wt_result *r = malloc(sizeof *r);
	wt_feed_cuts(w, &su, b.p, b.n, NULL, 0, r);
	cr_assert_eq(r->n, 1);
	cr_assert_eq(r->ev[0].product, PRODUCT_UNKNOWN);
	free(r);
	wt_free(&b);
	wt_free(&m);
	free(w);
}

Test(wire, host_rules_errors)
{
	struct host_rule rules[2];
	struct tk_error err = {0};
	cr_assert_eq(host_rules_parse("", rules, 2, &err), 0);
	cr_assert_eq(host_rules_parse("a.com=voice,b.com", rules, 2, &err), -1);
	cr_assert_str_eq(err.msg, "cannot parse host rule 'b.com': expected host[:port]=product");
	cr_assert_str_eq(rules[0].host, "a.com", "the good rule before the bad one is kept");
	cr_assert_str_eq(rules[1].host, "", "and marks the end");
	struct tk_error e2 = {0};
	cr_assert_eq(host_rules_parse("a.com=chat", rules, 2, &e2), -1);
	cr_assert(strstr(e2.msg, "unknown product 'chat'"), "%s", e2.msg);
	struct tk_error e3 = {0};
	cr_assert_eq(host_rules_parse("a.com:99999=voice", rules, 2, &e3), -1);
	cr_assert(strstr(e3.msg, "bad port"), "%s", e3.msg);
	struct tk_error e4 = {0};
	cr_assert_eq(host_rules_parse("a=voice,b=voice,c=voice", rules, 2, &e4), -1);
	cr_assert(strstr(e4.msg, "too many"), "%s", e4.msg);
	struct tk_error e5 = {0};
	cr_assert_eq(host_rules_parse("*.x.com:8443=sync", rules, 2, &e5), 1);
	cr_assert_eq(rules[0].port, 8443);
	cr_assert_eq(rules[0].product, PRODUCT_SYNC);
	cr_assert_eq(host_rules_parse("x*.com=sync", rules, 2, &e5), -1);
}

Test(wire, memory_is_bounded)
{
	cr_assert_lt(wire_sizeof(), 256 * 1024, "struct wire is %zu bytes", wire_sizeof());
}
