/* Finding the TLS write functions wherever their code is, and patching
 * their entries (shim/inline.h): every loaded object, the main executable
 * included, by symbol in .dynsym, or in .symtab read from the file on disk
 * for the objects that may hold a static copy (below). Objects loaded later
 * are patched by our dlopen before it returns (hook_dlopen.c), and by our
 * dlsym (a library dlopen'ed by a caller whose search path we must not
 * change, see hook_dlopen.c, is looked into with dlsym before use).
 *
 * Start-up cost: a .dynsym look-up is a GNU-hash bloom test for most names
 * (a few dozen instructions per name and object). .symtab is read from disk
 * only for the main executable when it does not link a shared TLS library,
 * and for objects whose file name says TLS (libssl, libmbedtls, ...) but
 * whose .dynsym lacks the targets; a stripped file costs an open, two preads
 * and a close. Nothing is patched, and capstone is never loaded, in a
 * process without targets.
 *
 * Safety: patching happens only at load (the constructor, before main) and
 * in dlopen for objects that dlopen just mapped, before any caller has their
 * handle. The remaining risk: a thread that the object's own constructor
 * started, running the target's first bytes while they are replaced. */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

static pthread_mutex_t lock TK_LOAD_BSS = PTHREAD_MUTEX_INITIALIZER;
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
	memset(sf, 0, sizeof *sf);
	sf->fd = -1;
}

/* 0 with the file's .symtab mapped; -1 when it has none (stripped) or is
 * not the ELF of this process's kind. */
TK_COLD static int symfile_open(struct symfile *sf, const char *path)
{
	memset(sf, 0, sizeof *sf);
	sf->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (sf->fd < 0)
		return -1;
	ElfW(Ehdr) eh;
	struct stat st;
	if (fstat(sf->fd, &st) != 0 || !S_ISREG(st.st_mode) || pread(sf->fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
	    eh.e_shentsize != sizeof(ElfW(Shdr)) || eh.e_shnum == 0 || eh.e_shnum > 4096 ||
	    eh.e_phentsize != sizeof(ElfW(Phdr)))
		goto fail;
	size_t shsz = (size_t)eh.e_shnum * sizeof(ElfW(Shdr));
	ElfW(Shdr) *sh = malloc(shsz);
	if (!sh)
		goto fail;
	if (pread(sf->fd, sh, shsz, (off_t)eh.e_shoff) != (ssize_t)shsz) {
		free(sh);
		goto fail;
	}
	int found = -1;
	for (size_t i = 0; i < eh.e_shnum; i++)
		if (sh[i].sh_type == SHT_SYMTAB && sh[i].sh_link < eh.e_shnum && sh[i].sh_entsize == sizeof(ElfW(Sym))) {
			found = (int)i;
			break;
		}
	if (found < 0) {
		free(sh);
		goto fail;
	}
	ElfW(Shdr) s = sh[found], t = sh[s.sh_link];
	free(sh);
	if ((uint64_t)s.sh_offset + s.sh_size > (uint64_t)st.st_size || (uint64_t)t.sh_offset + t.sh_size > (uint64_t)st.st_size)
		goto fail;
	sf->nph = eh.e_phnum < 16 ? eh.e_phnum : 16;
	if (pread(sf->fd, sf->ph, sf->nph * sizeof(ElfW(Phdr)), (off_t)eh.e_phoff) != (ssize_t)(sf->nph * sizeof(ElfW(Phdr))))
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
			if (off < 0 || pread(sf->fd, disk, sizeof disk, off) != (ssize_t)sizeof disk ||
			    memcmp(disk, (const void *)(bias + s->st_value), sizeof disk) != 0)
				continue;
			addr[j] = (void *)(bias + s->st_value);
			size[j] = (size_t)s->st_size;
		}
	}
}

/* ---- one object ---------------------------------------------------------------- */
TK_COLD static int name_says_tls(const char *path)
{
	static const char *const words[] = { "libssl", "libboringssl", "libgnutls", "libmbedtls", "libwolfssl" };
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	/* most objects' names fail at their fourth byte (libc.so.6, libm...) */
	if (strncmp(b, "lib", 3) != 0 || !strchr("sbgmw", b[3]) || !b[3])
		return 0;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strncmp(b, words[i], strlen(words[i])) == 0)
			return 1;
	return 0;
}

static uintptr_t dyn_ptr(uintptr_t base, ElfW(Addr) v)
{
	return v < base ? base + v : v;
}

/* The main executable links a shared TLS library (then its static copy, if
 * any, is not worth a read of .symtab). */
static int links_tls(uintptr_t base, const ElfW(Dyn) *dyn)
{
	const char *strtab = NULL;
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_STRTAB)
			strtab = (const char *)dyn_ptr(base, d->d_un.d_ptr);
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

TK_COLD static void wanted_fill(struct wanted *w)
{
	memset(w, 0, sizeof *w);
	for (size_t i = 0; i < NTABLES; i++)
		for (const struct inline_target *const *t = tables[i]; *t && w->nt < TARGETS_MAX; t++) {
			w->t[w->nt] = *t;
			w->name[w->nt++] = (*t)->symbol;
		}
	w->n = w->nt;
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

/* The names, made once (under the lock), and the scans' addresses. */
static struct wanted names_tmpl TK_LOAD_BSS;
static int names_ready TK_LOAD_BSS; /* 0 not made, 1 the targets' hashes known, 2 all hashes */

TK_COLD static void scan_object(struct dl_phdr_info *info, int is_main)
{
	const ElfW(Dyn) *dyn = NULL;
	for (size_t i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	const char *path = is_main ? "/proc/self/exe" : info->dlpi_name;
	/* the targets' hashes at the first object, the families' others at the
	 * first object that defines a target (most processes have none) */
	if (!names_ready) {
		wanted_fill(&names_tmpl);
		for (size_t i = 0; i < names_tmpl.nt; i++)
			names_tmpl.hash[i] = shim_elf_gnu_hash(names_tmpl.name[i]);
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
		if (dyn && !w->t[i]->find && (w->addr[i] = shim_elf_find(&e, w->name[i], w->hash[i], &w->size[i])))
			hits++;
	}
	if (hits) {
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
		int want_symtab = is_main ? !(dyn && links_tls(info->dlpi_addr, dyn)) : name_says_tls(path);
		struct symfile sf;
		if (!want_symtab || !path || !*path || symfile_open(&sf, path) != 0)
			return;
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
	if (!first && (!*nm || strncmp(base, "linux-vdso", 10) == 0 || strncmp(base, "ld-linux", 8) == 0))
		return 0;
	scan_object(info, first);
	return 0;
}

/* dl_iterate_phdr's counters say whether anything was loaded or unloaded
 * since the last scan (one call, no callback work, when nothing changed). */
TK_COLD static int count_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	int *changed = arg;
	if (size < offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
		*changed = 1;
		return 1;
	}
	*changed = !seen.counted || info->dlpi_adds != seen.adds || info->dlpi_subs != seen.subs;
	if (seen.counted && info->dlpi_subs != seen.subs)
		seen.n = 0; /* an unload: a new object may reuse an old address */
	return 1;
}

TK_COLD static void scan(void)
{
	int changed = 1;
	dl_iterate_phdr(count_cb, &changed);
	if (!changed)
		return;
	struct scan_ctx sc = { .first = 1 };
	dl_iterate_phdr(scan_cb, &sc);
}

static void after_fork_child(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	memcpy(&lock, &fresh, sizeof fresh);
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
	pthread_mutex_lock(&lock);
	scan();
	pthread_mutex_unlock(&lock);
}

void shim_targets_rescan(void)
{
	if (!shim_inline_on)
		return;
	/* A scan takes the loader's lock underneath (dl_iterate_phdr, a
	 * dlopen RTLD_NOLOAD, the engine's first dlopen of capstone); a thread
	 * inside dlopen holds it while a constructor may reach our dlopen or
	 * dlsym. So a rescan never waits for another: a busy lock means a scan
	 * is under way, and what it misses the next dlopen or dlsym finds. */
	if (pthread_mutex_trylock(&lock) != 0)
		return;
	scan();
	pthread_mutex_unlock(&lock);
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
