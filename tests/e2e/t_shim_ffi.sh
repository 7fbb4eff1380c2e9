#!/usr/bin/env bash
# TOKSHIM_HOOKS: a client of a TLS library the shim does not know
# (tests/e2e/ffi/libmytls.c, which scrambles every byte before write(), so
# the libc hooks see nothing readable) is followed once its write function
# is described: libffi closures patched into the GOT, or handed out by dlsym
# to a program that dlopens the library. Return values, errno and output are
# unchanged; a bad description costs one warning line.
. "$(dirname "$0")/lib.sh"
e2e_init
F=$ROOT/tests/e2e/ffi
CFLAGS_T=(-std=gnu11 -Wall -Wextra -Werror -O2 -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64)
"$TCC" "${CFLAGS_T[@]}" -shared -fPIC -o "$TMP/libmytls.so" "$F/libmytls.c" &&
	"$TCC" "${CFLAGS_T[@]}" -I"$F" -o "$TMP/client" "$F/mytls_client.c" -L"$TMP" -lmytls -Wl,-rpath,"$TMP" &&
	"$TCC" "${CFLAGS_T[@]}" -I"$F" -fno-plt -o "$TMP/client_now" "$F/mytls_client.c" -L"$TMP" -lmytls \
		-Wl,-rpath,"$TMP" -Wl,-z,now -Wl,-z,relro &&
	"$TCC" "${CFLAGS_T[@]}" -I"$F" -fno-pie -no-pie -o "$TMP/client_nopie" "$F/mytls_client.c" -L"$TMP" -lmytls \
		-Wl,-rpath,"$TMP" &&
	"$TCC" "${CFLAGS_T[@]}" -I"$F" -DMYTLS_DLOPEN -o "$TMP/dlclient" "$F/mytls_client.c" -ldl ||
	{ echo "FAIL: cannot build tests/e2e/ffi"; exit 1; }
check "dlclient does not link libmytls" bash -c "readelf -d '$TMP/dlclient' | grep -q NEEDED && ! readelf -d '$TMP/dlclient' | grep NEEDED | grep -q libmytls"

"$PY" "$F/xor_server.py" >"$TMP/server.out" 2>"$TMP/server.err" &
PIDS+=($!)
wait_for 10 test -s "$TMP/server.out" || { echo "FAIL: xor server did not start"; exit 1; }
P=$(head -n 1 "$TMP/server.out")
IS=IS0123456789abcdef0123456789abcdef
BAD=$(mint --grant chat:service_sid=$IS --now -7200 --ttl 3600)
W='mytls:mytls_write(ptr conn, ptr buf, size len) -> int'
WX='mytls:mytls_write_ex(ptr conn, ptr buf, size len, ptr written) -> int'
FREE='mytls:mytls_free(ptr conn) -> void @free'
HOST='mytls:mytls_set_host(ptr conn, str host) -> int @host'
ALL="$W; $WX; $FREE; $HOST"
IS_FFI='d["code"] == 51007 and d["channel"] == "http" and "expired" in ids and d["connection"]["library"] == "ffi:mytls" and d["connection"]["transport"] == "tls" and d["connection"]["peer"] == "127.0.0.1:'"$P"'"'

# without the shim: the reference output
plain_run "$TMP/p.out" "$TMP/p.err" -- "$TMP/client" "$P" "$BAD"
PRC=$RC
check "plain: exit 0, reply read" bash -c "test $PRC = 0 && grep -q '^reply: HTTP/1.1 401' '$TMP/p.out'"
check "plain: a failing write returns -1 and EBADF" grep -qx 'write on a closed connection: -1 EBADF' "$TMP/p.out"
same_as_plain() { test "$PRC" = "$RC" && cmp -s "$TMP/p.out" "$1"; }

# the shim without TOKSHIM_HOOKS: the socket carries scrambled bytes only
TOKSHIM_OUTPUT="json:$TMP/none.json" shim_run "$TMP/n.out" "$TMP/n.err" -- "$TMP/client" "$P" "$BAD"
check "no hooks: same output and status" same_as_plain "$TMP/n.out"
check "no hooks: nothing reported (the libc hooks see no plaintext)" test "$(json_count "$TMP/none.json")" = 0
check "no hooks: nothing on stderr" test ! -s "$TMP/n.err"

# the write function described: one report, before the client read the reply
TOKSHIM_HOOKS=$W TOKSHIM_OUTPUT="stderr,json:$TMP/w.json" shim_run "$TMP/w.log" "$TMP/w.log" -- "$TMP/client" "$P" "$BAD"
check "write hook: exit 0" test "$RC" = 0
check "write hook: json 51007 http expired via ffi:mytls, peer" json_expect "$TMP/w.json" "$IS_FFI"
check "write hook: exactly one json line" test "$(json_count "$TMP/w.json")" = 1
check "write hook: report before the reply" report_before "reply:" "$TMP/w.log"
check "write hook: no signature, token or secret written" no_secret_in "$TMP/w.log" "$BAD"
check "write hook: no signature, token or secret in the json sink" no_secret_in "$TMP/w.json" "$BAD"
TOKSHIM_HOOKS=$W TOKSHIM_OUTPUT="json:$TMP/w2.json" shim_run "$TMP/w2.out" "$TMP/w2.err" -- "$TMP/client" "$P" "$BAD"
check "write hook: same output and status as without the shim (return values, errno)" same_as_plain "$TMP/w2.out"
check "write hook: nothing on stderr" test ! -s "$TMP/w2.err"

# all four descriptions, two connections one after the other on the same struct
TOKSHIM_HOOKS=$ALL TOKSHIM_OUTPUT="json:$TMP/all.json" shim_run "$TMP/a.out" "$TMP/a.err" -- "$TMP/client" --twice "$P" "$BAD"
check "all hooks: exit 0, nothing on stderr" test "$RC" = 0 -a ! -s "$TMP/a.err"
check "all hooks: host from the @host hook" json_expect "$TMP/all.json" "$IS_FFI"' and d["connection"]["host"] == "chat.example.test"'
check "all hooks: @free ends the connection (two connections, two reports)" test "$(json_count "$TMP/all.json")" = 2
TOKSHIM_HOOKS=$W TOKSHIM_OUTPUT="json:$TMP/nofree.json" shim_run "$TMP/nf.out" "$TMP/nf.err" -- "$TMP/client" --twice "$P" "$BAD"
check "without @free the reused struct is one connection (one report)" test "$(json_count "$TMP/nofree.json")" = 1
check "without @host no host" json_expect "$TMP/nofree.json" 'not d["connection"].get("host")'

# a written out-argument: 16 bytes per call, only *written bytes are fed
plain_run "$TMP/px.out" "$TMP/px.err" -- "$TMP/client" --ex "$P" "$BAD"
pxrc=$RC
TOKSHIM_HOOKS=$WX TOKSHIM_OUTPUT="json:$TMP/ex.json" shim_run "$TMP/x.out" "$TMP/x.err" -- "$TMP/client" --ex "$P" "$BAD"
check "written: same output and status" test "$pxrc" = "$RC" -a "$(cat "$TMP/px.out")" = "$(cat "$TMP/x.out")"
check "written: json via ffi:mytls" json_expect "$TMP/ex.json" "$IS_FFI"

# BIND_NOW + RELRO + -fno-plt (GLOB_DAT in a read-only page), and a non-PIE executable
for v in now nopie; do
	TOKSHIM_HOOKS=$W TOKSHIM_OUTPUT="json:$TMP/$v.json" shim_run "$TMP/$v.out" "$TMP/$v.err" -- "$TMP/client_$v" "$P" "$BAD"
	check "client_$v: same output and status" same_as_plain "$TMP/$v.out"
	check "client_$v: json via ffi:mytls" json_expect "$TMP/$v.json" "$IS_FFI"
done

# dlopen + dlsym: the library is not loaded at start (one warning per name),
# the look-up in its handle hands out the closures
TOKSHIM_HOOKS=$ALL TOKSHIM_OUTPUT="json:$TMP/dl.json" MYTLS_LIB=$TMP/libmytls.so \
	shim_run "$TMP/dl.out" "$TMP/dl.err" -- "$TMP/dlclient" --twice "$P" "$BAD"
MYTLS_LIB=$TMP/libmytls.so plain_run "$TMP/pdl.out" "$TMP/pdl.err" -- "$TMP/dlclient" --twice "$P" "$BAD"
check "dlopen: same output and status" test "$RC" = 0 -a "$(cat "$TMP/pdl.out")" = "$(cat "$TMP/dl.out")"
check "dlopen: two reports via ffi:mytls with the host" json_expect "$TMP/dl.json" "$IS_FFI"' and d["connection"]["host"] == "chat.example.test"'
check "dlopen: two json lines" test "$(json_count "$TMP/dl.json")" = 2
check "dlopen: 'not found' in one warning for the 4 names at start" bash -c "test \"\$(wc -l <'$TMP/dl.err')\" = 1 && grep -q \"warning: TOKSHIM_HOOKS: 4 problems, the first: hook 'mytls_[a-z_]*' not found in any loaded object\" '$TMP/dl.err'"

# a bad description: one warning line, ignored; the good one next to it works
TOKSHIM_HOOKS="mytls:mytls_write(ptr conn, ptr buf) -> int;$W" TOKSHIM_OUTPUT="json:$TMP/bad.json" \
	shim_run "$TMP/b.out" "$TMP/b.err" -- "$TMP/client" "$P" "$BAD"
check "bad description: same output and status" same_as_plain "$TMP/b.out"
check "bad description: exactly one warning line, naming the problem" \
	bash -c "test \"\$(wc -l <'$TMP/b.err')\" = 1 && grep -q \"warning: TOKSHIM_HOOKS: ignoring description 'mytls:mytls_write(ptr conn, ptr buf) -> int': @write needs a 'len' argument\" '$TMP/b.err'"
check "bad description: the good one still reports" json_expect "$TMP/bad.json" "$IS_FFI"
TOKSHIM_HOOKS="mytls:mytls_write(ptr conn, ptr buf) -> int" shim_run "$TMP/b2.out" "$TMP/b2.err" -- "$TMP/client" "$P" "$BAD"
check "only a bad description: same output and status, one line on stderr" \
	bash -c "test $PRC = $RC && cmp -s '$TMP/p.out' '$TMP/b2.out' && test \"\$(wc -l <'$TMP/b2.err')\" = 1"

# an unknown symbol: one warning, the client is untouched
TOKSHIM_HOOKS="x:no_such_write(ptr conn, ptr buf, size len) -> int" shim_run "$TMP/u.out" "$TMP/u.err" -- "$TMP/client" "$P" "$BAD"
check "unknown symbol: same output and status" same_as_plain "$TMP/u.out"
check "unknown symbol: one warning" bash -c "test \"\$(wc -l <'$TMP/u.err')\" = 1 && grep -q \"warning: TOKSHIM_HOOKS: hook 'no_such_write' not found in any loaded object\" '$TMP/u.err'"

# the server got every request intact (plain runs and shim runs alike)
check "server: every request arrived whole" bash -c "! grep -v '^request: GET /v1/Services HTTP/1.1 ([0-9]* bytes)\$' '$TMP/server.err' && test \$(grep -c . '$TMP/server.err') -ge 15"
e2e_done
