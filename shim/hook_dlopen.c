/* dlopen: the objects it maps are patched (targets.c) before it returns, so
 * that no caller holds a handle to a TLS library whose entries are still
 * unpatched.
 *
 * glibc's dlopen looks at its return address to find the calling object:
 * its RUNPATH (and RPATH chain) decide where a bare name is searched, its
 * directory is $ORIGIN, its namespace is the new object's. A wrapper that
 * calls glibc's dlopen makes that caller libtokshim.so, which has no
 * RUNPATH and lives in the base namespace. So the entry point, a few
 * instructions of assembly, first asks shim_dlopen_plan with the caller's
 * return address: when the answer does not depend on the caller (a path, or
 * a bare name asked by an object without RUNPATH or RPATH of its own, or the
 * main executable's RPATH, which glibc searches either way), our C wrapper
 * runs glibc's dlopen and then patches; otherwise the entry jumps to glibc's
 * dlopen with the caller's return address untouched, and the new objects
 * are patched at the program's next dlsym on a handle (hook_dlsym.c), before
 * it can call into them through that handle. */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>

#include "shim/shim.h"

static _Atomic(void *) real_dlopen_p;

static void *real_dlopen(void)
{
	void *p = atomic_load_explicit(&real_dlopen_p, memory_order_acquire);
	if (!p && (p = shim_real_dl("dlopen")))
		atomic_store_explicit(&real_dlopen_p, p, memory_order_release);
	return p;
}

SHIM_HIDDEN void *shim_dl_none_open(const char *file, int mode)
{
	(void)file, (void)mode;
	return NULL;
}

/* The object holding ret searches bare names in its own way: it has a
 * DT_RUNPATH, or a DT_RPATH and is not the main executable (whose RPATH glibc
 * searches for any caller without RUNPATH), or lives in another namespace. */
static int caller_specific(const void *ret)
{
	Dl_info info;
	struct link_map *lm = NULL;
	if (!ret || !dladdr1(ret, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
		return 0; /* glibc takes an unknown caller for the main executable */
	Lmid_t ns = LM_ID_BASE;
	if (dlinfo(lm, RTLD_DI_LMID, &ns) == 0 && ns != LM_ID_BASE)
		return 1;
	int is_main = !lm->l_name || !lm->l_name[0];
	for (const ElfW(Dyn) *d = lm->l_ld; d && d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_RUNPATH || (d->d_tag == DT_RPATH && !is_main))
			return 1;
	return 0;
}

/* 0: run the C wrapper; else glibc's dlopen, to be jumped to. */
SHIM_HIDDEN void *shim_dlopen_plan(const char *file, int mode, const void *ret)
{
	void *real = real_dlopen();
	if (!real)
		return (void *)shim_dl_none_open;
	if (!shim_inline_on || !shim_active() || !file || (mode & RTLD_NOLOAD))
		return real;
	int saved = errno;
	shim_in = 1;
	int direct = strchr(file, '$') || (!strchr(file, '/') && caller_specific(ret));
	shim_in = 0;
	errno = saved;
	return direct ? real : NULL;
}

SHIM_HIDDEN void *shim_dlopen_c(const char *file, int mode)
{
	void *(*real)(const char *, int) = (void *(*)(const char *, int))real_dlopen();
	/* the new objects' constructors run inside: hooks stay active */
	void *h = real(file, mode);
	if (h && shim_active()) {
		int saved = errno;
		shim_in = 1;
		shim_targets_rescan();
		shim_in = 0;
		errno = saved;
	}
	return h;
}

#if defined(__x86_64__)
__asm__(".text\n"
	".globl shim_dlopen_entry\n"
	".hidden shim_dlopen_entry\n"
	".type shim_dlopen_entry,@function\n"
	".p2align 4\n"
	"shim_dlopen_entry:\n"
	"	.cfi_startproc\n"
	"	endbr64\n"
	"	pushq %rdi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq %rsi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	subq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	movq 24(%rsp), %rdx\n"
	"	call shim_dlopen_plan\n"
	"	addq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %rsi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %rdi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	testq %rax, %rax\n"
	"	je 1f\n"
	"	jmp *%rax\n"
	"1:	jmp shim_dlopen_c\n"
	"	.cfi_endproc\n"
	".size shim_dlopen_entry, .-shim_dlopen_entry\n"
	".globl dlopen\n"
	".type dlopen,@function\n"
	".set dlopen, shim_dlopen_entry\n");
#elif defined(__aarch64__)
__asm__(".text\n"
	".globl shim_dlopen_entry\n"
	".hidden shim_dlopen_entry\n"
	".type shim_dlopen_entry,%function\n"
	".p2align 4\n"
	"shim_dlopen_entry:\n"
	"	.cfi_startproc\n"
	"	stp x29, x30, [sp, #-32]!\n"
	"	.cfi_def_cfa_offset 32\n"
	"	.cfi_offset 29, -32\n"
	"	.cfi_offset 30, -24\n"
	"	mov x29, sp\n"
	"	stp x0, x1, [sp, #16]\n"
	"	mov x2, x30\n"
	"	bl shim_dlopen_plan\n"
	"	mov x16, x0\n"
	"	ldp x0, x1, [sp, #16]\n"
	"	ldp x29, x30, [sp], #32\n"
	"	.cfi_def_cfa_offset 0\n"
	"	.cfi_restore 29\n"
	"	.cfi_restore 30\n"
	"	cbz x16, 1f\n"
	"	br x16\n"
	"1:	b shim_dlopen_c\n"
	"	.cfi_endproc\n"
	".size shim_dlopen_entry, .-shim_dlopen_entry\n"
	".globl dlopen\n"
	".type dlopen,%function\n"
	".set dlopen, shim_dlopen_entry\n");
#endif
/* Elsewhere dlopen is not interposed: new objects are patched at the next
 * dlsym on a handle (no entry patching there anyway, see README). */
