#!/usr/bin/env bash
# `tokshim mint`: tokens it signs are checked independently with Python's
# hmac and json (signature for each alg, header and payload fields, escaping),
# on a fixed clock; usage errors exit 2; the secret never reaches any output.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init --no-shim
cd "$ROOT" || exit 1
tmp=$TMP
T=$B/tokshim
[ -x "$T" ] || { echo "t_mint: FAIL: $T not built" >&2; exit 1; }
fail() { echo "t_mint: FAIL: $*" >&2; exit 1; }

NOW=1795000000
KEY=SK0123456789abcdef0123456789abcdef
ACC=ACfedcba9876543210fedcba9876543210
SEC='mint-test-secret-Zq9'
IS=IS11112222333344445555666677778888
AP=APaaaabbbbccccddddeeeeffff00001111

# mint NAME ARGS...: writes $tmp/NAME (the token), fails on a non-zero exit
mint() {
	local name=$1
	shift
	"$T" mint "$@" >"$tmp/$name" 2>"$tmp/$name.err" || fail "mint $name: exit $? ($(cat "$tmp/$name.err"))"
	[ -s "$tmp/$name.err" ] && fail "mint $name: wrote to stderr: $(cat "$tmp/$name.err")"
	return 0
}
base=(--secret "$SEC" --key "$KEY" --account "$ACC" --now "$NOW")
mint basic "${base[@]}" --identity alice --grant "chat:service_sid=$IS"
mint hs384 "${base[@]}" --alg HS384 --grant "data_sync:service_sid=$IS"
mint hs512 "${base[@]}" --alg HS512 --ttl 600 --grant video:room=standup
mint none "${base[@]}" --alg none --nbf none --iat none
mint voice "${base[@]}" --identity bob_1 --region ie1 --grant "voice:outgoing.application_sid=$AP,incoming.allow=true"
mint voice2 "${base[@]}" --grant voice:incoming.allow=false --grant "voice:push_credential_sid=CR00000000000000000000000000000000"
mint escape "${base[@]}" --identity $'q"uo\\te\tü/\x01' --grant 'video:room=a"b'
mint noident "${base[@]}" --no-identity --no-cty --grant "chat:service_sid=$IS"
mint nogrants "${base[@]}" --no-grants --cty 'twilio-fpa;v=2'
mint expabs "${base[@]}" --exp 2026-11-18T10:00:00Z --nbf -120 --iat +5
mint exprel "${base[@]}" --exp -60 --ttl 99999
mint isonow --secret "$SEC" --now 2026-11-22T20:00:00Z --jti custom-jti
mint claims "${base[@]}" --claim 'exp="tomorrow"' --claim 'extra={"a":[1,2]}' --header kid=k1
TOKSHIM_SECRET=$SEC mint env --key "$KEY" --account "$ACC" --now "$NOW"
mint again "${base[@]}" --identity alice --grant "chat:service_sid=$IS"
cmp -s "$tmp/basic" "$tmp/again" || fail "same options, same clock: tokens differ"

DIR=$tmp SEC=$SEC NOW=$NOW KEY=$KEY ACC=$ACC IS=$IS AP=$AP "$PY" - <<'EOF' || fail "python checks"
import base64, hashlib, hmac, json, os, re, sys
d = os.environ["DIR"]; SEC = os.environ["SEC"].encode(); NOW = int(os.environ["NOW"])
KEY, ACC, IS, AP = os.environ["KEY"], os.environ["ACC"], os.environ["IS"], os.environ["AP"]
bad = []

def load(name):
    raw = open(os.path.join(d, name), "rb").read()
    if not raw.endswith(b"\n") or raw.count(b"\n") != 1:
        bad.append(name + ": not one line ending in a newline")
    tok = raw.decode().rstrip("\n")
    parts = tok.split(".")
    if len(parts) != 3:
        bad.append(name + ": not three segments")
        return tok, {}, {}, b""
    for p in parts:
        if not re.fullmatch(r"[A-Za-z0-9_-]*", p) or len(p) % 4 == 1:
            bad.append(name + ": segment is not unpadded base64url")
    dec = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    return tok, json.loads(dec(parts[0])), json.loads(dec(parts[1])), dec(parts[2])

def expect(name, cond, what):
    if not cond:
        bad.append("%s: %s" % (name, what))

def verify(name, tok, alg):
    si, _, sig = tok.rpartition(".")
    h = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    mac = base64.urlsafe_b64encode(hmac.new(SEC, si.encode(), h).digest()).rstrip(b"=").decode()
    expect(name, hmac.compare_digest(mac, sig), "signature does not verify with " + alg)
    wrong = base64.urlsafe_b64encode(hmac.new(b"other", si.encode(), h).digest()).rstrip(b"=").decode()
    expect(name, wrong != sig, "signature verifies with another secret")

tok, h, p, s = load("basic")
verify("basic", tok, "HS256")
expect("basic", h == {"alg": "HS256", "typ": "JWT", "cty": "twilio-fpa;v=1"}, "header %r" % h)
expect("basic", p == {"jti": "%s-%d" % (KEY, NOW), "iss": KEY, "sub": ACC, "iat": NOW, "nbf": NOW,
                      "exp": NOW + 3600, "grants": {"identity": "alice", "chat": {"service_sid": IS}}},
       "payload %r" % p)
expect("basic", len(s) == 32, "HS256 mac length")

tok, h, p, s = load("hs384")
verify("hs384", tok, "HS384")
expect("hs384", h["alg"] == "HS384" and len(s) == 48, "alg/mac length")
expect("hs384", p["grants"] == {"identity": "alice", "data_sync": {"service_sid": IS}}, "grants %r" % p["grants"])

tok, h, p, s = load("hs512")
verify("hs512", tok, "HS512")
expect("hs512", len(s) == 64 and p["exp"] == NOW + 600, "mac length / ttl")
expect("hs512", p["grants"]["video"] == {"room": "standup"}, "video grant")

tok, h, p, s = load("none")
expect("none", tok.endswith(".") and s == b"" and h["alg"] == "none", "alg none must have an empty signature")
expect("none", "nbf" not in p and "iat" not in p and p["exp"] == NOW + 3600, "nbf/iat none: %r" % p)

tok, h, p, s = load("voice")
verify("voice", tok, "HS256")
expect("voice", h.get("twr") == "ie1", "twr")
expect("voice", p["grants"] == {"identity": "bob_1", "voice": {"outgoing": {"application_sid": AP},
                                                              "incoming": {"allow": True}}}, "grants %r" % p["grants"])
tok, h, p, s = load("voice2")
expect("voice2", p["grants"]["voice"] == {"incoming": {"allow": False},
                                          "push_credential_sid": "CR" + "0" * 32}, "merged grant %r" % p["grants"])

tok, h, p, s = load("escape")
verify("escape", tok, "HS256")
expect("escape", p["grants"]["identity"] == 'q"uo\\te\tü/\x01', "identity round trip %r" % p["grants"]["identity"])
expect("escape", p["grants"]["video"]["room"] == 'a"b', "room round trip")

tok, h, p, s = load("noident")
expect("noident", "cty" not in h and "identity" not in p["grants"], "no cty / no identity")
tok, h, p, s = load("nogrants")
expect("nogrants", "grants" not in p and h["cty"] == "twilio-fpa;v=2", "no grants / custom cty")

tok, h, p, s = load("expabs")
expect("expabs", p["exp"] == 1794996000 and p["nbf"] == NOW - 120 and p["iat"] == NOW + 5, "times %r" % p)
tok, h, p, s = load("exprel")
expect("exprel", p["exp"] == NOW - 60, "--exp overrides --ttl")
tok, h, p, s = load("isonow")
expect("isonow", p["iat"] == 1795377600 and p["jti"] == "custom-jti", "ISO --now / --jti: %r" % p)
tok, h, p, s = load("claims")
expect("claims", p["exp"] == "tomorrow" and p["extra"] == {"a": [1, 2]} and h["kid"] == "k1", "extra claims %r" % p)
tok, h, p, s = load("env")
verify("env", tok, "HS256")

for b in bad:
    print("t_mint: FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF

# usage errors: exit 2, a message on stderr, nothing on stdout
usage() {
	local out rc
	out=$("$T" mint "$@" 2>"$tmp/usage.err")
	rc=$?
	[ "$rc" = 2 ] || fail "mint $*: exit $rc, want 2"
	[ -z "$out" ] || fail "mint $*: printed on stdout"
	grep -q '^tokshim mint: ' "$tmp/usage.err" || fail "mint $*: no error message"
}
usage --secret x --bogus
usage --secret x --alg RS256
usage --secret x --ttl ten
usage --secret x --now yesterday
usage --secret x --now 12abc
usage --secret x --nbf soon
usage --secret x --grant Chat:service_sid=IS1
usage --secret x --grant chat:service_sid
usage --secret x --claim novalue
usage --secret
(unset TOKSHIM_SECRET; usage --key "$KEY")

"$T" mint --help >"$tmp/help" || fail "mint --help: exit $?"
grep -qi 'test' "$tmp/help" && grep -q -- '--grant' "$tmp/help" || fail "mint --help: not the documented help"

grep -rq -- "$SEC" "$tmp" && fail "the secret reached an output"
echo "t_mint: ok"
