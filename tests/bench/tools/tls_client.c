/* tls_client: the host program of the shim benchmark (tests/bench/shim_bench.sh),
 * run with and without LD_PRELOAD=libtokshim.so.
 *
 * Every connection looks like a Twilsock client: TCP connect to 127.0.0.1,
 * TLS with SNI tsock.us1.twilio.com (the certificate is verified against
 * --cafile), the WebSocket upgrade GET /v3/wsconnect, then a masked binary
 * frame with a Twilsock `init` carrying an HS256 access token signed here
 * with a fixed test secret (valid for --exp seconds, default 3600), then the
 * bulk frames, then a close frame. The server (tls_server.c) answers the
 * close with the byte and frame counts it saw; a mismatch fails the run.
 * With --tcp the same stream goes over plain write() (ws://). With
 * --twilsock each bulk frame is a whole Twilsock message, `TWILSOCK V3.0 <n>`,
 * a header JSON of method "message" (no token) and the payload to fill
 * --size; --text sends those frames as text frames (opcode 1). With
 * --deflate the upgrade offers permessage-deflate with
 * client_no_context_takeover (RFC 7692) and every bulk message is sent
 * compressed (RSV1; --size is then the message's uncompressed length): each
 * compressed on its own, so the one compressed frame made at the start
 * stands for every message (the client's own compression is not measured,
 * as its masking is not).
 *
 * Modes (one result line on stdout, "result key=value ..."):
 *   stream   one connection, --mib MiB of --size byte frames, one SSL_write
 *            (or write) per frame, header included in --size: throughput
 *   latency  --conns connections in turn: time from just before socket()
 *            to the return of the SSL_write carrying the init, per connection
 *   threads  --threads connections, one thread each, --writes frames of --size
 *            bytes per thread after a common start: SSL_write calls per second
 *
 * The secret is BENCH_SECRET from the environment, or the fixed test value;
 * the driver gives the shim the same one (TOKSHIM_SECRET) so it verifies the
 * signature. Nothing secret is printed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/perf_event.h>
#include <sys/syscall.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include <zlib.h>

#define HOST "tsock.us1.twilio.com"
#define DEFAULT_SECRET "tokshim-bench-secret-0123456789ab"
#define ACCOUNT_SID "AC0123456789abcdef0123456789abcdef"
#define API_KEY_SID "SK0123456789abcdef0123456789abcdef"
#define SERVICE_SID "IS0123456789abcdef0123456789abcdef"

struct opts {
	const char *mode;
	const char *cafile;
	unsigned short port;
	int tcp;
	size_t size;
	uint64_t mib;
	int conns;
	int threads;
	uint64_t writes;
	long exp;
	int twilsock; /* bulk frames are Twilsock messages */
	int text;     /* ... in text frames */
	int deflate;  /* permessage-deflate: bulk messages compressed */
};

static struct opts o = { .mode = "stream", .size = 16384, .mib = 512, .conns = 40, .threads = 8,
			 .writes = 100000, .exp = 3600 };
static SSL_CTX *g_ctx;
static char g_init[4096]; /* the init frame, masked */
static size_t g_init_len;

static void die(const char *what)
{
	fprintf(stderr, "tls_client: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage r;
	getrusage(RUSAGE_SELF, &r);
	return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
	       (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

/* User-space instructions retired by this thread, from a hardware counter
 * (perf_event_open): noise-free where wall time is not. -1 when the counter
 * is not available (no PMU in the VM, perf_event_paranoid). */
static int instr_fd = -2;

static long long instr_now(void)
{
	if (instr_fd == -2) {
		struct perf_event_attr a;
		memset(&a, 0, sizeof(a));
		a.type = PERF_TYPE_HARDWARE;
		a.size = sizeof(a);
		a.config = PERF_COUNT_HW_INSTRUCTIONS;
		a.exclude_kernel = 1;
		a.exclude_hv = 1;
		instr_fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	}
	long long v;
	if (instr_fd < 0 || read(instr_fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return -1;
	return v;
}

/* ---- token and frames ------------------------------------------------------ */

static size_t b64url(char *out, const void *in, size_t n)
{
	int k = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	while (k > 0 && out[k - 1] == '=')
		k--;
	for (int i = 0; i < k; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	out[k] = 0;
	return (size_t)k;
}

/* An access token as Twilio's helper libraries make it (TWILIO.md). */
static size_t make_token(char *out, size_t cap, int64_t now, long exp_in, const char *secret)
{
	char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"cty\":\"twilio-fpa;v=1\"}";
	char pay[1024];
	int pn = snprintf(pay, sizeof(pay),
			  "{\"jti\":\"" API_KEY_SID "-%" PRId64 "\",\"iss\":\"" API_KEY_SID "\","
			  "\"sub\":\"" ACCOUNT_SID "\",\"iat\":%" PRId64 ",\"nbf\":%" PRId64
			  ",\"exp\":%" PRId64 ",\"grants\":{\"identity\":\"bench_user\","
			  "\"chat\":{\"service_sid\":\"" SERVICE_SID "\"}}}",
			  now, now, now, now + exp_in);
	if (cap < 2048)
		die("token buffer too small");
	size_t n = b64url(out, hdr, strlen(hdr));
	out[n++] = '.';
	n += b64url(out + n, pay, (size_t)pn);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int ml = 0;
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)out, n, mac, &ml))
		die("cannot sign the token");
	out[n++] = '.';
	n += b64url(out + n, mac, ml);
	return n;
}

/* A masked client frame (RFC 6455): FIN, opcode, payload masked with mask. */
static size_t make_frame(unsigned char *out, int opcode, const void *payload, size_t n,
			 const unsigned char mask[4])
{
	size_t h = 0;
	out[h++] = (unsigned char)(0x80 | opcode);
	if (n <= 125) {
		out[h++] = (unsigned char)(0x80 | n);
	} else if (n <= 65535) {
		out[h++] = 0x80 | 126;
		out[h++] = (unsigned char)(n >> 8);
		out[h++] = (unsigned char)n;
	} else {
		out[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			out[h++] = (unsigned char)((uint64_t)n >> (8 * i));
	}
	memcpy(out + h, mask, 4);
	h += 4;
	const unsigned char *p = payload;
	for (size_t i = 0; i < n; i++)
		out[h + i] = p[i] ^ mask[i & 3];
	return h + n;
}

/* in[0..n) compressed as one permessage-deflate message (RFC 7692 7.2.1:
 * raw deflate, a sync flush, its final 00 00 ff ff dropped), fresh context;
 * new, its length in *outn. */
static unsigned char *deflate_msg(const unsigned char *in, size_t n, size_t *outn)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		die("deflateInit2 failed");
	size_t cap = deflateBound(&z, (uLong)n) + 16;
	unsigned char *out = malloc(cap);
	if (!out)
		die("out of memory");
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_SYNC_FLUSH) != Z_OK || z.avail_in != 0)
		die("deflate failed");
	size_t k = cap - z.avail_out;
	deflateEnd(&z);
	if (k < 4 || memcmp(out + k - 4, "\0\0\xff\xff", 4) != 0)
		die("deflate: no sync flush marker");
	*outn = k - 4;
	return out;
}

static size_t g_bulk_len; /* the length of bulk_frame's frame */

/* A frame of exactly `size` bytes, header included (with --deflate: of
 * the compressed message whose uncompressed frame would be `size` bytes;
 * its length in g_bulk_len). */
static unsigned char *bulk_frame(size_t size)
{
	size_t h = size - 6 <= 125 ? 6 : size - 8 <= 65535 ? 8 : 14;
	if (size < 8 || (h == 8 && size - 8 < 126))
		die("bad --size: must be 8..131 or 134 and up");
	size_t n = size - h;
	unsigned char *payload = malloc(n), *f = malloc(size);
	unsigned char mask[4];
	if (!payload || !f)
		die("out of memory");
	/* application-like binary payload; masked once here: the per-write cost
	 * measured is TLS and the shim, not the client's own masking loop */
	for (size_t i = 0; i < n; i++)
		payload[i] = (unsigned char)(i * 131 + (i >> 7));
	if (o.twilsock) {
		/* a Twilsock message filling the frame: preamble, header, payload
		 * (printable, as a JSON payload would be) */
		for (size_t i = 0; i < n; i++)
			payload[i] = (unsigned char)('a' + (i * 7 + (i >> 5)) % 26);
		char hdr[256], pre[64];
		for (size_t ps = n; ps > 0; ps--) {
			int hn = snprintf(hdr, sizeof(hdr),
					  "{\"method\":\"message\",\"id\":\"TM0123456789abcdef\","
					  "\"active_grant\":\"ip_messaging\",\"payload_type\":\"application/json\","
					  "\"payload_size\":%zu}",
					  ps);
			int pn = snprintf(pre, sizeof(pre), "TWILSOCK V3.0 %d\r\n", hn);
			if ((size_t)(pn + hn + 2) + ps == n) {
				memcpy(payload, pre, (size_t)pn);
				memcpy(payload + pn, hdr, (size_t)hn);
				memcpy(payload + pn + hn, "\r\n", 2);
				break;
			}
			if (ps == 1)
				die("bad --size for --twilsock: too small");
		}
	}
	RAND_bytes(mask, 4);
	if (o.deflate) {
		size_t zn;
		unsigned char *z = deflate_msg(payload, n, &zn);
		free(f);
		if (!(f = malloc(zn + 14)))
			die("out of memory");
		g_bulk_len = make_frame(f, 0x40 | (o.text ? 1 : 2), z, zn, mask);
		free(z);
		free(payload);
		return f;
	}
	if (make_frame(f, o.text ? 1 : 2, payload, n, mask) != size)
		die("frame size mismatch");
	g_bulk_len = size;
	free(payload);
	return f;
}

static void build_init(void)
{
	const char *secret = getenv("BENCH_SECRET");
	char token[2048], hdr[3072], msg[3500];
	unsigned char id[16], mask[4];
	char idhex[33];
	if (!secret || !*secret)
		secret = DEFAULT_SECRET;
	make_token(token, sizeof(token), (int64_t)time(NULL), o.exp, secret);
	RAND_bytes(id, sizeof(id));
	for (int i = 0; i < 16; i++)
		snprintf(idhex + 2 * i, 3, "%02x", id[i]);
	int hn = snprintf(hdr, sizeof(hdr),
			  "{\"id\":\"TM%s\",\"method\":\"init\",\"token\":\"%s\","
			  "\"continuation_token\":null,\"metadata\":{\"ver\":\"0.12.0\","
			  "\"env\":\"bench\",\"os\":\"linux\"},\"registrations\":null,"
			  "\"tweaks\":null,\"capabilities\":[\"client_update\",\"offline_storage\"],"
			  "\"payload_size\":0}",
			  idhex, token);
	int mn = snprintf(msg, sizeof(msg), "TWILSOCK V3.0 %d\r\n%s\r\n", hn, hdr);
	RAND_bytes(mask, 4);
	g_init_len = make_frame((unsigned char *)g_init, 2, msg, (size_t)mn, mask);
	OPENSSL_cleanse(token, sizeof(token));
	OPENSSL_cleanse(hdr, sizeof(hdr));
	OPENSSL_cleanse(msg, sizeof(msg));
}

/* ---- connections ----------------------------------------------------------- */

struct conn {
	int fd;
	SSL *ssl;
	uint64_t sent, frames; /* after the upgrade request: what the server must report */
};

static int conn_write(struct conn *c, const void *buf, size_t n)
{
	if (c->ssl) {
		size_t w = 0;
		/* one call per frame; blocking, no partial writes */
		if (SSL_write_ex(c->ssl, buf, n, &w) != 1 || w != n)
			return -1;
		return 0;
	}
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(c->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static ssize_t conn_read(struct conn *c, void *buf, size_t n)
{
	if (c->ssl) {
		size_t r = 0;
		if (SSL_read_ex(c->ssl, buf, n, &r) == 1)
			return (ssize_t)r;
		return SSL_get_error(c->ssl, 0) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	}
	for (;;) {
		ssize_t r = recv(c->fd, buf, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

static int conn_open(struct conn *c)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(o.port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		return -1;
	/* latency: no Nagle delay on the handshake and the init (WebSocket clients
	 * set TCP_NODELAY). The bulk modes keep Nagle: the kernel coalesces the
	 * small writes, which makes each write cheapest and so the shim's share
	 * of it largest (the strictest measure); their timing starts after init. */
	if (strcmp(o.mode, "latency") == 0) {
		int one = 1;
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (o.tcp)
		return 0;
	c->ssl = SSL_new(g_ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, HOST) != 1 || SSL_set1_host(c->ssl, HOST) != 1 ||
	    SSL_connect(c->ssl) != 1)
		return -1;
	return 0;
}

/* The WebSocket upgrade: request, then the 101 with the right accept key. */
static int conn_upgrade(struct conn *c)
{
	unsigned char raw[16], md[SHA_DIGEST_LENGTH];
	char key[32], want[64], in[128], req[512], resp[2048];
	RAND_bytes(raw, sizeof(raw));
	EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
	int n = snprintf(req, sizeof(req),
			 "GET /v3/wsconnect HTTP/1.1\r\nHost: " HOST "\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
			 "Sec-WebSocket-Version: 13\r\nUser-Agent: tokshim-bench/1\r\n%s\r\n",
			 key,
			 o.deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n" : "");
	if (conn_write(c, req, (size_t)n) != 0)
		return -1;
	size_t rn = 0;
	while (!memmem(resp, rn, "\r\n\r\n", 4)) {
		if (rn == sizeof(resp) - 1)
			return -1;
		ssize_t r = conn_read(c, resp + rn, sizeof(resp) - 1 - rn);
		if (r <= 0)
			return -1;
		rn += (size_t)r;
	}
	resp[rn] = 0;
	n = snprintf(in, sizeof(in), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
	SHA1((unsigned char *)in, (size_t)n, md);
	EVP_EncodeBlock((unsigned char *)want, md, SHA_DIGEST_LENGTH);
	if (strncmp(resp, "HTTP/1.1 101 ", 13) != 0 || !strstr(resp, want))
		return -1;
	if (o.deflate && !strstr(resp, "permessage-deflate"))
		return -1; /* the server did not accept the extension */
	/* the server sends nothing more until our close frame */
	return memmem(resp, rn, "\r\n\r\n", 4) == resp + rn - 4 ? 0 : -1;
}

static int conn_send_frame(struct conn *c, const void *f, size_t n)
{
	if (conn_write(c, f, n) != 0)
		return -1;
	c->sent += n;
	c->frames++;
	return 0;
}

/* Close frame out, the server's close frame in, counts compared; closes c. */
static const char *conn_finish(struct conn *c)
{
	static const unsigned char code[2] = { 0x03, 0xe8 };
	unsigned char f[16], mask[4] = { 0x11, 0x22, 0x33, 0x44 };
	unsigned char in[256];
	size_t fn = make_frame(f, 8, code, 2, mask), rn = 0;
	const char *err = NULL;
	if (conn_send_frame(c, f, fn) != 0) {
		err = "cannot send the close frame";
		goto out;
	}
	while (rn < 2 || rn < 2 + (size_t)(in[1] & 0x7f)) {
		ssize_t r = conn_read(c, in + rn, sizeof(in) - 1 - rn);
		if (r <= 0) {
			err = "no close reply from the server (see its stderr)";
			goto out;
		}
		rn += (size_t)r;
	}
	in[rn] = 0;
	unsigned long long bytes = 0, frames = 0;
	if (in[0] != 0x88 || sscanf((char *)in + 4, "bytes=%llu frames=%llu", &bytes, &frames) != 2) {
		err = "bad close reply";
		goto out;
	}
	if (bytes != c->sent || frames != c->frames) {
		static __thread char msg[160];
		snprintf(msg, sizeof(msg), "byte count mismatch: sent %" PRIu64 " bytes in %" PRIu64
			 " frames, server saw %llu bytes in %llu frames", c->sent, c->frames, bytes, frames);
		err = msg;
	}
out:
	if (c->ssl) {
		if (!err)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	return err;
}

/* Open, upgrade, init. */
static void conn_start(struct conn *c)
{
	if (conn_open(c) != 0)
		die(o.tcp ? "cannot connect" : "cannot connect or tls handshake failed");
	if (conn_upgrade(c) != 0)
		die("websocket upgrade failed");
	if (conn_send_frame(c, g_init, g_init_len) != 0)
		die("cannot send the init frame");
}

/* ---- modes ----------------------------------------------------------------- */

static int mode_stream(void)
{
	unsigned char *f = bulk_frame(o.size);
	uint64_t n = (o.mib << 20) / o.size;
	struct conn c;
	conn_start(&c);
	long long i0 = instr_now();
	double c0 = cpu_s(), t0 = now_s();
	for (uint64_t i = 0; i < n; i++)
		if (conn_send_frame(&c, f, g_bulk_len) != 0)
			die("write failed");
	long long i1 = instr_now();
	const char *err = conn_finish(&c);
	double t1 = now_s(), c1 = cpu_s();
	if (err)
		die(err);
	double mib = (double)(n * o.size) / (1 << 20);
	printf("result mode=stream transport=%s size=%zu bytes=%" PRIu64 " frames=%" PRIu64
	       " seconds=%.6f mibps=%.3f cpu_seconds=%.6f instr_per_write=%.1f\n",
	       o.tcp ? "tcp" : "tls", o.size, n * o.size, n, t1 - t0, mib / (t1 - t0), c1 - c0,
	       i0 < 0 || i1 < 0 ? -1.0 : (double)(i1 - i0) / (double)n);
	free(f);
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int mode_latency(void)
{
	double *lat = calloc((size_t)o.conns, sizeof(double));
	double *wr = calloc((size_t)o.conns, sizeof(double));
	double *ilat = calloc((size_t)o.conns, sizeof(double));
	double *iwr = calloc((size_t)o.conns, sizeof(double));
	if (!lat || !wr || !ilat || !iwr)
		die("out of memory");
	for (int i = 0; i < o.conns; i++) {
		struct conn c;
		long long i0 = instr_now();
		double t0 = now_s();
		if (conn_open(&c) != 0)
			die("cannot connect or tls handshake failed");
		if (conn_upgrade(&c) != 0)
			die("websocket upgrade failed");
		long long iw = instr_now();
		double tw = now_s();
		if (conn_send_frame(&c, g_init, g_init_len) != 0)
			die("cannot send the init frame");
		double t1 = now_s();
		long long i1 = instr_now();
		ilat[i] = i0 < 0 || i1 < 0 ? -1 : (double)(i1 - i0);
		iwr[i] = iw < 0 || i1 < 0 ? -1 : (double)(i1 - iw);
		const char *err = conn_finish(&c);
		if (err)
			die(err);
		lat[i] = (t1 - t0) * 1e6;
		wr[i] = (t1 - tw) * 1e6;
	}
	double first = lat[0];
	printf("result mode=latency transport=%s conns=%d connect_first_write_us=%.2f "
	       "init_write_us=%.2f first_conn_us=%.2f connect_first_write_instr=%.0f "
	       "init_write_instr=%.0f\n",
	       o.tcp ? "tcp" : "tls", o.conns, median(lat, o.conns), median(wr, o.conns), first,
	       median(ilat, o.conns), median(iwr, o.conns));
	free(lat);
	free(wr);
	free(ilat);
	free(iwr);
	return 0;
}

static pthread_barrier_t g_bar;
static unsigned char *g_frame;

static void *writer(void *arg)
{
	struct conn *c = arg;
	pthread_barrier_wait(&g_bar);
	for (uint64_t i = 0; i < o.writes; i++)
		if (conn_send_frame(c, g_frame, g_bulk_len) != 0)
			die("write failed");
	const char *err = conn_finish(c);
	if (err)
		die(err);
	return NULL;
}

static int mode_threads(void)
{
	struct conn *c = calloc((size_t)o.threads, sizeof(*c));
	pthread_t *t = calloc((size_t)o.threads, sizeof(*t));
	if (!c || !t)
		die("out of memory");
	g_frame = bulk_frame(o.size);
	pthread_barrier_init(&g_bar, NULL, (unsigned)o.threads + 1);
	for (int i = 0; i < o.threads; i++) {
		conn_start(&c[i]);
		if (pthread_create(&t[i], NULL, writer, &c[i]) != 0)
			die("cannot start a thread");
	}
	pthread_barrier_wait(&g_bar);
	double c0 = cpu_s(), t0 = now_s();
	for (int i = 0; i < o.threads; i++)
		pthread_join(t[i], NULL);
	double t1 = now_s(), c1 = cpu_s();
	uint64_t calls = o.writes * (uint64_t)o.threads;
	printf("result mode=threads transport=%s threads=%d size=%zu calls=%" PRIu64
	       " seconds=%.6f calls_per_s=%.1f cpu_seconds=%.6f\n",
	       o.tcp ? "tcp" : "tls", o.threads, o.size, calls, t1 - t0, (double)calls / (t1 - t0),
	       c1 - c0);
	free(c);
	free(t);
	free(g_frame);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: tls_client --port N [--tcp] [--twilsock [--text]] [--deflate] [--cafile FILE]\n"
			"                  [--mode stream|latency|threads]\n"
			"                  [--size BYTES] [--mib N] [--conns N] [--threads N] [--writes N]\n"
			"                  [--exp SECONDS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--tcp") == 0) {
			o.tcp = 1;
			continue;
		}
		if (strcmp(a, "--twilsock") == 0) {
			o.twilsock = 1;
			continue;
		}
		if (strcmp(a, "--text") == 0) {
			o.text = 1;
			continue;
		}
		if (strcmp(a, "--deflate") == 0) {
			o.deflate = 1;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (strcmp(a, "--mode") == 0)
			o.mode = v;
		else if (strcmp(a, "--cafile") == 0)
			o.cafile = v;
		else if (strcmp(a, "--port") == 0)
			o.port = (unsigned short)atoi(v);
		else if (strcmp(a, "--size") == 0)
			o.size = (size_t)strtoull(v, NULL, 10);
		else if (strcmp(a, "--mib") == 0)
			o.mib = strtoull(v, NULL, 10);
		else if (strcmp(a, "--conns") == 0)
			o.conns = atoi(v);
		else if (strcmp(a, "--threads") == 0)
			o.threads = atoi(v);
		else if (strcmp(a, "--writes") == 0)
			o.writes = strtoull(v, NULL, 10);
		else if (strcmp(a, "--exp") == 0)
			o.exp = atol(v);
		else
			usage();
	}
	if (!o.port || o.conns < 1 || o.threads < 1 || !o.mib || !o.writes || (!o.tcp && !o.cafile))
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (!o.tcp) {
		g_ctx = SSL_CTX_new(TLS_client_method());
		if (!g_ctx || SSL_CTX_load_verify_locations(g_ctx, o.cafile, NULL) != 1)
			die("cannot load the ca file");
		SSL_CTX_set_verify(g_ctx, SSL_VERIFY_PEER, NULL);
	}
	build_init();
	if (strcmp(o.mode, "stream") == 0)
		return mode_stream();
	if (strcmp(o.mode, "latency") == 0)
		return mode_latency();
	if (strcmp(o.mode, "threads") == 0)
		return mode_threads();
	usage();
	return 2;
}
