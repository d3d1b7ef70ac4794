/*
 * master.c - the master process.  It parses the configuration, binds the
 * listeners, creates the stats segment, forks the workers of the current
 * generation, serves the admin socket and supervises.  Signal handlers
 * only set flags and write to a self-pipe; master_process_*() do the work
 * from the master's own poll() loop, as PostgreSQL's postmaster splits
 * its handle and process steps.  Listen sockets are kept across reloads when their address is
 * unchanged, so the kernel's accept queue bridges the old generation and
 * the new one and no connection is refused.  Worker stats slots are fixed
 * when the segment is created; a reaped worker's slot is folded into the
 * retired totals before it is reused.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "switchyard/admin.h"
#include "switchyard/conf.h"
#include "switchyard/log.h"
#include "switchyard/loop.h"
#include "switchyard/master.h"
#include "switchyard/stats.h"
#include "switchyard/worker.h"

/*
 * Names in the stats segment.  A listener takes 58 (plus 3 per upgrade
 * type), a cluster 45, and a reload may add names for new prefixes; the
 * pages of unused names and values are never touched, so room is cheap.
 */
#define MASTER_MAX_STATS 16384
#define MASTER_RESPAWN_MIN_MS 100
#define MASTER_RESPAWN_MAX_MS 30000
#define MASTER_STABLE_MS 10000
#define MASTER_KILL_AFTER_MS 5000

struct master_listener {
	char *label;		/* normalised address */
	int fd;
};

struct master_worker {
	pid_t pid;		/* 0: slot free */
	unsigned id;
	unsigned generation;
	uint32_t slot;
	int chan;		/* socketpair end: the worker reports "listeners
				 * closed"; its EOF tells the worker we left */
	bool draining;
	bool stopped_accepting;	/* confirmed on chan */
	int64_t started_ms;
};

/* A worker of the current generation waiting to be (re)spawned. */
struct master_pending {
	unsigned id;
	unsigned crashes;	/* consecutive quick deaths */
	int64_t due_ms;		/* 0: not pending */
};

enum master_state { MASTER_RUNNING, MASTER_GRACEFUL, MASTER_FAST };

struct master {
	const struct sy_master_opts *opts;
	struct sy_conf *conf;
	struct sy_loop *loop;
	struct sy_admin *admin;
	struct sy_admin_hooks hooks;
	struct master_listener *listeners;
	unsigned nlisteners;
	struct master_worker *workers;	/* indexed by slot - FIRST_WORKER */
	unsigned nworker_slots;
	struct master_pending *pending;	/* indexed by worker id - 1 */
	unsigned npending;
	unsigned generation;
	uint32_t server_base;
	int sig_pipe[2];
	enum master_state state;
	struct sy_timer respawn_timer;
	struct sy_timer kill_timer;
	unsigned confirm_from;	/* first generation whose reload is unconfirmed */
	unsigned confirm_to;	/* last one; 0: nothing pending */
	int64_t start_ms;
	time_t start_wall;
	int ready_fd;		/* daemon mode: tell the launching parent we are up */
	char *pid_file;
};

static volatile sig_atomic_t master_sig_hup, master_sig_quit, master_sig_term,
    master_sig_usr1, master_sig_chld;
static int master_sig_fd = -1;

static void
master_poke(void)
{
	char b = 1;
	int saved = errno;

	if (master_sig_fd != -1 && write(master_sig_fd, &b, 1) < 0)
		(void)0;	/* pipe full: a wake-up is already pending */
	errno = saved;
}

static void on_sighup(int sig) { master_sig_hup = 1; master_poke(); }
static void on_sigquit(int sig) { master_sig_quit = 1; master_poke(); }
static void on_sigterm(int sig) { master_sig_term = 1; master_poke(); }
static void on_sigusr1(int sig) { master_sig_usr1 = 1; master_poke(); }
static void on_sigchld(int sig) { master_sig_chld = 1; master_poke(); }

/* ---- listeners --------------------------------------------------------- */

static int
master_bind(const struct sy_conf_listener *l)
{
	int fd, one = 1;

	fd = socket(l->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto fail;
	if (l->sa.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&l->sa, l->salen) == -1)
		goto fail;
	if (listen(fd, l->backlog) == -1)
		goto fail;
	return fd;
fail:
	sy_log(SY_LOG_ERROR, "cannot listen on %s (listener \"%s\"): %s", l->addr_label, l->name,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

static int
master_find_listener(const struct master *m, const char *label)
{
	unsigned i;

	for (i = 0; i < m->nlisteners; i++)
		if (strcmp(m->listeners[i].label, label) == 0)
			return (int)i;
	return -1;
}

/*
 * Make the listener set match conf: keep sockets whose address is
 * unchanged, bind new ones, close the rest.  On failure nothing changes.
 */
static int
master_sync_listeners(struct master *m, const struct sy_conf *conf)
{
	struct master_listener *nl;
	unsigned i, j;
	int k;

	if ((nl = calloc(conf->nlisteners ? conf->nlisteners : 1, sizeof(*nl))) == NULL)
		return -1;
	for (i = 0; i < conf->nlisteners; i++) {
		const struct sy_conf_listener *l = &conf->listeners[i];

		nl[i].fd = -1;
		if ((nl[i].label = strdup(l->addr_label)) == NULL)
			goto fail;
		k = master_find_listener(m, l->addr_label);
		if (k >= 0) {
			nl[i].fd = m->listeners[k].fd;
			continue;
		}
		if ((nl[i].fd = master_bind(l)) == -1)
			goto fail;
		sy_log(SY_LOG_NOTICE, "listening on %s (listener \"%s\")", l->addr_label, l->name);
	}
	for (j = 0; j < m->nlisteners; j++) {
		for (i = 0; i < conf->nlisteners; i++)
			if (nl[i].fd == m->listeners[j].fd)
				break;
		if (i == conf->nlisteners) {
			sy_log(SY_LOG_NOTICE, "closing listener on %s", m->listeners[j].label);
			close(m->listeners[j].fd);
		}
		free(m->listeners[j].label);
	}
	free(m->listeners);
	m->listeners = nl;
	m->nlisteners = conf->nlisteners;
	return 0;
fail:
	for (j = 0; j <= i && j < conf->nlisteners; j++) {
		if (nl[j].fd != -1 && master_find_listener(m, nl[j].label ? nl[j].label : "") < 0)
			close(nl[j].fd);
		free(nl[j].label);
	}
	free(nl);
	return -1;
}

static void
master_close_listeners(struct master *m)
{
	unsigned i;

	for (i = 0; i < m->nlisteners; i++) {
		if (m->listeners[i].fd != -1)
			close(m->listeners[i].fd);
		m->listeners[i].fd = -1;
	}
}

/* ---- stats ------------------------------------------------------------- */

/* http.<prefix>.upgrades.<type>.* for one type named in the config. */
static int
master_register_upgrade(const char *prefix, const char *type)
{
	char label[SY_STATS_NAME_MAX];
	size_t i, n;

	n = (size_t)snprintf(label, sizeof(label), "%s.upgrades.", prefix);
	for (i = 0; type[i] != '\0' && n + 1 < sizeof(label); i++)
		label[n++] = (char)((type[i] >= 'A' && type[i] <= 'Z') ? type[i] + 32 : type[i]);
	label[n] = '\0';
	return sy_stats_register(SY_SCOPE_UPGRADE, label) == UINT32_MAX ? -1 : 0;
}

/*
 * A scope whose label is another's plus a fixed tail: http.<prefix>.http2.*,
 * cluster.<name>.http2.*, listener.<address>.ssl.*, cluster.<name>.ssl.*.
 * Registered for every listener and cluster, whatever its protocol and
 * whether it speaks TLS, so that a base is never UINT32_MAX plus an offset.
 */
static uint32_t
master_register_sub(enum sy_stats_scope scope, const char *name, const char *tail)
{
	char label[SY_STATS_NAME_MAX];
	int n;

	n = snprintf(label, sizeof(label), "%s.%s", name, tail);
	if (n < 0 || (size_t)n >= sizeof(label))
		return UINT32_MAX;
	return sy_stats_register(scope, label);
}

static int
master_register_stats(struct master *m, struct sy_conf *conf)
{
	unsigned i, j, k, r;

	for (i = 0; i < conf->nclusters; i++) {
		struct sy_conf_cluster *cl = &conf->clusters[i];

		cl->stats_base = sy_stats_register(SY_SCOPE_CLUSTER, cl->name);
		cl->stats_h2_base = master_register_sub(SY_SCOPE_CLUSTER_HTTP2, cl->name, "http2");
		cl->stats_ssl_base = master_register_sub(SY_SCOPE_CLUSTER_SSL, cl->name, "ssl");
		if (cl->stats_base == UINT32_MAX || cl->stats_h2_base == UINT32_MAX ||
		    cl->stats_ssl_base == UINT32_MAX)
			goto full;
	}
	for (i = 0; i < conf->nlisteners; i++) {
		struct sy_conf_listener *l = &conf->listeners[i];
		const struct sy_conf_http *h = &l->http;

		l->stats_base = sy_stats_register(SY_SCOPE_LISTENER, l->addr_label);
		l->stats_ssl_base = master_register_sub(SY_SCOPE_LISTENER_SSL, l->addr_label, "ssl");
		l->http.stats_base = sy_stats_register(SY_SCOPE_HTTP, l->http.stat_prefix);
		l->http.stats_h2_base = master_register_sub(SY_SCOPE_HTTP2, l->http.stat_prefix, "http2");
		if (l->stats_base == UINT32_MAX || l->stats_ssl_base == UINT32_MAX ||
		    l->http.stats_base == UINT32_MAX || l->http.stats_h2_base == UINT32_MAX)
			goto full;
		/* Every upgrade type the listener or its routes name can be accepted. */
		for (j = 0; j < h->nupgrade_configs; j++)
			if (master_register_upgrade(h->stat_prefix, h->upgrade_configs[j].upgrade_type) == -1)
				goto full;
		for (j = 0; j < h->nvirtual_hosts; j++) {
			for (r = 0; r < h->virtual_hosts[j].nroutes; r++) {
				const struct sy_conf_route *rt = &h->virtual_hosts[j].routes[r];

				if (!rt->has_route)
					continue;
				for (k = 0; k < rt->route.nupgrade_configs; k++)
					if (master_register_upgrade(h->stat_prefix,
					    rt->route.upgrade_configs[k].upgrade_type) == -1)
						goto full;
			}
		}
	}
	return 0;
full:
	sy_log(SY_LOG_ERROR, "too many statistics: the stats segment holds %u", MASTER_MAX_STATS);
	return -1;
}

static unsigned
master_live_workers(const struct master *m, bool current_only)
{
	unsigned i, n = 0;

	for (i = 0; i < m->nworker_slots; i++)
		if (m->workers[i].pid > 0 &&
		    (!current_only || (m->workers[i].generation == m->generation && !m->workers[i].draining)))
			n++;
	return n;
}

static void
master_refresh(void *arg)
{
	struct master *m = arg;

	sy_stat_set(m->server_base + SY_SERVER_uptime, (int64_t)(time(NULL) - m->start_wall));
	sy_stat_set(m->server_base + SY_SERVER_workers, master_live_workers(m, true));
	sy_stat_set(m->server_base + SY_SERVER_generation, m->generation);
	sy_stat_set(m->server_base + SY_SERVER_live, m->state == MASTER_RUNNING ? 1 : 0);
}

/* ---- admin hooks ------------------------------------------------------- */

static void
master_server_info(struct sy_buf *out, void *arg)
{
	struct master *m = arg;
	unsigned i, n = 0;

	sy_buf_printf(out, "{\"version\":\"%s\",\"pid\":%d,\"uptime\":%" PRId64
	    ",\"generation\":%u,\"state\":\"%s\",\"config\":\"%s\",\"workers\":[",
	    PACKAGE_VERSION, (int)getpid(), (int64_t)(time(NULL) - m->start_wall), m->generation,
	    m->state == MASTER_RUNNING ? "live" : "draining", m->conf->path ? m->conf->path : "");
	for (i = 0; i < m->nworker_slots; i++) {
		const struct master_worker *w = &m->workers[i];

		if (w->pid <= 0 || w->generation != m->generation || w->draining)
			continue;
		sy_buf_printf(out, "%s%d", n++ ? "," : "", (int)w->pid);
	}
	sy_buf_printf(out, "],\"draining_workers\":[");
	n = 0;
	for (i = 0; i < m->nworker_slots; i++) {
		const struct master_worker *w = &m->workers[i];

		if (w->pid <= 0 || (w->generation == m->generation && !w->draining))
			continue;
		sy_buf_printf(out, "%s%d", n++ ? "," : "", (int)w->pid);
	}
	sy_buf_printf(out, "]}\n");
}

static bool
master_ready(void *arg)
{
	struct master *m = arg;

	return m->state == MASTER_RUNNING;
}

static const struct sy_conf *
master_conf(void *arg)
{
	struct master *m = arg;

	return m->conf;
}

/* ---- workers ----------------------------------------------------------- */

static struct master_worker *
master_free_slot(struct master *m)
{
	unsigned i;

	for (i = 0; i < m->nworker_slots; i++)
		if (m->workers[i].pid == 0)
			return &m->workers[i];
	return NULL;
}

static unsigned
master_free_slots(const struct master *m)
{
	unsigned i, n = 0;

	for (i = 0; i < m->nworker_slots; i++)
		if (m->workers[i].pid == 0)
			n++;
	return n;
}

/*
 * A reload is complete once no worker of an older generation can accept
 * any more: each has reported on its channel that its listen sockets are
 * closed, or has exited.  Only then is "reload ok" logged and counted, so
 * a connection opened after that line is served by the new generation.
 */
static void
master_check_reload_done(struct master *m)
{
	unsigned i, g;

	if (m->confirm_to == 0)
		return;
	for (i = 0; i < m->nworker_slots; i++) {
		const struct master_worker *w = &m->workers[i];

		if (w->pid > 0 && w->generation < m->confirm_to && !w->stopped_accepting)
			return;
	}
	for (g = m->confirm_from; g <= m->confirm_to; g++) {
		sy_stat_inc(m->server_base + SY_SERVER_reloads);
		sy_log(SY_LOG_NOTICE, "reload ok: generation %u", g);
	}
	m->confirm_from = m->confirm_to = 0;
}

static void
master_on_worker_chan(struct sy_loop *loop, int fd, short revents, void *arg)
{
	struct master *m = arg;
	char buf[16];
	ssize_t n;
	unsigned i;

	n = read(fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	for (i = 0; i < m->nworker_slots; i++) {
		struct master_worker *w = &m->workers[i];

		if (w->pid <= 0 || w->chan != fd)
			continue;
		if (n > 0) {
			w->stopped_accepting = true;
		} else {
			/* Exiting: its pid is reaped on SIGCHLD. */
			sy_loop_del(loop, fd);
			w->stopped_accepting = true;
		}
	}
	master_check_reload_done(m);
}

static int
master_spawn(struct master *m, unsigned id)
{
	struct master_worker *w = master_free_slot(m);
	struct sy_heritage h;
	int pfd[2], *fds = NULL;
	unsigned i;
	pid_t pid;

	if (w == NULL) {
		sy_log(SY_LOG_ERROR, "cannot start worker %u: no free stats slot", id);
		return -1;
	}
	if ((fds = calloc(m->nlisteners ? m->nlisteners : 1, sizeof(int))) == NULL)
		return -1;
	for (i = 0; i < m->conf->nlisteners; i++) {
		int k = master_find_listener(m, m->conf->listeners[i].addr_label);

		fds[i] = k >= 0 ? m->listeners[k].fd : -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pfd) == -1) {
		sy_log(SY_LOG_ERROR, "cannot start worker %u: socketpair: %s", id, strerror(errno));
		free(fds);
		return -1;
	}
	memset(&h, 0, sizeof(h));
	h.conf = m->conf;
	h.listen_fds = fds;
	h.nlisten = m->conf->nlisteners;
	h.slot = SY_STATS_SLOT_FIRST_WORKER + (uint32_t)(w - m->workers);
	h.server_stats_base = m->server_base;
	h.worker_id = id;
	h.generation = m->generation;
	h.master_fd = pfd[0];

	pid = fork();
	if (pid == -1) {
		sy_log(SY_LOG_ERROR, "cannot fork worker %u: %s", id, strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		free(fds);
		return -1;
	}
	if (pid == 0) {
		/* Child: keep only what struct sy_heritage lists. */
		close(pfd[1]);
		close(m->sig_pipe[0]);
		close(m->sig_pipe[1]);
		master_sig_fd = -1;
		if (m->ready_fd != -1)
			close(m->ready_fd);
		for (i = 0; i < m->nworker_slots; i++)
			if (m->workers[i].pid > 0 && m->workers[i].chan != -1)
				close(m->workers[i].chan);
		if (m->admin != NULL)
			sy_admin_close_in_child(m->admin);
		sy_worker_main(&h);
	}
	close(pfd[0]);
	free(fds);
	sy_fd_nonblock(pfd[1]);
	sy_loop_add(m->loop, pfd[1], POLLIN, master_on_worker_chan, m);
	w->pid = pid;
	w->id = id;
	w->generation = m->generation;
	w->slot = h.slot;
	w->chan = pfd[1];
	w->draining = false;
	w->started_ms = sy_now_ms();
	sy_log(SY_LOG_NOTICE, "worker %u started: pid %d generation %u", id, (int)pid, m->generation);
	return 0;
}

static void
master_schedule_respawns(struct master *m)
{
	int64_t next = 0;
	unsigned i;

	for (i = 0; i < m->npending; i++)
		if (m->pending[i].due_ms != 0 && (next == 0 || m->pending[i].due_ms < next))
			next = m->pending[i].due_ms;
	if (next == 0)
		sy_timer_stop(m->loop, &m->respawn_timer);
	else
		sy_timer_start(m->loop, &m->respawn_timer, next - sy_now_ms());
}

static void
master_on_respawn(struct sy_loop *loop, void *arg)
{
	struct master *m = arg;
	int64_t now = sy_now_ms();
	unsigned i;

	if (m->state != MASTER_RUNNING)
		return;
	for (i = 0; i < m->npending; i++) {
		struct master_pending *p = &m->pending[i];

		if (p->due_ms == 0 || p->due_ms > now)
			continue;
		p->due_ms = 0;
		if (master_spawn(m, p->id) == 0) {
			sy_stat_inc(m->server_base + SY_SERVER_worker_restarts);
		} else {
			p->crashes++;
			p->due_ms = now + SY_MIN((int64_t)MASTER_RESPAWN_MAX_MS,
			    (int64_t)MASTER_RESPAWN_MIN_MS << SY_MIN(p->crashes, 10u));
		}
	}
	master_schedule_respawns(m);
}

static void
master_signal_generation(struct master *m, unsigned gen, int sig, bool mark_draining)
{
	unsigned i;

	for (i = 0; i < m->nworker_slots; i++) {
		struct master_worker *w = &m->workers[i];

		if (w->pid <= 0 || (gen != 0 && w->generation != gen))
			continue;
		if (mark_draining)
			w->draining = true;
		kill(w->pid, sig);
	}
}

static void
master_process_reap(struct master *m)
{
	int status;
	pid_t pid;
	unsigned i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct master_worker *w = NULL;

		for (i = 0; i < m->nworker_slots; i++)
			if (m->workers[i].pid == pid)
				w = &m->workers[i];
		if (w == NULL)
			continue;
		if (WIFSIGNALED(status))
			sy_log(m->state == MASTER_RUNNING && !w->draining ? SY_LOG_WARN : SY_LOG_NOTICE,
			    "worker %u exited on signal %d (pid %d generation %u)", w->id,
			    WTERMSIG(status), (int)pid, w->generation);
		else
			sy_log(WEXITSTATUS(status) == 0 ? SY_LOG_NOTICE : SY_LOG_WARN,
			    "worker %u exited with status %d (pid %d generation %u)", w->id,
			    WEXITSTATUS(status), (int)pid, w->generation);
		sy_stats_retire_slot(w->slot);
		sy_loop_del(m->loop, w->chan);
		close(w->chan);
		if (m->state == MASTER_RUNNING && w->generation == m->generation && !w->draining &&
		    w->id >= 1 && w->id <= m->npending) {
			struct master_pending *p = &m->pending[w->id - 1];
			int64_t lived = sy_now_ms() - w->started_ms;

			p->crashes = lived >= MASTER_STABLE_MS ? 0 : p->crashes + 1;
			p->due_ms = sy_now_ms() + SY_MIN((int64_t)MASTER_RESPAWN_MAX_MS,
			    (int64_t)MASTER_RESPAWN_MIN_MS << SY_MIN(p->crashes, 10u));
			if (p->crashes > 1)
				sy_log(SY_LOG_WARN, "worker %u keeps dying: next start in %" PRId64 "ms",
				    w->id, p->due_ms - sy_now_ms());
		}
		memset(w, 0, sizeof(*w));
		w->chan = -1;
	}
	master_check_reload_done(m);
	master_schedule_respawns(m);
}

static int
master_start_generation(struct master *m)
{
	struct master_pending *np;
	unsigned i, n = (unsigned)m->conf->workers;

	if ((np = calloc(n, sizeof(*np))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		np[i].id = i + 1;
	free(m->pending);
	m->pending = np;
	m->npending = n;
	for (i = 0; i < n; i++) {
		if (master_spawn(m, i + 1) == -1) {
			np[i].crashes = 1;
			np[i].due_ms = sy_now_ms() + MASTER_RESPAWN_MIN_MS;
		}
	}
	master_schedule_respawns(m);
	return 0;
}

/* ---- reload and shutdown ---------------------------------------------- */

static int
master_open_logs(const struct master *m, const struct sy_conf *conf)
{
	const char *target = conf->log.error_log;

	if (target == NULL)
		target = m->opts->foreground ? "stderr" : "syslog";
	if (sy_log_open(target, conf->log.level) == -1) {
		sy_log(SY_LOG_ERROR, "cannot open error log \"%s\": %s", target, strerror(errno));
		return -1;
	}
	return 0;
}

static char *
master_keep(struct sy_conf *nc, const char *old)
{
	return old != NULL ? sy_arena_strdup(&nc->arena, old) : NULL;
}

static void
master_warn_restart(const char *path, void *arg)
{
	sy_log(SY_LOG_WARN, "reload: \"%s\" changed but needs a restart", path);
}

static void
master_process_reload(struct master *m)
{
	struct sy_conf_errors errs;
	struct sy_conf *nc;
	unsigned old_gen = m->generation;

	sy_log(SY_LOG_NOTICE, "reload requested: reading %s", m->opts->conf_path);
	sy_conf_errors_init(&errs);
	nc = sy_conf_load(m->opts->conf_path, &errs);
	if (nc == NULL) {
		sy_conf_errors_log(&errs, SY_LOG_ERROR);
		goto fail;
	}
	if (sy_conf_diff_restart(m->conf, nc, master_warn_restart, NULL) > 0) {
		/* Keep what the log line promises: the running values stay. */
		nc->pid_file = master_keep(nc, m->conf->pid_file);
		nc->user = master_keep(nc, m->conf->user);
		nc->group = master_keep(nc, m->conf->group);
		sy_log(SY_LOG_WARN, "restart-only settings keep their running values until a restart");
	}
	if (master_register_stats(m, nc) == -1)
		goto fail;
	if (master_free_slots(m) < (unsigned)nc->workers) {
		sy_log(SY_LOG_ERROR, "cannot start %d new workers: only %u stats slots free "
		    "(old generations still draining)", nc->workers, master_free_slots(m));
		goto fail;
	}
	if (master_sync_listeners(m, nc) == -1)
		goto fail;
	if (m->admin != NULL && sy_admin_reconfigure(m->admin, nc) == -1)
		sy_log(SY_LOG_WARN, "admin interface keeps its previous address");
	master_open_logs(m, nc);

	sy_conf_free(m->conf);
	m->conf = nc;
	m->generation++;
	master_start_generation(m);
	/* The new generation is accepting: let the old one drain. */
	master_signal_generation(m, old_gen, SIGQUIT, true);
	{
		unsigned i;

		for (i = 0; i < m->nworker_slots; i++)
			if (m->workers[i].pid > 0 && m->workers[i].generation < m->generation)
				m->workers[i].draining = true;
	}
	if (m->confirm_to == 0)
		m->confirm_from = m->generation;
	m->confirm_to = m->generation;
	master_check_reload_done(m);
	sy_conf_errors_fini(&errs);
	return;
fail:
	if (nc != NULL)
		sy_conf_free(nc);
	sy_conf_errors_fini(&errs);
	sy_stat_inc(m->server_base + SY_SERVER_reload_failed);
	sy_log(SY_LOG_ERROR, "reload failed: keeping generation %u", m->generation);
}

static void
master_on_kill_timer(struct sy_loop *loop, void *arg)
{
	struct master *m = arg;

	sy_log(SY_LOG_WARN, "workers still running after %dms: killing them", MASTER_KILL_AFTER_MS);
	master_signal_generation(m, 0, SIGKILL, false);
}

static void
master_process_shutdown(struct master *m, bool fast)
{
	if (fast && m->state == MASTER_FAST)
		return;
	if (!fast && m->state != MASTER_RUNNING)
		return;
	sy_log(SY_LOG_NOTICE, "shutdown: %s", fast ? "fast" : "graceful");
	m->state = fast ? MASTER_FAST : MASTER_GRACEFUL;
	sy_timer_stop(m->loop, &m->respawn_timer);
	master_close_listeners(m);
	master_signal_generation(m, 0, fast ? SIGTERM : SIGQUIT, true);
	if (fast)
		sy_timer_start(m->loop, &m->kill_timer, MASTER_KILL_AFTER_MS);
	else
		sy_timer_start(m->loop, &m->kill_timer, m->conf->drain_timeout + MASTER_KILL_AFTER_MS);
}

static void
master_on_signal(struct sy_loop *loop, int fd, short revents, void *arg)
{
	struct master *m = arg;
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (master_sig_chld) {
		master_sig_chld = 0;
		master_process_reap(m);
	}
	if (master_sig_term) {
		master_sig_term = 0;
		master_process_shutdown(m, true);
	}
	if (master_sig_quit) {
		master_sig_quit = 0;
		master_process_shutdown(m, false);
	}
	if (master_sig_hup) {
		master_sig_hup = 0;
		if (m->state == MASTER_RUNNING)
			master_process_reload(m);
	}
	if (master_sig_usr1) {
		master_sig_usr1 = 0;
		if (sy_log_reopen() == -1)
			sy_log(SY_LOG_ERROR, "cannot reopen error log: %s", strerror(errno));
		master_signal_generation(m, 0, SIGUSR1, false);
	}
}

static int
master_signals(struct master *m)
{
	if (pipe2(m->sig_pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	master_sig_fd = m->sig_pipe[1];
	sy_signal_set(SIGHUP, on_sighup, SA_RESTART);
	sy_signal_set(SIGQUIT, on_sigquit, SA_RESTART);
	sy_signal_set(SIGTERM, on_sigterm, SA_RESTART);
	sy_signal_set(SIGINT, on_sigterm, SA_RESTART);
	sy_signal_set(SIGUSR1, on_sigusr1, SA_RESTART);
	sy_signal_set(SIGCHLD, on_sigchld, SA_RESTART | SA_NOCLDSTOP);
	sy_signal_set(SIGPIPE, SIG_IGN, 0);
	return sy_loop_add(m->loop, m->sig_pipe[0], POLLIN, master_on_signal, m);
}

/* ---- daemon ------------------------------------------------------------ */

/*
 * Double fork with setsid; the launching process waits on a pipe and exits
 * 0 once the daemon reports it is serving, 1 if it died first.
 */
static int
master_daemonize(struct master *m)
{
	int rp[2], nullfd;
	pid_t pid;
	char b;

	if (pipe2(rp, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid > 0) {
		close(rp[1]);
		_exit(read(rp[0], &b, 1) == 1 ? 0 : 1);
	}
	close(rp[0]);
	if (setsid() == -1)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid > 0)
		_exit(0);
	m->ready_fd = rp[1];
	if (chdir("/") == -1)
		return -1;
	umask(022);
	if ((nullfd = open("/dev/null", O_RDWR)) == -1)
		return -1;
	dup2(nullfd, STDIN_FILENO);
	dup2(nullfd, STDOUT_FILENO);
	dup2(nullfd, STDERR_FILENO);
	if (nullfd > STDERR_FILENO)
		close(nullfd);
	return 0;
}

static int
master_write_pid_file(struct master *m)
{
	char tmp[4096], line[32];
	int fd, n;
	FILE *f;

	if (m->conf->pid_file == NULL)
		return 0;
	if ((f = fopen(m->conf->pid_file, "r")) != NULL) {
		long old = 0;

		if (fscanf(f, "%ld", &old) == 1 && old > 0 && old != getpid() &&
		    kill((pid_t)old, 0) == 0) {
			fclose(f);
			sy_log(SY_LOG_ERROR, "pid file %s names a running process %ld: already running?",
			    m->conf->pid_file, old);
			errno = EEXIST;
			return -1;
		}
		fclose(f);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", m->conf->pid_file);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) == -1)
		goto fail;
	n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (sy_write_all(fd, line, (size_t)n) == -1 || fsync(fd) == -1) {
		close(fd);
		unlink(tmp);
		goto fail;
	}
	close(fd);
	if (rename(tmp, m->conf->pid_file) == -1) {
		unlink(tmp);
		goto fail;
	}
	if ((m->pid_file = strdup(m->conf->pid_file)) == NULL)
		return -1;
	return 0;
fail:
	sy_log(SY_LOG_ERROR, "cannot write pid file %s: %s", m->conf->pid_file, strerror(errno));
	return -1;
}

static void
master_remove_pid_file(struct master *m)
{
	if (m->pid_file != NULL)
		unlink(m->pid_file);
	free(m->pid_file);
	m->pid_file = NULL;
}

/* ---- entry ------------------------------------------------------------- */

static void
master_free(struct master *m)
{
	unsigned i;

	for (i = 0; i < m->nlisteners; i++)
		free(m->listeners[i].label);
	free(m->listeners);
	m->listeners = NULL;
	m->nlisteners = 0;
	for (i = 0; i < m->nworker_slots; i++)
		if (m->workers[i].chan > 0)
			close(m->workers[i].chan);
	free(m->workers);
	free(m->pending);
	if (m->sig_pipe[0] != -1) {
		close(m->sig_pipe[0]);
		close(m->sig_pipe[1]);
		master_sig_fd = -1;
	}
	sy_loop_free(m->loop);
	if (m->conf != NULL)
		sy_conf_free(m->conf);
	m->conf = NULL;
}

static int
master_one_process(struct master *m)
{
	struct sy_heritage h;
	struct sy_worker *w;
	int *fds, rc;
	unsigned i;

	if ((fds = calloc(m->nlisteners ? m->nlisteners : 1, sizeof(int))) == NULL)
		return 1;
	for (i = 0; i < m->nlisteners; i++)
		fds[i] = m->listeners[i].fd;
	memset(&h, 0, sizeof(h));
	h.conf = m->conf;
	h.listen_fds = fds;
	h.nlisten = m->nlisteners;
	h.slot = SY_STATS_SLOT_FIRST_WORKER;
	h.server_stats_base = m->server_base;
	h.worker_id = 1;
	h.generation = m->generation;
	h.master_fd = -1;
	h.one_process = true;
	if ((w = sy_worker_new(&h)) == NULL) {
		free(fds);
		return 1;
	}
	m->workers[0].pid = getpid();
	m->workers[0].id = 1;
	m->workers[0].generation = m->generation;
	m->workers[0].chan = -1;
	sy_log(SY_LOG_NOTICE, "worker 1 started: pid %d generation %u (one-process mode)",
	    (int)getpid(), m->generation);
	m->admin = NULL;
	if (m->conf->admin.socket != NULL || m->conf->admin.address != NULL) {
		m->admin = sy_admin_open(sy_worker_loop(w), m->conf, &m->hooks);
		if (m->admin == NULL) {
			free(fds);
			return 1;
		}
	}
	rc = sy_worker_run(w);
	if (m->admin != NULL)
		sy_admin_close(m->admin);
	m->admin = NULL;
	sy_worker_free(w);
	free(fds);
	return rc;
}

int
sy_master_run(const struct sy_master_opts *o)
{
	struct sy_conf_errors errs;
	struct master mst, *m = &mst;
	int rc = 1;
	unsigned nslots;

	memset(m, 0, sizeof(*m));
	m->opts = o;
	m->ready_fd = -1;
	m->sig_pipe[0] = m->sig_pipe[1] = -1;
	m->generation = 1;
	m->start_wall = time(NULL);
	m->hooks.server_info = master_server_info;
	m->hooks.ready = master_ready;
	m->hooks.conf = master_conf;
	m->hooks.refresh = master_refresh;
	m->hooks.arg = m;
	sy_log_set_role("master", -1);

	sy_conf_errors_init(&errs);
	m->conf = sy_conf_load(o->conf_path, &errs);
	if (m->conf == NULL) {
		sy_conf_errors_print(&errs, stderr);
		sy_conf_errors_fini(&errs);
		return 1;
	}
	sy_conf_errors_fini(&errs);
	if (o->foreground || o->one_process) {
		if (master_open_logs(m, m->conf) == -1)
			goto out;
	}

	nslots = SY_STATS_SLOT_FIRST_WORKER + SY_MAX(64u, 4u * (unsigned)m->conf->workers);
	if (sy_stats_attach_new(MASTER_MAX_STATS, nslots) == -1) {
		sy_log(SY_LOG_EMERG, "cannot create the stats segment: %s", strerror(errno));
		goto out;
	}
	m->server_base = sy_stats_register(SY_SCOPE_SERVER, NULL);
	if (m->server_base == UINT32_MAX || master_register_stats(m, m->conf) == -1)
		goto out;
	sy_stats_use_slot(SY_STATS_SLOT_MASTER);
	m->nworker_slots = nslots - SY_STATS_SLOT_FIRST_WORKER;
	if ((m->workers = calloc(m->nworker_slots, sizeof(*m->workers))) == NULL)
		goto out;
	if ((m->loop = sy_loop_new()) == NULL)
		goto out;
	sy_timer_init(&m->respawn_timer, master_on_respawn, m);
	sy_timer_init(&m->kill_timer, master_on_kill_timer, m);

	if (master_sync_listeners(m, m->conf) == -1)
		goto out;
	if (!o->foreground && !o->one_process) {
		if (master_daemonize(m) == -1) {
			sy_log(SY_LOG_EMERG, "cannot become a daemon: %s", strerror(errno));
			goto out;
		}
		if (master_open_logs(m, m->conf) == -1)
			goto out;
	}
	if (master_write_pid_file(m) == -1)
		goto out;
	sy_log(SY_LOG_NOTICE, "switchyard %s started: master pid %d, %d workers, config %s",
	    PACKAGE_VERSION, (int)getpid(), m->conf->workers, m->conf->path);
	sy_stat_set(m->server_base + SY_SERVER_live, 1);

	if (o->one_process) {
		rc = master_one_process(m);
		goto out;
	}
	if (master_signals(m) == -1) {
		sy_log(SY_LOG_EMERG, "cannot set up signals: %s", strerror(errno));
		goto out;
	}
	if (m->conf->admin.socket != NULL || m->conf->admin.address != NULL) {
		if ((m->admin = sy_admin_open(m->loop, m->conf, &m->hooks)) == NULL)
			goto out;
	}
	master_start_generation(m);
	if (m->ready_fd != -1) {
		char b = 1;

		if (write(m->ready_fd, &b, 1) < 0)
			(void)0;	/* the launching parent is gone: nobody to tell */
		close(m->ready_fd);
		m->ready_fd = -1;
	}
	for (;;) {
		if (sy_loop_once(m->loop, 1000) == -1) {
			sy_log(SY_LOG_ALERT, "poll failed: %s", strerror(errno));
			break;
		}
		if (master_sig_chld) {
			master_sig_chld = 0;
			master_process_reap(m);
		}
		if (m->state != MASTER_RUNNING && master_live_workers(m, false) == 0)
			break;
	}
	rc = 0;
	if (m->admin != NULL)
		sy_admin_close(m->admin);
	m->admin = NULL;
out:
	master_remove_pid_file(m);
	master_close_listeners(m);
	sy_log(SY_LOG_NOTICE, "master exiting");
	master_free(m);
	return rc;
}
