/*
 * sy-load.c - switchyard's WebSocket load generator.  It opens C client
 * connections to one loopback address with non-blocking sockets and
 * epoll, performs real RFC 6455 opening handshakes (a fresh random key
 * each time, Sec-WebSocket-Accept checked), sends masked binary frames
 * and checks every echoed byte against what it sent.  Four modes:
 * pingpong (one message in flight per connection: messages/s and
 * round-trip latency), handshake (open, handshake, close handshake,
 * repeat: handshakes/s), stream (each connection keeps a window of data
 * in flight: echoed bytes/s) and idle (open C WebSockets, say "ready C",
 * hold them until told, then check that each still echoes).  The result
 * is one JSON line on stdout; diagnostics go to stderr.  A fifth mode, h2,
 * is pingpong over HTTP/2: one cleartext connection with prior knowledge
 * (nghttp2), and once the server's SETTINGS allow extended CONNECT, every
 * WebSocket is a stream of it opened as RFC 8441 says (:method CONNECT,
 * :protocol websocket, answered 200), carrying the same masked frames.
 *
 * Deliberately not here: TLS, extensions, text frames (the echo
 * of binary frames needs no UTF-8 check on either side) and any code of
 * the daemon, so the tool measures the proxy with an independent client.
 * Masks come from a xorshift generator seeded by RAND_bytes: unpredictable
 * enough for a benchmark, not for a browser.  Invariants: a connection's
 * output buffer only ever holds whole frames, so a pong or a close frame
 * can be appended at any time; counting happens only inside the
 * measurement window; every wait is bounded by -T (per operation) and -d
 * (the whole run), so the tool always ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define LOAD_MAX_THREADS 64
#define LOAD_MAX_SIZE (64u * 1024 * 1024)
#define LOAD_PAT_SPREAD 4093u		/* messages start at different pattern offsets */
#define LOAD_HEAD_MAX 4096		/* largest 101 response head accepted */
#define LOAD_READ_BUF (256 * 1024)
#define LOAD_STREAM_BATCH (64 * 1024)	/* stream mode: bytes of frames per write */
#define LOAD_EVENTS 512
#define LOAD_TICK_MS 50			/* timeouts are checked this often */
#define LOAD_DRAIN_MS 3000		/* after the run: wait this long for close handshakes */
#define LOAD_HIST_SLOTS 3840		/* log-linear histogram, 1/64 precision */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum load_mode { MODE_PINGPONG, MODE_HANDSHAKE, MODE_STREAM, MODE_IDLE, MODE_H2 };
static const char *const mode_names[] = { "pingpong", "handshake", "stream", "idle", "h2" };
#define LOAD_MODES 5

enum lc_state {
	LC_FREE,	/* no socket */
	LC_CONNECTING,	/* connect(2) in progress */
	LC_HANDSHAKE,	/* upgrade request sent (maybe partly), reading the 101 */
	LC_OPEN,	/* WebSocket open */
	LC_CLOSING,	/* our close frame queued: waiting for theirs, then EOF */
	LC_DONE		/* finished, socket closed */
};

enum load_phase {
	PH_OPENING,	/* establishing the connections (not in handshake mode) */
	PH_RUN,		/* sending and counting */
	PH_HOLD,	/* idle mode: everything open, waiting to be told */
	PH_VERIFY,	/* idle mode: one echo per connection */
	PH_DRAIN	/* closing handshakes, then exit */
};

struct load_hist {
	uint64_t slot[LOAD_HIST_SLOTS];
	uint64_t count, sum_ns, max_ns;
};

struct load_thread;

/* One client connection ("slot": handshake mode reuses it for each cycle). */
struct lc {
	struct load_thread *th;
	int fd;
	unsigned id;
	enum lc_state state;
	bool pollout;		/* EPOLLOUT currently requested */
	bool in_flight;		/* pingpong / verify: a message awaits its echo */
	bool close_rcvd;
	bool counted;		/* idle mode: counted as open */
	int64_t t_op;		/* ns: start of the current round trip or cycle */
	int64_t deadline;	/* ns: current operation must finish by then (0: none) */
	char accept[32];	/* expected Sec-WebSocket-Accept */
	char *head;		/* response head being read (handshake only) */
	size_t head_len;
	unsigned char *out;	/* whole frames (or the request) waiting to be written */
	size_t out_len, out_off, out_cap;
	/* frame parser */
	unsigned char fh[14];
	unsigned fh_len, fh_need;
	uint64_t f_remain;
	uint8_t f_op;
	bool f_fin, in_msg;
	unsigned char ctl[125];
	unsigned ctl_len;
	/* verification */
	uint64_t tx_msg, rx_msg;	/* messages sent, echoes completed */
	uint64_t rx_off;		/* bytes of the current echo received */
	uint64_t tx_bytes, rx_bytes;	/* payload bytes (stream window) */
	/* h2 mode: this WebSocket is a stream of the thread's connection (fd is -1) */
	struct h2conn *h2;
	int32_t stream_id;
	bool h2_live;		/* the stream is open in nghttp2 (not closed or reset) */
	bool h2_eof;		/* our END_STREAM went out */
	int h2_status;		/* :status of the response */
};

struct load_thread {
	pthread_t tid;
	unsigned index;
	int ep;
	struct lc *conns;
	unsigned nconns;
	uint64_t rng;
	unsigned char *rbuf;
	enum load_phase phase;
	unsigned open_now;	/* connections in LC_OPEN (or beyond, idle) */
	unsigned active;	/* slots not FREE/DONE */
	unsigned connecting;	/* idle: connects + handshakes in progress */
	unsigned next_slot;	/* idle: next slot to open */
	uint64_t quota;		/* -n share: messages or handshakes to start (0: none) */
	uint64_t started;
	/* results */
	uint64_t messages, bytes, handshakes, errors, dropped, alive;
	struct load_hist hist;
	char first_error[256];
	int64_t t_last_done;
	struct h2conn *h2;	/* h2 mode */
};

/* h2 mode: the one HTTP/2 connection a thread carries its streams on. */
struct h2conn {
	struct load_thread *th;
	int fd;
	bool connected, settings_seen, dead, pollout;
	int64_t now, deadline;	/* now: for the callbacks; deadline: connect and SETTINGS */
	nghttp2_session *sess;
	unsigned char *out;	/* serialized frames not yet written */
	size_t out_len, out_off, out_cap;
	uint32_t max_streams;	/* the server's SETTINGS_MAX_CONCURRENT_STREAMS */
	uint64_t writes, reads;	/* syscalls, for the report */
};

static struct {
	enum load_mode mode;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char addr_text[80];
	const char *path, *host;
	unsigned conns, threads, size, connect_burst;
	double duration, warmup, timeout;
	uint64_t count;
	size_t window;
	bool quiet;
	unsigned char *pat;
	/* shared timeline (ns, CLOCK_MONOTONIC) */
	pthread_barrier_t barrier;
	int64_t t_begin, t_count, t_end, t_hard_end;
	bool timed_out;
} g;

static volatile sig_atomic_t release_flag;

static void
on_release(int sig)
{
	(void)sig;
	release_flag = 1;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: sy-load MODE -a addr:port [-c conns] [-s bytes] [-d seconds] [-n count]\n"
	    "               [-W seconds] [-t threads] [-T seconds] [-B burst] [-w bytes]\n"
	    "               [-p path] [-H host] [-q]\n"
	    "\n"
	    "WebSocket load over loopback with real RFC 6455 handshakes and masked\n"
	    "frames; every echoed byte is checked.  One JSON line on stdout.\n"
	    "\n"
	    "  pingpong   each connection sends a message, waits for its echo, repeats\n"
	    "  handshake  each connection opens, handshakes, closes, repeats\n"
	    "  stream     each connection keeps -w bytes in flight\n"
	    "  idle       open -c WebSockets, print \"ready N\", hold them until stdin\n"
	    "             closes or has a line, SIGUSR1/SIGTERM, or -d; then check each\n"
	    "  h2         pingpong on -c WebSockets that are streams of ONE HTTP/2\n"
	    "             connection (h2c prior knowledge, RFC 8441 extended CONNECT)\n"
	    "\n"
	    "  -a addr:port  target, 127.0.0.0/8 or [::1] only\n"
	    "  -c conns      connections, or streams in h2 mode (default 50)\n"
	    "  -s bytes      message size (default 64)\n"
	    "  -d seconds    measured duration, or the hold time in idle mode (default 10)\n"
	    "  -n count      stop after this many messages or handshakes (0: no bound)\n"
	    "  -W seconds    warm-up before counting starts (default 0)\n"
	    "  -t threads    threads sharing the connections (default 1; idle, h2: 1)\n"
	    "  -T seconds    deadline of each connect, handshake or echo (default 10)\n"
	    "  -B burst      idle: connections being opened at once (default 256)\n"
	    "  -w bytes      stream: payload in flight per connection (default 4 x -s, >= 256 KiB)\n"
	    "  -p path       request target (default /ws)\n"
	    "  -H host       Host header (default localhost)\n"
	    "  -q            no progress lines on stderr\n");
	exit(code);
}

/* ---- errors ----------------------------------------------------------- */

static void lc_drop(struct lc *c);
static int h2_stream_kick(struct lc *c);
static void h2_stream_reset(struct lc *c);

static void
th_error(struct load_thread *th, const char *fmt, ...)
{
	va_list ap;

	th->errors++;
	if (th->first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(th->first_error, sizeof(th->first_error), fmt, ap);
	va_end(ap);
}

/* A connection failed: count it, remember why, close it. */
static void
lc_fail(struct lc *c, const char *fmt, ...)
{
	va_list ap;
	char msg[200];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	th_error(c->th, "connection %u: %s", c->id, msg);
	lc_drop(c);
}

/* ---- histogram -------------------------------------------------------- */

static unsigned
hist_index(uint64_t v)
{
	unsigned e;

	if (v < 128)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);
	return 128 + (e - 7) * 64 + (unsigned)((v >> (e - 6)) - 64);
}

/* Middle of a slot's range, in ns. */
static double
hist_value(unsigned idx)
{
	unsigned e, m;

	if (idx < 128)
		return idx;
	e = (idx - 128) / 64 + 7;
	m = (idx - 128) % 64 + 64;
	return ((double)m + 0.5) * (double)(1ull << (e - 6));
}

static void
hist_add(struct load_hist *h, uint64_t ns)
{
	h->slot[hist_index(ns)]++;
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

static double
hist_pct(const struct load_hist *h, double pct)
{
	uint64_t want, seen = 0;
	unsigned i;

	if (h->count == 0)
		return 0;
	want = (uint64_t)(pct / 100.0 * (double)h->count + 0.5);
	if (want < 1)
		want = 1;
	for (i = 0; i < LOAD_HIST_SLOTS; i++) {
		seen += h->slot[i];
		if (seen >= want) {
			double v = hist_value(i);
			return v > (double)h->max_ns ? (double)h->max_ns : v;
		}
	}
	return (double)h->max_ns;
}

/* ---- small helpers ---------------------------------------------------- */

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Where message k of connection c starts in the pattern. */
static const unsigned char *
msg_pattern(const struct lc *c, uint64_t k)
{
	return g.pat + (c->id * 131u + k * 17u) % LOAD_PAT_SPREAD;
}

static bool
in_window(int64_t t)
{
	return t >= g.t_count && t < g.t_end;
}

static int
out_reserve(struct lc *c, size_t more)
{
	unsigned char *p;
	size_t cap;

	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + more <= c->out_cap)
		return 0;
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
		if (c->out_len + more <= c->out_cap)
			return 0;
	}
	cap = c->out_cap ? c->out_cap : 256;
	while (cap < c->out_len + more)
		cap *= 2;
	if ((p = realloc(c->out, cap)) == NULL)
		return -1;
	c->out = p;
	c->out_cap = cap;
	return 0;
}

/* Append one masked client frame: opcode op, payload src[0..n). */
static int
frame_put(struct lc *c, uint8_t op, const unsigned char *src, size_t n)
{
	unsigned char *p;
	uint32_t mask = (uint32_t)rng_next(&c->th->rng);
	uint64_t m64;
	unsigned char mk[4];
	size_t i = 0, hl;

	if (out_reserve(c, n + 14) == -1)
		return -1;
	p = c->out + c->out_len;
	p[0] = 0x80 | op;
	if (n < 126) {
		p[1] = 0x80 | (unsigned char)n;
		hl = 2;
	} else if (n < 65536) {
		p[1] = 0x80 | 126;
		p[2] = (unsigned char)(n >> 8);
		p[3] = (unsigned char)n;
		hl = 4;
	} else {
		p[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			p[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	memcpy(mk, &mask, 4);
	memcpy(p + hl, mk, 4);
	p += hl + 4;
	m64 = (uint64_t)mask | (uint64_t)mask << 32;	/* same bytes every 4 */
	for (i = 0; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, src + i, 8);
		w ^= m64;
		memcpy(p + i, &w, 8);
	}
	for (; i < n; i++)
		p[i] = src[i] ^ mk[i & 3];
	c->out_len += hl + 4 + n;
	return 0;
}

static void
lc_want_out(struct lc *c, bool on)
{
	struct epoll_event ev;

	if (c->pollout == on || c->fd < 0)
		return;
	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(c->th->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->pollout = on;
}

/* Write what is queued.  0: all written or the rest waits for EPOLLOUT; -1: failed (c dropped). */
static int
lc_flush(struct lc *c)
{
	ssize_t n;

	if (c->h2 != NULL)
		return h2_stream_kick(c);

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			lc_want_out(c, true);
			return 0;
		}
		lc_fail(c, "send: %s", n < 0 ? strerror(errno) : "wrote nothing");
		return -1;
	}
	c->out_off = c->out_len = 0;
	lc_want_out(c, false);
	return 0;
}

/* ---- connection life -------------------------------------------------- */

static void
lc_close_fd(struct lc *c)
{
	struct load_thread *th = c->th;

	if (c->fd >= 0) {
		epoll_ctl(th->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	if (c->state == LC_CONNECTING || c->state == LC_HANDSHAKE) {
		if (th->connecting > 0)
			th->connecting--;
	}
	if (c->state == LC_OPEN || c->state == LC_CLOSING) {
		if (th->open_now > 0)
			th->open_now--;
	}
	if (c->state != LC_FREE && c->state != LC_DONE && th->active > 0)
		th->active--;
	free(c->head);
	c->head = NULL;
	c->head_len = 0;
	c->pollout = false;
	c->out_len = c->out_off = 0;
}

/* Close after an error: the slot is finished (handshake mode restarts it). */
static void
lc_drop(struct lc *c)
{
	if (c->h2 != NULL)
		h2_stream_reset(c);
	lc_close_fd(c);
	c->state = LC_DONE;
	c->in_flight = false;
}

/* Start connecting slot c. */
static void
lc_start(struct lc *c, int64_t now)
{
	struct load_thread *th = c->th;
	struct epoll_event ev;
	unsigned char raw[16];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char key[32], req[512];
	int one = 1, n;

	memset(&c->fh, 0, sizeof(*c) - offsetof(struct lc, fh));
	c->fh_len = 0;
	c->fh_need = 2;
	c->in_msg = false;
	c->close_rcvd = false;
	c->in_flight = false;
	c->counted = false;
	c->t_op = now;
	c->deadline = now + (int64_t)(g.timeout * 1e9);
	if ((c->fd = socket(g.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		c->state = LC_DONE;
		th_error(th, "socket: %s", strerror(errno));
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->state = LC_CONNECTING;
	th->active++;
	th->connecting++;
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(th->ep, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
		lc_fail(c, "epoll_ctl: %s", strerror(errno));
		return;
	}
	c->pollout = true;
	/* The request goes into the output buffer now; it is written once connected. */
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		lc_fail(c, "RAND_bytes failed");
		return;
	}
	EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
	{
		EVP_MD_CTX *md_ctx = EVP_MD_CTX_new();
		bool ok = md_ctx != NULL &&
		    EVP_DigestInit_ex(md_ctx, EVP_sha1(), NULL) == 1 &&
		    EVP_DigestUpdate(md_ctx, key, strlen(key)) == 1 &&
		    EVP_DigestUpdate(md_ctx, WS_GUID, sizeof(WS_GUID) - 1) == 1 &&
		    EVP_DigestFinal_ex(md_ctx, md, &mdlen) == 1 && mdlen == 20;

		EVP_MD_CTX_free(md_ctx);
		if (!ok) {
			lc_fail(c, "sha-1 failed");
			return;
		}
	}
	EVP_EncodeBlock((unsigned char *)c->accept, md, 20);
	n = snprintf(req, sizeof(req),
	    "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", g.path, g.host, key);
	if (n < 0 || (size_t)n >= sizeof(req) || out_reserve(c, (size_t)n) == -1) {
		lc_fail(c, "request too long or out of memory");
		return;
	}
	memcpy(c->out + c->out_len, req, (size_t)n);
	c->out_len += (size_t)n;
	if (connect(c->fd, (struct sockaddr *)&g.addr, g.addrlen) == -1 && errno != EINPROGRESS) {
		lc_fail(c, "connect to %s: %s", g.addr_text, strerror(errno));
		return;
	}
}

/* Queue our close frame (status 1000) and wait for the peer's. */
static void
lc_begin_close(struct lc *c, int64_t now)
{
	static const unsigned char code[2] = { 0x03, 0xe8 };

	if (c->state != LC_OPEN)
		return;
	c->state = LC_CLOSING;
	c->deadline = now + (int64_t)(g.timeout * 1e9);
	if (frame_put(c, 0x8, code, 2) == -1) {
		lc_fail(c, "out of memory");
		return;
	}
	lc_flush(c);
}

/* Pingpong / verify: send the next message if the connection may. */
static void
lc_send_message(struct lc *c, int64_t now)
{
	if (frame_put(c, 0x2, msg_pattern(c, c->tx_msg), g.size) == -1) {
		lc_fail(c, "out of memory");
		return;
	}
	c->tx_msg++;
	c->tx_bytes += g.size;
	c->in_flight = true;
	c->t_op = now;
	c->deadline = now + (int64_t)(g.timeout * 1e9);
	lc_flush(c);
}

static bool
quota_take(struct load_thread *th)
{
	if (th->quota == 0)
		return true;
	if (th->started >= th->quota)
		return false;
	th->started++;
	return true;
}

/* Decide what an open connection does next. */
static void
lc_pump(struct lc *c, int64_t now)
{
	struct load_thread *th = c->th;

	if (c->state != LC_OPEN)
		return;
	switch (th->phase) {
	case PH_RUN:
		if (g.mode == MODE_PINGPONG || g.mode == MODE_H2) {
			if (c->in_flight)
				return;
			if (now >= g.t_end || !quota_take(th)) {
				lc_begin_close(c, now);
				return;
			}
			lc_send_message(c, now);
		} else if (g.mode == MODE_STREAM) {
			if (now >= g.t_end) {
				if (c->tx_bytes == c->rx_bytes)
					lc_begin_close(c, now);
				return;
			}
			if (c->out_off < c->out_len)
				return;		/* EPOLLOUT will call again */
			while (c->tx_bytes - c->rx_bytes + g.size <= g.window &&
			    c->out_len < LOAD_STREAM_BATCH) {
				if (frame_put(c, 0x2, msg_pattern(c, c->tx_msg), g.size) == -1) {
					lc_fail(c, "out of memory");
					return;
				}
				c->tx_msg++;
				c->tx_bytes += g.size;
			}
			if (c->tx_bytes > c->rx_bytes)
				c->deadline = now + (int64_t)(g.timeout * 1e9);
			lc_flush(c);
		}
		break;
	case PH_VERIFY:
		if (!c->in_flight && c->tx_msg == 0)
			lc_send_message(c, now);
		else if (!c->in_flight)
			lc_begin_close(c, now);
		break;
	case PH_DRAIN:
		if (!c->in_flight && c->tx_bytes == c->rx_bytes)
			lc_begin_close(c, now);
		break;
	default:
		break;
	}
}

/* An echo completed on c. */
static void
lc_on_message(struct lc *c, int64_t now)
{
	struct load_thread *th = c->th;

	c->rx_msg++;
	c->rx_off = 0;
	if (g.mode == MODE_STREAM) {
		if (th->phase == PH_RUN && in_window(now)) {
			th->messages++;
			th->bytes += g.size;
		}
		return;
	}
	if (!c->in_flight) {
		lc_fail(c, "echo of a message never sent");
		return;
	}
	c->in_flight = false;
	c->deadline = 0;
	if (th->phase == PH_VERIFY) {
		th->alive++;
		lc_begin_close(c, now);
		return;
	}
	if (th->phase == PH_RUN && (in_window(now) || (g.count > 0 && now >= g.t_count))) {
		th->messages++;
		th->bytes += g.size;
		hist_add(&th->hist, (uint64_t)(now - c->t_op));
		th->t_last_done = now;
	}
}

/* Payload bytes of a data frame: compare with what was sent. */
static int
lc_check_payload(struct lc *c, const unsigned char *p, size_t n)
{
	if (c->rx_off + n > g.size)
		return lc_fail(c, "echo of message %" PRIu64 " longer than %u bytes", c->rx_msg, g.size), -1;
	if (memcmp(p, msg_pattern(c, c->rx_msg) + c->rx_off, n) != 0) {
		size_t i = 0;
		const unsigned char *want = msg_pattern(c, c->rx_msg) + c->rx_off;

		while (i < n && p[i] == want[i])
			i++;
		lc_fail(c, "echo of message %" PRIu64 " differs at byte %" PRIu64,
		    c->rx_msg, c->rx_off + i);
		return -1;
	}
	c->rx_off += n;
	c->rx_bytes += n;
	return 0;
}

/* A control frame arrived whole (payload in c->ctl). */
static int
lc_on_control(struct lc *c, int64_t now)
{
	switch (c->f_op) {
	case 0x8:
		if (c->state != LC_CLOSING) {
			lc_fail(c, "peer closed the websocket (%u bytes of close payload)", c->ctl_len);
			return -1;
		}
		c->close_rcvd = true;
		if (c->h2 != NULL)	/* the closing handshake is done: END_STREAM */
			return h2_stream_kick(c);
		return 0;
	case 0x9:
		if (frame_put(c, 0xa, c->ctl, c->ctl_len) == -1)
			return lc_fail(c, "out of memory"), -1;
		return lc_flush(c);
	case 0xa:
		return 0;
	default:
		lc_fail(c, "reserved control opcode 0x%x", c->f_op);
		return -1;
	}
}

/* Feed received WebSocket bytes to c's frame parser.  0, or -1 (c dropped). */
static int
lc_parse(struct lc *c, const unsigned char *p, size_t n, int64_t now)
{
	while (n > 0) {
		if (c->fh_need > 0) {
			size_t k = c->fh_need < n ? c->fh_need : n;
			unsigned len7;

			memcpy(c->fh + c->fh_len, p, k);
			c->fh_len += (unsigned)k;
			c->fh_need -= (unsigned)k;
			p += k;
			n -= k;
			if (c->fh_need > 0)
				return 0;
			len7 = c->fh[1] & 0x7f;
			if (c->fh_len == 2) {
				if (c->fh[0] & 0x70)
					return lc_fail(c, "reserved bits set in frame from server"), -1;
				if (c->fh[1] & 0x80)
					return lc_fail(c, "masked frame from server"), -1;
				if (len7 >= 126) {
					c->fh_need = len7 == 126 ? 2 : 8;
					continue;
				}
				c->f_remain = len7;
			} else if (len7 == 126) {
				c->f_remain = (uint64_t)c->fh[2] << 8 | c->fh[3];
			} else {
				unsigned i;

				c->f_remain = 0;
				for (i = 0; i < 8; i++)
					c->f_remain = c->f_remain << 8 | c->fh[2 + i];
			}
			c->f_fin = (c->fh[0] & 0x80) != 0;
			c->f_op = c->fh[0] & 0x0f;
			c->fh_len = 0;
			if (c->f_op >= 0x8) {
				if (!c->f_fin || c->f_remain > 125)
					return lc_fail(c, "bad control frame"), -1;
				c->ctl_len = 0;
			} else if (c->f_op == 0x0) {
				if (!c->in_msg)
					return lc_fail(c, "continuation frame outside a message"), -1;
			} else if (c->f_op == 0x2) {
				if (c->in_msg)
					return lc_fail(c, "new message inside a fragmented one"), -1;
				c->in_msg = true;
			} else {
				return lc_fail(c, "unexpected opcode 0x%x (binary echo expected)", c->f_op), -1;
			}
			if (c->f_remain > 0)
				continue;
		} else {
			size_t k = c->f_remain < n ? (size_t)c->f_remain : n;

			if (c->f_op >= 0x8) {
				memcpy(c->ctl + c->ctl_len, p, k);
				c->ctl_len += (unsigned)k;
			} else if (lc_check_payload(c, p, k) == -1) {
				return -1;
			}
			p += k;
			n -= k;
			c->f_remain -= k;
			if (c->f_remain > 0)
				return 0;
		}
		/* A frame is complete. */
		c->fh_need = 2;
		if (c->f_op >= 0x8) {
			if (lc_on_control(c, now) == -1)
				return -1;
			continue;
		}
		if (c->f_fin) {
			c->in_msg = false;
			if (c->rx_off != g.size)
				return lc_fail(c, "echo of message %" PRIu64 " has %" PRIu64 " of %u bytes",
				    c->rx_msg, c->rx_off, g.size), -1;
			lc_on_message(c, now);
			if (c->state == LC_DONE || (c->fd < 0 && c->h2 == NULL))
				return -1;
		}
	}
	return 0;
}

static bool
head_token(const char *v, const char *tok)
{
	size_t tl = strlen(tok);

	while (*v != '\0') {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (strncasecmp(v, tok, tl) == 0 &&
		    (v[tl] == '\0' || v[tl] == ',' || v[tl] == ' ' || v[tl] == '\t'))
			return true;
		while (*v != '\0' && *v != ',')
			v++;
	}
	return false;
}

/* The response head is complete in c->head (NUL-terminated): check it. */
static int
lc_check_head(struct lc *c)
{
	char *line, *save = NULL, *colon, *v, *end;
	bool upgrade = false, connection = false;
	int accepts = 0;

	line = strtok_r(c->head, "\r\n", &save);
	if (line == NULL || strncmp(line, "HTTP/1.1 101", 12) != 0 ||
	    (line[12] != ' ' && line[12] != '\0')) {
		lc_fail(c, "expected a 101, got \"%.60s\"", line ? line : "");
		return -1;
	}
	while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		end = v + strlen(v);
		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (strcasecmp(line, "upgrade") == 0)
			upgrade |= head_token(v, "websocket");
		else if (strcasecmp(line, "connection") == 0)
			connection |= head_token(v, "upgrade");
		else if (strcasecmp(line, "sec-websocket-accept") == 0) {
			accepts++;
			if (strcmp(v, c->accept) != 0) {
				lc_fail(c, "Sec-WebSocket-Accept \"%.40s\" should be \"%s\"", v, c->accept);
				return -1;
			}
		} else if (strcasecmp(line, "sec-websocket-extensions") == 0) {
			lc_fail(c, "101 names an extension nobody asked for");
			return -1;
		}
	}
	if (!upgrade || !connection || accepts != 1) {
		lc_fail(c, "101 without %s", !upgrade ? "Upgrade: websocket" :
		    !connection ? "Connection: upgrade" : "exactly one Sec-WebSocket-Accept");
		return -1;
	}
	return 0;
}

/* The handshake finished on c. */
static void
lc_on_open(struct lc *c, int64_t now)
{
	struct load_thread *th = c->th;

	c->state = LC_OPEN;
	c->deadline = 0;
	if (th->connecting > 0)
		th->connecting--;
	th->open_now++;
	if (g.mode == MODE_HANDSHAKE)
		lc_begin_close(c, now);
}

/* Bytes while reading the 101. */
static int
lc_read_head(struct lc *c, const unsigned char *p, size_t n, int64_t now)
{
	char *end;
	size_t take, used;

	if (c->head == NULL && (c->head = malloc(LOAD_HEAD_MAX + 1)) == NULL)
		return lc_fail(c, "out of memory"), -1;
	take = n < LOAD_HEAD_MAX - c->head_len ? n : LOAD_HEAD_MAX - c->head_len;
	memcpy(c->head + c->head_len, p, take);
	c->head[c->head_len + take] = '\0';
	end = strstr(c->head, "\r\n\r\n");
	if (end == NULL) {
		c->head_len += take;
		if (c->head_len >= LOAD_HEAD_MAX)
			return lc_fail(c, "response head longer than %d bytes", LOAD_HEAD_MAX), -1;
		return 0;
	}
	used = (size_t)(end + 4 - c->head) - c->head_len;	/* of this chunk */
	end[2] = '\0';
	if (lc_check_head(c) == -1)
		return -1;
	free(c->head);
	c->head = NULL;
	c->head_len = 0;
	lc_on_open(c, now);
	if (c->fd < 0)
		return -1;
	if (n > used)
		return lc_parse(c, p + used, n - used, now);
	return 0;
}

/* Handshake mode: a cycle ended well (close frame and EOF seen). */
static void
lc_cycle_done(struct lc *c, int64_t now)
{
	struct load_thread *th = c->th;

	if (th->phase == PH_RUN && (in_window(now) || (g.count > 0 && now >= g.t_count))) {
		th->handshakes++;
		hist_add(&th->hist, (uint64_t)(now - c->t_op));
		th->t_last_done = now;
	}
	lc_close_fd(c);
	c->state = LC_DONE;
}

static void
lc_on_readable(struct lc *c, int64_t now)
{
	struct load_thread *th = c->th;
	ssize_t n;

	for (;;) {
		n = recv(c->fd, th->rbuf, LOAD_READ_BUF, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			lc_fail(c, "recv: %s", strerror(errno));
			return;
		}
		if (n == 0) {
			if (c->state == LC_CLOSING && c->close_rcvd) {
				if (g.mode == MODE_HANDSHAKE)
					lc_cycle_done(c, now);
				else {
					lc_close_fd(c);
					c->state = LC_DONE;
				}
			} else if (th->phase == PH_HOLD) {
				th->dropped++;
				lc_fail(c, "closed by the peer while held open");
			} else {
				lc_fail(c, "connection closed by the peer %s",
				    c->state == LC_HANDSHAKE ? "before the 101" :
				    c->state == LC_CLOSING ? "before its close frame" : "unexpectedly");
			}
			return;
		}
		if (c->state == LC_HANDSHAKE) {
			if (lc_read_head(c, th->rbuf, (size_t)n, now) == -1)
				return;
		} else if (c->state == LC_OPEN || c->state == LC_CLOSING) {
			if (th->phase == PH_HOLD) {
				th->dropped++;
				lc_fail(c, "unexpected data while held open");
				return;
			}
			if (c->close_rcvd) {
				lc_fail(c, "data after the close frame");
				return;
			}
			if (lc_parse(c, th->rbuf, (size_t)n, now) == -1)
				return;
		}
		if ((size_t)n < LOAD_READ_BUF)
			break;
	}
	lc_pump(c, now);
}

static void
lc_on_event(struct lc *c, uint32_t events, int64_t now)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (c->state == LC_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			lc_fail(c, "connect to %s: %s", g.addr_text, strerror(err));
			return;
		}
		c->state = LC_HANDSHAKE;
		if (lc_flush(c) == -1)
			return;
		return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		lc_on_readable(c, now);
		if (c->fd < 0)
			return;
	}
	if (events & EPOLLOUT) {
		if (lc_flush(c) == -1)
			return;
		if (c->out_len == 0)
			lc_pump(c, now);
	}
}

/* ---- h2 mode ---------------------------------------------------------- */

/*
 * One HTTP/2 connection per thread (h2 forces one thread), its WebSockets
 * are streams.  Each stream is a struct lc with fd -1: frame_put() queues
 * whole WebSocket frames in c->out as in the other modes, and lc_flush()
 * only tells nghttp2 that the stream's data source has more (the source
 * hands c->out to nghttp2 as DATA).  Everything nghttp2 serializes goes
 * through one output buffer and one send() per pass, so an echo arriving
 * for many streams at once costs one read and one write.
 */

#define H2_OUT_BATCH (64 * 1024)

static void
h2_close_socket(struct h2conn *h)
{
	if (h->fd >= 0) {
		epoll_ctl(h->th->ep, EPOLL_CTL_DEL, h->fd, NULL);
		close(h->fd);
		h->fd = -1;
	}
}

/* The connection failed: every stream still going fails with it. */
static void
h2_fail_all(struct h2conn *h, const char *fmt, ...)
{
	struct load_thread *th = h->th;
	va_list ap;
	char msg[200];
	unsigned i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!h->dead)
		th_error(th, "h2 connection: %s", msg);
	h->dead = true;
	for (i = 0; i < th->nconns; i++) {
		struct lc *c = &th->conns[i];

		if (c->state == LC_FREE || c->state == LC_DONE)
			continue;
		th->errors++;		/* the first error names the connection's failure */
		c->h2_live = false;
		lc_close_fd(c);
		c->state = LC_DONE;
		c->in_flight = false;
	}
	h2_close_socket(h);
}

static void
h2_want_out(struct h2conn *h, bool on)
{
	struct epoll_event ev;

	if (h->pollout == on || h->fd < 0)
		return;
	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.ptr = h;
	if (epoll_ctl(h->th->ep, EPOLL_CTL_MOD, h->fd, &ev) == 0)
		h->pollout = on;
}

/* Serialize what nghttp2 has and write it.  0, or -1 (connection failed). */
static int
h2_flush(struct h2conn *h)
{
	for (;;) {
		ssize_t n;

		if (h->dead || h->sess == NULL)
			return -1;
		while (h->out_len < H2_OUT_BATCH) {
			const uint8_t *d;
			ssize_t k = nghttp2_session_mem_send(h->sess, &d);

			if (k < 0) {
				h2_fail_all(h, "nghttp2_session_mem_send: %s", nghttp2_strerror((int)k));
				return -1;
			}
			if (k == 0)
				break;
			if (h->out_len + (size_t)k > h->out_cap) {
				size_t cap = h->out_cap ? h->out_cap : H2_OUT_BATCH;
				unsigned char *p;

				while (cap < h->out_len + (size_t)k)
					cap *= 2;
				if ((p = realloc(h->out, cap)) == NULL) {
					h2_fail_all(h, "out of memory");
					return -1;
				}
				h->out = p;
				h->out_cap = cap;
			}
			memcpy(h->out + h->out_len, d, (size_t)k);
			h->out_len += (size_t)k;
		}
		if (h->out_off == h->out_len) {
			h->out_off = h->out_len = 0;
			h2_want_out(h, false);
			return 0;
		}
		n = send(h->fd, h->out + h->out_off, h->out_len - h->out_off, MSG_NOSIGNAL);
		h->writes++;
		if (n > 0) {
			h->out_off += (size_t)n;
			if (h->out_off == h->out_len)
				h->out_off = h->out_len = 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (h->out_off > 0) {
				memmove(h->out, h->out + h->out_off, h->out_len - h->out_off);
				h->out_len -= h->out_off;
				h->out_off = 0;
			}
			h2_want_out(h, true);
			return 0;
		}
		h2_fail_all(h, "send: %s", n < 0 ? strerror(errno) : "wrote nothing");
		return -1;
	}
}

/* lc_flush() of a stream: its data source has more (or its END_STREAM is due). */
static int
h2_stream_kick(struct lc *c)
{
	if (c->h2_live && !c->h2->dead)
		nghttp2_session_resume_data(c->h2->sess, c->stream_id);
	return 0;
}

/* lc_drop() of a stream: reset it unless it is closed already. */
static void
h2_stream_reset(struct lc *c)
{
	if (c->h2_live && !c->h2->dead)
		nghttp2_submit_rst_stream(c->h2->sess, NGHTTP2_FLAG_NONE, c->stream_id, NGHTTP2_CANCEL);
	c->h2_live = false;
}

/* The data source of every stream: whatever whole frames c->out holds. */
static ssize_t
h2_read_cb(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len, uint32_t *flags,
    nghttp2_data_source *src, void *ud)
{
	struct lc *c = src->ptr;
	size_t avail;

	(void)s;
	(void)sid;
	(void)ud;
	if (c->state == LC_FREE || c->state == LC_DONE) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		return 0;
	}
	avail = c->out_len - c->out_off;
	if (avail == 0 && !(c->state == LC_CLOSING && c->close_rcvd))
		return NGHTTP2_ERR_DEFERRED;
	if (avail > len)
		avail = len;
	memcpy(buf, c->out + c->out_off, avail);
	c->out_off += avail;
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	/* Both close frames seen: the WebSocket is over, so is our half of the stream. */
	if (c->out_len == 0 && c->state == LC_CLOSING && c->close_rcvd) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		c->h2_eof = true;
	}
	return (ssize_t)avail;
}

static struct lc *
h2_stream(nghttp2_session *s, int32_t sid)
{
	struct lc *c = sid > 0 ? nghttp2_session_get_stream_user_data(s, sid) : NULL;

	return c != NULL && c->state != LC_FREE && c->state != LC_DONE ? c : NULL;
}

static void h2_stream_start(struct h2conn *h, struct lc *c, int64_t now);

static int
h2_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
    const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	struct lc *c;

	(void)flags;
	(void)ud;
	if (f->hd.type != NGHTTP2_HEADERS || (c = h2_stream(s, f->hd.stream_id)) == NULL ||
	    c->state != LC_HANDSHAKE)
		return 0;
	if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
		c->h2_status = 0;
		for (size_t i = 0; i < valuelen && i < 3; i++)
			c->h2_status = c->h2_status * 10 + (value[i] - '0');
	} else if (namelen == 24 && memcmp(name, "sec-websocket-extensions", 24) == 0) {
		c->h2_status = -1;
	}
	return 0;
}

static int
h2_on_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct h2conn *h = ud;
	struct load_thread *th = h->th;
	struct lc *c;

	switch (f->hd.type) {
	case NGHTTP2_SETTINGS:
		if ((f->hd.flags & NGHTTP2_FLAG_ACK) || h->settings_seen)
			return 0;
		h->settings_seen = true;
		h->max_streams = nghttp2_session_get_remote_settings(s,
		    NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
		if (nghttp2_session_get_remote_settings(s, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) != 1) {
			h2_fail_all(h, "the server does not allow extended CONNECT "
			    "(no SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 in its SETTINGS)");
			return 0;
		}
		if (h->max_streams < th->nconns) {
			h2_fail_all(h, "the server allows %u concurrent streams, %u wanted",
			    h->max_streams, th->nconns);
			return 0;
		}
		while (th->next_slot < th->nconns && !h->dead)
			h2_stream_start(h, &th->conns[th->next_slot++], h->now);
		return 0;
	case NGHTTP2_GOAWAY:
		if (f->goaway.error_code != NGHTTP2_NO_ERROR)
			h2_fail_all(h, "GOAWAY from the server: %s",
			    nghttp2_http2_strerror(f->goaway.error_code));
		return 0;
	case NGHTTP2_HEADERS:
		if ((c = h2_stream(s, f->hd.stream_id)) == NULL)
			return 0;
		if (c->state == LC_HANDSHAKE) {
			if (c->h2_status >= 100 && c->h2_status < 200 && !(f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
				c->h2_status = 0;	/* interim response */
				return 0;
			}
			if (c->h2_status == -1) {
				lc_fail(c, "200 names an extension nobody asked for");
				return 0;
			}
			if (c->h2_status != 200 || (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
				lc_fail(c, "expected 200 to the extended CONNECT, got %d%s", c->h2_status,
				    (f->hd.flags & NGHTTP2_FLAG_END_STREAM) ? " with END_STREAM" : "");
				return 0;
			}
			lc_on_open(c, h->now);
			return 0;
		}
		break;
	case NGHTTP2_DATA:
		if ((c = h2_stream(s, f->hd.stream_id)) == NULL)
			return 0;
		break;
	default:
		return 0;
	}
	/* HEADERS (trailers) or DATA on a stream that is past its 200. */
	if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) && !(c->state == LC_CLOSING && c->close_rcvd))
		lc_fail(c, "stream ended by the server before %s",
		    c->state == LC_CLOSING ? "its close frame" : "the close handshake");
	return 0;
}

static int
h2_on_data(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *data, size_t len, void *ud)
{
	struct h2conn *h = ud;
	struct lc *c = h2_stream(s, sid);

	(void)flags;
	if (c == NULL)
		return 0;
	if (c->state == LC_HANDSHAKE) {
		lc_fail(c, "DATA before the 200");
		return 0;
	}
	if (c->close_rcvd) {
		lc_fail(c, "data after the close frame");
		return 0;
	}
	if (lc_parse(c, data, len, h->now) == -1)
		return 0;
	lc_pump(c, h->now);
	return 0;
}

static int
h2_on_close(nghttp2_session *s, int32_t sid, uint32_t code, void *ud)
{
	struct lc *c = h2_stream(s, sid);

	(void)ud;
	if (c == NULL)
		return 0;
	c->h2_live = false;
	if (c->state == LC_CLOSING && c->close_rcvd) {
		lc_close_fd(c);		/* counters; there is no descriptor */
		c->state = LC_DONE;
		return 0;
	}
	lc_fail(c, "stream %d %s by the server (%s) %s", sid, code ? "reset" : "closed",
	    nghttp2_http2_strerror(code),
	    c->state == LC_HANDSHAKE ? "before the 200" :
	    c->state == LC_CLOSING ? "before its close frame" : "while open");
	return 0;
}

static int
h2_on_invalid(nghttp2_session *s, const nghttp2_frame *f, int err, void *ud)
{
	struct lc *c = h2_stream(s, f->hd.stream_id);

	(void)ud;
	if (c != NULL)
		lc_fail(c, "invalid frame from the server (type %u): %s", f->hd.type, nghttp2_strerror(err));
	return 0;
}

/* Open the extended CONNECT stream of c. */
static void
h2_stream_start(struct h2conn *h, struct lc *c, int64_t now)
{
	struct load_thread *th = h->th;
#define H2_NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }
	nghttp2_nv nva[] = {
		H2_NV(":method", "CONNECT"),
		H2_NV(":protocol", "websocket"),
		H2_NV(":scheme", "http"),
		H2_NV(":path", g.path),
		H2_NV(":authority", g.host),
		H2_NV("sec-websocket-version", "13"),
	};
#undef H2_NV
	nghttp2_data_provider prd;
	int32_t id;

	memset(&c->fh, 0, sizeof(*c) - offsetof(struct lc, fh));
	c->fh_need = 2;
	c->t_op = now;
	c->deadline = now + (int64_t)(g.timeout * 1e9);
	c->state = LC_HANDSHAKE;
	th->active++;
	th->connecting++;
	prd.source.ptr = c;
	prd.read_callback = h2_read_cb;
	id = nghttp2_submit_request(h->sess, NULL, nva, sizeof(nva) / sizeof(nva[0]), &prd, c);
	if (id < 0) {
		lc_fail(c, "nghttp2_submit_request: %s", nghttp2_strerror(id));
		return;
	}
	c->stream_id = id;
	c->h2 = h;
	c->h2_live = true;
}

static void
h2_connect(struct h2conn *h, int64_t now)
{
	struct epoll_event ev;
	int one = 1;

	h->deadline = now + (int64_t)(g.timeout * 1e9);
	if ((h->fd = socket(g.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		h2_fail_all(h, "socket: %s", strerror(errno));
		return;
	}
	setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = h;
	if (epoll_ctl(h->th->ep, EPOLL_CTL_ADD, h->fd, &ev) == -1) {
		h2_fail_all(h, "epoll_ctl: %s", strerror(errno));
		return;
	}
	h->pollout = true;
	if (connect(h->fd, (struct sockaddr *)&g.addr, g.addrlen) == -1 && errno != EINPROGRESS)
		h2_fail_all(h, "connect to %s: %s", g.addr_text, strerror(errno));
}

/* connect(2) finished: start the session (preface and our SETTINGS). */
static void
h2_on_connected(struct h2conn *h)
{
	nghttp2_session_callbacks *cb;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20 },
	};
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		h2_fail_all(h, "connect to %s: %s", g.addr_text, strerror(err));
		return;
	}
	h->connected = true;
	if (nghttp2_session_callbacks_new(&cb) != 0) {
		h2_fail_all(h, "out of memory");
		return;
	}
	nghttp2_session_callbacks_set_on_header_callback(cb, h2_on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2_on_frame);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2_on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_on_close);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, h2_on_invalid);
	err = nghttp2_session_client_new(&h->sess, cb, h);
	nghttp2_session_callbacks_del(cb);
	if (err != 0) {
		h->sess = NULL;
		h2_fail_all(h, "nghttp2_session_client_new: %s", nghttp2_strerror(err));
		return;
	}
	nghttp2_submit_settings(h->sess, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0]));
	nghttp2_session_set_local_window_size(h->sess, NGHTTP2_FLAG_NONE, 0, 1 << 24);
	h2_flush(h);
}

static void
h2_on_readable(struct h2conn *h)
{
	struct load_thread *th = h->th;

	for (;;) {
		ssize_t n = recv(h->fd, th->rbuf, LOAD_READ_BUF, 0), rv;

		h->reads++;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			h2_fail_all(h, "recv: %s", strerror(errno));
			return;
		}
		if (n == 0) {
			if (!h->settings_seen)
				h2_fail_all(h, "connection closed by the server before its SETTINGS "
				    "(not an HTTP/2 server?)");
			else if (th->active > 0 || th->next_slot < th->nconns)
				h2_fail_all(h, "connection closed by the server with %u streams open",
				    th->active);
			h->dead = true;
			h2_close_socket(h);
			return;
		}
		rv = nghttp2_session_mem_recv(h->sess, th->rbuf, (size_t)n);
		if (rv < 0) {
			h2_fail_all(h, "nghttp2_session_mem_recv: %s", nghttp2_strerror((int)rv));
			return;
		}
		if (h->dead || (size_t)n < LOAD_READ_BUF)
			break;
	}
	if (!h->dead)
		h2_flush(h);
}

static void
h2_check_timeouts(struct h2conn *h, int64_t now)
{
	struct load_thread *th = h->th;
	unsigned i;

	if (!h->settings_seen && !h->dead && now >= h->deadline) {
		h2_fail_all(h, "timed out after %.1fs %s", g.timeout,
		    h->connected ? "waiting for the server's SETTINGS" : "connecting");
		return;
	}
	for (i = 0; i < th->nconns; i++) {
		struct lc *c = &th->conns[i];

		if (c->state == LC_FREE || c->state == LC_DONE || c->deadline == 0 || now < c->deadline)
			continue;
		lc_fail(c, "timed out after %.1fs while %s", g.timeout,
		    c->state == LC_HANDSHAKE ? "waiting for the 200" :
		    c->state == LC_CLOSING ? "closing" : "waiting for an echo");
	}
}

static void
h2_loop(struct h2conn *h, int64_t until, bool (*done)(struct load_thread *, int64_t))
{
	struct load_thread *th = h->th;
	struct epoll_event evs[4];
	int64_t now = now_ns(), last_tick = now;
	int n, i, wait;

	h->now = now;
	while (!h->dead && !done(th, now) && now < until) {
		wait = LOAD_TICK_MS;
		if (until - now < (int64_t)wait * 1000000)
			wait = (int)((until - now) / 1000000) + 1;
		n = epoll_wait(th->ep, evs, 4, wait);
		h->now = now = now_ns();
		for (i = 0; i < n && h->fd >= 0; i++) {
			uint32_t e = evs[i].events;

			if (!h->connected) {
				if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
					h2_on_connected(h);
				continue;
			}
			if (e & (EPOLLIN | EPOLLERR | EPOLLHUP))
				h2_on_readable(h);
			if ((e & EPOLLOUT) && h->fd >= 0)
				h2_flush(h);
		}
		if (now - last_tick >= LOAD_TICK_MS * 1000000LL) {
			last_tick = now;
			h2_check_timeouts(h, now);
			if (!h->dead && h->sess != NULL)
				h2_flush(h);
		}
	}
}

static bool
h2_done_opening(struct load_thread *th, int64_t now)
{
	(void)now;
	return th->h2->settings_seen && th->connecting == 0 && th->next_slot >= th->nconns;
}

static bool done_running(struct load_thread *th, int64_t now);
static bool done_active(struct load_thread *th, int64_t now);

static void *
h2_main(struct load_thread *th)
{
	struct h2conn *h = th->h2;
	int64_t now = now_ns();
	unsigned i;

	h->th = th;
	h->fd = -1;
	th->phase = PH_OPENING;
	h2_connect(h, now);
	h2_loop(h, g.t_hard_end, h2_done_opening);
	if (!h->dead && !h2_done_opening(th, now_ns()))
		h2_fail_all(h, "%u of %u streams open when opening ran out of time",
		    th->open_now, th->nconns);
	if (th->open_now < th->nconns && th->errors == 0)
		th_error(th, "only %u of %u streams opened", th->open_now, th->nconns);
	pthread_barrier_wait(&g.barrier);
	pthread_barrier_wait(&g.barrier);	/* thread 0 fixed the timeline */
	th->phase = PH_RUN;
	now = h->now = now_ns();
	for (i = 0; i < th->nconns; i++)
		lc_pump(&th->conns[i], now);
	if (!h->dead)
		h2_flush(h);
	h2_loop(h, g.t_end + (int64_t)(g.timeout * 1e9), done_running);
	th->phase = PH_DRAIN;
	now = h->now = now_ns();
	for (i = 0; i < th->nconns; i++)
		lc_pump(&th->conns[i], now);
	if (!h->dead)
		h2_flush(h);
	h2_loop(h, now + LOAD_DRAIN_MS * 1000000LL, done_active);
	for (i = 0; i < th->nconns; i++) {
		struct lc *c = &th->conns[i];

		if (c->state != LC_FREE && c->state != LC_DONE) {
			th_error(th, "connection %u: still open when the run ended", c->id);
			lc_drop(c);
		}
	}
	if (!h->dead && h->sess != NULL) {
		nghttp2_session_terminate_session(h->sess, NGHTTP2_NO_ERROR);
		h2_flush(h);
	}
	h2_close_socket(h);
	if (h->sess != NULL)
		nghttp2_session_del(h->sess);
	h->sess = NULL;
	return NULL;
}

/* ---- threads ---------------------------------------------------------- */

static void
th_check_timeouts(struct load_thread *th, int64_t now)
{
	unsigned i;

	for (i = 0; i < th->nconns; i++) {
		struct lc *c = &th->conns[i];

		if (c->fd < 0 || c->deadline == 0 || now < c->deadline)
			continue;
		if (th->phase == PH_HOLD && c->state == LC_OPEN)
			continue;
		lc_fail(c, "timed out after %.1fs while %s", g.timeout,
		    c->state == LC_CONNECTING ? "connecting" :
		    c->state == LC_HANDSHAKE ? "waiting for the 101" :
		    c->state == LC_CLOSING ? "closing" : "waiting for an echo");
	}
}

/* Idle mode: open more connections, up to the burst. */
static void
th_open_more(struct load_thread *th, int64_t now)
{
	while (th->next_slot < th->nconns && th->connecting < g.connect_burst) {
		struct lc *c = &th->conns[th->next_slot++];

		lc_start(c, now);
	}
}

static void
th_loop(struct load_thread *th, int64_t until, bool (*done)(struct load_thread *, int64_t))
{
	struct epoll_event evs[LOAD_EVENTS];
	int64_t now = now_ns(), last_tick = now;
	int n, i, wait;

	while (!done(th, now) && now < until) {
		wait = LOAD_TICK_MS;
		if (until - now < (int64_t)wait * 1000000)
			wait = (int)((until - now) / 1000000) + 1;
		n = epoll_wait(th->ep, evs, LOAD_EVENTS, wait);
		now = now_ns();
		for (i = 0; i < n; i++) {
			struct lc *c = evs[i].data.ptr;

			if (c == NULL) {
				/* stdin: any input or EOF releases the idle hold */
				char b[256];

				if (read(0, b, sizeof(b)) == -1 && errno == EAGAIN)
					continue;
				release_flag = 1;
				epoll_ctl(th->ep, EPOLL_CTL_DEL, 0, NULL);
				continue;
			}
			if (c->fd >= 0)
				lc_on_event(c, evs[i].events, now);
		}
		if (now - last_tick >= LOAD_TICK_MS * 1000000LL) {
			last_tick = now;
			th_check_timeouts(th, now);
		}
		if (g.mode == MODE_HANDSHAKE && th->phase == PH_RUN) {
			unsigned k;

			for (k = 0; k < th->nconns; k++) {
				struct lc *c = &th->conns[k];

				if (c->state == LC_DONE && now < g.t_end && quota_take(th))
					lc_start(c, now);
			}
		}
		if (g.mode == MODE_IDLE && th->phase == PH_OPENING)
			th_open_more(th, now);
	}
}

static bool
done_opening(struct load_thread *th, int64_t now)
{
	return th->connecting == 0 && th->next_slot >= th->nconns;
}

static bool
done_running(struct load_thread *th, int64_t now)
{
	if (g.mode == MODE_HANDSHAKE)
		return th->active == 0 && (now >= g.t_end || (th->quota > 0 && th->started >= th->quota));
	return th->active == 0;
}

static bool
done_hold(struct load_thread *th, int64_t now)
{
	return release_flag != 0;
}

static bool
done_active(struct load_thread *th, int64_t now)
{
	return th->active == 0;
}

/* Idle, pingpong, stream: open every connection of th.  False if some failed. */
static void
th_open_all(struct load_thread *th)
{
	int64_t now = now_ns();

	th->phase = PH_OPENING;
	th->next_slot = 0;
	th_open_more(th, now);
	th_loop(th, g.t_hard_end, done_opening);
}

static void *
th_main(void *arg)
{
	struct load_thread *th = arg;
	int64_t now;
	unsigned i;

	if (g.mode == MODE_H2)
		return h2_main(th);
	if (g.mode != MODE_HANDSHAKE) {
		th_open_all(th);
		pthread_barrier_wait(&g.barrier);
	} else {
		pthread_barrier_wait(&g.barrier);
	}
	/* Thread 0 fixed the timeline while the others waited. */
	pthread_barrier_wait(&g.barrier);
	now = now_ns();
	if (g.mode == MODE_IDLE) {
		if (th->open_now > 0 || th->errors == 0) {
			th->phase = PH_HOLD;
			th_loop(th, g.t_end, done_hold);
		}
		th->phase = PH_VERIFY;
		now = now_ns();
		for (i = 0; i < th->nconns; i++)
			lc_pump(&th->conns[i], now);
		th_loop(th, now + (int64_t)(g.timeout * 1e9) + 1000000000, done_active);
	} else {
		th->phase = PH_RUN;
		for (i = 0; i < th->nconns; i++) {
			struct lc *c = &th->conns[i];

			if (g.mode == MODE_HANDSHAKE) {
				if (quota_take(th))
					lc_start(c, now);
			} else {
				lc_pump(c, now);
			}
		}
		th_loop(th, g.t_end + (int64_t)(g.timeout * 1e9), done_running);
	}
	th->phase = PH_DRAIN;
	now = now_ns();
	for (i = 0; i < th->nconns; i++)
		lc_pump(&th->conns[i], now);
	th_loop(th, now + LOAD_DRAIN_MS * 1000000LL, done_active);
	for (i = 0; i < th->nconns; i++) {
		struct lc *c = &th->conns[i];

		if (c->fd >= 0) {
			th_error(th, "connection %u: still open when the run ended", c->id);
			lc_drop(c);
		}
	}
	return NULL;
}

/* ---- setup and report ------------------------------------------------- */

static void
parse_addr(const char *s)
{
	char host[64];
	const char *colon, *port;
	struct sockaddr_in *sin = (struct sockaddr_in *)&g.addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&g.addr;
	long p;
	char *end;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = '\0';
		port = rb + 2;
	} else {
		if ((colon = strrchr(s, ':')) == NULL || (size_t)(colon - s) >= sizeof(host))
			goto bad;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port = colon + 1;
	}
	p = strtol(port, &end, 10);
	if (*end != '\0' || p <= 0 || p > 65535)
		goto bad;
	memset(&g.addr, 0, sizeof(g.addr));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
			fprintf(stderr, "sy-load: %s is not a loopback address\n", host);
			exit(2);
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		g.addrlen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
			fprintf(stderr, "sy-load: %s is not a loopback address\n", host);
			exit(2);
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		g.addrlen = sizeof(*sin6);
	} else {
		goto bad;
	}
	snprintf(g.addr_text, sizeof(g.addr_text), "%s", s);
	return;
bad:
	fprintf(stderr, "sy-load: bad address \"%s\" (want 127.0.0.1:PORT or [::1]:PORT)\n", s);
	exit(2);
}

static double
parse_num(const char *s, const char *what, double lo, double hi)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "sy-load: bad %s \"%s\" (%g..%g)\n", what, s, lo, hi);
		exit(2);
	}
	return v;
}

static void
raise_nofile(unsigned need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && need + 32 > rl.rlim_cur) {
		fprintf(stderr, "sy-load: %u connections need more than the %llu open files allowed\n",
		    need, (unsigned long long)rl.rlim_cur);
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	static struct load_thread threads[LOAD_MAX_THREADS];
	struct load_hist *hist;
	struct sigaction sa;
	const char *first_error = "";
	uint64_t messages = 0, bytes = 0, handshakes = 0, errors = 0, dropped = 0, alive = 0;
	unsigned opened = 0, i, per, extra;
	int64_t t_ready = 0, t_last = 0, t_start;
	double secs;
	bool d_given = false;
	int opt;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		usage(argc < 2 ? 2 : 0);
	for (i = 0; i < LOAD_MODES; i++)
		if (strcmp(argv[1], mode_names[i]) == 0)
			break;
	if (i == LOAD_MODES) {
		fprintf(stderr, "sy-load: unknown mode \"%s\"\n", argv[1]);
		usage(2);
	}
	g.mode = (enum load_mode)i;
	g.conns = 50;
	g.size = 64;
	g.duration = 10;
	g.timeout = 10;
	g.threads = 1;
	g.connect_burst = 256;
	g.path = "/ws";
	g.host = "localhost";
	optind = 2;
	while ((opt = getopt(argc, argv, "a:c:s:d:n:W:t:T:B:w:p:H:qh")) != -1) {
		switch (opt) {
		case 'a': parse_addr(optarg); break;
		case 'c': g.conns = (unsigned)parse_num(optarg, "connection count", 1, 1000000); break;
		case 's': g.size = (unsigned)parse_num(optarg, "message size", 1, LOAD_MAX_SIZE); break;
		case 'd': g.duration = parse_num(optarg, "duration", 0.01, 86400); d_given = true; break;
		case 'n': g.count = (uint64_t)parse_num(optarg, "count", 0, 1e15); break;
		case 'W': g.warmup = parse_num(optarg, "warm-up", 0, 3600); break;
		case 't': g.threads = (unsigned)parse_num(optarg, "thread count", 1, LOAD_MAX_THREADS); break;
		case 'T': g.timeout = parse_num(optarg, "timeout", 0.1, 3600); break;
		case 'B': g.connect_burst = (unsigned)parse_num(optarg, "burst", 1, 100000); break;
		case 'w': g.window = (size_t)parse_num(optarg, "window", 1, 1 << 30); break;
		case 'p': g.path = optarg; break;
		case 'H': g.host = optarg; break;
		case 'q': g.quiet = true; break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (optind != argc || g.addrlen == 0)
		usage(2);
	if (g.count > 0 && !d_given)
		g.duration = 3600;	/* count-bounded: -d stays the outer bound */
	if (g.mode == MODE_IDLE || g.mode == MODE_H2)
		g.threads = 1;
	if (g.threads > g.conns)
		g.threads = g.conns;
	if (g.window == 0)
		g.window = 4 * (size_t)g.size > 256 * 1024 ? 4 * (size_t)g.size : 256 * 1024;
	if (g.window < g.size)
		g.window = g.size;
	raise_nofile(g.mode == MODE_H2 ? 1 : g.conns);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_release;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if ((g.pat = malloc((size_t)g.size + LOAD_PAT_SPREAD)) == NULL ||
	    RAND_bytes(g.pat, (int)(g.size + LOAD_PAT_SPREAD)) != 1) {
		fprintf(stderr, "sy-load: cannot make the payload pattern\n");
		return 2;
	}
	pthread_barrier_init(&g.barrier, NULL, g.threads + 1);
	t_start = now_ns();
	/* Opening may take a while with many connections: bound it by -T per batch and -d. */
	g.t_hard_end = t_start + (int64_t)((g.timeout + (g.mode == MODE_IDLE ? g.duration : 0)) * 1e9) +
	    (int64_t)g.conns / (g.connect_burst ? g.connect_burst : 1) * (int64_t)(g.timeout * 1e9);
	g.t_count = g.t_end = INT64_MAX;
	per = g.conns / g.threads;
	extra = g.conns % g.threads;
	for (i = 0; i < g.threads; i++) {
		struct load_thread *th = &threads[i];
		unsigned j, first = i * per + (i < extra ? i : extra);

		th->index = i;
		th->nconns = per + (i < extra ? 1 : 0);
		if (g.count > 0)
			th->quota = g.count / g.threads + (i < g.count % g.threads ? 1 : 0);
		if ((th->ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
		    (th->conns = calloc(th->nconns, sizeof(*th->conns))) == NULL ||
		    (th->rbuf = malloc(LOAD_READ_BUF)) == NULL ||
		    RAND_bytes((unsigned char *)&th->rng, sizeof(th->rng)) != 1) {
			fprintf(stderr, "sy-load: out of resources\n");
			return 2;
		}
		th->rng |= 1;
		if (g.mode == MODE_H2 && (th->h2 = calloc(1, sizeof(*th->h2))) == NULL) {
			fprintf(stderr, "sy-load: out of resources\n");
			return 2;
		}
		for (j = 0; j < th->nconns; j++) {
			th->conns[j].th = th;
			th->conns[j].fd = -1;
			th->conns[j].id = first + j;
			th->conns[j].state = LC_FREE;
		}
		if (g.mode == MODE_IDLE) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

			epoll_ctl(th->ep, EPOLL_CTL_ADD, 0, &ev);	/* fails for /dev/null: fine */
		}
		if (pthread_create(&th->tid, NULL, th_main, th) != 0) {
			fprintf(stderr, "sy-load: cannot start thread %u\n", i);
			return 2;
		}
	}
	/* Every thread has opened its connections (or failed to). */
	pthread_barrier_wait(&g.barrier);
	t_ready = now_ns();
	for (i = 0; i < g.threads; i++)
		opened += threads[i].open_now;
	if (g.mode == MODE_IDLE) {
		printf("ready %u\n", opened);
		fflush(stdout);
		if (!g.quiet)
			fprintf(stderr, "sy-load: %u of %u websockets open in %.2fs\n", opened, g.conns,
			    (double)(t_ready - t_start) / 1e9);
	}
	g.t_begin = t_ready;
	g.t_count = t_ready + (int64_t)(g.warmup * 1e9);
	g.t_end = g.t_count + (int64_t)(g.duration * 1e9);
	pthread_barrier_wait(&g.barrier);
	for (i = 0; i < g.threads; i++)
		pthread_join(threads[i].tid, NULL);

	hist = calloc(1, sizeof(*hist));
	if (hist == NULL)
		return 2;
	for (i = 0; i < g.threads; i++) {
		struct load_thread *th = &threads[i];
		unsigned k;

		messages += th->messages;
		bytes += th->bytes;
		handshakes += th->handshakes;
		errors += th->errors;
		dropped += th->dropped;
		alive += th->alive;
		if (th->t_last_done > t_last)
			t_last = th->t_last_done;
		if (first_error[0] == '\0' && th->first_error[0] != '\0')
			first_error = th->first_error;
		for (k = 0; k < LOAD_HIST_SLOTS; k++)
			hist->slot[k] += th->hist.slot[k];
		hist->count += th->hist.count;
		hist->sum_ns += th->hist.sum_ns;
		if (th->hist.max_ns > hist->max_ns)
			hist->max_ns = th->hist.max_ns;
	}
	/* Count-bounded runs end when the last one completed. */
	if (g.count > 0 && (messages + handshakes) >= g.count && t_last > g.t_count)
		secs = (double)(t_last - g.t_count) / 1e9;
	else
		secs = g.duration;
	if (g.mode == MODE_IDLE)
		secs = (double)(now_ns() - t_ready) / 1e9;

	printf("{\"tool\":\"sy-load\",\"mode\":\"%s\",\"target\":\"%s\",\"path\":\"%s\","
	    "\"conns\":%u,\"size\":%u,\"threads\":%u,\"seconds\":%.3f,\"open_seconds\":%.3f,\"opened\":%u,",
	    mode_names[g.mode], g.addr_text, g.path, g.conns, g.size, g.threads, secs,
	    (double)(t_ready - t_start) / 1e9, opened);
	switch (g.mode) {
	case MODE_H2:
		printf("\"h2_connections\":1,\"server_max_streams\":%u,\"reads\":%" PRIu64
		    ",\"writes\":%" PRIu64 ",", threads[0].h2->max_streams, threads[0].h2->reads,
		    threads[0].h2->writes);
		/* fall through */
	case MODE_PINGPONG:
	case MODE_STREAM:
		printf("\"messages\":%" PRIu64 ",\"msg_per_s\":%.1f,\"bytes\":%" PRIu64 ",\"bytes_per_s\":%.1f,",
		    messages, secs > 0 ? (double)messages / secs : 0, bytes, secs > 0 ? (double)bytes / secs : 0);
		break;
	case MODE_HANDSHAKE:
		printf("\"handshakes\":%" PRIu64 ",\"handshakes_per_s\":%.1f,", handshakes,
		    secs > 0 ? (double)handshakes / secs : 0);
		break;
	case MODE_IDLE:
		printf("\"alive\":%" PRIu64 ",\"dropped\":%" PRIu64 ",", alive, dropped);
		break;
	}
	if (hist->count > 0)
		printf("\"lat_us\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f},",
		    hist_pct(hist, 50) / 1e3, hist_pct(hist, 99) / 1e3, hist_pct(hist, 99.9) / 1e3,
		    (double)hist->max_ns / 1e3, (double)hist->sum_ns / (double)hist->count / 1e3);
	printf("\"errors\":%" PRIu64 ",\"error\":\"", errors);
	for (const char *p = first_error; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			putchar('\\');
		putchar((unsigned char)*p >= 0x20 ? *p : ' ');
	}
	printf("\"}\n");
	fflush(stdout);
	if (errors > 0 && !g.quiet)
		fprintf(stderr, "sy-load: %" PRIu64 " errors; first: %s\n", errors, first_error);
	return errors > 0 ? 1 : 0;
}
