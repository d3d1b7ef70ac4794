/*
 * unit_msg.h - message helpers shared by the suites that work on heads
 * (test_upgrade.c, test_http2.c): build a struct sy_msg from readable
 * "name: value" lines, and print a header list back as "name=value;".
 * Include after unit.h.
 */
#ifndef SWITCHYARD_UNIT_MSG_H
#define SWITCHYARD_UNIT_MSG_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchyard/http.h"

/*
 * A message in arena from "name: value" lines separated by '\n'
 * (pseudo-headers too: ":method: GET").  ":status" also sets m->status.
 */
static inline struct sy_msg *
unit_msg(struct sy_arena *arena, const char *lines)
{
	struct sy_msg *m = sy_arena_alloc(arena, sizeof(*m));
	const char *p = lines;

	ck_assert_ptr_nonnull(m);
	sy_msg_init(m, arena);
	while (*p != '\0') {
		const char *nl = strchr(p, '\n'), *end = nl != NULL ? nl : p + strlen(p);
		const char *sep = NULL, *q;

		for (q = p + 1; q + 1 < end; q++) {
			if (q[0] == ':' && q[1] == ' ') {
				sep = q;
				break;
			}
		}
		ck_assert_msg(sep != NULL, "bad test line in \"%s\"", lines);
		ck_assert_int_eq(sy_headers_add(&m->headers, p, (size_t)(sep - p),
		    sep + 2, (size_t)(end - sep - 2)), 0);
		if (strncmp(p, ":status", 7) == 0 && sep == p + 7)
			m->status = atoi(sep + 2);
		p = nl != NULL ? nl + 1 : end;
	}
	return m;
}

/* "name=value;" for every header, in order (two rotating buffers). */
static inline const char *
unit_headers_dump(const struct sy_headers *h)
{
	static char out[2][8192];
	static int which;
	char *o = out[which ^= 1];
	size_t off = 0;
	uint32_t i;

	o[0] = '\0';
	for (i = 0; i < h->n; i++)
		off += (size_t)snprintf(o + off, sizeof(out[0]) - off, "%s=%s;",
		    h->v[i].name, h->v[i].value);
	return o;
}

#endif
