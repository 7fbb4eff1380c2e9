#!/usr/bin/env bash
# The local Twilio-like servers (tests/servers/twilio_like.py): start them on
# free ports, talk to every endpoint with a Python client holding good and bad
# tokens (signed here with hmac, fixed clock), check the replies, the log lines,
# --reply-delay, and a clean exit on SIGTERM with nothing left running.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init --no-shim
cd "$ROOT" || exit 1
tmp=$TMP
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	e2e_cleanup
}
trap cleanup EXIT
fail() { echo "t_servers: FAIL: $*" >&2; exit 1; }

bash tests/servers/mkcert.sh "$tmp/cert" >/dev/null || fail "mkcert.sh"
NOW=1795000000 # 2026-11-18T...Z, the servers' clock

# start_server LOGNAME ARGS...: starts it, waits for "ready", sets PORTS_JSON and SPID
start_server() {
	local name=$1
	shift
	"$PY" tests/servers/twilio_like.py "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	SPID=$!
	pids+=("$SPID")
	for _ in $(seq 100); do
		grep -qx ready "$tmp/$name.out" 2>/dev/null && break
		kill -0 "$SPID" 2>/dev/null || { cat "$tmp/$name.err" >&2; fail "$name server died"; }
		sleep 0.05
	done
	grep -qx ready "$tmp/$name.out" || fail "$name server not ready"
	PORTS_JSON=$(head -n 1 "$tmp/$name.out")
}

# stop_server PID: SIGTERM, must exit 0 within 3 s
stop_server() {
	local pid=$1 rc
	kill -TERM "$pid"
	for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null && fail "server $pid still running 3 s after SIGTERM"
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] || fail "server $pid exited $rc after SIGTERM"
}

start_server main --twilsock 0 --voice 0 --video 0 --https 0 --ws-plain 0 --http 0 \
	--cert "$tmp/cert/server.pem" --key "$tmp/cert/server.key" --secret 'demo-secret-1234' --now "$NOW"
MAIN=$SPID
MAIN_PORTS=$PORTS_JSON
start_server slow --twilsock 0 --cert "$tmp/cert/server.pem" --key "$tmp/cert/server.key" \
	--secret 'demo-secret-1234' --now "$NOW" --reply-delay 0.6
SLOW=$SPID
SLOW_PORTS=$PORTS_JSON

PORTS="$MAIN_PORTS" SLOW_PORTS="$SLOW_PORTS" NOW=$NOW CA="$tmp/cert/ca.pem" "$PY" - <<'EOF' || fail "client checks"
import asyncio, base64, hashlib, hmac, json, os, ssl, sys, time
import websockets

ports = json.loads(os.environ["PORTS"])
slow = json.loads(os.environ["SLOW_PORTS"])
NOW = int(os.environ["NOW"])
SECRET = "demo-secret-1234"
KEY = "SK" + "0123456789abcdef" * 2
ACC = "AC" + "fedcba9876543210" * 2
IS = "IS" + "11112222333344445555666677778888"
MG = "MG" + "11112222333344445555666677778888"
AP = "AP" + "aaaabbbbccccddddeeeeffff00001111"
ctx = ssl.create_default_context(cafile=os.environ["CA"])
failures = []

from jwt_sign import sign

def mint(grants, secret=SECRET, exp=NOW + 3600, nbf=NOW, twr=None, cty="twilio-fpa;v=1"):
    h = {"typ": "JWT", "alg": "HS256"}
    if cty: h["cty"] = cty
    if twr: h["twr"] = twr
    p = {"jti": "%s-%d" % (KEY, NOW), "iss": KEY, "sub": ACC, "exp": exp, "grants": grants}
    if nbf is not None: p["nbf"] = nbf
    return sign(p, secret, h)

chat = {"identity": "alice", "chat": {"service_sid": IS}}
def check(name, cond, got):
    if not cond:
        failures.append("%s: got %r" % (name, got))

def tw_msg(header, binary=False):
    h = json.dumps(header).encode()
    raw = b"TWILSOCK V3.0 %d\r\n" % len(h) + h + b"\r\n"
    return raw if binary else raw.decode()

def tw_parse(data):
    raw = data if isinstance(data, bytes) else data.encode()
    first, rest = raw.split(b"\r\n", 1)
    assert first.startswith(b"TWILSOCK V3.0 "), raw[:40]
    n = int(first.split(b" ")[2])
    return json.loads(rest[:n]), rest[n + 2:]

async def twilsock(port, msgs, tls=True, binary=False, compression="deflate"):
    url = ("wss" if tls else "ws") + "://127.0.0.1:%d/v3/wsconnect" % port
    kw = {"ssl": ctx, "server_hostname": "tsock.us1.twilio.com"} if tls else {}
    replies = []
    async with websockets.connect(url, compression=compression, **kw) as ws:
        for i, (method, tok) in enumerate(msgs):
            await ws.send(tw_msg({"id": "TM%d" % i, "method": method, "token": tok, "payload_size": 0}, binary))
            data = await asyncio.wait_for(ws.recv(), 5)
            check("reply frame type", isinstance(data, bytes) == binary, type(data))
            hdr, payload = tw_parse(data)
            check("reply id", hdr.get("id") == "TM%d" % i, hdr)
            replies.append((hdr, payload))
            if hdr["status"]["code"] != 200:
                break
    return replies

def tw_code(replies):
    st = replies[-1][0]["status"]
    return st["code"], st.get("errorCode")

async def voice(port, tok):
    async with websockets.connect("wss://127.0.0.1:%d/signal" % port, ssl=ctx,
                                  server_hostname="voice-js.roaming.twilio.com") as ws:
        await ws.send(json.dumps({"type": "listen", "version": "1.6",
                                  "payload": {"browserinfo": {}, "reconnectTimeout": 30, "token": tok}}))
        return json.loads(await asyncio.wait_for(ws.recv(), 5))

async def video(port, tok):
    async with websockets.connect("wss://127.0.0.1:%d/signaling" % port, ssl=ctx,
                                  server_hostname="global.vss.twilio.com") as ws:
        await ws.send(json.dumps({"id": "1", "timeout": 30, "type": "hello", "version": 2,
                                  "body": {"type": "connect", "version": 2, "token": tok}}))
        return json.loads(await asyncio.wait_for(ws.recv(), 5))

async def http_get(port, tok, tls=True):
    r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx if tls else None,
                                         server_hostname="eventgw.twilio.com" if tls else None)
    hdr = "X-Twilio-Token: %s\r\n" % tok if tok else ""
    w.write(("GET /v1/config HTTP/1.1\r\nHost: eventgw.twilio.com\r\n%s\r\n" % hdr).encode())
    data = await asyncio.wait_for(r.read(), 5)
    w.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)

async def main():
    tp = ports["twilsock"]
    good = mint(chat)
    # Twilsock: text and binary, TLS and plain, with and without deflate
    r = await twilsock(tp, [("init", good)])
    check("twilsock good", tw_code(r) == (200, None), r)
    check("twilsock good payload", b"continuation_token" in r[0][1], r)
    r = await twilsock(tp, [("init", good)], binary=True)
    check("twilsock good binary", tw_code(r) == (200, None), r)
    r = await twilsock(ports["ws-plain"], [("init", good)], tls=False, compression=None)
    check("twilsock plain good", tw_code(r) == (200, None), r)
    cases = [
        ("expired", mint(chat, exp=NOW - 3600, nbf=NOW - 7200), 20104),
        ("wrong secret", mint(chat, secret="not-the-secret"), 20107),
        ("no chat grant", mint({"identity": "alice", "video": {}}), 20106),
        ("MG sid", mint({"identity": "alice", "chat": {"service_sid": MG}}), 51104),
        ("no service sid", mint({"identity": "alice", "chat": {}}), 51104),
        ("no identity", mint({"chat": {"service_sid": IS}}), 51105),
        ("not yet valid", mint(chat, nbf=NOW + 600), 20105),
        ("ttl too long", mint(chat, exp=NOW + 90000), 20157),
        ("no cty", mint(chat, cty=None), 20102),
        ("ie1 key on us1", mint(chat, twr="ie1"), 20103),
        ("wrapped", json.dumps({"identity": "alice", "token": good}), 20101),
    ]
    for name, tok, code in cases:
        r = await twilsock(tp, [("init", tok)])
        check("twilsock " + name, tw_code(r) == (401, code), r)
        check("twilsock status text", r[-1][0]["status"].get("status") == "UNAUTHORIZED", r)
    r = await twilsock(ports["ws-plain"], [("init", mint(chat, exp=NOW - 3600, nbf=NOW - 7200))],
                       tls=False, binary=True)
    check("twilsock plain expired binary", tw_code(r) == (401, 20104), r)
    # update: same scope ok, another identity 51215
    r = await twilsock(tp, [("init", good), ("update", mint(chat, exp=NOW + 7200))])
    check("twilsock update same", [h["status"]["code"] for h, _ in r] == [200, 200], r)
    bob = mint({"identity": "bob", "chat": {"service_sid": IS}})
    r = await twilsock(tp, [("init", good), ("update", bob)])
    check("twilsock update other identity", tw_code(r) == (401, 51215), r)

    # Voice
    vgood = mint({"identity": "alice", "voice": {"outgoing": {"application_sid": AP}}})
    m = await voice(ports["voice"], vgood)
    check("voice good", m.get("type") == "connected", m)
    for name, tok, code in [
        ("expired", mint({"identity": "alice", "voice": {"incoming": {"allow": True}}}, exp=NOW - 60, nbf=NOW - 3660), 31205),
        ("wrong secret", mint({"identity": "alice", "voice": {"incoming": {"allow": True}}}, secret="x"), 31202),
        ("bad identity", mint({"identity": "alice@x", "voice": {"incoming": {"allow": True}}}), 31204),
        ("no voice grant", mint(chat), 31204),
    ]:
        m = await voice(ports["voice"], tok)
        check("voice " + name, m.get("type") == "error" and m["payload"]["error"]["code"] == code, m)

    # Video
    dgood = mint({"identity": "alice", "video": {"room": "demo"}})
    m = await video(ports["video"], dgood)
    check("video good", m.get("type") == "msg" and m["body"]["type"] == "connected"
          and m["body"]["participant"]["identity"] == "alice", m)
    for name, tok, code in [
        ("ie1 key", mint({"identity": "alice", "video": {}}, twr="ie1"), 20103),
        ("expired", mint({"identity": "alice", "video": {}}, exp=NOW - 60, nbf=NOW - 3660), 20104),
        ("no video grant", mint(chat), 20106),
    ]:
        m = await video(ports["video"], tok)
        check("video " + name, m.get("type") == "error" and m.get("code") == code and m.get("message"), m)

    # HTTPS and HTTP
    st, body = await http_get(ports["https"], vgood)
    check("https good", st == 200, (st, body))
    st, body = await http_get(ports["https"], None)
    check("https no header", st == 401 and body.get("code") == 20101, (st, body))
    st, body = await http_get(ports["https"], mint(chat, exp=NOW - 60, nbf=NOW - 3660))
    check("https expired", st == 401 and body.get("code") == 20104, (st, body))
    st, body = await http_get(ports["http"], mint(chat, secret="x"), tls=False)
    check("http wrong secret", st == 401 and body.get("code") == 20107, (st, body))

    # --reply-delay 0.6: the answer comes no sooner
    t0 = time.monotonic()
    r = await twilsock(slow["twilsock"], [("init", good)])
    dt = time.monotonic() - t0
    check("reply delay", tw_code(r) == (200, None) and dt >= 0.6, (r, dt))

    # unknown path: 404 at the handshake
    try:
        async with websockets.connect("wss://127.0.0.1:%d/nope" % tp, ssl=ctx, server_hostname="localhost"):
            failures.append("unknown path accepted")
    except websockets.exceptions.InvalidStatusCode as e:
        check("404", e.status_code == 404, e.status_code)

asyncio.run(main())
for f in failures:
    print("t_servers: FAIL:", f, file=sys.stderr)
sys.exit(1 if failures else 0)
EOF

stop_server "$MAIN"
stop_server "$SLOW"
log="$tmp/main.err"
grep -q '^server: twilsock init rejected 20104 expired 1h00m ago' "$log" || fail "no twilsock 20104 log line"
grep -q '^server: twilsock update rejected 51215 ' "$log" || fail "no 51215 log line"
grep -q '^server: voice listen rejected 31205 ' "$log" || fail "no voice 31205 log line"
grep -q '^server: video connect rejected 20103 ' "$log" || fail "no video 20103 log line"
grep -q '^server: twilsock init accepted identity=alice' "$log" || fail "no accept log line"
grep -q '^server: stopped' "$log" || fail "no clean stop"
grep -q 'demo-secret-1234' "$tmp"/*.err "$tmp"/*.out && fail "a secret reached the logs"
grep -Eq 'eyJ[A-Za-z0-9_-]{10,}\.eyJ' "$tmp"/*.err "$tmp"/*.out && fail "a token reached the logs"
grep -q Traceback "$tmp"/*.err && { cat "$tmp"/*.err >&2; fail "python traceback in the server log"; }
# bad command lines: exit 2 (argparse) or 2 (nothing to serve)
"$PY" tests/servers/twilio_like.py >/dev/null 2>&1; [ $? = 2 ] || fail "no port: want exit 2"
"$PY" tests/servers/twilio_like.py --https 0 >/dev/null 2>&1; [ $? = 2 ] || fail "https without cert: want exit 2"
echo "t_servers: ok"
