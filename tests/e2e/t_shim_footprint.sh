#!/usr/bin/env bash
# What the load maps of libtokshim.so in an idle process (README, "Memory
# added to an idle process"; make bench's idle_pss_added_kb measures the
# PSS). `sleep` runs with the shim configured (a secret, a JSON-lines
# output) and, once it sleeps, its smaps say which of the library's pages
# are resident:
# - the read-only segment (the unwind tables, shim/layout.ld) has none: the
#   load reads no string nor table outside the text segment;
# - the text segment has at most 64 KiB: the strings, tables and load-time
#   code the load reads lie in one fault-around window (the kernel maps the
#   64 KiB around a page touched; more means the load ran code outside the
#   TK_COLD group, or that group and .rodata outgrew 64 KiB);
# - at most 2 pages of its .bss are present (pagemap): the state the load
#   writes is gathered (TK_LOAD_BSS).
# x86-64 only, the layout measured: under qemu-user the resident pages are
# the emulator's, and ARM's linkers lay the segments out otherwise (one
# read-and-execute segment from the file's start).
. "$(dirname "$0")/lib.sh"
e2e_init
if [ -n "$TARCH" ] || [ "$(uname -m)" != x86_64 ]; then
	echo "skip: the layout checked is x86-64's (this run: ${TARCH:-$(uname -m)})"
	e2e_done
	exit
fi
exe=$(realpath "$(command -v sleep)")
env -u LD_PRELOAD LD_PRELOAD="$SHIM" TOKSHIM_SECRET="$SECRET" TOKSHIM_ACCOUNT_SID="$ACCOUNT" \
	TOKSHIM_OUTPUT="json:$TMP/out.jsonl" sleep 30 &
pid=$!
PIDS+=("$pid")
sleeping() {
	[ "$(readlink "/proc/$pid/exe")" = "$exe" ] && [ "$(awk '{ print $3 }' "/proc/$pid/stat")" = S ]
}
wait_for 10 sleeping || { fail "sleep under the shim did not start"; e2e_done; exit; }
sleep 0.2
cp "/proc/$pid/smaps" "$TMP/smaps" || { fail "cannot read the smaps of $pid"; e2e_done; exit; }

# .eh_frame's file offset: the mapping that holds it is the read-only segment
eh_off=$(readelf -SW "$SHIM" | sed 's/^ *\[ *[0-9]*\]//' | awk '$1 == ".eh_frame" { print $4 }')
[ -n "$eh_off" ] || fail "libtokshim.so has no .eh_frame"
# per mapping of the library: PERMS FILE_OFFSET START END RSS_KB (hex)
awk -v lib="$SHIM" '
	/^[0-9a-f]+-[0-9a-f]+ / { split($1, r, "-"); cur = ($6 == lib) ? $2 " " $3 " " r[1] " " r[2] : "" }
	/^Rss:/ && cur != "" { print cur, $2; cur = "" }' "$TMP/smaps" >"$TMP/maps"
cat "$TMP/maps"
ro= x= base= dend=
while read -r perms off start end rss; do
	[ -z "$base" ] && base=$start
	case $perms in
	r-xp) x=$rss ;;
	rw-p) dend=$end ;;
	r--p) [ $((16#$off)) -le $((16#$eh_off)) ] && [ $((16#$eh_off)) -lt $((16#$off + 16#$end - 16#$start)) ] && ro=$rss ;;
	esac
done <"$TMP/maps"
# .bss past the last file-backed page: its pages present (pagemap's bit 63;
# the anonymous mapping may have merged with a neighbour, so not smaps' Rss)
read -r bss_addr bss_size < <(readelf -SW "$SHIM" | sed 's/^ *\[ *[0-9]*\]//' | awk '$1 == ".bss" { print $3, $5 }')
bss=
if [ -n "$base" ] && [ -n "$dend" ] && [ -n "${bss_size:-}" ]; then
	bss=$("$PY" - "$pid" "$dend" "$((16#$base + 16#$bss_addr + 16#$bss_size))" <<'PYEOF'
import os, sys
pid, lo, hi = int(sys.argv[1]), int(sys.argv[2], 16), int(sys.argv[3])
pg = os.sysconf("SC_PAGE_SIZE")
n = 0
with open("/proc/%d/pagemap" % pid, "rb") as f:
    for a in range(lo, hi, pg):
        f.seek(a // pg * 8)
        n += int.from_bytes(f.read(8), "little") >> 63
print(n)
PYEOF
)
fi
echo "bss: ${bss:-?} pages present"
check "the read-only segment is among the mappings" [ -n "$ro" ]
check "the load maps no page of the read-only segment (${ro:-?} kB)" [ "${ro:-1}" -eq 0 ]
check "the load maps at most 64 KiB of the text segment (${x:-?} kB)" [ "${x:-999}" -le 64 ]
check "the load dirties at most 2 pages of .bss (${bss:-?})" [ "${bss:-999}" -le 2 ]
kill "$pid" 2>/dev/null
e2e_done
