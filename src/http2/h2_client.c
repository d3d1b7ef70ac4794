/*
 * h2_client.c - HTTP/2 toward clusters with protocol "http2" (prior
 * knowledge h2c): per worker, a shared session per endpoint multiplexes
 * every router's stream, tunnels included.  A session is a struct
 * sy_upstream connection owned by this file for its whole life; a new one
 * is opened when the existing ones are going away (GOAWAY) or full
 * (the peer's SETTINGS_MAX_CONCURRENT_STREAMS).  Streams are announced
 * ready only once the peer's SETTINGS arrived, so the router can check
 * SETTINGS_ENABLE_CONNECT_PROTOCOL before an extended CONNECT.
 *
 * Memory: response heads are copied into the owner's arena inside the
 * header callback; DATA is handed to the owner during the callback (it
 * copies).  Flow control is back-pressure as on the server side: the
 * window is given back only while the owner has not paused the stream.
 * A stream the owner closed stays allocated (silent) until nghttp2 is
 * done with it, so nghttp2 never sees a dangling pointer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchyard/log.h"
#include "switchyard/upstream.h"

#include "h2_int.h"

#define H2C_LOW_WATER (64 * 1024)

struct h2c_session;

struct sy_h2_ustream {
	struct h2c_session *sess;
	int32_t id;			/* 0 until submitted */
	const struct sy_h2_upstream_cb *cb;
	void *owner;
	struct sy_arena *arena;
	struct sy_msg resp;
	struct sy_headers trailers;
	bool head_final;
	uint64_t header_bytes;
	struct sy_buf out;		/* request body / tunnel bytes to frame */
	const struct sy_headers *req_trailers;
	bool out_eof;
	bool deferred;
	size_t unconsumed;
	bool read_paused;
	bool ready_sent;
	bool ended;			/* END_STREAM received */
	bool closed;			/* nghttp2 closed it (or never will know it) */
	bool gone;			/* the owner closed it: no more callbacks */
	bool want_writable;
	struct sy_h2_ustream *prev, *next;
};

struct h2c_session {
	const struct sy_conf_cluster *cluster;
	unsigned endpoint;
	struct sy_upstream *u;
	nghttp2_session *ng;
	struct sy_h2_guard guard;
	struct sy_h2_ustream *streams;
	unsigned nstreams;		/* owners attached (not gone) */
	struct sy_timer kick;
	struct sy_timer idle;		/* no stream for the cluster's idle_timeout */
	unsigned depth;
	bool flushing, want_flush;
	bool connected, settings, goaway, dead;
	struct h2c_session *next;	/* the endpoint's sessions */
};

struct h2c_cluster {
	struct h2c_session **eps;	/* per endpoint, a list */
	unsigned n;
	unsigned rr;
};

static struct {
	struct sy_loop *loop;
	struct h2c_cluster *clusters;
	unsigned nclusters;
} h2c;

static const struct sy_upstream_cb h2c_up_cb;

static void h2c_flush(struct h2c_session *ss);

static void
h2c_cluster_stat(const struct sy_conf_cluster *c, unsigned stat, int64_t v)
{
	sy_stat_add(c->stats_base + stat, v);
}

int
sy_h2_client_init(struct sy_loop *loop)
{
	h2c.loop = loop;
	return 0;
}

static void h2c_session_free(struct h2c_session *ss);

void
sy_h2_client_fini(void)
{
	unsigned i, j;

	for (i = 0; i < h2c.nclusters; i++) {
		for (j = 0; j < h2c.clusters[i].n; j++)
			while (h2c.clusters[i].eps[j] != NULL)
				h2c_session_free(h2c.clusters[i].eps[j]);
		free(h2c.clusters[i].eps);
	}
	free(h2c.clusters);
	memset(&h2c, 0, sizeof(h2c));
}

static struct h2c_cluster *
h2c_cluster_get(const struct sy_conf_cluster *c)
{
	struct h2c_cluster *hc;

	if (c->index >= h2c.nclusters) {
		unsigned n = c->index + 1;
		struct h2c_cluster *v = realloc(h2c.clusters, n * sizeof(*v));

		if (v == NULL)
			return NULL;
		memset(v + h2c.nclusters, 0, (n - h2c.nclusters) * sizeof(*v));
		h2c.clusters = v;
		h2c.nclusters = n;
	}
	hc = &h2c.clusters[c->index];
	if (hc->eps == NULL) {
		if ((hc->eps = calloc(c->nendpoints ? c->nendpoints : 1, sizeof(*hc->eps))) == NULL)
			return NULL;
		hc->n = c->nendpoints;
	}
	return hc;
}

static void
h2c_schedule(struct h2c_session *ss)
{
	sy_timer_start(h2c.loop, &ss->kick, 0);
}

/* Owner calls frame at the end of the loop iteration: one write for all. */
static void
h2c_defer_flush(struct h2c_session *ss)
{
	ss->want_flush = true;
	h2c_schedule(ss);
}

static void
h2c_unlink_session(struct h2c_session *ss)
{
	struct h2c_cluster *hc = &h2c.clusters[ss->cluster->index];
	struct h2c_session **pp;

	for (pp = &hc->eps[ss->endpoint]; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == ss) {
			*pp = ss->next;
			break;
		}
	}
	ss->next = NULL;
}

static void
h2c_stream_free(struct sy_h2_ustream *us)
{
	struct h2c_session *ss = us->sess;

	if (ss != NULL) {
		if (us->prev != NULL)
			us->prev->next = us->next;
		else
			ss->streams = us->next;
		if (us->next != NULL)
			us->next->prev = us->prev;
	}
	sy_buf_release(&us->out);
	free(us);
}

static void
h2c_session_free(struct h2c_session *ss)
{
	struct sy_h2_ustream *us;

	h2c_unlink_session(ss);
	sy_timer_stop(h2c.loop, &ss->kick);
	sy_timer_stop(h2c.loop, &ss->idle);
	/* Owners were told; what is left is silent. */
	while ((us = ss->streams) != NULL) {
		ss->streams = us->next;
		us->sess = NULL;
		us->closed = true;
		if (us->gone)
			h2c_stream_free(us);
		else
			us->prev = us->next = NULL;
	}
	if (ss->ng != NULL)
		nghttp2_session_del(ss->ng);
	if (ss->u != NULL)
		sy_upstream_release(ss->u, false);
	free(ss);
}

/* The connection died: every stream still running is reset. */
static void
h2c_session_die(struct h2c_session *ss, const char *why)
{
	struct sy_h2_ustream *us;
	bool again = true;

	if (ss->dead)
		return;
	ss->dead = true;
	h2c_unlink_session(ss);
	while (again) {
		again = false;
		for (us = ss->streams; us != NULL; us = us->next) {
			if (us->gone)
				us->closed = true;
			if (us->closed)
				continue;
			us->closed = true;
			if (!us->ready_sent && !ss->connected) {
				us->ready_sent = true;
				us->cb->on_connect_failed(us->owner, us, ECONNREFUSED, false);
			} else {
				us->cb->on_reset(us->owner, us, NGHTTP2_CONNECT_ERROR, why);
			}
			again = true;
			break;	/* the owner may have closed streams */
		}
	}
	h2c_schedule(ss);
}

static void
h2c_reap(struct h2c_session *ss)
{
	struct sy_h2_ustream *us, *next;
	bool again = true;

	while (again) {
		again = false;
		for (us = ss->streams; us != NULL; us = next) {
			next = us->next;
			if (us->gone && (us->closed || us->id == 0)) {
				h2c_stream_free(us);
				continue;
			}
			if (us->gone || us->closed)
				continue;
			if (!us->ready_sent && ss->settings) {
				us->ready_sent = true;
				us->cb->on_ready(us->owner, us);
				again = true;
				break;
			}
			if (us->want_writable) {
				us->want_writable = false;
				if (us->cb->on_writable != NULL)
					us->cb->on_writable(us->owner, us);
				again = true;
				break;
			}
		}
	}
	if (ss->want_flush && !ss->dead)
		h2c_flush(ss);
	if (ss->streams == NULL && (ss->dead || ss->goaway)) {
		h2c_session_free(ss);
		return;
	}
	if (ss->streams == NULL && !ss->dead && ss->cluster->idle_timeout > 0)
		sy_timer_start(h2c.loop, &ss->idle, ss->cluster->idle_timeout);
}

static void
h2c_on_kick(struct sy_loop *loop, void *arg)
{
	(void)loop;
	h2c_reap(arg);
}

/* Nothing used the session for idle_timeout: say goodbye and close it. */
static void
h2c_on_idle(struct sy_loop *loop, void *arg)
{
	struct h2c_session *ss = arg;

	(void)loop;
	if (ss->streams != NULL || ss->dead)
		return;
	nghttp2_session_terminate_session(ss->ng, NGHTTP2_NO_ERROR);
	h2c_flush(ss);
	ss->goaway = true;
	h2c_reap(ss);
}

static void
h2c_flush(struct h2c_session *ss)
{
	const uint8_t *data;
	ssize_t n;

	if (ss->dead || ss->u == NULL)
		return;
	if (ss->depth > 0 || ss->flushing || !ss->connected) {
		ss->want_flush = true;
		return;
	}
	ss->flushing = true;
	do {
		ss->want_flush = false;
		while (sy_buf_len(&ss->u->out) < SY_UPSTREAM_HIGH_WATER) {
			ss->depth++;
			n = nghttp2_session_mem_send(ss->ng, &data);
			ss->depth--;
			if (n < 0) {
				ss->flushing = false;
				sy_log(SY_LOG_WARN, "http2 session to %s failed: %s", ss->u->label,
				    nghttp2_strerror((int)n));
				h2c_session_die(ss, "http2 session failed");
				return;
			}
			if (n == 0)
				break;
			if (sy_buf_append(&ss->u->out, data, (size_t)n) == -1) {
				ss->flushing = false;
				h2c_session_die(ss, "out of memory");
				return;
			}
		}
	} while (ss->want_flush && sy_buf_len(&ss->u->out) < SY_UPSTREAM_HIGH_WATER);
	ss->flushing = false;
	sy_upstream_flush(ss->u);
	if (ss->dead)
		return;
	if (nghttp2_session_get_outbound_queue_size(ss->ng) > SY_H2_OUTBOUND_QUEUE_MAX) {
		sy_h2_guard_stat(&ss->guard, SY_H2_outbound_flood, 1);
		h2c_session_die(ss, "upstream does not read");
		return;
	}
	if (!nghttp2_session_want_read(ss->ng) && !nghttp2_session_want_write(ss->ng) &&
	    sy_buf_len(&ss->u->out) == 0) {
		ss->goaway = true;
		h2c_session_die(ss, "http2 session closed");
	}
}

/* ---- nghttp2 callbacks ---------------------------------------------- */

static struct sy_h2_ustream *
h2c_stream(struct h2c_session *ss, int32_t id)
{
	struct sy_h2_ustream *us = nghttp2_session_get_stream_user_data(ss->ng, id);

	return us != NULL && !us->gone ? us : NULL;
}

static int
h2c_on_begin_frame(nghttp2_session *ng, const nghttp2_frame_hd *hd, void *ud)
{
	struct h2c_session *ss = ud;

	(void)ng;
	if (sy_h2_guard_frame(&ss->guard, hd) != 0) {
		nghttp2_session_terminate_session(ss->ng, ss->guard.goaway_code);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	return 0;
}

static int
h2c_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
	struct h2c_session *ss = ud;
	struct sy_h2_ustream *us = h2c_stream(ss, frame->hd.stream_id);

	(void)ng;
	if (us == NULL || frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (!us->head_final) {
		sy_msg_init(&us->resp, us->arena);
		us->header_bytes = 0;
	}
	return 0;
}

static int
h2c_on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
    const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct h2c_session *ss = ud;
	struct sy_h2_ustream *us = h2c_stream(ss, frame->hd.stream_id);
	struct sy_headers *dst;

	(void)ng;
	(void)flags;
	if (us == NULL || frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	us->header_bytes += namelen + valuelen + 32;
	if (us->header_bytes > (uint64_t)ss->cluster->http2.max_header_list_kb * 1024) {
		sy_h2_guard_stat(&ss->guard, SY_H2_header_overflow, 1);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	dst = us->head_final ? &us->trailers : &us->resp.headers;
	if (sy_headers_add(dst, (const char *)name, namelen, (const char *)value, valuelen) == -1)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

static void
h2c_end(struct h2c_session *ss, struct sy_h2_ustream *us)
{
	us->ended = true;
	if (us->cb->on_end(us->owner) != 0 && !us->gone)
		nghttp2_submit_rst_stream(ss->ng, NGHTTP2_FLAG_NONE, us->id, NGHTTP2_CANCEL);
}

static int
h2c_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
	struct h2c_session *ss = ud;
	struct sy_h2_ustream *us;
	bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;

	(void)ng;
	switch (frame->hd.type) {
	case NGHTTP2_SETTINGS:
		if (!(frame->hd.flags & NGHTTP2_FLAG_ACK) && !ss->settings) {
			ss->settings = true;
			h2c_schedule(ss);
		}
		break;
	case NGHTTP2_GOAWAY:
		ss->goaway = true;
		h2c_unlink_session(ss);
		break;
	case NGHTTP2_RST_STREAM:
		sy_h2_guard_stat(&ss->guard, SY_H2_rx_reset, 1);
		break;
	case NGHTTP2_HEADERS:
		if ((us = h2c_stream(ss, frame->hd.stream_id)) == NULL)
			break;
		if (!us->head_final) {
			if (sy_h2_response_finish(&us->resp, end) == -1) {
				nghttp2_submit_rst_stream(ss->ng, NGHTTP2_FLAG_NONE, us->id,
				    NGHTTP2_PROTOCOL_ERROR);
				break;
			}
			if (us->resp.status >= 200)
				us->head_final = true;
			if (us->cb->on_head(us->owner, &us->resp) != 0) {
				if (!us->gone)
					nghttp2_submit_rst_stream(ss->ng, NGHTTP2_FLAG_NONE, us->id,
					    NGHTTP2_CANCEL);
				break;
			}
		}
		if (end && us->head_final && !us->gone)
			h2c_end(ss, us);
		break;
	case NGHTTP2_DATA:
		if (end && (us = h2c_stream(ss, frame->hd.stream_id)) != NULL && us->head_final)
			h2c_end(ss, us);
		break;
	default:
		break;
	}
	return 0;
}

static void
h2c_consume(struct h2c_session *ss, struct sy_h2_ustream *us)
{
	if (us->unconsumed > 0 && !us->read_paused && us->id > 0 && !us->closed) {
		nghttp2_session_consume(ss->ng, us->id, us->unconsumed);
		us->unconsumed = 0;
		ss->want_flush = true;
	}
}

static int
h2c_on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
    void *ud)
{
	struct h2c_session *ss = ud;
	struct sy_h2_ustream *us = h2c_stream(ss, id);

	(void)flags;
	if (us == NULL || !us->head_final) {
		nghttp2_session_consume(ng, id, len);
		return 0;
	}
	us->unconsumed += len;
	if (us->cb->on_data(us->owner, (const char *)data, len) != 0) {
		if (!us->gone)
			nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
		nghttp2_session_consume(ng, id, us->unconsumed);
		us->unconsumed = 0;
		return 0;
	}
	if (!us->gone)
		h2c_consume(ss, us);
	else
		nghttp2_session_consume_connection(ng, len);
	return 0;
}

static int
h2c_on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *ud)
{
	struct h2c_session *ss = ud;
	struct sy_h2_ustream *us = nghttp2_session_get_stream_user_data(ng, id);

	if (us == NULL)
		return 0;
	us->closed = true;
	nghttp2_session_set_stream_user_data(ng, id, NULL);
	if (!us->gone && !us->ended) {
		char why[96];

		snprintf(why, sizeof(why), "stream reset by the upstream: %s",
		    nghttp2_http2_strerror(code));
		us->cb->on_reset(us->owner, us, code, why);
	}
	h2c_schedule(ss);
	return 0;
}

static int
h2c_on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
	struct h2c_session *ss = ud;

	(void)ng;
	if (frame->hd.type == NGHTTP2_RST_STREAM)
		sy_h2_guard_stat(&ss->guard, SY_H2_tx_reset, 1);
	else if (frame->hd.type == NGHTTP2_GOAWAY)
		sy_h2_guard_stat(&ss->guard, SY_H2_goaway_sent, 1);
	else if (frame->hd.type == NGHTTP2_DATA)
		ss->guard.data_frames_sent++;
	return 0;
}

static ssize_t
h2c_read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
    nghttp2_data_source *src, void *ud)
{
	struct h2c_session *ss = ud;
	struct sy_h2_ustream *us = src->ptr;
	size_t before = sy_buf_len(&us->out);
	size_t n = SY_MIN(length, before);

	if (n > 0) {
		memcpy(buf, sy_buf_rpos(&us->out), n);
		sy_buf_consume(&us->out, n);
		if (before >= H2C_LOW_WATER && sy_buf_len(&us->out) < H2C_LOW_WATER) {
			us->want_writable = true;
			h2c_schedule(ss);
		}
	}
	if (sy_buf_len(&us->out) == 0) {
		sy_buf_release(&us->out);
		if (us->out_eof || us->gone) {
			*flags |= NGHTTP2_DATA_FLAG_EOF;
			if (us->req_trailers != NULL && us->req_trailers->n > 0 && !us->gone) {
				size_t nnv;
				nghttp2_nv *nv = sy_h2_nv_from_trailers(us->req_trailers, us->arena, &nnv);

				if (nv != NULL && nnv > 0 && nghttp2_submit_trailer(ng, id, nv, nnv) == 0)
					*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			}
		} else if (n == 0) {
			us->deferred = true;
			return NGHTTP2_ERR_DEFERRED;
		}
	}
	return (ssize_t)n;
}

/* ---- the connection under a session --------------------------------- */

static void
h2c_up_connected(void *owner, struct sy_upstream *u)
{
	struct h2c_session *ss = owner;

	(void)u;
	ss->connected = true;
	h2c_flush(ss);
}

static void
h2c_up_connect_failed(void *owner, struct sy_upstream *u, int err, bool timed_out)
{
	struct h2c_session *ss = owner;
	struct sy_h2_ustream *us;
	bool again = true;

	(void)u;
	ss->dead = true;
	h2c_unlink_session(ss);
	while (again) {
		again = false;
		for (us = ss->streams; us != NULL; us = us->next) {
			if (us->gone || us->closed)
				continue;
			us->closed = true;
			us->ready_sent = true;
			us->cb->on_connect_failed(us->owner, us, err, timed_out);
			again = true;
			break;
		}
	}
	h2c_schedule(ss);
}

static void
h2c_up_readable(void *owner, struct sy_upstream *u)
{
	struct h2c_session *ss = owner;
	ssize_t n;

	ss->depth++;
	n = nghttp2_session_mem_recv(ss->ng, (const uint8_t *)sy_buf_rpos(&u->in), sy_buf_len(&u->in));
	ss->depth--;
	sy_buf_consume(&u->in, sy_buf_len(&u->in));
	sy_buf_release_if_empty(&u->in);
	if (n < 0) {
		sy_log(SY_LOG_WARN, "http2 session to %s: %s", u->label,
		    ss->guard.goaway_code != 0 ? "flood from the upstream" : nghttp2_strerror((int)n));
		if (ss->guard.goaway_code == 0)
			nghttp2_session_terminate_session(ss->ng, NGHTTP2_PROTOCOL_ERROR);
		ss->depth = 0;
		h2c_flush(ss);
		h2c_session_die(ss, "http2 protocol error from the upstream");
		return;
	}
	h2c_flush(ss);
	h2c_reap(ss);
}

static void
h2c_up_writable(void *owner, struct sy_upstream *u)
{
	struct h2c_session *ss = owner;

	(void)u;
	h2c_flush(ss);
}

static void
h2c_up_eof(void *owner, struct sy_upstream *u)
{
	struct h2c_session *ss = owner;

	(void)u;
	h2c_session_die(ss, "upstream closed the connection");
}

static void
h2c_up_error(void *owner, struct sy_upstream *u, int err)
{
	struct h2c_session *ss = owner;

	sy_log(SY_LOG_WARN, "http2 session to %s: %s", u->label, strerror(err));
	h2c_session_die(ss, strerror(err));
}

static const struct sy_upstream_cb h2c_up_cb = {
	.on_connected = h2c_up_connected,
	.on_connect_failed = h2c_up_connect_failed,
	.on_readable = h2c_up_readable,
	.on_writable = h2c_up_writable,
	.on_eof = h2c_up_eof,
	.on_error = h2c_up_error,
};

/* A session without its connection yet; u is a new connection or NULL. */
static struct h2c_session *
h2c_session_new(const struct sy_conf_cluster *cluster, unsigned endpoint, struct sy_upstream *u)
{
	struct h2c_cluster *hc = &h2c.clusters[cluster->index];
	nghttp2_session_callbacks *cbs;
	nghttp2_settings_entry iv[8];
	nghttp2_option *opt;
	struct h2c_session *ss;
	size_t niv;
	int rv;

	if ((ss = calloc(1, sizeof(*ss))) == NULL)
		return NULL;
	ss->cluster = cluster;
	ss->endpoint = endpoint;
	sy_h2_guard_init(&ss->guard, cluster->stats_h2_base);
	sy_timer_init(&ss->kick, h2c_on_kick, ss);
	sy_timer_init(&ss->idle, h2c_on_idle, ss);
	if (nghttp2_session_callbacks_new(&cbs) != 0) {
		free(ss);
		return NULL;
	}
	nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, h2c_on_begin_frame);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, h2c_on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, h2c_on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, h2c_on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, h2c_on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, h2c_on_stream_close);
	nghttp2_session_callbacks_set_on_frame_send_callback(cbs, h2c_on_frame_send);
	opt = sy_h2_option_new(&cluster->http2, false);
	rv = opt != NULL ? nghttp2_session_client_new2(&ss->ng, cbs, ss, opt) : -1;
	nghttp2_session_callbacks_del(cbs);
	if (opt != NULL)
		nghttp2_option_del(opt);
	if (rv != 0) {
		free(ss);
		return NULL;
	}
	niv = sy_h2_settings(&cluster->http2, false, iv);
	if (nghttp2_submit_settings(ss->ng, NGHTTP2_FLAG_NONE, iv, niv) != 0 ||
	    nghttp2_session_set_local_window_size(ss->ng, NGHTTP2_FLAG_NONE, 0,
	    (int32_t)cluster->http2.initial_connection_window_size) != 0) {
		nghttp2_session_del(ss->ng);
		free(ss);
		return NULL;
	}
	if (u != NULL) {
		/* A connection that is up already (its ALPN said h2): adopt it. */
		u->cb = &h2c_up_cb;
		u->owner = ss;
		ss->u = u;
		ss->connected = true;
	} else if ((ss->u = sy_upstream_connect(cluster, endpoint, &h2c_up_cb, ss)) == NULL) {
		int err = errno;

		nghttp2_session_del(ss->ng);
		free(ss);
		errno = err;
		return NULL;
	}
	h2c_cluster_stat(cluster, SY_CLUSTER_upstream_cx_http2_total, 1);
	ss->next = hc->eps[endpoint];
	hc->eps[endpoint] = ss;
	if (ss->connected)
		h2c_flush(ss);
	return ss;
}

static struct sy_h2_ustream *h2c_stream_new(struct h2c_session *ss, struct sy_arena *arena,
    const struct sy_h2_upstream_cb *cb, void *owner);

static bool
h2c_session_usable(struct h2c_session *ss)
{
	uint32_t max = ss->cluster->http2.max_concurrent_streams;

	if (ss->settings)
		max = SY_MIN(max, nghttp2_session_get_remote_settings(ss->ng,
		    NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS));

	return !ss->dead && !ss->goaway && ss->nstreams < max;
}

/* ---- owner API ---------------------------------------------------------- */

struct sy_h2_ustream *
sy_h2_ustream_open(const struct sy_conf_cluster *cluster, struct sy_arena *arena,
    const struct sy_h2_upstream_cb *cb, void *owner)
{
	struct h2c_cluster *hc = h2c_cluster_get(cluster);
	struct h2c_session *ss = NULL;
	unsigned i, ep = 0;
	int pick;

	if (hc == NULL)
		return NULL;
	if (hc->n == 0) {
		errno = EAGAIN;
		return NULL;
	}
	/* Round robin over endpoints; a usable session there is shared. */
	for (i = 0; i < hc->n && ss == NULL; i++) {
		ep = (hc->rr + i) % hc->n;
		for (ss = hc->eps[ep]; ss != NULL && !h2c_session_usable(ss); ss = ss->next)
			;
	}
	hc->rr++;
	if (ss == NULL) {
		if ((pick = sy_upstream_pick(cluster)) < 0)
			return NULL;
		if ((ss = h2c_session_new(cluster, (unsigned)pick, NULL)) == NULL)
			return NULL;
	}
	return h2c_stream_new(ss, arena, cb, owner);
}

struct sy_h2_ustream *
sy_h2_ustream_open_on(struct sy_upstream *u, struct sy_arena *arena,
    const struct sy_h2_upstream_cb *cb, void *owner)
{
	struct h2c_session *ss;

	if (h2c_cluster_get(u->cluster) == NULL)
		return NULL;
	if ((ss = h2c_session_new(u->cluster, u->endpoint, u)) == NULL)
		return NULL;
	return h2c_stream_new(ss, arena, cb, owner);
}

static struct sy_h2_ustream *
h2c_stream_new(struct h2c_session *ss, struct sy_arena *arena, const struct sy_h2_upstream_cb *cb,
    void *owner)
{
	struct sy_h2_ustream *us;

	if ((us = calloc(1, sizeof(*us))) == NULL)
		return NULL;
	us->sess = ss;
	us->cb = cb;
	us->owner = owner;
	us->arena = arena;
	sy_msg_init(&us->resp, arena);
	sy_headers_init(&us->trailers, arena);
	us->next = ss->streams;
	if (ss->streams != NULL)
		ss->streams->prev = us;
	ss->streams = us;
	ss->nstreams++;
	sy_timer_stop(h2c.loop, &ss->idle);
	if (ss->settings)
		h2c_schedule(ss);
	return us;
}

bool
sy_h2_ustream_connect_allowed(const struct sy_h2_ustream *us)
{
	return us->sess != NULL && us->sess->settings &&
	    nghttp2_session_get_remote_settings(us->sess->ng,
	    NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) == 1;
}

const char *
sy_h2_ustream_label(const struct sy_h2_ustream *us)
{
	return us->sess != NULL && us->sess->u != NULL ? us->sess->u->label : "-";
}

int
sy_h2_ustream_submit(struct sy_h2_ustream *us, const struct sy_msg *req, bool end_stream)
{
	struct h2c_session *ss = us->sess;
	nghttp2_data_provider prd;
	nghttp2_nv *nv;
	size_t n;
	int32_t id;

	if (ss == NULL || ss->dead || us->closed)
		return -1;
	if ((nv = sy_h2_nv_from_msg(req, true, us->arena, &n)) == NULL)
		return -1;
	prd.source.ptr = us;
	prd.read_callback = h2c_read_body;
	us->out_eof = us->out_eof || end_stream;
	id = nghttp2_submit_request(ss->ng, NULL, nv, n, end_stream ? NULL : &prd, us);
	if (id < 0) {
		sy_log(SY_LOG_WARN, "http2 session to %s: cannot submit: %s", sy_h2_ustream_label(us),
		    nghttp2_strerror(id));
		return -1;
	}
	us->id = id;
	h2c_defer_flush(ss);
	return 0;
}

int
sy_h2_ustream_send_data(struct sy_h2_ustream *us, const void *p, size_t n, bool end_stream)
{
	struct h2c_session *ss = us->sess;

	if (ss == NULL || ss->dead || us->closed || us->out_eof)
		return 0;
	if (n > 0 && sy_buf_append(&us->out, p, n) == -1)
		return -1;
	if (end_stream)
		us->out_eof = true;
	if (us->deferred && us->id > 0) {
		us->deferred = false;
		nghttp2_session_resume_data(ss->ng, us->id);
	}
	h2c_defer_flush(ss);
	return 0;
}

int
sy_h2_ustream_send_trailers(struct sy_h2_ustream *us, const struct sy_headers *t)
{
	us->req_trailers = t;
	return sy_h2_ustream_send_data(us, NULL, 0, true);
}

size_t
sy_h2_ustream_pending(const struct sy_h2_ustream *us)
{
	return sy_buf_len(&us->out);
}

void
sy_h2_ustream_pause_read(struct sy_h2_ustream *us, bool pause)
{
	if (us->read_paused == pause)
		return;
	us->read_paused = pause;
	if (!pause && us->sess != NULL && !us->sess->dead) {
		h2c_consume(us->sess, us);
		h2c_defer_flush(us->sess);
	}
}

const struct sy_headers *
sy_h2_ustream_trailers(const struct sy_h2_ustream *us)
{
	return us->trailers.n > 0 ? &us->trailers : NULL;
}

static void
h2c_close(struct sy_h2_ustream *us, uint32_t code)
{
	struct h2c_session *ss = us->sess;

	if (us->gone)
		return;
	us->gone = true;
	if (ss == NULL) {
		h2c_stream_free(us);
		return;
	}
	ss->nstreams--;
	if (us->id > 0 && !us->closed && !ss->dead) {
		if (us->unconsumed > 0)
			nghttp2_session_consume_connection(ss->ng, us->unconsumed);
		if (!us->ended || !us->out_eof)
			nghttp2_submit_rst_stream(ss->ng, NGHTTP2_FLAG_NONE, us->id, code);
		h2c_defer_flush(ss);
	}
	h2c_schedule(ss);
}

void
sy_h2_ustream_close(struct sy_h2_ustream *us)
{
	h2c_close(us, NGHTTP2_CANCEL);
}

void
sy_h2_ustream_abort(struct sy_h2_ustream *us)
{
	h2c_close(us, NGHTTP2_CONNECT_ERROR);
}
