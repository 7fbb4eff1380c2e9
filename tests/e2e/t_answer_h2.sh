#!/usr/bin/env bash
# The server's answers over HTTP/2 (SPEC.md: the answer record; issue 15's
# responses): real curl, over TLS with ALPN h2 (its default negotiation) and
# in cleartext with prior knowledge, against the local Twilio-like server's
# HTTP/2 endpoints (python3-h2), which judge each token and answer 401 with
# Twilio's JSON error body or 200. The answer is matched to the request by
# its stream; `tokshim scan --server` judges a recorded connection the same.
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_certs || { echo "FAIL: certificate"; exit 1; }
"$PY" -c 'import h2' 2>/dev/null || { echo "FAIL: python3-h2 missing"; exit 1; }

start_server --h2 0 --h2c 0 || exit 1
TP=$(port_of h2) CP=$(port_of h2c)
export TOKSHIM_LEVEL=info
EXPIRED=$(mint --now -7200 --grant voice:incoming.allow=true --identity alice)
GOOD=$(mint --grant voice:incoming.allow=true --identity bob)
ANS='d.get("event") == "answer" and d["channel"] == "http" and d["message"] == "header"'
R20104='{"verdict": "reject", "status": 401, "code": 20104, "text": "Access Token expired or expiration date invalid"}'

# 1. curl's default over https (ALPN h2): the expired token, 401 20104, as predicted
export TOKSHIM_OUTPUT="stderr,json:$TMP/tls.json"
shim_run "$TMP/tls.out" "$TMP/tls.err" -- curl -sS --max-time 20 --cacert "$CERT_DIR/ca.pem" \
	-w '\n%{http_version} %{http_code}\n' -H "X-Twilio-Token: $EXPIRED" "https://localhost:$TP/v1/Insights"
check "tls: curl exits 0 over HTTP/2, body unchanged" test "$RC" = 0 -a "$(tail -n 1 "$TMP/tls.out")" = "2 401"
check "tls: the server's JSON body reached curl" grep -q '"code": 20104' "$TMP/tls.out"
check "tls: the prediction, expired" json_expect "$TMP/tls.json" \
	'd.get("event", "token") == "token" or d.get("event") == "answer"'
check "tls: answer 401 20104, agrees, warning, after_ms measured" json_expect_some "$TMP/tls.json" \
	"$ANS"' and d["server"] == '"$R20104"' and d["prediction"] == {"verdict": "reject", "causes": ["expired"], "agrees": True} and isinstance(d["after_ms"], int) and d["after_ms"] >= 0 and d["connection"]["transport"] == "tls" and d["connection"]["library"] == "openssl" and d["token"]["identity"] == "alice"'
check "tls: two records, the token's and the answer" test "$(grep -c . "$TMP/tls.json")" = 2
check "tls: stderr says as predicted" grep -q 'SERVER REJECTED http header: status 401, code 20104 (Access Token expired or expiration date invalid); as predicted' "$TMP/tls.err"
check "tls: no token or signature in the records" no_secret_in "$TMP/tls.json" "$EXPIRED"

# 2. two requests on one connection (streams 1 and 3), each answered on its own stream
export TOKSHIM_OUTPUT="json:$TMP/two.json"
shim_run "$TMP/two.out" "$TMP/two.err" -- curl -sS --max-time 20 --cacert "$CERT_DIR/ca.pem" \
	-w '\n%{http_version} %{http_code} %{num_connects}\n' \
	-H "X-Twilio-Token: $GOOD" "https://localhost:$TP/v1/a" --next --cacert "$CERT_DIR/ca.pem" \
	-w '\n%{http_version} %{http_code} %{num_connects}\n' -H "X-Twilio-Token: $EXPIRED" "https://localhost:$TP/v1/b"
check "two: 200 then 401 over one HTTP/2 connection" test "$RC" = 0 -a \
	"$(grep -Eo '^2 [0-9]+ [0-9]+$' "$TMP/two.out" | tr '\n' ' ')" = "2 200 1 2 401 0 "
check "two: the good token's answer is an accept, at info" json_expect_some "$TMP/two.json" \
	"$ANS"' and d["token"]["identity"] == "bob" and d["server"]["verdict"] == "accept" and d["server"]["status"] == 200 and d["prediction"]["agrees"] and ids == []'
check "two: the expired token's answer is its own 401" json_expect_some "$TMP/two.json" \
	"$ANS"' and d["token"]["identity"] == "alice" and d["server"] == '"$R20104"' and d["prediction"]["agrees"]'
check "two: three records (the good token, signed with the secret, is quiet; its answer at info)" \
	test "$(grep -c . "$TMP/two.json")" = 3

# 3. cleartext, prior knowledge (the libc read hooks): the same answer
export TOKSHIM_OUTPUT="json:$TMP/clear.json"
shim_run "$TMP/clear.out" "$TMP/clear.err" -- curl -sS --max-time 20 --http2-prior-knowledge \
	-w '\n%{http_version} %{http_code}\n' -H "X-Twilio-Token: $EXPIRED" "http://localhost:$CP/v1/x"
check "clear: curl exits 0, 401 over HTTP/2" test "$RC" = 0 -a "$(tail -n 1 "$TMP/clear.out")" = "2 401"
check "clear: answer 401 20104 over tcp" json_expect_some "$TMP/clear.json" \
	"$ANS"' and d["server"] == '"$R20104"' and d["prediction"]["agrees"] and d["connection"]["transport"] == "tcp"'

# 4. TOKSHIM_READ=0: the prediction only
export TOKSHIM_OUTPUT="json:$TMP/noread.json"
TOKSHIM_READ=0 shim_run "$TMP/noread.out" "$TMP/noread.err" -- curl -sS --max-time 20 --cacert "$CERT_DIR/ca.pem" \
	-H "X-Twilio-Token: $EXPIRED" "https://localhost:$TP/v1/Insights"
check "TOKSHIM_READ=0: one record, no answer" test "$RC" = 0 -a "$(json_count "$TMP/noread.json")" = 1

# 5. tokshim scan --server on a recording of both directions of curl's
# cleartext HTTP/2 connection (a relay between curl and the server)
RP=$(free_port)
"$PY" - "$RP" "$CP" "$TMP/client.bin" "$TMP/server.bin" "$TMP/relay.up" <<'PYEOF' &
import select, socket, sys
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1]))); ls.listen(1)
open(sys.argv[5], "w").close()
ls.settimeout(20)
c, _ = ls.accept()
s = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10)
out = {c: (s, open(sys.argv[3], "wb")), s: (c, open(sys.argv[4], "wb"))}
for _ in range(10000):
    r, _, _ = select.select([c, s], [], [], 10)
    if not r:
        break
    end = False
    for x in r:
        d = x.recv(65536)
        if not d:
            end = True
            break
        peer, f = out[x]
        f.write(d); f.flush()
        peer.sendall(d)
    if end:
        break
PYEOF
LP=$!
PIDS+=($LP)
wait_for 10 test -e "$TMP/relay.up"
curl -sS --max-time 20 --http2-prior-knowledge -H "X-Twilio-Token: $EXPIRED" "http://localhost:$RP/v1/rec" \
	>"$TMP/rec.out" 2>"$TMP/rec.err"
for _ in $(seq 50); do kill -0 "$LP" 2>/dev/null || break; sleep 0.1; done
check "relay: curl got the 401 body through it" grep -q '"code": 20104' "$TMP/rec.out"
RC=0
"$TOKSHIM" scan --json --secret "$SECRET" --server "$TMP/server.bin" "$TMP/client.bin" \
	>"$TMP/scan.json" 2>"$TMP/scan.err" || RC=$?
check "scan --server: exit 1 (rejected)" test "$RC" = 1
check "scan --server: the answer, 401 20104 as predicted, after_ms null" json_expect_some "$TMP/scan.json" \
	"$ANS"' and d["server"] == '"$R20104"' and d["prediction"]["agrees"] and d["after_ms"] is None and d["connection"]["host"] == "localhost"'
check "scan --server: the token and the answer" test "$(grep -c . "$TMP/scan.json")" = 2
RC=0
"$TOKSHIM" scan --secret "$SECRET" --server "$TMP/server.bin" "$TMP/client.bin" >"$TMP/scan.txt" 2>&1 || RC=$?
check "scan --server, text: as predicted" grep -q 'status 401, code 20104 (Access Token expired or expiration date invalid); as predicted' "$TMP/scan.txt"

e2e_done
