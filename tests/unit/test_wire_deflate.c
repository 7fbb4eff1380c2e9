/* permessage-deflate streams of the client's direction, with and without
 * context takeover: a token in a compressed message after many compressed
 * messages that carry none (the dictionary of the ones not kept is needed
 * with context takeover: the last token is sent as back-references into
 * them), and a compressed `update` after large compressed messages that are
 * skipped (a Twilsock payload in fragments, a binary message). Each stream
 * is fed whole, byte by byte, in two pieces cut at every byte, in random
 * pieces, and in random pieces through ws_frame_take first (as the shim's
 * write hooks do): the events are the expected ones every time. Without
 * context takeover the rest of a judged compressed message goes by length:
 * ws_frame_take takes its continuation frames. */
#include <criterion/criterion.h>

#include "decode/wire.h"
#include "decode/ws_frame.h"
#include "tests/unit/wire_testlib.h"

static char tok_init[4096], tok_upd[4096];

static void dz_tokens(void)
{
	if (tok_init[0])
		return;
	int64_t iat = WT_NOW - 60, exp = WT_NOW + 3600;
	wt_token(tok_init, sizeof tok_init, "alice", WT_CHAT_GRANT, iat, exp);
	wt_token(tok_upd, sizeof tok_upd, "bob_the_second", WT_SYNC_GRANT, iat, exp);
}

/* The sender: one deflate stream, reset after each message without
 * context takeover. */
struct dz_sender {
	z_stream z;
	int no_ctx;
};

static void dz_open(struct dz_sender *s, struct wt_buf *b, int no_ctx)
{
	memset(s, 0, sizeof *s);
	s->no_ctx = no_ctx;
	cr_assert_eq(deflateInit2(&s->z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	wt_printf(b,
		  "GET /v3/wsconnect HTTP/1.1\r\nHost: tsock.us1.twilio.com\r\nUpgrade: websocket\r\n"
		  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		  "Sec-WebSocket-Extensions: permessage-deflate%s\r\nSec-WebSocket-Version: 13\r\n\r\n",
		  no_ctx ? "; client_no_context_takeover" : "");
}

/* One compressed message of opcode op in nfrag frames (RSV1 on the first),
 * a ping between the first two. */
static void dz_msg(struct dz_sender *s, struct wt_buf *b, int op, const void *msg, size_t n, int nfrag)
{
	struct wt_buf c = {0};
	wt_deflate(&s->z, msg, n, &c);
	if (s->no_ctx)
		deflateReset(&s->z);
	size_t at = 0;
	for (int i = 0; i < nfrag; i++) {
		size_t end = i == nfrag - 1 ? c.n : c.n * (size_t)(i + 1) / (size_t)nfrag;
		wt_frame(b, i == nfrag - 1, i == 0, i == 0 ? op : 0, c.p + at, end - at, 0);
		if (i == 0 && nfrag > 1)
			wt_frame(b, 1, 0, 9, "ping", 4, 0);
		at = end;
	}
	wt_free(&c);
}

static void dz_twilsock(struct wt_buf *m, const char *method, const char *tok, const char *payload, size_t pn)
{
	char hdr[8192];
	if (tok)
		snprintf(hdr, sizeof hdr,
			 "{\"id\":\"TM0123\",\"method\":\"%s\",\"token\":\"%s\",\"continuation_token\":null,"
			 "\"metadata\":{\"env\":\"test\"},\"capabilities\":[\"client_update\"],\"payload_size\":%zu}",
			 method, tok, pn);
	else
		snprintf(hdr, sizeof hdr,
			 "{\"method\":\"%s\",\"id\":\"TM%zu\",\"active_grant\":\"data_sync\","
			 "\"payload_type\":\"application/json\",\"payload_size\":%zu}",
			 method, pn, pn);
	wt_printf(m, "TWILSOCK V3.0 %zu\r\n%s\r\n", strlen(hdr), hdr);
	wt_put(m, payload, pn);
}

/* A JSON-like payload of about n bytes that holds tok (the token text is
 * never looked at there: a Twilsock payload, a binary message). */
static void dz_payload(struct wt_buf *p, size_t n, const char *tok, uint64_t *seed)
{
	while (p->n < n) {
		unsigned r = wt_rand(seed);
		if (r % 7 == 0)
			wt_printf(p, "{\"key\":\"k%u\",\"value\":{\"token\":\"%s\"}},", r % 1000, tok);
		else
			wt_printf(p, "{\"key\":\"k%u\",\"data\":\"%08x%08x\",\"rev\":%u},", r % 1000, r, r * 2654435761u,
				  r % 97);
	}
}

/* Many compressed messages with no token (Twilsock messages of other
 * methods, binary messages, text JSON), an init first and an update last. */
static void dz_many(struct wt_buf *b, int no_ctx)
{
	struct dz_sender s;
	uint64_t seed = 777;
	dz_open(&s, b, no_ctx);
	struct wt_buf m = {0}, p = {0};
	dz_twilsock(&m, "init", tok_init, "", 0);
	dz_msg(&s, b, 2, m.p, m.n, 1);
	for (int i = 0; i < 90; i++) {
		m.n = p.n = 0;
		switch (i % 4) {
		case 0: /* a Twilsock message whose payload holds the update's token */
			dz_payload(&p, 200 + wt_rand(&seed) % 1500, tok_upd, &seed);
			dz_twilsock(&m, i % 8 ? "message" : "reply", NULL, (const char *)p.p, p.n);
			dz_msg(&s, b, 2, m.p, m.n, 1 + (int)(wt_rand(&seed) % 2));
			break;
		case 1: /* a binary message, not Twilsock */
			dz_payload(&p, 100 + wt_rand(&seed) % 900, tok_upd, &seed);
			p.p[0] = 0x01;
			dz_msg(&s, b, 2, p.p, p.n, 1);
			break;
		case 2: /* a text frame with no token */
			wt_printf(&m, "{\"type\":\"ping\",\"n\":%d}", i);
			dz_msg(&s, b, 1, m.p, m.n, 1);
			break;
		default: /* a Twilsock message of another method as a text frame */
			dz_twilsock(&m, "ping", NULL, "", 0);
			dz_msg(&s, b, 1, m.p, m.n, 1);
			break;
		}
	}
	m.n = 0;
	dz_twilsock(&m, "update", tok_upd, "{\"a\":1}", 7);
	dz_msg(&s, b, 2, m.p, m.n, 1);
	deflateEnd(&s.z);
	wt_free(&m);
	wt_free(&p);
}

/* Large compressed messages skipped after their start: a Twilsock message
 * with a 40 KiB payload in three fragments, a 20 KiB binary message; then
 * a compressed update. */
static void dz_large(struct wt_buf *b, int no_ctx)
{
	struct dz_sender s;
	uint64_t seed = 4242;
	dz_open(&s, b, no_ctx);
	struct wt_buf m = {0}, p = {0};
	dz_twilsock(&m, "init", tok_init, "", 0);
	dz_msg(&s, b, 2, m.p, m.n, 1);
	m.n = 0;
	dz_payload(&p, 40000, tok_upd, &seed);
	dz_twilsock(&m, "message", NULL, (const char *)p.p, p.n);
	dz_msg(&s, b, 2, m.p, m.n, 3);
	p.n = 0;
	dz_payload(&p, 20000, tok_upd, &seed);
	p.p[0] = 0x02;
	dz_msg(&s, b, 2, p.p, p.n, 1);
	m.n = 0;
	dz_twilsock(&m, "update", tok_upd, "", 0);
	dz_msg(&s, b, 2, m.p, m.n, 1);
	deflateEnd(&s.z);
	wt_free(&m);
	wt_free(&p);
}

/* ---- feeding ---- */

struct dz_events {
	size_t n;
	char message[4][16];
	char token[4][4096];
};

static void dz_note(struct dz_events *e, const struct wire_event *ev)
{
	cr_assert_eq(ev->kind, WIRE_EV_TOKEN);
	cr_assert_eq(ev->channel, CHANNEL_TWILSOCK);
	cr_assert_lt(e->n, 4, "more events than messages with a token");
	snprintf(e->message[e->n], sizeof e->message[0], "%s", ev->message);
	cr_assert_lt(ev->token_len, sizeof e->token[0]);
	memcpy(e->token[e->n], ev->token, ev->token_len);
	e->token[e->n][ev->token_len] = 0;
	e->n++;
}

static void dz_feed(struct wire *w, const unsigned char *p, size_t n, struct dz_events *e)
{
	while (n) {
		struct wire_event ev;
		ssize_t r = wire_feed(w, p, n, &ev);
		cr_assert_geq(r, 0, "a well-formed stream gives no error (%zd)", r);
		if (ev.kind != WIRE_EV_NONE)
			dz_note(e, &ev);
		else
			cr_assert_eq((size_t)r, n, "stopped early without an event");
		p += r;
		n -= (size_t)r;
	}
}

/* Feeds s in pieces ending at cuts[0..ncuts) and at its end; take: each
 * piece through ws_frame_take first. */
static void dz_run(struct wire *w, const struct wt_buf *s, const size_t *cuts, size_t ncuts, int take,
		   struct dz_events *e)
{
	static const struct wire_config cfg = {0};
	memset(e, 0, sizeof *e);
	wire_init(w, &cfg, 1);
	wire_set_host(w, "tsock.us1.twilio.com", 20);
	size_t at = 0;
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : s->n, t = 0;
		if (take)
			t = ws_frame_take(wire_frame(w), s->p + at, end - at);
		dz_feed(w, s->p + at + t, end - at - t, e);
		at = end;
	}
	wire_release(w);
}

static void dz_expect(const struct dz_events *e, const char *what)
{
	cr_assert_eq(e->n, 2, "%s: %zu events, want the init and the update", what, e->n);
	cr_assert_str_eq(e->message[0], "init", "%s", what);
	cr_assert_str_eq(e->token[0], tok_init, "%s", what);
	cr_assert_str_eq(e->message[1], "update", "%s", what);
	cr_assert_str_eq(e->token[1], tok_upd, "%s", what);
}

static void dz_check(void (*build)(struct wt_buf *, int), int no_ctx, int every_cut)
{
	dz_tokens();
	struct wt_buf s = {0};
	build(&s, no_ctx);
	struct wire *w = malloc(wire_sizeof());
	cr_assert(w);
	static struct dz_events e;
	size_t *cuts = malloc(sizeof *cuts * s.n);
	cr_assert(cuts);

	dz_run(w, &s, NULL, 0, 0, &e);
	dz_expect(&e, "whole");
	for (size_t k = 0; k + 1 < s.n; k++)
		cuts[k] = k + 1;
	dz_run(w, &s, cuts, s.n - 1, 0, &e);
	dz_expect(&e, "byte by byte");
	dz_run(w, &s, cuts, s.n - 1, 1, &e);
	dz_expect(&e, "byte by byte, ws_frame_take first");
	if (every_cut) {
		for (size_t k = 1; k < s.n; k++) {
			dz_run(w, &s, &k, 1, k & 1, &e);
			char what[64];
			snprintf(what, sizeof what, "cut at %zu of %zu", k, s.n);
			dz_expect(&e, what);
		}
	}
	uint64_t seed = 99 + (uint64_t)no_ctx;
	for (int round = 0; round < 60; round++) {
		size_t m = 0, at = 0;
		for (;;) {
			unsigned r = wt_rand(&seed);
			at += 1 + r % (round & 1 ? 64 : 5000);
			if (at >= s.n)
				break;
			cuts[m++] = at;
		}
		dz_run(w, &s, cuts, m, round % 3 != 0, &e);
		dz_expect(&e, "random pieces");
	}
	free(cuts);
	free(w);
	wt_free(&s);
}

Test(wire_deflate, token_after_many_messages_no_context_takeover)
{
	dz_check(dz_many, 1, 0);
}

Test(wire_deflate, token_after_many_messages_context_takeover)
{
	dz_check(dz_many, 0, 0);
}

Test(wire_deflate, update_after_large_skipped_no_context_takeover)
{
	dz_check(dz_large, 1, 1);
}

Test(wire_deflate, update_after_large_skipped_context_takeover)
{
	dz_check(dz_large, 0, 1);
}

/* The continuation frames of the large Twilsock message (after its first
 * fragment was fed): taken whole by ws_frame_take without context takeover
 * (its header was read from the first fragment and the rest goes by length),
 * left to the decoder with it (every byte is inflated). */
Test(wire_deflate, judged_message_goes_by_length_only_without_context_takeover)
{
	dz_tokens();
	for (int no_ctx = 0; no_ctx <= 1; no_ctx++) {
		struct wt_buf s = {0};
		dz_large(&s, no_ctx);
		/* the large message's frames: after the init's frame, the first
		 * fragment (RSV1, binary, not final), a ping, two continuations */
		size_t at = 0, frame[8];
		int nf = 0;
		const unsigned char *h = memmem(s.p, s.n, "\r\n\r\n", 4);
		cr_assert(h);
		at = (size_t)(h - s.p) + 4;
		while (nf < 8 && at < s.n) {
			struct ws_hdr hd;
			int k = ws_hdr_parse(s.p + at, s.n - at, WS_CLIENT, nf >= 2 && nf <= 4, &hd);
			cr_assert_gt(k, 0);
			frame[nf++] = at;
			at += (size_t)k + hd.len;
		}
		cr_assert_eq(s.p[frame[1]], 0x42, "the large message's first fragment");
		cr_assert_eq(s.p[frame[3]], 0x00, "a continuation");
		struct wire *w = malloc(wire_sizeof());
		static const struct wire_config cfg = {0};
		static struct dz_events e;
		memset(&e, 0, sizeof e);
		wire_init(w, &cfg, 1);
		wire_set_host(w, "tsock.us1.twilio.com", 20);
		dz_feed(w, s.p, frame[3], &e);
		cr_assert_eq(e.n, 1, "the init");
		size_t conts = frame[5] - frame[3];
		size_t t = ws_frame_take(wire_frame(w), s.p + frame[3], conts);
		if (no_ctx)
			cr_assert_eq(t, conts, "no context takeover: the judged message's rest goes by length");
		else
			cr_assert_eq(t, 0, "context takeover: the rest is inflated");
		dz_feed(w, s.p + frame[3] + t, s.n - frame[3] - t, &e);
		dz_expect(&e, no_ctx ? "no context takeover" : "context takeover");
		wire_release(w);
		free(w);
		wt_free(&s);
	}
}
