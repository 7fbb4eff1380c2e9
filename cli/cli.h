/* The command-line tool's verbs. Each returns the process exit status:
 * 0 accept, 1 reject (or not a token), 2 usage error or unreadable input. */
#ifndef TOKSHIM_CLI_H
#define TOKSHIM_CLI_H

int cmd_check(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
/* Test and demo helper: sign a token from claims given as options. */
int cmd_mint(int argc, char **argv);

/* A message on stderr (printf-style) with everything a terminal must not
 * get raw escaped (report_escape: controls, C1, bidi, U+2028/9): messages
 * quote option values, file names and environment variables. */
void cli_errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
