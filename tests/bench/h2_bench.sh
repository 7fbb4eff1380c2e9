#!/usr/bin/env bash
# HTTP/2 write cost (issue 15): instructions per 16 KiB DATA write (one
# SSL_write of a 9-byte frame header and 16384 bytes of payload) on an
# HTTP/2 connection the shim follows, counted by callgrind in the client's
# data_writes() alone (tests/bench/tools/h2_client.c), without and with
# LD_PRELOAD=libtokshim.so. Target: at most +1%.
# Prints `name baseline shimmed ratio`, then `summary TARGET MEASURED LIMIT PASS|MISS`.
# H2_BENCH_WRITES: writes per run (400); H2_BENCH_KEEP=1 keeps the callgrind
# outputs in the temporary directory.
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
PY=${PYTHON:-/usr/bin/python3}
SHIM=$PWD/$B/libtokshim.so
CLIENT=$PWD/$B/bench/tools/h2_client
TOKSHIM=$PWD/$B/tokshim
WRITES=${H2_BENCH_WRITES:-400}
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
	[ -n "${H2_BENCH_KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "h2_bench: $*" >&2; exit 1; }
command -v valgrind >/dev/null || fail "valgrind missing (make deps)"
[ -x "$CLIENT" ] || fail "$CLIENT not built (make bench)"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null || fail "certificate"
# a TLS sink that selects h2 and reads everything (one connection at a time)
cat >"$tmp/sink.py" <<'PYEOF'
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
ctx.set_alpn_protocols(["h2"])
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(4)
print(ls.getsockname()[1], flush=True)
while True:
    c, _ = ls.accept()
    try:
        s = ctx.wrap_socket(c, server_side=True)
        while s.recv(1 << 20):
            pass
    except (OSError, ssl.SSLError):
        pass
    c.close()
PYEOF
"$PY" "$tmp/sink.py" "$tmp/cert.pem" "$tmp/key.pem" >"$tmp/port" 2>"$tmp/sink.err" &
pids+=($!)
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
PORT=$(head -n 1 "$tmp/port")
[ -n "$PORT" ] || fail "sink did not start: $(cat "$tmp/sink.err")"

SECRET=h2-bench-secret-0123456789abcdef
TOKEN=$("$TOKSHIM" mint --secret "$SECRET" --now -7200 --grant voice:incoming.allow=true)

# run A|B OUT: instructions collected in data_writes()
run() {
	local pre=() out=$2
	[ "$1" = B ] && pre=(env "LD_PRELOAD=$SHIM" "TOKSHIM_SECRET=$SECRET" "TOKSHIM_OUTPUT=json:$tmp/shim.jsonl")
	"${pre[@]}" timeout 600 valgrind --tool=callgrind --toggle-collect=data_writes \
		--callgrind-out-file="$out" "$CLIENT" "$PORT" "$TOKEN" "$WRITES" >"$tmp/client.out" 2>"$tmp/vg.err" ||
		fail "client ($1) failed: $(tail -n 5 "$tmp/vg.err")"
	grep -q "^result writes=$WRITES" "$tmp/client.out" || fail "client ($1): $(cat "$tmp/client.out")"
	awk '/^(summary|totals):/ { print $2; exit }' "$out"
}
a=$(run A "$tmp/cg.A")
b=$(run B "$tmp/cg.B")
followed=no
grep -q '"expired"' "$tmp/shim.jsonl" 2>/dev/null && grep -q '"channel":"http"' "$tmp/shim.jsonl" && followed=yes

echo "# HTTP/2 over TLS: instructions per 16 KiB DATA write, callgrind, data_writes() only, $WRITES writes"
printf '%-30s %14s %14s %8s\n' "# name" baseline shimmed ratio
awk -v a="$a" -v b="$b" -v n="$WRITES" 'BEGIN { printf "%-30s %14.1f %14.1f %8.4f\n", "h2_16k_data_instr_per_write", a / n, b / n, b / a }'
pct=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", (b / a - 1) * 100 }')
printf 'summary %-34s %10s %10s  %s\n' h2_16k_data_instr_pct "$pct" 1 "$(awk -v v="$pct" 'BEGIN { print (v <= 1 ? "PASS" : "MISS") }')"
printf 'summary %-34s %10s %10s  %s\n' shim_follows_h2 "$followed" yes "$([ $followed = yes ] && echo PASS || echo MISS)"
[ $followed = yes ]
