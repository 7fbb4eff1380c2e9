#!/usr/bin/env bash
# curl (Debian's: OpenSSL 3, SSL_write, its own BIO so SSL_get_fd is -1)
# sending X-Twilio-Token over HTTPS to a local Twilio-like server.
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_certs || { echo "FAIL: certificate"; exit 1; }
start_server --https 0 --reply-delay 1 || exit 1
P=$(port_of https)
URL=https://localhost:$P/v1/Insights
GOOD=$(mint --grant voice:incoming.allow=true --identity alice)
BAD=$("$TOKSHIM" mint --secret not-the-secret --key "$KEY" --account "$ACCOUNT" --grant voice:incoming.allow=true)
curl_cmd() { curl -sS --max-time 20 --cacert "$CERT_DIR/ca.pem" -H "X-Twilio-Token: $1" "$URL"; }

# bad signature: one report, before the client has the reply
export TOKSHIM_OUTPUT="stderr,json:$TMP/bad.json"
shim_run "$TMP/both.1" "$TMP/both.1" -- bash -c "$(declare -f curl_cmd); URL=$URL CERT_DIR=$CERT_DIR; curl_cmd '$BAD'"
check "curl bad: exit 0" test "$RC" = 0
check "curl bad: json code 51007, channel http, cause signature" json_expect "$TMP/bad.json" \
	'd["code"] == 51007 and d["channel"] == "http" and d["message"] == "header" and "signature" in ids and d["connection"]["library"] == "openssl" and d["connection"]["transport"] == "tls" and d["connection"]["host"] == "localhost" and d["connection"]["peer"] == "127.0.0.1:'"$P"'"'
check "curl bad: exactly one json line" test "$(json_count "$TMP/bad.json")" = 1
check "curl bad: stderr report written before curl printed the reply" report_before '"more_info"' "$TMP/both.1"
check "curl bad: no signature, token or secret in the json sink" no_secret_in "$TMP/bad.json" "$BAD"
check "curl bad: no signature, token or secret on stderr" no_secret_in "$TMP/both.1" "$BAD"

# the same under strace: the real syscalls happen, and the report's write(2)
# comes after the request went out and before any reply byte is read
unset TOKSHIM_OUTPUT
if command -v strace >/dev/null; then
	RC=0
	TOKSHIM_SECRET=$SECRET timeout 60 strace -f -tt -s 40 -o "$TMP/strace" -E LD_PRELOAD="$SHIM" \
		-e trace=connect,sendto,sendmsg,write,writev,recvfrom,recvmsg,read \
		curl -sS --max-time 20 --cacert "$CERT_DIR/ca.pem" -H "X-Twilio-Token: $BAD" "$URL" >"$TMP/st.out" 2>"$TMP/st.err" || RC=$?
	check "strace: curl still exits 0" test "$RC" = 0
	check "strace: request sent, then report, then reply read" "$PY" - "$TMP/strace" "$P" <<'PYEOF'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
port = sys.argv[2]
fd = None
for l in lines:
    m = re.search(r'connect\((\d+), \{sa_family=AF_INET, sin_port=htons\(%s\)' % port, l)
    if m:
        fd = m.group(1)
if fd is None:
    print("  no connect to the server port"); sys.exit(1)
rep = next((i for i, l in enumerate(lines) if re.search(r'write\(2, "tokshim\[', l)), None)
if rep is None:
    print("  no write(2, \"tokshim[...\") in the trace"); sys.exit(1)
def on_fd(l, calls):
    return re.search(r'\b(%s)\(%s,' % ("|".join(calls), fd), l)
def ret(l):
    m = re.search(r'= (-?\d+)', l)
    return int(m.group(1)) if m else -1
sends = [i for i, l in enumerate(lines[:rep]) if on_fd(l, ["sendto", "sendmsg", "write", "writev"]) and ret(l) > 0]
if not sends:
    print("  no real send on the socket before the report"); sys.exit(1)
between = [l for l in lines[sends[-1]:rep] if on_fd(l, ["recvfrom", "recvmsg", "read"]) and ret(l) > 0]
if between:
    print("  data read between the request and the report: %s" % between[0]); sys.exit(1)
after = [l for l in lines[rep:] if on_fd(l, ["recvfrom", "recvmsg", "read"]) and ret(l) > 0]
if not after:
    print("  no reply read after the report"); sys.exit(1)
PYEOF
fi

# good token: nothing printed at the default level
shim_run "$TMP/g.out" "$TMP/g.err" -- bash -c "$(declare -f curl_cmd); URL=$URL CERT_DIR=$CERT_DIR; curl_cmd '$GOOD'"
check "curl good: exit 0" test "$RC" = 0
check "curl good: nothing on stderr" test ! -s "$TMP/g.err"
check "curl good: server answered ok" grep -q '"status": "ok"' "$TMP/g.out"

# client output and status identical without the shim (stderr: minus the report)
for t in GOOD BAD; do
	tok=${!t}
	plain_run "$TMP/p.out" "$TMP/p.err" -- bash -c "$(declare -f curl_cmd); URL=$URL CERT_DIR=$CERT_DIR; curl_cmd '$tok'"
	prc=$RC
	shim_run "$TMP/s.out" "$TMP/s.err" -- bash -c "$(declare -f curl_cmd); URL=$URL CERT_DIR=$CERT_DIR; curl_cmd '$tok'"
	check "curl $t: same stdout with and without the shim" cmp -s "$TMP/p.out" "$TMP/s.out"
	check "curl $t: same exit status" test "$prc" = "$RC"
	grep -v '^tokshim\[' "$TMP/s.err" >"$TMP/s.err2" || true
	check "curl $t: same stderr apart from the report" cmp -s "$TMP/p.err" "$TMP/s.err2"
done

# TOKSHIM_DISABLE=1: loads, hooks nothing, prints nothing
TOKSHIM_DISABLE=1 TOKSHIM_OUTPUT="stderr,json:$TMP/dis.json" shim_run "$TMP/d.out" "$TMP/d.err" -- \
	bash -c "$(declare -f curl_cmd); URL=$URL CERT_DIR=$CERT_DIR; curl_cmd '$BAD'"
check "disabled: exit 0" test "$RC" = 0
check "disabled: nothing on stderr" test ! -s "$TMP/d.err"
check "disabled: no json sink written" test ! -s "$TMP/dis.json"
e2e_done
