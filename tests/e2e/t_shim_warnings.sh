#!/usr/bin/env bash
# Configuration warnings are safe to print and few: control characters (ESC,
# CR, LF, BEL), C1 controls and bidi overrides in a TOKSHIM_* value are
# escaped, never echoed raw (no forged lines, no terminal title); each
# variable gives at most one warning line however many bad elements it has;
# a TOKSHIM_SECRETS_FILE / --secrets-file value that names no file is never
# echoed (probably a secret in the wrong variable); a secrets file owned by
# another user, or reached through a symbolic link, is refused.
. "$(dirname "$0")/lib.sh"
e2e_init
cc -O1 -o "$TMP/hello" "$ROOT/tests/e2e/hostile/hello.c" || { fail "build hello"; e2e_done; exit; }
ESC=$'\033' CR=$'\r' LF=$'\n' BEL=$'\a' C1=$'\xc2\x9b' RLO=$'\xe2\x80\xae' LS=$'\xe2\x80\xa8'
EVIL="x${ESC}]0;pwned${BEL}${CR}${LF}tokshim[1]: REJECT forged${C1}31m${RLO}gpj.exe${LS}end"

raw_free() { # FILE: none of the raw bytes, and the line count given
	! grep -qaF "$ESC" "$1" && ! grep -qaF "$CR" "$1" && ! grep -qaF "$BEL" "$1" && ! grep -qaF "$C1" "$1" &&
		! grep -qaF "$RLO" "$1" && ! grep -qaF "$LS" "$1" && ! grep -qa '^tokshim\[1\]: REJECT forged' "$1"
}
lines() { grep -ac '^tokshim' "$1"; } # hello itself writes one line to stderr

for var in TOKSHIM_OUTPUT TOKSHIM_SKEW TOKSHIM_LEVEL TOKSHIM_HOSTS TOKSHIM_HOOKS TOKSHIM_DISABLE TOKSHIM_ACCOUNT_SID; do
	env "$var=$EVIL" LD_PRELOAD="$SHIM" "$TMP/hello" >"$TMP/o" 2>"$TMP/e"
	check "$var: the program's output untouched" grep -qx hello "$TMP/o"
	check "$var: one warning line" test "$(lines "$TMP/e")" = 1
	check "$var: no raw control, C1, bidi or separator character" raw_free "$TMP/e"
done
check "TOKSHIM_OUTPUT: ESC shown escaped" grep -qF 'x\x1b]0;pwned\x07\x0d\x0atokshim[1]' <(env TOKSHIM_OUTPUT="$EVIL" LD_PRELOAD="$SHIM" "$TMP/hello" 2>&1 >/dev/null)
check "TOKSHIM_OUTPUT: bidi override and U+2028 shown escaped" grep -qF '\u202egpj.exe\u2028end' <(env TOKSHIM_OUTPUT="$EVIL" LD_PRELOAD="$SHIM" "$TMP/hello" 2>&1 >/dev/null)

# 100 bad sinks: one line that counts them
BAD100=$(for i in $(seq 100); do printf 'bogus%d,' "$i"; done)
TOKSHIM_OUTPUT="stderr,$BAD100" LD_PRELOAD="$SHIM" "$TMP/hello" >"$TMP/o" 2>"$TMP/e"
check "100 bad sinks: one warning line" test "$(lines "$TMP/e")" = 1
check "100 bad sinks: counted" grep -q 'TOKSHIM_OUTPUT: 100 entries ignored, the first: unknown sink .bogus1. ' "$TMP/e"
# many bad TOKSHIM_HOOKS descriptions: one line
TOKSHIM_HOOKS="a:b(;c:d(;e:f(;g:h(" LD_PRELOAD="$SHIM" "$TMP/hello" >"$TMP/o" 2>"$TMP/e"
check "4 bad hook descriptions: one warning line" test "$(lines "$TMP/e")" = 1

# a secret in the secrets-file variable: never echoed
LEAK=hunter2-$SECRET
TOKSHIM_SECRETS_FILE=$LEAK LD_PRELOAD="$SHIM" "$TMP/hello" >"$TMP/o" 2>"$TMP/e"
check "TOKSHIM_SECRETS_FILE not a file: warned" grep -q 'TOKSHIM_SECRETS_FILE.*no such file' "$TMP/e"
check "TOKSHIM_SECRETS_FILE not a file: value not echoed" bash -c "! grep -qF -- '$LEAK' '$TMP/e'"
TOK=$(mint)
TOKSHIM_SECRETS_FILE=$LEAK "$TOKSHIM" check "$TOK" >"$TMP/o" 2>"$TMP/e"
check "check, TOKSHIM_SECRETS_FILE not a file: value not echoed" bash -c "grep -q 'no such file' '$TMP/e' && ! grep -qF -- '$LEAK' '$TMP/e'"
"$TOKSHIM" check --secrets-file "$LEAK" "$TOK" >"$TMP/o" 2>"$TMP/e"
check "check --secrets-file not a file: exit 2, value not echoed" bash -c "test $? = 2 && grep -q 'no such file' '$TMP/e' && ! grep -qF -- '$LEAK' '$TMP/e'"
"$TOKSHIM" run --secrets-file "$LEAK" -- "$TMP/hello" >"$TMP/o" 2>"$TMP/e"
check "run --secrets-file not a file: value not echoed" bash -c "grep -q 'no such file' '$TMP/e' && ! grep -qF -- '$LEAK' '$TMP/e'"

# secrets files: owner and symbolic links
printf '%s %s\n' "$KEY" "$SECRET" >"$TMP/secrets"
chmod 600 "$TMP/secrets"
ln -s "$TMP/secrets" "$TMP/secrets.link"
TOKSHIM_SECRETS_FILE=$TMP/secrets.link LD_PRELOAD="$SHIM" "$TMP/hello" >"$TMP/o" 2>"$TMP/e"
check "secrets file through a symlink: refused" grep -q "TOKSHIM_SECRETS_FILE.*symbolic link" "$TMP/e"
"$TOKSHIM" check --secrets-file "$TMP/secrets.link" "$TOK" >"$TMP/o" 2>"$TMP/e"
check "check --secrets-file through a symlink: refused (exit 2)" test $? = 2
if [ "$(id -u)" = 0 ]; then
	cp "$TMP/secrets" "$TMP/secrets.other" && chown 65534 "$TMP/secrets.other"
	TOKSHIM_SECRETS_FILE=$TMP/secrets.other LD_PRELOAD="$SHIM" "$TMP/hello" >"$TMP/o" 2>"$TMP/e"
	check "secrets file owned by another user: refused" grep -q "owned by uid 65534" "$TMP/e"
	"$TOKSHIM" check --secrets-file "$TMP/secrets.other" "$TOK" >"$TMP/o" 2>"$TMP/e"
	check "check --secrets-file owned by another user: refused (exit 2)" test $? = 2
fi
# the CLI escapes what it echoes too
"$TOKSHIM" check --product "$EVIL" "$TOK" >"$TMP/o" 2>"$TMP/e"
check "check --product EVIL: escaped" raw_free "$TMP/e"
e2e_done
