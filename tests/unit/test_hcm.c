/*
 * test_hcm.c - the HTTP connection manager of src/hcm/hcm.c, driven from
 * the codec boundary: a recording struct sy_stream_sink stands in for the
 * HTTP/1 or HTTP/2 session, so no sockets and no wire format are involved.
 * Covered: direct_response status, body, content-length and content-type;
 * 404 when no virtual host or no route matches; HEAD, 204 and 304 without
 * a body; a second local reply refused; the http.<prefix>.* request stats
 * in a real stats segment; and the access log line written at the end of
 * the stream.  Every test gets a fresh segment and a fresh temp access log
 * from the fixture.
 */
#include "config.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "switchyard/conf.h"
#include "switchyard/hcm.h"
#include "switchyard/http.h"
#include "switchyard/log.h"
#include "switchyard/stats.h"
#include "unit.h"

/* ---- configuration ------------------------------------------------------ */

#define ROUTE(match, dr) \
	"{ match = { " match " }; direct_response = { " dr " }; }"

static const char hcm_conf[] =
    "listeners = ( { name = \"l\"; address = \"127.0.0.1:8080\";\n"
    "  http = { stat_prefix = \"t\"; route_config = { virtual_hosts = (\n"
    "  { name = \"site\"; domains = [ \"site.example\" ]; routes = (\n"
    ROUTE("path = \"/hello\";", "status = 200; body = \"hello\\n\";") ",\n"
    ROUTE("path = \"/empty\";", "status = 200;") ",\n"
    ROUTE("path = \"/emptybody\";", "status = 200; body = \"\";") ",\n"
    ROUTE("path = \"/created\";", "status = 201; body = \"made\";") ",\n"
    ROUTE("path = \"/nocontent\";", "status = 204; body = \"ignored\";") ",\n"
    ROUTE("path = \"/notmod\";", "status = 304; body = \"ignored\";") ",\n"
    ROUTE("path = \"/moved\";", "status = 301; body = \"elsewhere\";") ",\n"
    ROUTE("path = \"/teapot\";", "status = 418; body = \"short and stout\";") ",\n"
    ROUTE("path = \"/down\";", "status = 503; body = \"down\\n\";") ",\n"
    ROUTE("prefix = \"/log\";", "status = 200; body = \"logged\";") "\n"
    "  ); } ); }; }; } );\n";

/* ---- fixture ------------------------------------------------------------ */

static struct sy_conf *conf;
static struct sy_conf_http *http;
static uint32_t base;
static int log_fd = -1;		/* our view of the access log, already unlinked */

static void
setup(void)
{
	struct sy_conf_errors errs;
	char path[64];

	ck_assert_int_eq(sy_stats_attach_new(256, 3), 0);
	base = sy_stats_register(SY_SCOPE_HTTP, "t");
	ck_assert_uint_ne(base, UINT32_MAX);
	/* A second scope, to see that nothing leaks into it. */
	ck_assert_uint_ne(sy_stats_register(SY_SCOPE_HTTP, "other"), UINT32_MAX);

	sy_conf_errors_init(&errs);
	conf = sy_conf_load_string(hcm_conf, "test.conf", &errs);
	if (conf == NULL)
		sy_conf_errors_print(&errs, stderr);
	sy_conf_errors_fini(&errs);
	ck_assert_ptr_nonnull(conf);
	http = &conf->listeners[0].http;
	http->stats_base = base;

	/* Unlinked at once, so a failing test (which skips teardown) leaves
	 * no file behind; both descriptors still reach it. */
	snprintf(path, sizeof(path), "/tmp/test_hcm_access.XXXXXX");
	log_fd = mkstemp(path);
	ck_assert_int_ge(log_fd, 0);
	ck_assert_int_eq(sy_access_log_open(path), 0);
	unlink(path);
}

static void
teardown(void)
{
	sy_access_log_close();
	close(log_fd);
	log_fd = -1;
	sy_conf_free(conf);
	conf = NULL;
	sy_stats_detach();
}

static int64_t
stat_http(unsigned stat)
{
	return sy_stats_read(base + stat);
}

/* ---- the recording sink -------------------------------------------------- */

#define REC_HDRS 16
#define REC_HEAD_BYTES 40	/* what the pretend codec "writes" for a head */

struct recorder {
	int nheads, ndata;
	int status;
	bool head_end, data_end;
	unsigned nhdrs;
	char hname[REC_HDRS][64];
	char hvalue[REC_HDRS][256];
	char body[4096];
	size_t body_len;
	bool fail_head;
};

static int
rec_send_head(struct sy_stream *s, struct sy_msg *resp, bool end_stream)
{
	struct recorder *rec = s->sink_ctx;
	uint32_t i;

	rec->nheads++;
	rec->status = resp->status;
	rec->head_end = end_stream;
	rec->nhdrs = 0;
	for (i = 0; i < resp->headers.n && i < REC_HDRS; i++) {
		snprintf(rec->hname[i], sizeof(rec->hname[i]), "%s", resp->headers.v[i].name);
		snprintf(rec->hvalue[i], sizeof(rec->hvalue[i]), "%s", resp->headers.v[i].value);
		rec->nhdrs++;
	}
	if (rec->fail_head)
		return -1;
	sy_hcm_count_tx(s, REC_HEAD_BYTES);
	return 0;
}

static int
rec_send_data(struct sy_stream *s, const void *p, size_t n, bool end_stream)
{
	struct recorder *rec = s->sink_ctx;

	ck_assert_msg(rec->nheads == 1, "data before the head");
	ck_assert_msg(!rec->head_end, "data after a head that ended the stream");
	ck_assert_msg(!rec->data_end, "data after the end of the stream");
	ck_assert_uint_le(rec->body_len + n, sizeof(rec->body));
	memcpy(rec->body + rec->body_len, p, n);
	rec->body_len += n;
	rec->ndata++;
	rec->data_end = end_stream;
	sy_hcm_count_tx(s, n);
	return 0;
}

static const struct sy_stream_sink rec_sink = {
	.send_head = rec_send_head,
	.send_data = rec_send_data,
};

static const char *
rec_header(const struct recorder *rec, const char *name)
{
	unsigned i;

	for (i = 0; i < rec->nhdrs; i++)
		if (strcmp(rec->hname[i], name) == 0)
			return rec->hvalue[i];
	return NULL;
}

static unsigned
rec_header_count(const struct recorder *rec, const char *name)
{
	unsigned i, n = 0;

	for (i = 0; i < rec->nhdrs; i++)
		n += strcmp(rec->hname[i], name) == 0;
	return n;
}

static const struct sy_log_ctx test_log = { .conn_id = 42, .peer = "127.0.0.1:5555" };

/* Start a stream with the request head in place (NULL parts are left out). */
static void
stream_start(struct sy_stream *s, struct recorder *rec, const char *method,
    const char *path, const char *authority)
{
	memset(rec, 0, sizeof(*rec));
	ck_assert_int_eq(sy_hcm_stream_init(s, http, &rec_sink, rec, &test_log, "HTTP/1.1"), 0);
	s->req.version = SY_HTTP_11;
	if (method != NULL)
		ck_assert_int_eq(sy_headers_add_cstr(&s->req.headers, ":method", method), 0);
	if (path != NULL)
		ck_assert_int_eq(sy_headers_add_cstr(&s->req.headers, ":path", path), 0);
	if (authority != NULL)
		ck_assert_int_eq(sy_headers_add_cstr(&s->req.headers, ":authority", authority), 0);
}

/* One whole request: head, end, response, end of stream. */
static void
run(struct recorder *rec, const char *method, const char *path, const char *authority)
{
	struct sy_stream s;

	stream_start(&s, rec, method, path, authority);
	sy_hcm_on_request_head(&s);
	sy_hcm_on_request_end(&s);
	sy_hcm_stream_fini(&s);
}

/* A head with a body: exactly one head and data, lengths agree. */
static void
check_with_body(const struct recorder *rec, int status, const char *body)
{
	char clen[32];

	ck_assert_int_eq(rec->nheads, 1);
	ck_assert_int_eq(rec->status, status);
	snprintf(clen, sizeof(clen), "%d", status);
	ck_assert_uint_ge(rec->nhdrs, 1);
	ck_assert_str_eq(rec->hname[0], ":status");
	ck_assert_str_eq(rec->hvalue[0], clen);
	ck_assert_msg(!rec->head_end, "head ended the stream before the body");
	ck_assert(rec->ndata >= 1);
	ck_assert(rec->data_end);
	if (body != NULL) {
		ck_assert_uint_eq(rec->body_len, strlen(body));
		ck_assert(memcmp(rec->body, body, rec->body_len) == 0);
	}
	snprintf(clen, sizeof(clen), "%zu", rec->body_len);
	ck_assert_uint_eq(rec_header_count(rec, "content-length"), 1);
	ck_assert_str_eq(rec_header(rec, "content-length"), clen);
	ck_assert_uint_eq(rec_header_count(rec, "content-type"), 1);
	ck_assert_str_eq(rec_header(rec, "content-type"), "text/plain");
}

/* A head that ends the stream, with no data. */
static void
check_no_body(const struct recorder *rec, int status)
{
	ck_assert_int_eq(rec->nheads, 1);
	ck_assert_int_eq(rec->status, status);
	ck_assert_str_eq(rec->hname[0], ":status");
	ck_assert_msg(rec->head_end, "a bodiless response must end the stream with its head");
	ck_assert_int_eq(rec->ndata, 0);
	ck_assert_uint_eq(rec->body_len, 0);
}

/* ---- direct_response ---------------------------------------------------- */

START_TEST(test_direct_response_body)
{
	struct sy_stream s;
	struct recorder rec;

	stream_start(&s, &rec, "GET", "/hello", "site.example");
	sy_hcm_on_request_head(&s);
	check_with_body(&rec, 200, "hello\n");
	ck_assert_int_eq(rec.ndata, 1);
	ck_assert_int_eq(s.status, 200);
	ck_assert(s.response_started);
	ck_assert(s.response_done);
	ck_assert_ptr_nonnull(s.vhost);
	ck_assert_str_eq(s.vhost->name, "site");
	ck_assert_ptr_eq(s.route, &s.vhost->routes[0]);
	ck_assert_int_eq(s.resp.status, 200);
	ck_assert_int_eq(s.resp.content_length, 6);
	ck_assert_str_eq(sy_headers_value(&s.resp.headers, ":status"), "200");
	ck_assert_uint_eq(s.bytes_out, REC_HEAD_BYTES + 6);
	sy_hcm_on_request_end(&s);
	ck_assert(s.request_done);
	sy_hcm_stream_fini(&s);
}
END_TEST

static const struct {
	const char *path;
	int status;
	const char *body;
} body_cases[] = {
	{ "/hello", 200, "hello\n" },
	{ "/hello?x=1", 200, "hello\n" },
	{ "/created", 201, "made" },
	{ "/moved", 301, "elsewhere" },
	{ "/teapot", 418, "short and stout" },
	{ "/down", 503, "down\n" },
	{ "/log/x", 200, "logged" },
};

START_TEST(test_direct_response_statuses)
{
	struct recorder rec;

	run(&rec, "GET", body_cases[_i].path, "site.example");
	check_with_body(&rec, body_cases[_i].status, body_cases[_i].body);
	/* POST gets the same answer. */
	run(&rec, "POST", body_cases[_i].path, "SITE.example:8080");
	check_with_body(&rec, body_cases[_i].status, body_cases[_i].body);
}
END_TEST

START_TEST(test_direct_response_empty)
{
	static const char *const paths[] = { "/empty", "/emptybody" };
	struct recorder rec;
	unsigned i;

	for (i = 0; i < SY_ARRAY_LEN(paths); i++) {
		run(&rec, "GET", paths[i], "site.example");
		check_no_body(&rec, 200);
		ck_assert_uint_eq(rec_header_count(&rec, "content-length"), 1);
		ck_assert_str_eq(rec_header(&rec, "content-length"), "0");
		ck_assert_ptr_null(rec_header(&rec, "content-type"));
	}
}
END_TEST

/* 204 and 304 carry neither a body nor the headers that describe one. */
START_TEST(test_direct_response_bodiless_status)
{
	static const struct { const char *path; int status; } cases[] = {
		{ "/nocontent", 204 }, { "/notmod", 304 },
	};
	struct recorder rec;
	unsigned i;

	for (i = 0; i < SY_ARRAY_LEN(cases); i++) {
		run(&rec, "GET", cases[i].path, "site.example");
		check_no_body(&rec, cases[i].status);
		ck_assert_msg(rec_header(&rec, "content-length") == NULL,
		    "%d with content-length %s", cases[i].status, rec_header(&rec, "content-length"));
		ck_assert_ptr_null(rec_header(&rec, "content-type"));
	}
}
END_TEST

/* HEAD: the GET's headers, content-length included, but no body. */
START_TEST(test_head)
{
	struct sy_stream s;
	struct recorder rec;

	stream_start(&s, &rec, "HEAD", "/hello", "site.example");
	sy_hcm_on_request_head(&s);
	check_no_body(&rec, 200);
	ck_assert_str_eq(rec_header(&rec, "content-length"), "6");
	ck_assert_str_eq(rec_header(&rec, "content-type"), "text/plain");
	ck_assert(s.response_done);
	ck_assert_uint_eq(s.bytes_out, REC_HEAD_BYTES);
	sy_hcm_stream_fini(&s);

	/* A local 404 to a HEAD has no body either. */
	run(&rec, "HEAD", "/missing", "site.example");
	check_no_body(&rec, 404);
	run(&rec, "HEAD", "/hello", "nowhere.example");
	check_no_body(&rec, 404);
	run(&rec, "HEAD", "/nocontent", "site.example");
	check_no_body(&rec, 204);
}
END_TEST

/* ---- 404 ---------------------------------------------------------------- */

START_TEST(test_404_no_route)
{
	struct sy_stream s;
	struct recorder rec;

	stream_start(&s, &rec, "GET", "/missing", "site.example");
	sy_hcm_on_request_head(&s);
	check_with_body(&rec, 404, NULL);
	ck_assert_uint_gt(rec.body_len, 0);
	ck_assert_ptr_nonnull(s.vhost);
	ck_assert_ptr_null(s.route);
	ck_assert_int_eq(s.status, 404);
	sy_hcm_stream_fini(&s);

	/* The query is not part of the path: "/hello?" would match. */
	run(&rec, "GET", "/hellox?y", "site.example");
	check_with_body(&rec, 404, NULL);
	/* No :path at all. */
	run(&rec, "GET", NULL, "site.example");
	check_with_body(&rec, 404, NULL);
}
END_TEST

START_TEST(test_404_no_vhost)
{
	struct sy_stream s;
	struct recorder rec;

	stream_start(&s, &rec, "GET", "/hello", "other.example");
	sy_hcm_on_request_head(&s);
	check_with_body(&rec, 404, NULL);
	ck_assert_ptr_null(s.vhost);
	ck_assert_ptr_null(s.route);
	sy_hcm_stream_fini(&s);

	/* No :authority (an HTTP/1.0 request without Host). */
	stream_start(&s, &rec, "GET", "/hello", NULL);
	s.req.version = SY_HTTP_10;
	sy_hcm_on_request_head(&s);
	check_with_body(&rec, 404, NULL);
	ck_assert_ptr_null(s.vhost);
	ck_assert_int_eq(s.resp.version, SY_HTTP_10);
	sy_hcm_stream_fini(&s);
}
END_TEST

/* ---- local replies ------------------------------------------------------ */

START_TEST(test_local_reply_after_start)
{
	struct sy_stream s;
	struct recorder rec;

	/* After a routed response. */
	stream_start(&s, &rec, "GET", "/hello", "site.example");
	sy_hcm_on_request_head(&s);
	ck_assert_int_eq(sy_hcm_local_reply(&s, 500, "oops\n", 5), -1);
	ck_assert_int_eq(rec.nheads, 1);
	ck_assert_int_eq(rec.ndata, 1);
	ck_assert_int_eq(s.status, 200);
	ck_assert_int_eq(s.resp.status, 200);
	sy_hcm_stream_fini(&s);

	/* After a local one, before any routing. */
	stream_start(&s, &rec, "GET", "/hello", "site.example");
	ck_assert_int_eq(sy_hcm_local_reply(&s, 400, "bad\n", 4), 0);
	check_with_body(&rec, 400, "bad\n");
	ck_assert_int_eq(sy_hcm_local_reply(&s, 431, NULL, 0), -1);
	ck_assert_int_eq(sy_hcm_local_reply(&s, 400, "bad\n", 4), -1);
	ck_assert_int_eq(rec.nheads, 1);
	ck_assert_int_eq(s.status, 400);
	sy_hcm_stream_fini(&s);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_4xx), 1);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_2xx), 1);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_5xx), 0);
}
END_TEST

START_TEST(test_local_reply_no_body)
{
	struct sy_stream s;
	struct recorder rec;

	stream_start(&s, &rec, "GET", "/", "site.example");
	ck_assert_int_eq(sy_hcm_local_reply(&s, 500, NULL, 0), 0);
	check_no_body(&rec, 500);
	ck_assert_str_eq(rec_header(&rec, "content-length"), "0");
	ck_assert_ptr_null(rec_header(&rec, "content-type"));
	sy_hcm_stream_fini(&s);
}
END_TEST

START_TEST(test_local_reply_sink_fails)
{
	struct sy_stream s;
	struct recorder rec;

	stream_start(&s, &rec, "GET", "/", "site.example");
	rec.fail_head = true;
	ck_assert_int_eq(sy_hcm_local_reply(&s, 502, "x", 1), -1);
	ck_assert_int_eq(rec.nheads, 1);
	ck_assert_int_eq(rec.ndata, 0);
	ck_assert(!s.response_done);
	sy_hcm_stream_fini(&s);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_active), 0);
}
END_TEST

/* ---- stats -------------------------------------------------------------- */

START_TEST(test_stats)
{
	struct sy_stream s[3];
	struct recorder rec[3];
	uint32_t other = sy_stats_register(SY_SCOPE_HTTP, "other");
	unsigned i;

	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_total), 0);
	stream_start(&s[0], &rec[0], "GET", "/hello", "site.example");
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_total), 1);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_active), 1);
	stream_start(&s[1], &rec[1], "GET", "/missing", "site.example");
	stream_start(&s[2], &rec[2], "GET", "/down", "site.example");
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_total), 3);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_active), 3);
	for (i = 0; i < 3; i++)
		sy_hcm_on_request_head(&s[i]);
	/* Response classes are counted when the head is sent. */
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_2xx), 1);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_4xx), 1);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_5xx), 1);

	sy_hcm_stream_fini(&s[0]);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_active), 2);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_2xx), 1);
	sy_hcm_stream_fini(&s[1]);
	sy_hcm_stream_fini(&s[2]);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_total), 3);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_active), 0);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_1xx), 0);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_2xx), 1);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_3xx), 0);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_4xx), 1);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_5xx), 1);

	run(&rec[0], "GET", "/moved", "site.example");
	run(&rec[0], "HEAD", "/nocontent", "site.example");
	run(&rec[0], "GET", "/x", "nowhere.example");
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_total), 6);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_2xx), 2);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_3xx), 1);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_4xx), 2);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_active), 0);

	/* A stream that ends before any response counts no class. */
	stream_start(&s[0], &rec[0], "GET", "/hello", "site.example");
	sy_hcm_stream_fini(&s[0]);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_total), 7);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_active), 0);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_2xx) + stat_http(SY_HTTP_downstream_rq_3xx) +
	    stat_http(SY_HTTP_downstream_rq_4xx) + stat_http(SY_HTTP_downstream_rq_5xx), 6);

	/* Only request stats moved, and only in this scope. */
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_cx_total), 0);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_rq_header_timeout), 0);
	for (i = 0; i < SY_STAT_HTTP__N; i++)
		ck_assert_int_eq(sy_stats_read(other + i), 0);
	/* The helpers the codecs use address the same scope. */
	sy_hcm_stat_inc(http, SY_HTTP_downstream_cx_total);
	sy_hcm_stat_add(http, SY_HTTP_downstream_cx_rx_bytes_total, 123);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_cx_total), 1);
	ck_assert_int_eq(stat_http(SY_HTTP_downstream_cx_rx_bytes_total), 123);
	ck_assert_int_eq(sy_stats_read(sy_stats_find("http.t.downstream_rq_total")), 7);
}
END_TEST

/* ---- access log --------------------------------------------------------- */

static char *
log_read(size_t *len)
{
	static char buf[16384];
	ssize_t n;

	n = pread(log_fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static unsigned
count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* Match line against an anchored ERE; capture up to 8 groups as strings. */
static void
log_match(const char *line, const char *pattern, char groups[][64], unsigned ngroups)
{
	regex_t re;
	regmatch_t m[9];
	unsigned i;
	int rc;

	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED), 0);
	rc = regexec(&re, line, SY_ARRAY_LEN(m), m, 0);
	regfree(&re);
	ck_assert_msg(rc == 0, "access log line\n  %s\ndoes not match\n  %s", line, pattern);
	for (i = 0; i < ngroups && i + 1 < SY_ARRAY_LEN(m); i++) {
		int n = (int)(m[i + 1].rm_eo - m[i + 1].rm_so);

		ck_assert_int_lt(n, 64);
		memcpy(groups[i], line + m[i + 1].rm_so, (size_t)n);
		groups[i][n] = '\0';
	}
}

#define TS_RE "([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})\\.[0-9]{3}Z"

START_TEST(test_access_log_line)
{
	struct sy_stream s;
	struct recorder rec;
	char g[4][64], *log;
	struct tm tm;
	size_t len;
	time_t t;

	sy_time_update();
	stream_start(&s, &rec, "GET", "/log/a?q=1", "site.example");
	sy_hcm_on_request_head(&s);
	sy_hcm_on_request_data(&s, "hello", 5);
	sy_hcm_on_request_data(&s, "!!", 2);
	sy_hcm_on_request_end(&s);
	ck_assert_uint_eq(s.bytes_in, 7);
	/* Nothing is logged before the stream ends. */
	log = log_read(&len);
	ck_assert_uint_eq(len, 0);
	sy_hcm_stream_fini(&s);

	log = log_read(&len);
	ck_assert_uint_eq(count_lines(log), 1);
	ck_assert(len > 0 && log[len - 1] == '\n');
	log[len - 1] = '\0';
	/* TIME PEER "METHOD PATH PROTO" STATUS BYTES_IN BYTES_OUT DURATION_MS
	 * "AUTHORITY" "UPSTREAM" CONN_ID REQUEST_ID */
	log_match(log,
	    "^" TS_RE " 127\\.0\\.0\\.1:5555 \"GET /log/a\\?q=1 HTTP/1\\.1\" 200 7 ([0-9]+) ([0-9]+) "
	    "\"site\\.example\" \"-\" 42 (-|[!-~]+)$", g, 4);
	ck_assert_int_eq(atoi(g[1]), REC_HEAD_BYTES + 6);
	ck_assert_int_ge(atoi(g[2]), 0);
	ck_assert_int_lt(atoi(g[2]), 60000);
	/* The timestamp is UTC and now. */
	memset(&tm, 0, sizeof(tm));
	ck_assert_ptr_nonnull(strptime(g[0], "%Y-%m-%dT%H:%M:%S", &tm));
	t = timegm(&tm);
	ck_assert_int_lt(llabs((long long)(time(NULL) - t)), 120);
}
END_TEST

START_TEST(test_access_log_404_and_head)
{
	char g[4][64], *log, *nl;
	struct recorder rec;
	size_t len;

	run(&rec, "GET", "/nope", "nowhere.example:81");
	run(&rec, "HEAD", "/hello", "site.example");
	log = log_read(&len);
	ck_assert_uint_eq(count_lines(log), 2);
	nl = strchr(log, '\n');
	*nl = '\0';
	log_match(log, "^" TS_RE " 127\\.0\\.0\\.1:5555 \"GET /nope HTTP/1\\.1\" 404 0 ([0-9]+) [0-9]+ "
	    "\"nowhere\\.example:81\" \"-\" 42 [^ ]+$", g, 2);
	ck_assert_int_gt(atoi(g[1]), REC_HEAD_BYTES);
	log = nl + 1;
	log[strlen(log) - 1] = '\0';
	log_match(log, "^" TS_RE " 127\\.0\\.0\\.1:5555 \"HEAD /hello HTTP/1\\.1\" 200 0 ([0-9]+) [0-9]+ "
	    "\"site\\.example\" \"-\" 42 [^ ]+$", g, 2);
	ck_assert_int_eq(atoi(g[1]), REC_HEAD_BYTES);
}
END_TEST

/* Quotes and control bytes cannot break the line; absent fields are "-". */
START_TEST(test_access_log_escaping)
{
	struct sy_stream s;
	struct recorder rec;
	char *log;
	size_t len;

	memset(&rec, 0, sizeof(rec));
	ck_assert_int_eq(sy_hcm_stream_init(&s, http, &rec_sink, &rec, NULL, "HTTP/2"), 0);
	ck_assert_int_eq(sy_headers_add_cstr(&s.req.headers, ":method", "GET"), 0);
	ck_assert_int_eq(sy_headers_add_cstr(&s.req.headers, ":path", "/a\"b c\\d\ne"), 0);
	ck_assert_int_eq(sy_headers_add_cstr(&s.req.headers, ":authority", "evil\"host"), 0);
	sy_hcm_on_request_head(&s);
	sy_hcm_stream_fini(&s);
	log = log_read(&len);
	ck_assert_uint_eq(count_lines(log), 1);
	log[len - 1] = '\0';
	log_match(log, "^" TS_RE " - \"GET /a\\\\x22b c\\\\x5Cd\\\\x0Ae HTTP/2\" 404 0 [0-9]+ [0-9]+ "
	    "\"evil\\\\x22host\" \"-\" 0 [^ ]+$", NULL, 0);
}
END_TEST

START_TEST(test_access_log_no_response)
{
	struct sy_stream s;
	struct recorder rec;
	size_t len;

	/* A stream that ends without a response (client went away). */
	stream_start(&s, &rec, "GET", "/hello", "site.example");
	sy_hcm_stream_fini(&s);
	log_read(&len);
	ck_assert_uint_eq(len, 0);

	/* With the access log off, nothing is written anywhere. */
	ck_assert_int_eq(sy_access_log_open(NULL), 0);
	run(&rec, "GET", "/hello", "site.example");
	log_read(&len);
	ck_assert_uint_eq(len, 0);
}
END_TEST


/*
 * A tunnel drops its heads (sy_hcm_stream_compact): the access log still
 * has method, path, authority and request id, the heads keep their flags
 * and are empty, and the arena holds only what was kept.
 */
START_TEST(test_compact_keeps_log_fields)
{
	struct sy_stream s;
	struct recorder rec;
	char *log;
	size_t len, before;

	sy_time_update();
	stream_start(&s, &rec, "GET", "/ws/chat?room=1", "chat.example:8080");
	sy_hcm_on_request_head(&s);
	s.req.has_body = false;
	s.req.upgrade = true;
	s.request_id = sy_arena_strdup(&s.arena, "0123-request-id");
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(sy_headers_add_cstr(&s.req.headers, "x-filler",
		    "a value that takes room in the arena of the stream"), 0);
	before = s.arena.total;
	sy_hcm_stream_compact(&s);
	ck_assert(s.compacted);
	ck_assert_uint_eq(s.req.headers.n, 0);
	ck_assert_uint_eq(s.resp.headers.n, 0);
	ck_assert(s.req.upgrade);
	ck_assert_int_eq(s.req.version, SY_HTTP_11);
	ck_assert_str_eq(s.log_method, "GET");
	ck_assert_str_eq(s.log_path, "/ws/chat?room=1");
	ck_assert_str_eq(s.log_authority, "chat.example:8080");
	ck_assert_str_eq(s.request_id, "0123-request-id");
	ck_assert_uint_lt(s.arena.total, 64);
	ck_assert_uint_gt(before, 1000);
	/* A second call changes nothing; the arena still serves. */
	sy_hcm_stream_compact(&s);
	ck_assert_str_eq(s.log_path, "/ws/chat?room=1");
	ck_assert_int_eq(sy_headers_add_cstr(&s.req.trailers, "x-late", "1"), 0);
	sy_hcm_stream_fini(&s);
	log = log_read(&len);
	ck_assert_uint_eq(count_lines(log), 1);
	log[len - 1] = '\0';
	log_match(log, "^" TS_RE " 127\\.0\\.0\\.1:5555 \"GET /ws/chat\\?room=1 HTTP/1\\.1\" [0-9]+ "
	    "[0-9]+ [0-9]+ [0-9]+ \"chat\\.example:8080\" \"-\" 42 0123-request-id$", NULL, 0);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite *s = suite_create("hcm");
	TCase *dr = tcase_create("direct_response");
	TCase *lr = tcase_create("local_reply");
	TCase *st = tcase_create("stats");
	TCase *al = tcase_create("access_log");

	tcase_add_checked_fixture(dr, setup, teardown);
	tcase_add_test(dr, test_direct_response_body);
	tcase_add_loop_test(dr, test_direct_response_statuses, 0, (int)SY_ARRAY_LEN(body_cases));
	tcase_add_test(dr, test_direct_response_empty);
	tcase_add_test(dr, test_direct_response_bodiless_status);
	tcase_add_test(dr, test_head);
	tcase_add_test(dr, test_404_no_route);
	tcase_add_test(dr, test_404_no_vhost);
	suite_add_tcase(s, dr);

	tcase_add_checked_fixture(lr, setup, teardown);
	tcase_add_test(lr, test_local_reply_after_start);
	tcase_add_test(lr, test_local_reply_no_body);
	tcase_add_test(lr, test_local_reply_sink_fails);
	suite_add_tcase(s, lr);

	tcase_add_checked_fixture(st, setup, teardown);
	tcase_add_test(st, test_stats);
	suite_add_tcase(s, st);

	tcase_add_checked_fixture(al, setup, teardown);
	tcase_add_test(al, test_access_log_line);
	tcase_add_test(al, test_access_log_404_and_head);
	tcase_add_test(al, test_access_log_escaping);
	tcase_add_test(al, test_access_log_no_response);
	tcase_add_test(al, test_compact_keeps_log_fields);
	suite_add_tcase(s, al);
	return s;
}

SY_UNIT_MAIN(make_suite)
