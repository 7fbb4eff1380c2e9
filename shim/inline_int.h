/* Entry patching, inside: what the driver (inline.c) and the architecture
 * back ends (inline_x86_64.c, inline_aarch64.c) share. Not for other files;
 * the interface is shim/inline.h. */
#ifndef TOKSHIM_SHIM_INLINE_INT_H
#define TOKSHIM_SHIM_INLINE_INT_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__aarch64__)
#define IH_SUPPORTED 1
#include <capstone/capstone.h>

/* libcapstone.so.4, found at run time (never linked). */
struct ih_cs {
	csh h;
	size_t (*disasm)(csh, const uint8_t *, size_t, uint64_t, size_t, cs_insn **);
	void (*free)(cs_insn *, size_t);
};

/* inline_cs.c: decoding and refusing, what the driver and the back ends
 * share. Decodes at most count instructions at addr (len bytes readable
 * there); returns how many, *out to give back with ih_free. */
size_t ih_decode(const struct ih_cs *cs, uintptr_t addr, size_t len, size_t count, cs_insn **out);
void ih_free(const struct ih_cs *cs, cs_insn *in, size_t n);

/* One instruction as the body scan sees it. */
struct ih_ref {
	int has_ref;     /* ref is set */
	uintptr_t ref;   /* the PC-relative address it names */
	int is_call;     /* a direct call to ref */
	int is_addr;     /* ref is only computed (lea, adr), not branched to or read */
	int is_jump;     /* a branch to ref (may fall through when conditional) */
	int terminal;    /* control never falls through (ret, jmp, trap) */
};

/* The plan for one hook, filled in turn by the driver and the back end. */
struct ih_ctx {
	const struct ih_cs *cs;
	uintptr_t target;      /* the function's first byte */
	size_t size;           /* its size when known, else 0 */
	uintptr_t map_end;     /* end of the readable mapping holding target */
	uintptr_t hook;
	/* from ih_arch_entry */
	uintptr_t patch_at;    /* first byte the patch overwrites (after endbr64/bti) */
	/* the trampoline page: address it will run at, and its RW buffer (the
	 * same memory: mapped RW now, R-X once written) */
	uintptr_t page;
	size_t page_len;
	int near;              /* page within ih_arch_reach() of patch_at */
	/* from ih_arch_build */
	size_t patch_len;      /* bytes written at patch_at */
	unsigned char patch[16];
	size_t covered;        /* bytes of whole displaced instructions (>= patch_len) */
	uintptr_t body_end;    /* end of the function body as scan_body bounded it */
	/* the driver's body scan, handed to the back end (which calls it once
	 * the displaced bytes are known): references into
	 * [target, patch_at + covered) from the function body, except from the
	 * displaced instructions themselves; sets body_end. 0 fine, -1 refused
	 * (why set) */
	int (*scan_body)(struct ih_ctx *c);
	uintptr_t tramp;       /* the trampoline's address (in the page) */
	size_t used;           /* bytes of the page written */
	char *why;
	size_t why_len;
};

/* Tests only: non-zero makes every hook take the far forms (no page looked
 * for near the target), so that those paths run on a machine where a near
 * page is always found. */
extern int ih_test_far;

/* why[] for c, printf-style; returns -1. */
int ih_fail(struct ih_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));


/* ---- per architecture ------------------------------------------------------- */
/* capstone's arch and mode for this machine. */
void ih_arch_cs(cs_arch *arch, cs_mode *mode);
/* Distance within which the page makes the short patch possible. */
uintptr_t ih_arch_reach(void);
/* Instruction alignment (bytes to skip at an undecodable word in the
 * scan), 0 when a failure ends the sweep (x86: no resynchronisation). */
size_t ih_arch_skip(void);
/* Sets c->patch_at (after a kept endbr64/bti). */
int ih_arch_entry(struct ih_ctx *c);
/* Decodes and relocates the displaced instructions into the page, fills
 * patch[]/patch_len, covered, tramp, used; calls c->scan_body. */
int ih_arch_build(struct ih_ctx *c);
/* What the body scan needs of in. */
void ih_arch_classify(const cs_insn *in, struct ih_ref *r);
#endif

#endif
