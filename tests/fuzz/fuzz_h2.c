/* libFuzzer target for HTTP/2 (decode/wire_h2.c) with libnghttp2's real
 * HPACK inflater. Input: byte 0 seeds the split points, the rest is an
 * HTTP/2 byte stream. It is fed (1) as a client stream after the connection
 * preface through the wire decoder, whole and in random pieces: the events
 * must be the same; (2) as a server stream through h2_feed(H2_SERVER),
 * asking for the DATA of every response: the feed contract must hold. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/wire.h"
#include "decode/wire_h2.h"

static const struct wire_config cfg = {.hpack = h2_hpack_static};
static struct wire *w;
static struct h2 *h;
static unsigned char *buf;

#define EV_MAX 64
struct evlog {
	size_t n;
	uint64_t hash[EV_MAX];
	int errors;
};

static uint64_t fnv(const char *p, size_t n, uint64_t x)
{
	for (size_t i = 0; i < n; i++)
		x = (x ^ (unsigned char)p[i]) * 0x100000001b3ull;
	return x;
}

static size_t cut(uint32_t *st, size_t left)
{
	*st = *st * 1103515245u + 12345u;
	uint32_t r = *st >> 8;
	size_t n = (r & 1) ? 1 + (r >> 1) % 7 : 1 + (r >> 1) % 2048;
	return n < left ? n : left;
}

static void run_wire(const unsigned char *p, size_t len, uint32_t st, int split, struct evlog *log)
{
	memset(log, 0, sizeof *log);
	wire_init(w, &cfg, 1);
	size_t off = 0;
	while (off < len) {
		size_t end = split ? off + cut(&st, len - off) : len;
		while (off < end) {
			struct wire_event ev;
			ssize_t k = wire_feed(w, p + off, end - off, &ev);
			if (k < 0) {
				if (ev.kind != WIRE_EV_NONE || k < WIRE_E_NOMEM)
					abort();
				log->errors++;
				off = end;
				break;
			}
			if ((size_t)k > end - off)
				abort();
			off += (size_t)k;
			if (ev.kind == WIRE_EV_NONE) {
				if (off != end)
					abort();
				break;
			}
			if (!ev.message || !ev.where || !ev.token || ev.token_len > 70000)
				abort();
			if (log->n < EV_MAX)
				log->hash[log->n] = fnv(ev.token, ev.token_len, fnv(ev.message, strlen(ev.message), 0xcbf29ce484222325ull));
			log->n++;
		}
	}
	wire_release(w);
}

static void run_server(const unsigned char *p, size_t len, uint32_t st)
{
	if (h2_init(h, H2_SERVER, h2_hpack_static()) != 0)
		abort();
	size_t off = 0;
	while (off < len) {
		size_t end = off + cut(&st, len - off);
		while (off < end) {
			struct h2_event ev;
			ssize_t k = h2_feed(h, p + off, end - off, &ev);
			if (k < 0) {
				if (!h2_dead(h) || ev.kind != H2_EV_NONE)
					abort();
				off = end;
				break;
			}
			if ((size_t)k > end - off)
				abort();
			off += (size_t)k;
			if (ev.kind == H2_EV_NONE) {
				if (off != end)
					abort();
				break;
			}
			volatile unsigned char sink = 0;
			for (size_t i = 0; i < ev.namelen; i++)
				sink ^= ev.name[i];
			for (size_t i = 0; i < ev.valuelen; i++)
				sink ^= ev.value[i];
			(void)sink;
			if (ev.kind == H2_EV_HEADERS_END && !ev.end_stream)
				h2_want_data(h, ev.stream);
		}
	}
	h2_release(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!w) {
		w = malloc(wire_sizeof());
		h = malloc(sizeof *h);
		buf = malloc(H2_PREFACE_LEN + 300000);
	}
	if (size < 1 || size > 262144)
		return 0;
	uint32_t st = data[0];
	size_t n = size - 1;
	memcpy(buf, H2_PREFACE, H2_PREFACE_LEN);
	memcpy(buf + H2_PREFACE_LEN, data + 1, n);
	struct evlog whole, split;
	run_wire(buf, H2_PREFACE_LEN + n, st, 0, &whole);
	run_wire(buf, H2_PREFACE_LEN + n, st, 1, &split);
	if (whole.n != split.n || memcmp(whole.hash, split.hash, sizeof whole.hash) ||
	    (whole.errors != 0) != (split.errors != 0))
		abort(); /* the events must not depend on how the stream is cut */
	run_server(data + 1, n, st);
	return 0;
}
