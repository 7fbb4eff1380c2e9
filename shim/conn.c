/* The connection table: SSL*, gnutls_session_t or fd -> struct conn.
 *
 * Fixed size, no malloc: CONN_SLOTS slots, open addressing with linear
 * probing on the key's hash, at most CONN_PROBE slots; a removed slot
 * becomes a tombstone that a later add may reuse. Keys are atomics; each slot's state is guarded by the
 * slot's own spinlock, so threads writing on different connections never
 * share a lock. An fd below CONN_FD_MAX is found in one step through a direct
 * map (slot index + 1), so a write to a file or pipe costs one load.
 *
 * Callers serialise operations on one key the way the libraries demand (an
 * SSL* is not written from two threads at once); the slot lock still makes
 * concurrent writes and a close on one fd safe. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "decode/session.h"
#include "shim/clock.h"
#include "shim/shim.h"

#define CONN_TOMB UINT64_MAX
/* A slot given up on (slot_poison): never looked up (no fd, no pointer or
 * ffi key has this value: an fd key's number would be negative), never reused. */
#define CONN_POISON (UINT64_MAX - 4)
#define CONN_MASK (CONN_SLOTS - 1)
/* Probe length of a pointer key. Tombstones are never turned back into
 * empty slots (a lock-free reader could then miss a key placed after one),
 * so after CONN_SLOTS connections every slot has been used and a miss would
 * scan the whole table: the bound keeps every look-up at CONN_PROBE loads. A
 * key whose CONN_PROBE slots are all live is not followed. */
#define CONN_PROBE 64

_Static_assert((CONN_SLOTS & CONN_MASK) == 0, "CONN_SLOTS must be a power of two");
_Static_assert(CONN_SLOTS < 65535, "fd map holds slot indexes in 16 bits");

struct conn shim_slots[CONN_SLOTS];
#define slots shim_slots
_Atomic uint16_t shim_fd_map[CONN_FD_MAX];
static atomic_int fd_high;            /* 1 + the highest fd ever mapped */
static _Atomic uint64_t next_id = 1;

static size_t key_hash(conn_key k)
{
	uint64_t x = (uint64_t)k;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (size_t)x & CONN_MASK;
}

static int key_fd(conn_key key)
{
	return (key & 3) == CONN_FD ? (int)(key >> 2) : -1;
}

/* A lock holder gone for good (a signal handler that siglongjmp'ed out of a
 * hook, a thread killed) never unlocks: a waiter gives up after this long
 * and poisons the slot (slot_poison) instead of spinning for ever. */
#define SLOT_WAIT_NS 20000000L

/* The lock word of a slot the caller holds (fast.h's shim_take holds it as
 * 1 for a few loads): its thread id once known, else an id made from the
 * address of its thread-local storage, above any thread id (pid_max is at
 * most 2^22). The thread id costs a system call, which the write path must
 * not add (a host's seccomp filter): it is learnt on the report path
 * (conn_learn_tid). */
static __thread int my_tid __attribute__((tls_model("initial-exec")));
#define PSEUDO_TID 0x40000000

static int self_id(void)
{
	if (__builtin_expect(!my_tid, 0)) {
		uintptr_t a = (uintptr_t)&my_tid;
		return PSEUDO_TID | (int)((a ^ (a >> 30)) >> 4 & 0x3fffffff);
	}
	return my_tid;
}

void conn_learn_tid(void)
{
	if (my_tid)
		return;
	int saved = errno;
	int tid = (int)syscall(SYS_gettid);
	/* a vfork child runs on its parent thread's memory, TLS included:
	 * caching its tid there would name a dead thread after it exits */
	if (tid > 1 && tid < PSEUDO_TID && !shim_vfork_child())
		my_tid = tid;
	errno = saved;
}

/* The holder of a lock word is gone: this thread itself (a signal handler
 * jumped out of a hook), or a thread that no longer exists (known only for
 * a holder whose thread id is known; else the wait's time limit decides). */
static int owner_gone(int owner)
{
	if (owner <= 1)
		return 0;
	if (owner == self_id())
		return 1;
	if (owner >= PSEUDO_TID || shim_vfork_child())
		return 0; /* tgkill(child's pid, parent's tid) would say ESRCH wrongly */
	int saved = errno;
	int gone = syscall(SYS_tgkill, (int)getpid(), owner, 0) != 0 && errno == ESRCH;
	errno = saved;
	return gone;
}

/* 1 with the lock held, 0 when its holder is gone or it stayed busy for
 * SLOT_WAIT_NS. One atomic exchange when it is free. */
static int slot_lock(struct conn *c)
{
	int me = self_id();
	if (__builtin_expect(!atomic_exchange_explicit(&c->lock, me, memory_order_acquire), 1))
		return 1;
	unsigned spins = 0;
	int64_t start = 0;
	for (;;) {
		int owner;
		while ((owner = atomic_load_explicit(&c->lock, memory_order_relaxed))) {
			if (++spins <= 64) {
				shim_cpu_relax();
				continue;
			}
			if ((spins & 15) == 1) {
				int64_t now = shim_mono_ns();
				if (!start)
					start = now;
				else if (now - start > SLOT_WAIT_NS)
					return 0;
				if (owner_gone(owner))
					return 0;
			}
			sched_yield();
		}
		if (!atomic_exchange_explicit(&c->lock, me, memory_order_acquire))
			return 1;
	}
}

/* Takes c (holding key) out of the fd map when key is an fd and the map
 * still points at c: the one place an fd's entry leaves the map. */
static void fd_map_clear(struct conn *c, conn_key key)
{
	int fd = key_fd(key);
	if (fd >= 0 && fd < CONN_FD_MAX) {
		uint16_t want = (uint16_t)((c - slots) + 1);
		atomic_compare_exchange_strong_explicit(&shim_fd_map[fd], &want, 0, memory_order_acq_rel,
							memory_order_relaxed);
	}
}

/* Takes c, still holding key, out of the table without its lock (its holder
 * is gone or stuck): out of the fd map, and a key that no look-up matches and
 * no add reuses. A holder that is only slow finishes on a slot nobody else
 * sees. */
static void slot_poison(struct conn *c, conn_key key)
{
	fd_map_clear(c, key);
	conn_key k = key;
	atomic_compare_exchange_strong_explicit(&c->key, &k, CONN_POISON, memory_order_acq_rel,
						memory_order_relaxed);
}

static int slot_trylock(struct conn *c)
{
	return !atomic_exchange_explicit(&c->lock, self_id(), memory_order_acquire);
}

static void state_free(struct conn *c);

void conn_unlock(struct conn *c)
{
	/* a waiter gave up on us and poisoned the slot while we held it (we
	 * were slow, not gone): nobody else can reach it, so we free it */
	if (__builtin_expect(atomic_load_explicit(&c->key, memory_order_acquire) == CONN_POISON, 0)) {
		state_free(c);
		atomic_store_explicit(&c->key, CONN_TOMB, memory_order_release);
	}
	atomic_store_explicit(&c->lock, 0, memory_order_release);
}

/* Locks the slot and checks it still holds key. */
struct conn *conn_lock_if(struct conn *c, conn_key key)
{
	if (!slot_lock(c)) {
		slot_poison(c, key);
		return NULL;
	}
	if (atomic_load_explicit(&c->key, memory_order_acquire) == key)
		return c;
	conn_unlock(c);
	return NULL;
}

struct conn *conn_find(conn_key key)
{
	int fd = key_fd(key);
	if (fd >= 0) {
		if (fd >= CONN_FD_MAX)
			return NULL;
		unsigned idx = atomic_load_explicit(&shim_fd_map[fd], memory_order_acquire);
		return idx ? conn_lock_if(&slots[idx - 1], key) : NULL;
	}
	size_t h = key_hash(key);
	for (size_t i = 0; i < CONN_PROBE; i++) {
		struct conn *c = &slots[(h + i) & CONN_MASK];
		conn_key k = atomic_load_explicit(&c->key, memory_order_acquire);
		if (k == 0)
			return NULL;
		if (k == key)
			return conn_lock_if(c, key);
	}
	return NULL;
}

static void state_free(struct conn *c)
{
	if (c->s) {
		session_release(c->s);
		shim_block_put(c->s, c->s_size);
		c->s = NULL;
		c->s_size = 0;
	}
	c->fast = NULL;
	c->due = INT64_MAX;
	if (c->pend) {
		munmap(c->pend, CONN_PEND_MAX);
		c->pend = NULL;
	}
	c->pend_n = 0;
}

static void state_reset(struct conn *c, const char *library, int tls)
{
	state_free(c);
	c->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
	c->tls = tls;
	c->library = library;
	c->fd = -1;
	c->port = 0;
	c->host[0] = '\0';
	c->peer[0] = '\0';
	c->ident = 0;
	c->gone = 0;
	atomic_store_explicit(&c->passthrough, 0, memory_order_relaxed);
}

struct conn *conn_add(conn_key key, const char *library, int tls)
{
	struct conn *c = conn_find(key);
	int fd = key_fd(key);
	if (c) {
		state_reset(c, library, tls);
		if (fd >= 0)
			c->fd = fd;
		return c;
	}
	if (fd >= CONN_FD_MAX)
		return NULL;
	size_t h = key_hash(key);
	/* a pointer key within CONN_PROBE slots of its hash (conn_find looks
	 * no further); an fd anywhere (found through the fd map) */
	size_t probe = fd >= 0 ? CONN_SLOTS : CONN_PROBE;
	for (size_t i = 0; i < probe; i++) {
		c = &slots[(h + i) & CONN_MASK];
		conn_key k = atomic_load_explicit(&c->key, memory_order_acquire);
		if ((k != 0 && k != CONN_TOMB) || !slot_trylock(c))
			continue;
		k = atomic_load_explicit(&c->key, memory_order_acquire);
		if (k != 0 && k != CONN_TOMB) {
			conn_unlock(c);
			continue;
		}
		state_reset(c, library, tls);
		atomic_store_explicit(&c->key, key, memory_order_release);
		if (fd >= 0) {
			c->fd = fd;
			atomic_store_explicit(&shim_fd_map[fd], (uint16_t)((c - slots) + 1), memory_order_release);
			int hi = atomic_load_explicit(&fd_high, memory_order_relaxed);
			while (fd + 1 > hi &&
			       !atomic_compare_exchange_weak_explicit(&fd_high, &hi, fd + 1, memory_order_relaxed,
								      memory_order_relaxed))
				;
		}
		return c;
	}
	return NULL;
}

void conn_remove(struct conn *c)
{
	state_free(c);
	fd_map_clear(c, atomic_load_explicit(&c->key, memory_order_relaxed));
	atomic_store_explicit(&c->key, CONN_TOMB, memory_order_release);
	conn_unlock(c);
}

void conn_forget(conn_key key)
{
	struct conn *c = conn_find(key);
	if (c)
		conn_remove(c);
}

void conn_after_fork(void)
{
	my_tid = 0; /* the parent's thread's */
	for (size_t i = 0; i < CONN_SLOTS; i++) {
		struct conn *c = &slots[i];
		conn_key k = atomic_load_explicit(&c->key, memory_order_relaxed);
		if (k != 0 && k != CONN_TOMB && c->s) {
			/* the child's copy of the parent's mapping */
			munmap(c->s, c->s_size);
		}
		if (c->pend)
			munmap(c->pend, CONN_PEND_MAX);
		c->pend = NULL;
		c->pend_n = 0;
		c->s = NULL;
		c->s_size = 0;
		c->fast = NULL;
		atomic_store_explicit(&c->key, k ? CONN_TOMB : 0, memory_order_relaxed);
		atomic_store_explicit(&c->lock, 0, memory_order_relaxed);
	}
	int hi = atomic_load_explicit(&fd_high, memory_order_relaxed);
	for (int fd = 0; fd < hi && fd < CONN_FD_MAX; fd++)
		atomic_store_explicit(&shim_fd_map[fd], 0, memory_order_relaxed);
}

static size_t put_port(char *buf, size_t cap, size_t at, unsigned port)
{
	char tmp[8];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + port % 10);
		port /= 10;
	} while (port && n < sizeof tmp);
	if (at + 1 + n + 1 > cap)
		return 0;
	buf[at++] = ':';
	while (n)
		buf[at++] = tmp[--n];
	buf[at] = '\0';
	return at;
}

int conn_format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap, unsigned short *port)
{
	if (!sa || cap < 8)
		return 0;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)sa;
		if (!inet_ntop(AF_INET, &in->sin_addr, buf, (socklen_t)cap))
			return 0;
		*port = ntohs(in->sin_port);
		return put_port(buf, cap, strlen(buf), *port) != 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		buf[0] = '[';
		if (!inet_ntop(AF_INET6, &in6->sin6_addr, buf + 1, (socklen_t)(cap - 1)))
			return 0;
		size_t n = strlen(buf);
		if (n + 2 > cap)
			return 0;
		buf[n++] = ']';
		buf[n] = '\0';
		*port = ntohs(in6->sin6_port);
		return put_port(buf, cap, n, *port) != 0;
	}
	return 0;
}

void conn_set_peer_addr(struct conn *c, const struct sockaddr *sa, socklen_t len)
{
	unsigned short port = 0;
	if (conn_format_addr(sa, len, c->peer, sizeof c->peer, &port))
		c->port = port;
	else
		c->peer[0] = '\0';
}

void conn_set_peer_fd(struct conn *c, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (fd < 0)
		return;
	c->fd = fd;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		conn_set_peer_addr(c, (struct sockaddr *)&ss, len);
}

/* A connect to 0.0.0.0 or [::] reaches a local address: the peer the
 * kernel names then differs from the one recorded; the port must match. */
static int peer_unspecified_same_port(const struct conn *c, unsigned short port)
{
	return port == c->port && (!strncmp(c->peer, "0.0.0.0:", 8) || !strncmp(c->peer, "[::]:", 5));
}

/* The first time: fd must be a stream socket whose peer is the address it
 * connected to (recorded without a system call at connect), then its
 * device and inode are kept; later, they must match. Only called when
 * there is something to report. */
int conn_ident_ok(struct conn *c)
{
	struct stat st;
	if (c->gone)
		return 0;
	if (key_fd(atomic_load_explicit(&c->key, memory_order_relaxed)) < 0)
		return 1;
	if (shim_vfork_child() || c->fd < 0 || fstat(c->fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		c->gone = 1;
		return 0;
	}
	if (c->ident) {
		if ((uint64_t)st.st_dev != c->dev || (uint64_t)st.st_ino != c->ino)
			c->gone = 1;
		return !c->gone;
	}
	int type = 0;
	socklen_t tl = sizeof type;
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char peer[sizeof c->peer];
	unsigned short port = 0;
	if (getsockopt(c->fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM ||
	    getpeername(c->fd, (struct sockaddr *)&ss, &len) != 0 ||
	    !conn_format_addr((struct sockaddr *)&ss, len, peer, sizeof peer, &port) ||
	    (c->peer[0] && strcmp(peer, c->peer) != 0 && !peer_unspecified_same_port(c, port))) {
		c->gone = 1;
		return 0;
	}
	c->ident = 1;
	c->dev = (uint64_t)st.st_dev;
	c->ino = (uint64_t)st.st_ino;
	return 1;
}

void conn_set_host(struct conn *c, const char *host, size_t n)
{
	if (!host)
		n = 0;
	if (n >= sizeof c->host)
		n = sizeof c->host - 1;
	memcpy(c->host, host ? host : "", n);
	c->host[n] = '\0';
	if (c->s)
		session_set_host(c->s, c->host, n);
}

void conn_set_passthrough(struct conn *c)
{
	state_free(c);
	atomic_store_explicit(&c->passthrough, 1, memory_order_relaxed);
	conn_key key = atomic_load_explicit(&c->key, memory_order_relaxed);
	if (key_fd(key) >= 0) {
		/* A socket with nothing more to find (a TLS stream under the TLS
		 * hooks, a binary protocol): out of the fd map, so that its writes
		 * cost one load, and its slot free. The caller still holds the
		 * lock: no one can take the slot before it unlocks. */
		fd_map_clear(c, key);
		atomic_store_explicit(&c->key, CONN_TOMB, memory_order_release);
	}
}
