/*
 * test_upstream.c - per-worker upstream connections over real loopback
 * sockets: connect and callbacks, pooling and reuse, a pooled connection
 * closed by the peer is not lent again, connect refused, max_connections
 * (EAGAIN), and the cluster counters.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "switchyard/conf.h"
#include "switchyard/loop.h"
#include "switchyard/stats.h"
#include "switchyard/upstream.h"
#include "unit.h"

static int lfd = -1;
static int port;
static struct sy_loop *loop;
static struct sy_conf *conf;

struct owner {
	int connected, failed, readable, eof, errors;
	int err;
	bool timed_out;
};

static void o_connected(void *o, struct sy_upstream *u) { ((struct owner *)o)->connected++; }
static void
o_failed(void *o, struct sy_upstream *u, int err, bool t)
{
	((struct owner *)o)->failed++;
	((struct owner *)o)->err = err;
	((struct owner *)o)->timed_out = t;
}
static void o_readable(void *o, struct sy_upstream *u) { ((struct owner *)o)->readable++; }
static void o_writable(void *o, struct sy_upstream *u) { }
static void o_eof(void *o, struct sy_upstream *u) { ((struct owner *)o)->eof++; }
static void o_error(void *o, struct sy_upstream *u, int e) { ((struct owner *)o)->errors++; }

static const struct sy_upstream_cb cb = {
	o_connected, o_failed, o_readable, o_writable, o_eof, o_error,
};

static void
spin(int *counter, int want)
{
	int i;

	for (i = 0; i < 200 && *counter < want; i++)
		sy_loop_once(loop, 20);
}

static struct sy_conf *
load(const char *endpoint, int max_conns)
{
	char text[1024];
	struct sy_conf_errors e;
	struct sy_conf *c;

	snprintf(text, sizeof(text),
	    "clusters = ( { name = \"app\"; endpoints = [ \"%s\" ]; connect_timeout = \"1s\";"
	    " max_connections = %d; max_idle_connections = 4; } );\n"
	    "listeners = ( { name = \"l\"; address = \"127.0.0.1:1\"; http = { stat_prefix = \"p\";"
	    " route_config = { virtual_hosts = ( { name = \"v\"; domains = [ \"*\" ]; routes = ("
	    " { match = { prefix = \"/\"; }; route = { cluster = \"app\"; }; } ); } ); }; }; } );\n",
	    endpoint, max_conns);
	sy_conf_errors_init(&e);
	c = sy_conf_load_string(text, "t.conf", &e);
	if (c == NULL)
		sy_conf_errors_print(&e, stderr);
	sy_conf_errors_fini(&e);
	ck_assert_ptr_nonnull(c);
	c->clusters[0].stats_base = sy_stats_register(SY_SCOPE_CLUSTER, "app");
	return c;
}

static void
setup(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char ep[64];

	sy_stats_attach_new(2048, 4);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 16), 0);
	getsockname(lfd, (struct sockaddr *)&sin, &sl);
	port = ntohs(sin.sin_port);
	snprintf(ep, sizeof(ep), "127.0.0.1:%d", port);
	loop = sy_loop_new();
	conf = load(ep, 2);
	ck_assert_int_eq(sy_upstream_init(loop, conf), 0);
}

static void
teardown(void)
{
	sy_upstream_fini();
	sy_conf_free(conf);
	sy_loop_free(loop);
	close(lfd);
	sy_stats_detach();
}

static int64_t
stat(unsigned s)
{
	return sy_stats_read(conf->clusters[0].stats_base + s);
}

START_TEST(test_connect_and_pool)
{
	struct owner o = { 0 };
	struct sy_upstream *u, *u2;
	int sfd;
	char b[8];

	u = sy_upstream_acquire(&conf->clusters[0], &cb, &o);
	ck_assert_ptr_nonnull(u);
	ck_assert(!u->reused);
	spin(&o.connected, 1);
	ck_assert_int_eq(o.connected, 1);
	sfd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(sfd, 0);
	sy_buf_append(&u->out, "ping", 4);
	sy_upstream_flush(u);
	ck_assert_int_eq(read(sfd, b, sizeof(b)), 4);
	ck_assert_int_eq(write(sfd, "pong", 4), 4);
	spin(&o.readable, 1);
	ck_assert_uint_eq(sy_buf_len(&u->in), 4);
	sy_buf_consume(&u->in, 4);
	sy_upstream_release(u, true);
	ck_assert_int_eq(stat(SY_CLUSTER_upstream_cx_total), 1);
	ck_assert_int_eq(stat(SY_CLUSTER_upstream_cx_active), 1);	/* pooled */

	/* The pooled connection is lent again, no new connect. */
	u2 = sy_upstream_acquire(&conf->clusters[0], &cb, &o);
	ck_assert_ptr_nonnull(u2);
	ck_assert(u2->reused);
	ck_assert_int_eq(stat(SY_CLUSTER_upstream_cx_total), 1);
	sy_upstream_release(u2, false);
	ck_assert_int_eq(stat(SY_CLUSTER_upstream_cx_active), 0);
	ck_assert_int_eq(stat(SY_CLUSTER_upstream_cx_destroy), 1);
	close(sfd);
}
END_TEST

START_TEST(test_pooled_closed_by_peer_is_dropped)
{
	struct owner o = { 0 };
	struct sy_upstream *u;
	int sfd, i;

	u = sy_upstream_acquire(&conf->clusters[0], &cb, &o);
	spin(&o.connected, 1);
	sfd = accept(lfd, NULL, NULL);
	sy_upstream_release(u, true);
	close(sfd);		/* the upstream drops the idle connection */
	for (i = 0; i < 50 && stat(SY_CLUSTER_upstream_cx_destroy) == 0; i++)
		sy_loop_once(loop, 20);
	ck_assert_int_eq(stat(SY_CLUSTER_upstream_cx_destroy), 1);
	u = sy_upstream_acquire(&conf->clusters[0], &cb, &o);
	ck_assert(!u->reused);
	sy_upstream_release(u, false);
}
END_TEST

START_TEST(test_max_connections)
{
	struct owner o = { 0 };
	struct sy_upstream *a, *b, *c;

	a = sy_upstream_acquire(&conf->clusters[0], &cb, &o);
	b = sy_upstream_acquire(&conf->clusters[0], &cb, &o);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	errno = 0;
	c = sy_upstream_acquire(&conf->clusters[0], &cb, &o);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(errno, EAGAIN);
	sy_upstream_release(a, false);
	c = sy_upstream_acquire(&conf->clusters[0], &cb, &o);
	ck_assert_ptr_nonnull(c);
	sy_upstream_release(b, false);
	sy_upstream_release(c, false);
}
END_TEST

START_TEST(test_connect_refused)
{
	struct owner o = { 0 };
	struct sy_upstream *u;
	struct sy_conf *c2;
	char ep[64];

	/* A port nobody listens on: close our listener and reuse its number. */
	snprintf(ep, sizeof(ep), "127.0.0.1:%d", port);
	close(lfd);
	lfd = -1;
	sy_upstream_fini();
	c2 = load(ep, 4);
	sy_upstream_init(loop, c2);
	u = sy_upstream_acquire(&c2->clusters[0], &cb, &o);
	ck_assert_ptr_nonnull(u);
	ck_assert_int_eq(o.failed, 0);		/* never from inside acquire */
	spin(&o.failed, 1);
	ck_assert_int_eq(o.failed, 1);
	ck_assert_int_eq(o.err, ECONNREFUSED);
	ck_assert(!o.timed_out);
	ck_assert_int_eq(sy_stats_read(c2->clusters[0].stats_base + SY_CLUSTER_upstream_cx_connect_fail), 1);
	sy_upstream_release(u, false);
	sy_upstream_fini();
	sy_upstream_init(loop, conf);
	sy_conf_free(c2);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite *s = suite_create("upstream");
	TCase *tc = tcase_create("pool");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_connect_and_pool);
	tcase_add_test(tc, test_pooled_closed_by_peer_is_dropped);
	tcase_add_test(tc, test_max_connections);
	tcase_add_test(tc, test_connect_refused);
	suite_add_tcase(s, tc);
	return s;
}

SY_UNIT_MAIN(make_suite)
