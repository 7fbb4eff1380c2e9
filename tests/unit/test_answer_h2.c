/* HTTP/2 answers: the server direction's frames and header blocks
 * (decode/wire_srv.c over decode/wire_h2.c, H2_SERVER) and the session's
 * answer records matched per stream. The server's header blocks are made by
 * libnghttp2's own HPACK encoder (nghttp2_hd_deflate_*), its dynamic table
 * in use, so the inflater's state has to be carried right across blocks. */
#include <criterion/criterion.h>
#include <nghttp2/nghttp2.h>
#include <string.h>

#include "decode/session.h"
#include "decode/wire_h2.h"
#include "decode/wire_srv.h"
#include "tests/unit/session_testlib.h"

static const struct wire_config h2cfg = {.hpack = h2_hpack_static};

static void frame(struct wt_buf *b, uint8_t type, uint8_t flags, uint32_t stream, const void *p,
		  size_t n)
{
	uint8_t h[9] = {(uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, type, flags,
			(uint8_t)(stream >> 24), (uint8_t)(stream >> 16), (uint8_t)(stream >> 8),
			(uint8_t)stream};
	wt_put(b, h, 9);
	if (n)
		wt_put(b, p, n);
}

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}

/* One header block from def, as HEADERS (+ CONTINUATIONs when parts > 1). */
static void block(struct wt_buf *b, nghttp2_hd_deflater *def, uint32_t stream, nghttp2_nv *nv,
		  size_t nnv, int parts, int end_stream)
{
	uint8_t blk[8192];
	ssize_t n = nghttp2_hd_deflate_hd(def, blk, sizeof blk, nv, nnv);
	cr_assert_gt(n, 0);
	size_t per = ((size_t)n + (size_t)parts - 1) / (size_t)parts, off = 0;
	for (int i = 0; off < (size_t)n; i++) {
		size_t k = (size_t)n - off < per ? (size_t)n - off : per;
		int last = off + k == (size_t)n;
		uint8_t flags = (uint8_t)((last ? 0x4 : 0) | (i == 0 && end_stream ? 0x1 : 0));
		frame(b, i == 0 ? 1 : 9, flags, stream, blk + off, k);
		off += k;
	}
}

static void server_preface(struct wt_buf *b)
{
	/* SETTINGS: HEADER_TABLE_SIZE 4096, MAX_CONCURRENT_STREAMS 100; the ACK of the client's */
	static const uint8_t s[] = {0, 1, 0, 0, 0x10, 0, 0, 3, 0, 0, 0, 100};
	frame(b, 4, 0, 0, s, sizeof s);
	frame(b, 4, 1, 0, NULL, 0);
	static const uint8_t wu[] = {0, 0x0f, 0, 1};
	frame(b, 8, 0, 0, wu, sizeof wu);
}

static void body(struct wt_buf *b, uint32_t stream, const char *s, int padded, int end)
{
	size_t n = strlen(s);
	if (padded) {
		struct wt_buf f = {0};
		uint8_t pad = 5;
		static const uint8_t zeros[5];
		wt_put(&f, &pad, 1);
		wt_put(&f, s, n);
		wt_put(&f, zeros, pad);
		frame(b, 0, (uint8_t)(0x8 | (end ? 1 : 0)), stream, f.p, f.n);
		wt_free(&f);
	} else {
		frame(b, 0, end ? 1 : 0, stream, s, n);
	}
}

#define BODY_20104 "{\"code\":20104,\"message\":\"Access Token expired or expiration date invalid\",\"more_info\":\"https://www.twilio.com/docs/errors/20104\",\"status\":401}"
#define BODY_20103 "{\"code\":20103,\"message\":\"Invalid Access Token issuer/subject\",\"status\":401}"

/* The server's side of a connection with responses on streams 1, 3, 5, 7,
 * 9 (9 not asked for), interleaved, in every framing the decoder follows. */
static void server_stream(struct wt_buf *s)
{
	nghttp2_hd_deflater *def;
	cr_assert_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	server_preface(s);
	/* stream 1: 100 Continue first, then 401 with Twilio's JSON body in two DATA frames */
	nghttp2_nv cont[] = {NV(":status", "100")};
	block(s, def, 1, cont, 1, 1, 0);
	nghttp2_nv r401[] = {NV(":status", "401"), NV("content-type", "application/json; charset=utf-8"),
			     NV("twilio-request-id", "RQ0123456789abcdef0123456789abcdef")};
	block(s, def, 1, r401, 3, 1, 0);
	/* stream 3: 200, no body (END_STREAM on HEADERS, the block over three frames) */
	nghttp2_nv r200[] = {NV(":status", "200"), NV("content-type", "application/json"),
			     NV("content-length", "0")};
	block(s, def, 3, r200, 3, 3, 1);
	/* stream 9: not asked for; a big body skipped */
	block(s, def, 9, r401, 3, 1, 0);
	char big[3000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	body(s, 9, big, 0, 1);
	/* interleaved bodies of 1 and 5; 5's ends with an empty DATA frame */
	body(s, 1, "{\"code\":20104,\"message\":\"Access Token expired", 0, 0);
	block(s, def, 5, r401, 3, 2, 0);
	body(s, 5, BODY_20103, 0, 0);
	static const uint8_t ping[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	frame(s, 6, 0, 0, ping, sizeof ping);
	body(s, 1, " or expiration date invalid\",\"status\":401}", 1, 1);
	body(s, 5, "", 0, 1);
	/* stream 7: reset by the server */
	static const uint8_t rst[4] = {0, 0, 0, 2};
	frame(s, 3, 0, 7, rst, sizeof rst);
	/* stream 11: 401 with a body and trailers ending the stream */
	block(s, def, 11, r401, 3, 1, 0);
	body(s, 11, BODY_20104, 0, 0);
	nghttp2_nv trailers[] = {NV("x-trailer", "1")};
	block(s, def, 11, trailers, 1, 1, 1);
	nghttp2_hd_deflate_del(def);
}

#define MAXE 12
struct evs {
	size_t n;
	struct srv_event e[MAXE];
};

static void feed_cuts(const unsigned char *p, size_t n, const size_t *cuts, size_t ncuts, struct evs *out)
{
	struct wire_srv *w = malloc(wire_srv_sizeof());
	wire_srv_init(w, &h2cfg);
	static const unsigned streams[] = {1, 3, 5, 7, 11};
	for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++)
		wire_srv_h2_want(w, streams[i]);
	memset(out, 0, sizeof *out);
	size_t prev = 0;
	for (size_t c = 0; c <= ncuts; c++) {
		size_t end = c < ncuts ? cuts[c] : n;
		size_t off = prev;
		for (;;) {
			struct srv_event ev;
			size_t k = wire_srv_feed(w, p + off, end - off, &ev);
			cr_assert_leq(k, end - off);
			off += k;
			if (ev.kind == SRV_EV_NONE) {
				cr_assert_eq(off, end, "all consumed unless an event stopped it");
				break;
			}
			cr_assert_lt(out->n, MAXE);
			out->e[out->n++] = ev;
		}
		prev = end;
	}
	cr_assert_not(wire_srv_passthrough(w), "the direction is still followed");
	wire_srv_release(w);
	free(w);
}

static int evs_eq(const struct evs *a, const struct evs *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (a->e[i].kind != b->e[i].kind || a->e[i].stream != b->e[i].stream ||
		    a->e[i].status != b->e[i].status || a->e[i].code != b->e[i].code ||
		    strcmp(a->e[i].text, b->e[i].text))
			return 0;
	return 1;
}

Test(answer_h2, decoder_streams_whole_bytes_and_splits)
{
	struct wt_buf s = {0};
	server_stream(&s);
	struct evs whole, other;
	feed_cuts(s.p, s.n, NULL, 0, &whole);
	cr_assert_eq(whole.n, 5, "events: %zu", whole.n);
	/* in the order the responses completed */
	cr_assert_eq(whole.e[0].stream, 3);
	cr_assert_eq(whole.e[0].status, 200);
	cr_assert_eq(whole.e[0].code, 0);
	cr_assert_eq(whole.e[1].stream, 1);
	cr_assert_eq(whole.e[1].kind, SRV_EV_HTTP);
	cr_assert_eq(whole.e[1].status, 401, "the 100 before it is not the answer");
	cr_assert_eq(whole.e[1].code, 20104);
	cr_assert_str_eq(whole.e[1].text, "Access Token expired or expiration date invalid");
	cr_assert_eq(whole.e[2].stream, 5);
	cr_assert_eq(whole.e[2].status, 401);
	cr_assert_eq(whole.e[2].code, 20103, "ended by an empty DATA frame");
	cr_assert_eq(whole.e[3].stream, 7);
	cr_assert_eq(whole.e[3].status, 0, "a reset stream: no status");
	cr_assert_eq(whole.e[4].stream, 11);
	cr_assert_eq(whole.e[4].code, 20104, "ended by trailers");

	size_t *cuts = malloc(s.n * sizeof *cuts);
	for (size_t i = 0; i + 1 < s.n; i++)
		cuts[i] = i + 1;
	feed_cuts(s.p, s.n, cuts, s.n - 1, &other);
	cr_assert(evs_eq(&whole, &other), "byte by byte");
	uint64_t seed = 15;
	for (int round = 0; round < 60; round++) {
		size_t nc = 1 + wt_rand(&seed) % 24;
		for (size_t i = 0; i < nc; i++)
			cuts[i] = wt_rand(&seed) % s.n;
		for (size_t i = 1; i < nc; i++) /* sort */
			for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
				size_t t = cuts[j];
				cuts[j] = cuts[j - 1];
				cuts[j - 1] = t;
			}
		feed_cuts(s.p, s.n, cuts, nc, &other);
		cr_assert(evs_eq(&whole, &other), "random splits, round %d", round);
	}
	free(cuts);
	wt_free(&s);
}

static int hpack_asked;
static const struct h2_hpack_ops *counted_hpack(void)
{
	hpack_asked++;
	return h2_hpack_static();
}

Test(answer_h2, without_hpack_or_not_http2)
{
	struct wt_buf s = {0};
	server_stream(&s);
	struct wire_srv *w = malloc(wire_srv_sizeof());
	wire_srv_init(w, NULL);
	wire_srv_h2_want(w, 1);
	struct srv_event ev;
	cr_assert_eq(wire_srv_feed(w, s.p, s.n, &ev), s.n);
	cr_assert_eq(ev.kind, SRV_EV_NONE);
	cr_assert(wire_srv_passthrough(w), "no HPACK decoder: not read");
	wire_srv_release(w);
	/* a stream that starts with a zero byte but not with a SETTINGS frame:
	 * not HTTP/2, and libnghttp2 is not even asked for */
	static const uint8_t not_settings[][9] = {
		{0, 0, 0, 4, 1, 0, 0, 0, 0},  /* a SETTINGS ACK */
		{0, 0, 6, 4, 0, 0, 0, 0, 1},  /* on a stream */
		{0, 0, 5, 4, 0, 0, 0, 0, 0},  /* not entries of 6 bytes */
		{0, 0, 4, 1, 4, 0, 0, 0, 1},  /* HEADERS first */
		{0, 1, 2, 3, 4, 5, 6, 7, 8},  /* binary */
	};
	static const struct wire_config counting = {.hpack = counted_hpack};
	for (size_t i = 0; i < sizeof not_settings / sizeof not_settings[0]; i++) {
		wire_srv_init(w, &counting);
		hpack_asked = 0;
		for (size_t b = 0; b < 9; b++) /* byte by byte: the header is kept across reads */
			cr_assert_eq(wire_srv_feed(w, not_settings[i] + b, 1, &ev), 1);
		cr_assert(wire_srv_passthrough(w), "case %zu", i);
		cr_assert_eq(hpack_asked, 0, "case %zu", i);
		wire_srv_release(w);
	}
	/* broken framing after a good start: given up, no event */
	wire_srv_init(w, &h2cfg);
	wire_srv_h2_want(w, 1);
	static const uint8_t bad[] = {0, 0, 0, 4, 0, 0, 0, 0, 0, /* SETTINGS */
				      0, 0, 5, 4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5 /* SETTINGS of 5 bytes */};
	cr_assert_eq(wire_srv_feed(w, bad, sizeof bad, &ev), sizeof bad);
	cr_assert_eq(ev.kind, SRV_EV_NONE);
	cr_assert(wire_srv_passthrough(w));
	wire_srv_release(w);
	free(w);
	wt_free(&s);
}

/* ---- the session: tokens on streams, answers per stream ---- */

struct fx {
	struct keyring *kr;
	struct session_config cfg;
	struct session *s;
	struct got got;
};

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof *f);
	f->kr = st_config(&f->cfg, NULL);
	f->cfg.w.hpack = h2_hpack_static;
	f->s = st_session(&f->cfg, NULL);
}

static void fx_free(struct fx *f)
{
	session_release(f->s);
	free(f->s);
	keyring_free(f->kr);
}

static void client_request(struct wt_buf *c, nghttp2_hd_deflater *def, uint32_t stream, const char *tok)
{
	nghttp2_nv nv[] = {NV(":method", "GET"), NV(":scheme", "https"), NV(":path", "/v1/Configuration"),
			   NV(":authority", "insights.twilio.com"), NV("x-twilio-token", tok)};
	block(c, def, stream, nv, 5, 1, 1);
}

static void client_stream(struct wt_buf *c, const char *expired, const char *good1, const char *good2)
{
	nghttp2_hd_deflater *def;
	cr_assert_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	wt_put(c, H2_PREFACE, H2_PREFACE_LEN);
	static const uint8_t s[] = {0, 2, 0, 0, 0, 0};
	frame(c, 4, 0, 0, s, sizeof s);
	client_request(c, def, 1, expired);
	client_request(c, def, 3, good1);
	client_request(c, def, 5, good2);
	nghttp2_hd_deflate_del(def);
}

/* the server: 200 on 3, 401 20104 on 1, 401 20103 on 5 (out of order) */
static void session_server(struct wt_buf *s)
{
	nghttp2_hd_deflater *def;
	cr_assert_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	server_preface(s);
	nghttp2_nv r200[] = {NV(":status", "200"), NV("content-type", "application/json")};
	block(s, def, 3, r200, 2, 1, 0);
	body(s, 3, "{\"url\":\"x\"}", 0, 1);
	nghttp2_nv r401[] = {NV(":status", "401"), NV("content-type", "application/json")};
	block(s, def, 1, r401, 2, 1, 0);
	body(s, 1, BODY_20104, 0, 1);
	block(s, def, 5, r401, 2, 2, 0);
	body(s, 5, BODY_20103, 1, 1);
	nghttp2_hd_deflate_del(def);
}

static void check_answers(const struct got *g)
{
	cr_assert_eq(g->n, 6, "3 tokens, 3 answers: %zu", g->n);
	const struct diag *a3 = &g->d[3], *a1 = &g->d[4], *a5 = &g->d[5];
	for (int i = 3; i < 6; i++) {
		cr_assert_eq(g->d[i].event, DIAG_EV_ANSWER);
		cr_assert_eq(g->d[i].channel, CHANNEL_HTTP);
		cr_assert_str_eq(g->d[i].message, "header");
	}
	/* stream 3: accept as predicted, info */
	cr_assert_eq(a3->answer.server_accept, 1);
	cr_assert_eq(a3->answer.status, 200);
	cr_assert_eq(a3->answer.pred_accept, 1);
	cr_assert_eq(a3->answer.level, SEV_INFO);
	cr_assert_eq(a3->ncauses, 0);
	/* stream 1: the expired token, rejected as predicted: warning */
	cr_assert_eq(a1->answer.server_accept, 0);
	cr_assert_eq(a1->answer.status, 401);
	cr_assert_eq(a1->answer.code, 20104);
	cr_assert_str_eq(a1->answer.text, "Access Token expired or expiration date invalid");
	cr_assert_eq(a1->answer.pred_accept, 0);
	cr_assert_eq(a1->answer.npred, 1);
	cr_assert_eq(a1->answer.pred[0], CAUSE_EXPIRED);
	cr_assert_eq(a1->answer.level, SEV_WARNING);
	cr_assert_str_eq(a1->token.identity, "expired");
	/* stream 5: valid here, rejected with 20103: server_rejected, error */
	cr_assert_eq(a5->answer.code, 20103);
	cr_assert_eq(a5->answer.pred_accept, 1);
	cr_assert_eq(a5->answer.level, SEV_ERROR);
	cr_assert_eq(a5->ncauses, 1);
	cr_assert_eq(a5->causes[0].id, CAUSE_SERVER_REJECTED);
	cr_assert_eq(a5->causes[0].twilio_code, 20103);
	cr_assert_str_eq(a5->token.identity, "bob");
}

Test(answer_h2, per_stream_answers_every_split)
{
	char expired[4096], good1[4096], good2[4096];
	wt_token(expired, sizeof expired, "expired", WT_VIDEO_GRANT, WT_NOW - 7200, WT_NOW - 3600);
	wt_token(good1, sizeof good1, "alice", WT_VIDEO_GRANT, WT_NOW - 60, WT_NOW + 3600);
	wt_token(good2, sizeof good2, "bob", WT_VIDEO_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf c = {0}, s = {0};
	client_stream(&c, expired, good1, good2);
	session_server(&s);
	uint64_t seed = 1515;
	for (int round = 0; round < 42; round++) {
		struct fx f;
		fx_init(&f);
		cr_assert_eq(session_feed(f.s, c.p, c.n, WT_NOW, collect, &f.got), 3);
		cr_assert_eq(f.got.d[0].accept, 0);
		cr_assert_eq(f.got.d[1].accept, 1);
		/* round 0 whole, round 1 byte by byte, then random pieces */
		size_t off = 0;
		while (off < s.n) {
			size_t k = round == 0 ? s.n : round == 1 ? 1 : 1 + wt_rand(&seed) % 97;
			if (k > s.n - off)
				k = s.n - off;
			session_feed_server(f.s, s.p + off, k, WT_NOW + 1, collect, &f.got);
			off += k;
		}
		check_answers(&f.got);
		fx_free(&f);
	}
	wt_free(&c);
	wt_free(&s);
}

Test(answer_h2, server_bytes_before_the_client_preface)
{
	/* a server that sends its SETTINGS at once, read before the client writes */
	char expired[4096];
	wt_token(expired, sizeof expired, "expired", WT_VIDEO_GRANT, WT_NOW - 7200, WT_NOW - 3600);
	struct fx f;
	fx_init(&f);
	struct wt_buf pre = {0}, c = {0}, s = {0};
	server_preface(&pre);
	cr_assert_eq(session_feed_server(f.s, pre.p, pre.n, WT_NOW, collect, &f.got), 0);
	nghttp2_hd_deflater *def;
	cr_assert_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	wt_put(&c, H2_PREFACE, H2_PREFACE_LEN);
	frame(&c, 4, 0, 0, NULL, 0);
	client_request(&c, def, 1, expired);
	nghttp2_hd_deflate_del(def);
	cr_assert_eq(session_feed(f.s, c.p, c.n, WT_NOW, collect, &f.got), 1);
	cr_assert_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	nghttp2_nv r401[] = {NV(":status", "401"), NV("content-type", "application/json")};
	block(&s, def, 1, r401, 2, 1, 0);
	body(&s, 1, BODY_20104, 0, 1);
	nghttp2_hd_deflate_del(def);
	cr_assert_eq(session_feed_server(f.s, s.p, s.n, WT_NOW, collect, &f.got), 1);
	cr_assert_eq(f.got.d[1].event, DIAG_EV_ANSWER);
	cr_assert_eq(f.got.d[1].answer.code, 20104);
	cr_assert_eq(f.got.d[1].answer.level, SEV_WARNING);
	fx_free(&f);
	wt_free(&pre);
	wt_free(&c);
	wt_free(&s);
}

Test(answer_h2, h2c_upgrade_answered_on_stream_1)
{
	char expired[4096];
	wt_token(expired, sizeof expired, "expired", WT_VIDEO_GRANT, WT_NOW - 7200, WT_NOW - 3600);
	struct fx f;
	fx_init(&f);
	struct wt_buf c = {0}, s = {0};
	wt_printf(&c, "GET /v1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
		      "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nX-Twilio-Token: %s\r\n\r\n", expired);
	wt_put(&c, H2_PREFACE, H2_PREFACE_LEN);
	frame(&c, 4, 0, 0, NULL, 0);
	cr_assert_eq(session_feed(f.s, c.p, c.n, WT_NOW, collect, &f.got), 1);
	wt_printf(&s, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n");
	server_preface(&s);
	nghttp2_hd_deflater *def;
	cr_assert_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	nghttp2_nv r401[] = {NV(":status", "401"), NV("content-type", "application/json")};
	block(&s, def, 1, r401, 2, 1, 0);
	body(&s, 1, BODY_20104, 0, 1);
	nghttp2_hd_deflate_del(def);
	cr_assert_eq(session_feed_server(f.s, s.p, s.n, WT_NOW, collect, &f.got), 1,
		     "the 101 is not the answer; stream 1's 401 is");
	cr_assert_eq(f.got.d[1].answer.status, 401);
	cr_assert_eq(f.got.d[1].answer.code, 20104);
	cr_assert_eq(f.got.d[1].answer.server_accept, 0);
	fx_free(&f);
	wt_free(&c);
	wt_free(&s);
}
