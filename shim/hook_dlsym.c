/* dlsym and dlvsym: a program that dlopens libssl itself and takes SSL_write
 * with dlsym(handle, "SSL_write") (Qt does) gets our hook, which forwards to
 * the SSL_write of that very library (realfamily_for_handle).
 *
 * glibc's dlsym looks at its return address to find the calling object: it
 * decides what RTLD_NEXT means and which scope RTLD_DEFAULT searches. A C
 * wrapper calling the real dlsym would make every such look-up happen "from
 * libtokshim.so", breaking other interposers' dlsym(RTLD_NEXT, ...). So on
 * x86-64, aarch64 and arm the exported entry points are a few instructions of
 * assembly (a C wrapper keeps the return address only when the compiler makes
 * a tail call, which -O0, -O1 and -Og do not): for
 * RTLD_NEXT and RTLD_DEFAULT they jump to glibc's function with the caller's
 * return address untouched (the answer is then exactly what it would be
 * without us; our hooks come first in the global scope anyway); for a real
 * handle, whose answer does not depend on the caller, the C code below asks
 * glibc and swaps a hooked function for our hook. glibc's own dlsym/dlvsym
 * come from real.c, which reads libc's symbol table: calling dlvsym(RTLD_NEXT,
 * "dlsym", ...) would recurse into our own dlvsym. */
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

#include "shim/shim.h"

/* p: what glibc found for name in handle. */
static void *redirect(void *handle, const char *name, void *p)
{
	const struct shim_hooked *h;
	if (!p || !atomic_load_explicit(&shim_ready, memory_order_acquire) || shim_in)
		return p;
	/* TOKSHIM_HOOKS: a closure for a described name (hook_ffi.c) */
	if (!(h = shim_hooked_find(name)))
		return shim_ffi_dlsym(name, p);
	if (shim_is_self(p))
		return p;
	int was = shim_in;
	shim_in = 1;
	void *out = p;
	switch (h->fam) {
	case SHIM_FAM_LIBC: {
		_Atomic(void *) *slot = (_Atomic(void *) *)((char *)&shim_libc + h->libc_off);
		void *real = atomic_load(slot);
		if (!real)
			real = shim_libc_resolve(slot, name);
		if (real == p) /* libc's own, not some other library's "write" */
			out = h->hook;
		break;
	}
	case SHIM_FAM_OPENSSL:
		if (realfamily_for_handle(&shim_openssl_family, handle))
			out = h->hook;
		break;
	case SHIM_FAM_GNUTLS:
		if (realfamily_for_handle(&shim_gnutls_family, handle))
			out = h->hook;
		break;
	case SHIM_FAM_DL:
		out = strcmp(name, "dlsym") == 0 ? (void *)shim_dlsym_entry : (void *)shim_dlvsym_entry;
		break;
	}
	/* the look-up succeeded: leave no error of ours for dlerror() */
	dlerror();
	shim_in = was;
	return out;
}

SHIM_HIDDEN void *shim_dlsym_handle(void *handle, const char *name)
{
	void *(*real)(void *, const char *) = (void *(*)(void *, const char *))shim_real_dlsym_ptr();
	if (!real)
		return NULL;
	return redirect(handle, name, real(handle, name));
}

SHIM_HIDDEN void *shim_dlvsym_handle(void *handle, const char *name, const char *version)
{
	void *(*real)(void *, const char *, const char *) =
		(void *(*)(void *, const char *, const char *))shim_real_dlvsym_ptr();
	if (!real)
		return NULL;
	return redirect(handle, name, real(handle, name, version));
}

/* When glibc's function cannot be found (never seen): behave as a failed look-up. */
SHIM_HIDDEN void *shim_dl_none(void)
{
	return NULL;
}

SHIM_HIDDEN void *shim_dlsym_target(void)
{
	void *p = shim_real_dlsym_ptr();
	return p ? p : (void *)shim_dl_none;
}

SHIM_HIDDEN void *shim_dlvsym_target(void)
{
	void *p = shim_real_dlvsym_ptr();
	return p ? p : (void *)shim_dl_none;
}

#if defined(__x86_64__)
/* RTLD_NEXT is (void *)-1, RTLD_DEFAULT is 0 (glibc). */
__asm__(".text\n"
	".globl shim_dlsym_entry\n"
	".hidden shim_dlsym_entry\n"
	".type shim_dlsym_entry,@function\n"
	".p2align 4\n"
	"shim_dlsym_entry:\n"
	"	.cfi_startproc\n"
	"	endbr64\n"
	"	cmpq $-1, %rdi\n"
	"	je 1f\n"
	"	testq %rdi, %rdi\n"
	"	je 1f\n"
	"	jmp shim_dlsym_handle\n"
	"1:	pushq %rdi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq %rsi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	subq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	call shim_dlsym_target\n"
	"	addq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %rsi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %rdi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	jmp *%rax\n"
	"	.cfi_endproc\n"
	".size shim_dlsym_entry, .-shim_dlsym_entry\n"
	".globl dlsym\n"
	".type dlsym,@function\n"
	".set dlsym, shim_dlsym_entry\n"

	".globl shim_dlvsym_entry\n"
	".hidden shim_dlvsym_entry\n"
	".type shim_dlvsym_entry,@function\n"
	".p2align 4\n"
	"shim_dlvsym_entry:\n"
	"	.cfi_startproc\n"
	"	endbr64\n"
	"	cmpq $-1, %rdi\n"
	"	je 1f\n"
	"	testq %rdi, %rdi\n"
	"	je 1f\n"
	"	jmp shim_dlvsym_handle\n"
	"1:	pushq %rdi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq %rsi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq %rdx\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	call shim_dlvsym_target\n"
	"	popq %rdx\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %rsi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %rdi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	jmp *%rax\n"
	"	.cfi_endproc\n"
	".size shim_dlvsym_entry, .-shim_dlvsym_entry\n"
	".globl dlvsym\n"
	".type dlvsym,@function\n"
	".set dlvsym, shim_dlvsym_entry\n");
#elif defined(__aarch64__)
/* x0: handle, x1: name (x2: version). For RTLD_NEXT (-1) and RTLD_DEFAULT
 * (0): the arguments kept, glibc's function found, the frame undone and a
 * jump to it with x30 (the caller's return address) untouched. x16 is the
 * scratch register a BTI "c" landing pad accepts for an indirect branch. */
__asm__(".text\n"
	".globl shim_dlsym_entry\n"
	".hidden shim_dlsym_entry\n"
	".type shim_dlsym_entry,%function\n"
	".p2align 4\n"
	"shim_dlsym_entry:\n"
	"	.cfi_startproc\n"
	"	hint #34\n" /* bti c */
	"	cmn x0, #1\n"
	"	b.eq 1f\n"
	"	cbz x0, 1f\n"
	"	b shim_dlsym_handle\n"
	"1:	stp x29, x30, [sp, #-32]!\n"
	"	.cfi_def_cfa_offset 32\n"
	"	.cfi_offset 29, -32\n"
	"	.cfi_offset 30, -24\n"
	"	mov x29, sp\n"
	"	stp x0, x1, [sp, #16]\n"
	"	bl shim_dlsym_target\n"
	"	mov x16, x0\n"
	"	ldp x0, x1, [sp, #16]\n"
	"	ldp x29, x30, [sp], #32\n"
	"	.cfi_restore 30\n"
	"	.cfi_restore 29\n"
	"	.cfi_def_cfa_offset 0\n"
	"	br x16\n"
	"	.cfi_endproc\n"
	".size shim_dlsym_entry, .-shim_dlsym_entry\n"
	".globl dlsym\n"
	".type dlsym,%function\n"
	".set dlsym, shim_dlsym_entry\n"

	".globl shim_dlvsym_entry\n"
	".hidden shim_dlvsym_entry\n"
	".type shim_dlvsym_entry,%function\n"
	".p2align 4\n"
	"shim_dlvsym_entry:\n"
	"	.cfi_startproc\n"
	"	hint #34\n"
	"	cmn x0, #1\n"
	"	b.eq 1f\n"
	"	cbz x0, 1f\n"
	"	b shim_dlvsym_handle\n"
	"1:	stp x29, x30, [sp, #-48]!\n"
	"	.cfi_def_cfa_offset 48\n"
	"	.cfi_offset 29, -48\n"
	"	.cfi_offset 30, -40\n"
	"	mov x29, sp\n"
	"	stp x0, x1, [sp, #16]\n"
	"	str x2, [sp, #32]\n"
	"	bl shim_dlvsym_target\n"
	"	mov x16, x0\n"
	"	ldp x0, x1, [sp, #16]\n"
	"	ldr x2, [sp, #32]\n"
	"	ldp x29, x30, [sp], #48\n"
	"	.cfi_restore 30\n"
	"	.cfi_restore 29\n"
	"	.cfi_def_cfa_offset 0\n"
	"	br x16\n"
	"	.cfi_endproc\n"
	".size shim_dlvsym_entry, .-shim_dlvsym_entry\n"
	".globl dlvsym\n"
	".type dlvsym,%function\n"
	".set dlvsym, shim_dlvsym_entry\n");
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 5
/* 32-bit ARM, in ARM state whatever the C code's (Thumb on Debian armhf):
 * r0: handle, r1: name (r2: version). For RTLD_NEXT (-1) and RTLD_DEFAULT
 * (0): r0-r2 and lr kept, glibc's function found, restored, and a bx to it
 * with lr (the caller's return address) untouched. A real handle calls the
 * C code (its answer does not depend on the caller); bl to a Thumb function
 * becomes blx at link time, pop {pc} and bx interwork. The stack stays
 * 8-byte aligned (four registers). */
__asm__(".text\n"
	".syntax unified\n"
	".arm\n"
	".globl shim_dlsym_entry\n"
	".hidden shim_dlsym_entry\n"
	".type shim_dlsym_entry,%function\n"
	".p2align 2\n"
	"shim_dlsym_entry:\n"
	"	cmn r0, #1\n"
	"	beq 1f\n"
	"	cmp r0, #0\n"
	"	beq 1f\n"
	"	push {r4, lr}\n"
	"	bl shim_dlsym_handle\n"
	"	pop {r4, pc}\n"
	"1:	push {r0, r1, r2, lr}\n"
	"	bl shim_dlsym_target\n"
	"	mov ip, r0\n"
	"	pop {r0, r1, r2, lr}\n"
	"	bx ip\n"
	".size shim_dlsym_entry, .-shim_dlsym_entry\n"
	".globl dlsym\n"
	".type dlsym,%function\n"
	".set dlsym, shim_dlsym_entry\n"

	".globl shim_dlvsym_entry\n"
	".hidden shim_dlvsym_entry\n"
	".type shim_dlvsym_entry,%function\n"
	".p2align 2\n"
	"shim_dlvsym_entry:\n"
	"	cmn r0, #1\n"
	"	beq 1f\n"
	"	cmp r0, #0\n"
	"	beq 1f\n"
	"	push {r4, lr}\n"
	"	bl shim_dlvsym_handle\n"
	"	pop {r4, pc}\n"
	"1:	push {r0, r1, r2, lr}\n"
	"	bl shim_dlvsym_target\n"
	"	mov ip, r0\n"
	"	pop {r0, r1, r2, lr}\n"
	"	bx ip\n"
	".size shim_dlvsym_entry, .-shim_dlvsym_entry\n"
	".globl dlvsym\n"
	".type dlvsym,%function\n"
	".set dlvsym, shim_dlvsym_entry\n");
#else
/* Elsewhere a plain wrapper: RTLD_NEXT and RTLD_DEFAULT are then resolved as
 * seen from libtokshim.so unless the compiler makes the call a tail call (a
 * known limitation off x86-64, aarch64 and arm). */
SHIM_HIDDEN void *shim_dlsym_entry(void *handle, const char *name)
{
	if (handle == RTLD_NEXT || handle == RTLD_DEFAULT)
		return ((void *(*)(void *, const char *))shim_dlsym_target())(handle, name);
	return shim_dlsym_handle(handle, name);
}
SHIM_HIDDEN void *shim_dlvsym_entry(void *handle, const char *name, const char *version)
{
	if (handle == RTLD_NEXT || handle == RTLD_DEFAULT)
		return ((void *(*)(void *, const char *, const char *))shim_dlvsym_target())(handle, name, version);
	return shim_dlvsym_handle(handle, name, version);
}
SHIM_EXPORT void *dlsym(void *, const char *) __attribute__((alias("shim_dlsym_entry")));
SHIM_EXPORT void *dlvsym(void *, const char *, const char *) __attribute__((alias("shim_dlvsym_entry")));
#endif
