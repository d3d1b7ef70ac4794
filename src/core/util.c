/*
 * util.c - small helpers without a better home: monotonic time cached per
 * loop iteration, durations, ASCII case-insensitive comparison, token
 * lists, numeric socket addresses and file descriptor flags.  No I/O
 * beyond the fd helpers; no allocation.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "switchyard/core.h"

static int64_t util_now;

int64_t
sy_time_update(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	util_now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return util_now;
}

int64_t
sy_now_ms(void)
{
	if (util_now == 0)
		return sy_time_update();
	return util_now;
}

double
sy_wallclock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *
sy_duration_parse(const char *s, int64_t *ms)
{
	const char *p = s;
	int64_t v = 0, mult;

	if (s == NULL || *s == '\0')
		return "empty duration";
	if (!isdigit((unsigned char)*p))
		return "duration must start with a number (e.g. \"15s\")";
	while (isdigit((unsigned char)*p)) {
		if (v > (INT64_MAX - 9) / 10)
			return "duration too large";
		v = v * 10 + (*p - '0');
		p++;
	}
	if (strcmp(p, "ms") == 0)
		mult = 1;
	else if (strcmp(p, "s") == 0)
		mult = 1000;
	else if (strcmp(p, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(p, "h") == 0)
		mult = 3600 * 1000;
	else if (strcmp(p, "d") == 0)
		mult = 86400 * 1000;
	else if (*p == '\0' && v == 0)
		mult = 1;
	else if (*p == '\0')
		return "duration needs a unit: ms, s, m, h or d";
	else
		return "unknown duration unit (use ms, s, m, h or d)";
	if (v > INT64_MAX / mult)
		return "duration too large";
	*ms = v * mult;
	return NULL;
}

void
sy_duration_format(int64_t ms, char *out, size_t outlen)
{
	static const struct { int64_t mult; const char *unit; } units[] = {
		{ 86400 * 1000, "d" }, { 3600 * 1000, "h" }, { 60 * 1000, "m" }, { 1000, "s" },
	};
	size_t i;

	if (ms == 0) {
		snprintf(out, outlen, "0s");
		return;
	}
	for (i = 0; i < SY_ARRAY_LEN(units); i++) {
		if (ms % units[i].mult == 0) {
			snprintf(out, outlen, "%" PRId64 "%s", ms / units[i].mult, units[i].unit);
			return;
		}
	}
	snprintf(out, outlen, "%" PRId64 "ms", ms);
}

bool
sy_strnieq(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++)
		if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
			return false;
	return true;
}

bool
sy_strieq(const char *a, const char *b)
{
	return sy_strnieq(a, strlen(a), b, strlen(b));
}

bool
sy_token_list_has(const char *v, size_t len, const char *token)
{
	size_t tlen = strlen(token), i = 0, s, e;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > s && sy_strnieq(v + s, e - s, token, tlen))
			return true;
	}
	return false;
}

int
sy_addr_parse(const char *s, struct sockaddr_storage *ss, unsigned *sslen)
{
	char host[64];
	const char *colon, *hs, *he;
	char *end;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (s == NULL)
		goto fail;
	if (s[0] == '[') {
		hs = s + 1;
		he = strchr(hs, ']');
		if (he == NULL || he[1] != ':')
			goto fail;
		colon = he + 1;
	} else {
		hs = s;
		colon = strrchr(s, ':');
		if (colon == NULL)
			goto fail;
		he = colon;
		if (memchr(hs, ':', (size_t)(he - hs)) != NULL)
			goto fail;	/* IPv6 must be bracketed */
	}
	if ((size_t)(he - hs) >= sizeof(host) || he == hs)
		goto fail;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 0 || port > 65535)
		goto fail;
	if (s[0] == '[') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			goto fail;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (strcmp(host, "*") == 0)
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			goto fail;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*sin);
	}
	return 0;
fail:
	errno = EINVAL;
	return -1;
}

void
sy_addr_format(const struct sockaddr *sa, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, outlen, "%s:%u", host, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(out, outlen, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else if (sa->sa_family == AF_UNIX) {
		snprintf(out, outlen, "unix");
	} else {
		snprintf(out, outlen, "unknown");
	}
}

bool
sy_addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;

		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;

		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	return false;
}

int
sy_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
sy_fd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return sy_fd_cloexec(fd);
}

int
sy_fd_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl == -1 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

void
sy_signal_set(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = flags;
	sa.sa_handler = fn;
	sigaction(sig, &sa, NULL);
}
