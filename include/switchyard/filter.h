/*
 * filter.h - the HTTP filter chain of a stream.  A chain is an ordered
 * array of filters ending with the router.  Requests (and client->upstream
 * upgrade payload) are decoded from the first filter to the last;
 * responses (and upstream->client payload) are encoded from the last to
 * the first, then handed to the codec.  A callback returns CONTINUE to pass
 * its (possibly modified) input on, or STOP to hold it: a filter that
 * stopped resumes later by injecting from its own position with
 * sy_filter_decode_*_next / sy_filter_encode_*_next, or ends the stream
 * with a local reply (sy_hcm_local_reply).  Adding a filter means one
 * file in src/filter/ and one line in the registry (filter.c).
 */
#ifndef SWITCHYARD_FILTER_H
#define SWITCHYARD_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "switchyard/core.h"
#include "switchyard/http.h"

struct sy_stream;
struct sy_conf_filter;

enum sy_filter_status { SY_FILTER_CONTINUE, SY_FILTER_STOP };

struct sy_filter;

typedef enum sy_filter_status sy_filter_headers_fn(struct sy_filter *f, struct sy_msg *m,
    bool end_stream);
/* data holds the bytes; a filter may consume, change or add to them. */
typedef enum sy_filter_status sy_filter_data_fn(struct sy_filter *f, struct sy_buf *data,
    bool end_stream);
/* Trailer fields: they always end their direction. */
typedef enum sy_filter_status sy_filter_trailers_fn(struct sy_filter *f, struct sy_headers *t);

struct sy_filter_type {
	const char *name;
	size_t state_size;		/* per-stream state, zeroed, in the stream's arena */
	int (*init)(struct sy_filter *f);	/* 0 or -1 */
	sy_filter_headers_fn *decode_headers;	/* NULL: continue */
	sy_filter_data_fn *decode_data;
	sy_filter_trailers_fn *decode_trailers;
	sy_filter_headers_fn *encode_headers;
	sy_filter_data_fn *encode_data;
	sy_filter_trailers_fn *encode_trailers;
	/* Downstream wants more response bytes (the router resumes reading). */
	void (*on_downstream_writable)(struct sy_filter *f);
	/* The stream ends (normally or not): release everything. */
	void (*destroy)(struct sy_filter *f);
};

struct sy_filter {
	const struct sy_filter_type *type;
	const struct sy_conf_filter *conf;
	struct sy_stream *stream;
	void *state;
	unsigned index;
};

/* Filter type by name, or NULL. */
const struct sy_filter_type *sy_filter_type_find(const char *name);

/* Build the chain of s from conf entries (arena memory).  0 or -1. */
int sy_filter_chain_build(struct sy_stream *s, const struct sy_conf_filter *confs, unsigned n);
void sy_filter_chain_destroy(struct sy_stream *s);

/* Start decoding from the first filter. */
void sy_filter_decode_headers(struct sy_stream *s, struct sy_msg *m, bool end_stream);
void sy_filter_decode_data(struct sy_stream *s, struct sy_buf *data, bool end_stream);
/* Start encoding from the last filter (the router calls these). */
void sy_filter_encode_headers(struct sy_stream *s, struct sy_msg *m, bool end_stream);
void sy_filter_encode_data(struct sy_stream *s, struct sy_buf *data, bool end_stream);
void sy_filter_decode_trailers(struct sy_stream *s, struct sy_headers *t);
void sy_filter_encode_trailers(struct sy_stream *s, struct sy_headers *t);
/* Resume after f: used by a filter that stopped. */
void sy_filter_decode_headers_next(struct sy_filter *f, struct sy_msg *m, bool end_stream);
void sy_filter_decode_data_next(struct sy_filter *f, struct sy_buf *data, bool end_stream);
void sy_filter_encode_headers_next(struct sy_filter *f, struct sy_msg *m, bool end_stream);
void sy_filter_encode_data_next(struct sy_filter *f, struct sy_buf *data, bool end_stream);
void sy_filter_decode_trailers_next(struct sy_filter *f, struct sy_headers *t);
void sy_filter_encode_trailers_next(struct sy_filter *f, struct sy_headers *t);
/* Tell every filter the client can take more (back-pressure released). */
void sy_filter_downstream_writable(struct sy_stream *s);

extern const struct sy_filter_type sy_filter_router;
extern const struct sy_filter_type sy_filter_buffer;
extern const struct sy_filter_type sy_filter_header_mutation;

#endif
