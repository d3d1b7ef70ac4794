/*
 * test_core.c - the bottom layer (include/switchyard/core.h): arenas, byte
 * buffers and their pool, durations both ways with every error string,
 * token lists, ASCII case-insensitive comparison, numeric socket
 * addresses and the fd helpers.  Pure functions are tested from tables;
 * the buffer pool is checked by its counters, as deltas, because the pool
 * is per process and check may run the tests in one process (CK_FORK=no).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "switchyard/core.h"
#include "unit.h"

/* ---- arena --------------------------------------------------------------- */

START_TEST(test_arena_alloc)
{
	struct sy_arena a;
	char *p[200];
	int i;

	sy_arena_init(&a, 0);
	ck_assert_uint_eq(a.chunk_size, 4096);
	ck_assert_ptr_null(a.head);
	for (i = 0; i < 200; i++) {
		p[i] = sy_arena_alloc(&a, (size_t)i % 37 + 1);
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_uint_eq((uintptr_t)p[i] % alignof(max_align_t), 0);
		memset(p[i], i, (size_t)i % 37 + 1);
	}
	/* Nothing overlapped. */
	for (i = 0; i < 200; i++)
		ck_assert_int_eq((unsigned char)p[i][(size_t)i % 37], (unsigned char)i);
	ck_assert_uint_ge(a.total, 200);
	/* Zero-size allocations are distinct, valid pointers. */
	ck_assert_ptr_ne(sy_arena_alloc(&a, 0), sy_arena_alloc(&a, 0));
	sy_arena_fini(&a);
	ck_assert_ptr_null(a.head);
	ck_assert_uint_eq(a.total, 0);
}
END_TEST

START_TEST(test_arena_large)
{
	struct sy_arena a;
	char *small1, *big, *small2;

	sy_arena_init(&a, 1024);
	small1 = sy_arena_alloc(&a, 16);
	big = sy_arena_alloc(&a, 100000);
	ck_assert_ptr_nonnull(big);
	memset(big, 0xab, 100000);
	small2 = sy_arena_alloc(&a, 16);
	ck_assert_ptr_nonnull(small2);
	/* The big one got its own chunk: small ones keep filling the first. */
	ck_assert(small2 > small1 && small2 - small1 < 1024);
	ck_assert_int_eq((unsigned char)big[99999], 0xab);
	ck_assert_uint_ge(a.total, 100032);
	sy_arena_fini(&a);
}
END_TEST

START_TEST(test_arena_strings)
{
	struct sy_arena a;
	unsigned char *z;
	char *s;
	int i;

	sy_arena_init(&a, 64);
	ck_assert_str_eq(sy_arena_strdup(&a, "hello"), "hello");
	ck_assert_str_eq(sy_arena_strdup(&a, ""), "");
	ck_assert_str_eq(sy_arena_strndup(&a, "hello", 3), "hel");
	s = sy_arena_printf(&a, "%s-%d-%04x", "x", 42, 255);
	ck_assert_str_eq(s, "x-42-00ff");
	s = sy_arena_printf(&a, "%0200d", 7);	/* bigger than a chunk */
	ck_assert_uint_eq(strlen(s), 200);
	ck_assert_int_eq(s[199], '7');
	z = sy_arena_calloc(&a, 300);
	for (i = 0; i < 300; i++)
		ck_assert_int_eq(z[i], 0);
	sy_arena_fini(&a);
}
END_TEST

/* ---- buffers and their pool ---------------------------------------------- */

START_TEST(test_buf_append_consume)
{
	struct sy_buf b = { 0 };
	size_t free0, used0, fr, us;

	sy_buf_pool_stats(&free0, &used0);
	ck_assert_uint_eq(sy_buf_len(&b), 0);
	ck_assert(sy_buf_release_if_empty(&b));		/* holds nothing */
	ck_assert_int_eq(sy_buf_append(&b, "hello ", 6), 0);
	ck_assert_int_eq(sy_buf_printf(&b, "%s %d", "world", 7), 0);
	ck_assert_uint_eq(sy_buf_len(&b), 13);
	ck_assert(memcmp(sy_buf_rpos(&b), "hello world 7", 13) == 0);
	ck_assert_uint_eq(b.cap, SY_BUF_SIZE);
	ck_assert_uint_eq(sy_buf_room(&b), SY_BUF_SIZE - 13);
	sy_buf_pool_stats(&fr, &us);
	ck_assert_uint_eq(us, used0 + 1);

	sy_buf_consume(&b, 6);
	ck_assert_uint_eq(sy_buf_len(&b), 7);
	ck_assert(memcmp(sy_buf_rpos(&b), "world 7", 7) == 0);
	ck_assert(!sy_buf_release_if_empty(&b));	/* still holds bytes */
	sy_buf_consume(&b, 7);
	ck_assert_uint_eq(sy_buf_len(&b), 0);
	ck_assert_uint_eq(b.start, 0);			/* rewound when empty */
	ck_assert(sy_buf_release_if_empty(&b));
	ck_assert_ptr_null(b.data);
	sy_buf_pool_stats(&fr, &us);
	ck_assert_uint_eq(us, used0);
	ck_assert_uint_eq(fr, free0 + 1);

	/* The next buffer reuses the pooled block. */
	ck_assert_int_eq(sy_buf_append(&b, "x", 1), 0);
	sy_buf_pool_stats(&fr, &us);
	ck_assert_uint_eq(fr, free0);
	ck_assert_uint_eq(us, used0 + 1);
	ck_assert_int_eq(sy_buf_append(&b, "", 0), 0);
	sy_buf_release(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.cap, 0);
	sy_buf_release(&b);				/* twice is harmless */
	sy_buf_pool_stats(&fr, &us);
	ck_assert_uint_eq(us, used0);
}
END_TEST

START_TEST(test_buf_grow)
{
	struct sy_buf b = { 0 };
	size_t free0, used0, fr, us, i;
	char chunk[1000];

	sy_buf_pool_stats(&free0, &used0);
	for (i = 0; i < 50; i++) {
		memset(chunk, 'a' + (int)(i % 26), sizeof(chunk));
		ck_assert_int_eq(sy_buf_append(&b, chunk, sizeof(chunk)), 0);
	}
	ck_assert_uint_eq(sy_buf_len(&b), 50000);
	ck_assert_uint_gt(b.cap, SY_BUF_SIZE);
	for (i = 0; i < 50; i++)
		ck_assert_int_eq(sy_buf_rpos(&b)[i * 1000 + 999], 'a' + (int)(i % 26));
	/* Leaving the pool gave the block back. */
	sy_buf_pool_stats(&fr, &us);
	ck_assert_uint_eq(us, used0);
	sy_buf_release(&b);
	sy_buf_pool_stats(&fr, &us);
	ck_assert_uint_eq(us, used0);

	/* A first reservation larger than a block is malloc'd directly. */
	ck_assert_int_eq(sy_buf_reserve(&b, SY_BUF_SIZE * 3), 0);
	ck_assert_uint_ge(sy_buf_room(&b), SY_BUF_SIZE * 3);
	sy_buf_pool_stats(&fr, &us);
	ck_assert_uint_eq(us, used0);
	sy_buf_release(&b);

	/* A big printf grows the buffer. */
	ck_assert_int_eq(sy_buf_printf(&b, "%040000d", 1), 0);
	ck_assert_uint_eq(sy_buf_len(&b), 40000);
	ck_assert_int_eq(sy_buf_rpos(&b)[39999], '1');
	sy_buf_release(&b);
}
END_TEST

START_TEST(test_buf_compact)
{
	struct sy_buf b = { 0 };
	char big[SY_BUF_SIZE - 100];

	memset(big, 'z', sizeof(big));
	ck_assert_int_eq(sy_buf_append(&b, big, sizeof(big)), 0);
	sy_buf_consume(&b, sizeof(big) - 10);
	/* 200 more bytes fit only once the 10 left are moved to the front. */
	ck_assert_int_eq(sy_buf_reserve(&b, 200), 0);
	ck_assert_uint_eq(b.cap, SY_BUF_SIZE);
	ck_assert_uint_eq(b.start, 0);
	ck_assert_uint_eq(sy_buf_len(&b), 10);
	ck_assert(memcmp(sy_buf_rpos(&b), "zzzzzzzzzz", 10) == 0);
	sy_buf_release(&b);
}
END_TEST

/* ---- durations ------------------------------------------------------------- */

static const struct {
	const char *s;
	int64_t ms;
	const char *err;	/* NULL: valid */
} durations[] = {
	{ "0", 0, NULL },
	{ "0ms", 0, NULL },
	{ "0s", 0, NULL },
	{ "1ms", 1, NULL },
	{ "250ms", 250, NULL },
	{ "1500ms", 1500, NULL },
	{ "15s", 15000, NULL },
	{ "5m", 300000, NULL },
	{ "1h", 3600000, NULL },
	{ "2d", 172800000, NULL },
	{ "007s", 7000, NULL },
	{ "9223372036854775799ms", INT64_C(9223372036854775799), NULL },
	{ "106751991167d", INT64_C(106751991167) * 86400000, NULL },
	{ "", 0, "empty duration" },
	{ NULL, 0, "empty duration" },
	{ "s", 0, "duration must start with a number (e.g. \"15s\")" },
	{ "-1s", 0, "duration must start with a number (e.g. \"15s\")" },
	{ " 1s", 0, "duration must start with a number (e.g. \"15s\")" },
	{ "10", 0, "duration needs a unit: ms, s, m, h or d" },
	{ "5x", 0, "unknown duration unit (use ms, s, m, h or d)" },
	{ "5S", 0, "unknown duration unit (use ms, s, m, h or d)" },
	{ "5 s", 0, "unknown duration unit (use ms, s, m, h or d)" },
	{ "1.5s", 0, "unknown duration unit (use ms, s, m, h or d)" },
	{ "1s ", 0, "unknown duration unit (use ms, s, m, h or d)" },
	{ "1h30m", 0, "unknown duration unit (use ms, s, m, h or d)" },
	{ "9223372036854775808ms", 0, "duration too large" },
	{ "9223372036854775807d", 0, "duration too large" },
	{ "106751991168d", 0, "duration too large" },
};

START_TEST(test_duration_parse)
{
	int64_t ms = -42;
	const char *err = sy_duration_parse(durations[_i].s, &ms);

	if (durations[_i].err == NULL) {
		ck_assert_msg(err == NULL, "\"%s\": %s", durations[_i].s, err);
		ck_assert_int_eq(ms, durations[_i].ms);
	} else {
		ck_assert_ptr_nonnull(err);
		ck_assert_str_eq(err, durations[_i].err);
		ck_assert_int_eq(ms, -42);	/* untouched on error */
	}
}
END_TEST

static const struct {
	int64_t ms;
	const char *s;
} formats[] = {
	{ 0, "0s" }, { 1, "1ms" }, { 999, "999ms" }, { 1000, "1s" }, { 1500, "1500ms" },
	{ 30000, "30s" }, { 60000, "1m" }, { 90000, "90s" }, { 3600000, "1h" },
	{ 5400000, "90m" }, { 86400000, "1d" }, { 90000000, "25h" }, { 172800000, "2d" },
	{ 86400001, "86400001ms" },
};

START_TEST(test_duration_format)
{
	char out[32];
	int64_t back = -1;

	sy_duration_format(formats[_i].ms, out, sizeof(out));
	ck_assert_str_eq(out, formats[_i].s);
	/* Every formatted duration parses back to itself. */
	ck_assert_ptr_null(sy_duration_parse(out, &back));
	ck_assert_int_eq(back, formats[_i].ms);
}
END_TEST

START_TEST(test_duration_format_truncates)
{
	char out[4];

	sy_duration_format(1500, out, sizeof(out));
	ck_assert_str_eq(out, "150");
}
END_TEST

/* ---- strings ---------------------------------------------------------------- */

static const struct {
	const char *a, *b;
	bool eq;
} strieqs[] = {
	{ "", "", true }, { "host", "Host", true }, { "CONTENT-LENGTH", "content-length", true },
	{ "Upgrade", "upgradE", true }, { "a", "ab", false }, { "ab", "a", false },
	{ "a", "b", false }, { "h2c", "H2C", true }, { "x-1", "x-2", false },
	{ "\xc3\xa9", "\xc3\x89", false },	/* ASCII only: not é vs É */
};

START_TEST(test_strieq)
{
	ck_assert(sy_strieq(strieqs[_i].a, strieqs[_i].b) == strieqs[_i].eq);
	ck_assert(sy_strnieq(strieqs[_i].a, strlen(strieqs[_i].a), strieqs[_i].b, strlen(strieqs[_i].b)) ==
	    strieqs[_i].eq);
}
END_TEST

START_TEST(test_strnieq_lengths)
{
	ck_assert(sy_strnieq("Hostname", 4, "HOST", 4));
	ck_assert(!sy_strnieq("Hostname", 5, "HOST", 4));
	ck_assert(sy_strnieq("abc", 0, "xyz", 0));
	ck_assert(sy_strnieq("ab\0c", 4, "AB\0C", 4));
}
END_TEST

static const struct {
	const char *list;
	const char *token;
	bool has;
} tokens[] = {
	{ "upgrade", "upgrade", true },
	{ "Upgrade", "upgrade", true },
	{ "keep-alive, Upgrade", "upgrade", true },
	{ "keep-alive,upgrade", "UPGRADE", true },
	{ "  upgrade  ,  close ", "close", true },
	{ "\tupgrade\t", "upgrade", true },
	{ ", , ,upgrade,,", "upgrade", true },
	{ "keep-alive", "upgrade", false },
	{ "upgrade2", "upgrade", false },
	{ "xupgrade", "upgrade", false },
	{ "up grade", "upgrade", false },
	{ "up grade", "up grade", true },
	{ "", "upgrade", false },
	{ ",", "upgrade", false },
	{ "websocket, h2c", "h2c", true },
	{ "websocket, h2c", "h2", false },
};

START_TEST(test_token_list)
{
	ck_assert_msg(sy_token_list_has(tokens[_i].list, strlen(tokens[_i].list), tokens[_i].token) ==
	    tokens[_i].has, "\"%s\" has \"%s\"", tokens[_i].list, tokens[_i].token);
}
END_TEST

START_TEST(test_token_list_len)
{
	/* Only [v, v+len) is looked at. */
	ck_assert(!sy_token_list_has("upgrade", 3, "upgrade"));
	ck_assert(sy_token_list_has("upg,rade", 3, "upg"));
	ck_assert(sy_token_list_has("close, upgrade", 5, "close"));
	ck_assert(!sy_token_list_has("close, upgrade", 5, "upgrade"));
	ck_assert(!sy_token_list_has("", 0, ""));
}
END_TEST

/* ---- addresses -------------------------------------------------------------- */

static const struct {
	const char *in;
	int family;		/* 0: must be refused */
	const char *out;	/* sy_addr_format of the result */
	bool loopback;
} addrs[] = {
	{ "127.0.0.1:80", AF_INET, "127.0.0.1:80", true },
	{ "127.1.2.3:8080", AF_INET, "127.1.2.3:8080", true },
	{ "10.0.0.1:0", AF_INET, "10.0.0.1:0", false },
	{ "0.0.0.0:65535", AF_INET, "0.0.0.0:65535", false },
	{ "*:8080", AF_INET, "0.0.0.0:8080", false },
	{ "128.0.0.1:1", AF_INET, "128.0.0.1:1", false },
	{ "[::1]:8080", AF_INET6, "[::1]:8080", true },
	{ "[::]:443", AF_INET6, "[::]:443", false },
	{ "[2001:db8::1]:80", AF_INET6, "[2001:db8::1]:80", false },
	{ "[0:0:0:0:0:0:0:1]:80", AF_INET6, "[::1]:80", true },
	{ "[::ffff:127.0.0.1]:80", AF_INET6, "[::ffff:127.0.0.1]:80", false },
	{ "127.0.0.1:080", AF_INET, "127.0.0.1:80", true },
	{ "", 0, NULL, false },
	{ "127.0.0.1", 0, NULL, false },
	{ "127.0.0.1:", 0, NULL, false },
	{ "127.0.0.1:65536", 0, NULL, false },
	{ "127.0.0.1:-1", 0, NULL, false },
	{ "127.0.0.1:80x", 0, NULL, false },
	{ "127.0.0.1:8 0", 0, NULL, false },
	{ ":80", 0, NULL, false },
	{ "localhost:80", 0, NULL, false },
	{ "1.2.3:80", 0, NULL, false },
	{ "256.0.0.1:80", 0, NULL, false },
	{ "::1:80", 0, NULL, false },
	{ "[::1]80", 0, NULL, false },
	{ "[::1]", 0, NULL, false },
	{ "[::1]:", 0, NULL, false },
	{ "[]:80", 0, NULL, false },
	{ "[127.0.0.1]:80", 0, NULL, false },
	{ "[::1:80", 0, NULL, false },
	{ "[*]:80", 0, NULL, false },
};

START_TEST(test_addr)
{
	struct sockaddr_storage ss;
	unsigned len = 12345;
	char out[128];
	int rc;

	errno = 0;
	rc = sy_addr_parse(addrs[_i].in, &ss, &len);
	if (addrs[_i].family == 0) {
		ck_assert_msg(rc == -1, "\"%s\" accepted", addrs[_i].in);
		ck_assert_int_eq(errno, EINVAL);
		return;
	}
	ck_assert_msg(rc == 0, "\"%s\" refused", addrs[_i].in);
	ck_assert_int_eq(ss.ss_family, addrs[_i].family);
	ck_assert_uint_eq(len, addrs[_i].family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	sy_addr_format((struct sockaddr *)&ss, out, sizeof(out));
	ck_assert_str_eq(out, addrs[_i].out);
	ck_assert(sy_addr_is_loopback((struct sockaddr *)&ss) == addrs[_i].loopback);
	/* The formatted address parses back to the same bytes. */
	{
		struct sockaddr_storage ss2;
		unsigned len2;

		ck_assert_int_eq(sy_addr_parse(out, &ss2, &len2), 0);
		ck_assert_uint_eq(len2, len);
		ck_assert(memcmp(&ss, &ss2, len) == 0);
	}
}
END_TEST

START_TEST(test_addr_null_and_other_families)
{
	struct sockaddr_storage ss;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr sa = { .sa_family = AF_UNSPEC };
	unsigned len;
	char out[64];

	ck_assert_int_eq(sy_addr_parse(NULL, &ss, &len), -1);
	sy_addr_format((struct sockaddr *)&sun, out, sizeof(out));
	ck_assert_str_eq(out, "unix");
	ck_assert(!sy_addr_is_loopback((struct sockaddr *)&sun));
	sy_addr_format(&sa, out, sizeof(out));
	ck_assert_str_eq(out, "unknown");
	ck_assert(!sy_addr_is_loopback(&sa));
	/* Port in network order. */
	ck_assert_int_eq(sy_addr_parse("1.2.3.4:258", &ss, &len), 0);
	ck_assert_int_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 258);
	ck_assert_uint_eq(ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr), 0x01020304);
}
END_TEST

/* ---- time and fds --------------------------------------------------------------- */

START_TEST(test_time)
{
	int64_t a = sy_time_update(), b;

	ck_assert_int_gt(a, 0);
	ck_assert_int_eq(sy_now_ms(), a);	/* cached until the next update */
	b = sy_time_update();
	ck_assert_int_ge(b, a);
	ck_assert(sy_wallclock() > 1.6e9);
}
END_TEST

START_TEST(test_fd_helpers)
{
	char path[] = "/tmp/sy-core-XXXXXX", back[70000], big[70000];
	int fds[2], fd;
	size_t i;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(sy_fd_nonblock(fds[0]), 0);
	ck_assert(fcntl(fds[0], F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(sy_fd_cloexec(fds[1]), 0);
	ck_assert(fcntl(fds[1], F_GETFD) & FD_CLOEXEC);
	ck_assert(!(fcntl(fds[1], F_GETFL) & O_NONBLOCK));
	close(fds[0]);
	close(fds[1]);
	ck_assert_int_eq(sy_fd_nonblock(fds[0]), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(sy_fd_cloexec(-1), -1);

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(sy_write_all(fd, big, sizeof(big)), 0);
	ck_assert_int_eq(pread(fd, back, sizeof(back), 0), (int)sizeof(back));
	ck_assert(memcmp(big, back, sizeof(big)) == 0);
	close(fd);
	ck_assert_int_eq(sy_write_all(fd, "x", 1), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_arena_alloc);
	tcase_add_test(tc, test_arena_large);
	tcase_add_test(tc, test_arena_strings);
	tcase_add_test(tc, test_buf_append_consume);
	tcase_add_test(tc, test_buf_grow);
	tcase_add_test(tc, test_buf_compact);
	tcase_add_loop_test(tc, test_duration_parse, 0, (int)SY_ARRAY_LEN(durations));
	tcase_add_loop_test(tc, test_duration_format, 0, (int)SY_ARRAY_LEN(formats));
	tcase_add_test(tc, test_duration_format_truncates);
	tcase_add_loop_test(tc, test_strieq, 0, (int)SY_ARRAY_LEN(strieqs));
	tcase_add_test(tc, test_strnieq_lengths);
	tcase_add_loop_test(tc, test_token_list, 0, (int)SY_ARRAY_LEN(tokens));
	tcase_add_test(tc, test_token_list_len);
	tcase_add_loop_test(tc, test_addr, 0, (int)SY_ARRAY_LEN(addrs));
	tcase_add_test(tc, test_addr_null_and_other_families);
	tcase_add_test(tc, test_time);
	tcase_add_test(tc, test_fd_helpers);
	suite_add_tcase(s, tc);
	return s;
}

SY_UNIT_MAIN(make_suite)
