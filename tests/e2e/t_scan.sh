#!/usr/bin/env bash
# `tokshim scan` on captured streams built here: HTTP, SIP, WebSocket frames,
# unknown text; exit codes, --json lines, --host/--hosts, stdin, errors, and
# that neither the secret nor a whole token reaches the output. Tokens are
# signed with python's hmac at a fixed time (--now), never today's date.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init --no-shim
cd "$ROOT" || exit 1
tmp=$TMP
T=$B/tokshim
[ -x "$T" ] || make --no-print-directory B="$B" "$B/tokshim" >/dev/null || { echo "cannot build $T"; exit 1; }


NOW=1795383000 # 2026-11-22T21:30:00Z
SECRET=Scan7secretValueXYZ0123456789abc

"$PY" - "$tmp" "$NOW" "$SECRET" <<'EOF'
import json, os, struct, sys
from jwt_sign import sign
tmp, now, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3]
key, acct = "SK" + "0123456789abcdef" * 2, "AC" + "0123456789abcdef" * 2
def tok(identity, grants, iat=now - 60, exp=now + 3600):
    g = {"identity": identity}; g.update(grants)
    c = {"jti": "%s-%d" % (key, iat), "iss": key, "sub": acct, "iat": iat, "exp": exp, "grants": g}
    return sign(c, secret)
chat = {"chat": {"service_sid": "IS" + "c" * 32}}
voice = {"voice": {"incoming": {"allow": True}}}
def frame(op, payload, mask=b"\x11\x22\x33\x44"):
    n = len(payload)
    h = bytes([0x80 | op])
    if n < 126: h += bytes([0x80 | n])
    elif n < 65536: h += bytes([0x80 | 126]) + struct.pack(">H", n)
    else: h += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return h + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
def tsock(method, t):
    hdr = json.dumps({"id": "TM1", "method": method, "token": t, "payload_size": 0}).encode()
    return b"TWILSOCK V3.0 %d\r\n" % len(hdr) + hdr + b"\r\n"
good, alice, bob = tok("alice_1", voice), tok("alice", chat), tok("bob", chat)
expired = tok("alice_1", voice, iat=now - 7200, exp=now - 3600)
files = {
    "http": b"POST /v1/events HTTP/1.1\r\nHost: eventgw.twilio.com\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: 4\r\nX-Twilio-Token: " + good.encode() + b"\r\n\r\n\x00\x01\x02\x03",
    "sip": b"REGISTER sip:alice_1@x.sip.twilio.com SIP/2.0\r\nX-Twilio-AccessToken: " + expired.encode()
           + b"\r\nContent-Length: 0\r\n\r\n",
    "tsock": frame(2, tsock("init", alice)) + frame(9, b"") + frame(2, tsock("update", bob)),
    "notoken": b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "text": b"user says: " + good.encode() + b"\n",
}
for k, v in files.items():
    open(os.path.join(tmp, k + ".bin"), "wb").write(v)
open(os.path.join(tmp, "tokens"), "w").write("\n".join([good, alice, bob, expired]) + "\n")
EOF

run() { # run NAME ARGS... -> $tmp/NAME.out, .err, RC
	local name=$1
	shift
	"$T" scan --now "$NOW" --secret "$SECRET" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	RC=$?
}
json_check() { # json_check NAME PYTHON-EXPR over `d` (list of objects)
	"$PY" -c 'import json,sys; d=[json.loads(l) for l in open(sys.argv[1])]; sys.exit(0 if eval(sys.argv[2]) else 1)' \
		"$tmp/$1.out" "$2"
}

run http "$tmp/http.bin"
[ "$RC" = 0 ] && grep -q '^ACCEPT' "$tmp/http.out" && grep -q 'eventgw.twilio.com' "$tmp/http.out" && ok ||
	bad "http: rc $RC: $(cat "$tmp/http.out" "$tmp/http.err")"

run http_json --json "$tmp/http.bin"
[ "$RC" = 0 ] && json_check http_json 'len(d)==1 and d[0]["channel"]=="http" and d[0]["message"]=="header" and d[0]["verdict"]=="accept" and d[0]["token"]["identity"]=="alice_1" and d[0]["connection"]["host"]=="eventgw.twilio.com"' && ok ||
	bad "http --json: rc $RC: $(cat "$tmp/http_json.out")"

run sip --json - <"$tmp/sip.bin"
[ "$RC" = 1 ] && json_check sip 'len(d)==1 and d[0]["channel"]=="sip" and d[0]["message"]=="register" and d[0]["product"]=="voice" and d[0]["code"]==51007 and any(c["id"]=="expired" for c in d[0]["causes"])' && ok ||
	bad "sip from stdin: rc $RC: $(cat "$tmp/sip.out")"

run tsock --json --host tsock.ie1.twilio.com:443 "$tmp/tsock.bin"
[ "$RC" = 1 ] && json_check tsock 'len(d)==2 and [x["message"] for x in d]==["init","update"] and all(x["channel"]=="twilsock" and x["code"]==51215 for x in d) and any(c["id"]=="region" for c in d[0]["causes"]) and any(c["id"]=="update_mismatch" for c in d[1]["causes"]) and d[0]["product"]=="conversations"' && ok ||
	bad "twilsock frames with --host: rc $RC: $(cat "$tmp/tsock.out")"

run tsock_us1 --json --host tsock.us1.twilio.com "$tmp/tsock.bin"
[ "$RC" = 1 ] && json_check tsock_us1 'd[0]["verdict"]=="accept" and d[1]["verdict"]=="reject"' && ok ||
	bad "twilsock us1: rc $RC: $(cat "$tmp/tsock_us1.out")"

run rule --json --hosts 'chat.example.com=sync' --host chat.example.com "$tmp/tsock.bin"
[ "$RC" = 1 ] && json_check rule 'd[0]["product"]=="sync" and any(c["id"]=="grant_missing" for c in d[0]["causes"])' && ok ||
	bad "--hosts rule: rc $RC: $(cat "$tmp/rule.out")"

TOKSHIM_HOSTS='*.example.com=sync' run rule_env --json --host chat.example.com "$tmp/tsock.bin"
[ "$RC" = 1 ] && json_check rule_env 'd[0]["product"]=="sync"' && ok || bad "TOKSHIM_HOSTS rule: rc $RC"

run text --json "$tmp/text.bin"
[ "$RC" = 0 ] && json_check text 'len(d)==1 and d[0]["channel"]=="unknown"' && ok || bad "unknown text: rc $RC: $(cat "$tmp/text.out")"

run notoken "$tmp/notoken.bin"
[ "$RC" = 0 ] && [ ! -s "$tmp/notoken.out" ] && grep -q 'no token found' "$tmp/notoken.err" && ok ||
	bad "no token: rc $RC: $(cat "$tmp/notoken.err")"

run missing "$tmp/does-not-exist"
[ "$RC" = 2 ] && grep -q "cannot open" "$tmp/missing.err" && ok || bad "unreadable file: rc $RC"

run badopt --bogus "$tmp/http.bin"
[ "$RC" = 2 ] && ok || bad "unknown option: rc $RC"

run badrule --hosts 'nonsense' "$tmp/http.bin"
[ "$RC" = 2 ] && grep -q "host rule" "$tmp/badrule.err" && ok || bad "bad --hosts: rc $RC: $(cat "$tmp/badrule.err")"

run two "$tmp/http.bin" "$tmp/sip.bin"
[ "$RC" = 2 ] && ok || bad "two files: rc $RC"

"$T" scan --help >"$tmp/help.out" 2>&1 && grep -q 'usage: tokshim scan' "$tmp/help.out" && ok || bad "scan --help"

# nothing secret in any output
if cat "$tmp"/*.out "$tmp"/*.err | grep -qF "$SECRET"; then bad "the secret reached the output"; else ok; fi
leak=0
while read -r t; do
	cat "$tmp"/*.out "$tmp"/*.err | grep -qF "$t" && leak=1
	sig=${t##*.}
	cat "$tmp"/*.out "$tmp"/*.err | grep -qF "$sig" && leak=1
done <"$tmp/tokens"
[ "$leak" = 0 ] && ok || bad "a whole token or its signature reached the output"

echo "t_scan: $pass passed, $fail failed"
[ "$fail" = 0 ]
