#!/usr/bin/env bash
# gnutls-cli (GnuTLS: gnutls_record_send, gnutls_server_name_set, and
# gnutls_record_recv for the answer) sending an
# HTTP request with X-Twilio-Token.
. "$(dirname "$0")/lib.sh"
e2e_init
command -v gnutls-cli >/dev/null || { echo "FAIL: gnutls-cli missing (gnutls-bin)"; exit 1; }
e2e_certs || { echo "FAIL: certificate"; exit 1; }
start_server --https 0 --reply-delay 0.5 || exit 1
P=$(port_of https)
GOOD=$(mint --grant voice:incoming.allow=true)
BAD=$(mint --grant voice:incoming.allow=true --now -7200 --ttl 3600)
req() { printf 'GET /v1/e2e HTTP/1.1\r\nHost: localhost\r\nX-Twilio-Token: %s\r\nConnection: close\r\n\r\n' "$1" >"$TMP/req.$2"; }
req "$GOOD" good
req "$BAD" bad
# stdin stays open until the server has answered and closed
gcli() { (cat "$TMP/req.$1"; sleep 3) | gnutls-cli --x509cafile "$CERT_DIR/ca.pem" -p "$P" localhost; }
export -f gcli
export TMP CERT_DIR P

TOKSHIM_OUTPUT="stderr,json:$TMP/bad.json" shim_run "$TMP/bad.log" "$TMP/bad.log" -- bash -c 'gcli bad'
check "gnutls bad: exit 0" test "$RC" = 0
check "gnutls bad: json code 51007, http, expired, via gnutls" json_expect "$TMP/bad.json" \
	'd["code"] == 51007 and d["channel"] == "http" and "expired" in ids and d["connection"]["library"] == "gnutls" and d["connection"]["host"] == "localhost" and d["connection"]["peer"] == "127.0.0.1:'"$P"'"'
check "gnutls bad: one json line" test "$(json_count "$TMP/bad.json")" = 1
check "gnutls bad: the server's 401 read through gnutls_record_recv, as predicted" json_expect_some "$TMP/bad.json" \
	'd.get("event") == "answer" and d["server"]["status"] == 401 and d["server"]["code"] == 20104 and d["prediction"]["agrees"] and d["connection"]["library"] == "gnutls"'
check "gnutls bad: report before gnutls-cli printed the reply" report_before '"more_info"' "$TMP/bad.log"
check "gnutls bad: no signature, token or secret written" no_secret_in "$TMP/bad.json" "$BAD"

shim_run "$TMP/good.out" "$TMP/good.err" -- bash -c 'gcli good'
check "gnutls good: exit 0" test "$RC" = 0
check "gnutls good: no report" bash -c "! grep -q 'tokshim\[' '$TMP/good.err' '$TMP/good.out'"
check "gnutls good: server said ok" grep -q '"status": "ok"' "$TMP/good.out"

plain_run "$TMP/p.out" "$TMP/p.err" -- bash -c 'gcli bad'
prc=$RC
shim_run "$TMP/s.out" "$TMP/s.err" -- bash -c 'gcli bad'
check "gnutls: same exit status with and without the shim" test "$prc" = "$RC"
# session ids and serials differ between runs: compare the HTTP answer
check "gnutls: same HTTP answer" bash -c "diff <(sed -n '/^HTTP/,\$p' '$TMP/p.out') <(sed -n '/^HTTP/,\$p' '$TMP/s.out')"
e2e_done
