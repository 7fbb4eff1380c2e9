/* shim/conn.c, the connection table, linked into this runner directly (with
 * pool.c, clock.c and guard.c; no hook, never preloaded): add, find, forget,
 * key collisions, growth past a segment, concurrent adds, bounded slot locks and poisoning, fork and
 * vfork children. Each test runs in its own process (Criterion), so each
 * starts with an empty table. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim/fast.h"
#include "shim/shim.h"

static void setup(void)
{
	shim_pid_set();
}

TestSuite(conn, .init = setup, .timeout = 20);

/* A distinct, aligned fake SSL* (pointer keys carry the kind in the low bits). */
static conn_key ptr_key(size_t i)
{
	return conn_key_ptr(CONN_SSL, (const void *)(uintptr_t)(0x10000 + i * 64));
}

static size_t slot_of(const struct conn *c)
{
	return c->slot;
}

Test(conn, add_find_forget)
{
	conn_key k = ptr_key(1);
	cr_assert_null(conn_find(k));
	struct conn *c = conn_add(k, "openssl", 1);
	cr_assert_not_null(c);
	cr_assert_str_eq(c->library, "openssl");
	cr_assert_eq(c->tls, 1);
	cr_assert_eq(c->fd, -1);
	uint64_t id = c->id;
	conn_set_host(c, "tsock.us1.twilio.com", strlen("tsock.us1.twilio.com"));
	conn_unlock(c);

	struct conn *f = conn_find(k);
	cr_assert_eq(f, c, "the same slot is found");
	cr_assert_str_eq(f->host, "tsock.us1.twilio.com");
	conn_unlock(f);

	/* an add of a followed key starts it afresh, in the same slot */
	struct conn *again = conn_add(k, "gnutls", 1);
	cr_assert_eq(again, c);
	cr_assert_neq(again->id, id, "a fresh connection has a new id");
	cr_assert_str_eq(again->host, "");
	cr_assert_str_eq(again->library, "gnutls");
	conn_unlock(again);

	conn_forget(k);
	cr_assert_null(conn_find(k));
	conn_forget(k); /* forgetting what is not followed does nothing */
	cr_assert_null(conn_find(k));
}

Test(conn, fd_keys_use_the_map)
{
	int fd = 77;
	cr_assert_eq(shim_fd_mapped(fd), 0);
	struct conn *c = conn_add(conn_key_fd(fd), "libc", 0);
	cr_assert_not_null(c);
	cr_assert_eq(c->fd, fd);
	conn_unlock(c);
	cr_assert_eq(shim_fd_mapped(fd), 1);
	cr_assert_eq(shim_fd_conn(fd), c);
	cr_assert_eq(shim_fd_mapped(fd + 1), 0, "only that fd");
	/* a pointer key with the same bits apart from the kind is another key */
	cr_assert_null(conn_find(conn_key_ptr(CONN_SSL, (const void *)(uintptr_t)((unsigned)fd << 2))));

	/* nothing more to find: out of the map, the slot free */
	c = conn_find(conn_key_fd(fd));
	cr_assert_not_null(c);
	conn_set_passthrough(c);
	conn_unlock(c);
	cr_assert_eq(shim_fd_mapped(fd), 0);
	cr_assert_eq(shim_fd_conn(fd), NULL);
	cr_assert_null(conn_find(conn_key_fd(fd)));

	/* followed again after a new connect, then forgotten at close */
	c = conn_add(conn_key_fd(fd), "libc", 0);
	cr_assert_not_null(c);
	conn_unlock(c);
	conn_forget(conn_key_fd(fd));
	cr_assert_eq(shim_fd_mapped(fd), 0);

	/* an fd past the map is not followed */
	cr_assert_null(conn_add(conn_key_fd(CONN_FD_MAX), "libc", 0));
	cr_assert_null(conn_find(conn_key_fd(CONN_FD_MAX + 5)));
	cr_assert_eq(shim_fd_conn(-1), NULL);
}

/* Two pointer keys whose index entries share a home (the hash's low bits
 * for the smallest index). */
static void colliding(conn_key *a, conn_key *b)
{
	static conn_key home_key[256];
	for (size_t i = 1; i < 100000; i++) {
		conn_key k = ptr_key(i);
		uint64_t x = (uint64_t)k;
		x ^= x >> 33;
		x *= 0xff51afd7ed558ccdull;
		x ^= x >> 33;
		size_t h = (size_t)x & 255;
		if (home_key[h]) {
			*a = home_key[h];
			*b = k;
			return;
		}
		home_key[h] = k;
	}
	cr_assert_fail("no two keys share a home");
}

Test(conn, key_collisions)
{
	conn_key a, b;
	colliding(&a, &b);
	struct conn *ca = conn_add(a, "openssl", 1);
	size_t slot_a = slot_of(ca);
	conn_unlock(ca);
	struct conn *cb = conn_add(b, "openssl", 1);
	cr_assert_not_null(cb);
	cr_assert_neq(cb, ca, "a colliding key gets its own slot");
	conn_unlock(cb);
	struct conn *f = conn_find(a);
	cr_assert_eq(f, ca);
	conn_unlock(f);
	f = conn_find(b);
	cr_assert_eq(f, cb);
	conn_unlock(f);

	/* the first one gone: the second is still found past its tombstone */
	conn_forget(a);
	cr_assert_null(conn_find(a));
	f = conn_find(b);
	cr_assert_eq(f, cb, "a key past a tombstone is still found");
	conn_unlock(f);
	/* and the freed slot is the next one taken */
	ca = conn_add(a, "openssl", 1);
	cr_assert_not_null(ca);
	cr_assert_eq(slot_of(ca), slot_a);
	conn_unlock(ca);
}

Test(conn, grows_past_segments_and_loses_none)
{
	/* pointer and fd keys well past one segment and the index's first
	 * sizes: every one is taken, every one is found, none is refused */
	enum { N = 3 * CONN_SEG_SLOTS + 123, NFD = 3000 };
	static conn_key added[N];
	for (size_t i = 0; i < N; i++) {
		added[i] = ptr_key(i + 1);
		struct conn *c = conn_add(added[i], "openssl", 1);
		cr_assert_not_null(c, "key %zu is taken", i);
		conn_unlock(c);
	}
	for (int fd = 100; fd < 100 + NFD; fd++) {
		struct conn *c = conn_add(conn_key_fd(fd), "libc", 0);
		cr_assert_not_null(c, "fd %d is taken", fd);
		conn_unlock(c);
	}
	for (size_t i = 0; i < N; i++) {
		struct conn *c = conn_find(added[i]);
		cr_assert_not_null(c, "key %zu is found", i);
		conn_unlock(c);
	}
	for (int fd = 100; fd < 100 + NFD; fd++)
		cr_assert_not_null(shim_fd_conn(fd), "fd %d is mapped", fd);
	cr_assert_eq(conn_unfollowed(), 0);

	/* churn: forget and re-add many times (tombstones pile up in the
	 * index, which is rebuilt); nothing is lost, the slots are reused */
	for (int round = 0; round < 20; round++) {
		for (size_t i = round % 2; i < N; i += 2)
			conn_forget(added[i]);
		for (size_t i = round % 2; i < N; i += 2) {
			added[i] = ptr_key(N * (size_t)(round + 2) + i);
			struct conn *c = conn_add(added[i], "openssl", 1);
			cr_assert_not_null(c);
			conn_unlock(c);
		}
	}
	for (size_t i = 0; i < N; i++) {
		struct conn *c = conn_find(added[i]);
		cr_assert_not_null(c, "key %zu is found after churn", i);
		cr_assert_lt(c->slot, (uint32_t)(N + NFD + CONN_SEG_SLOTS), "slots are reused, not grown");
		conn_unlock(c);
	}
	cr_assert_null(conn_add(conn_key_fd(CONN_FD_MAX), "libc", 0));
	cr_assert_eq(conn_unfollowed(), 1, "an fd past the map is counted");
}

/* Threads adding, finding and forgetting their own keys at once while the
 * table grows under them: no add is lost, no look-up finds another's slot. */
struct adder {
	size_t base;
	int bad;
};

static void *add_many(void *arg)
{
	struct adder *a = arg;
	enum { PER = 1500 };
	for (size_t i = 0; i < PER; i++) {
		conn_key k = ptr_key(a->base + i);
		struct conn *c = conn_add(k, "openssl", 1);
		if (!c) {
			a->bad |= 1;
			continue;
		}
		c->port = (unsigned short)i;
		conn_unlock(c);
		if (i % 3 == 2)
			conn_forget(ptr_key(a->base + i - 1));
	}
	for (size_t i = 0; i < PER; i++) {
		struct conn *c = conn_find(ptr_key(a->base + i));
		int want = !(i % 3 == 1);
		if (!c != !want)
			a->bad |= 2;
		if (c) {
			if (c->port != (unsigned short)i)
				a->bad |= 4;
			conn_unlock(c);
		}
	}
	return NULL;
}

Test(conn, concurrent_adds_lose_none)
{
	enum { T = 6 };
	pthread_t t[T];
	struct adder a[T];
	for (int i = 0; i < T; i++) {
		a[i] = (struct adder){ .base = 1 + (size_t)i * 100000 };
		pthread_create(&t[i], NULL, add_many, &a[i]);
	}
	for (int i = 0; i < T; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(a[i].bad, 0, "thread %d: %d (1 add refused, 2 found wrongly, 4 another's slot)", i,
			     a[i].bad);
	}
	cr_assert_eq(conn_unfollowed(), 0);
}

/* ---- bounded locks and poisoning ------------------------------------------- */
struct holder {
	conn_key key;
	pthread_barrier_t held;
	pthread_barrier_t release;
	int exit_holding; /* 1: the thread ends with the lock held */
	struct conn *c;
	int tid;
};

static void *hold(void *arg)
{
	struct holder *h = arg;
	h->tid = (int)syscall(SYS_gettid);
	conn_learn_tid(); /* else the lock word is an id above any tid */
	h->c = conn_find(h->key);
	pthread_barrier_wait(&h->held);
	if (h->exit_holding)
		return NULL;
	pthread_barrier_wait(&h->release);
	conn_unlock(h->c);
	return NULL;
}

Test(conn, busy_lock_is_bounded_and_poisons)
{
	conn_key k = ptr_key(3);
	struct conn *c = conn_add(k, "openssl", 1);
	conn_unlock(c);
	struct holder h = { .key = k };
	pthread_barrier_init(&h.held, NULL, 2);
	pthread_barrier_init(&h.release, NULL, 2);
	pthread_t t;
	pthread_create(&t, NULL, hold, &h);
	pthread_barrier_wait(&h.held);
	cr_assert_eq(h.c, c);
	cr_assert_eq(atomic_load(&c->lock), h.tid, "the holder's tid is the lock word");

	/* the holder is alive but does not let go: the wait gives up (the
	 * suite's timeout catches a spin without end) and poisons the slot */
	cr_assert_null(conn_find(k), "a busy slot is given up on");
	cr_assert_null(conn_find(k), "a poisoned slot is never found");
	struct conn *n = conn_add(k, "openssl", 1);
	cr_assert_not_null(n);
	cr_assert_neq(n, c, "a poisoned slot is never reused while held");
	conn_remove(n);

	/* the slow holder unlocks: it frees the slot it held */
	pthread_barrier_wait(&h.release);
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&c->lock), 0);
	cr_assert_eq(c->s, NULL);
	cr_assert_null(conn_find(k));
	n = conn_add(k, "openssl", 1);
	cr_assert_not_null(n, "the key can be followed again");
	conn_unlock(n);
}

Test(conn, lock_of_a_gone_thread_is_poisoned)
{
	int fd = 40;
	struct conn *c = conn_add(conn_key_fd(fd), "libc", 0);
	conn_unlock(c);
	struct holder h = { .key = conn_key_fd(fd), .exit_holding = 1 };
	pthread_barrier_init(&h.held, NULL, 2);
	pthread_t t;
	pthread_create(&t, NULL, hold, &h);
	pthread_barrier_wait(&h.held);
	pthread_join(t, NULL); /* gone with the lock held (a jump out of a hook) */
	cr_assert_eq(h.c, c);
	cr_assert_neq(atomic_load(&c->lock), 0);

	cr_assert_null(conn_find(conn_key_fd(fd)), "the dead holder's slot is given up on");
	cr_assert_eq(shim_fd_mapped(fd), 0, "a poisoned fd slot leaves the fd map");
	struct conn *n = conn_add(conn_key_fd(fd), "libc", 0);
	cr_assert_not_null(n);
	cr_assert_neq(n, c, "another slot");
	cr_assert_eq(shim_fd_mapped(fd), 1);
	conn_unlock(n);
}

Test(conn, own_lock_after_a_jump_is_poisoned)
{
	/* this thread holds the slot (a signal handler jumped out of a hook
	 * while it held it) and looks it up again: no self-deadlock */
	conn_key k = ptr_key(9);
	struct conn *c = conn_add(k, "openssl", 1);
	cr_assert_not_null(c);
	cr_assert_null(conn_find(k));
	conn_unlock(c); /* the poisoned slot is freed by its holder */
	cr_assert_null(conn_find(k));
	struct conn *n = conn_add(k, "openssl", 1);
	cr_assert_not_null(n);
	conn_unlock(n);
}

/* ---- fork and vfork children --------------------------------------------------- */
Test(conn, fork_child_starts_empty)
{
	conn_key k = ptr_key(5);
	struct conn *c = conn_add(k, "openssl", 1);
	conn_unlock(c);
	c = conn_add(conn_key_fd(33), "libc", 0);
	conn_unlock(c);
	/* another thread holds k's slot while we fork */
	struct holder h = { .key = k };
	pthread_barrier_init(&h.held, NULL, 2);
	pthread_barrier_init(&h.release, NULL, 2);
	pthread_t t;
	pthread_create(&t, NULL, hold, &h);
	pthread_barrier_wait(&h.held);

	pid_t pid = fork();
	if (pid == 0) {
		/* what init.c's fork handler does */
		shim_block_after_fork();
		conn_after_fork();
		shim_pid_set();
		int bad = 0;
		bad |= conn_find(k) != NULL;
		bad |= shim_fd_mapped(33) << 1;
		conn_learn_tid(); /* the parent's thread's id was forgotten */
		struct conn *n = conn_add(k, "openssl", 1); /* no wait for the parent's holder */
		bad |= (n == NULL) << 2;
		if (n) {
			bad |= (atomic_load(&n->lock) != (int)syscall(SYS_gettid)) << 3;
			conn_unlock(n);
		}
		_exit(bad);
	}
	cr_assert_gt(pid, 0);
	int st = 0;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	cr_assert_eq(WEXITSTATUS(st), 0, "child: %d (1 found, 2 mapped, 4 no add, 8 lock word)", WEXITSTATUS(st));
	pthread_barrier_wait(&h.release);
	pthread_join(t, NULL);
	/* the parent's table is as it was */
	c = conn_find(k);
	cr_assert_not_null(c);
	conn_unlock(c);
	cr_assert_eq(shim_fd_mapped(33), 1);
}

static volatile int child_lock_word, child_shares_memory;

Test(conn, vfork_child_leaves_the_parents_tid)
{
	/* the first look-up of this thread happens in a vfork child, which
	 * runs on this thread's memory: it must not cache its tid here */
	conn_key k = ptr_key(6);
	pid_t pid = vfork();
	if (pid == 0) {
		child_shares_memory = 1;
		/* no fork handler ran: only the pid tells (no cr_assert here) */
		conn_learn_tid(); /* refused in a vfork child */
		struct conn *c = shim_vfork_child() ? conn_add(k, "openssl", 1) : NULL;
		child_lock_word = c ? atomic_load(&c->lock) : -1;
		if (c)
			conn_unlock(c);
		_exit(0);
	}
	cr_assert_gt(pid, 0);
	int st = 0;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	if (!child_shares_memory) {
		/* qemu-user runs vfork as fork: no shared memory, nothing to check */
		cr_log_info("vfork_child_leaves_the_parents_tid: vfork does not share memory here, skipped");
		return;
	}
	cr_assert_eq(shim_vfork_child(), 0);
	cr_assert_neq(child_lock_word, 0, "the child locked");
	cr_assert_neq(child_lock_word, (int)pid, "the child's tid is never learnt (it would stay in our TLS)");
	conn_learn_tid();
	struct conn *c = conn_find(k);
	cr_assert_not_null(c);
	cr_assert_eq(atomic_load(&c->lock), (int)syscall(SYS_gettid), "the parent locks with its own tid");
	conn_unlock(c);
}

Test(conn, format_addr)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(9443) };
	in.sin_addr.s_addr = htonl(0x7f000001);
	char buf[64];
	unsigned short port = 0;
	cr_assert_eq(conn_format_addr((struct sockaddr *)&in, sizeof in, buf, sizeof buf, &port), 1);
	cr_assert_str_eq(buf, "127.0.0.1:9443");
	cr_assert_eq(port, 9443);
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(80) };
	in6.sin6_addr.s6_addr[15] = 1;
	cr_assert_eq(conn_format_addr((struct sockaddr *)&in6, sizeof in6, buf, sizeof buf, &port), 1);
	cr_assert_str_eq(buf, "[::1]:80");
	cr_assert_eq(conn_format_addr((struct sockaddr *)&in, sizeof in - 1, buf, sizeof buf, &port), 0,
		     "a short address is refused");
	cr_assert_eq(conn_format_addr((struct sockaddr *)&in6, sizeof in6, buf, 6, &port), 0, "too small a buffer");
	struct sockaddr sa = { .sa_family = AF_UNIX };
	cr_assert_eq(conn_format_addr(&sa, sizeof sa, buf, sizeof buf, &port), 0);
}

/* A masked binary frame of n bytes in all (7- or 16-bit length), payload
 * first bytes pay[0..8). */
static size_t frame(unsigned char *f, size_t n, unsigned op, const char *pay)
{
	size_t hs = n - 6 <= 125 ? 6 : 8, len = n - hs;
	f[0] = (unsigned char)(0x80 | op);
	if (hs == 6) {
		f[1] = (unsigned char)(0x80 | len);
	} else {
		f[1] = 0x80 | 126;
		f[2] = (unsigned char)(len >> 8);
		f[3] = (unsigned char)len;
	}
	static const unsigned char mask[4] = { 0x11, 0x22, 0x33, 0x44 };
	memcpy(f + hs - 4, mask, 4);
	for (size_t i = 0; i < len; i++)
		f[hs + i] = (unsigned char)((i < 8 ? pay[i] : 'p') ^ mask[i & 3]);
	return n;
}

/* A new connection of key k, unlocked, whose client frames f follows on
 * the fast path from a stream's start, with no due time. */
static struct conn *fast_conn(conn_key k, struct ws_frame *f)
{
	struct conn *c = conn_add(k, "openssl", 1);
	cr_assert_not_null(c);
	memset(f, 0, sizeof *f);
	f->open = 1;
	f->dir = WS_CLIENT;
	c->fast = f;
	c->due = INT64_MAX;
	conn_unlock(c);
	return c;
}

/* The write hooks' quick check (shim/fast.h): armed by shim_take on a whole
 * frame taken at rest, it accepts writes of that shape only, and none once
 * the decoder may change or the time is to be checked again. */
Test(conn, quick_check_follows_the_fast_path)
{
	conn_key k = ptr_key(1);
	struct ws_frame f;
	struct conn *c = fast_conn(k, &f);
	unsigned char a[200], b[200];
	for (size_t n = 64; n <= 200; n += 136) {
		f.seen = 0; /* a stream's first frame */
		frame(a, n, 2, "bulkdata");
		cr_assert_eq(shim_quick(c, k, a, n), 0, "not armed yet");
		cr_assert_eq(shim_take(c, k, a, n), n, "the first frame (sets seen)");
		cr_assert_eq(shim_quick(c, k, a, n), 0, "a first frame arms nothing");
		cr_assert_eq(shim_take(c, k, a, n), n);
		cr_assert_eq(shim_quick(c, k, a, n), 1, "armed: the same shape");
		cr_assert_eq(shim_quick(c, k ^ 8, a, n), 0, "another key");
		frame(b, n - 1, 2, "bulkdata");
		cr_assert_eq(shim_quick(c, k, b, n - 1), 0, "another length");
		frame(b, n, 2, "bulkdata");
		b[0] = 0x02; /* not FIN */
		cr_assert_eq(shim_quick(c, k, b, n), 0, "another header");
		frame(b, n, 1, "textdata");
		cr_assert_eq(shim_quick(c, k, b, n), 0, "a text frame is scanned");
		frame(b, n, 2, "TWILSOCK");
		cr_assert_eq(shim_quick(c, k, b, n), 0, "a Twilsock message that is not one");
		f.in_msg = 1; /* the decoder moved on */
		conn_quick_off(c);
		cr_assert_eq(shim_quick(c, k, a, n), 0, "off");
		cr_assert_eq(shim_take(c, k, a, n), 0, "not at rest: the decoder");
		f.in_msg = 0;
		cr_assert_eq(shim_take(c, k, a, n), n);
		cr_assert_eq(shim_quick(c, k, a, n), 1);
		conn_due_changed(c);
		cr_assert_eq(shim_quick(c, k, a, n), 0, "the time to check again");
		c->due = 0; /* long past */
		cr_assert_eq(shim_take(c, k, a, n), 0, "past due: the slow path");
		cr_assert_eq(shim_quick(c, k, a, n), 0);
		c->due = INT64_MAX;
		conn_quick_off(c);
	}
}

/* A connection just made has its quick check off (conn_add's state reset):
 * a write of 0 bytes from a NULL buffer (SSL_write_ex allows it) is not
 * read. */
Test(conn, quick_check_off_on_a_new_connection)
{
	conn_key k = ptr_key(3);
	struct conn *c = conn_add(k, "openssl", 1);
	cr_assert_not_null(c);
	conn_unlock(c);
	cr_assert_eq(shim_quick(c, k, NULL, 0), 0);
	cr_assert_eq(shim_quick3(c, k, NULL, 0), 0);
}

/* The quick check's time window is a start and a length on the CPU's
 * counter: a counter read below the start (it went back, or the thread
 * runs on a CPU whose counter is behind) closes it, as does its end. */
Test(conn, quick_window_refuses_a_counter_that_went_back)
{
	conn_key k = ptr_key(2);
	struct ws_frame f;
	struct conn *c = fast_conn(k, &f);
	unsigned char a[64];
	frame(a, sizeof a, 2, "bulkdata");
	for (int i = 0; i < 2; i++)
		cr_assert_eq(shim_take(c, k, a, sizeof a), sizeof a);
	cr_assert_eq(shim_quick(c, k, a, sizeof a), 1, "armed, no due time");
	uintptr_t now = (uintptr_t)shim_ticks();
	if (!now)
		return; /* no counter (32-bit ARM): the window is all or nothing, above */
	c->tick0 = now - 1000;
	c->tick_win = UINTPTR_MAX / 4;
	cr_assert_eq(shim_quick(c, k, a, sizeof a), 1, "inside the window");
	c->tick0 = now + UINTPTR_MAX / 8; /* the counter reads below the start */
	cr_assert_eq(shim_quick(c, k, a, sizeof a), 0, "a counter that went back");
	c->tick0 = now - 2000;
	c->tick_win = 1000;
	cr_assert_eq(shim_quick(c, k, a, sizeof a), 0, "past the window's end");
	conn_quick_off(c);
}
