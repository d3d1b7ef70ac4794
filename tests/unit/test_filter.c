/*
 * test_filter.c - the filter chain: decode runs first to last, encode
 * last to first and then reaches the codec sink; STOP holds, *_next
 * resumes after the stopping filter; a local reply ends decoding; the
 * buffer filter holds a body and answers 413 past its limit; the
 * header_mutation filter edits both directions.
 */
#include <stdio.h>
#include <string.h>

#include "switchyard/conf.h"
#include "switchyard/filter.h"
#include "switchyard/hcm.h"
#include "switchyard/stats.h"
#include "unit.h"

static char trace[512];

static void
note(const char *what)
{
	strncat(trace, what, sizeof(trace) - strlen(trace) - 1);
	strncat(trace, " ", sizeof(trace) - strlen(trace) - 1);
}

/* A recording sink: the codec side. */
static int sent_status;
static size_t sent_bytes;
static bool sent_end;

static int
rec_head(struct sy_stream *s, struct sy_msg *m, bool end)
{
	sent_status = m->status;
	sent_end = end;
	note("sink:head");
	return 0;
}

static int
rec_data(struct sy_stream *s, const void *p, size_t n, bool end)
{
	sent_bytes += n;
	sent_end = end;
	note("sink:data");
	return 0;
}

static void rec_pause(struct sy_stream *s, bool p) { }
static size_t rec_pending(struct sy_stream *s) { return 0; }
static void rec_tunnel(struct sy_stream *s) { }
static void rec_reset(struct sy_stream *s) { note("sink:reset"); }
static void rec_kick(struct sy_stream *s) { }

static int
rec_trailers(struct sy_stream *s, const struct sy_headers *t)
{
	note("sink:trailers");
	return 0;
}

static const struct sy_stream_sink rec_sink = {
	.send_head = rec_head,
	.send_data = rec_data,
	.send_trailers = rec_trailers,
	.pause_read = rec_pause,
	.out_pending = rec_pending,
	.start_tunnel = rec_tunnel,
	.reset = rec_reset,
	.kick = rec_kick,
};

/* Test filters named by their state: "a" continues, "s" stops once. */
struct tf_state {
	char name[8];
	bool stop_headers;
	bool stop_data;
};

static enum sy_filter_status
tf_decode_headers(struct sy_filter *f, struct sy_msg *m, bool end)
{
	struct tf_state *st = f->state;
	char b[32];

	snprintf(b, sizeof(b), "%s:dh", st->name);
	note(b);
	return st->stop_headers ? SY_FILTER_STOP : SY_FILTER_CONTINUE;
}

static enum sy_filter_status
tf_decode_data(struct sy_filter *f, struct sy_buf *d, bool end)
{
	struct tf_state *st = f->state;
	char b[32];

	snprintf(b, sizeof(b), "%s:dd%zu", st->name, sy_buf_len(d));
	note(b);
	return st->stop_data ? SY_FILTER_STOP : SY_FILTER_CONTINUE;
}

static enum sy_filter_status
tf_encode_headers(struct sy_filter *f, struct sy_msg *m, bool end)
{
	struct tf_state *st = f->state;
	char b[32];

	snprintf(b, sizeof(b), "%s:eh", st->name);
	note(b);
	return st->stop_headers ? SY_FILTER_STOP : SY_FILTER_CONTINUE;
}

static const struct sy_filter_type tf_type = {
	.name = "test",
	.decode_headers = tf_decode_headers,
	.decode_data = tf_decode_data,
	.encode_headers = tf_encode_headers,
};

static struct sy_conf_http http_conf;
static struct tf_state states[4];
static struct sy_filter filters[4];

static void
setup_stream(struct sy_stream *s, unsigned n)
{
	unsigned i;

	trace[0] = '\0';
	sent_status = 0;
	sent_bytes = 0;
	sent_end = false;
	memset(&http_conf, 0, sizeof(http_conf));
	http_conf.stats_base = sy_stats_register(SY_SCOPE_HTTP, "t");
	sy_hcm_stream_init(s, &http_conf, &rec_sink, NULL, NULL, "HTTP/1.1");
	sy_headers_add_cstr(&s->req.headers, ":method", "POST");
	for (i = 0; i < n; i++) {
		memset(&states[i], 0, sizeof(states[i]));
		snprintf(states[i].name, sizeof(states[i].name), "%c", 'a' + i);
		filters[i].type = &tf_type;
		filters[i].state = &states[i];
		filters[i].stream = s;
		filters[i].index = i;
	}
	s->filters = filters;
	s->nfilters = n;
}

static void
finish_stream(struct sy_stream *s)
{
	/* The test filters are static, not the chain's own allocation. */
	s->nfilters = 0;
	s->filters = NULL;
	sy_hcm_stream_fini(s);
}

START_TEST(test_decode_order)
{
	struct sy_stream s;
	struct sy_buf d = { 0 };

	setup_stream(&s, 3);
	sy_filter_decode_headers(&s, &s.req, false);
	sy_buf_append(&d, "xyz", 3);
	sy_filter_decode_data(&s, &d, true);
	ck_assert_str_eq(trace, "a:dh b:dh c:dh a:dd3 b:dd3 c:dd3 ");
	sy_buf_release(&d);
	finish_stream(&s);
}
END_TEST

START_TEST(test_encode_order_reaches_sink)
{
	struct sy_stream s;
	struct sy_msg resp;

	setup_stream(&s, 3);
	sy_msg_init(&resp, &s.arena);
	resp.status = 200;
	/* The last filter (the router's place) produces: encoding starts before it. */
	sy_filter_encode_headers(&s, &resp, true);
	ck_assert_str_eq(trace, "b:eh a:eh sink:head ");
	ck_assert_int_eq(sent_status, 200);
	ck_assert(sent_end);
	ck_assert(s.response_done);
	finish_stream(&s);
}
END_TEST

START_TEST(test_stop_and_resume)
{
	struct sy_stream s;

	setup_stream(&s, 3);
	states[1].stop_headers = true;
	sy_filter_decode_headers(&s, &s.req, true);
	ck_assert_str_eq(trace, "a:dh b:dh ");
	/* b resumes: only c sees the head again. */
	states[1].stop_headers = false;
	sy_filter_decode_headers_next(&filters[1], &s.req, true);
	ck_assert_str_eq(trace, "a:dh b:dh c:dh ");
	finish_stream(&s);
}
END_TEST

START_TEST(test_encode_stop_holds_sink)
{
	struct sy_stream s;
	struct sy_msg resp;

	setup_stream(&s, 3);
	sy_msg_init(&resp, &s.arena);
	resp.status = 204;
	states[0].stop_headers = true;
	sy_filter_encode_headers(&s, &resp, true);
	ck_assert_str_eq(trace, "b:eh a:eh ");
	ck_assert_int_eq(sent_status, 0);
	states[0].stop_headers = false;
	sy_filter_encode_headers_next(&filters[0], &resp, true);
	ck_assert_str_eq(trace, "b:eh a:eh sink:head ");
	finish_stream(&s);
}
END_TEST

START_TEST(test_local_reply_ends_decoding)
{
	struct sy_stream s;
	struct sy_buf d = { 0 };

	setup_stream(&s, 3);
	sy_hcm_local_reply(&s, 403, "no\n", 3);
	trace[0] = '\0';
	sy_filter_decode_headers(&s, &s.req, false);
	sy_buf_append(&d, "x", 1);
	sy_filter_decode_data(&s, &d, true);
	ck_assert_str_eq(trace, "");
	sy_buf_release(&d);
	finish_stream(&s);
}
END_TEST

/* ---- the real filters -------------------------------------------------- */

static struct sy_conf_filter buffer_conf;

START_TEST(test_buffer_holds_then_passes)
{
	struct sy_stream s;
	struct sy_buf d = { 0 };

	setup_stream(&s, 2);
	memset(&buffer_conf, 0, sizeof(buffer_conf));
	buffer_conf.name = "buffer";
	buffer_conf.max_request_bytes = 10;
	filters[0].type = &sy_filter_buffer;
	filters[0].conf = &buffer_conf;
	filters[0].state = sy_arena_calloc(&s.arena, sy_filter_buffer.state_size);
	s.req.content_length = -1;
	sy_filter_decode_headers(&s, &s.req, false);
	ck_assert_str_eq(trace, "");		/* held */
	sy_buf_append(&d, "12345", 5);
	sy_filter_decode_data(&s, &d, false);
	ck_assert_str_eq(trace, "");
	sy_buf_append(&d, "678", 3);
	sy_filter_decode_data(&s, &d, true);
	/* Head, then the whole body at once. */
	ck_assert_str_eq(trace, "b:dh b:dd8 ");
	sy_buf_release(&d);
	finish_stream(&s);
}
END_TEST

START_TEST(test_buffer_413)
{
	struct sy_stream s;
	struct sy_buf d = { 0 };

	setup_stream(&s, 2);
	memset(&buffer_conf, 0, sizeof(buffer_conf));
	buffer_conf.name = "buffer";
	buffer_conf.max_request_bytes = 4;
	filters[0].type = &sy_filter_buffer;
	filters[0].conf = &buffer_conf;
	filters[0].state = sy_arena_calloc(&s.arena, sy_filter_buffer.state_size);
	s.req.content_length = -1;
	sy_filter_decode_headers(&s, &s.req, false);
	sy_buf_append(&d, "12345", 5);
	sy_filter_decode_data(&s, &d, false);
	ck_assert_int_eq(sent_status, 413);
	ck_assert(s.want_close);
	ck_assert_int_eq(sy_stats_read(http_conf.stats_base + SY_HTTP_downstream_rq_too_large), 1);
	ck_assert(strstr(trace, "b:") == NULL);	/* nothing reached the next filter */
	sy_buf_release(&d);
	finish_stream(&s);
}
END_TEST

START_TEST(test_buffer_known_length_413_at_once)
{
	struct sy_stream s;

	setup_stream(&s, 2);
	memset(&buffer_conf, 0, sizeof(buffer_conf));
	buffer_conf.name = "buffer";
	buffer_conf.max_request_bytes = 1024;
	filters[0].type = &sy_filter_buffer;
	filters[0].conf = &buffer_conf;
	filters[0].state = sy_arena_calloc(&s.arena, sy_filter_buffer.state_size);
	s.req.content_length = 2048;
	sy_filter_decode_headers(&s, &s.req, false);
	ck_assert_int_eq(sent_status, 413);
	finish_stream(&s);
}
END_TEST

START_TEST(test_buffer_ignores_upgrades)
{
	struct sy_stream s;

	setup_stream(&s, 2);
	memset(&buffer_conf, 0, sizeof(buffer_conf));
	buffer_conf.name = "buffer";
	buffer_conf.max_request_bytes = 4;
	filters[0].type = &sy_filter_buffer;
	filters[0].conf = &buffer_conf;
	filters[0].state = sy_arena_calloc(&s.arena, sy_filter_buffer.state_size);
	s.upgrade = true;
	sy_filter_decode_headers(&s, &s.req, false);
	ck_assert_str_eq(trace, "b:dh ");
	finish_stream(&s);
}
END_TEST

START_TEST(test_header_mutation)
{
	struct sy_stream s;
	struct sy_conf_filter c;
	struct sy_conf_header_value add[2] = {
		{ 0, "x-set", "new", false },
		{ 0, "x-add", "two", true },
	};
	char *rm[] = { "x-gone" };
	struct sy_msg resp;

	setup_stream(&s, 2);
	memset(&c, 0, sizeof(c));
	c.name = "header_mutation";
	c.request_headers_to_add = add;
	c.nrequest_headers_to_add = 2;
	c.request_headers_to_remove = rm;
	c.nrequest_headers_to_remove = 1;
	c.response_headers_to_add = add;
	c.nresponse_headers_to_add = 1;
	c.response_headers_to_remove = rm;
	c.nresponse_headers_to_remove = 1;
	filters[0].type = &sy_filter_header_mutation;
	filters[0].conf = &c;
	sy_headers_add_cstr(&s.req.headers, "x-set", "old");
	sy_headers_add_cstr(&s.req.headers, "x-set", "older");
	sy_headers_add_cstr(&s.req.headers, "x-add", "one");
	sy_headers_add_cstr(&s.req.headers, "x-gone", "bye");
	sy_filter_decode_headers(&s, &s.req, true);
	ck_assert_uint_eq(sy_headers_count(&s.req.headers, "x-set"), 1);
	ck_assert_str_eq(sy_headers_value(&s.req.headers, "x-set"), "new");
	ck_assert_uint_eq(sy_headers_count(&s.req.headers, "x-add"), 2);
	ck_assert_ptr_null(sy_headers_get(&s.req.headers, "x-gone"));
	ck_assert_str_eq(sy_headers_value(&s.req.headers, ":method"), "POST");

	sy_msg_init(&resp, &s.arena);
	resp.status = 200;
	sy_headers_add_cstr(&resp.headers, "x-gone", "bye");
	/* filter 0 encodes last, right before the sink */
	sy_filter_encode_headers(&s, &resp, true);
	ck_assert_ptr_null(sy_headers_get(&resp.headers, "x-gone"));
	ck_assert_str_eq(sy_headers_value(&resp.headers, "x-set"), "new");
	finish_stream(&s);
}
END_TEST

static enum sy_filter_status
tf_decode_trailers(struct sy_filter *f, struct sy_headers *t)
{
	struct tf_state *st = f->state;
	char b[32];

	snprintf(b, sizeof(b), "%s:dt%u", st->name, t->n);
	note(b);
	return SY_FILTER_CONTINUE;
}

static const struct sy_filter_type tf_trailer_type = {
	.name = "test",
	.decode_headers = tf_decode_headers,
	.decode_data = tf_decode_data,
	.decode_trailers = tf_decode_trailers,
};

START_TEST(test_trailers_both_ways)
{
	struct sy_stream s;
	struct sy_headers t;

	setup_stream(&s, 3);
	filters[1].type = &tf_trailer_type;
	filters[2].type = &tf_trailer_type;
	sy_headers_init(&t, &s.arena);
	sy_headers_add_cstr(&t, "grpc-status", "0");
	sy_filter_decode_trailers(&s, &t);
	ck_assert_str_eq(trace, "b:dt1 c:dt1 ");
	trace[0] = '\0';
	/* Encoding trailers reaches the sink and ends the response. */
	sy_filter_encode_trailers(&s, &t);
	ck_assert_str_eq(trace, "sink:trailers ");
	ck_assert(s.response_done);
	finish_stream(&s);
}
END_TEST

START_TEST(test_buffer_passes_trailers_after_body)
{
	struct sy_stream s;
	struct sy_buf d = { 0 };
	struct sy_headers t;

	setup_stream(&s, 2);
	memset(&buffer_conf, 0, sizeof(buffer_conf));
	buffer_conf.name = "buffer";
	buffer_conf.max_request_bytes = 10;
	filters[0].type = &sy_filter_buffer;
	filters[0].conf = &buffer_conf;
	filters[0].state = sy_arena_calloc(&s.arena, sy_filter_buffer.state_size);
	filters[1].type = &tf_trailer_type;
	s.req.content_length = -1;
	sy_filter_decode_headers(&s, &s.req, false);
	sy_buf_append(&d, "abc", 3);
	sy_filter_decode_data(&s, &d, false);
	sy_headers_init(&t, &s.arena);
	sy_headers_add_cstr(&t, "x-sum", "1");
	sy_filter_decode_trailers(&s, &t);
	ck_assert_str_eq(trace, "b:dh b:dd3 b:dt1 ");
	sy_buf_release(&d);
	finish_stream(&s);
}
END_TEST

START_TEST(test_registry)
{
	ck_assert_ptr_eq(sy_filter_type_find("router"), &sy_filter_router);
	ck_assert_ptr_eq(sy_filter_type_find("buffer"), &sy_filter_buffer);
	ck_assert_ptr_eq(sy_filter_type_find("header_mutation"), &sy_filter_header_mutation);
	ck_assert_ptr_null(sy_filter_type_find("nope"));
}
END_TEST

static Suite *
make_suite(void)
{
	Suite *s = suite_create("filter");
	TCase *tc = tcase_create("chain");

	sy_stats_attach_new(1024, 4);
	tcase_add_test(tc, test_decode_order);
	tcase_add_test(tc, test_encode_order_reaches_sink);
	tcase_add_test(tc, test_stop_and_resume);
	tcase_add_test(tc, test_encode_stop_holds_sink);
	tcase_add_test(tc, test_local_reply_ends_decoding);
	tcase_add_test(tc, test_buffer_holds_then_passes);
	tcase_add_test(tc, test_buffer_413);
	tcase_add_test(tc, test_buffer_known_length_413_at_once);
	tcase_add_test(tc, test_buffer_ignores_upgrades);
	tcase_add_test(tc, test_header_mutation);
	tcase_add_test(tc, test_trailers_both_ways);
	tcase_add_test(tc, test_buffer_passes_trailers_after_body);
	tcase_add_test(tc, test_registry);
	suite_add_tcase(s, tc);
	return s;
}

SY_UNIT_MAIN(make_suite)
