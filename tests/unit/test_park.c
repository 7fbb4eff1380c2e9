/* Parking (decode/session.c: session_park, session_unpark) with both
 * directions read, and the wipe of a session block's used parts
 * (session_wipe), driven as the shim drives them (shim/shim.c): a session
 * parks after every feed that leaves it judged and at rest, its block is
 * released and wiped, the fast paths take what they can on the parked frame
 * states, and the next bytes they leave make it whole again. */
#include <criterion/criterion.h>
#include <nghttp2/nghttp2.h>
#include <string.h>

#include "decode/session.h"
#include "decode/wire_h2.h"
#include "decode/ws_frame.h"
#define MAXD 16 /* records kept per run */
#include "tests/unit/session_testlib.h"

/* A session in a block the way the shim holds one: the block, or (parked)
 * the park area alone. */
struct pk {
	struct keyring *kr;
	struct session_config cfg;
	struct session *s;
	struct got got;
	int parking;         /* park whenever it can */
	int parked;
	int parks, unparks;
	size_t park_max;     /* the most of the park area a park used */
	size_t nonzero;      /* bytes of a wiped block found not zero (all wipes) */
	_Alignas(16) unsigned char park[SESSION_PARK_SIZE];
};

static void pk_init(struct pk *k, int parking, const char *host)
{
	memset(k, 0, sizeof *k);
	k->kr = st_config(&k->cfg, WT_ACCOUNT);
	k->cfg.w.hpack = h2_hpack_static;
	k->parking = parking;
	k->s = st_session(&k->cfg, host);
}

/* Bytes of s[0..n) that are not zero. */
static size_t nonzero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += b[i] != 0;
	return k;
}

/* The block released and wiped: all zeros again. */
static void pk_wipe(struct pk *k)
{
	session_release(k->s);
	session_wipe(k->s);
	k->nonzero += nonzero(k->s, session_sizeof());
}

static void pk_settle(struct pk *k)
{
	if (!k->parking || k->parked || !session_park(k->s, k->park))
		return;
	size_t used = session_park_used(k->park);
	cr_assert_leq(used, SESSION_PARK_SIZE);
	if (used > k->park_max)
		k->park_max = used;
	pk_wipe(k);
	k->parked = 1;
	k->parks++;
}

static void pk_wake(struct pk *k)
{
	session_unpark(k->s, &k->cfg, k->park);
	k->parked = 0;
	k->unparks++;
}

static void pk_client(struct pk *k, const void *buf, size_t n, int64_t now)
{
	const unsigned char *p = buf;
	if (k->parked) {
		struct ws_frame *f = session_park_frame(k->park);
		size_t t = f->open && now <= session_park_due(k->park) ? ws_frame_take(f, p, n) : 0;
		p += t;
		n -= t;
		if (!n)
			return;
		pk_wake(k);
	}
	session_feed(k->s, p, n, now, collect, &k->got);
	pk_settle(k);
}

static void pk_server(struct pk *k, const void *buf, size_t n, int64_t now)
{
	const unsigned char *p = buf;
	size_t t = 0;
	if (k->parked) {
		if (!session_park_reads(k->park))
			return;
		if (now <= session_park_due(k->park))
			t = session_park_server_take(k->park, p, n);
	} else {
		struct ws_frame *f = session_server_frame(k->s);
		if (f && f->open && now <= session_watch_due(k->s))
			t = ws_frame_take(f, p, n);
	}
	p += t;
	n -= t;
	if (!n)
		return;
	if (k->parked)
		pk_wake(k);
	session_feed_server(k->s, p, n, now, collect, &k->got);
	pk_settle(k);
}

static void pk_free(struct pk *k)
{
	if (!k->parked)
		pk_wipe(k);
	free(k->s);
	keyring_free(k->kr);
}

/* One step of a conversation: bytes one way at a time. */
struct step {
	int server;
	int64_t now;
	struct wt_buf b;
};

/* Feeds every step in pieces of `piece` bytes. */
static void pk_run(struct pk *k, const struct step *st, size_t n, size_t piece)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t off = 0; off < st[i].b.n;) {
			size_t m = st[i].b.n - off < piece ? st[i].b.n - off : piece;
			if (st[i].server)
				pk_server(k, st[i].b.p + off, m, st[i].now);
			else
				pk_client(k, st[i].b.p + off, m, st[i].now);
			off += m;
		}
	}
}

static void tsock_text(struct wt_buf *m, const char *hdr, const char *payload)
{
	wt_printf(m, "TWILSOCK V3.0 %zu\r\n%s\r\n%s", strlen(hdr), hdr, payload ? payload : "");
}

static void cli_tsock(struct wt_buf *b, const char *id, const char *method, const char *tok)
{
	struct wt_buf m = {0};
	char hdr[8192];
	if (tok)
		snprintf(hdr, sizeof hdr, "{\"method\":\"%s\",\"id\":\"%s\",\"token\":\"%s\",\"payload_size\":0}", method,
			 id, tok);
	else
		snprintf(hdr, sizeof hdr, "{\"method\":\"%s\",\"id\":\"%s\",\"payload_size\":5}", method, id);
	tsock_text(&m, hdr, tok ? NULL : "hello");
	wt_frame(b, 1, 0, 2, m.p, m.n, 0);
	wt_free(&m);
}

static void ws_open(struct wt_buf *b, const char *ext)
{
	wt_printf(b,
		  "GET /v3/wsconnect HTTP/1.1\r\nHost: tsock.us1.twilio.com\r\nUpgrade: websocket\r\n"
		  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n%s"
		  "Sec-WebSocket-Version: 13\r\n\r\n",
		  ext);
}

#define UPGRADE_101 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"

/* A live Twilsock connection: the init's reply held back, then given, an
 * update for another identity answered, server traffic of every kind, the
 * warning and then silence past the newest token's exp, the client still
 * sending. */
static size_t twilsock_live(struct step *st)
{
	static char ta[4096], tb[4096];
	wt_token(ta, sizeof ta, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 600);
	wt_token(tb, sizeof tb, "bob", WT_CHAT_GRANT, WT_NOW + 100, WT_NOW + 600);
	size_t n = 0;
	unsigned char bulk[3000];
	memset(bulk, 'B', sizeof bulk);
	memset(st, 0, 16 * sizeof *st);
	st[n] = (struct step){ 0, WT_NOW, {0} };
	ws_open(&st[n].b, "");
	cli_tsock(&st[n].b, "TMinit", "init", ta);
	n++;
	st[n] = (struct step){ 1, WT_NOW, {0} };
	wt_printf(&st[n].b, UPGRADE_101);
	n++;
	/* the reply still awaited: client messages, server bulk and messages */
	st[n] = (struct step){ 0, WT_NOW + 1, {0} };
	cli_tsock(&st[n].b, "TMp1", "ping", NULL);
	wt_frame(&st[n].b, 1, 0, 2, bulk, sizeof bulk, 0);
	n++;
	st[n] = (struct step){ 1, WT_NOW + 1, {0} };
	wt_srv_frame(&st[n].b, 0, 2, bulk, sizeof bulk);
	wt_srv_frame(&st[n].b, 0, 9, "", 0);
	wt_srv_reply(&st[n].b, "TMp1", 200, 0, ""); /* another id: no answer */
	wt_srv_tsock(&st[n].b, "{\"method\":\"message\",\"id\":\"TMm\",\"payload_size\":0}");
	n++;
	st[n] = (struct step){ 1, WT_NOW + 2, {0} };
	wt_srv_reply(&st[n].b, "TMinit", 200, 0, "");
	wt_srv_frame(&st[n].b, 0, 2, bulk, 500);
	n++;
	st[n] = (struct step){ 0, WT_NOW + 100, {0} };
	cli_tsock(&st[n].b, "TMupd", "update", tb);
	n++;
	st[n] = (struct step){ 1, WT_NOW + 101, {0} };
	wt_srv_reply(&st[n].b, "TMupd", 200, 0, "");
	n++;
	st[n] = (struct step){ 1, WT_NOW + 420, {0} };
	wt_srv_tsock(&st[n].b, "{\"method\":\"client_update\",\"id\":\"TMw\",\"client_update_type\":\"token_about_to_expire\"}");
	n++;
	st[n] = (struct step){ 1, WT_NOW + 590, {0} };
	wt_srv_frame(&st[n].b, 0, 9, "", 0);
	n++;
	st[n] = (struct step){ 1, WT_NOW + 601, {0} };
	wt_srv_frame(&st[n].b, 0, 9, "", 0);
	n++;
	st[n] = (struct step){ 0, WT_NOW + 700, {0} };
	cli_tsock(&st[n].b, "TMp2", "ping", NULL);
	n++;
	return n;
}

static void steps_free(struct step *st, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wt_free(&st[i].b);
}

static void same_records(const struct got *a, const struct got *b, const char *what)
{
	cr_assert_eq(a->n, b->n, "%s: %zu records, whole %zu", what, a->n, b->n);
	for (size_t i = 0; i < a->n && i < MAXD; i++) {
		const struct diag *x = &a->d[i], *y = &b->d[i];
		cr_assert_eq(x->event, y->event, "%s: record %zu", what, i);
		cr_assert_str_eq(x->message, y->message, "%s: record %zu", what, i);
		cr_assert_eq(x->accept, y->accept, "%s: record %zu", what, i);
		cr_assert_eq(x->ncauses, y->ncauses, "%s: record %zu", what, i);
		for (size_t c = 0; c < x->ncauses; c++) {
			cr_assert_eq(x->causes[c].id, y->causes[c].id, "%s: record %zu", what, i);
			cr_assert_str_eq(x->causes[c].text, y->causes[c].text);
		}
		cr_assert_eq(x->answer.status, y->answer.status, "%s: record %zu", what, i);
		cr_assert_eq(x->answer.code, y->answer.code);
		cr_assert_eq(x->answer.server_accept, y->answer.server_accept);
		cr_assert_str_eq(x->token.identity, y->token.identity);
		cr_assert_str_eq(x->token.fingerprint, y->token.fingerprint);
		cr_assert_eq(x->token.exp, y->token.exp);
	}
}

static int has(const struct diag *d, enum cause_id id)
{
	return diag_has(d, id);
}

Test(park, twilsock_live_both_directions_same_records)
{
	struct step st[16];
	size_t n = twilsock_live(st);
	struct pk whole;
	pk_init(&whole, 0, "tsock.us1.twilio.com");
	pk_run(&whole, st, n, SIZE_MAX);
	/* init, the init's answer, the update (update_mismatch) and its answer
	 * (server_accepted), refresh_missing, expired_in_use */
	cr_assert_eq(whole.got.n, 6, "%zu records", whole.got.n);
	cr_assert_eq(whole.got.d[1].event, DIAG_EV_ANSWER);
	cr_assert_str_eq(whole.got.d[1].message, "init");
	cr_assert(has(&whole.got.d[2], CAUSE_UPDATE_MISMATCH));
	cr_assert_eq(whole.got.d[3].event, DIAG_EV_ANSWER);
	cr_assert(has(&whole.got.d[3], CAUSE_SERVER_ACCEPTED));
	cr_assert(has(&whole.got.d[4], CAUSE_REFRESH_MISSING));
	cr_assert(strstr(whole.got.d[4].causes[0].text, "token_about_to_expire"), "%s", whole.got.d[4].causes[0].text);
	cr_assert(has(&whole.got.d[5], CAUSE_EXPIRED_IN_USE));
	static const size_t pieces[] = { 1, 5, 64, 700, SIZE_MAX };
	for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
		struct pk k;
		pk_init(&k, 1, "tsock.us1.twilio.com");
		pk_run(&k, st, n, pieces[i]);
		char what[32];
		snprintf(what, sizeof what, "pieces of %zu", pieces[i]);
		same_records(&k.got, &whole.got, what);
		cr_assert_geq(k.parks, 5, "%s: parked %d times", what, k.parks);
		cr_assert_eq(k.nonzero, 0, "%s: %zu bytes left in wiped blocks", what, k.nonzero);
		cr_assert_leq(k.park_max, SESSION_PARK_SIZE);
		pk_free(&k);
	}
	pk_free(&whole);
	steps_free(st, n);
}

/* A conversation with a few bits changed anywhere, fed at random pieces:
 * parked or in its block, the same records, and every wiped block all zeros
 * (whatever state the changed bytes drive the decoders into; a server
 * direction given up still feeds the lifetime checks). */
static void mutated_rounds(const struct step *st, size_t n, int rounds, uint64_t seed, const char *host)
{
	struct step mut[16];
	for (int round = 0; round < rounds; round++) {
		for (size_t i = 0; i < n; i++) {
			mut[i] = st[i];
			mut[i].b.p = malloc(st[i].b.n);
			memcpy(mut[i].b.p, st[i].b.p, st[i].b.n);
		}
		int flips = 1 + (int)(wt_rand(&seed) % 6);
		for (int f = 0; f < flips; f++) {
			size_t i = wt_rand(&seed) % n;
			if (mut[i].b.n)
				mut[i].b.p[wt_rand(&seed) % mut[i].b.n] ^= (unsigned char)(1u << (wt_rand(&seed) % 8));
		}
		size_t piece = 1 + wt_rand(&seed) % 300;
		/* the same pieces in a block: parking alone differs */
		struct pk whole, k;
		pk_init(&whole, 0, host);
		pk_init(&k, 1, host);
		pk_run(&whole, mut, n, piece);
		pk_run(&k, mut, n, piece);
		char what[48];
		snprintf(what, sizeof what, "round %d, pieces of %zu", round, piece);
		same_records(&k.got, &whole.got, what);
		pk_free(&k);
		pk_free(&whole);
		cr_assert_eq(k.nonzero, 0, "%s: %zu bytes left in wiped blocks", what, k.nonzero);
		cr_assert_eq(whole.nonzero, 0, "%s: %zu bytes left in the block", what, whole.nonzero);
		for (size_t i = 0; i < n; i++)
			free(mut[i].b.p);
	}
}

Test(park, mutated_conversations_same_records)
{
	struct step st[16];
	size_t n = twilsock_live(st);
	mutated_rounds(st, n, 300, 13, "tsock.us1.twilio.com");
	steps_free(st, n);
	/* HTTP keep-alive and SIP: requests with tokens, their responses */
	char t1[4096], t2[4096];
	wt_token(t1, sizeof t1, "alice", WT_VOICE_GRANT, WT_NOW - 60, WT_NOW + 600);
	wt_token(t2, sizeof t2, "alice", WT_VOICE_GRANT, WT_NOW + 500, WT_NOW + 4000);
	const char *body = "{\"code\":20103,\"message\":\"Invalid\",\"status\":401}";
	memset(st, 0, sizeof st);
	n = 0;
	st[n] = (struct step){ 0, WT_NOW, {0} };
	wt_printf(&st[n++].b, "GET /a HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: %s\r\n\r\n", t1);
	st[n] = (struct step){ 1, WT_NOW, {0} };
	wt_printf(&st[n++].b, "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		  strlen(body), body);
	st[n] = (struct step){ 0, WT_NOW + 500, {0} };
	wt_printf(&st[n++].b, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n{\"token\":\"%s\"}",
		  strlen(t2) + 12, t2);
	st[n] = (struct step){ 1, WT_NOW + 501, {0} };
	wt_printf(&st[n++].b, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
	st[n] = (struct step){ 0, WT_NOW + 5000, {0} };
	wt_printf(&st[n++].b, "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
	mutated_rounds(st, n, 300, 7, "api.twilio.com");
	steps_free(st, n);
	n = 0;
	st[n] = (struct step){ 0, WT_NOW, {0} };
	wt_printf(&st[n++].b, "REGISTER sip:x SIP/2.0\r\nCSeq: 1 REGISTER\r\nX-Twilio-AccessToken: %s\r\nContent-Length: 0\r\n\r\n", t1);
	st[n] = (struct step){ 1, WT_NOW, {0} };
	wt_printf(&st[n++].b, "SIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\nSIP/2.0 403 Forbidden\r\nX-Twilio-Error: 20104 Expired\r\nContent-Length: 0\r\n\r\n");
	st[n] = (struct step){ 0, WT_NOW + 700, {0} };
	wt_printf(&st[n++].b, "OPTIONS sip:x SIP/2.0\r\nCSeq: 2 OPTIONS\r\nContent-Length: 0\r\n\r\n");
	mutated_rounds(st, n, 200, 5, NULL);
	steps_free(st, n);
}

/* Parked while the init's answer is awaited, and the fast paths take the
 * bulk both ways without making the session whole. */
Test(park, parked_with_the_answer_awaited)
{
	char ta[4096];
	wt_token(ta, sizeof ta, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct pk k;
	pk_init(&k, 1, "tsock.us1.twilio.com");
	struct wt_buf c = {0}, s = {0}, cb = {0}, sb = {0}, r = {0};
	ws_open(&c, "");
	cli_tsock(&c, "TMinit", "init", ta);
	wt_printf(&s, UPGRADE_101);
	pk_client(&k, c.p, c.n, WT_NOW);
	cr_assert(k.parked, "judged, the server's direction at rest before its first byte");
	pk_server(&k, s.p, s.n, WT_NOW);
	cr_assert(k.parked, "after the 101");
	cr_assert(session_park_reads(k.park), "the server's frames are read");
	unsigned char bulk[2000];
	memset(bulk, 'x', sizeof bulk);
	wt_frame(&cb, 1, 0, 2, bulk, sizeof bulk, 0);
	cli_tsock(&cb, "TMp", "ping", NULL);
	wt_srv_frame(&sb, 0, 2, bulk, sizeof bulk);
	wt_srv_frame(&sb, 0, 10, "", 0);
	int unparks = k.unparks;
	for (int i = 0; i < 10; i++) {
		pk_client(&k, cb.p, cb.n, WT_NOW + 1);
		pk_server(&k, sb.p, sb.n, WT_NOW + 1);
	}
	cr_assert_eq(k.unparks, unparks, "bulk and token-less messages taken on the parked state");
	cr_assert_eq(k.got.n, 1);
	wt_srv_reply(&r, "TMinit", 401, 20104, "Access Token expired");
	pk_server(&k, r.p, r.n, WT_NOW + 2);
	cr_assert_eq(k.got.n, 2, "the answer matched after parking");
	cr_assert_eq(k.got.d[1].event, DIAG_EV_ANSWER);
	cr_assert_eq(k.got.d[1].answer.code, 20104);
	cr_assert(has(&k.got.d[1], CAUSE_SERVER_REJECTED));
	cr_assert_str_eq(k.got.d[1].token.identity, "alice");
	cr_assert(k.parked);
	/* answered: replies to other messages and the server's own messages
	 * are read past on the parked state; a client_update is read */
	struct wt_buf o = {0}, w = {0};
	wt_srv_reply(&o, "TMp", 200, 0, "");
	wt_srv_tsock(&o, "{\"method\":\"message\",\"id\":\"TMn\",\"payload_size\":0}");
	wt_srv_frame(&o, 0, 1, "{\"type\":\"connected\"}", 20);
	unparks = k.unparks;
	for (int i = 0; i < 10; i++)
		pk_server(&k, o.p, o.n, WT_NOW + 3);
	cr_assert_eq(k.unparks, unparks, "read past while parked: %d unparks, due %lld", k.unparks - unparks, (long long)session_park_due(k.park));
	wt_srv_tsock(&w, "{\"method\":\"client_update\",\"id\":\"TMw\",\"client_update_type\":\"token_about_to_expire\"}");
	pk_server(&k, w.p, w.n, WT_NOW + 4);
	cr_assert_eq(k.unparks, unparks + 1, "a client_update is read");
	cr_assert(k.parked);
	cr_assert_eq(k.got.n, 2);
	wt_free(&o);
	wt_free(&w);
	/* what a judged, live connection keeps */
	cr_assert_leq(session_park_used(k.park), 1024, "%zu bytes parked", session_park_used(k.park));
	cr_assert_eq(k.nonzero, 0);
	pk_free(&k);
	wt_free(&c);
	wt_free(&s);
	wt_free(&cb);
	wt_free(&sb);
	wt_free(&r);
}

/* A realistic history fits with room to spare: a 30-character identity,
 * chat and sync services, the init answered and an update awaiting its
 * reply. */
Test(park, realistic_history_fits)
{
	const char *id = "alice.smith.0123@example.com.x";
	char ta[4096], tb[4096];
	wt_token(ta, sizeof ta, id, WT_CHAT_GRANT "," WT_SYNC_GRANT, WT_NOW - 60, WT_NOW + 3600);
	wt_token(tb, sizeof tb, id, WT_CHAT_GRANT "," WT_SYNC_GRANT, WT_NOW + 3000, WT_NOW + 6600);
	struct pk k;
	pk_init(&k, 1, "tsock.us1.twilio.com");
	struct wt_buf c = {0}, s = {0}, u = {0};
	ws_open(&c, "");
	cli_tsock(&c, "TMinit-0123456789abcdef0123456789", "init", ta);
	wt_printf(&s, UPGRADE_101);
	wt_srv_reply(&s, "TMinit-0123456789abcdef0123456789", 200, 0, "");
	cli_tsock(&u, "TMupdate-0123456789abcdef01234567", "update", tb);
	pk_client(&k, c.p, c.n, WT_NOW);
	pk_server(&k, s.p, s.n, WT_NOW);
	pk_client(&k, u.p, u.n, WT_NOW + 3000);
	cr_assert_eq(k.got.n, 3, "init, its answer, the update");
	cr_assert(k.parked, "the update awaits its reply, parked");
	size_t used = session_park_used(k.park);
	cr_assert_leq(used, SESSION_PARK_SIZE - 256, "%zu of %d bytes", used, SESSION_PARK_SIZE);
	pk_free(&k);
	wt_free(&c);
	wt_free(&s);
	wt_free(&u);
}

/* More history than the park area holds (eight questions open, each with a
 * long identity): the session keeps its block and goes on. */
Test(park, too_much_history_keeps_the_block)
{
	struct pk k;
	pk_init(&k, 1, "tsock.us1.twilio.com");
	struct wt_buf c = {0};
	ws_open(&c, "");
	char id[250], t[4096], mid[16];
	for (int i = 0; i < 8; i++) {
		memset(id, 'a' + i, sizeof id - 1);
		id[sizeof id - 1] = 0;
		wt_token(t, sizeof t, id, WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600 + i);
		snprintf(mid, sizeof mid, "TMq%d", i);
		cli_tsock(&c, mid, i ? "update" : "init", t);
	}
	pk_client(&k, c.p, c.n, WT_NOW);
	cr_assert_eq(k.got.n, 8);
	cr_assert(session_at_rest(k.s));
	cr_assert(!k.parked, "does not fit");
	struct wt_buf s = {0};
	wt_printf(&s, UPGRADE_101);
	wt_srv_reply(&s, "TMq7", 200, 0, "");
	pk_server(&k, s.p, s.n, WT_NOW + 1);
	cr_assert_eq(k.got.n, 9, "answered from the block");
	pk_free(&k);
	cr_assert_eq(k.nonzero, 0);
	wt_free(&c);
	wt_free(&s);
}

/* A permessage-deflate connection parks only between messages of a
 * direction that resets its context per message (no_context_takeover);
 * with context takeover it keeps its block. */
Test(park, deflate_parks_only_without_context_takeover)
{
	char ta[4096];
	wt_token(ta, sizeof ta, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	for (int noctx = 0; noctx <= 1; noctx++) {
		struct pk k;
		pk_init(&k, 1, "tsock.us1.twilio.com");
		struct wt_buf c = {0}, s = {0}, m = {0}, z = {0}, s2 = {0};
		ws_open(&c, noctx ? "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; "
				    "server_no_context_takeover\r\n"
				  : "Sec-WebSocket-Extensions: permessage-deflate\r\n");
		char hdr[8192];
		snprintf(hdr, sizeof hdr, "{\"method\":\"init\",\"id\":\"TMz\",\"token\":\"%s\",\"payload_size\":0}", ta);
		tsock_text(&m, hdr, NULL);
		z_stream zs;
		memset(&zs, 0, sizeof zs);
		deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
		wt_deflate(&zs, m.p, m.n, &z);
		wt_frame(&c, 1, 1, 2, z.p, z.n, 0);
		pk_client(&k, c.p, c.n, WT_NOW);
		cr_assert_eq(k.got.n, 1);
		cr_assert_eq(k.parked, noctx, "no_context_takeover %d", noctx);
		wt_printf(&s, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			      "Sec-WebSocket-Extensions: permessage-deflate%s\r\n\r\n",
			  noctx ? "; client_no_context_takeover; server_no_context_takeover" : "");
		pk_server(&k, s.p, s.n, WT_NOW);
		/* the server's compressed reply */
		struct wt_buf rm = {0}, rz = {0};
		tsock_text(&rm, "{\"method\":\"reply\",\"id\":\"TMz\",\"status\":{\"code\":401,\"status\":\"UNAUTHORIZED\","
				"\"errorCode\":20103,\"description\":\"Invalid\"},\"payload_size\":0}", NULL);
		z_stream zr;
		memset(&zr, 0, sizeof zr);
		deflateInit2(&zr, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
		wt_deflate(&zr, rm.p, rm.n, &rz);
		wt_srv_frame(&s2, 1, 2, rz.p, rz.n);
		pk_server(&k, s2.p, s2.n, WT_NOW + 1);
		cr_assert_eq(k.got.n, 2, "the compressed answer read");
		cr_assert_eq(k.got.d[1].answer.code, 20103);
		cr_assert_eq(k.parked, noctx, "no_context_takeover %d, after the answer", noctx);
		pk_free(&k);
		cr_assert_eq(k.nonzero, 0, "no_context_takeover %d", noctx);
		deflateEnd(&zs);
		deflateEnd(&zr);
		wt_free(&c);
		wt_free(&s);
		wt_free(&m);
		wt_free(&z);
		wt_free(&s2);
		wt_free(&rm);
		wt_free(&rz);
	}
}

/* ---- the wipe: every kind of traffic leaves an all-zero block ---- */

static void h2_frame(struct wt_buf *b, uint8_t type, uint8_t flags, uint32_t stream, const void *p, size_t n)
{
	uint8_t h[9] = {(uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, type, flags,
			(uint8_t)(stream >> 24), (uint8_t)(stream >> 16), (uint8_t)(stream >> 8), (uint8_t)stream};
	wt_put(b, h, 9);
	if (n)
		wt_put(b, p, n);
}

static void h2_block(struct wt_buf *b, nghttp2_hd_deflater *def, uint32_t stream, const char *const *nv2,
		     size_t nnv, int end_stream)
{
	nghttp2_nv nv[8];
	for (size_t i = 0; i < nnv; i++)
		nv[i] = (nghttp2_nv){ (uint8_t *)nv2[2 * i], (uint8_t *)nv2[2 * i + 1], strlen(nv2[2 * i]),
				      strlen(nv2[2 * i + 1]), NGHTTP2_NV_FLAG_NONE };
	uint8_t blk[8192];
	ssize_t n = nghttp2_hd_deflate_hd(def, blk, sizeof blk, nv, nnv);
	cr_assert_gt(n, 0);
	h2_frame(b, 1, (uint8_t)(0x4 | (end_stream ? 1 : 0)), stream, blk, (size_t)n);
}

/* Each case: a client's and a server's bytes, fed whole and at pieces, with
 * and without parking: the wiped block is all zeros. */
Test(park, wipe_leaves_no_byte)
{
	char t[4096], auth[4200];
	wt_token(t, sizeof t, "alice", WT_CHAT_GRANT, WT_NOW - 7200, WT_NOW - 3600);
	snprintf(auth, sizeof auth, "Bearer %s", t);
	enum { NCASE = 7 };
	struct wt_buf c[NCASE] = {{0}}, s[NCASE] = {{0}};
	const char *name[NCASE] = { "http", "twilsock", "deflate", "raw", "sip", "h2", "voice" };
	/* HTTP: a header, a JSON body, a chunked body; a 401 with a JSON body */
	wt_printf(&c[0], "POST /v1/x HTTP/1.1\r\nHost: conversations.twilio.com\r\nX-Twilio-Token: %s\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n{\"token\":\"%s\"}",
		  t, strlen(t) + 12, t);
	wt_printf(&c[0], "POST /v1/y HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n{\"token\":\"%s\"}\r\n0\r\n\r\n",
		  strlen(t) + 12, t);
	const char *body = "{\"code\":20104,\"message\":\"Access Token expired or expiration date invalid\",\"status\":401}";
	for (int i = 0; i < 2; i++)
		wt_printf(&s[0], "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			  strlen(body), body);
	/* Twilsock, uncompressed */
	ws_open(&c[1], "");
	cli_tsock(&c[1], "TMa", "init", t);
	cli_tsock(&c[1], "TMb", "ping", NULL);
	wt_printf(&s[1], UPGRADE_101);
	wt_srv_reply(&s[1], "TMa", 401, 20104, "Access Token expired");
	/* permessage-deflate both ways, context takeover */
	{
		ws_open(&c[2], "Sec-WebSocket-Extensions: permessage-deflate\r\n");
		struct wt_buf m = {0}, z = {0};
		char hdr[8192];
		snprintf(hdr, sizeof hdr, "{\"method\":\"init\",\"id\":\"TMz\",\"token\":\"%s\",\"payload_size\":0}", t);
		tsock_text(&m, hdr, NULL);
		z_stream zs;
		memset(&zs, 0, sizeof zs);
		deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
		wt_deflate(&zs, m.p, m.n, &z);
		wt_frame(&c[2], 1, 1, 2, z.p, z.n, 0);
		deflateEnd(&zs);
		wt_printf(&s[2], "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
				 "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
		m.n = z.n = 0;
		tsock_text(&m, "{\"method\":\"reply\",\"id\":\"TMz\",\"status\":{\"code\":200,\"status\":\"OK\"},\"payload_size\":0}",
			   NULL);
		memset(&zs, 0, sizeof zs);
		deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
		wt_deflate(&zs, m.p, m.n, &z);
		wt_srv_frame(&s[2], 1, 2, z.p, z.n);
		deflateEnd(&zs);
		wt_free(&m);
		wt_free(&z);
	}
	/* a token in an unknown text stream */
	wt_printf(&c[3], "hello %s there\n", t);
	/* SIP */
	wt_printf(&c[4], "REGISTER sip:x SIP/2.0\r\nCSeq: 1 REGISTER\r\nX-Twilio-AccessToken: %s\r\nContent-Length: 0\r\n\r\n", t);
	wt_printf(&s[4], "SIP/2.0 403 Forbidden\r\nX-Twilio-Error: 20104 Expired\r\nContent-Length: 0\r\n\r\n");
	/* HTTP/2 with prior knowledge, the token in a header; the 401 and its body */
	{
		nghttp2_hd_deflater *dc, *ds;
		nghttp2_hd_deflate_new(&dc, 4096);
		nghttp2_hd_deflate_new(&ds, 4096);
		wt_puts(&c[5], "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
		h2_frame(&c[5], 4, 0, 0, NULL, 0);
		const char *req[] = { ":method", "GET", ":scheme", "https", ":path", "/v1/Services",
				      ":authority", "conversations.twilio.com", "authorization", auth };
		h2_block(&c[5], dc, 1, req, 5, 1);
		h2_frame(&s[5], 4, 0, 0, NULL, 0);
		const char *resp[] = { ":status", "401", "content-type", "application/json" };
		h2_block(&s[5], ds, 1, resp, 2, 0);
		h2_frame(&s[5], 0, 1, 1, body, strlen(body));
		nghttp2_hd_deflate_del(dc);
		nghttp2_hd_deflate_del(ds);
	}
	/* Voice signalling */
	wt_printf(&c[6], "GET /signal HTTP/1.1\r\nHost: voice-js.roaming.twilio.com\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Key: a\r\nSec-WebSocket-Version: 13\r\n\r\n");
	{
		char v[4096], m[4300];
		wt_token(v, sizeof v, "alice_1", WT_VOICE_GRANT, WT_NOW - 7200, WT_NOW - 3600);
		int mn = snprintf(m, sizeof m, "{\"type\":\"listen\",\"version\":\"1.6\",\"payload\":{\"token\":\"%s\"}}", v);
		wt_frame(&c[6], 1, 0, 1, m, (size_t)mn, 0);
		wt_printf(&s[6], UPGRADE_101);
		const char *err = "{\"type\":\"error\",\"payload\":{\"error\":{\"code\":31205,\"message\":\"JWT token expired\"}}}";
		wt_srv_frame(&s[6], 0, 1, err, strlen(err));
	}
	static const size_t pieces[] = { 1, 13, 500, SIZE_MAX };
	/* the records each case gives: its token's (one per token and connection), and the
	 * server's answer (none for the raw stream) */
	static const size_t want[NCASE] = { 2, 2, 2, 1, 2, 2, 2 };
	for (int i = 0; i < NCASE; i++) {
		for (size_t pi = 0; pi < sizeof pieces / sizeof pieces[0]; pi++) {
			struct got ref = {0};
			for (int parking = 0; parking <= 1; parking++) {
				struct pk k;
				pk_init(&k, parking, NULL);
				struct step st[2] = { { 0, WT_NOW, c[i] }, { 1, WT_NOW, s[i] } };
				pk_run(&k, st, s[i].n ? 2 : 1, pieces[pi]);
				cr_assert_eq(k.got.n, want[i], "%s, pieces of %zu, parking %d: %zu records", name[i],
					     pieces[pi], parking, k.got.n);
				/* deflate with context takeover, a raw stream, HTTP/2: never at rest */
				int parks = i != 2 && i != 3 && i != 5;
				cr_assert_eq(parking && k.parks > 0, parking && parks, "%s, pieces of %zu: %d parks", name[i],
					     pieces[pi], k.parks);
				if (!parking)
					ref = k.got;
				else
					same_records(&k.got, &ref, name[i]);
				pk_free(&k);
				cr_assert_eq(k.nonzero, 0, "%s, pieces of %zu, parking %d: %zu bytes left", name[i],
					     pieces[pi], parking, k.nonzero);
			}
		}
		wt_free(&c[i]);
		wt_free(&s[i]);
	}
}

/* A listen, then a register in a write of its own (the connection parks
 * between them), then the register's early 31204 and the listen's
 * connected: the register count survives the park, so the 31204 is not
 * taken for the listen's answer. */
Test(park, voice_register_count_across_park)
{
	char v[4096], m[4300];
	wt_token(v, sizeof v, "alice", WT_VOICE_GRANT, WT_NOW - 60, WT_NOW + 3540);
	int mn = snprintf(m, sizeof m, "{\"type\":\"listen\",\"version\":\"1.6\",\"payload\":{\"token\":\"%s\"}}", v);
	const char *reg = "{\"payload\":{\"media\":{\"audio\":true}},\"type\":\"register\",\"version\":\"1.6\"}";
	const char *e31204 = "{\"type\":\"error\",\"payload\":{\"error\":{\"code\":31204,\"message\":\"JWT is invalid\"}}}";
	const char *conn = "{\"type\":\"connected\",\"payload\":{\"region\":\"gll\"}}";
	struct step st[4];
	memset(st, 0, sizeof st);
	st[0] = (struct step){ 0, WT_NOW, {0} };
	wt_printf(&st[0].b, "GET /signal HTTP/1.1\r\nHost: voice-js.roaming.twilio.com\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Key: a\r\nSec-WebSocket-Version: 13\r\n\r\n");
	wt_frame(&st[0].b, 1, 0, 1, m, (size_t)mn, 0);
	st[1] = (struct step){ 1, WT_NOW, {0} };
	wt_printf(&st[1].b, UPGRADE_101);
	st[2] = (struct step){ 0, WT_NOW, {0} };
	wt_frame(&st[2].b, 1, 0, 1, reg, strlen(reg), 0);
	st[3] = (struct step){ 1, WT_NOW, {0} };
	wt_srv_frame(&st[3].b, 0, 1, e31204, strlen(e31204));
	wt_srv_frame(&st[3].b, 0, 1, conn, strlen(conn));
	struct got ref = {0};
	for (int parking = 0; parking <= 1; parking++) {
		struct pk k;
		pk_init(&k, parking, NULL);
		pk_run(&k, st, 4, SIZE_MAX);
		if (!parking)
			ref = k.got;
		else {
			cr_assert_gt(k.parks, 0);
			same_records(&k.got, &ref, "voice");
		}
		pk_free(&k);
	}
	cr_assert_eq(ref.n, 2);
	cr_assert_eq(ref.d[1].answer.server_accept, 1);
	steps_free(st, 4);
}
