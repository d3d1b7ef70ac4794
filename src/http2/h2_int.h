/*
 * h2_int.h - what the HTTP/2 server and client sessions share: session
 * options from http2_protocol_options, the hardening that nghttp2 1.52
 * lacks (flood accounting), and the translation between nghttp2's
 * name/value pairs and struct sy_msg.  Private to src/http2/.
 */
#ifndef SWITCHYARD_H2_INT_H
#define SWITCHYARD_H2_INT_H

#include <nghttp2/nghttp2.h>

#include "switchyard/conf.h"
#include "switchyard/http.h"
#include "switchyard/http2.h"
#include "switchyard/stats.h"

/* Frames queued in nghttp2 beyond this: the peer does not read (outbound flood). */
#define SY_H2_OUTBOUND_QUEUE_MAX 10000
/* Consecutive empty DATA frames (no END_STREAM) before GOAWAY. */
#define SY_H2_EMPTY_FRAMES_MAX 100
/* PRIORITY frames per opened stream (plus one stream's worth). */
#define SY_H2_PRIORITY_PER_STREAM 100
/* SETTINGS + PING frames per second. */
#define SY_H2_CONTROL_PER_SEC 1000
/* Stream resets (either way) bucket: burst and refill per second. */
#define SY_H2_RESET_BURST 1000
#define SY_H2_RESET_RATE 33
/* CONTINUATION frames after one HEADERS. */
#define SY_H2_MAX_CONTINUATIONS 8
/* Header blocks that overflowed max_header_list_kb before GOAWAY. */
#define SY_H2_HEADER_OVERFLOW_MAX 10

/* Per-connection flood accounting. */
struct sy_h2_guard {
	uint32_t stats_h2;		/* first http2.* stat of the scope */
	uint64_t streams_opened;
	uint64_t data_frames_sent;
	uint64_t priority_frames;
	uint64_t window_update_frames;
	unsigned empty_data_run;
	int64_t control_window_ms;
	unsigned control_frames;
	double reset_tokens;
	int64_t reset_refill_ms;
	unsigned header_overflows;
	uint32_t goaway_code;		/* set once a flood was found */
};

void sy_h2_guard_init(struct sy_h2_guard *g, uint32_t stats_h2);
/*
 * Account one received frame header (from on_begin_frame).  Returns 0, or
 * an HTTP/2 error code (ENHANCE_YOUR_CALM) once a limit is passed; the
 * matching flood counter was incremented.
 */
uint32_t sy_h2_guard_frame(struct sy_h2_guard *g, const nghttp2_frame_hd *hd);
/* A stream was reset (received or sent): nonzero when resets flood. */
uint32_t sy_h2_guard_reset(struct sy_h2_guard *g);
void sy_h2_guard_stat(const struct sy_h2_guard *g, unsigned stat, int64_t v);

/* nghttp2 options for a session under these http2_protocol_options. */
nghttp2_option *sy_h2_option_new(const struct sy_conf_http2 *o, bool server);
/* Our SETTINGS frame; n entries written to iv (room for 6). */
size_t sy_h2_settings(const struct sy_conf_http2 *o, bool server, nghttp2_settings_entry *iv);

/*
 * Turn a message into name/value pairs for nghttp2 (arena memory).
 * Requests: pseudo-headers first (:method, :scheme, :authority, :path,
 * :protocol), Host folded into :authority; responses: :status first.
 * Connection-specific headers (Connection and what it names, Keep-Alive,
 * Proxy-Connection, Transfer-Encoding, Upgrade, TE other than
 * "trailers") are left out.  NULL on ENOMEM.
 */
nghttp2_nv *sy_h2_nv_from_msg(const struct sy_msg *m, bool request, struct sy_arena *arena,
    size_t *n);
/* Trailers: regular fields only. */
nghttp2_nv *sy_h2_nv_from_trailers(const struct sy_headers *t, struct sy_arena *arena, size_t *n);

/*
 * A request head received over HTTP/2 is complete: check :authority
 * against Host (both and different: -1, answer 400), move Host into
 * :authority, join cookie crumbs with "; ", read content-length.  0 or
 * -1 with *why set (static).
 */
int sy_h2_request_finish(struct sy_msg *m, bool end_stream, const char **why);
/* A response head: :status and content-length.  0 or -1. */
int sy_h2_response_finish(struct sy_msg *m, bool end_stream);

#endif
