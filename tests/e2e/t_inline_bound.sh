#!/usr/bin/env bash
# TLS code the symbol interposition cannot reach, seen through the entry
# hooks, each plaintext write fed once:
# - a client statically linked with libssl.a (symbols in .symtab, read from
#   the file on disk); the same client stripped: blind (README);
# - a plug-in dlopen'ed with RTLD_DEEPBIND (its SSL_write binds to libssl's
#   own); the same with RTLD_LOCAL, where the PLT hook and the inline hook see
#   the same call: one diagnosis;
# - BIO_write on a BIO_f_ssl BIO;
# - a -Bsymbolic library defining its own SSL_write that forwards with
#   dlsym(RTLD_NEXT): called by the program, and from inside the library.
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_certs || { echo "FAIL: certificate"; exit 1; }
D=$ROOT/tests/e2e/inline
CF="-std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2"
LIBDIR=$(dirname "$("$TCC" -print-file-name=libssl.a)")
STRIP=strip
case $TCC in *-gcc) STRIP=${TCC%gcc}strip ;; esac
"$TCC" $CF -o "$TMP/static_client" "$ROOT/examples/https_client.c" "$ROOT/examples/ws.c" \
	"$LIBDIR/libssl.a" "$LIBDIR/libcrypto.a" -ldl -pthread || { echo "FAIL: cannot build the static client"; exit 1; }
"$STRIP" -o "$TMP/stripped_client" "$TMP/static_client"
"$TCC" $CF -shared -fPIC -o "$TMP/libtlsplugin.so" "$D/tlsplugin.c" -lssl -lcrypto &&
	"$TCC" $CF -o "$TMP/loader" "$D/loader.c" -ldl &&
	"$TCC" $CF -shared -fPIC -Wl,-Bsymbolic -o "$TMP/libwrapssl.so" "$D/wrapssl.c" -ldl -lssl &&
	"$TCC" $CF -o "$TMP/wrapmain" "$D/wrapmain.c" -Wl,--no-as-needed -L"$TMP" -lwrapssl -lssl -lcrypto \
		-Wl,-rpath,"$TMP" || { echo "FAIL: cannot build the test programs"; exit 1; }
start_server --https 0 --reply-delay 0.3 || exit 1
HP=$(port_of https)
BAD=$(mint --grant voice:outgoing.application_sid=AP0123456789abcdef0123456789abcdef --identity u1 --now -7200 --ttl 3600)
EXP='d["code"] == 51007 and d["channel"] == "http" and "expired" in ids and d["connection"]["library"] == "openssl"'

# case NAME HOOK CMD...: under the shim, one 51007 diagnosis seen by HOOK
# ("-": none at all), and the same stdout and status as without the shim.
case_run() {
	local name=$1 hook=$2
	shift 2
	plain_run "$TMP/$name.p.out" "$TMP/$name.p.err" -- "$@"
	local prc=$RC
	TOKSHIM_OUTPUT="stderr,json:$TMP/$name.json" shim_run "$TMP/$name.log" "$TMP/$name.log" -- "$@"
	check "$name: same exit status with the shim ($RC)" test "$RC" = "$prc"
	grep -v '^tokshim\[' "$TMP/$name.log" >"$TMP/$name.s.out"
	check "$name: same stdout" cmp -s "$TMP/$name.p.out" "$TMP/$name.s.out"
	if [ "$hook" = - ]; then
		check "$name: nothing seen" test "$(json_count "$TMP/$name.json")" = 0
		return
	fi
	check "$name: 51007 expired via openssl/$hook" json_expect "$TMP/$name.json" "$EXP"' and d["connection"]["hook"] == "'"$hook"'"'
	check "$name: exactly one diagnosis" test "$(json_count "$TMP/$name.json")" = 1
	check "$name: the report before the reply" report_before "server:" "$TMP/$name.log"
}

check "static client: SSL_write in .symtab, not in .dynsym" \
	bash -c "nm '$TMP/static_client' | grep -qw SSL_write && ! nm -D '$TMP/static_client' | grep -qw SSL_write"
case_run static inline "$TMP/static_client" --port "$HP" --cafile "$CERT_DIR/ca.pem" --sni localhost "$BAD"
check "stripped client: no .symtab" bash -c "! nm '$TMP/stripped_client' 2>/dev/null | grep -q SSL_write"
case_run stripped - "$TMP/stripped_client" --port "$HP" --cafile "$CERT_DIR/ca.pem" --sni localhost "$BAD"

case_run deepbind inline "$TMP/loader" deepbind "$TMP/libtlsplugin.so" 127.0.0.1 "$HP" "$CERT_DIR/ca.pem" localhost "$BAD" 0
case_run local_plt_and_inline plt "$TMP/loader" local "$TMP/libtlsplugin.so" 127.0.0.1 "$HP" "$CERT_DIR/ca.pem" localhost "$BAD" 0
case_run bio_f_ssl inline "$TMP/loader" deepbind "$TMP/libtlsplugin.so" 127.0.0.1 "$HP" "$CERT_DIR/ca.pem" localhost "$BAD" 1

case_run wrapper_direct plt "$TMP/wrapmain" direct 127.0.0.1 "$HP" "$CERT_DIR/ca.pem" localhost "$BAD"
check "wrapper_direct: the wrapper ran once" grep -qx "wrapper calls: 1" "$TMP/wrapper_direct.s.out"
case_run wrapper_inside inline "$TMP/wrapmain" wrap 127.0.0.1 "$HP" "$CERT_DIR/ca.pem" localhost "$BAD"
check "wrapper_inside: the wrapper ran once" grep -qx "wrapper calls: 1" "$TMP/wrapper_inside.s.out"

TOKSHIM_INLINE=0 TOKSHIM_OUTPUT="json:$TMP/off.json" shim_run "$TMP/off.out" "$TMP/off.err" -- \
	"$TMP/static_client" --port "$HP" --cafile "$CERT_DIR/ca.pem" --sni localhost "$BAD"
check "TOKSHIM_INLINE=0: the static client is not seen" test "$(json_count "$TMP/off.json")" = 0
e2e_done
