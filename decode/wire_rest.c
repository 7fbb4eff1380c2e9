/* The decoders' state at rest and the wipe of their used parts (see
 * decode/wire_rest.h). */
#include "decode/wire_rest.h"

/* The large members of struct wire, in offset order: the wipe's spans. */
_Static_assert(offsetof(struct wire, zscratch_in) < offsetof(struct wire, zscratch_out) &&
		       offsetof(struct wire, zscratch_out) < offsetof(struct wire, zarena) &&
		       offsetof(struct wire, zarena) < offsetof(struct wire, buf) &&
		       offsetof(struct wire, buf) < offsetof(struct wire, h2) &&
		       offsetof(struct h2, arena) + offsetof(struct h2_arena, mem) + H2_ARENA <= sizeof(struct h2),
	       "wire_wipe lists struct wire's buffers in offset order");

void wire_wipe(struct wire *w, uint64_t fed)
{
	/* an inflate stream is set up (z_ensure) before anything is written to
	 * the scratch buffers or the arena, and inflates into buf; HTTP/2 (its
	 * inflater's ops, set by h2_init) writes its arena and stashes fields in
	 * buf at fixed offsets. Other units are stored from buf's start, at
	 * most the bytes fed. */
	int z = w->z.zalloc != NULL;
	int h2 = w->h2.ops != NULL;
	size_t h2mem = offsetof(struct wire, h2) + offsetof(struct h2, arena) + offsetof(struct h2_arena, mem);
	const struct wipe_span spans[] = {
		{ offsetof(struct wire, zscratch_in), sizeof w->zscratch_in, z ? sizeof w->zscratch_in : 0 },
		{ offsetof(struct wire, zscratch_out), sizeof w->zscratch_out, z ? sizeof w->zscratch_out : 0 },
		{ offsetof(struct wire, zarena), sizeof w->zarena, z ? sizeof w->zarena : 0 },
		{ offsetof(struct wire, buf), sizeof w->buf, z || h2 ? sizeof w->buf : wipe_prefix(fed, sizeof w->buf) },
		{ h2mem, H2_ARENA, h2 ? H2_ARENA : 0 },
	};
	wipe_spans(w, sizeof *w, spans, sizeof spans / sizeof spans[0]);
}

int wire_srv_at_rest(const struct wire_srv *w)
{
	switch (w->mode) {
	case SM_PASS:
		return 1;
	case SM_DETECT:
		return w->line_len == 0;
	case SM_HTTP:
		/* between responses, or in a body that runs to the end of the
		 * stream (nothing more is read of it) */
		return (w->hs == SH_LINE && !w->line_len && !w->line_over) || w->hs == SH_EOF_BODY;
	case SM_WS:
		return wire_at_rest(&w->ws);
	default:
		return 0; /* HTTP/2: its inflater cannot be rebuilt */
	}
}

void wire_srv_resume(struct wire_srv *w, const struct wire_config *cfg)
{
	/* line and body are read only after bytes were stored in them, and a
	 * server direction at rest holds none */
	w->cfg = cfg;
	wire_resume(&w->ws, NULL);
}

_Static_assert(offsetof(struct wire_srv, line) < offsetof(struct wire_srv, body) &&
		       offsetof(struct wire_srv, body) < offsetof(struct wire_srv, ws),
	       "wire_srv_wipe lists struct wire_srv's buffers in offset order");

void wire_srv_wipe(struct wire_srv *w, uint64_t fed)
{
	/* HTTP/2 keeps each stream's error body at its slice of body */
	int h2 = w->ws.h2.ops != NULL;
	const struct wipe_span spans[] = {
		{ offsetof(struct wire_srv, line), sizeof w->line, wipe_prefix(fed, sizeof w->line) },
		{ offsetof(struct wire_srv, body), sizeof w->body, h2 ? sizeof w->body : wipe_prefix(fed, sizeof w->body) },
		{ offsetof(struct wire_srv, ws), sizeof w->ws, 0 },
	};
	wire_wipe(&w->ws, fed);
	wipe_spans(w, sizeof *w, spans, sizeof spans / sizeof spans[0]);
}
