#!/usr/bin/env bash
# `make deps` for the cross targets: tests/cross/deps.sh SYSROOT_BASE ARCH...
#
# For each Debian architecture (arm64, armhf): the architecture in dpkg, the
# cross compiler, the target's -dev packages (multiarch, beside the native
# ones), and Criterion with its run-time libraries extracted (dpkg -x) into
# SYSROOT_BASE/ARCH: libcriterion-dev and libnanomsg5 of another
# architecture cannot be installed beside the native packages. Then
# qemu-user-static registered with binfmt_misc, so that a target program can
# exec another one (Criterion re-executes itself, `tokshim run` execs its
# command). Needs root for what is missing; does nothing when all is there.
set -euo pipefail
base=$1
shift
export DEBIAN_FRONTEND=noninteractive

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "deps: need root to $*" >&2
		exit 1
	fi
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Criterion 2.4 and what its library needs at run time, beyond the target
# packages installed below (libffi, libssl, zlib, libc).
SYSROOT_PKGS="libcriterion3 libcriterion-dev libnanomsg5 libgit2-1.5 libhttp-parser2.9 libssh2-1
	libpcre2-8-0 libmbedcrypto7 libmbedtls14 libmbedx509-1 libgssapi-krb5-2 libkrb5-3
	libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1"
HOST_PKGS="qemu-user-static binfmt-support"
updated=0
apt_update() { [ $updated = 1 ] || { apt-get update -qq; updated=1; }; }

missing=""
for p in $HOST_PKGS; do installed "$p" || missing="$missing $p"; done
for a in "$@"; do
	case $a in
	arm64) cross=crossbuild-essential-arm64 ;;
	armhf) cross=crossbuild-essential-armhf ;;
	*) echo "deps: unknown architecture '$a'" >&2; exit 1 ;;
	esac
	if ! { dpkg --print-architecture; dpkg --print-foreign-architectures; } | grep -qx "$a"; then
		need_root "add the architecture $a"
		dpkg --add-architecture "$a"
		updated=0
	fi
	installed "$cross" || missing="$missing $cross"
	for p in libssl-dev libjansson-dev libffi-dev zlib1g-dev; do
		installed "$p:$a" || missing="$missing $p:$a"
	done
done
if [ -n "$missing" ]; then
	need_root "apt-get install$missing"
	echo "deps: installing$missing"
	apt_update
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

for a in "$@"; do
	root=$base/$a
	# Debian 12 builds no Criterion for armhf: its unit tests use
	# tests/cross/minicrit (the Makefile's CRITERION=mini)
	[ "$a" = armhf ] && continue
	[ -f "$root/.complete" ] && continue
	echo "deps: Criterion for $a into $root"
	dl=$(mktemp -d)
	pkgs=()
	for p in $SYSROOT_PKGS; do pkgs+=("$p:$a"); done
	if ! (cd "$dl" && apt-get download -qq "${pkgs[@]}" >/dev/null 2>&1); then
		need_root "apt-get update (no $a package lists)"
		apt_update
		(cd "$dl" && apt-get download -qq "${pkgs[@]}" >/dev/null)
	fi
	rm -rf "$root"
	mkdir -p "$root"
	for d in "$dl"/*.deb; do dpkg -x "$d" "$root"; done
	rm -rf "$dl"
	touch "$root/.complete"
done

# binfmt_misc: target programs run by the kernel through qemu-user-static
# (static: no host loader sees the target's LD_PRELOAD)
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
	need_root "mount binfmt_misc"
	mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
for a in "$@"; do
	case $a in arm64) q=aarch64 ;; armhf) q=arm ;; esac
	f=/proc/sys/fs/binfmt_misc/qemu-$q
	if [ ! -e "$f" ]; then
		need_root "register qemu-$q with binfmt_misc"
		update-binfmts --import "qemu-$q" >/dev/null 2>&1 || true
		update-binfmts --enable "qemu-$q" >/dev/null 2>&1 || true
	fi
	if ! grep -qx enabled "$f" 2>/dev/null; then
		echo "deps: qemu-$q is not registered with binfmt_misc" >&2
		exit 1
	fi
	interp=$(sed -n 's/^interpreter //p' "$f")
	case $(readlink -f "$interp") in
	*-static) ;;
	*) echo "deps: warning: binfmt_misc runs $a programs with $interp, not qemu-$q-static:" \
		"the host loader of a dynamic qemu sees the target's LD_PRELOAD" >&2 ;;
	esac
done
