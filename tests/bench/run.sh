#!/usr/bin/env bash
# Runs every benchmark binary in $B/bench/ (one per tests/bench/bench_*.c), in
# turn, printing their output. Exit status: non-zero when any of them failed.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
status=0
found=0
for bin in "$B"/bench/bench_*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	found=1
	echo "==== $(basename "$bin")"
	if ! "$bin"; then
		echo "bench: $(basename "$bin") failed" >&2
		status=1
	fi
done
if [ "$found" = 0 ]; then
	echo "bench: no benchmark binaries in $B/bench/ (build them with make bench)" >&2
	exit 1
fi
# what the shim costs its host (issue 5)
echo "==== shim_bench"
bash tests/bench/shim_bench.sh || status=1
# what a followed HTTP/2 connection costs (issue 15)
echo "==== h2_bench"
bash tests/bench/h2_bench.sh || status=1
# what the read hooks cost (issue 14)
echo "==== read_bench"
bash tests/bench/read_bench.sh || status=1
# instruction counts under callgrind: Twilsock messages, exec, idle PSS (issue 13)
echo "==== callgrind_bench"
bash tests/bench/callgrind_bench.sh || status=1
# what a judged, live connection keeps in memory (issue 13)
echo "==== conn_mem_bench"
bash tests/bench/conn_mem_bench.sh || status=1
# the per-write fast path on aarch64 under qemu-user, beside x86-64 (issue 13)
echo "==== aarch64_bench"
bash tests/bench/aarch64_bench.sh || status=1
# what entry patching costs (issue 12)
echo "==== inline_bench"
bash tests/bench/inline_bench.sh || status=1
exit "$status"
