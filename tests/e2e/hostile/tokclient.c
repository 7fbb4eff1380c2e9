/* A plain TCP client for the hostile-host tests: connects to 127.0.0.1:PORT,
 * sends one HTTP request whose X-Twilio-Token header is TOKEN (none when
 * TOKEN is "-"), reads the answer until the server closes, exits 0.
 * It prints "secure=N" (getauxval(AT_SECURE)) and "shim=N" (1 when `connect`
 * as the dynamic linker resolves it lies in a loaded libtokshim), so a test
 * knows the library was loaded and in which mode the program ran.
 * TOKEN "@FILE" reads the token from FILE. With "hold" in argv[3] it wipes
 * its own copies of the token after the exchange, prints "held", and waits
 * until it is killed (a test then reads its memory); "keep" waits too but
 * keeps its copies. With "seccomp" in argv[3] it first installs a seccomp filter (hostile/
 * seccomp_allow.h) that kills the process on any system call this program
 * does not make itself between its connect and its exit. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef WITH_SECCOMP
#include "seccomp_allow.h"
#endif

/* Wipes 32 KiB of this thread's stack below the caller: what printf and
 * friends left there. */
static void __attribute__((noinline)) burn_stack(void)
{
	char area[32768];
	explicit_bzero(area, sizeof area);
	__asm__ volatile("" : : "r"(area) : "memory");
}

static int __attribute__((noinline)) run(int argc, char **argv);

int main(int argc, char **argv)
{
	int rc = run(argc, argv);
	if (rc == 0 && argc > 3 && (strcmp(argv[3], "hold") == 0 || strcmp(argv[3], "keep") == 0)) {
		if (strcmp(argv[3], "hold") == 0)
			burn_stack();
		static const char held[] = "held\n";
		if (write(1, held, sizeof held - 1) < 0)
			return 7;
		for (;;)
			pause();
	}
	return rc;
}

static int run(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: tokclient PORT TOKEN|- [seccomp]\n");
		return 2;
	}
	Dl_info info;
	void *c = dlsym(RTLD_DEFAULT, "connect");
	int shim = c && dladdr(c, &info) && info.dli_fname && strstr(info.dli_fname, "libtokshim");
	printf("secure=%lu shim=%d\n", getauxval(AT_SECURE), shim);
	fflush(stdout);
	static char req[20000], tok[17000];
	const char *t = argv[2];
	if (t[0] == '@') {
		int tf = open(t + 1, O_RDONLY);
		ssize_t k = tf >= 0 ? read(tf, tok, sizeof tok - 1) : -1;
		if (k < 0)
			return 2;
		while (k > 0 && (tok[k - 1] == '\n' || tok[k - 1] == '\r'))
			k--;
		tok[k] = '\0';
		close(tf);
		t = tok;
	}
	int have = strcmp(t, "-") != 0;
	int n = snprintf(req, sizeof req, "GET /v1/x HTTP/1.1\r\nHost: localhost\r\n%s%s%sConnection: close\r\n\r\n",
			 have ? "X-Twilio-Token: " : "", have ? t : "", have ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof req)
		return 2;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return 3;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	static char buf[65536];
#ifdef WITH_SECCOMP
	if (argc > 3 && strcmp(argv[3], "seccomp") == 0 && seccomp_allow_install() != 0) {
		perror("seccomp");
		return 4;
	}
#endif
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		return 5;
	for (int off = 0; off < n;) {
		ssize_t w = write(fd, req + off, (size_t)(n - off));
		if (w <= 0)
			return 6;
		off += (int)w;
	}
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	static const char msg[] = "done\n";
	if (write(1, msg, sizeof msg - 1) < 0)
		return 7;
	if (argc > 3 && strcmp(argv[3], "hold") == 0) {
		explicit_bzero(req, sizeof req);
		explicit_bzero(tok, sizeof tok);
	}
	return got ? 0 : 8;
}
