/*
 * worker.c - a worker process: accepts on the inherited listen sockets and
 * runs every connection from one poll() loop.  Signals only write to a
 * self-pipe; the loop does the work.  SIGQUIT (or the master going away)
 * starts a drain: the listen fds are closed at once, in-flight requests
 * finish with "Connection: close", idle connections are closed, and the
 * worker exits when no connection is left or when drain_timeout expires.
 * SIGTERM/SIGINT stop at once; SIGUSR1 reopens the log files.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "switchyard/conf.h"
#include "switchyard/conn.h"
#include "switchyard/log.h"
#include "switchyard/loop.h"
#include "switchyard/stats.h"
#include "switchyard/http2.h"
#include "switchyard/upstream.h"
#include "switchyard/worker.h"

#define WORKER_ACCEPT_BATCH 64
#define WORKER_EMFILE_BACKOFF_MS 100

struct sy_worker {
	struct sy_heritage h;
	struct sy_loop *loop;
	int sig_pipe[2];
	bool draining;
	bool stopping;
	bool accepting;		/* listen fds are polled */
	bool listeners_closed;
	unsigned nconns;
	struct sy_conn *conns;
	struct sy_conn *zombies;
	uint64_t next_conn_id;
	struct sy_timer drain_timer;
	struct sy_timer accept_timer;
	struct sy_timer trim_timer;	/* gives unused pooled buffers back */
	int *listen_fds;	/* own copy: closed on drain */
	int exit_status;
};

static volatile sig_atomic_t worker_sig_quit, worker_sig_term, worker_sig_usr1;
static int worker_sig_fd = -1;

static void
worker_poke(void)
{
	char b = 1;
	int saved = errno;

	if (worker_sig_fd != -1 && write(worker_sig_fd, &b, 1) < 0)
		(void)0;	/* pipe full: a wake-up is already pending */
	errno = saved;
}

static void
on_sigquit(int sig)
{
	worker_sig_quit = 1;
	worker_poke();
}

static void
on_sigterm(int sig)
{
	worker_sig_term = 1;
	worker_poke();
}

static void
on_sigusr1(int sig)
{
	worker_sig_usr1 = 1;
	worker_poke();
}

static void worker_stop_accepting(struct sy_worker *w);
static void worker_accept_resume(struct sy_loop *loop, void *arg);

static void
worker_close_listeners(struct sy_worker *w)
{
	unsigned i;

	if (w->listeners_closed)
		return;
	for (i = 0; i < w->h.nlisten; i++) {
		if (w->listen_fds[i] == -1)
			continue;
		sy_loop_del(w->loop, w->listen_fds[i]);
		close(w->listen_fds[i]);
		w->listen_fds[i] = -1;
	}
	w->listeners_closed = true;
	w->accepting = false;
}

/* Buffer blocks the last second did not need go back to the system. */
#define WORKER_TRIM_MS 1000

static void
worker_trim(struct sy_loop *loop, void *arg)
{
	struct sy_worker *w = arg;

	sy_buf_pool_trim();
	sy_timer_start(loop, &w->trim_timer, WORKER_TRIM_MS);
}

static void
worker_drain_timeout(struct sy_loop *loop, void *arg)
{
	struct sy_worker *w = arg;
	struct sy_conn *c, *next;

	sy_log(SY_LOG_NOTICE, "drain_timeout expired: closing %u connections", w->nconns);
	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		sy_stat_inc(c->listener->http.stats_base + SY_HTTP_downstream_cx_drain_close);
		sy_conn_close(c);
	}
}

static void
worker_start_drain(struct sy_worker *w, const char *why)
{
	struct sy_conn *c, *next;

	if (w->draining)
		return;
	w->draining = true;
	sy_log(SY_LOG_INFO, "draining (%s): %u connections open", why, w->nconns);
	worker_close_listeners(w);
	/* Tell the master no connection can reach this worker any more. */
	if (w->h.master_fd != -1 && write(w->h.master_fd, "D", 1) < 0)
		sy_log(SY_LOG_WARN, "cannot report draining to the master: %s", strerror(errno));
	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		sy_conn_drain(c);
	}
	sy_timer_start(w->loop, &w->drain_timer, w->h.conf->drain_timeout);
}

static void
worker_on_signal(struct sy_loop *loop, int fd, short revents, void *arg)
{
	struct sy_worker *w = arg;
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (worker_sig_term) {
		worker_sig_term = 0;
		w->stopping = true;
	}
	if (worker_sig_quit) {
		worker_sig_quit = 0;
		worker_start_drain(w, "asked by the master");
	}
	if (worker_sig_usr1) {
		worker_sig_usr1 = 0;
		if (sy_log_reopen() == -1 || sy_access_log_reopen() == -1)
			sy_log(SY_LOG_ERROR, "cannot reopen log files: %s", strerror(errno));
	}
}

static void
worker_on_master(struct sy_loop *loop, int fd, short revents, void *arg)
{
	struct sy_worker *w = arg;
	char buf[16];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n > 0 || (n == -1 && errno == EAGAIN))
		return;
	sy_loop_del(loop, fd);
	close(fd);
	w->h.master_fd = -1;
	sy_log(SY_LOG_WARN, "master process went away");
	worker_start_drain(w, "master exited");
}

static void
worker_on_accept(struct sy_loop *loop, int fd, short revents, void *arg)
{
	struct sy_worker *w = arg;
	const struct sy_conf *conf = w->h.conf;
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned i, li;
	int cfd;

	for (li = 0; li < w->h.nlisten; li++)
		if (w->listen_fds[li] == fd)
			break;
	if (li == w->h.nlisten)
		return;
	for (i = 0; i < WORKER_ACCEPT_BATCH; i++) {
		if (w->nconns >= (unsigned)conf->worker_connections) {
			worker_stop_accepting(w);
			return;
		}
		sl = sizeof(ss);
		cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				sy_log(SY_LOG_ERROR, "cannot accept on %s: %s",
				    conf->listeners[li].addr_label, strerror(errno));
				worker_stop_accepting(w);
				sy_timer_start(loop, &w->accept_timer, WORKER_EMFILE_BACKOFF_MS);
				return;
			}
			sy_log(SY_LOG_ERROR, "accept on %s failed: %s", conf->listeners[li].addr_label,
			    strerror(errno));
			return;
		}
		{
			struct sy_conn *c = sy_conn_new(w, loop, cfd, &conf->listeners[li],
			    (struct sockaddr *)&ss);

			if (c == NULL)
				continue;
			if (!c->closed) {
				c->next = w->conns;
				if (w->conns != NULL)
					w->conns->prev = c;
				w->conns = c;
				w->nconns++;
			}
		}
	}
}

static void
worker_stop_accepting(struct sy_worker *w)
{
	unsigned i;

	if (!w->accepting)
		return;
	for (i = 0; i < w->h.nlisten; i++)
		if (w->listen_fds[i] != -1)
			sy_loop_set_events(w->loop, w->listen_fds[i], 0);
	w->accepting = false;
}

static void
worker_accept_resume(struct sy_loop *loop, void *arg)
{
	struct sy_worker *w = arg;
	unsigned i;

	if (w->accepting || w->listeners_closed || w->draining)
		return;
	if (w->nconns >= (unsigned)w->h.conf->worker_connections)
		return;
	for (i = 0; i < w->h.nlisten; i++)
		if (w->listen_fds[i] != -1)
			sy_loop_set_events(w->loop, w->listen_fds[i], POLLIN);
	w->accepting = true;
}

void
sy_worker_conn_closed(struct sy_worker *w, struct sy_conn *c)
{
	/* Unlink from the live list (if it got there) and park as a zombie. */
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (w->conns == c)
		w->conns = c->next;
	else
		goto park;	/* never listed: closed inside sy_conn_new */
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
park:
	c->prev = NULL;
	c->next = w->zombies;
	w->zombies = c;
}

static void
worker_reap_zombies(struct sy_worker *w)
{
	struct sy_conn *c;

	while ((c = w->zombies) != NULL) {
		w->zombies = c->next;
		sy_conn_free(c);
	}
	if (!w->accepting && !w->listeners_closed &&
	    w->nconns < (unsigned)w->h.conf->worker_connections && !sy_timer_armed(&w->accept_timer))
		worker_accept_resume(w->loop, w);
}

const struct sy_heritage *
sy_worker_heritage(const struct sy_worker *w)
{
	return &w->h;
}

bool
sy_worker_draining(const struct sy_worker *w)
{
	return w->draining;
}

uint64_t
sy_worker_next_conn_id(struct sy_worker *w)
{
	/* Unique across workers: the worker id in the high bits. */
	return ((uint64_t)w->h.worker_id << 40) | ++w->next_conn_id;
}

struct sy_loop *
sy_worker_loop(struct sy_worker *w)
{
	return w->loop;
}

static int
worker_drop_privileges(const struct sy_conf *conf)
{
	struct passwd *pw = NULL;
	struct group *gr = NULL;
	gid_t gid;

	if (geteuid() != 0 || (conf->user == NULL && conf->group == NULL))
		return 0;
	if (conf->user != NULL && (pw = getpwnam(conf->user)) == NULL) {
		sy_log(SY_LOG_ERROR, "cannot drop privileges: unknown user \"%s\"", conf->user);
		return -1;
	}
	if (conf->group != NULL && (gr = getgrnam(conf->group)) == NULL) {
		sy_log(SY_LOG_ERROR, "cannot drop privileges: unknown group \"%s\"", conf->group);
		return -1;
	}
	gid = gr != NULL ? gr->gr_gid : pw->pw_gid;
	if (setgid(gid) == -1 ||
	    (pw != NULL ? initgroups(pw->pw_name, gid) : setgroups(1, &gid)) == -1) {
		sy_log(SY_LOG_ERROR, "cannot set group %u: %s", (unsigned)gid, strerror(errno));
		return -1;
	}
	if (pw != NULL && setuid(pw->pw_uid) == -1) {
		sy_log(SY_LOG_ERROR, "cannot set user \"%s\": %s", conf->user, strerror(errno));
		return -1;
	}
	return 0;
}

struct sy_worker *
sy_worker_new(const struct sy_heritage *h)
{
	struct sy_worker *w;
	unsigned i;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->h = *h;
	w->sig_pipe[0] = w->sig_pipe[1] = -1;
	sy_log_set_role("worker", (int)h->worker_id);
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	sy_stats_use_slot(h->slot);
	if (sy_access_log_open(h->conf->log.access_log) == -1)
		sy_log(SY_LOG_ERROR, "cannot open access log \"%s\": %s", h->conf->log.access_log,
		    strerror(errno));
	if (!h->one_process && worker_drop_privileges(h->conf) == -1)
		goto fail;
	sy_buf_pool_init();
	if ((w->loop = sy_loop_new()) == NULL)
		goto fail;
	if (sy_upstream_init(w->loop, h->conf) == -1 || sy_h2_client_init(w->loop) == -1)
		goto fail;
	if ((w->listen_fds = calloc(h->nlisten ? h->nlisten : 1, sizeof(int))) == NULL)
		goto fail;
	if (pipe2(w->sig_pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		goto fail;
	worker_sig_fd = w->sig_pipe[1];
	sy_timer_init(&w->drain_timer, worker_drain_timeout, w);
	sy_timer_init(&w->trim_timer, worker_trim, w);
	sy_timer_start(w->loop, &w->trim_timer, WORKER_TRIM_MS);
	sy_timer_init(&w->accept_timer, worker_accept_resume, w);

	sy_signal_set(SIGQUIT, on_sigquit, SA_RESTART);
	sy_signal_set(SIGTERM, on_sigterm, SA_RESTART);
	sy_signal_set(SIGINT, on_sigterm, SA_RESTART);
	sy_signal_set(SIGUSR1, on_sigusr1, SA_RESTART);
	sy_signal_set(SIGPIPE, SIG_IGN, 0);
	sy_signal_set(SIGHUP, SIG_IGN, 0);
	sy_signal_set(SIGCHLD, SIG_DFL, 0);
	{
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
	}

	if (sy_loop_add(w->loop, w->sig_pipe[0], POLLIN, worker_on_signal, w) == -1)
		goto fail;
	if (h->master_fd != -1 && sy_loop_add(w->loop, h->master_fd, POLLIN, worker_on_master, w) == -1)
		goto fail;
	for (i = 0; i < h->nlisten; i++) {
		w->listen_fds[i] = h->listen_fds[i];
		if (w->listen_fds[i] != -1 &&
		    sy_loop_add(w->loop, w->listen_fds[i], POLLIN, worker_on_accept, w) == -1)
			goto fail;
	}
	w->accepting = true;
	return w;
fail:
	sy_log(SY_LOG_ERROR, "cannot start worker: %s", strerror(errno));
	if (w->loop != NULL)
		sy_loop_free(w->loop);
	free(w->listen_fds);
	free(w);
	return NULL;
}

int
sy_worker_run(struct sy_worker *w)
{
	struct sy_conn *c, *next;

	for (;;) {
		if (sy_loop_once(w->loop, -1) == -1) {
			sy_log(SY_LOG_ALERT, "poll failed: %s", strerror(errno));
			w->exit_status = 2;
			break;
		}
		if (w->stopping) {
			for (c = w->conns; c != NULL; c = next) {
				next = c->next;
				sy_conn_close(c);
			}
		}
		worker_reap_zombies(w);
		if (w->stopping)
			break;
		if (w->draining && w->nconns == 0)
			break;
	}
	worker_close_listeners(w);
	sy_h2_client_fini();
	sy_upstream_fini();
	sy_log(SY_LOG_INFO, "worker exiting: %s", w->stopping ? "stopped" : "drained");
	return w->exit_status;
}

void
sy_worker_free(struct sy_worker *w)
{
	if (w == NULL)
		return;
	if (w->sig_pipe[0] != -1) {
		close(w->sig_pipe[0]);
		close(w->sig_pipe[1]);
	}
	worker_sig_fd = -1;
	sy_loop_free(w->loop);
	free(w->listen_fds);
	free(w);
}

void
sy_worker_main(const struct sy_heritage *h)
{
	struct sy_worker *w = sy_worker_new(h);

	if (w == NULL)
		_exit(3);
	_exit(sy_worker_run(w));
}
