/*
 * route.h - virtual-host and route matching over a version-blind request
 * (struct sy_msg).  Pure functions of the configuration: no I/O, no codec
 * headers.  Host matching order follows Envoy: exact, then the longest
 * "*.suffix", then the longest "prefix.*", then "*".
 */
#ifndef SWITCHYARD_ROUTE_H
#define SWITCHYARD_ROUTE_H

#include "switchyard/conf.h"
#include "switchyard/http.h"

/* The virtual host for an authority ("host[:port]"), or NULL. */
const struct sy_conf_vhost *sy_route_vhost(const struct sy_conf_http *http, const char *authority);
/* The first route of vh matching req (path and header matchers), or NULL. */
const struct sy_conf_route *sy_route_match(const struct sy_conf_vhost *vh, const struct sy_msg *req);
/* Does a domain pattern match a host (port already stripped, lower-case)? */
bool sy_route_domain_matches(const char *pattern, const char *host, size_t hostlen);

#endif
