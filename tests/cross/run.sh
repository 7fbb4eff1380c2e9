#!/usr/bin/env bash
# tests/cross/run.sh ARCH PROGRAM [ARGS...]: runs a program built for ARCH
# (arm64, armhf: `make ARCH=...` puts it in build-ARCH/) under qemu-user.
#
#   tests/cross/run.sh arm64 build-arm64/tokshim check --now 2026-11-22T21:30:00Z TOKEN
#   LD_PRELOAD=$PWD/build-arm64/libtokshim.so TOKSHIM_OUTPUT=stderr,json:/tmp/x.jsonl \
#       tests/cross/run.sh arm64 build-arm64/examples/twilsock_client ...
#
# The environment goes to the program as it is: qemu-user-static hands its
# own environment to the guest, and being static it has no host loader that
# would try the target's LD_PRELOAD. (qemu's -E would split a value such as
# TOKSHIM_OUTPUT=stderr,json:F at its comma, so it is not used.) `-L /`: the
# target's loader and libraries are Debian's multiarch ones under /lib and
# /usr/lib/TRIPLET; the cross toolchain's own copies (/usr/TRIPLET/lib)
# beside the multiarch libc hang fork.
#
# A program that execs another target program (Criterion re-executing its
# binary, `tokshim run CMD`, a shell script's commands) needs binfmt_misc
# to run it through qemu as well: `make deps` registers qemu-user-static
# (tests/cross/deps.sh). This script says so when it is missing.
set -u
if [ $# -lt 2 ]; then
	echo "usage: $0 arm64|armhf PROGRAM [ARGS...]" >&2
	exit 2
fi
arch=$1
shift
case $arch in
arm64) q=aarch64 ;;
armhf) q=arm ;;
*) echo "$0: unknown architecture '$arch' (arm64, armhf)" >&2; exit 2 ;;
esac
qemu=$(command -v "qemu-$q-static" || true)
if [ -z "$qemu" ]; then
	echo "$0: qemu-$q-static not found (make deps installs qemu-user-static)" >&2
	exit 127
fi
if [ -n "${CROSS_RUN_CHECK_BINFMT:-}" ] && ! grep -qx enabled "/proc/sys/fs/binfmt_misc/qemu-$q" 2>/dev/null; then
	echo "$0: warning: qemu-$q is not registered with binfmt_misc: a program that execs another $arch program will fail (make deps)" >&2
fi
export QEMU_LD_PREFIX=/
exec "$qemu" -L / "$@"
