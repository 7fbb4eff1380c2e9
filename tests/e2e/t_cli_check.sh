#!/usr/bin/env bash
# `tokshim check` round trips: exit codes, --json fields, input handling,
# colour, and that secrets never reach the output. Tokens are signed here
# with python's hmac at a fixed time (--now), never today's date.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init --no-shim
cd "$ROOT" || exit 1
tmp=$TMP
T=$B/tokshim
[ -x "$T" ] || make --no-print-directory B="$B" "$B/tokshim" >/dev/null || { echo "cannot build $T"; exit 1; }


NOW=1795383600 # 2026-11-22T21:40:00Z
SECRET=Zq7secretValueXYZ0123456789abcdE
OTHER=Wrong0secretValue0123456789abcdE
KEY=SK0123456789abcdef0123456789abcdef
ACCT=AC0123456789abcdef0123456789abcdef

# tokens: name -> file in $tmp
"$PY" - "$tmp" "$NOW" "$SECRET" "$OTHER" "$KEY" "$ACCT" <<'EOF'
import json, sys, urllib.parse
from jwt_sign import sign
tmp, now, secret, other, key, acct = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
def tok(claims, sec=secret, header=None):
    return sign(claims, sec, header)
def claims(**kw):
    c = {"jti": "%s-%d" % (key, now - 600), "iss": key, "sub": acct, "nbf": now - 600, "exp": now + 3000,
         "grants": {"identity": "alice", "chat": {"service_sid": "IS" + "c" * 32}}}
    c.update(kw)
    return c
good = tok(claims())
out = {
    "good": good,
    "expired": tok(claims(nbf=now - 9000, exp=now - 5520)),
    "badsig": tok(claims(), sec=other),
    "malformed": "eyJhbGciOi.not-base64!.x",
    "wrapped": json.dumps({"identity": "alice", "token": good}),
    "bearer": "Bearer " + good,
    "urlenc": urllib.parse.quote(good + "=", safe=""),
    "notatoken": "hello, world",
    "voice_nogrant": tok(claims(grants={"identity": "bob"})),
}
for k, v in out.items():
    open("%s/%s" % (tmp, k), "w").write(v + "\n")
EOF

# run NAME EXPECTED_RC ARGS... : check with the token file on stdin
run() {
	local name=$1 want=$2
	shift 2
	"$T" check "$@" <"$tmp/$name" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	cat "$tmp/out" "$tmp/err" >>"$tmp/all"
	if [ "$rc" = "$want" ]; then ok; else bad "check $name $*: exit $rc, want $want"; sed 's/^/  | /' "$tmp/out" "$tmp/err"; fi
}

# jcheck PYTHON_EXPR : evaluated with j = the JSON in $tmp/out
jcheck() {
	if "$PY" -c '
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert len(lines) == 2 and lines[1] == "", "not exactly one line"
j = json.loads(lines[0])
ids = [c["id"] for c in j["causes"]]
cause = {c["id"]: c for c in j["causes"]}
assert eval(sys.argv[2]), sys.argv[2]
' "$tmp/out" "$1" 2>"$tmp/pyerr"; then ok; else bad "json: $1"; sed 's/^/  | /' "$tmp/pyerr" "$tmp/out"; fi
}

: >"$tmp/all"

# good token, with and without its secret
run good 0 --now $NOW --secret "$SECRET" --json
jcheck 'j["tokshim"] == 1 and j["verdict"] == "accept" and j["code"] is None'
jcheck 'j["time"] == "2026-11-22T21:40:00Z" and j["product"] == "conversations"'
jcheck '"channel" not in j and "message" not in j and "connection" not in j'
jcheck 'j["token"]["identity"] == "alice" and j["token"]["grants"] == ["chat"] and j["token"]["exp"] == 1795386600'
jcheck 'j["token"]["fingerprint"].startswith("sha256:") and len(j["token"]["fingerprint"]) == 23'
jcheck 'all(k in ("fingerprint","jti","iss","sub","identity","iat","nbf","exp","grants","region") for k in j["token"])'
jcheck '[c for c in j["causes"] if c["severity"] == "error"] == []'
run good 0 --now 2026-11-22T21:40:00Z --json
jcheck '"signature_unchecked" in ids and cause["signature_unchecked"]["severity"] == "info"'
run good 0 --now $NOW
grep -q '^ACCEPT' "$tmp/out" && ok || bad "text verdict ACCEPT: $(head -1 "$tmp/out")"

# expired: 51215 (chat grant: Conversations), 20104, the text says when
run expired 1 --now $NOW --secret "$SECRET" --json
jcheck 'j["verdict"] == "reject" and j["code"] == 51215 and ids == ["expired"]'
jcheck 'cause["expired"]["twilio_code"] == 20104 and "1h32m ago" in cause["expired"]["text"] and cause["expired"]["fix"]'
run expired 1 --now $NOW --secret "$SECRET"
grep -q '^REJECT 51215 (Twilsock: Unauthorized): 1 error' "$tmp/out" && ok || bad "text verdict line: $(head -1 "$tmp/out")"
grep -q '^  error expired \[20104\]: expired 1h32m ago at 2026-11-22T20:08:00Z$' "$tmp/out" && ok || bad "text cause line"
grep -q '^    fix: ' "$tmp/out" && ok || bad "text fix line"
# the skew moves the verdict; the product moves the code
run expired 0 --now $((NOW - 5520 + 20)) --skew 30
run expired 1 --now $((NOW - 5520 + 40)) --skew 30
TOKSHIM_SKEW=60 run expired 0 --now $((NOW - 5520 + 40))
run voice_nogrant 1 --now $NOW --product voice --json
jcheck 'j["code"] == 51007 and j["product"] == "voice" and "grant_missing" in ids'

# wrong secret, from the option, the environment, a secrets file
run badsig 1 --now $NOW --secret "$SECRET" --json
jcheck 'ids == ["signature"] and cause["signature"]["twilio_code"] == 20107'
TOKSHIM_SECRET=$SECRET run badsig 1 --now $NOW
printf '# keys\n%s %s\n' "$KEY" "$SECRET" >"$tmp/keys"
chmod 600 "$tmp/keys"
run good 0 --now $NOW --secrets-file "$tmp/keys" --json
jcheck '"signature_unchecked" not in ids'
run badsig 1 --now $NOW --secrets-file "$tmp/keys" --json
jcheck 'ids == ["signature"]'
chmod 644 "$tmp/keys"
run good 2 --now $NOW --secrets-file "$tmp/keys"
grep -q "refusing '$tmp/keys': mode 0644" "$tmp/err" && ok || bad "secrets file mode message: $(cat "$tmp/err")"
TOKSHIM_SECRETS_FILE=$tmp/keys run badsig 0 --now $NOW --json
grep -q "warning: TOKSHIM_SECRETS_FILE: refusing" "$tmp/err" && ok || bad "env secrets file warning"
jcheck '"signature_unchecked" in ids'
run good 2 --now $NOW --secrets-file "$tmp/nonexistent"

# account
run good 0 --now $NOW --account "$ACCT"
run good 1 --now $NOW --account AC99999999999999999999999999999999 --json
jcheck '"account_mismatch" in ids'
TOKSHIM_ACCOUNT_SID=AC99999999999999999999999999999999 run good 1 --now $NOW

# not tokens, wrapped tokens
run malformed 1 --now $NOW --json
jcheck 'j["verdict"] == "reject" and "malformed" in ids'
run wrapped 1 --now $NOW --json
jcheck '"wrong_format" in ids and j["token"]["identity"] == "alice"'
run bearer 1 --now $NOW --json
jcheck '"wrong_format" in ids'
run urlenc 1 --now $NOW --json
jcheck '"wrong_format" in ids'
run notatoken 1 --now $NOW --json
jcheck 'j["verdict"] == "reject" and j["causes"]'
printf '' >"$tmp/empty"
run empty 1 --now $NOW --json
jcheck 'j["verdict"] == "reject"'

# input: argument, "-", CRLF, two newlines, unreadable, too large
good=$(cat "$tmp/good")
"$T" check --now $NOW "$good" >/dev/null 2>&1 && ok || bad "token as argument"
"$T" check --now $NOW -- "$good" >/dev/null 2>&1 && ok || bad "token after --"
"$T" check --now $NOW - <"$tmp/good" >/dev/null 2>&1 && ok || bad "token from -"
printf '%s\r\n' "$good" | "$T" check --now $NOW >/dev/null 2>&1 && ok || bad "CRLF stripped"
printf '%s\n\n' "$good" >"$tmp/twonl"
run twonl 1 --now $NOW --json
jcheck '"wrong_format" in ids'
"$T" check --now $NOW <"$tmp" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 2 ] && grep -q 'cannot read standard input' "$tmp/err" && ok || bad "directory on stdin: exit $rc $(cat "$tmp/err")"
head -c 2000000 /dev/zero | tr '\0' a >"$tmp/huge"
run huge 2 --now $NOW
grep -q 'too large' "$tmp/err" && ok || bad "too large message"

# usage errors
for args in "--bogus" "--skew abc" "--skew -1" "--now yesterday" "--product chat" "--account ACxyz" \
	"--secret" "--host h" "a b"; do
	# shellcheck disable=SC2086
	"$T" check $args </dev/null >/dev/null 2>"$tmp/err"
	rc=$?
	[ $rc = 2 ] && [ -s "$tmp/err" ] && ok || bad "usage error '$args': exit $rc"
done
"$T" check --help >"$tmp/out" && grep -q -- '--secrets-file' "$tmp/out" && ok || bad "check --help"

# secrets never in any output, even in error messages
"$T" check --secret "$SECRET" --bogus </dev/null >>"$tmp/all" 2>&1
"$T" check --secret="$SECRET" --skew x </dev/null >>"$tmp/all" 2>&1
TOKSHIM_SECRET=$SECRET "$T" check --now $NOW --json <"$tmp/badsig" >>"$tmp/all" 2>&1
if grep -qF -e "$SECRET" -e "$OTHER" "$tmp/all"; then bad "a secret appeared in the output"; else ok; fi
# nor the signature of a token
sig=${good##*.}
if grep -qF -- "$sig" "$tmp/all"; then bad "a token signature appeared in the output"; else ok; fi

# colour: never when piped, never with NO_COLOR, yes on a terminal
"$T" check --now $NOW <"$tmp/expired" >"$tmp/out" 2>&1
grep -q $'\033' "$tmp/out" && bad "colour in piped output" || ok
if command -v script >/dev/null; then
	script -qec "$T check --now $NOW $(cat "$tmp/expired")" /dev/null >"$tmp/tty" 2>&1
	grep -q $'\033\\[' "$tmp/tty" && ok || bad "no colour on a terminal"
	NO_COLOR=1 script -qec "$T check --now $NOW $(cat "$tmp/expired")" /dev/null >"$tmp/tty" 2>&1
	grep -q $'\033\\[' "$tmp/tty" && bad "colour with NO_COLOR" || ok
	grep -q 'REJECT 51215' "$tmp/tty" && ok || bad "terminal output: $(cat "$tmp/tty")"
fi

echo "t_cli_check: $pass passed, $fail failed"
[ "$fail" = 0 ]
