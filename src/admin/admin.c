/*
 * admin.c - what the admin interface answers: the endpoint table, query
 * parsing and the three stats formats (text, JSON, Prometheus text
 * exposition 0.0.4).  sy_admin_handle is a function from (method, target)
 * to a reply; it does no I/O and keeps no state, so the unit tests drive
 * every endpoint without a socket.  Sockets, clients and deadlines live in
 * admin_server.c.  Everything here runs in the master only: it reads the
 * shared-memory stats, but never writes them except for /reset_counters.
 * Output is always sorted (by name, or by metric family then label) so
 * that two reads of an idle server are byte-for-byte identical.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "switchyard/admin.h"
#include "switchyard/conf.h"
#include "switchyard/core.h"
#include "switchyard/stats.h"

#define ADMIN_FILTER_MAX 1024
#define ADMIN_FAMILY_MAX (SY_STATS_NAME_MAX + 32)

#define ADMIN_CT_TEXT "text/plain; charset=utf-8"
#define ADMIN_CT_JSON "application/json"
#define ADMIN_CT_PROMETHEUS "text/plain; version=0.0.4"

typedef int admin_endpoint_fn(const struct sy_admin_hooks *hooks, const char *target,
    struct sy_admin_reply *r);

struct admin_endpoint {
	const char *path;
	const char *method;	/* the one method; GET also allows HEAD */
	const char *allow;	/* value of Allow on a 405 */
	admin_endpoint_fn *fn;
	const char *help;
};

static admin_endpoint_fn admin_help;
static admin_endpoint_fn admin_stats;
static admin_endpoint_fn admin_stats_prometheus;
static admin_endpoint_fn admin_server_info;
static admin_endpoint_fn admin_ready;
static admin_endpoint_fn admin_config_dump;
static admin_endpoint_fn admin_reset_counters;

static const struct admin_endpoint admin_endpoints[] = {
	{ "/help", "GET", "GET, HEAD", admin_help, "this list" },
	{ "/stats", "GET", "GET, HEAD", admin_stats,
	    "every stat as \"name: value\", sorted; ?filter=<POSIX ERE>, ?format=json|prometheus" },
	{ "/stats/prometheus", "GET", "GET, HEAD", admin_stats_prometheus,
	    "every stat in Prometheus text exposition format 0.0.4; ?filter=<POSIX ERE>" },
	{ "/server_info", "GET", "GET, HEAD", admin_server_info,
	    "version, pid, uptime, generation and worker pids as JSON" },
	{ "/ready", "GET", "GET, HEAD", admin_ready, "200 LIVE while serving, 503 DRAINING while draining" },
	{ "/config_dump", "GET", "GET, HEAD", admin_config_dump, "the effective configuration as JSON" },
	{ "/reset_counters", "POST", "POST", admin_reset_counters, "make every counter read 0" },
};

/* ---- small helpers ------------------------------------------------------ */

static int
admin_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode application/x-www-form-urlencoded [s, s+n) into out (NUL
 * terminated).  Returns the decoded length, or -1: EINVAL for a bad or
 * NUL escape, ENAMETOOLONG when out is too small.
 */
static ssize_t
admin_form_decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '+')
			c = ' ';
		else if (c == '%') {
			int hi, lo;

			if (i + 2 >= n) {
				errno = EINVAL;
				return -1;
			}
			hi = admin_hexval((unsigned char)s[i + 1]);
			lo = admin_hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				errno = EINVAL;
				return -1;
			}
			c = hi * 16 + lo;
			i += 2;
		}
		if (o + 1 >= outlen) {
			errno = ENAMETOOLONG;
			return -1;
		}
		out[o++] = (char)c;
	}
	if (outlen == 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out[o] = '\0';
	return (ssize_t)o;
}

int
sy_admin_query_param(const char *target, const char *key, char *out, size_t outlen)
{
	size_t plen = strcspn(target, "?#"), qlen;
	const char *q;
	char kbuf[64];

	if (target[plen] != '?')
		return 0;
	q = target + plen + 1;
	qlen = strcspn(q, "#");
	while (qlen > 0) {
		const char *amp = memchr(q, '&', qlen);
		size_t len = amp != NULL ? (size_t)(amp - q) : qlen;
		const char *eq = memchr(q, '=', len);
		size_t klen = eq != NULL ? (size_t)(eq - q) : len;
		ssize_t dk;

		dk = admin_form_decode(q, klen, kbuf, sizeof(kbuf));
		if (dk < 0 && errno == EINVAL)
			return -1;
		/* A key too long for kbuf cannot be the one asked for. */
		if (dk >= 0 && strcmp(kbuf, key) == 0) {
			if (eq == NULL) {
				if (outlen == 0) {
					errno = ENAMETOOLONG;
					return -1;
				}
				out[0] = '\0';
				return 1;
			}
			if (admin_form_decode(eq + 1, len - klen - 1, out, outlen) < 0)
				return -1;
			return 1;
		}
		if (amp == NULL)
			break;
		qlen -= len + 1;
		q = amp + 1;
	}
	return 0;
}

int
sy_admin_json_string(struct sy_buf *out, const char *s)
{
	const unsigned char *p;

	if (sy_buf_append(out, "\"", 1) == -1)
		return -1;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		int rc;

		switch (*p) {
		case '"':
			rc = sy_buf_append(out, "\\\"", 2);
			break;
		case '\\':
			rc = sy_buf_append(out, "\\\\", 2);
			break;
		case '\n':
			rc = sy_buf_append(out, "\\n", 2);
			break;
		case '\r':
			rc = sy_buf_append(out, "\\r", 2);
			break;
		case '\t':
			rc = sy_buf_append(out, "\\t", 2);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				rc = sy_buf_printf(out, "\\u%04x", *p);
			else
				rc = sy_buf_append(out, p, 1);
			break;
		}
		if (rc == -1)
			return -1;
	}
	return sy_buf_append(out, "\"", 1);
}

/* Prometheus label values escape \, " and newline; HELP escapes \ and newline. */
static int
admin_prom_escape(struct sy_buf *out, const char *s, bool quotes)
{
	for (; *s != '\0'; s++) {
		int rc;

		if (*s == '\\')
			rc = sy_buf_append(out, "\\\\", 2);
		else if (*s == '\n')
			rc = sy_buf_append(out, "\\n", 2);
		else if (*s == '"' && quotes)
			rc = sy_buf_append(out, "\\\"", 2);
		else
			rc = sy_buf_append(out, s, 1);
		if (rc == -1)
			return -1;
	}
	return 0;
}

static int
admin_text_reply(struct sy_admin_reply *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
admin_text_reply(struct sy_admin_reply *r, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	r->status = status;
	r->content_type = ADMIN_CT_TEXT;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sy_buf_append(&r->body, msg, strlen(msg));
}

/* ---- stats formats ------------------------------------------------------- */

struct admin_row {
	uint32_t idx;
	const struct sy_shm_stat_name *name;
	char family[ADMIN_FAMILY_MAX];	/* Prometheus only */
};

static int
admin_row_cmp_name(const void *a, const void *b)
{
	const struct admin_row *x = a, *y = b;

	return strcmp(x->name->name, y->name->name);
}

static int
admin_row_cmp_family(const void *a, const void *b)
{
	const struct admin_row *x = a, *y = b;
	int c = strcmp(x->family, y->family);

	return c != 0 ? c : strcmp(x->name->name, y->name->name);
}

static bool
admin_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/*
 * The family word of a scope: its first name component, except where the
 * label carries a fixed middle part (".upgrades.", ".http2", ".ssl") that
 * belongs in the family rather than in a label value.
 */
static const char *
admin_prom_scope(unsigned scope)
{
	switch (scope) {
	case SY_SCOPE_UPGRADE:
		return "http_upgrades";
	case SY_SCOPE_HTTP2:
		return "http_http2";
	case SY_SCOPE_CLUSTER_HTTP2:
		return "cluster_http2";
	case SY_SCOPE_LISTENER_SSL:
		return "listener_ssl";
	case SY_SCOPE_CLUSTER_SSL:
		return "cluster_ssl";
	default:
		return sy_stats_scope_name(scope);
	}
}

/* The fixed tail of a scope's label, already said by its family; or NULL. */
static const char *
admin_prom_label_tail(unsigned scope)
{
	switch (scope) {
	case SY_SCOPE_HTTP2:
	case SY_SCOPE_CLUSTER_HTTP2:
		return ".http2";
	case SY_SCOPE_LISTENER_SSL:
	case SY_SCOPE_CLUSTER_SSL:
		return ".ssl";
	default:
		return NULL;
	}
}

/*
 * Metric family name: switchyard_<scope>_<stat>, plus "_total" for a
 * counter that lacks it, as the exposition format's conventions (and
 * promtool) want.
 */
static void
admin_prom_family(const struct sy_shm_stat_name *n, char *out, size_t outlen)
{
	const char *stat = sy_stats_stat_name(n->scope, n->stat);
	bool total = n->type == SY_STAT_COUNTER && !admin_ends_with(stat, "_total");

	snprintf(out, outlen, "switchyard_%s_%s%s", admin_prom_scope(n->scope), stat,
	    total ? "_total" : "");
}

static const char *
admin_prom_label_name(unsigned scope)
{
	switch (scope) {
	case SY_SCOPE_LISTENER:
	case SY_SCOPE_LISTENER_SSL:
		return "address";
	case SY_SCOPE_HTTP:
	case SY_SCOPE_HTTP2:
	case SY_SCOPE_UPGRADE:
		return "stat_prefix";
	case SY_SCOPE_CLUSTER:
	case SY_SCOPE_CLUSTER_HTTP2:
	case SY_SCOPE_CLUSTER_SSL:
		return "cluster";
	default:
		return NULL;
	}
}

static int
admin_format_prometheus(struct sy_buf *out, struct admin_row *rows, size_t n)
{
	const char *prev = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		admin_prom_family(rows[i].name, rows[i].family, sizeof(rows[i].family));
	qsort(rows, n, sizeof(*rows), admin_row_cmp_family);

	for (i = 0; i < n; i++) {
		const struct sy_shm_stat_name *nm = rows[i].name;
		const char *label = admin_prom_label_name(nm->scope);

		if (prev == NULL || strcmp(prev, rows[i].family) != 0) {
			if (sy_buf_printf(out, "# HELP %s ", rows[i].family) == -1 ||
			    admin_prom_escape(out, sy_stats_help(nm->scope, nm->stat), false) == -1 ||
			    sy_buf_printf(out, "\n# TYPE %s %s\n", rows[i].family,
			    sy_stats_type_name(nm->type)) == -1)
				return -1;
			prev = rows[i].family;
		}
		if (sy_buf_append(out, rows[i].family, strlen(rows[i].family)) == -1)
			return -1;
		if (label != NULL && nm->label_len > 0) {
			const char *tail = admin_prom_label_tail(nm->scope);
			char value[SY_STATS_NAME_MAX];
			char *type = NULL;

			memcpy(value, nm->name + nm->label_off, nm->label_len);
			value[nm->label_len] = '\0';
			/* "<prefix>.upgrades.<type>" becomes two labels. */
			if (nm->scope == SY_SCOPE_UPGRADE && (type = strstr(value, ".upgrades.")) != NULL) {
				*type = '\0';
				type += strlen(".upgrades.");
			}
			/* "<prefix>.http2", "<address>.ssl": the family already says it. */
			if (tail != NULL && admin_ends_with(value, tail))
				value[nm->label_len - strlen(tail)] = '\0';
			if (sy_buf_printf(out, "{%s=\"", label) == -1 ||
			    admin_prom_escape(out, value, true) == -1 ||
			    sy_buf_append(out, "\"", 1) == -1)
				return -1;
			if (type != NULL && (sy_buf_printf(out, ",upgrade_type=\"") == -1 ||
			    admin_prom_escape(out, type, true) == -1 || sy_buf_append(out, "\"", 1) == -1))
				return -1;
			if (sy_buf_append(out, "}", 1) == -1)
				return -1;
		}
		if (sy_buf_printf(out, " %" PRId64 "\n", sy_stats_read(rows[i].idx)) == -1)
			return -1;
	}
	return 0;
}

static int
admin_format_json(struct sy_buf *out, const struct admin_row *rows, size_t n)
{
	size_t i;

	if (sy_buf_printf(out, "{\"stats\":[") == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (sy_buf_printf(out, "%s\n{\"name\":", i > 0 ? "," : "") == -1 ||
		    sy_admin_json_string(out, rows[i].name->name) == -1 ||
		    sy_buf_printf(out, ",\"value\":%" PRId64 "}", sy_stats_read(rows[i].idx)) == -1)
			return -1;
	}
	return sy_buf_printf(out, "\n]}\n");
}

static int
admin_format_text(struct sy_buf *out, const struct admin_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (sy_buf_printf(out, "%s: %" PRId64 "\n", rows[i].name->name,
		    sy_stats_read(rows[i].idx)) == -1)
			return -1;
	return 0;
}

int
sy_admin_format_stats(struct sy_buf *out, enum sy_admin_format f, const regex_t *filter)
{
	struct admin_row *rows = NULL;
	uint32_t i, count = sy_stats_count();
	size_t n = 0;
	int rc = -1;

	if (count > 0) {
		rows = calloc(count, sizeof(*rows));
		if (rows == NULL)
			goto fail;
	}
	for (i = 0; i < count; i++) {
		const struct sy_shm_stat_name *nm = sy_stats_name(i);

		if (nm == NULL)
			continue;
		if (filter != NULL && regexec(filter, nm->name, 0, NULL, 0) != 0)
			continue;
		rows[n].idx = i;
		rows[n].name = nm;
		n++;
	}
	switch (f) {
	case SY_ADMIN_PROMETHEUS:
		rc = admin_format_prometheus(out, rows, n);
		break;
	case SY_ADMIN_JSON:
		if (n > 0)
			qsort(rows, n, sizeof(*rows), admin_row_cmp_name);
		rc = admin_format_json(out, rows, n);
		break;
	case SY_ADMIN_TEXT:
	default:
		if (n > 0)
			qsort(rows, n, sizeof(*rows), admin_row_cmp_name);
		rc = admin_format_text(out, rows, n);
		break;
	}
fail:
	free(rows);
	return rc;
}

/* ---- endpoints ----------------------------------------------------------- */

/* Bodies end in a newline, for terminals; hooks may or may not add one. */
static int
admin_end_line(struct sy_buf *b)
{
	size_t n = sy_buf_len(b);

	if (n > 0 && sy_buf_rpos(b)[n - 1] == '\n')
		return 0;
	return sy_buf_append(b, "\n", 1);
}

static int
admin_help(const struct sy_admin_hooks *hooks, const char *target, struct sy_admin_reply *r)
{
	size_t i;

	r->status = 200;
	r->content_type = ADMIN_CT_TEXT;
	if (sy_buf_printf(&r->body, "switchyard admin endpoints:\n") == -1)
		return -1;
	for (i = 0; i < SY_ARRAY_LEN(admin_endpoints); i++)
		if (sy_buf_printf(&r->body, "  %-4s %-18s %s\n", admin_endpoints[i].method,
		    admin_endpoints[i].path, admin_endpoints[i].help) == -1)
			return -1;
	return 0;
}

/* Parse ?filter= and ?format= of a stats request and answer it. */
static int
admin_stats_common(const struct sy_admin_hooks *hooks, const char *target,
    struct sy_admin_reply *r, enum sy_admin_format f, bool allow_format)
{
	char filter[ADMIN_FILTER_MAX + 1], format[32], err[256];
	regex_t re;
	bool have_re = false;
	int rc;

	rc = sy_admin_query_param(target, "filter", filter, sizeof(filter));
	if (rc == -1)
		return admin_text_reply(r, 400, "invalid query parameter filter: %s\n",
		    errno == ENAMETOOLONG ? "too long" : "bad percent-encoding");
	if (rc == 1 && filter[0] != '\0') {
		int e = regcomp(&re, filter, REG_EXTENDED | REG_NOSUB);

		if (e != 0) {
			regerror(e, &re, err, sizeof(err));
			return admin_text_reply(r, 400, "invalid filter regex \"%s\": %s\n", filter, err);
		}
		have_re = true;
	}
	if (allow_format) {
		rc = sy_admin_query_param(target, "format", format, sizeof(format));
		if (rc == -1) {
			rc = admin_text_reply(r, 400, "invalid query parameter format\n");
			goto done;
		}
		if (rc == 1) {
			if (strcmp(format, "json") == 0)
				f = SY_ADMIN_JSON;
			else if (strcmp(format, "prometheus") == 0)
				f = SY_ADMIN_PROMETHEUS;
			else if (strcmp(format, "text") == 0 || format[0] == '\0')
				f = SY_ADMIN_TEXT;
			else {
				rc = admin_text_reply(r, 400,
				    "unknown format \"%s\": use text, json or prometheus\n", format);
				goto done;
			}
		}
	}
	if (hooks != NULL && hooks->refresh != NULL)
		hooks->refresh(hooks->arg);
	r->status = 200;
	r->content_type = f == SY_ADMIN_JSON ? ADMIN_CT_JSON :
	    f == SY_ADMIN_PROMETHEUS ? ADMIN_CT_PROMETHEUS : ADMIN_CT_TEXT;
	rc = sy_admin_format_stats(&r->body, f, have_re ? &re : NULL);
done:
	if (have_re)
		regfree(&re);
	return rc;
}

static int
admin_stats(const struct sy_admin_hooks *hooks, const char *target, struct sy_admin_reply *r)
{
	return admin_stats_common(hooks, target, r, SY_ADMIN_TEXT, true);
}

static int
admin_stats_prometheus(const struct sy_admin_hooks *hooks, const char *target,
    struct sy_admin_reply *r)
{
	return admin_stats_common(hooks, target, r, SY_ADMIN_PROMETHEUS, false);
}

static int
admin_server_info(const struct sy_admin_hooks *hooks, const char *target,
    struct sy_admin_reply *r)
{
	if (hooks != NULL && hooks->refresh != NULL)
		hooks->refresh(hooks->arg);
	r->status = 200;
	r->content_type = ADMIN_CT_JSON;
	if (hooks != NULL && hooks->server_info != NULL) {
		hooks->server_info(&r->body, hooks->arg);
	} else {
		/* No master behind us (tests, tools): what this process knows. */
		int64_t start = sy_stats_start_time();

		if (sy_buf_printf(&r->body, "{\"version\":\"%s\",\"pid\":%ld,\"uptime\":%" PRId64 "}",
		    PACKAGE_VERSION, (long)getpid(),
		    start > 0 ? (int64_t)time(NULL) - start : (int64_t)0) == -1)
			return -1;
	}
	return admin_end_line(&r->body);
}

static int
admin_ready(const struct sy_admin_hooks *hooks, const char *target, struct sy_admin_reply *r)
{
	bool ready = hooks == NULL || hooks->ready == NULL || hooks->ready(hooks->arg);

	return admin_text_reply(r, ready ? 200 : 503, ready ? "LIVE\n" : "DRAINING\n");
}

static int
admin_config_dump(const struct sy_admin_hooks *hooks, const char *target,
    struct sy_admin_reply *r)
{
	const struct sy_conf *conf = NULL;

	if (hooks != NULL && hooks->conf != NULL)
		conf = hooks->conf(hooks->arg);
	if (conf == NULL)
		return admin_text_reply(r, 503, "no configuration loaded\n");
	r->status = 200;
	r->content_type = ADMIN_CT_JSON;
	if (sy_conf_dump_json(conf, &r->body) == -1)
		return -1;
	return admin_end_line(&r->body);
}

static int
admin_reset_counters(const struct sy_admin_hooks *hooks, const char *target,
    struct sy_admin_reply *r)
{
	sy_stats_reset_counters();
	return admin_text_reply(r, 200, "OK\n");
}

int
sy_admin_handle(const struct sy_admin_hooks *hooks, const char *method,
    const char *target, struct sy_admin_reply *r)
{
	const struct admin_endpoint *e = NULL;
	size_t i, plen;
	int rc;

	memset(r, 0, sizeof(*r));
	plen = strcspn(target, "?#");
	for (i = 0; i < SY_ARRAY_LEN(admin_endpoints); i++) {
		if (strlen(admin_endpoints[i].path) == plen &&
		    memcmp(admin_endpoints[i].path, target, plen) == 0) {
			e = &admin_endpoints[i];
			break;
		}
	}
	if (e == NULL)
		rc = admin_text_reply(r, 404, "not found: %.*s (GET /help lists the endpoints)\n",
		    (int)SY_MIN(plen, (size_t)200), target);
	else if (strcmp(method, e->method) != 0 &&
	    !(strcmp(e->method, "GET") == 0 && strcmp(method, "HEAD") == 0)) {
		rc = admin_text_reply(r, 405, "method %s not allowed on %s: use %s\n",
		    method, e->path, e->method);
		r->allow = e->allow;
	} else
		rc = e->fn(hooks, target, r);
	if (rc == -1) {
		sy_buf_release(&r->body);
		r->status = 500;
		r->content_type = ADMIN_CT_TEXT;
		r->allow = NULL;
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
sy_admin_reply_fini(struct sy_admin_reply *r)
{
	sy_buf_release(&r->body);
}
