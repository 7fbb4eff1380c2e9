/* HTTP/2 in the wire decoder (decode/wire_h2.c): client streams built with
 * libnghttp2's own HPACK encoder (nghttp2_hd_deflate_*, dynamic table in
 * use), fed whole, byte by byte and at random split points; header blocks
 * over CONTINUATION frames, padding and priority; DATA skipped; huge tables
 * and broken framing refused; the server direction's frame parser. */
#include <criterion/criterion.h>
#include <nghttp2/nghttp2.h>

#include "decode/wire.h"
#include "decode/h2_fast.h"
#include "decode/wire_h2.h"
#include "wire_testlib.h"

static const struct wire_config h2cfg = {.hpack = h2_hpack_static};
static const struct wire_config nocfg = {0};

static const struct h2_hpack_ops *no_ops(void)
{
	return NULL;
}
static const struct wire_config failcfg = {.hpack = no_ops};

/* ---- building client streams ---------------------------------------------- */
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

static void preface(struct wt_buf *b)
{
	wt_put(b, H2_PREFACE, H2_PREFACE_LEN);
	/* SETTINGS: HEADER_TABLE_SIZE 4096, ENABLE_PUSH 0, INITIAL_WINDOW_SIZE */
	static const uint8_t s[] = {0, 1, 0, 0, 0x10, 0, 0, 2, 0, 0, 0, 0, 0, 4, 0, 0x60, 0, 0};
	frame(b, 4, 0, 0, s, sizeof s);
	static const uint8_t wu[] = {0, 0x0f, 0, 1};
	frame(b, 8, 0, 0, wu, sizeof wu); /* WINDOW_UPDATE */
}

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}

/* Encodes nv with def; the block in out[0..return). */
static size_t encode(nghttp2_hd_deflater *def, nghttp2_nv *nv, size_t n, uint8_t *out, size_t cap)
{
	ssize_t r = nghttp2_hd_deflate_hd(def, out, cap, nv, n);
	cr_assert_geq(r, 0, "deflate: %zd", r);
	return (size_t)r;
}

/* A HEADERS frame (END_HEADERS) with the block; or split in `parts` frames
 * (HEADERS then CONTINUATIONs), HEADERS padded and with priority when fancy. */
static void headers(struct wt_buf *b, uint32_t stream, const uint8_t *blk, size_t n, int parts,
		    int fancy, int end_stream)
{
	size_t per = parts > 1 ? (n + (size_t)parts - 1) / (size_t)parts : n;
	size_t off = 0;
	for (int i = 0; i < parts || off < n; i++) {
		size_t k = n - off < per ? n - off : per;
		int last = off + k == n;
		uint8_t flags = (uint8_t)((last ? 0x4 : 0) | (i == 0 && end_stream ? 0x1 : 0));
		if (i == 0 && fancy) {
			struct wt_buf f = {0};
			uint8_t pad = 7, prio[5] = {0x80, 0, 0, 0, 200};
			wt_put(&f, &pad, 1);
			wt_put(&f, prio, 5);
			wt_put(&f, blk + off, k);
			static const uint8_t zeros[7];
			wt_put(&f, zeros, pad);
			frame(b, 1, flags | 0x8 | 0x20, stream, f.p, f.n);
			wt_free(&f);
		} else {
			frame(b, i == 0 ? 1 : 9, flags, stream, blk + off, k);
		}
		off += k;
		if (last)
			break;
	}
}

static void data(struct wt_buf *b, uint32_t stream, size_t n, int padded, int end)
{
	uint8_t *p = calloc(1, n + 300);
	/* a payload that would look like a token request if anyone read it */
	const char *bait = "x-twilio-token: eyJhbGciOiJIUzI1NiJ9.e30.c2ln ";
	memcpy(p + 1, bait, strlen(bait) < n ? strlen(bait) : 0);
	if (padded) {
		p[0] = 200;
		frame(b, 0, (uint8_t)(0x8 | (end ? 1 : 0)), stream, p, n + 201);
	} else {
		frame(b, 0, end ? 1 : 0, stream, p, n);
	}
	free(p);
}

/* Feeds whole, byte by byte, and at 40 random split sets: all equal; the
 * whole feed's result in *r. */
static void feed_all_ways(const struct wt_buf *s, const struct wire_config *cfg, const char *sni,
			  struct wt_result *r)
{
	struct wire *w = malloc(wire_sizeof());
	cr_assert(w);
	struct wt_setup su = {.host = sni, .cfg = cfg};
	wt_feed_cuts(w, &su, s->p, s->n, NULL, 0, r);
	cr_assert_eq(r->errors[0], 0);

	size_t *cuts = malloc(s->n * sizeof *cuts);
	for (size_t i = 0; i + 1 < s->n; i++)
		cuts[i] = i + 1;
	struct wt_result *b = malloc(sizeof *b);
	wt_feed_cuts(w, &su, s->p, s->n, cuts, s->n ? s->n - 1 : 0, b);
	cr_assert(wt_events_prefix(r, b, 1), "byte by byte: %zu events, whole: %zu", b->n, r->n);
	cr_assert_eq(b->passthrough, r->passthrough);
	for (int e = 1; e < 4; e++)
		cr_assert_eq(b->errors[e], r->errors[e], "byte by byte: error class %d", e);

	uint64_t seed = 0x5eed;
	for (int round = 0; round < 40; round++) {
		size_t nc = 0, at = 0;
		while (nc < s->n) {
			at += 1 + wt_rand(&seed) % (round & 1 ? 23 : 3001);
			if (at >= s->n)
				break;
			cuts[nc++] = at;
		}
		wt_feed_cuts(w, &su, s->p, s->n, cuts, nc, b);
		cr_assert(wt_events_prefix(r, b, 1), "random split %d: %zu events, whole: %zu", round,
			  b->n, r->n);
		cr_assert_eq(b->passthrough, r->passthrough);
	}
	free(b);
	free(cuts);

	/* random pieces through the fast path first, as the shim's hooks do:
	 * the same events, and the DATA frames taken there */
	for (int round = 0; round < 20; round++) {
		wire_init(w, cfg, 1);
		if (sni)
			wire_set_host(w, sni, strlen(sni));
		size_t off = 0, nev = 0, taken = 0;
		while (off < s->n) {
			size_t k = 1 + wt_rand(&seed) % (round & 1 ? 40 : 20000);
			if (k > s->n - off)
				k = s->n - off;
			size_t t = h2_fast_take(wire_h2_fast_of(w), s->p + off, k);
			taken += t;
			size_t o = off + t;
			while (o < off + k) {
				struct wire_event ev;
				ssize_t r2 = wire_feed(w, s->p + o, off + k - o, &ev);
				if (ev.kind != WIRE_EV_NONE) {
					cr_assert_lt(nev, r->n, "fast path: more events than the whole feed");
					cr_assert_eq(ev.token_len, r->ev[nev].token_len, "fast path: event %zu", nev);
					cr_assert(!memcmp(ev.token, r->ev[nev].token, ev.token_len));
					nev++;
				}
				if (r2 < 0 || ev.kind == WIRE_EV_NONE)
					break;
				o += (size_t)r2;
			}
			off += k;
		}
		cr_assert_eq(nev, r->n, "fast path round %d: %zu events, whole: %zu", round, nev, r->n);
		cr_assert_eq(wire_passthrough(w), r->passthrough);
		(void)taken;
		wire_release(w);
	}
	free(w);
}

/* Three requests on one connection: X-Twilio-Token, Bearer, token= query,
 * with the encoder's dynamic table shared between them, DATA in between. */
static void three_requests(struct wt_buf *s, char *t1, char *t2, char *t3, int parts, int fancy)
{
	wt_token(t1, 4096, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	wt_token(t2, 4096, "bob", WT_VOICE_GRANT, WT_NOW - 60, WT_NOW - 30);
	wt_token(t3, 4096, "carol", WT_VIDEO_GRANT, WT_NOW - 60, WT_NOW + 60);
	nghttp2_hd_deflater *def;
	cr_assert_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	uint8_t blk[16384];
	preface(s);

	char bearer[4200];
	snprintf(bearer, sizeof bearer, "Bearer %s", t2);
	char path[4200];
	snprintf(path, sizeof path, "/v1/things?a=1&token=%s", t3);
	nghttp2_nv r1[] = {NV(":method", "POST"), NV(":scheme", "https"),
			   NV(":authority", "insights.example.com:8443"), NV(":path", "/v1/events"),
			   NV("user-agent", "curl/7.88.1"), NV("x-twilio-token", t1),
			   NV("content-type", "application/json")};
	nghttp2_nv r2[] = {NV(":method", "GET"), NV(":scheme", "https"),
			   NV(":authority", "insights.example.com:8443"), NV(":path", "/v1/events"),
			   NV("user-agent", "curl/7.88.1"), NV("authorization", bearer)};
	nghttp2_nv r3[] = {NV(":method", "GET"), NV(":scheme", "https"),
			   NV(":authority", "insights.example.com:8443"), NV(":path", path),
			   NV("user-agent", "curl/7.88.1")};
	size_t n = encode(def, r1, 7, blk, sizeof blk);
	headers(s, 1, blk, n, parts, fancy, 0);
	data(s, 1, 16384, 0, 0);
	data(s, 1, 1000, 1, 1);
	static const uint8_t ping[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	frame(s, 6, 0, 0, ping, 8);
	n = encode(def, r2, 6, blk, sizeof blk);
	headers(s, 3, blk, n, parts, fancy, 1);
	static const uint8_t rst[4] = {0, 0, 0, 8};
	frame(s, 3, 0, 3, rst, 4);
	n = encode(def, r3, 5, blk, sizeof blk);
	headers(s, 5, blk, n, parts, 0, 1);
	static const uint8_t ga[8] = {0, 0, 0, 5, 0, 0, 0, 0};
	frame(s, 7, 0, 0, ga, 8);
	nghttp2_hd_deflate_del(def);
}

static void expect_three(const struct wt_result *r, const char *t1, const char *t2, const char *t3)
{
	cr_assert_eq(r->n, 3, "events: %zu", r->n);
	cr_assert_eq(r->ev[0].channel, CHANNEL_HTTP);
	cr_assert_str_eq(r->ev[0].message, "header");
	cr_assert_str_eq(r->ev[0].token, t1);
	cr_assert_str_eq(r->ev[0].host, "insights.example.com");
	cr_assert_str_eq(r->ev[1].message, "header");
	cr_assert_str_eq(r->ev[1].token, t2);
	cr_assert_eq(r->ev[2].channel, CHANNEL_HTTP);
	cr_assert_str_eq(r->ev[2].message, "query");
	cr_assert_str_eq(r->ev[2].token, t3);
	cr_assert_eq(r->errors[1] + r->errors[2] + r->errors[3], 0);
	cr_assert_eq(r->passthrough, 0);
}

Test(wire_h2, three_requests_every_split)
{
	static char t1[4096], t2[4096], t3[4096];
	struct wt_buf s = {0};
	three_requests(&s, t1, t2, t3, 1, 0);
	struct wt_result *r = malloc(sizeof *r);
	feed_all_ways(&s, &h2cfg, NULL, r);
	expect_three(r, t1, t2, t3);
	free(r);
	wt_free(&s);
}

/* 16 KiB DATA writes are taken by the fast path alone, and a HEADERS frame
 * after them still reaches the decoder. */
Test(wire_h2, data_frames_take_the_fast_path)
{
	char tok[4096];
	wt_token(tok, sizeof tok, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf s = {0};
	preface(&s);
	nghttp2_hd_deflater *def;
	cr_assert_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	uint8_t blk[8192];
	nghttp2_nv nv[] = {NV(":method", "POST"), NV(":path", "/up"), NV(":authority", "a.example")};
	size_t n = encode(def, nv, 3, blk, sizeof blk);
	headers(&s, 1, blk, n, 1, 0, 0);
	struct wire *w = malloc(wire_sizeof());
	wire_init(w, &h2cfg, 1);
	struct wire_event ev;
	cr_assert_eq(wire_feed(w, s.p, s.n, &ev), (ssize_t)s.n);
	cr_assert_eq(ev.kind, WIRE_EV_NONE);
	struct wt_buf d = {0};
	data(&d, 1, 16384, 0, 0);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(h2_fast_take(wire_h2_fast_of(w), d.p, d.n), d.n, "write %d", i);
	/* a frame cut in two writes: the rest of its payload is taken too */
	cr_assert_eq(h2_fast_take(wire_h2_fast_of(w), d.p, 5000), 5000);
	cr_assert_eq(h2_fast_take(wire_h2_fast_of(w), d.p + 5000, d.n - 5000), d.n - 5000);
	struct wt_buf s2 = {0};
	nghttp2_nv nv2[] = {NV(":method", "GET"), NV(":path", "/"), NV(":authority", "a.example"),
			    NV("x-twilio-token", tok)};
	n = encode(def, nv2, 4, blk, sizeof blk);
	headers(&s2, 3, blk, n, 1, 0, 1);
	cr_assert_eq(h2_fast_take(wire_h2_fast_of(w), s2.p, s2.n), 0);
	ssize_t k = wire_feed(w, s2.p, s2.n, &ev);
	cr_assert_eq(ev.kind, WIRE_EV_TOKEN);
	cr_assert_eq(ev.token_len, strlen(tok));
	cr_assert(!memcmp(ev.token, tok, ev.token_len));
	cr_assert_eq(ev.stream, 3);
	cr_assert_geq(k, 0);
	nghttp2_hd_deflate_del(def);
	wire_release(w);
	free(w);
	wt_free(&s);
	wt_free(&s2);
	wt_free(&d);
}

Test(wire_h2, continuation_padding_priority)
{
	static char t1[4096], t2[4096], t3[4096];
	struct wt_buf s = {0};
	/* each block over four frames: HEADERS (padded, priority) + 3 CONTINUATION */
	three_requests(&s, t1, t2, t3, 4, 1);
	struct wt_result *r = malloc(sizeof *r);
	feed_all_ways(&s, &h2cfg, NULL, r);
	expect_three(r, t1, t2, t3);
	free(r);
	wt_free(&s);
}

Test(wire_h2, sni_wins_over_authority)
{
	static char t1[4096], t2[4096], t3[4096];
	struct wt_buf s = {0};
	three_requests(&s, t1, t2, t3, 1, 0);
	struct wt_result *r = malloc(sizeof *r);
	feed_all_ways(&s, &h2cfg, "media.twilio.com", r);
	cr_assert_eq(r->n, 3);
	cr_assert_str_eq(r->ev[0].host, "media.twilio.com");
	free(r);
	wt_free(&s);
}

Test(wire_h2, without_hpack_passed_through)
{
	static char t1[4096], t2[4096], t3[4096];
	struct wt_buf s = {0};
	three_requests(&s, t1, t2, t3, 1, 0);
	struct wt_result *r = malloc(sizeof *r);
	feed_all_ways(&s, &nocfg, NULL, r);
	cr_assert_eq(r->n, 0);
	cr_assert_eq(r->passthrough, 1);
	feed_all_ways(&s, &failcfg, NULL, r);
	cr_assert_eq(r->n, 0);
	cr_assert_eq(r->passthrough, 1);
	free(r);
	wt_free(&s);
}

/* A token after a broken stream is not reported: the decoder gave up. */
static void broken_then_token(struct wt_buf *s, void (*breakit)(struct wt_buf *), int klass)
{
	char tok[4096];
	wt_token(tok, sizeof tok, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	preface(s);
	breakit(s);
	nghttp2_hd_deflater *def;
	cr_assert_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	nghttp2_nv nv[] = {NV(":method", "GET"), NV(":path", "/"), NV("x-twilio-token", tok)};
	uint8_t blk[8192];
	size_t n = encode(def, nv, 3, blk, sizeof blk);
	headers(s, 101, blk, n, 1, 0, 1);
	nghttp2_hd_deflate_del(def);
	struct wt_result *r = malloc(sizeof *r);
	feed_all_ways(s, &h2cfg, NULL, r);
	cr_assert_eq(r->n, 0, "events after a broken stream: %zu", r->n);
	cr_assert_eq(r->passthrough, 1);
	cr_assert_eq(r->errors[klass], 1, "error class %d: %d", klass, r->errors[klass]);
	free(r);
}

static void huge_table_update(struct wt_buf *s)
{
	/* a block that starts with "dynamic table size update: 1 MiB"
	 * (001 prefix, 5-bit integer 31 then 1048576 - 31 in 7-bit groups) */
	uint32_t v = 1048576 - 31;
	uint8_t blk[16] = {0x3f};
	size_t k = 1;
	while (v >= 128) {
		blk[k++] = (uint8_t)(0x80 | (v & 0x7f));
		v >>= 7;
	}
	blk[k++] = (uint8_t)v;
	blk[k++] = 0x82; /* :method GET */
	headers(s, 1, blk, k, 1, 0, 1);
}

Test(wire_h2, huge_table_refused)
{
	struct wt_buf s = {0};
	broken_then_token(&s, huge_table_update, 1);
	wt_free(&s);
}

static void big_settings_then_ok(struct wt_buf *s)
{
	/* the client allowing the server a 2 GiB table: the client's own
	 * encoder is unaffected, and nothing is allocated for it */
	static const uint8_t set[] = {0, 1, 0x7f, 0xff, 0xff, 0xff};
	frame(s, 4, 0, 0, set, sizeof set);
}

Test(wire_h2, big_settings_value_is_harmless)
{
	char tok[4096];
	wt_token(tok, sizeof tok, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf s = {0};
	preface(&s);
	big_settings_then_ok(&s);
	nghttp2_hd_deflater *def;
	cr_assert_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	nghttp2_nv nv[] = {NV(":method", "GET"), NV(":path", "/"), NV("x-twilio-token", tok)};
	uint8_t blk[8192];
	size_t n = encode(def, nv, 3, blk, sizeof blk);
	headers(&s, 1, blk, n, 1, 0, 1);
	nghttp2_hd_deflate_del(def);
	struct wt_result *r = malloc(sizeof *r);
	feed_all_ways(&s, &h2cfg, NULL, r);
	cr_assert_eq(r->n, 1);
	cr_assert_str_eq(r->ev[0].token, tok);
	free(r);
	wt_free(&s);
}

static void continuation_wrong_stream(struct wt_buf *s)
{
	static const uint8_t blk[] = {0x82, 0x84};
	frame(s, 1, 0, 1, blk, 1); /* HEADERS without END_HEADERS */
	frame(s, 9, 4, 3, blk + 1, 1); /* CONTINUATION on another stream */
}

static void continuation_alone(struct wt_buf *s)
{
	static const uint8_t blk[] = {0x82};
	frame(s, 9, 4, 1, blk, 1);
}

static void data_between(struct wt_buf *s)
{
	static const uint8_t blk[] = {0x82};
	frame(s, 1, 0, 1, blk, 1);
	data(s, 1, 10, 0, 0);
}

static void bad_padding(struct wt_buf *s)
{
	static const uint8_t f[] = {9, 0x82}; /* pad length 9 in a 2-byte payload */
	frame(s, 1, 0x8 | 0x4, 1, f, sizeof f);
}

static void bad_hpack(struct wt_buf *s)
{
	static const uint8_t blk[] = {0xff, 0xff, 0xff, 0x7f}; /* index far beyond any table */
	frame(s, 1, 4, 1, blk, sizeof blk);
}

static void bad_settings(struct wt_buf *s)
{
	static const uint8_t set[] = {0, 1, 0, 0, 0x10};
	frame(s, 4, 0, 0, set, sizeof set); /* not a multiple of 6 */
}

Test(wire_h2, broken_framing_gives_up)
{
	void (*cases[])(struct wt_buf *) = {continuation_wrong_stream, continuation_alone, data_between,
					    bad_padding, bad_hpack, bad_settings};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct wt_buf s = {0};
		broken_then_token(&s, cases[i], 1);
		wt_free(&s);
	}
}

Test(wire_h2, bad_preface_gives_up)
{
	struct wt_buf s = {0};
	wt_puts(&s, "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n");
	struct wt_result *r = malloc(sizeof *r);
	feed_all_ways(&s, &h2cfg, NULL, r);
	cr_assert_eq(r->passthrough, 1);
	cr_assert_eq(r->errors[1], 1);
	free(r);
	wt_free(&s);
}

/* Table churn: 3000 requests, each adding a new entry of up to 2.5 KiB to
 * an encoder table of the largest size accepted (H2_TABLE_MAX), evicting
 * older ones: the arena's blocks are reused and merged, and the last
 * request's token is still found. */
Test(wire_h2, table_churn_stays_in_the_arena)
{
	char tok[4096];
	wt_token(tok, sizeof tok, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf s = {0};
	preface(&s);
	nghttp2_hd_deflater *def;
	cr_assert_eq(nghttp2_hd_deflate_new(&def, H2_TABLE_MAX), 0);
	cr_assert_eq(nghttp2_hd_deflate_change_table_size(def, H2_TABLE_MAX), 0);
	uint8_t blk[16384];
	char val[2600];
	for (int i = 0; i < 3000; i++) {
		size_t vl = 100 + (size_t)(i * 37 % 2400);
		memset(val, 'a' + i % 26, vl);
		snprintf(val, 12, "%010d", i);
		val[10] = 'x';
		val[vl] = 0;
		nghttp2_nv nv[] = {NV(":method", "GET"), NV(":path", "/"), NV("x-request-id", val),
				   NV("x-twilio-token", tok)};
		size_t n = encode(def, nv, i == 2999 ? 4 : 3, blk, sizeof blk);
		headers(&s, 1 + 2 * (uint32_t)i, blk, n, 1, 0, 1);
	}
	nghttp2_hd_deflate_del(def);
	struct wire *w = malloc(wire_sizeof());
	struct wt_setup su = {.cfg = &h2cfg};
	struct wt_result *r = malloc(sizeof *r);
	wt_feed_cuts(w, &su, s.p, s.n, NULL, 0, r);
	/* the only token is in the last request */
	cr_assert_eq(r->n, 1, "events: %zu", r->n);
	cr_assert_str_eq(r->ev[0].token, tok);
	cr_assert_eq(r->passthrough, 0);
	cr_assert_eq(r->errors[1] + r->errors[2] + r->errors[3], 0);
	free(r);
	free(w);
	wt_free(&s);
}

/* A field over WIRE_LINE_MAX is skipped (limit), the connection still followed. */
Test(wire_h2, long_field_skipped)
{
	char tok[4096];
	wt_token(tok, sizeof tok, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf s = {0};
	preface(&s);
	nghttp2_hd_deflater *def;
	cr_assert_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	static char big[30000];
	memset(big, 'q', sizeof big - 1);
	static uint8_t blk[40000];
	nghttp2_nv nv1[] = {NV(":method", "GET"), NV(":path", "/"), NV("x-junk", big)};
	size_t n = encode(def, nv1, 3, blk, sizeof blk);
	headers(&s, 1, blk, n, 3, 0, 1);
	nghttp2_nv nv2[] = {NV(":method", "GET"), NV(":path", "/"), NV("x-twilio-token", tok)};
	n = encode(def, nv2, 3, blk, sizeof blk);
	headers(&s, 3, blk, n, 1, 0, 1);
	nghttp2_hd_deflate_del(def);
	struct wt_result *r = malloc(sizeof *r);
	feed_all_ways(&s, &h2cfg, NULL, r);
	cr_assert_eq(r->n, 1);
	cr_assert_str_eq(r->ev[0].token, tok);
	cr_assert_eq(r->errors[2], 1);
	cr_assert_eq(r->passthrough, 0);
	free(r);
	wt_free(&s);
}

/* curl's order: :path before :authority; the query token still gets the
 * host, and a block without :authority still has its query read. */
Test(wire_h2, path_before_authority)
{
	char t1[4096], t2[4096], path[4200];
	wt_token(t1, sizeof t1, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	wt_token(t2, sizeof t2, "bob", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf s = {0};
	preface(&s);
	nghttp2_hd_deflater *def;
	cr_assert_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	uint8_t blk[16384];
	snprintf(path, sizeof path, "/v1?token=%s", t1);
	nghttp2_nv r1[] = {NV(":method", "GET"), NV(":path", path), NV(":scheme", "http"),
			   NV(":authority", "media.example.com"), NV("x-twilio-token", t2)};
	size_t n = encode(def, r1, 5, blk, sizeof blk);
	headers(&s, 1, blk, n, 2, 0, 1);
	snprintf(path, sizeof path, "/v2?token=%s", t2);
	nghttp2_nv r2[] = {NV(":method", "GET"), NV(":path", path)};
	n = encode(def, r2, 2, blk, sizeof blk);
	headers(&s, 3, blk, n, 1, 0, 1);
	nghttp2_hd_deflate_del(def);
	struct wt_result *r = malloc(sizeof *r);
	feed_all_ways(&s, &h2cfg, NULL, r);
	cr_assert_eq(r->n, 3, "events: %zu", r->n);
	cr_assert_str_eq(r->ev[0].message, "query");
	cr_assert_str_eq(r->ev[0].token, t1);
	cr_assert_str_eq(r->ev[0].host, "media.example.com");
	cr_assert_str_eq(r->ev[1].message, "header");
	cr_assert_str_eq(r->ev[1].token, t2);
	cr_assert_str_eq(r->ev[2].message, "query");
	cr_assert_str_eq(r->ev[2].token, t2);
	free(r);
	wt_free(&s);
}

/* h2c upgrade (RFC 7540 3.2): the HTTP/1.1 request with Upgrade: h2c is read
 * as HTTP/1.1, then the preface and HTTP/2 from there on. */
Test(wire_h2, h2c_upgrade)
{
	char t1[4096], t2[4096];
	wt_token(t1, sizeof t1, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	wt_token(t2, sizeof t2, "bob", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf s = {0};
	wt_printf(&s, "GET / HTTP/1.1\r\nHost: localhost:8080\r\nConnection: Upgrade, HTTP2-Settings\r\n"
		      "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nX-Twilio-Token: %s\r\n\r\n", t1);
	preface(&s);
	nghttp2_hd_deflater *def;
	cr_assert_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	uint8_t blk[8192];
	nghttp2_nv nv[] = {NV(":method", "GET"), NV(":path", "/b"), NV(":authority", "localhost:8080"),
			   NV("x-twilio-token", t2)};
	size_t n = encode(def, nv, 4, blk, sizeof blk);
	headers(&s, 3, blk, n, 1, 0, 1);
	nghttp2_hd_deflate_del(def);
	struct wt_result *r = malloc(sizeof *r);
	feed_all_ways(&s, &h2cfg, NULL, r);
	cr_assert_eq(r->n, 2, "events: %zu", r->n);
	cr_assert_str_eq(r->ev[0].token, t1);
	cr_assert_str_eq(r->ev[1].token, t2);
	cr_assert_str_eq(r->ev[1].host, "localhost");
	cr_assert_eq(r->passthrough, 0);
	free(r);
	wt_free(&s);
}

/* ---- the server direction (h2_feed with H2_SERVER) ------------------------------ */
struct srv_log {
	int n;
	char line[32][160];
	char body[256]; /* DATA of the streams asked for, "|" at each END_STREAM */
};

static void srv_feed(struct h2 *h, const uint8_t *p, size_t n, struct srv_log *log)
{
	while (1) {
		struct h2_event ev;
		ssize_t r = h2_feed(h, p, n, &ev);
		cr_assert_geq(r, 0, "h2_feed: %zd", r);
		cr_assert_lt(log->n, 32);
		char *l = log->line[log->n];
		switch (ev.kind) {
		case H2_EV_NONE:
			cr_assert_eq((size_t)r, n);
			return;
		case H2_EV_FIELD:
			snprintf(l, 160, "field %u%s %.*s=%.*s", ev.stream, ev.push ? " push" : "",
				 (int)ev.namelen, ev.name, (int)ev.valuelen, ev.value);
			break;
		case H2_EV_HEADERS_END:
			snprintf(l, 160, "end %u%s%s", ev.stream, ev.push ? " push" : "",
				 ev.end_stream ? " es" : "");
			if (!ev.push && !ev.end_stream)
				h2_want_data(h, ev.stream);
			break;
		case H2_EV_DATA:
			cr_assert_eq(ev.stream, 1);
			strncat(log->body, (const char *)ev.value, ev.valuelen);
			if (ev.end_stream)
				strcat(log->body, "|");
			p += r;
			n -= (size_t)r;
			continue;
		case H2_EV_SETTINGS:
			snprintf(l, 160, "settings %u", ev.setting);
			break;
		case H2_EV_RST_STREAM:
			snprintf(l, 160, "rst %u %u", ev.stream, ev.error_code);
			break;
		case H2_EV_GOAWAY:
			snprintf(l, 160, "goaway %u %u", ev.last_stream, ev.error_code);
			break;
		}
		log->n++;
		p += r;
		n -= (size_t)r;
	}
}

Test(wire_h2, server_direction)
{
	struct wt_buf s = {0};
	static const uint8_t set[] = {0, 1, 0, 0, 0x20, 0, 0, 3, 0, 0, 0, 100};
	frame(&s, 4, 0, 0, set, sizeof set);
	frame(&s, 4, 1, 0, NULL, 0); /* ACK */
	nghttp2_hd_deflater *def;
	cr_assert_eq(nghttp2_hd_deflate_new(&def, 4096), 0);
	uint8_t blk[4096];
	nghttp2_nv pp[] = {NV(":method", "GET"), NV(":path", "/style.css"), NV(":authority", "a.example"),
			   NV(":scheme", "https")};
	size_t n = encode(def, pp, 4, blk, sizeof blk);
	uint8_t push[4096] = {0, 0, 0, 2};
	memcpy(push + 4, blk, n);
	frame(&s, 5, 4, 1, push, n + 4);
	nghttp2_nv resp[] = {NV(":status", "401"), NV("content-type", "application/json")};
	n = encode(def, resp, 2, blk, sizeof blk);
	headers(&s, 1, blk, n, 2, 1, 0);
	const char *body1 = "{\"code\":20104,", *body2 = "\"status\":401}";
	frame(&s, 0, 0, 1, body1, strlen(body1));
	frame(&s, 0, 0, 7, "other", 5); /* a stream nobody asked for */
	frame(&s, 0, 1, 1, body2, strlen(body2));
	static const uint8_t rst[4] = {0, 0, 0, 8};
	frame(&s, 3, 0, 2, rst, 4);
	static const uint8_t ga[8] = {0, 0, 0, 1, 0, 0, 0, 2};
	frame(&s, 7, 0, 0, ga, 8);
	nghttp2_hd_deflate_del(def);

	static const char *const want[] = {
		"settings 8192",
		"field 2 push :method=GET", "field 2 push :path=/style.css",
		"field 2 push :authority=a.example", "field 2 push :scheme=https", "end 2 push",
		"field 1 :status=401", "field 1 content-type=application/json", "end 1",
		"rst 2 8", "goaway 1 2",
	};
	struct h2 *h = malloc(sizeof *h);
	for (int way = 0; way < 2; way++) {
		struct srv_log *log = calloc(1, sizeof *log);
		cr_assert_eq(h2_init(h, H2_SERVER, h2_hpack_static()), 0);
		if (way == 0) {
			srv_feed(h, s.p, s.n, log);
		} else {
			for (size_t i = 0; i < s.n; i++)
				srv_feed(h, s.p + i, 1, log);
		}
		cr_assert_eq(log->n, (int)(sizeof want / sizeof want[0]), "events: %d", log->n);
		for (int i = 0; i < log->n; i++)
			cr_assert_str_eq(log->line[i], want[i]);
		cr_assert_str_eq(log->body, "{\"code\":20104,\"status\":401}|");
		cr_assert(!h2_dead(h));
		h2_release(h);
		free(log);
	}
	free(h);
	wt_free(&s);
}

/* The client must not send PUSH_PROMISE. */
Test(wire_h2, client_push_promise_refused)
{
	struct h2 *h = malloc(sizeof *h);
	cr_assert_eq(h2_init(h, H2_CLIENT, h2_hpack_static()), 0);
	struct wt_buf s = {0};
	wt_put(&s, H2_PREFACE, H2_PREFACE_LEN);
	static const uint8_t push[] = {0, 0, 0, 2, 0x82};
	frame(&s, 5, 4, 1, push, sizeof push);
	struct h2_event ev;
	cr_assert_eq(h2_feed(h, s.p, s.n, &ev), H2_E_PROTOCOL);
	cr_assert(h2_dead(h));
	cr_assert_eq(h2_feed(h, s.p, s.n, &ev), (ssize_t)s.n);
	h2_release(h);
	free(h);
	wt_free(&s);
}

/* The arena's worst case: a table of the largest size accepted filled with
 * the smallest entries (most allocations per byte of table), churned, then
 * a field as long as the longest token: it all fits (no H2_E_NOMEM). */
Test(wire_h2, arena_worst_case_fits)
{
	struct h2 *h = malloc(sizeof *h);
	cr_assert_eq(h2_init(h, H2_SERVER, h2_hpack_static()), 0);
	nghttp2_hd_deflater *def;
	cr_assert_eq(nghttp2_hd_deflate_new(&def, H2_TABLE_MAX), 0);
	cr_assert_eq(nghttp2_hd_deflate_change_table_size(def, H2_TABLE_MAX), 0);
	static uint8_t blk[40000];
	struct wt_buf s = {0};
	char name[32];
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof name, "x%d", i);
		nghttp2_nv nv[] = {NV(":status", "200"), {(uint8_t *)name, (uint8_t *)"", strlen(name), 0, 0}};
		size_t n = encode(def, nv, 2, blk, sizeof blk);
		headers(&s, 1 + 2 * (uint32_t)i, blk, n, 1, 0, 1);
	}
	static char big[16385];
	for (int k = 0; k < 16384; k++)
		big[k] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."[k % 65];
	nghttp2_nv nv[] = {NV(":status", "401"), {(uint8_t *)"x-twilio-token", (uint8_t *)big, 14, 16384, 0}};
	size_t n = encode(def, nv, 2, blk, sizeof blk);
	headers(&s, 9001, blk, n, 1, 0, 1);
	nghttp2_hd_deflate_del(def);
	size_t off = 0, fields = 0, big_seen = 0;
	while (off < s.n) {
		struct h2_event ev;
		ssize_t r = h2_feed(h, s.p + off, s.n - off, &ev);
		cr_assert_geq(r, 0, "h2_feed: %zd at %zu (arena %zu bytes used)", r, off, h->arena.live);
		off += (size_t)r;
		if (ev.kind == H2_EV_FIELD) {
			fields++;
			big_seen += ev.valuelen == 16384 && !memcmp(ev.value, big, 16384);
		}
		if (ev.kind == H2_EV_NONE)
			break;
	}
	cr_assert_eq(fields, 2 * 3000 + 2);
	cr_assert_eq(big_seen, 1);
	cr_assert_leq(h->arena.top, H2_ARENA);
	h2_release(h);
	free(h);
	wt_free(&s);
}

/* SETTINGS_HEADER_TABLE_SIZE seen in the other direction bounds this one's
 * table from the next header block on (h2_peer_table_size). */
Test(wire_h2, peer_table_size_bounds_the_table)
{
	/* dynamic table size update to 1024 (001 11111, 1024 - 31 = 993 = 0x61 + 7 << 7), :status 200 */
	static const uint8_t ok_blk[] = {0x3f, 0xe1, 0x07, 0x88};
	/* the same to 4096 (4096 - 31 = 4065 = 0x61 + 31 << 7) */
	static const uint8_t big_blk[] = {0x3f, 0xe1, 0x1f, 0x88};
	struct h2 *h = malloc(sizeof *h);
	for (int big = 0; big < 2; big++) {
		cr_assert_eq(h2_init(h, H2_SERVER, h2_hpack_static()), 0);
		h2_peer_table_size(h, 1024);
		struct wt_buf s = {0};
		headers(&s, 1, big ? big_blk : ok_blk, 4, 1, 0, 1);
		size_t off = 0;
		ssize_t r = 0;
		int status = 0;
		while (off < s.n) {
			struct h2_event ev;
			r = h2_feed(h, s.p + off, s.n - off, &ev);
			if (r < 0)
				break;
			off += (size_t)r;
			if (ev.kind == H2_EV_FIELD && ev.valuelen == 3 && !memcmp(ev.value, "200", 3))
				status = 1;
			if (ev.kind == H2_EV_NONE)
				break;
		}
		if (big) {
			cr_assert_eq(r, H2_E_PROTOCOL, "a table over the peer's bound: %zd", r);
			cr_assert(h2_dead(h));
		} else {
			cr_assert_geq(r, 0);
			cr_assert(status);
		}
		h2_release(h);
		wt_free(&s);
	}
	free(h);
}
