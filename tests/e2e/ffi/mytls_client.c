/* A client of the toy TLS library (tests/e2e/ffi/mytls.h): sends an HTTP
 * request carrying X-Twilio-Token to 127.0.0.1:PORT, prints what the calls
 * returned and the reply's first line.
 *
 *   mytls_client [--ex] [--twice] PORT TOKEN
 *
 * --ex writes with mytls_write_ex, --twice makes two connections one after
 * the other (the second gets the first one's struct again). Built with
 * -DMYTLS_DLOPEN it links nothing of the library: it dlopens $MYTLS_LIB and
 * takes the functions with dlsym. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mytls.h"

#ifdef MYTLS_DLOPEN
#include <dlfcn.h>
static struct mytls *(*p_new)(int);
static int (*p_set_host)(struct mytls *, const char *);
static int (*p_write)(struct mytls *, const void *, size_t);
static int (*p_write_ex)(struct mytls *, const void *, size_t, size_t *);
static ssize_t (*p_read)(struct mytls *, void *, size_t);
static void (*p_free)(struct mytls *);

static void load(void)
{
	const char *path = getenv("MYTLS_LIB");
	void *h = dlopen(path ? path : "libmytls.so", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		exit(2);
	}
	*(void **)&p_new = dlsym(h, "mytls_new");
	*(void **)&p_set_host = dlsym(h, "mytls_set_host");
	*(void **)&p_write = dlsym(h, "mytls_write");
	*(void **)&p_write_ex = dlsym(h, "mytls_write_ex");
	*(void **)&p_read = dlsym(h, "mytls_read");
	*(void **)&p_free = dlsym(h, "mytls_free");
	if (!p_new || !p_set_host || !p_write || !p_write_ex || !p_read || !p_free) {
		fprintf(stderr, "dlsym: a function is missing\n");
		exit(2);
	}
}
#define mytls_new p_new
#define mytls_set_host p_set_host
#define mytls_write p_write
#define mytls_write_ex p_write_ex
#define mytls_read p_read
#define mytls_free p_free
#else
static void load(void)
{
}
#endif

static int send_all(struct mytls *c, const char *p, size_t n, int ex, int *calls)
{
	while (n > 0) {
		size_t w = 0;
		if (ex) {
			if (mytls_write_ex(c, p, n, &w) != 1)
				return -1;
		} else {
			int r = mytls_write(c, p, n);
			if (r <= 0)
				return -1;
			w = (size_t)r;
		}
		(*calls)++;
		p += w;
		n -= w;
	}
	return 0;
}

static int one(int port, const char *token, int ex)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("connect");
		return 1;
	}
	struct mytls *c = mytls_new(fd);
	if (!c || mytls_set_host(c, "chat.example.test") != 0) {
		perror("mytls");
		return 1;
	}
	char req[8192];
	int n = snprintf(req, sizeof req,
			 "GET /v1/Services HTTP/1.1\r\nHost: chat.example.test\r\nUser-Agent: mytls/1\r\n"
			 "X-Twilio-Token: %s\r\nAccept: */*\r\n\r\n",
			 token);
	int calls = 0;
	if (n <= 0 || (size_t)n >= sizeof req || send_all(c, req, (size_t)n, ex, &calls) != 0) {
		perror("write");
		return 1;
	}
	printf("sent %d bytes in %d calls\n", n, calls);
	char buf[512];
	size_t got = 0;
	ssize_t r;
	while (got < sizeof buf - 1 && (r = mytls_read(c, buf + got, sizeof buf - 1 - got)) > 0)
		got += (size_t)r;
	buf[got] = '\0';
	char *eol = strstr(buf, "\r\n");
	if (eol)
		*eol = '\0';
	printf("reply: %s\n", buf);
	mytls_free(c);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int ex = 0, twice = 0, i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--ex") == 0)
			ex = 1;
		else if (strcmp(argv[i], "--twice") == 0)
			twice = 1;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: mytls_client [--ex] [--twice] PORT TOKEN\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	load();
	int port = atoi(argv[i]);
	/* the return value and errno of a failing write reach the caller as they are */
	struct mytls *bad = mytls_new(-1);
	errno = 0;
	int r = mytls_write(bad, "x", 1);
	int e = errno;
	printf("write on a closed connection: %d %s\n", r, e == EBADF ? "EBADF" : strerror(e));
	size_t w = 12345;
	errno = 0;
	r = mytls_write_ex(bad, "x", 1, &w);
	e = errno;
	printf("write_ex on a closed connection: %d %s %zu\n", r, e == EBADF ? "EBADF" : strerror(e), w);
	mytls_free(bad);
	int rc = one(port, argv[i + 1], ex);
	if (!rc && twice)
		rc = one(port, argv[i + 1], ex);
	return rc;
}
