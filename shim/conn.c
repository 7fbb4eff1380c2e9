/* The connection table: SSL*, gnutls_session_t or fd -> struct conn.
 *
 * It grows, bounded by memory: slots live in segments of CONN_SEG_SLOTS,
 * mmap'ed when the free ones run out (never unmapped, so a slot pointer
 * stays valid for the process's life), each slot made when first handed out
 * (a segment's pages are touched by the connections that use them: a
 * process with a few connections pays for a few slots) and reused from a
 * free list. An
 * fd below CONN_FD_MAX is found in one step through a direct map (slot
 * index + 1), so a write to a file or pipe costs one load. Pointer keys are
 * found through an open-addressed index of slot numbers, kept at most half
 * full (tombstones included) and rebuilt larger when it would pass that:
 * every look-up ends at an empty entry, and no key is ever refused for
 * lack of a free entry near its hash. A connection the table cannot take
 * (no memory, an fd past the map) is counted (conn_unfollowed) and said
 * once on stderr.
 *
 * Look-ups take no lock: keys are atomics, the index is read lock-free (a
 * replaced index is freed only once no reader is inside one, counted by
 * `readers`), and an index entry is a hint checked against the slot's own
 * key. Adds and removes of slots and index entries (once per connection,
 * never per write) take the table's lock, after the slot's lock when both
 * are held. Each slot's state is guarded by the slot's own spinlock, so
 * threads writing on different connections never share a lock.
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
#define CONN_NO_SLOT UINT32_MAX

_Atomic(struct conn *) shim_conn_segs[CONN_SEGS];
_Atomic uint32_t shim_fd_map[CONN_FD_MAX];
static atomic_int fd_high;            /* 1 + the highest fd ever mapped */
static _Atomic uint64_t next_id = 1;
static atomic_ulong unfollowed;       /* connections the table could not take */
static atomic_int unfollowed_said;
static atomic_int hot_n;              /* connections with c->hot set */

/* ---- the table's lock, segments and free list ------------------------------ */
static struct {
	atomic_int lock;
	uint32_t nslots;      /* slots in the segments mapped so far */
	uint32_t fresh;       /* slots below it have been handed out (made) once */
	uint32_t free_head;   /* first free slot, CONN_NO_SLOT none */
	uint32_t nfree;
} tab = { .free_head = CONN_NO_SLOT };

/* The index of pointer keys: entries are slot number + 2, 0 empty, 1 a
 * tombstone. cap is a power of two; used (live + tombstones) <= cap / 2. */
struct pindex {
	size_t cap, used, live;
	struct pindex *retired_next; /* on the retired list */
	size_t map_size;
	_Atomic uint32_t e[];
};
#define PIDX_EMPTY 0u
#define PIDX_TOMB 1u
#define PIDX_MIN 256
static _Atomic(struct pindex *) pidx;
static struct pindex *retired;        /* replaced indexes, freed when no reader is inside */
static atomic_int readers;            /* look-ups inside an index */

static size_t key_hash(conn_key k)
{
	uint64_t x = (uint64_t)k;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (size_t)x;
}

static int key_fd(conn_key key)
{
	return (key & 3) == CONN_FD ? (int)(key >> 2) : -1;
}

/* 1 with the table's lock, 0 when it stayed busy (a holder that
 * siglongjmp'ed out of a hook never lets go): the caller then does without
 * (a connection not followed, a slot not reused). */
static int tab_lock(void)
{
	for (unsigned i = 0; i < 100000; i++) {
		if (!atomic_exchange_explicit(&tab.lock, 1, memory_order_acquire))
			return 1;
		while (atomic_load_explicit(&tab.lock, memory_order_relaxed) && ++i < 100000) {
			if (i > 64)
				sched_yield();
			else
				shim_cpu_relax();
		}
	}
	return 0;
}

static void tab_unlock(void)
{
	atomic_store_explicit(&tab.lock, 0, memory_order_release);
}

static void *map_zero(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Under the table's lock: one more segment of slots, all zeros (free, key
 * 0), made one at a time as they are first handed out (fresh_slot), so that
 * a segment's pages are touched by the connections that use them; 0 when
 * out of memory or segments. */
static int seg_grow(void)
{
	uint32_t s = tab.nslots / CONN_SEG_SLOTS;
	if (s >= CONN_SEGS)
		return 0;
	struct conn *seg = map_zero(CONN_SEG_SLOTS * sizeof(struct conn));
	if (!seg)
		return 0;
	atomic_store_explicit(&shim_conn_segs[s], seg, memory_order_release);
	tab.nslots += CONN_SEG_SLOTS;
	return 1;
}

/* Under the table's lock: a slot never handed out before, made; NULL when
 * out of memory or segments. */
static struct conn *fresh_slot(void)
{
	if (tab.fresh == tab.nslots && !seg_grow())
		return NULL;
	struct conn *c = shim_conn_at(tab.fresh);
	c->fd = -1;
	c->slot = tab.fresh++;
	return c;
}

static uint32_t slot_no(const struct conn *c)
{
	return c->slot;
}

/* Frees the indexes replaced while readers were inside them. Under the
 * table's lock. seq_cst: a reader that counts itself after this sees no
 * retired index (pidx was replaced before it was retired). */
static void retired_free(void)
{
	if (!retired || atomic_load(&readers) != 0)
		return;
	while (retired) {
		struct pindex *n = retired->retired_next;
		munmap(retired, retired->map_size);
		retired = n;
	}
}

static void pidx_put(struct pindex *t, conn_key ikey, uint32_t v)
{
	size_t mask = t->cap - 1;
	for (size_t i = key_hash(ikey) & mask;; i = (i + 1) & mask) {
		uint32_t e = atomic_load_explicit(&t->e[i], memory_order_relaxed);
		if (e == PIDX_EMPTY || e == PIDX_TOMB) {
			if (e == PIDX_EMPTY)
				t->used++;
			t->live++;
			atomic_store_explicit(&t->e[i], v, memory_order_release);
			return;
		}
	}
}

/* Under the table's lock: an index with room for one more entry (the
 * current one, or a new one holding its live entries); NULL out of memory. */
static struct pindex *pidx_room(void)
{
	struct pindex *t = atomic_load_explicit(&pidx, memory_order_relaxed);
	if (t && (t->used + 1) * 2 <= t->cap)
		return t;
	size_t cap = PIDX_MIN;
	size_t live = t ? t->live : 0;
	while (cap < (live + 1) * 4)
		cap *= 2;
	size_t size = sizeof(struct pindex) + cap * sizeof(uint32_t);
	struct pindex *n = map_zero(size);
	if (!n)
		return NULL;
	n->cap = cap;
	n->map_size = size;
	if (t) {
		for (size_t i = 0; i < t->cap; i++) {
			uint32_t e = atomic_load_explicit(&t->e[i], memory_order_relaxed);
			if (e >= 2)
				pidx_put(n, shim_conn_at(e - 2)->ikey, e);
		}
	}
	atomic_store(&pidx, n);
	if (t) {
		t->retired_next = retired;
		retired = t;
	}
	retired_free();
	return n;
}

/* Under the table's lock: the index entry of slot c (key ikey) removed. */
static void pidx_del(const struct conn *c)
{
	struct pindex *t = atomic_load_explicit(&pidx, memory_order_relaxed);
	if (!t)
		return;
	uint32_t v = slot_no(c) + 2;
	size_t mask = t->cap - 1;
	for (size_t n = 0, i = key_hash(c->ikey) & mask; n < t->cap; n++, i = (i + 1) & mask) {
		uint32_t e = atomic_load_explicit(&t->e[i], memory_order_relaxed);
		if (e == PIDX_EMPTY)
			return;
		if (e == v) {
			atomic_store_explicit(&t->e[i], PIDX_TOMB, memory_order_release);
			t->live--;
			return;
		}
	}
}

/* The slot holding pointer key `key`, unlocked, or NULL. */
static struct conn *pidx_find(conn_key key)
{
	struct conn *found = NULL;
	atomic_fetch_add(&readers, 1);
	struct pindex *t = atomic_load(&pidx);
	if (t) {
		size_t mask = t->cap - 1;
		for (size_t n = 0, i = key_hash(key) & mask; n < t->cap; n++, i = (i + 1) & mask) {
			uint32_t e = atomic_load_explicit(&t->e[i], memory_order_acquire);
			if (e == PIDX_EMPTY)
				break;
			if (e == PIDX_TOMB)
				continue;
			struct conn *c = shim_conn_at(e - 2);
			if (atomic_load_explicit(&c->key, memory_order_acquire) == key) {
				found = c;
				break;
			}
		}
	}
	atomic_fetch_sub(&readers, 1);
	return found;
}

static void said_once(void)
{
	if (atomic_exchange(&unfollowed_said, 1))
		return;
	static const char msg[] = "tokshim: warning: a connection is not followed (out of memory for "
				  "the connection table, or an fd past 65535); the count is given at exit\n";
	/* fd 2 may be a followed socket of the host's (stderr closed, the
	 * number reused): then nothing is written */
	if (shim_fd_mapped(2))
		return;
	/* the system call itself: this runs inside a hook, and conn.c sits
	 * below the resolver of libc's functions */
	int saved = errno;
	(void)!syscall(SYS_write, 2, msg, sizeof msg - 1);
	errno = saved;
}

static void not_followed(void)
{
	atomic_fetch_add_explicit(&unfollowed, 1, memory_order_relaxed);
	said_once();
}

int conn_hot(struct conn *c)
{
	if (c->hot)
		return 1;
	if (atomic_fetch_add_explicit(&hot_n, 1, memory_order_relaxed) < CONN_HOT) {
		c->hot = 1;
		return 1;
	}
	atomic_fetch_sub_explicit(&hot_n, 1, memory_order_relaxed);
	return 0;
}

unsigned long conn_unfollowed(void)
{
	return atomic_load_explicit(&unfollowed, memory_order_relaxed);
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
		uint32_t want = slot_no(c) + 1;
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

static void state_free(struct conn *c);

/* c (locked, its key already CONN_TOMB) back to the free list, its index
 * entry removed. Without the table's lock (busy for good) the slot is left
 * unused: a few hundred bytes, never a wrong look-up. */
static void slot_release(struct conn *c)
{
	if (!tab_lock())
		return;
	if (key_fd(c->ikey) < 0)
		pidx_del(c);
	c->ikey = 0;
	c->next_free = tab.free_head;
	tab.free_head = slot_no(c);
	tab.nfree++;
	retired_free();
	tab_unlock();
}

void conn_unlock(struct conn *c)
{
	/* a waiter gave up on us and poisoned the slot while we held it (we
	 * were slow, not gone): nobody else can reach it, so we free it */
	if (__builtin_expect(atomic_load_explicit(&c->key, memory_order_acquire) == CONN_POISON, 0)) {
		state_free(c);
		atomic_store_explicit(&c->key, CONN_TOMB, memory_order_release);
		slot_release(c);
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
		uint32_t idx = atomic_load_explicit(&shim_fd_map[fd], memory_order_acquire);
		return idx ? conn_lock_if(shim_conn_at(idx - 1), key) : NULL;
	}
	struct conn *c = pidx_find(key);
	return c ? conn_lock_if(c, key) : NULL;
}

static void state_free(struct conn *c)
{
	if (c->s) {
		session_release(c->s);
		shim_block_put(c->s, c->s_size);
		c->s = NULL;
		c->s_size = 0;
	}
	if (c->parked)
		explicit_bzero(c->park, session_park_used(c->park));
	c->parked = 0;
	if (c->hot) {
		c->hot = 0;
		atomic_fetch_sub_explicit(&hot_n, 1, memory_order_relaxed);
	}
	c->fast = NULL;
	c->fast_h2 = NULL;
	c->due = INT64_MAX;
	conn_quick_off(c);
	conn_due_changed(c);
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
	c->hook = "plt";
	c->hook_fed = 0;
	c->fd = -1;
	c->port = 0;
	c->host[0] = '\0';
	c->peer[0] = '\0';
	c->ident = 0;
	c->gone = 0;
	atomic_store_explicit(&c->passthrough, 0, memory_order_relaxed);
}

/* A free slot, taken off the list (growing the table when none is left),
 * and, for a pointer key, its index entry made: the entry is published
 * before the key, and a look-up checks the key, so it never finds a slot
 * half made. NULL when out of memory. */
static struct conn *slot_take(conn_key key)
{
	if (!tab_lock())
		return NULL;
	struct conn *c = NULL;
	struct pindex *t = NULL;
	if ((tab.free_head != CONN_NO_SLOT || tab.fresh < tab.nslots || seg_grow()) &&
	    ((key & 3) == CONN_FD || (t = pidx_room()))) {
		if (tab.free_head != CONN_NO_SLOT) {
			c = shim_conn_at(tab.free_head);
			tab.free_head = c->next_free;
			tab.nfree--;
		} else {
			c = fresh_slot();
		}
		c->ikey = key;
		if (t)
			pidx_put(t, key, slot_no(c) + 2);
	}
	tab_unlock();
	return c;
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
	if (fd >= CONN_FD_MAX || !(c = slot_take(key))) {
		not_followed();
		return NULL;
	}
	/* free, so nobody holds it but, for an instant, a fast path that read
	 * its old key (shim_take, which gives up at once on a key that differs) */
	if (!slot_lock(c)) {
		atomic_store_explicit(&c->key, CONN_TOMB, memory_order_release);
		not_followed();
		return NULL;
	}
	state_reset(c, library, tls);
	atomic_store_explicit(&c->key, key, memory_order_release);
	if (fd >= 0) {
		c->fd = fd;
		atomic_store_explicit(&shim_fd_map[fd], slot_no(c) + 1, memory_order_release);
		int hi = atomic_load_explicit(&fd_high, memory_order_relaxed);
		while (fd + 1 > hi &&
		       !atomic_compare_exchange_weak_explicit(&fd_high, &hi, fd + 1, memory_order_relaxed,
							      memory_order_relaxed))
			;
	}
	return c;
}

void conn_remove(struct conn *c)
{
	state_free(c);
	fd_map_clear(c, atomic_load_explicit(&c->key, memory_order_relaxed));
	atomic_store_explicit(&c->key, CONN_TOMB, memory_order_release);
	slot_release(c);
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
	/* the locks may be held by threads that do not exist here */
	atomic_store_explicit(&tab.lock, 0, memory_order_relaxed);
	atomic_store_explicit(&readers, 0, memory_order_relaxed);
	atomic_store_explicit(&hot_n, 0, memory_order_relaxed);
	tab.free_head = CONN_NO_SLOT;
	tab.nfree = 0;
	for (uint32_t i = tab.fresh; i-- > 0;) {
		struct conn *c = shim_conn_at(i);
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
		c->parked = 0;
		c->hot = 0;
		c->fast = NULL;
		c->fast_h2 = NULL;
		conn_quick_off(c);
		conn_due_changed(c);
		c->ikey = 0;
		atomic_store_explicit(&c->key, k ? CONN_TOMB : 0, memory_order_relaxed);
		atomic_store_explicit(&c->lock, 0, memory_order_relaxed);
		c->next_free = tab.free_head;
		tab.free_head = i;
		tab.nfree++;
	}
	/* the child's copies: no reader of ours runs in them */
	while (retired) {
		struct pindex *n = retired->retired_next;
		munmap(retired, retired->map_size);
		retired = n;
	}
	struct pindex *t = atomic_load_explicit(&pidx, memory_order_relaxed);
	if (t) {
		memset((void *)t->e, 0, t->cap * sizeof(uint32_t));
		t->used = t->live = 0;
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
		slot_release(c);
	}
}
