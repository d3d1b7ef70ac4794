/*
 * log.c - the error log and the access log of one process.  Each line is
 * written with a single write(2) so lines from several workers sharing an
 * O_APPEND file never interleave.  Error line format:
 *   2026-11-26T15:32:42.123Z [notice] worker 3: message
 * Targets: "stderr", "syslog" or a file; reopening (SIGUSR1) is done by
 * every process for itself.  Nothing here allocates on the logging path.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "switchyard/core.h"
#include "switchyard/log.h"

enum log_target { LOG_TO_STDERR, LOG_TO_SYSLOG, LOG_TO_FILE };

static const char *const log_names[] = {
	"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"
};
static const int log_syslog_prio[] = {
	LOG_EMERG, LOG_ALERT, LOG_CRIT, LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG
};

static int log_level = SY_LOG_NOTICE;
static enum log_target log_target = LOG_TO_STDERR;
static int log_fd = -1;
static char log_path[4096];
static char log_role[32] = "master";

static int access_fd = -1;
static char access_path[4096];

int
sy_log_level_parse(const char *s)
{
	size_t i;

	for (i = 0; i < SY_ARRAY_LEN(log_names); i++)
		if (strcasecmp(s, log_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
sy_log_level_name(int level)
{
	if (level < 0 || level >= (int)SY_ARRAY_LEN(log_names))
		return "unknown";
	return log_names[level];
}

static int
log_open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

int
sy_log_open(const char *target, int level)
{
	int fd;

	if (level >= 0)
		log_level = level;
	if (target == NULL || strcmp(target, "stderr") == 0) {
		if (log_fd != -1)
			close(log_fd);
		log_fd = -1;
		log_target = LOG_TO_STDERR;
		return 0;
	}
	if (strcmp(target, "syslog") == 0) {
		if (log_fd != -1)
			close(log_fd);
		log_fd = -1;
		openlog("switchyard", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_target = LOG_TO_SYSLOG;
		return 0;
	}
	if ((fd = log_open_file(target)) == -1)
		return -1;
	if (log_fd != -1)
		close(log_fd);
	log_fd = fd;
	snprintf(log_path, sizeof(log_path), "%s", target);
	log_target = LOG_TO_FILE;
	return 0;
}

int
sy_log_reopen(void)
{
	int fd;

	if (log_target != LOG_TO_FILE)
		return 0;
	if ((fd = log_open_file(log_path)) == -1)
		return -1;
	if (dup2(fd, log_fd) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void
sy_log_close(void)
{
	if (log_fd != -1)
		close(log_fd);
	log_fd = -1;
	if (log_target == LOG_TO_SYSLOG)
		closelog();
	log_target = LOG_TO_STDERR;
}

void
sy_log_set_role(const char *role, int worker_id)
{
	if (worker_id >= 0)
		snprintf(log_role, sizeof(log_role), "%s %d", role, worker_id);
	else
		snprintf(log_role, sizeof(log_role), "%s", role);
}

int
sy_log_get_level(void)
{
	return log_level;
}

static size_t
log_timestamp(char *out, size_t outlen)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(out + n, outlen - n, ".%03ldZ", ts.tv_nsec / 1000000);
	return n;
}

static void
log_emit(int level, const char *prefix, const char *fmt, va_list ap)
{
	char line[2048];
	size_t n = 0;
	int r;
	int saved = errno;

	if (level > log_level)
		return;
	if (log_target != LOG_TO_SYSLOG) {
		n = log_timestamp(line, sizeof(line));
		r = snprintf(line + n, sizeof(line) - n, " [%s] ", log_names[level]);
		n += r > 0 ? (size_t)r : 0;
	}
	r = snprintf(line + n, sizeof(line) - n, "%s: %s", log_role, prefix ? prefix : "");
	if (r > 0)
		n = SY_MIN(n + (size_t)r, sizeof(line) - 1);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n = SY_MIN(n + (size_t)r, sizeof(line) - 2);
	if (log_target == LOG_TO_SYSLOG) {
		line[n] = '\0';
		syslog(log_syslog_prio[level], "%s", line);
	} else {
		line[n++] = '\n';
		/* A failed log write has nowhere to be reported. */
		if (write(log_fd == -1 ? STDERR_FILENO : log_fd, line, n) < 0)
			(void)0;
	}
	errno = saved;
}

void
sy_vlog(int level, const char *fmt, va_list ap)
{
	log_emit(level, NULL, fmt, ap);
}

void
sy_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(level, NULL, fmt, ap);
	va_end(ap);
}

void
sy_log_conn(int level, const struct sy_log_ctx *ctx, const char *fmt, ...)
{
	char prefix[256], msg[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(prefix, sizeof(prefix), "conn %" PRIu64 " peer %s: ",
	    ctx ? ctx->conn_id : 0, ctx && ctx->peer ? ctx->peer : "-");
	if (ctx != NULL && ctx->action != NULL)
		sy_log(level, "%s%s while %s", prefix, msg, ctx->action);
	else
		sy_log(level, "%s%s", prefix, msg);
}

void
sy_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(SY_LOG_EMERG, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

int
sy_access_log_open(const char *path)
{
	int fd;

	if (path == NULL) {
		sy_access_log_close();
		return 0;
	}
	if ((fd = log_open_file(path)) == -1)
		return -1;
	if (access_fd != -1)
		close(access_fd);
	access_fd = fd;
	snprintf(access_path, sizeof(access_path), "%s", path);
	return 0;
}

int
sy_access_log_reopen(void)
{
	int fd;

	if (access_fd == -1)
		return 0;
	if ((fd = log_open_file(access_path)) == -1)
		return -1;
	if (dup2(fd, access_fd) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void
sy_access_log_close(void)
{
	if (access_fd != -1)
		close(access_fd);
	access_fd = -1;
}

/* Quote-safe copy: control bytes, quotes and backslashes become \xHH. */
static size_t
log_escape(char *out, size_t outlen, const char *s)
{
	size_t n = 0;

	if (s == NULL)
		s = "-";
	for (; *s != '\0' && n + 5 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f)
			n += (size_t)snprintf(out + n, outlen - n, "\\x%02X", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return n;
}

void
sy_access_log_write(const struct sy_access_entry *e)
{
	char line[4096], ts[64], method[32], path[2048], auth[256], up[256];
	int n;

	if (access_fd == -1)
		return;
	log_timestamp(ts, sizeof(ts));
	log_escape(method, sizeof(method), e->method);
	log_escape(path, sizeof(path), e->path);
	log_escape(auth, sizeof(auth), e->authority);
	log_escape(up, sizeof(up), e->upstream);
	n = snprintf(line, sizeof(line),
	    "%s %s \"%s %s %s\" %d %" PRIu64 " %" PRIu64 " %" PRId64 " \"%s\" \"%s\" %" PRIu64 " %s\n",
	    ts, e->peer ? e->peer : "-", method, path, e->protocol ? e->protocol : "-",
	    e->status, e->bytes_in, e->bytes_out, e->duration_ms, auth, up,
	    e->conn_id, e->request_id ? e->request_id : "-");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (write(access_fd, line, (size_t)n) < 0)
		(void)0;
}
