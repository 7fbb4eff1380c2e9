/* tokshim scan: placeholder until its issue lands. */
#include <stdio.h>

#include "cli/cli.h"

int cmd_scan(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("tokshim: 'scan' is not built yet\n", stderr);
	return 2;
}
