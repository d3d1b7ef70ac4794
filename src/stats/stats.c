/*
 * stats.c - the shared-memory statistics segment.  The master maps one
 * anonymous MAP_SHARED segment before the first fork; every worker inherits
 * it.  The segment holds a header, a table of max_stats names and nslots
 * rows of max_stats int64 values, all addressed by offsets from the start
 * of the segment, never by pointers (the segment is the same mapping in
 * every process, but nothing in it may depend on that).  Each process adds
 * only to its own row with relaxed atomics and readers sum every row, so
 * the hot path is one uncontended atomic add and no lock.  Only the master
 * registers names, before forking a generation, and it publishes a new
 * name with a release store of nstats so a reader never sees a half-written
 * entry.  Counters never go backwards: a dead worker's counters are folded
 * into the retired row before its row is zeroed, and a reset is an offset
 * in the master row rather than a write into other processes' rows.
 * Formatting for the admin interface lives in src/admin/, not here.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "switchyard/stats.h"

#define STATS_MAGIC 0x53595354u	/* "SYST" */
#define STATS_VERSION 1u
#define STATS_MAX_STATS (1u << 20)
#define STATS_MAX_SLOTS 4096u
#define STATS_ALIGN 64u

/* One entry of a scope's declaration table (stats_defs.h). */
struct stats_def {
	const char *name;
	const char *help;
	enum sy_stat_type type;
};

#define STATS_DEF_(t, n, h) { #n, h, SY_STAT_##t },
static const struct stats_def stats_server_defs[] = { SY_STATS_SERVER(STATS_DEF_) };
static const struct stats_def stats_listener_defs[] = { SY_STATS_LISTENER(STATS_DEF_) };
static const struct stats_def stats_http_defs[] = { SY_STATS_HTTP(STATS_DEF_) };
static const struct stats_def stats_upgrade_defs[] = { SY_STATS_UPGRADE(STATS_DEF_) };
static const struct stats_def stats_cluster_defs[] = { SY_STATS_CLUSTER(STATS_DEF_) };
static const struct stats_def stats_h2_defs[] = { SY_STATS_HTTP2(STATS_DEF_) };
static const struct stats_def stats_ssl_defs[] = { SY_STATS_SSL(STATS_DEF_) };
#undef STATS_DEF_

static const struct {
	const char *name;		/* first component of a full name */
	const char *placeholder;	/* label in templates, NULL for none */
	const struct stats_def *defs;
	unsigned n;
} stats_scopes[SY_SCOPE__N] = {
	[SY_SCOPE_SERVER] = { "server", NULL, stats_server_defs, SY_STAT_SERVER__N },
	[SY_SCOPE_LISTENER] = { "listener", "<address>", stats_listener_defs, SY_STAT_LISTENER__N },
	/* listener.<address>.ssl.<stat>: the label ends with ".ssl". */
	[SY_SCOPE_LISTENER_SSL] = { "listener", "<address>.ssl", stats_ssl_defs, SY_STAT_SSL__N },
	[SY_SCOPE_HTTP] = { "http", "<stat_prefix>", stats_http_defs, SY_STAT_HTTP__N },
	/* http.<stat_prefix>.http2.<stat>: the label ends with ".http2". */
	[SY_SCOPE_HTTP2] = { "http", "<stat_prefix>.http2", stats_h2_defs, SY_STAT_H2__N },
	/* Full names http.<stat_prefix>.upgrades.<type>.<stat>: the label carries the middle. */
	[SY_SCOPE_UPGRADE] = { "http", "<stat_prefix>.upgrades.<type>", stats_upgrade_defs,
	    SY_STAT_UPGRADE__N },
	[SY_SCOPE_CLUSTER] = { "cluster", "<name>", stats_cluster_defs, SY_STAT_CLUSTER__N },
	[SY_SCOPE_CLUSTER_HTTP2] = { "cluster", "<name>.http2", stats_h2_defs, SY_STAT_H2__N },
	[SY_SCOPE_CLUSTER_SSL] = { "cluster", "<name>.ssl", stats_ssl_defs, SY_STAT_SSL__N },
};

/* This process's view of the segment; inherited across fork. */
static struct {
	void *base;
	size_t size;
	struct sy_shm_stats_header *hdr;
	struct sy_shm_stat_name *names;
	int64_t *values;	/* row 0; row s starts at values + s * max_stats */
	int64_t *row;		/* the row this process writes */
	uint32_t max_stats;
	uint32_t nslots;
	uint32_t slot;
} stats;

static size_t
stats_align(size_t n)
{
	return (n + STATS_ALIGN - 1) & ~(size_t)(STATS_ALIGN - 1);
}

int
sy_stats_layout(uint32_t max_stats, uint32_t nslots, struct sy_stats_layout *l)
{
	if (max_stats == 0 || max_stats > STATS_MAX_STATS ||
	    nslots < SY_STATS_SLOT_FIRST_WORKER || nslots > STATS_MAX_SLOTS) {
		errno = EINVAL;
		return -1;
	}
	l->names_off = sizeof(struct sy_shm_stats_header);
	l->values_off = stats_align(l->names_off +
	    (size_t)max_stats * sizeof(struct sy_shm_stat_name));
	l->row_size = (size_t)max_stats * sizeof(int64_t);
	l->size = l->values_off + (size_t)nslots * l->row_size;
	return 0;
}

int
sy_stats_attach_new(uint32_t max_stats, uint32_t nslots)
{
	struct sy_stats_layout l;
	void *p;

	if (stats.base != NULL) {
		errno = EBUSY;
		return -1;
	}
	if (sy_stats_layout(max_stats, nslots, &l) == -1)
		return -1;
	p = mmap(NULL, l.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	/* Anonymous mappings are zero-filled: every value starts at 0. */
	stats.base = p;
	stats.size = l.size;
	stats.hdr = p;
	stats.names = (struct sy_shm_stat_name *)((char *)p + l.names_off);
	stats.values = (int64_t *)(void *)((char *)p + l.values_off);
	stats.max_stats = max_stats;
	stats.nslots = nslots;
	stats.slot = SY_STATS_SLOT_MASTER;
	stats.row = stats.values;

	stats.hdr->magic = STATS_MAGIC;
	stats.hdr->version = STATS_VERSION;
	stats.hdr->max_stats = max_stats;
	stats.hdr->nslots = nslots;
	stats.hdr->nstats = 0;
	stats.hdr->start_time = (int64_t)time(NULL);
	return 0;
}

void
sy_stats_detach(void)
{
	if (stats.base != NULL)
		munmap(stats.base, stats.size);
	memset(&stats, 0, sizeof(stats));
}

bool
sy_stats_attached(void)
{
	return stats.base != NULL;
}

const void *
sy_stats_segment(size_t *size)
{
	if (size != NULL)
		*size = stats.size;
	return stats.base;
}

uint32_t
sy_stats_nslots(void)
{
	return stats.nslots;
}

uint32_t
sy_stats_max(void)
{
	return stats.max_stats;
}

uint32_t
sy_stats_count(void)
{
	if (stats.hdr == NULL)
		return 0;
	return __atomic_load_n(&stats.hdr->nstats, __ATOMIC_ACQUIRE);
}

int64_t
sy_stats_start_time(void)
{
	return stats.hdr != NULL ? stats.hdr->start_time : 0;
}

static int
stats_format_name(char *out, size_t outlen, enum sy_stats_scope scope,
    const char *label, const char *stat)
{
	int n;

	if (label != NULL)
		n = snprintf(out, outlen, "%s.%s.%s", stats_scopes[scope].name, label, stat);
	else
		n = snprintf(out, outlen, "%s.%s", stats_scopes[scope].name, stat);
	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

uint32_t
sy_stats_register(enum sy_stats_scope scope, const char *label)
{
	const struct stats_def *defs;
	char first[SY_STATS_NAME_MAX];
	uint32_t base, idx, n, i;
	size_t label_len;

	if (stats.hdr == NULL || (unsigned)scope >= SY_SCOPE__N) {
		errno = EINVAL;
		return UINT32_MAX;
	}
	if (scope == SY_SCOPE_SERVER)
		label = NULL;
	else if (label == NULL || label[0] == '\0') {
		errno = EINVAL;
		return UINT32_MAX;
	}
	defs = stats_scopes[scope].defs;
	n = stats_scopes[scope].n;

	/*
	 * A scope instance is registered as one block, so its first name is
	 * enough to find it again; this keeps an index stable across reloads.
	 */
	if (stats_format_name(first, sizeof(first), scope, label, defs[0].name) == -1)
		return UINT32_MAX;
	idx = sy_stats_find(first);
	if (idx != UINT32_MAX)
		return idx;

	base = stats.hdr->nstats;
	if (n > stats.max_stats - base) {
		errno = ENOSPC;
		return UINT32_MAX;
	}
	label_len = label != NULL ? strlen(label) : 0;
	/* Check every name fits before writing any of them. */
	for (i = 0; i < n; i++) {
		struct sy_shm_stat_name *e = &stats.names[base + i];

		if (stats_format_name(e->name, sizeof(e->name), scope, label, defs[i].name) == -1) {
			memset(&stats.names[base], 0, (size_t)(i + 1) * sizeof(*e));
			return UINT32_MAX;
		}
		e->scope = (uint16_t)scope;
		e->label_off = (uint16_t)(label != NULL ? strlen(stats_scopes[scope].name) + 1 : 0);
		e->label_len = (uint16_t)label_len;
		e->stat = (uint16_t)i;
		e->type = (uint8_t)defs[i].type;
	}
	/* Publish: readers load nstats with acquire before touching names. */
	__atomic_store_n(&stats.hdr->nstats, base + n, __ATOMIC_RELEASE);
	return base;
}

void
sy_stats_use_slot(uint32_t slot)
{
	if (stats.base == NULL || slot >= stats.nslots)
		return;
	stats.slot = slot;
	stats.row = stats.values + (size_t)slot * stats.max_stats;
}

uint32_t
sy_stats_current_slot(void)
{
	return stats.slot;
}

void
sy_stat_add(uint32_t idx, int64_t v)
{
	/* Unregistered (UINT32_MAX) or no segment (tools, tests): ignore. */
	if (idx >= stats.max_stats)
		return;
	__atomic_fetch_add(&stats.row[idx], v, __ATOMIC_RELAXED);
}

void
sy_stat_set(uint32_t idx, int64_t v)
{
	if (idx >= stats.max_stats)
		return;
	__atomic_store_n(&stats.row[idx], v, __ATOMIC_RELAXED);
}

static int64_t *
stats_cell(uint32_t slot, uint32_t idx)
{
	return &stats.values[(size_t)slot * stats.max_stats + idx];
}

int64_t
sy_stats_read_slot(uint32_t slot, uint32_t idx)
{
	if (idx >= stats.max_stats || slot >= stats.nslots)
		return 0;
	return __atomic_load_n(stats_cell(slot, idx), __ATOMIC_RELAXED);
}

int64_t
sy_stats_read(uint32_t idx)
{
	int64_t sum = 0;
	uint32_t s;

	if (idx >= stats.max_stats)
		return 0;
	for (s = 0; s < stats.nslots; s++)
		sum += __atomic_load_n(stats_cell(s, idx), __ATOMIC_RELAXED);
	return sum;
}

const struct sy_shm_stat_name *
sy_stats_name(uint32_t idx)
{
	if (idx >= sy_stats_count())
		return NULL;
	return &stats.names[idx];
}

uint32_t
sy_stats_find(const char *name)
{
	uint32_t i, n = sy_stats_count();

	for (i = 0; i < n; i++)
		if (strcmp(stats.names[i].name, name) == 0)
			return i;
	return UINT32_MAX;
}

void
sy_stats_retire_slot(uint32_t slot)
{
	uint32_t i, n = sy_stats_count();

	if (slot == SY_STATS_SLOT_RETIRED || slot >= stats.nslots)
		return;
	/*
	 * Add to the retired row first, then zero: a concurrent reader may
	 * briefly count the value twice, but never sees a counter go down.
	 */
	for (i = 0; i < n; i++) {
		int64_t *cell = stats_cell(slot, i);
		int64_t v = __atomic_load_n(cell, __ATOMIC_RELAXED);

		if (stats.names[i].type == SY_STAT_COUNTER && v != 0)
			__atomic_fetch_add(stats_cell(SY_STATS_SLOT_RETIRED, i), v, __ATOMIC_RELAXED);
		__atomic_store_n(cell, 0, __ATOMIC_RELAXED);
	}
}

/*
 * A reset cannot zero the rows of live workers (they own them), so it adds
 * minus the current sum of each counter to the master row: the sum reads 0
 * and later increments count up from there.  The master row's own value of
 * a counter may therefore be negative; only the sum over all rows means
 * anything.  Increments racing with the reset are kept, never lost.
 */
void
sy_stats_reset_counters(void)
{
	uint32_t i, n = sy_stats_count();

	for (i = 0; i < n; i++) {
		if (stats.names[i].type != SY_STAT_COUNTER)
			continue;
		__atomic_fetch_add(stats_cell(SY_STATS_SLOT_MASTER, i), -sy_stats_read(i),
		    __ATOMIC_RELAXED);
	}
}

unsigned
sy_stats_scope_size(enum sy_stats_scope scope)
{
	return (unsigned)scope < SY_SCOPE__N ? stats_scopes[scope].n : 0;
}

const char *
sy_stats_stat_name(enum sy_stats_scope scope, unsigned stat)
{
	if ((unsigned)scope >= SY_SCOPE__N || stat >= stats_scopes[scope].n)
		return NULL;
	return stats_scopes[scope].defs[stat].name;
}

int
sy_stats_type(enum sy_stats_scope scope, unsigned stat)
{
	if ((unsigned)scope >= SY_SCOPE__N || stat >= stats_scopes[scope].n)
		return -1;
	return (int)stats_scopes[scope].defs[stat].type;
}

const char *
sy_stats_help(enum sy_stats_scope scope, unsigned stat)
{
	if ((unsigned)scope >= SY_SCOPE__N || stat >= stats_scopes[scope].n)
		return NULL;
	return stats_scopes[scope].defs[stat].help;
}

const char *
sy_stats_scope_name(enum sy_stats_scope scope)
{
	return (unsigned)scope < SY_SCOPE__N ? stats_scopes[scope].name : NULL;
}

const char *
sy_stats_type_name(int type)
{
	return type == SY_STAT_GAUGE ? "gauge" : "counter";
}

void
sy_stats_print_templates(void *stdio_file)
{
	FILE *fp = stdio_file;
	unsigned s, i;

	for (s = 0; s < SY_SCOPE__N; s++) {
		for (i = 0; i < stats_scopes[s].n; i++) {
			const struct stats_def *d = &stats_scopes[s].defs[i];

			if (stats_scopes[s].placeholder != NULL)
				fprintf(fp, "%s.%s.%s\t%s\t%s\n", stats_scopes[s].name,
				    stats_scopes[s].placeholder, d->name,
				    sy_stats_type_name(d->type), d->help);
			else
				fprintf(fp, "%s.%s\t%s\t%s\n", stats_scopes[s].name, d->name,
				    sy_stats_type_name(d->type), d->help);
		}
	}
}
