#!/usr/bin/env bash
# A TOKSHIM_HOOKS description of a higher-level send function never blinds
# the built-in hook beneath it: a libwebsockets client (examples/lws_client.c,
# lws over Debian's OpenSSL) with a description of lws_write. The OpenSSL
# write inside lws_write is still fed; lws_write's own bytes (copied before
# the call: lws masks them in place) are fed under their own connection and
# reported as that same write: one diagnosis, not two.
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_certs || { echo "FAIL: certificate"; exit 1; }
"$TCC" -std=gnu11 -Wall -Wextra -Werror -O2 -o "$TMP/lws_client" "$ROOT/examples/lws_client.c" -lwebsockets ||
	{ echo "FAIL: cannot build examples/lws_client.c (libwebsockets-dev)"; exit 1; }
start_server --twilsock 0 --reply-delay 0.3 || exit 1
TW=$(port_of twilsock)
IS=IS0123456789abcdef0123456789abcdef
BAD=$(mint --grant chat:service_sid=$IS --identity alice --now -7200 --ttl 3600)
GOOD=$(mint --grant chat:service_sid=$IS --identity alice)
LWS='lws:lws_write(ptr conn, ptr buf, size len, int proto) -> int'
C=("$TMP/lws_client" --cafile "$CERT_DIR/ca.pem" "$TW")

plain_run "$TMP/p.out" "$TMP/p.err" -- "${C[@]}" "$BAD"
prc=$RC
check "plain: the server refuses the init (reply 401)" grep -qx "reply: 401" "$TMP/p.out"

TOKSHIM_OUTPUT="json:$TMP/none.json" shim_run "$TMP/n.out" "$TMP/n.err" -- "${C[@]}" "$BAD"
check "no description: one diagnosis via openssl/plt" json_expect "$TMP/none.json" \
	'd["code"] == 51215 and d["message"] == "init" and d["connection"]["library"] == "openssl" and d["connection"]["hook"] == "plt"'

TOKSHIM_HOOKS=$LWS TOKSHIM_OUTPUT="stderr,json:$TMP/lws.json" shim_run "$TMP/lws.log" "$TMP/lws.log" -- "${C[@]}" "$BAD"
check "lws_write described: same exit status" test "$RC" = "$prc"
check "lws_write described: 51215 twilsock init expired, via openssl" json_expect "$TMP/lws.json" \
	'd["code"] == 51215 and d["channel"] == "twilsock" and d["message"] == "init" and "expired" in ids and d["connection"]["library"] == "openssl"'
check "lws_write described: detected once (one json record)" test "$(json_count "$TMP/lws.json")" = 1
check "lws_write described: one report on stderr, no repeat line" \
	test "$(grep -c 'REJECT 51215' "$TMP/lws.log")" = 1 -a "$(grep -c 'rejected again' "$TMP/lws.log")" = 0
check "lws_write described: the report before the reply" report_before "reply:" "$TMP/lws.log"
grep -v '^tokshim\[' "$TMP/lws.log" >"$TMP/lws.out"
check "lws_write described: same stdout" cmp -s "$TMP/p.out" "$TMP/lws.out"

TOKSHIM_HOOKS=$LWS TOKSHIM_OUTPUT="stderr,json:$TMP/good.json" shim_run "$TMP/g.out" "$TMP/g.err" -- "${C[@]}" "$GOOD"
check "lws_write described, good token: reply 200, nothing on stderr, no record" \
	test "$RC" = 0 -a ! -s "$TMP/g.err" -a "$(json_count "$TMP/good.json")" = 0
e2e_done
