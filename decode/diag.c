/* The cause vocabulary and diagnosis helpers. Pure: no I/O. */
#include "decode/diag.h"
#include "decode/text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "decode/cold.h"

struct cause_def {
	const char *name;
	enum severity severity;
	int code;
};

#define CAUSE_DEF_(e, name, sev, code) {name, sev, code},
static const struct cause_def cause_defs[CAUSE__COUNT] = {CAUSE_LIST(CAUSE_DEF_)};
#undef CAUSE_DEF_

#define GRANT_NAME_(e, name) name,
static const char *const grant_names[GRANT_BIT__COUNT] = {GRANT_LIST(GRANT_NAME_)};
#undef GRANT_NAME_

static const char *const severity_names[] = {"info", "warning", "error"};
static const char *const product_names[] = {"unknown", "conversations", "sync", "voice", "video"};
static const char *const channel_names[] = {"unknown", "twilsock", "voice", "video", "sip", "http"};

const char *severity_name(enum severity s)
{
	return (unsigned)s < 3 ? severity_names[s] : "error";
}

TK_COLD int severity_from_name(const char *name)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(name, severity_names[i]))
			return i;
	return -1;
}

const char *cause_name(enum cause_id id)
{
	return (unsigned)id < CAUSE__COUNT ? cause_defs[id].name : "unknown";
}

enum severity cause_severity(enum cause_id id)
{
	return (unsigned)id < CAUSE__COUNT ? cause_defs[id].severity : SEV_ERROR;
}

int cause_twilio_code(enum cause_id id)
{
	return (unsigned)id < CAUSE__COUNT ? cause_defs[id].code : 0;
}

int cause_from_name(const char *name)
{
	for (int i = 0; i < CAUSE__COUNT; i++)
		if (!strcmp(name, cause_defs[i].name))
			return i;
	return -1;
}

const char *product_name(enum product p)
{
	return (unsigned)p < sizeof product_names / sizeof *product_names ? product_names[p] : "unknown";
}

int product_from_name(const char *name)
{
	if (!strcmp(name, "auto"))
		return PRODUCT_UNKNOWN;
	for (int i = 1; i < (int)(sizeof product_names / sizeof *product_names); i++)
		if (!strcmp(name, product_names[i]))
			return i;
	return -1;
}

int product_is_twilsock(enum product p)
{
	return p == PRODUCT_CONVERSATIONS || p == PRODUCT_SYNC;
}

const char *channel_name(enum channel c)
{
	return (unsigned)c < sizeof channel_names / sizeof *channel_names ? channel_names[c] : "unknown";
}

const char *grant_name(enum grant_bit b)
{
	return (unsigned)b < GRANT_BIT__COUNT ? grant_names[b] : "unknown";
}

/* The causes (10 KiB) are not cleared: diag_add writes every field of a
 * cause before ncauses counts it, and readers look at causes[0..ncauses)
 * only. The first one's strings are emptied all the same, for a careless
 * reader of causes[0] of an empty list. */
void diag_init(struct diag *d, int64_t now)
{
	d->accept = 1;
	d->code = 0;
	d->product = PRODUCT_UNKNOWN;
	d->channel = CHANNEL_UNKNOWN;
	d->message = NULL;
	d->time = now;
	d->ncauses = 0;
	d->causes[0].text[0] = '\0';
	d->causes[0].fix[0] = '\0';
	memset(&d->token, 0, sizeof d->token);
	d->event = DIAG_EV_TOKEN;
	memset(&d->answer, 0, sizeof d->answer);
}

enum severity diag_level(const struct diag *d)
{
	if (d->event == DIAG_EV_ANSWER)
		return d->answer.level;
	enum severity s = SEV_INFO;
	for (size_t i = 0; i < d->ncauses && i < DIAG_MAX_CAUSES; i++)
		if (d->causes[i].severity > s)
			s = d->causes[i].severity;
	return s;
}

const char *diag_event_name(enum diag_event e)
{
	return e == DIAG_EV_ANSWER ? "answer" : e == DIAG_EV_LIFETIME ? "lifetime" : "token";
}

struct cause *diag_add(struct diag *d, enum cause_id id, const char *fix, const char *fmt, ...)
{
	if (d->ncauses >= DIAG_MAX_CAUSES)
		return NULL;
	struct cause *c = &d->causes[d->ncauses++];
	c->id = id;
	c->severity = cause_severity(id);
	c->twilio_code = cause_twilio_code(id);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->text, sizeof c->text, fmt, ap);
	va_end(ap);
	snprintf(c->fix, sizeof c->fix, "%s", fix ? fix : "");
	return c;
}

int diag_has(const struct diag *d, enum cause_id id)
{
	for (size_t i = 0; i < d->ncauses; i++)
		if (d->causes[i].id == id)
			return 1;
	return 0;
}

void diag_finish(struct diag *d)
{
	d->accept = 1;
	for (size_t i = 0; i < d->ncauses; i++)
		if (d->causes[i].severity == SEV_ERROR)
			d->accept = 0;
	if (d->accept)
		d->code = 0;
	else if (d->channel == CHANNEL_TWILSOCK)
		d->code = 51215;
	else if (d->channel == CHANNEL_UNKNOWN && product_is_twilsock(d->product))
		d->code = 51215;
	else
		d->code = 51007;
}

TK_LOAD_TEXT int sid_is(const char *s, size_t n, const char *prefix)
{
	if (n != 34 || (prefix && (s[0] != prefix[0] || s[1] != prefix[1])))
		return 0;
	if (s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z')
		return 0;
	static const uint8_t hex[256] = {['0' ... '9'] = 1, ['a' ... 'f'] = 1, ['A' ... 'F'] = 1};
	unsigned all = 1;
	for (size_t i = 2; i < 34; i++)
		all &= hex[(unsigned char)s[i]];
	return (int)all;
}

int parse_skew(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v < 0 || v > SKEW_MAX)
		return -1;
	*out = v;
	return 0;
}

void tk_error_set(struct tk_error *err, const char *fmt, ...)
{
	if (!err || err->set)
		return;
	err->set = 1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

void utc_from_unix(int64_t t, struct utc_time *out)
{
	/* civil from days (Howard Hinnant), floor division for negative times */
	int64_t days = t / 86400, rem = t % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	out->hour = (int)(rem / 3600);
	out->min = (int)(rem % 3600 / 60);
	out->sec = (int)(rem % 60);
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	out->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	out->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	out->year = yoe + era * 400 + (out->mon <= 2);
}

void fmt_iso8601(int64_t t, char *buf, size_t cap)
{
	struct utc_time u;
	/* beyond year 9999 (or before 1) the ISO form would mislead: print the number */
	if (t < -62135596800LL || t > 253402300799LL) {
		snprintf(buf, cap, "%lld", (long long)t);
		return;
	}
	utc_from_unix(t, &u);
	snprintf(buf, cap, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)u.year, u.mon, u.mday, u.hour,
		 u.min, u.sec);
}

void fmt_duration(int64_t s, char *buf, size_t cap)
{
	uint64_t a = s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;
	uint64_t d = a / 86400, h = a % 86400 / 3600, m = a % 3600 / 60, sec = a % 60;
	if (d)
		snprintf(buf, cap, "%llud%lluh", (unsigned long long)d, (unsigned long long)h);
	else if (h)
		snprintf(buf, cap, "%lluh%llum", (unsigned long long)h, (unsigned long long)m);
	else if (m)
		snprintf(buf, cap, "%llum%llus", (unsigned long long)m, (unsigned long long)sec);
	else
		snprintf(buf, cap, "%llus", (unsigned long long)sec);
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

int parse_time(const char *s, int64_t *out)
{
	if (all_digits(s)) {
		if (strlen(s) > 12)
			return -1;
		long long v = 0;
		sscanf(s, "%lld", &v);
		*out = v;
		return 0;
	}
	int Y, M, D, h = 0, m = 0, sec = 0, n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6)
		return -1;
	const char *rest = s + n;
	if (strcmp(rest, "Z") && strcmp(rest, "+00:00") && *rest)
		return -1;
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
		return -1;
	/* days from civil (Howard Hinnant), no timezone state involved */
	int y = Y - (M <= 2);
	int era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153u * (unsigned)(M + (M > 2 ? -3 : 9)) + 2) / 5 + (unsigned)D - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = (int64_t)era * 146097 + (int64_t)doe - 719468;
	*out = days * 86400 + h * 3600 + m * 60 + sec;
	return 0;
}
