/*
 * admin_server.c - the admin interface's sockets: a Unix socket and an
 * optional TCP address, served from the master's poll loop.  Each client
 * is non-blocking, has one absolute deadline from accept to close, a cap on
 * its request size, and gets exactly one response followed by
 * "Connection: close", so a stalled or hostile client costs one fd for at
 * most ADMIN_DEADLINE_MS and never blocks the master.  Requests are parsed
 * by the HTTP/1.1 codec; what to answer is decided by sy_admin_handle in
 * admin.c.  Nothing here survives into a worker: sy_admin_close_in_child
 * drops the inherited fds without touching the socket file or the loop.
 * The Unix socket file is unlinked only if it is still the one this
 * process bound (same device and inode), so a second instance that
 * replaced it is never broken by our exit.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "switchyard/admin.h"
#include "switchyard/conf.h"
#include "switchyard/core.h"
#include "switchyard/http.h"
#include "switchyard/http1.h"
#include "switchyard/log.h"
#include "switchyard/loop.h"

#define ADMIN_DEADLINE_MS 10000		/* accept to close, whatever happens */
#define ADMIN_LINGER_MS 1000		/* wait for the client's FIN after ours */
#define ADMIN_ACCEPT_PAUSE_MS 1000	/* after EMFILE and friends */
#define ADMIN_MAX_CLIENTS 64
#define ADMIN_MAX_HEAD 8192
#define ADMIN_MAX_HEADERS 64
#define ADMIN_MAX_BODY 65536
#define ADMIN_BACKLOG 16
#define ADMIN_DEFAULT_MODE 0600

enum admin_client_state {
	ADMIN_CLIENT_READING,
	ADMIN_CLIENT_WRITING,
	ADMIN_CLIENT_LINGERING
};

struct admin_listener {
	struct sy_admin *admin;
	int fd;
	bool is_unix;
	char *name;		/* socket path or address as configured */
	dev_t dev;		/* Unix: the socket file we bound */
	ino_t ino;
	struct sockaddr_storage sa;	/* TCP */
	unsigned salen;
};

struct admin_client {
	struct admin_client *prev, *next;
	struct sy_admin *admin;
	int fd;
	enum admin_client_state state;
	uint64_t id;
	char peer[96];
	const char *action;
	int64_t deadline_ms;
	struct sy_timer timer;
	struct sy_h1_parser *parser;
	struct sy_arena arena;	/* the request head */
	const char *method;
	const char *target;
	size_t body_bytes;
	bool complete;
	bool head_only;
	struct sy_buf out;
};

struct sy_admin {
	struct sy_loop *loop;
	struct sy_admin_hooks hooks;
	struct admin_listener unix_l;
	struct admin_listener tcp_l;
	int unix_mode;
	bool allow_remote;
	struct admin_client *clients;
	unsigned nclients;
	uint64_t next_id;
	int64_t timeout_ms;	/* per client, accept to close */
	struct sy_timer pause_timer;
};

static void admin_client_close(struct admin_client *c);
static void admin_client_on_io(struct sy_loop *loop, int fd, short revents, void *arg);

/* ---- clients ------------------------------------------------------------- */

static void
admin_client_log(const struct admin_client *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
admin_client_log(const struct admin_client *c, int level, const char *fmt, ...)
{
	struct sy_log_ctx ctx = { c->id, c->peer, c->action };
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sy_log_conn(level, &ctx, "%s", msg);
}

static int
admin_on_head(void *ud, struct sy_msg *msg)
{
	struct admin_client *c = ud;

	/* Strings live in c->arena, which lives as long as the client. */
	c->method = sy_msg_method(msg);
	c->target = sy_msg_path(msg);
	return 0;
}

static int
admin_on_data(void *ud, const char *p, size_t n)
{
	struct admin_client *c = ud;

	/* Bodies are ignored; only their size matters. */
	c->body_bytes += n;
	return c->body_bytes > ADMIN_MAX_BODY ? -1 : 0;
}

static int
admin_on_end(void *ud)
{
	struct admin_client *c = ud;

	c->complete = true;
	return 0;
}

static const struct sy_h1_callbacks admin_h1_callbacks = {
	admin_on_head, admin_on_data, admin_on_end
};

static void
admin_client_on_timer(struct sy_loop *loop, void *arg)
{
	struct admin_client *c = arg;

	if (c->state != ADMIN_CLIENT_LINGERING)
		admin_client_log(c, SY_LOG_WARN, "admin client timed out after %lld ms",
		    (long long)c->admin->timeout_ms);
	admin_client_close(c);
}

static int
admin_reply_start(struct admin_client *c, int status, const char *content_type,
    const char *allow, const struct sy_buf *body)
{
	size_t blen = body != NULL ? sy_buf_len(body) : 0;

	if (sy_buf_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n", status,
	    sy_http_reason(status), content_type, blen) == -1)
		return -1;
	if (allow != NULL && sy_buf_printf(&c->out, "Allow: %s\r\n", allow) == -1)
		return -1;
	if (sy_buf_printf(&c->out, "Connection: close\r\n\r\n") == -1)
		return -1;
	if (blen > 0 && !c->head_only && sy_buf_append(&c->out, sy_buf_rpos(body), blen) == -1)
		return -1;
	c->state = ADMIN_CLIENT_WRITING;
	c->action = "sending the admin response";
	sy_loop_set_events(c->admin->loop, c->fd, POLLOUT);
	return 0;
}

/* A request that never reached sy_admin_handle: a short text reply. */
static int
admin_reply_error(struct admin_client *c, int status, const char *reason)
{
	struct sy_buf body = { 0 };
	int rc;

	if (sy_buf_printf(&body, "%s\n", reason) == -1) {
		sy_buf_release(&body);
		return -1;
	}
	rc = admin_reply_start(c, status, "text/plain; charset=utf-8", NULL, &body);
	sy_buf_release(&body);
	return rc;
}

static int
admin_client_answer(struct admin_client *c)
{
	struct sy_admin_reply r;
	int rc;

	c->action = NULL;	/* the request line says it all */
	c->head_only = strcmp(c->method, "HEAD") == 0;
	if (sy_admin_handle(&c->admin->hooks, c->method, c->target, &r) == -1)
		admin_client_log(c, SY_LOG_ERROR, "cannot answer admin request %s %s: %s",
		    c->method, c->target, strerror(errno));
	else
		admin_client_log(c, SY_LOG_INFO, "admin request %s %s: %d", c->method,
		    c->target, r.status);
	rc = admin_reply_start(c, r.status, r.content_type, r.allow, &r.body);
	sy_admin_reply_fini(&r);
	return rc;
}

/* Feed what was read to the codec; 0 to keep going, -1 to close now. */
static int
admin_client_parse(struct admin_client *c, const char *p, size_t n)
{
	size_t off = 0, used;
	const char *reason = NULL;
	int rc, status;

	while (off < n) {
		used = 0;
		rc = sy_h1_parse(c->parser, p + off, n - off, &used);
		off += used;
		if (rc == SY_DONE || c->complete) {
			if (c->method == NULL || c->target == NULL)
				return admin_reply_error(c, 400, "bad request");
			/* Anything pipelined after the request is ignored. */
			return admin_client_answer(c);
		}
		if (rc == SY_ERROR) {
			status = sy_h1_parser_error(c->parser, &reason);
			if (status == 0 && c->body_bytes > ADMIN_MAX_BODY) {
				status = 413;
				reason = "request body too large";
			} else if (status == 0) {
				status = 400;
			}
			if (reason == NULL || reason[0] == '\0')
				reason = sy_http_reason(status);
			admin_client_log(c, SY_LOG_WARN, "invalid admin request: %s (%d)", reason, status);
			return admin_reply_error(c, status, reason);
		}
		if (used == 0)
			break;	/* SY_AGAIN without progress: wait for more */
	}
	return 0;
}

static void
admin_client_read(struct admin_client *c)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(c->fd, buf, sizeof(buf));
		if (n > 0) {
			if (c->state == ADMIN_CLIENT_LINGERING)
				continue;	/* discard until the client's FIN */
			if (admin_client_parse(c, buf, (size_t)n) == -1) {
				admin_client_log(c, SY_LOG_ERROR, "cannot build admin response: %s",
				    strerror(errno));
				admin_client_close(c);
				return;
			}
			if (c->state != ADMIN_CLIENT_READING)
				return;	/* the write side takes over */
			continue;
		}
		if (n == 0) {
			if (c->state == ADMIN_CLIENT_READING && sy_h1_parser_in_message(c->parser))
				admin_client_log(c, SY_LOG_WARN,
				    "admin client closed the connection in the middle of a request");
			admin_client_close(c);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (c->state != ADMIN_CLIENT_LINGERING)
			admin_client_log(c, SY_LOG_WARN, "admin connection error: %s", strerror(errno));
		admin_client_close(c);
		return;
	}
}

static void
admin_client_write(struct admin_client *c)
{
	int64_t left;
	ssize_t n;

	while (sy_buf_len(&c->out) > 0) {
		n = send(c->fd, sy_buf_rpos(&c->out), sy_buf_len(&c->out), MSG_NOSIGNAL);
		if (n > 0) {
			sy_buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		admin_client_log(c, SY_LOG_WARN, "admin connection error: %s",
		    n == -1 ? strerror(errno) : "short write");
		admin_client_close(c);
		return;
	}
	sy_buf_release(&c->out);
	/*
	 * Half-close and wait briefly for the client's FIN: closing with
	 * unread input would reset the connection and could destroy the
	 * response before the client reads it.
	 */
	shutdown(c->fd, SHUT_WR);
	c->state = ADMIN_CLIENT_LINGERING;
	c->action = "closing the admin connection";
	sy_loop_set_events(c->admin->loop, c->fd, POLLIN);
	left = c->deadline_ms - sy_now_ms();
	sy_timer_start(c->admin->loop, &c->timer, SY_MAX(SY_MIN(left, ADMIN_LINGER_MS), 0));
}

static void
admin_client_on_io(struct sy_loop *loop, int fd, short revents, void *arg)
{
	struct admin_client *c = arg;

	if (c->state == ADMIN_CLIENT_WRITING) {
		if (revents & (POLLOUT | POLLERR | POLLHUP))
			admin_client_write(c);
		return;
	}
	if (revents & (POLLIN | POLLERR | POLLHUP))
		admin_client_read(c);
}

static void
admin_client_free(struct admin_client *c)
{
	if (c->parser != NULL)
		sy_h1_parser_free(c->parser);
	sy_arena_fini(&c->arena);
	sy_buf_release(&c->out);
	free(c);
}

static void
admin_client_unlink(struct admin_client *c)
{
	struct sy_admin *a = c->admin;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		a->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	a->nclients--;
}

static void
admin_client_close(struct admin_client *c)
{
	struct sy_admin *a = c->admin;

	sy_timer_stop(a->loop, &c->timer);
	sy_loop_del(a->loop, c->fd);
	close(c->fd);
	admin_client_unlink(c);
	admin_client_free(c);
}

static void
admin_client_new(struct admin_listener *l, int fd, const struct sockaddr *sa)
{
	static const struct sy_h1_limits limits = { ADMIN_MAX_HEAD, ADMIN_MAX_HEADERS };
	struct sy_admin *a = l->admin;
	struct admin_client *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto fail;
	c->admin = a;
	c->fd = fd;
	c->id = ++a->next_id;
	c->state = ADMIN_CLIENT_READING;
	c->action = "reading the admin request";
	if (l->is_unix) {
		struct ucred cred;
		socklen_t len = sizeof(cred);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
			snprintf(c->peer, sizeof(c->peer), "unix:pid=%ld,uid=%ld",
			    (long)cred.pid, (long)cred.uid);
		else
			snprintf(c->peer, sizeof(c->peer), "unix:%s", l->name);
	} else {
		sy_addr_format(sa, c->peer, sizeof(c->peer));
	}
	sy_arena_init(&c->arena, 4096);
	c->parser = sy_h1_parser_new(SY_H1_REQUEST, &limits, &admin_h1_callbacks, c);
	if (c->parser == NULL)
		goto fail;
	sy_h1_parser_reset(c->parser, &c->arena);
	if (sy_loop_add(a->loop, fd, POLLIN, admin_client_on_io, c) == -1)
		goto fail;
	c->deadline_ms = sy_now_ms() + a->timeout_ms;
	sy_timer_init(&c->timer, admin_client_on_timer, c);
	sy_timer_start(a->loop, &c->timer, a->timeout_ms);
	c->next = a->clients;
	if (a->clients != NULL)
		a->clients->prev = c;
	a->clients = c;
	a->nclients++;
	return;
fail:
	sy_log(SY_LOG_ERROR, "cannot set up admin connection on %s: %s", l->name, strerror(errno));
	if (c != NULL)
		admin_client_free(c);
	close(fd);
}

/* ---- listeners ----------------------------------------------------------- */

static void
admin_listeners_resume(struct sy_loop *loop, void *arg)
{
	struct sy_admin *a = arg;

	if (a->unix_l.fd >= 0)
		sy_loop_set_events(loop, a->unix_l.fd, POLLIN);
	if (a->tcp_l.fd >= 0)
		sy_loop_set_events(loop, a->tcp_l.fd, POLLIN);
}

static void
admin_on_accept(struct sy_loop *loop, int lfd, short revents, void *arg)
{
	struct admin_listener *l = arg;
	struct sy_admin *a = l->admin;
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, i;

	/* A bounded batch, so a flood cannot starve the rest of the master. */
	for (i = 0; i < 16; i++) {
		sslen = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			sy_log(SY_LOG_ERROR, "cannot accept admin connection on %s: %s",
			    l->name, strerror(errno));
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Stop polling the listeners for a while instead of spinning. */
				if (a->unix_l.fd >= 0)
					sy_loop_set_events(loop, a->unix_l.fd, 0);
				if (a->tcp_l.fd >= 0)
					sy_loop_set_events(loop, a->tcp_l.fd, 0);
				sy_timer_start(loop, &a->pause_timer, ADMIN_ACCEPT_PAUSE_MS);
			}
			return;
		}
		if (a->nclients >= ADMIN_MAX_CLIENTS) {
			char peer[96];

			if (l->is_unix)
				snprintf(peer, sizeof(peer), "unix:%s", l->name);
			else
				sy_addr_format((struct sockaddr *)&ss, peer, sizeof(peer));
			sy_log(SY_LOG_WARN, "too many admin clients (%d): closing connection from %s",
			    ADMIN_MAX_CLIENTS, peer);
			close(fd);
			continue;
		}
		admin_client_new(l, fd, (struct sockaddr *)&ss);
	}
}

/* mkdir -p for the socket's parent, new components 0700. */
static int
admin_mkdir_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	char *slash, *p;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;	/* in the current directory, or in / */
	*slash = '\0';
	for (p = dir + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
				sy_log(SY_LOG_ERROR, "cannot create directory \"%s\" for admin socket \"%s\": %s",
				    dir, path, strerror(errno));
				return -1;
			}
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	if (stat(dir, &st) == -1) {
		sy_log(SY_LOG_ERROR, "cannot use directory \"%s\" for admin socket \"%s\": %s",
		    dir, path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		sy_log(SY_LOG_ERROR, "cannot use \"%s\" for admin socket \"%s\": not a directory",
		    dir, path);
		return -1;
	}
	return 0;
}

/*
 * A socket file left by a process that died is removed; one that still
 * accepts connections belongs to a running instance and is left alone, as
 * is anything that is not a socket.  Logs its own errors.
 */
static int
admin_remove_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		sy_log(SY_LOG_ERROR, "cannot check admin socket \"%s\": %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		sy_log(SY_LOG_ERROR, "cannot use \"%s\" as the admin socket: it exists and is not a socket",
		    path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		sy_log(SY_LOG_ERROR, "cannot check admin socket \"%s\": %s", path, strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (rc == 0 || errno == EAGAIN) {
		sy_log(SY_LOG_ERROR, "admin socket \"%s\" is in use by another process", path);
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		sy_log(SY_LOG_ERROR, "cannot remove stale admin socket \"%s\": %s", path, strerror(errno));
		return -1;
	}
	sy_log(SY_LOG_NOTICE, "removed stale admin socket \"%s\"", path);
	return 0;
}

static void
admin_listener_reset(struct sy_admin *a, struct admin_listener *l)
{
	memset(l, 0, sizeof(*l));
	l->admin = a;
	l->fd = -1;
}

/* Close a listener; with unlink_file, remove the socket file if still ours. */
static void
admin_listener_close(struct sy_admin *a, struct admin_listener *l, bool use_loop, bool unlink_file)
{
	struct stat st;

	if (l->fd >= 0) {
		if (use_loop)
			sy_loop_del(a->loop, l->fd);
		close(l->fd);
		if (l->is_unix && unlink_file && l->name != NULL && stat(l->name, &st) == 0 &&
		    st.st_dev == l->dev && st.st_ino == l->ino)
			unlink(l->name);
	}
	free(l->name);
	admin_listener_reset(a, l);
}

static int
admin_unix_open(struct sy_admin *a, struct admin_listener *l, const char *path, int mode)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old_mask;
	int fd = -1, rc;

	admin_listener_reset(a, l);
	if (strlen(path) >= sizeof(sun.sun_path)) {
		sy_log(SY_LOG_ERROR, "admin socket path \"%s\" is too long (at most %zu bytes)",
		    path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);

	if (admin_mkdir_parent(path) == -1)
		goto fail;
	if (admin_remove_stale(path, &sun) == -1)
		goto fail;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		sy_log(SY_LOG_ERROR, "cannot create admin socket \"%s\": %s", path, strerror(errno));
		goto fail;
	}
	/* No window in which the socket exists with looser permissions. */
	old_mask = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_mask);
	if (rc == -1) {
		sy_log(SY_LOG_ERROR, "cannot bind admin socket \"%s\": %s", path, strerror(errno));
		goto fail;
	}
	if (chmod(path, (mode_t)mode) == -1 || stat(path, &st) == -1) {
		sy_log(SY_LOG_ERROR, "cannot set mode %04o on admin socket \"%s\": %s", mode, path,
		    strerror(errno));
		unlink(path);
		goto fail;
	}
	if (listen(fd, ADMIN_BACKLOG) == -1) {
		sy_log(SY_LOG_ERROR, "cannot listen on admin socket \"%s\": %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	l->name = strdup(path);
	if (l->name == NULL || sy_loop_add(a->loop, fd, POLLIN, admin_on_accept, l) == -1) {
		sy_log(SY_LOG_ERROR, "cannot watch admin socket \"%s\": %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	l->fd = fd;
	l->is_unix = true;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	sy_log(SY_LOG_NOTICE, "admin socket \"%s\" listening (mode %04o)", path, mode);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(l->name);
	admin_listener_reset(a, l);
	return -1;
}

static bool
admin_tcp_allowed(const char *address, const struct sockaddr_storage *sa, bool allow_remote)
{
	if (allow_remote || sy_addr_is_loopback((const struct sockaddr *)sa))
		return true;
	sy_log(SY_LOG_ERROR, "admin address %s is not a loopback address: "
	    "set admin.allow_remote = true to expose the admin interface", address);
	return false;
}

static int
admin_tcp_open(struct sy_admin *a, struct admin_listener *l, const char *address,
    const struct sockaddr_storage *sa, unsigned salen)
{
	int fd = -1, one = 1;

	admin_listener_reset(a, l);
	if (!admin_tcp_allowed(address, sa, a->allow_remote))
		return -1;
	fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		sy_log(SY_LOG_ERROR, "cannot create admin socket for %s: %s", address, strerror(errno));
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sa, salen) == -1) {
		sy_log(SY_LOG_ERROR, "cannot bind admin address %s: %s", address, strerror(errno));
		goto fail;
	}
	if (listen(fd, ADMIN_BACKLOG) == -1) {
		sy_log(SY_LOG_ERROR, "cannot listen on admin address %s: %s", address, strerror(errno));
		goto fail;
	}
	l->name = strdup(address);
	if (l->name == NULL || sy_loop_add(a->loop, fd, POLLIN, admin_on_accept, l) == -1) {
		sy_log(SY_LOG_ERROR, "cannot watch admin address %s: %s", address, strerror(errno));
		goto fail;
	}
	l->fd = fd;
	l->is_unix = false;
	memcpy(&l->sa, sa, sizeof(l->sa));
	l->salen = salen;
	sy_log(SY_LOG_NOTICE, "admin interface listening on %s", address);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(l->name);
	admin_listener_reset(a, l);
	return -1;
}

static int
admin_conf_mode(const struct sy_conf *conf)
{
	/* 0 means "not set" (a zeroed struct); the configured default is 0600 too. */
	return conf->admin.socket_mode != 0 ? (conf->admin.socket_mode & 07777) : ADMIN_DEFAULT_MODE;
}

struct sy_admin *
sy_admin_open(struct sy_loop *loop, const struct sy_conf *conf, const struct sy_admin_hooks *hooks)
{
	struct sy_admin *a;

	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		sy_log(SY_LOG_ERROR, "cannot open admin interface: %s", strerror(errno));
		return NULL;
	}
	a->loop = loop;
	a->timeout_ms = ADMIN_DEADLINE_MS;
	if (hooks != NULL)
		a->hooks = *hooks;
	admin_listener_reset(a, &a->unix_l);
	admin_listener_reset(a, &a->tcp_l);
	sy_timer_init(&a->pause_timer, admin_listeners_resume, a);
	a->unix_mode = admin_conf_mode(conf);
	a->allow_remote = conf->admin.allow_remote;

	if (conf->admin.socket != NULL &&
	    admin_unix_open(a, &a->unix_l, conf->admin.socket, a->unix_mode) == -1)
		goto fail;
	if (conf->admin.address != NULL &&
	    admin_tcp_open(a, &a->tcp_l, conf->admin.address, &conf->admin.sa, conf->admin.salen) == -1)
		goto fail;
	if (conf->admin.socket == NULL && conf->admin.address == NULL)
		sy_log(SY_LOG_NOTICE, "admin interface disabled: neither admin.socket nor admin.address is set");
	return a;
fail:
	sy_admin_close(a);
	return NULL;
}

void
sy_admin_close(struct sy_admin *a)
{
	if (a == NULL)
		return;
	while (a->clients != NULL)
		admin_client_close(a->clients);
	sy_timer_stop(a->loop, &a->pause_timer);
	admin_listener_close(a, &a->unix_l, true, true);
	admin_listener_close(a, &a->tcp_l, true, false);
	free(a);
}

static bool
admin_same_str(const char *x, const char *y)
{
	if (x == NULL || y == NULL)
		return x == y;
	return strcmp(x, y) == 0;
}

int
sy_admin_reconfigure(struct sy_admin *a, const struct sy_conf *conf)
{
	struct admin_listener nu, nt;
	const char *path = conf->admin.socket;
	const char *addr = conf->admin.address;
	int mode = admin_conf_mode(conf);
	bool unix_changed, tcp_changed;

	admin_listener_reset(a, &nu);
	admin_listener_reset(a, &nt);
	unix_changed = !admin_same_str(a->unix_l.name, path);
	tcp_changed = (a->tcp_l.fd >= 0) != (addr != NULL) ||
	    (addr != NULL && (a->tcp_l.salen != conf->admin.salen ||
	    memcmp(&a->tcp_l.sa, &conf->admin.sa, conf->admin.salen) != 0));

	/* Validate everything before changing anything. */
	if (addr != NULL && !admin_tcp_allowed(addr, &conf->admin.sa, conf->admin.allow_remote))
		return -1;
	a->allow_remote = conf->admin.allow_remote;

	if (unix_changed && path != NULL && admin_unix_open(a, &nu, path, mode) == -1)
		goto fail;
	if (tcp_changed && addr != NULL &&
	    admin_tcp_open(a, &nt, addr, &conf->admin.sa, conf->admin.salen) == -1)
		goto fail;

	/*
	 * Commit.  The loop's handlers point at the listener structs, so the
	 * new ones are re-registered once copied into place.
	 */
	if (unix_changed) {
		admin_listener_close(a, &a->unix_l, true, true);
		if (nu.fd >= 0) {
			a->unix_l = nu;
			sy_loop_add(a->loop, a->unix_l.fd, POLLIN, admin_on_accept, &a->unix_l);
		}
	} else if (a->unix_l.fd >= 0 && mode != a->unix_mode) {
		if (chmod(a->unix_l.name, (mode_t)mode) == -1)
			sy_log(SY_LOG_ERROR, "cannot set mode %04o on admin socket \"%s\": %s", mode,
			    a->unix_l.name, strerror(errno));
		else
			sy_log(SY_LOG_NOTICE, "admin socket \"%s\" mode changed to %04o",
			    a->unix_l.name, mode);
	}
	a->unix_mode = mode;
	if (tcp_changed) {
		admin_listener_close(a, &a->tcp_l, true, false);
		if (nt.fd >= 0) {
			a->tcp_l = nt;
			sy_loop_add(a->loop, a->tcp_l.fd, POLLIN, admin_on_accept, &a->tcp_l);
		}
	}
	return 0;
fail:
	admin_listener_close(a, &nu, true, true);
	admin_listener_close(a, &nt, true, false);
	return -1;
}

void
sy_admin_close_in_child(struct sy_admin *a)
{
	struct admin_client *c, *next;

	if (a == NULL)
		return;
	/*
	 * The child must not run the master's loop, so nothing is removed
	 * from it, and the socket file belongs to the master: only the fds
	 * and this process's copy of the memory go.
	 */
	for (c = a->clients; c != NULL; c = next) {
		next = c->next;
		close(c->fd);
		admin_client_free(c);
	}
	if (a->unix_l.fd >= 0)
		close(a->unix_l.fd);
	if (a->tcp_l.fd >= 0)
		close(a->tcp_l.fd);
	free(a->unix_l.name);
	free(a->tcp_l.name);
	free(a);
}

void
sy_admin_set_timeout(struct sy_admin *a, int64_t ms)
{
	a->timeout_ms = ms > 0 ? ms : ADMIN_DEADLINE_MS;
}

/* For tests: how many clients are open. */
unsigned
sy_admin_nclients(const struct sy_admin *a)
{
	return a->nclients;
}
