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
	int (*send_data)(struct sy_stream *s, const void *p, size_t n, bool end_stream);
};

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
/* Account the response bytes written by the codec (tx, access log). */
void sy_hcm_count_tx(struct sy_stream *s, uint64_t n);
/* End of the stream: stats and access log, then the arena is freed. */
void sy_hcm_stream_fini(struct sy_stream *s);

/* Connection-level stats helpers for codec sessions. */
void sy_hcm_stat_inc(const struct sy_conf_http *http, unsigned stat);
void sy_hcm_stat_add(const struct sy_conf_http *http, unsigned stat, int64_t v);

#endif
