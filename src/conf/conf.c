/*
 * conf.c - loading a configuration generation: read the libconfig file (or
 * string), hand the tree to the table walker (conf_parse.c), and return a
 * complete struct sy_conf or NULL with every error collected.  Also the
 * error list, --list-keys, the restart-only comparison used on reload,
 * and the hooks through which a layer above (src/tls/) loads what the
 * config names (certificates) and releases it.  What is deliberately not
 * here: the list of keys (conf_keys.c), rules between keys (conf_check.c)
 * and the JSON dump (conf_dump.c).  A loaded config is never modified
 * except by the loaded hook, before sy_conf_load returns it; all of its
 * memory lives in its arena, except the compiled regexes, which
 * sy_conf_free releases, and what the hooks own.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "switchyard/log.h"
#include "conf_int.h"

#define CONF_ARENA_CHUNK 16384

/* Set once by the program's main (src/tls/ builds its contexts there). */
static struct sy_conf_hooks conf_hooks;

static void conf_destroy(struct sy_conf *c);

void
sy_conf_set_hooks(const struct sy_conf_hooks *hooks)
{
	if (hooks != NULL)
		conf_hooks = *hooks;
	else
		memset(&conf_hooks, 0, sizeof(conf_hooks));
}

void
sy_conf_errors_init(struct sy_conf_errors *e)
{
	e->v = NULL;
	e->n = e->cap = 0;
	sy_arena_init(&e->arena, 4096);
}

void
sy_conf_errors_fini(struct sy_conf_errors *e)
{
	free(e->v);
	e->v = NULL;
	e->n = e->cap = 0;
	sy_arena_fini(&e->arena);
}

int
sy_conf_errors_add(struct sy_conf_errors *e, const char *file, int line, const char *fmt, ...)
{
	struct sy_conf_error *v;
	char msg[1024];
	va_list ap;

	if (e->n == e->cap) {
		unsigned cap = e->cap ? e->cap * 2 : 16;

		if ((v = realloc(e->v, cap * sizeof(*v))) == NULL)
			goto nomem;
		e->v = v;
		e->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v = &e->v[e->n];
	v->line = line;
	v->file = sy_arena_strdup(&e->arena, file != NULL ? file : "-");
	v->msg = sy_arena_strdup(&e->arena, msg);
	if (v->file == NULL || v->msg == NULL)
		goto nomem;
	e->n++;
	return 0;
nomem:
	errno = ENOMEM;
	return -1;
}

void
sy_conf_errors_print(const struct sy_conf_errors *e, void *stdio_file)
{
	FILE *f = stdio_file;
	unsigned i;

	for (i = 0; i < e->n; i++) {
		if (e->v[i].line > 0)
			fprintf(f, "%s:%d: %s\n", e->v[i].file, e->v[i].line, e->v[i].msg);
		else
			fprintf(f, "%s: %s\n", e->v[i].file, e->v[i].msg);
	}
}

void
sy_conf_errors_log(const struct sy_conf_errors *e, int level)
{
	unsigned i;

	for (i = 0; i < e->n; i++) {
		if (e->v[i].line > 0)
			sy_log(level, "%s:%d: %s", e->v[i].file, e->v[i].line, e->v[i].msg);
		else
			sy_log(level, "%s: %s", e->v[i].file, e->v[i].msg);
	}
}

/*
 * Errors come out in walk order (checks after the keys they look at);
 * present them in file order instead.  Stable, so one line's errors keep
 * their order; files keep the order of their first error.
 */
static void
conf_errors_sort(struct sy_conf_errors *e, unsigned from)
{
	unsigned i, j;

	for (i = from + 1; i < e->n; i++) {
		struct sy_conf_error t = e->v[i];

		for (j = i; j > from; j--) {
			struct sy_conf_error *prev = &e->v[j - 1];

			if (strcmp(prev->file, t.file) != 0 || prev->line <= t.line)
				break;
			e->v[j] = *prev;
		}
		e->v[j] = t;
	}
}

/* The absolute directory of path, malloc'd; NULL on ENOMEM. */
static char *
conf_dir_of(const char *path)
{
	char *copy = strdup(path), *dir, *abs = NULL, cwd[PATH_MAX];

	if (copy == NULL)
		return NULL;
	dir = dirname(copy);
	if ((abs = realpath(dir, NULL)) == NULL) {
		if (dir[0] == '/')
			abs = strdup(dir);
		else if (getcwd(cwd, sizeof(cwd)) != NULL &&
		    asprintf(&abs, "%s/%s", cwd, dir) == -1)
			abs = NULL;
	}
	free(copy);
	return abs;
}

static void
conf_read_error(const config_t *cf, const char *path, const char *dir, struct sy_conf_errors *errs)
{
	const char *file = config_error_file(cf);
	char buf[PATH_MAX];
	struct stat st;
	FILE *f;

	if (config_error_type(cf) == CONFIG_ERR_FILE_IO) {
		/* libconfig keeps errno to itself: ask again to say why. */
		if ((f = fopen(path, "r")) == NULL) {
			sy_conf_errors_add(errs, path, 0, "cannot open configuration file: %s", strerror(errno));
			return;
		}
		fclose(f);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			sy_conf_errors_add(errs, path, 0, "cannot read configuration file: is a directory");
		else
			sy_conf_errors_add(errs, path, 0, "cannot read configuration file");
		return;
	}
	if (file == NULL)
		file = path;
	else if (strcmp(file, path) != 0 && file[0] != '/' && dir != NULL) {
		snprintf(buf, sizeof(buf), "%s/%s", dir, file);
		file = buf;
	}
	sy_conf_errors_add(errs, file, config_error_line(cf), "%s", config_error_text(cf));
}

/*
 * Read from file (text NULL) or from text; path names it in errors and
 * decides the directory of relative paths.
 */
static struct sy_conf *
conf_load(const char *path, const char *text, struct sy_conf_errors *errs)
{
	struct sy_conf *c = NULL;
	struct sy_conf_parse p;
	unsigned before = errs->n;
	char *dir = NULL;
	config_t cf;
	int ok;

	config_init(&cf);
	if ((dir = conf_dir_of(path)) == NULL) {
		sy_conf_errors_add(errs, path, 0, "cannot resolve the configuration directory: %s", strerror(errno));
		goto fail;
	}
	config_set_include_dir(&cf, dir);
	ok = text != NULL ? config_read_string(&cf, text) : config_read_file(&cf, path);
	if (!ok) {
		conf_read_error(&cf, path, dir, errs);
		goto fail;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		sy_conf_errors_add(errs, path, 0, "out of memory");
		goto fail;
	}
	sy_arena_init(&c->arena, CONF_ARENA_CHUNK);
	c->path = sy_arena_strdup(&c->arena, path);
	c->dir = sy_arena_strdup(&c->arena, dir);
	if (c->path == NULL || c->dir == NULL) {
		sy_conf_errors_add(errs, path, 0, "out of memory");
		goto fail;
	}
	sy_conf_parse_init(&p, &c->arena, &c->regexes, errs, c->path, c->dir);
	if (sy_conf_parse_tree(&p, &sy_conf_root_key, config_root_setting(&cf), c) == -1)
		goto fail;
	config_destroy(&cf);
	free(dir);
	/*
	 * Valid: the layers above may still refuse it (a certificate that
	 * does not load).  From here on sy_conf_free runs their freeing
	 * hook, so whatever the loaded hook built before failing is released.
	 */
	if (conf_hooks.loaded != NULL && conf_hooks.loaded(c, errs) == -1) {
		if (errs->n == before)
			sy_conf_errors_add(errs, path, 0, "configuration refused");
		conf_errors_sort(errs, before);
		sy_conf_free(c);
		return NULL;
	}
	return c;
fail:
	conf_errors_sort(errs, before);
	config_destroy(&cf);
	free(dir);
	conf_destroy(c);
	return NULL;
}

struct sy_conf *
sy_conf_load(const char *path, struct sy_conf_errors *errs)
{
	return conf_load(path, NULL, errs);
}

struct sy_conf *
sy_conf_load_string(const char *text, const char *name, struct sy_conf_errors *errs)
{
	return conf_load(name, text, errs);
}

/* Free what conf itself allocated; the hooks never saw a conf freed here. */
static void
conf_destroy(struct sy_conf *c)
{
	if (c == NULL)
		return;
	sy_conf_regexes_free(c->regexes);
	sy_arena_fini(&c->arena);
	free(c);
}

void
sy_conf_free(struct sy_conf *c)
{
	if (c == NULL)
		return;
	if (conf_hooks.freeing != NULL)
		conf_hooks.freeing(c);
	conf_destroy(c);
}

/* ---- --list-keys ---------------------------------------------------- */

static void
conf_print_type(FILE *f, const struct sy_conf_key *k)
{
	unsigned i;

	switch (k->type) {
	case SY_CONF_INT:
	case SY_CONF_INT64:
	case SY_CONF_UINT32:
		fprintf(f, "int(%lld..%lld%s)", k->min, k->max, (k->flags & SY_CONF_AUTO) ? "|auto" : "");
		break;
	case SY_CONF_ENUM:
		fputs("enum(", f);
		for (i = 0; k->names[i] != NULL; i++)
			fprintf(f, "%s%s", i ? "|" : "", k->names[i]);
		fputs(")", f);
		break;
	case SY_CONF_MODE:
		fprintf(f, "mode(%04llo..%04llo)", k->min, k->max);
		break;
	case SY_CONF_DURATION:
		if (k->min == 1)
			fputs("duration(>0)", f);
		else if (k->min > 1) {
			char min[32];

			sy_duration_format(k->min, min, sizeof(min));
			fprintf(f, "duration(>=%s)", min);
		} else
			fputs("duration", f);
		break;
	default:
		fputs(sy_conf_type_name(k), f);
		break;
	}
}

static void
conf_print_keys(FILE *f, const struct sy_conf_key *keys, const char *prefix, bool restart)
{
	const struct sy_conf_key *k;
	char path[256];

	for (k = keys; k->name != NULL; k++) {
		bool r = restart || (k->flags & SY_CONF_RESTART);

		if (k->flags & SY_CONF_REFUSED)
			continue;
		if (*prefix == '\0')
			snprintf(path, sizeof(path), "%s", k->name);
		else
			snprintf(path, sizeof(path), "%s.%s", prefix, k->name);
		fprintf(f, "%s\t", path);
		conf_print_type(f, k);
		fprintf(f, "\t%s\t%s\t%s\n",
		    k->def != NULL ? k->def : ((k->flags & SY_CONF_REQUIRED) ? "required" : "-"),
		    r ? "restart" : "reload", k->doc);
		if (k->child != NULL)
			conf_print_keys(f, k->child, path, r);
	}
}

void
sy_conf_print_keys(void *stdio_file)
{
	conf_print_keys(stdio_file, sy_conf_root_key.child, "", false);
}

/* ---- restart-only keys on reload ------------------------------------ */

static bool
conf_value_equal(const struct sy_conf_key *k, const char *a, const char *b)
{
	const char *sa, *sb;

	switch (k->type) {
	case SY_CONF_INT:
	case SY_CONF_ENUM:
	case SY_CONF_MODE:
		return *(const int *)(const void *)(a + k->off) == *(const int *)(const void *)(b + k->off);
	case SY_CONF_BOOL:
		return *(const bool *)(a + k->off) == *(const bool *)(b + k->off);
	case SY_CONF_UINT32:
		return *(const uint32_t *)(const void *)(a + k->off) == *(const uint32_t *)(const void *)(b + k->off);
	case SY_CONF_DURATION:
	case SY_CONF_INT64:
		return *(const int64_t *)(const void *)(a + k->off) == *(const int64_t *)(const void *)(b + k->off);
	case SY_CONF_STRING:
	case SY_CONF_PATH:
	case SY_CONF_ADDRESS:
	case SY_CONF_REGEX:
		sa = *(char *const *)(const void *)(a + k->off);
		sb = *(char *const *)(const void *)(b + k->off);
		return sa == sb || (sa != NULL && sb != NULL && strcmp(sa, sb) == 0);
	default:
		/* Lists and string arrays are never restart-only. */
		return true;
	}
}

static unsigned
conf_diff(const struct sy_conf_key *keys, const char *a, const char *b, const char *prefix,
    bool restart, void (*fn)(const char *, void *), void *arg)
{
	const struct sy_conf_key *k;
	unsigned n = 0;
	char path[256];

	for (k = keys; k->name != NULL; k++) {
		bool r = restart || (k->flags & SY_CONF_RESTART);

		if (*prefix == '\0')
			snprintf(path, sizeof(path), "%s", k->name);
		else
			snprintf(path, sizeof(path), "%s.%s", prefix, k->name);
		if (k->type == SY_CONF_GROUP) {
			n += conf_diff(k->child, a + k->off, b + k->off, path, r, fn, arg);
		} else if (r && !conf_value_equal(k, a, b)) {
			if (fn != NULL)
				fn(path, arg);
			n++;
		}
	}
	return n;
}

unsigned
sy_conf_diff_restart(const struct sy_conf *old, const struct sy_conf *new,
    void (*fn)(const char *path, void *arg), void *arg)
{
	return conf_diff(sy_conf_root_key.child, (const char *)old, (const char *)new, "", false, fn, arg);
}
