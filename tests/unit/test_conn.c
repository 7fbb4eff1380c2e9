/* shim/conn.c, the connection table, linked into this runner directly (with
 * pool.c, clock.c and guard.c; no hook, never preloaded): add, find, forget,
 * key collisions, the probe bound, bounded slot locks and poisoning, fork and
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
	return (size_t)(c - shim_slots);
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

/* Two pointer keys with the same home slot: found by adding each alone to
 * the empty table (an add lands in its home slot there). */
static void colliding(conn_key *a, conn_key *b)
{
	static conn_key home_key[CONN_SLOTS];
	for (size_t i = 1; i < 100000; i++) {
		conn_key k = ptr_key(i);
		struct conn *c = conn_add(k, "openssl", 1);
		cr_assert_not_null(c);
		size_t h = slot_of(c);
		conn_remove(c);
		if (home_key[h]) {
			*a = home_key[h];
			*b = k;
			return;
		}
		home_key[h] = k;
	}
	cr_assert_fail("no two keys share a slot");
}

Test(conn, key_collisions)
{
	conn_key a, b;
	colliding(&a, &b);
	struct conn *ca = conn_add(a, "openssl", 1);
	size_t home = slot_of(ca);
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
	/* and the tombstone is reused by the next add of that home */
	ca = conn_add(a, "openssl", 1);
	cr_assert_not_null(ca);
	cr_assert_eq(slot_of(ca), home);
	conn_unlock(ca);
}

Test(conn, probe_bound_and_full_table)
{
	/* pointer keys until the table refuses one: every one added is found,
	 * and a refused one is not followed (never a look-up past the bound) */
	static conn_key added[CONN_SLOTS];
	size_t n = 0;
	for (size_t i = 1; i <= 3 * CONN_SLOTS && n < CONN_SLOTS; i++) {
		conn_key k = ptr_key(i);
		struct conn *c = conn_add(k, "openssl", 1);
		if (!c) {
			cr_assert_null(conn_find(k));
			continue;
		}
		conn_unlock(c);
		added[n++] = k;
	}
	cr_assert_gt(n, CONN_SLOTS / 2, "most keys fit (%zu)", n);
	for (size_t i = 0; i < n; i++) {
		struct conn *c = conn_find(added[i]);
		cr_assert_not_null(c, "key %zu is found", i);
		conn_unlock(c);
	}
	/* fds find any free slot: with the table full none is left */
	if (n == CONN_SLOTS)
		cr_assert_null(conn_add(conn_key_fd(5), "libc", 0));
	conn_forget(added[0]);
	struct conn *c = conn_add(conn_key_fd(5), "libc", 0);
	cr_assert_not_null(c, "a freed slot takes an fd");
	conn_unlock(c);
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
