/* libtlsplugin.so: a plug-in with its own HTTPS request code over libssl, as
 * an application loads it with dlopen (tests/e2e/t_inline_bound.sh).
 *
 *   int plugin_get(host, port, cafile, sni, token, how)
 *
 * how 0: SSL_write; 1: BIO_write on a BIO_f_ssl BIO (the write reaches
 * libssl's write inside libssl). Prints "server: STATUS-LINE"; returns the
 * HTTP status, -1 on an error. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

__attribute__((visibility("default"))) int plugin_get(const char *host, int port, const char *cafile,
						      const char *sni, const char *token, int how)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		perror("plugin: connect");
		return -1;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	BIO *sb = NULL;
	if (!ssl || SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1)
		goto out;
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	SSL_set_tlsext_host_name(ssl, sni);
	SSL_set1_host(ssl, "localhost");
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		fprintf(stderr, "plugin: handshake failed\n");
		goto out;
	}
	char req[8192];
	int n = snprintf(req, sizeof req,
			 "GET /v1/Configuration HTTP/1.1\r\nHost: %s\r\nX-Twilio-Token: %s\r\nConnection: close\r\n\r\n",
			 sni, token);
	if (n <= 0 || n >= (int)sizeof req)
		goto out;
	int w;
	if (how == 1) {
		sb = BIO_new(BIO_f_ssl());
		BIO_set_ssl(sb, ssl, BIO_NOCLOSE);
		w = BIO_write(sb, req, n);
	} else {
		w = SSL_write(ssl, req, n);
	}
	if (w != n) {
		fprintf(stderr, "plugin: write failed\n");
		goto out;
	}
	printf("sent GET (%s)\n", how == 1 ? "BIO_f_ssl" : "SSL_write");
	fflush(stdout);
	char resp[4096];
	int len = 0, r;
	while (len < (int)sizeof resp - 1 && (r = SSL_read(ssl, resp + len, (int)sizeof resp - 1 - len)) > 0)
		len += r;
	resp[len] = 0;
	char *eol = strstr(resp, "\r\n");
	sscanf(resp, "HTTP/1.%*d %d", &status);
	printf("server: %.*s\n", eol ? (int)(eol - resp) : 0, resp);
	fflush(stdout);
out:
	if (sb)
		BIO_free(sb);
	if (ssl)
		SSL_free(ssl);
	if (ctx)
		SSL_CTX_free(ctx);
	close(fd);
	return status;
}
