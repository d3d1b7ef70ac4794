/*
 * conn.c - a downstream connection: moves bytes between the socket and the
 * session's buffers, with back-pressure.  Reading stops while the output
 * buffer is above SY_CONN_HIGH_WATER (a client that does not read cannot
 * make us buffer without bound) or while the session paused it.  Buffers
 * are returned to the pool whenever they empty, so an idle keep-alive
 * connection holds no I/O buffer.  Closing is immediate for the socket but
 * the struct is freed by the worker after the loop iteration, so callers
 * up the stack may still look at c->closed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "switchyard/conf.h"
#include "switchyard/conn.h"
#include "switchyard/http1.h"
#include "switchyard/http2.h"
#include "switchyard/stats.h"
#include "switchyard/tls.h"
#include "switchyard/worker.h"

#include "switchyard/h1_server.h"

static ssize_t
conn_plain_read(struct sy_conn *c, void *p, size_t n)
{
	return read(c->fd, p, n);
}

static ssize_t
conn_plain_write(struct sy_conn *c, const void *p, size_t n)
{
	return send(c->fd, p, n, MSG_NOSIGNAL);
}

static void
conn_plain_close(struct sy_conn *c)
{
	close(c->fd);
}

static void
conn_plain_shutdown_write(struct sy_conn *c)
{
	shutdown(c->fd, SHUT_WR);
}

static const struct sy_conn_io conn_plain_io = {
	.read = conn_plain_read,
	.write = conn_plain_write,
	.close = conn_plain_close,
	.shutdown_write = conn_plain_shutdown_write,
};

static void conn_on_event(struct sy_loop *loop, int fd, short revents, void *arg);
static void conn_on_timer(struct sy_loop *loop, void *arg);

/*
 * codec_type "auto" without TLS: read until the bytes either are the
 * HTTP/2 connection preface or cannot be, then attach that codec and
 * let it see what was read.
 */
static int
conn_sniff_readable(struct sy_conn *c)
{
	int m = sy_h2_preface_match(sy_buf_rpos(&c->in), sy_buf_len(&c->in));

	if (m < 0)
		return SY_OK;
	if ((m == 1 ? sy_h2_server_attach(c) : sy_h1_server_attach(c)) == -1) {
		sy_log_conn(SY_LOG_ERROR, &c->log, "cannot start http session: out of memory");
		return SY_ERROR;
	}
	if (m == 1)
		return SY_OK;	/* the HTTP/2 session read c->in already */
	return c->proto->on_readable(c);
}

static void
conn_sniff_eof(struct sy_conn *c)
{
	sy_conn_close(c);
}

static void
conn_sniff_timer(struct sy_conn *c)
{
	sy_conn_close(c);
}

static void
conn_sniff_drain(struct sy_conn *c)
{
	/* Nothing was asked yet: a short grace, as for an idle connection. */
	sy_conn_set_timer(c, 1000);
}

static const struct sy_conn_proto conn_sniff_proto = {
	.on_readable = conn_sniff_readable,
	.on_eof = conn_sniff_eof,
	.on_timer = conn_sniff_timer,
	.on_drain = conn_sniff_drain,
};

/* The TLS handshake finished: ALPN picks the codec (no ALPN: codec_type). */
static void
conn_tls_established(struct sy_conn *c)
{
	const char *alpn = sy_tls_conn_alpn(c);
	bool h2 = alpn != NULL ? strcmp(alpn, "h2") == 0 :
	    c->listener->http.codec_type == SY_CODEC_HTTP2;

	sy_conn_set_timer(c, -1);
	if ((h2 ? sy_h2_server_attach(c) : sy_h1_server_attach(c)) == -1) {
		sy_log_conn(SY_LOG_ERROR, &c->log, "cannot start http session: out of memory");
		sy_conn_close(c);
	}
}

static int
conn_tls_readable(struct sy_conn *c)
{
	/* Not reached: the codec is attached before the first byte. */
	return SY_OK;
}

static void
conn_tls_timer(struct sy_conn *c)
{
	sy_log_conn(SY_LOG_INFO, &c->log, "tls handshake not done within %lldms: closing",
	    (long long)c->listener->tls_handshake_timeout);
	sy_stat_inc(c->listener->stats_ssl_base + SY_SSL_handshake_timeout);
	sy_conn_close(c);
}

static const struct sy_conn_proto conn_tls_proto = {
	.on_readable = conn_tls_readable,
	.on_eof = conn_sniff_eof,
	.on_timer = conn_tls_timer,
	.on_drain = conn_sniff_drain,
};

static int
conn_attach(struct sy_conn *c)
{
	const struct sy_conf_http *http = &c->listener->http;

	if (c->listener->tls.enabled) {
		if (sy_tls_server_attach(c, conn_tls_established) == -1)
			return -1;
		c->proto = &conn_tls_proto;
		sy_conn_set_timer(c, c->listener->tls_handshake_timeout);
		return 0;
	}
	switch (http->codec_type) {
	case SY_CODEC_HTTP2:
		return sy_h2_server_attach(c);
	case SY_CODEC_AUTO:
		c->proto = &conn_sniff_proto;
		if (http->request_headers_timeout > 0)
			sy_conn_set_timer(c, http->request_headers_timeout);
		else if (http->idle_timeout > 0)
			sy_conn_set_timer(c, http->idle_timeout);
		if (sy_worker_draining(c->worker))
			conn_sniff_drain(c);
		return 0;
	default:
		return sy_h1_server_attach(c);
	}
}

static void
conn_update_events(struct sy_conn *c)
{
	short ev = 0;

	if (c->closed)
		return;
	if (!c->read_paused && !c->close_after_flush && !c->eof &&
	    sy_buf_len(&c->out) < SY_CONN_HIGH_WATER)
		ev |= POLLIN;
	if (sy_buf_len(&c->out) > 0 || c->io_want_write)
		ev |= POLLOUT;
	sy_loop_set_events(c->loop, c->fd, ev);
}

struct sy_conn *
sy_conn_new(struct sy_worker *w, struct sy_loop *loop, int fd,
    const struct sy_conf_listener *l, const struct sockaddr *peer)
{
	struct sy_conn *c;
	int one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return NULL;
	}
	c->id = sy_worker_next_conn_id(w);
	c->fd = fd;
	c->worker = w;
	c->loop = loop;
	c->listener = l;
	c->io = &conn_plain_io;
	c->accepted_ms = sy_now_ms();
	sy_addr_format(peer, c->peer, sizeof(c->peer));
	c->log.conn_id = c->id;
	c->log.peer = c->peer;
	c->log.action = NULL;
	sy_timer_init(&c->timer, conn_on_timer, c);
	/* accept4() gave the socket O_NONBLOCK and FD_CLOEXEC already. */
	if (peer->sa_family == AF_INET || peer->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (sy_loop_add(loop, fd, POLLIN, conn_on_event, c) == -1) {
		close(fd);
		free(c);
		return NULL;
	}
	sy_stat_inc(l->stats_base + SY_LISTENER_downstream_cx_total);
	sy_stat_inc(l->stats_base + SY_LISTENER_downstream_cx_active);
	sy_stat_inc(l->http.stats_base + SY_HTTP_downstream_cx_total);
	sy_stat_inc(l->http.stats_base + SY_HTTP_downstream_cx_active);
	if (conn_attach(c) == -1) {
		sy_log_conn(SY_LOG_ERROR, &c->log, "cannot start http session: out of memory");
		sy_conn_close(c);
		return NULL;
	}
	return c;
}

void
sy_conn_close(struct sy_conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	sy_timer_stop(c->loop, &c->timer);
	sy_loop_del(c->loop, c->fd);
	c->io->close(c);
	c->fd = -1;
	sy_stat_dec(c->listener->stats_base + SY_LISTENER_downstream_cx_active);
	sy_stat_dec(c->listener->http.stats_base + SY_HTTP_downstream_cx_active);
	sy_stat_inc(c->listener->http.stats_base + SY_HTTP_downstream_cx_destroy);
	sy_worker_conn_closed(c->worker, c);
}

void
sy_conn_free(struct sy_conn *c)
{
	if (c->proto != NULL && c->proto->free != NULL)
		c->proto->free(c);
	sy_buf_release(&c->in);
	sy_buf_release(&c->out);
	free(c);
}

void
sy_conn_flush(struct sy_conn *c)
{
	ssize_t n;
	size_t before;

	if (c->closed)
		return;
	before = sy_buf_len(&c->out);
	while (sy_buf_len(&c->out) > 0) {
		n = c->io->write(c, sy_buf_rpos(&c->out), sy_buf_len(&c->out));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			sy_log_conn(SY_LOG_INFO, &c->log, "write failed: %s", strerror(errno));
			sy_conn_close(c);
			return;
		}
		sy_stat_add(c->listener->http.stats_base + SY_HTTP_downstream_cx_tx_bytes_total, n);
		sy_buf_consume(&c->out, (size_t)n);
	}
	sy_buf_release_if_empty(&c->out);
	if (sy_buf_len(&c->out) == 0 && c->shut_wr_after_flush && !c->shut_wr_done) {
		c->io->shutdown_write(c);
		c->shut_wr_done = true;
	}
	if (sy_buf_len(&c->out) == 0 && c->close_after_flush) {
		/* Lingering close: stop sending, let the client read the reply. */
		if (!c->shut_wr_done)
			c->io->shutdown_write(c);
		sy_conn_close(c);
		return;
	}
	conn_update_events(c);
	if (before >= SY_CONN_HIGH_WATER / 2 && sy_buf_len(&c->out) < SY_CONN_HIGH_WATER / 2 &&
	    c->proto->on_writable != NULL)
		c->proto->on_writable(c);
}

void
sy_conn_pause_read(struct sy_conn *c, bool pause)
{
	c->read_paused = pause;
	conn_update_events(c);
}

void
sy_conn_set_timer(struct sy_conn *c, int64_t ms)
{
	if (c->closed)
		return;
	if (ms < 0)
		sy_timer_stop(c->loop, &c->timer);
	else
		sy_timer_start(c->loop, &c->timer, ms);
}

void
sy_conn_drain(struct sy_conn *c)
{
	if (!c->closed && c->proto->on_drain != NULL)
		c->proto->on_drain(c);
}

static void
conn_on_timer(struct sy_loop *loop, void *arg)
{
	struct sy_conn *c = arg;

	if (!c->closed && c->proto->on_timer != NULL)
		c->proto->on_timer(c);
}

static void conn_read_once(struct sy_conn *c);

/* Read, and keep reading what the I/O layer already holds (TLS records). */
static void
conn_read(struct sy_conn *c)
{
	unsigned rounds = 0;

	do
		conn_read_once(c);
	while (!c->closed && !c->read_paused && !c->eof && c->io->pending != NULL &&
	    sy_buf_len(&c->out) < SY_CONN_HIGH_WATER && c->io->pending(c) > 0 && ++rounds < 64);
}

static void
conn_read_once(struct sy_conn *c)
{
	ssize_t n;

	if (sy_buf_reserve(&c->in, 4096) == -1) {
		sy_log_conn(SY_LOG_ERROR, &c->log, "cannot read: out of memory");
		sy_conn_close(c);
		return;
	}
	n = c->io->read(c, sy_buf_wpos(&c->in), sy_buf_room(&c->in));
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			sy_buf_release_if_empty(&c->in);
			if (c->io_want_write)
				conn_update_events(c);
			return;
		}
		/* A TLS failure (EPROTO) was logged by the TLS layer. */
		if (errno != EPROTO)
			sy_log_conn(SY_LOG_INFO, &c->log, "read failed: %s", strerror(errno));
		sy_conn_close(c);
		return;
	}
	if (n == 0) {
		sy_buf_release_if_empty(&c->in);
		c->eof = true;
		conn_update_events(c);
		c->proto->on_eof(c);
		return;
	}
	c->in.end += (size_t)n;
	sy_stat_add(c->listener->http.stats_base + SY_HTTP_downstream_cx_rx_bytes_total, n);
	if (c->proto->on_readable(c) == SY_ERROR) {
		if (!c->closed)
			sy_conn_close(c);
		return;
	}
	if (!c->closed) {
		sy_buf_release_if_empty(&c->in);
		conn_update_events(c);
	}
}

static void
conn_on_event(struct sy_loop *loop, int fd, short revents, void *arg)
{
	struct sy_conn *c = arg;

	bool want_write = c->io_want_write;

	if (revents & POLLOUT)
		sy_conn_flush(c);
	if (c->closed)
		return;
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		if ((revents & POLLIN) || !(revents & POLLOUT))
			conn_read(c);
	} else if ((revents & POLLOUT) && want_write) {
		/* The TLS layer wanted to write to make progress on a read. */
		conn_read(c);
	}
}
