#!/usr/bin/env bash
# The write hooks' quick check (shim/fast.h) under a real TLS client
# (python3's ssl: OpenSSL's SSL_write_ex through the PLT hook): after many
# writes the quick check takes (bulk binary frames, Twilsock "message"
# messages, every write one whole frame of the same size), a Twilsock init or
# update of exactly that size carrying an expired token is still diagnosed,
# binary or text, at 1 KiB and 16 KiB; every byte reaches the server; a good
# token in the same place gives no record.
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_certs || { echo "FAIL: certificate"; exit 1; }
"$PY" "$ROOT/tests/e2e/quick_ws.py" server "$TMP/port" "$CERT_DIR/server.pem" "$CERT_DIR/server.key" \
	>"$TMP/server.out" 2>"$TMP/server.err" &
PIDS+=($!)
wait_for 10 test -s "$TMP/port" || { echo "FAIL: server did not start"; cat "$TMP/server.err"; exit 1; }
P=$(cat "$TMP/port")
IS=IS0123456789abcdef0123456789abcdef
EXPIRED=$(mint --grant chat:service_sid=$IS --now -7200 --ttl 3600)
GOOD=$(mint --grant chat:service_sid=$IS --identity alice)

# quick NAME TOKEN SIZE COUNT POS [client flags]: one run, its json sink
quick() {
	local name=$1 tok=$2 size=$3 count=$4 pos=$5
	shift 5
	rm -f "$TMP/$name.json"
	TOKSHIM_OUTPUT="json:$TMP/$name.json" shim_run "$TMP/$name.out" "$TMP/$name.err" -- \
		"$PY" "$ROOT/tests/e2e/quick_ws.py" client "$P" "$CERT_DIR/ca.pem" "$tok" "$size" "$count" "$pos" "$@"
	check "$name: client exit 0, the server saw every byte" test "$RC" = 0
	check "$name: no signature, token or secret written" no_secret_in "$TMP/$name.json" "$tok"
}

for size in 1024 16384; do
	quick "bin_$size" "$EXPIRED" "$size" 60 47
	check "bin_$size: the late init is diagnosed" json_expect "$TMP/bin_$size.json" \
		'd["code"] == 51215 and d["channel"] == "twilsock" and d["message"] == "init" and "expired" in ids and d["connection"]["library"] == "openssl"'
	check "bin_$size: one record" test "$(json_count "$TMP/bin_$size.json")" = 1
	quick "text_$size" "$EXPIRED" "$size" 60 47 --text
	check "text_$size: the late init is diagnosed (text)" json_expect "$TMP/text_$size.json" \
		'd["message"] == "init" and "expired" in ids'
done
quick update "$EXPIRED" 1024 60 59 --update
check "update: the last write, an update, is diagnosed" json_expect "$TMP/update.json" \
	'd["message"] == "update" and "expired" in ids'
quick good "$GOOD" 1024 60 47
check "good: no record for a good token" test "$(json_count "$TMP/good.json")" = 0
e2e_done
