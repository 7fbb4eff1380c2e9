/* WebSocket frames (RFC 6455) of one direction of a connection: the one
 * frame header parser and the one frame state. The full decoder
 * (decode/wire_ws.c) reads every frame with them; the per-write fast path
 * (ws_frame_take, inline for the shim's write hooks) takes, with the same
 * parser and on the same state, the frames that cannot hold a token: binary
 * messages that do not start with "TWILSOCK", their continuations, control
 * frames. Whatever ws_frame_take leaves, the decoder goes on from, so feeding
 * a write through ws_frame_take first gives the events feeding all of it
 * would.
 *
 * Direction: client-to-server frames are masked (a capture's unmasked
 * client frame is tolerated), server-to-client frames are unmasked (a masked
 * one is a protocol error). Each direction has its own decoder and so its own
 * permessage-deflate context (decode/wire_ws.c).
 *
 * The caller serialises ws_frame_take with every other call on the decoder
 * (the same lock). */
#ifndef TOKSHIM_WS_FRAME_H
#define TOKSHIM_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum ws_dir { WS_CLIENT = 0, WS_SERVER = 1 };

/* A frame header, parsed. */
struct ws_hdr {
	uint64_t len;    /* payload length */
	uint8_t fin, rsv1, op, masked;
	uint8_t mask[4]; /* zeros when not masked */
};

struct ws_frame {
	uint64_t left;    /* payload bytes of the current frame still to come */
	/* the six bytes from open to hdr_len, together, tell a frame at rest
	 * (ws_frame_at_rest) */
	uint8_t open;     /* the decoder lets ws_frame_take go on (WebSocket, no event pending) */
	uint8_t seen;     /* a frame header has been read on this stream */
	uint8_t dir;      /* enum ws_dir */
	uint8_t payload;  /* 1: inside the current frame's payload; 0: a header is next */
	uint8_t in_msg;   /* a data message is open: continuations follow */
	uint8_t hdr_len;  /* bytes of a header split across feeds, kept in hdr */
	uint8_t skip;     /* the open message is skipped by length: judged, and either
			   * uncompressed or compressed without context takeover */
	uint8_t fin, op, rsv1; /* of the current frame */
	uint8_t mask_off; /* the mask offset of the next payload byte */
	uint8_t mask[4];
	uint8_t hdr[14];
};
_Static_assert(offsetof(struct ws_frame, hdr_len) == offsetof(struct ws_frame, open) + 5,
	       "ws_frame_at_rest reads open..hdr_len as one run");

/* f is at rest: the client's direction between frames, outside a message,
 * a frame already seen, the decoder letting ws_frame_take go on. A write
 * that is one whole frame ws_frame_whole accepts leaves it so. */
static inline int ws_frame_at_rest(const struct ws_frame *f)
{
	static const uint8_t rest[6] = { 1, 1, WS_CLIENT, 0, 0, 0 };
	return memcmp(&f->open, rest, sizeof rest) == 0;
}

/* The first byte of a frame that may come next: RSV2/RSV3 clear; a control
 * frame final and not compressed; a continuation only inside a message and
 * not compressed; a text or binary frame only outside one. */
static inline int ws_first_ok(unsigned c, int in_msg)
{
	unsigned op = c & 0x0f;
	if (c & 0x30)
		return 0;
	if (op >= 8)
		return op <= 10 && (c & 0x80) && !(c & 0x40);
	if (op == 0)
		return in_msg && !(c & 0x40);
	return (op == 1 || op == 2) && !in_msg;
}

/* The size of a frame header (2..14) from its second byte. */
static inline size_t ws_hdr_size(unsigned b1)
{
	unsigned l7 = b1 & 0x7f;
	return 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((b1 & 0x80) ? 4 : 0);
}

/* The 16-bit payload length of header p (its second byte's length is 126). */
static inline uint64_t ws_hdr_len16(const unsigned char *p)
{
	return (uint64_t)p[2] << 8 | p[3];
}

/* Whether the 8 payload bytes at q, masked with the mask whose 4 bytes are
 * m4 (in memory order), are "TWILSOCK". */
static inline int ws_is_twilsock4(const unsigned char *q, uint32_t m4)
{
	uint64_t v, tw;
	memcpy(&v, q, 8);
	memcpy(&tw, "TWILSOCK", 8);
	return (v ^ ((uint64_t)m4 | (uint64_t)m4 << 32)) == tw;
}

static inline int ws_is_twilsock(const unsigned char *q, const uint8_t mask[4])
{
	uint32_t m4;
	memcpy(&m4, mask, 4);
	return ws_is_twilsock4(q, m4);
}

/* Parses the frame header at p[0..n) for direction dir inside (in_msg) or
 * outside a message. Returns its size (2..14) with *h filled, 0 when p holds
 * less than the whole header, -1 when the first byte cannot come here
 * (ws_first_ok), -2 when the rest is invalid (a control frame over 125 bytes,
 * a 64-bit length with its top bit set, a masked server frame). */
static inline int ws_hdr_parse(const unsigned char *p, size_t n, enum ws_dir dir, int in_msg,
			       struct ws_hdr *h)
{
	if (n < 1)
		return 0;
	unsigned c = p[0];
	if (!ws_first_ok(c, in_msg))
		return -1;
	if (n < 2)
		return 0;
	unsigned b1 = p[1], l7 = b1 & 0x7f;
	size_t size = ws_hdr_size(b1);
	if (((c & 0x08) && l7 > 125) || (dir == WS_SERVER && (b1 & 0x80)))
		return -2;
	if (n < size)
		return 0;
	uint64_t len = l7;
	if (l7 == 126) {
		len = ws_hdr_len16(p);
	} else if (l7 == 127) {
		uint64_t be;
		memcpy(&be, p + 2, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		len = __builtin_bswap64(be);
#else
		len = be;
#endif
		if (len >> 63)
			return -2;
	}
	h->len = len;
	h->fin = (c & 0x80) != 0;
	h->rsv1 = (c & 0x40) != 0;
	h->op = (uint8_t)(c & 0x0f);
	h->masked = (b1 & 0x80) != 0;
	if (h->masked)
		memcpy(h->mask, p + size - 4, 4);
	else
		memset(h->mask, 0, 4);
	return (int)size;
}

/* Starts the frame h on f (the frame state part; the message layer is the
 * decoder's). */
static inline void ws_frame_begin(struct ws_frame *f, const struct ws_hdr *h)
{
	f->fin = h->fin;
	f->op = h->op;
	f->rsv1 = h->rsv1;
	memcpy(f->mask, h->mask, 4);
	f->mask_off = 0;
	f->left = h->len;
	f->payload = 1;
	f->seen = 1;
	if (h->op >= 1 && h->op <= 2)
		f->in_msg = 1;
}

/* The current frame's payload is over. Returns 1 when it ended a data
 * message (the decoder looks at the message then, unless it was skipped). */
static inline int ws_frame_end(struct ws_frame *f)
{
	f->payload = 0;
	f->hdr_len = 0;
	if (f->op < 8 && f->fin) {
		f->in_msg = 0;
		return 1;
	}
	return 0;
}

/* Past the frame of header h (k bytes) with avail bytes after its header in
 * hand: begun on f, skipped as a message's when skip, its payload taken by
 * length. Returns the bytes it takes of the k + avail: all of them when its
 * payload goes on past them (f->left what is still to come), else the
 * whole frame's, ended. */
static inline size_t ws_frame_pass(struct ws_frame *f, const struct ws_hdr *h, size_t k, size_t avail, int skip)
{
	ws_frame_begin(f, h);
	if (skip)
		f->skip = 1;
	if (h->len > avail) {
		f->left = h->len - avail;
		return k + avail;
	}
	f->left = 0;
	if (ws_frame_end(f))
		f->skip = 0;
	return k + (size_t)h->len;
}

/* The most of a Twilsock message's start the fast path unmasks to read its
 * preamble and header. */
#define TWILSOCK_FAST_MAX 512
/* decode/twilsock.c: 1 when the payload q[0..n) (masked with mask) holds a
 * whole Twilsock preamble and header, and the header's method carries no
 * token (twilsock_method): the decoder would find nothing in the message. */
int ws_twilsock_skippable(const unsigned char *q, size_t n, const uint8_t mask[4]);

/* Whether the frame h, whose payload starts at q with avail bytes in hand,
 * can be taken by length with no event: a control frame, a continuation of
 * a skipped message, an uncompressed binary message whose first 8 bytes
 * (all in hand) are not "TWILSOCK", an uncompressed binary or text message
 * that is a Twilsock message of a method with no token, its header in
 * hand. */
static inline int ws_hdr_skippable(const struct ws_frame *f, const struct ws_hdr *h,
				   const unsigned char *q, size_t avail)
{
	if (h->rsv1)
		return 0;
	if (h->op >= 8)
		return 1;
	if (h->op == 0)
		return f->skip;
	if (h->len < 8 || avail < 8)
		return 0; /* short: the decoder */
	if (!ws_is_twilsock(q, h->mask))
		return h->op == 2; /* other text: collected and scanned */
	/* the server's Twilsock messages are answers, read whole */
	return f->dir == WS_CLIENT && ws_twilsock_skippable(q, avail < h->len ? avail : (size_t)h->len, h->mask);
}

/* Consumes the prefix of p[0..n) that needs no event and no inflate (frames
 * ws_hdr_skippable accepts, and the rest of such a frame's payload), 0..n
 * bytes, leaving f where the decoder goes on from. The decoder's own loop
 * for such frames. */
static inline size_t ws_frame_skip(struct ws_frame *f, const unsigned char *p, size_t n)
{
	size_t used = 0;
	if (f->payload) {
		if (f->op < 8 && !f->skip)
			return 0;
		if (n < f->left) {
			f->left -= n;
			return n;
		}
		used = (size_t)f->left;
		f->left = 0;
		if (ws_frame_end(f))
			f->skip = 0;
	} else if (f->hdr_len) {
		return 0;
	}
	while (n - used >= 2) {
		struct ws_hdr h;
		int k = ws_hdr_parse(p + used, n - used, (enum ws_dir)f->dir, f->in_msg, &h);
		if (k <= 0)
			return used; /* a header split across writes, or invalid: the decoder */
		size_t avail = n - used - (size_t)k;
		if (!ws_hdr_skippable(f, &h, p + used + k, avail))
			return used;
		used += ws_frame_pass(f, &h, (size_t)k, avail, h.op == 1 || h.op == 2);
	}
	return used;
}

/* ws_frame_skip out of line, so that the fast path's common case below
 * saves no registers. */
static __attribute__((noinline, unused)) size_t ws_frame_skip_call(struct ws_frame *f, const unsigned char *p,
								   size_t n)
{
	return ws_frame_skip(f, p, n);
}

/* The decision on the payload of such a frame, whose header p[0..size)
 * is known to be well formed for it (len payload bytes, 8 at least): 1 when
 * it is binary and not "TWILSOCK", or a Twilsock message of a method with
 * no token. */
static inline int ws_frame_payload_ok(const unsigned char *p, size_t size, size_t len)
{
	uint32_t m4;
	memcpy(&m4, p + size - 4, 4);
	int tw = ws_is_twilsock4(p + size, m4);
	return (!tw && p[0] == 0x82) || (tw && ws_twilsock_skippable(p + size, len, p + size - 4));
}

/* The size of the header (6 or 8) of p[0..n) when it is one whole masked
 * client frame that ws_frame_skip takes from a frame at rest
 * (ws_frame_at_rest) with no event, leaving it at rest: a text or binary
 * message of its own (FIN, no RSV), 7- or 16-bit length, either binary and
 * not "TWILSOCK", or a Twilsock message of a method with no token
 * (ws_twilsock_skippable); else 0. Reads p only: the decision depends on
 * the bytes alone. */
static inline size_t ws_frame_whole(const unsigned char *p, size_t n)
{
	if (n < 14 || (p[0] != 0x82 && p[0] != 0x81) || !(p[1] & 0x80) || (p[1] & 0x7f) == 127)
		return 0;
	size_t size = 6, len = p[1] & 0x7f;
	if (len == 126) {
		size = 8;
		len = (size_t)ws_hdr_len16(p);
	}
	if (size + len != n || len < 8)
		return 0;
	return ws_frame_payload_ok(p, size, len) ? size : 0;
}

/* The per-write fast path (the shim's hooks): ws_frame_skip while the
 * decoder lets it (f->open). */
static inline size_t ws_frame_take(struct ws_frame *f, const unsigned char *p, size_t n)
{
	if (!f->open)
		return 0;
	/* the common case first: the write is one whole frame ws_frame_whole
	 * takes, with the state ws_frame_skip would leave (the frame's own
	 * fields matter only inside it) */
	if (!(f->payload | f->in_msg | f->hdr_len) && f->dir == WS_CLIENT && ws_frame_whole(p, n)) {
		f->seen = 1;
		return n;
	}
	return ws_frame_skip_call(f, p, n);
}

#endif
