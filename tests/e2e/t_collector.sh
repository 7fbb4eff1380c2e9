#!/usr/bin/env bash
# A fleet's collector path with real rsyslogd instances, the README's
# configurations (examples/rsyslog/*.conf, only host, ports and paths
# replaced): a device rsyslogd (imuxsock on a private socket, forwarding
# tokshim's records over RELP with a disk-assisted queue, device.conf, and
# over plain TCP, forward-tcp.conf) and a collector rsyslogd (imrelp, imtcp,
# mmjsonparse, collector.conf), each with its own config, work directory and
# pid file, on 127.0.0.1 ports picked free. 8 device processes (curl under
# the shim, TOKSHIM_OUTPUT=syslog:cee) each send 200 distinct expired tokens
# over HTTP keep-alive to the local server; the collector is restarted in
# the middle. Then `tokshim report` on the collector's files: over RELP
# every record arrives once, none malformed; over TCP the loss is measured
# and printed; mmjsonparse's JSON lines are read back whole.
# COLLECTOR_PROCS / COLLECTOR_TOKENS / COLLECTOR_RATE change the load (the
# soak, make collector-soak); COLLECTOR_SPILL=1 shrinks the device's
# in-memory queues to 200 records, so that the outage goes through their
# disk part: then RELP must still lose nothing, and a record that arrives
# twice is counted, not failed (rsyslog's queues deliver at least once).
. "$(dirname "$0")/lib.sh"
e2e_init
RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
[ -x "$RSYSLOGD" ] || { echo "FAIL: rsyslogd missing (rsyslog)"; exit 1; }
for m in imrelp omrelp mmjsonparse imtcp; do
	ls /usr/lib/*/rsyslog/$m.so >/dev/null 2>&1 || { echo "FAIL: rsyslog module $m missing (rsyslog-relp, rsyslog)"; exit 1; }
done
# the README quotes each configuration verbatim, as a fenced block
for f in device.conf forward-tcp.conf collector.conf; do
	check "README quotes examples/rsyslog/$f verbatim" "$PY" - "$ROOT/README.md" "$ROOT/examples/rsyslog/$f" <<'PY'
import re, sys
readme, conf = open(sys.argv[1]).read(), open(sys.argv[2]).read()
blocks = re.findall(r"^```\n(.*?)^```$", readme, re.S | re.M)
sys.exit(0 if conf in blocks else 1)
PY
done
NPROC=${COLLECTOR_PROCS:-8}
NTOK=${COLLECTOR_TOKENS:-200}
RATE=${COLLECTOR_RATE:-50}
TOTAL=$((NPROC * NTOK))
CONF=$ROOT/examples/rsyslog

RELP_PORT=$(free_port)
TCP_PORT=$(free_port)
while [ "$TCP_PORT" = "$RELP_PORT" ]; do TCP_PORT=$(free_port); done
DEV=$TMP/device COL=$TMP/collector
mkdir -p "$DEV/spool" "$COL/spool" "$COL/out"
SOCK=$DEV/log.sock

# the tested files themselves; only where they point changes
place() {
	sed -e "s|collector\.example\.net|127.0.0.1|g" \
		-e "s|port=\"2514\"|port=\"$RELP_PORT\"|g" -e "s|port=\"10514\"|port=\"$TCP_PORT\"|g" \
		-e "s|/var/spool/rsyslog|$2/spool|g" -e "s|/dev/log|$SOCK|g" -e "s|/var/log/tokshim|$COL/out|g" \
		-e "s|\(input(type=\"im[a-z]*\"\)|\1 address=\"127.0.0.1\"|" "$1"
}
SPILL=${COLLECTOR_SPILL:-0}
qsize() { if [ "$SPILL" = 1 ]; then sed 's|queue.size="10000"|queue.size="200"|'; else cat; fi; }
place "$CONF/device.conf" "$DEV" | qsize >"$DEV/rsyslog.conf"
place "$CONF/forward-tcp.conf" "$DEV" | qsize >>"$DEV/rsyslog.conf"
# the test's tap (not part of the configuration): what the device's rsyslogd
# received, to compare the collector's files with. The shim never blocks its
# host: a record it could not write into a full /dev/log (a busy rsyslogd)
# is dropped at the source, counted, and noted in a later message.
cat >>"$DEV/rsyslog.conf" <<TAP
if \$programname == "tokshim" then action(type="omfile" file="$DEV/received.log" template="RSYSLOG_FileFormat")
TAP
place "$CONF/collector.conf" "$COL" >"$COL/rsyslog.conf"
for f in "$DEV/rsyslog.conf" "$COL/rsyslog.conf"; do
	if grep -qE 'example\.net|/var/|/dev/log|"2514"|"10514"' "$f"; then
		echo "FAIL: $f still points at the machine's paths or ports:"; grep -nE 'example\.net|/var/|/dev/log|"2514"|"10514"' "$f"; exit 1
	fi
done

# rsyslogd -n in the background; $1 the instance directory
start_rsyslogd() {
	rm -f "$1/pid"
	"$RSYSLOGD" -n -f "$1/rsyslog.conf" -i "$1/pid" >>"$1/rsyslogd.log" 2>&1 &
	echo $!
}
stop_pid() {
	kill "$1" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
	return 1
}
COL_PID=$(start_rsyslogd "$COL")
PIDS+=("$COL_PID")
wait_port "$RELP_PORT" 10 && wait_port "$TCP_PORT" 10 || { echo "FAIL: collector did not listen"; cat "$COL/rsyslogd.log"; exit 1; }
DEV_PID=$(start_rsyslogd "$DEV")
PIDS+=("$DEV_PID")
wait_for 10 test -S "$SOCK" || { echo "FAIL: device rsyslogd did not create $SOCK"; cat "$DEV/rsyslogd.log"; exit 1; }

e2e_certs || { echo "FAIL: certificate"; exit 1; }
start_server --http 0 || exit 1
HP=$(port_of http)

# NPROC x NTOK distinct expired tokens (a fixed offset from now: exp an hour ago),
# one curl config per process: keep-alive requests, one token each
"$PY" - "$TMP" "$NPROC" "$NTOK" "$SECRET" "$KEY" "$ACCOUNT" "$HP" <<'PY'
import sys, time
from jwt_sign import sign
tmp, nproc, ntok, secret, key, account, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
now = int(time.time())
for p in range(nproc):
    with open("%s/curl-%d.cfg" % (tmp, p), "w") as f:
        for t in range(ntok):
            claims = {"jti": "%s-%d-%d" % (key, p, t), "iss": key, "sub": account, "iat": now - 7200,
                      "exp": now - 3600, "grants": {"identity": "dev%d-%d" % (p, t), "voice": {"incoming": {"allow": True}}}}
            if t:
                f.write("next\n")
            f.write('url = "http://127.0.0.1:%s/v1/Insights"\nheader = "X-Twilio-Token: %s"\noutput = "/dev/null"\nsilent\n'
                    % (port, sign(claims, secret)))
PY

# the device processes: curl under the shim, records to the device's syslog
# (syslog:cee) and, as the count of what the shim reported, to a json file
CLIENTS=()
for p in $(seq 0 $((NPROC - 1))); do
	TOKSHIM_SYSLOG_PATH=$SOCK TOKSHIM_OUTPUT="syslog:cee,json:$TMP/shim-$p.jsonl" \
		shim_run "$TMP/curl-$p.out" "$TMP/curl-$p.err" -- curl --rate "$RATE/s" -K "$TMP/curl-$p.cfg" &
	CLIENTS+=($!)
done
PIDS+=("${CLIENTS[@]}")
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
# the restart, in the middle: a third of the records in
wait_for 60 bash -c '[ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ]' _ "$COL/out/relp.log" $((TOTAL / 3)) ||
	fail "restart: the collector never got a third of the records ($(lines "$COL/out/relp.log"))"
at_stop=$(($(lines "$COL/out/relp.log") / 2))
stop_pid "$COL_PID" || fail "restart: the collector did not stop on SIGTERM"
sleep 1.5
COL_PID=$(start_rsyslogd "$COL")
PIDS+=("$COL_PID")
wait_port "$RELP_PORT" 10 || fail "restart: the collector did not listen again"
crc=0
for c in "${CLIENTS[@]}"; do wait "$c" || crc=$?; done
check "clients: every curl exited 0" test "$crc" = 0
shim_total=0
shim_answers=0
for p in $(seq 0 $((NPROC - 1))); do
	shim_total=$((shim_total + $(json_count "$TMP/shim-$p.jsonl")))
	shim_answers=$((shim_answers + $(grep -c '"event":"answer"' "$TMP/shim-$p.jsonl" || true)))
done
check "clients: the shim reported all $TOTAL tokens ($shim_total)" test "$shim_total" = "$TOTAL"
# the server's 401s: an answer record each (TOKSHIM_READ's default), shipped too
check "clients: and the server's $TOTAL answers ($shim_answers)" test "$shim_answers" = "$TOTAL"
check "restart: it came in the middle (at $at_stop of $TOTAL over RELP)" test "$at_stop" -lt "$TOTAL"
# RELP: every record the device received, bounded wait while the queue drains
sleep 1
wait_for 60 bash -c '[ "$(wc -l <"$1")" -ge "$(wc -l <"$2")" ]' _ "$COL/out/relp.log" "$DEV/received.log"
# TCP: settled (no new line for 3 s)
prev=-1
for _ in $(seq 1 40); do
	cur=$(lines "$COL/out/tcp.log")
	[ "$cur" = "$prev" ] && break
	prev=$cur
	sleep 3
done
stop_pid "$DEV_PID"
stop_pid "$COL_PID"

# ---- what the collector has, through tokshim report ---------------------------------
rep() { "$TOKSHIM" report --json "$1" 2>"$TMP/rep.err"; }
field() { "$PY" -c 'import json,sys; d = json.load(sys.stdin); print(d["answers"]["total"] if sys.argv[1] == "answers" else d[sys.argv[1]])' "$1"; }
rep "$DEV/received.log" >"$TMP/received.json"
d_diag=$(field diagnoses <"$TMP/received.json") d_ans=$(field answers <"$TMP/received.json")
d_recs=$((d_diag + d_ans))
echo "measured: the device's rsyslogd received $d_recs of $((2 * TOTAL)) records; the shim dropped $((2 * TOTAL - d_recs)) at the full local socket (never blocking its host)"
check "device: received nearly all ($d_recs of $((2 * TOTAL)); at most 10% dropped at the socket)" test $((d_recs * 10)) -ge $((2 * TOTAL * 9))
rep "$COL/out/relp.log" >"$TMP/relp.json"
r_diag=$(field diagnoses <"$TMP/relp.json") r_bad=$(field bad_lines <"$TMP/relp.json")
r_tok=$(field tokens <"$TMP/relp.json") r_sys=$(field syslog_records <"$TMP/relp.json")
r_ans=$(field answers <"$TMP/relp.json")
# the records themselves, compared as sets (the JSON after the cookie)
recs() { sed -n 's/^.* @cee://p' "$1" | LC_ALL=C sort -u; }
recs "$DEV/received.log" >"$TMP/received.set"
recs "$COL/out/relp.log" >"$TMP/relp.set"
check "relp: every record the device received arrived ($(wc -l <"$TMP/relp.set") of $(wc -l <"$TMP/received.set"))" cmp -s "$TMP/received.set" "$TMP/relp.set"
if [ "$SPILL" = 1 ]; then
	echo "measured: RELP through the disk queue delivered $((r_diag + r_ans - d_recs)) record(s) twice"
else
	check "relp: each once ($r_diag + $r_ans = $d_diag + $d_ans)" test "$r_diag" = "$d_diag" -a "$r_ans" = "$d_ans"
fi
check "relp: all from @cee: syslog lines ($r_sys = $r_diag + $r_ans)" test "$r_sys" = $((r_diag + r_ans))
check "relp: none malformed ($r_bad bad lines)" test "$r_bad" = 0
check "relp: every record a reject with cause expired" bash -c '"$1" report "$2" | grep -q "expired"; [ $? = 0 ]' _ "$TOKSHIM" "$COL/out/relp.log"
rep "$COL/out/tcp.log" >"$TMP/tcp.json"
t_diag=$(field diagnoses <"$TMP/tcp.json") t_bad=$(field bad_lines <"$TMP/tcp.json")
t_ans=$(field answers <"$TMP/tcp.json")
check "tcp: none malformed ($t_bad bad lines)" test "$t_bad" = 0
recs "$COL/out/tcp.log" >"$TMP/tcp.set"
check "tcp: only records the device received" bash -c '[ -z "$(LC_ALL=C comm -13 "$1" "$2")" ]' _ "$TMP/received.set" "$TMP/tcp.set"
[ "$SPILL" = 1 ] || check "tcp: no record twice ($t_diag + $t_ans records, $(wc -l <"$TMP/tcp.set") distinct)" test $((t_diag + t_ans)) = "$(wc -l <"$TMP/tcp.set")"
check "tcp: some records arrived ($t_diag)" test "$t_diag" -gt 0
echo "measured: of the $d_recs records the device received, plain TCP lost $((d_recs - $(wc -l <"$TMP/tcp.set"))) over the collector's restart; RELP lost $((d_recs - $(wc -l <"$TMP/relp.set")))"
rep "$COL/out/records.jsonl" >"$TMP/jsonl.json"
j_diag=$(field diagnoses <"$TMP/jsonl.json") j_bad=$(field bad_lines <"$TMP/jsonl.json")
j_ans=$(field answers <"$TMP/jsonl.json")
check "mmjsonparse: every @cee: record parsed ($j_diag + $j_ans = $r_diag + $t_diag + $r_ans + $t_ans)" test $((j_diag + j_ans)) = $((r_diag + t_diag + r_ans + t_ans))
check "mmjsonparse: its JSON lines read back whole ($j_bad bad)" test "$j_bad" = 0
check "no token, signature or secret reached the collector" bash -c '! grep -qF "$1" "$2"/*' _ "$SECRET" "$COL/out"
e2e_done
