/*
 * admin.h - the admin interface, served by the master only: HTTP/1.1 over
 * a Unix socket (and optionally a loopback TCP address).  It reads the
 * shared-memory stats and asks the master, through hooks, for what only
 * the master knows (worker pids, readiness, the effective config, reset).
 * Every admin connection is non-blocking with a deadline, so a stalled
 * admin client can never block the master.
 */
#ifndef SWITCHYARD_ADMIN_H
#define SWITCHYARD_ADMIN_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "switchyard/core.h"

struct sy_loop;
struct sy_conf;

enum sy_admin_format { SY_ADMIN_TEXT, SY_ADMIN_JSON, SY_ADMIN_PROMETHEUS };

/* What the master tells the admin module. */
struct sy_admin_hooks {
	/* Append the /server_info JSON object. */
	void (*server_info)(struct sy_buf *out, void *arg);
	/* false while draining (GET /ready answers 503). */
	bool (*ready)(void *arg);
	/* The effective configuration of the current generation. */
	const struct sy_conf *(*conf)(void *arg);
	/* Refresh master-owned gauges (server.uptime...) before a read. */
	void (*refresh)(void *arg);
	void *arg;
};

/*
 * A reply, built by sy_admin_handle; body is owned by the caller's buffer
 * (release it with sy_admin_reply_fini).  allow is the Allow header of a
 * 405, NULL otherwise; content_type and allow are static strings.
 */
struct sy_admin_reply {
	int status;
	const char *content_type;
	struct sy_buf body;
	const char *allow;
};

/*
 * Answer one request (pure apart from reading stats and calling hooks):
 * method "GET"/"POST" ("HEAD" is answered as GET: the server drops the
 * body), target "/stats?filter=...&format=json".  Overwrites r without
 * reading it; 0, or -1 on ENOMEM (r then says 500 with an empty body).
 * Unknown path: 404; wrong method: 405 with r->allow; bad regex, format or
 * query encoding: 400.  Calls hooks->refresh before reading stats; hooks
 * and any of its members may be NULL.
 */
int sy_admin_handle(const struct sy_admin_hooks *hooks, const char *method,
    const char *target, struct sy_admin_reply *r);
/* Give back the reply's body.  r may be handled again afterwards. */
void sy_admin_reply_fini(struct sy_admin_reply *r);

/* Append s as a JSON string literal (quoted, escaped); for hooks.  0/-1. */
int sy_admin_json_string(struct sy_buf *out, const char *s);

/* Stats in one format; filter may be NULL.  0 or -1. */
int sy_admin_format_stats(struct sy_buf *out, enum sy_admin_format f, const regex_t *filter);

/*
 * Decode a query parameter: finds key in the query string of target and
 * percent-decodes its value into out.  Returns 1 found, 0 absent, -1 bad
 * encoding or too long.
 */
int sy_admin_query_param(const char *target, const char *key, char *out, size_t outlen);

struct sy_admin;
/*
 * Master: open the admin socket(s) of conf and serve them from loop.
 * Creates the socket's parent directory (0700) if missing, applies
 * socket_mode, refuses a non-loopback TCP address unless allow_remote.
 * Returns NULL after logging the reason.
 */
struct sy_admin *sy_admin_open(struct sy_loop *loop, const struct sy_conf *conf,
    const struct sy_admin_hooks *hooks);
/* Close listeners and every client; unlink the Unix socket. */
void sy_admin_close(struct sy_admin *a);
/* Reload: reopen only what changed in conf.  0, or -1 keeping the old. */
int sy_admin_reconfigure(struct sy_admin *a, const struct sy_conf *conf);
/*
 * Workers: close the inherited admin fds right after fork.  Frees a
 * without touching the loop (the child must not run the master's loop)
 * and without unlinking the socket file, which stays the master's.
 */
void sy_admin_close_in_child(struct sy_admin *a);
/*
 * Time a client may take from accept to close (default 10 s); applies to
 * clients accepted afterwards.  ms <= 0 restores the default.
 */
void sy_admin_set_timeout(struct sy_admin *a, int64_t ms);
/* Tests: how many admin clients are connected. */
unsigned sy_admin_nclients(const struct sy_admin *a);

#endif
