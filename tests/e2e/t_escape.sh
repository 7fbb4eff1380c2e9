#!/usr/bin/env bash
# Every text output escapes what a terminal or a log viewer would act on:
# C0 controls, C1 controls (U+0080-U+009F), bidi embeddings, overrides and
# isolates (U+202A-U+202E, U+2066-U+2069), U+2028/U+2029, in a token's
# claims shown by `check` (text and --json), `scan`, the shim's stderr and
# its syslog lines; long values are cut at character boundaries (the output
# stays valid UTF-8).
. "$(dirname "$0")/lib.sh"
e2e_init
EVIL=$'al\xe2\x80\xaeice\xc2\x9b31m\xe2\x81\xa6x\xe2\x81\xa9\xe2\x80\xa8y\xe2\x80\xa9\x1b]0;t\x07'
LONG=$(printf '\xc3\xa9%.0s' $(seq 1 300))
TOK=$(mint --identity "$EVIL$LONG" --now -7200 --ttl 3600)
printf 'GET / HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: %s\r\n\r\n' "$TOK" >"$TMP/req.bin"
"$TOKSHIM" check --secret "$SECRET" "$TOK" >"$TMP/check.txt" 2>&1
"$TOKSHIM" check --secret "$SECRET" --json "$TOK" >"$TMP/check.json" 2>&1
"$TOKSHIM" scan --secret "$SECRET" "$TMP/req.bin" >"$TMP/scan.txt" 2>&1
"$TOKSHIM" scan --secret "$SECRET" --json "$TMP/req.bin" >"$TMP/scan.json" 2>&1

# the shim: stderr and syslog (a datagram socket read by a small server)
"$PY" - "$TMP/log.sock" "$TMP/syslog.txt" <<'PYEOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
PYEOF
PIDS+=($!)
wait_for 10 test -S "$TMP/log.sock"
cat >"$TMP/client.py" <<'PYEOF'
import socket, sys
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
c = socket.create_connection(srv.getsockname())
c.sendall(open(sys.argv[1], "rb").read())
c.close()
PYEOF
TOKSHIM_OUTPUT=stderr,syslog TOKSHIM_SYSLOG_PATH=$TMP/log.sock shim_run "$TMP/shim.out" "$TMP/shim.txt" -- "$PY" "$TMP/client.py" "$TMP/req.bin"
wait_for 5 test -s "$TMP/syslog.txt"
check "the shim reported on stderr" grep -q REJECT "$TMP/shim.txt"
check "the shim reported on syslog" grep -q "verdict=reject" "$TMP/syslog.txt"
for f in check.txt check.json scan.txt scan.json shim.txt syslog.txt; do
	check "$f: no raw C0, C1, bidi or separator character; valid UTF-8" "$PY" -c "
import sys
b = open(sys.argv[1], 'rb').read()
t = b.decode('utf-8')
bad = [hex(ord(ch)) for ch in t if (ord(ch) < 0x20 and ch != '\n') or 0x7f <= ord(ch) < 0xa0 or 0x202a <= ord(ch) <= 0x202e or 0x2066 <= ord(ch) <= 0x2069 or ord(ch) in (0x2028, 0x2029)]
if bad: print('  ', sys.argv[1], bad[:5])
sys.exit(1 if bad else 0)" "$TMP/$f"
done
check "check: the override shown escaped" grep -qF 'al\u202eice\x9b31m\u2066x\u2069\u2028y\u2029\x1b]0;t\x07' "$TMP/check.txt"
check "check --json: escaped the JSON way" grep -qF 'al\u202eice\u009b31m\u2066x\u2069\u2028y\u2029\u001b]0;t\u0007' "$TMP/check.json"
e2e_done
