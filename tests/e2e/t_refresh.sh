#!/usr/bin/env bash
# Missed refreshes (SPEC.md: refresh_missing, the lifetime record): the
# server warns token_about_to_expire and then says nothing but pings; an app
# that ignores the warning gets refresh_missing once its token's exp passes,
# judged on the connection's own traffic (the pings it reads), no timer. The
# control answers the warning with an update and gets none.
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_certs || { echo "FAIL: certificate"; exit 1; }
start_server --ws-plain 0 --warn-then-silence || exit 1
WP=$(port_of ws-plain)
CHAT=chat:service_sid=IS0123456789abcdef0123456789abcdef
LONG=$(mint --grant "$CHAT" --identity alice --ttl 3600)

SHORT=$(mint --grant "$CHAT" --identity alice --ttl 3)
export TOKSHIM_OUTPUT="stderr,json:$TMP/ignore.json"
shim_run "$TMP/i.out" "$TMP/i.err" -- "$PY" "$ROOT/tests/e2e/tsock_raw.py" --port "$WP" --stay 6 "$SHORT"
check "ignored: the client saw the warning" grep -q "token_about_to_expire" "$TMP/i.out"
check "ignored: one lifetime record with refresh_missing naming the SDK events" json_expect_some "$TMP/ignore.json" \
	'd.get("event") == "lifetime" and ids[0] == "refresh_missing" and "token_about_to_expire" in d["causes"][0]["text"] and "tokenAboutToExpire" in d["causes"][0]["fix"] and "updateToken" in d["causes"][0]["fix"] and d["channel"] == "twilsock" and d["token"]["identity"] == "alice"'
check "ignored: exactly one refresh_missing" test "$(grep -c refresh_missing "$TMP/ignore.json")" = 1
check "ignored: stderr carries the warning" grep -q "warning refresh_missing" "$TMP/i.err"

SHORT=$(mint --grant "$CHAT" --identity alice --ttl 3)
export TOKSHIM_OUTPUT="stderr,json:$TMP/update.json"
TOKSHIM_LEVEL=info shim_run "$TMP/u.out" "$TMP/u.err" -- "$PY" "$ROOT/tests/e2e/tsock_raw.py" --port "$WP" --stay 6 --update "$LONG" "$SHORT"
check "control: the update was accepted" grep -q 'server: reply {"code": 200' "$TMP/u.out"
check "control: no refresh_missing, no expired_in_use" bash -c "! grep -q 'refresh_missing\|expired_in_use' '$TMP/update.json'"
check "control: the update was judged, and its reply matched by id" json_expect_some "$TMP/update.json" 'd.get("event") == "answer" and d["message"] == "update" and d["server"]["verdict"] == "accept" and d["server"]["status"] == 200'
e2e_done
