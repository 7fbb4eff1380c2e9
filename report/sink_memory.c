/* The memory sink, for tests: records (and lines) appended to a buffer. */
#include "report/sink_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mem_state {
	enum sink_memory_kind kind;
	size_t cap, len, records;
	char *data;
	char buf[REPORT_RECORD_MAX];
};

static void mem_append(struct mem_state *m, const char *p, size_t n)
{
	if (n > m->cap - m->len)
		return; /* dropped whole */
	memcpy(m->data + m->len, p, n);
	m->len += n;
	m->data[m->len] = '\0';
	m->records++;
}

static int mem_write(struct sink *s, const struct diag *d, const struct conn_info *ci)
{
	struct mem_state *m = s->state;
	size_t n;
	switch (m->kind) {
	case SINK_MEM_JSON:
		n = report_format_json(m->buf, sizeof m->buf, d, ci);
		break;
	case SINK_MEM_KV:
		n = report_format_kv_ex(m->buf, sizeof m->buf - 1, d, ci, s->min_sev);
		m->buf[n++] = '\n';
		break;
	default:
		n = report_format_text_ex(m->buf, sizeof m->buf, d, ci, "", 0, s->min_sev);
	}
	mem_append(m, m->buf, n);
	return 0;
}

static int mem_line(struct sink *s, enum severity sev, const char *line)
{
	(void)sev;
	struct mem_state *m = s->state;
	int n = snprintf(m->buf, sizeof m->buf, "%s\n", line);
	if (n > 0 && (size_t)n < sizeof m->buf)
		mem_append(m, m->buf, (size_t)n);
	return 0;
}

static void mem_release(struct sink *s)
{
	struct mem_state *m = s->state;
	if (m)
		free(m->data);
	sink_free_state(s);
}

static const struct sink_ops mem_ops = {
	.name = "memory",
	.write = mem_write,
	.write_line = mem_line,
	.release = mem_release,
};
/* a JSON memory sink takes no lines, like the json sink */
static const struct sink_ops mem_json_ops = {
	.name = "memory",
	.write = mem_write,
	.release = mem_release,
};

int sink_memory_open(struct sink *s, enum sink_memory_kind kind, size_t cap, struct tk_error *err)
{
	sink_clear(s);
	struct mem_state *m = calloc(1, sizeof *m);
	char *data = malloc(cap + 1);
	if (!m || !data) {
		free(m);
		free(data);
		tk_error_set(err, "cannot open 'memory' sink: out of memory");
		return -1;
	}
	m->kind = kind;
	m->cap = cap;
	m->data = data;
	data[0] = '\0';
	s->state = m;
	s->ops = kind == SINK_MEM_JSON ? &mem_json_ops : &mem_ops;
	if (kind == SINK_MEM_JSON)
		s->flags = SINK_F_ALL_REPEATS; /* like the json sink */
	return 0;
}

const char *sink_memory_data(const struct sink *s, size_t *len, size_t *records)
{
	const struct mem_state *m = s->state;
	if (len)
		*len = m->len;
	if (records)
		*records = m->records;
	return m->data;
}

void sink_memory_clear(struct sink *s)
{
	struct mem_state *m = s->state;
	m->len = 0;
	m->records = 0;
	m->data[0] = '\0';
}
