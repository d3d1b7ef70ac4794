/*
 * route.c - virtual-host and route selection for one request.  Pure
 * functions of the configuration and a version-blind struct sy_msg; no
 * codec knowledge.  Virtual hosts are chosen as Envoy does: an exact
 * domain first, then the longest "*.suffix", then the longest "prefix.*",
 * then "*".  Routes are tried in order; the first whose path matcher and
 * every header matcher agree wins.
 */
#include <ctype.h>
#include <string.h>

#include "switchyard/route.h"

bool
sy_route_domain_matches(const char *pattern, const char *host, size_t hostlen)
{
	size_t plen = strlen(pattern);

	if (strcmp(pattern, "*") == 0)
		return true;
	if (plen >= 2 && pattern[0] == '*') {
		/* "*.example.com" and "*-suffix": the wildcard covers >= 1 char. */
		size_t slen = plen - 1;

		return hostlen > slen && sy_strnieq(host + hostlen - slen, slen, pattern + 1, slen);
	}
	if (plen >= 2 && pattern[plen - 1] == '*') {
		size_t slen = plen - 1;

		return hostlen > slen && sy_strnieq(host, slen, pattern, slen);
	}
	return sy_strnieq(host, hostlen, pattern, plen);
}

/* Host without the port; IPv6 literals keep their brackets. */
static size_t
route_host_len(const char *authority)
{
	size_t n = strlen(authority);
	const char *colon;

	if (authority[0] == '[') {
		const char *end = strchr(authority, ']');

		return end ? (size_t)(end - authority) + 1 : n;
	}
	colon = strrchr(authority, ':');
	return colon ? (size_t)(colon - authority) : n;
}

const struct sy_conf_vhost *
sy_route_vhost(const struct sy_conf_http *http, const char *authority)
{
	const struct sy_conf_vhost *best = NULL;
	int best_rank = 0;	/* 4 exact, 3 suffix, 2 prefix, 1 "*" */
	size_t best_len = 0, hostlen;
	unsigned i, j;

	if (authority == NULL)
		authority = "";
	hostlen = route_host_len(authority);
	for (i = 0; i < http->nvirtual_hosts; i++) {
		const struct sy_conf_vhost *vh = &http->virtual_hosts[i];

		for (j = 0; j < vh->ndomains; j++) {
			const char *d = vh->domains[j];
			size_t dlen = strlen(d);
			int rank;

			if (!sy_route_domain_matches(d, authority, hostlen))
				continue;
			if (strcmp(d, "*") == 0)
				rank = 1;
			else if (d[0] == '*')
				rank = 3;
			else if (d[dlen - 1] == '*')
				rank = 2;
			else
				rank = 4;
			if (rank > best_rank || (rank == best_rank && dlen > best_len)) {
				best = vh;
				best_rank = rank;
				best_len = dlen;
			}
		}
	}
	return best;
}

static bool
route_header_matches(const struct sy_conf_header_match *hm, const struct sy_msg *req)
{
	const struct sy_header *h = sy_headers_get(&req->headers, hm->name);
	bool ok;

	/*
	 * As Envoy: an absent header fails every value matcher, inverted or
	 * not; only an inverted present_match accepts it.
	 */
	if (h == NULL && !hm->present_match)
		return false;
	if (hm->present_match)
		ok = h != NULL;
	else if (h == NULL)
		ok = false;
	else if (hm->exact_match != NULL)
		ok = strcmp(h->value, hm->exact_match) == 0;
	else if (hm->prefix_match != NULL)
		ok = strncmp(h->value, hm->prefix_match, strlen(hm->prefix_match)) == 0;
	else if (hm->safe_regex != NULL)
		ok = regexec(&hm->re, h->value, 0, NULL, 0) == 0;
	else
		ok = h != NULL;
	return hm->invert_match ? !ok : ok;
}

const struct sy_conf_route *
sy_route_match(const struct sy_conf_vhost *vh, const struct sy_msg *req)
{
	const char *path = sy_msg_path(req);
	size_t pathlen;
	unsigned i, j;

	if (vh == NULL || path == NULL)
		return NULL;
	/* Matching ignores the query string, as Envoy's path matchers do. */
	pathlen = strcspn(path, "?");
	for (i = 0; i < vh->nroutes; i++) {
		const struct sy_conf_route *r = &vh->routes[i];
		bool ok;

		if (r->prefix != NULL) {
			ok = strncmp(path, r->prefix, SY_MIN(strlen(r->prefix), pathlen)) == 0 &&
			    strlen(r->prefix) <= pathlen;
		} else if (r->path != NULL) {
			ok = strlen(r->path) == pathlen && strncmp(path, r->path, pathlen) == 0;
		} else if (r->safe_regex != NULL) {
			char buf[8192];

			if (pathlen >= sizeof(buf))
				continue;
			memcpy(buf, path, pathlen);
			buf[pathlen] = '\0';
			ok = regexec(&r->re, buf, 0, NULL, 0) == 0;
		} else {
			ok = false;
		}
		if (!ok)
			continue;
		for (j = 0; j < r->nheaders; j++)
			if (!route_header_matches(&r->headers[j], req))
				break;
		if (j == r->nheaders)
			return r;
	}
	return NULL;
}
