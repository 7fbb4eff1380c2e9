/* lws_client: a Twilsock init over wss:// written with libwebsockets (whose
 * TLS is Debian's OpenSSL), the message handed to lws_write.
 *
 *   lws_client --cafile ca.pem [--sni NAME] PORT TOKEN
 *
 * Connects to 127.0.0.1:PORT/v3/wsconnect, sends the init, prints
 * "reply: <status code>" for the server's reply. Exit status: 0 on 200, 1 on
 * another status or a close, 2 on an error. Build: cc lws_client.c
 * -lwebsockets */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

static const char *token;
static char msg[LWS_PRE + 8192];
static size_t msg_len;
static int result = -1;

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr, "lws_client: connection error: %s\n", in ? (const char *)in : "?");
		result = 2;
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (msg_len) {
			int n = lws_write(wsi, (unsigned char *)msg + LWS_PRE, msg_len, LWS_WRITE_TEXT);
			printf("sent init (%zu-byte token), lws_write: %d\n", strlen(token), n);
			fflush(stdout);
			msg_len = 0;
		}
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE: {
		const char *p = in, *code = NULL;
		size_t i;
		for (i = 0; i + 7 < len; i++)
			if (!memcmp(p + i, "\"code\":", 7)) {
				code = p + i + 7;
				break;
			}
		int status = code ? atoi(code) : 0;
		printf("reply: %d\n", status);
		fflush(stdout);
		result = status == 200 ? 0 : 1;
		return -1; /* done: close */
	}
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (result < 0)
			result = 1;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "twilsock", cb, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	const char *cafile = NULL, *sni = "localhost";
	int i = 1;
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "--cafile"))
			cafile = argv[i + 1];
		else if (!strcmp(argv[i], "--sni"))
			sni = argv[i + 1];
		else
			break;
	}
	if (argc - i != 2 || !cafile) {
		fprintf(stderr, "usage: lws_client --cafile CA [--sni NAME] PORT TOKEN\n");
		return 2;
	}
	int port = atoi(argv[i]);
	token = argv[i + 1];
	char header[7800];
	int hn = snprintf(header, sizeof header,
			  "{\"id\":\"TM0123456789abcdef0123456789abcdef\",\"method\":\"init\",\"token\":\"%s\","
			  "\"continuation_token\":null,\"metadata\":{\"ver\":\"0.1.0\",\"env\":\"lws\"},"
			  "\"registrations\":null,\"tweaks\":null,\"capabilities\":[\"client_update\"],\"payload_size\":0}",
			  token);
	if (hn <= 0 || hn >= (int)sizeof header)
		return 2;
	int mn = snprintf(msg + LWS_PRE, sizeof msg - LWS_PRE, "TWILSOCK V3.0 %d\r\n%s\r\n", hn, header);
	msg_len = (size_t)mn;
	lws_set_log_level(0, NULL);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.client_ssl_ca_filepath = cafile;
	struct lws_context *ctx = lws_create_context(&info);
	if (!ctx)
		return 2;
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof ci);
	ci.context = ctx;
	ci.address = "127.0.0.1";
	ci.port = port;
	ci.path = "/v3/wsconnect";
	ci.host = sni;
	ci.origin = sni;
	ci.protocol = NULL;
	ci.ssl_connection = LCCSCF_USE_SSL;
	if (!lws_client_connect_via_info(&ci)) {
		lws_context_destroy(ctx);
		return 2;
	}
	for (int n = 0; n < 400 && result < 0; n++)
		lws_service(ctx, 50);
	lws_context_destroy(ctx);
	return result < 0 ? 2 : result;
}
