# Sourced by the bench scripts (shim_bench.sh, read_bench.sh and, through
# tls_server_lib.sh, callgrind_bench.sh and aarch64_bench.sh): a temporary
# directory $tmp removed at exit, with the server $spid killed when one was
# started; fail(); and bench_cert, the throw-away certificate of
# tsock.us1.twilio.com and 127.0.0.1 the bench servers present
# ($tmp/cert.pem, $tmp/key.pem). BENCH_NAME names the script in messages.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/$BENCH_NAME.XXXXXX")
spid=
cleanup() {
	if [ -n "$spid" ]; then kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "$BENCH_NAME: FAILED: $*" >&2; exit 1; }
# bench_cert: EC P-256, made now, valid for a day; fails the run when
# openssl cannot make it
bench_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 1 \
		-keyout "$tmp/key.pem" -out "$tmp/cert.pem" -subj "/CN=tsock.us1.twilio.com" \
		-addext "subjectAltName=DNS:tsock.us1.twilio.com,IP:127.0.0.1" >/dev/null 2>&1 ||
		fail "cannot make a certificate with openssl"
}
