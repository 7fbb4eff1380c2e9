/* file_writer: write() to a file, for the shim benchmark (shim_bench.sh).
 * The shim hooks write() but must not follow a file: its cost here is at most
 * one table look-up per call. Writes --mib MiB in --size byte write() calls
 * to --path; a regular file is rewound every 64 MiB so a tmpfs file stays
 * small. Every write must be complete, or the run fails.
 *
 * usage: file_writer --path FILE [--size BYTES] [--mib N]
 * prints: result mode=file size=N bytes=N writes=N seconds=S mibps=X ns_per_write=X
 *         instr_per_write=X (user-space instructions, -1 without a counter)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/perf_event.h>
#include <sys/syscall.h>

#define REWIND (64ull << 20)

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* User-space instructions retired by this thread, from a hardware counter
 * (perf_event_open): noise-free where wall time is not. -1 when the counter
 * is not available (no PMU in the VM, perf_event_paranoid). */
static int instr_fd = -2;

static long long instr_now(void)
{
	if (instr_fd == -2) {
		struct perf_event_attr a;
		memset(&a, 0, sizeof(a));
		a.type = PERF_TYPE_HARDWARE;
		a.size = sizeof(a);
		a.config = PERF_COUNT_HW_INSTRUCTIONS;
		a.exclude_kernel = 1;
		a.exclude_hv = 1;
		instr_fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	}
	long long v;
	if (instr_fd < 0 || read(instr_fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return -1;
	return v;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	size_t size = 1024;
	uint64_t mib = 512;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--path") == 0)
			path = argv[i + 1];
		else if (strcmp(argv[i], "--size") == 0)
			size = (size_t)strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--mib") == 0)
			mib = strtoull(argv[i + 1], NULL, 10);
		else
			path = NULL, argc = 0;
	}
	if (!path || !size || !mib || argc % 2 != 1) {
		fprintf(stderr, "usage: file_writer --path FILE [--size BYTES] [--mib N]\n");
		return 2;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "file_writer: cannot open '%s': %s\n", path, strerror(errno));
		return 1;
	}
	struct stat st;
	int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	char *buf = malloc(size);
	if (!buf)
		return 1;
	for (size_t i = 0; i < size; i++)
		buf[i] = (char)('a' + i % 26);
	uint64_t n = (mib << 20) / size, done = 0, since = 0;
	long long i0 = instr_now();
	double t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		ssize_t w = write(fd, buf, size);
		if (w != (ssize_t)size) {
			fprintf(stderr, "file_writer: short write to '%s': %zd of %zu\n", path, w, size);
			return 1;
		}
		done += (uint64_t)w;
		since += (uint64_t)w;
		if (regular && since >= REWIND) {
			lseek(fd, 0, SEEK_SET);
			since = 0;
		}
	}
	double t1 = now_s();
	long long i1 = instr_now();
	close(fd);
	if (done != n * size) {
		fprintf(stderr, "file_writer: wrote %" PRIu64 " bytes, expected %" PRIu64 "\n", done,
			n * size);
		return 1;
	}
	printf("result mode=file size=%zu bytes=%" PRIu64 " writes=%" PRIu64
	       " seconds=%.6f mibps=%.3f ns_per_write=%.1f instr_per_write=%.1f\n",
	       size, done, n, t1 - t0, (double)done / (1 << 20) / (t1 - t0), (t1 - t0) * 1e9 / (double)n,
	       i0 < 0 || i1 < 0 ? -1.0 : (double)(i1 - i0) / (double)n);
	free(buf);
	return 0;
}
