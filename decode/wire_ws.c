/* WebSocket client frames (RFC 6455), permessage-deflate (RFC 7692), and the
 * messages inside them: Twilsock, Voice and Video signalling JSON.
 *
 * permessage-deflate: whether the server accepted the offer is not visible in
 * the client's bytes, so each message decides by its RSV1 bit. The inflate
 * stream is kept across messages (context takeover); a client that resets its
 * compressor for each message (no context takeover) never refers back to
 * earlier messages, so the same stream inflates both. When inflating fails
 * (the context was lost), the stream is reset and the next message tried anew.
 * Every compressed message is inflated, also the ones not kept, so that the
 * context stays in step; uncompressed messages that cannot hold a token are
 * skipped by length. */
#include <limits.h>
#include <string.h>

#include "decode/wire_int.h"

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	struct wire *w = opaque;
	size_t n = ((size_t)items * size + 15) & ~(size_t)15;
	if (n > WIRE_ZARENA - w->z_used)
		return Z_NULL;
	void *p = w->zarena + w->z_used;
	w->z_used += n;
	return p;
}

static void z_free(voidpf opaque, voidpf p)
{
	(void)opaque;
	(void)p; /* the arena goes with struct wire */
}

static int z_ensure(struct wire *w)
{
	if (w->z_ready)
		return 0;
	memset(&w->z, 0, sizeof w->z);
	w->z.zalloc = z_alloc;
	w->z.zfree = z_free;
	w->z.opaque = w;
	w->z_used = 0;
	if (inflateInit2(&w->z, -15) != Z_OK)
		return -1;
	w->z_ready = 1;
	return 0;
}

void wire_ws_release(struct wire *w)
{
	if (w->z_ready)
		inflateEnd(&w->z);
	w->z_ready = 0;
	w->z_used = 0;
}

void wire_ws_start(struct wire *w)
{
	w->mode = WM_WS;
	w->ws_payload = 0;
	w->hdr_len = 0;
	w->hdr_need = 2;
	w->frames = 0;
	w->in_msg = 0;
	w->frame_left = 0;
	if (w->z_ready)
		inflateReset(&w->z);
}

static void lose_sync(struct wire *w)
{
	/* no way to find the next frame boundary: nothing more can be found */
	if (!w->pending_err)
		w->pending_err = WIRE_E_PROTOCOL;
	w->mode = WM_PASS;
}

/* The 4-byte mask rotated to start at offset off, repeated to 8 bytes. */
static inline uint64_t mask8(const uint8_t mask[4], size_t off)
{
	uint32_t m4;
	memcpy(&m4, mask, 4);
	unsigned sh = (unsigned)(off & 3) * 8;
	/* little- and big-endian alike: rotate the bytes in memory order */
	uint8_t b[4];
	if (sh) {
		memcpy(b, &m4, 4);
		uint8_t r[4] = { b[off & 3], b[(off + 1) & 3], b[(off + 2) & 3], b[(off + 3) & 3] };
		memcpy(&m4, r, 4);
	}
	return (uint64_t)m4 | (uint64_t)m4 << 32;
}

/* Copies n masked bytes to out, unmasking them from mask offset off. */
static void unmask_copy(unsigned char *out, const unsigned char *in, size_t n, const uint8_t mask[4],
			size_t off)
{
	uint64_t m = mask8(mask, off);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t v;
		memcpy(&v, in + i, 8);
		v ^= m;
		memcpy(out + i, &v, 8);
	}
	for (; i < n; i++)
		out[i] = in[i] ^ mask[(off + i) & 3];
}

static void decide(struct wire *w)
{
	if (w->msg_mode == MM_UNDECIDED && w->msg_len >= 8)
		w->msg_mode = memcmp(w->buf, "TWILSOCK", 8) ? MM_DISCARD : MM_COLLECT;
}

/* Plain payload bytes of a data frame. */
static void msg_plain(struct wire *w, const unsigned char *p, size_t n)
{
	while (n) {
		size_t k = n;
		if (w->msg_mode == MM_DISCARD) {
			w->mask_off = (w->mask_off + n) & 3;
			return;
		}
		size_t room = WIRE_MSG_MAX - w->msg_len;
		if (w->msg_mode == MM_UNDECIDED && room > 8 - w->msg_len)
			room = 8 - w->msg_len;
		if (k > room)
			k = room;
		if (k == 0) {
			/* the message is longer than the cap: keep its prefix */
			w->msg_trunc = 1;
			w->mask_off = (w->mask_off + n) & 3;
			return;
		}
		unmask_copy((unsigned char *)w->buf + w->msg_len, p, k, w->mask, w->mask_off);
		w->msg_len += k;
		w->mask_off = (w->mask_off + k) & 3;
		p += k;
		n -= k;
		decide(w);
	}
}

static void inflate_chunk(struct wire *w, const unsigned char *in, size_t n)
{
	if (w->msg_zdone)
		return;
	w->z.next_in = (Bytef *)in;
	w->z.avail_in = (uInt)n;
	for (;;) {
		unsigned char *out;
		size_t cap;
		int into_buf = w->msg_mode != MM_DISCARD && w->msg_len < WIRE_MSG_MAX;
		if (into_buf) {
			out = (unsigned char *)w->buf + w->msg_len;
			cap = WIRE_MSG_MAX - w->msg_len;
			if (w->msg_mode == MM_UNDECIDED && cap > 8 - w->msg_len)
				cap = 8 - w->msg_len;
		} else {
			out = w->zscratch_out;
			cap = sizeof w->zscratch_out;
		}
		w->z.next_out = out;
		w->z.avail_out = (uInt)cap;
		int r = inflate(&w->z, Z_SYNC_FLUSH);
		size_t produced = cap - w->z.avail_out;
		if (into_buf)
			w->msg_len += produced;
		else if (produced && w->msg_mode != MM_DISCARD)
			w->msg_trunc = 1;
		decide(w);
		if (r == Z_STREAM_END) {
			/* the sender ended its deflate stream: the next message starts anew */
			inflateReset(&w->z);
			w->msg_zdone = 1;
			return;
		}
		if (r == Z_BUF_ERROR)
			return;
		if (r != Z_OK) {
			if (!w->pending_err)
				w->pending_err = r == Z_MEM_ERROR ? WIRE_E_NOMEM : WIRE_E_PROTOCOL;
			inflateReset(&w->z);
			w->msg_zdone = 1;
			w->msg_trunc = 1; /* what was inflated so far is still looked at */
			return;
		}
		if (w->z.avail_in == 0 && w->z.avail_out != 0)
			return;
	}
}

static void msg_deflated(struct wire *w, const unsigned char *p, size_t n)
{
	while (n) {
		size_t k = n < WIRE_SCRATCH ? n : WIRE_SCRATCH;
		if (!w->msg_zdone) {
			unmask_copy(w->zscratch_in, p, k, w->mask, w->mask_off);
			inflate_chunk(w, w->zscratch_in, k);
		}
		w->mask_off = (w->mask_off + k) & 3;
		p += k;
		n -= k;
	}
}

/* ---- messages -------------------------------------------------------------------- */

static void job_tok(struct wire *w, const struct jspan *tok, enum channel ch, const char *message,
		    const char *where)
{
	struct wire_job *j = &w->job;
	j->have_tok = 1;
	j->tok_off = j->skip_off = (size_t)(tok->p - w->buf);
	j->tok_len = j->skip_len = tok->n;
	/* a JSON string value: what the server sees is the decoded text (a whole
	 * JSON response passed as the token arrives here escaped) */
	if (tok->is_string && memchr(tok->p, '\\', tok->n))
		j->tok_len = wire_json_unescape(w->buf + j->tok_off, tok->n);
	j->channel = ch;
	j->message = message;
	j->where = where;
}

/* A token found at a channel's place but on a host that does not name the
 * channel: only a real Twilio JWT counts (a JSON "token" of another service
 * is none of our business). */
static int plausible(const struct wire *w, enum wire_hint hint, const struct jspan *tok)
{
	return w->ws_hint == hint || (tok->is_string && wire_jwt_is_twilio(tok->p, tok->n));
}

static void twilsock_msg(struct wire *w, const char *b, size_t n)
{
	/* TWILSOCK V3.0 <header bytes>\r\n<header JSON>\r\n<payload> */
	size_t i = 12;
	while (i < n && b[i] >= '0' && b[i] <= '9')
		i++;
	if (i >= n || b[i] != ' ')
		return;
	i++;
	size_t hlen = 0, d = 0;
	while (i < n && b[i] >= '0' && b[i] <= '9' && d < 8) {
		hlen = hlen * 10 + (size_t)(b[i++] - '0');
		d++;
	}
	if (d == 0 || i + 1 >= n || b[i] != '\r' || b[i + 1] != '\n')
		return;
	i += 2;
	size_t hn = hlen < n - i ? hlen : n - i;
	struct jspan method, tok;
	if (!wire_json_member(b + i, hn, "method", &method))
		return;
	int init = wire_jspan_eq(&method, "init");
	if (!init && !wire_jspan_eq(&method, "update"))
		return; /* other methods carry no token (the fallback scan still runs) */
	if (!wire_json_member(b + i, hn, "token", &tok))
		return;
	if (init)
		job_tok(w, &tok, CHANNEL_TWILSOCK, "init", "Twilsock init");
	else
		job_tok(w, &tok, CHANNEL_TWILSOCK, "update", "Twilsock update");
	struct jspan id;
	if (wire_json_member(b + i, hn, "id", &id) && id.is_string && id.n < sizeof w->job.id) {
		memcpy(w->job.id, id.p, id.n);
		w->job.id[id.n] = 0;
	}
}

static const char *video_type(const struct jspan *t)
{
	static const char *const types[] = {"connect", "sync", "ice", "hello"};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (wire_jspan_eq(t, types[i]))
			return types[i];
	return NULL;
}

static void json_msg(struct wire *w, const char *b, size_t n)
{
	struct jspan type, inner, tok, btype;
	if (!wire_json_member(b, n, "type", &type))
		return;
	if (wire_jspan_eq(&type, "listen")) {
		if (wire_json_member(b, n, "payload", &inner) && !inner.is_string &&
		    wire_json_member(inner.p, inner.n, "token", &tok) && plausible(w, HINT_VOICE, &tok))
			job_tok(w, &tok, CHANNEL_VOICE, "listen", "Voice listen payload.token");
		return;
	}
	if (wire_jspan_eq(&type, "hello") || wire_jspan_eq(&type, "msg")) {
		/* {"type":"hello","body":{"type":"connect",...,"token":...}} and later
		 * {"type":"msg","body":{"type":"sync"|"ice",...,"token":...}} */
		if (!wire_json_member(b, n, "body", &inner) || inner.is_string ||
		    !wire_json_member(inner.p, inner.n, "token", &tok) || !plausible(w, HINT_VIDEO, &tok))
			return;
		const char *m = wire_json_member(inner.p, inner.n, "type", &btype) ? video_type(&btype)
										   : NULL;
		if (!m)
			m = wire_jspan_eq(&type, "hello") ? "hello" : "msg";
		job_tok(w, &tok, CHANNEL_VIDEO, m, "Video signalling body.token");
		return;
	}
	const char *m = video_type(&type);
	if (m && wire_json_member(b, n, "token", &tok) && plausible(w, HINT_VIDEO, &tok))
		job_tok(w, &tok, CHANNEL_VIDEO, m, "Video signalling token");
}

static void message_end(struct wire *w)
{
	static const unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff};
	if (w->msg_z)
		inflate_chunk(w, tail, sizeof tail);
	w->in_msg = 0;
	if (w->msg_mode != MM_COLLECT || w->msg_len == 0)
		return;
	const char *b = w->buf;
	size_t n = w->msg_len;
	wire_job_start(w, n, w->msg_trunc, "message", "JWT in a WebSocket message");
	if (n >= 12 && !memcmp(b, "TWILSOCK V3.", 12)) {
		twilsock_msg(w, b, n);
		return;
	}
	size_t s = 0;
	while (s < n && (b[s] == ' ' || b[s] == '\t' || b[s] == '\r' || b[s] == '\n'))
		s++;
	if (s < n && b[s] == '{')
		json_msg(w, b, n);
}

/* ---- frames ------------------------------------------------------------------------- */

static int first_byte_ok(const struct wire *w, unsigned char c)
{
	unsigned op = c & 0x0f;
	int fin = (c & 0x80) != 0, rsv1 = (c & 0x40) != 0;
	if (c & 0x30)
		return 0;
	if (op >= 8)
		return op <= 10 && fin && !rsv1;
	if (op == 0)
		return w->in_msg && !rsv1;
	if (op == 1 || op == 2)
		return !w->in_msg;
	return 0;
}

/* The frame header is complete: start its payload. */
static int frame_start(struct wire *w, const uint8_t *h)
{
	w->f_fin = (h[0] & 0x80) != 0;
	w->f_rsv1 = (h[0] & 0x40) != 0;
	w->f_op = h[0] & 0x0f;
	w->f_masked = (h[1] & 0x80) != 0;
	uint64_t len = h[1] & 0x7f;
	size_t i = 2;
	if (len == 126) {
		len = (uint64_t)h[2] << 8 | h[3];
		i = 4;
	} else if (len == 127) {
		len = 0;
		for (int k = 0; k < 8; k++)
			len = len << 8 | h[2 + k];
		if (len >> 63)
			return -1;
		i = 10;
	}
	if (w->f_masked)
		memcpy(w->mask, h + i, 4);
	else
		memset(w->mask, 0, 4);
	w->mask_off = 0;
	w->frame_left = len;
	if (w->frames < INT_MAX)
		w->frames++;
	if (w->f_op >= 8)
		return 0;
	if (w->f_op != 0) {
		w->in_msg = 1;
		w->msg_op = w->f_op;
		w->msg_z = w->f_rsv1;
		w->msg_len = 0;
		w->msg_trunc = 0;
		w->msg_zdone = 0;
		w->msg_mode = w->f_op == 1 ? MM_COLLECT : MM_UNDECIDED;
		if (w->msg_z && z_ensure(w) < 0) {
			if (!w->pending_err)
				w->pending_err = WIRE_E_NOMEM;
			w->msg_zdone = 1;
			w->msg_mode = MM_DISCARD;
		}
	}
	return 0;
}

static void frame_end(struct wire *w)
{
	w->ws_payload = 0;
	w->hdr_len = 0;
	w->hdr_need = 2;
	if (w->f_op < 8 && w->f_fin)
		message_end(w);
}

size_t wire_ws_step(struct wire *w, const unsigned char *p, size_t n)
{
	size_t used = 0;
	while (used < n) {
		if (!w->ws_payload) {
			if (w->hdr_len == 0 && !first_byte_ok(w, p[used])) {
				if (w->frames == 0) {
					/* the upgrade was refused and the client goes on in HTTP */
					w->mode = WM_DETECT;
					return used;
				}
				lose_sync(w);
				return n;
			}
			size_t k = w->hdr_need - w->hdr_len;
			if (k > n - used)
				k = n - used;
			memcpy(w->hdr + w->hdr_len, p + used, k);
			w->hdr_len += k;
			used += k;
			if (w->hdr_len == 2 && w->hdr_need == 2) {
				unsigned l7 = w->hdr[1] & 0x7f;
				if ((w->hdr[0] & 0x08) && l7 > 125) {
					lose_sync(w);
					return n;
				}
				w->hdr_need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) +
					      ((w->hdr[1] & 0x80) ? 4 : 0);
			}
			if (w->hdr_len < w->hdr_need)
				continue;
			if (frame_start(w, w->hdr) < 0) {
				lose_sync(w);
				return n;
			}
			w->ws_payload = 1;
			if (w->frame_left == 0) {
				frame_end(w);
				if (w->job.active)
					return used;
			}
			continue;
		}
		size_t k = n - used;
		if (k > w->frame_left)
			k = (size_t)w->frame_left;
		if (w->f_op < 8) {
			if (w->msg_z)
				msg_deflated(w, p + used, k);
			else
				msg_plain(w, p + used, k);
		}
		w->frame_left -= k;
		used += k;
		if (w->frame_left == 0) {
			frame_end(w);
			if (w->job.active)
				return used;
		}
	}
	return used;
}

/* The fast path for bulk traffic: whole frame headers parsed in place and
 * payloads that cannot hold a token skipped by length, with the state left
 * exactly as wire_ws_step would leave it. Takes only what needs no event and
 * no inflate: a binary message that does not start with "TWILSOCK" (judged
 * from its first 8 bytes, all in p), its continuations, control frames.
 * Returns the bytes consumed (0..n); wire_ws_step does the rest. */
size_t wire_ws_fast(struct wire *w, const unsigned char *p, size_t n)
{
	size_t used = 0;
	if (w->mode != WM_WS || w->pending_err || w->job.active)
		return 0;
	while (used < n) {
		if (w->ws_payload) {
			/* inside a payload nobody looks at */
			if (w->f_op < 8 && (w->msg_mode != MM_DISCARD || w->msg_z))
				return used;
			size_t k = n - used;
			if (k > w->frame_left)
				k = (size_t)w->frame_left;
			w->frame_left -= k;
			if (w->f_op < 8)
				w->mask_off = (w->mask_off + k) & 3;
			used += k;
			if (w->frame_left)
				return used;
			/* frame_end without a message to scan (a discarded one) */
			w->ws_payload = 0;
			w->hdr_len = 0;
			w->hdr_need = 2;
			if (w->f_op < 8 && w->f_fin)
				w->in_msg = 0;
			continue;
		}
		if (w->hdr_len != 0 || n - used < 2)
			return used;
		const unsigned char *h = p + used;
		unsigned c = h[0], b1 = h[1], op = c & 0x0f, l7 = b1 & 0x7f;
		if (c & 0x70)
			return used; /* RSV bits (deflate or bad): the slow path */
		size_t need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((b1 & 0x80) ? 4 : 0);
		if (n - used < need)
			return used;
		uint64_t len = l7;
		if (l7 == 126) {
			len = (uint64_t)h[2] << 8 | h[3];
		} else if (l7 == 127) {
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | h[2 + i];
			if (len >> 63)
				return used;
		}
		if (len == 0)
			return used; /* frame_end right at the header: the slow path */
		uint32_t m4 = 0;
		if (b1 & 0x80)
			memcpy(&m4, h + need - 4, 4);
		size_t avail = n - used - need;
		if (op >= 8) {
			if (op > 10 || !(c & 0x80) || l7 > 125)
				return used;
		} else if (op == 0) {
			if (!w->in_msg || w->msg_mode != MM_DISCARD || w->msg_z)
				return used;
		} else if (op == 2) {
			if (w->in_msg || len < 8 || avail < 8)
				return used;
			/* decide() on the message's first 8 bytes, unmasked */
			uint64_t v, tw;
			memcpy(&v, h + need, 8);
			memcpy(&tw, "TWILSOCK", 8);
			if ((v ^ ((uint64_t)m4 | (uint64_t)m4 << 32)) == tw)
				return used;
		} else {
			return used; /* text: collected and scanned */
		}
		/* what frame_start leaves */
		int fin = (c & 0x80) != 0;
		w->f_fin = fin;
		w->f_rsv1 = 0;
		w->f_op = (int)op;
		w->f_masked = (b1 & 0x80) != 0;
		memcpy(w->mask, &m4, 4);
		if (w->frames < INT_MAX)
			w->frames++;
		if (op == 2) {
			/* and msg_plain with decide() after the first 8 bytes */
			w->in_msg = 1;
			w->msg_op = 2;
			w->msg_z = 0;
			w->msg_len = 8;
			w->msg_trunc = 0;
			w->msg_zdone = 0;
			w->msg_mode = MM_DISCARD;
		}
		if (len > avail) {
			/* the payload goes on in the next feed */
			w->frame_left = len - avail;
			w->mask_off = op < 8 ? (avail & 3) : 0;
			w->ws_payload = 1;
			return n;
		}
		/* the whole frame is here: what frame_end leaves */
		used += need + (size_t)len;
		w->frame_left = 0;
		w->mask_off = op < 8 ? (size_t)(len & 3) : 0;
		w->ws_payload = 0;
		w->hdr_len = 0;
		w->hdr_need = 2;
		if (op < 8 && fin)
			w->in_msg = 0;
	}
	return used;
}

/* ---- the caller's fast path (wire_fast.h) ----------------------------------------------- */

void wire_ws_arm(struct wire *w)
{
	struct wire_fast *f = &w->fast;
	f->armed = 0;
	f->dirty = 0;
	f->frames = 0;
	f->left = 0;
	if (w->mode != WM_WS || w->pending_err || w->job.active)
		return;
	/* an open message must be a discarded one: continuations skipped by length */
	if (w->in_msg && (w->msg_mode != MM_DISCARD || w->msg_z))
		return;
	if (!w->ws_payload) {
		if (w->hdr_len != 0)
			return;
	} else {
		if (!w->frame_left)
			return;
		f->left = w->frame_left;
		f->data = w->f_op < 8;
		f->fin = (uint8_t)(w->f_fin != 0);
	}
	f->in_msg = (uint8_t)(w->in_msg != 0);
	f->armed = 1;
}

void wire_ws_fold(struct wire *w)
{
	struct wire_fast *f = &w->fast;
	f->armed = 0;
	if (!f->dirty)
		return;
	f->dirty = 0;
	uint64_t frames = (uint64_t)w->frames + f->frames;
	w->frames = frames > INT_MAX ? INT_MAX : (int)frames;
	f->frames = 0;
	if (f->in_msg && !w->in_msg) {
		/* a binary message begun in the fast path: what frame_start and
		 * msg_plain leave after its first 8 bytes */
		w->msg_op = 2;
		w->msg_z = 0;
		w->msg_len = 8;
		w->msg_trunc = 0;
		w->msg_zdone = 0;
		w->msg_mode = MM_DISCARD;
	}
	w->in_msg = f->in_msg;
	w->mask_off = 0; /* of a payload nobody unmasks */
	if (f->left) {
		w->ws_payload = 1;
		w->frame_left = f->left;
		w->f_op = f->data ? 2 : 9;
		w->f_fin = f->data ? f->fin : 1;
		w->f_rsv1 = 0;
		w->hdr_len = 0;
		w->hdr_need = 2;
		f->left = 0;
	} else {
		w->ws_payload = 0;
		w->frame_left = 0;
		w->hdr_len = 0;
		w->hdr_need = 2;
	}
}
