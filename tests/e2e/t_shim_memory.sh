#!/usr/bin/env bash
# What stays in memory: after a connection that carried a token has closed,
# no copy of the token's signature is left in the shim's memory (its pooled
# session block is wiped when the connection ends). The client
# (hostile/tokclient.c) wipes its own copies, then waits; its anonymous
# mappings (where the shim's blocks live; not [stack] nor [heap], which are
# the client's own) are read through /proc/PID/mem and searched for the
# signature. A baseline run where the client keeps its own copy (in its
# .bss, an anonymous mapping too) shows the search finds one. Then the same
# with 40 live connections, most of them parked (below).
. "$(dirname "$0")/lib.sh"
e2e_init
H=$ROOT/tests/e2e/hostile
cc -O1 -Wall -Wextra -Werror -o "$TMP/tokclient" "$H/tokclient.c" || { fail build; e2e_done; exit; }
cat >"$TMP/srv.py" <<'PYEOF'
import socket, threading
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
def serve(c):
    d = b""
    while b"\r\n\r\n" not in d:
        x = c.recv(65536)
        if not x: break
        d += x
    c.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PYEOF
"$PY" "$TMP/srv.py" >"$TMP/port" &
PIDS+=($!)
wait_for 10 test -s "$TMP/port" || { fail server; e2e_done; exit; }
PORT=$(head -n1 "$TMP/port")
TOK=$(mint --now -7200 --ttl 3600)
SIG=$(sig_of "$TOK")
printf '%s\n' "$TOK" >"$TMP/tok"
printf '%s\n' "$SIG" >"$TMP/sig"
# scan_anon.py PID SIGFILE: which of SIGFILE's lines (p0, p1, ... in order)
# the anonymous writable mappings of PID hold: prints "found: p<i> ..."
cat >"$TMP/scan_anon.py" <<'PYEOF'
import sys
pid, sigs = sys.argv[1], [l.strip().encode() for l in open(sys.argv[2]) if l.strip()]
found = set()
with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb", 0) as mem:
    for line in maps:
        f = line.split()
        if len(f) > 5 or not f[1].startswith("rw"):
            continue  # a file or [stack], [heap], [vvar]: not anonymous memory
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        try:
            mem.seek(lo)
            data = mem.read(hi - lo)
        except OSError:
            continue
        found.update(i for i, s in enumerate(sigs) if s in data)
print("found:", " ".join("p%d" % i for i in sorted(found)))
PYEOF

# dump MODE [noshim]: runs the client (hold: wipes its own copies; keep:
# does not); once it has closed the connection, searches its anonymous
# mappings for the signature: 0 found, 1 not found, 2 trouble
dump() {
	local mode=$1 pid pre=$SHIM rc
	[ "${2:-}" = noshim ] && pre=
	: >"$TMP/$mode.out"
	env LD_PRELOAD="$pre" TOKSHIM_SECRET="$SECRET" TOKSHIM_OUTPUT="json:$TMP/$mode.json" \
		"$TMP/tokclient" "$PORT" "@$TMP/tok" "$mode" >"$TMP/$mode.out" 2>"$TMP/$mode.err" &
	pid=$!
	PIDS+=($pid)
	wait_for 20 grep -q held "$TMP/$mode.out" || { echo "  client did not finish"; return 2; }
	"$PY" "$TMP/scan_anon.py" "$pid" "$TMP/sig" | grep -qx 'found: p0'
	rc=$?
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return $rc
}
dump keep
check "baseline: a dump does show a signature still held (the client's own copy)" test $? = 0
dump hold noshim
check "baseline: without the shim, the client's wipe leaves no copy" test $? = 1
dump hold
rc=$?
check "after close: the token was judged" json_expect "$TMP/hold.json" '"expired" in ids'
check "after close: no copy of the signature in the host's memory (rc $rc)" test $rc = 1

# ---- parked connections: their blocks went back to the pool wiped of what they used ----
# 40 live Twilsock connections over TLS (tests/bench/tools/tsock_many), each
# judged at its init and answered: all but the 16 hot ones (the first 16
# judged, p0..p15, which keep their blocks until they close) are parked,
# their blocks wiped (only the parts used) and pooled or unmapped. With every
# connection still open (the client wiped its own copies once sent), the
# client's anonymous memory holds the hot ones' tokens (the search works)
# and none of the parked ones'.
e2e_certs || { fail certificate; e2e_done; exit; }
${MAKE:-make} --no-print-directory -C "$ROOT" B="$BUILD" "$BUILD/bench/tools/tsock_many" >"$TMP/make.log" 2>&1 ||
	{ cat "$TMP/make.log"; fail "build tsock_many"; e2e_done; exit; }
mkfifo "$TMP/sctl"
"$PY" "$ROOT/tests/e2e/many/tsock_server.py" "$CERT_DIR/server.pem" "$CERT_DIR/server.key" <"$TMP/sctl" \
	>"$TMP/tsrv.out" 2>"$TMP/tsrv.err" &
PIDS+=($!)
exec 9>"$TMP/sctl"
wait_for 15 grep -qx ready "$TMP/tsrv.out" || { fail "twilsock server"; e2e_done; exit; }
TPORT=$(head -1 "$TMP/tsrv.out")
"$PY" - "$SECRET" "$KEY" "$ACCOUNT" >"$TMP/toks" <<'PYEOF'
import sys, time
from jwt_sign import sign
secret, key, account = sys.argv[1:4]
now = int(time.time())
for i in range(40):
    print(sign({"jti": "%s-%d-p%d" % (key, now, i), "iss": key, "sub": account, "iat": now - 10, "nbf": now - 10,
                "exp": now + 3600, "grants": {"identity": "p%d" % i,
                "chat": {"service_sid": "IS0123456789abcdef0123456789abcdef"}}}, secret))
PYEOF
cut -d. -f3 "$TMP/toks" >"$TMP/sigs"
# many: runs the client with the shim, 40 connections open and answered;
# prints which connections' signatures its anonymous memory holds
# (found: p<i> ...); 2 on trouble
many() {
	local mode=wipe pid rc
	rm -f "$TMP/cctl"
	mkfifo "$TMP/cctl"
	env LD_PRELOAD="$SHIM" TOKSHIM_SECRET="$SECRET" TOKSHIM_OUTPUT="json:$TMP/many_$mode.json" TOKSHIM_LEVEL=info \
		"$BUILD/bench/tools/tsock_many" --port "$TPORT" --tokens "$TMP/toks" --wipe \
		<"$TMP/cctl" >"$TMP/many_$mode.out" 2>"$TMP/many_$mode.err" &
	pid=$!
	PIDS+=($pid)
	exec 8>"$TMP/cctl"
	printf 'open 40\nrelease\n' >&8
	wait_for 60 grep -qx "released 40 ok 40" "$TMP/many_$mode.out" || { echo "  client did not finish"; exec 8>&-; return 2; }
	"$PY" "$TMP/scan_anon.py" "$pid" "$TMP/sigs"
	rc=$?
	printf 'quit\n' >&8
	exec 8>&-
	wait_for 20 grep -qx "closed 40" "$TMP/many_$mode.out"
	return $rc
}
many >"$TMP/found"
rc=$?
cat "$TMP/found"
check "parked: the client ran (rc $rc)" test $rc = 0
check "parked: 40 inits judged and answered" test "$(grep -c '"event":"answer"' "$TMP/many_wipe.json")" = 40
check "parked: the search finds the hot connections' tokens (their blocks kept while open)" \
	grep -Eq '^found:.* p[0-9]( |$)' "$TMP/found"
check "parked: no signature of a parked connection (p16..p39) in the host's memory while open" \
	bash -c "! grep -Eq ' p(1[6-9]|[23][0-9])( |\$)' '$TMP/found'"
e2e_done
