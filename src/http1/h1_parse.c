/*
 * h1_parse.c - HTTP/1.1 request and response parsing: llhttp (built in
 * strict mode, lenient flags never set) underneath, struct sy_msg on top.
 * llhttp hands out transient spans that point into the caller's input
 * buffer, so every span (target, names, values) is copied inside its
 * callback into scratch buffers and the finished head into the caller's
 * arena; only body bytes are passed through uncopied, valid during
 * on_data.  On top of llhttp this file enforces what llhttp 8.1.0 lets
 * through: a scanner runs over head and trailer bytes before llhttp sees
 * them and stops at a folded line (obs-fold) or at the byte past
 * max_head_bytes; the callbacks reject empty names, control characters in
 * names and values, versions other than 1.0/1.1 (llhttp takes 0.9 and
 * 2.0), a missing, bad or second Host, status codes outside 100-599 and
 * transfer codings other than one "chunked".  Invariant: the first defect
 * in the input is the one reported, at the same byte, whether the input
 * arrives in one piece or byte by byte; so phase flags come only from
 * llhttp's *_complete callbacks, never from data spans, whose boundaries
 * follow the caller's reads.  Every message ends in a pause, so pipelined
 * messages come out one per SY_DONE and the bytes after an Upgrade or
 * CONNECT head stay with the caller.  Not here: serialising (h1_emit.c),
 * connection I/O, and deciding what a message means.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "switchyard/http1.h"

#define H1_DEFAULT_MAX_HEAD (60 * 1024)
#define H1_DEFAULT_MAX_HEADERS 100
#define H1_SCRATCH_KEEP 1024	/* larger scratch buffers are freed on reset */

enum h1_state {
	H1_IDLE,		/* reset, waiting for the first byte */
	H1_HEAD,		/* inside the request/status line or headers */
	H1_BODY,		/* head delivered, body or trailers follow */
	H1_DONE,		/* message complete: reset before the next */
	H1_ERROR		/* sticky until reset */
};

/* Where the head scanner is; see h1_scan(). */
enum h1_scan_state {
	H1_SCAN_FIRST,		/* only CR/LF seen so far */
	H1_SCAN_LINE,		/* inside a line */
	H1_SCAN_BOL,		/* just after a LF */
	H1_SCAN_BOL_CR,		/* CR at the start of a line */
	H1_SCAN_END		/* the empty line ending the head was seen */
};

enum h1_req_method { H1_REQ_OTHER, H1_REQ_HEAD, H1_REQ_CONNECT };

struct h1_scratch {
	char *p;
	size_t len, cap;
};

struct sy_h1_parser {
	llhttp_t ll;
	enum sy_h1_type type;
	struct sy_h1_limits lim;
	struct sy_h1_callbacks cb;
	void *ud;

	struct sy_arena *arena;		/* the caller's, set by reset */
	struct sy_msg *msg;		/* built in arena */
	enum h1_state state;

	bool scanning;			/* head or trailer bytes go through h1_scan */
	enum h1_scan_state scan;
	size_t head_bytes;		/* every byte of the head (or of the trailers) */
	bool trailer_start;		/* paused at the last chunk: trailers follow */
	unsigned nheaders;
	unsigned ntrailers;

	struct h1_scratch target, name, value;
	char version[8];		/* version text, for error reporting */
	size_t version_len;
	bool version_done;		/* the HTTP version was parsed */
	bool line_done;			/* request or status line parsed */
	bool in_value;			/* a name is complete, its value follows */
	bool trailers;			/* header callbacks now carry trailers */
	bool in_trailer;		/* a trailer field was seen */

	char *host;			/* requests: Host value, kept apart */
	bool seen_host;
	bool seen_te;
	bool tunnel;

	enum h1_req_method req_method;	/* responses: what was asked */

	int err_status;
	const char *err_reason;
};

/* Record an error; the first one wins. */
static int
h1_fail(struct sy_h1_parser *p, int status, const char *reason)
{
	if (p->err_reason == NULL) {
		p->err_status = status;
		p->err_reason = reason;
	}
	return -1;
}

static int
h1_nomem(struct sy_h1_parser *p)
{
	return h1_fail(p, 500, "out of memory");
}

static int
h1_scratch_append(struct h1_scratch *s, const char *at, size_t n)
{
	size_t cap;
	char *np;

	if (n == 0)
		return 0;
	if (s->cap - s->len < n) {
		cap = s->cap == 0 ? 128 : s->cap;
		while (cap - s->len < n) {
			if (cap > SIZE_MAX / 2)
				return -1;
			cap *= 2;
		}
		if ((np = realloc(s->p, cap)) == NULL)
			return -1;
		s->p = np;
		s->cap = cap;
	}
	memcpy(s->p + s->len, at, n);
	s->len += n;
	return 0;
}

static void
h1_scratch_trim(struct h1_scratch *s)
{
	if (s->cap > H1_SCRATCH_KEEP) {
		free(s->p);
		s->p = NULL;
		s->cap = 0;
	}
	s->len = 0;
}

static void
h1_scratch_free(struct h1_scratch *s)
{
	free(s->p);
	s->p = NULL;
	s->len = s->cap = 0;
}

static struct sy_h1_parser *
h1_from(llhttp_t *ll)
{
	return ll->data;
}

/* ---- llhttp callbacks ---------------------------------------------------- */

static int
h1_on_message_begin(llhttp_t *ll)
{
	struct sy_h1_parser *p = h1_from(ll);

	if (p->msg == NULL) {
		if ((p->msg = sy_arena_alloc(p->arena, sizeof(*p->msg))) == NULL)
			return h1_nomem(p);
		sy_msg_init(p->msg, p->arena);
	}
	p->state = H1_HEAD;
	return 0;
}

static int
h1_on_url(llhttp_t *ll, const char *at, size_t n)
{
	struct sy_h1_parser *p = h1_from(ll);

	if (h1_scratch_append(&p->target, at, n) == -1)
		return h1_nomem(p);
	return 0;
}

static int
h1_on_version(llhttp_t *ll, const char *at, size_t n)
{
	struct sy_h1_parser *p = h1_from(ll);
	size_t room = sizeof(p->version) - 1 - p->version_len;

	n = SY_MIN(n, room);
	memcpy(p->version + p->version_len, at, n);
	p->version_len += n;
	p->version[p->version_len] = '\0';
	return 0;
}

static int
h1_on_version_complete(llhttp_t *ll)
{
	struct sy_h1_parser *p = h1_from(ll);

	if (ll->http_major != 1 || ll->http_minor > 1)
		return h1_fail(p, 505, "http version not supported");
	p->msg->version = ll->http_minor == 0 ? SY_HTTP_10 : SY_HTTP_11;
	p->version_done = true;
	/* The version ends a request line but starts a status line. */
	if (p->type == SY_H1_REQUEST)
		p->line_done = true;
	return 0;
}

static int
h1_on_status_complete(llhttp_t *ll)
{
	h1_from(ll)->line_done = true;
	return 0;
}

static int
h1_on_header_field(llhttp_t *ll, const char *at, size_t n)
{
	struct sy_h1_parser *p = h1_from(ll);

	if (h1_scratch_append(&p->name, at, n) == -1)
		return h1_nomem(p);
	return 0;
}

/*
 * Phase flags are set only by *_complete callbacks, which llhttp calls at
 * fixed points of the syntax; data callbacks come at every chunk boundary
 * and would make error reports depend on how the input was split.
 */
static int
h1_on_header_field_complete(llhttp_t *ll)
{
	struct sy_h1_parser *p = h1_from(ll);

	/* llhttp takes "GET /" without a version as HTTP/0.9. */
	if (p->type == SY_H1_REQUEST && !p->version_done)
		return h1_fail(p, 505, "http version not supported");
	p->line_done = true;
	p->in_value = true;
	if (p->trailers)
		p->in_trailer = true;
	return 0;
}

static int
h1_on_header_value(llhttp_t *ll, const char *at, size_t n)
{
	struct sy_h1_parser *p = h1_from(ll);

	if (h1_scratch_append(&p->value, at, n) == -1)
		return h1_nomem(p);
	return 0;
}

/* field-value: no CR, LF, NUL nor any other control but HTAB. */
static bool
h1_value_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* reg-name, IPv4 or IP-literal, optional port: what Host may carry. */
static bool
h1_authority_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			continue;
		if (strchr("-._~!$&'()*+,;=:[]%", c) == NULL || c == '\0')
			return false;
	}
	return true;
}

static int
h1_on_header_value_complete(llhttp_t *ll)
{
	struct sy_h1_parser *p = h1_from(ll);
	const char *name = p->name.p, *value = p->value.p;
	size_t nlen = p->name.len, vlen = p->value.len;

	/* llhttp strips leading OWS but keeps the trailing one. */
	while (vlen > 0 && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
		vlen--;
	p->in_value = false;
	p->name.len = 0;
	p->value.len = 0;

	if (!sy_http_is_token(name, nlen))
		return h1_fail(p, 400, "invalid header name");
	if (!h1_value_ok(value, vlen))
		return h1_fail(p, 400, "invalid header value");

	if (p->trailers) {
		if (++p->ntrailers > p->lim.max_headers)
			return h1_fail(p, 431, "too many header fields");
		if (sy_headers_add(&p->msg->trailers, name, nlen, value, vlen) == -1)
			return h1_nomem(p);
		return 0;
	}
	if (++p->nheaders > p->lim.max_headers)
		return h1_fail(p, 431, "too many header fields");

	if (p->type == SY_H1_REQUEST && sy_strnieq(name, nlen, "host", 4)) {
		if (p->seen_host)
			return h1_fail(p, 400, "multiple host headers");
		p->seen_host = true;
		if (!h1_authority_ok(value, vlen))
			return h1_fail(p, 400, "invalid host header");
		if ((p->host = sy_arena_strndup(p->arena, value, vlen)) == NULL)
			return h1_nomem(p);
		return 0;
	}
	if (sy_strnieq(name, nlen, "transfer-encoding", 17))
		p->seen_te = true;
	if (sy_headers_add(&p->msg->headers, name, nlen, value, vlen) == -1)
		return h1_nomem(p);
	return 0;
}

/* Does any Connection header list token? */
static bool
h1_connection_has(const struct sy_msg *m, const char *token)
{
	uint32_t i;

	for (i = 0; i < m->headers.n; i++) {
		const struct sy_header *hd = &m->headers.v[i];

		if (strcmp(hd->name, "connection") == 0 &&
		    sy_token_list_has(hd->value, hd->value_len, token))
			return true;
	}
	return false;
}

/*
 * Transfer-Encoding, all fields together, must be exactly one "chunked":
 * we do not implement other codings, and anything else in a request is
 * how smuggling starts.
 */
static bool
h1_te_is_chunked(const struct sy_msg *m)
{
	unsigned tokens = 0;
	uint32_t i;

	for (i = 0; i < m->headers.n; i++) {
		const struct sy_header *hd = &m->headers.v[i];
		const char *v = hd->value, *end = hd->value + hd->value_len;

		if (strcmp(hd->name, "transfer-encoding") != 0)
			continue;
		while (v < end) {
			const char *s, *e;

			while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
				v++;
			s = v;
			while (v < end && *v != ',')
				v++;
			e = v;
			while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (e == s)
				continue;
			if (!sy_strnieq(s, (size_t)(e - s), "chunked", 7))
				return false;
			tokens++;
		}
	}
	return tokens == 1;
}

/*
 * Turn the request-target into :scheme, :authority and :path.  Forms:
 * origin ("/p?q"), absolute ("http://a/p"), authority (CONNECT "a:443")
 * and asterisk (OPTIONS "*").  Fragments and userinfo are refused.
 */
static int
h1_request_target(struct sy_h1_parser *p, bool connect, bool options)
{
	struct sy_headers *h = &p->msg->headers;
	const char *t = p->target.p, *scheme = "http";
	size_t n = p->target.len, i;
	const char *auth = p->host, *path = NULL;
	size_t auth_len = p->host != NULL ? strlen(p->host) : 0, path_len = 0;

	if (n == 0 || memchr(t, '#', n) != NULL)
		goto bad;
	if (connect) {
		const char *colon;
		size_t j;

		/* authority-form: host ":" port, nothing else. */
		if (t[0] == '/' || !h1_authority_ok(t, n) || memchr(t, '@', n) != NULL)
			goto bad;
		if ((colon = memrchr(t, ':', n)) == NULL || colon == t ||
		    (size_t)(colon - t) == n - 1 || colon[-1] == ':')
			goto bad;
		for (j = (size_t)(colon - t) + 1; j < n; j++)
			if (t[j] < '0' || t[j] > '9')
				goto bad;
		auth = t;
		auth_len = n;
	} else if (n == 1 && t[0] == '*') {
		if (!options)
			goto bad;
		path = t;
		path_len = 1;
	} else if (t[0] == '/') {
		path = t;
		path_len = n;
	} else {
		/* absolute-form */
		const char *rest, *end = t + n;

		if (n > 7 && sy_strnieq(t, 7, "http://", 7)) {
			rest = t + 7;
		} else if (n > 8 && sy_strnieq(t, 8, "https://", 8)) {
			rest = t + 8;
			scheme = "https";
		} else {
			goto bad;
		}
		for (i = 0; rest + i < end && rest[i] != '/' && rest[i] != '?'; i++)
			;
		if (!h1_authority_ok(rest, i) || memchr(rest, '@', i) != NULL)
			goto bad;
		auth = rest;
		auth_len = i;
		path = rest + i;
		path_len = (size_t)(end - path);
	}

	if (sy_headers_add(h, ":method", 7, llhttp_method_name(p->ll.method),
	    strlen(llhttp_method_name(p->ll.method))) == -1)
		return h1_nomem(p);
	if (!connect && sy_headers_add(h, ":scheme", 7, scheme, strlen(scheme)) == -1)
		return h1_nomem(p);
	if (auth != NULL && sy_headers_add(h, ":authority", 10, auth, auth_len) == -1)
		return h1_nomem(p);
	if (path != NULL) {
		int rc;

		if (path_len == 0 || path[0] == '?') {
			/* "http://a" or "http://a?q": the path is "/". */
			char *np = sy_arena_alloc(p->arena, path_len + 2);

			if (np == NULL)
				return h1_nomem(p);
			np[0] = '/';
			memcpy(np + 1, path, path_len);
			rc = sy_headers_add(h, ":path", 5, np, path_len + 1);
		} else {
			rc = sy_headers_add(h, ":path", 5, path, path_len);
		}
		if (rc == -1)
			return h1_nomem(p);
	}
	return 0;
bad:
	return h1_fail(p, 400, "invalid request target");
}

/*
 * The head is complete: check what needs the whole head, fill the
 * message, hand it to the caller, and tell llhttp whether a body follows
 * (1 = none, whatever the headers say).
 */
static int
h1_on_headers_complete(llhttp_t *ll)
{
	struct sy_h1_parser *p = h1_from(ll);
	struct sy_msg *m = p->msg;
	bool has_cl = (ll->flags & F_CONTENT_LENGTH) != 0;
	bool skip_body = false;
	int status = 0;
	char buf[8];

	p->state = H1_BODY;
	p->scanning = false;
	p->trailers = true;	/* any later field is a trailer */

	if (p->type == SY_H1_REQUEST && !p->version_done)
		return h1_fail(p, 505, "http version not supported");

	if (has_cl && p->seen_te)
		return h1_fail(p, 400, "content-length with transfer-encoding");
	if (has_cl && ll->content_length > INT64_MAX)
		return h1_fail(p, 400, "invalid content-length");
	if (p->seen_te && !h1_te_is_chunked(m))
		return h1_fail(p, 501, "unsupported transfer-encoding");

	m->content_length = has_cl ? (int64_t)ll->content_length : -1;
	m->chunked = p->seen_te;

	if (p->type == SY_H1_REQUEST) {
		bool connect = ll->method == HTTP_CONNECT;

		if (m->version == SY_HTTP_11 && !p->seen_host)
			return h1_fail(p, 400, "missing host header");
		if (h1_request_target(p, connect, ll->method == HTTP_OPTIONS) == -1)
			return -1;
		m->keep_alive = m->version == SY_HTTP_11 ?
		    !h1_connection_has(m, "close") : h1_connection_has(m, "keep-alive");
		/* RFC 9112 6.1: an HTTP/1.0 message with TE has faulty framing. */
		if (m->version == SY_HTTP_10 && p->seen_te)
			m->keep_alive = false;
		/* RFC 9110 7.8: an HTTP/1.0 Upgrade is ignored. */
		m->upgrade = m->version == SY_HTTP_11 &&
		    sy_headers_get(&m->headers, "upgrade") != NULL &&
		    h1_connection_has(m, "upgrade");
		m->has_body = !connect && (m->chunked || m->content_length > 0);
		p->tunnel = m->upgrade || connect;
	} else {
		status = ll->status_code;
		if (status < 100 || status > 599)
			return h1_fail(p, 502, "invalid status code");
		m->status = status;
		snprintf(buf, sizeof(buf), "%d", status);
		if (sy_headers_add(&m->headers, ":status", 7, buf, 3) == -1)
			return h1_nomem(p);
		if (status < 200 || status == 204 || status == 304 ||
		    p->req_method == H1_REQ_HEAD)
			skip_body = true;
		if (p->req_method == H1_REQ_CONNECT && status >= 200 && status < 300) {
			skip_body = true;
			p->tunnel = true;
		}
		if (status == 101)
			p->tunnel = true;
		m->upgrade = status == 101 &&
		    sy_headers_get(&m->headers, "upgrade") != NULL &&
		    h1_connection_has(m, "upgrade");
		m->has_body = !skip_body && (m->chunked || m->content_length != 0);
		m->keep_alive = m->version == SY_HTTP_11 ?
		    !h1_connection_has(m, "close") : h1_connection_has(m, "keep-alive");
		/* A body that ends with the connection ends the connection. */
		if (m->has_body && !m->chunked && m->content_length < 0)
			m->keep_alive = false;
	}

	if (p->cb.on_head != NULL && p->cb.on_head(p->ud, m) != 0)
		return h1_fail(p, 0, "callback failed");
	return skip_body ? 1 : 0;
}

static int
h1_on_body(llhttp_t *ll, const char *at, size_t n)
{
	struct sy_h1_parser *p = h1_from(ll);

	if (p->cb.on_data != NULL && n > 0 && p->cb.on_data(p->ud, at, n) != 0)
		return h1_fail(p, 0, "callback failed");
	return 0;
}

/* The last chunk: pause so that h1_scan can watch the trailer section. */
static int
h1_on_chunk_header(llhttp_t *ll)
{
	struct sy_h1_parser *p = h1_from(ll);

	if (ll->content_length != 0)
		return 0;
	p->trailer_start = true;
	return HPE_PAUSED;
}

static int
h1_on_message_complete(llhttp_t *ll)
{
	struct sy_h1_parser *p = h1_from(ll);

	p->state = H1_DONE;
	/* The exchange ends with the final response; 1xx are interim. */
	if (p->type == SY_H1_RESPONSE && (p->msg->status >= 200 || p->msg->status == 101))
		p->req_method = H1_REQ_OTHER;
	if (p->cb.on_end != NULL && p->cb.on_end(p->ud) != 0)
		return h1_fail(p, 0, "callback failed");
	/* Stop after every message: pipelining and tunnels need it. */
	return HPE_PAUSED;
}

static const llhttp_settings_t h1_settings = {
	.on_message_begin = h1_on_message_begin,
	.on_url = h1_on_url,
	.on_version = h1_on_version,
	.on_header_field = h1_on_header_field,
	.on_header_value = h1_on_header_value,
	.on_headers_complete = h1_on_headers_complete,
	.on_body = h1_on_body,
	.on_chunk_header = h1_on_chunk_header,
	.on_message_complete = h1_on_message_complete,
	.on_version_complete = h1_on_version_complete,
	.on_status_complete = h1_on_status_complete,
	.on_header_field_complete = h1_on_header_field_complete,
	.on_header_value_complete = h1_on_header_value_complete,
};

/* ---- public API ------------------------------------------------------- */

struct sy_h1_parser *
sy_h1_parser_new(enum sy_h1_type type, const struct sy_h1_limits *lim,
    const struct sy_h1_callbacks *cb, void *ud)
{
	struct sy_h1_parser *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->type = type;
	if (lim != NULL)
		p->lim = *lim;
	if (p->lim.max_head_bytes == 0)
		p->lim.max_head_bytes = H1_DEFAULT_MAX_HEAD;
	if (p->lim.max_headers == 0)
		p->lim.max_headers = H1_DEFAULT_MAX_HEADERS;
	if (cb != NULL)
		p->cb = *cb;
	p->ud = ud;
	llhttp_init(&p->ll, type == SY_H1_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE, &h1_settings);
	p->ll.data = p;
	p->state = H1_ERROR;	/* until the first reset gives an arena */
	p->err_status = 500;
	p->err_reason = "parser not reset";
	return p;
}

void
sy_h1_parser_free(struct sy_h1_parser *p)
{
	if (p == NULL)
		return;
	h1_scratch_free(&p->target);
	h1_scratch_free(&p->name);
	h1_scratch_free(&p->value);
	free(p);
}

void
sy_h1_parser_reset(struct sy_h1_parser *p, struct sy_arena *arena)
{
	llhttp_reset(&p->ll);
	p->arena = arena;
	p->msg = NULL;
	p->state = H1_IDLE;
	p->scanning = true;
	p->scan = H1_SCAN_FIRST;
	p->head_bytes = 0;
	p->trailer_start = false;
	p->nheaders = 0;
	p->ntrailers = 0;
	h1_scratch_trim(&p->target);
	h1_scratch_trim(&p->name);
	h1_scratch_trim(&p->value);
	p->version_len = 0;
	p->version[0] = '\0';
	p->version_done = false;
	p->line_done = false;
	p->in_value = false;
	p->trailers = false;
	p->in_trailer = false;
	p->host = NULL;
	p->seen_host = false;
	p->seen_te = false;
	p->tunnel = false;
	p->err_status = 0;
	p->err_reason = NULL;
}

void
sy_h1_parser_set_request_method(struct sy_h1_parser *p, const char *method)
{
	if (method != NULL && strcmp(method, "HEAD") == 0)
		p->req_method = H1_REQ_HEAD;
	else if (method != NULL && strcmp(method, "CONNECT") == 0)
		p->req_method = H1_REQ_CONNECT;
	else
		p->req_method = H1_REQ_OTHER;
}

enum h1_scan_err { H1_SCAN_OK, H1_SCAN_FOLD, H1_SCAN_TOO_LARGE };

/*
 * Scan head (or trailer) bytes before llhttp sees them.  Returns how many
 * of the n bytes may be fed to llhttp; *bad says why the byte right after
 * them must not be: a line starting with whitespace (obs-fold), or the
 * byte past max_head_bytes.  The error is recorded only once llhttp has
 * accepted the bytes before it, so that the first defect in the input is
 * the one reported, however the input is split.  The scanner stops right
 * after the empty line that ends the section.
 */
static size_t
h1_scan(struct sy_h1_parser *p, const char *s, size_t n, enum h1_scan_err *bad)
{
	size_t i;

	*bad = H1_SCAN_OK;
	if (p->scan == H1_SCAN_END)
		p->scan = H1_SCAN_LINE;	/* llhttp did not agree: keep going */
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (p->scan == H1_SCAN_BOL && (c == ' ' || c == '\t')) {
			*bad = H1_SCAN_FOLD;
			return i;
		}
		if (p->head_bytes >= p->lim.max_head_bytes) {
			*bad = H1_SCAN_TOO_LARGE;
			return i;
		}
		p->head_bytes++;
		switch (p->scan) {
		case H1_SCAN_FIRST:
			if (c != '\r' && c != '\n')
				p->scan = H1_SCAN_LINE;
			break;
		case H1_SCAN_LINE:
			if (c == '\n')
				p->scan = H1_SCAN_BOL;
			break;
		case H1_SCAN_BOL:
			if (c == '\r')
				p->scan = H1_SCAN_BOL_CR;
			else if (c == '\n')
				p->scan = H1_SCAN_END;
			else
				p->scan = H1_SCAN_LINE;
			break;
		case H1_SCAN_BOL_CR:
			p->scan = c == '\n' ? H1_SCAN_END : H1_SCAN_LINE;
			break;
		case H1_SCAN_END:
			break;
		}
		if (p->scan == H1_SCAN_END)
			return i + 1;
	}
	return n;
}

/* Status and reason for an llhttp error not raised by our callbacks. */
static void
h1_map_error(struct sy_h1_parser *p, llhttp_errno_t e)
{
	bool head = p->state == H1_HEAD || p->state == H1_IDLE;
	const char *v = p->version;

	switch (e) {
	case HPE_INVALID_METHOD:
		h1_fail(p, 400, "invalid method");
		break;
	case HPE_INVALID_URL:
		h1_fail(p, 400, "invalid request target");
		break;
	case HPE_INVALID_VERSION:
		/* Well-formed but unsupported ("HTTP/3.0") is a 505. */
		if (p->version_done)
			h1_fail(p, 400, p->type == SY_H1_REQUEST ?
			    "invalid request line" : "invalid status line");
		else if (p->version_len == 3 && v[0] >= '0' && v[0] <= '9' && v[1] == '.' &&
		    v[2] >= '0' && v[2] <= '9')
			h1_fail(p, 505, "http version not supported");
		else
			h1_fail(p, 400, "invalid http version");
		break;
	case HPE_PAUSED_H2_UPGRADE:
		h1_fail(p, 505, "http version not supported");
		break;
	case HPE_INVALID_STATUS:
		h1_fail(p, 400, "invalid status line");
		break;
	case HPE_INVALID_CONTENT_LENGTH:
		h1_fail(p, 400, "invalid content-length");
		break;
	case HPE_UNEXPECTED_CONTENT_LENGTH:
		h1_fail(p, 400, "conflicting content-length");
		break;
	case HPE_INVALID_TRANSFER_ENCODING:
		h1_fail(p, 400, "invalid transfer-encoding");
		break;
	case HPE_INVALID_CHUNK_SIZE:
		h1_fail(p, 400, "bad chunked encoding");
		break;
	case HPE_INVALID_EOF_STATE:
		h1_fail(p, 400, "incomplete message");
		break;
	case HPE_INVALID_HEADER_TOKEN:
	case HPE_CR_EXPECTED:
	case HPE_LF_EXPECTED:
	case HPE_UNEXPECTED_SPACE:
	case HPE_INVALID_CONSTANT:
	case HPE_STRICT:
		if (!head && p->in_trailer)
			h1_fail(p, 400, p->in_value ? "invalid header value" : "invalid header name");
		else if (!head && p->msg != NULL && p->msg->chunked)
			h1_fail(p, 400, "bad chunked encoding");
		else if (!head)
			h1_fail(p, 400, "malformed message");
		else if (!p->line_done)
			h1_fail(p, 400, p->type == SY_H1_REQUEST ?
			    "invalid request line" : "invalid status line");
		else if (p->in_value)
			h1_fail(p, 400, "invalid header value");
		else
			h1_fail(p, 400, "invalid header name");
		break;
	default:
		h1_fail(p, 400, "malformed message");
		break;
	}
}

static int
h1_error(struct sy_h1_parser *p, llhttp_errno_t e)
{
	if (p->err_reason == NULL)
		h1_map_error(p, e);
	/* A response we cannot parse is the upstream's fault; ENOMEM is ours. */
	if (p->type == SY_H1_RESPONSE && p->err_status != 0 && p->err_status != 500)
		p->err_status = 502;
	p->state = H1_ERROR;
	return SY_ERROR;
}

int
sy_h1_parse(struct sy_h1_parser *p, const char *data, size_t len, size_t *consumed)
{
	size_t pos = 0;

	*consumed = 0;
	if (p->state == H1_ERROR)
		return SY_ERROR;
	if (p->state == H1_DONE)
		return SY_DONE;
	while (pos < len) {
		size_t n = len - pos;
		enum h1_scan_err bad = H1_SCAN_OK;
		const char *ep;
		llhttp_errno_t e;

		if (p->scanning)
			n = h1_scan(p, data + pos, n, &bad);
		if (n > 0) {
			e = llhttp_execute(&p->ll, data + pos, n);
			ep = llhttp_get_error_pos(&p->ll);
			if (e == HPE_PAUSED && p->state == H1_DONE) {
				*consumed = (size_t)(ep - data);
				return SY_DONE;
			}
			if (e == HPE_PAUSED && p->trailer_start) {
				/* The trailer section starts at ep, at a line start. */
				p->trailer_start = false;
				llhttp_resume(&p->ll);
				p->scanning = true;
				p->scan = H1_SCAN_BOL;
				p->head_bytes = 0;
				pos = (size_t)(ep - data);
				continue;
			}
			if (e != HPE_OK) {
				if (ep != NULL && ep >= data + pos && ep <= data + len)
					pos = (size_t)(ep - data);
				*consumed = pos;
				return h1_error(p, e);
			}
			pos += n;
		}
		if (bad != H1_SCAN_OK) {
			if (bad == H1_SCAN_FOLD)
				h1_fail(p, 400, "obsolete line folding");
			else
				h1_fail(p, 431, "request header fields too large");
			*consumed = pos;
			return h1_error(p, HPE_OK);
		}
	}
	*consumed = pos;
	return SY_AGAIN;
}

int
sy_h1_parse_eof(struct sy_h1_parser *p)
{
	llhttp_errno_t e;

	switch (p->state) {
	case H1_ERROR:
		return SY_ERROR;
	case H1_DONE:
		return SY_OK;
	case H1_IDLE:
		/* Nothing, or only the CR/LF allowed between messages. */
		if (p->scan == H1_SCAN_FIRST)
			return SY_OK;
		break;
	default:
		break;
	}
	if (p->state == H1_BODY && llhttp_message_needs_eof(&p->ll)) {
		e = llhttp_finish(&p->ll);
		if ((e == HPE_OK || e == HPE_PAUSED) && p->state == H1_DONE)
			return SY_OK;
		return h1_error(p, e == HPE_OK ? HPE_INVALID_EOF_STATE : e);
	}
	if (p->state == H1_HEAD && p->scan == H1_SCAN_FIRST)
		return SY_OK;
	return h1_error(p, HPE_INVALID_EOF_STATE);
}

int
sy_h1_parser_error(const struct sy_h1_parser *p, const char **reason)
{
	if (reason != NULL)
		*reason = p->err_reason != NULL ? p->err_reason : "";
	return p->err_reason != NULL ? p->err_status : 0;
}

bool
sy_h1_parser_head_done(const struct sy_h1_parser *p)
{
	return p->state == H1_BODY || p->state == H1_DONE;
}

bool
sy_h1_parser_in_message(const struct sy_h1_parser *p)
{
	if (p->state == H1_BODY)
		return true;
	return (p->state == H1_IDLE || p->state == H1_HEAD) && p->scan != H1_SCAN_FIRST;
}

bool
sy_h1_parser_tunnel(const struct sy_h1_parser *p)
{
	return p->tunnel;
}

const char *
sy_h1_library_version(void)
{
	static char v[32];

	snprintf(v, sizeof(v), "%d.%d.%d", LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR,
	    LLHTTP_VERSION_PATCH);
	return v;
}

const struct sy_headers *
sy_h1_parser_trailers(const struct sy_h1_parser *p)
{
	return p->msg != NULL && p->msg->trailers.n > 0 ? &p->msg->trailers : NULL;
}
