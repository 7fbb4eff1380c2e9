/* tokshim scan: run a captured client-to-server byte stream through the
 * decoder and validation the shim uses, and print what the shim would have
 * reported. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "decode/session.h"
#include "report/report.h"

static const char scan_usage[] =
	"usage: tokshim scan [OPTIONS] [--host HOST] [--server FILE] [FILE | -]\n"
	"\n"
	"Run one connection's captured client-to-server bytes (the TLS plaintext or the\n"
	"TCP payload, e.g. exported by tshark from a capture decrypted with a key log)\n"
	"through the same decoder and validation as the preload library, and print a\n"
	"diagnosis for each token found. HTTP/1.x, SIP, WebSocket (with\n"
	"permessage-deflate), Twilsock, Voice and Video signalling are recognised; any\n"
	"other text is searched for Twilio JWTs. Reads standard input when FILE is '-'\n"
	"or missing.\n"
	"\n"
	"options:\n"
	"  --server FILE       the server-to-client bytes of the same connection: each\n"
	"                      answer to a token-carrying message is judged beside the\n"
	"                      prediction (an answer record; after_ms is null offline)\n"
	"  --host HOST[:PORT]  the server name (SNI) the stream was sent to; names the\n"
	"                      channel, product and region (tsock.ie1.twilio.com: ie1)\n"
	"  --hosts SPEC        extra host[:port]=product rules, comma separated (or\n"
	"                      TOKSHIM_HOSTS); '*.example.com' matches subdomains\n"
	"  --product P         conversations, sync, voice, video or auto (default auto:\n"
	"                      from the host, the channel and the token's grants)\n"
	"  --secret S          API Key Secret that signed the tokens (or TOKSHIM_SECRET)\n"
	"  --secrets-file F    lines 'SKxxxx SECRET', mode 0600 (or TOKSHIM_SECRETS_FILE)\n"
	"  --account AC...     the Account SID tokens must belong to (or TOKSHIM_ACCOUNT_SID)\n"
	"  --now TIME          judge at TIME: unix seconds or 2026-11-22T20:00:00Z (default: now)\n"
	"  --skew SECONDS      clock-skew allowance (or TOKSHIM_SKEW; default 30)\n"
	"  --json              print one diagnosis object per line\n"
	"  -h, --help          show this help\n"
	"\n"
	"exit status: 0 no token would be rejected (also when none was found: said on\n"
	"stderr), 1 a token would be rejected or a server answer is a reject, 2 usage\n"
	"error or unreadable input\n";

#define SCAN_OUT_MAX (64 * 1024)
#define SCAN_READ (64 * 1024)
#define SCAN_RULES_MAX 64

struct scan_ctx {
	const struct cli_opts *o;
	struct conn_info *ci;
	const struct session *s;
	char *out;
	int found, rejected, write_failed;
};

static void on_diag(void *p, const struct diag *d)
{
	struct scan_ctx *c = p;
	const char *h = session_host(c->s);
	c->ci->host = h[0] ? h : NULL;
	size_t n = c->o->json ? report_format_json(c->out, SCAN_OUT_MAX, d, c->ci)
			      : report_format_text(c->out, SCAN_OUT_MAX, d, c->ci, "", c->o->color);
	if (fwrite(c->out, 1, n, stdout) != n)
		c->write_failed = 1;
	if (d->event == DIAG_EV_TOKEN)
		c->found++;
	if (!d->accept)
		c->rejected = 1;
}

int cmd_scan(int argc, char **argv)
{
	struct cli_opts o;
	cli_opts_init(&o);
	const char *path = NULL, *hosts = NULL, *server_path = NULL;
	int rc = 2, positional_only = 0, fd = -1;
	char *out = NULL;
	unsigned char *buf = NULL;
	struct session *s = NULL;
	struct host_rule *rules = NULL;

	for (int i = 1; i < argc;) {
		const char *a = argv[i];
		if (!positional_only && a[0] == '-' && a[1]) {
			if (!strcmp(a, "--")) {
				positional_only = 1;
				i++;
				continue;
			}
			if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
				fputs(scan_usage, stdout);
				return 0;
			}
			const char *v;
			int used;
			if (cli_opt_value(argc, argv, i, "--server", &v, &used)) {
				if (!v)
					goto usage;
				server_path = v;
				i += used;
				continue;
			}
			if (cli_opt_value(argc, argv, i, "--hosts", &v, &used)) {
				if (!v)
					goto usage;
				hosts = v;
				i += used;
				continue;
			}
			int n = cli_opts_parse_one(&o, argc, argv, i);
			if (n < 0)
				goto usage;
			if (n == 0) {
				cli_errf("tokshim scan: unknown option '%.*s'\n",
				cli_opt_name_len(a), a);
				goto usage;
			}
			i += n;
			continue;
		}
		if (path) {
			fputs("tokshim scan: more than one file given\n", stderr);
			goto usage;
		}
		path = a;
		i++;
	}
	if (cli_opts_finish(&o) < 0)
		goto done;

	struct session_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cli_opts_vconfig(&o, &cfg.v);
	if (!hosts)
		hosts = getenv("TOKSHIM_HOSTS");
	if (hosts && *hosts) {
		rules = calloc(SCAN_RULES_MAX, sizeof *rules);
		struct tk_error err = {0};
		int n = rules ? host_rules_parse(hosts, rules, SCAN_RULES_MAX, &err) : -1;
		if (n < 0) {
			cli_errf("tokshim scan: %s\n", rules ? err.msg : "out of memory");
			goto usage;
		}
		cfg.w.hosts = rules;
		cfg.w.nhosts = (size_t)n;
	}

	if (path && strcmp(path, "-")) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			cli_errf("tokshim scan: cannot open '%s': %s\n", path, strerror(errno));
			goto done;
		}
	} else {
		fd = STDIN_FILENO;
	}

	s = malloc(session_sizeof());
	out = malloc(SCAN_OUT_MAX);
	buf = malloc(SCAN_READ);
	if (!s || !out || !buf) {
		fputs("tokshim scan: out of memory\n", stderr);
		goto done;
	}
	session_init(s, &cfg, 1);
	char hostname[256] = "";
	if (o.host) {
		snprintf(hostname, sizeof hostname, "%s", o.host);
		char *colon = strrchr(hostname, ':');
		if (colon && !strchr(hostname, ']') && colon == strchr(hostname, ':')) {
			char *end;
			long port = strtol(colon + 1, &end, 10);
			if (*end || port <= 0 || port > 65535) {
				cli_errf("tokshim scan: bad port in '--host %.200s'\n", o.host);
				session_release(s);
				goto usage;
			}
			*colon = 0;
			session_set_port(s, (unsigned short)port);
		}
		session_set_host(s, hostname, strlen(hostname));
	}
	struct conn_info ci = {0};
	struct scan_ctx ctx = {.o = &o, .ci = &ci, .s = s, .out = out};
	for (;;) {
		ssize_t n = read(fd, buf, SCAN_READ);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cli_errf("tokshim scan: cannot read '%s': %s\n", path ? path : "-",
				strerror(errno));
			session_release(s);
			goto done;
		}
		if (n == 0)
			break;
		session_feed(s, buf, (size_t)n, o.now, on_diag, &ctx);
	}
	/* the end of the file ends the stream: a token as its very last bytes */
	session_end(s, o.now, on_diag, &ctx);
	if (server_path) {
		/* offline, no times: each answer after the message it replies to */
		int sfd = strcmp(server_path, "-") ? open(server_path, O_RDONLY | O_CLOEXEC) : -1;
		if (sfd < 0) {
			fprintf(stderr, "tokshim scan: cannot open '%s': %s\n", server_path,
				strcmp(server_path, "-") ? strerror(errno) : "--server needs a file");
			session_release(s);
			goto done;
		}
		for (;;) {
			ssize_t n = read(sfd, buf, SCAN_READ);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				fprintf(stderr, "tokshim scan: cannot read '%s': %s\n", server_path, strerror(errno));
				close(sfd);
				session_release(s);
				goto done;
			}
			if (n == 0)
				break;
			session_feed_server(s, buf, (size_t)n, o.now, on_diag, &ctx);
		}
		close(sfd);
	}
	int pass = session_passthrough(s);
	session_release(s);
	if (ctx.write_failed || fflush(stdout) == EOF) {
		cli_errf("tokshim scan: cannot write output: %s\n", strerror(errno));
		goto done;
	}
	if (!ctx.found)
		cli_errf("tokshim scan: no token found%s\n",
			pass ? " (the stream is not one the decoder can read: TLS records or binary)" : "");
	rc = ctx.rejected ? 1 : 0;
	goto done;

usage:
	fputs("try 'tokshim scan --help'\n", stderr);
	rc = 2;
done:
	if (fd > STDIN_FILENO)
		close(fd);
	free(buf);
	free(out);
	free(s);
	free(rules);
	cli_opts_release(&o);
	return rc;
}
