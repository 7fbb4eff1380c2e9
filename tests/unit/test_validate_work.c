/* The validator with the caller's work area (validate_ex), the product chosen
 * for a session's channel (vconfig.choose_product), diag_init on a used
 * diagnosis, and the shim's path (session -> validate -> reporter -> sinks)
 * on a thread with a small stack. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "decode/session.h"
#include "report/reporter.h"
#include "tests/unit/token_peek.h"
#include "tests/unit/wire_testlib.h"

#define IPM_GRANT "\"ip_messaging\":{\"service_sid\":\"" WT_CHAT_IS "\"}"

static struct keyring *vw_keys(void)
{
	struct keyring *kr = keyring_new();
	struct tk_error err = {0};
	cr_assert_eq(keyring_add(kr, WT_KEY, WT_SECRET, strlen(WT_SECRET), &err), 0, "%s", err.msg);
	return kr;
}

static void vw_cfg(struct vconfig *v, const struct keyring *kr)
{
	vconfig_init(v);
	v->keys = kr;
	v->account_sid = WT_ACCOUNT;
}

/* The diagnosis as the json sink writes it: every field a reader sees. */
static void vw_json(const struct diag *d, char *buf, size_t cap)
{
	report_format_json(buf, cap, d, NULL);
}

Test(validate_work, defaults_keep_old_auto_mode)
{
	struct vconfig v;
	vconfig_init(&v);
	cr_assert_eq(v.channel, CHANNEL_UNKNOWN);
	cr_assert_eq(v.choose_product, 0);
	cr_assert_geq(sizeof(struct validate_work), (size_t)TOKEN_MAX_LEN);
}

Test(validate_work, ex_matches_validate)
{
	struct keyring *kr = vw_keys();
	struct vconfig v;
	vw_cfg(&v, kr);
	char t[4096], wrapped[4200];
	wt_token(t, sizeof t, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	snprintf(wrapped, sizeof wrapped, "{\"identity\":\"alice\",\"token\":\"%s\"}", t);
	const char *cases[] = {t, wrapped, "not a token", "eyJhbGciOi.x.y", ""};
	struct validate_work *w = malloc(sizeof(struct validate_work));
	struct diag *a = malloc(sizeof *a), *b = malloc(sizeof *b);
	static char ja[REPORT_RECORD_MAX], jb[REPORT_RECORD_MAX];
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		memset(w, 0x5a, sizeof *w); /* leftovers of an earlier call must not matter */
		int ra = validate(cases[i], strlen(cases[i]), WT_NOW, &v, a);
		int rb = validate_ex(cases[i], strlen(cases[i]), WT_NOW, &v, b, w);
		cr_expect_eq(ra, rb, "case %zu", i);
		vw_json(a, ja, sizeof ja);
		vw_json(b, jb, sizeof jb);
		cr_expect_str_eq(ja, jb, "case %zu", i);
		struct token_summary pa, pb;
		memset(w, 0x5a, sizeof *w);
		cr_expect_eq(tv_peek(cases[i], strlen(cases[i]), &pa),
			     tv_peek_in(cases[i], strlen(cases[i]), &pb, w), "case %zu", i);
		cr_expect_eq(memcmp(&pa, &pb, sizeof pa), 0, "case %zu: the parse in a used work area differs", i);
	}
	free(a);
	free(b);
	free(w);
	keyring_free(kr);
}

/* diag_init leaves the causes as they were: a diagnosis made into a used
 * struct reads exactly as one made into a zeroed one. */
Test(validate_work, diag_reused_reads_as_fresh)
{
	struct keyring *kr = vw_keys();
	struct vconfig v;
	vw_cfg(&v, kr);
	char t1[4096], t2[4096];
	wt_token(t1, sizeof t1, "", "", WT_NOW + 7200, WT_NOW + 200000); /* many causes */
	wt_token(t2, sizeof t2, "alice", WT_SYNC_GRANT, WT_NOW - 60, WT_NOW + 3600);
	struct diag *used = malloc(sizeof *used), *fresh = calloc(1, sizeof *fresh);
	memset(used, 0xa5, sizeof *used);
	diag_init(used, 42);
	cr_assert_eq(used->ncauses, 0);
	cr_assert_eq(used->accept, 1);
	cr_assert_eq(used->code, 0);
	cr_assert_eq(used->time, 42);
	cr_assert_null(used->message);
	cr_assert_eq(used->product, PRODUCT_UNKNOWN);
	cr_assert_eq(used->channel, CHANNEL_UNKNOWN);
	cr_assert_str_empty(used->causes[0].text);
	static const struct token_summary zero;
	cr_assert_eq(memcmp(&used->token, &zero, sizeof zero), 0, "token summary not cleared");

	static char ju[REPORT_RECORD_MAX], jf[REPORT_RECORD_MAX];
	validate(t1, strlen(t1), WT_NOW, &v, used);
	cr_assert_geq(used->ncauses, 3, "the first token has several causes");
	const char *order[] = {t1, t2};
	for (size_t i = 0; i < 2; i++) {
		validate(order[i], strlen(order[i]), WT_NOW, &v, used);
		memset(fresh, 0, sizeof *fresh);
		validate(order[i], strlen(order[i]), WT_NOW, &v, fresh);
		vw_json(used, ju, sizeof ju);
		vw_json(fresh, jf, sizeof jf);
		cr_expect_str_eq(ju, jf, "token %zu", i);
		cr_expect_eq(used->ncauses, fresh->ncauses, "token %zu", i);
	}
	cr_expect_eq(used->ncauses, 0, "the second token is clean: %s", used->ncauses ? used->causes[0].text : "");
	free(used);
	free(fresh);
	keyring_free(kr);
}

struct choose_case {
	char name[48];
	char grants[256];
	int wrap;             /* pass the token in quotes */
	enum channel channel;
	int choose;
	enum product product; /* d.product */
	int grant_missing;    /* CAUSE_GRANT_MISSING expected */
};

static const struct choose_case choose_cases[] = {
	{"ipm auto", IPM_GRANT, 0, CHANNEL_TWILSOCK, 0, PRODUCT_CONVERSATIONS, 0},
	{"ipm twilsock", IPM_GRANT, 0, CHANNEL_TWILSOCK, 1, PRODUCT_CONVERSATIONS, 1},
	{"ipm twilsock wrapped", IPM_GRANT, 1, CHANNEL_TWILSOCK, 1, PRODUCT_CONVERSATIONS, 0},
	{"ipm unknown channel", IPM_GRANT, 0, CHANNEL_UNKNOWN, 1, PRODUCT_CONVERSATIONS, 1},
	{"chat+voice twilsock", WT_CHAT_GRANT "," WT_VOICE_GRANT, 0, CHANNEL_TWILSOCK, 1, PRODUCT_CONVERSATIONS, 0},
	{"chat+voice http", WT_CHAT_GRANT "," WT_VOICE_GRANT, 0, CHANNEL_HTTP, 1, PRODUCT_UNKNOWN, 0},
	{"sync+video twilsock", WT_SYNC_GRANT "," WT_VIDEO_GRANT, 0, CHANNEL_TWILSOCK, 1, PRODUCT_SYNC, 0},
	{"chat+sync twilsock", WT_CHAT_GRANT "," WT_SYNC_GRANT, 0, CHANNEL_TWILSOCK, 1, PRODUCT_UNKNOWN, 0},
	/* Twilsock carries Conversations and Sync only: a Voice-only token is
	 * judged for conversations, the Twilsock grant rule names what is missing */
	{"voice only twilsock", WT_VOICE_GRANT, 0, CHANNEL_TWILSOCK, 1, PRODUCT_CONVERSATIONS, 1},
	{"voice on video", WT_VOICE_GRANT, 0, CHANNEL_VIDEO, 1, PRODUCT_VIDEO, 1},
	{"chat on voice", WT_CHAT_GRANT, 0, CHANNEL_VOICE, 1, PRODUCT_VOICE, 1},
	{"video on sip", WT_VIDEO_GRANT, 0, CHANNEL_SIP, 1, PRODUCT_VOICE, 1},
	{"video http", WT_VIDEO_GRANT, 0, CHANNEL_HTTP, 1, PRODUCT_VIDEO, 0},
	{"none twilsock", "", 0, CHANNEL_TWILSOCK, 1, PRODUCT_CONVERSATIONS, 1},
};

/* The product a session's validation chooses (what on_token did with
 * the product decision): configured-like on the channel, auto otherwise. */
Test(validate_work, choose_product_for_channel)
{
	struct keyring *kr = vw_keys();
	struct diag *d = malloc(sizeof *d);
	for (size_t i = 0; i < sizeof choose_cases / sizeof *choose_cases; i++) {
		const struct choose_case *c = &choose_cases[i];
		char t[4096], q[4200];
		wt_token(t, sizeof t, "alice", c->grants, WT_NOW - 60, WT_NOW + 3600);
		snprintf(q, sizeof q, "\"%s\"", t);
		const char *tok = c->wrap ? q : t;
		struct vconfig v;
		vw_cfg(&v, kr);
		v.channel = c->channel;
		v.choose_product = c->choose;
		validate(tok, strlen(tok), WT_NOW, &v, d);
		cr_expect_eq(d->product, c->product, "%s: product %s", c->name, product_name(d->product));
		cr_expect_eq(diag_has(d, CAUSE_GRANT_MISSING), c->grant_missing, "%s: grant_missing", c->name);
		cr_expect_eq(diag_has(d, CAUSE_WRONG_FORMAT), c->wrap, "%s: wrong_format", c->name);
		if (!strcmp(c->name, "ipm twilsock"))
			cr_expect(d->ncauses && strstr(d->causes[d->ncauses - 1].text, "legacy 'ip_messaging'"), "%s",
				  d->ncauses ? d->causes[d->ncauses - 1].text : "");
	}
	free(d);
	keyring_free(kr);
}

/* ---- the shim's path on a small stack --------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define VW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VW_ASAN 1
#endif
#endif
#ifdef VW_ASAN
#define VW_STACK_WANT (1024 * 1024) /* ASan's redzones and fake stacks multiply stack use */
#else
#define VW_STACK_WANT (64 * 1024) /* musl's default, and some embedded hosts' */
#endif
#define VW_LIMIT (12 * 1024)  /* the path is about 5 KiB (README, Limits) */
#define VW_PAINT 0xa5

struct vw_run {
	struct session *s;
	struct reporter *rep;
	const struct wt_buf *bytes;
	int emitted, reported;
	unsigned char *entry; /* the thread function's frame */
};

static void vw_emit(void *ctx, const struct diag *d)
{
	struct vw_run *r = ctx;
	struct conn_info ci = {.transport = "tls", .library = "openssl", .host = "tsock.us1.twilio.com",
			       .peer = "127.0.0.1:443", .pid = 1};
	r->reported += reporter_report(r->rep, d, &ci, 7, d->time);
}

static void *vw_thread(void *arg)
{
	struct vw_run *r = arg;
	r->entry = __builtin_frame_address(0);
	r->emitted = session_feed(r->s, r->bytes->p, r->bytes->n, WT_NOW, vw_emit, r);
	return NULL;
}

static void vw_tsock(struct wt_buf *b, const char *method, const char *json_token)
{
	struct wt_buf m = {0};
	char hdr[12288];
	snprintf(hdr, sizeof hdr, "{\"id\":\"TM1\",\"method\":\"%s\",\"token\":%s,\"payload_size\":0}", method,
		 json_token);
	wt_printf(&m, "TWILSOCK V3.0 %zu\r\n%s\r\n", strlen(hdr), hdr);
	wt_frame(b, 1, 0, 2, m.p, m.n, 0);
	wt_free(&m);
}

Test(small_stack, session_validate_report_on_64k_thread)
{
	struct keyring *kr = vw_keys();
	struct session_config cfg;
	memset(&cfg, 0, sizeof cfg);
	vw_cfg(&cfg.v, kr);
	struct session *s = malloc(session_sizeof());
	session_init(s, &cfg, 1);
	session_set_host(s, "tsock.us1.twilio.com", strlen("tsock.us1.twilio.com"));

	/* init: the whole JSON response passed as the token (escaped in the
	 * Twilsock header), then a bare update for another identity */
	char t1[4096], t2[4096], j1[8192], j2[4200];
	wt_token(t1, sizeof t1, "alice", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	wt_token(t2, sizeof t2, "bob", WT_CHAT_GRANT, WT_NOW - 60, WT_NOW + 3600);
	snprintf(j1, sizeof j1, "\"{\\\"identity\\\":\\\"alice\\\",\\\"token\\\":\\\"%s\\\"}\"", t1);
	snprintf(j2, sizeof j2, "\"%s\"", t2);
	struct wt_buf b = {0};
	wt_printf(&b,
		  "GET /v3/wsconnect HTTP/1.1\r\nHost: tsock.us1.twilio.com\r\nUpgrade: websocket\r\n"
		  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		  "Sec-WebSocket-Version: 13\r\n\r\n");
	vw_tsock(&b, "init", j1);
	vw_tsock(&b, "update", j2);

	struct reporter_options ro = {.output = "none", .level = "info"};
	struct reporter *rep = reporter_new(&ro);
	cr_assert_not_null(rep);
	struct sink js, ts;
	cr_assert_eq(sink_memory_open(&js, SINK_MEM_JSON, 1 << 16, NULL), 0);
	cr_assert_eq(sink_memory_open(&ts, SINK_MEM_TEXT, 1 << 16, NULL), 0);
	cr_assert_eq(reporter_add_sink(rep, &js), 0);
	cr_assert_eq(reporter_add_sink(rep, &ts), 0);

	/* the stack: a guard page below (an overflow faults, never corrupts),
	 * painted so the deepest byte used can be found afterwards */
	long page = sysconf(_SC_PAGESIZE);
	size_t guard = (size_t)page;
	/* no smaller than the least stack a thread may have here: 128 KiB on
	 * aarch64 (PTHREAD_STACK_MIN), 16 KiB on x86-64 */
	long least = sysconf(_SC_THREAD_STACK_MIN);
	size_t stack_size = VW_STACK_WANT;
	if (least > 0 && (size_t)least > stack_size)
		stack_size = ((size_t)least + (size_t)page - 1) & ~((size_t)page - 1);
	unsigned char *map = mmap(NULL, guard + stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(map, MAP_FAILED);
	cr_assert_eq(mprotect(map, guard, PROT_NONE), 0);
	unsigned char *stack = map + guard;
	memset(stack, VW_PAINT, stack_size);
	pthread_attr_t at;
	pthread_attr_init(&at);
	cr_assert_eq(pthread_attr_setstack(&at, stack, stack_size), 0);
	struct vw_run r = {.s = s, .rep = rep, .bytes = &b};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, &at, vw_thread, &r), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	pthread_attr_destroy(&at);

	size_t low = 0;
	while (low < stack_size && stack[low] == VW_PAINT)
		low++;
	size_t used = (size_t)(r.entry - (stack + low));

	cr_expect_eq(r.emitted, 2, "init and update diagnosed");
	cr_expect_eq(r.reported, 4, "two records on each of two sinks");
	size_t len, n;
	const char *out = sink_memory_data(&js, &len, &n);
	cr_expect_eq(n, 2);
	cr_expect(strstr(out, "\"wrong_format\""), "%s", out);
	cr_expect(strstr(out, "\"update_mismatch\""), "%s", out);
	cr_expect(strstr(out, "\"product\":\"conversations\""), "%s", out);
	cr_expect(!strstr(out, t1) && !strstr(out, t2), "a whole token in a record");
	out = sink_memory_data(&ts, &len, &n);
	cr_expect_eq(n, 2);
	cr_expect(strstr(out, "REJECT 51215"), "%s", out);
#ifndef VW_ASAN
	cr_expect_lt(used, (size_t)VW_LIMIT, "the shim's path used %zu bytes of stack", used);
#endif
	cr_log_info("small_stack: %zu bytes of stack used below the thread function", used);

	munmap(map, guard + stack_size);
	reporter_free(rep);
	wt_free(&b);
	session_release(s);
	free(s);
	keyring_free(kr);
}
