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

#include <stdlib.h>

#include "switchyard/conf.h"
#include "switchyard/filter.h"
#include "switchyard/hcm.h"
#include "switchyard/route.h"
#include "switchyard/stats.h"
#include "switchyard/upgrade.h"

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
	s->upgrade_stats = UINT32_MAX;
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
	s->local_reply = true;
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
	if (s->sink->kick != NULL)
		s->sink->kick(s);
	return 0;
}

/* x-request-id: kept when the client sent a sane one, else a random UUID. */
static void
hcm_request_id(struct sy_stream *s)
{
	const char *id = sy_headers_value(&s->req.headers, "x-request-id");
	static const char hex[] = "0123456789abcdef";
	unsigned char r[16];
	char *out, *w;
	unsigned i;
	long v = 0;

	if (id != NULL && id[0] != '\0' && strlen(id) <= 128) {
		s->request_id = id;
		return;
	}
	for (i = 0; i < sizeof(r); i++) {
		if (i % 3 == 0)
			v = random();
		r[i] = (unsigned char)(v >> (8 * (i % 3)));
	}
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);	/* version 4 */
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	/* 8-4-4-4-12 hex digits; printf costs a sixth of a handshake here. */
	if ((out = w = sy_arena_alloc(&s->arena, 37)) == NULL)
		return;
	for (i = 0; i < sizeof(r); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*w++ = '-';
		*w++ = hex[r[i] >> 4];
		*w++ = hex[r[i] & 15];
	}
	*w = '\0';
	s->request_id = out;
}

static uint32_t
hcm_upgrade_stats(const struct sy_stream *s, const char *type)
{
	char name[SY_STATS_NAME_MAX], lower[64];
	size_t i;

	for (i = 0; type[i] != '\0' && i < sizeof(lower) - 1; i++)
		lower[i] = (char)((type[i] >= 'A' && type[i] <= 'Z') ? type[i] + 32 : type[i]);
	lower[i] = '\0';
	snprintf(name, sizeof(name), "http.%s.upgrades.%s.total", s->http->stat_prefix, lower);
	return sy_stats_find(name);
}

/* Proxy to the route's cluster through the filter chain. */
static void
hcm_route_to_cluster(struct sy_stream *s)
{
	const struct sy_conf_route_action *act = &s->route->route;
	const struct sy_conf_filter *chain = s->http->http_filters;
	unsigned nchain = s->http->nhttp_filters;
	struct sy_upgrade_req up;
	bool asked = s->req.upgrade;	/* before the analysis rewrites it */

	if (sy_upgrade_analyze_request(&s->req, s->http->upgrade_configs, s->http->nupgrade_configs,
	    act->upgrade_configs, act->nupgrade_configs, &up) == -1) {
		sy_hcm_local_reply(s, 500, NULL, 0);
		return;
	}
	switch (up.outcome) {
	case SY_UPGRADE_REJECTED: {
		static const char msg[] = "upgrade not allowed on this route\n";

		sy_hcm_stat_inc(s->http, SY_HTTP_downstream_rq_ws_on_non_ws_route);
		s->want_close = true;
		sy_hcm_local_reply(s, 403, msg, sizeof(msg) - 1);
		return;
	}
	case SY_UPGRADE_INVALID: {
		char msg[128];
		int n = snprintf(msg, sizeof(msg), "%s\n", up.why ? up.why : "invalid upgrade request");

		s->want_close = true;
		sy_hcm_local_reply(s, 400, msg, (size_t)SY_MIN(n, (int)sizeof(msg) - 1));
		return;
	}
	case SY_UPGRADE_ACCEPTED:
		s->upgrade = true;
		s->upgrade_type = up.tokens[0].text;
		/* Stats go by the configured type that allowed it ("foo" for "foo/2"). */
		s->upgrade_stats = hcm_upgrade_stats(s, up.tokens[0].conf_type != NULL ?
		    up.tokens[0].conf_type : up.tokens[0].text);
		if (up.chain != NULL) {
			chain = up.chain->filters;
			nchain = up.chain->nfilters;
		}
		break;
	default:
		/* Only h2c was offered: HTTP/1.1 carries on (RFC 9113 3.2 ignored). */
		if (asked)
			s->upgrade_ignored = true;
		break;
	}
	hcm_request_id(s);
	if (sy_filter_chain_build(s, chain, nchain) == -1) {
		sy_log_conn(SY_LOG_ERROR, s->log, "cannot build the filter chain: out of memory");
		s->want_close = true;
		sy_hcm_local_reply(s, 500, NULL, 0);
		return;
	}
	sy_filter_decode_headers(s, &s->req, !s->req.has_body);
}

void
sy_hcm_send_headers(struct sy_stream *s, struct sy_msg *resp, bool end_stream)
{
	if (s->response_started)
		return;
	s->response_started = true;
	s->status = resp->status;
	if (s->status >= 100 && s->status < 600)
		sy_hcm_stat_inc(s->http, SY_HTTP_downstream_rq_1xx + (unsigned)(s->status / 100 - 1));
	if (end_stream)
		s->response_done = true;
	if (s->sink->send_head(s, resp, end_stream) == -1)
		s->sink->reset(s);
	else if (end_stream && s->sink->kick != NULL)
		s->sink->kick(s);
}

void
sy_hcm_send_data(struct sy_stream *s, struct sy_buf *data, bool end_stream)
{
	size_t n = sy_buf_len(data);

	if (end_stream && !s->tunnel)
		s->response_done = true;
	if (s->sink->send_data(s, n ? sy_buf_rpos(data) : NULL, n, end_stream) == -1) {
		s->sink->reset(s);
		return;
	}
	sy_buf_consume(data, n);
	if (end_stream && !s->tunnel && s->sink->kick != NULL)
		s->sink->kick(s);
}

void
sy_hcm_send_trailers(struct sy_stream *s, struct sy_headers *t)
{
	s->response_done = true;
	if (s->sink->send_trailers(s, t) == -1) {
		s->sink->reset(s);
		return;
	}
	if (s->sink->kick != NULL)
		s->sink->kick(s);
}

void
sy_hcm_on_tunnel_data(struct sy_stream *s, const void *p, size_t n)
{
	/* Tunnel payload takes the request body's path through the chain. */
	sy_hcm_on_request_data(s, p, n);
}

void
sy_hcm_on_tunnel_eof(struct sy_stream *s)
{
	if (s->nfilters == 0 || s->local_reply)
		return;
	sy_filter_decode_data(s, &s->scratch, true);
	sy_buf_release_if_empty(&s->scratch);
}

void
sy_hcm_on_downstream_writable(struct sy_stream *s)
{
	if (s->nfilters > 0)
		sy_filter_downstream_writable(s);
}

void
sy_hcm_tunnel_done(struct sy_stream *s)
{
	s->request_done = true;
	s->response_done = true;
	s->want_close = true;
	s->sink->kick(s);
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
	if (s->route->has_route) {
		hcm_route_to_cluster(s);
		return;
	}
	/* Config validation guarantees every route has an action. */
	sy_log_conn(SY_LOG_ERROR, s->log, "route has no action");
	sy_hcm_local_reply(s, 500, NULL, 0);
}

void
sy_hcm_on_request_data(struct sy_stream *s, const void *p, size_t n)
{
	s->bytes_in += n;
	if (s->nfilters == 0 || s->local_reply)
		return;		/* answered locally: the body is read and dropped */
	if (sy_buf_append(&s->scratch, p, n) == -1) {
		s->sink->reset(s);
		return;
	}
	sy_filter_decode_data(s, &s->scratch, false);
	sy_buf_release_if_empty(&s->scratch);
}

void
sy_hcm_on_request_end(struct sy_stream *s)
{
	s->request_done = true;
	if (s->nfilters == 0 || s->local_reply || !s->req.has_body)
		return;
	if (s->req.trailers.n > 0) {
		/* The body ended; its trailer fields end the request. */
		if (sy_buf_len(&s->scratch) > 0)
			sy_filter_decode_data(s, &s->scratch, false);
		sy_buf_release_if_empty(&s->scratch);
		sy_filter_decode_trailers(s, &s->req.trailers);
		return;
	}
	sy_filter_decode_data(s, &s->scratch, true);
	sy_buf_release_if_empty(&s->scratch);
}

static const char *
hcm_keep(struct sy_arena *a, const char *v)
{
	return v != NULL ? sy_arena_strdup(a, v) : NULL;
}

void
sy_hcm_stream_compact(struct sy_stream *s)
{
	struct sy_arena keep;
	const char *method, *path, *authority, *rid, *utype;
	struct sy_msg req = s->req, resp = s->resp;
	size_t need;

	if (s->compacted)
		return;
	method = sy_msg_method(&s->req);
	path = sy_msg_path(&s->req);
	authority = sy_msg_authority(&s->req);
	rid = s->request_id;
	utype = s->upgrade_type;
	/* Each string rounded up as the arena aligns it. */
#define HCM_KEEP_SIZE(v) ((v) != NULL ? (strlen(v) + 1 + 15) & ~(size_t)15 : 0)
	need = HCM_KEEP_SIZE(method) + HCM_KEEP_SIZE(path) + HCM_KEEP_SIZE(authority) +
	    HCM_KEEP_SIZE(rid) + HCM_KEEP_SIZE(utype);
#undef HCM_KEEP_SIZE
	if (need == 0)
		need = 16;
	/* One chunk of exactly what is kept. */
	sy_arena_init(&keep, need);
	s->log_method = hcm_keep(&keep, method);
	s->log_path = hcm_keep(&keep, path);
	s->log_authority = hcm_keep(&keep, authority);
	s->request_id = hcm_keep(&keep, rid);
	s->upgrade_type = hcm_keep(&keep, utype);
	sy_arena_fini(&s->arena);
	s->arena = keep;
	/* The heads keep their flags (version, has_body...) but no fields. */
	s->req = req;
	s->resp = resp;
	sy_headers_init(&s->req.headers, &s->arena);
	sy_headers_init(&s->req.trailers, &s->arena);
	sy_headers_init(&s->resp.headers, &s->arena);
	sy_headers_init(&s->resp.trailers, &s->arena);
	s->compacted = true;
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
		e.method = s->compacted ? s->log_method : sy_msg_method(&s->req);
		e.path = s->compacted ? s->log_path : sy_msg_path(&s->req);
		e.authority = s->compacted ? s->log_authority : sy_msg_authority(&s->req);
		e.protocol = s->protocol;
		e.status = s->status;
		e.bytes_in = s->bytes_in;
		e.bytes_out = s->bytes_out;
		e.duration_ms = sy_now_ms() - s->start_ms;
		e.upstream = s->upstream_label ? s->upstream_label : "-";
		e.conn_id = s->log ? s->log->conn_id : 0;
		e.request_id = s->request_id;
		sy_access_log_write(&e);
	}
	sy_filter_chain_destroy(s);
	sy_buf_release(&s->scratch);
	sy_arena_fini(&s->arena);
}
