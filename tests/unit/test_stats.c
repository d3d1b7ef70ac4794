/*
 * test_stats.c - the shared-memory stats segment: layout, registration,
 * per-slot writes and sums, folding a dead worker's slot, counter resets,
 * a full table, and real processes writing their own slots after fork().
 * Every test gets a fresh segment from the fixture.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "switchyard/stats.h"
#include "unit.h"

#define T_MAX_STATS 256
#define T_NSLOTS 6

static void
setup(void)
{
	ck_assert_int_eq(sy_stats_attach_new(T_MAX_STATS, T_NSLOTS), 0);
}

static void
teardown(void)
{
	sy_stats_detach();
}

static uint32_t
reg_all(uint32_t *srv, uint32_t *lis, uint32_t *http)
{
	*srv = sy_stats_register(SY_SCOPE_SERVER, NULL);
	*lis = sy_stats_register(SY_SCOPE_LISTENER, "127.0.0.1:8080");
	*http = sy_stats_register(SY_SCOPE_HTTP, "ingress_http");
	ck_assert_uint_ne(*srv, UINT32_MAX);
	ck_assert_uint_ne(*lis, UINT32_MAX);
	ck_assert_uint_ne(*http, UINT32_MAX);
	return sy_stats_count();
}

START_TEST(test_layout)
{
	struct sy_stats_layout l;
	const struct sy_shm_stats_header *h;
	const char *base;
	uint32_t srv, lis, http, n, i, s;
	size_t size;

	ck_assert_int_eq(sy_stats_layout(T_MAX_STATS, T_NSLOTS, &l), 0);
	ck_assert_uint_eq(l.names_off, sizeof(struct sy_shm_stats_header));
	ck_assert_uint_ge(l.values_off, l.names_off + T_MAX_STATS * sizeof(struct sy_shm_stat_name));
	ck_assert_uint_eq(l.values_off % 64, 0);
	ck_assert_uint_eq(l.row_size, T_MAX_STATS * sizeof(int64_t));
	ck_assert_uint_eq(l.size, l.values_off + T_NSLOTS * l.row_size);

	base = sy_stats_segment(&size);
	ck_assert_ptr_nonnull(base);
	ck_assert_uint_eq(size, l.size);
	h = (const void *)base;
	ck_assert_uint_eq(h->magic, 0x53595354u);
	ck_assert_uint_eq(h->max_stats, T_MAX_STATS);
	ck_assert_uint_eq(h->nslots, T_NSLOTS);
	ck_assert_uint_eq(sy_stats_nslots(), T_NSLOTS);
	ck_assert_uint_eq(sy_stats_max(), T_MAX_STATS);
	ck_assert_int_gt(sy_stats_start_time(), 0);

	n = reg_all(&srv, &lis, &http);
	ck_assert_uint_eq(h->nstats, n);
	/* Every name lies inside the name table, which ends before the values. */
	for (i = 0; i < n; i++) {
		const char *p = (const char *)sy_stats_name(i);

		ck_assert_ptr_eq(p, base + l.names_off + i * sizeof(struct sy_shm_stat_name));
		ck_assert(p + sizeof(struct sy_shm_stat_name) <= base + l.values_off);
	}
	/* Distinct values in every cell of every row: no two cells overlap. */
	for (s = 0; s < T_NSLOTS; s++) {
		sy_stats_use_slot(s);
		ck_assert_uint_eq(sy_stats_current_slot(), s);
		for (i = 0; i < T_MAX_STATS; i++)
			sy_stat_set(i, (int64_t)s * 100000 + i + 1);
	}
	for (s = 0; s < T_NSLOTS; s++)
		for (i = 0; i < T_MAX_STATS; i++)
			ck_assert_int_eq(sy_stats_read_slot(s, i), (int64_t)s * 100000 + i + 1);
	/* ...and the names survived all those writes. */
	ck_assert_str_eq(sy_stats_name(srv)->name, "server.live");
	ck_assert_str_eq(sy_stats_name(http + SY_STAT_HTTP__N - 1)->name,
	    "http.ingress_http.downstream_rq_ws_on_non_ws_route");
	ck_assert_uint_eq(h->magic, 0x53595354u);
	ck_assert_uint_eq(h->nstats, n);
	/* The last cell of the last row is the last int64 of the segment. */
	ck_assert_ptr_eq((const char *)base + l.values_off +
	    ((size_t)(T_NSLOTS - 1) * T_MAX_STATS + T_MAX_STATS - 1) * sizeof(int64_t),
	    base + size - sizeof(int64_t));
}
END_TEST

START_TEST(test_layout_invalid)
{
	struct sy_stats_layout l;

	ck_assert_int_eq(sy_stats_layout(0, 4, &l), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(sy_stats_layout(16, 1, &l), -1);
	ck_assert_int_eq(sy_stats_layout(16, 2, &l), 0);
	/* Already attached by the fixture. */
	ck_assert_int_eq(sy_stats_attach_new(16, 4), -1);
	ck_assert_int_eq(errno, EBUSY);
	sy_stats_detach();
	ck_assert(!sy_stats_attached());
	ck_assert_int_eq(sy_stats_attach_new(16, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(sy_stats_attach_new(16, 2), 0);
	ck_assert(sy_stats_attached());
}
END_TEST

START_TEST(test_register)
{
	const struct sy_shm_stat_name *nm;
	uint32_t srv, lis, http, n;

	n = reg_all(&srv, &lis, &http);
	ck_assert_uint_eq(srv, 0);
	ck_assert_uint_eq(lis, SY_STAT_SERVER__N);
	ck_assert_uint_eq(http, SY_STAT_SERVER__N + SY_STAT_LISTENER__N);
	ck_assert_uint_eq(n, SY_STAT_SERVER__N + SY_STAT_LISTENER__N + SY_STAT_HTTP__N);

	/* Idempotent: same base, nothing added. */
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_SERVER, NULL), srv);
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_SERVER, "ignored"), srv);
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_LISTENER, "127.0.0.1:8080"), lis);
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_HTTP, "ingress_http"), http);
	ck_assert_uint_eq(sy_stats_count(), n);

	/* Same label, other scope: a different block. */
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_HTTP, "127.0.0.1:8080"), n);
	ck_assert_uint_eq(sy_stats_count(), n + SY_STAT_HTTP__N);

	nm = sy_stats_name(lis + SY_LISTENER_downstream_cx_active);
	ck_assert_str_eq(nm->name, "listener.127.0.0.1:8080.downstream_cx_active");
	ck_assert_uint_eq(nm->scope, SY_SCOPE_LISTENER);
	ck_assert_uint_eq(nm->stat, SY_LISTENER_downstream_cx_active);
	ck_assert_uint_eq(nm->type, SY_STAT_GAUGE);
	ck_assert_uint_eq(nm->label_len, strlen("127.0.0.1:8080"));
	ck_assert(memcmp(nm->name + nm->label_off, "127.0.0.1:8080", nm->label_len) == 0);

	nm = sy_stats_name(http + SY_HTTP_downstream_cx_upgrades_total);
	ck_assert_str_eq(nm->name, "http.ingress_http.downstream_cx_upgrades_total");
	ck_assert_uint_eq(nm->type, SY_STAT_COUNTER);
	nm = sy_stats_name(srv + SY_SERVER_reload_failed);
	ck_assert_str_eq(nm->name, "server.reload_failed");
	ck_assert_uint_eq(nm->label_len, 0);

	ck_assert_uint_eq(sy_stats_find("server.generation"), srv + SY_SERVER_generation);
	ck_assert_uint_eq(sy_stats_find("http.ingress_http.downstream_rq_5xx"),
	    http + SY_HTTP_downstream_rq_5xx);
	ck_assert_uint_eq(sy_stats_find("http.nope.downstream_rq_5xx"), UINT32_MAX);
	ck_assert_ptr_null(sy_stats_name(sy_stats_count()));

	/* A labelled scope needs a label. */
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_LISTENER, NULL), UINT32_MAX);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_HTTP, ""), UINT32_MAX);
}
END_TEST

/*
 * The two HTTP/2 scopes share one table and differ by their first name
 * component; the label carries ".http2" (the master appends it).
 */
START_TEST(test_register_http2)
{
	static const char *const h2[] = {
		"rx_reset", "tx_reset", "rx_messaging_error", "goaway_sent", "streams_active",
		"header_overflow", "outbound_flood", "inbound_empty_frames_flood",
		"inbound_priority_frames_flood", "inbound_window_update_frames_flood",
		"inbound_control_frames_flood", "reset_flood", "continuation_flood",
		"extended_connect_refused",
	};
	const struct sy_shm_stat_name *nm;
	char want[SY_STATS_NAME_MAX];
	uint32_t http, cl, hh2, ch2, i;

	ck_assert_uint_eq(SY_STAT_H2__N, sizeof(h2) / sizeof(h2[0]));
	http = sy_stats_register(SY_SCOPE_HTTP, "ingress_http");
	hh2 = sy_stats_register(SY_SCOPE_HTTP2, "ingress_http.http2");
	cl = sy_stats_register(SY_SCOPE_CLUSTER, "sidecar");
	ch2 = sy_stats_register(SY_SCOPE_CLUSTER_HTTP2, "sidecar.http2");
	ck_assert_uint_ne(hh2, UINT32_MAX);
	ck_assert_uint_ne(ch2, UINT32_MAX);
	ck_assert_uint_eq(hh2, http + SY_STAT_HTTP__N);
	ck_assert_uint_eq(ch2, cl + SY_STAT_CLUSTER__N);
	ck_assert_uint_eq(sy_stats_count(), ch2 + SY_STAT_H2__N);
	ck_assert_uint_eq(sy_stats_scope_size(SY_SCOPE_HTTP2), SY_STAT_H2__N);
	ck_assert_uint_eq(sy_stats_scope_size(SY_SCOPE_CLUSTER_HTTP2), SY_STAT_H2__N);
	ck_assert_str_eq(sy_stats_scope_name(SY_SCOPE_HTTP2), "http");
	ck_assert_str_eq(sy_stats_scope_name(SY_SCOPE_CLUSTER_HTTP2), "cluster");

	for (i = 0; i < SY_STAT_H2__N; i++) {
		ck_assert_str_eq(sy_stats_stat_name(SY_SCOPE_HTTP2, i), h2[i]);
		ck_assert_str_eq(sy_stats_stat_name(SY_SCOPE_CLUSTER_HTTP2, i), h2[i]);
		ck_assert_int_eq(sy_stats_type(SY_SCOPE_HTTP2, i),
		    i == SY_H2_streams_active ? SY_STAT_GAUGE : SY_STAT_COUNTER);
		nm = sy_stats_name(hh2 + i);
		snprintf(want, sizeof(want), "http.ingress_http.http2.%s", h2[i]);
		ck_assert_str_eq(nm->name, want);
		ck_assert_uint_eq(nm->scope, SY_SCOPE_HTTP2);
		ck_assert_uint_eq(nm->stat, i);
		ck_assert_uint_eq(nm->label_len, strlen("ingress_http.http2"));
		ck_assert(memcmp(nm->name + nm->label_off, "ingress_http.http2", nm->label_len) == 0);
		nm = sy_stats_name(ch2 + i);
		snprintf(want, sizeof(want), "cluster.sidecar.http2.%s", h2[i]);
		ck_assert_str_eq(nm->name, want);
		ck_assert_uint_eq(nm->scope, SY_SCOPE_CLUSTER_HTTP2);
		ck_assert_uint_eq(nm->label_len, strlen("sidecar.http2"));
	}
	ck_assert_uint_eq(sy_stats_find("http.ingress_http.http2.reset_flood"), hh2 + SY_H2_reset_flood);
	ck_assert_uint_eq(sy_stats_find("cluster.sidecar.http2.goaway_sent"), ch2 + SY_H2_goaway_sent);
	ck_assert_str_eq(sy_stats_name(http + SY_HTTP_downstream_cx_http2_active)->name,
	    "http.ingress_http.downstream_cx_http2_active");
	ck_assert_str_eq(sy_stats_name(cl + SY_CLUSTER_upstream_rq_extended_connect_refused)->name,
	    "cluster.sidecar.upstream_rq_extended_connect_refused");
	ck_assert_str_eq(sy_stats_help(SY_SCOPE_CLUSTER_HTTP2, SY_H2_rx_reset), "RST_STREAM frames received");

	/* Idempotent, and independent of the scopes whose label they extend. */
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_HTTP2, "ingress_http.http2"), hh2);
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_CLUSTER_HTTP2, "sidecar.http2"), ch2);
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_HTTP, "ingress_http"), http);

	/* The gauge is reclaimed with a dead worker's slot; counters retire. */
	sy_stats_use_slot(SY_STATS_SLOT_FIRST_WORKER);
	sy_stat_inc(hh2 + SY_H2_streams_active);
	sy_stat_inc(ch2 + SY_H2_tx_reset);
	sy_stats_use_slot(SY_STATS_SLOT_MASTER);
	sy_stats_retire_slot(SY_STATS_SLOT_FIRST_WORKER);
	ck_assert_int_eq(sy_stats_read(hh2 + SY_H2_streams_active), 0);
	ck_assert_int_eq(sy_stats_read(ch2 + SY_H2_tx_reset), 1);
}
END_TEST

/*
 * The two TLS scopes share one table: listener.<address>.ssl.* and
 * cluster.<name>.ssl.*; the label carries ".ssl" (the master appends it).
 * The HTTP scope counts TLS connections among its own.
 */
START_TEST(test_register_ssl)
{
	static const char *const ssl[] = {
		"handshake", "connection_error", "handshake_timeout", "no_certificate",
		"fail_verify_no_cert", "fail_verify_error", "fail_verify_san", "alpn_h2", "alpn_http11",
		"alpn_none", "sni_unknown", "versions_tls12", "versions_tls13",
	};
	const struct sy_shm_stat_name *nm;
	char want[SY_STATS_NAME_MAX];
	uint32_t lis, lssl, http, cl, cssl, i;

	ck_assert_uint_eq(SY_STAT_SSL__N, sizeof(ssl) / sizeof(ssl[0]));
	lis = sy_stats_register(SY_SCOPE_LISTENER, "127.0.0.1:8443");
	lssl = sy_stats_register(SY_SCOPE_LISTENER_SSL, "127.0.0.1:8443.ssl");
	http = sy_stats_register(SY_SCOPE_HTTP, "https");
	cl = sy_stats_register(SY_SCOPE_CLUSTER, "app");
	cssl = sy_stats_register(SY_SCOPE_CLUSTER_SSL, "app.ssl");
	ck_assert_uint_ne(lssl, UINT32_MAX);
	ck_assert_uint_ne(cssl, UINT32_MAX);
	ck_assert_uint_eq(lssl, lis + SY_STAT_LISTENER__N);
	ck_assert_uint_eq(http, lssl + SY_STAT_SSL__N);
	ck_assert_uint_eq(cssl, cl + SY_STAT_CLUSTER__N);
	ck_assert_uint_eq(sy_stats_count(), cssl + SY_STAT_SSL__N);
	ck_assert_uint_eq(sy_stats_scope_size(SY_SCOPE_LISTENER_SSL), SY_STAT_SSL__N);
	ck_assert_uint_eq(sy_stats_scope_size(SY_SCOPE_CLUSTER_SSL), SY_STAT_SSL__N);
	ck_assert_str_eq(sy_stats_scope_name(SY_SCOPE_LISTENER_SSL), "listener");
	ck_assert_str_eq(sy_stats_scope_name(SY_SCOPE_CLUSTER_SSL), "cluster");

	for (i = 0; i < SY_STAT_SSL__N; i++) {
		ck_assert_str_eq(sy_stats_stat_name(SY_SCOPE_LISTENER_SSL, i), ssl[i]);
		ck_assert_str_eq(sy_stats_stat_name(SY_SCOPE_CLUSTER_SSL, i), ssl[i]);
		ck_assert_int_eq(sy_stats_type(SY_SCOPE_LISTENER_SSL, i), SY_STAT_COUNTER);
		nm = sy_stats_name(lssl + i);
		snprintf(want, sizeof(want), "listener.127.0.0.1:8443.ssl.%s", ssl[i]);
		ck_assert_str_eq(nm->name, want);
		ck_assert_uint_eq(nm->scope, SY_SCOPE_LISTENER_SSL);
		ck_assert_uint_eq(nm->stat, i);
		ck_assert_uint_eq(nm->label_len, strlen("127.0.0.1:8443.ssl"));
		ck_assert(memcmp(nm->name + nm->label_off, "127.0.0.1:8443.ssl", nm->label_len) == 0);
		nm = sy_stats_name(cssl + i);
		snprintf(want, sizeof(want), "cluster.app.ssl.%s", ssl[i]);
		ck_assert_str_eq(nm->name, want);
		ck_assert_uint_eq(nm->scope, SY_SCOPE_CLUSTER_SSL);
		ck_assert_uint_eq(nm->label_len, strlen("app.ssl"));
	}
	ck_assert_uint_eq(sy_stats_find("listener.127.0.0.1:8443.ssl.alpn_h2"), lssl + SY_SSL_alpn_h2);
	ck_assert_uint_eq(sy_stats_find("cluster.app.ssl.fail_verify_san"), cssl + SY_SSL_fail_verify_san);
	ck_assert_str_eq(sy_stats_help(SY_SCOPE_CLUSTER_SSL, SY_SSL_fail_verify_no_cert),
	    "upstream handshakes failed: the peer sent no certificate");
	ck_assert_str_eq(sy_stats_help(SY_SCOPE_LISTENER_SSL, SY_SSL_handshake_timeout),
	    "TLS handshakes that did not finish within tls_handshake_timeout");
	nm = sy_stats_name(http + SY_HTTP_downstream_cx_ssl_total);
	ck_assert_str_eq(nm->name, "http.https.downstream_cx_ssl_total");
	ck_assert_uint_eq(nm->type, SY_STAT_COUNTER);
	nm = sy_stats_name(http + SY_HTTP_downstream_cx_ssl_active);
	ck_assert_str_eq(nm->name, "http.https.downstream_cx_ssl_active");
	ck_assert_uint_eq(nm->type, SY_STAT_GAUGE);
	ck_assert_str_eq(sy_stats_help(SY_SCOPE_HTTP, SY_HTTP_downstream_cx_ssl_active), "TLS connections open");

	/* Idempotent, and independent of the scopes whose label they extend. */
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_LISTENER_SSL, "127.0.0.1:8443.ssl"), lssl);
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_CLUSTER_SSL, "app.ssl"), cssl);
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_LISTENER, "127.0.0.1:8443"), lis);

	/* Counters retire with a dead worker's slot; the gauge is reclaimed. */
	sy_stats_use_slot(SY_STATS_SLOT_FIRST_WORKER);
	sy_stat_inc(lssl + SY_SSL_handshake);
	sy_stat_inc(cssl + SY_SSL_fail_verify_error);
	sy_stat_inc(http + SY_HTTP_downstream_cx_ssl_active);
	sy_stats_use_slot(SY_STATS_SLOT_MASTER);
	sy_stats_retire_slot(SY_STATS_SLOT_FIRST_WORKER);
	ck_assert_int_eq(sy_stats_read(lssl + SY_SSL_handshake), 1);
	ck_assert_int_eq(sy_stats_read(cssl + SY_SSL_fail_verify_error), 1);
	ck_assert_int_eq(sy_stats_read(http + SY_HTTP_downstream_cx_ssl_active), 0);
}
END_TEST

START_TEST(test_register_reload_stable)
{
	uint32_t a, b, a2, b2;

	/* A reload registers the old names again plus new ones: old keep theirs. */
	a = sy_stats_register(SY_SCOPE_HTTP, "a");
	b = sy_stats_register(SY_SCOPE_HTTP, "b");
	sy_stat_add(a + SY_HTTP_downstream_rq_total, 3);
	b2 = sy_stats_register(SY_SCOPE_HTTP, "b");
	ck_assert_uint_ne(sy_stats_register(SY_SCOPE_HTTP, "c"), UINT32_MAX);
	a2 = sy_stats_register(SY_SCOPE_HTTP, "a");
	ck_assert_uint_eq(a, a2);
	ck_assert_uint_eq(b, b2);
	ck_assert_int_eq(sy_stats_read(a2 + SY_HTTP_downstream_rq_total), 3);
}
END_TEST

START_TEST(test_sum_slots)
{
	uint32_t srv, lis, http, idx;

	reg_all(&srv, &lis, &http);
	idx = http + SY_HTTP_downstream_rq_total;
	sy_stats_use_slot(2);
	sy_stat_add(idx, 5);
	sy_stat_inc(idx);
	sy_stats_use_slot(3);
	sy_stat_add(idx, 7);
	sy_stats_use_slot(SY_STATS_SLOT_MASTER);
	sy_stat_add(idx, 1);
	ck_assert_int_eq(sy_stats_read_slot(2, idx), 6);
	ck_assert_int_eq(sy_stats_read_slot(3, idx), 7);
	ck_assert_int_eq(sy_stats_read_slot(0, idx), 1);
	ck_assert_int_eq(sy_stats_read(idx), 14);

	/* Gauges go up and down. */
	sy_stats_use_slot(4);
	sy_stat_inc(lis + SY_LISTENER_downstream_cx_active);
	sy_stat_inc(lis + SY_LISTENER_downstream_cx_active);
	sy_stat_dec(lis + SY_LISTENER_downstream_cx_active);
	ck_assert_int_eq(sy_stats_read(lis + SY_LISTENER_downstream_cx_active), 1);

	/* sy_stat_set writes this process's row only. */
	sy_stats_use_slot(0);
	sy_stat_set(srv + SY_SERVER_workers, 4);
	sy_stat_set(srv + SY_SERVER_workers, 3);
	ck_assert_int_eq(sy_stats_read(srv + SY_SERVER_workers), 3);

	/* Out-of-range slots and indices are ignored, never written. */
	sy_stats_use_slot(T_NSLOTS);
	ck_assert_uint_eq(sy_stats_current_slot(), 0);
	sy_stat_add(UINT32_MAX, 1);
	sy_stat_add(T_MAX_STATS, 1);
	ck_assert_int_eq(sy_stats_read(UINT32_MAX), 0);
	ck_assert_int_eq(sy_stats_read_slot(T_NSLOTS, idx), 0);
}
END_TEST

START_TEST(test_retire)
{
	uint32_t srv, lis, http, cx, act;
	int64_t before;

	reg_all(&srv, &lis, &http);
	cx = http + SY_HTTP_downstream_cx_total;
	act = http + SY_HTTP_downstream_cx_active;
	sy_stats_use_slot(2);
	sy_stat_add(cx, 10);
	sy_stat_add(act, 3);
	sy_stats_use_slot(3);
	sy_stat_add(cx, 4);
	sy_stat_add(act, 2);
	ck_assert_int_eq(sy_stats_read(cx), 14);
	ck_assert_int_eq(sy_stats_read(act), 5);

	before = sy_stats_read(cx);
	sy_stats_retire_slot(2);
	/* Counters survive in the retired row; the gauges of slot 2 are gone. */
	ck_assert_int_ge(sy_stats_read(cx), before);
	ck_assert_int_eq(sy_stats_read(cx), 14);
	ck_assert_int_eq(sy_stats_read_slot(SY_STATS_SLOT_RETIRED, cx), 10);
	ck_assert_int_eq(sy_stats_read_slot(2, cx), 0);
	ck_assert_int_eq(sy_stats_read_slot(2, act), 0);
	ck_assert_int_eq(sy_stats_read_slot(SY_STATS_SLOT_RETIRED, act), 0);
	ck_assert_int_eq(sy_stats_read(act), 2);

	/* Retiring twice, or the retired row itself, changes nothing. */
	sy_stats_retire_slot(2);
	sy_stats_retire_slot(SY_STATS_SLOT_RETIRED);
	sy_stats_retire_slot(T_NSLOTS + 7);
	ck_assert_int_eq(sy_stats_read(cx), 14);

	/* A new worker in the same slot counts on top. */
	sy_stats_use_slot(2);
	sy_stat_add(cx, 1);
	sy_stat_inc(act);
	ck_assert_int_eq(sy_stats_read(cx), 15);
	ck_assert_int_eq(sy_stats_read(act), 3);
	sy_stats_retire_slot(3);
	sy_stats_retire_slot(2);
	ck_assert_int_eq(sy_stats_read(cx), 15);
	ck_assert_int_eq(sy_stats_read_slot(SY_STATS_SLOT_RETIRED, cx), 15);
	ck_assert_int_eq(sy_stats_read(act), 0);
}
END_TEST

START_TEST(test_reset_counters)
{
	uint32_t srv, lis, http, rq, act;

	reg_all(&srv, &lis, &http);
	rq = http + SY_HTTP_downstream_rq_total;
	act = http + SY_HTTP_downstream_rq_active;
	sy_stats_use_slot(2);
	sy_stat_add(rq, 7);
	sy_stat_add(act, 2);
	sy_stats_use_slot(3);
	sy_stat_add(rq, 5);
	sy_stats_use_slot(0);
	sy_stat_inc(srv + SY_SERVER_reloads);
	sy_stat_set(srv + SY_SERVER_live, 1);
	sy_stats_retire_slot(3);

	sy_stats_reset_counters();
	ck_assert_int_eq(sy_stats_read(rq), 0);
	ck_assert_int_eq(sy_stats_read(srv + SY_SERVER_reloads), 0);
	/* Gauges are untouched; the master row carries the offset. */
	ck_assert_int_eq(sy_stats_read(act), 2);
	ck_assert_int_eq(sy_stats_read(srv + SY_SERVER_live), 1);
	ck_assert_int_eq(sy_stats_read_slot(0, rq), -12);
	ck_assert_int_eq(sy_stats_read_slot(2, rq), 7);

	/* Counting resumes from zero; retiring afterwards loses nothing. */
	sy_stats_use_slot(2);
	sy_stat_add(rq, 3);
	ck_assert_int_eq(sy_stats_read(rq), 3);
	sy_stats_retire_slot(2);
	ck_assert_int_eq(sy_stats_read(rq), 3);
	ck_assert_int_eq(sy_stats_read(act), 0);
	sy_stats_reset_counters();
	ck_assert_int_eq(sy_stats_read(rq), 0);
}
END_TEST

START_TEST(test_table_full)
{
	char longlabel[SY_STATS_NAME_MAX];
	uint32_t base;

	sy_stats_detach();
	ck_assert_int_eq(sy_stats_attach_new(SY_STAT_SERVER__N + SY_STAT_LISTENER__N + 1, 3), 0);
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_SERVER, NULL), 0);
	base = sy_stats_register(SY_SCOPE_LISTENER, "127.0.0.1:1");
	ck_assert_uint_eq(base, SY_STAT_SERVER__N);
	errno = 0;
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_LISTENER, "127.0.0.1:2"), UINT32_MAX);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_HTTP, "p"), UINT32_MAX);
	ck_assert_uint_eq(sy_stats_count(), SY_STAT_SERVER__N + SY_STAT_LISTENER__N);
	/* Existing names are still found when the table is full. */
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_LISTENER, "127.0.0.1:1"), base);
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_SERVER, NULL), 0);

	/* A name that cannot fit is refused without registering anything. */
	sy_stats_detach();
	ck_assert_int_eq(sy_stats_attach_new(64, 3), 0);
	memset(longlabel, 'x', sizeof(longlabel) - 20);
	longlabel[sizeof(longlabel) - 20] = '\0';
	errno = 0;
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_HTTP, longlabel), UINT32_MAX);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	ck_assert_uint_eq(sy_stats_count(), 0);
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_SERVER, NULL), 0);
	ck_assert_str_eq(sy_stats_name(0)->name, "server.live");
}
END_TEST

START_TEST(test_fork_child_writes_slot)
{
	uint32_t srv, lis, http, idx;
	int status, k;
	pid_t pid[3];

	reg_all(&srv, &lis, &http);
	idx = http + SY_HTTP_downstream_rq_total;
	for (k = 0; k < 3; k++) {
		pid[k] = fork();
		ck_assert_int_ne(pid[k], -1);
		if (pid[k] == 0) {
			int j;

			sy_stats_use_slot(SY_STATS_SLOT_FIRST_WORKER + (uint32_t)k);
			for (j = 0; j < 10000; j++)
				sy_stat_inc(idx);
			sy_stat_add(lis + SY_LISTENER_downstream_cx_active, k + 1);
			_exit(0);
		}
	}
	for (k = 0; k < 3; k++) {
		ck_assert_int_eq(waitpid(pid[k], &status, 0), pid[k]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (k = 0; k < 3; k++)
		ck_assert_int_eq(sy_stats_read_slot(SY_STATS_SLOT_FIRST_WORKER + (uint32_t)k, idx), 10000);
	ck_assert_int_eq(sy_stats_read(idx), 30000);
	ck_assert_int_eq(sy_stats_read(lis + SY_LISTENER_downstream_cx_active), 6);
	ck_assert_int_eq(sy_stats_read_slot(SY_STATS_SLOT_MASTER, idx), 0);

	/* The master reaps worker 1 (slot 3): its counter stays, gauge goes. */
	sy_stats_retire_slot(SY_STATS_SLOT_FIRST_WORKER + 1);
	ck_assert_int_eq(sy_stats_read(idx), 30000);
	ck_assert_int_eq(sy_stats_read(lis + SY_LISTENER_downstream_cx_active), 4);
}
END_TEST

START_TEST(test_templates)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	unsigned lines = 0;
	FILE *fp;

	fp = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(fp);
	sy_stats_print_templates(fp);
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(text, "server.live\tgauge\t1 while the server is serving"));
	ck_assert_ptr_nonnull(strstr(text, "listener.<address>.downstream_cx_total\tcounter\tconnections accepted\n"));
	ck_assert_ptr_nonnull(strstr(text, "http.<stat_prefix>.downstream_cx_total\tcounter\tconnections\n"));
	ck_assert_ptr_nonnull(strstr(text, "http.<stat_prefix>.downstream_cx_upgrades_active\tgauge\t"));
	ck_assert_ptr_nonnull(strstr(text, "http.<stat_prefix>.http2.rx_reset\tcounter\tRST_STREAM frames received\n"));
	ck_assert_ptr_nonnull(strstr(text, "http.<stat_prefix>.http2.streams_active\tgauge\t"));
	ck_assert_ptr_nonnull(strstr(text, "cluster.<name>.http2.extended_connect_refused\tcounter\t"));
	ck_assert_ptr_nonnull(strstr(text, "cluster.<name>.upstream_rq_extended_connect_refused\tcounter\t"));
	ck_assert_ptr_nonnull(strstr(text, "http.<stat_prefix>.downstream_cx_ssl_total\tcounter\tTLS connections\n"));
	ck_assert_ptr_nonnull(strstr(text, "http.<stat_prefix>.downstream_cx_ssl_active\tgauge\tTLS connections open\n"));
	ck_assert_ptr_nonnull(strstr(text, "listener.<address>.ssl.handshake\tcounter\tTLS handshakes completed\n"));
	ck_assert_ptr_nonnull(strstr(text, "listener.<address>.ssl.versions_tls13\tcounter\t"));
	ck_assert_ptr_nonnull(strstr(text, "cluster.<name>.ssl.fail_verify_san\tcounter\t"
	    "upstream handshakes failed: the certificate does not match the expected host name (sni)\n"));
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *t1 = strchr(line, '\t'), *t2 = t1 != NULL ? strchr(t1 + 1, '\t') : NULL;

		ck_assert_ptr_nonnull(t2);
		ck_assert(strncmp(t1 + 1, "counter\t", 8) == 0 || strncmp(t1 + 1, "gauge\t", 6) == 0);
		ck_assert_uint_gt(strlen(t2 + 1), 0);
		lines++;
	}
	ck_assert_uint_eq(lines, SY_STAT_SERVER__N + SY_STAT_LISTENER__N + SY_STAT_SSL__N + SY_STAT_HTTP__N +
	    SY_STAT_H2__N + SY_STAT_UPGRADE__N + SY_STAT_CLUSTER__N + SY_STAT_H2__N + SY_STAT_SSL__N);
	free(text);

	ck_assert_str_eq(sy_stats_scope_name(SY_SCOPE_HTTP), "http");
	ck_assert_str_eq(sy_stats_stat_name(SY_SCOPE_SERVER, SY_SERVER_worker_restarts), "worker_restarts");
	ck_assert_str_eq(sy_stats_help(SY_SCOPE_LISTENER, SY_LISTENER_downstream_cx_active), "connections open");
	ck_assert_int_eq(sy_stats_type(SY_SCOPE_HTTP, SY_HTTP_downstream_rq_active), SY_STAT_GAUGE);
	ck_assert_uint_eq(sy_stats_scope_size(SY_SCOPE_HTTP), SY_STAT_HTTP__N);
	ck_assert_ptr_null(sy_stats_help(SY_SCOPE_SERVER, SY_STAT_SERVER__N));
	ck_assert_ptr_null(sy_stats_scope_name(SY_SCOPE__N));
	ck_assert_int_eq(sy_stats_type(SY_SCOPE__N, 0), -1);
}
END_TEST

START_TEST(test_detached_is_harmless)
{
	sy_stats_detach();
	/* Code paths run by tools and tests without a segment must not crash. */
	sy_stat_inc(0);
	sy_stat_set(3, 9);
	ck_assert_int_eq(sy_stats_read(0), 0);
	ck_assert_uint_eq(sy_stats_count(), 0);
	ck_assert_uint_eq(sy_stats_register(SY_SCOPE_SERVER, NULL), UINT32_MAX);
	ck_assert_uint_eq(sy_stats_find("server.live"), UINT32_MAX);
	sy_stats_reset_counters();
	sy_stats_retire_slot(2);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("segment");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_layout_invalid);
	tcase_add_test(tc, test_register);
	tcase_add_test(tc, test_register_http2);
	tcase_add_test(tc, test_register_ssl);
	tcase_add_test(tc, test_register_reload_stable);
	tcase_add_test(tc, test_sum_slots);
	tcase_add_test(tc, test_retire);
	tcase_add_test(tc, test_reset_counters);
	tcase_add_test(tc, test_table_full);
	tcase_add_test(tc, test_fork_child_writes_slot);
	tcase_add_test(tc, test_templates);
	tcase_add_test(tc, test_detached_is_harmless);
	suite_add_tcase(s, tc);
	return s;
}

SY_UNIT_MAIN(make_suite)
