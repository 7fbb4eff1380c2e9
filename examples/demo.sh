#!/usr/bin/env bash
# make demo: tokshim at work on this machine, with nothing of Twilio's reachable.
#
# Starts local endpoints that speak like Twilio's (tests/servers/twilio_like.py,
# with a certificate made on the spot), then runs the example clients in
# examples/ under `tokshim run`, each with a token showing one common mistake,
# and one good token. For each it shows what the shim said (before the server
# answered: the servers wait a moment before replying) and what the server
# said. Ends with `tokshim report` over the JSON-lines log.
#
# Environment: B (build dir, default build), PYTHON (default /usr/bin/python3),
# DEMO_DIR (where the certificate and log go, default $B/demo).
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
PY=${PYTHON:-/usr/bin/python3}
T=$B/tokshim
EX=$B/examples
DIR=${DEMO_DIR:-$B/demo}
LOG=$DIR/diagnoses.jsonl

for f in "$T" "$EX/twilsock_client" "$EX/voice_client" "$EX/video_client" "$EX/https_client"; do
	[ -x "$f" ] || { echo "demo: $f is missing: run 'make B=$B all examples' first" >&2; exit 1; }
done
mkdir -p "$DIR"
rm -f "$LOG" "$DIR"/server.out "$DIR"/server.err "$DIR"/cases.tsv "$DIR"/case*.out "$DIR"/case*.err

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	H=$'\e[1m' D=$'\e[2m' R=$'\e[0m'
else
	H='' D='' R=''
fi

SERVER_PID=
cleanup() {
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null
		for _ in $(seq 60); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	SERVER_PID=
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
trap 'exit 141' PIPE

# ---- the "Twilio" side: one account, one API key, one Conversations service --
# The API Key Secret (32 letters and digits, like Twilio's): known to the servers and to
# the shim, never printed. The "wrong secret" case signs with an Auth Token (32 hex) instead.
SECRET=$(openssl rand -base64 96 | tr -dc 'A-Za-z0-9' | head -c 32)
AUTH_TOKEN=$(openssl rand -hex 16)
KEY=SK5f3a0c1e9b7d24681357924680acebdf
ACCOUNT=AC0a1b2c3d4e5f60718293a4b5c6d7e8f9
SERVICE=IS2e4f6a8c0b1d3f5e7a9c2b4d6f8e0a1c
MESSAGING=MG2e4f6a8c0b1d3f5e7a9c2b4d6f8e0a1c
APP=AP9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a

bash tests/servers/mkcert.sh "$DIR/cert" >/dev/null || { echo "demo: cannot make a certificate" >&2; exit 1; }
"$PY" tests/servers/twilio_like.py --twilsock 0 --voice 0 --video 0 --https 0 \
	--cert "$DIR/cert/server.pem" --key "$DIR/cert/server.key" \
	--secret "$SECRET" --account "$ACCOUNT" --reply-delay 0.2 --lifetime 120 \
	>"$DIR/server.out" 2>"$DIR/server.err" &
SERVER_PID=$!
for _ in $(seq 100); do
	grep -qx ready "$DIR/server.out" 2>/dev/null && break
	kill -0 "$SERVER_PID" 2>/dev/null || break
	sleep 0.05
done
if ! grep -qx ready "$DIR/server.out" 2>/dev/null; then
	echo "demo: the test servers did not start:" >&2
	cat "$DIR/server.err" >&2
	exit 1
fi
port() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$(head -n 1 "$DIR/server.out")" "$1"; }
TWILSOCK_PORT=$(port twilsock)
VOICE_PORT=$(port voice)
VIDEO_PORT=$(port video)
HTTPS_PORT=$(port https)

# ---- the shim: does `tokshim run` work in this build? ----------------------
export TOKSHIM_SECRET=$SECRET TOKSHIM_ACCOUNT_SID=$ACCOUNT
SHIM=1
if ! "$T" run --output none -- true >/dev/null 2>&1; then
	SHIM=0
fi

mint() { "$T" mint --secret "$SECRET" --key "$KEY" --account "$ACCOUNT" "$@"; }

echo "${H}tokshim demo${R}: local Twilio-like servers on 127.0.0.1 (certificate made in $DIR/cert),"
echo "example clients run under: $T run --output stderr,json:$LOG -- CLIENT ..."
[ "$SHIM" = 1 ] || echo "${D}(tokshim run does not work in this build yet: the clients run without the shim)${R}"
echo

# case TITLE MINT-ARGS-DESCRIPTION CLIENT ARGS...: runs CLIENT under the shim and
# shows what the shim said (its stderr) and what the server said (its stdout).
case_no=0
run_case() {
	local title=$1 what=$2
	shift 2
	case_no=$((case_no + 1))
	echo "${H}== $title ==${R}"
	echo "${D}token: $what${R}"
	local out=$DIR/case$case_no.out err=$DIR/case$case_no.err first
	first=$(($( [ -f "$LOG" ] && wc -l <"$LOG" || echo 0) + 1))
	if [ "$SHIM" = 1 ]; then
		timeout 20 "$T" run --output "stderr,json:$LOG" -- "$@" >"$out" 2>"$err"
	else
		timeout 20 "$@" >"$out" 2>"$err"
	fi
	# which lines of the log this case wrote (for tests/e2e/t_demo.sh)
	printf '%d\t%d\t%d\t%s\n' "$case_no" "$first" "$( [ -f "$LOG" ] && wc -l <"$LOG" || echo 0)" "$title" >>"$DIR/cases.tsv"
	echo "shim said:"
	if [ -s "$err" ]; then
		sed 's/^/    /' "$err"
	elif [ "$SHIM" = 1 ]; then
		echo "    ${D}(nothing)${R}"
	else
		echo "    ${D}(not loaded)${R}"
	fi
	echo "server said:"
	if grep -q '^server' "$out"; then grep '^server' "$out" | sed 's/^server: //; s/^/    /'; else echo "    ${D}(no answer)${R}"; fi
	echo
}

TLS=(--host 127.0.0.1 --cafile "$DIR/cert/ca.pem")
CHAT=(--grant "chat:service_sid=$SERVICE")

run_case "expired token (Voice)" "minted 2 hours ago with the default 1 hour TTL" \
	"$EX/voice_client" "${TLS[@]}" --port "$VOICE_PORT" \
	"$(mint --now -7200 --identity alice --grant "voice:outgoing.application_sid=$APP,incoming.allow=true")"

run_case "wrong secret (Conversations)" "signed with the Account Auth Token instead of the API Key Secret" \
	"$EX/twilsock_client" "${TLS[@]}" --port "$TWILSOCK_PORT" \
	"$("$T" mint --secret "$AUTH_TOKEN" --key "$KEY" --account "$ACCOUNT" "${CHAT[@]}")"

run_case "no chat grant (Conversations)" "only a Voice grant, used to open a Conversations client" \
	"$EX/twilsock_client" "${TLS[@]}" --port "$TWILSOCK_PORT" \
	"$(mint --grant "voice:outgoing.application_sid=$APP")"

run_case "Messaging Service SID instead of the Conversations Service SID" "chat.service_sid=MG..." \
	"$EX/twilsock_client" "${TLS[@]}" --port "$TWILSOCK_PORT" \
	"$(mint --grant "chat:service_sid=$MESSAGING")"

good=$(mint "${CHAT[@]}")
run_case "token wrapped in JSON (Conversations)" "the whole {\"identity\":...,\"token\":...} response passed to the SDK" \
	"$EX/twilsock_client" "${TLS[@]}" --port "$TWILSOCK_PORT" \
	"{\"identity\":\"alice\",\"token\":\"$good\"}"

run_case "Video with an API key from another region" "twr ie1 (an Ireland key); Video needs a US1 key" \
	"$EX/video_client" "${TLS[@]}" --port "$VIDEO_PORT" --room standup \
	"$(mint --region ie1 --grant video:room=standup)"

run_case "update for another identity (Conversations)" "init as alice, then the refreshed token is bob's" \
	"$EX/twilsock_client" "${TLS[@]}" --port "$TWILSOCK_PORT" \
	--update "$(mint --identity bob "${CHAT[@]}")" "$good"

run_case "token not yet valid (HTTPS, X-Twilio-Token)" "minted by a server whose clock is 10 minutes fast" \
	"$EX/https_client" "${TLS[@]}" --port "$HTTPS_PORT" \
	"$(mint --now +600 --grant "voice:outgoing.application_sid=$APP")"

run_case "a good token (Conversations)" "chat grant with the service's IS SID, identity alice, 1 hour TTL" \
	"$EX/twilsock_client" "${TLS[@]}" --port "$TWILSOCK_PORT" "$good"

cleanup
echo "${H}== tokshim report $LOG ==${R}"
if [ -s "$LOG" ]; then
	"$T" report "$LOG"
	rc=$? # 1: some diagnosis is a reject, as expected here
	[ "$rc" -le 1 ] || echo "${D}(tokshim report failed with status $rc)${R}"
else
	echo "${D}(no diagnoses were logged)${R}"
fi
echo
echo "server log: $DIR/server.err"
exit 0
