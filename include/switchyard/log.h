/*
 * log.h - the error log and the access log.  Error lines go to stderr,
 * syslog or a file; every line carries the process role (master or
 * worker N).  Connection-level lines also carry connection id, peer and
 * the current action, the way nginx's log->action does.
 */
#ifndef SWITCHYARD_LOG_H
#define SWITCHYARD_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum sy_log_level {
	SY_LOG_EMERG, SY_LOG_ALERT, SY_LOG_CRIT, SY_LOG_ERROR,
	SY_LOG_WARN, SY_LOG_NOTICE, SY_LOG_INFO, SY_LOG_DEBUG
};

/* Context of a connection-level line; all fields optional. */
struct sy_log_ctx {
	uint64_t conn_id;
	const char *peer;	/* "127.0.0.1:51234" */
	const char *action;	/* "reading request headers" */
};

/* Parse "notice" etc.; -1 when unknown. */
int sy_log_level_parse(const char *s);
const char *sy_log_level_name(int level);

/*
 * target: NULL or "stderr", "syslog", or a file path.  Called by the
 * master before forking and again on reload; 0 or -1 with errno.
 */
int sy_log_open(const char *target, int level);
/* Reopen the file target (SIGUSR1); 0 or -1. */
int sy_log_reopen(void);
void sy_log_close(void);
/* "master" or "worker 3"; the worker id is also put in each line. */
void sy_log_set_role(const char *role, int worker_id);
int sy_log_get_level(void);

void sy_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sy_vlog(int level, const char *fmt, va_list ap);
void sy_log_conn(int level, const struct sy_log_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Before the first fork only: log at emerg and exit(1). */
void sy_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Access log: one line per request; path NULL disables it. */
int sy_access_log_open(const char *path);
int sy_access_log_reopen(void);
void sy_access_log_close(void);
struct sy_access_entry {
	const char *peer;
	const char *method;
	const char *path;
	const char *authority;
	const char *protocol;	/* "HTTP/1.1" */
	int status;
	uint64_t bytes_in, bytes_out;
	int64_t duration_ms;
	const char *upstream;	/* "-" for direct responses */
	uint64_t conn_id;
	const char *request_id;
};
void sy_access_log_write(const struct sy_access_entry *e);

#endif
