/* Session blocks: mmap'ed, kept in a bounded free list when released so that
 * a new connection reuses one (no mmap, no page faults, no munmap), all
 * zeros (fresh, or wiped by session_wipe). The
 * list sits under a spinlock taken once per connection, never per write;
 * blocks are all of one size (session_sizeof, rounded up to pages). */
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "decode/session.h"
#include "shim/shim.h"
#include "decode/cold.h"

#define BLOCKS_KEPT 16
static struct {
	atomic_int lock;
	int n;
	void *b[BLOCKS_KEPT];
} pool;

/* The session block's size, rounded up to pages: set once by the
 * constructor, before the host can start a thread (read-only after, so
 * neither a data race nor a lazily filled static); a call before that (no
 * hook works yet) computes it without storing it. */
static size_t block_size_now TK_LOAD_BSS;

static size_t block_size_compute(void)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t sz = session_sizeof();
	if (page > 0)
		sz = (sz + (size_t)page - 1) & ~((size_t)page - 1);
	return sz;
}

TK_COLD void shim_block_init(void)
{
	block_size_now = block_size_compute();
}

static size_t block_size(void)
{
	return block_size_now ? block_size_now : block_size_compute();
}

/* 1 with the lock, 0 when it stayed busy (a holder that siglongjmp'ed out of
 * a hook never lets go): the caller then maps or unmaps on its own. */
static int pool_lock(void)
{
	for (unsigned i = 0; i < 4096; i++) {
		if (!atomic_exchange_explicit(&pool.lock, 1, memory_order_acquire))
			return 1;
		while (atomic_load_explicit(&pool.lock, memory_order_relaxed) && ++i < 4096) {
			if (i > 64)
				sched_yield();
			else
				shim_cpu_relax();
		}
	}
	return 0;
}

static void pool_unlock(void)
{
	atomic_store_explicit(&pool.lock, 0, memory_order_release);
}

void *shim_block_get(size_t *size)
{
	*size = block_size();
	void *p = NULL;
	if (pool_lock()) {
		if (pool.n > 0)
			p = pool.b[--pool.n];
		pool_unlock();
	}
	if (p)
		return p;
	p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void shim_block_put(struct session *s, size_t size)
{
	void *p = s;
	if (!p)
		return;
	/* the block held the connection's bytes, tokens and signatures
	 * included: nothing of them stays in memory once it ends (a core
	 * dump, a debugger, a later connection's block). session_wipe clears
	 * what the session used (a parked connection resumed for one message
	 * costs that message's bytes, not the block's size), leaving the block
	 * all zeros as a fresh one. An unmapped block needs no wipe: its pages
	 * go back to the kernel. */
	if (size == block_size() && pool_lock()) {
		if (pool.n < BLOCKS_KEPT) {
			pool_unlock();
			session_wipe(s);
			if (pool_lock()) {
				if (pool.n < BLOCKS_KEPT) {
					pool.b[pool.n++] = p;
					p = NULL;
				}
				pool_unlock();
			}
		} else {
			pool_unlock();
		}
	}
	if (p)
		munmap(p, size);
}

void shim_block_after_fork(void)
{
	/* the lock may be held by a thread that does not exist here */
	atomic_store_explicit(&pool.lock, 0, memory_order_relaxed);
	/* its blocks are left mapped: another thread may have forked between a
	 * shim_block_put and its c->s = NULL, so conn_after_fork would unmap one
	 * of them too (a few pages kept by the child, no use after unmap) */
	pool.n = 0;
}
