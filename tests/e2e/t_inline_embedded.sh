#!/usr/bin/env bash
# The TLS libraries of embedded devices, with no TOKSHIM_HOOKS line: real
# mbedTLS and wolfSSL clients (examples/mbedtls_client.c,
# examples/wolfssl_client.c, linked with Debian's shared libraries) are seen
# through the entry hooks of mbedtls_ssl_write / wolfSSL_write, with the host
# from mbedtls_ssl_set_hostname / wolfSSL_UseSNI. A good token gives nothing;
# the clients' output and status are the same with and without the shim.
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_certs || { echo "FAIL: certificate"; exit 1; }
CFLAGS_E="-std=gnu11 -Wall -Wextra -Werror -O2"
"$TCC" $CFLAGS_E -o "$TMP/mbedtls_client" "$ROOT/examples/mbedtls_client.c" -lmbedtls -lmbedx509 -lmbedcrypto ||
	{ echo "FAIL: cannot build examples/mbedtls_client.c (libmbedtls-dev)"; exit 1; }
# libwolfssl-dev is not multi-arch: a cross build takes the native headers and
# the target's run-time library (libwolfssl35:ARCH) by its file name
WOLF=-lwolfssl
if [ -n "$TARCH" ]; then
	WOLF=$(dirname "$("$TCC" -print-file-name=libc.so.6)")/libwolfssl.so.35
	[ -f "$WOLF" ] || WOLF=/usr/lib/$("$TCC" -dumpmachine)/libwolfssl.so.35
fi
"$TCC" $CFLAGS_E -o "$TMP/wolfssl_client" "$ROOT/examples/wolfssl_client.c" $WOLF ||
	{ echo "FAIL: cannot build examples/wolfssl_client.c (libwolfssl-dev)"; exit 1; }
start_server --https 0 --reply-delay 0.3 || exit 1
HP=$(port_of https)
BAD=$(mint --grant voice:outgoing.application_sid=AP0123456789abcdef0123456789abcdef --identity dev1 --now -7200 --ttl 3600)
GOOD=$(mint --grant voice:outgoing.application_sid=AP0123456789abcdef0123456789abcdef --identity dev1)
unset TOKSHIM_HOOKS

for lib in mbedtls wolfssl; do
	# the host name is the one the server's certificate holds (both clients
	# verify the name they send)
	C=("$TMP/${lib}_client" --cafile "$CERT_DIR/ca.pem" --sni localhost)
	plain_run "$TMP/$lib.p.out" "$TMP/$lib.p.err" -- "${C[@]}" 127.0.0.1 "$HP" "$BAD"
	prc=$RC
	check "$lib plain: the server refuses (exit 1, 401)" test "$prc" = 1 -a -n "$(grep '401' "$TMP/$lib.p.out")"
	TOKSHIM_OUTPUT="stderr,json:$TMP/$lib.json" shim_run "$TMP/$lib.log" "$TMP/$lib.log" -- "${C[@]}" 127.0.0.1 "$HP" "$BAD"
	check "$lib: same exit status under the shim" test "$RC" = "$prc"
	check "$lib: json 51007 http expired via $lib/inline, host and peer" json_expect "$TMP/$lib.json" \
		'd["code"] == 51007 and d["channel"] == "http" and "expired" in ids and d["connection"]["library"] == "'"$lib"'" and d["connection"]["hook"] == "inline" and d["connection"]["host"] == "localhost" and d["connection"]["peer"] == "127.0.0.1:'"$HP"'"'
	check "$lib: one diagnosis" test "$(json_count "$TMP/$lib.json")" = 1
	check "$lib: the report comes before the reply" report_before "server:" "$TMP/$lib.log"
	check "$lib: no signature, token or secret written" no_secret_in "$TMP/$lib.log" "$BAD"
	grep -v '^tokshim\[' "$TMP/$lib.log" >"$TMP/$lib.s.out"
	check "$lib: same stdout as without the shim" cmp -s "$TMP/$lib.p.out" "$TMP/$lib.s.out"
	TOKSHIM_OUTPUT="stderr,json:$TMP/$lib.good.json" shim_run "$TMP/$lib.g.out" "$TMP/$lib.g.err" -- "${C[@]}" 127.0.0.1 "$HP" "$GOOD"
	check "$lib good: exit 0, nothing on stderr, no diagnosis" \
		test "$RC" = 0 -a ! -s "$TMP/$lib.g.err" -a "$(json_count "$TMP/$lib.good.json")" = 0
	TOKSHIM_INLINE=0 TOKSHIM_OUTPUT="json:$TMP/$lib.off.json" shim_run "$TMP/$lib.o.out" "$TMP/$lib.o.err" -- "${C[@]}" 127.0.0.1 "$HP" "$BAD"
	check "$lib TOKSHIM_INLINE=0: not seen, same output" \
		test "$(json_count "$TMP/$lib.off.json")" = 0 -a "$RC" = "$prc"
done
e2e_done
