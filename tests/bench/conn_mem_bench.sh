#!/usr/bin/env bash
# conn_mem_bench.sh: what the shim keeps in memory per judged, live Twilsock
# connection (TLS, the server's side read), printed with its target and
# PASS/MISS in callgrind_bench.sh's columns. Called by tests/bench/run.sh
# (`make bench`); a smoke run (BENCH_CONN_N1/BENCH_CONN_N2 small) by
# t_bench_smoke.sh.
#
# tests/e2e/many/live_mem.sh holds N2 connections from one client
# (tests/bench/tools/tsock_many) with and without the shim and reads the
# client's anonymous memory between N1 and N2 open connections, each judged
# at its init, with its answer awaited and once received: baseline is the
# client's own bytes per connection, shimmed with the shim, added the
# difference (the larger of the two phases). The fixed part (the CONN_HOT
# connections that keep their block, the pool's blocks, the code) falls
# outside the slope; it is printed beside.
#
# Exit status: 0 when the run completed (whether or not the target is met),
# 1 when it failed.
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
N1=${BENCH_CONN_N1:-300}
N2=${BENCH_CONN_N2:-3300}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/conn_mem_bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
LIVE_LIFETIME=0 LIVE_TTL=3600 B="$B" bash tests/e2e/many/live_mem.sh "$tmp/run" "$N1" "$N2" 0 >"$tmp/out" 2>"$tmp/err" ||
	{ echo "conn_mem_bench: FAILED: $(tail -5 "$tmp/err")" >&2; exit 1; }
printf '%-34s %14s %14s %9s %9s  %s\n' "# name" baseline shimmed added limit verdict
awk -v n1="$N1" -v n2="$N2" '$1 == "bytes_per_conn" { w[$2] = $3; r[$2] = $4 } $1 == "anon_bytes" { m1[$2] = $3 }
	END {
		aw = w["B"] - w["A"]; rc = r["B"] - r["A"]
		d = aw > rc ? aw : rc
		printf "# anonymous bytes per connection, %d to %d open: answer awaited +%d, received +%d\n", n1, n2, aw, rc
		printf "# fixed: with %d open the shim adds %d KiB (hot connections, pooled blocks, table)\n", n1, (m1["B"] - m1["A"] - n1 * d) / 1024
		printf "%-34s %14d %14d %9d %9d  %s\n", "conn_judged_bytes", r["A"], r["A"] + d, d, 2048, (d <= 2048 ? "PASS" : "MISS")
	}' "$tmp/out"
