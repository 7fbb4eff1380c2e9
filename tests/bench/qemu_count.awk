# qemu_count.awk: guest instructions from a qemu-user log (tests/bench/aarch64_bench.sh).
# counts guest instructions from qemu's "-d in_asm,exec,nochain" log: each
# "IN:" block gives a translation block's instruction count by its start
# address, each "Trace" line is one execution of the block at that address
/^IN:/ { inblk = 1; start = ""; n = 0; next }
inblk {
	if ($0 ~ /^0x[0-9a-f]+:/) { if (start == "") { start = substr($1, 3, length($1) - 3) } n++; next }
	if ($0 == "") { if (start != "") size[start] = n; inblk = 0 }
	next
}
/^Trace / {
	split($4, f, "/"); pc = f[2]; sub(/^0+/, "", pc)
	if (pc in size) total += size[pc]; else missing++
}
END { printf "%d %d\n", total, missing }
