/* libtokshim.so internals, shared by the files of shim/ and never exported
 * (shim/exports.map lists the only names that leave the library).
 *
 * Layers (STYLE.md): the hook_*.c files are thin; they resolve the real
 * function (real.c), skip their work when the thread is already inside the
 * shim (the guard below), call the real function, hand (connection, bytes)
 * to the core (shim.c, conn.c), restore errno and return the real result.
 *
 * Files call downwards only, each into files on lower lines
 * (tests/tools/file_cycles.py checks it from the objects' symbols):
 *   init.c (load, fork, unload)      hook_dlsym.c
 *   hook_ffi.c (TOKSHIM_HOOKS)
 *   hooks.c (the hooked names)
 *   hook_libc.c, hook_openssl.c, hook_gnutls.c
 *   shim.c (configuration, the feed, warnings)
 *   conn.c (the connection table)
 *   pool.c, clock.c, guard.c, real.c
 */
#ifndef TOKSHIM_SHIM_H
#define TOKSHIM_SHIM_H

#include <errno.h>
#include <link.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "decode/session.h"
#include "shim/thread.h"

#define SHIM_EXPORT __attribute__((visibility("default")))
#define SHIM_HIDDEN __attribute__((visibility("hidden")))

/* A connection's key (conn.c): 64 bits on every word size, so that a
 * pointer, an fd or a whole 32-bit FFI handle (hook_ffi.c) fits beside the
 * kind bits. */
typedef uint64_t conn_key;

/* The spin-wait hint of a busy loop: pause on x86, yield on ARM (lets the
 * other hardware thread run and saves power on a weakly ordered SoC). */
static inline void shim_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* ---- recursion guard, process identity (guard.c) --------------------------
 * The per-thread state (shim/thread.h), among it:
 * shim_in: non-zero while this thread runs shim code or a real function
 * called by a hook: any I/O that starts there passes straight through.
 * shim_inner_fd: while a hook runs a real TLS write, -1, then the first
 * socket the library wrote to underneath (the peer of a connection whose
 * SSL_get_fd is -1); -2 when not recording. */

/* Non-zero once the constructor has read the configuration and the shim is
 * not disabled (TOKSHIM_DISABLE=1): hooks only forward until then. */
extern atomic_int shim_ready;

static inline int shim_active(void)
{
	return !shim_in && atomic_load_explicit(&shim_ready, memory_order_acquire);
}

/* shim_in while a hook's real TLS read runs (1 everywhere else). The socket
 * I/O beneath that read is ciphertext and passes through, as does a TLS
 * read there (the same read seen by a second hook, or a stacked layer). A
 * TLS write that starts there is followed: it is the host's own, from a
 * callback of the library (OpenSSL's info and new-session callbacks, where
 * Node runs JavaScript, and the WebSocket upgrade request is written the
 * moment the handshake completes inside SSL_read), or a stacked layer's
 * records (TLS inside TLS, which the decoder gives up on). */
#define SHIM_IN_TLS_READ 2

/* For the TLS write hooks: shim_active(), or inside a real TLS read. Such a
 * hook saves shim_in and puts it back, not 0. */
static inline int shim_tls_write_active(void)
{
	return (!shim_in || shim_in == SHIM_IN_TLS_READ) && atomic_load_explicit(&shim_ready, memory_order_acquire);
}

/* Around a hook's real TLS write: start recording the socket the library
 * writes to; at the end, hand it on to an outer recording hook (a
 * TOKSHIM_HOOKS function whose call reached this write). */
static inline int shim_inner_begin(void)
{
	int prev = shim_inner_fd;
	shim_inner_fd = -1;
	return prev;
}
static inline void shim_inner_end(int prev)
{
	int got = shim_inner_fd;
	shim_inner_fd = prev == -1 ? got : prev;
}

/* libnghttp2's HPACK functions, dlopen'ed at the first call (hpack.c); NULL
 * when they cannot be had, with *first_failure set (and the reason in
 * why[0..cap)) on the one call that found out. */
struct h2_hpack_ops;
const struct h2_hpack_ops *shim_hpack_load(int *first_failure, char *why, size_t cap);

/* Called by the libc hooks for I/O that happens inside the shim. */
static inline void shim_note_inner_fd(int fd)
{
	if (shim_inner_fd == -1)
		shim_inner_fd = fd;
}

/* Records getpid(): at load and in a fork child. */
void shim_pid_set(void);
/* pthread_atfork(NULL, NULL, child): glibc's registration called directly,
 * as libc_nonshared's pthread_atfork does, from our cold text (the linker
 * puts libc_nonshared's copy at the far end of the text, a page the load
 * would otherwise touch for this call alone). 0, or an error number. */
int shim_atfork_child(void (*child)(void));
/* The pid recorded last (this process's, also in a vfork child). */
int shim_pid(void);
/* Non-zero in a child that shares our memory with no fork handler run (a
 * vfork child, clone(CLONE_VM)): it must change nothing of ours (one
 * getpid(), for the rare paths only). */
int shim_vfork_child(void);

/* ---- the core (shim.c) ------------------------------------------------------ */
struct conn;
/* Reads the configuration and makes the reporter; -1 (after a warning) when
 * out of memory: the shim then hooks nothing. Once, at load. */
int shim_core_init(void);
/* In a fork child: the reporter's locks. At unload: the summaries due. */
void shim_core_after_fork(void);
void shim_core_fini(void);
/* A warning line "tokshim[pid]: warning: <msg>" written with the real
 * write() to fd 2. Not for the write path (uses vsnprintf). */
void shim_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same with "info:" (a hook stepped aside), only at TOKSHIM_LEVEL=info. */
void shim_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* shim_nested_id (shim/thread.h): while a hook of a TOKSHIM_HOOKS
 * description runs the real function, 0, then the report id of the first
 * connection a built-in hook fed underneath (that write and the described
 * one are the same plaintext: one report); -1 when not recording.
 * shim_thr.nest_rec is 1 while it records. */
/* One warning per variable, not one per bad element: shim_warn_note keeps
 * the first problem and counts; shim_warn_flush says it once ("VAR: first"
 * or "VAR: N problems, the first: first") and resets. */
struct shim_warn_once {
	int n;
	char first[300];
};
void shim_warn_note(struct shim_warn_once *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void shim_warn_flush(struct shim_warn_once *w, const char *var);
/* The host is about to close fd (close), or it now holds another file (the
 * target of a dup2/dup3 that worked): the
 * reporter's sinks let go of it (reporter_fd_closed). Inside the guard. */
void shim_fd_closing(int fd);
/* Non-zero when one of our sinks writes to fd (no syscall). */
int shim_fd_is_sink(int fd);
/* Feeds bytes the client wrote on c (locked): the wire decoder, validation,
 * each diagnosis to the reporter. No malloc, no stdio. */
void shim_feed(struct conn *c, const void *buf, size_t len);
/* The connection of key ended (close, SSL_free, gnutls_deinit): what its
 * decoder still holds is judged (session_end), then it is forgotten (its
 * token bytes wiped with its block). Nothing when key is not followed. */
void shim_conn_close(conn_key key);
/* shim_conn_close from a hook seeing the host end a connection (a TLS
 * library's free, before the real call: once freed, the address may be
 * handed out again): inside the guard, the guard's state and errno kept. */
static inline void shim_conn_close_hooked(conn_key key)
{
	int saved = errno, was = shim_in;
	shim_in = 1;
	shim_conn_close(key);
	shim_in = was;
	errno = saved;
}
/* Feeds bytes the client read on c (locked), the server's answers: the
 * server decoder, the answer and lifetime records. Nothing with
 * TOKSHIM_READ=0, or before the client wrote (no session). */
void shim_feed_read(struct conn *c, const void *buf, size_t len);
void shim_feed_read_iov(struct conn *c, const struct iovec *iov, size_t iovcnt, size_t total);
/* The client read bytes the shim cannot see (MSG_TRUNC on a stream): the
 * server's direction of c (locked) is given up. */
void shim_read_lost(struct conn *c);
/* TOKSHIM_READ: 1 (default) read what the server sends. */
extern int shim_read_on;

/* ---- real functions (real.c) --------------------------------------------- */
/* glibc's own dlsym/dlvsym, found by reading the dynamic symbol table of
 * libc.so.6 (libdl.so.2 before glibc 2.34; as a last resort the object that
 * defines the dlopen we see), so that our interposed dlsym/dlvsym, and other
 * preloaded wrappers, are never involved. NULL when not found. */
void *shim_real_dlsym_ptr(void);
void *shim_real_dlvsym_ptr(void);
void *shim_real_dlsym(void *handle, const char *name);
/* glibc's own function name of its dl family (dlopen), as for dlsym. */
void *shim_real_dl(const char *name);

/* libc functions: resolved with dlsym(RTLD_NEXT) by the constructor
 * (shim_libc_init), else lazily at first use (never cached NULL); when libc's
 * cannot be found, the system call itself (shim_sys_*), never ENOSYS. */
struct libc_real {
	_Atomic(void *) connect, send, sendto, sendmsg, write, writev, close, dup2, dup3;
	_Atomic(void *) read, readv, recv, recvfrom, recvmsg;
	/* 32-bit targets: libc's __recvmsg64, recvmsg of _TIME_BITS=64 programs */
	_Atomic(void *) recvmsg64;
};
extern struct libc_real shim_libc;
void *shim_libc_resolve(_Atomic(void *) *slot, const char *name);
void shim_libc_init(void);
/* The function name in the dynamic symbol table (GNU hash, else SysV hash)
 * of the object loaded at base whose dynamic section is dyn; NULL when it
 * does not define it. Reads memory only: no loader lock, no allocation. */
void *shim_elf_lookup(ElfW(Addr) base, const ElfW(Dyn) *dyn, const char *name);
/* The same in steps, for many names in one object: its dynamic section read
 * once, each name's GNU hash computed once (shim_elf_gnu_hash, or
 * SHIM_GNU_HASH at compile time). */
struct shim_elf {
	ElfW(Addr) base;
	const ElfW(Sym) *symtab;
	const char *strtab;
	size_t strsz;
	const uint32_t *gnuhash, *hash;
	/* the GNU hash table's bloom filter when its size is a power of two
	 * (as ld.so requires), else NULL */
	const ElfW(Addr) *bloom;
	uint32_t bloom_mask, bloom_shift;
};
void shim_elf_open(struct shim_elf *e, ElfW(Addr) base, const ElfW(Dyn) *dyn);
uint32_t shim_elf_gnu_hash(const char *name);
/* size: the symbol's st_size (0 unknown), when not NULL */
void *shim_elf_find(const struct shim_elf *e, const char *name, uint32_t gnu_hash, size_t *size);
/* 0 when e's bloom filter says it defines no symbol of GNU hash h (what
 * shim_elf_find answers first for most names an object lacks), without a
 * call; 1: maybe, ask shim_elf_find. */
static inline int shim_elf_may_define(const struct shim_elf *e, uint32_t h)
{
	const unsigned bits = sizeof(ElfW(Addr)) * 8;
	if (!e->bloom)
		return 1;
	ElfW(Addr) word = e->bloom[(h / bits) & e->bloom_mask];
	ElfW(Addr) mask = ((ElfW(Addr))1 << (h % bits)) | ((ElfW(Addr))1 << ((h >> e->bloom_shift) % bits));
	return (word & mask) == mask;
}
/* The GNU hash of a string literal of at most 32 characters, a constant
 * (shim_elf_gnu_hash's value): the names the load looks up in every object
 * are not hashed at run time. A longer literal does not compile. */
#define SHIM_GH_(s, i, h)                                                                 \
	((uint32_t)(h) * ((i) < sizeof(s) - 1 ? 33u : 1u) +                                \
	 ((i) < sizeof(s) - 1 ? (uint32_t)(unsigned char)(s)[(i) < sizeof(s) ? (i) : 0] : 0u))
#define SHIM_GH4_(s, i, h) SHIM_GH_(s, (i) + 3, SHIM_GH_(s, (i) + 2, SHIM_GH_(s, (i) + 1, SHIM_GH_(s, i, h))))
#define SHIM_GH16_(s, i, h) \
	SHIM_GH4_(s, (i) + 12, SHIM_GH4_(s, (i) + 8, SHIM_GH4_(s, (i) + 4, SHIM_GH4_(s, i, h))))
#define SHIM_GNU_HASH(s) \
	((uint32_t)(SHIM_GH16_(s, 16, SHIM_GH16_(s, 0, 5381u)) + 0 * sizeof(char[sizeof(s) <= 33 ? 1 : -1])))
int shim_sys_connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len);
ssize_t shim_sys_send(int fd, const void *buf, size_t n, int flags);
ssize_t shim_sys_sendto(int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG addr, socklen_t alen);
ssize_t shim_sys_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t shim_sys_write(int fd, const void *buf, size_t n);
ssize_t shim_sys_writev(int fd, const struct iovec *iov, int cnt);
ssize_t shim_sys_read(int fd, void *buf, size_t n);
ssize_t shim_sys_readv(int fd, const struct iovec *iov, int cnt);
ssize_t shim_sys_recv(int fd, void *buf, size_t n, int flags);
ssize_t shim_sys_recvfrom(int fd, void *buf, size_t n, int flags, __SOCKADDR_ARG addr, socklen_t *alen);
ssize_t shim_sys_recvmsg(int fd, struct msghdr *msg, int flags);
int shim_sys_close(int fd);
int shim_sys_dup2(int oldfd, int newfd);
int shim_sys_dup3(int oldfd, int newfd, int flags);
#define SHIM_LIBC(fn)                                                                   \
	({                                                                              \
		void *p_ = atomic_load_explicit(&shim_libc.fn, memory_order_acquire);  \
		if (!p_)                                                                \
			p_ = shim_libc_resolve(&shim_libc.fn, #fn);                     \
		if (!p_)                                                                \
			p_ = (void *)shim_sys_##fn;                                     \
		p_;                                                                     \
	})

/* Non-zero when p lies inside libtokshim.so: between the first and
 * past-the-last bytes of its own image (the linker's symbols: its ELF
 * header, the end of its bss). A range check, not a dladdr (which walks every
 * loaded object's symbols); inline, so that the load's callers touch no page
 * of the hot text. */
extern const char __ehdr_start[] SHIM_HIDDEN;
extern const char _end[] SHIM_HIDDEN;
static inline int shim_is_self(const void *p)
{
	return (uintptr_t)p >= (uintptr_t)__ehdr_start && (uintptr_t)p < (uintptr_t)_end;
}

/* A family of libraries providing hooked functions (libssl, libgnutls) and,
 * per library loaded in the process, the real functions of that library. */
#define REALLIB_MAX 4   /* different copies of one library in a process */
#define REALLIB_FNS 12  /* names per family */
#define REALLIB_SITES 64

struct reallib {
	void *handle;             /* dlopen(path, RTLD_NOLOAD) of the library, kept */
	void *base;               /* its load address (dli_fbase) */
	_Atomic(void *) fn[REALLIB_FNS];
	int aux;                  /* for the family's use (OpenSSL: ex_data index) */
};

struct realfamily {
	const char *soname;              /* "libssl.so": found by name as a last resort */
	const char *const *names;        /* names[0]: the anchor, the hooked write */
	size_t nnames;
	void (*on_new)(struct reallib *l); /* called once per library, under the lock */
	/* private, zero-initialised */
	struct reallib libs[REALLIB_MAX];
	atomic_int nlibs;
	_Atomic(struct reallib *) last;  /* last one seen by the dlsym hook */
	_Atomic(const void *) site_key[REALLIB_SITES];
	_Atomic(struct reallib *) site_lib[REALLIB_SITES];
	_Atomic(void *) next[REALLIB_FNS]; /* dlsym(RTLD_NEXT) of each name */
};

/* The library whose functions a call from return address `ret` must reach:
 * the one the calling object links (dladdr, then dlopen(path, RTLD_NOLOAD)
 * and a look-up in its scope), else dlsym(RTLD_NEXT), else the one the dlsym
 * hook saw last, else the first loaded object whose name holds f->soname.
 * Cached per call site; never caches a failure. NULL when none is loaded. */
struct reallib *realfamily_for_caller(struct realfamily *f, const void *ret);
/* Real function i for a call from `ret` while the shim is not active for
 * good (TOKSHIM_DISABLE=1, secure execution, before the constructor): the
 * next definition after us in the global scope (one dlsym, cached), else
 * the first loaded object of the family's name that defines it (read from
 * its symbol table); no dlopen/dlclose either way. Cached. */
void *realfamily_idle_fn(struct realfamily *f, const void *ret, size_t i);
/* The library behind `handle` (a dlopen handle), registered as f's last. */
struct reallib *realfamily_for_handle(struct realfamily *f, void *handle);
/* Real function i of l (resolved on first use; NULL when l lacks it). */
void *reallib_fn(struct realfamily *f, struct reallib *l, size_t i);
/* The function a hooked call goes on to: reallib_fn, else the next
 * definition of its name after libtokshim.so in the global scope (the
 * caller's library may define only some of the family's names, like a
 * wrapper that defines SSL_write alone and links no libssl), so that the
 * host's call is never refused for want of a library. */
void *reallib_call_fn(struct realfamily *f, struct reallib *l, size_t i);
/* In a forked child: the family's lock. */
void realfamily_after_fork(void);

/* Registers the object whose ELF header is at fbase as one of f's libraries
 * with its functions given (fns[i] for f->names[i], NULL: not known; a
 * non-NULL one replaces what was known: an entry-patched function's
 * trampoline). handle (kept: a dlopen RTLD_NOLOAD of the object, or NULL for
 * none) finds the others later. The library, or NULL when f has REALLIB_MAX
 * already. */
struct reallib *realfamily_add(struct realfamily *f, const void *fbase, void *handle, void *const *fns);

extern struct realfamily shim_openssl_family;
extern struct realfamily shim_gnutls_family;
extern struct realfamily shim_mbedtls_family;
extern struct realfamily shim_wolfssl_family;

/* ---- entry-patched targets (targets.c, hook_*.c) ----------------------------
 * A target is a function of a TLS library hooked at its entry (shim/inline.h)
 * wherever its code is: a shared library, the main executable (Node's
 * bundled OpenSSL), a static copy. Each hook file lists its targets; one
 * patched copy of a target is a site, with its own hook function (so that
 * the hook knows which trampoline and which library it stands for). */
#define INLINE_COPIES 4

enum inline_kind { IK_WRITE, IK_HOST, IK_FREE, IK_READ };

struct inline_site {
	_Atomic(void *) orig;     /* the trampoline; NULL: site unused */
	void *entry;              /* the patched function */
	struct reallib *lib;      /* its library's other functions */
};

struct inline_target {
	const char *symbol;       /* "SSL_write"; with find, a label for messages */
	uint32_t hash;            /* SHIM_GNU_HASH(symbol), without find */
	/* A function found from the library's others (fns: family->names'
	 * addresses), not by a symbol of its own (a static function); NULL:
	 * by symbol. */
	void *(*find)(void *const *fns);
	enum inline_kind kind;
	struct realfamily *family;
	int fn;                   /* the index of symbol in family->names */
	void *hook[INLINE_COPIES];
	struct inline_site *site; /* [INLINE_COPIES] */
};
/* A target's symbol and its hash, in its initialiser. */
#define INLINE_SYMBOL(s) .symbol = s, .hash = SHIM_GNU_HASH(s)

/* Each family's targets, NULL-terminated. */
extern const struct inline_target *const shim_openssl_inline[];
extern const struct inline_target *const shim_gnutls_inline[];
extern const struct inline_target *const shim_mbedtls_inline[];
extern const struct inline_target *const shim_wolfssl_inline[];

/* Non-zero unless TOKSHIM_INLINE=0. */
extern int shim_inline_on;
/* Reads TOKSHIM_INLINE and patches the targets of the objects loaded now.
 * Called once by the constructor, inside the guard. */
void shim_targets_init(void);
/* Patches the targets of the objects loaded since the last scan (our dlopen,
 * before it returns; our dlsym); nothing when another thread is scanning.
 * Inside the guard. */
void shim_targets_rescan(void);
/* Non-zero when name is a target patched in some object (TOKSHIM_HOOKS
 * refuses to describe it again). */
int shim_targets_patched(const char *name);

/* ---- session blocks (pool.c) ----------------------------------------------
 * mmap'ed, kept in a bounded free list when released so that a new
 * connection reuses one (no mmap, no page faults, no munmap). A block is
 * all zeros when handed out; one handed back (its session released) is
 * wiped of what its session used (session_wipe) or unmapped. */
struct session;
void *shim_block_get(size_t *size);
void shim_block_put(struct session *s, size_t size);
/* In a fork child: the list's lock; the parent's blocks are not reused. */
void shim_block_after_fork(void);
/* The block size, computed once by the constructor before the host can
 * start threads (read-only afterwards). */
void shim_block_init(void);

/* ---- connections (conn.c) -------------------------------------------------
 * A table keyed by SSL*, gnutls_session_t or fd that grows with the
 * connections (segments of CONN_SEG_SLOTS slots, never moved). No global
 * lock on the write path: keys are atomics, each slot has its own spinlock
 * that guards its state (the session). Pointer keys are found through a
 * growing hash index; fds (< CONN_FD_MAX) through a direct map. */
#define CONN_SEG_SLOTS 1024
#define CONN_SEGS 4096        /* 4 Mi connections: memory runs out first */
#define CONN_FD_MAX 65536

enum conn_kind { CONN_SSL = 1, CONN_GNUTLS = 2, CONN_FD = 3 };

static inline conn_key conn_key_ptr(enum conn_kind k, const void *p)
{
	return (conn_key)(uintptr_t)p | (conn_key)k;
}
static inline conn_key conn_key_fd(int fd)
{
	return ((conn_key)(unsigned)fd << 2) | CONN_FD;
}

/* Pointer keys of the libraries hooked only at their entries (mbedTLS,
 * wolfSSL): the space of hook_ffi.c's keys (low two bits 0, a 6-bit group
 * above them, the pointer above that), with groups no description uses. */
enum conn_space { CONN_SPACE_MBEDTLS = 62, CONN_SPACE_WOLFSSL = 63 };
static inline conn_key conn_key_space(enum conn_space sp, const void *p)
{
	/* 56 bits of the pointer (user-space addresses; an AArch64 tag byte dropped) */
	conn_key v = (conn_key)(uintptr_t)p & ((UINT64_C(1) << 56) - 1);
	return (v << 8) | ((conn_key)sp << 2);
}

struct session;
struct h2_fast;
struct conn {
	_Atomic conn_key key;      /* 0 free, CONN_TOMB removed */
	atomic_int lock;
	atomic_int passthrough;     /* nothing more to find: writes cost a lookup */
	uint32_t slot;              /* this slot's number (fixed) */
	/* guarded by the table's lock */
	uint32_t next_free;         /* the free list's next slot */
	conn_key ikey;              /* the key its index entry was made for */
	/* the write hooks' quick check (shim/fast.h), written under the lock
	 * with atomic stores, read without it (q_n with acquire, the others
	 * relaxed, which the compiler folds into the compares: each an
	 * aligned word, set before q_n and cleared after it): a write that is
	 * one whole frame like the last one the fast path took with the
	 * decoder at rest (its length q_n, SIZE_MAX when off; its header's
	 * first bytes under q_mask; its header's size) leaves the decoder at
	 * rest and needs no feed */
	size_t q_n;
	uint32_t q_hdr, q_mask;
	/* the time is not past due while shim_ticks() - tick0 < tick_win,
	 * as unsigned words (a counter that went back, a thread on a CPU whose
	 * counter is behind, gives a huge difference: the slow path decides);
	 * tick_win 0: unknown. Word-sized, so never read torn. */
	uintptr_t tick0, tick_win;
	uint32_t q_size;
	/* guarded by lock */
	int tls;                    /* 1: SSL/gnutls plaintext, 0: TCP payload */
	uint64_t id;                /* unique in the process, for the reporter */
	struct session *s;          /* mmap'ed at the first data, NULL before */
	size_t s_size;
	const char *library;        /* "openssl", "gnutls", "mbedtls", "wolfssl", "libc", "ffi:NAME" */
	const char *hook;           /* how its writes are seen: "plt" (set by conn_add), "inline", "ffi" */
	int hook_fed;               /* 1 once a write was fed: hook names that write's hook (a
	                             * connection made by a host-name call has no write yet) */
	int fd;                     /* socket behind it, -1 unknown */
	unsigned short port;        /* peer port, 0 unknown */
	char host[128];             /* SNI, "" unknown */
	char peer[64];              /* "127.0.0.1:9443", "" unknown */
	/* the write path's fast path (shim/fast.h), guarded by lock */
	struct ws_frame *fast;      /* the session's decoder fast path, NULL without a session */
	struct h2_fast *fast_h2;    /* its HTTP/2 one, NULL without a session */
	int64_t due;                /* session_watch_due after the last feed */
	/* GnuTLS: a copy of the plaintext of a send that returned E_AGAIN or
	 * E_INTERRUPTED, fed when a retry (NULL, 0) reports it sent */
	unsigned char *pend;        /* CONN_PEND_MAX bytes, mmap'ed at the first need */
	size_t pend_n;              /* bytes pending in pend, 0 none */
	/* a followed socket's identity, checked before each report (not on
	 * the connect or write path): a number closed behind our back
	 * (fclose, close_range, a raw syscall) and reused is not reported */
	int ident;                  /* 1: checked once, dev/ino below are known */
	int gone;                   /* the fd is no longer that socket */
	uint64_t dev, ino;
	/* once its token is judged and both directions' decoders are at rest,
	 * a connection keeps only this (session_park) and gives its block back
	 * to the pool; the next bytes the fast paths (the hooks', shim_feed's,
	 * shim_feed_read's on the parked state) do not take get a block again
	 * (session_unpark). The pages are touched only by a parked connection. */
	int parked;                 /* park holds the session; s is NULL */
	int hot;                    /* one of the CONN_HOT connections that keep their block */
	_Alignas(16) unsigned char park[SESSION_PARK_SIZE];
};
_Static_assert(sizeof(struct conn) <= 2048, "a followed connection stays within 2 KiB");
#define CONN_PEND_MAX 16384     /* a TLS record's plaintext at most */

/* The quick check of c is off (its decoder may change) / its time is to be
 * checked again (its due time changed). */
static inline void conn_quick_off(struct conn *c)
{
	__atomic_store_n(&c->q_n, SIZE_MAX, __ATOMIC_RELAXED);
}
static inline void conn_due_changed(struct conn *c)
{
	__atomic_store_n(&c->tick_win, 0, __ATOMIC_RELAXED);
}

/* The segments of slots, for the fast paths' look-up through shim_fd_map:
 * each mapped before any slot of it is published, never moved. */
extern _Atomic(struct conn *) shim_conn_segs[CONN_SEGS] SHIM_HIDDEN;
static inline struct conn *shim_conn_at(uint32_t i)
{
	return atomic_load_explicit(&shim_conn_segs[i / CONN_SEG_SLOTS], memory_order_relaxed) +
	       i % CONN_SEG_SLOTS;
}

/* The fd map: slot number + 1 of the connection of each fd below
 * CONN_FD_MAX, 0 when the fd is not followed (files, pipes, sockets with
 * nothing to find). Read without a lock by the write hooks' fast path. */
extern _Atomic uint32_t shim_fd_map[CONN_FD_MAX] SHIM_HIDDEN;
static inline int shim_fd_mapped(int fd)
{
	return (unsigned)fd < CONN_FD_MAX && atomic_load_explicit(&shim_fd_map[fd], memory_order_relaxed);
}

/* The first CONN_HOT connections whose token is judged keep their block
 * (a busy connection pays no park and unpark per message; a fixed
 * CONN_HOT * block size in all, like the pool's own BLOCKS_KEPT): 1 when c
 * (locked) is or now becomes one of them, 0 when it should park. */
#define CONN_HOT 16
int conn_hot(struct conn *c);

/* Connections the table could not take (out of memory, an fd past the
 * map) since load; the first one is said on stderr. */
unsigned long conn_unfollowed(void);
/* c locked when it still holds key (a cached slot pointer), else NULL. */
struct conn *conn_lock_if(struct conn *c, conn_key key);
/* c (locked) is fed a write seen by hook: the first one names the
 * connection's hook. */
static inline void conn_hook_fed(struct conn *c, const char *hook)
{
	if (!c->hook_fed && hook) {
		c->hook = hook;
		c->hook_fed = 1;
	}
}
/* Locked connection for key, or NULL when it is not followed. */
struct conn *conn_find(conn_key key);
/* Adds key, locked, with fresh state (an existing entry of the same key is
 * reset). NULL when out of memory: the connection is not followed (counted). */
struct conn *conn_add(conn_key key, const char *library, int tls);
void conn_unlock(struct conn *c);
/* Ends c's state and unlocks it. */
void conn_remove(struct conn *c);
/* Nothing more to find on c (locked): frees its session, keeps the entry
 * (an fd's entry is removed: out of the fd map, its writes cost one load). */
void conn_set_passthrough(struct conn *c);
/* Finds and removes key; nothing when it is not followed. */
void conn_forget(conn_key key);
/* In a forked child: forget every connection (the locks may be held by
 * threads that do not exist in the child). */
void conn_after_fork(void);

/* Fills c->peer and c->port from getpeername(fd) (nothing when it fails). */
void conn_set_peer_fd(struct conn *c, int fd);
void conn_set_peer_addr(struct conn *c, const struct sockaddr *sa, socklen_t len);
/* Formats a socket address as "1.2.3.4:80" / "[::1]:80" into buf (cap
 * bytes) and its port; 0 when it is not INET/INET6 or does not fit. */
int conn_format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap, unsigned short *port);
void conn_set_host(struct conn *c, const char *host, size_t n);
/* 0 when c is an fd connection whose fd is not (or no longer) the TCP
 * socket that connected to c->peer, or when called in a vfork child (sets
 * c->gone); system calls, for the report path only. */
int conn_ident_ok(struct conn *c);
/* Learns the calling thread's id for the slot locks (one gettid, once per
 * thread): called on the report path, never on the write path. */
void conn_learn_tid(void);

/* ---- hook_ffi.c ------------------------------------------------------------ */
/* TOKSHIM_HOOKS (decode/hookdesc.h): parses the descriptions, warns about a
 * malformed one, and hooks the others (libffi closures, GOT entries of the
 * loaded objects). Called once at load, inside the guard. */
void shim_ffi_init(const char *spec);
/* For our dlsym: p (glibc's answer for name) or the closure hooking it; scans
 * the objects loaded since the last call first. */
void *shim_ffi_dlsym(const char *name, void *p);

/* ---- the hooks under their hidden names (exact addresses, no PLT) ------------ */
struct ssl_st;
struct gnutls_session_int;
int shim_connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len);
ssize_t shim_send(int fd, const void *buf, size_t n, int flags);
ssize_t shim_sendto(int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG addr, socklen_t alen);
ssize_t shim_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t shim_write(int fd, const void *buf, size_t n);
ssize_t shim_writev(int fd, const struct iovec *iov, int cnt);
int shim_close(int fd);
ssize_t shim_read(int fd, void *buf, size_t n);
ssize_t shim_readv(int fd, const struct iovec *iov, int cnt);
ssize_t shim_recv(int fd, void *buf, size_t n, int flags);
ssize_t shim_recvfrom(int fd, void *buf, size_t n, int flags, __SOCKADDR_ARG addr, socklen_t *alen);
ssize_t shim_recvmsg(int fd, struct msghdr *msg, int flags);
ssize_t shim_recvmsg64(int fd, struct msghdr *msg, int flags);
int shim_SSL_read(struct ssl_st *ssl, void *buf, int num);
int shim_SSL_read_ex(struct ssl_st *ssl, void *buf, size_t num, size_t *readbytes);
ssize_t shim_gnutls_record_recv(struct gnutls_session_int *s, void *data, size_t size);
int shim_dup2(int oldfd, int newfd);
int shim_dup3(int oldfd, int newfd, int flags);
int shim_SSL_write(struct ssl_st *ssl, const void *buf, int num);
int shim_SSL_write_ex(struct ssl_st *ssl, const void *buf, size_t num, size_t *written);
long shim_SSL_ctrl(struct ssl_st *ssl, int cmd, long larg, void *parg);
ssize_t shim_gnutls_record_send(struct gnutls_session_int *s, const void *data, size_t size);
int shim_gnutls_server_name_set(struct gnutls_session_int *s, int type, const void *name, size_t len);
void shim_gnutls_deinit(struct gnutls_session_int *s);
void *shim_dlsym_entry(void *handle, const char *name);
void *shim_dlvsym_entry(void *handle, const char *name, const char *version);
void *shim_dlopen_entry(const char *file, int mode);

/* ---- the hooked names (hooks.c) ------------------------------------------- */
enum shim_family { SHIM_FAM_LIBC, SHIM_FAM_OPENSSL, SHIM_FAM_GNUTLS, SHIM_FAM_DL };
struct shim_hooked {
	const char *name;
	void *hook;       /* our hook under its hidden name; NULL for SHIM_FAM_DL
			   * (hook_dlsym.c answers with its own entry points) */
	enum shim_family fam;
	size_t libc_off;  /* SHIM_FAM_LIBC: which slot of shim_libc */
};
/* The entry for a name the shim hooks (every name of shim/exports.map),
 * NULL for any other name. */
const struct shim_hooked *shim_hooked_find(const char *name);

#endif
