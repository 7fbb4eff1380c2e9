/* The toy TLS library of tests/e2e/ffi/mytls.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "mytls.h"

struct mytls {
	int used;
	int fd;
	char host[64];
};

static struct mytls pool[4];

struct mytls *mytls_new(int fd)
{
	for (size_t i = 0; i < sizeof pool / sizeof pool[0]; i++)
		if (!pool[i].used) {
			memset(&pool[i], 0, sizeof pool[i]);
			pool[i].used = 1;
			pool[i].fd = fd;
			return &pool[i];
		}
	errno = ENOMEM;
	return NULL;
}

int mytls_set_host(struct mytls *c, const char *host)
{
	if (!c || !host || strlen(host) >= sizeof c->host) {
		errno = EINVAL;
		return -1;
	}
	strcpy(c->host, host);
	return 0;
}

static ssize_t scrambled_write(struct mytls *c, const void *buf, size_t len)
{
	unsigned char tmp[100];
	if (len > sizeof tmp)
		len = sizeof tmp;
	for (size_t i = 0; i < len; i++)
		tmp[i] = ((const unsigned char *)buf)[i] ^ 0x5a;
	return write(c->fd, tmp, len);
}

int mytls_write(struct mytls *c, const void *buf, size_t len)
{
	if (!c) {
		errno = EINVAL;
		return -1;
	}
	return (int)scrambled_write(c, buf, len);
}

int mytls_write_ex(struct mytls *c, const void *buf, size_t len, size_t *written)
{
	ssize_t r = c ? scrambled_write(c, buf, len > 16 ? 16 : len) : (errno = EINVAL, -1);
	if (r < 0)
		return 0;
	*written = (size_t)r;
	return 1;
}

ssize_t mytls_read(struct mytls *c, void *buf, size_t cap)
{
	ssize_t r = read(c->fd, buf, cap);
	for (ssize_t i = 0; i < r; i++)
		((unsigned char *)buf)[i] ^= 0x5a;
	return r;
}

void mytls_free(struct mytls *c)
{
	if (c)
		c->used = 0;
}
