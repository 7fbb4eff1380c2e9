#!/usr/bin/env bash
# libcrypto, libffi and zlib are loaded when first needed, not at load: a
# process that sent no token maps none of them (nor does /bin/true); after a
# token was verified it maps libcrypto, one copy: the host's own when it has
# one loaded (--host-crypto), else one the shim loaded; verification gives
# the right verdicts either way (a good token: nothing; a bad signature:
# signature). TOKSHIM_HOOKS loads libffi; a deflated message loads zlib
# (t_shim_python covers its inflating).
. "$(dirname "$0")/lib.sh"
e2e_init
P=$TMP/lazy_probe
cc -std=gnu11 -Wall -Wextra -Werror -O2 -o "$P" "$ROOT/tests/e2e/lazy/lazy_probe.c" -ldl ||
	{ echo "FAIL: cannot build lazy_probe.c"; exit 1; }
check "lazy_probe links no libcrypto" bash -c "! ldd '$P' | grep -q libcrypto"
check "libtokshim.so needs no libcrypto, libffi, zlib" bash -c "! readelf -d '$SHIM' | grep NEEDED | grep -Eq 'libcrypto|libffi|libz'"

GOOD=$(mint --grant chat:service_sid=IS0123456789abcdef0123456789abcdef --identity alice)
BADSIG=$("$TOKSHIM" mint --secret wrong-secret --key "$KEY" --account "$ACCOUNT" --grant chat:service_sid=IS0123456789abcdef0123456789abcdef)

for mode in own host; do
	args=()
	[ $mode = host ] && args=(--host-crypto)
	want_before="crypto=0 ffi=0 z=0"
	[ $mode = host ] && want_before="crypto=1 ffi=0 z=0"
	TOKSHIM_OUTPUT="json:$TMP/$mode.good.json" shim_run "$TMP/$mode.good.out" "$TMP/$mode.good.err" -- "$P" "${args[@]}" "$GOOD"
	check "$mode: exit 0" test "$RC" = 0
	check "$mode: before any token: $want_before" grep -qx "maps before $want_before" "$TMP/$mode.good.out"
	check "$mode: after a verified token: one libcrypto, no libffi or zlib" grep -qx "maps after crypto=1 ffi=0 z=0" "$TMP/$mode.good.out"
	check "$mode: the good token verified (nothing reported)" test ! -s "$TMP/$mode.good.json"
	check "$mode: nothing on stderr" test ! -s "$TMP/$mode.good.err"
	TOKSHIM_OUTPUT="json:$TMP/$mode.bad.json" shim_run "$TMP/$mode.bad.out" "$TMP/$mode.bad.err" -- "$P" "${args[@]}" "$BADSIG"
	check "$mode: bad signature: exit 0" test "$RC" = 0
	check "$mode: bad signature reported" json_expect "$TMP/$mode.bad.json" '"signature" in ids'
	check "$mode: bad signature: one libcrypto" grep -qx "maps after crypto=1 ffi=0 z=0" "$TMP/$mode.bad.out"
done

# a write that carries no token: nothing loaded
shim_run "$TMP/none.out" "$TMP/none.err" -- "$P" -
check "no token: nothing loaded after the write" grep -qx "maps after crypto=0 ffi=0 z=0" "$TMP/none.out"

# TOKSHIM_HOOKS: libffi loaded to make the hooks, libcrypto still not
TOKSHIM_HOOKS='mytls:mytls_write(ptr conn, ptr buf, size len) -> int' shim_run "$TMP/ffi.out" "$TMP/ffi.err" -- "$P" -
check "TOKSHIM_HOOKS: libffi loaded, libcrypto not" grep -qx "maps before crypto=0 ffi=1 z=0" "$TMP/ffi.out"
check "TOKSHIM_HOOKS: the description was read (libffi usable)" grep -q "hook 'mytls_write' not found in any loaded object" "$TMP/ffi.err"
check "TOKSHIM_HOOKS: no load failure" bash -c "! grep -q 'cannot load' '$TMP/ffi.err'"
# /bin/true under the shim with a secret configured: none of them
check "/bin/true: none loaded" bash -c "LD_PRELOAD='$SHIM' TOKSHIM_SECRET=x LD_DEBUG=files /bin/true 2>&1 | grep -Eq 'file=lib(crypto|ffi|z)\.so' && exit 1 || exit 0"
e2e_done
