/* What of the two directions' decoders a parked session keeps, and the
 * wipe of a session block's used parts (decode/wire_rest.c; for
 * decode/session.c only).
 *
 * Wiping: a block handed back to the pool must hold no byte of its
 * connection, and a block taken from the pool is all zeros (a fresh mmap,
 * or wiped). Each wipe clears every byte the block's decoders can have
 * written since it was taken: all of the small fields, and of each large
 * buffer the prefix its use can have reached (known from the bytes fed, or
 * whole once its user left a trace: an inflate stream's zalloc, an HTTP/2
 * inflater's ops, never cleared until the wipe). Untouched buffer pages are
 * never written, so a wipe costs what the connection used, not the block's
 * size. */
#ifndef TOKSHIM_WIRE_REST_H
#define TOKSHIM_WIRE_REST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decode/wire_int.h"

/* A large member of a struct, wiped only in part: [off, off + wipe) of its
 * [off, off + len). */
struct wipe_span {
	size_t off, len, wipe;
};

/* Wipes base[0..size) except the unwiped tails of spans[0..n) (in offset
 * order, not overlapping). */
static inline void wipe_spans(void *base, size_t size, const struct wipe_span *spans, size_t n)
{
	unsigned char *b = base;
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		explicit_bzero(b + at, spans[i].off - at);
		explicit_bzero(b + spans[i].off, spans[i].wipe < spans[i].len ? spans[i].wipe : spans[i].len);
		at = spans[i].off + spans[i].len;
	}
	explicit_bzero(b + at, size - at);
}

/* The prefix of a buffer of cap bytes that units of at most `fed` input
 * bytes (each unit stored from the buffer's start, no expansion) can have
 * written, with a margin for a terminator. */
static inline size_t wipe_prefix(uint64_t fed, size_t cap)
{
	return fed + 16 < cap ? (size_t)fed + 16 : cap;
}

/* Wipes what w can have written since its block was taken, `fed` bytes
 * having been fed to it. */
void wire_wipe(struct wire *w, uint64_t fed);

/* The server's direction at rest: between responses (HTTP/SIP, or none yet)
 * with nothing held, or its WebSocket decoder at rest (wire_at_rest), or
 * passed through; never HTTP/2. A copy of its first WIRE_SRV_REST_SIZE
 * bytes and its WebSocket decoder's first WIRE_REST_SIZE (the rest cleared)
 * goes on exactly as w would (wire_srv_resume). */
#define WIRE_SRV_REST_SIZE offsetof(struct wire_srv, line)
int wire_srv_at_rest(const struct wire_srv *w);
void wire_srv_resume(struct wire_srv *w, const struct wire_config *cfg);
void wire_srv_wipe(struct wire_srv *w, uint64_t fed);

#endif
