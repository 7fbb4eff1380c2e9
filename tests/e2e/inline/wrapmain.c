/* wrapmain: an HTTPS GET through libwrapssl.so (wrapssl.c), linked before
 * libssl.
 *   wrapmain direct|wrap HOST PORT CAFILE SNI TOKEN
 * direct: the program calls SSL_write (the wrapper's, in the global scope);
 * wrap: it calls wrap_send, whose SSL_write stays inside the wrapper.
 * Prints "wrapper calls: N" and "server: STATUS-LINE". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

int wrap_send(SSL *ssl, const void *buf, int num);
int wrap_calls(void);

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: wrapmain direct|wrap HOST PORT CAFILE SNI TOKEN\n");
		return 2;
	}
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[3])) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1 || connect(fd, (struct sockaddr *)&sa, sizeof sa))
		return 2;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);
	if (SSL_CTX_load_verify_locations(ctx, argv[4], NULL) != 1)
		return 2;
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	SSL_set_tlsext_host_name(ssl, argv[5]);
	SSL_set1_host(ssl, "localhost");
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1)
		return 2;
	char req[8192];
	int n = snprintf(req, sizeof req,
			 "GET /v1/Configuration HTTP/1.1\r\nHost: %s\r\nX-Twilio-Token: %s\r\nConnection: close\r\n\r\n",
			 argv[5], argv[6]);
	int w = strcmp(argv[1], "wrap") == 0 ? wrap_send(ssl, req, n) : SSL_write(ssl, req, n);
	if (w != n)
		return 2;
	printf("wrapper calls: %d\n", wrap_calls());
	fflush(stdout);
	char resp[4096];
	int len = 0, r;
	while (len < (int)sizeof resp - 1 && (r = SSL_read(ssl, resp + len, (int)sizeof resp - 1 - len)) > 0)
		len += r;
	resp[len] = 0;
	char *eol = strstr(resp, "\r\n");
	int status = 0;
	sscanf(resp, "HTTP/1.%*d %d", &status);
	printf("server: %.*s\n", eol ? (int)(eol - resp) : 0, resp);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return status >= 200 && status < 300 ? 0 : 1;
}
