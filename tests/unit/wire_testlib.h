/* Helpers for the wire and session tests: a test signer (HMAC-SHA256 +
 * base64url), WebSocket frame and permessage-deflate builders, and a harness
 * that feeds a stream whole, byte by byte and at random split points. */
#ifndef TOKSHIM_WIRE_TESTLIB_H
#define TOKSHIM_WIRE_TESTLIB_H

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "decode/b64url.h"
#include "decode/wire.h"

#define WT_NOW 1795383000 /* 2026-11-22T21:30:00Z: the fixed clock of every test */
#define WT_SECRET "wire-test-secret-0123456789abcdef"
#define WT_KEY "SK0123456789abcdef0123456789abcdef"
#define WT_ACCOUNT "AC0123456789abcdef0123456789abcdef"
#define WT_CHAT_IS "IS0123456789abcdef0123456789abcdef"
#define WT_SYNC_IS "ISfedcba9876543210fedcba9876543210"

/* Signs header.payload with HS256 under secret; returns the token length. */
static inline size_t wt_sign(char *out, size_t cap, const char *header, const char *payload,
			     const char *secret)
{
	size_t n = b64url_encode((const uint8_t *)header, strlen(header), out, cap);
	out[n++] = '.';
	n += b64url_encode((const uint8_t *)payload, strlen(payload), out + n, cap - n);
	unsigned char mac[64];
	unsigned int maclen = 0;
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)out, n, mac, &maclen);
	out[n++] = '.';
	n += b64url_encode(mac, maclen, out + n, cap - n);
	out[n] = 0;
	return n;
}

/* A Twilio access token: identity, grants JSON (the value of "grants" without
 * identity), lifetime [iat, exp]. */
static inline size_t wt_token(char *out, size_t cap, const char *identity, const char *grants,
			      int64_t iat, int64_t exp)
{
	char payload[2048];
	snprintf(payload, sizeof payload,
		 "{\"jti\":\"%s-%lld\",\"grants\":{\"identity\":\"%s\"%s%s},\"iat\":%lld,"
		 "\"exp\":%lld,\"iss\":\"%s\",\"sub\":\"%s\"}",
		 WT_KEY, (long long)iat, identity, grants[0] ? "," : "", grants, (long long)iat,
		 (long long)exp, WT_KEY, WT_ACCOUNT);
	return wt_sign(out, cap, "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"cty\":\"twilio-fpa;v=1\"}",
		       payload, WT_SECRET);
}

#define WT_CHAT_GRANT "\"chat\":{\"service_sid\":\"" WT_CHAT_IS "\"}"
#define WT_SYNC_GRANT "\"data_sync\":{\"service_sid\":\"" WT_SYNC_IS "\"}"
#define WT_VOICE_GRANT "\"voice\":{\"incoming\":{\"allow\":true},\"outgoing\":{\"application_sid\":\"AP0123456789abcdef0123456789abcdef\"}}"
#define WT_VIDEO_GRANT "\"video\":{\"room\":\"r1\"}"

/* ---- a growable byte buffer (tests only) ---- */
struct wt_buf {
	unsigned char *p;
	size_t n, cap;
};

static inline void wt_put(struct wt_buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static inline void wt_puts(struct wt_buf *b, const char *s)
{
	wt_put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static inline void wt_printf(struct wt_buf *b,
								  const char *fmt, ...)
{
	char *tmp = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		wt_put(b, tmp, (size_t)n);
	free(tmp);
}

static inline void wt_free(struct wt_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* One client frame. lenmode: 0 minimal, 16 or 64 to force that length form. */
static inline void wt_frame(struct wt_buf *b, int fin, int rsv1, int op, const void *payload,
			    size_t n, int lenmode)
{
	static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
	uint8_t h[14];
	size_t k = 0;
	h[k++] = (uint8_t)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | op);
	if (lenmode == 0 && n < 126) {
		h[k++] = (uint8_t)(0x80 | n);
	} else if (lenmode == 16 || (lenmode == 0 && n < 65536)) {
		h[k++] = 0x80 | 126;
		h[k++] = (uint8_t)(n >> 8);
		h[k++] = (uint8_t)n;
	} else {
		h[k++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			h[k++] = (uint8_t)((uint64_t)n >> (8 * i));
	}
	memcpy(h + k, key, 4);
	k += 4;
	wt_put(b, h, k);
	const uint8_t *p = payload;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i] ^ key[i & 3];
		wt_put(b, &c, 1);
	}
}

/* One server frame: FIN, unmasked, 7- or 16-bit length (n < 65536). */
static inline void wt_srv_frame(struct wt_buf *b, int rsv1, int op, const void *payload, size_t n)
{
	uint8_t h[4];
	size_t k = 0;
	h[k++] = (uint8_t)(0x80 | (rsv1 ? 0x40 : 0) | op);
	if (n < 126) {
		h[k++] = (uint8_t)n;
	} else {
		h[k++] = 126;
		h[k++] = (uint8_t)(n >> 8);
		h[k++] = (uint8_t)n;
	}
	wt_put(b, h, k);
	wt_put(b, payload, n);
}

/* A server's Twilsock message with header hdr and no payload, in one frame. */
static inline void wt_srv_tsock(struct wt_buf *b, const char *hdr)
{
	struct wt_buf m = {0};
	wt_printf(&m, "TWILSOCK V3.0 %zu\r\n%s\r\n", strlen(hdr), hdr);
	wt_srv_frame(b, 0, 2, m.p, m.n);
	wt_free(&m);
}

/* The server's Twilsock reply to id: 200 OK, or status with Twilio's error
 * code and text. */
static inline void wt_srv_reply(struct wt_buf *b, const char *id, int status, int code, const char *text)
{
	char hdr[512];
	if (status == 200)
		snprintf(hdr, sizeof hdr, "{\"method\":\"reply\",\"id\":\"%s\",\"status\":{\"code\":200,\"status\":\"OK\"},"
			 "\"payload_size\":0}", id);
	else
		snprintf(hdr, sizeof hdr, "{\"method\":\"reply\",\"id\":\"%s\",\"status\":{\"code\":%d,\"status\":"
			 "\"UNAUTHORIZED\",\"errorCode\":%d,\"description\":\"%s\"},\"payload_size\":0}",
			 id, status, code, text);
	wt_srv_tsock(b, hdr);
}

/* permessage-deflate: compresses one message with z (raw deflate, kept
 * across messages for context takeover), strips the 00 00 ff ff tail. */
static inline void wt_deflate(z_stream *z, const void *msg, size_t n, struct wt_buf *out)
{
	unsigned char tmp[4096];
	z->next_in = (Bytef *)msg;
	z->avail_in = (uInt)n;
	do {
		z->next_out = tmp;
		z->avail_out = sizeof tmp;
		deflate(z, Z_SYNC_FLUSH);
		wt_put(out, tmp, sizeof tmp - z->avail_out);
	} while (z->avail_out == 0);
	if (out->n >= 4 && !memcmp(out->p + out->n - 4, "\x00\x00\xff\xff", 4))
		out->n -= 4;
}

/* ---- the harness ---- */
#define WT_MAX_EVENTS 16

struct wt_event {
	enum channel channel;
	enum product product;
	char message[24];
	char region[16];
	char host[128];
	char token[20000];
	size_t token_len;
};

struct wt_result {
	size_t n;
	struct wt_event ev[WT_MAX_EVENTS];
	int errors[4]; /* counts of -1, -2, -3 returns, [0] unused */
	int passthrough;
};

struct wt_setup {
	const char *host; /* SNI, may be NULL */
	unsigned short port;
	const struct wire_config *cfg;
};

/* Feeds data in pieces: cuts[] are increasing offsets (ncuts of them). */
static inline void wt_feed_cuts(struct wire *w, const struct wt_setup *su, const unsigned char *data,
				size_t len, const size_t *cuts, size_t ncuts, struct wt_result *r)
{
	memset(r, 0, sizeof *r);
	wire_init(w, su ? su->cfg : NULL, 1);
	if (su && su->host)
		wire_set_host(w, su->host, strlen(su->host));
	if (su && su->port)
		wire_set_port(w, su->port);
	size_t start = 0;
	for (size_t c = 0; c <= ncuts; c++) {
		size_t end = c < ncuts ? cuts[c] : len;
		size_t off = start;
		for (;;) {
			struct wire_event ev;
			ssize_t k = wire_feed(w, data + off, end - off, &ev);
			if (k < 0) {
				r->errors[-k]++;
				off = end;
			} else {
				off += (size_t)k;
			}
			if (ev.kind == WIRE_EV_NONE) {
				if (off != end)
					r->errors[0]++; /* a broken promise: stopped early without an event */
				break;
			}
			if (r->n < WT_MAX_EVENTS) {
				struct wt_event *e = &r->ev[r->n];
				e->channel = ev.channel;
				e->product = ev.product;
				snprintf(e->message, sizeof e->message, "%s", ev.message);
				snprintf(e->region, sizeof e->region, "%s", ev.region);
				snprintf(e->host, sizeof e->host, "%s", ev.host);
				e->token_len = ev.token_len < sizeof e->token ? ev.token_len : sizeof e->token - 1;
				memcpy(e->token, ev.token, e->token_len);
				e->token[e->token_len] = 0;
			}
			r->n++;
		}
		start = end;
	}
	r->passthrough = wire_passthrough(w);
	wire_release(w);
}

static inline int wt_event_eq(const struct wt_event *a, const struct wt_event *b)
{
	return a->channel == b->channel && a->product == b->product &&
	       !strcmp(a->message, b->message) && !strcmp(a->region, b->region) &&
	       a->token_len == b->token_len && !memcmp(a->token, b->token, a->token_len);
}

/* 1 when a's events are a prefix of b's (all of them when `all`). */
static inline int wt_events_prefix(const struct wt_result *a, const struct wt_result *b, int all)
{
	if (a->n > b->n || (all && a->n != b->n))
		return 0;
	for (size_t i = 0; i < a->n && i < WT_MAX_EVENTS; i++)
		if (!wt_event_eq(&a->ev[i], &b->ev[i]))
			return 0;
	return 1;
}

/* A small fixed-seed generator, so that the random splits are the same on
 * every run. */
static inline uint32_t wt_rand(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*s >> 33);
}

#endif
