/*
 * hcm.h - the HTTP connection manager: owns a stream's life above the
 * codecs.  It sees only struct sy_msg, so it serves HTTP/1.1 and HTTP/2
 * alike: route lookup, local replies (direct_response, 404, 4xx/5xx),
 * request and response stats, and the access log line.  The codec
 * session gives it a sink to send the response through.
 */
#ifndef SWITCHYARD_HCM_H
#define SWITCHYARD_HCM_H

#include <stdbool.h>
#include <stdint.h>

#include "switchyard/core.h"
#include "switchyard/http.h"
#include "switchyard/log.h"

struct sy_stream;
struct sy_conf_http;
struct sy_conf_vhost;
struct sy_conf_route;

/* What a downstream codec session offers its streams. */
struct sy_stream_sink {
	/* Send the response head; end_stream when no body follows. */
	int (*send_head)(struct sy_stream *s, struct sy_msg *resp, bool end_stream);
	/* Body bytes, or tunnel bytes; end_stream in a tunnel half-closes. */
	int (*send_data)(struct sy_stream *s, const void *p, size_t n, bool end_stream);
	/* An interim 100 Continue for a client that asked for it (optional). */
	int (*send_continue)(struct sy_stream *s);
	/* Trailer fields, ending the response (codecs that cannot carry them drop them). */
	int (*send_trailers)(struct sy_stream *s, const struct sy_headers *t);
	/* Stop or resume reading from the client (back-pressure). */
	void (*pause_read)(struct sy_stream *s, bool pause);
	/* Bytes queued toward the client. */
	size_t (*out_pending)(struct sy_stream *s);
	/* The 101 (or 200 to CONNECT) went out: raw bytes from now on. */
	void (*start_tunnel)(struct sy_stream *s);
	/* Abort: close the client connection (a response cannot be completed). */
	void (*reset)(struct sy_stream *s);
	/* The stream's state changed outside the codec's own callbacks
	 * (response or tunnel finished): look again, from the loop. */
	void (*kick)(struct sy_stream *s);
};

struct sy_filter;

struct sy_stream {
	struct sy_arena arena;		/* every per-stream allocation */
	struct sy_msg req;
	struct sy_msg resp;
	const struct sy_conf_http *http;
	const struct sy_conf_vhost *vhost;
	const struct sy_conf_route *route;
	const struct sy_stream_sink *sink;
	void *sink_ctx;			/* the codec session */
	const struct sy_log_ctx *log;
	const char *protocol;		/* "HTTP/1.1" for the access log */
	int64_t start_ms;
	uint64_t bytes_in, bytes_out;
	int status;			/* response status sent, 0 before */
	bool response_started;
	bool response_done;
	bool request_done;
	bool want_close;		/* close the client connection after this stream */
	bool local_reply;		/* answered by switchyard itself */
	/* filter chain */
	struct sy_filter *filters;
	unsigned nfilters;
	/* upgrades */
	bool upgrade;			/* an accepted upgrade request is in flight */
	bool tunnel;			/* 101 relayed: bytes flow raw both ways */
	const char *upgrade_type;	/* first allowed token, lower-case */
	uint32_t upgrade_stats;		/* base of http.<prefix>.upgrades.<type>.*, or UINT32_MAX */
	bool upgrade_counted;
	bool upgrade_ignored;		/* Upgrade only named h2c: now an ordinary request */
	const char *upstream_label;	/* "cluster/endpoint" for the access log */
	/* What the access log needs once a tunnel dropped the heads (compact). */
	const char *log_method, *log_path, *log_authority;
	bool compacted;
	const char *request_id;
	uint64_t conn_id;
	const char *peer;		/* client address "ip:port" */
	bool secure;			/* the client connection is TLS (x-forwarded-proto) */
	struct sy_loop *loop;		/* the worker's loop, for filters' timers */
	struct sy_buf scratch;		/* request bytes handed to the decode chain */
};

/* Start a stream; counts downstream_rq_total and _active.  0 or -1. */
int sy_hcm_stream_init(struct sy_stream *s, const struct sy_conf_http *http,
    const struct sy_stream_sink *sink, void *sink_ctx, const struct sy_log_ctx *log,
    const char *protocol);
/* The request head is in s->req: route it and act. */
void sy_hcm_on_request_head(struct sy_stream *s);
void sy_hcm_on_request_data(struct sy_stream *s, const void *p, size_t n);
void sy_hcm_on_request_end(struct sy_stream *s);
/* Answer locally; headers may be NULL.  0 or -1. */
int sy_hcm_local_reply(struct sy_stream *s, int status, const char *body, size_t body_len);
/*
 * Response path, called by the router at the end of the encode chain:
 * hands the head or bytes to the codec through the sink.
 */
void sy_hcm_send_headers(struct sy_stream *s, struct sy_msg *resp, bool end_stream);
void sy_hcm_send_data(struct sy_stream *s, struct sy_buf *data, bool end_stream);
void sy_hcm_send_trailers(struct sy_stream *s, struct sy_headers *t);
/* Raw bytes from the client after the upgrade request (tunnel payload). */
void sy_hcm_on_tunnel_data(struct sy_stream *s, const void *p, size_t n);
/* The client half-closed a tunnel. */
void sy_hcm_on_tunnel_eof(struct sy_stream *s);
/* The client can take more bytes. */
void sy_hcm_on_downstream_writable(struct sy_stream *s);
/* The tunnel ended both ways (or was torn down): the stream is done. */
void sy_hcm_tunnel_done(struct sy_stream *s);
/*
 * A tunnel no longer needs the request and response heads: keep the few
 * strings the access log uses and free the rest of the stream's arena,
 * so an idle tunnel holds almost nothing.  s->req and s->resp become
 * empty heads.  Call only where no head is still being read or written
 * (the router does, once the 101/200 went out).
 */
void sy_hcm_stream_compact(struct sy_stream *s);
/* Account the response bytes written by the codec (tx, access log). */
void sy_hcm_count_tx(struct sy_stream *s, uint64_t n);
/* End of the stream: stats and access log, then the arena is freed. */
void sy_hcm_stream_fini(struct sy_stream *s);

/* Connection-level stats helpers for codec sessions. */
void sy_hcm_stat_inc(const struct sy_conf_http *http, unsigned stat);
void sy_hcm_stat_add(const struct sy_conf_http *http, unsigned stat, int64_t v);

#endif
