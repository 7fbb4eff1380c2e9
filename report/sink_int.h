/* What the sink files of report/ share (not for use outside report/). */
#ifndef TOKSHIM_REPORT_SINK_INT_H
#define TOKSHIM_REPORT_SINK_INT_H

#include <stddef.h>

#include "report/fd_watch.h"
#include "report/report.h"

/* s zeroed, min_sev SEV_INFO: the start of every constructor. */
void sink_clear(struct sink *s);
/* A sink state of size bytes whose first head bytes are zeroed and whose
 * rest (its record buffer, written before every use) is left untouched:
 * the buffer's pages are not touched, so not resident, before the first
 * record. NULL when out of memory. */
void *sink_state_alloc(size_t size, size_t head);
#define SINK_STATE_ALLOC(type) ((type *)sink_state_alloc(sizeof(type), offsetof(type, buf)))
/* free(s->state): the release of a sink whose state holds nothing else. */
void sink_free_state(struct sink *s);
/* "<ident>[pid]: " into buf, "" when ident is empty. */
void sink_prefix(char *buf, size_t cap, const char *ident);

/* The time of a syslog header that is not a diagnosis's: the wall clock,
 * or the epoch when it cannot be read (a 32-bit time_t after 2038): a wrong
 * date in a header, never a wrapped one. */
int64_t sink_header_time(void);
/* The syslog severity of a diagnosis (both syslog sinks): LOG_ERR for a
 * reject, LOG_WARNING with warnings, LOG_INFO otherwise. */
int sink_syslog_priority(const struct diag *d);

#endif
