/* The TOKSHIM_HOOKS description parser (decode/hookdesc.h): a hand-written
 * scanner over (p, n), no allocation, the first error wins. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "decode/hookdesc.h"
#include "decode/text.h"

static const char *const type_names[HD__COUNT] = {
	[HD_VOID] = "void", [HD_PTR] = "ptr",     [HD_STR] = "str",   [HD_INT] = "int",  [HD_UINT] = "uint",
	[HD_LONG] = "long", [HD_ULONG] = "ulong", [HD_SIZE] = "size", [HD_SSIZE] = "ssize", [HD_I32] = "i32",
	[HD_U32] = "u32",   [HD_I64] = "i64",     [HD_U64] = "u64",
};

enum role { R_NONE = -1, R_CONN, R_BUF, R_LEN, R_WRITTEN, R_HOST, R__COUNT };
static const char *const role_names[R__COUNT] = { "conn", "buf", "len", "written", "host" };
static const char *const kind_names[] = { [HD_WRITE] = "write", [HD_FREE] = "free", [HD_HOST] = "host" };

const char *hookdesc_type_name(enum hd_type t)
{
	return (unsigned)t < HD__COUNT ? type_names[t] : "?";
}

int hookdesc_type_is_int(enum hd_type t)
{
	return t >= HD_INT && t < HD__COUNT;
}

int hookdesc_type_is_signed(enum hd_type t)
{
	return t == HD_INT || t == HD_LONG || t == HD_SSIZE || t == HD_I32 || t == HD_I64;
}

int hookdesc_next(const char **spec, const char **p, size_t *n)
{
	const char *s = *spec;
	if (!s)
		return 0;
	for (;;) {
		while (*s && (text_is_ws(*s) || *s == ';'))
			s++;
		if (!*s) {
			*spec = s;
			return 0;
		}
		const char *end = strchr(s, ';');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		*p = s;
		*n = len;
		*spec = s + len;
		return 1;
	}
}

/* ---- the scanner ---------------------------------------------------------- */
struct cur {
	const char *p, *end;
	struct tk_error *err;
	int failed;
};

static void skip_ws(struct cur *c)
{
	while (c->p < c->end && text_is_ws(*c->p))
		c->p++;
}

static int fail(struct cur *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct cur *c, const char *fmt, ...)
{
	if (!c->failed) {
		char buf[200];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf, sizeof buf, fmt, ap);
		va_end(ap);
		c->failed = 1;
		tk_error_set(c->err, "%s", buf);
	}
	return -1;
}

/* What follows, for a message: "'tok'" (at most 24 characters) or "the end". */
static const char *found(struct cur *c, char *buf, size_t cap)
{
	skip_ws(c);
	if (c->p >= c->end)
		return "the end";
	const char *s = c->p;
	while (s < c->end && !text_is_ws(*s) && (s == c->p || !strchr(":(),@-;", *s)))
		s++;
	int n = (int)(s - c->p) > 24 ? 24 : (int)(s - c->p);
	snprintf(buf, cap, "'%.*s'", n, c->p);
	return buf;
}

static int is_word_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* A word of [A-Za-z0-9_] (plus extra characters): (*w, *wn); 0 when none. */
static int word(struct cur *c, const char *extra, const char **w, size_t *wn)
{
	skip_ws(c);
	const char *s = c->p;
	while (c->p < c->end && (is_word_char(*c->p) || (extra && *c->p && strchr(extra, *c->p))))
		c->p++;
	*w = s;
	*wn = (size_t)(c->p - s);
	return *wn > 0;
}

static int punct(struct cur *c, const char *tok)
{
	size_t n = strlen(tok);
	skip_ws(c);
	if ((size_t)(c->end - c->p) >= n && memcmp(c->p, tok, n) == 0) {
		c->p += n;
		return 1;
	}
	return 0;
}

static int expect(struct cur *c, const char *tok, const char *after, size_t aftern)
{
	char fb[32];
	if (punct(c, tok))
		return 0;
	return fail(c, "expected '%s' after '%.*s', found %s", tok, (int)(aftern > 40 ? 40 : aftern), after,
		    found(c, fb, sizeof fb));
}

static int lookup(const char *const *names, size_t count, const char *w, size_t wn)
{
	for (size_t i = 0; i < count; i++)
		if (names[i] && strlen(names[i]) == wn && memcmp(names[i], w, wn) == 0)
			return (int)i;
	return -1;
}

static int type_of(struct cur *c, const char *w, size_t wn, enum hd_type *t)
{
	int i = lookup(type_names, HD__COUNT, w, wn);
	if (i < 0)
		return fail(c, "unknown type '%.*s' (ptr, str, int, uint, long, ulong, size, ssize, i32, u32, i64, u64)",
			    (int)(wn > 24 ? 24 : wn), w);
	*t = (enum hd_type)i;
	return 0;
}

static int *role_slot(struct hookdesc *d, int r)
{
	switch (r) {
	case R_CONN: return &d->conn;
	case R_BUF: return &d->buf;
	case R_LEN: return &d->len;
	case R_WRITTEN: return &d->written;
	default: return &d->host;
	}
}

static int parse_args(struct cur *c, struct hookdesc *d)
{
	if (punct(c, ")"))
		return 0;
	const char *save = c->p;
	const char *w;
	size_t wn;
	/* "(void)": no arguments */
	if (word(c, NULL, &w, &wn) && wn == 4 && memcmp(w, "void", 4) == 0 && punct(c, ")"))
		return 0;
	c->p = save;
	for (;;) {
		char fb[32];
		if (!word(c, NULL, &w, &wn))
			return fail(c, "expected an argument type, found %s", found(c, fb, sizeof fb));
		enum hd_type t = HD_VOID;
		if (type_of(c, w, wn, &t) < 0)
			return -1;
		if (t == HD_VOID)
			return fail(c, "an argument cannot be of type 'void'");
		if (d->nargs >= HOOKDESC_ARGS_MAX)
			return fail(c, "more than %d arguments", HOOKDESC_ARGS_MAX);
		unsigned idx = d->nargs++;
		d->args[idx] = t;
		const char *lw;
		size_t lwn;
		if (word(c, NULL, &lw, &lwn)) {
			int r = lookup(role_names, R__COUNT, lw, lwn);
			if (r >= 0) {
				int *slot = role_slot(d, r);
				if (*slot >= 0)
					return fail(c, "two '%s' arguments", role_names[r]);
				*slot = (int)idx;
			}
		}
		if (punct(c, ")"))
			return 0;
		if (!punct(c, ","))
			return fail(c, "expected ',' or ')' after an argument, found %s", found(c, fb, sizeof fb));
	}
}

static int need(struct cur *c, const struct hookdesc *d, int idx, const char *role)
{
	if (idx < 0)
		return fail(c, "@%s needs a '%s' argument", kind_names[d->kind], role);
	return 0;
}

static int forbid(struct cur *c, const struct hookdesc *d, int idx, const char *role)
{
	if (idx >= 0)
		return fail(c, "@%s takes no '%s' argument", kind_names[d->kind], role);
	return 0;
}

static int want_type(struct cur *c, const struct hookdesc *d, int idx, const char *role, int ok)
{
	if (!ok)
		return fail(c, "'%s' argument cannot be of type '%s'", role, hookdesc_type_name(d->args[idx]));
	return 0;
}

static int is_ptr(enum hd_type t)
{
	return t == HD_PTR || t == HD_STR;
}

static int check_roles(struct cur *c, struct hookdesc *d)
{
	if (need(c, d, d->conn, "conn") < 0 ||
	    want_type(c, d, d->conn, "conn", d->args[d->conn] == HD_PTR || hookdesc_type_is_int(d->args[d->conn])) < 0)
		return -1;
	switch (d->kind) {
	case HD_WRITE:
		if (need(c, d, d->buf, "buf") < 0 || need(c, d, d->len, "len") < 0 || forbid(c, d, d->host, "host") < 0)
			return -1;
		if (want_type(c, d, d->buf, "buf", is_ptr(d->args[d->buf])) < 0 ||
		    want_type(c, d, d->len, "len", hookdesc_type_is_int(d->args[d->len])) < 0)
			return -1;
		if (d->written >= 0) {
			if (want_type(c, d, d->written, "written", d->args[d->written] == HD_PTR) < 0)
				return -1;
		} else if (d->ret != HD_VOID && !hookdesc_type_is_int(d->ret)) {
			return fail(c, "cannot count the bytes written: return type '%s' is not an integer "
				       "(add a 'written' argument)",
				    hookdesc_type_name(d->ret));
		}
		break;
	case HD_FREE:
		if (forbid(c, d, d->buf, "buf") < 0 || forbid(c, d, d->len, "len") < 0 ||
		    forbid(c, d, d->written, "written") < 0 || forbid(c, d, d->host, "host") < 0)
			return -1;
		break;
	case HD_HOST:
		if (need(c, d, d->host, "host") < 0 || forbid(c, d, d->buf, "buf") < 0 ||
		    forbid(c, d, d->written, "written") < 0)
			return -1;
		if (want_type(c, d, d->host, "host", is_ptr(d->args[d->host])) < 0)
			return -1;
		if (d->len >= 0 && want_type(c, d, d->len, "len", hookdesc_type_is_int(d->args[d->len])) < 0)
			return -1;
		break;
	}
	return 0;
}

int hookdesc_parse(const char *p, size_t n, struct hookdesc *d, struct tk_error *err)
{
	struct cur c = { .p = p, .end = p + n, .err = err };
	const char *w;
	size_t wn;
	char fb[32];

	memset(d, 0, sizeof *d);
	d->conn = d->buf = d->len = d->written = d->host = -1;
	d->ret = HD_VOID;
	d->kind = HD_WRITE;

	/* NAME */
	if (!word(&c, ".+-", &w, &wn))
		return fail(&c, "expected a name before ':', found %s", found(&c, fb, sizeof fb));
	if (wn >= HOOKDESC_NAME_MAX)
		return fail(&c, "name '%.24s...' is longer than %d characters", w, HOOKDESC_NAME_MAX - 1);
	memcpy(d->name, w, wn);
	d->name[wn] = '\0';
	if (expect(&c, ":", w, wn) < 0)
		return -1;

	/* SYMBOL */
	if (!word(&c, NULL, &w, &wn) || (w[0] >= '0' && w[0] <= '9')) {
		c.p = w;
		return fail(&c, "expected a symbol name after ':', found %s", found(&c, fb, sizeof fb));
	}
	if (wn >= HOOKDESC_SYMBOL_MAX)
		return fail(&c, "symbol '%.24s...' is longer than %d characters", w, HOOKDESC_SYMBOL_MAX - 1);
	memcpy(d->symbol, w, wn);
	d->symbol[wn] = '\0';
	if (expect(&c, "(", w, wn) < 0)
		return -1;
	if (parse_args(&c, d) < 0)
		return -1;

	if (punct(&c, "->")) {
		if (!word(&c, NULL, &w, &wn))
			return fail(&c, "expected a return type after '->', found %s", found(&c, fb, sizeof fb));
		if (type_of(&c, w, wn, &d->ret) < 0)
			return -1;
	}
	if (punct(&c, "@")) {
		int k;
		if (!word(&c, NULL, &w, &wn) || (k = lookup(kind_names, 3, w, wn)) < 0) {
			c.p = w;
			return fail(&c, "expected a kind after '@' (write, free, host), found %s", found(&c, fb, sizeof fb));
		}
		d->kind = (enum hd_kind)k;
	}
	skip_ws(&c);
	if (c.p < c.end)
		return fail(&c, "unexpected %s after the description", found(&c, fb, sizeof fb));
	return check_roles(&c, d);
}
