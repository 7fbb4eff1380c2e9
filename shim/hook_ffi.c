/* TOKSHIM_HOOKS: runtime hooks over functions the shim does not know (the
 * plaintext write of mbedTLS, wolfSSL, a vendor SDK's own TLS wrapper), from
 * descriptions parsed by decode/hookdesc.c:
 *
 *   mytls:mytls_write(ptr conn, ptr buf, size len) -> int
 *
 * Each description becomes a libffi closure per real function it stands for
 * (one per copy of the symbol in the process, at most FFI_TARGETS_MAX). The
 * closure's handler calls the real function through the same cif (the
 * return value and errno untouched) and, inside the recursion guard, hands
 * (conn, buf, bytes written) to the connection table as a TLS connection of
 * library "ffi:NAME".
 *
 * Installing: a name exported by libtokshim.so would have to be known when
 * it is linked, so instead the GOT entries (JUMP_SLOT, GLOB_DAT and
 * absolute-address relocations) that reference the symbol are rewritten in
 * every loaded object but the one defining it and this one (a RELRO page is
 * made writable for the store and read-only again), and our dlsym hands the
 * closure out for a look-up of the symbol in a handle. Objects loaded later
 * are patched lazily: there is no dlopen hook (glibc's dlopen decides its
 * search path from its caller, which a wrapper would change), but a program
 * that dlopens a library looks something up in it with dlsym, and that
 * look-up first patches every object loaded since the last scan. */
#include <elf.h>
#include <errno.h>
#include <ffi.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "decode/hookdesc.h"
#include "shim/inline.h"
#include "shim/shim.h"
#include "shim/lazy.h"
#include "decode/cold.h"

/* libffi's type objects, from the copy loaded at the first description
 * (shim/lazy.c): libtokshim.so does not link libffi */
#undef ffi_type_void
#define ffi_type_void (*(ffi_type *)lazy_ffi_type(LZ_FFI_VOID))
#define ffi_type_pointer (*(ffi_type *)lazy_ffi_type(LZ_FFI_POINTER))
#define ffi_type_sint32 (*(ffi_type *)lazy_ffi_type(LZ_FFI_SINT32))
#define ffi_type_uint32 (*(ffi_type *)lazy_ffi_type(LZ_FFI_UINT32))
#define ffi_type_sint64 (*(ffi_type *)lazy_ffi_type(LZ_FFI_SINT64))
#define ffi_type_uint64 (*(ffi_type *)lazy_ffi_type(LZ_FFI_UINT64))

/* The relocations that put a function's address in a GOT slot, per
 * architecture. 64-bit targets use RELA (explicit addends), 32-bit ARM and
 * i386 REL (the addend is what the slot held before relocation). */
#if defined(__x86_64__)
#define FFI_PATCH 1
#define R_JUMP_SLOT R_X86_64_JUMP_SLOT
#define R_GLOB_DAT R_X86_64_GLOB_DAT
#define R_ABS R_X86_64_64
#elif defined(__aarch64__)
#define FFI_PATCH 1
#define R_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define R_GLOB_DAT R_AARCH64_GLOB_DAT
#define R_ABS R_AARCH64_ABS64
#elif defined(__arm__)
#define FFI_PATCH 1
#define R_JUMP_SLOT R_ARM_JUMP_SLOT
#define R_GLOB_DAT R_ARM_GLOB_DAT
#define R_ABS R_ARM_ABS32
#elif defined(__i386__)
#define FFI_PATCH 1
#define R_JUMP_SLOT R_386_JMP_SLOT
#define R_GLOB_DAT R_386_GLOB_DAT
#define R_ABS R_386_32
#else
#define FFI_PATCH 0
#endif

/* The ELF class of this process: ElfW(Rel)'s r_info is split with the
 * class's own macros. */
#if __SIZEOF_POINTER__ == 8
#define R_SYM_OF(i) ELF64_R_SYM(i)
#define R_TYPE_OF(i) ELF64_R_TYPE(i)
#else
#define R_SYM_OF(i) ELF32_R_SYM(i)
#define R_TYPE_OF(i) ELF32_R_TYPE(i)
#endif

#define FFI_HOOKS_MAX 16
#define FFI_TARGETS_MAX 4   /* copies of one symbol in the process */
#define FFI_OBJS_MAX 1024   /* loaded objects looked at in one scan */

struct ffi_hook;

/* One closure: a description bound to one real function. */
struct ffi_target {
	_Atomic(void *) real;  /* the definition, or its trampoline once its entry is patched */
	void *def;             /* the definition */
	void *code;            /* the closure's entry point */
	ffi_closure *closure;
	struct ffi_hook *h;
};

struct ffi_hook {
	struct hookdesc d;
	char library[HOOKDESC_NAME_MAX + 4]; /* "ffi:NAME" */
	unsigned group;                      /* 1 + index of NAME: the key space */
	ffi_cif cif;
	ffi_type *atypes[HOOKDESC_ARGS_MAX];
	atomic_int ntargets;
	struct ffi_target t[FFI_TARGETS_MAX];
	int found;                           /* a definition was seen */
	int failed;                          /* closure creation failed (warned) */
};

static struct ffi_hook hooks[FFI_HOOKS_MAX];
static atomic_int nhooks;
static pthread_mutex_t ffi_lock = PTHREAD_MUTEX_INITIALIZER;

/* A connection key of its own space (64 bits on every word size, shim.h):
 * the low two bits 0 (the others use 1 to 3), the group of the
 * description's NAME in the next six, the conn argument's value above them.
 * Any 32-bit value fits, so does every user-space address of a 64-bit
 * target (aarch64's top byte, which the MMU ignores, is not part of it); a
 * 64-bit handle of 2^56 or more gives 0: that connection is not followed
 * rather than confused with another. */
static ffi_type *ffi_of(enum hd_type t);
static conn_key key_ffi(unsigned group, enum hd_type t, uint64_t v)
{
	size_t size = ffi_of(t)->size;
	if (size < 8) /* the value at its own width: a negative int handle too */
		v &= (UINT64_C(1) << (size * 8)) - 1;
#if defined(__aarch64__)
	if (t == HD_PTR || t == HD_STR)
		v &= (UINT64_C(1) << 56) - 1;
#else
	(void)t;
#endif
	if (v >> 56)
		return 0;
	return (v << 8) | ((conn_key)(group & 63) << 2);
}

/* ---- values in libffi's buffers ------------------------------------------ */
static ffi_type *ffi_of(enum hd_type t)
{
	switch (t) {
	case HD_VOID: return &ffi_type_void;
	case HD_PTR:
	case HD_STR: return &ffi_type_pointer;
	case HD_INT: return &ffi_type_sint;
	case HD_UINT: return &ffi_type_uint;
	case HD_LONG: return &ffi_type_slong;
	case HD_ULONG: return &ffi_type_ulong;
	case HD_SIZE: return sizeof(size_t) == 8 ? &ffi_type_uint64 : &ffi_type_uint32;
	case HD_SSIZE: return sizeof(ssize_t) == 8 ? &ffi_type_sint64 : &ffi_type_sint32;
	case HD_I32: return &ffi_type_sint32;
	case HD_U32: return &ffi_type_uint32;
	case HD_I64: return &ffi_type_sint64;
	case HD_U64: return &ffi_type_uint64;
	default: return &ffi_type_void;
	}
}

/* An argument (p: libffi's pointer to it) as a 64-bit integer: signed
 * types sign-extended, pointers as their address. */
static uint64_t arg_bits(enum hd_type t, const void *p)
{
	switch (ffi_of(t)->size) {
	case 1: return hookdesc_type_is_signed(t) ? (uint64_t)(int64_t)*(const int8_t *)p : *(const uint8_t *)p;
	case 2: return hookdesc_type_is_signed(t) ? (uint64_t)(int64_t)*(const int16_t *)p : *(const uint16_t *)p;
	case 4: return hookdesc_type_is_signed(t) ? (uint64_t)(int64_t)*(const int32_t *)p : *(const uint32_t *)p;
	default: return *(const uint64_t *)p;
	}
}

/* The return value of an integer type (libffi widens one narrower than
 * ffi_arg to a whole ffi_arg). *neg set for a negative signed one. */
static uint64_t ret_bits(enum hd_type t, const void *ret, int *neg)
{
	size_t size = ffi_of(t)->size;
	int64_t s;
	*neg = 0;
	if (size < sizeof(ffi_arg)) {
		if (!hookdesc_type_is_signed(t))
			return (uint64_t)*(const ffi_arg *)ret & ((UINT64_C(1) << (size * 8)) - 1);
		s = (int64_t)*(const ffi_sarg *)ret;
	} else if (!hookdesc_type_is_signed(t)) {
		return arg_bits(t, ret);
	} else {
		s = (int64_t)arg_bits(t, ret);
	}
	*neg = s < 0;
	return (uint64_t)s;
}

/* The bytes a write call wrote, 0 for none (a failed call). */
static size_t written_count(const struct hookdesc *d, void *ret, void **args)
{
	uint64_t len = arg_bits(d->args[d->len], args[d->len]);
	if (hookdesc_type_is_signed(d->args[d->len]) && (int64_t)len < 0)
		return 0;
	int neg = 0;
	uint64_t r = d->ret == HD_VOID ? 1 : 0;
	if (d->ret != HD_VOID) {
		if (!hookdesc_type_is_int(d->ret))
			r = *(void **)ret != NULL; /* a pointer result: non-NULL is success */
		else
			r = ret_bits(d->ret, ret, &neg);
	}
	if (d->written >= 0) {
		const size_t *w = *(size_t *const *)args[d->written];
		if (neg || r == 0 || !w)
			return 0;
		return *w <= len ? *w : (size_t)len;
	}
	if (d->ret == HD_VOID)
		return (size_t)len;
	/* more than len: a function that counts its own framing in what it
	 * returns (lws_write adds the WebSocket header) wrote all of buf */
	if (!neg && r > len)
		return (size_t)len;
	return !neg && r > 0 ? (size_t)r : 0;
}

/* ---- the handler ------------------------------------------------------------- */
/* The described function may change its buffer in place (lws_write masks a
 * client frame's payload there): the bytes are copied before the call, into
 * a per-thread block (mmap'ed at the first need, never freed), up to
 * COPY_MAX; beyond that the buffer is read as the call left it. */
#define COPY_MAX 65536
static __thread unsigned char *copy_buf __attribute__((tls_model("initial-exec")));
static __thread int copy_busy __attribute__((tls_model("initial-exec")));

static size_t copy_in(const struct hookdesc *d, void **args)
{
	const void *buf = *(const void *const *)args[d->buf];
	uint64_t len = arg_bits(d->args[d->len], args[d->len]);
	if (!buf || !len || copy_busy || (hookdesc_type_is_signed(d->args[d->len]) && (int64_t)len < 0))
		return 0;
	if (!copy_buf) {
		void *p = mmap(NULL, COPY_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 0;
		copy_buf = p;
	}
	size_t n = len < COPY_MAX ? (size_t)len : COPY_MAX;
	memcpy(copy_buf, buf, n);
	copy_busy = 1;
	return n;
}

static void feed_copy(struct conn *c, const void *buf, size_t n, size_t copied)
{
	size_t k = n < copied ? n : copied;
	if (k)
		shim_feed(c, copy_buf, k);
	if (n > k)
		shim_feed(c, (const char *)buf + k, n - k);
}

static void on_write(struct ffi_hook *h, void *ret, void **args, int64_t below, size_t copied)
{
	const struct hookdesc *d = &h->d;
	size_t n = written_count(d, ret, args);
	const void *buf = *(const void *const *)args[d->buf];
	if (!n || !buf)
		return;
	conn_key key = key_ffi(h->group, d->args[d->conn], arg_bits(d->args[d->conn], args[d->conn]));
	struct conn *c = key ? conn_find(key) : NULL;
	if (key && !c && (c = conn_add(key, h->library, 1)))
		c->hook = "ffi";
	if (!c)
		return;
	/* the socket the library wrote to underneath, for the peer */
	if (c->fd < 0 && shim_inner_fd >= 0)
		conn_set_peer_fd(c, shim_inner_fd);
	if (below > 0)
		c->id = (uint64_t)below;
	/* a nested write of ours, if any, records itself one level up */
	if (shim_nested_id == 0)
		shim_nested_id = (int64_t)c->id;
	feed_copy(c, buf, n, copied);
	conn_unlock(c);
}

static void on_host(struct ffi_hook *h, void **args)
{
	const struct hookdesc *d = &h->d;
	const char *host = *(const char *const *)args[d->host];
	size_t n = 0;
	if (host) {
		size_t cap = 255;
		if (d->len >= 0) {
			uint64_t l = arg_bits(d->args[d->len], args[d->len]);
			if (!(hookdesc_type_is_signed(d->args[d->len]) && (int64_t)l < 0) && l < cap)
				cap = (size_t)l;
		}
		n = strnlen(host, cap);
	}
	conn_key key = key_ffi(h->group, d->args[d->conn], arg_bits(d->args[d->conn], args[d->conn]));
	if (!key)
		return;
	struct conn *c = conn_find(key);
	if (!c && n && (c = conn_add(key, h->library, 1)))
		c->hook = "ffi";
	if (c) {
		conn_set_host(c, host, n);
		conn_unlock(c);
	}
}

static void handler(ffi_cif *cif, void *ret, void **args, void *user)
{
	struct ffi_target *t = user;
	struct ffi_hook *h = t->h;
	void *real = atomic_load_explicit(&t->real, memory_order_acquire);
	if (!shim_tls_write_active()) {
		ffi_call(cif, FFI_FN(real), ret, args);
		return;
	}
	/* 0, or inside a real TLS read (the host called back from it) */
	int was = shim_in;
	if (h->d.kind == HD_FREE) {
		conn_key key = key_ffi(h->group, h->d.args[h->d.conn], arg_bits(h->d.args[h->d.conn], args[h->d.conn]));
		if (key)
			shim_conn_close_hooked(key);
		ffi_call(cif, FFI_FN(real), ret, args);
		return;
	}
	/* The real call runs outside the guard: a built-in hook beneath it (the
	 * TLS write inside an application's send function) still sees and feeds
	 * its own write. It records the report id of the connection it fed: the
	 * described function's bytes are that same plaintext, fed under their
	 * own connection but reported as that one (one diagnosis, not two). */
	size_t copied = 0;
	if (h->d.kind == HD_WRITE) {
		int saved = errno;
		shim_in = 1;
		copied = copy_in(&h->d, args);
		shim_in = was;
		errno = saved;
	}
	int inner = shim_inner_begin();
	int64_t nested = shim_nested_id;
	int rec = shim_thr.nest_rec;
	shim_nested_id = 0;
	shim_thr.nest_rec = 1; /* no quick way for the TLS writes beneath (shim/fast.h) */
	ffi_call(cif, FFI_FN(real), ret, args);
	int saved = errno;
	shim_in = 1;
	int64_t below = shim_nested_id;
	shim_nested_id = nested;
	shim_thr.nest_rec = rec;
	if (h->d.kind == HD_WRITE)
		on_write(h, ret, args, below, copied);
	else
		on_host(h, args);
	if (copied)
		copy_busy = 0;
	shim_inner_end(inner);
	shim_in = was;
	errno = saved;
}

/* ---- loaded objects ------------------------------------------------------------ */
struct obj {
	uintptr_t base;                 /* load bias */
	const ElfW(Phdr) *phdr;
	size_t phnum;
	const ElfW(Dyn) *dyn;
	int self;                       /* libtokshim.so */
};

static struct {
	size_t n;
	unsigned long long adds, subs;
	int have_counts;
	struct obj o[FFI_OBJS_MAX];
} objs;

/* The objects scanned already (by load bias and dynamic section). */
static struct {
	size_t n;
	struct {
		uintptr_t base;
		const void *dyn;
	} o[FFI_OBJS_MAX];
} seen;

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)arg;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
		objs.adds = info->dlpi_adds;
		objs.subs = info->dlpi_subs;
		objs.have_counts = 1;
	}
	if (objs.n >= FFI_OBJS_MAX)
		return 0;
	struct obj *o = &objs.o[objs.n];
	memset(o, 0, sizeof *o);
	o->base = info->dlpi_addr;
	o->phdr = info->dlpi_phdr;
	o->phnum = info->dlpi_phnum;
	for (size_t i = 0; i < o->phnum; i++)
		if (o->phdr[i].p_type == PT_DYNAMIC)
			o->dyn = (const void *)(o->base + o->phdr[i].p_vaddr);
	if (o->dyn)
		objs.n++;
	return 0;
}

static const ElfW(Phdr) *segment_of(const struct obj *o, uintptr_t a)
{
	for (size_t i = 0; i < o->phnum; i++) {
		const ElfW(Phdr) *p = &o->phdr[i];
		if (p->p_type == PT_LOAD && a >= o->base + p->p_vaddr && a < o->base + p->p_vaddr + p->p_memsz)
			return p;
	}
	return NULL;
}

static struct obj *obj_of(uintptr_t a)
{
	for (size_t i = 0; i < objs.n; i++)
		if (segment_of(&objs.o[i], a))
			return &objs.o[i];
	return NULL;
}

/* ld.so rewrites d_ptr entries to absolute addresses on most targets; some
 * (the vDSO) keep them relative to the load address. */
static uintptr_t dyn_addr(const struct obj *o, ElfW(Addr) v)
{
	return v < o->base ? o->base + v : v;
}

#if FFI_PATCH
struct dyninfo {
	const ElfW(Sym) *symtab;
	const char *strtab;
	size_t strsz;
	const ElfW(Rela) *rela;
	const ElfW(Rel) *rel;
	const void *jmprel;
	size_t relasz, relsz, jmprelsz;
	ElfW(Sxword) pltrel; /* DT_RELA or DT_REL: the format of jmprel */
};

static void dyn_read(const struct obj *o, struct dyninfo *di)
{
	memset(di, 0, sizeof *di);
	for (const ElfW(Dyn) *d = o->dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: di->symtab = (const void *)dyn_addr(o, d->d_un.d_ptr); break;
		case DT_STRTAB: di->strtab = (const void *)dyn_addr(o, d->d_un.d_ptr); break;
		case DT_STRSZ: di->strsz = d->d_un.d_val; break;
		case DT_RELA: di->rela = (const void *)dyn_addr(o, d->d_un.d_ptr); break;
		case DT_RELASZ: di->relasz = d->d_un.d_val; break;
		case DT_REL: di->rel = (const void *)dyn_addr(o, d->d_un.d_ptr); break;
		case DT_RELSZ: di->relsz = d->d_un.d_val; break;
		case DT_JMPREL: di->jmprel = (const void *)dyn_addr(o, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: di->jmprelsz = d->d_un.d_val; break;
		case DT_PLTREL: di->pltrel = (ElfW(Sxword))d->d_un.d_val; break;
		default: break;
		}
	}
}
#endif

static void *obj_lookup(const struct obj *o, const char *name)
{
	return shim_elf_lookup(o->base, o->dyn, name);
}

/* p when it is where some loaded object (not us) defines name. */
static void *if_definition(void *p, const char *name)
{
	struct obj *o = p ? obj_of((uintptr_t)p) : NULL;
	return o && !o->self && obj_lookup(o, name) == p ? p : NULL;
}

/* The real function for a reference that currently holds cur: cur itself
 * when it is a definition (a resolved GOT entry), else the first loaded
 * object defining it (load order: the global scope's order for the objects
 * loaded at start). Not dlsym(RTLD_DEFAULT): it takes the loader's lock,
 * which a thread running a constructor in dlopen holds while it may call our
 * dlsym, waiting for ffi_lock. */
#if FFI_PATCH
static void *find_real(const char *name, void *cur)
{
	void *p = if_definition(cur, name);
	for (size_t i = 0; !p && i < objs.n; i++)
		if (!objs.o[i].self)
			p = obj_lookup(&objs.o[i], name);
	return p;
}
#endif

/* ---- closures ---------------------------------------------------------------------- */
static int is_ours(const void *p)
{
	int n = atomic_load_explicit(&nhooks, memory_order_acquire);
	for (int i = 0; i < n; i++) {
		int m = atomic_load_explicit(&hooks[i].ntargets, memory_order_acquire);
		for (int j = 0; j < m; j++)
			if (hooks[i].t[j].code == p)
				return 1;
	}
	return 0;
}

/* The closure of h calling real (made on first use). NULL when out of room. */
static struct ffi_target *target_for(struct ffi_hook *h, void *real)
{
	int n = atomic_load_explicit(&h->ntargets, memory_order_relaxed);
	for (int i = 0; i < n; i++)
		if (h->t[i].def == real)
			return &h->t[i];
	if (n >= FFI_TARGETS_MAX || h->failed)
		return NULL;
	struct ffi_target *t = &h->t[n];
	void *code = NULL;
	ffi_closure *cl = ffi_closure_alloc(sizeof(ffi_closure), &code);
	if (!cl || !code) {
		h->failed = 1;
		shim_warn("cannot hook '%s': no memory for a closure", h->d.symbol);
		return NULL;
	}
	atomic_store_explicit(&t->real, real, memory_order_relaxed);
	t->def = real;
	t->h = h;
	t->closure = cl;
	t->code = code;
	if (ffi_prep_closure_loc(cl, &h->cif, handler, t, code) != FFI_OK) {
		ffi_closure_free(cl);
		memset(t, 0, sizeof *t);
		h->failed = 1;
		shim_warn("cannot hook '%s': libffi cannot make the closure", h->d.symbol);
		return NULL;
	}
	atomic_store_explicit(&h->ntargets, n + 1, memory_order_release);
	/* Entry patching: calls that never go through a GOT (inside the
	 * defining object, a static copy) reach the closure too; the closure
	 * then calls the trampoline. Refused: the GOT references only. */
	if (shim_inline_on) {
		char why[128] = "";
		void *tramp = NULL;
		if (inline_hook(real, code, &tramp, why, sizeof why) == 0)
			atomic_store_explicit(&t->real, tramp, memory_order_release);
		else
			shim_info("hook '%s': entry not patched (%s): calls through the GOT and dlsym only", h->d.symbol,
				  why[0] ? why : "refused");
	}
	return t;
}

/* ---- patching ------------------------------------------------------------------------ */
#if FFI_PATCH
/* Stores val in the GOT slot of o, through a RELRO page made writable for it
 * (the range ld.so made read-only: rounded down at both ends). 0 on success. */
static int patch_slot(const struct obj *o, void **slot, void *val)
{
	uintptr_t a = (uintptr_t)slot;
	const ElfW(Phdr) *seg = segment_of(o, a);
	if (!seg || !(seg->p_flags & PF_W) || (a & (sizeof(void *) - 1)))
		return -1;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), lo = 0, hi = 0;
	for (size_t i = 0; i < o->phnum; i++)
		if (o->phdr[i].p_type == PT_GNU_RELRO) {
			lo = (o->base + o->phdr[i].p_vaddr) & ~(page - 1);
			hi = (o->base + o->phdr[i].p_vaddr + o->phdr[i].p_memsz) & ~(page - 1);
		}
	int ro = a >= lo && a < hi;
	void *pg = (void *)(a & ~(page - 1));
	if (ro && mprotect(pg, page, PROT_READ | PROT_WRITE) != 0)
		return -1;
	__atomic_store_n(slot, val, __ATOMIC_RELEASE);
	if (ro)
		mprotect(pg, page, PROT_READ);
	return 0;
}

static struct ffi_hook *hook_named(const char *name)
{
	int n = atomic_load_explicit(&nhooks, memory_order_relaxed);
	for (int i = 0; i < n; i++)
		if (hooks[i].d.symbol[0] == name[0] && strcmp(hooks[i].d.symbol, name) == 0)
			return &hooks[i];
	return NULL;
}

/* One relocation of o: a GOT slot that must hold the hooked function gets
 * the closure. addend: RELA's explicit one, or -1 for REL (the slot's
 * pre-relocation value was the addend: only a slot that holds exactly a
 * definition now is an address with addend 0). */
static void patch_one(const struct obj *o, const struct dyninfo *di, ElfW(Addr) offset, ElfW(Xword) info,
		      long long addend)
{
	unsigned type = (unsigned)R_TYPE_OF(info);
	size_t si = R_SYM_OF(info);
	if (!si || !(type == R_JUMP_SLOT || type == R_GLOB_DAT || (type == R_ABS && addend <= 0)))
		return;
	const ElfW(Sym) *s = &di->symtab[si];
	/* a reference the object resolves to its own definition: left alone */
	if (s->st_shndx != SHN_UNDEF || s->st_name >= di->strsz)
		return;
	struct ffi_hook *h = hook_named(di->strtab + s->st_name);
	if (!h)
		return;
	void **slot = (void **)(o->base + offset);
	void *cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (is_ours(cur))
		return;
	/* REL absolute address: patched only when it is the function itself */
	void *real = type == R_ABS && addend < 0 ? if_definition(cur, h->d.symbol) : find_real(h->d.symbol, cur);
	if (!real)
		return;
	h->found = 1;
	struct obj *def = obj_of((uintptr_t)real);
	if (def == o)
		return;
	struct ffi_target *t = target_for(h, real);
	if (t)
		patch_slot(o, slot, t->code);
}

static void patch_rela(const struct obj *o, const struct dyninfo *di, const ElfW(Rela) *r, size_t size)
{
	for (size_t i = 0; r && i < size / sizeof *r; i++)
		patch_one(o, di, r[i].r_offset, r[i].r_info, r[i].r_addend == 0 ? 0 : 1);
}

static void patch_rel(const struct obj *o, const struct dyninfo *di, const ElfW(Rel) *r, size_t size)
{
	for (size_t i = 0; r && i < size / sizeof *r; i++)
		patch_one(o, di, r[i].r_offset, r[i].r_info, -1);
}

static void patch_obj(const struct obj *o)
{
	struct dyninfo di;
	dyn_read(o, &di);
	if (!di.symtab || !di.strtab)
		return;
	patch_rela(o, &di, di.rela, di.relasz);
	patch_rel(o, &di, di.rel, di.relsz);
	if (di.pltrel == DT_RELA)
		patch_rela(o, &di, di.jmprel, di.jmprelsz);
	else if (di.pltrel == DT_REL)
		patch_rel(o, &di, di.jmprel, di.jmprelsz);
}
#endif

static int was_seen(const struct obj *o)
{
	for (size_t i = 0; i < seen.n; i++)
		if (seen.o[i].base == o->base && seen.o[i].dyn == o->dyn)
			return 1;
	return 0;
}

/* Looks at the objects loaded since the last scan (all of them when one was
 * unloaded meanwhile). Under ffi_lock, inside the guard. */
static void scan(int force)
{
	unsigned long long adds = objs.adds, subs = objs.subs;
	int had = objs.have_counts;
	objs.n = 0;
	dl_iterate_phdr(collect, NULL);
	struct obj *me = obj_of((uintptr_t)shim_ffi_init);
	if (me)
		me->self = 1;
	if (!force && had && objs.have_counts && adds == objs.adds && subs == objs.subs)
		return;
	if (!had || subs != objs.subs)
		seen.n = 0;
	int n = atomic_load_explicit(&nhooks, memory_order_relaxed);
	/* definitions seen anywhere (for the "not found" warning); with entry
	 * patching, each one is hooked at its entry (target_for) */
	for (int i = 0; i < n; i++)
		for (size_t j = 0; (shim_inline_on || !hooks[i].found) && j < objs.n; j++) {
			void *def = objs.o[j].self ? NULL : obj_lookup(&objs.o[j], hooks[i].d.symbol);
			if (!def)
				continue;
			hooks[i].found = 1;
			if (shim_inline_on && !is_ours(def))
				target_for(&hooks[i], def);
		}
#if FFI_PATCH
	for (size_t i = 0; i < objs.n; i++) {
		struct obj *o = &objs.o[i];
		if (o->self || was_seen(o))
			continue;
		patch_obj(o);
		if (seen.n < FFI_OBJS_MAX) {
			seen.o[seen.n].base = o->base;
			seen.o[seen.n].dyn = o->dyn;
			seen.n++;
		}
	}
#else
	(void)was_seen;
#endif
}

/* ---- entry points ----------------------------------------------------------------------- */
static void after_fork_child(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	memcpy(&ffi_lock, &fresh, sizeof fresh);
}

/* A description accepted into hooks[]; 0 when it is refused (warned). */
static int add_hook(const struct hookdesc *d, const char *text, size_t tn, struct shim_warn_once *w)
{
	int n = atomic_load_explicit(&nhooks, memory_order_relaxed);
	if (n >= FFI_HOOKS_MAX) {
		shim_warn_note(w, "ignoring description '%.*s': more than %d descriptions", (int)(tn > 60 ? 60 : tn),
			  text, FFI_HOOKS_MAX);
		return 0;
	}
	if (shim_hooked_find(d->symbol) || shim_targets_patched(d->symbol)) {
		shim_warn_note(w, "ignoring description '%.*s': '%s' is hooked already", (int)(tn > 60 ? 60 : tn),
			  text, d->symbol);
		return 0;
	}
	for (int i = 0; i < n; i++)
		if (strcmp(hooks[i].d.symbol, d->symbol) == 0) {
			shim_warn_note(w, "ignoring description '%.*s': '%s' is described twice",
				  (int)(tn > 60 ? 60 : tn), text, d->symbol);
			return 0;
		}
	struct ffi_hook *h = &hooks[n];
	memset(h, 0, sizeof *h);
	h->d = *d;
	memcpy(h->library, "ffi:", 4);
	memcpy(h->library + 4, d->name, strlen(d->name) + 1);
	h->group = 0;
	for (int i = 0; i < n && !h->group; i++)
		if (strcmp(hooks[i].d.name, d->name) == 0)
			h->group = hooks[i].group;
	if (!h->group) {
		unsigned g = 0;
		for (int i = 0; i < n; i++)
			if (hooks[i].group > g)
				g = hooks[i].group;
		h->group = g + 1;
	}
	for (unsigned i = 0; i < d->nargs; i++)
		h->atypes[i] = ffi_of(d->args[i]);
	if (ffi_prep_cif(&h->cif, FFI_DEFAULT_ABI, d->nargs, ffi_of(d->ret), h->atypes) != FFI_OK) {
		shim_warn_note(w, "ignoring description '%.*s': libffi cannot describe the call",
			  (int)(tn > 60 ? 60 : tn), text);
		return 0;
	}
	atomic_store_explicit(&nhooks, n + 1, memory_order_release);
	return 1;
}

TK_COLD void shim_ffi_init(const char *spec)
{
	const char *p;
	size_t n;
	struct shim_warn_once w = {0};
	if (!spec || !*spec || !lazy_ffi_ready())
		return;
	while (hookdesc_next(&spec, &p, &n)) {
		struct hookdesc d;
		struct tk_error err = { 0 };
		if (hookdesc_parse(p, n, &d, &err) < 0) {
			shim_warn_note(&w, "ignoring description '%.*s': %s", (int)(n > 60 ? 60 : n), p, err.msg);
			continue;
		}
		add_hook(&d, p, n, &w);
	}
	int nh = atomic_load_explicit(&nhooks, memory_order_acquire);
	if (!nh) {
		shim_warn_flush(&w, "TOKSHIM_HOOKS");
		return;
	}
#if !FFI_PATCH
	shim_warn("TOKSHIM_HOOKS: patching references is not supported on this architecture: "
		  "only dlsym look-ups get the hooks");
#endif
	shim_atfork_child(after_fork_child);
	pthread_mutex_lock(&ffi_lock);
	scan(1);
	for (int i = 0; i < nh; i++)
		if (!hooks[i].found)
			shim_warn_note(&w, "hook '%s' not found in any loaded object", hooks[i].d.symbol);
	pthread_mutex_unlock(&ffi_lock);
	shim_warn_flush(&w, "TOKSHIM_HOOKS");
}

void *shim_ffi_dlsym(const char *name, void *p)
{
	int nh = atomic_load_explicit(&nhooks, memory_order_acquire);
	if (!nh || !p)
		return p;
	int was = shim_in, saved = errno;
	shim_in = 1;
	pthread_mutex_lock(&ffi_lock);
	scan(0);
	struct ffi_hook *h = NULL;
	for (int i = 0; i < nh && !h; i++)
		if (strcmp(hooks[i].d.symbol, name) == 0)
			h = &hooks[i];
	void *out = p;
	if (h && !is_ours(p) && if_definition(p, name)) {
		h->found = 1;
		struct ffi_target *t = target_for(h, p);
		if (t)
			out = t->code;
	}
	pthread_mutex_unlock(&ffi_lock);
	shim_in = was;
	errno = saved;
	return out;
}
