/* cb_client: a TLS client whose first plaintext is written by its own
 * callback from inside SSL_read, the way Node does it: no SSL_connect, the
 * handshake runs inside the first SSL_read, and the info callback's
 * SSL_CB_HANDSHAKE_DONE writes the request the program held back (Node's
 * handshake-done callback runs JavaScript that writes the HTTP request).
 *
 *   cb_client http PORT CAFILE TOKEN
 *     GET /v1/Insights with X-Twilio-Token: TOKEN, written in the callback;
 *     prints the response's status line.
 *   cb_client twilsock PORT CAFILE TOKEN
 *     the WebSocket upgrade to /v3/wsconnect (offering permessage-deflate)
 *     written in the callback, then, after the 101, a Twilsock init with
 *     TOKEN; prints each server frame's first byte and whether it is
 *     compressed, until the server closes.
 *
 * SNI is tsock.us1.twilio.com (twilsock) or localhost (http). Exit 0 when the
 * exchange ran, 2 on an error. Used by tests/e2e/t_answer.sh. */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static char request[16384];
static int request_len;
static int request_sent;

static void info_cb(const SSL *cssl, int where, int ret)
{
	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_DONE) || request_sent)
		return;
	request_sent = 1;
	SSL *ssl = (SSL *)cssl;
	int w = SSL_write(ssl, request, request_len);
	printf("callback wrote %d of %d bytes\n", w, request_len);
	fflush(stdout);
}

/* Reads until buf holds n bytes more than *have; 0, -1 at the end or error. */
static int read_more(SSL *ssl, unsigned char *buf, size_t cap, size_t *have)
{
	if (*have >= cap)
		return -1;
	int r = SSL_read(ssl, buf + *have, (int)(cap - *have));
	if (r <= 0)
		return -1;
	*have += (size_t)r;
	return 0;
}

static int twilsock(SSL *ssl, const char *token)
{
	static unsigned char buf[65536];
	size_t have = 0;
	/* the 101 */
	while (!memmem(buf, have, "\r\n\r\n", 4))
		if (read_more(ssl, buf, sizeof buf, &have) < 0)
			return 2;
	unsigned char *end = memmem(buf, have, "\r\n\r\n", 4) + 4;
	printf("%.*s\n", (int)(strchr((char *)buf, '\r') - (char *)buf), (char *)buf);
	size_t left = have - (size_t)(end - buf);
	memmove(buf, end, left);
	have = left;
	/* the init, one masked text frame */
	static char hdr[8192], msg[8400];
	snprintf(hdr, sizeof hdr,
		 "{\"id\":\"TMcb0001\",\"method\":\"init\",\"token\":\"%s\",\"continuation_token\":null,"
		 "\"capabilities\":[\"client_update\",\"offline_storage\"],\"payload_size\":0}",
		 token);
	int mn = snprintf(msg, sizeof msg, "TWILSOCK V3.0 %zu\r\n%s\r\n", strlen(hdr), hdr);
	static unsigned char frame[8500];
	size_t k = 0;
	frame[k++] = 0x81;
	frame[k++] = 0x80 | 126;
	frame[k++] = (unsigned char)(mn >> 8);
	frame[k++] = (unsigned char)mn;
	const unsigned char mask[4] = { 0x1f, 0x2e, 0x3d, 0x4c };
	memcpy(frame + k, mask, 4);
	k += 4;
	for (int i = 0; i < mn; i++)
		frame[k++] = (unsigned char)msg[i] ^ mask[i & 3];
	if (SSL_write(ssl, frame, (int)k) != (int)k)
		return 2;
	/* the server's frames until its close */
	for (int frames = 0; frames < 16;) {
		if (have >= 2) {
			size_t len = buf[1] & 0x7f, hl = 2;
			if (len == 126) {
				if (have < 4)
					goto more;
				len = (size_t)buf[2] << 8 | buf[3];
				hl = 4;
			} else if (len == 127) {
				return 2;
			}
			if (have >= hl + len) {
				printf("frame 0x%02x%s, %zu bytes\n", buf[0], (buf[0] & 0x40) ? " compressed" : "", len);
				frames++;
				int close = (buf[0] & 0x0f) == 8;
				memmove(buf, buf + hl + len, have - hl - len);
				have -= hl + len;
				if (close)
					return 0;
				continue;
			}
		}
more:
		if (read_more(ssl, buf, sizeof buf, &have) < 0)
			return 0; /* closed without a close frame */
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5 || (strcmp(argv[1], "http") && strcmp(argv[1], "twilsock"))) {
		fprintf(stderr, "usage: cb_client http|twilsock PORT CAFILE TOKEN\n");
		return 2;
	}
	int tw = !strcmp(argv[1], "twilsock");
	const char *token = argv[4];
	if (strlen(token) > 4096)
		return 2;
	if (tw)
		request_len = snprintf(request, sizeof request,
				       "GET /v3/wsconnect HTTP/1.1\r\nHost: tsock.us1.twilio.com\r\n"
				       "Connection: Upgrade\r\nUpgrade: websocket\r\n"
				       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
				       "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n");
	else
		request_len = snprintf(request, sizeof request,
				       "GET /v1/Insights HTTP/1.1\r\nHost: localhost\r\nX-Twilio-Token: %s\r\n"
				       "Connection: close\r\n\r\n",
				       token);

	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2])) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		perror("connect");
		return 2;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_load_verify_locations(ctx, argv[3], NULL) != 1)
		return 2;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, tw ? "tsock.us1.twilio.com" : "localhost");
	SSL_set1_host(ssl, "localhost");
	SSL_set_info_callback(ssl, info_cb);
	SSL_set_connect_state(ssl);

	int rc = 0;
	if (tw) {
		rc = twilsock(ssl, token);
	} else {
		static unsigned char buf[16384];
		size_t have = 0;
		while (!memmem(buf, have, "\r\n", 2))
			if (read_more(ssl, buf, sizeof buf - 1, &have) < 0) {
				rc = 2;
				break;
			}
		if (!rc)
			printf("%.*s\n", (int)((unsigned char *)memmem(buf, have, "\r\n", 2) - buf), (char *)buf);
		/* the rest of the response, for the answer */
		while (read_more(ssl, buf, sizeof buf - 1, &have) == 0 && have < sizeof buf - 1)
			;
	}
	if (!request_sent) {
		fprintf(stderr, "cb_client: the handshake did not end inside SSL_read\n");
		rc = 2;
	}
	if (rc)
		ERR_print_errors_fp(stderr);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return rc;
}
