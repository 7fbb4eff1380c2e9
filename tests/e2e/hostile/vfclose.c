/* vfclose PORT TOKEN N: N times a vfork child that closes every fd from 3 to
 * 63 (as daemons and shells do before exec) and exits, then a request with
 * TOKEN to 127.0.0.1:PORT. The child shares our memory: its closes made the
 * json sink reopen its file each time, the old fd never closed (one leaked
 * per child). Prints "fds before B after A". */
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char req[8192];
static int reqlen, port;

static int send_tok(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	a.sin_addr.s_addr = htonl(0x7f000001);
	if (fd < 0 || connect(fd, (void *)&a, sizeof a) != 0 || write(fd, req, (size_t)reqlen) != reqlen)
		return -1;
	return close(fd);
}

static int nfds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	port = atoi(argv[1]);
	int n = atoi(argv[3]);
	reqlen = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: %s\r\n\r\n", argv[2]);
	if (send_tok() != 0) {
		perror("request");
		return 1;
	}
	int before = nfds();
	for (int i = 0; i < n; i++) {
		pid_t p = vfork();
		if (p == 0) {
			for (int fd = 3; fd < 64; fd++)
				close(fd);
			_exit(0);
		}
		if (p < 0 || waitpid(p, NULL, 0) != p || send_tok() != 0) {
			perror("vfork");
			return 1;
		}
	}
	printf("fds before %d after %d\n", before, nfds());
	return 0;
}
