/*
 * conf_check.c - the rules that span several keys, run as check hooks of
 * the key table once a group's own keys are parsed: duplicate names and
 * addresses, "exactly one of" among a route's matchers, a route without
 * an action, domain and header-name syntax, the admin address.  Single
 * values (types, bounds, enums) are the table's business, not this
 * file's.  A hook sees NULL wherever a key failed to parse (already
 * reported) and must stay quiet about it rather than report twice.
 */
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/un.h>

#include "conf_int.h"

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

void
sy_conf_check_listener(struct sy_conf_parse *p, void *obj, const config_setting_t *s)
{
	const struct sy_conf_listener *l = obj, *o;
	unsigned i;

	/* The HTTP/2 codec is a later stage; never serve HTTP/1.1 in its place. */
	if (l->http.codec_type == SY_CODEC_HTTP2)
		sy_conf_parse_error(p, sy_conf_member_or_self(s, "http"),
		    "codec_type \"http2\" is not supported by this build yet");
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
	/* Proxying to a cluster will be the second kind of action. */
	(void)obj;
	if (!conf_check_has(s, "direct_response"))
		sy_conf_parse_error(p, s, "route has no action");
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

/* RFC 9110 token characters. */
static bool
conf_check_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
conf_check_header_name(const char *name)
{
	/* Pseudo-headers (":method", ":authority") may be matched too. */
	const char *q = name[0] == ':' ? name + 1 : name;

	if (*q == '\0')
		return false;
	for (; *q != '\0'; q++)
		if (!conf_check_tchar((unsigned char)*q))
			return false;
	return true;
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
