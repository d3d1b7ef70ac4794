/*
 * upstream.c - per-worker connections to clusters.  Endpoints are chosen
 * by the cluster's lb_policy among those below max_connections; a pooled
 * idle connection of that endpoint is reused when one is alive, else a
 * non-blocking connect starts, bounded by connect_timeout.  Idle pooled
 * connections stay watched for input: anything arriving (EOF or stray
 * bytes) closes them, so a connection the upstream dropped is not lent.
 * Stats: cluster.<name>.upstream_cx_*.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "switchyard/conf.h"
#include "switchyard/log.h"
#include "switchyard/stats.h"
#include "switchyard/tls.h"
#include "switchyard/upstream.h"

struct upstream_endpoint {
	struct sy_upstream *idle;	/* pooled connections */
	unsigned nidle;
	unsigned nconns;		/* every open connection, pooled or lent */
	unsigned nactive;		/* lent (for least_request) */
	char *label;
};

struct upstream_cluster {
	const struct sy_conf_cluster *conf;
	struct upstream_endpoint *eps;
	unsigned rr;
	int alpn_protocol;		/* -1, or what the last handshake's ALPN picked */
};

static struct {
	struct sy_loop *loop;
	struct upstream_cluster *clusters;
	unsigned nclusters;
} up;

static void upstream_on_event(struct sy_loop *loop, int fd, short revents, void *arg);
static void upstream_on_timer(struct sy_loop *loop, void *arg);

static void
upstream_stat(const struct sy_upstream *u, unsigned stat, int64_t v)
{
	sy_stat_add(u->cluster->stats_base + stat, v);
}

int
sy_upstream_init(struct sy_loop *loop, const struct sy_conf *conf)
{
	unsigned i, j;

	up.loop = loop;
	up.nclusters = conf->nclusters;
	up.clusters = calloc(conf->nclusters ? conf->nclusters : 1, sizeof(*up.clusters));
	if (up.clusters == NULL)
		return -1;
	for (i = 0; i < conf->nclusters; i++) {
		const struct sy_conf_cluster *c = &conf->clusters[i];
		struct upstream_cluster *uc = &up.clusters[i];

		uc->conf = c;
		uc->alpn_protocol = -1;
		uc->eps = calloc(c->nendpoints ? c->nendpoints : 1, sizeof(*uc->eps));
		if (uc->eps == NULL)
			return -1;
		for (j = 0; j < c->nendpoints; j++) {
			char label[256];

			snprintf(label, sizeof(label), "%s/%s", c->name, c->endpoints[j].label);
			if ((uc->eps[j].label = strdup(label)) == NULL)
				return -1;
		}
	}
	return 0;
}

static void
upstream_close(struct sy_upstream *u)
{
	struct upstream_endpoint *ep = &up.clusters[u->cluster->index].eps[u->endpoint];

	if (u->fd != -1) {
		sy_loop_del(up.loop, u->fd);
		close(u->fd);
		u->fd = -1;
		ep->nconns--;
		upstream_stat(u, SY_CLUSTER_upstream_cx_active, -1);
		upstream_stat(u, SY_CLUSTER_upstream_cx_destroy, 1);
	}
	sy_timer_stop(up.loop, &u->timer);
	sy_tls_client_free(u->tls);
	sy_buf_release(&u->in);
	sy_buf_release(&u->out);
	free(u);
}

static void
upstream_unpool(struct sy_upstream *u)
{
	struct upstream_endpoint *ep = &up.clusters[u->cluster->index].eps[u->endpoint];
	struct sy_upstream **pp;

	for (pp = &ep->idle; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == u) {
			*pp = u->next;
			ep->nidle--;
			break;
		}
	}
	u->next = NULL;
}

void
sy_upstream_fini(void)
{
	unsigned i, j;

	for (i = 0; i < up.nclusters; i++) {
		struct upstream_cluster *uc = &up.clusters[i];

		for (j = 0; uc->eps != NULL && j < uc->conf->nendpoints; j++) {
			while (uc->eps[j].idle != NULL) {
				struct sy_upstream *u = uc->eps[j].idle;

				upstream_unpool(u);
				upstream_close(u);
			}
			free(uc->eps[j].label);
		}
		free(uc->eps);
	}
	free(up.clusters);
	memset(&up, 0, sizeof(up));
}

static int
upstream_pick(struct upstream_cluster *uc)
{
	const struct sy_conf_cluster *c = uc->conf;
	unsigned n = c->nendpoints, i, k, best = 0;
	bool found = false;

	if (n == 0)
		return -1;
	switch (c->lb_policy) {
	case SY_LB_RANDOM:
		k = (unsigned)random() % n;
		for (i = 0; i < n; i++) {
			unsigned e = (k + i) % n;

			if (uc->eps[e].nconns - uc->eps[e].nidle < (unsigned)c->max_connections)
				return (int)e;
		}
		return -1;
	case SY_LB_LEAST_REQUEST:
		/* Fewest lent connections; ties go round robin. */
		for (i = 0; i < n; i++) {
			unsigned e = (uc->rr + i) % n;

			if (uc->eps[e].nconns - uc->eps[e].nidle >= (unsigned)c->max_connections)
				continue;
			if (!found || uc->eps[e].nactive < uc->eps[best].nactive) {
				best = e;
				found = true;
			}
		}
		uc->rr++;
		return found ? (int)best : -1;
	default:
		for (i = 0; i < n; i++) {
			unsigned e = uc->rr++ % n;

			if (uc->eps[e].nconns - uc->eps[e].nidle < (unsigned)c->max_connections)
				return (int)e;
		}
		return -1;
	}
}

static void
upstream_update_events(struct sy_upstream *u)
{
	short ev = 0;

	if (u->fd == -1)
		return;
	if (u->state == SY_UP_CONNECTING) {
		ev = POLLOUT;
	} else if (u->state == SY_UP_HANDSHAKE) {
		ev = u->tls_want_write ? POLLOUT : POLLIN;
	} else {
		if (!u->read_paused && !u->eof)
			ev |= POLLIN;
		if (sy_buf_len(&u->out) > 0 || u->tls_want_write)
			ev |= POLLOUT;
	}
	sy_loop_set_events(up.loop, u->fd, ev);
}

int
sy_upstream_pick(const struct sy_conf_cluster *cluster)
{
	int idx = upstream_pick(&up.clusters[cluster->index]);

	if (idx < 0)
		errno = EAGAIN;
	return idx;
}

struct sy_upstream *
sy_upstream_connect(const struct sy_conf_cluster *cluster, unsigned idx,
    const struct sy_upstream_cb *cb, void *owner)
{
	struct upstream_cluster *uc = &up.clusters[cluster->index];
	struct upstream_endpoint *ep = &uc->eps[idx];
	const struct sy_conf_endpoint *e = &cluster->endpoints[idx];
	struct sy_upstream *u;
	int one = 1;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	u->cluster = cluster;
	u->endpoint = idx;
	u->label = ep->label;
	u->cb = cb;
	u->owner = owner;
	u->loop = up.loop;
	sy_timer_init(&u->timer, upstream_on_timer, u);
	u->fd = socket(e->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd == -1) {
		int err = errno;

		sy_log(SY_LOG_ERROR, "cannot connect to cluster \"%s\" (%s): socket: %s",
		    cluster->name, e->label, strerror(err));
		free(u);
		errno = err;
		return NULL;
	}
	setsockopt(u->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ep->nconns++;
	ep->nactive++;
	upstream_stat(u, SY_CLUSTER_upstream_cx_total, 1);
	upstream_stat(u, SY_CLUSTER_upstream_cx_active, 1);
	u->state = SY_UP_CONNECTING;
	if (sy_loop_add(up.loop, u->fd, POLLOUT, upstream_on_event, u) == -1) {
		int err = errno;

		ep->nactive--;
		upstream_close(u);
		errno = err;
		return NULL;
	}
	if (connect(u->fd, (const struct sockaddr *)&e->sa, e->salen) == -1 && errno != EINPROGRESS) {
		/* Reported from the loop so the caller never re-enters itself. */
		u->state = SY_UP_DEAD;
		sy_timer_start(up.loop, &u->timer, 0);
		u->eof = true;
		u->connect_err = errno;	/* reported from the timer */
		return u;
	}
	if (cluster->connect_timeout > 0)
		sy_timer_start(up.loop, &u->timer, cluster->connect_timeout);
	return u;
}

struct sy_upstream *
sy_upstream_acquire(const struct sy_conf_cluster *cluster, const struct sy_upstream_cb *cb,
    void *owner)
{
	struct upstream_cluster *uc = &up.clusters[cluster->index];
	struct upstream_endpoint *ep;
	struct sy_upstream *u;
	int idx;

	if ((idx = upstream_pick(uc)) < 0) {
		errno = EAGAIN;
		return NULL;
	}
	ep = &uc->eps[idx];
	if ((u = ep->idle) != NULL) {
		upstream_unpool(u);
		sy_timer_stop(up.loop, &u->timer);
		u->state = SY_UP_ACTIVE;
		u->cb = cb;
		u->owner = owner;
		u->reused = true;
		ep->nactive++;
		upstream_update_events(u);
		return u;
	}
	return sy_upstream_connect(cluster, (unsigned)idx, cb, owner);
}

void
sy_upstream_release(struct sy_upstream *u, bool reusable)
{
	struct upstream_endpoint *ep = &up.clusters[u->cluster->index].eps[u->endpoint];

	ep->nactive--;
	u->cb = NULL;
	u->owner = NULL;
	if (reusable && u->state == SY_UP_ACTIVE && !u->eof && !u->shut_wr &&
	    sy_buf_len(&u->in) == 0 && sy_buf_len(&u->out) == 0 &&
	    (u->tls == NULL || sy_tls_client_pending(u->tls) == 0) &&
	    ep->nidle < (unsigned)u->cluster->max_idle_connections) {
		u->state = SY_UP_IDLE;
		u->read_paused = false;
		u->next = ep->idle;
		ep->idle = u;
		ep->nidle++;
		sy_buf_release(&u->in);
		sy_buf_release(&u->out);
		upstream_update_events(u);
		if (u->cluster->idle_timeout > 0)
			sy_timer_start(up.loop, &u->timer, u->cluster->idle_timeout);
		return;
	}
	upstream_close(u);
}

static void
upstream_fail(struct sy_upstream *u, int err)
{
	u->state = SY_UP_DEAD;
	sy_loop_del(up.loop, u->fd);
	if (u->cb != NULL)
		u->cb->on_error(u->owner, u, err);
}

void
sy_upstream_flush(struct sy_upstream *u)
{
	ssize_t n;
	size_t before = sy_buf_len(&u->out);

	if (u->state != SY_UP_ACTIVE)
		return;
	while (sy_buf_len(&u->out) > 0) {
		if (u->tls != NULL)
			n = sy_tls_client_write(u->tls, sy_buf_rpos(&u->out), sy_buf_len(&u->out),
			    &u->tls_want_write);
		else
			n = send(u->fd, sy_buf_rpos(&u->out), sy_buf_len(&u->out), MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			upstream_fail(u, errno);
			return;
		}
		upstream_stat(u, SY_CLUSTER_upstream_cx_tx_bytes_total, n);
		sy_buf_consume(&u->out, (size_t)n);
	}
	sy_buf_release_if_empty(&u->out);
	if (sy_buf_len(&u->out) == 0 && u->shut_wr && !u->shut_wr_done) {
		if (u->tls != NULL)
			sy_tls_client_shutdown(u->tls);
		shutdown(u->fd, SHUT_WR);
		u->shut_wr_done = true;
	}
	upstream_update_events(u);
	if (before >= SY_UPSTREAM_HIGH_WATER / 2 && sy_buf_len(&u->out) < SY_UPSTREAM_HIGH_WATER / 2 &&
	    u->cb != NULL && u->cb->on_writable != NULL)
		u->cb->on_writable(u->owner, u);
}

void
sy_upstream_shutdown_write(struct sy_upstream *u)
{
	u->shut_wr = true;
	if (u->state == SY_UP_ACTIVE)
		sy_upstream_flush(u);
}

void
sy_upstream_pause_read(struct sy_upstream *u, bool pause)
{
	u->read_paused = pause;
	upstream_update_events(u);
}

static void
upstream_on_timer(struct sy_loop *loop, void *arg)
{
	struct sy_upstream *u = arg;

	switch (u->state) {
	case SY_UP_CONNECTING:
	case SY_UP_HANDSHAKE:
		sy_log(SY_LOG_WARN, "cannot connect to cluster \"%s\" (%s): %stimed out after %" PRId64 "ms",
		    u->cluster->name, u->cluster->endpoints[u->endpoint].label,
		    u->state == SY_UP_HANDSHAKE ? "tls handshake " : "", u->cluster->connect_timeout);
		upstream_stat(u, SY_CLUSTER_upstream_cx_connect_timeout, 1);
		upstream_stat(u, SY_CLUSTER_upstream_cx_connect_fail, 1);
		u->state = SY_UP_DEAD;
		sy_loop_del(up.loop, u->fd);
		u->cb->on_connect_failed(u->owner, u, ETIMEDOUT, true);
		break;
	case SY_UP_DEAD:
		/* connect() failed at once: report it from the loop. */
		if (u->cb != NULL) {
			int err = u->connect_err;

			sy_log(SY_LOG_WARN, "cannot connect to cluster \"%s\" (%s): %s",
			    u->cluster->name, u->cluster->endpoints[u->endpoint].label, strerror(err));
			upstream_stat(u, SY_CLUSTER_upstream_cx_connect_fail, 1);
			u->cb->on_connect_failed(u->owner, u, err, false);
		}
		break;
	case SY_UP_IDLE:
		upstream_unpool(u);
		upstream_close(u);
		break;
	case SY_UP_ACTIVE:
		break;
	}
}

/* TLS clusters: the client handshake, after connect() and before on_connected. */
static void
upstream_handshake(struct sy_upstream *u)
{
	char why[256];
	int rc;

	if (u->tls == NULL) {
		u->tls = sy_tls_client_new(u->cluster, u->fd, u->cluster->endpoints[u->endpoint].host);
		if (u->tls == NULL) {
			snprintf(why, sizeof(why), "cannot start tls");
			rc = SY_ERROR;
			goto done;
		}
		u->state = SY_UP_HANDSHAKE;
	}
	rc = sy_tls_client_handshake(u->tls, &u->tls_want_write, why, sizeof(why));
done:
	if (rc == SY_AGAIN) {
		upstream_update_events(u);
		return;
	}
	if (rc == SY_ERROR) {
		sy_log(SY_LOG_WARN, "cannot connect to cluster \"%s\" (%s): %s", u->cluster->name,
		    u->cluster->endpoints[u->endpoint].label, why);
		sy_timer_stop(up.loop, &u->timer);
		upstream_stat(u, SY_CLUSTER_upstream_cx_connect_fail, 1);
		u->state = SY_UP_DEAD;
		sy_loop_del(up.loop, u->fd);
		u->cb->on_connect_failed(u->owner, u, EPROTO, false);
		return;
	}
	sy_timer_stop(up.loop, &u->timer);
	u->state = SY_UP_ACTIVE;
	{
		const char *alpn = sy_tls_client_alpn(u->tls);

		up.clusters[u->cluster->index].alpn_protocol =
		    alpn != NULL && strcmp(alpn, "h2") == 0 ? SY_PROTO_HTTP2 : SY_PROTO_HTTP1;
	}
	upstream_update_events(u);
	u->cb->on_connected(u->owner, u);
}

int
sy_upstream_cluster_protocol(const struct sy_conf_cluster *cluster)
{
	return up.clusters[cluster->index].alpn_protocol;
}

const char *
sy_upstream_alpn(const struct sy_upstream *u)
{
	return u->tls != NULL ? sy_tls_client_alpn(u->tls) : NULL;
}

static void
upstream_read(struct sy_upstream *u)
{
	ssize_t n;
	size_t got = 0;

	for (;;) {
		if (sy_buf_reserve(&u->in, 4096) == -1) {
			upstream_fail(u, ENOMEM);
			return;
		}
		if (u->tls != NULL)
			n = sy_tls_client_read(u->tls, sy_buf_wpos(&u->in), sy_buf_room(&u->in),
			    &u->tls_want_write);
		else
			n = recv(u->fd, sy_buf_wpos(&u->in), sy_buf_room(&u->in), 0);
		if (n <= 0)
			break;
		u->in.end += (size_t)n;
		got += (size_t)n;
		upstream_stat(u, SY_CLUSTER_upstream_cx_rx_bytes_total, n);
		/* Decrypted bytes may wait inside TLS without the socket being readable. */
		if (u->tls == NULL || sy_tls_client_pending(u->tls) == 0 || got >= 256 * 1024)
			break;
	}
	if (got > 0) {
		/* The owner may release (and free) u: nothing after this. */
		u->cb->on_readable(u->owner, u);
		return;
	}
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			sy_buf_release_if_empty(&u->in);
			return;
		}
		upstream_fail(u, errno);
		return;
	}
	sy_buf_release_if_empty(&u->in);
	u->eof = true;
	upstream_update_events(u);
	u->cb->on_eof(u->owner, u);
}

static void
upstream_on_event(struct sy_loop *loop, int fd, short revents, void *arg)
{
	struct sy_upstream *u = arg;
	int err = 0;
	socklen_t el = sizeof(err);

	switch (u->state) {
	case SY_UP_CONNECTING:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1)
			err = errno;
		if (err == 0 && !(revents & (POLLERR | POLLHUP)))
			err = 0;
		else if (err == 0)
			err = ECONNREFUSED;
		if (err == 0 && u->cluster->tls.enabled) {
			/* The connect timeout keeps running through the handshake. */
			upstream_handshake(u);
			return;
		}
		sy_timer_stop(up.loop, &u->timer);
		if (err != 0) {
			sy_log(SY_LOG_WARN, "cannot connect to cluster \"%s\" (%s): %s", u->cluster->name,
			    u->cluster->endpoints[u->endpoint].label, strerror(err));
			upstream_stat(u, SY_CLUSTER_upstream_cx_connect_fail, 1);
			u->state = SY_UP_DEAD;
			sy_loop_del(up.loop, u->fd);
			u->cb->on_connect_failed(u->owner, u, err, false);
			return;
		}
		u->state = SY_UP_ACTIVE;
		upstream_update_events(u);
		u->cb->on_connected(u->owner, u);
		return;
	case SY_UP_IDLE:
		/* Anything from an idle pooled connection means it is done. */
		upstream_unpool(u);
		upstream_close(u);
		return;
	case SY_UP_HANDSHAKE:
		upstream_handshake(u);
		return;
	case SY_UP_DEAD:
		return;
	case SY_UP_ACTIVE:
		break;
	}
	if (revents & POLLOUT) {
		bool reread = u->tls_want_write && sy_buf_len(&u->out) == 0;

		sy_upstream_flush(u);
		if (u->state != SY_UP_ACTIVE)
			return;
		if (reread) {
			/* TLS needed to write before it could read on. */
			u->tls_want_write = false;
			revents |= POLLIN;
		}
	}
	if ((revents & (POLLIN | POLLHUP | POLLERR)) && !u->read_paused && !u->eof)
		upstream_read(u);
}
