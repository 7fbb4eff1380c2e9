/* dlopen_client: a TLS client that loads libssl itself, the way Qt does:
 * dlopen("libssl.so.3", RTLD_LOCAL) and every SSL_* function taken with
 * dlsym(handle, ...). No OpenSSL headers, no -lssl: a program tokshim can
 * only see by interposing dlsym (shim/hook_dlsym.c).
 *
 *   cc -O2 -o dlopen_client examples/dlopen_client.c -ldl
 *   dlopen_client [--cafile PEM] [--sni NAME] [--libssl PATH] HOST PORT http TOKEN
 *   dlopen_client [--cafile PEM] [--sni NAME] [--libssl PATH] HOST PORT twilsock TOKEN
 *
 * http: GET /v1/e2e with the header X-Twilio-Token. twilsock: a WebSocket
 * upgrade on /v3/wsconnect, then a Twilsock init frame carrying the token.
 * Prints "reply: ..." with the server's answer once it has read it. Exit
 * status 0 when the exchange completed (whatever the server decided), 1 on
 * a network or TLS failure, 2 on usage errors. */
#include <dlfcn.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_method_st SSL_METHOD;

#define SSL_CTRL_SET_TLSEXT_HOSTNAME 55
#define TLSEXT_NAMETYPE_host_name 0
#define SSL_VERIFY_PEER 1

static struct {
	const SSL_METHOD *(*TLS_client_method)(void);
	SSL_CTX *(*SSL_CTX_new)(const SSL_METHOD *);
	int (*SSL_CTX_load_verify_locations)(SSL_CTX *, const char *, const char *);
	int (*SSL_CTX_set_default_verify_paths)(SSL_CTX *);
	void (*SSL_CTX_set_verify)(SSL_CTX *, int, void *);
	void (*SSL_CTX_free)(SSL_CTX *);
	SSL *(*SSL_new)(SSL_CTX *);
	int (*SSL_set_fd)(SSL *, int);
	long (*SSL_ctrl)(SSL *, int, long, void *);
	int (*SSL_set1_host)(SSL *, const char *);
	int (*SSL_connect)(SSL *);
	int (*SSL_write)(SSL *, const void *, int);
	int (*SSL_read)(SSL *, void *, int);
	int (*SSL_shutdown)(SSL *);
	void (*SSL_free)(SSL *);
	unsigned long (*ERR_get_error)(void);
	void (*ERR_error_string_n)(unsigned long, char *, size_t);
} ossl;

static int load(const char *path)
{
	const char *tries[] = { path, "libssl.so.3", "libssl.so" };
	void *h = NULL;
	for (size_t i = 0; i < 3 && !h; i++)
		if (tries[i])
			h = dlopen(tries[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen_client: cannot load libssl: %s\n", dlerror());
		return -1;
	}
#define SYM(name)                                                                          \
	do {                                                                               \
		*(void **)&ossl.name = dlsym(h, #name);                                    \
		if (!ossl.name) {                                                          \
			fprintf(stderr, "dlopen_client: no %s in libssl\n", #name);        \
			return -1;                                                         \
		}                                                                          \
	} while (0)
	SYM(TLS_client_method);
	SYM(SSL_CTX_new);
	SYM(SSL_CTX_load_verify_locations);
	SYM(SSL_CTX_set_default_verify_paths);
	SYM(SSL_CTX_set_verify);
	SYM(SSL_CTX_free);
	SYM(SSL_new);
	SYM(SSL_set_fd);
	SYM(SSL_ctrl);
	SYM(SSL_set1_host);
	SYM(SSL_connect);
	SYM(SSL_write);
	SYM(SSL_read);
	SYM(SSL_shutdown);
	SYM(SSL_free);
	SYM(ERR_get_error);
	SYM(ERR_error_string_n);
#undef SYM
	return 0;
}

static void tls_error(const char *what)
{
	char buf[256];
	unsigned long e = ossl.ERR_get_error();
	ossl.ERR_error_string_n(e, buf, sizeof buf);
	fprintf(stderr, "dlopen_client: %s: %s\n", what, e ? buf : "failed");
}

static int tcp_connect(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		fprintf(stderr, "dlopen_client: %s: %s\n", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		perror("dlopen_client: connect");
	return fd;
}

static int write_all(SSL *ssl, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		int w = ossl.SSL_write(ssl, p, (int)n);
		if (w <= 0) {
			tls_error("SSL_write");
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads until the peer closes or `until` is seen; returns the length. */
static size_t read_some(SSL *ssl, char *buf, size_t cap, const char *until)
{
	size_t n = 0;
	while (n + 1 < cap) {
		int r = ossl.SSL_read(ssl, buf + n, (int)(cap - 1 - n));
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (until && strstr(buf, until))
			break;
	}
	buf[n] = '\0';
	return n;
}

static int do_http(SSL *ssl, const char *host, const char *token)
{
	char req[20000], resp[65536];
	int n = snprintf(req, sizeof req,
			 "GET /v1/e2e HTTP/1.1\r\nHost: %s\r\nX-Twilio-Token: %s\r\nConnection: close\r\n\r\n",
			 host, token);
	if (n < 0 || (size_t)n >= sizeof req || write_all(ssl, req, (size_t)n) < 0)
		return 1;
	size_t len = read_some(ssl, resp, sizeof resp, NULL);
	if (!len) {
		fprintf(stderr, "dlopen_client: no reply\n");
		return 1;
	}
	char *eol = strstr(resp, "\r\n"), *body = strstr(resp, "\r\n\r\n");
	if (eol)
		*eol = '\0';
	printf("reply: %s %s\n", resp, body ? body + 4 : "");
	return 0;
}

static int do_twilsock(SSL *ssl, const char *host, const char *token)
{
	char buf[20000], resp[65536];
	int n = snprintf(buf, sizeof buf,
			 "GET /v3/wsconnect HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
			 host);
	if (write_all(ssl, buf, (size_t)n) < 0)
		return 1;
	if (!read_some(ssl, resp, sizeof resp, "\r\n\r\n") || strncmp(resp, "HTTP/1.1 101", 12) != 0) {
		fprintf(stderr, "dlopen_client: no WebSocket upgrade: %.40s\n", resp);
		return 1;
	}

	char hdr[18000], msg[18500];
	int hn = snprintf(hdr, sizeof hdr, "{\"id\":\"TM0001\",\"method\":\"init\",\"token\":\"%s\",\"payload_size\":0}",
			  token);
	if (hn < 0 || (size_t)hn >= sizeof hdr)
		return 1;
	int mn = snprintf(msg, sizeof msg, "TWILSOCK V3.0 %d\r\n%s\r\n", hn, hdr);
	/* one masked text frame (client frames are masked, RFC 6455) */
	unsigned char frame[19000];
	size_t fl = 0;
	const unsigned char mask[4] = { 0x12, 0x34, 0x56, 0x78 };
	frame[fl++] = 0x81;
	if (mn < 126) {
		frame[fl++] = 0x80 | (unsigned char)mn;
	} else {
		frame[fl++] = 0x80 | 126;
		frame[fl++] = (unsigned char)(mn >> 8);
		frame[fl++] = (unsigned char)mn;
	}
	memcpy(frame + fl, mask, 4);
	fl += 4;
	for (int i = 0; i < mn; i++)
		frame[fl++] = (unsigned char)msg[i] ^ mask[i & 3];
	if (write_all(ssl, frame, fl) < 0)
		return 1;

	/* the server's first frame: unmasked, text or binary */
	unsigned char in[65536];
	size_t got = 0;
	for (;;) {
		int r = ossl.SSL_read(ssl, in + got, (int)(sizeof in - got));
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got >= 2) {
			size_t len = in[1] & 0x7f, off = 2;
			if (len == 126 && got >= 4) {
				len = (size_t)in[2] << 8 | in[3];
				off = 4;
			} else if (len == 126) {
				continue;
			}
			if (got >= off + len) {
				for (size_t i = off; i < off + len; i++)
					if (in[i] == '\r' || in[i] == '\n')
						in[i] = ' ';
				printf("reply: %.*s\n", (int)len, (const char *)in + off);
				return 0;
			}
		}
	}
	fprintf(stderr, "dlopen_client: no reply frame\n");
	return 1;
}

int main(int argc, char **argv)
{
	const char *cafile = NULL, *sni = NULL, *libssl = NULL;
	int i = 1;
	for (; i + 1 < argc && argv[i][0] == '-' && argv[i][1] == '-'; i += 2) {
		if (!strcmp(argv[i], "--cafile"))
			cafile = argv[i + 1];
		else if (!strcmp(argv[i], "--sni"))
			sni = argv[i + 1];
		else if (!strcmp(argv[i], "--libssl"))
			libssl = argv[i + 1];
		else
			break;
	}
	if (argc - i != 4 || (strcmp(argv[i + 2], "http") && strcmp(argv[i + 2], "twilsock"))) {
		fprintf(stderr, "usage: dlopen_client [--cafile PEM] [--sni NAME] [--libssl PATH] HOST PORT "
				"http|twilsock TOKEN\n");
		return 2;
	}
	const char *host = argv[i], *port = argv[i + 1], *mode = argv[i + 2], *token = argv[i + 3];
	const char *name = sni ? sni : host;
	if (load(libssl) < 0)
		return 1;

	SSL_CTX *ctx = ossl.SSL_CTX_new(ossl.TLS_client_method());
	if (!ctx) {
		tls_error("SSL_CTX_new");
		return 1;
	}
	if (cafile ? ossl.SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1
		   : ossl.SSL_CTX_set_default_verify_paths(ctx) != 1) {
		tls_error("loading trust anchors");
		return 1;
	}
	ossl.SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	int fd = tcp_connect(host, port);
	if (fd < 0)
		return 1;
	SSL *ssl = ossl.SSL_new(ctx);
	ossl.SSL_set_fd(ssl, fd);
	ossl.SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)name);
	ossl.SSL_set1_host(ssl, name);
	if (ossl.SSL_connect(ssl) != 1) {
		tls_error("TLS handshake");
		return 1;
	}
	int rc = !strcmp(mode, "http") ? do_http(ssl, name, token) : do_twilsock(ssl, name, token);
	fflush(stdout);
	ossl.SSL_shutdown(ssl);
	ossl.SSL_free(ssl);
	ossl.SSL_CTX_free(ctx);
	close(fd);
	return rc;
}
