/* Entry patching (inline hooks): the first instructions of a function are
 * replaced by a jump to a hook; the hook reaches the original behaviour
 * through a trampoline that runs the displaced instructions (relocated) and
 * jumps back. The disassembler (capstone) is loaded lazily, at the first
 * call, with dlopen. */
#ifndef TOKSHIM_SHIM_INLINE_H
#define TOKSHIM_SHIM_INLINE_H

#include <stddef.h>

/* Patches target's entry to jump to hook and sets *orig to the trampoline
 * calling the original function. 0 on success; -1 when the entry cannot be
 * patched safely (why: a lower-case reason, NUL-terminated, at most why_len
 * bytes), nothing changed then. Call only where no other thread can be
 * running target's first bytes (at load, in dlopen before it returns). */
int inline_hook(void *target, void *hook, void **orig, char *why, size_t why_len);

#endif
