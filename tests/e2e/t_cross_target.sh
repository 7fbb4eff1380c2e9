#!/usr/bin/env bash
# What differs on the targets (tests/cross/e2e.sh runs this for arm64 and
# armhf under qemu-user; it runs natively too):
# - sendmsg is seen from a program built with _TIME_BITS=64 (on 32-bit glibc
#   its call is __sendmsg64) and from one built without;
# - the exported names are the hooks (plus __sendmsg64 and __recvmsg64 on
#   32-bit targets, recvmsg and sendmsg kept by their own names);
# - with the clock in 2040 (tests/e2e/target/clock_shift.c, preloaded before
#   the shim; the server's clock moved alike) tokens are judged by 2040's
#   time: a token minted for then is accepted, one expired then is rejected
#   with the 2040 date, one minted today is expired;
# - on a 32-bit target, a 32-bit-time build of the shim (TIME64=) cannot read
#   the clock after 2038 and steps aside: nothing reported, the client's
#   output unchanged.
. "$(dirname "$0")/lib.sh"
e2e_init
D=$ROOT/tests/e2e/target
T64=(-D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64)
"$TCC" -std=gnu11 -Wall -Wextra -Werror -O2 "${T64[@]}" -o "$TMP/client64" "$D/sendmsg_client.c" &&
	"$TCC" -std=gnu11 -Wall -Wextra -Werror -O2 -o "$TMP/client" "$D/sendmsg_client.c" &&
	"$TCC" -std=gnu11 -Wall -Wextra -Werror -O2 -shared -fPIC -o "$TMP/libclock_shift.so" "$D/clock_shift.c" -ldl ||
	{ echo "FAIL: cannot build tests/e2e/target"; exit 1; }
bits32=0
readelf -h "$SHIM" | grep -q 'Class:.*ELF32' && bits32=1

# exported names
names="SSL_ctrl SSL_read SSL_read_ex SSL_write SSL_write_ex close connect dlsym dlvsym dup2 dup3 gnutls_deinit gnutls_record_recv gnutls_record_send gnutls_server_name_set read readv recv recvfrom recvmsg send sendmsg sendto write writev"
[ $bits32 = 1 ] && names="$names __sendmsg64 __recvmsg64"
want=$(printf '%s\n' $names | LC_ALL=C sort | tr '\n' ' ')
got=$(nm -D --defined-only "$SHIM" | awk '$2 ~ /^[TWDBRV]$/ {print $3}' | sed 's/@.*//' | LC_ALL=C sort | tr '\n' ' ')
check "exports: the hooks$([ $bits32 = 1 ] && echo ', __sendmsg64 and __recvmsg64 too')" test "$got" = "$want" || echo "  got: $got"
if [ $bits32 = 1 ]; then
	check "the _TIME_BITS=64 client calls __sendmsg64" bash -c "nm -D '$TMP/client64' | grep -q ' U __sendmsg64'"
fi

# the server and the shim in 2040
T2040=2222164800 # 2040-06-01T12:00:00Z
SHIFT=$((T2040 - $(date +%s)))
e2e_certs || { echo "FAIL: certificate"; exit 1; }
start_server --http 0 --now "$T2040" || exit 1
P=$(port_of http)
GOOD=$(mint --now 2040-06-01T12:00:00Z --ttl 3600 --grant voice:incoming.allow=true --identity alice)
OLD=$(mint --now 2040-06-01T10:00:00Z --ttl 3600 --grant voice:incoming.allow=true --identity alice)
TODAY=$(mint --ttl 3600 --grant voice:incoming.allow=true --identity alice)
run2040() { # NAME CLIENT TOKEN [SHIM]
	local shim=${4:-$SHIM}
	RC=0
	# only the client gets the preloads (env execs it), not timeout
	CLOCK_SHIFT=$SHIFT TOKSHIM_SECRET=$SECRET TOKSHIM_LEVEL=info TOKSHIM_OUTPUT="json:$TMP/$1.json" \
		timeout 60 env LD_PRELOAD="$TMP/libclock_shift.so:$shim" "$2" "$P" "$3" >"$TMP/$1.out" 2>"$TMP/$1.err" || RC=$?
}
for c in client64 client; do
	run2040 "good_$c" "$TMP/$c" "$GOOD"
	check "$c, 2040: exit 0, the server accepted" bash -c "test $RC = 0 && grep -q '^reply: HTTP/1.1 200' '$TMP/good_$c.out'"
	check "$c, 2040: the token is not rejected" bash -c "! grep -q '\"reject\"' '$TMP/good_$c.json' 2>/dev/null"
	check "$c, 2040: nothing on stderr" test ! -s "$TMP/good_$c.err"
	run2040 "old_$c" "$TMP/$c" "$OLD"
	check "$c, 2040: sendmsg seen; a token expired at 11:00 in 2040 is rejected as expired then" \
		json_expect "$TMP/old_$c.json" 'd.get("event", "token") != "token" or ("expired" in ids and "2040-06-01T11:00:00Z" in json.dumps(d) and d["channel"] == "http" and d["connection"]["library"] == "libc")'
	run2040 "today_$c" "$TMP/$c" "$TODAY"
	check "$c, 2040: a token minted today is expired" json_expect "$TMP/today_$c.json" \
		'd.get("event", "token") != "token" or "expired" in ids'
done

if [ $bits32 = 1 ]; then
	# the same shim with a 32-bit time_t: after 2038 no clock to judge by
	MK=${MAKE:-make}
	if $MK --no-print-directory -C "$ROOT" B="$BUILD/time32" TIME64= "$BUILD/time32/libtokshim.so" >"$TMP/t32.log" 2>&1; then
		run2040 t32 "$TMP/client" "$OLD" "$BUILD/time32/libtokshim.so"
		check "time32 shim, 2040: exit 0, the server's reply read" bash -c "test $RC = 0 && grep -q '^reply: HTTP/1.1 401' '$TMP/t32.out'"
		check "time32 shim, 2040: steps aside (nothing reported, no garbage time)" test "$(json_count "$TMP/t32.json")" = 0
		check "time32 shim, 2040: nothing on stderr" test ! -s "$TMP/t32.err"
	else
		fail "cannot build the 32-bit-time shim"; cat "$TMP/t32.log"
	fi
fi
e2e_done
