/*
 * test_conf.c - the configuration module: every key and its default, every
 * error path with its exact "file:line: reason", durations, relative paths
 * and includes from real files, the JSON dump (checked by a small JSON
 * reader), --list-keys, the restart-only comparison, and the generic table
 * walker driven by a table of its own (cross references).  Error cases are
 * one table: input text and the exact output of sy_conf_errors_print.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "switchyard/conf.h"
#include "switchyard/log.h"
#include "src/conf/conf_int.h"
#include "unit.h"

/* One listener, all on line 1. */
#define L1 "listeners = ( { name = \"l\"; address = \"127.0.0.1:8080\"; http = { stat_prefix = \"p\"; }; } );\n"
/* Line 1 opens a listener's http group; what follows starts on line 2. */
#define HTTP_OPEN "listeners = ( { name = \"l\"; address = \"127.0.0.1:8080\"; http = { stat_prefix = \"p\";\n"
#define HTTP_CLOSE "}; } );\n"
/* Lines 1-2 open a virtual host's routes; the routes start on line 3. */
#define VH_OPEN HTTP_OPEN "route_config = { virtual_hosts = ( { name = \"v\"; domains = [ \"*\" ]; routes = (\n"
#define VH_CLOSE "\n); } ); };\n" HTTP_CLOSE
#define DR "direct_response = { status = 200; };"
#define RP "listeners.http.route_config.virtual_hosts.routes"

/* Everything sy_conf_errors_print says about text, malloc'd. */
static char *
errors_of(const char *text)
{
	struct sy_conf_errors e;
	struct sy_conf *c;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	sy_conf_errors_init(&e);
	c = sy_conf_load_string(text, "test.conf", &e);
	if (c != NULL)
		fputs("(loaded)\n", f);
	ck_assert(c != NULL || e.n > 0);
	sy_conf_errors_print(&e, f);
	fclose(f);
	sy_conf_free(c);
	sy_conf_errors_fini(&e);
	return out;
}

static struct sy_conf *
load_ok_as(const char *text, const char *name)
{
	struct sy_conf_errors e;
	struct sy_conf *c;

	sy_conf_errors_init(&e);
	c = sy_conf_load_string(text, name, &e);
	if (c == NULL)
		sy_conf_errors_print(&e, stderr);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(e.n, 0);
	sy_conf_errors_fini(&e);
	return c;
}

static struct sy_conf *
load_ok(const char *text)
{
	return load_ok_as(text, "/srv/sy/test.conf");
}

/* ---- defaults and every key -------------------------------------------- */

START_TEST(test_defaults)
{
	struct sy_conf *c = load_ok(L1);
	const struct sy_conf_listener *l;
	const struct sockaddr_in *sin;

	ck_assert_str_eq(c->path, "/srv/sy/test.conf");
	ck_assert_str_eq(c->dir, "/srv/sy");
	ck_assert_int_eq(c->workers, 2);
	ck_assert(!c->workers_auto);
	ck_assert_int_eq(c->worker_connections, 10000);
	ck_assert_int_eq(c->drain_timeout, 30000);
	ck_assert_ptr_null(c->pid_file);
	ck_assert_ptr_null(c->user);
	ck_assert_ptr_null(c->group);
	ck_assert_int_eq(c->log.level, SY_LOG_NOTICE);
	ck_assert_ptr_null(c->log.error_log);
	ck_assert_ptr_null(c->log.access_log);
	ck_assert_ptr_null(c->admin.socket);
	ck_assert_int_eq(c->admin.socket_mode, 0600);
	ck_assert_ptr_null(c->admin.address);
	ck_assert_uint_eq(c->admin.salen, 0);
	ck_assert(!c->admin.allow_remote);
	ck_assert_uint_eq(c->nlisteners, 1);
	l = &c->listeners[0];
	ck_assert_int_eq(l->line, 1);
	ck_assert_str_eq(l->name, "l");
	ck_assert_str_eq(l->address, "127.0.0.1:8080");
	ck_assert_str_eq(l->addr_label, "127.0.0.1:8080");
	ck_assert_uint_eq(l->salen, sizeof(struct sockaddr_in));
	sin = (const struct sockaddr_in *)&l->sa;
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_int_eq(ntohs(sin->sin_port), 8080);
	ck_assert_int_eq(l->backlog, 511);
	ck_assert_str_eq(l->http.stat_prefix, "p");
	ck_assert_int_eq(l->http.codec_type, SY_CODEC_AUTO);
	ck_assert_int_eq(l->http.request_headers_timeout, 10000);
	ck_assert_int_eq(l->http.idle_timeout, 3600000);
	ck_assert_int_eq(l->http.stream_idle_timeout, 300000);
	ck_assert_int_eq(l->http.max_request_headers_kb, 60);
	ck_assert_int_eq(l->http.max_headers_count, 100);
	ck_assert_uint_eq(l->http.nvirtual_hosts, 0);
	ck_assert_ptr_null(l->http.virtual_hosts);
	sy_conf_free(c);
}
END_TEST

static const char every_key[] =
	"workers = 7;\n"						/* 1 */
	"worker_connections = 1;\n"
	"drain_timeout = \"1500ms\";\n"
	"pid_file = \"/run/sy.pid\";\n"
	"user = \"root\";\n"						/* 5 */
	"group = \"root\";\n"
	"log = { level = \"debug\"; error_log = \"/var/log/sy.err\"; access_log = \"/var/log/sy.acc\"; };\n"
	"admin = { socket = \"/run/sy/admin.sock\"; socket_mode = \"0660\";\n"
	"  address = \"10.0.0.1:9901\"; allow_remote = true; };\n"
	"listeners = (\n"						/* 10 */
	"  { name = \"one\"; address = \"[::1]:8443\"; backlog = 4096;\n"
	"    http = { stat_prefix = \"one_http\"; codec_type = \"http1\";\n"
	"      request_headers_timeout = \"2s\"; idle_timeout = \"0\"; stream_idle_timeout = \"1d\";\n"
	"      max_request_headers_kb = 8192; max_headers_count = 10000;\n"
	"      route_config = { virtual_hosts = (\n"			/* 15 */
	"        { name = \"a\"; domains = [ \"Example.COM\", \"*.example.com\", \"www.*\" ];\n"
	"          routes = (\n"
	"            { match = { prefix = \"/p\"; headers = (\n"
	"                { name = \"X-Exact\"; exact_match = \"v\"; },\n"
	"                { name = \"x-prefix\"; prefix_match = \"pre\"; invert_match = true; },\n" /* 20 */
	"                { name = \":method\"; safe_regex_match = \"GET|HEAD\"; },\n"
	"                { name = \"x-present\"; present_match = true; } ); };\n"
	"              direct_response = { status = 503; body = \"down\\n\"; }; },\n"
	"            { match = { path = \"/exact\"; }; direct_response = { status = 204; }; },\n"
	"            { match = { safe_regex = \"/re/[0-9]+\"; }; direct_response = { status = 599; body = \"\"; }; }\n" /* 25 */
	"          ); },\n"
	"        { name = \"b\"; domains = [ \"*\" ]; }\n"
	"      ); };\n"
	"    }; },\n"
	"  { name = \"two\"; address = \"*:80\"; http = { stat_prefix = \"two_http\"; codec_type = \"auto\"; }; }\n" /* 30 */
	");\n";

START_TEST(test_every_key)
{
	struct sy_conf *c = load_ok(every_key);
	const struct sy_conf_listener *l;
	const struct sy_conf_vhost *vh;
	const struct sy_conf_route *r;
	const struct sy_conf_header_match *h;
	const struct sockaddr_in6 *sin6;
	const struct sockaddr_in *sin;

	ck_assert_int_eq(c->workers, 7);
	ck_assert(!c->workers_auto);
	ck_assert_int_eq(c->worker_connections, 1);
	ck_assert_int_eq(c->drain_timeout, 1500);
	ck_assert_str_eq(c->pid_file, "/run/sy.pid");
	ck_assert_str_eq(c->user, "root");
	ck_assert_str_eq(c->group, "root");
	ck_assert_int_eq(c->log.level, SY_LOG_DEBUG);
	ck_assert_str_eq(c->log.error_log, "/var/log/sy.err");
	ck_assert_str_eq(c->log.access_log, "/var/log/sy.acc");
	ck_assert_str_eq(c->admin.socket, "/run/sy/admin.sock");
	ck_assert_int_eq(c->admin.socket_mode, 0660);
	ck_assert_str_eq(c->admin.address, "10.0.0.1:9901");
	ck_assert_uint_eq(c->admin.salen, sizeof(struct sockaddr_in));
	sin = (const struct sockaddr_in *)&c->admin.sa;
	ck_assert_int_eq(ntohs(sin->sin_port), 9901);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x0a000001);
	ck_assert(c->admin.allow_remote);

	ck_assert_uint_eq(c->nlisteners, 2);
	l = &c->listeners[0];
	ck_assert_int_eq(l->line, 11);
	ck_assert_str_eq(l->name, "one");
	ck_assert_str_eq(l->address, "[::1]:8443");
	ck_assert_str_eq(l->addr_label, "[::1]:8443");
	ck_assert_uint_eq(l->salen, sizeof(struct sockaddr_in6));
	sin6 = (const struct sockaddr_in6 *)&l->sa;
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_int_eq(ntohs(sin6->sin6_port), 8443);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	ck_assert_int_eq(l->backlog, 4096);
	ck_assert_str_eq(l->http.stat_prefix, "one_http");
	ck_assert_int_eq(l->http.codec_type, SY_CODEC_HTTP1);
	ck_assert_int_eq(l->http.request_headers_timeout, 2000);
	ck_assert_int_eq(l->http.idle_timeout, 0);
	ck_assert_int_eq(l->http.stream_idle_timeout, 86400000);
	ck_assert_int_eq(l->http.max_request_headers_kb, 8192);
	ck_assert_int_eq(l->http.max_headers_count, 10000);
	ck_assert_uint_eq(l->http.nvirtual_hosts, 2);

	vh = &l->http.virtual_hosts[0];
	ck_assert_int_eq(vh->line, 16);
	ck_assert_str_eq(vh->name, "a");
	ck_assert_uint_eq(vh->ndomains, 3);
	ck_assert_str_eq(vh->domains[0], "example.com");	/* lower-cased */
	ck_assert_str_eq(vh->domains[1], "*.example.com");
	ck_assert_str_eq(vh->domains[2], "www.*");
	ck_assert_uint_eq(vh->nroutes, 3);

	r = &vh->routes[0];
	ck_assert_int_eq(r->line, 18);
	ck_assert_str_eq(r->prefix, "/p");
	ck_assert_ptr_null(r->path);
	ck_assert_ptr_null(r->safe_regex);
	ck_assert(r->has_direct_response);
	ck_assert_int_eq(r->direct_response.status, 503);
	ck_assert_str_eq(r->direct_response.body, "down\n");
	ck_assert_uint_eq(r->direct_response.body_len, 5);
	ck_assert_uint_eq(r->nheaders, 4);
	h = &r->headers[0];
	ck_assert_int_eq(h->line, 19);
	ck_assert_str_eq(h->name, "x-exact");			/* lower-cased */
	ck_assert_str_eq(h->exact_match, "v");
	ck_assert(!h->invert_match && !h->present_match);
	h = &r->headers[1];
	ck_assert_str_eq(h->name, "x-prefix");
	ck_assert_str_eq(h->prefix_match, "pre");
	ck_assert(h->invert_match);
	h = &r->headers[2];
	ck_assert_str_eq(h->name, ":method");
	ck_assert_str_eq(h->safe_regex, "GET|HEAD");
	ck_assert_int_eq(regexec(&h->re, "GET", 0, NULL, 0), 0);
	ck_assert_int_eq(regexec(&h->re, "HEAD", 0, NULL, 0), 0);
	ck_assert_int_ne(regexec(&h->re, "GETX", 0, NULL, 0), 0);	/* anchored */
	ck_assert_int_ne(regexec(&h->re, "XHEAD", 0, NULL, 0), 0);
	h = &r->headers[3];
	ck_assert_str_eq(h->name, "x-present");
	ck_assert(h->present_match);
	ck_assert_ptr_null(h->exact_match);

	r = &vh->routes[1];
	ck_assert_str_eq(r->path, "/exact");
	ck_assert_ptr_null(r->prefix);
	ck_assert_uint_eq(r->nheaders, 0);
	ck_assert_int_eq(r->direct_response.status, 204);
	ck_assert_ptr_null(r->direct_response.body);
	ck_assert_uint_eq(r->direct_response.body_len, 0);

	r = &vh->routes[2];
	ck_assert_str_eq(r->safe_regex, "/re/[0-9]+");
	ck_assert_int_eq(regexec(&r->re, "/re/123", 0, NULL, 0), 0);
	ck_assert_int_ne(regexec(&r->re, "/re/", 0, NULL, 0), 0);
	ck_assert_int_ne(regexec(&r->re, "/x/re/1", 0, NULL, 0), 0);
	ck_assert_int_ne(regexec(&r->re, "/re/1x", 0, NULL, 0), 0);
	ck_assert_int_eq(r->direct_response.status, 599);
	ck_assert_str_eq(r->direct_response.body, "");

	vh = &l->http.virtual_hosts[1];
	ck_assert_str_eq(vh->name, "b");
	ck_assert_uint_eq(vh->nroutes, 0);

	l = &c->listeners[1];
	ck_assert_int_eq(l->line, 30);
	ck_assert_str_eq(l->address, "*:80");
	ck_assert_str_eq(l->addr_label, "0.0.0.0:80");
	ck_assert_int_eq(l->http.codec_type, SY_CODEC_AUTO);
	ck_assert_int_eq(l->backlog, 511);
	sy_conf_free(c);
}
END_TEST

START_TEST(test_workers_auto)
{
	struct sy_conf *c = load_ok("workers = \"auto\";\n" L1);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	ck_assert(c->workers_auto);
	ck_assert_int_eq(c->workers, cpus < 1 ? 1 : (cpus > 256 ? 256 : cpus));
	sy_conf_free(c);
}
END_TEST

START_TEST(test_log_targets_and_relative_paths)
{
	struct sy_conf *c = load_ok(
	    "pid_file = \"run/sy.pid\";\n"
	    "log = { error_log = \"syslog\"; access_log = \"logs/access.log\"; };\n"
	    "admin = { socket = \"admin.sock\"; };\n" L1);

	ck_assert_str_eq(c->pid_file, "/srv/sy/run/sy.pid");
	ck_assert_str_eq(c->log.error_log, "syslog");
	ck_assert_str_eq(c->log.access_log, "/srv/sy/logs/access.log");
	ck_assert_str_eq(c->admin.socket, "/srv/sy/admin.sock");
	sy_conf_free(c);

	c = load_ok("log = { error_log = \"stderr\"; };\n" L1);
	ck_assert_str_eq(c->log.error_log, "stderr");
	sy_conf_free(c);

	c = load_ok("log = { error_log = \"err.log\"; };\n" L1);
	ck_assert_str_eq(c->log.error_log, "/srv/sy/err.log");
	sy_conf_free(c);
}
END_TEST

START_TEST(test_relative_to_cwd)
{
	char cwd[PATH_MAX], want[PATH_MAX + 16], *real;
	struct sy_conf *c;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	real = realpath(cwd, NULL);
	snprintf(want, sizeof(want), "%s/x.pid", real);
	c = load_ok_as("pid_file = \"x.pid\";\n" L1, "test.conf");
	ck_assert_str_eq(c->dir, real);
	ck_assert_str_eq(c->pid_file, want);
	sy_conf_free(c);
	free(real);
}
END_TEST

START_TEST(test_admin_addresses)
{
	struct sy_conf *c;

	c = load_ok("admin = { address = \"[::1]:9901\"; };\n" L1);
	ck_assert_str_eq(c->admin.address, "[::1]:9901");
	ck_assert_uint_eq(c->admin.salen, sizeof(struct sockaddr_in6));
	sy_conf_free(c);
	c = load_ok("admin = { address = \"127.0.0.2:9901\"; };\n" L1);
	ck_assert(!c->admin.allow_remote);
	sy_conf_free(c);
	c = load_ok("admin = { address = \"*:9901\"; allow_remote = true; };\n" L1);
	ck_assert(c->admin.allow_remote);
	sy_conf_free(c);
}
END_TEST

START_TEST(test_empty_lists)
{
	/* "[]" and "()" are both empty; routes may be absent or empty. */
	struct sy_conf *c = load_ok(HTTP_OPEN
	    "route_config = { virtual_hosts = ( { name = \"v\"; domains = [ \"*\" ]; routes = []; },\n"
	    "  { name = \"w\"; domains = [ \"w\" ]; routes = (); } ); };\n" HTTP_CLOSE);

	ck_assert_uint_eq(c->listeners[0].http.nvirtual_hosts, 2);
	ck_assert_uint_eq(c->listeners[0].http.virtual_hosts[0].nroutes, 0);
	ck_assert_uint_eq(c->listeners[0].http.virtual_hosts[1].nroutes, 0);
	sy_conf_free(c);
	c = load_ok(HTTP_OPEN "route_config = { virtual_hosts = (); };\n" HTTP_CLOSE);
	ck_assert_uint_eq(c->listeners[0].http.nvirtual_hosts, 0);
	sy_conf_free(c);
}
END_TEST

START_TEST(test_headers_list_as_domains_list)
{
	/* domains may also be written as a list ( ... ). */
	struct sy_conf *c = load_ok(HTTP_OPEN
	    "route_config = { virtual_hosts = ( { name = \"v\"; domains = ( \"a\", \"B\" ); } ); };\n" HTTP_CLOSE);

	ck_assert_uint_eq(c->listeners[0].http.virtual_hosts[0].ndomains, 2);
	ck_assert_str_eq(c->listeners[0].http.virtual_hosts[0].domains[1], "b");
	sy_conf_free(c);
}
END_TEST

/* ---- durations ----------------------------------------------------------- */

static const struct {
	const char *text;
	int64_t ms;
} durations_ok[] = {
	{ "0", 0 }, { "0s", 0 }, { "1ms", 1 }, { "250ms", 250 }, { "15s", 15000 },
	{ "5m", 300000 }, { "1h", 3600000 }, { "2d", 172800000 }, { "90s", 90000 },
};

START_TEST(test_duration_ok)
{
	char text[256];
	struct sy_conf *c;

	snprintf(text, sizeof(text), "drain_timeout = \"%s\";\n" L1, durations_ok[_i].text);
	c = load_ok(text);
	ck_assert_int_eq(c->drain_timeout, durations_ok[_i].ms);
	sy_conf_free(c);
}
END_TEST

/* ---- errors: input and the exact output of sy_conf_errors_print --------- */

static const struct {
	const char *text;
	const char *errors;
} error_cases[] = {
	/* libconfig's own errors */
	{ "workers = ;\n", "test.conf:1: syntax error\n" },
	{ L1 "workers = 1;\nworkers = 2;\n", "test.conf:3: duplicate setting name\n" },
	{ L1 "@include \"/nonexistent/x.conf\"\n", "test.conf:2: cannot open include file\n" },
	/* top level */
	{ "workers = 2;\n", "test.conf: missing required key \"listeners\"\n" },
	{ "listeners = ();\n", "test.conf:1: listeners: must not be empty\n" },
	{ "listeners = [];\n", "test.conf:1: listeners: must not be empty\n" },
	{ "listeners = { name = \"x\"; };\n",
	  "test.conf:1: listeners: expected a list ( { ... }, ... ), got a group\n" },
	{ "listeners = ( 1 );\n",
	  "test.conf:1: listeners: each element must be a group { ... }, got an integer\n"
	  "test.conf:1: listeners: must not be empty\n" },
	{ "foo = 1;\n" L1, "test.conf:1: unknown key \"foo\"\n" },
	{ "workers = 0;\n" L1, "test.conf:1: workers: 0 is out of range (1..256)\n" },
	{ "workers = 257;\n" L1, "test.conf:1: workers: 257 is out of range (1..256)\n" },
	{ "workers = \"many\";\n" L1, "test.conf:1: workers: invalid value \"many\" (expected an integer or \"auto\")\n" },
	{ "workers = 1.5;\n" L1, "test.conf:1: workers: expected an integer or \"auto\", got a float\n" },
	{ "workers = true;\n" L1, "test.conf:1: workers: expected an integer or \"auto\", got a boolean\n" },
	{ "worker_connections = \"10\";\n" L1, "test.conf:1: worker_connections: expected an integer, got a string\n" },
	{ "worker_connections = 1000001;\n" L1,
	  "test.conf:1: worker_connections: 1000001 is out of range (1..1000000)\n" },
	{ "worker_connections = [ 1 ];\n" L1, "test.conf:1: worker_connections: expected an integer, got an array\n" },
	{ "drain_timeout = 30;\n" L1,
	  "test.conf:1: drain_timeout: expected a duration string such as \"30s\", got an integer\n" },
	{ "drain_timeout = \"30\";\n" L1,
	  "test.conf:1: drain_timeout: invalid duration \"30\": duration needs a unit: ms, s, m, h or d\n" },
	{ "drain_timeout = \"5x\";\n" L1,
	  "test.conf:1: drain_timeout: invalid duration \"5x\": unknown duration unit (use ms, s, m, h or d)\n" },
	{ "drain_timeout = \"s\";\n" L1,
	  "test.conf:1: drain_timeout: invalid duration \"s\": duration must start with a number (e.g. \"15s\")\n" },
	{ "drain_timeout = \"-1s\";\n" L1,
	  "test.conf:1: drain_timeout: invalid duration \"-1s\": duration must start with a number (e.g. \"15s\")\n" },
	{ "drain_timeout = \"99999999999999999999d\";\n" L1,
	  "test.conf:1: drain_timeout: invalid duration \"99999999999999999999d\": duration too large\n" },
	{ "drain_timeout = \"\";\n" L1, "test.conf:1: drain_timeout: must not be empty\n" },
	{ "pid_file = true;\n" L1, "test.conf:1: pid_file: expected a path string, got a boolean\n" },
	{ "pid_file = \"\";\n" L1, "test.conf:1: pid_file: must not be empty\n" },
	{ "user = \"no_such_user_sy\";\n" L1, "test.conf:1: user: unknown user \"no_such_user_sy\"\n" },
	{ "group = \"no_such_group_sy\";\n" L1, "test.conf:1: group: unknown group \"no_such_group_sy\"\n" },
	{ "user = 0;\n" L1, "test.conf:1: user: expected a string, got an integer\n" },
	/* log */
	{ "log = 1;\n" L1, "test.conf:1: log: expected a group { ... }, got an integer\n" },
	{ "log = { verbose = true; };\n" L1, "test.conf:1: unknown key \"verbose\" in log\n" },
	{ "log = { level = \"loud\"; };\n" L1,
	  "test.conf:1: log.level: invalid value \"loud\" (expected emerg, alert, crit, error, warn, notice, info or debug)\n" },
	{ "log = { level = 3; };\n" L1,
	  "test.conf:1: log.level: expected emerg, alert, crit, error, warn, notice, info or debug, got an integer\n" },
	{ "log = { error_log = 3; };\n" L1, "test.conf:1: log.error_log: expected a path string, got an integer\n" },
	{ "log = { access_log = \"\"; };\n" L1, "test.conf:1: log.access_log: must not be empty\n" },
	/* admin */
	{ "admin = { port = 1; };\n" L1, "test.conf:1: unknown key \"port\" in admin\n" },
	{ "admin = { socket_mode = 0600; };\n" L1,
	  "test.conf:1: admin.socket_mode: expected an octal mode string such as \"0600\", got an integer\n" },
	{ "admin = { socket_mode = \"0800\"; };\n" L1,
	  "test.conf:1: admin.socket_mode: invalid mode \"0800\" (expected an octal string from \"0000\" to \"0777\")\n" },
	{ "admin = { socket_mode = \"01777\"; };\n" L1,
	  "test.conf:1: admin.socket_mode: invalid mode \"01777\" (expected an octal string from \"0000\" to \"0777\")\n" },
	{ "admin = { socket_mode = \"rw\"; };\n" L1,
	  "test.conf:1: admin.socket_mode: invalid mode \"rw\" (expected an octal string from \"0000\" to \"0777\")\n" },
	{ "admin = { address = \"localhost:9901\"; };\n" L1,
	  "test.conf:1: admin.address: invalid address \"localhost:9901\" (expected a numeric host:port such as "
	  "127.0.0.1:8080 or [::1]:8080)\n" },
	{ "admin = { address = \"::1:9901\"; };\n" L1,
	  "test.conf:1: admin.address: invalid address \"::1:9901\" (expected a numeric host:port such as "
	  "127.0.0.1:8080 or [::1]:8080)\n" },
	{ "admin = {\n address = \"0.0.0.0:9901\"; };\n" L1,
	  "test.conf:2: admin.address: 0.0.0.0:9901 is not a loopback address (set allow_remote = true to allow it)\n" },
	{ "admin = { address = \"[::]:9901\"; allow_remote = false; };\n" L1,
	  "test.conf:1: admin.address: [::]:9901 is not a loopback address (set allow_remote = true to allow it)\n" },
	{ "admin = { allow_remote = \"yes\"; };\n" L1,
	  "test.conf:1: admin.allow_remote: expected true or false, got a string\n" },
	{ "admin = { socket = \"/run/" "0123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789" "012345678901234567890123456789\"; };\n" L1,
	  "test.conf:1: admin.socket: path \"/run/" "0123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789" "012345678901234567890123456789\" is longer than 107 bytes\n" },
	/* listeners */
	{ "listeners = ( { address = \"127.0.0.1:1\"; http = { stat_prefix = \"p\"; }; } );\n",
	  "test.conf:1: missing required key \"name\" in listeners\n" },
	{ "listeners = ( { name = \"\"; address = \"127.0.0.1:1\"; http = { stat_prefix = \"p\"; }; } );\n",
	  "test.conf:1: listeners.name: must not be empty\n" },
	{ "listeners = ( { name = \"l\"; http = { stat_prefix = \"p\"; }; } );\n",
	  "test.conf:1: missing required key \"address\" in listeners\n" },
	{ "listeners = ( { name = \"l\"; address = \"127.0.0.1:1\"; } );\n",
	  "test.conf:1: missing required key \"http\" in listeners\n" },
	{ "listeners = ( { name = \"l\"; address = \"127.0.0.1:1\";\n http = { }; } );\n",
	  "test.conf:2: missing required key \"stat_prefix\" in listeners.http\n" },
	{ "listeners = ( { name = \"l\"; address = \"127.0.0.1:1\";\n http = { stat_prefix = \"\"; }; } );\n",
	  "test.conf:2: listeners.http.stat_prefix: must not be empty\n" },
	{ "listeners = ( { name = \"l\"; address = \"127.0.0.1:1\"; http = { stat_prefix = \""
	  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789x"
	  "\"; }; } );\n",
	  "test.conf:1: listeners.http.stat_prefix: longer than 100 characters\n" },
	{ "listeners = ( { name = \"l\"; address = \"127.0.0.1:1\"; http = { stat_prefix = \"p\"; };\n"
	  "  tls = true; } );\n",
	  "test.conf:2: unknown key \"tls\" in listeners\n" },
	{ "listeners = ( { name = \"l\"; address = \"127.0.0.1\"; http = { stat_prefix = \"p\"; }; } );\n",
	  "test.conf:1: listeners.address: invalid address \"127.0.0.1\" (expected a numeric host:port such as "
	  "127.0.0.1:8080 or [::1]:8080)\n" },
	{ "listeners = ( { name = \"l\"; address = \"127.0.0.1:65536\"; http = { stat_prefix = \"p\"; }; } );\n",
	  "test.conf:1: listeners.address: invalid address \"127.0.0.1:65536\" (expected a numeric host:port such as "
	  "127.0.0.1:8080 or [::1]:8080)\n" },
	{ "listeners = ( { name = \"l\"; address = \"127.0.0.1:1\"; backlog = 0; http = { stat_prefix = \"p\"; }; } );\n",
	  "test.conf:1: listeners.backlog: 0 is out of range (1..65535)\n" },
	{ "listeners = (\n"
	  "  { name = \"a\"; address = \"127.0.0.1:1\"; http = { stat_prefix = \"p\"; }; },\n"
	  "  { name = \"a\"; address = \"127.0.0.1:2\"; http = { stat_prefix = \"p\"; }; },\n"
	  "  { name = \"a\"; address = \"127.0.0.1:3\"; http = { stat_prefix = \"p\"; }; }\n"
	  ");\n",
	  "test.conf:3: duplicate listener name \"a\" (first defined at line 2)\n"
	  "test.conf:4: duplicate listener name \"a\" (first defined at line 2)\n"
	  "test.conf:4: duplicate listener name \"a\" (first defined at line 3)\n" },
	{ "listeners = (\n"
	  "  { name = \"a\"; address = \"*:80\"; http = { stat_prefix = \"p\"; }; },\n"
	  "  { name = \"b\";\n"
	  "    address = \"0.0.0.0:80\"; http = { stat_prefix = \"p\"; }; }\n"
	  ");\n",
	  "test.conf:4: duplicate listener address 0.0.0.0:80 (listener \"a\" at line 2)\n" },
	/* http */
	{ HTTP_OPEN "codec_type = \"h3\";\n" HTTP_CLOSE,
	  "test.conf:2: listeners.http.codec_type: invalid value \"h3\" (expected auto, http1 or http2)\n" },
	{ HTTP_OPEN "codec_type = \"http2\";\n" HTTP_CLOSE,
	  "test.conf:1: codec_type \"http2\" is not supported by this build yet\n" },
	{ HTTP_OPEN "max_request_headers_kb = 0;\n" HTTP_CLOSE,
	  "test.conf:2: listeners.http.max_request_headers_kb: 0 is out of range (1..8192)\n" },
	{ HTTP_OPEN "max_request_headers_kb = 8193;\n" HTTP_CLOSE,
	  "test.conf:2: listeners.http.max_request_headers_kb: 8193 is out of range (1..8192)\n" },
	{ HTTP_OPEN "max_headers_count = 10001;\n" HTTP_CLOSE,
	  "test.conf:2: listeners.http.max_headers_count: 10001 is out of range (1..10000)\n" },
	{ HTTP_OPEN "request_headers_timeout = \"1x\";\n" HTTP_CLOSE,
	  "test.conf:2: listeners.http.request_headers_timeout: invalid duration \"1x\": "
	  "unknown duration unit (use ms, s, m, h or d)\n" },
	{ HTTP_OPEN "idle_timeout = 5;\n" HTTP_CLOSE,
	  "test.conf:2: listeners.http.idle_timeout: expected a duration string such as \"30s\", got an integer\n" },
	{ HTTP_OPEN "stream_idle_timeout = \"m\";\n" HTTP_CLOSE,
	  "test.conf:2: listeners.http.stream_idle_timeout: invalid duration \"m\": "
	  "duration must start with a number (e.g. \"15s\")\n" },
	{ HTTP_OPEN "upgrade_configs = ();\n" HTTP_CLOSE,
	  "test.conf:2: unknown key \"upgrade_configs\" in listeners.http\n" },
	{ HTTP_OPEN "route_config = { routes = (); };\n" HTTP_CLOSE,
	  "test.conf:2: unknown key \"routes\" in listeners.http.route_config\n" },
	{ HTTP_OPEN "route_config = ( );\n" HTTP_CLOSE,
	  "test.conf:2: listeners.http.route_config: expected a group { ... }, got a list\n" },
	/* virtual hosts */
	{ HTTP_OPEN "route_config = { virtual_hosts = ( { domains = [ \"*\" ]; } ); };\n" HTTP_CLOSE,
	  "test.conf:2: missing required key \"name\" in listeners.http.route_config.virtual_hosts\n" },
	{ HTTP_OPEN "route_config = { virtual_hosts = ( { name = \"v\"; } ); };\n" HTTP_CLOSE,
	  "test.conf:2: missing required key \"domains\" in listeners.http.route_config.virtual_hosts\n" },
	{ HTTP_OPEN "route_config = { virtual_hosts = ( { name = \"v\"; domains = []; } ); };\n" HTTP_CLOSE,
	  "test.conf:2: listeners.http.route_config.virtual_hosts.domains: must not be empty\n" },
	{ HTTP_OPEN "route_config = { virtual_hosts = ( { name = \"v\"; domains = \"*\"; } ); };\n" HTTP_CLOSE,
	  "test.conf:2: listeners.http.route_config.virtual_hosts.domains: expected an array of strings "
	  "[ \"...\", ... ], got a string\n" },
	{ HTTP_OPEN "route_config = { virtual_hosts = ( { name = \"v\"; domains = [ 1 ]; } ); };\n" HTTP_CLOSE,
	  "test.conf:2: listeners.http.route_config.virtual_hosts.domains: each element must be a string, got an integer\n"
	  "test.conf:2: listeners.http.route_config.virtual_hosts.domains: must not be empty\n" },
	{ HTTP_OPEN "route_config = { virtual_hosts = ( { name = \"v\"; domains = [ \"\" ]; } ); };\n" HTTP_CLOSE,
	  "test.conf:2: listeners.http.route_config.virtual_hosts.domains: elements must not be empty\n"
	  "test.conf:2: listeners.http.route_config.virtual_hosts.domains: must not be empty\n" },
	{ HTTP_OPEN "route_config = { virtual_hosts = ( { name = \"v\";\n"
	  "  domains = [ \"a*b\", \"**\", \"*a*\", \"a b\", \"*.ok\", \"ok.*\", \"*ok\" ]; } ); };\n" HTTP_CLOSE,
	  "test.conf:3: invalid domain \"a*b\": a wildcard \"*\" may only be the first or the last character\n"
	  "test.conf:3: invalid domain \"**\": a wildcard \"*\" may only be the first or the last character\n"
	  "test.conf:3: invalid domain \"*a*\": a wildcard \"*\" may only be the first or the last character\n"
	  "test.conf:3: invalid domain \"a b\": a domain is a host name, without spaces or slashes\n" },
	{ HTTP_OPEN "route_config = { virtual_hosts = ( { name = \"v\";\n"
	  "  domains = [ \"a:80\", \"a/b\", \"[::1]\", \"*:80\" ]; } ); };\n" HTTP_CLOSE,
	  "test.conf:3: invalid domain \"a:80\": a domain has no port\n"
	  "test.conf:3: invalid domain \"a/b\": a domain is a host name, without spaces or slashes\n"
	  "test.conf:3: invalid domain \"*:80\": a domain has no port\n" },
	{ HTTP_OPEN "route_config = { virtual_hosts = ( { name = \"v\"; domains = [ \"a\", \"A\" ]; } ); };\n" HTTP_CLOSE,
	  "test.conf:2: duplicate domain \"a\" in virtual host \"v\"\n" },
	{ HTTP_OPEN "route_config = { virtual_hosts = (\n"
	  "  { name = \"v\"; domains = [ \"a\", \"b\" ]; },\n"
	  "  { name = \"w\";\n"
	  "    domains = [ \"c\", \"B\" ]; },\n"
	  "  { name = \"v\"; domains = [ \"d\" ]; }\n"
	  "); };\n" HTTP_CLOSE,
	  "test.conf:5: domain \"b\" is already served by virtual host \"v\" (line 3)\n"
	  "test.conf:6: duplicate virtual host name \"v\" (first defined at line 3)\n" },
	{ HTTP_OPEN "route_config = { virtual_hosts = ( { name = \"v\"; domains = [ \"*\" ]; cluster = \"x\"; } ); };\n"
	  HTTP_CLOSE,
	  "test.conf:2: unknown key \"cluster\" in listeners.http.route_config.virtual_hosts\n" },
	/* routes */
	{ VH_OPEN "{ " DR " }" VH_CLOSE,
	  "test.conf:3: missing required key \"match\" in " RP "\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; }" VH_CLOSE, "test.conf:3: route has no action\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; " DR " cluster = \"c\"; }" VH_CLOSE,
	  "test.conf:3: unknown key \"cluster\" in " RP "\n" },
	{ VH_OPEN "{ match = { }; " DR " }" VH_CLOSE,
	  "test.conf:3: route match needs one of prefix, path or safe_regex\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; path = \"/x\"; }; " DR " }" VH_CLOSE,
	  "test.conf:3: route match has more than one of prefix, path and safe_regex\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; safe_regex = \"/x\"; }; " DR " }" VH_CLOSE,
	  "test.conf:3: route match has more than one of prefix, path and safe_regex\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; case_sensitive = false; }; " DR " }" VH_CLOSE,
	  "test.conf:3: unknown key \"case_sensitive\" in " RP ".match\n" },
	{ VH_OPEN "{ match = { safe_regex = \"(\"; }; " DR " }" VH_CLOSE,
	  "test.conf:3: " RP ".match.safe_regex: invalid regular expression \"(\": Unmatched ( or \\(\n" },
	{ VH_OPEN "{ match = { safe_regex = \"\"; }; " DR " }" VH_CLOSE,
	  "test.conf:3: " RP ".match.safe_regex: must not be empty\n" },
	{ VH_OPEN "{ match = { prefix = 1; }; " DR " }" VH_CLOSE,
	  "test.conf:3: " RP ".match.prefix: expected a string, got an integer\n" },
	{ VH_OPEN "{ match = \"/\"; " DR " }" VH_CLOSE,
	  "test.conf:3: " RP ".match: expected a group { ... }, got a string\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; direct_response = { }; }" VH_CLOSE,
	  "test.conf:3: missing required key \"status\" in " RP ".direct_response\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; direct_response = { status = 199; }; }" VH_CLOSE,
	  "test.conf:3: " RP ".direct_response.status: 199 is out of range (200..599)\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; direct_response = { status = 600; }; }" VH_CLOSE,
	  "test.conf:3: " RP ".direct_response.status: 600 is out of range (200..599)\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; direct_response = { status = 200; body = 1; }; }" VH_CLOSE,
	  "test.conf:3: " RP ".direct_response.body: expected a string, got an integer\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; direct_response = { status = 200; file = \"x\"; }; }" VH_CLOSE,
	  "test.conf:3: unknown key \"file\" in " RP ".direct_response\n" },
	/* header matchers */
	{ VH_OPEN "{ match = { prefix = \"/\"; headers = ( { exact_match = \"x\"; } ); }; " DR " }" VH_CLOSE,
	  "test.conf:3: missing required key \"name\" in " RP ".match.headers\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; headers = ( { name = \"x\"; } ); }; " DR " }" VH_CLOSE,
	  "test.conf:3: header matcher \"x\" needs one of exact_match, prefix_match, safe_regex_match or present_match\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; headers = ( { name = \"x\"; exact_match = \"a\"; prefix_match = \"b\"; } );"
	  " }; " DR " }" VH_CLOSE,
	  "test.conf:3: header matcher \"x\" has more than one of exact_match, prefix_match, safe_regex_match and "
	  "present_match\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; headers = ( { name = \"x\"; present_match = false; } ); }; " DR " }"
	  VH_CLOSE,
	  "test.conf:3: present_match must be true (add invert_match = true to match an absent header)\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; headers = ( { name = \"x y\"; present_match = true; } ); }; " DR " }"
	  VH_CLOSE,
	  "test.conf:3: invalid header name \"x y\"\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; headers = ( { name = \":\"; present_match = true; } ); }; " DR " }"
	  VH_CLOSE,
	  "test.conf:3: invalid header name \":\"\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; headers = ( { name = \"x\"; safe_regex_match = \"[\"; } ); }; " DR " }"
	  VH_CLOSE,
	  "test.conf:3: " RP ".match.headers.safe_regex_match: invalid regular expression \"[\": "
	  "Unmatched [, [^, [:, [., or [=\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; headers = ( { name = \"x\"; present_match = true; invert_match = 1; } );"
	  " }; " DR " }" VH_CLOSE,
	  "test.conf:3: " RP ".match.headers.invert_match: expected true or false, got an integer\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; headers = { name = \"x\"; }; }; " DR " }" VH_CLOSE,
	  "test.conf:3: " RP ".match.headers: expected a list ( { ... }, ... ), got a group\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; headers = ( { name = \"x\"; present_match = true; regex = \"\"; } ); }; "
	  DR " }" VH_CLOSE,
	  "test.conf:3: unknown key \"regex\" in " RP ".match.headers\n" },
	/* Several at once: all reported, in line order. */
	{ "workers = 0;\n"
	  "bogus = 1;\n"
	  "listeners = (\n"
	  "  { name = \"a\"; address = \"nowhere\";\n"
	  "    http = { stat_prefix = \"p\"; max_headers_count = 0; }; },\n"
	  "  { name = \"a\"; address = \"127.0.0.1:1\"; http = { }; }\n"
	  ");\n"
	  "log = { level = \"chatty\"; };\n",
	  "test.conf:1: workers: 0 is out of range (1..256)\n"
	  "test.conf:2: unknown key \"bogus\"\n"
	  "test.conf:4: listeners.address: invalid address \"nowhere\" (expected a numeric host:port such as "
	  "127.0.0.1:8080 or [::1]:8080)\n"
	  "test.conf:5: listeners.http.max_headers_count: 0 is out of range (1..10000)\n"
	  "test.conf:6: missing required key \"stat_prefix\" in listeners.http\n"
	  "test.conf:6: duplicate listener name \"a\" (first defined at line 4)\n"
	  "test.conf:8: log.level: invalid value \"chatty\" (expected emerg, alert, crit, error, warn, notice, info "
	  "or debug)\n" },
};

START_TEST(test_errors)
{
	char *out = errors_of(error_cases[_i].text);

	if (strcmp(out, error_cases[_i].errors) != 0)
		fprintf(stderr, "case %d:\n--- input\n%s--- want\n%s--- got\n%s", _i,
		    error_cases[_i].text, error_cases[_i].errors, out);
	ck_assert_str_eq(out, error_cases[_i].errors);
	free(out);
}
END_TEST

/* ---- files: relative paths, includes, I/O errors ----------------------- */

static char tmpdir[PATH_MAX];

static void
write_file(const char *name, const char *text)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void
tmpdir_setup(void)
{
	char tmpl[] = "/tmp/sy-conf-XXXXXX", *real;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	real = realpath(tmpl, NULL);
	snprintf(tmpdir, sizeof(tmpdir), "%s", real);
	free(real);
}

static void
tmpdir_teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_file_include_and_paths)
{
	char path[PATH_MAX + 64], want[PATH_MAX + 64];
	struct sy_conf_errors e;
	struct sy_conf *c;

	write_file("listeners.inc", L1);
	write_file("sy.conf", "pid_file = \"sy.pid\";\n@include \"listeners.inc\"\n");
	snprintf(path, sizeof(path), "%s/sy.conf", tmpdir);
	sy_conf_errors_init(&e);
	c = sy_conf_load(path, &e);
	sy_conf_errors_print(&e, stderr);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->path, path);
	ck_assert_str_eq(c->dir, tmpdir);
	snprintf(want, sizeof(want), "%s/sy.pid", tmpdir);
	ck_assert_str_eq(c->pid_file, want);
	ck_assert_uint_eq(c->nlisteners, 1);
	sy_conf_free(c);

	/* An error inside an included file names that file. */
	write_file("listeners.inc", "listeners = (\n { name = \"l\"; address = \"x\"; http = { stat_prefix = \"p\"; }; } );\n");
	c = sy_conf_load(path, &e);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(e.n, 1);
	snprintf(want, sizeof(want), "%s/listeners.inc", tmpdir);
	ck_assert_str_eq(e.v[0].file, want);
	ck_assert_int_eq(e.v[0].line, 2);
	sy_conf_errors_fini(&e);

	/* A syntax error inside an included file too. */
	sy_conf_errors_init(&e);
	write_file("listeners.inc", "\n\nlisteners = ;\n");
	c = sy_conf_load(path, &e);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_str_eq(e.v[0].file, want);
	ck_assert_int_eq(e.v[0].line, 3);
	ck_assert_str_eq(e.v[0].msg, "syntax error");
	sy_conf_errors_fini(&e);
}
END_TEST

START_TEST(test_file_errors)
{
	char path[PATH_MAX + 64], *out = NULL, want[PATH_MAX + 128];
	struct sy_conf_errors e;
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	sy_conf_errors_init(&e);
	ck_assert_ptr_null(sy_conf_load(path, &e));
	f = open_memstream(&out, &len);
	sy_conf_errors_print(&e, f);
	fclose(f);
	snprintf(want, sizeof(want), "%s: cannot open configuration file: No such file or directory\n", path);
	ck_assert_str_eq(out, want);
	free(out);
	sy_conf_errors_fini(&e);

	sy_conf_errors_init(&e);
	ck_assert_ptr_null(sy_conf_load(tmpdir, &e));
	ck_assert_uint_eq(e.n, 1);
	ck_assert_str_eq(e.v[0].msg, "cannot read configuration file: is a directory");
	sy_conf_errors_fini(&e);

	write_file("bad.conf", L1 "\nworkers = 1000;\n");
	snprintf(path, sizeof(path), "%s/bad.conf", tmpdir);
	sy_conf_errors_init(&e);
	ck_assert_ptr_null(sy_conf_load(path, &e));
	ck_assert_uint_eq(e.n, 1);
	ck_assert_str_eq(e.v[0].file, path);
	ck_assert_int_eq(e.v[0].line, 3);
	ck_assert_str_eq(e.v[0].msg, "workers: 1000 is out of range (1..256)");
	sy_conf_errors_fini(&e);
}
END_TEST

START_TEST(test_shipped_config)
{
	struct sy_conf_errors e;
	struct sy_conf *c;
	const struct sy_conf_vhost *vh;

	/* The unit tests run from the top of the tree (make unit-check). */
	if (access("etc/switchyard.conf", R_OK) != 0)
		return;
	sy_conf_errors_init(&e);
	c = sy_conf_load("etc/switchyard.conf", &e);
	sy_conf_errors_print(&e, stderr);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->workers, 2);
	ck_assert_ptr_null(c->pid_file);
	ck_assert_str_eq(c->admin.socket, "/run/switchyard/admin.sock");
	ck_assert_uint_eq(c->nlisteners, 1);
	ck_assert_str_eq(c->listeners[0].name, "ingress");
	ck_assert_str_eq(c->listeners[0].addr_label, "127.0.0.1:8080");
	ck_assert_str_eq(c->listeners[0].http.stat_prefix, "ingress_http");
	vh = &c->listeners[0].http.virtual_hosts[0];
	ck_assert_uint_eq(vh->nroutes, 2);
	ck_assert_str_eq(vh->routes[0].path, "/healthz");
	ck_assert_str_eq(vh->routes[0].direct_response.body, "ok\n");
	ck_assert_str_eq(vh->routes[1].prefix, "/");
	ck_assert_int_eq(vh->routes[1].direct_response.status, 200);
	sy_conf_free(c);
	sy_conf_errors_fini(&e);
}
END_TEST

/* ---- errors list ----------------------------------------------------------- */

START_TEST(test_errors_add_print)
{
	struct sy_conf_errors e;
	char *out = NULL;
	size_t len;
	FILE *f;
	int i;

	sy_conf_errors_init(&e);
	ck_assert_int_eq(sy_conf_errors_add(&e, "a.conf", 3, "bad %s", "thing"), 0);
	ck_assert_int_eq(sy_conf_errors_add(&e, "a.conf", 0, "whole file"), 0);
	for (i = 0; i < 100; i++)	/* growth */
		ck_assert_int_eq(sy_conf_errors_add(&e, "b.conf", i + 1, "e%d", i), 0);
	ck_assert_uint_eq(e.n, 102);
	ck_assert_str_eq(e.v[101].msg, "e99");
	f = open_memstream(&out, &len);
	sy_conf_errors_print(&e, f);
	fclose(f);
	ck_assert(strncmp(out, "a.conf:3: bad thing\na.conf: whole file\nb.conf:1: e0\n", 50) == 0);
	free(out);
	sy_conf_errors_fini(&e);
	ck_assert_uint_eq(e.n, 0);
	sy_conf_free(NULL);
}
END_TEST

/* ---- the JSON dump ------------------------------------------------------- */

/* A minimal JSON reader: returns the end of one value, or NULL. */
static const char *json_value(const char *p);

static const char *
json_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *
json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || p[i] == '\0')
						return NULL;
				p += 4;
			} else if (!strchr("\"\\/bfnrt", *p) || *p == '\0') {
				return NULL;
			}
		}
		p++;
	}
	return p + 1;
}

static const char *
json_value(const char *p)
{
	p = json_ws(p);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		bool obj = *p == '{';

		p = json_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				if ((p = json_string(json_ws(p))) == NULL)
					return NULL;
				p = json_ws(p);
				if (*p++ != ':')
					return NULL;
			}
			if ((p = json_value(p)) == NULL)
				return NULL;
			p = json_ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (*p == '"')
		return json_string(p);
	if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0)
		return p + 4;
	if (strncmp(p, "false", 5) == 0)
		return p + 5;
	if (*p == '-' || (*p >= '0' && *p <= '9')) {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
		return p;
	}
	return NULL;
}

static char *
dump_of(const struct sy_conf *c)
{
	struct sy_buf b = { 0 };
	char *s;

	ck_assert_int_eq(sy_conf_dump_json(c, &b), 0);
	s = strndup(sy_buf_rpos(&b), sy_buf_len(&b));
	sy_buf_release(&b);
	return s;
}

START_TEST(test_dump_json)
{
	struct sy_conf *c = load_ok(every_key);
	char *s = dump_of(c);
	const char *end = json_value(s);
	static const char *const want[] = {
		"\"workers\": 7,", "\"worker_connections\": 1,", "\"drain_timeout\": \"1500ms\",",
		"\"pid_file\": \"/run/sy.pid\",", "\"user\": \"root\",", "\"group\": \"root\",",
		"\"level\": \"debug\",", "\"error_log\": \"/var/log/sy.err\",",
		"\"access_log\": \"/var/log/sy.acc\"", "\"socket\": \"/run/sy/admin.sock\",",
		"\"socket_mode\": \"0660\",", "\"address\": \"10.0.0.1:9901\",", "\"allow_remote\": true",
		"\"name\": \"one\",", "\"address\": \"[::1]:8443\",", "\"backlog\": 4096,",
		"\"stat_prefix\": \"one_http\",", "\"codec_type\": \"http1\",",
		"\"request_headers_timeout\": \"2s\",", "\"idle_timeout\": \"0s\",",
		"\"stream_idle_timeout\": \"1d\",", "\"max_request_headers_kb\": 8192,",
		"\"max_headers_count\": 10000,", "\"route_config\": {", "\"virtual_hosts\": [",
		"\"domains\": [\"example.com\", \"*.example.com\", \"www.*\"],", "\"routes\": [",
		"\"match\": {", "\"prefix\": \"/p\",", "\"path\": null,", "\"safe_regex\": null,",
		"\"headers\": [", "\"name\": \"x-exact\",", "\"exact_match\": \"v\",",
		"\"prefix_match\": \"pre\",", "\"invert_match\": true", "\"safe_regex_match\": \"GET|HEAD\",",
		"\"present_match\": true,", "\"direct_response\": {", "\"status\": 503,",
		"\"body\": \"down\\n\"", "\"path\": \"/exact\",", "\"body\": null",
		"\"safe_regex\": \"/re/[0-9]+\",", "\"status\": 599,", "\"body\": \"\"",
		"\"routes\": []", "\"address\": \"0.0.0.0:80\",", "\"codec_type\": \"auto\",",
	};
	size_t i;

	ck_assert_ptr_nonnull(end);
	ck_assert_str_eq(json_ws(end), "");
	for (i = 0; i < SY_ARRAY_LEN(want); i++) {
		if (strstr(s, want[i]) == NULL)
			fprintf(stderr, "missing %s in\n%s", want[i], s);
		ck_assert_ptr_nonnull(strstr(s, want[i]));
	}
	free(s);
	sy_conf_free(c);

	/* Defaults appear; absent optional values are null; escapes. */
	c = load_ok(VH_OPEN "{ match = { path = \"/q\\\"\\\\\"; }; direct_response = { status = 200; "
	    "body = \"tab\\t\\x01\"; }; }" VH_CLOSE);
	s = dump_of(c);
	end = json_value(s);
	ck_assert_ptr_nonnull(end);
	ck_assert_ptr_nonnull(strstr(s, "\"workers\": 2,"));
	ck_assert_ptr_nonnull(strstr(s, "\"drain_timeout\": \"30s\","));
	ck_assert_ptr_nonnull(strstr(s, "\"pid_file\": null,"));
	ck_assert_ptr_nonnull(strstr(s, "\"level\": \"notice\","));
	ck_assert_ptr_nonnull(strstr(s, "\"socket_mode\": \"0600\","));
	ck_assert_ptr_nonnull(strstr(s, "\"address\": null,"));
	ck_assert_ptr_nonnull(strstr(s, "\"allow_remote\": false"));
	ck_assert_ptr_nonnull(strstr(s, "\"backlog\": 511,"));
	ck_assert_ptr_nonnull(strstr(s, "\"idle_timeout\": \"1h\","));
	ck_assert_ptr_nonnull(strstr(s, "\"stream_idle_timeout\": \"5m\","));
	ck_assert_ptr_nonnull(strstr(s, "\"path\": \"/q\\\"\\\\\","));
	ck_assert_ptr_nonnull(strstr(s, "\"body\": \"tab\\t\\u0001\""));
	free(s);
	sy_conf_free(c);

	/* A route without direct_response cannot load; an absent group is null. */
	c = load_ok(L1);
	s = dump_of(c);
	ck_assert_ptr_nonnull(json_value(s));
	ck_assert_ptr_nonnull(strstr(s, "\"virtual_hosts\": []"));
	free(s);
	sy_conf_free(c);
}
END_TEST

/* ---- --list-keys ------------------------------------------------------------ */

START_TEST(test_print_keys)
{
	static const char *const want[] = {
		"workers\tint(1..256|auto)\t2\treload\t",
		"worker_connections\tint(1..1000000)\t10000\treload\t",
		"drain_timeout\tduration\t30s\treload\t",
		"pid_file\tpath\t-\trestart\t",
		"user\tstring\t-\trestart\t",
		"group\tstring\t-\trestart\t",
		"log\tgroup\t-\treload\t",
		"log.level\tenum(emerg|alert|crit|error|warn|notice|info|debug)\tnotice\treload\t",
		"log.error_log\tpath\t-\treload\t",
		"log.access_log\tpath\t-\treload\t",
		"admin\tgroup\t-\treload\t",
		"admin.socket\tpath\t-\treload\t",
		"admin.socket_mode\tmode(0000..0777)\t0600\treload\t",
		"admin.address\taddress\t-\treload\t",
		"admin.allow_remote\tbool\tfalse\treload\t",
		"listeners\tlist\trequired\treload\t",
		"listeners.name\tstring\trequired\treload\t",
		"listeners.address\taddress\trequired\treload\t",
		"listeners.backlog\tint(1..65535)\t511\treload\t",
		"listeners.http\tgroup\trequired\treload\t",
		"listeners.http.stat_prefix\tstring\trequired\treload\t",
		"listeners.http.codec_type\tenum(auto|http1|http2)\tauto\treload\t",
		"listeners.http.request_headers_timeout\tduration\t10s\treload\t",
		"listeners.http.idle_timeout\tduration\t1h\treload\t",
		"listeners.http.stream_idle_timeout\tduration\t5m\treload\t",
		"listeners.http.max_request_headers_kb\tint(1..8192)\t60\treload\t",
		"listeners.http.max_headers_count\tint(1..10000)\t100\treload\t",
		"listeners.http.route_config\tgroup\t-\treload\t",
		"listeners.http.route_config.virtual_hosts\tlist\t-\treload\t",
		"listeners.http.route_config.virtual_hosts.name\tstring\trequired\treload\t",
		"listeners.http.route_config.virtual_hosts.domains\tstrings\trequired\treload\t",
		"listeners.http.route_config.virtual_hosts.routes\tlist\t-\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.match\tgroup\trequired\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.match.prefix\tstring\t-\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.match.path\tstring\t-\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.match.safe_regex\tregex\t-\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.match.headers\tlist\t-\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.match.headers.name\tstring\trequired\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.match.headers.exact_match\tstring\t-\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.match.headers.prefix_match\tstring\t-\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.match.headers.safe_regex_match\tregex\t-\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.match.headers.present_match\tbool\tfalse\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.match.headers.invert_match\tbool\tfalse\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.direct_response\tgroup\t-\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.direct_response.status\tint(200..599)\trequired\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.direct_response.body\tstring\t-\treload\t",
	};
	char *out = NULL, *line, *save = NULL;
	size_t len, n = 0;
	FILE *f = open_memstream(&out, &len);

	sy_conf_print_keys(f);
	fclose(f);
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save), n++) {
		const char *p = line;
		int tabs = 0;

		ck_assert_uint_lt(n, SY_ARRAY_LEN(want));
		if (strncmp(line, want[n], strlen(want[n])) != 0)
			fprintf(stderr, "line %zu: want \"%s\", got \"%s\"\n", n, want[n], line);
		ck_assert(strncmp(line, want[n], strlen(want[n])) == 0);
		while ((p = strchr(p, '\t')) != NULL) {
			tabs++;
			p++;
		}
		ck_assert_int_eq(tabs, 4);
		ck_assert_uint_gt(strlen(strrchr(line, '\t') + 1), 5);	/* a doc line */
	}
	ck_assert_uint_eq(n, SY_ARRAY_LEN(want));
	free(out);
}
END_TEST

/* ---- restart-only keys -------------------------------------------------------- */

static void
collect_path(const char *path, void *arg)
{
	char *acc = arg;

	strcat(acc, path);
	strcat(acc, " ");
}

START_TEST(test_diff_restart)
{
	struct sy_conf *a = load_ok("pid_file = \"/run/a.pid\"; user = \"root\"; workers = 1;\n" L1);
	struct sy_conf *b = load_ok("pid_file = \"/run/a.pid\"; user = \"root\"; workers = 4;\n" L1);
	struct sy_conf *c = load_ok("pid_file = \"/run/b.pid\"; group = \"root\";\n" L1);
	char acc[256] = "";

	ck_assert_uint_eq(sy_conf_diff_restart(a, b, collect_path, acc), 0);
	ck_assert_str_eq(acc, "");
	ck_assert_uint_eq(sy_conf_diff_restart(a, c, collect_path, acc), 3);
	ck_assert_str_eq(acc, "pid_file user group ");
	ck_assert_uint_eq(sy_conf_diff_restart(c, c, NULL, NULL), 0);
	sy_conf_free(a);
	sy_conf_free(b);
	sy_conf_free(c);
}
END_TEST

/* ---- the generic walker with a table of its own --------------------------- */

struct t_item {
	int line;
	char *name;
	int weight;
};

struct t_root {
	struct t_item *items;
	unsigned nitems;
	char *use;
	char **tags;
	unsigned ntags;
	bool flag, flag_set;	/* tri-state: unset, false, true */
};

static const struct sy_conf_key t_item_keys[] = {
	{ .name = "name", .type = SY_CONF_STRING, .flags = SY_CONF_REQUIRED,
	  .off = offsetof(struct t_item, name), .doc = "name" },
	{ .name = "weight", .type = SY_CONF_INT, .def = "5", .min = 0, .max = 9,
	  .off = offsetof(struct t_item, weight), .doc = "weight" },
	{ .name = NULL }
};

static const struct sy_conf_key t_root_keys[] = {
	{ .name = "items", .type = SY_CONF_LIST, .off = offsetof(struct t_root, items),
	  .count_off = offsetof(struct t_root, nitems), .elem_size = sizeof(struct t_item),
	  .line_off = SY_CONF_OPT(struct t_item, line), .child = t_item_keys, .doc = "items" },
	{ .name = "use", .type = SY_CONF_STRING, .ref = "items",
	  .off = offsetof(struct t_root, use), .doc = "an item's name" },
	{ .name = "tags", .type = SY_CONF_STRINGS, .min = 2, .off = offsetof(struct t_root, tags),
	  .count_off = offsetof(struct t_root, ntags), .doc = "tags" },
	{ .name = "flag", .type = SY_CONF_BOOL, .off = offsetof(struct t_root, flag),
	  .present_off = SY_CONF_OPT(struct t_root, flag_set), .doc = "flag" },
	{ .name = NULL }
};

static const struct sy_conf_key t_root = { .name = "", .type = SY_CONF_GROUP, .child = t_root_keys };

static int
t_parse(const char *text, struct t_root *out, struct sy_arena *arena, struct sy_conf_errors *e)
{
	struct sy_conf_regex *regexes = NULL;
	struct sy_conf_parse p;
	config_t cf;
	int rc;

	config_init(&cf);
	ck_assert_int_eq(config_read_string(&cf, text), CONFIG_TRUE);
	memset(out, 0, sizeof(*out));
	sy_conf_parse_init(&p, arena, &regexes, e, "t.conf", "/d");
	rc = sy_conf_parse_tree(&p, &t_root, config_root_setting(&cf), out);
	sy_conf_regexes_free(regexes);
	config_destroy(&cf);
	return rc;
}

START_TEST(test_table_refs)
{
	struct sy_conf_errors e;
	struct sy_arena arena;
	struct t_root r;

	sy_arena_init(&arena, 1024);
	sy_conf_errors_init(&e);
	ck_assert_int_eq(t_parse("items = ( { name = \"a\"; }, { name = \"b\"; weight = 9; } );\nuse = \"b\";\n"
	    "tags = [ \"x\", \"y\" ];\n", &r, &arena, &e), 0);
	ck_assert_uint_eq(r.nitems, 2);
	ck_assert_int_eq(r.items[0].weight, 5);
	ck_assert_int_eq(r.items[1].weight, 9);
	ck_assert_int_eq(r.items[1].line, 1);
	ck_assert_str_eq(r.use, "b");
	ck_assert_uint_eq(r.ntags, 2);
	ck_assert(!r.flag_set);

	ck_assert_int_eq(t_parse("items = ();\ntags = [ \"x\", \"y\" ];\nflag = false;\n", &r, &arena, &e), 0);
	ck_assert(r.flag_set);
	ck_assert(!r.flag);

	ck_assert_int_eq(t_parse("items = ( { name = \"a\"; } );\nuse = \"z\";\ntags = [ \"x\" ];\n",
	    &r, &arena, &e), -1);
	ck_assert_uint_eq(e.n, 2);
	ck_assert_int_eq(e.v[0].line, 3);
	ck_assert_str_eq(e.v[0].msg, "tags: needs at least 2 elements");
	ck_assert_str_eq(e.v[1].file, "t.conf");
	ck_assert_int_eq(e.v[1].line, 2);
	ck_assert_str_eq(e.v[1].msg, "use: \"z\" is not defined in items");
	sy_conf_errors_fini(&e);
	sy_arena_fini(&arena);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("keys");
	TCase *tf = tcase_create("files");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_workers_auto);
	tcase_add_test(tc, test_log_targets_and_relative_paths);
	tcase_add_test(tc, test_relative_to_cwd);
	tcase_add_test(tc, test_admin_addresses);
	tcase_add_test(tc, test_empty_lists);
	tcase_add_test(tc, test_headers_list_as_domains_list);
	tcase_add_loop_test(tc, test_duration_ok, 0, (int)SY_ARRAY_LEN(durations_ok));
	tcase_add_loop_test(tc, test_errors, 0, (int)SY_ARRAY_LEN(error_cases));
	tcase_add_test(tc, test_errors_add_print);
	tcase_add_test(tc, test_dump_json);
	tcase_add_test(tc, test_print_keys);
	tcase_add_test(tc, test_diff_restart);
	tcase_add_test(tc, test_table_refs);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tf, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tf, test_file_include_and_paths);
	tcase_add_test(tf, test_file_errors);
	tcase_add_test(tf, test_shipped_config);
	suite_add_tcase(s, tf);
	return s;
}

SY_UNIT_MAIN(make_suite)
