#!/usr/bin/env bash
# `make demo` (examples/demo.sh): exits 0 within a minute, leaves no process
# behind, shows each case with the server's own answer, and, when the shim
# works in this build, each case's expected cause id is in the JSON log.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init --no-shim
cd "$ROOT" || exit 1
tmp=$TMP
MAKE=${MAKE:-make}
fail() { echo "t_demo: FAIL: $*" >&2; exit 1; }

$MAKE --no-print-directory B="$B" examples >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; fail "make examples"; }

DIR=$tmp/demo
start=$(date +%s)
B=$B DEMO_DIR=$DIR timeout 60 bash examples/demo.sh >"$tmp/out" 2>"$tmp/err"
rc=$?
elapsed=$(($(date +%s) - start))
cat "$tmp/out"
[ "$rc" = 0 ] || { cat "$tmp/err" >&2; fail "demo exited $rc (124: took over 60 s)"; }
[ "$elapsed" -le 60 ] || fail "demo took ${elapsed}s"

# nothing left running: no server, no client started with this demo's files
sleep 0.2
left=$(pgrep -f -- "$DIR" || true)
[ -z "$left" ] || fail "processes left running: $(ps -o pid=,args= -p "$(echo $left | tr ' ' ,)")"

# each case, with the server's answer
want=(
	"expired token (Voice)|\"code\": 31205"
	"wrong secret (Conversations)|\"errorCode\":20107"
	"no chat grant (Conversations)|\"errorCode\":20106"
	"Messaging Service SID instead of the Conversations Service SID|\"errorCode\":51104"
	"token wrapped in JSON (Conversations)|\"errorCode\":20101"
	"Video with an API key from another region|\"code\": 20103"
	"update for another identity (Conversations)|\"errorCode\":51215"
	"token not yet valid (HTTPS, X-Twilio-Token)|401 Unauthorized {\"code\": 20105"
	"a good token (Conversations)|\"code\":200"
)
for w in "${want[@]}"; do
	title=${w%%|*}
	answer=${w#*|}
	# the block of this case: from its header to the next blank line
	block=$(awk -v h="== $title ==" '$0 == h {on = 1} on && /^$/ {exit} on' "$tmp/out")
	[ -n "$block" ] || fail "no case '$title'"
	grep -q '^shim said:' <<<"$block" || fail "'$title': no 'shim said:'"
	grep -A100 '^server said:' <<<"$block" | grep -qF -- "$answer" || fail "'$title': server's answer lacks $answer"
done
grep -q '== tokshim report' "$tmp/out" || fail "no report section"

# no secret and no whole token in what the demo printed
grep -Eq 'eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}' "$tmp/out" "$tmp/err" &&
	fail "a whole token was printed"

if grep -q 'the clients run without the shim' "$tmp/out"; then
	echo "t_demo: ok (tokshim run not available in this build: shim diagnoses not checked)"
	exit 0
fi

[ -s "$DIR/diagnoses.jsonl" ] || fail "the shim ran but logged nothing"
# with the shim: each case's cause id in its lines of the log, the good one accepted
LOG=$DIR/diagnoses.jsonl CASES=$DIR/cases.tsv "${PYTHON:-/usr/bin/python3}" - <<'EOF' || fail "JSON log checks"
import json, os, sys
lines = open(os.environ["LOG"]).read().splitlines()
recs = [json.loads(l) for l in lines]
want = {1: "expired", 2: "signature", 3: "grant_missing", 4: "grant_field_invalid",
        5: "wrong_format", 6: "region", 7: "update_mismatch", 8: "not_yet_valid", 9: None}
bad = []
for row in open(os.environ["CASES"]):
    n, first, last, title = row.rstrip("\n").split("\t", 3)
    n, first, last = int(n), int(first), int(last)
    mine = recs[first - 1:last]
    ids = {c["id"] for r in mine for c in r.get("causes", [])}
    if want[n] is None:
        if any(r.get("verdict") == "reject" for r in mine):
            bad.append("%s: rejected: %s" % (title, sorted(ids)))
    elif want[n] not in ids:
        bad.append("%s: want cause %s, got %s" % (title, want[n], sorted(ids) or "no diagnosis"))
    elif not any(r.get("verdict") == "reject" for r in mine):
        bad.append("%s: no reject verdict" % title)
for b in bad:
    print("t_demo: FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
echo "t_demo: ok"
