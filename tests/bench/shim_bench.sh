#!/usr/bin/env bash
# shim_bench.sh: what libtokshim.so costs the program it is preloaded into
# (issue 5). Called by tests/bench/run.sh (`make bench`); needs the programs
# in $B/bench/tools (tests/bench/tools/*.c) and $B/libtokshim.so.
#
# Every figure is measured as pairs of runs, A (no shim) then B
# (LD_PRELOAD=$B/libtokshim.so), interleaved A B A B ..., and reported as
# `name baseline shimmed ratio`: baseline and shimmed are the medians of the
# runs, ratio the median of the per-pair ratios shimmed/baseline. Then a
# summary: one line per target of the issue, PASS or MISS.
#
# The client (tls_client) is a Twilsock-like WebSocket client: TLS with SNI
# tsock.us1.twilio.com, GET /v3/wsconnect, a binary frame with an `init`
# carrying a valid HS256 token (signed with the test secret below, which the
# shim is given as TOKSHIM_SECRET so it verifies the signature), then the
# bulk frames. The server (tls_server) checks the frame and byte counts.
#
# Environment:
#   B                    build directory (default build)
#   BENCH_MIB            MiB per stream run (default 512)
#   BENCH_MIB_64         MiB per run of 64-byte writes (default BENCH_MIB/8: 64 MiB
#                        is a million writes; 512 MiB of them take half a minute
#                        per run on a small machine)
#   BENCH_PAIRS          A/B pairs per figure (default 5)
#   BENCH_CONNS          connections per latency run (default 20); latency takes
#                        5 * BENCH_PAIRS pairs of these short runs, so that a burst
#                        of load from elsewhere spoils few pairs
#   BENCH_THREAD_WRITES  writes per thread in the 8-thread run (default BENCH_MIB*64)
#   BENCH_PIN=0          no taskset (default: client on cpu 0, server on cpu 1)
#
# Exit status: 0 when every run completed with the right byte counts, whether
# or not the targets are met (this is a measurement); 1 when a program failed,
# crashed or a byte count was wrong; 2 on a usage error.
set -u
cd "$(dirname "$0")/../.." || exit 2

B=${B:-build}
MIB=${BENCH_MIB:-512}
PAIRS=${BENCH_PAIRS:-5}
CONNS=${BENCH_CONNS:-20}
MIB64=${BENCH_MIB_64:-$(((${MIB//[^0-9]/0} + 7) / 8))}
TWRITES=${BENCH_THREAD_WRITES:-$((${MIB//[^0-9]/0} * 64))}
PIN=${BENCH_PIN:-1}
RUN_TIMEOUT=$((120 + ${MIB//[^0-9]/0})) # seconds: a hung run fails the benchmark
TOOLS=$B/bench/tools
# the fixed test secret and account of tls_client's tokens: not a real key
SECRET=tokshim-bench-secret-0123456789ab
ACCOUNT=AC0123456789abcdef0123456789abcdef

for v in MIB MIB64 PAIRS CONNS TWRITES; do
	case ${!v} in
	'' | *[!0-9]* | 0) echo "shim_bench: bad value for $v: '${!v}'" >&2; exit 2 ;;
	esac
done
for t in tls_server tls_client file_writer; do
	[ -x "$TOOLS/$t" ] || { echo "shim_bench: no '$TOOLS/$t': run make bench" >&2; exit 1; }
done
[ -f "$B/libtokshim.so" ] || { echo "shim_bench: no '$B/libtokshim.so': run make" >&2; exit 1; }
SHIM=$(realpath "$B/libtokshim.so")

BENCH_NAME=shim_bench
. tests/bench/bench_lib.sh

# ---- CPU pinning: client on core 0, server on core 1 ---------------------------
CPIN=
SPIN=
if [ "$PIN" != 0 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	CPIN="taskset -c 0"
	SPIN="taskset -c 1"
fi

# ---- certificate (EC P-256, made now) and the server ---------------------------
bench_cert

$SPIN "$TOOLS/tls_server" --cert "$tmp/cert.pem" --key "$tmp/key.pem" >"$tmp/server.out" 2>"$tmp/server.err" &
spid=$!
for _ in $(seq 100); do
	[ -s "$tmp/server.out" ] && break
	sleep 0.05
done
read -r _ TLS_PORT _ TCP_PORT <"$tmp/server.out" 2>/dev/null || true
[ -n "${TCP_PORT:-}" ] || fail "tls_server did not start: $(cat "$tmp/server.err")"

# A: no shim. B: the shim, told the test secret and account, reporting to a
# JSON file (a valid token must produce nothing there).
CLEAN_ENV=(env -u LD_PRELOAD -u TOKSHIM_OUTPUT -u TOKSHIM_SECRET -u TOKSHIM_SECRETS_FILE
	-u TOKSHIM_ACCOUNT_SID -u TOKSHIM_SKEW -u TOKSHIM_LEVEL -u TOKSHIM_HOSTS -u TOKSHIM_HOOKS
	-u TOKSHIM_DISABLE "BENCH_SECRET=$SECRET")
A_ENV=("${CLEAN_ENV[@]}")
B_ENV=("${CLEAN_ENV[@]}" "LD_PRELOAD=$SHIM" "TOKSHIM_SECRET=$SECRET" "TOKSHIM_ACCOUNT_SID=$ACCOUNT"
	"TOKSHIM_OUTPUT=json:$tmp/shim.jsonl")

# run LABEL A|B PIN CMD...: one run; its "result" line into $tmp/res/LABEL.SIDE.N
mkdir -p "$tmp/res"
run() {
	local label=$1 side=$2 pin=$3 n=$4 rc
	shift 4
	local -a e
	if [ "$side" = A ]; then e=("${A_ENV[@]}"); else e=("${B_ENV[@]}"); fi
	$pin timeout -k 5 "$RUN_TIMEOUT" "${e[@]}" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 0 ]; then
		[ $rc = 124 ] && echo "shim_bench: $label ($side) hung: killed after $RUN_TIMEOUT s" >&2
		[ $rc -gt 128 ] && echo "shim_bench: $label ($side) killed by signal $((rc - 128))" >&2
		sed 's/^/  /' "$tmp/err" >&2
		local what=baseline
		[ "$side" = B ] && what="with the shim"
		fail "$label run $n ($what) exited $rc: $*"
	fi
	kill -0 "$spid" 2>/dev/null || fail "tls_server died during $label: $(cat "$tmp/server.err")"
	grep -m1 '^result ' "$tmp/out" >"$tmp/res/$label.$side.$n" || fail "$label: no result line"
}

# measure LABEL PIN CMD...: NP pairs (default PAIRS), A then B
declare -A NPAIRS
measure() {
	local label=$1 pin=$2 i np=${NP:-$PAIRS}
	shift 2
	NPAIRS[$label]=$np
	for i in $(seq "$np"); do
		run "$label" A "$pin" "$i" "$@"
		run "$label" B "$pin" "$i" "$@"
	done
}

# val FILE KEY: a key's value in a result line; cpu_mibps and cpu_calls are derived
val() {
	awk -v k="$2" '{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		if (k == "cpu_mibps") print v["bytes"] / 1048576 / v["cpu_seconds"];
		else if (k == "cpu_calls") print v["calls"] / v["cpu_seconds"];
		else print v[k]
	}' "$1"
}

# stats < "b s" lines: median(b) median(s) median(s/b) noise median(s-b) dnoise
# (noise, dnoise: 1.4826 * median absolute deviation of the ratios, of the
# differences: a robust sigma)
stats() {
	awk '
	function sort(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i];
		for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
	function med(a, n) { sort(a, n); return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	{ n++; b[n] = $1; s[n] = $2; r[n] = $1 > 0 ? $2 / $1 : 0; d[n] = $2 - $1 }
	END {
		if (!n) exit 1
		mr = med(r, n)
		md = med(d, n)
		for (i = 1; i <= n; i++) { dev[i] = r[i] - mr; if (dev[i] < 0) dev[i] = -dev[i] }
		for (i = 1; i <= n; i++) { ddev[i] = d[i] - md; if (ddev[i] < 0) ddev[i] = -ddev[i] }
		printf "%.2f %.2f %.6f %.6f %.6g %.6g\n", med(b, n), med(s, n), mr, 1.4826 * med(dev, n), md,
			1.4826 * med(ddev, n)
	}'
}

# figure NAME LABEL KEY: prints the figure line, remembers its numbers
declare -A RATIO NOISE DELTA DNOISE
figure() {
	local name=$1 label=$2 key=$3 i mb ms mr noise md dnoise
	read -r mb ms mr noise md dnoise < <(for i in $(seq "${NPAIRS[$label]}"); do
		echo "$(val "$tmp/res/$label.A.$i" "$key") $(val "$tmp/res/$label.B.$i" "$key")"
	done | stats)
	RATIO[$name]=$mr
	NOISE[$name]=$noise
	DELTA[$name]=$md
	DNOISE[$name]=$dnoise
	case $mb$ms in
	*-*) printf '%-30s %14s %14s %8s\n' "$name" n/a n/a n/a ;; # no hardware counter
	*) printf '%-30s %14s %14s %8.4f\n' "$name" "$mb" "$ms" "$mr" ;;
	esac
}

start=$(date +%s)
client=("$TOOLS/tls_client" --cafile "$tmp/cert.pem")
tls=(--port "$TLS_PORT")
tcp=(--port "$TCP_PORT" --tcp)

# ---- is the shim following these connections at all? ---------------------------
# One connection each with an expired token: the shim must report "expired".
# follows VAR ARGS...: sets VAR to yes or no
follows() {
	local var=$1 out=$tmp/check_$1.jsonl
	shift
	$CPIN timeout -k 5 "$RUN_TIMEOUT" "${CLEAN_ENV[@]}" "LD_PRELOAD=$SHIM" "TOKSHIM_SECRET=$SECRET" "TOKSHIM_ACCOUNT_SID=$ACCOUNT" \
		"TOKSHIM_OUTPUT=json:$out" "${client[@]}" "$@" --mode latency --conns 1 --exp -7200 \
		>/dev/null 2>"$tmp/err" ||
		fail "check client ($var) failed under the shim: $(cat "$tmp/err")"
	if [ -s "$out" ] && grep -q '"expired"' "$out"; then printf -v "$var" yes; else printf -v "$var" no; fi
}
follows FOLLOW_TLS "${tls[@]}"
follows FOLLOW_TCP "${tcp[@]}"

echo "# tokshim shim benchmark: $SHIM"
echo "# $(nproc) cpus ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(uname -r), $(openssl version | cut -d' ' -f1-2)"
echo "# $MIB MiB per stream run ($MIB64 MiB with 64 B writes), $PAIRS pairs per figure ($((PAIRS * 5)) of $CONNS connections for latency)" \
	"(A = baseline, B = LD_PRELOAD shim, run A B A B ...)," \
	"$([ -n "$CPIN" ] && echo "client pinned to cpu 0, server to cpu 1" || echo "no cpu pinning")"
echo "# baseline/shimmed: medians of the runs; ratio: median of the per-pair ratios shimmed/baseline"
echo "# *_mibps, *_per_s: higher is better, ratio < 1 is a loss; *_cpu_*: per second of client CPU time;"
echo "# *_us, *_instr*: lower is better, ratio > 1 is a cost; *_instr*: user-space instructions"
echo "# retired by the client thread (hardware counter; n/a without one): immune to machine load"
printf '%-30s %14s %14s %8s\n' "# name" baseline shimmed ratio

# ---- TLS throughput: 64 B, 1 KiB, 16 KiB writes ---------------------------------
for s in 64 1024 16384; do
	n=$([ $s = 64 ] && echo 64 || echo $((s / 1024))k)
	m=$MIB
	[ $s = 64 ] && m=$MIB64
	measure "tls_$n" "$CPIN" "${client[@]}" "${tls[@]}" --mode stream --size $s --mib "$m"
	figure "tls_${n}_mibps" "tls_$n" mibps
	figure "tls_${n}_cpu_mibps" "tls_$n" cpu_mibps
	figure "tls_${n}_instr_per_write" "tls_$n" instr_per_write
done

# ---- plain TCP (ws://), 16 KiB frames ---------------------------------------------
measure tcp_16k "$CPIN" "${client[@]}" "${tcp[@]}" --mode stream --size 16384 --mib "$MIB"
figure tcp_16k_mibps tcp_16k mibps
figure tcp_16k_cpu_mibps tcp_16k cpu_mibps
figure tcp_16k_instr_per_write tcp_16k instr_per_write

# ---- write() to files: a tmpfs file (1 KiB writes) and /dev/null (64 B writes) ----
fdir=/dev/shm
[ -d "$fdir" ] && [ -w "$fdir" ] || fdir=$tmp
measure file_tmpfs_1k "$CPIN" "$TOOLS/file_writer" --path "$fdir/tokshim-bench.$$" --size 1024 --mib "$MIB"
rm -f "$fdir/tokshim-bench.$$"
figure file_tmpfs_1k_mibps file_tmpfs_1k mibps
figure file_tmpfs_1k_instr_per_write file_tmpfs_1k instr_per_write
measure file_devnull_64 "$CPIN" "$TOOLS/file_writer" --path /dev/null --size 64 --mib "$MIB64"
figure file_devnull_64_mibps file_devnull_64 mibps
figure file_devnull_64_instr_per_write file_devnull_64 instr_per_write

# ---- connect to the return of the SSL_write carrying the init (token) -------------
NP=$((PAIRS * 5)) measure latency "$CPIN" "${client[@]}" "${tls[@]}" --mode latency --conns "$CONNS"
figure connect_first_write_us latency connect_first_write_us
figure init_write_us latency init_write_us
figure connect_first_write_instr latency connect_first_write_instr
figure init_write_instr latency init_write_instr

# ---- SSL_write calls per second, 8 threads on 8 connections, 64 B -----------------
# not pinned: the threads must be free to run in parallel
measure threads "" "${client[@]}" "${tls[@]}" --mode threads --threads 8 --size 64 --writes "$TWRITES"
figure threads8_tls_64_calls_per_s threads calls_per_s
figure threads8_tls_64_cpu_calls_per_s threads cpu_calls

[ -s "$tmp/server.err" ] && fail "tls_server reported errors: $(cat "$tmp/server.err")"

# ---- summary ------------------------------------------------------------------------
# loss in percent: the larger of the wall-clock and the CPU-time loss (the
# server may be the bottleneck of a wall-clock figure, hiding client cost)
loss() { awk -v a="$1" -v b="${2:-$1}" 'BEGIN { m = a < b ? a : b; printf "%.2f", (1 - m) * 100 }'; }
verdict() { awk -v v="$1" -v l="$2" 'BEGIN { print (v <= l ? "PASS" : "MISS") }'; }
# pct SIGMA...: the largest, in percent
pct() { awk 'BEGIN { m = 0; for (i = 1; i < ARGC; i++) if (ARGV[i] > m) m = ARGV[i]; printf "%.2f", m * 100 }' "$@"; }
# summary TARGET MEASURED LIMIT [NOISE]
summary() {
	printf 'summary %-34s %10s %10s  %s%s\n' "$1" "$2" "$3" "$(verdict "$2" "$3")" "${4:+  # noise $4}"
}

echo
echo "# summary: target, measured, limit, verdict (losses in %: the larger of the wall-clock and the"
echo "# CPU-time loss; noise: robust sigma of the per-pair ratios or differences)"
# target FIGURE LIMIT: a throughput target on FIGURE_mibps and FIGURE_cpu_mibps
target() {
	summary "${1}_loss_pct" "$(loss "${RATIO[${1}_mibps]}" "${RATIO[${1}_cpu_mibps]}")" "$2" \
		"$(pct "${NOISE[${1}_mibps]}" "${NOISE[${1}_cpu_mibps]}")%"
}
target tls_16k 1
target tls_64 3
target tcp_16k 1
# within noise: loss no more than 2 sigma of the pair ratios, and 1% at least
for f in file_tmpfs_1k_mibps file_devnull_64_mibps; do
	lim=$(awk -v s="${NOISE[$f]}" 'BEGIN { l = 200 * s; printf "%.2f", (l > 1 ? l : 1) }')
	summary "${f%_mibps}_loss_pct(noise)" "$(loss "${RATIO[$f]}")" "$lim"
done
summary added_latency_us "$(printf '%.1f' "${DELTA[connect_first_write_us]}")" 50 \
	"$(printf '%.1f' "${DNOISE[connect_first_write_us]}")us"
summary threads8_loss_pct "$(loss "${RATIO[threads8_tls_64_calls_per_s]}" "${RATIO[threads8_tls_64_cpu_calls_per_s]}")" 3 \
	"$(pct "${NOISE[threads8_tls_64_calls_per_s]}" "${NOISE[threads8_tls_64_cpu_calls_per_s]}")%"
# the figures only mean something if the shim followed the connections
printf 'summary %-34s %10s %10s  %s\n' shim_follows_tls "$FOLLOW_TLS" yes "$([ "$FOLLOW_TLS" = yes ] && echo PASS || echo MISS)"
printf 'summary %-34s %10s %10s  %s\n' shim_follows_tcp "$FOLLOW_TCP" yes "$([ "$FOLLOW_TCP" = yes ] && echo PASS || echo MISS)"
quiet=yes
[ -s "$tmp/shim.jsonl" ] && quiet=no
printf 'summary %-34s %10s %10s  %s\n' shim_quiet_on_valid_token "$quiet" yes "$([ $quiet = yes ] && echo PASS || echo MISS)"
if [ $quiet = no ]; then
	echo "# the shim reported on the benchmark's valid token (first line, no token in it):"
	head -n 1 "$tmp/shim.jsonl" | cut -c1-400
fi
echo "# shim_bench: done in $(($(date +%s) - start)) s"
