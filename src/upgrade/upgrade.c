/*
 * upgrade.c - whether an upgrade happens: the listener/route decision
 * (Envoy's createUpgradeFilterChain, token by token instead of on the
 * whole Upgrade value), the analysis and rewriting of a client's upgrade
 * request, and the judgement of the upstream's answer.  The rule this file
 * exists to keep: only a 101 (HTTP/1.1) or a 200 to an extended CONNECT
 * (HTTP/2), naming a protocol the request offered and, for WebSocket,
 * proving it saw the key, ever turns an exchange into a tunnel.  Field
 * syntax lives in upgrade_hop.c, RFC 6455 in upgrade_ws.c and the HTTP/2
 * transformations in upgrade_h2.c.  No I/O, no stats, no logs.
 */
#include <errno.h>
#include <string.h>

#include "upgrade_int.h"

/* ---- decision ---------------------------------------------------------- */

/*
 * The entry for a token: an exact match first, else the first entry
 * without a version whose type is the token's name.
 */
static const struct sy_conf_upgrade *
upgrade_find(const struct sy_conf_upgrade *v, unsigned n, const char *type,
    size_t tlen, size_t name_len)
{
	const struct sy_conf_upgrade *by_name = NULL;
	unsigned i;

	for (i = 0; i < n; i++) {
		const char *t = v[i].upgrade_type;

		if (t == NULL)
			continue;
		if (sy_strnieq(t, strlen(t), type, tlen))
			return &v[i];
		if (by_name == NULL && name_len < tlen && strchr(t, '/') == NULL &&
		    sy_strnieq(t, strlen(t), type, name_len))
			by_name = &v[i];
	}
	return by_name;
}

/* sy_upgrade_decide, also telling which entry decided (NULL: none). */
static enum sy_upgrade_decision
upgrade_decide(const struct sy_conf_upgrade *listener, unsigned nlistener,
    const struct sy_conf_upgrade *route, unsigned nroute, const char *type,
    const struct sy_conf_upgrade **chain, const struct sy_conf_upgrade **decider)
{
	const struct sy_conf_upgrade *r, *l;
	size_t tlen = strlen(type), name_len;
	const char *slash = strchr(type, '/');

	*chain = NULL;
	*decider = NULL;
	name_len = slash != NULL ? (size_t)(slash - type) : tlen;
	if (tlen == 0)
		return SY_UPGRADE_REJECT;

	/* A route's explicit setting always wins. */
	r = route != NULL ? upgrade_find(route, nroute, type, tlen, name_len) : NULL;
	l = listener != NULL ? upgrade_find(listener, nlistener, type, tlen, name_len) : NULL;
	*decider = r != NULL ? r : l;
	if (r != NULL && !r->enabled)
		return SY_UPGRADE_REJECT;
	/* Unset on the route: the listener must list the type, enabled. */
	if (r == NULL && (l == NULL || !l->enabled))
		return SY_UPGRADE_REJECT;
	/* Custom chains are the listener's only, even when it disables the type. */
	if (l != NULL && l->filters != NULL && l->nfilters > 0)
		*chain = l;
	return SY_UPGRADE_ACCEPT;
}

enum sy_upgrade_decision
sy_upgrade_decide(const struct sy_conf_upgrade *listener, unsigned nlistener,
    const struct sy_conf_upgrade *route, unsigned nroute,
    const char *type, const struct sy_conf_upgrade **chain)
{
	const struct sy_conf_upgrade *c, *d;
	enum sy_upgrade_decision rc;

	rc = upgrade_decide(listener, nlistener, route, nroute, type, &c, &d);
	if (chain != NULL)
		*chain = c;
	return rc;
}

/* Decide t->text, filling t->chain and t->conf_type. */
static enum sy_upgrade_decision
upgrade_decide_token(struct sy_upgrade_token *t,
    const struct sy_conf_upgrade *listener, unsigned nlistener,
    const struct sy_conf_upgrade *route, unsigned nroute)
{
	const struct sy_conf_upgrade *d;
	enum sy_upgrade_decision rc;

	rc = upgrade_decide(listener, nlistener, route, nroute, t->text, &t->chain, &d);
	t->conf_type = rc == SY_UPGRADE_ACCEPT ? d->upgrade_type : NULL;
	return rc;
}

/* ---- request analysis -------------------------------------------------- */

bool
sy_upgrade_is_request(const struct sy_msg *req)
{
	return req->version == SY_HTTP_11 &&
	    sy_headers_get(&req->headers, "upgrade") != NULL &&
	    upgrade_conn_has(req, "upgrade");
}

bool
sy_upgrade_is_extended_connect(const struct sy_msg *req)
{
	const char *method = sy_msg_method(req);

	return method != NULL && strcmp(method, "CONNECT") == 0 &&
	    sy_headers_get(&req->headers, ":protocol") != NULL;
}

/* Turn a request whose upgrade came to nothing into an ordinary one. */
static int
upgrade_make_ordinary(struct sy_msg *req)
{
	sy_headers_remove(&req->headers, "upgrade");
	req->upgrade = false;
	return upgrade_conn_remove_token(req, "upgrade");
}

static int
upgrade_analyze_connect(struct sy_msg *req,
    const struct sy_conf_upgrade *listener, unsigned nlistener,
    const struct sy_conf_upgrade *route, unsigned nroute,
    struct sy_upgrade_req *out)
{
	const struct sy_header *hd = sy_headers_get(&req->headers, ":protocol");
	struct sy_upgrade_token *t;
	size_t name_len;

	out->extended_connect = true;
	if (sy_headers_count(&req->headers, ":protocol") != 1 ||
	    !upgrade_protocol_ok(hd->value, hd->value_len, &name_len)) {
		out->outcome = SY_UPGRADE_INVALID;
		out->why = "invalid :protocol";
		return 0;
	}
	if (sy_strnieq(hd->value, name_len, "h2c", 3)) {
		out->outcome = SY_UPGRADE_INVALID;
		out->why = "h2c is not a protocol for extended connect";
		return 0;
	}
	if ((t = sy_arena_calloc(req->headers.arena, sizeof(*t))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	t->text = hd->value;
	t->len = hd->value_len;
	t->name_len = (uint32_t)name_len;
	t->websocket = upgrade_name_is_websocket(hd->value, name_len);
	if (upgrade_decide_token(t, listener, nlistener, route, nroute) == SY_UPGRADE_REJECT) {
		out->outcome = SY_UPGRADE_REJECTED;
		out->refused = t->text;
		out->why = "upgrade type not allowed on this route";
		return 0;
	}
	out->outcome = SY_UPGRADE_ACCEPTED;
	out->tokens = t;
	out->ntokens = 1;
	out->chain = t->chain;
	out->websocket = t->websocket;
	return 0;
}

/* Rewrite Upgrade as the allowed tokens, joined, in one field. */
static int
upgrade_set_tokens(struct sy_msg *req, const struct sy_upgrade_token *t, unsigned n)
{
	size_t total = 0, off = 0;
	unsigned i;
	char *v;

	for (i = 0; i < n; i++)
		total += t[i].len + 2;
	if ((v = sy_arena_alloc(req->headers.arena, total + 1)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (i > 0) {
			memcpy(v + off, ", ", 2);
			off += 2;
		}
		memcpy(v + off, t[i].text, t[i].len);
		off += t[i].len;
	}
	v[off] = '\0';
	return sy_headers_set(&req->headers, "upgrade", v);
}

int
sy_upgrade_analyze_request(struct sy_msg *req,
    const struct sy_conf_upgrade *listener, unsigned nlistener,
    const struct sy_conf_upgrade *route, unsigned nroute,
    struct sy_upgrade_req *out)
{
	struct upgrade_list l;
	struct sy_upgrade_token *tokens;
	const char *s;
	size_t n, name_len;
	unsigned count = 0;
	const char *why;

	memset(out, 0, sizeof(*out));
	out->outcome = SY_UPGRADE_NONE;
	if (sy_upgrade_is_extended_connect(req))
		return upgrade_analyze_connect(req, listener, nlistener, route, nroute, out);

	/* h2c smuggling: never let an HTTP/2 settings blob through. */
	sy_headers_remove(&req->headers, "http2-settings");
	if (upgrade_conn_remove_token(req, "http2-settings") == -1)
		return -1;
	if (sy_headers_get(&req->headers, "upgrade") == NULL)
		return 0;
	if (!sy_upgrade_is_request(req))
		return upgrade_make_ordinary(req);

	/* Syntax first, for the whole list: one bad element spoils it. */
	upgrade_list_init(&l, req, "upgrade");
	while (upgrade_list_next(&l, &s, &n)) {
		if (!upgrade_protocol_ok(s, n, NULL)) {
			out->outcome = SY_UPGRADE_INVALID;
			out->why = "invalid upgrade header";
			return 0;
		}
		if (++count > SY_UPGRADE_MAX_TOKENS) {
			out->outcome = SY_UPGRADE_INVALID;
			out->why = "too many upgrade tokens";
			return 0;
		}
	}
	if (count == 0)
		return upgrade_make_ordinary(req);
	if ((tokens = sy_arena_calloc(req->headers.arena, count * sizeof(*tokens))) == NULL) {
		errno = ENOMEM;
		return -1;
	}

	upgrade_list_init(&l, req, "upgrade");
	while (upgrade_list_next(&l, &s, &n)) {
		struct sy_upgrade_token *t = &tokens[out->ntokens];

		upgrade_protocol_ok(s, n, &name_len);
		if (sy_strnieq(s, name_len, "h2c", 3)) {
			out->nh2c++;
			continue;
		}
		if ((t->text = sy_arena_strndup(req->headers.arena, s, n)) == NULL) {
			errno = ENOMEM;
			return -1;
		}
		t->len = (uint32_t)n;
		t->name_len = (uint32_t)name_len;
		t->websocket = upgrade_name_is_websocket(s, name_len);
		if (upgrade_decide_token(t, listener, nlistener, route, nroute) == SY_UPGRADE_REJECT) {
			if (out->refused == NULL)
				out->refused = t->text;
			memset(t, 0, sizeof(*t));
			continue;
		}
		if (t->websocket)
			out->websocket = true;
		out->ntokens++;
	}

	if (out->ntokens == 0) {
		if (out->refused != NULL) {
			out->outcome = SY_UPGRADE_REJECTED;
			out->why = "upgrade type not allowed on this route";
			return 0;
		}
		/* Only h2c was asked for: an ordinary request. */
		return upgrade_make_ordinary(req);
	}
	if (out->websocket && sy_ws_check_request(req, &why) != 0) {
		out->outcome = SY_UPGRADE_INVALID;
		out->why = why;
		out->websocket = false;
		out->ntokens = 0;
		return 0;
	}
	if (upgrade_set_tokens(req, tokens, out->ntokens) == -1)
		return -1;
	out->outcome = SY_UPGRADE_ACCEPTED;
	out->tokens = tokens;
	out->chain = tokens[0].chain;
	req->upgrade = true;
	return 0;
}

/* ---- response check ---------------------------------------------------- */

/* Up to SY_UPGRADE_MAX_TOKENS protocols a request offered. */
struct upgrade_offer {
	const char *s[SY_UPGRADE_MAX_TOKENS];
	size_t n[SY_UPGRADE_MAX_TOKENS], name[SY_UPGRADE_MAX_TOKENS];
	unsigned count;
};

static void
upgrade_offer_of(const struct sy_msg *req, struct upgrade_offer *o)
{
	struct upgrade_list l;
	const char *s;
	size_t n, name_len;

	o->count = 0;
	if (req == NULL)
		return;
	if (sy_upgrade_is_extended_connect(req)) {
		const struct sy_header *hd = sy_headers_get(&req->headers, ":protocol");

		if (upgrade_protocol_ok(hd->value, hd->value_len, &name_len)) {
			o->s[0] = hd->value;
			o->n[0] = hd->value_len;
			o->name[0] = name_len;
			o->count = 1;
		}
		return;
	}
	if (!sy_upgrade_is_request(req))
		return;
	upgrade_list_init(&l, req, "upgrade");
	while (o->count < SY_UPGRADE_MAX_TOKENS && upgrade_list_next(&l, &s, &n)) {
		if (!upgrade_protocol_ok(s, n, &name_len))
			continue;
		o->s[o->count] = s;
		o->n[o->count] = n;
		o->name[o->count] = name_len;
		o->count++;
	}
}

/*
 * The request's single key and the response's single accept agree.
 * required: an accept must be there (HTTP/1.1); otherwise only a present
 * accept is checked, and only when the request had a key.
 */
static int
upgrade_check_accept(const struct sy_msg *req, const struct sy_msg *resp,
    bool required, const char **why)
{
	const char *key = sy_headers_value(&req->headers, "sec-websocket-key");
	unsigned nacc = sy_headers_count(&resp->headers, "sec-websocket-accept");
	char want[SY_WS_ACCEPT_LEN + 1];

	if (!required && (nacc == 0 || key == NULL))
		return 0;
	if (key == NULL || sy_headers_count(&req->headers, "sec-websocket-key") != 1) {
		*why = "websocket request without one sec-websocket-key";
		return -1;
	}
	if (nacc != 1) {
		*why = nacc == 0 ? "101 without sec-websocket-accept" :
		    "several sec-websocket-accept fields";
		return -1;
	}
	if (sy_ws_accept(key, want) == -1) {
		*why = "cannot compute sec-websocket-accept";
		return -1;
	}
	if (strcmp(sy_headers_value(&resp->headers, "sec-websocket-accept"), want) != 0) {
		*why = "wrong sec-websocket-accept";
		return -1;
	}
	return 0;
}

int
sy_upgrade_check_response(const struct sy_msg *req, const struct sy_msg *resp,
    unsigned *chosen, const char **why)
{
	struct upgrade_offer o;
	struct upgrade_list l;
	int status = upgrade_msg_status(resp);
	const char *s, *dummy;
	size_t n, name_len;
	unsigned first = 0, ntok = 0, i;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (chosen != NULL)
		*chosen = 0;
	upgrade_offer_of(req, &o);

	if (resp->version == SY_HTTP_2) {
		if (status == 101) {
			*why = "101 over http/2";
			return SY_UPGRADE_RESP_BAD;
		}
		if (status >= 100 && status < 200)
			return SY_UPGRADE_RESP_INTERIM;
		if (o.count == 0 || !sy_upgrade_is_extended_connect(req) || status != 200)
			return SY_UPGRADE_RESP_ORDINARY;
		if (upgrade_has_body_fields(resp)) {
			*why = "upgrade response with a body";
			return SY_UPGRADE_RESP_BAD;
		}
		if (upgrade_name_is_websocket(o.s[0], o.name[0]) &&
		    upgrade_check_accept(req, resp, false, why) == -1)
			return SY_UPGRADE_RESP_BAD;
		return SY_UPGRADE_RESP_TUNNEL;
	}

	if (status != 101) {
		if (status >= 100 && status < 200)
			return SY_UPGRADE_RESP_INTERIM;
		return SY_UPGRADE_RESP_ORDINARY;
	}
	if (o.count == 0 || sy_upgrade_is_extended_connect(req)) {
		*why = "101 to a request that did not ask to upgrade";
		return SY_UPGRADE_RESP_BAD;
	}
	if (resp->version != SY_HTTP_11) {
		*why = "101 in http/1.0";
		return SY_UPGRADE_RESP_BAD;
	}
	if (!upgrade_conn_has(resp, "upgrade")) {
		*why = "101 without connection: upgrade";
		return SY_UPGRADE_RESP_BAD;
	}
	/* Every protocol the 101 names must have been offered. */
	upgrade_list_init(&l, resp, "upgrade");
	while (upgrade_list_next(&l, &s, &n)) {
		if (!upgrade_protocol_ok(s, n, &name_len)) {
			*why = "101 with an invalid upgrade header";
			return SY_UPGRADE_RESP_BAD;
		}
		for (i = 0; i < o.count; i++)
			if (upgrade_protocol_match(o.s[i], o.n[i], o.name[i], s, n, name_len))
				break;
		if (i == o.count) {
			*why = "101 names a protocol the request did not offer";
			return SY_UPGRADE_RESP_BAD;
		}
		if (ntok++ == 0)
			first = i;
	}
	if (ntok == 0) {
		*why = "101 without upgrade header";
		return SY_UPGRADE_RESP_BAD;
	}
	if (upgrade_name_is_websocket(o.s[first], o.name[first]) &&
	    upgrade_check_accept(req, resp, true, why) == -1)
		return SY_UPGRADE_RESP_BAD;
	if (chosen != NULL)
		*chosen = first;
	return SY_UPGRADE_RESP_TUNNEL;
}
