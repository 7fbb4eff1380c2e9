#!/usr/bin/env bash
# A token that is the very last bytes of a stream is judged when the stream
# ends: `tokshim scan` at the end of its file, the shim when the connection
# closes (close, and SSL_free for a TLS one): not "no token found". Also a
# last header line that never got its line end.
. "$(dirname "$0")/lib.sh"
e2e_init
TOK=$(mint --now -7200 --ttl 3600)
printf 'hello %s' "$TOK" >"$TMP/raw.bin"
printf 'GET / HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: %s' "$TOK" >"$TMP/http.bin"
printf 'REGISTER sip:a@b SIP/2.0\r\nX-Twilio-AccessToken:\r\n %s' "$TOK" >"$TMP/sip.bin"
for f in raw http sip; do
	"$TOKSHIM" scan --secret "$SECRET" --json "$TMP/$f.bin" >"$TMP/$f.json" 2>"$TMP/$f.err"
	check "scan $f: the last token is judged (exit 1: expired)" test $? = 1
	check "scan $f: expired" json_expect "$TMP/$f.json" '"expired" in ids'
	check "scan $f: no 'no token found'" bash -c "! grep -q 'no token found' '$TMP/$f.err'"
done

# the shim: a TCP client whose last bytes before close are the token
cat >"$TMP/srv.py" <<'PYEOF'
import socket, sys, threading
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
def serve(c):
    while c.recv(65536):
        pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PYEOF
"$PY" "$TMP/srv.py" >"$TMP/port" &
PIDS+=($!)
wait_for 10 test -s "$TMP/port" || { fail server; e2e_done; exit; }
PORT=$(head -n1 "$TMP/port")
cat >"$TMP/client.py" <<'PYEOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"hello " + sys.argv[2].encode())
time.sleep(0.2)
s.close()
print("closed", flush=True)
time.sleep(0.2)
PYEOF
TOKSHIM_OUTPUT="stderr,json:$TMP/shim.json" shim_run "$TMP/c.out" "$TMP/c.err" -- "$PY" "$TMP/client.py" "$PORT" "$TOK"
check "shim: client exit 0" test "$RC" = 0
check "shim: the token judged at close" json_expect "$TMP/shim.json" '"expired" in ids'
check "shim: one record" test "$(json_count "$TMP/shim.json")" = 1
check "shim: on stderr too" grep -q 'REJECT' "$TMP/c.err"
check "shim: no secret or signature written" no_secret_in "$TMP/shim.json" "$TOK"
e2e_done
