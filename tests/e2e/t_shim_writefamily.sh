#!/usr/bin/env bash
# Every libc write-family hook takes the same path (shim/hook_libc.c's
# write_begin/write_end): an HTTP request carrying an expired token over
# plain TCP, put out by python3 with send, sendto, sendmsg (three pieces),
# writev (three pieces) and write, is reported once each, and the bytes the
# server receives are the bytes sent. A tiny local server reads them.
. "$(dirname "$0")/lib.sh"
e2e_init

TOK=$(mint --grant chat:service_sid=IS0123456789abcdef0123456789abcdef --now -7200 --ttl 3600)

cat >"$TMP/server.py" <<'PY'
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
s.settimeout(120)
out = open(sys.argv[1], "ab")
for _ in range(int(sys.argv[2])):
    c, _ = s.accept(); c.settimeout(10)
    data = b""
    while not data.endswith(b"\r\n\r\n"):
        b = c.recv(65536)
        if not b:
            break
        data += b
    out.write(data); out.flush()
    c.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"); c.close()
PY
cat >"$TMP/client.py" <<'PY'
import ctypes, os, socket, sys
mode, port, tok = sys.argv[1], int(sys.argv[2]), sys.argv[3]
req = ("GET /v1/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Twilio-Token: %s\r\n\r\n" % tok).encode()
a, b = req[:20], req[20:60]
c = req[60:]
s = socket.create_connection(("127.0.0.1", port), 10)
if mode == "send":
    s.send(req)
elif mode == "sendto":
    libc = ctypes.CDLL(None, use_errno=True)
    libc.sendto.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_void_p, ctypes.c_uint]
    libc.sendto.restype = ctypes.c_ssize_t
    n = libc.sendto(s.fileno(), req, len(req), 0, None, 0)
    assert n == len(req), n
elif mode == "sendmsg":
    assert s.sendmsg([a, b, c]) == len(req)
elif mode == "writev":
    assert os.writev(s.fileno(), [a, b, c]) == len(req)
elif mode == "write":
    assert os.write(s.fileno(), req) == len(req)
print("reply: " + s.recv(4096).split(b"\r\n")[0].decode(), flush=True)
s.close()
PY

modes="send sendto sendmsg writev write"
"$PY" "$TMP/server.py" "$TMP/received" 5 >"$TMP/port" 2>"$TMP/server.err" &
PIDS+=($!)
wait_for 10 test -s "$TMP/port" || { echo "FAIL: server did not start"; exit 1; }
PORT=$(cat "$TMP/port")
for m in $modes; do
	rm -f "$TMP/$m.json"
	TOKSHIM_OUTPUT="stderr,json:$TMP/$m.json" shim_run "$TMP/$m.log" "$TMP/$m.log" -- "$PY" "$TMP/client.py" "$m" "$PORT" "$TOK"
	check "$m: client exit 0" test "$RC" = 0
	check "$m: server answered" grep -q 'reply: HTTP/1.1 204' "$TMP/$m.log"
	check "$m: one report, expired, channel http" json_expect "$TMP/$m.json" \
		"'expired' in ids and d['channel'] == 'http' and d['connection']['library'] == 'libc'"
	check "$m: one json line" test "$(json_count "$TMP/$m.json")" = 1
	check "$m: report before the reply was printed" report_before "reply:" "$TMP/$m.log"
	check "$m: no signature, token or secret written" no_secret_in "$TMP/$m.log" "$TOK"
done
"$PY" - "$TMP/received" "$TOK" <<'PY' && ok=1 || ok=0
import sys
data = open(sys.argv[1], "rb").read()
req = ("GET /v1/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Twilio-Token: %s\r\n\r\n" % sys.argv[2]).encode()
sys.exit(0 if data == req * 5 else 1)
PY
check "the server received every byte, unchanged" test "$ok" = 1
e2e_done
