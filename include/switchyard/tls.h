/*
 * tls.h - TLS (OpenSSL) as an I/O layer under the codecs.  Contexts are
 * built when a configuration is loaded (in the master, before workers
 * drop privileges, and again on every reload), through the conf hooks:
 * a certificate or key that cannot be used fails the load with
 * "file:line: reason".  A downstream connection with TLS swaps its plain
 * I/O table for the one here; an upstream connection of a TLS cluster
 * does the client handshake before it reports itself connected.
 * openssl/ headers are included only by src/tls/.
 */
#ifndef SWITCHYARD_TLS_H
#define SWITCHYARD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "switchyard/conf.h"

struct sy_conn;

/* Hooks for sy_conf_set_hooks: build and free every TLS context of a config. */
extern const struct sy_conf_hooks sy_tls_conf_hooks;

/* "OpenSSL 3.0.19 27 Jan 2026" (for -V). */
const char *sy_tls_library_version(void);

/*
 * Downstream: put c on TLS (server side) with its listener's context.
 * on_established runs once, from inside c's read, when the handshake is
 * complete (ALPN known).  0, or -1 (ENOMEM).
 */
int sy_tls_server_attach(struct sy_conn *c, void (*on_established)(struct sy_conn *c));
/* The protocol ALPN selected ("h2", "http/1.1"), or NULL. */
const char *sy_tls_conn_alpn(const struct sy_conn *c);
bool sy_tls_conn_established(const struct sy_conn *c);

/*
 * Upstream (client side).  A struct sy_tls_client wraps one connected
 * socket; sy_tls_client_handshake returns SY_OK when done, SY_AGAIN
 * (wait for *want_write ? POLLOUT : POLLIN), or SY_ERROR with the reason
 * in why (and the cluster's ssl.* counters incremented).
 */
struct sy_tls_client;
struct sy_tls_client *sy_tls_client_new(const struct sy_conf_cluster *cluster, int fd,
    const char *endpoint_host);
int sy_tls_client_handshake(struct sy_tls_client *t, bool *want_write, char *why, size_t whylen);
/* Like recv/send: -1 with errno EAGAIN (and *want_write), or the error; 0 at EOF. */
ssize_t sy_tls_client_read(struct sy_tls_client *t, void *p, size_t n, bool *want_write);
ssize_t sy_tls_client_write(struct sy_tls_client *t, const void *p, size_t n, bool *want_write);
/* Decrypted bytes waiting inside the TLS layer. */
size_t sy_tls_client_pending(const struct sy_tls_client *t);
/* Send close_notify (best effort). */
void sy_tls_client_shutdown(struct sy_tls_client *t);
const char *sy_tls_client_alpn(const struct sy_tls_client *t);
void sy_tls_client_free(struct sy_tls_client *t);

#endif
