/* tls_server: the far end of the shim benchmark (tests/bench/shim_bench.sh).
 *
 * Listens on 127.0.0.1 twice, one port for TLS (OpenSSL) and one for plain
 * TCP, prints "tls_port N tcp_port M" on stdout and serves until killed: one
 * thread per connection. Each connection must be a WebSocket client: the
 * server reads the HTTP upgrade request, answers 101, then walks the client's
 * frames by their headers without unmasking the payload (it only counts),
 * and on the client's close frame answers with a close frame whose reason is
 * "bytes=<N> frames=<M>": N counts every byte after the request, M the frames.
 * The client compares both with what it sent, so a lost or corrupted frame
 * header fails the run. A protocol error is printed on stderr and the
 * connection dropped (the client then fails too).
 *
 * usage: tls_server --cert FILE --key FILE
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#define REQ_MAX 8192
#define RBUF (256 * 1024)

static SSL_CTX *g_ctx;

struct conn {
	int fd;
	int tls;
	SSL *ssl;
};

static ssize_t conn_read(struct conn *c, void *buf, size_t n)
{
	if (c->tls) {
		int r = SSL_read(c->ssl, buf, (int)(n > INT32_MAX ? INT32_MAX : n));
		if (r > 0)
			return r;
		int e = SSL_get_error(c->ssl, r);
		return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	}
	for (;;) {
		ssize_t r = read(c->fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

static int conn_write_all(struct conn *c, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w;
		if (c->tls) {
			int r = SSL_write(c->ssl, p, (int)n);
			w = r > 0 ? r : -1;
		} else {
			w = send(c->fd, p, n, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Sec-WebSocket-Accept for key (RFC 6455 section 4.2.2). */
static void ws_accept(const char *key, size_t n, char out[64])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char md[SHA_DIGEST_LENGTH];
	char in[256];
	if (n > sizeof(in) - sizeof(guid))
		n = sizeof(in) - sizeof(guid);
	memcpy(in, key, n);
	memcpy(in + n, guid, sizeof(guid) - 1);
	SHA1((const unsigned char *)in, n + sizeof(guid) - 1, md);
	EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

/* Finds header `name` (case-insensitive) in the request; value in *v,*vn. */
static int find_header(const char *req, const char *name, const char **v, size_t *vn)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(req, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *s = line + nl + 1;
			while (*s == ' ')
				s++;
			const char *e = strstr(s, "\r\n");
			*v = s;
			*vn = (size_t)(e - s);
			return 0;
		}
	}
	return -1;
}

/* Frame walker state: bytes of the current header gathered, then payload to skip. */
struct walker {
	unsigned char hdr[14];
	size_t have, need;     /* header bytes gathered / needed (0: between frames) */
	uint64_t skip;         /* payload bytes still to skip */
	int opcode;
	uint64_t frames, bytes;
	int closed;            /* a close frame was fully read */
	int deflate;           /* permessage-deflate accepted: RSV1 allowed */
	uint64_t close_len;
	const char *err;
};

/* Header length once the first two bytes are known. */
static size_t hdr_len(const unsigned char *h)
{
	size_t n = 2 + ((h[1] & 0x80) ? 4 : 0);
	unsigned l7 = h[1] & 0x7f;
	return n + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0);
}

static void walker_feed(struct walker *w, const unsigned char *p, size_t n)
{
	w->bytes += n;
	while (n > 0 && !w->err) {
		if (w->skip > 0) {
			size_t k = w->skip < n ? (size_t)w->skip : n;
			w->skip -= k;
			p += k;
			n -= k;
			if (w->skip == 0 && w->opcode == 8)
				w->closed = 1;
			continue;
		}
		if (w->closed) {
			w->err = "bytes after the close frame";
			return;
		}
		if (w->have < 2) {
			w->hdr[w->have++] = *p++;
			n--;
			if (w->have == 2)
				w->need = hdr_len(w->hdr);
			continue;
		}
		size_t k = w->need - w->have;
		if (k > n)
			k = n;
		memcpy(w->hdr + w->have, p, k);
		w->have += k;
		p += k;
		n -= k;
		if (w->have < w->need)
			continue;
		/* header complete */
		const unsigned char *h = w->hdr;
		if ((h[0] & (w->deflate ? 0x30 : 0x70)) != 0) {
			w->err = "reserved bits set";
			return;
		}
		if (!(h[1] & 0x80)) {
			w->err = "client frame not masked";
			return;
		}
		unsigned l7 = h[1] & 0x7f;
		uint64_t len = l7;
		if (l7 == 126)
			len = (uint64_t)h[2] << 8 | h[3];
		else if (l7 == 127) {
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | h[2 + i];
		}
		w->opcode = h[0] & 0x0f;
		if (w->opcode != 0 && w->opcode != 1 && w->opcode != 2 && w->opcode != 8 &&
		    w->opcode != 9 && w->opcode != 10) {
			w->err = "unknown opcode";
			return;
		}
		w->frames++;
		w->skip = len;
		w->have = 0;
		if (w->opcode == 8) {
			w->close_len = len;
			if (len == 0)
				w->closed = 1;
		}
	}
}

static void *serve(void *arg)
{
	struct conn c = *(struct conn *)arg;
	free(arg);
	char *buf = malloc(RBUF);
	char req[REQ_MAX + 1];
	size_t rn = 0;
	const char *fail = NULL;
	struct walker w = { 0 };

	if (!buf) {
		fail = "out of memory";
		goto out;
	}
	if (c.tls) {
		c.ssl = SSL_new(g_ctx);
		if (!c.ssl || SSL_set_fd(c.ssl, c.fd) != 1 || SSL_accept(c.ssl) != 1) {
			fail = "tls handshake failed";
			goto out;
		}
	}
	/* the upgrade request, and whatever follows it in the same reads */
	char *end = NULL;
	while (!end) {
		if (rn == REQ_MAX) {
			fail = "request too long";
			goto out;
		}
		ssize_t r = conn_read(&c, req + rn, REQ_MAX - rn);
		if (r <= 0) {
			fail = r == 0 ? "eof in request" : "read error in request";
			goto out;
		}
		rn += (size_t)r;
		req[rn] = 0;
		end = strstr(req, "\r\n\r\n");
	}
	size_t reqlen = (size_t)(end + 4 - req);
	const char *key;
	size_t kn;
	if (strncmp(req, "GET ", 4) != 0 || find_header(req, "Sec-WebSocket-Key", &key, &kn) != 0) {
		fail = "not a websocket upgrade";
		goto out;
	}
	char acc[64], resp[384];
	const char *ext;
	size_t en;
	ws_accept(key, kn, acc);
	/* permessage-deflate offered: accepted as offered (the frames are
	 * counted, never inflated) */
	w.deflate = find_header(req, "Sec-WebSocket-Extensions", &ext, &en) == 0 &&
		    memmem(ext, en, "permessage-deflate", 18) != NULL;
	int m = snprintf(resp, sizeof(resp),
			 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
			 acc,
			 w.deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n" : "");
	if (conn_write_all(&c, resp, (size_t)m) != 0) {
		fail = "cannot write 101";
		goto out;
	}
	walker_feed(&w, (unsigned char *)req + reqlen, rn - reqlen);
	while (!w.err && !w.closed) {
		ssize_t r = conn_read(&c, buf, RBUF);
		if (r <= 0) {
			fail = "connection ended before the close frame";
			break;
		}
		walker_feed(&w, (unsigned char *)buf, (size_t)r);
	}
	if (w.err)
		fail = w.err;
	if (!fail) {
		char reason[128];
		int rl = snprintf(reason + 2, sizeof(reason) - 2, "bytes=%llu frames=%llu",
				  (unsigned long long)w.bytes, (unsigned long long)w.frames);
		reason[0] = 0x03; /* 1000, normal closure */
		reason[1] = (char)0xe8;
		unsigned char fr[2 + sizeof(reason)];
		fr[0] = 0x88;
		fr[1] = (unsigned char)(rl + 2);
		memcpy(fr + 2, reason, (size_t)rl + 2);
		if (conn_write_all(&c, fr, (size_t)rl + 4) != 0)
			fail = "cannot write close reply";
	}
out:
	if (fail)
		fprintf(stderr, "tls_server: %s connection: %s after %llu bytes\n",
			c.tls ? "tls" : "tcp", fail, (unsigned long long)w.bytes);
	if (c.ssl) {
		if (!fail)
			SSL_shutdown(c.ssl);
		SSL_free(c.ssl);
	}
	close(c.fd);
	free(buf);
	return NULL;
}

static int listen_local(unsigned short *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 512) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		perror("tls_server: cannot listen");
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc)
			cert = argv[++i];
		else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			key = argv[++i];
		else {
			fprintf(stderr, "usage: tls_server --cert FILE --key FILE\n");
			return 2;
		}
	}
	if (!cert || !key) {
		fprintf(stderr, "usage: tls_server --cert FILE --key FILE\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	g_ctx = SSL_CTX_new(TLS_server_method());
	if (!g_ctx || SSL_CTX_use_certificate_chain_file(g_ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(g_ctx, key, SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "tls_server: cannot load '%s' and '%s'\n", cert, key);
		ERR_print_errors_fp(stderr);
		return 1;
	}
	/* many small records per read() syscall, so the server keeps up with the client */
	SSL_CTX_set_read_ahead(g_ctx, 1);
	SSL_CTX_set_default_read_buffer_len(g_ctx, 64 * 1024);

	unsigned short tls_port, tcp_port;
	int lfd[2] = { listen_local(&tls_port), listen_local(&tcp_port) };
	printf("tls_port %u tcp_port %u\n", tls_port, tcp_port);
	fflush(stdout);

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		struct pollfd p[2] = { { .fd = lfd[0], .events = POLLIN }, { .fd = lfd[1], .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("tls_server: poll");
			return 1;
		}
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			int fd = accept4(lfd[i], NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			struct conn *c = calloc(1, sizeof(*c));
			pthread_t t;
			if (!c) {
				close(fd);
				continue;
			}
			int one = 1;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			c->fd = fd;
			c->tls = i == 0;
			if (pthread_create(&t, &attr, serve, c) != 0) {
				fprintf(stderr, "tls_server: cannot start a thread\n");
				close(fd);
				free(c);
			}
		}
	}
}
