"""test_35_upgrade_rules - which upgrades switchyard proxies, and how.

The listener/route decision table of DESIGN.md ("Upgrade rules") checked
with real requests through four listeners; refusals (403, counter, close,
nothing forwarded); Upgrade lists decided token by token; h2c never
forwarded; HTTP/1.0 and Connection-less Upgrade are ordinary requests;
`Upgrade: foo` on a POST with a body (Docker's exec/start); and the
upstream answers that must never become a tunnel (426 with early payload,
200 naming Upgrade, 101 naming another token, 101 to a plain request).
Where it matters which bytes reached the upstream, the upstream is a
Python server that records everything it received.
"""

import os

import pytest

from sylib import (HttpConn, RawServer, TunnelConn, cluster, listener, parse_head,
                   head_value, proxy_config, proxy_route, request, upgrade_config,
                   upgrade_request, vhost, wait_until, wait_upgrades_idle, ws_accept,
                   ws_frame, ws_upgrade_echo_handler, WS_BINARY, free_port)

P = "http.ingress_http."
C = "cluster.app."
WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def ws_extra():
    return [("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", WS_KEY)]


def try_upgrade(port, token, path, payload=b"tunnel bytes"):
    """(101, whether payload came back through the tunnel) or, when the
    upgrade is refused, (status, whether the connection was then closed)."""
    extra = ws_extra() if "websocket" in token.lower() else []
    with TunnelConn(port=port, timeout=10) as c:
        c.send(upgrade_request(token, path, extra=extra))
        r = c.read_response()
        if r.status != 101:
            closed = c.wait_closed()
            return r.status, closed
        if "websocket" in token.lower():
            assert r.header("sec-websocket-accept") == ws_accept(WS_KEY), r
            # sy-backend echoes frames, not raw bytes: send a masked frame.
            c.send(ws_frame(WS_BINARY, payload))
            return 101, c.read_frame() == (True, WS_BINARY, payload, False)
        c.send(payload)
        return 101, c.take(len(payload)) == payload


# ------------------------------------------------------- decision table --

# (listener entry for websocket, route entry, expected) - DESIGN.md's table;
# None = no entry.  "default" = an entry whose `enabled` is left out.
TABLE = [
    ("default", None, 101),
    (True, None, 101),
    (True, False, 403),
    (True, True, 101),
    (False, None, 403),
    (False, True, 101),
    (False, False, 403),
    (None, True, 101),
    (None, None, 403),
]


def test_decision_table(sy):
    b = sy.backend()
    d = sy.daemon()
    lst = {}
    listeners = []
    for lmode in ("default", True, False, None):
        port = d.port if lmode == "default" else free_port()
        name = "l_%s" % str(lmode).lower()
        routes = [proxy_route("app", prefix="/none"),
                  proxy_route("app", prefix="/on", upgrades={"websocket": True}),
                  proxy_route("app", prefix="/off", upgrades={"websocket": False})]
        h = {}
        if lmode == "default":
            h["upgrade_configs"] = [upgrade_config("websocket")]
        elif lmode is not None:
            h["upgrade_configs"] = [upgrade_config("websocket", lmode)]
        listeners.append(listener(name, "127.0.0.1:%d" % port, name,
                                  vhosts=[vhost("v", ["*"], routes)], **h))
        lst[lmode] = (port, name)
    cfg = d.config(listeners=listeners, top={"clusters": [cluster("app", [b.port])]})
    d.start(cfg)
    wrong = []
    for lmode, rmode, want in TABLE:
        port, name = lst[lmode]
        path = {None: "/none", True: "/on", False: "/off"}[rmode]
        for token in ("websocket", "WebSocket"):
            status, ok = try_upgrade(port, token, path + "/x")
            if status != want or not ok:
                wrong.append("listener %r route %r Upgrade: %s -> %d (tunnel ok / closed: %r), "
                             "want %d" % (lmode, rmode, token, status, ok, want))
    assert not wrong, "\n".join(wrong)
    s = d.stats()
    for lmode, (port, name) in lst.items():
        rejected = sum(2 for lm, rm, w in TABLE if lm == lmode and w == 403)
        accepted = sum(2 for lm, rm, w in TABLE if lm == lmode and w == 101)
        assert s["http.%s.downstream_rq_ws_on_non_ws_route" % name] == rejected, name
        assert s["http.%s.downstream_cx_upgrades_total" % name] == accepted, name
        assert s["http.%s.upgrades.websocket.total" % name] == accepted, name
    for lmode, (port, name) in lst.items():
        wait_upgrades_idle(d, prefix=name)


def test_route_enables_type_the_listener_disables(sy):
    """Listener: websocket and foo disabled; one route enables both."""
    b = sy.backend()
    d = sy.daemon()
    routes = [proxy_route("app", prefix="/open", upgrades={"websocket": True, "foo": True}),
              proxy_route("app", prefix="/")]
    d.start(proxy_config(d, [b.port], routes=routes,
                         upgrades={"websocket": False, "foo": False}))
    assert try_upgrade(d.port, "foo", "/open/1") == (101, True)
    assert try_upgrade(d.port, "websocket", "/open/2") == (101, True)
    assert try_upgrade(d.port, "foo", "/closed")[0] == 403
    assert try_upgrade(d.port, "websocket", "/closed")[0] == 403
    s = d.stats()
    assert s[P + "downstream_cx_upgrades_total"] == 2
    assert s[P + "downstream_rq_ws_on_non_ws_route"] == 2
    assert s[C + "upstream_rq_total"] == 2
    wait_upgrades_idle(d)


def test_config_type_case_insensitive(sy):
    b = sy.backend()
    d = sy.daemon()
    d.start(proxy_config(d, [b.port], upgrades={"WebSocket": True, "Foo": True}))
    for token in ("websocket", "WEBSOCKET", "foo", "FOO", "fOo"):
        assert try_upgrade(d.port, token, "/") == (101, True), token
    wait_upgrades_idle(d)


def test_rejected_upgrade_403_counter_close_not_forwarded(sy):
    b = sy.backend()
    d = sy.daemon()
    routes = [proxy_route("app", prefix="/ws", upgrades={"websocket": True}),
              proxy_route("app", prefix="/", upgrades={"websocket": False})]
    d.start(proxy_config(d, [b.port], routes=routes))
    for i, token in enumerate(("websocket", "foo", "foo, bar")):
        with TunnelConn(port=d.port) as c:
            extra = ws_extra() if token == "websocket" else []
            # A second, pipelined request must not be answered: the
            # connection closes after the 403.
            c.send(upgrade_request(token, "/plain", extra=extra) + b"tunnel bytes" +
                   request("GET", "/after"))
            r = c.read_response()
            assert r.status == 403, (token, r)
            assert c.wait_closed(), "connection open after a refused upgrade (%s)" % token
            assert b"HTTP/1.1" not in c.buf, "pipelined request answered: %r" % c.buf
        assert d.stat(P + "downstream_rq_ws_on_non_ws_route") == i + 1
    s = d.stats()
    assert s[C + "upstream_rq_total"] == 0, "a refused upgrade reached the upstream"
    assert s[P + "downstream_rq_4xx"] == 3
    assert s[P + "downstream_cx_upgrades_total"] == 0
    # The websocket route still works.
    assert try_upgrade(d.port, "websocket", "/ws") == (101, True)
    wait_upgrades_idle(d)


# ----------------------------------------------------------- token lists --

def recording_proxy(sy, upgrades, routes=None):
    srv = sy.upstream(RawServer(ws_upgrade_echo_handler))
    d = sy.daemon()
    d.start(proxy_config(d, [srv.port], upgrades=upgrades, routes=routes))
    return d, srv


@pytest.mark.parametrize("offered,forwarded", [
    ("foo, websocket", "websocket"),
    ("websocket, foo", "websocket"),
    ("h2c, websocket", "websocket"),
    ("bar, tcp", "tcp"),
    ("tcp, h2c, baz", "tcp"),
    ("WebSocket, foo, tcp", "WebSocket, tcp"),
])
def test_upgrade_list_decided_token_by_token(sy, offered, forwarded):
    """Listener allows websocket and tcp only: the other tokens (and h2c,
    always) are removed from the forwarded Upgrade, the rest kept in order."""
    d, srv = recording_proxy(sy, {"websocket": True, "tcp": True})
    with TunnelConn(port=d.port) as c:
        extra = ws_extra() + [("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")]
        c.send(upgrade_request(offered, "/list", extra=extra))
        r = c.read_response()
        assert r.status == 101, r
        c.send(b"through")
        assert c.take(7) == b"through"
    _, hdrs = parse_head(srv.wait_conns(1).request_head)
    assert head_value(hdrs, "upgrade") == forwarded, hdrs
    assert head_value(hdrs, "http2-settings") is None
    assert "http2-settings" not in (head_value(hdrs, "connection") or "").lower()
    wait_upgrades_idle(d)


def test_h2c_alone_is_an_ordinary_request(sy):
    b = sy.backend()
    d = sy.daemon()
    d.start(proxy_config(d, [b.port], upgrades={"websocket": True}))
    with HttpConn(port=d.port) as c:
        c.send(b"GET /echo-headers HTTP/1.1\r\nHost: h2c.test\r\n"
               b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
               b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
        r = c.read_response()
        assert r.status == 200, r
        seen = r.body.decode().lower()
        assert "upgrade" not in seen and "http2-settings" not in seen, seen
        assert "\nconnection:" not in seen, seen
    s = d.stats()
    assert s[P + "downstream_cx_upgrades_total"] == 0
    assert s[P + "downstream_rq_ws_on_non_ws_route"] == 0


def test_h2c_alone_keeps_the_connection(sy):
    """An h2c client whose upgrade is ignored goes on in HTTP/1.1 on the
    same connection (RFC 9113 section 3.1 / RFC 7540 section 3.2): the
    request was an ordinary one, so the connection stays open."""
    b = sy.backend()
    d = sy.daemon()
    d.start(proxy_config(d, [b.port]))
    with HttpConn(port=d.port) as c:
        r = c.roundtrip(b"GET / HTTP/1.1\r\nHost: h2c.test\r\n"
                        b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                        b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
        assert r.status == 200 and not r.conn_close, r
        r = c.roundtrip(request("GET", "/"))
        assert r.status == 200 and r.body == b"hello from sy-backend\n"


def test_http10_and_connection_less_upgrade_are_ordinary(sy):
    b = sy.backend()
    d = sy.daemon()
    d.start(proxy_config(d, [b.port], upgrades={"foo": True}))
    with HttpConn(port=d.port) as c:
        c.send(b"GET /echo-headers HTTP/1.0\r\nHost: a\r\nConnection: Upgrade\r\n"
               b"Upgrade: foo\r\n\r\n")
        r = c.read_response()
        assert r.status == 200, r
        assert b"upgrade" not in r.body.lower(), r.body
    with HttpConn(port=d.port) as c:
        r = c.roundtrip(b"GET /echo-headers HTTP/1.1\r\nHost: a\r\nUpgrade: foo\r\n\r\n")
        assert r.status == 200, r
        assert b"upgrade" not in r.body.lower(), r.body
    assert d.stat(P + "downstream_cx_upgrades_total") == 0


# -------------------------------------------------------- upgrade + body --

def test_upgrade_foo_post_with_body(sy):
    """Docker's POST /exec/{id}/start: Upgrade: tcp with a JSON body.  The
    body goes to the upstream framed (Content-Length kept) before the 101;
    bytes after it are tunnel payload, held until the 101, then echoed."""
    b = sy.backend()
    d = sy.daemon()
    d.start(proxy_config(d, [b.port], upgrades={"foo": True, "tcp": True}))
    body = b'{"Detach":false,"Tty":false}'
    for token in ("foo", "tcp"):
        with TunnelConn(port=d.port, timeout=10) as c:
            early = b"sent right after the body\n"
            c.send(upgrade_request(token, "/exec/1/start", method="POST", body=body,
                                   extra=[("Content-Type", "application/json")]) + early)
            r = c.read_response()
            assert r.status == 101, r
            assert r.header("upgrade") == token
            assert r.header("content-length") is None and r.header("transfer-encoding") is None
            assert c.take(len(early)) == early
            data = os.urandom(256 * 1024)
            c.send(data)
            assert c.take(len(data)) == data
            c.shutdown_write()
            assert c.read_until_eof() == b""
    b.wait_out(r"POST /exec/1/start upgrade=tcp -> 101")
    assert d.stat(P + "downstream_cx_upgrades_total") == 2
    assert d.stat(P + "upgrades.foo.total") == 1
    wait_upgrades_idle(d, types=["foo"])


def test_upgrade_body_reaches_upstream_framed(sy):
    srv = sy.upstream(RawServer(lambda conn: body_then_101(conn)))
    d = sy.daemon()
    d.start(proxy_config(d, [srv.port], upgrades={"foo": True}))
    body = b"x" * 5000
    with TunnelConn(port=d.port, timeout=10) as c:
        c.send(upgrade_request("foo", "/b", method="POST", body=body) + b"PAYLOAD")
        r = c.read_response()
        assert r.status == 101, r
        assert c.take(len(b"body ok\n")) == b"body ok\n"
        assert c.take(7) == b"PAYLOAD"
    conn = srv.wait_conns(1)
    _, hdrs = parse_head(conn.request_head)
    assert head_value(hdrs, "content-length") == "5000"
    assert conn.body == body


def body_then_101(conn):
    conn.request_head = conn.read_head()
    _, hdrs = parse_head(conn.request_head)
    conn.body = conn.read_exact(int(head_value(hdrs, "content-length")))
    conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n"
              b"body ok\n")
    while True:
        data = conn.read_exact(1) + conn.buf
        conn.buf = b""
        conn.send(data)


# ---------------------------------------------- answers that never tunnel --

def recorder(answer, then=b""):
    """An upstream handler: read the head, send answer (+ then), keep
    reading (recording) until the proxy closes the connection."""
    def handler(conn):
        conn.request_head = conn.read_head()
        conn.send(answer + then)
        conn.read_until_eof()
    return handler


@pytest.mark.parametrize("token,secret", [
    ("websocket", b"EARLY-PAYLOAD-MUST-NOT-REACH-THE-UPSTREAM"),
    ("foo", b"EARLY-PAYLOAD-MUST-NOT-REACH-THE-UPSTREAM"),
    ("foo", request("GET", "/smuggled", headers=[("X-Smuggled", "yes")])),
])
def test_early_payload_dropped_on_426(sy, token, secret):
    srv = sy.upstream(RawServer(recorder(
        b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 5\r\n\r\nnope\n")))
    d = sy.daemon()
    d.start(proxy_config(d, [srv.port], upgrades={"websocket": True, "foo": True}))
    with TunnelConn(port=d.port) as c:
        extra = ws_extra() if token == "websocket" else []
        c.send(upgrade_request(token, "/426", extra=extra) + secret)
        r = c.read_response()
        assert (r.status, r.body) == (426, b"nope\n"), r
        assert c.wait_closed(), "client connection open after a refused upgrade"
        assert c.buf == b""
    conn = srv.wait_conns(1)
    assert conn.eof.wait(10), "upstream connection left open after the 426"
    assert conn.done.wait(10)
    assert secret not in conn.received, "held payload reached the upstream: %r" % conn.received
    assert conn.received == conn.request_head, conn.received[len(conn.request_head):]
    assert len(srv.conns) == 1, "the held bytes were sent as a request of their own"
    s = d.stats()
    assert s[P + "upgrades.%s.failed" % token] == 1
    assert s[P + "downstream_cx_upgrades_total"] == 0
    assert s[C + "upstream_rq_4xx"] == 1
    wait_upgrades_idle(d)


def test_200_with_upgrade_never_tunnels(sy):
    srv = sy.upstream(RawServer(recorder(
        b"HTTP/1.1 200 OK\r\nUpgrade: foo\r\nConnection: Upgrade\r\nContent-Length: 3\r\n\r\nhey",
        then=b"UPSTREAM-TUNNEL-BYTES")))
    d = sy.daemon()
    d.start(proxy_config(d, [srv.port], upgrades={"foo": True}))
    secret = b"CLIENT-TUNNEL-BYTES"
    with TunnelConn(port=d.port) as c:
        c.send(upgrade_request("foo", "/200") + secret)
        r = c.read_response()
        assert (r.status, r.body) == (200, b"hey"), r
        assert r.header("upgrade") is None, r
        assert c.wait_closed()
        assert c.buf == b"", "bytes after the 200 reached the client: %r" % c.buf
    conn = srv.wait_conns(1)
    assert conn.eof.wait(10)
    assert conn.received == conn.request_head, conn.received
    s = d.stats()
    assert s[P + "downstream_cx_upgrades_total"] == 0
    assert s[P + "upgrades.foo.failed"] == 1
    wait_upgrades_idle(d, types=["foo"])


@pytest.mark.parametrize("name,answer,req", [
    ("101 naming another token",
     b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: bar\r\nConnection: Upgrade\r\n\r\n",
     upgrade_request("foo", "/x")),
    ("101 without Upgrade",
     b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n",
     upgrade_request("foo", "/x")),
    ("101 to a plain request",
     b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n",
     request("GET", "/x")),
])
def test_bad_101_is_502(sy, name, answer, req):
    srv = sy.upstream(RawServer(recorder(answer, then=b"UPSTREAM-BYTES")))
    d = sy.daemon()
    d.start(proxy_config(d, [srv.port], upgrades={"foo": True}))
    with TunnelConn(port=d.port) as c:
        c.send(req + b"CLIENT-BYTES")
        r = c.read_response()
        assert r.status == 502, (name, r)
        assert c.wait_closed()
        assert b"UPSTREAM-BYTES" not in c.buf
    conn = srv.wait_conns(1)
    assert conn.eof.wait(10), "upstream connection left open after %s" % name
    assert b"CLIENT-BYTES" not in conn.received[len(conn.request_head):], name
    assert d.stat(P + "downstream_cx_upgrades_total") == 0
    wait_upgrades_idle(d)


def test_no_upgrade_101_from_sy_backend_is_502(sy):
    b = sy.backend()
    d = sy.daemon()
    d.start(proxy_config(d, [b.port], upgrades={"foo": True}))
    with TunnelConn(port=d.port) as c:
        c.send(upgrade_request("foo", "/no-upgrade-101") + b"held")
        assert c.read_response().status == 502
        assert c.wait_closed()
    assert d.stat(P + "upgrades.foo.failed") == 1
    wait_upgrades_idle(d, types=["foo"])


def test_upstream_status_to_foo_upgrade_relayed(sy):
    b = sy.backend()
    d = sy.daemon()
    d.start(proxy_config(d, [b.port], upgrades={"foo": True}))
    for st in (200, 404, 503):
        with TunnelConn(port=d.port) as c:
            c.send(upgrade_request("foo", "/status/%d" % st) + b"held bytes")
            r = c.read_response()
            assert (r.status, r.body) == (st, b"status %d\n" % st), r
            assert c.wait_closed()
            assert c.buf == b""
    s = d.stats()
    assert s[P + "upgrades.foo.failed"] == 3
    assert s[P + "downstream_cx_upgrades_total"] == 0
    wait_upgrades_idle(d, types=["foo"])


def test_101_content_length_is_not_a_body(sy):
    """A 1xx response ends at its empty line whatever its fields say
    (RFC 9112 section 6.3): bytes after a 101 are tunnel bytes, and the
    Content-Length is not relayed with the bare 101."""
    srv = sy.upstream(RawServer(recorder(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n"
        b"Content-Length: 4\r\n\r\n", then=b"body, then more")))
    d = sy.daemon()
    d.start(proxy_config(d, [srv.port], upgrades={"foo": True}))
    with TunnelConn(port=d.port) as c:
        c.send(upgrade_request("foo", "/x") + b"CLIENT-BYTES")
        r = c.read_response()
        assert r.status == 101, r
        assert r.header("content-length") is None and r.header("transfer-encoding") is None, r
        assert c.take(15) == b"body, then more"
        conn = srv.wait_conns(1)
        wait_until(lambda: conn.received.endswith(b"CLIENT-BYTES"), what="tunnel bytes upstream")
    wait_upgrades_idle(d, types=["foo"])


def test_upgrade_chunked_body_forwarded_framed(sy):
    """A chunked body on an upgrade request reaches the upstream chunked;
    the bytes after its last chunk are held until the 101."""
    def chunked_then_101(conn):
        conn.request_head = conn.read_head()
        raw = b""
        while not raw.endswith(b"0\r\n\r\n"):
            raw += conn.read_exact(1)
        conn.raw_body = raw
        conn.early = bytes(conn.buf)
        conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n")
        data = conn.read_until_eof()
        conn.send(data)
        conn.shutdown_write()

    srv = sy.upstream(RawServer(chunked_then_101))
    d = sy.daemon()
    d.start(proxy_config(d, [srv.port], upgrades={"foo": True}))
    body = b"chunked upgrade body " * 100
    with TunnelConn(port=d.port, timeout=10) as c:
        c.send(b"POST /c HTTP/1.1\r\nHost: a\r\nUpgrade: foo\r\nConnection: Upgrade\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" +
               b"%x\r\n%s\r\n" % (1000, body[:1000]) +
               b"%x\r\n%s\r\n" % (len(body) - 1000, body[1000:]) + b"0\r\n\r\n" +
               b"PAYLOAD")
        r = c.read_response()
        assert r.status == 101, r
        c.shutdown_write()
        assert c.read_until_eof() == b"PAYLOAD"
    conn = srv.wait_conns(1)
    assert conn.done.wait(10)
    _, hdrs = parse_head(conn.request_head)
    assert head_value(hdrs, "transfer-encoding") == "chunked", hdrs
    assert dechunk(conn.raw_body) == body
    assert b"PAYLOAD" not in conn.raw_body and b"PAYLOAD" not in conn.early, \
        "tunnel payload reached the upstream before its 101"
    wait_upgrades_idle(d, types=["foo"])


def dechunk(raw):
    out = b""
    while True:
        size_line, raw = raw.split(b"\r\n", 1)
        n = int(size_line.split(b";")[0], 16)
        if n == 0:
            return out
        out += raw[:n]
        assert raw[n:n + 2] == b"\r\n"
        raw = raw[n + 2:]


def test_101_before_body_complete_rest_is_tunnel(sy):
    """The upstream answers 101 after the head, before the body: the rest
    of the body is relayed unparsed, as tunnel bytes, in order."""
    def early_101(conn):
        conn.request_head = conn.read_head()
        conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n"
                  b"go")
        conn.after = conn.read_until_eof()
        conn.shutdown_write()

    srv = sy.upstream(RawServer(early_101))
    d = sy.daemon()
    d.start(proxy_config(d, [srv.port], upgrades={"foo": True}))
    body = os.urandom(100000)
    with TunnelConn(port=d.port, timeout=10) as c:
        c.send(upgrade_request("foo", "/early", method="POST", body=b"")[:-2] +
               b"Content-Length: %d\r\n\r\n" % len(body) + body[:100])
        r = c.read_response()
        assert r.status == 101, r
        assert c.take(2) == b"go"
        c.send(body[100:] + b"then tunnel bytes")
        c.shutdown_write()
        assert c.read_until_eof() == b""
    conn = srv.wait_conns(1)
    assert conn.done.wait(10)
    assert conn.after == body + b"then tunnel bytes"
    wait_upgrades_idle(d, types=["foo"])


def test_websocket_chain_replaces_default_chain(sy):
    """Default chain: header_mutation marking "default"; websocket's custom
    chain: header_mutation marking "ws".  Each request gets its own chain."""
    srv = sy.upstream(RawServer(ws_upgrade_echo_handler))
    b = sy.backend()

    def mark(v):
        return {"name": "header_mutation",
                "request_headers_to_add": [{"name": "x-chain", "value": v}],
                "response_headers_to_add": [{"name": "x-chain-resp", "value": v}]}
    d = sy.daemon()
    routes = [proxy_route("ws", prefix="/ws"), proxy_route("app", prefix="/")]
    d.start(proxy_config(d, None, routes=routes,
                         clusters=[cluster("ws", [srv.port]), cluster("app", [b.port])],
                         http={"http_filters": [mark("default"), {"name": "router"}]},
                         upgrades=[upgrade_config("websocket", True,
                                                  filters=[mark("ws"), {"name": "router"}])]))
    r = HttpConn(port=d.port).roundtrip(request("GET", "/echo-headers"))
    assert "x-chain: default\n" in r.body.decode() and r.header("x-chain-resp") == "default"
    with TunnelConn(port=d.port) as c:
        r = c.ws_handshake("/ws")
        assert r.header("x-chain-resp") == "ws", r
    _, hdrs = parse_head(srv.wait_conns(1).request_head)
    assert head_value(hdrs, "x-chain") == "ws", hdrs
    wait_upgrades_idle(d, types=["websocket"])
