/* A stand-in entry-patching engine for x86-64 (shim/inline.h), until the
 * engine of branch i12 replaces this file: capstone (dlopen'ed) decodes the
 * entry; RIP-relative memory operands are relocated; a relative branch in
 * the displaced bytes is refused. Elsewhere every call is refused. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim/inline.h"

#if defined(__x86_64__)
#include <capstone/capstone.h>

static struct {
	int tried;
	csh h;
	cs_err (*open)(cs_arch, cs_mode, csh *);
	cs_err (*option)(csh, cs_opt_type, size_t);
	size_t (*disasm)(csh, const uint8_t *, size_t, uint64_t, size_t, cs_insn **);
	void (*free)(cs_insn *, size_t);
	int ok;
} cs;

static int cs_load(void)
{
	if (cs.tried)
		return cs.ok;
	cs.tried = 1;
	void *lib = dlopen("libcapstone.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		lib = dlopen("libcapstone.so", RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return 0;
	cs.open = (cs_err(*)(cs_arch, cs_mode, csh *))dlsym(lib, "cs_open");
	cs.option = (cs_err(*)(csh, cs_opt_type, size_t))dlsym(lib, "cs_option");
	cs.disasm = (size_t(*)(csh, const uint8_t *, size_t, uint64_t, size_t, cs_insn **))dlsym(lib, "cs_disasm");
	cs.free = (void (*)(cs_insn *, size_t))dlsym(lib, "cs_free");
	if (!cs.open || !cs.option || !cs.disasm || !cs.free || cs.open(CS_ARCH_X86, CS_MODE_64, &cs.h) != CS_ERR_OK)
		return 0;
	cs.option(cs.h, CS_OPT_DETAIL, CS_OPT_ON);
	cs.ok = 1;
	return 1;
}

/* A page within 2 GiB of near (rel32 reach), read-write. */
static uint8_t *page_near(uintptr_t near, size_t len)
{
	uintptr_t start = near & ~(uintptr_t)0xffff;
	for (uintptr_t d = 0x10000; d < 0x7ff00000; d += 0x10000) {
		for (int s = 0; s < 2; s++) {
			uintptr_t a = s ? start + d : start - d;
			if (!s && d > start)
				continue;
			void *p = mmap((void *)a, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
				       -1, 0);
			if (p == MAP_FAILED)
				continue;
			if ((uintptr_t)p != a) {
				munmap(p, len);
				continue;
			}
			return p;
		}
	}
	return NULL;
}

static int fits32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

static void put_absjmp(uint8_t *p, uintptr_t to)
{
	p[0] = 0xff, p[1] = 0x25, p[2] = p[3] = p[4] = p[5] = 0; /* jmp *0(%rip) */
	memcpy(p + 6, &to, 8);
}

static int refuse(char *why, size_t n, const char *msg)
{
	if (why && n)
		snprintf(why, n, "%s", msg);
	return -1;
}

static struct {
	const void *target[INLINE_MAX];
	void *orig[INLINE_MAX];
	int n;
} done;

int inline_hook_sized(void *target, size_t size, void *hook, void **orig, char *why, size_t why_len)
{
	int r = inline_hook(target, hook, orig, why, why_len);
	(void)size;
	return r;
}

void *inline_original(const void *target)
{
	for (int i = 0; i < done.n; i++)
		if (done.target[i] == target)
			return done.orig[i];
	return NULL;
}

int inline_count(void)
{
	return done.n;
}

void inline_after_fork(void)
{
}

int inline_hook(void *target, void *hook, void **orig, char *why, size_t why_len)
{
	if (inline_original(target))
		return refuse(why, why_len, "already hooked");
	if (done.n >= INLINE_MAX)
		return refuse(why, why_len, "too many hooks");
	if (!cs_load())
		return refuse(why, why_len, "no disassembler (libcapstone.so.4)");
	uint8_t *t = target;
	size_t skip = 0;
	static const uint8_t endbr[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	if (memcmp(t, endbr, 4) == 0)
		skip = 4; /* kept at the entry: indirect branches still land on it */
	cs_insn *ins = NULL;
	size_t n = cs.disasm(cs.h, t + skip, 32, (uint64_t)(uintptr_t)(t + skip), 0, &ins);
	size_t len = 0, k = 0;
	for (; k < n && len < 5; k++) {
		cs_x86 *x = &ins[k].detail->x86;
		for (int g = 0; g < ins[k].detail->groups_count; g++) {
			uint8_t gr = ins[k].detail->groups[g];
			if (gr == CS_GRP_JUMP || gr == CS_GRP_CALL || gr == CS_GRP_RET || gr == CS_GRP_BRANCH_RELATIVE ||
			    gr == CS_GRP_INT || gr == CS_GRP_IRET) {
				cs.free(ins, n);
				return refuse(why, why_len, "a branch in the first instructions");
			}
		}
		(void)x;
		len += ins[k].size;
	}
	if (len < 5) {
		if (n)
			cs.free(ins, n);
		return refuse(why, why_len, "entry too short or not decodable");
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *stub = page_near((uintptr_t)t, page);
	if (!stub) {
		cs.free(ins, n);
		return refuse(why, why_len, "no memory near the function");
	}
	/* stub: [0,14) jump to hook; [16,...) trampoline */
	put_absjmp(stub, (uintptr_t)hook);
	uint8_t *tr = stub + 16, *w = tr;
	for (size_t i = 0; i < k; i++) {
		memcpy(w, ins[i].bytes, ins[i].size);
		cs_x86 *x = &ins[i].detail->x86;
		int riprel = 0;
		for (int o = 0; o < x->op_count; o++)
			if (x->operands[o].type == X86_OP_MEM && x->operands[o].mem.base == X86_REG_RIP)
				riprel = 1;
		if (riprel) {
			if (x->encoding.disp_size != 4) {
				munmap(stub, page);
				cs.free(ins, n);
				return refuse(why, why_len, "a RIP-relative operand without a 32-bit displacement");
			}
			int32_t disp;
			memcpy(&disp, w + x->encoding.disp_offset, 4);
			int64_t nd = (int64_t)disp + (int64_t)(ins[i].address - (uintptr_t)w);
			if (!fits32(nd)) {
				munmap(stub, page);
				cs.free(ins, n);
				return refuse(why, why_len, "a RIP-relative operand out of reach");
			}
			disp = (int32_t)nd;
			memcpy(w + x->encoding.disp_offset, &disp, 4);
		}
		w += ins[i].size;
	}
	cs.free(ins, n);
	put_absjmp(w, (uintptr_t)(t + skip + len));
	if (mprotect(stub, page, PROT_READ | PROT_EXEC) != 0) {
		munmap(stub, page);
		return refuse(why, why_len, "cannot make the trampoline executable");
	}
	int64_t rel = (int64_t)(uintptr_t)stub - (int64_t)(uintptr_t)(t + skip + 5);
	uintptr_t lo = (uintptr_t)(t + skip) & ~(uintptr_t)(page - 1);
	uintptr_t hi = ((uintptr_t)(t + skip + len) + page - 1) & ~(uintptr_t)(page - 1);
	if (mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE) != 0) {
		munmap(stub, page);
		return refuse(why, why_len, "cannot make the code writable");
	}
	uint8_t jmp[16];
	jmp[0] = 0xe9;
	int32_t r32 = (int32_t)rel;
	memcpy(jmp + 1, &r32, 4);
	for (size_t i = 5; i < len; i++)
		jmp[i] = 0xcc;
	*orig = tr;
	memcpy(t + skip, jmp, len);
	mprotect((void *)lo, hi - lo, PROT_READ | PROT_EXEC);
	done.target[done.n] = target;
	done.orig[done.n++] = tr;
	return 0;
}
#else
int inline_hook(void *target, void *hook, void **orig, char *why, size_t why_len)
{
	(void)target, (void)hook, (void)orig;
	if (why && why_len)
		snprintf(why, why_len, "entry patching is not supported on this architecture");
	return -1;
}
int inline_hook_sized(void *target, size_t size, void *hook, void **orig, char *why, size_t why_len)
{
	(void)size;
	return inline_hook(target, hook, orig, why, why_len);
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
void inline_after_fork(void)
{
}
#endif
