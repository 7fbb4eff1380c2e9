#!/usr/bin/env bash
# The Debian packages on this machine: `make deb` builds tokshim and
# libtokshim (amd64, or the machine's architecture; lintian-checked), dpkg -i
# installs them, the installed `tokshim run` finds the library in the
# multiarch path and diagnoses an example client (twilsock_client, an expired
# token) against the local Twilio-like server, and dpkg --purge removes
# everything: the file lists of the directories a package can touch are the
# same before and after. Needs root (dpkg); runs serialised with other
# worktrees' runs of this script (flock), and never touches a tokshim package
# it did not install.
. "$(dirname "$0")/lib.sh"
e2e_init
MK=${MAKE:-make}
ARCH=$(dpkg --print-architecture)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
LIBDIR=/usr/lib/$MA/tokshim
[ "$(id -u)" = 0 ] || { echo "FAIL: t_deb needs root (dpkg -i)"; exit 1; }

# ---- build -------------------------------------------------------------------
# built once, lean: binary only, no tests inside the package build (make test
# runs them), no debug-symbol packages
if ! (cd "$ROOT" && DEB_BUILD_OPTIONS=noddebs $MK --no-print-directory B="$B" DEB_CHECK=nocheck deb examples) >"$TMP/deb.log" 2>&1; then
	echo "FAIL: make deb:"
	tail -n 40 "$TMP/deb.log"
	exit 1
fi
DEBS=("$BUILD/deb/$ARCH/tokshim_"*"_$ARCH.deb" "$BUILD/deb/$ARCH/libtokshim_"*"_$ARCH.deb")
check "deb: two packages built" test -f "${DEBS[0]}" -a -f "${DEBS[1]}"
check "deb: lintian passed (make deb runs it)" grep -q "lintian --fail-on error,warning" "$TMP/deb.log"
dpkg -c "${DEBS[0]}" >"$TMP/tokshim.list"
dpkg -c "${DEBS[1]}" >"$TMP/libtokshim.list"
check "deb: libtokshim holds the library in $LIBDIR" grep -q " \.$LIBDIR/libtokshim\.so$" "$TMP/libtokshim.list"
check "deb: tokshim holds the command and the man page" bash -c 'grep -q " \./usr/bin/tokshim$" "$1" && grep -q "man1/tokshim\.1\.gz$" "$1"' _ "$TMP/tokshim.list"
check "deb: tokshim depends on libtokshim of its version" bash -c 'dpkg-deb -f "$1" Depends | grep -q "libtokshim (= $(dpkg-deb -f "$1" Version))"' _ "${DEBS[0]}"
check "deb: the working tree is clean of build output" bash -c 'cd "$1" && [ ! -e debian/tmp ] && [ ! -e debian/files ] && [ ! -e debian/.debhelper ]' _ "$ROOT"

# ---- install, one run at a time on this machine ---------------------------------
exec 9>/tmp/tokshim-t_deb.lock
flock -w 300 9 || { echo "FAIL: another t_deb holds /tmp/tokshim-t_deb.lock"; exit 1; }
for p in tokshim libtokshim; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
		echo "FAIL: package $p is installed already (not ours: remove it to run this test)"
		exit 1
	fi
done
# what a package may add to: the file names (not contents: other programs write there)
snapshot() {
	find /usr/bin /usr/lib/"$MA" /usr/share/man/man1 /usr/share/doc /usr/lib/tokshim /etc /var/lib/dpkg/info \
		-xdev 2>/dev/null | LC_ALL=C sort
}
snapshot >"$TMP/before"
purge() { dpkg --purge tokshim libtokshim >>"$TMP/purge.log" 2>&1; }
trap 'purge; e2e_cleanup' EXIT

if ! dpkg -i "${DEBS[@]}" >"$TMP/install.log" 2>&1; then
	echo "FAIL: dpkg -i:"
	cat "$TMP/install.log"
	exit 1
fi
check "dpkg: both installed" bash -c 'dpkg-query -W -f="\${Status}\n" tokshim libtokshim | grep -c "install ok installed" | grep -qx 2'
check "dpkg: /usr/bin/tokshim --version" bash -c '/usr/bin/tokshim --version | grep -q "^tokshim "'
check "dpkg: $LIBDIR/libtokshim.so" test -f "$LIBDIR/libtokshim.so"
check "dpkg: man page" test -f /usr/share/man/man1/tokshim.1.gz

# ---- the installed run: the multiarch library, a diagnosis ---------------------------
RC=0
timeout 30 /usr/bin/tokshim run -- /bin/sh -c 'printf "%s\n" "$LD_PRELOAD"; grep -F libtokshim.so /proc/self/maps | head -n 1' \
	>"$TMP/env.out" 2>"$TMP/env.err" || RC=$?
check "run: exit 0" test "$RC" = 0
check "run: LD_PRELOAD is $LIBDIR/libtokshim.so" test "$(head -n 1 "$TMP/env.out")" = "$LIBDIR/libtokshim.so"
check "run: that library is mapped into the child" grep -qF "$LIBDIR/libtokshim.so" "$TMP/env.out"

e2e_certs || { echo "FAIL: certificate"; exit 1; }
start_server --twilsock 0 || exit 1
P=$(port_of twilsock)
SVC=IS0123456789abcdef0123456789abcdef
BAD=$(mint --grant chat:service_sid=$SVC --identity alice --now -7200 --ttl 3600)
RC=0
timeout 60 /usr/bin/tokshim run --secret "$SECRET" --output "stderr,json:$TMP/diag.jsonl" -- \
	"$BUILD/examples/twilsock_client" --port "$P" --cafile "$CERT_DIR/ca.pem" "$BAD" \
	>"$TMP/client.out" 2>"$TMP/client.err" || RC=$?
check "run twilsock_client: refused by the server (exit 1)" test "$RC" = 1
check "run twilsock_client: stderr names 51215 and expired" bash -c 'grep -q "^tokshim\[[0-9]*\]: REJECT 51215" "$1" && grep -q expired "$1"' _ "$TMP/client.err"
check "run twilsock_client: json record: twilsock init, expired, identity alice" json_expect "$TMP/diag.jsonl" \
	'd["code"] == 51215 and d["channel"] == "twilsock" and d["message"] == "init" and "expired" in ids and d["token"]["identity"] == "alice"'
check "run twilsock_client: no signature, token or secret" no_secret_in "$TMP/client.err" "$BAD"

# ---- purge: nothing left ----------------------------------------------------------
purge
trap e2e_cleanup EXIT
check "purge: neither package known to dpkg" bash -c '! dpkg-query -W tokshim libtokshim >/dev/null 2>&1'
snapshot >"$TMP/after"
if diff "$TMP/before" "$TMP/after" >"$TMP/left"; then
	ok
	echo "ok: purge: the file lists before and after are the same"
else
	fail "purge: file lists differ:"
	head -n 20 "$TMP/left"
fi
check "purge: $LIBDIR gone" test ! -e "$LIBDIR"
e2e_done
