#!/usr/bin/env bash
# What stays in memory: after a connection that carried a token has closed,
# no copy of the token's signature is left in the host's memory by the shim
# (its pooled session block is wiped when the connection ends). The client
# (hostile/tokclient.c) wipes its own copies, then waits; gdb's gcore dumps
# its memory and the dump is searched for the signature. A baseline run
# where the client keeps its own copy shows the search finds it.
. "$(dirname "$0")/lib.sh"
e2e_init
command -v gcore >/dev/null || { echo "skip: gdb's gcore not installed"; exit 0; }
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

# dump MODE: runs the client (hold: wipes its own copies; keep: does not),
# dumps its memory once it has closed the connection, greps for the signature
dump() {
	local mode=$1 pid
	: >"$TMP/$mode.out"
	env LD_PRELOAD="$SHIM" TOKSHIM_SECRET="$SECRET" TOKSHIM_OUTPUT="json:$TMP/$mode.json" \
		"$TMP/tokclient" "$PORT" "@$TMP/tok" "$mode" >"$TMP/$mode.out" 2>"$TMP/$mode.err" &
	pid=$!
	PIDS+=($pid)
	wait_for 20 grep -q held "$TMP/$mode.out" || { echo "  client did not finish"; return 2; }
	sleep 0.3
	timeout 60 gcore -o "$TMP/core.$mode" "$pid" >/dev/null 2>&1
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -s "$TMP/core.$mode.$pid" ] || { echo "  no core"; return 2; }
	grep -qaF -- "$SIG" "$TMP/core.$mode.$pid"
	local found=$?
	rm -f "$TMP/core.$mode.$pid"
	return $found
}
dump keep
check "baseline: a dump does show a signature still held (the client's own copy)" test $? = 0
dump hold
rc=$?
check "after close: the token was judged" json_expect "$TMP/hold.json" '"expired" in ids'
check "after close: no copy of the signature in the host's memory (rc $rc)" test $rc = 1
e2e_done
