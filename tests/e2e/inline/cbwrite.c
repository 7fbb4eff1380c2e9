/* cbwrite: an HTTPS client that writes its request from OpenSSL's info
 * callback at the end of the handshake, while SSL_read drives that
 * handshake: the SSL_write happens inside SSL_read. Node does the same
 * (its handshake-done callback runs JavaScript, which writes the WebSocket
 * upgrade request then), so a shim that follows nothing inside a TLS read
 * misses the request and its token.
 *
 *   cbwrite PORT CAFILE SNI TOKEN
 *
 * Prints the response's status line. Exit status: 0 a response came, 1 the
 * request was never written from the callback, 2 a connection error. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static char request[8192];
static int written_in_callback;

static void info(const SSL *ssl, int where, int ret)
{
	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_DONE) || written_in_callback)
		return;
	/* the request, written now: inside the SSL_read that completed the handshake */
	int n = (int)strlen(request);
	if (SSL_write((SSL *)ssl, request, n) == n)
		written_in_callback = 1;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fputs("usage: cbwrite PORT CAFILE SNI TOKEN\n", stderr);
		return 2;
	}
	snprintf(request, sizeof request,
		 "GET /v1/Insights HTTP/1.1\r\nHost: %s\r\nX-Twilio-Token: %s\r\nConnection: close\r\n\r\n", argv[3],
		 argv[4]);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		perror("cbwrite: connect");
		return 2;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_load_verify_locations(ctx, argv[2], NULL) != 1)
		return 2;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, argv[3]);
	SSL_set1_host(ssl, argv[3]);
	SSL_set_info_callback(ssl, info);
	SSL_set_connect_state(ssl); /* no SSL_connect: the first SSL_read shakes hands */
	char buf[16384];
	size_t got = 0;
	for (int i = 0; i < 100 && got < sizeof buf - 1; i++) {
		int r = SSL_read(ssl, buf + got, (int)(sizeof buf - 1 - got));
		if (r <= 0) {
			int e = SSL_get_error(ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				continue;
			break;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (!written_in_callback) {
		fputs("cbwrite: the handshake callback did not write the request\n", stderr);
		return 1;
	}
	if (!got) {
		ERR_print_errors_fp(stderr);
		return 2;
	}
	char *eol = strstr(buf, "\r\n");
	if (eol)
		*eol = '\0';
	printf("%s\n", buf);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return 0;
}
