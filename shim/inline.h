/* Entry patching ("inline hooks"): the engine. It knows nothing of TLS; the
 * integration (which functions, in which objects, when) sits above it.
 *
 * inline_hook(target, hook, &orig, why, sizeof why) overwrites the first
 * instructions of the function at `target` with a branch to `hook`. On
 * success *orig is a trampoline: the displaced instructions, relocated, then
 * a branch back into the function; calling it reaches the original. `hook`
 * has the target's signature and is entered as if called (the caller's
 * return address and arguments untouched), so it may call *orig once or
 * several times, or not at all.
 *
 * Returns 0, or -1 with a one-line lower-case reason in why[] (at most
 * why_len bytes, always terminated; why may be NULL). On -1 nothing changed:
 * no byte of the target written, no page left mapped, *orig untouched.
 * errno is preserved either way.
 *
 * How (x86-64):
 *   - an `endbr64` at the entry stays where it is; the patch goes after it;
 *   - the patch is `jmp rel32` (5 bytes) to the hook, or to a 14-byte thunk
 *     `jmp *0(%rip); .quad hook` in the trampoline page when the hook is out
 *     of rel32 reach; the trampoline page is mapped within +-2 GiB of the
 *     target (closest free range in /proc/self/maps). When no page is free
 *     within reach, the patch is the 14-byte `jmp *0(%rip); .quad hook`;
 *   - displaced instructions: RIP-relative operands get a new disp32 (refused
 *     when the data is out of +-2 GiB of the trampoline); jmp/jcc/call
 *     rel8/rel32 become rel32 forms (a short jcc a near one), or absolute
 *     forms through a literal when out of reach; jrcxz/loop* are kept with a
 *     rel8 to a local long jump; a branch into the displaced bytes goes to
 *     the relocated copy.
 * How (aarch64):
 *   - a `bti` at the entry stays; the patch is one `b` (4 bytes) to the hook
 *     or to a thunk `ldr x16, #8; br x16; .quad hook` in a trampoline page
 *     within +-128 MiB; else the 16-byte `ldr x16, #8; br x16; .quad hook`;
 *   - displaced instructions: ADR/ADRP become a literal load of the address;
 *     LDR/LDRSW (literal) of W/X registers load the address into the target
 *     register then the value; SIMD/FP literal loads go through x16; PRFM
 *     (literal) is dropped (a hint); B/BL become `b`/`bl` when in reach, else
 *     `ldr x16, =addr; br/blr x16`; B.cond/CBZ/CBNZ/TBZ/TBNZ keep their
 *     condition with a short offset to a local branch to the target.
 *     x16 (IP0, free at a function entry under the AAPCS64) is the only
 *     scratch register; a function whose displaced instructions touch x16
 *     before a place that needs the scratch is refused.
 *
 * Refused (-1, nothing changed):
 *   - an instruction capstone (4.0.2) cannot decode among the displaced
 *     ones (on aarch64 it lacks e.g. the LSE atomics and retaa/braa);
 *   - too short: a ret, an unconditional branch out, a trap (ud2, hlt) before
 *     the end of the bytes the patch covers, or a known size (the hint, or
 *     the st_size of the dynamic symbol at target found with dladdr1)
 *     smaller than them; a breakpoint (int3, brk) in them;
 *   - a branch, or an address computation (lea/adr/literal load), in the
 *     function body that points into the patched bytes (the entry itself
 *     included, except a call to it or its address taken: a direct recursive
 *     call is a call like any other and reaches the hook). The body is
 *     [target, target + size) when the size is known, else a linear sweep
 *     from the entry that stops at an unconditional end beyond every forward
 *     branch seen, at an undecodable byte, or after INLINE_SCAN_MAX bytes
 *     (on aarch64 an undecodable word inside a sized body is skipped, as
 *     data; on x86-64 it refuses);
 *   - a displaced call (call, bl) into the function's own body: `call 1f;
 *     1: pop` reads the address it pushed, which the trampoline would change;
 *     an adr of the displaced bytes;
 *   - PC-relative instructions the engine does not relocate (xbegin, rel16
 *     branches, ADR/ADRP/LDR literal to xzr, ...), RIP-relative data out of
 *     +-2 GiB of the trampoline, on aarch64 a displaced instruction using
 *     x16 before a place that needs the scratch;
 *   - target not in a readable and executable mapping, already hooked by
 *     this engine, or its displaced bytes overlapping another hooked entry;
 *     libcapstone.so.4 not loadable (the reason is kept: later calls fail
 *     at once); no memory for the page; mprotect refused (SELinux execmod).
 *
 * Memory and protection (W^X throughout):
 *   - each hook owns one page (getpagesize()), mmap'ed RW with
 *     MAP_FIXED_NOREPLACE near the target, written, then mprotect'ed R-X
 *     (and the instruction cache flushed on aarch64) before the entry is
 *     touched; it is never made writable again and never unmapped once used;
 *   - the entry is written with each page it spans (one or two) mprotect'ed
 *     to R-W (never W and X together), then restored to the protection
 *     /proc/self/maps gave for that page; signals are blocked on the calling
 *     thread meanwhile and the code running between the two mprotects (the
 *     poke, raw system calls, no libc) sits in its own section: when a page
 *     to patch holds that code, the bytes are written through /proc/self/mem
 *     instead (no protection change at all), and refused if that fails;
 *   - the instruction cache is flushed over the patched bytes on aarch64.
 *
 * Threads (the remaining risk): call inline_hook only when no other thread
 * can be executing the function's first bytes, nor (while the page is R-W)
 * any code in the page(s) holding them: at load, before other threads exist,
 * or inside dlopen for an object no other thread has been handed yet. The
 * write itself is as atomic as the hardware allows: *orig is published
 * before the entry changes; on x86-64 the patch bytes are merged into their
 * aligned 8-byte word and stored with one 8-byte store (lock cmpxchg16b when
 * they cross into the next word of an aligned 16), else the bytes past the
 * first word are written first and that word last; on aarch64 the 4-byte
 * `b` is one aligned store, and the 16-byte form follows the same word rule
 * (what lies past the aligned 8-byte word holding its first instruction
 * first, that word in one store last). A thread entering the function sees
 * the old or the new entry; a thread already inside the displaced bytes at
 * that instant is not safe, whatever the ordering, hence the rule above.
 * Calls are serialised by one lock, never held while the loader's lock is
 * taken (capstone is loaded, and dladdr1 asked, before it): a thread in
 * dlopen holding the loader's lock may call inline_hook while another one is
 * inside it. After fork() in a child, call inline_after_fork() before using
 * the engine again.
 *
 * Other limits: the trampoline has no unwind information, so a C++
 * exception or a backtrace crossing a call made by a displaced instruction
 * (a call in the first bytes) does not get through it, and the callee of
 * such a call sees a return address in the trampoline; code elsewhere
 * branching into the middle of the patched bytes (another function's tail,
 * a cold part split off the function) is not seen unless within the scanned
 * body; on aarch64 the far forms branch back with `br x16`, which a page
 * mapped with PROT_BTI would refuse (the near forms use `b` only). Hooks
 * are never removed and the registry never forgets a target: the caller
 * keeps the patched object loaded (a dlopen reference), as an unloaded
 * object's address could be reused by another. Each hook costs one page.
 *
 * Cost: nothing until the first call; then libcapstone.so.4 is dlopen'ed
 * (RTLD_NOW | RTLD_LOCAL, through libc's dlopen) and its functions found
 * with the shim's own dlsym path (shim_real_dlsym), once. libtokshim.so is
 * not linked with capstone. Off x86-64 and aarch64 every call returns -1. */
#ifndef TOKSHIM_SHIM_INLINE_H
#define TOKSHIM_SHIM_INLINE_H

#include <stddef.h>

/* Bytes the body scan covers at most (a size hint or st_size above this is
 * clipped to it). */
#define INLINE_SCAN_MAX (256 * 1024)
/* Hooks one process can hold. */
#define INLINE_MAX 256

int inline_hook(void *target, void *hook, void **orig, char *why, size_t why_len);

/* The same, with the function's size in bytes when the caller knows it
 * (st_size from .symtab); 0: unknown (then the dynamic symbol's size, if
 * the symbol at target has one, else the linear sweep). */
int inline_hook_sized(void *target, size_t size, void *hook, void **orig, char *why, size_t why_len);

/* The trampoline of target when this engine hooked it, else NULL. */
void *inline_original(const void *target);

/* Number of functions hooked (tests, statistics). */
int inline_count(void);

/* In a child after fork(): the engine's lock is fresh again. */
void inline_after_fork(void);

#endif
