#!/usr/bin/env bash
# The environment, read once at load: bad values give one warning line and
# the default, never stop the program; TOKSHIM_SECRETS_FILE refused unless
# 0600; TOKSHIM_LEVEL; a malformed TOKSHIM_HOOKS (one warning); a forked
# child reports with its own pid.
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_certs || { echo "FAIL: certificate"; exit 1; }
start_server --https 0 || exit 1
P=$(port_of https)
EXPIRED=$(mint --grant voice:incoming.allow=true --now -7200 --ttl 3600)
BADSIG=$("$TOKSHIM" mint --secret wrong-secret --key "$KEY" --account "$ACCOUNT" --grant voice:incoming.allow=true)
SOON=$(mint --grant voice:incoming.allow=true --ttl 90)
CL=("$PY" "$ROOT/tests/e2e/shim_client.py" --cafile "$CERT_DIR/ca.pem" https 127.0.0.1 "$P")
warnings() { grep -c '^tokshim\[[0-9]*\]: warning: ' "$1" || true; }

TOKSHIM_SKEW=abc TOKSHIM_OUTPUT="stderr,json:$TMP/skew.json" shim_run "$TMP/o" "$TMP/e" -- "${CL[@]}" "$EXPIRED"
check "bad TOKSHIM_SKEW: client still exit 0" test "$RC" = 0
check "bad TOKSHIM_SKEW: one warning line naming it" test "$(warnings "$TMP/e")" = 1 -a "$(grep -c "TOKSHIM_SKEW 'abc'" "$TMP/e")" = 1
check "bad TOKSHIM_SKEW: still reports (default skew)" json_expect "$TMP/skew.json" '"expired" in ids'

TOKSHIM_ACCOUNT_SID=ACnope TOKSHIM_OUTPUT=stderr shim_run "$TMP/o" "$TMP/e" -- "${CL[@]}" "$EXPIRED"
check "bad TOKSHIM_ACCOUNT_SID: one warning, still reports" \
	test "$(warnings "$TMP/e")" = 1 -a "$(grep -c 'REJECT 51007' "$TMP/e")" = 1

TOKSHIM_HOOKS=libfoo.so:foo_send:1:2 shim_run "$TMP/o" "$TMP/e" -- "${CL[@]}" "$EXPIRED"
check "malformed TOKSHIM_HOOKS: one warning, still reports" \
	bash -c "test \"\$(grep -c 'TOKSHIM_HOOKS' '$TMP/e')\" = 1 && grep -q 'REJECT 51007' '$TMP/e'"

# secrets file: refused at 0644 (signature then unchecked: nothing to say
# about an otherwise good token), used at 0600
printf '# e2e\n%s %s\n' "$KEY" "$SECRET" >"$TMP/secrets"
chmod 644 "$TMP/secrets"
TOKSHIM_SECRET= TOKSHIM_SECRETS_FILE=$TMP/secrets shim_run "$TMP/o" "$TMP/e" -- "${CL[@]}" "$BADSIG"
check "secrets file 0644: refused with one warning" \
	bash -c "test \"\$(grep -c 'looser than 0600' '$TMP/e')\" = 1"
check "secrets file 0644: the bad signature is not judged" bash -c "! grep -q 'REJECT 51007' '$TMP/e'"
chmod 600 "$TMP/secrets"
TOKSHIM_SECRET= TOKSHIM_SECRETS_FILE=$TMP/secrets TOKSHIM_OUTPUT="stderr,json:$TMP/sf.json" shim_run "$TMP/o" "$TMP/e" -- "${CL[@]}" "$BADSIG"
check "secrets file 0600: used (signature rejected), no warning" \
	bash -c "test \"\$(grep -c 'warning' '$TMP/e')\" = 0 && grep -q 'REJECT 51007' '$TMP/e'"
check "secrets file 0600: json cause signature, no secret written" json_expect "$TMP/sf.json" '"signature" in ids'
check "secrets file: the secret never written" no_secret_in "$TMP/sf.json" "$BADSIG"

# level: a token expiring in 90 s is a warning (expiring_soon)
TOKSHIM_OUTPUT=stderr shim_run "$TMP/o" "$TMP/e" -- "${CL[@]}" "$SOON"
check "level warning (default): expiring_soon shown" grep -q 'expiring_soon' "$TMP/e"
TOKSHIM_LEVEL=error shim_run "$TMP/o" "$TMP/e" -- "${CL[@]}" "$SOON"
check "level error: nothing shown" test ! -s "$TMP/e"
TOKSHIM_LEVEL=loud shim_run "$TMP/o" "$TMP/e" -- "${CL[@]}" "$SOON"
check "bad level: a warning, then the default (warning) level" \
	bash -c "grep -q 'warning: .*loud' '$TMP/e' && grep -q expiring_soon '$TMP/e'"

# fork: the child's connection is reported with the child's pid
cat >"$TMP/forker.py" <<'PYEOF'
import os, sys
sys.path.insert(0, sys.argv[1])
import shim_client
class A: pass
a = A(); a.host = "127.0.0.1"; a.port = int(sys.argv[3]); a.token = sys.argv[4]; a.sni = None; a.cafile = sys.argv[2]
pid = os.fork()
if pid == 0:
    shim_client.https_once(a, shim_client.tls_context(a))
    print("child %d" % os.getpid(), flush=True)
    os._exit(0)
_, st = os.waitpid(pid, 0)
print("parent %d" % os.getpid(), flush=True)
sys.exit(os.waitstatus_to_exitcode(st))
PYEOF
TOKSHIM_OUTPUT="json:$TMP/fork.json" shim_run "$TMP/fo" "$TMP/fe" -- "$PY" "$TMP/forker.py" "$ROOT/tests/e2e" "$CERT_DIR/ca.pem" "$P" "$EXPIRED"
child=$(sed -n 's/^child //p' "$TMP/fo")
check "fork: exit 0" test "$RC" = 0
check "fork: the child's report carries the child's pid ($child)" json_expect "$TMP/fork.json" \
	'd["connection"]["pid"] == '"${child:-0}"' and "expired" in ids'
e2e_done
