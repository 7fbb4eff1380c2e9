/* The names the shim hooks (shim/exports.map's list), with the hook for
 * each and the family whose real function it forwards to: the dlsym hook
 * swaps a looked-up function for its hook, the runtime hooks
 * (TOKSHIM_HOOKS) refuse a name hooked already. */
#include <stddef.h>
#include <string.h>

#include "shim/shim.h"

static const struct shim_hooked hooked[] = {
	{ "connect", (void *)shim_connect, SHIM_FAM_LIBC, offsetof(struct libc_real, connect) },
	{ "send", (void *)shim_send, SHIM_FAM_LIBC, offsetof(struct libc_real, send) },
	{ "sendto", (void *)shim_sendto, SHIM_FAM_LIBC, offsetof(struct libc_real, sendto) },
	{ "sendmsg", (void *)shim_sendmsg, SHIM_FAM_LIBC, offsetof(struct libc_real, sendmsg) },
#if defined(__TIMESIZE) && __TIMESIZE == 32
	/* sendmsg's name for _TIME_BITS=64 programs (hook_libc.c) */
	{ "__sendmsg64", (void *)shim_sendmsg, SHIM_FAM_LIBC, offsetof(struct libc_real, sendmsg) },
#endif
	{ "write", (void *)shim_write, SHIM_FAM_LIBC, offsetof(struct libc_real, write) },
	{ "writev", (void *)shim_writev, SHIM_FAM_LIBC, offsetof(struct libc_real, writev) },
	{ "close", (void *)shim_close, SHIM_FAM_LIBC, offsetof(struct libc_real, close) },
	{ "dup2", (void *)shim_dup2, SHIM_FAM_LIBC, offsetof(struct libc_real, dup2) },
	{ "dup3", (void *)shim_dup3, SHIM_FAM_LIBC, offsetof(struct libc_real, dup3) },
	{ "read", (void *)shim_read, SHIM_FAM_LIBC, offsetof(struct libc_real, read) },
	{ "readv", (void *)shim_readv, SHIM_FAM_LIBC, offsetof(struct libc_real, readv) },
	{ "recv", (void *)shim_recv, SHIM_FAM_LIBC, offsetof(struct libc_real, recv) },
	{ "recvfrom", (void *)shim_recvfrom, SHIM_FAM_LIBC, offsetof(struct libc_real, recvfrom) },
	{ "recvmsg", (void *)shim_recvmsg, SHIM_FAM_LIBC, offsetof(struct libc_real, recvmsg) },
#if defined(__TIMESIZE) && __TIMESIZE == 32
	/* recvmsg's name for _TIME_BITS=64 programs: its own function in libc */
	{ "__recvmsg64", (void *)shim_recvmsg64, SHIM_FAM_LIBC, offsetof(struct libc_real, recvmsg64) },
#endif
	{ "SSL_write", (void *)shim_SSL_write, SHIM_FAM_OPENSSL, 0 },
	{ "SSL_write_ex", (void *)shim_SSL_write_ex, SHIM_FAM_OPENSSL, 0 },
	{ "SSL_ctrl", (void *)shim_SSL_ctrl, SHIM_FAM_OPENSSL, 0 },
	{ "SSL_read", (void *)shim_SSL_read, SHIM_FAM_OPENSSL, 0 },
	{ "SSL_read_ex", (void *)shim_SSL_read_ex, SHIM_FAM_OPENSSL, 0 },
	{ "gnutls_record_send", (void *)shim_gnutls_record_send, SHIM_FAM_GNUTLS, 0 },
	{ "gnutls_server_name_set", (void *)shim_gnutls_server_name_set, SHIM_FAM_GNUTLS, 0 },
	{ "gnutls_deinit", (void *)shim_gnutls_deinit, SHIM_FAM_GNUTLS, 0 },
	{ "gnutls_record_recv", (void *)shim_gnutls_record_recv, SHIM_FAM_GNUTLS, 0 },
	{ "dlsym", NULL, SHIM_FAM_DL, 0 },
	{ "dlvsym", NULL, SHIM_FAM_DL, 0 },
};

const struct shim_hooked *shim_hooked_find(const char *name)
{
	/* cheap rejection first: every hooked name starts with one of these */
	if (!name || !strchr("cswSgdr_", name[0]))
		return NULL;
	for (size_t i = 0; i < sizeof hooked / sizeof hooked[0]; i++)
		if (strcmp(hooked[i].name, name) == 0)
			return &hooked[i];
	return NULL;
}
