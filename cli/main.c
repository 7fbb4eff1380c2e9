/* tokshim: the command beside libtokshim.so. Dispatches to the verbs. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"


#ifndef TOKSHIM_VERSION
#define TOKSHIM_VERSION "0.1.0"
#endif

static const char usage[] =
	"usage: tokshim <command> [options]\n"
	"\n"
	"Diagnose Twilio Access Tokens (errors 51007, 51215) before the server rejects them.\n"
	"\n"
	"commands:\n"
	"  check [OPTIONS] [TOKEN | -]      validate one token offline\n"
	"  scan [OPTIONS] [FILE | -]        run a captured client-to-server stream through the decoder\n"
	"  run [OPTIONS] -- CMD [ARGS...]   run CMD with libtokshim.so preloaded\n"
	"  report [--json] FILE...          summarise JSON-lines diagnosis logs\n"
	"  mint [OPTIONS]                   sign a test token (for demos and tests)\n"
	"\n"
	"  tokshim COMMAND --help           options of one command\n"
	"  tokshim --version                print the version\n"
	"\n"
	"environment (read by the preloaded library; check and scan read the secret,\n"
	"account and skew ones too):\n"
	"  TOKSHIM_OUTPUT TOKSHIM_SECRET TOKSHIM_SECRETS_FILE TOKSHIM_ACCOUNT_SID\n"
	"  TOKSHIM_SKEW TOKSHIM_LEVEL TOKSHIM_HOSTS TOKSHIM_HOOKS TOKSHIM_DISABLE NO_COLOR\n"
	"\n"
	"exit status: 0 accepted, 1 rejected (or not a token), 2 usage error or unreadable input\n"
	"see tokshim(1) for the details\n";

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	const char *verb = argv[1];
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h") || !strcmp(verb, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(verb, "--version") || !strcmp(verb, "-V")) {
		printf("tokshim %s\n", TOKSHIM_VERSION);
		return 0;
	}
	if (!strcmp(verb, "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(verb, "scan"))
		return cmd_scan(argc - 1, argv + 1);
	if (!strcmp(verb, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(verb, "report"))
		return cmd_report(argc - 1, argv + 1);
	if (!strcmp(verb, "mint"))
		return cmd_mint(argc - 1, argv + 1);
	fprintf(stderr, "tokshim: unknown command '%s'\n\n%s", verb, usage);
	return 2;
}
