/* jmp PORT TOKEN N: a timeout around write() the way alarm()/setitimer and
 * siglongjmp give one (write is async-signal-safe: a conforming pattern),
 * on N connections to 127.0.0.1:PORT, each written once from a thread then
 * closed by main. A jump out of the shim while it held the connection's
 * lock left it held: the close of that fd spun for ever. Then one more
 * request with no timer. Exit 0 and "done J jumps" when every close came
 * back within a second and the last request went out. */
#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char req[8192];
static int reqlen, fdv, jumped;
static __thread sigjmp_buf env;

static void on_alrm(int s)
{
	(void)s;
	siglongjmp(env, 1);
}

static void *attempt(void *arg)
{
	long us = (long)arg;
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &ss, NULL);
	if (sigsetjmp(env, 1) == 0) {
		struct itimerval it = { { 0, 0 }, { 0, us } };
		setitimer(ITIMER_REAL, &it, NULL);
		if (write(fdv, req, (size_t)reqlen) < 0)
			perror("write");
		struct itimerval z = { { 0, 0 }, { 0, 0 } };
		setitimer(ITIMER_REAL, &z, NULL);
	} else {
		jumped++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	int port = atoi(argv[1]), n = atoi(argv[3]);
	reqlen = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: %s\r\n\r\n", argv[2]);
	signal(SIGALRM, on_alrm);
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &ss, NULL);
	for (int i = 0; i < n; i++) {
		fdv = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
		a.sin_addr.s_addr = htonl(0x7f000001);
		if (connect(fdv, (void *)&a, sizeof a) != 0) {
			perror("connect");
			return 1;
		}
		pthread_t t;
		pthread_create(&t, NULL, attempt, (void *)(long)(1 + i % 300));
		pthread_join(t, NULL);
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (close(fdv) != 0) {
			perror("close");
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > 1) {
			printf("close took more than a second at %d\n", i);
			return 1;
		}
	}
	/* a last request with no timer: nothing the jumps left behind (a lock of
	 * the shim's, or glibc's tzset lock taken by a time conversion inside
	 * the hook) may stop it; the runner's bound catches a hang */
	fdv = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	a.sin_addr.s_addr = htonl(0x7f000001);
	if (connect(fdv, (void *)&a, sizeof a) != 0 || write(fdv, req, (size_t)reqlen) != reqlen) {
		perror("final request");
		return 1;
	}
	close(fdv);
	printf("done %d jumps\n", jumped);
	return 0;
}
