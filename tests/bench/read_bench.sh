#!/usr/bin/env bash
# read_bench.sh: what the read hooks cost (issue 14), in instructions counted
# by callgrind (user space, the whole client process), as marginal costs:
# the difference between a run of N2 and one of N1 reads, divided by N2-N1,
# so that start-up, the handshake and the shim's load cancel out.
#   read_tls_16k     16 KiB SSL_read on a TLS connection the shim follows (the
#                    client sent a Twilsock init with a valid token; the server
#                    then sends bulk binary frames): shimmed/baseline <= 1.01
#   read_unfollowed  a 1-byte read() on a socket the shim does not follow:
#                    shimmed - baseline <= 30 instructions
# Prints `name baseline shimmed ratio|delta` and a PASS/MISS summary line per
# target. Needs valgrind, $B/libtokshim.so, $B/bench/tools/read_client.
set -u
cd "$(dirname "$0")/../.." || exit 2
B=${B:-build}
PY=/usr/bin/python3
TOOLS=$B/bench/tools
SHIM=$(realpath "$B/libtokshim.so")
N1=${READ_BENCH_N1:-100}
N2=${READ_BENCH_N2:-600}
U1=${READ_BENCH_U1:-1000}
U2=${READ_BENCH_U2:-11000}
SECRET=tokshim-bench-secret-0123456789ab
ACCOUNT=AC0123456789abcdef0123456789abcdef
command -v valgrind >/dev/null || { echo "read_bench: no valgrind (apt-get install valgrind)" >&2; exit 1; }
[ -x "$TOOLS/read_client" ] || { echo "read_bench: no $TOOLS/read_client: run make bench" >&2; exit 1; }
BENCH_NAME=read_bench
. tests/bench/bench_lib.sh
bench_cert
"$PY" tests/bench/read_server.py "$tmp/cert.pem" "$tmp/key.pem" >"$tmp/srv.out" 2>"$tmp/srv.err" &
spid=$!
for _ in $(seq 100); do [ -s "$tmp/srv.out" ] && break; sleep 0.05; done
read -r _ TLS_PORT _ TCP_PORT <"$tmp/srv.out" || { echo "read_bench: server did not start" >&2; exit 1; }
TOKEN=$("$B/tokshim" mint --secret "$SECRET" --key SK0123456789abcdef0123456789abcdef --account "$ACCOUNT" \
	--identity bench --grant chat:service_sid=IS0123456789abcdef0123456789abcdef)

# ir SIDE ARGS...: total instructions of one client run under callgrind
ir() {
	local side=$1 out=$tmp/cg.$RANDOM
	shift
	local -a e=(env -u LD_PRELOAD -u TOKSHIM_OUTPUT)
	[ "$side" = B ] && e=(env "LD_PRELOAD=$SHIM" "TOKSHIM_SECRET=$SECRET" "TOKSHIM_ACCOUNT_SID=$ACCOUNT" "TOKSHIM_OUTPUT=json:$tmp/shim.jsonl")
	timeout 300 "${e[@]}" valgrind --tool=callgrind --callgrind-out-file="$out" "$TOOLS/read_client" "$@" \
		>"$tmp/run.out" 2>"$tmp/run.err" || { echo "read_bench: client failed: $(tail -3 "$tmp/run.err")" >&2; exit 1; }
	grep -q '^result ' "$tmp/run.out" || { echo "read_bench: no result" >&2; exit 1; }
	sed -n 's/^summary: //p' "$out"
}
# marginal SIDE N1 N2 ARGS...: instructions per read between N1 and N2 reads
marginal() {
	local side=$1 a=$2 b=$3 opt=$4
	shift 4
	local i1 i2
	i1=$(ir "$side" "$@" "$opt" "$a")
	i2=$(ir "$side" "$@" "$opt" "$b")
	awk -v x="$i1" -v y="$i2" -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", (y - x) / (b - a) }'
}
tls=(--port "$TLS_PORT" --cafile "$tmp/cert.pem" --token "$TOKEN" --size 16384)
A16=$(marginal A "$N1" "$N2" --reads "${tls[@]}")
B16=$(marginal B "$N1" "$N2" --reads "${tls[@]}")
AU=$(marginal A "$U1" "$U2" --unfollowed)
BU=$(marginal B "$U1" "$U2" --unfollowed)
r16=$(awk -v a="$A16" -v b="$B16" 'BEGIN { printf "%.4f", b / a }')
du=$(awk -v a="$AU" -v b="$BU" 'BEGIN { printf "%.1f", b - a }')
printf '%-30s %14s %14s %8s\n' "# name (instructions/read)" baseline shimmed "ratio|+"
printf '%-30s %14s %14s %8s\n' read_tls_16k_instr "$A16" "$B16" "$r16"
printf '%-30s %14s %14s %8s\n' read_unfollowed_instr "$AU" "$BU" "$du"
v() { awk -v x="$1" -v l="$2" 'BEGIN { print (x <= l ? "PASS" : "MISS") }'; }
printf 'summary %-34s %10s %10s  %s\n' read_tls_16k_instr_ratio "$r16" 1.01 "$(v "$r16" 1.01)"
printf 'summary %-34s %10s %10s  %s\n' read_unfollowed_added_instr "$du" 30 "$(v "$du" 30)"
# the connection was followed: the init's answer would be recorded (the server
# answers nothing, so the shim stays quiet on the valid token)
quiet=yes
[ -s "$tmp/shim.jsonl" ] && quiet=no
printf 'summary %-34s %10s %10s  %s\n' read_quiet_on_valid_token "$quiet" yes "$([ $quiet = yes ] && echo PASS || echo MISS)"
