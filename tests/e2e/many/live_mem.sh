#!/usr/bin/env bash
# live_mem.sh OUT N1 N2 K: what a judged, live Twilsock connection costs in
# memory, measured from outside, for t_shim_many.sh and
# tests/bench/conn_mem_bench.sh.
#
# One client process (tests/bench/tools/tsock_many, OpenSSL) holds N2 TLS
# WebSocket connections to tests/e2e/many/tsock_server.py, each with its
# own token in a Twilsock init whose reply the server holds back. The
# client's anonymous memory (/proc/PID/smaps_rollup: its heap and anonymous
# mappings, where the shim's connection table and session blocks live; not
# the shared libraries, whose PSS moves with other processes) is read
#   m1: N1 connections open, their inits answered (released);
#   mA: N2 open, N2 - N1 of them still awaiting their init's answer;
#   mB: all N2 answered.
# Per connection, answer awaited: (mA - m1) / (N2 - N1); answered:
# (mB - m1) / (N2 - N1). The same run without the shim gives the client's
# own cost, so the shim's is the difference. Then, with the shim only, the
# first K connections send an update for another identity (update_mismatch,
# answered by the server), and once every init token's exp has passed each
# connection sends a ping and reads its reply: the lifetime checks
# (refresh_missing on the N2 - K that never refreshed).
#
# Writes OUT/{A,B}.out (the client's lines), OUT/live.json (the shim's
# records, TOKSHIM_LEVEL=info) and prints
#   bytes_per_conn SIDE AWAITED RECEIVED
#   anon_bytes SIDE M1 MA MB
# for SIDE A (no shim) and B (shim). Exit 0, 1 on a failure (said on stderr).
# Environment: B (build directory), PYTHON, LIVE_TTL (seconds from the
# tokens' minting to their exp; default 30, long enough for the opens),
# LIVE_LIFETIME=0 (no update, no lifetime phase: the memory figures only).
set -u
out=$1 n1=$2 n2=$3 k=$4
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
B=${B:-build}
case $B in /*) BUILD=$B ;; *) BUILD=$ROOT/$B ;; esac
PY=${PYTHON:-/usr/bin/python3}
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
CLIENT=$BUILD/bench/tools/tsock_many
SHIM=$BUILD/libtokshim.so
TTL=${LIVE_TTL:-30}
SECRET=live-mem-secret-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
KEY=SK0123456789abcdef0123456789abcdef
ACCOUNT=AC0123456789abcdef0123456789abcdef
mkdir -p "$out"
spid= cpid=
cleanup() {
	exec 7>&- 8>&- 9>&- 2>/dev/null
	for p in $cpid $spid; do kill "$p" 2>/dev/null; done
	for p in $cpid $spid; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.3; done
		kill -9 "$p" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "live_mem: $*" >&2; exit 1; }
[ -x "$CLIENT" ] || die "$CLIENT not built (make $B/bench/tools/tsock_many)"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 1 \
	-keyout "$out/key.pem" -out "$out/cert.pem" -subj "/CN=tsock.us1.twilio.com" >/dev/null 2>&1 ||
	die "cannot make a certificate"
mkfifo "$out/sctl"
"$PY" "$ROOT/tests/e2e/many/tsock_server.py" "$out/cert.pem" "$out/key.pem" <"$out/sctl" \
	>"$out/server.out" 2>"$out/server.err" &
spid=$!
exec 9>"$out/sctl"
for _ in $(seq 150); do grep -qx ready "$out/server.out" 2>/dev/null && break; sleep 0.1; done
grep -qx ready "$out/server.out" || die "server did not start: $(cat "$out/server.err")"
port=$(head -1 "$out/server.out")

# the tokens: init i for identity u<i>, valid from now for TTL seconds;
# update i for identity v<i>, an hour
PYTHONPATH=$ROOT/tests/e2e "$PY" - "$SECRET" "$KEY" "$ACCOUNT" "$n2" "$TTL" "$out" <<'PYEOF' || die "cannot mint"
import sys, time
from jwt_sign import sign
secret, key, account, n, ttl, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
now = int(time.time())
def tok(ident, iat, exp):
    return sign({"jti": "%s-%d-%s" % (key, iat, ident), "iss": key, "sub": account, "iat": iat, "nbf": iat,
                 "exp": exp, "grants": {"identity": ident,
                 "chat": {"service_sid": "IS0123456789abcdef0123456789abcdef"}}}, secret)
with open(out + "/tokens", "w") as f:
    for i in range(n):
        print(tok("u%d" % i, now - 10, now + ttl), file=f)
with open(out + "/update_tokens", "w") as f:
    for i in range(n):
        print(tok("v%d" % i, now - 10, now + 3600), file=f)
with open(out + "/exp", "w") as f:
    print(now + ttl, file=f)
PYEOF

# the client's anonymous memory in bytes (heap and mappings; no shared
# library pages, whose PSS moves with other processes)
anon() { awk '/^Anonymous:/ { print $2 * 1024; exit }' "/proc/$1/smaps_rollup"; }

# say SIDE CMD WANT SECONDS: sends CMD to SIDE's client, waits for a line
# matching WANT
say() {
	local side=$1 cmd=$2 want=$3 limit=$(($4 * 10)) i=0 pid
	pid=$(cat "$out/$side.pid")
	printf '%s\n' "$cmd" >"$out/$side.ctl"
	while ! grep -Eq "$want" "$out/$side.out"; do
		i=$((i + 1))
		# a client that said its line and exited between the two looks is done
		kill -0 "$pid" 2>/dev/null || grep -Eq "$want" "$out/$side.out" ||
			die "$side: the client died at '$cmd': $(tail -3 "$out/$side.err")"
		[ $i -ge $limit ] && die "$side: no '$want' after '$cmd'"
		sleep 0.1
	done
}

# start SIDE: the client, no shim (A) or with it (B), reading commands
# from the fifo SIDE.ctl (held open on fd 7 for A, 8 for B)
start() {
	local side=$1
	local -a env=(env -u LD_PRELOAD -u TOKSHIM_SECRET -u TOKSHIM_OUTPUT -u TOKSHIM_LEVEL -u TOKSHIM_READ)
	[ "$side" = B ] && env+=("LD_PRELOAD=$SHIM" "TOKSHIM_SECRET=$SECRET" "TOKSHIM_ACCOUNT_SID=$ACCOUNT"
		"TOKSHIM_OUTPUT=json:$out/live.json" TOKSHIM_LEVEL=info)
	rm -f "$out/$side.ctl"
	mkfifo "$out/$side.ctl"
	: >"$out/$side.out"
	"${env[@]}" "$CLIENT" --port "$port" --tokens "$out/tokens" --update-tokens "$out/update_tokens" \
		<"$out/$side.ctl" >"$out/$side.out" 2>"$out/$side.err" &
	echo $! >"$out/$side.pid"
	cpid="$cpid $!"
	if [ "$side" = A ]; then exec 7>"$out/$side.ctl"; else exec 8>"$out/$side.ctl"; fi
}

# measure SIDE: opens, releases and the three readings; prints the line
measure() {
	local side=$1 pid m1 ma mb
	pid=$(cat "$out/$side.pid")
	say "$side" "open $n1" "^opened $n1\$" 120
	say "$side" release "^released $n1 ok $n1\$" 120
	m1=$(anon "$pid")
	say "$side" "open $n2" "^opened $n2\$" 300
	ma=$(anon "$pid")
	say "$side" release "^released $((n2 - n1)) ok $((n2 - n1))\$" 300
	mb=$(anon "$pid")
	awk -v s="$side" -v a="$m1" -v b="$ma" -v c="$mb" -v n="$((n2 - n1))" \
		'BEGIN { printf "bytes_per_conn %s %.0f %.0f\nanon_bytes %s %.0f %.0f %.0f\n", s, (b - a) / n, (c - a) / n, s, a, b, c }'
}

# finish SIDE: closes its connections, waits for it
finish() {
	local side=$1 pid
	pid=$(cat "$out/$side.pid")
	say "$side" quit "^closed $n2\$" 120
	if [ "$side" = A ]; then exec 7>&-; else exec 8>&-; fi
	wait "$pid" || die "$side: client exit $?: $(tail -3 "$out/$side.err")"
}

# the shim's run first (its tokens are young), the client's own cost while
# they age, then the shim's lifetime checks
start B
measure B
[ "${LIVE_LIFETIME:-1}" = 1 ] && say B "update $k" "^updated $k\$" 120
start A
measure A
finish A
if [ "${LIVE_LIFETIME:-1}" = 1 ]; then
	exp=$(cat "$out/exp")
	while [ "$(date +%s)" -le "$exp" ]; do sleep 0.5; done
	say B ping "^pinged $n2\$" 300
fi
finish B
exit 0
