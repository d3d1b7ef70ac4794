"""test_45_h2_upgrade - upgrades across HTTP/2 hops (RFC 8441 extended CONNECT).

Three groups, each with independent implementations on the far side:

* switchyard as the extended-CONNECT server: python3-h2 (h2lib.H2Client)
  and Node's http2 module (tools/h2-connect.js) open `:protocol websocket`
  streams as browsers do (no sec-websocket-key) toward an HTTP/1.1 cluster
  whose backend is python3-websockets or sy-backend; SETTINGS_ENABLE_
  CONNECT_PROTOCOL is offered only with allow_connect, and without it the
  stream (not the connection) is refused.
* switchyard as the extended-CONNECT client: an HTTP/1.1 client's upgrade
  goes to a python3-h2 server (h2lib.H2Server) that does or does not
  advertise ENABLE_CONNECT_PROTOCOL; switchyard computes the
  Sec-WebSocket-Accept the h2 server does not send, or answers 502.
* the seed's chain, two switchyard instances: client --HTTP/1.1--> front
  --h2c--> sidecar --HTTP/1.1--> app, with python3-websockets and node-ws
  clients, messages up to 16 MiB, the POST-becomes-GET flaw and
  preserve_upgrade_method, bodies refused, a sidecar without allow_connect,
  200 tunnels multiplexed on one HTTP/2 connection, and closure both ways.

downstream_cx_upgrades_active is back to 0 on every instance after every
scenario.  Nothing sleeps: every wait is on a counter or a socket.
"""

import asyncio
import base64
import os

import pytest

import h2.errors

import sylib
from h2lib import (H2Client, H2Server, WsApp, chain, h2_options, run_node)
from sylib import (WS_BINARY, WS_CLOSE, WS_PING, WS_PONG, WS_TEXT, RawServer, TunnelConn,
                   cluster, head_value, parse_head, proxy_config, upgrade_request,
                   wait_until, wait_upgrades_idle, ws_close_payload, ws_frame, ws_request,
                   ws_upgrade_echo_handler)

P = "http.ingress_http."
C = "cluster.app."
WS = P + "upgrades.websocket."
SIZES = (0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20)


def websockets_mod():
    try:
        import websockets       # python3-websockets
    except ImportError:
        sylib.skip_or_fail("python3-websockets missing")
    return websockets


def connect_listener(sy, upstream_port, allow_connect=True, codec="http2", workers=2):
    """A daemon with an h2c listener (allow_connect as given) proxying to
    an HTTP/1.1 cluster "app" on upstream_port."""
    d = sy.daemon()
    d.start(proxy_config(d, [upstream_port], workers=workers,
                         upgrades={"websocket": True, "foo": True},
                         http={"codec_type": codec,
                               "http2_protocol_options": h2_options(allow_connect)}))
    return d


def h2_cluster_proxy(sy, srv, workers=1):
    """A daemon with an HTTP/1.1 listener and cluster "app" speaking h2c to
    the python-h2 server srv."""
    d = sy.daemon()
    d.start(proxy_config(d, None, workers=workers, upgrades={"websocket": True, "foo": True},
                         http={"codec_type": "http1"},
                         clusters=[cluster("app", [srv.port], protocol="http2",
                                           http2_protocol_options=h2_options())]))
    return d


def valid_ws_key(k):
    try:
        return len(base64.b64decode(k, validate=True)) == 16
    except (ValueError, TypeError):
        return False


def ws_close_roundtrip(c, sid):
    """Close the WebSocket inside stream sid, then END_STREAM both ways."""
    c.ws_send(sid, WS_CLOSE, ws_close_payload(1000, b"bye"))
    fin, op, payload, masked = c.ws_recv(sid)
    assert op == WS_CLOSE and payload[:2] == b"\x03\xe8" and not masked
    c.end_stream(sid)
    s = c.wait_end(sid)
    assert s.ended and s.reset is None, s


# ============================================ switchyard as h2 server ======

@pytest.mark.parametrize("codec,allow", [("http2", True), ("http2", False), ("auto", True)])
def test_settings_advertise_enable_connect_protocol(sy, codec, allow):
    b = sy.backend()
    d = connect_listener(sy, b.port, allow_connect=allow, codec=codec)
    with H2Client(d.port) as c:
        settings = c.wait_settings()
    if allow:
        assert settings.get(0x8) == 1, settings
    else:
        assert settings.get(0x8, 0) == 0, settings


def test_extended_connect_to_python_websockets(sy):
    """python-h2 as a browser would: CONNECT :protocol websocket without a
    key.  switchyard makes the HTTP/1.1 handshake (its own key), checks the
    app's accept, answers 200 without sec-websocket-accept; then frames
    travel inside DATA both ways."""
    websockets_mod()
    app = sy.upstream(WsApp())
    d = connect_listener(sy, app.port)
    with H2Client(d.port) as c:
        assert c.peer_allows_connect_protocol()
        sid = c.extended_connect("/chat?room=1", extra=[("sec-websocket-version", "13"),
                                                         ("origin", "http://o.example")])
        s = c.wait_headers(sid)
        assert s.status == 200, s
        names = [k for k, _ in s.headers]
        assert "sec-websocket-accept" not in names, s.headers
        assert "upgrade" not in names and "connection" not in names, s.headers
        c.ws_send(sid, WS_TEXT, "hello ü".encode())
        assert c.ws_recv(sid) == (True, WS_TEXT, "hello ü".encode(), False)
        big = os.urandom(200 * 1024)          # beyond every initial window
        c.ws_send(sid, WS_BINARY, big)
        f = c.ws_recv(sid)
        assert f[1] == WS_BINARY and f[2] == big
        c.ws_send(sid, WS_TEXT, b"")
        assert c.ws_recv(sid) == (True, WS_TEXT, b"", False)
        c.ws_send(sid, WS_PING, b"p")
        assert c.ws_recv(sid) == (True, WS_PONG, b"p", False)
        st = d.stats()
        assert st[P + "downstream_cx_upgrades_active"] == 1
        assert st[WS + "active"] == 1
        assert st[P + "http2.streams_active"] == 1
        ws_close_roundtrip(c, sid)
        wait_until(lambda: app.closes == [1000], what="the app to see the close")
    path, _ = app.handshakes[0]
    assert path == "/chat?room=1"
    h = app.headers()
    assert h["upgrade"].lower() == "websocket"
    assert "upgrade" in h["connection"].lower()
    assert h["sec-websocket-version"] == "13"
    assert valid_ws_key(h["sec-websocket-key"]), h
    assert h["origin"] == "http://o.example"
    assert h["host"] == "h2.test"
    wait_upgrades_idle(d, types=["websocket"])
    st = d.stats()
    assert st[P + "downstream_cx_upgrades_total"] == 1
    assert st[WS + "total"] == 1 and st[WS + "failed"] == 0
    assert st[P + "downstream_cx_http2_total"] == 1


def test_extended_connect_streams_multiplexed_to_sy_backend(sy):
    """Three tunnels and a plain request on one connection; resetting one
    tunnel leaves the others working."""
    b = sy.backend()
    d = connect_listener(sy, b.port)
    with H2Client(d.port) as c:
        sids = [c.extended_connect("/t%d" % i) for i in range(3)]
        for sid in sids:
            assert c.wait_headers(sid).status == 200
        for i, sid in enumerate(sids):
            c.ws_send(sid, WS_TEXT, b"to tunnel %d" % i)
        s = c.fetch("GET", "/plain")
        assert s.status == 200 and bytes(s.data) == b"hello from sy-backend\n"
        for i, sid in enumerate(reversed(sids)):
            assert c.ws_recv(sid)[2] == b"to tunnel %d" % (2 - i)
        d.wait_stat(P + "downstream_cx_upgrades_active", lambda v: v == 3)
        c.reset_stream(sids[1], h2.errors.ErrorCodes.CANCEL)
        d.wait_stat(P + "downstream_cx_upgrades_active", lambda v: v == 2)
        for sid in (sids[0], sids[2]):
            c.ws_send(sid, WS_BINARY, b"still here %d" % sid)
            assert c.ws_recv(sid)[2] == b"still here %d" % sid
            ws_close_roundtrip(c, sid)
        assert c.goaway is None
    b.wait_out(r"websocket: close 1000 received", count=2)
    wait_upgrades_idle(d, types=["websocket"])
    st = d.stats()
    assert st[P + "downstream_cx_upgrades_total"] == 3
    assert st[P + "downstream_cx_http2_total"] == 1
    assert st[C + "upstream_rq_total"] == 4


def test_extended_connect_refused_without_allow_connect(sy):
    b = sy.backend()
    d = connect_listener(sy, b.port, allow_connect=False)
    with H2Client(d.port) as c:
        assert not c.peer_allows_connect_protocol()
        sid = c.extended_connect("/ws")
        s = c.wait_reset(sid)
        assert s.reset is not None and s.headers is None, s
        # Only that stream: the connection still serves.
        s = c.fetch("GET", "/after")
        assert s.status == 200 and bytes(s.data) == b"hello from sy-backend\n", s
        assert c.goaway is None
    st = d.stats()
    assert st[P + "http2.extended_connect_refused"] == 1
    assert st[P + "downstream_cx_upgrades_total"] == 0
    assert st[C + "upstream_rq_total"] == 1
    wait_upgrades_idle(d)


@pytest.mark.parametrize("allow", [True, False])
def test_node_http2_extended_connect_client(sy, allow):
    b = sy.backend()
    d = connect_listener(sy, b.port, allow_connect=allow)
    rc, out = run_node("h2-connect.js", ["http://127.0.0.1:%d" % d.port, "/node",
                                         "hello from node"])
    lines = out.splitlines()
    if not allow:
        assert rc == 3 and lines == ["settings enableConnectProtocol=false"], out
        assert d.stat(P + "downstream_cx_upgrades_total") == 0
        return
    assert rc == 0, out
    assert lines == ["settings enableConnectProtocol=true", "status 200", "accept none",
                     "echo 1 hello from node", "close 1000", "end"], out
    b.wait_out(r"websocket: close 1000 received")
    wait_upgrades_idle(d, types=["websocket"])
    assert d.stat(P + "downstream_cx_upgrades_total") == 1


# ============================================ switchyard as h2 client ======

def test_h1_websocket_to_h2_upstream(sy):
    """python3-websockets (HTTP/1.1) -> switchyard -> python-h2 server with
    ENABLE_CONNECT_PROTOCOL: the upgrade becomes extended CONNECT; the h2
    server's 200 (no accept) becomes a 101 whose accept switchyard
    computed from the client's key."""
    websockets = websockets_mod()
    srv = sy.upstream(H2Server(connect_protocol=True))
    d = h2_cluster_proxy(sy, srv)

    async def session():
        async with websockets.connect("ws://127.0.0.1:%d/h2ws" % d.port, max_size=None,
                                      compression=None, ping_interval=None) as ws:
            key = ws.request_headers["Sec-WebSocket-Key"]
            for n in (0, 125, 70000, 1 << 20):
                data = os.urandom(n)
                await ws.send(data)
                assert await ws.recv() == data, n
            await ws.send("text ✓")
            assert await ws.recv() == "text ✓"
            await ws.close(1000)
            return key, dict(ws.response_headers.raw_items())

    key, resp = asyncio.run(asyncio.wait_for(session(), 60))
    rec = srv.connects()[0]
    h = dict(rec["headers"])
    assert h[":method"] == "CONNECT" and h[":protocol"] == "websocket"
    assert h[":scheme"] == "http" and h[":path"] == "/h2ws"
    assert h[":authority"] == "127.0.0.1:%d" % d.port
    assert h["sec-websocket-version"] == "13"
    assert h.get("sec-websocket-key", key) == key
    for hop in ("upgrade", "connection"):
        assert hop not in h, rec["headers"]
    assert h.get("host", h[":authority"]) == h[":authority"]
    # The client's FIN (after the close handshake) became END_STREAM.
    wait_until(lambda: rec["client_ended"] or rec["reset"] is not None,
               what="the end of the CONNECT stream at the h2 server")
    assert rec["client_ended"] and rec["reset"] is None, rec

    # The same through raw bytes: the exact accept, unmasked echo.
    with TunnelConn(port=d.port, timeout=10) as c:
        c.ws_handshake("/raw")                # asserts 101 and the accept
        c.send(ws_frame(WS_TEXT, b"raw"))
        assert c.read_frame() == (True, WS_TEXT, b"raw", False)
        c.send(ws_frame(WS_CLOSE, ws_close_payload(1000)))
        assert c.read_frame()[1] == WS_CLOSE
        assert c.read_until_eof() == b""
    wait_upgrades_idle(d, types=["websocket"])
    st = d.stats()
    assert st[C + "upstream_cx_http2_total"] == 1
    assert srv.connections == 1
    assert st[P + "downstream_cx_upgrades_total"] == 2
    assert st[C + "upstream_rq_extended_connect_refused"] == 0


def test_h1_foo_upgrade_to_h2_upstream(sy):
    """Any upgrade token: :protocol foo, raw bytes, FIN <-> END_STREAM."""
    srv = sy.upstream(H2Server(connect_protocol=True))
    d = h2_cluster_proxy(sy, srv)
    data = os.urandom(300 * 1024)
    with TunnelConn(port=d.port, timeout=10) as c:
        r = c.upgrade("foo", "/foo", early=b"early ")
        assert (r.header("upgrade") or "").lower() == "foo", r
        assert "upgrade" in (r.header("connection") or "").lower(), r
        c.send(data)
        c.shutdown_write()
        assert c.read_until_eof() == b"early " + data
    rec = srv.connects()[0]
    assert rec["protocol"] == "foo" and rec["client_ended"]
    wait_upgrades_idle(d, types=["foo"])


@pytest.mark.parametrize("token", ["websocket", "foo"])
def test_h1_upgrade_to_h2_upstream_without_setting_502(sy, token):
    srv = sy.upstream(H2Server(connect_protocol=False))
    d = h2_cluster_proxy(sy, srv)
    with TunnelConn(port=d.port, timeout=10) as c:
        req = ws_request("/nope") if token == "websocket" else upgrade_request("foo", "/nope")
        c.send(req + b"held bytes")
        r = c.read_response()
        assert r.status == 502, r
        assert c.wait_closed()
    assert srv.connects() == [], srv.requests
    st = d.stats()
    assert st[C + "upstream_rq_extended_connect_refused"] == 1
    assert st[P + "downstream_cx_upgrades_total"] == 0
    wait_upgrades_idle(d, types=[token])


def test_h2_upstream_non_200_relayed_no_tunnel(sy):
    srv = sy.upstream(H2Server(connect_protocol=True))
    d = h2_cluster_proxy(sy, srv)
    with TunnelConn(port=d.port, timeout=10) as c:
        c.send(upgrade_request("foo", "/status/403") + b"held bytes")
        r = c.read_response()
        assert (r.status, r.body) == (403, b"status 403\n"), r
        assert c.wait_closed()
    assert d.stat(P + "downstream_cx_upgrades_total") == 0
    wait_upgrades_idle(d, types=["foo"])


# ========================================================= the chain =======

async def ws_sizes_session(port, path="/chain"):
    websockets = websockets_mod()
    async with websockets.connect("ws://127.0.0.1:%d%s" % (port, path), max_size=None,
                                  compression=None, ping_interval=None) as ws:
        key = ws.request_headers["Sec-WebSocket-Key"]
        for n in SIZES:
            msg = ("ü✓x" * (n // 3 + 1))[:n]
            await ws.send(msg)
            got = await ws.recv()
            assert isinstance(got, str) and got == msg, "text of %d chars" % n
            data = os.urandom(n)
            await ws.send(data)
            got = await ws.recv()
            assert isinstance(got, bytes) and got == data, "binary of %d bytes" % n
        await ws.close(1000)
        return key


def test_chain_python_websockets_messages(sy):
    websockets_mod()
    app = sy.upstream(WsApp())
    ch = chain(sy, app.port)
    key = asyncio.run(asyncio.wait_for(ws_sizes_session(ch.port), 120))
    wait_until(lambda: app.closes == [1000], what="the app to see the close")
    assert app.messages == 2 * len(SIZES)
    h = app.headers()
    # The client's key crossed both hops untouched (and so did the accept,
    # which the client checked).
    assert h["sec-websocket-key"] == key
    assert h["upgrade"].lower() == "websocket"
    ch.wait_idle()
    fs, ss = ch.assert_h2_hop(upgrades=1)
    assert ss[ch.SC + "upstream_cx_tx_bytes_total"] > 2 * (16 << 20)


def test_chain_node_ws_messages(sy):
    websockets_mod()
    app = sy.upstream(WsApp())
    ch = chain(sy, app.port)
    rc, out = run_node("ws-echo.js", ["ws://127.0.0.1:%d/node" % ch.port] + list(SIZES),
                       timeout=120)
    assert rc == 0 and "closed 1000 after %d" % (2 * len(SIZES)) in out, out
    wait_until(lambda: app.closes == [1000], what="the app to see the close")
    ch.wait_idle()
    ch.assert_h2_hop(upgrades=1)


@pytest.mark.parametrize("preserve", [None, True], ids=["default", "preserve"])
@pytest.mark.parametrize("content_length", ["0", None], ids=["cl0", "no-cl"])
def test_chain_post_upgrade_method(sy, preserve, content_length):
    """The seed's flaw: a POST upgrade crossing an HTTP/2 hop arrives as
    GET; with preserve_upgrade_method on both instances it stays POST, and
    the private header carrying it never reaches the app."""
    app = sy.upstream(RawServer(ws_upgrade_echo_handler))
    ch = chain(sy, app.port, preserve_upgrade_method=preserve)
    extra = [("Content-Length", content_length)] if content_length is not None else []
    with TunnelConn(port=ch.port, timeout=10) as c:
        c.send(upgrade_request("foo", "/post-up", method="POST", extra=extra))
        r = c.read_response()
        assert r.status == 101 and (r.header("upgrade") or "").lower() == "foo", r
        c.send(b"through two hops")
        assert c.take(16) == b"through two hops"
        c.shutdown_write()
        assert c.read_until_eof() == b""
    line, hdrs = parse_head(app.wait_conns(1).request_head)
    assert line == ("POST" if preserve else "GET") + " /post-up HTTP/1.1", line
    assert head_value(hdrs, "x-switchyard-upgrade-method") is None, hdrs
    assert head_value(hdrs, "upgrade") == "foo"
    assert "upgrade" in head_value(hdrs, "connection").lower()
    ch.wait_idle()
    ch.assert_h2_hop(upgrades=1)


@pytest.mark.parametrize("kind", ["content-length", "chunked"])
def test_chain_upgrade_with_body_400(sy, kind):
    app = sy.upstream(RawServer(ws_upgrade_echo_handler))
    ch = chain(sy, app.port)
    if kind == "content-length":
        req = upgrade_request("foo", "/body", method="POST", body=b"hello")
    else:
        req = upgrade_request("foo", "/body", method="POST",
                              extra=[("Transfer-Encoding", "chunked")]) + b"5\r\nhello\r\n0\r\n\r\n"
    with TunnelConn(port=ch.port, timeout=10) as c:
        c.send(req)
        r = c.read_response()
        assert r.status == 400, r
    assert app.conns == []
    fs, ss = ch.front.stats(), ch.sidecar.stats()
    assert fs[ch.FC + "upstream_rq_total"] == 0
    assert ss[ch.SP + "downstream_rq_total"] == 0
    assert fs[ch.FP + "downstream_cx_upgrades_total"] == 0
    ch.wait_idle()


def test_chain_sidecar_without_allow_connect(sy):
    websockets = websockets_mod()
    app = sy.upstream(WsApp())
    ch = chain(sy, app.port, allow_connect=False)

    async def attempt():
        try:
            async with websockets.connect("ws://127.0.0.1:%d/refused" % ch.port,
                                          ping_interval=None):
                return None
        except websockets.InvalidStatusCode as e:
            return e.status_code

    assert asyncio.run(asyncio.wait_for(attempt(), 20)) == 502
    with TunnelConn(port=ch.port, timeout=10) as c:
        c.send(upgrade_request("foo", "/refused") + b"no tunnel")
        r = c.read_response()
        assert r.status == 502, r
        assert c.wait_closed()
    assert app.handshakes == []
    fs, _ = ch.assert_h2_hop(upgrades=0)
    assert fs[ch.FC + "upstream_rq_extended_connect_refused"] == 2
    ch.wait_idle()


def test_chain_200_websockets_on_one_h2_connection(sy):
    websockets = websockets_mod()
    app = sy.upstream(WsApp())
    ch = chain(sy, app.port)
    n = 200
    loop = asyncio.new_event_loop()

    async def open_all():
        async def one(i):
            ws = await websockets.connect("ws://127.0.0.1:%d/many/%d" % (ch.port, i),
                                          compression=None, ping_interval=None,
                                          open_timeout=20)
            await ws.send("hello %d" % i)
            assert await ws.recv() == "hello %d" % i
            return ws
        return await asyncio.gather(*(one(i) for i in range(n)))

    async def echo_and_close(conns):
        async def one(i, ws):
            data = os.urandom(1000 + i)
            await ws.send(data)
            assert await ws.recv() == data
            await ws.close(1000)
        await asyncio.gather(*(one(i, ws) for i, ws in enumerate(conns)))

    try:
        conns = loop.run_until_complete(asyncio.wait_for(open_all(), 40))
        ch.front.wait_stat(ch.FP + "downstream_cx_upgrades_active", lambda v: v == n)
        ch.sidecar.wait_stat(ch.SP + "downstream_cx_upgrades_active", lambda v: v == n)
        fs, ss = ch.front.stats(), ch.sidecar.stats()
        assert fs[ch.FC + "upstream_cx_http2_total"] == 1, fs
        assert fs[ch.FC + "upstream_cx_active"] == 1
        assert fs[ch.FC + "upstream_cx_total"] == 1
        assert ss[ch.SP + "downstream_cx_http2_total"] == 1
        assert ss[ch.SP + "downstream_cx_http2_active"] == 1
        assert ss[ch.SP + "http2.streams_active"] == n
        assert ss[ch.SC + "upstream_cx_active"] == n
        assert app.open == n
        loop.run_until_complete(asyncio.wait_for(echo_and_close(conns), 40))
    finally:
        loop.close()
    wait_until(lambda: len(app.closes) == n, what="the app to see %d closes" % n)
    assert app.closes == [1000] * n
    assert app.messages == 2 * n
    ch.front.wait_stat(ch.FP + "downstream_cx_upgrades_active", lambda v: v == 0)
    ch.sidecar.wait_stat(ch.SP + "downstream_cx_upgrades_active", lambda v: v == 0)
    ch.sidecar.wait_stat(ch.SP + "http2.streams_active", lambda v: v == 0)
    assert ch.front.stat(ch.FP + "downstream_cx_upgrades_total") == n
    assert ch.sidecar.stat(ch.SP + "downstream_cx_upgrades_total") == n


def test_chain_websocket_closure_both_ways(sy):
    websockets = websockets_mod()
    app = sy.upstream(WsApp())
    ch = chain(sy, app.port)

    async def client_closes():
        async with websockets.connect("ws://127.0.0.1:%d/c" % ch.port,
                                      ping_interval=None) as ws:
            await ws.send("x")
            assert await ws.recv() == "x"
            await ws.close(1000, "client done")

    async def app_closes():
        async with websockets.connect("ws://127.0.0.1:%d/server-close" % ch.port,
                                      ping_interval=None) as ws:
            try:
                await ws.recv()
            except websockets.ConnectionClosed as e:
                return e.rcvd.code if e.rcvd else None
        return "still open"

    asyncio.run(asyncio.wait_for(client_closes(), 20))
    wait_until(lambda: app.closes == [1000], what="the app to see the client's close")
    ch.wait_idle()
    assert asyncio.run(asyncio.wait_for(app_closes(), 20)) == 4002
    wait_until(lambda: len(app.closes) == 2, what="the app's own close")
    ch.wait_idle()
    ch.assert_h2_hop(upgrades=2)


@pytest.mark.parametrize("who", ["client", "app"])
def test_chain_raw_tunnel_fin_both_ways(sy, who):
    """client FIN -> the app sees EOF (after every byte); app FIN -> the
    client sees EOF (after every byte)."""
    def app_says_bye(conn):
        conn.read_head()
        conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n"
                  b"bye")
        conn.shutdown_write()
        conn.got = conn.read_until_eof()

    app = sy.upstream(RawServer(ws_upgrade_echo_handler if who == "client" else app_says_bye))
    ch = chain(sy, app.port)
    data = os.urandom(100 * 1024)
    with TunnelConn(port=ch.port, timeout=10) as c:
        c.upgrade("foo", "/fin")
        if who == "client":
            c.send(data)
            c.shutdown_write()
            conn = app.wait_conns(1)
            assert conn.eof.wait(10), "the app did not see the client's FIN"
            assert c.read_until_eof() == data
        else:
            assert c.read_until_eof() == b"bye"
            c.send(b"after your FIN")
            c.shutdown_write()
            conn = app.wait_conns(1)
            assert conn.done.wait(10)
            assert conn.got == b"after your FIN"
    ch.wait_idle()
    ch.assert_h2_hop(upgrades=1)
