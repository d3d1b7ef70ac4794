/*
 * upgrade_ws.c - the WebSocket (RFC 6455) handshake as far as a proxy
 * must know it: the basics of a client's upgrade request (GET, version 13,
 * a key that is base64 of 16 bytes), the Sec-WebSocket-Accept a genuine
 * server derives from the key, and fresh keys for requests that come from
 * HTTP/2 without one.  Frames are not here: after the handshake the
 * payload is opaque tunnel bytes.  SHA-1, base64 and the random bytes come
 * from OpenSSL, whose generator reseeds itself in a forked child.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "upgrade_int.h"

/* RFC 6455 section 1.3. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static bool
ws_is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

bool
sy_ws_key_valid(const char *key, size_t len)
{
	size_t i;

	/* 16 bytes: 5 full groups of 3 (20 chars), then 1 byte (2 chars, "=="). */
	if (key == NULL || len != SY_WS_KEY_LEN)
		return false;
	for (i = 0; i < SY_WS_KEY_LEN - 2; i++)
		if (!ws_is_b64(key[i]))
			return false;
	return key[22] == '=' && key[23] == '=';
}

int
sy_ws_check_request(const struct sy_msg *req, const char **why)
{
	const struct sy_header *key;
	const char *method = sy_msg_method(req), *version, *dummy;

	if (why == NULL)
		why = &dummy;
	if (method == NULL || strcmp(method, "GET") != 0) {
		*why = "websocket upgrade with a method other than GET";
		return 400;
	}
	version = sy_headers_value(&req->headers, "sec-websocket-version");
	if (version == NULL || sy_headers_count(&req->headers, "sec-websocket-version") != 1 ||
	    strcmp(version, SY_WS_VERSION) != 0) {
		*why = "websocket upgrade without sec-websocket-version: 13";
		return 400;
	}
	key = sy_headers_get(&req->headers, "sec-websocket-key");
	if (key == NULL || sy_headers_count(&req->headers, "sec-websocket-key") != 1 ||
	    !sy_ws_key_valid(key->value, key->value_len)) {
		*why = "websocket upgrade without a valid sec-websocket-key";
		return 400;
	}
	*why = NULL;
	return 0;
}

int
sy_ws_accept(const char *key, char out[SY_WS_ACCEPT_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, key, strlen(key)) == 1 &&
	    EVP_DigestUpdate(ctx, ws_guid, sizeof(ws_guid) - 1) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 20;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	if (EVP_EncodeBlock((unsigned char *)out, md, 20) != SY_WS_ACCEPT_LEN)
		return -1;
	return 0;
}

int
sy_ws_key_generate(char out[SY_WS_KEY_LEN + 1])
{
	unsigned char raw[16];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	if (EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw)) != SY_WS_KEY_LEN)
		return -1;
	return 0;
}
