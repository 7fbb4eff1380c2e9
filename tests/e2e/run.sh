#!/usr/bin/env bash
# Runs every end-to-end script (tests/e2e/t_*.sh), or those named, and ends
# with "N passed, N failed". `make test` runs them through tests/run-all.sh.
set -u
cd "$(dirname "$0")/../.."
passed=0
failed=0
scripts=("$@")
[ ${#scripts[@]} -gt 0 ] || scripts=(tests/e2e/t_*.sh)
for t in "${scripts[@]}"; do
	echo "==== $(basename "$t" .sh)"
	if timeout 300 bash "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAILED: $t"
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
