/*
 * test_upgrade.c - unit tests for src/upgrade/: the listener/route
 * decision table (every row, with and without custom chains, case and
 * version matching), the analysis of upgrade requests (token lists, h2c,
 * HTTP/1.0, Connection variants), hop-by-hop stripping, the RFC 6455
 * helpers, the response check table, and the HTTP/1.1 <-> HTTP/2
 * transformations including the two-hop round trips of the seed.
 * Table-driven where there is a table.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "switchyard/upgrade.h"
#include "unit.h"
#include "unit_msg.h"

static struct sy_arena arena;

static void
setup(void)
{
	sy_arena_init(&arena, 4096);
}

static void
teardown(void)
{
	sy_arena_fini(&arena);
}

static struct sy_msg *
msg(int version, const char *lines)
{
	struct sy_msg *m = unit_msg(&arena, lines);

	m->version = version;
	return m;
}

static const char *
dump(const struct sy_msg *m)
{
	return unit_headers_dump(&m->headers);
}

static void
check_bytes(const struct sy_msg *m)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < m->headers.n; i++) {
		ck_assert_uint_eq(strlen(m->headers.v[i].name), m->headers.v[i].name_len);
		ck_assert_uint_eq(strlen(m->headers.v[i].value), m->headers.v[i].value_len);
		n += m->headers.v[i].name_len + m->headers.v[i].value_len;
	}
	ck_assert_uint_eq(m->headers.bytes, n);
}

#define REQ_HEAD ":method: GET\n:scheme: http\n:authority: a.example\n:path: /chat\n"
#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define WS_FIELDS "sec-websocket-version: 13\nsec-websocket-key: " RFC_KEY "\n"

/* A conf entry; filters non-NULL makes a custom chain. */
static struct sy_conf_filter router_only[1] = { { .name = "router" } };

static struct sy_conf_upgrade
entry(const char *type, bool enabled, bool filters)
{
	struct sy_conf_upgrade u;

	memset(&u, 0, sizeof(u));
	u.upgrade_type = (char *)type;
	u.enabled = enabled;
	u.enabled_set = true;
	if (filters) {
		u.filters = router_only;
		u.nfilters = 1;
		u.has_filters = true;
	}
	return u;
}

/* ---- 1. decision table ------------------------------------------------- */

enum { NONE = -1, OFF = 0, ON = 1, DEFAULT = 2 };

/* DESIGN.md "Upgrade rules", in its order, plus the default-enabled case. */
static const struct {
	int listener, route;
	int accept;
} rows[] = {
	{ ON, NONE, 1 },
	{ DEFAULT, NONE, 1 },
	{ ON, OFF, 0 },
	{ DEFAULT, OFF, 0 },
	{ ON, ON, 1 },
	{ DEFAULT, DEFAULT, 1 },
	{ OFF, NONE, 0 },
	{ OFF, ON, 1 },
	{ OFF, DEFAULT, 1 },
	{ OFF, OFF, 0 },
	{ NONE, ON, 1 },
	{ NONE, DEFAULT, 1 },
	{ NONE, NONE, 0 },
	{ NONE, OFF, 0 },
};

/* Loop index: row * 2 + (listener entry has custom filters). */
START_TEST(test_decision_table)
{
	int r = _i / 2;
	bool filters = (_i % 2) != 0;
	struct sy_conf_upgrade l[2], rt[2];
	const struct sy_conf_upgrade *chain = (const void *)1;
	unsigned nl = 0, nr = 0;
	enum sy_upgrade_decision d;

	/* An unrelated entry first on both sides must not matter. */
	l[nl++] = entry("foo", true, true);
	rt[nr++] = entry("bar", false, false);
	if (rows[r].listener != NONE) {
		l[nl] = entry("websocket", rows[r].listener != OFF, filters);
		l[nl].enabled_set = rows[r].listener != DEFAULT;
		nl++;
	}
	if (rows[r].route != NONE) {
		rt[nr] = entry("websocket", rows[r].route != OFF, false);
		rt[nr].enabled_set = rows[r].route != DEFAULT;
		nr++;
	}
	d = sy_upgrade_decide(l, nl, rt, nr, "websocket", &chain);
	ck_assert_msg((int)d == rows[r].accept, "row %d (filters %d): got %d", r, filters, d);
	if (d == SY_UPGRADE_ACCEPT && rows[r].listener != NONE && filters)
		ck_assert_ptr_eq(chain, &l[1]);
	else
		ck_assert_ptr_null(chain);
	/* The same without a route at all: only the listener speaks. */
	d = sy_upgrade_decide(l, nl, NULL, 0, "websocket", NULL);
	ck_assert_int_eq(d, rows[r].listener == ON || rows[r].listener == DEFAULT);
}
END_TEST

START_TEST(test_decision_case_insensitive)
{
	struct sy_conf_upgrade l[1] = { entry("WebSocket", false, true) };
	struct sy_conf_upgrade rt[1] = { entry("WEBSOCKET", true, false) };
	struct sy_conf_upgrade l2[1] = { entry("websocket", true, false) };
	const struct sy_conf_upgrade *chain;

	ck_assert_int_eq(sy_upgrade_decide(l, 1, rt, 1, "websocket", &chain), SY_UPGRADE_ACCEPT);
	ck_assert_ptr_eq(chain, &l[0]);
	ck_assert_int_eq(sy_upgrade_decide(l2, 1, NULL, 0, "WebSocket", &chain), SY_UPGRADE_ACCEPT);
	ck_assert_ptr_null(chain);
	ck_assert_int_eq(sy_upgrade_decide(l2, 1, NULL, 0, "WEBSOCKET", NULL), SY_UPGRADE_ACCEPT);
	rt[0].enabled = false;
	ck_assert_int_eq(sy_upgrade_decide(l2, 1, rt, 1, "webSocket", &chain), SY_UPGRADE_REJECT);
	ck_assert_ptr_null(chain);
}
END_TEST

START_TEST(test_decision_multiple_entries)
{
	struct sy_conf_upgrade l[3] = {
		entry("foo", false, false), entry("websocket", true, true), entry("bar", true, true),
	};
	struct sy_conf_upgrade rt[2] = { entry("bar", false, false), entry("foo", true, false) };
	const struct sy_conf_upgrade *chain;

	ck_assert_int_eq(sy_upgrade_decide(l, 3, rt, 2, "websocket", &chain), SY_UPGRADE_ACCEPT);
	ck_assert_ptr_eq(chain, &l[1]);
	ck_assert_int_eq(sy_upgrade_decide(l, 3, rt, 2, "foo", &chain), SY_UPGRADE_ACCEPT);
	ck_assert_ptr_null(chain);
	ck_assert_int_eq(sy_upgrade_decide(l, 3, rt, 2, "bar", &chain), SY_UPGRADE_REJECT);
	ck_assert_ptr_null(chain);
	ck_assert_int_eq(sy_upgrade_decide(l, 3, rt, 2, "baz", &chain), SY_UPGRADE_REJECT);
	ck_assert_int_eq(sy_upgrade_decide(l, 3, rt, 2, "", &chain), SY_UPGRADE_REJECT);
	ck_assert_int_eq(sy_upgrade_decide(NULL, 0, NULL, 0, "websocket", &chain), SY_UPGRADE_REJECT);
	/* Prefixes are not matches. */
	ck_assert_int_eq(sy_upgrade_decide(l, 3, NULL, 0, "websocke", NULL), SY_UPGRADE_REJECT);
	ck_assert_int_eq(sy_upgrade_decide(l, 3, NULL, 0, "websockets", NULL), SY_UPGRADE_REJECT);
}
END_TEST

START_TEST(test_decision_versions)
{
	struct sy_conf_upgrade any[1] = { entry("foo", true, false) };
	struct sy_conf_upgrade v2[1] = { entry("foo/2", true, false) };
	struct sy_conf_upgrade both[2] = { entry("foo", false, false), entry("FOO/2", true, true) };
	struct sy_conf_upgrade tls_l[1] = { entry("TLS/1.3", true, false) };
	struct sy_conf_upgrade tls_r[1] = { entry("tls", false, false) };
	const struct sy_conf_upgrade *chain;

	/* "foo" covers every version; "foo/2" only itself. */
	ck_assert_int_eq(sy_upgrade_decide(any, 1, NULL, 0, "foo/2", NULL), SY_UPGRADE_ACCEPT);
	ck_assert_int_eq(sy_upgrade_decide(any, 1, NULL, 0, "Foo/9", NULL), SY_UPGRADE_ACCEPT);
	ck_assert_int_eq(sy_upgrade_decide(v2, 1, NULL, 0, "foo/2", NULL), SY_UPGRADE_ACCEPT);
	ck_assert_int_eq(sy_upgrade_decide(v2, 1, NULL, 0, "foo", NULL), SY_UPGRADE_REJECT);
	ck_assert_int_eq(sy_upgrade_decide(v2, 1, NULL, 0, "foo/3", NULL), SY_UPGRADE_REJECT);
	/* The exact entry wins over the name entry, whatever the order. */
	ck_assert_int_eq(sy_upgrade_decide(both, 2, NULL, 0, "foo/2", &chain), SY_UPGRADE_ACCEPT);
	ck_assert_ptr_eq(chain, &both[1]);
	ck_assert_int_eq(sy_upgrade_decide(both, 2, NULL, 0, "foo/1", NULL), SY_UPGRADE_REJECT);
	/* A route disabling a name disables its versions. */
	ck_assert_int_eq(sy_upgrade_decide(tls_l, 1, NULL, 0, "TLS/1.3", NULL), SY_UPGRADE_ACCEPT);
	ck_assert_int_eq(sy_upgrade_decide(tls_l, 1, tls_r, 1, "TLS/1.3", NULL), SY_UPGRADE_REJECT);
}
END_TEST

/* ---- 2. request analysis ---------------------------------------------- */

static struct sy_conf_upgrade lst[3];
static unsigned nlst;

/* Listener allowing websocket (custom chain), foo; nothing else. */
static void
conf_default(void)
{
	lst[0] = entry("websocket", true, true);
	lst[1] = entry("foo", true, false);
	nlst = 2;
}

static struct sy_upgrade_req
analyze(struct sy_msg *m)
{
	struct sy_upgrade_req up;

	conf_default();
	ck_assert_int_eq(sy_upgrade_analyze_request(m, lst, nlst, NULL, 0, &up), 0);
	check_bytes(m);
	return up;
}

START_TEST(test_analyze_not_upgrade)
{
	struct sy_msg *m = msg(SY_HTTP_11, REQ_HEAD "accept: */*\nconnection: keep-alive\n");
	const char *before = dump(m);
	struct sy_upgrade_req up = analyze(m);

	ck_assert_int_eq(up.outcome, SY_UPGRADE_NONE);
	ck_assert_str_eq(dump(m), before);
	ck_assert(!sy_upgrade_is_request(m));
}
END_TEST

START_TEST(test_analyze_upgrade_without_connection_token)
{
	struct sy_msg *m = msg(SY_HTTP_11, REQ_HEAD "upgrade: websocket\nconnection: keep-alive\n" WS_FIELDS);
	struct sy_upgrade_req up = analyze(m);

	ck_assert(!sy_upgrade_is_request(m));
	ck_assert_int_eq(up.outcome, SY_UPGRADE_NONE);
	ck_assert_ptr_null(sy_headers_get(&m->headers, "upgrade"));
	ck_assert_str_eq(sy_headers_value(&m->headers, "connection"), "keep-alive");
}
END_TEST

START_TEST(test_analyze_http10_ignored)
{
	struct sy_msg *m = msg(SY_HTTP_10, REQ_HEAD "upgrade: websocket\nconnection: Upgrade, keep-alive\n" WS_FIELDS);
	struct sy_upgrade_req up;

	ck_assert(!sy_upgrade_is_request(m));
	up = analyze(m);
	ck_assert_int_eq(up.outcome, SY_UPGRADE_NONE);
	ck_assert_ptr_null(sy_headers_get(&m->headers, "upgrade"));
	ck_assert_str_eq(sy_headers_value(&m->headers, "connection"), "keep-alive");
	ck_assert(!m->upgrade);
}
END_TEST

START_TEST(test_analyze_list_all_allowed)
{
	struct sy_msg *m = msg(SY_HTTP_11, REQ_HEAD "upgrade: foo, websocket\nconnection: upgrade\n" WS_FIELDS);
	struct sy_upgrade_req up = analyze(m);

	ck_assert_int_eq(up.outcome, SY_UPGRADE_ACCEPTED);
	ck_assert_uint_eq(up.ntokens, 2);
	ck_assert_str_eq(up.tokens[0].text, "foo");
	ck_assert(!up.tokens[0].websocket);
	ck_assert_ptr_null(up.tokens[0].chain);
	ck_assert_str_eq(up.tokens[1].text, "websocket");
	ck_assert(up.tokens[1].websocket);
	ck_assert_ptr_eq(up.tokens[1].chain, &lst[0]);
	/* The first allowed token's chain is the one used. */
	ck_assert_ptr_null(up.chain);
	ck_assert(up.websocket);
	ck_assert_ptr_null(up.refused);
	ck_assert_str_eq(sy_headers_value(&m->headers, "upgrade"), "foo, websocket");
	ck_assert(m->upgrade);
}
END_TEST

START_TEST(test_analyze_list_partly_allowed)
{
	struct sy_msg *m = msg(SY_HTTP_11, REQ_HEAD "upgrade: bar, WebSocket, baz\nconnection: upgrade\n" WS_FIELDS);
	struct sy_upgrade_req up = analyze(m);

	ck_assert_int_eq(up.outcome, SY_UPGRADE_ACCEPTED);
	ck_assert_uint_eq(up.ntokens, 1);
	ck_assert_str_eq(up.tokens[0].text, "WebSocket");
	ck_assert_str_eq(up.tokens[0].conf_type, "websocket");
	ck_assert_ptr_eq(up.chain, &lst[0]);
	ck_assert_str_eq(up.refused, "bar");
	ck_assert_str_eq(sy_headers_value(&m->headers, "upgrade"), "WebSocket");
	ck_assert_uint_eq(sy_headers_count(&m->headers, "upgrade"), 1);
}
END_TEST

START_TEST(test_analyze_spaces_versions_empty_elements)
{
	struct sy_msg *m = msg(SY_HTTP_11, REQ_HEAD
	    "upgrade: ,  foo/2 ,,\tFOO ,\nconnection: upgrade\nupgrade: foo/x.y-z\n");
	struct sy_upgrade_req up = analyze(m);

	ck_assert_int_eq(up.outcome, SY_UPGRADE_ACCEPTED);
	ck_assert_uint_eq(up.ntokens, 3);
	ck_assert_str_eq(up.tokens[0].text, "foo/2");
	ck_assert_uint_eq(up.tokens[0].len, 5);
	ck_assert_uint_eq(up.tokens[0].name_len, 3);
	ck_assert_str_eq(up.tokens[0].conf_type, "foo");
	ck_assert_str_eq(up.tokens[1].text, "FOO");
	ck_assert_uint_eq(up.tokens[1].name_len, 3);
	ck_assert_str_eq(up.tokens[2].text, "foo/x.y-z");
	/* Several Upgrade fields become one, in order. */
	ck_assert_uint_eq(sy_headers_count(&m->headers, "upgrade"), 1);
	ck_assert_str_eq(sy_headers_value(&m->headers, "upgrade"), "foo/2, FOO, foo/x.y-z");
}
END_TEST

START_TEST(test_analyze_h2c_only)
{
	struct sy_msg *m = msg(SY_HTTP_11, REQ_HEAD
	    "connection: Upgrade, HTTP2-Settings\nupgrade: h2c\nhttp2-settings: AAMAAABkAAQAAP__\nx-a: 1\n");
	struct sy_upgrade_req up = analyze(m);

	ck_assert_int_eq(up.outcome, SY_UPGRADE_NONE);
	ck_assert_uint_eq(up.nh2c, 1);
	ck_assert_str_eq(dump(m), ":method=GET;:scheme=http;:authority=a.example;:path=/chat;x-a=1;");
	ck_assert(!m->upgrade);
}
END_TEST

START_TEST(test_analyze_h2c_with_other)
{
	struct sy_msg *m = msg(SY_HTTP_11, REQ_HEAD
	    "connection: keep-alive, HTTP2-Settings, Upgrade\nupgrade: H2C, foo\nhttp2-settings: AAMAAABkAAQAAP__\n");
	struct sy_upgrade_req up = analyze(m);

	ck_assert_int_eq(up.outcome, SY_UPGRADE_ACCEPTED);
	ck_assert_uint_eq(up.nh2c, 1);
	ck_assert_uint_eq(up.ntokens, 1);
	ck_assert_str_eq(up.tokens[0].text, "foo");
	ck_assert_str_eq(sy_headers_value(&m->headers, "upgrade"), "foo");
	ck_assert_str_eq(sy_headers_value(&m->headers, "connection"), "keep-alive, Upgrade");
	ck_assert_ptr_null(sy_headers_get(&m->headers, "http2-settings"));
}
END_TEST

START_TEST(test_analyze_h2c_and_refused)
{
	struct sy_msg *m = msg(SY_HTTP_11, REQ_HEAD "connection: upgrade\nupgrade: h2c, bar\n");
	struct sy_upgrade_req up = analyze(m);

	ck_assert_int_eq(up.outcome, SY_UPGRADE_REJECTED);
	ck_assert_str_eq(up.refused, "bar");
	ck_assert_ptr_nonnull(up.why);
}
END_TEST

/* Connection variants that do and do not ask for an upgrade. */
static const struct {
	const char *fields;
	int outcome;
} conn_cases[] = {
	{ "connection: Upgrade\n", SY_UPGRADE_ACCEPTED },
	{ "connection: UPGRADE\n", SY_UPGRADE_ACCEPTED },
	{ "connection: keep-alive, Upgrade\n", SY_UPGRADE_ACCEPTED },	/* Firefox */
	{ "connection: upgrade,keep-alive\n", SY_UPGRADE_ACCEPTED },
	{ "connection: keep-alive\nconnection: upgrade\n", SY_UPGRADE_ACCEPTED },
	{ "connection: , upgrade ,\n", SY_UPGRADE_ACCEPTED },
	{ "connection: keep-alive\n", SY_UPGRADE_NONE },
	{ "connection: upgrade-insecure\n", SY_UPGRADE_NONE },
	{ "connection: x-upgrade\n", SY_UPGRADE_NONE },
	{ "", SY_UPGRADE_NONE },
};

START_TEST(test_analyze_connection_variants)
{
	char buf[512];
	struct sy_msg *m;
	struct sy_upgrade_req up;

	snprintf(buf, sizeof(buf), REQ_HEAD "%supgrade: websocket\n" WS_FIELDS, conn_cases[_i].fields);
	m = msg(SY_HTTP_11, buf);
	up = analyze(m);
	ck_assert_msg(up.outcome == conn_cases[_i].outcome, "\"%s\": outcome %d",
	    conn_cases[_i].fields, up.outcome);
	if (up.outcome == SY_UPGRADE_NONE)
		ck_assert_ptr_null(sy_headers_get(&m->headers, "upgrade"));
	else
		ck_assert_str_eq(sy_headers_value(&m->headers, "upgrade"), "websocket");
}
END_TEST

static const char *const invalid_upgrades[] = {
	"foo bar", "foo/", "/2", "foo/2/3", "a/b/c", "fo\"o", "foo;q=1", "websocket, (x)",
	"é",
};

START_TEST(test_analyze_invalid_syntax)
{
	char buf[512];
	struct sy_msg *m;
	struct sy_upgrade_req up;
	const char *before;

	snprintf(buf, sizeof(buf), REQ_HEAD "connection: upgrade\nupgrade: %s\n" WS_FIELDS,
	    invalid_upgrades[_i]);
	m = msg(SY_HTTP_11, buf);
	before = dump(m);
	up = analyze(m);
	ck_assert_msg(up.outcome == SY_UPGRADE_INVALID, "\"%s\": outcome %d", invalid_upgrades[_i], up.outcome);
	ck_assert_str_eq(up.why, "invalid upgrade header");
	ck_assert_str_eq(dump(m), before);
}
END_TEST

START_TEST(test_analyze_too_many_tokens)
{
	char buf[1024] = REQ_HEAD "connection: upgrade\nupgrade: ";
	struct sy_upgrade_req up;
	int i;

	for (i = 0; i < SY_UPGRADE_MAX_TOKENS; i++)
		strcat(buf, "foo, ");
	strcat(buf, "websocket\n");
	up = analyze(msg(SY_HTTP_11, buf));
	ck_assert_int_eq(up.outcome, SY_UPGRADE_INVALID);
	ck_assert_str_eq(up.why, "too many upgrade tokens");
}
END_TEST

START_TEST(test_analyze_empty_list)
{
	struct sy_msg *m = msg(SY_HTTP_11, REQ_HEAD "connection: upgrade, close\nupgrade: , ,\n");
	struct sy_upgrade_req up = analyze(m);

	ck_assert_int_eq(up.outcome, SY_UPGRADE_NONE);
	ck_assert_ptr_null(sy_headers_get(&m->headers, "upgrade"));
	ck_assert_str_eq(sy_headers_value(&m->headers, "connection"), "close");
}
END_TEST

START_TEST(test_analyze_rejected)
{
	struct sy_msg *m = msg(SY_HTTP_11, REQ_HEAD "connection: upgrade\nupgrade: bar, TLS/1.3\n");
	const char *before = dump(m);
	struct sy_upgrade_req up = analyze(m);

	ck_assert_int_eq(up.outcome, SY_UPGRADE_REJECTED);
	ck_assert_str_eq(up.refused, "bar");
	ck_assert_str_eq(up.why, "upgrade type not allowed on this route");
	ck_assert_uint_eq(up.ntokens, 0);
	ck_assert_str_eq(dump(m), before);
}
END_TEST

START_TEST(test_analyze_route_overrides)
{
	struct sy_msg *m = msg(SY_HTTP_11, REQ_HEAD "connection: upgrade\nupgrade: websocket, foo, bar\n" WS_FIELDS);
	struct sy_conf_upgrade rt[2] = { entry("websocket", false, false), entry("bar", true, false) };
	struct sy_upgrade_req up;

	conf_default();
	ck_assert_int_eq(sy_upgrade_analyze_request(m, lst, nlst, rt, 2, &up), 0);
	ck_assert_int_eq(up.outcome, SY_UPGRADE_ACCEPTED);
	ck_assert_uint_eq(up.ntokens, 2);
	ck_assert_str_eq(up.tokens[0].text, "foo");
	ck_assert_str_eq(up.tokens[0].conf_type, "foo");
	ck_assert_ptr_eq(up.tokens[0].conf_type, lst[1].upgrade_type);
	ck_assert_str_eq(up.tokens[1].text, "bar");
	ck_assert_ptr_eq(up.tokens[1].conf_type, rt[1].upgrade_type);
	ck_assert(!up.websocket);
	ck_assert_str_eq(up.refused, "websocket");
	ck_assert_str_eq(sy_headers_value(&m->headers, "upgrade"), "foo, bar");
}
END_TEST

START_TEST(test_analyze_websocket_checked)
{
	struct sy_msg *m = msg(SY_HTTP_11, ":method: POST\n:scheme: http\n:authority: a\n:path: /\n"
	    "connection: upgrade\nupgrade: foo, websocket\n" WS_FIELDS);
	struct sy_upgrade_req up = analyze(m);

	ck_assert_int_eq(up.outcome, SY_UPGRADE_INVALID);
	ck_assert_str_eq(up.why, "websocket upgrade with a method other than GET");

	/* POST is fine for other protocols (Docker's "tcp"). */
	m = msg(SY_HTTP_11, ":method: POST\n:scheme: http\n:authority: a\n:path: /exec/1/start\n"
	    "content-length: 2\nconnection: Upgrade\nupgrade: foo\n");
	up = analyze(m);
	ck_assert_int_eq(up.outcome, SY_UPGRADE_ACCEPTED);
}
END_TEST

START_TEST(test_analyze_chain_of_first_token)
{
	struct sy_msg *m = msg(SY_HTTP_11, REQ_HEAD "connection: upgrade\nupgrade: websocket, foo\n" WS_FIELDS);
	struct sy_upgrade_req up = analyze(m);

	ck_assert_int_eq(up.outcome, SY_UPGRADE_ACCEPTED);
	ck_assert_ptr_eq(up.chain, &lst[0]);
}
END_TEST

START_TEST(test_analyze_extended_connect)
{
	const char *head = ":method: CONNECT\n:scheme: https\n:authority: a\n:path: /chat\n:protocol: %s\n";
	char buf[512];
	struct sy_msg *m;
	struct sy_upgrade_req up;

	snprintf(buf, sizeof(buf), head, "websocket");
	m = msg(SY_HTTP_2, buf);
	ck_assert(sy_upgrade_is_extended_connect(m));
	ck_assert(!sy_upgrade_is_request(m));
	up = analyze(m);
	ck_assert_int_eq(up.outcome, SY_UPGRADE_ACCEPTED);
	ck_assert(up.extended_connect);
	ck_assert(up.websocket);
	ck_assert_uint_eq(up.ntokens, 1);
	ck_assert_str_eq(up.tokens[0].text, "websocket");
	ck_assert_ptr_eq(up.tokens[0].conf_type, lst[0].upgrade_type);
	ck_assert_ptr_eq(up.chain, &lst[0]);

	snprintf(buf, sizeof(buf), head, "bar");
	up = analyze(msg(SY_HTTP_2, buf));
	ck_assert_int_eq(up.outcome, SY_UPGRADE_REJECTED);
	ck_assert_str_eq(up.refused, "bar");

	snprintf(buf, sizeof(buf), head, "foo, websocket");
	up = analyze(msg(SY_HTTP_2, buf));
	ck_assert_int_eq(up.outcome, SY_UPGRADE_INVALID);

	snprintf(buf, sizeof(buf), head, "h2c");
	up = analyze(msg(SY_HTTP_2, buf));
	ck_assert_int_eq(up.outcome, SY_UPGRADE_INVALID);

	/* Plain CONNECT is no upgrade here. */
	m = msg(SY_HTTP_2, ":method: CONNECT\n:authority: a:443\n");
	ck_assert(!sy_upgrade_is_extended_connect(m));
	up = analyze(m);
	ck_assert_int_eq(up.outcome, SY_UPGRADE_NONE);
}
END_TEST

/* ---- 3. hop-by-hop ---------------------------------------------------- */

#define HOP_FIELDS \
	"connection: keep-alive, X-Foo, close, content-length, Transfer-Encoding, host\n" \
	"keep-alive: timeout=5\nx-foo: 1\nx-bar: 2\nte: trailers\ntrailer: x-sum\n" \
	"upgrade: websocket\nproxy-connection: keep-alive\nproxy-authorization: Basic x\n" \
	"proxy-authenticate: Basic\nhttp2-settings: AAAA\ntransfer-encoding: chunked\n" \
	"connection: x-baz, :path\nx-baz: 3\ncontent-length: 0\nx-qux: 4\n"

START_TEST(test_strip_hop_by_hop)
{
	struct sy_msg *m = msg(SY_HTTP_11, REQ_HEAD HOP_FIELDS);

	ck_assert_int_eq(sy_http_strip_hop_by_hop(m), 0);
	ck_assert_str_eq(dump(m), ":method=GET;:scheme=http;:authority=a.example;:path=/chat;"
	    "x-bar=2;transfer-encoding=chunked;content-length=0;x-qux=4;");
	check_bytes(m);
	/* Idempotent, and a no-op on a clean message. */
	ck_assert_int_eq(sy_http_strip_hop_by_hop(m), 0);
	ck_assert_str_eq(dump(m), ":method=GET;:scheme=http;:authority=a.example;:path=/chat;"
	    "x-bar=2;transfer-encoding=chunked;content-length=0;x-qux=4;");
}
END_TEST

START_TEST(test_strip_response)
{
	struct sy_msg *m = msg(SY_HTTP_11, ":status: 200\nconnection: close, X-Trace\n"
	    "x-trace: 1\nupgrade: websocket\ncontent-type: text/plain\n");

	ck_assert_int_eq(sy_http_strip_hop_by_hop(m), 0);
	ck_assert_str_eq(dump(m), ":status=200;content-type=text/plain;");
}
END_TEST

START_TEST(test_prepare_h1_request)
{
	struct sy_msg *m = msg(SY_HTTP_11, REQ_HEAD HOP_FIELDS);

	ck_assert_int_eq(sy_upgrade_prepare_h1_request(m), 0);
	ck_assert_str_eq(dump(m), ":method=GET;:scheme=http;:authority=a.example;:path=/chat;"
	    "x-bar=2;upgrade=websocket;transfer-encoding=chunked;content-length=0;x-qux=4;"
	    "connection=upgrade;");
	check_bytes(m);
}
END_TEST

START_TEST(test_prepare_h1_response)
{
	struct sy_msg *m = msg(SY_HTTP_11, ":status: 101\nUpgrade: WebSocket\n"
	    "Connection: Upgrade, keep-alive, x-a\nx-a: 1\nkeep-alive: timeout=1\n"
	    "sec-websocket-accept: " RFC_ACCEPT "\ncontent-length: 0\ntransfer-encoding: chunked\n");

	m->content_length = 0;
	ck_assert_int_eq(sy_upgrade_prepare_h1_response(m), 0);
	ck_assert_str_eq(dump(m), ":status=101;upgrade=WebSocket;sec-websocket-accept=" RFC_ACCEPT
	    ";connection=upgrade;");
	ck_assert_int_eq(m->content_length, -1);
	ck_assert(!m->has_body);
	check_bytes(m);
}
END_TEST

/* ---- 4. WebSocket ----------------------------------------------------- */

START_TEST(test_ws_accept_rfc6455)
{
	char out[SY_WS_ACCEPT_LEN + 1];

	ck_assert_int_eq(sy_ws_accept(RFC_KEY, out), 0);
	ck_assert_str_eq(out, RFC_ACCEPT);
	/* The key is taken byte for byte: no trimming, no case folding. */
	ck_assert_int_eq(sy_ws_accept("DGhlIHNhbXBsZSBub25jZQ==", out), 0);
	ck_assert_str_ne(out, RFC_ACCEPT);
	ck_assert_uint_eq(strlen(out), SY_WS_ACCEPT_LEN);
}
END_TEST

START_TEST(test_ws_key_generate)
{
	char a[SY_WS_KEY_LEN + 1], b[SY_WS_KEY_LEN + 1];

	ck_assert_int_eq(sy_ws_key_generate(a), 0);
	ck_assert_int_eq(sy_ws_key_generate(b), 0);
	ck_assert_uint_eq(strlen(a), SY_WS_KEY_LEN);
	ck_assert(sy_ws_key_valid(a, strlen(a)));
	ck_assert(sy_ws_key_valid(b, strlen(b)));
	ck_assert_str_ne(a, b);
}
END_TEST

static const struct {
	const char *key;
	bool valid;
} ws_keys[] = {
	{ RFC_KEY, true },
	{ "AAAAAAAAAAAAAAAAAAAAAA==", true },
	{ "+/+/+/+/+/+/+/+/+/+/+w==", true },
	{ "dGhlIHNhbXBsZSBub25jZQ=", false },		/* 23 */
	{ "dGhlIHNhbXBsZSBub25jZQ===", false },		/* 25 */
	{ "dGhlIHNhbXBsZSBub25jZQAA", false },		/* 18 bytes, no padding */
	{ "dGhlIHNhbXBsZSBub25jZ===", false },
	{ "dGhlIHNhbXBsZSBub25j-Q==", false },		/* base64url */
	{ "dGhlIHNhbXBsZSBub25j Q==", false },
	{ "", false },
};

START_TEST(test_ws_key_valid)
{
	ck_assert_msg(sy_ws_key_valid(ws_keys[_i].key, strlen(ws_keys[_i].key)) == ws_keys[_i].valid,
	    "\"%s\"", ws_keys[_i].key);
}
END_TEST

static const struct {
	const char *lines;
	int status;
	const char *why;
} ws_requests[] = {
	{ REQ_HEAD WS_FIELDS, 0, NULL },
	{ ":method: POST\n:path: /\n" WS_FIELDS, 400, "websocket upgrade with a method other than GET" },
	{ ":method: get\n:path: /\n" WS_FIELDS, 400, "websocket upgrade with a method other than GET" },
	{ REQ_HEAD "sec-websocket-key: " RFC_KEY "\n", 400, "websocket upgrade without sec-websocket-version: 13" },
	{ REQ_HEAD "sec-websocket-version: 8\nsec-websocket-key: " RFC_KEY "\n", 400,
	    "websocket upgrade without sec-websocket-version: 13" },
	{ REQ_HEAD "sec-websocket-version: 13, 8\nsec-websocket-key: " RFC_KEY "\n", 400,
	    "websocket upgrade without sec-websocket-version: 13" },
	{ REQ_HEAD WS_FIELDS "sec-websocket-version: 13\n", 400,
	    "websocket upgrade without sec-websocket-version: 13" },
	{ REQ_HEAD "sec-websocket-version: 13\n", 400, "websocket upgrade without a valid sec-websocket-key" },
	{ REQ_HEAD "sec-websocket-version: 13\nsec-websocket-key: short\n", 400,
	    "websocket upgrade without a valid sec-websocket-key" },
	{ REQ_HEAD "sec-websocket-version: 13\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQAA\n", 400,
	    "websocket upgrade without a valid sec-websocket-key" },
	{ REQ_HEAD WS_FIELDS "sec-websocket-key: " RFC_KEY "\n", 400,
	    "websocket upgrade without a valid sec-websocket-key" },
};

START_TEST(test_ws_check_request)
{
	struct sy_msg *m = msg(SY_HTTP_11, ws_requests[_i].lines);
	const char *why = "unset";

	ck_assert_int_eq(sy_ws_check_request(m, &why), ws_requests[_i].status);
	if (ws_requests[_i].why == NULL)
		ck_assert_ptr_null(why);
	else
		ck_assert_str_eq(why, ws_requests[_i].why);
}
END_TEST

/* ---- 5. response check ------------------------------------------------ */

/* Requests as sent upstream; from R_XC_WS on they are HTTP/2. */
enum { R_PLAIN, R_WS, R_FOO, R_NULL, R_XC_WS, R_XC_WS_KEY, R_XC_FOO, R_H2_PLAIN };

static const char *const check_reqs[] = {
	[R_PLAIN] = REQ_HEAD "connection: keep-alive\n",
	[R_WS] = REQ_HEAD "upgrade: websocket\nconnection: upgrade\n" WS_FIELDS,
	[R_FOO] = REQ_HEAD "upgrade: foo/2, bar\nconnection: upgrade\n",
	[R_NULL] = NULL,
	[R_XC_WS] = ":method: CONNECT\n:scheme: http\n:authority: a\n:path: /\n:protocol: websocket\n"
	    "sec-websocket-version: 13\n",
	[R_XC_WS_KEY] = ":method: CONNECT\n:scheme: http\n:authority: a\n:path: /\n:protocol: websocket\n"
	    WS_FIELDS,
	[R_XC_FOO] = ":method: CONNECT\n:scheme: http\n:authority: a\n:path: /\n:protocol: foo\n",
	[R_H2_PLAIN] = ":method: GET\n:scheme: http\n:authority: a\n:path: /\n",
};

#define UP_WS "upgrade: websocket\nconnection: Upgrade\n"

static const struct {
	int req;
	int version;
	const char *resp;
	int verdict;
	unsigned chosen;
	const char *why;
} checks[] = {
	/* HTTP/1.1 websocket. */
	{ R_WS, SY_HTTP_11, ":status: 101\n" UP_WS "sec-websocket-accept: " RFC_ACCEPT "\n",
	    SY_UPGRADE_RESP_TUNNEL, 0, NULL },
	{ R_WS, SY_HTTP_11, ":status: 101\nUpgrade: WebSocket\nConnection: keep-alive, UPGRADE\n"
	    "Sec-WebSocket-Accept: " RFC_ACCEPT "\n", SY_UPGRADE_RESP_TUNNEL, 0, NULL },
	{ R_WS, SY_HTTP_11, ":status: 101\n" UP_WS, SY_UPGRADE_RESP_BAD, 0,
	    "101 without sec-websocket-accept" },
	{ R_WS, SY_HTTP_11, ":status: 101\n" UP_WS "sec-websocket-accept: xxxPLMBiTxaQ9kYGzzhZRbK+xOo=\n",
	    SY_UPGRADE_RESP_BAD, 0, "wrong sec-websocket-accept" },
	{ R_WS, SY_HTTP_11, ":status: 101\n" UP_WS "sec-websocket-accept: " RFC_ACCEPT "\n"
	    "sec-websocket-accept: " RFC_ACCEPT "\n", SY_UPGRADE_RESP_BAD, 0,
	    "several sec-websocket-accept fields" },
	{ R_WS, SY_HTTP_11, ":status: 101\nconnection: upgrade\nsec-websocket-accept: " RFC_ACCEPT "\n",
	    SY_UPGRADE_RESP_BAD, 0, "101 without upgrade header" },
	{ R_WS, SY_HTTP_11, ":status: 101\nupgrade: websocket\nsec-websocket-accept: " RFC_ACCEPT "\n",
	    SY_UPGRADE_RESP_BAD, 0, "101 without connection: upgrade" },
	{ R_WS, SY_HTTP_11, ":status: 101\nupgrade: foo\nconnection: upgrade\n",
	    SY_UPGRADE_RESP_BAD, 0, "101 names a protocol the request did not offer" },
	{ R_WS, SY_HTTP_11, ":status: 101\nupgrade: websocket, foo\nconnection: upgrade\n"
	    "sec-websocket-accept: " RFC_ACCEPT "\n",
	    SY_UPGRADE_RESP_BAD, 0, "101 names a protocol the request did not offer" },
	{ R_WS, SY_HTTP_11, ":status: 101\nupgrade: web socket\nconnection: upgrade\n",
	    SY_UPGRADE_RESP_BAD, 0, "101 with an invalid upgrade header" },
	{ R_WS, SY_HTTP_10, ":status: 101\n" UP_WS "sec-websocket-accept: " RFC_ACCEPT "\n",
	    SY_UPGRADE_RESP_BAD, 0, "101 in http/1.0" },
	/* Anything else is an ordinary answer, Upgrade fields or not (CVE-2024-23326). */
	{ R_WS, SY_HTTP_11, ":status: 200\n" UP_WS "sec-websocket-accept: " RFC_ACCEPT "\n",
	    SY_UPGRADE_RESP_ORDINARY, 0, NULL },
	{ R_WS, SY_HTTP_11, ":status: 426\nupgrade: websocket\nsec-websocket-version: 13\n",
	    SY_UPGRADE_RESP_ORDINARY, 0, NULL },
	{ R_WS, SY_HTTP_11, ":status: 403\n", SY_UPGRADE_RESP_ORDINARY, 0, NULL },
	{ R_WS, SY_HTTP_11, ":status: 502\n", SY_UPGRADE_RESP_ORDINARY, 0, NULL },
	{ R_WS, SY_HTTP_11, ":status: 100\n", SY_UPGRADE_RESP_INTERIM, 0, NULL },
	{ R_WS, SY_HTTP_11, ":status: 103\nlink: </a>\n", SY_UPGRADE_RESP_INTERIM, 0, NULL },
	/* 101 to a request that did not ask. */
	{ R_PLAIN, SY_HTTP_11, ":status: 101\n" UP_WS, SY_UPGRADE_RESP_BAD, 0,
	    "101 to a request that did not ask to upgrade" },
	{ R_NULL, SY_HTTP_11, ":status: 101\n" UP_WS, SY_UPGRADE_RESP_BAD, 0,
	    "101 to a request that did not ask to upgrade" },
	{ R_PLAIN, SY_HTTP_11, ":status: 200\n" UP_WS, SY_UPGRADE_RESP_ORDINARY, 0, NULL },
	{ R_NULL, SY_HTTP_11, ":status: 204\n", SY_UPGRADE_RESP_ORDINARY, 0, NULL },
	/* Other protocols, lists and versions. */
	{ R_FOO, SY_HTTP_11, ":status: 101\nupgrade: bar\nconnection: upgrade\n",
	    SY_UPGRADE_RESP_TUNNEL, 1, NULL },
	{ R_FOO, SY_HTTP_11, ":status: 101\nupgrade: foo\nconnection: upgrade\n",
	    SY_UPGRADE_RESP_TUNNEL, 0, NULL },
	{ R_FOO, SY_HTTP_11, ":status: 101\nupgrade: FOO/2\nconnection: upgrade\n",
	    SY_UPGRADE_RESP_TUNNEL, 0, NULL },
	{ R_FOO, SY_HTTP_11, ":status: 101\nupgrade: foo/3\nconnection: upgrade\n",
	    SY_UPGRADE_RESP_BAD, 0, "101 names a protocol the request did not offer" },
	{ R_FOO, SY_HTTP_11, ":status: 101\nupgrade: bar/1, foo/2\nconnection: upgrade\n",
	    SY_UPGRADE_RESP_TUNNEL, 1, NULL },
	{ R_FOO, SY_HTTP_11, ":status: 101\nupgrade: websocket\nconnection: upgrade\n",
	    SY_UPGRADE_RESP_BAD, 0, "101 names a protocol the request did not offer" },
	/* HTTP/2 answers to extended CONNECT. */
	{ R_XC_WS, SY_HTTP_2, ":status: 200\n", SY_UPGRADE_RESP_TUNNEL, 0, NULL },
	{ R_XC_WS, SY_HTTP_2, ":status: 200\ncontent-length: 0\n", SY_UPGRADE_RESP_TUNNEL, 0, NULL },
	{ R_XC_WS, SY_HTTP_2, ":status: 200\nsec-websocket-accept: whatever\n",
	    SY_UPGRADE_RESP_TUNNEL, 0, NULL },
	{ R_XC_WS_KEY, SY_HTTP_2, ":status: 200\nsec-websocket-accept: " RFC_ACCEPT "\n",
	    SY_UPGRADE_RESP_TUNNEL, 0, NULL },
	{ R_XC_WS_KEY, SY_HTTP_2, ":status: 200\n", SY_UPGRADE_RESP_TUNNEL, 0, NULL },
	{ R_XC_WS_KEY, SY_HTTP_2, ":status: 200\nsec-websocket-accept: xxxPLMBiTxaQ9kYGzzhZRbK+xOo=\n",
	    SY_UPGRADE_RESP_BAD, 0, "wrong sec-websocket-accept" },
	{ R_XC_FOO, SY_HTTP_2, ":status: 200\ncontent-length: 5\n", SY_UPGRADE_RESP_BAD, 0,
	    "upgrade response with a body" },
	{ R_XC_FOO, SY_HTTP_2, ":status: 101\n", SY_UPGRADE_RESP_BAD, 0, "101 over http/2" },
	{ R_XC_FOO, SY_HTTP_2, ":status: 201\n", SY_UPGRADE_RESP_ORDINARY, 0, NULL },
	{ R_XC_FOO, SY_HTTP_2, ":status: 404\n", SY_UPGRADE_RESP_ORDINARY, 0, NULL },
	{ R_XC_FOO, SY_HTTP_2, ":status: 103\n", SY_UPGRADE_RESP_INTERIM, 0, NULL },
	{ R_H2_PLAIN, SY_HTTP_2, ":status: 200\n", SY_UPGRADE_RESP_ORDINARY, 0, NULL },
	{ R_H2_PLAIN, SY_HTTP_2, ":status: 101\n", SY_UPGRADE_RESP_BAD, 0, "101 over http/2" },
};

START_TEST(test_check_response)
{
	const char *rl = check_reqs[checks[_i].req];
	struct sy_msg *req = NULL, *resp;
	unsigned chosen = 99;
	const char *why = "unset";
	int v;

	if (rl != NULL)
		req = msg(checks[_i].req >= R_XC_WS ? SY_HTTP_2 : SY_HTTP_11, rl);
	resp = msg(checks[_i].version, checks[_i].resp);
	v = sy_upgrade_check_response(req, resp, &chosen, &why);
	ck_assert_msg(v == checks[_i].verdict, "case %d: verdict %d, why %s", _i, v,
	    why != NULL ? why : "(null)");
	if (checks[_i].why == NULL)
		ck_assert_ptr_null(why);
	else
		ck_assert_str_eq(why, checks[_i].why);
	if (v == SY_UPGRADE_RESP_TUNNEL)
		ck_assert_uint_eq(chosen, checks[_i].chosen);
	/* NULL out-parameters are allowed. */
	ck_assert_int_eq(sy_upgrade_check_response(req, resp, NULL, NULL), v);
}
END_TEST

/* ---- 6. HTTP/1.1 <-> HTTP/2 ------------------------------------------- */

#define H1_WS_REQ REQ_HEAD "connection: keep-alive, Upgrade\nupgrade: websocket\n" \
	"keep-alive: timeout=5\norigin: http://a.example\n" WS_FIELDS "content-length: 0\n"

START_TEST(test_h1_to_h2_request_websocket)
{
	struct sy_msg *m = msg(SY_HTTP_11, H1_WS_REQ);
	struct sy_upgrade_xlate x;

	m->content_length = 0;
	ck_assert_int_eq(sy_upgrade_h1_to_h2_request(m, 0, &x), 0);
	ck_assert_str_eq(dump(m), ":method=CONNECT;:scheme=http;:authority=a.example;:path=/chat;"
	    ":protocol=websocket;origin=http://a.example;sec-websocket-version=13;");
	ck_assert_int_eq(m->version, SY_HTTP_2);
	ck_assert_int_eq(m->content_length, -1);
	ck_assert(!m->upgrade);
	ck_assert(sy_upgrade_is_extended_connect(m));
	ck_assert_str_eq(x.token, "websocket");
	ck_assert(x.websocket);
	ck_assert_str_eq(x.ws_key, RFC_KEY);
	ck_assert(!x.key_generated);
	ck_assert_str_eq(x.method, "GET");
	check_bytes(m);
}
END_TEST

START_TEST(test_h1_to_h2_request_keep_key)
{
	struct sy_msg *m = msg(SY_HTTP_11, H1_WS_REQ);
	struct sy_upgrade_xlate x;

	ck_assert_int_eq(sy_upgrade_h1_to_h2_request(m, SY_UPGRADE_KEEP_WS_KEY, &x), 0);
	ck_assert_str_eq(dump(m), ":method=CONNECT;:scheme=http;:authority=a.example;:path=/chat;"
	    ":protocol=websocket;origin=http://a.example;sec-websocket-version=13;"
	    "sec-websocket-key=" RFC_KEY ";");
}
END_TEST

START_TEST(test_h1_to_h2_request_first_token)
{
	struct sy_msg *m = msg(SY_HTTP_11, REQ_HEAD "connection: upgrade\nupgrade: Foo/2, bar\n");
	struct sy_upgrade_xlate x;

	ck_assert_int_eq(sy_upgrade_h1_to_h2_request(m, 0, &x), 0);
	ck_assert_str_eq(sy_headers_value(&m->headers, ":protocol"), "Foo/2");
	ck_assert_str_eq(x.token, "Foo/2");
	ck_assert(!x.websocket);
	ck_assert_str_eq(x.ws_key, "");
}
END_TEST

static const struct {
	int version;
	const char *lines;
	int err;
} h1_to_h2_bad[] = {
	{ SY_HTTP_11, REQ_HEAD "connection: upgrade\nupgrade: foo\ncontent-length: 7\n", EBADMSG },
	{ SY_HTTP_11, REQ_HEAD "connection: upgrade\nupgrade: foo\ntransfer-encoding: chunked\n", EBADMSG },
	{ SY_HTTP_11, REQ_HEAD "upgrade: foo\n", EINVAL },
	{ SY_HTTP_10, REQ_HEAD "connection: upgrade\nupgrade: foo\n", EINVAL },
	{ SY_HTTP_11, ":method: GET\n:path: /\nconnection: upgrade\nupgrade: foo\n", EINVAL },
	{ SY_HTTP_11, REQ_HEAD "connection: upgrade\nupgrade: websocket\nsec-websocket-version: 13\n", EINVAL },
	{ SY_HTTP_11, REQ_HEAD "connection: upgrade\nupgrade: h2c\n", EINVAL },
	{ SY_HTTP_11, REQ_HEAD "connection: upgrade\nupgrade: foo bar\n", EINVAL },
};

START_TEST(test_h1_to_h2_request_refused)
{
	struct sy_msg *m = msg(h1_to_h2_bad[_i].version, h1_to_h2_bad[_i].lines);
	const char *before = dump(m);
	struct sy_upgrade_xlate x;

	errno = 0;
	ck_assert_int_eq(sy_upgrade_h1_to_h2_request(m, 0, &x), -1);
	ck_assert_int_eq(errno, h1_to_h2_bad[_i].err);
	ck_assert_str_eq(dump(m), before);
	ck_assert_int_eq(m->version, h1_to_h2_bad[_i].version);
}
END_TEST

START_TEST(test_h2_to_h1_response_websocket)
{
	struct sy_msg *m = msg(SY_HTTP_2, ":status: 200\nsec-websocket-extensions: permessage-deflate\n"
	    "sec-websocket-accept: bogus\ncontent-length: 0\n");
	struct sy_upgrade_xlate x;

	memset(&x, 0, sizeof(x));
	x.token = "websocket";
	x.websocket = true;
	strcpy(x.ws_key, RFC_KEY);
	ck_assert_int_eq(sy_upgrade_h2_to_h1_response(m, &x), 0);
	ck_assert_str_eq(dump(m), ":status=101;sec-websocket-extensions=permessage-deflate;"
	    "sec-websocket-accept=" RFC_ACCEPT ";upgrade=websocket;connection=upgrade;");
	ck_assert_int_eq(m->status, 101);
	ck_assert_int_eq(m->version, SY_HTTP_11);
	ck_assert(m->upgrade);
	check_bytes(m);

	/* Without a saved key there is nothing to prove. */
	m = msg(SY_HTTP_2, ":status: 200\n");
	x.ws_key[0] = '\0';
	errno = 0;
	ck_assert_int_eq(sy_upgrade_h2_to_h1_response(m, &x), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_h2_to_h1_response_other_status)
{
	struct sy_msg *m = msg(SY_HTTP_2, ":status: 404\ncontent-type: text/plain\ncontent-length: 9\n");
	struct sy_upgrade_xlate x;

	memset(&x, 0, sizeof(x));
	x.token = "foo";
	ck_assert_int_eq(sy_upgrade_h2_to_h1_response(m, &x), 0);
	ck_assert_str_eq(dump(m), ":status=404;content-type=text/plain;content-length=9;");
	ck_assert_int_eq(m->version, SY_HTTP_11);
	ck_assert(!m->upgrade);

	/* 201 is no 200: not mapped. */
	m = msg(SY_HTTP_2, ":status: 201\n");
	ck_assert_int_eq(sy_upgrade_h2_to_h1_response(m, &x), 0);
	ck_assert_str_eq(dump(m), ":status=201;");
}
END_TEST

#define XC_HEAD ":method: CONNECT\n:scheme: https\n:authority: a.example\n:path: /chat\n"

START_TEST(test_h2_to_h1_request_websocket_no_key)
{
	struct sy_msg *m = msg(SY_HTTP_2, XC_HEAD ":protocol: websocket\norigin: https://a.example\n");
	struct sy_upgrade_xlate x;
	const char *key;
	const char *why;

	ck_assert_int_eq(sy_upgrade_h2_to_h1_request(m, 0, &x), 0);
	key = sy_headers_value(&m->headers, "sec-websocket-key");
	ck_assert_ptr_nonnull(key);
	ck_assert(sy_ws_key_valid(key, strlen(key)));
	ck_assert_str_eq(x.ws_key, key);
	ck_assert(x.key_generated);
	ck_assert(x.websocket);
	ck_assert_str_eq(x.method, "CONNECT");
	ck_assert_str_eq(sy_msg_method(m), "GET");
	ck_assert_ptr_null(sy_headers_get(&m->headers, ":protocol"));
	ck_assert_str_eq(sy_headers_value(&m->headers, "upgrade"), "websocket");
	ck_assert_str_eq(sy_headers_value(&m->headers, "connection"), "upgrade");
	ck_assert_str_eq(sy_headers_value(&m->headers, "sec-websocket-version"), "13");
	ck_assert_int_eq(m->version, SY_HTTP_11);
	ck_assert(m->upgrade);
	ck_assert(sy_upgrade_is_request(m));
	/* What goes to the HTTP/1.1 upstream passes our own websocket check. */
	ck_assert_int_eq(sy_ws_check_request(m, &why), 0);
	check_bytes(m);
}
END_TEST

START_TEST(test_h2_to_h1_request_websocket_with_key)
{
	struct sy_msg *m = msg(SY_HTTP_2, XC_HEAD ":protocol: websocket\n" WS_FIELDS);
	struct sy_upgrade_xlate x;

	ck_assert_int_eq(sy_upgrade_h2_to_h1_request(m, 0, &x), 0);
	ck_assert_str_eq(dump(m), ":method=GET;:scheme=https;:authority=a.example;:path=/chat;"
	    "sec-websocket-version=13;sec-websocket-key=" RFC_KEY ";upgrade=websocket;connection=upgrade;");
	ck_assert(!x.key_generated);
	ck_assert_str_eq(x.ws_key, RFC_KEY);
}
END_TEST

START_TEST(test_h2_to_h1_request_method_flaw)
{
	const char *lines = XC_HEAD ":protocol: foo\n" SY_UPGRADE_METHOD_HEADER ": POST\nx-a: 1\n";
	struct sy_msg *m = msg(SY_HTTP_2, lines);
	struct sy_upgrade_xlate x;

	/* By default the method is lost (and the private header never leaks). */
	ck_assert_int_eq(sy_upgrade_h2_to_h1_request(m, 0, &x), 0);
	ck_assert_str_eq(dump(m), ":method=GET;:scheme=https;:authority=a.example;:path=/chat;"
	    "x-a=1;upgrade=foo;connection=upgrade;");
	ck_assert(!x.websocket);
	ck_assert_ptr_null(sy_headers_get(&m->headers, "sec-websocket-key"));

	m = msg(SY_HTTP_2, lines);
	ck_assert_int_eq(sy_upgrade_h2_to_h1_request(m, SY_UPGRADE_PRESERVE_METHOD, &x), 0);
	ck_assert_str_eq(dump(m), ":method=POST;:scheme=https;:authority=a.example;:path=/chat;"
	    "x-a=1;upgrade=foo;connection=upgrade;");

	/* A method header that is no token, or CONNECT, is ignored. */
	m = msg(SY_HTTP_2, XC_HEAD ":protocol: foo\n" SY_UPGRADE_METHOD_HEADER ": PO ST\n");
	ck_assert_int_eq(sy_upgrade_h2_to_h1_request(m, SY_UPGRADE_PRESERVE_METHOD, &x), 0);
	ck_assert_str_eq(sy_msg_method(m), "GET");
	m = msg(SY_HTTP_2, XC_HEAD ":protocol: foo\n" SY_UPGRADE_METHOD_HEADER ": CONNECT\n");
	ck_assert_int_eq(sy_upgrade_h2_to_h1_request(m, SY_UPGRADE_PRESERVE_METHOD, &x), 0);
	ck_assert_str_eq(sy_msg_method(m), "GET");
}
END_TEST

static const struct {
	const char *lines;
	int err;
} h2_to_h1_bad[] = {
	{ XC_HEAD ":protocol: foo\ncontent-length: 10\n", EBADMSG },
	{ XC_HEAD ":protocol: foo bar\n", EINVAL },
	{ XC_HEAD ":protocol: h2c\n", EINVAL },
	{ ":method: CONNECT\n:authority: a:443\n", EINVAL },
	{ ":method: CONNECT\n:authority: a\n:protocol: foo\n", EINVAL },
	{ XC_HEAD ":protocol: websocket\nsec-websocket-key: nope\n", EINVAL },
	{ ":method: GET\n:scheme: https\n:authority: a\n:path: /\n", EINVAL },
};

START_TEST(test_h2_to_h1_request_refused)
{
	struct sy_msg *m = msg(SY_HTTP_2, h2_to_h1_bad[_i].lines);
	const char *before = dump(m);
	struct sy_upgrade_xlate x;

	errno = 0;
	ck_assert_int_eq(sy_upgrade_h2_to_h1_request(m, 0, &x), -1);
	ck_assert_int_eq(errno, h2_to_h1_bad[_i].err);
	ck_assert_str_eq(dump(m), before);
}
END_TEST

START_TEST(test_h1_to_h2_response)
{
	const char *lines = ":status: 101\nUpgrade: websocket\nConnection: Upgrade\n"
	    "Sec-WebSocket-Accept: " RFC_ACCEPT "\nsec-websocket-protocol: chat\n";
	struct sy_msg *m = msg(SY_HTTP_11, lines);
	struct sy_upgrade_xlate x;

	memset(&x, 0, sizeof(x));
	x.websocket = true;
	/* The key came from the client: its accept goes back untouched. */
	ck_assert_int_eq(sy_upgrade_h1_to_h2_response(m, &x), 0);
	ck_assert_str_eq(dump(m), ":status=200;sec-websocket-accept=" RFC_ACCEPT ";sec-websocket-protocol=chat;");
	ck_assert_int_eq(m->status, 200);
	ck_assert_int_eq(m->version, SY_HTTP_2);
	/* We made the key up: the accept means nothing to the client. */
	m = msg(SY_HTTP_11, lines);
	x.key_generated = true;
	ck_assert_int_eq(sy_upgrade_h1_to_h2_response(m, &x), 0);
	ck_assert_str_eq(dump(m), ":status=200;sec-websocket-protocol=chat;");
	check_bytes(m);

	/* Not a 101: relayed as it is, minus connection-specific fields. */
	m = msg(SY_HTTP_11, ":status: 426\nconnection: keep-alive\nupgrade: websocket\n"
	    "transfer-encoding: chunked\ncontent-type: text/plain\n");
	ck_assert_int_eq(sy_upgrade_h1_to_h2_response(m, &x), 0);
	ck_assert_str_eq(dump(m), ":status=426;content-type=text/plain;");
	ck_assert_int_eq(m->version, SY_HTTP_2);
}
END_TEST

/*
 * The seed's chain: client -H1-> front -H2-> sidecar -H1-> app, and the
 * answer back, each hop checked as the proxy would.  _i: flags of the
 * front (0 or SY_UPGRADE_KEEP_WS_KEY).
 */
START_TEST(test_round_trip_websocket)
{
	unsigned front_flags = _i == 0 ? 0 : SY_UPGRADE_KEEP_WS_KEY;
	struct sy_msg *m = msg(SY_HTTP_11, H1_WS_REQ);
	struct sy_msg *resp;
	struct sy_upgrade_xlate xf, xs;
	struct sy_upgrade_req up;
	char app_accept[SY_WS_ACCEPT_LEN + 1];
	const char *key, *why;
	unsigned chosen;

	/* front: analyse, then extended CONNECT. */
	up = analyze(m);
	ck_assert_int_eq(up.outcome, SY_UPGRADE_ACCEPTED);
	ck_assert_int_eq(sy_upgrade_h1_to_h2_request(m, front_flags, &xf), 0);
	/* sidecar: analyse the extended CONNECT, then back to HTTP/1.1. */
	up = analyze(m);
	ck_assert_int_eq(up.outcome, SY_UPGRADE_ACCEPTED);
	ck_assert(up.extended_connect);
	ck_assert_int_eq(sy_upgrade_h2_to_h1_request(m, 0, &xs), 0);
	ck_assert_int_eq(sy_ws_check_request(m, &why), 0);
	ck_assert_str_eq(sy_msg_method(m), "GET");
	key = sy_headers_value(&m->headers, "sec-websocket-key");
	if (front_flags & SY_UPGRADE_KEEP_WS_KEY) {
		ck_assert_str_eq(key, RFC_KEY);
		ck_assert(!xs.key_generated);
	} else {
		ck_assert_str_ne(key, RFC_KEY);
		ck_assert(xs.key_generated);
	}

	/* app answers the key it saw. */
	ck_assert_int_eq(sy_ws_accept(key, app_accept), 0);
	resp = msg(SY_HTTP_11, ":status: 101\nupgrade: websocket\nconnection: upgrade\n");
	ck_assert_int_eq(sy_headers_add_cstr(&resp->headers, "sec-websocket-accept", app_accept), 0);
	ck_assert_int_eq(sy_upgrade_check_response(m, resp, &chosen, &why), SY_UPGRADE_RESP_TUNNEL);
	ck_assert_int_eq(sy_upgrade_h1_to_h2_response(resp, &xs), 0);
	ck_assert_int_eq(resp->status, 200);

	/* front: the HTTP/2 200 against the extended CONNECT it sent. */
	{
		struct sy_msg *sent = msg(SY_HTTP_2, XC_HEAD ":protocol: websocket\n");

		if (front_flags & SY_UPGRADE_KEEP_WS_KEY)
			sy_headers_add_cstr(&sent->headers, "sec-websocket-key", RFC_KEY);
		ck_assert_int_eq(sy_upgrade_check_response(sent, resp, &chosen, &why),
		    SY_UPGRADE_RESP_TUNNEL);
	}
	ck_assert_int_eq(sy_upgrade_h2_to_h1_response(resp, &xf), 0);
	/* client: a 101 whose accept proves its own key. */
	ck_assert_int_eq(resp->status, 101);
	ck_assert_str_eq(sy_headers_value(&resp->headers, "sec-websocket-accept"), RFC_ACCEPT);
	ck_assert_str_eq(sy_headers_value(&resp->headers, "upgrade"), "websocket");
	ck_assert_str_eq(sy_headers_value(&resp->headers, "connection"), "upgrade");
	{
		struct sy_msg *orig = msg(SY_HTTP_11, H1_WS_REQ);

		ck_assert_int_eq(sy_upgrade_check_response(orig, resp, &chosen, &why),
		    SY_UPGRADE_RESP_TUNNEL);
	}
}
END_TEST

/* POST with Upgrade: foo through the two hops: GET at the app, unless preserved. */
START_TEST(test_round_trip_method)
{
	unsigned flags = _i == 0 ? 0 : SY_UPGRADE_PRESERVE_METHOD;
	struct sy_msg *m = msg(SY_HTTP_11, ":method: POST\n:scheme: http\n:authority: a\n:path: /x\n"
	    "connection: upgrade\nupgrade: foo\n" SY_UPGRADE_METHOD_HEADER ": PUT\n");
	struct sy_msg *resp;
	struct sy_upgrade_xlate xf, xs;
	unsigned chosen;
	const char *why;

	ck_assert_int_eq(sy_upgrade_h1_to_h2_request(m, flags, &xf), 0);
	/* The client's own copy of the private header never survives. */
	if (flags != 0)
		ck_assert_str_eq(sy_headers_value(&m->headers, SY_UPGRADE_METHOD_HEADER), "POST");
	else
		ck_assert_ptr_null(sy_headers_get(&m->headers, SY_UPGRADE_METHOD_HEADER));
	ck_assert_int_eq(sy_upgrade_h2_to_h1_request(m, flags, &xs), 0);
	ck_assert_str_eq(sy_msg_method(m), flags != 0 ? "POST" : "GET");
	ck_assert_ptr_null(sy_headers_get(&m->headers, SY_UPGRADE_METHOD_HEADER));
	ck_assert_str_eq(sy_headers_value(&m->headers, "upgrade"), "foo");

	resp = msg(SY_HTTP_11, ":status: 101\nupgrade: foo\nconnection: upgrade\n");
	ck_assert_int_eq(sy_upgrade_check_response(m, resp, &chosen, &why), SY_UPGRADE_RESP_TUNNEL);
	ck_assert_int_eq(sy_upgrade_h1_to_h2_response(resp, &xs), 0);
	ck_assert_int_eq(sy_upgrade_h2_to_h1_response(resp, &xf), 0);
	ck_assert_str_eq(dump(resp), ":status=101;upgrade=foo;connection=upgrade;");
}
END_TEST

static Suite *
make_suite(void)
{
	Suite *s = suite_create("upgrade");
	TCase *tc;

	tc = tcase_create("decision");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_decision_table, 0, (int)SY_ARRAY_LEN(rows) * 2);
	tcase_add_test(tc, test_decision_case_insensitive);
	tcase_add_test(tc, test_decision_multiple_entries);
	tcase_add_test(tc, test_decision_versions);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_analyze_not_upgrade);
	tcase_add_test(tc, test_analyze_upgrade_without_connection_token);
	tcase_add_test(tc, test_analyze_http10_ignored);
	tcase_add_test(tc, test_analyze_list_all_allowed);
	tcase_add_test(tc, test_analyze_list_partly_allowed);
	tcase_add_test(tc, test_analyze_spaces_versions_empty_elements);
	tcase_add_test(tc, test_analyze_h2c_only);
	tcase_add_test(tc, test_analyze_h2c_with_other);
	tcase_add_test(tc, test_analyze_h2c_and_refused);
	tcase_add_loop_test(tc, test_analyze_connection_variants, 0, (int)SY_ARRAY_LEN(conn_cases));
	tcase_add_loop_test(tc, test_analyze_invalid_syntax, 0, (int)SY_ARRAY_LEN(invalid_upgrades));
	tcase_add_test(tc, test_analyze_too_many_tokens);
	tcase_add_test(tc, test_analyze_empty_list);
	tcase_add_test(tc, test_analyze_rejected);
	tcase_add_test(tc, test_analyze_route_overrides);
	tcase_add_test(tc, test_analyze_websocket_checked);
	tcase_add_test(tc, test_analyze_chain_of_first_token);
	tcase_add_test(tc, test_analyze_extended_connect);
	suite_add_tcase(s, tc);

	tc = tcase_create("hop-by-hop");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_strip_hop_by_hop);
	tcase_add_test(tc, test_strip_response);
	tcase_add_test(tc, test_prepare_h1_request);
	tcase_add_test(tc, test_prepare_h1_response);
	suite_add_tcase(s, tc);

	tc = tcase_create("websocket");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ws_accept_rfc6455);
	tcase_add_test(tc, test_ws_key_generate);
	tcase_add_loop_test(tc, test_ws_key_valid, 0, (int)SY_ARRAY_LEN(ws_keys));
	tcase_add_loop_test(tc, test_ws_check_request, 0, (int)SY_ARRAY_LEN(ws_requests));
	suite_add_tcase(s, tc);

	tc = tcase_create("response");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_check_response, 0, (int)SY_ARRAY_LEN(checks));
	suite_add_tcase(s, tc);

	tc = tcase_create("h2");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_h1_to_h2_request_websocket);
	tcase_add_test(tc, test_h1_to_h2_request_keep_key);
	tcase_add_test(tc, test_h1_to_h2_request_first_token);
	tcase_add_loop_test(tc, test_h1_to_h2_request_refused, 0, (int)SY_ARRAY_LEN(h1_to_h2_bad));
	tcase_add_test(tc, test_h2_to_h1_response_websocket);
	tcase_add_test(tc, test_h2_to_h1_response_other_status);
	tcase_add_test(tc, test_h2_to_h1_request_websocket_no_key);
	tcase_add_test(tc, test_h2_to_h1_request_websocket_with_key);
	tcase_add_test(tc, test_h2_to_h1_request_method_flaw);
	tcase_add_loop_test(tc, test_h2_to_h1_request_refused, 0, (int)SY_ARRAY_LEN(h2_to_h1_bad));
	tcase_add_test(tc, test_h1_to_h2_response);
	tcase_add_loop_test(tc, test_round_trip_websocket, 0, 2);
	tcase_add_loop_test(tc, test_round_trip_method, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

SY_UNIT_MAIN(make_suite)
