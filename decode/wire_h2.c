/* HTTP/2 frames and HPACK header blocks, one direction of a connection
 * (decode/wire_h2.h), and the glue that hands the client's header fields to
 * the wire decoder's HTTP header rules (wire_h2_start, wire_h2_step). */
#include <string.h>

#include "decode/wire_h2.h"
#include "decode/wire_int.h"

/* ---- the arena behind nghttp2_mem -------------------------------------------
 * Blocks of 16-byte units, each with a 16-byte header: its size (units of
 * bytes, multiple of 16; bit 0 set while free) and, when free, the offset + 1
 * of the next free block. First fit over the free list; what cannot be found
 * there comes from the bump region; when that is full, adjacent free blocks
 * are merged (one walk over the blocks) and the search is made again. */
#define AH 16

struct ablk {
	size_t size; /* with the header; bit 0: free */
	size_t next; /* free: offset + 1 of the next free block, 0 none */
};

static struct ablk *ablk_at(struct h2_arena *a, size_t off)
{
	return (struct ablk *)(void *)(a->mem + off);
}

static size_t round16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

static void arena_reset(struct h2_arena *a)
{
	a->top = 0;
	a->free_off = 0;
	a->live = 0;
}

/* Merges runs of free blocks and rebuilds the free list; trims the bump top. */
static void arena_coalesce(struct h2_arena *a)
{
	size_t off = 0, last_free = 0, head = 0;
	size_t *link = &head;
	while (off < a->top) {
		struct ablk *b = ablk_at(a, off);
		size_t sz = b->size & ~(size_t)1;
		if (b->size & 1) {
			size_t end = off + sz;
			while (end < a->top && (ablk_at(a, end)->size & 1))
				end += ablk_at(a, end)->size & ~(size_t)1;
			b->size = (end - off) | 1;
			if (end == a->top) {
				a->top = off; /* back into the bump region */
				break;
			}
			*link = off + 1;
			link = &b->next;
			b->next = 0;
			last_free = off;
			off = end;
			continue;
		}
		off += sz;
	}
	(void)last_free;
	*link = 0;
	a->free_off = head;
}

static void *arena_take(struct h2_arena *a, size_t need)
{
	size_t *link = &a->free_off;
	while (*link) {
		size_t off = *link - 1;
		struct ablk *b = ablk_at(a, off);
		size_t sz = b->size & ~(size_t)1;
		if (sz >= need) {
			if (sz - need >= 2 * AH) {
				struct ablk *r = ablk_at(a, off + need);
				r->size = (sz - need) | 1;
				r->next = b->next;
				*link = off + need + 1;
				b->size = need;
			} else {
				*link = b->next;
				b->size = sz;
			}
			a->live += b->size;
			return a->mem + off + AH;
		}
		link = &b->next;
	}
	if (need <= H2_ARENA - a->top) {
		struct ablk *b = ablk_at(a, a->top);
		b->size = need;
		a->top += need;
		a->live += need;
		return (unsigned char *)b + AH;
	}
	return NULL;
}

static void *arena_malloc(size_t n, void *ud)
{
	struct h2_arena *a = ud;
	if (n > H2_ARENA)
		return NULL;
	size_t need = AH + round16(n ? n : 1);
	void *p = arena_take(a, need);
	if (!p) {
		arena_coalesce(a);
		p = arena_take(a, need);
	}
	return p;
}

static void arena_free(void *p, void *ud)
{
	struct h2_arena *a = ud;
	if (!p)
		return;
	size_t off = (size_t)((unsigned char *)p - a->mem) - AH;
	struct ablk *b = ablk_at(a, off);
	a->live -= b->size;
	b->size |= 1;
	b->next = a->free_off;
	a->free_off = off + 1;
}

static void *arena_calloc(size_t k, size_t n, void *ud)
{
	if (n && k > H2_ARENA / n)
		return NULL;
	void *p = arena_malloc(k * n, ud);
	if (p)
		memset(p, 0, k * n);
	return p;
}

static void *arena_realloc(void *p, size_t n, void *ud)
{
	struct h2_arena *a = ud;
	if (!p)
		return arena_malloc(n, ud);
	if (!n) {
		arena_free(p, ud);
		return NULL;
	}
	struct ablk *b = (struct ablk *)(void *)((unsigned char *)p - AH);
	size_t have = b->size - AH;
	if (n <= have)
		return p;
	void *q = arena_malloc(n, a);
	if (!q)
		return NULL;
	memcpy(q, p, have);
	arena_free(p, a);
	return q;
}

/* ---- the frame parser --------------------------------------------------------- */
enum {
	FT_DATA = 0, FT_HEADERS = 1, FT_PRIORITY = 2, FT_RST_STREAM = 3, FT_SETTINGS = 4,
	FT_PUSH_PROMISE = 5, FT_PING = 6, FT_GOAWAY = 7, FT_WINDOW_UPDATE = 8, FT_CONTINUATION = 9,
};
enum { FL_END_STREAM = 0x1, FL_ACK = 0x1, FL_END_HEADERS = 0x4, FL_PADDED = 0x8, FL_PRIORITY = 0x20 };
#define SETTINGS_HEADER_TABLE_SIZE 1

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int h2_init(struct h2 *h, enum h2_dir dir, const struct h2_hpack_ops *ops)
{
	memset(h, 0, offsetof(struct h2, arena));
	arena_reset(&h->arena);
	h->dir = dir;
	h->ops = ops;
	h->st = dir == H2_CLIENT ? H2S_PREFACE : H2S_HEAD;
	h->mem.mem_user_data = &h->arena;
	h->mem.malloc = arena_malloc;
	h->mem.free = arena_free;
	h->mem.calloc = arena_calloc;
	h->mem.realloc = arena_realloc;
	/* We follow, we do not negotiate: until the other direction's SETTINGS
	 * is known, accept any table the encoder picks up to our bound. */
	h->table_max = H2_TABLE_MAX;
	if (ops->inflate_new2(&h->inf, &h->mem) != 0 || !h->inf) {
		h->inf = NULL;
		h->st = H2S_DEAD;
		return H2_E_NOMEM;
	}
	if (ops->inflate_change_table_size(h->inf, h->table_max) != 0) {
		h2_release(h);
		return H2_E_NOMEM;
	}
	return 0;
}

void h2_preface_seen(struct h2 *h, size_t n)
{
	if (h->st == H2S_PREFACE)
		h->preface_got = n < H2_PREFACE_LEN ? n : H2_PREFACE_LEN;
	if (h->preface_got == H2_PREFACE_LEN)
		h->st = H2S_HEAD;
}

void h2_release(struct h2 *h)
{
	if (h->inf)
		h->ops->inflate_del(h->inf);
	h->inf = NULL;
	h->st = H2S_DEAD;
}

int h2_dead(const struct h2 *h)
{
	return h->st == H2S_DEAD;
}

void h2_peer_table_size(struct h2 *h, uint32_t size)
{
	h->table_pending = (size < H2_TABLE_MAX ? size : H2_TABLE_MAX) + 1;
}

void h2_want_data(struct h2 *h, uint32_t stream)
{
	for (size_t i = 0; i < h->nwant; i++)
		if (h->want_data[i] == stream)
			return;
	if (h->nwant == H2_STREAMS) {
		memmove(h->want_data, h->want_data + 1, (H2_STREAMS - 1) * sizeof h->want_data[0]);
		h->nwant--;
	}
	h->want_data[h->nwant++] = stream;
}

static int wants_data(const struct h2 *h, uint32_t stream)
{
	for (size_t i = 0; i < h->nwant; i++)
		if (h->want_data[i] == stream)
			return 1;
	return 0;
}

static void unwant(struct h2 *h, uint32_t stream)
{
	for (size_t i = 0; i < h->nwant; i++)
		if (h->want_data[i] == stream) {
			memmove(h->want_data + i, h->want_data + i + 1, (h->nwant - i - 1) * sizeof h->want_data[0]);
			h->nwant--;
			return;
		}
}

static ssize_t fail(struct h2 *h, int code)
{
	h2_release(h);
	return code;
}

static int is_block_frame(uint8_t t)
{
	return t == FT_HEADERS || t == FT_PUSH_PROMISE || t == FT_CONTINUATION;
}

/* The frame's payload is all consumed. */
static void frame_done(struct h2 *h)
{
	if (is_block_frame(h->f_type) && (h->f_flags & FL_END_HEADERS))
		h->st = H2S_BLOCK_END;
	else
		h->st = H2S_HEAD;
}

static void skip(struct h2 *h)
{
	if (h->left)
		h->st = H2S_SKIP;
	else
		frame_done(h);
}

/* After the pad length (and the prefix): the frame's own bytes. */
static void body_start(struct h2 *h)
{
	if (h->f_type == FT_DATA) {
		h->st = h->left > h->pad ? H2S_DATA : H2S_SKIP;
		if (h->st == H2S_SKIP)
			skip(h);
		return;
	}
	if (h->left > h->pad)
		h->st = H2S_FRAG;
	else
		skip(h);
}

static void small_start(struct h2 *h, size_t need)
{
	h->small_len = 0;
	h->small_need = need;
	h->st = H2S_SMALL;
}

/* A header block begins: the table bound changes only between blocks. */
static int block_begin(struct h2 *h)
{
	if (h->table_pending) {
		size_t v = h->table_pending - 1;
		h->table_pending = 0;
		if (h->ops->inflate_change_table_size(h->inf, v) != 0)
			return H2_E_PROTOCOL;
		h->table_max = v;
	}
	h->in_block = 1;
	h->block_stream = h->f_stream;
	h->block_end_stream = (h->f_flags & FL_END_STREAM) != 0;
	h->block_push = h->f_type == FT_PUSH_PROMISE;
	h->promised = 0;
	return 0;
}

/* Validates the 9-byte header just read and picks the next state. */
static int frame_begin(struct h2 *h)
{
	struct h2_frame_head fh;
	h2_frame_head_decode(h->head, &fh);
	h->f_len = fh.len;
	h->f_type = fh.type;
	h->f_flags = fh.flags;
	h->f_stream = fh.stream;
	h->left = h->f_len;
	h->pad = 0;
	h->frames++;
	if (h->in_block && (h->f_type != FT_CONTINUATION || h->f_stream != h->block_stream))
		return H2_E_PROTOCOL; /* a header block must go on at once, on its stream */
	switch (h->f_type) {
	case FT_CONTINUATION:
		if (!h->in_block)
			return H2_E_PROTOCOL;
		body_start(h);
		return 0;
	case FT_HEADERS:
	case FT_PUSH_PROMISE: {
		if (!h->f_stream || (h->f_type == FT_PUSH_PROMISE && h->dir == H2_CLIENT))
			return H2_E_PROTOCOL;
		int r = block_begin(h);
		if (r)
			return r;
		if (h->f_flags & FL_PADDED) {
			if (!h->left)
				return H2_E_PROTOCOL;
			h->st = H2S_PAD;
		} else if (h->f_type == FT_PUSH_PROMISE || (h->f_flags & FL_PRIORITY)) {
			h->prefix_need = h->f_type == FT_PUSH_PROMISE ? 4 : 5;
			if (h->left < h->prefix_need)
				return H2_E_PROTOCOL;
			small_start(h, h->prefix_need);
			h->st = H2S_PREFIX;
		} else {
			body_start(h);
		}
		return 0;
	}
	case FT_DATA:
		if (!h->f_stream)
			return H2_E_PROTOCOL;
		if (!wants_data(h, h->f_stream)) {
			skip(h);
		} else if (h->f_flags & FL_PADDED) {
			if (!h->left)
				return H2_E_PROTOCOL;
			h->st = H2S_PAD;
		} else {
			body_start(h);
		}
		return 0;
	case FT_RST_STREAM:
		if (!h->f_stream || h->f_len != 4)
			return H2_E_PROTOCOL;
		small_start(h, 4);
		return 0;
	case FT_SETTINGS:
		if (h->f_stream || h->f_len % 6 || ((h->f_flags & FL_ACK) && h->f_len))
			return H2_E_PROTOCOL;
		if (h->left)
			small_start(h, 6);
		else
			frame_done(h);
		return 0;
	case FT_GOAWAY:
		if (h->f_stream || h->f_len < 8)
			return H2_E_PROTOCOL;
		small_start(h, 8);
		return 0;
	default: /* PRIORITY, PING, WINDOW_UPDATE, extensions: nothing for us */
		skip(h);
		return 0;
	}
}

/* A small field is complete: its event (0: none) and the next state. */
static int small_done(struct h2 *h, struct h2_event *ev)
{
	const uint8_t *s = h->small;
	h->left -= (uint32_t)h->small_need;
	switch (h->f_type) {
	case FT_SETTINGS: {
		unsigned id = (unsigned)s[0] << 8 | s[1];
		if (h->left)
			small_start(h, 6);
		else
			frame_done(h);
		if (id == SETTINGS_HEADER_TABLE_SIZE) {
			ev->kind = H2_EV_SETTINGS;
			ev->setting = be32(s + 2);
			return 1;
		}
		return 0;
	}
	case FT_RST_STREAM:
		frame_done(h);
		unwant(h, h->f_stream);
		ev->kind = H2_EV_RST_STREAM;
		ev->stream = h->f_stream;
		ev->error_code = be32(s);
		return 1;
	case FT_GOAWAY:
		skip(h); /* the debug data */
		h->goaway = 1;
		h->goaway_last = be32(s) & 0x7fffffffu;
		ev->kind = H2_EV_GOAWAY;
		ev->last_stream = h->goaway_last;
		ev->error_code = be32(s + 4);
		return 1;
	default: /* the prefix of HEADERS or PUSH_PROMISE */
		if (h->f_type == FT_PUSH_PROMISE)
			h->promised = be32(s) & 0x7fffffffu;
		body_start(h);
		return 0;
	}
}

/* A DATA frame of a stream that asked, ending the stream with no payload
 * byte to give (empty, or padding only): the end is still an event. */
static int data_end_empty(struct h2 *h, const uint8_t *at, struct h2_event *ev)
{
	if (h->f_type != FT_DATA || !(h->f_flags & FL_END_STREAM) || h->st == H2S_DATA ||
	    h->st == H2S_PAD || !wants_data(h, h->f_stream))
		return 0;
	ev->kind = H2_EV_DATA;
	ev->stream = h->f_stream;
	ev->value = at;
	ev->valuelen = 0;
	ev->end_stream = 1;
	return 1;
}

static int inflate_err(ssize_t r)
{
	return r == NGHTTP2_ERR_NOMEM ? H2_E_NOMEM : H2_E_PROTOCOL;
}

static void field_event(struct h2 *h, const nghttp2_nv *nv, struct h2_event *ev)
{
	ev->kind = H2_EV_FIELD;
	ev->stream = h->block_push ? h->promised : h->block_stream;
	ev->push = h->block_push;
	ev->name = nv->name;
	ev->namelen = nv->namelen;
	ev->value = nv->value;
	ev->valuelen = nv->valuelen;
}

static const char preface[] = H2_PREFACE;

ssize_t h2_feed(struct h2 *h, const uint8_t *p, size_t n, struct h2_event *ev)
{
	size_t off = 0;
	memset(ev, 0, sizeof *ev);
	while (off < n || h->st == H2S_BLOCK_END) {
		size_t avail = n - off, k;
		switch (h->st) {
		case H2S_DEAD:
			return (ssize_t)n;
		case H2S_PREFACE:
			k = H2_PREFACE_LEN - h->preface_got;
			if (k > avail)
				k = avail;
			if (memcmp(p + off, &preface[h->preface_got], k))
				return fail(h, H2_E_PROTOCOL);
			h->preface_got += k;
			off += k;
			if (h->preface_got == H2_PREFACE_LEN)
				h->st = H2S_HEAD;
			break;
		case H2S_HEAD: {
			k = 9 - h->head_len;
			if (k > avail)
				k = avail;
			memcpy(h->head + h->head_len, p + off, k);
			h->head_len += k;
			off += k;
			if (h->head_len < 9)
				break;
			h->head_len = 0;
			int r = frame_begin(h);
			if (r)
				return fail(h, r);
			if (data_end_empty(h, p + off, ev))
				return (ssize_t)off;
			break;
		}
		case H2S_PAD:
			h->pad = p[off++];
			h->left--;
			if (h->pad > h->left)
				return fail(h, H2_E_PROTOCOL);
			if (h->f_type == FT_PUSH_PROMISE || (h->f_type == FT_HEADERS && (h->f_flags & FL_PRIORITY))) {
				h->prefix_need = h->f_type == FT_PUSH_PROMISE ? 4 : 5;
				if (h->left - h->pad < h->prefix_need)
					return fail(h, H2_E_PROTOCOL);
				small_start(h, h->prefix_need);
				h->st = H2S_PREFIX;
			} else {
				body_start(h);
				if (data_end_empty(h, p + off, ev))
					return (ssize_t)off;
			}
			break;
		case H2S_PREFIX:
		case H2S_SMALL:
			k = h->small_need - h->small_len;
			if (k > avail)
				k = avail;
			memcpy(h->small + h->small_len, p + off, k);
			h->small_len += k;
			off += k;
			if (h->small_len == h->small_need && small_done(h, ev))
				return (ssize_t)off;
			break;
		case H2S_FRAG: {
			k = h->left - h->pad;
			if (k > avail)
				k = avail;
			nghttp2_nv nv;
			int flags = 0;
			ssize_t r = h->ops->inflate_hd2(h->inf, &nv, &flags, p + off, k, 0);
			if (r < 0)
				return fail(h, inflate_err(r));
			if ((size_t)r > k)
				return fail(h, H2_E_PROTOCOL);
			off += (size_t)r;
			h->left -= (uint32_t)r;
			if (h->left == h->pad)
				skip(h);
			if (flags & NGHTTP2_HD_INFLATE_EMIT) {
				field_event(h, &nv, ev);
				return (ssize_t)off;
			}
			if (r == 0)
				return fail(h, H2_E_PROTOCOL); /* no progress: never loop */
			break;
		}
		case H2S_BLOCK_END: {
			static const uint8_t none[1];
			nghttp2_nv nv;
			int flags = 0;
			ssize_t r = h->ops->inflate_hd2(h->inf, &nv, &flags, none, 0, 1);
			if (r < 0)
				return fail(h, inflate_err(r));
			if (flags & NGHTTP2_HD_INFLATE_EMIT) {
				field_event(h, &nv, ev);
				return (ssize_t)off;
			}
			if (!(flags & NGHTTP2_HD_INFLATE_FINAL))
				return fail(h, H2_E_PROTOCOL);
			h->ops->inflate_end_headers(h->inf);
			h->in_block = 0;
			h->st = H2S_HEAD;
			ev->kind = H2_EV_HEADERS_END;
			ev->stream = h->block_push ? h->promised : h->block_stream;
			ev->push = h->block_push;
			ev->end_stream = h->block_end_stream;
			return (ssize_t)off;
		}
		case H2S_SKIP:
			k = h->left < avail ? h->left : avail;
			off += k;
			h->left -= (uint32_t)k;
			if (!h->left)
				frame_done(h);
			break;
		case H2S_DATA:
			k = h->left - h->pad;
			if (k > avail)
				k = avail;
			off += k;
			h->left -= (uint32_t)k;
			if (h->left == h->pad)
				skip(h);
			ev->kind = H2_EV_DATA;
			ev->stream = h->f_stream;
			ev->value = p + off - k;
			ev->valuelen = k;
			ev->end_stream = h->st != H2S_DATA && (h->f_flags & FL_END_STREAM);
			return (ssize_t)off;
		}
	}
	return (ssize_t)off;
}

/* ---- the client direction inside the wire decoder ---------------------------------- */

/* Copies "name: value" into w->buf and runs the HTTP header rules on it.
 * 0 when it does not fit (WIRE_E_LIMIT). */
/* What a step leaves for wire.c to run on buf (the HTTP header rules live
 * there; this file does not call back into it): *line and *len. */
static void want_line(int *line, size_t *len, int kind, size_t n)
{
	*line = kind;
	*len = n;
}

/* Copies "name: value" into buf: the line for the header rules, its job
 * started. 0 when it does not fit (WIRE_E_LIMIT). */
static int field_line(struct wire *w, const uint8_t *name, size_t nn, const uint8_t *v, size_t vn,
		      int *line, size_t *len)
{
	if (nn + 2 + vn > WIRE_LINE_MAX)
		return 0;
	memcpy(w->buf, name, nn);
	memcpy(w->buf + nn, ": ", 2);
	memcpy(w->buf + nn + 2, v, vn);
	size_t n = nn + 2 + vn;
	wire_job_start(w, n, 0, "header", "JWT in a header");
	want_line(line, len, WIRE_H2_HEADER, n);
	return 1;
}

static int lit_eq(const uint8_t *p, size_t n, const char *lit)
{
	size_t k = strlen(lit);
	return n == k && !memcmp(p, lit, k);
}

static void limit_hit(struct wire *w)
{
	if (!w->pending_err)
		w->pending_err = WIRE_E_LIMIT;
}

/* The request target, kept in buf at H2_PATH_STASH until the block's
 * :authority is known (pseudo-header fields come in any order: curl sends
 * :path before :authority), then scanned for a token= parameter. */
#define H2_PATH_STASH WIRE_LINE_MAX
_Static_assert(H2_PATH_STASH + WIRE_LINE_MAX <= WIRE_MSG_MAX, "the stash fits in buf");

static void path_flush(struct wire *w, int *line, size_t *len)
{
	size_t n = w->h2_path_len;
	w->h2_path_pending = 0;
	w->h2_path_ready = 0;
	memmove(w->buf, w->buf + H2_PATH_STASH, n);
	wire_job_start(w, n, 0, "query", "JWT in the request line");
	want_line(line, len, WIRE_H2_QUERY, n);
}

static void regular_field(struct wire *w, const struct h2_event *ev, int *line, size_t *len)
{
	if (!field_line(w, ev->name, ev->namelen, ev->value, ev->valuelen, line, len))
		limit_hit(w);
}

/* One field of the client's block: at most one line for wire.c. */
static void client_field(struct wire *w, const struct h2_event *ev, int *line, size_t *len)
{
	w->h2_stream = ev->stream;
	if (!ev->namelen || ev->name[0] != ':') {
		if (w->h2_path_pending) {
			/* the target first; this field at the next step (its
			 * view stays valid: the inflater is not called before) */
			path_flush(w, line, len);
			w->h2_held = 1;
			w->h2_held_ev = *ev;
			return;
		}
		regular_field(w, ev, line, len);
		return;
	}
	if (lit_eq(ev->name, ev->namelen, ":authority")) {
		/* the Host header's rules (SNI first, the port), no scan */
		size_t vn = ev->valuelen;
		if (vn + 6 > WIRE_LINE_MAX) {
			limit_hit(w);
		} else {
			memcpy(w->buf, "host: ", 6);
			memcpy(w->buf + 6, ev->value, vn);
			want_line(line, len, WIRE_H2_HOST, vn + 6);
		}
		w->h2_authority = 1;
		if (w->h2_path_pending)
			w->h2_path_ready = 1; /* at the next step, after the host */
	} else if (lit_eq(ev->name, ev->namelen, ":path")) {
		if (ev->valuelen > WIRE_LINE_MAX) {
			limit_hit(w);
			return;
		}
		memcpy(w->buf + H2_PATH_STASH, ev->value, ev->valuelen);
		w->h2_path_len = ev->valuelen;
		w->h2_path_pending = 1;
		if (w->h2_authority)
			path_flush(w, line, len);
	}
	/* :method, :scheme, :protocol: nothing */
}

int wire_h2_start(struct wire *w, size_t preface_seen)
{
	const struct h2_hpack_ops *ops = w->cfg && w->cfg->hpack ? w->cfg->hpack() : NULL;
	if (!ops || h2_init(&w->h2, H2_CLIENT, ops) != 0) {
		w->mode = WM_PASS; /* no HPACK decoder: the connection is not read */
		return -1;
	}
	w->h2_on = 1;
	h2_preface_seen(&w->h2, preface_seen);
	w->mode = WM_H2;
	return 0;
}

size_t wire_h2_step(struct wire *w, const unsigned char *p, size_t n, int *line, size_t *len)
{
	want_line(line, len, WIRE_H2_NONE, 0);
	if (w->h2_path_ready) {
		path_flush(w, line, len);
		return 0;
	}
	if (w->h2_held) {
		w->h2_held = 0;
		regular_field(w, &w->h2_held_ev, line, len);
		return 0;
	}
	struct h2_event ev;
	ssize_t r = h2_feed(&w->h2, p, n, &ev);
	if (r < 0) {
		if (!w->pending_err)
			w->pending_err = r == H2_E_LIMIT ? WIRE_E_LIMIT : r == H2_E_NOMEM ? WIRE_E_NOMEM : WIRE_E_PROTOCOL;
		w->h2_path_pending = w->h2_path_ready = w->h2_held = 0;
		w->mode = WM_PASS;
		return n;
	}
	switch (ev.kind) {
	case H2_EV_FIELD:
		client_field(w, &ev, line, len);
		break;
	case H2_EV_HEADERS_END:
		if (w->h2_path_pending)
			path_flush(w, line, len); /* a block with no :authority */
		w->h2_authority = 0;
		break;
	default:
		/* H2_EV_SETTINGS: the client's table size bounds the server's
		 * encoder, for the server direction's inflater (h2_peer_table_size)
		 * once the server's bytes are followed; RST_STREAM, GOAWAY: the
		 * requests they end are already read */
		break;
	}
	return (size_t)r;
}

int wire_h2_more(const struct wire *w)
{
	return w->mode == WM_H2 && (w->h2_held || w->h2_path_ready || w->h2.st == H2S_BLOCK_END);
}

/* The fast path (h2_fast.h) may go on where only DATA frames, which the
 * client direction never reads, can be taken: at a frame boundary outside
 * a header block, or inside a DATA payload. */
void wire_h2_arm(struct wire *w)
{
	struct h2 *h = &w->h2;
	struct h2_fast *f = &w->h2f;
	if (h->in_block || h->nwant || w->h2_held || w->h2_path_pending || w->job.active)
		return;
	if (h->st == H2S_HEAD && h->head_len == 0) {
		f->left = 0;
	} else if (h->st == H2S_SKIP && h->f_type == FT_DATA) {
		f->left = h->left;
	} else {
		return;
	}
	f->frames = 0;
	f->dirty = 0;
	f->armed = 1;
}

/* What h2_fast_take did, into the frame parser (disarms w->h2f). */
void wire_h2_fold(struct wire *w)
{
	struct h2 *h = &w->h2;
	struct h2_fast *f = &w->h2f;
	f->armed = 0;
	if (!f->dirty)
		return;
	f->dirty = 0;
	h->frames += f->frames;
	f->frames = 0;
	if (f->left) {
		/* inside a DATA payload: skipped by length, then the next header */
		h->st = H2S_SKIP;
		h->f_type = FT_DATA;
		h->f_flags = 0;
		h->left = (uint32_t)f->left;
		h->pad = 0;
		f->left = 0;
	} else {
		h->st = H2S_HEAD;
		h->head_len = 0;
		h->left = 0;
	}
}

void wire_h2_release(struct wire *w)
{
	if (w->h2_on)
		h2_release(&w->h2);
	w->h2_on = 0;
}
