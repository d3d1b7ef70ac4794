/*
 * hcm.c - the HTTP connection manager: a stream's life above the codecs.
 * A codec session creates a stream per request and feeds it the
 * version-blind request; the manager picks the virtual host and route,
 * answers locally (direct_response, 404 when nothing matches) and sends
 * the response back through the session's sink.  It counts the request
 * stats and writes the access log line when the stream ends.  Proxying to
 * clusters (the router filter) plugs in here in a later stage; nothing
 * here knows the wire format.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "switchyard/conf.h"
#include "switchyard/hcm.h"
#include "switchyard/route.h"
#include "switchyard/stats.h"

void
sy_hcm_stat_inc(const struct sy_conf_http *http, unsigned stat)
{
	sy_stat_inc(http->stats_base + stat);
}

void
sy_hcm_stat_add(const struct sy_conf_http *http, unsigned stat, int64_t v)
{
	sy_stat_add(http->stats_base + stat, v);
}

int
sy_hcm_stream_init(struct sy_stream *s, const struct sy_conf_http *http,
    const struct sy_stream_sink *sink, void *sink_ctx, const struct sy_log_ctx *log,
    const char *protocol)
{
	memset(s, 0, sizeof(*s));
	sy_arena_init(&s->arena, 2048);
	sy_msg_init(&s->req, &s->arena);
	sy_msg_init(&s->resp, &s->arena);
	s->http = http;
	s->sink = sink;
	s->sink_ctx = sink_ctx;
	s->log = log;
	s->protocol = protocol;
	s->start_ms = sy_now_ms();
	sy_hcm_stat_inc(http, SY_HTTP_downstream_rq_total);
	sy_hcm_stat_inc(http, SY_HTTP_downstream_rq_active);
	return 0;
}

static bool
hcm_is_head(const struct sy_stream *s)
{
	const char *m = sy_msg_method(&s->req);

	return m != NULL && strcmp(m, "HEAD") == 0;
}

static bool
hcm_status_has_body(int status)
{
	return !(status < 200 || status == 204 || status == 304);
}

int
sy_hcm_local_reply(struct sy_stream *s, int status, const char *body, size_t body_len)
{
	char clen[32];
	bool body_allowed = hcm_status_has_body(status);
	bool send_body = body_allowed && body != NULL && body_len > 0 && !hcm_is_head(s);

	if (s->response_started)
		return -1;
	sy_msg_init(&s->resp, &s->arena);
	s->resp.status = status;
	s->resp.version = s->req.version;
	snprintf(clen, sizeof(clen), "%d", status);
	if (sy_headers_add_cstr(&s->resp.headers, ":status", clen) == -1)
		return -1;
	if (body_allowed) {
		snprintf(clen, sizeof(clen), "%zu", body != NULL ? body_len : 0);
		if (body != NULL && body_len > 0 &&
		    sy_headers_add_cstr(&s->resp.headers, "content-type", "text/plain") == -1)
			return -1;
		if (sy_headers_add_cstr(&s->resp.headers, "content-length", clen) == -1)
			return -1;
		s->resp.content_length = body != NULL ? (int64_t)body_len : 0;
	}
	s->status = status;
	s->response_started = true;
	/* Counted before the bytes leave: a client that saw the answer sees the count. */
	sy_hcm_stat_inc(s->http, SY_HTTP_downstream_rq_1xx + (unsigned)(status / 100 - 1));
	if (s->sink->send_head(s, &s->resp, !send_body) == -1)
		return -1;
	if (send_body && s->sink->send_data(s, body, body_len, true) == -1)
		return -1;
	s->response_done = true;
	return 0;
}

void
sy_hcm_on_request_head(struct sy_stream *s)
{
	const char *authority = sy_msg_authority(&s->req);
	static const char not_found[] = "no route\n";

	s->vhost = sy_route_vhost(s->http, authority);
	s->route = sy_route_match(s->vhost, &s->req);
	if (s->route == NULL) {
		sy_hcm_local_reply(s, 404, not_found, sizeof(not_found) - 1);
		return;
	}
	if (s->route->has_direct_response) {
		const struct sy_conf_direct_response *dr = &s->route->direct_response;

		sy_hcm_local_reply(s, dr->status, dr->body, dr->body_len);
		return;
	}
	/* Config validation guarantees every route has an action. */
	sy_log_conn(SY_LOG_ERROR, s->log, "route has no action");
	sy_hcm_local_reply(s, 500, NULL, 0);
}

void
sy_hcm_on_request_data(struct sy_stream *s, const void *p, size_t n)
{
	(void)p;
	s->bytes_in += n;
}

void
sy_hcm_on_request_end(struct sy_stream *s)
{
	s->request_done = true;
}

void
sy_hcm_count_tx(struct sy_stream *s, uint64_t n)
{
	s->bytes_out += n;
}

void
sy_hcm_stream_fini(struct sy_stream *s)
{
	struct sy_access_entry e;

	sy_stat_dec(s->http->stats_base + SY_HTTP_downstream_rq_active);
	if (s->status != 0) {
		memset(&e, 0, sizeof(e));
		e.peer = s->log ? s->log->peer : NULL;
		e.method = sy_msg_method(&s->req);
		e.path = sy_msg_path(&s->req);
		e.authority = sy_msg_authority(&s->req);
		e.protocol = s->protocol;
		e.status = s->status;
		e.bytes_in = s->bytes_in;
		e.bytes_out = s->bytes_out;
		e.duration_ms = sy_now_ms() - s->start_ms;
		e.upstream = "-";
		e.conn_id = s->log ? s->log->conn_id : 0;
		sy_access_log_write(&e);
	}
	sy_arena_fini(&s->arena);
}
