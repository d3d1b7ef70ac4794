/*
 * h1_emit.c - HTTP/1.1 serialisation of a struct sy_msg head and of
 * chunked body framing.  The request or status line comes from the
 * pseudo-headers, ":authority" becomes Host (always the first field), and
 * the other fields follow in order under their stored lower-case names,
 * which is valid HTTP/1.1 and what Envoy sends.  This file adds nothing:
 * framing headers (Content-Length, Transfer-Encoding, Connection) are the
 * caller's decision.  It never writes a partial head: sizes are computed
 * first, then one reservation, then copies; a field that would break the
 * framing (CR, LF or NUL in a value, a name that is not a token) makes the
 * call fail with EINVAL and out untouched.  llhttp is not used here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "switchyard/http1.h"

static bool
h1_emit_value_ok(const char *s, size_t n)
{
	return memchr(s, '\r', n) == NULL && memchr(s, '\n', n) == NULL &&
	    memchr(s, '\0', n) == NULL;
}

/* A request-target or authority: visible ASCII, no spaces. */
static bool
h1_emit_target_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

static bool
h1_emit_is_pseudo(const struct sy_header *hd)
{
	return hd->name_len > 0 && hd->name[0] == ':';
}

static void
h1_emit_put(char **w, const char *s, size_t n)
{
	memcpy(*w, s, n);
	*w += n;
}

/*
 * Size of the field lines, validating them on the way; skip_host drops a
 * regular "host" field because ":authority" already gave one.  Returns
 * -1 on an invalid field.
 */
static int
h1_emit_fields_size(const struct sy_msg *m, bool skip_host, size_t *size)
{
	uint32_t i;

	*size = 0;
	for (i = 0; i < m->headers.n; i++) {
		const struct sy_header *hd = &m->headers.v[i];

		if (h1_emit_is_pseudo(hd) || (skip_host && strcmp(hd->name, "host") == 0))
			continue;
		if (!sy_http_is_token(hd->name, hd->name_len) ||
		    !h1_emit_value_ok(hd->value, hd->value_len))
			return -1;
		*size += (size_t)hd->name_len + 2 + hd->value_len + 2;
	}
	return 0;
}

static void
h1_emit_fields(char **w, const struct sy_msg *m, bool skip_host)
{
	uint32_t i;

	for (i = 0; i < m->headers.n; i++) {
		const struct sy_header *hd = &m->headers.v[i];

		if (h1_emit_is_pseudo(hd) || (skip_host && strcmp(hd->name, "host") == 0))
			continue;
		h1_emit_put(w, hd->name, hd->name_len);
		h1_emit_put(w, ": ", 2);
		h1_emit_put(w, hd->value, hd->value_len);
		h1_emit_put(w, "\r\n", 2);
	}
}

static const char *
h1_emit_version(const struct sy_msg *m)
{
	return m->version == SY_HTTP_10 ? "HTTP/1.0" : "HTTP/1.1";
}

int
sy_h1_emit_request_head(struct sy_buf *out, const struct sy_msg *m)
{
	const char *method = sy_msg_method(m), *authority = sy_msg_authority(m);
	const char *target, *version = h1_emit_version(m);
	size_t mlen, tlen, alen = 0, fields, total;
	char *w;

	if (method == NULL)
		goto inval;
	/* HTTP/1.1 CONNECT always names its target in authority-form. */
	target = strcmp(method, "CONNECT") == 0 ? authority : sy_msg_path(m);
	if (target == NULL)
		goto inval;
	mlen = strlen(method);
	tlen = strlen(target);
	if (!sy_http_is_token(method, mlen) || !h1_emit_target_ok(target, tlen))
		goto inval;
	if (authority != NULL) {
		alen = strlen(authority);
		if (!h1_emit_value_ok(authority, alen))
			goto inval;
	}
	if (h1_emit_fields_size(m, authority != NULL, &fields) == -1)
		goto inval;

	total = mlen + 1 + tlen + 1 + 8 + 2 + fields + 2;
	if (authority != NULL)
		total += 6 + alen + 2;
	if (sy_buf_reserve(out, total) == -1)
		return -1;
	w = sy_buf_wpos(out);
	h1_emit_put(&w, method, mlen);
	h1_emit_put(&w, " ", 1);
	h1_emit_put(&w, target, tlen);
	h1_emit_put(&w, " ", 1);
	h1_emit_put(&w, version, 8);
	h1_emit_put(&w, "\r\n", 2);
	if (authority != NULL) {
		h1_emit_put(&w, "host: ", 6);
		h1_emit_put(&w, authority, alen);
		h1_emit_put(&w, "\r\n", 2);
	}
	h1_emit_fields(&w, m, authority != NULL);
	h1_emit_put(&w, "\r\n", 2);
	out->end += total;
	return 0;
inval:
	errno = EINVAL;
	return -1;
}

int
sy_h1_emit_response_head(struct sy_buf *out, const struct sy_msg *m)
{
	const char *st = sy_headers_value(&m->headers, ":status"), *reason;
	size_t rlen, fields, total;
	int status = m->status;
	char code[4];
	char *w;

	if (st != NULL) {
		if (strlen(st) != 3 || st[0] < '1' || st[0] > '9' ||
		    st[1] < '0' || st[1] > '9' || st[2] < '0' || st[2] > '9')
			goto inval;
		status = (st[0] - '0') * 100 + (st[1] - '0') * 10 + (st[2] - '0');
	}
	if (status < 100 || status > 999)
		goto inval;
	snprintf(code, sizeof(code), "%03d", status);
	reason = sy_http_reason(status);
	rlen = strlen(reason);
	if (h1_emit_fields_size(m, false, &fields) == -1)
		goto inval;

	total = 8 + 1 + 3 + 1 + rlen + 2 + fields + 2;
	if (sy_buf_reserve(out, total) == -1)
		return -1;
	w = sy_buf_wpos(out);
	h1_emit_put(&w, h1_emit_version(m), 8);
	h1_emit_put(&w, " ", 1);
	h1_emit_put(&w, code, 3);
	h1_emit_put(&w, " ", 1);
	h1_emit_put(&w, reason, rlen);
	h1_emit_put(&w, "\r\n", 2);
	h1_emit_fields(&w, m, false);
	h1_emit_put(&w, "\r\n", 2);
	out->end += total;
	return 0;
inval:
	errno = EINVAL;
	return -1;
}

int
sy_h1_emit_chunk(struct sy_buf *out, const void *p, size_t n)
{
	char size[2 * sizeof(size_t) + 3];
	int slen;
	char *w;

	/* A zero-size chunk would end the body: use sy_h1_emit_last_chunk. */
	if (n == 0)
		return 0;
	slen = snprintf(size, sizeof(size), "%zx\r\n", n);
	if (sy_buf_reserve(out, (size_t)slen + n + 2) == -1)
		return -1;
	w = sy_buf_wpos(out);
	h1_emit_put(&w, size, (size_t)slen);
	h1_emit_put(&w, p, n);
	h1_emit_put(&w, "\r\n", 2);
	out->end += (size_t)slen + n + 2;
	return 0;
}

int
sy_h1_emit_last_chunk(struct sy_buf *out)
{
	return sy_buf_append(out, "0\r\n\r\n", 5);
}

int
sy_h1_emit_last_chunk_trailers(struct sy_buf *out, const struct sy_headers *trailers)
{
	size_t before = out->end - out->start;
	uint32_t i;

	if (trailers == NULL || trailers->n == 0)
		return sy_h1_emit_last_chunk(out);
	if (sy_buf_append(out, "0\r\n", 3) == -1)
		goto fail;
	for (i = 0; i < trailers->n; i++) {
		const struct sy_header *h = &trailers->v[i];

		/* Framing and hop-by-hop fields are never allowed in trailers. */
		if (h->name[0] == ':' || sy_http_is_hop_by_hop(h->name) ||
		    strcmp(h->name, "content-length") == 0 || strcmp(h->name, "host") == 0)
			continue;
		if (!sy_http_is_token(h->name, h->name_len) ||
		    memchr(h->value, '\r', h->value_len) != NULL ||
		    memchr(h->value, '\n', h->value_len) != NULL)
			continue;
		if (sy_buf_append(out, h->name, h->name_len) == -1 || sy_buf_append(out, ": ", 2) == -1 ||
		    sy_buf_append(out, h->value, h->value_len) == -1 || sy_buf_append(out, "\r\n", 2) == -1)
			goto fail;
	}
	if (sy_buf_append(out, "\r\n", 2) == -1)
		goto fail;
	return 0;
fail:
	out->end = out->start + before;
	return -1;
}
