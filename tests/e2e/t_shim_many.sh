#!/usr/bin/env bash
# 3000 TLS connections open at once from one client (python3 asyncio, OpenSSL
# under the shim) to a local server, each sending an expired token: every
# one is followed and diagnosed (the connection table grows; no connection
# is dropped for lack of room), and nothing says a connection was not
# followed. Raises RLIMIT_NOFILE to its hard limit in both programs.
# Then live Twilsock connections: what the shim keeps per judged connection
# (below).
. "$(dirname "$0")/lib.sh"
e2e_init
MAKE_CMD="${MAKE:-make} --no-print-directory -C $ROOT B=$BUILD"
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

# ---- live Twilsock connections, the server's side read (TOKSHIM_READ's default) ----
# tests/e2e/many/live_mem.sh: L2 TLS connections held by one C client
# (OpenSSL), each judged at its init while the server holds the reply back,
# then answered; the client's anonymous memory with and without the shim
# between L1 and L2 open connections gives what the shim keeps per judged
# connection (at most 2 KiB). Then the first K send an update for
# another identity, and once the init tokens' exp passed every connection
# sends a ping and reads its reply.
L1=200 L2=1200 K=40
$MAKE_CMD "$BUILD/bench/tools/tsock_many" >"$TMP/make.log" 2>&1 || cat "$TMP/make.log"
LIVE_TTL=20 B="$BUILD" bash "$ROOT/tests/e2e/many/live_mem.sh" "$TMP/live" "$L1" "$L2" "$K" >"$TMP/live.out" 2>"$TMP/live.err"
lrc=$?
check "live: the runs completed (exit $lrc)" test "$lrc" = 0
[ "$lrc" = 0 ] || cat "$TMP/live.err"
cat "$TMP/live.out"
per() { awk -v s="$1" -v f="$2" '$1 == "bytes_per_conn" && $2 == s { print $f }' "$TMP/live.out"; }
for phase in awaited:3 received:4; do
	f=${phase#*:}
	added=$(( $(per B "$f") - $(per A "$f") ))
	check "live: the shim keeps $added bytes per judged connection, answer ${phase%:*} (at most 2048)" \
		test "$added" -le 2048
done
LJ=$TMP/live/live.json
rec() { "$PY" - "$LJ" "$1" <<'PYEOF'
import json, sys
n = 0
for l in open(sys.argv[1]):
    if l.strip():
        d = json.loads(l)
        ids = [c["id"] for c in d.get("causes", [])]
        ev = d.get("event", "token")
        ident = int(d["token"]["identity"][1:])
        n += bool(eval(sys.argv[2]))
print(n)
PYEOF
}
check "live: $L2 inits judged, each its own identity" \
	test "$(rec 'ev == "token" and d["message"] == "init" and d["verdict"] == "accept"')" = "$L2"
check "live: $L2 init answers matched by id after the connections parked" \
	test "$(rec 'ev == "answer" and d["message"] == "init" and d["server"]["verdict"] == "accept" and d["prediction"]["agrees"] and d["after_ms"] is not None')" = "$L2"
check "live: $K updates for another identity: update_mismatch" \
	test "$(rec 'ev == "token" and d["message"] == "update" and "update_mismatch" in ids and d["token"]["identity"] == "v%d" % ident and ident < '"$K")" = "$K"
check "live: their answers matched (server_accepted: the server took what was predicted a reject)" \
	test "$(rec 'ev == "answer" and d["message"] == "update" and "server_accepted" in ids')" = "$K"
check "live: refresh_missing on each of the $((L2 - K)) connections that never refreshed, once" \
	test "$(rec 'ev == "lifetime" and "refresh_missing" in ids and d["token"]["identity"] == "u%d" % ident and ident >= '"$K")" = "$((L2 - K))"
check "live: no other lifetime record (the $K updated ones are still valid)" \
	test "$(rec 'ev == "lifetime"')" = "$((L2 - K))"
check "live: nothing said not followed" bash -c "! grep -q 'not followed' '$TMP/live/B.err'"
e2e_done
