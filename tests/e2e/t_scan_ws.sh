#!/usr/bin/env bash
# `tokshim scan` on WebSocket streams written just now by a real WebSocket
# library: tests/fixtures/gen_ws_frames.py runs python3-websockets clients
# (with and without permessage-deflate, with and without context takeover)
# through a recording proxy on 127.0.0.1; every capture is scanned.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init --no-shim
cd "$ROOT" || exit 1
tmp=$TMP
T=$B/tokshim
[ -x "$T" ] || make --no-print-directory B="$B" "$B/tokshim" >/dev/null || { echo "cannot build $T"; exit 1; }


NOW=1795383000
SECRET=wire-test-secret-0123456789abcdef # the generator's test secret

if ! timeout 120 "$PY" tests/fixtures/gen_ws_frames.py "$tmp/ws" >"$tmp/gen.log" 2>&1; then
	echo "FAIL: gen_ws_frames.py: $(cat "$tmp/gen.log")"
	exit 1
fi

# name, expected exit, python check over d (the JSON lines)
expect() {
	local name=$1 want=$2 cond=$3
	"$T" scan --json --now "$NOW" --secret "$SECRET" "$tmp/ws/$name.bin" >"$tmp/$name.out" 2>"$tmp/$name.err"
	local rc=$?
	if [ "$rc" = "$want" ] && "$PY" -c 'import json,sys; d=[json.loads(l) for l in open(sys.argv[1])]; sys.exit(0 if eval(sys.argv[2]) else 1)' "$tmp/$name.out" "$cond"; then
		ok
	else
		bad "$name: exit $rc (want $want): $(cat "$tmp/$name.out" "$tmp/$name.err")"
	fi
}

TS='len(d)==2 and [x["message"] for x in d]==["init","update"] and d[0]["verdict"]=="accept" and d[0]["product"]=="conversations" and d[0]["token"]["identity"]=="alice" and d[1]["verdict"]=="reject" and d[1]["code"]==51215 and [c["id"] for c in d[1]["causes"]]==["update_mismatch"] and all(x["connection"]["host"]=="tsock.us1.twilio.com" for x in d)'
expect twilsock_plain 1 "$TS"
expect twilsock_deflate 1 "$TS"
expect twilsock_deflate_noctx 1 "$TS"
expect voice_deflate 0 'len(d)==1 and d[0]["channel"]=="voice" and d[0]["message"]=="listen" and d[0]["product"]=="voice" and d[0]["verdict"]=="accept"'
VID='len(d)==2 and [x["message"] for x in d]==["connect","sync"] and all(x["channel"]=="video" and x["verdict"]=="accept" for x in d)'
expect video_deflate_noctx 0 "$VID"
expect video_plain 0 "$VID"

# the deflate captures really are compressed (RSV1 frames), so that the test means something
"$PY" - "$tmp/ws" <<'EOF' && ok || bad "captures: no RSV1 frame in a deflate capture"
import sys, os
d = sys.argv[1]
for name in ("twilsock_deflate", "voice_deflate", "video_deflate_noctx"):
    b = open(os.path.join(d, name + ".bin"), "rb").read()
    i = b.index(b"\r\n\r\n") + 4
    assert b[i] & 0x40, name
EOF

echo "t_scan_ws: $pass passed, $fail failed"
[ "$fail" = 0 ]
