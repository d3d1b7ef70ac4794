/*
 * conf_dump.c - the effective configuration as JSON (admin /config_dump),
 * produced by walking the key table over a loaded struct sy_conf: every
 * key appears, defaults included, under its file name.  Durations print
 * in their shortest exact unit ("30s"), modes as octal strings, enums by
 * name, addresses normalised, absent optional values as null; relative
 * paths appear already resolved.  The keys of a HEAD list's element 0
 * show in its group (a listener's default certificate in tls), the list
 * without it.  A filter shows only its own settings
 * (rows whose variant is its name), refused rows never show, and a row's
 * dump hook may add what the load derived (a cluster's
 * "resolved_endpoints").  Read-only: any process holding the config may
 * call it.  The key list itself lives only in conf_keys.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "conf_int.h"

static int
conf_dump_indent(struct sy_buf *out, int depth)
{
	static const char spaces[] = "                                                  ";
	size_t n = (size_t)depth * 2;

	return sy_buf_append(out, spaces, n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1);
}

/* s as a JSON string literal; NULL as null. */
static int
conf_dump_string(struct sy_buf *out, const char *s)
{
	const unsigned char *c;
	char esc[8];

	if (s == NULL)
		return sy_buf_append(out, "null", 4);
	if (sy_buf_append(out, "\"", 1) == -1)
		return -1;
	for (c = (const unsigned char *)s; *c != '\0'; c++) {
		const char *e = NULL;

		switch (*c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			if (*c < 0x20 || *c == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", *c);
				e = esc;
			}
			break;
		}
		if (e != NULL ? sy_buf_append(out, e, strlen(e)) : sy_buf_append(out, c, 1))
			return -1;
	}
	return sy_buf_append(out, "\"", 1);
}

static int conf_dump_group(struct sy_buf *out, const struct sy_conf_key *keys, sy_conf_dump_fn *extra,
    const char *base, int depth);

static int
conf_dump_value(struct sy_buf *out, const struct sy_conf_key *k, const char *base, int depth)
{
	const void *v = base + k->off;
	char tmp[64];
	unsigned i, n;

	/* An optional key left out, without a default, has no value. */
	if (k->present_off != 0 && !*(const bool *)(base + SY_CONF_OPT_GET(k->present_off)) &&
	    (k->type == SY_CONF_GROUP || k->def == NULL))
		return sy_buf_append(out, "null", 4);
	switch (k->type) {
	case SY_CONF_GROUP:
		return conf_dump_group(out, k->child, k->dump, v, depth);
	case SY_CONF_LIST: {
		const char *arr = *(char *const *)v;

		n = *(const unsigned *)(const void *)(base + k->count_off);
		/* Element 0 of a HEAD list shows as its group's own keys. */
		if ((k->flags & SY_CONF_HEAD) && n > 0) {
			arr += k->elem_size;
			n--;
		}
		if (n == 0)
			return sy_buf_append(out, "[]", 2);
		if (sy_buf_append(out, "[\n", 2) == -1)
			return -1;
		for (i = 0; i < n; i++) {
			if (conf_dump_indent(out, depth + 1) == -1 ||
			    conf_dump_group(out, k->child, k->dump, arr + i * k->elem_size, depth + 1) == -1 ||
			    sy_buf_append(out, i + 1 < n ? ",\n" : "\n", i + 1 < n ? 2 : 1) == -1)
				return -1;
		}
		if (conf_dump_indent(out, depth) == -1)
			return -1;
		return sy_buf_append(out, "]", 1);
	}
	case SY_CONF_STRINGS: {
		char *const *arr = *(char *const *const *)v;

		n = *(const unsigned *)(const void *)(base + k->count_off);
		if (sy_buf_append(out, "[", 1) == -1)
			return -1;
		for (i = 0; i < n; i++)
			if ((i > 0 && sy_buf_append(out, ", ", 2) == -1) || conf_dump_string(out, arr[i]) == -1)
				return -1;
		return sy_buf_append(out, "]", 1);
	}
	case SY_CONF_INT:
		return sy_buf_printf(out, "%d", *(const int *)v);
	case SY_CONF_INT64:
		return sy_buf_printf(out, "%" PRId64, *(const int64_t *)v);
	case SY_CONF_UINT32:
		return sy_buf_printf(out, "%" PRIu32, *(const uint32_t *)v);
	case SY_CONF_BOOL:
		return *(const bool *)v ? sy_buf_append(out, "true", 4) : sy_buf_append(out, "false", 5);
	case SY_CONF_DURATION:
		sy_duration_format(*(const int64_t *)v, tmp, sizeof(tmp));
		return conf_dump_string(out, tmp);
	case SY_CONF_ENUM:
		return conf_dump_string(out, k->names[*(const int *)v]);
	case SY_CONF_MODE:
		snprintf(tmp, sizeof(tmp), "%04o", (unsigned)*(const int *)v);
		return conf_dump_string(out, tmp);
	case SY_CONF_ADDRESS:
		if (*(char *const *)v == NULL)
			return conf_dump_string(out, NULL);
		sy_addr_format((const struct sockaddr *)(const void *)(base + k->aux_off), tmp, sizeof(tmp));
		return conf_dump_string(out, tmp);
	case SY_CONF_STRING:
	case SY_CONF_PATH:
	case SY_CONF_REGEX:
		return conf_dump_string(out, *(char *const *)v);
	}
	return -1;
}

/*
 * Does key k belong in the group at base?  Refused rows never hold a
 * value, and a variant key (one filter's setting) shows only in the
 * element whose "name" is that variant.
 */
static bool
conf_dump_shown(const struct sy_conf_key *keys, const struct sy_conf_key *k, const char *base)
{
	const struct sy_conf_key *nk;
	const char *name;

	if (k->flags & SY_CONF_REFUSED)
		return false;
	if (k->variant == NULL)
		return true;
	for (nk = keys; nk->name != NULL; nk++)
		if (strcmp(nk->name, "name") == 0)
			break;
	if (nk->name == NULL)
		return true;
	name = *(char *const *)(const void *)(base + nk->off);
	return name != NULL && strcmp(name, k->variant) == 0;
}

static int
conf_dump_group(struct sy_buf *out, const struct sy_conf_key *keys, sy_conf_dump_fn *extra,
    const char *base, int depth)
{
	const struct sy_conf_key *k, *hk = sy_conf_head_list(keys);
	const char *head = hk != NULL ? *(char *const *)(const void *)(base + hk->off) : NULL;
	bool first = true;
	int rc;

	if (sy_buf_append(out, "{\n", 2) == -1)
		return -1;
	for (k = keys; k->name != NULL; k++) {
		if (!conf_dump_shown(keys, k, base))
			continue;
		if ((!first && sy_buf_append(out, ",\n", 2) == -1) ||
		    conf_dump_indent(out, depth + 1) == -1 || conf_dump_string(out, k->name) == -1 ||
		    sy_buf_append(out, ": ", 2) == -1)
			return -1;
		/* A HEAD row lives in element 0 of the group's HEAD list. */
		if (k != hk && (k->flags & SY_CONF_HEAD))
			rc = head != NULL ? conf_dump_value(out, k, head, depth + 1) : sy_buf_append(out, "null", 4);
		else
			rc = conf_dump_value(out, k, base, depth + 1);
		if (rc == -1)
			return -1;
		first = false;
	}
	if (extra != NULL && !first && extra(out, base, depth) == -1)
		return -1;
	if ((!first && sy_buf_append(out, "\n", 1) == -1) || conf_dump_indent(out, depth) == -1)
		return -1;
	return sy_buf_append(out, "}", 1);
}

/* A cluster's endpoints as resolved at load: "resolved_endpoints": [ ... ]. */
int
sy_conf_dump_cluster(struct sy_buf *out, const void *obj, int depth)
{
	const struct sy_conf_cluster *cl = obj;
	unsigned i;

	if (sy_buf_append(out, ",\n", 2) == -1 || conf_dump_indent(out, depth + 1) == -1 ||
	    sy_buf_append(out, "\"resolved_endpoints\": [", 23) == -1)
		return -1;
	for (i = 0; i < cl->nendpoints; i++)
		if ((i > 0 && sy_buf_append(out, ", ", 2) == -1) || conf_dump_string(out, cl->endpoints[i].label) == -1)
			return -1;
	return sy_buf_append(out, "]", 1);
}

int
sy_conf_dump_json(const struct sy_conf *c, struct sy_buf *out)
{
	if (conf_dump_group(out, sy_conf_root_key.child, NULL, (const char *)c, 0) == -1)
		return -1;
	return sy_buf_append(out, "\n", 1);
}
