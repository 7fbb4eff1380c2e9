/* tokshim check: validate one token offline and say why it would fail. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "decode/validate.h"
#include "report/report.h"

static const char check_usage[] =
	"usage: tokshim check [OPTIONS] [TOKEN | -]\n"
	"\n"
	"Validate one Twilio Access Token offline, as the server would, and explain\n"
	"every problem found. The token is read from standard input when it is '-'\n"
	"or missing (one trailing newline is not part of it).\n"
	"\n"
	"options:\n"
	"  --product P         conversations, sync, voice, video or auto (default auto:\n"
	"                      judge the grants present, demand none)\n"
	"  --secret S          API Key Secret that signed the token (or TOKSHIM_SECRET)\n"
	"  --secrets-file F    lines 'SKxxxx SECRET', mode 0600 (or TOKSHIM_SECRETS_FILE)\n"
	"  --account AC...     the Account SID the token must belong to (or TOKSHIM_ACCOUNT_SID)\n"
	"  --now TIME          judge at TIME: unix seconds or 2026-11-22T20:00:00Z (default: now)\n"
	"  --skew SECONDS      clock-skew allowance (or TOKSHIM_SKEW; default 30)\n"
	"  --json              print the diagnosis as one JSON object\n"
	"  -h, --help          show this help\n"
	"\n"
	"exit status: 0 accepted (warnings allowed), 1 rejected or not a token,\n"
	"2 usage error or unreadable input\n";

/* Big enough for every cause at full length: records are never cut here. */
#define CHECK_OUT_MAX (64 * 1024)

int cmd_check(int argc, char **argv)
{
	struct cli_opts o;
	cli_opts_init(&o);
	const char *arg = NULL;
	int rc = 2, positional_only = 0;
	char *input = NULL, *out = NULL;
	const char *tok;
	size_t len = 0;

	for (int i = 1; i < argc;) {
		const char *a = argv[i];
		if (!positional_only && a[0] == '-' && a[1]) {
			if (!strcmp(a, "--")) {
				positional_only = 1;
				i++;
				continue;
			}
			if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
				fputs(check_usage, stdout);
				return 0;
			}
			int n = cli_opts_parse_one(&o, argc, argv, i);
			if (n < 0)
				goto usage;
			if (n == 0 || o.host) {
				cli_errf("tokshim check: unknown option '%.*s'\n",
				cli_opt_name_len(a), a);
				goto usage;
			}
			i += n;
			continue;
		}
		if (arg) {
			fputs("tokshim check: more than one token given\n", stderr);
			goto usage;
		}
		arg = a;
		i++;
	}
	if (cli_opts_finish(&o) < 0)
		goto done;

	if (arg && strcmp(arg, "-")) {
		tok = arg;
		len = strlen(arg);
	} else {
		if (cli_read_fd(STDIN_FILENO, CLI_INPUT_MAX, &input, &len) < 0) {
			if (errno == EFBIG)
				cli_errf("tokshim check: input too large (more than %d bytes)\n", CLI_INPUT_MAX);
			else
				cli_errf("tokshim check: cannot read standard input: %s\n", strerror(errno));
			goto done;
		}
		if (len && input[len - 1] == '\n') {
			len--;
			if (len && input[len - 1] == '\r')
				len--;
		}
		tok = input;
	}

	struct vconfig vc;
	cli_opts_vconfig(&o, &vc);
	static struct diag d;
	validate(tok, len, o.now, &vc, &d);

	out = malloc(CHECK_OUT_MAX);
	if (!out) {
		fputs("tokshim check: out of memory\n", stderr);
		goto done;
	}
	size_t n = o.json ? report_format_json(out, CHECK_OUT_MAX, &d, NULL)
			  : report_format_text(out, CHECK_OUT_MAX, &d, NULL, "", o.color);
	if (fwrite(out, 1, n, stdout) != n || fflush(stdout) == EOF) {
		cli_errf("tokshim check: cannot write output: %s\n", strerror(errno));
		goto done;
	}
	rc = d.accept ? 0 : 1;
	goto done;

usage:
	fputs("try 'tokshim check --help'\n", stderr);
	rc = 2;
done:
	if (input) {
		explicit_bzero(input, len);
		free(input);
	}
	free(out);
	cli_opts_release(&o);
	return rc;
}
