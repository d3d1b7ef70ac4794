/*
 * headers.c - the version-blind message head: an ordered list of
 * (lower-case name, value) pairs whose strings and array live in the
 * message's arena, plus reason phrases and the hop-by-hop name list.
 * Nothing here parses or writes wire formats; the codecs do.  Invariants:
 * every string is NUL-terminated, names are stored lower-case, and
 * pseudo-headers (names starting with ':') always precede regular headers,
 * so sy_headers_add of a pseudo-header inserts it after the existing ones.
 * Nothing is freed individually: a grown array leaves the old one in the
 * arena, which dies with the stream.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "switchyard/http.h"

#define HEADERS_INITIAL_CAP 16

void
sy_headers_init(struct sy_headers *h, struct sy_arena *arena)
{
	h->v = NULL;
	h->n = 0;
	h->cap = 0;
	h->bytes = 0;
	h->arena = arena;
}

static bool
headers_name_is(const struct sy_header *hd, const char *name, size_t nlen)
{
	return hd->name_len == nlen && sy_strnieq(hd->name, hd->name_len, name, nlen);
}

static int
headers_grow(struct sy_headers *h)
{
	struct sy_header *v;
	uint32_t cap;

	if (h->n < h->cap)
		return 0;
	if (h->cap > UINT32_MAX / 2)
		goto fail;
	cap = h->cap == 0 ? HEADERS_INITIAL_CAP : h->cap * 2;
	v = sy_arena_alloc(h->arena, (size_t)cap * sizeof(*v));
	if (v == NULL)
		goto fail;
	if (h->n > 0)
		memcpy(v, h->v, (size_t)h->n * sizeof(*v));
	h->v = v;
	h->cap = cap;
	return 0;
fail:
	errno = ENOMEM;
	return -1;
}

/* Index of the first regular (non-pseudo) header, or n. */
static uint32_t
headers_pseudo_end(const struct sy_headers *h)
{
	uint32_t i;

	for (i = 0; i < h->n; i++)
		if (h->v[i].name_len == 0 || h->v[i].name[0] != ':')
			break;
	return i;
}

int
sy_headers_add(struct sy_headers *h, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	struct sy_header hd;
	uint32_t at;
	size_t i;

	if (nlen > UINT32_MAX || vlen > UINT32_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	if (headers_grow(h) == -1)
		return -1;
	if (vlen == 0)
		value = "";	/* callers may pass (NULL, 0) */
	hd.name = sy_arena_alloc(h->arena, nlen + 1);
	hd.value = sy_arena_strndup(h->arena, value, vlen);
	if (hd.name == NULL || hd.value == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < nlen; i++) {
		char c = name[i];

		hd.name[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	hd.name[nlen] = '\0';
	hd.name_len = (uint32_t)nlen;
	hd.value_len = (uint32_t)vlen;

	at = h->n;
	if (nlen > 0 && name[0] == ':') {
		at = headers_pseudo_end(h);
		memmove(&h->v[at + 1], &h->v[at], (size_t)(h->n - at) * sizeof(hd));
	}
	h->v[at] = hd;
	h->n++;
	h->bytes += nlen + vlen;
	return 0;
}

int
sy_headers_add_cstr(struct sy_headers *h, const char *name, const char *value)
{
	return sy_headers_add(h, name, strlen(name), value, strlen(value));
}

int
sy_headers_set(struct sy_headers *h, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value);
	uint32_t i, first = UINT32_MAX;
	char *copy;

	for (i = 0; i < h->n; i++) {
		if (headers_name_is(&h->v[i], name, nlen)) {
			first = i;
			break;
		}
	}
	if (first == UINT32_MAX)
		return sy_headers_add(h, name, nlen, value, vlen);
	if (vlen > UINT32_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	if ((copy = sy_arena_strndup(h->arena, value, vlen)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	h->bytes -= h->v[first].value_len;
	h->v[first].value = copy;
	h->v[first].value_len = (uint32_t)vlen;
	h->bytes += vlen;

	/* Drop the later duplicates, keeping the first one's position. */
	for (i = first + 1; i < h->n; ) {
		if (headers_name_is(&h->v[i], name, nlen)) {
			h->bytes -= h->v[i].name_len + h->v[i].value_len;
			memmove(&h->v[i], &h->v[i + 1], (size_t)(h->n - i - 1) * sizeof(h->v[0]));
			h->n--;
		} else {
			i++;
		}
	}
	return 0;
}

unsigned
sy_headers_remove(struct sy_headers *h, const char *name)
{
	size_t nlen = strlen(name);
	uint32_t i, j;
	unsigned removed = 0;

	for (i = 0, j = 0; i < h->n; i++) {
		if (headers_name_is(&h->v[i], name, nlen)) {
			h->bytes -= h->v[i].name_len + h->v[i].value_len;
			removed++;
			continue;
		}
		if (i != j)
			h->v[j] = h->v[i];
		j++;
	}
	h->n = j;
	return removed;
}

const struct sy_header *
sy_headers_get(const struct sy_headers *h, const char *name)
{
	size_t nlen = strlen(name);
	uint32_t i;

	for (i = 0; i < h->n; i++)
		if (headers_name_is(&h->v[i], name, nlen))
			return &h->v[i];
	return NULL;
}

const char *
sy_headers_value(const struct sy_headers *h, const char *name)
{
	const struct sy_header *hd = sy_headers_get(h, name);

	return hd != NULL ? hd->value : NULL;
}

unsigned
sy_headers_count(const struct sy_headers *h, const char *name)
{
	size_t nlen = strlen(name);
	uint32_t i;
	unsigned n = 0;

	for (i = 0; i < h->n; i++)
		if (headers_name_is(&h->v[i], name, nlen))
			n++;
	return n;
}

void
sy_msg_init(struct sy_msg *m, struct sy_arena *arena)
{
	sy_headers_init(&m->headers, arena);
	sy_headers_init(&m->trailers, arena);
	m->version = SY_HTTP_11;
	m->status = 0;
	m->content_length = -1;
	m->chunked = false;
	m->keep_alive = true;
	m->upgrade = false;
	m->has_body = false;
}

/* The IANA HTTP status code registry (RFC 9110 and its companions). */
static const struct {
	int status;
	const char *reason;
} http_reasons[] = {
	{ 100, "Continue" },
	{ 101, "Switching Protocols" },
	{ 102, "Processing" },
	{ 103, "Early Hints" },
	{ 200, "OK" },
	{ 201, "Created" },
	{ 202, "Accepted" },
	{ 203, "Non-Authoritative Information" },
	{ 204, "No Content" },
	{ 205, "Reset Content" },
	{ 206, "Partial Content" },
	{ 207, "Multi-Status" },
	{ 208, "Already Reported" },
	{ 226, "IM Used" },
	{ 300, "Multiple Choices" },
	{ 301, "Moved Permanently" },
	{ 302, "Found" },
	{ 303, "See Other" },
	{ 304, "Not Modified" },
	{ 305, "Use Proxy" },
	{ 307, "Temporary Redirect" },
	{ 308, "Permanent Redirect" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 402, "Payment Required" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 406, "Not Acceptable" },
	{ 407, "Proxy Authentication Required" },
	{ 408, "Request Timeout" },
	{ 409, "Conflict" },
	{ 410, "Gone" },
	{ 411, "Length Required" },
	{ 412, "Precondition Failed" },
	{ 413, "Content Too Large" },
	{ 414, "URI Too Long" },
	{ 415, "Unsupported Media Type" },
	{ 416, "Range Not Satisfiable" },
	{ 417, "Expectation Failed" },
	{ 418, "I'm a teapot" },
	{ 421, "Misdirected Request" },
	{ 422, "Unprocessable Content" },
	{ 423, "Locked" },
	{ 424, "Failed Dependency" },
	{ 425, "Too Early" },
	{ 426, "Upgrade Required" },
	{ 428, "Precondition Required" },
	{ 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 451, "Unavailable For Legal Reasons" },
	{ 500, "Internal Server Error" },
	{ 501, "Not Implemented" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
	{ 505, "HTTP Version Not Supported" },
	{ 506, "Variant Also Negotiates" },
	{ 507, "Insufficient Storage" },
	{ 508, "Loop Detected" },
	{ 510, "Not Extended" },
	{ 511, "Network Authentication Required" },
};

const char *
sy_http_reason(int status)
{
	size_t lo = 0, hi = SY_ARRAY_LEN(http_reasons);

	/* The table is sorted by status: binary search. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (http_reasons[mid].status == status)
			return http_reasons[mid].reason;
		if (http_reasons[mid].status < status)
			lo = mid + 1;
		else
			hi = mid;
	}
	return "Unknown";
}

/* RFC 9110 section 7.6.1 plus the de facto ones proxies must not forward. */
static const char *const http_hop_by_hop[] = {
	"connection",
	"keep-alive",
	"proxy-connection",
	"transfer-encoding",
	"te",
	"trailer",
	"upgrade",
	"proxy-authenticate",
	"proxy-authorization",
};

bool
sy_http_is_hop_by_hop(const char *name)
{
	size_t i;

	if (name == NULL)
		return false;
	for (i = 0; i < SY_ARRAY_LEN(http_hop_by_hop); i++)
		if (sy_strieq(name, http_hop_by_hop[i]))
			return true;
	return false;
}

bool
sy_http_is_token(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			continue;
		if (c == '\0' || strchr("!#$%&'*+-.^_`|~", c) == NULL)
			return false;
	}
	return true;
}
