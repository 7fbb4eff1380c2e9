#!/usr/bin/env bash
# python3 (Debian's: ssl module = OpenSSL SSL_write_ex over a memory BIO, and
# python3-websockets): Twilsock init (text; binary with permessage-deflate),
# a Twilsock update for another identity, a Voice listen and a Video
# hello/connect over wss, HTTPS with X-Twilio-Token, and plain ws:// (libc).
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_certs || { echo "FAIL: certificate"; exit 1; }
start_server --twilsock 0 --voice 0 --video 0 --https 0 --ws-plain 0 --reply-delay 0.5 || exit 1
TW=$(port_of twilsock); VO=$(port_of voice); VI=$(port_of video); HP=$(port_of https); WP=$(port_of ws-plain)
IS=IS0123456789abcdef0123456789abcdef
CLIENT=("$PY" "$ROOT/tests/e2e/shim_client.py" --cafile "$CERT_DIR/ca.pem")

CHAT_GOOD=$(mint --grant chat:service_sid=$IS --identity alice)
CHAT_BOB=$(mint --grant chat:service_sid=$IS --identity bob)
CHAT_EXPIRED=$(mint --grant chat:service_sid=$IS --now -7200 --ttl 3600)
VOICE_GOOD=$(mint --grant voice:incoming.allow=true --identity alice)
VOICE_BADSIG=$("$TOKSHIM" mint --secret wrong-secret --key "$KEY" --account "$ACCOUNT" --grant voice:incoming.allow=true)
VIDEO_GOOD=$(mint --grant video:room=e2e)
VIDEO_IE1=$(mint --grant video:room=e2e --region ie1)

# case NAME TOKEN EXPR -- client args...: runs the client under the shim with
# a json sink and stderr in one file; checks the json, the order, secrets.
case_bad() {
	local name=$1 tok=$2 expr=$3
	shift 4
	rm -f "$TMP/$name.json"
	TOKSHIM_OUTPUT="stderr,json:$TMP/$name.json" shim_run "$TMP/$name.log" "$TMP/$name.log" -- "$@"
	check "$name: client exit 0" test "$RC" = 0
	check "$name: json sink" json_expect "$TMP/$name.json" "$expr"
	check "$name: one json line" test "$(json_count "$TMP/$name.json")" = 1
	check "$name: stderr report before the client printed the reply" report_before "${MARK:-reply:}" "$TMP/$name.log"
	check "$name: no signature, token or secret written" no_secret_in "$TMP/$name.json" "$tok"
	check "$name: nor on stderr" no_secret_in "$TMP/$name.log" "$tok"
}

case_good() {
	local name=$1
	shift 2
	shim_run "$TMP/$name.out" "$TMP/$name.err" -- "$@"
	check "$name: client exit 0" test "$RC" = 0
	check "$name: nothing on stderr" test ! -s "$TMP/$name.err"
	check "$name: the server accepted" grep -q 'reply:' "$TMP/$name.out"
}

TS=wss://127.0.0.1:$TW/v3/wsconnect
case_bad tw_text "$CHAT_EXPIRED" \
	'd["code"] == 51215 and d["channel"] == "twilsock" and d["message"] == "init" and "expired" in ids and d["product"] == "conversations" and d["connection"]["host"] == "tsock.us1.twilio.com" and d["connection"]["library"] == "openssl"' \
	-- "${CLIENT[@]}" --sni tsock.us1.twilio.com twilsock "$TS" "$CHAT_EXPIRED"
case_bad tw_deflate "$CHAT_EXPIRED" \
	'd["code"] == 51215 and d["channel"] == "twilsock" and d["message"] == "init" and "expired" in ids' \
	-- "${CLIENT[@]}" --sni tsock.us1.twilio.com --deflate --binary twilsock "$TS" "$CHAT_EXPIRED"
MARK=UNAUTHORIZED case_bad tw_update "$CHAT_BOB" \
	'd["code"] == 51215 and d["message"] == "update" and "update_mismatch" in ids' \
	-- "${CLIENT[@]}" --sni tsock.us1.twilio.com twilsock "$TS" "$CHAT_GOOD" --update "$CHAT_BOB"
case_good tw_good -- "${CLIENT[@]}" --sni tsock.us1.twilio.com --deflate twilsock "$TS" "$CHAT_GOOD"

case_bad voice "$VOICE_BADSIG" \
	'd["code"] == 51007 and d["channel"] == "voice" and d["message"] == "listen" and "signature" in ids and d["product"] == "voice"' \
	-- "${CLIENT[@]}" --sni voice-js.roaming.twilio.com voice "wss://127.0.0.1:$VO/signal" "$VOICE_BADSIG"
case_good voice_good -- "${CLIENT[@]}" --sni voice-js.roaming.twilio.com voice "wss://127.0.0.1:$VO/signal" "$VOICE_GOOD"

case_bad video "$VIDEO_IE1" \
	'd["code"] == 51007 and d["channel"] == "video" and d["message"] in ("hello", "connect") and "region" in ids' \
	-- "${CLIENT[@]}" --sni global.vss.twilio.com video "wss://127.0.0.1:$VI/signaling" "$VIDEO_IE1"
case_good video_good -- "${CLIENT[@]}" --sni global.vss.twilio.com video "wss://127.0.0.1:$VI/signaling" "$VIDEO_GOOD"

case_bad https "$VOICE_BADSIG" \
	'd["code"] == 51007 and d["channel"] == "http" and "signature" in ids and d["connection"]["library"] == "openssl"' \
	-- "${CLIENT[@]}" https 127.0.0.1 "$HP" "$VOICE_BADSIG"

# plain ws:// over TCP: the libc hooks, peer from connect()
case_bad ws_plain "$CHAT_EXPIRED" \
	'd["code"] == 51215 and d["channel"] == "twilsock" and "expired" in ids and d["connection"]["transport"] == "tcp" and d["connection"]["library"] == "libc" and d["connection"]["peer"] == "127.0.0.1:'"$WP"'"' \
	-- "${CLIENT[@]}" twilsock "ws://127.0.0.1:$WP/v3/wsconnect" "$CHAT_EXPIRED"
case_good ws_plain_good -- "${CLIENT[@]}" voice "ws://127.0.0.1:$WP/signal" "$VOICE_GOOD"

# the client's output and status without the shim are the same
for c in "twilsock $TS $CHAT_EXPIRED" "voice wss://127.0.0.1:$VO/signal $VOICE_GOOD"; do
	# shellcheck disable=SC2086
	plain_run "$TMP/p.out" "$TMP/p.err" -- "${CLIENT[@]}" --sni tsock.us1.twilio.com $c
	prc=$RC
	# shellcheck disable=SC2086
	shim_run "$TMP/s.out" "$TMP/s.err" -- "${CLIENT[@]}" --sni tsock.us1.twilio.com $c
	check "${c%% *}: same stdout with and without the shim" cmp -s "$TMP/p.out" "$TMP/s.out"
	check "${c%% *}: same exit status ($prc)" test "$prc" = "$RC"
done
e2e_done
