/* A small runner with the part of Criterion's interface the unit tests use
 * (Test, cr_assert*, cr_expect*, cr_log_info), for targets without a
 * Criterion package (Debian has none for armhf). Each test runs in a child
 * made with fork(), never by re-executing the binary, so the suite runs
 * under qemu-user without binfmt_misc. The summary line is Criterion's:
 * "[====] Synthesis: Tested: N | Passing: P | Failing: F | Crashing: C".
 * The runner itself: tests/cross/minicrit/minicrit.c. */
#ifndef TOKSHIM_MINICRIT_H
#define TOKSHIM_MINICRIT_H

#include <stdio.h>
#include <string.h>

struct mc_test {
	const char *suite, *name;
	void (*fn)(void);
	/* Criterion's options that tests may name */
	double timeout;   /* seconds, 0: the runner's default */
	int disabled;
	int signal, exit_code;
	void (*init)(void), (*fini)(void);
	const char *description;
};

/* TestSuite(name, options): defaults for the suite's tests */
struct mc_suite {
	const char *name;
	double timeout;
	int disabled;
	void (*init)(void), (*fini)(void);
	const char *description;
};

/* a failed check in this test (cr_assert ends the test, cr_expect goes on);
 * fmt is the test's message with one space in front */
void mc_fail(int fatal, const char *file, int line, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void mc_abort(const char *file, int line, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));
void mc_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define MC_CAT_(a, b) a##b
#define MC_CAT(a, b) MC_CAT_(a, b)
#define Test(S_, N_, ...)                                                                   \
	static void MC_CAT(mc_fn_##S_##_, N_)(void);                                        \
	static const struct mc_test MC_CAT(mc_t_##S_##_, N_) = {                            \
		.suite = #S_, .name = #N_, .fn = MC_CAT(mc_fn_##S_##_, N_), __VA_ARGS__ \
	};                                                                                       \
	static const struct mc_test *const MC_CAT(mc_p_##S_##_, N_)                         \
		__attribute__((used, section("mc_tests"))) = &MC_CAT(mc_t_##S_##_, N_);    \
	static void MC_CAT(mc_fn_##S_##_, N_)(void)

#define TestSuite(S_, ...)                                                                 \
	static const struct mc_suite mc_s_##S_ = {.name = #S_, __VA_ARGS__};                 \
	static const struct mc_suite *const mc_sp_##S_ __attribute__((used, section("mc_suites"))) = &mc_s_##S_

#define MC_CHECK(fatal, cond, what, ...)                                                         \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			if (fatal)                                                               \
				mc_abort(__FILE__, __LINE__, what, " " __VA_ARGS__);             \
			else                                                                     \
				mc_fail(0, __FILE__, __LINE__, what, " " __VA_ARGS__);           \
		}                                                                                \
	} while (0)

#define cr_assert(c, ...) MC_CHECK(1, c, #c, __VA_ARGS__)
#define cr_expect(c, ...) MC_CHECK(0, c, #c, __VA_ARGS__)
#define cr_assert_not(c, ...) MC_CHECK(1, !(c), "!(" #c ")", __VA_ARGS__)
#define cr_expect_not(c, ...) MC_CHECK(0, !(c), "!(" #c ")", __VA_ARGS__)
#define cr_assert_eq(a, b, ...) MC_CHECK(1, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) MC_CHECK(0, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) MC_CHECK(1, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) MC_CHECK(0, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) MC_CHECK(1, (a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) MC_CHECK(0, (a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) MC_CHECK(1, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) MC_CHECK(0, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) MC_CHECK(1, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) MC_CHECK(0, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) MC_CHECK(1, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) MC_CHECK(0, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_null(a, ...) MC_CHECK(1, (a) == NULL, #a " == NULL", __VA_ARGS__)
#define cr_expect_null(a, ...) MC_CHECK(0, (a) == NULL, #a " == NULL", __VA_ARGS__)
#define cr_assert_not_null(a, ...) MC_CHECK(1, (a) != NULL, #a " != NULL", __VA_ARGS__)
#define cr_expect_not_null(a, ...) MC_CHECK(0, (a) != NULL, #a " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) MC_CHECK(1, strcmp((a), (b)) == 0, #a " equals " #b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...) MC_CHECK(0, strcmp((a), (b)) == 0, #a " equals " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) MC_CHECK(1, strcmp((a), (b)) != 0, #a " differs from " #b, __VA_ARGS__)
#define cr_assert_str_empty(a, ...) MC_CHECK(1, (a)[0] == '\0', #a " is empty", __VA_ARGS__)
#define cr_assert_fail(...) mc_abort(__FILE__, __LINE__, "cr_assert_fail", " " __VA_ARGS__)
#define cr_log_info(...) mc_log(__VA_ARGS__)

#endif
