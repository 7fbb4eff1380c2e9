/* A daemon that closed stderr: its socket then gets fd 2, and a report must
 * not land in its stream. Usage: fd2 PORT TOKEN. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	close(2);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])) };
	a.sin_addr.s_addr = htonl(0x7f000001);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		return 1;
	size_t cap = strlen(argv[2]) + 128;
	char *req = malloc(cap);
	int len = snprintf(req, cap, "GET / HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: %s\r\n\r\n", argv[2]);
	ssize_t w = write(fd, req, (size_t)len);
	printf("socket fd=%d wrote %zd of %d\n", fd, w, len);
	close(fd);
	return fd == 2 && w == len ? 0 : 1;
}
