/*
 * tls.c - OpenSSL contexts and TLS I/O.  Contexts are built through the
 * conf hooks whenever a configuration is loaded: in the master at start
 * and on SIGHUP (so root-only keys load before workers drop privileges),
 * and by -t; workers inherit them across fork.  A listener has one
 * context per certificate: the first is the default, the others are
 * chosen by SNI.  Renegotiation is off; handshakes are non-blocking and
 * driven by the connection's reads.  Keys live only inside OpenSSL, which
 * cleanses them when a context is freed; nothing here copies them.
 *
 * Deliberately not here: choosing the codec (conn.c does it from the
 * ALPN result), timeouts (the connection's timer), counting bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "switchyard/conn.h"
#include "switchyard/log.h"
#include "switchyard/stats.h"
#include "switchyard/tls.h"

struct sy_tls_ctx {
	SSL_CTX **v;			/* listener: one per certificate; cluster: one */
	unsigned n;
	const struct sy_conf_listener *listener;
	const struct sy_conf_cluster *cluster;
	unsigned char alpn[32];		/* wire format: length-prefixed names */
	unsigned alpn_len;
};

/* The server side of one downstream connection. */
struct tls_conn {
	SSL *ssl;
	struct sy_conn *c;
	const struct sy_tls_ctx *ctx;
	void (*on_established)(struct sy_conn *c);
	bool established;
	bool failed;
};

struct sy_tls_client {
	SSL *ssl;
	const struct sy_conf_cluster *cluster;
	bool established;
};

const char *
sy_tls_library_version(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}

/*
 * The first OpenSSL error as text (and the queue cleared): for a file,
 * the first says why ("No such file or directory", "no start line"),
 * the last only which wrapper gave up.
 */
static const char *
tls_err(char *buf, size_t len)
{
	unsigned long e = ERR_peek_error();

	if (e == 0)
		snprintf(buf, len, "unknown error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

static void
tls_stat(uint32_t base, unsigned stat)
{
	if (base != UINT32_MAX)
		sy_stat_inc(base + stat);
}

/* Counters common to both sides once a handshake completed. */
static void
tls_count_established(uint32_t base, SSL *ssl, bool peer_cert_expected)
{
	const unsigned char *p;
	unsigned len;
	X509 *peer;

	tls_stat(base, SY_SSL_handshake);
	SSL_get0_alpn_selected(ssl, &p, &len);
	if (len == 2 && memcmp(p, "h2", 2) == 0)
		tls_stat(base, SY_SSL_alpn_h2);
	else if (len == 8 && memcmp(p, "http/1.1", 8) == 0)
		tls_stat(base, SY_SSL_alpn_http11);
	else
		tls_stat(base, SY_SSL_alpn_none);
	if (SSL_version(ssl) == TLS1_3_VERSION)
		tls_stat(base, SY_SSL_versions_tls13);
	else if (SSL_version(ssl) == TLS1_2_VERSION)
		tls_stat(base, SY_SSL_versions_tls12);
	peer = SSL_get1_peer_certificate(ssl);
	if (peer == NULL && !peer_cert_expected)
		tls_stat(base, SY_SSL_no_certificate);
	X509_free(peer);
}

/* ---- contexts ---------------------------------------------------------- */

static int
tls_alpn_wire(struct sy_tls_ctx *t, char **names, unsigned n, const char *const *defaults)
{
	unsigned i;

	t->alpn_len = 0;
	if (n == 0) {
		for (i = 0; defaults[i] != NULL; i++)
			;
		names = (char **)(uintptr_t)defaults;
		n = i;
	}
	for (i = 0; i < n; i++) {
		size_t l = strlen(names[i]);

		if (l == 0 || l > 255 || t->alpn_len + 1 + l > sizeof(t->alpn))
			return -1;
		t->alpn[t->alpn_len++] = (unsigned char)l;
		memcpy(t->alpn + t->alpn_len, names[i], l);
		t->alpn_len += (unsigned)l;
	}
	return 0;
}

static int
tls_min_version(int v)
{
	return v == SY_TLS_V13 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

/* ALPN: our preference order, among what the client offers. */
static int
tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned inlen, void *arg)
{
	const struct sy_tls_ctx *t = arg;
	unsigned char *sel = NULL;

	(void)ssl;
	if (SSL_select_next_proto(&sel, outlen, t->alpn, t->alpn_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;	/* no common protocol: go on without ALPN */
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static bool
tls_name_match(const char *pattern, const char *name)
{
	if (pattern[0] == '*' && pattern[1] == '.') {
		const char *dot = strchr(name, '.');

		/* "*.b.example" covers one label: "a.b.example", not "b.example". */
		return dot != NULL && dot != name && strcasecmp(dot + 1, pattern + 2) == 0;
	}
	return strcasecmp(pattern, name) == 0;
}

/* SNI: an exact server_names entry first, then a wildcard, else the default. */
static int
tls_servername(SSL *ssl, int *alert, void *arg)
{
	const struct sy_tls_ctx *t = arg;
	const struct sy_conf_tls *ct = &t->listener->tls;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	unsigned i, j, pass;

	(void)alert;
	if (name == NULL || t->n <= 1)
		return SSL_TLSEXT_ERR_OK;	/* one certificate: nothing to choose */
	for (pass = 0; pass < 2; pass++) {
		for (i = 1; i < t->n; i++) {
			const struct sy_conf_tls_cert *cert = &ct->certs[i];

			for (j = 0; j < cert->nserver_names; j++) {
				bool wild = cert->server_names[j][0] == '*';

				if (wild != (pass == 1) || !tls_name_match(cert->server_names[j], name))
					continue;
				SSL_set_SSL_CTX(ssl, t->v[i]);
				return SSL_TLSEXT_ERR_OK;
			}
		}
	}
	tls_stat(t->listener->stats_ssl_base, SY_SSL_sni_unknown);
	return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *
tls_server_ctx(struct sy_tls_ctx *t, const struct sy_conf_tls *ct, const struct sy_conf_tls_cert *cert,
    const char *file, struct sy_conf_errors *errs)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char ebuf[256];

	if (ctx == NULL) {
		sy_conf_errors_add(errs, file, ct->line, "tls: %s", tls_err(ebuf, sizeof(ebuf)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, tls_min_version(ct->min_version));
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	    SSL_MODE_RELEASE_BUFFERS);
	if (ct->ciphers != NULL && SSL_CTX_set_cipher_list(ctx, ct->ciphers) != 1) {
		sy_conf_errors_add(errs, file, ct->line, "tls: ciphers \"%s\": %s", ct->ciphers,
		    tls_err(ebuf, sizeof(ebuf)));
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert->certificate) != 1) {
		sy_conf_errors_add(errs, file, cert->line, "tls: cannot load certificate \"%s\": %s",
		    cert->certificate, tls_err(ebuf, sizeof(ebuf)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cert->private_key, SSL_FILETYPE_PEM) != 1 &&
	    ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
		sy_conf_errors_add(errs, file, cert->line, "tls: cannot load private key \"%s\": %s",
		    cert->private_key, tls_err(ebuf, sizeof(ebuf)));
		goto fail;
	}
	if (ERR_peek_last_error() != 0 || SSL_CTX_check_private_key(ctx) != 1) {
		sy_conf_errors_add(errs, file, cert->line,
		    "tls: private key \"%s\" does not match certificate \"%s\"", cert->private_key,
		    cert->certificate);
		ERR_clear_error();
		goto fail;
	}
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select, t);
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_servername);
	SSL_CTX_set_tlsext_servername_arg(ctx, t);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static void
tls_ctx_free(struct sy_tls_ctx *t)
{
	unsigned i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		SSL_CTX_free(t->v[i]);
	free(t->v);
	free(t);
}

static int
tls_listener_load(struct sy_conf *conf, struct sy_conf_listener *l, struct sy_conf_errors *errs)
{
	static const char *const alpn_auto[] = { "h2", "http/1.1", NULL };
	static const char *const alpn_h2[] = { "h2", NULL };
	static const char *const alpn_h1[] = { "http/1.1", NULL };
	struct sy_conf_tls *ct = &l->tls;
	struct sy_tls_ctx *t;
	unsigned i;

	if ((t = calloc(1, sizeof(*t))) == NULL || (t->v = calloc(ct->ncerts, sizeof(*t->v))) == NULL) {
		free(t);
		sy_conf_errors_add(errs, conf->path, ct->line, "tls: out of memory");
		return -1;
	}
	t->listener = l;
	if (tls_alpn_wire(t, ct->alpn, ct->nalpn, l->http.codec_type == SY_CODEC_HTTP2 ? alpn_h2 :
	    l->http.codec_type == SY_CODEC_HTTP1 ? alpn_h1 : alpn_auto) == -1) {
		sy_conf_errors_add(errs, conf->path, ct->line, "tls: alpn list too long");
		tls_ctx_free(t);
		return -1;
	}
	for (i = 0; i < ct->ncerts; i++) {
		if ((t->v[i] = tls_server_ctx(t, ct, &ct->certs[i], conf->path, errs)) == NULL) {
			tls_ctx_free(t);
			return -1;
		}
		t->n = i + 1;
	}
	ct->ctx = t;
	return 0;
}

static int
tls_cluster_load(struct sy_conf *conf, struct sy_conf_cluster *c, struct sy_conf_errors *errs)
{
	static const char *const alpn_auto[] = { "h2", "http/1.1", NULL };
	static const char *const alpn_h2[] = { "h2", NULL };
	static const char *const alpn_h1[] = { "http/1.1", NULL };
	struct sy_conf_upstream_tls *ct = &c->tls;
	struct sy_tls_ctx *t;
	SSL_CTX *ctx;
	char ebuf[256];

	if ((t = calloc(1, sizeof(*t))) == NULL || (t->v = calloc(1, sizeof(*t->v))) == NULL) {
		free(t);
		sy_conf_errors_add(errs, conf->path, ct->line, "tls: out of memory");
		return -1;
	}
	t->cluster = c;
	if (tls_alpn_wire(t, ct->alpn, ct->nalpn, c->protocol == SY_PROTO_HTTP2 ? alpn_h2 :
	    c->protocol == SY_PROTO_HTTP1 ? alpn_h1 : alpn_auto) == -1 ||
	    (ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		sy_conf_errors_add(errs, conf->path, ct->line, "tls: cannot build the client context");
		tls_ctx_free(t);
		return -1;
	}
	t->v[0] = ctx;
	t->n = 1;
	SSL_CTX_set_min_proto_version(ctx, tls_min_version(ct->min_version));
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	    SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_alpn_protos(ctx, t->alpn, t->alpn_len);
	if (ct->verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (ct->ca_file != NULL) {
			if (SSL_CTX_load_verify_locations(ctx, ct->ca_file, NULL) != 1) {
				sy_conf_errors_add(errs, conf->path, ct->line,
				    "tls: cannot load ca_file \"%s\": %s", ct->ca_file,
				    tls_err(ebuf, sizeof(ebuf)));
				goto fail;
			}
		} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			sy_conf_errors_add(errs, conf->path, ct->line,
			    "tls: cannot load the system trust store: %s", tls_err(ebuf, sizeof(ebuf)));
			goto fail;
		}
	}
	if (ct->certificate != NULL) {
		if (SSL_CTX_use_certificate_chain_file(ctx, ct->certificate) != 1) {
			sy_conf_errors_add(errs, conf->path, ct->line,
			    "tls: cannot load certificate \"%s\": %s", ct->certificate,
			    tls_err(ebuf, sizeof(ebuf)));
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, ct->private_key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			sy_conf_errors_add(errs, conf->path, ct->line,
			    "tls: cannot use private key \"%s\": %s", ct->private_key,
			    tls_err(ebuf, sizeof(ebuf)));
			goto fail;
		}
	}
	ct->ctx = t;
	return 0;
fail:
	tls_ctx_free(t);
	return -1;
}

static void tls_conf_freeing(struct sy_conf *c);

static int
tls_conf_loaded(struct sy_conf *c, struct sy_conf_errors *errs)
{
	unsigned i;
	int rc = 0;

	for (i = 0; i < c->nlisteners; i++)
		if (c->listeners[i].tls.enabled && tls_listener_load(c, &c->listeners[i], errs) == -1)
			rc = -1;
	for (i = 0; i < c->nclusters; i++)
		if (c->clusters[i].tls.enabled && tls_cluster_load(c, &c->clusters[i], errs) == -1)
			rc = -1;
	if (rc == -1)
		tls_conf_freeing(c);
	return rc;
}

static void
tls_conf_freeing(struct sy_conf *c)
{
	unsigned i;

	for (i = 0; i < c->nlisteners; i++) {
		tls_ctx_free(c->listeners[i].tls.ctx);
		c->listeners[i].tls.ctx = NULL;
	}
	for (i = 0; i < c->nclusters; i++) {
		tls_ctx_free(c->clusters[i].tls.ctx);
		c->clusters[i].tls.ctx = NULL;
	}
}

const struct sy_conf_hooks sy_tls_conf_hooks = {
	.loaded = tls_conf_loaded,
	.freeing = tls_conf_freeing,
};

/* ---- server I/O -------------------------------------------------------- */

static void
tls_handshake_failed(struct tls_conn *t, int err)
{
	char ebuf[256];
	unsigned long e = ERR_peek_last_error();

	t->failed = true;
	tls_stat(t->ctx->listener->stats_ssl_base, SY_SSL_connection_error);
	if (e != 0 || err == SSL_ERROR_SSL)
		sy_log_conn(SY_LOG_INFO, &t->c->log, "tls handshake failed: %s", tls_err(ebuf, sizeof(ebuf)));
	else
		sy_log_conn(SY_LOG_INFO, &t->c->log, "tls handshake failed: connection closed");
	ERR_clear_error();
}

/*
 * SSL_ERROR_* -> the read(2)/send(2) contract of both sides: -1 with
 * errno EAGAIN (and *want_write when TLS must write first), 0 at the end
 * of the stream, -1 with another errno on failure.
 */
static ssize_t
tls_map_error(int err, bool reading, bool *want_write)
{
	*want_write = false;
	switch (err) {
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*want_write = true;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		if (reading)
			return 0;
		errno = EPIPE;
		return -1;
	case SSL_ERROR_SYSCALL:
		if (errno == 0) {
			/* EOF without close_notify (OpenSSL 1.1): the peer is gone. */
			if (reading)
				return 0;
			errno = EPIPE;
		}
		ERR_clear_error();
		return -1;
	case SSL_ERROR_SSL:
		/* OpenSSL 3 reports a FIN without close_notify this way: EOF too. */
		if (reading && ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			return 0;
		}
		/* FALLTHROUGH */
	default:
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

static ssize_t
tls_io_error(struct sy_conn *c, int err, bool reading)
{
	bool want_write;
	ssize_t rc = tls_map_error(err, reading, &want_write);

	if (want_write)
		c->io_want_write = true;
	return rc;
}

static ssize_t
tls_read(struct sy_conn *c, void *p, size_t n)
{
	struct tls_conn *t = c->io_ctx;
	int rc, err;

	c->io_want_write = false;
	if (t->failed) {
		errno = EPROTO;
		return -1;
	}
	if (!t->established) {
		ERR_clear_error();
		errno = 0;
		rc = SSL_do_handshake(t->ssl);
		if (rc != 1) {
			err = SSL_get_error(t->ssl, rc);
			if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
				return tls_io_error(c, err, true);
			tls_handshake_failed(t, err);
			errno = EPROTO;
			return -1;
		}
		t->established = true;
		tls_count_established(t->ctx->listener->stats_ssl_base, t->ssl, false);
		if (t->on_established != NULL)
			t->on_established(c);
		if (c->closed) {
			errno = EPROTO;
			return -1;
		}
	}
	ERR_clear_error();
	errno = 0;
	rc = SSL_read(t->ssl, p, (int)SY_MIN(n, (size_t)INT32_MAX));
	if (rc > 0)
		return rc;
	return tls_io_error(c, SSL_get_error(t->ssl, rc), true);
}

static ssize_t
tls_write(struct sy_conn *c, const void *p, size_t n)
{
	struct tls_conn *t = c->io_ctx;
	int rc;

	if (!t->established || t->failed) {
		errno = EAGAIN;
		return -1;
	}
	ERR_clear_error();
	errno = 0;
	rc = SSL_write(t->ssl, p, (int)SY_MIN(n, (size_t)INT32_MAX));
	if (rc > 0)
		return rc;
	return tls_io_error(c, SSL_get_error(t->ssl, rc), false);
}

static void
tls_shutdown_write(struct sy_conn *c)
{
	struct tls_conn *t = c->io_ctx;

	if (t->established && !t->failed) {
		ERR_clear_error();
		SSL_shutdown(t->ssl);	/* close_notify; we may still read */
		ERR_clear_error();
	}
	shutdown(c->fd, SHUT_WR);
}

static size_t
tls_pending(struct sy_conn *c)
{
	struct tls_conn *t = c->io_ctx;

	return t->established ? (size_t)SSL_pending(t->ssl) : 0;
}

static void
tls_close(struct sy_conn *c)
{
	struct tls_conn *t = c->io_ctx;

	if (t->established && !t->failed && !(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN)) {
		ERR_clear_error();
		SSL_shutdown(t->ssl);
	}
	ERR_clear_error();
	SSL_free(t->ssl);
	sy_stat_dec(c->listener->http.stats_base + SY_HTTP_downstream_cx_ssl_active);
	free(t);
	c->io_ctx = NULL;
	close(c->fd);
}

static const struct sy_conn_io tls_io = {
	.read = tls_read,
	.write = tls_write,
	.close = tls_close,
	.shutdown_write = tls_shutdown_write,
	.pending = tls_pending,
};

int
sy_tls_server_attach(struct sy_conn *c, void (*on_established)(struct sy_conn *c))
{
	const struct sy_tls_ctx *ctx = c->listener->tls.ctx;
	struct tls_conn *t;

	if (ctx == NULL || (t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	if ((t->ssl = SSL_new(ctx->v[0])) == NULL || SSL_set_fd(t->ssl, c->fd) != 1) {
		SSL_free(t->ssl);
		free(t);
		ERR_clear_error();
		return -1;
	}
	SSL_set_accept_state(t->ssl);
	t->c = c;
	t->ctx = ctx;
	t->on_established = on_established;
	c->io = &tls_io;
	c->io_ctx = t;
	sy_stat_inc(c->listener->http.stats_base + SY_HTTP_downstream_cx_ssl_total);
	sy_stat_inc(c->listener->http.stats_base + SY_HTTP_downstream_cx_ssl_active);
	return 0;
}

const char *
sy_tls_conn_alpn(const struct sy_conn *c)
{
	const struct tls_conn *t = c->io_ctx;
	const unsigned char *p;
	unsigned len;

	if (t == NULL || !t->established)
		return NULL;
	SSL_get0_alpn_selected(t->ssl, &p, &len);
	if (len == 2 && memcmp(p, "h2", 2) == 0)
		return "h2";
	if (len == 8 && memcmp(p, "http/1.1", 8) == 0)
		return "http/1.1";
	return NULL;
}

bool
sy_tls_conn_established(const struct sy_conn *c)
{
	const struct tls_conn *t = c->io_ctx;

	return t != NULL && t->established;
}

/* ---- client ------------------------------------------------------------ */

struct sy_tls_client *
sy_tls_client_new(const struct sy_conf_cluster *cluster, int fd, const char *endpoint_host)
{
	const struct sy_tls_ctx *ctx = cluster->tls.ctx;
	struct sy_tls_client *t;
	const char *name = cluster->tls.sni != NULL ? cluster->tls.sni : endpoint_host;
	char host[256];
	size_t l;

	if (ctx == NULL || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->cluster = cluster;
	if ((t->ssl = SSL_new(ctx->v[0])) == NULL || SSL_set_fd(t->ssl, fd) != 1)
		goto fail;
	SSL_set_connect_state(t->ssl);
	/* "[::1]" -> "::1" */
	snprintf(host, sizeof(host), "%s", name != NULL ? name : "");
	l = strlen(host);
	if (l >= 2 && host[0] == '[' && host[l - 1] == ']') {
		memmove(host, host + 1, l - 2);
		host[l - 2] = '\0';
	}
	if (host[0] != '\0') {
		X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);

		if (ip != NULL) {
			/* An address: no SNI (RFC 6066 3), check it against the IP SANs. */
			ASN1_OCTET_STRING_free(ip);
			if (cluster->tls.verify && X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1)
				goto fail;
		} else {
			if (SSL_set_tlsext_host_name(t->ssl, host) != 1)
				goto fail;
			if (cluster->tls.verify && SSL_set1_host(t->ssl, host) != 1)
				goto fail;
		}
	}
	ERR_clear_error();
	return t;
fail:
	ERR_clear_error();
	SSL_free(t->ssl);
	free(t);
	return NULL;
}

int
sy_tls_client_handshake(struct sy_tls_client *t, bool *want_write, char *why, size_t whylen)
{
	uint32_t base = t->cluster->stats_ssl_base;
	char ebuf[256];
	long vr;
	int rc, err;

	*want_write = false;
	ERR_clear_error();
	errno = 0;
	rc = SSL_do_handshake(t->ssl);
	if (rc == 1) {
		X509 *peer = SSL_get1_peer_certificate(t->ssl);

		if (peer == NULL && t->cluster->tls.verify) {
			/* Only anonymous suites get here; verification needs a certificate. */
			X509_free(peer);
			tls_stat(base, SY_SSL_fail_verify_no_cert);
			snprintf(why, whylen, "certificate verify failed: no certificate");
			return SY_ERROR;
		}
		X509_free(peer);
		t->established = true;
		tls_count_established(base, t->ssl, t->cluster->tls.verify);
		return SY_OK;
	}
	err = SSL_get_error(t->ssl, rc);
	if (err == SSL_ERROR_WANT_READ)
		return SY_AGAIN;
	if (err == SSL_ERROR_WANT_WRITE) {
		*want_write = true;
		return SY_AGAIN;
	}
	vr = SSL_get_verify_result(t->ssl);
	if (t->cluster->tls.verify && vr != X509_V_OK) {
		/* A failed handshake keeps no peer certificate: the code tells. */
		if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH ||
		    vr == X509_V_ERR_EMAIL_MISMATCH)
			tls_stat(base, SY_SSL_fail_verify_san);
		else
			tls_stat(base, SY_SSL_fail_verify_error);
		snprintf(why, whylen, "certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
		ERR_clear_error();
	} else {
		tls_stat(base, SY_SSL_connection_error);
		if (err == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0)
			snprintf(why, whylen, "tls handshake failed: %s",
			    errno != 0 ? strerror(errno) : "connection closed");
		else
			snprintf(why, whylen, "tls handshake failed: %s", tls_err(ebuf, sizeof(ebuf)));
	}
	return SY_ERROR;
}

ssize_t
sy_tls_client_read(struct sy_tls_client *t, void *p, size_t n, bool *want_write)
{
	int rc;

	ERR_clear_error();
	errno = 0;
	rc = SSL_read(t->ssl, p, (int)SY_MIN(n, (size_t)INT32_MAX));
	if (rc > 0) {
		*want_write = false;
		return rc;
	}
	return tls_map_error(SSL_get_error(t->ssl, rc), true, want_write);
}

ssize_t
sy_tls_client_write(struct sy_tls_client *t, const void *p, size_t n, bool *want_write)
{
	int rc;

	ERR_clear_error();
	errno = 0;
	rc = SSL_write(t->ssl, p, (int)SY_MIN(n, (size_t)INT32_MAX));
	if (rc > 0) {
		*want_write = false;
		return rc;
	}
	return tls_map_error(SSL_get_error(t->ssl, rc), false, want_write);
}

size_t
sy_tls_client_pending(const struct sy_tls_client *t)
{
	return t->established ? (size_t)SSL_pending(t->ssl) : 0;
}

void
sy_tls_client_shutdown(struct sy_tls_client *t)
{
	if (t->established && !(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN)) {
		ERR_clear_error();
		SSL_shutdown(t->ssl);
		ERR_clear_error();
	}
}

const char *
sy_tls_client_alpn(const struct sy_tls_client *t)
{
	const unsigned char *p;
	unsigned len;

	if (!t->established)
		return NULL;
	SSL_get0_alpn_selected(t->ssl, &p, &len);
	if (len == 2 && memcmp(p, "h2", 2) == 0)
		return "h2";
	if (len == 8 && memcmp(p, "http/1.1", 8) == 0)
		return "http/1.1";
	return NULL;
}

void
sy_tls_client_free(struct sy_tls_client *t)
{
	if (t == NULL)
		return;
	ERR_clear_error();
	SSL_free(t->ssl);
	free(t);
}
