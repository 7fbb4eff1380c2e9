# Shared helpers for the end-to-end scripts (source it; bash).
#
# Every script: real servers on 127.0.0.1 (ports picked free at run time), a
# certificate made at test time, real clients run with the shim preloaded --
# never this shell or the test runner. Everything started is killed on exit
# (trap), every wait is bounded.
#
#   . "$(dirname "$0")/lib.sh"
#   e2e_init [--no-shim]     # ROOT, BUILD, SHIM, TOKSHIM, PY, TMP, TCC, trap;
#                            # --no-shim: a CLI-only script (no libtokshim.so needed)
#   e2e_certs                # $CERT_DIR/{ca.pem,server.pem,server.key}
#   start_server --https 0 --twilsock 0 ...   # twilio_like.py; port_of https
#   tok=$(mint --grant chat:service_sid=IS...) # signed with $SECRET
#   shim_run OUT ERR -- cmd args...           # under LD_PRELOAD; RC set
#   check "what" test-command...              # counts failures
#   ok / bad "what"                           # the pass/fail counters, by hand
#   e2e_done                                  # exit status
set -u

e2e_init() {
	local need_shim=1
	[ "${1:-}" = --no-shim ] && need_shim=0
	ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	B=${B:-build}
	case $B in /*) BUILD=$B ;; *) BUILD=$ROOT/$B ;; esac
	SHIM=$BUILD/libtokshim.so
	TOKSHIM=$BUILD/tokshim
	# the compiler for the test's own client programs: the target's when
	# the build is a cross one (tests/cross/e2e.sh; the programs then run
	# under qemu-user through binfmt_misc), the native one otherwise
	TCC=${TARGET_CC:-cc}
	TARCH=${TARGET_ARCH:-}
	PY=${PYTHON:-/usr/bin/python3}
	# Debian's python has python3-websockets; a pyenv one may not
	[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/tokshim-e2e.XXXXXX")
	PIDS=()
	FAILS=0
	pass=0 fail=0
	# the one token signer of the scripts' Python parts (jwt_sign.py)
	export PYTHONPATH=$ROOT/tests/e2e${PYTHONPATH:+:$PYTHONPATH}
	SECRET=e2e-secret-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	ACCOUNT=AC0123456789abcdef0123456789abcdef
	KEY=SK0123456789abcdef0123456789abcdef
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	if [ "$need_shim" = 1 ] && [ ! -f "$SHIM" ]; then
		echo "FAIL: $SHIM not built (make B=$B all)" >&2
		exit 1
	fi
}

e2e_cleanup() {
	local p
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] || continue
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] || continue
		# bounded: SIGKILL after ~3 s
		for _ in 1 2 3 4 5 6; do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
		kill -9 "$p" 2>/dev/null
	done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}

# check DESCRIPTION CMD...: runs CMD, counts a failure with DESCRIPTION.
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok: $what"
	else
		echo "FAIL: $what"
		FAILS=$((FAILS + 1))
	fi
}

fail() {
	echo "FAIL: $*"
	FAILS=$((FAILS + 1))
}

# ok / bad WHAT: counters for scripts that test by hand ($pass, $fail).
ok() { pass=$((pass + 1)); }
bad() {
	fail=$((fail + 1))
	FAILS=$((FAILS + 1))
	echo "FAIL: $*"
}

e2e_done() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$FAILS check(s) failed (logs kept in $TMP)"
		KEEP_TMP=1
		return 1
	fi
	echo "all checks passed"
	return 0
}

# A port free right now on 127.0.0.1.
free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for SECONDS CMD...: polls CMD every 0.1 s.
wait_for() {
	local limit=$(($1 * 10)) i=0
	shift
	while ! "$@" 2>/dev/null; do
		i=$((i + 1))
		[ $i -ge $limit ] && return 1
		sleep 0.1
	done
}

wait_port() {
	wait_for "${2:-10}" "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1',int(sys.argv[1])),1).close()" "$1"
}

# The certificate: tests/servers/mkcert.sh (helper "demo") when there,
# else a self-signed one made here with openssl.
e2e_certs() {
	CERT_DIR=$TMP/cert
	mkdir -p "$CERT_DIR"
	if [ -f "$ROOT/tests/servers/mkcert.sh" ]; then
		bash "$ROOT/tests/servers/mkcert.sh" "$CERT_DIR" >/dev/null || return 1
	else
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
			-subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
			-keyout "$CERT_DIR/server.key" -out "$CERT_DIR/server.pem" 2>/dev/null || return 1
		cp "$CERT_DIR/server.pem" "$CERT_DIR/ca.pem"
	fi
}

# start_server [twilio_like.py options]: starts the Twilio-like servers
# (with the test's --secret, --account and cert) and waits for "ready".
# SERVER_OUT holds the JSON line of ports, SERVER_ERR its decisions.
start_server() {
	SERVER_OUT=$TMP/server.out
	SERVER_ERR=$TMP/server.err
	# emptied here, not only by the child's redirection: a second server in one
	# script must not be taken as ready from the first one's "ready" line
	: >"$SERVER_OUT"
	"$PY" "$ROOT/tests/servers/twilio_like.py" --cert "$CERT_DIR/server.pem" --key "$CERT_DIR/server.key" \
		--secret "$SECRET" --account "$ACCOUNT" --lifetime 280 "$@" >"$SERVER_OUT" 2>"$SERVER_ERR" &
	PIDS+=($!)
	if ! wait_for 15 grep -qx ready "$SERVER_OUT"; then
		echo "FAIL: server did not start:" >&2
		cat "$SERVER_ERR" >&2
		return 1
	fi
}

# port_of NAME: the port the server reported for NAME (https, twilsock, ...).
port_of() {
	"$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())[sys.argv[2]])' "$SERVER_OUT" "$1"
}

# mint [tokshim mint options]: a token signed with $SECRET for $KEY/$ACCOUNT.
mint() {
	"$TOKSHIM" mint --secret "$SECRET" --key "$KEY" --account "$ACCOUNT" "$@"
}

# The signature segment of a token (to check it is never written anywhere).
sig_of() {
	printf '%s' "${1##*.}"
}

# shim_run OUT ERR -- CMD...: runs CMD with the shim preloaded (bounded,
# 60 s), stdout to OUT, stderr to ERR (the same name: one file, both in the
# order written); RC holds the exit status. Only CMD gets the shim (env
# execs it), not timeout. The
# TOKSHIM_* variables of this shell reach it (export them or prefix the call).
shim_run() {
	local out=$1 err=$2
	shift 3
	RC=0
	if [ "$out" = "$err" ]; then
		# one open file (O_APPEND) for both: the order of writes is kept
		: >"$out"
		timeout 60 env LD_PRELOAD="$SHIM${LD_PRELOAD:+:$LD_PRELOAD}" \
			TOKSHIM_SECRET="${TOKSHIM_SECRET-$SECRET}" "$@" >>"$out" 2>&1 || RC=$?
	else
		timeout 60 env LD_PRELOAD="$SHIM${LD_PRELOAD:+:$LD_PRELOAD}" \
			TOKSHIM_SECRET="${TOKSHIM_SECRET-$SECRET}" "$@" >"$out" 2>"$err" || RC=$?
	fi
}

# plain_run OUT ERR -- CMD...: the same without the shim.
plain_run() {
	local out=$1 err=$2
	shift 3
	RC=0
	timeout 60 "$@" >"$out" 2>"$err" || RC=$?
}

# jq-free JSON checks on the token records (the predictions; the server's
# answer and lifetime records are left out: json_expect_some sees them):
# json_count FILE prints the number of token records; json_expect FILE
# PYEXPR: every token record `d` satisfies PYEXPR and there is at least one.
json_count() {
	[ -f "$1" ] || { echo 0; return; }
	grep -v -e '"event":"answer"' -e '"event":"lifetime"' "$1" | grep -c . || true
}

json_expect() {
	"$PY" - "$1" "$2" <<'EOF'
import json, sys
path, expr = sys.argv[1], sys.argv[2]
try:
    lines = [l for l in open(path) if l.strip()]
except OSError as e:
    print("  no json sink file: %s" % e); sys.exit(1)
if not lines:
    print("  json sink is empty"); sys.exit(1)
lines = [l for l in lines if json.loads(l).get("event", "token") == "token"]
if not lines:
    print("  json sink has no token record"); sys.exit(1)
for l in lines:
    d = json.loads(l)
    ids = [c["id"] for c in d.get("causes", [])]
    if not eval(expr, {"d": d, "ids": ids, "json": json}):
        print("  json line fails %s: %s" % (expr, l.strip()[:600])); sys.exit(1)
EOF
}

# no_secret_in FILE TOKEN: neither the signature, the whole token nor the
# secret appear in FILE.
no_secret_in() {
	local f=$1 tok=$2
	[ -f "$f" ] || return 0
	if grep -qF -- "$(sig_of "$tok")" "$f" || grep -qF -- "$tok" "$f" || grep -qF -- "$SECRET" "$f"; then
		echo "  $f holds the token's signature, the token or the secret"
		return 1
	fi
}

# report_before MARK FILE: in FILE (the client's stdout and stderr sharing one
# open file), the first "tokshim[" line comes before the first line holding
# MARK (something the client prints only after it read the server's reply).
report_before() {
	local mark=$1 f=$2 r m
	r=$(grep -n -m1 -F 'tokshim[' "$f" | cut -d: -f1)
	m=$(grep -n -m1 -F -- "$mark" "$f" | cut -d: -f1)
	if [ -z "$r" ] || [ -z "$m" ] || [ "$r" -ge "$m" ]; then
		echo "  report line ${r:-none}, reply line ${m:-none} in $f"
		return 1
	fi
}

# json_expect_some FILE PYEXPR: at least one line's object `d` satisfies PYEXPR.
json_expect_some() {
	"$PY" - "$1" "$2" <<'EOF'
import json, sys
path, expr = sys.argv[1], sys.argv[2]
try:
    lines = [l for l in open(path) if l.strip()]
except OSError as e:
    print("  no json sink file: %s" % e); sys.exit(1)
for l in lines:
    d = json.loads(l)
    ids = [c["id"] for c in d.get("causes", [])]
    if eval(expr, {"d": d, "ids": ids}):
        sys.exit(0)
print("  no line of %s satisfies %s:" % (path, expr))
for l in lines[:6]:
    print("    " + l.strip()[:400])
sys.exit(1)
EOF
}

# stop_server: stops the server start_server started last (bounded).
stop_server() {
	local p=${PIDS[${#PIDS[@]}-1]:-}
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
	kill -9 "$p" 2>/dev/null
	return 0
}
