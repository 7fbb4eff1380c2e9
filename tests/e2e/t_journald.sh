#!/usr/bin/env bash
# syslog:cee into a real systemd-journald, run in a private mount namespace
# (tmpfs over /run and /var/log: the machine's own logs, sockets and journal
# are not touched): curl under `tokshim run --output syslog:cee`, TOKSHIM_SYSLOG_PATH=journald's
# syslog socket. The journal entry's SYSLOG_IDENTIFIER is tokshim and its
# MESSAGE is "@cee:" and the whole record (what journald shippers pass on),
# and `tokshim report` reads journalctl's short-iso output. Needs root
# (unshare -m, mount).
. "$(dirname "$0")/lib.sh"
e2e_init
JD=/lib/systemd/systemd-journald
[ -x "$JD" ] || { echo "FAIL: $JD missing (systemd)"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "FAIL: t_journald needs root (unshare -m, mount)"; exit 1; }
e2e_certs || { echo "FAIL: certificate"; exit 1; }
start_server --https 0 || exit 1
P=$(port_of https)
BAD=$(mint --grant voice:incoming.allow=true --identity alice --now -7200 --ttl 3600)
cat >"$TMP/inner.sh" <<'INNER'
set -u
mount -t tmpfs tokshim-e2e /run && mount -t tmpfs tokshim-e2e /var/log || { echo "mount failed"; exit 1; }
"$JD" >"$TMP/journald.log" 2>&1 &
J=$!
for _ in $(seq 1 100); do [ -S /run/systemd/journal/dev-log ] && break; sleep 0.1; done
[ -S /run/systemd/journal/dev-log ] || { echo "journald did not start"; kill $J; exit 1; }
RC=0
timeout 60 env TOKSHIM_SYSLOG_PATH=/run/systemd/journal/dev-log \
	"$TOKSHIM" run --secret "$SECRET" --output syslog:cee -- curl -sS --max-time 20 --cacert "$CERT_DIR/ca.pem" -H "X-Twilio-Token: $BAD" "https://localhost:$P/" \
	>"$TMP/curl.out" 2>"$TMP/curl.err" || RC=$?
echo "$RC" >"$TMP/curl.rc"
for _ in $(seq 1 50); do
	journalctl -D /run/log/journal -t tokshim -o json --no-pager >"$TMP/journal.json" 2>/dev/null
	[ -s "$TMP/journal.json" ] && break
	sleep 0.1
done
journalctl -D /run/log/journal -t tokshim -o short-iso --no-pager >"$TMP/journal.txt" 2>/dev/null
kill $J
wait $J
INNER
export JD TOKSHIM SECRET CERT_DIR BAD P TMP
timeout 60 unshare -m bash "$TMP/inner.sh" >"$TMP/inner.out" 2>&1 || { echo "FAIL: journald run:"; cat "$TMP/inner.out" "$TMP/journald.log" 2>/dev/null; exit 1; }
check "journald: curl exit 0" test "$(cat "$TMP/curl.rc")" = 0
check "journald: nothing on stderr (syslog:cee only)" test ! -s "$TMP/curl.err"
check "journald: one token entry, identifier tokshim, priority err, MESSAGE @cee: + the record" "$PY" - "$TMP/journal.json" <<'PY'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
# the token record; the server's answer comes as a second entry
tokens = [e for e in entries if e.get("MESSAGE", "").startswith("@cee:")
          and json.loads(e["MESSAGE"][5:]).get("event", "token") == "token"]
if len(tokens) != 1:
    print("  %d token entries of %d" % (len(tokens), len(entries))); sys.exit(1)
e = tokens[0]
msg = e.get("MESSAGE", "")
if e.get("SYSLOG_IDENTIFIER") != "tokshim" or e.get("PRIORITY") != "3" or not msg.startswith("@cee:"):
    print("  entry: %r" % {k: e.get(k) for k in ("SYSLOG_IDENTIFIER", "PRIORITY", "MESSAGE")}); sys.exit(1)
d = json.loads(msg[5:])
ids = [c["id"] for c in d["causes"]]
if d["code"] != 51007 or "expired" not in ids or d["token"]["identity"] != "alice":
    print("  record: %s" % msg[:300]); sys.exit(1)
PY
# (journald adds the process's own _CMDLINE, where curl has the token: only
# what tokshim wrote is checked)
"$PY" -c 'import json,sys; [print(json.loads(l).get("MESSAGE", "")) for l in open(sys.argv[1]) if l.strip()]' \
	"$TMP/journal.json" >"$TMP/messages"
check "journald: no signature, token or secret in tokshim's message" no_secret_in "$TMP/messages" "$BAD"
"$TOKSHIM" report --json "$TMP/journal.txt" >"$TMP/report.json" 2>"$TMP/report.err"
check "journald: tokshim report reads journalctl's output (1 token record, its answer, 0 bad)" "$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))
ok = r["diagnoses"] == 1 and r["answers"]["total"] == 1 and r["syslog_records"] == 2 and r["bad_lines"] == 0
sys.exit(0 if ok else "report: %r" % r)' "$TMP/report.json"
e2e_done
