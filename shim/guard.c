/* The recursion guard, the ready flag, and which process this is (a fork
 * child records its pid again; a vfork child shares our memory and is told
 * apart by its pid). The lowest layer of shim/: it calls nothing of ours. */
#include <unistd.h>

#include "shim/shim.h"

/* the thread's last connection before it has one: a slot no key matches */
struct conn shim_conn_none;

__thread struct shim_thread shim_thr __attribute__((tls_model("initial-exec"))) = {
	.inner_fd = -2,
	.nested_id = -1,
	.last = &shim_conn_none,
};
atomic_int shim_ready;

static int pid;

void shim_pid_set(void)
{
	pid = (int)getpid();
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
