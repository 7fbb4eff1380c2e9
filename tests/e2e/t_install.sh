#!/usr/bin/env bash
# `make install DESTDIR=... PREFIX=/usr` puts the tool, the library and the
# man page where SPEC.md says; the installed `tokshim run` finds the
# installed library (../lib/tokshim/ from the executable), which loads into a
# real client (curl, HTTPS, X-Twilio-Token) and reports; `make uninstall`
# removes what install put there.
. "$(dirname "$0")/lib.sh"
e2e_init
MK=${MAKE:-make}
DEST=$TMP/dest
PFX=/usr
BIN=$DEST$PFX/bin/tokshim
LIB=$DEST$PFX/lib/tokshim/libtokshim.so
MANP=$DEST$PFX/share/man/man1/tokshim.1

# ---- install ---------------------------------------------------------------
if ! (cd "$ROOT" && $MK --no-print-directory B="$B" install DESTDIR="$DEST" PREFIX="$PFX") >"$TMP/install.log" 2>&1; then
	echo "FAIL: make install DESTDIR=$DEST PREFIX=$PFX:"
	cat "$TMP/install.log"
	exit 1
fi
check "install: $PFX/bin/tokshim is an executable" test -f "$BIN" -a -x "$BIN"
check "install: $PFX/lib/tokshim/libtokshim.so is there" test -f "$LIB"
check "install: the library is the one built" cmp -s "$LIB" "$BUILD/libtokshim.so"
check "install: $PFX/share/man/man1/tokshim.1 is the page" cmp -s "$MANP" "$ROOT/man/tokshim.1"
if command -v man >/dev/null; then
	check "install: the installed page renders" bash -c 'MANWIDTH=80 man -l "$1" 2>/dev/null | grep -q "tokshim run"' _ "$MANP"
fi
check "install: installed tokshim --version" bash -c '"$1" --version | grep -q "^tokshim "' _ "$BIN"

# ---- the installed run finds the installed library ---------------------------
# the lookup tries beside the executable, then ../lib/tokshim/ from it: the
# build directory's copy must not be the one found
want=$(realpath "$LIB")
RC=0
timeout 30 "$BIN" run -- /bin/sh -c 'printf "%s\n" "$LD_PRELOAD"; grep -F libtokshim.so /proc/self/maps | head -n 1' \
	>"$TMP/env.out" 2>"$TMP/env.err" || RC=$?
check "run: exit 0" test "$RC" = 0
check "run: LD_PRELOAD names the installed library first" bash -c '
	first=$(head -n 1 "$1" | cut -d: -f1)
	[ "$first" = "$2" ] || { echo "  LD_PRELOAD starts with '\''$first'\'', want '\''$2'\''"; exit 1; }' _ "$TMP/env.out" "$want"
check "run: the installed library is mapped into the child" grep -qF "$want" "$TMP/env.out"
check "run: no warning on stderr" test ! -s "$TMP/env.err"

# ---- and it reports on a real client -----------------------------------------
e2e_certs || { echo "FAIL: certificate"; exit 1; }
start_server --https 0 || exit 1
P=$(port_of https)
URL=https://localhost:$P/v1/Insights
BAD=$(mint --grant voice:incoming.allow=true --now -7200 --ttl 3600)
RC=0
timeout 60 "$BIN" run --secret "$SECRET" --output "stderr,json:$TMP/diag.jsonl" -- \
	curl -sS --max-time 20 --cacert "$CERT_DIR/ca.pem" -H "X-Twilio-Token: $BAD" "$URL" \
	>"$TMP/curl.out" 2>"$TMP/curl.err" || RC=$?
check "run curl: exit 0" test "$RC" = 0
check "run curl: the server answered (20104)" grep -q '20104' "$TMP/curl.out"
check "run curl: stderr report names 51007 and expired" bash -c 'grep -q "^tokshim\[[0-9]*\]: REJECT 51007" "$1" && grep -q "expired" "$1"' _ "$TMP/curl.err"
check "run curl: json line with code 51007, channel http, cause expired, peer" json_expect "$TMP/diag.jsonl" \
	'd["code"] == 51007 and d["channel"] == "http" and "expired" in ids and d["connection"]["library"] == "openssl" and d["connection"]["peer"] == "127.0.0.1:'"$P"'"'
check "run curl: exactly one json line" test "$(json_count "$TMP/diag.jsonl")" = 1
check "run curl: no signature, token or secret in the json line" no_secret_in "$TMP/diag.jsonl" "$BAD"
check "run curl: no signature, token or secret on stderr" no_secret_in "$TMP/curl.err" "$BAD"
RC=0
"$BIN" report "$TMP/diag.jsonl" >"$TMP/report.out" 2>&1 || RC=$?
check "installed report: exit 1 (a reject)" test "$RC" = 1
check "installed report: counts the diagnosis" grep -q '1 diagnos' "$TMP/report.out"

# ---- uninstall -----------------------------------------------------------------
if ! (cd "$ROOT" && $MK --no-print-directory B="$B" uninstall DESTDIR="$DEST" PREFIX="$PFX") >"$TMP/uninstall.log" 2>&1; then
	fail "make uninstall DESTDIR=$DEST PREFIX=$PFX: $(cat "$TMP/uninstall.log")"
fi
check "uninstall: tokshim removed" test ! -e "$BIN"
check "uninstall: libtokshim.so and its directory removed" test ! -e "$DEST$PFX/lib/tokshim"
check "uninstall: man page removed" test ! -e "$MANP"
check "uninstall: no file left under DESTDIR" bash -c '
	left=$(find "$1" ! -type d)
	[ -z "$left" ] || { echo "  left: $left"; exit 1; }' _ "$DEST"
e2e_done
