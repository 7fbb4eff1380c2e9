/* Finding the TLS write functions wherever their code is, and patching
 * their entries (shim/inline.h): every loaded object, the main executable
 * included, by symbol in .dynsym, or in .symtab read from the file on disk
 * for the objects that may hold a static copy (below). Objects loaded later
 * are patched by our dlopen before it returns (hook_dlopen.c), and by our
 * dlsym (a library dlopen'ed by a caller whose search path we must not
 * change, see hook_dlopen.c, is looked into with dlsym before use).
 *
 * Start-up cost: a .dynsym look-up is a GNU-hash bloom test for most names
 * (a dozen instructions per name and object, the names hashed at compile
 * time). .symtab is read from disk only for the main executable when it
 * does not link a shared TLS library, and for objects whose file name says
 * TLS (libssl, libmbedtls, ...) but whose .dynsym lacks the targets; a
 * stripped file costs an open, an fstat, two preads and a close, into a
 * buffer on the stack. Nothing is patched, and capstone is never loaded, in
 * a process without targets. Each libc function the load calls for the
 * first time costs ld.so's lazy binding, several hundred instructions, more
 * than the finder's own work: the finder calls only what the rest of the
 * load calls anyway, and one more, syscall() for the file reads on 64-bit
 * targets (open and pread on 32-bit ones).
 *
 * Safety: patching happens only at load (the constructor, before main) and
 * in dlopen for objects that dlopen just mapped, before any caller has their
 * handle. The remaining risk: a thread that the object's own constructor
 * started, running the target's first bytes while they are replaced. */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/inline.h"
#include "shim/shim.h"
#include "decode/cold.h"

int shim_inline_on = 1;

static const struct inline_target *const *const tables[] = {
	shim_openssl_inline,
	shim_gnutls_inline,
	shim_mbedtls_inline,
	shim_wolfssl_inline,
};
#define NTABLES (sizeof tables / sizeof tables[0])

static struct realfamily *const families[] = {
	&shim_openssl_family,
	&shim_gnutls_family,
	&shim_mbedtls_family,
	&shim_wolfssl_family,
};

#define TARGETS_MAX 32
#define OBJS_SEEN 1024
#define REFUSED_MAX 64

/* Entries the engine refused: not tried (nor reported) again on a rescan. */
static struct {
	const void *entry[REFUSED_MAX];
	size_t n;
} refused;

static int was_refused(const void *p)
{
	for (size_t i = 0; i < refused.n; i++)
		if (refused.entry[i] == p)
			return 1;
	return 0;
}

/* Non-zero while a scan runs: one scan at a time, and a scan never waits
 * for another (shim_targets_rescan says why); an atomic flag, not a mutex,
 * as the load calls no pthread_mutex_lock of its own otherwise. */
static atomic_int scanning TK_LOAD_BSS;

TK_COLD static int scan_begin(void)
{
	return atomic_exchange_explicit(&scanning, 1, memory_order_acquire) == 0;
}

TK_COLD static void scan_end(void)
{
	atomic_store_explicit(&scanning, 0, memory_order_release);
}
/* each object's base and dynamic section side by side, the count first:
 * the few objects of a small process touch one page of .bss */
static struct {
	size_t n;
	unsigned long long adds, subs;
	int counted;
	struct {
		uintptr_t base;
		const void *dyn;
	} o[OBJS_SEEN];
} seen TK_LOAD_BSS_TAIL;

/* ---- .symtab from the file on disk --------------------------------------- */
struct symfile {
	int fd;
	const ElfW(Sym) *sym;
	size_t nsym;
	const char *str;
	size_t strsz;
	void *map_sym, *map_str;
	size_t len_sym, len_str;
	ElfW(Phdr) ph[16];
	size_t nph;
};

TK_COLD static void *map_range(int fd, off_t off, size_t len, void **base, size_t *maplen)
{
	long page = sysconf(_SC_PAGESIZE);
	off_t a = off & ~(off_t)(page - 1);
	*maplen = len + (size_t)(off - a);
	*base = mmap(NULL, *maplen, PROT_READ, MAP_PRIVATE, fd, a);
	if (*base == MAP_FAILED) {
		*base = NULL;
		return NULL;
	}
	return (char *)*base + (off - a);
}

/* The file's system calls. On 64-bit targets open and pread go through
 * syscall(), one libc function bound for both; on 32-bit ones the pread
 * system call splits the offset in each ABI's own way, so libc's pread. */
TK_COLD static int file_open(const char *path)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
}

TK_COLD static ssize_t file_pread(int fd, void *buf, size_t n, off_t off)
{
#if UINTPTR_MAX > 0xffffffffu
	return syscall(SYS_pread64, fd, buf, n, off);
#else
	return pread(fd, buf, n, off);
#endif
}

TK_COLD static void symfile_init(struct symfile *sf)
{
	sf->fd = -1;
	sf->sym = NULL;
	sf->str = NULL;
	sf->nsym = sf->strsz = sf->nph = 0;
	sf->map_sym = sf->map_str = NULL;
	sf->len_sym = sf->len_str = 0;
}

TK_COLD static void symfile_close(struct symfile *sf)
{
	if (sf->map_sym)
		munmap(sf->map_sym, sf->len_sym);
	if (sf->map_str)
		munmap(sf->map_str, sf->len_str);
	if (sf->fd >= 0) {
		/* libc's close, not our hook's (our own descriptor) */
		int (*real_close)(int) = (int (*)(int))SHIM_LIBC(close);
		real_close(sf->fd);
	}
	symfile_init(sf);
}

/* Section headers read at a time (on the stack). */
#define SHDR_CHUNK 32

/* 0 with the file's .symtab mapped; -1 when it has none (stripped) or is
 * not the ELF of this process's kind. */
TK_COLD static int symfile_open(struct symfile *sf, const char *path)
{
	symfile_init(sf);
	sf->fd = file_open(path);
	if (sf->fd < 0)
		return -1;
	ElfW(Ehdr) eh;
	struct stat st;
	if (fstat(sf->fd, &st) != 0 || !S_ISREG(st.st_mode) || file_pread(sf->fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
	    eh.e_shentsize != sizeof(ElfW(Shdr)) || eh.e_shnum == 0 || eh.e_shnum > 4096 ||
	    eh.e_phentsize != sizeof(ElfW(Phdr)))
		goto fail;
	/* the first SHT_SYMTAB, as many headers at a time as the buffer holds */
	ElfW(Shdr) sh[SHDR_CHUNK], s = { 0 }, t;
	size_t found = eh.e_shnum;
	for (size_t at = 0; at < eh.e_shnum && found == eh.e_shnum; at += SHDR_CHUNK) {
		size_t k = eh.e_shnum - at < SHDR_CHUNK ? eh.e_shnum - at : SHDR_CHUNK;
		if (file_pread(sf->fd, sh, k * sizeof sh[0], (off_t)(eh.e_shoff + at * sizeof sh[0])) !=
		    (ssize_t)(k * sizeof sh[0]))
			goto fail;
		for (size_t i = 0; i < k; i++)
			if (sh[i].sh_type == SHT_SYMTAB && sh[i].sh_link < eh.e_shnum &&
			    sh[i].sh_entsize == sizeof(ElfW(Sym))) {
				found = at + i;
				s = sh[i];
				break;
			}
	}
	if (found == eh.e_shnum)
		goto fail;
	if (file_pread(sf->fd, &t, sizeof t, (off_t)(eh.e_shoff + (size_t)s.sh_link * sizeof t)) != (ssize_t)sizeof t)
		goto fail;
	if ((uint64_t)s.sh_offset + s.sh_size > (uint64_t)st.st_size || (uint64_t)t.sh_offset + t.sh_size > (uint64_t)st.st_size)
		goto fail;
	sf->nph = eh.e_phnum < 16 ? eh.e_phnum : 16;
	if (file_pread(sf->fd, sf->ph, sf->nph * sizeof(ElfW(Phdr)), (off_t)eh.e_phoff) !=
	    (ssize_t)(sf->nph * sizeof(ElfW(Phdr))))
		goto fail;
	sf->sym = map_range(sf->fd, (off_t)s.sh_offset, s.sh_size, &sf->map_sym, &sf->len_sym);
	sf->str = map_range(sf->fd, (off_t)t.sh_offset, t.sh_size, &sf->map_str, &sf->len_str);
	if (!sf->sym || !sf->str)
		goto fail;
	sf->nsym = s.sh_size / sizeof(ElfW(Sym));
	sf->strsz = t.sh_size;
	return 0;
fail:
	symfile_close(sf);
	return -1;
}

/* The file offset of virtual address v (from the file's PT_LOADs), -1 none. */
static off_t symfile_offset(const struct symfile *sf, uintptr_t v)
{
	for (size_t i = 0; i < sf->nph; i++) {
		const ElfW(Phdr) *p = &sf->ph[i];
		if (p->p_type == PT_LOAD && v >= p->p_vaddr && v + 16 <= p->p_vaddr + p->p_filesz)
			return (off_t)(p->p_offset + (v - p->p_vaddr));
	}
	return -1;
}

/* Fills addr[i] (still NULL) for names[i] defined as functions in sf, at
 * bias; a symbol whose first bytes in memory differ from the file's (the
 * file on disk is not what is mapped) is not taken. */
static void symfile_lookup(struct symfile *sf, uintptr_t bias, const char *const *names, size_t n, void **addr,
			   size_t *size)
{
	for (size_t i = 0; i < sf->nsym; i++) {
		const ElfW(Sym) *s = &sf->sym[i];
		if ((s->st_info & 0xf) != STT_FUNC || s->st_shndx == SHN_UNDEF || !s->st_value || s->st_name >= sf->strsz)
			continue;
		const char *nm = sf->str + s->st_name;
		for (size_t j = 0; j < n; j++) {
			if (addr[j] || nm[0] != names[j][0] || strcmp(nm, names[j]) != 0)
				continue;
			unsigned char disk[16];
			off_t off = symfile_offset(sf, (uintptr_t)s->st_value);
			if (off < 0 || file_pread(sf->fd, disk, sizeof disk, off) != (ssize_t)sizeof disk ||
			    memcmp(disk, (const void *)(bias + s->st_value), sizeof disk) != 0)
				continue;
			addr[j] = (void *)(bias + s->st_value);
			size[j] = (size_t)s->st_size;
		}
	}
}

/* ---- one object ---------------------------------------------------------------- */
/* s begins with p (a loop, not strncmp: no libc function the load would
 * call for this alone) */
TK_COLD static int starts_with(const char *s, const char *p)
{
	for (; *p; s++, p++)
		if (*s != *p)
			return 0;
	return 1;
}

TK_COLD static int name_says_tls(const char *path)
{
	static const char *const words[] = { "ssl", "boringssl", "gnutls", "mbedtls", "wolfssl" };
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	/* "lib" then one of the words: most names fail at their fourth byte */
	if (!starts_with(b, "lib"))
		return 0;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (starts_with(b + 3, words[i]))
			return 1;
	return 0;
}

/* The main executable links a shared TLS library (then its static copy, if
 * any, is not worth a read of .symtab); strtab: its dynamic string table. */
TK_COLD static int links_tls(const ElfW(Dyn) *dyn, const char *strtab)
{
	if (!strtab)
		return 0;
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_NEEDED && name_says_tls(strtab + d->d_un.d_val))
			return 1;
	return 0;
}

/* All names a scan looks for: targets first, then the families' names (a
 * name may stand twice, a target's and a family's: each is looked up, and
 * wanted_addr takes the first found; no compare of every pair at load). */
struct wanted {
	const char *name[TARGETS_MAX + 64];
	void *addr[TARGETS_MAX + 64];
	size_t size[TARGETS_MAX + 64]; /* from .symtab; 0 unknown */
	uint32_t hash[TARGETS_MAX + 64]; /* GNU hash of each name */
	const struct inline_target *t[TARGETS_MAX];
	size_t nt, n;
};

/* The targets' names and hashes; w: zero (in .bss), filled once. */
TK_COLD static void wanted_fill(struct wanted *w)
{
	for (size_t i = 0; i < NTABLES; i++)
		for (const struct inline_target *const *t = tables[i]; *t && w->nt < TARGETS_MAX; t++) {
			w->t[w->nt] = *t;
			w->hash[w->nt] = (*t)->hash;
			w->name[w->nt++] = (*t)->symbol;
		}
	w->n = w->nt;
}

/* The families' names after the targets', once: needed only where a target
 * was found or a .symtab is read. */
TK_COLD static void wanted_families(struct wanted *w)
{
	if (w->n != w->nt)
		return;
	for (size_t i = 0; i < NTABLES; i++)
		for (size_t j = 0; j < families[i]->nnames && w->n < sizeof w->name / sizeof w->name[0]; j++)
			w->name[w->n++] = families[i]->names[j];
}

static void *wanted_addr(const struct wanted *w, const char *name)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->name[i], name) == 0 && w->addr[i])
			return w->addr[i];
	return NULL;
}

/* Where the object's first segment is mapped (what dladdr says in
 * dli_fbase, without its linear search of the symbol table: Node's has
 * 75000 symbols). */
static const void *obj_fbase(const struct dl_phdr_info *pi)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), lo = UINTPTR_MAX;
	for (size_t i = 0; i < pi->dlpi_phnum; i++)
		if (pi->dlpi_phdr[i].p_type == PT_LOAD && pi->dlpi_phdr[i].p_vaddr < lo)
			lo = pi->dlpi_phdr[i].p_vaddr;
	return lo == UINTPTR_MAX ? NULL : (const void *)(pi->dlpi_addr + (lo & ~(page - 1)));
}

static int obj_holds(const struct dl_phdr_info *pi, const void *p)
{
	uintptr_t a = (uintptr_t)p;
	for (size_t i = 0; i < pi->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &pi->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && a >= pi->dlpi_addr + ph->p_vaddr &&
		    a < pi->dlpi_addr + ph->p_vaddr + ph->p_memsz)
			return 1;
	}
	return 0;
}

static void patch_family(struct realfamily *f, struct wanted *w, const char *path, const struct dl_phdr_info *pi,
			 int is_main)
{
	void *fns[REALLIB_FNS] = { 0 };
	void *any = NULL;
	for (size_t i = 0; i < f->nnames && i < REALLIB_FNS; i++)
		fns[i] = wanted_addr(w, f->names[i]);
	for (size_t i = 0; i < w->nt; i++)
		if (w->t[i]->family == f && w->addr[i] && !w->t[i]->find)
			any = w->addr[i];
	if (!any)
		return;
	const void *fbase = obj_fbase(pi);
	if (!fbase)
		return;
	/* a shared library: what it does not define itself (libssl's
	 * CRYPTO_get_ex_new_index, in libcrypto) is found in its own scope */
	void *h = NULL;
	if (!is_main && pi->dlpi_name && pi->dlpi_name[0] && (h = dlopen(pi->dlpi_name, RTLD_NOLOAD | RTLD_LAZY)))
		for (size_t i = 0; i < f->nnames && i < REALLIB_FNS; i++)
			if (!fns[i]) {
				void *q = shim_real_dlsym(h, f->names[i]);
				if (q && !shim_is_self(q))
					fns[i] = q;
			}
	/* the targets found through the library's own functions */
	for (size_t i = 0; i < w->nt; i++)
		if (w->t[i]->family == f && w->t[i]->find && !w->addr[i]) {
			void *p = w->t[i]->find(fns);
			/* only code of this very object */
			if (p && obj_holds(pi, p))
				w->addr[i] = p;
		}
	struct reallib *l = realfamily_add(f, fbase, h, fns);
	if (l && l->handle != h && h)
		dlclose(h); /* known already, with its own handle */
	if (!l) {
		if (h)
			dlclose(h);
		shim_info("%s in '%s': stepped aside: more than %d copies of the library", f->names[0], path, REALLIB_MAX);
		return;
	}
	for (size_t i = 0; i < w->nt; i++) {
		const struct inline_target *t = w->t[i];
		if (t->family != f || !w->addr[i] || was_refused(w->addr[i]))
			continue;
		struct inline_site *st = NULL;
		int k;
		for (k = 0; k < INLINE_COPIES; k++) {
			if (t->site[k].entry == w->addr[i])
				break; /* patched already */
			if (!t->site[k].entry) {
				st = &t->site[k];
				break;
			}
		}
		if (k == INLINE_COPIES) {
			shim_info("%s in '%s': stepped aside: more than %d copies", t->symbol, path, INLINE_COPIES);
			continue;
		}
		if (!st)
			continue;
		char why[128] = "";
		st->lib = l;
		st->entry = w->addr[i];
		if (inline_hook_sized(w->addr[i], w->size[i], t->hook[k], (void **)&st->orig, why, sizeof why) != 0) {
			st->lib = NULL;
			st->entry = NULL;
			atomic_store(&st->orig, NULL);
			if (refused.n < REFUSED_MAX)
				refused.entry[refused.n++] = w->addr[i];
			shim_info("%s in '%s': stepped aside: %s", t->symbol, path, why[0] ? why : "cannot patch its entry");
			continue;
		}
		/* calls through the symbol (our PLT hooks) go to the trampoline */
		if (t->fn >= 0) {
			void *tr[REALLIB_FNS] = { 0 };
			tr[t->fn] = atomic_load(&st->orig);
			realfamily_add(f, fbase, NULL, tr);
		}
	}
}

/* The names, made once (under the scan flag), and the scans' addresses. */
static struct wanted names_tmpl TK_LOAD_BSS;
/* 0 not made, 1 the targets' names and hashes, 2 all names, hashed */
static int names_ready TK_LOAD_BSS;

/* dyn: the object's dynamic section (NULL: none) */
TK_COLD static void scan_object(struct dl_phdr_info *info, const ElfW(Dyn) *dyn, int is_main)
{
	const char *path = is_main ? "/proc/self/exe" : info->dlpi_name;
	/* the targets' names and hashes (compile-time constants) at the first
	 * object, the families' names at the first object that defines a
	 * target (most processes have none) or has a .symtab, hashed at the
	 * first that defines a target */
	if (!names_ready) {
		wanted_fill(&names_tmpl);
		names_ready = 1;
	}
	struct wanted *w = &names_tmpl;
	size_t hits = 0;
	struct shim_elf e;
	shim_elf_open(&e, info->dlpi_addr, dyn);
	/* the targets first: most objects define none (a bloom-filter miss each) */
	for (size_t i = 0; i < w->nt; i++) {
		w->addr[i] = NULL;
		w->size[i] = 0;
		if (dyn && !w->t[i]->find && shim_elf_may_define(&e, w->hash[i]) &&
		    (w->addr[i] = shim_elf_find(&e, w->name[i], w->hash[i], &w->size[i])))
			hits++;
	}
	if (hits) {
		wanted_families(w);
		if (names_ready == 1) {
			for (size_t i = w->nt; i < w->n; i++)
				w->hash[i] = shim_elf_gnu_hash(w->name[i]);
			names_ready = 2;
		}
		for (size_t i = w->nt; i < w->n; i++) {
			w->addr[i] = shim_elf_find(&e, w->name[i], w->hash[i], NULL);
			w->size[i] = 0;
		}
	} else {
		int want_symtab = is_main ? !(dyn && links_tls(dyn, e.strtab)) : name_says_tls(path);
		struct symfile sf;
		if (!want_symtab || !path || !*path || symfile_open(&sf, path) != 0)
			return;
		wanted_families(w);
		memset(w->addr, 0, w->n * sizeof w->addr[0]);
		memset(w->size, 0, w->n * sizeof w->size[0]);
		symfile_lookup(&sf, info->dlpi_addr, w->name, w->n, w->addr, w->size);
		symfile_close(&sf);
		for (size_t i = 0; i < w->nt; i++)
			hits += w->addr[i] != NULL;
		if (!hits)
			return;
	}
	const char *shown = is_main ? "the executable" : path;
	for (size_t i = 0; i < NTABLES; i++)
		patch_family(families[i], w, shown, info, is_main);
}

static int was_seen(uintptr_t base, const void *dyn)
{
	for (size_t i = 0; i < seen.n; i++)
		if (seen.o[i].base == base && seen.o[i].dyn == dyn)
			return 1;
	return 0;
}

struct scan_ctx {
	int first;
};

TK_COLD static int scan_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct scan_ctx *sc = arg;
	int first = sc->first;
	sc->first = 0;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
		seen.adds = info->dlpi_adds;
		seen.subs = info->dlpi_subs;
		seen.counted = 1;
	}
	const void *dyn = NULL;
	for (size_t i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	if (was_seen(info->dlpi_addr, dyn))
		return 0;
	if (seen.n < OBJS_SEEN) {
		seen.o[seen.n].base = info->dlpi_addr;
		seen.o[seen.n].dyn = dyn;
		seen.n++;
	}
	/* ourselves (our program headers lie in our first segment) */
	if (shim_is_self(info->dlpi_phdr))
		return 0;
	/* the vDSO and ld.so define no TLS function */
	const char *nm = info->dlpi_name ? info->dlpi_name : "";
	const char *base = strrchr(nm, '/');
	base = base ? base + 1 : nm;
	if (!first && (!*nm || starts_with(base, "linux-vdso") || starts_with(base, "ld-linux")))
		return 0;
	scan_object(info, dyn, first);
	return 0;
}

/* dl_iterate_phdr's counters say whether anything was loaded or unloaded
 * since the last scan (one call, no callback work, when nothing changed).
 * Called once a scan has counted. */
TK_COLD static int count_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	int *changed = arg;
	if (size < offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
		*changed = 1;
		return 1;
	}
	*changed = info->dlpi_adds != seen.adds || info->dlpi_subs != seen.subs;
	if (info->dlpi_subs != seen.subs)
		seen.n = 0; /* an unload: a new object may reuse an old address */
	return 1;
}

TK_COLD static void scan(void)
{
	int changed = 1;
	/* the first scan needs no count to compare with */
	if (seen.counted)
		dl_iterate_phdr(count_cb, &changed);
	if (!changed)
		return;
	struct scan_ctx sc = { .first = 1 };
	dl_iterate_phdr(scan_cb, &sc);
}

static void after_fork_child(void)
{
	scan_end(); /* a scan another thread of the parent was making */
	inline_after_fork();
}

TK_COLD void shim_targets_init(void)
{
	const char *v = getenv("TOKSHIM_INLINE");
	if (v && *v && strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
		shim_warn("ignoring TOKSHIM_INLINE '%.40s': not 0 or 1", v);
	if (v && strcmp(v, "0") == 0)
		shim_inline_on = 0;
	if (!shim_inline_on)
		return;
	shim_atfork_child(after_fork_child);
	/* another thread's scan (the library was dlopen'ed, not preloaded) sees
	 * what this one would */
	if (!scan_begin())
		return;
	scan();
	scan_end();
}

void shim_targets_rescan(void)
{
	if (!shim_inline_on)
		return;
	/* A scan takes the loader's lock underneath (dl_iterate_phdr, a
	 * dlopen RTLD_NOLOAD, the engine's first dlopen of capstone); a thread
	 * inside dlopen holds it while a constructor may reach our dlopen or
	 * dlsym. So a rescan never waits for another: a busy flag means a scan
	 * is under way, and what it misses the next dlopen or dlsym finds. */
	if (!scan_begin())
		return;
	scan();
	scan_end();
}

int shim_targets_patched(const char *name)
{
	for (size_t i = 0; i < NTABLES; i++)
		for (const struct inline_target *const *t = tables[i]; *t; t++)
			if (strcmp((*t)->symbol, name) == 0)
				for (int k = 0; k < INLINE_COPIES; k++)
					if (atomic_load(&(*t)->site[k].orig))
						return 1;
	return 0;
}
