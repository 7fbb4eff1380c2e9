/* tokshim mint: placeholder until its issue lands. */
#include <stdio.h>

#include "cli/cli.h"

int cmd_mint(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("tokshim: 'mint' is not built yet\n", stderr);
	return 2;
}
