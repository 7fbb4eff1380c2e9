/* A toy "TLS" library for tests/e2e/t_shim_ffi.sh: it XORs every byte with
 * 0x5a before writing it to the socket, so the libc hooks see only
 * scrambled bytes and only a TOKSHIM_HOOKS description can see the
 * plaintext. Connections come from a static pool: a freed one is handed out
 * again by the next mytls_new (the same address, as a real allocator would
 * often do). */
#ifndef MYTLS_H
#define MYTLS_H
#include <stddef.h>
#include <sys/types.h>

struct mytls;

struct mytls *mytls_new(int fd);
/* 0, or -1 (errno EINVAL) for a NULL or too long name */
int mytls_set_host(struct mytls *c, const char *host);
/* At most 100 bytes per call: the bytes written, or -1 with errno set. */
int mytls_write(struct mytls *c, const void *buf, size_t len);
/* At most 16 bytes per call: 1 with *written set, or 0 with errno set. */
int mytls_write_ex(struct mytls *c, const void *buf, size_t len, size_t *written);
/* The bytes read (descrambled), 0 at the end, -1 with errno set. */
ssize_t mytls_read(struct mytls *c, void *buf, size_t cap);
void mytls_free(struct mytls *c);
#endif
