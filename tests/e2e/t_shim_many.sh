#!/usr/bin/env bash
# 3000 TLS connections open at once from one client (python3 asyncio, OpenSSL
# under the shim) to a local server, each sending an expired token: every
# one is followed and diagnosed (the connection table grows; no connection
# is dropped for lack of room), and nothing says a connection was not
# followed. Raises RLIMIT_NOFILE to its hard limit in both programs.
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_certs || { echo "FAIL: certificate"; exit 1; }
N=3000
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $((N + 200)) ]; then
	echo "FAIL: RLIMIT_NOFILE hard limit $hard is below $((N + 200))"
	exit 1
fi

# the server reads its stdin to know when to report: a fifo held open here
mkfifo "$TMP/ctl"
"$PY" "$ROOT/tests/e2e/many/many_server.py" "$CERT_DIR/server.pem" "$CERT_DIR/server.key" \
	<"$TMP/ctl" >"$TMP/server.out" 2>"$TMP/server.err" &
PIDS+=($!)
exec 9>"$TMP/ctl"
wait_for 15 grep -qx ready "$TMP/server.out" || { echo "FAIL: server did not start"; cat "$TMP/server.err"; exit 1; }
PORT=$(head -1 "$TMP/server.out")

# N distinct expired tokens, one per connection (identity u<i>), signed an
# hour before the shim's clock reads them (jwt_sign.py)
"$PY" - "$SECRET" "$KEY" "$ACCOUNT" "$N" >"$TMP/tokens" <<'PYEOF'
import sys, time
from jwt_sign import sign
secret, key, account, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
iat = int(time.time()) - 7200
for i in range(n):
    print(sign({"jti": "%s-%d" % (key, iat), "iss": key, "sub": account, "iat": iat, "nbf": iat,
                "exp": iat + 3600, "grants": {"identity": "u%d" % i,
                "chat": {"service_sid": "IS0123456789abcdef0123456789abcdef"}}}, secret))
PYEOF

TOKSHIM_OUTPUT="json:$TMP/many.json" shim_run "$TMP/client.out" "$TMP/client.err" -- \
	"$PY" "$ROOT/tests/e2e/many/many_client.py" "$PORT" "$N" "$CERT_DIR/ca.pem" "$TMP/tokens"
exec 9>&-
wait_for 10 test "$(wc -l <"$TMP/server.out")" -ge 3

check "client exit 0" test "$RC" = 0
check "all $N connections open at once" grep -qx "open $N" "$TMP/client.out"
check "all $N answered" grep -qx "answered $N" "$TMP/client.out"
check "the server read $N requests" test "$(sed -n 3p "$TMP/server.out")" = "$N"
check "$N diagnoses (one per connection)" test "$(json_count "$TMP/many.json")" = "$N"
check "every one says expired" json_expect "$TMP/many.json" '"expired" in ids and d["channel"] == "http"'
check "each connection's own token (N identities)" test "$("$PY" -c '
import json, sys
print(len({json.loads(l)["token"]["identity"] for l in open(sys.argv[1]) if l.strip()}))' "$TMP/many.json")" = "$N"
check "no connection said not followed" bash -c "! grep -q 'not followed' '$TMP/client.err'"
e2e_done
