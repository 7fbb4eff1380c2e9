/* The recursion guard, the ready flag, and which process this is (a fork
 * child records its pid again; a vfork child shares our memory and is told
 * apart by its pid). The lowest layer of shim/: it calls nothing of ours. */
#include <unistd.h>

#include "shim/shim.h"
#include "decode/cold.h"

/* the thread's last connection before it has one: a slot no key matches */
struct conn shim_conn_none;

__thread struct shim_thread shim_thr __attribute__((tls_model("initial-exec"))) = {
	.inner_fd = -2,
	.nested_id = -1,
	.last = &shim_conn_none,
};
atomic_int shim_ready;

static int pid TK_LOAD_BSS;
/* the ready flag too is written at load: with that state (decode/cold.h) */
extern atomic_int shim_ready TK_LOAD_BSS;

TK_COLD void shim_pid_set(void)
{
	pid = (int)getpid();
}

/* glibc's, exported since 2.3.2 (every architecture we build for); dso:
 * our __dso_handle, so that the handler goes if the object is unloaded */
extern int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void), void *dso);
extern void *__dso_handle;

TK_COLD int shim_atfork_child(void (*child)(void))
{
	return __register_atfork(NULL, NULL, child, __dso_handle);
}

int shim_pid(void)
{
	return pid;
}

int shim_vfork_child(void)
{
	/* glibc >= 2.25 caches no pid: the caller's own */
	return (int)getpid() != pid;
}
