/*
 * http.h - the one header representation shared by every HTTP version.
 * Codecs turn wire bytes into a struct sy_msg and back; everything above
 * them is version-blind.  Names are stored lower-case.  Request and status
 * lines become pseudo-headers (":method", ":path", ":authority", ":scheme",
 * ":protocol", ":status"), which always come first, as in HTTP/2; an
 * HTTP/1.1 Host header is carried as ":authority".  All strings are copied
 * into the message's arena and NUL-terminated, so they outlive the codec's
 * input buffer.
 */
#ifndef SWITCHYARD_HTTP_H
#define SWITCHYARD_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "switchyard/core.h"

struct sy_header {
	char *name;
	char *value;
	uint32_t name_len;
	uint32_t value_len;
};

struct sy_headers {
	struct sy_header *v;
	uint32_t n, cap;
	uint64_t bytes;		/* sum of name and value lengths */
	struct sy_arena *arena;	/* owner of every string and of v */
};

enum sy_http_version { SY_HTTP_10 = 10, SY_HTTP_11 = 11, SY_HTTP_2 = 20 };

/* A message head: a request or a response, any HTTP version. */
struct sy_msg {
	struct sy_headers headers;
	int version;		/* enum sy_http_version */
	int status;		/* responses; 0 for requests */
	int64_t content_length;	/* -1 when absent */
	bool chunked;		/* HTTP/1.1 Transfer-Encoding: chunked */
	bool keep_alive;	/* HTTP/1 persistence as the peer asked */
	bool upgrade;		/* HTTP/1 Upgrade + Connection: upgrade */
	bool has_body;		/* a body follows the head */
	struct sy_headers trailers;	/* chunked trailer fields, filled at the end */
};

void sy_headers_init(struct sy_headers *h, struct sy_arena *arena);
/* Append a copy; the name is lower-cased.  0 or -1 (ENOMEM). */
int sy_headers_add(struct sy_headers *h, const char *name, size_t nlen,
    const char *value, size_t vlen);
int sy_headers_add_cstr(struct sy_headers *h, const char *name, const char *value);
/* Replace every header called name by one with value (or append). */
int sy_headers_set(struct sy_headers *h, const char *name, const char *value);
/* Remove every header called name; returns how many were removed. */
unsigned sy_headers_remove(struct sy_headers *h, const char *name);
/* First header called name (lower-case), or NULL. */
const struct sy_header *sy_headers_get(const struct sy_headers *h, const char *name);
const char *sy_headers_value(const struct sy_headers *h, const char *name);
unsigned sy_headers_count(const struct sy_headers *h, const char *name);

void sy_msg_init(struct sy_msg *m, struct sy_arena *arena);
static inline const char *sy_msg_method(const struct sy_msg *m) { return sy_headers_value(&m->headers, ":method"); }
static inline const char *sy_msg_path(const struct sy_msg *m) { return sy_headers_value(&m->headers, ":path"); }
static inline const char *sy_msg_authority(const struct sy_msg *m) { return sy_headers_value(&m->headers, ":authority"); }

/* "OK" for 200 etc.; "Unknown" otherwise. */
const char *sy_http_reason(int status);
/* Is [s, s+n) a non-empty RFC 9110 token (tchar only)? */
bool sy_http_is_token(const char *s, size_t n);
/* Is this a hop-by-hop header name (connection, keep-alive, te, ...)? */
bool sy_http_is_hop_by_hop(const char *name);

#endif
