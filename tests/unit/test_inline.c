/* shim/inline.c: entry patching on real functions of many prologue shapes,
 * linked into the test (never preloaded). Each test runs in its own process
 * (Criterion), so a patch never outlives its test. For each hook: the hook
 * runs, *orig gives the original result, the entry's page keeps its
 * protection and no page is left writable and executable. The exact edge
 * cases are functions in assembly below (x86-64 and aarch64). */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/sha.h>
#include <zlib.h>

#include "shim/inline.h"
#include "shim/inline_int.h"

/* ---- helpers ------------------------------------------------------------------ */
/* the permissions column of the mapping holding p ("r-xp"), "" if none */
static void perms_of(const void *p, char out[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	out[0] = '\0';
	cr_assert(f);
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char pr[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, pr) == 3 && (uintptr_t)p >= lo && (uintptr_t)p < hi) {
			memcpy(out, pr, 5);
			break;
		}
	}
	fclose(f);
}

/* no mapping of the process is writable and executable at once */
static void assert_no_wx(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	cr_assert(f);
	while (fgets(line, sizeof line, f)) {
		char pr[5] = "";
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, pr) == 3)
			cr_assert(!(pr[1] == 'w' && pr[2] == 'x'), "writable and executable: %s", line);
	}
	fclose(f);
}

static __attribute__((unused)) int hook_ok(void *target, size_t size, void *hook, void **orig)
{
	char before[5], after[5], why[256] = "unset";
	perms_of(target, before);
	errno = 4242;
	int r = inline_hook_sized(target, size, hook, orig, why, sizeof why);
	cr_assert_eq(errno, 4242, "errno changed");
	cr_assert_eq(r, 0, "refused: %s", why);
	cr_assert_str_empty(why);
	cr_assert(*orig);
	perms_of(target, after);
	cr_assert_str_eq(before, after, "the entry's page changed protection");
	char tp[5];
	perms_of(*orig, tp);
	cr_assert_str_eq(tp, "r-xp", "trampoline page is %s", tp);
	cr_assert_eq(inline_original(target), *orig);
	assert_no_wx();
	return r;
}

#define HOOK(target, hook, orig) hook_ok((void *)(target), 0, (void *)(hook), (void **)&(orig))
#define HOOK_SIZED(target, size, hook, orig) hook_ok((void *)(target), size, (void *)(hook), (void **)&(orig))

/* refused with a reason holding `part`, nothing changed */
static void refused(void *target, size_t size, const char *part)
{
	unsigned char before[32], after[32];
	char why[256] = "";
	void *orig = (void *)0x1234;
	memcpy(before, target, sizeof before);
	int n0 = inline_count();
	errno = 77;
	int r = inline_hook_sized(target, size, (void *)abs, &orig, why, sizeof why);
	cr_assert_eq(errno, 77);
	cr_assert_eq(r, -1, "not refused (wanted '%s')", part);
	cr_assert(strstr(why, part), "reason '%s' lacks '%s'", why, part);
	cr_assert_eq(orig, (void *)0x1234, "orig touched");
	memcpy(after, target, sizeof after);
	cr_assert(memcmp(before, after, sizeof before) == 0, "entry bytes changed");
	cr_assert_eq(inline_count(), n0);
	cr_assert_null(inline_original(target));
	assert_no_wx();
}

#if !defined(__x86_64__) && !defined(__aarch64__)
/* elsewhere (armhf) the engine refuses every call and changes nothing */
static int plain(int x)
{
	return x + 1;
}

Test(inline, refused_off_x86_64_and_aarch64)
{
	refused((void *)plain, 0, "not supported");
	cr_assert_eq(plain(1), 2);
}
#else
/* ---- C functions ---------------------------------------------------------------- */
#define NOIPA __attribute__((noipa))

NOIPA __attribute__((optimize("O0"))) int c_o0(int a, int b)
{
	int x = a * 3;
	x += b;
	return x;
}

NOIPA __attribute__((optimize("O2"))) int c_o2(const int *v, int n)
{
	int s = 0;
	for (int i = 0; i < n; i++)
		s += v[i] * v[i] + (v[i] & 1);
	return s;
}

/* in the section of the engine's own poke code: the same page */
NOIPA __attribute__((optimize("O0"), section("tokshim_poke"))) int c_pokepage(int x)
{
	int y = x * 5;
	return y + 1;
}

static int (*o_c_o0)(int, int);
static atomic_int hits;
static int h_c_o0(int a, int b)
{
	hits++;
	return o_c_o0(a, b) + 1000;
}

static int (*o_c_o2)(const int *, int);
static int h_c_o2(const int *v, int n)
{
	hits++;
	return -o_c_o2(v, n);
}

static int (*o_int)(int);
static int h_int(int x)
{
	hits++;
	return o_int(x) + 1000;
}

Test(inline, c_function_at_O0)
{
	cr_assert_eq(c_o0(2, 5), 11);
	HOOK(c_o0, h_c_o0, o_c_o0);
	cr_assert_eq(c_o0(2, 5), 1011);
	cr_assert_eq(o_c_o0(2, 5), 11);
	cr_assert_eq(hits, 1);
	cr_assert_eq(inline_count(), 1);
}

Test(inline, c_function_at_O2)
{
	int v[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 };
	int want = c_o2(v, 13);
	cr_assert_eq(want, 819 + 7);
	HOOK(c_o2, h_c_o2, o_c_o2);
	cr_assert_eq(c_o2(v, 13), -want);
	cr_assert_eq(c_o2(v, 0), 0);
	cr_assert_eq(o_c_o2(v, 13), want);
	cr_assert_eq(o_c_o2(v, 3), 14 + 2);
	cr_assert_eq(hits, 2);
}

/* the hook far from the target (libc's abs): the entry goes through the
 * thunk in the trampoline page */
Test(inline, hook_in_another_object)
{
	cr_assert_eq(c_o0(-4, 1), -11);
	HOOK(c_o0, abs, o_c_o0);
	cr_assert_eq(c_o0(-7, 0), 7); /* abs(-7): the second argument unused */
	cr_assert_eq(o_c_o0(-4, 1), -11);
}

/* An aarch64 build run by qemu-user (the host's /proc/cpuinfo shows
 * through): qemu does not see a write through /proc/self/mem and keeps
 * running its old translation of the page. */
static int emulated(void)
{
#if defined(__aarch64__)
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];
	int x86 = 0;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "vendor_id", 9) == 0)
			x86 = 1;
	if (f)
		fclose(f);
	return x86;
#else
	return 0;
#endif
}

/* written through /proc/self/mem: the page's protection never changes */
Test(inline, target_in_the_page_of_the_patching_code)
{
	unsigned char before[4];
	memcpy(before, (void *)c_pokepage, 4);
	cr_assert_eq(c_pokepage(3), 16);
	HOOK(c_pokepage, h_int, o_int);
	cr_assert(memcmp(before, (void *)c_pokepage, 4) != 0, "entry not written");
	cr_assert_eq(o_int(3), 16);
	if (!emulated())
		cr_assert_eq(c_pokepage(3), 1016);
}

Test(inline, hooked_twice_is_refused)
{
	HOOK(c_o0, h_c_o0, o_c_o0);
	void *first = (void *)o_c_o0;
	char why[128];
	void *o2 = NULL;
	cr_assert_eq(inline_hook((void *)c_o0, (void *)h_int, &o2, why, sizeof why), -1);
	cr_assert(strstr(why, "already hooked"), "%s", why);
	cr_assert_null(o2);
	cr_assert_eq((void *)o_c_o0, first);
	cr_assert_eq(c_o0(1, 1), 1004);
}

Test(inline, bad_arguments)
{
	char why[128];
	void *o = NULL;
	cr_assert_eq(inline_hook(NULL, (void *)h_int, &o, why, sizeof why), -1);
	cr_assert_eq(inline_hook((void *)c_o0, NULL, &o, why, sizeof why), -1);
	cr_assert_eq(inline_hook((void *)c_o0, (void *)h_int, NULL, why, sizeof why), -1);
	static int data[64];
	cr_assert_eq(inline_hook((void *)data, (void *)h_int, &o, why, sizeof why), -1);
	cr_assert(strstr(why, "executable"), "%s", why);
	/* why may be NULL or tiny */
	cr_assert_eq(inline_hook((void *)data, (void *)h_int, &o, NULL, 0), -1);
	cr_assert_eq(inline_hook((void *)data, (void *)h_int, &o, why, 1), -1);
	cr_assert_str_empty(why);
	cr_assert_null(o);
}

/* ---- functions of real libraries (optimised C and assembly prologues) ---------------- */
static uLong (*o_crc32)(uLong, const Bytef *, uInt);
static uLong h_crc32(uLong c, const Bytef *b, uInt n)
{
	hits++;
	return o_crc32(c, b, n);
}
static uLong (*o_adler32)(uLong, const Bytef *, uInt);
static uLong h_adler32(uLong c, const Bytef *b, uInt n)
{
	hits++;
	return o_adler32(c, b, n) ^ 1;
}
static unsigned char *(*o_sha256)(const unsigned char *, size_t, unsigned char *);
static unsigned char *h_sha256(const unsigned char *d, size_t n, unsigned char *md)
{
	hits++;
	return o_sha256(d, n, md);
}
static int (*o_compress2)(Bytef *, uLongf *, const Bytef *, uLong, int);
static int h_compress2(Bytef *dst, uLongf *dn, const Bytef *src, uLong sn, int level)
{
	hits++;
	return o_compress2(dst, dn, src, sn, level);
}

Test(inline, zlib_and_libcrypto_functions)
{
	static unsigned char buf[70000], out[80000], out2[80000];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 7 + (i >> 9));
	uLong crc = crc32(0, buf, sizeof buf), ad = adler32(1, buf, sizeof buf);
	unsigned char md[32], md2[32];
	SHA256(buf, sizeof buf, md);
	uLongf n1 = sizeof out, n2 = sizeof out2;
	cr_assert_eq(compress2(out, &n1, buf, sizeof buf, 6), Z_OK);

	HOOK(crc32, h_crc32, o_crc32);
	HOOK(adler32, h_adler32, o_adler32);
	HOOK(SHA256, h_sha256, o_sha256);
	HOOK(compress2, h_compress2, o_compress2);
	cr_assert_eq(crc32(0, buf, sizeof buf), crc);
	cr_assert_eq(adler32(1, buf, sizeof buf), ad ^ 1);
	cr_assert_eq(o_adler32(1, buf, sizeof buf), ad);
	cr_assert_eq(SHA256(buf, sizeof buf, md2), md2);
	cr_assert(memcmp(md, md2, 32) == 0);
	/* compress2 calls adler32 inside zlib: that call reaches the hooked
	 * entry too, and only the stream's adler32 trailer changes */
	int before = hits;
	cr_assert_eq(compress2(out2, &n2, buf, sizeof buf, 6), Z_OK);
	cr_assert_eq(n1, n2);
	cr_assert(memcmp(out, out2, n1 - 4) == 0, "compressed bytes differ");
	cr_assert(memcmp(out + n1 - 4, out2 + n1 - 4, 4) != 0, "zlib's own adler32 call was not hooked");
	cr_assert_geq(hits - before, 2);
	assert_no_wx();
}

/* ---- threads ------------------------------------------------------------------------
 * 8 threads call c_spin (unpatched, on another page) in a loop while the
 * main thread patches c_o0; then all of them call the hooked c_o0 and every
 * call is seen once by the hook and returns the original's answer + 1000.
 * (Patching a function while another thread runs it, or runs anything in
 * its page, is the documented unsafe case and is not done.) */
NOIPA __attribute__((optimize("O2"), aligned(4096))) int c_spin(int x)
{
	return x * 7 + 1;
}

static atomic_int phase, spins;
static atomic_long bad;
#define PER_THREAD 20000

static void *worker(void *arg)
{
	long id = (long)arg;
	while (atomic_load(&phase) == 0) {
		if (c_spin((int)id) != (int)id * 7 + 1)
			atomic_fetch_add(&bad, 1);
		atomic_fetch_add(&spins, 1);
	}
	for (int i = 0; i < PER_THREAD; i++)
		if (c_o0((int)id, i) != (int)id * 3 + i + 1000)
			atomic_fetch_add(&bad, 1);
	return NULL;
}

Test(inline, threads_around_a_patch, .timeout = 60)
{
	pthread_t t[8];
	cr_assert_neq((uintptr_t)c_spin / 4096, (uintptr_t)c_o0 / 4096);
	for (long i = 0; i < 8; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, worker, (void *)i), 0);
	while (atomic_load(&spins) < 1000)
		usleep(1000);
	HOOK(c_o0, h_c_o0, o_c_o0);
	atomic_store(&phase, 1);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(atomic_load(&bad), 0);
	cr_assert_eq(atomic_load(&hits), 8 * PER_THREAD);
}

/* 4 threads hook 4 functions at once, capstone loading included */
NOIPA __attribute__((optimize("O0"))) int c_par0(int x)
{
	int y = x + 1;
	return y * 2;
}
NOIPA __attribute__((optimize("O0"))) int c_par1(int x)
{
	int y = x + 2;
	return y * 2;
}
NOIPA __attribute__((optimize("O0"))) int c_par2(int x)
{
	int y = x + 3;
	return y * 2;
}
NOIPA __attribute__((optimize("O0"))) int c_par3(int x)
{
	int y = x + 4;
	return y * 2;
}
static int (*o_par[4])(int);
static int h_par0(int x) { return o_par[0](x) + 1000; }
static int h_par1(int x) { return o_par[1](x) + 1000; }
static int h_par2(int x) { return o_par[2](x) + 1000; }
static int h_par3(int x) { return o_par[3](x) + 1000; }
static int (*const par_fn[4])(int) = { c_par0, c_par1, c_par2, c_par3 };
static int (*const par_hook[4])(int) = { h_par0, h_par1, h_par2, h_par3 };
static atomic_int par_go, par_bad;

static void *par_worker(void *arg)
{
	long i = (long)arg;
	char why[128];
	while (!atomic_load(&par_go))
		;
	if (inline_hook((void *)par_fn[i], (void *)par_hook[i], (void **)&o_par[i], why, sizeof why) != 0)
		atomic_fetch_add(&par_bad, 1);
	return NULL;
}

Test(inline, four_threads_hook_at_once, .timeout = 60)
{
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, par_worker, (void *)i), 0);
	atomic_store(&par_go, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(atomic_load(&par_bad), 0);
	cr_assert_eq(inline_count(), 4);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(par_fn[i](1), (i + 2) * 2 + 1000);
		cr_assert_eq(o_par[i](1), (i + 2) * 2);
	}
	assert_no_wx();
}

/* ---- the far forms (as when no page is free near the target) ------------------------ */
Test(inline, far_form_c_function)
{
	ih_test_far = 1;
	HOOK(c_o0, h_c_o0, o_c_o0);
	cr_assert_eq(c_o0(2, 5), 1011);
	cr_assert_eq(o_c_o0(2, 5), 11);
	cr_assert_eq(hits, 1);
}

#if defined(__x86_64__)
/* ---- x86-64 edge cases, in assembly -----------------------------------------------------
 * Each function is named fx_*, its end fx_*_end where the size matters. */
#define FN(name) ".globl " #name "\n.hidden " #name "\n.type " #name ",@function\n.p2align 4\n" #name ":\n"
#define END(name) ".size " #name ", .-" #name "\n"
__asm__(".intel_syntax noprefix\n"
	".data\n"
	".p2align 2\n"
	"fx_data: .long 40\n"
	"fx_counter: .long 0\n"
	".text\n"
	FN(fx_endbr) "endbr64\n lea eax, [rdi + rdi*2]\n add eax, 7\n ret\n" END(fx_endbr)
	FN(fx_rip) "mov eax, dword ptr [rip + fx_data]\n add eax, edi\n ret\n" END(fx_rip)
	FN(fx_riprmw) "add dword ptr [rip + fx_counter], 3\n mov eax, dword ptr [rip + fx_counter]\n ret\n" END(fx_riprmw)
	FN(fx_jcc_out) "test edi, edi\n je 1f\n lea eax, [rdi + 1]\n ret\n1: mov eax, -1\n ret\n" END(fx_jcc_out)
	FN(fx_jcc_in) "1: dec edi\n jne 1b\n lea eax, [rsi + rdi + 7]\n ret\n" END(fx_jcc_in)
	FN(fx_helper) "lea eax, [rdi + 100]\n ret\n" END(fx_helper)
	FN(fx_call) "call fx_helper\n add eax, 1\n ret\n" END(fx_call)
	FN(fx_tailjmp) ".byte 0xe9\n .long fx_helper - . - 4\n" END(fx_tailjmp)
	FN(fx_jrcxz) "jrcxz 1f\n mov eax, 1\n ret\n1: mov eax, 2\n ret\n" END(fx_jrcxz)
	FN(fx_long) "push rbx\n mov ebx, edi\n call fx_helper\n test ebx, ebx\n je 1f\n add eax, ebx\n"
		    " pop rbx\n ret\n1: mov eax, -5\n pop rbx\n ret\n" END(fx_long)
	FN(fx_tiny) "xor eax, eax\n ret\n" END(fx_tiny)
	FN(fx_after_tiny) "mov eax, 9\n ret\n" END(fx_after_tiny)
	FN(fx_shortjmp) "jmp 1f\n nop\n nop\n nop\n1: mov eax, 3\n ret\n" END(fx_shortjmp)
	FN(fx_loop) "1: add esi, 2\n dec edi\n jne 1b\n mov eax, esi\n ret\n" END(fx_loop)
	FN(fx_endbr_loop) "endbr64\n1: add esi, 2\n dec edi\n jne 1b\n mov eax, esi\n ret\n" END(fx_endbr_loop)
	FN(fx_recurse) "test edi, edi\n jle 1f\n push rbx\n mov ebx, edi\n lea edi, [rdi - 1]\n call fx_recurse\n"
		       " add eax, ebx\n pop rbx\n ret\n1: xor eax, eax\n ret\n" END(fx_recurse)
	FN(fx_sized) "lea eax, [rdi + 1]\n add eax, 2\n ret\n jmp fx_sized + 3\n" ".globl fx_sized_end\n.hidden fx_sized_end\nfx_sized_end:\n" END(fx_sized)
	FN(fx_bad) ".byte 0x06\n ret\n nop\n nop\n nop\n nop\n" END(fx_bad)
	FN(fx_int3) "int3\n mov eax, 1\n ret\n" END(fx_int3)
	FN(fx_xbegin) "xbegin 1f\n1: mov eax, 1\n ret\n" END(fx_xbegin)
	FN(fx_ripself) "mov eax, 1\n lea rdx, [rip + fx_ripself + 2]\n ret\n" END(fx_ripself)
	FN(fx_ripentry) "mov eax, 1\n lea rdx, [rip + fx_ripentry]\n ret\n" END(fx_ripentry)
	FN(fx_callpop) "call 1f\n1: pop rax\n ret\n" END(fx_callpop)
	/* at 12 mod 16: the 5-byte patch crosses an aligned 16 (tail first,
	 * then the first word) */
	".p2align 4\n .skip 12, 0x90\n.globl fx_odd\n.hidden fx_odd\n.type fx_odd,@function\nfx_odd:\n"
	" lea eax, [rdi + 5]\n add eax, 1\n ret\n" END(fx_odd)
	/* 2 bytes before a page's end: the patch spans two pages */
	".p2align 12\n .skip 4094, 0xcc\n.globl fx_span\n.hidden fx_span\n.type fx_span,@function\nfx_span:\n"
	" lea eax, [rdi + 5]\n add eax, 2\n ret\n" END(fx_span)
	FN(fx_readself) "mov eax, 1\n add eax, dword ptr [rip + fx_readself + 1]\n ret\n" END(fx_readself)
	".att_syntax prefix\n");

int fx_endbr(int), fx_rip(int), fx_riprmw(int), fx_jcc_out(int), fx_jcc_in(int, int), fx_helper(int);
int fx_call(int), fx_tailjmp(int), fx_jrcxz(long, long, long, long), fx_long(int), fx_tiny(int);
int fx_after_tiny(int), fx_shortjmp(int), fx_loop(int, int), fx_endbr_loop(int, int), fx_recurse(int);
int fx_sized(int), fx_bad(int), fx_int3(int), fx_xbegin(int), fx_ripself(int), fx_readself(int), fx_ripentry(int), fx_callpop(int), fx_odd(int), fx_span(int);
extern char fx_sized_end[];

static int (*o_int2)(int, int);
static int h_int2(int a, int b)
{
	hits++;
	return o_int2(a, b) + 1000;
}

static int (*o_int4)(long, long, long, long);
static int h_int4(long a, long b, long c, long d)
{
	hits++;
	return o_int4(a, b, c, d) + 1000;
}

Test(inline_x86, endbr64_kept_at_the_entry)
{
	unsigned char e[4];
	memcpy(e, (void *)fx_endbr, 4);
	HOOK(fx_endbr, h_int, o_int);
	cr_assert(memcmp(e, (void *)fx_endbr, 4) == 0, "endbr64 overwritten");
	cr_assert_eq(((unsigned char *)fx_endbr)[4], 0xe9);
	cr_assert_eq(fx_endbr(5), 1022);
	cr_assert_eq(o_int(5), 22);
	/* the trampoline starts with endbr64 too (reached by an indirect call) */
	cr_assert(memcmp(e, (void *)o_int, 4) == 0);
}

Test(inline_x86, entry_crossing_an_aligned_16)
{
	cr_assert_eq((uintptr_t)fx_odd % 16, 12);
	HOOK(fx_odd, h_int, o_int);
	cr_assert_eq(fx_odd(1), 1007);
	cr_assert_eq(o_int(1), 7);
}

Test(inline_x86, entry_spanning_two_pages)
{
	cr_assert_eq((uintptr_t)fx_span % 4096, 4094);
	HOOK(fx_span, h_int, o_int);
	char p2[5];
	perms_of((char *)fx_span + 2, p2);
	cr_assert_str_eq(p2, "r-xp");
	cr_assert_eq(fx_span(1), 1008);
	cr_assert_eq(o_int(1), 8);
}

Test(inline_x86, rip_relative_load)
{
	cr_assert_eq(fx_rip(2), 42);
	HOOK(fx_rip, h_int, o_int);
	cr_assert_eq(fx_rip(2), 1042);
	cr_assert_eq(o_int(3), 43);
}

Test(inline_x86, rip_relative_store_with_an_immediate)
{
	cr_assert_eq(fx_riprmw(0), 3);
	HOOK(fx_riprmw, h_int, o_int);
	cr_assert_eq(fx_riprmw(0), 1006);
	cr_assert_eq(o_int(0), 9);
	cr_assert_eq(fx_riprmw(0), 1012);
}

Test(inline_x86, short_jcc_out_of_the_displaced_bytes)
{
	HOOK(fx_jcc_out, h_int, o_int);
	cr_assert_eq(fx_jcc_out(0), 999);
	cr_assert_eq(fx_jcc_out(4), 1005);
	cr_assert_eq(o_int(0), -1);
	cr_assert_eq(o_int(4), 5);
}

Test(inline_x86, jcc_inside_the_displaced_bytes)
{
	cr_assert_eq(fx_jcc_in(4, 10), 17);
	HOOK(fx_jcc_in, h_int2, o_int2);
	cr_assert_eq(fx_jcc_in(4, 10), 1017);
	cr_assert_eq(o_int2(3, 1), 8);
	cr_assert_eq(hits, 1);
}

Test(inline_x86, call_in_the_displaced_bytes)
{
	cr_assert_eq(fx_call(1), 102);
	HOOK(fx_call, h_int, o_int);
	cr_assert_eq(fx_call(1), 1102);
	cr_assert_eq(o_int(2), 103);
}

Test(inline_x86, entry_is_a_tail_jump)
{
	HOOK(fx_tailjmp, h_int, o_int);
	cr_assert_eq(fx_tailjmp(1), 1101);
	cr_assert_eq(o_int(1), 101);
}

Test(inline_x86, jrcxz_in_the_displaced_bytes)
{
	HOOK(fx_jrcxz, h_int4, o_int4);
	cr_assert_eq(fx_jrcxz(0, 0, 0, 0), 1002);
	cr_assert_eq(fx_jrcxz(0, 0, 0, 5), 1001);
	cr_assert_eq(o_int4(0, 0, 0, 0), 2);
	cr_assert_eq(o_int4(0, 0, 0, 1), 1);
}

Test(inline_x86, push_call_jcc_near_form)
{
	HOOK(fx_long, h_int, o_int);
	cr_assert_eq(fx_long(0), 995);
	cr_assert_eq(fx_long(3), 1106);
	cr_assert_eq(o_int(0), -5);
	cr_assert_eq(o_int(3), 106);
}

Test(inline_x86, far_form_relocates_call_and_jcc)
{
	ih_test_far = 1;
	HOOK(fx_long, h_int, o_int);
	cr_assert_eq(((unsigned char *)fx_long)[0], 0xff, "not the 14-byte absolute jump");
	cr_assert_eq(fx_long(0), 995);
	cr_assert_eq(fx_long(3), 1106);
	cr_assert_eq(o_int(0), -5);
	cr_assert_eq(o_int(3), 106);
}

Test(inline_x86, far_form_needs_14_bytes)
{
	ih_test_far = 1;
	char why[256];
	void *o = NULL;
	int r = inline_hook((void *)fx_endbr, (void *)h_int, &o, why, sizeof why);
	cr_assert_eq(r, -1);
	cr_assert(strstr(why, "too short"), "%s", why);
}

Test(inline_x86, recursive_call_to_the_entry_is_hooked)
{
	cr_assert_eq(fx_recurse(4), 10);
	HOOK(fx_recurse, h_int, o_int);
	/* 4 -> orig -> calls fx_recurse(3) -> hook ... each level adds 1000 */
	cr_assert_eq(fx_recurse(2), 3 + 3000);
	cr_assert_eq(hits, 3);
}

Test(inline_x86, lea_of_the_entry_is_allowed_inside_is_not)
{
	refused((void *)fx_ripself, 0, "refers to the patched bytes");
	refused((void *)fx_readself, 0, "refers to the patched bytes");
	HOOK(fx_ripentry, h_int, o_int);
	cr_assert_eq(fx_ripentry(0), 1001);
}

Test(inline_x86, refuses_a_tiny_function)
{
	refused((void *)fx_tiny, 0, "too short");
	cr_assert_eq(fx_after_tiny(0), 9);
	refused((void *)fx_shortjmp, 0, "too short");
}

Test(inline_x86, refuses_a_loop_back_into_the_entry)
{
	cr_assert_eq(fx_loop(3, 1), 7);
	refused((void *)fx_loop, 0, "branches into the patched bytes");
	refused((void *)fx_endbr_loop, 0, "branches into the patched bytes");
	cr_assert_eq(fx_loop(3, 1), 7);
}

Test(inline_x86, size_hint_covers_code_past_a_ret)
{
	size_t size = (size_t)(fx_sized_end - (char *)fx_sized);
	refused((void *)fx_sized, size, "branches into the patched bytes");
	/* without it the sweep stops at the ret (a documented blind spot) */
	HOOK(fx_sized, h_int, o_int);
	cr_assert_eq(fx_sized(1), 1004);
	cr_assert_eq(o_int(1), 4);
}

Test(inline_x86, size_hint_smaller_than_the_patch)
{
	refused((void *)fx_rip, 4, "too short");
}

Test(inline_x86, refuses_undecodable_breakpoint_and_xbegin)
{
	refused((void *)fx_bad, 0, "cannot decode");
	refused((void *)fx_int3, 0, "breakpoint");
	refused((void *)fx_xbegin, 0, "does not relocate");
}

Test(inline_x86, refuses_a_call_that_reads_its_own_address)
{
	refused((void *)fx_callpop, 0, "calls into its own function");
}
#endif

#if defined(__aarch64__)
/* ---- aarch64 edge cases, in assembly ------------------------------------------------------
 * With a page near the target the patch is one `b` and only the first
 * instruction is displaced; ih_test_far = 1 displaces four (the 16-byte
 * absolute form), which reaches the relocation of the ones after. */
#define FN(name) ".globl " #name "\n.hidden " #name "\n.type " #name ",%function\n.p2align 4\n" #name ":\n"
#define END(name) ".size " #name ", .-" #name "\n"
__asm__(".data\n"
	".p2align 3\n"
	"fa_data: .word 40\n"
	".text\n"
	FN(fa_bti) "bti c\n add w0, w0, w0, lsl #1\n add w0, w0, #7\n ret\n" END(fa_bti)
	FN(fa_adrp) "adrp x1, fa_data\n ldr w1, [x1, :lo12:fa_data]\n add w0, w0, w1\n ret\n" END(fa_adrp)
	FN(fa_adr) "adr x1, 1f\n ldr w1, [x1]\n add w0, w0, w1\n ret\n1: .word 40\n" END(fa_adr)
	FN(fa_ldr_x) "ldr x1, 1f\n add x0, x0, x1\n ret\n.p2align 3\n1: .quad 0x100000000\n" END(fa_ldr_x)
	FN(fa_ldr_w) "ldr w1, 1f\n add w0, w0, w1\n ret\n1: .word 40\n" END(fa_ldr_w)
	FN(fa_ldr_w0) "ldr w0, 1f\n ret\n1: .word 1234\n" END(fa_ldr_w0)
	FN(fa_ldrsw) "ldrsw x1, 1f\n add x0, x0, x1\n ret\n1: .word -5\n" END(fa_ldrsw)
	FN(fa_ldr_d) "ldr d1, 1f\n fadd d0, d0, d1\n ret\n.p2align 3\n1: .double 1.5\n" END(fa_ldr_d)
	FN(fa_ldr_q) "ldr q1, 1f\n mov x0, v1.d[1]\n ret\n.p2align 4\n1: .quad 1, 0x77\n" END(fa_ldr_q)
	FN(fa_ldr_s) "ldr s1, 1f\n fmov w0, s1\n ret\n1: .word 0x1234\n" END(fa_ldr_s)
	FN(fa_prfm) "prfm pldl1keep, 1f\n add w0, w0, #1\n ret\n1: .word 0\n" END(fa_prfm)
	FN(fa_cbz) "cbz w0, 1f\n add w0, w0, #1\n ret\n1: mov w0, #-1\n ret\n" END(fa_cbz)
	FN(fa_cbnz) "cbnz x0, 1f\n mov w0, #7\n ret\n1: mov w0, #8\n ret\n" END(fa_cbnz)
	FN(fa_tbz) "tbz w0, #3, 1f\n mov w0, #1\n ret\n1: mov w0, #2\n ret\n" END(fa_tbz)
	FN(fa_tbnz) "tbnz x0, #40, 1f\n mov w0, #1\n ret\n1: mov w0, #2\n ret\n" END(fa_tbnz)
	FN(fa_bcond) "cmp w0, #0\n b.eq 1f\n add w0, w0, #1\n ret\n1: mov w0, #-1\n ret\n" END(fa_bcond)
	FN(fa_cbz4) "cbz w0, 1f\n add w0, w0, #1\n add w0, w0, #1\n add w0, w0, #1\n ret\n1: mov w0, #-1\n ret\n" END(fa_cbz4)
	FN(fa_helper) "add w0, w0, #100\n ret\n" END(fa_helper)
	FN(fa_tail) "b fa_helper\n" END(fa_tail)
	FN(fa_bl) "stp x29, x30, [sp, #-16]!\n bl fa_helper\n add w0, w0, #1\n ldp x29, x30, [sp], #16\n ret\n"
		  END(fa_bl)
	FN(fa_ret) "ret\n" END(fa_ret)
	FN(fa_tiny) "mov w0, #1\n ret\n" END(fa_tiny)
	FN(fa_after_tiny) "mov w0, #9\n ret\n" END(fa_after_tiny)
	FN(fa_loop) "1: add w1, w1, #2\n subs w0, w0, #1\n b.ne 1b\n mov w0, w1\n ret\n" END(fa_loop)
	FN(fa_bti_loop) "bti c\n1: add w1, w1, #2\n subs w0, w0, #1\n b.ne 1b\n mov w0, w1\n ret\n" END(fa_bti_loop)
	FN(fa_inner) "1: subs w0, w0, #1\n b.ne 1b\n add w0, w1, #7\n nop\n ret\n" END(fa_inner)
	FN(fa_x16) "mov x16, x0\n ldr d0, 1f\n fmov x0, d0\n add x0, x0, x16\n ret\n.p2align 3\n1: .quad 5\n" END(fa_x16)
	FN(fa_adrself) "mov w0, #1\n add w0, w0, #1\n add w0, w0, #1\n add w0, w0, #1\n adr x1, fa_adrself + 4\n ret\n"
		       END(fa_adrself)
	FN(fa_adrentry) "mov w0, #1\n adr x1, fa_adrentry\n ret\n" END(fa_adrentry)
	FN(fa_bad) ".word 0\n ret\n" END(fa_bad)
	FN(fa_brk) "brk #0\n ret\n" END(fa_brk)
	FN(fa_blself) "mov x9, x30\n bl 1f\n1: mov x0, x30\n mov x30, x9\n ret\n" END(fa_blself)
	FN(fa_blfirst) "bl 1f\n1: mov x0, x30\n ret\n" END(fa_blfirst)
	/* at 4 mod 8: the 16-byte far patch spans three aligned words */
	".p2align 4\n nop\n.globl fa_odd\n.hidden fa_odd\n.type fa_odd,%function\nfa_odd:\n"
	" add w0, w0, #1\n add w0, w0, #2\n add w0, w0, #3\n add w0, w0, #4\n ret\n" END(fa_odd)
	/* 8 bytes before a page's end: the far patch spans two pages */
	".p2align 12\n .skip 4088\n.globl fa_span\n.hidden fa_span\n.type fa_span,%function\nfa_span:\n"
	" add w0, w0, #1\n add w0, w0, #2\n add w0, w0, #3\n add w0, w0, #4\n ret\n" END(fa_span)
	FN(fa_sized) "add w0, w0, #1\n add w0, w0, #2\n ret\n b fa_sized\n" ".globl fa_sized_end\n.hidden fa_sized_end\nfa_sized_end:\n" END(fa_sized));

int fa_bti(int), fa_adrp(int), fa_adr(int), fa_ldr_w(int), fa_ldr_w0(int), fa_cbz(int), fa_tbz(int);
int fa_bcond(int), fa_helper(int), fa_tail(int), fa_bl(int), fa_tiny(int), fa_after_tiny(int);
int fa_loop(int, int), fa_bti_loop(int, int), fa_inner(int, int), fa_adrself(int), fa_adrentry(int);
int fa_bad(int), fa_brk(int), fa_sized(int), fa_prfm(int), fa_ret(int), fa_cbz4(int);
long fa_blself(long), fa_blfirst(long);
int fa_odd(int), fa_span(int);
long fa_ldr_x(long), fa_ldrsw(long), fa_ldr_q(long), fa_cbnz(long), fa_tbnz(long), fa_x16(long);
double fa_ldr_d(double);
int fa_ldr_s(int);
extern char fa_sized_end[];

/* one hook per target, each calling its own trampoline */
#define HOOK_INT(fn)                        \
	static int (*o_##fn)(int);           \
	static int h_##fn(int x)             \
	{                                    \
		hits++;                      \
		return o_##fn(x) + 1000;     \
	}
#define HOOK_LONG(fn)                       \
	static long (*o_##fn)(long);         \
	static long h_##fn(long x)           \
	{                                    \
		hits++;                      \
		return o_##fn(x) + 1000;     \
	}
HOOK_INT(fa_bti) HOOK_INT(fa_adrp) HOOK_INT(fa_adr) HOOK_INT(fa_ldr_w) HOOK_INT(fa_ldr_w0) HOOK_INT(fa_cbz)
HOOK_INT(fa_tbz) HOOK_INT(fa_bcond) HOOK_INT(fa_tail) HOOK_INT(fa_bl) HOOK_INT(fa_adrentry) HOOK_INT(fa_prfm)
HOOK_INT(fa_ret) HOOK_INT(fa_ldr_s) HOOK_INT(fa_cbz4) HOOK_INT(fa_odd) HOOK_INT(fa_span)
HOOK_LONG(fa_ldr_x) HOOK_LONG(fa_ldrsw) HOOK_LONG(fa_ldr_q) HOOK_LONG(fa_cbnz) HOOK_LONG(fa_tbnz) HOOK_LONG(fa_x16)
static double (*o_dbl)(double);
static double h_dbl(double x)
{
	hits++;
	return o_dbl(x) * 2;
}
static int (*o_int2)(int, int);
static int h_int2(int a, int b)
{
	hits++;
	return o_int2(a, b) + 1000;
}

/* the patch at the entry: one b (near) */
static void is_b(const void *p)
{
	uint32_t w;
	memcpy(&w, p, 4);
	cr_assert_eq(w & 0xfc000000u, 0x14000000u, "not a b: %08x", w);
}

Test(inline_a64, bti_kept_at_the_entry)
{
	uint32_t w;
	memcpy(&w, (void *)fa_bti, 4);
	HOOK(fa_bti, h_fa_bti, o_fa_bti);
	cr_assert_eq(*(uint32_t *)(void *)fa_bti, w, "bti overwritten");
	is_b((char *)(void *)fa_bti + 4);
	cr_assert_eq(fa_bti(5), 1022);
	cr_assert_eq(o_fa_bti(5), 22);
}

Test(inline_a64, adrp_and_adr)
{
	HOOK(fa_adrp, h_fa_adrp, o_fa_adrp);
	is_b((void *)fa_adrp);
	cr_assert_eq(fa_adrp(2), 1042);
	cr_assert_eq(o_fa_adrp(2), 42);
	HOOK(fa_adr, h_fa_adr, o_fa_adr);
	cr_assert_eq(fa_adr(3), 1043);
	cr_assert_eq(o_fa_adr(3), 43);
}

Test(inline_a64, literal_loads)
{
	HOOK(fa_ldr_x, h_fa_ldr_x, o_fa_ldr_x);
	cr_assert_eq(fa_ldr_x(1), 0x100000001L + 1000);
	cr_assert_eq(o_fa_ldr_x(2), 0x100000002L);
	HOOK(fa_ldr_w, h_fa_ldr_w, o_fa_ldr_w);
	cr_assert_eq(fa_ldr_w(1), 1041);
	cr_assert_eq(o_fa_ldr_w(1), 41);
	HOOK(fa_ldr_w0, h_fa_ldr_w0, o_fa_ldr_w0);
	cr_assert_eq(fa_ldr_w0(0), 2234);
	cr_assert_eq(o_fa_ldr_w0(0), 1234);
	HOOK(fa_ldrsw, h_fa_ldrsw, o_fa_ldrsw);
	cr_assert_eq(fa_ldrsw(10), 1005);
	cr_assert_eq(o_fa_ldrsw(10), 5);
	HOOK(fa_ldr_d, h_dbl, o_dbl);
	cr_assert(fa_ldr_d(1.0) == 5.0);
	cr_assert(o_dbl(1.0) == 2.5);
	HOOK(fa_ldr_q, h_fa_ldr_q, o_fa_ldr_q);
	cr_assert_eq(fa_ldr_q(0), 0x77 + 1000);
	cr_assert_eq(o_fa_ldr_q(0), 0x77);
	HOOK(fa_ldr_s, h_fa_ldr_s, o_fa_ldr_s);
	cr_assert_eq(fa_ldr_s(0), 0x1234 + 1000);
	cr_assert_eq(o_fa_ldr_s(0), 0x1234);
	HOOK(fa_prfm, h_fa_prfm, o_fa_prfm);
	cr_assert_eq(fa_prfm(1), 1002);
	cr_assert_eq(o_fa_prfm(1), 2);
	cr_assert_eq(hits, 8);
}

Test(inline_a64, compare_and_test_branches)
{
	HOOK(fa_cbz, h_fa_cbz, o_fa_cbz);
	cr_assert_eq(fa_cbz(0), 999);
	cr_assert_eq(o_fa_cbz(0), -1);
	cr_assert_eq(o_fa_cbz(4), 5);
	HOOK(fa_cbnz, h_fa_cbnz, o_fa_cbnz);
	cr_assert_eq(fa_cbnz(0), 1007);
	cr_assert_eq(o_fa_cbnz(0), 7);
	cr_assert_eq(o_fa_cbnz(1), 8);
	HOOK(fa_tbz, h_fa_tbz, o_fa_tbz);
	cr_assert_eq(fa_tbz(8), 1001);
	cr_assert_eq(o_fa_tbz(8), 1);
	cr_assert_eq(o_fa_tbz(0), 2);
	HOOK(fa_tbnz, h_fa_tbnz, o_fa_tbnz);
	cr_assert_eq(fa_tbnz(1L << 40), 1002);
	cr_assert_eq(o_fa_tbnz(1L << 40), 2);
	cr_assert_eq(o_fa_tbnz(1), 1);
}

Test(inline_a64, tail_branch_and_ret_only)
{
	HOOK(fa_tail, h_fa_tail, o_fa_tail);
	cr_assert_eq(fa_tail(1), 1101);
	cr_assert_eq(o_fa_tail(1), 101);
	/* one instruction is enough for the short form */
	HOOK(fa_ret, h_fa_ret, o_fa_ret);
	cr_assert_eq(fa_ret(5), 1005);
	cr_assert_eq(o_fa_ret(5), 5);
}

Test(inline_a64, far_form_relocates_bcond_bl_and_returns)
{
	ih_test_far = 1;
	HOOK(fa_bcond, h_fa_bcond, o_fa_bcond);
	cr_assert_eq(*(uint32_t *)(void *)fa_bcond, 0x58000050u, "not ldr x16, #8");
	cr_assert_eq(fa_bcond(0), 999);
	cr_assert_eq(fa_bcond(4), 1005);
	cr_assert_eq(o_fa_bcond(0), -1);
	HOOK(fa_bl, h_fa_bl, o_fa_bl);
	cr_assert_eq(fa_bl(1), 1102);
	cr_assert_eq(o_fa_bl(1), 102);
	HOOK(fa_cbz4, h_fa_cbz4, o_fa_cbz4);
	cr_assert_eq(fa_cbz4(0), 999);
	cr_assert_eq(o_fa_cbz4(0), -1);
	cr_assert_eq(o_fa_cbz4(3), 6);
}

Test(inline_a64, far_form_at_4_mod_8)
{
	ih_test_far = 1;
	cr_assert_eq((uintptr_t)(void *)fa_odd % 8, 4);
	HOOK(fa_odd, h_fa_odd, o_fa_odd);
	cr_assert_eq(fa_odd(0), 1010);
	cr_assert_eq(o_fa_odd(0), 10);
}

Test(inline_a64, far_form_spanning_two_pages)
{
	ih_test_far = 1;
	cr_assert_eq((uintptr_t)(void *)fa_span % 4096, 4088);
	HOOK(fa_span, h_fa_span, o_fa_span);
	char p2[5];
	perms_of((char *)(void *)fa_span + 8, p2);
	cr_assert_str_eq(p2, "r-xp");
	cr_assert_eq(fa_span(0), 1010);
	cr_assert_eq(o_fa_span(0), 10);
}

Test(inline_a64, far_form_branch_inside_the_displaced_bytes)
{
	ih_test_far = 1;
	HOOK(fa_inner, h_int2, o_int2);
	cr_assert_eq(fa_inner(3, 1), 1008);
	cr_assert_eq(o_int2(2, 5), 12);
}

Test(inline_a64, far_form_refuses_x16_in_use_and_tiny)
{
	ih_test_far = 1;
	refused((void *)fa_x16, 0, "x16");
	refused((void *)fa_tiny, 0, "too short");
	cr_assert_eq(fa_after_tiny(0), 9);
	/* the short form takes them */
	ih_test_far = 0;
	HOOK(fa_x16, h_fa_x16, o_fa_x16);
	cr_assert_eq(fa_x16(3), 1008);
	cr_assert_eq(o_fa_x16(3), 8);
}

Test(inline_a64, refuses_a_loop_back_into_the_entry)
{
	cr_assert_eq(fa_loop(3, 1), 7);
	refused((void *)fa_loop, 0, "branches into the patched bytes");
	refused((void *)fa_bti_loop, 0, "branches into the patched bytes");
}

Test(inline_a64, adr_of_the_entry_is_allowed_inside_is_not)
{
	ih_test_far = 1;
	refused((void *)fa_adrself, 0, "refers to the patched bytes");
	ih_test_far = 0;
	HOOK(fa_adrentry, h_fa_adrentry, o_fa_adrentry);
	cr_assert_eq(fa_adrentry(0), 1001);
}

Test(inline_a64, size_hint_covers_code_past_a_ret)
{
	size_t size = (size_t)(fa_sized_end - (char *)(void *)fa_sized);
	cr_assert_eq(size, 16);
	refused((void *)fa_sized, size, "branches into the patched bytes");
	refused((void *)fa_sized, 2, "too short");
}

Test(inline_a64, refuses_undecodable_and_breakpoint)
{
	refused((void *)fa_bad, 0, "cannot decode");
	refused((void *)fa_brk, 0, "breakpoint");
}

Test(inline_a64, refuses_a_call_that_reads_its_own_address)
{
	refused((void *)fa_blfirst, 0, "calls into its own function");
	ih_test_far = 1;
	refused((void *)fa_blself, 0, "calls into its own function");
}
#endif
#endif
