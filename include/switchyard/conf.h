/*
 * conf.h - the configuration of one generation, parsed from a libconfig
 * file by a declarative key table (src/conf/conf_keys.c).  The same table
 * drives parsing, defaults, bounds, -t, the JSON config dump and the check
 * that every key is documented in switchyard.conf(5).  A struct sy_conf is
 * immutable once loaded: a reload builds a new one and swaps it in; all of
 * its memory lives in its arena and dies with it.
 */
#ifndef SWITCHYARD_CONF_H
#define SWITCHYARD_CONF_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "switchyard/core.h"

/* auto: HTTP/2 when the client opens with its connection preface, else HTTP/1.1. */
enum sy_codec_type { SY_CODEC_AUTO, SY_CODEC_HTTP1, SY_CODEC_HTTP2 };

struct sy_conf_direct_response {
	int status;
	char *body;		/* NULL: no body */
	size_t body_len;
};

struct sy_conf_header_match {
	int line;
	char *name;		/* lower-cased */
	char *exact_match;	/* exactly one of exact/prefix/regex/present */
	char *prefix_match;
	char *safe_regex;
	bool present_match;
	bool invert_match;
	regex_t re;		/* compiled safe_regex (POSIX ERE, anchored) */
};

/* One header operation of the header_mutation filter. */
struct sy_conf_header_value {
	int line;
	char *name;		/* lower-cased */
	char *value;
	bool append;		/* true: add another; false (default): replace */
};

/*
 * One entry of http_filters (or of an upgrade's custom filters).  Every
 * filter's settings live here flattened, prefixed by nothing: the key
 * table allows a setting only for the filter that owns it.
 */
struct sy_conf_filter {
	int line;
	char *name;			/* "router", "buffer", "header_mutation" */
	/* buffer */
	int64_t max_request_bytes;
	/* header_mutation */
	struct sy_conf_header_value *request_headers_to_add;
	unsigned nrequest_headers_to_add;
	char **request_headers_to_remove;
	unsigned nrequest_headers_to_remove;
	struct sy_conf_header_value *response_headers_to_add;
	unsigned nresponse_headers_to_add;
	char **response_headers_to_remove;
	unsigned nresponse_headers_to_remove;
};

/* upgrade_configs entry, on a listener (with optional filters) or a route. */
struct sy_conf_upgrade {
	int line;
	char *upgrade_type;		/* stored lower-cased; compare case-insensitively */
	bool enabled;			/* default true */
	bool enabled_set;		/* written explicitly */
	struct sy_conf_filter *filters;	/* listener only; NULL: default chain */
	unsigned nfilters;
	bool has_filters;		/* "filters" key present (may be empty: error) */
};

enum sy_lb_policy { SY_LB_ROUND_ROBIN, SY_LB_LEAST_REQUEST, SY_LB_RANDOM };

/* Upstream protocol of a cluster. */
enum sy_cluster_protocol { SY_PROTO_HTTP1, SY_PROTO_HTTP2, SY_PROTO_AUTO };

/* Lowest TLS version accepted ("TLSv1.2", "TLSv1.3"). */
enum sy_tls_version { SY_TLS_V12, SY_TLS_V13 };

struct sy_tls_ctx;		/* built by src/tls/ (OpenSSL SSL_CTX), opaque here */

/* One certificate chain and its key, PEM files (absolute paths). */
struct sy_conf_tls_cert {
	int line;
	char **server_names;		/* lower-cased; "*.example.com" allowed; none for the default */
	unsigned nserver_names;
	char *certificate;
	char *private_key;
};

/*
 * Listener tls = { certificate; private_key; alpn; min_version; ciphers;
 * certificates = ( { server_names; certificate; private_key; } ); }.
 * certs[0] is the default (certificate/private_key of the group), the
 * others come from certificates, in order, and are chosen by SNI.
 */
struct sy_conf_tls {
	int line;
	bool enabled;			/* the group is present */
	struct sy_conf_tls_cert *certs;
	unsigned ncerts;
	char **alpn;			/* absent: from codec_type (auto: h2, http/1.1) */
	unsigned nalpn;
	int min_version;		/* enum sy_tls_version, default TLSv1.2 */
	char *ciphers;			/* TLS 1.2 cipher list; NULL: OpenSSL's default */
	struct sy_tls_ctx *ctx;		/* set when the config is loaded (master) */
};

/* Cluster tls = { sni; ca_file; verify; alpn; certificate; private_key; min_version; } */
struct sy_conf_upstream_tls {
	int line;
	bool enabled;
	char *sni;			/* NULL: the endpoint's host as written */
	char *ca_file;			/* NULL: the system's trust store */
	bool verify;			/* default true: chain and host name (against sni) */
	char **alpn;			/* absent: from protocol (auto: h2, http/1.1) */
	unsigned nalpn;
	char *certificate;		/* client certificate, optional (with private_key) */
	char *private_key;
	int min_version;		/* enum sy_tls_version, default TLSv1.2 */
	struct sy_tls_ctx *ctx;		/* set when the config is loaded (master) */
};

/*
 * http2_protocol_options = { ... } on a listener's http block and on a
 * cluster.  Defaults apply when the group is absent.
 */
struct sy_conf_http2 {
	int line;				/* of the group; 0 when absent */
	/*
	 * Default false: advertise and accept extended CONNECT.  Listeners
	 * only: refused in a cluster's group, so always false there.
	 */
	bool allow_connect;
	uint32_t max_concurrent_streams;	/* default 100, 1..2147483647 */
	uint32_t initial_stream_window_size;	/* default 65536, 65535..2147483647 */
	uint32_t initial_connection_window_size;	/* default 1048576, 65535..2147483647 */
	uint32_t max_header_list_kb;		/* default 60, 1..8192: decoded header bytes */
};

struct sy_conf_endpoint {
	struct sockaddr_storage sa;
	unsigned salen;
	char *label;			/* "127.0.0.1:9000" */
	char *host;			/* host part as written: "app.internal", "127.0.0.1", "[::1]" */
};

struct sy_conf_cluster {
	int line;
	char *name;
	char **endpoint_names;		/* as written: "127.0.0.1:9000", "[::1]:9001", "app.internal:80" */
	unsigned nendpoint_names;
	struct sy_conf_endpoint *endpoints;	/* resolved at load: every address of a name */
	unsigned nendpoints;
	int64_t connect_timeout;	/* ms, default 5s */
	int lb_policy;			/* enum sy_lb_policy, default round_robin */
	int max_connections;		/* per worker per endpoint, default 1024 */
	int max_idle_connections;	/* kept-alive idle per worker per endpoint, default 32 */
	int64_t idle_timeout;		/* idle pooled connection lifetime, default 60s */
	int protocol;			/* enum sy_cluster_protocol, default http1; auto needs tls (ALPN) */
	struct sy_conf_upstream_tls tls;
	uint32_t stats_ssl_base;	/* set by the master: cluster.<name>.ssl.* */
	struct sy_conf_http2 http2;	/* http2_protocol_options */
	uint32_t stats_base;		/* set by the master: cluster.<name>.* */
	uint32_t stats_h2_base;		/* set by the master: cluster.<name>.http2.* */
	unsigned index;			/* position in conf->clusters */
};

/* route = { ... }: proxy to a cluster. */
struct sy_conf_route_action {
	char *cluster;
	const struct sy_conf_cluster *cluster_ref;	/* resolved at load */
	int64_t timeout;		/* ms, default 15s; 0 disables; bounds the wait for the response head (and for 101) */
	int64_t idle_timeout;		/* ms; unset: listener stream_idle_timeout */
	bool idle_timeout_set;
	char *prefix_rewrite;
	char *host_rewrite_literal;
	struct sy_conf_upgrade *upgrade_configs;
	unsigned nupgrade_configs;
};

struct sy_conf_route {
	int line;
	/* match: exactly one of prefix, path, safe_regex */
	char *prefix;
	char *path;
	char *safe_regex;
	regex_t re;
	struct sy_conf_header_match *headers;
	unsigned nheaders;
	/* action: exactly one of direct_response and route */
	bool has_direct_response;
	struct sy_conf_direct_response direct_response;
	bool has_route;
	struct sy_conf_route_action route;
};

struct sy_conf_vhost {
	int line;
	char *name;
	char **domains;		/* lower-cased: "a.b", "*.b", "a.*", "*" */
	unsigned ndomains;
	struct sy_conf_route *routes;
	unsigned nroutes;
};

struct sy_conf_http {
	char *stat_prefix;
	int codec_type;			/* enum sy_codec_type */
	int64_t request_headers_timeout;	/* ms, 0 = none */
	int64_t idle_timeout;		/* ms, connection idle */
	int64_t stream_idle_timeout;	/* ms */
	int max_request_headers_kb;
	int max_headers_count;
	struct sy_conf_vhost *virtual_hosts;
	unsigned nvirtual_hosts;
	struct sy_conf_filter *http_filters;	/* absent: one "router" */
	unsigned nhttp_filters;
	struct sy_conf_upgrade *upgrade_configs;
	unsigned nupgrade_configs;
	struct sy_conf_http2 http2;	/* http2_protocol_options */
	/*
	 * Carry an upgrade's method across an HTTP/2 hop in a private header
	 * (and restore it from one), instead of the documented flaw that
	 * turns every upgrade into GET.  Default false.
	 */
	bool preserve_upgrade_method;
	uint32_t stats_base;		/* set by the master: first http.<prefix>.* index */
	uint32_t stats_h2_base;		/* set by the master: first http.<prefix>.http2.* index */
};

struct sy_conf_listener {
	int line;
	char *name;
	char *address;		/* as written */
	struct sockaddr_storage sa;
	unsigned salen;
	char *addr_label;	/* normalised "127.0.0.1:8080", used in stat names */
	int backlog;
	struct sy_conf_http http;
	struct sy_conf_tls tls;
	int64_t tls_handshake_timeout;	/* ms, default 10s */
	uint32_t stats_base;	/* set by the master: first listener.<addr>.* index */
	uint32_t stats_ssl_base;	/* set by the master: listener.<addr>.ssl.* */
};

struct sy_conf_log {
	int level;		/* enum sy_log_level */
	char *error_log;	/* NULL: syslog (daemon) or stderr (-f) */
	char *access_log;	/* NULL: off */
};

struct sy_conf_admin {
	char *socket;		/* NULL: no Unix socket */
	int socket_mode;
	char *address;		/* NULL: no TCP */
	struct sockaddr_storage sa;
	unsigned salen;
	bool allow_remote;
};

struct sy_conf_regex;		/* compiled regexes, private to src/conf */

struct sy_conf {
	struct sy_arena arena;
	char *path;		/* as given to sy_conf_load */
	char *dir;		/* absolute directory of path: relative paths resolve here */
	int workers;		/* resolved: "auto" -> CPUs */
	bool workers_auto;
	int worker_connections;
	int64_t drain_timeout;	/* ms */
	char *pid_file;
	char *user;
	char *group;
	struct sy_conf_log log;
	struct sy_conf_admin admin;
	struct sy_conf_listener *listeners;
	unsigned nlisteners;
	struct sy_conf_cluster *clusters;
	unsigned nclusters;
	struct sy_conf_regex *regexes;	/* every regex_t compiled, for sy_conf_free */
};

/* One error: "file:line: reason". */
struct sy_conf_error {
	char *file;
	int line;
	char *msg;
};

struct sy_conf_errors {
	struct sy_conf_error *v;
	unsigned n, cap;
	struct sy_arena arena;
};

void sy_conf_errors_init(struct sy_conf_errors *e);
void sy_conf_errors_fini(struct sy_conf_errors *e);
/*
 * Append one error (the master uses it for what only it can find, such as
 * a listener that cannot bind); line 0 prints as "file: reason".  0, or -1
 * on ENOMEM.
 */
int sy_conf_errors_add(struct sy_conf_errors *e, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Print every error as "file:line: reason\n" to the stream (or log). */
void sy_conf_errors_print(const struct sy_conf_errors *e, void *stdio_file);
void sy_conf_errors_log(const struct sy_conf_errors *e, int level);

/*
 * Load and validate a file.  Returns a new config, or NULL with every
 * error found appended to errs (parsing continues past the first one).
 * Relative paths in the file (pid_file, logs, admin.socket) are made
 * absolute against the file's directory, and @include is looked up there,
 * so pass an absolute path if the process will chdir before a reload.
 */
struct sy_conf *sy_conf_load(const char *path, struct sy_conf_errors *errs);
/* Same, from a string (tests); name is used as the file name in errors. */
struct sy_conf *sy_conf_load_string(const char *text, const char *name, struct sy_conf_errors *errs);
void sy_conf_free(struct sy_conf *c);

/*
 * Hooks of the layers above conf (src/tls/ builds its contexts): loaded
 * runs at the end of every successful sy_conf_load*, and may refuse the
 * configuration by appending errors and returning -1 (the config is then
 * freed and the load fails); freeing runs at the start of sy_conf_free.
 * Set once, before the first load, by the program's main.
 */
struct sy_conf_hooks {
	int (*loaded)(struct sy_conf *c, struct sy_conf_errors *errs);
	void (*freeing)(struct sy_conf *c);
};
void sy_conf_set_hooks(const struct sy_conf_hooks *hooks);

/* Effective configuration as JSON (admin /config_dump, -T). 0 or -1. */
int sy_conf_dump_json(const struct sy_conf *c, struct sy_buf *out);

/*
 * Every key path in the table, one per line, as
 * "path<TAB>type<TAB>default<TAB>reload|restart<TAB>doc"
 * ("listeners.http.idle_timeout\tduration\t1h\treload\t...").
 */
void sy_conf_print_keys(void *stdio_file);

/*
 * Reload: call fn(path, arg) for each restart-only key (pid_file, user,
 * group...) whose value differs between old and new; a reload keeps the
 * old behaviour for those.  Returns how many differ.
 */
unsigned sy_conf_diff_restart(const struct sy_conf *old, const struct sy_conf *new,
    void (*fn)(const char *path, void *arg), void *arg);

#endif
