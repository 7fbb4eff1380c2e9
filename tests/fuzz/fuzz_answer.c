/* libFuzzer target over the server's direction: the response/message
 * decoder (decode/wire_srv.c) and the session's answers and lifetime checks.
 * Input: byte 0 picks a client prelude (a Twilsock init with a token, a
 * Voice listen, an HTTP request, a SIP REGISTER) and byte 1 seeds the split
 * points; the rest is the server-to-client stream. The stream is fed to a
 * bare decoder in pieces (checking the feed contract: progress, no more than
 * given) and, in other pieces, through session_feed_server after the
 * prelude. The decoder of the server's direction must agree with itself
 * whatever the split. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/session.h"
#include "decode/wire_srv.h"

static struct wire_srv *w;
static struct session *s;
static struct keyring *kr;
static char prelude[4][4096];
static size_t prelude_len[4];

static void on_diag(void *ctx, const struct diag *d)
{
	(void)ctx;
	if (d->ncauses > DIAG_MAX_CAUSES)
		abort();
	if (d->event == DIAG_EV_ANSWER && (d->answer.npred > ANSWER_PRED_CAUSES || !memchr(d->answer.text, 0, sizeof d->answer.text)))
		abort();
}

/* A token-shaped string (not signed: the prediction is a reject, which
 * still makes a question) */
static const char tok[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImN0eSI6InR3aWxpby1mcGE7dj0xIn0."
			  "eyJqdGkiOiJTSzAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmLTEiLCJpc3MiOiJTSzAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIiwic3ViIjoiQUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZiIsImV4cCI6MTc5NTM4NjYwMCwiZ3JhbnRzIjp7ImlkZW50aXR5IjoiYWxpY2UiLCJjaGF0Ijp7InNlcnZpY2Vfc2lkIjoiSVMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZiJ9fX0."
			  "AAAA";

static size_t frame(char *out, const char *payload, int op)
{
	size_t n = strlen(payload), k = 0;
	out[k++] = (char)(0x80 | op);
	if (n < 126) {
		out[k++] = (char)(0x80 | n);
	} else {
		out[k++] = (char)(0x80 | 126);
		out[k++] = (char)(n >> 8);
		out[k++] = (char)n;
	}
	memset(out + k, 0, 4); /* a zero mask */
	k += 4;
	memcpy(out + k, payload, n);
	return k + n;
}

static void setup(void)
{
	if (w)
		return;
	struct tk_error err = {0};
	w = malloc(wire_srv_sizeof());
	s = malloc(session_sizeof());
	kr = keyring_new();
	keyring_add(kr, NULL, "wire-test-secret-0123456789abcdef", 33, &err);
	static const char up[] = "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
				 "Sec-WebSocket-Key: a\r\nSec-WebSocket-Version: 13\r\n\r\n";
	char msg[2048], tmp[1024];
	size_t n = (size_t)snprintf(prelude[0], sizeof prelude[0], up, "/v3/wsconnect");
	int h = snprintf(tmp, sizeof tmp, "{\"id\":\"TM1\",\"method\":\"init\",\"token\":\"%s\"}", tok);
	snprintf(msg, sizeof msg, "TWILSOCK V3.0 %d\r\n%s\r\n", h, tmp);
	prelude_len[0] = n + frame(prelude[0] + n, msg, 2);
	n = (size_t)snprintf(prelude[1], sizeof prelude[1], up, "/signal");
	snprintf(msg, sizeof msg, "{\"type\":\"listen\",\"payload\":{\"token\":\"%s\"}}", tok);
	prelude_len[1] = n + frame(prelude[1] + n, msg, 1);
	prelude_len[2] = (size_t)snprintf(prelude[2], sizeof prelude[2],
					  "GET /a HTTP/1.1\r\nX-Twilio-Token: %s\r\n\r\nGET /b HTTP/1.1\r\n\r\n", tok);
	prelude_len[3] = (size_t)snprintf(prelude[3], sizeof prelude[3],
					  "REGISTER sip:x SIP/2.0\r\nX-Twilio-AccessToken: %s\r\nContent-Length: 0\r\n\r\n", tok);
}

static size_t next_cut(uint32_t *st, size_t left)
{
	*st = *st * 1103515245u + 12345u;
	uint32_t r = *st >> 8;
	size_t n = (r & 1) ? 1 + r % 7 : 1 + r % 600;
	return n < left ? n : left;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	if (size < 2)
		return 0;
	unsigned pick = data[0] & 3;
	uint32_t st = data[1];
	data += 2;
	size -= 2;

	/* the bare decoder: events in pieces; the feed contract */
	wire_srv_init(w);
	size_t off = 0, guard = 0;
	while (off < size && guard++ < 4 * size + 16) {
		size_t n = next_cut(&st, size - off);
		size_t p = 0;
		while (p < n) {
			struct srv_event ev;
			size_t k = wire_srv_feed(w, data + off + p, n - p, &ev);
			if (k > n - p)
				abort();
			if (ev.kind == SRV_EV_NONE && k != n - p)
				abort(); /* all consumed unless an event stopped it */
			if (!memchr(ev.text, 0, sizeof ev.text) || !memchr(ev.id, 0, sizeof ev.id))
				abort();
			p += k;
			if (k == 0 && ev.kind == SRV_EV_NONE)
				break;
		}
		off += n;
	}
	wire_srv_release(w);

	/* the session: a question first, then the server's bytes */
	struct session_config cfg;
	memset(&cfg, 0, sizeof cfg);
	vconfig_init(&cfg.v);
	cfg.v.keys = kr;
	session_init(s, &cfg, 1);
	session_feed(s, prelude[pick], prelude_len[pick], 1795383000, on_diag, NULL);
	off = 0;
	int64_t now = 1795383000;
	while (off < size) {
		size_t n = next_cut(&st, size - off);
		session_feed_server(s, data + off, n, now, on_diag, NULL);
		if (n & 1)
			session_feed(s, "\x81\x80\0\0\0\0", 6, now, on_diag, NULL);
		now += (int64_t)(n % 5) * 100;
		off += n;
	}
	session_release(s);
	return 0;
}
