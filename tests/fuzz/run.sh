#!/usr/bin/env bash
# Runs each given libFuzzer target for FUZZ_SECONDS (default 60), seeded from
# tests/fuzz/corpus/<target>/ (read only: new inputs go to a scratch directory).
# A crash, leak or timeout is kept in $B/fuzz/artifacts/<target>/ and makes the
# script exit non-zero.  usage: B=build FUZZ_SECONDS=20 tests/fuzz/run.sh fuzz_wire ...
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
secs=${FUZZ_SECONDS:-60}
rc=0
[ $# -gt 0 ] || { echo "usage: tests/fuzz/run.sh TARGET..." >&2; exit 2; }
for t in "$@"; do
	bin=$B/fuzz/$t
	if [ ! -x "$bin" ]; then
		echo "fuzz $t: $bin is not built (make B=$B $bin)"
		rc=1
		continue
	fi
	seeds=tests/fuzz/corpus/$t
	work=$(mktemp -d)
	art=$B/fuzz/artifacts/$t/
	mkdir -p "$art"
	log=$(mktemp)
	dirs=("$work")
	[ -d "$seeds" ] && dirs+=("$seeds")
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
		"$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len=262144 \
		-artifact_prefix="$art" -print_final_stats=1 "${dirs[@]}" >"$log" 2>&1
	r=$?
	if [ $r -ne 0 ]; then
		echo "fuzz $t: FAILED (exit $r); artifacts in $art"
		tail -n 60 "$log"
		rc=1
	else
		runs=$(grep -a 'stat::number_of_executed_units' "$log" | awk '{print $2}')
		echo "fuzz $t: ok, ${runs:-?} runs in ${secs}s"
	fi
	rm -rf "$work" "$log"
done
exit $rc
