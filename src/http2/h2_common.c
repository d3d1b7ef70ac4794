/*
 * h2_common.c - pieces both HTTP/2 sessions use: nghttp2 options and our
 * SETTINGS from http2_protocol_options, the flood accounting that the
 * Debian 12 nghttp2 (1.52) does not do itself, and the translation between
 * struct sy_msg and nghttp2 name/value pairs.  nghttp2's own HTTP
 * messaging checks stay on (never no_http_messaging): they reject
 * malformed pseudo-headers, connection-specific fields and CR/LF/NUL in
 * values before anything here sees them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "h2_int.h"

int
sy_h2_preface_match(const void *p, size_t n)
{
	size_t k = SY_MIN(n, (size_t)SY_H2_PREFACE_LEN);

	if (memcmp(p, SY_H2_PREFACE, k) != 0)
		return 0;
	return k == SY_H2_PREFACE_LEN ? 1 : -1;
}

const char *
sy_h2_library_version(void)
{
	nghttp2_info *info = nghttp2_version(0);

	return info != NULL ? info->version_str : "?";
}

/* ---- hardening --------------------------------------------------------- */

void
sy_h2_guard_init(struct sy_h2_guard *g, uint32_t stats_h2)
{
	memset(g, 0, sizeof(*g));
	g->stats_h2 = stats_h2;
	g->reset_tokens = SY_H2_RESET_BURST;
	g->reset_refill_ms = sy_now_ms();
	g->control_window_ms = sy_now_ms();
}

void
sy_h2_guard_stat(const struct sy_h2_guard *g, unsigned stat, int64_t v)
{
	if (g->stats_h2 != UINT32_MAX)
		sy_stat_add(g->stats_h2 + stat, v);
}

static uint32_t
guard_trip(struct sy_h2_guard *g, unsigned stat)
{
	if (g->goaway_code == 0) {
		g->goaway_code = NGHTTP2_ENHANCE_YOUR_CALM;
		sy_h2_guard_stat(g, stat, 1);
	}
	return g->goaway_code;
}

uint32_t
sy_h2_guard_frame(struct sy_h2_guard *g, const nghttp2_frame_hd *hd)
{
	int64_t now;

	if (g->goaway_code != 0)
		return g->goaway_code;
	switch (hd->type) {
	case NGHTTP2_DATA:
		if (hd->length == 0 && !(hd->flags & NGHTTP2_FLAG_END_STREAM)) {
			if (++g->empty_data_run > SY_H2_EMPTY_FRAMES_MAX)
				return guard_trip(g, SY_H2_inbound_empty_frames_flood);
		} else {
			g->empty_data_run = 0;
		}
		break;
	case NGHTTP2_HEADERS:
		g->streams_opened++;
		break;
	case NGHTTP2_PRIORITY:
		if (++g->priority_frames > SY_H2_PRIORITY_PER_STREAM * (1 + g->streams_opened))
			return guard_trip(g, SY_H2_inbound_priority_frames_flood);
		break;
	case NGHTTP2_WINDOW_UPDATE:
		/* Envoy's rule: a few per stream and per DATA frame we sent. */
		if (++g->window_update_frames > 100 + 2 * g->streams_opened + 10 * g->data_frames_sent)
			return guard_trip(g, SY_H2_inbound_window_update_frames_flood);
		break;
	case NGHTTP2_SETTINGS:
	case NGHTTP2_PING:
		now = sy_now_ms();
		if (now - g->control_window_ms >= 1000) {
			g->control_window_ms = now;
			g->control_frames = 0;
		}
		if (++g->control_frames > SY_H2_CONTROL_PER_SEC)
			return guard_trip(g, SY_H2_inbound_control_frames_flood);
		break;
	default:
		break;
	}
	return 0;
}

uint32_t
sy_h2_guard_reset(struct sy_h2_guard *g)
{
	int64_t now = sy_now_ms();

	if (g->goaway_code != 0)
		return g->goaway_code;
	g->reset_tokens += (double)(now - g->reset_refill_ms) * SY_H2_RESET_RATE / 1000.0;
	if (g->reset_tokens > SY_H2_RESET_BURST)
		g->reset_tokens = SY_H2_RESET_BURST;
	g->reset_refill_ms = now;
	if (g->reset_tokens < 1.0)
		return guard_trip(g, SY_H2_reset_flood);
	g->reset_tokens -= 1.0;
	return 0;
}

/* ---- options ----------------------------------------------------------- */

nghttp2_option *
sy_h2_option_new(const struct sy_conf_http2 *o, bool server)
{
	nghttp2_option *opt;

	if (nghttp2_option_new(&opt) != 0)
		return NULL;
	/* Back-pressure: we say when bytes are consumed. */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_max_send_header_block_length(opt, 256 * 1024);
	/* PING/SETTINGS ACKs queued for a peer that does not read. */
	nghttp2_option_set_max_outbound_ack(opt, 1000);
	nghttp2_option_set_max_settings(opt, 32);
	nghttp2_option_set_max_continuations(opt, SY_H2_MAX_CONTINUATIONS);
	if (server) {
		/* Rapid reset (CVE-2023-44487), explicitly. */
		nghttp2_option_set_stream_reset_rate_limit(opt, SY_H2_RESET_BURST, SY_H2_RESET_RATE);
	} else {
		nghttp2_option_set_peer_max_concurrent_streams(opt, o->max_concurrent_streams);
	}
	return opt;
}

size_t
sy_h2_settings(const struct sy_conf_http2 *o, bool server, nghttp2_settings_entry *iv)
{
	size_t n = 0;

	iv[n].settings_id = NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS;
	iv[n++].value = o->max_concurrent_streams;
	iv[n].settings_id = NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE;
	iv[n++].value = o->initial_stream_window_size;
	iv[n].settings_id = NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE;
	iv[n++].value = o->max_header_list_kb * 1024;
	if (server) {
		iv[n].settings_id = NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL;
		iv[n++].value = o->allow_connect ? 1 : 0;
	} else {
		iv[n].settings_id = NGHTTP2_SETTINGS_ENABLE_PUSH;
		iv[n++].value = 0;
	}
	return n;
}

/* ---- messages ---------------------------------------------------------- */

/* Fields that HTTP/2 forbids (RFC 9113 8.2.2), and Host (folded). */
static bool
h2_skip_field(const struct sy_msg *m, const struct sy_header *h, bool request)
{
	const struct sy_header *conn;
	uint32_t i;

	if (h->name[0] == ':')
		return true;	/* written first, separately */
	if (sy_http_is_hop_by_hop(h->name) && strcmp(h->name, "te") != 0)
		return true;
	if (strcmp(h->name, "transfer-encoding") == 0 || strcmp(h->name, "upgrade") == 0)
		return true;
	if (strcmp(h->name, "te") == 0)
		return !request || !sy_strieq(h->value, "trailers");
	if (request && strcmp(h->name, "host") == 0)
		return true;
	/* Every Connection field counts, not only the first. */
	for (i = 0; i < m->headers.n; i++) {
		conn = &m->headers.v[i];
		if (strcmp(conn->name, "connection") == 0 &&
		    sy_token_list_has(conn->value, conn->value_len, h->name))
			return true;
	}
	return false;
}

static void
h2_nv(nghttp2_nv *nv, const char *name, size_t nlen, const char *value, size_t vlen)
{
	nv->name = (uint8_t *)(uintptr_t)name;
	nv->namelen = nlen;
	nv->value = (uint8_t *)(uintptr_t)value;
	nv->valuelen = vlen;
	/*
	 * nghttp2 copies them at submit time: frames go out at the end of the
	 * loop iteration, and a tunnel may drop the stream's arena before.
	 */
	nv->flags = NGHTTP2_NV_FLAG_NONE;
}

nghttp2_nv *
sy_h2_nv_from_msg(const struct sy_msg *m, bool request, struct sy_arena *arena, size_t *n)
{
	static const char *const req_pseudo[] = { ":method", ":scheme", ":authority", ":path",
	    ":protocol", NULL };
	nghttp2_nv *nv;
	size_t k = 0;
	uint32_t i;
	const struct sy_header *h;

	if ((nv = sy_arena_alloc(arena, (m->headers.n + 6) * sizeof(*nv))) == NULL)
		return NULL;
	if (request) {
		const char *method = sy_msg_method(m);
		bool connect = method != NULL && strcmp(method, "CONNECT") == 0;
		bool extended = connect && sy_headers_get(&m->headers, ":protocol") != NULL;
		unsigned p;

		for (p = 0; req_pseudo[p] != NULL; p++) {
			/* A plain CONNECT carries only :method and :authority. */
			if (connect && !extended && (p == 1 || p == 3))
				continue;
			h = sy_headers_get(&m->headers, req_pseudo[p]);
			if (h == NULL && p == 2)
				h = sy_headers_get(&m->headers, "host");
			if (h == NULL && p == 1) {
				h2_nv(&nv[k++], ":scheme", 7, "http", 4);
				continue;
			}
			if (h != NULL)
				h2_nv(&nv[k++], req_pseudo[p], strlen(req_pseudo[p]), h->value, h->value_len);
		}
	} else {
		char *st = sy_arena_printf(arena, "%d", m->status);

		if (st == NULL)
			return NULL;
		h2_nv(&nv[k++], ":status", 7, st, strlen(st));
	}
	for (i = 0; i < m->headers.n; i++) {
		h = &m->headers.v[i];
		if (h2_skip_field(m, h, request))
			continue;
		h2_nv(&nv[k++], h->name, h->name_len, h->value, h->value_len);
	}
	*n = k;
	return nv;
}

nghttp2_nv *
sy_h2_nv_from_trailers(const struct sy_headers *t, struct sy_arena *arena, size_t *n)
{
	nghttp2_nv *nv;
	size_t k = 0;
	uint32_t i;

	if ((nv = sy_arena_alloc(arena, (t->n + 1) * sizeof(*nv))) == NULL)
		return NULL;
	for (i = 0; i < t->n; i++) {
		const struct sy_header *h = &t->v[i];

		if (h->name[0] == ':' || sy_http_is_hop_by_hop(h->name) ||
		    strcmp(h->name, "transfer-encoding") == 0)
			continue;
		h2_nv(&nv[k++], h->name, h->name_len, h->value, h->value_len);
	}
	*n = k;
	return nv;
}

static int64_t
h2_content_length(const struct sy_msg *m)
{
	const char *v = sy_headers_value(&m->headers, "content-length");
	char *end;
	long long n;

	if (v == NULL || *v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return n;
}

int
sy_h2_request_finish(struct sy_msg *m, bool end_stream, const char **why)
{
	const struct sy_header *auth = sy_headers_get(&m->headers, ":authority");
	const struct sy_header *host = sy_headers_get(&m->headers, "host");
	uint32_t i, ncookies = 0;

	m->version = SY_HTTP_2;
	m->keep_alive = true;
	m->chunked = false;
	m->upgrade = false;
	if (sy_headers_count(&m->headers, "host") > 1) {
		*why = "more than one host header";
		return -1;
	}
	if (auth != NULL && host != NULL) {
		if (auth->value_len != host->value_len ||
		    strncasecmp(auth->value, host->value, auth->value_len) != 0) {
			*why = ":authority and host differ";
			return -1;
		}
		sy_headers_remove(&m->headers, "host");
	} else if (host != NULL) {
		/* Host alone stands for :authority; it goes among the pseudo-headers. */
		struct sy_headers nh;
		char *v = host->value;
		size_t vl = host->value_len;

		sy_headers_init(&nh, m->headers.arena);
		for (i = 0; i < m->headers.n && m->headers.v[i].name[0] == ':'; i++)
			if (sy_headers_add(&nh, m->headers.v[i].name, m->headers.v[i].name_len,
			    m->headers.v[i].value, m->headers.v[i].value_len) == -1)
				goto nomem;
		if (sy_headers_add(&nh, ":authority", 10, v, vl) == -1)
			goto nomem;
		for (; i < m->headers.n; i++)
			if (strcmp(m->headers.v[i].name, "host") != 0 &&
			    sy_headers_add(&nh, m->headers.v[i].name, m->headers.v[i].name_len,
			    m->headers.v[i].value, m->headers.v[i].value_len) == -1)
				goto nomem;
		m->headers = nh;
	}
	/* Cookie crumbs (RFC 9113 8.2.3) become one field for HTTP/1.1. */
	ncookies = sy_headers_count(&m->headers, "cookie");
	if (ncookies > 1) {
		struct sy_buf b = { 0 };
		char *joined;

		for (i = 0; i < m->headers.n; i++) {
			const struct sy_header *h = &m->headers.v[i];

			if (strcmp(h->name, "cookie") != 0)
				continue;
			if ((sy_buf_len(&b) > 0 && sy_buf_append(&b, "; ", 2) == -1) ||
			    sy_buf_append(&b, h->value, h->value_len) == -1) {
				sy_buf_release(&b);
				goto nomem;
			}
		}
		joined = sy_arena_strndup(m->headers.arena, sy_buf_rpos(&b), sy_buf_len(&b));
		sy_buf_release(&b);
		if (joined == NULL || sy_headers_set(&m->headers, "cookie", joined) == -1)
			goto nomem;
	}
	m->content_length = h2_content_length(m);
	if (sy_headers_get(&m->headers, "content-length") != NULL && m->content_length < 0) {
		*why = "invalid content-length";
		return -1;
	}
	m->has_body = !end_stream;
	return 0;
nomem:
	*why = "out of memory";
	return -1;
}

int
sy_h2_response_finish(struct sy_msg *m, bool end_stream)
{
	const char *st = sy_headers_value(&m->headers, ":status");

	m->version = SY_HTTP_2;
	m->keep_alive = true;
	m->chunked = false;
	m->upgrade = false;
	/* Three digits, 100-599 (RFC 9110 15), as the HTTP/1 parser demands. */
	if (st == NULL || strlen(st) != 3 || st[0] < '1' || st[0] > '5' ||
	    st[1] < '0' || st[1] > '9' || st[2] < '0' || st[2] > '9')
		return -1;
	m->status = atoi(st);
	m->content_length = h2_content_length(m);
	m->has_body = !end_stream;
	return 0;
}
