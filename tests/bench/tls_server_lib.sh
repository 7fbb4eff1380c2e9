# Sourced by callgrind_bench.sh and aarch64_bench.sh: the benchmark's key
# and Account, what bench_lib.sh gives ($tmp, fail), and the bench TLS
# server ($TOOLS/tls_server, with bench_cert's certificate) started on
# 127.0.0.1: TLS_PORT and TCP_PORT its ports, CLEAN the environment of a run
# without the shim. BENCH_NAME names the script in messages.
SECRET=tokshim-bench-secret-0123456789ab
ACCOUNT=AC0123456789abcdef0123456789abcdef
. tests/bench/bench_lib.sh
bench_cert
"$TOOLS/tls_server" --cert "$tmp/cert.pem" --key "$tmp/key.pem" >"$tmp/server.out" 2>"$tmp/server.err" &
spid=$!
for _ in $(seq 100); do [ -s "$tmp/server.out" ] && break; sleep 0.05; done
read -r _ TLS_PORT _ TCP_PORT <"$tmp/server.out" 2>/dev/null || true
[ -n "${TLS_PORT:-}" ] && [ -n "${TCP_PORT:-}" ] || fail "tls_server did not start"

CLEAN=(env -u LD_PRELOAD -u TOKSHIM_OUTPUT -u TOKSHIM_SECRET -u TOKSHIM_SECRETS_FILE -u TOKSHIM_ACCOUNT_SID
	-u TOKSHIM_HOSTS -u TOKSHIM_HOOKS -u TOKSHIM_DISABLE "BENCH_SECRET=$SECRET")
