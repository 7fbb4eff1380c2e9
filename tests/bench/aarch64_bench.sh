#!/usr/bin/env bash
# aarch64_bench.sh: what the shim's per-write fast path costs on aarch64,
# beside the same figure on x86-64 (issue 13: "the per-write fast path costs
# the same on aarch64, its time cache works there too"), in instructions.
#
# x86-64: callgrind, as callgrind_bench.sh counts. aarch64: valgrind does not
# run under qemu-user here, so qemu-user counts the guest's instructions:
# `-d in_asm,exec,nochain` logs every translated block once with its
# instructions (in_asm) and every execution of a block (exec; nochain makes
# each one go through the logged main loop); tests/bench/qemu_count.awk adds
# up the blocks' sizes, one per execution, reading the log through a FIFO.
# Both sides run tls_client (tests/bench/tools, built for each architecture)
# in stream mode against the native tls_server, A without and B with the
# shim (the bench secret, a json sink), at two stream lengths:
# instructions per write = (I(long) - I(short)) / (writes(long) - writes(short)),
# which leaves out start-up, the handshake and the token's validation.
#
# Figures (one line each, "name baseline shimmed added limit verdict"):
#   x86_64_fastpath_added_instr_per_write   the reference (no target)
#   aarch64_fastpath_added_instr_per_write  target: at most 1.5x the x86-64
#       added count of the same run. Not 1.0x: the two instruction sets
#       count differently for the same C (aarch64 loads a TLS variable or a
#       global through two or three instructions where x86-64 uses one
#       segment- or RIP-relative operand, and has no memory operands in
#       arithmetic), so equal work is more aarch64 instructions; a fast path
#       that lost its time cache or took a slow branch on aarch64 shows as
#       several times the x86-64 count (a clock_gettime is ~100 instructions
#       more per write).
#   aarch64_clock_calls_per_write  clock_gettime system calls per write,
#       without and with the shim (qemu-user 7.2 gives the guest no vDSO, so
#       every clock read is a system call that `-strace` shows): the
#       CNTVCT_EL0 time cache reads the clock about once per 1/512 s, not
#       once per write. Target: at most 0.05 added per write.
# 64-byte plain TCP write()s (the write hook and the fast path, no TLS
# record work around them) and 64-byte SSL_write()s (the TLS hook; slower:
# ~45 s per MiB under the log; BENCH_A64_TLS=0 leaves them out).
#
# Before the figures, one connection per transport with an expired token
# checks that the arm64 shim follows the client (it must report it).
# BENCH_A64_SMOKE=1: the TCP figures only, with 1 KiB writes (t_bench_smoke.sh).
# Exit status: 0 when every run completed (whether or not targets are met),
# 1 when a run failed, 2 (with a "skip:" line) when qemu-aarch64-static,
# valgrind or the arm64 build (make ARCH=arm64 ...) is missing.
set -u
cd "$(dirname "$0")/../.." || exit 2
B=${B:-build}
BA=${BA:-build-arm64}
TOOLS=$B/bench/tools
SMOKE=${BENCH_A64_SMOKE:-0}
QEMU=$(command -v qemu-aarch64-static || true)
for need in "$QEMU" "$(command -v valgrind)" "$BA/libtokshim.so" "$BA/bench/tools/tls_client" "$TOOLS/tls_server" "$TOOLS/tls_client"; do
	[ -n "$need" ] && [ -e "$need" ] && continue
	echo "skip: aarch64_bench needs qemu-aarch64-static, valgrind, $TOOLS/tls_server and tls_client," \
		"and the arm64 shim and client (make ARCH=arm64 $BA/libtokshim.so $BA/bench/tools/tls_client)"
	exit 2
done
SHIM=$(realpath "$B/libtokshim.so")
SHIM_A64=$(realpath "$BA/libtokshim.so")
BENCH_NAME=aarch64_bench
. tests/bench/tls_server_lib.sh
shimenv() { echo "LD_PRELOAD=$1" "TOKSHIM_SECRET=$SECRET" "TOKSHIM_ACCOUNT_SID=$ACCOUNT" "TOKSHIM_OUTPUT=json:$tmp/shim.jsonl"; }

# x86 SIDE ARGS...: callgrind's total instructions of the native client
x86() {
	local side=$1
	shift
	local -a e=("${CLEAN[@]}")
	# shellcheck disable=SC2207
	[ "$side" = B ] && e+=($(shimenv "$SHIM"))
	timeout -k 5 600 "${e[@]}" valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
		"$TOOLS/tls_client" "$@" >"$tmp/out" 2>"$tmp/err" || fail "x86-64 $side: exited $?: $(tail -3 "$tmp/err")"
	awk '/^totals:/ { print $2; exit }' "$tmp/cg.out"
}

# a64 SIDE ARGS...: guest instructions of the arm64 client under qemu-user
a64() {
	local side=$1 rc
	shift
	local -a e=("${CLEAN[@]}" QEMU_LD_PREFIX=/)
	# shellcheck disable=SC2207
	[ "$side" = B ] && e+=($(shimenv "$SHIM_A64"))
	rm -f "$tmp/log.fifo" && mkfifo "$tmp/log.fifo" || fail "mkfifo"
	awk -f tests/bench/qemu_count.awk <"$tmp/log.fifo" >"$tmp/count" &
	local apid=$!
	timeout -k 5 900 "${e[@]}" "$QEMU" -L / -d in_asm,exec,nochain -D "$tmp/log.fifo" \
		"$BA/bench/tools/tls_client" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	wait "$apid"
	[ $rc = 0 ] || fail "aarch64 $side: exited $rc: $(tail -3 "$tmp/err")"
	local n miss
	read -r n miss <"$tmp/count"
	# every executed block was translated (logged) first: a miss is a parse error
	[ "${miss:-1}" = 0 ] && [ "${n:-0}" -gt 0 ] || fail "aarch64 $side: cannot count the log ($n, $miss blocks unknown)"
	echo "$n"
}

# clocks SIDE ARGS...: clock_gettime system calls of the arm64 client
clocks() {
	local side=$1
	shift
	local -a e=("${CLEAN[@]}" QEMU_LD_PREFIX=/)
	# shellcheck disable=SC2207
	[ "$side" = B ] && e+=($(shimenv "$SHIM_A64"))
	timeout -k 5 600 "${e[@]}" "$QEMU" -L / -strace "$BA/bench/tools/tls_client" "$@" >"$tmp/out" 2>"$tmp/strace" ||
		fail "aarch64 strace: exited $?"
	grep -c 'clock_gettime(' "$tmp/strace"
}

# the shim must follow the arm64 client's connections, or its added count
# means nothing: one connection with an expired token, reported "expired"
follows() {
	local out=$tmp/follows.jsonl
	rm -f "$out"
	# shellcheck disable=SC2046
	timeout -k 5 300 "${CLEAN[@]}" QEMU_LD_PREFIX=/ $(shimenv "$SHIM_A64") "TOKSHIM_OUTPUT=json:$out" \
		"$QEMU" -L / "$BA/bench/tools/tls_client" --cafile "$tmp/cert.pem" "$@" --mode latency --conns 1 --exp -7200 \
		>/dev/null 2>"$tmp/err" || fail "aarch64 check client failed under the shim: $(tail -3 "$tmp/err")"
	[ -s "$out" ] && grep -q '"expired"' "$out" || fail "the arm64 shim did not report the expired token ($*)"
}
follows --port "$TCP_PORT" --tcp
[ "$SMOKE" != 1 ] && [ "${BENCH_A64_TLS:-1}" = 1 ] && follows --port "$TLS_PORT"

printf '%-40s %12s %12s %9s %9s  %s\n' "# name" baseline shimmed added limit verdict
# figures LABEL SIZE MIB_SHORT MIB_LONG [client args]
figures() {
	local label=$1 size=$2 m1=$3 m2=$4
	shift 4
	local -a c=(--cafile "$tmp/cert.pem" --mode stream --size "$size" "$@")
	local w=$(((m2 - m1) * 1048576 / size)) xa1 xa2 xb1 xb2 aa1 aa2 ab1 ab2 ca1 ca2 cb1 cb2
	xa1=$(x86 A "${c[@]}" --mib "$m1") || exit 1; xa2=$(x86 A "${c[@]}" --mib "$m2") || exit 1
	xb1=$(x86 B "${c[@]}" --mib "$m1") || exit 1; xb2=$(x86 B "${c[@]}" --mib "$m2") || exit 1
	aa1=$(a64 A "${c[@]}" --mib "$m1") || exit 1; aa2=$(a64 A "${c[@]}" --mib "$m2") || exit 1
	ab1=$(a64 B "${c[@]}" --mib "$m1") || exit 1; ab2=$(a64 B "${c[@]}" --mib "$m2") || exit 1
	ca1=$(clocks A "${c[@]}" --mib "$m1") || exit 1; ca2=$(clocks A "${c[@]}" --mib "$m2") || exit 1
	cb1=$(clocks B "${c[@]}" --mib "$m1") || exit 1; cb2=$(clocks B "${c[@]}" --mib "$m2") || exit 1
	awk -v l="$label" -v w="$w" -v xa1="$xa1" -v xa2="$xa2" -v xb1="$xb1" -v xb2="$xb2" \
		-v aa1="$aa1" -v aa2="$aa2" -v ab1="$ab1" -v ab2="$ab2" \
		-v ca1="$ca1" -v ca2="$ca2" -v cb1="$cb1" -v cb2="$cb2" 'BEGIN {
		xa = (xa2 - xa1) / w; xb = (xb2 - xb1) / w; xd = xb - xa
		aa = (aa2 - aa1) / w; ab = (ab2 - ab1) / w; ad = ab - aa; lim = 1.5 * xd
		ca = (ca2 - ca1) / w; cb = (cb2 - cb1) / w; cd = cb - ca
		printf "%-40s %12.1f %12.1f %9.1f %9s  %s\n", "x86_64_fastpath_added_instr_per_write" l, xa, xb, xd, "-", "reference"
		printf "%-40s %12.1f %12.1f %9.1f %9.1f  %s\n", "aarch64_fastpath_added_instr_per_write" l, aa, ab, ad, lim, (ad <= lim ? "PASS" : "MISS")
		printf "%-40s %12.4f %12.4f %9.4f %9.2f  %s\n", "aarch64_clock_calls_per_write" l, ca, cb, cd, 0.05, (cd <= 0.05 ? "PASS" : "MISS")
	}'
}

# the smoke: 1 KiB writes, a quarter of the runs' length in writes
figures "" "$([ "$SMOKE" = 1 ] && echo 1024 || echo 64)" 1 2 --port "$TCP_PORT" --tcp
if [ "$SMOKE" != 1 ] && [ "${BENCH_A64_TLS:-1}" = 1 ]; then
	figures _tls 64 1 2 --port "$TLS_PORT"
fi
[ -s "$tmp/shim.jsonl" ] && { echo "# the shim reported on the bench's valid token:"; head -c 400 "$tmp/shim.jsonl"; echo; }
[ -s "$tmp/server.err" ] && fail "tls_server: $(cat "$tmp/server.err")"
exit 0
