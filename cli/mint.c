/* tokshim mint: sign an Access Token from claims given as options.
 *
 * A helper for tests and demos (make demo, tests/e2e): it makes the tokens,
 * good and deliberately broken, that the examples send to the local servers.
 * Tokens for production come from Twilio's helper libraries on your server.
 *
 * Header and payload are built with jansson, so every string is escaped;
 * the signature is HMAC-SHA256/384/512 from OpenSSL, base64url encoded. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cli/cli.h"
#include "decode/b64url.h"
#include "decode/diag.h"
#include "report/report.h"

static const char mint_usage[] =
	"usage: tokshim mint [OPTIONS]\n"
	"\n"
	"Sign a Twilio-style Access Token and print it. A helper for tests and demos:\n"
	"it makes good tokens and deliberately broken ones (expired, wrong grant, ...).\n"
	"Mint production tokens with Twilio's helper libraries on your server.\n"
	"\n"
	"options:\n"
	"  --secret S            API Key Secret to sign with (else env TOKSHIM_SECRET)\n"
	"  --key SKxxx           API Key SID: iss, and jti's prefix (default SK000...)\n"
	"  --account ACxxx       Account SID: sub (default AC000...)\n"
	"  --identity ID         grants.identity (default alice)\n"
	"  --no-identity         no grants.identity\n"
	"  --grant SPEC          add a grant: NAME[:FIELD=VALUE[,FIELD=VALUE...]]; FIELD may be\n"
	"                        dotted (outgoing.application_sid); true/false become booleans.\n"
	"                        e.g. chat:service_sid=ISxxx  data_sync:service_sid=ISxxx\n"
	"                        voice:outgoing.application_sid=APxxx,incoming.allow=true\n"
	"                        video:room=NAME\n"
	"  --no-grants           no grants object at all\n"
	"  --now T               the time the token is made (default: now; +/-N: from now)\n"
	"  --ttl SECONDS         lifetime: exp = now + SECONDS (default 3600)\n"
	"  --exp T               exp, overriding --ttl\n"
	"  --nbf T|none          not-before (default: now)\n"
	"  --iat T|none          issued-at (default: now)\n"
	"  --jti VALUE           jti (default KEY-NOW)\n"
	"  --alg HS256|HS384|HS512|none  signing algorithm (default HS256; none: no signature)\n"
	"  --region REG          header twr, the API key's region (e.g. ie1)\n"
	"  --cty VALUE           header cty (default twilio-fpa;v=1)\n"
	"  --no-cty              no cty header\n"
	"  --claim NAME=JSON     set a payload claim to a JSON value (or a string)\n"
	"  --header NAME=JSON    set a header field to a JSON value (or a string)\n"
	"  -h, --help            this help\n"
	"\n"
	"T is unix seconds, ISO-8601 UTC (2026-11-22T20:00:00Z), or +N/-N seconds from --now.\n"
	"Prints the token and a newline. Exit status: 0 printed, 2 usage error.\n";

#define DEFAULT_KEY "SK00000000000000000000000000000000"
#define DEFAULT_ACCOUNT "AC00000000000000000000000000000000"
#define MINT_MAX_GRANTS 16
#define MINT_MAX_EXTRA 16

/* A time option as given: absent, "none", absolute, or relative to --now. */
struct time_opt {
	enum { T_UNSET, T_NONE, T_ABS, T_REL } kind;
	int64_t v;
};

struct mint_opts {
	const char *secret, *key, *account, *identity, *jti, *alg, *region, *cty;
	int no_identity, no_grants, no_cty;
	int64_t ttl;
	struct time_opt now, nbf, iat, exp;
	const char *grants[MINT_MAX_GRANTS];
	size_t ngrants;
	const char *claims[MINT_MAX_EXTRA], *headers[MINT_MAX_EXTRA];
	size_t nclaims, nheaders;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("tokshim mint: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\n(see tokshim mint --help)\n", stderr);
	va_end(ap);
	return 2;
}

static int parse_int64(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno)
		return -1;
	*out = v;
	return 0;
}

static int parse_time_opt(const char *s, int allow_none, struct time_opt *t)
{
	if (allow_none && !strcmp(s, "none")) {
		t->kind = T_NONE;
		return 0;
	}
	if ((s[0] == '+' || s[0] == '-') && s[1]) {
		t->kind = T_REL;
		return parse_int64(s, &t->v);
	}
	t->kind = T_ABS;
	return parse_time(s, &t->v);
}

static int64_t resolve(const struct time_opt *t, int64_t now, int64_t dflt)
{
	switch (t->kind) {
	case T_ABS:
		return t->v;
	case T_REL:
		return now + t->v;
	default:
		return dflt;
	}
}

/* Sets obj[path] = value, creating the objects a dotted path walks through.
 * Takes the reference to value. -1 when a path step is not an object. */
static int set_path(json_t *obj, const char *path, json_t *value)
{
	char buf[128];
	if (strlen(path) >= sizeof(buf) || !*path) {
		json_decref(value);
		return -1;
	}
	strcpy(buf, path);
	char *seg = buf, *dot;
	while ((dot = strchr(seg, '.'))) {
		*dot = 0;
		if (!*seg)
			break;
		json_t *next = json_object_get(obj, seg);
		if (!next) {
			next = json_object();
			json_object_set_new(obj, seg, next);
		} else if (!json_is_object(next)) {
			json_decref(value);
			return -1;
		}
		obj = next;
		seg = dot + 1;
	}
	if (!*seg) {
		json_decref(value);
		return -1;
	}
	return json_object_set_new(obj, seg, value);
}

static json_t *grant_value(const char *v)
{
	if (!strcmp(v, "true"))
		return json_true();
	if (!strcmp(v, "false"))
		return json_false();
	return json_string(v);
}

/* NAME[:FIELD=VALUE,...] into grants. 0, or 2 after a usage message. */
static int add_grant(json_t *grants, const char *spec)
{
	char buf[1024];
	if (strlen(spec) >= sizeof(buf))
		return usage_error("--grant '%.40s...': too long", spec);
	strcpy(buf, spec);
	char *fields = strchr(buf, ':');
	if (fields)
		*fields++ = 0;
	if (!*buf || strspn(buf, "abcdefghijklmnopqrstuvwxyz_") != strlen(buf) || !strcmp(buf, "identity"))
		return usage_error("--grant '%s': want NAME[:FIELD=VALUE,...] with a lower-case grant name", spec);
	json_t *g = json_object_get(grants, buf);
	if (!g) {
		g = json_object();
		json_object_set_new(grants, buf, g);
	}
	if (!fields || !*fields)
		return 0;
	char *save = NULL;
	for (char *f = strtok_r(fields, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(f, '=');
		if (!eq)
			return usage_error("--grant '%s': a field without '=VALUE'", spec);
		*eq = 0;
		if (set_path(g, f, grant_value(eq + 1)))
			return usage_error("--grant '%s': bad field name", spec);
	}
	return 0;
}

/* NAME=JSON (or NAME=string) into obj. */
static int add_extra(json_t *obj, const char *spec, const char *opt)
{
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec)
		return usage_error("%s '%s': want NAME=VALUE", opt, spec);
	char name[128];
	size_t n = (size_t)(eq - spec);
	if (n >= sizeof(name))
		return usage_error("%s: name too long", opt);
	memcpy(name, spec, n);
	name[n] = 0;
	json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
	if (!v)
		v = json_string(eq + 1);
	if (!v)
		return usage_error("%s '%s': value is not UTF-8", opt, name);
	json_object_set_new(obj, name, v);
	return 0;
}

/* base64url(JSON of obj) appended to out at *len; 0 or -1. */
static int append_segment(json_t *obj, char *out, size_t cap, size_t *len)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s)
		return -1;
	size_t n = strlen(s);
	int rc = -1;
	if (*len + (n + 2) / 3 * 4 + 8 < cap) {
		*len += b64url_encode((const uint8_t *)s, n, out + *len, cap - *len);
		rc = 0;
	}
	free(s);
	return rc;
}

static const EVP_MD *alg_md(const char *alg)
{
	if (!strcmp(alg, "HS256"))
		return EVP_sha256();
	if (!strcmp(alg, "HS384"))
		return EVP_sha384();
	if (!strcmp(alg, "HS512"))
		return EVP_sha512();
	return NULL;
}

static int mint_build(const struct mint_opts *o, char *out, size_t cap)
{
	int64_t clock_now;
	if (report_wall_clock(&clock_now) < 0) {
		if (o->now.kind != T_ABS) {
			fprintf(stderr, "tokshim mint: cannot read 'the clock': %s; pass --now TIME\n", strerror(EOVERFLOW));
			return 2;
		}
		clock_now = o->now.v;
	}
	int64_t now = resolve(&o->now, clock_now, clock_now);
	int rc = 1;
	json_t *hdr = json_object(), *pl = json_object(), *grants = json_object();
	if (!hdr || !pl || !grants)
		goto done;

	json_object_set_new(hdr, "alg", json_string(o->alg));
	json_object_set_new(hdr, "typ", json_string("JWT"));
	if (!o->no_cty)
		json_object_set_new(hdr, "cty", json_string(o->cty ? o->cty : "twilio-fpa;v=1"));
	if (o->region)
		json_object_set_new(hdr, "twr", json_string(o->region));
	for (size_t i = 0; i < o->nheaders; i++)
		if ((rc = add_extra(hdr, o->headers[i], "--header")))
			goto done;
	rc = 1;

	char jti[160];
	if (o->jti)
		snprintf(jti, sizeof(jti), "%s", o->jti);
	else
		snprintf(jti, sizeof(jti), "%s-%lld", o->key, (long long)now);
	json_object_set_new(pl, "jti", json_string(jti));
	if (!o->no_grants) {
		if (!o->no_identity)
			json_object_set_new(grants, "identity", json_string(o->identity ? o->identity : "alice"));
		for (size_t i = 0; i < o->ngrants; i++)
			if ((rc = add_grant(grants, o->grants[i])))
				goto done;
		rc = 1;
		json_object_set(pl, "grants", grants);
	}
	if (o->iat.kind != T_NONE)
		json_object_set_new(pl, "iat", json_integer(resolve(&o->iat, now, now)));
	if (o->nbf.kind != T_NONE)
		json_object_set_new(pl, "nbf", json_integer(resolve(&o->nbf, now, now)));
	json_object_set_new(pl, "exp", json_integer(resolve(&o->exp, now, now + o->ttl)));
	json_object_set_new(pl, "iss", json_string(o->key));
	json_object_set_new(pl, "sub", json_string(o->account));
	for (size_t i = 0; i < o->nclaims; i++)
		if ((rc = add_extra(pl, o->claims[i], "--claim")))
			goto done;
	rc = 1;

	size_t len = 0;
	if (append_segment(hdr, out, cap, &len) || len + 2 >= cap)
		goto too_big;
	out[len++] = '.';
	if (append_segment(pl, out, cap, &len) || len + 2 >= cap)
		goto too_big;
	size_t signed_len = len;
	out[len++] = '.';
	const EVP_MD *md = alg_md(o->alg);
	if (md) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int maclen = 0;
		if (!HMAC(md, o->secret, (int)strlen(o->secret), (const unsigned char *)out, signed_len, mac,
			  &maclen)) {
			fputs("tokshim mint: cannot compute 'signature': HMAC failed\n", stderr);
			goto done;
		}
		if (len + (maclen + 2) / 3 * 4 + 8 >= cap)
			goto too_big;
		len += b64url_encode(mac, maclen, out + len, cap - len);
		OPENSSL_cleanse(mac, sizeof(mac));
	}
	out[len] = 0;
	rc = 0;
	goto done;
too_big:
	fputs("tokshim mint: cannot build 'token': longer than the buffer\n", stderr);
	rc = 2;
done:
	json_decref(grants);
	json_decref(hdr);
	json_decref(pl);
	return rc;
}

/* "--name VALUE" or "--name=VALUE": the value, advancing *i; NULL if not this option. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n])
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

int cmd_mint(int argc, char **argv)
{
	struct mint_opts o;
	memset(&o, 0, sizeof(o));
	o.key = DEFAULT_KEY;
	o.account = DEFAULT_ACCOUNT;
	o.alg = "HS256";
	o.ttl = 3600;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		int missing = 0;
#define OPT(name) ((v = opt_value(argc, argv, &i, name, &missing)) != NULL)
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(mint_usage, stdout);
			return 0;
		} else if (!strcmp(a, "--no-identity")) {
			o.no_identity = 1;
		} else if (!strcmp(a, "--no-grants")) {
			o.no_grants = 1;
		} else if (!strcmp(a, "--no-cty")) {
			o.no_cty = 1;
		} else if (OPT("--secret")) {
			o.secret = v;
		} else if (OPT("--key")) {
			o.key = v;
		} else if (OPT("--account")) {
			o.account = v;
		} else if (OPT("--identity")) {
			o.identity = v;
		} else if (OPT("--jti")) {
			o.jti = v;
		} else if (OPT("--region")) {
			o.region = v;
		} else if (OPT("--cty")) {
			o.cty = v;
		} else if (OPT("--alg")) {
			if (strcmp(v, "none") && !alg_md(v))
				return usage_error("--alg '%s': want HS256, HS384, HS512 or none", v);
			o.alg = v;
		} else if (OPT("--ttl")) {
			if (parse_int64(v, &o.ttl))
				return usage_error("--ttl '%s': want a number of seconds", v);
		} else if (OPT("--now")) {
			if (parse_time_opt(v, 0, &o.now))
				return usage_error("--now '%s': want a time (unix, ISO-8601 or +/-seconds)", v);
		} else if (OPT("--exp")) {
			if (parse_time_opt(v, 0, &o.exp))
				return usage_error("--exp '%s': want a time (unix, ISO-8601 or +/-seconds)", v);
		} else if (OPT("--nbf")) {
			if (parse_time_opt(v, 1, &o.nbf))
				return usage_error("--nbf '%s': want a time or none", v);
		} else if (OPT("--iat")) {
			if (parse_time_opt(v, 1, &o.iat))
				return usage_error("--iat '%s': want a time or none", v);
		} else if (OPT("--grant")) {
			if (o.ngrants == MINT_MAX_GRANTS)
				return usage_error("too many --grant options (at most %d)", MINT_MAX_GRANTS);
			o.grants[o.ngrants++] = v;
		} else if (OPT("--claim")) {
			if (o.nclaims == MINT_MAX_EXTRA)
				return usage_error("too many --claim options (at most %d)", MINT_MAX_EXTRA);
			o.claims[o.nclaims++] = v;
		} else if (OPT("--header")) {
			if (o.nheaders == MINT_MAX_EXTRA)
				return usage_error("too many --header options (at most %d)", MINT_MAX_EXTRA);
			o.headers[o.nheaders++] = v;
		} else if (missing) {
			return usage_error("option '%s' needs a value", a);
		} else {
			return usage_error("unknown argument '%s'", a);
		}
#undef OPT
	}
	if (!o.secret)
		o.secret = getenv("TOKSHIM_SECRET");
	if (!o.secret && strcmp(o.alg, "none"))
		return usage_error("cannot sign: no secret: give --secret S or set TOKSHIM_SECRET");

	char token[16384 + 64];
	int rc = mint_build(&o, token, sizeof(token));
	if (rc)
		return rc;
	if (printf("%s\n", token) < 0 || fflush(stdout)) {
		fputs("tokshim mint: cannot write 'stdout'\n", stderr);
		return 2;
	}
	return 0;
}
