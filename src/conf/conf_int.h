/*
 * conf_int.h - private to src/conf: the shape of the declarative key table
 * and the parse state its validators see.  Every key of switchyard.conf is
 * one struct sy_conf_key row in conf_keys.c; the generic code in conf.c
 * (parse, defaults, bounds, unknown keys), conf_dump.c (JSON dump) and
 * sy_conf_print_keys walk the same rows, so a new key of an ordinary type
 * is a row plus a struct field and nothing else.  Only semantic rules that
 * span several keys (duplicates, "exactly one of") are code, as check
 * hooks in conf_check.c.  Other modules never include this file.
 */
#ifndef SWITCHYARD_CONF_INT_H
#define SWITCHYARD_CONF_INT_H

#include <libconfig.h>
#include <stddef.h>

#include "switchyard/conf.h"

enum sy_conf_type {
	SY_CONF_GROUP,		/* { ... }: struct at off, keys in child */
	SY_CONF_LIST,		/* ( { ... }, ... ): array of elem_size at off, count at count_off */
	SY_CONF_INT,		/* int in min..max; SY_CONF_AUTO also takes "auto" */
	SY_CONF_INT64,		/* int64_t in min..max */
	SY_CONF_UINT32,		/* uint32_t in min..max (min >= 0): protocol settings */
	SY_CONF_BOOL,		/* bool */
	SY_CONF_STRING,		/* char *; max: longest length when > 0 */
	SY_CONF_PATH,		/* char *, relative to the config file's directory */
	SY_CONF_DURATION,	/* int64_t milliseconds, from "30s" */
	SY_CONF_ENUM,		/* int: index of the value in names */
	SY_CONF_MODE,		/* int: octal file mode from "0600", in min..max */
	SY_CONF_ADDRESS,	/* char * as written, sockaddr at aux_off, salen at aux2_off */
	SY_CONF_REGEX,		/* char * as written, regex_t compiled ^(...)$ at aux_off */
	SY_CONF_STRINGS		/* [ "a", ... ]: char ** at off, unsigned count at count_off */
};

/* Key flags. */
#define SY_CONF_RESTART		0x01u	/* a reload does not apply it: restart-only */
#define SY_CONF_REQUIRED	0x02u	/* must be present (strings: and non-empty); with a
					 * variant: in that variant only (checked by its hook) */
#define SY_CONF_AUTO		0x04u	/* INT: "auto" = CPUs online; bool at aux_off */
#define SY_CONF_LOWER		0x08u	/* STRING, STRINGS: stored lower-cased */
/*
 * Recognised only to refuse it: writing the key is an error whose message
 * is the row's doc.  It says why a key valid elsewhere is not allowed here
 * (a route's upgrade_configs have no filters).  --list-keys, the dump and
 * the man page check skip such rows.
 */
#define SY_CONF_REFUSED		0x10u
/*
 * A LIST whose element 0 is the enclosing group's own entry, the file's
 * elements following it; the group's other rows flagged SY_CONF_HEAD are
 * the keys of that entry (their off lies inside the element).  A
 * listener's tls writes its default certificate this way: certs[0], then
 * one per certificates entry.  The entry exists only when the group is
 * written; the dump shows its keys in the group and the list without it.
 * One such list per group.
 */
#define SY_CONF_HEAD		0x20u

/*
 * An optional offset: 0 means "none", so rows may leave it out.  Stored
 * as offset + 1; read it with SY_CONF_OPT_GET.
 */
#define SY_CONF_OPT(type, member) (offsetof(type, member) + 1)
#define SY_CONF_OPT_GET(o) ((o) - 1)

struct sy_conf_parse;
struct sy_conf_key;

/*
 * A semantic check, run on a group (or list element) after all of its
 * keys were parsed, children first.  obj is the group's struct, s its
 * libconfig setting (NULL when the group was absent).  Errors go through
 * sy_conf_parse_error; a check must cope with NULL strings left by keys
 * that failed.
 */
typedef void sy_conf_check_fn(struct sy_conf_parse *p, void *obj, const config_setting_t *s);

/*
 * Extra members of a group in the JSON dump, after its keys: values the
 * load derived rather than read (a cluster's resolved endpoints).  At
 * least one member was written before, so each extra member starts with
 * ",\n" and its indentation at depth + 1.  0 or -1.
 */
typedef int sy_conf_dump_fn(struct sy_buf *out, const void *obj, int depth);

struct sy_conf_key {
	const char *name;
	enum sy_conf_type type;
	unsigned flags;
	size_t off;				/* the value inside the enclosing struct */
	const char *def;			/* default, as written in the file; NULL: none */
	long long min, max;			/* INT, MODE bounds; LIST, STRINGS: min count;
						 * DURATION: min in ms when > 0 */
	const char *const *names;		/* ENUM: values by index; PATH: words kept verbatim */
	const struct sy_conf_key *child;	/* GROUP, LIST: keys of the nested struct */
	size_t elem_size;			/* LIST: size of one element */
	size_t count_off;			/* LIST, STRINGS: unsigned element count */
	size_t aux_off;				/* AUTO: bool; ADDRESS: sockaddr_storage; REGEX: regex_t */
	size_t aux2_off;			/* ADDRESS: unsigned salen */
	size_t line_off;			/* SY_CONF_OPT: LIST element's int line */
	size_t present_off;			/* SY_CONF_OPT: bool set when the key is written (tri-state) */
	size_t label_off;			/* SY_CONF_OPT: ADDRESS's normalised char * */
	const char *ref;			/* STRING: must name an element of this root list */
	const char *ref_noun;			/* STRING with ref: "unknown <noun> \"x\"" (NULL: generic message) */
	size_t ref_off;				/* SY_CONF_OPT: const pointer to the element named */
	const char *variant;			/* only in the element whose "name" is this (a filter's settings) */
	sy_conf_check_fn *check;		/* GROUP, LIST element: after its keys */
	sy_conf_dump_fn *dump;			/* GROUP, LIST element: derived members for the dump */
	const char *doc;			/* one line, for --list-keys */
};

/* The root of the table: a GROUP whose child lists the top-level keys. */
extern const struct sy_conf_key sy_conf_root_key;

/*
 * The filters of http_filters and of an upgrade's filters, by name.  A
 * filter's own settings are the rows of sy_conf_filter_keys whose variant
 * is its name.
 */
struct sy_conf_filter_kind {
	const char *name;
	bool terminal;		/* must be last: the router */
	bool http_only;		/* cannot carry upgrade payload: refused in an upgrade's filters */
};
extern const struct sy_conf_filter_kind sy_conf_filter_kinds[];	/* { NULL } ends it */
extern const struct sy_conf_key sy_conf_filter_keys[];

/*
 * State of one parse; validators report through it.  The generic walker
 * fills any struct described by a table, so the tests can drive it with a
 * table of their own.
 */
struct sy_conf_ref;
struct sy_conf_parse {
	struct sy_arena *arena;		/* parsed values live here */
	struct sy_conf_regex **regexes;	/* compiled regexes are pushed here */
	struct sy_conf_errors *errs;
	const char *file;		/* name for settings libconfig gives none */
	const char *dir;		/* absolute: where relative paths resolve */
	const struct sy_conf_key *root_key;
	void *root;			/* the struct root_key describes */
	struct sy_conf_ref *refs;	/* cross references, checked at the end */
	/* For the check of a LIST element: its index and the first element. */
	unsigned elem_index;
	const void *elem_first;
};

void sy_conf_parse_init(struct sy_conf_parse *p, struct sy_arena *arena,
    struct sy_conf_regex **regexes, struct sy_conf_errors *errs,
    const char *file, const char *dir);
/*
 * Fill base from setting s (a group) as the GROUP key root describes:
 * defaults, values, bounds, unknown keys, check hooks, then cross
 * references.  Returns 0, or -1 when it appended errors.
 */
int sy_conf_parse_tree(struct sy_conf_parse *p, const struct sy_conf_key *root,
    const config_setting_t *s, void *base);
/* regfree every regex of the list (the nodes live in an arena). */
void sy_conf_regexes_free(struct sy_conf_regex *list);

/* "file:line: reason" at setting s (NULL: the file itself, line 0). */
void sy_conf_parse_error(struct sy_conf_parse *p, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The setting of member name inside group s, or s itself when absent. */
const config_setting_t *sy_conf_member_or_self(const config_setting_t *s, const char *name);
/* Line of a setting, for messages such as "first defined at line 3". */
int sy_conf_setting_line(const config_setting_t *s);
/* The row of keys that is a SY_CONF_HEAD list, or NULL. */
const struct sy_conf_key *sy_conf_head_list(const struct sy_conf_key *keys);

/* Check hooks (conf_check.c), referenced by the table. */
sy_conf_check_fn sy_conf_check_root;
sy_conf_check_fn sy_conf_check_admin;
sy_conf_check_fn sy_conf_check_listener;
sy_conf_check_fn sy_conf_check_tls;
sy_conf_check_fn sy_conf_check_tls_cert;
sy_conf_check_fn sy_conf_check_upstream_tls;
sy_conf_check_fn sy_conf_check_http;
sy_conf_check_fn sy_conf_check_filter;
sy_conf_check_fn sy_conf_check_header_value;
sy_conf_check_fn sy_conf_check_listener_upgrade;
sy_conf_check_fn sy_conf_check_route_upgrade;
sy_conf_check_fn sy_conf_check_route_action;
sy_conf_check_fn sy_conf_check_cluster;
sy_conf_check_fn sy_conf_check_http2;
sy_conf_check_fn sy_conf_check_vhost;
sy_conf_check_fn sy_conf_check_route;
sy_conf_check_fn sy_conf_check_route_match;
sy_conf_check_fn sy_conf_check_header_match;
sy_conf_check_fn sy_conf_check_direct_response;

/* Dump hooks (conf_dump.c), referenced by the table. */
sy_conf_dump_fn sy_conf_dump_cluster;

/* Names of SY_CONF_ENUM values and the like, shared with the dump. */
const char *sy_conf_type_name(const struct sy_conf_key *k);

#endif
