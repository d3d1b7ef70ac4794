/*
 * h2_server.c - the server side of an HTTP/2 connection: every client
 * stream becomes an hcm stream, exactly as an HTTP/1.1 request does, and
 * responses go back as HEADERS and DATA frames through the stream's sink.
 * An extended CONNECT (RFC 8441) is accepted only when the listener has
 * allow_connect (nghttp2 refuses :protocol otherwise, as we never
 * advertised it); its DATA frames are tunnel payload, its END_STREAM the
 * client's half-close.
 *
 * Memory: nghttp2 hands header names/values and DATA in transient buffers;
 * both are copied (into the stream's arena, or by the router) inside the
 * callback.  Flow control is back-pressure: automatic WINDOW_UPDATEs are
 * off and bytes are consumed only once the stream is not paused, i.e. the
 * router took them; responses are queued per stream (bounded by the
 * router, which stops reading the upstream past SY_UPSTREAM_HIGH_WATER)
 * and framed only while the connection's output is under its high-water
 * mark.
 *
 * Re-entrancy: nghttp2 callbacks never finish a stream.  A closed stream
 * is put on a list and reaped from the top of the call stack (input,
 * writable, kick timer), so no hcm or filter frame is ever freed under
 * its own feet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchyard/conn.h"
#include "switchyard/hcm.h"
#include "switchyard/worker.h"

#include "h2_int.h"

/* How long an idle connection of a draining worker may still send. */
#define H2_DRAIN_GRACE_MS 1000
/* Queued response bytes per stream under which the router may read again. */
#define H2_STREAM_LOW_WATER (64 * 1024)

struct h2_server;

struct h2s_stream {
	struct sy_stream s;		/* first: the sink gets &st->s */
	struct h2_server *h;
	int32_t id;
	struct sy_buf out;		/* response body / tunnel bytes not yet framed */
	const struct sy_headers *trailers;
	uint64_t header_bytes;
	size_t unconsumed;		/* received, not yet given back as window */
	bool out_eof;			/* END_STREAM once out is framed */
	bool data_deferred;		/* nghttp2 waits for resume_data */
	bool has_provider;		/* the response has a DATA source */
	bool head_done;			/* the request head went to the hcm */
	bool connect;			/* extended CONNECT: DATA is tunnel payload */
	bool saw_connect;		/* :method CONNECT seen in the head */
	bool read_paused;
	bool closed;			/* nghttp2 closed it; reap it */
	bool want_writable;
	struct h2s_stream *prev, *next;
};

struct h2_server {
	struct sy_conn *c;
	const struct sy_conf_http *http;
	nghttp2_session *ng;
	struct sy_h2_guard guard;
	struct h2s_stream *streams;	/* open, and closed awaiting reaping */
	unsigned nstreams;		/* not yet closed by nghttp2 */
	struct sy_timer kick;
	unsigned depth;			/* inside an nghttp2 call */
	bool flushing;
	bool want_flush;
	bool draining;
	bool fatal;
};

static const struct sy_stream_sink h2_sink;

static void h2_flush(struct h2_server *h);

static void
h2_stat(struct h2_server *h, unsigned stat, int64_t v)
{
	sy_h2_guard_stat(&h->guard, stat, v);
}

static void
h2_schedule(struct h2_server *h)
{
	if (!h->c->closed)
		sy_timer_start(h->c->loop, &h->kick, 0);
}

/*
 * Frames from sink calls go out at the end of the loop iteration (the
 * kick timer), so that every stream's bytes of one iteration share one
 * write, and a body's last DATA carries END_STREAM.
 */
static void
h2_defer_flush(struct h2_server *h)
{
	h->want_flush = true;
	h2_schedule(h);
}

/* The connection is beyond saving: GOAWAY (if it can still go out), close. */
static void
h2_fatal(struct h2_server *h, uint32_t code)
{
	struct sy_conn *c = h->c;

	if (h->fatal || c->closed)
		return;
	h->fatal = true;
	sy_hcm_stat_inc(h->http, SY_HTTP_downstream_cx_protocol_error);
	nghttp2_session_terminate_session(h->ng, code);
	h2_flush(h);
	c->close_after_flush = true;
	sy_conn_flush(c);
}

static void
h2_stream_reap(struct h2_server *h, struct h2s_stream *st)
{
	if (st->prev != NULL)
		st->prev->next = st->next;
	else
		h->streams = st->next;
	if (st->next != NULL)
		st->next->prev = st->prev;
	if (!st->closed) {
		h->nstreams--;
		h2_stat(h, SY_H2_streams_active, -1);
	}
	if (h->ng != NULL)
		nghttp2_session_set_stream_user_data(h->ng, st->id, NULL);
	sy_hcm_stream_fini(&st->s);
	sy_buf_release(&st->out);
	free(st);
}

static void
h2_arm_timer(struct h2_server *h)
{
	if (h->c->closed)
		return;
	if (h->nstreams > 0)
		sy_conn_set_timer(h->c, -1);
	else if (h->draining)
		sy_conn_set_timer(h->c, H2_DRAIN_GRACE_MS);
	else if (h->http->idle_timeout > 0)
		sy_conn_set_timer(h->c, h->http->idle_timeout);
	else
		sy_conn_set_timer(h->c, -1);
}

/* Top of the stack only: finish closed streams, tell writable ones. */
static void
h2_reap(struct h2_server *h)
{
	struct h2s_stream *st, *next;
	bool again = true;

	while (again && !h->c->closed) {
		again = false;
		for (st = h->streams; st != NULL; st = next) {
			next = st->next;
			if (st->closed) {
				h2_stream_reap(h, st);
				continue;
			}
			if (st->want_writable) {
				st->want_writable = false;
				sy_hcm_on_downstream_writable(&st->s);
				again = true;
				break;	/* the list may have changed */
			}
		}
	}
	if (h->want_flush)
		h2_flush(h);
	if (!h->c->closed && h->nstreams == 0 && (h->draining || h->fatal) &&
	    !nghttp2_session_want_write(h->ng)) {
		h->c->close_after_flush = true;
		sy_conn_flush(h->c);
	}
	h2_arm_timer(h);
}

/* Frame what nghttp2 has queued, while the connection can take it. */
static void
h2_flush(struct h2_server *h)
{
	struct sy_conn *c = h->c;
	const uint8_t *data;
	ssize_t n;

	if (c->closed)
		return;
	if (h->depth > 0 || h->flushing) {
		h->want_flush = true;
		return;
	}
	h->flushing = true;
	do {
		h->want_flush = false;
		while (sy_buf_len(&c->out) < SY_CONN_HIGH_WATER) {
			h->depth++;
			n = nghttp2_session_mem_send(h->ng, &data);
			h->depth--;
			if (n < 0) {
				sy_log_conn(SY_LOG_INFO, &c->log, "http2 send failed: %s",
				    nghttp2_strerror((int)n));
				h->flushing = false;
				sy_conn_close(c);
				return;
			}
			if (n == 0)
				break;
			if (sy_buf_append(&c->out, data, (size_t)n) == -1) {
				h->flushing = false;
				sy_conn_close(c);
				return;
			}
		}
	} while (h->want_flush && sy_buf_len(&c->out) < SY_CONN_HIGH_WATER);
	h->flushing = false;
	if (!h->fatal && nghttp2_session_get_outbound_queue_size(h->ng) > SY_H2_OUTBOUND_QUEUE_MAX) {
		sy_log_conn(SY_LOG_WARN, &c->log, "http2 peer does not read its frames: closing");
		h2_stat(h, SY_H2_outbound_flood, 1);
		h->fatal = true;
		sy_conn_close(c);
		return;
	}
	sy_conn_flush(c);
	if (!c->closed && !nghttp2_session_want_read(h->ng) && !nghttp2_session_want_write(h->ng) &&
	    sy_buf_len(&c->out) == 0)
		sy_conn_close(c);
}

/* ---- nghttp2 callbacks --------------------------------------------------- */

static struct h2s_stream *
h2_stream_get(struct h2_server *h, int32_t id)
{
	return nghttp2_session_get_stream_user_data(h->ng, id);
}

static int
h2_on_begin_frame(nghttp2_session *ng, const nghttp2_frame_hd *hd, void *ud)
{
	struct h2_server *h = ud;

	(void)ng;
	if (sy_h2_guard_frame(&h->guard, hd) != 0) {
		sy_log_conn(SY_LOG_WARN, &h->c->log, "http2 flood (frame type %u): closing",
		    (unsigned)hd->type);
		nghttp2_session_terminate_session(h->ng, h->guard.goaway_code);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	return 0;
}

static int
h2_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
	struct h2_server *h = ud;
	struct h2s_stream *st;

	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (sy_hcm_stream_init(&st->s, h->http, &h2_sink, st, &h->c->log, "HTTP/2") == -1) {
		free(st);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	st->h = h;
	st->id = frame->hd.stream_id;
	st->s.loop = h->c->loop;
	st->s.peer = h->c->peer;
	st->s.conn_id = h->c->id;
	st->s.secure = h->c->listener->tls.enabled;
	st->next = h->streams;
	if (h->streams != NULL)
		h->streams->prev = st;
	h->streams = st;
	h->nstreams++;
	sy_hcm_stat_inc(h->http, SY_HTTP_downstream_rq_http2_total);
	h2_stat(h, SY_H2_streams_active, 1);
	nghttp2_session_set_stream_user_data(ng, st->id, st);
	sy_conn_set_timer(h->c, -1);
	return 0;
}

static int
h2_on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
    const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct h2_server *h = ud;
	struct h2s_stream *st = h2_stream_get(h, frame->hd.stream_id);
	struct sy_headers *dst;

	(void)ng;
	(void)flags;
	if (st == NULL || frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	/* HPACK bomb: what counts is the decoded size (RFC 9113 6.5.2). */
	st->header_bytes += namelen + valuelen + 32;
	if (st->header_bytes > (uint64_t)h->http->http2.max_header_list_kb * 1024) {
		h2_stat(h, SY_H2_header_overflow, 1);
		if (++h->guard.header_overflows > SY_H2_HEADER_OVERFLOW_MAX) {
			h->guard.goaway_code = NGHTTP2_ENHANCE_YOUR_CALM;
			nghttp2_session_terminate_session(h->ng, NGHTTP2_ENHANCE_YOUR_CALM);
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	if (namelen == 7 && memcmp(name, ":method", 7) == 0 && valuelen == 7 &&
	    memcmp(value, "CONNECT", 7) == 0)
		st->saw_connect = true;
	dst = st->head_done ? &st->s.req.trailers : &st->s.req.headers;
	if (sy_headers_add(dst, (const char *)name, namelen, (const char *)value, valuelen) == -1)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

static int
h2_on_invalid_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
    size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	(void)ng; (void)frame; (void)name; (void)namelen; (void)value; (void)valuelen; (void)flags;
	(void)ud;
	/*
	 * RFC 9113 8.2.1: a malformed field makes the request malformed.
	 * nghttp2 then resets the stream and reports it to
	 * h2_on_invalid_frame, which counts it.
	 */
	return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

static int
h2_on_invalid_frame(nghttp2_session *ng, const nghttp2_frame *frame, int lib_error, void *ud)
{
	struct h2_server *h = ud;
	struct h2s_stream *st;

	(void)ng;
	if (lib_error != NGHTTP2_ERR_HTTP_HEADER && lib_error != NGHTTP2_ERR_HTTP_MESSAGING)
		return 0;
	st = h2_stream_get(h, frame->hd.stream_id);
	/*
	 * nghttp2 refuses :protocol when we did not advertise
	 * SETTINGS_ENABLE_CONNECT_PROTOCOL; it comes right after
	 * ":method: CONNECT", which is all we can see of it.
	 */
	if (st != NULL && st->saw_connect && !st->head_done && !h->http->http2.allow_connect) {
		h2_stat(h, SY_H2_extended_connect_refused, 1);
		sy_log_conn(SY_LOG_INFO, &h->c->log,
		    "extended CONNECT refused on stream %d: allow_connect is off", frame->hd.stream_id);
	}
	h2_stat(h, SY_H2_rx_messaging_error, 1);
	return 0;
}

/* The request head is complete: hand it to the connection manager. */
static void
h2_request_head(struct h2_server *h, struct h2s_stream *st, bool end_stream)
{
	struct sy_stream *s = &st->s;
	const char *why = NULL, *method;

	st->head_done = true;
	if (sy_h2_request_finish(&s->req, end_stream, &why) == -1) {
		char body[96];
		int n = snprintf(body, sizeof(body), "%s\n", why);

		sy_log_conn(SY_LOG_INFO, &h->c->log, "bad request on stream %d: %s", st->id, why);
		h2_stat(h, SY_H2_rx_messaging_error, 1);
		sy_hcm_local_reply(s, 400, body, (size_t)SY_MIN(n, (int)sizeof(body) - 1));
		return;
	}
	method = sy_msg_method(&s->req);
	if (method != NULL && strcmp(method, "CONNECT") == 0) {
		static const char msg[] = "CONNECT without :protocol is not supported\n";

		if (sy_headers_get(&s->req.headers, ":protocol") == NULL) {
			sy_hcm_local_reply(s, 501, msg, sizeof(msg) - 1);
			return;
		}
		/* DATA after an extended CONNECT is tunnel payload, not a body. */
		st->connect = true;
		s->req.has_body = false;
	}
	h->c->log.action = "processing request";
	sy_hcm_on_request_head(s);
	if (end_stream && !st->connect && !st->closed)
		sy_hcm_on_request_end(s);
}

static int
h2_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
	struct h2_server *h = ud;
	struct h2s_stream *st;
	bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;

	(void)ng;
	switch (frame->hd.type) {
	case NGHTTP2_HEADERS:
		if ((st = h2_stream_get(h, frame->hd.stream_id)) == NULL)
			break;
		if (!st->head_done) {
			h2_request_head(h, st, end);
		} else if (end) {
			/* Trailer fields end the request. */
			if (st->connect)
				sy_hcm_on_tunnel_eof(&st->s);
			else
				sy_hcm_on_request_end(&st->s);
		}
		break;
	case NGHTTP2_DATA:
		if (!end || (st = h2_stream_get(h, frame->hd.stream_id)) == NULL || !st->head_done)
			break;
		if (st->connect)
			sy_hcm_on_tunnel_eof(&st->s);
		else
			sy_hcm_on_request_end(&st->s);
		break;
	case NGHTTP2_RST_STREAM:
		h2_stat(h, SY_H2_rx_reset, 1);
		if (sy_h2_guard_reset(&h->guard) != 0) {
			nghttp2_session_terminate_session(h->ng, h->guard.goaway_code);
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		break;
	default:
		break;
	}
	return 0;
}

static void
h2_consume(struct h2_server *h, struct h2s_stream *st)
{
	if (st->unconsumed > 0 && !st->read_paused) {
		nghttp2_session_consume(h->ng, st->id, st->unconsumed);
		st->unconsumed = 0;
		h->want_flush = true;
	}
}

static int
h2_on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
    void *ud)
{
	struct h2_server *h = ud;
	struct h2s_stream *st = h2_stream_get(h, id);

	(void)flags;
	if (st == NULL || st->closed || !st->head_done || st->s.response_done) {
		/* Nobody takes these bytes: give the window back at once. */
		nghttp2_session_consume(ng, id, len);
		return 0;
	}
	st->unconsumed += len;
	if (st->connect)
		sy_hcm_on_tunnel_data(&st->s, data, len);
	else
		sy_hcm_on_request_data(&st->s, data, len);
	h2_consume(h, st);
	return 0;
}

static int
h2_on_stream_close(nghttp2_session *ng, int32_t id, uint32_t error_code, void *ud)
{
	struct h2_server *h = ud;
	struct h2s_stream *st = h2_stream_get(h, id);

	(void)ng;
	if (st == NULL || st->closed)
		return 0;
	if (error_code != NGHTTP2_NO_ERROR && !st->s.response_done)
		sy_log_conn(SY_LOG_INFO, &h->c->log, "stream %d reset: %s", id,
		    nghttp2_http2_strerror(error_code));
	st->closed = true;
	h->nstreams--;
	h2_stat(h, SY_H2_streams_active, -1);
	nghttp2_session_set_stream_user_data(ng, id, NULL);
	h2_schedule(h);
	return 0;
}

static int
h2_on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
	struct h2_server *h = ud;

	(void)ng;
	switch (frame->hd.type) {
	case NGHTTP2_RST_STREAM:
		h2_stat(h, SY_H2_tx_reset, 1);
		/* Resets the client provokes count too ("MadeYouReset"). */
		if (sy_h2_guard_reset(&h->guard) != 0)
			nghttp2_session_terminate_session(h->ng, h->guard.goaway_code);
		break;
	case NGHTTP2_GOAWAY:
		h2_stat(h, SY_H2_goaway_sent, 1);
		break;
	case NGHTTP2_DATA:
		h->guard.data_frames_sent++;
		/* FALLTHROUGH */
	case NGHTTP2_HEADERS:
		if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
			struct h2s_stream *st = h2_stream_get(h, frame->hd.stream_id);

			/*
			 * The response is complete but the client is still sending
			 * (a body nobody wants, or an extended CONNECT that did not
			 * become a tunnel): RFC 9113 8.1, RST_STREAM(NO_ERROR).
			 */
			if (st != NULL && !st->s.tunnel && !st->s.request_done && !st->closed)
				nghttp2_submit_rst_stream(h->ng, NGHTTP2_FLAG_NONE, st->id,
				    NGHTTP2_NO_ERROR);
		}
		break;
	default:
		break;
	}
	return 0;
}

/* DATA source of a response: the stream's queued bytes. */
static ssize_t
h2_read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
    nghttp2_data_source *src, void *ud)
{
	struct h2_server *h = ud;
	struct h2s_stream *st = src->ptr;
	size_t before = sy_buf_len(&st->out);
	size_t n = SY_MIN(length, before);

	(void)ng;
	if (n > 0) {
		memcpy(buf, sy_buf_rpos(&st->out), n);
		sy_buf_consume(&st->out, n);
		sy_hcm_count_tx(&st->s, n);
		if (before >= H2_STREAM_LOW_WATER && sy_buf_len(&st->out) < H2_STREAM_LOW_WATER) {
			st->want_writable = true;
			h2_schedule(h);
		}
	}
	if (sy_buf_len(&st->out) == 0) {
		sy_buf_release(&st->out);
		if (st->out_eof) {
			*flags |= NGHTTP2_DATA_FLAG_EOF;
			if (st->trailers != NULL && st->trailers->n > 0) {
				size_t nnv;
				nghttp2_nv *nv = sy_h2_nv_from_trailers(st->trailers, &st->s.arena, &nnv);

				if (nv != NULL && nnv > 0 && nghttp2_submit_trailer(ng, id, nv, nnv) == 0)
					*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			}
		} else if (n == 0) {
			st->data_deferred = true;
			return NGHTTP2_ERR_DEFERRED;
		}
	}
	return (ssize_t)n;
}

/* ---- sink ------------------------------------------------------------- */

static int
h2_send_head(struct sy_stream *s, struct sy_msg *resp, bool end_stream)
{
	struct h2s_stream *st = (struct h2s_stream *)s;
	struct h2_server *h = st->h;
	nghttp2_data_provider prd;
	nghttp2_nv *nv;
	size_t n;
	int rv;

	if (st->closed || h->c->closed)
		return 0;
	if (resp->status < 200) {
		/* 101 cannot exist on HTTP/2: the router turns it into 200 first. */
		sy_log_conn(SY_LOG_ERROR, &h->c->log, "stream %d: status %d cannot be sent over HTTP/2",
		    st->id, resp->status);
		return -1;
	}
	if ((nv = sy_h2_nv_from_msg(resp, false, &s->arena, &n)) == NULL)
		return -1;
	prd.source.ptr = st;
	prd.read_callback = h2_read_body;
	st->has_provider = !end_stream;
	if (end_stream)
		st->out_eof = true;
	rv = nghttp2_submit_response(h->ng, st->id, nv, n, end_stream ? NULL : &prd);
	if (rv != 0) {
		sy_log_conn(SY_LOG_WARN, &h->c->log, "stream %d: cannot send response: %s", st->id,
		    nghttp2_strerror(rv));
		return -1;
	}
	h2_defer_flush(h);
	return 0;
}

static int
h2_send_data(struct sy_stream *s, const void *p, size_t n, bool end_stream)
{
	struct h2s_stream *st = (struct h2s_stream *)s;
	struct h2_server *h = st->h;

	if (st->closed || h->c->closed || st->out_eof)
		return 0;
	if (n > 0 && sy_buf_append(&st->out, p, n) == -1)
		return -1;
	if (end_stream)
		st->out_eof = true;
	if (st->data_deferred) {
		st->data_deferred = false;
		nghttp2_session_resume_data(h->ng, st->id);
	}
	h2_defer_flush(h);
	return 0;
}

static int
h2_send_trailers(struct sy_stream *s, const struct sy_headers *t)
{
	struct h2s_stream *st = (struct h2s_stream *)s;

	if (st->closed || st->h->c->closed || st->out_eof)
		return 0;
	st->trailers = t;
	return h2_send_data(s, NULL, 0, true);
}

static int
h2_send_continue(struct sy_stream *s)
{
	struct h2s_stream *st = (struct h2s_stream *)s;
	nghttp2_nv nv = { (uint8_t *)":status", (uint8_t *)"100", 7, 3, NGHTTP2_NV_FLAG_NONE };

	if (st->closed || st->h->c->closed)
		return 0;
	if (nghttp2_submit_headers(st->h->ng, NGHTTP2_FLAG_NONE, st->id, NULL, &nv, 1, NULL) < 0)
		return -1;
	h2_defer_flush(st->h);
	return 0;
}

static void
h2_sink_pause_read(struct sy_stream *s, bool pause)
{
	struct h2s_stream *st = (struct h2s_stream *)s;

	if (st->read_paused == pause)
		return;
	st->read_paused = pause;
	if (!pause && !st->closed && !st->h->c->closed) {
		h2_consume(st->h, st);
		h2_defer_flush(st->h);
	}
}

static size_t
h2_sink_out_pending(struct sy_stream *s)
{
	struct h2s_stream *st = (struct h2s_stream *)s;

	return sy_buf_len(&st->out);
}

static void
h2_sink_start_tunnel(struct sy_stream *s)
{
	struct h2s_stream *st = (struct h2s_stream *)s;

	st->h->c->log.action = "proxying an extended CONNECT tunnel";
}

static void
h2_sink_reset(struct sy_stream *s)
{
	struct h2s_stream *st = (struct h2s_stream *)s;
	struct h2_server *h = st->h;

	if (st->closed || h->c->closed)
		return;
	/* RFC 8441 / 9113 8.5: a tunnel that fails is a CONNECT_ERROR. */
	nghttp2_submit_rst_stream(h->ng, NGHTTP2_FLAG_NONE, st->id,
	    st->connect ? NGHTTP2_CONNECT_ERROR : NGHTTP2_INTERNAL_ERROR);
	h2_defer_flush(h);
}

static void
h2_sink_kick(struct sy_stream *s)
{
	struct h2s_stream *st = (struct h2s_stream *)s;

	h2_schedule(st->h);
}

static const struct sy_stream_sink h2_sink = {
	.send_head = h2_send_head,
	.send_data = h2_send_data,
	.send_trailers = h2_send_trailers,
	.send_continue = h2_send_continue,
	.pause_read = h2_sink_pause_read,
	.out_pending = h2_sink_out_pending,
	.start_tunnel = h2_sink_start_tunnel,
	.reset = h2_sink_reset,
	.kick = h2_sink_kick,
};

/* ---- connection ------------------------------------------------------- */

static int
h2_on_readable(struct sy_conn *c)
{
	struct h2_server *h = c->session;
	ssize_t n;

	if (h->fatal) {
		sy_buf_consume(&c->in, sy_buf_len(&c->in));
		return SY_OK;
	}
	h->depth++;
	n = nghttp2_session_mem_recv(h->ng, (const uint8_t *)sy_buf_rpos(&c->in), sy_buf_len(&c->in));
	h->depth--;
	sy_buf_consume(&c->in, sy_buf_len(&c->in));
	if (n < 0) {
		uint32_t code = NGHTTP2_PROTOCOL_ERROR;

		if (n == NGHTTP2_ERR_FLOODED) {
			h2_stat(h, SY_H2_outbound_flood, 1);
			code = NGHTTP2_ENHANCE_YOUR_CALM;
		} else if (n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS) {
			h2_stat(h, SY_H2_continuation_flood, 1);
			code = NGHTTP2_ENHANCE_YOUR_CALM;
		} else if (h->guard.goaway_code != 0) {
			code = h->guard.goaway_code;
		} else if (n == NGHTTP2_ERR_HEADER_COMP) {
			code = NGHTTP2_COMPRESSION_ERROR;
		}
		sy_log_conn(SY_LOG_INFO, &c->log, "http2 connection error: %s",
		    h->guard.goaway_code != 0 ? "flood" : nghttp2_strerror((int)n));
		h2_fatal(h, code);
		return SY_OK;
	}
	h2_flush(h);
	h2_reap(h);
	return SY_OK;
}

static void
h2_on_writable(struct sy_conn *c)
{
	struct h2_server *h = c->session;

	h2_flush(h);
	h2_reap(h);
}

static void
h2_on_kick(struct sy_loop *loop, void *arg)
{
	struct h2_server *h = arg;

	(void)loop;
	if (h->c->closed)
		return;
	h2_flush(h);
	h2_reap(h);
}

static void
h2_on_eof(struct sy_conn *c)
{
	/* HTTP/2 has no half-closed connection: the client is gone. */
	sy_conn_close(c);
}

static void
h2_on_timer(struct sy_conn *c)
{
	struct h2_server *h = c->session;

	if (h->nstreams > 0)
		return;
	sy_hcm_stat_inc(h->http, h->draining ? SY_HTTP_downstream_cx_drain_close :
	    SY_HTTP_downstream_cx_idle_timeout);
	nghttp2_session_terminate_session(h->ng, NGHTTP2_NO_ERROR);
	h2_flush(h);
	c->close_after_flush = true;
	sy_conn_flush(c);
}

static void
h2_on_drain(struct sy_conn *c)
{
	struct h2_server *h = c->session;

	if (h->draining)
		return;
	h->draining = true;
	/* No new streams; those in flight (tunnels included) carry on. */
	nghttp2_submit_goaway(h->ng, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->ng),
	    NGHTTP2_NO_ERROR, NULL, 0);
	h2_flush(h);
	h2_reap(h);
}

static void
h2_free(struct sy_conn *c)
{
	struct h2_server *h = c->session;

	if (h == NULL)
		return;
	sy_timer_stop(c->loop, &h->kick);
	while (h->streams != NULL)
		h2_stream_reap(h, h->streams);
	nghttp2_session_del(h->ng);
	sy_hcm_stat_add(h->http, SY_HTTP_downstream_cx_http2_active, -1);
	free(h);
	c->session = NULL;
}

static const struct sy_conn_proto h2_server_proto = {
	.on_readable = h2_on_readable,
	.on_writable = h2_on_writable,
	.on_eof = h2_on_eof,
	.on_timer = h2_on_timer,
	.on_drain = h2_on_drain,
	.free = h2_free,
};

int
sy_h2_server_attach(struct sy_conn *c)
{
	const struct sy_conf_http *http = &c->listener->http;
	nghttp2_session_callbacks *cbs;
	nghttp2_settings_entry iv[8];
	nghttp2_option *opt;
	struct h2_server *h;
	size_t niv;
	int rv;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -1;
	h->c = c;
	h->http = http;
	sy_h2_guard_init(&h->guard, http->stats_h2_base);
	sy_timer_init(&h->kick, h2_on_kick, h);
	if (nghttp2_session_callbacks_new(&cbs) != 0) {
		free(h);
		return -1;
	}
	nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, h2_on_begin_frame);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, h2_on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, h2_on_header);
	nghttp2_session_callbacks_set_on_invalid_header_callback(cbs, h2_on_invalid_header);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, h2_on_invalid_frame);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, h2_on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, h2_on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, h2_on_stream_close);
	nghttp2_session_callbacks_set_on_frame_send_callback(cbs, h2_on_frame_send);
	if ((opt = sy_h2_option_new(&http->http2, true)) == NULL) {
		nghttp2_session_callbacks_del(cbs);
		free(h);
		return -1;
	}
	rv = nghttp2_session_server_new2(&h->ng, cbs, h, opt);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_option_del(opt);
	if (rv != 0) {
		free(h);
		return -1;
	}
	niv = sy_h2_settings(&http->http2, true, iv);
	if (nghttp2_submit_settings(h->ng, NGHTTP2_FLAG_NONE, iv, niv) != 0 ||
	    nghttp2_session_set_local_window_size(h->ng, NGHTTP2_FLAG_NONE, 0,
	    (int32_t)http->http2.initial_connection_window_size) != 0) {
		nghttp2_session_del(h->ng);
		free(h);
		return -1;
	}
	c->session = h;
	c->proto = &h2_server_proto;
	sy_hcm_stat_inc(http, SY_HTTP_downstream_cx_http2_total);
	sy_hcm_stat_inc(http, SY_HTTP_downstream_cx_http2_active);
	if (sy_worker_draining(c->worker))
		h2_on_drain(c);
	h2_flush(h);
	h2_arm_timer(h);
	/* The preface (and more) may be in c->in already ("auto" sniffing). */
	if (!c->closed && sy_buf_len(&c->in) > 0)
		return h2_on_readable(c);
	return 0;
}
