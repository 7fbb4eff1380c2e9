/* video_client: what the Video SDK does to join a room.
 *
 * Opens wss://HOST:PORT/signaling (SNI global.vss.twilio.com by default),
 * sends the `hello` message whose `connect` body carries the Access Token,
 * prints the server's answer (a "connected" message, or an error such as
 * 20104 Access Token expired).
 *
 *   video_client --port 9443 --cafile ca.pem --room standup TOKEN
 *
 * Exit status: 0 connected, 1 refused, 2 usage or connection error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

int main(int argc, char **argv)
{
	struct ws_target t = {.sni = "global.vss.twilio.com"};
	const char *token_arg = NULL, *room = "demo";
	for (int i = 1; i < argc; i++) {
		int r = ws_target_option(&t, argc, argv, &i);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: video_client [OPTIONS] [TOKEN]\n"
			       "Sends a Video hello/connect and prints the answer. TOKEN defaults to $TOKEN.\n\n"
			       "options:\n%s  --room NAME      room to join (default demo)\n",
			       ws_target_usage);
			return 0;
		}
		if (!strcmp(argv[i], "--room") && i + 1 < argc) {
			room = argv[++i];
			continue;
		}
		if (argv[i][0] == '-' || token_arg) {
			fprintf(stderr, "video_client: unknown argument '%s' (see --help)\n", argv[i]);
			return 2;
		}
		token_arg = argv[i];
	}
	const char *token = example_token(token_arg);
	if (!token) {
		fputs("video_client: no token: give it as an argument or in $TOKEN\n", stderr);
		return 2;
	}

	size_t cap = strlen(token) * 6 + strlen(room) * 6 + 512;
	char *qtok = malloc(cap), *qroom = malloc(cap), *msg = malloc(2 * cap + 512);
	static char reply[65536];
	if (!qtok || !qroom || !msg || json_quote(token, qtok, cap) < 0 || json_quote(room, qroom, cap) < 0)
		return 2;
	snprintf(msg, 2 * cap + 512,
		 "{\"id\":\"1\",\"timeout\":30000,\"type\":\"hello\",\"version\":2,"
		 "\"body\":{\"type\":\"connect\",\"version\":2,\"name\":%s,\"participant\":null,"
		 "\"publisher\":{\"name\":\"tokshim-example\",\"sdk_version\":\"0.1.0\"},"
		 "\"media_signaling\":{},\"token\":%s}}",
		 qroom, qtok);
	free(qtok);
	free(qroom);

	struct ws ws;
	if (ws_open(&ws, &t, "/signaling")) {
		fprintf(stderr, "video_client: %s\n", ws.err);
		free(msg);
		return 2;
	}
	int rc = 2;
	if (ws_send_text(&ws, msg)) {
		fprintf(stderr, "video_client: %s\n", ws.err);
		goto out;
	}
	printf("sent hello/connect (%zu-byte token)\n", strlen(token));
	fflush(stdout);
	for (;;) {
		enum ws_opcode op;
		int close_code = 0;
		long n = ws_recv(&ws, &op, reply, sizeof(reply), &close_code);
		if (n < 0) {
			fprintf(stderr, "video_client: %s\n", ws.err);
			goto out;
		}
		if (op == WS_CLOSE) {
			printf("server closed the connection (%d)\n", close_code);
			rc = 1;
			goto out;
		}
		printf("server: %s\n", reply);
		if (strstr(reply, "\"type\":\"connected\"")) {
			rc = 0;
			goto out;
		}
		if (strstr(reply, "\"type\":\"error\"")) {
			rc = 1;
			goto out;
		}
	}
out:
	fflush(stdout);
	free(msg);
	ws_close(&ws);
	return rc;
}
