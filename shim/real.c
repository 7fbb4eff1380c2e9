/* Finding the real functions behind the hooks, at run time, without linking
 * libssl or libgnutls and without going through our own dlsym/dlvsym. */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/shim.h"
#include "decode/cold.h"

/* ---- glibc's dlsym and dlvsym ---------------------------------------------
 * We interpose dlsym and dlvsym, so neither can be used to find the real
 * ones: on glibc >= 2.34 dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34") would call
 * our own dlvsym, and __libc_dlsym/_dl_sym are no longer exported. Instead
 * read the dynamic symbol table (GNU hash, else SysV hash) of libc.so.6
 * (libdl.so.2 before 2.34), found by its file name: not through dlopen's
 * address, which another preloaded library may wrap. */

TK_COLD static uint32_t gnu_hash(const char *s)
{
	uint32_t h = 5381;
	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

static uint32_t sysv_hash(const char *s)
{
	uint32_t h = 0, g;
	for (; *s; s++) {
		h = (h << 4) + (unsigned char)*s;
		g = h & 0xf0000000u;
		if (g)
			h ^= g >> 24;
		h &= ~g;
	}
	return h;
}

/* ld.so rewrites d_ptr entries to absolute addresses on most targets; some
 * keep them relative to the load address. */
static uintptr_t dyn_addr(ElfW(Addr) base, ElfW(Addr) v)
{
	return v < base ? base + v : v;
}

/* s defines the function name (strsz: the string table's size, 0 unknown). */
TK_COLD static int sym_ok(const ElfW(Sym) *s, const char *strtab, size_t strsz, const char *name)
{
	unsigned type = s->st_info & 0xf; /* ELF32_ST_TYPE == ELF64_ST_TYPE */
	return s->st_shndx != SHN_UNDEF && s->st_value != 0 && (type == STT_FUNC || type == STT_NOTYPE) &&
	       (!strsz || s->st_name < strsz) && strcmp(strtab + s->st_name, name) == 0;
}

TK_COLD void shim_elf_open(struct shim_elf *e, ElfW(Addr) base, const ElfW(Dyn) *dyn)
{
	memset(e, 0, sizeof *e);
	e->base = base;
	/* with a GNU hash table the SysV one is never read: the walk ends once
	 * the GNU one and the symbol and string tables are known */
	for (const ElfW(Dyn) *d = dyn; d && d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: e->symtab = (const void *)dyn_addr(base, d->d_un.d_ptr); break;
		case DT_STRTAB: e->strtab = (const void *)dyn_addr(base, d->d_un.d_ptr); break;
		case DT_STRSZ: e->strsz = d->d_un.d_val; break;
		case DT_GNU_HASH: e->gnuhash = (const void *)dyn_addr(base, d->d_un.d_ptr); break;
		case DT_HASH: e->hash = (const void *)dyn_addr(base, d->d_un.d_ptr); break;
		default: continue;
		}
		if (e->gnuhash && e->symtab && e->strtab && e->strsz)
			break;
	}
	if (e->gnuhash) {
		uint32_t nbuckets = e->gnuhash[0], bloom_size = e->gnuhash[2];
		if (nbuckets && bloom_size && !(bloom_size & (bloom_size - 1))) {
			e->bloom = (const void *)&e->gnuhash[4];
			e->bloom_mask = bloom_size - 1;
			e->bloom_shift = e->gnuhash[3];
		}
	}
}

TK_COLD uint32_t shim_elf_gnu_hash(const char *name)
{
	return gnu_hash(name);
}

TK_COLD void *shim_elf_find(const struct shim_elf *e, const char *name, uint32_t h, size_t *size)
{
	const ElfW(Sym) *symtab = e->symtab;
	const char *strtab = e->strtab;
	size_t strsz = e->strsz;
	const uint32_t *gnuhash = e->gnuhash, *hash = e->hash;
	ElfW(Addr) base = e->base;
	if (!symtab || !strtab)
		return NULL;
	if (gnuhash) {
		uint32_t nbuckets = gnuhash[0], symoffset = gnuhash[1], bloom_size = gnuhash[2];
		const ElfW(Addr) *bloom = (const void *)&gnuhash[4];
		const uint32_t *buckets = (const void *)&bloom[bloom_size];
		const uint32_t *chain = &buckets[nbuckets];
		if (nbuckets == 0 || bloom_size == 0)
			return NULL;
		/* the bloom filter: most look-ups of a name an object lacks end here */
		const unsigned bits = sizeof(ElfW(Addr)) * 8;
		ElfW(Addr) word = bloom[(h / bits) % bloom_size];
		ElfW(Addr) mask = ((ElfW(Addr))1 << (h % bits)) | ((ElfW(Addr))1 << ((h >> gnuhash[3]) % bits));
		if ((word & mask) != mask)
			return NULL;
		uint32_t i = buckets[h % nbuckets];
		if (i < symoffset)
			return NULL;
		for (;; i++) {
			uint32_t h2 = chain[i - symoffset];
			if ((h2 | 1) == (h | 1) && sym_ok(&symtab[i], strtab, strsz, name)) {
				if (size)
					*size = (size_t)symtab[i].st_size;
				return (void *)(base + symtab[i].st_value);
			}
			if (h2 & 1)
				return NULL;
		}
	}
	if (hash) {
		uint32_t nbucket = hash[0];
		const uint32_t *bucket = &hash[2], *chain = &hash[2 + nbucket];
		if (nbucket == 0)
			return NULL;
		for (uint32_t i = bucket[sysv_hash(name) % nbucket]; i != STN_UNDEF; i = chain[i])
			if (sym_ok(&symtab[i], strtab, strsz, name)) {
				if (size)
					*size = (size_t)symtab[i].st_size;
				return (void *)(base + symtab[i].st_value);
			}
	}
	return NULL;
}

void *shim_elf_lookup(ElfW(Addr) base, const ElfW(Dyn) *dyn, const char *name)
{
	struct shim_elf e;
	shim_elf_open(&e, base, dyn);
	return shim_elf_find(&e, name, gnu_hash(name), NULL);
}

static _Atomic(void *) real_dlsym_p TK_LOAD_BSS, real_dlvsym_p TK_LOAD_BSS;

/* A symbol of the first loaded object whose file name is `file` (libc.so.6),
 * or starts with it when prefix is set (libssl.so), found by walking the
 * program headers and reading the object's own symbol table: no symbol of
 * anyone else is involved, so a preloaded library that wraps dlopen
 * (sandboxes, profilers) changes nothing. Our own definitions never count. */
struct by_file {
	const char *file;
	bool prefix;
	const char *name;
	void *found;
};

TK_COLD static int by_file_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct by_file *b = arg;
	(void)size;
	if (!info->dlpi_name || !*info->dlpi_name)
		return 0;
	const char *base = strrchr(info->dlpi_name, '/');
	base = base ? base + 1 : info->dlpi_name;
	if (b->prefix ? strncmp(base, b->file, strlen(b->file)) != 0 : strcmp(base, b->file) != 0)
		return 0;
	for (size_t i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type != PT_DYNAMIC)
			continue;
		const ElfW(Dyn) *dyn = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
		void *p = shim_elf_lookup(info->dlpi_addr, dyn, b->name);
		if (p && !shim_is_self(p)) {
			b->found = p;
			return 1;
		}
	}
	return 0;
}

static void *dl_in_file(const char *file, bool prefix, const char *name)
{
	struct by_file b = { .file = file, .prefix = prefix, .name = name };
	dl_iterate_phdr(by_file_cb, &b);
	return b.found;
}

static void *dl_in(const char *soname, const char *name)
{
	return dl_in_file(soname, false, name);
}

TK_COLD static void *dl_own(const char *name)
{
	void *p;
	/* glibc >= 2.34: libc.so.6; before: libdl.so.2 */
	if ((p = dl_in("libc.so.6", name)) || (p = dl_in("libdl.so.2", name)))
		return p;
	/* last resort: the object defining the dlopen we see */
	Dl_info info;
	struct link_map *lm = NULL;
	void *(*anchor)(const char *, int) = dlopen;
	if (!dladdr1((void *)anchor, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
		return NULL;
	p = shim_elf_lookup(lm->l_addr, lm->l_ld, name);
	return p && !shim_is_self(p) ? p : NULL;
}

void *shim_real_dl(const char *name)
{
	return dl_own(name);
}

TK_COLD void *shim_real_dlsym_ptr(void)
{
	void *p = atomic_load_explicit(&real_dlsym_p, memory_order_acquire);
	if (!p && (p = dl_own("dlsym")))
		atomic_store_explicit(&real_dlsym_p, p, memory_order_release);
	return p;
}

TK_COLD void *shim_real_dlvsym_ptr(void)
{
	void *p = atomic_load_explicit(&real_dlvsym_p, memory_order_acquire);
	if (!p && (p = dl_own("dlvsym")))
		atomic_store_explicit(&real_dlvsym_p, p, memory_order_release);
	return p;
}

/* Called from this object: RTLD_NEXT means "after libtokshim.so". */
TK_COLD void *shim_real_dlsym(void *handle, const char *name)
{
	void *(*fn)(void *, const char *) = (void *(*)(void *, const char *))shim_real_dlsym_ptr();
	return fn ? fn(handle, name) : NULL;
}

/* ---- libc ------------------------------------------------------------------ */
struct libc_real shim_libc TK_LOAD_BSS;

void *shim_libc_resolve(_Atomic(void *) *slot, const char *name)
{
	void *p = shim_real_dlsym(RTLD_NEXT, name);
	if (p && !shim_is_self(p))
		atomic_store_explicit(slot, p, memory_order_release);
	else
		p = NULL;
	return p;
}

/* The last resort when libc's function cannot be found: the system call
 * itself (what the libc function amounts to), never ENOSYS. */
SHIM_HIDDEN int shim_sys_connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	return (int)syscall(SYS_connect, fd, addr.__sockaddr__, len);
}
SHIM_HIDDEN ssize_t shim_sys_send(int fd, const void *buf, size_t n, int flags)
{
	return syscall(SYS_sendto, fd, buf, n, flags, NULL, 0);
}
SHIM_HIDDEN ssize_t shim_sys_sendto(int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG addr,
				    socklen_t alen)
{
	return syscall(SYS_sendto, fd, buf, n, flags, addr.__sockaddr__, alen);
}
SHIM_HIDDEN ssize_t shim_sys_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	return syscall(SYS_sendmsg, fd, msg, flags);
}
SHIM_HIDDEN ssize_t shim_sys_write(int fd, const void *buf, size_t n)
{
	return syscall(SYS_write, fd, buf, n);
}
SHIM_HIDDEN ssize_t shim_sys_writev(int fd, const struct iovec *iov, int cnt)
{
	return syscall(SYS_writev, fd, iov, cnt);
}
SHIM_HIDDEN ssize_t shim_sys_read(int fd, void *buf, size_t n)
{
	return syscall(SYS_read, fd, buf, n);
}
SHIM_HIDDEN ssize_t shim_sys_readv(int fd, const struct iovec *iov, int cnt)
{
	return syscall(SYS_readv, fd, iov, cnt);
}
SHIM_HIDDEN ssize_t shim_sys_recv(int fd, void *buf, size_t n, int flags)
{
	return syscall(SYS_recvfrom, fd, buf, n, flags, NULL, NULL);
}
SHIM_HIDDEN ssize_t shim_sys_recvfrom(int fd, void *buf, size_t n, int flags, __SOCKADDR_ARG addr,
				      socklen_t *alen)
{
	return syscall(SYS_recvfrom, fd, buf, n, flags, addr.__sockaddr__, alen);
}
SHIM_HIDDEN ssize_t shim_sys_recvmsg(int fd, struct msghdr *msg, int flags)
{
	return syscall(SYS_recvmsg, fd, msg, flags);
}
SHIM_HIDDEN int shim_sys_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}
SHIM_HIDDEN int shim_sys_dup2(int oldfd, int newfd)
{
	if (oldfd == newfd) /* dup2's answer: newfd when it is open */
		return syscall(SYS_fcntl, oldfd, F_GETFD) < 0 ? -1 : newfd;
	return (int)syscall(SYS_dup3, oldfd, newfd, 0);
}
SHIM_HIDDEN int shim_sys_dup3(int oldfd, int newfd, int flags)
{
	return (int)syscall(SYS_dup3, oldfd, newfd, flags);
}

TK_COLD void shim_libc_init(void)
{
	shim_real_dlsym_ptr();
	shim_real_dlvsym_ptr();
#define INIT_SLOT(fn)                                                                   \
	do {                                                                            \
		if (!atomic_load_explicit(&shim_libc.fn, memory_order_acquire) &&       \
		    !shim_libc_resolve(&shim_libc.fn, #fn))                             \
			atomic_store_explicit(&shim_libc.fn, (void *)shim_sys_##fn,     \
					      memory_order_release);                    \
	} while (0)
	INIT_SLOT(connect);
	INIT_SLOT(send);
	INIT_SLOT(sendto);
	INIT_SLOT(sendmsg);
	INIT_SLOT(write);
	INIT_SLOT(writev);
	INIT_SLOT(close);
	INIT_SLOT(dup2);
	INIT_SLOT(dup3);
	INIT_SLOT(read);
	INIT_SLOT(readv);
	INIT_SLOT(recv);
	INIT_SLOT(recvfrom);
	INIT_SLOT(recvmsg);
#undef INIT_SLOT
#if defined(__TIMESIZE) && __TIMESIZE == 32
	if (!atomic_load_explicit(&shim_libc.recvmsg64, memory_order_acquire) &&
	    !shim_libc_resolve(&shim_libc.recvmsg64, "__recvmsg64"))
		atomic_store_explicit(&shim_libc.recvmsg64, (void *)shim_sys_recvmsg, memory_order_release);
#endif
}

/* ---- library families --------------------------------------------------- */
static pthread_mutex_t family_lock = PTHREAD_MUTEX_INITIALIZER;

void realfamily_after_fork(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	memcpy(&family_lock, &fresh, sizeof fresh);
}

/* A copy of tmp appended to the family's libraries, under family_lock; NULL
 * when the family is full. Readers see nlibs only after the entry is whole. */
static struct reallib *lib_append_locked(struct realfamily *f, const struct reallib *tmp)
{
	int n = atomic_load_explicit(&f->nlibs, memory_order_relaxed);
	if (n >= REALLIB_MAX)
		return NULL;
	struct reallib *l = &f->libs[n];
	l->handle = tmp->handle;
	l->base = tmp->base;
	l->aux = tmp->aux;
	for (size_t i = 0; i < REALLIB_FNS; i++)
		atomic_store_explicit(&l->fn[i], atomic_load_explicit(&tmp->fn[i], memory_order_relaxed),
				      memory_order_relaxed);
	atomic_store_explicit(&f->nlibs, n + 1, memory_order_release);
	return l;
}

static struct reallib *lib_by_base(struct realfamily *f, const void *base)
{
	int n = atomic_load_explicit(&f->nlibs, memory_order_acquire);
	for (int i = 0; i < n; i++)
		if (f->libs[i].base == base)
			return &f->libs[i];
	return NULL;
}

/* The library holding the real function p (one of ours: f->names[0]).
 * The loader's work (dladdr, dlopen, dlsym, and the family's on_new) is done
 * without family_lock: those take glibc's loader lock, which a thread in
 * dlopen holds while a library constructor may call one of our hooks. The
 * lock is only taken to publish the new entry. */
static struct reallib *lib_for_anchor(struct realfamily *f, void *p)
{
	Dl_info info;
	if (!p || shim_is_self(p) || !dladdr(p, &info) || !info.dli_fname)
		return NULL;
	struct reallib *l = lib_by_base(f, info.dli_fbase);
	if (l)
		return l;
	if (atomic_load_explicit(&f->nlibs, memory_order_acquire) >= REALLIB_MAX)
		return NULL;
	/* Kept open: the real functions stay valid even if the program
	 * dlcloses its own handle. */
	void *h = dlopen(info.dli_fname, RTLD_NOLOAD | RTLD_LAZY);
	if (!h)
		return NULL;
	struct reallib tmp;
	memset(&tmp, 0, sizeof tmp);
	tmp.handle = h;
	tmp.base = info.dli_fbase;
	tmp.aux = -1;
	atomic_store_explicit(&tmp.fn[0], p, memory_order_relaxed);
	for (size_t i = 1; i < f->nnames && i < REALLIB_FNS; i++) {
		void *q = shim_real_dlsym(h, f->names[i]);
		if (q && !shim_is_self(q))
			atomic_store_explicit(&tmp.fn[i], q, memory_order_relaxed);
	}
	/* a thread that loses the race below wastes what on_new made (an
	 * OpenSSL ex_data index, whose callback ignores SSLs it never saw) */
	if (f->on_new)
		f->on_new(&tmp);
	int dup = 0;
	pthread_mutex_lock(&family_lock);
	l = lib_by_base(f, tmp.base);
	if (l) {
		dup = 1;
	} else {
		if (!(l = lib_append_locked(f, &tmp)))
			dup = 1;
	}
	pthread_mutex_unlock(&family_lock);
	if (dup)
		dlclose(h);
	return l;
}

static void *lookup_in(const char *path, const char *name)
{
	void *h = dlopen(path, RTLD_NOLOAD | RTLD_LAZY);
	if (!h)
		return NULL;
	void *p = shim_real_dlsym(h, name);
	dlclose(h);
	return p;
}

struct find_ctx {
	const char *soname;
	char path[512];
};

static int find_by_name(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct find_ctx *fc = arg;
	(void)size;
	if (!info->dlpi_name || !*info->dlpi_name)
		return 0;
	const char *base = strrchr(info->dlpi_name, '/');
	base = base ? base + 1 : info->dlpi_name;
	if (strncmp(base, fc->soname, strlen(fc->soname)) != 0)
		return 0;
	size_t n = strlen(info->dlpi_name);
	if (n >= sizeof fc->path)
		return 0;
	memcpy(fc->path, info->dlpi_name, n + 1);
	return 1;
}

static struct reallib *resolve_slow(struct realfamily *f, const void *ret)
{
	const char *anchor = f->names[0];
	struct reallib *l = NULL;
	Dl_info info;
	struct link_map *lm = NULL;

	/* 1. the library the calling object links (its own scope) */
	if (ret && dladdr1(ret, &info, (void **)&lm, RTLD_DL_LINKMAP) && lm && lm->l_name &&
	    lm->l_name[0] && !shim_is_self(ret))
		l = lib_for_anchor(f, lookup_in(lm->l_name, anchor));
	/* 2. the next definition after us in the global scope */
	if (!l)
		l = lib_for_anchor(f, shim_real_dlsym(RTLD_NEXT, anchor));
	/* 3. the one a dlsym() we interposed handed out (dlopen'ed, local) */
	if (!l)
		l = atomic_load_explicit(&f->last, memory_order_acquire);
	/* 4. any loaded copy, by name */
	if (!l) {
		struct find_ctx fc = { .soname = f->soname };
		if (dl_iterate_phdr(find_by_name, &fc))
			l = lib_for_anchor(f, lookup_in(fc.path, anchor));
	}
	return l;
}

static size_t site_hash(const void *p)
{
	/* 64-bit arithmetic on every word size (a 32-bit uintptr_t would
	 * lose the high half of the multiply) */
	uint64_t k = (uint64_t)(uintptr_t)p;
	k ^= k >> 29;
	k *= 0xbf58476d1ce4e5b9ull;
	k ^= k >> 32;
	return (size_t)(k & (REALLIB_SITES - 1));
}

struct reallib *realfamily_for_caller(struct realfamily *f, const void *ret)
{
	size_t h = site_hash(ret);
	for (size_t i = 0; i < 8; i++) {
		size_t j = (h + i) & (REALLIB_SITES - 1);
		const void *k = atomic_load_explicit(&f->site_key[j], memory_order_acquire);
		if (k == ret)
			return atomic_load_explicit(&f->site_lib[j], memory_order_relaxed);
		if (!k)
			break;
	}
	/* the loader's work without the lock (lib_for_anchor) */
	struct reallib *l = resolve_slow(f, ret);
	if (l) {
		pthread_mutex_lock(&family_lock);
		for (size_t i = 0; i < 8; i++) {
			size_t j = (h + i) & (REALLIB_SITES - 1);
			const void *k = atomic_load_explicit(&f->site_key[j], memory_order_relaxed);
			if (k == ret)
				break;
			if (!k) {
				atomic_store_explicit(&f->site_lib[j], l, memory_order_relaxed);
				atomic_store_explicit(&f->site_key[j], ret, memory_order_release);
				break;
			}
		}
		pthread_mutex_unlock(&family_lock);
	}
	return l;
}

struct reallib *realfamily_for_handle(struct realfamily *f, void *handle)
{
	struct reallib *l = lib_for_anchor(f, shim_real_dlsym(handle, f->names[0]));
	if (l)
		atomic_store_explicit(&f->last, l, memory_order_release);
	return l;
}

void *realfamily_idle_fn(struct realfamily *f, const void *ret, size_t i)
{
	if (i >= f->nnames || i >= REALLIB_FNS)
		return NULL;
	void *p = atomic_load_explicit(&f->next[i], memory_order_acquire);
	if (p)
		return p;
	p = shim_real_dlsym(RTLD_NEXT, f->names[i]);
	if (p && !shim_is_self(p)) {
		atomic_store_explicit(&f->next[i], p, memory_order_release);
		return p;
	}
	/* only in a local scope (a library dlopen'ed with its own libssl,
	 * like Python's _ssl): the first loaded object of the family's name
	 * defining it, read from its symbol table (no dlopen/dlclose, which
	 * glibc makes leak a little per thread) */
	p = dl_in_file(f->soname, true, f->names[i]);
	if (p) {
		atomic_store_explicit(&f->next[i], p, memory_order_release);
		return p;
	}
	(void)ret;
	return NULL;
}

void *reallib_fn(struct realfamily *f, struct reallib *l, size_t i)
{
	if (!l || i >= f->nnames || i >= REALLIB_FNS)
		return NULL;
	void *p = atomic_load_explicit(&l->fn[i], memory_order_acquire);
	if (!p && l->handle) {
		p = shim_real_dlsym(l->handle, f->names[i]);
		if (p && !shim_is_self(p))
			atomic_store_explicit(&l->fn[i], p, memory_order_release);
		else
			p = NULL;
	}
	return p;
}

void *reallib_call_fn(struct realfamily *f, struct reallib *l, size_t i)
{
	void *p = reallib_fn(f, l, i);
	if (p || i >= f->nnames)
		return p;
	p = shim_real_dlsym(RTLD_NEXT, f->names[i]);
	return p && !shim_is_self(p) ? p : NULL;
}

struct reallib *realfamily_add(struct realfamily *f, const void *fbase, void *handle, void *const *fns)
{
	struct reallib tmp, *l;
	int fresh = 0;
	pthread_mutex_lock(&family_lock);
	l = lib_by_base(f, fbase);
	if (!l) {
		int n = atomic_load_explicit(&f->nlibs, memory_order_relaxed);
		if (n >= REALLIB_MAX) {
			pthread_mutex_unlock(&family_lock);
			return NULL;
		}
		fresh = 1;
	}
	pthread_mutex_unlock(&family_lock);
	if (fresh) {
		/* on_new calls the library (an ex_data index): outside the lock */
		memset(&tmp, 0, sizeof tmp);
		tmp.base = (void *)fbase;
		tmp.handle = handle;
		tmp.aux = -1;
		for (size_t i = 0; i < f->nnames && i < REALLIB_FNS; i++)
			atomic_store_explicit(&tmp.fn[i], fns[i], memory_order_relaxed);
		if (f->on_new)
			f->on_new(&tmp);
	}
	pthread_mutex_lock(&family_lock);
	l = lib_by_base(f, fbase);
	if (!l && fresh) {
		l = lib_append_locked(f, &tmp);
	} else if (l) {
		for (size_t i = 0; i < f->nnames && i < REALLIB_FNS; i++)
			if (fns[i])
				atomic_store_explicit(&l->fn[i], fns[i], memory_order_release);
	}
	pthread_mutex_unlock(&family_lock);
	return l;
}
