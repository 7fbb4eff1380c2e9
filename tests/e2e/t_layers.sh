#!/usr/bin/env bash
# The layers hold: no two source files call into each other, directly or
# round a longer loop (tests/tools/file_cycles.py reads the objects' symbol
# tables with nm), and decode/ includes nothing from shim/, report/, config/ or cli/.
. "$(dirname "$0")/lib.sh"
e2e_init

for dir in decode shim report config cli; do
	objs=("$BUILD/$dir"/*.o)
	check "$dir/: no file cycles" python3 "$ROOT/tests/tools/file_cycles.py" "${objs[@]}"
done
check "shim/ and report/ together: no cycles" \
	python3 "$ROOT/tests/tools/file_cycles.py" "$BUILD"/shim/*.o "$BUILD"/report/*.o
check "decode/ includes nothing from shim/, report/, config/ or cli/" \
	bash -c "! grep -nE '#include \"(shim|report|config|cli)/' '$ROOT'/decode/*.[ch]"
e2e_done
