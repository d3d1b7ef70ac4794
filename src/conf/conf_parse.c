/*
 * conf_parse.c - the generic walker that turns a libconfig tree into the
 * structs described by the key table (conf_keys.c).  It knows types, not
 * keys: it applies defaults, converts and bounds-checks values, reports
 * unknown keys, wrong types and missing required keys, fills lists into
 * arena arrays, runs each group's check hook (children first) and finally
 * resolves cross references (storing a pointer to the element named when
 * the row asks for one).  A refused row only turns its key into an error;
 * a variant row (one filter's setting) is required only in its variant,
 * which the filter's check hook enforces.  A HEAD list (SY_CONF_HEAD)
 * keeps element 0 for its group's own keys: a listener's default
 * certificate before the SNI ones.  It never stops at the first
 * error: every problem is appended as "file:line: reason" and parsing goes
 * on, leaving a zero value where a key failed.  Nothing here allocates
 * outside the parse's arena except regcomp's own state, which is listed
 * for regfree.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_int.h"

#define PARSE_PATH_MAX 256
#define PARSE_MSG_MAX 1024

struct sy_conf_regex {
	regex_t *re;
	struct sy_conf_regex *next;
};

struct sy_conf_ref {
	const struct sy_conf_key *key;
	const char *value;
	const config_setting_t *s;
	const char *path;
	char *base;		/* the struct holding the key: ref_off is inside */
	struct sy_conf_ref *next;
};

/* A scalar as read from the file or from a default. */
struct conf_parse_val {
	int type;		/* CONFIG_TYPE_INT, _STRING, _BOOL, or what it was */
	long long i;
	const char *s;
};

static void conf_parse_group(struct sy_conf_parse *p, const struct sy_conf_key *keys,
    const config_setting_t *s, char *base, const char *path);

void
sy_conf_parse_init(struct sy_conf_parse *p, struct sy_arena *arena,
    struct sy_conf_regex **regexes, struct sy_conf_errors *errs,
    const char *file, const char *dir)
{
	memset(p, 0, sizeof(*p));
	p->arena = arena;
	p->regexes = regexes;
	p->errs = errs;
	p->file = file;
	p->dir = dir;
}

void
sy_conf_regexes_free(struct sy_conf_regex *list)
{
	for (; list != NULL; list = list->next)
		regfree(list->re);
}

int
sy_conf_setting_line(const config_setting_t *s)
{
	return s != NULL ? (int)config_setting_source_line(s) : 0;
}

const config_setting_t *
sy_conf_member_or_self(const config_setting_t *s, const char *name)
{
	const config_setting_t *m;

	if (s == NULL || !config_setting_is_group(s))
		return s;
	m = config_setting_get_member(s, name);
	return m != NULL ? m : s;
}

void
sy_conf_parse_error(struct sy_conf_parse *p, const config_setting_t *s, const char *fmt, ...)
{
	char msg[PARSE_MSG_MAX], file[PATH_MAX];
	const char *f = s != NULL ? config_setting_source_file(s) : NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/*
	 * libconfig names the main file as we passed it and an included
	 * file as written in @include, relative to the include directory.
	 */
	if (f == NULL || strcmp(f, p->file) == 0)
		f = p->file;
	else if (f[0] != '/' && p->dir != NULL) {
		snprintf(file, sizeof(file), "%s/%s", p->dir, f);
		f = file;
	}
	sy_conf_errors_add(p->errs, f, sy_conf_setting_line(s), "%s", msg);
}

static void
conf_parse_nomem(struct sy_conf_parse *p, const config_setting_t *s)
{
	sy_conf_parse_error(p, s, "out of memory");
}

static const char *
conf_parse_got(int type)
{
	switch (type) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "nothing";
	}
}

/* What a key wants, for "expected ..., got ..." messages. */
static const char *
conf_parse_expected(const struct sy_conf_key *k)
{
	switch (k->type) {
	case SY_CONF_GROUP:
		return "a group { ... }";
	case SY_CONF_LIST:
		return "a list ( { ... }, ... )";
	case SY_CONF_INT:
		return (k->flags & SY_CONF_AUTO) ? "an integer or \"auto\"" : "an integer";
	case SY_CONF_INT64:
	case SY_CONF_UINT32:
		return "an integer";
	case SY_CONF_BOOL:
		return "true or false";
	case SY_CONF_STRING:
		return "a string";
	case SY_CONF_PATH:
		return "a path string";
	case SY_CONF_DURATION:
		return "a duration string such as \"30s\"";
	case SY_CONF_ENUM:
		return "a string";
	case SY_CONF_MODE:
		return "an octal mode string such as \"0600\"";
	case SY_CONF_ADDRESS:
		return "an address string such as \"127.0.0.1:8080\"";
	case SY_CONF_REGEX:
		return "a regular expression string";
	case SY_CONF_STRINGS:
		return "an array of strings [ \"...\", ... ]";
	}
	return "?";
}

const char *
sy_conf_type_name(const struct sy_conf_key *k)
{
	static const char *const names[] = {
		[SY_CONF_GROUP] = "group", [SY_CONF_LIST] = "list", [SY_CONF_INT] = "int", [SY_CONF_INT64] = "int",
		[SY_CONF_UINT32] = "int",
		[SY_CONF_BOOL] = "bool", [SY_CONF_STRING] = "string", [SY_CONF_PATH] = "path",
		[SY_CONF_DURATION] = "duration", [SY_CONF_ENUM] = "enum", [SY_CONF_MODE] = "mode",
		[SY_CONF_ADDRESS] = "address", [SY_CONF_REGEX] = "regex", [SY_CONF_STRINGS] = "strings",
	};

	return names[k->type];
}

static void
conf_parse_path_join(char *out, const char *path, const char *name)
{
	if (*path == '\0')
		snprintf(out, PARSE_PATH_MAX, "%s", name);
	else
		snprintf(out, PARSE_PATH_MAX, "%s.%s", path, name);
}

static const struct sy_conf_key *
conf_parse_key_find(const struct sy_conf_key *keys, const char *name)
{
	for (; keys->name != NULL; keys++)
		if (name != NULL && strcmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

const struct sy_conf_key *
sy_conf_head_list(const struct sy_conf_key *keys)
{
	for (; keys->name != NULL; keys++)
		if (keys->type == SY_CONF_LIST && (keys->flags & SY_CONF_HEAD))
			return keys;
	return NULL;
}

/* "a, b or c" from a NULL-terminated list. */
static void
conf_parse_names_join(const char *const *names, char *out, size_t outlen)
{
	size_t n = 0, i, len = 0;

	while (names[n] != NULL)
		n++;
	out[0] = '\0';
	for (i = 0; i < n && len < outlen; i++) {
		len += (size_t)snprintf(out + len, outlen - len, "%s%s",
		    i == 0 ? "" : (i == n - 1 ? " or " : ", "), names[i]);
	}
}

static char *
conf_parse_strdup(struct sy_conf_parse *p, const config_setting_t *s, const char *v, bool lower)
{
	char *c = sy_arena_strdup(p->arena, v);
	char *q;

	if (c == NULL) {
		conf_parse_nomem(p, s);
		return NULL;
	}
	if (lower)
		for (q = c; *q != '\0'; q++)
			*q = (char)tolower((unsigned char)*q);
	return c;
}

static struct conf_parse_val
conf_parse_val_of(const config_setting_t *s)
{
	struct conf_parse_val v = { .type = config_setting_type(s) };

	switch (v.type) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v.type = CONFIG_TYPE_INT;
		v.i = config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_BOOL:
		v.i = config_setting_get_bool(s);
		break;
	case CONFIG_TYPE_STRING:
		v.s = config_setting_get_string(s);
		break;
	default:
		break;
	}
	return v;
}

/* A default is written as in the file: "2", "true", "30s", "auto". */
static struct conf_parse_val
conf_parse_val_default(const struct sy_conf_key *k)
{
	struct conf_parse_val v = { .type = CONFIG_TYPE_STRING, .s = k->def };
	char *end;

	if ((k->type == SY_CONF_INT || k->type == SY_CONF_INT64 || k->type == SY_CONF_UINT32) &&
	    strcmp(k->def, "auto") != 0) {
		v.type = CONFIG_TYPE_INT;
		v.i = strtoll(k->def, &end, 10);
	} else if (k->type == SY_CONF_BOOL) {
		v.type = CONFIG_TYPE_BOOL;
		v.i = strcmp(k->def, "true") == 0;
	}
	return v;
}

static int
conf_parse_regex(struct sy_conf_parse *p, const config_setting_t *s, const char *expr,
    regex_t *re, char *msg, size_t msglen)
{
	struct sy_conf_regex *node;
	char *anchored, err[256];
	int rc;

	node = sy_arena_alloc(p->arena, sizeof(*node));
	anchored = sy_arena_printf(p->arena, "^(%s)$", expr);
	if (node == NULL || anchored == NULL) {
		conf_parse_nomem(p, s);
		return 0;	/* reported */
	}
	rc = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, re, err, sizeof(err));
		snprintf(msg, msglen, "invalid regular expression \"%s\": %s", expr, err);
		return -1;
	}
	node->re = re;
	node->next = *p->regexes;
	*p->regexes = node;
	return 0;
}

/*
 * Store one scalar.  Returns 0, or -1 with the reason (without the key
 * path) in msg.
 */
static int
conf_parse_scalar(struct sy_conf_parse *p, const struct sy_conf_key *k, const config_setting_t *s,
    const struct conf_parse_val *v, char *base, const char *path, char *msg, size_t msglen)
{
	void *dst = base + k->off;
	char names[256], label[128];
	const char *e;
	long long n;
	unsigned i;

	if (k->type == SY_CONF_INT) {
		if (v->type == CONFIG_TYPE_STRING && (k->flags & SY_CONF_AUTO)) {
			long cpus;

			if (strcmp(v->s, "auto") != 0) {
				snprintf(msg, msglen, "invalid value \"%s\" (expected an integer or \"auto\")", v->s);
				return -1;
			}
			cpus = sysconf(_SC_NPROCESSORS_ONLN);
			n = cpus < k->min ? k->min : (cpus > k->max ? k->max : cpus);
			*(int *)dst = (int)n;
			*(bool *)(base + k->aux_off) = true;
			return 0;
		}
		if (v->type != CONFIG_TYPE_INT)
			goto wrong_type;
		if (v->i < k->min || v->i > k->max) {
			snprintf(msg, msglen, "%lld is out of range (%lld..%lld)", v->i, k->min, k->max);
			return -1;
		}
		*(int *)dst = (int)v->i;
		if (k->flags & SY_CONF_AUTO)
			*(bool *)(base + k->aux_off) = false;
		return 0;
	}
	if (k->type == SY_CONF_INT64 || k->type == SY_CONF_UINT32) {
		if (v->type != CONFIG_TYPE_INT)
			goto wrong_type;
		if (v->i < k->min || v->i > k->max) {
			snprintf(msg, msglen, "%lld is out of range (%lld..%lld)", v->i, k->min, k->max);
			return -1;
		}
		/* A UINT32 row's bounds lie inside 0..UINT32_MAX: the table says so. */
		if (k->type == SY_CONF_UINT32)
			*(uint32_t *)dst = (uint32_t)v->i;
		else
			*(int64_t *)dst = v->i;
		return 0;
	}
	if (k->type == SY_CONF_BOOL) {
		if (v->type != CONFIG_TYPE_BOOL)
			goto wrong_type;
		*(bool *)dst = v->i != 0;
		return 0;
	}
	/* Every other scalar is written as a string. */
	if (v->type != CONFIG_TYPE_STRING)
		goto wrong_type;
	if (v->s[0] == '\0' && k->type != SY_CONF_STRING) {
		snprintf(msg, msglen, "must not be empty");
		return -1;
	}
	switch (k->type) {
	case SY_CONF_STRING:
		if (v->s[0] == '\0' && (k->flags & SY_CONF_REQUIRED)) {
			snprintf(msg, msglen, "must not be empty");
			return -1;
		}
		if (k->max > 0 && strlen(v->s) > (size_t)k->max) {
			snprintf(msg, msglen, "longer than %lld characters", k->max);
			return -1;
		}
		*(char **)dst = conf_parse_strdup(p, s, v->s, k->flags & SY_CONF_LOWER);
		if (k->ref != NULL && *(char **)dst != NULL) {
			struct sy_conf_ref *r = sy_arena_alloc(p->arena, sizeof(*r));
			char *rpath = sy_arena_strdup(p->arena, path);

			if (r == NULL || rpath == NULL) {
				conf_parse_nomem(p, s);
				return 0;
			}
			*r = (struct sy_conf_ref){ k, *(char **)dst, s, rpath, base, p->refs };
			p->refs = r;
		}
		return 0;
	case SY_CONF_PATH:
		if (v->s[0] == '/' || p->dir == NULL)
			*(char **)dst = conf_parse_strdup(p, s, v->s, false);
		else {
			for (i = 0; k->names != NULL && k->names[i] != NULL; i++)
				if (strcmp(k->names[i], v->s) == 0)
					break;
			if (k->names != NULL && k->names[i] != NULL)
				*(char **)dst = conf_parse_strdup(p, s, v->s, false);
			else if ((*(char **)dst = sy_arena_printf(p->arena, "%s/%s", p->dir, v->s)) == NULL)
				conf_parse_nomem(p, s);
		}
		return 0;
	case SY_CONF_DURATION:
		if ((e = sy_duration_parse(v->s, (int64_t *)dst)) != NULL) {
			snprintf(msg, msglen, "invalid duration \"%s\": %s", v->s, e);
			return -1;
		}
		if (k->min > 0 && *(int64_t *)dst < k->min) {
			if (k->min == 1)
				snprintf(msg, msglen, "must be greater than 0");
			else {
				sy_duration_format(k->min, label, sizeof(label));
				snprintf(msg, msglen, "must be at least %s", label);
			}
			return -1;
		}
		return 0;
	case SY_CONF_ENUM:
		for (i = 0; k->names[i] != NULL; i++) {
			if (strcmp(k->names[i], v->s) == 0) {
				*(int *)dst = (int)i;
				return 0;
			}
		}
		conf_parse_names_join(k->names, names, sizeof(names));
		snprintf(msg, msglen, "invalid value \"%s\" (expected %s)", v->s, names);
		return -1;
	case SY_CONF_MODE: {
		char *end;

		errno = 0;
		n = strtoll(v->s, &end, 8);
		if (*end != '\0' || errno != 0 || !isdigit((unsigned char)v->s[0]) ||
		    n < k->min || n > k->max) {
			snprintf(msg, msglen, "invalid mode \"%s\" (expected an octal string from \"%04llo\" to \"%04llo\")",
			    v->s, k->min, k->max);
			return -1;
		}
		*(int *)dst = (int)n;
		return 0;
	}
	case SY_CONF_ADDRESS: {
		struct sockaddr_storage *ss = (struct sockaddr_storage *)(void *)(base + k->aux_off);
		unsigned *sslen = (unsigned *)(void *)(base + k->aux2_off);

		if (sy_addr_parse(v->s, ss, sslen) == -1) {
			snprintf(msg, msglen, "invalid address \"%s\" (expected a numeric host:port "
			    "such as 127.0.0.1:8080 or [::1]:8080)", v->s);
			return -1;
		}
		*(char **)dst = conf_parse_strdup(p, s, v->s, false);
		if (k->label_off != 0) {
			sy_addr_format((const struct sockaddr *)ss, label, sizeof(label));
			*(char **)(base + SY_CONF_OPT_GET(k->label_off)) = conf_parse_strdup(p, s, label, false);
		}
		return 0;
	}
	case SY_CONF_REGEX:
		if (conf_parse_regex(p, s, v->s, (regex_t *)(void *)(base + k->aux_off), msg, msglen) == -1)
			return -1;
		*(char **)dst = conf_parse_strdup(p, s, v->s, false);
		return 0;
	default:
		break;
	}
wrong_type:
	if (k->type == SY_CONF_ENUM) {
		conf_parse_names_join(k->names, names, sizeof(names));
		snprintf(msg, msglen, "expected %s, got %s", names, conf_parse_got(v->type));
	} else {
		snprintf(msg, msglen, "expected %s, got %s", conf_parse_expected(k), conf_parse_got(v->type));
	}
	return -1;
}

static void
conf_parse_count_min(struct sy_conf_parse *p, const struct sy_conf_key *k, const config_setting_t *s,
    unsigned n, const char *path)
{
	if (n >= (unsigned long long)k->min)
		return;
	if (k->min == 1)
		sy_conf_parse_error(p, s, "%s: must not be empty", path);
	else
		sy_conf_parse_error(p, s, "%s: needs at least %lld elements", path, k->min);
}

/*
 * A list (s NULL: absent).  With head, element 0 is reserved for the
 * enclosing group's own entry (SY_CONF_HEAD) and exists even when the
 * list is absent or wrong; the file's elements follow it, and a check
 * sees their index in the whole array.
 */
static void
conf_parse_list(struct sy_conf_parse *p, const struct sy_conf_key *k, const config_setting_t *s,
    char *base, const char *path, bool head)
{
	unsigned n = s != NULL ? (unsigned)config_setting_length(s) : 0, i, first = head ? 1 : 0;
	unsigned count = first;
	char *arr = NULL, *obj;

	/* "[]" is the only way libconfig spells an empty array; take it. */
	if (s != NULL && !config_setting_is_list(s) && !(config_setting_is_array(s) && n == 0)) {
		sy_conf_parse_error(p, s, "%s: expected %s, got %s", path, conf_parse_expected(k),
		    conf_parse_got(config_setting_type(s)));
		if (!head)
			return;
		s = NULL;
		n = 0;
	}
	if (n + first > 0 && (arr = sy_arena_calloc(p->arena, (n + first) * k->elem_size)) == NULL) {
		conf_parse_nomem(p, s);
		return;
	}
	*(void **)(base + k->off) = arr;
	*(unsigned *)(void *)(base + k->count_off) = count;
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);

		if (!config_setting_is_group(e)) {
			sy_conf_parse_error(p, e, "%s: each element must be a group { ... }, got %s",
			    path, conf_parse_got(config_setting_type(e)));
			continue;
		}
		obj = arr + count * k->elem_size;
		if (k->line_off != 0)
			*(int *)(obj + SY_CONF_OPT_GET(k->line_off)) = sy_conf_setting_line(e);
		conf_parse_group(p, k->child, e, obj, path);
		if (k->check != NULL) {
			p->elem_index = count;
			p->elem_first = arr;
			k->check(p, obj, e);
		}
		count++;
		/* Visible to the next element's check (duplicates). */
		*(unsigned *)(void *)(base + k->count_off) = count;
	}
	*(unsigned *)(void *)(base + k->count_off) = count;
	if (s != NULL)
		conf_parse_count_min(p, k, s, count - first, path);
}

static void
conf_parse_strings(struct sy_conf_parse *p, const struct sy_conf_key *k, const config_setting_t *s,
    char *base, const char *path)
{
	unsigned n = (unsigned)config_setting_length(s), i, count = 0;
	char **arr = NULL;

	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		sy_conf_parse_error(p, s, "%s: expected %s, got %s", path, conf_parse_expected(k),
		    conf_parse_got(config_setting_type(s)));
		return;
	}
	if (n > 0 && (arr = sy_arena_calloc(p->arena, n * sizeof(*arr))) == NULL) {
		conf_parse_nomem(p, s);
		return;
	}
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			sy_conf_parse_error(p, e, "%s: each element must be a string, got %s",
			    path, conf_parse_got(config_setting_type(e)));
			continue;
		}
		if (config_setting_get_string(e)[0] == '\0') {
			sy_conf_parse_error(p, e, "%s: elements must not be empty", path);
			continue;
		}
		if ((arr[count] = conf_parse_strdup(p, e, config_setting_get_string(e), k->flags & SY_CONF_LOWER)) != NULL)
			count++;
	}
	*(char ***)(void *)(base + k->off) = arr;
	*(unsigned *)(void *)(base + k->count_off) = count;
	conf_parse_count_min(p, k, s, count, path);
}

static void
conf_parse_key(struct sy_conf_parse *p, const struct sy_conf_key *k, const config_setting_t *s,
    char *base, const char *path)
{
	char msg[PARSE_MSG_MAX];
	struct conf_parse_val v;

	switch (k->type) {
	case SY_CONF_GROUP:
		if (!config_setting_is_group(s)) {
			sy_conf_parse_error(p, s, "%s: expected %s, got %s", path, conf_parse_expected(k),
			    conf_parse_got(config_setting_type(s)));
			return;
		}
		conf_parse_group(p, k->child, s, base + k->off, path);
		if (k->check != NULL)
			k->check(p, base + k->off, s);
		return;
	case SY_CONF_LIST:
		conf_parse_list(p, k, s, base, path, false);
		return;
	case SY_CONF_STRINGS:
		conf_parse_strings(p, k, s, base, path);
		return;
	default:
		v = conf_parse_val_of(s);
		if (conf_parse_scalar(p, k, s, &v, base, path, msg, sizeof(msg)) == -1)
			sy_conf_parse_error(p, s, "%s: %s", path, msg);
		return;
	}
}

/* An absent key: its default, or zero; absent groups get their defaults. */
static void
conf_parse_default(struct sy_conf_parse *p, const struct sy_conf_key *k, char *base, const char *path)
{
	char msg[PARSE_MSG_MAX];
	struct conf_parse_val v;

	if (k->type == SY_CONF_GROUP) {
		conf_parse_group(p, k->child, NULL, base + k->off, path);
		return;
	}
	if (k->def == NULL || k->type == SY_CONF_LIST || k->type == SY_CONF_STRINGS)
		return;
	v = conf_parse_val_default(k);
	if (conf_parse_scalar(p, k, NULL, &v, base, path, msg, sizeof(msg)) == -1)
		sy_conf_parse_error(p, NULL, "internal error: default of %s: %s", path, msg);
}

/*
 * One group: s may be NULL (the group is absent: defaults only, no
 * "missing required key" noise for its children).  A group with a HEAD
 * list parses that list first, so that its element 0 is there for the
 * HEAD rows; an absent group has no such entry and skips those rows.
 */
static void
conf_parse_group(struct sy_conf_parse *p, const struct sy_conf_key *keys,
    const config_setting_t *s, char *base, const char *path)
{
	const struct sy_conf_key *k, *hk = sy_conf_head_list(keys);
	char kpath[PARSE_PATH_MAX], *head = NULL;
	int i, n;

	if (s != NULL) {
		n = config_setting_length(s);
		for (i = 0; i < n; i++) {
			const config_setting_t *c = config_setting_get_elem(s, (unsigned)i);
			const char *name = config_setting_name(c);

			if (conf_parse_key_find(keys, name) != NULL)
				continue;
			if (*path == '\0')
				sy_conf_parse_error(p, c, "unknown key \"%s\"", name);
			else
				sy_conf_parse_error(p, c, "unknown key \"%s\" in %s", name, path);
		}
	}
	if (hk != NULL && s != NULL) {
		const config_setting_t *m = config_setting_get_member(s, hk->name);

		conf_parse_path_join(kpath, path, hk->name);
		if (m != NULL && hk->present_off != 0)
			*(bool *)(base + SY_CONF_OPT_GET(hk->present_off)) = true;
		conf_parse_list(p, hk, m, base, kpath, true);
		if ((head = *(char **)(void *)(base + hk->off)) != NULL && hk->line_off != 0)
			*(int *)(void *)(head + SY_CONF_OPT_GET(hk->line_off)) = sy_conf_setting_line(s);
	}
	for (k = keys; k->name != NULL; k++) {
		const config_setting_t *m = s != NULL ? config_setting_get_member(s, k->name) : NULL;
		char *kbase = base;

		if (k == hk)
			continue;
		if (k->flags & SY_CONF_HEAD) {
			if (head == NULL)
				continue;
			kbase = head;
		}
		conf_parse_path_join(kpath, path, k->name);
		if (k->flags & SY_CONF_REFUSED) {
			if (m != NULL)
				sy_conf_parse_error(p, m, "%s", k->doc);
			continue;
		}
		if (m != NULL) {
			if (k->present_off != 0)
				*(bool *)(kbase + SY_CONF_OPT_GET(k->present_off)) = true;
			conf_parse_key(p, k, m, kbase, kpath);
			continue;
		}
		/* A variant's own keys are required only in it: the check hook says so. */
		if (s != NULL && (k->flags & SY_CONF_REQUIRED) && k->variant == NULL) {
			if (*path == '\0')
				sy_conf_parse_error(p, s, "missing required key \"%s\"", k->name);
			else
				sy_conf_parse_error(p, s, "missing required key \"%s\" in %s", k->name, path);
		}
		conf_parse_default(p, k, kbase, kpath);
	}
}

/* The element of the root list called list whose "name" is value, or NULL. */
static const void *
conf_parse_ref_find(struct sy_conf_parse *p, const char *list, const char *value)
{
	const struct sy_conf_key *lk = conf_parse_key_find(p->root_key->child, list), *nk;
	const char *arr;
	unsigned n, i;

	if (lk == NULL || lk->type != SY_CONF_LIST || (nk = conf_parse_key_find(lk->child, "name")) == NULL)
		return NULL;
	arr = *(char *const *)(const void *)((const char *)p->root + lk->off);
	n = *(const unsigned *)(const void *)((const char *)p->root + lk->count_off);
	for (i = 0; i < n; i++) {
		const char *name = *(char *const *)(const void *)(arr + i * lk->elem_size + nk->off);

		if (name != NULL && strcmp(name, value) == 0)
			return arr + i * lk->elem_size;
	}
	return NULL;
}

int
sy_conf_parse_tree(struct sy_conf_parse *p, const struct sy_conf_key *root,
    const config_setting_t *s, void *base)
{
	unsigned before = p->errs->n;
	struct sy_conf_ref *r;

	p->root_key = root;
	p->root = base;
	conf_parse_group(p, root->child, s, base, "");
	if (root->check != NULL)
		root->check(p, base, s);
	/* The root lists are complete now: their arena arrays never move. */
	for (r = p->refs; r != NULL; r = r->next) {
		const void *elem = conf_parse_ref_find(p, r->key->ref, r->value);

		if (elem != NULL) {
			if (r->key->ref_off != 0)
				*(const void **)(void *)(r->base + SY_CONF_OPT_GET(r->key->ref_off)) = elem;
		} else if (r->key->ref_noun != NULL) {
			sy_conf_parse_error(p, r->s, "unknown %s \"%s\"", r->key->ref_noun, r->value);
		} else {
			sy_conf_parse_error(p, r->s, "%s: \"%s\" is not defined in %s",
			    r->path, r->value, r->key->ref);
		}
	}
	return p->errs->n > before ? -1 : 0;
}
