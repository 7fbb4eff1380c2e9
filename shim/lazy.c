/* The dependencies decode/ and hook_ffi.c call (SHA-2 from libcrypto,
 * inflate from zlib, libffi), defined here under their own names with
 * hidden visibility: the static link of libtokshim.so binds decode/'s calls
 * to these, and each forwards to the library's function, loaded at the
 * first call (lazylib_ready). decode/ stays as it is, and the CLI and the
 * tests link the real libraries directly. CRYPTO_memcmp and OPENSSL_cleanse
 * need no library: they are done here.
 *
 * When a library cannot be loaded (one warning): the SHA-2 functions give
 * an all-zero digest (no signature then verifies: a token is reported as
 * signed with another secret rather than passed as good), inflate fails
 * (the message is passed through unread), TOKSHIM_HOOKS hooks nothing. */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <string.h>

#include <ffi.h>
#include <openssl/sha.h>
#include <zlib.h>

#include "shim/lazy.h"
#include "shim/shim.h"

enum { LZ_UNTRIED = 0, LZ_LOADING, LZ_READY, LZ_FAILED };

static int load(struct lazylib *l)
{
	const char *missing = NULL;
	void *h = lazy_dlopen(l->soname);
	for (size_t i = 0; h && i < l->nnames; i++) {
		l->fns[i] = shim_real_dlsym(h, l->names[i]);
		if (!l->fns[i] && !missing)
			missing = l->names[i];
	}
	dlerror(); /* leave no error of ours for the host's dlerror() */
	if (!h || missing) {
		shim_warn("%s: cannot load '%s'%s%s", l->use, l->soname, missing ? ": no " : "", missing ? missing : "");
		return 0;
	}
	return 1;
}

int lazylib_ready(struct lazylib *l)
{
	int st = atomic_load_explicit(&l->state, memory_order_acquire);
	if (__builtin_expect(st == LZ_READY, 1))
		return 1;
	if (st == LZ_FAILED)
		return 0;
	int expect = LZ_UNTRIED;
	if (atomic_compare_exchange_strong_explicit(&l->state, &expect, LZ_LOADING, memory_order_acq_rel,
						    memory_order_acquire)) {
		int saved = errno, was = shim_in;
		shim_in = 1; /* the loader's own I/O passes straight through */
		int ok = load(l);
		shim_in = was;
		errno = saved;
		atomic_store_explicit(&l->state, ok ? LZ_READY : LZ_FAILED, memory_order_release);
		return ok;
	}
	/* another thread is loading it: a dlopen takes well under a millisecond */
	for (unsigned i = 0; i < 20000; i++) {
		st = atomic_load_explicit(&l->state, memory_order_acquire);
		if (st == LZ_READY)
			return 1;
		if (st == LZ_FAILED)
			return 0;
		sched_yield();
	}
	return 0;
}

/* ---- libcrypto: SHA-2 ------------------------------------------------------- */
enum { C_SHA256, C_SHA256_INIT, C_SHA256_UPDATE, C_SHA256_FINAL, C_SHA384, C_SHA384_INIT, C_SHA384_FINAL,
       C_SHA512, C_SHA512_INIT, C_SHA512_UPDATE, C_SHA512_FINAL, C__N };
static const char *const crypto_names[C__N] = {
	"SHA256", "SHA256_Init", "SHA256_Update", "SHA256_Final", "SHA384", "SHA384_Init", "SHA384_Final",
	"SHA512", "SHA512_Init", "SHA512_Update", "SHA512_Final",
};
static void *crypto_fns[C__N];
static struct lazylib crypto = { "libcrypto.so.3", crypto_names, C__N, crypto_fns,
				 "token fingerprints and signatures are not computed", 0 };

#define CRYPTO_FN(i) (lazylib_ready(&crypto) ? crypto_fns[i] : NULL)

unsigned char *SHA256(const unsigned char *d, size_t n, unsigned char *md)
{
	unsigned char *(*f)(const unsigned char *, size_t, unsigned char *) = CRYPTO_FN(C_SHA256);
	if (f)
		return f(d, n, md);
	memset(md, 0, SHA256_DIGEST_LENGTH);
	return md;
}
unsigned char *SHA384(const unsigned char *d, size_t n, unsigned char *md)
{
	unsigned char *(*f)(const unsigned char *, size_t, unsigned char *) = CRYPTO_FN(C_SHA384);
	if (f)
		return f(d, n, md);
	memset(md, 0, SHA384_DIGEST_LENGTH);
	return md;
}
unsigned char *SHA512(const unsigned char *d, size_t n, unsigned char *md)
{
	unsigned char *(*f)(const unsigned char *, size_t, unsigned char *) = CRYPTO_FN(C_SHA512);
	if (f)
		return f(d, n, md);
	memset(md, 0, SHA512_DIGEST_LENGTH);
	return md;
}
int SHA256_Init(SHA256_CTX *c)
{
	int (*f)(SHA256_CTX *) = CRYPTO_FN(C_SHA256_INIT);
	if (f)
		return f(c);
	memset(c, 0, sizeof *c);
	return 0;
}
int SHA256_Update(SHA256_CTX *c, const void *d, size_t n)
{
	int (*f)(SHA256_CTX *, const void *, size_t) = CRYPTO_FN(C_SHA256_UPDATE);
	return f ? f(c, d, n) : 0;
}
int SHA256_Final(unsigned char *md, SHA256_CTX *c)
{
	int (*f)(unsigned char *, SHA256_CTX *) = CRYPTO_FN(C_SHA256_FINAL);
	if (f)
		return f(md, c);
	memset(md, 0, SHA256_DIGEST_LENGTH);
	return 0;
}
int SHA384_Init(SHA512_CTX *c)
{
	int (*f)(SHA512_CTX *) = CRYPTO_FN(C_SHA384_INIT);
	if (f)
		return f(c);
	memset(c, 0, sizeof *c);
	return 0;
}
int SHA384_Final(unsigned char *md, SHA512_CTX *c)
{
	int (*f)(unsigned char *, SHA512_CTX *) = CRYPTO_FN(C_SHA384_FINAL);
	if (f)
		return f(md, c);
	memset(md, 0, SHA384_DIGEST_LENGTH);
	return 0;
}
int SHA512_Init(SHA512_CTX *c)
{
	int (*f)(SHA512_CTX *) = CRYPTO_FN(C_SHA512_INIT);
	if (f)
		return f(c);
	memset(c, 0, sizeof *c);
	return 0;
}
int SHA512_Update(SHA512_CTX *c, const void *d, size_t n)
{
	int (*f)(SHA512_CTX *, const void *, size_t) = CRYPTO_FN(C_SHA512_UPDATE);
	return f ? f(c, d, n) : 0;
}
int SHA512_Final(unsigned char *md, SHA512_CTX *c)
{
	int (*f)(unsigned char *, SHA512_CTX *) = CRYPTO_FN(C_SHA512_FINAL);
	if (f)
		return f(md, c);
	memset(md, 0, SHA512_DIGEST_LENGTH);
	return 0;
}

/* constant time in n, as libcrypto's */
int CRYPTO_memcmp(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char r = 0;
	for (size_t i = 0; i < n; i++)
		r |= x[i] ^ y[i];
	return r;
}

void OPENSSL_cleanse(void *p, size_t n)
{
	volatile unsigned char *q = p;
	while (n--)
		*q++ = 0;
}

/* ---- zlib: inflate -------------------------------------------------------------- */
enum { Z_INIT2, Z_INFLATE, Z_RESET, Z_END, Z__N };
static const char *const z_names[Z__N] = { "inflateInit2_", "inflate", "inflateReset", "inflateEnd" };
static void *z_fns[Z__N];
static struct lazylib zlib = { "libz.so.1", z_names, Z__N, z_fns,
			       "compressed WebSocket messages are passed through unread", 0 };
#define Z_FN(i) (lazylib_ready(&zlib) ? z_fns[i] : NULL)

int inflateInit2_(z_streamp s, int bits, const char *version, int size)
{
	int (*f)(z_streamp, int, const char *, int) = Z_FN(Z_INIT2);
	return f ? f(s, bits, version, size) : Z_VERSION_ERROR;
}
int inflate(z_streamp s, int flush)
{
	int (*f)(z_streamp, int) = Z_FN(Z_INFLATE);
	return f ? f(s, flush) : Z_STREAM_ERROR;
}
int inflateReset(z_streamp s)
{
	int (*f)(z_streamp) = Z_FN(Z_RESET);
	return f ? f(s) : Z_STREAM_ERROR;
}
int inflateEnd(z_streamp s)
{
	int (*f)(z_streamp) = Z_FN(Z_END);
	return f ? f(s) : Z_STREAM_ERROR;
}

/* ---- libffi -------------------------------------------------------------------------- */
enum { F_CALL, F_CLOSURE_ALLOC, F_CLOSURE_FREE, F_PREP_CIF, F_PREP_CLOSURE_LOC, F_T_VOID, F_T_POINTER,
       F_T_SINT32, F_T_UINT32, F_T_SINT64, F_T_UINT64, F__N };
static const char *const ffi_names[F__N] = {
	"ffi_call", "ffi_closure_alloc", "ffi_closure_free", "ffi_prep_cif", "ffi_prep_closure_loc",
	"ffi_type_void", "ffi_type_pointer", "ffi_type_sint32", "ffi_type_uint32", "ffi_type_sint64",
	"ffi_type_uint64",
};
static void *ffi_fns[F__N];
static struct lazylib ffi = { "libffi.so.8", ffi_names, F__N, ffi_fns, "TOKSHIM_HOOKS hooks nothing", 0 };
#define F_FN(i) (lazylib_ready(&ffi) ? ffi_fns[i] : NULL)

int lazy_ffi_ready(void)
{
	return lazylib_ready(&ffi);
}

struct _ffi_type *lazy_ffi_type(enum lazy_ffi_type t)
{
	return lazylib_ready(&ffi) && t < LZ_FFI__N ? ffi_fns[F_T_VOID + t] : NULL;
}

void ffi_call(ffi_cif *cif, void (*fn)(void), void *rvalue, void **avalue)
{
	void (*f)(ffi_cif *, void (*)(void), void *, void **) = F_FN(F_CALL);
	if (f)
		f(cif, fn, rvalue, avalue);
}
void *ffi_closure_alloc(size_t size, void **code)
{
	void *(*f)(size_t, void **) = F_FN(F_CLOSURE_ALLOC);
	return f ? f(size, code) : NULL;
}
void ffi_closure_free(void *p)
{
	void (*f)(void *) = F_FN(F_CLOSURE_FREE);
	if (f)
		f(p);
}
ffi_status ffi_prep_cif(ffi_cif *cif, ffi_abi abi, unsigned int nargs, ffi_type *rtype, ffi_type **atypes)
{
	ffi_status (*f)(ffi_cif *, ffi_abi, unsigned int, ffi_type *, ffi_type **) = F_FN(F_PREP_CIF);
	return f ? f(cif, abi, nargs, rtype, atypes) : FFI_BAD_ABI;
}
ffi_status ffi_prep_closure_loc(ffi_closure *cl, ffi_cif *cif, void (*fun)(ffi_cif *, void *, void **, void *),
				void *user_data, void *codeloc)
{
	ffi_status (*f)(ffi_closure *, ffi_cif *, void (*)(ffi_cif *, void *, void **, void *), void *, void *) =
		F_FN(F_PREP_CLOSURE_LOC);
	return f ? f(cl, cif, fun, user_data, codeloc) : FFI_BAD_ABI;
}
