#!/usr/bin/env bash
# Hosts that trust nothing: a preloaded library must not widen their rights
# nor break their sandbox.
#  - Secure execution (AT_SECURE): a root-owned setuid copy and a
#    file-capability copy of a test client, run as another user (setpriv),
#    with TOKSHIM_OUTPUT=json:PATH pointing into a root-only directory and an
#    expired token on the wire: the library is loaded (the client says so)
#    but reads no TOKSHIM_* variable and reports nothing (no file, no stderr
#    line). The same client run normally does report (the test can fail).
#  - seccomp: the client installs a strict allow-list filter (hostile/
#    seccomp_allow.h, kill on anything else) before its connect; under the
#    shim it must still finish (no getsockopt, fstat or getpid added to its
#    connect or write path) for traffic without a token.
# Needs root (setuid, setcap); skipped otherwise.
. "$(dirname "$0")/lib.sh"
e2e_init
if [ "$(id -u)" != 0 ] || ! command -v setcap >/dev/null || ! command -v setpriv >/dev/null; then
	echo "skip: needs root, setcap (libcap2-bin) and setpriv"
	exit 0
fi
H=$ROOT/tests/e2e/hostile
chmod 755 "$TMP"
cc -O1 -Wall -Wextra -Werror -DWITH_SECCOMP -o "$TMP/tokclient" "$H/tokclient.c" || { fail "build tokclient"; e2e_done; exit; }

cat >"$TMP/server.py" <<'PYEOF'
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
def serve(c):
    d = b""
    while b"\r\n\r\n" not in d:
        x = c.recv(65536)
        if not x: break
        d += x
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PYEOF
"$PY" "$TMP/server.py" >"$TMP/port" &
PIDS+=($!)
wait_for 10 test -s "$TMP/port" || { fail "server"; e2e_done; exit; }
PORT=$(head -n1 "$TMP/port")
TOK=$(mint --now -7200 --ttl 3600)

# secure-execution mode: glibc preloads only from its trusted directories,
# and only a setuid library there
LIBDIR=$(dirname "$(readlink -f "$(ldd "$TMP/tokclient" | awk '/libc.so.6/ {print $3}')")")
SLIB=libtokshim-secure-test-$$.so
cleanup_lib() { rm -f "$LIBDIR/$SLIB"; e2e_cleanup; }
trap cleanup_lib EXIT
install -m 4755 -o root "$SHIM" "$LIBDIR/$SLIB"
mkdir -m 700 "$TMP/rootonly"

cp "$TMP/tokclient" "$TMP/suid" && chown root:root "$TMP/suid" && chmod 4755 "$TMP/suid"
cp "$TMP/tokclient" "$TMP/fcap" && setcap cap_net_bind_service+ep "$TMP/fcap"
for prog in suid fcap; do
	out=$TMP/$prog.out err=$TMP/$prog.err
	timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups \
		env LD_PRELOAD="$SLIB" TOKSHIM_OUTPUT="json:$TMP/rootonly/$prog.jsonl,stderr" TOKSHIM_LEVEL=info \
		TOKSHIM_SECRET="$SECRET" "$TMP/$prog" "$PORT" "$TOK" >"$out" 2>"$err"
	rc=$?
	check "$prog: exit 0 (rc $rc)" test "$rc" = 0
	check "$prog: ran in secure-execution mode with the library loaded" grep -qx 'secure=1 shim=1' "$out"
	check "$prog: no json file written with the program's rights" test ! -e "$TMP/rootonly/$prog.jsonl"
	check "$prog: nothing on stderr" test ! -s "$err"
done
# the same client, not privileged: it reports (so the checks above can fail)
timeout 30 env LD_PRELOAD="$LIBDIR/$SLIB" TOKSHIM_OUTPUT="json:$TMP/rootonly/plain.jsonl" TOKSHIM_SECRET="$SECRET" \
	"$TMP/tokclient" "$PORT" "$TOK" >"$TMP/plain.out" 2>"$TMP/plain.err"
check "not privileged: secure=0 shim=1" grep -qx 'secure=0 shim=1' "$TMP/plain.out"
check "not privileged: the reject is reported" json_expect "$TMP/rootonly/plain.jsonl" '"expired" in ids'

# seccomp: the client's own allow-list, kill on anything else
plain_run "$TMP/sc0.out" "$TMP/sc0.err" -- "$TMP/tokclient" "$PORT" - seccomp
check "seccomp, no shim: the filter lets the client itself finish (rc $RC)" test "$RC" = 0
for out in stderr "json:$TMP/sc.jsonl,syslog"; do
	TOKSHIM_OUTPUT=$out shim_run "$TMP/sc.out" "$TMP/sc.err" -- "$TMP/tokclient" "$PORT" - seccomp
	check "seccomp, shim ($out): client finishes (rc $RC, 159 = killed by SIGSYS)" test "$RC" = 0
	check "seccomp, shim ($out): done" grep -qx done "$TMP/sc.out"
done
e2e_done
