/*
 * arena.c - bump allocation in chunks, freed all at once.  Config memory
 * uses one arena per generation and stream memory one per stream, so hot
 * paths never free individually.  Large requests get a chunk of their own.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchyard/core.h"

struct sy_arena_chunk {
	struct sy_arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

#define ARENA_ALIGN (sizeof(max_align_t))

void
sy_arena_init(struct sy_arena *a, size_t chunk_size)
{
	a->head = NULL;
	a->chunk_size = chunk_size ? chunk_size : 4096;
	a->total = 0;
}

void
sy_arena_fini(struct sy_arena *a)
{
	struct sy_arena_chunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
	a->total = 0;
}

void *
sy_arena_alloc(struct sy_arena *a, size_t n)
{
	struct sy_arena_chunk *c = a->head;
	size_t need = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	void *p;

	if (need == 0)
		need = ARENA_ALIGN;
	if (c == NULL || c->size - c->used < need) {
		size_t size = need > a->chunk_size / 2 ? need : a->chunk_size;

		c = malloc(sizeof(*c) + size);
		if (c == NULL)
			return NULL;
		c->size = size;
		c->used = 0;
		if (size == need && a->head != NULL) {
			/* Oversized: keep the current chunk in front for small requests. */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += need;
	a->total += n;
	return p;
}

void *
sy_arena_calloc(struct sy_arena *a, size_t n)
{
	void *p = sy_arena_alloc(a, n);

	if (p != NULL)
		memset(p, 0, n);
	return p;
}

char *
sy_arena_strndup(struct sy_arena *a, const char *s, size_t n)
{
	char *p = sy_arena_alloc(a, n + 1);

	if (p == NULL)
		return NULL;
	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
sy_arena_strdup(struct sy_arena *a, const char *s)
{
	return sy_arena_strndup(a, s, strlen(s));
}

char *
sy_arena_printf(struct sy_arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = sy_arena_alloc(a, (size_t)n + 1);
	if (p == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
