/* Helpers for the session tests (test_session.c, test_answer.c,
 * test_answer_h2.c, test_park.c): the records a session gives, collected in
 * order (MAXD of them kept, define it before including to keep more), and a
 * session set up as the shim sets one up: a keyring holding the test key,
 * the configuration, a zeroed block. */
#ifndef TOKSHIM_SESSION_TESTLIB_H
#define TOKSHIM_SESSION_TESTLIB_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "decode/session.h"
#include "tests/unit/wire_testlib.h"

#ifndef MAXD
#define MAXD 8
#endif

struct got {
	size_t n; /* records given, also those past MAXD */
	struct diag d[MAXD];
};

static inline void collect(void *ctx, const struct diag *d)
{
	struct got *g = ctx;
	if (g->n < MAXD)
		g->d[g->n] = *d;
	g->n++;
}

/* A keyring holding WT_KEY's secret, in cfg (set up anew) with account the
 * configured Account SID (NULL none). */
static inline struct keyring *st_config(struct session_config *cfg, const char *account)
{
	struct keyring *kr = keyring_new();
	struct tk_error err = {0};
	cr_assert_eq(keyring_add(kr, WT_KEY, WT_SECRET, strlen(WT_SECRET), &err), 0, "%s", err.msg);
	memset(cfg, 0, sizeof *cfg);
	vconfig_init(&cfg->v);
	cfg->v.keys = kr;
	cfg->v.account_sid = account;
	return kr;
}

/* A session on a TLS connection in a zeroed block (as the pool hands them
 * out), with host as its SNI (NULL none). */
static inline struct session *st_session(const struct session_config *cfg, const char *host)
{
	struct session *s = calloc(1, session_sizeof());
	cr_assert_not_null(s);
	session_init(s, cfg, 1);
	if (host)
		session_set_host(s, host, strlen(host));
	return s;
}

#endif
