/* h2_client: the host program of the HTTP/2 benchmark (tests/bench/h2_bench.sh),
 * run under callgrind with and without LD_PRELOAD=libtokshim.so.
 *
 * One TLS connection to 127.0.0.1:PORT with ALPN h2 (no certificate check:
 * a local sink), the HTTP/2 connection preface, SETTINGS, one HEADERS frame
 * (HPACK literals, RFC 7541 6.2.2) carrying `x-twilio-token: TOKEN`, then
 * --writes DATA frames of 16 KiB payload, each one SSL_write of 9 + 16384
 * bytes, in data_writes() (callgrind collects that function alone:
 * --toggle-collect=data_writes). Prints "result writes=N". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define PAYLOAD 16384

static void die(const char *what)
{
	fprintf(stderr, "h2_client: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void put_frame_head(unsigned char *h, size_t n, int type, int flags, uint32_t stream)
{
	h[0] = (unsigned char)(n >> 16);
	h[1] = (unsigned char)(n >> 8);
	h[2] = (unsigned char)n;
	h[3] = (unsigned char)type;
	h[4] = (unsigned char)flags;
	h[5] = (unsigned char)(stream >> 24);
	h[6] = (unsigned char)(stream >> 16);
	h[7] = (unsigned char)(stream >> 8);
	h[8] = (unsigned char)stream;
}

static size_t hpack_int(unsigned char *o, size_t v)
{
	size_t k = 0;
	if (v < 127) {
		o[k++] = (unsigned char)v;
		return k;
	}
	o[k++] = 127;
	v -= 127;
	while (v >= 128) {
		o[k++] = (unsigned char)(0x80 | (v & 0x7f));
		v >>= 7;
	}
	o[k++] = (unsigned char)v;
	return k;
}

static size_t literal(unsigned char *o, const char *name, const char *value)
{
	size_t k = 0, nn = strlen(name), vn = strlen(value);
	o[k++] = 0;
	k += hpack_int(o + k, nn);
	memcpy(o + k, name, nn);
	k += nn;
	k += hpack_int(o + k, vn);
	memcpy(o + k, value, vn);
	return k + vn;
}

static void write_all(SSL *ssl, const void *p, size_t n)
{
	if (SSL_write(ssl, p, (int)n) != (int)n)
		die("SSL_write");
}

/* The measured part: one SSL_write per 16 KiB DATA frame. */
__attribute__((noinline)) void data_writes(SSL *ssl, const unsigned char *frame, size_t n, long writes)
{
	for (long i = 0; i < writes; i++)
		write_all(ssl, frame, n);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: h2_client PORT TOKEN WRITES\n");
		return 2;
	}
	int port = atoi(argv[1]);
	const char *token = argv[2];
	long writes = atol(argv[3]);

	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	static const unsigned char alpn[] = "\x02h2";
	if (!ctx || SSL_CTX_set_alpn_protos(ctx, alpn, 3) != 0)
		die("SSL_CTX");
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("connect");
	SSL *ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, "insights.example.com") != 1 ||
	    SSL_connect(ssl) != 1)
		die("TLS handshake");
	const unsigned char *proto;
	unsigned plen;
	SSL_get0_alpn_selected(ssl, &proto, &plen);
	if (plen != 2 || memcmp(proto, "h2", 2))
		die("ALPN h2 not selected");

	unsigned char buf[8192];
	write_all(ssl, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	put_frame_head(buf, 0, 4, 0, 0);
	write_all(ssl, buf, 9);
	size_t k = 9;
	k += literal(buf + k, ":method", "POST");
	k += literal(buf + k, ":scheme", "https");
	k += literal(buf + k, ":authority", "insights.example.com");
	k += literal(buf + k, ":path", "/v1/upload");
	k += literal(buf + k, "x-twilio-token", token);
	put_frame_head(buf, k - 9, 1, 0x4, 1);
	write_all(ssl, buf, k);

	unsigned char *frame = calloc(1, 9 + PAYLOAD);
	if (!frame)
		die("out of memory");
	put_frame_head(frame, PAYLOAD, 0, 0, 1);
	for (size_t i = 0; i < PAYLOAD; i++)
		frame[9 + i] = (unsigned char)(i * 131 + 7);
	data_writes(ssl, frame, 9 + PAYLOAD, writes);
	put_frame_head(buf, 0, 0, 1, 1); /* END_STREAM */
	write_all(ssl, buf, 9);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);
	free(frame);
	printf("result writes=%ld\n", writes);
	return 0;
}
