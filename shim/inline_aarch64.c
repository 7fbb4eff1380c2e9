/* Entry patching, aarch64 back end. capstone decides what each displaced
 * instruction is (its id, operands, groups); the rewrite keeps the original
 * word where it can (a conditional branch keeps its condition, register and
 * bit, only its offset changes) and otherwise emits a few fixed forms: b,
 * bl, br/blr x16, ldr (literal) of an X register, ldr from [Xn], bti c. */
#if defined(__aarch64__)
#include <string.h>

#include "shim/inline_int.h"

#define B_REACH ((uintptr_t)128 << 20)
#define FAR_MARGIN 0x10000

void ih_arch_cs(cs_arch *arch, cs_mode *mode)
{
	*arch = CS_ARCH_ARM64;
	*mode = CS_MODE_ARM;
}

uintptr_t ih_arch_reach(void)
{
	return B_REACH - FAR_MARGIN - 4;
}

size_t ih_arch_skip(void)
{
	return 4;
}

static uint32_t word(const cs_insn *in)
{
	uint32_t w;
	memcpy(&w, in->bytes, 4);
	return w;
}

/* b/bl from `from` reaches `to` (+-128 MiB, word aligned) */
static int reach26(uintptr_t from, uintptr_t to)
{
	intptr_t d = (intptr_t)(to - from);
	return !(d & 3) && d >= -(intptr_t)B_REACH && d < (intptr_t)B_REACH;
}

static uint32_t enc_b(uintptr_t from, uintptr_t to, int link)
{
	return (link ? 0x94000000u : 0x14000000u) | ((uint32_t)((intptr_t)(to - from) >> 2) & 0x03ffffffu);
}

#define X16 16
#define LDR_LIT_X(rt, words) (0x58000000u | (((uint32_t)(words) & 0x7ffffu) << 5) | (uint32_t)(rt))
#define BR(rn) (0xd61f0000u | ((uint32_t)(rn) << 5))
#define BLR(rn) (0xd63f0000u | ((uint32_t)(rn) << 5))
#define BTI_C 0xd503245fu

static int in_group(const cs_insn *in, uint8_t g)
{
	for (uint8_t i = 0; i < in->detail->groups_count; i++)
		if (in->detail->groups[i] == g)
			return 1;
	return 0;
}

static int is_bti(const cs_insn *in)
{
	const cs_arm64 *a = &in->detail->arm64;
	if (in->id != ARM64_INS_HINT || a->op_count < 1 || a->operands[0].type != ARM64_OP_IMM)
		return 0;
	int64_t v = a->operands[0].imm;
	return v == 32 || v == 34 || v == 36 || v == 38;
}

static int uncond_b(const cs_insn *in)
{
	return in->id == ARM64_INS_B && (in->detail->arm64.cc == ARM64_CC_INVALID || in->detail->arm64.cc == ARM64_CC_AL);
}

static int terminal(const cs_insn *in)
{
	switch (in->id) {
	case ARM64_INS_BR: case ARM64_INS_RET: case ARM64_INS_ERET: case ARM64_INS_BRK: case ARM64_INS_HLT:
		return 1;
	default:
		return uncond_b(in) || in_group(in, ARM64_GRP_RET);
	}
}

/* the last immediate operand: the target of a direct branch, the address of
 * adr/adrp and of a literal load */
static int last_imm(const cs_insn *in, uintptr_t *t)
{
	const cs_arm64 *a = &in->detail->arm64;
	if (a->op_count < 1 || a->operands[a->op_count - 1].type != ARM64_OP_IMM)
		return 0;
	*t = (uintptr_t)a->operands[a->op_count - 1].imm;
	return 1;
}

/* LDR/LDRSW/PRFM (literal): capstone's REG/PREFETCH + IMM form, and the
 * literal class in the word */
static int is_literal_load(const cs_insn *in)
{
	const cs_arm64 *a = &in->detail->arm64;
	if (in->id != ARM64_INS_LDR && in->id != ARM64_INS_LDRSW && in->id != ARM64_INS_PRFM)
		return 0;
	return a->op_count == 2 && a->operands[1].type == ARM64_OP_IMM;
}

static int is_cond_branch(const cs_insn *in)
{
	return (in->id == ARM64_INS_B && !uncond_b(in)) || in->id == ARM64_INS_CBZ || in->id == ARM64_INS_CBNZ ||
	       in->id == ARM64_INS_TBZ || in->id == ARM64_INS_TBNZ;
}

void ih_arch_classify(const cs_insn *in, struct ih_ref *r)
{
	memset(r, 0, sizeof *r);
	r->terminal = terminal(in);
	uintptr_t t;
	if ((in->id == ARM64_INS_B || in->id == ARM64_INS_BL || is_cond_branch(in)) && last_imm(in, &t)) {
		r->has_ref = 1;
		r->ref = t;
		r->is_call = in->id == ARM64_INS_BL;
		r->is_jump = !r->is_call;
	} else if (in->id == ARM64_INS_ADR && last_imm(in, &t)) {
		r->has_ref = 1;
		r->ref = t;
		r->is_addr = 1;
	} else if (is_literal_load(in) && last_imm(in, &t)) {
		r->has_ref = 1;
		r->ref = t;
	}
	/* adrp names a 4 KiB page: whether the address it leads to (after an
	 * add) is in the patched bytes is not known here; not counted */
}

int ih_arch_entry(struct ih_ctx *c)
{
	cs_insn *in;
	if (c->target & 3)
		return ih_fail(c, "%#lx is not word aligned", (unsigned long)c->target);
	size_t n = ih_decode(c->cs, c->target, 4, 1, &in);
	if (n != 1)
		return ih_fail(c, "cannot decode the first instruction");
	c->patch_at = c->target + (is_bti(&in[0]) ? 4 : 0);
	ih_free(c->cs, in, n);
	return 0;
}

/* ---- emitting ---------------------------------------------------------------- */
#define MAXD 4
#define MAXLIT 16

struct out {
	uint32_t *p;
	uintptr_t at;           /* address of p[0] */
	size_t n, cap;          /* in words */
	uint64_t lit[MAXLIT];   /* the literal pool, after the code */
	size_t nlit;
	uintptr_t pool;         /* its address (8-aligned), known before emitting */
	int overflow;
	/* ldr literal sites to fix once the pool is placed (word index, lit) */
	size_t fix_at[MAXLIT], fix_lit[MAXLIT];
	size_t nfix;
};

static uintptr_t here(const struct out *o)
{
	return o->at + 4 * o->n;
}

static void put(struct out *o, uint32_t w)
{
	if (o->n >= o->cap) {
		o->overflow = 1;
		return;
	}
	o->p[o->n++] = w;
}

/* ldr xRt, =v (from the pool) */
static void put_ldr_lit(struct out *o, unsigned rt, uint64_t v)
{
	if (o->nlit >= MAXLIT || o->nfix >= MAXLIT) {
		o->overflow = 1;
		return;
	}
	o->lit[o->nlit] = v;
	o->fix_at[o->nfix] = o->n;
	o->fix_lit[o->nfix] = o->nlit;
	o->nfix++;
	o->nlit++;
	put(o, LDR_LIT_X(rt, 0));
}

/* places the pool after the code and fixes the loads */
static void finish(struct out *o)
{
	size_t code = o->n;
	if (code & 1)
		put(o, 0xd503201fu); /* nop: 8-align the pool */
	size_t pool = o->n;
	for (size_t i = 0; i < o->nlit; i++) {
		put(o, (uint32_t)o->lit[i]);
		put(o, (uint32_t)(o->lit[i] >> 32));
	}
	if (o->overflow)
		return;
	for (size_t i = 0; i < o->nfix; i++) {
		size_t w = o->fix_at[i];
		size_t words = pool + 2 * o->fix_lit[i] - w;
		o->p[w] = (o->p[w] & ~(0x7ffffu << 5)) | (((uint32_t)words & 0x7ffffu) << 5);
	}
}

/* branch (or call) to `to` from here: b/bl when it reaches, else through x16 */
static void put_branch(struct out *o, uintptr_t to, int link)
{
	if (reach26(here(o), to)) {
		put(o, enc_b(here(o), to, link));
		return;
	}
	put_ldr_lit(o, X16, to);
	put(o, link ? BLR(X16) : BR(X16));
}

/* ---- relocation ---------------------------------------------------------------- */
static int mentions_x16(const cs_insn *in)
{
	const cs_detail *d = in->detail;
	const cs_arm64 *a = &d->arm64;
	for (uint8_t i = 0; i < a->op_count; i++) {
		const cs_arm64_op *op = &a->operands[i];
		if (op->type == ARM64_OP_REG && (op->reg == ARM64_REG_X16 || op->reg == ARM64_REG_W16))
			return 1;
		if (op->type == ARM64_OP_MEM && (op->mem.base == ARM64_REG_X16 || op->mem.index == ARM64_REG_X16 ||
						 op->mem.base == ARM64_REG_W16 || op->mem.index == ARM64_REG_W16))
			return 1;
	}
	for (uint8_t i = 0; i < d->regs_write_count; i++)
		if (d->regs_write[i] == ARM64_REG_X16 || d->regs_write[i] == ARM64_REG_W16)
			return 1;
	return 0;
}

struct disp {
	cs_insn *in;
	size_t n;
	size_t off[MAXD + 1]; /* word offsets of each relocated copy in the trampoline */
};

static int internal(const struct ih_ctx *c, const struct disp *d, uintptr_t t, uintptr_t base, uintptr_t *to)
{
	if (t < c->patch_at || t >= c->patch_at + c->covered)
		return 0;
	for (size_t i = 0; i < d->n; i++)
		if (d->in[i].address == t) {
			*to = base + 4 * d->off[i];
			return 1;
		}
	return -1;
}

/* Relocates displaced instruction i at here(o); x16_busy: an earlier
 * displaced instruction touched x16, so it is not free as a scratch. */
static int emit_one(struct ih_ctx *c, struct disp *d, size_t i, struct out *o, uintptr_t base, int x16_busy)
{
	const cs_insn *in = &d->in[i];
	uint32_t w = word(in);
	uintptr_t t = 0, to = 0;
	long at = (long)(in->address - c->target);
	if (in->id == ARM64_INS_ADR || in->id == ARM64_INS_ADRP) {
		unsigned rd = w & 31;
		if (!last_imm(in, &t) || rd == 31 || (w & 0x1f000000u) != 0x10000000u)
			return ih_fail(c, "'%s %s' at +%#lx: unexpected form", in->mnemonic, in->op_str, at);
		if (in->id == ARM64_INS_ADR && t >= c->patch_at && t < c->patch_at + c->covered)
			return ih_fail(c, "'%s %s' takes the address of the displaced bytes", in->mnemonic, in->op_str);
		put_ldr_lit(o, rd, t);
		return 0;
	}
	if (is_literal_load(in)) {
		last_imm(in, &t);
		unsigned rt = w & 31, opc = w >> 30, v = (w >> 26) & 1;
		if ((w & 0x3b000000u) != 0x18000000u)
			return ih_fail(c, "'%s %s' at +%#lx: unexpected form", in->mnemonic, in->op_str, at);
		if (t >= c->patch_at && t < c->patch_at + c->covered)
			return ih_fail(c, "'%s %s' reads the displaced bytes", in->mnemonic, in->op_str);
		if (!v && opc == 3)
			return 0; /* prfm: a hint, dropped */
		if (!v) {
			static const uint32_t ld[3] = { 0xb9400000u /* ldr w */, 0xf9400000u /* ldr x */,
							0xb9800000u /* ldrsw x */ };
			put_ldr_lit(o, rt, t);
			put(o, ld[opc] | (rt << 5) | rt);
			return 0;
		}
		static const uint32_t ldv[3] = { 0xbd400000u /* ldr s */, 0xfd400000u /* ldr d */,
						 0x3dc00000u /* ldr q */ };
		if (opc > 2)
			return ih_fail(c, "'%s %s' at +%#lx: unexpected form", in->mnemonic, in->op_str, at);
		if (x16_busy)
			return ih_fail(c, "'%s %s' needs x16, which an earlier displaced instruction uses", in->mnemonic,
				       in->op_str);
		put_ldr_lit(o, X16, t);
		put(o, ldv[opc] | (X16 << 5) | rt);
		return 0;
	}
	if (in->id == ARM64_INS_B || in->id == ARM64_INS_BL || is_cond_branch(in)) {
		if (!last_imm(in, &t))
			return ih_fail(c, "'%s %s' at +%#lx: no target", in->mnemonic, in->op_str, at);
		int inn = internal(c, d, t, base, &to);
		if (inn < 0)
			return ih_fail(c, "'%s %s' branches into the middle of the displaced bytes", in->mnemonic, in->op_str);
		if (!inn)
			to = t;
		if (in->id == ARM64_INS_BL) {
			/* `bl 1f; 1: mov x0, x30`: a call into the function's own body
			 * reads the return address, from the trampoline another one */
			if (t >= c->target && t < c->body_end)
				return ih_fail(c, "'%s %s' calls into its own function (reads its own address)",
					       in->mnemonic, in->op_str);
			put_branch(o, to, 1); /* x16 is free at a call (AAPCS64) */
			return 0;
		}
		if (!reach26(here(o), to) && x16_busy)
			return ih_fail(c, "'%s %s': a far branch needs x16, which an earlier displaced instruction uses",
				       in->mnemonic, in->op_str);
		if (uncond_b(in)) {
			if ((w & 0x7c000000u) != 0x14000000u)
				return ih_fail(c, "'%s %s' at +%#lx: unexpected form", in->mnemonic, in->op_str, at);
			put_branch(o, to, 0);
			return 0;
		}
		/* cond → +8 (the local branch to the target); else b over it */
		uint32_t nw;
		if ((w & 0xff000010u) == 0x54000000u || (w & 0x7e000000u) == 0x34000000u)
			nw = (w & ~(0x7ffffu << 5)) | (2u << 5); /* b.cond, cbz/cbnz: imm19 */
		else if ((w & 0x7e000000u) == 0x36000000u)
			nw = (w & ~(0x3fffu << 5)) | (2u << 5); /* tbz/tbnz: imm14 */
		else
			return ih_fail(c, "'%s %s' at +%#lx: unexpected form", in->mnemonic, in->op_str, at);
		put(o, nw);
		int far = !reach26(here(o) + 4, to);
		put(o, 0x14000000u | (far ? 3u : 2u)); /* b over the local branch */
		put_branch(o, to, 0);
		return 0;
	}
	/* capstone 4 puts blr in the relative group too: only an immediate
	 * target makes an instruction PC-relative */
	if (in_group(in, ARM64_GRP_BRANCH_RELATIVE) && last_imm(in, &t))
		return ih_fail(c, "'%s %s': a relative instruction this engine does not relocate", in->mnemonic, in->op_str);
	put(o, w);
	return 0;
}

int ih_arch_build(struct ih_ctx *c)
{
	size_t need = c->near ? 4 : 16;
	int use_thunk = c->near && !reach26(c->patch_at, c->hook);
	size_t avail = c->map_end - c->patch_at;
	if (avail < need)
		return ih_fail(c, "function too short: the mapping ends at +%#lx", (unsigned long)(c->map_end - c->target));
	struct disp d;
	memset(&d, 0, sizeof d);
	size_t got = ih_decode(c->cs, c->patch_at, need, need / 4, &d.in);
	if (got != need / 4) {
		ih_free(c->cs, d.in, got);
		return ih_fail(c, "cannot decode the instruction at +%#lx", (unsigned long)(c->patch_at + 4 * got - c->target));
	}
	int ends = 0;
	for (size_t i = 0; i < got; i++) {
		if (d.in[i].id == ARM64_INS_BRK) {
			ih_free(c->cs, d.in, got);
			return ih_fail(c, "a breakpoint (brk) in the first bytes");
		}
		if (terminal(&d.in[i])) {
			if (i + 1 < got) {
				long at = (long)(d.in[i].address - c->target);
				ih_fail(c, "function too short: '%s' at +%#lx ends it within the %zu patched bytes",
					d.in[i].mnemonic, at, need);
				ih_free(c->cs, d.in, got);
				return -1;
			}
			ends = 1;
		}
	}
	d.n = got;
	c->covered = need;
	c->patch_len = need;
	if (c->size && c->patch_at + need > c->target + c->size) {
		ih_free(c->cs, d.in, got);
		return ih_fail(c, "function too short: %zu bytes, the patch needs %zu", c->size,
			       (size_t)(c->patch_at + need - c->target));
	}
	if (c->scan_body(c) != 0) {
		ih_free(c->cs, d.in, got);
		return -1;
	}

	/* layout: [thunk: ldr x16, #8; br x16; .quad hook][bti c, relocated..., back, pool].
	 * A dry run into a scratch buffer gives each copy's offset (branches
	 * into the displaced bytes need them), then the real one. */
	uintptr_t base = c->page + 16;
	uint32_t scratch[128];
	int x16_busy = 0, r = 0;
	for (int pass = 0; pass < 2 && !r; pass++) {
		struct out o;
		memset(&o, 0, sizeof o);
		o.p = pass ? (uint32_t *)base : scratch;
		o.at = base;
		o.cap = pass ? (c->page_len - 16) / 4 : sizeof scratch / 4;
		put(&o, BTI_C);
		x16_busy = 0;
		for (size_t i = 0; i < d.n && !r; i++) {
			d.off[i] = o.n;
			r = emit_one(c, &d, i, &o, base, x16_busy);
			x16_busy |= mentions_x16(&d.in[i]);
		}
		if (r)
			break;
		d.off[d.n] = o.n;
		if (!ends) {
			uintptr_t back = c->patch_at + need;
			if (!reach26(here(&o), back) && x16_busy) {
				r = ih_fail(c, "the jump back needs x16, which a displaced instruction uses");
				break;
			}
			put_branch(&o, back, 0);
		}
		finish(&o);
		if (o.overflow) {
			r = ih_fail(c, "internal error: trampoline too large");
			break;
		}
		c->used = 16 + 4 * o.n;
	}
	ih_free(c->cs, d.in, got);
	if (r)
		return -1;
	if (use_thunk) {
		uint32_t *t = (uint32_t *)c->page;
		t[0] = LDR_LIT_X(X16, 2);
		t[1] = BR(X16);
		memcpy(&t[2], &c->hook, 8);
	}
	c->tramp = base;

	uint32_t p[4];
	if (c->near) {
		p[0] = enc_b(c->patch_at, use_thunk ? c->page : c->hook, 0);
	} else {
		p[0] = LDR_LIT_X(X16, 2);
		p[1] = BR(X16);
		memcpy(&p[2], &c->hook, 8);
	}
	memcpy(c->patch, p, need);
	return 0;
}
#endif
