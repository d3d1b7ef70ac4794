/*
 * test_tls.c - unit tests for src/tls/tls.c: contexts built by the conf
 * hooks (every load error with its exact "file:line: tls: ..." text, a
 * good config loaded and freed), the server side driven through
 * sy_tls_server_attach on a hand-built struct sy_conn (ALPN in our order,
 * SNI: exact name, one-label wildcard, unknown -> default and
 * sni_unknown, min_version, ciphers, data both ways, close_notify, a
 * failed handshake), and the client side (sy_tls_client_*) against an
 * OpenSSL server written here (verification of the name, the IP SANs and
 * the chain, verify = false, SNI sent or not, ALPN, client certificates,
 * data both ways, close_notify).  Both ends are real OpenSSL talking over
 * a non-blocking AF_UNIX socketpair, stepped alternately; no mocks.  Keys
 * and certificates (EC P-256, one RSA key) are generated with the OpenSSL
 * C API into a temporary directory when the suite starts and removed at
 * exit; nothing is committed.  Counters are read from a real stats
 * segment, every non-zero ssl.* counter at once.
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "switchyard/conf.h"
#include "switchyard/conn.h"
#include "switchyard/core.h"
#include "switchyard/stats.h"
#include "switchyard/tls.h"
#include "unit.h"

/* ---- fixture files ----------------------------------------------------- */

/* The temporary directory; "@" in config texts and expected output. */
static char fx[PATH_MAX];
static pid_t fx_owner;

static const char *const fx_files[] = {
	"ca.pem", "default.pem", "default.key", "a.pem", "a.key", "wild.pem", "wild.key",
	"x.pem", "x.key", "backend.pem", "backend.key", "client.pem", "client.key",
	"rogue.pem", "rogue.key", "rsa.key", "notpem.pem", "empty.pem",
};

static void
fx_remove(void)
{
	char path[PATH_MAX + 32];
	size_t i;

	/* check's forked children exit too: only the process that made them. */
	if (getpid() != fx_owner || fx[0] == '\0')
		return;
	for (i = 0; i < SY_ARRAY_LEN(fx_files); i++) {
		snprintf(path, sizeof(path), "%s/%s", fx, fx_files[i]);
		unlink(path);
	}
	rmdir(fx);
}

static void
fx_write_key(const char *name, EVP_PKEY *key)
{
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx, name);
	if ((f = fopen(path, "w")) == NULL || PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1) {
		fprintf(stderr, "test_tls: cannot write %s\n", path);
		exit(1);
	}
	fclose(f);
}

static void
fx_write_cert(const char *name, X509 *x)
{
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx, name);
	if ((f = fopen(path, "w")) == NULL || PEM_write_X509(f, x) != 1) {
		fprintf(stderr, "test_tls: cannot write %s\n", path);
		exit(1);
	}
	fclose(f);
}

static void
fx_write_text(const char *name, const char *text)
{
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx, name);
	if ((f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "test_tls: cannot write %s\n", path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static void
fx_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, v3, nid, value);

	if (e == NULL || X509_add_ext(x, e, -1) != 1) {
		fprintf(stderr, "test_tls: extension %d \"%s\"\n", nid, value);
		exit(1);
	}
	X509_EXTENSION_free(e);
}

/*
 * A certificate for key: self-signed CA when issuer is NULL, else a leaf
 * with subjectAltName san signed by issuer/issuer_key.
 */
static X509 *
fx_cert(EVP_PKEY *key, const char *cn, const char *san, X509 *issuer, EVP_PKEY *issuer_key)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;

	if (x == NULL)
		exit(1);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86400);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	fx_ext(x, &v3, NID_subject_key_identifier, "hash");
	if (issuer == NULL) {
		fx_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE");
		fx_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		fx_ext(x, &v3, NID_authority_key_identifier, "keyid");
		fx_ext(x, &v3, NID_basic_constraints, "CA:FALSE");
		fx_ext(x, &v3, NID_key_usage, "critical,digitalSignature");
		fx_ext(x, &v3, NID_ext_key_usage, "serverAuth,clientAuth");
		fx_ext(x, &v3, NID_subject_alt_name, san);
	}
	if (X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) == 0) {
		fprintf(stderr, "test_tls: cannot sign %s\n", cn);
		exit(1);
	}
	return x;
}

static EVP_PKEY *
fx_ec_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	if (k == NULL)
		exit(1);
	return k;
}

/* A leaf signed by ca: name.pem and name.key. */
static void
fx_leaf(const char *name, const char *cn, const char *san, X509 *ca, EVP_PKEY *ca_key)
{
	char file[64];
	EVP_PKEY *k = fx_ec_key();
	X509 *x = fx_cert(k, cn, san, ca, ca_key);

	snprintf(file, sizeof(file), "%s.pem", name);
	fx_write_cert(file, x);
	snprintf(file, sizeof(file), "%s.key", name);
	fx_write_key(file, k);
	X509_free(x);
	EVP_PKEY_free(k);
}

/*
 * ca.pem: the CA the clusters trust.  Leaves (CN = the first SAN):
 * default, a (a.example), wild (*.b.example), x (x.b.example), backend
 * (backend.test, 127.0.0.1, ::1), client (client.test); rogue: the same
 * names as backend from a CA nobody trusts.  rsa.key matches no
 * certificate; notpem.pem and empty.pem hold no PEM.
 */
static void
fx_make(void)
{
	const char *tmp = getenv("TMPDIR");
	EVP_PKEY *ca_key, *rogue_key, *rsa;
	X509 *ca, *rogue;

	fx_owner = getpid();
	snprintf(fx, sizeof(fx), "%s/sy-test-tls.XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(fx) == NULL) {
		perror("test_tls: mkdtemp");
		exit(1);
	}
	atexit(fx_remove);
	ca_key = fx_ec_key();
	ca = fx_cert(ca_key, "switchyard test CA", NULL, NULL, NULL);
	fx_write_cert("ca.pem", ca);
	fx_leaf("default", "default.test", "DNS:default.test", ca, ca_key);
	fx_leaf("a", "a.example", "DNS:a.example", ca, ca_key);
	fx_leaf("wild", "*.b.example", "DNS:*.b.example", ca, ca_key);
	fx_leaf("x", "x.b.example", "DNS:x.b.example", ca, ca_key);
	fx_leaf("backend", "backend.test", "DNS:backend.test,IP:127.0.0.1,IP:::1", ca, ca_key);
	fx_leaf("client", "client.test", "DNS:client.test", ca, ca_key);
	rogue_key = fx_ec_key();
	rogue = fx_cert(rogue_key, "rogue CA", NULL, NULL, NULL);
	fx_leaf("rogue", "backend.test", "DNS:backend.test,IP:127.0.0.1,IP:::1", rogue, rogue_key);
	if ((rsa = EVP_RSA_gen(2048)) == NULL)
		exit(1);
	fx_write_key("rsa.key", rsa);
	fx_write_text("notpem.pem", "this is not a certificate\n");
	fx_write_text("empty.pem", "");
	EVP_PKEY_free(rsa);
	X509_free(rogue);
	EVP_PKEY_free(rogue_key);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
}

/* s with every "@" replaced by the fixture directory, malloc'd. */
static char *
expand(const char *s)
{
	size_t n = 1, fl = strlen(fx), o = 0;
	const char *p;
	char *out;

	for (p = s; *p != '\0'; p++)
		n += *p == '@' ? fl : 1;
	out = malloc(n);
	ck_assert_ptr_nonnull(out);
	for (p = s; *p != '\0'; p++) {
		if (*p == '@') {
			memcpy(out + o, fx, fl);
			o += fl;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return out;
}

/* ---- fixtures, config and counters ------------------------------------- */

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);	/* as the workers do */
	ck_assert_int_eq(sy_stats_attach_new(1024, 2), 0);
	sy_conf_set_hooks(&sy_tls_conf_hooks);
}

static void
teardown(void)
{
	sy_conf_set_hooks(NULL);
	sy_stats_detach();
}

/* What the master does before forking: give every scope its counters. */
static void
register_stats(struct sy_conf *conf)
{
	char label[SY_STATS_NAME_MAX];
	unsigned i;

	for (i = 0; i < conf->nlisteners; i++) {
		struct sy_conf_listener *l = &conf->listeners[i];

		snprintf(label, sizeof(label), "%s.ssl", l->addr_label);
		l->stats_base = sy_stats_register(SY_SCOPE_LISTENER, l->addr_label);
		l->stats_ssl_base = sy_stats_register(SY_SCOPE_LISTENER_SSL, label);
		l->http.stats_base = sy_stats_register(SY_SCOPE_HTTP, l->http.stat_prefix);
		ck_assert_uint_ne(l->stats_ssl_base, UINT32_MAX);
		ck_assert_uint_ne(l->http.stats_base, UINT32_MAX);
	}
	for (i = 0; i < conf->nclusters; i++) {
		struct sy_conf_cluster *cl = &conf->clusters[i];

		snprintf(label, sizeof(label), "%s.ssl", cl->name);
		cl->stats_base = sy_stats_register(SY_SCOPE_CLUSTER, cl->name);
		cl->stats_ssl_base = sy_stats_register(SY_SCOPE_CLUSTER_SSL, label);
		ck_assert_uint_ne(cl->stats_ssl_base, UINT32_MAX);
	}
}

/* Load text ("@" expanded) with the hooks set; it must load. */
static struct sy_conf *
load_ok(const char *text)
{
	struct sy_conf_errors e;
	struct sy_conf *c;
	char *t = expand(text);

	sy_conf_errors_init(&e);
	c = sy_conf_load_string(t, "test.conf", &e);
	if (c == NULL)
		sy_conf_errors_print(&e, stderr);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(e.n, 0);
	sy_conf_errors_fini(&e);
	free(t);
	register_stats(c);
	return c;
}

/* Everything sy_conf_errors_print says about text, "(loaded)" first if it loaded; malloc'd. */
static char *
errors_of(const char *text)
{
	struct sy_conf_errors e;
	struct sy_conf *c;
	char *out = NULL, *t = expand(text);
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	sy_conf_errors_init(&e);
	c = sy_conf_load_string(t, "test.conf", &e);
	if (c != NULL) {
		fputs("(loaded)\n", f);
		/* Loaded: every TLS group has its context. */
		for (unsigned i = 0; i < c->nlisteners; i++)
			ck_assert(!c->listeners[i].tls.enabled || c->listeners[i].tls.ctx != NULL);
		for (unsigned i = 0; i < c->nclusters; i++)
			ck_assert(!c->clusters[i].tls.enabled || c->clusters[i].tls.ctx != NULL);
	}
	ck_assert(c != NULL || e.n > 0);
	sy_conf_errors_print(&e, f);
	fclose(f);
	sy_conf_free(c);
	sy_conf_errors_fini(&e);
	free(t);
	return out;
}

/* Every non-zero counter of a TLS scope, in table order: "handshake=1 alpn_h2=1". */
static const char *
ssl_counters(enum sy_stats_scope scope, uint32_t base)
{
	static char out[512];
	size_t off = 0;
	unsigned i;

	out[0] = '\0';
	for (i = 0; i < sy_stats_scope_size(scope); i++) {
		int64_t v = sy_stats_read(base + i);

		if (v != 0)
			off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%s=%lld", off > 0 ? " " : "",
			    sy_stats_stat_name(scope, i), (long long)v);
	}
	return out;
}

/* "h2,http/1.1" -> ALPN wire format; its length. */
static unsigned
alpn_wire(const char *csv, unsigned char *out, size_t cap)
{
	unsigned n = 0;
	const char *p = csv;

	while (*p != '\0') {
		const char *e = strchr(p, ',');
		size_t l = e != NULL ? (size_t)(e - p) : strlen(p);

		ck_assert(n + 1 + l <= cap);
		out[n++] = (unsigned char)l;
		memcpy(out + n, p, l);
		n += (unsigned)l;
		p += l + (e != NULL);
	}
	return n;
}

/* The CN of a certificate ("" for none). */
static const char *
cn_of(const X509 *x)
{
	static char buf[128];

	buf[0] = '\0';
	if (x != NULL)
		X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof(buf));
	return buf;
}

static void
pair_open(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

/* ---- 1. hooks and load errors ------------------------------------------ */

/* A listener whose tls group is on line 2. */
#define LIS "listeners = ( { name = \"l\"; address = \"127.0.0.1:8443\"; http = { stat_prefix = \"p\"; };\n"
#define LIS_END " } );\n"
#define DEF "certificate = \"@/default.pem\"; private_key = \"@/default.key\";"
/* A plain listener on line 1; a cluster opening on line 2, its tls group on line 3. */
#define L1 "listeners = ( { name = \"l\"; address = \"127.0.0.1:8080\"; http = { stat_prefix = \"p\"; }; } );\n"
#define CLU "clusters = ( { name = \"app\"; endpoints = [ \"127.0.0.1:9443\" ];\n"
#define CLU_END " } );\n"

/*
 * Expected output is an fnmatch(3) pattern after "@" expansion: the only
 * "*" stands for OpenSSL's packed error code ("0A080002"), which is not
 * ours to pin.
 */
static const struct {
	const char *name;
	const char *text;
	const char *out;
} load_cases[] = {
	{ "default certificate missing",
	  LIS "tls = { certificate = \"@/missing.pem\"; private_key = \"@/default.key\"; };" LIS_END,
	  "test.conf:2: tls: cannot load certificate \"@/missing.pem\": error:*:system library::No such file or directory\n" },
	{ "default certificate not PEM",
	  LIS "tls = { certificate = \"@/notpem.pem\"; private_key = \"@/default.key\"; };" LIS_END,
	  "test.conf:2: tls: cannot load certificate \"@/notpem.pem\": error:*:PEM routines::no start line\n" },
	{ "default certificate empty",
	  LIS "tls = { certificate = \"@/empty.pem\"; private_key = \"@/default.key\"; };" LIS_END,
	  "test.conf:2: tls: cannot load certificate \"@/empty.pem\": error:*:PEM routines::no start line\n" },
	{ "private key missing",
	  LIS "tls = { certificate = \"@/default.pem\"; private_key = \"@/missing.key\"; };" LIS_END,
	  "test.conf:2: tls: cannot load private key \"@/missing.key\": error:*:system library::No such file or directory\n" },
	{ "private key not PEM",
	  LIS "tls = { certificate = \"@/default.pem\"; private_key = \"@/notpem.pem\"; };" LIS_END,
	  "test.conf:2: tls: cannot load private key \"@/notpem.pem\": error:*:DECODER routines::unsupported\n" },
	/* A key of another type (RSA for an EC certificate). */
	{ "private key of another type",
	  LIS "tls = { certificate = \"@/default.pem\"; private_key = \"@/rsa.key\"; };" LIS_END,
	  "test.conf:2: tls: private key \"@/rsa.key\" does not match certificate \"@/default.pem\"\n" },
	/*
	 * The same type (EC P-256), another certificate's key: the message
	 * must say so too.  SSL_CTX_use_PrivateKey_file already compares a
	 * key with the certificate of its type, so tls.c reports "cannot load
	 * private key ...: key values mismatch" and its own "does not match"
	 * text is reached only for a key of another type (above).
	 */
	{ "private key of another certificate",
	  LIS "tls = { certificate = \"@/default.pem\"; private_key = \"@/a.key\"; };" LIS_END,
	  "test.conf:2: tls: private key \"@/a.key\" does not match certificate \"@/default.pem\"\n" },
	/* A certificates entry is reported at its own line. */
	{ "certificates entry missing",
	  LIS "tls = { " DEF " certificates = (\n"
	  " { server_names = [ \"a.example\" ]; certificate = \"@/a.pem\"; private_key = \"@/a.key\"; },\n"
	  " { server_names = [ \"x.b.example\" ];\n certificate = \"@/missing.pem\"; private_key = \"@/x.key\"; } ); };"
	  LIS_END,
	  "test.conf:4: tls: cannot load certificate \"@/missing.pem\": error:*:system library::No such file or directory\n" },
	{ "ciphers match nothing",
	  LIS "tls = { " DEF "\n ciphers = \"NOPE\"; };" LIS_END,
	  "test.conf:2: tls: ciphers \"NOPE\": error:*:SSL routines::no cipher match\n" },
	{ "ciphers TLS 1.3 names only",
	  LIS "tls = { " DEF "\n ciphers = \"TLS_AES_128_GCM_SHA256\"; };" LIS_END,
	  "test.conf:2: tls: ciphers \"TLS_AES_128_GCM_SHA256\": error:*:SSL routines::no cipher match\n" },
	{ "ca_file missing",
	  L1 CLU " tls = { ca_file = \"@/missing.pem\"; };" CLU_END,
	  "test.conf:3: tls: cannot load ca_file \"@/missing.pem\": error:*:system library::No such file or directory\n" },
	{ "ca_file not PEM",
	  L1 CLU " tls = { ca_file = \"@/notpem.pem\"; };" CLU_END,
	  "test.conf:3: tls: cannot load ca_file \"@/notpem.pem\": error:*:x509 certificate routines::no certificate or crl found\n" },
	/* verify = false: the trust store is not needed and not read. */
	{ "ca_file missing, verify off",
	  L1 CLU " tls = { ca_file = \"@/missing.pem\"; verify = false; };" CLU_END,
	  "(loaded)\n" },
	{ "cluster certificate missing",
	  L1 CLU " tls = { ca_file = \"@/ca.pem\"; certificate = \"@/missing.pem\"; private_key = \"@/client.key\"; };" CLU_END,
	  "test.conf:3: tls: cannot load certificate \"@/missing.pem\": error:*:system library::No such file or directory\n" },
	{ "cluster private key missing",
	  L1 CLU " tls = { ca_file = \"@/ca.pem\"; certificate = \"@/client.pem\"; private_key = \"@/missing.key\"; };" CLU_END,
	  "test.conf:3: tls: cannot use private key \"@/missing.key\": error:*:system library::No such file or directory\n" },
	{ "cluster private key of another type",
	  L1 CLU " tls = { ca_file = \"@/ca.pem\"; certificate = \"@/client.pem\"; private_key = \"@/rsa.key\"; };" CLU_END,
	  "test.conf:3: tls: cannot use private key \"@/rsa.key\": error:*:SSL routines::no certificate assigned\n" },
	/* Every failure is reported, in line order, and nothing loads. */
	{ "two listeners and a cluster",
	  "listeners = (\n"
	  " { name = \"a\"; address = \"127.0.0.1:8443\"; http = { stat_prefix = \"a\"; };\n"
	  "   tls = { " DEF " }; },\n"
	  " { name = \"b\"; address = \"127.0.0.1:8444\"; http = { stat_prefix = \"b\"; };\n"
	  "   tls = { certificate = \"@/notpem.pem\"; private_key = \"@/default.key\"; }; } );\n"
	  "clusters = ( { name = \"app\"; endpoints = [ \"127.0.0.1:9443\" ];\n"
	  " tls = { ca_file = \"@/missing.pem\"; }; } );\n",
	  "test.conf:5: tls: cannot load certificate \"@/notpem.pem\": error:*:PEM routines::no start line\n"
	  "test.conf:7: tls: cannot load ca_file \"@/missing.pem\": error:*:system library::No such file or directory\n" },
	/* Good: a listener with SNI certificates and a cluster with a client certificate. */
	{ "everything loads",
	  LIS "tls = { " DEF " ciphers = \"ECDHE+AESGCM\"; min_version = \"TLSv1.3\"; certificates = (\n"
	  " { server_names = [ \"a.example\" ]; certificate = \"@/a.pem\"; private_key = \"@/a.key\"; },\n"
	  " { server_names = [ \"*.b.example\" ]; certificate = \"@/wild.pem\"; private_key = \"@/wild.key\"; } ); }; } );\n"
	  "clusters = ( { name = \"app\"; endpoints = [ \"127.0.0.1:9443\" ]; protocol = \"auto\";\n"
	  " tls = { ca_file = \"@/ca.pem\"; certificate = \"@/client.pem\"; private_key = \"@/client.key\"; }; },\n"
	  " { name = \"sys\"; endpoints = [ \"127.0.0.1:9444\" ]; tls = { }; },\n"
	  " { name = \"plain\"; endpoints = [ \"127.0.0.1:9445\" ]; } );\n",
	  "(loaded)\n" },
};

START_TEST(test_load)
{
	char *out = errors_of(load_cases[_i].text), *want = expand(load_cases[_i].out);
	char msg[4096];
	int rc = fnmatch(want, out, 0);

	snprintf(msg, sizeof(msg), "%s:\n got: %s want: %s", load_cases[_i].name, out, want);
	free(out);
	free(want);
	ck_assert_msg(rc == 0, "%s", msg);
}
END_TEST

/* The contexts exist while the config lives, and go with it (valgrind/ASan: no leak). */
START_TEST(test_load_free)
{
	struct sy_conf *c = load_ok(LIS "tls = { " DEF " certificates = (\n"
	    " { server_names = [ \"a.example\" ]; certificate = \"@/a.pem\"; private_key = \"@/a.key\"; } ); };"
	    LIS_END
	    "clusters = ( { name = \"app\"; endpoints = [ \"127.0.0.1:9443\" ];\n"
	    " tls = { ca_file = \"@/ca.pem\"; certificate = \"@/client.pem\"; private_key = \"@/client.key\"; }; },\n"
	    " { name = \"plain\"; endpoints = [ \"127.0.0.1:9445\" ]; } );\n");

	ck_assert_ptr_nonnull(c->listeners[0].tls.ctx);
	ck_assert_ptr_nonnull(c->clusters[0].tls.ctx);
	ck_assert_ptr_null(c->clusters[1].tls.ctx);
	sy_conf_free(c);

	/* Without hooks nothing is opened: the same missing files load. */
	sy_conf_set_hooks(NULL);
	c = load_ok(LIS "tls = { certificate = \"@/missing.pem\"; private_key = \"@/missing.key\"; };" LIS_END);
	ck_assert_ptr_null(c->listeners[0].tls.ctx);
	sy_conf_free(c);
}
END_TEST

START_TEST(test_library_version)
{
	const char *v = sy_tls_library_version();

	ck_assert_str_eq(v, OpenSSL_version(OPENSSL_VERSION));
	ck_assert_int_eq(strncmp(v, "OpenSSL ", 8), 0);
}
END_TEST

/* ---- 2. server side: sy_tls_server_attach ------------------------------ */

/*
 * One downstream connection: the listener's config, a struct sy_conn with
 * the fields tls.c touches, and a plain OpenSSL client on the other end.
 */
struct srv {
	struct sy_conf *conf;
	struct sy_conn *c;
	int cfd;
	SSL_CTX *cctx;
	SSL *cli;
	bool cli_done, cli_failed;
	bool srv_done, srv_failed;
	int srv_errno;
};

static int est_calls;
static const char *est_alpn;
static bool est_close;

static void
on_established(struct sy_conn *c)
{
	est_calls++;
	ck_assert(sy_tls_conn_established(c));
	est_alpn = sy_tls_conn_alpn(c);
	if (est_close)
		c->closed = true;	/* what sy_conn_close does to the flag */
}

/* Listener "l" with codec_type and tls = { tls }. */
static void
srv_open(struct srv *s, const char *codec, const char *tls)
{
	char text[4096];
	int sv[2];

	memset(s, 0, sizeof(*s));
	est_calls = 0;
	est_alpn = NULL;
	est_close = false;
	snprintf(text, sizeof(text),
	    "listeners = ( { name = \"l\"; address = \"127.0.0.1:8443\";\n"
	    " http = { stat_prefix = \"p\"; codec_type = \"%s\"; };\n"
	    " tls = { %s }; } );\n", codec, tls);
	s->conf = load_ok(text);
	pair_open(sv);
	s->c = calloc(1, sizeof(*s->c));
	ck_assert_ptr_nonnull(s->c);
	s->c->fd = sv[0];
	s->c->listener = &s->conf->listeners[0];
	ck_assert_int_eq(sy_tls_server_attach(s->c, on_established), 0);
	ck_assert_ptr_nonnull(s->c->io);
	ck_assert_ptr_nonnull(s->c->io_ctx);
	ck_assert(!sy_tls_conn_established(s->c));
	ck_assert_ptr_null(sy_tls_conn_alpn(s->c));
	ck_assert_int_eq(sy_stats_read(s->conf->listeners[0].http.stats_base + SY_HTTP_downstream_cx_ssl_total), 1);
	ck_assert_int_eq(sy_stats_read(s->conf->listeners[0].http.stats_base + SY_HTTP_downstream_cx_ssl_active), 1);
	s->cfd = sv[1];
}

/* The client: ALPN offer (csv or NULL), SNI (or NULL), highest version (0: any), TLS 1.2 ciphers. */
static void
srv_client(struct srv *s, const char *alpn, const char *sni, int max_version, const char *ciphers)
{
	unsigned char wire[64];

	ck_assert_ptr_nonnull(s->cctx = SSL_CTX_new(TLS_client_method()));
	if (max_version != 0)
		ck_assert_int_eq(SSL_CTX_set_max_proto_version(s->cctx, max_version), 1);
	if (ciphers != NULL)
		ck_assert_int_eq(SSL_CTX_set_cipher_list(s->cctx, ciphers), 1);
	ck_assert_ptr_nonnull(s->cli = SSL_new(s->cctx));
	ck_assert_int_eq(SSL_set_fd(s->cli, s->cfd), 1);
	SSL_set_connect_state(s->cli);
	if (alpn != NULL)
		ck_assert_int_eq(SSL_set_alpn_protos(s->cli, wire, alpn_wire(alpn, wire, sizeof(wire))), 0);
	if (sni != NULL)
		ck_assert_int_eq(SSL_set_tlsext_host_name(s->cli, sni), 1);
}

/* Step both ends until each is done or failed. */
static void
srv_handshake(struct srv *s)
{
	char buf[64];
	int round, rc, err;

	for (round = 0; round < 100; round++) {
		if (!s->cli_done && !s->cli_failed) {
			rc = SSL_do_handshake(s->cli);
			if (rc == 1) {
				s->cli_done = true;
			} else {
				err = SSL_get_error(s->cli, rc);
				if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
					s->cli_failed = true;
			}
		}
		if (!s->srv_done && !s->srv_failed) {
			ssize_t n;

			errno = 0;
			n = s->c->io->read(s->c, buf, sizeof(buf));
			if (sy_tls_conn_established(s->c)) {
				s->srv_done = true;
				/* No application data yet; EPROTO when on_established closed c. */
				ck_assert_int_eq(n, -1);
				ck_assert_int_eq(errno, est_close ? EPROTO : EAGAIN);
			} else if (n == -1 && errno == EAGAIN) {
				ck_assert(!s->c->io_want_write);
			} else {
				ck_assert_int_eq(n, -1);
				s->srv_failed = true;
				s->srv_errno = errno;
			}
		}
		if ((s->cli_done || s->cli_failed) && (s->srv_done || s->srv_failed))
			break;
	}
	ck_assert_int_lt(round, 100);
	ERR_clear_error();
}

static void
srv_close(struct srv *s)
{
	uint32_t http = s->conf->listeners[0].http.stats_base;

	if (s->c->io_ctx != NULL)
		s->c->io->close(s->c);	/* also closes c->fd */
	ck_assert_ptr_null(s->c->io_ctx);
	ck_assert_int_eq(sy_stats_read(http + SY_HTTP_downstream_cx_ssl_active), 0);
	ck_assert_int_eq(sy_stats_read(http + SY_HTTP_downstream_cx_ssl_total), 1);
	free(s->c);
	SSL_free(s->cli);
	SSL_CTX_free(s->cctx);
	close(s->cfd);
	sy_conf_free(s->conf);
}

/* ALPN: our order among what the client offers; none in common: no ALPN. */
static const struct {
	const char *codec;
	const char *alpn;	/* listener's alpn = [ ... ] or "" */
	const char *offer;	/* the client's, or NULL */
	const char *want;
	const char *counters;
} alpn_cases[] = {
	{ "auto", "", "http/1.1,h2", "h2", "handshake=1 no_certificate=1 alpn_h2=1 versions_tls13=1" },
	{ "auto", "", "h2,http/1.1", "h2", "handshake=1 no_certificate=1 alpn_h2=1 versions_tls13=1" },
	{ "auto", "", "http/1.1", "http/1.1", "handshake=1 no_certificate=1 alpn_http11=1 versions_tls13=1" },
	{ "auto", "", "h2", "h2", "handshake=1 no_certificate=1 alpn_h2=1 versions_tls13=1" },
	{ "auto", "alpn = [ \"http/1.1\", \"h2\" ];", "h2,http/1.1", "http/1.1",
	  "handshake=1 no_certificate=1 alpn_http11=1 versions_tls13=1" },
	{ "auto", "alpn = [ \"http/1.1\", \"h2\" ];", "h2", "h2",
	  "handshake=1 no_certificate=1 alpn_h2=1 versions_tls13=1" },
	{ "auto", "", "spdy/3,acme-tls/1,h2", "h2", "handshake=1 no_certificate=1 alpn_h2=1 versions_tls13=1" },
	{ "auto", "", "spdy/3", NULL, "handshake=1 no_certificate=1 alpn_none=1 versions_tls13=1" },
	{ "auto", "", NULL, NULL, "handshake=1 no_certificate=1 alpn_none=1 versions_tls13=1" },
	{ "http1", "", "h2,http/1.1", "http/1.1", "handshake=1 no_certificate=1 alpn_http11=1 versions_tls13=1" },
	{ "http1", "", "h2", NULL, "handshake=1 no_certificate=1 alpn_none=1 versions_tls13=1" },
	{ "http2", "", "http/1.1,h2", "h2", "handshake=1 no_certificate=1 alpn_h2=1 versions_tls13=1" },
	{ "http2", "", "http/1.1", NULL, "handshake=1 no_certificate=1 alpn_none=1 versions_tls13=1" },
	{ "http2", "alpn = [ \"h2\" ];", "http/1.1,h2", "h2", "handshake=1 no_certificate=1 alpn_h2=1 versions_tls13=1" },
};

START_TEST(test_server_alpn)
{
	struct srv s;
	char tls[512];
	const unsigned char *p;
	unsigned len;

	snprintf(tls, sizeof(tls), DEF " %s", alpn_cases[_i].alpn);
	srv_open(&s, alpn_cases[_i].codec, tls);
	srv_client(&s, alpn_cases[_i].offer, NULL, 0, NULL);
	srv_handshake(&s);
	ck_assert(s.cli_done);
	ck_assert(s.srv_done);
	ck_assert_int_eq(est_calls, 1);
	ck_assert_pstr_eq(est_alpn, alpn_cases[_i].want);
	ck_assert_pstr_eq(sy_tls_conn_alpn(s.c), alpn_cases[_i].want);
	/* The client agrees. */
	SSL_get0_alpn_selected(s.cli, &p, &len);
	ck_assert_uint_eq(len, alpn_cases[_i].want != NULL ? strlen(alpn_cases[_i].want) : 0);
	if (len > 0)
		ck_assert_int_eq(memcmp(p, alpn_cases[_i].want, len), 0);
	ck_assert_str_eq(ssl_counters(SY_SCOPE_LISTENER_SSL, s.conf->listeners[0].stats_ssl_base),
	    alpn_cases[_i].counters);
	srv_close(&s);
}
END_TEST

/* SNI: exact names first, then wildcards (one label), else the default. */
#define SNI_TLS DEF " certificates = (\n" \
	" { server_names = [ \"a.example\", \"alias.example\" ]; certificate = \"@/a.pem\"; private_key = \"@/a.key\"; },\n" \
	" { server_names = [ \"*.b.example\" ]; certificate = \"@/wild.pem\"; private_key = \"@/wild.key\"; },\n" \
	" { server_names = [ \"x.b.example\" ]; certificate = \"@/x.pem\"; private_key = \"@/x.key\"; } );"

static const struct {
	const char *sni;	/* NULL: none sent */
	const char *cn;		/* the certificate served */
	int sni_unknown;
} sni_cases[] = {
	{ NULL, "default.test", 0 },
	{ "a.example", "a.example", 0 },
	{ "alias.example", "a.example", 0 },
	{ "A.Example", "a.example", 0 },
	{ "y.b.example", "*.b.example", 0 },
	{ "Y.B.EXAMPLE", "*.b.example", 0 },
	/* The exact entry wins over an earlier wildcard. */
	{ "x.b.example", "x.b.example", 0 },
	/* A wildcard covers one label: not the bare domain, not two labels. */
	{ "b.example", "default.test", 1 },
	{ "z.y.b.example", "default.test", 1 },
	{ "ab.example", "default.test", 1 },
	{ "a.example.org", "default.test", 1 },
	{ "default.test", "default.test", 1 },
	{ "unknown.test", "default.test", 1 },
};

START_TEST(test_server_sni)
{
	struct srv s;
	char want[128];

	srv_open(&s, "auto", SNI_TLS);
	srv_client(&s, "h2,http/1.1", sni_cases[_i].sni, 0, NULL);
	srv_handshake(&s);
	ck_assert(s.cli_done);
	ck_assert(s.srv_done);
	ck_assert_str_eq(cn_of(SSL_get0_peer_certificate(s.cli)), sni_cases[_i].cn);
	/* ALPN still answered by whichever context served. */
	ck_assert_pstr_eq(est_alpn, "h2");
	snprintf(want, sizeof(want), "handshake=1 no_certificate=1 alpn_h2=1%s versions_tls13=1",
	    sni_cases[_i].sni_unknown ? " sni_unknown=1" : "");
	ck_assert_str_eq(ssl_counters(SY_SCOPE_LISTENER_SSL, s.conf->listeners[0].stats_ssl_base), want);
	srv_close(&s);
}
END_TEST

/* One certificate: nothing to choose, any SNI gets it and counts nothing. */
START_TEST(test_server_sni_single)
{
	struct srv s;

	srv_open(&s, "auto", DEF);
	srv_client(&s, "h2", "unknown.test", 0, NULL);
	srv_handshake(&s);
	ck_assert(s.cli_done && s.srv_done);
	ck_assert_str_eq(cn_of(SSL_get0_peer_certificate(s.cli)), "default.test");
	ck_assert_str_eq(ssl_counters(SY_SCOPE_LISTENER_SSL, s.conf->listeners[0].stats_ssl_base),
	    "handshake=1 no_certificate=1 alpn_h2=1 versions_tls13=1");
	srv_close(&s);
}
END_TEST

/* min_version and ciphers against what the client can do. */
static const struct {
	const char *tls;
	int client_max;
	const char *client_ciphers;
	bool ok;
	const char *counters;
} version_cases[] = {
	{ DEF, 0, NULL, true, "handshake=1 no_certificate=1 alpn_h2=1 versions_tls13=1" },
	{ DEF, TLS1_2_VERSION, NULL, true, "handshake=1 no_certificate=1 alpn_h2=1 versions_tls12=1" },
	{ DEF " min_version = \"TLSv1.2\";", TLS1_2_VERSION, NULL, true,
	  "handshake=1 no_certificate=1 alpn_h2=1 versions_tls12=1" },
	{ DEF " min_version = \"TLSv1.3\";", 0, NULL, true, "handshake=1 no_certificate=1 alpn_h2=1 versions_tls13=1" },
	{ DEF " min_version = \"TLSv1.3\";", TLS1_2_VERSION, NULL, false, "connection_error=1" },
	{ DEF " min_version = \"TLSv1.3\";", TLS1_1_VERSION, NULL, false, "connection_error=1" },
	/* ciphers is the TLS 1.2 list: a client with none of it fails on 1.2... */
	{ DEF " ciphers = \"ECDHE-ECDSA-AES128-GCM-SHA256\";", TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", true,
	  "handshake=1 no_certificate=1 alpn_h2=1 versions_tls12=1" },
	{ DEF " ciphers = \"ECDHE-ECDSA-AES128-GCM-SHA256\";", TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", false,
	  "connection_error=1" },
	/* ...and TLS 1.3 suites are not touched by it. */
	{ DEF " ciphers = \"ECDHE-ECDSA-AES128-GCM-SHA256\";", 0, "ECDHE-ECDSA-AES256-GCM-SHA384", true,
	  "handshake=1 no_certificate=1 alpn_h2=1 versions_tls13=1" },
};

START_TEST(test_server_versions)
{
	struct srv s;
	char buf[16];

	srv_open(&s, "auto", version_cases[_i].tls);
	srv_client(&s, "h2", NULL, version_cases[_i].client_max, version_cases[_i].client_ciphers);
	srv_handshake(&s);
	ck_assert_int_eq(s.cli_done, version_cases[_i].ok);
	ck_assert_int_eq(s.srv_done, version_cases[_i].ok);
	ck_assert_int_eq(est_calls, version_cases[_i].ok ? 1 : 0);
	if (!version_cases[_i].ok) {
		ck_assert_int_eq(s.srv_errno, EPROTO);
		ck_assert(!sy_tls_conn_established(s.c));
		ck_assert_ptr_null(sy_tls_conn_alpn(s.c));
		/* Failed for good: reads and writes refuse. */
		errno = 0;
		ck_assert_int_eq(s.c->io->read(s.c, buf, sizeof(buf)), -1);
		ck_assert_int_eq(errno, EPROTO);
		errno = 0;
		ck_assert_int_eq(s.c->io->write(s.c, "x", 1), -1);
		ck_assert_int_eq(errno, EAGAIN);
	} else {
		ck_assert_int_eq(SSL_version(s.cli),
		    strstr(version_cases[_i].counters, "tls12") != NULL ? TLS1_2_VERSION : TLS1_3_VERSION);
	}
	ck_assert_str_eq(ssl_counters(SY_SCOPE_LISTENER_SSL, s.conf->listeners[0].stats_ssl_base),
	    version_cases[_i].counters);
	srv_close(&s);
}
END_TEST

/* Not TLS, or nothing at all: the handshake fails and is counted. */
START_TEST(test_server_not_tls)
{
	static const char *const input[] = { "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "" };
	struct srv s;
	char buf[16];
	ssize_t n;

	srv_open(&s, "auto", DEF);
	if (input[_i][0] != '\0')
		ck_assert_int_eq(write(s.cfd, input[_i], strlen(input[_i])), (ssize_t)strlen(input[_i]));
	shutdown(s.cfd, SHUT_WR);
	errno = 0;
	n = s.c->io->read(s.c, buf, sizeof(buf));
	ck_assert_int_eq(n, -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert(!sy_tls_conn_established(s.c));
	ck_assert_int_eq(est_calls, 0);
	ck_assert_str_eq(ssl_counters(SY_SCOPE_LISTENER_SSL, s.conf->listeners[0].stats_ssl_base),
	    "connection_error=1");
	s.cli = NULL;
	srv_close(&s);
}
END_TEST

/* Bytes both ways, pending, close_notify each way. */
START_TEST(test_server_data)
{
	struct srv s;
	char buf[64];
	ssize_t n;
	size_t got;
	int rc;

	srv_open(&s, "auto", DEF);
	/* Before the handshake: nothing to write with, nothing pending. */
	errno = 0;
	ck_assert_int_eq(s.c->io->write(s.c, "x", 1), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_uint_eq(s.c->io->pending(s.c), 0);
	srv_client(&s, "http/1.1", NULL, 0, NULL);
	srv_handshake(&s);
	ck_assert(s.cli_done && s.srv_done);
	ck_assert_pstr_eq(est_alpn, "http/1.1");

	/* client -> server, read in two pieces: the rest is pending in TLS. */
	ck_assert_int_eq(SSL_write(s.cli, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	n = s.c->io->read(s.c, buf, 5);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(memcmp(buf, "GET /", 5), 0);
	ck_assert_uint_eq(s.c->io->pending(s.c), 13);
	n = s.c->io->read(s.c, buf, sizeof(buf));
	ck_assert_int_eq(n, 13);
	ck_assert_int_eq(memcmp(buf, " HTTP/1.1\r\n\r\n", 13), 0);
	ck_assert_uint_eq(s.c->io->pending(s.c), 0);
	errno = 0;
	ck_assert_int_eq(s.c->io->read(s.c, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert(!s.c->io_want_write);

	/* server -> client. */
	ck_assert_int_eq(s.c->io->write(s.c, "HTTP/1.1 200 OK\r\n\r\n", 19), 19);
	got = 0;
	while (got < 19) {
		rc = SSL_read(s.cli, buf + got, (int)(sizeof(buf) - got));
		ck_assert_int_gt(rc, 0);
		got += (size_t)rc;
	}
	ck_assert_int_eq(memcmp(buf, "HTTP/1.1 200 OK\r\n\r\n", 19), 0);

	/* Our half-close: close_notify, then the client sees the end. */
	s.c->io->shutdown_write(s.c);
	rc = SSL_read(s.cli, buf, sizeof(buf));
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(SSL_get_error(s.cli, rc), SSL_ERROR_ZERO_RETURN);
	/* We may still read: the client's close_notify is EOF (0). */
	ck_assert_int_eq(SSL_write(s.cli, "tail", 4), 4);
	ck_assert_int_eq(s.c->io->read(s.c, buf, sizeof(buf)), 4);
	ck_assert_int_eq(memcmp(buf, "tail", 4), 0);
	SSL_shutdown(s.cli);
	ck_assert_int_eq(s.c->io->read(s.c, buf, sizeof(buf)), 0);
	/*
	 * Writing after our own close_notify: OpenSSL refuses ("protocol is
	 * shutdown", SSL_ERROR_SSL), so EPROTO, not send(2)'s EPIPE; conn.c
	 * never writes after shutdown_write.
	 */
	errno = 0;
	ck_assert_int_eq(s.c->io->write(s.c, "x", 1), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_str_eq(ssl_counters(SY_SCOPE_LISTENER_SSL, s.conf->listeners[0].stats_ssl_base),
	    "handshake=1 no_certificate=1 alpn_http11=1 versions_tls13=1");
	srv_close(&s);
}
END_TEST

/*
 * Regression: the client stops sending without close_notify (plain FIN
 * after the handshake) and read must say EOF (0), as read(2) would.
 * OpenSSL 3 reports it as SSL_ERROR_SSL "unexpected eof while reading",
 * not SSL_ERROR_SYSCALL with errno 0 as 1.1 did; it used to come back as
 * -1 with EPROTO.
 */
START_TEST(test_server_peer_gone)
{
	struct srv s;
	char buf[16];
	ssize_t n;
	int err;

	srv_open(&s, "auto", DEF);
	srv_client(&s, "h2", NULL, 0, NULL);
	srv_handshake(&s);
	ck_assert(s.cli_done && s.srv_done);
	ck_assert_int_eq(SSL_write(s.cli, "last", 4), 4);
	shutdown(s.cfd, SHUT_WR);
	ck_assert_int_eq(s.c->io->read(s.c, buf, sizeof(buf)), 4);
	errno = 0;
	n = s.c->io->read(s.c, buf, sizeof(buf));
	err = errno;
	srv_close(&s);
	ck_assert_msg(n == 0, "read after a FIN without close_notify: %zd (errno %d %s), want 0 (EOF)",
	    n, err, strerror(err));
}
END_TEST

/* on_established closing the connection: the read that ran it fails. */
START_TEST(test_server_closed_by_callback)
{
	struct srv s;

	srv_open(&s, "auto", DEF);
	est_close = true;
	srv_client(&s, "h2", NULL, 0, NULL);
	srv_handshake(&s);
	ck_assert(s.srv_done);
	ck_assert_int_eq(est_calls, 1);
	ck_assert(sy_tls_conn_established(s.c));
	ck_assert_str_eq(ssl_counters(SY_SCOPE_LISTENER_SSL, s.conf->listeners[0].stats_ssl_base),
	    "handshake=1 no_certificate=1 alpn_h2=1 versions_tls13=1");
	srv_close(&s);
}
END_TEST

/* A listener without TLS has no context to attach. */
START_TEST(test_server_attach_plain)
{
	struct sy_conf *conf = load_ok(L1);
	struct sy_conn c;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.listener = &conf->listeners[0];
	ck_assert_int_eq(sy_tls_server_attach(&c, on_established), -1);
	ck_assert_ptr_null(c.io);
	ck_assert_ptr_null(c.io_ctx);
	sy_conf_free(conf);
}
END_TEST

/* ---- 3. client side: sy_tls_client_* ----------------------------------- */

/* The OpenSSL server an upstream connects to, and the client under test. */
struct cli {
	struct sy_conf *conf;
	struct sy_tls_client *t;
	int fd;			/* ours (the client's) */
	SSL_CTX *sctx;
	SSL *srv;
	int sfd;
	unsigned char alpn[32];
	unsigned alpn_len;
	bool srv_done, srv_failed;
	int rc;
	char why[256];
};

static int
backend_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
    unsigned inlen, void *arg)
{
	struct cli *b = arg;
	unsigned char *sel;

	(void)ssl;
	if (SSL_select_next_proto(&sel, outlen, b->alpn, b->alpn_len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/*
 * Cluster "app" with protocol and tls = { tls }; the backend serves
 * cert ("backend", "rogue") up to max_version (0: any), prefers alpn
 * (csv; NULL: no ALPN), and asks for a client certificate from ca.pem
 * when want_client_cert.
 */
static void
cli_open(struct cli *b, const char *protocol, const char *tls, const char *host, const char *cert,
    int max_version, const char *alpn, bool want_client_cert)
{
	char text[4096], *path;
	int sv[2];

	memset(b, 0, sizeof(*b));
	snprintf(text, sizeof(text), L1 "clusters = ( { name = \"app\"; endpoints = [ \"127.0.0.1:9443\" ];\n"
	    " protocol = \"%s\"; tls = { %s }; } );\n", protocol, tls);
	b->conf = load_ok(text);
	pair_open(sv);
	b->fd = sv[0];
	b->sfd = sv[1];

	ck_assert_ptr_nonnull(b->sctx = SSL_CTX_new(TLS_server_method()));
	snprintf(text, sizeof(text), "@/%s.pem", cert);
	path = expand(text);
	ck_assert_int_eq(SSL_CTX_use_certificate_chain_file(b->sctx, path), 1);
	free(path);
	snprintf(text, sizeof(text), "@/%s.key", cert);
	path = expand(text);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(b->sctx, path, SSL_FILETYPE_PEM), 1);
	free(path);
	if (max_version != 0)
		ck_assert_int_eq(SSL_CTX_set_max_proto_version(b->sctx, max_version), 1);
	if (alpn != NULL) {
		b->alpn_len = alpn_wire(alpn, b->alpn, sizeof(b->alpn));
		SSL_CTX_set_alpn_select_cb(b->sctx, backend_alpn, b);
	}
	if (want_client_cert) {
		path = expand("@/ca.pem");
		ck_assert_int_eq(SSL_CTX_load_verify_locations(b->sctx, path, NULL), 1);
		free(path);
		SSL_CTX_set_verify(b->sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	ck_assert_ptr_nonnull(b->srv = SSL_new(b->sctx));
	ck_assert_int_eq(SSL_set_fd(b->srv, b->sfd), 1);
	SSL_set_accept_state(b->srv);

	b->t = sy_tls_client_new(&b->conf->clusters[0], b->fd, host);
	ck_assert_ptr_nonnull(b->t);
	ck_assert_ptr_null(sy_tls_client_alpn(b->t));
	ck_assert_uint_eq(sy_tls_client_pending(b->t), 0);
}

/* Step both ends until the client is done or failed and the backend settled. */
static void
cli_handshake(struct cli *b)
{
	bool want_write, cli_over = false;
	int round, rc, err;

	b->rc = SY_AGAIN;
	for (round = 0; round < 100; round++) {
		if (!cli_over) {
			b->why[0] = '\0';
			b->rc = sy_tls_client_handshake(b->t, &want_write, b->why, sizeof(b->why));
			cli_over = b->rc != SY_AGAIN;
			if (b->rc == SY_AGAIN)
				ck_assert(!want_write);	/* a socketpair has room */
			else if (b->rc == SY_OK)
				ck_assert_str_eq(b->why, "");
		}
		if (!b->srv_done && !b->srv_failed) {
			rc = SSL_do_handshake(b->srv);
			if (rc == 1) {
				b->srv_done = true;
			} else {
				err = SSL_get_error(b->srv, rc);
				if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
					b->srv_failed = true;
			}
		}
		if (cli_over && (b->srv_done || b->srv_failed))
			break;
	}
	ck_assert_int_lt(round, 100);
	ERR_clear_error();
}

static void
cli_close(struct cli *b)
{
	sy_tls_client_free(b->t);
	close(b->fd);
	SSL_free(b->srv);
	SSL_CTX_free(b->sctx);
	close(b->sfd);
	sy_conf_free(b->conf);
}

#define CA "ca_file = \"@/ca.pem\";"

static const struct {
	const char *name;
	const char *protocol;
	const char *tls;		/* clusters.tls = { ... } */
	const char *host;		/* the endpoint's host as written */
	const char *cert;		/* the backend's */
	int server_max;
	const char *server_alpn;	/* backend's preference; NULL: no ALPN */
	int rc;
	const char *why;		/* fnmatch pattern, "" when SY_OK */
	const char *alpn;
	const char *sni;		/* what the backend received */
	const char *counters;
} client_cases[] = {
	{ "auto: h2 first", "auto", CA, "backend.test", "backend", 0, "h2,http/1.1",
	  SY_OK, "", "h2", "backend.test", "handshake=1 alpn_h2=1 versions_tls13=1" },
	{ "auto: the backend prefers http/1.1", "auto", CA, "backend.test", "backend", 0, "http/1.1,h2",
	  SY_OK, "", "http/1.1", "backend.test", "handshake=1 alpn_http11=1 versions_tls13=1" },
	{ "http1 offers http/1.1 only", "http1", CA, "backend.test", "backend", 0, "h2,http/1.1",
	  SY_OK, "", "http/1.1", "backend.test", "handshake=1 alpn_http11=1 versions_tls13=1" },
	{ "http2 offers h2 only", "http2", CA, "backend.test", "backend", 0, "http/1.1,h2",
	  SY_OK, "", "h2", "backend.test", "handshake=1 alpn_h2=1 versions_tls13=1" },
	{ "http2 against an http/1.1 backend: no ALPN", "http2", CA, "backend.test", "backend", 0, "http/1.1",
	  SY_OK, "", NULL, "backend.test", "handshake=1 alpn_none=1 versions_tls13=1" },
	{ "alpn as configured", "auto", CA " alpn = [ \"http/1.1\" ];", "backend.test", "backend", 0, "h2,http/1.1",
	  SY_OK, "", "http/1.1", "backend.test", "handshake=1 alpn_http11=1 versions_tls13=1" },
	{ "backend without ALPN", "auto", CA, "backend.test", "backend", 0, NULL,
	  SY_OK, "", NULL, "backend.test", "handshake=1 alpn_none=1 versions_tls13=1" },
	{ "TLS 1.2 backend", "auto", CA, "backend.test", "backend", TLS1_2_VERSION, "h2",
	  SY_OK, "", "h2", "backend.test", "handshake=1 alpn_h2=1 versions_tls12=1" },
	{ "min_version TLSv1.3 against a TLS 1.2 backend", "auto", CA " min_version = \"TLSv1.3\";", "backend.test",
	  "backend", TLS1_2_VERSION, "h2",
	  SY_ERROR, "tls handshake failed: error:*:SSL routines::tlsv1 alert protocol version", NULL, NULL,
	  "connection_error=1" },
	{ "host name as written, any case", "auto", CA, "Backend.TEST", "backend", 0, "h2",
	  SY_OK, "", "h2", "Backend.TEST", "handshake=1 alpn_h2=1 versions_tls13=1" },
	{ "sni replaces the endpoint host", "auto", CA " sni = \"backend.test\";", "10.1.2.3", "backend", 0, "h2",
	  SY_OK, "", "h2", "backend.test", "handshake=1 alpn_h2=1 versions_tls13=1" },
	{ "host name mismatch", "auto", CA, "other.test", "backend", 0, "h2",
	  SY_ERROR, "certificate verify failed: hostname mismatch", NULL, "other.test", "fail_verify_san=1" },
	{ "sni mismatch", "auto", CA " sni = \"other.test\";", "backend.test", "backend", 0, "h2",
	  SY_ERROR, "certificate verify failed: hostname mismatch", NULL, "other.test", "fail_verify_san=1" },
	{ "unknown CA", "auto", CA, "backend.test", "rogue", 0, "h2",
	  SY_ERROR, "certificate verify failed: unable to get local issuer certificate", NULL, "backend.test",
	  "fail_verify_error=1" },
	{ "the system store does not know our CA", "auto", "", "backend.test", "backend", 0, "h2",
	  SY_ERROR, "certificate verify failed: unable to get local issuer certificate", NULL, "backend.test",
	  "fail_verify_error=1" },
	{ "verify = false accepts an unknown CA", "auto", "verify = false;", "backend.test", "rogue", 0, "h2",
	  SY_OK, "", "h2", "backend.test", "handshake=1 alpn_h2=1 versions_tls13=1" },
	{ "verify = false accepts another name", "auto", CA " verify = false;", "other.test", "backend", 0, "h2",
	  SY_OK, "", "h2", "other.test", "handshake=1 alpn_h2=1 versions_tls13=1" },
	{ "IPv4 literal: IP SAN, no SNI", "auto", CA, "127.0.0.1", "backend", 0, "h2",
	  SY_OK, "", "h2", NULL, "handshake=1 alpn_h2=1 versions_tls13=1" },
	{ "IPv6 literal in brackets: IP SAN, no SNI", "auto", CA, "[::1]", "backend", 0, "h2",
	  SY_OK, "", "h2", NULL, "handshake=1 alpn_h2=1 versions_tls13=1" },
	{ "IPv6 literal bare", "auto", CA, "::1", "backend", 0, "h2",
	  SY_OK, "", "h2", NULL, "handshake=1 alpn_h2=1 versions_tls13=1" },
	{ "IP address mismatch", "auto", CA, "127.0.0.2", "backend", 0, "h2",
	  SY_ERROR, "certificate verify failed: IP address mismatch", NULL, NULL, "fail_verify_san=1" },
	{ "IP literal, verify = false: still no SNI", "auto", "verify = false;", "127.0.0.2", "rogue", 0, "h2",
	  SY_OK, "", "h2", NULL, "handshake=1 alpn_h2=1 versions_tls13=1" },
};

START_TEST(test_client_handshake)
{
	struct cli b;
	char *why = expand(client_cases[_i].why);

	cli_open(&b, client_cases[_i].protocol, client_cases[_i].tls, client_cases[_i].host, client_cases[_i].cert,
	    client_cases[_i].server_max, client_cases[_i].server_alpn, false);
	cli_handshake(&b);
	ck_assert_msg(b.rc == client_cases[_i].rc, "%s: rc %d, why \"%s\"", client_cases[_i].name, b.rc, b.why);
	ck_assert_msg(fnmatch(why, b.why, 0) == 0, "%s: why \"%s\"", client_cases[_i].name, b.why);
	ck_assert_pstr_eq(sy_tls_client_alpn(b.t), client_cases[_i].alpn);
	ck_assert_pstr_eq(SSL_get_servername(b.srv, TLSEXT_NAMETYPE_host_name), client_cases[_i].sni);
	ck_assert_msg(strcmp(ssl_counters(SY_SCOPE_CLUSTER_SSL, b.conf->clusters[0].stats_ssl_base),
	    client_cases[_i].counters) == 0, "%s: counters \"%s\"", client_cases[_i].name,
	    ssl_counters(SY_SCOPE_CLUSTER_SSL, b.conf->clusters[0].stats_ssl_base));
	if (client_cases[_i].rc == SY_OK)
		ck_assert(b.srv_done);
	free(why);
	cli_close(&b);
}
END_TEST

/* A client certificate, when the backend asks for one. */
START_TEST(test_client_certificate)
{
	struct cli b;

	cli_open(&b, "auto", CA " certificate = \"@/client.pem\"; private_key = \"@/client.key\";", "backend.test",
	    "backend", 0, "h2", true);
	cli_handshake(&b);
	ck_assert_int_eq(b.rc, SY_OK);
	ck_assert(b.srv_done);
	ck_assert_str_eq(cn_of(SSL_get0_peer_certificate(b.srv)), "client.test");
	ck_assert_int_eq(SSL_get_verify_result(b.srv), X509_V_OK);
	cli_close(&b);
}
END_TEST

/* Bytes both ways, pending, close_notify both ways. */
START_TEST(test_client_data)
{
	struct cli b;
	bool ww = true;
	char buf[64];
	ssize_t n;
	int rc;

	cli_open(&b, "auto", CA, "backend.test", "backend", 0, "h2", false);
	cli_handshake(&b);
	ck_assert_int_eq(b.rc, SY_OK);
	ck_assert(b.srv_done);

	/* Nothing yet (the session tickets are consumed on the way). */
	errno = 0;
	ck_assert_int_eq(sy_tls_client_read(b.t, buf, sizeof(buf), &ww), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert(!ww);

	ww = true;
	ck_assert_int_eq(sy_tls_client_write(b.t, "GET / HTTP/1.1\r\n\r\n", 18, &ww), 18);
	ck_assert(!ww);
	rc = SSL_read(b.srv, buf, sizeof(buf));
	ck_assert_int_eq(rc, 18);
	ck_assert_int_eq(memcmp(buf, "GET / HTTP/1.1\r\n\r\n", 18), 0);

	ck_assert_int_eq(SSL_write(b.srv, "HTTP/1.1 200 OK\r\n\r\nhello", 24), 24);
	n = sy_tls_client_read(b.t, buf, 5, &ww);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(memcmp(buf, "HTTP/", 5), 0);
	ck_assert_uint_eq(sy_tls_client_pending(b.t), 19);
	n = sy_tls_client_read(b.t, buf, sizeof(buf), &ww);
	ck_assert_int_eq(n, 19);
	ck_assert_int_eq(memcmp(buf, "1.1 200 OK\r\n\r\nhello", 19), 0);
	ck_assert_uint_eq(sy_tls_client_pending(b.t), 0);

	/* The backend's close_notify: EOF. */
	SSL_shutdown(b.srv);
	ck_assert_int_eq(sy_tls_client_read(b.t, buf, sizeof(buf), &ww), 0);
	ck_assert(!ww);
	/* Ours: the backend sees a clean end. */
	sy_tls_client_shutdown(b.t);
	sy_tls_client_shutdown(b.t);	/* once only */
	rc = SSL_read(b.srv, buf, sizeof(buf));
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(SSL_get_error(b.srv, rc), SSL_ERROR_ZERO_RETURN);
	ck_assert_str_eq(ssl_counters(SY_SCOPE_CLUSTER_SSL, b.conf->clusters[0].stats_ssl_base),
	    "handshake=1 alpn_h2=1 versions_tls13=1");
	cli_close(&b);
}
END_TEST

/* The backend sends EOF without close_notify: read says 0, like recv (tls.h). */
START_TEST(test_client_backend_eof)
{
	struct cli b;
	bool ww = true;
	char buf[64];
	ssize_t n;
	int err;

	cli_open(&b, "auto", CA, "backend.test", "backend", 0, "http/1.1", false);
	cli_handshake(&b);
	ck_assert_int_eq(b.rc, SY_OK);
	/* An HTTP/1.0-style response delimited by the end of the connection. */
	ck_assert_int_eq(SSL_write(b.srv, "HTTP/1.0 200 OK\r\n\r\nbody", 23), 23);
	shutdown(b.sfd, SHUT_WR);
	n = sy_tls_client_read(b.t, buf, sizeof(buf), &ww);
	ck_assert_int_eq(n, 23);
	errno = 0;
	n = sy_tls_client_read(b.t, buf, sizeof(buf), &ww);
	err = errno;
	cli_close(&b);
	ck_assert_msg(n == 0, "read after a FIN without close_notify: %zd (errno %d %s), want 0 (EOF)",
	    n, err, strerror(err));
}
END_TEST

/*
 * The backend vanishes mid-handshake: an error with the reason, counted.
 * Closed with our ClientHello unread, the socket is reset; read first,
 * it is a plain end of stream (OpenSSL 3: "unexpected eof while reading").
 */
static const struct {
	bool drain;
	const char *why;
} gone_cases[] = {
	{ false, "tls handshake failed: Connection reset by peer" },
	{ true, "tls handshake failed: error:*:SSL routines::unexpected eof while reading" },
};

START_TEST(test_client_backend_gone)
{
	struct cli b;
	char buf[4096];
	bool ww;

	cli_open(&b, "auto", CA, "backend.test", "backend", 0, "h2", false);
	ck_assert_int_eq(sy_tls_client_handshake(b.t, &ww, b.why, sizeof(b.why)), SY_AGAIN);
	if (gone_cases[_i].drain)
		ck_assert_int_gt(read(b.sfd, buf, sizeof(buf)), 0);
	close(b.sfd);
	b.sfd = -1;
	ck_assert_int_eq(sy_tls_client_handshake(b.t, &ww, b.why, sizeof(b.why)), SY_ERROR);
	ck_assert_msg(fnmatch(gone_cases[_i].why, b.why, 0) == 0, "why \"%s\"", b.why);
	ck_assert_str_eq(ssl_counters(SY_SCOPE_CLUSTER_SSL, b.conf->clusters[0].stats_ssl_base),
	    "connection_error=1");
	cli_close(&b);
}
END_TEST

/* A cluster without TLS has no context: no client. */
START_TEST(test_client_plain_cluster)
{
	struct sy_conf *conf = load_ok(L1 CLU CLU_END);

	ck_assert_ptr_null(sy_tls_client_new(&conf->clusters[0], -1, "backend.test"));
	sy_tls_client_free(NULL);
	sy_conf_free(conf);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc;

	fx_make();

	tc = tcase_create("hooks");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_load, 0, (int)SY_ARRAY_LEN(load_cases));
	tcase_add_test(tc, test_load_free);
	tcase_add_test(tc, test_library_version);
	suite_add_tcase(s, tc);

	tc = tcase_create("server");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_server_alpn, 0, (int)SY_ARRAY_LEN(alpn_cases));
	tcase_add_loop_test(tc, test_server_sni, 0, (int)SY_ARRAY_LEN(sni_cases));
	tcase_add_test(tc, test_server_sni_single);
	tcase_add_loop_test(tc, test_server_versions, 0, (int)SY_ARRAY_LEN(version_cases));
	tcase_add_loop_test(tc, test_server_not_tls, 0, 2);
	tcase_add_test(tc, test_server_data);
	tcase_add_test(tc, test_server_peer_gone);
	tcase_add_test(tc, test_server_closed_by_callback);
	tcase_add_test(tc, test_server_attach_plain);
	suite_add_tcase(s, tc);

	tc = tcase_create("client");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_client_handshake, 0, (int)SY_ARRAY_LEN(client_cases));
	tcase_add_test(tc, test_client_certificate);
	tcase_add_test(tc, test_client_data);
	tcase_add_test(tc, test_client_backend_eof);
	tcase_add_loop_test(tc, test_client_backend_gone, 0, (int)SY_ARRAY_LEN(gone_cases));
	tcase_add_test(tc, test_client_plain_cluster);
	suite_add_tcase(s, tc);
	return s;
}

SY_UNIT_MAIN(make_suite)
