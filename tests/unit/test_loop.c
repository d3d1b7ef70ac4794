/*
 * test_loop.c - the poll() loop and timer heap of src/core/loop.c, driven
 * with real socketpairs and real time.  Fd cases: readiness dispatch,
 * event masks, replacing a watch, removing the running or another ready
 * fd (whose stale event must not be delivered), closing and reusing an fd
 * number inside a handler, many fds with swap-removal.  Timer cases: many
 * timers with random start/stop/re-arm checked against the heap invariant
 * through the public heap_index/when_ms fields, firing order, re-arming,
 * stopping, timers started from timer callbacks, and max_wait_ms.  Time
 * bounds are lower bounds plus generous upper bounds; nothing sleeps.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "switchyard/core.h"
#include "switchyard/loop.h"
#include "unit.h"

/* ---- helpers ----------------------------------------------------------- */

struct rec {
	int calls;
	int fd;
	short revents;
	void *arg;
};

static void
pair_open(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(sy_fd_nonblock(sv[0]), 0);
	ck_assert_int_eq(sy_fd_nonblock(sv[1]), 0);
}

static void
pair_close(int sv[2])
{
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	sv[0] = sv[1] = -1;
}

static void
put(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static size_t
drain(int fd)
{
	char buf[256];
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += (size_t)n;
	return total;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_record(struct sy_loop *loop, int fd, short revents, void *arg)
{
	struct rec *r = arg;

	(void)loop;
	r->calls++;
	r->fd = fd;
	r->revents = revents;
	r->arg = arg;
}

/* Records and drains, so a level-triggered fd goes quiet. */
static void
on_record_drain(struct sy_loop *loop, int fd, short revents, void *arg)
{
	on_record(loop, fd, revents, arg);
	if (revents & POLLIN)
		drain(fd);
}

/* ---- fds ---------------------------------------------------------------- */

START_TEST(test_fd_readiness)
{
	struct sy_loop *loop = sy_loop_new();
	struct rec r = { 0 };
	int sv[2];

	ck_assert_ptr_nonnull(loop);
	pair_open(sv);
	ck_assert_uint_eq(sy_loop_nfds(loop), 0);
	ck_assert_int_eq(sy_loop_add(loop, sv[0], POLLIN, on_record, &r), 0);
	ck_assert_uint_eq(sy_loop_nfds(loop), 1);
	ck_assert_int_eq(sy_loop_get_events(loop, sv[0]), POLLIN);

	/* Nothing to read: the handler stays quiet. */
	ck_assert_int_eq(sy_loop_once(loop, 0), 0);
	ck_assert_int_eq(r.calls, 0);

	put(sv[1], "ping");
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_eq(r.fd, sv[0]);
	ck_assert_ptr_eq(r.arg, &r);
	ck_assert(r.revents & POLLIN);
	ck_assert(!(r.revents & POLLOUT));

	/* Level-triggered: still readable, so called again. */
	ck_assert_int_eq(sy_loop_once(loop, 0), 0);
	ck_assert_int_eq(r.calls, 2);
	ck_assert_uint_eq(drain(sv[0]), 4);
	ck_assert_int_eq(sy_loop_once(loop, 0), 0);
	ck_assert_int_eq(r.calls, 2);

	/* The peer's close shows as readable (EOF) or hang-up. */
	close(sv[1]);
	sv[1] = -1;
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(r.calls, 3);
	ck_assert(r.revents & (POLLIN | POLLHUP));

	sy_loop_del(loop, sv[0]);
	pair_close(sv);
	sy_loop_free(loop);
}
END_TEST

START_TEST(test_fd_pollout)
{
	struct sy_loop *loop = sy_loop_new();
	struct rec r = { 0 };
	int sv[2];

	pair_open(sv);
	ck_assert_int_eq(sy_loop_add(loop, sv[1], POLLOUT, on_record, &r), 0);
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(r.calls, 1);
	ck_assert(r.revents & POLLOUT);
	ck_assert(!(r.revents & POLLIN));
	sy_loop_del(loop, sv[1]);
	pair_close(sv);
	sy_loop_free(loop);
}
END_TEST

START_TEST(test_fd_set_events)
{
	struct sy_loop *loop = sy_loop_new();
	struct rec r = { 0 };
	int sv[2];

	pair_open(sv);
	put(sv[1], "x");
	/* Readable and writable, but watching nothing. */
	ck_assert_int_eq(sy_loop_add(loop, sv[0], 0, on_record, &r), 0);
	ck_assert_int_eq(sy_loop_once(loop, 0), 0);
	ck_assert_int_eq(r.calls, 0);

	sy_loop_set_events(loop, sv[0], POLLOUT);
	ck_assert_int_eq(sy_loop_get_events(loop, sv[0]), POLLOUT);
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(r.calls, 1);
	ck_assert(r.revents & POLLOUT);
	ck_assert(!(r.revents & POLLIN));

	sy_loop_set_events(loop, sv[0], POLLIN);
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(r.calls, 2);
	ck_assert(r.revents & POLLIN);
	ck_assert(!(r.revents & POLLOUT));

	sy_loop_set_events(loop, sv[0], POLLIN | POLLOUT);
	ck_assert_int_eq(sy_loop_get_events(loop, sv[0]), POLLIN | POLLOUT);
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(r.calls, 3);
	ck_assert_int_eq(r.revents & (POLLIN | POLLOUT), POLLIN | POLLOUT);

	sy_loop_set_events(loop, sv[0], 0);
	ck_assert_int_eq(sy_loop_once(loop, 0), 0);
	ck_assert_int_eq(r.calls, 3);
	ck_assert_uint_eq(sy_loop_nfds(loop), 1);

	/* set_events and get_events ignore fds that are not watched. */
	sy_loop_set_events(loop, sv[1], POLLIN);
	ck_assert_int_eq(sy_loop_get_events(loop, sv[1]), 0);
	ck_assert_uint_eq(sy_loop_nfds(loop), 1);
	sy_loop_set_events(loop, 100000, POLLIN);
	ck_assert_int_eq(sy_loop_get_events(loop, 100000), 0);
	sy_loop_set_events(loop, -1, POLLIN);
	ck_assert_int_eq(sy_loop_get_events(loop, -1), 0);
	sy_loop_del(loop, 100000);
	sy_loop_del(loop, -1);
	sy_loop_del(loop, sv[1]);
	ck_assert_uint_eq(sy_loop_nfds(loop), 1);

	pair_close(sv);
	sy_loop_free(loop);
}
END_TEST

START_TEST(test_fd_add_replaces)
{
	struct sy_loop *loop = sy_loop_new();
	struct rec a = { 0 }, b = { 0 };
	int sv[2];

	pair_open(sv);
	ck_assert_int_eq(sy_loop_add(loop, sv[0], POLLOUT, on_record, &a), 0);
	ck_assert_int_eq(sy_loop_add(loop, sv[0], POLLIN, on_record_drain, &b), 0);
	ck_assert_uint_eq(sy_loop_nfds(loop), 1);
	ck_assert_int_eq(sy_loop_get_events(loop, sv[0]), POLLIN);
	put(sv[1], "x");
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(a.calls, 0);
	ck_assert_int_eq(b.calls, 1);
	ck_assert_ptr_eq(b.arg, &b);
	sy_loop_del(loop, sv[0]);
	ck_assert_uint_eq(sy_loop_nfds(loop), 0);
	pair_close(sv);
	sy_loop_free(loop);
}
END_TEST

START_TEST(test_fd_add_errors)
{
	struct sy_loop *loop = sy_loop_new();
	struct rec r = { 0 };
	int sv[2], big;

	errno = 0;
	ck_assert_int_eq(sy_loop_add(loop, -1, POLLIN, on_record, &r), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_uint_eq(sy_loop_nfds(loop), 0);

	/* An fd number far above the table grows it. */
	pair_open(sv);
	big = fcntl(sv[0], F_DUPFD, 700);
	ck_assert_int_ge(big, 700);
	ck_assert_int_eq(sy_loop_add(loop, big, POLLIN, on_record_drain, &r), 0);
	put(sv[1], "x");
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_eq(r.fd, big);
	sy_loop_del(loop, big);
	close(big);
	pair_close(sv);
	sy_loop_free(loop);
	sy_loop_free(NULL);
}
END_TEST

/* A handler that removes its own fd: never called again. */
static void
on_del_self(struct sy_loop *loop, int fd, short revents, void *arg)
{
	on_record(loop, fd, revents, arg);
	sy_loop_del(loop, fd);
}

START_TEST(test_fd_del_self)
{
	struct sy_loop *loop = sy_loop_new();
	struct rec r = { 0 }, other = { 0 };
	int sv[2], sv2[2];

	pair_open(sv);
	pair_open(sv2);
	ck_assert_int_eq(sy_loop_add(loop, sv[0], POLLIN, on_del_self, &r), 0);
	ck_assert_int_eq(sy_loop_add(loop, sv2[0], POLLIN, on_record_drain, &other), 0);
	put(sv[1], "x");
	put(sv2[1], "y");
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(r.calls, 1);
	/* The other ready fd is unaffected by the removal (swap in the array). */
	ck_assert_int_eq(other.calls, 1);
	ck_assert_uint_eq(sy_loop_nfds(loop), 1);
	ck_assert_int_eq(sy_loop_get_events(loop, sv[0]), 0);
	ck_assert_int_eq(sy_loop_get_events(loop, sv2[0]), POLLIN);

	/* Still readable, but no longer watched. */
	ck_assert_int_eq(sy_loop_once(loop, 0), 0);
	ck_assert_int_eq(r.calls, 1);
	put(sv2[1], "y");
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(other.calls, 2);
	ck_assert_int_eq(r.calls, 1);

	sy_loop_del(loop, sv2[0]);
	pair_close(sv);
	pair_close(sv2);
	sy_loop_free(loop);
}
END_TEST

/*
 * Two fds ready in the same iteration; whichever handler runs first
 * removes the other, whose snapshotted event must then be dropped.
 */
struct del_other {
	int self_fd, other_fd;
	int *total;
	struct rec r;
	bool close_other;
};

static void
on_del_other(struct sy_loop *loop, int fd, short revents, void *arg)
{
	struct del_other *d = arg;

	(void)revents;
	d->r.calls++;
	d->r.fd = fd;
	(*d->total)++;
	sy_loop_del(loop, d->other_fd);
	if (d->close_other) {
		close(d->other_fd);
		d->close_other = false;
	}
}

START_TEST(test_fd_del_other_ready)
{
	struct sy_loop *loop = sy_loop_new();
	struct del_other a, b;
	int sa[2], sb[2], total = 0;

	pair_open(sa);
	pair_open(sb);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.self_fd = sa[0], a.other_fd = sb[0], a.total = &total;
	b.self_fd = sb[0], b.other_fd = sa[0], b.total = &total;
	ck_assert_int_eq(sy_loop_add(loop, sa[0], POLLIN, on_del_other, &a), 0);
	ck_assert_int_eq(sy_loop_add(loop, sb[0], POLLIN, on_del_other, &b), 0);
	put(sa[1], "x");
	put(sb[1], "y");
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(total, 1);
	ck_assert_int_eq(a.r.calls + b.r.calls, 1);
	ck_assert_uint_eq(sy_loop_nfds(loop), 1);

	/* The survivor is still watched and still ready. */
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(total, 2);
	ck_assert_int_eq(a.r.calls == 2 || b.r.calls == 2, 1);

	sy_loop_del(loop, sa[0]);
	sy_loop_del(loop, sb[0]);
	ck_assert_uint_eq(sy_loop_nfds(loop), 0);
	pair_close(sa);
	pair_close(sb);
	sy_loop_free(loop);
}
END_TEST

/*
 * A handler removes and closes another ready fd, then a new, empty socket
 * takes the same fd number and is watched by a new owner: the old
 * owner's pending event must not reach the new one.
 */
struct reuse_ctx {
	int first_fd;		/* whoever runs first */
	int victim;		/* fd number to close and reuse */
	int newpair[2];
	struct rec newowner;
	int calls;
};

static void
on_reuse_victim_owner(struct sy_loop *loop, int fd, short revents, void *arg)
{
	struct reuse_ctx *c = arg;

	(void)loop;
	(void)fd;
	(void)revents;
	/* Old owner of the victim fd: must never run after the swap. */
	c->calls += 1000;
}

static void
on_reuse_killer(struct sy_loop *loop, int fd, short revents, void *arg)
{
	struct reuse_ctx *c = arg;
	int p[2];

	(void)revents;
	c->calls++;
	c->first_fd = fd;
	drain(fd);
	if (c->newpair[0] != -1)
		return;
	sy_loop_del(loop, c->victim);
	close(c->victim);
	pair_open(p);
	/* Make sure the new socket lands on the victim's number. */
	if (p[0] != c->victim) {
		ck_assert_int_eq(dup2(p[0], c->victim), c->victim);
		close(p[0]);
		p[0] = c->victim;
	}
	c->newpair[0] = p[0];
	c->newpair[1] = p[1];
	ck_assert_int_eq(sy_loop_add(loop, c->victim, POLLIN | POLLOUT, on_record, &c->newowner), 0);
}

START_TEST(test_fd_reuse_other_after_close)
{
	struct sy_loop *loop = sy_loop_new();
	struct reuse_ctx c;
	int sk[2], sv[2];

	memset(&c, 0, sizeof(c));
	c.newpair[0] = c.newpair[1] = -1;
	pair_open(sk);
	pair_open(sv);
	c.victim = sv[0];
	/* The victim is added first, so it sits before the killer in the
	 * array and is swapped around when removed. */
	ck_assert_int_eq(sy_loop_add(loop, sv[0], POLLIN, on_reuse_victim_owner, &c), 0);
	ck_assert_int_eq(sy_loop_add(loop, sk[0], POLLIN, on_reuse_killer, &c), 0);
	/* Only the killer is ready: the victim's old owner must not run. */
	put(sk[1], "k");
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(c.calls, 1);
	ck_assert_int_eq(c.newowner.calls, 0);
	sy_loop_del(loop, c.victim);
	pair_close(c.newpair);
	sy_loop_del(loop, sk[0]);
	close(sv[1]);
	sv[0] = sv[1] = -1;
	memset(&c, 0, sizeof(c));
	c.newpair[0] = c.newpair[1] = -1;

	/* Now both are ready in the same iteration; the victim's event was
	 * snapshotted with the old owner's POLLIN. */
	pair_open(sv);
	c.victim = sv[0];
	ck_assert_int_eq(sy_loop_add(loop, sk[0], POLLIN, on_reuse_killer, &c), 0);
	ck_assert_int_eq(sy_loop_add(loop, sv[0], POLLIN, on_reuse_victim_owner, &c), 0);
	put(sk[1], "k");
	put(sv[1], "v");
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	if (c.first_fd == sk[0]) {
		/* The killer ran first: no stale event for the victim's number. */
		ck_assert_int_eq(c.calls, 1);
		ck_assert_int_eq(c.newowner.calls, 0);
		/* The new owner gets its own events from the next iteration. */
		ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
		ck_assert_int_eq(c.newowner.calls, 1);
		ck_assert_int_eq(c.newowner.fd, c.victim);
		ck_assert(c.newowner.revents & POLLOUT);
		ck_assert(!(c.newowner.revents & POLLIN));
		ck_assert_int_eq(c.calls, 1);
	} else {
		ck_abort_msg("dispatch order: victim handler ran before the killer (calls %d)", c.calls);
	}
	sy_loop_del(loop, sk[0]);
	sy_loop_del(loop, c.victim);
	ck_assert_uint_eq(sy_loop_nfds(loop), 0);
	pair_close(c.newpair);
	close(sv[1]);
	pair_close(sk);
	sy_loop_free(loop);
}
END_TEST

/*
 * A handler closes its own fd and a new socket reuses the number inside
 * the same handler: the new watch sees only its own readiness.
 */
struct self_reuse {
	int pair[2];
	int newpair[2];
	struct rec newowner;
	int calls;
};

static void
on_self_reuse(struct sy_loop *loop, int fd, short revents, void *arg)
{
	struct self_reuse *c = arg;
	int p[2];

	(void)revents;
	c->calls++;
	sy_loop_del(loop, fd);
	close(fd);
	close(c->pair[1]);
	c->pair[0] = c->pair[1] = -1;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
	if (p[0] != fd) {
		ck_assert_int_eq(dup2(p[0], fd), fd);
		close(p[0]);
		p[0] = fd;
	}
	ck_assert_int_eq(sy_fd_nonblock(p[0]), 0);
	c->newpair[0] = p[0];
	c->newpair[1] = p[1];
	ck_assert_int_eq(sy_loop_add(loop, fd, POLLIN, on_record_drain, &c->newowner), 0);
}

START_TEST(test_fd_reuse_self_after_close)
{
	struct sy_loop *loop = sy_loop_new();
	struct self_reuse c;
	struct rec bystander = { 0 };
	int sb[2];

	memset(&c, 0, sizeof(c));
	pair_open(c.pair);
	pair_open(sb);
	ck_assert_int_eq(sy_loop_add(loop, c.pair[0], POLLIN, on_self_reuse, &c), 0);
	ck_assert_int_eq(sy_loop_add(loop, sb[0], POLLIN, on_record_drain, &bystander), 0);
	put(c.pair[1], "x");
	put(sb[1], "y");
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(c.calls, 1);
	ck_assert_int_eq(bystander.calls, 1);
	ck_assert_int_eq(c.newowner.calls, 0);
	ck_assert_uint_eq(sy_loop_nfds(loop), 2);

	/* The new socket is empty: nothing for its owner yet. */
	ck_assert_int_eq(sy_loop_once(loop, 0), 0);
	ck_assert_int_eq(c.newowner.calls, 0);
	put(c.newpair[1], "z");
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(c.newowner.calls, 1);
	ck_assert_int_eq(c.calls, 1);

	sy_loop_del(loop, c.newpair[0]);
	sy_loop_del(loop, sb[0]);
	pair_close(c.newpair);
	pair_close(sb);
	sy_loop_free(loop);
}
END_TEST

/* Many fds: readiness reaches the right handler after swap-removals. */
#define MANY 64

START_TEST(test_fd_many)
{
	struct sy_loop *loop = sy_loop_new();
	static int sv[MANY][2];
	static struct rec r[MANY];
	unsigned i, watched;
	int pass;

	memset(r, 0, sizeof(r));
	for (i = 0; i < MANY; i++) {
		pair_open(sv[i]);
		ck_assert_int_eq(sy_loop_add(loop, sv[i][0], POLLIN, on_record_drain, &r[i]), 0);
	}
	ck_assert_uint_eq(sy_loop_nfds(loop), MANY);
	/* Remove every third one, from the middle of the array. */
	for (i = 0; i < MANY; i += 3)
		sy_loop_del(loop, sv[i][0]);
	watched = MANY - (MANY + 2) / 3;
	ck_assert_uint_eq(sy_loop_nfds(loop), watched);
	for (pass = 0; pass < 2; pass++) {
		memset(r, 0, sizeof(r));
		for (i = 0; i < MANY; i++)
			if (i % 2 == (unsigned)pass)
				put(sv[i][1], "x");
		ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
		for (i = 0; i < MANY; i++) {
			bool expect = i % 3 != 0 && i % 2 == (unsigned)pass;

			ck_assert_msg(r[i].calls == (expect ? 1 : 0),
			    "pass %d fd #%u: %d calls, expected %d", pass, i, r[i].calls, expect);
			if (expect) {
				ck_assert_int_eq(r[i].fd, sv[i][0]);
				ck_assert_ptr_eq(r[i].arg, &r[i]);
			}
			if (i % 3 == 0)
				drain(sv[i][0]);
		}
	}
	for (i = 0; i < MANY; i++) {
		ck_assert_int_eq(sy_loop_get_events(loop, sv[i][0]), i % 3 == 0 ? 0 : POLLIN);
		sy_loop_del(loop, sv[i][0]);
		pair_close(sv[i]);
	}
	ck_assert_uint_eq(sy_loop_nfds(loop), 0);
	sy_loop_free(loop);
}
END_TEST

/* ---- timers ------------------------------------------------------------- */

/*
 * The heap invariant through the public fields: armed timers hold the
 * indices 0..n-1 exactly once, and no child is earlier than its parent.
 * Called after every operation, so it asserts only on failure (each
 * passing ck_assert costs check a write to its message pipe).
 */
static unsigned
heap_check(struct sy_timer *t, unsigned n)
{
	struct sy_timer *at[1024];
	unsigned i, armed = 0;

	if (n > SY_ARRAY_LEN(at))
		ck_abort_msg("heap_check: too many timers");
	memset(at, 0, sizeof(at));
	for (i = 0; i < n; i++) {
		if (!sy_timer_armed(&t[i]))
			continue;
		armed++;
		if (t[i].heap_index >= (int)n)
			ck_abort_msg("heap index %d out of range", t[i].heap_index);
		if (at[t[i].heap_index] != NULL)
			ck_abort_msg("heap index %d used twice", t[i].heap_index);
		at[t[i].heap_index] = &t[i];
	}
	for (i = 0; i < armed; i++)
		if (at[i] == NULL)
			ck_abort_msg("heap index %u unused with %u armed", i, armed);
	for (i = 1; i < armed; i++)
		if (at[(i - 1) / 2]->when_ms > at[i]->when_ms)
			ck_abort_msg("heap order broken at %u: parent %lld > child %lld", i,
			    (long long)at[(i - 1) / 2]->when_ms, (long long)at[i]->when_ms);
	return armed;
}

struct fired {
	struct sy_timer *order[1024];
	unsigned n;
	int64_t late_by_min;	/* sy_now_ms() - when_ms at firing, smallest seen */
};

static struct fired fired;

static void
on_timer_record(struct sy_loop *loop, void *arg)
{
	struct sy_timer *t = arg;

	(void)loop;
	if (sy_timer_armed(t))
		ck_abort_msg("timer still armed in its own callback");
	if (fired.n >= SY_ARRAY_LEN(fired.order))
		ck_abort_msg("too many timers fired");
	fired.order[fired.n++] = t;
	if (sy_now_ms() - t->when_ms < fired.late_by_min)
		fired.late_by_min = sy_now_ms() - t->when_ms;
}

#define NTIMERS 300

static void
timers_random(unsigned seed)
{
	struct sy_loop *loop = sy_loop_new();
	static struct sy_timer t[NTIMERS];
	static int count[NTIMERS];
	unsigned i, op, armed;
	int64_t deadline;

	srand(seed);
	memset(&fired, 0, sizeof(fired));
	fired.late_by_min = INT64_MAX;
	memset(count, 0, sizeof(count));
	for (i = 0; i < NTIMERS; i++)
		sy_timer_init(&t[i], on_timer_record, &t[i]);
	ck_assert_uint_eq(heap_check(t, NTIMERS), 0);
	sy_time_update();
	for (op = 0; op < 3000; op++) {
		i = (unsigned)rand() % NTIMERS;
		switch (rand() % 4) {
		case 0:
		case 1:
		case 2:
			/* Start or re-arm; many equal deadlines on purpose. */
			sy_timer_start(loop, &t[i], rand() % 40);
			if (!sy_timer_armed(&t[i]))
				ck_abort_msg("timer %u not armed after start", i);
			break;
		default:
			sy_timer_stop(loop, &t[i]);
			if (sy_timer_armed(&t[i]))
				ck_abort_msg("timer %u armed after stop", i);
			break;
		}
		if (op % 7 == 0)
			sy_time_update();
		heap_check(t, NTIMERS);
	}
	armed = heap_check(t, NTIMERS);
	ck_assert_uint_gt(armed, 0);

	deadline = mono_ms() + 5000;
	while (fired.n < armed && mono_ms() < deadline) {
		if (sy_loop_once(loop, 100) != 0)
			ck_abort_msg("sy_loop_once failed");
		heap_check(t, NTIMERS);
	}
	ck_assert_uint_eq(fired.n, armed);
	ck_assert_uint_eq(heap_check(t, NTIMERS), 0);
	/* Never early, in deadline order, each exactly once. */
	ck_assert_int_ge(fired.late_by_min, 0);
	for (i = 0; i < fired.n; i++) {
		count[fired.order[i] - t]++;
		if (i > 0 && fired.order[i - 1]->when_ms > fired.order[i]->when_ms)
			ck_abort_msg("timer %u fired out of order", i);
	}
	for (i = 0; i < NTIMERS; i++)
		if (count[i] > 1)
			ck_abort_msg("timer %u fired %d times", i, count[i]);
	/* Nothing more fires. */
	ck_assert_int_eq(sy_loop_once(loop, 0), 0);
	ck_assert_uint_eq(fired.n, armed);
	sy_loop_free(loop);
}

START_TEST(test_timer_many_random)
{
	timers_random(1u + (unsigned)_i * 7919u);
}
END_TEST

START_TEST(test_timer_same_deadline)
{
	struct sy_loop *loop = sy_loop_new();
	struct sy_timer t[20];
	unsigned i;

	memset(&fired, 0, sizeof(fired));
	fired.late_by_min = INT64_MAX;
	sy_time_update();
	for (i = 0; i < SY_ARRAY_LEN(t); i++) {
		sy_timer_init(&t[i], on_timer_record, &t[i]);
		sy_timer_start(loop, &t[i], 0);
	}
	ck_assert_uint_eq(heap_check(t, SY_ARRAY_LEN(t)), SY_ARRAY_LEN(t));
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_uint_eq(fired.n, SY_ARRAY_LEN(t));
	ck_assert_uint_eq(heap_check(t, SY_ARRAY_LEN(t)), 0);
	sy_loop_free(loop);
}
END_TEST

START_TEST(test_timer_rearm)
{
	struct sy_loop *loop = sy_loop_new();
	struct sy_timer t, u;
	int64_t t0, deadline;

	memset(&fired, 0, sizeof(fired));
	fired.late_by_min = INT64_MAX;
	sy_timer_init(&t, on_timer_record, &t);
	sy_timer_init(&u, on_timer_record, &u);
	ck_assert(!sy_timer_armed(&t));
	sy_time_update();
	sy_timer_start(loop, &t, 60000);
	sy_timer_start(loop, &u, 60000);
	ck_assert(sy_timer_armed(&t));
	/* Re-arming earlier moves it; it is in the heap once. */
	sy_timer_start(loop, &t, 20);
	ck_assert_int_eq(t.when_ms, sy_now_ms() + 20);
	ck_assert_uint_eq(heap_check((struct sy_timer[]){ t, u }, 2), 2);
	ck_assert_int_eq(t.heap_index, 0);

	t0 = mono_ms();
	deadline = t0 + 5000;
	while (fired.n == 0 && mono_ms() < deadline)
		ck_assert_int_eq(sy_loop_once(loop, -1), 0);
	ck_assert_uint_eq(fired.n, 1);
	ck_assert_ptr_eq(fired.order[0], &t);
	ck_assert_int_ge(mono_ms() - t0, 19);
	ck_assert(!sy_timer_armed(&t));
	ck_assert(sy_timer_armed(&u));

	/* Re-arming later: the old deadline does not fire. */
	sy_time_update();
	sy_timer_start(loop, &t, 10);
	sy_timer_start(loop, &t, 60000);
	ck_assert_int_eq(sy_loop_once(loop, 50), 0);
	ck_assert_uint_eq(fired.n, 1);
	ck_assert(sy_timer_armed(&t));

	sy_timer_stop(loop, &t);
	sy_timer_stop(loop, &u);
	sy_loop_free(loop);
}
END_TEST

START_TEST(test_timer_stop)
{
	struct sy_loop *loop = sy_loop_new();
	struct sy_timer t[3];
	unsigned i;

	memset(&fired, 0, sizeof(fired));
	fired.late_by_min = INT64_MAX;
	for (i = 0; i < 3; i++)
		sy_timer_init(&t[i], on_timer_record, &t[i]);
	/* Stopping a timer that never ran is harmless. */
	sy_timer_stop(loop, &t[0]);
	ck_assert(!sy_timer_armed(&t[0]));
	sy_time_update();
	for (i = 0; i < 3; i++)
		sy_timer_start(loop, &t[i], 0);
	sy_timer_stop(loop, &t[1]);
	sy_timer_stop(loop, &t[1]);
	sy_timer_stop(loop, &t[0]);
	ck_assert_uint_eq(heap_check(t, 3), 1);
	ck_assert_int_eq(t[2].heap_index, 0);
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_uint_eq(fired.n, 1);
	ck_assert_ptr_eq(fired.order[0], &t[2]);
	/* Stopping after it fired is harmless too. */
	sy_timer_stop(loop, &t[2]);
	ck_assert_int_eq(sy_loop_once(loop, 10), 0);
	ck_assert_uint_eq(fired.n, 1);
	sy_loop_free(loop);
}
END_TEST

/* A callback that stops another expired timer: that one must not fire. */
struct stopper {
	struct sy_timer self, *victim;
	int calls;
};

static void
on_timer_stop_other(struct sy_loop *loop, void *arg)
{
	struct stopper *s = arg;

	s->calls++;
	sy_timer_stop(loop, s->victim);
}

START_TEST(test_timer_stop_from_callback)
{
	struct sy_loop *loop = sy_loop_new();
	struct stopper a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	sy_timer_init(&a.self, on_timer_stop_other, &a);
	sy_timer_init(&b.self, on_timer_stop_other, &b);
	a.victim = &b.self;
	b.victim = &a.self;
	sy_time_update();
	sy_timer_start(loop, &a.self, 0);
	sy_timer_start(loop, &b.self, 0);
	ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(a.calls + b.calls, 1);
	ck_assert(!sy_timer_armed(&a.self));
	ck_assert(!sy_timer_armed(&b.self));
	sy_loop_free(loop);
}
END_TEST

/* A callback starting another timer, and one re-arming itself. */
struct chain {
	struct sy_loop *loop;
	struct sy_timer first, second, periodic;
	int first_calls, second_calls, periodic_calls;
	int64_t second_ms;
	int periodic_max;
	int64_t periodic_ms;
};

static void
on_chain_second(struct sy_loop *loop, void *arg)
{
	struct chain *c = arg;

	(void)loop;
	c->second_calls++;
}

static void
on_chain_first(struct sy_loop *loop, void *arg)
{
	struct chain *c = arg;

	c->first_calls++;
	sy_timer_start(loop, &c->second, c->second_ms);
	ck_assert(sy_timer_armed(&c->second));
}

static void
on_chain_periodic(struct sy_loop *loop, void *arg)
{
	struct chain *c = arg;

	c->periodic_calls++;
	if (c->periodic_calls < c->periodic_max)
		sy_timer_start(loop, &c->periodic, c->periodic_ms);
}

START_TEST(test_timer_start_from_callback)
{
	struct sy_loop *loop = sy_loop_new();
	struct chain c;
	int64_t t0, deadline;

	memset(&c, 0, sizeof(c));
	sy_timer_init(&c.first, on_chain_first, &c);
	sy_timer_init(&c.second, on_chain_second, &c);
	c.second_ms = 15;
	sy_time_update();
	t0 = mono_ms();
	sy_timer_start(loop, &c.first, 5);
	deadline = t0 + 5000;
	while (c.second_calls == 0 && mono_ms() < deadline)
		ck_assert_int_eq(sy_loop_once(loop, -1), 0);
	ck_assert_int_eq(c.first_calls, 1);
	ck_assert_int_eq(c.second_calls, 1);
	ck_assert_int_ge(mono_ms() - t0, 5 + 15 - 1);
	ck_assert(!sy_timer_armed(&c.first));
	ck_assert(!sy_timer_armed(&c.second));
	ck_assert_int_eq(sy_loop_once(loop, 10), 0);
	ck_assert_int_eq(c.second_calls, 1);

	/* Started with 0 ms from a callback: it still fires, exactly once. */
	memset(&c, 0, sizeof(c));
	sy_timer_init(&c.first, on_chain_first, &c);
	sy_timer_init(&c.second, on_chain_second, &c);
	c.second_ms = 0;
	sy_time_update();
	sy_timer_start(loop, &c.first, 0);
	deadline = mono_ms() + 5000;
	while (c.second_calls == 0 && mono_ms() < deadline)
		ck_assert_int_eq(sy_loop_once(loop, 1000), 0);
	ck_assert_int_eq(c.first_calls, 1);
	ck_assert_int_eq(c.second_calls, 1);
	ck_assert_int_eq(sy_loop_once(loop, 0), 0);
	ck_assert_int_eq(c.second_calls, 1);

	/* A periodic timer re-arming itself from its callback. */
	memset(&c, 0, sizeof(c));
	sy_timer_init(&c.periodic, on_chain_periodic, &c);
	c.periodic_max = 4;
	c.periodic_ms = 5;
	sy_time_update();
	t0 = mono_ms();
	sy_timer_start(loop, &c.periodic, 5);
	deadline = t0 + 5000;
	while (c.periodic_calls < 4 && mono_ms() < deadline)
		ck_assert_int_eq(sy_loop_once(loop, -1), 0);
	ck_assert_int_eq(c.periodic_calls, 4);
	ck_assert_int_ge(mono_ms() - t0, 4 * 5 - 1);
	ck_assert(!sy_timer_armed(&c.periodic));
	sy_loop_free(loop);
}
END_TEST

/*
 * A timer that re-arms itself with 0 ms from its own callback must not
 * keep one sy_loop_once() busy forever: fds would starve.  0 ms means "on
 * the next iteration" (see sy_timer_start's out-of-memory path).
 */
START_TEST(test_timer_zero_rearm_yields)
{
	struct sy_loop *loop = sy_loop_new();
	struct chain c;
	struct rec r = { 0 };
	int sv[2];

	memset(&c, 0, sizeof(c));
	sy_timer_init(&c.periodic, on_chain_periodic, &c);
	c.periodic_max = 1000000;
	c.periodic_ms = 0;
	pair_open(sv);
	ck_assert_int_eq(sy_loop_add(loop, sv[0], POLLIN, on_record_drain, &r), 0);
	sy_time_update();
	sy_timer_start(loop, &c.periodic, 0);
	ck_assert_int_eq(sy_loop_once(loop, 0), 0);
	ck_assert_msg(c.periodic_calls == 1,
	    "one sy_loop_once ran a self-re-arming 0 ms timer %d times", c.periodic_calls);
	/* The fd is still served between timer runs. */
	put(sv[1], "x");
	ck_assert_int_eq(sy_loop_once(loop, 0), 0);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_le(c.periodic_calls, 2);
	sy_timer_stop(loop, &c.periodic);
	sy_loop_del(loop, sv[0]);
	pair_close(sv);
	sy_loop_free(loop);
}
END_TEST

START_TEST(test_max_wait)
{
	struct sy_loop *loop = sy_loop_new();
	struct sy_timer t;
	int64_t t0, el;

	memset(&fired, 0, sizeof(fired));
	fired.late_by_min = INT64_MAX;

	/* Nothing watched, no timer: waits max_wait_ms. */
	t0 = mono_ms();
	ck_assert_int_eq(sy_loop_once(loop, 30), 0);
	el = mono_ms() - t0;
	ck_assert_int_ge(el, 29);
	ck_assert_int_lt(el, 2000);

	/* 0: returns at once even with a far timer. */
	sy_timer_init(&t, on_timer_record, &t);
	sy_time_update();
	sy_timer_start(loop, &t, 60000);
	t0 = mono_ms();
	ck_assert_int_eq(sy_loop_once(loop, 0), 0);
	ck_assert_int_lt(mono_ms() - t0, 1000);
	ck_assert_uint_eq(fired.n, 0);

	/* max_wait caps a far timer, which does not fire. */
	t0 = mono_ms();
	ck_assert_int_eq(sy_loop_once(loop, 20), 0);
	el = mono_ms() - t0;
	ck_assert_int_ge(el, 19);
	ck_assert_int_lt(el, 2000);
	ck_assert_uint_eq(fired.n, 0);
	ck_assert(sy_timer_armed(&t));

	/* A near timer shortens a long max_wait and fires. */
	sy_time_update();
	sy_timer_start(loop, &t, 20);
	t0 = mono_ms();
	while (fired.n == 0 && mono_ms() - t0 < 5000)
		ck_assert_int_eq(sy_loop_once(loop, 10000), 0);
	el = mono_ms() - t0;
	ck_assert_uint_eq(fired.n, 1);
	ck_assert_int_ge(el, 19);
	ck_assert_int_lt(el, 2000);

	/* -1 with a timer: waits for the timer only. */
	sy_time_update();
	sy_timer_start(loop, &t, 10);
	t0 = mono_ms();
	while (fired.n == 1 && mono_ms() - t0 < 5000)
		ck_assert_int_eq(sy_loop_once(loop, -1), 0);
	ck_assert_uint_eq(fired.n, 2);
	ck_assert_int_ge(mono_ms() - t0, 9);

	/* An fd ready before the timeout ends the wait early. */
	{
		struct rec r = { 0 };
		int sv[2];

		pair_open(sv);
		ck_assert_int_eq(sy_loop_add(loop, sv[0], POLLIN, on_record_drain, &r), 0);
		put(sv[1], "x");
		t0 = mono_ms();
		ck_assert_int_eq(sy_loop_once(loop, 10000), 0);
		ck_assert_int_lt(mono_ms() - t0, 2000);
		ck_assert_int_eq(r.calls, 1);
		sy_loop_del(loop, sv[0]);
		pair_close(sv);
	}
	sy_loop_free(loop);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite *s = suite_create("loop");
	TCase *fd = tcase_create("fd");
	TCase *tm = tcase_create("timer");

	tcase_add_test(fd, test_fd_readiness);
	tcase_add_test(fd, test_fd_pollout);
	tcase_add_test(fd, test_fd_set_events);
	tcase_add_test(fd, test_fd_add_replaces);
	tcase_add_test(fd, test_fd_add_errors);
	tcase_add_test(fd, test_fd_del_self);
	tcase_add_test(fd, test_fd_del_other_ready);
	tcase_add_test(fd, test_fd_reuse_other_after_close);
	tcase_add_test(fd, test_fd_reuse_self_after_close);
	tcase_add_test(fd, test_fd_many);
	suite_add_tcase(s, fd);

	tcase_set_timeout(tm, 20);
	tcase_add_loop_test(tm, test_timer_many_random, 0, 4);
	tcase_add_test(tm, test_timer_same_deadline);
	tcase_add_test(tm, test_timer_rearm);
	tcase_add_test(tm, test_timer_stop);
	tcase_add_test(tm, test_timer_stop_from_callback);
	tcase_add_test(tm, test_timer_start_from_callback);
	tcase_add_test(tm, test_timer_zero_rearm_yields);
	tcase_add_test(tm, test_max_wait);
	suite_add_tcase(s, tm);
	return s;
}

SY_UNIT_MAIN(make_suite)
