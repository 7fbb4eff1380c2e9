/* TOKSHIM_HOOKS: runtime hook descriptions for libraries the shim does not
 * know (libffi closures over "LIB:SYMBOL:BUF_ARG:LEN_ARG" entries, comma
 * separated). Not supported yet: the value is parsed so a malformed one is
 * named, then one warning says it is ignored. A later issue implements it. */
#include <string.h>

#include "shim/shim.h"

/* Counts the entries of spec; the first malformed one (not 2 to 4 non-empty
 * ':' fields) is copied into bad. */
static int parse(const char *spec, char *bad, size_t badcap)
{
	int n = 0;
	bad[0] = '\0';
	while (*spec) {
		const char *end = strchr(spec, ',');
		size_t len = end ? (size_t)(end - spec) : strlen(spec);
		if (len) {
			int fields = 1, empty = 0;
			const char *f = spec;
			for (size_t i = 0; i < len; i++)
				if (spec[i] == ':') {
					empty |= (spec + i == f);
					fields++;
					f = spec + i + 1;
				}
			empty |= (f == spec + len);
			if ((fields < 2 || fields > 4 || empty) && !bad[0]) {
				size_t m = len < badcap - 1 ? len : badcap - 1;
				memcpy(bad, spec, m);
				bad[m] = '\0';
			}
			n++;
		}
		spec += len + (end ? 1 : 0);
	}
	return n;
}

void shim_ffi_init(const char *spec)
{
	char bad[64];
	if (!spec || !*spec)
		return;
	int n = parse(spec, bad, sizeof bad);
	if (bad[0])
		shim_warn("ignoring TOKSHIM_HOOKS: '%s' is not LIB:SYMBOL[:BUF_ARG[:LEN_ARG]]", bad);
	else
		shim_warn("ignoring TOKSHIM_HOOKS: runtime hooks are not supported yet (%d given)", n);
}
