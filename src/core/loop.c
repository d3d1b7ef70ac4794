/*
 * loop.c - the poll() loop and timer heap run by the master and by every
 * worker.  Watched fds are kept in a dense pollfd array plus a table
 * indexed by fd.  Ready events are snapshotted before dispatch, and each
 * watch carries a sequence number, so a handler may remove, close and
 * reuse any fd without a stale event reaching the new owner.  Timers are
 * a binary min-heap of pointers to struct sy_timer embedded in owners.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "switchyard/core.h"
#include "switchyard/loop.h"

struct loop_watch {
	sy_loop_fd_fn *fn;
	void *arg;
	int pidx;		/* index in pfds, -1 when unwatched */
	uint32_t seq;
};

struct loop_ready {
	int fd;
	short revents;
	uint32_t seq;
};

struct sy_loop {
	struct pollfd *pfds;
	unsigned npfds, cappfds;
	struct loop_watch *watch;	/* indexed by fd */
	unsigned capwatch;
	struct loop_ready *ready;
	unsigned capready;
	struct sy_timer **heap;
	unsigned nheap, capheap;
	uint32_t seq;
	bool in_timers;		/* dispatching timers */
};

struct sy_loop *
sy_loop_new(void)
{
	return calloc(1, sizeof(struct sy_loop));
}

void
sy_loop_free(struct sy_loop *loop)
{
	if (loop == NULL)
		return;
	free(loop->pfds);
	free(loop->watch);
	free(loop->ready);
	free(loop->heap);
	free(loop);
}

static int
loop_grow(void **p, unsigned *cap, unsigned need, size_t elem)
{
	unsigned ncap = *cap ? *cap : 16;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if ((np = realloc(*p, (size_t)ncap * elem)) == NULL)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

int
sy_loop_add(struct sy_loop *loop, int fd, short events, sy_loop_fd_fn *fn, void *arg)
{
	struct loop_watch *w;
	unsigned old = loop->capwatch, i;

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if ((unsigned)fd >= loop->capwatch) {
		if (loop_grow((void **)&loop->watch, &loop->capwatch, (unsigned)fd + 1, sizeof(*w)) == -1)
			return -1;
		for (i = old; i < loop->capwatch; i++) {
			loop->watch[i].pidx = -1;
			loop->watch[i].fn = NULL;
		}
	}
	w = &loop->watch[fd];
	if (w->pidx < 0) {
		if (loop_grow((void **)&loop->pfds, &loop->cappfds, loop->npfds + 1, sizeof(struct pollfd)) == -1)
			return -1;
		w->pidx = (int)loop->npfds++;
		loop->pfds[w->pidx].fd = fd;
	}
	loop->pfds[w->pidx].events = events;
	loop->pfds[w->pidx].revents = 0;
	w->fn = fn;
	w->arg = arg;
	w->seq = ++loop->seq;
	return 0;
}

void
sy_loop_set_events(struct sy_loop *loop, int fd, short events)
{
	if (fd >= 0 && (unsigned)fd < loop->capwatch && loop->watch[fd].pidx >= 0)
		loop->pfds[loop->watch[fd].pidx].events = events;
}

short
sy_loop_get_events(struct sy_loop *loop, int fd)
{
	if (fd >= 0 && (unsigned)fd < loop->capwatch && loop->watch[fd].pidx >= 0)
		return loop->pfds[loop->watch[fd].pidx].events;
	return 0;
}

void
sy_loop_del(struct sy_loop *loop, int fd)
{
	struct loop_watch *w;
	int last;

	if (fd < 0 || (unsigned)fd >= loop->capwatch || loop->watch[fd].pidx < 0)
		return;
	w = &loop->watch[fd];
	last = (int)--loop->npfds;
	if (w->pidx != last) {
		loop->pfds[w->pidx] = loop->pfds[last];
		loop->watch[loop->pfds[w->pidx].fd].pidx = w->pidx;
	}
	w->pidx = -1;
	w->fn = NULL;
	w->seq = 0;
}

unsigned
sy_loop_nfds(const struct sy_loop *loop)
{
	return loop->npfds;
}

/* ---- timers ------------------------------------------------------------ */

void
sy_timer_init(struct sy_timer *t, sy_loop_timer_fn *fn, void *arg)
{
	t->when_ms = 0;
	t->heap_index = -1;
	t->fn = fn;
	t->arg = arg;
}

static void
heap_swap(struct sy_loop *loop, unsigned a, unsigned b)
{
	struct sy_timer *t = loop->heap[a];

	loop->heap[a] = loop->heap[b];
	loop->heap[b] = t;
	loop->heap[a]->heap_index = (int)a;
	loop->heap[b]->heap_index = (int)b;
}

static void
heap_up(struct sy_loop *loop, unsigned i)
{
	while (i > 0) {
		unsigned p = (i - 1) / 2;

		if (loop->heap[p]->when_ms <= loop->heap[i]->when_ms)
			break;
		heap_swap(loop, i, p);
		i = p;
	}
}

static void
heap_down(struct sy_loop *loop, unsigned i)
{
	for (;;) {
		unsigned l = 2 * i + 1, r = l + 1, m = i;

		if (l < loop->nheap && loop->heap[l]->when_ms < loop->heap[m]->when_ms)
			m = l;
		if (r < loop->nheap && loop->heap[r]->when_ms < loop->heap[m]->when_ms)
			m = r;
		if (m == i)
			break;
		heap_swap(loop, i, m);
		i = m;
	}
}

void
sy_timer_stop(struct sy_loop *loop, struct sy_timer *t)
{
	unsigned i, last;

	if (t->heap_index < 0)
		return;
	i = (unsigned)t->heap_index;
	last = --loop->nheap;
	if (i != last) {
		loop->heap[i] = loop->heap[last];
		loop->heap[i]->heap_index = (int)i;
		heap_down(loop, i);
		heap_up(loop, i);
	}
	t->heap_index = -1;
}

void
sy_timer_start(struct sy_loop *loop, struct sy_timer *t, int64_t ms)
{
	sy_timer_stop(loop, t);
	if (loop_grow((void **)&loop->heap, &loop->capheap, loop->nheap + 1, sizeof(*loop->heap)) == -1) {
		/* Out of memory: the timer stays unarmed (sy_timer_armed is false). */
		return;
	}
	t->when_ms = sy_now_ms() + (ms < 0 ? 0 : ms);
	/* Re-armed from a timer callback: not before the next iteration. */
	if (loop->in_timers && t->when_ms <= sy_now_ms())
		t->when_ms = sy_now_ms() + 1;
	t->heap_index = (int)loop->nheap;
	loop->heap[loop->nheap++] = t;
	heap_up(loop, (unsigned)t->heap_index);
}

int
sy_loop_once(struct sy_loop *loop, int max_wait_ms)
{
	int64_t now = sy_time_update(), wait = -1;
	unsigned i, nready = 0;
	int n;

	if (loop->nheap > 0) {
		wait = loop->heap[0]->when_ms - now;
		if (wait < 0)
			wait = 0;
	}
	if (max_wait_ms >= 0 && (wait < 0 || wait > max_wait_ms))
		wait = max_wait_ms;
	n = poll(loop->pfds, loop->npfds, (int)wait);
	sy_time_update();
	if (n == -1 && errno != EINTR)
		return -1;
	if (n > 0) {
		if (loop_grow((void **)&loop->ready, &loop->capready, loop->npfds, sizeof(*loop->ready)) == -1)
			return -1;
		for (i = 0; i < loop->npfds; i++) {
			struct pollfd *p = &loop->pfds[i];

			if (p->revents == 0)
				continue;
			loop->ready[nready].fd = p->fd;
			loop->ready[nready].revents = p->revents;
			loop->ready[nready].seq = loop->watch[p->fd].seq;
			nready++;
			p->revents = 0;
		}
		for (i = 0; i < nready; i++) {
			struct loop_ready *r = &loop->ready[i];
			struct loop_watch *w = &loop->watch[r->fd];

			if (w->pidx < 0 || w->seq != r->seq || w->fn == NULL)
				continue;
			w->fn(loop, r->fd, r->revents, w->arg);
		}
	}
	now = sy_now_ms();
	loop->in_timers = true;
	while (loop->nheap > 0 && loop->heap[0]->when_ms <= now) {
		struct sy_timer *t = loop->heap[0];

		sy_timer_stop(loop, t);
		t->fn(loop, t->arg);
	}
	loop->in_timers = false;
	return 0;
}
