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

static const struct sy_conf_key route_keys[] = {
	{ .name = "match", .type = SY_CONF_GROUP, .flags = SY_CONF_REQUIRED,
	  .off = 0, .child = route_match_keys, .check = sy_conf_check_route_match,
	  .doc = "which requests the route takes" },
	{ .name = "direct_response", .type = SY_CONF_GROUP,
	  .off = offsetof(struct sy_conf_route, direct_response),
	  .present_off = SY_CONF_OPT(struct sy_conf_route, has_direct_response),
	  .child = direct_response_keys, .check = sy_conf_check_direct_response,
	  .doc = "answer locally with this status and body" },
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
	{ .name = "route_config", .type = SY_CONF_GROUP,
	  .off = 0, .child = route_config_keys,
	  .doc = "routing table of the listener" },
	{ .name = NULL }
};

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
	{ .name = "http", .type = SY_CONF_GROUP, .flags = SY_CONF_REQUIRED,
	  .off = offsetof(struct sy_conf_listener, http), .child = http_keys,
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
	{ .name = NULL }
};

const struct sy_conf_key sy_conf_root_key = {
	.name = "", .type = SY_CONF_GROUP, .off = 0, .child = root_keys,
	.check = sy_conf_check_root, .doc = "the whole file",
};
