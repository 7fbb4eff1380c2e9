/* Four threads at once: each connects to 127.0.0.1:PORT, writes one HTTP
 * request and closes, so that the shim's first-data path (a session block)
 * runs in several threads together (helgrind). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
static int port;
static void *run(void *a) {
	(void)a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
		static const char r[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
		if (write(fd, r, sizeof r - 1) < 0) {}
	}
	close(fd);
	return NULL;
}
int main(int argc, char **argv) {
	if (argc < 2)
		return 2;
	port = atoi(argv[1]);
	pthread_t t[4];
	for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, run, NULL);
	for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
	return 0;
}
