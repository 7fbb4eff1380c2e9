#!/usr/bin/env bash
# tests/cross/e2e.sh ARCH SCRIPT...: runs end-to-end scripts (tests/e2e/t_*.sh)
# against the ARCH build (build-ARCH/, or B): the shim, the CLI and the
# test's own clients are ARCH programs run under qemu-user (binfmt_misc,
# `make deps`), the servers are the native ones on 127.0.0.1. Ends with
# "N passed, N failed".
#
#   make ARCH=arm64 all examples && tests/cross/e2e.sh arm64 tests/e2e/t_shim_ffi.sh
set -u
cd "$(dirname "$0")/../.."
arch=$1
shift
case $arch in
arm64) triplet=aarch64-linux-gnu; q=aarch64 ;;
armhf) triplet=arm-linux-gnueabihf; q=arm ;;
*) echo "$0: unknown architecture '$arch'" >&2; exit 2 ;;
esac
if ! grep -qx enabled "/proc/sys/fs/binfmt_misc/qemu-$q" 2>/dev/null; then
	echo "$0: qemu-$q is not registered with binfmt_misc (make deps)" >&2
	exit 1
fi
export B=${B:-build-$arch}
export TARGET_ARCH=$arch TARGET_CC=${TARGET_CC:-$triplet-gcc}
export MAKE="${MAKE:-make} ARCH=$arch"
passed=0
failed=0
for t in "$@"; do
	echo "==== $(basename "$t" .sh) ($arch)"
	if timeout 300 bash "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAILED: $t ($arch)"
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
