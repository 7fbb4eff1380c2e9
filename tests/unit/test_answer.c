/* The server's direction: the response/message decoder (decode/wire_srv.c)
 * and what the session makes of it (answer records, server_rejected,
 * server_accepted, refresh_missing), the server-code table, the secrets
 * file's account column. */
#include <criterion/criterion.h>
#include <string.h>

#include "decode/server_codes.h"
#include "decode/session.h"
#include "decode/wire_srv.h"
#include "decode/ws_frame.h"
#include "report/report.h"
#include "tests/unit/session_testlib.h"

#define UPGRADE_101 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
#define UPGRADE_101_DEFLATE                                                                    \
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"  \
	"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"

/* ---- the decoder alone ---- */
#define MAXE 8
struct evs {
	size_t n;
	struct srv_event e[MAXE];
};

static void srv_feed_cuts(const unsigned char *p, size_t n, const size_t *cuts, size_t ncuts, struct evs *out)
{
	struct wire_srv *w = malloc(wire_srv_sizeof());
	wire_srv_init(w, NULL);
	memset(out, 0, sizeof *out);
	size_t prev = 0;
	for (size_t c = 0; c <= ncuts; c++) {
		size_t end = c < ncuts ? cuts[c] : n;
		size_t off = prev;
		while (off < end) {
			struct srv_event ev;
			size_t k = wire_srv_feed(w, p + off, end - off, &ev);
			off += k;
			if (ev.kind != SRV_EV_NONE && out->n < MAXE)
				out->e[out->n++] = ev;
			else if (ev.kind == SRV_EV_NONE && k == 0)
				break;
		}
		prev = end;
	}
	wire_srv_release(w);
	free(w);
}

static void srv_feed_all(const struct wt_buf *b, struct evs *out)
{
	srv_feed_cuts((const unsigned char *)b->p, b->n, NULL, 0, out);
}

static int evs_eq(const struct evs *a, const struct evs *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (memcmp(&a->e[i], &b->e[i], sizeof a->e[i]))
			return 0;
	return 1;
}

/* Every split gives the same events: byte by byte, every single cut, random cuts. */
static void splits_agree(const struct wt_buf *b)
{
	struct evs whole, part;
	srv_feed_all(b, &whole);
	size_t *cuts = malloc(b->n * sizeof *cuts);
	for (size_t i = 0; i < b->n; i++)
		cuts[i] = i + 1;
	srv_feed_cuts((const unsigned char *)b->p, b->n, cuts, b->n ? b->n - 1 : 0, &part);
	cr_assert(evs_eq(&whole, &part), "byte by byte: %zu vs %zu events", whole.n, part.n);
	for (size_t c = 1; c < b->n; c++) {
		size_t one = c;
		srv_feed_cuts((const unsigned char *)b->p, b->n, &one, 1, &part);
		cr_assert(evs_eq(&whole, &part), "cut at %zu", c);
	}
	uint64_t seed = 42;
	for (int r = 0; r < 50; r++) {
		size_t nc = 0, at = 0;
		while (nc < 16) {
			at += 1 + wt_rand(&seed) % 40;
			if (at >= b->n)
				break;
			cuts[nc++] = at;
		}
		srv_feed_cuts((const unsigned char *)b->p, b->n, cuts, nc, &part);
		cr_assert(evs_eq(&whole, &part), "random cuts, round %d", r);
	}
	free(cuts);
}

Test(wire_srv, http_401_json_body_keepalive_and_continue)
{
	struct wt_buf b = {0};
	const char *body = "{\"code\":20104,\"message\":\"Access Token expired or expiration date invalid\",\"status\":401}";
	wt_printf(&b, "HTTP/1.1 100 Continue\r\n\r\n");
	wt_printf(&b, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	wt_printf(&b, "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		  strlen(body), body);
	wt_printf(&b, "HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"cod\r\n%zx\r\n%s\r\n0\r\n\r\n",
		  strlen(body) - 5, body + 5);
	wt_printf(&b, "HTTP/1.1 403 Forbidden\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n");
	wt_put(&b, "\x1f\x8b\x08\x00", 4);
	struct evs e;
	srv_feed_all(&b, &e);
	cr_assert_eq(e.n, 5);
	cr_assert(e.e[0].interim);
	cr_assert_eq(e.e[1].status, 200);
	cr_assert_eq(e.e[1].code, 0);
	cr_assert_eq(e.e[2].status, 401);
	cr_assert_eq(e.e[2].code, 20104);
	cr_assert_str_eq(e.e[2].text, "Access Token expired or expiration date invalid");
	cr_assert_eq(e.e[3].code, 20104, "chunked body");
	cr_assert_eq(e.e[4].status, 403);
	cr_assert(e.e[4].compressed);
	cr_assert_eq(e.e[4].code, 0, "a compressed body gives the status only");
	splits_agree(&b);
	wt_free(&b);
}

Test(wire_srv, sip_final_response_with_x_twilio_error)
{
	struct wt_buf b = {0};
	wt_printf(&b, "SIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\n");
	wt_printf(&b, "OPTIONS sip:c@x SIP/2.0\r\nContent-Length: 3\r\n\r\nabc");
	wt_printf(&b, "SIP/2.0 403 Forbidden\r\nX-Twilio-Error: 31205 JWT token expired\r\nContent-Length: 0\r\n\r\n");
	struct evs e;
	srv_feed_all(&b, &e);
	cr_assert_eq(e.n, 2, "the server's own request is no answer");
	cr_assert_eq(e.e[0].kind, SRV_EV_SIP);
	cr_assert(e.e[0].interim);
	cr_assert_eq(e.e[1].status, 403);
	cr_assert_eq(e.e[1].code, 31205);
	cr_assert_str_eq(e.e[1].text, "JWT token expired");
	splits_agree(&b);
	wt_free(&b);
}

Test(wire_srv, websocket_server_frames_with_own_deflate_context)
{
	struct wt_buf b = {0}, m1 = {0}, m2 = {0}, z1 = {0}, z2 = {0};
	wt_printf(&b, UPGRADE_101_DEFLATE);
	const char *h1 = "{\"method\":\"reply\",\"id\":\"TM1\",\"status\":{\"code\":401,\"status\":\"UNAUTHORIZED\","
			 "\"errorCode\":20104,\"description\":\"Access Token expired or expiration date invalid\"},"
			 "\"payload_size\":0}";
	wt_printf(&m1, "TWILSOCK V3.0 %zu\r\n%s\r\n", strlen(h1), h1);
	const char *h2 = "{\"method\":\"client_update\",\"id\":\"TM9\",\"client_update_type\":\"token_about_to_expire\","
			 "\"payload_size\":0}";
	wt_printf(&m2, "TWILSOCK V3.0 %zu\r\n%s\r\n", strlen(h2), h2);
	z_stream z;
	memset(&z, 0, sizeof z);
	cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	wt_deflate(&z, m1.p, m1.n, &z1);
	wt_deflate(&z, m2.p, m2.n, &z2); /* refers back to the first: context takeover */
	deflateEnd(&z);
	wt_srv_frame(&b, 1, 2, z1.p, z1.n);
	wt_srv_frame(&b, 0, 9, "", 0); /* a ping between */
	wt_srv_frame(&b, 1, 2, z2.p, z2.n);
	wt_srv_frame(&b, 0, 1, "{\"type\":\"error\",\"payload\":{\"error\":{\"code\":31205,\"message\":\"JWT token expired\"}}}",
		  strlen("{\"type\":\"error\",\"payload\":{\"error\":{\"code\":31205,\"message\":\"JWT token expired\"}}}"));
	struct evs e;
	srv_feed_all(&b, &e);
	cr_assert_eq(e.n, 4);
	cr_assert(e.e[0].upgrade);
	cr_assert_eq(e.e[1].msg, SRV_MSG_TW_REPLY);
	cr_assert_str_eq(e.e[1].id, "TM1");
	cr_assert_eq(e.e[1].status, 401);
	cr_assert_eq(e.e[1].code, 20104);
	cr_assert_eq(e.e[2].msg, SRV_MSG_TW_CLIENT_UPDATE);
	cr_assert_str_eq(e.e[2].update_type, "token_about_to_expire");
	cr_assert_eq(e.e[3].msg, SRV_MSG_VOICE_ERROR);
	cr_assert_eq(e.e[3].code, 31205);
	splits_agree(&b);
	wt_free(&b);
	wt_free(&m1);
	wt_free(&m2);
	wt_free(&z1);
	wt_free(&z2);
}

/* What the real Voice SDK's connection gave the shim when the upgrade was
 * not seen (node writes it from OpenSSL's handshake callback, inside
 * SSL_read): the server's bytes from its first frame on, as captured from
 * tests/servers/twilio_like.py (python websockets, permessage-deflate with
 * context takeover): the 31205 error compressed (RSV1), then the close. */
static const char voice_err_deflated_hex[] =
	"c14caa562aa92c4855b252504a2d2aca2f52d251502a48acccc94f4c018a55430541ace4fc1490326343230353a0a2d"
	"cd4e2e2c474b046aff0108592fcecd43c85d48a82cca2d414a5dada5a0000"
	"880e03e8756e617574686f72697a6564";

static void put_hex(struct wt_buf *b, const char *hex)
{
	for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
		unsigned v;
		cr_assert_eq(sscanf(hex + i, "%2x", &v), 1);
		uint8_t c = (uint8_t)v;
		wt_put(b, &c, 1);
	}
}

Test(wire_srv, compressed_first_frame_without_handshake)
{
	struct wt_buf b = {0};
	put_hex(&b, voice_err_deflated_hex);
	struct evs e;
	srv_feed_all(&b, &e);
	cr_assert_geq(e.n, 1);
	cr_assert_eq(e.e[0].msg, SRV_MSG_VOICE_ERROR);
	cr_assert_eq(e.e[0].code, 31205);
	cr_assert_str_eq(e.e[0].text, "JWT token expired");
	splits_agree(&b);
	wt_free(&b);
}

Test(wire_srv, masked_server_frame_stops_reading)
{
	struct wt_buf b = {0};
	wt_printf(&b, UPGRADE_101);
	wt_frame(&b, 1, 0, 1, "{\"type\":\"connected\"}", 20, 0); /* masked: not a server's */
	struct evs e;
	srv_feed_all(&b, &e);
	cr_assert_eq(e.n, 1);
	wt_free(&b);
}

/* ---- the real Sync SDK's connection (twilio-sync 4.0.1 in the nodesource
 * node: undici's WebSocket offers "permessage-deflate; client_max_window_bits"),
 * the server's bytes as node's SSL_read returned them, captured from
 * tests/servers/twilio_like.py (python3-websockets 10.4) answering an expired
 * token: the 101, the reply compressed with server_max_window_bits=12 (its
 * deflate stream's tail 00 00 ff ff stripped, RFC 7692), the close. ---- */
static const char node_101[] =
	"HTTP/1.1 101 Switching Protocols\r\n"
	"Upgrade: websocket\r\n"
	"Connection: Upgrade\r\n"
	"Sec-WebSocket-Accept: IogjZkcOvARGewXg0Dm0DLRPdT8=\r\n"
	"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12; client_max_window_bits=12\r\n"
	"Date: Tue, 01 Dec 2026 19:28:24 GMT\r\n"
	"Server: Python/3.11 websockets/10.4\r\n"
	"\r\n"
;
static const unsigned char node_reply[203] = {
	0xc2, 0x7e, 0x00, 0xc7, 0x44, 0xce, 0x5f, 0x6b, 0xc2, 0x30, 0x14, 0x05,
	0xf0, 0x77, 0xc1, 0xef, 0x10, 0xee, 0x73, 0x2b, 0x69, 0x9b, 0x55, 0xd3,
	0x37, 0x71, 0x83, 0xc9, 0x9c, 0xc2, 0xac, 0x1b, 0xec, 0x65, 0x5c, 0x9b,
	0x1b, 0x16, 0xd6, 0x35, 0x25, 0x89, 0xe2, 0x1f, 0xfc, 0xee, 0x8b, 0xfa,
	0xb0, 0xb7, 0x7b, 0x0e, 0x3f, 0x0e, 0xb7, 0xfe, 0x98, 0x2f, 0xd6, 0xab,
	0xd9, 0x0b, 0x7b, 0x2f, 0x46, 0x9c, 0xe5, 0x5c, 0x0e, 0x07, 0x67, 0xf8,
	0xa5, 0xf0, 0x6d, 0x15, 0x54, 0xe0, 0xa8, 0x6f, 0x8f, 0x90, 0x80, 0xb9,
	0x86, 0xfa, 0x75, 0x5c, 0x16, 0x42, 0x60, 0x56, 0xa6, 0x5a, 0xe7, 0x22,
	0x15, 0x32, 0x7f, 0x48, 0xb7, 0x88, 0x32, 0x9d, 0x94, 0xa5, 0x96, 0xc5,
	0x58, 0x6a, 0x3d, 0xd9, 0x46, 0xed, 0x03, 0x86, 0x9d, 0x87, 0xea, 0x0c,
	0x8d, 0x55, 0x04, 0x95, 0xe0, 0xd9, 0x7f, 0x09, 0x9b, 0xe5, 0x74, 0x53,
	0x3f, 0xaf, 0xde, 0xe6, 0x9f, 0x4f, 0x8f, 0x11, 0x93, 0x73, 0xd6, 0xcd,
	0x6e, 0x2e, 0xe7, 0x19, 0x17, 0x09, 0x28, 0xf2, 0x8d, 0x33, 0x7d, 0x30,
	0xb6, 0x8b, 0x7c, 0xda, 0x34, 0xe4, 0x3d, 0xab, 0xed, 0x0f, 0x75, 0x8c,
	0x0e, 0xbd, 0x71, 0xa4, 0x98, 0x75, 0xf7, 0x13, 0xaf, 0x88, 0x29, 0x0c,
	0xc4, 0x4c, 0xb7, 0xc7, 0x36, 0xfe, 0x79, 0x49, 0xa0, 0xc7, 0x63, 0x6b,
	0x51, 0x7d, 0x79, 0x73, 0x8a, 0xab, 0xfc, 0x32, 0x1c, 0xfc, 0x01,
};
static const unsigned char node_close[16] = {
	0x88, 0x0e, 0x03, 0xe8, 0x75, 0x6e, 0x61, 0x75, 0x74, 0x68, 0x6f, 0x72,
	0x69, 0x7a, 0x65, 0x64,
};
static const unsigned char node_reply_unseen[201] = {
	0xc2, 0x7e, 0x00, 0xc5, 0x44, 0xce, 0x4f, 0x8b, 0xc2, 0x30, 0x10, 0x05,
	0xf0, 0xbb, 0xe0, 0x77, 0x08, 0x73, 0x6e, 0x65, 0xda, 0xb4, 0xb5, 0xf6,
	0x26, 0xba, 0xb0, 0xb2, 0xfe, 0x81, 0xb5, 0x2a, 0x78, 0x91, 0xd8, 0x8c,
	0x6c, 0xd8, 0x6e, 0x53, 0x92, 0x28, 0xba, 0xe2, 0x77, 0x37, 0xea, 0xc1,
	0xdb, 0xbc, 0xc7, 0x8f, 0xc7, 0x94, 0x9b, 0xc9, 0x74, 0xb9, 0x18, 0x7d,
	0xb1, 0x35, 0xef, 0x21, 0x8b, 0x71, 0xd0, 0xed, 0x5c, 0xe1, 0x8f, 0xdc,
	0x8f, 0x96, 0x50, 0x80, 0xa1, 0xb6, 0xbe, 0x40, 0x00, 0xea, 0x11, 0xca,
	0x99, 0x88, 0xa3, 0x5c, 0x64, 0xfc, 0x10, 0xa6, 0x59, 0x96, 0x86, 0x49,
	0x1a, 0x61, 0x38, 0xe0, 0xb8, 0x0f, 0xf3, 0x1c, 0x79, 0x3f, 0x3f, 0xc4,
	0xc4, 0x51, 0x7a, 0x6d, 0x9d, 0x70, 0x47, 0x0b, 0xc5, 0x15, 0x2a, 0x2d,
	0x09, 0x8a, 0x04, 0xa3, 0x77, 0x09, 0xab, 0xf9, 0x70, 0x55, 0x7e, 0x2e,
	0xbe, 0x27, 0xdb, 0x8f, 0xb1, 0xc7, 0x64, 0x8c, 0x36, 0xa3, 0xa7, 0x8b,
	0x31, 0xc2, 0x24, 0x00, 0x49, 0xb6, 0x32, 0xaa, 0x75, 0x4a, 0x37, 0x9e,
	0x0f, 0xab, 0x8a, 0xac, 0x65, 0xa5, 0xfe, 0xa5, 0x86, 0xd1, 0xb9, 0x55,
	0x86, 0x24, 0xd3, 0xe6, 0x75, 0x8a, 0x07, 0x62, 0x52, 0x38, 0x62, 0xaa,
	0x39, 0x89, 0xda, 0xff, 0x79, 0x0b, 0xa0, 0x15, 0x97, 0x5a, 0x0b, 0xb9,
	0xb3, 0xea, 0xdf, 0xaf, 0xe2, 0xad, 0xdb, 0xb9, 0x03,
};

Test(wire_srv, node_sync_deflate_reply_as_read)
{
	struct wt_buf b = {0};
	wt_put(&b, node_101, strlen(node_101));
	wt_put(&b, node_reply, sizeof node_reply);
	wt_put(&b, node_close, sizeof node_close);
	/* as node read them: three reads */
	size_t cuts[2] = { strlen(node_101), strlen(node_101) + sizeof node_reply };
	struct evs e;
	srv_feed_cuts((const unsigned char *)b.p, b.n, cuts, 2, &e);
	cr_assert_eq(e.n, 2);
	cr_assert(e.e[0].upgrade);
	cr_assert_eq(e.e[1].msg, SRV_MSG_TW_REPLY);
	cr_assert_str_eq(e.e[1].id, "TM76344a16-ff24-4925-baa9-866f9379ff8b");
	cr_assert_eq(e.e[1].status, 401);
	cr_assert_eq(e.e[1].code, 20104);
	cr_assert_str_eq(e.e[1].text, "Access Token expired or expiration date invalid");
	splits_agree(&b);
	wt_free(&b);
}

/* Following that starts after the handshake (the client's upgrade was not
 * seen): the server's first byte is a compressed frame's (RSV1 set, 0xc2),
 * as the real server sent it, and the reply is still read. */
Test(wire_srv, starts_at_a_compressed_server_frame)
{
	struct wt_buf b = {0};
	wt_put(&b, node_reply_unseen, sizeof node_reply_unseen);
	wt_put(&b, node_close, sizeof node_close);
	struct evs e;
	srv_feed_all(&b, &e);
	cr_assert_eq(e.n, 1);
	cr_assert_eq(e.e[0].msg, SRV_MSG_TW_REPLY);
	cr_assert_str_eq(e.e[0].id, "TMa218a63f-5665-4510-930b-880378f2e30d");
	cr_assert_eq(e.e[0].status, 401);
	cr_assert_eq(e.e[0].code, 20104);
	splits_agree(&b);
	wt_free(&b);
}

Test(wire_srv, message_shapes)
{
	static const struct {
		const char *msg;
		enum srv_msg want;
		int code;
		const char *text;
	} cases[] = {
		{"{\"type\":\"connected\",\"payload\":{\"region\":\"gll\"}}", SRV_MSG_VOICE_OK, 0, "connected"},
		{"{\"type\":\"ready\",\"payload\":{}}", SRV_MSG_VOICE_OK, 0, "ready"},
		{"{\"type\":\"error\",\"code\":20104,\"message\":\"Access Token expired\"}", SRV_MSG_VIDEO_ERROR, 20104,
		 "Access Token expired"},
		{"{\"type\":\"welcome\",\"version\":2}", SRV_MSG_VIDEO_OK, 0, "welcome"},
		{"{\"id\":\"x\",\"type\":\"msg\",\"body\":{\"type\":\"connected\",\"sid\":\"RM1\"}}", SRV_MSG_VIDEO_OK, 0,
		 "connected"},
		{"{\"type\":\"msg\",\"body\":{\"type\":\"error\",\"code\":53000}}", SRV_MSG_VIDEO_ERROR, 53000, ""},
		{"{\"type\":\"heartbeat\"}", SRV_MSG_OTHER, 0, ""},
		{"\n", SRV_MSG_OTHER, 0, ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct srv_event ev;
		memset(&ev, 0, sizeof ev);
		wire_srv_message(cases[i].msg, strlen(cases[i].msg), &ev);
		cr_expect_eq(ev.msg, cases[i].want, "case %zu", i);
		cr_expect_eq(ev.code, cases[i].code, "case %zu", i);
		cr_expect_str_eq(ev.text, cases[i].text, "case %zu", i);
	}
	const char *hdr = "{\"method\":\"close\",\"id\":\"TM7\",\"status\":{\"code\":410,\"status\":"
			  "\"TOKEN_EXPIRED\",\"errorCode\":51207,\"description\":\"x\"}}";
	char close[512];
	snprintf(close, sizeof close, "TWILSOCK V3.0 %zu\r\n%s\r\n", strlen(hdr), hdr);
	struct srv_event ev;
	memset(&ev, 0, sizeof ev);
	wire_srv_message(close, strlen(close), &ev);
	cr_expect_eq(ev.msg, SRV_MSG_TW_CLOSE);
	cr_expect_eq(ev.code, 51207);
	cr_expect_eq(ev.status, 410);
}

/* ---- the session ---- */

struct fx {
	struct keyring *kr;
	struct session_config cfg;
	struct session *s;
	struct got got;
};

static void fx_init(struct fx *f, const char *host)
{
	memset(f, 0, sizeof *f);
	f->kr = st_config(&f->cfg, NULL);
	f->s = st_session(&f->cfg, host);
}

static void fx_free(struct fx *f)
{
	session_release(f->s);
	free(f->s);
	keyring_free(f->kr);
}

static int cfeed(struct fx *f, const struct wt_buf *b, int64_t now)
{
	return session_feed(f->s, b->p, b->n, now, collect, &f->got);
}

static int sfeed(struct fx *f, const struct wt_buf *b, int64_t now)
{
	return session_feed_server(f->s, b->p, b->n, now, collect, &f->got);
}

static int has(const struct diag *d, enum cause_id id)
{
	for (size_t i = 0; i < d->ncauses; i++)
		if (d->causes[i].id == id)
			return 1;
	return 0;
}

static void ws_open(struct wt_buf *b, const char *path)
{
	wt_printf(b,
		  "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		  path);
}

static void tsock_msg(struct wt_buf *b, const char *id, const char *method, const char *tok)
{
	struct wt_buf m = {0};
	char hdr[8192];
	snprintf(hdr, sizeof hdr, "{\"id\":\"%s\",\"method\":\"%s\",\"token\":\"%s\",\"payload_size\":0}", id,
		 method, tok);
	wt_printf(&m, "TWILSOCK V3.0 %zu\r\n%s\r\n", strlen(hdr), hdr);
	wt_frame(b, 1, 0, 2, m.p, m.n, 0);
	wt_free(&m);
}

Test(answer, twilsock_reject_as_predicted)
{
	struct fx f;
	fx_init(&f, "tsock.us1.twilio.com");
	char t[4096];
	wt_token(t, sizeof t, "alice", WT_CHAT_GRANT, WT_NOW - 7200, WT_NOW - 3600);
	struct wt_buf c = {0}, s = {0};
	ws_open(&c, "/v3/wsconnect");
	tsock_msg(&c, "TMa", "init", t);
	wt_printf(&s, UPGRADE_101);
	wt_srv_reply(&s, "TMother", 401, 20101, "Invalid Access Token"); /* another id: no answer */
	wt_srv_reply(&s, "TMa", 401, 20104, "Access Token expired or expiration date invalid");
	cr_assert_eq(cfeed(&f, &c, WT_NOW), 1);
	cr_assert_eq(sfeed(&f, &s, WT_NOW), 1);
	const struct diag *d = &f.got.d[1];
	cr_assert_eq(d->event, DIAG_EV_ANSWER);
	cr_assert_eq(d->answer.server_accept, 0);
	cr_assert_eq(d->answer.status, 401);
	cr_assert_eq(d->answer.code, 20104);
	cr_assert_eq(d->answer.pred_accept, 0);
	cr_assert_eq(d->answer.level, SEV_WARNING, "agrees with a reject");
	cr_assert_eq(d->answer.after_ms, -1, "offline");
	cr_assert_eq(d->ncauses, 0);
	cr_assert_eq(d->answer.npred, 1);
	cr_assert_eq(d->answer.pred[0], CAUSE_EXPIRED);
	cr_assert_str_eq(d->message, "init");
	cr_assert_str_eq(d->token.identity, "alice");
	/* the JSON record, SPEC.md's shape */
	char out[8192];
	struct conn_info ci = {.transport = "tls", .library = "openssl", .peer = "127.0.0.1:1", .pid = 7};
	report_format_json(out, sizeof out, d, &ci);
	cr_assert(strstr(out, "\"event\":\"answer\""), "%s", out);
	cr_assert(strstr(out, "\"server\":{\"verdict\":\"reject\",\"status\":401,\"code\":20104,"), "%s", out);
	cr_assert(strstr(out, "\"prediction\":{\"verdict\":\"reject\",\"causes\":[\"expired\"],\"agrees\":true}"), "%s", out);
	cr_assert(strstr(out, "\"after_ms\":null"), "%s", out);
	report_format_text(out, sizeof out, d, &ci, "", 0);
	cr_assert(strstr(out, "code 20104 (Access Token expired or expiration date invalid); as predicted"), "%s", out);
	cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "one line: %s", out);
	wt_free(&c);
	wt_free(&s);
	fx_free(&f);
}

Test(answer, locally_valid_rejected_with_20103_is_server_rejected)
{
	struct fx f;
	fx_init(&f, "tsock.us1.twilio.com");
	char t[4096];
	wt_token(t, sizeof t, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf c = {0}, s = {0};
	ws_open(&c, "/v3/wsconnect");
	tsock_msg(&c, "TMa", "init", t);
	wt_printf(&s, UPGRADE_101);
	wt_srv_reply(&s, "TMa", 401, 20103, "Invalid Access Token issuer/subject");
	cr_assert_eq(cfeed(&f, &c, WT_NOW), 1);
	cr_assert_eq(f.got.d[0].accept, 1);
	cr_assert_eq(sfeed(&f, &s, WT_NOW + 1), 1);
	const struct diag *d = &f.got.d[1];
	cr_assert_eq(d->answer.level, SEV_ERROR);
	cr_assert(has(d, CAUSE_SERVER_REJECTED));
	cr_assert_eq(d->causes[0].twilio_code, 20103);
	cr_assert(strstr(d->causes[0].text, "deleted"), "%s", d->causes[0].text);
	cr_assert(strstr(d->causes[0].text, "another account"), "%s", d->causes[0].text);
	cr_assert(d->causes[0].fix[0]);
	char out[8192];
	report_format_text(out, sizeof out, d, NULL, "", 0);
	cr_assert(strstr(out, "NOT as predicted: tokshim said accept"), "%s", out);
	wt_free(&c);
	wt_free(&s);
	fx_free(&f);
}

Test(answer, server_accepted_and_late_close_is_no_answer)
{
	struct fx f;
	fx_init(&f, "tsock.us1.twilio.com");
	char t[4096];
	wt_token(t, sizeof t, "alice", "\"video\":{}", WT_NOW - 60, WT_NOW + 3600); /* no chat grant */
	struct wt_buf c = {0}, s = {0}, s2 = {0};
	ws_open(&c, "/v3/wsconnect");
	tsock_msg(&c, "TMa", "init", t);
	wt_printf(&s, UPGRADE_101);
	wt_srv_reply(&s, "TMa", 200, 0, "");
	wt_srv_tsock(&s2, "{\"method\":\"close\",\"id\":\"TMz\",\"status\":{\"code\":410,\"status\":\"GONE\","
		       "\"errorCode\":51207,\"description\":\"Token expired\"}}");
	cr_assert_eq(cfeed(&f, &c, WT_NOW), 1);
	cr_assert_eq(f.got.d[0].accept, 0);
	cr_assert_eq(sfeed(&f, &s, WT_NOW), 1);
	cr_assert(has(&f.got.d[1], CAUSE_SERVER_ACCEPTED));
	cr_assert_eq(f.got.d[1].answer.level, SEV_WARNING);
	cr_assert(strstr(f.got.d[1].causes[0].text, "grant_missing"), "%s", f.got.d[1].causes[0].text);
	/* a close long after the accepted init: no answer, no server_rejected */
	size_t before = f.got.n;
	sfeed(&f, &s2, WT_NOW + 1000);
	for (size_t i = before; i < f.got.n && i < MAXD; i++)
		cr_assert_neq(f.got.d[i].event, DIAG_EV_ANSWER);
	wt_free(&c);
	wt_free(&s);
	wt_free(&s2);
	fx_free(&f);
}

/* The session of that connection when the shim saw neither the upgrade nor
 * the 101 (a client that wrote its upgrade from inside SSL_read, before the
 * fix of the TLS hooks' guard): the init frame, then the server's first
 * frame compressed. The answer is still the init's. */
Test(answer, upgrade_unseen_compressed_reply_answers)
{
	struct fx f;
	fx_init(&f, "localhost");
	char t[4096];
	wt_token(t, sizeof t, "alice", WT_SYNC_GRANT, WT_NOW - 7200, WT_NOW - 3600);
	struct wt_buf c = {0}, s = {0};
	tsock_msg(&c, "TMa218a63f-5665-4510-930b-880378f2e30d", "init", t);
	wt_put(&s, node_reply_unseen, sizeof node_reply_unseen);
	wt_put(&s, node_close, sizeof node_close);
	cr_assert_eq(cfeed(&f, &c, WT_NOW), 1);
	sfeed(&f, &s, WT_NOW);
	cr_assert_eq(f.got.n, 2);
	const struct diag *d = &f.got.d[1];
	cr_assert_eq(d->event, DIAG_EV_ANSWER);
	cr_assert_eq(d->answer.status, 401);
	cr_assert_eq(d->answer.code, 20104);
	cr_assert_eq(d->answer.pred_accept, 0, "predicted: expired");
	cr_assert_str_eq(d->message, "init");
	wt_free(&c);
	wt_free(&s);
	fx_free(&f);
}

Test(answer, refresh_missing_after_token_about_to_expire)
{
	struct fx f;
	fx_init(&f, "tsock.us1.twilio.com");
	char t[4096], t2[4096];
	wt_token(t, sizeof t, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 600);
	wt_token(t2, sizeof t2, "alice", WT_CHAT_GRANT, WT_NOW + 400, WT_NOW + 4000);
	struct wt_buf c = {0}, s = {0}, warn = {0}, ping = {0}, upd = {0};
	ws_open(&c, "/v3/wsconnect");
	tsock_msg(&c, "TMa", "init", t);
	wt_printf(&s, UPGRADE_101);
	wt_srv_reply(&s, "TMa", 200, 0, "");
	wt_srv_tsock(&warn, "{\"method\":\"client_update\",\"id\":\"TMw\",\"client_update_type\":\"token_about_to_expire\"}");
	wt_srv_frame(&ping, 0, 9, "", 0);
	cr_assert_eq(cfeed(&f, &c, WT_NOW), 1);
	cr_assert_eq(sfeed(&f, &s, WT_NOW), 1, "an accept that agrees");
	cr_assert_eq(f.got.d[1].answer.level, SEV_INFO);
	cr_assert_eq(sfeed(&f, &warn, WT_NOW + 420), 0);
	cr_assert_eq(sfeed(&f, &ping, WT_NOW + 600), 0, "not past exp");
	cr_assert_eq(sfeed(&f, &ping, WT_NOW + 601), 1, "a read past exp: refresh_missing");
	const struct diag *d = &f.got.d[f.got.n - 1];
	cr_assert_eq(d->event, DIAG_EV_LIFETIME);
	cr_assert(has(d, CAUSE_REFRESH_MISSING));
	cr_assert(strstr(d->causes[0].text, "token_about_to_expire"), "%s", d->causes[0].text);
	cr_assert(strstr(d->causes[0].fix, "tokenAboutToExpire"), "%s", d->causes[0].fix);
	cr_assert(strstr(d->causes[0].fix, "updateToken"));
	cr_assert(strstr(d->causes[0].fix, "tokenWillExpire"));
	cr_assert_eq(sfeed(&f, &ping, WT_NOW + 700), 0, "once");
	fx_free(&f);

	/* the control: the app calls updateToken after the warning */
	fx_init(&f, "tsock.us1.twilio.com");
	tsock_msg(&upd, "TMu", "update", t2);
	cr_assert_eq(cfeed(&f, &c, WT_NOW), 1);
	sfeed(&f, &s, WT_NOW);
	sfeed(&f, &warn, WT_NOW + 420);
	cr_assert_eq(cfeed(&f, &upd, WT_NOW + 430), 1);
	size_t n = f.got.n;
	sfeed(&f, &ping, WT_NOW + 601);
	cfeed(&f, &ping, WT_NOW + 700);
	for (size_t i = n; i < f.got.n && i < MAXD; i++)
		cr_assert(!has(&f.got.d[i], CAUSE_REFRESH_MISSING) && !has(&f.got.d[i], CAUSE_EXPIRED_IN_USE));
	fx_free(&f);
	wt_free(&c);
	wt_free(&s);
	wt_free(&warn);
	wt_free(&ping);
	wt_free(&upd);
}

Test(answer, voice_31205_and_video_error)
{
	struct fx f;
	fx_init(&f, "voice-js.roaming.twilio.com");
	char t[4096];
	wt_token(t, sizeof t, "alice_1", WT_VOICE_GRANT, WT_NOW - 7200, WT_NOW - 3600);
	struct wt_buf c = {0}, s = {0}, m = {0};
	ws_open(&c, "/signal");
	wt_printf(&m, "{\"type\":\"listen\",\"version\":\"1.6\",\"payload\":{\"token\":\"%s\"}}", t);
	wt_frame(&c, 1, 0, 1, m.p, m.n, 0);
	wt_printf(&s, UPGRADE_101);
	const char *other = "{\"type\":\"error\",\"payload\":{\"error\":{\"code\":31000,\"message\":\"general\"}}}";
	wt_srv_frame(&s, 0, 1, other, strlen(other)); /* not a token code: no answer */
	const char *err = "{\"type\":\"error\",\"payload\":{\"error\":{\"code\":31205,\"message\":\"JWT token expired\"}}}";
	wt_srv_frame(&s, 0, 1, err, strlen(err));
	cr_assert_eq(cfeed(&f, &c, WT_NOW), 1);
	cr_assert_eq(sfeed(&f, &s, WT_NOW), 1);
	cr_assert_eq(f.got.d[1].answer.code, 31205);
	cr_assert_eq(f.got.d[1].answer.pred_accept, 0);
	char out[4096];
	report_format_text(out, sizeof out, &f.got.d[1], NULL, "", 0);
	cr_assert(strstr(out, "SERVER REJECTED voice listen: code 31205 (JWT token expired); as predicted (expired)"), "%s", out);
	report_format_kv(out, sizeof out, &f.got.d[1], NULL);
	cr_assert(strstr(out, "event=answer server=reject code=31205 predicted=reject agrees=yes"), "%s", out);
	fx_free(&f);
	wt_free(&c);
	wt_free(&s);
	wt_free(&m);
}

/* The real Voice SDK (@twilio/voice-sdk 2.18.5): its listen as it sends it
 * (payload first, then type and version), the session started at that
 * frame (the upgrade unseen), the server's compressed 31205 error next. */
Test(answer, voice_sdk_listen_then_compressed_31205_without_handshake)
{
	struct fx f;
	fx_init(&f, NULL);
	char t[4096];
	wt_token(t, sizeof t, "alice", WT_VOICE_GRANT, WT_NOW - 7200, WT_NOW - 3600);
	struct wt_buf c = {0}, s = {0}, m = {0};
	wt_printf(&m,
		  "{\"payload\":{\"browserinfo\":{\"browser\":{\"platform\":\"linux\",\"userAgent\":"
		  "\"Node.js v20.20.2\"},\"p\":\"browser\",\"plugin\":\"rtc\",\"v\":\"2.18.5\"},"
		  "\"reconnectTimeout\":0,\"token\":\"%s\"},\"type\":\"listen\",\"version\":\"1.6\"}",
		  t);
	wt_frame(&c, 1, 0, 1, m.p, m.n, 0);
	put_hex(&s, voice_err_deflated_hex);
	cr_assert_eq(cfeed(&f, &c, WT_NOW), 1);
	cr_assert_eq(f.got.d[0].channel, CHANNEL_VOICE);
	cr_assert_str_eq(f.got.d[0].message, "listen");
	cr_assert_eq(sfeed(&f, &s, WT_NOW), 1);
	cr_assert_eq(f.got.n, 2);
	cr_assert_eq(f.got.d[1].event, DIAG_EV_ANSWER);
	cr_assert_eq(f.got.d[1].answer.code, 31205);
	cr_assert_eq(f.got.d[1].answer.pred_accept, 0);
	fx_free(&f);
	wt_free(&c);
	wt_free(&s);
	wt_free(&m);
}

/* The same SDK with a good token, its stream seen from the listen on: the
 * server's `connected` then `ready` (the answer to the SDK's register),
 * both compressed with context takeover, as captured: one answer, an
 * accept as predicted, named by the reply. */
static const char voice_ok_deflated_hex[] =
	"c16b4c8cc10ac23010447fa5ec590a220af56f4232c4a5dbdd12172194fcbb4df0e071de9b9983bceea0e744d154111d"
	"892e137d50de6cdaf9757e74b2872a16d2490e2ac83f9945ba44cae3a358d85873472fdbf0d7705ba163cc09eaecb5cb"
	"201c31b4cb996ff76569ad7d01c10faa86bba9283531a592a07b6a6b01008800";

Test(answer, voice_sdk_good_listen_connected_then_ready_without_handshake)
{
	struct fx f;
	fx_init(&f, NULL);
	char t[4096];
	wt_token(t, sizeof t, "alice", WT_VOICE_GRANT, WT_NOW - 60, WT_NOW + 3540);
	struct wt_buf c = {0}, s = {0}, m = {0};
	wt_printf(&m,
		  "{\"payload\":{\"browserinfo\":{\"browser\":{\"platform\":\"linux\",\"userAgent\":"
		  "\"Node.js v20.20.2\"},\"p\":\"browser\",\"plugin\":\"rtc\",\"v\":\"2.18.5\"},"
		  "\"reconnectTimeout\":0,\"token\":\"%s\"},\"type\":\"listen\",\"version\":\"1.6\"}",
		  t);
	wt_frame(&c, 1, 0, 1, m.p, m.n, 0);
	const char *reg = "{\"payload\":{\"media\":{\"audio\":true}},\"type\":\"register\",\"version\":\"1.6\"}";
	wt_frame(&c, 1, 0, 1, reg, strlen(reg), 0);
	put_hex(&s, voice_ok_deflated_hex);
	cr_assert_eq(cfeed(&f, &c, WT_NOW), 1);
	cr_assert_eq(f.got.d[0].accept, 1);
	cr_assert_eq(sfeed(&f, &s, WT_NOW), 1);
	cr_assert_eq(f.got.n, 2);
	cr_assert_eq(f.got.d[1].event, DIAG_EV_ANSWER);
	cr_assert_eq(f.got.d[1].answer.server_accept, 1);
	cr_assert_eq(f.got.d[1].answer.pred_accept, 1);
	cr_assert_eq(f.got.d[1].ncauses, 0);
	char out[4096];
	report_format_text(out, sizeof out, &f.got.d[1], NULL, "", 0);
	cr_assert(strstr(out, "SERVER ACCEPTED voice listen: connected; as predicted"), "%s", out);
	fx_free(&f);
	wt_free(&c);
	wt_free(&s);
	wt_free(&m);
}

/* A register sent right behind the listen (SDKs before 2.18 replayed a
 * queued one on reconnect, and a registration timer could tick there):
 * Twilio rejects it with 31204 while the listen's token is still being
 * validated. That 31204 is not the listen's verdict: the `connected` after
 * it is, an accept, with no server_rejected. With no register since the
 * listen, a 31204 is the listen's answer. */
Test(answer, voice_31204_after_a_register_is_not_the_listens_answer)
{
	char t[4096];
	wt_token(t, sizeof t, "alice", WT_VOICE_GRANT, WT_NOW - 60, WT_NOW + 3540);
	struct wt_buf m = {0};
	wt_printf(&m, "{\"payload\":{\"reconnectTimeout\":0,\"token\":\"%s\"},\"type\":\"listen\",\"version\":\"1.6\"}",
		  t);
	const char *reg = "{\"payload\":{\"media\":{\"audio\":true}},\"type\":\"register\",\"version\":\"1.6\"}";
	const char *e31204 = "{\"type\":\"error\",\"payload\":{\"error\":{\"code\":31204,\"message\":\"JWT is invalid\"}}}";
	const char *conn = "{\"type\":\"connected\",\"payload\":{\"region\":\"gll\"}}";
	for (int with_register = 0; with_register <= 1; with_register++) {
		struct fx f;
		fx_init(&f, "voice-js.roaming.twilio.com");
		struct wt_buf c = {0}, s = {0};
		ws_open(&c, "/signal");
		wt_frame(&c, 1, 0, 1, m.p, m.n, 0);
		if (with_register)
			wt_frame(&c, 1, 0, 1, reg, strlen(reg), 0);
		wt_printf(&s, UPGRADE_101);
		wt_srv_frame(&s, 0, 1, e31204, strlen(e31204));
		wt_srv_frame(&s, 0, 1, conn, strlen(conn));
		cr_assert_eq(cfeed(&f, &c, WT_NOW), 1);
		cr_assert_eq(sfeed(&f, &s, WT_NOW), 1, "with_register %d", with_register);
		cr_assert_eq(f.got.n, 2);
		const struct diag *a = &f.got.d[1];
		cr_assert_eq(a->event, DIAG_EV_ANSWER);
		if (with_register) {
			cr_assert_eq(a->answer.server_accept, 1);
			cr_assert_eq(a->ncauses, 0);
		} else {
			cr_assert_eq(a->answer.server_accept, 0);
			cr_assert_eq(a->answer.code, 31204);
			cr_assert(has(a, CAUSE_SERVER_REJECTED));
		}
		fx_free(&f);
		wt_free(&c);
		wt_free(&s);
	}
	wt_free(&m);
}

Test(answer, http_keepalive_order_and_refused_upgrade)
{
	struct fx f;
	fx_init(&f, NULL);
	char t[4096];
	wt_token(t, sizeof t, "alice", WT_VIDEO_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf c = {0}, s = {0};
	wt_printf(&c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
	wt_printf(&c, "GET /b HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: %s\r\n\r\n", t);
	wt_printf(&s, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	const char *body = "{\"code\":20103,\"message\":\"x\",\"status\":401} ";
	wt_printf(&s, "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		  strlen(body), body);
	cr_assert_eq(cfeed(&f, &c, WT_NOW), 1);
	cr_assert_eq(sfeed(&f, &s, WT_NOW), 1, "the second response answers the second request");
	cr_assert_eq(f.got.d[1].answer.status, 401);
	cr_assert_eq(f.got.d[1].answer.code, 20103);
	cr_assert(has(&f.got.d[1], CAUSE_SERVER_REJECTED));
	fx_free(&f);
	wt_free(&c);
	wt_free(&s);

	/* a token in the URL of a WebSocket upgrade, refused */
	fx_init(&f, NULL);
	memset(&c, 0, sizeof c);
	memset(&s, 0, sizeof s);
	wt_printf(&c, "GET /v3/wsconnect?token=%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
		      "Connection: Upgrade\r\nSec-WebSocket-Key: a\r\nSec-WebSocket-Version: 13\r\n\r\n", t);
	wt_printf(&s, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
	cr_assert_eq(cfeed(&f, &c, WT_NOW), 1);
	cr_assert_eq(sfeed(&f, &s, WT_NOW), 1);
	cr_assert_str_eq(f.got.d[1].message, "query");
	cr_assert_eq(f.got.d[1].answer.server_accept, 0);
	fx_free(&f);
	wt_free(&c);
	wt_free(&s);
}

Test(answer, sip_ack_gets_no_response)
{
	struct fx f;
	fx_init(&f, NULL);
	char t[4096];
	wt_token(t, sizeof t, "alice_1", WT_VOICE_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf c = {0}, s = {0};
	wt_printf(&c, "INVITE sip:a@x SIP/2.0\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
	wt_printf(&c, "ACK sip:a@x SIP/2.0\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n");
	wt_printf(&c, "SIP/2.0 200 OK\r\nCSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n"); /* to the server's OPTIONS */
	wt_printf(&c, "INVITE sip:a@x SIP/2.0\r\nCSeq: 2 INVITE\r\nX-Twilio-AccessToken: %s\r\nContent-Length: 0\r\n\r\n", t);
	wt_printf(&s, "SIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\nSIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
	wt_printf(&s, "OPTIONS sip:c@x SIP/2.0\r\nCSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n");
	wt_printf(&s, "SIP/2.0 403 Forbidden\r\nX-Twilio-Error: 20103 Invalid\r\nContent-Length: 0\r\n\r\n");
	cr_assert_eq(cfeed(&f, &c, WT_NOW), 1);
	cr_assert_eq(sfeed(&f, &s, WT_NOW), 1, "the 403 answers the second INVITE");
	cr_assert_eq(f.got.d[1].answer.status, 403);
	cr_assert_str_eq(f.got.d[1].message, "invite");
	fx_free(&f);
	wt_free(&c);
	wt_free(&s);
}

Test(answer, no_questions_without_reading)
{
	struct fx f;
	fx_init(&f, NULL);
	f.cfg.no_answers = 1;
	session_release(f.s);
	session_init(f.s, &f.cfg, 1);
	char t[4096];
	wt_token(t, sizeof t, "alice", WT_VIDEO_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf c = {0}, s = {0};
	wt_printf(&c, "GET /b HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: %s\r\n\r\n", t);
	wt_printf(&s, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
	cr_assert_eq(cfeed(&f, &c, WT_NOW), 1);
	cr_assert_eq(sfeed(&f, &s, WT_NOW), 0);
	fx_free(&f);
	wt_free(&c);
	wt_free(&s);
}

Test(answer, server_code_table)
{
	static const int codes[] = {20101, 20102, 20103, 20104, 20105, 20106, 20107, 20151, 20157, 31202, 31203,
				    31204, 31205, 31206, 31207, 51103, 51104, 51105, 51106, 51110, 51114, 51115,
				    51116, 51117, 51118, 51119, 51120, 51121};
	for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
		const struct server_code *c = server_code_find(codes[i]);
		cr_assert(c, "code %d missing", codes[i]);
		cr_assert(c->meaning[0] && c->explain[0] && c->fix[0], "code %d", codes[i]);
		cr_assert(server_code_is_token(codes[i]));
	}
	cr_assert(strstr(server_code_find(51104)->explain, "does not exist"));
	cr_assert(strstr(server_code_find(51106)->explain, "another product"));
	cr_assert(!server_code_find(404));
	cr_assert(!server_code_is_token(31000));
}

Test(answer, secrets_file_account_column)
{
	struct keyring *kr = keyring_new();
	struct tk_error e = {0};
	const char *file = WT_KEY " " WT_SECRET " ACfedcba9876543210fedcba9876543210\n";
	cr_assert_eq(keyring_add_lines(kr, file, strlen(file), &e), 1, "%s", e.msg);
	struct vconfig v;
	vconfig_init(&v);
	v.keys = kr;
	char t[4096];
	wt_token(t, sizeof t, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct diag d;
	validate(t, strlen(t), WT_NOW, &v, &d);
	cr_assert_eq(d.accept, 0);
	int found = 0;
	for (size_t i = 0; i < d.ncauses; i++) {
		if (d.causes[i].id != CAUSE_ACCOUNT_MISMATCH)
			continue;
		found = 1;
		cr_assert(strstr(d.causes[i].text, WT_ACCOUNT), "%s", d.causes[i].text);
		cr_assert(strstr(d.causes[i].text, "ACfedcba9876543210fedcba9876543210"), "%s", d.causes[i].text);
		cr_assert(!strstr(d.causes[i].text, WT_SECRET));
	}
	cr_assert(found);
	keyring_free(kr);
	/* the right account: no mismatch */
	kr = keyring_new();
	file = WT_KEY " " WT_SECRET " " WT_ACCOUNT "\n";
	cr_assert_eq(keyring_add_lines(kr, file, strlen(file), &e), 1);
	v.keys = kr;
	validate(t, strlen(t), WT_NOW, &v, &d);
	cr_assert_eq(d.accept, 1);
	keyring_free(kr);
}

/* The read path's fast path (ws_frame_take on the server's frame state, as
 * shim_feed_read uses it) gives the same answers as feeding every byte, at
 * any split: bulk binary frames between the replies are taken by length. */
static size_t feed_fast(struct fx *f, const unsigned char *p, size_t n, const size_t *cuts, size_t ncuts)
{
	size_t prev = 0, taken = 0;
	for (size_t c = 0; c <= ncuts; c++) {
		size_t end = c < ncuts ? cuts[c] : n;
		const unsigned char *q = p + prev;
		size_t len = end - prev;
		struct ws_frame *wf = session_server_frame(f->s);
		if (wf && wf->open) {
			size_t k = ws_frame_take(wf, q, len);
			taken += k;
			q += k;
			len -= k;
		}
		if (len)
			session_feed_server(f->s, q, len, WT_NOW, collect, &f->got);
		prev = end;
	}
	return taken;
}

Test(answer, read_fast_path_differential)
{
	char t[4096], t2[4096];
	wt_token(t, sizeof t, "alice", WT_CHAT_GRANT, WT_NOW - 7200, WT_NOW - 3600);
	wt_token(t2, sizeof t2, "alice", WT_CHAT_GRANT, WT_NOW - 7100, WT_NOW - 3500);
	struct wt_buf c = {0}, s = {0};
	ws_open(&c, "/v3/wsconnect");
	tsock_msg(&c, "TMa", "init", t);
	tsock_msg(&c, "TMb", "update", t2);
	wt_printf(&s, UPGRADE_101);
	unsigned char bulk[3000];
	memset(bulk, 'B', sizeof bulk);
	wt_srv_frame(&s, 0, 2, bulk, sizeof bulk);
	wt_srv_frame(&s, 0, 10, "", 0);
	wt_srv_reply(&s, "TMa", 401, 20104, "Access Token expired or expiration date invalid");
	wt_srv_frame(&s, 0, 2, bulk, 200);
	wt_srv_frame(&s, 0, 2, bulk, sizeof bulk);
	wt_srv_reply(&s, "TMb", 401, 20104, "Access Token expired or expiration date invalid");
	wt_srv_frame(&s, 0, 2, bulk, sizeof bulk);

	struct fx whole;
	fx_init(&whole, "tsock.us1.twilio.com");
	cfeed(&whole, &c, WT_NOW);
	sfeed(&whole, &s, WT_NOW);
	cr_assert_eq(whole.got.n, 4, "the init's and update's records and two answers, got %zu", whole.got.n);
	cr_assert_eq(whole.got.d[2].event, DIAG_EV_ANSWER);
	cr_assert_str_eq(whole.got.d[3].message, "update");
	uint64_t seed = 7;
	size_t cuts[64], total_taken = 0;
	for (int round = 0; round < 200; round++) {
		size_t nc = 0, at = 0;
		while (nc < 64) {
			at += 1 + wt_rand(&seed) % (round < 100 ? 64 : 3100);
			if (at >= s.n)
				break;
			cuts[nc++] = at;
		}
		struct fx f;
		fx_init(&f, "tsock.us1.twilio.com");
		cfeed(&f, &c, WT_NOW);
		total_taken += feed_fast(&f, (const unsigned char *)s.p, s.n, cuts, nc);
		cr_assert_eq(f.got.n, whole.got.n, "round %d", round);
		for (size_t i = 0; i < whole.got.n; i++) {
			cr_assert_eq(f.got.d[i].event, whole.got.d[i].event, "round %d record %zu", round, i);
			cr_assert_eq(f.got.d[i].answer.code, whole.got.d[i].answer.code, "round %d record %zu: %d vs %d", round, i, f.got.d[i].answer.code, whole.got.d[i].answer.code);
			cr_assert_str_eq(f.got.d[i].message, whole.got.d[i].message);
		}
		fx_free(&f);
	}
	cr_assert(total_taken > 0, "the fast path took bulk frames");
	fx_free(&whole);
	wt_free(&c);
	wt_free(&s);
}
