#!/usr/bin/env bash
# make peer-test: CPython's own test suite (Debian's libpython3.11-testsuite)
# for the modules that exercise sockets, TLS, fork, threads and signals, run
# without the shim and with LD_PRELOAD=libtokshim.so, once with the stderr
# sink and once with the json: and syslog sinks (a real datagram socket that
# a reader drains), compared test by test (tests/peer/compare.py). A test
# whose result differs is run again, alone, in both conditions; a difference
# that stays fails the target, with the test's name. Only the interpreter
# under test gets the shim (env ... python3), never this shell.
#
#   PEER_JOBS      regrtest worker processes (default 2)
#   PEER_TESTS     the modules (default: the list below)
#   PEER_TIMEOUT   seconds per run of the whole list (default 1800)
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
B=${B:-build}
case $B in /*) BUILD=$B ;; *) BUILD=$ROOT/$B ;; esac
SHIM=$BUILD/libtokshim.so
PY=/usr/bin/python3
JOBS=${PEER_JOBS:-2}
TESTS=${PEER_TESTS:-"test_ssl test_socket test_httplib test_urllib2_localnet
 test_asyncio.test_ssl test_asyncio.test_sslproto test_asyncio.test_sock_lowlevel test_asyncio.test_events
 test_subprocess test_threading test_signal test_selectors test_poplib test_ftplib test_smtplib
 test_imaplib test_os test_fork1 test_wait4"}
# test_socketserver needs the 'network' resource (it only uses 127.0.0.1):
# a run of its own, so that no other module's networked tests (which would
# try to reach the Internet) are enabled
NET_TESTS=${PEER_NET_TESTS:-test_socketserver}
# VSOCK tests wait for ever for a peer outside a virtual guest's host: with
# or without the shim, on some machines; never run
IGNORE=(-i '*VSOCK*')
LIMIT=${PEER_TIMEOUT:-1800}

[ -f "$SHIM" ] || { echo "peer-test: $SHIM not built" >&2; exit 2; }
[ -f /usr/lib/python3.11/test/test_ssl.py ] || { echo "peer-test: libpython3.11-testsuite is not installed (make peer-deps)" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tokshim-peer.XXXXXX")
SYSLOG_PID=
cleanup() {
	[ -n "$SYSLOG_PID" ] && kill "$SYSLOG_PID" 2>/dev/null
	[ -n "$SYSLOG_PID" ] && wait "$SYSLOG_PID" 2>/dev/null
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# a syslog daemon stand-in: a datagram socket read until killed
"$PY" - "$TMP/log.sock" "$TMP/syslog.txt" <<'PYEOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
PYEOF
SYSLOG_PID=$!
for _ in $(seq 50); do [ -S "$TMP/log.sock" ] && break; sleep 0.1; done

# every run gets the same TOKSHIM_* variables: the preload is the only difference
COMMON=(TOKSHIM_SYSLOG_PATH="$TMP/log.sock" TOKSHIM_LEVEL=info)
MODES=(plain stderr jsonsys)
env_of() {
	case $1 in
	plain) echo "TOKSHIM_OUTPUT=stderr" ;;
	stderr) echo "LD_PRELOAD=$SHIM TOKSHIM_OUTPUT=stderr" ;;
	jsonsys) echo "LD_PRELOAD=$SHIM TOKSHIM_OUTPUT=json:$TMP/diag.jsonl,syslog" ;;
	esac
}

start=$(date +%s)
declare -A XML
for m in "${MODES[@]}"; do
	mkdir -p "$TMP/$m"
	echo "peer-test: $m: $(env_of "$m" | sed "s#$ROOT/##g")"
	t0=$(date +%s)
	# shellcheck disable=SC2046,SC2086
	(cd "$TMP/$m" && timeout -k 10 "$LIMIT" env "${COMMON[@]}" $(env_of "$m") \
		"$PY" -m test -j"$JOBS" --timeout 600 "${IGNORE[@]}" --junit-xml "$TMP/$m.xml" --tempdir "$TMP/$m/work" $TESTS \
		>"$TMP/$m.log" 2>&1)
	rc=$?
	if [ -n "$NET_TESTS" ]; then
		# shellcheck disable=SC2046,SC2086
		(cd "$TMP/$m" && timeout -k 10 "$LIMIT" env "${COMMON[@]}" $(env_of "$m") \
			"$PY" -m test -j"$JOBS" --timeout 600 -u network "${IGNORE[@]}" --junit-xml "$TMP/$m-net.xml" \
			--tempdir "$TMP/$m/worknet" $NET_TESTS >>"$TMP/$m.log" 2>&1)
		XML[$m]="$TMP/$m.xml,$TMP/$m-net.xml"
	else
		XML[$m]="$TMP/$m.xml"
	fi
	(exit $rc)
	echo "peer-test: $m: exit $?, $(($(date +%s) - t0)) s, $(grep -a 'Total tests\|Tests result' "$TMP/$m.log" | tail -n1)"
done

# compare; each test that differs is run alone again in each mode
rerun() { # MODE TESTID OUTXML
	local mod
	mod=$(sed -E 's/^test\.//; s/\.[A-Z][A-Za-z0-9_]*\.[^.]+$//' <<<"$2")
	# shellcheck disable=SC2046
	(cd "$TMP/$1" && timeout -k 10 600 env "${COMMON[@]}" $(env_of "$1") \
		"$PY" -m test --timeout 300 -u network --junit-xml "$3" --tempdir "$TMP/$1/rerun" "$mod" -m "$2" \
		>>"$TMP/rerun.log" 2>&1)
}
"$PY" tests/peer/compare.py "${XML[plain]}" "${XML[stderr]}" "${XML[jsonsys]}" >"$TMP/diff.txt"
rc=$?
sed -n '/^summary/p' "$TMP/diff.txt"
final=0
if [ "$rc" -eq 2 ]; then
	cat "$TMP/diff.txt"
	final=1
elif [ "$rc" -eq 1 ]; then
	n=0
	while read -r _ id _; do
		n=$((n + 1))
		[ $n -le 40 ] || { echo "FAIL: more than 40 tests differ"; final=1; break; }
		for m in "${MODES[@]}"; do rerun "$m" "$id" "$TMP/re-$m-$n.xml"; done
		if "$PY" tests/peer/compare.py --one "$id" "$TMP/re-plain-$n.xml" "$TMP/re-stderr-$n.xml" "$TMP/re-jsonsys-$n.xml"; then
			echo "peer-test: $id differed in the full run, not alone (timing): $(grep -F " $id " "$TMP/diff.txt" | head -n1)"
		else
			echo "FAIL: $id: $(grep -F " $id " "$TMP/diff.txt" | head -n1 | cut -d' ' -f3-)"
			final=1
		fi
	done < <(grep '^differs ' "$TMP/diff.txt")
fi
echo "peer-test: $(($(date +%s) - start)) s in all"
if [ "$final" -ne 0 ]; then
	KEEP_TMP=1
	echo "peer-test: FAILED (logs in $TMP)"
	exit 1
fi
echo "peer-test: passed: every test has the same result with and without the shim"
