/* GnuTLS's documented retry after GNUTLS_E_AGAIN: gnutls_record_send(s,
 * NULL, 0), which returns the byte count of the data given the first time.
 * The first push fails with EAGAIN (a full socket buffer); the caller then
 * scribbles over its buffer (it may: GnuTLS holds the record) and retries.
 * Usage: gnutls_again PORT TOKEN. Exit 0 when the retry reported the whole
 * request sent. No GnuTLS headers (no -dev package): the few declarations
 * below are GnuTLS 3's ABI; link with -l:libgnutls.so.30. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

typedef struct gnutls_session_int *gnutls_session_t;
typedef struct gnutls_certificate_credentials_st *gnutls_certificate_credentials_t;
typedef void *gnutls_transport_ptr_t;
typedef ssize_t (*gnutls_push_func)(gnutls_transport_ptr_t, const void *, size_t);
#define GNUTLS_CLIENT (1 << 1)
#define GNUTLS_CRD_CERTIFICATE 1
#define GNUTLS_NAME_DNS 1
#define GNUTLS_SHUT_WR 1
#define GNUTLS_E_AGAIN (-28)
int gnutls_global_init(void);
int gnutls_certificate_allocate_credentials(gnutls_certificate_credentials_t *);
void gnutls_certificate_free_credentials(gnutls_certificate_credentials_t);
int gnutls_init(gnutls_session_t *, unsigned int);
int gnutls_set_default_priority(gnutls_session_t);
int gnutls_credentials_set(gnutls_session_t, int, void *);
int gnutls_server_name_set(gnutls_session_t, int, const void *, size_t);
void gnutls_transport_set_int2(gnutls_session_t, int, int);
void gnutls_transport_set_ptr(gnutls_session_t, gnutls_transport_ptr_t);
void gnutls_transport_set_push_function(gnutls_session_t, gnutls_push_func);
int gnutls_handshake(gnutls_session_t);
int gnutls_error_is_fatal(int);
const char *gnutls_strerror(int);
ssize_t gnutls_record_send(gnutls_session_t, const void *, size_t);
int gnutls_bye(gnutls_session_t, int);
void gnutls_deinit(gnutls_session_t);

static int fails = 1;

static ssize_t push(gnutls_transport_ptr_t p, const void *buf, size_t n)
{
	int fd = (int)(long)p;
	if (fails) {
		fails--;
		errno = EAGAIN;
		return -1;
	}
	return send(fd, buf, n, 0);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: gnutls_again PORT TOKEN\n");
		return 2;
	}
	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	gnutls_global_init();
	gnutls_certificate_allocate_credentials(&cred);
	gnutls_init(&s, GNUTLS_CLIENT);
	gnutls_set_default_priority(s);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_server_name_set(s, GNUTLS_NAME_DNS, "localhost", 9);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])) };
	a.sin_addr.s_addr = htonl(0x7f000001);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		perror("connect");
		return 1;
	}
	gnutls_transport_set_int2(s, fd, fd);
	int r;
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		fprintf(stderr, "handshake: %s\n", gnutls_strerror(r));
		return 1;
	}
	gnutls_transport_set_ptr(s, (gnutls_transport_ptr_t)(long)fd);
	gnutls_transport_set_push_function(s, push);
	size_t cap = strlen(argv[2]) + 256;
	char *req = malloc(cap);
	int len = snprintf(req, cap,
			   "GET /v1/e2e HTTP/1.1\r\nHost: localhost\r\nX-Twilio-Token: %s\r\nConnection: close\r\n\r\n",
			   argv[2]);
	ssize_t w = gnutls_record_send(s, req, (size_t)len);
	printf("first send: %zd\n", w);
	if (w != GNUTLS_E_AGAIN)
		return 1;
	memset(req, 'x', (size_t)len); /* GnuTLS has the record: the buffer is the caller's again */
	free(req);
	w = gnutls_record_send(s, NULL, 0);
	printf("retry with NULL, 0: %zd\n", w);
	fflush(stdout);
	gnutls_bye(s, GNUTLS_SHUT_WR);
	close(fd);
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	return w == len ? 0 : 1;
}
