/*
 * buffer.c - the "buffer" filter: holds the whole request body, then
 * passes head and body on together; a body over max_request_bytes gets a
 * 413.  It is HTTP-only: upgrade payload never ends, so an accepted
 * upgrade passes straight through it (custom upgrade chains refuse it at
 * configuration time, which is why those chains exist).
 */
#include "switchyard/conf.h"
#include "switchyard/filter.h"
#include "switchyard/hcm.h"
#include "switchyard/stats.h"

struct buffer_state {
	struct sy_msg *head;	/* held head, in the stream's arena */
	struct sy_buf body;
	bool held;
};

static enum sy_filter_status
buffer_decode_headers(struct sy_filter *f, struct sy_msg *m, bool end_stream)
{
	struct buffer_state *st = f->state;

	if (end_stream || f->stream->upgrade)
		return SY_FILTER_CONTINUE;
	if (m->content_length > f->conf->max_request_bytes) {
		static const char msg[] = "request body too large\n";

		sy_hcm_stat_inc(f->stream->http, SY_HTTP_downstream_rq_too_large);
		f->stream->want_close = true;
		sy_hcm_local_reply(f->stream, 413, msg, sizeof(msg) - 1);
		return SY_FILTER_STOP;
	}
	st->head = m;
	st->held = true;
	return SY_FILTER_STOP;
}

static enum sy_filter_status
buffer_decode_data(struct sy_filter *f, struct sy_buf *data, bool end_stream)
{
	struct buffer_state *st = f->state;

	if (!st->held)
		return SY_FILTER_CONTINUE;
	if ((int64_t)(sy_buf_len(&st->body) + sy_buf_len(data)) > f->conf->max_request_bytes) {
		static const char msg[] = "request body too large\n";

		sy_hcm_stat_inc(f->stream->http, SY_HTTP_downstream_rq_too_large);
		st->held = false;
		sy_buf_release(&st->body);
		sy_buf_consume(data, sy_buf_len(data));
		f->stream->want_close = true;
		sy_hcm_local_reply(f->stream, 413, msg, sizeof(msg) - 1);
		return SY_FILTER_STOP;
	}
	if (sy_buf_append(&st->body, sy_buf_rpos(data), sy_buf_len(data)) == -1) {
		f->stream->want_close = true;
		sy_hcm_local_reply(f->stream, 500, NULL, 0);
		return SY_FILTER_STOP;
	}
	sy_buf_consume(data, sy_buf_len(data));
	if (!end_stream)
		return SY_FILTER_STOP;
	st->held = false;
	sy_filter_decode_headers_next(f, st->head, false);
	if (!f->stream->local_reply)
		sy_filter_decode_data_next(f, &st->body, true);
	sy_buf_release(&st->body);
	return SY_FILTER_STOP;
}

/* Trailers end the body: pass on head, body and then them. */
static enum sy_filter_status
buffer_decode_trailers(struct sy_filter *f, struct sy_headers *t)
{
	struct buffer_state *st = f->state;

	if (!st->held)
		return SY_FILTER_CONTINUE;
	st->held = false;
	sy_filter_decode_headers_next(f, st->head, false);
	if (!f->stream->local_reply && sy_buf_len(&st->body) > 0)
		sy_filter_decode_data_next(f, &st->body, false);
	if (!f->stream->local_reply)
		sy_filter_decode_trailers_next(f, t);
	sy_buf_release(&st->body);
	return SY_FILTER_STOP;
}

static void
buffer_destroy(struct sy_filter *f)
{
	struct buffer_state *st = f->state;

	sy_buf_release(&st->body);
}

const struct sy_filter_type sy_filter_buffer = {
	.name = "buffer",
	.state_size = sizeof(struct buffer_state),
	.decode_headers = buffer_decode_headers,
	.decode_data = buffer_decode_data,
	.decode_trailers = buffer_decode_trailers,
	.destroy = buffer_destroy,
};
