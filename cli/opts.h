/* Options shared by `check` and `scan`: secrets, account, clock, skew,
 * product, output. Secrets given here never reach any output. */
#ifndef TOKSHIM_CLI_OPTS_H
#define TOKSHIM_CLI_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "decode/validate.h"

struct cli_opts {
	int json;               /* --json */
	int color;              /* decided by cli_opts_finish: stdout is a TTY and NO_COLOR unset */
	enum product product;   /* --product, PRODUCT_UNKNOWN = auto */
	struct keyring *keys;   /* new; from --secret, --secrets-file, TOKSHIM_SECRET(S_FILE) */
	const char *account;    /* --account or TOKSHIM_ACCOUNT_SID, borrowed from argv/env */
	int64_t now;            /* --now, else time(NULL) */
	int64_t skew;           /* --skew or TOKSHIM_SKEW, default 30 */
	const char *host;       /* --host (scan) */
	int have_now;
	/* private */
	const char *secret_arg, *secrets_file;
	int have_skew;
};

void cli_opts_init(struct cli_opts *o);
/* Looks at argv[i]. Returns how many arguments it consumed (1 or 2) when it
 * is a shared option, 0 when it is not one, -1 after printing a usage error. */
int cli_opts_parse_one(struct cli_opts *o, int argc, char **argv, int i);
/* Applies the environment and defaults, loads secrets. 0, or -1 after
 * printing an error (exit 2). */
int cli_opts_finish(struct cli_opts *o);
void cli_opts_release(struct cli_opts *o);
/* Fills a vconfig that borrows from o. */
void cli_opts_vconfig(const struct cli_opts *o, struct vconfig *v);

/* Helpers for the verbs (added with cli/opts.c). */
#define CLI_INPUT_MAX (1 << 20) /* check/scan read at most this much */
/* "--name VALUE" or "--name=VALUE": returns 1 when argv[i] is that option,
 * with *val set (NULL after printing "option needs a value") and *used the
 * number of arguments taken; 0 when argv[i] is another argument. */
int cli_opt_value(int argc, char **argv, int i, const char *name, const char **val, int *used);
/* How much of an unknown argument an error message may show: its name up
 * to '=' (never the value: `--secert=VALUE` may hold a secret), at most 40. */
int cli_opt_name_len(const char *arg);
/* Reads fd to its end into a new NUL-terminated buffer (free it). 0, or -1
 * with errno set (EFBIG: more than max bytes). */
int cli_read_fd(int fd, size_t max, char **buf, size_t *len);

#endif
