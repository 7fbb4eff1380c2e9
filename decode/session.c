/* A connection's session: the wire decoder, validation of each token it
 * finds, and the checks that need the connection's history (update_mismatch,
 * expired_in_use, one report per token). One fixed block, no allocation; the
 * diagnosis being built lives here, not on the (possibly small) stack. */
#include <stdio.h>
#include <string.h>

#include "decode/server_codes.h"
#include "decode/session.h"
#include "decode/twilsock.h"
#include "decode/wire_int.h"
#include "decode/wire_rest.h"
#include "decode/wire_srv.h"
#include "decode/cold.h"

#define SESSION_SEEN_MAX 32 /* distinct tokens remembered per connection */
#define SESSION_Q_MAX 8     /* token-carrying messages awaiting an answer */
#define REFRESH_WARN_SECS 180 /* "3 minutes before exp" when the server says nothing */

/* A token-carrying message waiting for the server's answer (SPEC.md's
 * "what answers what"). */
enum q_kind { Q_NONE = 0, Q_SEQ, Q_TWILSOCK, Q_SIGNAL, Q_STREAM };
struct question {
	enum q_kind kind;       /* Q_SEQ: HTTP/SIP request number; Q_TWILSOCK: by id;
				   Q_SIGNAL: Voice/Video, the next answer-shaped message;
				   Q_STREAM: HTTP/2, the response on stream seq */
	int seq;
	char id[64];
	int64_t t_ms;           /* end of the token's write, -1 unknown */
	uint64_t order;         /* the order questions were asked in */
	enum channel channel;
	const char *message;
	enum product product;
	int pred_accept, pred_code;
	size_t npred;
	enum cause_id pred[ANSWER_PRED_CAUSES];
	struct token_summary tok;
};

/* What later checks need of a connection's history: kept in the session,
 * and in a parked session (session_park) once its decoder is at rest. */
struct session_hist {
	/* the Twilsock init token's claims, for update_mismatch: the identity
	 * compared by hash and length (its first 64 characters are all a
	 * diagnosis quotes), the SIDs whole */
	int have_init;
	uint64_t init_identity_hash;
	size_t init_identity_len;
	char init_identity[65];
	char init_sub[48], init_chat[48], init_sync[48];

	/* 64-bit hashes (seen_hash) of the tokens already reported */
	uint64_t seen[SESSION_SEEN_MAX];
	size_t nseen, seen_next;

	/* the newest token, for expired_in_use */
	int watch, eiu_done;
	int64_t watch_exp;
	struct token_summary newest;
	enum channel newest_channel;
	enum product newest_product;
	const char *newest_message;
	int rm_done;           /* refresh_missing reported for the newest token */
	int64_t warned_at;     /* the server said token_about_to_expire then (seconds), 0 not */
};

/* What a session block holds beyond its small fields (session_wipe). */
enum { USED_D = 1, USED_VW = 2 };

struct session {
	struct session_config cfg;
	/* this block's own use, for session_wipe (not parked): the bytes fed
	 * to each direction's decoder since the block was taken, USED_* */
	uint64_t fed_c, fed_s;
	unsigned used;

	/* parked (session_park): from h to w */
	struct session_hist h;
	int judged;    /* a token was validated on this connection */

	/* the server's direction: the messages awaiting an answer */
	struct question q[SESSION_Q_MAX];
	uint64_t q_order;
	int responses;         /* final HTTP/SIP responses seen */
	int srv_lost;          /* the server direction gave up */

	struct wire w; /* session_init clears what comes before it */
	struct wire_srv srv;

	struct diag d; /* the diagnosis being built (diag_init resets it) */
	/* the validator's scratch (~41 KiB, off the host thread's stack); needs
	 * no initialising, and its pages are touched only once a token is seen */
	struct validate_work vw;
};
_Static_assert(offsetof(struct session, w) < offsetof(struct session, srv) &&
		       offsetof(struct session, srv) < offsetof(struct session, d) &&
		       offsetof(struct session, d) < offsetof(struct session, vw),
	       "session_wipe lists struct session's large members in offset order");

static int question_open(const struct session *s, enum q_kind k)
{
	for (size_t i = 0; i < SESSION_Q_MAX; i++)
		if (s->q[i].kind == k)
			return 1;
	return 0;
}

/* Whether a server message (ev->kind SRV_EV_MESSAGE) can change anything:
 * a reply while a Twilsock message awaits one, a Voice/Video answer shape
 * while their message awaits one, a close or a client_update (answers, and
 * the lifetime checks); any other message is read past. */
static int message_matters(int q_twilsock, int q_signal, const struct srv_event *ev)
{
	switch (ev->msg) {
	case SRV_MSG_TW_REPLY:
		return q_twilsock;
	case SRV_MSG_TW_CLOSE:
	case SRV_MSG_TW_CLIENT_UPDATE:
		return 1;
	case SRV_MSG_VOICE_ERROR:
	case SRV_MSG_VIDEO_ERROR:
	case SRV_MSG_VOICE_OK:
	case SRV_MSG_VIDEO_OK:
		return q_signal;
	default:
		return 0;
	}
}

/* A parked session: the frame states the fast paths go on with, and the
 * rest packed (park_pack): the history and the open questions, and both
 * directions' decoders at rest, no buffer. */
struct session_parked {
	int64_t due;            /* session_watch_due when parked */
	struct ws_frame wf;     /* the client direction's frames */
	struct ws_frame srv_wf; /* the server's, when srv_ws */
	uint8_t srv_read;       /* the server's bytes are still fed (the lifetime checks) */
	uint8_t srv_pass;       /* ... to a decoder that passed through (nothing more to find) */
	uint8_t srv_ws;         /* ... to its WebSocket decoder */
	uint8_t q_twilsock;     /* a Twilsock message awaits its reply */
	uint8_t q_signal;       /* a Voice or Video message awaits its answer */
	uint16_t len;           /* bytes of packed */
	unsigned char packed[];
};
#define PARK_PACKED_MAX (SESSION_PARK_SIZE - offsetof(struct session_parked, packed))
_Static_assert(offsetof(struct session_parked, packed) + 256 <= SESSION_PARK_SIZE, "SESSION_PARK_SIZE too small");

/* The parts of a session a park packs, in order: the session's history and
 * questions, each direction's decoder at rest without its frame state
 * (kept apart, for the fast paths). */
struct park_seg {
	unsigned char *p;
	size_t n;
};

static size_t park_segs(struct session *s, struct park_seg seg[6])
{
	unsigned char *b = (unsigned char *)s, *w = (unsigned char *)&s->w, *sw = (unsigned char *)&s->srv.ws;
	size_t wf = offsetof(struct wire, wf), wf_end = wf + sizeof(struct ws_frame);
	seg[0] = (struct park_seg){ b + offsetof(struct session, h), offsetof(struct session, w) - offsetof(struct session, h) };
	seg[1] = (struct park_seg){ w, wf };
	seg[2] = (struct park_seg){ w + wf_end, WIRE_REST_SIZE - wf_end };
	seg[3] = (struct park_seg){ (unsigned char *)&s->srv, WIRE_SRV_REST_SIZE };
	seg[4] = (struct park_seg){ sw, wf };
	seg[5] = (struct park_seg){ sw + wf_end, WIRE_REST_SIZE - wf_end };
	return 6;
}

/* The packing: mostly zeros (empty slots, short strings in fixed arrays),
 * so runs of zeros are counted and other bytes copied. A control byte c
 * below 0x80 is followed by c + 1 literal bytes; from 0x80, with the next
 * byte, it is a run of ((c & 0x7f) << 8 | next) + 1 zeros. Each part is
 * packed on its own. */
#define ZRUN_MAX 32768
#define LIT_MAX 128

/* Zeros at p[0..n), counted up to lim: 32 bytes a step while they last. */
static inline size_t zeros_at(const unsigned char *p, size_t n, size_t lim)
{
	size_t i = 0;
	if (lim > n)
		lim = n;
	for (uint64_t v[4]; i + 32 <= lim; i += 32) {
		memcpy(v, p + i, 32);
		if (v[0] | v[1] | v[2] | v[3])
			break;
	}
	for (uint64_t v; i + 8 <= lim; i += 8) {
		memcpy(&v, p + i, 8);
		if (v)
			break;
	}
	while (i < lim && !p[i])
		i++;
	return i;
}

/* Non-zero when no byte of the 8 at p is zero. */
static int no_zero_byte(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t v;
	memcpy(&v, p, 8);
	return !((v - ones) & ~v & highs);
}

/* Packs p[0..n) at out[at..cap); the new end, or 0 when it does not fit. */
static size_t park_pack(unsigned char *out, size_t cap, size_t at, const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t z = zeros_at(p + i, n - i, ZRUN_MAX);
		/* a run of 3 or more (or the part's end) costs less counted */
		if (z >= 3 || (z && i + z == n)) {
			if (at + 2 > cap)
				return 0;
			out[at++] = (unsigned char)(0x80 | (z - 1) >> 8);
			out[at++] = (unsigned char)(z - 1);
			i += z;
			continue;
		}
		size_t s = i;
		while (i < n && i - s < LIT_MAX) {
			if (i + 8 <= n && no_zero_byte(p + i)) {
				i += 8;
				continue;
			}
			if (p[i]) {
				i++;
				continue;
			}
			/* a zero: a run of 3, or zeros to the part's end, ends it */
			size_t e = i + 3 < n ? i + 3 : n, j = i;
			while (j < e && !p[j])
				j++;
			if (j == e)
				break;
			i = j;
		}
		if (i - s > LIT_MAX)
			i = s + LIT_MAX;
		if (at + 1 + (i - s) > cap)
			return 0;
		out[at++] = (unsigned char)(i - s - 1);
		memcpy(out + at, p + s, i - s);
		at += i - s;
	}
	return at;
}

/* Unpacks into p[0..n) from in[at..len); the new position. */
static size_t park_unpack(const unsigned char *in, size_t len, size_t at, unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n && at < len) {
		unsigned c = in[at++];
		size_t k;
		if (c & 0x80) {
			k = at < len ? ((size_t)(c & 0x7f) << 8 | in[at++]) + 1 : 0;
			if (k > n - i)
				k = n - i;
			memset(p + i, 0, k);
		} else {
			k = (size_t)c + 1;
			if (k > n - i)
				k = n - i;
			if (k > len - at)
				k = len - at;
			memcpy(p + i, in + at, k);
			at += k;
		}
		i += k;
	}
	memset(p + i, 0, n - i); /* not reached from a park of ours */
	return at;
}

TK_COLD size_t session_sizeof(void)
{
	return sizeof(struct session);
}

void session_init(struct session *s, const struct session_config *cfg, int tls)
{
	memset(s, 0, offsetof(struct session, w));
	s->cfg = *cfg;
	wire_init(&s->w, &s->cfg.w, tls);
	wire_srv_init(&s->srv, &s->cfg.w);
}

int session_at_rest(const struct session *s)
{
	return s->judged && wire_at_rest(&s->w) && (s->srv_lost || wire_srv_at_rest(&s->srv));
}

int session_park(const struct session *s, void *park)
{
	if (!session_at_rest(s))
		return 0;
	struct session_parked *p = park;
	struct park_seg seg[6];
	size_t nseg = park_segs((struct session *)s, seg), at = 0;
	for (size_t i = 0; i < nseg; i++)
		if (!(at = park_pack(p->packed, PARK_PACKED_MAX, at, seg[i].p, seg[i].n)))
			return 0; /* more history than fits: the block is kept */
	p->len = (uint16_t)at;
	p->due = session_watch_due(s);
	/* a decoder at rest has no event pending: its frames are open to the
	 * fast paths as its next feed would leave them (wire_feed: a feed
	 * that ended with an event leaves them closed until the next one) */
	p->wf = s->w.wf;
	p->wf.open = s->w.mode == WM_WS;
	p->srv_read = !s->srv_lost;
	p->srv_pass = p->srv_read && wire_srv_passthrough(&s->srv);
	p->srv_ws = p->srv_read && s->srv.mode == SM_WS;
	p->q_twilsock = (uint8_t)question_open(s, Q_TWILSOCK);
	p->q_signal = (uint8_t)question_open(s, Q_SIGNAL);
	p->srv_wf = s->srv.ws.wf;
	p->srv_wf.open = p->srv_ws && s->srv.ws.mode == WM_WS;
	return 1;
}

void session_unpark(struct session *s, const struct session_config *cfg, const void *park)
{
	const struct session_parked *p = park;
	memset(s, 0, offsetof(struct session, h));
	s->cfg = *cfg;
	struct park_seg seg[6];
	size_t nseg = park_segs(s, seg), at = 0;
	for (size_t i = 0; i < nseg; i++)
		at = park_unpack(p->packed, p->len, at, seg[i].p, seg[i].n);
	s->w.wf = p->wf;
	s->srv.ws.wf = p->srv_wf;
	wire_resume(&s->w, &s->cfg.w);
	wire_srv_resume(&s->srv, &s->cfg.w);
}

struct ws_frame *session_park_frame(void *park)
{
	struct session_parked *p = park;
	return &p->wf;
}

size_t session_park_server_take(void *park, const void *buf, size_t len)
{
	struct session_parked *p = park;
	if (p->srv_pass)
		return len; /* a decoder passed through takes everything, finds nothing */
	if (!p->srv_ws)
		return 0;
	struct ws_frame *f = &p->srv_wf;
	const unsigned char *b = buf;
	size_t used = 0;
	for (;;) {
		/* bulk and control frames */
		used += ws_frame_take(f, b + used, len - used);
		if (used == len || !f->open || f->payload || f->hdr_len || f->in_msg)
			return used;
		/* a text or binary message the decoder would read: read past
		 * when it can change nothing (message_matters on what
		 * wire_srv_message makes of it: of a Twilsock message the
		 * preamble and header, which must be in hand, else the whole
		 * message, as the decoder keeps them) */
		struct ws_hdr h;
		int k = ws_hdr_parse(b + used, len - used, WS_SERVER, 0, &h);
		if (k <= 0 || h.rsv1 || (h.op != 1 && h.op != 2))
			return used;
		size_t avail = len - used - (size_t)k, have = avail < h.len ? avail : (size_t)h.len;
		const char *m = (const char *)b + used + (size_t)k;
		size_t hoff, hlen;
		/* (a header length of 0 is read by the decoder as the whole
		 * rest of the message: the other branch) */
		if (twilsock_preamble(m, have, &hoff, &hlen) == 1 && hlen && hlen <= have - hoff &&
		    hoff + hlen <= WIRE_MSG_MAX) {
			have = hoff + hlen;
		} else if (h.len > have || h.len > WIRE_MSG_MAX || !h.fin) {
			return used;
		}
		struct srv_event ev;
		memset(&ev, 0, sizeof ev);
		wire_srv_message(m, have, &ev);
		if (message_matters(p->q_twilsock, p->q_signal, &ev))
			return used;
		used += ws_frame_pass(f, &h, (size_t)k, avail, 1);
		if (used == len)
			return used;
	}
}

int session_park_reads(const void *park)
{
	const struct session_parked *p = park;
	return p->srv_read;
}

size_t session_park_used(const void *park)
{
	const struct session_parked *p = park;
	return offsetof(struct session_parked, packed) + p->len;
}

int64_t session_park_due(const void *park)
{
	const struct session_parked *p = park;
	return p->due;
}

void session_wipe(struct session *s)
{
	wire_wipe(&s->w, s->fed_c);
	wire_srv_wipe(&s->srv, s->fed_s);
	const struct wipe_span spans[] = {
		{ offsetof(struct session, w), sizeof s->w, 0 },
		{ offsetof(struct session, srv), sizeof s->srv, 0 },
		{ offsetof(struct session, d), sizeof s->d, s->used & USED_D ? sizeof s->d : 0 },
		{ offsetof(struct session, vw), sizeof s->vw, s->used & USED_VW ? sizeof s->vw : 0 },
	};
	wipe_spans(s, sizeof *s, spans, sizeof spans / sizeof spans[0]);
}

void session_set_host(struct session *s, const char *host, size_t n)
{
	wire_set_host(&s->w, host, n);
}

void session_set_port(struct session *s, unsigned short port)
{
	wire_set_port(&s->w, port);
}

const char *session_host(const struct session *s)
{
	return wire_host(&s->w);
}

void session_release(struct session *s)
{
	wire_release(&s->w);
	wire_srv_release(&s->srv);
}

struct ws_frame *session_frame(struct session *s)
{
	return wire_frame(&s->w);
}

struct h2_fast *session_fast_h2(struct session *s)
{
	return &s->w.h2f;
}

int64_t session_watch_due(const struct session *s)
{
	if (!s->h.watch)
		return INT64_MAX;
	if (!s->h.rm_done)
		return s->h.watch_exp; /* refresh_missing: exp, no skew */
	return s->h.eiu_done ? INT64_MAX : s->h.watch_exp + s->cfg.v.skew;
}

static int watching(const struct session *s)
{
	return s->h.watch && (!s->h.eiu_done || !s->h.rm_done);
}

static int questions_open(const struct session *s)
{
	for (size_t i = 0; i < SESSION_Q_MAX; i++)
		if (s->q[i].kind != Q_NONE)
			return 1;
	return 0;
}

int session_passthrough(const struct session *s)
{
	/* a live token keeps the connection worth watching for the lifetime
	 * checks; a question keeps it worth reading */
	return wire_passthrough(&s->w) && !watching(s) &&
	       (s->srv_lost || wire_srv_passthrough(&s->srv) || !questions_open(s));
}

/* A 64-bit hash of a token for the seen list: two multiply-xor lanes over
 * 8-byte words (a few hundred instructions for a token, not a SHA-256). Not
 * cryptographic: the tokens are the host's own, a collision only merges two
 * reports. */
static uint64_t seen_hash(const char *p, size_t n)
{
	uint64_t a = 0x9e3779b97f4a7c15ull ^ n, b = 0xc2b2ae3d27d4eb4full + n, v;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&v, p + i, 8);
		a = (a ^ v) * 0xff51afd7ed558ccdull;
		a ^= a >> 32;
		b = (b + v) * 0xc4ceb9fe1a85ec53ull;
		b ^= b >> 29;
	}
	v = 0;
	memcpy(&v, p + i, n - i);
	a = (a ^ v ^ 0x5555) * 0xff51afd7ed558ccdull;
	b = (b + v + 0xaaaa) * 0xc4ceb9fe1a85ec53ull;
	a ^= a >> 33;
	a *= 0xc4ceb9fe1a85ec53ull;
	a ^= a >> 33;
	b ^= b >> 31;
	b *= 0xff51afd7ed558ccdull;
	b ^= b >> 31;
	return a ^ (b << 1 | b >> 63);
}

static int seen_before(struct session *s, const char *tok, size_t n)
{
	uint64_t md = seen_hash(tok, n);
	for (size_t i = 0; i < s->h.nseen; i++)
		if (s->h.seen[i] == md)
			return 1;
	s->h.seen[s->h.seen_next] = md;
	s->h.seen_next = (s->h.seen_next + 1) % SESSION_SEEN_MAX;
	if (s->h.nseen < SESSION_SEEN_MAX)
		s->h.nseen++;
	return 0;
}

/* A question answered or dropped: its slot all zeros (a parked session
 * packs a free slot into two bytes). */
static void question_clear(struct question *q)
{
	memset(q, 0, sizeof *q);
}

static const char fix_update[] =
	"refresh with a token for the same identity, service and account as the connection's "
	"first one, or open a new connection for the new identity";

static void check_update(struct session *s)
{
	const struct token_summary *t = &s->d.token;
	if (!s->h.have_init || !t->parsed)
		return;
	size_t idn = strlen(t->identity);
	if (idn != s->h.init_identity_len || seen_hash(t->identity, idn) != s->h.init_identity_hash) {
		diag_add(&s->d, CAUSE_UPDATE_MISMATCH, fix_update,
			 "update token is for identity '%.64s', the connection's init token for '%.64s'",
			 t->identity, s->h.init_identity);
	} else if (strcmp(t->chat_service_sid, s->h.init_chat)) {
		diag_add(&s->d, CAUSE_UPDATE_MISMATCH, fix_update,
			 "update token's chat.service_sid '%s' differs from init's '%s'",
			 t->chat_service_sid[0] ? t->chat_service_sid : "(none)",
			 s->h.init_chat[0] ? s->h.init_chat : "(none)");
	} else if (strcmp(t->sync_service_sid, s->h.init_sync)) {
		diag_add(&s->d, CAUSE_UPDATE_MISMATCH, fix_update,
			 "update token's data_sync.service_sid '%s' differs from init's '%s'",
			 t->sync_service_sid[0] ? t->sync_service_sid : "(none)",
			 s->h.init_sync[0] ? s->h.init_sync : "(none)");
	} else if (strcmp(t->sub, s->h.init_sub)) {
		diag_add(&s->d, CAUSE_UPDATE_MISMATCH, fix_update,
			 "update token's account (sub) '%s' differs from init's '%s'", t->sub,
			 s->h.init_sub);
	}
}

static void remember_init(struct session *s)
{
	const struct token_summary *t = &s->d.token;
	if (!t->parsed)
		return;
	s->h.have_init = 1;
	s->h.init_identity_len = strlen(t->identity);
	s->h.init_identity_hash = seen_hash(t->identity, s->h.init_identity_len);
	memcpy(s->h.init_identity, t->identity, sizeof s->h.init_identity - 1);
	s->h.init_identity[sizeof s->h.init_identity - 1] = '\0';
	memcpy(s->h.init_sub, t->sub, sizeof s->h.init_sub);
	memcpy(s->h.init_chat, t->chat_service_sid, sizeof s->h.init_chat);
	memcpy(s->h.init_sync, t->sync_service_sid, sizeof s->h.init_sync);
}

/* The question a token-carrying message asks the server, when its answer
 * can be told apart (SPEC.md: what answers what). */
static void ask(struct session *s, const struct wire_event *ev, int64_t now_ms)
{
	enum q_kind kind = Q_NONE;
	int seq = 0;
	const char *id = "";
	switch (ev->channel) {
	case CHANNEL_TWILSOCK:
		kind = Q_TWILSOCK;
		id = ev->msg_id;
		break;
	case CHANNEL_VOICE:
		kind = !strcmp(ev->message, "listen") ? Q_SIGNAL : Q_NONE;
		break;
	case CHANNEL_VIDEO:
		kind = !strcmp(ev->message, "hello") || !strcmp(ev->message, "connect") ? Q_SIGNAL : Q_NONE;
		break;
	case CHANNEL_HTTP:
	case CHANNEL_SIP:
		kind = ev->stream ? Q_STREAM : Q_SEQ;
		break;
	default:
		if (ev->stream)
			kind = Q_STREAM; /* a JWT in another header of an HTTP/2 request */
		else if (s->w.mode == WM_HTTP)
			kind = Q_SEQ; /* a JWT in a header or body of a request */
		break;
	}
	if (kind == Q_SEQ)
		seq = wire_request_seq(&s->w);
	else if (kind == Q_SIGNAL && ev->channel == CHANNEL_VOICE)
		seq = (int)wire_voice_registers(&s->w); /* the registers sent before it */
	else if (kind == Q_STREAM)
		seq = (int)ev->stream;
	if (kind == Q_NONE || (kind == Q_TWILSOCK && !id[0]) || s->cfg.no_answers)
		return;
	/* a free slot, else the oldest question gives way */
	struct question *q = &s->q[0];
	for (size_t i = 0; i < SESSION_Q_MAX; i++) {
		if (s->q[i].kind == Q_NONE) {
			q = &s->q[i];
			break;
		}
		if (s->q[i].order < q->order)
			q = &s->q[i];
	}
	if (kind == Q_STREAM)
		wire_srv_h2_want(&s->srv, ev->stream);
	question_clear(q);
	q->kind = kind;
	q->seq = seq;
	snprintf(q->id, sizeof q->id, "%s", id);
	q->t_ms = now_ms;
	q->order = ++s->q_order;
	q->channel = s->d.channel;
	q->message = s->d.message;
	q->product = s->d.product;
	q->pred_accept = s->d.accept;
	q->pred_code = s->d.code;
	q->npred = 0;
	for (size_t i = 0; i < s->d.ncauses && q->npred < ANSWER_PRED_CAUSES; i++)
		if (s->d.causes[i].severity > SEV_INFO)
			q->pred[q->npred++] = s->d.causes[i].id;
	q->tok = s->d.token;
}

static int on_token(struct session *s, const struct wire_event *ev, int64_t now, int64_t now_ms,
		    session_emit_fn emit, void *ctx)
{
	if (seen_before(s, ev->token, ev->token_len))
		return 0;
	struct vconfig v = s->cfg.v;
	v.channel = ev->channel;
	v.host_product = ev->host_product;
	v.choose_product = 1;
	v.host_region = ev->region[0] ? ev->region : NULL;
	s->used |= USED_D | USED_VW;
	validate_ex(ev->token, ev->token_len, now, &v, &s->d, &s->vw);
	s->judged = 1;
	s->d.channel = ev->channel;
	s->d.message = ev->message;
	int is_twilsock = ev->channel == CHANNEL_TWILSOCK;
	if (is_twilsock && !strcmp(ev->message, "update"))
		check_update(s);
	diag_finish(&s->d);
	if (is_twilsock && !strcmp(ev->message, "init"))
		remember_init(s);
	ask(s, ev, now_ms);
	if (s->d.token.parsed && s->d.token.has_exp) {
		s->h.rm_done = 0;
		s->h.warned_at = 0;
		s->h.newest = s->d.token;
		s->h.newest_channel = s->d.channel;
		s->h.newest_product = s->d.product;
		s->h.newest_message = s->d.message;
		s->h.watch_exp = s->d.token.exp;
		/* a token already expired when sent is reported as expired, not in use */
		s->h.watch = now <= s->d.token.exp + s->cfg.v.skew;
	}
	if (emit)
		emit(ctx, &s->d);
	return 1;
}

/* ---- lifetime: refresh_missing, expired_in_use -------------------------------- */

static void lifetime_start(struct session *s, int64_t now)
{
	s->used |= USED_D;
	diag_init(&s->d, now);
	s->d.event = DIAG_EV_LIFETIME;
	s->d.token = s->h.newest;
	s->d.channel = s->h.newest_channel;
	s->d.product = s->h.newest_product;
	s->d.message = s->h.newest_message;
}

static const char fix_refresh[] =
	"handle the SDK's expiry event and pass a new token: Conversations/Sync "
	"tokenAboutToExpire -> client.updateToken(token); Voice tokenWillExpire -> "
	"device.updateToken(token)";

/* The lifetime checks on the connection's own traffic at time now: a write
 * (sending 1) or a read; expired 1 when the server said the token expired
 * (close 51207, client_update token_expired). No timer: judged when bytes
 * pass. Each cause at most once per token and connection. */
static int __attribute__((noinline)) lifetime_check(struct session *s, int64_t now, int sending,
						    int expired, session_emit_fn emit, void *ctx)
{
	if (!s->h.watch)
		return 0;
	int rm = !s->h.rm_done && (now > s->h.watch_exp || expired);
	int eiu = sending && !s->h.eiu_done && now > s->h.watch_exp + s->cfg.v.skew;
	if (!rm && !eiu)
		return 0;
	lifetime_start(s, now);
	char exp[32], ago[32];
	fmt_iso8601(s->h.watch_exp, exp, sizeof exp);
	if (rm) {
		s->h.rm_done = 1;
		char warned[96] = "3 minutes before it";
		if (s->h.warned_at) {
			char t[32];
			fmt_iso8601(s->h.warned_at, t, sizeof t);
			snprintf(warned, sizeof warned, "the server warned at %s (token_about_to_expire)", t);
		}
		diag_add(&s->d, CAUSE_REFRESH_MISSING, fix_refresh,
			 "the token expired at %s and the connection sent no new one (%s): the app does "
			 "not refresh its token",
			 exp, warned);
	}
	if (eiu) {
		s->h.eiu_done = 1;
		fmt_duration(now - s->h.watch_exp, ago, sizeof ago);
		diag_add(&s->d, CAUSE_EXPIRED_IN_USE,
			 "refresh the token before it expires (Twilsock: updateToken on "
			 "tokenAboutToExpire; Voice: device.updateToken), or reconnect with a new one",
			 "the connection is still sending %s after its token expired at %s, and no new "
			 "token was sent",
			 ago, exp);
	}
	diag_finish(&s->d);
	s->d.event = DIAG_EV_LIFETIME;
	if (emit)
		emit(ctx, &s->d);
	return 1;
}

/* ---- answers ---------------------------------------------------------------------- */

static void answer_causes(struct session *s, const struct question *q, const struct answer *a)
{
	if (q->pred_accept && !a->server_accept) {
		const struct server_code *sc = a->code ? server_code_find(a->code) : NULL;
		char what[200];
		if (a->code)
			snprintf(what, sizeof what, "%d (%s)", a->code,
				 sc ? sc->meaning : a->text[0] ? a->text : "no description");
		else
			snprintf(what, sizeof what, "status %d (%s)", a->status, a->text[0] ? a->text : "no description");
		if (sc)
			diag_add(&s->d, CAUSE_SERVER_REJECTED, sc->fix, "valid here, rejected with %d: %s", a->code,
				 sc->explain);
		else
			diag_add(&s->d, CAUSE_SERVER_REJECTED,
				 "look the code up in Twilio's error reference (twilio.com/docs/api/errors)",
				 "the server rejected the token with %s although it looked valid here", what);
		struct cause *c = &s->d.causes[s->d.ncauses - 1];
		c->twilio_code = a->code;
	} else if (!q->pred_accept && a->server_accept) {
		char causes[160] = "";
		size_t n = 0;
		for (size_t i = 0; i < q->npred && n < sizeof causes; i++)
			n += (size_t)snprintf(causes + n, sizeof causes - n, "%s%s", i ? ", " : "",
					      cause_name(q->pred[i]));
		diag_add(&s->d, CAUSE_SERVER_ACCEPTED,
			 "please report it to tokshim with this record (it holds no secret): the rule is "
			 "wrong for this server",
			 "the server accepted the token (status %d) that was predicted to be rejected (%s)",
			 a->status, causes[0] ? causes : "no cause");
	}
}

static int answer(struct session *s, struct question *q, int accept, const struct srv_event *sev,
		  int64_t now, int64_t now_ms, session_emit_fn emit, void *ctx)
{
	s->used |= USED_D;
	diag_init(&s->d, now);
	s->d.event = DIAG_EV_ANSWER;
	s->d.token = q->tok;
	s->d.channel = q->channel;
	s->d.message = q->message;
	s->d.product = q->product;
	struct answer *a = &s->d.answer;
	memset(a, 0, sizeof *a);
	a->server_accept = accept;
	a->status = sev->status;
	a->code = sev->code;
	memcpy(a->text, sev->text, sizeof a->text);
	a->text[sizeof a->text - 1] = 0;
	a->pred_accept = q->pred_accept;
	a->pred_code = q->pred_code;
	a->npred = q->npred;
	memcpy(a->pred, q->pred, sizeof a->pred);
	a->after_ms = q->t_ms >= 0 && now_ms >= 0 ? now_ms - q->t_ms : -1;
	if (a->after_ms < -1)
		a->after_ms = 0;
	answer_causes(s, q, a);
	if (q->pred_accept && !accept)
		a->level = SEV_ERROR;
	else if (!q->pred_accept && accept)
		a->level = SEV_WARNING;
	else
		a->level = accept ? SEV_INFO : SEV_WARNING;
	s->d.accept = accept;
	s->d.code = accept ? 0 : sev->code;
	question_clear(q);
	if (emit)
		emit(ctx, &s->d);
	return 1;
}

/* The oldest open question of kind k (and channel ch, CHANNEL_UNKNOWN: any). */
static struct question *oldest(struct session *s, enum q_kind k, enum channel ch)
{
	struct question *best = NULL;
	for (size_t i = 0; i < SESSION_Q_MAX; i++) {
		struct question *q = &s->q[i];
		if (q->kind == k && (ch == CHANNEL_UNKNOWN || q->channel == ch) &&
		    (!best || q->order < best->order))
			best = q;
	}
	return best;
}

static int on_server(struct session *s, const struct srv_event *ev, int64_t now, int64_t now_ms,
		     session_emit_fn emit, void *ctx)
{
	struct question *q = NULL;
	if (ev->kind == SRV_EV_MESSAGE &&
	    !message_matters(question_open(s, Q_TWILSOCK), question_open(s, Q_SIGNAL), ev))
		return 0;
	switch (ev->kind) {
	case SRV_EV_HTTP:
	case SRV_EV_SIP:
		if (ev->interim)
			return 0;
		if (ev->stream) {
			/* HTTP/2: the response on the request's stream */
			for (size_t i = 0; i < SESSION_Q_MAX; i++)
				if (s->q[i].kind == Q_STREAM && s->q[i].seq == (int)ev->stream)
					q = &s->q[i];
		} else {
			s->responses++;
			for (size_t i = 0; i < SESSION_Q_MAX; i++)
				if (s->q[i].kind == Q_SEQ && s->q[i].seq == s->responses)
					q = &s->q[i];
		}
		if (!q)
			return 0;
		if (ev->h2c) {
			/* Upgrade: h2c: the request is HTTP/2's stream 1, answered there */
			q->kind = Q_STREAM;
			q->seq = 1;
			wire_srv_h2_want(&s->srv, 1);
			return 0;
		}
		if (ev->status >= 500 || ev->status < 100) {
			question_clear(q); /* the server failed: no verdict on the token */
			return 0;
		}
		return answer(s, q, ev->status < 400, ev, now, now_ms, emit, ctx);
	case SRV_EV_MESSAGE:
		break;
	default:
		return 0;
	}
	switch (ev->msg) {
	case SRV_MSG_TW_REPLY:
		for (size_t i = 0; i < SESSION_Q_MAX; i++)
			if (s->q[i].kind == Q_TWILSOCK && ev->id[0] && !strcmp(s->q[i].id, ev->id))
				q = &s->q[i];
		if (!q)
			return 0;
		return answer(s, q, ev->status > 0 && ev->status < 400, ev, now, now_ms, emit, ctx);
	case SRV_MSG_TW_CLOSE:
		/* an answer only while init/update waits for its reply */
		if ((q = oldest(s, Q_TWILSOCK, CHANNEL_UNKNOWN)))
			return answer(s, q, 0, ev, now, now_ms, emit, ctx);
		return lifetime_check(s, now, 0, ev->code == 51207, emit, ctx);
	case SRV_MSG_TW_CLIENT_UPDATE:
		if (!strcmp(ev->update_type, "token_about_to_expire")) {
			if (!s->h.warned_at)
				s->h.warned_at = now;
			return 0;
		}
		if (!strcmp(ev->update_type, "token_expired"))
			return lifetime_check(s, now, 0, 1, emit, ctx);
		return 0;
	case SRV_MSG_VOICE_ERROR:
	case SRV_MSG_VIDEO_ERROR:
		if (!server_code_is_token(ev->code))
			return 0;
		q = oldest(s, Q_SIGNAL, ev->msg == SRV_MSG_VOICE_ERROR ? CHANNEL_VOICE : CHANNEL_UNKNOWN);
		if (!q)
			return 0;
		/* Twilio answers a Voice `register` that arrives before the listen's
		 * token is validated with 31204 (the Voice SDK's changelog, 2.18):
		 * after a register sent since the listen, a 31204 may be the
		 * register's, not the listen's verdict: no answer */
		if (ev->msg == SRV_MSG_VOICE_ERROR && ev->code == 31204 && q->channel == CHANNEL_VOICE &&
		    wire_voice_registers(&s->w) != (unsigned)q->seq)
			return 0;
		return answer(s, q, 0, ev, now, now_ms, emit, ctx);
	case SRV_MSG_VOICE_OK:
	case SRV_MSG_VIDEO_OK:
		if (!(q = oldest(s, Q_SIGNAL, CHANNEL_UNKNOWN)))
			return 0;
		return answer(s, q, 1, ev, now, now_ms, emit, ctx);
	default:
		return 0;
	}
}

/* ---- the feeds ------------------------------------------------------------------- */

/* The slow path of a feed: the decoder proper and each token it finds.
 * Returns the diagnoses emitted; *now read with clock(1) at the first token
 * when clock is set (*clock cleared then), *now_ms with clock(2). */
static int __attribute__((noinline)) feed_events(struct session *s, const char *p, size_t len,
						 int64_t *now, int64_t *now_ms, session_clock_fn *clock,
						 session_emit_fn emit, void *ctx)
{
	size_t off = 0;
	int emitted = 0;
	struct wire_event ev;
	for (;;) {
		ssize_t r = wire_feed(&s->w, p + off, len - off, &ev);
		if (r > 0)
			off += (size_t)r;
		if (ev.kind == WIRE_EV_NONE)
			break; /* all of buf consumed (r < 0: with an error, already resynchronised) */
		if (ev.kind != WIRE_EV_TOKEN)
			continue;
		if (*clock) {
			*now = (*clock)(1);
			*now_ms = (*clock)(2);
			*clock = NULL;
		}
		if (*now == SESSION_NO_TIME) {
			s->w.mode = WM_PASS;
			break;
		}
		emitted += on_token(s, &ev, *now, *now_ms, emit, ctx);
	}
	return emitted;
}

/* now: the time when clock is NULL; else read with clock() when needed */
static inline __attribute__((always_inline)) int feed(struct session *s, const char *p, size_t len,
						      int64_t now, session_clock_fn clock,
						      session_emit_fn emit, void *ctx)
{
	size_t off = 0;
	int emitted = 0;
	int64_t now_ms = -1;
	if (!len)
		return 0;
	s->fed_c += len;
	/* HTTP/2 DATA frames: skipped by length, no event possible (the
	 * WebSocket frame parser's own fast path runs inside wire_feed) */
	if (s->w.h2f.armed)
		off = h2_fast_take(&s->w.h2f, (const unsigned char *)p, len);
	if (off < len)
		emitted = feed_events(s, p + off, len - off, &now, &now_ms, &clock, emit, ctx);
	if (watching(s)) {
		if (clock)
			now = clock(0);
		if (now != SESSION_NO_TIME && now > s->h.watch_exp)
			emitted += lifetime_check(s, now, 1, 0, emit, ctx);
	}
	return emitted;
}

int session_end(struct session *s, int64_t now, session_emit_fn emit, void *ctx)
{
	int emitted = 0;
	struct wire_event ev;
	while (wire_end(&s->w, &ev))
		emitted += on_token(s, &ev, now, -1, emit, ctx);
	return emitted;
}

int session_feed(struct session *s, const void *buf, size_t len, int64_t now, session_emit_fn emit,
		 void *ctx)
{
	return feed(s, buf, len, now, NULL, emit, ctx);
}

int session_feed_clock(struct session *s, const void *buf, size_t len, session_clock_fn clock,
		       session_emit_fn emit, void *ctx, int *passthrough)
{
	int r = feed(s, buf, len, 0, clock, emit, ctx);
	*passthrough = session_passthrough(s);
	return r;
}

/* The server's bytes: answers, and the lifetime checks on a read. */
static int feed_server(struct session *s, const char *p, size_t len, int64_t now, int64_t now_ms,
		       session_clock_fn clock, session_emit_fn emit, void *ctx)
{
	int emitted = 0;
	size_t off = 0;
	if (!len || s->srv_lost)
		return 0;
	s->fed_s += len;
	for (;;) {
		/* until no event: an HTTP/2 header block may end with no more bytes */
		struct srv_event ev;
		off += wire_srv_feed(&s->srv, p + off, len - off, &ev);
		if (ev.kind == SRV_EV_NONE)
			break;
		if (clock) {
			now = clock(1);
			now_ms = clock(2);
			clock = NULL;
		}
		if (now == SESSION_NO_TIME)
			break; /* no answer is judged by a time nobody knows */
		emitted += on_server(s, &ev, now, now_ms, emit, ctx);
	}
	if (watching(s) && !s->h.rm_done) {
		if (clock)
			now = clock(0);
		if (now != SESSION_NO_TIME && now > s->h.watch_exp)
			emitted += lifetime_check(s, now, 0, 0, emit, ctx);
	}
	return emitted;
}

int session_feed_server(struct session *s, const void *buf, size_t len, int64_t now,
			session_emit_fn emit, void *ctx)
{
	return feed_server(s, buf, len, now, -1, NULL, emit, ctx);
}

int session_feed_server_clock(struct session *s, const void *buf, size_t len, session_clock_fn clock,
			      session_emit_fn emit, void *ctx)
{
	return feed_server(s, buf, len, 0, -1, clock, emit, ctx);
}

struct ws_frame *session_server_frame(struct session *s)
{
	return s->srv.mode == SM_WS && !s->srv_lost ? wire_frame(&s->srv.ws) : NULL;
}

void session_server_lost(struct session *s)
{
	s->srv_lost = 1;
	wire_srv_lost(&s->srv);
	for (size_t i = 0; i < SESSION_Q_MAX; i++)
		question_clear(&s->q[i]);
}
