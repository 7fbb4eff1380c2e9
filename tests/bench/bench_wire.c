/* The wire decoder's throughput beside memchr over the same bytes, in one run
 * (rounds interleaved, medians reported):
 *   ws_binary_16k      a WebSocket stream of 16 KiB binary frames (bulk data
 *                      after the handshake: skipped by length)
 *   twilsock_small     an init, then small Twilsock messages without a token
 *                      (each one unmasked, its header read, scanned)
 * fed in 64 KiB writes, as a socket would. Prints
 * "name memchr_GBps wire_GBps ratio" lines (ratio = wire / memchr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode/wire.h"

#define ROUNDS 7
#define WRITE_SIZE 65536

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct buf {
	unsigned char *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static void frame(struct buf *b, int op, const unsigned char *payload, size_t n)
{
	unsigned char h[14], key[4];
	size_t k = 0;
	uint32_t m = rnd();
	memcpy(key, &m, 4);
	h[k++] = (unsigned char)(0x80 | op);
	if (n < 126) {
		h[k++] = (unsigned char)(0x80 | n);
	} else if (n < 65536) {
		h[k++] = 0x80 | 126;
		h[k++] = (unsigned char)(n >> 8);
		h[k++] = (unsigned char)n;
	} else {
		h[k++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			h[k++] = (unsigned char)((uint64_t)n >> (8 * i));
	}
	memcpy(h + k, key, 4);
	put(b, h, k + 4);
	size_t at = b->n;
	put(b, payload, n);
	for (size_t i = 0; i < n; i++)
		b->p[at + i] ^= key[i & 3];
}

static const char upgrade[] = "GET /v3/wsconnect HTTP/1.1\r\nHost: tsock.us1.twilio.com\r\n"
			      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
			      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

static void build_binary(struct buf *b, size_t total)
{
	unsigned char payload[16384];
	put(b, upgrade, sizeof upgrade - 1);
	while (b->n < total) {
		for (size_t i = 0; i < sizeof payload; i += 4) {
			uint32_t r = rnd();
			memcpy(payload + i, &r, 4);
		}
		frame(b, 2, payload, sizeof payload);
	}
}

static void build_twilsock(struct buf *b, size_t total)
{
	char msg[512];
	put(b, upgrade, sizeof upgrade - 1);
	/* the init (its token is not a real one: the decoder does not judge) */
	int n = snprintf(msg, sizeof msg,
			 "TWILSOCK V3.0 %d\r\n{\"id\":\"TM0\",\"method\":\"init\",\"token\":\"eyJhbGciOiJIUzI1NiJ9.e30.c2ln\",\"payload_size\":0}\r\n",
			 82);
	frame(b, 2, (const unsigned char *)msg, (size_t)n);
	for (unsigned id = 1; b->n < total; id++) {
		char hdr[160], body[160];
		int bn = snprintf(body, sizeof body,
				  "{\"channel\":\"CH%08u\",\"event\":\"typing\",\"author\":\"user%u\"}", id,
				  id % 97);
		int hn = snprintf(hdr, sizeof hdr,
				  "{\"id\":\"TM%08u\",\"method\":\"message\",\"active_grant\":\"chat\","
				  "\"payload_type\":\"application/json\",\"payload_size\":%d}",
				  id, bn);
		n = snprintf(msg, sizeof msg, "TWILSOCK V3.0 %d\r\n%s\r\n%s", hn, hdr, body);
		frame(b, 2, (const unsigned char *)msg, (size_t)n);
	}
}

static volatile size_t sink;

static double run_memchr(const struct buf *b, int needle)
{
	double t = now_s();
	size_t count = 0;
	const unsigned char *p = b->p, *end = b->p + b->n;
	while (p < end) {
		const unsigned char *q = memchr(p, needle, (size_t)(end - p));
		if (!q)
			break;
		count++;
		p = q + 1;
	}
	sink = count;
	return now_s() - t;
}

static double run_wire(struct wire *w, const struct buf *b)
{
	double t = now_s();
	size_t events = 0;
	wire_init(w, NULL, 1);
	for (size_t off = 0; off < b->n;) {
		size_t end = off + WRITE_SIZE < b->n ? off + WRITE_SIZE : b->n;
		while (off < end) {
			struct wire_event ev;
			ssize_t k = wire_feed(w, b->p + off, end - off, &ev);
			off = k < 0 ? end : off + (size_t)k;
			events += ev.kind != WIRE_EV_NONE;
		}
	}
	wire_release(w);
	sink = events;
	if (events != 1 && events != 0)
		fprintf(stderr, "bench_wire: unexpected %zu events\n", events);
	return now_s() - t;
}

/* the least frequent byte: memchr then scans (nearly) the whole buffer */
static int rare_byte(const struct buf *b)
{
	size_t hist[256] = {0};
	for (size_t i = 0; i < b->n; i++)
		hist[b->p[i]]++;
	int best = 0;
	for (int c = 1; c < 256; c++)
		if (hist[c] < hist[best])
			best = c;
	return best;
}

static void bench(const char *name, const struct buf *b, struct wire *w)
{
	double tm[ROUNDS], tw[ROUNDS];
	int needle = rare_byte(b);
	run_memchr(b, needle);
	run_wire(w, b);
	for (int r = 0; r < ROUNDS; r++) {
		tm[r] = run_memchr(b, needle);
		tw[r] = run_wire(w, b);
	}
	qsort(tm, ROUNDS, sizeof tm[0], cmp_double);
	qsort(tw, ROUNDS, sizeof tw[0], cmp_double);
	double gm = (double)b->n / tm[ROUNDS / 2] / 1e9, gw = (double)b->n / tw[ROUNDS / 2] / 1e9;
	printf("%s %.2f %.2f %.2f\n", name, gm, gw, gw / gm);
}

int main(void)
{
	struct wire *w = malloc(wire_sizeof());
	struct buf a = {0}, t = {0};
	build_binary(&a, 64u << 20);
	build_twilsock(&t, 16u << 20);
	printf("# name memchr_GBps wire_GBps ratio (%d rounds, medians; %d-byte writes)\n", ROUNDS,
	       WRITE_SIZE);
	bench("ws_binary_16k", &a, w);
	bench("twilsock_small", &t, w);
	free(a.p);
	free(t.p);
	free(w);
	return 0;
}
