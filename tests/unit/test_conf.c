/*
 * test_conf.c - the configuration module: every key and its default, every
 * error path with its exact "file:line: reason", durations, relative paths
 * and includes from real files, the shipped etc/ files and examples, the
 * HTTP/2 keys of listeners and clusters, clusters (endpoint resolution of
 * "localhost" and of a name that does not resolve), filter chains and
 * upgrade_configs, the JSON dump (checked by a small JSON reader),
 * --list-keys, the restart-only comparison, and the generic table walker
 * driven by a table of its own (cross references).  Error cases are
 * one table: input text and the exact output of sy_conf_errors_print.
 */
#include <arpa/inet.h>
#include <glob.h>
#include <limits.h>
#include <netdb.h>
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
/* A route action, and the cluster it names (on a line of its own). */
#define RT "route = { cluster = \"app\"; };"
#define CL "clusters = ( { name = \"app\"; endpoints = [ \"127.0.0.1:9000\" ]; } );\n"
#define RA RP ".route"
#define HF "listeners.http.http_filters"
#define UC "listeners.http.upgrade_configs"
#define H2O "listeners.http.http2_protocol_options"
#define CH2O "clusters.http2_protocol_options"
/* Line 1 opens a listener; its tls group starts on line 2. */
#define TLS_OPEN "listeners = ( { name = \"l\"; address = \"127.0.0.1:8443\"; http = { stat_prefix = \"p\"; };\n"
#define TLS_CLOSE " );\n"
#define CERT "certificate = \"c.pem\"; private_key = \"k.pem\";"

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

/* The JSON dump and its reader, defined with the dump's tests below. */
static const char *json_value(const char *p);
static char *squashed_dump_of(const struct sy_conf *c);

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
	/* No http_filters: the router alone, so a chain always exists. */
	ck_assert_uint_eq(l->http.nhttp_filters, 1);
	ck_assert_ptr_nonnull(l->http.http_filters);
	ck_assert_str_eq(l->http.http_filters[0].name, "router");
	ck_assert_int_eq(l->http.http_filters[0].max_request_bytes, 0);
	ck_assert_uint_eq(l->http.http_filters[0].nrequest_headers_to_add, 0);
	ck_assert_uint_eq(l->http.nupgrade_configs, 0);
	ck_assert_ptr_null(l->http.upgrade_configs);
	/* HTTP/2: the group is absent, its defaults apply; its line is 0. */
	ck_assert_int_eq(l->http.http2.line, 0);
	ck_assert(!l->http.http2.allow_connect);
	ck_assert_uint_eq(l->http.http2.max_concurrent_streams, 100);
	ck_assert_uint_eq(l->http.http2.initial_stream_window_size, 65536);
	ck_assert_uint_eq(l->http.http2.initial_connection_window_size, 1048576);
	ck_assert_uint_eq(l->http.http2.max_header_list_kb, 60);
	ck_assert(!l->http.preserve_upgrade_method);
	/* TLS: no group, cleartext; its defaults ready, no certificate. */
	ck_assert(!l->tls.enabled);
	ck_assert_int_eq(l->tls.line, 0);
	ck_assert_uint_eq(l->tls.ncerts, 0);
	ck_assert_ptr_null(l->tls.certs);
	ck_assert_uint_eq(l->tls.nalpn, 0);
	ck_assert_int_eq(l->tls.min_version, SY_TLS_V12);
	ck_assert_ptr_null(l->tls.ciphers);
	ck_assert_ptr_null(l->tls.ctx);
	ck_assert_int_eq(l->tls_handshake_timeout, 10000);
	ck_assert_uint_eq(c->nclusters, 0);
	ck_assert_ptr_null(c->clusters);
	sy_conf_free(c);

	/* A cluster's defaults: HTTP/1.1, and the HTTP/2 settings ready. */
	c = load_ok(L1 CL);
	ck_assert_int_eq(c->clusters[0].protocol, SY_PROTO_HTTP1);
	ck_assert_int_eq(c->clusters[0].http2.line, 0);
	ck_assert(!c->clusters[0].http2.allow_connect);
	ck_assert_uint_eq(c->clusters[0].http2.max_concurrent_streams, 100);
	ck_assert_uint_eq(c->clusters[0].http2.initial_stream_window_size, 65536);
	ck_assert_uint_eq(c->clusters[0].http2.initial_connection_window_size, 1048576);
	ck_assert_uint_eq(c->clusters[0].http2.max_header_list_kb, 60);
	ck_assert(!c->clusters[0].tls.enabled);
	ck_assert(c->clusters[0].tls.verify);
	ck_assert_int_eq(c->clusters[0].tls.min_version, SY_TLS_V12);
	ck_assert_ptr_null(c->clusters[0].tls.sni);
	ck_assert_uint_eq(c->clusters[0].tls.nalpn, 0);
	sy_conf_free(c);
}
END_TEST

/* Every key of the HTTP/2 stage, at its bounds, on listeners and clusters. */
static const char http2_keys[] =
	"listeners = (\n"						/* 1 */
	"  { name = \"h2\"; address = \"127.0.0.1:8081\";\n"
	"    http = { stat_prefix = \"sidecar_http\"; codec_type = \"http2\";\n"
	"      http2_protocol_options = {\n"
	"        allow_connect = true;\n"					/* 5 */
	"        max_concurrent_streams = 2147483647;\n"
	"        initial_stream_window_size = 65535;\n"
	"        initial_connection_window_size = 2147483647;\n"
	"        max_header_list_kb = 8192;\n"
	"      };\n"							/* 10 */
	"      preserve_upgrade_method = true;\n"
	"    }; },\n"
	"  { name = \"partial\"; address = \"127.0.0.1:8082\";\n"
	"    http = { stat_prefix = \"p\"; preserve_upgrade_method = false;\n"
	"      http2_protocol_options = { max_concurrent_streams = 1; max_header_list_kb = 1; }; }; }\n" /* 15 */
	");\n"
	"clusters = (\n"
	"  { name = \"sidecar\"; endpoints = [ \"127.0.0.1:8081\" ]; protocol = \"http2\";\n"
	"    http2_protocol_options = { max_concurrent_streams = 1;\n"
	"      initial_stream_window_size = 2147483647; initial_connection_window_size = 65535; }; },\n" /* 20 */
	"  { name = \"app\"; endpoints = [ \"127.0.0.1:9000\" ]; protocol = \"http1\"; }\n"
	");\n";

START_TEST(test_http2_keys)
{
	struct sy_conf *c = load_ok(http2_keys);
	const struct sy_conf_http *h;
	const struct sy_conf_cluster *cl;
	char *s;

	h = &c->listeners[0].http;
	ck_assert_int_eq(h->codec_type, SY_CODEC_HTTP2);
	ck_assert_int_eq(h->http2.line, 4);
	ck_assert(h->http2.allow_connect);
	ck_assert_uint_eq(h->http2.max_concurrent_streams, 2147483647u);
	ck_assert_uint_eq(h->http2.initial_stream_window_size, 65535);
	ck_assert_uint_eq(h->http2.initial_connection_window_size, 2147483647u);
	ck_assert_uint_eq(h->http2.max_header_list_kb, 8192);
	ck_assert(h->preserve_upgrade_method);
	/* A group that sets some keys gets the defaults of the others. */
	h = &c->listeners[1].http;
	ck_assert_int_eq(h->codec_type, SY_CODEC_AUTO);
	ck_assert_int_eq(h->http2.line, 15);
	ck_assert(!h->http2.allow_connect);
	ck_assert_uint_eq(h->http2.max_concurrent_streams, 1);
	ck_assert_uint_eq(h->http2.initial_stream_window_size, 65536);
	ck_assert_uint_eq(h->http2.initial_connection_window_size, 1048576);
	ck_assert_uint_eq(h->http2.max_header_list_kb, 1);
	ck_assert(!h->preserve_upgrade_method);
	cl = &c->clusters[0];
	ck_assert_int_eq(cl->protocol, SY_PROTO_HTTP2);
	ck_assert_int_eq(cl->http2.line, 19);
	ck_assert(!cl->http2.allow_connect);
	ck_assert_uint_eq(cl->http2.max_concurrent_streams, 1);
	ck_assert_uint_eq(cl->http2.initial_stream_window_size, 2147483647u);
	ck_assert_uint_eq(cl->http2.initial_connection_window_size, 65535);
	ck_assert_uint_eq(cl->http2.max_header_list_kb, 60);
	cl = &c->clusters[1];
	ck_assert_int_eq(cl->protocol, SY_PROTO_HTTP1);
	ck_assert_int_eq(cl->http2.line, 0);

	/* The dump shows every value, the refused allow_connect of a cluster never. */
	s = squashed_dump_of(c);
	ck_assert_ptr_nonnull(json_value(s));
	ck_assert_ptr_nonnull(strstr(s, "\"codec_type\": \"http2\",\"request_headers_timeout\": \"10s\","));
	ck_assert_ptr_nonnull(strstr(s, "\"max_headers_count\": 100,\"http2_protocol_options\": {"
	    "\"allow_connect\": true,\"max_concurrent_streams\": 2147483647,\"initial_stream_window_size\": 65535,"
	    "\"initial_connection_window_size\": 2147483647,\"max_header_list_kb\": 8192},\"http_filters\": ["));
	ck_assert_ptr_nonnull(strstr(s, "\"upgrade_configs\": [],\"preserve_upgrade_method\": true,"
	    "\"route_config\": {"));
	ck_assert_ptr_nonnull(strstr(s, "\"http2_protocol_options\": {\"allow_connect\": false,"
	    "\"max_concurrent_streams\": 1,\"initial_stream_window_size\": 65536,"
	    "\"initial_connection_window_size\": 1048576,\"max_header_list_kb\": 1}"));
	ck_assert_ptr_nonnull(strstr(s, "\"preserve_upgrade_method\": false,"));
	ck_assert_ptr_nonnull(strstr(s, "\"idle_timeout\": \"1m\",\"protocol\": \"http2\",\"tls\": null,"
	    "\"http2_protocol_options\": {\"max_concurrent_streams\": 1,\"initial_stream_window_size\": 2147483647,"
	    "\"initial_connection_window_size\": 65535,\"max_header_list_kb\": 60},\"resolved_endpoints\": ["
	    "\"127.0.0.1:8081\"]}"));
	ck_assert_ptr_nonnull(strstr(s, "\"protocol\": \"http1\","));
	free(s);
	sy_conf_free(c);
}
END_TEST

/*
 * Every TLS key (issue 5), on listeners and clusters: paths resolved
 * against the file's directory, server names lower-cased, certs[0] the
 * group's own certificate, ALPN filled in from codec_type or protocol
 * when absent.  Nothing opens the files: no hook is set here.
 */
static const char tls_keys[] =
	"listeners = (\n"							/* 1 */
	"  { name = \"tls\"; address = \"127.0.0.1:8443\";\n"
	"    tls = {\n"
	"      certificate = \"tls/cert.pem\"; private_key = \"/etc/sy/key.pem\";\n"
	"      alpn = [ \"http/1.1\", \"h2\" ];\n"				/* 5 */
	"      min_version = \"TLSv1.3\";\n"
	"      ciphers = \"ECDHE+AESGCM:!aNULL\";\n"
	"      certificates = (\n"
	"        { server_names = [ \"A.Example\", \"*.b.example\" ];\n"
	"          certificate = \"a.pem\"; private_key = \"a.key\"; },\n"	/* 10 */
	"        { server_names = [ \"xn--bcher-kva.example\" ]; certificate = \"/c/c.pem\"; private_key = \"c.key\"; }\n"
	"      ); };\n"
	"    tls_handshake_timeout = \"250ms\";\n"
	"    http = { stat_prefix = \"tls_http\"; }; },\n"
	"  { name = \"h1\"; address = \"127.0.0.1:8444\";\n"				/* 15 */
	"    tls = { certificate = \"c.pem\"; private_key = \"k.pem\"; };\n"
	"    http = { stat_prefix = \"h1\"; codec_type = \"http1\"; }; },\n"
	"  { name = \"h2\"; address = \"127.0.0.1:8445\";\n"
	"    tls = { certificate = \"c.pem\"; private_key = \"k.pem\"; certificates = (); };\n"
	"    http = { stat_prefix = \"h2\"; codec_type = \"http2\"; }; }\n"	/* 20 */
	");\n"
	"clusters = (\n"
	"  { name = \"app\"; endpoints = [ \"127.0.0.1:9443\" ]; protocol = \"auto\";\n"
	"    tls = { sni = \"App.Internal\"; ca_file = \"ca.pem\"; verify = false; alpn = [ \"h2\" ];\n"
	"      certificate = \"client.pem\"; private_key = \"/k/client.key\"; min_version = \"TLSv1.3\"; }; },\n"
	"  { name = \"h1\"; endpoints = [ \"127.0.0.1:9444\" ]; tls = { }; },\n" /* 26 */
	"  { name = \"h2\"; endpoints = [ \"127.0.0.1:9445\" ]; protocol = \"http2\"; tls = { }; },\n"
	"  { name = \"auto\"; endpoints = [ \"127.0.0.1:9446\" ]; protocol = \"auto\"; tls = { verify = true; }; },\n"
	"  { name = \"plain\"; endpoints = [ \"127.0.0.1:9000\" ]; }\n"
	");\n";

START_TEST(test_tls_keys)
{
	struct sy_conf *c = load_ok(tls_keys);
	const struct sy_conf_listener *l;
	const struct sy_conf_tls *t;
	const struct sy_conf_upstream_tls *u;
	char *s;

	/* A listener with every key. */
	l = &c->listeners[0];
	t = &l->tls;
	ck_assert(t->enabled);
	ck_assert_int_eq(t->line, 3);
	ck_assert_uint_eq(t->ncerts, 3);
	ck_assert_int_eq(t->certs[0].line, 3);
	ck_assert_uint_eq(t->certs[0].nserver_names, 0);
	ck_assert_ptr_null(t->certs[0].server_names);
	ck_assert_str_eq(t->certs[0].certificate, "/srv/sy/tls/cert.pem");
	ck_assert_str_eq(t->certs[0].private_key, "/etc/sy/key.pem");
	ck_assert_int_eq(t->certs[1].line, 9);
	ck_assert_uint_eq(t->certs[1].nserver_names, 2);
	ck_assert_str_eq(t->certs[1].server_names[0], "a.example");	/* lower-cased */
	ck_assert_str_eq(t->certs[1].server_names[1], "*.b.example");
	ck_assert_str_eq(t->certs[1].certificate, "/srv/sy/a.pem");
	ck_assert_str_eq(t->certs[1].private_key, "/srv/sy/a.key");
	ck_assert_int_eq(t->certs[2].line, 11);
	ck_assert_uint_eq(t->certs[2].nserver_names, 1);
	ck_assert_str_eq(t->certs[2].server_names[0], "xn--bcher-kva.example");
	ck_assert_str_eq(t->certs[2].certificate, "/c/c.pem");
	ck_assert_str_eq(t->certs[2].private_key, "/srv/sy/c.key");
	ck_assert_uint_eq(t->nalpn, 2);
	ck_assert_str_eq(t->alpn[0], "http/1.1");			/* as written */
	ck_assert_str_eq(t->alpn[1], "h2");
	ck_assert_int_eq(t->min_version, SY_TLS_V13);
	ck_assert_str_eq(t->ciphers, "ECDHE+AESGCM:!aNULL");
	ck_assert_ptr_null(t->ctx);
	ck_assert_int_eq(l->tls_handshake_timeout, 250);

	/* Defaults; ALPN from codec_type: http1 offers http/1.1 only... */
	l = &c->listeners[1];
	t = &l->tls;
	ck_assert(t->enabled);
	ck_assert_int_eq(t->line, 16);
	ck_assert_uint_eq(t->ncerts, 1);
	ck_assert_int_eq(t->certs[0].line, 16);
	ck_assert_str_eq(t->certs[0].certificate, "/srv/sy/c.pem");
	ck_assert_str_eq(t->certs[0].private_key, "/srv/sy/k.pem");
	ck_assert_uint_eq(t->nalpn, 1);
	ck_assert_str_eq(t->alpn[0], "http/1.1");
	ck_assert_int_eq(t->min_version, SY_TLS_V12);
	ck_assert_ptr_null(t->ciphers);
	ck_assert_int_eq(l->tls_handshake_timeout, 10000);
	/* ...http2 h2 only, and an empty certificates list is the default alone. */
	t = &c->listeners[2].tls;
	ck_assert_uint_eq(t->ncerts, 1);
	ck_assert_int_eq(t->certs[0].line, 19);
	ck_assert_uint_eq(t->nalpn, 1);
	ck_assert_str_eq(t->alpn[0], "h2");

	/* Clusters. */
	ck_assert_int_eq(c->clusters[0].protocol, SY_PROTO_AUTO);
	u = &c->clusters[0].tls;
	ck_assert(u->enabled);
	ck_assert_int_eq(u->line, 24);
	ck_assert_str_eq(u->sni, "app.internal");			/* lower-cased */
	ck_assert_str_eq(u->ca_file, "/srv/sy/ca.pem");
	ck_assert(!u->verify);
	ck_assert_uint_eq(u->nalpn, 1);
	ck_assert_str_eq(u->alpn[0], "h2");
	ck_assert_str_eq(u->certificate, "/srv/sy/client.pem");
	ck_assert_str_eq(u->private_key, "/k/client.key");
	ck_assert_int_eq(u->min_version, SY_TLS_V13);
	ck_assert_ptr_null(u->ctx);
	/* An empty group: TLS with every default; ALPN from protocol. */
	u = &c->clusters[1].tls;
	ck_assert(u->enabled);
	ck_assert_int_eq(u->line, 26);
	ck_assert_ptr_null(u->sni);
	ck_assert_ptr_null(u->ca_file);
	ck_assert(u->verify);
	ck_assert_ptr_null(u->certificate);
	ck_assert_ptr_null(u->private_key);
	ck_assert_int_eq(u->min_version, SY_TLS_V12);
	ck_assert_uint_eq(u->nalpn, 1);
	ck_assert_str_eq(u->alpn[0], "http/1.1");
	u = &c->clusters[2].tls;
	ck_assert_uint_eq(u->nalpn, 1);
	ck_assert_str_eq(u->alpn[0], "h2");
	ck_assert_int_eq(c->clusters[3].protocol, SY_PROTO_AUTO);
	u = &c->clusters[3].tls;
	ck_assert(u->verify);
	ck_assert_uint_eq(u->nalpn, 2);
	ck_assert_str_eq(u->alpn[0], "h2");
	ck_assert_str_eq(u->alpn[1], "http/1.1");
	/* No tls group: cleartext, the defaults ready, no ALPN. */
	u = &c->clusters[4].tls;
	ck_assert(!u->enabled);
	ck_assert_int_eq(u->line, 0);
	ck_assert(u->verify);
	ck_assert_int_eq(u->min_version, SY_TLS_V12);
	ck_assert_uint_eq(u->nalpn, 0);

	/* The dump: the default certificate in the group, the others in certificates. */
	s = squashed_dump_of(c);
	ck_assert_ptr_nonnull(json_value(s));
	ck_assert_ptr_nonnull(strstr(s, "\"backlog\": 511,\"tls\": {\"certificate\": \"/srv/sy/tls/cert.pem\","
	    "\"private_key\": \"/etc/sy/key.pem\",\"alpn\": [\"http/1.1\", \"h2\"],\"min_version\": \"TLSv1.3\","
	    "\"ciphers\": \"ECDHE+AESGCM:!aNULL\",\"certificates\": ["
	    "{\"server_names\": [\"a.example\", \"*.b.example\"],\"certificate\": \"/srv/sy/a.pem\","
	    "\"private_key\": \"/srv/sy/a.key\"},"
	    "{\"server_names\": [\"xn--bcher-kva.example\"],\"certificate\": \"/c/c.pem\","
	    "\"private_key\": \"/srv/sy/c.key\"}]},\"tls_handshake_timeout\": \"250ms\",\"http\": {"));
	ck_assert_ptr_nonnull(strstr(s, "\"tls\": {\"certificate\": \"/srv/sy/c.pem\",\"private_key\": \"/srv/sy/k.pem\","
	    "\"alpn\": [\"http/1.1\"],\"min_version\": \"TLSv1.2\",\"ciphers\": null,\"certificates\": []},"
	    "\"tls_handshake_timeout\": \"10s\","));
	ck_assert_ptr_nonnull(strstr(s, "\"alpn\": [\"h2\"],\"min_version\": \"TLSv1.2\",\"ciphers\": null,"
	    "\"certificates\": []}"));
	ck_assert_ptr_nonnull(strstr(s, "\"protocol\": \"auto\",\"tls\": {\"sni\": \"app.internal\","
	    "\"ca_file\": \"/srv/sy/ca.pem\",\"verify\": false,\"alpn\": [\"h2\"],"
	    "\"certificate\": \"/srv/sy/client.pem\",\"private_key\": \"/k/client.key\","
	    "\"min_version\": \"TLSv1.3\"},\"http2_protocol_options\": {"));
	ck_assert_ptr_nonnull(strstr(s, "\"protocol\": \"http1\",\"tls\": {\"sni\": null,\"ca_file\": null,"
	    "\"verify\": true,\"alpn\": [\"http/1.1\"],\"certificate\": null,\"private_key\": null,"
	    "\"min_version\": \"TLSv1.2\"},"));
	ck_assert_ptr_nonnull(strstr(s, "\"protocol\": \"auto\",\"tls\": {\"sni\": null,\"ca_file\": null,"
	    "\"verify\": true,\"alpn\": [\"h2\", \"http/1.1\"],"));
	ck_assert_ptr_nonnull(strstr(s, "\"name\": \"plain\",\"endpoints\": [\"127.0.0.1:9000\"],"));
	ck_assert_ptr_nonnull(strstr(s, "\"protocol\": \"http1\",\"tls\": null,\"http2_protocol_options\": {"));
	free(s);
	sy_conf_free(c);

	/* No tls group on a listener: null in the dump, the timeout still shown. */
	c = load_ok(L1);
	ck_assert(!c->listeners[0].tls.enabled);
	s = squashed_dump_of(c);
	ck_assert_ptr_nonnull(strstr(s, "\"backlog\": 511,\"tls\": null,\"tls_handshake_timeout\": \"10s\",\"http\": {"));
	free(s);
	sy_conf_free(c);
}
END_TEST

/* Server names and sni at the edges of what DNS allows. */
START_TEST(test_tls_server_names_ok)
{
	char label[64], name[300], text[1024], want[400], *out;
	struct sy_conf *c = load_ok(TLS_OPEN
	    "tls = { certificate = \"c\"; private_key = \"k\"; certificates = (\n"
	    "{ server_names = [ \"localhost\", \"*.A-1.example\",\n"
	    "    \"0123456789012345678901234567890123456789012345678901234567890ab.x\" ];"
	    " certificate = \"c\"; private_key = \"k\"; },\n"
	    "{ server_names = [ \"a-1.example\", \"*.localhost\" ]; certificate = \"c\"; private_key = \"k\"; } ); }; } );\n"
	    "clusters = ( { name = \"c\"; endpoints = [ \"127.0.0.1:1\" ]; tls = { sni = \"x-1.y\"; }; } );\n");
	const struct sy_conf_tls *t = &c->listeners[0].tls;

	ck_assert_uint_eq(t->ncerts, 3);
	ck_assert_str_eq(t->certs[1].server_names[1], "*.a-1.example");
	ck_assert_str_eq(t->certs[2].server_names[1], "*.localhost");
	ck_assert_str_eq(c->clusters[0].tls.sni, "x-1.y");
	sy_conf_free(c);

	/* 253 characters at most: three labels of 63 and one of 61 make 253. */
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(name, sizeof(name), "%s.%s.%s.%.61s", label, label, label, label);
	ck_assert_uint_eq(strlen(name), 253);
	snprintf(text, sizeof(text), L1 "clusters = ( { name = \"c\"; endpoints = [ \"127.0.0.1:1\" ];\n"
	    "tls = { sni = \"%s\"; }; } );\n", name);
	c = load_ok(text);
	ck_assert_str_eq(c->clusters[0].tls.sni, name);
	sy_conf_free(c);
	snprintf(name, sizeof(name), "%s.%s.%s.%.62s", label, label, label, label);
	snprintf(text, sizeof(text), L1 "clusters = ( { name = \"c\"; endpoints = [ \"127.0.0.1:1\" ];\n"
	    "tls = { sni = \"%s\"; }; } );\n", name);
	snprintf(want, sizeof(want), "test.conf:3: invalid sni \"%s\": longer than 253 characters\n", name);
	out = errors_of(text);
	ck_assert_str_eq(out, want);
	free(out);
}
END_TEST

/* Every key of issue 3: clusters, route actions, filters, upgrades. */
static const char proxy_keys[] =
	"clusters = (\n"							/* 1 */
	"  { name = \"app\"; endpoints = [ \"127.0.0.1:9000\", \"[::1]:9001\" ];\n"
	"    connect_timeout = \"250ms\"; lb_policy = \"least_request\"; max_connections = 1000000;\n"
	"    max_idle_connections = 0; idle_timeout = \"0\"; },\n"
	"  { name = \"chat\"; endpoints = [ \"10.1.2.3:80\" ]; lb_policy = \"random\"; },\n" /* 5 */
	"  { name = \"plain\"; endpoints = ( \"192.0.2.1:8080\" ); }\n"
	");\n"
	"listeners = ( { name = \"l\"; address = \"127.0.0.1:8080\"; http = { stat_prefix = \"p\";\n"
	"  http_filters = (\n"
	"    { name = \"buffer\"; max_request_bytes = 1073741824; },\n"		/* 10 */
	"    { name = \"header_mutation\";\n"
	"      request_headers_to_add = ( { name = \"X-Added\"; value = \"1\"; append = true; },\n"
	"        { name = \"x-empty\"; value = \"\"; } );\n"
	"      request_headers_to_remove = [ \"X-Secret\", \"cookie\" ];\n"
	"      response_headers_to_add = ( { name = \"server\"; value = \"sy\\tyard\"; } );\n" /* 15 */
	"      response_headers_to_remove = [ \"Via\" ]; },\n"
	"    { name = \"router\"; }\n"
	"  );\n"
	"  upgrade_configs = (\n"
	"    { upgrade_type = \"WebSocket\";\n"					/* 20 */
	"      filters = ( { name = \"header_mutation\"; request_headers_to_remove = [ \"x-a\" ]; },\n"
	"        { name = \"router\"; } ); },\n"
	"    { upgrade_type = \"foo\"; enabled = false; },\n"
	"    { upgrade_type = \"TLS/1.0\"; enabled = true; }\n"
	"  );\n"								/* 25 */
	"  route_config = { virtual_hosts = ( { name = \"v\"; domains = [ \"*\" ]; routes = (\n"
	"    { match = { prefix = \"/api/\"; };\n"
	"      route = { cluster = \"chat\"; timeout = \"0\"; idle_timeout = \"10m\"; prefix_rewrite = \"/\";\n"
	"        host_rewrite_literal = \"backend.internal:8080\";\n"
	"        upgrade_configs = ( { upgrade_type = \"websocket\"; enabled = false; },\n" /* 30 */
	"          { upgrade_type = \"foo\"; } ); }; },\n"
	"    { match = { prefix = \"/\"; }; route = { cluster = \"app\"; }; }\n"
	"  ); } ); };\n"
	"}; } );\n";

START_TEST(test_proxy_keys)
{
	struct sy_conf *c = load_ok(proxy_keys);
	const struct sy_conf_cluster *cl;
	const struct sy_conf_endpoint *ep;
	const struct sy_conf_http *h;
	const struct sy_conf_filter *f;
	const struct sy_conf_upgrade *u;
	const struct sy_conf_route *r;
	const struct sockaddr_in6 *sin6;
	const struct sockaddr_in *sin;

	/* clusters */
	ck_assert_uint_eq(c->nclusters, 3);
	cl = &c->clusters[0];
	ck_assert_int_eq(cl->line, 2);
	ck_assert_uint_eq(cl->index, 0);
	ck_assert_str_eq(cl->name, "app");
	ck_assert_uint_eq(cl->nendpoint_names, 2);
	ck_assert_str_eq(cl->endpoint_names[0], "127.0.0.1:9000");
	ck_assert_str_eq(cl->endpoint_names[1], "[::1]:9001");
	ck_assert_uint_eq(cl->nendpoints, 2);
	ep = &cl->endpoints[0];
	ck_assert_str_eq(ep->label, "127.0.0.1:9000");
	ck_assert_str_eq(ep->host, "127.0.0.1");
	ck_assert_uint_eq(ep->salen, sizeof(struct sockaddr_in));
	sin = (const struct sockaddr_in *)&ep->sa;
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_int_eq(ntohs(sin->sin_port), 9000);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	ep = &cl->endpoints[1];
	ck_assert_str_eq(ep->label, "[::1]:9001");
	ck_assert_str_eq(ep->host, "[::1]");
	ck_assert_uint_eq(ep->salen, sizeof(struct sockaddr_in6));
	sin6 = (const struct sockaddr_in6 *)&ep->sa;
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_int_eq(ntohs(sin6->sin6_port), 9001);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	ck_assert_int_eq(cl->connect_timeout, 250);
	ck_assert_int_eq(cl->lb_policy, SY_LB_LEAST_REQUEST);
	ck_assert_int_eq(cl->max_connections, 1000000);
	ck_assert_int_eq(cl->max_idle_connections, 0);
	ck_assert_int_eq(cl->idle_timeout, 0);
	cl = &c->clusters[1];
	ck_assert_int_eq(cl->line, 5);
	ck_assert_uint_eq(cl->index, 1);
	ck_assert_str_eq(cl->name, "chat");
	ck_assert_uint_eq(cl->nendpoints, 1);
	ck_assert_str_eq(cl->endpoints[0].label, "10.1.2.3:80");
	/* defaults */
	ck_assert_int_eq(cl->lb_policy, SY_LB_RANDOM);
	ck_assert_int_eq(cl->connect_timeout, 5000);
	ck_assert_int_eq(cl->max_connections, 1024);
	ck_assert_int_eq(cl->max_idle_connections, 32);
	ck_assert_int_eq(cl->idle_timeout, 60000);
	cl = &c->clusters[2];
	ck_assert_uint_eq(cl->index, 2);
	ck_assert_int_eq(cl->lb_policy, SY_LB_ROUND_ROBIN);
	ck_assert_str_eq(cl->endpoints[0].label, "192.0.2.1:8080");

	/* http_filters */
	h = &c->listeners[0].http;
	ck_assert_uint_eq(h->nhttp_filters, 3);
	f = &h->http_filters[0];
	ck_assert_int_eq(f->line, 10);
	ck_assert_str_eq(f->name, "buffer");
	ck_assert_int_eq(f->max_request_bytes, 1073741824);
	f = &h->http_filters[1];
	ck_assert_int_eq(f->line, 11);
	ck_assert_str_eq(f->name, "header_mutation");
	ck_assert_int_eq(f->max_request_bytes, 0);
	ck_assert_uint_eq(f->nrequest_headers_to_add, 2);
	ck_assert_int_eq(f->request_headers_to_add[0].line, 12);
	ck_assert_str_eq(f->request_headers_to_add[0].name, "x-added");	/* lower-cased */
	ck_assert_str_eq(f->request_headers_to_add[0].value, "1");
	ck_assert(f->request_headers_to_add[0].append);
	ck_assert_str_eq(f->request_headers_to_add[1].name, "x-empty");
	ck_assert_str_eq(f->request_headers_to_add[1].value, "");
	ck_assert(!f->request_headers_to_add[1].append);			/* default */
	ck_assert_uint_eq(f->nrequest_headers_to_remove, 2);
	ck_assert_str_eq(f->request_headers_to_remove[0], "x-secret");
	ck_assert_str_eq(f->request_headers_to_remove[1], "cookie");
	ck_assert_uint_eq(f->nresponse_headers_to_add, 1);
	ck_assert_str_eq(f->response_headers_to_add[0].name, "server");
	ck_assert_str_eq(f->response_headers_to_add[0].value, "sy\tyard");
	ck_assert_uint_eq(f->nresponse_headers_to_remove, 1);
	ck_assert_str_eq(f->response_headers_to_remove[0], "via");
	f = &h->http_filters[2];
	ck_assert_str_eq(f->name, "router");
	ck_assert_uint_eq(f->nrequest_headers_to_add, 0);
	ck_assert_ptr_null(f->request_headers_to_remove);

	/* listener upgrade_configs */
	ck_assert_uint_eq(h->nupgrade_configs, 3);
	u = &h->upgrade_configs[0];
	ck_assert_int_eq(u->line, 20);
	ck_assert_str_eq(u->upgrade_type, "websocket");				/* lower-cased */
	ck_assert(u->enabled);
	ck_assert(!u->enabled_set);
	ck_assert(u->has_filters);
	ck_assert_uint_eq(u->nfilters, 2);
	ck_assert_str_eq(u->filters[0].name, "header_mutation");
	ck_assert_int_eq(u->filters[0].line, 21);
	ck_assert_str_eq(u->filters[0].request_headers_to_remove[0], "x-a");
	ck_assert_str_eq(u->filters[1].name, "router");
	u = &h->upgrade_configs[1];
	ck_assert_str_eq(u->upgrade_type, "foo");
	ck_assert(!u->enabled);
	ck_assert(u->enabled_set);
	ck_assert(!u->has_filters);
	ck_assert_ptr_null(u->filters);
	ck_assert_uint_eq(u->nfilters, 0);
	u = &h->upgrade_configs[2];
	ck_assert_str_eq(u->upgrade_type, "tls/1.0");
	ck_assert(u->enabled);
	ck_assert(u->enabled_set);

	/* route actions */
	ck_assert_uint_eq(h->virtual_hosts[0].nroutes, 2);
	r = &h->virtual_hosts[0].routes[0];
	ck_assert(r->has_route);
	ck_assert(!r->has_direct_response);
	ck_assert_str_eq(r->route.cluster, "chat");
	ck_assert_ptr_eq(r->route.cluster_ref, &c->clusters[1]);
	ck_assert_int_eq(r->route.timeout, 0);
	ck_assert(r->route.idle_timeout_set);
	ck_assert_int_eq(r->route.idle_timeout, 600000);
	ck_assert_str_eq(r->route.prefix_rewrite, "/");
	ck_assert_str_eq(r->route.host_rewrite_literal, "backend.internal:8080");
	ck_assert_uint_eq(r->route.nupgrade_configs, 2);
	u = &r->route.upgrade_configs[0];
	ck_assert_int_eq(u->line, 30);
	ck_assert_str_eq(u->upgrade_type, "websocket");
	ck_assert(!u->enabled);
	ck_assert(u->enabled_set);
	ck_assert(!u->has_filters);
	u = &r->route.upgrade_configs[1];
	ck_assert_str_eq(u->upgrade_type, "foo");
	ck_assert(u->enabled);
	ck_assert(!u->enabled_set);
	r = &h->virtual_hosts[0].routes[1];
	ck_assert(r->has_route);
	ck_assert_str_eq(r->route.cluster, "app");
	ck_assert_ptr_eq(r->route.cluster_ref, &c->clusters[0]);
	ck_assert_int_eq(r->route.timeout, 15000);				/* defaults */
	ck_assert(!r->route.idle_timeout_set);
	ck_assert_int_eq(r->route.idle_timeout, 0);
	ck_assert_ptr_null(r->route.prefix_rewrite);
	ck_assert_ptr_null(r->route.host_rewrite_literal);
	ck_assert_uint_eq(r->route.nupgrade_configs, 0);
	ck_assert_ptr_null(r->route.upgrade_configs);
	sy_conf_free(c);
}
END_TEST

/* A name resolves at load time: every address becomes an endpoint. */
START_TEST(test_cluster_resolve_localhost)
{
	struct sy_conf *c = load_ok(L1 "clusters = ( { name = \"a\"; endpoints = [ \"localhost:80\" ]; },\n"
	    "  { name = \"b\"; endpoints = [ \"localhost:81\", \"127.0.0.1:81\", \"[::1]:81\" ]; } );\n");
	const struct sy_conf_cluster *cl = &c->clusters[0];
	unsigned i, loopback = 0, n127 = 0, n6 = 0;

	ck_assert_uint_ge(cl->nendpoints, 1);
	for (i = 0; i < cl->nendpoints; i++) {
		const struct sy_conf_endpoint *ep = &cl->endpoints[i];
		const struct sockaddr *sa = (const struct sockaddr *)&ep->sa;

		ck_assert_str_eq(ep->host, "localhost");
		ck_assert(sa->sa_family == AF_INET || sa->sa_family == AF_INET6);
		if (sa->sa_family == AF_INET) {
			ck_assert_uint_eq(ep->salen, sizeof(struct sockaddr_in));
			ck_assert_int_eq(ntohs(((const struct sockaddr_in *)sa)->sin_port), 80);
		} else {
			ck_assert_uint_eq(ep->salen, sizeof(struct sockaddr_in6));
			ck_assert_int_eq(ntohs(((const struct sockaddr_in6 *)sa)->sin6_port), 80);
		}
		if (sy_addr_is_loopback(sa)) {
			loopback++;
			ck_assert(strcmp(ep->label, "127.0.0.1:80") == 0 || strcmp(ep->label, "[::1]:80") == 0);
		}
	}
	ck_assert_uint_ge(loopback, 1);
	/* One address given twice (by name and by number) is one endpoint. */
	cl = &c->clusters[1];
	for (i = 0; i < cl->nendpoints; i++) {
		n127 += strcmp(cl->endpoints[i].label, "127.0.0.1:81") == 0;
		n6 += strcmp(cl->endpoints[i].label, "[::1]:81") == 0;
	}
	ck_assert_uint_eq(n127, 1);
	ck_assert_uint_eq(n6, 1);
	ck_assert_uint_eq(cl->nendpoint_names, 3);
	sy_conf_free(c);
}
END_TEST

/* A name that does not resolve fails the load, with the resolver's reason. */
START_TEST(test_cluster_unresolvable)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *res = NULL;
	char want[512], *out;
	int rc = getaddrinfo("no-such-host.invalid", "80", &hints, &res);

	if (rc == 0) {
		/* A resolver that answers for .invalid (RFC 6761 says it must not). */
		freeaddrinfo(res);
		return;
	}
	snprintf(want, sizeof(want), "test.conf:4: cannot resolve \"no-such-host.invalid\": %s\n",
	    rc == EAI_SYSTEM ? "System error" : gai_strerror(rc));
	out = errors_of(L1 "clusters = ( { name = \"a\"; endpoints = [\n"
	    "  \"127.0.0.1:1\",\n  \"no-such-host.invalid:80\" ]; } );\n");
	if (rc != EAI_SYSTEM)
		ck_assert_str_eq(out, want);
	else
		ck_assert(strncmp(out, want, 50) == 0);
	free(out);
}
END_TEST

START_TEST(test_filters_and_upgrades_minimal)
{
	/* An upgrade without filters, an empty route upgrade list, one filter. */
	struct sy_conf *c = load_ok(HTTP_OPEN "http_filters = ( { name = \"router\"; } );\n"
	    "upgrade_configs = ( { upgrade_type = \"CONNECT-UDP\"; } );\n"
	    "route_config = { virtual_hosts = ( { name = \"v\"; domains = [ \"*\" ]; routes = (\n"
	    "{ match = { prefix = \"/\"; }; route = { cluster = \"app\"; upgrade_configs = (); }; } ); } ); };\n"
	    HTTP_CLOSE CL);
	const struct sy_conf_http *h = &c->listeners[0].http;

	ck_assert_uint_eq(h->nhttp_filters, 1);
	ck_assert_int_eq(h->http_filters[0].line, 2);
	ck_assert_uint_eq(h->nupgrade_configs, 1);
	ck_assert_str_eq(h->upgrade_configs[0].upgrade_type, "connect-udp");
	ck_assert(h->upgrade_configs[0].enabled);
	ck_assert(!h->upgrade_configs[0].has_filters);
	ck_assert_uint_eq(h->virtual_hosts[0].routes[0].route.nupgrade_configs, 0);
	ck_assert_ptr_eq(h->virtual_hosts[0].routes[0].route.cluster_ref, &c->clusters[0]);
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
	  "  ssl = true; } );\n",
	  "test.conf:2: unknown key \"ssl\" in listeners\n" },
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
	/* http2_protocol_options and preserve_upgrade_method, on a listener */
	{ HTTP_OPEN "http2_protocol_options = {\n"
	  "  allow_connect = 1;\n"
	  "  max_concurrent_streams = 0;\n"
	  "  initial_stream_window_size = 65534;\n"
	  "  initial_connection_window_size = 2147483648L;\n"
	  "  max_header_list_kb = 8193;\n"
	  "  enable_push = true; };\n"
	  "preserve_upgrade_method = \"yes\";\n" HTTP_CLOSE,
	  "test.conf:3: " H2O ".allow_connect: expected true or false, got an integer\n"
	  "test.conf:4: " H2O ".max_concurrent_streams: 0 is out of range (1..2147483647)\n"
	  "test.conf:5: " H2O ".initial_stream_window_size: 65534 is out of range (65535..2147483647)\n"
	  "test.conf:6: " H2O ".initial_connection_window_size: 2147483648 is out of range (65535..2147483647)\n"
	  "test.conf:7: " H2O ".max_header_list_kb: 8193 is out of range (1..8192)\n"
	  "test.conf:8: unknown key \"enable_push\" in " H2O "\n"
	  "test.conf:9: listeners.http.preserve_upgrade_method: expected true or false, got a string\n" },
	{ HTTP_OPEN "http2_protocol_options = { max_concurrent_streams = 2147483648L; max_header_list_kb = 0;\n"
	  "  initial_connection_window_size = -1; initial_stream_window_size = \"64k\"; };\n" HTTP_CLOSE,
	  "test.conf:2: " H2O ".max_concurrent_streams: 2147483648 is out of range (1..2147483647)\n"
	  "test.conf:2: " H2O ".max_header_list_kb: 0 is out of range (1..8192)\n"
	  "test.conf:3: " H2O ".initial_stream_window_size: expected an integer, got a string\n"
	  "test.conf:3: " H2O ".initial_connection_window_size: -1 is out of range (65535..2147483647)\n" },
	{ HTTP_OPEN "http2_protocol_options = true;\n" HTTP_CLOSE,
	  "test.conf:2: " H2O ": expected a group { ... }, got a boolean\n" },
	{ HTTP_OPEN "http2_protocol_options = ( { allow_connect = true; } );\n" HTTP_CLOSE,
	  "test.conf:2: " H2O ": expected a group { ... }, got a list\n" },
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
	{ HTTP_OPEN "upgrade_configs = { upgrade_type = \"websocket\"; };\n" HTTP_CLOSE,
	  "test.conf:2: " UC ": expected a list ( { ... }, ... ), got a group\n" },
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
	{ VH_OPEN "{ match = { prefix = \"/\"; }; " DR "\n " RT " }" VH_CLOSE CL,
	  "test.conf:3: route has both direct_response and route\n" },
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
	/* route actions */
	{ VH_OPEN "{ match = { prefix = \"/\"; }; route = { cluster = \"x\"; }; }" VH_CLOSE,
	  "test.conf:3: unknown cluster \"x\"\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; route = { cluster = \"ap\"; }; },\n"
	  "{ match = { prefix = \"/\"; }; route = { cluster = \"App\"; }; }" VH_CLOSE CL,
	  "test.conf:3: unknown cluster \"ap\"\n"
	  "test.conf:4: unknown cluster \"App\"\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; route = { }; }" VH_CLOSE CL,
	  "test.conf:3: missing required key \"cluster\" in " RA "\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; route = { cluster = \"\"; }; }" VH_CLOSE CL,
	  "test.conf:3: " RA ".cluster: must not be empty\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; route = \"app\"; }" VH_CLOSE CL,
	  "test.conf:3: " RA ": expected a group { ... }, got a string\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; route = { cluster = \"app\"; retry_policy = { }; }; }" VH_CLOSE CL,
	  "test.conf:3: unknown key \"retry_policy\" in " RA "\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; route = { cluster = \"app\"; timeout = 15; }; }" VH_CLOSE CL,
	  "test.conf:3: " RA ".timeout: expected a duration string such as \"30s\", got an integer\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; route = { cluster = \"app\"; idle_timeout = \"5\"; }; }" VH_CLOSE CL,
	  "test.conf:3: " RA ".idle_timeout: invalid duration \"5\": duration needs a unit: ms, s, m, h or d\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; route = { cluster = \"app\";\n"
	  "  prefix_rewrite = \"/a b\"; }; },\n"
	  "{ match = { prefix = \"/\"; }; route = { cluster = \"app\"; prefix_rewrite = \"/a?b\"; }; },\n"
	  "{ match = { prefix = \"/\"; }; route = { cluster = \"app\"; prefix_rewrite = \"/a\\nb\"; }; }" VH_CLOSE CL,
	  "test.conf:4: invalid prefix_rewrite \"/a b\": a path has no spaces, control characters, \"?\" or \"#\"\n"
	  "test.conf:5: invalid prefix_rewrite \"/a?b\": a path has no spaces, control characters, \"?\" or \"#\"\n"
	  "test.conf:6: invalid prefix_rewrite \"/a\nb\": a path has no spaces, control characters, \"?\" or \"#\"\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; route = { cluster = \"app\"; host_rewrite_literal = \"\"; }; },\n"
	  "{ match = { prefix = \"/\"; }; route = { cluster = \"app\"; host_rewrite_literal = \"a b\"; }; },\n"
	  "{ match = { prefix = \"/\"; }; route = { cluster = \"app\"; host_rewrite_literal = \"a/b\"; }; }" VH_CLOSE CL,
	  "test.conf:3: invalid host_rewrite_literal \"\": expected a host, optionally with a port\n"
	  "test.conf:4: invalid host_rewrite_literal \"a b\": expected a host, optionally with a port\n"
	  "test.conf:5: invalid host_rewrite_literal \"a/b\": expected a host, optionally with a port\n" },
	{ VH_OPEN "{ match = { safe_regex = \"/a.*\"; };\n"
	  "  route = { cluster = \"app\";\n"
	  "    prefix_rewrite = \"/b\"; }; },\n"
	  "{ match = { path = \"/a\"; }; route = { cluster = \"app\"; prefix_rewrite = \"/b\"; }; }" VH_CLOSE CL,
	  "test.conf:5: prefix_rewrite needs a route matched by prefix or path, not safe_regex\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; route = { cluster = \"app\"; prefix_rewrite = 1; }; }" VH_CLOSE CL,
	  "test.conf:3: " RA ".prefix_rewrite: expected a string, got an integer\n" },
	/* a route's upgrade_configs */
	{ VH_OPEN "{ match = { prefix = \"/\"; }; route = { cluster = \"app\"; upgrade_configs = (\n"
	  "  { upgrade_type = \"websocket\";\n"
	  "    filters = ( { name = \"router\"; } ); } ); }; }" VH_CLOSE CL,
	  "test.conf:5: filters are only allowed in a listener's upgrade_configs\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; route = { cluster = \"app\"; upgrade_configs = (\n"
	  "  { enabled = false; } ); }; }" VH_CLOSE CL,
	  "test.conf:4: missing required key \"upgrade_type\" in " RA ".upgrade_configs\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; route = { cluster = \"app\"; upgrade_configs = (\n"
	  "  { upgrade_type = \"WebSocket\"; },\n"
	  "  { upgrade_type = \"websocket\"; enabled = false; },\n"
	  "  { upgrade_type = \"web socket\"; },\n"
	  "  { upgrade_type = \"H2C\"; },\n"
	  "  { upgrade_type = \"websocket\"; enabled = \"no\"; } ); }; }" VH_CLOSE CL,
	  "test.conf:5: duplicate upgrade_type \"websocket\" (first defined at line 4)\n"
	  "test.conf:6: invalid upgrade_type \"web socket\": not an HTTP token\n"
	  "test.conf:7: upgrade type \"h2c\" is never proxied\n"
	  "test.conf:8: " RA ".upgrade_configs.enabled: expected true or false, got a string\n"
	  "test.conf:8: duplicate upgrade_type \"websocket\" (first defined at line 4)\n" },
	{ VH_OPEN "{ match = { prefix = \"/\"; }; route = { cluster = \"app\"; upgrade_configs = (\n"
	  "  { upgrade_type = \"websocket\"; cluster = \"app\"; } ); }; }" VH_CLOSE CL,
	  "test.conf:4: unknown key \"cluster\" in " RA ".upgrade_configs\n" },
	/* http_filters */
	{ HTTP_OPEN "http_filters = ();\n" HTTP_CLOSE, "test.conf:2: " HF ": must not be empty\n" },
	{ HTTP_OPEN "http_filters = ( \"router\" );\n" HTTP_CLOSE,
	  "test.conf:2: " HF ": each element must be a group { ... }, got a string\n"
	  "test.conf:2: " HF ": must not be empty\n" },
	{ HTTP_OPEN "http_filters = ( { max_request_bytes = 1; } );\n" HTTP_CLOSE,
	  "test.conf:2: missing required key \"name\" in " HF "\n" },
	{ HTTP_OPEN "http_filters = (\n"
	  "  { name = \"header_mutation\"; } );\n" HTTP_CLOSE,
	  "test.conf:2: http_filters has no router\n" },
	{ HTTP_OPEN "http_filters = (\n"
	  "  { name = \"router\"; },\n"
	  "  { name = \"header_mutation\"; } );\n" HTTP_CLOSE,
	  "test.conf:3: the router filter must be last\n" },
	{ HTTP_OPEN "http_filters = (\n"
	  "  { name = \"router\"; },\n"
	  "  { name = \"router\"; } );\n" HTTP_CLOSE,
	  "test.conf:3: the router filter must be last\n" },
	{ HTTP_OPEN "http_filters = (\n"
	  "  { name = \"gzip\"; },\n"
	  "  { name = \"Router\"; } );\n" HTTP_CLOSE,
	  "test.conf:3: unknown filter \"gzip\" (expected router, buffer or header_mutation)\n"
	  "test.conf:4: unknown filter \"Router\" (expected router, buffer or header_mutation)\n" },
	{ HTTP_OPEN "http_filters = (\n"
	  "  { name = \"buffer\"; },\n"
	  "  { name = \"router\";\n"
	  "    max_request_bytes = 1024; } );\n" HTTP_CLOSE,
	  "test.conf:3: filter \"buffer\" needs max_request_bytes\n"
	  "test.conf:5: max_request_bytes is not a setting of filter \"router\"\n" },
	{ HTTP_OPEN "http_filters = (\n"
	  "  { name = \"buffer\"; max_request_bytes = 1;\n"
	  "    request_headers_to_add = ( { name = \"a\"; value = \"b\"; } );\n"
	  "    response_headers_to_remove = [ \"x\" ]; },\n"
	  "  { name = \"header_mutation\"; max_request_bytes = 2; },\n"
	  "  { name = \"router\"; request_headers_to_remove = [ \"x\" ]; } );\n" HTTP_CLOSE,
	  "test.conf:4: request_headers_to_add is not a setting of filter \"buffer\"\n"
	  "test.conf:5: response_headers_to_remove is not a setting of filter \"buffer\"\n"
	  "test.conf:6: max_request_bytes is not a setting of filter \"header_mutation\"\n"
	  "test.conf:7: request_headers_to_remove is not a setting of filter \"router\"\n" },
	{ HTTP_OPEN "http_filters = (\n"
	  "  { name = \"buffer\"; max_request_bytes = 0; },\n"
	  "  { name = \"buffer\"; max_request_bytes = 1073741825; },\n"
	  "  { name = \"buffer\"; max_request_bytes = 10000000000L; },\n"
	  "  { name = \"buffer\"; max_request_bytes = \"1k\"; },\n"
	  "  { name = \"router\"; } );\n" HTTP_CLOSE,
	  "test.conf:3: " HF ".max_request_bytes: 0 is out of range (1..1073741824)\n"
	  "test.conf:4: " HF ".max_request_bytes: 1073741825 is out of range (1..1073741824)\n"
	  "test.conf:5: " HF ".max_request_bytes: 10000000000 is out of range (1..1073741824)\n"
	  "test.conf:6: " HF ".max_request_bytes: expected an integer, got a string\n" },
	{ HTTP_OPEN "http_filters = ( { name = \"router\"; }, { name = 1; } );\n" HTTP_CLOSE,
	  "test.conf:2: " HF ".name: expected a string, got an integer\n"
	  "test.conf:2: the router filter must be last\n" },
	{ HTTP_OPEN "http_filters = ( { name = \"header_mutation\"; request_headers_to_add = (\n"
	  "  { name = \"x a\"; value = \"1\"; },\n"
	  "  { name = \":path\"; value = \"/\"; },\n"
	  "  { name = \"x-b\"; },\n"
	  "  { name = \"x-c\"; value = \"a\\r\\nx-d: 1\"; },\n"
	  "  { name = \"x-e\"; value = \"1\"; append = 1; },\n"
	  "  { value = \"1\"; } ); },\n"
	  "  { name = \"router\"; } );\n" HTTP_CLOSE,
	  "test.conf:3: invalid header name \"x a\"\n"
	  "test.conf:4: invalid header name \":path\"\n"
	  "test.conf:5: header \"x-b\" has no value\n"
	  "test.conf:6: invalid value for header \"x-c\": control characters are not allowed\n"
	  "test.conf:7: " HF ".request_headers_to_add.append: expected true or false, got an integer\n"
	  "test.conf:8: missing required key \"name\" in " HF ".request_headers_to_add\n" },
	{ HTTP_OPEN "http_filters = ( { name = \"header_mutation\";\n"
	  "  request_headers_to_remove = [ \"a b\", \"ok\" ];\n"
	  "  response_headers_to_remove = [ \"\" ];\n"
	  "  response_headers_to_add = ( { name = \"v\"; value = \"\\x7f\"; } ); },\n"
	  "  { name = \"router\"; } );\n" HTTP_CLOSE,
	  "test.conf:3: invalid header name \"a b\"\n"
	  "test.conf:4: " HF ".response_headers_to_remove: elements must not be empty\n"
	  "test.conf:5: invalid value for header \"v\": control characters are not allowed\n" },
	{ HTTP_OPEN "http_filters = ( { name = \"router\"; typed_config = { }; } );\n" HTTP_CLOSE,
	  "test.conf:2: unknown key \"typed_config\" in " HF "\n" },
	/* a listener's upgrade_configs */
	{ HTTP_OPEN "upgrade_configs = (\n"
	  "  { upgrade_type = \"websocket\"; filters = (); } );\n" HTTP_CLOSE,
	  "test.conf:3: " UC ".filters: must not be empty\n" },
	{ HTTP_OPEN "upgrade_configs = (\n"
	  "  { upgrade_type = \"websocket\"; filters = ( { name = \"header_mutation\"; } ); } );\n" HTTP_CLOSE,
	  "test.conf:3: filters has no router\n" },
	{ HTTP_OPEN "upgrade_configs = ( { upgrade_type = \"websocket\"; filters = (\n"
	  "  { name = \"buffer\"; max_request_bytes = 1024; },\n"
	  "  { name = \"router\"; } ); } );\n" HTTP_CLOSE,
	  "test.conf:3: filter \"buffer\" cannot handle upgrade payload\n" },
	{ HTTP_OPEN "upgrade_configs = ( { upgrade_type = \"websocket\"; filters = (\n"
	  "  { name = \"router\"; },\n"
	  "  { name = \"header_mutation\"; max_request_bytes = 1; } ); } );\n" HTTP_CLOSE,
	  "test.conf:3: the router filter must be last\n"
	  "test.conf:4: max_request_bytes is not a setting of filter \"header_mutation\"\n" },
	{ HTTP_OPEN "upgrade_configs = (\n"
	  "  { upgrade_type = \"h2c\"; },\n"
	  "  { upgrade_type = \"\"; },\n"
	  "  { upgrade_type = \"foo/\"; },\n"
	  "  { upgrade_type = \"a,b\"; },\n"
	  "  { enabled = true; },\n"
	  "  { upgrade_type = \"Foo\"; },\n"
	  "  { upgrade_type = \"FOO\"; enabled = false; },\n"
	  "  { upgrade_type = \"x\"; enabled = 1; } );\n" HTTP_CLOSE,
	  "test.conf:3: upgrade type \"h2c\" is never proxied\n"
	  "test.conf:4: " UC ".upgrade_type: must not be empty\n"
	  "test.conf:5: invalid upgrade_type \"foo/\": not an HTTP token\n"
	  "test.conf:6: invalid upgrade_type \"a,b\": not an HTTP token\n"
	  "test.conf:7: missing required key \"upgrade_type\" in " UC "\n"
	  "test.conf:9: duplicate upgrade_type \"foo\" (first defined at line 8)\n"
	  "test.conf:10: " UC ".enabled: expected true or false, got an integer\n" },
	{ HTTP_OPEN "upgrade_configs = ( { upgrade_type = \"websocket\"; allow_connect = true; } );\n" HTTP_CLOSE,
	  "test.conf:2: unknown key \"allow_connect\" in " UC "\n" },
	/* clusters */
	{ L1 "clusters = { name = \"a\"; };\n",
	  "test.conf:2: clusters: expected a list ( { ... }, ... ), got a group\n" },
	{ L1 "clusters = ( { endpoints = [ \"127.0.0.1:1\" ]; } );\n",
	  "test.conf:2: missing required key \"name\" in clusters\n" },
	{ L1 "clusters = ( { name = \"a\"; } );\n",
	  "test.conf:2: missing required key \"endpoints\" in clusters\n" },
	{ L1 "clusters = ( { name = \"a\"; endpoints = []; } );\n",
	  "test.conf:2: clusters.endpoints: must not be empty\n" },
	{ L1 "clusters = ( { name = \"a\"; endpoints = \"127.0.0.1:1\"; } );\n",
	  "test.conf:2: clusters.endpoints: expected an array of strings [ \"...\", ... ], got a string\n" },
	{ L1 "clusters = ( { name = \"a\"; endpoints = [ 80 ]; } );\n",
	  "test.conf:2: clusters.endpoints: each element must be a string, got an integer\n"
	  "test.conf:2: clusters.endpoints: must not be empty\n" },
	{ L1 "clusters = (\n"
	  "  { name = \"a\"; endpoints = [ \"127.0.0.1:1\" ]; },\n"
	  "  { name = \"b\"; endpoints = [ \"127.0.0.1:1\" ]; },\n"
	  "  { name = \"a\"; endpoints = [ \"127.0.0.1:2\" ]; }\n"
	  ");\n",
	  "test.conf:5: duplicate cluster name \"a\" (first defined at line 3)\n" },
	{ L1 "clusters = ( { name = \"a\"; endpoints = [\n"
	  "  \"app\",\n"
	  "  \"::1:80\",\n"
	  "  \"[::1]80\",\n"
	  "  \"app:http\",\n"
	  "  \"app:0\",\n"
	  "  \"app:65536\",\n"
	  "  \":80\",\n"
	  "  \"[]:80\",\n"
	  "  \"*:80\",\n"
	  "  \"0.0.0.0:80\",\n"
	  "  \"[::]:80\",\n"
	  "  \"[app]:80\",\n"
	  "  \"127.0.0.1:80\",\n"
	  "  \"127.0.0.1:80\",\n"
	  "  \"app:\" ]; } );\n",
	  "test.conf:3: invalid endpoint \"app\": expected host:port, such as 127.0.0.1:9000, [::1]:9001 or app.internal:80\n"
	  "test.conf:4: invalid endpoint \"::1:80\": an IPv6 address needs brackets, as in [::1]:9001\n"
	  "test.conf:5: invalid endpoint \"[::1]80\": expected host:port, such as 127.0.0.1:9000, [::1]:9001 or app.internal:80\n"
	  "test.conf:6: invalid endpoint \"app:http\": the port must be a number from 1 to 65535\n"
	  "test.conf:7: invalid endpoint \"app:0\": the port must be a number from 1 to 65535\n"
	  "test.conf:8: invalid endpoint \"app:65536\": the port must be a number from 1 to 65535\n"
	  "test.conf:9: invalid endpoint \":80\": expected host:port, such as 127.0.0.1:9000, [::1]:9001 or app.internal:80\n"
	  "test.conf:10: invalid endpoint \"[]:80\": expected host:port, such as 127.0.0.1:9000, [::1]:9001 or app.internal:80\n"
	  "test.conf:11: invalid endpoint \"*:80\": a wildcard is not an upstream address\n"
	  "test.conf:12: invalid endpoint \"0.0.0.0:80\": 0.0.0.0:80 is not a destination\n"
	  "test.conf:13: invalid endpoint \"[::]:80\": [::]:80 is not a destination\n"
	  "test.conf:14: invalid endpoint \"[app]:80\": not an IPv6 address between the brackets\n"
	  "test.conf:16: duplicate endpoint \"127.0.0.1:80\" in cluster \"a\"\n"
	  "test.conf:17: invalid endpoint \"app:\": the port must be a number from 1 to 65535\n" },
	{ L1 "clusters = ( { name = \"a\"; endpoints = [ \"127.0.0.1:1\" ];\n"
	  "  connect_timeout = 5;\n"
	  "  lb_policy = \"rr\";\n"
	  "  max_connections = 0;\n"
	  "  max_idle_connections = -1;\n"
	  "  idle_timeout = \"1y\";\n"
	  "  health_checks = ();\n"
	  "  lb_policy = \"random\"; } );\n",
	  "test.conf:9: duplicate setting name\n" },
	{ L1 "clusters = ( { name = \"a\"; endpoints = [ \"127.0.0.1:1\" ];\n"
	  "  connect_timeout = 5;\n"
	  "  lb_policy = \"rr\";\n"
	  "  max_connections = 0;\n"
	  "  max_idle_connections = -1;\n"
	  "  idle_timeout = \"1y\";\n"
	  "  health_checks = (); } );\n",
	  "test.conf:3: clusters.connect_timeout: expected a duration string such as \"30s\", got an integer\n"
	  "test.conf:4: clusters.lb_policy: invalid value \"rr\" (expected round_robin, least_request or random)\n"
	  "test.conf:5: clusters.max_connections: 0 is out of range (1..1000000)\n"
	  "test.conf:6: clusters.max_idle_connections: -1 is out of range (0..1000000)\n"
	  "test.conf:7: clusters.idle_timeout: invalid duration \"1y\": unknown duration unit (use ms, s, m, h or d)\n"
	  "test.conf:8: unknown key \"health_checks\" in clusters\n" },
	{ L1 "clusters = ( { name = \""
	  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789x"
	  "\"; endpoints = [ \"127.0.0.1:1\" ]; } );\n",
	  "test.conf:2: clusters.name: longer than 100 characters\n" },
	{ L1 "clusters = ( { name = \"a\"; endpoints = [ \"127.0.0.1:1\" ]; max_connections = 1000001; } );\n",
	  "test.conf:2: clusters.max_connections: 1000001 is out of range (1..1000000)\n" },
	/* protocol and http2_protocol_options, on a cluster */
	{ L1 "clusters = ( { name = \"a\"; endpoints = [ \"127.0.0.1:1\" ];\n"
	  "  protocol = \"h2\";\n"
	  "  http2_protocol_options = {\n"
	  "    allow_connect = true;\n"
	  "    max_concurrent_streams = 0;\n"
	  "    initial_stream_window_size = 1;\n"
	  "    initial_connection_window_size = 65534;\n"
	  "    max_header_list_kb = 8193;\n"
	  "    allow_connect_protocol = true; }; } );\n",
	  "test.conf:3: clusters.protocol: invalid value \"h2\" (expected http1, http2 or auto)\n"
	  "test.conf:5: allow_connect is a listener setting: toward a cluster, extended CONNECT "
	  "is used when the upstream's SETTINGS allow it\n"
	  "test.conf:6: " CH2O ".max_concurrent_streams: 0 is out of range (1..2147483647)\n"
	  "test.conf:7: " CH2O ".initial_stream_window_size: 1 is out of range (65535..2147483647)\n"
	  "test.conf:8: " CH2O ".initial_connection_window_size: 65534 is out of range (65535..2147483647)\n"
	  "test.conf:9: " CH2O ".max_header_list_kb: 8193 is out of range (1..8192)\n"
	  "test.conf:10: unknown key \"allow_connect_protocol\" in " CH2O "\n" },
	{ L1 "clusters = ( { name = \"a\"; endpoints = [ \"127.0.0.1:1\" ]; protocol = 2; } );\n",
	  "test.conf:2: clusters.protocol: expected http1, http2 or auto, got an integer\n" },
	{ L1 "clusters = ( { name = \"a\"; endpoints = [ \"127.0.0.1:1\" ]; protocol = \"HTTP2\"; } );\n",
	  "test.conf:2: clusters.protocol: invalid value \"HTTP2\" (expected http1, http2 or auto)\n" },
	{ L1 "clusters = ( { name = \"a\"; endpoints = [ \"127.0.0.1:1\" ]; http2_protocol_options = 1; } );\n",
	  "test.conf:2: " CH2O ": expected a group { ... }, got an integer\n" },
	/* listeners.tls */
	{ TLS_OPEN "tls = true; }" TLS_CLOSE,
	  "test.conf:2: listeners.tls: expected a group { ... }, got a boolean\n" },
	{ TLS_OPEN "tls = { }; }" TLS_CLOSE,
	  "test.conf:2: missing required key \"certificate\" in listeners.tls\n"
	  "test.conf:2: missing required key \"private_key\" in listeners.tls\n" },
	{ TLS_OPEN "tls = {\n certificate = \"\";\n private_key = 1;\n cert = \"c\"; }; }" TLS_CLOSE,
	  "test.conf:3: listeners.tls.certificate: must not be empty\n"
	  "test.conf:4: listeners.tls.private_key: expected a path string, got an integer\n"
	  "test.conf:5: unknown key \"cert\" in listeners.tls\n" },
	{ TLS_OPEN "tls = { " CERT "\n alpn = [ \"h3\", \"H2\", \"h2\", \"http/1.1\", \"h2\" ]; }; }" TLS_CLOSE,
	  "test.conf:3: invalid alpn \"h3\" (expected \"h2\" or \"http/1.1\")\n"
	  "test.conf:3: invalid alpn \"H2\" (expected \"h2\" or \"http/1.1\")\n"
	  "test.conf:3: duplicate alpn \"h2\"\n" },
	{ TLS_OPEN "tls = { " CERT "\n alpn = [ ]; }; }" TLS_CLOSE,
	  "test.conf:3: listeners.tls.alpn: must not be empty\n" },
	{ TLS_OPEN "tls = { " CERT "\n alpn = \"h2\"; }; }" TLS_CLOSE,
	  "test.conf:3: listeners.tls.alpn: expected an array of strings [ \"...\", ... ], got a string\n" },
	{ TLS_OPEN "tls = { " CERT "\n alpn = [ \"h2\", 2 ]; }; }" TLS_CLOSE,
	  "test.conf:3: mismatched element type in array\n" },
	{ "listeners = ( { name = \"l\"; address = \"127.0.0.1:8443\";"
	  " http = { stat_prefix = \"p\"; codec_type = \"http1\"; };\n"
	  "tls = { " CERT "\n alpn = [ \"h2\", \"http/1.1\" ]; }; }" TLS_CLOSE,
	  "test.conf:3: alpn \"h2\" needs codec_type \"auto\" or \"http2\"\n" },
	{ "listeners = ( { name = \"l\"; address = \"127.0.0.1:8443\";"
	  " http = { stat_prefix = \"p\"; codec_type = \"http2\"; };\n"
	  "tls = { " CERT "\n alpn = [ \"http/1.1\" ]; }; }" TLS_CLOSE,
	  "test.conf:3: alpn \"http/1.1\" needs codec_type \"auto\" or \"http1\"\n" },
	{ TLS_OPEN "tls = { " CERT "\n min_version = \"TLSv1.1\"; ciphers = \"\"; }; }" TLS_CLOSE,
	  "test.conf:3: listeners.tls.min_version: invalid value \"TLSv1.1\" (expected TLSv1.2 or TLSv1.3)\n"
	  "test.conf:3: listeners.tls.ciphers: must not be empty\n" },
	{ TLS_OPEN "tls = { " CERT "\n min_version = 3; }; }" TLS_CLOSE,
	  "test.conf:3: listeners.tls.min_version: expected TLSv1.2 or TLSv1.3, got an integer\n" },
	{ TLS_OPEN "tls = { " CERT " certificates = (\n"
	  " { certificate = \"a\"; },\n"
	  " { server_names = [ ]; private_key = \"k\"; sni = \"x\"; }\n"
	  "); }; }" TLS_CLOSE,
	  "test.conf:3: missing required key \"server_names\" in listeners.tls.certificates\n"
	  "test.conf:3: missing required key \"private_key\" in listeners.tls.certificates\n"
	  "test.conf:4: unknown key \"sni\" in listeners.tls.certificates\n"
	  "test.conf:4: listeners.tls.certificates.server_names: must not be empty\n"
	  "test.conf:4: missing required key \"certificate\" in listeners.tls.certificates\n" },
	{ TLS_OPEN "tls = { " CERT " certificates = { server_names = [ \"a\" ]; }; }; }" TLS_CLOSE,
	  "test.conf:2: listeners.tls.certificates: expected a list ( { ... }, ... ), got a group\n" },
	{ TLS_OPEN "tls = { " CERT " certificates = ( 1 ); }; }" TLS_CLOSE,
	  "test.conf:2: listeners.tls.certificates: each element must be a group { ... }, got an integer\n" },
	{ TLS_OPEN "tls = { " CERT " certificates = ( { certificate = \"c\"; private_key = \"k\";\n"
	  " server_names = [ \"a..b\", \"-a.b\", \"a-.b\", \"a_b.c\", \"*\", \"*.\", \"a.*.b\", \"**.a\","
	  " \"a.b.\", \"x y\", \"a.*\" ]; } ); }; }"
	  TLS_CLOSE,
	  "test.conf:3: invalid server name \"a..b\": a label is empty\n"
	  "test.conf:3: invalid server name \"-a.b\": a label starts or ends with a hyphen\n"
	  "test.conf:3: invalid server name \"a-.b\": a label starts or ends with a hyphen\n"
	  "test.conf:3: invalid server name \"a_b.c\": a host name has only letters, digits, hyphens and dots\n"
	  "test.conf:3: invalid server name \"*\": a wildcard is only a leading \"*.\"\n"
	  "test.conf:3: invalid server name \"*.\": a label is empty\n"
	  "test.conf:3: invalid server name \"a.*.b\": a wildcard is only a leading \"*.\"\n"
	  "test.conf:3: invalid server name \"**.a\": a wildcard is only a leading \"*.\"\n"
	  "test.conf:3: invalid server name \"a.b.\": a label is empty\n"
	  "test.conf:3: invalid server name \"x y\": a host name has only letters, digits, hyphens and dots\n"
	  "test.conf:3: invalid server name \"a.*\": a wildcard is only a leading \"*.\"\n" },
	{ TLS_OPEN "tls = { " CERT " certificates = ( { certificate = \"c\"; private_key = \"k\";\n"
	  " server_names = [ \"a0123456789012345678901234567890123456789012345678901234567890123.b\" ]; } ); }; }"
	  TLS_CLOSE,
	  "test.conf:3: invalid server name \"a0123456789012345678901234567890123456789012345678901234567890123.b\": "
	  "a label is longer than 63 characters\n" },
	{ TLS_OPEN "tls = { " CERT " certificates = (\n"
	  " { server_names = [ \"A.example\", \"*.b.example\", \"a.example\" ]; certificate = \"c\"; private_key = \"k\"; },\n"
	  " { server_names = [ \"b.example\", \"*.B.example\", \"a.EXAMPLE\" ]; certificate = \"c\"; private_key = \"k\"; }\n"
	  "); }; }" TLS_CLOSE,
	  "test.conf:3: duplicate server name \"a.example\"\n"
	  "test.conf:4: server name \"*.b.example\" is already served by the certificates entry at line 3\n"
	  "test.conf:4: server name \"a.example\" is already served by the certificates entry at line 3\n" },
	{ TLS_OPEN "tls = { " CERT " };\n tls_handshake_timeout = \"0\"; }" TLS_CLOSE,
	  "test.conf:3: listeners.tls_handshake_timeout: must be greater than 0\n" },
	{ TLS_OPEN "tls_handshake_timeout = 10; }" TLS_CLOSE,
	  "test.conf:2: listeners.tls_handshake_timeout: expected a duration string such as \"30s\", got an integer\n" },
	/* clusters.protocol auto and clusters.tls */
	{ L1 "clusters = ( { name = \"a\"; endpoints = [ \"127.0.0.1:1\" ];\n protocol = \"auto\"; } );\n",
	  "test.conf:3: protocol \"auto\" needs tls (ALPN picks the protocol)\n" },
	{ L1 "clusters = ( { name = \"a\"; endpoints = [ \"127.0.0.1:1\" ];\n tls = 1; protocol = \"auto\"; } );\n",
	  "test.conf:3: clusters.tls: expected a group { ... }, got an integer\n" },
	{ L1 "clusters = ( { name = \"a\"; endpoints = [ \"127.0.0.1:1\" ];\n tls = {\n certificate = \"c\"; }; },\n"
	  " { name = \"b\"; endpoints = [ \"127.0.0.1:1\" ]; tls = {\n private_key = \"k\"; }; } );\n",
	  "test.conf:4: certificate needs private_key\n"
	  "test.conf:6: private_key needs certificate\n" },
	{ L1 "clusters = ( { name = \"a\"; endpoints = [ \"127.0.0.1:1\" ];\n tls = { sni = \"*.a\"; }; },\n"
	  " { name = \"b\"; endpoints = [ \"127.0.0.1:1\" ]; tls = { sni = \"app internal\"; }; },\n"
	  " { name = \"c\"; endpoints = [ \"127.0.0.1:1\" ]; tls = { sni = \"\"; ca_file = \"\"; }; } );\n",
	  "test.conf:3: invalid sni \"*.a\": a wildcard is not a host name\n"
	  "test.conf:4: invalid sni \"app internal\": a host name has only letters, digits, hyphens and dots\n"
	  "test.conf:5: clusters.tls.ca_file: must not be empty\n"
	  "test.conf:5: clusters.tls.sni: must not be empty\n" },
	{ L1 "clusters = ( { name = \"a\"; endpoints = [ \"127.0.0.1:1\" ];\n tls = { alpn = [ \"h2\" ]; }; },\n"
	  " { name = \"b\"; endpoints = [ \"127.0.0.1:1\" ]; protocol = \"http2\";\n"
	  " tls = { alpn = [ \"h2\", \"http/1.1\" ]; }; },\n"
	  " { name = \"c\"; endpoints = [ \"127.0.0.1:1\" ]; protocol = \"auto\";\n"
	  " tls = { alpn = [ \"spdy/3\", \"h2\", \"h2\" ]; }; } );\n",
	  "test.conf:3: alpn \"h2\" needs protocol \"auto\" or \"http2\"\n"
	  "test.conf:5: alpn \"http/1.1\" needs protocol \"auto\" or \"http1\"\n"
	  "test.conf:7: invalid alpn \"spdy/3\" (expected \"h2\" or \"http/1.1\")\n"
	  "test.conf:7: duplicate alpn \"h2\"\n" },
	{ L1 "clusters = ( { name = \"a\"; endpoints = [ \"127.0.0.1:1\" ];\n"
	  " tls = { verify = \"yes\";\n min_version = \"tlsv1.3\";\n ciphers = \"x\"; }; } );\n",
	  "test.conf:3: clusters.tls.verify: expected true or false, got a string\n"
	  "test.conf:4: clusters.tls.min_version: invalid value \"tlsv1.3\" (expected TLSv1.2 or TLSv1.3)\n"
	  "test.conf:5: unknown key \"ciphers\" in clusters.tls\n" },
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
	ck_assert_uint_eq(vh->nroutes, 3);
	ck_assert_str_eq(vh->routes[0].path, "/healthz");
	ck_assert_str_eq(vh->routes[0].direct_response.body, "ok\n");
	ck_assert_str_eq(vh->routes[1].prefix, "/ws");
	ck_assert(vh->routes[1].has_route);
	ck_assert_ptr_eq(vh->routes[1].route.cluster_ref, &c->clusters[0]);
	ck_assert_str_eq(vh->routes[2].prefix, "/");
	ck_assert_int_eq(vh->routes[2].direct_response.status, 200);
	ck_assert_uint_eq(c->listeners[0].http.nhttp_filters, 1);
	ck_assert_str_eq(c->listeners[0].http.http_filters[0].name, "router");
	ck_assert_uint_eq(c->listeners[0].http.nupgrade_configs, 1);
	ck_assert_str_eq(c->listeners[0].http.upgrade_configs[0].upgrade_type, "websocket");
	ck_assert_uint_eq(c->nclusters, 1);
	ck_assert_str_eq(c->clusters[0].name, "backend");
	ck_assert_uint_eq(c->clusters[0].nendpoints, 1);
	ck_assert_str_eq(c->clusters[0].endpoints[0].label, "127.0.0.1:9000");
	sy_conf_free(c);
	sy_conf_errors_fini(&e);
}
END_TEST

/*
 * What "switchyard -t" does to each shipped file (sy_conf_load, nothing
 * else): every .conf file in etc and etc/examples must load, and the
 * HTTP/2 pair and the TLS example must say what their comments promise.
 */
START_TEST(test_shipped_examples)
{
	struct sy_conf_errors e;
	struct sy_conf *c;
	glob_t g;
	size_t i;
	int n = 0;

	if (access("etc/switchyard.conf", R_OK) != 0)
		return;
	ck_assert_int_eq(glob("etc/*.conf", 0, NULL, &g), 0);
	ck_assert_int_eq(glob("etc/examples/*.conf", GLOB_APPEND, NULL, &g), 0);
	for (i = 0; i < g.gl_pathc; i++) {
		sy_conf_errors_init(&e);
		c = sy_conf_load(g.gl_pathv[i], &e);
		if (c == NULL)
			sy_conf_errors_print(&e, stderr);
		ck_assert_msg(c != NULL, "%s does not load", g.gl_pathv[i]);
		sy_conf_free(c);
		sy_conf_errors_fini(&e);
		n++;
	}
	globfree(&g);
	ck_assert_int_ge(n, 4);

	sy_conf_errors_init(&e);
	c = sy_conf_load("etc/examples/h2-front.conf", &e);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->admin.socket, "/run/switchyard/front.sock");
	ck_assert_str_eq(c->listeners[0].addr_label, "127.0.0.1:8080");
	ck_assert_int_eq(c->listeners[0].http.codec_type, SY_CODEC_HTTP1);
	ck_assert_str_eq(c->listeners[0].http.upgrade_configs[0].upgrade_type, "websocket");
	ck_assert_str_eq(c->clusters[0].name, "sidecar");
	ck_assert_int_eq(c->clusters[0].protocol, SY_PROTO_HTTP2);
	ck_assert_str_eq(c->clusters[0].endpoints[0].label, "127.0.0.1:8081");
	sy_conf_free(c);
	c = sy_conf_load("etc/examples/h2-sidecar.conf", &e);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->admin.socket, "/run/switchyard/sidecar.sock");
	ck_assert_str_eq(c->listeners[0].addr_label, "127.0.0.1:8081");
	ck_assert_int_eq(c->listeners[0].http.codec_type, SY_CODEC_HTTP2);
	ck_assert(c->listeners[0].http.http2.allow_connect);
	ck_assert_str_eq(c->listeners[0].http.upgrade_configs[0].upgrade_type, "websocket");
	ck_assert_str_eq(c->clusters[0].name, "app");
	ck_assert_int_eq(c->clusters[0].protocol, SY_PROTO_HTTP1);
	ck_assert_str_eq(c->clusters[0].endpoints[0].label, "127.0.0.1:9000");
	sy_conf_free(c);

	/*
	 * The TLS example names key files that are not shipped: without the
	 * TLS module's hook (none here) the load only resolves their paths.
	 */
	c = sy_conf_load("etc/examples/tls.conf", &e);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->admin.socket, "/run/switchyard/tls.sock");
	ck_assert_str_eq(c->listeners[0].addr_label, "127.0.0.1:8443");
	ck_assert(c->listeners[0].tls.enabled);
	ck_assert_uint_eq(c->listeners[0].tls.ncerts, 1);
	ck_assert(strncmp(c->listeners[0].tls.certs[0].certificate, c->dir, strlen(c->dir)) == 0);
	ck_assert_str_eq(c->listeners[0].tls.certs[0].certificate + strlen(c->dir), "/tls/cert.pem");
	ck_assert_str_eq(c->listeners[0].tls.certs[0].private_key + strlen(c->dir), "/tls/key.pem");
	ck_assert_uint_eq(c->listeners[0].tls.nalpn, 2);
	ck_assert_str_eq(c->listeners[0].tls.alpn[0], "h2");
	ck_assert_str_eq(c->listeners[0].tls.alpn[1], "http/1.1");
	ck_assert_int_eq(c->listeners[0].tls_handshake_timeout, 10000);
	ck_assert_int_eq(c->listeners[0].http.codec_type, SY_CODEC_AUTO);
	ck_assert(c->listeners[0].http.http2.allow_connect);
	ck_assert_str_eq(c->listeners[0].http.upgrade_configs[0].upgrade_type, "websocket");
	ck_assert(!c->clusters[0].tls.enabled);
	sy_conf_free(c);
	sy_conf_errors_fini(&e);
}
END_TEST

/* ---- hooks of the layers above ------------------------------------------- */

static struct {
	int loaded, freeing;
	const struct sy_conf *seen, *freed;
	int refuse;		/* 0: accept; 1: refuse with an error; 2: refuse silently */
} t_hooks;

static int
t_hook_loaded(struct sy_conf *c, struct sy_conf_errors *errs)
{
	const struct sy_conf_tls_cert *cert;

	t_hooks.loaded++;
	t_hooks.seen = c;
	/* It sees the validated conf: absolute paths, ALPN filled in. */
	ck_assert(c->listeners[0].tls.enabled);
	ck_assert_uint_eq(c->listeners[0].tls.nalpn, 2);
	cert = &c->listeners[0].tls.certs[0];
	ck_assert_str_eq(cert->certificate + strlen(c->dir), "/cert.pem");
	ck_assert(strncmp(cert->certificate, c->dir, strlen(c->dir)) == 0);
	if (t_hooks.refuse == 0)
		return 0;
	if (t_hooks.refuse == 1)
		sy_conf_errors_add(errs, c->path, cert->line, "cannot load certificate \"%s\": no start line",
		    cert->certificate);
	return -1;
}

static void
t_hook_freeing(struct sy_conf *c)
{
	t_hooks.freeing++;
	t_hooks.freed = c;
}

#define TLS_L1 "listeners = ( { name = \"l\"; address = \"127.0.0.1:8443\"; http = { stat_prefix = \"p\"; };\n" \
	"  tls = { certificate = \"cert.pem\"; private_key = \"key.pem\"; }; } );\n"

START_TEST(test_conf_hooks)
{
	static const struct sy_conf_hooks hooks = { .loaded = t_hook_loaded, .freeing = t_hook_freeing };
	struct sy_conf_errors e;
	struct sy_conf *c;
	char *out;

	sy_conf_set_hooks(&hooks);
	memset(&t_hooks, 0, sizeof(t_hooks));

	/* Accepted: loaded once, on the conf returned; freeing at sy_conf_free. */
	c = load_ok(TLS_L1);
	ck_assert_int_eq(t_hooks.loaded, 1);
	ck_assert_ptr_eq(t_hooks.seen, c);
	ck_assert_int_eq(t_hooks.freeing, 0);
	sy_conf_free(c);
	ck_assert_int_eq(t_hooks.freeing, 1);
	ck_assert_ptr_eq(t_hooks.freed, c);

	/* Refused: the load fails with the hook's error; the conf is freed through the hook. */
	memset(&t_hooks, 0, sizeof(t_hooks));
	t_hooks.refuse = 1;
	sy_conf_errors_init(&e);
	ck_assert_ptr_null(sy_conf_load_string(TLS_L1, "/srv/sy/test.conf", &e));
	ck_assert_int_eq(t_hooks.loaded, 1);
	ck_assert_int_eq(t_hooks.freeing, 1);
	ck_assert_ptr_eq(t_hooks.freed, t_hooks.seen);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_str_eq(e.v[0].file, "/srv/sy/test.conf");
	ck_assert_int_eq(e.v[0].line, 2);
	ck_assert_str_eq(e.v[0].msg, "cannot load certificate \"/srv/sy/cert.pem\": no start line");
	sy_conf_errors_fini(&e);

	/* Refused without a reason: the load still says it failed. */
	t_hooks.refuse = 2;
	out = errors_of(TLS_L1);
	ck_assert_str_eq(out, "test.conf: configuration refused\n");
	free(out);
	ck_assert_int_eq(t_hooks.loaded, 2);
	ck_assert_int_eq(t_hooks.freeing, 2);

	/* An invalid file never reaches the hooks. */
	memset(&t_hooks, 0, sizeof(t_hooks));
	out = errors_of(TLS_L1 "workers = 0;\n");
	ck_assert_str_eq(out, "test.conf:3: workers: 0 is out of range (1..256)\n");
	free(out);
	ck_assert_int_eq(t_hooks.loaded, 0);
	ck_assert_int_eq(t_hooks.freeing, 0);

	/* Without hooks nothing is called. */
	sy_conf_set_hooks(NULL);
	c = load_ok(TLS_L1);
	sy_conf_free(c);
	ck_assert_int_eq(t_hooks.loaded, 0);
	ck_assert_int_eq(t_hooks.freeing, 0);
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

/* A minimal JSON reader: json_value returns the end of one value, or NULL. */

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

/* The dump without its line breaks and indentation, malloc'd. */
static char *
squashed_dump_of(const struct sy_conf *c)
{
	char *s = dump_of(c), *r, *w;

	for (r = w = s; *r != '\0'; r++) {
		if (*r == '\n') {
			while (r[1] == ' ')
				r++;
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
	return s;
}

START_TEST(test_dump_json_proxy)
{
	struct sy_conf *c = load_ok(proxy_keys);
	char *raw = dump_of(c), *s = squashed_dump_of(c);
	static const char *const want[] = {
		/* clusters, with what the names resolved to */
		"\"clusters\": [{\"name\": \"app\",\"endpoints\": [\"127.0.0.1:9000\", \"[::1]:9001\"],"
		"\"connect_timeout\": \"250ms\",\"lb_policy\": \"least_request\",\"max_connections\": 1000000,"
		"\"max_idle_connections\": 0,\"idle_timeout\": \"0s\",\"protocol\": \"http1\",\"tls\": null,"
		"\"http2_protocol_options\": {\"max_concurrent_streams\": 100,\"initial_stream_window_size\": 65536,"
		"\"initial_connection_window_size\": 1048576,\"max_header_list_kb\": 60},"
		"\"resolved_endpoints\": [\"127.0.0.1:9000\", \"[::1]:9001\"]},",
		"{\"name\": \"chat\",\"endpoints\": [\"10.1.2.3:80\"],\"connect_timeout\": \"5s\","
		"\"lb_policy\": \"random\",\"max_connections\": 1024,\"max_idle_connections\": 32,"
		"\"idle_timeout\": \"1m\",\"protocol\": \"http1\",\"tls\": null,\"http2_protocol_options\": {",
		"\"lb_policy\": \"round_robin\"",
		/* a filter shows only its own settings */
		"\"http_filters\": [{\"name\": \"buffer\",\"max_request_bytes\": 1073741824},"
		"{\"name\": \"header_mutation\",\"request_headers_to_add\": ["
		"{\"name\": \"x-added\",\"value\": \"1\",\"append\": true},"
		"{\"name\": \"x-empty\",\"value\": \"\",\"append\": false}],"
		"\"request_headers_to_remove\": [\"x-secret\", \"cookie\"],"
		"\"response_headers_to_add\": [{\"name\": \"server\",\"value\": \"sy\\tyard\",\"append\": false}],"
		"\"response_headers_to_remove\": [\"via\"]},{\"name\": \"router\"}],",
		/* listener upgrades: absent filters are null (the default chain) */
		"\"upgrade_configs\": [{\"upgrade_type\": \"websocket\",\"enabled\": true,\"filters\": ["
		"{\"name\": \"header_mutation\",\"request_headers_to_add\": [],\"request_headers_to_remove\": [\"x-a\"],"
		"\"response_headers_to_add\": [],\"response_headers_to_remove\": []},{\"name\": \"router\"}]},"
		"{\"upgrade_type\": \"foo\",\"enabled\": false,\"filters\": null},"
		"{\"upgrade_type\": \"tls/1.0\",\"enabled\": true,\"filters\": null}]",
		/* route actions; route upgrades have no filters; unset idle_timeout is null */
		"\"direct_response\": null,\"route\": {\"cluster\": \"chat\",\"timeout\": \"0s\","
		"\"idle_timeout\": \"10m\",\"prefix_rewrite\": \"/\",\"host_rewrite_literal\": \"backend.internal:8080\","
		"\"upgrade_configs\": [{\"upgrade_type\": \"websocket\",\"enabled\": false},"
		"{\"upgrade_type\": \"foo\",\"enabled\": true}]}",
		"\"route\": {\"cluster\": \"app\",\"timeout\": \"15s\",\"idle_timeout\": null,"
		"\"prefix_rewrite\": null,\"host_rewrite_literal\": null,\"upgrade_configs\": []}",
	};
	size_t i;

	ck_assert_ptr_nonnull(json_value(raw));
	ck_assert_str_eq(json_ws(json_value(raw)), "");
	for (i = 0; i < SY_ARRAY_LEN(want); i++) {
		if (strstr(s, want[i]) == NULL)
			fprintf(stderr, "missing %s in\n%s\n", want[i], s);
		ck_assert_ptr_nonnull(strstr(s, want[i]));
	}
	ck_assert_ptr_null(strstr(s, "\"filters\": [{\"name\": \"router\"}]"));
	free(raw);
	free(s);
	sy_conf_free(c);

	/* Defaults: the synthesized router, no upgrades, no clusters, no route. */
	c = load_ok(L1);
	s = squashed_dump_of(c);
	ck_assert_ptr_nonnull(strstr(s, "\"http_filters\": [{\"name\": \"router\"}],\"upgrade_configs\": [],"
	    "\"preserve_upgrade_method\": false,\"route_config\": {"));
	ck_assert_ptr_nonnull(strstr(s, "\"clusters\": []}"));
	free(s);
	sy_conf_free(c);
	c = load_ok(VH_OPEN "{ match = { prefix = \"/\"; }; " DR " }" VH_CLOSE);
	s = squashed_dump_of(c);
	ck_assert_ptr_nonnull(strstr(s, "\"direct_response\": {\"status\": 200,\"body\": null},\"route\": null}"));
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
		"listeners.tls\tgroup\t-\treload\t",
		"listeners.tls.certificate\tpath\trequired\treload\t",
		"listeners.tls.private_key\tpath\trequired\treload\t",
		"listeners.tls.alpn\tstrings\t-\treload\t",
		"listeners.tls.min_version\tenum(TLSv1.2|TLSv1.3)\tTLSv1.2\treload\t",
		"listeners.tls.ciphers\tstring\t-\treload\t",
		"listeners.tls.certificates\tlist\t-\treload\t",
		"listeners.tls.certificates.server_names\tstrings\trequired\treload\t",
		"listeners.tls.certificates.certificate\tpath\trequired\treload\t",
		"listeners.tls.certificates.private_key\tpath\trequired\treload\t",
		"listeners.tls_handshake_timeout\tduration(>0)\t10s\treload\t",
		"listeners.http\tgroup\trequired\treload\t",
		"listeners.http.stat_prefix\tstring\trequired\treload\t",
		"listeners.http.codec_type\tenum(auto|http1|http2)\tauto\treload\t",
		"listeners.http.request_headers_timeout\tduration\t10s\treload\t",
		"listeners.http.idle_timeout\tduration\t1h\treload\t",
		"listeners.http.stream_idle_timeout\tduration\t5m\treload\t",
		"listeners.http.max_request_headers_kb\tint(1..8192)\t60\treload\t",
		"listeners.http.max_headers_count\tint(1..10000)\t100\treload\t",
		"listeners.http.http2_protocol_options\tgroup\t-\treload\t",
		"listeners.http.http2_protocol_options.allow_connect\tbool\tfalse\treload\t",
		"listeners.http.http2_protocol_options.max_concurrent_streams\tint(1..2147483647)\t100\treload\t",
		"listeners.http.http2_protocol_options.initial_stream_window_size\tint(65535..2147483647)\t65536\treload\t",
		"listeners.http.http2_protocol_options.initial_connection_window_size\tint(65535..2147483647)\t1048576\t"
		"reload\t",
		"listeners.http.http2_protocol_options.max_header_list_kb\tint(1..8192)\t60\treload\t",
		"listeners.http.http_filters\tlist\t-\treload\t",
		"listeners.http.http_filters.name\tstring\trequired\treload\t",
		"listeners.http.http_filters.max_request_bytes\tint(1..1073741824)\trequired\treload\t",
		"listeners.http.http_filters.request_headers_to_add\tlist\t-\treload\t",
		"listeners.http.http_filters.request_headers_to_add.name\tstring\trequired\treload\t",
		"listeners.http.http_filters.request_headers_to_add.value\tstring\t-\treload\t",
		"listeners.http.http_filters.request_headers_to_add.append\tbool\tfalse\treload\t",
		"listeners.http.http_filters.request_headers_to_remove\tstrings\t-\treload\t",
		"listeners.http.http_filters.response_headers_to_add\tlist\t-\treload\t",
		"listeners.http.http_filters.response_headers_to_add.name\tstring\trequired\treload\t",
		"listeners.http.http_filters.response_headers_to_add.value\tstring\t-\treload\t",
		"listeners.http.http_filters.response_headers_to_add.append\tbool\tfalse\treload\t",
		"listeners.http.http_filters.response_headers_to_remove\tstrings\t-\treload\t",
		"listeners.http.upgrade_configs\tlist\t-\treload\t",
		"listeners.http.upgrade_configs.upgrade_type\tstring\trequired\treload\t",
		"listeners.http.upgrade_configs.enabled\tbool\ttrue\treload\t",
		"listeners.http.upgrade_configs.filters\tlist\t-\treload\t",
		"listeners.http.upgrade_configs.filters.name\tstring\trequired\treload\t",
		"listeners.http.upgrade_configs.filters.max_request_bytes\tint(1..1073741824)\trequired\treload\t",
		"listeners.http.upgrade_configs.filters.request_headers_to_add\tlist\t-\treload\t",
		"listeners.http.upgrade_configs.filters.request_headers_to_add.name\tstring\trequired\treload\t",
		"listeners.http.upgrade_configs.filters.request_headers_to_add.value\tstring\t-\treload\t",
		"listeners.http.upgrade_configs.filters.request_headers_to_add.append\tbool\tfalse\treload\t",
		"listeners.http.upgrade_configs.filters.request_headers_to_remove\tstrings\t-\treload\t",
		"listeners.http.upgrade_configs.filters.response_headers_to_add\tlist\t-\treload\t",
		"listeners.http.upgrade_configs.filters.response_headers_to_add.name\tstring\trequired\treload\t",
		"listeners.http.upgrade_configs.filters.response_headers_to_add.value\tstring\t-\treload\t",
		"listeners.http.upgrade_configs.filters.response_headers_to_add.append\tbool\tfalse\treload\t",
		"listeners.http.upgrade_configs.filters.response_headers_to_remove\tstrings\t-\treload\t",
		"listeners.http.preserve_upgrade_method\tbool\tfalse\treload\t",
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
		"listeners.http.route_config.virtual_hosts.routes.route\tgroup\t-\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.route.cluster\tstring\trequired\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.route.timeout\tduration\t15s\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.route.idle_timeout\tduration\t-\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.route.prefix_rewrite\tstring\t-\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.route.host_rewrite_literal\tstring\t-\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.route.upgrade_configs\tlist\t-\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.route.upgrade_configs.upgrade_type\tstring\trequired\treload\t",
		"listeners.http.route_config.virtual_hosts.routes.route.upgrade_configs.enabled\tbool\ttrue\treload\t",
		"clusters\tlist\t-\treload\t",
		"clusters.name\tstring\trequired\treload\t",
		"clusters.endpoints\tstrings\trequired\treload\t",
		"clusters.connect_timeout\tduration\t5s\treload\t",
		"clusters.lb_policy\tenum(round_robin|least_request|random)\tround_robin\treload\t",
		"clusters.max_connections\tint(1..1000000)\t1024\treload\t",
		"clusters.max_idle_connections\tint(0..1000000)\t32\treload\t",
		"clusters.idle_timeout\tduration\t60s\treload\t",
		"clusters.protocol\tenum(http1|http2|auto)\thttp1\treload\t",
		"clusters.tls\tgroup\t-\treload\t",
		"clusters.tls.sni\tstring\t-\treload\t",
		"clusters.tls.ca_file\tpath\t-\treload\t",
		"clusters.tls.verify\tbool\ttrue\treload\t",
		"clusters.tls.alpn\tstrings\t-\treload\t",
		"clusters.tls.certificate\tpath\t-\treload\t",
		"clusters.tls.private_key\tpath\t-\treload\t",
		"clusters.tls.min_version\tenum(TLSv1.2|TLSv1.3)\tTLSv1.2\treload\t",
		"clusters.http2_protocol_options\tgroup\t-\treload\t",
		/* allow_connect is refused on a cluster: not listed */
		"clusters.http2_protocol_options.max_concurrent_streams\tint(1..2147483647)\t100\treload\t",
		"clusters.http2_protocol_options.initial_stream_window_size\tint(65535..2147483647)\t65536\treload\t",
		"clusters.http2_protocol_options.initial_connection_window_size\tint(65535..2147483647)\t1048576\treload\t",
		"clusters.http2_protocol_options.max_header_list_kb\tint(1..8192)\t60\treload\t",
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
	tcase_add_test(tc, test_proxy_keys);
	tcase_add_test(tc, test_http2_keys);
	tcase_add_test(tc, test_tls_keys);
	tcase_add_test(tc, test_tls_server_names_ok);
	tcase_add_test(tc, test_conf_hooks);
	tcase_add_test(tc, test_cluster_resolve_localhost);
	tcase_add_test(tc, test_cluster_unresolvable);
	tcase_add_test(tc, test_filters_and_upgrades_minimal);
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
	tcase_add_test(tc, test_dump_json_proxy);
	tcase_add_test(tc, test_print_keys);
	tcase_add_test(tc, test_diff_restart);
	tcase_add_test(tc, test_table_refs);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tf, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tf, test_file_include_and_paths);
	tcase_add_test(tf, test_file_errors);
	tcase_add_test(tf, test_shipped_config);
	tcase_add_test(tf, test_shipped_examples);
	suite_add_tcase(s, tf);
	return s;
}

SY_UNIT_MAIN(make_suite)
