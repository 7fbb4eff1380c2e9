/* wolfssl_client: an HTTPS request carrying the token in X-Twilio-Token,
 * written with wolfSSL's native API.
 *
 *   wolfssl_client --cafile ca.pem [--sni NAME] HOST PORT TOKEN
 *
 * Prints "server: STATUS-LINE". Exit status: 0 on 2xx, 1 on another status,
 * 2 usage or connection error. Build: cc wolfssl_client.c -lwolfssl */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

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
	if (argc - i != 3 || !cafile) {
		fprintf(stderr, "usage: wolfssl_client --cafile CA [--sni NAME] HOST PORT TOKEN\n");
		return 2;
	}
	const char *host = argv[i], *token = argv[i + 2];
	int port = atoi(argv[i + 1]);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "wolfssl_client: HOST must be an IPv4 address\n");
		return 2;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("wolfssl_client: connect");
		return 2;
	}
	wolfSSL_Init();
	int rc = 2;
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLSv1_2_client_method());
	WOLFSSL *ssl = NULL;
	if (!ctx || wolfSSL_CTX_load_verify_locations(ctx, cafile, NULL) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "wolfssl_client: cannot load '%s'\n", cafile);
		goto out;
	}
	ssl = wolfSSL_new(ctx);
	if (!ssl || wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, sni, (unsigned short)strlen(sni)) != WOLFSSL_SUCCESS ||
	    wolfSSL_check_domain_name(ssl, sni) != WOLFSSL_SUCCESS || wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "wolfssl_client: setup failed\n");
		goto out;
	}
	if (wolfSSL_connect(ssl) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "wolfssl_client: handshake failed: %d\n", wolfSSL_get_error(ssl, 0));
		goto out;
	}
	size_t cap = strlen(token) + 512;
	char *req = malloc(cap);
	if (!req)
		goto out;
	int n = snprintf(req, cap,
			 "GET /v1/Configuration HTTP/1.1\r\nHost: %s\r\nX-Twilio-Token: %s\r\nConnection: close\r\n\r\n",
			 sni, token);
	int w = wolfSSL_write(ssl, req, n);
	free(req);
	if (w != n) {
		fprintf(stderr, "wolfssl_client: write failed: %d\n", wolfSSL_get_error(ssl, w));
		goto out;
	}
	printf("sent GET (%zu-byte token)\n", strlen(token));
	fflush(stdout);
	static char resp[16384];
	int len = 0, r;
	while (len < (int)sizeof resp - 1 && (r = wolfSSL_read(ssl, resp + len, (int)sizeof resp - 1 - len)) > 0)
		len += r;
	resp[len] = 0;
	char *eol = strstr(resp, "\r\n");
	int status = 0;
	sscanf(resp, "HTTP/1.%*d %d", &status);
	printf("server: %.*s\n", eol ? (int)(eol - resp) : 0, resp);
	rc = status >= 200 && status < 300 ? 0 : 1;
out:
	fflush(stdout);
	if (ssl)
		wolfSSL_free(ssl);
	if (ctx)
		wolfSSL_CTX_free(ctx);
	wolfSSL_Cleanup();
	close(fd);
	return rc;
}
