/* tsock_many: many live Twilsock connections held open by one process, for
 * the per-connection memory test (tests/e2e/t_shim_many_live.sh) and its
 * bench figure (tests/bench/conn_mem_bench.sh), with and without the shim.
 *
 *   tsock_many --port N [--plain] [--wipe] --tokens FILE [--update-tokens FILE]
 *
 * Each connection: TCP to 127.0.0.1, TLS with SNI tsock.us1.twilio.com
 * (OpenSSL's SSL_write/SSL_read; no certificate check), the WebSocket
 * upgrade, then a Twilsock init carrying its own token (line i of FILE)
 * with id TMhold<i>: the server (tests/e2e/many/tsock_server.py) holds that
 * reply until the connection sends `release`. Commands on stdin, one a
 * line, each answered on stdout once done (the first line says "pid P"):
 *   open N     opens connections until N are open        -> "opened N"
 *   release    on each not released yet: release, read up to the init's
 *              reply and the release's                    -> "released N ok K" (K init replies 200)
 *   update K   on the first K: an update carrying line i of the update
 *              tokens, read up to its reply               -> "updated K"
 *   ping       on each: a ping message, read its reply    -> "pinged N"
 *   quit       closes them all and exits.
 * --wipe: each token is wiped from this process's memory once sent (its
 * line and every buffer that held it), so that a search of the process's
 * memory finds only what others kept (tests/e2e/t_shim_memory.sh).
 * Exit 0; 1 on an error (said on stderr). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

struct cn {
	int fd;
	SSL *ssl;
	int released;
	unsigned char buf[4096];
	size_t len, off;
};

static SSL_CTX *ctx;
static int plain, port, wipe;
static struct cn *cns;
static size_t ncn, capcn;
static char **toks, **utoks;
static size_t ntoks, nutoks;

static int die(const char *what, size_t i)
{
	fprintf(stderr, "tsock_many: %s (connection %zu)\n", what, i);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* The lines of a file, each its own string; the file's bytes read with
 * read(2) into a buffer that is wiped (no stdio buffer keeps a copy). */
static char **lines(const char *path, size_t *n)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die("cannot open a token file", 0);
	size_t len = 0, cap = 0;
	char *all = NULL;
	for (;;) {
		if (len + 65536 > cap)
			all = realloc(all, cap = (len + 65536) * 2);
		ssize_t r = read(fd, all + len, cap - len - 1);
		if (r < 0)
			die("cannot read a token file", 0);
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	all[len] = 0;
	char **v = NULL;
	size_t vcap = 0;
	*n = 0;
	for (char *p = all, *e; p < all + len; p = e + 1) {
		e = strchr(p, '\n');
		if (!e)
			e = all + len;
		size_t k = (size_t)(e - p);
		while (k && p[k - 1] == '\r')
			k--;
		if (*n == vcap)
			v = realloc(v, (vcap = vcap * 2 + 64) * sizeof *v);
		v[*n] = strndup(p, k);
		(*n)++;
	}
	explicit_bzero(all, cap);
	free(all);
	return v;
}

static void put(struct cn *c, size_t i, const void *p, size_t n)
{
	const char *b = p;
	while (n) {
		int w = plain ? (int)write(c->fd, b, n) : SSL_write(c->ssl, b, (int)n);
		if (w <= 0)
			die("write", i);
		b += w;
		n -= (size_t)w;
	}
}

static size_t more(struct cn *c, size_t i)
{
	if (c->off == c->len)
		c->off = c->len = 0;
	if (c->len == sizeof c->buf) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	int r = plain ? (int)read(c->fd, c->buf + c->len, sizeof c->buf - c->len)
		      : SSL_read(c->ssl, c->buf + c->len, (int)(sizeof c->buf - c->len));
	if (r <= 0)
		die("read", i);
	c->len += (size_t)r;
	return (size_t)r;
}

static void need(struct cn *c, size_t i, size_t n)
{
	while (c->len - c->off < n)
		more(c, i);
}

/* One masked client frame. */
static void send_frame(struct cn *c, size_t i, int op, const char *p, size_t n)
{
	unsigned char h[14];
	size_t k = 0;
	h[k++] = (unsigned char)(0x80 | op);
	if (n < 126) {
		h[k++] = (unsigned char)(0x80 | n);
	} else {
		h[k++] = 0x80 | 126;
		h[k++] = (unsigned char)(n >> 8);
		h[k++] = (unsigned char)n;
	}
	unsigned char m[4] = { (unsigned char)rand(), (unsigned char)rand(), (unsigned char)rand(),
			       (unsigned char)rand() };
	memcpy(h + k, m, 4);
	k += 4;
	char *f = malloc(k + n);
	memcpy(f, h, k);
	for (size_t j = 0; j < n; j++)
		f[k + j] = (char)(p[j] ^ m[j & 3]);
	put(c, i, f, k + n);
	explicit_bzero(f, k + n);
	free(f);
}

static void send_tsock(struct cn *c, size_t i, const char *method, const char *id, const char *token)
{
	size_t tn = token ? strlen(token) : 0;
	char *hdr = malloc(tn + 256), *msg = malloc(tn + 320);
	int hn = token ? sprintf(hdr, "{\"method\":\"%s\",\"id\":\"%s\",\"token\":\"%s\",\"payload_size\":0}", method, id, token)
		       : sprintf(hdr, "{\"method\":\"%s\",\"id\":\"%s\",\"payload_size\":0}", method, id);
	int mn = sprintf(msg, "TWILSOCK V3.0 %d\r\n%s\r\n", hn, hdr);
	send_frame(c, i, 2, msg, (size_t)mn);
	explicit_bzero(hdr, tn + 256);
	explicit_bzero(msg, tn + 320);
	free(hdr);
	free(msg);
}

/* Reads server frames until a Twilsock reply to id; its status code. Pings
 * are answered. */
static int read_reply(struct cn *c, size_t i, const char *id)
{
	char want[80];
	snprintf(want, sizeof want, "\"id\":\"%s\"", id);
	for (;;) {
		need(c, i, 2);
		unsigned b0 = c->buf[c->off], b1 = c->buf[c->off + 1];
		size_t n = b1 & 0x7f, hl = 2;
		if (n == 126) {
			need(c, i, 4);
			n = (size_t)c->buf[c->off + 2] << 8 | c->buf[c->off + 3];
			hl = 4;
		} else if (n == 127) {
			die("frame too long", i);
		}
		if (hl + n > sizeof c->buf)
			die("frame too long", i);
		need(c, i, hl + n);
		char *p = (char *)c->buf + c->off + hl;
		c->off += hl + n;
		unsigned op = b0 & 0x0f;
		if (op == 9) {
			send_frame(c, i, 10, p, n);
			continue;
		}
		if (op == 8)
			die("server closed", i);
		if (op != 1 && op != 2)
			continue;
		char save = p[n];
		p[n] = 0;
		int is = strstr(p, "\"method\":\"reply\"") && strstr(p, want);
		char *code = strstr(p, "\"code\":");
		int st = code ? atoi(code + 7) : 0;
		p[n] = save;
		if (is)
			return st;
	}
}

static void open_one(size_t i)
{
	if (i >= ntoks)
		die("not enough tokens", i);
	if (ncn == capcn)
		cns = realloc(cns, (capcn = capcn * 2 + 256) * sizeof *cns);
	struct cn *c = &cns[ncn];
	memset(c, 0, sizeof *c);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("connect", i);
	if (!plain) {
		c->ssl = SSL_new(ctx);
		SSL_set_tlsext_host_name(c->ssl, "tsock.us1.twilio.com");
		SSL_set_fd(c->ssl, c->fd);
		if (SSL_connect(c->ssl) != 1)
			die("handshake", i);
	}
	static const char up[] = "GET /v3/wsconnect HTTP/1.1\r\nHost: tsock.us1.twilio.com\r\nUpgrade: websocket\r\n"
				 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				 "Sec-WebSocket-Version: 13\r\n\r\n";
	put(c, i, up, sizeof up - 1);
	for (;;) {
		unsigned char *e = c->len - c->off >= 4 ? memmem(c->buf + c->off, c->len - c->off, "\r\n\r\n", 4) : NULL;
		if (e) {
			if (memcmp(c->buf + c->off, "HTTP/1.1 101", 12))
				die("upgrade refused", i);
			c->off = (size_t)(e + 4 - c->buf);
			break;
		}
		more(c, i);
	}
	char id[32];
	snprintf(id, sizeof id, "TMhold%zu", i);
	send_tsock(c, i, "init", id, toks[i]);
	if (wipe)
		explicit_bzero(toks[i], strlen(toks[i]));
	ncn++;
}

int main(int argc, char **argv)
{
	const char *tf = NULL, *uf = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--plain"))
			plain = 1;
		else if (!strcmp(argv[i], "--wipe"))
			wipe = 1;
		else if (!strcmp(argv[i], "--tokens") && i + 1 < argc)
			tf = argv[++i];
		else if (!strcmp(argv[i], "--update-tokens") && i + 1 < argc)
			uf = argv[++i];
		else
			return fprintf(stderr, "usage: tsock_many --port N [--plain] [--wipe] --tokens FILE [--update-tokens FILE]\n"), 2;
	}
	if (!port || !tf)
		return fprintf(stderr, "tsock_many: --port and --tokens are needed\n"), 2;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	toks = lines(tf, &ntoks);
	if (uf)
		utoks = lines(uf, &nutoks);
	if (!plain) {
		ctx = SSL_CTX_new(TLS_client_method());
		if (!ctx)
			die("SSL_CTX_new", 0);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	char cmd[64];
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("pid %d\n", (int)getpid());
	while (fgets(cmd, sizeof cmd, stdin)) {
		size_t n = 0;
		char id[32];
		if (sscanf(cmd, "open %zu", &n) == 1) {
			while (ncn < n)
				open_one(ncn);
			printf("opened %zu\n", ncn);
		} else if (!strncmp(cmd, "release", 7)) {
			size_t ok = 0, rel = 0;
			for (size_t i = 0; i < ncn; i++) {
				if (cns[i].released)
					continue;
				cns[i].released = 1;
				rel++;
				snprintf(id, sizeof id, "TMrel%zu", i);
				send_tsock(&cns[i], i, "release", id, NULL);
				char hid[32];
				snprintf(hid, sizeof hid, "TMhold%zu", i);
				ok += read_reply(&cns[i], i, hid) == 200;
				read_reply(&cns[i], i, id);
			}
			printf("released %zu ok %zu\n", rel, ok);
		} else if (sscanf(cmd, "update %zu", &n) == 1) {
			if (n > ncn || n > nutoks)
				die("update: not so many connections or update tokens", n);
			for (size_t i = 0; i < n; i++) {
				snprintf(id, sizeof id, "TMupd%zu", i);
				send_tsock(&cns[i], i, "update", id, utoks[i]);
				if (wipe)
					explicit_bzero(utoks[i], strlen(utoks[i]));
				read_reply(&cns[i], i, id);
			}
			printf("updated %zu\n", n);
		} else if (!strncmp(cmd, "ping", 4)) {
			for (size_t i = 0; i < ncn; i++) {
				snprintf(id, sizeof id, "TMping%zu", i);
				send_tsock(&cns[i], i, "ping", id, NULL);
				read_reply(&cns[i], i, id);
			}
			printf("pinged %zu\n", ncn);
		} else if (!strncmp(cmd, "quit", 4)) {
			break;
		} else {
			fprintf(stderr, "tsock_many: unknown command: %s", cmd);
			return 1;
		}
	}
	for (size_t i = 0; i < ncn; i++) {
		if (cns[i].ssl) {
			SSL_shutdown(cns[i].ssl);
			SSL_free(cns[i].ssl);
		}
		close(cns[i].fd);
	}
	printf("closed %zu\n", ncn);
	return 0;
}
