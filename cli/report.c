/* tokshim report: placeholder until its issue lands. */
#include <stdio.h>

#include "cli/cli.h"

int cmd_report(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("tokshim: 'report' is not built yet\n", stderr);
	return 2;
}
