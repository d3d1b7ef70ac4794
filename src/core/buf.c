/*
 * buf.c - I/O buffers backed by a per-process pool of SY_BUF_SIZE blocks.
 * A buffer owns storage only while it holds bytes; sy_buf_release_if_empty
 * gives the block back, so idle connections cost no buffer memory.  Larger
 * needs (a big head being serialised) grow with realloc and are freed, not
 * pooled.  Not thread-safe: each process has its own pool.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "switchyard/core.h"

struct buf_free {
	struct buf_free *next;
};

static struct buf_free *buf_pool;
static size_t buf_pool_free, buf_pool_used;
/* Fewest free blocks since the last trim: what the load did not need. */
static size_t buf_pool_low;
/*
 * Blocks kept for reuse: as many as the load uses (up to the cap), so a
 * busy worker never allocates on the hot path; sy_buf_pool_trim gives
 * back, about once a second, what stayed unused, down to the floor, so
 * an idle worker (thousands of idle tunnels) holds little.  The blocks
 * are mmap-sized (sy_buf_pool_init): free() returns them to the system
 * instead of leaving a fragmented heap behind.
 */
#define BUF_POOL_KEEP_MIN 16
#define BUF_POOL_KEEP_MAX 1024

void
sy_buf_pool_trim(void)
{
	size_t excess = buf_pool_low > BUF_POOL_KEEP_MIN ? buf_pool_low - BUF_POOL_KEEP_MIN : 0;

	while (excess-- > 0 && buf_pool != NULL) {
		char *p = (char *)buf_pool;

		buf_pool = buf_pool->next;
		buf_pool_free--;
		free(p);
	}
	buf_pool_low = buf_pool_free;
}

void
sy_buf_pool_init(void)
{
	/* Serve SY_BUF_SIZE blocks with mmap: freeing them returns the memory. */
	mallopt(M_MMAP_THRESHOLD, SY_BUF_SIZE);
}

static char *
buf_block_get(void)
{
	char *p;

	if (buf_pool != NULL) {
		p = (char *)buf_pool;
		buf_pool = buf_pool->next;
		if (--buf_pool_free < buf_pool_low)
			buf_pool_low = buf_pool_free;
	} else if ((p = malloc(SY_BUF_SIZE)) == NULL) {
		return NULL;
	}
	buf_pool_used++;
	return p;
}

static void
buf_block_put(char *p)
{
	buf_pool_used--;
	if (buf_pool_free >= BUF_POOL_KEEP_MAX) {
		free(p);
		return;
	}
	((struct buf_free *)(void *)p)->next = buf_pool;
	buf_pool = (struct buf_free *)(void *)p;
	buf_pool_free++;
}

void
sy_buf_pool_stats(size_t *free_blocks, size_t *used_blocks)
{
	*free_blocks = buf_pool_free;
	*used_blocks = buf_pool_used;
}

int
sy_buf_reserve(struct sy_buf *b, size_t n)
{
	size_t len, need;
	char *p;

	if (b->data == NULL) {
		if (n <= SY_BUF_SIZE) {
			if ((b->data = buf_block_get()) == NULL)
				goto nomem;
			b->cap = SY_BUF_SIZE;
		} else {
			if ((b->data = malloc(n)) == NULL)
				goto nomem;
			b->cap = n;
		}
		b->start = b->end = 0;
		return 0;
	}
	if (b->cap - b->end >= n)
		return 0;
	len = b->end - b->start;
	if (b->start > 0 && b->cap - len >= n) {
		memmove(b->data, b->data + b->start, len);
		b->start = 0;
		b->end = len;
		return 0;
	}
	need = len + n;
	if (need < b->cap * 2)
		need = b->cap * 2;
	if (b->cap == SY_BUF_SIZE) {
		/* Leave the pool: copy out of the pooled block. */
		if ((p = malloc(need)) == NULL)
			goto nomem;
		memcpy(p, b->data + b->start, len);
		buf_block_put(b->data);
	} else {
		if (b->start > 0) {
			memmove(b->data, b->data + b->start, len);
		}
		if ((p = realloc(b->data, need)) == NULL)
			goto nomem;
	}
	b->data = p;
	b->cap = need;
	b->start = 0;
	b->end = len;
	return 0;
nomem:
	errno = ENOMEM;
	return -1;
}

int
sy_buf_append(struct sy_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (sy_buf_reserve(b, n) == -1)
		return -1;
	memcpy(b->data + b->end, p, n);
	b->end += n;
	return 0;
}

int
sy_buf_printf(struct sy_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if (sy_buf_reserve(b, (size_t)n + 1) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->end, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->end += (size_t)n;
	return 0;
}

void
sy_buf_consume(struct sy_buf *b, size_t n)
{
	b->start += n;
	if (b->start >= b->end)
		b->start = b->end = 0;
}

void
sy_buf_release(struct sy_buf *b)
{
	if (b->data != NULL) {
		if (b->cap == SY_BUF_SIZE)
			buf_block_put(b->data);
		else
			free(b->data);
	}
	b->data = NULL;
	b->start = b->end = b->cap = 0;
}

bool
sy_buf_release_if_empty(struct sy_buf *b)
{
	if (b->data != NULL && b->start == b->end)
		sy_buf_release(b);
	return b->data == NULL;
}
