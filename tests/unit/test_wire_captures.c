/* Replays WebSocket client streams written by a real WebSocket library
 * (python3-websockets, through tests/fixtures/gen_ws_frames.py; with and
 * without permessage-deflate and context takeover) through the decoder: whole,
 * byte by byte and at random split points. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "decode/validate.h"
#include "tests/unit/token_peek.h"
#include "tests/unit/wire_testlib.h"

#ifndef TOKSHIM_SRCDIR
#define TOKSHIM_SRCDIR "."
#endif

struct cap_ev {
	enum channel ch;
	const char *msg;
	const char *identity;
};

static const struct {
	const char *file;
	const char *region;
	size_t n;
	struct cap_ev ev[3];
} caps[] = {
	{"twilsock_plain", "us1", 2,
	 {{CHANNEL_TWILSOCK, "init", "alice"}, {CHANNEL_TWILSOCK, "update", "bob"}}},
	{"twilsock_deflate", "us1", 2,
	 {{CHANNEL_TWILSOCK, "init", "alice"}, {CHANNEL_TWILSOCK, "update", "bob"}}},
	{"twilsock_deflate_noctx", "us1", 2,
	 {{CHANNEL_TWILSOCK, "init", "alice"}, {CHANNEL_TWILSOCK, "update", "bob"}}},
	{"voice_deflate", "", 1, {{CHANNEL_VOICE, "listen", "alice_1"}}},
	{"video_deflate_noctx", "", 2, {{CHANNEL_VIDEO, "connect", "carol"}, {CHANNEL_VIDEO, "sync", "carol"}}},
	{"video_plain", "", 2, {{CHANNEL_VIDEO, "connect", "carol"}, {CHANNEL_VIDEO, "sync", "carol"}}},
};

static unsigned char *load(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/tests/fixtures/ws/%s.bin", TOKSHIM_SRCDIR, name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open '%s'", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *p = malloc((size_t)n);
	cr_assert_eq(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void check(size_t i, const struct wt_result *r, const char *how)
{
	cr_assert_eq(r->n, caps[i].n, "%s (%s): %zu events", caps[i].file, how, r->n);
	cr_assert_eq(r->errors[0] + r->errors[1] + r->errors[2] + r->errors[3], 0,
		     "%s (%s): errors", caps[i].file, how);
	for (size_t k = 0; k < r->n; k++) {
		const struct wt_event *e = &r->ev[k];
		cr_assert_eq(e->channel, caps[i].ev[k].ch, "%s: event %zu", caps[i].file, k);
		cr_assert_str_eq(e->message, caps[i].ev[k].msg, "%s: event %zu", caps[i].file, k);
		cr_assert_str_eq(e->region, caps[i].region, "%s: event %zu", caps[i].file, k);
		struct token_summary t;
		memset(&t, 0, sizeof t);
		cr_assert_eq(tv_peek(e->token, e->token_len, &t), 0, "%s: event %zu token", caps[i].file, k);
		cr_assert_str_eq(t.identity, caps[i].ev[k].identity, "%s: event %zu", caps[i].file, k);
	}
}

Test(wire_captures, python_websockets_streams)
{
	struct wire *w = malloc(wire_sizeof());
	struct wt_result *whole = malloc(sizeof *whole), *r = malloc(sizeof *r);
	uint64_t seed = 7;
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
		size_t n;
		unsigned char *p = load(caps[i].file, &n);
		wt_feed_cuts(w, NULL, p, n, NULL, 0, whole);
		check(i, whole, "whole");
		size_t *cuts = malloc(sizeof *cuts * n);
		for (size_t k = 1; k < n; k++)
			cuts[k - 1] = k;
		wt_feed_cuts(w, NULL, p, n, cuts, n - 1, r);
		check(i, r, "byte by byte");
		cr_assert(wt_events_prefix(r, whole, 1), "%s: byte by byte differs", caps[i].file);
		for (int round = 0; round < 30; round++) {
			size_t m = 0, prev = 0, want = 1 + wt_rand(&seed) % 16;
			while (m < want) {
				size_t cut = prev + 1 + wt_rand(&seed) % (n / want + 1);
				if (cut >= n)
					break;
				cuts[m++] = prev = cut;
			}
			wt_feed_cuts(w, NULL, p, n, cuts, m, r);
			cr_assert(wt_events_prefix(r, whole, 1), "%s: split round %d differs", caps[i].file,
				  round);
		}
		free(cuts);
		free(p);
	}
	free(whole);
	free(r);
	free(w);
}
