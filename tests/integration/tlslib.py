"""tlslib - TLS helpers for switchyard's integration tests (test_50_tls,
test_55_browser).

Test material is made at test time with the openssl command line (the
session-scoped `pki` fixture, in a fresh directory under /tmp): a CA,
another CA, and leaf certificates with EC P-256 keys:

  localhost   CN localhost, SAN localhost, sy.test, 127.0.0.1 (the default
              certificate of the test listeners; sy.test is the browser's)
  a, b        a.example, b.example            (chosen by SNI)
  w           *.w.example                     (a wildcard server_names entry)
  app         app.internal, 127.0.0.1         (upstream certificate)
  bad         app.internal, signed by the other CA
  expired     app.internal, valid in January 2020 only
  reload-a/b  CN reload-a.test / reload-b.test, SAN localhost, 127.0.0.1

No private key is kept in the tree.  Clients and servers here are Python's
ssl module (Debian's OpenSSL under it) and the openssl command line:

  client_context()   an ssl.SSLContext trusting the test CA
  peer_cert()        the certificate a TLS port presents for a server name
  TlsHttpServer      http.server on 127.0.0.1:0, TLS or plain, answering
                     with a JSON description of the request (and of the TLS
                     session: version, ALPN, SNI) or with fixed pages
  curl_tls()         curl over TLS with --cacert and --resolve
  TlsH2Client        h2lib.H2Client over TLS (ALPN from the context)
  WssApp             a python3-websockets echo app speaking wss://

Config pieces: tls_block() (a listener's tls group), upstream_tls() (a
cluster's), with_tls() (puts them into a config dict from sylib); LSSL()
is the prefix of the listener.<address>.ssl.* counters.
"""

import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import sylib
from h2lib import H2Client, curl_or_skip

OPENSSL = "openssl"


# ------------------------------------------------------------ test PKI --

class Cert:
    """One leaf: PEM certificate and key files, and what was asked for."""

    def __init__(self, name, cert, key, cn, sans, issuer):
        self.name, self.cert, self.key = name, Path(cert), Path(key)
        self.cn, self.sans, self.issuer = cn, list(sans), issuer

    def copy_to(self, directory, stem):
        """Copy certificate and key to directory/<stem>.pem and
        <stem>.key (overwriting, atomically); returns (cert, key) paths."""
        directory = Path(directory)
        out = []
        for src, suffix in ((self.cert, ".pem"), (self.key, ".key")):
            dst = directory / (stem + suffix)
            tmp = directory / (stem + suffix + ".tmp")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
            out.append(dst)
        return tuple(out)

    def __repr__(self):
        return "<Cert %s CN=%s>" % (self.name, self.cn)


def _openssl(args, cwd, timeout=30):
    r = subprocess.run([OPENSSL] + [str(a) for a in args], cwd=str(cwd),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("openssl %s failed (%d):\n%s%s" % (
            " ".join(str(a) for a in args), r.returncode, r.stdout.decode(errors="replace"),
            r.stderr.decode(errors="replace")))
    return r.stdout.decode(errors="replace")


def _san(names):
    out = []
    for n in names:
        kind = "IP" if n.replace(".", "").isdigit() or ":" in n else "DNS"
        out.append("%s:%s" % (kind, n))
    return ",".join(out)


class Pki:
    """A CA, another CA, and the leaves listed in the module comment."""

    LEAVES = {
        # name: (CN, SANs, issuer)
        "localhost": ("localhost", ["localhost", "sy.test", "127.0.0.1"], "ca"),
        "a": ("a.example", ["a.example"], "ca"),
        "b": ("b.example", ["b.example"], "ca"),
        "w": ("*.w.example", ["*.w.example"], "ca"),
        "app": ("app.internal", ["app.internal", "127.0.0.1"], "ca"),
        "bad": ("app.internal", ["app.internal", "127.0.0.1"], "other-ca"),
        "reload-a": ("reload-a.test", ["localhost", "127.0.0.1"], "ca"),
        "reload-b": ("reload-b.test", ["localhost", "127.0.0.1"], "ca"),
    }

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = self._ca("ca", "switchyard test CA")
        self.other_ca = self._ca("other-ca", "switchyard other test CA")
        self.leaves = {}
        for name, (cn, sans, issuer) in self.LEAVES.items():
            self.leaves[name] = self._leaf(name, cn, sans, issuer)
        self.leaves["expired"] = self._expired("expired", "app.internal",
                                               ["app.internal", "127.0.0.1"])

    def __getitem__(self, name):
        return self.leaves[name]

    @property
    def ca_file(self):
        return self.ca[0]

    def _ca(self, name, cn):
        cert, key = self.dir / (name + ".pem"), self.dir / (name + ".key")
        _openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-sha256",
                  "-subj", "/O=switchyard tests/CN=%s" % cn,
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                  "-addext", "subjectKeyIdentifier=hash"], self.dir)
        return cert, key

    def _csr(self, name, cn):
        key, csr = self.dir / (name + ".key"), self.dir / (name + ".csr")
        _openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-keyout", key, "-out", csr,
                  "-subj", "/O=switchyard tests/CN=%s" % cn], self.dir)
        return key, csr

    def _ext(self, name, sans):
        ext = self.dir / (name + ".ext")
        ext.write_text("basicConstraints = critical,CA:FALSE\n"
                       "keyUsage = critical,digitalSignature\n"
                       "extendedKeyUsage = serverAuth,clientAuth\n"
                       "subjectKeyIdentifier = hash\n"
                       "authorityKeyIdentifier = keyid\n"
                       "subjectAltName = %s\n" % _san(sans))
        return ext

    def _leaf(self, name, cn, sans, issuer):
        ca_cert, ca_key = self.ca if issuer == "ca" else self.other_ca
        key, csr = self._csr(name, cn)
        cert = self.dir / (name + ".pem")
        _openssl(["x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key,
                  "-set_serial", "0x%s" % os.urandom(8).hex(), "-days", "30", "-sha256",
                  "-extfile", self._ext(name, sans), "-out", cert], self.dir)
        return Cert(name, cert, key, cn, sans, issuer)

    def _expired(self, name, cn, sans):
        """openssl x509 cannot back-date; openssl ca can (-startdate/-enddate)."""
        ca_cert, ca_key = self.ca
        key, csr = self._csr(name, cn)
        cadir = self.dir / "ca-db"
        (cadir / "new").mkdir(parents=True, exist_ok=True)
        (cadir / "index.txt").write_text("")
        (cadir / "serial").write_text(os.urandom(8).hex() + "\n")
        cnf = cadir / "ca.cnf"
        cnf.write_text("[ca]\ndefault_ca = test\n[test]\n"
                       "database = %s/index.txt\nnew_certs_dir = %s/new\nserial = %s/serial\n"
                       "default_md = sha256\npolicy = any\nunique_subject = no\n"
                       "[any]\ncommonName = supplied\norganizationName = optional\n"
                       % (cadir, cadir, cadir))
        cert = self.dir / (name + ".pem")
        _openssl(["ca", "-batch", "-config", cnf, "-cert", ca_cert, "-keyfile", ca_key,
                  "-in", csr, "-out", cert, "-notext", "-startdate", "20200101000000Z",
                  "-enddate", "20200201000000Z", "-extfile", self._ext(name, sans)], self.dir)
        return Cert(name, cert, key, cn, sans, "ca")


@pytest.fixture(scope="session")
def pki():
    """The test PKI, made once per run with the openssl command line."""
    if shutil.which(OPENSSL) is None:
        sylib.skip_or_fail("openssl (the command line tool) missing")
    d = tempfile.mkdtemp(prefix="sy-pki-", dir="/tmp")
    p = Pki(d)
    yield p
    if not os.environ.get("SY_KEEP"):
        sylib.rmtree(d)


# ---------------------------------------------------------- config ------

def tls_block(cert, sni_certs=(), **kw):
    """A listener's tls group: cert (a Cert) is the default certificate;
    sni_certs are (server_names, Cert) pairs for `certificates`; other
    keys (alpn, min_version, ciphers) as given."""
    t = {"certificate": str(cert.cert), "private_key": str(cert.key)}
    if sni_certs:
        t["certificates"] = [{"server_names": list(names), "certificate": str(c.cert),
                              "private_key": str(c.key)} for names, c in sni_certs]
    t.update(kw)
    return t


def upstream_tls(pki, sni=None, verify=None, ca_file=True, **kw):
    """A cluster's tls group trusting the test CA (ca_file=False: none
    given, the system store)."""
    t = {}
    if sni is not None:
        t["sni"] = sni
    if ca_file:
        t["ca_file"] = str(pki.ca_file if ca_file is True else ca_file)
    if verify is not None:
        t["verify"] = verify
    t.update(kw)
    return t


def with_tls(cfg, tls, handshake_timeout=None, index=0):
    """Put a tls group (and tls_handshake_timeout) on listener `index` of
    a config dict from Daemon.config / proxy_config; returns cfg."""
    lst = cfg["listeners"][index]
    lst["tls"] = tls
    if handshake_timeout is not None:
        lst["tls_handshake_timeout"] = handshake_timeout
    return cfg


def LSSL(d):
    """Prefix of listener.<address>.ssl.* for the daemon's port."""
    return "listener.127.0.0.1:%d.ssl." % d.port


# ---------------------------------------------------------- clients -----

def client_context(pki, alpn=None, check_hostname=True, ca=True, **kw):
    """An ssl client context trusting the test CA (ca=False: trusting
    nothing, verification off).  kw: minimum_version, maximum_version,
    ciphers."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca:
        ctx.load_verify_locations(str(pki.ca_file))
        ctx.check_hostname = check_hostname
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if "ciphers" in kw:
        ctx.set_ciphers(kw.pop("ciphers"))
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def tls_connect(port, ctx, server_hostname="localhost", timeout=10.0):
    """A TCP connection to 127.0.0.1:port with the handshake done."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=server_hostname)
    except BaseException:
        raw.close()
        raise


def get_over(sock, host, path="/"):
    """One HTTP/1.1 GET with Connection: close on a TLS socket; the raw
    answer, read to EOF."""
    sock.sendall(sylib.request("GET", path, host=host, headers=[("Connection", "close")]))
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLEOFError):
            break
        if not chunk:
            break
        data += chunk
    return data


def peer_cert(pki, port, server_name):
    """The certificate presented for server_name (ssl.getpeercert() dict,
    chain checked against the test CA, host name not checked), plus
    "commonName", "dns" (SAN names) and "serialNumber" for convenience.
    A request is made and answered on the connection, so the server's side
    of the handshake is complete (and counted) when this returns."""
    ctx = client_context(pki, check_hostname=False)
    with tls_connect(port, ctx, server_hostname=server_name) as s:
        cert = s.getpeercert()
        get_over(s, server_name or "localhost")
    subject = dict(x[0] for x in cert["subject"])
    cert["commonName"] = subject.get("commonName")
    cert["dns"] = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
    return cert


def curl_tls(args, pki, port, host="localhost", timeout=30):
    """curl -sS -i over TLS to host:port resolved to 127.0.0.1, trusting
    the test CA; (returncode, output)."""
    r = subprocess.run([curl_or_skip(), "-sS", "-i", "--max-time", "15", "--cacert",
                        str(pki.ca_file), "--resolve", "%s:%d:127.0.0.1" % (host, port)]
                       + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode("latin-1")


def server_context(cert, alpn=None, client_ca=None):
    """An ssl server context presenting cert (a Cert); with client_ca (a
    PEM file), a client certificate signed by it is required."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert.cert), str(cert.key))
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if client_ca is not None:
        ctx.load_verify_locations(str(client_ca))
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


# ---------------------------------------------------------- servers -----

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 15

    def log_message(self, fmt, *args):   # noqa: D401 - quiet
        pass

    def _answer(self):
        srv = self.server.owner
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        conn = self.connection
        info = {"method": self.command, "path": self.path,
                "headers": [[k.lower(), v] for k, v in self.headers.items()],
                "body": body.decode("latin-1")}
        if isinstance(conn, ssl.SSLSocket):
            peer = conn.getpeercert() or {}
            info.update(tls_version=conn.version(), alpn=conn.selected_alpn_protocol(),
                        sni=getattr(conn, "sy_sni", None),
                        client_cn=dict(x[0] for x in peer.get("subject", ())).get("commonName"))
        with srv.lock:
            srv.requests.append(info)
        page = srv.pages.get(self.path.split("?", 1)[0])
        if page is not None:
            ctype, out, status = page[0], page[1].encode(), 200
        elif srv.pages and self.path != "/json":
            ctype, out, status = "text/plain", b"not found\n", 404
        else:
            ctype, out, status = "application/json", json.dumps(info).encode(), 200
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_HEAD = _answer


class _Srv(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def finish_request(self, request, client_address):
        ctx = self.owner.ssl_context
        if ctx is None:
            self.owner.connections += 1
            return super().finish_request(request, client_address)
        request.settimeout(15)
        try:
            tls = ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with self.owner.lock:
                self.owner.handshake_errors.append(repr(e))
            return
        with self.owner.lock:
            self.owner.connections += 1
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass


class TlsHttpServer:
    """Python's http.server on 127.0.0.1:0 in its own thread, over TLS
    with cert (a Cert) and ALPN alpn, or plain when cert is None.
    pages: {path: (content type, text)} answered as given (other paths
    404, except /json); without pages, every request gets a JSON
    description of itself: method, path, headers, body, and over TLS
    tls_version, alpn, sni, client_cn (the client certificate's CN, with
    client_ca: one is then required).  Kept: requests (those descriptions),
    connections (handshakes completed), handshake_errors, snis (every SNI
    offered)."""

    def __init__(self, cert=None, alpn=("http/1.1",), pages=None, client_ca=None):
        self.ssl_context = server_context(cert, alpn, client_ca) if cert is not None else None
        self.pages = dict(pages or {})
        self.requests = []
        self.handshake_errors = []
        self.snis = []
        self.connections = 0
        self.lock = threading.Lock()
        if self.ssl_context is not None:
            def on_sni(sock, name, ctx):
                sock.sy_sni = name      # sock is the SSLSocket being handshaken
                if name is not None:    # called without a name too
                    with self.lock:
                        self.snis.append(name)
            self.ssl_context.sni_callback = on_sni
        self.httpd = _Srv(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)

    def problems(self):
        return []


class TlsH2Client(H2Client):
    """h2lib.H2Client over TLS: the TCP socket is wrapped before the
    client's preface leaves (H2Client's first flush), so the handshake,
    with ssl_context's ALPN, comes first."""

    def __init__(self, port, ssl_context, server_hostname="localhost", **kw):
        self._tls = (ssl_context, server_hostname)
        super().__init__(port, **kw)

    def flush(self):
        if self._tls is not None:
            ctx, name = self._tls
            self._tls = None
            self.sock = ctx.wrap_socket(self.sock, server_hostname=name)
        super().flush()

    @property
    def alpn(self):
        return self.sock.selected_alpn_protocol()


class WssApp(sylib.AsyncioServer):
    """A python3-websockets echo app on 127.0.0.1:0 over TLS (ssl_context
    from server_context()), in its own thread and event loop; it keeps
    every handshake's path and headers, the close codes, and counts
    messages."""

    def __init__(self, ssl_context):
        import websockets       # python3-websockets
        self.handshakes = []
        self.closes = []
        self.messages = 0
        self.loop = asyncio.new_event_loop()
        self.error = None
        ready = threading.Event()

        async def handler(ws, *args):
            self.handshakes.append((ws.path, list(ws.request_headers.raw_items())))
            try:
                async for msg in ws:
                    self.messages += 1
                    await ws.send(msg)
            except websockets.ConnectionClosed:
                pass
            finally:
                self.closes.append(ws.close_code)

        def run():
            asyncio.set_event_loop(self.loop)
            try:
                self.server = self.loop.run_until_complete(websockets.serve(
                    handler, "127.0.0.1", 0, ssl=ssl_context, max_size=None,
                    compression=None, ping_interval=None, max_queue=None))
                self.port = self.server.sockets[0].getsockname()[1]
            except Exception as e:  # noqa: BLE001 - raised below
                self.error = e
            ready.set()
            if self.error is None:
                self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)
        if self.error is not None:
            raise self.error
        assert ready.is_set(), "python websockets wss app did not start"

