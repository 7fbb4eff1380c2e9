/* One direction's WebSocket stream (RFC 6455): frames read with the frame
 * parser of decode/ws_frame.h, permessage-deflate (RFC 7692), and the
 * messages inside: Twilsock, Voice and Video signalling JSON.
 *
 * permessage-deflate: whether the peer accepted the offer is not visible in
 * one direction's bytes, so each message decides by its RSV1 bit. The
 * direction's inflate stream is kept across messages (context takeover), or
 * reset at each message's start when the direction does without it
 * (client_no_context_takeover / server_no_context_takeover, w->ws_no_ctx).
 * When inflating fails (the context was lost), the stream is reset and the
 * next message tried anew. Inflate writes into the scratch buffer, a window
 * large enough for zlib's fast loop, and the message keeps from there what
 * it wants, as from a plain frame's payload. Once a message is judged (not
 * a Twilsock message, or its header read) nothing more of it is looked at:
 * uncompressed, it is skipped by length; compressed with context takeover,
 * every byte of it is still inflated so that the dictionary stays in step;
 * compressed without, its remaining bytes are skipped by length, not
 * inflated (the stream is reset at the next message). */
#include <limits.h>
#include <string.h>

#include "decode/text.h"
#include "decode/twilsock.h"
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

void wire_ws_start(struct wire *w, enum ws_dir dir, int no_ctx)
{
	w->mode = WM_WS;
	memset(&w->wf, 0, sizeof w->wf);
	w->wf.dir = (uint8_t)dir;
	w->ws_no_ctx = no_ctx;
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

static void twilsock_msg(struct wire *w, const char *b, size_t n);

/* The open message is judged: nothing more of it is looked at. An
 * uncompressed one goes on by length; a compressed one too when its sender
 * starts each message with a fresh compressor (ws_no_ctx): its stream is
 * reset at the next message (frame_start), and the inflating stops here.
 * With context takeover every compressed byte is still inflated, to keep
 * the dictionary the next messages refer to. */
static void judged(struct wire *w)
{
	if (!w->msg_z) {
		w->wf.skip = 1;
	} else if (w->ws_no_ctx) {
		w->wf.skip = 1;
		w->msg_zdone = 1;
	}
}

/* A Twilsock message's preamble in the kept bytes: msg_want becomes its
 * length plus its header's (capped). Not a preamble: the whole message is
 * kept and scanned as any other. */
static void twilsock_want(struct wire *w)
{
	size_t hoff, hlen;
	int r = twilsock_preamble(w->buf, w->msg_len, &hoff, &hlen);
	if (r < 0)
		w->msg_want = WIRE_MSG_MAX;
	else if (r > 0)
		w->msg_want = hlen < WIRE_MSG_MAX - hoff ? hoff + hlen : WIRE_MSG_MAX;
}

/* After kept bytes arrived: a client's Twilsock message whose header is complete is
 * scanned now (its job started) and the rest of it skipped by length
 * (uncompressed) or inflated and dropped (compressed). */
static void twilsock_progress(struct wire *w)
{
	/* the server's messages are answers: read whole (wire_srv.c) */
	if (w->msg_mode != MM_COLLECT || w->wf.dir == WS_SERVER)
		return;
	if (!w->msg_want)
		twilsock_want(w);
	if (!w->msg_want || w->msg_want == WIRE_MSG_MAX || w->msg_len < w->msg_want)
		return;
	w->msg_len = w->msg_want;
	size_t hoff, hlen;
	const char *m;
	/* a method that carries no token: nothing to look at (the fast path
	 * takes such a message whole, ws_twilsock_skippable) */
	if (twilsock_preamble(w->buf, w->msg_len, &hoff, &hlen) != 1 ||
	    twilsock_method(w->buf + hoff, w->msg_len - hoff, &m) != 0) {
		wire_job_start(w, w->msg_len, 0, "message", "JWT in a WebSocket message");
		twilsock_msg(w, w->buf, w->msg_len);
	}
	w->msg_mode = MM_DISCARD;
	judged(w);
}

/* How many more bytes to keep of the message, at most cap. */
static size_t keep_room(const struct wire *w, size_t cap)
{
	if (w->msg_len < 8 && w->wf.dir == WS_CLIENT) {
		if (cap > 8 - w->msg_len)
			cap = 8 - w->msg_len; /* enough to tell a Twilsock message */
	} else if (w->msg_mode == MM_UNDECIDED && cap > 8 - w->msg_len)
		cap = 8 - w->msg_len;
	else if (w->msg_want && w->msg_want != WIRE_MSG_MAX && cap > w->msg_want - w->msg_len)
		cap = w->msg_want - w->msg_len;
	else if (!w->msg_want && w->wf.dir == WS_CLIENT && w->msg_len < 64 && w->msg_len >= 8 &&
		 !memcmp(w->buf, "TWILSOCK", 8) &&
		 cap > 64 - w->msg_len)
		cap = 64 - w->msg_len; /* the preamble first, then its header's length */
	return cap;
}

static void decide(struct wire *w)
{
	if (w->msg_mode == MM_UNDECIDED && w->msg_len >= 8) {
		w->msg_mode = memcmp(w->buf, "TWILSOCK", 8) ? MM_DISCARD : MM_COLLECT;
		/* a message nobody looks at */
		if (w->msg_mode == MM_DISCARD)
			judged(w);
	}
}

/* Bytes of the message's payload, in order (unmasked with mask from mask
 * offset off, or as they are when mask is NULL): what keep_room allows is
 * kept in buf, the message decided and a Twilsock header read as soon as
 * their bytes are there; the rest is dropped (the message judged, or past
 * its cap: msg_trunc). */
static void msg_keep(struct wire *w, const unsigned char *p, size_t n, const uint8_t *mask, size_t off)
{
	size_t done = 0;
	while (done < n) {
		if (w->msg_mode == MM_DISCARD)
			return;
		size_t k = n - done, room = keep_room(w, WIRE_MSG_MAX - w->msg_len);
		if (k > room)
			k = room;
		if (k == 0) {
			/* the message is longer than the cap: keep its prefix */
			w->msg_trunc = 1;
			return;
		}
		if (mask)
			unmask_copy((unsigned char *)w->buf + w->msg_len, p + done, k, mask, off + done);
		else
			memcpy(w->buf + w->msg_len, p + done, k);
		w->msg_len += k;
		done += k;
		decide(w);
		twilsock_progress(w);
	}
}

/* Plain payload bytes of a data frame. */
static void msg_plain(struct wire *w, const unsigned char *p, size_t n)
{
	msg_keep(w, p, n, w->wf.mask, w->wf.mask_off);
	w->wf.mask_off = (uint8_t)((w->wf.mask_off + n) & 3);
}

/* Inflates in[0..n) (unmasked) into the scratch buffer, a window large
 * enough for zlib's fast loop (inflate_fast wants 258 bytes of room), and
 * keeps from there what the message wants (msg_keep). */
static void inflate_chunk(struct wire *w, const unsigned char *in, size_t n)
{
	_Static_assert(sizeof w->zscratch_out >= 2048, "inflate's output window fits its fast loop");
	if (w->msg_zdone)
		return;
	w->z.next_in = (Bytef *)in;
	w->z.avail_in = (uInt)n;
	for (;;) {
		w->z.next_out = w->zscratch_out;
		w->z.avail_out = (uInt)sizeof w->zscratch_out;
		int r = inflate(&w->z, Z_SYNC_FLUSH);
		size_t produced = sizeof w->zscratch_out - w->z.avail_out;
		if (produced)
			msg_keep(w, w->zscratch_out, produced, NULL, 0);
		if (w->msg_zdone)
			return; /* judged: the rest goes uninflated */
		if (w->ws_no_ctx && w->msg_trunc) {
			/* past the cap, nothing more is looked at and no context
			 * is kept: the message is read as it is at its end */
			w->msg_zdone = 1;
			return;
		}
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

/* The compressed input inflated at once. Without context takeover, the
 * start of a message is inflated a little at a time: the message may be
 * judged from its first bytes, and then the rest is not inflated. Each
 * step gives inflate about as many compressed bytes as the message still
 * wants (deflate seldom makes data longer), Z_STEP_HDR more in the first
 * step for the block's header (its Huffman code lengths). */
#define Z_STEP_MIN 64
#define Z_STEP_HDR 96

static size_t z_step(const struct wire *w)
{
	size_t want = w->msg_mode == MM_DISCARD ? 0 : keep_room(w, WIRE_MSG_MAX - w->msg_len);
	if (w->wf.dir == WS_CLIENT && w->msg_len < 64 && want < 64 - w->msg_len)
		want = 64 - w->msg_len; /* a Twilsock preamble, if it is one */
	if (want < Z_STEP_MIN)
		want = Z_STEP_MIN;
	return want + (w->z.total_in ? 0 : Z_STEP_HDR);
}

static void msg_deflated(struct wire *w, const unsigned char *p, size_t n)
{
	while (n && !w->msg_zdone) {
		size_t k = n < WIRE_SCRATCH ? n : WIRE_SCRATCH;
		if (w->ws_no_ctx) {
			size_t step = z_step(w);
			if (k > step)
				k = step;
		}
		unmask_copy(w->zscratch_in, p, k, w->wf.mask, w->wf.mask_off);
		inflate_chunk(w, w->zscratch_in, k);
		w->wf.mask_off = (uint8_t)((w->wf.mask_off + k) & 3);
		p += k;
		n -= k;
	}
	/* the rest is not inflated: only the mask offset goes on */
	w->wf.mask_off = (uint8_t)((w->wf.mask_off + n) & 3);
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
	size_t i, hlen;
	const char *m;
	struct jspan tok;
	if (twilsock_preamble(b, n, &i, &hlen) != 1)
		return;
	size_t hn = hlen < n - i ? hlen : n - i;
	if (twilsock_method(b + i, hn, &m) != 1)
		return; /* other methods carry no token */
	if (!wire_json_member(b + i, hn, "token", &tok))
		return;
	job_tok(w, &tok, CHANNEL_TWILSOCK, m, m[0] == 'i' ? "Twilsock init" : "Twilsock update");
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

unsigned wire_voice_registers(const struct wire *w)
{
	return w->voice_registers;
}

static void json_msg(struct wire *w, const char *b, size_t n)
{
	struct jspan type, inner, tok, btype;
	if (!wire_json_member(b, n, "type", &type))
		return;
	if (wire_jspan_eq(&type, "register")) {
		w->voice_registers++;
		return;
	}
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
	if (w->msg_mode != MM_COLLECT || w->msg_len == 0)
		return;
	const char *b = w->buf;
	size_t n = w->msg_len;
	wire_job_start(w, n, w->msg_trunc, "message", "JWT in a WebSocket message");
	if (w->wf.dir == WS_SERVER) {
		/* the server's messages answer, they carry no token to judge */
		w->job.whole = 1;
		return;
	}
	if (n >= 12 && !memcmp(b, "TWILSOCK V3.", 12)) {
		twilsock_msg(w, b, n);
		return;
	}
	size_t s = 0;
	while (s < n && text_is_ws(b[s]))
		s++;
	if (s < n && b[s] == '{')
		json_msg(w, b, n);
}

/* ---- frames ------------------------------------------------------------------------- */

/* The frame header h is complete: start its payload and, for a text or
 * binary frame, its message. */
static void frame_start(struct wire *w, const struct ws_hdr *h)
{
	ws_frame_begin(&w->wf, h);
	if (h->op == 0 || h->op >= 8)
		return;
	w->msg_op = h->op;
	w->msg_z = h->rsv1;
	w->msg_len = 0;
	w->msg_trunc = 0;
	w->msg_zdone = 0;
	w->msg_want = 0;
	w->msg_mode = h->op == 1 ? MM_COLLECT : MM_UNDECIDED;
	if (!w->msg_z)
		return;
	if (z_ensure(w) < 0) {
		if (!w->pending_err)
			w->pending_err = WIRE_E_NOMEM;
		w->msg_zdone = 1;
		w->msg_mode = MM_DISCARD;
	} else if (w->ws_no_ctx) {
		/* the sender's compressor starts each message anew; the last
		 * message may have been left before its end (judged) */
		inflateReset(&w->z);
	}
}

static void frame_end(struct wire *w)
{
	int skipped = w->wf.skip;
	if (!ws_frame_end(&w->wf))
		return;
	w->wf.skip = 0;
	if (!skipped)
		message_end(w);
}

/* Reads the next frame header, from p in place when it is all there, else
 * through wf.hdr. Returns the bytes used; 0 with w->mode changed when the
 * stream is not (or no longer) WebSocket. */
static size_t header_step(struct wire *w, const unsigned char *p, size_t n)
{
	struct ws_frame *f = &w->wf;
	const unsigned char *h = p;
	size_t have = n, kept = f->hdr_len;
	if (kept) {
		size_t k = sizeof f->hdr - kept;
		if (k > n)
			k = n;
		memcpy(f->hdr + kept, p, k);
		h = f->hdr;
		have = kept + k;
	}
	struct ws_hdr hd;
	int size = ws_hdr_parse(h, have, (enum ws_dir)f->dir, f->in_msg, &hd);
	if (size == 0) {
		/* keep what there is (less than a header) */
		if (!kept)
			memcpy(f->hdr, p, have);
		f->hdr_len = (uint8_t)have;
		return have - kept;
	}
	if (size < 0) {
		if (size == -1 && !f->seen) {
			/* the upgrade was refused and the client goes on in HTTP */
			w->mode = WM_DETECT;
			return 0;
		}
		lose_sync(w);
		return 0;
	}
	f->hdr_len = 0;
	frame_start(w, &hd);
	return (size_t)size - kept;
}

size_t wire_ws_step(struct wire *w, const unsigned char *p, size_t n)
{
	struct ws_frame *f = &w->wf;
	size_t used = 0;
	while (used < n) {
		/* frames nobody looks at, by length (the fast path's own loop) */
		used += ws_frame_skip(f, p + used, n - used);
		if (used == n)
			break;
		if (!f->payload) {
			size_t k = header_step(w, p + used, n - used);
			if (w->mode != WM_WS)
				return w->mode == WM_PASS ? n : used;
			used += k;
			if (!f->payload)
				continue; /* the header goes on in the next feed */
			if (f->left == 0) {
				frame_end(w);
				if (w->job.active)
					return used;
			}
			continue;
		}
		size_t k = n - used;
		if (k > f->left)
			k = (size_t)f->left;
		if (f->op < 8 && !f->skip) {
			if (w->msg_z)
				msg_deflated(w, p + used, k);
			else
				msg_plain(w, p + used, k);
		}
		f->left -= k;
		used += k;
		if (f->left == 0)
			frame_end(w);
		if (w->job.active)
			return used;
	}
	return used;
}

struct ws_frame *wire_frame(struct wire *w)
{
	return &w->wf;
}
