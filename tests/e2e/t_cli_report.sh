#!/usr/bin/env bash
# `tokshim report`: summaries of JSON-lines logs made by `check --json`
# (the same objects the json: sink writes), bad lines, exit codes.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init --no-shim
cd "$ROOT" || exit 1
tmp=$TMP
T=$B/tokshim
[ -x "$T" ] || make --no-print-directory B="$B" "$B/tokshim" >/dev/null || { echo "cannot build $T"; exit 1; }


NOW=1795383600
SECRET=Zq7secretValueXYZ0123456789abcdE
KEY=SK0123456789abcdef0123456789abcdef
ACCT=AC0123456789abcdef0123456789abcdef

"$PY" - "$tmp" "$NOW" "$SECRET" "$KEY" "$ACCT" <<'EOF'
import json, sys
from jwt_sign import sign
tmp, now, secret, key, acct = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
def tok(claims, sec=secret):
    return sign(claims, sec)
def claims(ident, **kw):
    c = {"jti": "%s-%d" % (key, now), "iss": key, "sub": acct, "nbf": now - 600, "exp": now + 3000,
         "grants": {"identity": ident, "chat": {"service_sid": "IS" + "c" * 32}}}
    c.update(kw)
    return c
toks = {
    "good_alice": tok(claims("alice")),
    "good_bob": tok(claims("bob")),
    "expired_carol": tok(claims("carol", nbf=now - 9000, exp=now - 5520)),
    "badsig_alice": tok(claims("alice"), sec="x" * 32),
}
for k, v in toks.items():
    open("%s/%s" % (tmp, k), "w").write(v)
EOF

# a log: 2 x expired carol, badsig alice, good alice, good bob (at two times)
log=$tmp/log.json
for spec in expired_carol:$NOW expired_carol:$((NOW + 60)) badsig_alice:$((NOW + 120)) \
	good_alice:$((NOW - 60)) good_bob:$NOW; do
	"$T" check --now "${spec#*:}" --secret "$SECRET" --json <"$tmp/${spec%%:*}" >>"$log"
done
# lines that are not diagnoses, and blank ones
{
	echo 'this is not json'
	echo '{"foo": 1}'
	echo
	echo '[1,2,3]'
} >>"$log"
# a line as the shim's json: sink writes it, with a connection
echo '{"tokshim":1,"time":"2026-11-22T21:50:00Z","verdict":"reject","code":51215,"product":"sync","channel":"twilsock","message":"init","causes":[{"id":"grant_missing","severity":"error","twilio_code":20106,"text":"no data_sync grant","fix":"add a SyncGrant"}],"token":{"fingerprint":"sha256:00000000000000aa","identity":"dave \u001b[31m"},"connection":{"transport":"tls","library":"openssl","host":"tsock.us1.twilio.com","peer":"127.0.0.1:443","pid":7}}' >"$tmp/shim.json"

"$T" report "$log" "$tmp/shim.json" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 1 ] && ok || bad "report with rejects: exit $rc"
grep -q "^tokshim report: 6 diagnoses from 2 files, 3 bad lines skipped$" "$tmp/out" && ok || bad "header: $(head -1 "$tmp/out")"
grep -q "warning: $log:6: skipped: not JSON" "$tmp/err" && ok || bad "bad line warning: $(cat "$tmp/err")"
grep -q "warning: $log:7: skipped: no \"tokshim\" schema version" "$tmp/err" && ok || bad "line 7 warning"
grep -q "warning: $log:9: skipped: not a JSON object" "$tmp/err" && ok || bad "line 9 warning"
grep -q '^  verdicts    reject 4, accept 2$' "$tmp/out" && ok || bad "verdict counts: $(grep verdicts "$tmp/out")"
grep -q '^  codes       51215 4$' "$tmp/out" && ok || bad "codes"
grep -q '^  hosts       tsock.us1.twilio.com 1$' "$tmp/out" && ok || bad "hosts"
grep -q '^  tokens      5 distinct$' "$tmp/out" && ok || bad "tokens: $(grep tokens "$tmp/out")"
grep -q '^  time        2026-11-22T21:39:00Z .. 2026-11-22T21:50:00Z$' "$tmp/out" && ok || bad "time range"
grep -q '^       2  error expired \[20104\]$' "$tmp/out" && ok || bad "top cause: $(cat "$tmp/out")"
grep -q '^          e.g. expired 1h32m ago at ' "$tmp/out" && ok || bad "example text"
grep -q $'\033' "$tmp/out" && bad "a control character from the log reached the terminal" || ok

"$T" report --json "$log" "$tmp/shim.json" >"$tmp/out" 2>/dev/null
rc=$?
[ $rc = 1 ] && ok || bad "report --json: exit $rc"
if "$PY" - "$tmp/out" <<'EOF'; then ok; else bad "report --json fields: $(cat "$tmp/out")"; fi
import json, sys
text = open(sys.argv[1]).read()
assert text.count("\n") == 1
j = json.loads(text)
assert j["tokshim_report"] == 1 and j["files"] == 2 and j["diagnoses"] == 6 and j["bad_lines"] == 3, j
assert j["verdicts"] == {"reject": 4, "accept": 2}, j["verdicts"]
assert j["codes"] == {"51215": 4}
assert j["causes"]["expired"] == 2 and j["causes"]["signature"] == 1 and j["causes"]["grant_missing"] == 1
assert j["products"] == {"conversations": 5, "sync": 1}
assert j["channels"] == {"twilsock": 1}
assert j["hosts"] == {"tsock.us1.twilio.com": 1}
assert j["tokens"] == 5 and j["identities"] == 4
assert sorted(j["identity_list"]) == ["alice", "bob", "carol", "dave \x1b[31m"]
assert j["time"] == {"first": "2026-11-22T21:39:00Z", "last": "2026-11-22T21:50:00Z"}
top = j["top_causes"][0]
assert top["id"] == "expired" and top["count"] == 2 and top["twilio_code"] == 20104
assert top["severity"] == "error" and "1h32m ago" in top["example"] and top["fix"]
assert [c["count"] for c in j["top_causes"]] == sorted((c["count"] for c in j["top_causes"]), reverse=True)
EOF

# only accepts: exit 0; stdin; nothing at all
grep '"accept"' "$log" >"$tmp/accepts"
"$T" report "$tmp/accepts" >/dev/null 2>&1 && ok || bad "accepts only: exit $?"
"$T" report - <"$tmp/accepts" >"$tmp/out" 2>&1 && grep -q '2 diagnoses from 1 file$' "$tmp/out" && ok || bad "stdin"
: >"$tmp/emptylog"
"$T" report "$tmp/emptylog" >"$tmp/out" 2>&1 && grep -q '0 diagnoses' "$tmp/out" && ok || bad "empty log"
# bad lines never fail it
printf 'garbage\n{"tokshim":2,"verdict":"reject"}\n' >"$tmp/junk"
"$T" report "$tmp/junk" >/dev/null 2>"$tmp/err" && grep -q 'unknown schema version' "$tmp/err" && ok || bad "junk only: exit $?"
# many bad lines: ten warnings, then a count
for i in $(seq 1 25); do echo "junk $i"; done >"$tmp/junk25"
"$T" report "$tmp/junk25" >/dev/null 2>"$tmp/err"
[ "$(grep -c 'skipped: not JSON' "$tmp/err")" = 10 ] && grep -q '25 bad lines skipped in all' "$tmp/err" && ok || bad "warning cap: $(cat "$tmp/err")"

# unreadable file: 2, the others still summarised
"$T" report "$tmp/accepts" "$tmp/missing" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 2 ] && grep -q "cannot open '$tmp/missing'" "$tmp/err" && grep -q '2 diagnoses' "$tmp/out" && ok || bad "missing file: exit $rc"
"$T" report "$tmp" >/dev/null 2>&1
rc=$?
[ $rc = 2 ] && ok || bad "directory: exit $rc"
"$T" report >/dev/null 2>&1
[ $? = 2 ] && ok || bad "no file: usage error"
"$T" report --bogus "$log" >/dev/null 2>&1
[ $? = 2 ] && ok || bad "unknown option: usage error"
"$T" report --help | grep -q -- '--json' && ok || bad "report --help"

# a collector's syslog file: @cee: records under RFC 5424 and rsyslog's file
# formats, other syslog lines (counted, not warned), a line that is neither
rec=$("$T" check --now "$NOW" --secret "$SECRET" --json <"$tmp/expired_carol")
rec2=$("$T" check --now "$NOW" --secret "$SECRET" --json <"$tmp/badsig_alice")
{
	echo "<11>1 2026-11-22T21:40:00Z dev1 tokshim 42 - - @cee:$rec"
	echo "2026-11-22T21:40:01.000001+00:00 dev2 tokshim[43] @cee:$rec2"
	echo "Nov 22 21:40:02 dev1 tokshim[42]: verdict=reject code=51007 causes=expired"
	echo "Nov 22 21:40:03 dev1 sshd[7]: Accepted publickey for root"
	echo "Nov 22 21:40:04 dev1 tokshim[42]: @cee:{\"tokshim\":1}"
	echo "junk"
} >"$tmp/collector.log"
"$T" report --json "$tmp/collector.log" >"$tmp/out" 2>"$tmp/err"
"$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))
want = {"diagnoses": 2, "syslog_records": 2, "other_syslog_lines": 2, "bad_lines": 2, "tokens": 2}
got = {k: r[k] for k in want}
sys.exit(0 if got == want and r["causes"].get("expired") == 1 and r["causes"].get("signature") == 1 else "got %r" % got)' "$tmp/out" && ok || bad "collector syslog file: $(cat "$tmp/out")"
grep -q "collector.log:5: skipped: no \"verdict\"" "$tmp/err" && grep -q "collector.log:6: skipped: not JSON" "$tmp/err" && ok || bad "collector warnings: $(cat "$tmp/err")"
"$T" report "$tmp/collector.log" 2>/dev/null | grep -q "^tokshim report: 2 diagnoses from 1 file (2 from syslog @cee: lines), 2 bad lines skipped, 2 other syslog lines skipped$" && ok || bad "collector header: $("$T" report "$tmp/collector.log" 2>/dev/null | head -1)"

echo "t_cli_report: $pass passed, $fail failed"
[ "$fail" = 0 ]
