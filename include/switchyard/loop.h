/*
 * loop.h - a poll() event loop with a timer heap.  The master and every
 * worker run exactly one.  Handlers are called with the revents poll()
 * returned; a handler may add or remove any fd, including its own.
 * Nothing here blocks except poll() itself.
 */
#ifndef SWITCHYARD_LOOP_H
#define SWITCHYARD_LOOP_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

struct sy_loop;
typedef void sy_loop_fd_fn(struct sy_loop *loop, int fd, short revents, void *arg);
typedef void sy_loop_timer_fn(struct sy_loop *loop, void *arg);

/* A timer is embedded in its owner; heap_index < 0 when not armed. */
struct sy_timer {
	int64_t when_ms;
	int heap_index;
	sy_loop_timer_fn *fn;
	void *arg;
};

struct sy_loop *sy_loop_new(void);
void sy_loop_free(struct sy_loop *loop);

/* Watch fd for events (POLLIN/POLLOUT); replaces an existing watch. 0/-1. */
int sy_loop_add(struct sy_loop *loop, int fd, short events, sy_loop_fd_fn *fn, void *arg);
/* Change only the event mask of a watched fd. */
void sy_loop_set_events(struct sy_loop *loop, int fd, short events);
short sy_loop_get_events(struct sy_loop *loop, int fd);
void sy_loop_del(struct sy_loop *loop, int fd);
unsigned sy_loop_nfds(const struct sy_loop *loop);

void sy_timer_init(struct sy_timer *t, sy_loop_timer_fn *fn, void *arg);
/* Arm (or re-arm) t to fire after ms milliseconds. */
void sy_timer_start(struct sy_loop *loop, struct sy_timer *t, int64_t ms);
void sy_timer_stop(struct sy_loop *loop, struct sy_timer *t);
static inline bool sy_timer_armed(const struct sy_timer *t) { return t->heap_index >= 0; }

/*
 * One iteration: poll with the nearest timer as timeout (capped by
 * max_wait_ms when >= 0), dispatch fd handlers, then expired timers.
 * Returns 0, or -1 when poll failed with something other than EINTR.
 */
int sy_loop_once(struct sy_loop *loop, int max_wait_ms);

#endif
