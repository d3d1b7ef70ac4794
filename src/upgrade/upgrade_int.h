/*
 * upgrade_int.h - helpers shared by the files of src/upgrade/ and by
 * nobody else: RFC 9110 token and list syntax over the fields of a
 * struct sy_msg, Connection token edits and the hop-by-hop filter.
 */
#ifndef SWITCHYARD_UPGRADE_INT_H
#define SWITCHYARD_UPGRADE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "switchyard/http.h"
#include "switchyard/upgrade.h"

/* Is [s, s+n) an RFC 9110 token (1*tchar)? */
bool upgrade_token_ok(const char *s, size_t n);
/*
 * Is [s, s+n) a protocol, token ["/" token]?  Stores the name's length
 * (n when there is no version).
 */
bool upgrade_protocol_ok(const char *s, size_t n, size_t *name_len);
/* Same protocol?  Names equal, and versions equal when both have one. */
bool upgrade_protocol_match(const char *a, size_t alen, size_t aname,
    const char *b, size_t blen, size_t bname);
bool upgrade_name_is_websocket(const char *s, size_t name_len);

/*
 * Walks the elements of every field called name (lower-case), in order,
 * as one comma-separated list (RFC 9110 5.3): each element trimmed of
 * OWS, empty elements skipped.  Spans point into the field values.
 */
struct upgrade_list {
	const struct sy_headers *h;
	const char *name;
	uint32_t i;		/* next field to open */
	const char *p, *end;	/* rest of the current field */
};

void upgrade_list_init(struct upgrade_list *l, const struct sy_msg *m, const char *name);
bool upgrade_list_next(struct upgrade_list *l, const char **s, size_t *n);

/* Does any Connection field list token (case-insensitive)? */
bool upgrade_conn_has(const struct sy_msg *m, const char *token);
/* Remove token from every Connection field; a field left empty goes. */
int upgrade_conn_remove_token(struct sy_msg *m, const char *token);

/* What upgrade_strip keeps besides pseudo-headers, Host and Content-Length. */
#define UPGRADE_KEEP_UPGRADE	0x1	/* the Upgrade field */
#define UPGRADE_KEEP_TE		0x2	/* Transfer-Encoding (HTTP/1.1 framing) */

/*
 * Remove hop-by-hop fields and those named in Connection, except what
 * keep protects.  Connection itself always goes.  0 or -1 (ENOMEM).
 */
int upgrade_strip(struct sy_msg *m, unsigned keep);

/* The status of a response: m->status, else parsed from ":status"; 0 if none. */
int upgrade_msg_status(const struct sy_msg *m);
/* Set both m->status and ":status".  0 or -1 (ENOMEM). */
int upgrade_set_status(struct sy_msg *m, int status);
/*
 * Body indication in the fields: a Transfer-Encoding, or a Content-Length
 * other than "0" (every such field).  A Content-Length of 0 is not a body.
 */
bool upgrade_has_body_fields(const struct sy_msg *m);

#endif
