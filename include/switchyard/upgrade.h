/*
 * upgrade.h - HTTP Upgrade and extended CONNECT (RFC 8441) as pure
 * functions: the listener/route decision, the analysis and rewriting of an
 * upgrade request, hop-by-hop header handling, the check that decides
 * whether an upstream's answer turns the exchange into a tunnel, the
 * WebSocket (RFC 6455) handshake helpers, and the HTTP/1.1 <-> HTTP/2
 * transformations.  Nothing here does I/O, counts stats or logs: the
 * connection manager and the router call these functions and act on their
 * answers.  Every function works on a struct sy_msg in place and allocates
 * only from that message's arena (msg->headers.arena), so results live as
 * long as the stream.  Any process may call them; none keeps state.
 *
 * Vocabulary: a "token" is one element of an Upgrade list, RFC 9110
 * section 7.8: protocol-name ["/" protocol-version], both RFC 9110 tokens.
 * Its "name" is the part before the slash.  Upgrade types (configuration
 * and tokens) compare case-insensitively.
 */
#ifndef SWITCHYARD_UPGRADE_H
#define SWITCHYARD_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchyard/conf.h"
#include "switchyard/http.h"

/* More tokens than this in one request's Upgrade headers: 400. */
#define SY_UPGRADE_MAX_TOKENS 16

/*
 * Private header that carries an upgrade's original method across an
 * HTTP/2 hop (SY_UPGRADE_PRESERVE_METHOD).  The HTTP/2 -> HTTP/1.1 side
 * always strips it, and the HTTP/1.1 -> HTTP/2 side always drops one
 * sent by the client, so it cannot be spoofed through switchyard.
 */
#define SY_UPGRADE_METHOD_HEADER "x-switchyard-upgrade-method"

/* ---- 1. decision ------------------------------------------------------ */

enum sy_upgrade_decision {
	SY_UPGRADE_REJECT = 0,
	SY_UPGRADE_ACCEPT = 1
};

/*
 * Decide one upgrade type (a token such as "websocket" or "foo/2") against
 * the listener's and the route's upgrade_configs, exactly as Envoy's
 * createUpgradeFilterChain: a route entry with enabled = false rejects; a
 * route entry with enabled = true accepts even when the listener disables
 * the type or does not list it; with no route entry the listener entry must
 * exist and be enabled.  Pass route = NULL, nroute = 0 when the route has
 * no upgrade_configs (or there is no route; the caller answers 404 then).
 *
 * An entry matches the token when its upgrade_type equals the whole token,
 * or, for an entry without a "/", the token's name: "foo" covers "foo/2",
 * "foo/2" covers only "foo/2".  An exact match wins over a name match, and
 * the first entry wins among equals.
 *
 * On SY_UPGRADE_ACCEPT, *chain (if chain is not NULL) is the listener entry
 * whose custom filters replace the default chain, or NULL for the default
 * http_filters; the custom chain applies whenever the listener entry exists
 * and has filters, even if it is disabled and the route enabled the type.
 * On SY_UPGRADE_REJECT, *chain is NULL.
 */
enum sy_upgrade_decision sy_upgrade_decide(const struct sy_conf_upgrade *listener,
    unsigned nlistener, const struct sy_conf_upgrade *route, unsigned nroute,
    const char *type, const struct sy_conf_upgrade **chain);

/* ---- 2. request analysis ---------------------------------------------- */

/*
 * An HTTP/1.1 upgrade request: version 1.1, an Upgrade header, and the
 * "upgrade" token in Connection (any of its fields, any case, so Firefox's
 * "keep-alive, Upgrade" counts).  HTTP/1.0 never upgrades (RFC 9110 7.8).
 */
bool sy_upgrade_is_request(const struct sy_msg *req);
/* An extended CONNECT (RFC 8441): :method CONNECT and a :protocol. */
bool sy_upgrade_is_extended_connect(const struct sy_msg *req);

/* One element of an Upgrade list (or a :protocol). */
struct sy_upgrade_token {
	const char *text;	/* "foo/2" as sent, case kept, NUL-terminated */
	uint32_t len;		/* strlen(text) */
	uint32_t name_len;	/* length of the name: 3 for "foo/2" */
	bool websocket;		/* the name is "websocket" (any case) */
	const struct sy_conf_upgrade *chain;	/* see sy_upgrade_decide */
	/*
	 * The upgrade_type of the entry that allowed the token: the route's
	 * when the route decided, else the listener's.  Name per-type stats
	 * after it: "WebSocket" and "foo/2" count as the configured
	 * "websocket" and "foo".
	 */
	const char *conf_type;
};

enum sy_upgrade_outcome {
	/*
	 * Not an upgrade (no Upgrade, no "upgrade" in Connection, HTTP/1.0,
	 * or nothing left once h2c was dropped): proxy as an ordinary request,
	 * after sy_http_strip_hop_by_hop.
	 */
	SY_UPGRADE_NONE = 0,
	/* ntokens >= 1 allowed tokens: forward them, hold the payload. */
	SY_UPGRADE_ACCEPTED,
	/* Every token refused by the configuration: 403, then close. */
	SY_UPGRADE_REJECTED,
	/* Malformed Upgrade or :protocol, or RFC 6455 basics failed: 400, close. */
	SY_UPGRADE_INVALID
};

struct sy_upgrade_req {
	int outcome;			/* enum sy_upgrade_outcome */
	bool extended_connect;		/* the request was an extended CONNECT */
	bool websocket;			/* one of the allowed tokens is websocket */
	struct sy_upgrade_token *tokens;	/* ACCEPTED: allowed tokens, request order */
	unsigned ntokens;
	/*
	 * ACCEPTED: the filter chain to run (tokens[0].chain): the listener
	 * entry with custom filters, NULL for the default chain.  With several
	 * allowed tokens the first one's chain is used, because the chain is
	 * chosen before the upstream picks a protocol.
	 */
	const struct sy_conf_upgrade *chain;
	const char *refused;		/* first token the config refused, or NULL */
	unsigned nh2c;			/* h2c tokens dropped */
	const char *why;		/* REJECTED, INVALID: short reason, static */
};

/*
 * Analyse a request head from a client and decide it token by token with
 * sy_upgrade_decide.  Fills *out; returns 0, or -1 (ENOMEM).
 *
 * HTTP/1.x: HTTP2-Settings is always removed (with its Connection token),
 * and h2c tokens are always dropped.  ACCEPTED: the Upgrade header is
 * rewritten to the allowed tokens only, in their order, as one field; if
 * websocket is among them the request must pass sy_ws_check_request (else
 * INVALID with its reason).  NONE: Upgrade and the "upgrade" Connection
 * token are removed, so the request is an ordinary one.  REJECTED and
 * INVALID leave the rest of the message as it came.
 *
 * Extended CONNECT (HTTP/2): the type is :protocol, which must be a single
 * valid token other than h2c (else INVALID); nothing is rewritten.
 */
int sy_upgrade_analyze_request(struct sy_msg *req,
    const struct sy_conf_upgrade *listener, unsigned nlistener,
    const struct sy_conf_upgrade *route, unsigned nroute,
    struct sy_upgrade_req *out);

/* ---- 3. hop-by-hop headers -------------------------------------------- */

/*
 * For an ordinary request or response forwarded on HTTP/1.1: remove every
 * hop-by-hop header (sy_http_is_hop_by_hop: Connection, Keep-Alive,
 * Proxy-Connection, TE, Trailer, Upgrade, Proxy-Authenticate,
 * Proxy-Authorization; and HTTP2-Settings) and every header named in
 * Connection.  Framing stays: Transfer-Encoding and Content-Length are
 * never removed (the body is relayed with the framing it came with and the
 * parser only admits "chunked"), nor are pseudo-headers and Host, even when
 * Connection names them.  0, or -1 (ENOMEM).
 */
int sy_http_strip_hop_by_hop(struct sy_msg *m);

/*
 * For an ACCEPTED upgrade request forwarded on HTTP/1.1 (call after
 * sy_upgrade_analyze_request): the same stripping, except that Upgrade is
 * kept and Connection becomes exactly "upgrade".  A body's framing is kept
 * so the upstream can read it (Docker's POST with Upgrade: tcp).
 */
int sy_upgrade_prepare_h1_request(struct sy_msg *req);

/*
 * For a 101 that sy_upgrade_check_response called a TUNNEL, relayed to an
 * HTTP/1.1 client: strip hop-by-hop except Upgrade, set Connection:
 * upgrade, and remove Content-Length and Transfer-Encoding (a 101 has no
 * body; it is relayed bare).
 */
int sy_upgrade_prepare_h1_response(struct sy_msg *resp);

/* ---- 4. WebSocket (RFC 6455) ------------------------------------------ */

#define SY_WS_KEY_LEN 24	/* base64 of 16 bytes */
#define SY_WS_ACCEPT_LEN 28	/* base64 of a SHA-1 */
#define SY_WS_VERSION "13"

/*
 * RFC 6455 basics of an HTTP/1.1 WebSocket upgrade request: method GET,
 * exactly one Sec-WebSocket-Version equal to 13, exactly one
 * Sec-WebSocket-Key that is base64 of 16 bytes.  Returns 0, or 400 with
 * *why (static) naming the first failure.  Does not look at Upgrade.
 */
int sy_ws_check_request(const struct sy_msg *req, const char **why);
/* Is [key, key+len) a valid Sec-WebSocket-Key (24 base64 chars, 16 bytes)? */
bool sy_ws_key_valid(const char *key, size_t len);
/*
 * Sec-WebSocket-Accept for a key: base64(SHA-1(key + the RFC 6455 GUID)),
 * 28 characters and a NUL in out.  0, or -1 (OpenSSL failure).
 */
int sy_ws_accept(const char *key, char out[SY_WS_ACCEPT_LEN + 1]);
/* A fresh key: base64 of 16 bytes from RAND_bytes.  0, or -1. */
int sy_ws_key_generate(char out[SY_WS_KEY_LEN + 1]);

/* ---- 5. response check ------------------------------------------------ */

enum sy_upgrade_verdict {
	/* Relay as an ordinary response; no tunnel.  After an upgrade
	 * request: drop the held payload and close both connections. */
	SY_UPGRADE_RESP_ORDINARY = 0,
	/* 1xx other than 101: relay (or drop) it and wait for the next head;
	 * the held payload stays held. */
	SY_UPGRADE_RESP_INTERIM,
	/* The upgrade succeeded: relay the head, then the payload, as a tunnel. */
	SY_UPGRADE_RESP_TUNNEL,
	/* Answer 502 to the client and close both connections. */
	SY_UPGRADE_RESP_BAD
};

/*
 * Judge an upstream response head against the request as it was sent to
 * that upstream (after this module's rewriting), for every response,
 * upgrade or not.  Returns an enum sy_upgrade_verdict; *why (static) says
 * what was wrong for BAD; on TUNNEL *chosen (if not NULL) is the index of
 * the selected protocol in the request's Upgrade list (0 for :protocol),
 * which is also its index in struct sy_upgrade_req's tokens.
 *
 * HTTP/1.x: TUNNEL only for a 101 (HTTP/1.1) to an upgrade request, with
 * Connection: upgrade and an Upgrade list whose every token was offered
 * (the same name, and the same version when both give one), and for
 * websocket a single Sec-WebSocket-Accept matching the request's key.  A
 * 101 to a request that did not ask to upgrade, or any of those checks
 * failing, is BAD.  Any other final status is ORDINARY, even with Upgrade
 * headers (CVE-2024-23326).
 *
 * HTTP/2 (answer to an extended CONNECT): TUNNEL only for 200 without a
 * body indication (Content-Length other than 0, Transfer-Encoding: BAD);
 * Sec-WebSocket-Accept is not used over HTTP/2, but when both the request
 * carried a key and the answer an accept, they must match.  A 101 is BAD;
 * any other final status is ORDINARY.
 */
int sy_upgrade_check_response(const struct sy_msg *req, const struct sy_msg *resp,
    unsigned *chosen, const char **why);

/* ---- 6. HTTP/1.1 <-> HTTP/2 (RFC 8441) -------------------------------- */

/* Flags for the request transformations. */
#define SY_UPGRADE_PRESERVE_METHOD	0x1	/* carry a non-GET method in SY_UPGRADE_METHOD_HEADER */
#define SY_UPGRADE_KEEP_WS_KEY		0x2	/* H1->H2: send sec-websocket-key along */

/*
 * What a request transformation did, kept with the stream and handed to
 * the matching response transformation.
 */
struct sy_upgrade_xlate {
	const char *token;	/* the upgrade token / :protocol (arena) */
	bool websocket;
	/* H1->H2: the client's key, from which the client's accept is made;
	 * H2->H1: the key sent to the HTTP/1.1 upstream. "" when none. */
	char ws_key[SY_WS_KEY_LEN + 1];
	bool key_generated;	/* H2->H1: switchyard made the key up */
	const char *method;	/* the method before the transformation */
};

/*
 * HTTP/1.1 upgrade request -> HTTP/2 extended CONNECT, for an HTTP/2
 * upstream: :method CONNECT, :protocol = the first Upgrade token (the
 * others cannot be offered over HTTP/2), :scheme, :path and :authority
 * kept; every hop-by-hop header and those named in Connection removed,
 * Content-Length: 0 removed.  For websocket the client's key is saved in
 * x->ws_key and, since RFC 8441 does not use it, removed from the request
 * unless SY_UPGRADE_KEEP_WS_KEY (useful toward proxies that do not make up
 * a key when they go back to HTTP/1.1, such as Envoy); Sec-WebSocket-Version
 * and the other headers stay.  With SY_UPGRADE_PRESERVE_METHOD a method
 * other than GET travels in SY_UPGRADE_METHOD_HEADER.
 * Returns 0; -1 with EBADMSG when the request has a body (non-zero
 * Content-Length or Transfer-Encoding: the caller answers 400, the HTTP/2
 * upgrade path carries no bodies), EINVAL when it is not an HTTP/1.1
 * upgrade, lacks :path/:authority/:scheme, or is a websocket without a
 * valid key (the message is then untouched), ENOMEM.
 */
int sy_upgrade_h1_to_h2_request(struct sy_msg *req, unsigned flags,
    struct sy_upgrade_xlate *x);

/*
 * The HTTP/2 upstream's answer -> the HTTP/1.1 client: a 200 becomes
 * "101 Switching Protocols" with Upgrade: x->token, Connection: upgrade and,
 * for websocket, Sec-WebSocket-Accept computed from the client's key
 * (replacing whatever the upstream sent); Content-Length goes.  Any other
 * status is left as it is for ordinary relaying.  Call it after
 * sy_upgrade_check_response, with the x that sy_upgrade_h1_to_h2_request
 * filled.  0, or -1 (ENOMEM; EINVAL: websocket without a saved key; EIO:
 * SHA-1 failed).
 */
int sy_upgrade_h2_to_h1_response(struct sy_msg *resp, const struct sy_upgrade_xlate *x);

/*
 * HTTP/2 extended CONNECT -> HTTP/1.1 upgrade request, for an HTTP/1.1
 * upstream: :method GET, Upgrade: <:protocol>, Connection: upgrade,
 * :protocol removed.  THE DOCUMENTED FLAW (kept from Envoy by default): the
 * method of the original HTTP/1.1 request is not carried by extended
 * CONNECT, so an upgrade sent with POST reaches the HTTP/1.1 upstream as
 * GET.  With SY_UPGRADE_PRESERVE_METHOD the method in
 * SY_UPGRADE_METHOD_HEADER (if a valid token) is used instead; the header
 * is removed in every case.  For websocket without a Sec-WebSocket-Key (a
 * native RFC 8441 client) a fresh key and, if absent,
 * Sec-WebSocket-Version: 13 are added and x->key_generated set; a key that
 * came along is kept.  Either way x->ws_key is the key sent.
 * Returns 0; -1 with EBADMSG for a non-zero Content-Length (400),
 * EINVAL when not an extended CONNECT, :protocol is not one valid token,
 * :path is missing or a websocket key is malformed (untouched), ENOMEM, or
 * EIO when no random key could be made.
 */
int sy_upgrade_h2_to_h1_request(struct sy_msg *req, unsigned flags,
    struct sy_upgrade_xlate *x);

/*
 * The HTTP/1.1 upstream's answer -> the HTTP/2 client: hop-by-hop headers
 * (including Transfer-Encoding, which HTTP/2 forbids) are removed from any
 * response; a 101 becomes 200 without Upgrade, Connection and
 * Content-Length, and without Sec-WebSocket-Accept when switchyard made
 * the key up (a key that came from the client gets its accept through
 * untouched).  Call it after sy_upgrade_check_response.  0, or -1 (ENOMEM).
 */
int sy_upgrade_h1_to_h2_response(struct sy_msg *resp, const struct sy_upgrade_xlate *x);

#endif
