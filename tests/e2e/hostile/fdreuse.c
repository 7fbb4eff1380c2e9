/* A daemon-like host: closes every fd >= 3 (one of them the shim's json
 * sink), opens its own data file (which may get the sink's number), then
 * talks TCP. Usage: fdreuse PORT TOKEN DATAFILE. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	for (int fd = 3; fd < 64; fd++)
		close(fd);
	int data = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (write(data, "HOST-RECORD-1\n", 14) != 14)
		return 1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])) };
	a.sin_addr.s_addr = htonl(0x7f000001);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		return 1;
	size_t cap = strlen(argv[2]) + 128;
	char *req = malloc(cap);
	int len = snprintf(req, cap, "GET / HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: %s\r\n\r\n", argv[2]);
	if (write(fd, req, (size_t)len) != len)
		return 1;
	if (write(data, "HOST-RECORD-2\n", 14) != 14)
		return 1;
	close(fd);
	printf("data fd=%d\n", data);
	return 0;
}
