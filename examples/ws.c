/* A tiny WebSocket client over OpenSSL or a plain socket: see ws.h. */
#include "ws.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

const char ws_target_usage[] =
	"  --host HOST      connect to HOST (default 127.0.0.1)\n"
	"  --port PORT      port (default 443, 80 with --plain)\n"
	"  --sni NAME       TLS server name and Host header\n"
	"  --cafile FILE    trust the CA in FILE (PEM) instead of the system store\n"
	"  -k, --insecure   do not verify the server certificate\n"
	"  --plain          no TLS (ws:// or http://)\n";

static void set_err(struct ws *ws, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct ws *ws, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ws->err, sizeof(ws->err), fmt, ap);
	va_end(ap);
}

static void set_ssl_err(struct ws *ws, const char *what)
{
	char buf[160];
	unsigned long e = ERR_get_error();
	ERR_error_string_n(e, buf, sizeof(buf));
	set_err(ws, "%s: %s", what, e ? buf : "connection closed");
	ERR_clear_error();
}

int ws_target_option(struct ws_target *t, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	const char **slot = NULL;
	if (!strcmp(a, "-k") || !strcmp(a, "--insecure")) {
		t->insecure = 1;
		return 1;
	}
	if (!strcmp(a, "--plain")) {
		t->plain = 1;
		return 1;
	}
	if (!strcmp(a, "--host"))
		slot = &t->host;
	else if (!strcmp(a, "--port"))
		slot = &t->port;
	else if (!strcmp(a, "--sni"))
		slot = &t->sni;
	else if (!strcmp(a, "--cafile"))
		slot = &t->cafile;
	else
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "option '%s' needs a value\n", a);
		return -1;
	}
	*slot = argv[++*i];
	return 1;
}

int net_connect(struct ws *ws, const struct ws_target *t)
{
	const char *host = t->host ? t->host : "127.0.0.1";
	const char *port = t->port ? t->port : (t->plain ? "80" : "443");
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;

	memset(ws, 0, sizeof(*ws));
	ws->fd = -1;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		set_err(ws, "cannot resolve '%s': %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		ws->fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (ws->fd < 0)
			continue;
		if (connect(ws->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(ws->fd);
		ws->fd = -1;
	}
	freeaddrinfo(res);
	if (ws->fd < 0) {
		set_err(ws, "cannot connect to '%s:%s': %s", host, port, strerror(errno));
		return -1;
	}
	struct timeval tv = {.tv_sec = 10};
	setsockopt(ws->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (t->plain)
		return 0;

	const char *name = t->sni ? t->sni : host;
	ws->ctx = SSL_CTX_new(TLS_client_method());
	if (!ws->ctx) {
		set_ssl_err(ws, "cannot create 'SSL_CTX'");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ws->ctx, TLS1_2_VERSION);
	if (!t->insecure) {
		SSL_CTX_set_verify(ws->ctx, SSL_VERIFY_PEER, NULL);
		int ok = t->cafile ? SSL_CTX_load_verify_locations(ws->ctx, t->cafile, NULL)
				   : SSL_CTX_set_default_verify_paths(ws->ctx);
		if (!ok) {
			set_ssl_err(ws, "cannot load 'cafile'");
			goto fail;
		}
	}
	ws->ssl = SSL_new(ws->ctx);
	if (!ws->ssl) {
		set_ssl_err(ws, "cannot create 'SSL'");
		goto fail;
	}
	SSL_set_fd(ws->ssl, ws->fd);
	SSL_set_tlsext_host_name(ws->ssl, name);
	if (!t->insecure)
		SSL_set1_host(ws->ssl, name); /* the certificate must name the server */
	if (SSL_connect(ws->ssl) != 1) {
		set_ssl_err(ws, "cannot complete 'TLS handshake'");
		goto fail;
	}
	return 0;
fail:
	net_close(ws);
	return -1;
}

int net_write(struct ws *ws, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		long w;
		if (ws->ssl) {
			w = SSL_write(ws->ssl, c, (int)n);
			if (w <= 0) {
				set_ssl_err(ws, "cannot write");
				return -1;
			}
		} else {
			w = send(ws->fd, c, n, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				set_err(ws, "cannot write: %s", strerror(errno));
				return -1;
			}
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static long raw_read(struct ws *ws, void *p, size_t n)
{
	if (ws->ssl) {
		int r = SSL_read(ws->ssl, p, (int)n);
		if (r > 0)
			return r;
		int e = SSL_get_error(ws->ssl, r);
		if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0))
			return 0;
		set_ssl_err(ws, "cannot read");
		return -1;
	}
	for (;;) {
		ssize_t r = recv(ws->fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			set_err(ws, "cannot read: %s", errno == EAGAIN ? "timed out" : strerror(errno));
		return r;
	}
}

long net_read(struct ws *ws, void *p, size_t n)
{
	if (ws->roff < ws->rlen) {
		size_t k = ws->rlen - ws->roff;
		if (k > n)
			k = n;
		memcpy(p, ws->rbuf + ws->roff, k);
		ws->roff += k;
		return (long)k;
	}
	return raw_read(ws, p, n);
}

/* Exactly n bytes, or -1 (end of stream counts as an error here). */
static int read_full(struct ws *ws, void *p, size_t n)
{
	unsigned char *c = p;
	while (n > 0) {
		long r = net_read(ws, c, n);
		if (r == 0)
			set_err(ws, "cannot read: connection closed by the server");
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

void net_close(struct ws *ws)
{
	if (ws->ssl) {
		SSL_shutdown(ws->ssl);
		SSL_free(ws->ssl);
		ws->ssl = NULL;
	}
	if (ws->ctx) {
		SSL_CTX_free(ws->ctx);
		ws->ctx = NULL;
	}
	if (ws->fd >= 0) {
		close(ws->fd);
		ws->fd = -1;
	}
}

int ws_open(struct ws *ws, const struct ws_target *t, const char *path)
{
	if (net_connect(ws, t))
		return -1;

	unsigned char nonce[16];
	char key[32], req[1024];
	RAND_bytes(nonce, sizeof(nonce));
	EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce));
	const char *host = t->sni ? t->sni : t->host ? t->host : "127.0.0.1";
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\n"
			 "Host: %s\r\n"
			 "Upgrade: websocket\r\n"
			 "Connection: Upgrade\r\n"
			 "Sec-WebSocket-Key: %s\r\n"
			 "Sec-WebSocket-Version: 13\r\n"
			 "User-Agent: tokshim-example/1\r\n"
			 "\r\n",
			 path, host, key);
	if (n < 0 || (size_t)n >= sizeof(req) || net_write(ws, req, (size_t)n))
		goto fail;

	/* The response head; whatever follows it stays in rbuf for ws_recv. */
	char *end = NULL;
	while (!end) {
		if (ws->rlen == sizeof(ws->rbuf) - 1) {
			set_err(ws, "cannot upgrade: response head too long");
			goto fail;
		}
		long r = raw_read(ws, ws->rbuf + ws->rlen, sizeof(ws->rbuf) - 1 - ws->rlen);
		if (r <= 0) {
			if (r == 0)
				set_err(ws, "cannot upgrade: connection closed by the server");
			goto fail;
		}
		ws->rlen += (size_t)r;
		ws->rbuf[ws->rlen] = 0;
		end = strstr((char *)ws->rbuf, "\r\n\r\n");
	}
	ws->roff = (size_t)(end + 4 - (char *)ws->rbuf);
	if (strncmp((char *)ws->rbuf, "HTTP/1.1 101", 12)) {
		char *eol = strstr((char *)ws->rbuf, "\r\n");
		set_err(ws, "cannot upgrade '%s': server answered '%.*s'", path, (int)(eol - (char *)ws->rbuf),
			(char *)ws->rbuf);
		goto fail;
	}

	/* Sec-WebSocket-Accept = base64(SHA-1(key + GUID)) */
	char concat[80];
	unsigned char sha[EVP_MAX_MD_SIZE];
	unsigned int shalen = 0;
	char want[64];
	snprintf(concat, sizeof(concat), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
	EVP_Digest(concat, strlen(concat), sha, &shalen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)want, sha, (int)shalen);
	char *accept = strcasestr((char *)ws->rbuf, "\r\nSec-WebSocket-Accept:");
	if (!accept || accept > end) {
		set_err(ws, "cannot upgrade: no Sec-WebSocket-Accept");
		goto fail;
	}
	accept += strlen("\r\nSec-WebSocket-Accept:");
	accept += strspn(accept, " \t");
	if (strncmp(accept, want, strlen(want))) {
		set_err(ws, "cannot upgrade: wrong Sec-WebSocket-Accept");
		goto fail;
	}
	return 0;
fail:
	net_close(ws);
	return -1;
}

int ws_send(struct ws *ws, enum ws_opcode op, const void *p, size_t n)
{
	size_t hl = 2;
	unsigned char *f = malloc(n + 14);
	if (!f) {
		set_err(ws, "cannot send: out of memory");
		return -1;
	}
	f[0] = (unsigned char)(0x80 | op); /* FIN + opcode */
	if (n < 126) {
		f[1] = (unsigned char)(0x80 | n);
	} else if (n <= 0xffff) {
		f[1] = 0x80 | 126;
		f[2] = (unsigned char)(n >> 8);
		f[3] = (unsigned char)n;
		hl = 4;
	} else {
		f[1] = 0x80 | 127;
		for (int k = 0; k < 8; k++)
			f[2 + k] = (unsigned char)((uint64_t)n >> (56 - 8 * k));
		hl = 10;
	}
	unsigned char *mask = f + hl; /* clients mask every frame */
	RAND_bytes(mask, 4);
	hl += 4;
	const unsigned char *c = p;
	for (size_t k = 0; k < n; k++)
		f[hl + k] = c[k] ^ mask[k & 3];
	int rc = net_write(ws, f, hl + n);
	free(f);
	return rc;
}

int ws_send_text(struct ws *ws, const char *s)
{
	return ws_send(ws, WS_TEXT, s, strlen(s));
}

long ws_recv(struct ws *ws, enum ws_opcode *op, char *buf, size_t cap, int *close_code)
{
	size_t len = 0;
	*op = 0;
	for (;;) {
		unsigned char h[14];
		if (read_full(ws, h, 2))
			return -1;
		int fin = h[0] & 0x80, code = h[0] & 0x0f, masked = h[1] & 0x80;
		uint64_t n = h[1] & 0x7f;
		if (n == 126) {
			if (read_full(ws, h + 2, 2))
				return -1;
			n = (uint64_t)h[2] << 8 | h[3];
		} else if (n == 127) {
			if (read_full(ws, h + 2, 8))
				return -1;
			n = 0;
			for (int k = 0; k < 8; k++)
				n = n << 8 | h[2 + k];
		}
		unsigned char mask[4] = {0};
		if (masked && read_full(ws, mask, 4))
			return -1;
		if (code >= 8) { /* control frame: at most 125 bytes */
			unsigned char ctl[125];
			if (n > sizeof(ctl) || read_full(ws, ctl, (size_t)n)) {
				set_err(ws, "cannot read: bad control frame");
				return -1;
			}
			for (size_t k = 0; k < n; k++)
				ctl[k] ^= mask[k & 3];
			if (code == WS_PING) {
				if (ws_send(ws, WS_PONG, ctl, (size_t)n))
					return -1;
			} else if (code == WS_CLOSE) {
				*op = WS_CLOSE;
				if (close_code)
					*close_code = n >= 2 ? ctl[0] << 8 | ctl[1] : 1005;
				if (cap)
					buf[0] = 0;
				return 0;
			}
			continue;
		}
		if (n >= cap - len) {
			set_err(ws, "cannot read: message longer than %zu bytes", cap - 1);
			return -1;
		}
		if (read_full(ws, buf + len, (size_t)n))
			return -1;
		for (size_t k = 0; k < n; k++)
			buf[len + k] ^= (char)mask[k & 3];
		if (code != 0)
			*op = (enum ws_opcode)code;
		len += (size_t)n;
		if (fin) {
			buf[len] = 0;
			return (long)len;
		}
	}
}

void ws_close(struct ws *ws)
{
	if (ws->fd >= 0) {
		unsigned char normal[2] = {0x03, 0xe8}; /* 1000 */
		ws_send(ws, WS_CLOSE, normal, sizeof(normal));
	}
	net_close(ws);
}

long json_quote(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	if (cap < 3)
		return -1;
	out[o++] = '"';
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		char esc[8];
		size_t k;
		if (*c == '"' || *c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*c;
			k = 2;
		} else if (*c < 0x20) {
			k = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *c);
		} else {
			esc[0] = (char)*c;
			k = 1;
		}
		if (o + k + 2 > cap)
			return -1;
		memcpy(out + o, esc, k);
		o += k;
	}
	out[o++] = '"';
	out[o] = 0;
	return (long)o;
}

long json_find_int(const char *p, const char *key, long dflt)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	const char *k = strstr(p, pat);
	if (!k)
		return dflt;
	k += strlen(pat);
	k += strspn(k, " \t\r\n");
	if (*k != ':')
		return dflt;
	k++;
	k += strspn(k, " \t\r\n");
	char *end;
	long v = strtol(k, &end, 10);
	return end == k ? dflt : v;
}

const char *example_token(const char *arg)
{
	if (arg && *arg)
		return arg;
	const char *env = getenv("TOKEN");
	return env && *env ? env : NULL;
}
