"""test_50_tls - TLS on both sides of switchyard (OpenSSL), ALPN, SNI,
refusals, upstream verification and certificate reload.

Independent peers only: curl (--http2, --http1.1, --no-alpn), Python's ssl
module (the clients, python3-h2 over TLS, python3-websockets wss://, and
http.server behind TLS as an upstream), the openssl command line
(s_client), and a second switchyard instance as an HTTP/2 TLS upstream.
Certificates come from tlslib's `pki` fixture, made at test time with the
openssl command line; no key is kept in the tree.

The admin counters are the oracle: listener.<address>.ssl.* for the
handshakes clients open, cluster.<name>.ssl.* for those with upstreams,
http.<prefix>.downstream_cx_ssl_* and the codec counters for what ALPN
chose.  Nothing sleeps: every wait is on a counter, a log line or a socket.
"""

import asyncio
import os
import pwd
import re
import signal
import socket
import ssl
import time
import warnings

import pytest

import sylib
from h2lib import WsApp, h2_options
from sylib import (WS_BINARY, WS_CLOSE, WS_TEXT, HttpConn, cluster, proxy_config, proxy_route,
                   request, route, wait_until, wait_upgrades_idle, ws_close_payload)
from tlslib import (LSSL, TlsH2Client, TlsHttpServer, WssApp, client_context, curl_tls,
                    get_over, peer_cert, pki, server_context, tls_block, tls_connect,  # noqa: F401
                    upstream_tls, with_tls)

P = "http.ingress_http."
C = "cluster.app."
CS = "cluster.app.ssl."
SIZES = (0, 1, 125, 126, 65535, 65536, 1 << 20)


def websockets_mod():
    try:
        import websockets       # python3-websockets
    except ImportError:
        sylib.skip_or_fail("python3-websockets missing")
    return websockets


def tls_daemon(sy, pki, upstream_port=None, cert="localhost", sni_certs=(), tls_kw=None,
               http=None, handshake_timeout=None, workers=2, routes=None, clusters=None,
               upgrades=None, top=None):
    """A daemon whose listener serves TLS with pki[cert] (plus sni_certs)
    and answers directly (routes) or proxies to cluster "app"."""
    d = sy.daemon()
    if upstream_port is None and clusters is None:
        cfg = d.config(routes=routes, http=http, workers=workers, top=top)
    else:
        cfg = proxy_config(d, [upstream_port] if upstream_port is not None else None,
                           routes=routes, http=http, clusters=clusters, upgrades=upgrades,
                           workers=workers, top=top)
    with_tls(cfg, tls_block(pki[cert], sni_certs, **(tls_kw or {})), handshake_timeout)
    d.start(cfg)
    return d


def body_of(out):
    """Body of `curl -i` output (one response, no interim ones)."""
    return out.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in out else None


# ============================================================ curl ========

def test_curl_http2_and_http11_over_tls(sy, pki):
    b = sy.backend()
    d = tls_daemon(sy, pki, b.port,
                   routes=[route(path="/direct", body="direct over tls\n"),
                           proxy_route("app")])
    url = "https://localhost:%d" % d.port
    seen = []
    for flag, line in (("--http2", "HTTP/2 200"), ("--http1.1", "HTTP/1.1 200"),
                       ("--no-alpn", "HTTP/1.1 200")):
        rc, out = curl_tls([flag, url + "/direct"], pki, d.port)
        assert rc == 0 and out.startswith(line), (flag, out)
        assert body_of(out) == "direct over tls\n", (flag, out)
        rc, out = curl_tls([flag, url + "/proxied"], pki, d.port)
        assert rc == 0 and out.startswith(line), (flag, out)
        assert body_of(out) == "hello from sy-backend\n", (flag, out)
        seen.append(flag)
    L = LSSL(d)
    d.wait_stat(P + "downstream_cx_ssl_active", lambda v: v == 0)
    st = d.stats()
    got = {k: st[k] for k in (L + "handshake", L + "alpn_h2", L + "alpn_http11", L + "alpn_none",
                              L + "connection_error", L + "versions_tls13",
                              P + "downstream_cx_ssl_total", P + "downstream_cx_http2_total",
                              P + "downstream_cx_http1_total", P + "downstream_rq_http2_total",
                              C + "upstream_rq_total")}
    want = {L + "handshake": 6, L + "alpn_h2": 2, L + "alpn_http11": 2, L + "alpn_none": 2,
            L + "connection_error": 0, L + "versions_tls13": 6,
            P + "downstream_cx_ssl_total": 6, P + "downstream_cx_http2_total": 2,
            P + "downstream_cx_http1_total": 4, P + "downstream_rq_http2_total": 2,
            C + "upstream_rq_total": 3}
    assert got == want


def test_curl_alpn_follows_codec_and_alpn_keys(sy, pki):
    """codec_type http1: only http/1.1 offered, a client asking for h2 gets
    HTTP/1.1; an explicit alpn = [ "http/1.1" ] on an auto listener does
    the same."""
    for http, tls_kw in (({"codec_type": "http1"}, None),
                         ({"codec_type": "auto"}, {"alpn": ["http/1.1"]})):
        d = tls_daemon(sy, pki, http=http, tls_kw=tls_kw,
                       routes=[route(prefix="/", body="ok\n")])
        rc, out = curl_tls(["--http2", "https://localhost:%d/" % d.port], pki, d.port)
        assert rc == 0 and out.startswith("HTTP/1.1 200"), out
        st = d.stats()
        assert st[LSSL(d) + "alpn_http11"] == 1 and st[LSSL(d) + "alpn_h2"] == 0, st
        assert st[P + "downstream_cx_http2_total"] == 0


# ==================================================== WebSocket wss ======

async def wss_sizes(url, ctx, server_hostname="localhost", sizes=SIZES):
    websockets = websockets_mod()
    async with websockets.connect(url, ssl=ctx, server_hostname=server_hostname,
                                  max_size=None, compression=None, ping_interval=None,
                                  open_timeout=10) as ws:
        for n in sizes:
            msg = ("ü✓x" * (n // 3 + 1))[:n]
            await ws.send(msg)
            got = await ws.recv()
            assert isinstance(got, str) and got == msg, "text of %d chars" % n
            data = os.urandom(n)
            await ws.send(data)
            got = await ws.recv()
            assert isinstance(got, bytes) and got == data, "binary of %d bytes" % n
        await ws.close(1000)
        return ws.transport.get_extra_info("ssl_object").version()


@pytest.mark.parametrize("app_tls", [False, True], ids=["app-ws", "app-wss"])
def test_wss_client_through_switchyard(sy, pki, app_tls):
    """python3-websockets wss:// -> switchyard (TLS) -> a python3-websockets
    app over plain HTTP/1.1, or over TLS (cluster tls with ca_file and
    sni: the app's certificate is for app.internal, the endpoint is an
    address)."""
    websockets_mod()
    if app_tls:
        app = sy.upstream(WssApp(server_context(pki["app"])))
        ckw = {"tls": upstream_tls(pki, sni="app.internal")}
    else:
        app = sy.upstream(WsApp())
        ckw = {}
    d = tls_daemon(sy, pki, clusters=[cluster("app", [app.port], **ckw)])
    ver = asyncio.run(asyncio.wait_for(
        wss_sizes("wss://localhost:%d/wss?x=1" % d.port, client_context(pki)), 120))
    assert ver == "TLSv1.3"
    wait_until(lambda: app.closes == [1000], what="the app to see the close")
    assert app.messages == 2 * len(SIZES)
    path, hdrs = app.handshakes[0]
    assert path == "/wss?x=1"
    h = {k.lower(): v for k, v in hdrs}
    assert h["upgrade"].lower() == "websocket" and h["host"] == "localhost:%d" % d.port
    wait_upgrades_idle(d, types=["websocket"])
    st = d.stats()
    L = LSSL(d)
    assert st[L + "handshake"] == 1 and st[L + "connection_error"] == 0
    assert st[P + "downstream_cx_ssl_total"] == 1
    assert st[P + "downstream_cx_upgrades_total"] == 1
    assert st[P + "downstream_cx_http1_total"] == 1
    if app_tls:
        assert st[CS + "handshake"] == 1, st
        assert st[CS + "fail_verify_error"] == 0 and st[CS + "fail_verify_san"] == 0
        assert st[C + "upstream_cx_rx_bytes_total"] > 2 * (1 << 20)
    else:
        assert st[CS + "handshake"] == 0


# ============================================ HTTP/2 extended CONNECT =====

def test_h2_extended_connect_over_tls(sy, pki):
    """python3-h2 over TLS with ALPN h2, RFC 8441 CONNECT as a browser
    sends it (https scheme, no sec-websocket-key) to an HTTP/1.1 app."""
    websockets_mod()
    app = sy.upstream(WsApp())
    d = tls_daemon(sy, pki, app.port,
                   http={"codec_type": "auto", "http2_protocol_options": h2_options(True)})
    auth = "localhost:%d" % d.port
    with TlsH2Client(d.port, client_context(pki, alpn=["h2"])) as c:
        assert c.alpn == "h2"
        assert c.peer_allows_connect_protocol()
        sid = c.request([(":method", "CONNECT"), (":protocol", "websocket"),
                         (":scheme", "https"), (":path", "/h2ws"), (":authority", auth),
                         ("sec-websocket-version", "13"), ("origin", "https://" + auth)],
                        end_stream=False)
        s = c.wait_headers(sid)
        assert s.status == 200, s
        assert "sec-websocket-accept" not in [k for k, _ in s.headers], s.headers
        c.ws_send(sid, WS_TEXT, "über tls".encode())
        assert c.ws_recv(sid) == (True, WS_TEXT, "über tls".encode(), False)
        big = os.urandom(300 * 1024)
        c.ws_send(sid, WS_BINARY, big)
        f = c.ws_recv(sid)
        assert f[1] == WS_BINARY and f[2] == big
        # A plain request on the same connection while the tunnel is open.
        s2 = c.fetch("GET", "/plain", authority=auth, scheme="https")
        assert s2.status == 426, s2     # python3-websockets: Upgrade Required
        st = d.stats()
        assert st[P + "downstream_cx_ssl_active"] == 1 and st[P + "downstream_cx_ssl_total"] == 1
        c.ws_send(sid, WS_CLOSE, ws_close_payload(1000, b"bye"))
        fin, op, payload, masked = c.ws_recv(sid)
        assert op == WS_CLOSE and payload[:2] == b"\x03\xe8" and not masked
        c.end_stream(sid)
        assert c.wait_end(sid).reset is None
    wait_until(lambda: app.closes == [1000], what="the app to see the close")
    assert app.headers()["host"] == auth
    wait_upgrades_idle(d, types=["websocket"])
    st = d.stats()
    L = LSSL(d)
    assert (st[L + "alpn_h2"], st[L + "handshake"]) == (1, 1)
    assert st[P + "downstream_cx_http2_total"] == 1
    assert st[P + "downstream_cx_http1_total"] == 0
    assert st[P + "downstream_rq_http2_total"] == 2
    assert st[P + "downstream_cx_upgrades_total"] == 1


# ============================================================= SNI ========

SNI_CASES = [
    ("a.example", "a.example"),
    ("b.example", "b.example"),
    ("x.w.example", "*.w.example"),
    ("A.EXAMPLE", "a.example"),             # host names compare case-insensitively
    ("unknown.example", "localhost"),       # no entry: the default certificate
    ("y.x.w.example", "localhost"),         # a wildcard covers one label only
]


def test_sni_picks_the_certificate(sy, pki):
    d = tls_daemon(sy, pki, routes=[route(prefix="/", body="sni\n")],
                   sni_certs=[(["a.example"], pki["a"]), (["b.example"], pki["b"]),
                              (["*.w.example"], pki["w"])])
    L = LSSL(d)
    for name, cn in SNI_CASES:
        cert = peer_cert(pki, d.port, name)
        assert cert["commonName"] == cn, (name, cert)
    assert d.stat(L + "sni_unknown") == 2
    # Full verification (chain and host name) from Python's ssl ...
    for name in ("a.example", "b.example", "x.w.example"):
        with tls_connect(d.port, client_context(pki), server_hostname=name) as s:
            data = get_over(s, name)
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"sni\n"), data
    # ... and from the openssl command line.
    for name, cn in (("b.example", "b.example"), ("x.w.example", r"\*\.w\.example")):
        r = sylib.run_cmd(["openssl", "s_client", "-connect", "127.0.0.1:%d" % d.port,
                           "-servername", name, "-verify_hostname", name,
                           "-CAfile", pki.ca_file, "-verify_return_error"], timeout=20)
        out = r.stdout.decode(errors="replace")
        assert re.search(r"subject=.*CN ?= ?%s" % cn, out), out
        assert "Verify return code: 0 (ok)" in out, out
    # No SNI at all: the default certificate.
    ctx = client_context(pki, check_hostname=False)
    with tls_connect(d.port, ctx, server_hostname=None) as s:
        subject = dict(x[0] for x in s.getpeercert()["subject"])
        get_over(s, "127.0.0.1")
    assert subject["commonName"] == "localhost"
    # openssl s_client may leave before the server's side is complete.
    d.wait_stat(L + "handshake", lambda v: v == len(SNI_CASES) + 3 + 2 + 1)
    st = d.stats()
    assert st[L + "connection_error"] == 0


# ======================================================== refusals ========

def handshake_error(port, ctx):
    """The SSLError (or OSError) of a handshake that must fail."""
    try:
        s = tls_connect(port, ctx, server_hostname="localhost")
    except (ssl.SSLError, OSError) as e:
        return e
    s.close()
    raise AssertionError("the handshake succeeded with %r" % (s.version(),))


def old_client(version):
    """A client offering only `version` (TLS 1.0 needs security level 0
    in Debian's OpenSSL, and Python warns that it is deprecated)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


@pytest.mark.parametrize("client", ["python", "openssl"])
def test_tls10_client_refused(sy, pki, client):
    d = tls_daemon(sy, pki, routes=[route(prefix="/", body="ok\n")])
    L = LSSL(d)
    if client == "python":
        e = handshake_error(d.port, old_client(ssl.TLSVersion.TLSv1))
        text = str(e).lower()
    else:
        r = sylib.run_cmd(["openssl", "s_client", "-connect", "127.0.0.1:%d" % d.port,
                           "-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"], timeout=20)
        text = (r.stdout + r.stderr).decode(errors="replace").lower()
        assert r.returncode != 0, text
    assert "protocol version" in text or "unsupported protocol" in text, text
    d.wait_stat(L + "connection_error", lambda v: v == 1)
    assert d.stat(L + "handshake") == 0
    # A TLS 1.2 client is welcome (min_version defaults to TLSv1.2).
    ctx = client_context(pki, maximum_version=ssl.TLSVersion.TLSv1_2)
    with tls_connect(d.port, ctx) as s:
        assert s.version() == "TLSv1.2"
    d.wait_stat(L + "versions_tls12", lambda v: v == 1)


def test_min_version_tls13_refuses_tls12(sy, pki):
    d = tls_daemon(sy, pki, tls_kw={"min_version": "TLSv1.3"},
                   routes=[route(prefix="/", body="ok\n")])
    L = LSSL(d)
    e = handshake_error(d.port, client_context(pki, maximum_version=ssl.TLSVersion.TLSv1_2))
    assert "protocol version" in str(e).lower() or "unsupported protocol" in str(e).lower(), e
    d.wait_stat(L + "connection_error", lambda v: v == 1)
    with tls_connect(d.port, client_context(pki)) as s:
        assert s.version() == "TLSv1.3"
    d.wait_stat(L + "versions_tls13", lambda v: v == 1)
    assert d.stat(L + "versions_tls12") == 0


def test_plaintext_http_on_tls_port_closed(sy, pki):
    d = tls_daemon(sy, pki, routes=[route(prefix="/", body="ok\n")])
    L = LSSL(d)
    with HttpConn(port=d.port) as c:
        c.send(request("GET", "/", headers=[("Connection", "close")]))
        assert c.wait_closed(timeout=5), "switchyard kept a plain-text client open"
        assert not c.buf.startswith(b"HTTP/"), c.buf
    d.wait_stat(L + "connection_error", lambda v: v == 1)
    st = d.stats()
    assert st[L + "handshake"] == 0
    assert st[P + "downstream_rq_total"] == 0
    d.wait_stat(P + "downstream_cx_ssl_active", lambda v: v == 0)
    # The port still serves TLS.
    rc, out = curl_tls(["https://localhost:%d/" % d.port], pki, d.port)
    assert rc == 0 and body_of(out) == "ok\n", out


def client_hello(pki):
    """The bytes of a ClientHello, made with a memory BIO."""
    ctx = client_context(pki)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


@pytest.mark.parametrize("sent", ["nothing", "half-hello"])
def test_handshake_timeout(sy, pki, sent):
    """A client that connects and sends nothing, or half a ClientHello, is
    closed after tls_handshake_timeout (1s) and counted."""
    d = tls_daemon(sy, pki, handshake_timeout="1s", routes=[route(prefix="/", body="ok\n")])
    L = LSSL(d)
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    try:
        t0 = time.monotonic()
        if sent == "half-hello":
            hello = client_hello(pki)
            s.sendall(hello[:len(hello) // 2])
        s.settimeout(8)
        try:
            data = s.recv(65536)
            while data:
                data = s.recv(65536)
        except ConnectionResetError:
            pass
        elapsed = time.monotonic() - t0
    finally:
        s.close()
    assert 0.8 <= elapsed < 6, "closed after %.2fs, tls_handshake_timeout is 1s" % elapsed
    d.wait_stat(L + "handshake_timeout", lambda v: v == 1)
    assert d.stat(L + "handshake") == 0
    d.wait_stat(P + "downstream_cx_ssl_active", lambda v: v == 0)
    # A real handshake on the same listener is not cut short.
    rc, out = curl_tls(["https://localhost:%d/" % d.port], pki, d.port)
    assert rc == 0 and body_of(out) == "ok\n", out


UPSTREAM_CASES = [
    # (upstream certificate, verify, expected status, counter that moves)
    ("app", None, 200, "handshake"),
    ("bad", None, 502, "fail_verify_error"),        # signed by another CA
    ("expired", None, 502, "fail_verify_error"),
    ("a", None, 502, "fail_verify_san"),            # a.example, not app.internal
    ("bad", False, 200, "handshake"),               # verify = false
]


@pytest.mark.parametrize("cert,verify,status,counter", UPSTREAM_CASES,
                         ids=["good", "other-ca", "expired", "wrong-name", "verify-off"])
def test_upstream_certificate_verification(sy, pki, cert, verify, status, counter):
    srv = sy.upstream(TlsHttpServer(pki[cert]))
    d = sy.daemon()
    d.start(proxy_config(d, None, clusters=[
        cluster("app", [srv.port], tls=upstream_tls(pki, sni="app.internal", verify=verify))]))
    m = d.mark()
    r = sylib.get(d.port, "/up")
    assert r.status == status, r
    st = d.stats()
    got = {k: st[CS + k] for k in ("handshake", "connection_error", "fail_verify_error",
                                   "fail_verify_san", "fail_verify_no_cert")}
    want = dict.fromkeys(got, 0)
    want[counter] = 1
    assert got == want
    if status == 200:
        info = srv.requests[0]
        assert info["sni"] == "app.internal" and info["path"] == "/up", info
        assert info["alpn"] == "http/1.1", info    # protocol http1: ALPN offers http/1.1
        assert st[C + "upstream_rq_2xx"] == 1
    else:
        assert srv.requests == []
        assert srv.snis == ["app.internal"]
        d.wait_log(r"certificate verify failed", since=m)
        assert st[P + "downstream_rq_5xx"] == 1
    assert srv.snis[0] == "app.internal"


def test_upstream_sni_defaults_to_endpoint_address(sy, pki):
    """No sni and an address as endpoint: no SNI sent (RFC 6066), the
    address is checked against the certificate's IP SANs."""
    srv = sy.upstream(TlsHttpServer(pki["app"]))
    d = sy.daemon()
    d.start(proxy_config(d, None, clusters=[cluster("app", [srv.port], tls=upstream_tls(pki))]))
    r = sylib.get(d.port, "/ip")
    assert r.status == 200, r
    assert srv.snis == [] and srv.requests[0]["sni"] is None
    assert d.stat(CS + "handshake") == 1


def test_upstream_client_certificate(sy, pki):
    """cluster tls certificate/private_key: sent when the upstream asks
    for one; without it, an upstream that requires one gets nothing and
    the client a 502."""
    srv = sy.upstream(TlsHttpServer(pki["app"], client_ca=pki.ca_file))
    d = sy.daemon()
    d.start(proxy_config(d, None, workers=1, clusters=[
        cluster("app", [srv.port], tls=upstream_tls(pki, sni="app.internal",
                                                    certificate=str(pki["b"].cert),
                                                    private_key=str(pki["b"].key))),
        cluster("nocert", [srv.port], tls=upstream_tls(pki, sni="app.internal"))],
        routes=[proxy_route("nocert", prefix="/nocert"), proxy_route("app")]))
    r = sylib.get(d.port, "/with-cert")
    assert r.status == 200, r
    assert srv.requests[0]["client_cn"] == "b.example", srv.requests[0]
    r = sylib.get(d.port, "/nocert")
    assert r.status == 502, r
    assert [x["path"] for x in srv.requests] == ["/with-cert"]


def test_listener_ciphers(sy, pki):
    """ciphers (TLS 1.2): only the listed suite is negotiated; a client
    offering none of them is refused and counted."""
    suite = "ECDHE-ECDSA-AES256-GCM-SHA384"
    d = tls_daemon(sy, pki, tls_kw={"ciphers": suite}, routes=[route(prefix="/", body="ok\n")])
    L = LSSL(d)
    ctx = client_context(pki, maximum_version=ssl.TLSVersion.TLSv1_2)
    with tls_connect(d.port, ctx) as s:
        assert s.cipher()[0] == suite and s.version() == "TLSv1.2"
        assert get_over(s, "localhost").endswith(b"ok\n")
    ctx = client_context(pki, maximum_version=ssl.TLSVersion.TLSv1_2,
                         ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
    e = handshake_error(d.port, ctx)
    assert "handshake failure" in str(e).lower() or "no shared cipher" in str(e).lower(), e
    d.wait_stat(L + "connection_error", lambda v: v == 1)
    assert d.stat(L + "versions_tls12") == 1


# ========================================================== reload ========

def test_reload_swaps_certificate_tunnel_survives(sy, pki):
    """cert A -> open a wss tunnel -> files rewritten with cert B -> SIGHUP:
    new connections get B, the tunnel still echoes; a corrupt certificate
    then fails the reload (file:line), and B keeps being served."""
    websockets = websockets_mod()
    app = sy.upstream(WsApp())
    d = sy.daemon()
    cert, key = pki["reload-a"].copy_to(d.dir, "server")
    cfg = proxy_config(d, [app.port], top={"drain_timeout": "60s"})
    tls = {"certificate": str(cert), "private_key": str(key)}
    with_tls(cfg, tls)
    d.start(cfg)
    assert peer_cert(pki, d.port, "localhost")["commonName"] == "reload-a.test"
    serial_a = peer_cert(pki, d.port, "localhost")["serialNumber"]

    loop = asyncio.new_event_loop()
    try:
        async def open_ws():
            return await websockets.connect("wss://localhost:%d/held" % d.port,
                                            ssl=client_context(pki), compression=None,
                                            ping_interval=None, max_size=None)

        ws = loop.run_until_complete(asyncio.wait_for(open_ws(), 10))

        async def echo(msg):
            await ws.send(msg)
            return await ws.recv()

        assert loop.run_until_complete(asyncio.wait_for(echo("before"), 10)) == "before"
        peer = ws.transport.get_extra_info("ssl_object").getpeercert()
        assert dict(x[0] for x in peer["subject"])["commonName"] == "reload-a.test"

        pki["reload-b"].copy_to(d.dir, "server")
        m = d.mark()
        d.signal(signal.SIGHUP)
        d.wait_log(r"reload ok: generation 2\b", since=m)
        d.wait_stat("server.reloads", lambda v: v == 1)
        cb = peer_cert(pki, d.port, "localhost")
        assert cb["commonName"] == "reload-b.test" and cb["serialNumber"] != serial_a, cb
        # The tunnel opened under generation 1 still works.
        for n in (5, 70000):
            msg = os.urandom(n)
            assert loop.run_until_complete(asyncio.wait_for(echo(msg), 10)) == msg

        # A corrupt certificate: the reload fails with file:line, B stays.
        cert.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n"
                        "-----END CERTIFICATE-----\n")
        m = d.mark()
        d.signal(signal.SIGHUP)
        d.wait_log(r"reload failed: keeping generation 2\b", since=m)
        d.wait_stat("server.reload_failed", lambda v: v == 1)
        log = d.log()[m:]
        lines = d.conf_path.read_text().splitlines()
        tls_lines = {i + 1 for i, ln in enumerate(lines)
                     if re.match(r"\s*(tls|certificate)\s*=", ln)}
        hits = re.findall(r"%s:(\d+): tls: cannot load certificate" % re.escape(str(d.conf_path)),
                          log)
        assert hits and int(hits[0]) in tls_lines, \
            "no `%s:<line of tls or certificate>: tls: cannot load certificate` in:\n%s" \
            % (d.conf_path, log)
        assert d.stat("server.generation") == 2
        assert peer_cert(pki, d.port, "localhost")["commonName"] == "reload-b.test"
        assert loop.run_until_complete(asyncio.wait_for(echo("after"), 10)) == "after"
        loop.run_until_complete(asyncio.wait_for(ws.close(1000), 10))
    finally:
        loop.close()
    wait_until(lambda: app.closes == [1000], what="the app to see the close")
    wait_upgrades_idle(d, types=["websocket"])


# ================================================ protocol "auto" =========

def test_cluster_protocol_auto_picks_h2(sy, pki):
    """protocol auto on a TLS cluster whose endpoint (another switchyard,
    TLS listener, codec auto) offers h2: HTTP/2 is spoken."""
    inner = tls_daemon(sy, pki, routes=[route(prefix="/", body="inner h2\n")],
                       http={"codec_type": "auto"})
    d = sy.daemon()
    d.start(proxy_config(d, None, workers=1, clusters=[
        cluster("app", [inner.port], protocol="auto",
                tls=upstream_tls(pki, sni="localhost"))]))
    for i in range(3):
        r = sylib.get(d.port, "/auto/%d" % i)
        assert (r.status, r.body) == (200, b"inner h2\n"), r
    st = d.stats()
    got = {k: st[k] for k in (CS + "alpn_http11", CS + "connection_error",
                              C + "upstream_cx_http2_total", C + "upstream_rq_total")}
    assert got == {CS + "alpn_http11": 0, CS + "connection_error": 0,
                   C + "upstream_cx_http2_total": 1, C + "upstream_rq_total": 3}
    # The first request's handshake learns the cluster's ALPN, and that
    # connection becomes the shared HTTP/2 session: one handshake in all.
    assert st[CS + "alpn_h2"] == st[CS + "handshake"] == st[C + "upstream_cx_total"] == 1
    ist = inner.stats()
    assert ist[LSSL(inner) + "alpn_h2"] == st[CS + "alpn_h2"]
    assert ist[P + "downstream_cx_http2_total"] == st[CS + "alpn_h2"]
    assert ist[P + "downstream_rq_http2_total"] == 3


def test_cluster_protocol_auto_falls_back_to_http11(sy, pki):
    """protocol auto toward a TLS server offering only http/1.1 (Python's
    http.server): HTTP/1.1 is spoken."""
    srv = sy.upstream(TlsHttpServer(pki["app"], alpn=["http/1.1"]))
    d = sy.daemon()
    d.start(proxy_config(d, None, workers=1, clusters=[
        cluster("app", [srv.port], protocol="auto", tls=upstream_tls(pki, sni="app.internal"))]))
    r = sylib.get(d.port, "/auto")
    assert r.status == 200, r
    st = d.stats()
    got = {k: st[k] for k in (CS + "handshake", CS + "alpn_h2", CS + "alpn_http11",
                              C + "upstream_cx_total", C + "upstream_cx_http2_total")}
    assert got == {CS + "handshake": 1, CS + "alpn_h2": 0, CS + "alpn_http11": 1,
                   C + "upstream_cx_total": 1, C + "upstream_cx_http2_total": 0}
    info = srv.requests[0]
    assert info["alpn"] == "http/1.1" and info["path"] == "/auto", info


def test_cluster_protocol_auto_needs_tls(sy):
    d = sy.daemon()
    d.write_config(proxy_config(d, [1], clusters=[cluster("app", [1], protocol="auto")]))
    r = sylib.run_cmd([sylib.SWITCHYARD, "-t", "-c", d.conf_path])
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode != 0, out
    assert str(d.conf_path) + ":" in out and "tls" in out, out


# ====================================================== privileges ========

def test_root_only_key_loaded_before_dropping_privileges(sy, pki):
    """A private key readable only by root (0600) is loaded by the master;
    workers run as nobody; a reload re-reads it (the master stays root)."""
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        sylib.skip_or_fail("no user nobody")
    if os.getuid() != 0:
        sylib.skip_or_fail("not root")
    d = sy.daemon()
    cert, key = pki["localhost"].copy_to(d.dir, "server")
    os.chown(key, 0, 0)
    os.chmod(key, 0o600)
    cfg = d.config(top={"user": "nobody"}, routes=[route(prefix="/", body="private\n")])
    with_tls(cfg, {"certificate": str(cert), "private_key": str(key)})
    d.start(cfg)

    def uid(pid):
        with open("/proc/%d/status" % pid) as f:
            return int(re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1))
    for w in d.worker_pids():
        wait_until(lambda: uid(w) == nobody.pw_uid, timeout=5, what="worker %d as nobody" % w)
    rc, out = curl_tls(["https://localhost:%d/" % d.port], pki, d.port)
    assert rc == 0 and body_of(out) == "private\n", out
    d.signal(signal.SIGHUP)
    d.wait_log(r"reload ok: generation 2")
    rc, out = curl_tls(["--http2", "https://localhost:%d/" % d.port], pki, d.port)
    assert rc == 0 and out.startswith("HTTP/2 200") and body_of(out) == "private\n", out


def test_bad_key_or_certificate_refused_at_start(sy, pki):
    """-t on a config whose key does not match its certificate, or whose
    certificate file is missing: file:line and a non-zero exit."""
    d = sy.daemon()
    for c, k, what in ((pki["a"].cert, pki["b"].key, "private key"),
                       (d.dir / "missing.pem", pki["a"].key, "certificate")):
        cfg = d.config()
        with_tls(cfg, {"certificate": str(c), "private_key": str(k)})
        d.write_config(cfg)
        r = sylib.run_cmd([sylib.SWITCHYARD, "-t", "-c", d.conf_path])
        out = (r.stdout + r.stderr).decode(errors="replace")
        assert r.returncode != 0, out
        assert re.search(r"%s:\d+: tls: .*%s" % (re.escape(str(d.conf_path)), what), out), out
