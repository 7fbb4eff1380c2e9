/* https_client: an HTTPS request carrying the token in X-Twilio-Token, as the
 * Voice SDK's Insights and configuration requests do.
 *
 *   https_client --port 9444 --cafile ca.pem [--path /v1/Configuration] TOKEN
 *
 * Prints the status line and the body. Exit status: 0 on 2xx, 1 on another
 * status, 2 usage or connection error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

int main(int argc, char **argv)
{
	struct ws_target t = {.sni = "eventgw.twilio.com"};
	const char *token_arg = NULL, *path = "/v1/Configuration";
	for (int i = 1; i < argc; i++) {
		int r = ws_target_option(&t, argc, argv, &i);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: https_client [OPTIONS] [TOKEN]\n"
			       "GET PATH with the header X-Twilio-Token. TOKEN defaults to $TOKEN.\n\n"
			       "options:\n%s  --path PATH      request path (default /v1/Configuration)\n",
			       ws_target_usage);
			return 0;
		}
		if (!strcmp(argv[i], "--path") && i + 1 < argc) {
			path = argv[++i];
			continue;
		}
		if (argv[i][0] == '-' || token_arg) {
			fprintf(stderr, "https_client: unknown argument '%s' (see --help)\n", argv[i]);
			return 2;
		}
		token_arg = argv[i];
	}
	const char *token = example_token(token_arg);
	if (!token || strpbrk(token, "\r\n")) {
		fputs("https_client: no token (or one with a line break): give it as an argument or in $TOKEN\n",
		      stderr);
		return 2;
	}

	struct ws c;
	if (net_connect(&c, &t)) {
		fprintf(stderr, "https_client: %s\n", c.err);
		return 2;
	}
	size_t cap = strlen(token) + strlen(path) + 512;
	char *req = malloc(cap);
	static char resp[65536];
	if (!req)
		return 2;
	int n = snprintf(req, cap,
			 "GET %s HTTP/1.1\r\nHost: %s\r\nX-Twilio-Token: %s\r\nUser-Agent: tokshim-example/1\r\n"
			 "Accept: application/json\r\nConnection: close\r\n\r\n",
			 path, t.sni ? t.sni : "127.0.0.1", token);
	int rc = 2;
	if (net_write(&c, req, (size_t)n)) {
		fprintf(stderr, "https_client: %s\n", c.err);
		goto out;
	}
	printf("sent GET %s (%zu-byte token)\n", path, strlen(token));
	size_t len = 0;
	long r;
	while (len < sizeof(resp) - 1 && (r = net_read(&c, resp + len, sizeof(resp) - 1 - len)) > 0)
		len += (size_t)r;
	resp[len] = 0;
	char *eol = strstr(resp, "\r\n"), *body = strstr(resp, "\r\n\r\n");
	if (!eol || !body) {
		fprintf(stderr, "https_client: no HTTP response (%s)\n", c.err[0] ? c.err : "short read");
		goto out;
	}
	int status = 0;
	sscanf(resp, "HTTP/1.%*d %d", &status);
	printf("server: %.*s %s\n", (int)(eol - resp), resp, body + 4);
	rc = status >= 200 && status < 300 ? 0 : 1;
out:
	fflush(stdout);
	free(req);
	net_close(&c);
	return rc;
}
