/* A log line to the record it carries (record_line.h): a JSON line, or a
 * syslog line whose message is the "@cee:" cookie and a JSON object. The
 * header is parsed field by field so that a cookie inside another message
 * (a key=value line quoting "@cee:") is not taken for a record. */
#include "report/record_line.h"

#include <string.h>

struct cur {
	const char *p, *end;
};

static int at_end(const struct cur *c)
{
	return c->p >= c->end;
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static void skip_blanks(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* One field up to the next space: its start and length; 0 when empty. */
static size_t field(struct cur *c, const char **start)
{
	*start = c->p;
	while (c->p < c->end && *c->p != ' ')
		c->p++;
	return (size_t)(c->p - *start);
}

/* One space after a field; 0 when the line ends or has no space there. */
static int space(struct cur *c)
{
	if (at_end(c) || *c->p != ' ')
		return 0;
	c->p++;
	return 1;
}

/* "<PRI>", 1 to 3 digits: skipped when present. */
static void skip_pri(struct cur *c)
{
	const char *p = c->p;
	if (p >= c->end || *p != '<')
		return;
	p++;
	size_t d = 0;
	while (p < c->end && is_digit(*p) && d < 4)
		p++, d++;
	if (d >= 1 && d <= 3 && p < c->end && *p == '>')
		c->p = p + 1;
}

/* An RFC 3339 time as rsyslog writes it: "2026-11-22T21:40:00Z",
 * "...:00.123456+00:00". */
static int rfc3339(const char *p, size_t n)
{
	return n >= 19 && is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]) && is_digit(p[3]) && p[4] == '-' &&
	       is_digit(p[5]) && p[7] == '-' && p[10] == 'T' && p[13] == ':' && p[16] == ':';
}

/* "Mmm dd hh:mm:ss" (day space-padded): moves past it; 0 when not one. */
static int bsd_time(struct cur *c)
{
	static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *p = c->p;
	if (c->end - p < 15)
		return 0;
	int m = 0;
	for (int i = 0; i < 12 && !m; i++)
		m = !memcmp(p, mon + 3 * i, 3);
	if (!m || p[3] != ' ' || (p[4] != ' ' && !is_digit(p[4])) || !is_digit(p[5]) || p[6] != ' ')
		return 0;
	p += 7;
	if (!is_digit(p[0]) || !is_digit(p[1]) || p[2] != ':' || !is_digit(p[3]) || !is_digit(p[4]) ||
	    p[5] != ':' || !is_digit(p[6]) || !is_digit(p[7]))
		return 0;
	c->p = p + 8;
	return 1;
}

/* RFC 5424 STRUCTURED-DATA: "-" or one or more "[id k="v" ...]", values
 * with \" \\ \] escapes. */
static int sd(struct cur *c)
{
	if (!at_end(c) && *c->p == '-') {
		c->p++;
		return 1;
	}
	int any = 0;
	while (!at_end(c) && *c->p == '[') {
		c->p++;
		int quoted = 0;
		for (;;) {
			if (at_end(c))
				return 0;
			char ch = *c->p++;
			if (quoted && ch == '\\' && !at_end(c))
				c->p++;
			else if (ch == '"')
				quoted = !quoted;
			else if (!quoted && ch == ']')
				break;
		}
		any = 1;
	}
	return any;
}

/* Where the message starts (c->p); 0 when the line is not syslog. */
static int syslog_msg(struct cur *c)
{
	const char *start = c->p;
	skip_pri(c);
	const char *f;
	size_t n;
	/* RFC 5424: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG] */
	struct cur v = *c;
	if (!at_end(&v) && is_digit(*v.p) && v.p[0] != '0') {
		n = field(&v, &f);
		int ok = n <= 2 && is_digit(f[n - 1]) && space(&v);
		if (ok) {
			n = field(&v, &f);
			ok = (n == 1 && f[0] == '-') || rfc3339(f, n);
		}
		for (int i = 0; ok && i < 4; i++)
			ok = space(&v) && field(&v, &f) > 0;
		if (ok && space(&v) && sd(&v)) {
			if (at_end(&v) || space(&v)) {
				/* a UTF-8 BOM may start the message */
				if (v.end - v.p >= 3 && !memcmp(v.p, "\xef\xbb\xbf", 3))
					v.p += 3;
				*c = v;
				return 1;
			}
		}
	}
	/* RFC 3164 and rsyslog's file formats: TIME [HOST] TAG MSG, the tag
	 * "app[pid]:" (rsyslog writes a tag taken from RFC 5424 fields
	 * without the colon, and always after a HOST) */
	if (!bsd_time(c)) {
		n = field(c, &f);
		if (!rfc3339(f, n)) {
			c->p = start;
			return 0;
		}
	}
	for (int i = 0; i < 2; i++) {
		if (!space(c) || !(n = field(c, &f))) {
			c->p = start;
			return 0;
		}
		if (f[n - 1] == ':' || i == 1)
			return 1; /* the tag; the message follows */
	}
	c->p = start;
	return 0;
}

static void trim(const char **p, size_t *n)
{
	while (*n && ((*p)[0] == ' ' || (*p)[0] == '\t'))
		(*p)++, (*n)--;
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' || (*p)[*n - 1] == '\r'))
		(*n)--;
}

enum record_line record_line_json(const char *line, size_t n, const char **json, size_t *json_n)
{
	static const char cookie[] = "@cee:";
	const char *p = line;
	size_t len = n;
	*json = NULL;
	*json_n = 0;
	trim(&p, &len);
	if (len && p[0] == '{') {
		*json = p;
		*json_n = len;
		return RECORD_LINE_JSON;
	}
	struct cur c = {p, p + len};
	if (!syslog_msg(&c))
		return RECORD_LINE_OTHER;
	skip_blanks(&c);
	size_t rest = (size_t)(c.end - c.p);
	if (rest < sizeof cookie - 1 || memcmp(c.p, cookie, sizeof cookie - 1))
		return RECORD_LINE_SYSLOG;
	const char *j = c.p + sizeof cookie - 1;
	size_t jn = rest - (sizeof cookie - 1);
	trim(&j, &jn);
	*json = j;
	*json_n = jn;
	return RECORD_LINE_CEE;
}
