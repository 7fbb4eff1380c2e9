/* read_client: the reading end of the read-path benchmark
 * (tests/bench/read_bench.sh), run under callgrind with and without the shim.
 *
 *   read_client --port N [--tcp] [--cafile F] --token T --reads N [--size S]
 *     connects (TLS with SNI tsock.us1.twilio.com, or plain TCP), upgrades to
 *     WebSocket, sends a Twilsock init carrying T (the shim follows the
 *     connection and waits for the answer), then reads N times S bytes with
 *     SSL_read (recv on TCP): the server's bulk binary frames.
 *   read_client --unfollowed N
 *     N reads of one byte from a socketpair the shim does not follow.
 *
 * Prints "result reads=N bytes=B". Exit 0, 1 on an error. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static int die(const char *what)
{
	fprintf(stderr, "read_client: %s\n", what);
	ERR_print_errors_fp(stderr);
	return 1;
}

static int unfollowed(long n)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return die("socketpair");
	char *fill = calloc(1, (size_t)n);
	long sent = 0;
	while (sent < n) {
		ssize_t w = write(sv[1], fill + sent, (size_t)(n - sent));
		if (w <= 0)
			return die("fill");
		sent += w;
		if (sent < n)
			break; /* the buffer is full: read in rounds below */
	}
	long got = 0;
	char c;
	while (got < n) {
		if (got == sent) {
			ssize_t w = write(sv[1], fill, (size_t)(n - sent) < 65536 ? (size_t)(n - sent) : 65536);
			if (w <= 0)
				return die("refill");
			sent += w;
		}
		if (read(sv[0], &c, 1) != 1)
			return die("read");
		got++;
	}
	printf("result reads=%ld bytes=%ld\n", n, got);
	free(fill);
	return 0;
}

int main(int argc, char **argv)
{
	int port = 0, tcp = 0;
	long reads = 0, size = 16384, unf = 0;
	const char *cafile = NULL, *token = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
		if (!strcmp(a, "--port")) port = atoi(v), i++;
		else if (!strcmp(a, "--tcp")) tcp = 1;
		else if (!strcmp(a, "--cafile")) cafile = v, i++;
		else if (!strcmp(a, "--token")) token = v, i++;
		else if (!strcmp(a, "--reads")) reads = atol(v), i++;
		else if (!strcmp(a, "--size")) size = atol(v), i++;
		else if (!strcmp(a, "--unfollowed")) unf = atol(v), i++;
		else {
			fprintf(stderr, "usage: read_client --port N [--tcp] [--cafile F] --token T --reads N [--size S] | --unfollowed N\n");
			return 2;
		}
	}
	if (unf > 0)
		return unfollowed(unf);
	if (!port || !token || reads <= 0 || size <= 0 || size > (1 << 20))
		return die("missing --port, --token or --reads");
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		return die("connect");
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	if (!tcp) {
		ctx = SSL_CTX_new(TLS_client_method());
		if (cafile && SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1)
			return die("cafile");
		ssl = SSL_new(ctx);
		SSL_set_tlsext_host_name(ssl, "tsock.us1.twilio.com");
		SSL_set_fd(ssl, fd);
		if (SSL_connect(ssl) != 1)
			return die("handshake");
	}
	char *buf = malloc((size_t)size + 8192);
	int n = snprintf(buf, 8192,
			 "GET /v3/wsconnect HTTP/1.1\r\nHost: tsock.us1.twilio.com\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			 "Sec-WebSocket-Version: 13\r\n\r\n");
	char hdr[4096], msg[4500];
	int hl = snprintf(hdr, sizeof hdr, "{\"id\":\"TMbench\",\"method\":\"init\",\"token\":\"%s\",\"payload_size\":0}", token);
	int ml = snprintf(msg, sizeof msg, "TWILSOCK V3.0 %d\r\n%s\r\n", hl, hdr);
	unsigned char *f = (unsigned char *)buf + n;
	size_t k = 0;
	f[k++] = 0x82;
	f[k++] = 0x80 | 126;
	f[k++] = (unsigned char)(ml >> 8);
	f[k++] = (unsigned char)ml;
	memset(f + k, 0, 4); /* a zero mask */
	k += 4;
	memcpy(f + k, msg, (size_t)ml);
	k += (size_t)ml;
	size_t total = (size_t)n + k;
	if (ssl ? SSL_write(ssl, buf, (int)total) != (int)total : write(fd, buf, total) != (ssize_t)total)
		return die("write");
	long got = 0, i = 0;
	for (i = 0; i < reads; i++) {
		long r = ssl ? SSL_read(ssl, buf, (int)size) : (long)recv(fd, buf, (size_t)size, 0);
		if (r <= 0)
			return die("read");
		got += r;
	}
	printf("result reads=%ld bytes=%ld\n", reads, got);
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
		SSL_CTX_free(ctx);
	}
	close(fd);
	free(buf);
	return 0;
}
