/*
 * http2.h - the HTTP/2 codec: nghttp2 underneath, struct sy_msg on top.
 * The server side is a protocol session on a downstream connection that
 * turns every stream into an hcm stream; the client side keeps one shared
 * HTTP/2 connection per cluster endpoint per worker and lends streams on
 * it to routers.  Flow control is back-pressure: window updates are sent
 * only for bytes the other side has taken.  nghttp2.h is included only by
 * src/http2/.
 */
#ifndef SWITCHYARD_HTTP2_H
#define SWITCHYARD_HTTP2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchyard/core.h"
#include "switchyard/http.h"

struct sy_conn;
struct sy_conf_cluster;
struct sy_loop;

/* The 24-byte client connection preface. */
#define SY_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define SY_H2_PREFACE_LEN 24

/*
 * Does [p, p+n) start like the HTTP/2 preface?  1: the whole preface is
 * there; 0: it cannot be one (HTTP/1.1); -1: a prefix so far, read more.
 */
int sy_h2_preface_match(const void *p, size_t n);

/* Attach an HTTP/2 server session to c (c->in may hold the preface).  0 or -1. */
int sy_h2_server_attach(struct sy_conn *c);

/* ---- client: streams on shared upstream sessions ----------------------- */

struct sy_h2_ustream;

/*
 * What a stream reports to its owner.  Callbacks run from the worker's
 * loop (socket events or timers), never from inside a sy_h2_ustream_*
 * call.  on_head/on_data/on_end have the HTTP/1 parser's callback
 * signatures; returning non-zero resets the stream.
 */
struct sy_h2_upstream_cb {
	/* The session is up and the peer's SETTINGS are known: submit now. */
	void (*on_ready)(void *owner, struct sy_h2_ustream *us);
	/* No connection could be made (the stream is dead; close it). */
	void (*on_connect_failed)(void *owner, struct sy_h2_ustream *us, int err, bool timed_out);
	/* A response head, interim or final, in the owner's arena. */
	int (*on_head)(void *owner, struct sy_msg *m);
	/* Body or tunnel bytes, valid during the call. */
	int (*on_data)(void *owner, const char *p, size_t n);
	/* END_STREAM from the upstream (trailers, if any: sy_h2_ustream_trailers). */
	int (*on_end)(void *owner);
	/* The stream was reset or its connection lost before it ended. */
	void (*on_reset)(void *owner, struct sy_h2_ustream *us, uint32_t error_code, const char *why);
	/* Bytes queued toward the upstream fell below the low-water mark. */
	void (*on_writable)(void *owner, struct sy_h2_ustream *us);
};

/* Worker start and exit. */
int sy_h2_client_init(struct sy_loop *loop);
void sy_h2_client_fini(void);

/*
 * A new stream toward cluster (protocol http2), on a shared session or a
 * new connection.  The response head is built in arena.  NULL with errno
 * EAGAIN when every endpoint is at max_connections (503), ENOMEM.
 * on_ready follows from the loop.
 */
struct sy_h2_ustream *sy_h2_ustream_open(const struct sy_conf_cluster *cluster,
    struct sy_arena *arena, const struct sy_h2_upstream_cb *cb, void *owner);
/*
 * The same on a connection that is up already (a TLS connection whose
 * ALPN picked h2): it becomes a new shared session of its endpoint.  The
 * caller gives up u.
 */
struct sy_upstream;
struct sy_h2_ustream *sy_h2_ustream_open_on(struct sy_upstream *u, struct sy_arena *arena,
    const struct sy_h2_upstream_cb *cb, void *owner);
/* After on_ready: did the peer send SETTINGS_ENABLE_CONNECT_PROTOCOL = 1? */
bool sy_h2_ustream_connect_allowed(const struct sy_h2_ustream *us);
/* "cluster/127.0.0.1:9000" */
const char *sy_h2_ustream_label(const struct sy_h2_ustream *us);
/* Send the request head (after on_ready).  0 or -1. */
int sy_h2_ustream_submit(struct sy_h2_ustream *us, const struct sy_msg *req, bool end_stream);
/* Body or tunnel bytes (copied); end_stream sends END_STREAM.  0 or -1. */
int sy_h2_ustream_send_data(struct sy_h2_ustream *us, const void *p, size_t n, bool end_stream);
/* Trailer fields, ending the request.  0 or -1. */
int sy_h2_ustream_send_trailers(struct sy_h2_ustream *us, const struct sy_headers *t);
/* Bytes queued toward the upstream on this stream. */
size_t sy_h2_ustream_pending(const struct sy_h2_ustream *us);
/* Back-pressure: stop (or resume) granting the upstream window for this stream. */
void sy_h2_ustream_pause_read(struct sy_h2_ustream *us, bool pause);
/* Trailers of the response, once on_end ran; NULL if none. */
const struct sy_headers *sy_h2_ustream_trailers(const struct sy_h2_ustream *us);
/*
 * The owner is done: the stream is reset (CANCEL) if it did not end both
 * ways, and no callback comes any more.  us is invalid afterwards.
 */
void sy_h2_ustream_close(struct sy_h2_ustream *us);
/* Reset with CONNECT_ERROR (a tunnel's other side failed), then close. */
void sy_h2_ustream_abort(struct sy_h2_ustream *us);

/* "1.52.0": the nghttp2 this binary runs with (for -V). */
const char *sy_h2_library_version(void);

#endif
