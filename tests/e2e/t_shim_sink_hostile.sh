#!/usr/bin/env bash
# The host never pays for our output:
#  - descriptors: no sink descriptor until the first record, then at a high
#    number: `bash -c 'echo hello >&3'` fails as without the shim, fd 3 is
#    free after a report (os.close(3): EBADF); under RLIMIT_NOFILE=16 the
#    host can open as many files as without the shim, and a report never
#    takes its last free descriptor;
#  - SIGXFSZ: a json file (or a stderr redirected to a file) at the
#    RLIMIT_FSIZE limit: the host exits 0, the file keeps whole lines;
#  - ENOSPC: a full filesystem (a 64 KiB tmpfs) leaves only whole lines,
#    and `tokshim report` counts every one of them;
#  - symlinks: json:PATH that is a symbolic link (to a file, or dangling)
#    is refused and not followed; a file of another user is refused; a new
#    file is made 0600.
. "$(dirname "$0")/lib.sh"
e2e_init
cat >"$TMP/srv.py" <<'PYEOF'
import socket, threading
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
def serve(c):
    d = b""
    while b"\r\n\r\n" not in d:
        x = c.recv(65536)
        if not x:
            break
        d += x
    try:
        c.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except OSError:
        pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PYEOF
"$PY" "$TMP/srv.py" >"$TMP/port" &
PIDS+=($!)
wait_for 10 test -s "$TMP/port" || { fail server; e2e_done; exit; }
PORT=$(head -n1 "$TMP/port")
: >"$TMP/toks"
for i in $(seq 1 40); do mint --identity "u$i" --now -7200 --ttl 3600 >>"$TMP/toks"; done
TOK=$(head -n1 "$TMP/toks")

cc -O1 -Wall -Wextra -Werror -o "$TMP/tokclient" "$ROOT/tests/e2e/hostile/tokclient.c" || { fail build; e2e_done; exit; }
# client.py PORT TOKFILE N: one connection per token (N of them), each
# sending an HTTP request with the token, then prints "sent N"
cat >"$TMP/client.py" <<'PYEOF'
import socket, sys
port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
toks = open(path).read().split()[:n]
for t in toks:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: " + t.encode() + b"\r\n\r\n")
    s.close()
print("sent", len(toks), flush=True)
PYEOF
SINKS="json:$TMP/d.jsonl,syslog"
export TOKSHIM_SYSLOG_PATH=$TMP/no-syslogd.sock

# ---- descriptors ----
env bash -c 'echo hello >&3' >"$TMP/b0.out" 2>"$TMP/b0.err"; b0=$?
TOKSHIM_OUTPUT=$SINKS shim_run "$TMP/b1.out" "$TMP/b1.err" -- bash -c 'echo hello >&3'
check "bash 'echo hello >&3': fails as without the shim ($b0/$RC)" bash -c "test $b0 != 0 && test $RC = $b0 && grep -q 'Bad file descriptor' '$TMP/b1.err'"
check "no json file before the first record" test ! -e "$TMP/d.jsonl"
cat >"$TMP/fd3.py" <<'PYEOF'
import os, socket, sys
port, tok = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: " + tok.encode() + b"\r\n\r\n")
s.close()
fd = s.fileno()
try:
    os.close(3)
    print("close3 ok")
except OSError as e:
    print("close3", e.errno == 9 and "EBADF" or e)
print("next", os.open("/dev/null", os.O_RDONLY))
PYEOF
plain_run "$TMP/f0.out" "$TMP/f0.err" -- "$PY" "$TMP/fd3.py" "$PORT" "$TOK"
TOKSHIM_OUTPUT=$SINKS shim_run "$TMP/f1.out" "$TMP/f1.err" -- "$PY" "$TMP/fd3.py" "$PORT" "$TOK"
check "after a report: the json record was written" json_expect "$TMP/d.jsonl" '"expired" in ids'
check "after a report: os.close(3) is EBADF and the next open gets 3, as without the shim" \
	bash -c "grep -qx 'close3 EBADF' '$TMP/f0.out' && cmp -s '$TMP/f0.out' '$TMP/f1.out'"
check "a new json file is mode 0600" test "$(stat -c %a "$TMP/d.jsonl")" = 600

cat >"$TMP/nofile.py" <<'PYEOF'
import os, socket, sys
port, tok = int(sys.argv[1]), sys.argv[2]
fds = []
while True:
    try:
        fds.append(os.open("/dev/null", os.O_RDONLY))
    except OSError:
        break
print("opened", len(fds))
os.close(fds.pop()); os.close(fds.pop())
s = socket.create_connection(("127.0.0.1", port))   # one free left now
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: " + tok.encode() + b"\r\n\r\n")
try:
    fds.append(os.open("/dev/null", os.O_RDONLY))
    print("last ok")
except OSError as e:
    print("last failed", e)
s.close()
PYEOF
rm -f "$TMP/d.jsonl"
plain_run "$TMP/n0.out" "$TMP/n0.err" -- prlimit --nofile=16 "$PY" "$TMP/nofile.py" "$PORT" "$TOK"
TOKSHIM_OUTPUT=$SINKS shim_run "$TMP/n1.out" "$TMP/n1.err" -- prlimit --nofile=16 "$PY" "$TMP/nofile.py" "$PORT" "$TOK"
check "RLIMIT_NOFILE=16: as many files and the last free one left to the host, as without the shim" \
	bash -c "grep -qx 'last ok' '$TMP/n0.out' && cmp -s '$TMP/n0.out' '$TMP/n1.out'"

# ---- SIGXFSZ ----
head -c 4000 /dev/zero | tr '\0' 'x' | sed 's/$/\n/' | head -c 4000 >"$TMP/full.jsonl"
printf '\n' >>"$TMP/full.jsonl"
cp "$TMP/full.jsonl" "$TMP/full.before"
# a C client (CPython ignores SIGXFSZ and SIGPIPE; most programs do not)
plain_run "$TMP/x0.out" "$TMP/x0.err" -- prlimit --fsize=4096 "$TMP/tokclient" "$PORT" "$TOK"
x0=$RC
TOKSHIM_OUTPUT="json:$TMP/full.jsonl" shim_run "$TMP/x1.out" "$TMP/x1.err" -- prlimit --fsize=4096 "$TMP/tokclient" "$PORT" "$TOK"
check "RLIMIT_FSIZE, json sink at the limit: host exits as without the shim ($x0/$RC, 153 = SIGXFSZ)" \
	bash -c "test $RC = $x0 && grep -qx done '$TMP/x1.out'"
check "RLIMIT_FSIZE: the json file is as it was (no cut record)" cmp -s "$TMP/full.jsonl" "$TMP/full.before"
cp "$TMP/full.before" "$TMP/err.file"
RC=0
timeout 60 env LD_PRELOAD="$SHIM" TOKSHIM_OUTPUT=stderr prlimit --fsize=4096 "$TMP/tokclient" "$PORT" "$TOK" \
	>"$TMP/x2.out" 2>>"$TMP/err.file" || RC=$?
check "RLIMIT_FSIZE, stderr redirected to a file at the limit: host exits as without the shim ($x0/$RC)" \
	bash -c "test $RC = $x0 && grep -qx done '$TMP/x2.out'"

# ---- ENOSPC ----
if [ "$(id -u)" = 0 ] && mkdir -p "$TMP/small" && mount -t tmpfs -o size=64k tmpfs "$TMP/small" 2>/dev/null; then
	trap 'umount "$TMP/small" 2>/dev/null; e2e_cleanup' EXIT
	head -c 50000 /dev/zero >"$TMP/small/filler"
	TOKSHIM_OUTPUT="json:$TMP/small/d.jsonl" shim_run "$TMP/s.out" "$TMP/s.err" -- "$PY" "$TMP/client.py" "$PORT" "$TMP/toks" 40
	check "ENOSPC: the host finished" grep -qx 'sent 40' "$TMP/s.out"
	n=$(json_count "$TMP/small/d.jsonl")
	check "ENOSPC: the disk filled up before all 40 records ($n written)" test "$n" -lt 40 -a "$n" -gt 0
	check "ENOSPC: the file ends on a line boundary" bash -c "test \"\$(tail -c1 '$TMP/small/d.jsonl' | od -An -c | tr -d ' ')\" = '\\n'"
	check "ENOSPC: every line is a whole record" json_expect "$TMP/small/d.jsonl" '"expired" in ids'
	"$TOKSHIM" report --json "$TMP/small/d.jsonl" >"$TMP/s.rep" 2>/dev/null
	check "ENOSPC: tokshim report counts every record written, no bad line" "$PY" -c "
import json, sys
d = json.load(open(sys.argv[1])); sys.exit(not (d['diagnoses'] == int(sys.argv[2]) and d['bad_lines'] == 0))" "$TMP/s.rep" "$n"
	umount "$TMP/small"
else
	echo "skip: ENOSPC (needs root to mount a tmpfs)"
fi

# ---- symlinks, owners ----
echo "victim" >"$TMP/victim"
ln -s "$TMP/victim" "$TMP/link.jsonl"
ln -s "$TMP/created-by-link" "$TMP/dangling.jsonl"
for l in link dangling; do
	TOKSHIM_OUTPUT="json:$TMP/$l.jsonl" shim_run "$TMP/l.out" "$TMP/l.err" -- "$PY" "$TMP/client.py" "$PORT" "$TMP/toks" 1
	check "json:PATH a symlink ($l): refused at load" grep -q "TOKSHIM_OUTPUT: cannot open '.*$l.jsonl': a symbolic link" "$TMP/l.err"
done
check "symlink: its target is untouched" bash -c "test \"\$(cat '$TMP/victim')\" = victim"
check "dangling symlink: no file created where it points" test ! -e "$TMP/created-by-link"
if [ "$(id -u)" = 0 ]; then
	: >"$TMP/other.jsonl" && chown 65534 "$TMP/other.jsonl"
	TOKSHIM_OUTPUT="json:$TMP/other.jsonl" shim_run "$TMP/o.out" "$TMP/o.err" -- "$PY" "$TMP/client.py" "$PORT" "$TMP/toks" 1
	check "json:PATH owned by another user: refused" grep -q "TOKSHIM_OUTPUT: cannot open '.*other.jsonl': owned by another user" "$TMP/o.err"
	check "json:PATH owned by another user: not written" test ! -s "$TMP/other.jsonl"
fi

# ---- SIGPIPE: stderr a pipe whose reader is gone ----
"$PY" - "$SHIM" "$TMP/tokclient" "$PORT" "$TOK" >"$TMP/p.out" <<'PYEOF'
import os, signal, subprocess, sys
shim, client, port, tok = sys.argv[1:]
r, w = os.pipe()
os.close(r)
env = dict(os.environ, LD_PRELOAD=shim, TOKSHIM_OUTPUT="stderr")
# the child gets SIGPIPE's default action back (Python ignores it)
p = subprocess.run([client, port, tok], stderr=w, stdout=subprocess.PIPE, env=env, timeout=60,
                   preexec_fn=lambda: signal.signal(signal.SIGPIPE, signal.SIG_DFL))
print("rc", p.returncode, p.stdout.decode().split()[-1])
PYEOF
check "stderr a pipe with no reader: the host exits 0 (no SIGPIPE)" grep -qx 'rc 0 done' "$TMP/p.out"
e2e_done
