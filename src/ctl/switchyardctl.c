/*
 * switchyardctl.c - a small command-line client for the admin socket.  It
 * sends one HTTP/1.1 request over the Unix socket, parses the answer with
 * the daemon's own HTTP/1.1 codec, prints the body and turns the status
 * into an exit code: 0 for 2xx, 1 for any other status (so "ready" fails
 * while the server drains; error bodies go to stderr), 2 when the daemon cannot be reached or the
 * answer is not HTTP, and for usage errors.  The whole exchange has one
 * deadline (-t).  It never writes to the daemon's state except through
 * "reset-counters", and never needs the configuration file.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "switchyard/core.h"
#include "switchyard/http.h"
#include "switchyard/http1.h"

#define CTL_DEFAULT_SOCKET "/run/switchyard/admin.sock"
#define CTL_DEFAULT_TIMEOUT_MS 5000
#define CTL_EXIT_OK 0
#define CTL_EXIT_STATUS 1
#define CTL_EXIT_ERROR 2

struct ctl_command {
	const char *name;
	const char *method;
	const char *path;
	bool takes_filter;
	const char *help;
};

static const struct ctl_command ctl_commands[] = {
	{ "stats", "GET", "/stats", true, "print every stat (or those matching a POSIX ERE)" },
	{ "prometheus", "GET", "/stats/prometheus", true, "print stats in Prometheus text format" },
	{ "server-info", "GET", "/server_info", false, "print version, pids, uptime as JSON" },
	{ "ready", "GET", "/ready", false, "exit 0 while serving, 1 while draining" },
	{ "reset-counters", "POST", "/reset_counters", false, "make every counter read 0" },
	{ "config-dump", "GET", "/config_dump", false, "print the effective configuration as JSON" },
	{ "help", "GET", "/help", false, "list the admin endpoints" },
};

struct ctl_response {
	struct sy_arena arena;
	struct sy_buf body;
	int status;
	bool done;
};

static void
ctl_usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: switchyardctl [-s socket] [-t timeout] command [filter]\n"
	    "  -s socket   admin socket (default %s)\n"
	    "  -t timeout  seconds, or a duration such as 500ms (default 5s)\n"
	    "commands:\n", CTL_DEFAULT_SOCKET);
	for (i = 0; i < SY_ARRAY_LEN(ctl_commands); i++)
		fprintf(fp, "  %-15s %s\n", ctl_commands[i].name, ctl_commands[i].help);
}

static void ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
ctl_error(const char *fmt, ...)
{
	va_list ap;

	fputs("switchyardctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Query values: unreserved characters as they are, the rest %XX. */
static int
ctl_append_encoded(struct sy_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[3] = { '%', hex[c >> 4], hex[c & 15] };

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			if (sy_buf_append(out, s, 1) == -1)
				return -1;
		} else if (sy_buf_append(out, esc, 3) == -1) {
			return -1;
		}
	}
	return 0;
}

static int
ctl_timeout_parse(const char *s, int64_t *ms)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno == 0 && end != s && *end == '\0' && v > 0 && v <= 86400) {
		*ms = (int64_t)v * 1000;
		return 0;
	}
	if (sy_duration_parse(s, ms) == NULL && *ms > 0)
		return 0;
	return -1;
}

/* Milliseconds left before the deadline, for poll(). */
static int
ctl_left(int64_t deadline)
{
	int64_t left = deadline - sy_time_update();

	return left <= 0 ? 0 : (int)SY_MIN(left, (int64_t)60000);
}

static int
ctl_wait(int fd, short events, int64_t deadline)
{
	struct pollfd p = { fd, events, 0 };
	int n;

	for (;;) {
		n = poll(&p, 1, ctl_left(deadline));
		if (n > 0)
			return 0;
		if (n == 0 && ctl_left(deadline) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

static int
ctl_connect(const char *path, int64_t deadline)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	int fd, err = 0;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EAGAIN)
		goto fail;
	/* A full backlog: wait until the socket becomes writable, or time out. */
	if (ctl_wait(fd, POLLOUT, deadline) == -1)
		goto fail;
	len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		goto fail;
	if (err != 0) {
		errno = err;
		goto fail;
	}
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static int
ctl_on_head(void *ud, struct sy_msg *msg)
{
	struct ctl_response *r = ud;

	r->status = msg->status;
	return 0;
}

static int
ctl_on_data(void *ud, const char *p, size_t n)
{
	struct ctl_response *r = ud;

	return sy_buf_append(&r->body, p, n);
}

static int
ctl_on_end(void *ud)
{
	struct ctl_response *r = ud;

	r->done = true;
	return 0;
}

static const struct sy_h1_callbacks ctl_callbacks = { ctl_on_head, ctl_on_data, ctl_on_end };

/*
 * Send the request and read the response into r.  Returns 0, or -1 with a
 * message already printed.
 */
static int
ctl_exchange(const char *socket_path, int64_t deadline, const struct sy_buf *req,
    const char *method, struct ctl_response *r)
{
	static const struct sy_h1_limits limits = { 65536, 200 };
	struct sy_h1_parser *p = NULL;
	size_t off = 0, used;
	char buf[16384];
	ssize_t n;
	int fd, rc = -1, prc;

	fd = ctl_connect(socket_path, deadline);
	if (fd == -1) {
		ctl_error("cannot connect to %s: %s", socket_path, strerror(errno));
		return -1;
	}
	while (off < sy_buf_len(req)) {
		n = send(fd, sy_buf_rpos(req) + off, sy_buf_len(req) - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    ctl_wait(fd, POLLOUT, deadline) == 0)
			continue;
		ctl_error("cannot send request to %s: %s", socket_path, strerror(errno));
		goto fail;
	}

	p = sy_h1_parser_new(SY_H1_RESPONSE, &limits, &ctl_callbacks, r);
	if (p == NULL) {
		ctl_error("%s", strerror(errno));
		goto fail;
	}
	sy_h1_parser_reset(p, &r->arena);
	sy_h1_parser_set_request_method(p, method);
	while (!r->done) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
			    ctl_wait(fd, POLLIN, deadline) == 0)
				continue;
			ctl_error("cannot read response from %s: %s", socket_path,
			    errno == ETIMEDOUT ? "timed out" : strerror(errno));
			goto fail;
		}
		if (n == 0) {
			if (sy_h1_parse_eof(p) != SY_OK) {
				ctl_error("%s closed the connection before the response was complete",
				    socket_path);
				goto fail;
			}
			break;
		}
		off = 0;
		while (off < (size_t)n && !r->done) {
			used = 0;
			prc = sy_h1_parse(p, buf + off, (size_t)n - off, &used);
			off += used;
			if (prc == SY_ERROR) {
				const char *reason = NULL;

				sy_h1_parser_error(p, &reason);
				ctl_error("invalid response from %s: %s", socket_path,
				    reason != NULL && reason[0] != '\0' ? reason : "parse error");
				goto fail;
			}
			if (prc == SY_DONE || used == 0)
				break;
		}
	}
	if (r->status == 0) {
		ctl_error("no response from %s", socket_path);
		goto fail;
	}
	rc = 0;
fail:
	if (p != NULL)
		sy_h1_parser_free(p);
	close(fd);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *socket_path = CTL_DEFAULT_SOCKET;
	const struct ctl_command *cmd = NULL;
	int64_t timeout_ms = CTL_DEFAULT_TIMEOUT_MS;
	struct ctl_response r;
	struct sy_buf req = { 0 };
	const char *filter = NULL;
	int ch, status, ex = CTL_EXIT_ERROR;
	bool ok;
	FILE *out;
	size_t i;

	while ((ch = getopt(argc, argv, "+hs:t:V")) != -1) {
		switch (ch) {
		case 's':
			socket_path = optarg;
			break;
		case 't':
			if (ctl_timeout_parse(optarg, &timeout_ms) == -1) {
				ctl_error("invalid timeout \"%s\": use seconds or a duration such as 500ms",
				    optarg);
				return CTL_EXIT_ERROR;
			}
			break;
		case 'V':
			printf("switchyardctl %s\n", PACKAGE_VERSION);
			return CTL_EXIT_OK;
		case 'h':
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		default:
			ctl_usage(stderr);
			return CTL_EXIT_ERROR;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		ctl_usage(stderr);
		return CTL_EXIT_ERROR;
	}
	for (i = 0; i < SY_ARRAY_LEN(ctl_commands); i++)
		if (strcmp(argv[0], ctl_commands[i].name) == 0)
			cmd = &ctl_commands[i];
	if (cmd == NULL) {
		ctl_error("unknown command \"%s\"", argv[0]);
		ctl_usage(stderr);
		return CTL_EXIT_ERROR;
	}
	if (argc > (cmd->takes_filter ? 2 : 1)) {
		ctl_error("too many arguments for \"%s\"", cmd->name);
		return CTL_EXIT_ERROR;
	}
	if (argc == 2)
		filter = argv[1];

	memset(&r, 0, sizeof(r));
	sy_arena_init(&r.arena, 4096);
	if (sy_buf_printf(&req, "%s %s", cmd->method, cmd->path) == -1 ||
	    (filter != NULL && (sy_buf_printf(&req, "?filter=") == -1 ||
	    ctl_append_encoded(&req, filter) == -1)) ||
	    sy_buf_printf(&req, " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: switchyardctl/%s\r\n"
	    "Accept: */*\r\n%sConnection: close\r\n\r\n", PACKAGE_VERSION,
	    strcmp(cmd->method, "POST") == 0 ? "Content-Length: 0\r\n" : "") == -1) {
		ctl_error("%s", strerror(errno));
		goto done;
	}
	if (ctl_exchange(socket_path, sy_time_update() + timeout_ms, &req, cmd->method, &r) == -1)
		goto done;

	status = r.status;
	ok = status >= 200 && status < 300;
	/* "ready" answers DRAINING in its body; other errors go to stderr. */
	out = ok || strcmp(cmd->name, "ready") == 0 ? stdout : stderr;
	if (sy_buf_len(&r.body) > 0)
		fwrite(sy_buf_rpos(&r.body), 1, sy_buf_len(&r.body), out);
	if (fflush(out) == EOF) {
		ctl_error("cannot write output: %s", strerror(errno));
		goto done;
	}
	if (ok) {
		ex = CTL_EXIT_OK;
	} else {
		if (out == stderr)
			ctl_error("%s %s: %d %s", cmd->method, cmd->path, status, sy_http_reason(status));
		ex = CTL_EXIT_STATUS;
	}
done:
	sy_buf_release(&req);
	sy_buf_release(&r.body);
	sy_arena_fini(&r.arena);
	return ex;
}
