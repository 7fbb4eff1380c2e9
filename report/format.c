/* Formatters: a diagnosis as one JSON line, as human text, as key=value.
 * Bounded buffers, no allocation, no stdio streams (snprintf only), so the
 * shim may call them from its hooks. */
#include "report/report.h"

#include <stdarg.h>
#include "decode/server_codes.h"
#include <stdio.h>
#include <string.h>

/* ---- a bounded string builder ------------------------------------------- */

struct sb {
	char *p;
	size_t cap, n;
	int over; /* something did not fit: the output is incomplete */
	size_t mark; /* end of the last complete field (kv) */
};

static void sb_init(struct sb *b, char *buf, size_t cap)
{
	b->p = buf;
	b->cap = cap;
	b->n = 0;
	b->over = cap == 0;
	b->mark = 0;
	if (cap)
		buf[0] = '\0';
}

static void sb_put(struct sb *b, const char *s, size_t n)
{
	if (b->over)
		return;
	if (n >= b->cap - b->n) {
		b->over = 1;
		return;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sb_puts(struct sb *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_putc(struct sb *b, char c)
{
	sb_put(b, &c, 1);
}

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sb *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		b->over = 1;
		return;
	}
	sb_put(b, tmp, (size_t)n);
}

/* Resets to length n (undoing a partial write). */
static void sb_truncate(struct sb *b, size_t n)
{
	b->n = n;
	b->over = 0;
	if (b->cap)
		b->p[n] = '\0';
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid (overlong
 * forms, surrogates and code points above U+10FFFF are invalid). *cp gets
 * the code point. */
static size_t utf8_seq(const unsigned char *s, size_t avail, unsigned *cp)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, min = 0x80, c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, min = 0x800, c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, min = 0x10000, c &= 0x07;
	} else {
		return 0;
	}
	if (avail < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Code points that must never reach a terminal or a log viewer raw: C0
 * controls, DEL, C1 controls (U+0080-U+009F), the bidi embeddings,
 * overrides and isolates (U+202A-U+202E, U+2066-U+2069) and marks (U+200E,
 * U+200F, U+061C), and the line and paragraph separators U+2028/U+2029
 * (which end a line in some viewers and in JavaScript). Every formatter,
 * text, key=value and JSON, escapes exactly these (one rule, one place). */
int report_cp_unsafe(unsigned cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f || cp == 0x061c ||
	       cp == 0x2028 || cp == 0x2029;
}

/* cp as text: \xNN below U+0100, else \uNNNN. */
static void text_esc(struct sb *b, unsigned cp)
{
	if (cp < 0x100)
		sb_printf(b, "\\x%02x", cp);
	else
		sb_printf(b, "\\u%04x", cp);
}

size_t report_escape(char *out, size_t cap, const char *in, size_t max)
{
	struct sb b;
	sb_init(&b, out, cap);
	const unsigned char *s = (const unsigned char *)(in ? in : "");
	size_t len = strlen((const char *)s), i = 0;
	while (i < len && !b.over) {
		unsigned cp;
		size_t k = utf8_seq(s + i, len - i, &cp);
		if (i + (k ? k : 1) > max) {
			sb_puts(&b, "...");
			break;
		}
		size_t keep = b.n;
		if (!k) {
			sb_printf(&b, "\\x%02x", s[i]);
			k = 1;
		} else if (report_cp_unsafe(cp) && !(cp == '\n' && i + 1 == len)) {
			text_esc(&b, cp);
		} else {
			sb_put(&b, (const char *)s + i, k);
		}
		if (b.over) { /* never half an escape or half a character */
			sb_truncate(&b, keep);
			b.over = 1;
			break;
		}
		i += k;
	}
	return b.n;
}

/* ---- JSON ----------------------------------------------------------------- */

/* A JSON string of at most max input bytes of s (cut at a character
 * boundary, "..." appended when cut): control characters escaped, invalid
 * UTF-8 bytes replaced by \ufffd. */
static void json_str(struct sb *b, const char *str, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t len = strlen((const char *)s), i = 0;
	sb_putc(b, '"');
	while (i < len && !b->over) {
		unsigned cp;
		size_t k = utf8_seq(s + i, len - i, &cp);
		if (i + (k ? k : 1) > max) {
			sb_puts(b, "...");
			break;
		}
		if (!k) {
			sb_puts(b, "\\ufffd");
			i++;
			continue;
		}
		if (k > 1) {
			if (report_cp_unsafe(cp))
				sb_printf(b, "\\u%04x", cp);
			else
				sb_put(b, (const char *)s + i, k);
			i += k;
			continue;
		}
		switch (cp) {
		case '"': sb_puts(b, "\\\""); break;
		case '\\': sb_puts(b, "\\\\"); break;
		case '\n': sb_puts(b, "\\n"); break;
		case '\r': sb_puts(b, "\\r"); break;
		case '\t': sb_puts(b, "\\t"); break;
		case '\b': sb_puts(b, "\\b"); break;
		case '\f': sb_puts(b, "\\f"); break;
		default:
			if (cp < 0x20 || cp == 0x7f) {
				char e[6] = {'\\', 'u', '0', '0', hex[cp >> 4], hex[cp & 15]};
				sb_put(b, e, 6);
			} else {
				sb_putc(b, (char)cp);
			}
		}
		i++;
	}
	sb_putc(b, '"');
}

static void json_key(struct sb *b, int *first, const char *key)
{
	if (!*first)
		sb_putc(b, ',');
	*first = 0;
	sb_putc(b, '"');
	sb_puts(b, key);
	sb_puts(b, "\":");
}

static void json_kstr(struct sb *b, int *first, const char *key, const char *val, size_t max)
{
	json_key(b, first, key);
	json_str(b, val, max);
}

/* Limits per truncation level: the next level is tried when a record does
 * not fit. */
struct json_limits {
	size_t text, fix, ident, str;
	int cause_detail; /* text and fix in causes */
	int token_detail; /* more than the fingerprint */
	int causes;       /* the causes list at all */
};

static const struct json_limits json_levels[] = {
	{DIAG_TEXT_MAX, DIAG_FIX_MAX, 256, 256, 1, 1, 1},
	{120, 80, 64, 64, 1, 1, 1},
	{48, 0, 32, 48, 1, 1, 1},
	{0, 0, 0, 0, 0, 0, 1},
	{0, 0, 0, 0, 0, 0, 0},
};

static void json_causes(struct sb *b, int *firstp, const struct diag *d, const struct json_limits *lim)
{
	int first = *firstp;
	if (lim->causes) {
		json_key(b, &first, "causes");
		sb_putc(b, '[');
		for (size_t i = 0; i < d->ncauses && i < DIAG_MAX_CAUSES; i++) {
			const struct cause *c = &d->causes[i];
			int f = 1;
			if (i)
				sb_putc(b, ',');
			sb_putc(b, '{');
			json_kstr(b, &f, "id", cause_name(c->id), 32);
			json_kstr(b, &f, "severity", severity_name(c->severity), 16);
			json_key(b, &f, "twilio_code");
			if (c->twilio_code)
				sb_printf(b, "%d", c->twilio_code);
			else
				sb_puts(b, "null");
			if (lim->cause_detail) {
				json_kstr(b, &f, "text", c->text, lim->text);
				if (lim->fix)
					json_kstr(b, &f, "fix", c->fix, lim->fix);
			}
			sb_putc(b, '}');
		}
		sb_putc(b, ']');
	}
	*firstp = first;
}

static void json_token(struct sb *b, int *firstp, const struct diag *d, const struct json_limits *lim)
{
	int first = *firstp;
	const struct token_summary *tk = &d->token;
	if (tk->fingerprint[0] || tk->parsed) {
		int f = 1;
		json_key(b, &first, "token");
		sb_putc(b, '{');
		if (tk->fingerprint[0])
			json_kstr(b, &f, "fingerprint", tk->fingerprint, sizeof tk->fingerprint);
		if (lim->token_detail) {
			if (tk->jti[0])
				json_kstr(b, &f, "jti", tk->jti, lim->str);
			if (tk->iss[0])
				json_kstr(b, &f, "iss", tk->iss, lim->str);
			if (tk->sub[0])
				json_kstr(b, &f, "sub", tk->sub, lim->str);
			if (tk->identity[0])
				json_kstr(b, &f, "identity", tk->identity, lim->ident);
			if (tk->has_iat) {
				json_key(b, &f, "iat");
				sb_printf(b, "%lld", (long long)tk->iat);
			}
			if (tk->has_nbf) {
				json_key(b, &f, "nbf");
				sb_printf(b, "%lld", (long long)tk->nbf);
			}
			if (tk->has_exp) {
				json_key(b, &f, "exp");
				sb_printf(b, "%lld", (long long)tk->exp);
			}
			if (tk->parsed) {
				int g1 = 1;
				json_key(b, &f, "grants");
				sb_putc(b, '[');
				for (int g = 0; g < GRANT_BIT__COUNT; g++) {
					if (!(tk->grants & (1u << g)))
						continue;
					if (!g1)
						sb_putc(b, ',');
					g1 = 0;
					json_str(b, grant_name(g), 32);
				}
				sb_putc(b, ']');
			}
			if (tk->region[0])
				json_kstr(b, &f, "region", tk->region, sizeof tk->region);
		}
		sb_putc(b, '}');
	}
	*firstp = first;
}

static void json_conn(struct sb *b, int *firstp, const struct conn_info *ci, const struct json_limits *lim)
{
	int first = *firstp;
	if (ci) {
		int f = 1;
		json_key(b, &first, "connection");
		sb_putc(b, '{');
		if (ci->transport && ci->transport[0])
			json_kstr(b, &f, "transport", ci->transport, 16);
		if (ci->library && ci->library[0])
			json_kstr(b, &f, "library", ci->library, lim->token_detail ? 64 : 16);
		if (ci->hook && ci->hook[0])
			json_kstr(b, &f, "hook", ci->hook, 16);
		if (ci->host && ci->host[0])
			json_kstr(b, &f, "host", ci->host, lim->token_detail ? lim->str : 64);
		if (ci->peer && ci->peer[0])
			json_kstr(b, &f, "peer", ci->peer, 64);
		if (ci->pid > 0) {
			json_key(b, &f, "pid");
			sb_printf(b, "%d", ci->pid);
		}
		sb_putc(b, '}');
	}
	*firstp = first;
}

static void json_int_or_null(struct sb *b, int *first, const char *key, long long v, int have)
{
	json_key(b, first, key);
	if (have)
		sb_printf(b, "%lld", v);
	else
		sb_puts(b, "null");
}

static void json_answer(struct sb *b, int *first, const struct diag *d, const struct conn_info *ci,
			const struct json_limits *lim, int truncated)
{
	const struct answer *a = &d->answer;
	if (ci || d->channel != CHANNEL_UNKNOWN)
		json_kstr(b, first, "channel", channel_name(d->channel), 32);
	if (d->message)
		json_kstr(b, first, "message", d->message, 32);
	json_key(b, first, "server");
	int f = 1;
	sb_putc(b, '{');
	json_kstr(b, &f, "verdict", a->server_accept ? "accept" : "reject", 8);
	json_int_or_null(b, &f, "status", a->status, a->status != 0);
	json_int_or_null(b, &f, "code", a->code, a->code != 0);
	if (a->text[0])
		json_kstr(b, &f, "text", a->text, lim->text ? lim->text : 32);
	else
		json_kstr(b, &f, "text", "", 1);
	sb_putc(b, '}');
	json_key(b, first, "prediction");
	f = 1;
	sb_putc(b, '{');
	json_kstr(b, &f, "verdict", a->pred_accept ? "accept" : "reject", 8);
	json_key(b, &f, "causes");
	sb_putc(b, '[');
	for (size_t i = 0; i < a->npred && i < ANSWER_PRED_CAUSES; i++) {
		if (i)
			sb_putc(b, ',');
		json_str(b, cause_name(a->pred[i]), 32);
	}
	sb_putc(b, ']');
	json_key(b, &f, "agrees");
	sb_puts(b, a->pred_accept == a->server_accept ? "true" : "false");
	sb_putc(b, '}');
	json_causes(b, first, d, lim);
	json_token(b, first, d, lim);
	json_conn(b, first, ci, lim);
	json_int_or_null(b, first, "after_ms", (long long)a->after_ms, a->after_ms >= 0);
	if (truncated) {
		json_key(b, first, "truncated");
		sb_puts(b, "true");
	}
	sb_puts(b, "}\n");
}

static void json_diag(struct sb *b, const struct diag *d, const struct conn_info *ci,
		      const struct json_limits *lim, int truncated)
{
	char t[32];
	int first = 1;
	sb_putc(b, '{');
	json_key(b, &first, "tokshim");
	sb_putc(b, '1');
	json_kstr(b, &first, "event", diag_event_name(d->event), 16);
	fmt_iso8601(d->time, t, sizeof t);
	json_kstr(b, &first, "time", t, sizeof t);
	if (d->event == DIAG_EV_ANSWER) {
		json_answer(b, &first, d, ci, lim, truncated);
		return;
	}
	json_kstr(b, &first, "verdict", d->accept ? "accept" : "reject", 8);
	json_key(b, &first, "code");
	if (d->accept || !d->code)
		sb_puts(b, "null");
	else
		sb_printf(b, "%d", d->code);
	json_kstr(b, &first, "product", product_name(d->product), 32);
	if (ci || d->channel != CHANNEL_UNKNOWN)
		json_kstr(b, &first, "channel", channel_name(d->channel), 32);
	if (d->message)
		json_kstr(b, &first, "message", d->message, 32);
	json_causes(b, &first, d, lim);
	json_token(b, &first, d, lim);
	json_conn(b, &first, ci, lim);
	if (truncated) {
		json_key(b, &first, "truncated");
		sb_puts(b, "true");
	}
	sb_puts(b, "}\n");
}

size_t report_format_json(char *buf, size_t cap, const struct diag *d, const struct conn_info *ci)
{
	struct sb b;
	size_t nlev = sizeof json_levels / sizeof *json_levels;
	for (size_t lev = 0; lev < nlev; lev++) {
		sb_init(&b, buf, cap);
		json_diag(&b, d, ci, &json_levels[lev], lev > 0);
		if (!b.over)
			return b.n;
	}
	/* not even the minimal object fits: an empty record, never a broken one */
	sb_init(&b, buf, cap);
	return 0;
}

/* ---- text ----------------------------------------------------------------- */

/* Untrusted bytes (claim values quoted in texts) for a terminal: control
 * characters (C0, DEL, C1) as \xNN, invalid UTF-8 as U+FFFD, so a token
 * cannot move the cursor or recolour the user's terminal. */
static void text_str(struct sb *b, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t len = strlen((const char *)s), i = 0;
	while (i < len && !b->over) {
		unsigned cp;
		size_t k = utf8_seq(s + i, len - i, &cp);
		if (i + (k ? k : 1) > max) {
			sb_puts(b, "...");
			break;
		}
		if (!k) {
			sb_puts(b, "\xef\xbf\xbd");
			i++;
		} else if (report_cp_unsafe(cp)) {
			text_esc(b, cp);
			i += k;
		} else {
			sb_put(b, (const char *)s + i, k);
			i += k;
		}
	}
}

const char *report_code_text(int code)
{
	switch (code) {
	case 51215: return "Twilsock: Unauthorized";
	case 51007: return "Client Connection: Token authentication is rejected";
	case 0: return "";
	default: return "rejected";
	}
}

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_CYAN "\033[36m"
#define C_DIM "\033[2m"

static const char *sev_color(enum severity s)
{
	return s == SEV_ERROR ? C_RED : s == SEV_WARNING ? C_YELLOW : C_CYAN;
}

static void counts(struct sb *b, const struct diag *d)
{
	size_t n[3] = {0, 0, 0};
	for (size_t i = 0; i < d->ncauses && i < DIAG_MAX_CAUSES; i++)
		if ((unsigned)d->causes[i].severity < 3)
			n[d->causes[i].severity]++;
	const char *names[3][2] = {{"info", "info"}, {"warning", "warnings"}, {"error", "errors"}};
	int any = 0;
	for (int s = 2; s >= 0; s--) {
		if (!n[s])
			continue;
		sb_printf(b, "%s%zu %s", any ? ", " : "", n[s], names[s][n[s] != 1]);
		any = 1;
	}
	if (!any)
		sb_puts(b, "no problems found");
}

static void text_causes(struct sb *b, const struct diag *d, const char *pre, int color, enum severity min_sev,
			size_t text_max);

/* The server's answer: one line (the server's code and what it means, as
 * predicted or not), then the causes of a disagreement. */
static void text_answer(struct sb *b, const struct diag *d, const struct conn_info *ci, const char *pre,
			int color, enum severity min_sev, size_t text_max)
{
	const struct answer *a = &d->answer;
	int agrees = a->pred_accept == a->server_accept;
	sb_puts(b, pre);
	if (color)
		sb_puts(b, C_BOLD);
	sb_puts(b, "SERVER ");
	sb_puts(b, a->server_accept ? "ACCEPTED" : "REJECTED");
	if (color)
		sb_puts(b, C_RESET);
	sb_puts(b, " ");
	sb_puts(b, channel_name(d->channel));
	if (d->message) {
		sb_putc(b, ' ');
		text_str(b, d->message, 32);
	}
	if (a->status)
		sb_printf(b, ": status %d", a->status);
	const struct server_code *sc = a->code ? server_code_find(a->code) : NULL;
	if (a->code)
		sb_printf(b, "%s code %d", a->status ? "," : ":", a->code);
	if (!a->code && !a->status) {
		/* no status, no code (a Voice or Video success shape): its text names it */
		if (a->text[0]) {
			sb_puts(b, ": ");
			text_str(b, a->text, text_max < 80 ? text_max : 80);
		}
	} else if (sc) {
		sb_puts(b, " (");
		sb_puts(b, sc->meaning);
		sb_puts(b, ")");
	} else if (a->text[0]) {
		sb_puts(b, " (");
		text_str(b, a->text, text_max < 80 ? text_max : 80);
		sb_puts(b, ")");
	}
	if (color)
		sb_puts(b, agrees ? C_GREEN : C_RED);
	if (agrees) {
		sb_puts(b, "; as predicted");
	} else {
		sb_puts(b, "; NOT as predicted: tokshim said ");
		sb_puts(b, a->pred_accept ? "accept" : "reject");
	}
	if (color)
		sb_puts(b, C_RESET);
	if (a->npred) {
		sb_puts(b, " (");
		for (size_t i = 0; i < a->npred && i < ANSWER_PRED_CAUSES; i++) {
			if (i)
				sb_puts(b, ", ");
			sb_puts(b, cause_name(a->pred[i]));
		}
		sb_puts(b, ")");
	}
	if (a->after_ms >= 0)
		sb_printf(b, "; %lld ms after the token", (long long)a->after_ms);
	if (d->token.fingerprint[0]) {
		sb_puts(b, "; token ");
		text_str(b, d->token.fingerprint, 32);
	}
	if (ci && ci->host && ci->host[0]) {
		sb_puts(b, " to ");
		text_str(b, ci->host, 128);
	}
	sb_putc(b, '\n');
	text_causes(b, d, pre, color, min_sev, text_max);
}

/* Everything, line by line; each line starts with prefix. */
static void text_diag(struct sb *b, const struct diag *d, const struct conn_info *ci, const char *prefix,
		      int color, enum severity min_sev, size_t text_max)
{
	const char *pre = prefix ? prefix : "";
	/* verdict */
	if (d->event == DIAG_EV_ANSWER) {
		text_answer(b, d, ci, pre, color, min_sev, text_max);
		return;
	}
	sb_puts(b, pre);
	if (color)
		sb_puts(b, d->event == DIAG_EV_LIFETIME ? C_BOLD C_YELLOW : d->accept ? C_BOLD C_GREEN : C_BOLD C_RED);
	if (d->event == DIAG_EV_LIFETIME) {
		sb_puts(b, "TOKEN LIFETIME");
	} else if (d->accept) {
		sb_puts(b, "ACCEPT");
	} else {
		sb_puts(b, "REJECT");
		if (d->code)
			sb_printf(b, " %d (%s)", d->code, report_code_text(d->code));
	}
	if (color)
		sb_puts(b, C_RESET);
	sb_puts(b, ": ");
	counts(b, d);
	sb_printf(b, "; product %s", product_name(d->product));
	sb_putc(b, '\n');
	/* where */
	if (ci || d->channel != CHANNEL_UNKNOWN || d->message) {
		sb_puts(b, pre);
		sb_printf(b, "  on %s", channel_name(d->channel));
		if (d->message) {
			sb_puts(b, " ");
			text_str(b, d->message, 32);
		}
		if (ci && ci->host && ci->host[0]) {
			sb_puts(b, " to ");
			text_str(b, ci->host, 128);
		}
		if (ci && ci->peer && ci->peer[0]) {
			sb_puts(b, " (");
			text_str(b, ci->peer, 64);
			sb_puts(b, ")");
		}
		if (ci && ((ci->transport && ci->transport[0]) || (ci->library && ci->library[0]))) {
			sb_puts(b, " via ");
			if (ci->library && ci->library[0])
				text_str(b, ci->library, 64);
			if (ci->transport && ci->transport[0]) {
				sb_puts(b, ci->library && ci->library[0] ? "/" : "");
				text_str(b, ci->transport, 16);
			}
		}
		sb_putc(b, '\n');
	}
	/* which token */
	const struct token_summary *tk = &d->token;
	if (tk->fingerprint[0] || tk->parsed) {
		sb_puts(b, pre);
		sb_puts(b, "  token ");
		text_str(b, tk->fingerprint[0] ? tk->fingerprint : "(no fingerprint)", 32);
		if (tk->identity[0]) {
			sb_puts(b, " identity '");
			text_str(b, tk->identity, text_max < 64 ? text_max : 64);
			sb_putc(b, '\'');
		}
		if (tk->iss[0]) {
			sb_puts(b, " iss ");
			text_str(b, tk->iss, 48);
		}
		if (tk->has_exp) {
			char t[32];
			fmt_iso8601(tk->exp, t, sizeof t);
			sb_printf(b, " exp %s", t);
		}
		sb_putc(b, '\n');
	}
	text_causes(b, d, pre, color, min_sev, text_max);
}

static void text_causes(struct sb *b, const struct diag *d, const char *pre, int color, enum severity min_sev,
			size_t text_max)
{
	/* causes */
	for (size_t i = 0; i < d->ncauses && i < DIAG_MAX_CAUSES; i++) {
		const struct cause *c = &d->causes[i];
		if (c->severity < min_sev)
			continue;
		sb_puts(b, pre);
		sb_puts(b, "  ");
		if (color)
			sb_puts(b, sev_color(c->severity));
		sb_puts(b, severity_name(c->severity));
		sb_putc(b, ' ');
		sb_puts(b, cause_name(c->id));
		if (color)
			sb_puts(b, C_RESET);
		if (c->twilio_code)
			sb_printf(b, " [%d]", c->twilio_code);
		sb_puts(b, ": ");
		text_str(b, c->text, text_max);
		sb_putc(b, '\n');
		if (c->fix[0]) {
			sb_puts(b, pre);
			sb_puts(b, "    ");
			if (color)
				sb_puts(b, C_DIM);
			sb_puts(b, "fix: ");
			if (color)
				sb_puts(b, C_RESET);
			text_str(b, c->fix, text_max);
			sb_putc(b, '\n');
		}
	}
}

size_t report_format_text_ex(char *buf, size_t cap, const struct diag *d, const struct conn_info *ci,
			     const char *prefix, int color, enum severity min_sev)
{
	static const size_t maxes[] = {DIAG_TEXT_MAX, 80, 24};
	struct sb b;
	for (size_t k = 0; k < sizeof maxes / sizeof *maxes; k++) {
		sb_init(&b, buf, cap);
		text_diag(&b, d, ci, prefix, color, min_sev, maxes[k]);
		if (!b.over)
			return b.n;
	}
	/* keep whole lines only, and say so */
	static const char more[] = "  ... (truncated)\n";
	size_t pl = prefix ? strlen(prefix) : 0;
	size_t room = cap > sizeof more + pl ? cap - (sizeof more + pl) : 0;
	size_t n = 0;
	for (size_t i = 0; i < room && buf[i]; i++)
		if (buf[i] == '\n')
			n = i + 1;
	sb_truncate(&b, n);
	if (n) {
		sb_puts(&b, prefix ? prefix : "");
		sb_puts(&b, more);
	}
	return b.n;
}

size_t report_format_text(char *buf, size_t cap, const struct diag *d, const struct conn_info *ci,
			  const char *prefix, int color)
{
	return report_format_text_ex(buf, cap, d, ci, prefix, color, SEV_INFO);
}

/* ---- key=value --------------------------------------------------------------- */

/* A value: bare when it holds only safe characters, else double-quoted with
 * \" \\ and \xNN escapes. */
static void kv_val(struct sb *b, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	int bare = *s != '\0';
	for (const unsigned char *p = s; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p >= 0x7f)
			bare = 0;
	if (bare && strlen((const char *)s) <= max) {
		sb_puts(b, (const char *)s);
		return;
	}
	sb_putc(b, '"');
	size_t len = strlen((const char *)s), i = 0;
	while (i < len && !b->over) {
		if (i >= max) {
			sb_puts(b, "...");
			break;
		}
		if (s[i] == '"' || s[i] == '\\') {
			sb_putc(b, '\\');
			sb_putc(b, (char)s[i]);
			i++;
			continue;
		}
		unsigned cp;
		size_t k = utf8_seq(s + i, len - i, &cp);
		if (k > 1 && report_cp_unsafe(cp)) {
			if (i + k > max) {
				sb_puts(b, "...");
				break;
			}
			text_esc(b, cp);
			i += k;
		} else if (k > 1) {
			if (i + k > max) {
				sb_puts(b, "...");
				break;
			}
			sb_put(b, (const char *)s + i, k);
			i += k;
		} else if (s[i] < 0x20 || s[i] >= 0x7f) {
			sb_printf(b, "\\x%02x", s[i]);
			i++;
		} else {
			sb_putc(b, (char)s[i]);
			i++;
		}
	}
	sb_putc(b, '"');
}

static void kv_mark(struct sb *b)
{
	if (!b->over)
		b->mark = b->n;
}

static void kv_diag(struct sb *b, const struct diag *d, const struct conn_info *ci, enum severity min_sev,
		    size_t text_max)
{
	if (d->event == DIAG_EV_ANSWER) {
		const struct answer *a = &d->answer;
		sb_printf(b, "event=answer server=%s", a->server_accept ? "accept" : "reject");
		if (a->status)
			sb_printf(b, " status=%d", a->status);
		if (a->code)
			sb_printf(b, " code=%d", a->code);
		sb_printf(b, " predicted=%s agrees=%s", a->pred_accept ? "accept" : "reject",
			  a->pred_accept == a->server_accept ? "yes" : "no");
		if (a->after_ms >= 0)
			sb_printf(b, " after_ms=%lld", (long long)a->after_ms);
	} else {
		if (d->event == DIAG_EV_LIFETIME)
			sb_puts(b, "event=lifetime ");
		sb_printf(b, "verdict=%s", d->accept ? "accept" : "reject");
		if (!d->accept && d->code)
			sb_printf(b, " code=%d", d->code);
	}
	kv_mark(b);
	sb_printf(b, " product=%s", product_name(d->product));
	kv_mark(b);
	if (ci || d->channel != CHANNEL_UNKNOWN)
		sb_printf(b, " channel=%s", channel_name(d->channel));
	kv_mark(b);
	if (d->message) {
		sb_puts(b, " message=");
		kv_val(b, d->message, 32);
	}
	kv_mark(b);
	const struct cause *first = NULL;
	int any = 0;
	for (size_t i = 0; i < d->ncauses && i < DIAG_MAX_CAUSES; i++) {
		const struct cause *c = &d->causes[i];
		if (c->severity < min_sev)
			continue;
		sb_puts(b, any ? "," : " causes=");
		sb_puts(b, cause_name(c->id));
		any = 1;
		if (!first || c->severity > first->severity)
			first = c;
	}
	kv_mark(b);
	if (ci && ci->host && ci->host[0]) {
		sb_puts(b, " host=");
		kv_val(b, ci->host, 128);
	}
	kv_mark(b);
	if (ci && ci->peer && ci->peer[0]) {
		sb_puts(b, " peer=");
		kv_val(b, ci->peer, 64);
	}
	kv_mark(b);
	if (ci && ci->library && ci->library[0]) {
		sb_puts(b, " library=");
		kv_val(b, ci->library, 64);
	}
	kv_mark(b);
	if (d->token.fingerprint[0]) {
		sb_puts(b, " fp=");
		kv_val(b, d->token.fingerprint, 32);
	}
	kv_mark(b);
	if (d->token.identity[0]) {
		sb_puts(b, " identity=");
		kv_val(b, d->token.identity, text_max < 64 ? text_max : 64);
	}
	kv_mark(b);
	if (first) {
		sb_puts(b, " text=");
		kv_val(b, first->text, text_max);
	}
	kv_mark(b);
}

size_t report_format_kv_ex(char *buf, size_t cap, const struct diag *d, const struct conn_info *ci,
			   enum severity min_sev)
{
	static const size_t maxes[] = {DIAG_TEXT_MAX, 64, 16};
	struct sb b;
	for (size_t k = 0; k < sizeof maxes / sizeof *maxes; k++) {
		sb_init(&b, buf, cap);
		kv_diag(&b, d, ci, min_sev, maxes[k]);
		if (!b.over)
			return b.n;
	}
	/* cut after the last field that fits */
	sb_truncate(&b, b.mark);
	return b.n;
}

size_t report_format_kv(char *buf, size_t cap, const struct diag *d, const struct conn_info *ci)
{
	return report_format_kv_ex(buf, cap, d, ci, SEV_INFO);
}
