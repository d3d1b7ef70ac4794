/*
 * test_http.c - unit tests for src/http/headers.c: the version-blind
 * header list (order, lower-casing, pseudo-headers kept first, set and
 * remove, growth), message defaults, reason phrases and the hop-by-hop
 * list.  Table-driven where there is a table.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "switchyard/http.h"
#include "unit.h"

static struct sy_arena arena;
static struct sy_headers h;

static void
setup(void)
{
	sy_arena_init(&arena, 1024);
	sy_headers_init(&h, &arena);
}

static void
teardown(void)
{
	sy_arena_fini(&arena);
}

/* "name=value;" for every header, in order. */
static const char *
dump(const struct sy_headers *hs)
{
	static char out[8192];
	size_t off = 0;
	uint32_t i;

	out[0] = '\0';
	for (i = 0; i < hs->n; i++)
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s=%s;",
		    hs->v[i].name, hs->v[i].value);
	return out;
}

static uint64_t
sum_bytes(const struct sy_headers *hs)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < hs->n; i++) {
		ck_assert_uint_eq(strlen(hs->v[i].name), hs->v[i].name_len);
		ck_assert_uint_eq(strlen(hs->v[i].value), hs->v[i].value_len);
		n += hs->v[i].name_len + hs->v[i].value_len;
	}
	return n;
}

START_TEST(test_add_lowercases_and_copies)
{
	char name[] = "X-Forwarded-For", value[] = "10.0.0.1";

	ck_assert_int_eq(sy_headers_add(&h, name, strlen(name), value, strlen(value)), 0);
	/* The header holds copies: the caller's buffers may change. */
	name[0] = 'Y';
	value[0] = '9';
	ck_assert_uint_eq(h.n, 1);
	ck_assert_str_eq(h.v[0].name, "x-forwarded-for");
	ck_assert_str_eq(h.v[0].value, "10.0.0.1");
	ck_assert_uint_eq(h.bytes, strlen("x-forwarded-for") + strlen("10.0.0.1"));
	ck_assert_ptr_eq(h.arena, &arena);
}
END_TEST

START_TEST(test_add_spans_not_terminated)
{
	const char *buf = "Content-Typeapplication/jsonGARBAGE";

	ck_assert_int_eq(sy_headers_add(&h, buf, 12, buf + 12, 16), 0);
	ck_assert_str_eq(h.v[0].name, "content-type");
	ck_assert_str_eq(h.v[0].value, "application/json");
	ck_assert_int_eq(sy_headers_add(&h, "x-empty", 7, "", 0), 0);
	ck_assert_str_eq(sy_headers_value(&h, "x-empty"), "");
	ck_assert_uint_eq(h.bytes, sum_bytes(&h));
}
END_TEST

START_TEST(test_pseudo_headers_stay_first)
{
	ck_assert_int_eq(sy_headers_add_cstr(&h, "accept", "*/*"), 0);
	ck_assert_int_eq(sy_headers_add_cstr(&h, ":method", "GET"), 0);
	ck_assert_int_eq(sy_headers_add_cstr(&h, "user-agent", "t"), 0);
	ck_assert_int_eq(sy_headers_add_cstr(&h, ":scheme", "http"), 0);
	ck_assert_int_eq(sy_headers_add_cstr(&h, ":authority", "a.example"), 0);
	ck_assert_int_eq(sy_headers_add_cstr(&h, ":path", "/"), 0);
	ck_assert_str_eq(dump(&h),
	    ":method=GET;:scheme=http;:authority=a.example;:path=/;accept=*/*;user-agent=t;");
	ck_assert_uint_eq(h.bytes, sum_bytes(&h));
}
END_TEST

START_TEST(test_get_value_count)
{
	sy_headers_add_cstr(&h, ":status", "200");
	sy_headers_add_cstr(&h, "Set-Cookie", "a=1");
	sy_headers_add_cstr(&h, "set-cookie", "b=2");
	sy_headers_add_cstr(&h, "Vary", "accept");

	ck_assert_str_eq(sy_headers_value(&h, "set-cookie"), "a=1");
	ck_assert_str_eq(sy_headers_value(&h, "Set-Cookie"), "a=1");
	ck_assert_str_eq(sy_headers_get(&h, "vary")->value, "accept");
	ck_assert_uint_eq(sy_headers_get(&h, "vary")->value_len, 6);
	ck_assert_ptr_null(sy_headers_get(&h, "missing"));
	ck_assert_ptr_null(sy_headers_value(&h, "set-cooki"));
	ck_assert_ptr_null(sy_headers_value(&h, "set-cookies"));
	ck_assert_uint_eq(sy_headers_count(&h, "set-cookie"), 2);
	ck_assert_uint_eq(sy_headers_count(&h, "vary"), 1);
	ck_assert_uint_eq(sy_headers_count(&h, "nope"), 0);
	ck_assert_str_eq(sy_headers_value(&h, ":status"), "200");
}
END_TEST

START_TEST(test_set_replaces_first_and_drops_rest)
{
	sy_headers_add_cstr(&h, "a", "1");
	sy_headers_add_cstr(&h, "x", "old1");
	sy_headers_add_cstr(&h, "b", "2");
	sy_headers_add_cstr(&h, "X", "old2");
	sy_headers_add_cstr(&h, "c", "3");

	ck_assert_int_eq(sy_headers_set(&h, "x", "new"), 0);
	ck_assert_str_eq(dump(&h), "a=1;x=new;b=2;c=3;");
	ck_assert_uint_eq(h.bytes, sum_bytes(&h));

	/* Absent: appended, lower-cased. */
	ck_assert_int_eq(sy_headers_set(&h, "Via", "1.1 switchyard"), 0);
	ck_assert_str_eq(dump(&h), "a=1;x=new;b=2;c=3;via=1.1 switchyard;");
	/* An absent pseudo-header still lands among the pseudo-headers. */
	ck_assert_int_eq(sy_headers_set(&h, ":status", "101"), 0);
	ck_assert_str_eq(dump(&h), ":status=101;a=1;x=new;b=2;c=3;via=1.1 switchyard;");
	ck_assert_int_eq(sy_headers_set(&h, ":status", "200"), 0);
	ck_assert_str_eq(dump(&h), ":status=200;a=1;x=new;b=2;c=3;via=1.1 switchyard;");
	ck_assert_uint_eq(h.bytes, sum_bytes(&h));
}
END_TEST

START_TEST(test_remove)
{
	sy_headers_add_cstr(&h, "connection", "upgrade");
	sy_headers_add_cstr(&h, "a", "1");
	sy_headers_add_cstr(&h, "Connection", "keep-alive");
	sy_headers_add_cstr(&h, "b", "2");
	sy_headers_add_cstr(&h, "connection", "close");

	ck_assert_uint_eq(sy_headers_remove(&h, "CONNECTION"), 3);
	ck_assert_str_eq(dump(&h), "a=1;b=2;");
	ck_assert_uint_eq(h.bytes, sum_bytes(&h));
	ck_assert_uint_eq(sy_headers_remove(&h, "connection"), 0);
	ck_assert_uint_eq(sy_headers_remove(&h, "a"), 1);
	ck_assert_uint_eq(sy_headers_remove(&h, "b"), 1);
	ck_assert_uint_eq(h.n, 0);
	ck_assert_uint_eq(h.bytes, 0);
	/* Still usable after being emptied. */
	ck_assert_int_eq(sy_headers_add_cstr(&h, "c", "3"), 0);
	ck_assert_str_eq(dump(&h), "c=3;");
}
END_TEST

START_TEST(test_growth_keeps_order_and_strings)
{
	char name[32], value[32];
	const char *first;
	unsigned i;

	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "X-H%u", i);
		snprintf(value, sizeof(value), "v%u", i);
		ck_assert_int_eq(sy_headers_add_cstr(&h, name, value), 0);
		if (i == 0)
			first = h.v[0].value;
	}
	ck_assert_int_eq(sy_headers_add_cstr(&h, ":path", "/late"), 0);
	ck_assert_uint_eq(h.n, 301);
	ck_assert_uint_ge(h.cap, h.n);
	ck_assert_str_eq(h.v[0].name, ":path");
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "x-h%u", i);
		snprintf(value, sizeof(value), "v%u", i);
		ck_assert_str_eq(h.v[i + 1].name, name);
		ck_assert_str_eq(h.v[i + 1].value, value);
	}
	/* Strings never move when the array grows. */
	ck_assert_ptr_eq(h.v[1].value, first);
	ck_assert_uint_eq(h.bytes, sum_bytes(&h));
}
END_TEST

START_TEST(test_msg_init_and_accessors)
{
	struct sy_msg m;

	sy_msg_init(&m, &arena);
	ck_assert_uint_eq(m.headers.n, 0);
	ck_assert_ptr_eq(m.headers.arena, &arena);
	ck_assert_int_eq(m.version, SY_HTTP_11);
	ck_assert_int_eq(m.status, 0);
	ck_assert_int_eq(m.content_length, -1);
	ck_assert(!m.chunked);
	ck_assert(!m.upgrade);
	ck_assert(!m.has_body);
	ck_assert_ptr_null(sy_msg_method(&m));
	ck_assert_ptr_null(sy_msg_path(&m));
	ck_assert_ptr_null(sy_msg_authority(&m));
	sy_headers_add_cstr(&m.headers, "host", "ignored");
	sy_headers_add_cstr(&m.headers, ":path", "/x");
	sy_headers_add_cstr(&m.headers, ":authority", "a.example");
	sy_headers_add_cstr(&m.headers, ":method", "PUT");
	ck_assert_str_eq(sy_msg_method(&m), "PUT");
	ck_assert_str_eq(sy_msg_path(&m), "/x");
	ck_assert_str_eq(sy_msg_authority(&m), "a.example");
}
END_TEST

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{ 100, "Continue" }, { 101, "Switching Protocols" }, { 102, "Processing" },
	{ 103, "Early Hints" }, { 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
	{ 203, "Non-Authoritative Information" }, { 204, "No Content" },
	{ 205, "Reset Content" }, { 206, "Partial Content" }, { 207, "Multi-Status" },
	{ 208, "Already Reported" }, { 226, "IM Used" }, { 300, "Multiple Choices" },
	{ 301, "Moved Permanently" }, { 302, "Found" }, { 303, "See Other" },
	{ 304, "Not Modified" }, { 305, "Use Proxy" }, { 307, "Temporary Redirect" },
	{ 308, "Permanent Redirect" }, { 400, "Bad Request" }, { 401, "Unauthorized" },
	{ 402, "Payment Required" }, { 403, "Forbidden" }, { 404, "Not Found" },
	{ 405, "Method Not Allowed" }, { 406, "Not Acceptable" },
	{ 407, "Proxy Authentication Required" }, { 408, "Request Timeout" },
	{ 409, "Conflict" }, { 410, "Gone" }, { 411, "Length Required" },
	{ 412, "Precondition Failed" }, { 413, "Content Too Large" },
	{ 414, "URI Too Long" }, { 415, "Unsupported Media Type" },
	{ 416, "Range Not Satisfiable" }, { 417, "Expectation Failed" },
	{ 418, "I'm a teapot" }, { 421, "Misdirected Request" },
	{ 422, "Unprocessable Content" }, { 423, "Locked" }, { 424, "Failed Dependency" },
	{ 425, "Too Early" }, { 426, "Upgrade Required" }, { 428, "Precondition Required" },
	{ 429, "Too Many Requests" }, { 431, "Request Header Fields Too Large" },
	{ 451, "Unavailable For Legal Reasons" }, { 500, "Internal Server Error" },
	{ 501, "Not Implemented" }, { 502, "Bad Gateway" }, { 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
	{ 506, "Variant Also Negotiates" }, { 507, "Insufficient Storage" },
	{ 508, "Loop Detected" }, { 510, "Not Extended" },
	{ 511, "Network Authentication Required" },
	/* Not registered. */
	{ 0, "Unknown" }, { -1, "Unknown" }, { 99, "Unknown" }, { 199, "Unknown" },
	{ 299, "Unknown" }, { 306, "Unknown" }, { 419, "Unknown" }, { 499, "Unknown" },
	{ 509, "Unknown" }, { 599, "Unknown" }, { 600, "Unknown" }, { 1000, "Unknown" },
};

START_TEST(test_reason)
{
	ck_assert_str_eq(sy_http_reason(reasons[_i].status), reasons[_i].reason);
}
END_TEST

static const struct {
	const char *name;
	bool hop;
} hops[] = {
	{ "connection", true }, { "keep-alive", true }, { "proxy-connection", true },
	{ "transfer-encoding", true }, { "te", true }, { "trailer", true },
	{ "upgrade", true }, { "proxy-authenticate", true }, { "proxy-authorization", true },
	{ "Connection", true }, { "KEEP-ALIVE", true }, { "Transfer-Encoding", true },
	{ "TE", true }, { "Upgrade", true },
	{ "trailers", false }, { "content-length", false }, { "host", false },
	{ ":authority", false }, { "x-connection", false }, { "connectio", false },
	{ "tes", false }, { "", false }, { "authorization", false },
	{ "sec-websocket-key", false }, { "http2-settings", false },
};

START_TEST(test_hop_by_hop)
{
	ck_assert_msg(sy_http_is_hop_by_hop(hops[_i].name) == hops[_i].hop,
	    "%s: expected %d", hops[_i].name, hops[_i].hop);
}
END_TEST

START_TEST(test_hop_by_hop_null)
{
	ck_assert(!sy_http_is_hop_by_hop(NULL));
}
END_TEST

static Suite *
make_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("headers");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_add_lowercases_and_copies);
	tcase_add_test(tc, test_add_spans_not_terminated);
	tcase_add_test(tc, test_pseudo_headers_stay_first);
	tcase_add_test(tc, test_get_value_count);
	tcase_add_test(tc, test_set_replaces_first_and_drops_rest);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_growth_keeps_order_and_strings);
	tcase_add_test(tc, test_msg_init_and_accessors);
	suite_add_tcase(s, tc);

	tc = tcase_create("tables");
	tcase_add_loop_test(tc, test_reason, 0, (int)SY_ARRAY_LEN(reasons));
	tcase_add_loop_test(tc, test_hop_by_hop, 0, (int)SY_ARRAY_LEN(hops));
	tcase_add_test(tc, test_hop_by_hop_null);
	suite_add_tcase(s, tc);
	return s;
}

SY_UNIT_MAIN(make_suite)
