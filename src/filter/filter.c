/*
 * filter.c - the chain mechanics: building a stream's chain from the
 * configuration and iterating it.  Decoding runs first to last, encoding
 * last to first; a STOP ends the iteration where it is, and the filter
 * that stopped resumes it later from its own position.  After a local
 * reply the stream ignores further decoding.  Filter types are found by
 * name in one small registry; each type lives in its own file.
 */
#include <stdlib.h>
#include <string.h>

#include "switchyard/conf.h"
#include "switchyard/filter.h"
#include "switchyard/hcm.h"

static const struct sy_filter_type *const filter_registry[] = {
	&sy_filter_router,
	&sy_filter_buffer,
	&sy_filter_header_mutation,
};

const struct sy_filter_type *
sy_filter_type_find(const char *name)
{
	size_t i;

	for (i = 0; i < SY_ARRAY_LEN(filter_registry); i++)
		if (strcmp(filter_registry[i]->name, name) == 0)
			return filter_registry[i];
	return NULL;
}

int
sy_filter_chain_build(struct sy_stream *s, const struct sy_conf_filter *confs, unsigned n)
{
	size_t size, off;
	unsigned i;
	char *block;

	/*
	 * One allocation for the array and every filter's state, outside the
	 * stream's arena: a tunnel drops the arena (sy_hcm_stream_compact)
	 * while its filters live on.
	 */
	size = ((n ? n : 1) * sizeof(*s->filters) + 15) & ~(size_t)15;
	for (i = 0; i < n; i++) {
		const struct sy_filter_type *t = sy_filter_type_find(confs[i].name);

		if (t == NULL)
			return -1;	/* the configuration check makes this impossible */
		size += (t->state_size + 15) & ~(size_t)15;
	}
	if ((block = calloc(1, size)) == NULL)
		return -1;
	s->filters = (struct sy_filter *)(void *)block;
	off = ((n ? n : 1) * sizeof(*s->filters) + 15) & ~(size_t)15;
	for (i = 0; i < n; i++) {
		struct sy_filter *f = &s->filters[i];

		f->type = sy_filter_type_find(confs[i].name);
		f->conf = &confs[i];
		f->stream = s;
		f->index = i;
		if (f->type->state_size > 0) {
			f->state = block + off;
			off += (f->type->state_size + 15) & ~(size_t)15;
		}
		s->nfilters = i + 1;
		if (f->type->init != NULL && f->type->init(f) == -1)
			return -1;
	}
	return 0;
}

void
sy_filter_chain_destroy(struct sy_stream *s)
{
	unsigned i;

	for (i = s->nfilters; i-- > 0;)
		if (s->filters[i].type->destroy != NULL)
			s->filters[i].type->destroy(&s->filters[i]);
	s->nfilters = 0;
	free(s->filters);
	s->filters = NULL;
}

static bool
filter_decoding_over(const struct sy_stream *s)
{
	return s->local_reply;
}

static void
filter_decode_headers_from(struct sy_stream *s, unsigned i, struct sy_msg *m, bool end_stream)
{
	for (; i < s->nfilters && !filter_decoding_over(s); i++) {
		struct sy_filter *f = &s->filters[i];

		if (f->type->decode_headers != NULL &&
		    f->type->decode_headers(f, m, end_stream) == SY_FILTER_STOP)
			return;
	}
}

static void
filter_decode_data_from(struct sy_stream *s, unsigned i, struct sy_buf *data, bool end_stream)
{
	for (; i < s->nfilters && !filter_decoding_over(s); i++) {
		struct sy_filter *f = &s->filters[i];

		if (f->type->decode_data != NULL &&
		    f->type->decode_data(f, data, end_stream) == SY_FILTER_STOP)
			return;
	}
}

/* Encoding runs from filter i down to 0, then to the codec. */
static void
filter_encode_headers_from(struct sy_stream *s, int i, struct sy_msg *m, bool end_stream)
{
	for (; i >= 0; i--) {
		struct sy_filter *f = &s->filters[i];

		if (f->type->encode_headers != NULL &&
		    f->type->encode_headers(f, m, end_stream) == SY_FILTER_STOP)
			return;
	}
	sy_hcm_send_headers(s, m, end_stream);
}

static void
filter_encode_data_from(struct sy_stream *s, int i, struct sy_buf *data, bool end_stream)
{
	for (; i >= 0; i--) {
		struct sy_filter *f = &s->filters[i];

		if (f->type->encode_data != NULL &&
		    f->type->encode_data(f, data, end_stream) == SY_FILTER_STOP)
			return;
	}
	sy_hcm_send_data(s, data, end_stream);
}

static void
filter_decode_trailers_from(struct sy_stream *s, unsigned i, struct sy_headers *t)
{
	for (; i < s->nfilters && !filter_decoding_over(s); i++) {
		struct sy_filter *f = &s->filters[i];

		if (f->type->decode_trailers != NULL &&
		    f->type->decode_trailers(f, t) == SY_FILTER_STOP)
			return;
	}
}

static void
filter_encode_trailers_from(struct sy_stream *s, int i, struct sy_headers *t)
{
	for (; i >= 0; i--) {
		struct sy_filter *f = &s->filters[i];

		if (f->type->encode_trailers != NULL &&
		    f->type->encode_trailers(f, t) == SY_FILTER_STOP)
			return;
	}
	sy_hcm_send_trailers(s, t);
}

void
sy_filter_decode_trailers(struct sy_stream *s, struct sy_headers *t)
{
	filter_decode_trailers_from(s, 0, t);
}

void
sy_filter_encode_trailers(struct sy_stream *s, struct sy_headers *t)
{
	filter_encode_trailers_from(s, (int)s->nfilters - 2, t);
}

void
sy_filter_decode_trailers_next(struct sy_filter *f, struct sy_headers *t)
{
	filter_decode_trailers_from(f->stream, f->index + 1, t);
}

void
sy_filter_encode_trailers_next(struct sy_filter *f, struct sy_headers *t)
{
	filter_encode_trailers_from(f->stream, (int)f->index - 1, t);
}

void
sy_filter_decode_headers(struct sy_stream *s, struct sy_msg *m, bool end_stream)
{
	filter_decode_headers_from(s, 0, m, end_stream);
}

void
sy_filter_decode_data(struct sy_stream *s, struct sy_buf *data, bool end_stream)
{
	filter_decode_data_from(s, 0, data, end_stream);
}

void
sy_filter_encode_headers(struct sy_stream *s, struct sy_msg *m, bool end_stream)
{
	/* The router (last) produces responses: encoding starts before it. */
	filter_encode_headers_from(s, (int)s->nfilters - 2, m, end_stream);
}

void
sy_filter_encode_data(struct sy_stream *s, struct sy_buf *data, bool end_stream)
{
	filter_encode_data_from(s, (int)s->nfilters - 2, data, end_stream);
}

void
sy_filter_decode_headers_next(struct sy_filter *f, struct sy_msg *m, bool end_stream)
{
	filter_decode_headers_from(f->stream, f->index + 1, m, end_stream);
}

void
sy_filter_decode_data_next(struct sy_filter *f, struct sy_buf *data, bool end_stream)
{
	filter_decode_data_from(f->stream, f->index + 1, data, end_stream);
}

void
sy_filter_encode_headers_next(struct sy_filter *f, struct sy_msg *m, bool end_stream)
{
	filter_encode_headers_from(f->stream, (int)f->index - 1, m, end_stream);
}

void
sy_filter_encode_data_next(struct sy_filter *f, struct sy_buf *data, bool end_stream)
{
	filter_encode_data_from(f->stream, (int)f->index - 1, data, end_stream);
}

void
sy_filter_downstream_writable(struct sy_stream *s)
{
	unsigned i;

	for (i = 0; i < s->nfilters; i++)
		if (s->filters[i].type->on_downstream_writable != NULL)
			s->filters[i].type->on_downstream_writable(&s->filters[i]);
}
