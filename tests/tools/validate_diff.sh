#!/usr/bin/env bash
# validate_diff.sh [REV]: the validator's results on every fixture token and
# its mutants (tests/tools/validate_dump.c) with decode/ of git revision REV
# (default main) and with the work tree's decode/, compared line by line.
# Exit 0 when identical, 1 when they differ (the first differences shown),
# 2 when a build fails. For changes meant to leave every verdict, cause,
# text and summary as it was (speed work, refactoring).
set -u
cd "$(dirname "$0")/../.." || exit 2
rev=${1:-main}
CC=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/validate_diff.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/old"
git archive "$rev" decode | tar -x -C "$tmp/old" || { echo "validate_diff: cannot read decode/ of '$rev'" >&2; exit 2; }
build() { # SRCROOT OUT
	$CC -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 -O1 -w -I"$1" -o "$2" \
		tests/tools/validate_dump.c "$1"/decode/*.c -ljansson -lcrypto -lz -lnghttp2 ||
		{ echo "validate_diff: cannot build the dump with decode/ of $1" >&2; exit 2; }
}
build "$tmp/old" "$tmp/dump_old"
build . "$tmp/dump_new"
"$tmp/dump_old" tests/fixtures/tokens.json >"$tmp/old.txt" || exit 2
"$tmp/dump_new" tests/fixtures/tokens.json >"$tmp/new.txt" || exit 2
if cmp -s "$tmp/old.txt" "$tmp/new.txt"; then
	echo "validate_diff: identical to $rev ($(wc -l <"$tmp/new.txt") lines)"
	exit 0
fi
echo "validate_diff: results differ from $rev:"
diff "$tmp/old.txt" "$tmp/new.txt" | head -40
exit 1
