/* tokshim check: placeholder until its issue lands. */
#include <stdio.h>

#include "cli/cli.h"

int cmd_check(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("tokshim: 'check' is not built yet\n", stderr);
	return 2;
}
