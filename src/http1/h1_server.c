/*
 * h1_server.c - the server side of an HTTP/1.1 connection: feeds the
 * connection's input to the parser, turns each request into an hcm
 * stream and serialises the response back into the connection's output.
 * One stream at a time: a pipelined request is parsed only once the
 * previous response is complete, and not while the output is above the
 * high-water mark.  Timers: request_headers_timeout is an absolute
 * deadline from the first byte of a request to the end of its head
 * (slowloris); idle_timeout applies between requests.  A draining worker
 * answers in-flight requests with "Connection: close" and closes idle
 * connections after a short grace, so a request already on the wire is
 * still served.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchyard/conf.h"
#include "switchyard/conn.h"
#include "switchyard/hcm.h"
#include "switchyard/http1.h"
#include "switchyard/stats.h"
#include "switchyard/worker.h"

#include "switchyard/h1_server.h"

/* How long an idle connection of a draining worker may still send. */
#define H1_DRAIN_GRACE_MS 1000
/* Pipelined bytes queued behind a pending response before reading stops. */
#define H1_PIPELINE_MAX (64 * 1024)

enum h1_timer_kind { H1_TIMER_NONE, H1_TIMER_IDLE, H1_TIMER_HEADERS, H1_TIMER_DRAIN };

struct h1_session {
	struct sy_conn *c;
	const struct sy_conf_http *http;
	struct sy_h1_parser *parser;
	struct sy_stream stream;
	bool stream_active;	/* stream initialised and not finished */
	bool head_seen;		/* request head delivered for the current stream */
	bool want_close;	/* close after the current response */
	bool draining;
	enum h1_timer_kind timer;
	int64_t head_deadline;	/* absolute ms, 0 when not reading a head */
	bool tunnel_in;		/* client bytes are tunnel payload now */
	bool tunnel_out;	/* the 101 went out: responses bytes are raw */
	bool chunked_out;	/* response body framed with chunked encoding */
	bool filter_paused;	/* the filter chain asked to stop reading */
	bool pipeline_paused;	/* too much queued behind a pending response */
	struct sy_timer kick;	/* deferred h1_process after a stream change */
};

static int h1_on_head(void *ud, struct sy_msg *msg);
static int h1_on_data(void *ud, const char *p, size_t n);
static int h1_on_end(void *ud);

static const struct sy_h1_callbacks h1_server_cb = {
	.on_head = h1_on_head,
	.on_data = h1_on_data,
	.on_end = h1_on_end,
};

static int h1_send_head(struct sy_stream *s, struct sy_msg *resp, bool end_stream);
static int h1_send_data(struct sy_stream *s, const void *p, size_t n, bool end_stream);
static int h1_send_trailers(struct sy_stream *s, const struct sy_headers *t);
static int h1_send_continue(struct sy_stream *s);
static void h1_sink_pause_read(struct sy_stream *s, bool pause);
static size_t h1_sink_out_pending(struct sy_stream *s);
static void h1_sink_start_tunnel(struct sy_stream *s);
static void h1_sink_reset(struct sy_stream *s);
static void h1_sink_kick(struct sy_stream *s);

static const struct sy_stream_sink h1_sink = {
	.send_head = h1_send_head,
	.send_data = h1_send_data,
	.send_trailers = h1_send_trailers,
	.send_continue = h1_send_continue,
	.pause_read = h1_sink_pause_read,
	.out_pending = h1_sink_out_pending,
	.start_tunnel = h1_sink_start_tunnel,
	.reset = h1_sink_reset,
	.kick = h1_sink_kick,
};

static void
h1_update_read_pause(struct h1_session *h)
{
	if (!h->c->closed)
		sy_conn_pause_read(h->c, h->filter_paused || h->pipeline_paused);
}

static void
h1_arm_timer(struct h1_session *h)
{
	struct sy_conn *c = h->c;
	int64_t now = sy_now_ms();

	if (c->closed)
		return;
	if (h->head_deadline != 0) {
		h->timer = H1_TIMER_HEADERS;
		sy_conn_set_timer(c, h->head_deadline > now ? h->head_deadline - now : 0);
	} else if (!h->stream_active && h->draining) {
		h->timer = H1_TIMER_DRAIN;
		sy_conn_set_timer(c, H1_DRAIN_GRACE_MS);
	} else if (!h->stream_active && h->http->idle_timeout > 0) {
		h->timer = H1_TIMER_IDLE;
		sy_conn_set_timer(c, h->http->idle_timeout);
	} else {
		h->timer = H1_TIMER_NONE;
		sy_conn_set_timer(c, -1);
	}
}

static int
h1_stream_start(struct h1_session *h)
{
	if (sy_hcm_stream_init(&h->stream, h->http, &h1_sink, h, &h->c->log, "HTTP/1.1") == -1)
		return -1;
	sy_hcm_stat_inc(h->http, SY_HTTP_downstream_rq_http1_total);
	sy_h1_parser_reset(h->parser, &h->stream.arena);
	h->stream.loop = h->c->loop;
	h->stream.peer = h->c->peer;
	h->stream.conn_id = h->c->id;
	h->stream.secure = h->c->listener->tls.enabled;
	h->stream_active = true;
	h->head_seen = false;
	h->chunked_out = false;
	if (h->http->request_headers_timeout > 0)
		h->head_deadline = sy_now_ms() + h->http->request_headers_timeout;
	h->c->log.action = "reading request headers";
	return 0;
}

static void
h1_stream_finish(struct h1_session *h)
{
	if (!h->stream_active)
		return;
	if (h->stream.want_close)
		h->want_close = true;
	sy_hcm_stream_fini(&h->stream);
	h->stream_active = false;
	h->tunnel_in = false;
	h->tunnel_out = false;
	if (h->filter_paused || h->pipeline_paused) {
		h->filter_paused = h->pipeline_paused = false;
		h1_update_read_pause(h);
	}
	h->head_seen = false;
	h->head_deadline = 0;
	h->c->log.action = NULL;
}

/* Reply to a request the parser or a timer rejected, then close. */
static void
h1_fail(struct h1_session *h, int status, const char *reason)
{
	char body[160];
	size_t n;

	h->want_close = true;
	h->head_deadline = 0;
	if (h->stream_active && !h->stream.response_started && status > 0) {
		n = (size_t)snprintf(body, sizeof(body), "%s\n", reason ? reason : sy_http_reason(status));
		sy_hcm_local_reply(&h->stream, status, body, SY_MIN(n, sizeof(body) - 1));
	}
	h1_stream_finish(h);
	h->c->close_after_flush = true;
	sy_conn_flush(h->c);
}

static int
h1_process(struct h1_session *h)
{
	struct sy_conn *c = h->c;
	const char *reason;
	size_t used;
	int rc, status;

	for (;;) {
		if (c->closed || c->close_after_flush)
			return SY_OK;
		if (h->tunnel_in && h->stream_active && !h->stream.response_done) {
			/* Upgrade payload: everything the client sends, unparsed. */
			if (sy_buf_len(&c->in) > 0) {
				size_t n = sy_buf_len(&c->in);

				/* The manager copies the bytes before anything can re-enter. */
				sy_hcm_on_tunnel_data(&h->stream, sy_buf_rpos(&c->in), n);
				sy_buf_consume(&c->in, n);
			}
			break;
		}
		if (h->stream_active && h->stream.request_done) {
			if (!h->stream.response_done) {
				/* Answer pending: keep the rest queued, within bounds. */
				if (sy_buf_len(&c->in) >= H1_PIPELINE_MAX && !h->pipeline_paused) {
					h->pipeline_paused = true;
					h1_update_read_pause(h);
				}
				break;
			}
			h1_stream_finish(h);
			if (h->want_close) {
				c->close_after_flush = true;
				sy_conn_flush(c);
				return SY_OK;
			}
		}
		if (sy_buf_len(&c->in) == 0)
			break;
		if (sy_buf_len(&c->out) >= SY_CONN_HIGH_WATER)
			break;		/* resumed from on_writable */
		if (h->parser == NULL) {
			/* After a tunnel nothing is HTTP any more. */
			c->close_after_flush = true;
			sy_conn_flush(c);
			return SY_OK;
		}
		if (!h->stream_active && h1_stream_start(h) == -1) {
			sy_log_conn(SY_LOG_ERROR, &c->log, "cannot start stream: out of memory");
			return SY_ERROR;
		}
		rc = sy_h1_parse(h->parser, sy_buf_rpos(&c->in), sy_buf_len(&c->in), &used);
		sy_buf_consume(&c->in, used);
		if (rc == SY_ERROR) {
			status = sy_h1_parser_error(h->parser, &reason);
			if (status == 0)
				status = 500;
			sy_log_conn(SY_LOG_INFO, &c->log, "bad request: %d %s", status, reason ? reason : "");
			sy_hcm_stat_inc(h->http, SY_HTTP_downstream_cx_protocol_error);
			h1_fail(h, status, reason);
			return SY_OK;
		}
		if (rc == SY_AGAIN)
			break;
		/* SY_DONE: one message complete; what follows may be tunnel bytes. */
		if (sy_h1_parser_tunnel(h->parser)) {
			if (h->stream.upgrade && !h->stream.local_reply) {
				h->tunnel_in = true;
				c->log.action = "proxying an upgraded connection";
				/* No more HTTP on this connection: a tunnel holds no parser. */
				if (h->parser != NULL)
		sy_h1_parser_free(h->parser);
				h->parser = NULL;
			} else if (h->stream.upgrade_ignored && !h->stream.local_reply) {
				/* An h2c offer we ignored: the next bytes are HTTP/1.1 again. */
			} else {
				/* Not an accepted upgrade: what follows is not HTTP. */
				h->want_close = true;
				sy_buf_consume(&c->in, sy_buf_len(&c->in));
			}
		}
	}
	h1_arm_timer(h);
	return SY_OK;
}

static int
h1_on_readable(struct sy_conn *c)
{
	struct h1_session *h = c->session;

	return h1_process(h);
}

static void
h1_on_writable(struct sy_conn *c)
{
	struct h1_session *h = c->session;

	if (h->stream_active)
		sy_hcm_on_downstream_writable(&h->stream);
	if (!c->closed)
		h1_process(h);
}

static void
h1_on_kick(struct sy_loop *loop, void *arg)
{
	struct h1_session *h = arg;

	if (h->c->closed)
		return;
	h1_process(h);
	if (!h->c->closed) {
		sy_buf_release_if_empty(&h->c->in);
		sy_conn_flush(h->c);
	}
}

static void
h1_on_eof(struct sy_conn *c)
{
	struct h1_session *h = c->session;

	if (h->tunnel_in && h->stream_active) {
		/* Half-close: the other direction keeps flowing. */
		sy_hcm_on_tunnel_eof(&h->stream);
		return;
	}
	if (h->stream_active && h->head_seen && h->stream.request_done && !h->stream.response_done) {
		/* Half-closed client still waiting for its answer. */
		h->want_close = true;
		return;
	}
	if (h->stream_active && h->parser != NULL && sy_h1_parser_in_message(h->parser)) {
		sy_log_conn(SY_LOG_INFO, &c->log, "client closed the connection mid-request");
		sy_hcm_stat_inc(h->http, SY_HTTP_downstream_cx_protocol_error);
	}
	h1_stream_finish(h);
	c->close_after_flush = true;
	sy_conn_flush(c);
}

static void
h1_on_timer(struct sy_conn *c)
{
	struct h1_session *h = c->session;

	switch (h->timer) {
	case H1_TIMER_HEADERS:
		sy_log_conn(SY_LOG_INFO, &c->log, "request_headers_timeout expired");
		sy_hcm_stat_inc(h->http, SY_HTTP_downstream_rq_header_timeout);
		h1_fail(h, 408, "request headers timeout");
		break;
	case H1_TIMER_IDLE:
		sy_hcm_stat_inc(h->http, SY_HTTP_downstream_cx_idle_timeout);
		h1_stream_finish(h);
		sy_conn_close(c);
		break;
	case H1_TIMER_DRAIN:
		sy_hcm_stat_inc(h->http, SY_HTTP_downstream_cx_drain_close);
		h1_stream_finish(h);
		sy_conn_close(c);
		break;
	case H1_TIMER_NONE:
		break;
	}
}

static void
h1_on_drain(struct sy_conn *c)
{
	struct h1_session *h = c->session;

	h->draining = true;
	h->want_close = true;
	if (!h->stream_active)
		h1_arm_timer(h);
}

static void
h1_free(struct sy_conn *c)
{
	struct h1_session *h = c->session;

	if (h == NULL)
		return;
	sy_timer_stop(c->loop, &h->kick);
	h1_stream_finish(h);
	sy_h1_parser_free(h->parser);
	sy_hcm_stat_add(h->http, SY_HTTP_downstream_cx_http1_active, -1);
	free(h);
}

static const struct sy_conn_proto h1_server_proto = {
	.on_readable = h1_on_readable,
	.on_writable = h1_on_writable,
	.on_eof = h1_on_eof,
	.on_timer = h1_on_timer,
	.on_drain = h1_on_drain,
	.free = h1_free,
};

int
sy_h1_server_attach(struct sy_conn *c)
{
	struct h1_session *h;
	struct sy_h1_limits lim;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -1;
	h->c = c;
	h->http = &c->listener->http;
	sy_timer_init(&h->kick, h1_on_kick, h);
	lim.max_head_bytes = (size_t)h->http->max_request_headers_kb * 1024;
	lim.max_headers = (unsigned)h->http->max_headers_count;
	h->parser = sy_h1_parser_new(SY_H1_REQUEST, &lim, &h1_server_cb, h);
	if (h->parser == NULL) {
		free(h);
		return -1;
	}
	c->session = h;
	c->proto = &h1_server_proto;
	sy_hcm_stat_inc(h->http, SY_HTTP_downstream_cx_http1_total);
	sy_hcm_stat_inc(h->http, SY_HTTP_downstream_cx_http1_active);
	if (sy_worker_draining(c->worker))
		h1_on_drain(c);
	else
		h1_arm_timer(h);
	return 0;
}

/* ---- parser callbacks -------------------------------------------------- */

static int
h1_on_head(void *ud, struct sy_msg *msg)
{
	struct h1_session *h = ud;

	if (msg != &h->stream.req)
		h->stream.req = *msg;
	h->head_seen = true;
	h->head_deadline = 0;
	if (msg->upgrade || sy_h1_parser_tunnel(h->parser)) {
		/* llhttp never calls an upgrade persistent; an ignored h2c offer is. */
		const struct sy_header *conn = sy_headers_get(&msg->headers, "connection");

		if (conn != NULL && sy_token_list_has(conn->value, conn->value_len, "close"))
			h->want_close = true;
	} else if (!msg->keep_alive) {
		h->want_close = true;
	}
	h->c->log.action = "processing request";
	sy_hcm_on_request_head(&h->stream);
	return h->c->closed ? -1 : 0;
}

static int
h1_on_data(void *ud, const char *p, size_t n)
{
	struct h1_session *h = ud;

	sy_hcm_on_request_data(&h->stream, p, n);
	return 0;
}

static int
h1_on_end(void *ud)
{
	struct h1_session *h = ud;
	const struct sy_headers *t = sy_h1_parser_trailers(h->parser);

	if (t != NULL)
		h->stream.req.trailers = *t;	/* the head was copied before they came */
	sy_hcm_on_request_end(&h->stream);
	return 0;
}

/* ---- response sink ----------------------------------------------------- */

static int
h1_send_head(struct sy_stream *s, struct sy_msg *resp, bool end_stream)
{
	struct h1_session *h = s->sink_ctx;
	struct sy_conn *c = h->c;
	size_t before = sy_buf_len(&c->out);

	if (h->draining)
		h->want_close = true;
	if (s->want_close)
		h->want_close = true;
	if (resp->status == 101) {
		/* Relayed as the upstream sent it (Upgrade, Connection: upgrade). */
		resp->version = SY_HTTP_11;
		if (sy_h1_emit_response_head(&c->out, resp) == -1)
			return -1;
		sy_hcm_count_tx(s, sy_buf_len(&c->out) - before);
		sy_conn_flush(c);
		return 0;
	}
	sy_headers_remove(&resp->headers, "connection");
	/* A body of unknown length: chunked for HTTP/1.1, close-delimited for 1.0. */
	if (!end_stream && sy_headers_get(&resp->headers, "content-length") == NULL &&
	    resp->status >= 200 && resp->status != 204 && resp->status != 304) {
		if (s->req.version == SY_HTTP_10) {
			h->want_close = true;
		} else {
			sy_headers_remove(&resp->headers, "transfer-encoding");
			if (sy_headers_add_cstr(&resp->headers, "transfer-encoding", "chunked") == -1)
				return -1;
			h->chunked_out = true;
		}
	}
	if (h->want_close) {
		if (sy_headers_add_cstr(&resp->headers, "connection", "close") == -1)
			return -1;
	} else if (s->req.version == SY_HTTP_10) {
		if (sy_headers_add_cstr(&resp->headers, "connection", "keep-alive") == -1)
			return -1;
	}
	resp->version = SY_HTTP_11;
	if (sy_h1_emit_response_head(&c->out, resp) == -1)
		return -1;
	sy_hcm_count_tx(s, sy_buf_len(&c->out) - before);
	if (end_stream)
		sy_conn_flush(c);
	return 0;
}

static int
h1_send_data(struct sy_stream *s, const void *p, size_t n, bool end_stream)
{
	struct h1_session *h = s->sink_ctx;
	struct sy_conn *c = h->c;
	size_t before = sy_buf_len(&c->out);

	if (c->closed)
		return 0;
	if (h->chunked_out && !h->tunnel_out) {
		if (n > 0 && sy_h1_emit_chunk(&c->out, p, n) == -1)
			return -1;
		if (end_stream && sy_h1_emit_last_chunk(&c->out) == -1)
			return -1;
	} else if (n > 0 && sy_buf_append(&c->out, p, n) == -1) {
		return -1;
	}
	sy_hcm_count_tx(s, sy_buf_len(&c->out) - before);
	if (end_stream && h->tunnel_out)
		c->shut_wr_after_flush = true;	/* the upstream ended its direction */
	sy_conn_flush(c);
	return 0;
}

static int
h1_send_continue(struct sy_stream *s)
{
	struct h1_session *h = s->sink_ctx;
	static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (h->c->closed || s->req.version != SY_HTTP_11)
		return 0;
	if (sy_buf_append(&h->c->out, line, sizeof(line) - 1) == -1)
		return -1;
	sy_hcm_count_tx(s, sizeof(line) - 1);
	sy_conn_flush(h->c);
	return 0;
}

/* Trailers fit only a chunked body; otherwise HTTP/1.1 has no place for them. */
static int
h1_send_trailers(struct sy_stream *s, const struct sy_headers *t)
{
	struct h1_session *h = s->sink_ctx;
	struct sy_conn *c = h->c;
	size_t before = sy_buf_len(&c->out);

	if (c->closed)
		return 0;
	if (h->chunked_out && sy_h1_emit_last_chunk_trailers(&c->out, t) == -1)
		return -1;
	sy_hcm_count_tx(s, sy_buf_len(&c->out) - before);
	sy_conn_flush(c);
	return 0;
}

static void
h1_sink_pause_read(struct sy_stream *s, bool pause)
{
	struct h1_session *h = s->sink_ctx;

	h->filter_paused = pause;
	h1_update_read_pause(h);
}

static size_t
h1_sink_out_pending(struct sy_stream *s)
{
	struct h1_session *h = s->sink_ctx;

	return sy_buf_len(&h->c->out);
}

static void
h1_sink_start_tunnel(struct sy_stream *s)
{
	struct h1_session *h = s->sink_ctx;

	h->tunnel_out = true;
	h->want_close = true;
	/* Payload that came with the request head is in c->in already. */
	sy_timer_start(h->c->loop, &h->kick, 0);
}

static void
h1_sink_reset(struct sy_stream *s)
{
	struct h1_session *h = s->sink_ctx;

	if (!h->c->closed)
		sy_conn_close(h->c);
}

static void
h1_sink_kick(struct sy_stream *s)
{
	struct h1_session *h = s->sink_ctx;

	if (!h->c->closed)
		sy_timer_start(h->c->loop, &h->kick, 0);
}
