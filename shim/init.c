/* Load, fork and unload: the constructor reads the configuration once
 * (shim_core_init), installs the runtime hooks (TOKSHIM_HOOKS) and then lets
 * the hooks work (shim_ready); a fork child forgets the parent's
 * connections and locks; the destructor writes the summaries still due.
 * The top of shim/'s core: nothing of ours calls into it. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "shim/shim.h"

static void after_fork_child(void)
{
	shim_block_after_fork();
	conn_after_fork();
	realfamily_after_fork();
	shim_core_after_fork();
	shim_pid_set();
}

__attribute__((constructor)) static void shim_init(void)
{
	shim_in = 1;
	int saved = errno;
	/* every libc function now, not at a first call (a signal handler) */
	shim_libc_init();
	shim_pid_set();
	shim_block_init();
	/* secure execution (setuid, setgid, file capabilities): the caller's
	 * environment must not steer a privileged program's output (a json:
	 * file written with its rights) nor its secrets: read nothing, hook
	 * nothing, say nothing */
	if (getauxval(AT_SECURE))
		goto out;
	const char *v = getenv("TOKSHIM_DISABLE");
	if (v && strcmp(v, "1") == 0)
		goto out;
	if (v && *v && strcmp(v, "0") != 0)
		shim_warn("ignoring TOKSHIM_DISABLE '%.40s': not 0 or 1", v);
	if (shim_core_init() < 0)
		goto out;
	/* the built-in targets first: a description of one of them is refused */
	shim_targets_init();
	shim_ffi_init(getenv("TOKSHIM_HOOKS"));
	shim_atfork_child(after_fork_child);
	atomic_store_explicit(&shim_ready, 1, memory_order_release);
out:
	errno = saved;
	shim_in = 0;
}

__attribute__((destructor)) static void shim_fini(void)
{
	if (!atomic_load_explicit(&shim_ready, memory_order_acquire) || shim_in)
		return;
	shim_in = 1;
	int saved = errno;
	shim_core_fini();
	errno = saved;
	shim_in = 0;
}
