/* mbedtls_client: an HTTPS request carrying the token in X-Twilio-Token,
 * written with mbedTLS (the TLS library of many embedded devices).
 *
 *   mbedtls_client --cafile ca.pem [--sni NAME] HOST PORT TOKEN
 *
 * Prints "server: STATUS-LINE". Exit status: 0 on 2xx, 1 on another status,
 * 2 usage or connection error. Build: cc mbedtls_client.c -lmbedtls
 * -lmbedx509 -lmbedcrypto */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

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
		fprintf(stderr, "usage: mbedtls_client --cafile CA [--sni NAME] HOST PORT TOKEN\n");
		return 2;
	}
	const char *host = argv[i], *port = argv[i + 1], *token = argv[i + 2];
	mbedtls_net_context net;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_net_init(&net);
	mbedtls_ssl_init(&ssl);
	mbedtls_ssl_config_init(&conf);
	mbedtls_x509_crt_init(&ca);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	int rc = 2, r;
	if ((r = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0)) != 0 ||
	    (r = mbedtls_x509_crt_parse_file(&ca, cafile)) != 0 ||
	    (r = mbedtls_net_connect(&net, host, port, MBEDTLS_NET_PROTO_TCP)) != 0 ||
	    (r = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
					     MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
		fprintf(stderr, "mbedtls_client: setup failed: -0x%04x\n", (unsigned)-r);
		goto out;
	}
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	if ((r = mbedtls_ssl_setup(&ssl, &conf)) != 0 || (r = mbedtls_ssl_set_hostname(&ssl, sni)) != 0) {
		fprintf(stderr, "mbedtls_client: ssl setup failed: -0x%04x\n", (unsigned)-r);
		goto out;
	}
	mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, mbedtls_net_recv, NULL);
	while ((r = mbedtls_ssl_handshake(&ssl)) != 0)
		if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE) {
			fprintf(stderr, "mbedtls_client: handshake failed: -0x%04x\n", (unsigned)-r);
			goto out;
		}
	size_t cap = strlen(token) + 512;
	char *req = malloc(cap);
	if (!req)
		goto out;
	int n = snprintf(req, cap,
			 "GET /v1/Configuration HTTP/1.1\r\nHost: %s\r\nX-Twilio-Token: %s\r\nConnection: close\r\n\r\n",
			 sni, token);
	for (int off = 0; off < n;) {
		r = mbedtls_ssl_write(&ssl, (const unsigned char *)req + off, (size_t)(n - off));
		if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (r <= 0) {
			fprintf(stderr, "mbedtls_client: write failed: -0x%04x\n", (unsigned)-r);
			free(req);
			goto out;
		}
		off += r;
	}
	free(req);
	printf("sent GET (%zu-byte token)\n", strlen(token));
	fflush(stdout);
	static char resp[16384];
	size_t len = 0;
	while (len < sizeof resp - 1) {
		r = mbedtls_ssl_read(&ssl, (unsigned char *)resp + len, sizeof resp - 1 - len);
		if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	resp[len] = 0;
	char *eol = strstr(resp, "\r\n");
	int status = 0;
	sscanf(resp, "HTTP/1.%*d %d", &status);
	printf("server: %.*s\n", eol ? (int)(eol - resp) : 0, resp);
	rc = status >= 200 && status < 300 ? 0 : 1;
	mbedtls_ssl_close_notify(&ssl);
out:
	fflush(stdout);
	mbedtls_net_free(&net);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_x509_crt_free(&ca);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return rc;
}
