/*
 * test_route.c - virtual-host and route selection in src/route/route.c.
 * Configurations are real ones, parsed by sy_conf_load_string(), so the
 * tests also pin how the parser hands domains and anchored regexes to the
 * router.  Requests are version-blind struct sy_msg heads built with
 * sy_headers_add().  Each route answers a distinct direct_response body,
 * which names the route that matched.  Cases are tables.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchyard/conf.h"
#include "switchyard/http.h"
#include "switchyard/route.h"
#include "unit.h"

/* ---- helpers ----------------------------------------------------------- */

static struct sy_conf *
conf_load(const char *text)
{
	struct sy_conf_errors errs;
	struct sy_conf *c;

	sy_conf_errors_init(&errs);
	c = sy_conf_load_string(text, "test.conf", &errs);
	if (c == NULL)
		sy_conf_errors_print(&errs, stderr);
	ck_assert_msg(c != NULL, "configuration refused (%u errors, see stderr)", errs.n);
	sy_conf_errors_fini(&errs);
	ck_assert_uint_ge(c->nlisteners, 1);
	return c;
}

#define LISTENER_HEAD \
	"listeners = ( { name = \"l\"; address = \"127.0.0.1:8080\";\n" \
	"  http = { stat_prefix = \"t\"; route_config = { virtual_hosts = (\n"
#define LISTENER_TAIL "  ); }; }; } );\n"
/* A virtual host whose only route answers its name. */
#define VHOST(name, domains) \
	"{ name = \"" name "\"; domains = [ " domains " ];\n" \
	"  routes = ( { match = { prefix = \"/\"; }; direct_response = { status = 200; body = \"" name "\"; }; } ); }"

/* A request head in its own arena: method, path, authority may be NULL. */
struct req {
	struct sy_arena arena;
	struct sy_msg msg;
};

static void
req_init(struct req *r, const char *method, const char *path, const char *authority)
{
	sy_arena_init(&r->arena, 1024);
	sy_msg_init(&r->msg, &r->arena);
	if (method != NULL)
		ck_assert_int_eq(sy_headers_add(&r->msg.headers, ":method", 7, method, strlen(method)), 0);
	if (path != NULL)
		ck_assert_int_eq(sy_headers_add(&r->msg.headers, ":path", 5, path, strlen(path)), 0);
	if (authority != NULL)
		ck_assert_int_eq(sy_headers_add(&r->msg.headers, ":authority", 10,
		    authority, strlen(authority)), 0);
}

static void
req_header(struct req *r, const char *name, const char *value)
{
	ck_assert_int_eq(sy_headers_add(&r->msg.headers, name, strlen(name), value, strlen(value)), 0);
}

static void
req_fini(struct req *r)
{
	sy_arena_fini(&r->arena);
}

/* Name of the route that matched (its body), or "NULL". */
static const char *
route_name(const struct sy_conf_route *rt)
{
	if (rt == NULL)
		return "NULL";
	ck_assert(rt->has_direct_response);
	return rt->direct_response.body != NULL ? rt->direct_response.body : "(no body)";
}

/* ---- domain patterns ---------------------------------------------------- */

static const struct {
	const char *pattern;
	const char *host;
	int hostlen;		/* -1: strlen(host) */
	bool match;
} domain_cases[] = {
	{ "*", "anything.example", -1, true },
	{ "*", "", -1, true },
	{ "example.com", "example.com", -1, true },
	{ "example.com", "example.co", -1, false },
	{ "example.com", "example.comm", -1, false },
	{ "example.com", "xexample.com", -1, false },
	{ "example.com", "", -1, false },
	/* hostlen bounds the host: the port after it is not looked at. */
	{ "example.com", "example.com:8080", 11, true },
	{ "example.com", "example.com", 7, false },
	{ "*.example.com", "www.example.com", -1, true },
	{ "*.example.com", "a.b.example.com", -1, true },
	{ "*.example.com", "x.example.com:80", 13, true },
	/* The wildcard stands for at least one character. */
	{ "*.example.com", ".example.com", -1, false },
	{ "*.example.com", "example.com", -1, false },
	{ "*.example.com", "www.example.co", -1, false },
	{ "*.example.com", "wwwexample.com", -1, false },
	{ "*-bar.com", "foo-bar.com", -1, true },
	{ "*-bar.com", "-bar.com", -1, false },
	{ "www.*", "www.example.org", -1, true },
	{ "www.*", "www.x", -1, true },
	{ "www.*", "www.", -1, false },
	{ "www.*", "www", -1, false },
	{ "www.*", "wwwx.example.org", -1, false },
	{ "www.*", "www.example.org:443", 15, true },
	{ "foo*", "foobar", -1, true },
	{ "foo*", "foo", -1, false },
	/* Hosts are compared without regard to ASCII case. */
	{ "example.com", "EXAMPLE.com", -1, true },
	{ "*.example.com", "WWW.EXAMPLE.COM", -1, true },
	{ "www.*", "WWW.Example.org", -1, true },
};

START_TEST(test_domain_matches)
{
	const char *host = domain_cases[_i].host;
	size_t len = domain_cases[_i].hostlen < 0 ? strlen(host) : (size_t)domain_cases[_i].hostlen;

	ck_assert_msg(sy_route_domain_matches(domain_cases[_i].pattern, host, len) == domain_cases[_i].match,
	    "pattern \"%s\" host \"%.*s\": expected %s", domain_cases[_i].pattern, (int)len, host,
	    domain_cases[_i].match ? "match" : "no match");
}
END_TEST

/* ---- virtual hosts ------------------------------------------------------ */

static const char vhost_conf[] =
    LISTENER_HEAD
    VHOST("any", "\"*\"") ",\n"
    VHOST("pre_short", "\"www.*\"") ",\n"
    VHOST("suf_short", "\"*.com\"") ",\n"
    VHOST("exact", "\"www.example.com\", \"Mixed.Example.NET\"") ",\n"
    VHOST("pre_long", "\"www.example.*\"") ",\n"
    VHOST("suf_long", "\"*.example.com\"") ",\n"
    VHOST("v6", "\"[::1]\"") ",\n"
    VHOST("v4", "\"127.0.0.1\"") ",\n"
    VHOST("dash", "\"*-api.example.com\"") "\n"
    LISTENER_TAIL;

static const struct {
	const char *authority;	/* NULL: no :authority at all */
	const char *vhost;
} vhost_cases[] = {
	{ "www.example.com", "exact" },
	{ "www.example.com:8080", "exact" },
	{ "WWW.Example.COM", "exact" },
	{ "WWW.EXAMPLE.COM:443", "exact" },
	/* Domains are lower-cased when the configuration is loaded. */
	{ "mixed.example.net", "exact" },
	{ "MIXED.example.net:1", "exact" },
	/* Suffixes: the longest wins, whatever the order in the file. */
	{ "api.example.com", "suf_long" },
	{ "a.b.example.com:80", "suf_long" },
	{ "foo.other.com", "suf_short" },
	{ "example.com", "suf_short" },
	/* "*-api.example.com" is a longer suffix than "*.example.com". */
	{ "v2-api.example.com", "dash" },
	/* A suffix beats a prefix, even a longer one. */
	{ "www.a.com", "suf_short" },
	{ "www.example.co.com", "suf_short" },
	/* Prefixes: the longest wins. */
	{ "www.example.org", "pre_long" },
	{ "www.example.org:8443", "pre_long" },
	{ "www.foo.org", "pre_short" },
	{ "WWW.foo.org", "pre_short" },
	/* Everything else falls to "*". */
	{ "other.net", "any" },
	{ "other.net:80", "any" },
	{ "www", "any" },
	{ "", "any" },
	{ NULL, "any" },
	/* IP literals: the port is stripped, IPv6 keeps its brackets. */
	{ "[::1]:8080", "v6" },
	{ "[::1]", "v6" },
	{ "[::2]:8080", "any" },
	{ "127.0.0.1:8080", "v4" },
	{ "127.0.0.1", "v4" },
	{ "127.0.0.10", "any" },
};

START_TEST(test_vhost_select)
{
	struct sy_conf *c = conf_load(vhost_conf);
	const struct sy_conf_vhost *vh;

	ck_assert_uint_eq(c->listeners[0].http.nvirtual_hosts, 9);
	vh = sy_route_vhost(&c->listeners[0].http, vhost_cases[_i].authority);
	ck_assert_msg(vh != NULL, "authority \"%s\": no virtual host, expected %s",
	    vhost_cases[_i].authority ? vhost_cases[_i].authority : "(none)", vhost_cases[_i].vhost);
	ck_assert_msg(strcmp(vh->name, vhost_cases[_i].vhost) == 0,
	    "authority \"%s\": virtual host %s, expected %s",
	    vhost_cases[_i].authority ? vhost_cases[_i].authority : "(none)", vh->name,
	    vhost_cases[_i].vhost);
	sy_conf_free(c);
}
END_TEST

/* Without "*", an authority nobody serves has no virtual host. */
START_TEST(test_vhost_none)
{
	static const char text[] =
	    LISTENER_HEAD
	    VHOST("a", "\"a.example\"") ",\n"
	    VHOST("b", "\"*.b.example\"") ",\n"
	    VHOST("c", "\"c.*\"") "\n"
	    LISTENER_TAIL;
	static const char *const misses[] = {
		"b.example", "x.example", "example", "", "[::1]:8080", "a.example.org", "cc.example",
		"a.exampl", "aa.example",
	};
	struct sy_conf *c = conf_load(text);
	const struct sy_conf_http *http = &c->listeners[0].http;
	const struct sy_conf_vhost *vh;
	struct sy_conf_http empty;
	unsigned i;

	for (i = 0; i < SY_ARRAY_LEN(misses); i++) {
		vh = sy_route_vhost(http, misses[i]);
		ck_assert_msg(vh == NULL, "authority \"%s\" matched virtual host %s",
		    misses[i], vh ? vh->name : "");
	}
	ck_assert_ptr_null(sy_route_vhost(http, NULL));
	/* And the hits, as a control. */
	ck_assert_str_eq(sy_route_vhost(http, "a.example:80")->name, "a");
	ck_assert_str_eq(sy_route_vhost(http, "x.b.example")->name, "b");
	ck_assert_str_eq(sy_route_vhost(http, "c.example")->name, "c");

	/* No virtual hosts at all. */
	memset(&empty, 0, sizeof(empty));
	ck_assert_ptr_null(sy_route_vhost(&empty, "a.example"));
	ck_assert_ptr_null(sy_route_vhost(&empty, NULL));
	sy_conf_free(c);
}
END_TEST

/* ---- routes ------------------------------------------------------------- */

#define ROUTE(match, body) \
	"{ match = { " match " }; direct_response = { status = 200; body = \"" body "\"; }; }"

static const char route_conf[] =
    LISTENER_HEAD
    "{ name = \"all\"; domains = [ \"*\" ]; routes = (\n"
    ROUTE("path = \"/exact\";", "exact") ",\n"
    ROUTE("safe_regex = \"/re/[0-9]+\";", "regex") ",\n"
    ROUTE("safe_regex = \"/alt/a|/alt/b\";", "alt") ",\n"
    ROUTE("prefix = \"/api/\"; headers = ( { name = \"x-ver\"; exact_match = \"2\"; } );", "api-v2") ",\n"
    ROUTE("prefix = \"/api/\"; headers = ( { name = \"X-Tok\"; prefix_match = \"Bearer \"; } );", "api-bearer") ",\n"
    ROUTE("prefix = \"/api/\"; headers = ( { name = \"x-id\"; safe_regex_match = \"[a-f0-9]{4}\"; } );", "api-id") ",\n"
    ROUTE("prefix = \"/api/\"; headers = ( { name = \"x-debug\"; present_match = true; } );", "api-debug") ",\n"
    ROUTE("prefix = \"/api/\"; headers = ( { name = \"x-internal\"; present_match = true; invert_match = true; },"
        " { name = \":method\"; exact_match = \"GET\"; } );", "api-public-get") ",\n"
    ROUTE("prefix = \"/api/\"; headers = ( { name = \"x-env\"; exact_match = \"prod\"; invert_match = true; },"
        " { name = \":method\"; exact_match = \"PUT\"; } );", "api-put-nonprod") ",\n"
    ROUTE("prefix = \"/api/\"; headers = ( { name = \"x-a\"; exact_match = \"1\"; },"
        " { name = \"x-b\"; exact_match = \"2\"; } );", "api-both") ",\n"
    ROUTE("prefix = \"/api\";", "api-any") ",\n"
    ROUTE("prefix = \"/static\";", "static") ",\n"
    ROUTE("path = \"/\";", "root") "\n"
    "  ); }\n"
    LISTENER_TAIL;

struct hdr {
	const char *name, *value;
};

static const struct {
	const char *method;
	const char *path;
	struct hdr headers[3];
	const char *route;	/* "NULL": nothing matches */
} route_cases[] = {
	/* Exact path; the query string is not part of the path. */
	{ "GET", "/exact", { { NULL, NULL } }, "exact" },
	{ "GET", "/exact?x=1&y=/api", { { NULL, NULL } }, "exact" },
	{ "GET", "/exact?", { { NULL, NULL } }, "exact" },
	{ "GET", "/exact/", { { NULL, NULL } }, "NULL" },
	{ "GET", "/exactly", { { NULL, NULL } }, "NULL" },
	{ "GET", "/Exact", { { NULL, NULL } }, "NULL" },
	{ "GET", "/exac", { { NULL, NULL } }, "NULL" },
	/* safe_regex must match the whole path (anchored at both ends). */
	{ "GET", "/re/123", { { NULL, NULL } }, "regex" },
	{ "GET", "/re/1?x=abc", { { NULL, NULL } }, "regex" },
	{ "GET", "/re/12a", { { NULL, NULL } }, "NULL" },
	{ "GET", "/x/re/12", { { NULL, NULL } }, "NULL" },
	{ "GET", "/re/", { { NULL, NULL } }, "NULL" },
	{ "GET", "/re/12/", { { NULL, NULL } }, "NULL" },
	/* Anchoring covers alternations as a whole. */
	{ "GET", "/alt/a", { { NULL, NULL } }, "alt" },
	{ "GET", "/alt/b", { { NULL, NULL } }, "alt" },
	{ "GET", "/alt/ab", { { NULL, NULL } }, "NULL" },
	{ "GET", "/x/alt/b", { { NULL, NULL } }, "NULL" },
	/* Header matchers: exact. */
	{ "POST", "/api/x", { { "x-ver", "2" } }, "api-v2" },
	{ "POST", "/api/x", { { "X-Ver", "2" } }, "api-v2" },
	{ "POST", "/api/x", { { "x-ver", "3" } }, "api-any" },
	{ "POST", "/api/x", { { "x-ver", "22" } }, "api-any" },
	{ "POST", "/api/x", { { "x-ver", "" } }, "api-any" },
	/* prefix (names in the file are lower-cased too; values are not). */
	{ "POST", "/api/x", { { "x-tok", "Bearer abc" } }, "api-bearer" },
	{ "POST", "/api/x", { { "x-tok", "Bearer " } }, "api-bearer" },
	{ "POST", "/api/x", { { "x-tok", "bearer abc" } }, "api-any" },
	{ "POST", "/api/x", { { "x-tok", "Bearer" } }, "api-any" },
	/* regex, anchored. */
	{ "POST", "/api/x", { { "x-id", "beef" } }, "api-id" },
	{ "POST", "/api/x", { { "x-id", "beef0" } }, "api-any" },
	{ "POST", "/api/x", { { "x-id", "xbeef" } }, "api-any" },
	{ "POST", "/api/x", { { "x-id", "BEEF" } }, "api-any" },
	/* present, whatever the value, even empty. */
	{ "POST", "/api/x", { { "x-debug", "" } }, "api-debug" },
	{ "POST", "/api/x", { { "x-debug", "0" } }, "api-debug" },
	{ "POST", "/api/x", { { "x-debugger", "1" } }, "api-any" },
	/* invert: absent x-internal, and a pseudo-header matcher. */
	{ "GET", "/api/x", { { NULL, NULL } }, "api-public-get" },
	{ "GET", "/api/x", { { "x-internal", "" } }, "api-any" },
	{ "GET", "/api/x", { { "x-internal", "1" } }, "api-any" },
	{ "HEAD", "/api/x", { { NULL, NULL } }, "api-any" },
	/* invert of a value matcher negates a present header's result; an
	 * absent header fails it (Envoy's rule). */
	{ "PUT", "/api/x", { { "x-env", "dev" } }, "api-put-nonprod" },
	{ "PUT", "/api/x", { { NULL, NULL } }, "api-any" },
	{ "PUT", "/api/x", { { "x-env", "prod" } }, "api-any" },
	/* Every header matcher of a route must match. */
	{ "POST", "/api/x", { { "x-a", "1" }, { "x-b", "2" } }, "api-both" },
	{ "POST", "/api/x", { { "x-b", "2" }, { "x-a", "1" } }, "api-both" },
	{ "POST", "/api/x", { { "x-a", "1" } }, "api-any" },
	{ "POST", "/api/x", { { "x-a", "1" }, { "x-b", "3" } }, "api-any" },
	/* First match wins, in file order. */
	{ "POST", "/api/x", { { "x-debug", "1" }, { "x-ver", "2" } }, "api-v2" },
	{ "GET", "/api/x", { { "x-ver", "2" } }, "api-v2" },
	{ "POST", "/api/x", { { "x-id", "0000" }, { "x-tok", "Bearer z" } }, "api-bearer" },
	/* Prefix: plain string prefix, case-sensitive, query ignored. */
	{ "POST", "/api/", { { "x-ver", "2" } }, "api-v2" },
	{ "POST", "/api", { { "x-ver", "2" } }, "api-any" },
	{ "POST", "/apix", { { NULL, NULL } }, "api-any" },
	{ "POST", "/api?x-ver=2", { { NULL, NULL } }, "api-any" },
	{ "POST", "/ap", { { NULL, NULL } }, "NULL" },
	{ "POST", "/API/x", { { NULL, NULL } }, "NULL" },
	{ "GET", "/static/app.js", { { NULL, NULL } }, "static" },
	{ "GET", "/static?v=1", { { NULL, NULL } }, "static" },
	{ "GET", "/staticfoo", { { NULL, NULL } }, "static" },
	/* The prefix must fit in the path without its query. */
	{ "GET", "/stat?ic", { { NULL, NULL } }, "NULL" },
	{ "GET", "/static", { { NULL, NULL } }, "static" },
	{ "GET", "/", { { NULL, NULL } }, "root" },
	{ "GET", "/?q", { { NULL, NULL } }, "root" },
	{ "GET", "/nothing", { { NULL, NULL } }, "NULL" },
	{ "GET", "", { { NULL, NULL } }, "NULL" },
	{ "GET", "?x", { { NULL, NULL } }, "NULL" },
};

START_TEST(test_route_match)
{
	struct sy_conf *c = conf_load(route_conf);
	const struct sy_conf_vhost *vh = sy_route_vhost(&c->listeners[0].http, "h.example");
	struct req r;
	unsigned j;
	const char *got;

	ck_assert_ptr_nonnull(vh);
	req_init(&r, route_cases[_i].method, route_cases[_i].path, "h.example");
	for (j = 0; j < SY_ARRAY_LEN(route_cases[_i].headers) && route_cases[_i].headers[j].name; j++)
		req_header(&r, route_cases[_i].headers[j].name, route_cases[_i].headers[j].value);
	got = route_name(sy_route_match(vh, &r.msg));
	ck_assert_msg(strcmp(got, route_cases[_i].route) == 0,
	    "case %d: %s \"%s\" (first header %s): route %s, expected %s", _i,
	    route_cases[_i].method, route_cases[_i].path,
	    route_cases[_i].headers[0].name ? route_cases[_i].headers[0].name : "none",
	    got, route_cases[_i].route);
	req_fini(&r);
	sy_conf_free(c);
}
END_TEST

/* No virtual host, no path, no routes: NULL, never a crash. */
START_TEST(test_route_null)
{
	static const char text[] =
	    LISTENER_HEAD
	    "{ name = \"a\"; domains = [ \"a.example\" ]; routes = ( " ROUTE("prefix = \"/\";", "a") " ); },\n"
	    "{ name = \"b\"; domains = [ \"b.example\" ]; }\n"
	    LISTENER_TAIL;
	struct sy_conf *c = conf_load(text);
	const struct sy_conf_http *http = &c->listeners[0].http;
	const struct sy_conf_vhost *a, *b;
	struct req r;

	a = sy_route_vhost(http, "a.example");
	b = sy_route_vhost(http, "b.example");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->nroutes, 0);

	req_init(&r, "GET", "/x", "z.example");
	ck_assert_ptr_null(sy_route_vhost(http, sy_msg_authority(&r.msg)));
	ck_assert_ptr_null(sy_route_match(NULL, &r.msg));
	ck_assert_str_eq(route_name(sy_route_match(a, &r.msg)), "a");
	ck_assert_ptr_null(sy_route_match(b, &r.msg));
	req_fini(&r);

	/* A request without :path matches nothing, not even prefix "/". */
	req_init(&r, "GET", NULL, "a.example");
	ck_assert_ptr_null(sy_route_match(a, &r.msg));
	req_fini(&r);
	sy_conf_free(c);
}
END_TEST

/* The matching route is the configuration's own element. */
START_TEST(test_route_identity)
{
	struct sy_conf *c = conf_load(route_conf);
	const struct sy_conf_http *http = &c->listeners[0].http;
	const struct sy_conf_vhost *vh = sy_route_vhost(http, "x");
	const struct sy_conf_route *rt;
	struct req r;

	ck_assert_ptr_eq(vh, &http->virtual_hosts[0]);
	req_init(&r, "GET", "/exact", "x");
	rt = sy_route_match(vh, &r.msg);
	ck_assert_ptr_eq(rt, &vh->routes[0]);
	ck_assert_int_eq(rt->direct_response.status, 200);
	ck_assert_str_eq(rt->path, "/exact");
	req_fini(&r);
	sy_conf_free(c);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite *s = suite_create("route");
	TCase *dom = tcase_create("domain");
	TCase *vh = tcase_create("vhost");
	TCase *rt = tcase_create("route");

	tcase_add_loop_test(dom, test_domain_matches, 0, (int)SY_ARRAY_LEN(domain_cases));
	suite_add_tcase(s, dom);

	tcase_add_loop_test(vh, test_vhost_select, 0, (int)SY_ARRAY_LEN(vhost_cases));
	tcase_add_test(vh, test_vhost_none);
	suite_add_tcase(s, vh);

	tcase_add_loop_test(rt, test_route_match, 0, (int)SY_ARRAY_LEN(route_cases));
	tcase_add_test(rt, test_route_null);
	tcase_add_test(rt, test_route_identity);
	suite_add_tcase(s, rt);
	return s;
}

SY_UNIT_MAIN(make_suite)
