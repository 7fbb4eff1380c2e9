/* TOKSHIM_HOOKS: descriptions of functions the shim interposes at run time
 * (libffi closures, shim/hook_ffi.c). This is the pure parser: text in, a
 * struct hookdesc out; nothing here knows libffi or the loaded objects.
 *
 *   TOKSHIM_HOOKS = DESC { ';' DESC }
 *   DESC  = NAME ':' SYMBOL '(' [ ARG { ',' ARG } ] ')' [ '->' TYPE ] [ '@' KIND ]
 *   ARG   = TYPE [ ROLE | LABEL ]
 *   TYPE  = ptr str int uint long ulong size ssize i32 u32 i64 u64 (void: return only)
 *   ROLE  = conn buf len written host
 *   KIND  = write (the default) | free | host
 *
 * e.g. "mbedtls:mbedtls_ssl_write(ptr conn, ptr buf, size len) -> int".
 * NAME labels the hooked library ("ffi:NAME" in diagnoses; descriptions with
 * one NAME share their connections). Whitespace is free between tokens.
 *
 * write: exactly one conn (a pointer or an integer: the connection's key),
 *   one buf (ptr or str) and one len (an integer type). The bytes written:
 *   with a `written` argument (a pointer to a size_t, as SSL_write_ex), that
 *   size_t when the return value is > 0 (or the return type is void);
 *   otherwise the return value when 0 < value <= len (an integer return type),
 *   or all len bytes when the return type is void.
 * free: one conn; the connection ends (after the real call).
 * host: one conn and one host (str or ptr: a C string; with a len argument,
 *   its length); the connection's host name (SNI) is set. */
#ifndef TOKSHIM_HOOKDESC_H
#define TOKSHIM_HOOKDESC_H

#include <stddef.h>

#include "decode/diag.h"

enum hd_type {
	HD_VOID,
	HD_PTR,
	HD_STR,
	HD_INT,
	HD_UINT,
	HD_LONG,
	HD_ULONG,
	HD_SIZE,
	HD_SSIZE,
	HD_I32,
	HD_U32,
	HD_I64,
	HD_U64,
	HD__COUNT
};

enum hd_kind { HD_WRITE, HD_FREE, HD_HOST };

#define HOOKDESC_ARGS_MAX 16
#define HOOKDESC_NAME_MAX 32    /* with the NUL */
#define HOOKDESC_SYMBOL_MAX 128 /* with the NUL */

struct hookdesc {
	char name[HOOKDESC_NAME_MAX];
	char symbol[HOOKDESC_SYMBOL_MAX];
	enum hd_kind kind;
	enum hd_type ret;
	unsigned nargs;
	enum hd_type args[HOOKDESC_ARGS_MAX];
	/* argument indexes of the roles, -1 when absent */
	int conn, buf, len, written, host;
};

/* The next non-blank ';'-separated description of *spec: (*p, *n), *spec
 * advanced past it. 0 when none is left. */
int hookdesc_next(const char **spec, const char **p, size_t *n);

/* Parses one description (p, n). 0 on success; -1 with err set ("expected
 * '(' after 'mytls_write'", ...) when it is malformed; d is then unusable. */
int hookdesc_parse(const char *p, size_t n, struct hookdesc *d, struct tk_error *err);

/* "ptr", "size", ... ("?" for an unknown value). */
const char *hookdesc_type_name(enum hd_type t);
/* Non-zero for the integer types (not ptr, str, void). */
int hookdesc_type_is_int(enum hd_type t);
/* Non-zero for the signed integer types. */
int hookdesc_type_is_signed(enum hd_type t);

#endif
