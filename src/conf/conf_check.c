/*
 * conf_check.c - the rules that span several keys, run as check hooks of
 * the key table once a group's own keys are parsed: duplicate names and
 * addresses, "exactly one of" among a route's matchers and actions,
 * domain, header-name and upgrade-token syntax, the admin address, the
 * shape of filter chains, TLS server names and ALPN against the HTTP
 * versions configured, and the resolution of cluster endpoints (the
 * one hook that does I/O: getaddrinfo, at every load, in the master).
 * Certificate and key files are not opened here: the TLS module loads
 * them through the loaded hook (conf.c) and reports their errors.
 * Single values (types, bounds, enums) are the table's business, not this
 * file's.  A hook sees NULL wherever a key failed to parse (already
 * reported) and must stay quiet about it rather than report twice.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"
#include "switchyard/http.h"

/* The element i of the list being checked, given its element type. */
#define CONF_CHECK_PREV(p, type, i) (&((const type *)(p)->elem_first)[i])

static bool
conf_check_has(const config_setting_t *s, const char *name)
{
	return s != NULL && config_setting_get_member(s, name) != NULL;
}

void
sy_conf_check_root(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	const struct sy_conf *c = obj;

	/* Existence only: the master resolves them again when it drops privileges. */
	if (c->user != NULL && getpwnam(c->user) == NULL)
		sy_conf_parse_error(p, sy_conf_member_or_self(s, "user"), "user: unknown user \"%s\"", c->user);
	if (c->group != NULL && getgrnam(c->group) == NULL)
		sy_conf_parse_error(p, sy_conf_member_or_self(s, "group"), "group: unknown group \"%s\"", c->group);
}

void
sy_conf_check_admin(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	const struct sy_conf_admin *a = obj;
	struct sockaddr_un sun;

	if (a->socket != NULL && strlen(a->socket) >= sizeof(sun.sun_path))
		sy_conf_parse_error(p, sy_conf_member_or_self(s, "socket"),
		    "admin.socket: path \"%s\" is longer than %zu bytes", a->socket, sizeof(sun.sun_path) - 1);
	if (a->address != NULL && !a->allow_remote && !sy_addr_is_loopback((const struct sockaddr *)&a->sa))
		sy_conf_parse_error(p, sy_conf_member_or_self(s, "address"),
		    "admin.address: %s is not a loopback address (set allow_remote = true to allow it)",
		    a->address);
}

/* ---- TLS ------------------------------------------------------------------ */

/*
 * A host name as DNS writes it, lower-cased by the table: dot-separated
 * labels of 1 to 63 letters, digits and hyphens, not starting or ending
 * with a hyphen; 253 characters at most.  With
 * wildcard, a leading "*." is allowed (one label, as certificates do).
 * NULL, or why name is refused.
 */
static const char *
conf_check_dns_name(const char *name, bool wildcard)
{
	const char *label, *c;
	size_t len;

	if (wildcard && strncmp(name, "*.", 2) == 0)
		name += 2;
	if (strlen(name) > 253)
		return "longer than 253 characters";
	for (label = name;; label = c + 1) {
		for (c = label; *c != '\0' && *c != '.'; c++) {
			if (*c == '*')
				return wildcard ? "a wildcard is only a leading \"*.\"" : "a wildcard is not a host name";
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
				return "a host name has only letters, digits, hyphens and dots";
		}
		len = (size_t)(c - label);
		if (len == 0)
			return "a label is empty";
		if (len > 63)
			return "a label is longer than 63 characters";
		if (label[0] == '-' || c[-1] == '-')
			return "a label starts or ends with a hyphen";
		if (*c == '\0')
			return NULL;
	}
}

/*
 * alpn: "h2" and "http/1.1" (ALPN names are case-sensitive), each once.
 * Reported at the alpn setting of group s.
 */
static void
conf_check_alpn(struct sy_conf_parse *p, const config_setting_t *s, char *const *alpn, unsigned n)
{
	const config_setting_t *as = sy_conf_member_or_self(s, "alpn");
	unsigned i, j;

	for (i = 0; i < n; i++) {
		if (strcmp(alpn[i], "h2") != 0 && strcmp(alpn[i], "http/1.1") != 0) {
			sy_conf_parse_error(p, as, "invalid alpn \"%s\" (expected \"h2\" or \"http/1.1\")", alpn[i]);
			continue;
		}
		for (j = 0; j < i; j++)
			if (strcmp(alpn[i], alpn[j]) == 0) {
				sy_conf_parse_error(p, as, "duplicate alpn \"%s\"", alpn[i]);
				break;
			}
	}
}

static bool
conf_check_alpn_has(char *const *alpn, unsigned n, const char *proto)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (strcmp(alpn[i], proto) == 0)
			return true;
	return false;
}

/*
 * ALPN against the HTTP version configured: refuse a protocol the other
 * key rules out, or fill in the default when alpn is absent (h2 and
 * http/1.1 for auto, else the one version).  what is "codec_type" or
 * "protocol"; h1 and h2 say whether each version is allowed.
 */
static void
conf_check_alpn_versions(struct sy_conf_parse *p, const config_setting_t *ts, char ***alpn, unsigned *n,
    const char *what, bool h1, bool h2)
{
	const config_setting_t *as = sy_conf_member_or_self(ts, "alpn");
	char **v;
	unsigned k = 0;

	if (ts != NULL && config_setting_get_member(ts, "alpn") != NULL) {
		if (!h2 && conf_check_alpn_has(*alpn, *n, "h2"))
			sy_conf_parse_error(p, as, "alpn \"h2\" needs %s \"auto\" or \"http2\"", what);
		if (!h1 && conf_check_alpn_has(*alpn, *n, "http/1.1"))
			sy_conf_parse_error(p, as, "alpn \"http/1.1\" needs %s \"auto\" or \"http1\"", what);
		return;
	}
	/* Preference order: a peer offering both gets HTTP/2. */
	if ((v = sy_arena_calloc(p->arena, 2 * sizeof(*v))) == NULL ||
	    (h2 && (v[k++] = sy_arena_strdup(p->arena, "h2")) == NULL) ||
	    (h1 && (v[k++] = sy_arena_strdup(p->arena, "http/1.1")) == NULL)) {
		sy_conf_parse_error(p, ts, "out of memory");
		return;
	}
	*alpn = v;
	*n = k;
}

/*
 * A listener's tls group: its line (the walker gave it to certs[0], the
 * default certificate, too), ALPN names, and a cipher list, when given,
 * not empty.  ALPN against codec_type is the listener's check (it sees
 * both).
 */
void
sy_conf_check_tls(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	struct sy_conf_tls *t = obj;

	t->line = sy_conf_setting_line(s);
	conf_check_alpn(p, s, t->alpn, t->nalpn);
	if (t->ciphers != NULL && t->ciphers[0] == '\0')
		sy_conf_parse_error(p, sy_conf_member_or_self(s, "ciphers"), "listeners.tls.ciphers: must not be empty");
}

/*
 * One certificates entry (index >= 1: certs[0] is the default): valid
 * server names, each served by one entry only, so that SNI is never
 * ambiguous.
 */
void
sy_conf_check_tls_cert(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	const struct sy_conf_tls_cert *tc = obj, *o;
	const config_setting_t *ns = sy_conf_member_or_self(s, "server_names");
	const char *why;
	unsigned i, j, k;

	for (j = 0; j < tc->nserver_names; j++) {
		if ((why = conf_check_dns_name(tc->server_names[j], true)) != NULL) {
			sy_conf_parse_error(p, ns, "invalid server name \"%s\": %s", tc->server_names[j], why);
			continue;
		}
		for (k = 0; k < j; k++)
			if (strcmp(tc->server_names[j], tc->server_names[k]) == 0)
				break;
		if (k < j) {
			sy_conf_parse_error(p, ns, "duplicate server name \"%s\"", tc->server_names[j]);
			continue;
		}
		for (i = 1, k = 0; i < p->elem_index; i++) {
			o = CONF_CHECK_PREV(p, struct sy_conf_tls_cert, i);
			for (k = 0; k < o->nserver_names; k++)
				if (strcmp(tc->server_names[j], o->server_names[k]) == 0)
					break;
			if (k < o->nserver_names) {
				sy_conf_parse_error(p, ns, "server name \"%s\" is already served by the "
				    "certificates entry at line %d", tc->server_names[j], o->line);
				break;
			}
		}
	}
}

/*
 * A cluster's tls group: sni is a host name, a client certificate comes
 * with its key.  ALPN against protocol is the cluster's check.
 */
void
sy_conf_check_upstream_tls(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	struct sy_conf_upstream_tls *t = obj;
	const char *why;

	t->line = sy_conf_setting_line(s);
	if (t->sni != NULL && t->sni[0] == '\0')
		sy_conf_parse_error(p, sy_conf_member_or_self(s, "sni"), "clusters.tls.sni: must not be empty");
	else if (t->sni != NULL && (why = conf_check_dns_name(t->sni, false)) != NULL)
		sy_conf_parse_error(p, sy_conf_member_or_self(s, "sni"), "invalid sni \"%s\": %s", t->sni, why);
	conf_check_alpn(p, s, t->alpn, t->nalpn);
	if (conf_check_has(s, "certificate") && !conf_check_has(s, "private_key"))
		sy_conf_parse_error(p, sy_conf_member_or_self(s, "certificate"), "certificate needs private_key");
	else if (conf_check_has(s, "private_key") && !conf_check_has(s, "certificate"))
		sy_conf_parse_error(p, sy_conf_member_or_self(s, "private_key"), "private_key needs certificate");
}

/* ---- listeners ------------------------------------------------------------ */

void
sy_conf_check_listener(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	struct sy_conf_listener *l = obj;
	const struct sy_conf_listener *o;
	unsigned i;

	if (l->tls.enabled)
		conf_check_alpn_versions(p, sy_conf_member_or_self(s, "tls"), &l->tls.alpn, &l->tls.nalpn,
		    "codec_type", l->http.codec_type != SY_CODEC_HTTP2, l->http.codec_type != SY_CODEC_HTTP1);

	for (i = 0; i < p->elem_index; i++) {
		o = CONF_CHECK_PREV(p, struct sy_conf_listener, i);
		if (l->name != NULL && o->name != NULL && strcmp(l->name, o->name) == 0)
			sy_conf_parse_error(p, sy_conf_member_or_self(s, "name"),
			    "duplicate listener name \"%s\" (first defined at line %d)", l->name, o->line);
		if (l->address != NULL && o->address != NULL && l->salen == o->salen &&
		    memcmp(&l->sa, &o->sa, l->salen) == 0)
			sy_conf_parse_error(p, sy_conf_member_or_self(s, "address"),
			    "duplicate listener address %s (listener \"%s\" at line %d)",
			    l->addr_label, o->name != NULL ? o->name : "", o->line);
	}
}

/*
 * "*", "*suffix", "prefix*" or a plain name: one wildcard, at an end.
 * Returns NULL or why d is refused.
 */
static const char *
conf_check_domain(const char *d)
{
	size_t n = strlen(d);
	const char *star = strchr(d, '*');

	if (strpbrk(d, " \t/") != NULL)
		return "a domain is a host name, without spaces or slashes";
	/* The port is stripped from the request's host before matching. */
	if (d[0] != '[' && strchr(d, ':') != NULL)
		return "a domain has no port";
	if (star != NULL && n > 1 && (strchr(star + 1, '*') != NULL || (star != d && star != d + n - 1)))
		return "a wildcard \"*\" may only be the first or the last character";
	return NULL;
}

void
sy_conf_check_vhost(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	const struct sy_conf_vhost *vh = obj, *o;
	const config_setting_t *ds = sy_conf_member_or_self(s, "domains");
	const char *why;
	unsigned i, j, k;

	for (j = 0; j < vh->ndomains; j++) {
		if ((why = conf_check_domain(vh->domains[j])) != NULL)
			sy_conf_parse_error(p, ds, "invalid domain \"%s\": %s", vh->domains[j], why);
		for (k = 0; k < j; k++)
			if (strcmp(vh->domains[j], vh->domains[k]) == 0)
				sy_conf_parse_error(p, ds, "duplicate domain \"%s\" in virtual host \"%s\"",
				    vh->domains[j], vh->name != NULL ? vh->name : "");
	}
	for (i = 0; i < p->elem_index; i++) {
		o = CONF_CHECK_PREV(p, struct sy_conf_vhost, i);
		if (vh->name != NULL && o->name != NULL && strcmp(vh->name, o->name) == 0)
			sy_conf_parse_error(p, sy_conf_member_or_self(s, "name"),
			    "duplicate virtual host name \"%s\" (first defined at line %d)", vh->name, o->line);
		for (j = 0; j < vh->ndomains; j++)
			for (k = 0; k < o->ndomains; k++)
				if (strcmp(vh->domains[j], o->domains[k]) == 0)
					sy_conf_parse_error(p, ds, "domain \"%s\" is already served by "
					    "virtual host \"%s\" (line %d)", vh->domains[j],
					    o->name != NULL ? o->name : "", o->line);
	}
}

void
sy_conf_check_route(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	const struct sy_conf_route *r = obj;

	if (!r->has_direct_response && !r->has_route)
		sy_conf_parse_error(p, s, "route has no action");
	else if (r->has_direct_response && r->has_route)
		sy_conf_parse_error(p, s, "route has both direct_response and route");
	/* A regex match has no matched prefix to replace. */
	if (r->has_route && r->route.prefix_rewrite != NULL && r->safe_regex != NULL)
		sy_conf_parse_error(p, sy_conf_member_or_self(sy_conf_member_or_self(s, "route"), "prefix_rewrite"),
		    "prefix_rewrite needs a route matched by prefix or path, not safe_regex");
}

void
sy_conf_check_route_match(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	int n = conf_check_has(s, "prefix") + conf_check_has(s, "path") + conf_check_has(s, "safe_regex");

	(void)obj;
	if (n == 0)
		sy_conf_parse_error(p, s, "route match needs one of prefix, path or safe_regex");
	else if (n > 1)
		sy_conf_parse_error(p, s, "route match has more than one of prefix, path and safe_regex");
}

/* A non-empty run of RFC 9110 token characters. */
static bool
conf_check_token(const char *t, size_t n)
{
	return sy_http_is_token(t, n);
}

/* A header name to add or remove: a token, never a pseudo-header. */
static bool
conf_check_field_name(const char *name)
{
	return conf_check_token(name, strlen(name));
}

static bool
conf_check_header_name(const char *name)
{
	/* Pseudo-headers (":method", ":authority") may be matched too. */
	const char *q = name[0] == ':' ? name + 1 : name;

	return sy_http_is_token(q, strlen(q));
}

void
sy_conf_check_header_match(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	const struct sy_conf_header_match *h = obj;
	const char *name = h->name != NULL ? h->name : "";
	const config_setting_t *pm = config_setting_get_member(s, "present_match");
	int n;

	if (h->name != NULL && !conf_check_header_name(h->name))
		sy_conf_parse_error(p, sy_conf_member_or_self(s, "name"), "invalid header name \"%s\"", h->name);
	n = conf_check_has(s, "exact_match") + conf_check_has(s, "prefix_match") +
	    conf_check_has(s, "safe_regex_match") + (pm != NULL);
	if (n == 0)
		sy_conf_parse_error(p, s, "header matcher \"%s\" needs one of exact_match, prefix_match, "
		    "safe_regex_match or present_match", name);
	else if (n > 1)
		sy_conf_parse_error(p, s, "header matcher \"%s\" has more than one of exact_match, "
		    "prefix_match, safe_regex_match and present_match", name);
	if (pm != NULL && config_setting_type(pm) == CONFIG_TYPE_BOOL && !h->present_match)
		sy_conf_parse_error(p, pm, "present_match must be true (add invert_match = true "
		    "to match an absent header)");
}

void
sy_conf_check_direct_response(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	struct sy_conf_direct_response *d = obj;

	(void)p;
	(void)s;
	d->body_len = d->body != NULL ? strlen(d->body) : 0;
}

/* ---- filters ------------------------------------------------------------ */

static const struct sy_conf_filter_kind *
conf_check_filter_kind(const char *name)
{
	const struct sy_conf_filter_kind *fk;

	for (fk = sy_conf_filter_kinds; name != NULL && fk->name != NULL; fk++)
		if (strcmp(fk->name, name) == 0)
			return fk;
	return NULL;
}

/* Field values: visible characters, spaces and tabs, never CR, LF or NUL. */
static bool
conf_check_field_value(const char *v)
{
	const unsigned char *c;

	for (c = (const unsigned char *)v; *c != '\0'; c++)
		if ((*c < 0x20 && *c != '\t') || *c == 0x7f)
			return false;
	return true;
}

void
sy_conf_check_header_value(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	const struct sy_conf_header_value *h = obj;

	if (h->name != NULL && !conf_check_field_name(h->name))
		sy_conf_parse_error(p, sy_conf_member_or_self(s, "name"), "invalid header name \"%s\"", h->name);
	if (!conf_check_has(s, "value"))
		sy_conf_parse_error(p, s, "header \"%s\" has no value", h->name != NULL ? h->name : "");
	else if (h->value != NULL && !conf_check_field_value(h->value))
		sy_conf_parse_error(p, sy_conf_member_or_self(s, "value"),
		    "invalid value for header \"%s\": control characters are not allowed",
		    h->name != NULL ? h->name : "");
}

static void
conf_check_remove_names(struct sy_conf_parse *p, const config_setting_t *s, const char *key,
    char *const *names, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (!conf_check_field_name(names[i]))
			sy_conf_parse_error(p, sy_conf_member_or_self(s, key), "invalid header name \"%s\"", names[i]);
}

/*
 * One filter of a chain: a known name, and only the settings of that
 * filter (the rows of sy_conf_filter_keys whose variant is its name).
 */
void
sy_conf_check_filter(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	const struct sy_conf_filter *f = obj;
	const struct sy_conf_filter_kind *fk;
	const struct sy_conf_key *k;
	char names[256];
	size_t len = 0;

	if (f->name == NULL)
		return;
	if ((fk = conf_check_filter_kind(f->name)) == NULL) {
		names[0] = '\0';
		for (fk = sy_conf_filter_kinds; fk->name != NULL && len < sizeof(names); fk++)
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
			    fk == sy_conf_filter_kinds ? "" : (fk[1].name == NULL ? " or " : ", "), fk->name);
		sy_conf_parse_error(p, sy_conf_member_or_self(s, "name"),
		    "unknown filter \"%s\" (expected %s)", f->name, names);
		return;
	}
	for (k = sy_conf_filter_keys; k->name != NULL; k++) {
		if (k->variant == NULL)
			continue;
		if (strcmp(k->variant, f->name) != 0) {
			if (conf_check_has(s, k->name))
				sy_conf_parse_error(p, sy_conf_member_or_self(s, k->name),
				    "%s is not a setting of filter \"%s\"", k->name, f->name);
		} else if ((k->flags & SY_CONF_REQUIRED) && !conf_check_has(s, k->name)) {
			sy_conf_parse_error(p, s, "filter \"%s\" needs %s", f->name, k->name);
		}
	}
	conf_check_remove_names(p, s, "request_headers_to_remove", f->request_headers_to_remove,
	    f->nrequest_headers_to_remove);
	conf_check_remove_names(p, s, "response_headers_to_remove", f->response_headers_to_remove,
	    f->nresponse_headers_to_remove);
}

/* Element i of list setting ls, or ls when the list does not line up. */
static const config_setting_t *
conf_check_elem(const config_setting_t *ls, unsigned i, unsigned n)
{
	const config_setting_t *e;

	if (ls == NULL || (unsigned)config_setting_length(ls) != n || (e = config_setting_get_elem(ls, i)) == NULL)
		return ls;
	return e;
}

/*
 * A whole chain (ls is its list setting): exactly one router, last; in
 * an upgrade's chain, no filter that only understands HTTP messages.
 */
static void
conf_check_chain(struct sy_conf_parse *p, const config_setting_t *ls, const struct sy_conf_filter *f,
    unsigned n, const char *what, bool upgrade)
{
	const struct sy_conf_filter_kind *fk;
	bool terminal = false, unknown = false;
	unsigned i;

	if (n == 0)
		return;		/* "must not be empty" already */
	for (i = 0; i < n; i++) {
		if ((fk = conf_check_filter_kind(f[i].name)) == NULL) {
			unknown = true;
			continue;
		}
		if (upgrade && fk->http_only)
			sy_conf_parse_error(p, conf_check_elem(ls, i, n),
			    "filter \"%s\" cannot handle upgrade payload", fk->name);
		if (fk->terminal) {
			terminal = true;
			if (i + 1 < n)
				sy_conf_parse_error(p, conf_check_elem(ls, i, n),
				    "the %s filter must be last", fk->name);
		}
	}
	if (!terminal && !unknown)
		sy_conf_parse_error(p, ls, "%s has no router", what);
}

void
sy_conf_check_http(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	struct sy_conf_http *h = obj;
	struct sy_conf_filter *f;

	if (conf_check_has(s, "http_filters")) {
		conf_check_chain(p, config_setting_get_member(s, "http_filters"), h->http_filters,
		    h->nhttp_filters, "http_filters", false);
		return;
	}
	/* Absent: the router alone, so that a chain always exists. */
	f = sy_arena_calloc(p->arena, sizeof(*f));
	if (f == NULL || (f->name = sy_arena_strdup(p->arena, "router")) == NULL) {
		sy_conf_parse_error(p, s, "out of memory");
		return;
	}
	f->line = sy_conf_setting_line(s);
	h->http_filters = f;
	h->nhttp_filters = 1;
}

/*
 * http2_protocol_options, of a listener or a cluster: the table bounds
 * every setting; only the group's line is recorded here, for the
 * messages of the codec that applies them.
 */
void
sy_conf_check_http2(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	struct sy_conf_http2 *h2 = obj;

	(void)p;
	h2->line = sy_conf_setting_line(s);
}

/* ---- upgrades ------------------------------------------------------------- */

/* An Upgrade protocol: a token, optionally "/" and a version token. */
static bool
conf_check_upgrade_token(const char *t)
{
	const char *slash = strchr(t, '/');

	if (slash == NULL)
		return conf_check_token(t, strlen(t));
	return conf_check_token(t, (size_t)(slash - t)) && conf_check_token(slash + 1, strlen(slash + 1));
}

/* What a listener's and a route's entries share: the type, unique. */
static void
conf_check_upgrade(struct sy_conf_parse *p, const struct sy_conf_upgrade *u, const config_setting_t *s)
{
	const config_setting_t *ts = sy_conf_member_or_self(s, "upgrade_type");
	const struct sy_conf_upgrade *o;
	unsigned i;

	if (u->upgrade_type == NULL)
		return;
	if (!conf_check_upgrade_token(u->upgrade_type)) {
		sy_conf_parse_error(p, ts, "invalid upgrade_type \"%s\": not an HTTP token", u->upgrade_type);
		return;
	}
	/* HTTP/2 is negotiated per hop, never forwarded (stored lower-cased). */
	if (strcmp(u->upgrade_type, "h2c") == 0)
		sy_conf_parse_error(p, ts, "upgrade type \"h2c\" is never proxied");
	for (i = 0; i < p->elem_index; i++) {
		o = CONF_CHECK_PREV(p, struct sy_conf_upgrade, i);
		if (o->upgrade_type != NULL && strcmp(o->upgrade_type, u->upgrade_type) == 0) {
			sy_conf_parse_error(p, ts, "duplicate upgrade_type \"%s\" (first defined at line %d)",
			    u->upgrade_type, o->line);
			break;
		}
	}
}

void
sy_conf_check_listener_upgrade(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	const struct sy_conf_upgrade *u = obj;

	conf_check_upgrade(p, u, s);
	if (u->has_filters)
		conf_check_chain(p, config_setting_get_member(s, "filters"), u->filters, u->nfilters,
		    "filters", true);
}

void
sy_conf_check_route_upgrade(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	/* filters here are refused by the table (SY_CONF_REFUSED). */
	conf_check_upgrade(p, obj, s);
}

/* ---- route action --------------------------------------------------------- */

void
sy_conf_check_route_action(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	const struct sy_conf_route_action *a = obj;
	const unsigned char *c;

	if (a->prefix_rewrite != NULL) {
		for (c = (const unsigned char *)a->prefix_rewrite; *c != '\0'; c++)
			if (*c <= 0x20 || *c == 0x7f || *c == '?' || *c == '#')
				break;
		if (*c != '\0')
			sy_conf_parse_error(p, sy_conf_member_or_self(s, "prefix_rewrite"),
			    "invalid prefix_rewrite \"%s\": a path has no spaces, control characters, "
			    "\"?\" or \"#\"", a->prefix_rewrite);
	}
	if (a->host_rewrite_literal != NULL) {
		for (c = (const unsigned char *)a->host_rewrite_literal; *c != '\0'; c++)
			if (*c <= 0x20 || *c == 0x7f || *c == '/' || *c == '?' || *c == '#' || *c == '@')
				break;
		if (a->host_rewrite_literal[0] == '\0' || *c != '\0')
			sy_conf_parse_error(p, sy_conf_member_or_self(s, "host_rewrite_literal"),
			    "invalid host_rewrite_literal \"%s\": expected a host, optionally with a port",
			    a->host_rewrite_literal);
	}
}

/* ---- clusters ------------------------------------------------------------- */

#define CONF_CHECK_EP_USAGE "expected host:port, such as 127.0.0.1:9000, [::1]:9001 or app.internal:80"

/*
 * Split an endpoint into host as written (brackets kept), the name to
 * resolve, and the port.  NULL, or why ep is refused.
 */
static const char *
conf_check_endpoint_split(const char *ep, char *host, char *name, char *port, size_t len, bool *v6)
{
	const char *colon, *hs, *he, *q;
	size_t n;

	*v6 = ep[0] == '[';
	if (*v6) {
		hs = ep + 1;
		if ((he = strchr(hs, ']')) == NULL || he[1] != ':')
			return CONF_CHECK_EP_USAGE;
		colon = he + 1;
	} else {
		if ((colon = strrchr(ep, ':')) == NULL)
			return CONF_CHECK_EP_USAGE;
		hs = ep;
		he = colon;
		if (memchr(hs, ':', (size_t)(he - hs)) != NULL)
			return "an IPv6 address needs brackets, as in [::1]:9001";
	}
	if (he == hs)
		return CONF_CHECK_EP_USAGE;
	if ((size_t)(he - hs) >= len - 2)
		return "the host is too long";
	n = strlen(colon + 1);
	for (q = colon + 1; *q >= '0' && *q <= '9'; q++)
		;
	if (n == 0 || n > 5 || *q != '\0' || atoi(colon + 1) < 1 || atoi(colon + 1) > 65535)
		return "the port must be a number from 1 to 65535";
	memcpy(name, hs, (size_t)(he - hs));
	name[he - hs] = '\0';
	memcpy(host, ep, (size_t)(colon - ep));
	host[colon - ep] = '\0';
	snprintf(port, 6, "%d", atoi(colon + 1));
	if (strcmp(name, "*") == 0)
		return "a wildcard is not an upstream address";
	return NULL;
}

static bool
conf_check_unspecified(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return false;
}

/* Already an endpoint of the list?  Two names may give one address. */
static bool
conf_check_endpoint_seen(const struct sy_conf_endpoint *v, unsigned n, const struct addrinfo *ai)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (v[i].salen == ai->ai_addrlen && memcmp(&v[i].sa, ai->ai_addr, ai->ai_addrlen) == 0)
			return true;
	return false;
}

/*
 * Resolve one endpoint and append every new address to *v (malloc'd,
 * grown as needed).  Errors are reported at es.
 */
static void
conf_check_endpoint_resolve(struct sy_conf_parse *p, const config_setting_t *es, const char *ep,
    struct sy_conf_endpoint **v, unsigned *n, unsigned *cap)
{
	char host[256], name[256], port[8], label[128];
	struct addrinfo hints, *res = NULL, *ai;
	struct sy_conf_endpoint *e;
	const char *why, *ghost;
	bool v6;
	int rc;

	if ((why = conf_check_endpoint_split(ep, host, name, port, sizeof(host), &v6)) != NULL) {
		sy_conf_parse_error(p, es, "invalid endpoint \"%s\": %s", ep, why);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = v6 ? AF_INET6 : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (v6 ? AI_NUMERICHOST : 0);
	if ((rc = getaddrinfo(name, port, &hints, &res)) != 0) {
		if (v6)
			sy_conf_parse_error(p, es, "invalid endpoint \"%s\": not an IPv6 address between the brackets", ep);
		else if (rc == EAI_SYSTEM)
			sy_conf_parse_error(p, es, "cannot resolve \"%s\": %s", name, strerror(errno));
		else
			sy_conf_parse_error(p, es, "cannot resolve \"%s\": %s", name, gai_strerror(rc));
		return;
	}
	ghost = sy_arena_strdup(p->arena, host);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(struct sockaddr_storage) || conf_check_endpoint_seen(*v, *n, ai))
			continue;
		sy_addr_format(ai->ai_addr, label, sizeof(label));
		if (conf_check_unspecified(ai->ai_addr)) {
			sy_conf_parse_error(p, es, "invalid endpoint \"%s\": %s is not a destination", ep, label);
			continue;
		}
		if (*n == *cap) {
			unsigned ncap = *cap ? *cap * 2 : 8;

			if ((e = realloc(*v, ncap * sizeof(*e))) == NULL)
				goto nomem;
			*v = e;
			*cap = ncap;
		}
		e = &(*v)[*n];
		memset(e, 0, sizeof(*e));
		memcpy(&e->sa, ai->ai_addr, ai->ai_addrlen);
		e->salen = (unsigned)ai->ai_addrlen;
		e->label = sy_arena_strdup(p->arena, label);
		e->host = (char *)ghost;
		if (e->label == NULL || e->host == NULL)
			goto nomem;
		(*n)++;
	}
	freeaddrinfo(res);
	return;
nomem:
	freeaddrinfo(res);
	sy_conf_parse_error(p, es, "out of memory");
}

/*
 * A cluster: unique name and endpoints; every endpoint resolved now, so
 * that a reload whose names no longer resolve fails and keeps the old
 * configuration, and workers never block on DNS.
 */
void
sy_conf_check_cluster(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	struct sy_conf_cluster *cl = obj;
	const struct sy_conf_cluster *o;
	const config_setting_t *es = s != NULL ? config_setting_get_member(s, "endpoints") : NULL;
	struct sy_conf_endpoint *v = NULL;
	unsigned i, j, n = 0, cap = 0;

	cl->index = p->elem_index;
	if (cl->tls.enabled)
		conf_check_alpn_versions(p, sy_conf_member_or_self(s, "tls"), &cl->tls.alpn, &cl->tls.nalpn,
		    "protocol", cl->protocol != SY_PROTO_HTTP2, cl->protocol != SY_PROTO_HTTP1);
	else if (cl->protocol == SY_PROTO_AUTO)
		sy_conf_parse_error(p, sy_conf_member_or_self(s, "protocol"),
		    "protocol \"auto\" needs tls (ALPN picks the protocol)");
	for (i = 0; i < p->elem_index; i++) {
		o = CONF_CHECK_PREV(p, struct sy_conf_cluster, i);
		if (cl->name != NULL && o->name != NULL && strcmp(cl->name, o->name) == 0) {
			sy_conf_parse_error(p, sy_conf_member_or_self(s, "name"),
			    "duplicate cluster name \"%s\" (first defined at line %d)", cl->name, o->line);
			break;
		}
	}
	if (es == NULL || (!config_setting_is_array(es) && !config_setting_is_list(es)))
		return;		/* reported by the table */
	for (i = 0; i < (unsigned)config_setting_length(es); i++) {
		const config_setting_t *e = config_setting_get_elem(es, i);
		const char *ep;

		if (config_setting_type(e) != CONFIG_TYPE_STRING || *(ep = config_setting_get_string(e)) == '\0')
			continue;
		for (j = 0; j < i; j++) {
			const config_setting_t *pe = config_setting_get_elem(es, j);

			if (config_setting_type(pe) == CONFIG_TYPE_STRING &&
			    strcmp(config_setting_get_string(pe), ep) == 0)
				break;
		}
		if (j < i) {
			sy_conf_parse_error(p, e, "duplicate endpoint \"%s\" in cluster \"%s\"", ep,
			    cl->name != NULL ? cl->name : "");
			continue;
		}
		conf_check_endpoint_resolve(p, e, ep, &v, &n, &cap);
	}
	if (n > 0) {
		cl->endpoints = sy_arena_alloc(p->arena, n * sizeof(*v));
		if (cl->endpoints == NULL)
			sy_conf_parse_error(p, s, "out of memory");
		else {
			memcpy(cl->endpoints, v, n * sizeof(*v));
			cl->nendpoints = n;
		}
	}
	free(v);
}
