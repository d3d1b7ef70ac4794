/*
 * sy-backend.c - the backend switchyard's tests, demo and benchmarks talk
 * to: a non-blocking poll() server that speaks HTTP/1.1 (keep-alive,
 * pipelining, chunked request bodies, special paths that provoke what a
 * proxy must survive), echoes RFC 6455 WebSocket messages after a correct
 * handshake, and echoes raw bytes after a 101 for any other Upgrade
 * token.  Requests are parsed by the daemon's own strict codec
 * (switchyard/http1.h); the WebSocket framing is here.  Echo is streamed
 * frame by frame, keeping each frame's opcode, FIN bit and length, so a
 * message of any size costs no more memory than the output high-water
 * mark, and an idle connection holds no I/O buffer (the sy_buf pool).
 * Deliberately not here: TLS, HTTP/2, WebSocket extensions (none is ever
 * accepted) and idle timeouts, since a benchmark holding 10,000 idle
 * connections must not see them vanish.  Invariants: a connection is
 * freed only by conn_update() at the end of an event or timer callback;
 * the output queue is on a WebSocket frame boundary whenever a control
 * frame is queued; reading stops while the output queue is above
 * BE_HIGH_WATER, so memory per connection stays bounded whatever the peer
 * does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "switchyard/core.h"
#include "switchyard/http.h"
#include "switchyard/http1.h"
#include "switchyard/loop.h"

#define BE_DEFAULT_LISTEN "127.0.0.1:9000"
#define BE_MAX_LISTENERS 16
#define BE_MAX_WORKERS 64
#define BE_HIGH_WATER (256 * 1024)	/* stop reading above this much queued output */
#define BE_READS_PER_EVENT 8
#define BE_LINGER_MS 5000		/* closing, FIN sent: wait this long for the peer's */
#define BE_ACCEPT_BACKOFF_MS 100	/* out of fds: stop accepting for a while */
#define BE_MAX_DELAY_MS 600000
#define BE_MAX_ECHO_BODY (16 * 1024 * 1024)
#define BE_HELLO "hello from sy-backend\n"
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum be_mode {
	BE_HTTP,	/* requests and responses */
	BE_WS,		/* WebSocket echo */
	BE_RAW,		/* raw echo after a 101 for another token */
	BE_SINK,	/* /close-after-101: our FIN is sent; count input until EOF */
	BE_LINGER	/* closing: discard input until EOF (BE_LINGER_MS after our FIN) */
};

enum ws_op {
	WS_CONT = 0x0, WS_TEXT = 0x1, WS_BINARY = 0x2,
	WS_CLOSE = 0x8, WS_PING = 0x9, WS_PONG = 0xa
};

/* Incremental UTF-8 validation (RFC 3629): no overlongs, surrogates or > U+10FFFF. */
struct be_utf8 {
	uint8_t need;		/* continuation bytes still expected */
	uint8_t lo, hi;		/* allowed range of the next continuation byte */
};

struct be_ws {
	uint64_t remain;	/* payload bytes of the current data frame still to come */
	uint8_t mask[4];
	unsigned mask_off;
	bool in_payload;	/* a data frame's payload is streaming through */
	bool frame_fin;
	bool fragmented;	/* a message was started and has not ended */
	bool text;		/* the current message is text */
	bool utf8_bad;		/* invalid UTF-8 seen in the current frame */
	bool close_sent;
	struct be_utf8 utf8;
	uint64_t messages;
};

struct be_conn {
	struct be_conn *prev, *next;
	int fd;
	short events;
	enum be_mode mode;
	uint64_t id;
	char peer[64];
	struct sy_buf in, out;
	uint64_t rx, tx;
	uint64_t sink_rx;	/* BE_SINK: bytes received after the 101 */
	bool rd_eof;		/* the peer sent FIN */
	bool want_shut;		/* send FIN once the output queue is empty */
	bool wr_shut;		/* FIN sent */
	bool dead;		/* free at the end of this callback */
	bool slow_wait;		/* a /slow/<ms> delay is running */
	const char *why;	/* why the connection ends, for the log */
	struct sy_timer timer;	/* /slow delay, then linger deadline */

	/* HTTP: one message at a time; its memory lives in arena. */
	struct sy_h1_parser *parser;
	struct sy_arena arena;
	bool in_msg;		/* parser reset for a message that has begun */
	bool head_done;
	size_t fed;		/* bytes at the front of in given to the parser, head unfinished */
	struct sy_msg *msg;
	const char *target;	/* path without query and without /slow/<ms> */
	int64_t delay_ms;
	char *raw_head;		/* /echo-headers: the head as received */
	bool collect_body;	/* /echo */
	bool body_too_large;
	struct sy_buf body;

	struct be_ws ws;
};

struct be_listener {
	int fd;
	char name[64];
	struct sy_timer backoff;
};

static bool be_quiet;
static unsigned be_worker;		/* 0 in one-process mode, else 1..N */
static struct sy_loop *be_loop;
static struct be_conn *be_conns;
static uint64_t be_next_id;
static struct be_listener be_listeners[BE_MAX_LISTENERS];
static unsigned be_nlisteners;
static volatile sig_atomic_t be_stop;
static int be_sigpipe[2] = { -1, -1 };
static pid_t be_children[BE_MAX_WORKERS];
static unsigned be_nchildren;

static void conn_process(struct be_conn *c);
static void conn_update(struct be_conn *c);

/* ---- logging ------------------------------------------------------------ */

static void conn_log(struct be_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Per-connection lines on stdout; -q silences them. */
static void
conn_log(struct be_conn *c, const char *fmt, ...)
{
	va_list ap;

	if (be_quiet)
		return;
	printf("conn %u.%llu %s: ", be_worker, (unsigned long long)c->id, c->peer);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* ---- small helpers -------------------------------------------------------- */

static void
conn_nomem(struct be_conn *c)
{
	c->dead = true;
	c->why = "out of memory";
}

static void
conn_append(struct be_conn *c, const void *p, size_t n)
{
	if (!c->dead && sy_buf_append(&c->out, p, n) == -1)
		conn_nomem(c);
}

/* Stop processing input, send FIN after the queued output, then linger. */
static void
conn_closing(struct be_conn *c, const char *why)
{
	if (c->mode == BE_LINGER)
		return;
	c->mode = BE_LINGER;
	c->want_shut = true;
	c->slow_wait = false;
	sy_timer_stop(be_loop, &c->timer);
	if (c->why == NULL)
		c->why = why;
}

static bool
utf8_feed(struct be_utf8 *u, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t ch;

		if (u->need == 0) {
			/* Fast path: eight ASCII bytes at a time. */
			while (n - i >= 8) {
				uint64_t v;

				memcpy(&v, p + i, 8);
				if (v & UINT64_C(0x8080808080808080))
					break;
				i += 8;
			}
			if (i == n)
				break;
			ch = p[i++];
			if (ch < 0x80)
				continue;
			u->lo = 0x80;
			u->hi = 0xbf;
			if (ch >= 0xc2 && ch <= 0xdf) {
				u->need = 1;
			} else if (ch == 0xe0) {
				u->need = 2;
				u->lo = 0xa0;
			} else if (ch == 0xed) {
				u->need = 2;
				u->hi = 0x9f;
			} else if (ch >= 0xe1 && ch <= 0xef) {
				u->need = 2;
			} else if (ch == 0xf0) {
				u->need = 3;
				u->lo = 0x90;
			} else if (ch >= 0xf1 && ch <= 0xf3) {
				u->need = 3;
			} else if (ch == 0xf4) {
				u->need = 3;
				u->hi = 0x8f;
			} else {
				return false;
			}
		} else {
			ch = p[i++];
			if (ch < u->lo || ch > u->hi)
				return false;
			u->need--;
			u->lo = 0x80;
			u->hi = 0xbf;
		}
	}
	return true;
}

/* ---- WebSocket ------------------------------------------------------------ */

/* A key is 16 bytes in base64: 22 characters of the alphabet and "==". */
static bool
ws_key_valid(const char *k)
{
	size_t i;

	if (k == NULL || strlen(k) != 24 || k[22] != '=' || k[23] != '=')
		return false;
	for (i = 0; i < 22; i++) {
		char ch = k[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '+' || ch == '/'))
			return false;
	}
	return true;
}

/*
 * Sec-WebSocket-Accept: base64(SHA-1(key + GUID)), 28 characters.  With
 * wrong set, a well-formed value computed from a different digest.
 */
static int
ws_accept(const char *key, bool wrong, char out[32])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char buf[24 + sizeof(WS_GUID)];

	memcpy(buf, key, 24);
	memcpy(buf + 24, WS_GUID, sizeof(WS_GUID) - 1);
	if (EVP_Digest(buf, 24 + sizeof(WS_GUID) - 1, md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != 20)
		return -1;
	if (wrong)
		md[0] ^= 0x5a;
	EVP_EncodeBlock((unsigned char *)out, md, 20);
	return 0;
}

static void
ws_put_header(struct be_conn *c, bool fin, unsigned op, uint64_t len)
{
	uint8_t h[10];
	size_t n = 0;
	int i;

	h[n++] = (uint8_t)((fin ? 0x80 : 0) | op);
	if (len < 126) {
		h[n++] = (uint8_t)len;
	} else if (len <= 0xffff) {
		h[n++] = 126;
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	} else {
		h[n++] = 127;
		for (i = 7; i >= 0; i--)
			h[n++] = (uint8_t)(len >> (8 * i));
	}
	conn_append(c, h, n);
}

static void
ws_unmask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t mask[4], unsigned *off)
{
	unsigned o = *off;
	size_t i = 0;

	while (i < n && o != 0) {
		dst[i] = src[i] ^ mask[o];
		o = (o + 1) & 3;
		i++;
	}
	if (n - i >= 8) {
		uint8_t m8[8] = { mask[0], mask[1], mask[2], mask[3],
				  mask[0], mask[1], mask[2], mask[3] };
		uint64_t m, v;

		memcpy(&m, m8, 8);
		for (; n - i >= 8; i += 8) {
			memcpy(&v, src + i, 8);
			v ^= m;
			memcpy(dst + i, &v, 8);
		}
	}
	for (; i < n; i++) {
		dst[i] = src[i] ^ mask[o];
		o = (o + 1) & 3;
	}
	*off = o;
}

/* Fail the connection: a close frame with code (if none was sent), then FIN. */
static void
ws_fail(struct be_conn *c, unsigned code, const char *why)
{
	uint8_t b[2] = { (uint8_t)(code >> 8), (uint8_t)code };

	if (!c->ws.close_sent) {
		ws_put_header(c, true, WS_CLOSE, 2);
		conn_append(c, b, 2);
		c->ws.close_sent = true;
	}
	conn_log(c, "websocket: %s: closing with %u", why, code);
	conn_closing(c, why);
}

static bool
ws_close_code_ok(unsigned code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	    (code >= 3000 && code <= 4999);
}

static void
ws_control(struct be_conn *c, unsigned op, const uint8_t *p, size_t n, const uint8_t mask[4])
{
	uint8_t buf[125];
	unsigned off = 0, code;
	struct be_utf8 u = { 0, 0x80, 0xbf };

	ws_unmask(buf, p, n, mask, &off);
	switch (op) {
	case WS_PING:
		if (!c->ws.close_sent) {
			ws_put_header(c, true, WS_PONG, n);
			conn_append(c, buf, n);
		}
		break;
	case WS_PONG:
		break;
	case WS_CLOSE:
		if (n == 1) {
			ws_fail(c, 1002, "close frame with a 1-byte payload");
			return;
		}
		code = n >= 2 ? (unsigned)buf[0] << 8 | buf[1] : 0;
		if (n >= 2 && !ws_close_code_ok(code)) {
			ws_fail(c, 1002, "invalid close code");
			return;
		}
		if (n > 2 && (!utf8_feed(&u, buf + 2, n - 2) || u.need != 0)) {
			ws_fail(c, 1007, "close reason is not utf-8");
			return;
		}
		if (!c->ws.close_sent) {
			ws_put_header(c, true, WS_CLOSE, n >= 2 ? 2 : 0);
			conn_append(c, buf, n >= 2 ? 2 : 0);
			c->ws.close_sent = true;
		}
		conn_log(c, "websocket: close %u received, %llu messages echoed", code,
		    (unsigned long long)c->ws.messages);
		conn_closing(c, "websocket close handshake");
		break;
	}
}

/* The payload of a data frame went through. */
static void
ws_frame_end(struct be_conn *c)
{
	struct be_ws *ws = &c->ws;

	if (ws->utf8_bad || (ws->frame_fin && ws->text && ws->utf8.need != 0)) {
		ws_fail(c, 1007, "text message is not utf-8");
		return;
	}
	if (ws->frame_fin)
		ws->messages++;
}

/*
 * Echo whatever complete frames (and partial data payloads) are in the
 * input buffer.  Data frames are echoed as they come: header first, then
 * the payload unmasked as it arrives; control frames are handled whole.
 */
static void
ws_process(struct be_conn *c)
{
	struct be_ws *ws = &c->ws;

	while (c->mode == BE_WS && !c->dead) {
		const uint8_t *p = (const uint8_t *)sy_buf_rpos(&c->in);
		size_t len = sy_buf_len(&c->in), hlen = 2, n;
		uint64_t plen;
		unsigned op;
		bool fin;

		if (ws->in_payload) {
			n = ws->remain < len ? (size_t)ws->remain : len;
			if (n > 0) {
				uint8_t *dst;

				if (sy_buf_reserve(&c->out, n) == -1) {
					conn_nomem(c);
					return;
				}
				dst = (uint8_t *)sy_buf_wpos(&c->out);
				ws_unmask(dst, p, n, ws->mask, &ws->mask_off);
				if (ws->text && !ws->utf8_bad && !utf8_feed(&ws->utf8, dst, n))
					ws->utf8_bad = true;
				c->out.end += n;
				sy_buf_consume(&c->in, n);
				ws->remain -= n;
			}
			if (ws->remain > 0)
				break;
			ws->in_payload = false;
			ws_frame_end(c);
			continue;
		}
		if (len < 2)
			break;
		fin = (p[0] & 0x80) != 0;
		op = p[0] & 0x0f;
		if (p[0] & 0x70) {
			ws_fail(c, 1002, "reserved bits set");
			break;
		}
		if (!(p[1] & 0x80)) {
			ws_fail(c, 1002, "unmasked client frame");
			break;
		}
		plen = p[1] & 0x7f;
		if (plen == 126) {
			if (len < 4)
				break;
			plen = (uint64_t)p[2] << 8 | p[3];
			hlen = 4;
		} else if (plen == 127) {
			unsigned i;

			if (len < 10)
				break;
			for (plen = 0, i = 2; i < 10; i++)
				plen = plen << 8 | p[i];
			if (plen >> 63) {
				ws_fail(c, 1002, "frame length out of range");
				break;
			}
			hlen = 10;
		}
		if (len < hlen + 4)
			break;
		switch (op) {
		case WS_CONT:
			if (!ws->fragmented) {
				ws_fail(c, 1002, "continuation frame outside a message");
				return;
			}
			break;
		case WS_TEXT:
		case WS_BINARY:
			if (ws->fragmented) {
				ws_fail(c, 1002, "new message inside a fragmented one");
				return;
			}
			ws->text = op == WS_TEXT;
			ws->utf8 = (struct be_utf8){ 0, 0x80, 0xbf };
			ws->utf8_bad = false;
			break;
		case WS_CLOSE:
		case WS_PING:
		case WS_PONG:
			if (!fin || plen > 125) {
				ws_fail(c, 1002, "fragmented or oversized control frame");
				return;
			}
			if (len < hlen + 4 + plen)
				goto more;
			ws_control(c, op, p + hlen + 4, (size_t)plen, p + hlen);
			sy_buf_consume(&c->in, hlen + 4 + (size_t)plen);
			continue;
		default:
			ws_fail(c, 1002, "unknown opcode");
			return;
		}
		memcpy(ws->mask, p + hlen, 4);
		ws->mask_off = 0;
		ws->remain = plen;
		ws->in_payload = true;
		ws->frame_fin = fin;
		ws->fragmented = !fin;
		ws_put_header(c, fin, op, plen);
		sy_buf_consume(&c->in, hlen + 4);
	}
more:
	sy_buf_release_if_empty(&c->in);
}

/* ---- HTTP ----------------------------------------------------------------- */

static void
http_respond(struct be_conn *c, int status, const char *extra, const char *body,
    size_t blen, bool close)
{
	const char *method = c->msg != NULL ? sy_msg_method(c->msg) : NULL;
	bool nobody = status < 200 || status == 204 || status == 304;
	bool head = method != NULL && strcmp(method, "HEAD") == 0;
	int rc;

	rc = sy_buf_printf(&c->out, "HTTP/1.1 %d %s\r\n%s%s", status, sy_http_reason(status),
	    nobody ? "" : "Content-Type: text/plain\r\n", extra != NULL ? extra : "");
	if (rc == 0 && !nobody)
		rc = sy_buf_printf(&c->out, "Content-Length: %zu\r\n", blen);
	if (rc == 0 && close)
		rc = sy_buf_printf(&c->out, "Connection: close\r\n");
	else if (rc == 0 && c->msg != NULL && c->msg->version == SY_HTTP_10)
		rc = sy_buf_printf(&c->out, "Connection: keep-alive\r\n");
	if (rc == 0)
		rc = sy_buf_append(&c->out, "\r\n", 2);
	if (rc == 0 && !nobody && !head)
		rc = sy_buf_append(&c->out, body, blen);
	if (rc == -1) {
		conn_nomem(c);
		return;
	}
	if (close)
		conn_closing(c, "connection: close");
}

static void
http_respond_text(struct be_conn *c, int status, const char *text, bool close)
{
	http_respond(c, status, NULL, text, strlen(text), close);
}

static int
http_on_head(void *ud, struct sy_msg *m)
{
	struct be_conn *c = ud;
	const char *path = sy_msg_path(m), *q, *expect;
	size_t plen;

	c->msg = m;
	c->head_done = true;
	c->delay_ms = 0;
	if (path == NULL)
		path = "*";
	plen = (q = strchr(path, '?')) != NULL ? (size_t)(q - path) : strlen(path);
	if (plen > 6 && strncmp(path, "/slow/", 6) == 0) {
		size_t i = 6;
		int64_t ms = 0;

		for (; i < plen && path[i] >= '0' && path[i] <= '9'; i++)
			if (ms <= BE_MAX_DELAY_MS)
				ms = ms * 10 + (path[i] - '0');
		if (i > 6 && (i == plen || path[i] == '/')) {
			c->delay_ms = SY_MIN(ms, BE_MAX_DELAY_MS);
			path += i;
			plen -= i;
		}
	}
	if ((c->target = plen == 0 ? "/" : sy_arena_strndup(&c->arena, path, plen)) == NULL)
		return -1;
	c->collect_body = !m->upgrade && strcmp(c->target, "/echo") == 0;
	/* curl waits a second for this before sending a body. */
	expect = sy_headers_value(&m->headers, "expect");
	if (m->has_body && expect != NULL && sy_strieq(expect, "100-continue") &&
	    sy_buf_printf(&c->out, "HTTP/1.1 100 Continue\r\n\r\n") == -1)
		return -1;
	return 0;
}

static int
http_on_data(void *ud, const char *p, size_t n)
{
	struct be_conn *c = ud;

	if (!c->collect_body || c->body_too_large)
		return 0;
	if (sy_buf_len(&c->body) + n > BE_MAX_ECHO_BODY) {
		c->body_too_large = true;
		sy_buf_release(&c->body);
		return 0;
	}
	return sy_buf_append(&c->body, p, n);
}

static const struct sy_h1_callbacks http_callbacks = {
	.on_head = http_on_head,
	.on_data = http_on_data,
	.on_end = NULL,
};

static int
http_message_begin(struct be_conn *c)
{
	if (c->parser == NULL &&
	    (c->parser = sy_h1_parser_new(SY_H1_REQUEST, NULL, &http_callbacks, c)) == NULL)
		return -1;
	sy_arena_init(&c->arena, 2048);
	sy_h1_parser_reset(c->parser, &c->arena);
	c->in_msg = true;
	return 0;
}

static void
http_message_end(struct be_conn *c)
{
	sy_arena_fini(&c->arena);
	sy_buf_release(&c->body);
	c->in_msg = c->head_done = false;
	c->msg = NULL;
	c->target = NULL;
	c->raw_head = NULL;
	c->collect_body = c->body_too_large = false;
	c->delay_ms = 0;
	c->fed = 0;
	if (c->mode != BE_HTTP && c->parser != NULL) {
		sy_h1_parser_free(c->parser);
		c->parser = NULL;
	}
}

/* The head exactly as received: one line per request line and header. */
static void
http_capture_head(struct be_conn *c, const char *p, size_t n)
{
	const char *end;
	char *out;
	size_t i, j = 0;

	while (n > 0 && (*p == '\r' || *p == '\n')) {
		p++;
		n--;
	}
	if ((end = memmem(p, n, "\r\n\r\n", 4)) != NULL)
		n = (size_t)(end - p) + 2;
	else if ((end = memmem(p, n, "\n\n", 2)) != NULL)
		n = (size_t)(end - p) + 1;
	if ((out = sy_arena_alloc(&c->arena, n + 1)) == NULL) {
		conn_nomem(c);
		return;
	}
	for (i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		out[j++] = p[i];
	}
	out[j] = '\0';
	c->raw_head = out;
}

/* Everything in the token list [v, v+len) up to the first comma, trimmed. */
static void
http_first_token(const char *v, const char **tok, size_t *tlen)
{
	const char *e;

	while (*v == ' ' || *v == '\t' || *v == ',')
		v++;
	for (e = v; *e != '\0' && *e != ','; e++)
		;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*tok = v;
	*tlen = (size_t)(e - v);
}

/* Leftover input after a 101 becomes tunnel input; nothing else to do here. */
static void
http_switch(struct be_conn *c, enum be_mode mode)
{
	c->mode = mode;
	c->ws = (struct be_ws){ 0 };
}

static int
http_upgrade(struct be_conn *c)
{
	struct sy_msg *m = c->msg;
	const struct sy_headers *h = &m->headers;
	const char *up = sy_headers_value(h, "upgrade"), *method = sy_msg_method(m);
	const char *key, *ver, *proto, *tok;
	bool close_after = strcmp(c->target, "/close-after-101") == 0;
	char accept[32], extra[256];
	size_t tlen;

	if (strcmp(c->target, "/no-upgrade-101") == 0) {
		if (sy_buf_printf(&c->out, "HTTP/1.1 101 Switching Protocols\r\n"
		    "Connection: upgrade\r\n\r\n") == -1)
			goto nomem;
		http_switch(c, BE_RAW);
		return 101;
	}
	if (up != NULL && sy_token_list_has(up, strlen(up), "websocket")) {
		if (strcmp(method, "GET") != 0) {
			http_respond_text(c, 400, "websocket upgrade needs GET\n", true);
			return 400;
		}
		ver = sy_headers_value(h, "sec-websocket-version");
		if (ver == NULL || strcmp(ver, "13") != 0 ||
		    sy_headers_count(h, "sec-websocket-version") != 1) {
			http_respond(c, 426, "Sec-WebSocket-Version: 13\r\n",
			    "unsupported websocket version\n", 30, true);
			return 426;
		}
		key = sy_headers_value(h, "sec-websocket-key");
		if (sy_headers_count(h, "sec-websocket-key") != 1 || !ws_key_valid(key)) {
			http_respond_text(c, 400, "bad sec-websocket-key\n", true);
			return 400;
		}
		if (ws_accept(key, strcmp(c->target, "/bad-accept") == 0, accept) == -1) {
			http_respond_text(c, 500, "sha-1 failed\n", true);
			return 500;
		}
		extra[0] = '\0';
		if ((proto = sy_headers_value(h, "sec-websocket-protocol")) != NULL) {
			http_first_token(proto, &tok, &tlen);
			if (tlen > 0 && tlen < 200)
				snprintf(extra, sizeof(extra), "Sec-WebSocket-Protocol: %.*s\r\n",
				    (int)tlen, tok);
		}
		if (sy_buf_printf(&c->out, "HTTP/1.1 101 Switching Protocols\r\n"
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: %s\r\n%s\r\n", accept, extra) == -1)
			goto nomem;
		http_switch(c, close_after ? BE_SINK : BE_WS);
		if (close_after) {
			ws_put_header(c, true, WS_TEXT, 3);
			conn_append(c, "bye", 3);
			c->want_shut = true;
		}
		return 101;
	}
	http_first_token(up != NULL ? up : "", &tok, &tlen);
	if (sy_buf_printf(&c->out, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: %.*s\r\nConnection: upgrade\r\n\r\n", (int)tlen, tok) == -1)
		goto nomem;
	http_switch(c, close_after ? BE_SINK : BE_RAW);
	if (close_after) {
		conn_append(c, "bye", 3);
		c->want_shut = true;
	}
	return 101;
nomem:
	conn_nomem(c);
	return 500;
}

/* Answer the current request (its /slow delay, if any, is over). */
static void
http_answer(struct be_conn *c)
{
	struct sy_msg *m = c->msg;
	const char *t = c->target, *up = sy_headers_value(&m->headers, "upgrade");
	bool close = !m->keep_alive;
	int status;

	if (strncmp(t, "/status/", 8) == 0) {
		char body[32], extra[160] = "";
		const char *tok;
		size_t tlen;

		if (strlen(t) == 11 && t[8] >= '2' && t[8] <= '5' && t[9] >= '0' && t[9] <= '9' &&
		    t[10] >= '0' && t[10] <= '9') {
			status = atoi(t + 8);
			snprintf(body, sizeof(body), "status %d\n", status);
			/*
			 * To an upgrade request: name the token (a 426 must), but
			 * close, since the bytes that follow are not HTTP.
			 */
			if (m->upgrade && up != NULL) {
				http_first_token(up, &tok, &tlen);
				if (tlen < 100)
					snprintf(extra, sizeof(extra), "Upgrade: %.*s\r\n", (int)tlen, tok);
			}
			http_respond(c, status, extra, body, strlen(body), close || m->upgrade);
		} else {
			status = 400;
			http_respond_text(c, status, "status must be 200-599\n", true);
		}
	} else if (m->upgrade) {
		status = http_upgrade(c);
	} else if (strcmp(t, "/echo-headers") == 0) {
		status = 200;
		http_respond_text(c, status, c->raw_head != NULL ? c->raw_head : "", close);
	} else if (strcmp(t, "/echo") == 0) {
		if (c->body_too_large) {
			status = 413;
			http_respond_text(c, status, "body too large\n", true);
		} else {
			status = 200;
			http_respond(c, status, NULL, sy_buf_rpos(&c->body), sy_buf_len(&c->body),
			    close);
		}
	} else {
		status = 200;
		http_respond(c, status, NULL, BE_HELLO, sizeof(BE_HELLO) - 1, close);
	}
	conn_log(c, "%s %s%s%s -> %d", sy_msg_method(m), sy_msg_path(m) ? sy_msg_path(m) : "*",
	    m->upgrade ? " upgrade=" : "", m->upgrade && up != NULL ? up : "", status);
	http_message_end(c);
}

static void
http_fail(struct be_conn *c)
{
	const char *reason = NULL;
	char body[128];
	int status = sy_h1_parser_error(c->parser, &reason);

	if (c->dead)
		return;
	if (status == 0)
		status = 400;
	snprintf(body, sizeof(body), "%s\n", reason != NULL && *reason ? reason : "bad request");
	conn_log(c, "bad request: %d %s", status, reason != NULL ? reason : "");
	c->msg = NULL;		/* the head may be half built */
	http_respond_text(c, status, body, true);
	http_message_end(c);
}

/* Parse and answer requests until the input runs out or the mode changes. */
static void
http_process(struct be_conn *c)
{
	while (c->mode == BE_HTTP && !c->slow_wait && !c->dead) {
		size_t len = sy_buf_len(&c->in), consumed = 0;
		bool had_head;
		int rc;

		if (len <= c->fed)
			break;
		if (!c->in_msg && http_message_begin(c) == -1) {
			conn_nomem(c);
			return;
		}
		had_head = c->head_done;
		rc = sy_h1_parse(c->parser, sy_buf_rpos(&c->in) + c->fed, len - c->fed, &consumed);
		c->fed += consumed;
		/* The head's bytes stay in the input buffer until it is complete. */
		if (!had_head && c->head_done && c->target != NULL &&
		    strcmp(c->target, "/echo-headers") == 0)
			http_capture_head(c, sy_buf_rpos(&c->in), c->fed);
		if (c->head_done || rc != SY_AGAIN) {
			sy_buf_consume(&c->in, c->fed);
			c->fed = 0;
		}
		if (rc == SY_ERROR) {
			http_fail(c);
			break;
		}
		if (rc == SY_AGAIN)
			break;
		if (c->delay_ms > 0) {
			c->slow_wait = true;
			sy_timer_start(be_loop, &c->timer, c->delay_ms);
			break;
		}
		http_answer(c);
	}
	if (c->fed == 0)
		sy_buf_release_if_empty(&c->in);
}

/* ---- connections ---------------------------------------------------------- */

static void
conn_free(struct be_conn *c)
{
	conn_log(c, "closed (%s): rx %llu tx %llu", c->why != NULL ? c->why : "done",
	    (unsigned long long)c->rx, (unsigned long long)c->tx);
	sy_timer_stop(be_loop, &c->timer);
	sy_loop_del(be_loop, c->fd);
	close(c->fd);
	if (c->parser != NULL)
		sy_h1_parser_free(c->parser);
	sy_arena_fini(&c->arena);
	sy_buf_release(&c->in);
	sy_buf_release(&c->out);
	sy_buf_release(&c->body);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		be_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
}

/* Input that is only counted: /close-after-101 and closing connections. */
static void
conn_drop_input(struct be_conn *c)
{
	if (c->mode == BE_SINK)
		c->sink_rx += sy_buf_len(&c->in);
	sy_buf_release(&c->in);
}

static void
conn_process(struct be_conn *c)
{
	enum be_mode mode;

	do {
		mode = c->mode;
		switch (mode) {
		case BE_HTTP:
			http_process(c);
			break;
		case BE_WS:
			ws_process(c);
			break;
		case BE_RAW:
			if (sy_buf_len(&c->in) > 0)
				conn_append(c, sy_buf_rpos(&c->in), sy_buf_len(&c->in));
			sy_buf_release(&c->in);
			break;
		case BE_SINK:
		case BE_LINGER:
			conn_drop_input(c);
			break;
		}
	} while (c->mode != mode && !c->dead);
	if (!c->rd_eof || c->dead)
		return;
	switch (c->mode) {
	case BE_HTTP:
		if (c->slow_wait)
			break;
		if (c->in_msg && sy_h1_parser_in_message(c->parser)) {
			c->msg = NULL;
			http_respond_text(c, 400, "incomplete request\n", true);
			http_message_end(c);
		}
		c->want_shut = true;
		break;
	case BE_WS:
	case BE_RAW:
		/* Half-close: what is queued still goes out, then our FIN. */
		c->want_shut = true;
		break;
	case BE_SINK:
		if (c->why == NULL) {
			/* A result for tests, so not silenced by -q. */
			printf("conn %u.%llu %s: close-after-101: %llu bytes received after the 101\n",
			    be_worker, (unsigned long long)c->id, c->peer,
			    (unsigned long long)c->sink_rx);
			c->why = "close-after-101 done";
		}
		break;
	case BE_LINGER:
		break;
	}
}

static void
conn_flush(struct be_conn *c)
{
	while (sy_buf_len(&c->out) > 0) {
		ssize_t n = send(c->fd, sy_buf_rpos(&c->out), sy_buf_len(&c->out), MSG_NOSIGNAL);

		if (n > 0) {
			sy_buf_consume(&c->out, (size_t)n);
			c->tx += (uint64_t)n;
		} else if (n == -1 && errno == EINTR) {
			continue;
		} else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		} else {
			c->dead = true;
			if (c->why == NULL)
				c->why = errno == EPIPE ? "peer closed" :
				    errno == ECONNRESET ? "reset by peer" : "send failed";
			return;
		}
	}
	sy_buf_release(&c->out);
}

static bool
conn_want_read(const struct be_conn *c)
{
	if (c->rd_eof || c->slow_wait)
		return false;
	if (c->mode == BE_SINK || c->mode == BE_LINGER)
		return true;
	return sy_buf_len(&c->out) < BE_HIGH_WATER;
}

static void
conn_read(struct be_conn *c)
{
	static char scratch[65536];
	int i;

	for (i = 0; i < BE_READS_PER_EVENT && conn_want_read(c) && !c->dead; i++) {
		struct sy_buf *b = NULL;
		char *dst = scratch;
		size_t room = sizeof(scratch);
		ssize_t n;

		if (c->mode == BE_RAW)
			b = &c->out;
		else if (c->mode == BE_HTTP || c->mode == BE_WS)
			b = &c->in;
		if (b != NULL) {
			if (sy_buf_room(b) < 2048 && sy_buf_reserve(b, SY_BUF_SIZE) == -1) {
				conn_nomem(c);
				return;
			}
			dst = sy_buf_wpos(b);
			room = sy_buf_room(b);
		}
		n = read(c->fd, dst, room);
		if (n > 0) {
			c->rx += (uint64_t)n;
			if (b != NULL)
				b->end += (size_t)n;
			else if (c->mode == BE_SINK)
				c->sink_rx += (uint64_t)n;
			conn_process(c);
			if ((size_t)n < room)
				break;
		} else if (n == 0) {
			c->rd_eof = true;
			conn_process(c);
			break;
		} else if (errno == EINTR) {
			continue;
		} else {
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				c->dead = true;
				if (c->why == NULL)
					c->why = errno == ECONNRESET ? "reset by peer" : "read failed";
			}
			break;
		}
	}
	sy_buf_release_if_empty(&c->in);
}

/* End of every callback: write what is queued, send FIN, close, re-arm poll. */
static void
conn_update(struct be_conn *c)
{
	short ev = 0;

	if (!c->dead && sy_buf_len(&c->out) > 0)
		conn_flush(c);
	if (!c->dead && sy_buf_len(&c->out) == 0) {
		sy_buf_release(&c->out);
		if (c->want_shut && !c->wr_shut) {
			shutdown(c->fd, SHUT_WR);
			c->wr_shut = true;
			/* Closing: wait a while for the peer's FIN, not forever. */
			if (c->mode == BE_LINGER && !c->rd_eof)
				sy_timer_start(be_loop, &c->timer, BE_LINGER_MS);
		}
	}
	if (!c->dead && c->wr_shut && c->rd_eof)
		c->dead = true;
	if (c->dead) {
		conn_free(c);
		return;
	}
	if (conn_want_read(c))
		ev |= POLLIN;
	if (sy_buf_len(&c->out) > 0)
		ev |= POLLOUT;
	if (ev != c->events) {
		sy_loop_set_events(be_loop, c->fd, ev);
		c->events = ev;
	}
}

static void
conn_on_event(struct sy_loop *loop, int fd, short revents, void *arg)
{
	struct be_conn *c = arg;

	(void)loop;
	(void)fd;
	if (revents & POLLOUT)
		conn_flush(c);
	if (!c->dead && (revents & (POLLIN | POLLHUP | POLLERR))) {
		if (conn_want_read(c)) {
			conn_read(c);
		} else if (revents & (POLLHUP | POLLERR)) {
			/* Gone both ways (or reset) while we were not reading. */
			c->dead = true;
			if (c->why == NULL)
				c->why = "hang-up";
		}
	}
	conn_update(c);
}

static void
conn_on_timer(struct sy_loop *loop, void *arg)
{
	struct be_conn *c = arg;

	(void)loop;
	if (c->mode == BE_LINGER) {
		/* The peer never sent its FIN: give up. */
		c->dead = true;
	} else if (c->slow_wait) {
		c->slow_wait = false;
		http_answer(c);
		conn_process(c);
	}
	conn_update(c);
}

static void
conn_new(int fd, const struct sockaddr_storage *ss)
{
	struct be_conn *c;
	int one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->id = ++be_next_id;
	c->mode = BE_HTTP;
	sy_addr_format((const struct sockaddr *)ss, c->peer, sizeof(c->peer));
	sy_timer_init(&c->timer, conn_on_timer, c);
	sy_arena_init(&c->arena, 2048);
	if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->events = POLLIN;
	if (sy_loop_add(be_loop, fd, c->events, conn_on_event, c) == -1) {
		close(fd);
		free(c);
		return;
	}
	c->next = be_conns;
	if (be_conns != NULL)
		be_conns->prev = c;
	be_conns = c;
	conn_log(c, "accepted");
}

/* ---- listeners and processes ---------------------------------------------- */

static void
listener_on_backoff(struct sy_loop *loop, void *arg)
{
	struct be_listener *l = arg;

	sy_loop_set_events(loop, l->fd, POLLIN);
}

static void
listener_on_accept(struct sy_loop *loop, int fd, short revents, void *arg)
{
	struct be_listener *l = arg;
	int i;

	(void)revents;
	for (i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				fprintf(stderr, "sy-backend: worker %u: cannot accept on %s: %s\n",
				    be_worker, l->name, strerror(errno));
				sy_loop_set_events(loop, fd, 0);
				sy_timer_start(loop, &l->backoff, BE_ACCEPT_BACKOFF_MS);
			}
			return;
		}
		conn_new(cfd, &ss);
	}
}

static int
listener_open(const char *spec)
{
	struct be_listener *l;
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned slen;
	int fd, one = 1;

	if (be_nlisteners == BE_MAX_LISTENERS) {
		fprintf(stderr, "sy-backend: too many listeners (at most %d)\n", BE_MAX_LISTENERS);
		return -1;
	}
	if (sy_addr_parse(spec, &ss, &slen) == -1) {
		fprintf(stderr, "sy-backend: bad listen address \"%s\" (want addr:port)\n", spec);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, slen) == -1 || listen(fd, 4096) == -1)
		goto fail;
	l = &be_listeners[be_nlisteners++];
	l->fd = fd;
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		sy_addr_format((struct sockaddr *)&ss, l->name, sizeof(l->name));
	else
		snprintf(l->name, sizeof(l->name), "%s", spec);
	sy_timer_init(&l->backoff, listener_on_backoff, l);
	return 0;
fail:
	fprintf(stderr, "sy-backend: cannot listen on %s: %s\n", spec, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

static void
on_stop_signal(int sig)
{
	int e = errno;
	ssize_t r;

	(void)sig;
	be_stop = 1;
	if (be_sigpipe[1] != -1) {
		r = write(be_sigpipe[1], "x", 1);
		(void)r;
	}
	errno = e;
}

static void
on_sigpipe_readable(struct sy_loop *loop, int fd, short revents, void *arg)
{
	char buf[64];

	(void)loop;
	(void)revents;
	(void)arg;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* One event loop over every listener until SIGTERM or SIGINT. */
static int
worker_run(void)
{
	struct sigaction sa;
	struct be_conn *c;
	unsigned i;
	int rc = 0;

	if ((be_loop = sy_loop_new()) == NULL || pipe2(be_sigpipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		fprintf(stderr, "sy-backend: worker %u: %s\n", be_worker, strerror(errno));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sy_time_update();
	if (sy_loop_add(be_loop, be_sigpipe[0], POLLIN, on_sigpipe_readable, NULL) == -1)
		rc = 1;
	for (i = 0; i < be_nlisteners && rc == 0; i++)
		if (sy_loop_add(be_loop, be_listeners[i].fd, POLLIN, listener_on_accept,
		    &be_listeners[i]) == -1)
			rc = 1;
	if (rc == 0)
		printf("sy-backend worker %u ready: pid %d\n", be_worker, (int)getpid());
	while (rc == 0 && !be_stop) {
		if (sy_loop_once(be_loop, -1) == -1) {
			fprintf(stderr, "sy-backend: worker %u: poll: %s\n", be_worker, strerror(errno));
			rc = 1;
		}
	}
	while ((c = be_conns) != NULL) {
		if (c->why == NULL)
			c->why = "shutting down";
		conn_free(c);
	}
	for (i = 0; i < be_nlisteners; i++) {
		sy_timer_stop(be_loop, &be_listeners[i].backoff);
		close(be_listeners[i].fd);
	}
	close(be_sigpipe[0]);
	close(be_sigpipe[1]);
	be_sigpipe[0] = be_sigpipe[1] = -1;
	sy_loop_free(be_loop);
	be_loop = NULL;
	return rc;
}

/* The parent of -w N: pass SIGTERM/SIGINT on; kill() is async-signal-safe. */
static void
on_parent_signal(int sig)
{
	unsigned i;

	(void)sig;
	be_stop = 1;
	for (i = 0; i < be_nchildren; i++)
		if (be_children[i] > 0)
			kill(be_children[i], SIGTERM);
}

static int
workers_run(unsigned n)
{
	struct sigaction sa;
	sigset_t block, old;
	pid_t parent = getpid(), pid;
	unsigned i, live = 0;
	int st, rc = 0;

	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < n; i++) {
		if ((pid = fork()) == -1) {
			fprintf(stderr, "sy-backend: fork: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != parent)
				_exit(1);
			be_nchildren = 0;
			be_worker = i + 1;
			st = worker_run();
			fflush(stdout);
			fflush(stderr);
			_exit(st);
		}
		be_children[be_nchildren++] = pid;
		live++;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_parent_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (rc != 0)
		on_parent_signal(SIGTERM);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	while (live > 0) {
		if ((pid = waitpid(-1, &st, 0)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		sigprocmask(SIG_BLOCK, &block, &old);
		for (i = 0; i < be_nchildren; i++) {
			if (be_children[i] == pid) {
				be_children[i] = 0;
				live--;
			}
		}
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			rc = 1;
			fprintf(stderr, "sy-backend: worker pid %d %s %d\n", (int)pid,
			    WIFEXITED(st) ? "exited with status" : "killed by signal",
			    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		}
	}
	return rc;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: sy-backend [-hq] [-l addr:port]... [-w workers]\n"
	    "\n"
	    "A test and benchmark backend for switchyard: HTTP/1.1 with keep-alive and\n"
	    "pipelining, WebSocket echo (RFC 6455) and raw echo after any other Upgrade.\n"
	    "\n"
	    "  -l addr:port  listen here (repeatable; \"[::1]:9000\", \"*:9000\"; port 0 picks\n"
	    "                a free port); default " BE_DEFAULT_LISTEN "\n"
	    "  -w workers    worker processes sharing the listeners (default 1: no fork)\n"
	    "  -q            no per-connection log lines\n"
	    "  -h            this text\n"
	    "\n"
	    "Prints \"sy-backend listening on ADDR\" per listener once it accepts\n"
	    "connections, then \"sy-backend worker N ready: pid P\" per worker (N is 0\n"
	    "without -w); SIGTERM or SIGINT stops it (exit status 0).\n"
	    "\n"
	    "Upgrade requests (HTTP/1.1, \"Upgrade: T\" and \"Connection: upgrade\"):\n"
	    "  T = websocket  GET with Sec-WebSocket-Version 13 and a key: 101 with the\n"
	    "                 right Sec-WebSocket-Accept, then every frame is echoed with\n"
	    "                 its opcode and FIN bit (any size, unmasked), ping gets pong,\n"
	    "                 close gets the same code back; an unmasked or malformed\n"
	    "                 frame closes with 1002, invalid UTF-8 text with 1007\n"
	    "  any other T    101 with \"Upgrade: T\" after the request body (if any) is\n"
	    "                 read; then raw bytes are echoed unchanged\n"
	    "  Both honour half-close: after the client's FIN what is queued is sent,\n"
	    "  then FIN.  Input stops while %d KiB of output are queued.\n"
	    "\n"
	    "Paths:\n"
	    "  /status/NNN       answer NNN (200-599) with a small body; after an upgrade\n"
	    "                    request the connection is closed and nothing tunnelled\n"
	    "  /slow/MS[/PATH]   wait MS milliseconds, then answer as for PATH (default /)\n"
	    "  /bad-accept       websocket 101 with a wrong Sec-WebSocket-Accept\n"
	    "  /no-upgrade-101   101 without an Upgrade header, then raw echo\n"
	    "  /close-after-101  101, then \"bye\" (a text frame for websocket) and FIN;\n"
	    "                    input is counted until EOF and the count printed\n"
	    "  /echo-headers     200, body = request line and headers as received,\n"
	    "                    one per line\n"
	    "  /echo             200, body = the request body (up to 16 MiB, else 413)\n"
	    "  anything else     200 \"hello from sy-backend\"\n"
	    "Malformed requests get 400 (or 413, 431, 501, 505) and the connection closes.\n",
	    BE_HIGH_WATER / 1024);
}

int
main(int argc, char **argv)
{
	struct rlimit rl;
	unsigned workers = 1, i;
	char *end;
	long v;
	int ch;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "hl:qw:")) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return 0;
		case 'l':
			if (listener_open(optarg) == -1)
				return 1;
			break;
		case 'q':
			be_quiet = true;
			break;
		case 'w':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < 1 || v > BE_MAX_WORKERS) {
				fprintf(stderr, "sy-backend: -w wants 1-%d\n", BE_MAX_WORKERS);
				return 1;
			}
			workers = (unsigned)v;
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	if (be_nlisteners == 0 && listener_open(BE_DEFAULT_LISTEN) == -1)
		return 1;
	/* Tens of thousands of connections need as many descriptors as allowed. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (i = 0; i < be_nlisteners; i++)
		printf("sy-backend listening on %s\n", be_listeners[i].name);
	fflush(stdout);
	if (workers == 1)
		return worker_run();
	return workers_run(workers);
}
