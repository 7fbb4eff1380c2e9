/* threads_dlopen: 8 threads make HTTPS requests with OpenSSL (SSL_write,
 * each on its own connections) while another thread dlopens a TLS library
 * that the shim patches inside dlopen (PLUGIN: mbedtls_client.c built as a
 * shared object, linked with libmbedtls) and makes one request through it.
 *
 *   threads_dlopen PORT CAFILE TOKEN PLUGIN N
 * Prints the number of requests made and refused; exit 0 when every request
 * got an answer. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

static int port, per_thread;
static const char *cafile, *token, *plugin;
static SSL_CTX *ctx;
static int answered, refused;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int one_request(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	SSL *ssl = SSL_new(ctx);
	SSL_set_tlsext_host_name(ssl, "localhost");
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) == 1) {
		char req[8192];
		int n = snprintf(req, sizeof req,
				 "GET /v1/Configuration HTTP/1.1\r\nHost: localhost\r\nX-Twilio-Token: %s\r\n"
				 "Connection: close\r\n\r\n",
				 token);
		if (SSL_write(ssl, req, n) == n) {
			char resp[2048];
			int len = 0, r;
			while (len < (int)sizeof resp - 1 && (r = SSL_read(ssl, resp + len, (int)sizeof resp - 1 - len)) > 0)
				len += r;
			resp[len] = 0;
			sscanf(resp, "HTTP/1.%*d %d", &status);
		}
	}
	SSL_free(ssl);
	close(fd);
	return status;
}

static void *writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < per_thread; i++) {
		int st = one_request();
		pthread_mutex_lock(&mu);
		answered += st > 0;
		refused += st == 401;
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static void *loader(void *arg)
{
	(void)arg;
	usleep(20000); /* the writers are busy by now */
	void *h = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "threads_dlopen: %s\n", dlerror());
		return (void *)1;
	}
	int (*m)(int, char **) = (int (*)(int, char **))dlsym(h, "mbedtls_client_main");
	if (!m)
		return (void *)1;
	char p[16];
	snprintf(p, sizeof p, "%d", port);
	char *av[] = { "mbedtls_client", "--cafile", (char *)cafile, "127.0.0.1", p, (char *)token, NULL };
	int rc = m(6, av);
	return rc == 1 ? NULL : (void *)1; /* 1: the server refused, as it should */
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: threads_dlopen PORT CAFILE TOKEN PLUGIN N\n");
		return 2;
	}
	port = atoi(argv[1]);
	cafile = argv[2];
	token = argv[3];
	plugin = argv[4];
	per_thread = atoi(argv[5]);
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1)
		return 2;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	pthread_t w[8], l;
	for (int i = 0; i < 8; i++)
		pthread_create(&w[i], NULL, writer, NULL);
	pthread_create(&l, NULL, loader, NULL);
	void *lr = NULL;
	for (int i = 0; i < 8; i++)
		pthread_join(w[i], NULL);
	pthread_join(l, &lr);
	printf("openssl: %d answered, %d refused\n", answered, refused);
	printf("plugin: %s\n", lr ? "failed" : "refused as expected");
	return answered == 8 * per_thread && !lr ? 0 : 1;
}
