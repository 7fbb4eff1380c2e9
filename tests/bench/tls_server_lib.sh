# Sourced by callgrind_bench.sh and aarch64_bench.sh: the benchmark's key
# and Account, a temporary directory removed at exit, fail(), and the bench
# TLS server ($TOOLS/tls_server, with a throw-away certificate) started on
# 127.0.0.1: TLS_PORT and TCP_PORT its ports, CLEAN the environment of a run
# without the shim. BENCH_NAME names the script in messages.
SECRET=tokshim-bench-secret-0123456789ab
ACCOUNT=AC0123456789abcdef0123456789abcdef
tmp=$(mktemp -d "${TMPDIR:-/tmp}/$BENCH_NAME.XXXXXX")
spid=
cleanup() {
	if [ -n "$spid" ]; then kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "$BENCH_NAME: FAILED: $*" >&2; exit 1; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 1 \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" -subj "/CN=tsock.us1.twilio.com" \
	-addext "subjectAltName=DNS:tsock.us1.twilio.com,IP:127.0.0.1" >/dev/null 2>&1 ||
	fail "cannot make a certificate"
"$TOOLS/tls_server" --cert "$tmp/cert.pem" --key "$tmp/key.pem" >"$tmp/server.out" 2>"$tmp/server.err" &
spid=$!
for _ in $(seq 100); do [ -s "$tmp/server.out" ] && break; sleep 0.05; done
read -r _ TLS_PORT _ TCP_PORT <"$tmp/server.out" 2>/dev/null || true
[ -n "${TLS_PORT:-}" ] && [ -n "${TCP_PORT:-}" ] || fail "tls_server did not start"

CLEAN=(env -u LD_PRELOAD -u TOKSHIM_OUTPUT -u TOKSHIM_SECRET -u TOKSHIM_SECRETS_FILE -u TOKSHIM_ACCOUNT_SID
	-u TOKSHIM_HOSTS -u TOKSHIM_HOOKS -u TOKSHIM_DISABLE "BENCH_SECRET=$SECRET")
