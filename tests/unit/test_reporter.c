/* report/reporter: output spec, level filter, rate limit. Fixed times. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "report/reporter.h"

#define T0 1795383600

static char cap_buf[65536];
static size_t cap_len;

static ssize_t capture(int fd, const void *p, size_t n)
{
	(void)fd;
	if (n > sizeof cap_buf - 1 - cap_len)
		n = sizeof cap_buf - 1 - cap_len;
	memcpy(cap_buf + cap_len, p, n);
	cap_len += n;
	cap_buf[cap_len] = '\0';
	return (ssize_t)n;
}

static void token_diag(struct diag *d, const char *fp, enum cause_id id)
{
	diag_init(d, T0);
	d->product = PRODUCT_SYNC;
	diag_add(d, id, "do something", "%s happened", cause_name(id));
	diag_finish(d);
	snprintf(d->token.fingerprint, sizeof d->token.fingerprint, "%s", fp);
}

/* A reporter with no sinks of its own, plus a text and a json memory sink. */
static struct reporter *rig(const char *level, struct sink *text, struct sink *json)
{
	struct reporter_options o = {.output = "none", .level = level, .write_fn = capture};
	struct reporter *r = reporter_new(&o);
	cr_assert_not_null(r);
	cr_assert_eq(reporter_nsinks(r), 0);
	cr_assert_eq(sink_memory_open(text, SINK_MEM_TEXT, 1 << 20, NULL), 0);
	cr_assert_eq(sink_memory_open(json, SINK_MEM_JSON, 1 << 22, NULL), 0);
	cr_assert_eq(reporter_add_sink(r, text), 0);
	cr_assert_eq(reporter_add_sink(r, json), 0);
	return r;
}

static size_t records(const struct sink *s)
{
	size_t n;
	sink_memory_data(s, NULL, &n);
	return n;
}

static const char *data(const struct sink *s)
{
	return sink_memory_data(s, NULL, NULL);
}

Test(reporter, output_spec_and_warnings)
{
	cap_len = 0;
	struct reporter_options o = {.output = " stderr , bogus,json:/nonexistent-dir/x,,stderr",
				     .level = "loud",
				     .write_fn = capture,
				     .ident = "tokshim"};
	struct reporter *r = reporter_new(&o);
	cr_assert_eq(reporter_nsinks(r), 1);
	cr_assert_eq(reporter_level(r), SEV_WARNING);
	char want[1024];
	int pid = (int)getpid();
	snprintf(want, sizeof want,
		 "tokshim[%d]: warning: TOKSHIM_LEVEL: unknown level 'loud' (error, warning, info), using 'warning'\n"
		 "tokshim[%d]: warning: TOKSHIM_OUTPUT: 2 entries ignored, the first: unknown sink 'bogus' (stderr, syslog, syslog:cee, json:PATH, none)\n",
		 pid, pid);
	cr_assert_str_eq(cap_buf, want);
	reporter_free(r);

	o = (struct reporter_options){.output = "", .write_fn = capture};
	r = reporter_new(&o);
	cr_assert_eq(reporter_nsinks(r), 1, "default: stderr");
	reporter_free(r);
	o.output = "bogus";
	r = reporter_new(&o);
	cr_assert_eq(reporter_nsinks(r), 1, "nothing usable: stderr");
	reporter_free(r);
	o.output = "none";
	r = reporter_new(&o);
	cr_assert_eq(reporter_nsinks(r), 0);
	reporter_free(r);
	char path[64];
	snprintf(path, sizeof path, "json:/tmp/tokshim-rep-%d.json", pid);
	char spec[128];
	snprintf(spec, sizeof spec, "stderr,syslog,%s", path);
	o.output = spec;
	o.level = "error";
	r = reporter_new(&o);
	cr_assert_eq(reporter_nsinks(r), 3);
	cr_assert_eq(reporter_level(r), SEV_ERROR);
	reporter_free(r);
	unlink(path + 5);
}

Test(reporter, stderr_sink_writes_through_write_fn)
{
	cap_len = 0;
	struct reporter_options o = {.output = "stderr", .write_fn = capture};
	struct reporter *r = reporter_new(&o);
	struct diag d;
	token_diag(&d, "sha256:1111111111111111", CAUSE_EXPIRED);
	cr_assert_eq(reporter_report(r, &d, NULL, 1, T0), 1);
	char want[128];
	snprintf(want, sizeof want, "tokshim[%d]: REJECT 51215 (Twilsock: Unauthorized): 1 error", (int)getpid());
	cr_assert_eq(strncmp(cap_buf, want, strlen(want)), 0, "%s", cap_buf);
	reporter_warn(r, "TOKSHIM_SECRETS_FILE: refused");
	cr_assert_not_null(strstr(cap_buf, "]: warning: TOKSHIM_SECRETS_FILE: refused\n"));
	reporter_free(r);
}

Test(reporter, level_filter)
{
	struct sink text, json;
	struct reporter *r = rig("error", &text, &json);
	struct diag d;
	/* accept with a warning at level error: nothing */
	token_diag(&d, "sha256:aaaaaaaaaaaaaaaa", CAUSE_EXPIRING_SOON);
	cr_assert_eq(d.accept, 1);
	cr_assert_eq(reporter_report(r, &d, NULL, 1, T0), 0);
	cr_assert_eq(records(&text) + records(&json), 0);
	/* a reject is shown without its warnings in the text, with them in json */
	token_diag(&d, "sha256:bbbbbbbbbbbbbbbb", CAUSE_EXPIRED);
	diag_add(&d, CAUSE_CLOCK_SKEW, "fix the clock", "clock skew seen");
	diag_finish(&d);
	cr_assert_eq(reporter_report(r, &d, NULL, 1, T0), 2);
	cr_assert_null(strstr(data(&text), "clock_skew"));
	cr_assert_not_null(strstr(data(&text), "1 error, 1 warning"), "%s", data(&text));
	cr_assert_not_null(strstr(data(&json), "clock_skew"));
	reporter_free(r);

	r = rig("warning", &text, &json);
	token_diag(&d, "sha256:aaaaaaaaaaaaaaaa", CAUSE_SIGNATURE_UNCHECKED);
	cr_assert_eq(reporter_report(r, &d, NULL, 1, T0), 0, "info only at level warning");
	token_diag(&d, "sha256:aaaaaaaaaaaaaaaa", CAUSE_EXPIRING_SOON);
	cr_assert_eq(reporter_report(r, &d, NULL, 1, T0), 2, "accept with warning at level warning");
	reporter_free(r);

	r = rig("info", &text, &json);
	token_diag(&d, "sha256:aaaaaaaaaaaaaaaa", CAUSE_SIGNATURE_UNCHECKED);
	cr_assert_eq(reporter_report(r, &d, NULL, 1, T0), 2);
	cr_assert_not_null(strstr(data(&text), "info signature_unchecked"));
	reporter_free(r);
}

Test(reporter, storm_gives_one_report_then_summaries)
{
	struct sink text, json;
	struct reporter *r = rig(NULL, &text, &json);
	struct diag d;
	token_diag(&d, "sha256:cccccccccccccccc", CAUSE_EXPIRED);

	cr_assert_eq(reporter_report(r, &d, NULL, 1, T0), 2, "first: full report everywhere");
	cr_assert_eq(reporter_report(r, &d, NULL, 1, T0 + 1), 0, "same connection: nothing");
	cr_assert_eq(records(&json), 1);
	/* new connections within 10 s: only the json log gets them */
	for (uint64_t c = 2; c <= 6; c++)
		cr_assert_eq(reporter_report(r, &d, NULL, c, T0 + (int64_t)c), 1);
	cr_assert_eq(records(&text), 1);
	cr_assert_eq(records(&json), 6);
	/* the first new connection after the window: one summary line */
	cr_assert_eq(reporter_report(r, &d, NULL, 7, T0 + 10), 1);
	cr_assert_eq(records(&text), 2);
	cr_assert_not_null(strstr(data(&text),
				  "\ntoken sha256:cccccccccccccccc rejected again on 6 connections in the last 10s (expired)\n"),
			   "%s", data(&text));
	/* then quiet again for 10 s */
	for (uint64_t c = 8; c <= 12; c++)
		reporter_report(r, &d, NULL, c, T0 + 12);
	cr_assert_eq(records(&text), 2);
	/* a tick before the window: nothing; after: the pending summary */
	reporter_tick(r, T0 + 19);
	cr_assert_eq(records(&text), 2);
	reporter_tick(r, T0 + 21);
	cr_assert_eq(records(&text), 3);
	cr_assert_not_null(strstr(data(&text), "rejected again on 5 connections in the last 11s (expired)\n"));
	reporter_tick(r, T0 + 100);
	cr_assert_eq(records(&text), 3, "nothing pending");
	/* a flush at exit (far-future time): the span is up to the last repeat */
	reporter_report(r, &d, NULL, 13, T0 + 26);
	reporter_report(r, &d, NULL, 14, T0 + 28);
	cr_assert_eq(records(&text), 3, "within the window: counted only");
	reporter_tick(r, INT64_MAX / 2);
	cr_assert_eq(records(&text), 4);
	cr_assert_not_null(strstr(data(&text), "rejected again on 2 connections in the last 7s (expired)\n"),
			   "%s", data(&text));

	/* the same token with another cause set is a new report */
	token_diag(&d, "sha256:cccccccccccccccc", CAUSE_SIGNATURE);
	cr_assert_eq(reporter_report(r, &d, NULL, 1, T0 + 30), 2);
	/* another token, same causes: a new report too */
	token_diag(&d, "sha256:dddddddddddddddd", CAUSE_EXPIRED);
	cr_assert_eq(reporter_report(r, &d, NULL, 1, T0 + 30), 2);
	cr_assert_eq(records(&text), 6);
	reporter_free(r);
}

Test(reporter, bounded_table_forgets_the_oldest)
{
	struct sink text, json;
	struct reporter *r = rig(NULL, &text, &json);
	struct diag d;
	char fp[24];
	for (int i = 0; i <= REPORTER_TABLE; i++) {
		snprintf(fp, sizeof fp, "sha256:%016x", i);
		token_diag(&d, fp, CAUSE_EXPIRED);
		cr_assert_eq(reporter_report(r, &d, NULL, 1, T0 + i), 2);
	}
	/* token 0 was the least recently seen: forgotten, so reported in full */
	snprintf(fp, sizeof fp, "sha256:%016x", 0);
	token_diag(&d, fp, CAUSE_EXPIRED);
	cr_assert_eq(reporter_report(r, &d, NULL, 1, T0 + 1000), 2);
	/* the most recent one is still known */
	snprintf(fp, sizeof fp, "sha256:%016x", REPORTER_TABLE);
	token_diag(&d, fp, CAUSE_EXPIRED);
	cr_assert_eq(reporter_report(r, &d, NULL, 1, T0 + 1000), 0);
	reporter_free(r);
}

struct worker {
	struct reporter *r;
	int id;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct diag d;
	token_diag(&d, "sha256:eeeeeeeeeeeeeeee", CAUSE_EXPIRED);
	for (int i = 0; i < 500; i++)
		reporter_report(w->r, &d, NULL, (uint64_t)w->id * 1000 + (uint64_t)i + 1, T0 + i / 50);
	return NULL;
}

Test(reporter, threads)
{
	struct sink text, json;
	struct reporter *r = rig(NULL, &text, &json);
	pthread_t t[4];
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){r, i};
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(records(&json), 2000, "every connection in the json log");
	/* one full report, then a summary at most every 10 s over the 10 s span */
	cr_assert_geq(records(&text), 1);
	cr_assert_leq(records(&text), 2);
	reporter_free(r);
}
