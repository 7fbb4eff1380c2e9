#!/usr/bin/env bash
# `tokshim run`: options mapped onto TOKSHIM_*, LD_PRELOAD prepended, the
# library found beside the executable or in ../lib/tokshim/, exit codes.
# The preloaded library here is a stand-in built by this script (an empty
# shared object), so the test depends on the command only, not on the shim.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init --no-shim
cd "$ROOT" || exit 1
tmp=$TMP
CC=${CC:-cc}
T=$B/tokshim
[ -x "$T" ] || make --no-print-directory B="$B" "$B/tokshim" >/dev/null || { echo "cannot build $T"; exit 1; }


SECRET=Zq7secretValueXYZ0123456789abcdE
ACCT=AC0123456789abcdef0123456789abcdef

echo 'int tokshim_stand_in;' >"$tmp/empty.c"
mkdir -p "$tmp/beside" "$tmp/prefix/bin" "$tmp/prefix/lib/tokshim" "$tmp/alone"
"$CC" -shared -fPIC -o "$tmp/beside/libtokshim.so" "$tmp/empty.c" || { echo "cannot build a stand-in library"; exit 1; }
cp "$tmp/beside/libtokshim.so" "$tmp/prefix/lib/tokshim/libtokshim.so"
cp "$tmp/beside/libtokshim.so" "$tmp/other.so"
for d in beside prefix/bin alone; do cp "$T" "$tmp/$d/tokshim"; done
lib=$tmp/beside/libtokshim.so
R=$tmp/beside/tokshim

# env_of VAR: its value in $tmp/env (the output of `env`)
env_of() { sed -n "s/^$1=//p" "$tmp/env"; }

# no options: LD_PRELOAD is the library, no TOKSHIM_* appears
env -u LD_PRELOAD "$R" run -- env >"$tmp/env" 2>"$tmp/err"
rc=$?
[ $rc = 0 ] && ok || bad "run -- env: exit $rc $(cat "$tmp/err")"
[ "$(env_of LD_PRELOAD)" = "$lib" ] && ok || bad "LD_PRELOAD '$(env_of LD_PRELOAD)', want '$lib'"
grep -q '^TOKSHIM_' "$tmp/env" && bad "TOKSHIM_ variables without options: $(grep '^TOKSHIM_' "$tmp/env")" || ok
[ -s "$tmp/err" ] && bad "run printed something: $(cat "$tmp/err")" || ok

# every option onto its variable (and without "--")
printf 'SK0123456789abcdef0123456789abcdef %s\n' "$SECRET" >"$tmp/keys"
chmod 600 "$tmp/keys"
env -u LD_PRELOAD "$R" run --output "stderr,json:$tmp/log.json" --secret "$SECRET" --secrets-file "$tmp/keys" \
	--account "$ACCT" --skew 5 --level=info --hosts 'chat.example.com:8443=conversations' \
	--hooks 'libfoo.so:foo_write' --disable env >"$tmp/env" 2>"$tmp/err"
rc=$?
[ $rc = 0 ] && ok || bad "run with options: exit $rc $(cat "$tmp/err")"
for pair in "TOKSHIM_OUTPUT=stderr,json:$tmp/log.json" "TOKSHIM_SECRET=$SECRET" "TOKSHIM_SECRETS_FILE=$tmp/keys" \
	"TOKSHIM_ACCOUNT_SID=$ACCT" "TOKSHIM_SKEW=5" "TOKSHIM_LEVEL=info" \
	"TOKSHIM_HOSTS=chat.example.com:8443=conversations" "TOKSHIM_HOOKS=libfoo.so:foo_write" "TOKSHIM_DISABLE=1"; do
	[ "$(env_of "${pair%%=*}")" = "${pair#*=}" ] && ok || bad "${pair%%=*}: '$(env_of "${pair%%=*}")', want '${pair#*=}'"
done
# options override the inherited environment
TOKSHIM_LEVEL=error env -u LD_PRELOAD "$R" run --level warning -- env >"$tmp/env"
[ "$(env_of TOKSHIM_LEVEL)" = warning ] && ok || bad "option overrides the environment"
TOKSHIM_LEVEL=error env -u LD_PRELOAD "$R" run -- env >"$tmp/env"
[ "$(env_of TOKSHIM_LEVEL)" = error ] && ok || bad "environment kept without the option"

# prepended to an existing LD_PRELOAD, not added twice
LD_PRELOAD=$tmp/other.so "$R" run -- env >"$tmp/env" 2>/dev/null
[ "$(env_of LD_PRELOAD)" = "$lib:$tmp/other.so" ] && ok || bad "prepend: '$(env_of LD_PRELOAD)'"
LD_PRELOAD="$tmp/other.so $lib" "$R" run -- env >"$tmp/env" 2>/dev/null
[ "$(env_of LD_PRELOAD)" = "$tmp/other.so $lib" ] && ok || bad "already there: '$(env_of LD_PRELOAD)'"

# installed layout: bin/tokshim finds ../lib/tokshim/libtokshim.so, through a symlink too
env -u LD_PRELOAD "$tmp/prefix/bin/tokshim" run -- env >"$tmp/env"
[ "$(env_of LD_PRELOAD)" = "$tmp/prefix/lib/tokshim/libtokshim.so" ] && ok || bad "installed layout: '$(env_of LD_PRELOAD)'"
ln -s "$tmp/prefix/bin/tokshim" "$tmp/link"
env -u LD_PRELOAD "$tmp/link" run -- env >"$tmp/env"
[ "$(env_of LD_PRELOAD)" = "$tmp/prefix/lib/tokshim/libtokshim.so" ] && ok || bad "through a symlink: '$(env_of LD_PRELOAD)'"
"$tmp/alone/tokshim" run -- true 2>"$tmp/err"
rc=$?
[ $rc = 2 ] && grep -q "cannot find 'libtokshim.so'" "$tmp/err" && ok || bad "no library: exit $rc $(cat "$tmp/err")"

# exit status: the command's; 127 not found; 126 not runnable
"$R" run -- sh -c 'exit 7'
rc=$?
[ $rc = 7 ] && ok || bad "command's status: $rc"
"$R" run -- "$tmp/no-such-command" 2>"$tmp/err"
rc=$?
[ $rc = 127 ] && grep -q "cannot run '$tmp/no-such-command'" "$tmp/err" && ok || bad "missing command: exit $rc"
"$R" run -- no-such-command-in-path-xyz 2>/dev/null
[ $? = 127 ] && ok || bad "missing command in PATH"
"$R" run -- "$tmp/keys" 2>/dev/null
rc=$?
[ $rc = 126 ] && ok || bad "not executable: exit $rc"
# arguments are passed through untouched, options after CMD belong to CMD
"$R" run -- printf '%s|' a '--level' 'b c' >"$tmp/out"
[ "$(cat "$tmp/out")" = "a|--level|b c|" ] && ok || bad "arguments: $(cat "$tmp/out")"

# usage errors: 2, and never the secret in a message
for args in "" "--" "--level loud -- true" "--skew x -- true" "--bogus -- true" "--account ACnope -- true" \
	"--output files -- true" "--output json: -- true" "--secret" "--hosts =nohost -- true"; do
	# shellcheck disable=SC2086
	"$R" run $args >/dev/null 2>"$tmp/err"
	rc=$?
	[ $rc = 2 ] && [ -s "$tmp/err" ] && ok || bad "usage error '$args': exit $rc"
done
chmod 644 "$tmp/keys"
"$R" run --secrets-file "$tmp/keys" -- true 2>"$tmp/err"
rc=$?
[ $rc = 2 ] && grep -q 'mode 0644' "$tmp/err" && ok || bad "secrets file mode: exit $rc"
"$R" run --secret "$SECRET" --level loud -- true >"$tmp/out" 2>&1
grep -qF "$SECRET" "$tmp/out" && bad "secret in an error message" || ok
"$R" run --help | grep -q -- '--secrets-file' && ok || bad "run --help"

echo "t_cli_run: $pass passed, $fail failed"
[ "$fail" = 0 ]
