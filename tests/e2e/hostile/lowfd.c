/* lowfd PORT TOKEN [dup2fail]: started with fd 0 closed (a daemon's
 * close-then-open sequence), opens /dev/null and wants fd 0 back (the json
 * sink opened at load took it); dup2fail: first a dup2 from a bad fd onto 2,
 * which fails and must change nothing (it switched the stderr reports off
 * for good). Then a request with TOKEN to 127.0.0.1:PORT. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	if (argc > 3 && strcmp(argv[3], "dup2fail") == 0) {
		errno = 0;
		int r = dup2(999, 2);
		if (r != -1 || errno != EBADF) {
			printf("dup2(999, 2): %d, errno %d\n", r, errno);
			return 1;
		}
	} else {
		int fd = open("/dev/null", O_RDONLY);
		if (fd != 0) {
			printf("open /dev/null: fd %d, not 0\n", fd);
			return 1;
		}
	}
	char req[8192];
	int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: %s\r\n\r\n", argv[2]);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])) };
	a.sin_addr.s_addr = htonl(0x7f000001);
	if (fd < 0 || connect(fd, (void *)&a, sizeof a) != 0 || write(fd, req, (size_t)n) != n || close(fd) != 0) {
		perror("request");
		return 1;
	}
	printf("ok\n");
	return 0;
}
