#!/usr/bin/env bash
# The syslog sink against a real rsyslogd started here with its own config:
# on /dev/log (the sink's default) when no syslog daemon owns it, else on a
# private socket named by TOKSHIM_SYSLOG_PATH.
. "$(dirname "$0")/lib.sh"
e2e_init
RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
[ -x "$RSYSLOGD" ] || { echo "FAIL: rsyslogd missing (rsyslog)"; exit 1; }
e2e_certs || { echo "FAIL: certificate"; exit 1; }
start_server --https 0 || exit 1
P=$(port_of https)

if [ ! -e /dev/log ] && [ -w /dev ]; then
	SOCK=/dev/log
	OWN_DEVLOG=1
else
	SOCK=$TMP/log.sock
	export TOKSHIM_SYSLOG_PATH=$SOCK
fi
mkdir -p "$TMP/rs"
cat >"$TMP/rsyslog.conf" <<CONF
global(workDirectory="$TMP/rs")
module(load="imuxsock" SysSock.Name="$SOCK" SysSock.RateLimit.Interval="0")
template(name="e2e" type="string" string="%syslogtag% %syslogfacility-text%.%syslogseverity-text% %msg%\n")
*.* action(type="omfile" file="$TMP/syslog.out" template="e2e")
CONF
"$RSYSLOGD" -n -f "$TMP/rsyslog.conf" -i "$TMP/rs/pid" >"$TMP/rs.log" 2>&1 &
RS=$!
PIDS+=($RS)
cleanup_devlog() { [ -n "${OWN_DEVLOG:-}" ] && rm -f /dev/log; }
trap 'cleanup_devlog; e2e_cleanup' EXIT
wait_for 10 test -S "$SOCK" || { echo "FAIL: rsyslogd did not create $SOCK"; cat "$TMP/rs.log"; exit 1; }

BAD=$(mint --grant voice:incoming.allow=true --now -7200 --ttl 3600)
TOKSHIM_OUTPUT=syslog shim_run "$TMP/o" "$TMP/e" -- curl -sS --max-time 20 --cacert "$CERT_DIR/ca.pem" -H "X-Twilio-Token: $BAD" "https://localhost:$P/"
check "syslog: curl exit 0" test "$RC" = 0
check "syslog: nothing on stderr (syslog only)" test ! -s "$TMP/e"
check "syslog: rsyslogd got the diagnosis" wait_for 10 grep -q 'tokshim\[[0-9]*\]:.*51007' "$TMP/syslog.out"
check "syslog: user.err, with the cause id" grep -q 'user\.err.*expired' "$TMP/syslog.out"
check "syslog: no signature, token or secret" no_secret_in "$TMP/syslog.out" "$BAD"
check "syslog: one diagnosis line" test "$(grep tokshim "$TMP/syslog.out" | grep -vc 'event=answer')" = 1
check "syslog: and the server's answer, as predicted" grep -q 'event=answer server=reject status=401 code=20104 predicted=reject agrees=yes' "$TMP/syslog.out"
kill "$RS"
e2e_done
