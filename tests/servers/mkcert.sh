#!/usr/bin/env bash
# mkcert.sh DIR: a throw-away CA and a server certificate for the local test
# servers (tests/servers/twilio_like.py). EC P-256 keys, so it takes a moment.
#
# Writes DIR/ca.pem (trust this: --cafile), DIR/server.pem and DIR/server.key.
# The server certificate names 127.0.0.1, ::1, localhost and the Twilio host
# names the clients send as SNI (tsock.us1.twilio.com, ...), valid for 2 days.
set -euo pipefail

if [ $# -ne 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	echo "usage: mkcert.sh DIR" >&2
	exit 2
fi
dir=$1
mkdir -p "$dir"
cd "$dir"

umask 077
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=tokshim test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-out ca.pem 2>/dev/null

openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
cat >server.ext <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:tsock.us1.twilio.com,DNS:tsock.ie1.twilio.com,DNS:voice-js.roaming.twilio.com,DNS:global.vss.twilio.com,DNS:eventgw.twilio.com
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 2 \
	-extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 644 ca.pem server.pem
echo "mkcert: wrote $dir/ca.pem $dir/server.pem $dir/server.key"
