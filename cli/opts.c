/* Options shared by `check` and `scan` (cli/opts.h). Secrets never reach any
 * output: messages name the option or the file, never the value. */
#include "cli/cli.h"
#include "cli/opts.h"
#include "config/secrets_file.h"
#include "report/report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


int cli_read_fd(int fd, size_t max, char **out, size_t *outlen)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return -1;
	for (;;) {
		if (len == cap) {
			if (cap > max) {
				free(buf);
				errno = EFBIG;
				return -1;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				errno = ENOMEM;
				return -1;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		free(buf);
		errno = EFBIG;
		return -1;
	}
	if (len == cap) {
		char *nb = realloc(buf, cap + 1);
		if (!nb) {
			free(buf);
			errno = ENOMEM;
			return -1;
		}
		buf = nb;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

void cli_opts_init(struct cli_opts *o)
{
	memset(o, 0, sizeof *o);
	o->product = PRODUCT_UNKNOWN;
	o->skew = 30;
}

/* "--name VALUE" or "--name=VALUE": 1 when argv[*i] is that option, with
 * *val set (NULL after printing an error when the value is missing) and
 * *used the number of arguments taken. */
int cli_opt_value(int argc, char **argv, int i, const char *name, const char **val, int *used)
{
	const char *a = argv[i];
	size_t n = strlen(name);
	if (strncmp(a, name, n))
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		*used = 1;
		return 1;
	}
	if (a[n])
		return 0;
	if (i + 1 >= argc) {
		cli_errf("tokshim: option '%s' needs a value\n", name);
		*val = NULL;
		*used = 1;
		return 1;
	}
	*val = argv[i + 1];
	*used = 2;
	return 1;
}

int cli_opt_name_len(const char *arg)
{
	size_t n = strcspn(arg, "=");
	return (int)(n < 40 ? n : 40);
}

int cli_opts_parse_one(struct cli_opts *o, int argc, char **argv, int i)
{
	const char *a = argv[i], *v;
	int used;
	if (!strcmp(a, "--json")) {
		o->json = 1;
		return 1;
	}
	if (cli_opt_value(argc, argv, i, "--product", &v, &used)) {
		if (!v)
			return -1;
		int p = product_from_name(v);
		if (p < 0) {
			cli_errf("tokshim: invalid '--product': '%.40s' (conversations, sync, voice, video, auto)\n", v);
			return -1;
		}
		o->product = (enum product)p;
		return used;
	}
	if (cli_opt_value(argc, argv, i, "--secret", &v, &used)) {
		if (!v)
			return -1;
		if (!*v) {
			fputs("tokshim: invalid '--secret': empty\n", stderr);
			return -1;
		}
		o->secret_arg = v;
		return used;
	}
	if (cli_opt_value(argc, argv, i, "--secrets-file", &v, &used)) {
		if (!v)
			return -1;
		o->secrets_file = v;
		return used;
	}
	if (cli_opt_value(argc, argv, i, "--account", &v, &used)) {
		if (!v)
			return -1;
		if (!sid_is(v, strlen(v), "AC")) {
			cli_errf("tokshim: invalid '--account': '%.40s' (AC followed by 32 hex digits)\n", v);
			return -1;
		}
		o->account = v;
		return used;
	}
	if (cli_opt_value(argc, argv, i, "--now", &v, &used)) {
		if (!v)
			return -1;
		if (parse_time(v, &o->now) < 0) {
			cli_errf("tokshim: invalid '--now': '%.40s' (unix seconds or 2026-11-22T20:00:00Z)\n", v);
			return -1;
		}
		o->have_now = 1;
		return used;
	}
	if (cli_opt_value(argc, argv, i, "--skew", &v, &used)) {
		if (!v)
			return -1;
		if (parse_skew(v, &o->skew) < 0) {
			cli_errf("tokshim: invalid '--skew': '%.40s' (seconds, 0 to %d)\n", v, SKEW_MAX);
			return -1;
		}
		o->have_skew = 1;
		return used;
	}
	if (cli_opt_value(argc, argv, i, "--host", &v, &used)) {
		if (!v)
			return -1;
		o->host = v;
		return used;
	}
	return 0;
}

/* Reads a secrets file into keys (secrets_file_load). strict: a problem is
 * an error (-1, message printed); else a warning and the file is skipped. */
static int load_secrets_file(struct keyring *keys, const char *path, const char *what, int strict)
{
	struct tk_error err = {0};
	enum secrets_status st = secrets_file_load(keys, path, &err);
	if (st == SECRETS_OK)
		return 0;
	const char *kind = strict ? "error" : "warning";
	if (st == SECRETS_MISSING)
		cli_errf("tokshim: %s: %s (%zu characters): %s\n", kind, what, strlen(path), err.msg);
	else if (st == SECRETS_MODE)
		cli_errf("tokshim: %s: %s: refusing '%s': %s%s\n", kind, what, path, err.msg,
			strict ? "" : "; its keys are not used");
	else
		cli_errf("tokshim: %s: %s: '%s': %s\n", kind, what, path, err.msg);
	return strict ? -1 : 0;
}

int cli_opts_finish(struct cli_opts *o)
{
	const char *env;
	o->keys = keyring_new();
	if (!o->keys) {
		fputs("tokshim: out of memory\n", stderr);
		return -1;
	}
	/* the command line wins over the environment, variable by variable */
	const char *secret = o->secret_arg;
	const char *secret_what = "--secret";
	if (!secret && (env = getenv("TOKSHIM_SECRET")) && *env) {
		secret = env;
		secret_what = "TOKSHIM_SECRET";
	}
	if (secret) {
		struct tk_error err = {0};
		if (keyring_add(o->keys, NULL, secret, strlen(secret), &err) < 0) {
			cli_errf("tokshim: invalid '%s': %s\n", secret_what, err.msg);
			return -1;
		}
	}
	if (o->secrets_file) {
		if (load_secrets_file(o->keys, o->secrets_file, "--secrets-file", 1) < 0)
			return -1;
	} else if ((env = getenv("TOKSHIM_SECRETS_FILE")) && *env) {
		load_secrets_file(o->keys, env, "TOKSHIM_SECRETS_FILE", 0);
	}
	if (!keyring_count(o->keys)) {
		keyring_free(o->keys);
		o->keys = NULL;
	}
	if (!o->account && (env = getenv("TOKSHIM_ACCOUNT_SID")) && *env) {
		if (sid_is(env, strlen(env), "AC"))
			o->account = env;
		else
			cli_errf("tokshim: warning: TOKSHIM_ACCOUNT_SID: '%.40s' is not an Account SID "
					"(AC followed by 32 hex digits), ignored\n", env);
	}
	if (!o->have_skew && (env = getenv("TOKSHIM_SKEW")) && *env) {
		if (parse_skew(env, &o->skew) < 0) {
			cli_errf("tokshim: warning: TOKSHIM_SKEW: '%.40s' is not a number of seconds "
					"(0 to %d), using 30\n", env, SKEW_MAX);
			o->skew = 30;
		}
	}
	if (!o->have_now && report_wall_clock(&o->now) < 0) {
		fprintf(stderr, "tokshim: cannot read 'the clock': %s; pass --now\n", strerror(EOVERFLOW));
		return -1;
	}
	env = getenv("NO_COLOR");
	o->color = isatty(STDOUT_FILENO) && !(env && *env);
	return 0;
}

void cli_opts_release(struct cli_opts *o)
{
	keyring_free(o->keys);
	o->keys = NULL;
}

void cli_opts_vconfig(const struct cli_opts *o, struct vconfig *v)
{
	vconfig_init(v);
	v->keys = o->keys;
	v->account_sid = o->account;
	v->skew = o->skew;
	v->product = o->product;
}
