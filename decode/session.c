/* A connection's session: the wire decoder, validation of each token it
 * finds, and the checks that need the connection's history (update_mismatch,
 * expired_in_use, one report per token). One fixed block, no allocation; the
 * diagnosis being built lives here, not on the (possibly small) stack. */
#include <stdio.h>
#include <string.h>

#include "decode/session.h"
#include "decode/wire_int.h"

#define SESSION_SEEN_MAX 32 /* distinct tokens remembered per connection */

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
};

struct session {
	struct session_config cfg;
	struct session_hist h;
	int judged;    /* a token was validated on this connection */

	struct wire w; /* session_init clears what comes before it */

	struct diag d; /* the diagnosis being built (diag_init resets it) */
	/* the validator's scratch (~41 KiB, off the host thread's stack); needs
	 * no initialising, and its pages are touched only once a token is seen */
	struct validate_work vw;
};

/* A parked session: its history and its decoder at rest, no buffer. */
struct session_parked {
	struct session_hist h;
	int64_t due;   /* session_watch_due when parked */
	uint64_t wire[(WIRE_REST_SIZE + 7) / 8];
};
_Static_assert(sizeof(struct session_parked) <= SESSION_PARK_SIZE, "SESSION_PARK_SIZE too small");

size_t session_sizeof(void)
{
	return sizeof(struct session);
}

void session_init(struct session *s, const struct session_config *cfg, int tls)
{
	memset(s, 0, offsetof(struct session, w));
	s->cfg = *cfg;
	wire_init(&s->w, &s->cfg.w, tls);
}

int session_at_rest(const struct session *s)
{
	return s->judged && wire_at_rest(&s->w);
}

int session_park(const struct session *s, void *park)
{
	if (!session_at_rest(s))
		return 0;
	struct session_parked *p = park;
	p->h = s->h;
	p->due = session_watch_due(s);
	memcpy(p->wire, &s->w, WIRE_REST_SIZE);
	return 1;
}

void session_unpark(struct session *s, const struct session_config *cfg, const void *park)
{
	const struct session_parked *p = park;
	s->cfg = *cfg;
	s->h = p->h;
	s->judged = 1;
	memcpy(&s->w, p->wire, WIRE_REST_SIZE);
	wire_resume(&s->w, &s->cfg.w);
}

struct ws_frame *session_park_frame(void *park)
{
	struct session_parked *p = park;
	return &((struct wire *)(void *)p->wire)->wf;
}

int64_t session_park_due(const void *park)
{
	const struct session_parked *p = park;
	return p->due;
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
}

struct ws_frame *session_frame(struct session *s)
{
	return wire_frame(&s->w);
}

int64_t session_watch_due(const struct session *s)
{
	return s->h.watch && !s->h.eiu_done ? s->h.watch_exp + s->cfg.v.skew : INT64_MAX;
}

int session_passthrough(const struct session *s)
{
	/* a live token keeps the connection worth watching for expired_in_use */
	return wire_passthrough(&s->w) && (!s->h.watch || s->h.eiu_done);
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

static int on_token(struct session *s, const struct wire_event *ev, int64_t now,
		    session_emit_fn emit, void *ctx)
{
	if (seen_before(s, ev->token, ev->token_len))
		return 0;
	struct vconfig v = s->cfg.v;
	v.channel = ev->channel;
	v.host_product = ev->host_product;
	v.choose_product = 1;
	v.host_region = ev->region[0] ? ev->region : NULL;
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
	if (s->d.token.parsed && s->d.token.has_exp) {
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

static int __attribute__((noinline)) check_expired_in_use(struct session *s, int64_t now, session_emit_fn emit,
							   void *ctx)
{
	if (!s->h.watch || s->h.eiu_done || now <= s->h.watch_exp + s->cfg.v.skew)
		return 0;
	s->h.eiu_done = 1;
	diag_init(&s->d, now);
	s->d.token = s->h.newest;
	s->d.channel = s->h.newest_channel;
	s->d.product = s->h.newest_product;
	s->d.message = s->h.newest_message;
	char exp[32], ago[32];
	fmt_iso8601(s->h.watch_exp, exp, sizeof exp);
	fmt_duration(now - s->h.watch_exp, ago, sizeof ago);
	diag_add(&s->d, CAUSE_EXPIRED_IN_USE,
		 "refresh the token before it expires (Twilsock: updateToken on "
		 "tokenAboutToExpire; Voice: device.updateToken), or reconnect with a new one",
		 "the connection is still sending %s after its token expired at %s, and no new "
		 "token was sent",
		 ago, exp);
	diag_finish(&s->d);
	if (emit)
		emit(ctx, &s->d);
	return 1;
}

/* The slow path of a feed: the decoder proper and each token it finds.
 * Returns the diagnoses emitted; *now read with clock(1) at the first token
 * when clock is set (*clock cleared then). */
static int __attribute__((noinline)) feed_events(struct session *s, const char *p, size_t len,
						 int64_t *now, session_clock_fn *clock,
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
		if (*clock) {
			*now = (*clock)(1);
			*clock = NULL;
		}
		emitted += on_token(s, &ev, *now, emit, ctx);
	}
	return emitted;
}

/* now: the time when clock is NULL; else read with clock() when needed */
static inline __attribute__((always_inline)) int feed(struct session *s, const char *p, size_t len,
						      int64_t now, session_clock_fn clock,
						      session_emit_fn emit, void *ctx)
{
	int emitted = 0;
	if (!len)
		return 0;
	emitted = feed_events(s, p, len, &now, &clock, emit, ctx);
	if (s->h.watch && !s->h.eiu_done) {
		if (clock)
			now = clock(0);
		if (now > s->h.watch_exp + s->cfg.v.skew)
			emitted += check_expired_in_use(s, now, emit, ctx);
	}
	return emitted;
}

int session_end(struct session *s, int64_t now, session_emit_fn emit, void *ctx)
{
	int emitted = 0;
	struct wire_event ev;
	while (wire_end(&s->w, &ev))
		emitted += on_token(s, &ev, now, emit, ctx);
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
