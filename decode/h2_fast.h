/* The HTTP/2 fast path, inline for callers on a write path (the shim's
 * hooks): DATA frames, the client's request bodies, which the decoder never
 * reads, taken by the length in their frame header with no call and no
 * event (decode/wire_h2.c).
 *
 * The decoder arms its struct h2_fast at the end of a wire_feed when it sits
 * at a frame boundary outside a header block, or inside a DATA payload;
 * h2_fast_take then consumes what it can and records it there, and the
 * decoder folds that back into its frame parser at the next wire_feed, which
 * gives the same events as feeding the bytes would have. The frame header
 * is decoded by the one function both use (h2_frame_head_decode). The caller
 * serialises h2_fast_take with every other call on the decoder. */
#ifndef TOKSHIM_H2_FAST_H
#define TOKSHIM_H2_FAST_H

#include <stddef.h>
#include <stdint.h>

struct h2_fast {
	uint64_t left;   /* DATA payload bytes still to skip (0: a frame header is next) */
	uint64_t frames; /* frames taken since the decoder last looked */
	uint8_t armed;   /* 0: everything goes to wire_feed */
	uint8_t dirty;   /* h2_fast_take changed something */
};

/* An HTTP/2 frame header (RFC 9113 4.1), 9 bytes. */
struct h2_frame_head {
	uint32_t len, stream;
	uint8_t type, flags;
};

static inline void h2_frame_head_decode(const unsigned char *h, struct h2_frame_head *fh)
{
	fh->len = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
	fh->type = h[3];
	fh->flags = h[4];
	fh->stream = ((uint32_t)h[5] << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8]) & 0x7fffffffu;
}

/* Consumes the prefix of p[0..n) that needs no event: whole DATA frames on
 * a stream and the rest of one begun; anything else (HEADERS, SETTINGS, a
 * DATA frame on stream 0, a frame header cut by the write) is left to the
 * decoder. 0..n bytes. */
static inline size_t h2_fast_take(struct h2_fast *f, const unsigned char *p, size_t n)
{
	size_t used = 0;
	if (!f->armed)
		return 0;
	if (f->left) {
		if (n < f->left) {
			f->left -= n;
			f->dirty = 1;
			return n;
		}
		used = (size_t)f->left;
		f->left = 0;
		f->dirty = 1;
	}
	while (n - used >= 9) {
		struct h2_frame_head fh;
		h2_frame_head_decode(p + used, &fh);
		if (fh.type != 0 || !fh.stream)
			return used;
		f->frames++;
		f->dirty = 1;
		size_t avail = n - used - 9;
		if (fh.len > avail) {
			f->left = fh.len - avail;
			return n;
		}
		used += 9 + fh.len;
	}
	return used;
}

#endif
