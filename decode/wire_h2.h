/* HTTP/2 (RFC 9113) for the wire decoder: one frame parser per direction of
 * a connection, each with its own HPACK inflater (libnghttp2's
 * nghttp2_hd_inflate_*, RFC 7541). Push style like the rest of decode/:
 * h2_feed() takes any piece of the byte stream and stops after each event.
 *
 * libnghttp2 is not linked by decode/: the caller hands over its HPACK
 * functions as a table (struct h2_hpack_ops). The CLI and the tests fill it
 * statically (h2_hpack_static() in decode/h2_static.c, which links the
 * library); libtokshim.so fills it from a dlopen of libnghttp2.so.14 made
 * at the first HTTP/2 connection, so processes that never speak HTTP/2 never
 * load it.
 *
 * Memory: the inflater allocates from an arena inside struct h2
 * (H2_ARENA bytes, a first-fit allocator with coalescing), never from
 * malloc: the shim feeds inside its hosts' write calls, which may run in a
 * signal handler or under the host's own allocator lock. The HPACK dynamic
 * table is bounded by H2_TABLE_MAX bytes (RFC 7541 size: name + value + 32
 * per entry): a table size update above it, or a SETTINGS value above it
 * that the peer then uses, is refused (H2_E_LIMIT) and the direction is no
 * longer followed. An arena that runs dry does the same (H2_E_NOMEM).
 *
 * Directions: H2_CLIENT is what the client writes (the connection preface,
 * then its frames); H2_SERVER what it reads (no preface; PUSH_PROMISE header
 * blocks are inflated too, to keep the table in step). Both parse the same
 * frames with the same code. A SETTINGS_HEADER_TABLE_SIZE seen in one
 * direction bounds the table of the other direction's encoder: whoever
 * follows both directions passes it on with h2_peer_table_size().
 *
 * The server direction (the answers, decode/wire_srv.c): the server
 * decoder keeps its own struct h2 (h2_init(H2_SERVER)) in the session's
 * block and feeds it what the client read. A token event of the client
 * direction carries its stream (wire_event.stream); the session asks the
 * server decoder for that stream (wire_srv_h2_want, which calls
 * h2_want_data), which takes ":status" from its H2_EV_FIELD events and the
 * JSON error body from its H2_EV_DATA events (borrowed views of the input,
 * copied into the decoder's bounded body slice only), and gives one answer
 * event at END_STREAM (an H2_EV_RST_STREAM: an event with no status). The
 * SETTINGS_HEADER_TABLE_SIZE values are not passed between the directions:
 * each inflater accepts any table up to H2_TABLE_MAX, because the reads
 * and writes seen do not show when the other side applied a new value, and
 * a stricter bound applied too early would only lose the connection.
 *
 * Frames followed: HEADERS (PADDED, PRIORITY, END_HEADERS, END_STREAM),
 * CONTINUATION (must follow on the same stream), PUSH_PROMISE, SETTINGS,
 * RST_STREAM, GOAWAY. DATA, PRIORITY, PING, WINDOW_UPDATE and unknown types
 * are skipped by length, never copied (H2_EV_DATA gives a borrowed view of
 * DATA payloads only when asked, for a server's error body). */
#ifndef TOKSHIM_WIRE_H2_H
#define TOKSHIM_WIRE_H2_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <nghttp2/nghttp2.h>

#include "decode/h2_fast.h"

/* The few libnghttp2 functions the decoder uses. */
struct h2_hpack_ops {
	int (*inflate_new2)(nghttp2_hd_inflater **inflater_ptr, nghttp2_mem *mem);
	void (*inflate_del)(nghttp2_hd_inflater *inflater);
	int (*inflate_change_table_size)(nghttp2_hd_inflater *inflater, size_t size);
	ssize_t (*inflate_hd2)(nghttp2_hd_inflater *inflater, nghttp2_nv *nv_out, int *inflate_flags,
			       const uint8_t *in, size_t inlen, int in_final);
	int (*inflate_end_headers)(nghttp2_hd_inflater *inflater);
};

/* The table filled with the linked library's functions (decode/h2_static.c;
 * only programs linking libnghttp2 use it). */
const struct h2_hpack_ops *h2_hpack_static(void);

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24
#define H2_TABLE_MAX 8192          /* HPACK dynamic table, bytes (RFC 7541 accounting) */
#define H2_ARENA (112 * 1024)      /* the inflater's arena, per direction */
#define H2_STREAMS 16              /* open streams remembered (the newest) */

enum h2_dir { H2_CLIENT = 0, H2_SERVER = 1 };

enum h2_event_kind {
	H2_EV_NONE = 0,
	H2_EV_FIELD,       /* one header field of a block (name, value; borrowed) */
	H2_EV_HEADERS_END, /* the block of `stream` is complete (end_stream: no body follows) */
	H2_EV_DATA,        /* a piece of a DATA payload (value, valuelen) of a stream that asked;
			      end_stream on its last piece (valuelen 0 for an empty last frame) */
	H2_EV_RST_STREAM,  /* `stream` reset with error_code */
	H2_EV_GOAWAY,      /* last_stream, error_code */
	H2_EV_SETTINGS,    /* this direction announced SETTINGS_HEADER_TABLE_SIZE = setting */
};

struct h2_event {
	enum h2_event_kind kind;
	uint32_t stream;
	int end_stream;
	int push;                  /* the field belongs to a PUSH_PROMISE (stream: the promised one) */
	const uint8_t *name;       /* borrowed, valid until the next h2_feed */
	size_t namelen;
	const uint8_t *value;
	size_t valuelen;
	uint32_t error_code, last_stream;
	uint32_t setting;
};

enum h2_status {
	H2_NEED_MORE = 0,
	H2_E_PROTOCOL = -1, /* not HTTP/2 framing, or a compression error: direction given up */
	H2_E_LIMIT = -2,    /* a table or field over the documented bounds: direction given up */
	H2_E_NOMEM = -3,    /* the arena ran dry: direction given up */
};

/* First-fit arena for nghttp2_mem (in the block, never malloc). */
struct h2_arena {
	size_t top;      /* bytes of mem handed out from the bump region */
	size_t free_off; /* first free block + 1, 0 none (address order is not kept) */
	size_t live;     /* bytes in use, headers included */
	unsigned char mem[H2_ARENA] __attribute__((aligned(16)));
};

enum h2_state {
	H2S_PREFACE = 0, /* H2_CLIENT: the connection preface still to match */
	H2S_HEAD,        /* a 9-byte frame header */
	H2S_PAD,         /* the pad length byte of HEADERS / PUSH_PROMISE */
	H2S_PREFIX,      /* priority fields or the promised stream id */
	H2S_FRAG,        /* header block fragment bytes */
	H2S_BLOCK_END,   /* END_HEADERS reached: the inflater's last fields */
	H2S_SKIP,        /* payload (or padding) skipped by length */
	H2S_DATA,        /* DATA payload given out as events */
	H2S_SMALL,       /* SETTINGS entries, RST_STREAM, GOAWAY's first 8 bytes */
	H2S_DEAD,        /* given up: everything is skipped */
};

struct h2 {
	enum h2_dir dir;
	const struct h2_hpack_ops *ops;
	nghttp2_hd_inflater *inf;
	nghttp2_mem mem;           /* its user data points at arena: do not move struct h2 */
	enum h2_state st;
	size_t preface_got;
	uint8_t head[9];
	size_t head_len;
	uint32_t f_len, f_stream;
	uint8_t f_type, f_flags;
	uint32_t left;             /* payload bytes of the frame still to come */
	uint32_t pad;              /* padding at the end of the frame */
	uint32_t prefix_need;
	uint8_t small[8];
	size_t small_len, small_need;
	int in_block;              /* a header block is open (CONTINUATION expected) */
	uint32_t block_stream;
	int block_end_stream, block_push;
	uint32_t promised;
	size_t table_max;          /* what the inflater accepts now */
	size_t table_pending;      /* a new bound to apply between blocks, 0 none */
	uint32_t goaway_last;
	int goaway;
	uint64_t frames;
	/* DATA of these streams is given out (h2_want_data) */
	uint32_t want_data[H2_STREAMS];
	size_t nwant;
	struct h2_arena arena;
};

/* Sets up h (everything but the arena's memory is cleared). ops borrowed,
 * static. 0, or H2_E_NOMEM when the inflater cannot be made. */
int h2_init(struct h2 *h, enum h2_dir dir, const struct h2_hpack_ops *ops);
/* The preface is already consumed (the HTTP/1 parser read "PRI * HTTP/2.0"
 * and its empty line): n bytes of it seen. */
void h2_preface_seen(struct h2 *h, size_t n);
void h2_release(struct h2 *h);

/* Consumes bytes; stops after each event (ev->kind != H2_EV_NONE) with the
 * count consumed (possibly 0: call again with the rest). Negative: an
 * error class (all of buf consumed, the direction given up: later feeds
 * consume everything and give no event). ev is reset at entry. */
ssize_t h2_feed(struct h2 *h, const uint8_t *p, size_t n, struct h2_event *ev);
/* Non-zero once the direction is given up. */
int h2_dead(const struct h2 *h);
/* SETTINGS_HEADER_TABLE_SIZE the other direction announced: bounds this
 * direction's table (at most H2_TABLE_MAX), applied between blocks. */
void h2_peer_table_size(struct h2 *h, uint32_t size);
/* DATA payloads of `stream` are given out as H2_EV_DATA from now on (the
 * answer to a request: its error body). At most H2_STREAMS at once. */
void h2_want_data(struct h2 *h, uint32_t stream);

#endif
