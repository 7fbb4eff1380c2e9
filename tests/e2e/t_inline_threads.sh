#!/usr/bin/env bash
# Entry patching under load, and where it must step aside:
# - 8 threads writing TLS (OpenSSL) while another thread dlopens a TLS
#   library (libmbedtls, through a plug-in) that the shim patches inside
#   dlopen: every write seen once, the plug-in's write seen through its entry
#   hook, no crash, the same answers as without the shim;
# - a function whose entry cannot be relocated (too short): stepped aside
#   with one info line, the call's result unchanged.
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_certs || { echo "FAIL: certificate"; exit 1; }
D=$ROOT/tests/e2e/inline
CF="-std=gnu11 -Wall -Wextra -Werror -O2"
"$TCC" $CF -shared -fPIC -Dmain=mbedtls_client_main -o "$TMP/libmbedplugin.so" "$ROOT/examples/mbedtls_client.c" \
	-lmbedtls -lmbedx509 -lmbedcrypto &&
	"$TCC" $CF -o "$TMP/threads_dlopen" "$D/threads_dlopen.c" -lssl -lcrypto -ldl -pthread &&
	"$TCC" $CF -rdynamic -o "$TMP/stepaside" "$D/stepaside.c" || { echo "FAIL: cannot build the test programs"; exit 1; }
check "threads_dlopen does not link mbedTLS" bash -c "! ldd '$TMP/threads_dlopen' | grep -q mbedtls"
start_server --https 0 || exit 1
HP=$(port_of https)
BAD=$(mint --grant voice:outgoing.application_sid=AP0123456789abcdef0123456789abcdef --identity t1 --now -7200 --ttl 3600)
# fewer requests per thread under qemu-user (a cross run), the same checks
N=10
[ -n "$TARCH" ] && N=3
plain_run "$TMP/p.out" "$TMP/p.err" -- "$TMP/threads_dlopen" "$HP" "$CERT_DIR/ca.pem" "$BAD" "$TMP/libmbedplugin.so" $N
check "plain: every request answered" test "$RC" = 0
TOKSHIM_OUTPUT="json:$TMP/t.json" shim_run "$TMP/s.out" "$TMP/s.err" -- "$TMP/threads_dlopen" "$HP" "$CERT_DIR/ca.pem" "$BAD" "$TMP/libmbedplugin.so" $N
check "shim: exit 0, every request answered" test "$RC" = 0
check "shim: the same answers" test "$(grep -v '^sent' "$TMP/p.out")" = "$(grep -v '^sent' "$TMP/s.out")"
check "shim: nothing on stderr" test ! -s "$TMP/s.err"
n_ossl=$("$PY" -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["event"] == "token" and json.loads(l)["connection"]["library"] == "openssl"))' "$TMP/t.json")
n_mbed=$("$PY" -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["event"] == "token" and json.loads(l)["connection"]["library"] == "mbedtls" and json.loads(l)["connection"]["hook"] == "inline"))' "$TMP/t.json")
check "shim: each of the $((8 * N)) OpenSSL writes seen once (got $n_ossl)" test "$n_ossl" = $((8 * N))
check "shim: the dlopen'ed mbedTLS write seen through its entry hook (got $n_mbed)" test "$n_mbed" = 1
check "shim: every record 51007 expired" json_expect "$TMP/t.json" 'd["code"] == 51007 and "expired" in ids'

plain_run "$TMP/a.out" "$TMP/a.err" -- "$TMP/stepaside"
arc=$RC
TOKSHIM_LEVEL=info TOKSHIM_OUTPUT="stderr,json:$TMP/a.json" shim_run "$TMP/b.out" "$TMP/b.err" -- "$TMP/stepaside"
check "step aside: same result and status" test "$RC" = "$arc" -a "$(cat "$TMP/a.out")" = "$(cat "$TMP/b.out")"
case ${TARCH:-$(uname -m)} in
x86_64 | arm64 | aarch64)
	check "step aside: one info line naming the function" \
		test "$(grep -c 'info: mbedtls_ssl_write in .*stepped aside' "$TMP/b.err")" = 1 ;;
esac
TOKSHIM_OUTPUT="stderr" shim_run "$TMP/c.out" "$TMP/c.err" -- "$TMP/stepaside"
check "step aside: nothing on stderr at the default level" test ! -s "$TMP/c.err"
e2e_done
