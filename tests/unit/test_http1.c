/*
 * test_http1.c - unit tests for the HTTP/1.1 codec (src/http1/h1_parse.c
 * and h1_emit.c).  Every case is a table row fed three ways: in one
 * piece, byte by byte, and in 7-byte slices; the three transcripts (heads,
 * bodies, ends, the final state, the error) must be identical, and must
 * equal the row's expectation.  Valid heads are also emitted and parsed
 * again (round trip).  The allocation-failure test replaces malloc for
 * this binary only and is skipped under AddressSanitizer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchyard/http1.h"
#include "unit.h"

/* ---- transcript recorder -------------------------------------------------- */

struct rec {
	FILE *f;
	char *text;
	size_t text_len;
	struct sy_h1_parser *p;
	char *body;		/* body bytes of the current message */
	size_t body_len, body_cap;
	bool roundtrip;		/* emit every head and parse it again */
	const char *method;	/* responses: the request's method */
	const struct sy_h1_limits *lim;
	int fail_in;		/* 1 head, 2 data, 3 end: that callback fails */
	char *rt_dump;		/* round trip: the head parsed again */
};

static void
dump_msg(FILE *f, const struct sy_msg *m, bool tunnel)
{
	uint32_t i;

	fprintf(f, "head v=%d status=%d cl=%lld chunked=%d ka=%d upgrade=%d body=%d tunnel=%d\n",
	    m->version, m->status, (long long)m->content_length, m->chunked, m->keep_alive,
	    m->upgrade, m->has_body, tunnel);
	for (i = 0; i < m->headers.n; i++)
		fprintf(f, "  %s: %s\n", m->headers.v[i].name, m->headers.v[i].value);
}

/*
 * What a round trip must preserve: the head itself.  Whether a body
 * follows (and so keep-alive for EOF-delimited responses) also depends on
 * the request method, which the second parse does not know.
 */
static void
dump_head(FILE *f, const struct sy_msg *m)
{
	uint32_t i;

	fprintf(f, "head v=%d status=%d cl=%lld chunked=%d upgrade=%d\n",
	    m->version, m->status, (long long)m->content_length, m->chunked, m->upgrade);
	for (i = 0; i < m->headers.n; i++)
		fprintf(f, "  %s: %s\n", m->headers.v[i].name, m->headers.v[i].value);
}

static void
rec_flush_body(struct rec *r)
{
	size_t i;

	if (r->body_len == 0)
		return;
	fputs("body \"", r->f);
	for (i = 0; i < r->body_len; i++) {
		unsigned char c = (unsigned char)r->body[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			fprintf(r->f, "\\x%02x", c);
		else
			fputc(c, r->f);
	}
	fputs("\"\n", r->f);
	r->body_len = 0;
}

static char *roundtrip_head(const struct rec *r, const struct sy_msg *m);

static int
rec_on_head(void *ud, struct sy_msg *m)
{
	struct rec *r = ud;

	dump_msg(r->f, m, sy_h1_parser_tunnel(r->p));
	ck_assert(sy_h1_parser_head_done(r->p));
	ck_assert(sy_h1_parser_in_message(r->p));
	if (r->roundtrip) {
		char *again = roundtrip_head(r, m);
		char *orig;
		size_t len;
		FILE *f = open_memstream(&orig, &len);

		dump_head(f, m);
		fclose(f);
		ck_assert_msg(again != NULL, "round trip did not parse:\n%s", orig);
		ck_assert_str_eq(again, orig);
		free(again);
		free(orig);
	}
	return r->fail_in == 1 ? -1 : 0;
}

static int
rec_on_data(void *ud, const char *p, size_t n)
{
	struct rec *r = ud;

	ck_assert_uint_gt(n, 0);
	if (r->body_len + n > r->body_cap) {
		r->body_cap = (r->body_len + n) * 2;
		r->body = realloc(r->body, r->body_cap);
		ck_assert_ptr_nonnull(r->body);
	}
	memcpy(r->body + r->body_len, p, n);
	r->body_len += n;
	return r->fail_in == 2 ? -1 : 0;
}

static int
rec_on_end(void *ud)
{
	struct rec *r = ud;

	rec_flush_body(r);
	fputs("end\n", r->f);
	return r->fail_in == 3 ? -1 : 0;
}

static const struct sy_h1_callbacks rec_cb = {
	.on_head = rec_on_head,
	.on_data = rec_on_data,
	.on_end = rec_on_end,
};

static const struct sy_h1_limits test_limits = { 4096, 20 };

/*
 * Feed in to a fresh parser, step bytes at a time (0: all at once).  After
 * each SY_DONE the parser is reset and parsing goes on, unless the message
 * starts a tunnel.  Returns the transcript (malloc'ed).
 */
static char *
run(enum sy_h1_type type, const char *method, const char *in, size_t len, size_t step,
    bool eof, bool roundtrip)
{
	struct rec r;
	struct sy_arena arena;
	const char *reason;
	size_t pos = 0, used, n;
	int rc, status;

	memset(&r, 0, sizeof(r));
	r.f = open_memstream(&r.text, &r.text_len);
	r.roundtrip = roundtrip;
	r.method = method;
	r.lim = &test_limits;
	r.p = sy_h1_parser_new(type, &test_limits, &rec_cb, &r);
	ck_assert_ptr_nonnull(r.p);
	sy_arena_init(&arena, 1024);
	sy_h1_parser_reset(r.p, &arena);
	if (method != NULL)
		sy_h1_parser_set_request_method(r.p, method);
	for (;;) {
		n = step == 0 ? len - pos : SY_MIN(step, len - pos);
		rc = sy_h1_parse(r.p, in + pos, n, &used);
		ck_assert_uint_le(used, n);
		pos += used;
		if (rc == SY_DONE) {
			ck_assert(!sy_h1_parser_in_message(r.p));
			ck_assert(sy_h1_parser_head_done(r.p));
			/* Done stays done until reset. */
			ck_assert_int_eq(sy_h1_parse(r.p, in + pos, len - pos, &used), SY_DONE);
			ck_assert_uint_eq(used, 0);
			if (sy_h1_parser_tunnel(r.p)) {
				fprintf(r.f, "tunnel rest=%zu\n", len - pos);
				goto out;
			}
			sy_h1_parser_reset(r.p, &arena);
			continue;
		}
		if (rc == SY_ERROR) {
			rec_flush_body(&r);
			status = sy_h1_parser_error(r.p, &reason);
			fprintf(r.f, "error %d %s\n", status, reason);
			/* Errors are sticky. */
			ck_assert_int_eq(sy_h1_parse(r.p, "x", 1, &used), SY_ERROR);
			ck_assert_uint_eq(used, 0);
			ck_assert_int_eq(sy_h1_parser_error(r.p, NULL), status);
			goto out;
		}
		ck_assert_int_eq(rc, SY_AGAIN);
		ck_assert_uint_eq(used, n);
		if (pos == len)
			break;
	}
	rec_flush_body(&r);
	fprintf(r.f, "again in_message=%d\n", sy_h1_parser_in_message(r.p));
	if (eof) {
		rc = sy_h1_parse_eof(r.p);
		rec_flush_body(&r);
		if (rc == SY_OK) {
			fputs("eof ok\n", r.f);
		} else {
			ck_assert_int_eq(rc, SY_ERROR);
			status = sy_h1_parser_error(r.p, &reason);
			fprintf(r.f, "eof error %d %s\n", status, reason);
		}
	}
out:
	fclose(r.f);
	sy_h1_parser_free(r.p);
	sy_arena_fini(&arena);
	free(r.body);
	return r.text;
}

/* Emit the head, parse it with a fresh parser, return the dump or NULL. */
static int
rt_on_head(void *ud, struct sy_msg *m)
{
	struct rec *r = ud;
	size_t len;
	FILE *f = open_memstream(&r->rt_dump, &len);

	dump_head(f, m);
	fclose(f);
	return 0;
}

static char *
roundtrip_head(const struct rec *orig, const struct sy_msg *m)
{
	static const struct sy_h1_callbacks cb = { .on_head = rt_on_head };
	enum sy_h1_type type = m->status != 0 ? SY_H1_RESPONSE : SY_H1_REQUEST;
	struct sy_buf out = { 0 };
	struct sy_arena arena;
	struct rec r;
	size_t used;
	int rc;

	memset(&r, 0, sizeof(r));
	if (type == SY_H1_REQUEST)
		rc = sy_h1_emit_request_head(&out, m);
	else
		rc = sy_h1_emit_response_head(&out, m);
	ck_assert_int_eq(rc, 0);
	r.p = sy_h1_parser_new(type, orig->lim, &cb, &r);
	sy_arena_init(&arena, 1024);
	sy_h1_parser_reset(r.p, &arena);
	rc = sy_h1_parse(r.p, sy_buf_rpos(&out), sy_buf_len(&out), &used);
	ck_assert_msg(rc != SY_ERROR, "emitted head rejected: %.*s",
	    (int)sy_buf_len(&out), sy_buf_rpos(&out));
	ck_assert_uint_eq(used, sy_buf_len(&out));
	sy_h1_parser_free(r.p);
	sy_arena_fini(&arena);
	sy_buf_release(&out);
	return r.rt_dump;
}

/* Run the three ways; they must agree.  Returns the one-piece transcript. */
static char *
run_all(enum sy_h1_type type, const char *method, const char *in, size_t len, bool eof,
    bool roundtrip)
{
	char *whole = run(type, method, in, len, 0, eof, roundtrip);
	char *bytes = run(type, method, in, len, 1, eof, false);
	char *slices = run(type, method, in, len, 7, eof, false);

	ck_assert_str_eq(bytes, whole);
	ck_assert_str_eq(slices, whole);
	free(bytes);
	free(slices);
	return whole;
}

/* ---- table of well-formed input ------------------------------------------- */

#define IN(s) s, sizeof(s) - 1
#define REQ SY_H1_REQUEST
#define RESP SY_H1_RESPONSE

struct valid_case {
	const char *name;
	enum sy_h1_type type;
	const char *method;	/* responses: the request's method */
	const char *in;
	size_t len;
	bool eof;		/* call sy_h1_parse_eof at the end */
	bool no_roundtrip;
	const char *expect;
};

#define H11 "head v=11 status=0 cl=-1 chunked=0 ka=1 upgrade=0 body=0 tunnel=0\n"

static const struct valid_case valid[] = {
	{ "simple get", REQ, NULL,
	  IN("GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n"),
	  false, false,
	  H11
	  "  :method: GET\n  :scheme: http\n  :authority: example.com\n  :path: /a?b=c\n"
	  "  user-agent: t\n  accept: */*\n"
	  "end\nagain in_message=0\n" },
	{ "host is not kept, pseudo-headers first", REQ, NULL,
	  IN("GET / HTTP/1.1\r\nX-First: 1\r\nHOST: Example.COM:8080\r\nX-Last: 2\r\n\r\n"),
	  false, false,
	  H11
	  "  :method: GET\n  :scheme: http\n  :authority: Example.COM:8080\n  :path: /\n"
	  "  x-first: 1\n  x-last: 2\n"
	  "end\nagain in_message=0\n" },
	{ "http/1.0 without host closes", REQ, NULL,
	  IN("GET / HTTP/1.0\r\n\r\n"), false, false,
	  "head v=10 status=0 cl=-1 chunked=0 ka=0 upgrade=0 body=0 tunnel=0\n"
	  "  :method: GET\n  :scheme: http\n  :path: /\n"
	  "end\nagain in_message=0\n" },
	{ "http/1.0 keep-alive", REQ, NULL,
	  IN("GET / HTTP/1.0\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n"), false, false,
	  "head v=10 status=0 cl=-1 chunked=0 ka=1 upgrade=0 body=0 tunnel=0\n"
	  "  :method: GET\n  :scheme: http\n  :authority: a\n  :path: /\n"
	  "  connection: Keep-Alive\n"
	  "end\nagain in_message=0\n" },
	{ "http/1.1 connection close in a list", REQ, NULL,
	  IN("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n"), false, false,
	  "head v=11 status=0 cl=-1 chunked=0 ka=0 upgrade=0 body=0 tunnel=0\n"
	  "  :method: GET\n  :scheme: http\n  :authority: a\n  :path: /\n"
	  "  connection: foo, Close\n"
	  "end\nagain in_message=0\n" },
	{ "post with content-length", REQ, NULL,
	  IN("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"), false, false,
	  "head v=11 status=0 cl=5 chunked=0 ka=1 upgrade=0 body=1 tunnel=0\n"
	  "  :method: POST\n  :scheme: http\n  :authority: a\n  :path: /p\n"
	  "  content-length: 5\n"
	  "body \"hello\"\nend\nagain in_message=0\n" },
	{ "content-length zero", REQ, NULL,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"), false, false,
	  "head v=11 status=0 cl=0 chunked=0 ka=1 upgrade=0 body=0 tunnel=0\n"
	  "  :method: POST\n  :scheme: http\n  :authority: a\n  :path: /\n"
	  "  content-length: 0\n"
	  "end\nagain in_message=0\n" },
	{ "chunked with extensions and trailers", REQ, NULL,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "5;ext=1\r\nhello\r\n6\r\n world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"),
	  false, false,
	  "head v=11 status=0 cl=-1 chunked=1 ka=1 upgrade=0 body=1 tunnel=0\n"
	  "  :method: POST\n  :scheme: http\n  :authority: a\n  :path: /\n"
	  "  transfer-encoding: chunked\n"
	  "body \"hello world0123456789\"\nend\nagain in_message=0\n" },
	{ "chunked is case-insensitive", REQ, NULL,
	  IN("PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n"),
	  false, false,
	  "head v=11 status=0 cl=-1 chunked=1 ka=1 upgrade=0 body=1 tunnel=0\n"
	  "  :method: PUT\n  :scheme: http\n  :authority: a\n  :path: /\n"
	  "  transfer-encoding: Chunked\n"
	  "end\nagain in_message=0\n" },
	{ "absolute-form sets authority and path", REQ, NULL,
	  IN("GET http://a.example:8080/x?y HTTP/1.1\r\nHost: other\r\n\r\n"), false, false,
	  H11
	  "  :method: GET\n  :scheme: http\n  :authority: a.example:8080\n  :path: /x?y\n"
	  "end\nagain in_message=0\n" },
	{ "absolute-form without path", REQ, NULL,
	  IN("GET http://a.example HTTP/1.1\r\nHost: a.example\r\n\r\n"), false, false,
	  H11
	  "  :method: GET\n  :scheme: http\n  :authority: a.example\n  :path: /\n"
	  "end\nagain in_message=0\n" },
	{ "absolute-form https with query only", REQ, NULL,
	  IN("GET HTTPS://a.example?q=1 HTTP/1.1\r\nHost: a.example\r\n\r\n"), false, true,
	  H11
	  "  :method: GET\n  :scheme: https\n  :authority: a.example\n  :path: /?q=1\n"
	  "end\nagain in_message=0\n" },
	{ "asterisk-form", REQ, NULL,
	  IN("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), false, false,
	  "head v=11 status=0 cl=-1 chunked=0 ka=1 upgrade=0 body=0 tunnel=0\n"
	  "  :method: OPTIONS\n  :scheme: http\n  :authority: a\n  :path: *\n"
	  "end\nagain in_message=0\n" },
	{ "ipv6 host", REQ, NULL,
	  IN("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), false, false,
	  H11
	  "  :method: GET\n  :scheme: http\n  :authority: [::1]:8080\n  :path: /\n"
	  "end\nagain in_message=0\n" },
	{ "websocket upgrade leaves the payload", REQ, NULL,
	  IN("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	     "\x81\x05hello"), false, false,
	  "head v=11 status=0 cl=-1 chunked=0 ka=1 upgrade=1 body=0 tunnel=1\n"
	  "  :method: GET\n  :scheme: http\n  :authority: a\n  :path: /ws\n"
	  "  upgrade: websocket\n  connection: Upgrade\n"
	  "  sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\n  sec-websocket-version: 13\n"
	  "end\ntunnel rest=7\n" },
	{ "upgrade with a body: only bytes after it are payload", REQ, NULL,
	  IN("POST /exec HTTP/1.1\r\nHost: a\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n"
	     "Content-Length: 4\r\n\r\n{}{}RAWBYTES"), false, false,
	  "head v=11 status=0 cl=4 chunked=0 ka=1 upgrade=1 body=1 tunnel=1\n"
	  "  :method: POST\n  :scheme: http\n  :authority: a\n  :path: /exec\n"
	  "  upgrade: tcp\n  connection: Upgrade\n  content-length: 4\n"
	  "body \"{}{}\"\nend\ntunnel rest=8\n" },
	{ "upgrade with a chunked body", REQ, NULL,
	  IN("POST /exec HTTP/1.1\r\nHost: a\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n"
	     "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nRAW"), false, false,
	  "head v=11 status=0 cl=-1 chunked=1 ka=1 upgrade=1 body=1 tunnel=1\n"
	  "  :method: POST\n  :scheme: http\n  :authority: a\n  :path: /exec\n"
	  "  upgrade: tcp\n  connection: Upgrade\n  transfer-encoding: chunked\n"
	  "body \"{}\"\nend\ntunnel rest=3\n" },
	{ "upgrade token in a connection list", REQ, NULL,
	  IN("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: x, Upgrade\r\n"
	     "Upgrade: foo\r\n\r\n"), false, false,
	  "head v=11 status=0 cl=-1 chunked=0 ka=1 upgrade=1 body=0 tunnel=1\n"
	  "  :method: GET\n  :scheme: http\n  :authority: a\n  :path: /\n"
	  "  connection: keep-alive\n  connection: x, Upgrade\n  upgrade: foo\n"
	  "end\ntunnel rest=0\n" },
	{ "upgrade without the connection token is not an upgrade", REQ, NULL,
	  IN("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"),
	  false, false,
	  H11
	  "  :method: GET\n  :scheme: http\n  :authority: a\n  :path: /\n"
	  "  upgrade: websocket\n"
	  "end\n"
	  H11
	  "  :method: GET\n  :scheme: http\n  :authority: a\n  :path: /2\n"
	  "end\nagain in_message=0\n" },
	{ "upgrade is ignored on http/1.0", REQ, NULL,
	  IN("GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"), false, false,
	  "head v=10 status=0 cl=-1 chunked=0 ka=0 upgrade=0 body=0 tunnel=0\n"
	  "  :method: GET\n  :scheme: http\n  :path: /\n"
	  "  upgrade: websocket\n  connection: upgrade\n"
	  "end\nagain in_message=0\n" },
	{ "connect leaves the payload", REQ, NULL,
	  IN("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n\x16\x03\x01"),
	  false, false,
	  "head v=11 status=0 cl=-1 chunked=0 ka=1 upgrade=0 body=0 tunnel=1\n"
	  "  :method: CONNECT\n  :authority: a.example:443\n"
	  "end\ntunnel rest=3\n" },
	{ "connect to an ipv6 literal", REQ, NULL,
	  IN("CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\nProxy-Authorization: x\r\n\r\n"),
	  false, false,
	  "head v=11 status=0 cl=-1 chunked=0 ka=1 upgrade=0 body=0 tunnel=1\n"
	  "  :method: CONNECT\n  :authority: [::1]:8443\n  proxy-authorization: x\n"
	  "end\ntunnel rest=0\n" },
	{ "three pipelined requests", REQ, NULL,
	  IN("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
	     "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
	     "GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), false, false,
	  H11
	  "  :method: GET\n  :scheme: http\n  :authority: a\n  :path: /1\n"
	  "end\n"
	  "head v=11 status=0 cl=3 chunked=0 ka=1 upgrade=0 body=1 tunnel=0\n"
	  "  :method: POST\n  :scheme: http\n  :authority: a\n  :path: /2\n"
	  "  content-length: 3\n"
	  "body \"abc\"\nend\n"
	  "head v=11 status=0 cl=-1 chunked=0 ka=0 upgrade=0 body=0 tunnel=0\n"
	  "  :method: GET\n  :scheme: http\n  :authority: a\n  :path: /3\n"
	  "  connection: close\n"
	  "end\nagain in_message=0\n" },
	{ "pipelined chunked then get, second incomplete", REQ, NULL,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	     "GET /next HTTP/1.1\r\nHo"), false, false,
	  "head v=11 status=0 cl=-1 chunked=1 ka=1 upgrade=0 body=1 tunnel=0\n"
	  "  :method: POST\n  :scheme: http\n  :authority: a\n  :path: /\n"
	  "  transfer-encoding: chunked\n"
	  "body \"abc\"\nend\nagain in_message=1\n" },
	{ "leading empty line", REQ, NULL,
	  IN("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), false, false,
	  H11
	  "  :method: GET\n  :scheme: http\n  :authority: a\n  :path: /\n"
	  "end\nagain in_message=0\n" },
	{ "whitespace around values is trimmed", REQ, NULL,
	  IN("GET / HTTP/1.1\r\nHost:  a \r\nX-A:   v v  \r\nX-Empty:\r\nX-Tab:\tt\t\r\n\r\n"),
	  false, false,
	  H11
	  "  :method: GET\n  :scheme: http\n  :authority: a\n  :path: /\n"
	  "  x-a: v v\n  x-empty: \n  x-tab: t\n"
	  "end\nagain in_message=0\n" },
	{ "repeated fields keep their order", REQ, NULL,
	  IN("GET / HTTP/1.1\r\nAccept: a\r\nHost: h\r\nCookie: c=1\r\nAccept: b\r\nCookie: d=2\r\n\r\n"),
	  false, false,
	  H11
	  "  :method: GET\n  :scheme: http\n  :authority: h\n  :path: /\n"
	  "  accept: a\n  cookie: c=1\n  accept: b\n  cookie: d=2\n"
	  "end\nagain in_message=0\n" },
	{ "obs-text in a value is kept", REQ, NULL,
	  IN("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xc3\xa9\r\n\r\n"), false, false,
	  H11
	  "  :method: GET\n  :scheme: http\n  :authority: a\n  :path: /\n"
	  "  x-name: caf\xc3\xa9\n"
	  "end\nagain in_message=0\n" },
	{ "eof between messages is clean", REQ, NULL,
	  IN("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), true, false,
	  H11
	  "  :method: GET\n  :scheme: http\n  :authority: a\n  :path: /\n"
	  "end\nagain in_message=0\neof ok\n" },
	{ "eof with nothing", REQ, NULL, IN(""), true, false,
	  "again in_message=0\neof ok\n" },
	{ "eof after an empty line", REQ, NULL, IN("\r\n"), true, false,
	  "again in_message=0\neof ok\n" },
	{ "eof inside a head", REQ, NULL,
	  IN("GET / HTTP/1.1\r\nHost: a\r\n"), true, false,
	  "again in_message=1\neof error 400 incomplete message\n" },
	{ "eof inside a body", REQ, NULL,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"), true, false,
	  "head v=11 status=0 cl=10 chunked=0 ka=1 upgrade=0 body=1 tunnel=0\n"
	  "  :method: POST\n  :scheme: http\n  :authority: a\n  :path: /\n"
	  "  content-length: 10\n"
	  "body \"abc\"\nagain in_message=1\neof error 400 incomplete message\n" },

	/* Responses. */
	{ "response with content-length, then another", RESP, "GET",
	  IN("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
	     "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), false, false,
	  "head v=11 status=200 cl=2 chunked=0 ka=1 upgrade=0 body=1 tunnel=0\n"
	  "  :status: 200\n  content-length: 2\n  content-type: text/plain\n"
	  "body \"ok\"\nend\n"
	  "head v=11 status=404 cl=0 chunked=0 ka=1 upgrade=0 body=0 tunnel=0\n"
	  "  :status: 404\n  content-length: 0\n"
	  "end\nagain in_message=0\n" },
	{ "chunked response", RESP, "GET",
	  IN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"),
	  false, false,
	  "head v=11 status=200 cl=-1 chunked=1 ka=1 upgrade=0 body=1 tunnel=0\n"
	  "  :status: 200\n  transfer-encoding: chunked\n"
	  "body \"Wikipedia\"\nend\nagain in_message=0\n" },
	{ "response delimited by eof", RESP, "GET",
	  IN("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome body"), true, false,
	  "head v=11 status=200 cl=-1 chunked=0 ka=0 upgrade=0 body=1 tunnel=0\n"
	  "  :status: 200\n  content-type: text/plain\n"
	  "body \"some body\"\nagain in_message=1\nend\neof ok\n" },
	{ "empty response delimited by eof", RESP, "GET",
	  IN("HTTP/1.0 200 OK\r\n\r\n"), true, false,
	  "head v=10 status=200 cl=-1 chunked=0 ka=0 upgrade=0 body=1 tunnel=0\n"
	  "  :status: 200\n"
	  "again in_message=1\nend\neof ok\n" },
	{ "response to head has no body", RESP, "HEAD",
	  IN("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
	  false, false,
	  "head v=11 status=200 cl=10 chunked=0 ka=1 upgrade=0 body=0 tunnel=0\n"
	  "  :status: 200\n  content-length: 10\n"
	  "end\n"
	  /* The method applies to one exchange only. */
	  "head v=11 status=200 cl=1 chunked=0 ka=1 upgrade=0 body=1 tunnel=0\n"
	  "  :status: 200\n  content-length: 1\n"
	  "body \"x\"\nend\nagain in_message=0\n" },
	{ "chunked response to head has no body", RESP, "HEAD",
	  IN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), false, false,
	  "head v=11 status=200 cl=-1 chunked=1 ka=1 upgrade=0 body=0 tunnel=0\n"
	  "  :status: 200\n  transfer-encoding: chunked\n"
	  "end\nagain in_message=0\n" },
	{ "204 has no body", RESP, "DELETE",
	  IN("HTTP/1.1 204 No Content\r\n\r\n"), false, false,
	  "head v=11 status=204 cl=-1 chunked=0 ka=1 upgrade=0 body=0 tunnel=0\n"
	  "  :status: 204\n"
	  "end\nagain in_message=0\n" },
	{ "304 has no body whatever content-length says", RESP, "GET",
	  IN("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nETag: \"x\"\r\n\r\n"), false, false,
	  "head v=11 status=304 cl=5 chunked=0 ka=1 upgrade=0 body=0 tunnel=0\n"
	  "  :status: 304\n  content-length: 5\n  etag: \"x\"\n"
	  "end\nagain in_message=0\n" },
	{ "100 continue then 200", RESP, "POST",
	  IN("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
	  false, false,
	  "head v=11 status=100 cl=-1 chunked=0 ka=1 upgrade=0 body=0 tunnel=0\n"
	  "  :status: 100\n"
	  "end\n"
	  "head v=11 status=200 cl=1 chunked=0 ka=1 upgrade=0 body=1 tunnel=0\n"
	  "  :status: 200\n  content-length: 1\n"
	  "body \"x\"\nend\nagain in_message=0\n" },
	{ "head method survives an interim response", RESP, "HEAD",
	  IN("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
	     "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n"), false, false,
	  "head v=11 status=103 cl=-1 chunked=0 ka=1 upgrade=0 body=0 tunnel=0\n"
	  "  :status: 103\n  link: </s.css>\n"
	  "end\n"
	  "head v=11 status=200 cl=7 chunked=0 ka=1 upgrade=0 body=0 tunnel=0\n"
	  "  :status: 200\n  content-length: 7\n"
	  "end\nagain in_message=0\n" },
	{ "101 leaves the payload", RESP, "GET",
	  IN("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x02hi"), false, false,
	  "head v=11 status=101 cl=-1 chunked=0 ka=1 upgrade=1 body=0 tunnel=1\n"
	  "  :status: 101\n  upgrade: websocket\n  connection: Upgrade\n"
	  "  sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\n"
	  "end\ntunnel rest=4\n" },
	{ "bare 101 is still the end of http", RESP, "GET",
	  IN("HTTP/1.1 101 Switching Protocols\r\n\r\nxyz"), false, false,
	  "head v=11 status=101 cl=-1 chunked=0 ka=1 upgrade=0 body=0 tunnel=1\n"
	  "  :status: 101\n"
	  "end\ntunnel rest=3\n" },
	{ "2xx to connect is a tunnel", RESP, "CONNECT",
	  IN("HTTP/1.1 200 Connection Established\r\n\r\nDATA"), false, false,
	  "head v=11 status=200 cl=-1 chunked=0 ka=1 upgrade=0 body=0 tunnel=1\n"
	  "  :status: 200\n"
	  "end\ntunnel rest=4\n" },
	{ "non-2xx to connect is not", RESP, "CONNECT",
	  IN("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 3\r\n\r\nno!"),
	  false, false,
	  "head v=11 status=407 cl=3 chunked=0 ka=1 upgrade=0 body=1 tunnel=0\n"
	  "  :status: 407\n  content-length: 3\n"
	  "body \"no!\"\nend\nagain in_message=0\n" },
	{ "200 with upgrade headers is not a tunnel", RESP, "GET",
	  IN("HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nContent-Length: 0\r\n\r\n"),
	  false, false,
	  "head v=11 status=200 cl=0 chunked=0 ka=1 upgrade=0 body=0 tunnel=0\n"
	  "  :status: 200\n  upgrade: websocket\n  connection: Upgrade\n  content-length: 0\n"
	  "end\nagain in_message=0\n" },
	{ "http/1.0 response keep-alive", RESP, "GET",
	  IN("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
	     "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"), false, false,
	  "head v=10 status=200 cl=0 chunked=0 ka=1 upgrade=0 body=0 tunnel=0\n"
	  "  :status: 200\n  connection: keep-alive\n  content-length: 0\n"
	  "end\n"
	  "head v=10 status=200 cl=0 chunked=0 ka=0 upgrade=0 body=0 tunnel=0\n"
	  "  :status: 200\n  content-length: 0\n"
	  "end\nagain in_message=0\n" },
	{ "status line without reason phrase", RESP, "GET",
	  IN("HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n"), false, false,
	  "head v=11 status=503 cl=0 chunked=0 ka=1 upgrade=0 body=0 tunnel=0\n"
	  "  :status: 503\n  content-length: 0\n"
	  "end\nagain in_message=0\n" },
	{ "response without a method set", RESP, NULL,
	  IN("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), false, false,
	  "head v=11 status=200 cl=0 chunked=0 ka=0 upgrade=0 body=0 tunnel=0\n"
	  "  :status: 200\n  content-length: 0\n  connection: close\n"
	  "end\nagain in_message=0\n" },
	{ "eof inside a content-length response body", RESP, "GET",
	  IN("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"), true, false,
	  "head v=11 status=200 cl=5 chunked=0 ka=1 upgrade=0 body=1 tunnel=0\n"
	  "  :status: 200\n  content-length: 5\n"
	  "body \"ab\"\nagain in_message=1\neof error 502 incomplete message\n" },
	{ "eof inside a chunked response", RESP, "GET",
	  IN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"), true, false,
	  "head v=11 status=200 cl=-1 chunked=1 ka=1 upgrade=0 body=1 tunnel=0\n"
	  "  :status: 200\n  transfer-encoding: chunked\n"
	  "body \"ab\"\nagain in_message=1\neof error 502 incomplete message\n" },
};

START_TEST(test_valid)
{
	const struct valid_case *c = &valid[_i];
	char *got = run_all(c->type, c->method, c->in, c->len, c->eof, !c->no_roundtrip);

	ck_assert_msg(strcmp(got, c->expect) == 0, "%s:\n--- got\n%s--- expected\n%s",
	    c->name, got, c->expect);
	free(got);
}
END_TEST

/*
 * Mutated input: whatever the parser decides about a damaged message, it
 * must decide it identically however the bytes arrive.  Seeded, so a
 * failure reproduces.
 */
#ifndef H1_MUTATION_ROUNDS
#define H1_MUTATION_ROUNDS 60	/* more: build with -DH1_MUTATION_ROUNDS=n */
#endif

static uint32_t
lcg(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

START_TEST(test_mutations_agree)
{
	static const char alphabet[] = "\r\n :\t\0aZ0,;/?#\x7f\x80-";
	const struct valid_case *c = &valid[_i];
	uint32_t seed = 0x5eed0000u + (uint32_t)_i;
	char buf[1024];
	unsigned round;

	if (c->len == 0 || c->len + 4 > sizeof(buf))
		return;
	for (round = 0; round < H1_MUTATION_ROUNDS; round++) {
		size_t len = c->len, at, j;
		char *whole, *bytes, *slices;

		memcpy(buf, c->in, len);
		for (j = 0; j <= lcg(&seed) % 3; j++) {
			at = lcg(&seed) % len;
			switch (lcg(&seed) % 3) {
			case 0:	/* replace */
				buf[at] = alphabet[lcg(&seed) % (sizeof(alphabet) - 1)];
				break;
			case 1:	/* insert */
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = alphabet[lcg(&seed) % (sizeof(alphabet) - 1)];
				len++;
				break;
			default:	/* delete */
				if (len > 1) {
					memmove(buf + at, buf + at + 1, len - at - 1);
					len--;
				}
				break;
			}
		}
		whole = run(c->type, c->method, buf, len, 0, true, false);
		bytes = run(c->type, c->method, buf, len, 1, true, false);
		slices = run(c->type, c->method, buf, len, 5, true, false);
		if (strcmp(whole, bytes) != 0 || strcmp(whole, slices) != 0) {
			char shown[4 * sizeof(buf) + 1];
			size_t o = 0;

			for (j = 0; j < len; j++) {
				unsigned char b = (unsigned char)buf[j];

				if (b < 0x20 || b >= 0x7f || b == '\\')
					o += (size_t)sprintf(shown + o, "\\x%02x", b);
				else
					shown[o++] = (char)b;
			}
			shown[o] = '\0';
			ck_abort_msg("%s, round %u, input \"%s\":\n--- whole\n%s--- bytes\n%s"
			    "--- slices\n%s", c->name, round, shown, whole, bytes, slices);
		}
		free(whole);
		free(bytes);
		free(slices);
	}
}
END_TEST

/* ---- table of rejections -------------------------------------------------- */

struct bad_case {
	const char *name;
	enum sy_h1_type type;
	const char *in;
	size_t len;
	int status;
	const char *reason;
};

static const struct bad_case bad[] = {
	/* Folding and control characters. */
	{ "obs-fold", REQ, IN("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"),
	  400, "obsolete line folding" },
	{ "obs-fold with a tab", REQ, IN("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n"),
	  400, "obsolete line folding" },
	{ "obs-fold of host", REQ, IN("GET / HTTP/1.1\r\nHost: a\r\n .evil\r\n\r\n"),
	  400, "obsolete line folding" },
	{ "whitespace before the first field", REQ, IN("GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
	  400, "obsolete line folding" },
	{ "space before colon", REQ, IN("GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
	  400, "invalid header name" },
	{ "tab before colon", REQ, IN("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
	  400, "invalid header name" },
	{ "empty name", REQ, IN("GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n"),
	  400, "invalid header name" },
	{ "pseudo-header name", REQ, IN("GET / HTTP/1.1\r\nHost: a\r\n:path: /x\r\n\r\n"),
	  400, "invalid header name" },
	{ "nul in name", REQ, IN("GET / HTTP/1.1\r\nHost: a\r\nX\0Y: a\r\n\r\n"),
	  400, "invalid header name" },
	{ "cr in name", REQ, IN("GET / HTTP/1.1\r\nHost: a\r\nX\rY: a\r\n\r\n"),
	  400, "invalid header name" },
	{ "lf in name", REQ, IN("GET / HTTP/1.1\r\nHost: a\r\nX\nY: a\r\n\r\n"),
	  400, "invalid header name" },
	{ "nul in value", REQ, IN("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"),
	  400, "invalid header value" },
	{ "cr in value", REQ, IN("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"),
	  400, "invalid header value" },
	{ "lf in value", REQ, IN("GET / HTTP/1.1\r\nHost: a\r\nX: a\nY: b\r\n\r\n"),
	  400, "invalid header value" },
	{ "control character in value", REQ, IN("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n"),
	  400, "invalid header value" },
	{ "del in value", REQ, IN("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fz\r\n\r\n"),
	  400, "invalid header value" },

	/* Versions. */
	{ "http/1.2", REQ, IN("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 505, "http version not supported" },
	{ "http/2.0", REQ, IN("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505, "http version not supported" },
	{ "http/0.9", REQ, IN("GET / HTTP/0.9\r\n\r\n"), 505, "http version not supported" },
	{ "http/3.0", REQ, IN("GET / HTTP/3.0\r\n\r\n"), 505, "http version not supported" },
	{ "h2 preface", REQ, IN("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505, "http version not supported" },
	{ "garbled version", REQ, IN("GET / HTTP/1.x\r\n\r\n"), 400, "invalid http version" },
	{ "version without dot", REQ, IN("GET / HTTP/11\r\n\r\n"), 400, "invalid http version" },
	{ "not http", REQ, IN("GET / HTTX/1.1\r\n\r\n"), 400, "invalid request line" },

	/* Request line. */
	{ "unknown method", REQ, IN("FOO / HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "invalid method" },
	{ "lower-case method", REQ, IN("get / HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "invalid method" },
	{ "space in target", REQ, IN("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "invalid request line" },
	{ "fragment in target", REQ, IN("GET /a#f HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "invalid request target" },
	{ "asterisk for get", REQ, IN("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "invalid request target" },
	{ "unknown scheme", REQ, IN("GET ftp://a/x HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "invalid request target" },
	{ "userinfo in absolute-form", REQ, IN("GET http://u@a/x HTTP/1.1\r\nHost: a\r\n\r\n"),
	  400, "invalid request target" },
	{ "empty authority in absolute-form", REQ, IN("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"),
	  400, "invalid request target" },
	{ "connect without port", REQ, IN("CONNECT a.example HTTP/1.1\r\nHost: a.example\r\n\r\n"),
	  400, "invalid request target" },
	{ "connect to a path", REQ, IN("CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n"),
	  400, "invalid request target" },
	{ "connect with empty port", REQ, IN("CONNECT a.example: HTTP/1.1\r\nHost: a\r\n\r\n"),
	  400, "invalid request target" },

	/* Host. */
	{ "two hosts", REQ, IN("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400, "multiple host headers" },
	{ "two identical hosts", REQ, IN("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"),
	  400, "multiple host headers" },
	{ "two hosts on http/1.0", REQ, IN("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
	  400, "multiple host headers" },
	{ "missing host", REQ, IN("GET / HTTP/1.1\r\nX: a\r\n\r\n"), 400, "missing host header" },
	{ "missing host with absolute-form", REQ, IN("GET http://a/ HTTP/1.1\r\n\r\n"),
	  400, "missing host header" },
	{ "empty host", REQ, IN("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 400, "invalid host header" },
	{ "space in host", REQ, IN("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400, "invalid host header" },
	{ "userinfo in host", REQ, IN("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"), 400, "invalid host header" },
	{ "slash in host", REQ, IN("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400, "invalid host header" },

	/* Message length. */
	{ "content-length and transfer-encoding", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
	  400, "conflicting content-length" },
	{ "transfer-encoding and content-length", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc"),
	  400, "conflicting content-length" },
	{ "differing content-lengths", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
	  400, "conflicting content-length" },
	{ "repeated content-length", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"),
	  400, "conflicting content-length" },
	{ "content-length list", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc"),
	  400, "invalid content-length" },
	{ "content-length not a number", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n"), 400, "invalid content-length" },
	{ "negative content-length", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"), 400, "invalid content-length" },
	{ "content-length overflow", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
	  400, "invalid content-length" },
	{ "content-length over int64", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n"),
	  400, "invalid content-length" },
	{ "gzip transfer coding", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"), 501, "unsupported transfer-encoding" },
	{ "gzip then chunked", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
	  501, "unsupported transfer-encoding" },
	{ "chunked twice", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
	  400, "invalid transfer-encoding" },
	{ "chunked, chunked", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"),
	  400, "invalid transfer-encoding" },
	{ "chunked then gzip", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
	  400, "invalid transfer-encoding" },
	{ "identity transfer coding", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n"),
	  501, "unsupported transfer-encoding" },
	{ "bad chunk size", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400, "bad chunked encoding" },
	{ "chunk data too long", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n"),
	  400, "bad chunked encoding" },
	{ "chunk size overflow", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n"),
	  400, "bad chunked encoding" },
	{ "chunk without crlf", REQ,
	  IN("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n"),
	  400, "bad chunked encoding" },
	{ "obs-fold in a pipelined second request", REQ,
	  IN("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n"),
	  400, "obsolete line folding" },

	/* Responses: every protocol error is a 502 for the client. */
	{ "status below 100", RESP, IN("HTTP/1.1 099 Odd\r\n\r\n"), 502, "invalid status code" },
	{ "status above 599", RESP, IN("HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n"), 502, "invalid status code" },
	{ "response version 2.0", RESP, IN("HTTP/2.0 200 OK\r\n\r\n"), 502, "http version not supported" },
	{ "response not http", RESP, IN("HTTX/1.1 200 OK\r\n\r\n"), 502, "invalid status line" },
	{ "response obs-fold", RESP, IN("HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
	  502, "obsolete line folding" },
	{ "response content-length and chunked", RESP,
	  IN("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
	  502, "conflicting content-length" },
	{ "response gzip transfer coding", RESP,
	  IN("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx"), 502, "unsupported transfer-encoding" },
	{ "response bad chunk", RESP,
	  IN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n"), 502, "bad chunked encoding" },
	{ "response nul in value", RESP, IN("HTTP/1.1 200 OK\r\nX: a\0\r\n\r\n"), 502, "invalid header value" },
	{ "response space before colon", RESP, IN("HTTP/1.1 200 OK\r\nServer : x\r\n\r\n"),
	  502, "invalid header name" },
};

START_TEST(test_bad)
{
	const struct bad_case *c = &bad[_i];
	char *got = run_all(c->type, "GET", c->in, c->len, true, false);
	char want[128];
	size_t glen = strlen(got), wlen;

	snprintf(want, sizeof(want), "error %d %s\n", c->status, c->reason);
	wlen = strlen(want);
	ck_assert_msg(glen >= wlen && strcmp(got + glen - wlen, want) == 0,
	    "%s:\n--- got\n%s--- expected last line\n%s", c->name, got, want);
	free(got);
}
END_TEST

/* ---- limits --------------------------------------------------------------- */

/* A request head of exactly size bytes with nfields header fields. */
static char *
make_head(size_t size, unsigned nfields)
{
	char *s = malloc(size + 1);
	size_t off, pad;
	unsigned i;

	ck_assert_ptr_nonnull(s);
	off = (size_t)sprintf(s, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i + 1 < nfields; i++)
		off += (size_t)sprintf(s + off, "X-%u: v\r\n", i);
	/* The last field pads the head to its size. */
	ck_assert_uint_ge(size, off + 7);
	pad = size - off - 7;
	memcpy(s + off, "P: ", 3);
	memset(s + off + 3, 'p', pad);
	memcpy(s + off + 3 + pad, "\r\n\r\n", 4);
	s[size] = '\0';
	return s;
}

static char *
last_line(char *t)
{
	size_t n = strlen(t);

	ck_assert_uint_gt(n, 0);
	t[n - 1] = '\0';
	return strrchr(t, '\n') != NULL ? strrchr(t, '\n') + 1 : t;
}

START_TEST(test_head_size_limit)
{
	char *in, *t;

	/* Exactly max_head_bytes: accepted. */
	in = make_head(test_limits.max_head_bytes, 3);
	ck_assert_uint_eq(strlen(in), test_limits.max_head_bytes);
	t = run_all(REQ, NULL, in, strlen(in), false, false);
	ck_assert_str_eq(last_line(t), "again in_message=0");
	free(t);
	free(in);

	/* One byte more: 431, found at the same byte however it is fed. */
	in = make_head(test_limits.max_head_bytes + 1, 3);
	t = run_all(REQ, NULL, in, strlen(in), false, false);
	ck_assert_str_eq(last_line(t), "error 431 request header fields too large");
	free(t);
	free(in);

	/* Leading empty lines count too. */
	in = make_head(test_limits.max_head_bytes, 3);
	{
		size_t n = strlen(in);
		char *in2 = malloc(n + 3);

		memcpy(in2, "\r\n", 2);
		memcpy(in2 + 2, in, n + 1);
		t = run_all(REQ, NULL, in2, n + 2, false, false);
		ck_assert_str_eq(last_line(t), "error 431 request header fields too large");
		free(t);
		free(in2);
	}
	free(in);

	/* A body does not count. */
	in = malloc(8192);
	{
		size_t off = (size_t)sprintf(in, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6000\r\n\r\n");

		memset(in + off, 'b', 6000);
		t = run_all(REQ, NULL, in, off + 6000, false, false);
		ck_assert_str_eq(last_line(t), "again in_message=0");
		free(t);
	}
	free(in);
}
END_TEST

START_TEST(test_response_head_size_limit)
{
	char *in = malloc(8192), *t;
	size_t off = (size_t)sprintf(in, "HTTP/1.1 200 OK\r\nX: ");

	memset(in + off, 'x', 5000);
	memcpy(in + off + 5000, "\r\n\r\n", 4);
	t = run_all(RESP, "GET", in, off + 5004, false, false);
	ck_assert_str_eq(last_line(t), "error 502 request header fields too large");
	free(t);
	free(in);
}
END_TEST

START_TEST(test_header_count_limit)
{
	char *in, *t;

	in = make_head(1000, test_limits.max_headers);
	t = run_all(REQ, NULL, in, strlen(in), false, false);
	ck_assert_str_eq(last_line(t), "again in_message=0");
	free(t);
	free(in);

	in = make_head(1000, test_limits.max_headers + 1);
	t = run_all(REQ, NULL, in, strlen(in), false, false);
	ck_assert_str_eq(last_line(t), "error 431 too many header fields");
	free(t);
	free(in);
}
END_TEST

START_TEST(test_trailer_limits)
{
	char in[8192], *t;
	size_t off;
	unsigned i;

	/* Trailers are dropped, but bounded like the head. */
	off = (size_t)sprintf(in, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");
	for (i = 0; i <= test_limits.max_headers; i++)
		off += (size_t)sprintf(in + off, "T%u: x\r\n", i);
	off += (size_t)sprintf(in + off, "\r\n");
	t = run_all(REQ, NULL, in, off, false, false);
	ck_assert_str_eq(last_line(t), "error 431 too many header fields");
	free(t);

	off = (size_t)sprintf(in, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: ");
	memset(in + off, 't', 5000);
	off += 5000;
	off += (size_t)sprintf(in + off, "\r\n\r\n");
	t = run_all(REQ, NULL, in, off, false, false);
	ck_assert_str_eq(last_line(t), "error 431 request header fields too large");
	free(t);

	{
		static const char nul[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		    "\r\n0\r\nT: a\0b\r\n\r\n";

		t = run_all(REQ, NULL, nul, sizeof(nul) - 1, false, false);
		ck_assert_str_eq(last_line(t), "error 400 invalid header value");
	}
	free(t);
}
END_TEST

START_TEST(test_trailers_kept)
{
	static const char req[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n0\r\nX-Sum: 7\r\nGrpc-Status: 0\r\n\r\n";
	struct sy_h1_parser *q = sy_h1_parser_new(SY_H1_REQUEST, NULL, NULL, NULL);
	const struct sy_headers *t;
	struct sy_arena arena;
	size_t used, i;

	sy_arena_init(&arena, 1024);
	/* Whole, then byte by byte: the same two fields, lower-cased names. */
	for (i = 0; i < 2; i++) {
		size_t off = 0;
		int rc = SY_AGAIN;

		sy_h1_parser_reset(q, &arena);
		if (i == 0) {
			rc = sy_h1_parse(q, req, sizeof(req) - 1, &used);
		} else {
			while (off < sizeof(req) - 1 && rc == SY_AGAIN) {
				rc = sy_h1_parse(q, req + off, 1, &used);
				off += used;
			}
		}
		ck_assert_int_eq(rc, SY_DONE);
		t = sy_h1_parser_trailers(q);
		ck_assert_ptr_nonnull(t);
		ck_assert_uint_eq(t->n, 2);
		ck_assert_str_eq(sy_headers_value(t, "x-sum"), "7");
		ck_assert_str_eq(sy_headers_value(t, "grpc-status"), "0");
	}
	/* A message without trailers has none. */
	sy_h1_parser_reset(q, &arena);
	ck_assert_int_eq(sy_h1_parse(q, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27, &used), SY_DONE);
	ck_assert_ptr_null(sy_h1_parser_trailers(q));
	sy_h1_parser_free(q);
	sy_arena_fini(&arena);
}
END_TEST

START_TEST(test_emit_trailers)
{
	struct sy_arena arena;
	struct sy_headers t;
	struct sy_buf out = { 0 };

	sy_arena_init(&arena, 1024);
	sy_headers_init(&t, &arena);
	sy_headers_add_cstr(&t, "x-sum", "7");
	sy_headers_add_cstr(&t, "content-length", "3");	/* never a trailer */
	ck_assert_int_eq(sy_h1_emit_last_chunk_trailers(&out, &t), 0);
	ck_assert_uint_eq(sy_buf_len(&out), strlen("0\r\nx-sum: 7\r\n\r\n"));
	ck_assert(memcmp(sy_buf_rpos(&out), "0\r\nx-sum: 7\r\n\r\n", sy_buf_len(&out)) == 0);
	sy_buf_release(&out);
	ck_assert_int_eq(sy_h1_emit_last_chunk_trailers(&out, NULL), 0);
	ck_assert(memcmp(sy_buf_rpos(&out), "0\r\n\r\n", 5) == 0);
	sy_buf_release(&out);
	sy_arena_fini(&arena);
}
END_TEST

START_TEST(test_default_limits)
{
	struct sy_h1_limits zero = { 0, 0 };
	struct sy_h1_parser *p = sy_h1_parser_new(SY_H1_REQUEST, &zero, &rec_cb, NULL);
	struct sy_h1_parser *q = sy_h1_parser_new(SY_H1_REQUEST, NULL, NULL, NULL);
	struct sy_arena arena;
	char *in = make_head(50 * 1024, 90);
	size_t used;

	sy_arena_init(&arena, 1024);
	/* Defaults: 60 KiB of head, 100 fields.  No callbacks is fine. */
	sy_h1_parser_reset(q, &arena);
	ck_assert_int_eq(sy_h1_parse(q, in, strlen(in), &used), SY_DONE);
	ck_assert_uint_eq(used, strlen(in));
	free(in);
	in = make_head(61 * 1024, 3);
	sy_h1_parser_reset(q, &arena);
	ck_assert_int_eq(sy_h1_parse(q, in, strlen(in), &used), SY_ERROR);
	ck_assert_int_eq(sy_h1_parser_error(q, NULL), 431);
	free(in);
	in = make_head(4000, 101);
	sy_h1_parser_reset(q, &arena);
	ck_assert_int_eq(sy_h1_parse(q, in, strlen(in), &used), SY_ERROR);
	ck_assert_int_eq(sy_h1_parser_error(q, NULL), 431);
	free(in);
	sy_h1_parser_free(p);
	sy_h1_parser_free(q);
	sy_arena_fini(&arena);
}
END_TEST

/* ---- parser state and callbacks --------------------------------------------- */

START_TEST(test_parse_before_reset)
{
	struct sy_h1_parser *p = sy_h1_parser_new(SY_H1_REQUEST, NULL, NULL, NULL);
	const char *reason;
	size_t used = 99;

	ck_assert_int_eq(sy_h1_parse(p, "GET", 3, &used), SY_ERROR);
	ck_assert_uint_eq(used, 0);
	ck_assert_int_eq(sy_h1_parser_error(p, &reason), 500);
	ck_assert_str_eq(reason, "parser not reset");
	sy_h1_parser_free(p);
	sy_h1_parser_free(NULL);
}
END_TEST

START_TEST(test_state_queries)
{
	static const char req[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab";
	struct sy_h1_parser *p = sy_h1_parser_new(SY_H1_REQUEST, NULL, NULL, NULL);
	struct sy_arena arena;
	const char *reason;
	size_t used, head_len = sizeof(req) - 1 - 2;

	sy_arena_init(&arena, 1024);
	sy_h1_parser_reset(p, &arena);
	ck_assert(!sy_h1_parser_in_message(p));
	ck_assert(!sy_h1_parser_head_done(p));
	ck_assert_int_eq(sy_h1_parser_error(p, &reason), 0);
	ck_assert_str_eq(reason, "");
	ck_assert_int_eq(sy_h1_parse(p, "\r\n", 2, &used), SY_AGAIN);
	ck_assert(!sy_h1_parser_in_message(p));
	ck_assert_int_eq(sy_h1_parse(p, req, 1, &used), SY_AGAIN);
	ck_assert(sy_h1_parser_in_message(p));
	ck_assert(!sy_h1_parser_head_done(p));
	ck_assert_int_eq(sy_h1_parse(p, req + 1, head_len - 1, &used), SY_AGAIN);
	ck_assert(sy_h1_parser_in_message(p));
	ck_assert(sy_h1_parser_head_done(p));
	ck_assert(!sy_h1_parser_tunnel(p));
	ck_assert_int_eq(sy_h1_parse(p, req + head_len, 2, &used), SY_DONE);
	ck_assert_uint_eq(used, 2);
	ck_assert(!sy_h1_parser_in_message(p));
	ck_assert(sy_h1_parser_head_done(p));
	ck_assert_int_eq(sy_h1_parse_eof(p), SY_OK);
	sy_h1_parser_reset(p, &arena);
	ck_assert(!sy_h1_parser_head_done(p));
	/* An error then a reset: the parser is usable again. */
	ck_assert_int_eq(sy_h1_parse(p, "BAD\r\n", 5, &used), SY_ERROR);
	ck_assert_int_eq(sy_h1_parse_eof(p), SY_ERROR);
	sy_h1_parser_reset(p, &arena);
	ck_assert_int_eq(sy_h1_parser_error(p, NULL), 0);
	ck_assert_int_eq(sy_h1_parse(p, req, sizeof(req) - 1, &used), SY_DONE);
	sy_h1_parser_free(p);
	sy_arena_fini(&arena);
}
END_TEST

START_TEST(test_tunnel_flag_resets)
{
	static const char req[] = "CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n";
	struct sy_h1_parser *p = sy_h1_parser_new(SY_H1_REQUEST, NULL, NULL, NULL);
	struct sy_arena arena;
	size_t used;

	sy_arena_init(&arena, 1024);
	sy_h1_parser_reset(p, &arena);
	ck_assert_int_eq(sy_h1_parse(p, req, sizeof(req) - 1, &used), SY_DONE);
	ck_assert(sy_h1_parser_tunnel(p));
	sy_h1_parser_reset(p, &arena);
	ck_assert(!sy_h1_parser_tunnel(p));
	sy_h1_parser_free(p);
	sy_arena_fini(&arena);
}
END_TEST

/* A callback's failure stops parsing with status 0. */
START_TEST(test_callback_failure)
{
	static const char req[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab";
	struct rec r;
	struct sy_arena arena;
	const char *reason;
	size_t used;
	int which;

	for (which = 1; which <= 3; which++) {
		memset(&r, 0, sizeof(r));
		r.f = open_memstream(&r.text, &r.text_len);
		r.fail_in = which;
		r.p = sy_h1_parser_new(SY_H1_REQUEST, NULL, &rec_cb, &r);
		sy_arena_init(&arena, 1024);
		sy_h1_parser_reset(r.p, &arena);
		ck_assert_int_eq(sy_h1_parse(r.p, req, sizeof(req) - 1, &used), SY_ERROR);
		ck_assert_int_eq(sy_h1_parser_error(r.p, &reason), 0);
		ck_assert_str_eq(reason, "callback failed");
		fclose(r.f);
		free(r.text);
		free(r.body);
		sy_h1_parser_free(r.p);
		sy_arena_fini(&arena);
	}
}
END_TEST

/* The message lives in the caller's arena and outlives the input. */
static struct sy_msg *kept_msg;

static int
keep_head(void *ud, struct sy_msg *m)
{
	(void)ud;
	kept_msg = m;
	return 0;
}

START_TEST(test_message_outlives_input)
{
	static const struct sy_h1_callbacks cb = { .on_head = keep_head };
	struct sy_h1_parser *p = sy_h1_parser_new(SY_H1_REQUEST, NULL, &cb, NULL);
	struct sy_arena arena;
	char buf[] = "GET /x HTTP/1.1\r\nHost: a\r\nX-Y: z\r\n\r\n";
	size_t used;

	sy_arena_init(&arena, 1024);
	sy_h1_parser_reset(p, &arena);
	ck_assert_int_eq(sy_h1_parse(p, buf, sizeof(buf) - 1, &used), SY_DONE);
	memset(buf, '#', sizeof(buf));
	sy_h1_parser_free(p);
	ck_assert_str_eq(sy_msg_path(kept_msg), "/x");
	ck_assert_str_eq(sy_msg_authority(kept_msg), "a");
	ck_assert_str_eq(sy_headers_value(&kept_msg->headers, "x-y"), "z");
	ck_assert_ptr_eq(kept_msg->headers.arena, &arena);
	sy_arena_fini(&arena);
}
END_TEST

/*
 * Allocation failures: fail the k-th allocation for every k while parsing a
 * request that allocates a lot; each run must end cleanly, either parsed
 * or with a 500.  malloc is replaced for this binary; not under ASan.
 */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_MALLOC_FAILURES 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_MALLOC_FAILURES 0
#endif
#endif
#ifndef TEST_MALLOC_FAILURES
#define TEST_MALLOC_FAILURES 1
#endif

#if TEST_MALLOC_FAILURES
extern void *__libc_malloc(size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_calloc(size_t, size_t);
/*
 * volatile: the compiler assumes the builtin malloc reads no globals and
 * would drop a store to fail_countdown that only malloc reads.
 */
static volatile long fail_countdown;	/* 0: never fail */
static volatile size_t alloc_probe_size = 16;
static volatile long alloc_calls;

static bool
alloc_should_fail(void)
{
	alloc_calls++;
	return fail_countdown > 0 && --fail_countdown == 0;
}

void *
malloc(size_t n)
{
	return alloc_should_fail() ? NULL : __libc_malloc(n);
}

void *
realloc(void *p, size_t n)
{
	return alloc_should_fail() ? NULL : __libc_realloc(p, n);
}

void *
calloc(size_t n, size_t m)
{
	return alloc_should_fail() ? NULL : __libc_calloc(n, m);
}

START_TEST(test_allocation_failures)
{
	char in[6000];
	size_t off, used, step;
	long k, total;
	unsigned i;
	int rc, ok = 0, nomem = 0;
	void *volatile probe;

	/*
	 * Does the library's malloc reach ours?  Under valgrind it does not:
	 * nothing to test then.
	 */
	{
		struct sy_arena probe_arena;

		sy_arena_init(&probe_arena, 64);
		fail_countdown = 1;
		probe = sy_arena_alloc(&probe_arena, alloc_probe_size);
		fail_countdown = 0;
		sy_arena_fini(&probe_arena);
		if (probe != NULL)
			return;
	}

	off = (size_t)sprintf(in, "GET http://a.example/x HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < 19; i++) {
		off += (size_t)sprintf(in + off, "X-Long-Header-Name-%u: ", i);
		memset(in + off, 'v', 150);
		off += 150;
		off += (size_t)sprintf(in + off, "\r\n");
	}
	off += (size_t)sprintf(in + off, "\r\n");

	for (step = 0; step <= 1; step++) {
		/* Count the allocations of a clean run first. */
		for (k = 0; ; k++) {
			struct sy_h1_parser *p;
			struct sy_arena arena;
			size_t pos = 0;

			alloc_calls = 0;
			fail_countdown = k;
			p = sy_h1_parser_new(SY_H1_REQUEST, &test_limits, NULL, NULL);
			if (p == NULL) {
				fail_countdown = 0;
				ck_assert_int_eq(k, 1);
				continue;
			}
			sy_arena_init(&arena, 256);
			sy_h1_parser_reset(p, &arena);
			do {
				size_t n = step ? 1 : off - pos;

				rc = sy_h1_parse(p, in + pos, n, &used);
				pos += used;
			} while (rc == SY_AGAIN && pos < off);
			total = alloc_calls;
			fail_countdown = 0;
			if (k == 0)
				ck_assert_int_eq(rc, SY_DONE);
			if (rc == SY_DONE) {
				ok++;
			} else {
				const char *reason;

				ck_assert_int_eq(rc, SY_ERROR);
				ck_assert_int_eq(sy_h1_parser_error(p, &reason), 500);
				ck_assert_str_eq(reason, "out of memory");
				nomem++;
			}
			sy_h1_parser_free(p);
			sy_arena_fini(&arena);
			if (k > 0 && k > total)
				break;	/* the failure point is past every allocation */
		}
	}
	ck_assert_int_gt(nomem, 10);
	ck_assert_int_gt(ok, 0);
}
END_TEST
#endif

/* ---- emitter ---------------------------------------------------------------- */

static struct sy_arena emit_arena;
static struct sy_msg em;
static struct sy_buf ebuf;

static void
emit_setup(void)
{
	sy_arena_init(&emit_arena, 1024);
	sy_msg_init(&em, &emit_arena);
	memset(&ebuf, 0, sizeof(ebuf));
}

static void
emit_teardown(void)
{
	sy_buf_release(&ebuf);
	sy_arena_fini(&emit_arena);
}

static void
ebuf_is(const char *want)
{
	ck_assert_uint_eq(sy_buf_len(&ebuf), strlen(want));
	ck_assert(memcmp(sy_buf_rpos(&ebuf), want, strlen(want)) == 0);
}

START_TEST(test_emit_request)
{
	sy_headers_add_cstr(&em.headers, "user-agent", "t");
	sy_headers_add_cstr(&em.headers, "Host", "stale");
	sy_headers_add_cstr(&em.headers, ":method", "GET");
	sy_headers_add_cstr(&em.headers, ":scheme", "http");
	sy_headers_add_cstr(&em.headers, ":authority", "a.example");
	sy_headers_add_cstr(&em.headers, ":path", "/x?y");
	sy_headers_add_cstr(&em.headers, "accept", "*/*");
	ck_assert_int_eq(sy_h1_emit_request_head(&ebuf, &em), 0);
	/* :authority is the Host, first; a stray host field is not repeated. */
	ebuf_is("GET /x?y HTTP/1.1\r\nhost: a.example\r\nuser-agent: t\r\naccept: */*\r\n\r\n");
}
END_TEST

START_TEST(test_emit_request_appends_and_versions)
{
	sy_buf_append(&ebuf, "prefix", 6);
	em.version = SY_HTTP_10;
	sy_headers_add_cstr(&em.headers, ":method", "POST");
	sy_headers_add_cstr(&em.headers, ":path", "/");
	sy_headers_add_cstr(&em.headers, "host", "kept");
	sy_headers_add_cstr(&em.headers, "content-length", "0");
	ck_assert_int_eq(sy_h1_emit_request_head(&ebuf, &em), 0);
	/* Without :authority a host field is an ordinary field. */
	ebuf_is("prefixPOST / HTTP/1.0\r\nhost: kept\r\ncontent-length: 0\r\n\r\n");
}
END_TEST

START_TEST(test_emit_connect)
{
	sy_headers_add_cstr(&em.headers, ":method", "CONNECT");
	sy_headers_add_cstr(&em.headers, ":authority", "a.example:443");
	ck_assert_int_eq(sy_h1_emit_request_head(&ebuf, &em), 0);
	ebuf_is("CONNECT a.example:443 HTTP/1.1\r\nhost: a.example:443\r\n\r\n");
}
END_TEST

START_TEST(test_emit_response)
{
	sy_headers_add_cstr(&em.headers, ":status", "404");
	sy_headers_add_cstr(&em.headers, "content-length", "0");
	em.status = 200;	/* :status wins */
	ck_assert_int_eq(sy_h1_emit_response_head(&ebuf, &em), 0);
	ebuf_is("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
}
END_TEST

START_TEST(test_emit_response_from_status_field)
{
	em.status = 101;
	sy_headers_add_cstr(&em.headers, "upgrade", "websocket");
	sy_headers_add_cstr(&em.headers, "connection", "upgrade");
	ck_assert_int_eq(sy_h1_emit_response_head(&ebuf, &em), 0);
	ebuf_is("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n");
	sy_buf_release(&ebuf);
	sy_msg_init(&em, &emit_arena);
	em.status = 299;
	em.version = SY_HTTP_10;
	ck_assert_int_eq(sy_h1_emit_response_head(&ebuf, &em), 0);
	ebuf_is("HTTP/1.0 299 Unknown\r\n\r\n");
}
END_TEST

/* Anything that would break the framing is refused, out untouched. */
static const struct {
	const char *name, *value;
	bool response;
} emit_bad[] = {
	{ "x", "a\r\nInjected: 1", false },
	{ "x", "a\nb", true },
	{ "x", "a\rb", false },
	{ "x y", "v", false },
	{ "x:", "v", true },
	{ "", "v", false },
	{ ":authority", "a\r\nX: 1", false },
	{ ":path", "/a b", false },
	{ ":path", "", false },
	{ ":method", "G T", false },
	{ ":status", "20", true },
	{ ":status", "2000", true },
	{ ":status", "abc", true },
	{ ":status", "099", true },
};

START_TEST(test_emit_rejects)
{
	struct sy_header *hd;

	sy_buf_append(&ebuf, "keep", 4);
	if (emit_bad[_i].response) {
		sy_headers_add_cstr(&em.headers, ":status", "200");
	} else {
		sy_headers_add_cstr(&em.headers, ":method", "GET");
		sy_headers_add_cstr(&em.headers, ":path", "/");
	}
	if (emit_bad[_i].name[0] == ':') {
		sy_headers_set(&em.headers, emit_bad[_i].name, emit_bad[_i].value);
	} else {
		sy_headers_add_cstr(&em.headers, "x-ok", "1");
		sy_headers_add_cstr(&em.headers, "x-ok", "2");
		/* Names are stored as given here: bypass the lower-casing. */
		hd = &em.headers.v[em.headers.n - 1];
		hd->name = (char *)emit_bad[_i].name;
		hd->name_len = (uint32_t)strlen(emit_bad[_i].name);
		hd->value = (char *)emit_bad[_i].value;
		hd->value_len = (uint32_t)strlen(emit_bad[_i].value);
	}
	errno = 0;
	if (emit_bad[_i].response)
		ck_assert_int_eq(sy_h1_emit_response_head(&ebuf, &em), -1);
	else
		ck_assert_int_eq(sy_h1_emit_request_head(&ebuf, &em), -1);
	ck_assert_int_eq(errno, EINVAL);
	ebuf_is("keep");
}
END_TEST

START_TEST(test_emit_missing_pseudo)
{
	ck_assert_int_eq(sy_h1_emit_request_head(&ebuf, &em), -1);
	ck_assert_int_eq(errno, EINVAL);
	sy_headers_add_cstr(&em.headers, ":method", "GET");
	ck_assert_int_eq(sy_h1_emit_request_head(&ebuf, &em), -1);
	sy_msg_init(&em, &emit_arena);
	sy_headers_add_cstr(&em.headers, ":method", "CONNECT");
	sy_headers_add_cstr(&em.headers, ":path", "/");
	ck_assert_int_eq(sy_h1_emit_request_head(&ebuf, &em), -1);
	sy_msg_init(&em, &emit_arena);
	ck_assert_int_eq(sy_h1_emit_response_head(&ebuf, &em), -1);
	ck_assert_uint_eq(sy_buf_len(&ebuf), 0);
}
END_TEST

START_TEST(test_emit_large_head)
{
	char name[32], *big = malloc(40000);
	unsigned i;

	memset(big, 'v', 39999);
	big[39999] = '\0';
	sy_headers_add_cstr(&em.headers, ":status", "200");
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "x-%u", i);
		sy_headers_add_cstr(&em.headers, name, "value");
	}
	sy_headers_add_cstr(&em.headers, "x-big", big);
	ck_assert_int_eq(sy_h1_emit_response_head(&ebuf, &em), 0);
	ck_assert_uint_gt(sy_buf_len(&ebuf), 40000);
	ck_assert(memcmp(sy_buf_rpos(&ebuf) + sy_buf_len(&ebuf) - 4, "\r\n\r\n", 4) == 0);
	free(big);
}
END_TEST

START_TEST(test_emit_chunks)
{
	char big[300];

	ck_assert_int_eq(sy_h1_emit_chunk(&ebuf, "hello", 5), 0);
	ck_assert_int_eq(sy_h1_emit_chunk(&ebuf, "ignored", 0), 0);
	ebuf_is("5\r\nhello\r\n");
	memset(big, 'z', sizeof(big));
	ck_assert_int_eq(sy_h1_emit_chunk(&ebuf, big, sizeof(big)), 0);
	ck_assert_int_eq(sy_h1_emit_last_chunk(&ebuf), 0);
	ck_assert_uint_eq(sy_buf_len(&ebuf), 10 + 5 + 300 + 2 + 5);
	ck_assert(memcmp(sy_buf_rpos(&ebuf) + 10, "12c\r\nzzz", 8) == 0);
	ck_assert(memcmp(sy_buf_rpos(&ebuf) + sy_buf_len(&ebuf) - 7, "\r\n0\r\n\r\n", 7) == 0);
}
END_TEST

/* Emit a chunked request, parse it back: same head, same body. */
START_TEST(test_emit_chunked_round_trip)
{
	char body[1000], *t, want[4096];
	size_t off;
	unsigned i;

	for (i = 0; i < sizeof(body); i++)
		body[i] = (char)('a' + i % 26);
	sy_headers_add_cstr(&em.headers, ":method", "PUT");
	sy_headers_add_cstr(&em.headers, ":scheme", "http");
	sy_headers_add_cstr(&em.headers, ":authority", "up.example");
	sy_headers_add_cstr(&em.headers, ":path", "/f");
	sy_headers_add_cstr(&em.headers, "transfer-encoding", "chunked");
	ck_assert_int_eq(sy_h1_emit_request_head(&ebuf, &em), 0);
	ck_assert_int_eq(sy_h1_emit_chunk(&ebuf, body, 1), 0);
	ck_assert_int_eq(sy_h1_emit_chunk(&ebuf, body + 1, 499), 0);
	ck_assert_int_eq(sy_h1_emit_chunk(&ebuf, body + 500, 500), 0);
	ck_assert_int_eq(sy_h1_emit_last_chunk(&ebuf), 0);
	t = run_all(REQ, NULL, sy_buf_rpos(&ebuf), sy_buf_len(&ebuf), true, true);
	off = (size_t)snprintf(want, sizeof(want),
	    "head v=11 status=0 cl=-1 chunked=1 ka=1 upgrade=0 body=1 tunnel=0\n"
	    "  :method: PUT\n  :scheme: http\n  :authority: up.example\n  :path: /f\n"
	    "  transfer-encoding: chunked\nbody \"");
	memcpy(want + off, body, sizeof(body));
	off += sizeof(body);
	snprintf(want + off, sizeof(want) - off, "\"\nend\nagain in_message=0\neof ok\n");
	ck_assert_str_eq(t, want);
	free(t);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite *s = suite_create("http1");
	TCase *tc;

	tc = tcase_create("valid");
	tcase_add_loop_test(tc, test_valid, 0, (int)SY_ARRAY_LEN(valid));
	tcase_add_loop_test(tc, test_mutations_agree, 0, (int)SY_ARRAY_LEN(valid));
	suite_add_tcase(s, tc);

	tc = tcase_create("rejections");
	tcase_add_loop_test(tc, test_bad, 0, (int)SY_ARRAY_LEN(bad));
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_trailers_kept);
	tcase_add_test(tc, test_emit_trailers);
	tcase_add_test(tc, test_head_size_limit);
	tcase_add_test(tc, test_response_head_size_limit);
	tcase_add_test(tc, test_header_count_limit);
	tcase_add_test(tc, test_trailer_limits);
	tcase_add_test(tc, test_default_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("state");
	tcase_add_test(tc, test_parse_before_reset);
	tcase_add_test(tc, test_state_queries);
	tcase_add_test(tc, test_tunnel_flag_resets);
	tcase_add_test(tc, test_callback_failure);
	tcase_add_test(tc, test_message_outlives_input);
#if TEST_MALLOC_FAILURES
	tcase_add_test(tc, test_allocation_failures);
	tcase_set_timeout(tc, 60);
#endif
	suite_add_tcase(s, tc);

	tc = tcase_create("emit");
	tcase_add_checked_fixture(tc, emit_setup, emit_teardown);
	tcase_add_test(tc, test_emit_request);
	tcase_add_test(tc, test_emit_request_appends_and_versions);
	tcase_add_test(tc, test_emit_connect);
	tcase_add_test(tc, test_emit_response);
	tcase_add_test(tc, test_emit_response_from_status_field);
	tcase_add_loop_test(tc, test_emit_rejects, 0, (int)SY_ARRAY_LEN(emit_bad));
	tcase_add_test(tc, test_emit_missing_pseudo);
	tcase_add_test(tc, test_emit_large_head);
	tcase_add_test(tc, test_emit_chunks);
	tcase_add_test(tc, test_emit_chunked_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

SY_UNIT_MAIN(make_suite)
