#!/usr/bin/env bash
# The report sinks never hang the host: a real client under LD_PRELOAD with
# stderr a pipe nobody reads sends 300 expired tokens on 300 connections
# (each a report on stderr: far more than a pipe holds) and must finish, with
# every byte it sent received; TOKSHIM_OUTPUT=json:FIFO must not block the
# client at start. Only the client gets the shim (a python driver execs it
# with env=...), never timeout or this shell.
. "$(dirname "$0")/lib.sh"
e2e_init

N=300
: >"$TMP/tokens.txt"
for i in $(seq 1 $N); do
	mint --identity "user$i" --now -7200 --ttl 3600 >>"$TMP/tokens.txt" || { fail "mint"; break; }
done
check "minted $N tokens" test "$(grep -c . "$TMP/tokens.txt")" = $N
mkfifo "$TMP/report.fifo"

# client.py: one TCP connection per token, the token in an HTTP header
cat >"$TMP/client.py" <<'EOF'
import socket, sys
port, path = int(sys.argv[1]), sys.argv[2]
n = 0
for tok in open(path).read().split():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: " + tok.encode() + b"\r\n\r\n")
    s.close()
    n += 1
print("done", n, flush=True)
EOF

# driver.py MODE: a TCP server that counts what it gets, the client under the
# shim, bounded; prints "finished", "bytes=N expected=M", or "HUNG"
cat >"$TMP/driver.py" <<'EOF'
import os, socket, subprocess, sys, threading, time
mode, shim, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(512)
port = srv.getsockname()[1]
got = [0]
lock = threading.Lock()
def conn(c):
    while True:
        d = c.recv(65536)
        if not d:
            break
        with lock:
            got[0] += len(d)
    c.close()
def serve():
    while True:
        c, _ = srv.accept()
        threading.Thread(target=conn, args=(c,), daemon=True).start()
threading.Thread(target=serve, daemon=True).start()

env = dict(os.environ, LD_PRELOAD=shim, TOKSHIM_LEVEL="warning")
env.pop("TOKSHIM_SECRET", None)
tokens = tmp + "/tokens.txt"
if mode == "pipe":
    r, w = os.pipe()            # nobody reads r
    stderr = w
    env["TOKSHIM_OUTPUT"] = "stderr"
else:
    stderr = open(tmp + "/fifo.err", "wb")
    env["TOKSHIM_OUTPUT"] = "json:" + tmp + "/report.fifo"
    with open(tokens) as f:
        first = f.readline()
    tokens = tmp + "/one.txt"
    open(tokens, "w").write(first)
expected = sum(len(b"GET / HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: " + t.encode() + b"\r\n\r\n")
               for t in open(tokens).read().split())
p = subprocess.Popen([sys.executable, tmp + "/client.py", str(port), tokens],
                     stdout=subprocess.PIPE, stderr=stderr, env=env)
if mode == "pipe":
    os.close(w)
try:
    out, _ = p.communicate(timeout=40)
except subprocess.TimeoutExpired:
    p.kill()
    out, _ = p.communicate()
    print("HUNG; client stdout:", out.decode().strip().replace("\n", " | ") or "(nothing)")
    sys.exit(1)
print("client:", out.decode().strip(), "rc", p.returncode)
deadline = time.time() + 10
while time.time() < deadline and got[0] < expected:
    time.sleep(0.05)
print("bytes=%d expected=%d" % (got[0], expected))
if mode == "pipe":
    os.set_blocking(r, False)
    data = b""
    try:
        while True:
            d = os.read(r, 65536)
            if not d:
                break
            data += d
    except BlockingIOError:
        pass
    print("reports_in_pipe=%d" % data.count(b"tokshim["))
sys.exit(0 if p.returncode == 0 and out.decode().strip() == "done %d" % (len(open(tokens).read().split()))
         and got[0] == expected else 1)
EOF

T0=$(date +%s)
"$PY" "$TMP/driver.py" pipe "$SHIM" "$TMP" >"$TMP/pipe.out" 2>&1
RCP=$?
cat "$TMP/pipe.out"
check "stderr a pipe nobody reads: the client finishes, every byte sent" test $RCP = 0
check "stderr pipe: reports went out until the pipe was full" grep -q 'reports_in_pipe=[1-9]' "$TMP/pipe.out"
check "stderr pipe: well within the time limit" test $(($(date +%s) - T0)) -lt 30

"$PY" "$TMP/driver.py" fifo "$SHIM" "$TMP" >"$TMP/fifo.out" 2>&1
RCF=$?
cat "$TMP/fifo.out"
check "json:FIFO: the client starts and finishes" test $RCF = 0
check "json:FIFO: one warning, the sink left out" \
	grep -q "TOKSHIM_OUTPUT: cannot open '.*report.fifo': not a regular file, ignored" "$TMP/fifo.err"
e2e_done
