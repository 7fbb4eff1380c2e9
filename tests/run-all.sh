#!/usr/bin/env bash
# The whole test suite, as `make test` runs it. Ends with one summary line:
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
MAKE=${MAKE:-make}
export B PYTHON=${PYTHON:-/usr/bin/python3}
passed=0
failed=0
failures=()

# criterion prints "[====] Synthesis: Tested: N | Passing: P | Failing: F | Crashing: C"
run_criterion() {
	local name=$1 log
	shift
	log=$(mktemp)
	"$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local line p f c
	line=$(grep -a 'Synthesis:' "$log" | tail -n 1)
	p=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$line")
	f=$(sed -n 's/.*Failing: \([0-9]*\).*/\1/p' <<<"$line")
	c=$(sed -n 's/.*Crashing: \([0-9]*\).*/\1/p' <<<"$line")
	rm -f "$log"
	if [ -z "$p" ]; then
		failed=$((failed + 1)); failures+=("$name (no synthesis, exit $rc)")
		return
	fi
	passed=$((passed + p))
	failed=$((failed + ${f:-0} + ${c:-0}))
	if [ "$rc" != 0 ] || [ "${f:-0}" != 0 ] || [ "${c:-0}" != 0 ]; then failures+=("$name"); fi
}

# a step that counts as one test
run_step() {
	local name=$1
	shift
	echo "==== $name"
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); failures+=("$name")
	fi
}

if [ -z "${CROSS_ONLY:-}" ]; then
echo "==== unit tests"
if $MAKE --no-print-directory "$B/unit_tests"; then
	run_criterion unit "$B/unit_tests" --jobs 2
else
	failed=$((failed + 1)); failures+=("unit (build)")
fi

echo "==== unit tests under ASan/UBSan"
if $MAKE --no-print-directory unit-asan-build; then
	run_criterion unit-asan env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		"$B/asan/unit_tests" --jobs 2
else
	failed=$((failed + 1)); failures+=("unit-asan (build)")
fi

# short fuzz runs (the long ones are `make fuzz`)
for f in tests/fuzz/fuzz_*.c; do
	[ -e "$f" ] || continue
	t=$(basename "$f" .c)
	run_step "fuzz $t (short)" bash -c "$MAKE --no-print-directory $B/fuzz/$t && FUZZ_SECONDS=${FUZZ_SHORT_SECONDS:-20} bash tests/fuzz/run.sh $t"
done

# end-to-end and CLI scripts: each tests/e2e/t_*.sh is one test
for t in tests/e2e/t_*.sh; do
	[ -e "$t" ] || continue
	run_step "$(basename "$t" .sh)" timeout 300 bash "$t"
done
fi

# The cross targets (CROSS_ARCHS, default arm64 armhf): everything built with
# Debian's cross toolchain into build-ARCH/, then under qemu-user the unit
# tests and the end-to-end scripts whose clients are C programs (the servers
# stay native, on 127.0.0.1). tests/cross/ says how.
CROSS_E2E="t_cli_check t_demo t_shim_ffi t_shim_dlopen t_cross_target"
for a in ${CROSS_ARCHS-arm64 armhf}; do
	echo "==== build ($a)"
	if $MAKE --no-print-directory -j2 ARCH="$a" B="build-$a" all examples "build-$a/unit_tests"; then
		run_criterion "unit ($a)" tests/cross/run.sh "$a" "build-$a/unit_tests" --jobs 2
		for t in $CROSS_E2E; do
			[ -e "tests/e2e/$t.sh" ] || continue
			run_step "$t ($a)" env MAKE="$MAKE" B="build-$a" bash tests/cross/e2e.sh "$a" "tests/e2e/$t.sh"
		done
		# dlsym(RTLD_NEXT) through the shim when the compiler makes no tail
		# calls: the assembly entry points, not the optimiser, keep the caller
		if $MAKE --no-print-directory -j2 ARCH="$a" B="build-$a/O0" CFLAGS="-O0 -g" all; then
			run_step "t_shim_dlopen -O0 ($a)" env MAKE="$MAKE" B="build-$a/O0" \
				bash tests/cross/e2e.sh "$a" tests/e2e/t_shim_dlopen.sh
		else
			failed=$((failed + 1)); failures+=("build -O0 ($a)")
		fi
	else
		failed=$((failed + 1)); failures+=("build ($a)")
	fi
done

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ ${#failures[@]} = 0 ]
