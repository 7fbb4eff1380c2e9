/* lazy_probe: a plain TCP program for t_shim_lazy.sh, linked with no
 * libcrypto, libffi or zlib. Prints which of them its own /proc/self/maps
 * holds ("maps before crypto=N ffi=N z=N": N the number of distinct files),
 * then connects to a listener of its own on 127.0.0.1 and writes one HTTP
 * request carrying TOKEN (X-Twilio-Token; TOKEN "-": no such header), then
 * prints the maps again
 * ("maps after ..."). --host-crypto: dlopen libcrypto.so.3 first, as a
 * host using its own copy would. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int count(const char *needle)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096], seen[8][512];
	int n = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		char *path = strchr(line, '/');
		if (!path || !strstr(path, needle))
			continue;
		path[strcspn(path, "\n")] = '\0';
		int dup = 0;
		for (int i = 0; i < n; i++)
			dup |= !strcmp(seen[i], path);
		if (!dup && n < 8)
			snprintf(seen[n++], sizeof seen[0], "%s", path);
	}
	fclose(f);
	return n;
}

static void maps(const char *when)
{
	printf("maps %s crypto=%d ffi=%d z=%d\n", when, count("/libcrypto.so"), count("/libffi.so"), count("/libz.so"));
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int host_crypto = argc > 2 && !strcmp(argv[1], "--host-crypto");
	const char *tok = argv[argc - 1];
	if (argc < 2)
		return 2;
	if (host_crypto && !dlopen("libcrypto.so.3", RTLD_NOW | RTLD_GLOBAL))
		return 3;
	maps("before");
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &al))
		return 4;
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a))
		return 5;
	int s = accept(l, NULL, NULL);
	char req[8192];
	int n = strcmp(tok, "-") ? snprintf(req, sizeof req,
					    "GET /v1/x HTTP/1.1\r\nHost: insights.twilio.com\r\nX-Twilio-Token: %s\r\n\r\n", tok)
				 : snprintf(req, sizeof req, "GET /v1/x HTTP/1.1\r\nHost: insights.twilio.com\r\n\r\n");
	if (s < 0 || write(c, req, (size_t)n) != n)
		return 6;
	maps("after");
	close(c);
	close(s);
	close(l);
	return 0;
}
