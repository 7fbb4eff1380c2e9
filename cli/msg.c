/* Messages of the tool on stderr, escaped (cli_errf in cli.h): one file of
 * its own, which every verb uses and which uses none of them. */
#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"
#include "report/report.h"

void cli_errf(const char *fmt, ...)
{
	char msg[2048], out[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = report_escape(out, sizeof out, msg, sizeof msg);
	if (len && out[len - 1] != '\n' && msg[n > 0 && (size_t)n < sizeof msg ? n - 1 : 0] == '\n')
		out[len++] = '\n'; /* cut: the line still ends */
	fwrite(out, 1, len, stderr);
}
