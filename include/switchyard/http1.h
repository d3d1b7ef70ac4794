/*
 * http1.h - the HTTP/1.1 codec: llhttp underneath, struct sy_msg on top.
 * Parsing is strict: besides llhttp's strict mode it rejects obs-fold,
 * CR/LF/NUL inside names or values, versions other than 1.0 and 1.1, a
 * second Host, oversize heads (431) and too many headers (431).  The
 * parser pauses after each complete message so pipelined requests are
 * handled one at a time; unconsumed bytes stay with the caller.
 * llhttp.h is included only by src/http1/.
 */
#ifndef SWITCHYARD_HTTP1_H
#define SWITCHYARD_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchyard/core.h"
#include "switchyard/http.h"

enum sy_h1_type { SY_H1_REQUEST, SY_H1_RESPONSE };

struct sy_h1_limits {
	size_t max_head_bytes;	/* request line + headers; 431 beyond */
	unsigned max_headers;	/* header count; 431 beyond */
};

/*
 * Callbacks.  on_head gets a complete head in a message owned by the
 * caller's arena (see sy_h1_parser_init); on_data gets body bytes (already
 * de-chunked) that point into the caller's input, valid during the call
 * only; on_end marks the end of the message.  Returning non-zero from any
 * callback stops parsing with SY_ERROR and status 0 (the caller's choice).
 */
struct sy_h1_callbacks {
	int (*on_head)(void *ud, struct sy_msg *msg);
	int (*on_data)(void *ud, const char *p, size_t n);
	int (*on_end)(void *ud);
};

struct sy_h1_parser;	/* opaque; holds the llhttp state */

struct sy_h1_parser *sy_h1_parser_new(enum sy_h1_type type, const struct sy_h1_limits *lim,
    const struct sy_h1_callbacks *cb, void *ud);
void sy_h1_parser_free(struct sy_h1_parser *p);
/*
 * Prepare for the next message: the head will be built in arena (which
 * the caller owns, usually the stream's).  Must be called before the
 * first sy_h1_parse and after every SY_DONE.
 */
void sy_h1_parser_reset(struct sy_h1_parser *p, struct sy_arena *arena);
/*
 * For responses: the request was HEAD, or was a CONNECT (no body).  It
 * holds for one exchange: interim 1xx responses keep it, the final
 * response (or a 101) clears it; sy_h1_parser_reset does not touch it.
 */
void sy_h1_parser_set_request_method(struct sy_h1_parser *p, const char *method);

/*
 * Feed bytes.  *consumed tells how many were used.  Returns SY_AGAIN
 * (all consumed, message not finished), SY_DONE (a message ended, or an
 * upgrade head was parsed: remaining bytes belong to the next message or
 * to the tunnel), or SY_ERROR with sy_h1_parser_error() describing it.
 * SY_DONE and SY_ERROR stick (consumed 0) until sy_h1_parser_reset; after
 * an error the framing is lost and the connection must be closed.
 */
int sy_h1_parse(struct sy_h1_parser *p, const char *data, size_t len, size_t *consumed);
/* End of input from the peer: SY_OK if a message may end here, else SY_ERROR. */
int sy_h1_parse_eof(struct sy_h1_parser *p);
/*
 * Status to answer with (400, 413, 431, 501, 505) and a short reason; 0
 * when a callback failed or nothing failed.  A response parser reports
 * 502 for every protocol error (500 for out of memory in both).
 */
int sy_h1_parser_error(const struct sy_h1_parser *p, const char **reason);
/* True once the head of the current message was delivered. */
bool sy_h1_parser_head_done(const struct sy_h1_parser *p);
/* True when some bytes of a message were seen but the message is not done. */
bool sy_h1_parser_in_message(const struct sy_h1_parser *p);
/*
 * True once the head says that the bytes after this message are not HTTP:
 * an HTTP/1.1 Upgrade request or a CONNECT request (payload for a tunnel,
 * if the upstream agrees), a 101 response, or a 2xx answer to a CONNECT.
 * Valid from on_head until the next sy_h1_parser_reset.
 */
bool sy_h1_parser_tunnel(const struct sy_h1_parser *p);

/*
 * Serialise a head.  Pseudo-headers become the request or status line;
 * ":authority" becomes Host.  Appends to out; 0 or -1 (ENOMEM).
 */
int sy_h1_emit_request_head(struct sy_buf *out, const struct sy_msg *m);
int sy_h1_emit_response_head(struct sy_buf *out, const struct sy_msg *m);
/* Chunked body helpers. */
int sy_h1_emit_chunk(struct sy_buf *out, const void *p, size_t n);
int sy_h1_emit_last_chunk(struct sy_buf *out);

/*
 * Trailer fields of the current message (chunked bodies), complete once
 * on_end runs; NULL when there were none.  They live in the message's
 * arena like its head.
 */
const struct sy_headers *sy_h1_parser_trailers(const struct sy_h1_parser *p);
/* Last chunk followed by trailer fields (none: plain "0\r\n\r\n"). */
int sy_h1_emit_last_chunk_trailers(struct sy_buf *out, const struct sy_headers *trailers);

/* "8.1.0": the llhttp this binary was built with (for -V). */
const char *sy_h1_library_version(void);

#endif
