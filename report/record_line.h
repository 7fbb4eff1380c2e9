/* What a line of a log holds: the reader side of the json and syslog:cee
 * sinks (report/record_line.c), for `tokshim report` on a collector's files.
 * Pure: a line in, a slice of it out. */
#ifndef TOKSHIM_REPORT_RECORD_LINE_H
#define TOKSHIM_REPORT_RECORD_LINE_H

#include <stddef.h>

enum record_line {
	RECORD_LINE_JSON,   /* a JSON line (first non-blank byte '{') */
	RECORD_LINE_CEE,    /* a syslog line whose message is "@cee:" + JSON */
	RECORD_LINE_SYSLOG, /* a syslog line with another message (skipped) */
	RECORD_LINE_OTHER,  /* neither */
};

/* Classifies line[0..n) (no newline). For JSON and CEE, *json and *json_n are
 * the record's JSON text inside line (borrowed; blanks around it trimmed;
 * not checked to be JSON). Syslog lines recognised: RFC 5424 with or without
 * <PRI> ("<14>1 TIME HOST APP PROCID MSGID SD MSG", as forwarded or written
 * by RSYSLOG_SyslogProtocol23Format), and RFC 3164 shapes with or without
 * <PRI> and HOST ("[<PRI>]TIME [HOST] TAG MSG", TIME "Mmm dd hh:mm:ss" or
 * RFC 3339; the TAG "app[pid]:", its colon optional after a HOST: /dev/log,
 * RSYSLOG_TraditionalFileFormat, RSYSLOG_FileFormat).
 * The cookie must start the message (blanks before it allowed, as
 * mmjsonparse allows them). */
enum record_line record_line_json(const char *line, size_t n, const char **json, size_t *json_n);

#endif
