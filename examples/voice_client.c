/* voice_client: what the Voice SDK does to register for calls.
 *
 * Opens wss://HOST:PORT/signal (SNI voice-js.roaming.twilio.com by default),
 * sends a `listen` message carrying the Access Token, prints the server's
 * answer ("connected", or an error such as 31205 JWT token expired).
 *
 *   voice_client --port 9443 --cafile ca.pem TOKEN
 *
 * Exit status: 0 connected, 1 refused, 2 usage or connection error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

int main(int argc, char **argv)
{
	struct ws_target t = {.sni = "voice-js.roaming.twilio.com"};
	const char *token_arg = NULL;
	for (int i = 1; i < argc; i++) {
		int r = ws_target_option(&t, argc, argv, &i);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: voice_client [OPTIONS] [TOKEN]\n"
			       "Sends a Voice listen message and prints the answer. TOKEN defaults to $TOKEN.\n\n"
			       "options:\n%s",
			       ws_target_usage);
			return 0;
		}
		if (argv[i][0] == '-' || token_arg) {
			fprintf(stderr, "voice_client: unknown argument '%s' (see --help)\n", argv[i]);
			return 2;
		}
		token_arg = argv[i];
	}
	const char *token = example_token(token_arg);
	if (!token) {
		fputs("voice_client: no token: give it as an argument or in $TOKEN\n", stderr);
		return 2;
	}

	size_t cap = strlen(token) * 6 + 512;
	char *quoted = malloc(cap), *msg = malloc(cap + 512);
	static char reply[65536];
	if (!quoted || !msg || json_quote(token, quoted, cap) < 0)
		return 2;
	snprintf(msg, cap + 512,
		 "{\"type\":\"listen\",\"version\":\"1.6\",\"payload\":{\"browserinfo\":{\"p\":\"linux\","
		 "\"v\":\"tokshim-example\"},\"reconnectTimeout\":30,\"token\":%s}}",
		 quoted);
	free(quoted);

	struct ws ws;
	if (ws_open(&ws, &t, "/signal")) {
		fprintf(stderr, "voice_client: %s\n", ws.err);
		free(msg);
		return 2;
	}
	int rc = 2;
	if (ws_send_text(&ws, msg)) {
		fprintf(stderr, "voice_client: %s\n", ws.err);
		goto out;
	}
	printf("sent listen (%zu-byte token)\n", strlen(token));
	fflush(stdout);
	for (;;) {
		enum ws_opcode op;
		int close_code = 0;
		long n = ws_recv(&ws, &op, reply, sizeof(reply), &close_code);
		if (n < 0) {
			fprintf(stderr, "voice_client: %s\n", ws.err);
			goto out;
		}
		if (op == WS_CLOSE) {
			printf("server closed the connection (%d)\n", close_code);
			rc = 1;
			goto out;
		}
		if (!strcmp(reply, "\n")) /* heartbeat */
			continue;
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
