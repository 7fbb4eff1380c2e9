/* Entry patching, x86-64 back end: decodes with capstone, relocates the
 * displaced instructions, writes the trampoline and plans the patch. The
 * machine code emitted here is a handful of fixed forms (jmp/call/jcc rel32,
 * jmp/call through a RIP-relative literal, endbr64); everything read comes
 * from capstone's decoding (ids, groups, operands, encoding offsets). */
#if defined(__x86_64__)
#include <string.h>

#include "shim/inline_int.h"

#define FAR_MARGIN 0x10000 /* the trampoline's own extent, and some */

void ih_arch_cs(cs_arch *arch, cs_mode *mode)
{
	*arch = CS_ARCH_X86;
	*mode = CS_MODE_64;
}

uintptr_t ih_arch_reach(void)
{
	return 0x7fffffffu - FAR_MARGIN;
}

size_t ih_arch_skip(void)
{
	return 0;
}

static int fits32(intptr_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

/* a rel32 from the end of an instruction at `from` (its end) reaches to */
static int reach32(uintptr_t from_end, uintptr_t to)
{
	return fits32((intptr_t)(to - from_end));
}

/* far: `to` may be out of rel32 reach from anywhere in the page */
static int far_from(const struct ih_ctx *c, uintptr_t to)
{
	intptr_t d1 = (intptr_t)(to - c->page), d2 = (intptr_t)(to - (c->page + c->page_len));
	return !fits32(d1 + (d1 < 0 ? -FAR_MARGIN : FAR_MARGIN)) || !fits32(d2 + (d2 < 0 ? -FAR_MARGIN : FAR_MARGIN));
}

static int in_group(const cs_insn *in, uint8_t g)
{
	for (uint8_t i = 0; i < in->detail->groups_count; i++)
		if (in->detail->groups[i] == g)
			return 1;
	return 0;
}

static int is_jcc(unsigned id)
{
	switch (id) {
	case X86_INS_JAE: case X86_INS_JA: case X86_INS_JBE: case X86_INS_JB: case X86_INS_JE:
	case X86_INS_JGE: case X86_INS_JG: case X86_INS_JLE: case X86_INS_JL: case X86_INS_JNE:
	case X86_INS_JNO: case X86_INS_JNP: case X86_INS_JNS: case X86_INS_JO: case X86_INS_JP:
	case X86_INS_JS:
		return 1;
	default:
		return 0;
	}
}

/* rel8-only conditional branches (no rel32 form) */
static int is_rel8_only(unsigned id)
{
	switch (id) {
	case X86_INS_JRCXZ: case X86_INS_JECXZ: case X86_INS_JCXZ:
	case X86_INS_LOOP: case X86_INS_LOOPE: case X86_INS_LOOPNE:
		return 1;
	default:
		return 0;
	}
}

static int terminal(const cs_insn *in)
{
	switch (in->id) {
	case X86_INS_JMP: case X86_INS_LJMP: case X86_INS_UD2: case X86_INS_HLT: case X86_INS_INT3:
		return 1;
	default:
		return in_group(in, X86_GRP_RET) || in_group(in, X86_GRP_IRET);
	}
}

/* the immediate branch target, when in has one */
static int branch_target(const cs_insn *in, uintptr_t *t)
{
	const cs_x86 *x = &in->detail->x86;
	if (!in_group(in, X86_GRP_BRANCH_RELATIVE) || x->op_count < 1 || x->operands[0].type != X86_OP_IMM)
		return 0;
	*t = (uintptr_t)x->operands[0].imm;
	return 1;
}

/* the RIP-relative memory operand's absolute address */
static int rip_operand(const cs_insn *in, uintptr_t *addr)
{
	const cs_x86 *x = &in->detail->x86;
	for (uint8_t i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM && x->operands[i].mem.base == X86_REG_RIP) {
			*addr = (uintptr_t)(in->address + in->size + (uint64_t)x->operands[i].mem.disp);
			return 1;
		}
	return 0;
}

void ih_arch_classify(const cs_insn *in, struct ih_ref *r)
{
	memset(r, 0, sizeof *r);
	r->terminal = terminal(in);
	uintptr_t t;
	if (branch_target(in, &t)) {
		r->has_ref = 1;
		r->ref = t;
		r->is_call = in->id == X86_INS_CALL;
		r->is_jump = !r->is_call;
	} else if (rip_operand(in, &t)) {
		r->has_ref = 1;
		r->ref = t;
		r->is_addr = in->id == X86_INS_LEA;
		/* jmp *x(%rip), call *x(%rip): a read of a pointer */
	}
}

int ih_arch_entry(struct ih_ctx *c)
{
	cs_insn *in;
	size_t n = ih_decode(c->cs, c->target, c->map_end - c->target < 16 ? c->map_end - c->target : 16, 1, &in);
	if (n != 1)
		return ih_fail(c, "cannot decode the first instruction");
	c->patch_at = c->target + (in[0].id == X86_INS_ENDBR64 ? in[0].size : 0);
	ih_free(c->cs, in, n);
	return 0;
}

/* ---- emitting ------------------------------------------------------------- */
struct out {
	unsigned char *p;   /* buffer (the page, RW) */
	uintptr_t at;       /* address of p[0] when run */
	size_t n, cap;
	int overflow;
};

static void put(struct out *o, const void *b, size_t n)
{
	if (o->n + n > o->cap) {
		o->overflow = 1;
		return;
	}
	memcpy(o->p + o->n, b, n);
	o->n += n;
}

static void put1(struct out *o, unsigned char b)
{
	put(o, &b, 1);
}

static void put32(struct out *o, int32_t v)
{
	put(o, &v, 4);
}

static void put64(struct out *o, uint64_t v)
{
	put(o, &v, 8);
}

static uintptr_t here(const struct out *o)
{
	return o->at + o->n;
}

/* jmp to (rel32 when it reaches from here, else jmp *0(%rip); .quad to) */
static void emit_jmp(struct out *o, uintptr_t to, int far)
{
	if (!far && reach32(here(o) + 5, to)) {
		put1(o, 0xe9);
		put32(o, (int32_t)(to - (here(o) + 4)));
		return;
	}
	static const unsigned char ind[] = { 0xff, 0x25, 0, 0, 0, 0 };
	put(o, ind, sizeof ind);
	put64(o, to);
}

static size_t jmp_size(int far)
{
	return far ? 14 : 5;
}

static void emit_call(struct out *o, uintptr_t to, int far)
{
	if (!far && reach32(here(o) + 5, to)) {
		put1(o, 0xe8);
		put32(o, (int32_t)(to - (here(o) + 4)));
		return;
	}
	/* call *2(%rip); jmp +8; .quad to */
	static const unsigned char ind[] = { 0xff, 0x15, 2, 0, 0, 0, 0xeb, 8 };
	put(o, ind, sizeof ind);
	put64(o, to);
}

static size_t call_size(int far)
{
	return far ? 16 : 5;
}

/* ---- relocation ------------------------------------------------------------ */
#define MAXD 20 /* displaced instructions at most (14 bytes of 1-byte ones, and some) */

struct disp {
	cs_insn *in;
	size_t n;           /* how many displaced */
	size_t off[MAXD + 1]; /* each one's offset in the trampoline, off[n]: the jump back */
	int far[MAXD];      /* its branch or literal target out of rel32 reach */
};

/* a branch target inside the displaced bytes: the relocated copy */
static int internal(const struct ih_ctx *c, const struct disp *d, uintptr_t t, uintptr_t base, uintptr_t *to)
{
	if (t < c->patch_at || t >= c->patch_at + c->covered)
		return 0;
	for (size_t i = 0; i < d->n; i++)
		if (d->in[i].address == t) {
			*to = base + d->off[i];
			return 1;
		}
	return -1;
}

/* size of the relocated form of displaced instruction i */
static int reloc_size(struct ih_ctx *c, struct disp *d, size_t i, size_t *size)
{
	const cs_insn *in = &d->in[i];
	const cs_x86 *x = &in->detail->x86;
	uintptr_t t, dummy;
	d->far[i] = 0;
	if (in_group(in, X86_GRP_BRANCH_RELATIVE)) {
		if (!branch_target(in, &t))
			return ih_fail(c, "'%s' at +%#lx: a relative branch without a target operand", in->mnemonic,
				       (unsigned long)(in->address - c->target));
		if (x->prefix[2] == 0x66)
			return ih_fail(c, "'%s %s': a 16-bit relative branch", in->mnemonic, in->op_str);
		int inn = internal(c, d, t, 0, &dummy);
		if (inn < 0)
			return ih_fail(c, "'%s %s' branches into the middle of a displaced instruction", in->mnemonic,
				       in->op_str);
		/* `call 1f; 1: pop %rax`: a call into the function's own body reads
		 * the address it pushed, which from the trampoline is another one */
		if (in->id == X86_INS_CALL && t >= c->target && t < c->body_end)
			return ih_fail(c, "'%s %s' calls into its own function (reads its own address)", in->mnemonic,
				       in->op_str);
		d->far[i] = !inn && far_from(c, t);
		if (in->id == X86_INS_JMP)
			*size = jmp_size(d->far[i]);
		else if (in->id == X86_INS_CALL)
			*size = call_size(d->far[i]);
		else if (is_jcc(in->id))
			*size = d->far[i] ? 2 + 14 : 6;
		else if (is_rel8_only(in->id))
			*size = 2 + 2 + jmp_size(d->far[i]) + (in->size - 2);
		else
			return ih_fail(c, "'%s %s': a relative instruction this engine does not relocate", in->mnemonic,
				       in->op_str);
		return 0;
	}
	if (rip_operand(in, &t)) {
		if (x->encoding.disp_offset == 0 || x->encoding.disp_size != 4)
			return ih_fail(c, "'%s %s': no 32-bit displacement to rewrite", in->mnemonic, in->op_str);
		if (t >= c->patch_at && t < c->patch_at + c->covered)
			return ih_fail(c, "'%s %s' reads the displaced bytes", in->mnemonic, in->op_str);
		if (far_from(c, t))
			return ih_fail(c, "'%s %s': its data is out of +-2 GiB of the trampoline", in->mnemonic,
				       in->op_str);
	}
	*size = in->size;
	return 0;
}

static int emit_one(struct ih_ctx *c, struct disp *d, size_t i, struct out *o, uintptr_t base)
{
	const cs_insn *in = &d->in[i];
	const cs_x86 *x = &in->detail->x86;
	uintptr_t t = 0, to = 0;
	if (in_group(in, X86_GRP_BRANCH_RELATIVE)) {
		branch_target(in, &t);
		int inn = internal(c, d, t, base, &to);
		if (!inn)
			to = t;
		int far = d->far[i];
		if (in->id == X86_INS_JMP) {
			emit_jmp(o, to, far);
		} else if (in->id == X86_INS_CALL) {
			emit_call(o, to, far);
		} else if (is_jcc(in->id)) {
			/* the condition code: the low nibble of 0x7X rel8 or 0x0F 0x8X rel32 */
			unsigned cc;
			if (x->opcode[0] == 0x0f && (x->opcode[1] & 0xf0) == 0x80)
				cc = x->opcode[1] & 0x0f;
			else if ((x->opcode[0] & 0xf0) == 0x70)
				cc = x->opcode[0] & 0x0f;
			else
				return ih_fail(c, "'%s %s': unexpected opcode for a jcc", in->mnemonic, in->op_str);
			if (!far && reach32(here(o) + 6, to)) {
				put1(o, 0x0f);
				put1(o, (unsigned char)(0x80 | cc));
				put32(o, (int32_t)(to - (here(o) + 4)));
			} else {
				/* j!cc over the absolute jump */
				put1(o, (unsigned char)(0x70 | (cc ^ 1)));
				put1(o, 14);
				emit_jmp(o, to, 1);
			}
		} else {
			/* jrcxz/loop*: the instruction itself (its prefixes kept) with
			 * rel8 +2 to a long jump, a short jump over it otherwise */
			if (x->encoding.imm_size != 1 || x->encoding.imm_offset != in->size - 1)
				return ih_fail(c, "'%s %s': unexpected encoding", in->mnemonic, in->op_str);
			unsigned char b[16];
			memcpy(b, in->bytes, in->size);
			b[in->size - 1] = 2;
			put(o, b, in->size);
			put1(o, 0xeb);
			put1(o, (unsigned char)jmp_size(far));
			emit_jmp(o, to, far);
		}
		return 0;
	}
	unsigned char b[16];
	memcpy(b, in->bytes, in->size);
	if (rip_operand(in, &t)) {
		int32_t nd = (int32_t)(t - (here(o) + in->size));
		if (!reach32(here(o) + in->size, t))
			return ih_fail(c, "'%s %s': its data is out of +-2 GiB of the trampoline", in->mnemonic,
				       in->op_str);
		memcpy(b + x->encoding.disp_offset, &nd, 4);
	}
	put(o, b, in->size);
	return 0;
}

int ih_arch_build(struct ih_ctx *c)
{
	/* the patch: jmp rel32 to the hook or to the thunk, else an absolute
	 * jump when the page is out of reach */
	size_t need;
	uintptr_t thunk = c->page;
	int use_thunk = 0;
	if (c->near) {
		need = 5;
		use_thunk = !reach32(c->patch_at + 5, c->hook);
	} else {
		need = 14;
	}
	size_t avail = c->map_end - c->patch_at;
	if (avail > 64)
		avail = 64;
	struct disp d;
	memset(&d, 0, sizeof d);
	size_t got = ih_decode(c->cs, c->patch_at, avail, MAXD, &d.in);
	size_t covered = 0, n = 0;
	int ends = 0;
	for (; n < got && covered < need; n++) {
		const cs_insn *in = &d.in[n];
		covered += in->size;
		if (in->id == X86_INS_INT3) {
			ih_free(c->cs, d.in, got);
			return ih_fail(c, "a breakpoint (int3) in the first bytes");
		}
		if (terminal(in)) {
			ends = 1;
			if (covered < need) {
				ih_fail(c, "function too short: '%s' at +%#lx ends it within the %zu patched bytes",
					in->mnemonic, (unsigned long)(in->address - c->target), need);
				ih_free(c->cs, d.in, got);
				return -1;
			}
		}
	}
	if (covered < need) {
		ih_free(c->cs, d.in, got);
		return ih_fail(c, "cannot decode the instruction at +%#lx", (unsigned long)(c->patch_at + covered - c->target));
	}
	d.n = n;
	c->covered = covered;
	c->patch_len = need;
	if (c->size && c->patch_at + covered > c->target + c->size) {
		ih_free(c->cs, d.in, got);
		return ih_fail(c, "function too short: %zu bytes, the patch needs %zu", c->size,
			       (size_t)(c->patch_at + covered - c->target));
	}
	if (c->scan_body(c) != 0) {
		ih_free(c->cs, d.in, got);
		return -1;
	}

	/* layout: [thunk 16][endbr64, relocated instructions, jump back] */
	uintptr_t base = c->page + 16;
	size_t off = 4;
	for (size_t i = 0; i < n; i++) {
		size_t s = 0;
		d.off[i] = off;
		if (reloc_size(c, &d, i, &s) != 0) {
			ih_free(c->cs, d.in, got);
			return -1;
		}
		off += s;
	}
	d.off[n] = off;
	int back_far = !ends && far_from(c, c->patch_at + covered);

	struct out o = { .p = (unsigned char *)c->page, .at = c->page, .cap = c->page_len };
	static const unsigned char pad[16] = { 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
					       0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc };
	if (use_thunk)
		emit_jmp(&o, c->hook, 1);
	put(&o, pad, 16 - o.n);
	static const unsigned char endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	put(&o, endbr64, 4);
	for (size_t i = 0; i < n; i++) {
		if (o.n != 16 + d.off[i]) {
			ih_free(c->cs, d.in, got);
			return ih_fail(c, "internal error: trampoline layout");
		}
		if (emit_one(c, &d, i, &o, base) != 0) {
			ih_free(c->cs, d.in, got);
			return -1;
		}
	}
	ih_free(c->cs, d.in, got);
	if (!ends)
		emit_jmp(&o, c->patch_at + covered, back_far);
	if (o.overflow)
		return ih_fail(c, "internal error: trampoline too large");
	c->tramp = base;
	c->used = o.n;

	/* the patch itself */
	struct out p = { .p = c->patch, .at = c->patch_at, .cap = sizeof c->patch };
	if (c->near)
		emit_jmp(&p, use_thunk ? thunk : c->hook, 0);
	else
		emit_jmp(&p, c->hook, 1);
	if (p.n != need)
		return ih_fail(c, "internal error: patch size");
	return 0;
}
#endif
