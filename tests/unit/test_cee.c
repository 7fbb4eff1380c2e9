/* report/: the syslog:cee sink (RFC 5424, the json sink's object after
 * "@cee:") and the reader of a collector's lines (record_line.c). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "report/record_line.h"
#include "report/report.h"
#include "report/reporter.h"

#define T0 1795383600 /* 2026-11-22T21:40:00Z */

static void sample(struct diag *d)
{
	diag_init(d, T0);
	d->product = PRODUCT_VOICE;
	diag_add(d, CAUSE_EXPIRED, "mint a new token", "expired 1h32m ago at 2026-11-22T20:08:00Z");
	diag_finish(d);
	strcpy(d->token.fingerprint, "sha256:0123456789abcdef");
	strcpy(d->token.identity, "alice \"@cee:{}\"");
	d->token.parsed = 1;
}

static int bind_dgram(char *path, size_t cap)
{
	snprintf(path, cap, "/tmp/tokshim-cee-%d", (int)getpid());
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

/* The header's length when line is "<pri>1 2026-11-22T21:40:00Z HOST tokshim PID - - ". */
static size_t header_len(const char *line, int pri)
{
	char re[256];
	snprintf(re, sizeof re, "^<%d>1 2026-11-22T21:40:00Z [!-~]+ tokshim %d - - ", pri, (int)getpid());
	regex_t rx;
	cr_assert_eq(regcomp(&rx, re, REG_EXTENDED), 0);
	regmatch_t m;
	cr_assert_eq(regexec(&rx, line, 1, &m, 0), 0, "bad RFC 5424 line: %s", line);
	regfree(&rx);
	return (size_t)m.rm_eo;
}

Test(cee_sink, rfc5424_with_the_json_record)
{
	char path[108];
	int srv = bind_dgram(path, sizeof path);
	struct sink s;
	cr_assert_eq(sink_syslog_cee_open(&s, path, NULL), 0);
	cr_assert_str_eq(s.ops->name, "syslog:cee");
	struct diag d;
	sample(&d);
	struct conn_info ci = {.transport = "tls", .library = "openssl", .host = "h", .peer = "127.0.0.1:1", .pid = 7};
	cr_assert_eq(s.ops->write(&s, &d, &ci), 0);
	char buf[REPORT_RECORD_MAX + 1];
	ssize_t n = recv(srv, buf, sizeof buf - 1, 0);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	size_t h = header_len(buf, 8 | 3);
	cr_assert(!strncmp(buf + h, "@cee:", 5), "cookie starts the message: %s", buf + h);
	/* the JSON is the json sink's, byte for byte, without its newline */
	char want[REPORT_RECORD_MAX];
	size_t wn = report_format_json(want, sizeof want, &d, &ci);
	cr_assert_eq((size_t)n, h + 5 + wn - 1);
	cr_assert(!memcmp(buf + h + 5, want, wn - 1));
	cr_assert_null(memchr(buf, '\n', (size_t)n), "one line");

	/* read back as a collector's line */
	const char *j;
	size_t jn;
	cr_assert_eq(record_line_json(buf, (size_t)n, &j, &jn), RECORD_LINE_CEE);
	cr_assert_eq(jn, wn - 1);
	cr_assert(!memcmp(j, want, jn));

	/* a line that is not a diagnosis: plain text, no cookie */
	cr_assert_eq(s.ops->write_line(&s, SEV_WARNING, "token sha256:x rejected again"), 0);
	n = recv(srv, buf, sizeof buf - 1, 0);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_str_eq(strstr(buf, " - - ") + 5, "token sha256:x rejected again");
	cr_assert_eq(record_line_json(buf, (size_t)n, &j, &jn), RECORD_LINE_SYSLOG);

	/* an accept with a warning: LOG_WARNING */
	diag_init(&d, T0);
	diag_add(&d, CAUSE_EXPIRING_SOON, "refresh", "expires in 1m");
	diag_finish(&d);
	cr_assert_eq(s.ops->write(&s, &d, NULL), 0);
	n = recv(srv, buf, sizeof buf - 1, 0);
	buf[n] = '\0';
	header_len(buf, 8 | 4);
	sink_release(&s);
	close(srv);
	unlink(path);
}

Test(cee_sink, a_huge_record_is_cut_to_fit_the_message)
{
	static struct diag d;
	char text[DIAG_TEXT_MAX];
	memset(text, '\x01', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	diag_init(&d, T0);
	for (int i = 0; i < DIAG_MAX_CAUSES; i++)
		diag_add(&d, CAUSE_CLAIMS, "fix", "%s", text);
	diag_finish(&d);
	char path[108];
	int srv = bind_dgram(path, sizeof path);
	struct sink s;
	cr_assert_eq(sink_syslog_cee_open(&s, path, NULL), 0);
	cr_assert_eq(s.ops->write(&s, &d, NULL), 0);
	static char buf[1 << 16];
	ssize_t n = recv(srv, buf, sizeof buf - 1, 0);
	cr_assert_gt(n, 0);
	cr_assert_leq(n, 7936, "within rsyslog's default 8 KiB message: %zd", n);
	buf[n] = '\0';
	const char *j;
	size_t jn;
	cr_assert_eq(record_line_json(buf, (size_t)n, &j, &jn), RECORD_LINE_CEE);
	json_error_t e;
	json_t *o = json_loadb(j, jn, 0, &e);
	cr_assert_not_null(o, "valid JSON after the cut: %s", e.text);
	cr_assert(json_is_true(json_object_get(o, "truncated")));
	json_decref(o);
	sink_release(&s);
	close(srv);
	unlink(path);
}

Test(cee_sink, chosen_by_the_output_spec)
{
	cr_assert_eq(reporter_output_valid("syslog:cee", NULL), 0);
	cr_assert_eq(reporter_output_valid("syslog,syslog:cee,json:/x", NULL), 0);
	struct tk_error err = {0};
	cr_assert_eq(reporter_output_valid("syslog:ce", &err), -1);
	char path[108];
	int srv = bind_dgram(path, sizeof path);
	int devnull = open("/dev/null", O_WRONLY);
	struct reporter_options o = {.output = "syslog:cee, syslog:cee", .syslog_path = path, .err_fd = devnull};
	struct reporter *r = reporter_new(&o);
	cr_assert_not_null(r);
	cr_assert_eq(reporter_nsinks(r), 1, "one syslog:cee sink, however often named");
	struct diag d;
	sample(&d);
	cr_assert_eq(reporter_report(r, &d, NULL, 1, T0), 1);
	char buf[REPORT_RECORD_MAX];
	ssize_t n = recv(srv, buf, sizeof buf - 1, MSG_DONTWAIT);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_not_null(strstr(buf, " - - @cee:{\"tokshim\":1,"), "%s", buf);
	/* warnings reach it too, as text */
	reporter_warn(r, "a warning");
	n = recv(srv, buf, sizeof buf - 1, MSG_DONTWAIT);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_not_null(strstr(buf, " - - a warning"), "%s", buf);
	reporter_free(r);
	close(devnull);
	close(srv);
	unlink(path);
}

struct line_case {
	const char *line;
	enum record_line kind;
	const char *json; /* expected slice; NULL: none */
};

Test(record_line, shapes_a_collector_writes)
{
	static const struct line_case cases[] = {
		{"{\"tokshim\":1}", RECORD_LINE_JSON, "{\"tokshim\":1}"},
		{"  {\"tokshim\":1}  \r", RECORD_LINE_JSON, "{\"tokshim\":1}"},
		/* RFC 5424, as sent and as forwarded (RSYSLOG_SyslogProtocol23Format) */
		{"<11>1 2026-11-22T21:40:00Z dev1 tokshim 42 - - @cee:{\"a\":1}", RECORD_LINE_CEE, "{\"a\":1}"},
		{"<11>1 2026-11-22T21:40:00.123456+00:00 dev1 tokshim 42 - - @cee: {\"a\":1}", RECORD_LINE_CEE,
		 "{\"a\":1}"},
		{"1 2026-11-22T21:40:00Z dev1 tokshim 42 - - @cee:{\"a\":1}", RECORD_LINE_CEE, "{\"a\":1}"},
		{"<11>1 - - - - - [x@1 k=\"v \\\"]\"][y@1] \xef\xbb\xbf@cee:{}", RECORD_LINE_CEE, "{}"},
		{"<11>1 - - - - - -", RECORD_LINE_SYSLOG, NULL},
		/* RSYSLOG_FileFormat, RSYSLOG_TraditionalFileFormat, /dev/log */
		{"2026-11-22T21:40:00.123456+00:00 dev1 tokshim[42]: @cee:{\"a\":1}", RECORD_LINE_CEE, "{\"a\":1}"},
		/* a tag rsyslog made from RFC 5424's APP-NAME and PROCID: no colon */
		{"2026-11-22T21:40:00.123456+00:00 dev1 tokshim[42] @cee:{\"a\":1}", RECORD_LINE_CEE, "{\"a\":1}"},
		{"Nov 22 21:40:00 dev1 tokshim[42]: @cee:{\"a\":1}", RECORD_LINE_CEE, "{\"a\":1}"},
		{"Nov  2 21:40:00 dev1 tokshim[42]:  @cee:{\"a\":1}", RECORD_LINE_CEE, "{\"a\":1}"},
		{"<11>Nov 22 21:40:00 tokshim[42]: @cee:{\"a\":1}", RECORD_LINE_CEE, "{\"a\":1}"},
		/* other messages: skipped, also when they quote the cookie */
		{"Nov 22 21:40:00 dev1 tokshim[42]: verdict=reject identity=\"@cee:{}\"", RECORD_LINE_SYSLOG, NULL},
		{"<11>1 2026-11-22T21:40:00Z dev1 tokshim 42 - [x k=\"@cee:{}\"] hello", RECORD_LINE_SYSLOG, NULL},
		{"2026-11-22T21:40:00Z dev1 sshd[7]: Accepted publickey", RECORD_LINE_SYSLOG, NULL},
		{"Nov 22 21:40:00 dev1 kernel: @ce", RECORD_LINE_SYSLOG, NULL},
		/* neither */
		{"hello world", RECORD_LINE_OTHER, NULL},
		{"@cee:{\"a\":1}", RECORD_LINE_OTHER, NULL},
		{"Nov 22 21:40:00 a b c @cee:{}", RECORD_LINE_SYSLOG, NULL},
		{"Nov 22 21:40:00 a", RECORD_LINE_OTHER, NULL},
		{"<11>1 2026-11-22T21:40:00Z dev1 tokshim 42 -", RECORD_LINE_OTHER, NULL},
		{"<1000>1 - - - - - - @cee:{}", RECORD_LINE_OTHER, NULL},
		{"", RECORD_LINE_OTHER, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct line_case *c = &cases[i];
		const char *j;
		size_t jn;
		enum record_line k = record_line_json(c->line, strlen(c->line), &j, &jn);
		cr_assert_eq(k, c->kind, "case %zu '%s': kind %d, want %d", i, c->line, k, c->kind);
		if (c->json) {
			cr_assert_eq(jn, strlen(c->json), "case %zu", i);
			cr_assert(!memcmp(j, c->json, jn), "case %zu: '%.*s'", i, (int)jn, j);
		} else {
			cr_assert_null(j, "case %zu", i);
		}
		/* every prefix is read without running past its end */
		for (size_t n = 0; n < strlen(c->line); n++) {
			char *copy = malloc(n ? n : 1);
			memcpy(copy, c->line, n);
			record_line_json(copy, n, &j, &jn);
			if (j)
				cr_assert(j >= copy && j + jn <= copy + n, "case %zu prefix %zu", i, n);
			free(copy);
		}
	}
}

/* A syslogd that never reads: the sink drops and counts, never blocks. */
Test(cee_sink, never_read_drops_without_blocking, .timeout = 20)
{
	char path[108];
	int srv = bind_dgram(path, sizeof path);
	struct sink s;
	cr_assert_eq(sink_syslog_cee_open(&s, path, NULL), 0);
	struct diag d;
	sample(&d);
	int dropped = 0;
	for (int i = 0; i < 5000; i++)
		dropped += s.ops->write(&s, &d, NULL) < 0;
	cr_assert_gt(dropped, 0, "a full socket must drop");
	cr_assert_eq(s.dropped, (unsigned long)dropped);
	/* drained: the next record goes out, followed by the note of the drops */
	char buf[REPORT_RECORD_MAX];
	while (recv(srv, buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
	cr_assert_eq(s.ops->write(&s, &d, NULL), 0);
	ssize_t n = recv(srv, buf, sizeof buf - 1, MSG_DONTWAIT);
	cr_assert_gt(n, 0);
	n = recv(srv, buf, sizeof buf - 1, MSG_DONTWAIT);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	char want[64];
	snprintf(want, sizeof want, " - - %d reports dropped (syslog not reading)", dropped);
	cr_assert_not_null(strstr(buf, want), "%s", buf);
	sink_release(&s);
	close(srv);
	unlink(path);
}
