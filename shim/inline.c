/* Entry patching: the driver (shim/inline.h says what and why). It loads
 * capstone, finds the target's mapping and a page near it, has the
 * architecture back end plan the patch and build the trampoline, then makes
 * the page R-X and writes the entry. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/inline.h"
#include "shim/inline_int.h"
#include "shim/shim.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef PROT_BTI
#define PROT_BTI 0x10
#endif

static pthread_mutex_t ih_lock = PTHREAD_MUTEX_INITIALIZER;

void inline_after_fork(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	memcpy(&ih_lock, &fresh, sizeof fresh);
}

static void say(char *why, size_t n, const char *fmt, va_list ap)
{
	if (why && n) {
		vsnprintf(why, n, fmt, ap);
	}
}

static void set_why(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_why(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say(why, n, fmt, ap);
	va_end(ap);
}

#ifndef IH_SUPPORTED
int inline_hook_sized(void *target, size_t size, void *hook, void **orig, char *why, size_t why_len)
{
	(void)target, (void)size, (void)hook, (void)orig;
	set_why(why, why_len, "entry patching is not supported on this architecture");
	return -1;
}
int inline_hook(void *target, void *hook, void **orig, char *why, size_t why_len)
{
	return inline_hook_sized(target, 0, hook, orig, why, why_len);
}
void *inline_original(const void *target)
{
	(void)target;
	return NULL;
}
int inline_count(void)
{
	return 0;
}
#else

int ih_test_far;

/* ---- capstone -----------------------------------------------------------------
 * Loaded without any lock of ours held: dlopen takes the loader's lock, and a
 * thread holding that one (a constructor calling dlopen, whose objects we
 * patch) may be waiting for ours. Two threads loading at once both open a
 * decoder; the first published wins, the other closes its own. The handle
 * itself is used under ih_lock only (a capstone handle is not for two
 * threads at once). */
static _Atomic(struct ih_cs *) cs_ready;
static atomic_int cs_failed; /* 0 not known, 1 failed (cs_why set), 2 being written */
static char cs_why[160];

static void cs_fail(char *why, size_t n, const char *fmt, const char *detail)
{
	set_why(why, n, fmt, detail);
	int was = 0;
	if (atomic_compare_exchange_strong(&cs_failed, &was, 2)) {
		snprintf(cs_why, sizeof cs_why, fmt, detail);
		atomic_store(&cs_failed, 1);
	}
}

/* The decoder, NULL with why[] set. */
static struct ih_cs *cs_load(char *why, size_t why_len)
{
	struct ih_cs *p = atomic_load_explicit(&cs_ready, memory_order_acquire);
	if (p)
		return p;
	int f = atomic_load(&cs_failed);
	if (f) {
		set_why(why, why_len, "%s", f == 1 ? cs_why : "cannot load 'libcapstone.so.4'");
		return NULL;
	}
	/* libc's dlopen (an interposed dlopen, ours included, is not involved);
	 * the plain one when it cannot be found */
	void *(*op)(const char *, int) = (void *(*)(const char *, int))shim_real_dlsym(RTLD_NEXT, "dlopen");
	if (!op)
		op = dlopen;
	void *h = op("libcapstone.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		cs_fail(why, why_len, "cannot load 'libcapstone.so.4': %s", e ? e : "not found");
		return NULL;
	}
	cs_err (*c_open)(cs_arch, cs_mode, csh *) = (cs_err(*)(cs_arch, cs_mode, csh *))shim_real_dlsym(h, "cs_open");
	cs_err (*c_option)(csh, cs_opt_type, size_t) =
		(cs_err(*)(csh, cs_opt_type, size_t))shim_real_dlsym(h, "cs_option");
	cs_err (*c_close)(csh *) = (cs_err(*)(csh *))shim_real_dlsym(h, "cs_close");
	struct ih_cs mine;
	mine.disasm = (size_t(*)(csh, const uint8_t *, size_t, uint64_t, size_t, cs_insn **))shim_real_dlsym(h, "cs_disasm");
	mine.free = (void (*)(cs_insn *, size_t))shim_real_dlsym(h, "cs_free");
	if (!c_open || !c_option || !c_close || !mine.disasm || !mine.free) {
		cs_fail(why, why_len, "cannot find capstone's functions in '%s'", "libcapstone.so.4");
		return NULL;
	}
	cs_arch arch;
	cs_mode mode;
	ih_arch_cs(&arch, &mode);
	if (c_open(arch, mode, &mine.h) != CS_ERR_OK) {
		cs_fail(why, why_len, "cannot open a capstone decoder for %s", "this architecture");
		return NULL;
	}
	if (c_option(mine.h, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK || !(p = malloc(sizeof *p))) {
		c_close(&mine.h);
		set_why(why, why_len, "cannot set up the capstone decoder");
		return NULL;
	}
	*p = mine;
	/* kept for the life of the process: hooks come at load and with each
	 * dlopen (the library handle stays open too) */
	struct ih_cs *none = NULL;
	if (!atomic_compare_exchange_strong_explicit(&cs_ready, &none, p, memory_order_acq_rel, memory_order_acquire)) {
		c_close(&p->h);
		free(p);
		return none;
	}
	return p;
}

/* ---- /proc/self/maps ------------------------------------------------------------- */
struct ih_map {
	uintptr_t lo, hi;
	int prot;
	int heap, stack; /* [heap], [stack] */
};

static int sys_open(const char *path, int flags)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, 0);
}

static uintptr_t hexval(const char **s)
{
	uintptr_t v = 0;
	for (;; (*s)++) {
		char ch = **s;
		if (ch >= '0' && ch <= '9')
			v = v * 16 + (uintptr_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v = v * 16 + (uintptr_t)(ch - 'a' + 10);
		else
			return v;
	}
}

static int parse_line(const char *s, struct ih_map *m)
{
	memset(m, 0, sizeof *m);
	m->lo = hexval(&s);
	if (*s++ != '-')
		return -1;
	m->hi = hexval(&s);
	if (*s++ != ' ' || strlen(s) < 4)
		return -1;
	m->prot = (s[0] == 'r' ? PROT_READ : 0) | (s[1] == 'w' ? PROT_WRITE : 0) | (s[2] == 'x' ? PROT_EXEC : 0);
	const char *br = strchr(s, '[');
	m->heap = br && strncmp(br, "[heap]", 6) == 0;
	m->stack = br && strncmp(br, "[stack", 6) == 0;
	return m->lo < m->hi ? 0 : -1;
}

/* Calls fn on each mapping in address order until it returns non-zero
 * (that value is returned); -1 when /proc/self/maps cannot be read. */
static int maps_each(int (*fn)(const struct ih_map *, void *), void *arg)
{
	int fd = sys_open("/proc/self/maps", O_RDONLY);
	if (fd < 0)
		return -1;
	char buf[4096];
	size_t have = 0;
	int ret = 0, eof = 0;
	while (!ret) {
		char *nl = memchr(buf, '\n', have);
		if (!nl) {
			if (eof)
				break;
			if (have == sizeof buf) /* a line longer than the buffer: keep its start */
				have = 256;
			ssize_t n = syscall(SYS_read, fd, buf + have, sizeof buf - have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				eof = 1;
				if (have && have < sizeof buf)
					buf[have++] = '\n';
			} else {
				have += (size_t)n;
			}
			continue;
		}
		*nl = '\0';
		struct ih_map m;
		if (parse_line(buf, &m) == 0)
			ret = fn(&m, arg);
		size_t used = (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, have - used);
		have -= used;
	}
	syscall(SYS_close, fd);
	return ret;
}

struct find_map {
	uintptr_t addr;
	struct ih_map m;
};

static int find_cb(const struct ih_map *m, void *arg)
{
	struct find_map *f = arg;
	if (f->addr >= m->lo && f->addr < m->hi) {
		f->m = *m;
		return 1;
	}
	return f->addr < m->lo ? 2 : 0;
}

/* The mapping holding addr: 0, else -1. */
static int map_of(uintptr_t addr, struct ih_map *out)
{
	struct find_map f = { .addr = addr };
	if (maps_each(find_cb, &f) != 1)
		return -1;
	*out = f.m;
	return 0;
}

/* ---- the trampoline page ------------------------------------------------------------- */
/* the closest candidate addresses, sorted by distance to `at` */
#define IH_CANDS 12
struct near_ctx {
	uintptr_t at, reach, len, prev_hi, top;
	int prev_heap;
	uintptr_t cand[IH_CANDS];
	uintptr_t dist[IH_CANDS];
	int n;
};

static void add_cand(struct near_ctx *c, uintptr_t a)
{
	uintptr_t d = a > c->at ? a - c->at : c->at - a;
	if (d > c->reach)
		return;
	int i;
	if (c->n < IH_CANDS)
		i = c->n++;
	else if (d >= c->dist[IH_CANDS - 1])
		return; /* the list holds closer ones */
	else
		i = IH_CANDS - 1;
	for (; i > 0 && c->dist[i - 1] > d; i--) {
		c->cand[i] = c->cand[i - 1];
		c->dist[i] = c->dist[i - 1];
	}
	c->cand[i] = a;
	c->dist[i] = d;
}

/* A free range [lo, hi): its two ends are the candidates closest to any
 * target outside it. The end just above [heap] is left to brk, the end just
 * below [stack] to the stack's growth. */
static void gap(struct near_ctx *c, uintptr_t lo, uintptr_t hi, int after_heap, int before_stack)
{
	if (hi <= lo || hi - lo < c->len)
		return;
	if (!after_heap)
		add_cand(c, lo);
	if (!before_stack)
		add_cand(c, hi - c->len);
}

static int near_cb(const struct ih_map *m, void *arg)
{
	struct near_ctx *c = arg;
	uintptr_t lo = m->lo < c->top ? m->lo : c->top;
	gap(c, c->prev_hi, lo, c->prev_heap, m->stack);
	if (m->hi > c->prev_hi)
		c->prev_hi = m->hi;
	c->prev_heap = m->heap;
	return m->lo >= c->top;
}

static void *map_at(uintptr_t a, size_t len)
{
	void *p = mmap((void *)a, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if ((uintptr_t)p != a) { /* a kernel before 4.17 took it as a hint */
		munmap(p, len);
		return NULL;
	}
	return p;
}

/* A fresh RW page within reach of at, else anywhere (*near = 0). */
static void *page_near(uintptr_t at, size_t len, uintptr_t reach, int *near)
{
	struct near_ctx c;
	if (ih_test_far) {
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		*near = 0;
		return p == MAP_FAILED ? NULL : p;
	}
	memset(&c, 0, sizeof c);
	c.at = at;
	c.reach = reach;
	c.len = len;
	c.prev_hi = 0x10000; /* above vm.mmap_min_addr's usual values */
	c.top = (uintptr_t)1 << 47;
	if (maps_each(near_cb, &c) >= 0 && c.prev_hi < c.top)
		gap(&c, c.prev_hi, c.top, c.prev_heap, 0);
	for (int i = 0; i < c.n; i++) {
		void *p = map_at(c.cand[i], len);
		if (p) {
			*near = 1;
			return p;
		}
	}
	*near = 0;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uintptr_t d = (uintptr_t)p > at ? (uintptr_t)p - at : at - (uintptr_t)p;
	*near = d <= reach;
	return p;
}

/* ---- writing the entry ------------------------------------------------------------------ */
/* The code that runs while a code page is R-W without X: poke() and what
 * is inlined in it, nothing else (raw system calls, no libc, signals
 * blocked by the caller). It sits in its own section so that the driver
 * can tell whether a page to patch holds it. Not instrumented by ASan, and
 * with no addressable locals: GCC 12 still poisons such a local's scope in
 * a no_sanitize_address function and never clears it, which leaves the
 * caller's stack poisoned. */
extern const char __start_tokshim_poke[] __attribute__((visibility("hidden")));
extern const char __stop_tokshim_poke[] __attribute__((visibility("hidden")));

#define POKE __attribute__((noinline, section("tokshim_poke"), no_sanitize_address))

static inline __attribute__((always_inline)) long raw_mprotect(uintptr_t a, size_t len, int prot)
{
#if defined(__x86_64__)
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"((long)SYS_mprotect), "D"(a), "S"(len), "d"((long)prot)
			 : "rcx", "r11", "memory");
	return r;
#else
	register long x8 __asm__("x8") = SYS_mprotect;
	register long x0 __asm__("x0") = (long)a;
	register long x1 __asm__("x1") = (long)len;
	register long x2 __asm__("x2") = prot;
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
	return x0;
#endif
}

/* Writes n patch bytes at `at` (the pages R-W): first what lies past the
 * aligned 8-byte word holding `at`, then that word in one store, so that a
 * thread entering at `at` sees the old or the new first word. On x86-64,
 * bytes crossing into the second word of an aligned 16 go in one
 * lock cmpxchg16b. */
static inline __attribute__((always_inline)) uint64_t with_byte(uint64_t v, size_t k, unsigned char b)
{
	/* byte k of a little-endian word (both architectures here); shifts,
	 * not a byte pointer: poke() must have no addressable locals */
	return (v & ~((uint64_t)0xff << (8 * k))) | ((uint64_t)b << (8 * k));
}

static inline __attribute__((always_inline)) void store_patch(uintptr_t at, const unsigned char *b, size_t n)
{
	uintptr_t w = at & ~(uintptr_t)7;
#if defined(__x86_64__)
	uintptr_t q = at & ~(uintptr_t)15;
	if (at + n > w + 8 && at + n <= q + 16) {
		uint64_t lo = ((volatile uint64_t *)q)[0], hi = ((volatile uint64_t *)q)[1];
		uint64_t nlo = lo, nhi = hi;
		for (size_t i = 0; i < n; i++) {
			size_t o = at + i - q;
			if (o < 8)
				nlo = with_byte(nlo, o, b[i]);
			else
				nhi = with_byte(nhi, o - 8, b[i]);
		}
		unsigned char ok;
		__asm__ volatile("lock cmpxchg16b %1\n\tsete %0"
				 : "=q"(ok), "+m"(*(volatile unsigned __int128 *)q), "+a"(lo), "+d"(hi)
				 : "b"(nlo), "c"(nhi)
				 : "memory", "cc");
		if (ok)
			return;
		/* changed under us (nobody writes code here): fall through */
	}
#endif
	for (size_t i = 0; i < n; i++)
		if (at + i >= w + 8)
			((volatile unsigned char *)at)[i] = b[i];
	uint64_t v = *(volatile uint64_t *)w;
	for (size_t i = 0; i < n && at + i < w + 8; i++)
		v = with_byte(v, at + i - w, b[i]);
	__atomic_store_n((uint64_t *)w, v, __ATOMIC_RELEASE);
}

POKE static int poke(const uintptr_t *pg, const int *prot, int npg, size_t pagesz, uintptr_t at,
		     const unsigned char *b, size_t n)
{
	int i;
	for (i = 0; i < npg; i++)
		if (raw_mprotect(pg[i], pagesz, PROT_READ | PROT_WRITE) != 0)
			break;
	if (i == npg)
		store_patch(at, b, n);
	int done = i == npg;
	/* back to what /proc/self/maps said, the ones changed only */
	while (i-- > 0)
		raw_mprotect(pg[i], pagesz, prot[i]);
	return done ? 0 : -1;
}

/* Through /proc/self/mem: no protection change (the kernel writes a private
 * copy of the page as a debugger's poke would). */
static int write_mem(uintptr_t at, const unsigned char *b, size_t n)
{
	int fd = sys_open("/proc/self/mem", O_RDWR);
	if (fd < 0)
		return -1;
	long r = syscall(SYS_pwrite64, fd, b, n, (off_t)at);
	syscall(SYS_close, fd);
	return r == (long)n ? 0 : -1;
}

static void flush(uintptr_t a, size_t n)
{
#if defined(__aarch64__)
	__builtin___clear_cache((char *)a, (char *)(a + n));
#else
	(void)a, (void)n;
#endif
}

/* BTI guarding of the mapping holding addr (aarch64: "bt" in VmFlags of
 * /proc/self/smaps), to restore with the protection. */
static int prot_extra(uintptr_t addr)
{
#if defined(__aarch64__)
#ifndef HWCAP2_BTI
#define HWCAP2_BTI (1 << 17)
#endif
	if (!(getauxval(AT_HWCAP2) & HWCAP2_BTI))
		return 0; /* no BTI here: no mapping has it */
	int fd = sys_open("/proc/self/smaps", O_RDONLY);
	if (fd < 0)
		return 0;
	char buf[4096];
	size_t have = 0;
	int in = 0, bt = 0, done = 0, eof = 0;
	while (!done) {
		char *nl = memchr(buf, '\n', have);
		if (!nl) {
			if (eof || have == sizeof buf)
				break;
			ssize_t n = syscall(SYS_read, fd, buf + have, sizeof buf - have);
			if (n <= 0)
				eof = 1;
			else
				have += (size_t)n;
			continue;
		}
		*nl = '\0';
		struct ih_map m;
		if (buf[0] != ' ' && strchr(buf, '-') && parse_line(buf, &m) == 0 && strchr(buf, ' ') > strchr(buf, '-')) {
			if (in)
				done = 1;
			in = addr >= m.lo && addr < m.hi;
		} else if (in && strncmp(buf, "VmFlags:", 8) == 0) {
			bt = strstr(buf, " bt") != NULL;
			done = 1;
		}
		size_t used = (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, have - used);
		have -= used;
	}
	syscall(SYS_close, fd);
	return bt ? PROT_BTI : 0;
#else
	(void)addr;
	return 0;
#endif
}

static int overlaps(uintptr_t a, size_t n, uintptr_t lo, uintptr_t hi)
{
	return a < hi && lo < a + n;
}

/* Writes the patch. The pages it spans are read from /proc/self/maps one by
 * one (the two may belong to different mappings). */
static int write_entry(struct ih_ctx *c)
{
	size_t pagesz = (size_t)getpagesize();
	uintptr_t first = c->patch_at & ~(uintptr_t)(pagesz - 1);
	uintptr_t last = (c->patch_at + c->patch_len - 1) & ~(uintptr_t)(pagesz - 1);
	uintptr_t pg[2] = { first, last };
	int prot[2];
	int npg = first == last ? 1 : 2;
	int own = 0;
	for (int i = 0; i < npg; i++) {
		struct ih_map m;
		if (map_of(pg[i], &m) != 0 || !(m.prot & PROT_EXEC))
			return ih_fail(c, "cannot read the protection of the page at %#lx", (unsigned long)pg[i]);
		prot[i] = m.prot | prot_extra(pg[i]);
		uintptr_t plo = (uintptr_t)__start_tokshim_poke & ~(uintptr_t)(pagesz - 1);
		if (overlaps(pg[i], pagesz, plo, (uintptr_t)__stop_tokshim_poke))
			own = 1;
	}
	if (own) {
		if (write_mem(c->patch_at, c->patch, c->patch_len) != 0)
			return ih_fail(c, "the entry shares a page with the patching code and /proc/self/mem is not writable");
		flush(c->patch_at, c->patch_len);
		return 0;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = poke(pg, prot, npg, pagesz, c->patch_at, c->patch, c->patch_len);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return ih_fail(c, "cannot make the entry's page writable (mprotect refused)");
	flush(c->patch_at, c->patch_len);
	return 0;
}

/* ---- the body scan ------------------------------------------------------------------------ */
static int scan_body(struct ih_ctx *c)
{
	uintptr_t lo = c->target, hi_patch = c->patch_at + c->covered;
	uintptr_t disp_lo = c->patch_at;
	uintptr_t end, limit = c->map_end;
	int sweep = c->size == 0;
	if (c->size) {
		size_t s = c->size > INLINE_SCAN_MAX ? INLINE_SCAN_MAX : c->size;
		end = c->target + s;
	} else {
		end = c->target + INLINE_SCAN_MAX;
	}
	if (end > limit)
		end = limit;
	uintptr_t reach = hi_patch; /* the furthest forward branch target seen */
	uintptr_t pos = c->target;
	c->body_end = end;
	size_t skip = ih_arch_skip();
	while (pos < end) {
		cs_insn *in;
		size_t n = ih_decode(c->cs, pos, end - pos, 256, &in);
		if (n == 0) {
			if (sweep || !skip) {
				ih_free(c->cs, in, n);
				if (!sweep)
					return ih_fail(c, "cannot decode the function body at +%#lx",
						       (unsigned long)(pos - c->target));
				c->body_end = pos;
				return 0;
			}
			pos += skip; /* data in the text (aarch64) */
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			uintptr_t a = (uintptr_t)in[i].address;
			struct ih_ref r;
			ih_arch_classify(&in[i], &r);
			int displaced = a >= disp_lo && a < hi_patch;
			if (r.has_ref && !displaced && r.ref >= lo && r.ref < hi_patch &&
			    !(r.ref == lo && (r.is_call || r.is_addr))) {
				int off = (int)(a - c->target), to = (int)(r.ref - c->target);
				ih_free(c->cs, in, n);
				return ih_fail(c, "the instruction at +%#x %s the patched bytes (+%#x)", (unsigned)off,
					       r.is_jump || r.is_call ? "branches into" : "refers to", (unsigned)to);
			}
			if (r.has_ref && r.is_jump && r.ref > a && r.ref < end && r.ref > reach)
				reach = r.ref;
			pos = a + in[i].size;
			if (sweep && r.terminal && pos >= reach) {
				ih_free(c->cs, in, n);
				c->body_end = pos;
				return 0;
			}
		}
		ih_free(c->cs, in, n);
	}
	return 0;
}

/* ---- the registry ----------------------------------------------------------------------------- */
static struct {
	uintptr_t target, patch_at;
	size_t covered; /* displaced bytes, from patch_at */
	void *tramp;
} hooks[INLINE_MAX];
static int nhooks;

void *inline_original(const void *target)
{
	void *r = NULL;
	pthread_mutex_lock(&ih_lock);
	for (int i = 0; i < nhooks; i++)
		if (hooks[i].target == (uintptr_t)target)
			r = hooks[i].tramp;
	pthread_mutex_unlock(&ih_lock);
	return r;
}

int inline_count(void)
{
	pthread_mutex_lock(&ih_lock);
	int n = nhooks;
	pthread_mutex_unlock(&ih_lock);
	return n;
}

/* symbol size of the dynamic symbol at target, 0 when none */
static size_t dyn_size(uintptr_t target)
{
	Dl_info info;
	const ElfW(Sym) *sym = NULL;
	if (!dladdr1((void *)target, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym || !info.dli_saddr)
		return 0;
	return (uintptr_t)info.dli_saddr == target ? (size_t)sym->st_size : 0;
}

static int hook_locked(struct ih_ctx *c, void **orig)
{
	if (nhooks >= INLINE_MAX)
		return ih_fail(c, "too many inline hooks (%d)", INLINE_MAX);
	struct ih_map m;
	if (map_of(c->target, &m) != 0)
		return ih_fail(c, "%#lx is not mapped", (unsigned long)c->target);
	if ((m.prot & (PROT_READ | PROT_EXEC)) != (PROT_READ | PROT_EXEC))
		return ih_fail(c, "%#lx is not in readable executable memory", (unsigned long)c->target);
	c->map_end = m.hi;
	/* a mapping right after (same object, same protection) extends what may
	 * be read: the function may run across the mapping's end only there */
	struct ih_map next;
	if (map_of(m.hi, &next) == 0 && (next.prot & PROT_READ))
		c->map_end = next.hi;
	if (ih_arch_entry(c) != 0)
		return -1;
	for (int i = 0; i < nhooks; i++)
		if (hooks[i].target == c->target)
			return ih_fail(c, "%#lx is already hooked", (unsigned long)c->target);
	c->page_len = (size_t)getpagesize();
	void *page = page_near(c->patch_at, c->page_len, ih_arch_reach(), &c->near);
	if (!page)
		return ih_fail(c, "cannot map a page for the trampoline");
	c->page = (uintptr_t)page;
	if (ih_arch_build(c) != 0) {
		munmap(page, c->page_len);
		return -1;
	}
	/* the bytes displaced now must hold no patch of ours, and ours none of them */
	for (int i = 0; i < nhooks; i++)
		if (overlaps(c->patch_at, c->covered, hooks[i].patch_at, hooks[i].patch_at + hooks[i].covered)) {
			munmap(page, c->page_len);
			return ih_fail(c, "the entry overlaps the hooked entry of %#lx", (unsigned long)hooks[i].target);
		}
	if (mprotect(page, c->page_len, PROT_READ | PROT_EXEC) != 0) {
		munmap(page, c->page_len);
		return ih_fail(c, "cannot make the trampoline executable");
	}
	flush(c->page, c->used);
	void *was = __atomic_load_n(orig, __ATOMIC_ACQUIRE);
	__atomic_store_n(orig, (void *)c->tramp, __ATOMIC_RELEASE);
	if (write_entry(c) != 0) {
		__atomic_store_n(orig, was, __ATOMIC_RELEASE);
		munmap(page, c->page_len);
		return -1;
	}
	hooks[nhooks].target = c->target;
	hooks[nhooks].patch_at = c->patch_at;
	hooks[nhooks].covered = c->covered;
	hooks[nhooks].tramp = (void *)c->tramp;
	nhooks++;
	return 0;
}

int inline_hook_sized(void *target, size_t size, void *hook, void **orig, char *why, size_t why_len)
{
	int saved = errno;
	if (why && why_len)
		why[0] = '\0';
	if (!target || !hook || !orig) {
		set_why(why, why_len, "no target, hook or orig given");
		errno = saved;
		return -1;
	}
	struct ih_ctx c;
	memset(&c, 0, sizeof c);
	/* what takes the loader's lock comes before ours (see cs_load) */
	c.scan_body = scan_body;
	if (!(c.cs = cs_load(why, why_len))) {
		errno = saved;
		return -1;
	}
	c.target = (uintptr_t)target;
	c.size = size ? size : dyn_size(c.target);
	c.hook = (uintptr_t)hook;
	c.why = why;
	c.why_len = why_len;
	pthread_mutex_lock(&ih_lock);
	int r = hook_locked(&c, orig);
	pthread_mutex_unlock(&ih_lock);
	errno = saved;
	return r;
}

int inline_hook(void *target, void *hook, void **orig, char *why, size_t why_len)
{
	return inline_hook_sized(target, 0, hook, orig, why, why_len);
}
#endif
