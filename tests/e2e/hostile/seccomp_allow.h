/* A strict seccomp allow-list for tokclient.c: what the program itself uses
 * from its connect to its exit (connect, write, read, close, exit_group),
 * plus what glibc's malloc and a vDSO-less clock may need (brk, mmap,
 * munmap, clock_gettime) and signal returns, and getpid: the shim's close
 * hook makes one getpid when the host closes a followed socket, to tell a
 * vfork child's close (which must leave the parent's state alone) from the
 * process's own (README, Limits). Anything else kills the
 * process (SECCOMP_RET_KILL_PROCESS): a host sandboxed like this dies when a
 * preloaded library adds a system call to its connect or write path. */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#define ALLOW(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static int seccomp_allow_install(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		ALLOW(SYS_connect), ALLOW(SYS_write), ALLOW(SYS_read), ALLOW(SYS_close),
		ALLOW(SYS_exit_group), ALLOW(SYS_exit), ALLOW(SYS_brk), ALLOW(SYS_mmap),
		ALLOW(SYS_munmap), ALLOW(SYS_clock_gettime), ALLOW(SYS_rt_sigreturn), ALLOW(SYS_getpid),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = {.len = (unsigned short)(sizeof f / sizeof f[0]), .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}
