#!/usr/bin/env bash
# A program that dlopens libssl (RTLD_LOCAL) and takes SSL_* with dlsym
# (examples/dlopen_client.c): the interposed dlsym hands it our hooks, which
# forward to that libssl. Also: dlsym's own semantics are kept (RTLD_NEXT
# from another interposer, RTLD_DEFAULT, handles, dlvsym, dlerror).
. "$(dirname "$0")/lib.sh"
e2e_init
e2e_certs || { echo "FAIL: certificate"; exit 1; }
"$TCC" -std=gnu11 -Wall -Wextra -Werror -O2 -o "$TMP/dlopen_client" "$ROOT/examples/dlopen_client.c" -ldl ||
	{ echo "FAIL: cannot build examples/dlopen_client.c"; exit 1; }
check "dlopen_client does not link libssl" bash -c "readelf -d '$TMP/dlopen_client' | grep -q NEEDED && ! readelf -d '$TMP/dlopen_client' | grep NEEDED | grep -q libssl"
start_server --https 0 --twilsock 0 --reply-delay 0.5 || exit 1
HP=$(port_of https); TW=$(port_of twilsock)
IS=IS0123456789abcdef0123456789abcdef
BAD=$(mint --grant chat:service_sid=$IS --now -7200 --ttl 3600)
GOOD=$(mint --grant chat:service_sid=$IS)
DC=("$TMP/dlopen_client" --cafile "$CERT_DIR/ca.pem")

TOKSHIM_OUTPUT="stderr,json:$TMP/http.json" shim_run "$TMP/http.log" "$TMP/http.log" -- "${DC[@]}" 127.0.0.1 "$HP" http "$BAD"
check "dlopen http: exit 0" test "$RC" = 0
check "dlopen http: json 51007 http expired via openssl" json_expect "$TMP/http.json" \
	'd["code"] == 51007 and d["channel"] == "http" and "expired" in ids and d["connection"]["library"] == "openssl" and d["connection"]["peer"] == "127.0.0.1:'"$HP"'"'
check "dlopen http: report before the reply" report_before "reply:" "$TMP/http.log"

TOKSHIM_OUTPUT="stderr,json:$TMP/tw.json" shim_run "$TMP/tw.log" "$TMP/tw.log" -- "${DC[@]}" --sni tsock.us1.twilio.com 127.0.0.1 "$TW" twilsock "$BAD"
check "dlopen twilsock: exit 0" test "$RC" = 0
check "dlopen twilsock: json 51215 twilsock init expired, SNI host" json_expect "$TMP/tw.json" \
	'd["code"] == 51215 and d["channel"] == "twilsock" and d["message"] == "init" and "expired" in ids and d["connection"]["host"] == "tsock.us1.twilio.com"'
check "dlopen twilsock: report before the reply" report_before "reply:" "$TMP/tw.log"
check "dlopen twilsock: no signature, token or secret written" no_secret_in "$TMP/tw.json" "$BAD"

shim_run "$TMP/g.out" "$TMP/g.err" -- "${DC[@]}" --sni tsock.us1.twilio.com 127.0.0.1 "$TW" twilsock "$GOOD"
check "dlopen good: exit 0, nothing on stderr" test "$RC" = 0 -a ! -s "$TMP/g.err"
plain_run "$TMP/p.out" "$TMP/p.err" -- "${DC[@]}" 127.0.0.1 "$HP" http "$BAD"
prc=$RC
shim_run "$TMP/s.out" "$TMP/s.err" -- "${DC[@]}" 127.0.0.1 "$HP" http "$BAD"
check "dlopen: same stdout and status with and without the shim" test "$prc" = "$RC" -a "$(cat "$TMP/p.out")" = "$(cat "$TMP/s.out")"

# dlsym semantics under the shim
cat >"$TMP/dlprobe.c" <<'C'
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
static const char *obj(void *p)
{
	Dl_info i;
	if (!p || !dladdr(p, &i) || !i.dli_fname)
		return "none";
	const char *s = strrchr(i.dli_fname, '/');
	return s ? s + 1 : i.dli_fname;
}
int main(void)
{
	void *h = dlopen("libc.so.6", RTLD_NOW);
	printf("next puts: %s\n", obj(dlsym(RTLD_NEXT, "puts")));
	printf("default write: %s\n", obj(dlsym(RTLD_DEFAULT, "write")));
	printf("handle write: %s\n", obj(dlsym(h, "write")));
	printf("handle puts: %s\n", obj(dlsym(h, "puts")));
	printf("dlvsym write: %s\n", obj(dlvsym(h, "write", WRITE_VERSION)));
	dlerror();
	void *none = dlsym(h, "no_such_symbol_here");
	const char *e = dlerror();
	printf("missing: %s, error %s\n", none ? "found" : "null", e ? "set" : "unset");
	fflush(stdout);
	puts("done");
	return 0;
}
C
cat >"$TMP/libnext.c" <<'C'
/* another interposer, preloaded after the shim, wrapping puts */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
int puts(const char *s)
{
	static int (*next)(const char *);
	if (!next)
		next = (int (*)(const char *))dlsym(RTLD_NEXT, "puts");
	Dl_info i;
	dladdr((void *)next, &i);
	fprintf(stderr, "libnext: next puts in %s\n", strrchr(i.dli_fname, '/') ? strrchr(i.dli_fname, '/') + 1 : i.dli_fname);
	return next(s);
}
C
# write's first symbol version in this architecture's libc
case ${TARCH:-$(uname -m)} in
x86_64) WV=GLIBC_2.2.5 ;;
arm64 | aarch64) WV=GLIBC_2.17 ;;
armhf | arm*) WV=GLIBC_2.4 ;;
i?86) WV=GLIBC_2.0 ;;
*) WV=GLIBC_2.0 ;;
esac
"$TCC" -D_GNU_SOURCE -DWRITE_VERSION="\"$WV\"" -O2 -o "$TMP/dlprobe" "$TMP/dlprobe.c" -ldl && "$TCC" -D_GNU_SOURCE -O2 -shared -fPIC -o "$TMP/libnext.so" "$TMP/libnext.c" -ldl ||
	{ echo "FAIL: cannot build the probes"; exit 1; }
shim_run "$TMP/probe.out" "$TMP/probe.err" -- "$TMP/dlprobe"
cat >"$TMP/probe.want" <<'W'
next puts: libc.so.6
default write: libtokshim.so
handle write: libtokshim.so
handle puts: libc.so.6
dlvsym write: libtokshim.so
missing: null, error set
done
W
check "dlsym/dlvsym: RTLD_NEXT, RTLD_DEFAULT, handles, dlerror as expected" cmp -s "$TMP/probe.want" "$TMP/probe.out" ||
	diff "$TMP/probe.want" "$TMP/probe.out"
RC=0
LD_PRELOAD="$SHIM:$TMP/libnext.so" timeout 20 "$TMP/dlprobe" >"$TMP/n.out" 2>"$TMP/n.err" || RC=$?
check "another interposer's dlsym(RTLD_NEXT) still finds libc (not itself)" \
	bash -c "test $RC = 0 && grep -q 'libnext: next puts in libc.so.6' '$TMP/n.err'"
e2e_done
