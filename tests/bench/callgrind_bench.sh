#!/usr/bin/env bash
# callgrind_bench.sh: instruction counts (valgrind --tool=callgrind, the
# referee of issue 13) of what the shim adds, each figure printed with its
# target and PASS/MISS. Called by tests/bench/run.sh (`make bench`); a smoke
# run (BENCH_CG_SMOKE=1: one small pair per figure) by t_bench_smoke.sh.
#
# Per-write figures: tls_client (tests/bench/tools) in stream mode against
# tls_server, run under callgrind at two stream lengths, A (no shim) and B
# (LD_PRELOAD shim with the bench secret): instructions per write =
# (I(long) - I(short)) / (writes(long) - writes(short)), which leaves out
# start-up, the handshake and the init. Twilsock figures send every bulk
# frame as a whole Twilsock message (binary, or text with --text); the
# deflate figures send them compressed, permessage-deflate negotiated with
# client_no_context_takeover: the shim inflates each message's start, up
# to its Twilsock header, and skips the rest by length. Their limit, +320%
# of the bench's small writes (a compressed message of 236 or 335 bytes),
# is zlib's own work on a message's start, about 20 k instructions: the
# Huffman tables of its dynamic block built (11 k) and read (5 k) before
# its first byte, then the header inflated; a message inflated whole
# again, as the _ctx figures do, misses it. The _ctx figures, context
# takeover (every byte inflated, for the dictionary): information, no
# limit (limit "-", INFO).
# Exec figures: /bin/true's whole run; PSS: idle `sleep` processes (below).
#
# BENCH_CG_ONLY=REGEX runs only the per-write figures whose name matches.
#
# Exit status: 0 when every run completed (whether or not targets are met),
# 1 when a run failed, 2 when valgrind is missing.
set -u
cd "$(dirname "$0")/../.." || exit 2
B=${B:-build}
TOOLS=$B/bench/tools
SMOKE=${BENCH_CG_SMOKE:-0}
command -v valgrind >/dev/null || { echo "callgrind_bench: valgrind not installed" >&2; exit 2; }
SHIM=$(realpath "$B/libtokshim.so")
BENCH_NAME=callgrind_bench
. tests/bench/tls_server_lib.sh
SHIMENV=("LD_PRELOAD=$SHIM" "TOKSHIM_SECRET=$SECRET" "TOKSHIM_ACCOUNT_SID=$ACCOUNT" "TOKSHIM_OUTPUT=json:$tmp/shim.jsonl")

# ir SIDE CMD...: total instructions of CMD under callgrind (SIDE A: no shim, B: shim)
ir() {
	local side=$1
	shift
	local -a e=("${CLEAN[@]}")
	[ "$side" = B ] && e+=("${SHIMENV[@]}")
	timeout -k 5 600 "${e[@]}" valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$@" \
		>"$tmp/out" 2>"$tmp/err" || fail "$side: $* exited $?: $(tail -5 "$tmp/err")"
	awk '/^totals:/ { print $2; exit }' "$tmp/cg.out"
}

printf '%-34s %14s %14s %9s %9s  %s\n' "# name" baseline shimmed added% limit% verdict
# per_write NAME LIMIT_PCT SIZE MIB_SHORT MIB_LONG [client args]
per_write() {
	local name=$1 lim=$2 size=$3 m1=$4 m2=$5
	shift 5
	[[ $name =~ ${BENCH_CG_ONLY:-.} ]] || return 0
	local c=("$TOOLS/tls_client" --cafile "$tmp/cert.pem" --port "$TLS_PORT" --mode stream --size "$size" "$@")
	local w1=$((m1 * 1048576 / size)) w2=$((m2 * 1048576 / size)) a1 a2 b1 b2
	a1=$(ir A "${c[@]}" --mib "$m1"); a2=$(ir A "${c[@]}" --mib "$m2")
	b1=$(ir B "${c[@]}" --mib "$m1"); b2=$(ir B "${c[@]}" --mib "$m2")
	awk -v n="$name" -v l="$lim" -v a1="$a1" -v a2="$a2" -v b1="$b1" -v b2="$b2" -v w="$((w2 - w1))" 'BEGIN {
		a = (a2 - a1) / w; b = (b2 - b1) / w; p = (b / a - 1) * 100
		if (l == "-")
			printf "%-34s %14.1f %14.1f %9.2f %9s  %s\n", n, a, b, p, "-", "INFO"
		else
			printf "%-34s %14.1f %14.1f %9.2f %9.2f  %s\n", n, a, b, p, l, (p <= l ? "PASS" : "MISS") }'
}

if [ "$SMOKE" = 1 ]; then
	per_write tw_16k_text_instr_per_write 1 16384 1 2 --twilsock --text
	per_write tw_16k_deflate_instr_per_write 320 16384 1 2 --twilsock --deflate
else
	per_write tw_16k_instr_per_write 1 16384 2 6 --twilsock
	per_write tw_16k_text_instr_per_write 1 16384 2 6 --twilsock --text
	per_write tw_1k_instr_per_write 3 1024 1 3 --twilsock
	per_write tw_1k_text_instr_per_write 3 1024 1 3 --twilsock --text
	per_write tls_64_instr_per_write 1 64 1 2
	per_write tls_16k_instr_per_write 0.25 16384 2 6
	per_write tw_16k_deflate_instr_per_write 320 16384 2 6 --twilsock --deflate
	per_write tw_1k_deflate_instr_per_write 320 1024 1 3 --twilsock --deflate
	per_write tw_16k_deflate_ctx_instr_per_write - 16384 2 6 --twilsock --deflate-ctx
	per_write tw_1k_deflate_ctx_instr_per_write - 1024 1 3 --twilsock --deflate-ctx
fi
[ -s "$tmp/shim.jsonl" ] && { echo "# the shim reported on the bench's valid token:"; head -c 400 "$tmp/shim.jsonl"; echo; }

# exec of /bin/true: whole-run instructions, limit 2x
a=$(ir A /bin/true)
b=$(ir B /bin/true)
awk -v a="$a" -v b="$b" 'BEGIN { r = b / a; printf "%-34s %14d %14d %9.2f %9.2f  %s\n", "exec_true_instr_ratio", a, b, r, 2, (r <= 2 ? "PASS" : "MISS") }'

# PSS an idle process gains (KB), limit 150: `sleep 30` without and with the
# shim, read once it sleeps (its constructor done), PSS_PAIRS pairs (5)
# interleaved, the medians compared. One process alone maps libtokshim.so,
# so each of its pages that is mapped counts whole; which clean text and
# rodata pages are mapped is the kernel's choice around the pages the load
# touches (fault-around windows of 64 KiB, whole large folios of the page
# cache), and moves with the library's random load address: single runs
# differ by tens of KB, hence the medians. The library measured is an
# installed copy (install(1), synced to disk), as a package or `make install`
# leaves it: the page cache holds such a file in large folios, and a fault
# maps a whole folio that lies inside a segment (the file as the linker
# wrote it is in small ones, and would show less). The breakdown line
# (information) splits the shimmed run's PSS into libtokshim.so's mappings
# (its private dirty part: relocated data, .data) and the anonymous ones
# (.bss, heap).
mkdir -p "$tmp/inst" && install -m 0755 "$SHIM" "$tmp/inst/libtokshim.so" || fail "cannot install a copy of the shim"
INST=$tmp/inst/libtokshim.so
sync "$INST" 2>/dev/null || sync
pss_one() {
	local side=$1 pid exe
	local -a e=("${CLEAN[@]}")
	[ "$side" = B ] && e+=("LD_PRELOAD=$INST" "${SHIMENV[@]:1}")
	"${e[@]}" sleep 30 &
	pid=$!
	exe=$(realpath "$(command -v sleep)")
	for _ in $(seq 200); do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ] &&
			[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = S ] && break
		sleep 0.02
	done
	sleep 0.1
	awk -v lib="$INST" '/^[0-9a-f]+-[0-9a-f]+ / { n = $6 }
		/^Pss:/ { t += $2; if (n == lib) f += $2; else if (n == "" || n == "[heap]") a += $2 }
		/^Private_Dirty:/ { if (n == lib) d += $2 }
		END { printf "%d %d %d %d\n", t, f, d, a }' "/proc/$pid/smaps"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
for i in $(seq "${PSS_PAIRS:-5}"); do
	echo "A $(pss_one A)"
	echo "B $(pss_one B)"
done >"$tmp/pss"
med() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
a=$(awk '$1 == "A" { print $2 }' "$tmp/pss" | med)
b=$(awk '$1 == "B" { print $2 }' "$tmp/pss" | med)
[ -n "$a" ] && [ -n "$b" ] || fail "cannot read the idle processes' PSS"
awk -v a="$a" -v b="$b" 'BEGIN { d = b - a; printf "%-34s %14d %14d %9d %9d  %s\n", "idle_pss_added_kb", a, b, d, 150, (d <= 150 ? "PASS" : "MISS") }'
awk -v n="${PSS_PAIRS:-5}" '$1 == "A" { aa += $5 } $1 == "B" { bt = bt " " $2; f += $3; d += $4; ba += $5 }
	END { printf "# idle PSS, shimmed runs:%s KB; means: libtokshim.so %.0f KB (%.0f private dirty), anonymous and heap +%.0f KB\n",
		bt, f / n, d / n, (ba - aa) / n }' "$tmp/pss"
[ -s "$tmp/server.err" ] && fail "tls_server: $(cat "$tmp/server.err")"
exit 0
