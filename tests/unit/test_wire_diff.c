/* Differential test of the WebSocket frame parser (decode/ws_frame.h) and
 * its per-write fast path: random streams (fixed seed) of bulk binary
 * frames, Twilsock messages with tokens, text JSON, control frames,
 * fragmented messages, 16- and 64-bit lengths, in both directions (masked
 * client frames, unmasked server frames), uncompressed and with
 * permessage-deflate, context takeover on and off; fed whole, byte by byte,
 * in random pieces, and in random pieces through ws_frame_take first (as the
 * shim's hooks do): the events must be identical. */
#include <criterion/criterion.h>

#include "decode/wire.h"
#include "decode/ws_frame.h"
#include "wire_testlib.h"

/* What a stream is: its direction and permessage-deflate use. */
struct diff_kind {
	enum ws_dir dir;
	int deflate;   /* compress the messages that may hold a token, and some bulk */
	int no_ctx;    /* the sender resets its compressor after each message */
	int handshake; /* client streams: an upgrade request first */
};

static struct diff_kind diff_k;
static z_stream diff_z;

/* One frame of diff_k.dir: client frames masked, server frames not. */
static void diff_frame(struct wt_buf *b, int fin, int rsv1, int op, const void *payload, size_t n,
		       int lenmode)
{
	if (diff_k.dir == WS_CLIENT) {
		wt_frame(b, fin, rsv1, op, payload, n, lenmode);
		return;
	}
	uint8_t h[10];
	size_t k = 0;
	h[k++] = (uint8_t)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | op);
	if (lenmode == 0 && n < 126) {
		h[k++] = (uint8_t)n;
	} else if (lenmode == 16 || (lenmode == 0 && n < 65536)) {
		h[k++] = 126;
		h[k++] = (uint8_t)(n >> 8);
		h[k++] = (uint8_t)n;
	} else {
		h[k++] = 127;
		for (int i = 7; i >= 0; i--)
			h[k++] = (uint8_t)((uint64_t)n >> (8 * i));
	}
	wt_put(b, h, k);
	wt_put(b, payload, n);
}

/* A data message of one frame, compressed when the stream deflates. */
static void diff_msg(struct wt_buf *b, int op, const void *msg, size_t n, int lenmode)
{
	if (!diff_k.deflate) {
		diff_frame(b, 1, 0, op, msg, n, lenmode);
		return;
	}
	struct wt_buf z = {0};
	wt_deflate(&diff_z, msg, n, &z);
	if (diff_k.no_ctx)
		deflateReset(&diff_z);
	diff_frame(b, 1, 1, op, z.p, z.n, lenmode);
	wt_free(&z);
}

/* A data message in nfrag frames, a ping after the first; compressed
 * (RSV1 on the first frame) when the stream deflates. */
static void diff_msg_frags(struct wt_buf *b, int op, const void *msg, size_t n, int nfrag, int lenmode)
{
	struct wt_buf z = {0};
	const unsigned char *p = msg;
	if (diff_k.deflate) {
		wt_deflate(&diff_z, msg, n, &z);
		if (diff_k.no_ctx)
			deflateReset(&diff_z);
		p = z.p;
		n = z.n;
	}
	size_t at = 0;
	for (int i = 0; i < nfrag; i++) {
		size_t end = i == nfrag - 1 ? n : n * (size_t)(i + 1) / (size_t)nfrag;
		diff_frame(b, i == nfrag - 1, i == 0 && diff_k.deflate, i == 0 ? op : 0, p + at, end - at, lenmode);
		if (i == 0 && nfrag > 1)
			diff_frame(b, 1, 0, 9, "pi", 2, 0);
		at = end;
	}
	wt_free(&z);
}

#define DIFF_EV_MAX 256

struct diff_ev {
	char message[24];
	int channel;
	size_t tok_len;
	char tok[96];
};

struct diff_log {
	size_t n;
	struct diff_ev ev[DIFF_EV_MAX];
};

static uint64_t diff_rng;
static uint32_t diff_rand(void)
{
	diff_rng ^= diff_rng << 13;
	diff_rng ^= diff_rng >> 7;
	diff_rng ^= diff_rng << 17;
	return (uint32_t)(diff_rng >> 11);
}

static void diff_note(struct diff_log *log, const struct wire_event *ev)
{
	cr_assert_lt(log->n, DIFF_EV_MAX);
	struct diff_ev *d = &log->ev[log->n++];
	snprintf(d->message, sizeof d->message, "%s", ev->message);
	d->channel = (int)ev->channel;
	d->tok_len = ev->token_len;
	size_t k = ev->token_len < sizeof d->tok - 1 ? ev->token_len : sizeof d->tok - 1;
	memcpy(d->tok, ev->token, k);
	d->tok[k] = 0;
}

static void diff_feed(struct wire *w, const unsigned char *p, size_t n, struct diff_log *log)
{
	while (n) {
		struct wire_event ev;
		ssize_t r = wire_feed(w, p, n, &ev);
		if (ev.kind != WIRE_EV_NONE)
			diff_note(log, &ev);
		if (r < 0 || (size_t)r >= n)
			break;
		p += r;
		n -= (size_t)r;
	}
}

/* mode 0 whole, 1 byte by byte, 2 random pieces, 3 random pieces with
 * ws_frame_take first, 4 the same with pieces cut at frame-ish sizes */
static size_t diff_taken; /* bytes ws_frame_take took, over a diff_rounds */

static void diff_run(const struct wt_buf *s, int mode, uint64_t seed, struct diff_log *log)
{
	static const struct wire_config cfg = {0};
	struct wire *w = malloc(wire_sizeof());
	cr_assert(w);
	wire_init(w, &cfg, 1);
	wire_set_host(w, "tsock.us1.twilio.com", 20);
	if (!diff_k.handshake) {
		unsigned ext = diff_k.deflate ? WIRE_WS_DEFLATE : 0;
		if (diff_k.no_ctx)
			ext |= diff_k.dir == WS_SERVER ? WIRE_WS_SERVER_NO_CTX : WIRE_WS_CLIENT_NO_CTX;
		wire_start_ws(w, diff_k.dir, ext);
	}
	memset(log, 0, sizeof *log);
	uint64_t r = seed | 1;
	size_t off = 0;
	while (off < s->n) {
		size_t k = s->n - off;
		if (mode == 1) {
			k = 1;
		} else if (mode >= 2) {
			r ^= r << 13, r ^= r >> 7, r ^= r << 17;
			size_t cap = mode == 4 ? 70000 : (r & 1) ? 16 : 3000;
			k = 1 + (size_t)((r >> 8) % cap);
			if (k > s->n - off)
				k = s->n - off;
		}
		size_t t = 0;
		if (mode >= 3)
			t = ws_frame_take(wire_frame(w), s->p + off, k);
		diff_taken += t;
		if (t < k)
			diff_feed(w, s->p + off + t, k - t, log);
		off += k;
	}
	wire_release(w);
	free(w);
}

static void diff_bulk(struct wt_buf *s, size_t n, int lenmode)
{
	unsigned char *b = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)diff_rand();
	if (n >= 8 && !memcmp(b, "TWILSOCK", 8))
		b[0] = 0;
	if (diff_k.deflate && n < 2000 && (diff_rand() & 1))
		diff_msg(s, 2, b, n, lenmode); /* compressed bulk: inflated to keep the context */
	else
		diff_frame(s, 1, 0, 2, b, n, lenmode);
	free(b);
}

static void diff_stream(struct wt_buf *s)
{
	char tok[2048], msg[4096], hdr[3072];
	if (diff_k.handshake)
		wt_puts(s, diff_k.no_ctx
			   ? "GET /v3/wsconnect HTTP/1.1\r\nHost: tsock.us1.twilio.com\r\nUpgrade: websocket\r\n"
			     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			     "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n"
			     "Sec-WebSocket-Version: 13\r\n\r\n"
			   : "GET /v3/wsconnect HTTP/1.1\r\nHost: tsock.us1.twilio.com\r\nUpgrade: websocket\r\n"
			     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			     "Sec-WebSocket-Version: 13\r\n\r\n");
	int nframes = 20 + (int)(diff_rand() % 60);
	for (int i = 0; i < nframes; i++) {
		unsigned what = diff_rand() % 14;
		int lm = (int)(diff_rand() % 3);
		lm = lm == 0 ? 0 : lm == 1 ? 16 : 64;
		if (what <= 4) {
			size_t sizes[] = {8, 9, 58, 125, 126, 1000, 16376, 70000};
			diff_bulk(s, sizes[diff_rand() % 8], lm);
		} else if (what == 5) {
			/* a fragmented binary message, control frames in between */
			unsigned char b[300];
			for (size_t k = 0; k < sizeof b; k++)
				b[k] = (unsigned char)(k * 7 + 1);
			diff_frame(s, 0, 0, 2, b, 100, lm);
			diff_frame(s, 1, 0, 9, "pi", 2, 0);
			diff_frame(s, 0, 0, 0, b + 100, 100, lm);
			diff_frame(s, 1, 0, 0, b + 200, 100, 0);
		} else if (what == 6 || what == 7) {
			int64_t iat = WT_NOW - 60 - (int64_t)(diff_rand() % 1000);
			wt_token(tok, sizeof tok, what == 6 ? "alice" : "bob", WT_CHAT_GRANT, iat, iat + 3600);
			snprintf(hdr, sizeof hdr, "{\"method\":\"%s\",\"id\":\"TM%u\",\"token\":\"%s\"}",
				 what == 6 ? "init" : "update", diff_rand(), tok);
			int n = snprintf(msg, sizeof msg, "TWILSOCK V3.0 %zu\r\n%s\r\n", strlen(hdr), hdr);
			if (!diff_k.deflate && diff_rand() % 2) {
				/* split in two fragments */
				diff_frame(s, 0, 0, 2, msg, 5, lm);
				diff_frame(s, 1, 0, 0, msg + 5, (size_t)n - 5, lm);
			} else {
				diff_msg(s, 2, msg, (size_t)n, lm);
			}
		} else if (what == 8) {
			int64_t iat = WT_NOW - (int64_t)(diff_rand() % 1000);
			wt_token(tok, sizeof tok, "carol", WT_VOICE_GRANT, iat, iat + 3600);
			int n = snprintf(msg, sizeof msg, "{\"type\":\"listen\",\"payload\":{\"token\":\"%s\"}}", tok);
			diff_msg(s, 1, msg, (size_t)n, lm);
		} else if (what == 9) {
			diff_msg(s, 1, "{\"type\":\"ping\"}", 15, 0);
		} else if (what == 12 || what == 13) {
			/* a Twilsock message of a method with no token, or a
			 * binary message, with a payload of up to 20 KiB (a token
			 * text in it, never looked at), in up to three frames */
			size_t pn = 1 + diff_rand() % 20000, at = 0;
			int64_t iat = WT_NOW - 60;
			wt_token(tok, sizeof tok, "dora", WT_CHAT_GRANT, iat, iat + 3600);
			struct wt_buf m = {0};
			if (what == 12) {
				snprintf(hdr, sizeof hdr, "{\"method\":\"message\",\"id\":\"TM%u\",\"payload_size\":%zu}",
					 diff_rand(), pn);
				wt_printf(&m, "TWILSOCK V3.0 %zu\r\n%s\r\n", strlen(hdr), hdr);
			} else {
				wt_put(&m, "\x01", 1);
			}
			while (at < pn) {
				if (diff_rand() % 9 == 0)
					wt_printf(&m, "{\"token\":\"%s\"}", tok);
				else
					wt_printf(&m, "{\"k\":%u},", diff_rand() % 5000);
				at = m.n;
			}
			diff_msg_frags(s, 2, m.p, m.n, 1 + (int)(diff_rand() % 3), lm);
			wt_free(&m);
		} else if (what == 10) {
			diff_frame(s, 1, 0, 10, "pong", 4, 0);
		} else {
			diff_frame(s, 1, 0, 2, "", 0, 0); /* an empty binary message */
		}
	}
}

/* 40 rounds of random streams of the kind k; returns the events seen. */
static size_t diff_rounds(struct diff_kind k)
{
	size_t total_events = 0;
	diff_k = k;
	diff_taken = 0;
	for (int round = 0; round < 40; round++) {
		struct wt_buf s = {0};
		if (k.deflate) {
			memset(&diff_z, 0, sizeof diff_z);
			cr_assert_eq(deflateInit2(&diff_z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
		}
		diff_k.handshake = k.dir == WS_CLIENT && (round & 1);
		diff_stream(&s);
		if (k.deflate)
			deflateEnd(&diff_z);
		static struct diff_log ref, got;
		diff_run(&s, 0, 0, &ref);
		total_events += ref.n;
		for (int mode = 1; mode <= 4; mode++) {
			for (int rep = 0; rep < (mode == 1 ? 1 : 3); rep++) {
				diff_run(&s, mode, 0x1234567ull * (uint64_t)(round * 8 + rep + 1) + (uint64_t)mode, &got);
				cr_assert_eq(got.n, ref.n, "dir %d deflate %d no_ctx %d round %d mode %d: %zu events, want %zu",
					     k.dir, k.deflate, k.no_ctx, round, mode, got.n, ref.n);
				for (size_t i = 0; i < ref.n; i++) {
					cr_assert_str_eq(got.ev[i].message, ref.ev[i].message, "round %d mode %d ev %zu",
							 round, mode, i);
					cr_assert_eq(got.ev[i].channel, ref.ev[i].channel);
					cr_assert_eq(got.ev[i].tok_len, ref.ev[i].tok_len);
					cr_assert_str_eq(got.ev[i].tok, ref.ev[i].tok);
				}
			}
		}
		wt_free(&s);
	}
	/* the fast path did take bulk frames: the comparison covers it */
	cr_assert_gt(diff_taken, 100000, "dir %d: fast path took %zu bytes", k.dir, diff_taken);
	return total_events;
}

Test(wire_diff, fast_paths_give_the_same_events)
{
	diff_rng = 0x9e3779b97f4a7c15ull;
	size_t total_events = diff_rounds((struct diff_kind){WS_CLIENT, 0, 0, 0});
	/* the streams did carry tokens: the comparison is not of empty lists */
	cr_assert_gt(total_events, 40);
}

/* Every token message of a round is found, whatever the direction and the
 * compression: the streams hold 20..80 frames, a quarter of them tokens. */
static void diff_kind_check(struct diff_kind k)
{
	diff_rng = 0x2545f4914f6cdd1dull + (uint64_t)k.dir * 7 + (uint64_t)k.deflate * 3 + (uint64_t)k.no_ctx;
	size_t total_events = diff_rounds(k);
	cr_assert_gt(total_events, 40, "dir %d deflate %d no_ctx %d: %zu events", k.dir, k.deflate, k.no_ctx,
		     total_events);
}

Test(wire_diff, server_frames)
{
	diff_kind_check((struct diff_kind){WS_SERVER, 0, 0, 0});
}

Test(wire_diff, server_frames_deflate_context_takeover)
{
	diff_kind_check((struct diff_kind){WS_SERVER, 1, 0, 0});
}

Test(wire_diff, server_frames_deflate_no_context_takeover)
{
	diff_kind_check((struct diff_kind){WS_SERVER, 1, 1, 0});
}

Test(wire_diff, client_frames_deflate_context_takeover)
{
	diff_kind_check((struct diff_kind){WS_CLIENT, 1, 0, 0});
}

Test(wire_diff, client_frames_deflate_no_context_takeover)
{
	diff_kind_check((struct diff_kind){WS_CLIENT, 1, 1, 0});
}

/* The permessage-deflate parameters an upgrade offered, for the reader of
 * the server's direction (wire_start_ws). */
Test(wire_diff, upgrade_offer)
{
	static const struct wire_config cfg = {0};
	struct wire *w = malloc(wire_sizeof());
	cr_assert(w);
	wire_init(w, &cfg, 1);
	cr_assert_eq(wire_ws_offer(w), 0u);
	static const char req[] =
		"GET /v3/wsconnect HTTP/1.1\r\nHost: tsock.us1.twilio.com\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n";
	struct diff_log log;
	memset(&log, 0, sizeof log);
	diff_feed(w, (const unsigned char *)req, sizeof req - 1, &log);
	cr_assert_eq(wire_ws_offer(w), WIRE_WS_DEFLATE | WIRE_WS_SERVER_NO_CTX);
	/* a masked frame is a client's: a server-direction decoder loses sync on it */
	struct wire *r = malloc(wire_sizeof());
	cr_assert(r);
	wire_init(r, &cfg, 1);
	wire_start_ws(r, WS_SERVER, wire_ws_offer(w));
	static const unsigned char masked[] = {0x82, 0x81, 1, 2, 3, 4, 'x'};
	struct wire_event ev;
	cr_assert_eq(wire_feed(r, masked, sizeof masked, &ev), WIRE_E_PROTOCOL);
	cr_assert(wire_passthrough(r));
	wire_release(r);
	free(r);
	wire_release(w);
	free(w);
}
