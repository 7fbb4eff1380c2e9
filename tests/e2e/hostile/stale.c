/* A socket closed without close(): fclose() of an fdopen'ed socket (glibc
 * closes inside libc, not through the PLT), then its number is a file that
 * receives a token, which is sent nowhere. Usage: stale PORT TOKEN FILE
 * [dup2]: with dup2, the socket first sends a request line (the shim follows
 * it), then dup2() puts the file on the socket's number. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5)
		return 2;
	int use_dup2 = argc == 5 && strcmp(argv[4], "dup2") == 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])) };
	a.sin_addr.s_addr = htonl(0x7f000001);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		perror("connect");
		return 1;
	}
	int file;
	if (use_dup2) {
		const char *hello = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
		if (write(fd, hello, strlen(hello)) != (ssize_t)strlen(hello))
			return 1;
		int f = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
		file = dup2(f, fd); /* the socket's number now is the file */
		close(f);
	} else {
		FILE *s = fdopen(fd, "w");
		fputs("HELLO\n", s);
		fclose(s); /* closes fd without our hook */
		file = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	}
	size_t cap = strlen(argv[2]) + 64;
	char *line = malloc(cap);
	int n = snprintf(line, cap, "GET / HTTP/1.1\r\nX-Twilio-Token: %s\r\n\r\n", argv[2]);
	ssize_t w = write(file, line, (size_t)n);
	printf("socket fd=%d file fd=%d wrote %zd\n", fd, file, w);
	close(file);
	return w == n && file == fd ? 0 : 1;
}
