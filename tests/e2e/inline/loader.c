/* loader: dlopens PLUGIN (a path) with the given flags and calls its
 * plugin_get (tlsplugin.c); the program itself links no TLS library.
 *
 *   loader deepbind|local PLUGIN HOST PORT CAFILE SNI TOKEN HOW
 * Exit status: 0 on 2xx, 1 on another status, 2 on an error. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 9) {
		fprintf(stderr, "usage: loader deepbind|local PLUGIN HOST PORT CAFILE SNI TOKEN HOW\n");
		return 2;
	}
	int flags = RTLD_NOW | (strcmp(argv[1], "deepbind") == 0 ? RTLD_DEEPBIND : RTLD_LOCAL);
	void *h = dlopen(argv[2], flags);
	if (!h) {
		fprintf(stderr, "loader: %s\n", dlerror());
		return 2;
	}
	int (*get)(const char *, int, const char *, const char *, const char *, int) =
		(int (*)(const char *, int, const char *, const char *, const char *, int))dlsym(h, "plugin_get");
	if (!get)
		return 2;
	int st = get(argv[3], atoi(argv[4]), argv[5], argv[6], argv[7], atoi(argv[8]));
	return st < 0 ? 2 : st >= 200 && st < 300 ? 0 : 1;
}
