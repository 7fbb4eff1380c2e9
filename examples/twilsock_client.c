/* twilsock_client: what a Conversations or Sync client does first.
 *
 * Opens wss://HOST:PORT/v3/wsconnect (SNI tsock.us1.twilio.com by default),
 * sends a Twilsock `init` carrying the Access Token, prints the server's
 * reply; with --update, then sends an `update` with a second token, as an app
 * does when it refreshes its token, and prints that reply too.
 *
 *   twilsock_client --port 9443 --cafile ca.pem TOKEN
 *   TOKEN=... twilsock_client --port 9443 -k --update TOKEN2
 *
 * Exit status: 0 every message accepted, 1 the server refused one, 2 usage
 * or connection error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "ws.h"

#define MSG_MAX 65536

static void usage(FILE *f)
{
	fprintf(f, "usage: twilsock_client [OPTIONS] [TOKEN]\n"
		   "Sends a Twilsock init (and an update with --update) and prints the replies.\n"
		   "TOKEN defaults to $TOKEN.\n\noptions:\n%s"
		   "  --binary         send binary frames, as the Android SDK does\n"
		   "  --update TOKEN2  after init, send an update with TOKEN2 (a token refresh)\n"
		   "  --path PATH      request path (default /v3/wsconnect)\n",
		ws_target_usage);
}

static void new_id(char *id, size_t cap)
{
	unsigned char r[16];
	RAND_bytes(r, sizeof(r));
	int n = snprintf(id, cap, "TM");
	for (size_t k = 0; k < sizeof(r) && (size_t)n + 2 < cap; k++)
		n += snprintf(id + n, cap - (size_t)n, "%02x", r[k]);
}

/* Sends one Twilsock message: "TWILSOCK V3.0 <n>\r\n<header>\r\n" (no payload). */
static int send_twilsock(struct ws *ws, int binary, const char *header)
{
	char *msg = malloc(strlen(header) + 64);
	if (!msg)
		return -1;
	int n = sprintf(msg, "TWILSOCK V3.0 %zu\r\n%s\r\n", strlen(header), header);
	int rc = ws_send(ws, binary ? WS_BINARY : WS_TEXT, msg, (size_t)n);
	free(msg);
	return rc;
}

/* Reads messages until the reply to `id`. Returns its status code (200, 401,
 * ...), 0 when the server closed first, -1 on error. */
static int read_reply(struct ws *ws, const char *id)
{
	static char buf[MSG_MAX];
	for (;;) {
		enum ws_opcode op;
		int close_code = 0;
		long n = ws_recv(ws, &op, buf, sizeof(buf), &close_code);
		if (n < 0) {
			fprintf(stderr, "twilsock_client: %s\n", ws->err);
			return -1;
		}
		if (op == WS_CLOSE) {
			printf("server closed the connection (%d)\n", close_code);
			return 0;
		}
		/* TWILSOCK V3.0 <header length>\r\n<header>\r\n<payload> */
		size_t hlen;
		int off = 0;
		if (sscanf(buf, "TWILSOCK V3.0 %zu\r\n%n", &hlen, &off) != 1 || off == 0 ||
		    hlen > (size_t)n - (size_t)off) {
			printf("server sent something else: %.80s\n", buf);
			continue;
		}
		char *header = buf + off;
		char *payload = header + hlen;
		char saved = *payload;
		*payload = 0;
		printf("server: %s\n", header);
		*payload = saved;
		if (payload[0] == '\r' && payload[1] == '\n' && payload[2])
			printf("  payload: %s\n", payload + 2);
		if (strstr(header, "\"reply\"") && strstr(header, id)) {
			long status = json_find_int(strstr(header, "\"status\""), "code", -1);
			return (int)status;
		}
	}
}

/* Sends `method` with `token` and waits for the reply; returns its status. */
static int call(struct ws *ws, int binary, const char *method, const char *token)
{
	size_t cap = strlen(token) * 6 + 512;
	char *quoted = malloc(cap), *header = malloc(cap + 512), id[40];
	if (!quoted || !header || json_quote(token, quoted, cap) < 0) {
		free(quoted);
		free(header);
		return -1;
	}
	new_id(id, sizeof(id));
	if (!strcmp(method, "init"))
		snprintf(header, cap + 512,
			 "{\"id\":\"%s\",\"method\":\"init\",\"token\":%s,\"continuation_token\":null,"
			 "\"metadata\":{\"ver\":\"0.1.0\",\"env\":\"tokshim-example\",\"os\":\"linux\"},"
			 "\"registrations\":null,\"tweaks\":null,"
			 "\"capabilities\":[\"client_update\",\"offline_storage\",\"telemetry.v1\"],"
			 "\"payload_size\":0}",
			 id, quoted);
	else
		snprintf(header, cap + 512, "{\"id\":\"%s\",\"method\":\"%s\",\"token\":%s,\"payload_size\":0}",
			 id, method, quoted);
	free(quoted);
	int rc = send_twilsock(ws, binary, header);
	free(header);
	if (rc) {
		fprintf(stderr, "twilsock_client: %s\n", ws->err);
		return -1;
	}
	printf("sent %s (%zu-byte token)\n", method, strlen(token));
	fflush(stdout);
	rc = read_reply(ws, id);
	fflush(stdout);
	return rc;
}

int main(int argc, char **argv)
{
	struct ws_target t = {.sni = "tsock.us1.twilio.com"};
	const char *path = "/v3/wsconnect", *token_arg = NULL, *update_arg = NULL;
	int binary = 0, update = 0;

	for (int i = 1; i < argc; i++) {
		int r = ws_target_option(&t, argc, argv, &i);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--binary")) {
			binary = 1;
		} else if (!strcmp(argv[i], "--update") && i + 1 < argc) {
			update = 1;
			update_arg = argv[++i];
		} else if (!strcmp(argv[i], "--path") && i + 1 < argc) {
			path = argv[++i];
		} else if (argv[i][0] != '-' && !token_arg) {
			token_arg = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	const char *token = example_token(token_arg);
	const char *token2 = update_arg;
	if (!token) {
		fputs("twilsock_client: no token: give it as an argument or in $TOKEN\n", stderr);
		return 2;
	}

	struct ws ws;
	if (ws_open(&ws, &t, path)) {
		fprintf(stderr, "twilsock_client: %s\n", ws.err);
		return 2;
	}
	int status = call(&ws, binary, "init", token);
	if (status == 200 && update)
		status = call(&ws, binary, "update", token2);
	ws_close(&ws);
	if (status < 0)
		return 2;
	return status == 200 ? 0 : 1;
}
