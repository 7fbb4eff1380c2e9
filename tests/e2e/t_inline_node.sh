#!/usr/bin/env bash
# The real Twilio Conversations SDK (npm @twilio/conversations, tests/node)
# run by the `node` on PATH against the local Twilsock server. The builds from
# nodejs.org and nodesource carry their own OpenSSL inside the executable
# (SSL_write defined in `node` itself, called directly, no PLT): it is seen
# through the inline hook. An expired token gives the 51215 diagnosis before
# the SDK reports the server's answer; a good one gives none; the SDK's
# events are the same with and without the shim, and with TOKSHIM_INLINE=0.
. "$(dirname "$0")/lib.sh"
e2e_init
NODE=$(command -v node) || { echo "FAIL: no node on PATH"; exit 1; }
[ -d "$ROOT/tests/node/node_modules/@twilio/conversations" ] ||
	{ echo "FAIL: tests/node/node_modules missing (make node-deps)"; exit 1; }
e2e_certs || { echo "FAIL: certificate"; exit 1; }
start_server --twilsock 0 --reply-delay 0.3 || exit 1
TW=$(port_of twilsock)
URI="wss://localhost:$TW/v3/wsconnect"
IS=IS0123456789abcdef0123456789abcdef
BAD=$(mint --grant chat:service_sid=$IS --identity alice --now -7200 --ttl 3600)
GOOD=$(mint --grant chat:service_sid=$IS --identity alice)
export NODE_EXTRA_CA_CERTS=$CERT_DIR/ca.pem
CLIENT=("$NODE" "$ROOT/tests/node/conversations_client.js")
bundled=0
nm -D --defined-only "$NODE" 2>/dev/null | grep -qw SSL_write && bundled=1
want_hook=plt
[ "$bundled" = 1 ] && want_hook=inline
echo "node: $("$NODE" --version), SSL_write in the executable: $bundled (hook $want_hook)"

plain_run "$TMP/p.out" "$TMP/p.err" -- "${CLIENT[@]}" "$BAD" "$URI" 10
check "plain, expired: the SDK is denied with 20104" grep -q "connectionError: 20104" "$TMP/p.out"

TOKSHIM_OUTPUT="stderr,json:$TMP/bad.json" shim_run "$TMP/bad.log" "$TMP/bad.log" -- "${CLIENT[@]}" "$BAD" "$URI" 10
check "shim, expired: exit 0" test "$RC" = 0
check "shim, expired: json 51215 twilsock init expired via openssl/$want_hook" json_expect "$TMP/bad.json" \
	'd["code"] == 51215 and d["channel"] == "twilsock" and d["message"] == "init" and "expired" in ids and d["connection"]["library"] == "openssl" and d["connection"]["hook"] == "'"$want_hook"'" and d["connection"]["host"] == "localhost"'
check "shim, expired: one diagnosis" test "$(json_count "$TMP/bad.json")" = 1
check "shim, expired: the diagnosis comes before the SDK sees the answer" report_before "connectionError:" "$TMP/bad.log"
check "shim, expired: no signature, token or secret written" no_secret_in "$TMP/bad.log" "$BAD"
grep -v '^tokshim\[' "$TMP/bad.log" >"$TMP/bad.out"
check "shim, expired: the SDK's events are the same as without the shim" cmp -s "$TMP/p.out" "$TMP/bad.out"

plain_run "$TMP/g.out" "$TMP/g.err" -- "${CLIENT[@]}" "$GOOD" "$URI" 10
check "plain, good: connected" grep -q "outcome: connected" "$TMP/g.out"
TOKSHIM_OUTPUT="stderr,json:$TMP/good.json" shim_run "$TMP/gs.out" "$TMP/gs.err" -- "${CLIENT[@]}" "$GOOD" "$URI" 10
check "shim, good: exit 0, nothing on stderr" test "$RC" = 0 -a ! -s "$TMP/gs.err"
check "shim, good: no diagnosis" test "$(json_count "$TMP/good.json")" = 0
check "shim, good: the SDK's events are the same" cmp -s "$TMP/g.out" "$TMP/gs.out"

# TOKSHIM_INLINE=0: symbol interposition only; a bundled OpenSSL is not seen
TOKSHIM_INLINE=0 TOKSHIM_OUTPUT="stderr,json:$TMP/off.json" shim_run "$TMP/off.out" "$TMP/off.err" -- "${CLIENT[@]}" "$BAD" "$URI" 10
check "TOKSHIM_INLINE=0: the SDK is denied as without the shim" cmp -s "$TMP/p.out" "$TMP/off.out"
if [ "$bundled" = 1 ]; then
	check "TOKSHIM_INLINE=0: nothing seen in a bundled OpenSSL" test "$(json_count "$TMP/off.json")" = 0
fi
e2e_done
