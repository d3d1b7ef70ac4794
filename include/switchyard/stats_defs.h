/*
 * stats_defs.h - every statistic, declared once.  Each scope lists its
 * stats as X(type, name, help).  This table generates the index enums, the
 * names registered in shared memory, the admin output (type and help for
 * Prometheus) and the list checked against switchyard(8)'s STATISTICS
 * section.  Add a stat here and nowhere else.
 */
#ifndef SWITCHYARD_STATS_DEFS_H
#define SWITCHYARD_STATS_DEFS_H

/* server.<name> */
#define SY_STATS_SERVER(X) \
	X(GAUGE, live, "1 while the server is serving, 0 while draining") \
	X(GAUGE, uptime, "seconds since the master started") \
	X(GAUGE, workers, "worker processes of the current generation running") \
	X(GAUGE, generation, "configuration generation, +1 per successful reload") \
	X(COUNTER, reloads, "successful reloads") \
	X(COUNTER, reload_failed, "reloads refused because the new configuration was invalid") \
	X(COUNTER, worker_restarts, "workers respawned after dying unexpectedly")

/* listener.<address>.<name> */
#define SY_STATS_LISTENER(X) \
	X(COUNTER, downstream_cx_total, "connections accepted") \
	X(GAUGE, downstream_cx_active, "connections open")

/* http.<stat_prefix>.<name> */
#define SY_STATS_HTTP(X) \
	X(COUNTER, downstream_cx_total, "connections") \
	X(GAUGE, downstream_cx_active, "connections open") \
	X(COUNTER, downstream_cx_http1_total, "HTTP/1.1 connections") \
	X(GAUGE, downstream_cx_http1_active, "HTTP/1.1 connections open") \
	X(COUNTER, downstream_cx_http2_total, "HTTP/2 connections") \
	X(GAUGE, downstream_cx_http2_active, "HTTP/2 connections open") \
	X(COUNTER, downstream_cx_ssl_total, "TLS connections") \
	X(GAUGE, downstream_cx_ssl_active, "TLS connections open") \
	X(COUNTER, downstream_cx_rx_bytes_total, "bytes received from clients") \
	X(COUNTER, downstream_cx_tx_bytes_total, "bytes sent to clients") \
	X(COUNTER, downstream_cx_protocol_error, "connections closed on a protocol error") \
	X(COUNTER, downstream_cx_idle_timeout, "connections closed by idle_timeout") \
	X(COUNTER, downstream_cx_drain_close, "connections closed because the worker was draining") \
	X(COUNTER, downstream_cx_destroy, "connections closed") \
	X(COUNTER, downstream_cx_upgrades_total, "connections upgraded (WebSocket and other upgrades)") \
	X(GAUGE, downstream_cx_upgrades_active, "upgraded connections open") \
	X(COUNTER, downstream_rq_total, "requests") \
	X(COUNTER, downstream_rq_http1_total, "HTTP/1.1 requests") \
	X(COUNTER, downstream_rq_http2_total, "HTTP/2 requests (streams)") \
	X(GAUGE, downstream_rq_active, "requests in progress") \
	X(COUNTER, downstream_rq_1xx, "responses with a 1xx status") \
	X(COUNTER, downstream_rq_2xx, "responses with a 2xx status") \
	X(COUNTER, downstream_rq_3xx, "responses with a 3xx status") \
	X(COUNTER, downstream_rq_4xx, "responses with a 4xx status") \
	X(COUNTER, downstream_rq_5xx, "responses with a 5xx status") \
	X(COUNTER, downstream_rq_header_timeout, "requests closed by request_headers_timeout") \
	X(COUNTER, downstream_rq_idle_timeout, "streams and tunnels closed by their idle timeout") \
	X(COUNTER, downstream_rq_too_large, "requests refused with 413 by the buffer filter") \
	X(COUNTER, downstream_rq_ws_on_non_ws_route, "upgrade requests refused (403) by the upgrade rules")

/* http.<stat_prefix>.upgrades.<type>.<name> */
#define SY_STATS_UPGRADE(X) \
	X(COUNTER, total, "upgrades of this type accepted into a tunnel") \
	X(GAUGE, active, "tunnels of this type open") \
	X(COUNTER, failed, "upgrade attempts of this type that did not become a tunnel")

/* cluster.<name>.<name> */
#define SY_STATS_CLUSTER(X) \
	X(COUNTER, upstream_cx_total, "connections opened to the cluster") \
	X(COUNTER, upstream_cx_http2_total, "HTTP/2 connections opened to the cluster") \
	X(GAUGE, upstream_cx_active, "connections open to the cluster") \
	X(COUNTER, upstream_cx_connect_fail, "connection attempts that failed") \
	X(COUNTER, upstream_cx_connect_timeout, "connection attempts that hit connect_timeout") \
	X(COUNTER, upstream_cx_destroy, "connections closed") \
	X(COUNTER, upstream_cx_rx_bytes_total, "bytes received from the cluster") \
	X(COUNTER, upstream_cx_tx_bytes_total, "bytes sent to the cluster") \
	X(COUNTER, upstream_cx_none_healthy, "requests answered 503: no endpoint could take them") \
	X(COUNTER, upstream_rq_total, "requests sent") \
	X(GAUGE, upstream_rq_active, "requests in progress") \
	X(COUNTER, upstream_rq_timeout, "requests answered 504: no response head within the route timeout") \
	X(COUNTER, upstream_rq_1xx, "responses with a 1xx status") \
	X(COUNTER, upstream_rq_2xx, "responses with a 2xx status") \
	X(COUNTER, upstream_rq_3xx, "responses with a 3xx status") \
	X(COUNTER, upstream_rq_4xx, "responses with a 4xx status") \
	X(COUNTER, upstream_rq_5xx, "responses with a 5xx status") \
	X(COUNTER, upstream_rq_extended_connect_refused, \
	    "upgrades answered 502 because the HTTP/2 upstream does not allow extended CONNECT")

/*
 * http.<stat_prefix>.http2.<name> (SY_SCOPE_HTTP2) and
 * cluster.<name>.http2.<name> (SY_SCOPE_CLUSTER_HTTP2): the HTTP/2 codec's
 * own counters, one set per listener and per cluster.
 */
#define SY_STATS_HTTP2(X) \
	X(COUNTER, rx_reset, "RST_STREAM frames received") \
	X(COUNTER, tx_reset, "RST_STREAM frames sent") \
	X(COUNTER, rx_messaging_error, \
	    "streams reset for violating HTTP messaging rules (malformed or forbidden headers)") \
	X(COUNTER, goaway_sent, "GOAWAY frames sent") \
	X(GAUGE, streams_active, "HTTP/2 streams open") \
	X(COUNTER, header_overflow, "streams or connections refused for exceeding max_header_list_kb") \
	X(COUNTER, outbound_flood, "connections closed because the peer does not read our frames") \
	X(COUNTER, inbound_empty_frames_flood, "connections closed for too many empty DATA frames") \
	X(COUNTER, inbound_priority_frames_flood, "connections closed for too many PRIORITY frames") \
	X(COUNTER, inbound_window_update_frames_flood, "connections closed for too many WINDOW_UPDATE frames") \
	X(COUNTER, inbound_control_frames_flood, "connections closed for too many SETTINGS or PING frames") \
	X(COUNTER, reset_flood, "connections closed for too many stream resets (rapid reset)") \
	X(COUNTER, continuation_flood, "connections closed for too many CONTINUATION frames") \
	X(COUNTER, extended_connect_refused, "extended CONNECT requests refused because allow_connect is off")

/*
 * listener.<address>.ssl.<name> (SY_SCOPE_LISTENER_SSL), the handshakes
 * clients open, and cluster.<name>.ssl.<name> (SY_SCOPE_CLUSTER_SSL), the
 * handshakes with the endpoints: one set per listener and per cluster,
 * TLS or not.  The fail_verify_* counters move only on the cluster side
 * (switchyard verifies upstreams, it asks clients for no certificate).
 */
#define SY_STATS_SSL(X) \
	X(COUNTER, handshake, "TLS handshakes completed") \
	X(COUNTER, connection_error, \
	    "TLS handshakes or connections that failed (bad record, protocol version, no shared cipher...)") \
	X(COUNTER, handshake_timeout, "TLS handshakes that did not finish within tls_handshake_timeout") \
	X(COUNTER, no_certificate, "handshakes completed without a peer certificate") \
	X(COUNTER, fail_verify_no_cert, "upstream handshakes failed: the peer sent no certificate") \
	X(COUNTER, fail_verify_error, "upstream handshakes failed: certificate chain verification") \
	X(COUNTER, fail_verify_san, \
	    "upstream handshakes failed: the certificate does not match the expected host name (sni)") \
	X(COUNTER, alpn_h2, "handshakes that selected h2") \
	X(COUNTER, alpn_http11, "handshakes that selected http/1.1") \
	X(COUNTER, alpn_none, "handshakes without ALPN") \
	X(COUNTER, sni_unknown, \
	    "handshakes whose SNI matched no certificates entry (the default certificate was used)") \
	X(COUNTER, versions_tls12, "handshakes that negotiated TLS 1.2") \
	X(COUNTER, versions_tls13, "handshakes that negotiated TLS 1.3")

enum sy_stat_type { SY_STAT_COUNTER, SY_STAT_GAUGE };

enum sy_stats_scope {
	SY_SCOPE_SERVER,
	SY_SCOPE_LISTENER,
	SY_SCOPE_LISTENER_SSL,	/* label "<address>.ssl" */
	SY_SCOPE_HTTP,
	SY_SCOPE_HTTP2,		/* label "<stat_prefix>.http2" */
	SY_SCOPE_UPGRADE,	/* label "<stat_prefix>.upgrades.<type>" */
	SY_SCOPE_CLUSTER,
	SY_SCOPE_CLUSTER_HTTP2,	/* label "<name>.http2" */
	SY_SCOPE_CLUSTER_SSL,	/* label "<name>.ssl" */
	SY_SCOPE__N
};

/* Index of a stat inside its scope: SY_HTTP_downstream_rq_total etc. */
#define SY_STAT_ENUM_SERVER_(t, n, h) SY_SERVER_##n,
#define SY_STAT_ENUM_LISTENER_(t, n, h) SY_LISTENER_##n,
#define SY_STAT_ENUM_HTTP_(t, n, h) SY_HTTP_##n,
#define SY_STAT_ENUM_UPGRADE_(t, n, h) SY_UPGRADE_##n,
#define SY_STAT_ENUM_CLUSTER_(t, n, h) SY_CLUSTER_##n,
#define SY_STAT_ENUM_H2_(t, n, h) SY_H2_##n,
#define SY_STAT_ENUM_SSL_(t, n, h) SY_SSL_##n,
enum sy_stat_server { SY_STATS_SERVER(SY_STAT_ENUM_SERVER_) SY_STAT_SERVER__N };
enum sy_stat_listener { SY_STATS_LISTENER(SY_STAT_ENUM_LISTENER_) SY_STAT_LISTENER__N };
enum sy_stat_http { SY_STATS_HTTP(SY_STAT_ENUM_HTTP_) SY_STAT_HTTP__N };
enum sy_stat_upgrade { SY_STATS_UPGRADE(SY_STAT_ENUM_UPGRADE_) SY_STAT_UPGRADE__N };
enum sy_stat_cluster { SY_STATS_CLUSTER(SY_STAT_ENUM_CLUSTER_) SY_STAT_CLUSTER__N };
/* Both HTTP/2 scopes: SY_H2_rx_reset etc. */
enum sy_stat_h2 { SY_STATS_HTTP2(SY_STAT_ENUM_H2_) SY_STAT_H2__N };
/* Both TLS scopes: SY_SSL_handshake etc. */
enum sy_stat_ssl { SY_STATS_SSL(SY_STAT_ENUM_SSL_) SY_STAT_SSL__N };
#undef SY_STAT_ENUM_SERVER_
#undef SY_STAT_ENUM_LISTENER_
#undef SY_STAT_ENUM_HTTP_
#undef SY_STAT_ENUM_UPGRADE_
#undef SY_STAT_ENUM_CLUSTER_
#undef SY_STAT_ENUM_H2_
#undef SY_STAT_ENUM_SSL_

#endif
