#!/usr/bin/env bash
# The server's answers beside the prediction (SPEC.md: the answer record,
# what answers what, server_rejected, server_accepted, TOKSHIM_READ), with
# real clients against the local Twilio-like server: curl (SSL_read) and an
# HTTP 401 JSON body, our C Twilsock/Voice/Video clients (OpenSSL reads of
# compressed and plain server frames), a Python Twilsock client on plain TCP
# (recv, also with MSG_PEEK first), a client that writes its request from
# OpenSSL's handshake callback inside SSL_read (as Node does), through the
# PLT hooks and (static libssl.a) the inline ones.
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_certs || { echo "FAIL: certificate"; exit 1; }
"${MAKE:-make}" --no-print-directory B="$B" examples >"$TMP/build.log" 2>&1 || { cat "$TMP/build.log"; fail "make examples"; }
EX=$BUILD/examples

start_server --https 0 --twilsock 0 --voice 0 --video 0 --ws-plain 0 || exit 1
HP=$(port_of https) TP=$(port_of twilsock) VP=$(port_of voice) DP=$(port_of video) WP=$(port_of ws-plain)
export TOKSHIM_LEVEL=info
CHAT=chat:service_sid=IS0123456789abcdef0123456789abcdef
GOOD_V=$(mint --grant video --identity alice)
BAD_SIG=$("$TOKSHIM" mint --secret not-the-secret --key "$KEY" --account "$ACCOUNT" --grant video --identity alice)
EXPIRED_CHAT=$(mint --grant "$CHAT" --identity alice --now -7200)
GOOD_CHAT=$(mint --grant "$CHAT" --identity alice)

# 1. curl, HTTP 401 with Twilio's JSON body, predicted too: agrees, at warning
export TOKSHIM_OUTPUT="stderr,json:$TMP/curl.json"
shim_run "$TMP/curl.out" "$TMP/curl.err" -- curl -sS --max-time 20 --cacert "$CERT_DIR/ca.pem" \
	-H "X-Twilio-Token: $BAD_SIG" "https://localhost:$HP/v1/Insights"
check "curl: exit 0, body unchanged" grep -q '"code": 20107' "$TMP/curl.out"
check "curl: answer record 401 20107, agrees, after_ms measured" json_expect_some "$TMP/curl.json" \
	'd.get("event") == "answer" and d["server"] == {"verdict": "reject", "status": 401, "code": 20107, "text": "Invalid Access Token signature"} and d["prediction"]["agrees"] and d["prediction"]["causes"][0] == "signature" and isinstance(d["after_ms"], int) and d["after_ms"] >= 0 and d["connection"]["library"] == "openssl"'
check "curl: stderr says as predicted" grep -q 'SERVER REJECTED http header: status 401, code 20107 (Invalid Access Token signature); as predicted' "$TMP/curl.err"
check "curl: no secret or token in the records" no_secret_in "$TMP/curl.json" "$BAD_SIG"

# 1b. a C client (tests/e2e/cb_client.c) whose first plaintext is written by
# its own callback from inside SSL_read (Node's way: the handshake runs inside
# SSL_read and its handshake-done callback writes the request): seen, and so
# is the answer; the same for a WebSocket upgrade, the server's reply then
# its first frame, compressed
"$TCC" -std=gnu11 -Wall -Wextra -Werror -O2 -o "$TMP/cb_client" "$ROOT/tests/e2e/cb_client.c" -lssl -lcrypto ||
	fail "build cb_client"
export TOKSHIM_OUTPUT="json:$TMP/cb.json"
shim_run "$TMP/cb.out" "$TMP/cb.err" -- "$TMP/cb_client" http "$HP" "$CERT_DIR/ca.pem" "$EXPIRED_CHAT"
check "written inside SSL_read: the callback wrote, the client got the 401" \
	bash -c "grep -q 'callback wrote' '$TMP/cb.out' && grep -q 'HTTP/1.1 401' '$TMP/cb.out'"
check "written inside SSL_read: the token judged, the 401 20104 answers it" json_expect_some "$TMP/cb.json" \
	'd.get("event") == "answer" and d["channel"] == "http" and d["server"]["code"] == 20104 and d["prediction"]["agrees"]'
export TOKSHIM_OUTPUT="json:$TMP/cbt.json"
shim_run "$TMP/cbt.out" "$TMP/cbt.err" -- "$TMP/cb_client" twilsock "$TP" "$CERT_DIR/ca.pem" "$EXPIRED_CHAT"
check "upgrade written inside SSL_read: the server's reply came compressed" grep -q 'compressed' "$TMP/cbt.out"
check "upgrade written inside SSL_read: the compressed 401 20104 answers the init" json_expect_some "$TMP/cbt.json" \
	'd.get("event") == "answer" and d["channel"] == "twilsock" and d["message"] == "init" and d["server"]["code"] == 20104 and d["prediction"]["agrees"]'

# 2. a locally valid token the server rejects with 20103: server_rejected
stop_server
start_server --https 0 --twilsock 0 --force-code 20103 || exit 1
HP=$(port_of https) TP=$(port_of twilsock)
export TOKSHIM_OUTPUT="stderr,json:$TMP/f.json"
shim_run "$TMP/f.out" "$TMP/f.err" -- curl -sS --max-time 20 --cacert "$CERT_DIR/ca.pem" \
	-H "X-Twilio-Token: $GOOD_V" "https://localhost:$HP/v1/Insights"
check "20103: server_rejected at error, the text names deleted/foreign keys" json_expect_some "$TMP/f.json" \
	'd.get("event") == "answer" and not d["prediction"]["agrees"] and d["prediction"]["verdict"] == "accept" and ids == ["server_rejected"] and d["causes"][0]["severity"] == "error" and d["causes"][0]["twilio_code"] == 20103 and "deleted" in d["causes"][0]["text"] and d["causes"][0]["fix"]'
check "20103: stderr says NOT as predicted" grep -q 'NOT as predicted: tokshim said accept' "$TMP/f.err"
rm -f "$TMP/f.json"
shim_run "$TMP/f2.out" "$TMP/f2.err" -- "$EX/twilsock_client" --port "$TP" --sni tsock.us1.twilio.com \
	--cafile "$CERT_DIR/ca.pem" "$GOOD_CHAT"
check "20103 over Twilsock (compressed server frames): server_rejected" json_expect_some "$TMP/f.json" \
	'd.get("event") == "answer" and d["channel"] == "twilsock" and d["message"] == "init" and d["server"]["code"] == 20103 and d["server"]["status"] == 401 and ids == ["server_rejected"]'
check "20103 over Twilsock: the client saw the same refusal" test "$RC" = 1

# 3. Twilsock 401 with and without permessage-deflate, and a 200
for deflate in on off; do
	stop_server
	if [ $deflate = on ]; then start_server --twilsock 0 || exit 1; else start_server --twilsock 0 --no-deflate || exit 1; fi
	TP=$(port_of twilsock)
	export TOKSHIM_OUTPUT="stderr,json:$TMP/t$deflate.json"
	shim_run "$TMP/t.out" "$TMP/t.err" -- "$EX/twilsock_client" --port "$TP" --sni tsock.us1.twilio.com \
		--cafile "$CERT_DIR/ca.pem" "$EXPIRED_CHAT"
	check "twilsock deflate=$deflate: 401 20104 as predicted (expired)" json_expect_some "$TMP/t$deflate.json" \
		'd.get("event") == "answer" and d["server"]["code"] == 20104 and d["prediction"]["agrees"] and "expired" in d["prediction"]["causes"]'
	shim_run "$TMP/t.out" "$TMP/t.err" -- "$EX/twilsock_client" --port "$TP" --sni tsock.us1.twilio.com \
		--cafile "$CERT_DIR/ca.pem" "$GOOD_CHAT"
	check "twilsock deflate=$deflate: 200 accept, info level, in the json sink" json_expect_some "$TMP/t$deflate.json" \
		'd.get("event") == "answer" and d["server"]["verdict"] == "accept" and d["server"]["status"] == 200 and d["prediction"]["agrees"]'
	# python3-websockets offers permessage-deflate: with it, the server's frames come compressed
	rm -f "$TMP/w.json"
	export TOKSHIM_OUTPUT="stderr,json:$TMP/w.json"
	shim_run "$TMP/w.out" "$TMP/w.err" -- "$PY" "$ROOT/tests/e2e/tsock_ws.py" "$TP" "$CERT_DIR/ca.pem" "$EXPIRED_CHAT"
	if [ $deflate = on ]; then
		check "websockets client: permessage-deflate negotiated" grep -q "extensions: \['permessage-deflate'\]" "$TMP/w.out"
	else
		check "websockets client: no extension" grep -q "extensions: \[\]" "$TMP/w.out"
	fi
	check "websockets client deflate=$deflate: the 401 20104 answer read from the server's frames" json_expect_some "$TMP/w.json" \
		'd.get("event") == "answer" and d["channel"] == "twilsock" and d["server"]["code"] == 20104 and d["server"]["status"] == 401 and d["prediction"]["agrees"]'
done
check "twilsock: the accept is silent at the default level" bash -c "
	TOKSHIM_LEVEL= TOKSHIM_OUTPUT=stderr LD_PRELOAD='$SHIM' TOKSHIM_SECRET='$SECRET' timeout 30 '$EX/twilsock_client' --port $TP \
		--sni tsock.us1.twilio.com --cafile '$CERT_DIR/ca.pem' '$GOOD_CHAT' 2>&1 >/dev/null | grep -q 'SERVER' && exit 1 || exit 0"

# 4. Voice: 31205 from the server for an expired token; Video 20104
stop_server
start_server --voice 0 --video 0 || exit 1
VP=$(port_of voice) DP=$(port_of video)
EXPIRED_VOICE=$(mint --grant voice:incoming.allow=true --identity alice --now -7200)
EXPIRED_VIDEO=$(mint --grant video --identity alice --now -7200)
export TOKSHIM_OUTPUT="stderr,json:$TMP/v.json"
shim_run "$TMP/v.out" "$TMP/v.err" -- "$EX/voice_client" --port "$VP" --sni voice-js.roaming.twilio.com \
	--cafile "$CERT_DIR/ca.pem" "$EXPIRED_VOICE"
check "voice: 31205 answers the listen, as predicted" json_expect_some "$TMP/v.json" \
	'd.get("event") == "answer" and d["channel"] == "voice" and d["message"] == "listen" and d["server"]["code"] == 31205 and d["prediction"]["agrees"]'
check "voice: stderr names 31205's meaning" grep -q 'code 31205 (JWT token expired); as predicted' "$TMP/v.err"
shim_run "$TMP/d.out" "$TMP/d.err" -- "$EX/video_client" --port "$DP" --sni global.vss.twilio.com \
	--cafile "$CERT_DIR/ca.pem" "$EXPIRED_VIDEO"
check "video: 20104 error answers the hello" json_expect_some "$TMP/v.json" \
	'd.get("event") == "answer" and d["channel"] == "video" and d["server"]["code"] == 20104'

# 5. plain TCP, recv with MSG_PEEK first: one answer, not two; TOKSHIM_READ=0: none
stop_server
start_server --ws-plain 0 || exit 1
WP=$(port_of ws-plain)
export TOKSHIM_OUTPUT="stderr,json:$TMP/p.json"
shim_run "$TMP/p.out" "$TMP/p.err" -- "$PY" "$ROOT/tests/e2e/tsock_raw.py" --peek --port "$WP" "$EXPIRED_CHAT"
check "peek: the client got the 401" grep -q '"code": 401' "$TMP/p.out"
check "peek: exactly one answer record" test "$(grep -c '"event":"answer"' "$TMP/p.json")" = 1
check "peek: it is the 401 20104, library libc" json_expect_some "$TMP/p.json" \
	'd.get("event") == "answer" and d["server"]["code"] == 20104 and d["connection"]["library"] == "libc" and d["connection"]["transport"] == "tcp"'
for reader in recvmsg readv read; do
	rm -f "$TMP/rd.json"
	export TOKSHIM_OUTPUT="stderr,json:$TMP/rd.json"
	shim_run "$TMP/rd.out" "$TMP/rd.err" -- "$PY" "$ROOT/tests/e2e/tsock_raw.py" --reader $reader --port "$WP" "$EXPIRED_CHAT"
	check "$reader: the client got the 401, one answer record" bash -c "grep -q '\"code\": 401' '$TMP/rd.out' && [ \$(grep -c '\"event\":\"answer\"' '$TMP/rd.json') = 1 ]"
done
rm -f "$TMP/ea.json"
export TOKSHIM_OUTPUT="stderr,json:$TMP/ea.json"
shim_run "$TMP/ea.out" "$TMP/ea.err" -- "$PY" "$ROOT/tests/e2e/tsock_raw.py" --eagain --port "$WP" "$EXPIRED_CHAT"
check "EAGAIN: the errno comes through, the answer is still read" bash -c "grep -q 'eagain: errno EAGAIN' '$TMP/ea.out' && grep -q '\"event\":\"answer\"' '$TMP/ea.json'"
rm -f "$TMP/tr.json"
export TOKSHIM_OUTPUT="stderr,json:$TMP/tr.json"
shim_run "$TMP/tr.out" "$TMP/tr.err" -- "$PY" "$ROOT/tests/e2e/tsock_raw.py" --trunc 100000 --port "$WP" "$EXPIRED_CHAT"
check "MSG_TRUNC: the client's call is unchanged, the shim gives the direction up (no answer)" bash -c "[ $RC = 0 ] && grep -q 'trunc: discarded' '$TMP/tr.out' && grep -q '\"event\":\"token\"' '$TMP/tr.json' && ! grep -q '\"event\":\"answer\"' '$TMP/tr.json'"
export TOKSHIM_OUTPUT="stderr,json:$TMP/r0.json"
TOKSHIM_READ=0 shim_run "$TMP/r0.out" "$TMP/r0.err" -- "$PY" "$ROOT/tests/e2e/tsock_raw.py" --port "$WP" "$EXPIRED_CHAT"
check "TOKSHIM_READ=0: the prediction, no answer" bash -c "grep -q '\"event\":\"token\"' '$TMP/r0.json' && ! grep -q '\"event\":\"answer\"' '$TMP/r0.json'"
check "TOKSHIM_READ=0: the client still gets its reply" grep -q '"code": 401' "$TMP/r0.out"

# 6. the request written from OpenSSL's info callback at the end of the
# handshake, inside the SSL_read that completed it (Node writes its WebSocket
# upgrade there): seen, and its answer read. Dynamic libssl (PLT hooks) and
# static libssl.a (inline hooks).
stop_server
start_server --https 0 || exit 1
HP=$(port_of https)
EXPIRED_V=$(mint --grant video --identity alice --now -7200)
LIBDIR=$(dirname "$("$TCC" -print-file-name=libssl.a)")
"$TCC" -std=gnu11 -O2 -o "$TMP/cbwrite" "$ROOT/tests/e2e/inline/cbwrite.c" -lssl -lcrypto &&
	"$TCC" -std=gnu11 -O2 -o "$TMP/cbwrite_static" "$ROOT/tests/e2e/inline/cbwrite.c" \
		"$LIBDIR/libssl.a" "$LIBDIR/libcrypto.a" -ldl -pthread || fail "build cbwrite"
for v in cbwrite:plt cbwrite_static:inline; do
	prog=${v%%:*} hook=${v#*:}
	rm -f "$TMP/cb.json"
	export TOKSHIM_OUTPUT="json:$TMP/cb.json"
	shim_run "$TMP/cb.out" "$TMP/cb.err" -- "$TMP/$prog" "$HP" "$CERT_DIR/ca.pem" localhost "$EXPIRED_V"
	check "$prog: the request went from the callback, the 401 came back" bash -c "[ $RC = 0 ] && grep -qx 'HTTP/1.1 401 Unauthorized' '$TMP/cb.out'"
	check "$prog: the token written inside SSL_read is seen ($hook hook), its 401 20104 answers it" json_expect_some "$TMP/cb.json" \
		'd.get("event") == "answer" and d["server"]["code"] == 20104 and d["prediction"]["agrees"] and d["connection"]["hook"] == "'$hook'"'
done

e2e_done
