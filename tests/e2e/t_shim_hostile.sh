#!/usr/bin/env bash
# A host doing what the shim must survive (tests/e2e/hostile/): the shim
# never breaks it (no crash, no hang, no changed result or errno, no byte
# lost or added), and says nothing false.
#  - GnuTLS's documented retry gnutls_record_send(s, NULL, 0) after E_AGAIN
#    (crashed: NULL fed); the retried request is still seen
#  - another preload that wraps dlopen (every write failed with ENOSYS)
#  - a socket closed by fclose(), or replaced by dup2(), its number reused by
#    a file (a false report)
#  - stderr closed, the socket got fd 2 (reports went into the stream)
#  - the json sink's fd closed by the host and reused for its own file
#  - TOKSHIM_SECRETS_FILE a FIFO (the load hung)
#  - TOKSHIM_ACCOUNT_SID holding a secret (the warning printed it)
#  - a signal handler that siglongjmp's out of write() (a timeout) while the
#    shim held the connection's lock (the next close spun for ever)
#  - vfork children closing or dup2()ing fds in our memory (the parent's
#    stderr reports switched off; one json fd leaked per child)
#  - fd 0 closed at start (the json sink took it), a dup2 that fails onto 2
#    (stderr reports switched off)
. "$(dirname "$0")/lib.sh"
e2e_init
H=$ROOT/tests/e2e/hostile
CF=(-std=gnu11 -Wall -Wextra -Werror -O2)
cc "${CF[@]}" -o "$TMP/gnutls_again" "$H/gnutls_again.c" -l:libgnutls.so.30 &&
	cc "${CF[@]}" -shared -fPIC -o "$TMP/libdlwrap.so" "$H/dlwrap.c" -ldl &&
	cc "${CF[@]}" -o "$TMP/hello" "$H/hello.c" &&
	cc "${CF[@]}" -o "$TMP/stale" "$H/stale.c" &&
	cc "${CF[@]}" -o "$TMP/fd2" "$H/fd2.c" &&
	cc "${CF[@]}" -o "$TMP/fdreuse" "$H/fdreuse.c" &&
	cc "${CF[@]}" -pthread -o "$TMP/jmp" "$H/jmp.c" &&
	cc "${CF[@]}" -o "$TMP/vfclose" "$H/vfclose.c" &&
	cc "${CF[@]}" -o "$TMP/lowfd" "$H/lowfd.c" ||
	{ echo "FAIL: cannot build tests/e2e/hostile"; exit 1; }
# preloaded into the final program only, never into a wrapper (timeout, env)
bounded() { "$PY" "$H/run_bounded.py" 20 "$@"; }

BAD=$(mint --grant voice:incoming.allow=true --now -7200 --ttl 3600)

# ---- GnuTLS retry with NULL, 0
e2e_certs || { echo "FAIL: certificate"; exit 1; }
start_server --https 0 || exit 1
P=$(port_of https)
RC=0
TOKSHIM_SECRET=$SECRET TOKSHIM_OUTPUT="json:$TMP/again.json" \
	bounded "$SHIM" "$TMP/gnutls_again" "$P" "$BAD" >"$TMP/again.out" 2>"$TMP/again.err" || RC=$?
check "gnutls retry (NULL, 0): no crash, the retry's count returned (exit 0)" test "$RC" = 0 ||
	cat "$TMP/again.out" "$TMP/again.err"
check "gnutls retry: the retried request is reported (expired, via gnutls)" json_expect "$TMP/again.json" \
	'd["code"] == 51007 and "expired" in ids and d["connection"]["library"] == "gnutls"'
check "gnutls retry: one report" test "$(json_count "$TMP/again.json")" = 1

# ---- a preload that wraps dlopen
RC=0
bounded "$TMP/libdlwrap.so:$SHIM" "$TMP/hello" >"$TMP/dl.out" 2>"$TMP/dl.err" || RC=$?
check "dlopen-wrapping preload: write returns 6, errno kept" test "$RC" = 0 || cat "$TMP/dl.err"
check "dlopen-wrapping preload: output intact" test "$(cat "$TMP/dl.out")" = hello
RC=0
bounded "$SHIM:$TMP/libdlwrap.so" "$TMP/hello" >"$TMP/dl2.out" 2>"$TMP/dl2.err" || RC=$?
check "dlopen-wrapping preload after the shim: write works" test "$RC" = 0 || cat "$TMP/dl2.err"

# ---- recording TCP server (stale socket, fd 2)
mkdir -p "$TMP/rec"
"$PY" "$H/rec_server.py" "$TMP/rec" >"$TMP/rec.port" 2>"$TMP/rec.err" &
PIDS+=($!)
wait_for 10 test -s "$TMP/rec.port" || { echo "FAIL: recording server did not start"; exit 1; }
RP=$(head -n 1 "$TMP/rec.port")

# ---- fclose'd socket, the number reused by a file
RC=0
bounded "$SHIM" "$TMP/stale" "$RP" "$BAD" "$TMP/cache.txt" >"$TMP/stale.log" 2>&1 || RC=$?
check "fclose'd socket: exit 0 (the file got the number)" test "$RC" = 0 || cat "$TMP/stale.log"
check "fclose'd socket: no report about the file's bytes" bash -c "! grep -q 'tokshim\[' '$TMP/stale.log'" ||
	cat "$TMP/stale.log"
check "fclose'd socket: the file holds exactly what was written" \
	test "$(cat "$TMP/cache.txt")" = "$(printf 'GET / HTTP/1.1\r\nX-Twilio-Token: %s\r\n\r' "$BAD")"

RC=0
bounded "$SHIM" "$TMP/stale" "$RP" "$BAD" "$TMP/cache2.txt" dup2 >"$TMP/dup2.log" 2>&1 || RC=$?
check "dup2 onto a followed socket: exit 0" test "$RC" = 0 || cat "$TMP/dup2.log"
check "dup2 onto a followed socket: no report about the file's bytes" \
	bash -c "! grep -q 'tokshim\[' '$TMP/dup2.log'" || cat "$TMP/dup2.log"
check "dup2 onto a followed socket: the file holds exactly what was written" \
	test "$(cat "$TMP/cache2.txt")" = "$(printf 'GET / HTTP/1.1\r\nX-Twilio-Token: %s\r\n\r' "$BAD")"

# ---- stderr closed, the socket is fd 2
RC=0
bounded "$SHIM" "$TMP/fd2" "$RP" "$BAD" >"$TMP/fd2.out" || RC=$?
check "socket on fd 2: exit 0" test "$RC" = 0 || cat "$TMP/fd2.out"
want=$(printf 'GET / HTTP/1.1\r\nHost: x\r\nX-Twilio-Token: %s\r\n\r\n' "$BAD" | wc -c)
got_fd2() {
	local f
	for f in "$TMP"/rec/*.bin; do
		[ -f "$f" ] || continue
		grep -qF "X-Twilio-Token" "$f" && grep -qF "Host: x" "$f" && { echo "$f"; return 0; }
	done
	return 1
}
wait_for 10 got_fd2 >/dev/null
F2=$(got_fd2)
check "socket on fd 2: the server got the request" test -n "$F2"
check "socket on fd 2: no report line in the host's stream" bash -c "[ -n '$F2' ] && ! grep -q 'tokshim' '$F2'"
check "socket on fd 2: not a byte more than the request" bash -c "[ -n '$F2' ] && [ \$(wc -c <'$F2') = $want ]"

# ---- the host closes the json sink's fd and reuses the number
RC=0
TOKSHIM_SECRET=$SECRET TOKSHIM_OUTPUT="json:$TMP/reuse.json" \
	bounded "$SHIM" "$TMP/fdreuse" "$RP" "$BAD" "$TMP/victim.dat" >"$TMP/reuse.out" 2>"$TMP/reuse.err" || RC=$?
check "closed sink fd: exit 0" test "$RC" = 0 || cat "$TMP/reuse.out" "$TMP/reuse.err"
check "closed sink fd: the host's file holds only its records" \
	test "$(cat "$TMP/victim.dat")" = "$(printf 'HOST-RECORD-1\nHOST-RECORD-2')" || cat "$TMP/victim.dat"
check "closed sink fd: the report still reached the json file" json_expect "$TMP/reuse.json" \
	'd["code"] == 51007 and "expired" in ids'

# ---- siglongjmp out of a write (setitimer timeout) while the shim holds the lock
RC=0
TOKSHIM_SECRET=$SECRET bounded "$SHIM" "$TMP/jmp" "$RP" "$BAD" 300 >"$TMP/jmp.out" 2>"$TMP/jmp.err" || RC=$?
check "siglongjmp out of write: no hang, every close returns (exit 0; 124: hung)" test "$RC" = 0 ||
	{ echo "  exit $RC"; cat "$TMP/jmp.out"; }

# ---- vfork children
BAD2=$(mint --grant voice:incoming.allow=true --now -7300 --ttl 3600)
RC=0
TOKSHIM_SECRET=$SECRET TOKSHIM_OUTPUT="json:$TMP/vf.json" \
	bounded "$SHIM" "$TMP/vfclose" "$RP" "$BAD" 20 >"$TMP/vf.out" 2>"$TMP/vf.err" || RC=$?
check "vfork children closing fds: exit 0" test "$RC" = 0 || cat "$TMP/vf.out" "$TMP/vf.err"
check "vfork children closing fds: no fd leaked in the parent" \
	awk '$1 == "fds" && $3 == $5 { ok = 1 } END { exit !ok }' "$TMP/vf.out" || cat "$TMP/vf.out"
check "vfork children closing fds: every request reported" test "$(json_count "$TMP/vf.json")" = 21
TOKSHIM_SECRET=$SECRET bounded "$SHIM" /usr/bin/python3 "$H/vfork_dup.py" "$RP" "$BAD" "$BAD2" \
	>/dev/null 2>"$TMP/vfd0.err"
TOKSHIM_SECRET=$SECRET bounded "$SHIM" /usr/bin/python3 "$H/vfork_dup.py" "$RP" "$BAD" "$BAD2" spawn \
	>/dev/null 2>"$TMP/vfd1.err"
n0=$(grep -c 'tokshim\[' "$TMP/vfd0.err")
n1=$(grep -c 'tokshim\[' "$TMP/vfd1.err")
check "vfork child's dup2 onto its fd 2 (subprocess stderr=PIPE): reports go on ($n1 lines, $n0 without)" \
	test "$n0" -gt 0 -a "$n1" = "$n0"

# ---- fd 0 closed at start; a failed dup2 onto 2
RC=0
TOKSHIM_SECRET=$SECRET TOKSHIM_OUTPUT="json:$TMP/low.json" \
	bounded "$SHIM" "$TMP/lowfd" "$RP" "$BAD" >"$TMP/low.out" 2>&1 <&- || RC=$?
check "fd 0 closed at start: the host's open gets 0 back" test "$RC" = 0 || cat "$TMP/low.out"
check "fd 0 closed at start: the report reached the json file" test "$(json_count "$TMP/low.json")" = 1
RC=0
TOKSHIM_SECRET=$SECRET bounded "$SHIM" "$TMP/lowfd" "$RP" "$BAD" dup2fail >"$TMP/d2f.out" 2>"$TMP/d2f.err" || RC=$?
check "failed dup2 onto 2: result and errno kept" test "$RC" = 0 || cat "$TMP/d2f.out"
check "failed dup2 onto 2: stderr reports go on" grep -q 'tokshim\[' "$TMP/d2f.err"

# ---- TOKSHIM_SECRETS_FILE a FIFO
mkfifo -m 600 "$TMP/sec.fifo"
RC=0
TOKSHIM_SECRETS_FILE=$TMP/sec.fifo bounded "$SHIM" "$TMP/hello" >"$TMP/fifo.out" 2>"$TMP/fifo.err" || RC=$?
check "secrets file a FIFO: no hang, exit 0 (124: hung)" test "$RC" = 0 || echo "  exit $RC"
check "secrets file a FIFO: warned" grep -q "TOKSHIM_SECRETS_FILE.*not a regular file" "$TMP/fifo.err"
check "secrets file a FIFO: output intact" test "$(cat "$TMP/fifo.out")" = hello

# ---- TOKSHIM_ACCOUNT_SID holding a secret
RC=0
TOKSHIM_ACCOUNT_SID=$SECRET bounded "$SHIM" "$TMP/hello" >"$TMP/sid.out" 2>"$TMP/sid.err" || RC=$?
check "account sid: exit 0" test "$RC" = 0
check "account sid: warned" grep -q "ignoring TOKSHIM_ACCOUNT_SID" "$TMP/sid.err"
check "account sid: a secret in it is not printed" bash -c "! grep -qF -- '${SECRET:0:12}' '$TMP/sid.err'"
RC=0
TOKSHIM_ACCOUNT_SID=AC0123456789abcdefXYZ bounded "$SHIM" "$TMP/hello" >"$TMP/sid2.out" 2>"$TMP/sid2.err" || RC=$?
check "account sid: a malformed SID is echoed" grep -qF "'AC0123456789abcdefXYZ'" "$TMP/sid2.err"
e2e_done
