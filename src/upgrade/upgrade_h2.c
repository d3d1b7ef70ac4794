/*
 * upgrade_h2.c - an upgrade across an HTTP/2 hop (RFC 8441): the HTTP/1.1
 * Upgrade request becomes an extended CONNECT and back, and 200 on the
 * HTTP/2 side stands for 101 on the HTTP/1.1 side.  Four separate
 * functions, one per direction and message, working on struct sy_msg in
 * place; what a request transformation learnt (token, WebSocket key,
 * method) travels to the response transformation in a struct
 * sy_upgrade_xlate.  Deliberately not here: deciding whether the answer is
 * a success (sy_upgrade_check_response runs first), HTTP/2 framing and
 * SETTINGS (the codec's).  Invariant: a request transformation either
 * succeeds or, on EINVAL/EBADMSG, leaves the message untouched; bodies are
 * refused because the HTTP/2 upgrade path carries none.
 */
#include <errno.h>
#include <string.h>

#include "upgrade_int.h"

static int
h2_fail(int err)
{
	errno = err;
	return -1;
}

static bool
h2_body_indicated(const struct sy_msg *m)
{
	return m->chunked || m->content_length > 0 || upgrade_has_body_fields(m);
}

/* A head that carries no body any more. */
static void
h2_no_body(struct sy_msg *m)
{
	sy_headers_remove(&m->headers, "content-length");
	m->content_length = -1;
	m->chunked = false;
	m->has_body = false;
}

int
sy_upgrade_h1_to_h2_request(struct sy_msg *req, unsigned flags, struct sy_upgrade_xlate *x)
{
	struct upgrade_list l;
	const struct sy_header *key = NULL;
	const char *s, *method = sy_msg_method(req);
	size_t n, name_len;

	memset(x, 0, sizeof(*x));
	if (!sy_upgrade_is_request(req) || method == NULL)
		return h2_fail(EINVAL);
	if (h2_body_indicated(req))
		return h2_fail(EBADMSG);
	if (sy_msg_path(req) == NULL || sy_msg_authority(req) == NULL ||
	    sy_headers_get(&req->headers, ":scheme") == NULL)
		return h2_fail(EINVAL);
	/* :protocol carries one protocol: the first (preferred) one. */
	upgrade_list_init(&l, req, "upgrade");
	if (!upgrade_list_next(&l, &s, &n) || !upgrade_protocol_ok(s, n, &name_len) ||
	    sy_strnieq(s, name_len, "h2c", 3))
		return h2_fail(EINVAL);
	x->websocket = upgrade_name_is_websocket(s, name_len);
	if (x->websocket) {
		key = sy_headers_get(&req->headers, "sec-websocket-key");
		if (key == NULL || sy_headers_count(&req->headers, "sec-websocket-key") != 1 ||
		    !sy_ws_key_valid(key->value, key->value_len))
			return h2_fail(EINVAL);
		memcpy(x->ws_key, key->value, SY_WS_KEY_LEN);
		x->ws_key[SY_WS_KEY_LEN] = '\0';
	}
	if ((x->token = sy_arena_strndup(req->headers.arena, s, n)) == NULL)
		return h2_fail(ENOMEM);
	x->method = method;	/* the string outlives the field: arena */

	/* Nobody but switchyard writes the private method header. */
	sy_headers_remove(&req->headers, SY_UPGRADE_METHOD_HEADER);
	if (x->websocket && (flags & SY_UPGRADE_KEEP_WS_KEY) == 0)
		sy_headers_remove(&req->headers, "sec-websocket-key");
	if (upgrade_strip(req, 0) == -1)
		return -1;
	h2_no_body(req);
	if (sy_headers_set(&req->headers, ":method", "CONNECT") == -1 ||
	    sy_headers_set(&req->headers, ":protocol", x->token) == -1)
		return -1;
	if ((flags & SY_UPGRADE_PRESERVE_METHOD) && strcmp(method, "GET") != 0 &&
	    sy_headers_add_cstr(&req->headers, SY_UPGRADE_METHOD_HEADER, method) == -1)
		return -1;
	req->version = SY_HTTP_2;
	req->upgrade = false;
	return 0;
}

int
sy_upgrade_h2_to_h1_response(struct sy_msg *resp, const struct sy_upgrade_xlate *x)
{
	char accept[SY_WS_ACCEPT_LEN + 1];
	int status = upgrade_msg_status(resp);

	if (status == 200 && x->websocket) {
		if (x->ws_key[0] == '\0')
			return h2_fail(EINVAL);
		if (sy_ws_accept(x->ws_key, accept) == -1)
			return h2_fail(EIO);
	}
	if (upgrade_strip(resp, 0) == -1)
		return -1;
	resp->version = SY_HTTP_11;
	if (status != 200)
		return 0;

	h2_no_body(resp);
	if (upgrade_set_status(resp, 101) == -1 ||
	    sy_headers_set(&resp->headers, "upgrade", x->token) == -1 ||
	    sy_headers_set(&resp->headers, "connection", "upgrade") == -1)
		return -1;
	if (x->websocket && sy_headers_set(&resp->headers, "sec-websocket-accept", accept) == -1)
		return -1;
	resp->upgrade = true;
	return 0;
}

int
sy_upgrade_h2_to_h1_request(struct sy_msg *req, unsigned flags, struct sy_upgrade_xlate *x)
{
	const struct sy_header *proto, *key, *mh;
	const char *method = "GET";
	size_t name_len;

	memset(x, 0, sizeof(*x));
	if (!sy_upgrade_is_extended_connect(req))
		return h2_fail(EINVAL);
	proto = sy_headers_get(&req->headers, ":protocol");
	if (sy_headers_count(&req->headers, ":protocol") != 1 ||
	    !upgrade_protocol_ok(proto->value, proto->value_len, &name_len) ||
	    sy_strnieq(proto->value, name_len, "h2c", 3) || sy_msg_path(req) == NULL)
		return h2_fail(EINVAL);
	if (h2_body_indicated(req))
		return h2_fail(EBADMSG);
	x->token = proto->value;	/* stays in the arena when the field goes */
	x->websocket = upgrade_name_is_websocket(proto->value, name_len);
	x->method = sy_msg_method(req);

	mh = sy_headers_get(&req->headers, SY_UPGRADE_METHOD_HEADER);
	if ((flags & SY_UPGRADE_PRESERVE_METHOD) && mh != NULL &&
	    sy_headers_count(&req->headers, SY_UPGRADE_METHOD_HEADER) == 1 &&
	    upgrade_token_ok(mh->value, mh->value_len) && strcmp(mh->value, "CONNECT") != 0)
		method = mh->value;

	if (x->websocket) {
		key = sy_headers_get(&req->headers, "sec-websocket-key");
		if (key != NULL) {
			/* A key from the client: the handshake is end to end. */
			if (sy_headers_count(&req->headers, "sec-websocket-key") != 1 ||
			    !sy_ws_key_valid(key->value, key->value_len))
				return h2_fail(EINVAL);
			memcpy(x->ws_key, key->value, SY_WS_KEY_LEN);
			x->ws_key[SY_WS_KEY_LEN] = '\0';
		} else {
			/* A native RFC 8441 client: make one up (Envoy #8547). */
			if (sy_ws_key_generate(x->ws_key) == -1)
				return h2_fail(EIO);
			x->key_generated = true;
		}
	}

	sy_headers_remove(&req->headers, SY_UPGRADE_METHOD_HEADER);
	if (upgrade_strip(req, 0) == -1)
		return -1;
	h2_no_body(req);
	sy_headers_remove(&req->headers, ":protocol");
	if (sy_headers_set(&req->headers, ":method", method) == -1 ||
	    sy_headers_add_cstr(&req->headers, "upgrade", x->token) == -1 ||
	    sy_headers_add_cstr(&req->headers, "connection", "upgrade") == -1)
		return -1;
	if (x->key_generated) {
		if (sy_headers_add_cstr(&req->headers, "sec-websocket-key", x->ws_key) == -1)
			return -1;
		if (sy_headers_get(&req->headers, "sec-websocket-version") == NULL &&
		    sy_headers_add_cstr(&req->headers, "sec-websocket-version", SY_WS_VERSION) == -1)
			return -1;
	}
	req->version = SY_HTTP_11;
	req->upgrade = true;
	return 0;
}

int
sy_upgrade_h1_to_h2_response(struct sy_msg *resp, const struct sy_upgrade_xlate *x)
{
	int status = upgrade_msg_status(resp);

	/* HTTP/2 forbids connection-specific fields, Transfer-Encoding too. */
	if (upgrade_strip(resp, 0) == -1)
		return -1;
	resp->version = SY_HTTP_2;
	resp->upgrade = false;
	if (status != 101)
		return 0;
	h2_no_body(resp);
	if (x->key_generated)
		sy_headers_remove(&resp->headers, "sec-websocket-accept");
	return upgrade_set_status(resp, 200);
}
