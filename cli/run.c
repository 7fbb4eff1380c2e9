/* tokshim run: run a command with libtokshim.so preloaded, options mapped
 * onto the TOKSHIM_* environment the shim reads at load. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "config/secrets_file.h"
#include "decode/diag.h"
#include "decode/wire.h"
#include "report/reporter.h"

static const char run_usage[] =
	"usage: tokshim run [OPTIONS] -- CMD [ARGS...]\n"
	"\n"
	"Run CMD with libtokshim.so preloaded (put in front of any LD_PRELOAD): every\n"
	"Twilio Access Token it sends is diagnosed before the server answers.\n"
	"Each option sets the environment variable the shim reads.\n"
	"\n"
	"options:\n"
	"  --output LIST       TOKSHIM_OUTPUT: stderr, syslog, syslog:cee, json:PATH, none\n"
	"                      (comma list)\n"
	"  --secret S          TOKSHIM_SECRET: API Key Secret to verify signatures\n"
	"  --secrets-file F    TOKSHIM_SECRETS_FILE: lines 'SKxxxx SECRET', mode 0600\n"
	"  --account AC...     TOKSHIM_ACCOUNT_SID: the Account SID tokens must belong to\n"
	"  --skew SECONDS      TOKSHIM_SKEW: clock-skew allowance (default 30)\n"
	"  --level L           TOKSHIM_LEVEL: least severity reported: error, warning, info\n"
	"  --hosts LIST        TOKSHIM_HOSTS: extra host[:port]=product pairs\n"
	"  --hooks DESC        TOKSHIM_HOOKS: runtime hook descriptions (libffi)\n"
	"  --disable           TOKSHIM_DISABLE=1: load the shim but hook nothing\n"
	"  -h, --help          show this help\n"
	"\n"
	"exit status: CMD's; 127 when CMD is not found, 126 when it cannot be run,\n"
	"2 on a usage error\n";

#ifndef TOKSHIM_LIBDIR
#define TOKSHIM_LIBDIR ""
#endif

#define LIB_NAME "libtokshim.so"

static int is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The shim: beside this executable, then ../lib/tokshim/ from it, then the
 * compiled-in TOKSHIM_LIBDIR. 0 with out filled (absolute). */
static int find_library(char *out, size_t cap)
{
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	const char *tried[3] = {NULL, NULL, NULL};
	char t0[PATH_MAX + 64] = "", t1[PATH_MAX + 64] = "";
	if (realpath("/proc/self/exe", exe)) {
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(t0, sizeof t0, "%s/" LIB_NAME, exe);
			snprintf(t1, sizeof t1, "%s/../lib/tokshim/" LIB_NAME, exe);
			tried[0] = t0;
			tried[1] = t1;
		}
	}
	if (TOKSHIM_LIBDIR[0]) {
		snprintf(cand, sizeof cand, "%s/" LIB_NAME, TOKSHIM_LIBDIR);
		tried[2] = cand;
	}
	for (int i = 0; i < 3; i++) {
		if (tried[i] && is_file(tried[i]) && realpath(tried[i], out) && strlen(out) < cap)
			return 0;
	}
	fputs("tokshim run: cannot find '" LIB_NAME "' (looked in", stderr);
	for (int i = 0; i < 3; i++)
		if (tried[i])
			cli_errf(" '%s'", tried[i]);
	fputs(")\n", stderr);
	return -1;
}

/* Non-zero when lib is already one of LD_PRELOAD's entries (':' or ' '). */
static int preload_has(const char *list, const char *lib)
{
	size_t n = strlen(lib);
	for (const char *p = list; *p;) {
		size_t k = strcspn(p, ": ");
		if (k == n && !strncmp(p, lib, n))
			return 1;
		p += k;
		if (*p)
			p++;
	}
	return 0;
}

/* The checks the shim makes when it loads the file; a bad line is left to
 * the shim's warning. */
static int secrets_file_ok(const char *path)
{
	struct keyring *kr = keyring_new();
	struct tk_error err = {0};
	enum secrets_status st = SECRETS_UNREADABLE;
	if (kr)
		st = secrets_file_load(kr, path, &err);
	else
		tk_error_set(&err, "out of memory");
	keyring_free(kr);
	if (st == SECRETS_OK || st == SECRETS_BAD_LINE)
		return 1;
	if (st == SECRETS_MISSING)
		cli_errf("tokshim run: cannot use '--secrets-file' (%zu characters): %s\n", strlen(path), err.msg);
	else if (st == SECRETS_MODE)
		cli_errf("tokshim run: refusing '--secrets-file' '%s': %s\n", path, err.msg);
	else
		cli_errf("tokshim run: cannot use '--secrets-file': '%s': %s\n", path, err.msg);
	return 0;
}

struct run_map {
	const char *opt, *env;
};

static const struct run_map run_opts[] = {
	{"--output", "TOKSHIM_OUTPUT"},       {"--secret", "TOKSHIM_SECRET"},
	{"--secrets-file", "TOKSHIM_SECRETS_FILE"}, {"--account", "TOKSHIM_ACCOUNT_SID"},
	{"--skew", "TOKSHIM_SKEW"},           {"--level", "TOKSHIM_LEVEL"},
	{"--hosts", "TOKSHIM_HOSTS"},         {"--hooks", "TOKSHIM_HOOKS"},
};
#define NOPTS (sizeof run_opts / sizeof *run_opts)

/* Checks one option's value; prints the error. Never echoes a secret. */
static int value_ok(const char *opt, const char *v)
{
	int64_t skew;
	if (!strcmp(opt, "--secret")) {
		if (!*v)
			fputs("tokshim run: invalid '--secret': empty\n", stderr);
		return *v != '\0';
	}
	if (!strcmp(opt, "--secrets-file"))
		return secrets_file_ok(v);
	struct tk_error oerr = {0};
	if (!strcmp(opt, "--output") && reporter_output_valid(v, &oerr) < 0) {
		cli_errf("tokshim run: invalid '--output': '%.80s' (comma list of stderr, syslog, "
				"syslog:cee, json:PATH, none)\n", v);
		return 0;
	}
	if (!strcmp(opt, "--account") && !sid_is(v, strlen(v), "AC")) {
		cli_errf("tokshim run: invalid '--account': '%.40s' (AC followed by 32 hex digits)\n", v);
		return 0;
	}
	if (!strcmp(opt, "--skew") && parse_skew(v, &skew) < 0) {
		cli_errf("tokshim run: invalid '--skew': '%.40s' (seconds, 0 to %d)\n", v, SKEW_MAX);
		return 0;
	}
	if (!strcmp(opt, "--level") && severity_from_name(v) < 0) {
		cli_errf("tokshim run: invalid '--level': '%.40s' (error, warning, info)\n", v);
		return 0;
	}
	if (!strcmp(opt, "--hosts") && *v) {
		static struct host_rule rules[64];
		struct tk_error err = {0};
		if (host_rules_parse(v, rules, sizeof rules / sizeof *rules, &err) < 0) {
			cli_errf("tokshim run: invalid '--hosts': %s\n", err.msg);
			return 0;
		}
	}
	return 1;
}

int cmd_run(int argc, char **argv)
{
	const char *vals[NOPTS] = {0};
	int disable = 0, i = 1;
	while (i < argc) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-')
			break; /* CMD without "--" */
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(run_usage, stdout);
			return 0;
		}
		if (!strcmp(a, "--disable")) {
			disable = 1;
			i++;
			continue;
		}
		size_t k;
		int used = 0;
		const char *v = NULL;
		for (k = 0; k < NOPTS; k++)
			if (cli_opt_value(argc, argv, i, run_opts[k].opt, &v, &used))
				break;
		if (k == NOPTS) {
			cli_errf("tokshim run: unknown option '%.*s'\n",
				cli_opt_name_len(a), a);
			goto usage;
		}
		if (!v || !value_ok(run_opts[k].opt, v))
			goto usage;
		vals[k] = v;
		i += used;
	}
	if (i >= argc) {
		fputs("tokshim run: no command given\n", stderr);
		goto usage;
	}

	char lib[PATH_MAX];
	if (find_library(lib, sizeof lib) < 0)
		return 2;
	for (size_t k = 0; k < NOPTS; k++)
		if (vals[k] && setenv(run_opts[k].env, vals[k], 1) < 0)
			goto nomem;
	if (disable && setenv("TOKSHIM_DISABLE", "1", 1) < 0)
		goto nomem;
	const char *old = getenv("LD_PRELOAD");
	if (!old || !*old) {
		if (setenv("LD_PRELOAD", lib, 1) < 0)
			goto nomem;
	} else if (!preload_has(old, lib)) {
		size_t n = strlen(lib) + 1 + strlen(old) + 1;
		char *both = malloc(n);
		if (!both)
			goto nomem;
		snprintf(both, n, "%s:%s", lib, old);
		int rc = setenv("LD_PRELOAD", both, 1);
		free(both);
		if (rc < 0)
			goto nomem;
	}
	fflush(NULL);
	execvp(argv[i], argv + i);
	int e = errno;
	cli_errf("tokshim run: cannot run '%s': %s\n", argv[i], strerror(e));
	return e == ENOENT || e == ENOTDIR ? 127 : 126;

nomem:
	fputs("tokshim run: out of memory\n", stderr);
	return 2;
usage:
	fputs("try 'tokshim run --help'\n", stderr);
	return 2;
}
