#!/usr/bin/env bash
# libtokshim.so exports exactly the hooked names (nothing of libdecode.a or
# libreport.a leaks), as shim/exports.map lists them; it loads into a program
# without changing its output.
. "$(dirname "$0")/lib.sh"
e2e_init

export LC_ALL=C
names="SSL_ctrl SSL_read SSL_read_ex SSL_write SSL_write_ex close connect dlsym dlvsym dup2 dup3 gnutls_deinit gnutls_record_recv gnutls_record_send gnutls_server_name_set read readv recv recvfrom recvmsg send sendmsg sendto write writev"
expected=$(printf '%s\n' $names __sendmsg64 __recvmsg64 | sort | tr '\n' ' ' | sed 's/ $//')
# __sendmsg64 and __recvmsg64 (their names under _TIME_BITS=64) exist on 32-bit targets only
if readelf -h "$SHIM" | grep -q 'Class:.*ELF32'; then expected_nm=$expected; else
	expected_nm=$(printf '%s\n' $names | sort | tr '\n' ' ' | sed 's/ $//'); fi
got=$(nm -D --defined-only "$SHIM" | awk '$2 ~ /^[TWDBRV]$/ {print $3}' | sed 's/@.*//' | sort | tr '\n' ' ' | sed 's/ $//')
check "nm -D lists exactly the hooks" test "$got" = "$expected_nm" || echo "  got: $got"
in_map=$(sed -n '/global:/,/local:/p' "$ROOT/shim/exports.map" | tr ' ;\t' '\n\n\n' | grep -E '^[A-Za-z_][A-Za-z0-9_]*$' |
	grep -v -e global -e local | sort | tr '\n' ' ' | sed 's/ $//')
check "shim/exports.map lists the same names" test "$in_map" = "$expected" || echo "  map: $in_map"
check "no versioned export (versioned references must bind to the hooks)" \
	bash -c "! nm -D --defined-only '$SHIM' | grep -q '@'"
check "libssl and libgnutls are not linked" bash -c "! ldd '$SHIM' | grep -Eq 'libssl|libgnutls'"

plain_run "$TMP/o1" "$TMP/e1" -- ls -la "$ROOT/shim"
r1=$RC
shim_run "$TMP/o2" "$TMP/e2" -- ls -la "$ROOT/shim"
check "ls: same output and status with the shim" cmp -s "$TMP/o1" "$TMP/o2"
check "ls: same exit status" test "$r1" = "$RC"
check "ls: nothing on stderr" test ! -s "$TMP/e2"
e2e_done
