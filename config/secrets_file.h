/* Reading a secrets file (TOKSHIM_SECRETS_FILE, --secrets-file): the one
 * loader the CLI and the shim share, so both refuse the same files.
 * config/ holds configuration that is read from files: it does I/O, so it
 * is not in decode/ (pure), and it is input, not output, so not in report/. */
#ifndef TOKSHIM_SECRETS_FILE_H
#define TOKSHIM_SECRETS_FILE_H

#include "decode/validate.h"

#define SECRETS_FILE_MAX (1 << 20) /* bytes */

enum secrets_status {
	SECRETS_OK = 0,
	SECRETS_UNREADABLE,  /* cannot open or read it */
	SECRETS_NOT_REGULAR, /* a FIFO, a device, a directory */
	SECRETS_MODE,        /* other users may read it: looser than 0600 */
	SECRETS_TOO_LARGE,   /* more than SECRETS_FILE_MAX bytes */
	SECRETS_BAD_LINE,    /* a line keyring_add_lines refused (the lines before it are kept) */
	SECRETS_MISSING,     /* no file there: the value may be a secret put in the wrong variable */
	SECRETS_OWNER,       /* owned by another user than the caller or root */
	SECRETS_SYMLINK,     /* the path is a symbolic link */
};

/* Adds the "SKxxxx SECRET" lines of the file at path to kr. The file is
 * opened without blocking (a FIFO never hangs the caller) and without
 * following a symbolic link (O_NOFOLLOW), must be a regular file owned by
 * the caller (effective uid) or root, of mode 0600 or stricter and at most
 * SECRETS_FILE_MAX bytes; its contents are wiped from memory after use. On
 * a problem, err holds the reason without the path (never any part of a
 * secret). SECRETS_MISSING: callers must not echo the value (it is not a
 * path to anything; quite likely a secret). */
enum secrets_status secrets_file_load(struct keyring *kr, const char *path, struct tk_error *err);

#endif
