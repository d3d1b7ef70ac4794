/*
 * worker.h - a worker process: one poll() loop over its connections.  The
 * only state a worker inherits from the master is struct sy_heritage;
 * sy_worker_new rebuilds everything else (signals, RNG, logs).  Workers
 * leave with _exit() so no atexit handler of the master runs twice.
 */
#ifndef SWITCHYARD_WORKER_H
#define SWITCHYARD_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct sy_conf;
struct sy_loop;
struct sy_conn;

/* Everything a worker inherits across fork, and nothing else. */
struct sy_heritage {
	const struct sy_conf *conf;	/* this generation's, read-only */
	const int *listen_fds;		/* parallel to conf->listeners */
	unsigned nlisten;
	uint32_t slot;			/* stats row this worker writes */
	uint32_t server_stats_base;	/* server.* in the stats segment */
	unsigned worker_id;
	unsigned generation;
	int master_fd;			/* read end: EOF when the master died, -1 in -X */
	bool one_process;		/* -X: no master */
};

struct sy_worker;

/* Set up a worker in this process (after fork, or in -X). NULL on error. */
struct sy_worker *sy_worker_new(const struct sy_heritage *h);
struct sy_loop *sy_worker_loop(struct sy_worker *w);
/* Run until drained or stopped; returns the exit status. */
int sy_worker_run(struct sy_worker *w);
/* -X: release what sy_worker_new built (a forked worker just _exits). */
void sy_worker_free(struct sy_worker *w);
/* Child side of fork: new + run + _exit. */
void sy_worker_main(const struct sy_heritage *h) __attribute__((noreturn));

/* Used by connections. */
const struct sy_heritage *sy_worker_heritage(const struct sy_worker *w);
bool sy_worker_draining(const struct sy_worker *w);
uint64_t sy_worker_next_conn_id(struct sy_worker *w);
void sy_worker_conn_closed(struct sy_worker *w, struct sy_conn *c);

#endif
