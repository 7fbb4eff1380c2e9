/* libFuzzer target over the whole wire decoder and the session around it.
 * Input: byte 0 picks the host (SNI) and TLS flag, byte 1 seeds the split
 * points, the rest is the client-to-server stream. The stream is fed to a
 * bare decoder in pieces (checking the feed contract) and then, whole and in
 * other pieces, through session_feed with validation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/session.h"
#include "decode/wire.h"

static const char *const hosts[] = {
	NULL,
	"tsock.us1.twilio.com",
	"tsock.ie1.twilio.com",
	"voice-js.roaming.twilio.com",
	"chunderw-vpc-gll-au1.twilio.com",
	"global.vss.twilio.com",
	"chat.example.com",
	"localhost",
};

static struct host_rule rules[2];
static struct wire_config wcfg;
static struct wire *w;
static struct session *s;
static struct keyring *kr;
static int emitted;

static void on_diag(void *ctx, const struct diag *d)
{
	(void)ctx;
	if (!d->message || d->ncauses > DIAG_MAX_CAUSES)
		abort();
	emitted++;
}

static void setup(void)
{
	if (w)
		return;
	struct tk_error err = {0};
	int n = host_rules_parse("chat.example.com=conversations,localhost:9443=video", rules, 2, &err);
	if (n != 2)
		abort();
	wcfg.hosts = rules;
	wcfg.nhosts = 2;
	w = malloc(wire_sizeof());
	s = malloc(session_sizeof());
	kr = keyring_new();
	keyring_add(kr, NULL, "wire-test-secret-0123456789abcdef", 33, &err);
}

static size_t next_cut(uint32_t *st, size_t left)
{
	*st = *st * 1103515245u + 12345u;
	uint32_t r = *st >> 8;
	size_t n;
	switch (r & 3) {
	case 0:
		n = 1;
		break;
	case 1:
		n = 1 + (r >> 2) % 16;
		break;
	case 2:
		n = 1 + (r >> 2) % 4096;
		break;
	default:
		n = left;
	}
	return n < left ? n : left;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	if (size < 2)
		return 0;
	const char *host = hosts[data[0] & 7];
	int tls = (data[0] >> 3) & 1;
	uint32_t st = data[1];
	const uint8_t *p = data + 2;
	size_t len = size - 2;

	wire_init(w, &wcfg, tls);
	if (host)
		wire_set_host(w, host, strlen(host));
	wire_set_port(w, (data[0] & 0x10) ? 9443 : 443);
	/* data[0] >> 5: 0..3 the stream from its start (detection, HTTP
	 * upgrade); 4..7 WebSocket frames after a handshake: 4, 5 client frames,
	 * 6, 7 server frames, the odd ones without context takeover */
	unsigned how = data[0] >> 5;
	if (how >= 4) {
		enum ws_dir dir = how >= 6 ? WS_SERVER : WS_CLIENT;
		unsigned ext = WIRE_WS_DEFLATE;
		if (how & 1)
			ext |= dir == WS_SERVER ? WIRE_WS_SERVER_NO_CTX : WIRE_WS_CLIENT_NO_CTX;
		wire_start_ws(w, dir, ext);
	}
	size_t off = 0;
	while (off < len) {
		size_t n = next_cut(&st, len - off);
		size_t end = off + n;
		if (st & 0x100) {
			/* the per-write fast path first, as the shim's hooks do */
			size_t t = ws_frame_take(wire_frame(w), p + off, n);
			if (t > n)
				abort();
			off += t;
		}
		while (off < end) {
			struct wire_event ev;
			ssize_t k = wire_feed(w, p + off, end - off, &ev);
			if (k < 0) {
				if (ev.kind != WIRE_EV_NONE || k < WIRE_E_NOMEM)
					abort();
				off = end;
				break;
			}
			if ((size_t)k > end - off)
				abort();
			off += (size_t)k;
			if (ev.kind == WIRE_EV_NONE) {
				if (off != end)
					abort(); /* stopped early without an event */
				break;
			}
			if (!ev.message || !ev.where || !ev.token || ev.token_len > 70000)
				abort();
			/* the borrowed token must be readable */
			volatile unsigned char sink = 0;
			for (size_t i = 0; i < ev.token_len; i++)
				sink ^= (unsigned char)ev.token[i];
			(void)sink;
		}
	}
	wire_release(w);

	struct session_config cfg;
	memset(&cfg, 0, sizeof cfg);
	vconfig_init(&cfg.v);
	cfg.v.keys = kr;
	cfg.w = wcfg;
	session_init(s, &cfg, tls);
	if (host)
		session_set_host(s, host, strlen(host));
	emitted = 0;
	int64_t now = 1795383000;
	off = 0;
	while (off < len) {
		size_t n = next_cut(&st, len - off);
		emitted -= session_feed(s, p + off, n, now, on_diag, NULL);
		now += 60;
		off += n;
	}
	if (emitted != 0)
		abort(); /* the count returned is the count emitted */
	session_release(s);
	return 0;
}
