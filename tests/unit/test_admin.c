/*
 * test_admin.c - the admin interface: query parsing, every endpoint and
 * error of sy_admin_handle, the three stats formats (Prometheus output is
 * checked by promtool, JSON by Python's parser), and a real admin socket
 * in a temporary directory served by sy_loop_once: permissions, stale
 * sockets, replies, deadlines, reconfiguration and fork.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "switchyard/admin.h"
#include "switchyard/conf.h"
#include "switchyard/core.h"
#include "switchyard/loop.h"
#include "switchyard/stats.h"
#include "unit.h"

static uint32_t t_srv, t_lis, t_lis6, t_http, t_http2;
static int t_refreshed;
static bool t_ready = true;
static struct sy_conf *t_conf;

/* ---- fixture ------------------------------------------------------------- */

static void
setup(void)
{
	ck_assert_int_eq(sy_stats_attach_new(512, 4), 0);
	t_srv = sy_stats_register(SY_SCOPE_SERVER, NULL);
	t_lis = sy_stats_register(SY_SCOPE_LISTENER, "127.0.0.1:8080");
	t_lis6 = sy_stats_register(SY_SCOPE_LISTENER, "[::1]:8081");
	t_http = sy_stats_register(SY_SCOPE_HTTP, "ingress_http");
	t_http2 = sy_stats_register(SY_SCOPE_HTTP, "egress");
	ck_assert_uint_ne(t_http2, UINT32_MAX);
	sy_stat_set(t_srv + SY_SERVER_live, 1);
	sy_stat_set(t_srv + SY_SERVER_workers, 2);
	sy_stat_add(t_srv + SY_SERVER_reloads, 3);
	sy_stats_use_slot(2);
	sy_stat_add(t_lis + SY_LISTENER_downstream_cx_total, 11);
	sy_stat_add(t_http + SY_HTTP_downstream_cx_total, 10);
	sy_stat_add(t_http + SY_HTTP_downstream_rq_2xx, 7);
	sy_stat_add(t_http + SY_HTTP_downstream_cx_active, 2);
	sy_stats_use_slot(3);
	sy_stat_add(t_http + SY_HTTP_downstream_cx_total, 5);
	sy_stats_use_slot(0);
	t_refreshed = 0;
	t_ready = true;
}

static void
teardown(void)
{
	sy_stats_detach();
}

static void
hook_server_info(struct sy_buf *out, void *arg)
{
	sy_buf_printf(out, "{\"version\":\"%s\",\"pid\":%ld,\"workers\":[1,2]}", PACKAGE_VERSION,
	    (long)getpid());
}

static bool
hook_ready(void *arg)
{
	return t_ready;
}

static const struct sy_conf *
hook_conf(void *arg)
{
	return t_conf;
}

static void
hook_refresh(void *arg)
{
	t_refreshed++;
	sy_stat_set(t_srv + SY_SERVER_uptime, 42);
}

static const struct sy_admin_hooks t_hooks = {
	hook_server_info, hook_ready, hook_conf, hook_refresh, NULL
};

/* NUL-terminated copy of a reply body (the buffer itself is not). */
static char *
body_str(const struct sy_admin_reply *r)
{
	size_t n = sy_buf_len(&r->body);
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	if (n > 0)
		memcpy(s, sy_buf_rpos(&r->body), n);
	s[n] = '\0';
	return s;
}

static char *
handle(const char *method, const char *target, int want_status, const char *want_ct)
{
	struct sy_admin_reply r;
	char *s;

	ck_assert_int_eq(sy_admin_handle(&t_hooks, method, target, &r), 0);
	ck_assert_msg(r.status == want_status, "%s %s: status %d, want %d", method, target,
	    r.status, want_status);
	if (want_ct != NULL)
		ck_assert_str_eq(r.content_type, want_ct);
	s = body_str(&r);
	sy_admin_reply_fini(&r);
	return s;
}

/* Feed text to a command's stdin; its output goes to out_path.  Exit status. */
static int
run_with_input(const char *cmd, const char *text, char *out, size_t outlen)
{
	char path[] = "/tmp/sy_test_admin_XXXXXX", full[512];
	FILE *fp;
	int fd, st;
	ssize_t n;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(full, sizeof(full), "%s > %s 2>&1", cmd, path);
	fp = popen(full, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	st = pclose(fp);
	fd = open(path, O_RDONLY);
	n = read(fd, out, outlen - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define PY_JSON "/usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)'"

/* ---- query parsing --------------------------------------------------------- */

START_TEST(test_query_param)
{
	static const struct {
		const char *target, *key;
		int rc;
		const char *value;
	} cases[] = {
		{ "/stats?filter=abc", "filter", 1, "abc" },
		{ "/stats?filter=a%20b", "filter", 1, "a b" },
		{ "/stats?filter=a+b", "filter", 1, "a b" },
		{ "/stats?filter=a%2Bb", "filter", 1, "a+b" },
		{ "/stats?filter=%5Ehttp%5C.", "filter", 1, "^http\\." },
		{ "/stats?filter=%c3%a9", "filter", 1, "\xc3\xa9" },
		{ "/stats?format=json&filter=x", "filter", 1, "x" },
		{ "/stats?format=json&filter=x", "format", 1, "json" },
		{ "/stats?a=1&&filter=y&", "filter", 1, "y" },
		{ "/stats?filter=1&filter=2", "filter", 1, "1" },
		{ "/stats?fil%74er=k", "filter", 1, "k" },
		{ "/stats?filter", "filter", 1, "" },
		{ "/stats?filter=", "filter", 1, "" },
		{ "/stats?filter=a=b", "filter", 1, "a=b" },
		{ "/stats?filter=a#frag", "filter", 1, "a" },
		{ "/stats", "filter", 0, NULL },
		{ "/stats?", "filter", 0, NULL },
		{ "/stats?filterx=1", "filter", 0, NULL },
		{ "/stats?xfilter=1", "filter", 0, NULL },
		{ "/stats#?filter=1", "filter", 0, NULL },
		{ "/stats?filter=%zz", "filter", -1, NULL },
		{ "/stats?filter=%4", "filter", -1, NULL },
		{ "/stats?filter=%", "filter", -1, NULL },
		{ "/stats?filter=ab%", "filter", -1, NULL },
		{ "/stats?filter=%00", "filter", -1, NULL },
		{ "/stats?fi%zzlter=1", "filter", -1, NULL },
	};
	char out[64];
	size_t i;

	for (i = 0; i < SY_ARRAY_LEN(cases); i++) {
		int rc;

		memset(out, '#', sizeof(out));
		rc = sy_admin_query_param(cases[i].target, cases[i].key, out, sizeof(out));
		ck_assert_msg(rc == cases[i].rc, "%s: rc %d, want %d", cases[i].target, rc, cases[i].rc);
		if (rc == 1)
			ck_assert_str_eq(out, cases[i].value);
	}
}
END_TEST

START_TEST(test_query_param_too_long)
{
	char out[8];

	ck_assert_int_eq(sy_admin_query_param("/s?filter=1234567", "filter", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "1234567");
	errno = 0;
	ck_assert_int_eq(sy_admin_query_param("/s?filter=12345678", "filter", out, sizeof(out)), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	/* Encoded length does not count; decoded does. */
	ck_assert_int_eq(sy_admin_query_param("/s?filter=%41%42%43%44%45%46%47", "filter", out,
	    sizeof(out)), 1);
	ck_assert_str_eq(out, "ABCDEFG");
	errno = 0;
	ck_assert_int_eq(sy_admin_query_param("/s?filter=%zz", "filter", out, sizeof(out)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(sy_admin_query_param("/s?filter", "filter", out, 0), -1);
}
END_TEST

/* ---- endpoints --------------------------------------------------------------- */

static void
assert_sorted_lines(const char *text)
{
	char *copy = strdup(text), *line, *save = NULL, *prev = NULL;

	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (prev != NULL)
			ck_assert_msg(strcmp(prev, line) < 0, "not sorted: \"%s\" before \"%s\"", prev, line);
		prev = line;
	}
	free(copy);
}

START_TEST(test_stats_text)
{
	char *b = handle("GET", "/stats", 200, "text/plain; charset=utf-8");
	unsigned lines = 0;
	const char *p;

	ck_assert_int_eq(t_refreshed, 1);
	ck_assert_ptr_nonnull(strstr(b, "server.live: 1\n"));
	ck_assert_ptr_nonnull(strstr(b, "server.uptime: 42\n"));
	ck_assert_ptr_nonnull(strstr(b, "server.reloads: 3\n"));
	ck_assert_ptr_nonnull(strstr(b, "http.ingress_http.downstream_cx_total: 15\n"));
	ck_assert_ptr_nonnull(strstr(b, "http.ingress_http.downstream_cx_active: 2\n"));
	ck_assert_ptr_nonnull(strstr(b, "listener.127.0.0.1:8080.downstream_cx_total: 11\n"));
	ck_assert_ptr_nonnull(strstr(b, "listener.[::1]:8081.downstream_cx_active: 0\n"));
	assert_sorted_lines(b);
	for (p = b; *p != '\0'; p++)
		lines += *p == '\n';
	ck_assert_uint_eq(lines, sy_stats_count());
	free(b);

	/* HEAD is answered like GET (the server drops the body). */
	free(handle("HEAD", "/stats", 200, "text/plain; charset=utf-8"));
	free(handle("GET", "/stats?format=text", 200, "text/plain; charset=utf-8"));
}
END_TEST

START_TEST(test_stats_filter)
{
	char *b;

	b = handle("GET", "/stats?filter=%5Ehttp%5C.egress%5C.", 200, NULL);
	ck_assert_ptr_nonnull(strstr(b, "http.egress.downstream_rq_total: 0\n"));
	ck_assert_ptr_null(strstr(b, "ingress"));
	ck_assert_ptr_null(strstr(b, "server."));
	free(b);

	b = handle("GET", "/stats?filter=downstream_rq_%5B0-9%5Dxx%24", 200, NULL);
	ck_assert_ptr_nonnull(strstr(b, "http.ingress_http.downstream_rq_2xx: 7\n"));
	ck_assert_ptr_null(strstr(b, "downstream_cx"));
	free(b);

	/* Extended syntax: alternation. */
	b = handle("GET", "/stats?filter=server%5C.(live|workers)", 200, NULL);
	ck_assert_str_eq(b, "server.live: 1\nserver.workers: 2\n");
	free(b);

	/* Matching nothing is an empty 200; an empty filter is no filter. */
	b = handle("GET", "/stats?filter=nomatch", 200, NULL);
	ck_assert_str_eq(b, "");
	free(b);
	b = handle("GET", "/stats?filter=", 200, NULL);
	ck_assert_ptr_nonnull(strstr(b, "server.live: 1\n"));
	free(b);

	b = handle("GET", "/stats?filter=%28unclosed", 400, "text/plain; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(b, "invalid filter regex \"(unclosed\""));
	free(b);
	b = handle("GET", "/stats?filter=a%7B1", 400, NULL);
	free(b);
	b = handle("GET", "/stats?filter=%zz", 400, NULL);
	ck_assert_ptr_nonnull(strstr(b, "bad percent-encoding"));
	free(b);
}
END_TEST

START_TEST(test_stats_filter_too_long)
{
	char target[2200];

	strcpy(target, "/stats?filter=");
	memset(target + strlen(target), 'a', 1500);
	target[14 + 1500] = '\0';
	free(handle("GET", target, 400, NULL));
	target[14 + 1000] = '\0';
	free(handle("GET", target, 200, NULL));
}
END_TEST

START_TEST(test_stats_json)
{
	char *b, out[4096];

	b = handle("GET", "/stats?format=json", 200, "application/json");
	ck_assert(strncmp(b, "{\"stats\":[", 10) == 0);
	ck_assert_ptr_nonnull(strstr(b, "{\"name\":\"http.ingress_http.downstream_cx_total\",\"value\":15}"));
	ck_assert_ptr_nonnull(strstr(b, "{\"name\":\"listener.[::1]:8081.downstream_cx_total\",\"value\":0}"));
	ck_assert_int_eq(run_with_input("/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); "
	    "n=[s[\"name\"] for s in d[\"stats\"]]; assert n==sorted(n), n; "
	    "assert all(isinstance(s[\"value\"], int) for s in d[\"stats\"]); print(len(n))'",
	    b, out, sizeof(out)), 0);
	ck_assert_uint_eq((unsigned)atoi(out), sy_stats_count());
	free(b);

	/* Filtered down to nothing: still a valid document. */
	b = handle("GET", "/stats?format=json&filter=nomatch", 200, "application/json");
	ck_assert_int_eq(run_with_input(PY_JSON, b, out, sizeof(out)), 0);
	free(b);

	b = handle("GET", "/stats?format=xml", 400, NULL);
	ck_assert_ptr_nonnull(strstr(b, "unknown format \"xml\""));
	free(b);
	free(handle("GET", "/stats?format=%zz", 400, NULL));
}
END_TEST

START_TEST(test_json_escaping)
{
	struct sy_buf b = { 0 };
	char out[512];

	ck_assert_int_eq(sy_admin_json_string(&b, "q\"b\\s\n\r\t\x01\x1f\x7f" "end"), 0);
	ck_assert_int_eq(sy_buf_append(&b, "", 1), 0);
	ck_assert_str_eq(sy_buf_rpos(&b), "\"q\\\"b\\\\s\\n\\r\\t\\u0001\\u001f\\u007fend\"");
	ck_assert_int_eq(run_with_input("/usr/bin/python3 -c 'import json,sys; "
	    "assert json.load(sys.stdin) == \"q\\\"b\\\\s\\n\\r\\t\\x01\\x1f\\x7fend\"'",
	    sy_buf_rpos(&b), out, sizeof(out)), 0);
	sy_buf_release(&b);

	/* A stat name with odd characters still gives valid JSON. */
	ck_assert_uint_ne(sy_stats_register(SY_SCOPE_HTTP, "we\"ird\\x"), UINT32_MAX);
	{
		char *body = handle("GET", "/stats?format=json", 200, NULL);

		ck_assert_ptr_nonnull(strstr(body, "http.we\\\"ird\\\\x.downstream_rq_total"));
		ck_assert_int_eq(run_with_input(PY_JSON, body, out, sizeof(out)), 0);
		free(body);
	}
}
END_TEST

static void
check_promtool(const char *text)
{
	char out[8192];
	int rc = run_with_input("promtool check metrics", text, out, sizeof(out));

	ck_assert_msg(rc == 0 && out[0] == '\0', "promtool exit %d: %s", rc, out);
}

START_TEST(test_stats_prometheus)
{
	char *b;
	const char *p;
	unsigned n;

	b = handle("GET", "/stats/prometheus", 200, "text/plain; version=0.0.4");
	ck_assert_int_eq(t_refreshed, 1);
	ck_assert_ptr_nonnull(strstr(b,
	    "switchyard_http_downstream_cx_total{stat_prefix=\"ingress_http\"} 15\n"));
	ck_assert_ptr_nonnull(strstr(b,
	    "switchyard_http_downstream_cx_total{stat_prefix=\"egress\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(b,
	    "switchyard_listener_downstream_cx_total{address=\"127.0.0.1:8080\"} 11\n"));
	ck_assert_ptr_nonnull(strstr(b,
	    "switchyard_listener_downstream_cx_active{address=\"[::1]:8081\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(b, "\nswitchyard_server_live 1\n"));
	/* Counters get _total once; gauges never. */
	ck_assert_ptr_nonnull(strstr(b, "# TYPE switchyard_server_reloads_total counter\n"));
	ck_assert_ptr_nonnull(strstr(b, "switchyard_server_reloads_total 3\n"));
	ck_assert_ptr_nonnull(strstr(b, "# TYPE switchyard_http_downstream_rq_2xx_total counter\n"));
	ck_assert_ptr_nonnull(strstr(b, "# TYPE switchyard_http_downstream_cx_active gauge\n"));
	ck_assert_ptr_nonnull(strstr(b,
	    "# HELP switchyard_http_downstream_cx_upgrades_total connections upgraded"));
	ck_assert_ptr_null(strstr(b, "_total_total"));
	/* One HELP and TYPE per family, even with two http scopes. */
	for (n = 0, p = b; (p = strstr(p, "# TYPE switchyard_http_downstream_cx_total ")) != NULL; p++)
		n++;
	ck_assert_uint_eq(n, 1);
	for (n = 0, p = b; (p = strstr(p, "# HELP switchyard_http_downstream_cx_total ")) != NULL; p++)
		n++;
	ck_assert_uint_eq(n, 1);
	check_promtool(b);
	free(b);

	/* The same through /stats?format=prometheus, and filtered. */
	b = handle("GET", "/stats?format=prometheus&filter=%5Eserver", 200, "text/plain; version=0.0.4");
	ck_assert_ptr_nonnull(strstr(b, "switchyard_server_live 1\n"));
	ck_assert_ptr_null(strstr(b, "switchyard_http"));
	check_promtool(b);
	free(b);
	b = handle("GET", "/stats/prometheus?filter=listener", 200, NULL);
	ck_assert_ptr_null(strstr(b, "switchyard_server"));
	check_promtool(b);
	free(b);
	free(handle("GET", "/stats/prometheus?filter=%5B", 400, NULL));
}
END_TEST

/*
 * The HTTP/2 scopes: full names in text and JSON; in the exposition the
 * ".http2" of the label moves into the family, so the label is the plain
 * stat prefix or cluster name, as for the scopes they extend.
 */
START_TEST(test_stats_http2_scopes)
{
	uint32_t hh2, cl, ch2;
	char *b, out[4096];

	hh2 = sy_stats_register(SY_SCOPE_HTTP2, "ingress_http.http2");
	cl = sy_stats_register(SY_SCOPE_CLUSTER, "sidecar");
	ch2 = sy_stats_register(SY_SCOPE_CLUSTER_HTTP2, "sidecar.http2");
	ck_assert_uint_ne(hh2, UINT32_MAX);
	ck_assert_uint_ne(cl, UINT32_MAX);
	ck_assert_uint_ne(ch2, UINT32_MAX);
	sy_stats_use_slot(2);
	sy_stat_add(hh2 + SY_H2_rx_reset, 4);
	sy_stat_add(hh2 + SY_H2_streams_active, 3);
	sy_stat_inc(ch2 + SY_H2_goaway_sent);
	sy_stat_add(cl + SY_CLUSTER_upstream_rq_extended_connect_refused, 2);
	sy_stat_inc(t_http + SY_HTTP_downstream_cx_http2_total);
	sy_stats_use_slot(0);

	b = handle("GET", "/stats", 200, NULL);
	ck_assert_ptr_nonnull(strstr(b, "http.ingress_http.http2.rx_reset: 4\n"));
	ck_assert_ptr_nonnull(strstr(b, "http.ingress_http.http2.streams_active: 3\n"));
	ck_assert_ptr_nonnull(strstr(b, "http.ingress_http.http2.extended_connect_refused: 0\n"));
	ck_assert_ptr_nonnull(strstr(b, "http.ingress_http.downstream_cx_http2_total: 1\n"));
	ck_assert_ptr_nonnull(strstr(b, "cluster.sidecar.http2.goaway_sent: 1\n"));
	ck_assert_ptr_nonnull(strstr(b, "cluster.sidecar.upstream_rq_extended_connect_refused: 2\n"));
	assert_sorted_lines(b);
	free(b);

	b = handle("GET", "/stats?format=json&filter=http2", 200, "application/json");
	ck_assert_ptr_nonnull(strstr(b, "{\"name\":\"cluster.sidecar.http2.goaway_sent\",\"value\":1}"));
	ck_assert_int_eq(run_with_input(PY_JSON, b, out, sizeof(out)), 0);
	free(b);

	b = handle("GET", "/stats/prometheus", 200, NULL);
	ck_assert_ptr_nonnull(strstr(b, "# TYPE switchyard_http_http2_rx_reset_total counter\n"));
	ck_assert_ptr_nonnull(strstr(b, "switchyard_http_http2_rx_reset_total{stat_prefix=\"ingress_http\"} 4\n"));
	ck_assert_ptr_nonnull(strstr(b, "# TYPE switchyard_http_http2_streams_active gauge\n"));
	ck_assert_ptr_nonnull(strstr(b, "switchyard_http_http2_streams_active{stat_prefix=\"ingress_http\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(b, "# HELP switchyard_cluster_http2_goaway_sent_total GOAWAY frames sent\n"));
	ck_assert_ptr_nonnull(strstr(b, "switchyard_cluster_http2_goaway_sent_total{cluster=\"sidecar\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b,
	    "switchyard_cluster_upstream_rq_extended_connect_refused_total{cluster=\"sidecar\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(b,
	    "switchyard_http_downstream_cx_http2_total{stat_prefix=\"ingress_http\"} 1\n"));
	ck_assert_ptr_null(strstr(b, ".http2\""));
	check_promtool(b);
	free(b);
}
END_TEST

/*
 * The TLS scopes: full names in text and JSON; in the exposition the
 * ".ssl" of the label moves into the family, so the label is the plain
 * address or cluster name, as for the scopes they extend.
 */
START_TEST(test_stats_ssl_scopes)
{
	uint32_t lssl, lssl6, cl, cssl;
	char *b, out[8192];

	lssl = sy_stats_register(SY_SCOPE_LISTENER_SSL, "127.0.0.1:8080.ssl");
	lssl6 = sy_stats_register(SY_SCOPE_LISTENER_SSL, "[::1]:8081.ssl");
	cl = sy_stats_register(SY_SCOPE_CLUSTER, "app");
	cssl = sy_stats_register(SY_SCOPE_CLUSTER_SSL, "app.ssl");
	ck_assert_uint_ne(lssl, UINT32_MAX);
	ck_assert_uint_ne(lssl6, UINT32_MAX);
	ck_assert_uint_ne(cl, UINT32_MAX);
	ck_assert_uint_ne(cssl, UINT32_MAX);
	sy_stats_use_slot(2);
	sy_stat_add(lssl + SY_SSL_handshake, 5);
	sy_stat_add(lssl + SY_SSL_alpn_h2, 3);
	sy_stat_add(lssl + SY_SSL_alpn_http11, 2);
	sy_stat_inc(lssl6 + SY_SSL_versions_tls13);
	sy_stat_add(cssl + SY_SSL_fail_verify_san, 4);
	sy_stat_add(t_http + SY_HTTP_downstream_cx_ssl_total, 5);
	sy_stat_add(t_http + SY_HTTP_downstream_cx_ssl_active, 2);
	sy_stats_use_slot(0);

	b = handle("GET", "/stats", 200, NULL);
	ck_assert_ptr_nonnull(strstr(b, "listener.127.0.0.1:8080.ssl.handshake: 5\n"));
	ck_assert_ptr_nonnull(strstr(b, "listener.127.0.0.1:8080.ssl.alpn_h2: 3\n"));
	ck_assert_ptr_nonnull(strstr(b, "listener.127.0.0.1:8080.ssl.alpn_http11: 2\n"));
	ck_assert_ptr_nonnull(strstr(b, "listener.127.0.0.1:8080.ssl.connection_error: 0\n"));
	ck_assert_ptr_nonnull(strstr(b, "listener.[::1]:8081.ssl.versions_tls13: 1\n"));
	ck_assert_ptr_nonnull(strstr(b, "cluster.app.ssl.fail_verify_san: 4\n"));
	ck_assert_ptr_nonnull(strstr(b, "http.ingress_http.downstream_cx_ssl_total: 5\n"));
	ck_assert_ptr_nonnull(strstr(b, "http.ingress_http.downstream_cx_ssl_active: 2\n"));
	assert_sorted_lines(b);
	free(b);

	b = handle("GET", "/stats?format=json&filter=\\.ssl\\.", 200, "application/json");
	ck_assert_ptr_nonnull(strstr(b, "{\"name\":\"cluster.app.ssl.fail_verify_san\",\"value\":4}"));
	ck_assert_ptr_nonnull(strstr(b, "{\"name\":\"listener.[::1]:8081.ssl.versions_tls13\",\"value\":1}"));
	ck_assert_ptr_null(strstr(b, "downstream_cx_ssl"));
	ck_assert_int_eq(run_with_input(PY_JSON, b, out, sizeof(out)), 0);
	free(b);

	b = handle("GET", "/stats/prometheus", 200, NULL);
	ck_assert_ptr_nonnull(strstr(b, "# HELP switchyard_listener_ssl_handshake_total TLS handshakes completed\n"));
	ck_assert_ptr_nonnull(strstr(b, "# TYPE switchyard_listener_ssl_handshake_total counter\n"));
	ck_assert_ptr_nonnull(strstr(b, "switchyard_listener_ssl_handshake_total{address=\"127.0.0.1:8080\"} 5\n"));
	ck_assert_ptr_nonnull(strstr(b, "switchyard_listener_ssl_handshake_total{address=\"[::1]:8081\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(b, "switchyard_listener_ssl_alpn_h2_total{address=\"127.0.0.1:8080\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(b, "switchyard_listener_ssl_versions_tls13_total{address=\"[::1]:8081\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b, "# TYPE switchyard_cluster_ssl_fail_verify_san_total counter\n"));
	ck_assert_ptr_nonnull(strstr(b, "switchyard_cluster_ssl_fail_verify_san_total{cluster=\"app\"} 4\n"));
	ck_assert_ptr_nonnull(strstr(b, "switchyard_http_downstream_cx_ssl_total{stat_prefix=\"ingress_http\"} 5\n"));
	ck_assert_ptr_nonnull(strstr(b, "# TYPE switchyard_http_downstream_cx_ssl_active gauge\n"));
	ck_assert_ptr_nonnull(strstr(b, "switchyard_http_downstream_cx_ssl_active{stat_prefix=\"ingress_http\"} 2\n"));
	ck_assert_ptr_null(strstr(b, ".ssl\""));
	check_promtool(b);
	free(b);
}
END_TEST

START_TEST(test_prometheus_label_escaping)
{
	char *b;

	ck_assert_uint_ne(sy_stats_register(SY_SCOPE_LISTENER, "a\"b\\c"), UINT32_MAX);
	ck_assert_uint_ne(sy_stats_register(SY_SCOPE_HTTP, "new\nline"), UINT32_MAX);
	b = handle("GET", "/stats/prometheus", 200, NULL);
	ck_assert_ptr_nonnull(strstr(b, "switchyard_listener_downstream_cx_total{address=\"a\\\"b\\\\c\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(b, "{stat_prefix=\"new\\nline\"}"));
	check_promtool(b);
	free(b);
}
END_TEST

START_TEST(test_server_info)
{
	struct sy_admin_hooks none = { 0 };
	struct sy_admin_reply r;
	char *b, out[256];

	b = handle("GET", "/server_info", 200, "application/json");
	ck_assert_ptr_nonnull(strstr(b, "\"workers\":[1,2]"));
	ck_assert_int_eq(run_with_input(PY_JSON, b, out, sizeof(out)), 0);
	free(b);

	/* Without hooks: what this process knows, still valid JSON. */
	ck_assert_int_eq(sy_admin_handle(&none, "GET", "/server_info", &r), 0);
	ck_assert_int_eq(r.status, 200);
	b = body_str(&r);
	sy_admin_reply_fini(&r);
	ck_assert_ptr_nonnull(strstr(b, "\"version\":\"" PACKAGE_VERSION "\""));
	ck_assert_int_eq(run_with_input(PY_JSON, b, out, sizeof(out)), 0);
	free(b);
	ck_assert_int_eq(sy_admin_handle(NULL, "GET", "/server_info", &r), 0);
	ck_assert_int_eq(r.status, 200);
	sy_admin_reply_fini(&r);
}
END_TEST

START_TEST(test_ready)
{
	struct sy_admin_reply r;
	char *b;

	b = handle("GET", "/ready", 200, "text/plain; charset=utf-8");
	ck_assert_str_eq(b, "LIVE\n");
	free(b);
	t_ready = false;
	b = handle("GET", "/ready", 503, "text/plain; charset=utf-8");
	ck_assert_str_eq(b, "DRAINING\n");
	free(b);
	ck_assert_int_eq(sy_admin_handle(NULL, "GET", "/ready", &r), 0);
	ck_assert_int_eq(r.status, 200);
	sy_admin_reply_fini(&r);
}
END_TEST

START_TEST(test_config_dump)
{
	struct sy_conf_errors errs;
	char *b, out[4096];

	t_conf = NULL;
	free(handle("GET", "/config_dump", 503, NULL));

	sy_conf_errors_init(&errs);
	t_conf = sy_conf_load_string(
	    "workers = 2;\n"
	    "admin = { socket = \"/tmp/sy-test-admin.sock\"; };\n"
	    "listeners = ( { name = \"ingress\"; address = \"127.0.0.1:8080\";\n"
	    "  http = { stat_prefix = \"ingress_http\";\n"
	    "    route_config = { virtual_hosts = ( { name = \"local\"; domains = [ \"*\" ];\n"
	    "      routes = ( { match = { prefix = \"/\"; }; direct_response = { status = 200; body = \"ok\\n\"; }; } );\n"
	    "    } ); }; }; } );\n", "test.conf", &errs);
	if (t_conf == NULL)
		sy_conf_errors_print(&errs, stderr);
	ck_assert_ptr_nonnull(t_conf);
	b = handle("GET", "/config_dump", 200, "application/json");
	ck_assert_ptr_nonnull(strstr(b, "ingress_http"));
	ck_assert_int_eq(run_with_input(PY_JSON, b, out, sizeof(out)), 0);
	free(b);
	sy_conf_free(t_conf);
	t_conf = NULL;
	sy_conf_errors_fini(&errs);
}
END_TEST

START_TEST(test_reset_counters)
{
	char *b;

	b = handle("POST", "/reset_counters", 200, NULL);
	ck_assert_str_eq(b, "OK\n");
	free(b);
	ck_assert_int_eq(sy_stats_read(t_http + SY_HTTP_downstream_cx_total), 0);
	ck_assert_int_eq(sy_stats_read(t_srv + SY_SERVER_reloads), 0);
	ck_assert_int_eq(sy_stats_read(t_http + SY_HTTP_downstream_cx_active), 2);
	b = handle("GET", "/stats?filter=ingress_http.downstream_cx_total", 200, NULL);
	ck_assert_str_eq(b, "http.ingress_http.downstream_cx_total: 0\n");
	free(b);
}
END_TEST

START_TEST(test_help_and_errors)
{
	struct sy_admin_reply r;
	char *b;

	b = handle("GET", "/help", 200, "text/plain; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(b, "/stats/prometheus"));
	ck_assert_ptr_nonnull(strstr(b, "/server_info"));
	ck_assert_ptr_nonnull(strstr(b, "/ready"));
	ck_assert_ptr_nonnull(strstr(b, "/config_dump"));
	ck_assert_ptr_nonnull(strstr(b, "POST /reset_counters"));
	free(b);

	free(handle("GET", "/nope", 404, NULL));
	free(handle("GET", "/", 404, NULL));
	free(handle("GET", "/stats/", 404, NULL));
	free(handle("GET", "/statsx", 404, NULL));
	free(handle("GET", "/STATS", 404, NULL));
	free(handle("GET", "", 404, NULL));

	ck_assert_int_eq(sy_admin_handle(&t_hooks, "POST", "/stats", &r), 0);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(r.allow, "GET, HEAD");
	sy_admin_reply_fini(&r);
	ck_assert_int_eq(sy_admin_handle(&t_hooks, "GET", "/reset_counters", &r), 0);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(r.allow, "POST");
	sy_admin_reply_fini(&r);
	/* A GET of /reset_counters must not reset anything. */
	ck_assert_int_eq(sy_stats_read(t_http + SY_HTTP_downstream_cx_total), 15);
	ck_assert_int_eq(sy_admin_handle(&t_hooks, "DELETE", "/ready", &r), 0);
	ck_assert_int_eq(r.status, 405);
	sy_admin_reply_fini(&r);
	ck_assert_int_eq(sy_admin_handle(&t_hooks, "GET", "/ready", &r), 0);
	ck_assert_ptr_null(r.allow);
	sy_admin_reply_fini(&r);
}
END_TEST

/* ---- the real socket ---------------------------------------------------- */

struct t_dir {
	char root[64];
	char sock[128];
};

static void
t_dir_make(struct t_dir *d)
{
	strcpy(d->root, "/tmp/sy_admin_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d->root));
	/* "run" does not exist yet: sy_admin_open creates it 0700. */
	snprintf(d->sock, sizeof(d->sock), "%s/run/admin.sock", d->root);
}

static void
t_dir_remove(struct t_dir *d)
{
	char p[160];

	unlink(d->sock);
	snprintf(p, sizeof(p), "%s/run", d->root);
	rmdir(p);
	rmdir(d->root);
}

static void
t_conf_unix(struct sy_conf *c, const char *path, int mode)
{
	memset(c, 0, sizeof(*c));
	c->admin.socket = (char *)path;
	c->admin.socket_mode = mode;
}

static int
t_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Send request on a new connection and drive the loop until the server
 * closes its side; returns the whole response (malloc'ed).
 */
static char *
t_roundtrip_fd(struct sy_loop *loop, int fd, const char *request)
{
	struct sy_buf in = { 0 };
	int64_t until = sy_time_update() + 5000;
	char buf[4096], *s;
	ssize_t n;

	if (request != NULL)
		ck_assert_int_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	ck_assert_int_eq(sy_fd_nonblock(fd), 0);
	for (;;) {
		ck_assert_msg(sy_time_update() < until, "no reply from the admin socket");
		ck_assert_int_eq(sy_loop_once(loop, 20), 0);
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			ck_assert_int_eq(sy_buf_append(&in, buf, (size_t)n), 0);
			continue;
		}
		if (n == 0)
			break;
		ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	}
	close(fd);
	s = malloc(sy_buf_len(&in) + 1);
	if (sy_buf_len(&in) > 0)
		memcpy(s, sy_buf_rpos(&in), sy_buf_len(&in));
	s[sy_buf_len(&in)] = '\0';
	sy_buf_release(&in);
	return s;
}

static char *
t_roundtrip(struct sy_loop *loop, const char *path, const char *request)
{
	int fd = t_connect(path);

	ck_assert_int_ge(fd, 0);
	return t_roundtrip_fd(loop, fd, request);
}

/* Run the loop until every client is gone (the server lingers briefly). */
static void
t_drain(struct sy_loop *loop, struct sy_admin *a)
{
	int64_t until = sy_time_update() + 3000;

	while (sy_admin_nclients(a) > 0) {
		ck_assert(sy_time_update() < until);
		sy_loop_once(loop, 20);
	}
}

START_TEST(test_socket_serves_stats)
{
	struct t_dir d;
	struct sy_conf c;
	struct sy_loop *loop = sy_loop_new();
	struct sy_admin *a;
	struct stat st;
	char *resp, dir[160];

	t_dir_make(&d);
	t_conf_unix(&c, d.sock, 0660);
	a = sy_admin_open(loop, &c, &t_hooks);
	ck_assert_ptr_nonnull(a);

	ck_assert_int_eq(stat(d.sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0660);
	snprintf(dir, sizeof(dir), "%s/run", d.root);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0700);

	resp = t_roundtrip(loop, d.sock, "GET /stats HTTP/1.1\r\nHost: localhost\r\n\r\n");
	ck_assert_msg(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", resp);
	ck_assert_ptr_nonnull(strstr(resp, "\r\nConnection: close\r\n"));
	ck_assert_ptr_nonnull(strstr(resp, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
	ck_assert_ptr_nonnull(strstr(resp, "\r\n\r\nhttp.egress.downstream_cx_active: 0\n"));
	ck_assert_ptr_nonnull(strstr(resp, "\nhttp.ingress_http.downstream_cx_total: 15\n"));
	{
		const char *cl = strstr(resp, "Content-Length: "), *body = strstr(resp, "\r\n\r\n") + 4;

		ck_assert_ptr_nonnull(cl);
		ck_assert_uint_eq((size_t)atol(cl + 16), strlen(body));
	}
	free(resp);
	t_drain(loop, a);

	/* Query strings, HEAD, POST with a body, 405 and 404 over the wire. */
	resp = t_roundtrip(loop, d.sock, "GET /stats?format=json&filter=%5Eserver HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(resp, "Content-Type: application/json\r\n"));
	ck_assert_ptr_nonnull(strstr(resp, "{\"name\":\"server.live\",\"value\":1}"));
	free(resp);
	resp = t_roundtrip(loop, d.sock, "HEAD /stats HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert(strncmp(resp, "HTTP/1.1 200 ", 13) == 0);
	ck_assert_ptr_nonnull(strstr(resp, "Content-Length: "));
	ck_assert_ptr_null(strstr(resp, "Content-Length: 0\r\n"));
	ck_assert_str_eq(strstr(resp, "\r\n\r\n"), "\r\n\r\n");
	free(resp);
	resp = t_roundtrip(loop, d.sock, "POST /reset_counters HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 5\r\n\r\nhello");
	ck_assert(strncmp(resp, "HTTP/1.1 200 ", 13) == 0);
	ck_assert_int_eq(sy_stats_read(t_http + SY_HTTP_downstream_cx_total), 0);
	free(resp);
	resp = t_roundtrip(loop, d.sock, "GET /reset_counters HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert(strncmp(resp, "HTTP/1.1 405 ", 13) == 0);
	ck_assert_ptr_nonnull(strstr(resp, "\r\nAllow: POST\r\n"));
	free(resp);
	resp = t_roundtrip(loop, d.sock, "GET /missing HTTP/1.0\r\n\r\n");
	ck_assert(strncmp(resp, "HTTP/1.1 404 ", 13) == 0);
	free(resp);
	t_ready = false;
	resp = t_roundtrip(loop, d.sock, "GET /ready HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert(strncmp(resp, "HTTP/1.1 503 ", 13) == 0);
	ck_assert_ptr_nonnull(strstr(resp, "\r\n\r\nDRAINING\n"));
	free(resp);

	/* Garbage gets a 400 and the server carries on. */
	resp = t_roundtrip(loop, d.sock, "BLAH\x01 / HTTP/1.1\r\n\r\n");
	ck_assert_msg(strncmp(resp, "HTTP/1.1 400 ", 13) == 0, "%s", resp);
	free(resp);
	resp = t_roundtrip(loop, d.sock, "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n");
	ck_assert_msg(strncmp(resp, "HTTP/1.1 400 ", 13) == 0, "%s", resp);
	free(resp);
	t_drain(loop, a);

	sy_admin_close(a);
	/* The socket file goes with the interface. */
	ck_assert_int_eq(stat(d.sock, &st), -1);
	sy_loop_free(loop);
	t_dir_remove(&d);
}
END_TEST

START_TEST(test_socket_limits)
{
	struct t_dir d;
	struct sy_conf c;
	struct sy_loop *loop = sy_loop_new();
	struct sy_admin *a;
	struct sy_buf big = { 0 };
	char *resp;
	int fd, i;
	int64_t until;

	t_dir_make(&d);
	t_conf_unix(&c, d.sock, 0);
	a = sy_admin_open(loop, &c, &t_hooks);
	ck_assert_ptr_nonnull(a);
	sy_admin_set_timeout(a, 300);

	/* A client that says nothing is dropped at its deadline. */
	fd = t_connect(d.sock);
	ck_assert_int_ge(fd, 0);
	until = sy_time_update() + 3000;
	while (sy_admin_nclients(a) == 0 && sy_time_update() < until)
		sy_loop_once(loop, 20);
	ck_assert_uint_eq(sy_admin_nclients(a), 1);
	resp = t_roundtrip_fd(loop, fd, NULL);
	ck_assert_str_eq(resp, "");
	free(resp);
	t_drain(loop, a);

	/* A half-sent request too. */
	fd = t_connect(d.sock);
	resp = t_roundtrip_fd(loop, fd, "GET /stats HTTP/1.1\r\nHost:");
	ck_assert_str_eq(resp, "");
	free(resp);

	/* An oversize head gets 431, an oversize body 413. */
	sy_admin_set_timeout(a, 0);
	ck_assert_int_eq(sy_buf_printf(&big, "GET /stats HTTP/1.1\r\nHost: x\r\n"), 0);
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(sy_buf_printf(&big, "X-Pad-%d: %080d\r\n", i, i), 0);
	ck_assert_int_eq(sy_buf_printf(&big, "\r\n"), 0);
	ck_assert_int_eq(sy_buf_append(&big, "", 1), 0);
	resp = t_roundtrip(loop, d.sock, sy_buf_rpos(&big));
	ck_assert_msg(strncmp(resp, "HTTP/1.1 431 ", 13) == 0, "%.40s", resp);
	free(resp);
	sy_buf_release(&big);
	fd = t_connect(d.sock);
	ck_assert_int_ge(fd, 0);
	{
		const char *head = "POST /reset_counters HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n";
		char chunk[8192];
		struct pollfd p = { fd, POLLOUT, 0 };
		size_t sent = 0;

		ck_assert_int_eq(write(fd, head, strlen(head)), (ssize_t)strlen(head));
		ck_assert_int_eq(sy_fd_nonblock(fd), 0);
		memset(chunk, 'z', sizeof(chunk));
		until = sy_time_update() + 3000;
		while (sent < 100000 && sy_time_update() < until) {
			ssize_t n;

			sy_loop_once(loop, 5);
			if (poll(&p, 1, 0) == 1 && (p.revents & POLLOUT)) {
				n = send(fd, chunk, SY_MIN(sizeof(chunk), 100000 - sent), MSG_NOSIGNAL);
				if (n > 0)
					sent += (size_t)n;
				else if (n == -1 && errno != EAGAIN)
					break;
			}
		}
		resp = t_roundtrip_fd(loop, fd, NULL);
		ck_assert_msg(strncmp(resp, "HTTP/1.1 413 ", 13) == 0, "%.40s", resp);
		free(resp);
	}
	/* Counters were not reset by the refused request. */
	ck_assert_int_eq(sy_stats_read(t_http + SY_HTTP_downstream_cx_total), 15);
	t_drain(loop, a);
	sy_admin_close(a);
	sy_loop_free(loop);
	t_dir_remove(&d);
}
END_TEST

START_TEST(test_socket_stale_and_in_use)
{
	struct t_dir d;
	struct sy_conf c;
	struct sy_loop *loop = sy_loop_new();
	struct sy_admin *a, *b;
	struct sockaddr_un sun;
	struct stat st;
	char dir[160];
	int fd;

	t_dir_make(&d);
	snprintf(dir, sizeof(dir), "%s/run", d.root);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	/* A socket file nobody listens on: a crashed master's leftover. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, d.sock);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);

	t_conf_unix(&c, d.sock, 0);
	a = sy_admin_open(loop, &c, &t_hooks);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(stat(d.sock, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);	/* the default */
	/* An existing directory keeps its mode. */
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);

	/* A live socket is not stolen by a second instance. */
	b = sy_admin_open(loop, &c, &t_hooks);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(stat(d.sock, &st), 0);
	free(t_roundtrip(loop, d.sock, "GET /ready HTTP/1.1\r\nHost: x\r\n\r\n"));
	t_drain(loop, a);
	sy_admin_close(a);

	/* Something that is not a socket is never removed. */
	fd = open(d.sock, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_ptr_null(sy_admin_open(loop, &c, &t_hooks));
	ck_assert_int_eq(stat(d.sock, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	unlink(d.sock);

	/* A path too long for sun_path is refused. */
	{
		char longp[200];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[0] = '/';
		longp[sizeof(longp) - 1] = '\0';
		t_conf_unix(&c, longp, 0);
		ck_assert_ptr_null(sy_admin_open(loop, &c, &t_hooks));
	}
	sy_loop_free(loop);
	t_dir_remove(&d);
}
END_TEST

START_TEST(test_socket_tcp)
{
	struct sy_conf c;
	struct sy_loop *loop = sy_loop_new();
	struct sy_admin *a;

	memset(&c, 0, sizeof(c));
	c.admin.address = "0.0.0.0:0";
	ck_assert_int_eq(sy_addr_parse(c.admin.address, &c.admin.sa, &c.admin.salen), 0);
	/* Not loopback and not allowed: refused. */
	ck_assert_ptr_null(sy_admin_open(loop, &c, &t_hooks));
	c.admin.allow_remote = true;
	a = sy_admin_open(loop, &c, &t_hooks);
	ck_assert_ptr_nonnull(a);
	sy_admin_close(a);

	c.admin.allow_remote = false;
	c.admin.address = "127.0.0.1:0";
	ck_assert_int_eq(sy_addr_parse(c.admin.address, &c.admin.sa, &c.admin.salen), 0);
	a = sy_admin_open(loop, &c, &t_hooks);
	ck_assert_ptr_nonnull(a);
	sy_admin_close(a);
	ck_assert_uint_eq(sy_loop_nfds(loop), 0);

	/* Nothing configured: an interface with no sockets, not an error. */
	memset(&c, 0, sizeof(c));
	a = sy_admin_open(loop, &c, &t_hooks);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(sy_loop_nfds(loop), 0);
	sy_admin_close(a);
	sy_loop_free(loop);
}
END_TEST

START_TEST(test_socket_tcp_roundtrip)
{
	struct sy_conf c;
	struct sy_loop *loop = sy_loop_new();
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct sy_admin *a;
	char *resp;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fd, one = 1;

	/* Find a free port, then let the admin bind it. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	close(lfd);
	memset(&c, 0, sizeof(c));
	c.admin.address = "127.0.0.1:port";
	memcpy(&c.admin.sa, &sin, sizeof(sin));
	c.admin.salen = sizeof(sin);
	a = sy_admin_open(loop, &c, &t_hooks);
	ck_assert_ptr_nonnull(a);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	resp = t_roundtrip_fd(loop, fd, "GET /stats/prometheus HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert(strncmp(resp, "HTTP/1.1 200 ", 13) == 0);
	ck_assert_ptr_nonnull(strstr(resp, "Content-Type: text/plain; version=0.0.4\r\n"));
	check_promtool(strstr(resp, "\r\n\r\n") + 4);
	free(resp);
	t_drain(loop, a);
	sy_admin_close(a);
	sy_loop_free(loop);
}
END_TEST

START_TEST(test_socket_reconfigure)
{
	struct t_dir d;
	struct sy_conf c, c2;
	struct sy_loop *loop = sy_loop_new();
	struct sy_admin *a;
	struct stat st;
	char other[160];

	t_dir_make(&d);
	t_conf_unix(&c, d.sock, 0600);
	a = sy_admin_open(loop, &c, &t_hooks);
	ck_assert_ptr_nonnull(a);

	/* Same path, new mode: chmod in place. */
	t_conf_unix(&c2, d.sock, 0660);
	ck_assert_int_eq(sy_admin_reconfigure(a, &c2), 0);
	ck_assert_int_eq(stat(d.sock, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0660);

	/* New path: new socket served, old one gone. */
	snprintf(other, sizeof(other), "%s/run/other.sock", d.root);
	t_conf_unix(&c2, other, 0600);
	ck_assert_int_eq(sy_admin_reconfigure(a, &c2), 0);
	ck_assert_int_eq(stat(d.sock, &st), -1);
	ck_assert_int_eq(stat(other, &st), 0);
	free(t_roundtrip(loop, other, "GET /ready HTTP/1.1\r\nHost: x\r\n\r\n"));
	t_drain(loop, a);

	/* A new config that cannot be applied keeps the old socket. */
	t_conf_unix(&c2, other, 0600);
	c2.admin.address = "10.1.2.3:9901";
	ck_assert_int_eq(sy_addr_parse(c2.admin.address, &c2.admin.sa, &c2.admin.salen), 0);
	ck_assert_int_eq(sy_admin_reconfigure(a, &c2), -1);
	ck_assert_int_eq(stat(other, &st), 0);
	{
		char *resp = t_roundtrip(loop, other, "GET /ready HTTP/1.1\r\nHost: x\r\n\r\n");

		ck_assert(strncmp(resp, "HTTP/1.1 200 ", 13) == 0);
		free(resp);
	}
	t_drain(loop, a);

	/* Fork: the child drops its copies; the master keeps serving. */
	{
		pid_t pid = fork();
		int status;

		ck_assert_int_ne(pid, -1);
		if (pid == 0) {
			/* What a worker does: drop the master's interface and loop. */
			sy_admin_close_in_child(a);
			sy_loop_free(loop);
			_exit(0);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		ck_assert_int_eq(stat(other, &st), 0);
		free(t_roundtrip(loop, other, "GET /ready HTTP/1.1\r\nHost: x\r\n\r\n"));
		t_drain(loop, a);
	}

	/* No socket at all. */
	memset(&c2, 0, sizeof(c2));
	ck_assert_int_eq(sy_admin_reconfigure(a, &c2), 0);
	ck_assert_int_eq(stat(other, &st), -1);
	ck_assert_uint_eq(sy_loop_nfds(loop), 0);
	sy_admin_close(a);
	sy_loop_free(loop);
	unlink(other);
	t_dir_remove(&d);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite *s = suite_create("admin");
	TCase *tq = tcase_create("query");
	TCase *th = tcase_create("handle");
	TCase *ts = tcase_create("socket");

	tcase_add_test(tq, test_query_param);
	tcase_add_test(tq, test_query_param_too_long);
	suite_add_tcase(s, tq);

	tcase_add_checked_fixture(th, setup, teardown);
	tcase_set_timeout(th, 30);
	tcase_add_test(th, test_stats_text);
	tcase_add_test(th, test_stats_filter);
	tcase_add_test(th, test_stats_filter_too_long);
	tcase_add_test(th, test_stats_json);
	tcase_add_test(th, test_json_escaping);
	tcase_add_test(th, test_stats_prometheus);
	tcase_add_test(th, test_stats_http2_scopes);
	tcase_add_test(th, test_stats_ssl_scopes);
	tcase_add_test(th, test_prometheus_label_escaping);
	tcase_add_test(th, test_server_info);
	tcase_add_test(th, test_ready);
	tcase_add_test(th, test_config_dump);
	tcase_add_test(th, test_reset_counters);
	tcase_add_test(th, test_help_and_errors);
	suite_add_tcase(s, th);

	tcase_add_checked_fixture(ts, setup, teardown);
	tcase_set_timeout(ts, 30);
	tcase_add_test(ts, test_socket_serves_stats);
	tcase_add_test(ts, test_socket_limits);
	tcase_add_test(ts, test_socket_stale_and_in_use);
	tcase_add_test(ts, test_socket_tcp);
	tcase_add_test(ts, test_socket_tcp_roundtrip);
	tcase_add_test(ts, test_socket_reconfigure);
	suite_add_tcase(s, ts);
	return s;
}

SY_UNIT_MAIN(make_suite)
