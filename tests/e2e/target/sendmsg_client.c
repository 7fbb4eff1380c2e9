/* An HTTP request with the token in X-Twilio-Token, sent with one sendmsg
 * of three iovecs over plain TCP to 127.0.0.1:PORT; prints the reply's status
 * line as "reply: ...". Built twice by t_cross_target.sh: with
 * _TIME_BITS=64 (on 32-bit glibc the call is then __sendmsg64) and without. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s PORT TOKEN\n", argv[0]);
		return 2;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("connect");
		return 1;
	}
	static const char head[] = "GET /v1/Configuration HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Twilio-Token: ";
	static const char tail[] = "\r\nConnection: close\r\n\r\n";
	struct iovec iov[3] = {
		{(void *)head, sizeof head - 1}, {argv[2], strlen(argv[2])}, {(void *)tail, sizeof tail - 1}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 3};
	size_t want = iov[0].iov_len + iov[1].iov_len + iov[2].iov_len;
	ssize_t n = sendmsg(fd, &msg, 0);
	if (n != (ssize_t)want) {
		fprintf(stderr, "sendmsg: %zd of %zu\n", n, want);
		return 1;
	}
	char buf[4096];
	size_t got = 0;
	ssize_t r;
	while (got < sizeof buf - 1 && (r = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
		got += (size_t)r;
	buf[got] = '\0';
	char *eol = strstr(buf, "\r\n");
	if (eol)
		*eol = '\0';
	printf("reply: %s\n", buf);
	close(fd);
	return 0;
}
