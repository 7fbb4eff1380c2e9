#!/usr/bin/env bash
# inline_bench.sh: what entry patching (issue 12) costs, in callgrind
# instructions (tests/bench/run.sh, `make bench`). Needs valgrind.
#
# Per-call cost of a write seen through the entry hook against the same write
# seen through the PLT hook and against no hook: tests/bench/tools/
# inline_writer.c (TLS over a BIO pair, one process) built with the shared
# libssl (the PLT hook) and with libssl.a (the entry hook only), writing
# WebSocket frames of 64 B and 16 KiB. A call's cost is the difference in
# instructions between runs of K1 and K2 writes divided by K2 - K1 (start-up
# and handshake cancel out); the hook's cost is the shimmed per-call cost
# minus the unshimmed one of the same binary. Target: the entry hook's cost
# is no more than the PLT hook's (5% slack for noise in the counts).
#
# Start-up: /bin/true (no target anywhere) and `node -e 0` (Node's bundled
# OpenSSL: found and patched), with TOKSHIM_INLINE=0 and =1. Targets: finding
# costs /bin/true at most 5% of the shim's own start-up; finding and patching
# cost Node at most 2% of its start-up under the shim.
#
# Exit status: 0 when every run worked (targets met or not); 1 otherwise.
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${B:-build}
SHIM=$(realpath "$B/libtokshim.so" 2>/dev/null) || { echo "inline_bench: no $B/libtokshim.so" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "inline_bench: no valgrind" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/tokshim-ibench.XXXXXX")
trap 'rm -rf "$T"' EXIT
bash tests/servers/mkcert.sh "$T" >/dev/null || exit 1
DYN=$B/bench/tools/inline_writer
[ -x "$DYN" ] || { echo "inline_bench: no $DYN: run make bench" >&2; exit 1; }
LIBDIR=$(dirname "$(cc -print-file-name=libssl.a)")
STATIC=$T/inline_writer_static
cc -std=gnu11 -O2 -o "$STATIC" tests/bench/tools/inline_writer.c "$LIBDIR/libssl.a" "$LIBDIR/libcrypto.a" \
	-ldl -pthread || exit 1
status=0

# cg [VAR=VALUE...] -- CMD...: instructions of CMD (callgrind) run with the
# variables set (the shim preloaded into CMD, not into another program);
# empty on failure
cg() {
	local vars=() out
	while [ "$1" != -- ]; do vars+=("$1"); shift; done
	shift
	out=$(env "${vars[@]}" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null) ||
		{ status=1; return; }
	sed -n 's/.*Collected : //p' <<<"$out" | tail -n 1
}
per_call() { # PROG SIZE K1 K2 [env...]: instructions per write
	local prog=$1 size=$2 k1=$3 k2=$4
	shift 4
	local a b
	a=$(cg "$@" -- "$prog" "$size" "$k1" "$T/server.pem" "$T/server.key")
	b=$(cg "$@" -- "$prog" "$size" "$k2" "$T/server.pem" "$T/server.key")
	[ -n "$a" ] && [ -n "$b" ] || { echo 0; status=1; return; }
	echo $(((b - a) / (k2 - k1)))
}
printf '%-34s %12s %12s %8s\n' name baseline shimmed ratio
declare -A HOOK
for size in 64 16384; do
	if [ "$size" = 64 ]; then k1=200 k2=1200; else k1=20 k2=120; fi
	for kind in plt inline; do
		prog=$DYN
		[ "$kind" = inline ] && prog=$STATIC
		base=$(per_call "$prog" "$size" $k1 $k2 TOKSHIM_DISABLE=)
		shim=$(per_call "$prog" "$size" $k1 $k2 LD_PRELOAD="$SHIM")
		HOOK[$kind.$size]=$((shim - base))
		printf '%-34s %12s %12s %8s\n' "write_${size}_${kind}_per_call" "$base" "$shim" \
			"$(awk -v a="$base" -v b="$shim" 'BEGIN { printf "%.3f", a ? b / a : 0 }')"
	done
	printf '%-34s %12s %12s\n' "hook_cost_${size} (plt inline)" "${HOOK[plt.$size]}" "${HOOK[inline.$size]}"
done

t0=$(cg -- /bin/true)
t1=$(cg LD_PRELOAD="$SHIM" TOKSHIM_INLINE=0 -- /bin/true)
t2=$(cg LD_PRELOAD="$SHIM" TOKSHIM_INLINE=1 -- /bin/true)
printf '%-34s %12s %12s %8s\n' startup_true_inline0_inline1 "$t1" "$t2" \
	"$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.3f", a ? b / a : 0 }')"
printf '%-34s %12s\n' startup_true_no_shim "$t0"
NODE=$(command -v node || true)
n1= n2=
if [ -n "$NODE" ]; then
	n1=$(cg LD_PRELOAD="$SHIM" TOKSHIM_INLINE=0 -- "$NODE" -e 0)
	n2=$(cg LD_PRELOAD="$SHIM" TOKSHIM_INLINE=1 -- "$NODE" -e 0)
	printf '%-34s %12s %12s %8s\n' startup_node_inline0_inline1 "$n1" "$n2" \
		"$(awk -v a="$n1" -v b="$n2" 'BEGIN { printf "%.3f", a ? b / a : 0 }')"
fi

# PASS when v <= l; a figure that could not be measured (empty, or a
# baseline of 0) is a MISS
verdict() { awk -v v="$1" -v l="$2" 'BEGIN { print (v != "" && l != "" && l + 0 > 0 && v <= l ? "PASS" : "MISS") }'; }
for size in 64 16384; do
	p=${HOOK[plt.$size]} i=${HOOK[inline.$size]}
	lim=$(awk -v p="$p" 'BEGIN { printf "%d", (p < 0 ? 0 : p) * 1.05 + 20 }')
	[ "$p" -gt 0 ] || lim=0 # no PLT cost measured: nothing to compare with
	printf 'summary %-34s %10s %10s  %s\n' "inline_hook_le_plt_${size}" "$i" "$lim" "$(verdict "$i" "$lim")"
done
find=$((t2 - t1))
lim=$((t1 / 20))
printf 'summary %-34s %10s %10s  %s\n' startup_find_no_targets "$find" "$lim" "$(verdict "$find" "$lim")"
if [ -n "$n1" ] && [ -n "$n2" ]; then
	patch=$((n2 - n1))
	lim=$((n1 / 50))
	printf 'summary %-34s %10s %10s  %s\n' startup_find_patch_node "$patch" "$lim" "$(verdict "$patch" "$lim")"
fi
exit "$status"
