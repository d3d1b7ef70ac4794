/*
 * core.h - the bottom layer: result codes, arenas, byte buffers, monotonic
 * time, durations and small string helpers.  Nothing here knows about HTTP,
 * configuration or processes; every other module may include it.
 */
#ifndef SWITCHYARD_CORE_H
#define SWITCHYARD_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Result codes for event code (helpers return 0/-1 with errno instead). */
enum sy_rc {
	SY_OK = 0,
	SY_AGAIN = 1,	/* would block / need more input */
	SY_DONE = 2,	/* finished, nothing more to do */
	SY_ERROR = -1
};

#define SY_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SY_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SY_MAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * Arena: many allocations freed together.  Config memory lives in one
 * arena per generation, stream memory in one arena per stream.  Allocation
 * never fails silently: sy_arena_alloc returns NULL only when malloc does.
 */
struct sy_arena_chunk;
struct sy_arena {
	struct sy_arena_chunk *head;
	size_t chunk_size;
	size_t total;		/* bytes handed out, for accounting */
};

void sy_arena_init(struct sy_arena *a, size_t chunk_size);
void sy_arena_fini(struct sy_arena *a);
void *sy_arena_alloc(struct sy_arena *a, size_t n);
void *sy_arena_calloc(struct sy_arena *a, size_t n);
char *sy_arena_strndup(struct sy_arena *a, const char *s, size_t n);
char *sy_arena_strdup(struct sy_arena *a, const char *s);
char *sy_arena_printf(struct sy_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Byte buffer: [data+start, data+end) is readable, [data+end, data+cap)
 * writable.  Storage is taken lazily from a per-process pool and returned
 * when the buffer empties (sy_buf_release), so an idle connection holds none.
 */
struct sy_buf {
	char *data;
	size_t start, end, cap;
};

#define SY_BUF_SIZE 32768

static inline size_t sy_buf_len(const struct sy_buf *b) { return b->end - b->start; }
static inline char *sy_buf_rpos(const struct sy_buf *b) { return b->data + b->start; }
static inline char *sy_buf_wpos(const struct sy_buf *b) { return b->data + b->end; }
static inline size_t sy_buf_room(const struct sy_buf *b) { return b->cap - b->end; }

/* Ensure at least n writable bytes (grows or compacts); 0 or -1 (ENOMEM). */
int sy_buf_reserve(struct sy_buf *b, size_t n);
int sy_buf_append(struct sy_buf *b, const void *p, size_t n);
int sy_buf_printf(struct sy_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sy_buf_consume(struct sy_buf *b, size_t n);
/* Give the storage back to the pool (whatever it holds is dropped). */
void sy_buf_release(struct sy_buf *b);
/* Release only when empty; returns true when the buffer holds no storage. */
bool sy_buf_release_if_empty(struct sy_buf *b);
/* Number of pooled free blocks and blocks in use, for tests and stats. */
void sy_buf_pool_stats(size_t *free_blocks, size_t *used_blocks);
/* Worker start: make buffer blocks come from mmap (returned on free). */
void sy_buf_pool_init(void);
/* About once a second: free the pooled blocks the last period did not use. */
void sy_buf_pool_trim(void);

/* Monotonic milliseconds, cached per loop iteration (sy_time_update). */
int64_t sy_now_ms(void);
int64_t sy_time_update(void);
/* Wall-clock seconds with fraction, for logs. */
double sy_wallclock(void);

/*
 * Durations: "250ms", "15s", "5m", "1h", "2d", or "0".  Returns NULL and
 * stores milliseconds, or a static error string.
 */
const char *sy_duration_parse(const char *s, int64_t *ms);
/* Formats ms back into the shortest exact unit ("1500ms", "30s"). */
void sy_duration_format(int64_t ms, char *out, size_t outlen);

/* Case-insensitive comparisons of ASCII. */
bool sy_strieq(const char *a, const char *b);
bool sy_strnieq(const char *a, size_t alen, const char *b, size_t blen);
/* Does the comma-separated list [v, v+len) contain token (case-insensitive)? */
bool sy_token_list_has(const char *v, size_t len, const char *token);

/* Parse "1.2.3.4:80", "[::1]:80", "*:80"; 0 or -1.  Only numeric hosts. */
struct sockaddr_storage;
struct sockaddr;
int sy_addr_parse(const char *s, struct sockaddr_storage *ss, unsigned *sslen);
/* "127.0.0.1:8080" / "[::1]:8080" */
void sy_addr_format(const struct sockaddr *sa, char *out, size_t outlen);
bool sy_addr_is_loopback(const struct sockaddr *sa);

/* Full write of a small buffer to a blocking fd (used for pid files). */
int sy_write_all(int fd, const void *p, size_t n);
/* sigaction(sig) with an empty mask; fn may be SIG_IGN or SIG_DFL. */
void sy_signal_set(int sig, void (*fn)(int), int flags);
/* Set O_NONBLOCK and FD_CLOEXEC. */
int sy_fd_nonblock(int fd);
int sy_fd_cloexec(int fd);

#endif
