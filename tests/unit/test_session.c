/* The per-connection session: validation of each token the decoder finds,
 * one report per token, update_mismatch, expired_in_use, product inference. */
#include <criterion/criterion.h>
#include <string.h>

#include "decode/session.h"
#include "tests/unit/session_testlib.h"


struct fx {
	struct keyring *kr;
	struct session_config cfg;
	struct session *s;
	struct got *got;
};

static void fx_init(struct fx *f, const char *host)
{
	memset(f, 0, sizeof *f);
	f->kr = st_config(&f->cfg, WT_ACCOUNT);
	f->got = calloc(1, sizeof *f->got);
	f->s = st_session(&f->cfg, host);
	/* the server's direction is not read here (tests/unit/test_park.c reads both) */
	session_server_lost(f->s);
}

static void fx_free(struct fx *f)
{
	session_release(f->s);
	free(f->s);
	free(f->got);
	keyring_free(f->kr);
}

static int feed(struct fx *f, const struct wt_buf *b, int64_t now)
{
	return session_feed(f->s, b->p, b->n, now, collect, f->got);
}

static void ws_open(struct wt_buf *b, const char *host, const char *path)
{
	wt_printf(b,
		  "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		  path, host);
}

static void tsock_frame(struct wt_buf *b, const char *method, const char *tok)
{
	struct wt_buf m = {0};
	char hdr[8192];
	if (tok)
		snprintf(hdr, sizeof hdr, "{\"id\":\"TM1\",\"method\":\"%s\",\"token\":\"%s\",\"payload_size\":0}",
			 method, tok);
	else
		snprintf(hdr, sizeof hdr, "{\"id\":\"TM2\",\"method\":\"%s\",\"payload_size\":0}", method);
	wt_printf(&m, "TWILSOCK V3.0 %zu\r\n%s\r\n", strlen(hdr), hdr);
	wt_frame(b, 1, 0, 2, m.p, m.n, 0);
	wt_free(&m);
}

static int has(const struct diag *d, enum cause_id id)
{
	return diag_has(d, id);
}

Test(session, init_then_update_for_another_identity)
{
	struct fx f;
	fx_init(&f, NULL);
	char t1[4096], t2[4096];
	wt_token(t1, sizeof t1, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	wt_token(t2, sizeof t2, "bob", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf b = {0};
	ws_open(&b, "tsock.us1.twilio.com", "/v3/wsconnect");
	tsock_frame(&b, "init", t1);
	tsock_frame(&b, "ping", NULL);
	tsock_frame(&b, "update", t2);
	cr_assert_eq(feed(&f, &b, WT_NOW), 2);
	cr_assert_eq(f.got->n, 2);
	const struct diag *a = &f.got->d[0], *u = &f.got->d[1];
	cr_assert_eq(a->accept, 1, "init accepted (first cause: %s)", a->ncauses ? a->causes[0].text : "");
	cr_assert_eq(a->channel, CHANNEL_TWILSOCK);
	cr_assert_str_eq(a->message, "init");
	cr_assert_eq(a->product, PRODUCT_CONVERSATIONS, "chat grant on Twilsock: conversations");
	cr_assert_str_eq(a->token.identity, "alice");
	cr_assert_eq(u->accept, 0);
	cr_assert(has(u, CAUSE_UPDATE_MISMATCH));
	cr_assert_eq(u->code, 51215);
	cr_assert_str_eq(u->message, "update");
	wt_free(&b);
	fx_free(&f);
}

Test(session, update_for_another_service)
{
	struct fx f;
	fx_init(&f, "tsock.us1.twilio.com");
	char t1[4096], t2[4096];
	wt_token(t1, sizeof t1, "alice", WT_SYNC_GRANT, WT_NOW - 60, WT_NOW + 3600);
	wt_token(t2, sizeof t2, "alice",
		 "\"data_sync\":{\"service_sid\":\"IS00000000000000000000000000000000\"}", WT_NOW,
		 WT_NOW + 3600);
	struct wt_buf b = {0};
	tsock_frame(&b, "init", t1);
	tsock_frame(&b, "update", t2);
	cr_assert_eq(feed(&f, &b, WT_NOW), 2);
	cr_assert_eq(f.got->d[0].product, PRODUCT_SYNC);
	cr_assert(!has(&f.got->d[0], CAUSE_UPDATE_MISMATCH));
	cr_assert(has(&f.got->d[1], CAUSE_UPDATE_MISMATCH));
	wt_free(&b);
	fx_free(&f);
}

/* A Voice-only token on Twilsock: the product is Twilsock's (conversations),
 * never voice, and the text names the grants that are missing. */
Test(session, twilsock_voice_only_token)
{
	struct fx f;
	fx_init(&f, "tsock.us1.twilio.com");
	char t[4096];
	wt_token(t, sizeof t, "alice", WT_VOICE_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf b = {0};
	tsock_frame(&b, "init", t);
	cr_assert_eq(feed(&f, &b, WT_NOW), 1);
	const struct diag *d = &f.got->d[0];
	cr_assert_eq(d->product, PRODUCT_CONVERSATIONS, "product %s", product_name(d->product));
	cr_assert_eq(d->accept, 0);
	cr_assert_eq(d->code, 51215);
	cr_assert(has(d, CAUSE_GRANT_MISSING));
	int named = 0;
	for (size_t i = 0; i < d->ncauses; i++)
		if (d->causes[i].id == CAUSE_GRANT_MISSING)
			named = strstr(d->causes[i].text, "'chat' grant for Conversations") &&
				strstr(d->causes[i].text, "'data_sync' grant for Sync") &&
				strstr(d->causes[i].text, "only voice");
	cr_assert(named, "the text names the missing grants");
	/* and no Voice rule judged it: a Voice identity rule would not apply */
	cr_assert(!has(d, CAUSE_IDENTITY_INVALID));
	wt_free(&b);
	fx_free(&f);
}

Test(session, same_token_reported_once)
{
	struct fx f;
	fx_init(&f, "tsock.us1.twilio.com");
	char t1[4096];
	wt_token(t1, sizeof t1, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf b = {0};
	tsock_frame(&b, "init", t1);
	tsock_frame(&b, "update", t1);
	cr_assert_eq(feed(&f, &b, WT_NOW), 1);
	cr_assert_eq(feed(&f, &b, WT_NOW + 10), 0);
	cr_assert_eq(f.got->n, 1);
	wt_free(&b);
	fx_free(&f);
}

Test(session, expired_in_use_once)
{
	struct fx f;
	fx_init(&f, "tsock.us1.twilio.com");
	char t1[4096];
	wt_token(t1, sizeof t1, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 600);
	struct wt_buf b = {0}, ping = {0};
	tsock_frame(&b, "init", t1);
	tsock_frame(&ping, "ping", NULL);
	cr_assert_eq(feed(&f, &b, WT_NOW), 1);
	cr_assert_eq(f.got->d[0].accept, 1);
	cr_assert_eq(feed(&f, &ping, WT_NOW + 600), 0, "not yet expired");
	cr_assert_eq(feed(&f, &ping, WT_NOW + 600 + 1), 1, "past exp: refresh_missing");
	cr_assert_eq(f.got->d[1].event, DIAG_EV_LIFETIME);
	cr_assert(has(&f.got->d[1], CAUSE_REFRESH_MISSING));
	cr_assert(!has(&f.got->d[1], CAUSE_EXPIRED_IN_USE), "within the skew");
	cr_assert_eq(feed(&f, &ping, WT_NOW + 600 + 30), 0, "within the skew");
	cr_assert_eq(feed(&f, &ping, WT_NOW + 600 + 31), 1);
	const struct diag *d = &f.got->d[2];
	cr_assert_eq(d->event, DIAG_EV_LIFETIME);
	cr_assert(has(d, CAUSE_EXPIRED_IN_USE));
	cr_assert(!has(d, CAUSE_REFRESH_MISSING), "once per token");
	cr_assert_eq(d->accept, 1, "a warning");
	cr_assert_eq(d->channel, CHANNEL_TWILSOCK);
	cr_assert_str_eq(d->token.identity, "alice");
	cr_assert(strstr(d->causes[0].text, "2026-11-22T21:40:00Z"), "%s", d->causes[0].text);
	cr_assert_eq(feed(&f, &ping, WT_NOW + 900), 0, "once per connection");
	cr_assert(!session_passthrough(f.s));
	wt_free(&b);
	wt_free(&ping);
	fx_free(&f);
}

Test(session, update_before_expiry_stops_expired_in_use)
{
	struct fx f;
	fx_init(&f, "tsock.us1.twilio.com");
	char t1[4096], t2[4096];
	wt_token(t1, sizeof t1, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 600);
	wt_token(t2, sizeof t2, "alice", WT_CHAT_GRANT, WT_NOW + 500, WT_NOW + 4100);
	struct wt_buf a = {0}, u = {0}, ping = {0};
	tsock_frame(&a, "init", t1);
	tsock_frame(&u, "update", t2);
	tsock_frame(&ping, "ping", NULL);
	cr_assert_eq(feed(&f, &a, WT_NOW), 1);
	cr_assert_eq(feed(&f, &u, WT_NOW + 500), 1);
	cr_assert_eq(f.got->d[1].accept, 1, "same identity and service: no mismatch");
	cr_assert_eq(feed(&f, &ping, WT_NOW + 1000), 0);
	wt_free(&a);
	wt_free(&u);
	wt_free(&ping);
	fx_free(&f);
}

Test(session, expired_when_sent_is_not_in_use)
{
	struct fx f;
	fx_init(&f, "tsock.us1.twilio.com");
	char t1[4096];
	wt_token(t1, sizeof t1, "alice", WT_CHAT_GRANT, WT_NOW - 7200, WT_NOW - 3600);
	struct wt_buf b = {0}, ping = {0};
	tsock_frame(&b, "init", t1);
	tsock_frame(&ping, "ping", NULL);
	cr_assert_eq(feed(&f, &b, WT_NOW), 1);
	cr_assert(has(&f.got->d[0], CAUSE_EXPIRED));
	cr_assert_eq(f.got->d[0].code, 51215);
	cr_assert_eq(feed(&f, &ping, WT_NOW + 100), 0);
	wt_free(&b);
	wt_free(&ping);
	fx_free(&f);
}

Test(session, voice_video_and_region)
{
	struct fx f;
	fx_init(&f, "voice-js.roaming.twilio.com");
	char tv[4096];
	wt_token(tv, sizeof tv, "alice_1", WT_VOICE_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf b = {0}, m = {0};
	ws_open(&b, "voice-js.roaming.twilio.com", "/signal");
	wt_printf(&m, "{\"type\":\"listen\",\"version\":\"1.6\",\"payload\":{\"token\":\"%s\"}}", tv);
	wt_frame(&b, 1, 0, 1, m.p, m.n, 0);
	cr_assert_eq(feed(&f, &b, WT_NOW), 1);
	const struct diag *d = &f.got->d[0];
	cr_assert_eq(d->channel, CHANNEL_VOICE);
	cr_assert_eq(d->product, PRODUCT_VOICE);
	cr_assert_str_eq(d->message, "listen");
	cr_assert_eq(d->accept, 1, "%s", d->ncauses ? d->causes[0].text : "");
	fx_free(&f);

	/* a Twilsock host in ie1 with a us1 key: region */
	fx_init(&f, "tsock.ie1.twilio.com");
	char tc[4096];
	wt_token(tc, sizeof tc, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	b.n = 0;
	tsock_frame(&b, "init", tc);
	cr_assert_eq(feed(&f, &b, WT_NOW), 1);
	cr_assert(has(&f.got->d[0], CAUSE_REGION));
	cr_assert_eq(f.got->d[0].code, 51215);
	fx_free(&f);
	wt_free(&b);
	wt_free(&m);
}

Test(session, byte_by_byte_same_diagnoses)
{
	char t1[4096], t2[4096];
	wt_token(t1, sizeof t1, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	wt_token(t2, sizeof t2, "bob", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf b = {0};
	ws_open(&b, "tsock.us1.twilio.com", "/v3/wsconnect");
	tsock_frame(&b, "init", t1);
	tsock_frame(&b, "update", t2);
	struct fx f;
	fx_init(&f, NULL);
	int total = 0;
	for (size_t i = 0; i < b.n; i++)
		total += session_feed(f.s, b.p + i, 1, WT_NOW, collect, f.got);
	cr_assert_eq(total, 2);
	cr_assert(!has(&f.got->d[0], CAUSE_UPDATE_MISMATCH));
	cr_assert(has(&f.got->d[1], CAUSE_UPDATE_MISMATCH));
	cr_assert_str_eq(session_host(f.s), "tsock.us1.twilio.com");
	fx_free(&f);
	wt_free(&b);
}

Test(session, passthrough)
{
	struct fx f;
	fx_init(&f, NULL);
	static const unsigned char tls[] = {0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5};
	cr_assert_eq(session_feed(f.s, tls, sizeof tls, WT_NOW, collect, f.got), 0);
	cr_assert(session_passthrough(f.s));
	fx_free(&f);
}

/* A session parked (session_park) after every feed it can be, its block
 * scribbled over and made the session again (session_unpark), gives the
 * diagnoses of one whole feed: update_mismatch from the init's identity,
 * the same token reported once, expired_in_use from the parked watch. */
static void feed_parking(struct fx *f, const unsigned char *p, size_t n, size_t step, int64_t now, int *parks)
{
	static _Alignas(16) unsigned char park[SESSION_PARK_SIZE];
	for (size_t off = 0; off < n;) {
		size_t k = n - off < step ? n - off : step;
		session_feed(f->s, p + off, k, now, collect, f->got);
		off += k;
		if (session_park(f->s, park)) {
			(*parks)++;
			session_release(f->s);
			memset(f->s, 0xa5, session_sizeof());
			session_unpark(f->s, &f->cfg, park);
		}
	}
}

Test(session, parked_between_feeds_same_diagnoses)
{
	char t1[4096], t2[4096], t3[4096];
	wt_token(t1, sizeof t1, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	wt_token(t2, sizeof t2, "bob", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	wt_token(t3, sizeof t3, "alice", WT_CHAT_GRANT, WT_NOW, WT_NOW + 3000);
	struct wt_buf b = {0}, bin = {0}, later = {0};
	ws_open(&b, "tsock.us1.twilio.com", "/v3/wsconnect");
	tsock_frame(&b, "init", t1);
	tsock_frame(&b, "ping", NULL);
	static const char other[] = "\x01\x02\x03 not twilsock, skipped by length";
	wt_frame(&b, 1, 0, 2, other, sizeof other - 1, 0);
	tsock_frame(&b, "update", t2);
	tsock_frame(&b, "init", t1); /* seen: not again */
	tsock_frame(&b, "update", t3);
	tsock_frame(&later, "ping", NULL);

	struct fx whole;
	fx_init(&whole, NULL);
	cr_assert_eq(feed(&whole, &b, WT_NOW), 3);
	cr_assert_eq(feed(&whole, &later, WT_NOW + 3100), 1, "expired_in_use");

	static const size_t steps[] = { 1, 7, 64, 1000, 100000 };
	for (size_t si = 0; si < sizeof steps / sizeof steps[0]; si++) {
		struct fx f;
		fx_init(&f, NULL);
		int parks = 0;
		feed_parking(&f, b.p, b.n, steps[si], WT_NOW, &parks);
		feed_parking(&f, later.p, later.n, steps[si], WT_NOW + 3100, &parks);
		cr_assert_geq(parks, 2, "step %zu: parked between messages (%d)", steps[si], parks);
		cr_assert_eq(f.got->n, whole.got->n, "step %zu: %zu diagnoses, whole feed %zu", steps[si], f.got->n,
			     whole.got->n);
		for (size_t i = 0; i < f.got->n && i < MAXD; i++) {
			const struct diag *x = &f.got->d[i], *y = &whole.got->d[i];
			cr_assert_str_eq(x->message, y->message);
			cr_assert_eq(x->accept, y->accept, "step %zu diag %zu", steps[si], i);
			cr_assert_eq(x->ncauses, y->ncauses, "step %zu diag %zu", steps[si], i);
			for (size_t c = 0; c < x->ncauses; c++) {
				cr_assert_eq(x->causes[c].id, y->causes[c].id);
				cr_assert_str_eq(x->causes[c].text, y->causes[c].text);
			}
			cr_assert_str_eq(x->token.identity, y->token.identity);
		}
		cr_assert(has(&f.got->d[1], CAUSE_UPDATE_MISMATCH), "bob's update after a park");
		cr_assert(!has(&f.got->d[2], CAUSE_UPDATE_MISMATCH), "alice's update: the same identity");
		cr_assert(has(&f.got->d[3], CAUSE_EXPIRED_IN_USE));
		cr_assert_str_eq(session_host(f.s), "tsock.us1.twilio.com");
		fx_free(&f);
	}
	fx_free(&whole);
	wt_free(&b);
	wt_free(&bin);
	wt_free(&later);
}

Test(session, not_parked_before_a_token_or_mid_message)
{
	static _Alignas(16) unsigned char park[SESSION_PARK_SIZE];
	char t1[4096];
	wt_token(t1, sizeof t1, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct wt_buf b = {0};
	ws_open(&b, "tsock.us1.twilio.com", "/v3/wsconnect");
	struct fx f;
	fx_init(&f, NULL);
	feed(&f, &b, WT_NOW);
	cr_assert_eq(session_park(f.s, park), 0, "no token judged yet");
	b.n = 0;
	tsock_frame(&b, "init", t1);
	session_feed(f.s, b.p, b.n - 5, WT_NOW, collect, f.got);
	cr_assert_eq(session_park(f.s, park), 0, "inside a message");
	session_feed(f.s, b.p + b.n - 5, 5, WT_NOW, collect, f.got);
	cr_assert_eq(f.got->n, 1);
	cr_assert_eq(session_park(f.s, park), 1, "judged, between messages");
	fx_free(&f);
	wt_free(&b);
}
