/*
 * conn.h - one downstream connection: socket, I/O operations table (plain
 * or TLS), buffers with back-pressure, timers, and the protocol session
 * that sits on it (HTTP/1.1 or HTTP/2, chosen by codec_type, the
 * connection preface or ALPN).  The session reads conn->in
 * and writes conn->out; conn.c moves bytes between them and the socket.
 */
#ifndef SWITCHYARD_CONN_H
#define SWITCHYARD_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "switchyard/core.h"
#include "switchyard/loop.h"
#include "switchyard/log.h"

struct sy_conn;
struct sy_worker;
struct sy_conf_listener;

/*
 * How bytes reach the socket: plain, or TLS (src/tls/).  read and write
 * behave as read(2)/send(2): -1 with errno EAGAIN when they would block
 * (a TLS layer that needs to write first sets c->io_want_write).
 */
struct sy_conn_io {
	ssize_t (*read)(struct sy_conn *c, void *p, size_t n);
	ssize_t (*write)(struct sy_conn *c, const void *p, size_t n);
	void (*close)(struct sy_conn *c);	/* also closes c->fd */
	void (*shutdown_write)(struct sy_conn *c);	/* half-close (TLS: close_notify first) */
	size_t (*pending)(struct sy_conn *c);	/* bytes readable without the socket; NULL: none */
};

/* A protocol session on a connection (HTTP/1.1 server side for now). */
struct sy_conn_proto {
	/* New bytes are in c->in; consume what you use.  SY_OK/SY_ERROR. */
	int (*on_readable)(struct sy_conn *c);
	/* c->out drained below the low-water mark. */
	void (*on_writable)(struct sy_conn *c);
	/* Peer closed its sending side (read returned 0). */
	void (*on_eof)(struct sy_conn *c);
	/* The connection timer fired. */
	void (*on_timer)(struct sy_conn *c);
	/* The worker started draining. */
	void (*on_drain)(struct sy_conn *c);
	/* Release the session (connection is closing). */
	void (*free)(struct sy_conn *c);
};

#define SY_CONN_HIGH_WATER (256 * 1024)

struct sy_conn {
	uint64_t id;
	int fd;
	struct sy_worker *worker;
	struct sy_loop *loop;
	const struct sy_conf_listener *listener;
	const struct sy_conn_io *io;
	void *io_ctx;		/* the I/O layer's state (TLS) */
	bool io_want_write;	/* the I/O layer needs POLLOUT to make progress */
	const struct sy_conn_proto *proto;
	void *session;
	struct sy_buf in, out;
	struct sy_timer timer;
	struct sy_log_ctx log;
	char peer[64];
	int64_t accepted_ms;
	bool close_after_flush;	/* stop reading, close once out is empty */
	bool read_paused;	/* back-pressure or session choice */
	bool eof;		/* peer closed its side */
	bool shut_wr_after_flush;	/* half-close toward the client once out is empty */
	bool shut_wr_done;
	bool closed;
	struct sy_conn *prev, *next;	/* the worker's list */
};

/*
 * Accepted socket -> connection with an HTTP session.  fd must already be
 * non-blocking and close-on-exec (accept4 flags).  Takes ownership of
 * fd: on failure (NULL, ENOMEM) the socket is closed.
 */
struct sy_conn *sy_conn_new(struct sy_worker *w, struct sy_loop *loop, int fd,
    const struct sy_conf_listener *l, const struct sockaddr *peer);
/* Write what is buffered; close when asked to and done. */
void sy_conn_flush(struct sy_conn *c);
/*
 * Close now (buffered output is dropped).  The socket goes at once; the
 * struct, its session and buffers stay valid until the worker calls
 * sy_conn_free after the current loop iteration.
 */
void sy_conn_close(struct sy_conn *c);
void sy_conn_free(struct sy_conn *c);
/* Stop or resume reading (in addition to back-pressure). */
void sy_conn_pause_read(struct sy_conn *c, bool pause);
/* Arm the connection timer (ms from now), or stop it with ms < 0. */
void sy_conn_set_timer(struct sy_conn *c, int64_t ms);
/* Drain: tell the session. */
void sy_conn_drain(struct sy_conn *c);

#endif
