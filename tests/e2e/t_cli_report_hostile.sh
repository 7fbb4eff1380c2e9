#!/usr/bin/env bash
# tokshim report against hostile logs: memory is bounded per line (a 300 MB
# line under `ulimit -v` is skipped and counted, not a silent "0 diagnoses"),
# /dev/zero ends as an error (exit 2) instead of eating memory, a read error
# exits 2, and what a log says reaches the terminal escaped (C0, C1, bidi
# overrides and isolates, U+2028/9), cut at character boundaries.
. "$(dirname "$0")/lib.sh"
e2e_init
TOK=$(mint --now -7200 --ttl 3600)
printf '%s\n' "$TOK" | "$TOKSHIM" check --json - >"$TMP/one.jsonl"
check "a diagnosis line" test "$(json_count "$TMP/one.jsonl")" = 1

# a 300 MB line between two good ones, under a 200 MB address-space limit
{ cat "$TMP/one.jsonl"; head -c 300000000 /dev/zero | tr '\0' 'a'; echo; cat "$TMP/one.jsonl"; } >"$TMP/long.jsonl"
(ulimit -v 200000; timeout 60 "$TOKSHIM" report "$TMP/long.jsonl" >"$TMP/o" 2>"$TMP/e"; echo $? >"$TMP/rc")
check "long line: both diagnoses counted (exit 1: rejects)" bash -c "test \$(cat '$TMP/rc') = 1 && grep -q '^tokshim report: 2 diagnoses from 1 file, 1 bad line skipped (1 too long)' '$TMP/o'"
check "long line: said on stderr" grep -q 'long.jsonl:2: skipped: longer than' "$TMP/e"
(ulimit -v 200000; timeout 60 "$TOKSHIM" report --json "$TMP/long.jsonl" >"$TMP/oj" 2>/dev/null)
check "long line: --json counts it" "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d['diagnoses']==2 and d['long_lines']==1 and d['bad_lines']==1))" "$TMP/oj"
rm -f "$TMP/long.jsonl"

# /dev/zero: an endless line is an error, in bounded memory and time
(ulimit -v 200000; timeout 60 "$TOKSHIM" report /dev/zero >"$TMP/o" 2>"$TMP/e"; echo $? >"$TMP/rc")
check "/dev/zero: exit 2 (not killed, not 0)" test "$(cat "$TMP/rc")" = 2
check "/dev/zero: said why" grep -q "cannot read '/dev/zero': line 1 goes on for more than" "$TMP/e"
# a read error (a directory) exits 2
timeout 20 "$TOKSHIM" report "$TMP" >"$TMP/o" 2>"$TMP/e"
check "read error: exit 2" test $? = 2

# escaping: a log line whose texts carry terminal controls and bidi overrides
"$PY" - "$TMP/one.jsonl" "$TMP/evil.jsonl" <<'PYEOF'
import json, sys
d = json.loads(open(sys.argv[1]).readline())
evil = "a\x1b]0;t\x07\x9b31m\u202egpj.exe\u2066x\u2069\u2028\u2029" + "\u00e9" * 200
d["token"]["identity"] = evil
d["causes"][0]["text"] = evil
d["causes"][0]["fix"] = evil
d["connection"] = {"host": evil}
open(sys.argv[2], "w").write(json.dumps(d) + "\n")
PYEOF
"$TOKSHIM" report "$TMP/evil.jsonl" >"$TMP/o" 2>&1
"$TOKSHIM" report --json "$TMP/evil.jsonl" >"$TMP/oj" 2>&1
for f in "$TMP/o" "$TMP/oj"; do
	check "$(basename "$f"): no raw ESC, BEL, C1, bidi or separator" "$PY" -c "
import sys
b = open(sys.argv[1], 'rb').read()
bad = [x for x in (b'\x1b', b'\x07', '\x9b'.encode(), '\u202e'.encode(), '\u2066'.encode(), '\u2069'.encode(), '\u2028'.encode(), '\u2029'.encode()) if x in b]
b.decode('utf-8')  # cut at character boundaries: still valid UTF-8
sys.exit(1 if bad else 0)" "$f"
done
check "text: escapes shown" grep -qF 'a\x1b]0;t\x07\x9b31m\u202egpj.exe\u2066x\u2069\u2028\u2029' "$TMP/o"
e2e_done
