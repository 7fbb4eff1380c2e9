#!/usr/bin/env bash
# Twilio's real JavaScript SDKs (tests/node: @twilio/conversations,
# twilio-sync, @twilio/voice-sdk), run by the `node` on PATH against the local
# servers, and the server's answers the shim reads beside its predictions:
# Twilsock 401 with and without permessage-deflate, 200, 20103 for a token
# valid locally, token_about_to_expire then nothing (the app ignores it, and
# the control that calls updateToken), Voice 31205 and a good Voice token
# (connected, then ready to the SDK's register).
#
# Node's official builds carry their own OpenSSL inside the executable: the
# shim sees it only through inline (entry-patching) hooks. A build without
# them sees nothing of node's TLS; the script then says SKIP with the reason
# and checks nothing else (it does not pass what it did not test).
. "$(dirname "$0")/lib.sh"
e2e_init
skip() { echo "SKIP: $*"; exit 0; }
NODE=$(command -v node) || skip "no node on PATH"
[ -d "$ROOT/tests/node/node_modules/@twilio/conversations" ] && [ -d "$ROOT/tests/node/node_modules/twilio-sync" ] &&
	[ -d "$ROOT/tests/node/node_modules/@twilio/voice-sdk" ] || skip "tests/node/node_modules missing (make node-deps)"
e2e_certs || { echo "FAIL: certificate"; exit 1; }
export NODE_EXTRA_CA_CERTS=$CERT_DIR/ca.pem
CLIENT=("$NODE" --experimental-websocket "$ROOT/tests/node/answer_client.js")
IS=IS0123456789abcdef0123456789abcdef
export TOKSHIM_LEVEL=info

start_server --twilsock 0 --voice 0 || exit 1
TW=$(port_of twilsock) VP=$(port_of voice)
URI="wss://localhost:$TW/v3/wsconnect"
EXPIRED=$(mint --grant chat:service_sid=$IS --identity alice --now -7200)

# the probe: does this build see node's TLS at all?
plain_run "$TMP/p.out" "$TMP/p.err" -- "${CLIENT[@]}" conversations "$EXPIRED" "$URI" 10
check "plain: the SDK is denied with 20104" grep -q "connectionError: 20104" "$TMP/p.out"
TOKSHIM_OUTPUT="json:$TMP/probe.json" shim_run "$TMP/pr.out" "$TMP/pr.err" -- "${CLIENT[@]}" conversations "$EXPIRED" "$URI" 10
if ! grep -q '"event":"answer"' "$TMP/probe.json" 2>/dev/null; then
	if nm -D --defined-only "$NODE" 2>/dev/null | grep -qw SSL_read; then
		if [ "$(json_count "$TMP/probe.json")" = 0 ]; then
			skip "node $("$NODE" --version) bundles OpenSSL (SSL_write and SSL_read in the executable) and this shim build has no inline hooks: nothing of its TLS is seen"
		fi
		skip "node $("$NODE" --version) bundles OpenSSL: its writes are seen (inline hooks) but not its reads (no inline SSL_read/SSL_read_ex hooks in this build)"
	fi
	fail "node links a shared libssl, yet the shim read no answer"
	e2e_done
	exit
fi
check "probe: the SDK's events are the same as without the shim" cmp -s "$TMP/p.out" "$TMP/pr.out"

for deflate in on off; do
	if [ $deflate = off ]; then
		stop_server
		start_server --twilsock 0 --no-deflate || exit 1
		TW=$(port_of twilsock)
		URI="wss://localhost:$TW/v3/wsconnect"
	fi
	for sdk in conversations sync; do
		grant=chat:service_sid=$IS
		[ $sdk = sync ] && grant=data_sync:service_sid=$IS
		tok=$(mint --grant "$grant" --identity alice --now -7200)
		# Sync's WebSocket (undici's) writes its upgrade from node's
		# handshake-done callback, inside SSL_read, in most runs but not
		# all, and the server's reply is its first frame, compressed with
		# deflate: three connections, each answered
		runs=1
		[ $sdk = sync ] && [ $deflate = on ] && runs=3
		for run in $(seq $runs); do
			rm -f "$TMP/$sdk$deflate.json"
			label=
			[ $runs -gt 1 ] && label=" (connection $run of $runs)"
			TOKSHIM_OUTPUT="json:$TMP/$sdk$deflate.json" shim_run "$TMP/o" "$TMP/e" -- "${CLIENT[@]}" $sdk "$tok" "$URI" 10
			check "$sdk deflate=$deflate: 401 20104 answers the init, as predicted$label" json_expect_some "$TMP/$sdk$deflate.json" \
				'd.get("event") == "answer" and d["message"] == "init" and d["server"]["code"] == 20104 and d["prediction"]["agrees"]'
		done
	done
done
good=$(mint --grant chat:service_sid=$IS --identity alice)
TOKSHIM_OUTPUT="json:$TMP/good.json" shim_run "$TMP/o" "$TMP/e" -- "${CLIENT[@]}" conversations "$good" "$URI" 10
check "conversations good: 200 accepts, as predicted (info)" json_expect_some "$TMP/good.json" \
	'd.get("event") == "answer" and d["server"]["status"] == 200 and d["prediction"]["agrees"]'

stop_server
start_server --twilsock 0 --force-code 20103 || exit 1
URI="wss://localhost:$(port_of twilsock)/v3/wsconnect"
TOKSHIM_OUTPUT="json:$TMP/f.json" shim_run "$TMP/o" "$TMP/e" -- "${CLIENT[@]}" conversations "$good" "$URI" 10
check "20103 for a token valid here: server_rejected" json_expect_some "$TMP/f.json" \
	'd.get("event") == "answer" and ids == ["server_rejected"] and d["server"]["code"] == 20103'

stop_server
start_server --twilsock 0 --voice 0 --warn-then-silence || exit 1
URI="wss://localhost:$(port_of twilsock)/v3/wsconnect"
VP=$(port_of voice)
short=$(mint --grant chat:service_sid=$IS --identity alice --ttl 4)
TOKSHIM_OUTPUT="json:$TMP/ignore.json" shim_run "$TMP/i.out" "$TMP/e" -- "${CLIENT[@]}" conversations "$short" "$URI" 9 --stay
check "ignored tokenAboutToExpire: the SDK raised it" grep -q tokenAboutToExpire "$TMP/i.out"
check "ignored tokenAboutToExpire: refresh_missing" json_expect_some "$TMP/ignore.json" \
	'd.get("event") == "lifetime" and "refresh_missing" in ids'
short=$(mint --grant chat:service_sid=$IS --identity alice --ttl 4)
TOKSHIM_OUTPUT="json:$TMP/upd.json" shim_run "$TMP/u.out" "$TMP/e" -- "${CLIENT[@]}" conversations "$short" "$URI" 9 --stay --update "$good"
check "updateToken on tokenAboutToExpire: the update answered 200" json_expect_some "$TMP/upd.json" \
	'd.get("event") == "answer" and d["message"] == "update" and d["server"]["status"] == 200'
check "updateToken on tokenAboutToExpire: no refresh_missing" bash -c "! grep -q refresh_missing '$TMP/upd.json'"
# the SDK's own Client.updateToken resolves (the server answers the
# Conversations client's start, which updateToken waits for: see
# tests/servers/twilio_like.py, Twilsock message)
check "updateToken on tokenAboutToExpire: the SDK's updateToken resolved" \
	bash -c "grep -qx updated '$TMP/u.out' && ! grep -q 'update failed' '$TMP/u.out'"

# Voice: the SDK writes its WebSocket upgrade from OpenSSL's handshake
# callback, inside SSL_read; the server's frames come compressed. An expired
# token: the server's 31205 (the SDK's AccessTokenExpired, 20104) answers the
# listen. A good one: `connected` answers it (info, as predicted), the SDK
# registers (the server's `ready`), and nothing is reported at the default
# level.
vold=$(mint --grant voice:incoming.allow=true --identity alice --now -7200)
TOKSHIM_OUTPUT="json:$TMP/v.json" shim_run "$TMP/v.out" "$TMP/e" -- "${CLIENT[@]}" voice "$vold" "wss://localhost:$VP/signal" 10
check "voice SDK expired: the SDK says AccessTokenExpired" grep -q "^error: 20104 " "$TMP/v.out"
check "voice SDK expired: 31205 answers the listen, as predicted" json_expect_some "$TMP/v.json" \
	'd.get("event") == "answer" and d["channel"] == "voice" and d["message"] == "listen" and d["server"]["code"] == 31205 and d["prediction"]["agrees"] and "expired" in d["prediction"]["causes"]'
vgood=$(mint --grant voice:incoming.allow=true --identity alice)
plain_run "$TMP/vg0.out" "$TMP/vg0.err" -- "${CLIENT[@]}" voice "$vgood" "wss://localhost:$VP/signal" 10
TOKSHIM_OUTPUT="json:$TMP/vg.json" shim_run "$TMP/vg.out" "$TMP/e" -- "${CLIENT[@]}" voice "$vgood" "wss://localhost:$VP/signal" 10
check "voice SDK good: registered, the same output as without the shim" bash -c "grep -qx 'outcome: registered' '$TMP/vg.out' && cmp -s '$TMP/vg0.out' '$TMP/vg.out'"
check "voice SDK good: connected answers the listen, an accept as predicted (info)" json_expect_some "$TMP/vg.json" \
	'd.get("event") == "answer" and d["channel"] == "voice" and d["message"] == "listen" and d["server"] == {"verdict": "accept", "status": None, "code": None, "text": "connected"} and d["prediction"]["agrees"] and ids == []'
check "voice SDK good: one answer, no reject, no lifetime record" bash -c \
	"[ \$(grep -c '\"event\":\"answer\"' '$TMP/vg.json') = 1 ] && ! grep -q '\"verdict\":\"reject\"' '$TMP/vg.json' && ! grep -q '\"event\":\"lifetime\"' '$TMP/vg.json'"
TOKSHIM_LEVEL=warning TOKSHIM_OUTPUT=stderr shim_run "$TMP/vq.out" "$TMP/vq.err" -- "${CLIENT[@]}" voice "$vgood" "wss://localhost:$VP/signal" 10
check "voice SDK good: silent at the default level" bash -c "grep -qx 'outcome: registered' '$TMP/vq.out' && ! grep -q tokshim '$TMP/vq.err'"
e2e_done
