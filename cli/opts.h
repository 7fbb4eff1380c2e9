/* Options shared by `check` and `scan`: secrets, account, clock, skew,
 * product, output. Secrets given here never reach any output. */
#ifndef TOKSHIM_CLI_OPTS_H
#define TOKSHIM_CLI_OPTS_H

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

#endif
