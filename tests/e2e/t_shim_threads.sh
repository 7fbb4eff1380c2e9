#!/usr/bin/env bash
# 8 threads x 100 HTTPS connections through one process (python3 ssl, the GIL
# released around SSL_write_ex), each sending a bad token: no crash, every
# connection reported in the json sink (it gets every repeat), the stderr
# text rate-limited.
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_certs || { echo "FAIL: certificate"; exit 1; }
start_server --https 0 || exit 1
P=$(port_of https)
BAD=$(mint --grant voice:incoming.allow=true --now -7200 --ttl 3600)

TOKSHIM_OUTPUT="stderr,json:$TMP/storm.json" shim_run "$TMP/out" "$TMP/err" -- \
	"$PY" "$ROOT/tests/e2e/shim_client.py" --cafile "$CERT_DIR/ca.pem" --threads 8 --conns 100 storm 127.0.0.1 "$P" "$BAD"
check "storm: client exit 0 (all 800 exchanges completed)" test "$RC" = 0 || cat "$TMP/out"
n=$(json_count "$TMP/storm.json")
check "storm: 800 json lines (got $n)" test "$n" = 800
check "storm: every line 51007 expired" json_expect "$TMP/storm.json" 'd["code"] == 51007 and "expired" in ids'
full=$(grep -c 'REJECT 51007' "$TMP/err" || true)
check "storm: stderr rate-limited ($full full reports)" test "$full" -ge 1 -a "$full" -le 3
check "storm: no signature, token or secret written" no_secret_in "$TMP/storm.json" "$BAD"
e2e_done
