/* report/: formatters and sinks. JSON parsed back with jansson, fixed times. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "report/report.h"

#define T0 1795383600 /* 2026-11-22T21:40:00Z */

/* A rejected Conversations token: expired + signature, and one warning. */
static void sample(struct diag *d)
{
	diag_init(d, T0);
	d->product = PRODUCT_CONVERSATIONS;
	diag_add(d, CAUSE_EXPIRED, "mint a new token and refresh it before exp",
		 "expired 1h32m ago at 2026-11-22T20:08:00Z");
	diag_add(d, CAUSE_SIGNATURE, "sign with the API Key Secret of 'SKaaaa'",
		 "HS256 signature does not match the secret for 'SKaaaa'");
	diag_add(d, CAUSE_CLOCK_SKEW, "fix the device clock", "iat is 2h in the future");
	diag_finish(d);
	struct token_summary *t = &d->token;
	t->parsed = 1;
	strcpy(t->fingerprint, "sha256:0123456789abcdef");
	strcpy(t->alg, "HS256");
	strcpy(t->jti, "SKaaaa-1795370000");
	strcpy(t->iss, "SKaaaa");
	strcpy(t->sub, "ACbbbb");
	strcpy(t->identity, "alice");
	t->iat = 1795370000;
	t->has_iat = 1;
	t->exp = 1795377000;
	t->has_exp = 1;
	t->grants = GRANT_MASK(CHAT) | GRANT_MASK(VOICE);
	strcpy(t->region, "ie1");
}

static json_t *parse_line(const char *buf, size_t n)
{
	cr_assert_gt(n, 0);
	cr_assert_eq(strlen(buf), n);
	cr_assert_eq(buf[n - 1], '\n', "record ends in a newline");
	cr_assert_null(memchr(buf, '\n', n - 1), "one line: %s", buf);
	for (size_t i = 0; i < n - 1; i++)
		cr_assert_geq((unsigned char)buf[i], 0x20, "raw control byte at %zu", i);
	json_error_t e;
	json_t *j = json_loadb(buf, n, 0, &e);
	cr_assert_not_null(j, "not JSON (%s): %s", e.text, buf);
	cr_assert(json_is_object(j));
	return j;
}

Test(report_json, check_object)
{
	struct diag d;
	sample(&d);
	char buf[REPORT_RECORD_MAX];
	size_t n = report_format_json(buf, sizeof buf, &d, NULL);
	json_t *j = parse_line(buf, n);
	cr_assert_eq(json_integer_value(json_object_get(j, "tokshim")), 1);
	cr_assert_str_eq(json_string_value(json_object_get(j, "time")), "2026-11-22T21:40:00Z");
	cr_assert_str_eq(json_string_value(json_object_get(j, "verdict")), "reject");
	cr_assert_eq(json_integer_value(json_object_get(j, "code")), 51215);
	cr_assert_str_eq(json_string_value(json_object_get(j, "product")), "conversations");
	/* check: no channel, message, connection */
	cr_assert_null(json_object_get(j, "channel"));
	cr_assert_null(json_object_get(j, "message"));
	cr_assert_null(json_object_get(j, "connection"));
	cr_assert_null(json_object_get(j, "truncated"));
	json_t *causes = json_object_get(j, "causes");
	cr_assert_eq(json_array_size(causes), 3);
	json_t *c0 = json_array_get(causes, 0);
	cr_assert_str_eq(json_string_value(json_object_get(c0, "id")), "expired");
	cr_assert_str_eq(json_string_value(json_object_get(c0, "severity")), "error");
	cr_assert_eq(json_integer_value(json_object_get(c0, "twilio_code")), 20104);
	cr_assert_str_eq(json_string_value(json_object_get(c0, "text")), "expired 1h32m ago at 2026-11-22T20:08:00Z");
	cr_assert_str_eq(json_string_value(json_object_get(c0, "fix")), "mint a new token and refresh it before exp");
	json_t *c2 = json_array_get(causes, 2);
	cr_assert_str_eq(json_string_value(json_object_get(c2, "severity")), "warning");
	cr_assert(json_is_null(json_object_get(c2, "twilio_code")));
	json_t *t = json_object_get(j, "token");
	cr_assert_str_eq(json_string_value(json_object_get(t, "fingerprint")), "sha256:0123456789abcdef");
	cr_assert_str_eq(json_string_value(json_object_get(t, "jti")), "SKaaaa-1795370000");
	cr_assert_str_eq(json_string_value(json_object_get(t, "iss")), "SKaaaa");
	cr_assert_str_eq(json_string_value(json_object_get(t, "sub")), "ACbbbb");
	cr_assert_str_eq(json_string_value(json_object_get(t, "identity")), "alice");
	cr_assert_eq(json_integer_value(json_object_get(t, "iat")), 1795370000);
	cr_assert_null(json_object_get(t, "nbf"), "absent claims are omitted");
	cr_assert_eq(json_integer_value(json_object_get(t, "exp")), 1795377000);
	json_t *g = json_object_get(t, "grants");
	cr_assert_eq(json_array_size(g), 2);
	cr_assert_str_eq(json_string_value(json_array_get(g, 0)), "chat");
	cr_assert_str_eq(json_string_value(json_array_get(g, 1)), "voice");
	cr_assert_str_eq(json_string_value(json_object_get(t, "region")), "ie1");
	cr_assert_null(json_object_get(t, "alg"));
	cr_assert_null(json_object_get(t, "signature"));
	json_decref(j);
}

Test(report_json, accept_and_connection)
{
	struct diag d;
	diag_init(&d, T0);
	d.product = PRODUCT_VOICE;
	d.channel = CHANNEL_VOICE;
	d.message = "listen";
	diag_add(&d, CAUSE_EXPIRING_SOON, "refresh it", "expires in 2m");
	diag_finish(&d);
	strcpy(d.token.fingerprint, "sha256:ffffffffffffffff");
	struct conn_info ci = {"tls", "openssl", "voice-js.roaming.twilio.com", "127.0.0.1:9443", 4242};
	char buf[REPORT_RECORD_MAX];
	json_t *j = parse_line(buf, report_format_json(buf, sizeof buf, &d, &ci));
	cr_assert_str_eq(json_string_value(json_object_get(j, "verdict")), "accept");
	cr_assert(json_is_null(json_object_get(j, "code")));
	cr_assert_str_eq(json_string_value(json_object_get(j, "channel")), "voice");
	cr_assert_str_eq(json_string_value(json_object_get(j, "message")), "listen");
	json_t *c = json_object_get(j, "connection");
	cr_assert_str_eq(json_string_value(json_object_get(c, "transport")), "tls");
	cr_assert_str_eq(json_string_value(json_object_get(c, "library")), "openssl");
	cr_assert_str_eq(json_string_value(json_object_get(c, "host")), "voice-js.roaming.twilio.com");
	cr_assert_str_eq(json_string_value(json_object_get(c, "peer")), "127.0.0.1:9443");
	cr_assert_eq(json_integer_value(json_object_get(c, "pid")), 4242);
	/* a token that was not parsed: fingerprint only, no grants */
	json_t *t = json_object_get(j, "token");
	cr_assert_eq(json_object_size(t), 1);
	json_decref(j);
}

Test(report_json, escaping)
{
	struct diag d;
	diag_init(&d, T0);
	diag_add(&d, CAUSE_IDENTITY_INVALID, "fix \"it\"",
		 "q\" b\\ nl\n cr\r tab\t bell\x07 esc\x1b del\x7f e\xc3\xa9 bad\xff overlong\xc0\xaf"
		 " surrogate\xed\xa0\x80 cut\xe2\x82");
	diag_finish(&d);
	strcpy(d.token.identity, "\x01x\xf0\x9f\x98\x80");
	d.token.parsed = 1;
	char buf[REPORT_RECORD_MAX];
	size_t n = report_format_json(buf, sizeof buf, &d, NULL);
	cr_assert_not_null(strstr(buf, "\\u001b"), "%s", buf);
	cr_assert_not_null(strstr(buf, "\\u007f"), "%s", buf);
	json_t *j = parse_line(buf, n);
	json_t *c0 = json_array_get(json_object_get(j, "causes"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(c0, "text")),
			 "q\" b\\ nl\n cr\r tab\t bell\x07 esc\x1b del\x7f e\xc3\xa9 bad\xef\xbf\xbd"
			 " overlong\xef\xbf\xbd\xef\xbf\xbd surrogate\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			 " cut\xef\xbf\xbd\xef\xbf\xbd");
	cr_assert_str_eq(json_string_value(json_object_get(c0, "fix")), "fix \"it\"");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "token"), "identity")),
			 "\x01x\xf0\x9f\x98\x80");
	json_decref(j);
}

/* 24 causes of escape-heavy text: far more than a record holds. */
static void huge(struct diag *d)
{
	char text[DIAG_TEXT_MAX];
	memset(text, '\x01', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	diag_init(d, T0);
	for (int i = 0; i < DIAG_MAX_CAUSES; i++)
		diag_add(d, CAUSE_CLAIMS, "\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02"
				      "\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02",
			 "%s", text);
	diag_finish(d);
	d->token.parsed = 1;
	strcpy(d->token.fingerprint, "sha256:0000000000000000");
	memset(d->token.identity, '"', sizeof d->token.identity - 1);
}

Test(report_json, truncation_stays_one_valid_line)
{
	static struct diag d;
	huge(&d);
	static char big[1 << 17];
	size_t full = report_format_json(big, sizeof big, &d, NULL);
	cr_assert_gt(full, REPORT_RECORD_MAX, "the test needs a record that overflows");
	json_decref(parse_line(big, full));

	char buf[REPORT_RECORD_MAX];
	size_t n = report_format_json(buf, sizeof buf, &d, NULL);
	cr_assert_lt(n, sizeof buf);
	json_t *j = parse_line(buf, n);
	cr_assert(json_is_true(json_object_get(j, "truncated")));
	cr_assert_str_eq(json_string_value(json_object_get(j, "verdict")), "reject");
	cr_assert_eq(json_array_size(json_object_get(j, "causes")), DIAG_MAX_CAUSES, "all causes kept");
	json_decref(j);

	/* every capacity gives a valid line or nothing, never more than cap-1 */
	for (size_t cap = 0; cap < 3000; cap += 7) {
		char small[3000];
		memset(small, 'X', sizeof small);
		size_t m = report_format_json(small, cap, &d, NULL);
		if (cap)
			cr_assert_eq(small[m], '\0');
		cr_assert(m == 0 || m < cap);
		if (m)
			json_decref(parse_line(small, m));
		else
			cr_assert_lt(cap, 256, "a 256-byte record always holds the verdict");
		if (cap < sizeof small)
			cr_assert_eq(small[cap], 'X', "wrote past cap %zu", cap);
	}
}

Test(report_text, verdict_and_causes)
{
	struct diag d;
	sample(&d);
	char buf[REPORT_RECORD_MAX];
	size_t n = report_format_text(buf, sizeof buf, &d, NULL, "", 0);
	cr_assert_eq(strlen(buf), n);
	cr_assert_str_eq(buf,
			 "REJECT 51215 (Twilsock: Unauthorized): 2 errors, 1 warning; product conversations\n"
			 "  token sha256:0123456789abcdef identity 'alice' iss SKaaaa exp 2026-11-22T19:50:00Z\n"
			 "  error expired [20104]: expired 1h32m ago at 2026-11-22T20:08:00Z\n"
			 "    fix: mint a new token and refresh it before exp\n"
			 "  error signature [20107]: HS256 signature does not match the secret for 'SKaaaa'\n"
			 "    fix: sign with the API Key Secret of 'SKaaaa'\n"
			 "  warning clock_skew: iat is 2h in the future\n"
			 "    fix: fix the device clock\n");
	cr_assert_null(strchr(buf, '\033'), "no colour unless asked");
}

Test(report_text, prefix_colour_connection_level)
{
	struct diag d;
	sample(&d);
	d.channel = CHANNEL_TWILSOCK;
	d.message = "init";
	diag_add(&d, CAUSE_SIGNATURE_UNCHECKED, "", "no secret for 'SKaaaa'");
	struct conn_info ci = {"tls", "openssl", "tsock.us1.twilio.com", "10.0.0.1:443", 7};
	char buf[REPORT_RECORD_MAX];
	report_format_text_ex(buf, sizeof buf, &d, &ci, "tokshim[7]: ", 1, SEV_WARNING);
	/* every line has the prefix */
	for (char *line = buf; *line; line = strchr(line, '\n') + 1)
		cr_assert_eq(strncmp(line, "tokshim[7]: ", 12), 0, "line without prefix: %s", line);
	cr_assert_not_null(strstr(buf, "\033[31m"), "colour when asked");
	cr_assert_not_null(strstr(buf, "tokshim[7]:   on twilsock init to tsock.us1.twilio.com (10.0.0.1:443) via openssl/tls\n"),
			   "%s", buf);
	cr_assert_null(strstr(buf, "signature_unchecked"), "info dropped at level warning");
	cr_assert_not_null(strstr(buf, "(Twilsock: Unauthorized)\033[0m: 2 errors, 1 warning, 1 info; product conversations\n"),
			   "the verdict line counts every cause: %s", buf);
}

Test(report_text, hostile_text_cannot_drive_the_terminal)
{
	struct diag d;
	diag_init(&d, T0);
	diag_add(&d, CAUSE_IDENTITY_INVALID, "x", "identity '\x1b]0;pwned\x07\x9b\xc2\x9b' \xff");
	diag_finish(&d);
	char buf[1024];
	report_format_text(buf, sizeof buf, &d, NULL, "", 0);
	cr_assert_null(strchr(buf, '\033'));
	cr_assert_null(strchr(buf, '\007'));
	cr_assert_not_null(strstr(buf, "identity '\\x1b]0;pwned\\x07\xef\xbf\xbd\\x9b' \xef\xbf\xbd"), "%s", buf);
}

Test(report_text, truncated_keeps_whole_lines)
{
	static struct diag d;
	huge(&d);
	char buf[600];
	size_t n = report_format_text(buf, sizeof buf, &d, NULL, "p: ", 0);
	cr_assert_lt(n, sizeof buf);
	cr_assert_eq(buf[n - 1], '\n');
	cr_assert_not_null(strstr(buf, "p:   ... (truncated)\n"), "%s", buf);
	cr_assert_eq(strncmp(buf, "p: REJECT 51007", 15), 0, "%s", buf);
}

Test(report_kv, line)
{
	struct diag d;
	sample(&d);
	d.channel = CHANNEL_TWILSOCK;
	d.message = "init";
	struct conn_info ci = {"tls", "openssl", "tsock.us1.twilio.com", "127.0.0.1:443", 9};
	char buf[1024];
	size_t n = report_format_kv(buf, sizeof buf, &d, &ci);
	cr_assert_eq(strlen(buf), n);
	cr_assert_str_eq(buf, "verdict=reject code=51215 product=conversations channel=twilsock message=init"
			      " causes=expired,signature,clock_skew host=tsock.us1.twilio.com peer=127.0.0.1:443"
			      " library=openssl fp=sha256:0123456789abcdef identity=alice"
			      " text=\"expired 1h32m ago at 2026-11-22T20:08:00Z\"");
	/* level filter, quoting of awkward values */
	strcpy(d.token.identity, "bob \"the\" = \x1b");
	n = report_format_kv_ex(buf, sizeof buf, &d, NULL, SEV_ERROR);
	cr_assert_str_eq(buf, "verdict=reject code=51215 product=conversations channel=twilsock message=init"
			      " causes=expired,signature fp=sha256:0123456789abcdef"
			      " identity=\"bob \\\"the\\\" = \\x1b\" text=\"expired 1h32m ago at 2026-11-22T20:08:00Z\"");
	/* a small buffer keeps whole fields */
	n = report_format_kv(buf, 60, &d, NULL);
	cr_assert_lt(n, 60);
	cr_assert_str_eq(buf, "verdict=reject code=51215 product=conversations");
}

/* ---- sinks ------------------------------------------------------------------ */

static char wbuf[65536];
static size_t wlen;
static int wcalls;

/* Writes at most 7 bytes at a time and fails with EINTR every third call. */
static ssize_t stingy_write(int fd, const void *p, size_t n)
{
	(void)fd;
	wcalls++;
	if (wcalls % 3 == 0) {
		errno = EINTR;
		return -1;
	}
	if (n > 7)
		n = 7;
	memcpy(wbuf + wlen, p, n);
	wlen += n;
	return (ssize_t)n;
}

Test(report_sink, text_retries_partial_and_eintr)
{
	struct diag d;
	sample(&d);
	struct sink s;
	/* a pipe of our own (written through stingy_write only): the sink
	 * checks that its fd is open and writable before each record */
	int p[2];
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(sink_text_open(&s, p[1], stingy_write, "tokshim", 0, NULL), 0);
	s.min_sev = SEV_ERROR;
	cr_assert_eq(s.ops->write(&s, &d, NULL), 0);
	char prefix[32];
	snprintf(prefix, sizeof prefix, "tokshim[%d]: ", (int)getpid());
	cr_assert_eq(strncmp(wbuf, prefix, strlen(prefix)), 0, "%s", wbuf);
	cr_assert_not_null(strstr(wbuf, "error signature [20107]"));
	cr_assert_null(strstr(wbuf, "clock_skew"), "warning below the sink's level");
	cr_assert_gt(wcalls, 10);
	wlen = 0;
	s.ops->write_line(&s, SEV_ERROR, "hello");
	cr_assert_eq(wlen, strlen(prefix) + 6);
	sink_release(&s);
	cr_assert_null(s.ops);
	close(p[0]);
	close(p[1]);
}

Test(report_sink, json_file_appends_lines)
{
	char path[] = "/tmp/tokshim-test-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	unlink(path);
	mode_t old = umask(022);
	struct diag d;
	sample(&d);
	struct sink a, b;
	struct tk_error err = {0};
	cr_assert_eq(sink_json_open(&a, path, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(sink_json_open(&b, path, NULL, &err), 0, "%s", err.msg);
	umask(old);
	cr_assert_eq(a.flags & SINK_F_ALL_REPEATS, SINK_F_ALL_REPEATS);
	cr_assert_null(a.ops->write_line);
	a.ops->write(&a, &d, NULL);
	b.ops->write(&b, &d, NULL);
	a.ops->write(&a, &d, NULL);
	sink_release(&a);
	sink_release(&b);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "a new log is the user's only (it holds identities)");
	FILE *f = fopen(path, "r");
	char line[REPORT_RECORD_MAX];
	int lines = 0;
	while (fgets(line, sizeof line, f)) {
		json_decref(parse_line(line, strlen(line)));
		lines++;
	}
	fclose(f);
	unlink(path);
	cr_assert_eq(lines, 3);

	cr_assert_eq(sink_json_open(&a, "/nonexistent-dir/x.json", NULL, &err), -1);
	cr_assert_str_eq(err.msg, "cannot open '/nonexistent-dir/x.json': No such file or directory");
}

static int bind_unix(int type, char *path, size_t cap)
{
	snprintf(path, cap, "/tmp/tokshim-log-%d-%d", (int)getpid(), type);
	unlink(path);
	int fd = socket(AF_UNIX, type, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

static void check_syslog_line(const char *line, int pri, const char *rest)
{
	char re[512];
	snprintf(re, sizeof re,
		 "^<%d>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] "
		 "tokshim\\[%d\\]: ",
		 pri, (int)getpid());
	regex_t rx;
	cr_assert_eq(regcomp(&rx, re, REG_EXTENDED), 0);
	regmatch_t m;
	cr_assert_eq(regexec(&rx, line, 1, &m, 0), 0, "bad syslog line: %s", line);
	regfree(&rx);
	cr_assert_str_eq(line + m.rm_eo, rest);
}

Test(report_sink, syslog_dgram)
{
	char path[108];
	int srv = bind_unix(SOCK_DGRAM, path, sizeof path);
	struct sink s;
	cr_assert_eq(sink_syslog_open(&s, path, NULL, NULL), 0);
	struct diag d;
	sample(&d);
	cr_assert_eq(s.ops->write(&s, &d, NULL), 0);
	char buf[REPORT_RECORD_MAX];
	ssize_t n = recv(srv, buf, sizeof buf - 1, 0);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	check_syslog_line(buf, 8 | 3, "verdict=reject code=51215 product=conversations"
				      " causes=expired,signature,clock_skew fp=sha256:0123456789abcdef identity=alice"
				      " text=\"expired 1h32m ago at 2026-11-22T20:08:00Z\"");
	/* an accept with a warning: LOG_WARNING; a summary line at warning */
	diag_init(&d, T0);
	diag_add(&d, CAUSE_EXPIRING_SOON, "refresh", "expires in 1m");
	diag_finish(&d);
	s.ops->write(&s, &d, NULL);
	n = recv(srv, buf, sizeof buf - 1, 0);
	buf[n] = '\0';
	check_syslog_line(buf, 8 | 4, "verdict=accept product=unknown causes=expiring_soon text=\"expires in 1m\"");
	s.ops->write_line(&s, SEV_INFO, "just so");
	n = recv(srv, buf, sizeof buf - 1, 0);
	buf[n] = '\0';
	check_syslog_line(buf, 8 | 6, "just so");

	/* syslogd restarted: the sink reconnects */
	close(srv);
	unlink(path);
	srv = bind_unix(SOCK_DGRAM, path, sizeof path);
	cr_assert_eq(s.ops->write_line(&s, SEV_ERROR, "again"), 0);
	n = recv(srv, buf, sizeof buf - 1, 0);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	check_syslog_line(buf, 8 | 3, "again");
	sink_release(&s);
	close(srv);
	unlink(path);
}

Test(report_sink, syslog_stream_fallback)
{
	char path[108];
	int srv = bind_unix(SOCK_STREAM, path, sizeof path);
	cr_assert_eq(listen(srv, 4), 0);
	struct sink s;
	cr_assert_eq(sink_syslog_open(&s, path, NULL, NULL), 0);
	cr_assert_eq(s.ops->write_line(&s, SEV_WARNING, "one"), 0);
	cr_assert_eq(s.ops->write_line(&s, SEV_WARNING, "two"), 0);
	int c = accept(srv, NULL, NULL);
	cr_assert_geq(c, 0);
	char buf[512];
	size_t got = 0;
	while (got < sizeof buf) {
		ssize_t n = recv(c, buf + got, sizeof buf - got, MSG_DONTWAIT);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	/* two NUL-terminated records */
	cr_assert_gt(got, 0);
	cr_assert_eq(buf[got - 1], '\0');
	check_syslog_line(buf, 8 | 4, "one");
	check_syslog_line(buf + strlen(buf) + 1, 8 | 4, "two");
	cr_assert_eq(strlen(buf) + 1 + strlen(buf + strlen(buf) + 1) + 1, got);
	sink_release(&s);
	close(c);
	close(srv);
	unlink(path);

	/* nobody listening: the record is lost, quietly */
	cr_assert_eq(sink_syslog_open(&s, "/tmp/tokshim-no-such-socket", NULL, NULL), 0);
	cr_assert_eq(s.ops->write_line(&s, SEV_WARNING, "lost"), -1);
	sink_release(&s);
}

Test(report_sink, memory)
{
	struct sink s;
	cr_assert_eq(sink_memory_open(&s, SINK_MEM_KV, 4096, NULL), 0);
	struct diag d;
	sample(&d);
	s.ops->write(&s, &d, NULL);
	s.ops->write_line(&s, SEV_ERROR, "summary");
	size_t len, rec;
	const char *data = sink_memory_data(&s, &len, &rec);
	cr_assert_eq(rec, 2);
	cr_assert_eq(strlen(data), len);
	cr_assert_eq(strncmp(data, "verdict=reject code=51215", 25), 0);
	cr_assert_str_eq(strchr(data, '\n') + 1, "summary\n");
	sink_memory_clear(&s);
	sink_memory_data(&s, &len, &rec);
	cr_assert_eq(len + rec, 0);
	sink_release(&s);
}
