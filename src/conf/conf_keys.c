/*
 * conf_keys.c - the one declarative table of configuration keys.  Each row
 * names a key, its type, where its value lives in struct sy_conf (or the
 * nested struct of its group), its default written as in the file, its
 * bounds, whether a reload applies it, and a one-line doc.  Parsing,
 * defaults, bounds, type and unknown-key errors, the JSON dump,
 * --list-keys and the man page check all read these rows; nothing else in
 * the tree may know the list of keys.  Rules that span several keys are
 * the check hooks of conf_check.c.  Keep the rows in the order of
 * switchyard.conf(5).
 */
#include <stddef.h>

#include "conf_int.h"

static const char *const log_levels[] = {
	"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug", NULL
};
static const char *const codec_types[] = { "auto", "http1", "http2", NULL };
static const char *const log_targets[] = { "syslog", "stderr", NULL };
/* In the order of enum sy_lb_policy. */
static const char *const lb_policies[] = { "round_robin", "least_request", "random", NULL };
/* In the order of enum sy_cluster_protocol. */
static const char *const cluster_protocols[] = { "http1", "http2", "auto", NULL };
/* In the order of enum sy_tls_version: OpenSSL's names. */
static const char *const tls_versions[] = { "TLSv1.2", "TLSv1.3", NULL };

/*
 * The filters an http_filters or upgrade filters list may name.  Adding
 * one is a row here, its settings below (variant = its name), and its
 * module under src/.
 */
const struct sy_conf_filter_kind sy_conf_filter_kinds[] = {
	{ .name = "router", .terminal = true },
	{ .name = "buffer", .http_only = true },
	{ .name = "header_mutation" },
	{ .name = NULL }
};

/* header_mutation: one header to add or set. */
static const struct sy_conf_key header_value_keys[] = {
	{ .name = "name", .type = SY_CONF_STRING, .flags = SY_CONF_REQUIRED | SY_CONF_LOWER,
	  .off = offsetof(struct sy_conf_header_value, name),
	  .doc = "header name, stored lower-cased" },
	{ .name = "value", .type = SY_CONF_STRING,
	  .off = offsetof(struct sy_conf_header_value, value),
	  .doc = "header value (required, may be empty)" },
	{ .name = "append", .type = SY_CONF_BOOL, .def = "false",
	  .off = offsetof(struct sy_conf_header_value, append),
	  .doc = "true: add another field; false: replace every field of that name" },
	{ .name = NULL }
};

/*
 * One filter: a name, and the settings of every kind of filter; a row
 * with a variant is allowed only in the filter of that name.
 */
const struct sy_conf_key sy_conf_filter_keys[] = {
	{ .name = "name", .type = SY_CONF_STRING, .flags = SY_CONF_REQUIRED,
	  .off = offsetof(struct sy_conf_filter, name),
	  .doc = "the filter: router, buffer or header_mutation" },
	{ .name = "max_request_bytes", .type = SY_CONF_INT64, .flags = SY_CONF_REQUIRED,
	  .min = 1, .max = 1073741824, .variant = "buffer",
	  .off = offsetof(struct sy_conf_filter, max_request_bytes),
	  .doc = "buffer: largest request body buffered, in bytes (larger: 413)" },
	{ .name = "request_headers_to_add", .type = SY_CONF_LIST, .variant = "header_mutation",
	  .off = offsetof(struct sy_conf_filter, request_headers_to_add),
	  .count_off = offsetof(struct sy_conf_filter, nrequest_headers_to_add),
	  .elem_size = sizeof(struct sy_conf_header_value),
	  .line_off = SY_CONF_OPT(struct sy_conf_header_value, line),
	  .child = header_value_keys, .check = sy_conf_check_header_value,
	  .doc = "header_mutation: headers added to or set on the request" },
	{ .name = "request_headers_to_remove", .type = SY_CONF_STRINGS, .flags = SY_CONF_LOWER,
	  .variant = "header_mutation",
	  .off = offsetof(struct sy_conf_filter, request_headers_to_remove),
	  .count_off = offsetof(struct sy_conf_filter, nrequest_headers_to_remove),
	  .doc = "header_mutation: headers removed from the request" },
	{ .name = "response_headers_to_add", .type = SY_CONF_LIST, .variant = "header_mutation",
	  .off = offsetof(struct sy_conf_filter, response_headers_to_add),
	  .count_off = offsetof(struct sy_conf_filter, nresponse_headers_to_add),
	  .elem_size = sizeof(struct sy_conf_header_value),
	  .line_off = SY_CONF_OPT(struct sy_conf_header_value, line),
	  .child = header_value_keys, .check = sy_conf_check_header_value,
	  .doc = "header_mutation: headers added to or set on the response" },
	{ .name = "response_headers_to_remove", .type = SY_CONF_STRINGS, .flags = SY_CONF_LOWER,
	  .variant = "header_mutation",
	  .off = offsetof(struct sy_conf_filter, response_headers_to_remove),
	  .count_off = offsetof(struct sy_conf_filter, nresponse_headers_to_remove),
	  .doc = "header_mutation: headers removed from the response" },
	{ .name = NULL }
};

/* A listener's upgrade_configs entry: may replace the filter chain. */
static const struct sy_conf_key listener_upgrade_keys[] = {
	{ .name = "upgrade_type", .type = SY_CONF_STRING, .flags = SY_CONF_REQUIRED | SY_CONF_LOWER,
	  .off = offsetof(struct sy_conf_upgrade, upgrade_type),
	  .doc = "the Upgrade token, such as \"websocket\", compared case-insensitively" },
	{ .name = "enabled", .type = SY_CONF_BOOL, .def = "true",
	  .off = offsetof(struct sy_conf_upgrade, enabled),
	  .present_off = SY_CONF_OPT(struct sy_conf_upgrade, enabled_set),
	  .doc = "whether upgrades of this type are proxied" },
	{ .name = "filters", .type = SY_CONF_LIST, .min = 1,
	  .off = offsetof(struct sy_conf_upgrade, filters),
	  .count_off = offsetof(struct sy_conf_upgrade, nfilters),
	  .elem_size = sizeof(struct sy_conf_filter),
	  .line_off = SY_CONF_OPT(struct sy_conf_filter, line),
	  .present_off = SY_CONF_OPT(struct sy_conf_upgrade, has_filters),
	  .child = sy_conf_filter_keys, .check = sy_conf_check_filter,
	  .doc = "filter chain of this upgrade type, ending with the router (absent: http_filters)" },
	{ .name = NULL }
};

/* A route's upgrade_configs entry: overrides the listener, no chain. */
static const struct sy_conf_key route_upgrade_keys[] = {
	{ .name = "upgrade_type", .type = SY_CONF_STRING, .flags = SY_CONF_REQUIRED | SY_CONF_LOWER,
	  .off = offsetof(struct sy_conf_upgrade, upgrade_type),
	  .doc = "the Upgrade token, such as \"websocket\", compared case-insensitively" },
	{ .name = "enabled", .type = SY_CONF_BOOL, .def = "true",
	  .off = offsetof(struct sy_conf_upgrade, enabled),
	  .present_off = SY_CONF_OPT(struct sy_conf_upgrade, enabled_set),
	  .doc = "whether upgrades of this type are proxied on this route, whatever the listener says" },
	{ .name = "filters", .type = SY_CONF_LIST, .flags = SY_CONF_REFUSED,
	  .doc = "filters are only allowed in a listener's upgrade_configs" },
	{ .name = NULL }
};

/*
 * http2_protocol_options: the settings both ends of an HTTP/2 connection
 * share.  The listener's table adds allow_connect; a cluster's refuses it,
 * since toward an upstream the peer's SETTINGS decide (RFC 8441).
 */
#define HTTP2_SETTING_ROWS \
	{ .name = "max_concurrent_streams", .type = SY_CONF_UINT32, .def = "100", \
	  .min = 1, .max = 2147483647, \
	  .off = offsetof(struct sy_conf_http2, max_concurrent_streams), \
	  .doc = "most streams open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS)" }, \
	{ .name = "initial_stream_window_size", .type = SY_CONF_UINT32, .def = "65536", \
	  .min = 65535, .max = 2147483647, \
	  .off = offsetof(struct sy_conf_http2, initial_stream_window_size), \
	  .doc = "bytes the peer may send on a stream before we take them (SETTINGS_INITIAL_WINDOW_SIZE)" }, \
	{ .name = "initial_connection_window_size", .type = SY_CONF_UINT32, .def = "1048576", \
	  .min = 65535, .max = 2147483647, \
	  .off = offsetof(struct sy_conf_http2, initial_connection_window_size), \
	  .doc = "bytes the peer may send on the whole connection before we take them" }, \
	{ .name = "max_header_list_kb", .type = SY_CONF_UINT32, .def = "60", .min = 1, .max = 8192, \
	  .off = offsetof(struct sy_conf_http2, max_header_list_kb), \
	  .doc = "largest decoded header list, in KiB (SETTINGS_MAX_HEADER_LIST_SIZE; larger: refused)" }

static const struct sy_conf_key listener_http2_keys[] = {
	{ .name = "allow_connect", .type = SY_CONF_BOOL, .def = "false",
	  .off = offsetof(struct sy_conf_http2, allow_connect),
	  .doc = "advertise SETTINGS_ENABLE_CONNECT_PROTOCOL and accept extended CONNECT (RFC 8441)" },
	HTTP2_SETTING_ROWS,
	{ .name = NULL }
};

static const struct sy_conf_key cluster_http2_keys[] = {
	{ .name = "allow_connect", .type = SY_CONF_BOOL, .flags = SY_CONF_REFUSED,
	  .doc = "allow_connect is a listener setting: toward a cluster, extended CONNECT "
	    "is used when the upstream's SETTINGS allow it" },
	HTTP2_SETTING_ROWS,
	{ .name = NULL }
};

#undef HTTP2_SETTING_ROWS

/* routes.match.headers: one header matcher. */
static const struct sy_conf_key header_match_keys[] = {
	{ .name = "name", .type = SY_CONF_STRING, .flags = SY_CONF_REQUIRED | SY_CONF_LOWER,
	  .off = offsetof(struct sy_conf_header_match, name),
	  .doc = "request header to look at (pseudo-headers such as :method allowed)" },
	{ .name = "exact_match", .type = SY_CONF_STRING,
	  .off = offsetof(struct sy_conf_header_match, exact_match),
	  .doc = "the value must equal this string" },
	{ .name = "prefix_match", .type = SY_CONF_STRING,
	  .off = offsetof(struct sy_conf_header_match, prefix_match),
	  .doc = "the value must start with this string" },
	{ .name = "safe_regex_match", .type = SY_CONF_REGEX,
	  .off = offsetof(struct sy_conf_header_match, safe_regex),
	  .aux_off = offsetof(struct sy_conf_header_match, re),
	  .doc = "the whole value must match this POSIX extended regular expression" },
	{ .name = "present_match", .type = SY_CONF_BOOL, .def = "false",
	  .off = offsetof(struct sy_conf_header_match, present_match),
	  .doc = "true: the header must be present, whatever its value" },
	{ .name = "invert_match", .type = SY_CONF_BOOL, .def = "false",
	  .off = offsetof(struct sy_conf_header_match, invert_match),
	  .doc = "negate the result of the matcher" },
	{ .name = NULL }
};

/* routes.match: the keys live in struct sy_conf_route itself. */
static const struct sy_conf_key route_match_keys[] = {
	{ .name = "prefix", .type = SY_CONF_STRING,
	  .off = offsetof(struct sy_conf_route, prefix),
	  .doc = "the path (without query) must start with this string" },
	{ .name = "path", .type = SY_CONF_STRING,
	  .off = offsetof(struct sy_conf_route, path),
	  .doc = "the path (without query) must equal this string" },
	{ .name = "safe_regex", .type = SY_CONF_REGEX,
	  .off = offsetof(struct sy_conf_route, safe_regex),
	  .aux_off = offsetof(struct sy_conf_route, re),
	  .doc = "the whole path (without query) must match this POSIX extended regular expression" },
	{ .name = "headers", .type = SY_CONF_LIST,
	  .off = offsetof(struct sy_conf_route, headers),
	  .count_off = offsetof(struct sy_conf_route, nheaders),
	  .elem_size = sizeof(struct sy_conf_header_match),
	  .line_off = SY_CONF_OPT(struct sy_conf_header_match, line),
	  .child = header_match_keys, .check = sy_conf_check_header_match,
	  .doc = "header matchers; every one must match too" },
	{ .name = NULL }
};

static const struct sy_conf_key direct_response_keys[] = {
	{ .name = "status", .type = SY_CONF_INT, .flags = SY_CONF_REQUIRED, .min = 200, .max = 599,
	  .off = offsetof(struct sy_conf_direct_response, status),
	  .doc = "HTTP status code of the reply" },
	{ .name = "body", .type = SY_CONF_STRING,
	  .off = offsetof(struct sy_conf_direct_response, body),
	  .doc = "body of the reply (none when absent)" },
	{ .name = NULL }
};

/* route = { ... }: proxy to a cluster. */
static const struct sy_conf_key route_action_keys[] = {
	{ .name = "cluster", .type = SY_CONF_STRING, .flags = SY_CONF_REQUIRED,
	  .ref = "clusters", .ref_noun = "cluster",
	  .ref_off = SY_CONF_OPT(struct sy_conf_route_action, cluster_ref),
	  .off = offsetof(struct sy_conf_route_action, cluster),
	  .doc = "name of the cluster receiving the requests" },
	{ .name = "timeout", .type = SY_CONF_DURATION, .def = "15s",
	  .off = offsetof(struct sy_conf_route_action, timeout),
	  .doc = "deadline for the upstream's response head, or its 101, from the end of the request (0: none)" },
	{ .name = "idle_timeout", .type = SY_CONF_DURATION,
	  .off = offsetof(struct sy_conf_route_action, idle_timeout),
	  .present_off = SY_CONF_OPT(struct sy_conf_route_action, idle_timeout_set),
	  .doc = "close a request or tunnel with no activity for this long (absent: stream_idle_timeout; 0: never)" },
	{ .name = "prefix_rewrite", .type = SY_CONF_STRING,
	  .off = offsetof(struct sy_conf_route_action, prefix_rewrite),
	  .doc = "replace the part of the path the match took with this string" },
	{ .name = "host_rewrite_literal", .type = SY_CONF_STRING,
	  .off = offsetof(struct sy_conf_route_action, host_rewrite_literal),
	  .doc = "send this Host to the upstream instead of the client's" },
	{ .name = "upgrade_configs", .type = SY_CONF_LIST,
	  .off = offsetof(struct sy_conf_route_action, upgrade_configs),
	  .count_off = offsetof(struct sy_conf_route_action, nupgrade_configs),
	  .elem_size = sizeof(struct sy_conf_upgrade),
	  .line_off = SY_CONF_OPT(struct sy_conf_upgrade, line),
	  .child = route_upgrade_keys, .check = sy_conf_check_route_upgrade,
	  .doc = "per upgrade type: enable or disable it on this route, overriding the listener" },
	{ .name = NULL }
};

static const struct sy_conf_key route_keys[] = {
	{ .name = "match", .type = SY_CONF_GROUP, .flags = SY_CONF_REQUIRED,
	  .off = 0, .child = route_match_keys, .check = sy_conf_check_route_match,
	  .doc = "which requests the route takes" },
	{ .name = "direct_response", .type = SY_CONF_GROUP,
	  .off = offsetof(struct sy_conf_route, direct_response),
	  .present_off = SY_CONF_OPT(struct sy_conf_route, has_direct_response),
	  .child = direct_response_keys, .check = sy_conf_check_direct_response,
	  .doc = "answer locally with this status and body" },
	{ .name = "route", .type = SY_CONF_GROUP,
	  .off = offsetof(struct sy_conf_route, route),
	  .present_off = SY_CONF_OPT(struct sy_conf_route, has_route),
	  .child = route_action_keys, .check = sy_conf_check_route_action,
	  .doc = "proxy the request to a cluster" },
	{ .name = NULL }
};

static const struct sy_conf_key vhost_keys[] = {
	{ .name = "name", .type = SY_CONF_STRING, .flags = SY_CONF_REQUIRED,
	  .off = offsetof(struct sy_conf_vhost, name),
	  .doc = "name of the virtual host, unique in its listener" },
	{ .name = "domains", .type = SY_CONF_STRINGS, .flags = SY_CONF_REQUIRED | SY_CONF_LOWER, .min = 1,
	  .off = offsetof(struct sy_conf_vhost, domains),
	  .count_off = offsetof(struct sy_conf_vhost, ndomains),
	  .doc = "Host values served: exact, \"*.suffix\", \"prefix.*\" or \"*\"" },
	{ .name = "routes", .type = SY_CONF_LIST,
	  .off = offsetof(struct sy_conf_vhost, routes),
	  .count_off = offsetof(struct sy_conf_vhost, nroutes),
	  .elem_size = sizeof(struct sy_conf_route),
	  .line_off = SY_CONF_OPT(struct sy_conf_route, line),
	  .child = route_keys, .check = sy_conf_check_route,
	  .doc = "routes, tried in order; the first match wins" },
	{ .name = NULL }
};

/* http.route_config: the keys live in struct sy_conf_http itself. */
static const struct sy_conf_key route_config_keys[] = {
	{ .name = "virtual_hosts", .type = SY_CONF_LIST,
	  .off = offsetof(struct sy_conf_http, virtual_hosts),
	  .count_off = offsetof(struct sy_conf_http, nvirtual_hosts),
	  .elem_size = sizeof(struct sy_conf_vhost),
	  .line_off = SY_CONF_OPT(struct sy_conf_vhost, line),
	  .child = vhost_keys, .check = sy_conf_check_vhost,
	  .doc = "virtual hosts, chosen by the request's Host" },
	{ .name = NULL }
};

static const struct sy_conf_key http_keys[] = {
	{ .name = "stat_prefix", .type = SY_CONF_STRING, .flags = SY_CONF_REQUIRED, .max = 100,
	  .off = offsetof(struct sy_conf_http, stat_prefix),
	  .doc = "names the http.<stat_prefix>.* statistics" },
	{ .name = "codec_type", .type = SY_CONF_ENUM, .def = "auto", .names = codec_types,
	  .off = offsetof(struct sy_conf_http, codec_type),
	  .doc = "HTTP versions accepted from clients" },
	{ .name = "request_headers_timeout", .type = SY_CONF_DURATION, .def = "10s",
	  .off = offsetof(struct sy_conf_http, request_headers_timeout),
	  .doc = "deadline for a request's complete headers, from its first byte (0: none)" },
	{ .name = "idle_timeout", .type = SY_CONF_DURATION, .def = "1h",
	  .off = offsetof(struct sy_conf_http, idle_timeout),
	  .doc = "close a connection without requests in flight after this long (0: never)" },
	{ .name = "stream_idle_timeout", .type = SY_CONF_DURATION, .def = "5m",
	  .off = offsetof(struct sy_conf_http, stream_idle_timeout),
	  .doc = "reset a request with no activity for this long (0: never)" },
	{ .name = "max_request_headers_kb", .type = SY_CONF_INT, .def = "60", .min = 1, .max = 8192,
	  .off = offsetof(struct sy_conf_http, max_request_headers_kb),
	  .doc = "largest request line plus headers, in KiB (larger: 431)" },
	{ .name = "max_headers_count", .type = SY_CONF_INT, .def = "100", .min = 1, .max = 10000,
	  .off = offsetof(struct sy_conf_http, max_headers_count),
	  .doc = "most request headers (more: 431)" },
	{ .name = "http2_protocol_options", .type = SY_CONF_GROUP,
	  .off = offsetof(struct sy_conf_http, http2), .child = listener_http2_keys,
	  .check = sy_conf_check_http2,
	  .doc = "HTTP/2 settings of the connections clients open (codec_type http2 or auto)" },
	{ .name = "http_filters", .type = SY_CONF_LIST, .min = 1,
	  .off = offsetof(struct sy_conf_http, http_filters),
	  .count_off = offsetof(struct sy_conf_http, nhttp_filters),
	  .elem_size = sizeof(struct sy_conf_filter),
	  .line_off = SY_CONF_OPT(struct sy_conf_filter, line),
	  .child = sy_conf_filter_keys, .check = sy_conf_check_filter,
	  .doc = "filter chain of every request, ending with the router (absent: the router alone)" },
	{ .name = "upgrade_configs", .type = SY_CONF_LIST,
	  .off = offsetof(struct sy_conf_http, upgrade_configs),
	  .count_off = offsetof(struct sy_conf_http, nupgrade_configs),
	  .elem_size = sizeof(struct sy_conf_upgrade),
	  .line_off = SY_CONF_OPT(struct sy_conf_upgrade, line),
	  .child = listener_upgrade_keys, .check = sy_conf_check_listener_upgrade,
	  .doc = "upgrade types proxied by this listener, each with an optional filter chain" },
	{ .name = "preserve_upgrade_method", .type = SY_CONF_BOOL, .def = "false",
	  .off = offsetof(struct sy_conf_http, preserve_upgrade_method),
	  .doc = "carry an upgrade's method across HTTP/2 hops in x-switchyard-upgrade-method "
	    "(false: it arrives as GET)" },
	{ .name = "route_config", .type = SY_CONF_GROUP,
	  .off = 0, .child = route_config_keys,
	  .doc = "routing table of the listener" },
	{ .name = NULL }
};

/*
 * listeners.tls.certificates entry: a certificate chosen by SNI.  The
 * group's own certificate and private_key are the default entry, certs[0]
 * (SY_CONF_HEAD); the files are read by the TLS module when the
 * configuration is loaded, never here.
 */
static const struct sy_conf_key tls_cert_keys[] = {
	{ .name = "server_names", .type = SY_CONF_STRINGS, .flags = SY_CONF_REQUIRED | SY_CONF_LOWER, .min = 1,
	  .off = offsetof(struct sy_conf_tls_cert, server_names),
	  .count_off = offsetof(struct sy_conf_tls_cert, nserver_names),
	  .doc = "SNI names served with this certificate: \"a.example\" or \"*.example\"" },
	{ .name = "certificate", .type = SY_CONF_PATH, .flags = SY_CONF_REQUIRED,
	  .off = offsetof(struct sy_conf_tls_cert, certificate),
	  .doc = "PEM file: the certificate, then its chain" },
	{ .name = "private_key", .type = SY_CONF_PATH, .flags = SY_CONF_REQUIRED,
	  .off = offsetof(struct sy_conf_tls_cert, private_key),
	  .doc = "PEM file: the certificate's private key" },
	{ .name = NULL }
};

/* ALPN protocol names: "h2" and "http/1.1" (checked by the hooks). */
#define TLS_ALPN_ROW(st, what) \
	{ .name = "alpn", .type = SY_CONF_STRINGS, .min = 1, \
	  .off = offsetof(st, alpn), .count_off = offsetof(st, nalpn), \
	  .doc = "ALPN protocols offered, in order of preference: \"h2\", \"http/1.1\" (absent: from " what ")" }
#define TLS_MIN_VERSION_ROW(st) \
	{ .name = "min_version", .type = SY_CONF_ENUM, .def = "TLSv1.2", .names = tls_versions, \
	  .off = offsetof(st, min_version), \
	  .doc = "oldest TLS version accepted" }

static const struct sy_conf_key listener_tls_keys[] = {
	{ .name = "certificate", .type = SY_CONF_PATH, .flags = SY_CONF_REQUIRED | SY_CONF_HEAD,
	  .off = offsetof(struct sy_conf_tls_cert, certificate),
	  .doc = "PEM file: the default certificate, then its chain" },
	{ .name = "private_key", .type = SY_CONF_PATH, .flags = SY_CONF_REQUIRED | SY_CONF_HEAD,
	  .off = offsetof(struct sy_conf_tls_cert, private_key),
	  .doc = "PEM file: the default certificate's private key" },
	TLS_ALPN_ROW(struct sy_conf_tls, "codec_type"),
	TLS_MIN_VERSION_ROW(struct sy_conf_tls),
	{ .name = "ciphers", .type = SY_CONF_STRING,
	  .off = offsetof(struct sy_conf_tls, ciphers),
	  .doc = "OpenSSL cipher list for TLS 1.2 (absent: OpenSSL's default)" },
	{ .name = "certificates", .type = SY_CONF_LIST, .flags = SY_CONF_HEAD,
	  .off = offsetof(struct sy_conf_tls, certs),
	  .count_off = offsetof(struct sy_conf_tls, ncerts),
	  .elem_size = sizeof(struct sy_conf_tls_cert),
	  .line_off = SY_CONF_OPT(struct sy_conf_tls_cert, line),
	  .child = tls_cert_keys, .check = sy_conf_check_tls_cert,
	  .doc = "more certificates, chosen by the SNI a client sends" },
	{ .name = NULL }
};

static const struct sy_conf_key upstream_tls_keys[] = {
	{ .name = "sni", .type = SY_CONF_STRING, .flags = SY_CONF_LOWER,
	  .off = offsetof(struct sy_conf_upstream_tls, sni),
	  .doc = "server name sent and verified (absent: the endpoint's host as written)" },
	{ .name = "ca_file", .type = SY_CONF_PATH,
	  .off = offsetof(struct sy_conf_upstream_tls, ca_file),
	  .doc = "PEM file of the CAs trusted to sign the endpoints' certificates (absent: the system's)" },
	{ .name = "verify", .type = SY_CONF_BOOL, .def = "true",
	  .off = offsetof(struct sy_conf_upstream_tls, verify),
	  .doc = "verify the endpoint's certificate chain and host name" },
	TLS_ALPN_ROW(struct sy_conf_upstream_tls, "protocol"),
	{ .name = "certificate", .type = SY_CONF_PATH,
	  .off = offsetof(struct sy_conf_upstream_tls, certificate),
	  .doc = "PEM file: client certificate and chain, sent when the endpoint asks (with private_key)" },
	{ .name = "private_key", .type = SY_CONF_PATH,
	  .off = offsetof(struct sy_conf_upstream_tls, private_key),
	  .doc = "PEM file: the client certificate's private key" },
	TLS_MIN_VERSION_ROW(struct sy_conf_upstream_tls),
	{ .name = NULL }
};

#undef TLS_ALPN_ROW
#undef TLS_MIN_VERSION_ROW

static const struct sy_conf_key listener_keys[] = {
	{ .name = "name", .type = SY_CONF_STRING, .flags = SY_CONF_REQUIRED,
	  .off = offsetof(struct sy_conf_listener, name),
	  .doc = "name of the listener, unique" },
	{ .name = "address", .type = SY_CONF_ADDRESS, .flags = SY_CONF_REQUIRED,
	  .off = offsetof(struct sy_conf_listener, address),
	  .aux_off = offsetof(struct sy_conf_listener, sa),
	  .aux2_off = offsetof(struct sy_conf_listener, salen),
	  .label_off = SY_CONF_OPT(struct sy_conf_listener, addr_label),
	  .doc = "numeric address to listen on: \"127.0.0.1:8080\", \"[::1]:8080\", \"*:8080\"" },
	{ .name = "backlog", .type = SY_CONF_INT, .def = "511", .min = 1, .max = 65535,
	  .off = offsetof(struct sy_conf_listener, backlog),
	  .doc = "listen(2) backlog" },
	{ .name = "tls", .type = SY_CONF_GROUP,
	  .off = offsetof(struct sy_conf_listener, tls), .child = listener_tls_keys,
	  .present_off = SY_CONF_OPT(struct sy_conf_listener, tls.enabled), .check = sy_conf_check_tls,
	  .doc = "serve TLS on this listener (absent: cleartext)" },
	{ .name = "tls_handshake_timeout", .type = SY_CONF_DURATION, .def = "10s", .min = 1,
	  .off = offsetof(struct sy_conf_listener, tls_handshake_timeout),
	  .doc = "deadline for a client's TLS handshake to complete" },
	{ .name = "http", .type = SY_CONF_GROUP, .flags = SY_CONF_REQUIRED,
	  .off = offsetof(struct sy_conf_listener, http), .child = http_keys, .check = sy_conf_check_http,
	  .doc = "the HTTP connection manager of the listener" },
	{ .name = NULL }
};

static const struct sy_conf_key log_keys[] = {
	{ .name = "level", .type = SY_CONF_ENUM, .def = "notice", .names = log_levels,
	  .off = offsetof(struct sy_conf_log, level),
	  .doc = "least severe level written to the error log" },
	{ .name = "error_log", .type = SY_CONF_PATH, .names = log_targets,
	  .off = offsetof(struct sy_conf_log, error_log),
	  .doc = "\"syslog\", \"stderr\" or a file (absent: syslog, or stderr with -f)" },
	{ .name = "access_log", .type = SY_CONF_PATH,
	  .off = offsetof(struct sy_conf_log, access_log),
	  .doc = "file receiving one line per request (absent: none)" },
	{ .name = NULL }
};

static const struct sy_conf_key admin_keys[] = {
	{ .name = "socket", .type = SY_CONF_PATH,
	  .off = offsetof(struct sy_conf_admin, socket),
	  .doc = "Unix socket of the admin interface (absent: none)" },
	{ .name = "socket_mode", .type = SY_CONF_MODE, .def = "0600", .min = 0, .max = 0777,
	  .off = offsetof(struct sy_conf_admin, socket_mode),
	  .doc = "permissions of the admin socket, an octal string" },
	{ .name = "address", .type = SY_CONF_ADDRESS,
	  .off = offsetof(struct sy_conf_admin, address),
	  .aux_off = offsetof(struct sy_conf_admin, sa),
	  .aux2_off = offsetof(struct sy_conf_admin, salen),
	  .doc = "numeric TCP address of the admin interface (absent: none)" },
	{ .name = "allow_remote", .type = SY_CONF_BOOL, .def = "false",
	  .off = offsetof(struct sy_conf_admin, allow_remote),
	  .doc = "allow a non-loopback admin address" },
	{ .name = NULL }
};

static const struct sy_conf_key cluster_keys[] = {
	{ .name = "name", .type = SY_CONF_STRING, .flags = SY_CONF_REQUIRED, .max = 100,
	  .off = offsetof(struct sy_conf_cluster, name),
	  .doc = "name of the cluster, unique; names the cluster.<name>.* statistics" },
	{ .name = "endpoints", .type = SY_CONF_STRINGS, .flags = SY_CONF_REQUIRED, .min = 1,
	  .off = offsetof(struct sy_conf_cluster, endpoint_names),
	  .count_off = offsetof(struct sy_conf_cluster, nendpoint_names),
	  .doc = "\"host:port\" of each upstream server; names are resolved at load" },
	{ .name = "connect_timeout", .type = SY_CONF_DURATION, .def = "5s",
	  .off = offsetof(struct sy_conf_cluster, connect_timeout),
	  .doc = "deadline for connecting to an endpoint (0: the system's own)" },
	{ .name = "lb_policy", .type = SY_CONF_ENUM, .def = "round_robin", .names = lb_policies,
	  .off = offsetof(struct sy_conf_cluster, lb_policy),
	  .doc = "how an endpoint is chosen for each request" },
	{ .name = "max_connections", .type = SY_CONF_INT, .def = "1024", .min = 1, .max = 1000000,
	  .off = offsetof(struct sy_conf_cluster, max_connections),
	  .doc = "most open connections per worker to one endpoint" },
	{ .name = "max_idle_connections", .type = SY_CONF_INT, .def = "32", .min = 0, .max = 1000000,
	  .off = offsetof(struct sy_conf_cluster, max_idle_connections),
	  .doc = "most idle keep-alive connections kept per worker to one endpoint" },
	{ .name = "idle_timeout", .type = SY_CONF_DURATION, .def = "60s",
	  .off = offsetof(struct sy_conf_cluster, idle_timeout),
	  .doc = "close a pooled connection idle for this long (0: never)" },
	{ .name = "protocol", .type = SY_CONF_ENUM, .def = "http1", .names = cluster_protocols,
	  .off = offsetof(struct sy_conf_cluster, protocol),
	  .doc = "HTTP version spoken to the endpoints: http1, http2, or auto (with tls: ALPN picks)" },
	{ .name = "tls", .type = SY_CONF_GROUP,
	  .off = offsetof(struct sy_conf_cluster, tls), .child = upstream_tls_keys,
	  .present_off = SY_CONF_OPT(struct sy_conf_cluster, tls.enabled), .check = sy_conf_check_upstream_tls,
	  .doc = "speak TLS to the endpoints (absent: cleartext)" },
	{ .name = "http2_protocol_options", .type = SY_CONF_GROUP,
	  .off = offsetof(struct sy_conf_cluster, http2), .child = cluster_http2_keys,
	  .check = sy_conf_check_http2,
	  .doc = "HTTP/2 settings of the connections to the endpoints (protocol http2 or auto)" },
	{ .name = NULL }
};

static const struct sy_conf_key root_keys[] = {
	{ .name = "workers", .type = SY_CONF_INT, .flags = SY_CONF_AUTO, .def = "2", .min = 1, .max = 256,
	  .off = offsetof(struct sy_conf, workers), .aux_off = offsetof(struct sy_conf, workers_auto),
	  .doc = "worker processes, or \"auto\" for one per CPU" },
	{ .name = "worker_connections", .type = SY_CONF_INT, .def = "10000", .min = 1, .max = 1000000,
	  .off = offsetof(struct sy_conf, worker_connections),
	  .doc = "most open client connections per worker" },
	{ .name = "drain_timeout", .type = SY_CONF_DURATION, .def = "30s",
	  .off = offsetof(struct sy_conf, drain_timeout),
	  .doc = "how long a draining worker may keep connections" },
	{ .name = "pid_file", .type = SY_CONF_PATH, .flags = SY_CONF_RESTART,
	  .off = offsetof(struct sy_conf, pid_file),
	  .doc = "file receiving the master's pid when daemonized (absent: none)" },
	{ .name = "user", .type = SY_CONF_STRING, .flags = SY_CONF_RESTART,
	  .off = offsetof(struct sy_conf, user),
	  .doc = "workers switch to this user when started as root" },
	{ .name = "group", .type = SY_CONF_STRING, .flags = SY_CONF_RESTART,
	  .off = offsetof(struct sy_conf, group),
	  .doc = "workers switch to this group when started as root" },
	{ .name = "log", .type = SY_CONF_GROUP,
	  .off = offsetof(struct sy_conf, log), .child = log_keys,
	  .doc = "error and access logs" },
	{ .name = "admin", .type = SY_CONF_GROUP,
	  .off = offsetof(struct sy_conf, admin), .child = admin_keys, .check = sy_conf_check_admin,
	  .doc = "the admin interface" },
	{ .name = "listeners", .type = SY_CONF_LIST, .flags = SY_CONF_REQUIRED, .min = 1,
	  .off = offsetof(struct sy_conf, listeners),
	  .count_off = offsetof(struct sy_conf, nlisteners),
	  .elem_size = sizeof(struct sy_conf_listener),
	  .line_off = SY_CONF_OPT(struct sy_conf_listener, line),
	  .child = listener_keys, .check = sy_conf_check_listener,
	  .doc = "addresses accepting client connections" },
	{ .name = "clusters", .type = SY_CONF_LIST,
	  .off = offsetof(struct sy_conf, clusters),
	  .count_off = offsetof(struct sy_conf, nclusters),
	  .elem_size = sizeof(struct sy_conf_cluster),
	  .line_off = SY_CONF_OPT(struct sy_conf_cluster, line),
	  .child = cluster_keys, .check = sy_conf_check_cluster, .dump = sy_conf_dump_cluster,
	  .doc = "upstream services that routes proxy to" },
	{ .name = NULL }
};

const struct sy_conf_key sy_conf_root_key = {
	.name = "", .type = SY_CONF_GROUP, .off = 0, .child = root_keys,
	.check = sy_conf_check_root, .doc = "the whole file",
};
