#!/usr/bin/env bash
# man/tokshim.1 agrees with the program: every option in each verb's --help,
# every verb of `tokshim --help`, every TOKSHIM_* variable and every cause id
# is documented; the page renders without warnings.
set -u
. "$(dirname "$0")/lib.sh"
e2e_init --no-shim
cd "$ROOT" || exit 1
tmp=$TMP
T=$B/tokshim
[ -x "$T" ] || make --no-print-directory B="$B" "$B/tokshim" >/dev/null || { echo "cannot build $T"; exit 1; }
MAN=man/tokshim.1

[ -f "$MAN" ] || { echo "FAIL: no $MAN"; exit 1; }
# the page's text with roff's escaped hyphens made plain
page=$(sed -e 's/\\-/-/g' -e 's/\\(dq/"/g' "$MAN")

"$T" --help >/tmp/tokshim-man-help.$$ || bad "tokshim --help"
verbs=$(sed -n 's/^  \([a-z][a-z]*\) .*/\1/p' /tmp/tokshim-man-help.$$ | grep -v '^tokshim$')
rm -f /tmp/tokshim-man-help.$$
[ -n "$verbs" ] && ok || bad "no verbs in tokshim --help"
for v in $verbs; do
	grep -q "^\.SS \"tokshim $v" <<<"$page" && ok || bad "verb '$v' has no section in $MAN"
done

# every option of each verb's --help (mint documents its own options)
for v in $verbs; do
	[ "$v" = mint ] && continue
	help=$("$T" "$v" --help 2>/dev/null) || continue # a verb not built yet
	# the verb's own section of the page
	section=$(awk -v v="$v" '/^\.SS /{on = index($0, "\"tokshim " v " ") > 0} on' <<<"$page")
	for opt in $(grep -o -- '--[a-z][a-z-]*' <<<"$help" | sort -u); do
		grep -q -- "$opt\b" <<<"$section" && ok || bad "'tokshim $v' option $opt is not in its section of $MAN"
	done
done

# SPEC.md's table
for var in TOKSHIM_OUTPUT TOKSHIM_SECRET TOKSHIM_SECRETS_FILE TOKSHIM_ACCOUNT_SID TOKSHIM_SKEW TOKSHIM_LEVEL \
	TOKSHIM_HOSTS TOKSHIM_HOOKS TOKSHIM_DISABLE; do
	grep -q "^\.B $var\$" <<<"$page" && ok || bad "variable $var is not documented"
done
for id in $(sed -n 's/^\tX([A-Z_]*, "\([a-z_]*\)", SEV_.*/\1/p' decode/diag.h); do
	grep -q "\b$id\b" <<<"$page" && ok || bad "cause id $id is not in $MAN"
done

if command -v man >/dev/null; then
	warn=$(MANWIDTH=80 man --warnings -l "$MAN" 2>&1 >/dev/null)
	[ -z "$warn" ] && ok || bad "man warnings: $warn"
fi

echo "t_cli_man: $pass passed, $fail failed"
[ "$fail" = 0 ]
