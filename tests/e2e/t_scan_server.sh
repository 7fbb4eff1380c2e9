#!/usr/bin/env bash
# `tokshim scan --server`: every answer shape of SPEC.md ("what answers
# what") judged offline beside the client's bytes, from captures built here
# with a fixed clock: HTTP (keep-alive, 100 Continue, Content-Length,
# chunked, compressed body, a refused upgrade answering a URL token), SIP
# (final response with X-Twilio-Error), Twilsock (reply by id over
# permessage-deflate server frames, close while init waits, a late close that
# is no answer), Voice (error 31205, connected), Video (error, welcome).
. "$(dirname "$0")/lib.sh"
e2e_init
NOW=1795383000 # 2026-11-22T21:30:00Z
SECRET=Scan7secretValueXYZ0123456789abc

"$PY" - "$TMP" "$NOW" "$SECRET" <<'PYEOF'
import base64, hashlib, hmac, json, os, struct, sys, zlib
tmp, now, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3]
key, acct = "SK" + "0123456789abcdef" * 2, "AC" + "0123456789abcdef" * 2
def b64(x): return base64.urlsafe_b64encode(x).rstrip(b"=").decode()
def tok(identity, grants, exp=now + 3600):
    h = {"alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1"}
    g = {"identity": identity}; g.update(grants)
    c = {"jti": "%s-%d" % (key, now - 60), "iss": key, "sub": acct, "iat": now - 60, "exp": exp, "grants": g}
    si = b64(json.dumps(h).encode()) + "." + b64(json.dumps(c).encode())
    return si + "." + b64(hmac.new(secret.encode(), si.encode(), hashlib.sha256).digest())
CHAT = {"chat": {"service_sid": "IS" + "0123456789abcdef" * 2}}
good_chat, old_chat = tok("alice", CHAT), tok("alice", CHAT, exp=now - 3600)
good_voice = tok("alice", {"voice": {"incoming": {"allow": True}}})
old_voice = tok("alice", {"voice": {"incoming": {"allow": True}}}, exp=now - 3600)
good_video, old_video = tok("alice", {"video": {}}), tok("alice", {"video": {}}, exp=now - 3600)

def cframe(payload, op=1):
    if isinstance(payload, str): payload = payload.encode()
    m = b"\x11\x22\x33\x44"; n = len(payload)
    h = bytes([0x80 | op]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n))
    return h + m + bytes(b ^ m[i & 3] for i, b in enumerate(payload))
def sframe(payload, op=1, rsv1=False):
    if isinstance(payload, str): payload = payload.encode()
    n = len(payload)
    h = bytes([0x80 | (0x40 if rsv1 else 0) | op]) + (bytes([n]) if n < 126 else bytes([126]) + struct.pack("!H", n))
    return h + payload
def tsock(hdr):
    h = json.dumps(hdr, separators=(",", ":"))
    return "TWILSOCK V3.0 %d\r\n%s\r\n" % (len(h), h)
def upgrade(path, ext=""):
    return ("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
            "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n" % (path, ext)).encode()
def r101(ext=""):
    return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n%s\r\n" % ext).encode()
def put(name, client, server):
    open(os.path.join(tmp, name + ".c"), "wb").write(client)
    open(os.path.join(tmp, name + ".s"), "wb").write(server)

# HTTP keep-alive: the first request has no token, the second one has; 100 Continue, chunked JSON
body = json.dumps({"code": 20104, "message": "Access Token expired or expiration date invalid", "status": 401})
put("http",
    b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
    ("POST /b HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: %s\r\nContent-Length: 0\r\n\r\n" % old_video).encode(),
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" +
    b"HTTP/1.1 100 Continue\r\n\r\n" +
    ("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
     "%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)).encode())
# a compressed body: the status only
put("gzip", ("GET /b HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: %s\r\n\r\n" % good_video).encode(),
    b"HTTP/1.1 401 Unauthorized\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n" + b"\x1f\x8b" + b"\0" * 8)
# a refused upgrade answers the token in the URL
put("upgrade", upgrade("/v3/wsconnect?token=" + old_chat),
    b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
# SIP REGISTER: 100 Trying, then 403 with X-Twilio-Error
put("sip", ("REGISTER sip:x SIP/2.0\r\nCSeq: 1 REGISTER\r\nX-Twilio-AccessToken: %s\r\nContent-Length: 0\r\n\r\n" % good_voice).encode(),
    b"SIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\nSIP/2.0 403 Forbidden\r\nX-Twilio-Error: 20103 Invalid Access Token issuer/subject\r\nContent-Length: 0\r\n\r\n")
# Twilsock over permessage-deflate: the server's frames compressed with its own context
co = zlib.compressobj(6, zlib.DEFLATED, -15)
def z(msg):
    d = co.compress(msg.encode()) + co.flush(zlib.Z_SYNC_FLUSH)
    return d[:-4]
srv = r101("Sec-WebSocket-Extensions: permessage-deflate\r\n")
srv += sframe(z(tsock({"method": "reply", "id": "TM1", "status": {"code": 200, "status": "OK"}, "payload_size": 0})), op=2, rsv1=True)
srv += sframe(z(tsock({"method": "client_update", "id": "TMw", "client_update_type": "token_about_to_expire"})), op=2, rsv1=True)
srv += sframe(z(tsock({"method": "close", "id": "TMc", "status": {"code": 410, "status": "TOKEN_EXPIRED", "errorCode": 51207, "description": "Token expired"}})), op=2, rsv1=True)
put("tsock_ok", upgrade("/v3/wsconnect", "Sec-WebSocket-Extensions: permessage-deflate\r\n") +
    cframe(tsock({"id": "TM1", "method": "init", "token": good_chat, "payload_size": 0}), op=2), srv)
# Twilsock close while init waits: the answer
put("tsock_close", upgrade("/v3/wsconnect") + cframe(tsock({"id": "TM1", "method": "init", "token": old_chat}), op=2),
    r101() + sframe(tsock({"method": "close", "id": "TMc", "status": {"code": 401, "status": "UNAUTHORIZED", "errorCode": 20104, "description": "Access Token expired"}}), op=2))
# Voice: an unrelated error first, then 31205; a good listen: connected
put("voice_err", upgrade("/signal") + cframe(json.dumps({"type": "listen", "version": "1.6", "payload": {"token": old_voice}})),
    r101() + sframe('{"type":"error","payload":{"error":{"code":31000,"message":"general"}}}') +
    sframe('{"type":"error","payload":{"error":{"code":31205,"message":"JWT token expired"}}}'))
put("voice_ok", upgrade("/signal") + cframe(json.dumps({"type": "listen", "version": "1.6", "payload": {"token": good_voice}})),
    r101() + sframe('{"type":"connected","payload":{"region":"gll"}}'))
# Video: error 20104; welcome
hello = lambda t: json.dumps({"id": "h1", "type": "hello", "version": 2, "body": {"type": "connect", "version": 2, "token": t}})
put("video_err", upgrade("/signaling") + cframe(hello(old_video)),
    r101() + sframe('{"type":"error","code":20104,"message":"Access Token expired or expiration date invalid"}'))
put("video_ok", upgrade("/signaling") + cframe(hello(good_video)), r101() + sframe('{"type":"welcome","version":2}'))
PYEOF

scan() { # NAME [more options]: scan --json, RC set
	local n=$1
	shift
	RC=0
	"$TOKSHIM" scan --json --now "$NOW" --secret "$SECRET" --server "$TMP/$n.s" "$@" "$TMP/$n.c" >"$TMP/$n.json" 2>"$TMP/$n.err" || RC=$?
}
answers() { grep -c '"event":"answer"' "$TMP/$1.json"; }

scan http
check "http: exit 1 (a reject)" test "$RC" = 1
check "http: one answer, to the second request, from the chunked JSON body" json_expect_some "$TMP/http.json" \
	'd.get("event") == "answer" and d["channel"] == "http" and d["server"] == {"verdict": "reject", "status": 401, "code": 20104, "text": "Access Token expired or expiration date invalid"} and d["prediction"]["agrees"] and d["after_ms"] is None'
check "http: exactly one answer" test "$(answers http)" = 1
scan gzip
check "gzip: status only, and a disagreement (server_rejected)" json_expect_some "$TMP/gzip.json" \
	'd.get("event") == "answer" and d["server"]["status"] == 401 and d["server"]["code"] is None and ids == ["server_rejected"]'
scan upgrade
check "refused upgrade answers the URL token" json_expect_some "$TMP/upgrade.json" \
	'd.get("event") == "answer" and d["message"] == "query" and d["server"]["verdict"] == "reject" and d["server"]["status"] == 401'
scan sip
check "sip: the final 403 with X-Twilio-Error, not the 100" json_expect_some "$TMP/sip.json" \
	'd.get("event") == "answer" and d["channel"] == "sip" and d["message"] == "register" and d["server"]["status"] == 403 and d["server"]["code"] == 20103 and ids == ["server_rejected"] and "deleted" in d["causes"][0]["text"]'
check "sip: one answer" test "$(answers sip)" = 1
scan tsock_ok
check "twilsock: exit 0, the compressed reply 200 accepts as predicted" bash -c "[ $RC = 0 ]"
check "twilsock: reply matched by id" json_expect_some "$TMP/tsock_ok.json" \
	'd.get("event") == "answer" and d["channel"] == "twilsock" and d["message"] == "init" and d["server"]["status"] == 200 and d["prediction"]["agrees"]'
check "twilsock: the late close (51207) is no answer" test "$(answers tsock_ok)" = 1
check "twilsock: no server_rejected" bash -c "! grep -q server_rejected '$TMP/tsock_ok.json'"
scan tsock_close
check "twilsock: a close while init waits answers it" json_expect_some "$TMP/tsock_close.json" \
	'd.get("event") == "answer" and d["server"]["code"] == 20104 and d["server"]["status"] == 401 and d["prediction"]["agrees"]'
scan voice_err
check "voice: 31205 answers, the 31000 does not" json_expect_some "$TMP/voice_err.json" \
	'd.get("event") == "answer" and d["channel"] == "voice" and d["server"]["code"] == 31205'
check "voice: one answer" test "$(answers voice_err)" = 1
scan voice_ok
check "voice: connected accepts" json_expect_some "$TMP/voice_ok.json" \
	'd.get("event") == "answer" and d["server"]["verdict"] == "accept" and d["prediction"]["agrees"]'
scan video_err
check "video: error 20104" json_expect_some "$TMP/video_err.json" \
	'd.get("event") == "answer" and d["channel"] == "video" and d["message"] == "connect" and d["server"]["code"] == 20104'
scan video_ok
check "video: welcome accepts, exit 0" bash -c "[ $RC = 0 ] && grep -q '\"verdict\":\"accept\",\"status\":null' '$TMP/video_ok.json'"

# text output: one line per answer, "as predicted" or not
RC=0
"$TOKSHIM" scan --now "$NOW" --secret "$SECRET" --server "$TMP/sip.s" "$TMP/sip.c" >"$TMP/sip.txt" 2>&1 || RC=$?
check "text: NOT as predicted with the code's meaning" grep -q 'SERVER REJECTED sip register: status 403, code 20103 (Invalid Access Token issuer/subject); NOT as predicted: tokshim said accept' "$TMP/sip.txt"
check "--server without a file is a usage error" bash -c "'$TOKSHIM' scan --server >/dev/null 2>&1; [ \$? = 2 ]"
RC=0; "$TOKSHIM" scan --server "$TMP/nope" "$TMP/sip.c" >/dev/null 2>&1 || RC=$?
check "--server unreadable: exit 2" test "$RC" = 2

# the secrets file's account column: a key of another account (mixed credentials)
OTHER=ACfedcba9876543210fedcba9876543210
printf '%s %s %s\n' "$KEY" "$SECRET" "$OTHER" >"$TMP/secrets3"
chmod 600 "$TMP/secrets3"
GOODTOK=$("$PY" -c 'import sys; print(open(sys.argv[1]).read().split("X-Twilio-Token: ")[1].split("\r\n")[0])' "$TMP/gzip.c")
RC=0
"$TOKSHIM" check --json --now "$NOW" --secrets-file "$TMP/secrets3" "$GOODTOK" >"$TMP/acct.json" 2>&1 || RC=$?
check "secrets file account column: account_mismatch, exit 1" test "$RC" = 1
check "account_mismatch names both SIDs, never the secret" bash -c "grep -q account_mismatch '$TMP/acct.json' && grep -q '$OTHER' '$TMP/acct.json' && grep -q '$ACCOUNT' '$TMP/acct.json' && ! grep -q '$SECRET' '$TMP/acct.json'"
printf '%s %s ACnot-an-account\n' "$KEY" "$SECRET" >"$TMP/secrets4"
chmod 600 "$TMP/secrets4"
RC=0
"$TOKSHIM" check --now "$NOW" --secrets-file "$TMP/secrets4" "$GOODTOK" >"$TMP/acct4.out" 2>&1 || RC=$?
check "a malformed account column refuses the file, naming the line" bash -c "[ $RC = 2 ] && grep -q 'line 1: third field is not an Account SID' '$TMP/acct4.out'"

# report: agreement per cause, and the disagreements
cat "$TMP"/*.json >"$TMP/all.log"
RC=0
"$TOKSHIM" report "$TMP/all.log" >"$TMP/report.txt" 2>&1 || RC=$?
check "report: answers counted" grep -qE '^server answers: 10, 8 as predicted, 2 not' "$TMP/report.txt"
check "report: per cause, expired agreed with the same code" grep -qE '^  expired +5 +5 +3$' "$TMP/report.txt"
check "report: the disagreements listed" grep -q 'sip register: predicted accept, server reject 403 20103' "$TMP/report.txt"
"$TOKSHIM" report --json "$TMP/all.log" >"$TMP/report.json"
check "report --json: answers object" "$PY" -c '
import json,sys; r=json.load(open(sys.argv[1]))["answers"]
assert r["total"]==10 and r["agreed"]==8 and len(r["disagreements"])==2, r
assert r["per_cause"]["expired"]=={"answers":5,"agreed":5,"same_code":3}, r["per_cause"]' "$TMP/report.json"
e2e_done
