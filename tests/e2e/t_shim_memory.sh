#!/usr/bin/env bash
# What stays in memory: after a connection that carried a token has closed,
# no copy of the token's signature is left in the shim's memory (its pooled
# session block is wiped when the connection ends). The client
# (hostile/tokclient.c) wipes its own copies, then waits; its anonymous
# mappings (where the shim's blocks live; not [stack] nor [heap], which are
# the client's own) are read through /proc/PID/mem and searched for the
# signature. A baseline run where the client keeps its own copy (in its
# .bss, an anonymous mapping too) shows the search finds one.
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
	"$PY" - "$pid" "$SIG" <<'PYEOF'
import re, sys
pid, sig = sys.argv[1], sys.argv[2].encode()
found = 0
with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb", 0) as mem:
    for line in maps:
        f = line.split()
        if len(f) > 5 or not f[1].startswith("rw"):
            continue  # a file or [stack], [heap], [vvar]: not anonymous memory
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        try:
            mem.seek(lo)
            if sig in mem.read(hi - lo):
                found += 1
        except OSError:
            pass
sys.exit(0 if found else 1)
PYEOF
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
e2e_done
