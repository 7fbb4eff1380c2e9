/* The runner of tests/cross/minicrit/criterion/criterion.h: every Test in
 * the binary (section mc_tests), each in a forked child with a time limit,
 * up to --jobs at once; --filter 'suite/name' takes fnmatch(3) patterns.
 * A child that returns is a pass, one that exits 1 after a failed check a
 * failure, one killed by a signal (the time limit: SIGALRM) a crash. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern const struct mc_test *const __start_mc_tests[];
extern const struct mc_test *const __stop_mc_tests[];
/* weak: a binary may have no TestSuite at all */
extern const struct mc_suite *const __start_mc_suites[] __attribute__((weak));
extern const struct mc_suite *const __stop_mc_suites[] __attribute__((weak));

static const struct mc_suite *suite_of(const struct mc_test *t)
{
	for (const struct mc_suite *const *s = __start_mc_suites; s && s < __stop_mc_suites; s++)
		if (!strcmp((*s)->name, t->suite))
			return *s;
	return NULL;
}

#define MC_DEFAULT_TIMEOUT 300

static int failed_here;

void mc_fail(int fatal, const char *file, int line, const char *what, const char *fmt, ...)
{
	char msg[1024] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	const char *m = msg[0] == ' ' ? msg + 1 : msg;
	fprintf(stderr, "[----] %s:%d: Assertion failed: %s%s%s\n", file, line, what, m[0] ? ": " : "", m);
	fflush(stderr);
	failed_here = 1;
	if (fatal) {
		fflush(stdout);
		_exit(1);
	}
}

void mc_abort(const char *file, int line, const char *what, const char *fmt, ...)
{
	char msg[1024] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	mc_fail(1, file, line, what, "%s", msg);
	_exit(1);
}

void mc_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("[----] ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void run_child(const struct mc_test *t)
{
	const struct mc_suite *s = suite_of(t);
	double timeout = t->timeout > 0 ? t->timeout : s && s->timeout > 0 ? s->timeout : 0;
	void (*init)(void) = t->init ? t->init : s ? s->init : NULL;
	void (*fini)(void) = t->fini ? t->fini : s ? s->fini : NULL;
	unsigned limit = timeout > 0 ? (unsigned)(timeout + 0.999) : MC_DEFAULT_TIMEOUT;
	signal(SIGALRM, SIG_DFL);
	alarm(limit);
	if (init)
		init();
	t->fn();
	if (fini)
		fini();
	fflush(stdout);
	fflush(stderr);
	_exit(failed_here ? 1 : 0);
}

struct running {
	pid_t pid;
	const struct mc_test *t;
};

int main(int argc, char **argv)
{
	int jobs = 1;
	const char *filter = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--jobs") && i + 1 < argc)
			jobs = atoi(argv[++i]);
		else if (!strncmp(argv[i], "--jobs=", 7) || !strncmp(argv[i], "-j", 2))
			jobs = atoi(strchr(argv[i], '=') ? strchr(argv[i], '=') + 1 : argv[i] + 2);
		else if (!strcmp(argv[i], "--filter") && i + 1 < argc)
			filter = argv[++i];
		else if (!strncmp(argv[i], "--filter=", 9))
			filter = argv[i] + 9;
	}
	if (jobs < 1 || jobs > 64)
		jobs = 1;
	struct running run[64];
	int nrun = 0, tested = 0, passing = 0, failing = 0, crashing = 0;
	const struct mc_test *const *next = __start_mc_tests;
	fflush(stdout);
	for (;;) {
		while (nrun < jobs && next < __stop_mc_tests) {
			const struct mc_test *t = *next++;
			char full[256];
			snprintf(full, sizeof full, "%s/%s", t->suite, t->name);
			const struct mc_suite *su = suite_of(t);
			if (t->disabled || (su && su->disabled) || (filter && fnmatch(filter, full, 0) != 0))
				continue;
			pid_t pid = fork();
			if (pid < 0) {
				perror("minicrit: fork");
				return 2;
			}
			if (pid == 0)
				run_child(t);
			run[nrun].pid = pid;
			run[nrun].t = t;
			nrun++;
			tested++;
		}
		if (nrun == 0)
			break;
		int st;
		pid_t pid = waitpid(-1, &st, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			perror("minicrit: waitpid");
			return 2;
		}
		int k;
		for (k = 0; k < nrun && run[k].pid != pid; k++)
			;
		if (k == nrun)
			continue;
		const struct mc_test *t = run[k].t;
		run[k] = run[--nrun];
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			passing++;
		} else if (WIFEXITED(st)) {
			failing++;
			fprintf(stderr, "[FAIL] %s::%s\n", t->suite, t->name);
		} else {
			crashing++;
			fprintf(stderr, "[----] %s::%s: CRASH! (signal %d%s)\n", t->suite, t->name,
				WIFSIGNALED(st) ? WTERMSIG(st) : 0,
				WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM ? ": timed out" : "");
			fprintf(stderr, "[FAIL] %s::%s\n", t->suite, t->name);
		}
	}
	printf("[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Crashing: %d\n", tested, passing, failing,
	       crashing);
	return failing || crashing ? 1 : 0;
}
