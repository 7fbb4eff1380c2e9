/* libwrapssl.so, linked -Bsymbolic: defines its own SSL_write (counting the
 * calls, forwarding to the next definition with dlsym(RTLD_NEXT)), and
 * wrap_send, whose call to SSL_write binds to that wrapper inside the
 * library (-Bsymbolic), never through the global scope. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>

#include <openssl/ssl.h>

static int calls;

__attribute__((visibility("default"))) int SSL_write(SSL *ssl, const void *buf, int num)
{
	static int (*next)(SSL *, const void *, int);
	if (!next)
		next = (int (*)(SSL *, const void *, int))dlsym(RTLD_NEXT, "SSL_write");
	calls++;
	return next ? next(ssl, buf, num) : -1;
}

__attribute__((visibility("default"))) int wrap_send(SSL *ssl, const void *buf, int num)
{
	return SSL_write(ssl, buf, num);
}

__attribute__((visibility("default"))) int wrap_calls(void)
{
	return calls;
}
