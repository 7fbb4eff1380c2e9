/* tokshim run: placeholder until its issue lands. */
#include <stdio.h>

#include "cli/cli.h"

int cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("tokshim: 'run' is not built yet\n", stderr);
	return 2;
}
