/* Libraries loaded at their first use, not at load time (shim/lazy.c):
 * libtokshim.so has no DT_NEEDED on libcrypto, libffi or zlib, so a process
 * that never sends a token, never describes a hook and never inflates maps
 * none of them. */
#ifndef TOKSHIM_SHIM_LAZY_H
#define TOKSHIM_SHIM_LAZY_H

#include <stdatomic.h>
#include <stddef.h>

/* One library: its soname and the names resolved from it into fns[]. */
struct lazylib {
	const char *soname;
	const char *const *names;
	size_t nnames;
	void **fns;              /* nnames slots, filled by lazylib_ready */
	const char *use;         /* what goes without it, for the one warning */
	atomic_int state;        /* private, zero-initialised */
};

/* 1 once every name of l is resolved: the host's own copy when it has one
 * loaded (dlopen RTLD_NOLOAD), else the soname loaded RTLD_NOW |
 * RTLD_LOCAL (its symbols stay out of the host's scope); the names through
 * glibc's own dlsym (shim_real_dlsym), never through our dlsym hook. Tried
 * once per process: 0 (one warning on stderr) when it cannot be loaded. A
 * thread that finds another loading it waits a bounded while. Keeps errno
 * and leaves no dlerror() of ours. */
int lazylib_ready(struct lazylib *l);

/* dlopen(soname) for the shim's own use: the host's copy when it has one
 * loaded (RTLD_NOLOAD), else RTLD_NOW | RTLD_LOCAL. Every signal is blocked
 * on this thread meanwhile and the mask restored after: a host handler that
 * siglongjmp's out (a timeout around write()) must never leave the loader's
 * lock held by a jump out of the middle of glibc's dlopen, which would hang
 * every later dlopen of the process. Keeps errno. */
void *lazy_dlopen(const char *soname);

/* libffi's type objects for hook_ffi.c (NULL until libffi is loaded). */
enum lazy_ffi_type { LZ_FFI_VOID, LZ_FFI_POINTER, LZ_FFI_SINT32, LZ_FFI_UINT32, LZ_FFI_SINT64, LZ_FFI_UINT64, LZ_FFI__N };
struct _ffi_type;
struct _ffi_type *lazy_ffi_type(enum lazy_ffi_type t);
/* 1 when libffi is loaded (loading it now when it is not). */
int lazy_ffi_ready(void);

#endif
