/* The wire decoder's bulk fast path, inline for callers on a write path (the
 * shim's hooks): WebSocket frames that cannot hold a token (binary messages
 * that do not start with "TWILSOCK", their continuations, control frames)
 * taken by length, with no call and no event.
 *
 * The decoder arms its struct wire_fast (wire_fast_of()) at the end of each
 * wire_feed when it sits in such a place: at a frame boundary, or inside a
 * payload nobody looks at. wire_fast_take then consumes what it can and
 * records it in the struct; the decoder folds that back into its own state at
 * the next wire_feed, which gives the same events as feeding the bytes would
 * have. The caller serialises wire_fast_take with every other call on the
 * decoder (the same lock). */
#ifndef TOKSHIM_WIRE_FAST_H
#define TOKSHIM_WIRE_FAST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wire_fast {
	uint64_t left;     /* payload bytes still to skip (0: a frame header is next) */
	uint64_t frames;   /* frames begun here since the decoder last looked */
	uint8_t armed;     /* 0: everything goes to wire_feed */
	uint8_t in_msg;    /* a discarded binary message is open (continuations follow) */
	uint8_t data;      /* left > 0: the payload is a data frame's (else a control frame's) */
	uint8_t fin;       /* data: that frame ends its message */
	uint8_t dirty;     /* wire_fast_take changed something */
};

struct wire;
/* The decoder's fast-path state (stable for the decoder's life). */
struct wire_fast *wire_fast_of(struct wire *w);

/* Consumes the prefix of p[0..n) that needs no event: 0..n bytes (any case). */
static __attribute__((noinline, unused)) size_t wire_fast_take_any(struct wire_fast *f, const unsigned char *p, size_t n)
{
	size_t used = 0;
	if (f->left) {
		if (n < f->left) {
			f->left -= n;
			f->dirty = 1;
			return n;
		}
		used = (size_t)f->left;
		f->left = 0;
		f->dirty = 1;
		if (f->data && f->fin)
			f->in_msg = 0;
	}
	while (n - used >= 2) {
		const unsigned char *h = p + used;
		unsigned c = h[0], b1 = h[1], op = c & 0x0f, l7 = b1 & 0x7f;
		if (c & 0x70)
			return used; /* RSV bits (deflate or bad): the decoder */
		size_t need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((b1 & 0x80) ? 4 : 0);
		size_t avail = n - used;
		if (avail < need)
			return used;
		uint64_t len = l7;
		if (l7 == 126) {
			len = (uint64_t)h[2] << 8 | h[3];
		} else if (l7 == 127) {
			uint64_t be;
			memcpy(&be, h + 2, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			len = __builtin_bswap64(be);
#else
			len = be;
#endif
			if (len >> 63)
				return used;
		}
		if (len == 0)
			return used; /* an empty frame: the decoder */
		avail -= need;
		if (op >= 8) {
			if (op > 10 || !(c & 0x80) || l7 > 125)
				return used;
		} else if (op == 0) {
			if (!f->in_msg)
				return used;
		} else if (op == 2) {
			if (f->in_msg || len < 8 || avail < 8)
				return used;
			/* not "TWILSOCK" once unmasked */
			uint32_t m4 = 0;
			if (b1 & 0x80)
				memcpy(&m4, h + need - 4, 4);
			uint64_t v, tw;
			memcpy(&v, h + need, 8);
			memcpy(&tw, "TWILSOCK", 8);
			if ((v ^ ((uint64_t)m4 | (uint64_t)m4 << 32)) == tw)
				return used;
		} else {
			return used; /* text: collected and scanned */
		}
		f->frames++;
		f->dirty = 1;
		int fin = (c & 0x80) != 0;
		if (op < 8)
			f->in_msg = 1;
		if (len > avail) {
			/* the payload goes on in the next write */
			f->left = len - avail;
			f->data = op < 8;
			f->fin = (uint8_t)fin;
			return n;
		}
		used += need + (size_t)len;
		if (op < 8 && fin)
			f->in_msg = 0;
	}
	return used;
}

/* Consumes the prefix of p[0..n) that needs no event: 0..n bytes. The
 * common case first: the write is one whole masked binary frame, a message
 * of its own, that does not start with "TWILSOCK". */
static inline size_t wire_fast_take(struct wire_fast *f, const unsigned char *p, size_t n)
{
	if (!f->armed)
		return 0;
	if (!f->left && !f->in_msg && n >= 14 && p[0] == 0x82 && (p[1] & 0x80) && (p[1] & 0x7f) != 127) {
		size_t need = 6, len = p[1] & 0x7f;
		if (len == 126) {
			need = 8;
			len = (size_t)p[2] << 8 | p[3];
		}
		if (need + len == n && len >= 8) {
			uint32_t m4;
			uint64_t v, tw;
			memcpy(&m4, p + need - 4, 4);
			memcpy(&v, p + need, 8);
			memcpy(&tw, "TWILSOCK", 8);
			if ((v ^ ((uint64_t)m4 | (uint64_t)m4 << 32)) != tw) {
				f->frames++;
				f->dirty = 1;
				return n;
			}
		}
	}
	return wire_fast_take_any(f, p, n);
}

#endif
