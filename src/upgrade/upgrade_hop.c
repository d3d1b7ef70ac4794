/*
 * upgrade_hop.c - field syntax for the upgrade module: RFC 9110 tokens and
 * comma-separated lists spread over several fields, Connection token
 * edits, and the hop-by-hop filter behind sy_http_strip_hop_by_hop and the
 * upgrade "prepare" functions.  Nothing here decides whether an upgrade
 * happens (upgrade.c does).  Invariant kept by every function: framing
 * fields (Content-Length, and Transfer-Encoding unless told otherwise),
 * Host and pseudo-headers are never removed because a Connection field
 * names them, so a client cannot make the proxy desynchronise the body.
 */
#include <errno.h>
#include <string.h>

#include "upgrade_int.h"

bool
upgrade_token_ok(const char *s, size_t n)
{
	return sy_http_is_token(s, n);
}

bool
upgrade_protocol_ok(const char *s, size_t n, size_t *name_len)
{
	const char *slash = memchr(s, '/', n);
	size_t nl = slash != NULL ? (size_t)(slash - s) : n;

	if (!upgrade_token_ok(s, nl))
		return false;
	if (slash != NULL && !upgrade_token_ok(slash + 1, n - nl - 1))
		return false;
	if (name_len != NULL)
		*name_len = nl;
	return true;
}

bool
upgrade_protocol_match(const char *a, size_t alen, size_t aname,
    const char *b, size_t blen, size_t bname)
{
	if (!sy_strnieq(a, aname, b, bname))
		return false;
	if (aname == alen || bname == blen)
		return true;	/* one of them names no version */
	return sy_strnieq(a + aname, alen - aname, b + bname, blen - bname);
}

bool
upgrade_name_is_websocket(const char *s, size_t name_len)
{
	return sy_strnieq(s, name_len, "websocket", 9);
}

void
upgrade_list_init(struct upgrade_list *l, const struct sy_msg *m, const char *name)
{
	l->h = &m->headers;
	l->name = name;
	l->i = 0;
	l->p = l->end = NULL;
}

static bool
hop_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

bool
upgrade_list_next(struct upgrade_list *l, const char **s, size_t *n)
{
	for (;;) {
		const char *b, *e;

		while (l->p == l->end) {
			const struct sy_header *hd;

			if (l->i >= l->h->n)
				return false;
			hd = &l->h->v[l->i++];
			if (strcmp(hd->name, l->name) == 0) {
				l->p = hd->value;
				l->end = hd->value + hd->value_len;
			}
		}
		b = l->p;
		while (l->p < l->end && *l->p != ',')
			l->p++;
		e = l->p;
		if (l->p < l->end)
			l->p++;		/* past the comma */
		while (b < e && hop_is_ows(*b))
			b++;
		while (e > b && hop_is_ows(e[-1]))
			e--;
		if (e > b) {
			*s = b;
			*n = (size_t)(e - b);
			return true;
		}
	}
}

bool
upgrade_conn_has(const struct sy_msg *m, const char *token)
{
	struct upgrade_list l;
	const char *s;
	size_t n, tlen = strlen(token);

	upgrade_list_init(&l, m, "connection");
	while (upgrade_list_next(&l, &s, &n))
		if (sy_strnieq(s, n, token, tlen))
			return true;
	return false;
}

/* Total length of every field called name, plus one separator each. */
static size_t
hop_fields_len(const struct sy_headers *h, const char *name, unsigned *count)
{
	size_t total = 0;
	uint32_t i;

	*count = 0;
	for (i = 0; i < h->n; i++) {
		if (strcmp(h->v[i].name, name) == 0) {
			total += h->v[i].value_len + 2;
			(*count)++;
		}
	}
	return total;
}

int
upgrade_conn_remove_token(struct sy_msg *m, const char *token)
{
	struct upgrade_list l;
	const char *s;
	size_t n, tlen = strlen(token), off = 0, total;
	unsigned count;
	char *out;

	if (!upgrade_conn_has(m, token))
		return 0;
	total = hop_fields_len(&m->headers, "connection", &count);
	if ((out = sy_arena_alloc(m->headers.arena, total + 1)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	upgrade_list_init(&l, m, "connection");
	while (upgrade_list_next(&l, &s, &n)) {
		if (sy_strnieq(s, n, token, tlen))
			continue;
		if (off > 0) {
			memcpy(out + off, ", ", 2);
			off += 2;
		}
		memcpy(out + off, s, n);
		off += n;
	}
	out[off] = '\0';
	if (off == 0) {
		sy_headers_remove(&m->headers, "connection");
		return 0;
	}
	return sy_headers_set(&m->headers, "connection", out);
}

/* Should upgrade_strip remove this field?  conn: Connection, joined. */
static bool
hop_strip_wants(const struct sy_header *hd, unsigned keep, const char *conn, size_t clen)
{
	const char *name = hd->name;

	if (hd->name_len == 0 || name[0] == ':')
		return false;
	if (strcmp(name, "connection") == 0)
		return true;
	if (strcmp(name, "content-length") == 0 || strcmp(name, "host") == 0)
		return false;
	if (strcmp(name, "transfer-encoding") == 0)
		return (keep & UPGRADE_KEEP_TE) == 0;
	if (strcmp(name, "upgrade") == 0)
		return (keep & UPGRADE_KEEP_UPGRADE) == 0;
	if (sy_http_is_hop_by_hop(name) || strcmp(name, "http2-settings") == 0)
		return true;
	return conn != NULL && sy_token_list_has(conn, clen, name);
}

int
upgrade_strip(struct sy_msg *m, unsigned keep)
{
	struct sy_headers *h = &m->headers;
	const char *conn = NULL;
	size_t clen = 0, total;
	unsigned count;
	uint32_t i, j;

	/* Every Connection field as one list (fields may repeat). */
	total = hop_fields_len(h, "connection", &count);
	if (count == 1) {
		const struct sy_header *hd = sy_headers_get(h, "connection");

		conn = hd->value;
		clen = hd->value_len;
	} else if (count > 1) {
		char *buf = sy_arena_alloc(h->arena, total);

		if (buf == NULL) {
			errno = ENOMEM;
			return -1;
		}
		for (i = 0; i < h->n; i++) {
			if (strcmp(h->v[i].name, "connection") != 0)
				continue;
			if (clen > 0)
				buf[clen++] = ',';
			memcpy(buf + clen, h->v[i].value, h->v[i].value_len);
			clen += h->v[i].value_len;
		}
		conn = buf;
	}

	/* Compact in place; strings stay in the arena, so conn stays valid. */
	for (i = 0, j = 0; i < h->n; i++) {
		if (hop_strip_wants(&h->v[i], keep, conn, clen)) {
			h->bytes -= h->v[i].name_len + h->v[i].value_len;
			continue;
		}
		if (i != j)
			h->v[j] = h->v[i];
		j++;
	}
	h->n = j;
	return 0;
}

int
sy_http_strip_hop_by_hop(struct sy_msg *m)
{
	return upgrade_strip(m, UPGRADE_KEEP_TE);
}

int
sy_upgrade_prepare_h1_request(struct sy_msg *req)
{
	if (upgrade_strip(req, UPGRADE_KEEP_UPGRADE | UPGRADE_KEEP_TE) == -1)
		return -1;
	return sy_headers_add_cstr(&req->headers, "connection", "upgrade");
}

int
sy_upgrade_prepare_h1_response(struct sy_msg *resp)
{
	if (upgrade_strip(resp, UPGRADE_KEEP_UPGRADE) == -1)
		return -1;
	sy_headers_remove(&resp->headers, "content-length");
	resp->content_length = -1;
	resp->chunked = false;
	resp->has_body = false;
	return sy_headers_add_cstr(&resp->headers, "connection", "upgrade");
}

int
upgrade_msg_status(const struct sy_msg *m)
{
	const char *st;

	if (m->status != 0)
		return m->status;
	st = sy_headers_value(&m->headers, ":status");
	if (st == NULL || strlen(st) != 3 ||
	    st[0] < '1' || st[0] > '9' || st[1] < '0' || st[1] > '9' || st[2] < '0' || st[2] > '9')
		return 0;
	return (st[0] - '0') * 100 + (st[1] - '0') * 10 + (st[2] - '0');
}

int
upgrade_set_status(struct sy_msg *m, int status)
{
	char buf[4];

	if (status < 100 || status > 999) {
		errno = EINVAL;
		return -1;
	}
	buf[0] = (char)('0' + status / 100);
	buf[1] = (char)('0' + status / 10 % 10);
	buf[2] = (char)('0' + status % 10);
	buf[3] = '\0';
	if (sy_headers_set(&m->headers, ":status", buf) == -1)
		return -1;
	m->status = status;
	return 0;
}

bool
upgrade_has_body_fields(const struct sy_msg *m)
{
	uint32_t i;

	for (i = 0; i < m->headers.n; i++) {
		const struct sy_header *hd = &m->headers.v[i];

		if (strcmp(hd->name, "transfer-encoding") == 0)
			return true;
		if (strcmp(hd->name, "content-length") == 0 && strcmp(hd->value, "0") != 0)
			return true;
	}
	return false;
}
