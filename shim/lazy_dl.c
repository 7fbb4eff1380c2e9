/* lazy_dlopen (shim/lazy.h): the shim's own dlopen of a library it loads at
 * first need, with every signal blocked meanwhile. A file of its own, using
 * only libc, so that every loader (lazy.c, hpack.c) can call it without a
 * file cycle. */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>

#include "shim/lazy.h"

void *lazy_dlopen(const char *soname)
{
	int saved = errno;
	sigset_t all, old;
	sigfillset(&all);
	int masked = pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
	void *h = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);
	if (!h)
		h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (masked)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return h;
}
