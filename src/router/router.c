/*
 * router.c - the terminal filter: sends the request to the route's cluster
 * over HTTP/1.1 (a connection of its own) or HTTP/2 (a stream on a shared
 * session) and relays the response back through the encode chain.  When
 * an upgrade crosses between versions it applies the RFC 8441
 * transformations of src/upgrade/ (Upgrade <-> extended CONNECT, 101 <->
 * 200) and refuses what cannot cross an HTTP/2 hop (bodies; a peer that
 * did not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL).
 * For an accepted upgrade it holds every payload byte the client sends
 * after the request until the upstream answers; only a 101 that passes
 * the upgrade checks turns the exchange into a tunnel, after which bytes
 * flow both ways through the chain's data callbacks with half-close
 * (a FIN one way ends only that direction), back-pressure (a side whose
 * peer cannot take more is not read) and an idle timeout.  Any other
 * answer is relayed as an ordinary response and the held bytes are
 * dropped.  The upstream connection goes back to the pool only after a
 * clean, complete, non-upgrade exchange.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchyard/conf.h"
#include "switchyard/filter.h"
#include "switchyard/hcm.h"
#include "switchyard/http1.h"
#include "switchyard/http2.h"
#include "switchyard/stats.h"
#include "switchyard/upgrade.h"
#include "switchyard/upstream.h"

/* Client bytes held while waiting for the 101, before reading pauses. */
#define ROUTER_HOLD_MAX (64 * 1024)

/* Which RFC 8441 transformation an upgrade takes (client side -> upstream side). */
enum router_xlate {
	ROUTER_XL_NONE,		/* same version both sides, or not an upgrade */
	ROUTER_XL_H1_H2,	/* HTTP/1.1 Upgrade -> extended CONNECT */
	ROUTER_XL_H2_H1		/* extended CONNECT -> HTTP/1.1 Upgrade */
};

struct router_state {
	struct sy_filter *f;
	struct sy_stream *s;
	const struct sy_conf_route_action *act;
	struct sy_upstream *u;		/* HTTP/1.1 cluster */
	struct sy_h2_ustream *us;	/* HTTP/2 cluster */
	bool up_h2;
	int xlate;			/* enum router_xlate */
	struct sy_upgrade_xlate x;
	struct sy_h1_parser *parser;
	struct sy_msg resp;
	struct sy_timer timer;		/* response timeout, then tunnel idle */
	struct sy_buf held;		/* tunnel payload before the 101 */
	struct sy_buf scratch;		/* response bytes for the encode chain */
	int64_t idle_timeout;
	bool req_chunked;		/* re-chunk the body toward the upstream */
	bool req_done;			/* whole request written to u->out */
	bool body_sent;			/* some body bytes left: no retry */
	bool resp_head;			/* final response head received */
	bool resp_done;
	bool tunnel;
	bool down_eof;			/* client ended its direction */
	bool up_eof;			/* upstream ended its direction */
	bool retried;
	bool counted_active;
	bool timed_out;
	bool parsing;			/* inside sy_h1_parse over u->in */
	bool parser_done;		/* tunnel: free the response parser */
	bool drop_pending;		/* release u once parsing returns */
	/* protocol "auto" before the first handshake told which one: */
	struct sy_upstream *probe_u;	/* the TLS connection whose ALPN decides */
	bool probing;
	bool probe_end;			/* the client's body ended while probing */
	struct sy_headers *probe_trailers;
	const char *bad_request;	/* router_prepare: answer 400 with this */
};

static const struct sy_upstream_cb router_up_cb;
static const struct sy_h1_callbacks router_resp_cb;
static const struct sy_h2_upstream_cb router_h2_cb;
static const struct sy_upstream_cb router_probe_cb;

static void
router_cluster_stat(struct router_state *r, unsigned stat, int64_t v)
{
	sy_stat_add(r->act->cluster_ref->stats_base + stat, v);
}

static bool
router_has_upstream(const struct router_state *r)
{
	return r->u != NULL || r->us != NULL;
}

static void
router_drop_upstream(struct router_state *r, bool reusable)
{
	if (r->probe_u != NULL) {
		sy_upstream_release(r->probe_u, false);
		r->probe_u = NULL;
	}
	if (r->us != NULL) {
		/* A tunnel torn down before both sides ended is a CONNECT_ERROR. */
		if (r->tunnel && !(r->down_eof && r->up_eof))
			sy_h2_ustream_abort(r->us);
		else
			sy_h2_ustream_close(r->us);
		r->us = NULL;
	}
	if (r->u == NULL)
		return;
	if (r->parsing) {
		/* The parser is reading u->in: let go once it returns. */
		r->drop_pending = true;
		return;
	}
	sy_upstream_release(r->u, reusable);
	r->u = NULL;
}

/*
 * Read the client only while the upstream keeps up and, before a 101,
 * while the held payload is under its bound.
 */
static size_t
router_up_pending(const struct router_state *r)
{
	if (r->us != NULL)
		return sy_h2_ustream_pending(r->us);
	return r->u != NULL ? sy_buf_len(&r->u->out) : 0;
}

static void
router_up_pause_read(struct router_state *r, bool pause)
{
	if (r->us != NULL)
		sy_h2_ustream_pause_read(r->us, pause);
	else if (r->u != NULL && r->u->read_paused != pause)
		sy_upstream_pause_read(r->u, pause);
}

/* The client ended its direction of a tunnel: FIN or END_STREAM upstream. */
static void
router_up_shutdown(struct router_state *r)
{
	if (r->us != NULL)
		sy_h2_ustream_send_data(r->us, NULL, 0, true);
	else if (r->u != NULL)
		sy_upstream_shutdown_write(r->u);
}

static void
router_client_flow(struct router_state *r)
{
	bool pause = router_up_pending(r) >= SY_UPSTREAM_HIGH_WATER ||
	    (!r->tunnel && sy_buf_len(&r->held) >= ROUTER_HOLD_MAX);

	r->s->sink->pause_read(r->s, pause);
}

/* Upgrade attempt that will not become a tunnel. */
static void
router_upgrade_failed(struct router_state *r)
{
	struct sy_stream *s = r->s;

	if (s->upgrade && !s->tunnel && s->upgrade_stats != UINT32_MAX && !s->upgrade_counted) {
		sy_stat_inc(s->upgrade_stats + SY_UPGRADE_failed);
		s->upgrade_counted = true;
	}
}

/* Answer locally if nothing was sent yet, else abort the client side. */
static void
router_fail(struct router_state *r, int status, const char *why)
{
	struct sy_stream *s = r->s;
	char body[160];
	int n;

	router_upgrade_failed(r);
	sy_timer_stop(s->loop, &r->timer);
	router_drop_upstream(r, false);
	if (!s->response_started) {
		s->want_close = true;
		n = snprintf(body, sizeof(body), "%s\n", why);
		sy_hcm_local_reply(s, status, body, (size_t)SY_MIN(n, (int)sizeof(body) - 1));
	} else {
		s->sink->reset(s);
	}
}

/*
 * The tunnel is set up and no head is being parsed: drop the heads and
 * keep only what the access log needs (an idle tunnel then holds its
 * connections, the filter states and little else).
 */
static void
router_compact(struct router_state *r)
{
	/*
	 * An upgrade request whose body is still being read (a 101 before
	 * its end) keeps its heads: the codec's parser still works in them.
	 */
	if (!r->req_done)
		return;
	sy_hcm_stream_compact(r->s);
	sy_msg_init(&r->resp, &r->s->arena);
	memset(&r->x, 0, sizeof(r->x));
}

static void
router_tunnel_finish_if_done(struct router_state *r)
{
	if (r->tunnel && r->down_eof && r->up_eof) {
		router_drop_upstream(r, false);
		sy_hcm_tunnel_done(r->s);
	}
}

/* ---- request ----------------------------------------------------------- */

static int
router_prepare(struct router_state *r, struct sy_msg *req)
{
	struct sy_stream *s = r->s;
	const struct sy_conf_route_action *act = r->act;
	const char *xff, *path;
	char ip[64], *colon;

	if (s->upgrade) {
		bool ext = sy_upgrade_is_extended_connect(req);
		unsigned flags = s->http->preserve_upgrade_method ? SY_UPGRADE_PRESERVE_METHOD : 0;
		int rc = 0;

		if (!ext && !r->up_h2) {
			rc = sy_upgrade_prepare_h1_request(req);
		} else if (!ext) {
			/* The key goes along so a switchyard sidecar passes it through. */
			r->xlate = ROUTER_XL_H1_H2;
			rc = sy_upgrade_h1_to_h2_request(req, flags | SY_UPGRADE_KEEP_WS_KEY, &r->x);
		} else if (!r->up_h2) {
			r->xlate = ROUTER_XL_H2_H1;
			rc = sy_upgrade_h2_to_h1_request(req, flags, &r->x);
		} else {
			/* HTTP/2 both sides: the extended CONNECT goes on as it is. */
			if (!(flags & SY_UPGRADE_PRESERVE_METHOD))
				sy_headers_remove(&req->headers, SY_UPGRADE_METHOD_HEADER);
			rc = sy_http_strip_hop_by_hop(req);
		}
		if (rc == -1 && errno == EBADMSG) {
			r->bad_request = "an upgrade request with a body cannot cross an HTTP/2 hop";
			return -1;
		}
		if (rc == -1 && errno == EINVAL) {
			r->bad_request = "upgrade request cannot be carried over HTTP/2";
			return -1;
		}
		if (rc == -1)
			return -1;
	} else if (sy_http_strip_hop_by_hop(req) == -1) {
		return -1;
	}
	/* prefix_rewrite replaces the part the route's prefix matched. */
	path = sy_msg_path(req);
	if (act->prefix_rewrite != NULL && s->route->prefix != NULL && path != NULL) {
		char *np = sy_arena_printf(&s->arena, "%s%s", act->prefix_rewrite,
		    path + strlen(s->route->prefix));

		if (np == NULL || sy_headers_set(&req->headers, ":path", np) == -1)
			return -1;
	}
	if (act->host_rewrite_literal != NULL &&
	    sy_headers_set(&req->headers, ":authority", act->host_rewrite_literal) == -1)
		return -1;
	/* x-forwarded-for: append the client address. */
	snprintf(ip, sizeof(ip), "%s", s->peer ? s->peer : "");
	if (ip[0] == '[') {
		memmove(ip, ip + 1, strlen(ip));
		if ((colon = strchr(ip, ']')) != NULL)
			*colon = '\0';
	} else if ((colon = strrchr(ip, ':')) != NULL) {
		*colon = '\0';
	}
	xff = sy_headers_value(&req->headers, "x-forwarded-for");
	if (xff != NULL) {
		char *v = sy_arena_printf(&s->arena, "%s, %s", xff, ip);

		if (v == NULL || sy_headers_set(&req->headers, "x-forwarded-for", v) == -1)
			return -1;
	} else if (sy_headers_add_cstr(&req->headers, "x-forwarded-for", ip) == -1) {
		return -1;
	}
	if (sy_headers_set(&req->headers, "x-forwarded-proto", s->secure ? "https" : "http") == -1)
		return -1;
	/* :scheme toward HTTP/2 follows the upstream connection's transport. */
	if (r->up_h2 && sy_headers_set(&req->headers, ":scheme",
	    act->cluster_ref->tls.enabled ? "https" : "http") == -1)
		return -1;
	if (s->request_id != NULL && sy_headers_set(&req->headers, "x-request-id", s->request_id) == -1)
		return -1;
	/*
	 * Framing: a chunked body is re-chunked, a Content-Length body kept;
	 * an HTTP/2 body without Content-Length is chunked for HTTP/1.1.
	 * HTTP/2 frames every body itself.
	 */
	r->req_chunked = !r->up_h2 && (req->chunked ||
	    (req->version == SY_HTTP_2 && req->has_body && req->content_length < 0 && !s->upgrade));
	if (r->req_chunked && sy_headers_set(&req->headers, "transfer-encoding", "chunked") == -1)
		return -1;
	if (r->up_h2)
		sy_headers_remove(&req->headers, "transfer-encoding");
	return 0;
}

static int
router_send_head(struct router_state *r)
{
	struct sy_msg *req = &r->s->req;

	req->version = SY_HTTP_11;
	if (sy_h1_emit_request_head(&r->u->out, req) == -1)
		return -1;
	router_cluster_stat(r, SY_CLUSTER_upstream_rq_total, 1);
	if (!r->counted_active) {
		router_cluster_stat(r, SY_CLUSTER_upstream_rq_active, 1);
		r->counted_active = true;
	}
	return 0;
}

/* No connection or stream could be had (errno from the acquire). */
static void
router_no_upstream(struct router_state *r)
{
	if (errno == EAGAIN) {
		router_cluster_stat(r, SY_CLUSTER_upstream_cx_none_healthy, 1);
		router_fail(r, 503, "no healthy upstream");
	} else {
		router_fail(r, 502, "cannot connect to upstream");
	}
}

static int
router_connect(struct router_state *r)
{
	if (r->up_h2) {
		if (r->us != NULL)
			return 0;	/* opened on the probe's connection */
		r->us = sy_h2_ustream_open(r->act->cluster_ref, &r->s->arena, &router_h2_cb, r);
		if (r->us == NULL) {
			router_no_upstream(r);
			return -1;
		}
		return 0;	/* the head goes out from router_h2_ready */
	}
	if (r->u == NULL)	/* a probe may have left us a connection */
		r->u = sy_upstream_acquire(r->act->cluster_ref, &router_up_cb, r);
	if (r->u == NULL) {
		router_no_upstream(r);
		return -1;
	}
	r->s->upstream_label = r->u->label;
	sy_h1_parser_reset(r->parser, &r->s->arena);
	sy_h1_parser_set_request_method(r->parser, sy_msg_method(&r->s->req));
	if (router_send_head(r) == -1) {
		router_fail(r, 500, "cannot serialise request");
		return -1;
	}
	if (r->u->state == SY_UP_ACTIVE)
		sy_upstream_flush(r->u);
	return 0;
}

static void router_on_timer(struct sy_loop *loop, void *arg);

/* Prepare the request for the cluster's protocol and send it on its way. */
static int
router_start(struct router_state *r)
{
	struct sy_stream *s = r->s;
	struct sy_h1_limits lim = { 64 * 1024, 100 };

	if (router_prepare(r, &s->req) == -1) {
		if (r->bad_request != NULL)
			router_fail(r, 400, r->bad_request);
		else
			router_fail(r, 500, "cannot prepare request");
		return -1;
	}
	if (!r->up_h2 && (r->parser = sy_h1_parser_new(SY_H1_RESPONSE, &lim, &router_resp_cb, r)) == NULL) {
		router_fail(r, 500, "out of memory");
		return -1;
	}
	return router_connect(r);
}

static enum sy_filter_status
router_decode_headers(struct sy_filter *f, struct sy_msg *req, bool end_stream)
{
	struct router_state *r = f->state;
	struct sy_stream *s = f->stream;
	const struct sy_conf_cluster *cl;
	int known;

	r->f = f;
	r->s = s;
	r->act = &s->route->route;
	cl = r->act->cluster_ref;
	r->idle_timeout = r->act->idle_timeout_set ? r->act->idle_timeout : s->http->stream_idle_timeout;
	sy_timer_init(&r->timer, router_on_timer, r);
	known = cl->protocol == SY_PROTO_AUTO ? sy_upstream_cluster_protocol(cl) : cl->protocol;
	if (known < 0) {
		/* protocol "auto": one TLS handshake tells (ALPN), then we go on. */
		r->probe_u = sy_upstream_acquire(cl, &router_probe_cb, r);
		if (r->probe_u == NULL) {
			router_no_upstream(r);
			return SY_FILTER_STOP;
		}
		r->probing = true;
	} else {
		r->up_h2 = known == SY_PROTO_HTTP2;
		if (router_start(r) == -1)
			return SY_FILTER_STOP;
	}
	if (end_stream)
		r->req_done = true;
	if (r->act->timeout > 0)
		sy_timer_start(s->loop, &r->timer, r->act->timeout);
	return SY_FILTER_STOP;
}

static enum sy_filter_status router_decode_data(struct sy_filter *f, struct sy_buf *data,
    bool end_stream);
static enum sy_filter_status router_decode_trailers(struct sy_filter *f, struct sy_headers *t);

/* The probe connection is up: its ALPN answer is now the cluster's. */
static void
router_probe_connected(void *owner, struct sy_upstream *u)
{
	struct router_state *r = owner;
	const char *alpn = sy_upstream_alpn(u);
	struct sy_buf held = r->held;
	bool end = r->probe_end;

	r->probing = false;
	r->probe_u = NULL;
	if (alpn != NULL && strcmp(alpn, "h2") == 0) {
		/* The connection becomes a shared HTTP/2 session, this stream its first. */
		r->up_h2 = true;
		if ((r->us = sy_h2_ustream_open_on(u, &r->s->arena, &router_h2_cb, r)) == NULL) {
			sy_upstream_release(u, false);
			router_fail(r, 502, "cannot start an HTTP/2 session");
			return;
		}
	} else {
		u->cb = &router_up_cb;
		r->u = u;
		r->up_h2 = false;
	}
	if (router_start(r) == -1 || r->s->response_started)
		return;
	if (r->u != NULL && r->u->state == SY_UP_ACTIVE)
		sy_upstream_flush(r->u);
	/* What the client sent meanwhile takes its normal path now. */
	memset(&r->held, 0, sizeof(r->held));
	if (sy_buf_len(&held) > 0 || end)
		router_decode_data(r->f, &held, end);
	sy_buf_release(&held);
	if (r->probe_trailers != NULL)
		router_decode_trailers(r->f, r->probe_trailers);
}

static void
router_probe_connect_failed(void *owner, struct sy_upstream *u, int err, bool timed_out)
{
	struct router_state *r = owner;

	(void)u;
	(void)err;
	router_fail(r, 502, timed_out ? "upstream connect timeout" : "upstream connect error");
}

static void
router_probe_unexpected(void *owner, struct sy_upstream *u)
{
	(void)owner;
	(void)u;
}

static void
router_probe_error(void *owner, struct sy_upstream *u, int err)
{
	router_probe_connect_failed(owner, u, err, false);
}

static const struct sy_upstream_cb router_probe_cb = {
	.on_connected = router_probe_connected,
	.on_connect_failed = router_probe_connect_failed,
	.on_readable = router_probe_unexpected,
	.on_writable = router_probe_unexpected,
	.on_eof = router_probe_unexpected,
	.on_error = router_probe_error,
};

static void
router_write_upstream(struct router_state *r, struct sy_buf *data)
{
	if (r->us != NULL) {
		if (sy_h2_ustream_send_data(r->us, sy_buf_rpos(data), sy_buf_len(data), false) == -1) {
			router_fail(r, 500, "out of memory");
			return;
		}
		sy_buf_consume(data, sy_buf_len(data));
		router_client_flow(r);
		return;
	}
	if (r->u == NULL) {
		sy_buf_consume(data, sy_buf_len(data));
		return;
	}
	if (sy_buf_append(&r->u->out, sy_buf_rpos(data), sy_buf_len(data)) == -1) {
		router_fail(r, 500, "out of memory");
		return;
	}
	sy_buf_consume(data, sy_buf_len(data));
	sy_upstream_flush(r->u);
	/* Back-pressure: stop reading the client while the upstream lags. */
	if (r->u != NULL)
		router_client_flow(r);
}

static enum sy_filter_status
router_decode_data(struct sy_filter *f, struct sy_buf *data, bool end_stream)
{
	struct router_state *r = f->state;
	struct sy_stream *s = f->stream;

	if (r->probing) {
		/* Body or payload before we know the protocol: held, bounded. */
		if (sy_buf_append(&r->held, sy_buf_rpos(data), sy_buf_len(data)) == -1)
			goto nomem;
		sy_buf_consume(data, sy_buf_len(data));
		if (end_stream)
			r->probe_end = true;
		router_client_flow(r);
		return SY_FILTER_STOP;
	}
	if (!r->req_done && r->us != NULL) {
		/* Request body on an HTTP/2 stream (queued until the head goes). */
		if (sy_buf_len(data) > 0 || end_stream) {
			if (sy_buf_len(data) > 0)
				r->body_sent = true;
			if (sy_h2_ustream_send_data(r->us, sy_buf_rpos(data), sy_buf_len(data),
			    end_stream) == -1)
				goto nomem;
		}
		sy_buf_consume(data, sy_buf_len(data));
		if (end_stream)
			r->req_done = true;
		router_client_flow(r);
		return SY_FILTER_STOP;
	}
	if (!r->req_done) {
		/* Request body. */
		if (r->u != NULL && sy_buf_len(data) > 0) {
			r->body_sent = true;
			if (r->req_chunked) {
				if (sy_h1_emit_chunk(&r->u->out, sy_buf_rpos(data), sy_buf_len(data)) == -1)
					goto nomem;
				sy_buf_consume(data, sy_buf_len(data));
			} else if (sy_buf_append(&r->u->out, sy_buf_rpos(data), sy_buf_len(data)) == -1) {
				goto nomem;
			} else {
				sy_buf_consume(data, sy_buf_len(data));
			}
		}
		sy_buf_consume(data, sy_buf_len(data));
		if (end_stream) {
			if (r->u != NULL && r->req_chunked && sy_h1_emit_last_chunk(&r->u->out) == -1)
				goto nomem;
			r->req_done = true;
		}
		if (r->u != NULL && r->u->state == SY_UP_ACTIVE)
			sy_upstream_flush(r->u);
		/* Still connecting or slow: stop reading the client past the mark. */
		router_client_flow(r);
		return SY_FILTER_STOP;
	}
	/* Tunnel payload from the client. */
	if (!r->tunnel) {
		if (sy_buf_append(&r->held, sy_buf_rpos(data), sy_buf_len(data)) == -1)
			goto nomem;
		sy_buf_consume(data, sy_buf_len(data));
		if (end_stream)
			r->down_eof = true;
		router_client_flow(r);
		return SY_FILTER_STOP;
	}
	if (r->idle_timeout > 0)
		sy_timer_start(s->loop, &r->timer, r->idle_timeout);
	router_write_upstream(r, data);
	if (end_stream && !r->down_eof) {
		r->down_eof = true;
		router_up_shutdown(r);
		router_tunnel_finish_if_done(r);
	}
	return SY_FILTER_STOP;
nomem:
	router_fail(r, 500, "out of memory");
	return SY_FILTER_STOP;
}

static enum sy_filter_status
router_decode_trailers(struct sy_filter *f, struct sy_headers *t)
{
	struct router_state *r = f->state;

	if (r->probing) {
		r->probe_trailers = t;
		return SY_FILTER_STOP;
	}
	if (r->req_done)
		return SY_FILTER_STOP;
	r->req_done = true;
	if (r->us != NULL) {
		if (sy_h2_ustream_send_trailers(r->us, t) == -1)
			router_fail(r, 500, "out of memory");
		return SY_FILTER_STOP;
	}
	if (r->u == NULL)
		return SY_FILTER_STOP;
	/* Only a chunked body can carry them on; a Content-Length body drops them. */
	if (r->req_chunked && sy_h1_emit_last_chunk_trailers(&r->u->out, t) == -1) {
		router_fail(r, 500, "out of memory");
		return SY_FILTER_STOP;
	}
	if (r->u->state == SY_UP_ACTIVE)
		sy_upstream_flush(r->u);
	return SY_FILTER_STOP;
}

/* ---- response ---------------------------------------------------------- */

static void
router_start_tunnel(struct router_state *r)
{
	struct sy_stream *s = r->s;

	r->tunnel = true;
	s->tunnel = true;
	sy_timer_stop(s->loop, &r->timer);
	if (r->idle_timeout > 0)
		sy_timer_start(s->loop, &r->timer, r->idle_timeout);
	if (s->upgrade_stats != UINT32_MAX) {
		sy_stat_inc(s->upgrade_stats + SY_UPGRADE_total);
		sy_stat_inc(s->upgrade_stats + SY_UPGRADE_active);
	}
	sy_hcm_stat_inc(s->http, SY_HTTP_downstream_cx_upgrades_total);
	sy_hcm_stat_inc(s->http, SY_HTTP_downstream_cx_upgrades_active);
	s->upgrade_counted = true;
	s->sink->start_tunnel(s);
	/* The parser is done once the 101 is in (freed after this parse returns). */
	r->parser_done = true;
	/* Release what the client sent early. */
	if (sy_buf_len(&r->held) > 0)
		router_write_upstream(r, &r->held);
	sy_buf_release(&r->held);
	router_client_flow(r);
	if (r->down_eof && router_has_upstream(r))
		router_up_shutdown(r);
}

static int
router_resp_head(void *ud, struct sy_msg *m)
{
	struct router_state *r = ud;
	struct sy_stream *s = r->s;
	const char *why = NULL;
	int cls, verdict;

	if (m->status >= 100 && m->status < 200 && m->status != 101) {
		/* Interim: only a 100 the client asked for (Expect) is relayed. */
		const char *expect = sy_headers_value(&s->req.headers, "expect");

		if (m->status == 100 && expect != NULL && sy_strieq(expect, "100-continue") &&
		    !s->response_started && s->sink->send_continue != NULL)
			s->sink->send_continue(s);
		return 0;
	}
	r->resp_head = true;
	sy_timer_stop(s->loop, &r->timer);
	cls = m->status / 100;
	if (cls >= 1 && cls <= 5)
		router_cluster_stat(r, SY_CLUSTER_upstream_rq_1xx + (unsigned)(cls - 1), 1);
	r->resp = *m;
	verdict = sy_upgrade_check_response(&s->req, m, NULL, &why);
	if (verdict == SY_UPGRADE_RESP_BAD) {
		sy_log_conn(SY_LOG_WARN, s->log, "bad response from %s: %s", r->u ? r->u->label : "upstream",
		    why ? why : "invalid upgrade response");
		router_fail(r, 502, "bad upstream response");
		return -1;
	}
	if (verdict == SY_UPGRADE_RESP_TUNNEL) {
		int rc;

		switch (r->xlate) {
		case ROUTER_XL_H1_H2:
			/* 200 -> 101, with the accept made from the client's key. */
			rc = sy_upgrade_h2_to_h1_response(&r->resp, &r->x);
			break;
		case ROUTER_XL_H2_H1:
			if (r->resp.content_length > 0 || r->resp.chunked ||
			    sy_headers_get(&r->resp.headers, "transfer-encoding") != NULL) {
				sy_log_conn(SY_LOG_WARN, s->log, "bad response from %s: 101 with a body "
				    "cannot cross an HTTP/2 hop", r->u ? r->u->label : "upstream");
				router_fail(r, 502, "bad upstream response");
				return -1;
			}
			/* 101 -> 200 for the HTTP/2 client. */
			rc = sy_upgrade_h1_to_h2_response(&r->resp, &r->x);
			break;
		default:
			rc = s->req.version == SY_HTTP_2 || r->up_h2 ?
			    sy_http_strip_hop_by_hop(&r->resp) : sy_upgrade_prepare_h1_response(&r->resp);
			break;
		}
		if (rc == -1) {
			router_fail(r, 500, "cannot translate the upgrade response");
			return -1;
		}
		sy_filter_encode_headers(s, &r->resp, false);
		if (router_has_upstream(r))
			router_start_tunnel(r);
		return 0;
	}
	/* An ordinary response; an upgrade that was refused upstream ends here. */
	if (s->upgrade) {
		router_upgrade_failed(r);
		sy_buf_release(&r->held);
		s->want_close = true;
	}
	sy_http_strip_hop_by_hop(&r->resp);
	sy_filter_encode_headers(s, &r->resp, !m->has_body);
	return 0;
}

static int
router_resp_data(void *ud, const char *p, size_t n)
{
	struct router_state *r = ud;

	if (sy_buf_append(&r->scratch, p, n) == -1)
		return -1;
	sy_filter_encode_data(r->s, &r->scratch, false);
	sy_buf_consume(&r->scratch, sy_buf_len(&r->scratch));
	/* A slow client: stop reading the upstream until it catches up. */
	if (r->s->sink->out_pending(r->s) >= SY_UPSTREAM_HIGH_WATER)
		router_up_pause_read(r, true);
	return 0;
}

static int
router_resp_end(void *ud)
{
	struct router_state *r = ud;

	if (!r->resp_head)
		return 0;	/* end of an interim response */
	if (r->tunnel)
		return 0;
	r->resp_done = true;
	if (r->resp.has_body) {
		const struct sy_headers *t = r->us != NULL ? sy_h2_ustream_trailers(r->us) :
		    sy_h1_parser_trailers(r->parser);

		if (t != NULL)
			sy_filter_encode_trailers(r->s, (struct sy_headers *)t);
		else
			sy_filter_encode_data(r->s, &r->scratch, true);
	}
	return 0;
}

static const struct sy_h1_callbacks router_resp_cb = {
	.on_head = router_resp_head,
	.on_data = router_resp_data,
	.on_end = router_resp_end,
};

static void
router_relay_tunnel(struct router_state *r, struct sy_buf *in)
{
	struct sy_stream *s = r->s;

	if (sy_buf_len(in) == 0)
		return;
	if (r->idle_timeout > 0)
		sy_timer_start(s->loop, &r->timer, r->idle_timeout);
	sy_filter_encode_data(s, in, false);
	sy_buf_consume(in, sy_buf_len(in));
	if (s->sink->out_pending(s) >= SY_UPSTREAM_HIGH_WATER)
		router_up_pause_read(r, true);
}

static void router_up_read(struct router_state *r, struct sy_upstream *u);

/* An idle tunnel or keep-alive exchange must not keep an empty buffer. */
static void
router_up_readable(void *owner, struct sy_upstream *u)
{
	struct router_state *r = owner;

	router_up_read(r, u);
	if (r->u == u)
		sy_buf_release_if_empty(&u->in);
}

static void
router_up_read(struct router_state *r, struct sy_upstream *u)
{
	size_t used;
	int rc;

	if (r->tunnel) {
		router_relay_tunnel(r, &u->in);
		return;
	}
	while (r->u != NULL && sy_buf_len(&u->in) > 0 && !r->resp_done) {
		r->parsing = true;
		rc = sy_h1_parse(r->parser, sy_buf_rpos(&u->in), sy_buf_len(&u->in), &used);
		r->parsing = false;
		if (r->drop_pending) {
			/* A callback failed the stream or ended the tunnel. */
			r->drop_pending = false;
			router_drop_upstream(r, false);
			return;
		}
		sy_buf_consume(&u->in, used);
		if (rc == SY_ERROR) {
			const char *why = NULL;

			sy_h1_parser_error(r->parser, &why);
			sy_log_conn(SY_LOG_WARN, r->s->log, "bad response from %s: %s", u->label,
			    why ? why : "malformed");
			router_fail(r, 502, "bad upstream response");
			return;
		}
		if (rc == SY_AGAIN)
			break;
		/* SY_DONE: an interim response, the final one, or the 101. */
		if (r->tunnel) {
			if (r->parser_done && r->parser != NULL) {
				sy_h1_parser_free(r->parser);
				r->parser = NULL;
				router_compact(r);
			}
			router_relay_tunnel(r, &u->in);
			return;
		}
		if (!r->resp_done) {
			sy_h1_parser_reset(r->parser, &r->s->arena);
			sy_h1_parser_set_request_method(r->parser, sy_msg_method(&r->s->req));
		}
	}
	if (r->resp_done) {
		bool reusable = r->req_done && r->resp.keep_alive && !r->s->upgrade &&
		    sy_buf_len(&u->in) == 0;

		router_drop_upstream(r, reusable);
	}
}

static void
router_up_connected(void *owner, struct sy_upstream *u)
{
	struct router_state *r = owner;

	sy_upstream_flush(u);
	if (r->u != NULL)
		router_client_flow(r);
}

static void
router_up_connect_failed(void *owner, struct sy_upstream *u, int err, bool timed_out)
{
	router_probe_connect_failed(owner, u, err, timed_out);
}

static void
router_up_writable(void *owner, struct sy_upstream *u)
{
	struct router_state *r = owner;

	router_client_flow(r);
}

static void
router_up_eof(void *owner, struct sy_upstream *u)
{
	struct router_state *r = owner;
	struct sy_buf empty = { 0 };

	if (r->tunnel) {
		if (!r->up_eof) {
			r->up_eof = true;
			sy_filter_encode_data(r->s, &empty, true);
		}
		router_tunnel_finish_if_done(r);
		return;
	}
	if (sy_h1_parse_eof(r->parser) == SY_OK && r->resp_head) {
		if (!r->resp_done) {
			r->resp_done = true;
			sy_filter_encode_data(r->s, &r->scratch, true);
		}
		router_drop_upstream(r, false);
		return;
	}
	if (u->reused && !r->resp_head && !r->body_sent && !r->retried) {
		/* A pooled connection the upstream had just closed: one fresh try. */
		r->retried = true;
		router_drop_upstream(r, false);
		router_connect(r);
		return;
	}
	sy_log_conn(SY_LOG_WARN, r->s->log, "upstream %s closed the connection %s", u->label,
	    r->resp_head ? "mid-response" : "before responding");
	router_fail(r, 502, "upstream connection closed");
}

static void
router_up_error(void *owner, struct sy_upstream *u, int err)
{
	struct router_state *r = owner;

	if (r->tunnel) {
		sy_log_conn(SY_LOG_INFO, r->s->log, "tunnel to %s ended: %s", u->label, strerror(err));
		router_drop_upstream(r, false);
		r->s->sink->reset(r->s);
		return;
	}
	if (u->reused && !r->resp_head && !r->body_sent && !r->retried) {
		r->retried = true;
		router_drop_upstream(r, false);
		router_connect(r);
		return;
	}
	sy_log_conn(SY_LOG_WARN, r->s->log, "upstream %s failed: %s", u->label, strerror(err));
	router_fail(r, 502, "upstream connection error");
}

static const struct sy_upstream_cb router_up_cb = {
	.on_connected = router_up_connected,
	.on_connect_failed = router_up_connect_failed,
	.on_readable = router_up_readable,
	.on_writable = router_up_writable,
	.on_eof = router_up_eof,
	.on_error = router_up_error,
};

/* ---- HTTP/2 upstream stream ----------------------------------------- */

static void
router_h2_ready(void *owner, struct sy_h2_ustream *us)
{
	struct router_state *r = owner;
	struct sy_stream *s = r->s;
	bool end;

	s->upstream_label = sy_h2_ustream_label(us);
	/* RFC 8441 3: no extended CONNECT unless the peer said it may come. */
	if (sy_upgrade_is_extended_connect(&s->req) && !sy_h2_ustream_connect_allowed(us)) {
		sy_log_conn(SY_LOG_WARN, s->log, "cannot upgrade through %s: the upstream does not "
		    "allow extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL)", s->upstream_label);
		router_cluster_stat(r, SY_CLUSTER_upstream_rq_extended_connect_refused, 1);
		router_fail(r, 502, "upstream does not allow extended CONNECT");
		return;
	}
	/* END_STREAM with the head only when nothing else will follow. */
	end = r->req_done && !s->upgrade && sy_h2_ustream_pending(us) == 0 && s->req.trailers.n == 0 &&
	    !r->body_sent;
	if (sy_h2_ustream_submit(us, &s->req, end) == -1) {
		router_fail(r, 502, "cannot send the request upstream");
		return;
	}
	router_cluster_stat(r, SY_CLUSTER_upstream_rq_total, 1);
	if (!r->counted_active) {
		router_cluster_stat(r, SY_CLUSTER_upstream_rq_active, 1);
		r->counted_active = true;
	}
	router_client_flow(r);
}

static void
router_h2_connect_failed(void *owner, struct sy_h2_ustream *us, int err, bool timed_out)
{
	(void)us;
	router_probe_connect_failed(owner, NULL, err, timed_out);
}

static int
router_h2_head(void *owner, struct sy_msg *m)
{
	struct router_state *r = owner;
	int rc = router_resp_head(r, m);

	/* The head is copied out of m by now; nothing reads it any more. */
	if (rc == 0 && r->tunnel)
		router_compact(r);
	return rc;
}

static int
router_h2_data(void *owner, const char *p, size_t n)
{
	struct router_state *r = owner;

	if (r->tunnel) {
		if (sy_buf_append(&r->scratch, p, n) == -1)
			return -1;
		router_relay_tunnel(r, &r->scratch);
		return 0;
	}
	return router_resp_data(r, p, n);
}

static int
router_h2_end(void *owner)
{
	struct router_state *r = owner;
	struct sy_buf empty = { 0 };

	if (r->tunnel) {
		/* END_STREAM from the upstream: FIN (or END_STREAM) to the client. */
		if (!r->up_eof) {
			r->up_eof = true;
			sy_filter_encode_data(r->s, &empty, true);
		}
		router_tunnel_finish_if_done(r);
		return 0;
	}
	router_resp_end(r);
	if (r->resp_done)
		router_drop_upstream(r, false);
	return 0;
}

static void
router_h2_reset(void *owner, struct sy_h2_ustream *us, uint32_t code, const char *why)
{
	struct router_state *r = owner;

	(void)code;
	if (r->tunnel) {
		sy_log_conn(SY_LOG_INFO, r->s->log, "tunnel to %s ended: %s", sy_h2_ustream_label(us), why);
		router_drop_upstream(r, false);
		r->s->sink->reset(r->s);
		return;
	}
	if (!r->resp_head && !r->body_sent && !r->retried && code == 7 /* REFUSED_STREAM */) {
		/* Refused before any processing (GOAWAY race): one fresh try. */
		r->retried = true;
		router_drop_upstream(r, false);
		router_connect(r);
		return;
	}
	sy_log_conn(SY_LOG_WARN, r->s->log, "upstream %s: %s", sy_h2_ustream_label(us), why);
	router_fail(r, 502, "upstream stream reset");
}

static void
router_h2_writable(void *owner, struct sy_h2_ustream *us)
{
	struct router_state *r = owner;

	(void)us;
	router_client_flow(r);
}

static const struct sy_h2_upstream_cb router_h2_cb = {
	.on_ready = router_h2_ready,
	.on_connect_failed = router_h2_connect_failed,
	.on_head = router_h2_head,
	.on_data = router_h2_data,
	.on_end = router_h2_end,
	.on_reset = router_h2_reset,
	.on_writable = router_h2_writable,
};

static void
router_on_timer(struct sy_loop *loop, void *arg)
{
	struct router_state *r = arg;

	if (r->tunnel) {
		sy_hcm_stat_inc(r->s->http, SY_HTTP_downstream_rq_idle_timeout);
		sy_log_conn(SY_LOG_INFO, r->s->log, "tunnel idle for %" PRId64 "ms: closing",
		    r->idle_timeout);
		router_drop_upstream(r, false);
		r->s->sink->reset(r->s);
		return;
	}
	r->timed_out = true;
	router_cluster_stat(r, SY_CLUSTER_upstream_rq_timeout, 1);
	router_fail(r, 504, "upstream request timeout");
}

static void
router_on_downstream_writable(struct sy_filter *f)
{
	struct router_state *r = f->state;

	router_up_pause_read(r, false);
}

static void
router_destroy(struct sy_filter *f)
{
	struct router_state *r = f->state;
	struct sy_stream *s = f->stream;

	if (r->s == NULL)
		return;		/* decode_headers never ran */
	sy_timer_stop(s->loop, &r->timer);
	if (r->tunnel && s->upgrade_stats != UINT32_MAX)
		sy_stat_dec(s->upgrade_stats + SY_UPGRADE_active);
	if (r->tunnel)
		sy_hcm_stat_add(s->http, SY_HTTP_downstream_cx_upgrades_active, -1);
	router_upgrade_failed(r);
	if (r->counted_active)
		router_cluster_stat(r, SY_CLUSTER_upstream_rq_active, -1);
	router_drop_upstream(r, false);
	if (r->parser != NULL)
		sy_h1_parser_free(r->parser);
	sy_buf_release(&r->held);
	sy_buf_release(&r->scratch);
}

const struct sy_filter_type sy_filter_router = {
	.name = "router",
	.state_size = sizeof(struct router_state),
	.decode_headers = router_decode_headers,
	.decode_data = router_decode_data,
	.decode_trailers = router_decode_trailers,
	.on_downstream_writable = router_on_downstream_writable,
	.destroy = router_destroy,
};
