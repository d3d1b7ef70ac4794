/*
 * upstream.h - connections to clusters, per worker.  Each cluster has a
 * load balancer over its resolved endpoints and, per endpoint, a pool of
 * idle HTTP/1.1 keep-alive connections.  A connection is lent to one
 * owner (a router) at a time and reports to it through callbacks; the
 * owner gives it back as reusable only after a clean exchange (never
 * after a framing error, an aborted request or an upgrade attempt).
 */
#ifndef SWITCHYARD_UPSTREAM_H
#define SWITCHYARD_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "switchyard/core.h"
#include "switchyard/loop.h"

struct sy_conf;
struct sy_conf_cluster;
struct sy_upstream;

struct sy_upstream_cb {
	/* Connected (or a pooled connection was lent): write away. */
	void (*on_connected)(void *owner, struct sy_upstream *u);
	/* Could not connect; timed_out for connect_timeout. */
	void (*on_connect_failed)(void *owner, struct sy_upstream *u, int err, bool timed_out);
	/* New bytes in u->in. */
	void (*on_readable)(void *owner, struct sy_upstream *u);
	/* u->out drained below the low-water mark. */
	void (*on_writable)(void *owner, struct sy_upstream *u);
	/* The upstream closed its sending side. */
	void (*on_eof)(void *owner, struct sy_upstream *u);
	/* Read or write failed: the connection is dead (the owner releases it). */
	void (*on_error)(void *owner, struct sy_upstream *u, int err);
};

/* CONNECTING then, for a TLS cluster, HANDSHAKE; on_connected comes after both. */
enum sy_upstream_state { SY_UP_CONNECTING, SY_UP_HANDSHAKE, SY_UP_ACTIVE, SY_UP_IDLE, SY_UP_DEAD };

struct sy_tls_client;

struct sy_upstream {
	int fd;
	enum sy_upstream_state state;
	const struct sy_conf_cluster *cluster;
	unsigned endpoint;
	const char *label;		/* "cluster/127.0.0.1:9000" */
	struct sy_buf in, out;
	struct sy_timer timer;		/* connect timeout, or pooled idle timeout */
	const struct sy_upstream_cb *cb;
	void *owner;
	bool reused;			/* came from the pool */
	bool eof;
	bool read_paused;
	bool shut_wr;			/* shutdown(SHUT_WR) once out is empty */
	bool shut_wr_done;
	int connect_err;		/* connect() failed at once with this errno */
	struct sy_tls_client *tls;	/* TLS clusters */
	bool tls_want_write;
	struct sy_upstream *next;	/* pool list */
	struct sy_loop *loop;
};

#define SY_UPSTREAM_HIGH_WATER (256 * 1024)

/* Worker start: build per-cluster state for conf.  0 or -1. */
int sy_upstream_init(struct sy_loop *loop, const struct sy_conf *conf);
/* Worker exit: close pooled connections. */
void sy_upstream_fini(void);

/*
 * Borrow a connection to cluster: a pooled one, or a new non-blocking
 * connect.  NULL with errno: EAGAIN when every endpoint is at
 * max_connections (503), another errno when socket() failed.  Callbacks
 * may run from the next loop iteration on, never from inside this call.
 */
struct sy_upstream *sy_upstream_acquire(const struct sy_conf_cluster *cluster,
    const struct sy_upstream_cb *cb, void *owner);
/*
 * For multiplexed protocols (HTTP/2 sessions kept by src/http2/): the
 * endpoint the load balancer picks (-1 with EAGAIN when all are at
 * max_connections), and a new connection to one endpoint, owned by the
 * caller until it releases it (never reusable).
 */
int sy_upstream_pick(const struct sy_conf_cluster *cluster);
struct sy_upstream *sy_upstream_connect(const struct sy_conf_cluster *cluster, unsigned endpoint,
    const struct sy_upstream_cb *cb, void *owner);
/* Give it back: to the pool when reusable and not full, else closed. */
void sy_upstream_release(struct sy_upstream *u, bool reusable);
/* Write what u->out holds (call after appending). */
void sy_upstream_flush(struct sy_upstream *u);
/* Half-close toward the upstream once u->out is empty. */
void sy_upstream_shutdown_write(struct sy_upstream *u);
void sy_upstream_pause_read(struct sy_upstream *u, bool pause);
/*
 * protocol "auto": what ALPN picked on the last TLS handshake with the
 * cluster in this worker (SY_PROTO_HTTP1 or SY_PROTO_HTTP2), or -1 before
 * the first one.
 */
int sy_upstream_cluster_protocol(const struct sy_conf_cluster *cluster);
/* The protocol ALPN selected on a TLS connection ("h2", "http/1.1"), or NULL. */
const char *sy_upstream_alpn(const struct sy_upstream *u);

#endif
