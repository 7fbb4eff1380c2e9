#!/usr/bin/env bash
# The shim benchmark (tests/bench/shim_bench.sh) end to end, tiny: 4 MiB runs,
# and the callgrind one (tests/bench/callgrind_bench.sh) with one small pair,
# 2 pairs; bench_validate with one pass per side under callgrind and one
# trap-flag count over two tokens; the aarch64
# fast-path one (tests/bench/aarch64_bench.sh, TCP only) where an arm64 build
# exists. Checks that it completes and prints every figure and summary line
# with numbers in them (no timing assertions), and that it fails as it must:
# when a client crashes, and when the server's byte count differs from the
# client's.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init --no-shim
cd "$ROOT" || exit 1
tmp=$TMP
MAKE=${MAKE:-make}
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	e2e_cleanup
}
trap cleanup EXIT
fail() { echo "t_bench_smoke: FAIL: $*" >&2; exit 1; }

$MAKE --no-print-directory B="$B" "$B/libtokshim.so" "$B/bench/tools/tls_server" \
	"$B/bench/tools/tls_client" "$B/bench/tools/file_writer" >"$tmp/make.log" 2>&1 ||
	{ cat "$tmp/make.log" >&2; fail "cannot build the benchmark programs"; }

small() { BENCH_MIB=4 BENCH_PAIRS=2 BENCH_CONNS=5 BENCH_THREAD_WRITES=500 "$@"; }

# ---- a normal run -------------------------------------------------------------------
small env B="$B" timeout 120 bash tests/bench/shim_bench.sh >"$tmp/out" 2>"$tmp/err" ||
	{ cat "$tmp/out" "$tmp/err" >&2; fail "shim_bench.sh exited $?"; }
num='-?[0-9][0-9.e+-]*'
for f in tls_64_mibps tls_64_cpu_mibps tls_1k_mibps tls_1k_cpu_mibps tls_16k_mibps \
	tls_16k_cpu_mibps tcp_16k_mibps tcp_16k_cpu_mibps file_tmpfs_1k_mibps file_devnull_64_mibps \
	connect_first_write_us init_write_us threads8_tls_64_calls_per_s threads8_tls_64_cpu_calls_per_s; do
	grep -Eq "^$f +$num +$num +$num\$" "$tmp/out" || { cat "$tmp/out" >&2; fail "no figure line '$f'"; }
done
# instruction counts: numbers, or n/a where the machine has no hardware counter
for f in tls_64_instr_per_write tls_1k_instr_per_write tls_16k_instr_per_write \
	tcp_16k_instr_per_write file_tmpfs_1k_instr_per_write file_devnull_64_instr_per_write \
	connect_first_write_instr init_write_instr; do
	grep -Eq "^$f +(($num +$num +$num)|(n/a +n/a +n/a))\$" "$tmp/out" ||
		{ cat "$tmp/out" >&2; fail "no figure line '$f'"; }
done
for s in tls_16k_loss_pct tls_64_loss_pct tcp_16k_loss_pct 'file_tmpfs_1k_loss_pct\(noise\)' \
	'file_devnull_64_loss_pct\(noise\)' added_latency_us threads8_loss_pct; do
	grep -Eq "^summary $s +$num +$num +(PASS|MISS)(  # noise $num(%|us))?\$" "$tmp/out" ||
		{ cat "$tmp/out" >&2; fail "no summary line '$s'"; }
done
for s in shim_follows_tls shim_follows_tcp shim_quiet_on_valid_token; do
	grep -Eq "^summary $s +(yes|no) +yes +(PASS|MISS)\$" "$tmp/out" ||
		{ cat "$tmp/out" >&2; fail "no summary line '$s'"; }
done
grep -q '^# 4 MiB per stream run (1 MiB with 64 B writes), 2 pairs per figure (10 of 5 connections for latency)' "$tmp/out" || fail "header does not name the run size"
grep -q '^# shim_bench: done' "$tmp/out" || fail "no closing line"
grep '^summary shim_' "$tmp/out" # for the log: is the shim live yet?

# ---- a crashing client fails the run ----------------------------------------------
fake=$tmp/fakeB
mkdir -p "$fake/bench/tools"
ln -s "$(realpath "$B/libtokshim.so")" "$fake/libtokshim.so"
for t in tls_server file_writer; do ln -s "$(realpath "$B/bench/tools/$t")" "$fake/bench/tools/$t"; done
real_client=$(realpath "$B/bench/tools/tls_client")
cat >"$fake/bench/tools/tls_client" <<EOF
#!/usr/bin/env bash
# crashes (SIGSEGV) on the 1 KiB stream runs, like a shim bug would
case " \$* " in *" --size 1024 "*) kill -SEGV \$\$ ;; esac
exec "$real_client" "\$@"
EOF
chmod +x "$fake/bench/tools/tls_client"
small env B="$fake" timeout 120 bash tests/bench/shim_bench.sh >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 1 ] || { cat "$tmp/out" "$tmp/err" >&2; fail "a crashing client: exit $rc, want 1"; }
grep -q 'killed by signal 11' "$tmp/err" || { cat "$tmp/err" >&2; fail "the crash is not reported"; }
grep -q '^summary' "$tmp/out" && fail "a summary after a crash"

# ---- a wrong byte count fails the client --------------------------------------------
# a ws:// server that answers the close frame with counts off by one
cat >"$tmp/liar.py" <<'EOF'
import base64, hashlib, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
buf = b""
while b"\r\n\r\n" not in buf:
    buf += c.recv(4096)
key = [l.split(b":", 1)[1].strip() for l in buf.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key:")][0]
acc = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n")
n = len(buf) - buf.index(b"\r\n\r\n") - 4
while True:  # the client's close frame is its last 8 bytes: 0x88 0x82 mask(4) code(2)
    d = c.recv(65536)
    if not d:
        sys.exit(1)
    n += len(d)
    if d[-8:-6] == b"\x88\x82":
        break
reason = b"\x03\xe8" + b"bytes=%d frames=3" % (n - 1)
c.sendall(bytes([0x88, len(reason)]) + reason)
c.close()
EOF
"$PY" "$tmp/liar.py" >"$tmp/port" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
"$B/bench/tools/tls_client" --tcp --port "$(cat "$tmp/port")" --size 1024 --mib 1 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 1 ] || fail "client against a server with a wrong count: exit $rc, want 1"
grep -q 'byte count mismatch' "$tmp/err" || { cat "$tmp/err" >&2; fail "the mismatch is not reported"; }
grep -q '^result' "$tmp/out" && fail "a result line despite the mismatch"
wait "$pid"
pid=
# ---- the callgrind benchmark, one small pair per figure ------------------------------
if command -v valgrind >/dev/null; then
	BENCH_CG_SMOKE=1 B="$B" timeout 300 bash tests/bench/callgrind_bench.sh >"$tmp/cg" 2>"$tmp/cgerr" ||
		{ cat "$tmp/cg" "$tmp/cgerr" >&2; fail "callgrind_bench.sh exited $?"; }
	for f in tw_16k_text_instr_per_write tw_16k_deflate_instr_per_write exec_true_instr_ratio idle_pss_added_kb; do
		grep -Eq "^$f +$num +$num +$num +$num +(PASS|MISS)\$" "$tmp/cg" || { cat "$tmp/cg" >&2; fail "no callgrind line '$f'"; }
	done
	grep -q "reported on the bench's valid token" "$tmp/cg" && { cat "$tmp/cg" >&2; fail "the shim reported on a valid token"; }
	cat "$tmp/cg" # for the log
else
	fail "valgrind is not installed (make deps)"
fi

# ---- the per-connection memory benchmark (tests/bench/conn_mem_bench.sh), tiny ---------
$MAKE --no-print-directory B="$B" "$B/bench/tools/tsock_many" >"$tmp/make.log" 2>&1 ||
	{ cat "$tmp/make.log" >&2; fail "cannot build tsock_many"; }
BENCH_CONN_N1=20 BENCH_CONN_N2=60 B="$B" timeout 120 bash tests/bench/conn_mem_bench.sh >"$tmp/cm.out" 2>"$tmp/cm.err" ||
	{ cat "$tmp/cm.out" "$tmp/cm.err" >&2; fail "conn_mem_bench.sh exited $?"; }
grep -Eq "^conn_judged_bytes +$num +$num +$num +2048 +(PASS|MISS)\$" "$tmp/cm.out" ||
	{ cat "$tmp/cm.out" >&2; fail "no line 'conn_judged_bytes'"; }
cat "$tmp/cm.out" # for the log

# ---- the aarch64 fast-path benchmark (tests/bench/aarch64_bench.sh), TCP only --------
# Runs where an arm64 build of the shim exists (make ARCH=arm64, make cross-test
# and make bench make one; a whole cross build here would cost make test a
# minute or two): brought up to date, with the arm64 bench client.
BA=${BA:-build-arm64}
if [ -e "$BA/libtokshim.so" ] && command -v qemu-aarch64-static >/dev/null && command -v valgrind >/dev/null; then
	$MAKE --no-print-directory ARCH=arm64 B="$BA" "$BA/libtokshim.so" "$BA/bench/tools/tls_client" >"$tmp/make.log" 2>&1 ||
		{ cat "$tmp/make.log" >&2; fail "cannot build the arm64 shim and bench client"; }
	BENCH_A64_SMOKE=1 B="$B" BA="$BA" timeout 300 bash tests/bench/aarch64_bench.sh >"$tmp/a64" 2>"$tmp/a64err" ||
		{ cat "$tmp/a64" "$tmp/a64err" >&2; fail "aarch64_bench.sh exited $?"; }
	grep -Eq "^x86_64_fastpath_added_instr_per_write +$num +$num +$num +- +reference\$" "$tmp/a64" ||
		{ cat "$tmp/a64" >&2; fail "no line 'x86_64_fastpath_added_instr_per_write'"; }
	for f in aarch64_fastpath_added_instr_per_write aarch64_clock_calls_per_write; do
		grep -Eq "^$f +$num +$num +$num +$num +(PASS|MISS)\$" "$tmp/a64" || { cat "$tmp/a64" >&2; fail "no line '$f'"; }
	done
	cat "$tmp/a64" # for the log
else
	echo "t_bench_smoke: aarch64_bench skipped: no $BA/libtokshim.so (make ARCH=arm64) or no qemu-aarch64-static"
fi

# ---- the read-path benchmark (tests/bench/read_bench.sh), tiny ------------------------
if command -v valgrind >/dev/null; then
	$MAKE --no-print-directory B="$B" "$B/bench/tools/read_client" "$B/tokshim" >"$tmp/make.log" 2>&1 ||
		{ cat "$tmp/make.log" >&2; fail "cannot build read_client"; }
	READ_BENCH_N1=10 READ_BENCH_N2=40 READ_BENCH_U1=100 READ_BENCH_U2=600 B="$B" timeout 120 \
		bash tests/bench/read_bench.sh >"$tmp/rb.out" 2>"$tmp/rb.err" ||
		{ cat "$tmp/rb.out" "$tmp/rb.err" >&2; fail "read_bench.sh exited $?"; }
	for f in read_tls_16k_instr read_unfollowed_instr; do
		grep -Eq "^$f +$num +$num +$num\$" "$tmp/rb.out" || { cat "$tmp/rb.out" >&2; fail "no figure line '$f'"; }
	done
	for t in read_tls_16k_instr_ratio read_unfollowed_added_instr read_quiet_on_valid_token; do
		grep -Eq "^summary $t +[^ ]+ +[^ ]+ +(PASS|MISS)\$" "$tmp/rb.out" || { cat "$tmp/rb.out" >&2; fail "no summary line '$t'"; }
	done
else
	echo "t_bench_smoke: read_bench skipped: no valgrind"
fi
# ---- the validator against libjwt (tests/bench/bench_validate.c), one pass ------------
if command -v valgrind >/dev/null; then
	$MAKE --no-print-directory B="$B" "$B/bench/bench_validate" >"$tmp/make.log" 2>&1 ||
		{ cat "$tmp/make.log" >&2; fail "cannot build bench_validate"; }
	BENCH_VALIDATE_LOOPS=1 BENCH_VALIDATE_SECONDS=0.01 BENCH_VALIDATE_STEP_TOKENS=2 timeout 300 "$B/bench/bench_validate" >"$tmp/bv.out" 2>"$tmp/bv.err" ||
		{ cat "$tmp/bv.out" "$tmp/bv.err" >&2; fail "bench_validate exited $?"; }
	grep -Eq "^validate_vs_libjwt +$num +$num +$num\$" "$tmp/bv.out" || { cat "$tmp/bv.out" >&2; fail "no line 'validate_vs_libjwt'"; }
	grep -Eq "^validate_vs_libjwt_instr_ratio +$num +$num +$num +- +INFO\$" "$tmp/bv.out" ||
		{ cat "$tmp/bv.out" >&2; fail "no line 'validate_vs_libjwt_instr_ratio'"; }
	grep -Eq "^validate_vs_libjwt_native_instr +$num +$num +$num +$num +(PASS|MISS)\$" "$tmp/bv.out" ||
		{ cat "$tmp/bv.out" >&2; fail "no line 'validate_vs_libjwt_native_instr'"; }
	awk '$1 == "validate_vs_libjwt_native_instr" { ok = $2 > 10000 && $3 > 1000 } END { exit !ok }' "$tmp/bv.out" ||
		{ cat "$tmp/bv.out" >&2; fail "the trap-flag counts are not instruction counts of a validation"; }
	grep -Eq '^bench_validate: ([2-9]|[1-9][0-9]+) tokens' "$tmp/bv.out" || { cat "$tmp/bv.out" >&2; fail "the fixture tokens are not in the set"; }
	grep '^validate_vs' "$tmp/bv.out" # for the log
else
	fail "valgrind is not installed (make deps)"
fi
echo "t_bench_smoke: ok"
