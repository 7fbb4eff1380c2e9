/* The wall clock for the CLI and the syslog header (report.h). */
#include <errno.h>
#include <time.h>

#include "report/report.h"

#include "decode/cold.h"

TK_COLD int report_wall_clock(int64_t *out)
{
	struct timespec ts;
	int saved = errno;
	int r = clock_gettime(CLOCK_REALTIME, &ts);
	errno = saved;
	if (r != 0)
		return -1;
	*out = (int64_t)ts.tv_sec;
	return 0;
}
