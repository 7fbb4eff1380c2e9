/* tokshim report: summarise JSON-lines diagnosis logs (the json: sink, or
 * `check --json` / `scan --json` output collected from devices). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "report/record_line.h"
#include "report/report.h"
#include "decode/diag.h"

static const char report_usage[] =
	"usage: tokshim report [--json] FILE...\n"
	"\n"
	"Summarise JSON-lines diagnosis logs (a json:PATH sink, or collected\n"
	"'check --json' / 'scan --json' output), and syslog files a collector\n"
	"wrote from the syslog:cee sink: lines whose message is '@cee:' and a\n"
	"record (RFC 5424 or RFC 3164 headers, as rsyslog writes them); other\n"
	"syslog lines are skipped and counted. '-' reads standard input. Lines\n"
	"that are not tokshim records are skipped with a warning. Answer records\n"
	"(the server's verdict beside the prediction) are counted per predicted\n"
	"cause, with every disagreement listed; lifetime records (refresh_missing,\n"
	"expired_in_use) count with the causes.\n"
	"\n"
	"options:\n"
	"  --json              print the summary as one JSON object\n"
	"  -h, --help          show this help\n"
	"\n"
	"exit status: 0 nothing rejected, 1 some diagnosis or server answer is a reject,\n"
	"2 usage error or a file cannot be read\n";

#define MAX_LINE_WARNINGS 10
#define MAX_IDENTITIES_SHOWN 10
#define MAX_CAUSES_SHOWN 10
#define MAX_DISAGREEMENTS_KEPT 200

struct summary {
	size_t files, lines, diagnoses, bad, rejects, long_lines;
	size_t from_syslog, other_syslog; /* @cee: records; syslog lines without one */
	json_t *verdicts, *codes, *causes, *products, *channels, *hosts;
	json_t *tokens, *identities; /* sets: key -> true */
	json_t *cause_info;          /* id -> {severity, twilio_code, example, fix} */
	size_t answers, agreed, lifetime;
	json_t *per_cause;           /* predicted cause id -> {answers, agreed, same_code} */
	json_t *disagreements;       /* array of summaries of the answer records */
	char first[32], last[32];
};

static void bump(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	json_object_set_new(obj, key, json_integer((v ? json_integer_value(v) : 0) + 1));
}

static const char *str_of(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void take_causes(struct summary *s, json_t *j)
{
	json_t *causes = json_object_get(j, "causes");
	size_t i;
	json_t *c;
	json_array_foreach(causes, i, c) {
		const char *id = str_of(c, "id");
		if (!id)
			continue;
		bump(s->causes, id);
		if (json_object_get(s->cause_info, id))
			continue;
		json_t *info = json_object();
		const char *sev = str_of(c, "severity");
		json_object_set_new(info, "severity", json_string(sev ? sev : "error"));
		json_t *tc = json_object_get(c, "twilio_code");
		json_object_set_new(info, "twilio_code", json_is_integer(tc) ? json_copy(tc) : json_null());
		const char *text = str_of(c, "text"), *fix = str_of(c, "fix");
		if (text)
			json_object_set_new(info, "example", json_string(text));
		if (fix && *fix)
			json_object_set_new(info, "fix", json_string(fix));
		json_object_set_new(s->cause_info, id, info);
	}
}

static json_int_t int_of(json_t *obj, const char *key, int *have)
{
	json_t *v = json_object_get(obj, key);
	*have = json_is_integer(v);
	return *have ? json_integer_value(v) : 0;
}

static void cause_count(struct summary *s, const char *id, int agrees, int same_code)
{
	json_t *e = json_object_get(s->per_cause, id);
	if (!e) {
		e = json_pack("{s:i,s:i,s:i}", "answers", 0, "agreed", 0, "same_code", 0);
		json_object_set_new(s->per_cause, id, e);
	}
	json_object_set_new(e, "answers", json_integer(json_integer_value(json_object_get(e, "answers")) + 1));
	if (agrees)
		json_object_set_new(e, "agreed", json_integer(json_integer_value(json_object_get(e, "agreed")) + 1));
	if (same_code)
		json_object_set_new(e, "same_code",
				    json_integer(json_integer_value(json_object_get(e, "same_code")) + 1));
}

/* An answer record: the server's verdict beside the prediction. */
static const char *take_answer(struct summary *s, json_t *j)
{
	json_t *srv = json_object_get(j, "server"), *pred = json_object_get(j, "prediction");
	const char *sv = json_is_object(srv) ? str_of(srv, "verdict") : NULL;
	const char *pv = json_is_object(pred) ? str_of(pred, "verdict") : NULL;
	if (!sv || !pv || (strcmp(sv, "accept") && strcmp(sv, "reject")) ||
	    (strcmp(pv, "accept") && strcmp(pv, "reject")))
		return "answer record without server and prediction verdicts";
	int agrees = !strcmp(sv, pv), have;
	json_int_t code = int_of(srv, "code", &have);
	s->answers++;
	if (agrees)
		s->agreed++;
	if (!strcmp(sv, "reject"))
		s->rejects++;
	json_t *pc = json_object_get(pred, "causes");
	size_t i, n = 0;
	json_t *c;
	json_array_foreach(pc, i, c) {
		if (!json_is_string(c))
			continue;
		const char *id = json_string_value(c);
		int cid = cause_from_name(id);
		int tc = cid >= 0 ? cause_twilio_code((enum cause_id)cid) : 0;
		cause_count(s, id, agrees, have && tc && tc == code);
		n++;
	}
	if (!n)
		cause_count(s, "(none)", agrees, 0);
	take_causes(s, j);
	if ((json_is_object(json_object_get(j, "token")) && 1) && (str_of(json_object_get(j, "token"), "fingerprint")))
		json_object_set_new(s->tokens, str_of(json_object_get(j, "token"), "fingerprint"), json_true());
	if (!agrees && json_array_size(s->disagreements) < MAX_DISAGREEMENTS_KEPT) {
		json_t *d = json_object();
		const char *v;
		if ((v = str_of(j, "time")))
			json_object_set_new(d, "time", json_string(v));
		if ((v = str_of(j, "channel")))
			json_object_set_new(d, "channel", json_string(v));
		if ((v = str_of(j, "message")))
			json_object_set_new(d, "message", json_string(v));
		json_object_set_new(d, "predicted", json_string(pv));
		json_object_set(d, "predicted_causes", json_is_array(pc) ? pc : json_array());
		json_object_set_new(d, "server", json_deep_copy(srv));
		json_t *tok = json_object_get(j, "token"), *conn = json_object_get(j, "connection");
		if (json_is_object(tok) && (v = str_of(tok, "fingerprint")))
			json_object_set_new(d, "fingerprint", json_string(v));
		if (json_is_object(conn) && (v = str_of(conn, "host")))
			json_object_set_new(d, "host", json_string(v));
		json_array_append_new(s->disagreements, d);
	}
	return NULL;
}

/* Returns NULL when the line is a diagnosis, else why not. */
static const char *take_line(struct summary *s, const char *line, size_t len)
{
	json_error_t e;
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &e);
	if (!j)
		return "not JSON";
	const char *why = NULL;
	json_t *ver = json_object_get(j, "tokshim");
	const char *verdict = str_of(j, "verdict");
	const char *event = json_is_object(j) ? str_of(j, "event") : NULL;
	if (json_is_object(j) && json_is_integer(ver) && json_integer_value(ver) == 1 && event &&
	    !strcmp(event, "answer")) {
		why = take_answer(s, j);
		json_decref(j);
		return why;
	}
	if (event && strcmp(event, "token") && strcmp(event, "lifetime")) {
		json_decref(j);
		return "unknown event";
	}
	if (!json_is_object(j)) {
		why = "not a JSON object";
	} else if (!json_is_integer(ver)) {
		why = "no \"tokshim\" schema version";
	} else if (json_integer_value(ver) != 1) {
		why = "unknown schema version";
	} else if (!verdict || (strcmp(verdict, "accept") && strcmp(verdict, "reject"))) {
		why = "no \"verdict\" accept or reject";
	}
	if (why) {
		json_decref(j);
		return why;
	}
	int lifetime = event && !strcmp(event, "lifetime");
	if (lifetime) {
		/* a connection's token outlived its lifetime: counted with the causes */
		s->lifetime++;
		take_causes(s, j);
		json_decref(j);
		return NULL;
	}
	s->diagnoses++;
	bump(s->verdicts, verdict);
	if (!strcmp(verdict, "reject"))
		s->rejects++;
	json_t *code = json_object_get(j, "code");
	if (json_is_integer(code)) {
		char k[24];
		snprintf(k, sizeof k, "%lld", (long long)json_integer_value(code));
		bump(s->codes, k);
	}
	const char *v;
	if ((v = str_of(j, "product")))
		bump(s->products, v);
	if ((v = str_of(j, "channel")))
		bump(s->channels, v);
	json_t *conn = json_object_get(j, "connection");
	if (json_is_object(conn) && (v = str_of(conn, "host")) && *v)
		bump(s->hosts, v);
	json_t *tok = json_object_get(j, "token");
	if (json_is_object(tok)) {
		if ((v = str_of(tok, "fingerprint")) && *v)
			json_object_set_new(s->tokens, v, json_true());
		if ((v = str_of(tok, "identity")) && *v)
			json_object_set_new(s->identities, v, json_true());
	}
	if ((v = str_of(j, "time")) && strlen(v) < sizeof s->first) {
		if (!s->first[0] || strcmp(v, s->first) < 0)
			strcpy(s->first, v);
		if (!s->last[0] || strcmp(v, s->last) > 0)
			strcpy(s->last, v);
	}
	take_causes(s, j);
	json_decref(j);
	return NULL;
}

/* A line is read into a buffer of at most LINE_MAX bytes (a record is 8 KiB
 * at most): a longer one is skipped to its end and counted, so memory stays
 * bounded whatever the input. A "line" that goes on past LINE_GIVE_UP bytes
 * (/dev/zero, a binary file) ends the reading of that file as an error. */
#define LINE_MAX_BYTES (1u << 20)
#define LINE_GIVE_UP ((size_t)1 << 30)

/* Reads one line of f into buf (cap bytes, NUL-terminated, without its
 * newline): 1 a line, 2 a line longer than cap-1 (skipped, *skipped its
 * length), 3 a line past LINE_GIVE_UP, 0 end of file, -1 a read error. */
static int read_line(FILE *f, char *buf, size_t cap, size_t *len, size_t *skipped)
{
	size_t n = 0, over = 0;
	int c;
	*len = 0;
	*skipped = 0;
	while ((c = getc_unlocked(f)) != EOF) {
		if (c == '\n') {
			break;
		}
		if (over) {
			if (++over > LINE_GIVE_UP)
				return 3;
			continue;
		}
		if (n + 1 >= cap) {
			over = n + 1;
			continue;
		}
		buf[n++] = (char)c;
	}
	if (ferror(f))
		return -1;
	if (c == EOF && n == 0 && !over)
		return 0;
	buf[n] = '\0';
	*len = n;
	*skipped = over;
	return over ? 2 : 1;
}

/* Returns 0, or -1 when the file cannot be read (message printed). */
static int take_file(struct summary *s, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	const char *name = strcmp(path, "-") ? path : "(stdin)";
	if (!f) {
		cli_errf("tokshim report: cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	char *line = malloc(LINE_MAX_BYTES);
	if (!line) {
		cli_errf("tokshim report: out of memory\n");
		if (f != stdin)
			fclose(f);
		return -1;
	}
	size_t lineno = 0, len, skipped;
	int r, rc = 0;
	errno = 0;
	while ((r = read_line(f, line, LINE_MAX_BYTES, &len, &skipped)) > 0) {
		lineno++;
		s->lines++;
		if (r == 3) {
			cli_errf("tokshim report: cannot read '%s': line %zu goes on for more than %zu MiB\n", name,
				 lineno, LINE_GIVE_UP >> 20);
			rc = -1;
			break;
		}
		if (r == 2) {
			if (s->bad < MAX_LINE_WARNINGS)
				cli_errf("tokshim report: warning: %s:%zu: skipped: longer than %u bytes\n", name, lineno,
					 LINE_MAX_BYTES - 1);
			s->bad++;
			s->long_lines++;
			continue;
		}
		while (len && line[len - 1] == '\r')
			len--;
		size_t k = 0;
		while (k < len && (line[k] == ' ' || line[k] == '\t'))
			k++;
		if (k == len)
			continue; /* blank */
		const char *json, *why;
		size_t json_n;
		switch (record_line_json(line, len, &json, &json_n)) {
		case RECORD_LINE_SYSLOG:
			s->other_syslog++;
			continue;
		case RECORD_LINE_OTHER: /* the JSON parser says what is wrong with it */
			why = take_line(s, line, len);
			break;
		case RECORD_LINE_CEE:
			why = take_line(s, json, json_n);
			s->from_syslog += !why;
			break;
		default:
			why = take_line(s, json, json_n);
		}
		if (why) {
			if (s->bad < MAX_LINE_WARNINGS)
				cli_errf("tokshim report: warning: %s:%zu: skipped: %s\n", name, lineno, why);
			s->bad++;
		}
	}
	if (r < 0) {
		cli_errf("tokshim report: cannot read '%s': %s\n", path, strerror(errno ? errno : EIO));
		rc = -1;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	else
		clearerr(stdin);
	s->files++;
	return rc;
}

struct kc {
	const char *key;
	json_int_t count;
};

static int kc_cmp(const void *a, const void *b)
{
	const struct kc *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* The counters of obj, most frequent first. new array of n. */
static struct kc *sorted(json_t *obj, size_t *n)
{
	*n = json_object_size(obj);
	struct kc *v = calloc(*n ? *n : 1, sizeof *v);
	if (!v) {
		*n = 0;
		return NULL;
	}
	const char *k;
	json_t *val;
	size_t i = 0;
	json_object_foreach(obj, k, val) {
		v[i].key = k;
		v[i].count = json_integer_value(val);
		i++;
	}
	qsort(v, *n, sizeof *v, kc_cmp);
	return v;
}

/* Text from a log is untrusted: nothing a terminal acts on (controls, C1,
 * bidi overrides, separators) reaches it raw (report_escape); cut at a
 * character boundary after max bytes. */
static void put_clean(const char *s, size_t max)
{
	char out[4 * 1024];
	if (max > sizeof out / 4 - 4)
		max = sizeof out / 4 - 4;
	report_escape(out, sizeof out, s, max);
	fputs(out, stdout);
}

static void print_counts(const char *label, json_t *obj)
{
	size_t n;
	struct kc *v = sorted(obj, &n);
	if (!n) {
		free(v);
		return;
	}
	printf("  %-11s ", label);
	for (size_t i = 0; i < n; i++) {
		if (i == 12) {
			printf(", ... (%zu more)", n - i);
			break;
		}
		fputs(i ? ", " : "", stdout);
		put_clean(v[i].key, 80);
		printf(" %lld", (long long)v[i].count);
	}
	putchar('\n');
	free(v);
}

/* How often the prediction agreed with the server, per predicted cause,
 * and every disagreement. */
static void print_answers(struct summary *s)
{
	if (!s->answers)
		return;
	printf("\nserver answers: %zu, %zu as predicted, %zu not\n", s->answers, s->agreed,
	       s->answers - s->agreed);
	printf("  %-22s %8s %8s %10s\n", "predicted cause", "answers", "agreed", "same code");
	const char *k;
	json_t *e;
	json_object_foreach(s->per_cause, k, e) {
		int cid = cause_from_name(k);
		int tc = cid >= 0 ? cause_twilio_code((enum cause_id)cid) : 0;
		printf("  ");
		put_clean(k, 22);
		for (size_t i = strlen(k); i < 22; i++)
			putchar(' ');
		printf(" %8lld %8lld ", (long long)json_integer_value(json_object_get(e, "answers")),
		       (long long)json_integer_value(json_object_get(e, "agreed")));
		if (tc)
			printf("%10lld\n", (long long)json_integer_value(json_object_get(e, "same_code")));
		else
			printf("%10s\n", "-");
	}
	size_t nd = json_array_size(s->disagreements);
	if (!nd)
		return;
	printf("\ndisagreements (%zu%s):\n", nd, nd == MAX_DISAGREEMENTS_KEPT ? ", the first ones" : "");
	size_t i;
	json_array_foreach(s->disagreements, i, e) {
		json_t *srv = json_object_get(e, "server");
		const char *v;
		printf("  ");
		put_clean((v = str_of(e, "time")) ? v : "-", 32);
		printf(" ");
		put_clean((v = str_of(e, "channel")) ? v : "unknown", 16);
		printf(" ");
		put_clean((v = str_of(e, "message")) ? v : "-", 16);
		printf(": predicted ");
		put_clean(str_of(e, "predicted"), 8);
		json_t *pc = json_object_get(e, "predicted_causes");
		if (json_array_size(pc)) {
			size_t ci;
			json_t *c;
			printf(" (");
			json_array_foreach(pc, ci, c) {
				if (ci)
					printf(", ");
				put_clean(json_is_string(c) ? json_string_value(c) : "?", 32);
			}
			printf(")");
		}
		printf(", server ");
		put_clean((v = str_of(srv, "verdict")) ? v : "?", 8);
		json_t *st = json_object_get(srv, "status"), *cd = json_object_get(srv, "code");
		if (json_is_integer(st))
			printf(" %lld", (long long)json_integer_value(st));
		if (json_is_integer(cd))
			printf(" %lld", (long long)json_integer_value(cd));
		if ((v = str_of(srv, "text")) && *v) {
			printf(" '");
			put_clean(v, 80);
			printf("'");
		}
		if ((v = str_of(e, "fingerprint"))) {
			printf(" ");
			put_clean(v, 32);
		}
		if ((v = str_of(e, "host"))) {
			printf(" to ");
			put_clean(v, 64);
		}
		putchar('\n');
	}
}

static void print_text(struct summary *s)
{
	printf("tokshim report: %zu diagnos%s from %zu file%s", s->diagnoses, s->diagnoses == 1 ? "is" : "es",
	       s->files, s->files == 1 ? "" : "s");
	if (s->from_syslog)
		printf(" (%zu from syslog @cee: lines)", s->from_syslog);
	if (s->bad)
		printf(", %zu bad line%s skipped", s->bad, s->bad == 1 ? "" : "s");
	if (s->long_lines)
		printf(" (%zu too long)", s->long_lines);
	if (s->other_syslog)
		printf(", %zu other syslog line%s skipped", s->other_syslog, s->other_syslog == 1 ? "" : "s");
	if (s->answers || s->lifetime)
		printf(", %zu server answer%s, %zu lifetime record%s", s->answers, s->answers == 1 ? "" : "s",
		       s->lifetime, s->lifetime == 1 ? "" : "s");
	putchar('\n');
	if (!s->diagnoses && !s->answers && !s->lifetime)
		return;
	if (s->first[0]) {
		printf("  %-11s ", "time");
		put_clean(s->first, 32);
		fputs(" .. ", stdout);
		put_clean(s->last, 32);
		putchar('\n');
	}
	print_counts("verdicts", s->verdicts);
	print_counts("codes", s->codes);
	print_counts("products", s->products);
	print_counts("channels", s->channels);
	print_counts("hosts", s->hosts);
	printf("  %-11s %zu distinct\n", "tokens", json_object_size(s->tokens));
	size_t ni = json_object_size(s->identities);
	printf("  %-11s %zu distinct", "identities", ni);
	if (ni) {
		fputs(":", stdout);
		size_t i = 0;
		const char *k;
		json_t *val;
		json_object_foreach(s->identities, k, val) {
			if (i == MAX_IDENTITIES_SHOWN) {
				fputs(" ...", stdout);
				break;
			}
			fputs(i++ ? ", " : " ", stdout);
			put_clean(k, 64);
		}
	}
	putchar('\n');
	size_t n;
	struct kc *v = sorted(s->causes, &n);
	if (n)
		puts("\ntop causes:");
	for (size_t i = 0; i < n && i < MAX_CAUSES_SHOWN; i++) {
		json_t *info = json_object_get(s->cause_info, v[i].key);
		const char *sev = str_of(info, "severity"), *ex = str_of(info, "example"), *fix = str_of(info, "fix");
		json_t *tc = json_object_get(info, "twilio_code");
		printf("  %6lld  %s ", (long long)v[i].count, sev ? sev : "error");
		put_clean(v[i].key, 40);
		if (json_is_integer(tc))
			printf(" [%lld]", (long long)json_integer_value(tc));
		putchar('\n');
		if (ex) {
			fputs("          e.g. ", stdout);
			put_clean(ex, 300);
			putchar('\n');
		}
		if (fix) {
			fputs("          fix: ", stdout);
			put_clean(fix, 300);
			putchar('\n');
		}
	}
	if (n > MAX_CAUSES_SHOWN)
		printf("  ... and %zu more cause ids (--json lists all)\n", n - MAX_CAUSES_SHOWN);
	free(v);
	print_answers(s);
}

static int print_json(struct summary *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "tokshim_report", json_integer(1));
	json_object_set_new(o, "files", json_integer((json_int_t)s->files));
	json_object_set_new(o, "lines", json_integer((json_int_t)s->lines));
	json_object_set_new(o, "diagnoses", json_integer((json_int_t)s->diagnoses));
	json_object_set_new(o, "bad_lines", json_integer((json_int_t)s->bad));
	json_object_set_new(o, "long_lines", json_integer((json_int_t)s->long_lines));
	json_object_set_new(o, "syslog_records", json_integer((json_int_t)s->from_syslog));
	json_object_set_new(o, "other_syslog_lines", json_integer((json_int_t)s->other_syslog));
	if (s->first[0])
		json_object_set_new(o, "time", json_pack("{s:s,s:s}", "first", s->first, "last", s->last));
	json_object_set(o, "verdicts", s->verdicts);
	json_object_set(o, "codes", s->codes);
	json_object_set(o, "causes", s->causes);
	json_object_set(o, "products", s->products);
	json_object_set(o, "channels", s->channels);
	json_object_set(o, "hosts", s->hosts);
	json_object_set_new(o, "tokens", json_integer((json_int_t)json_object_size(s->tokens)));
	json_object_set_new(o, "identities", json_integer((json_int_t)json_object_size(s->identities)));
	json_t *ids = json_array();
	const char *k;
	json_t *val;
	json_object_foreach(s->identities, k, val)
		json_array_append_new(ids, json_string(k));
	json_object_set_new(o, "identity_list", ids);
	json_t *top = json_array();
	size_t n;
	struct kc *v = sorted(s->causes, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_deep_copy(json_object_get(s->cause_info, v[i].key));
		json_object_set_new(c, "id", json_string(v[i].key));
		json_object_set_new(c, "count", json_integer(v[i].count));
		json_array_append_new(top, c);
	}
	free(v);
	json_object_set_new(o, "top_causes", top);
	json_object_set_new(o, "lifetime_records", json_integer((json_int_t)s->lifetime));
	json_object_set_new(o, "answers",
			    json_pack("{s:I,s:I,s:I,s:O,s:O}", "total", (json_int_t)s->answers, "agreed",
				      (json_int_t)s->agreed, "disagreed", (json_int_t)(s->answers - s->agreed),
				      "per_cause", s->per_cause, "disagreements", s->disagreements));
	/* ASCII only: every non-ASCII character as \\u (C1, bidi, U+2028/9) */
	char *text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (!text)
		return -1;
	puts(text);
	free(text);
	return 0;
}

int cmd_report(int argc, char **argv)
{
	int as_json = 0, nfiles = 0, only_files = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (only_files || a[0] != '-' || !strcmp(a, "-")) {
			nfiles++;
		} else if (!strcmp(a, "--")) {
			only_files = 1;
		} else if (!strcmp(a, "--json")) {
			as_json = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(report_usage, stdout);
			return 0;
		} else {
			cli_errf("tokshim report: unknown option '%.*s'\ntry 'tokshim report --help'\n",
				cli_opt_name_len(a), a);
			return 2;
		}
	}
	if (!nfiles) {
		fputs("tokshim report: no file given\ntry 'tokshim report --help'\n", stderr);
		return 2;
	}
	struct summary s = {0};
	s.verdicts = json_object();
	s.codes = json_object();
	s.causes = json_object();
	s.products = json_object();
	s.channels = json_object();
	s.hosts = json_object();
	s.tokens = json_object();
	s.identities = json_object();
	s.cause_info = json_object();
	s.per_cause = json_object();
	s.disagreements = json_array();
	int unreadable = 0;
	only_files = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!only_files && !strcmp(a, "--")) {
			only_files = 1;
			continue;
		}
		if (!only_files && a[0] == '-' && strcmp(a, "-"))
			continue;
		if (take_file(&s, a) < 0)
			unreadable = 1;
	}
	if (s.bad > MAX_LINE_WARNINGS)
		cli_errf("tokshim report: warning: %zu bad lines skipped in all (first %d shown)\n", s.bad,
			MAX_LINE_WARNINGS);
	int rc = 0;
	if (as_json)
		rc = print_json(&s);
	else
		print_text(&s);
	if (fflush(stdout) == EOF || rc < 0) {
		cli_errf("tokshim report: cannot write output: %s\n", strerror(errno));
		unreadable = 1;
	}
	json_t *all[] = {s.verdicts, s.codes, s.causes, s.products, s.channels,
			 s.hosts, s.tokens, s.identities, s.cause_info, s.per_cause, s.disagreements};
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		json_decref(all[i]);
	return unreadable ? 2 : s.rejects ? 1 : 0;
}
