/* Entry patching: what the driver (inline.c) and the architecture back ends
 * share, in a file of its own so that neither calls into the other's: the
 * decoding calls into capstone and the refusal's reason. */
#include <stdarg.h>
#include <stdio.h>

#include "shim/inline_int.h"

#ifdef IH_SUPPORTED
size_t ih_decode(const struct ih_cs *c, uintptr_t addr, size_t len, size_t count, cs_insn **out)
{
	*out = NULL;
	if (!len)
		return 0;
	return c->disasm(c->h, (const uint8_t *)addr, len, addr, count, out);
}

void ih_free(const struct ih_cs *c, cs_insn *in, size_t n)
{
	if (in)
		c->free(in, n);
}

int ih_fail(struct ih_ctx *c, const char *fmt, ...)
{
	if (c->why && c->why_len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->why, c->why_len, fmt, ap);
		va_end(ap);
	}
	return -1;
}
#endif
