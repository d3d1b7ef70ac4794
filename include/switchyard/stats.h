/*
 * stats.h - counters and gauges in one shared-memory segment.
 *
 * Layout (no pointers, only offsets): a header, a table of names, then
 * one row of int64 values per slot.  Slot 0 belongs to the master, slot 1
 * holds the retired totals of dead workers, slots 2.. belong to workers.
 * Each process writes only its own row with relaxed atomics; readers sum
 * every row.  Only the master registers names, before forking, so workers
 * never see the name table change under them.  A scope instance (server,
 * listener.<address>, http.<prefix>) occupies consecutive indices starting
 * at its base; the same full name keeps its index across reloads.
 */
#ifndef SWITCHYARD_STATS_H
#define SWITCHYARD_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchyard/stats_defs.h"

#define SY_STATS_NAME_MAX 160
#define SY_STATS_SLOT_MASTER 0
#define SY_STATS_SLOT_RETIRED 1
#define SY_STATS_SLOT_FIRST_WORKER 2

struct sy_shm_stat_name {
	char name[SY_STATS_NAME_MAX];	/* full name, NUL-terminated */
	uint16_t scope;			/* enum sy_stats_scope */
	uint16_t label_len;		/* length of the scope's label inside name */
	uint16_t label_off;		/* offset of the label inside name */
	uint16_t stat;			/* index inside the scope's table */
	uint8_t type;			/* enum sy_stat_type */
};

struct sy_shm_stats_header {
	uint32_t magic;
	uint32_t version;
	uint32_t max_stats;
	uint32_t nslots;
	uint32_t nstats;		/* registered so far (master writes) */
	uint32_t pad;
	int64_t start_time;		/* wall clock of master start, seconds */
	/* followed by: struct sy_shm_stat_name names[max_stats];
	 *              int64_t values[nslots][max_stats]; */
};

/*
 * Master, before the first fork: map an anonymous shared segment.  0, or
 * -1 with EINVAL (max_stats 0, nslots < 2), EBUSY (already attached) or
 * mmap's errno.  This process then writes slot 0.
 */
int sy_stats_attach_new(uint32_t max_stats, uint32_t nslots);
/* Tests: unmap. */
void sy_stats_detach(void);
uint32_t sy_stats_nslots(void);
uint32_t sy_stats_count(void);

/*
 * Register a scope instance (master only) and return its base index, or
 * UINT32_MAX with errno ENOSPC when the table is full (ENAMETOOLONG when
 * a name would not fit).  label is the address, stat prefix or cluster
 * name (NULL for the server scope); the upgrade, HTTP/2 and TLS scopes
 * take "<stat_prefix>.upgrades.<type>", "<stat_prefix>.http2",
 * "<name>.http2", "<address>.ssl" and "<name>.ssl".  Idempotent: the same scope and label return the
 * same base every time.  On failure the caller must not add
 * offsets to the result (UINT32_MAX + n wraps to a real index): the
 * master refuses the configuration instead.
 */
uint32_t sy_stats_register(enum sy_stats_scope scope, const char *label);

/* Choose the row this process writes (workers, after fork). */
void sy_stats_use_slot(uint32_t slot);
uint32_t sy_stats_current_slot(void);

/* Hot path: relaxed atomic add in this process's row. */
void sy_stat_add(uint32_t idx, int64_t v);
static inline void sy_stat_inc(uint32_t idx) { sy_stat_add(idx, 1); }
static inline void sy_stat_dec(uint32_t idx) { sy_stat_add(idx, -1); }
/* Store into this process's row (master-owned gauges like server.workers). */
void sy_stat_set(uint32_t idx, int64_t v);

/* Sum over every row. */
int64_t sy_stats_read(uint32_t idx);
/* Read one slot's value (tests, admin). */
int64_t sy_stats_read_slot(uint32_t slot, uint32_t idx);
const struct sy_shm_stat_name *sy_stats_name(uint32_t idx);
/* Index of a full name, or UINT32_MAX. */
uint32_t sy_stats_find(const char *name);

/*
 * Master, after reaping the worker that owned slot: add its counters to
 * the retired row, zero its gauges, zero the row.  Totals never go back.
 */
void sy_stats_retire_slot(uint32_t slot);
/*
 * Master: make every counter read 0 from now on (admin /reset_counters).
 * Workers' rows are theirs, so the reset adds minus each counter's current
 * sum to the master row (slot 0): the master row of a counter may then be
 * negative, and only sums are meaningful.  Gauges are left alone.
 */
void sy_stats_reset_counters(void);

/* Help text and type of a stat in its scope table. */
const char *sy_stats_help(enum sy_stats_scope scope, unsigned stat);
const char *sy_stats_scope_name(enum sy_stats_scope scope);
/* Print every stat template ("http.<stat_prefix>.downstream_cx_total"). */
void sy_stats_print_templates(void *stdio_file);

/* Number of stats in a scope's table; its short names and types. */
unsigned sy_stats_scope_size(enum sy_stats_scope scope);
const char *sy_stats_stat_name(enum sy_stats_scope scope, unsigned stat);
/* enum sy_stat_type, or -1 when out of range. */
int sy_stats_type(enum sy_stats_scope scope, unsigned stat);
/* "counter" or "gauge". */
const char *sy_stats_type_name(int type);

/*
 * Where the parts of a segment lie, as byte offsets from its start: the
 * names at names_off, row s of values at values_off + s * row_size
 * (values_off is 64-byte aligned).  0, or -1 (EINVAL) for sizes
 * sy_stats_attach_new would refuse.
 */
struct sy_stats_layout {
	size_t names_off;
	size_t values_off;
	size_t row_size;
	size_t size;
};
int sy_stats_layout(uint32_t max_stats, uint32_t nslots, struct sy_stats_layout *l);
/* The mapped segment and its size (tests, debugging); NULL when detached. */
const void *sy_stats_segment(size_t *size);
bool sy_stats_attached(void);
/* Capacity of the name table. */
uint32_t sy_stats_max(void);
/* Wall-clock start time recorded by sy_stats_attach_new, in seconds. */
int64_t sy_stats_start_time(void);

#endif
