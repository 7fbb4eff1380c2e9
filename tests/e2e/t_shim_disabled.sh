#!/usr/bin/env bash
# TOKSHIM_DISABLE=1 means untouched: a TLS client whose TLS runs in a
# non-main thread, under valgrind's leak check, loses no memory to the shim
# (its hooks look nothing up through dlopen/dlclose before they know they
# are off); and the shim's lazily computed values are race-free under
# helgrind with a client writing from several threads.
. "$(dirname "$0")/lib.sh"
e2e_init
command -v valgrind >/dev/null || { echo "skip: valgrind not installed"; exit 0; }
e2e_certs || { fail certs; e2e_done; exit; }
H=$ROOT/tests/e2e/hostile
cc -O1 -g -Wall -Wextra -Werror -pthread -o "$TMP/threads_connect" "$H/threads_connect.c" || { fail build; e2e_done; exit; }
# the client: Python's ssl (libssl reached through the dlopen'ed _ssl
# module), the TLS in a thread
cat >"$TMP/client.py" <<'PYEOF'
import socket, ssl, sys, threading
def run():
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            t.recv(100)
th = threading.Thread(target=run)
th.start()
th.join()
print("ok")
PYEOF
cat >"$TMP/srv.py" <<'PYEOF'
import socket, ssl, sys, threading
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
def serve(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
        d = b""
        while b"\r\n\r\n" not in d:
            x = t.recv(65536)
            if not x: break
            d += x
        t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        t.close()
    except Exception:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PYEOF
"$PY" "$TMP/srv.py" "$CERT_DIR/server.pem" "$CERT_DIR/server.key" >"$TMP/port" &
PIDS+=($!)
wait_for 10 test -s "$TMP/port" || { fail server; e2e_done; exit; }
PORT=$(head -n1 "$TMP/port")
VG=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect --error-exitcode=99)
timeout 180 "${VG[@]}" /usr/bin/python3 "$TMP/client.py" "$PORT" "$CERT_DIR/ca.pem" >"$TMP/base.out" 2>"$TMP/base.err"
rc=$?
check "baseline without the shim: works, leak-free (rc $rc)" bash -c "grep -qx ok '$TMP/base.out' && test $rc = 0"
# valgrind hands LD_PRELOAD on to the client (after its own preload)
timeout 180 env TOKSHIM_DISABLE=1 LD_PRELOAD="$SHIM" "${VG[@]}" \
	/usr/bin/python3 "$TMP/client.py" "$PORT" "$CERT_DIR/ca.pem" >"$TMP/d.out" 2>"$TMP/d.err"
rc=$?
check "TOKSHIM_DISABLE=1: the client works" grep -qx ok "$TMP/d.out"
check "TOKSHIM_DISABLE=1: no memory lost (valgrind rc $rc)" test "$rc" = 0

# helgrind: the shim's set-once values (the session block size) are not
# raced on when threads reach the first-data path together; only reports
# naming that code count (helgrind does not model C11 atomics, which the
# connection table uses by design)
timeout 180 env LD_PRELOAD="$SHIM" TOKSHIM_OUTPUT=none valgrind --tool=helgrind "$TMP/threads_connect" "$PORT" \
	>"$TMP/hg.out" 2>"$TMP/hg.err"
check "helgrind ran the threads" grep -q "ERROR SUMMARY" "$TMP/hg.err"
check "helgrind: no race in block_size" bash -c "! grep -q 'block_size' '$TMP/hg.err'"
e2e_done
