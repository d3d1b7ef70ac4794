"""HTTP/1.1 front end: direct responses, keep-alive, pipelining, bodies,
virtual hosts and routes."""

import socket

import pytest

import sylib
from sylib import HttpConn, get, listener, request, route, vhost, wait_until

P = "http.ingress_http."


def start_simple(sy, **kw):
    d = sy.daemon()
    routes = kw.pop("routes", None) or [
        route(prefix="/a", body="alpha\n"),
        route(prefix="/b", body="bravo bravo\n"),
        route(prefix="/empty", status=200, body=""),
        route(prefix="/nobody", status=204),
        route(prefix="/teapot", status=418, body="short and stout\n"),
    ]
    d.start(d.config(routes=routes, **kw))
    return d


def test_direct_response(sy):
    d = start_simple(sy)
    r = get(d.port, "/a")
    assert r.status == 200
    assert r.body == b"alpha\n"
    assert r.header("content-length") == "6"
    assert r.version == "HTTP/1.1"
    r = get(d.port, "/teapot")
    assert r.status == 418
    assert r.body == b"short and stout\n"
    r = get(d.port, "/nobody")
    assert r.status == 204
    assert r.header("content-length") in (None, "0")
    r = get(d.port, "/empty")
    assert r.status == 200 and r.body == b""
    # no route: 404
    r = get(d.port, "/nothing-here")
    assert r.status == 404
    d.wait_stat(P + "downstream_rq_2xx", lambda v: v == 3)
    d.wait_stat(P + "downstream_rq_4xx", lambda v: v == 2)
    assert d.stat(P + "downstream_rq_total") == 5


def test_keepalive(sy):
    d = start_simple(sy)
    with HttpConn(port=d.port) as c:
        for i in range(10):
            path = "/a" if i % 2 == 0 else "/b"
            r = c.roundtrip(request("GET", path))
            assert r.status == 200, r
            assert r.body == (b"alpha\n" if path == "/a" else b"bravo bravo\n")
            assert not r.conn_close
        # a 404 does not close a keep-alive connection either
        r = c.roundtrip(request("GET", "/missing"))
        assert r.status == 404 and not r.conn_close
        r = c.roundtrip(request("GET", "/a"))
        assert r.status == 200
        d.wait_stat(P + "downstream_rq_total", lambda v: v == 12)
        # one connection for all of them
        assert d.stat("listener.127.0.0.1:%d.downstream_cx_total" % d.port) == 1
        assert d.stat(P + "downstream_cx_active") == 1
    d.wait_stat(P + "downstream_cx_active", lambda v: v == 0)
    assert d.stat(P + "downstream_cx_destroy") == 1


def test_pipelining(sy):
    d = start_simple(sy)
    paths = ["/a", "/b", "/missing", "/teapot", "/a", "/nobody", "/b"] * 3
    burst = b"".join(request("GET", p) for p in paths)
    with HttpConn(port=d.port) as c:
        c.send(burst)
        for p in paths:
            r = c.read_response()
            want = {"/a": (200, b"alpha\n"), "/b": (200, b"bravo bravo\n"),
                    "/teapot": (418, b"short and stout\n"), "/nobody": (204, b"")}.get(p)
            if want is None:
                assert r.status == 404, (p, r)
            else:
                assert (r.status, r.body) == want, (p, r)
        # the connection still works after the burst
        r = c.roundtrip(request("GET", "/a"))
        assert r.status == 200
        assert c.buf == b""
    d.wait_stat(P + "downstream_rq_total", lambda v: v == len(paths) + 1)


def test_pipelining_split_and_close(sy):
    """Pipelined requests split at awkward places; the last one says
    Connection: close, so the server answers all and then closes."""
    d = start_simple(sy)
    burst = (request("GET", "/a") + request("GET", "/b") +
             request("GET", "/a", headers=[("Connection", "close")]))
    with HttpConn(port=d.port) as c:
        for i in range(0, len(burst), 7):
            c.send(burst[i:i + 7])
        bodies = [c.read_response() for _ in range(3)]
        assert [r.status for r in bodies] == [200, 200, 200]
        assert [r.body for r in bodies] == [b"alpha\n", b"bravo bravo\n", b"alpha\n"]
        assert bodies[2].conn_close
        assert c.wait_closed(5), "server kept the connection open after Connection: close"
        assert c.buf == b""


def test_request_bodies_keepalive(sy):
    """Request bodies (Content-Length and chunked) are consumed so the next
    request on the connection parses."""
    d = start_simple(sy)
    with HttpConn(port=d.port) as c:
        r = c.roundtrip(request("POST", "/a", body=b"x" * 5000))
        assert r.status == 200 and r.body == b"alpha\n"
        chunked = (b"POST /b HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n")
        r = c.roundtrip(chunked)
        assert r.status == 200 and r.body == b"bravo bravo\n"
        # body and next request in one segment
        c.send(request("PUT", "/a", body=b"abc") + request("GET", "/b"))
        r1, r2 = c.read_response(), c.read_response()
        assert (r1.status, r1.body) == (200, b"alpha\n")
        assert (r2.status, r2.body) == (200, b"bravo bravo\n")
    d.wait_stat(P + "downstream_rq_total", lambda v: v == 4)


def test_head_request(sy):
    d = start_simple(sy)
    with HttpConn(port=d.port) as c:
        r = c.roundtrip(request("HEAD", "/a"), head_request=True)
        assert r.status == 200
        assert r.header("content-length") == "6"
        # no body bytes were sent: the next response parses cleanly
        r = c.roundtrip(request("GET", "/b"))
        assert r.status == 200 and r.body == b"bravo bravo\n"


def test_http10_closes(sy):
    d = start_simple(sy)
    with HttpConn(port=d.port) as c:
        c.send(request("GET", "/a", version="HTTP/1.0"))
        r = c.read_response()
        assert r.status == 200 and r.body == b"alpha\n"
        assert c.wait_closed(5), "HTTP/1.0 request without keep-alive left the connection open"


def test_connection_close_request(sy):
    d = start_simple(sy)
    with HttpConn(port=d.port) as c:
        r = c.roundtrip(request("GET", "/a", headers=[("Connection", "close")]))
        assert r.status == 200 and r.conn_close
        assert c.wait_closed(5)


def test_stats_match_traffic(sy):
    """Byte and request counters equal what the client saw, exactly."""
    d = start_simple(sy)
    sent = received = 0
    with HttpConn(port=d.port) as c:
        for p in ("/a", "/b", "/missing"):
            c.roundtrip(request("GET", p))
        sent += c.sent
        received += c.received
    for p in ("/a", "/b"):
        with HttpConn(port=d.port) as c:
            c.roundtrip(request("GET", p, headers=[("Connection", "close")]))
            assert c.wait_closed(5)
            sent += c.sent
            received += c.received
    d.wait_stat(P + "downstream_cx_destroy", lambda v: v == 3)
    s = d.stats()
    lst = "listener.127.0.0.1:%d." % d.port
    assert s[lst + "downstream_cx_total"] == 3
    assert s[lst + "downstream_cx_active"] == 0
    assert s[P + "downstream_cx_total"] == 3
    assert s[P + "downstream_cx_http1_total"] == 3
    assert s[P + "downstream_cx_active"] == 0
    assert s[P + "downstream_cx_http1_active"] == 0
    assert s[P + "downstream_rq_total"] == 5
    assert s[P + "downstream_rq_http1_total"] == 5
    assert s[P + "downstream_rq_active"] == 0
    assert s[P + "downstream_rq_2xx"] == 4
    assert s[P + "downstream_rq_4xx"] == 1
    assert s[P + "downstream_rq_5xx"] == 0
    assert s[P + "downstream_cx_protocol_error"] == 0
    assert s[P + "downstream_cx_rx_bytes_total"] == sent
    assert s[P + "downstream_cx_tx_bytes_total"] == received


# ------------------------------------------------------------ routing ---

def routing_config(d):
    vhosts = [
        vhost("exact", ["api.example.com"], [route(prefix="/", body="exact\n")]),
        vhost("suffix", ["*.example.com"], [route(prefix="/", body="suffix\n")]),
        vhost("longsuffix", ["*.deep.example.com"], [route(prefix="/", body="longsuffix\n")]),
        vhost("prefixwild", ["www.*"], [route(prefix="/", body="prefix\n")]),
        vhost("multi", ["one.test", "two.test"], [route(prefix="/", body="multi\n")]),
        vhost("catchall", ["*"], [
            route(path="/exact", body="path\n"),
            route(prefix="/exact", body="prefix-exact\n"),
            route(regex="/re/[0-9]+", body="regex\n"),
            route(prefix="/hdr", headers=[{"name": "x-env", "exact_match": "canary"}],
                  body="canary\n"),
            route(prefix="/hdr", body="stable\n"),
            route(prefix="/first", body="first\n"),
            route(prefix="/first/second", body="never\n"),
        ]),
    ]
    return d.config(vhosts=vhosts)


ROUTING_CASES = [
    ("api.example.com", "/", 200, b"exact\n"),
    ("API.Example.COM", "/x", 200, b"exact\n"),           # case-insensitive
    ("api.example.com:8080", "/", 200, b"exact\n"),       # port ignored
    ("foo.example.com", "/", 200, b"suffix\n"),
    ("a.b.example.com", "/", 200, b"suffix\n"),
    ("x.deep.example.com", "/", 200, b"longsuffix\n"),    # longest suffix wins
    ("www.other.org", "/", 200, b"prefix\n"),
    ("www.example.com", "/", 200, b"suffix\n"),           # suffix before prefix
    ("two.test", "/", 200, b"multi\n"),
    ("example.com", "/exact", 200, b"path\n"),            # *.example.com needs a label
    ("other.org", "/exact", 200, b"path\n"),
    ("other.org", "/exact/more", 200, b"prefix-exact\n"),
    ("other.org", "/exactly", 200, b"prefix-exact\n"),
    ("other.org", "/re/123", 200, b"regex\n"),
    ("other.org", "/re/123x", 404, None),                 # regex is anchored
    ("other.org", "/x/re/1", 404, None),
    ("other.org", "/re/abc", 404, None),
    ("other.org", "/hdr", 200, b"stable\n"),
    ("other.org", "/first/second", 200, b"first\n"),      # first match wins
    ("other.org", "/", 404, None),                        # no route in the vhost
    ("other.org", "/nothing", 404, None),
]


def test_routing(sy):
    """Every case on its own connection; all mismatches reported at once."""
    d = sy.daemon()
    d.start(routing_config(d))
    bad = []
    for host, path, status, body in ROUTING_CASES:
        r = get(d.port, path, host=host)
        if r.status != status or (body is not None and r.body != body):
            bad.append("Host %s %s: want %d %r, got %d %r" % (host, path, status, body,
                                                               r.status, r.body))
    assert not bad, "\n".join(bad)


def test_routing_header_matcher(sy):
    d = sy.daemon()
    d.start(routing_config(d))
    with HttpConn(port=d.port) as c:
        for hdrs, want in [
            ([("X-Env", "canary")], b"canary\n"),
            ([("x-env", "canary")], b"canary\n"),       # name is case-insensitive
            ([("X-Env", "stable")], b"stable\n"),
            ([("X-Env", "canary-not")], b"stable\n"),   # exact means exact
            ([], b"stable\n"),
        ]:
            r = c.roundtrip(request("GET", "/hdr", host="other.org", headers=hdrs))
            assert (r.status, r.body) == (200, want), hdrs


def test_routing_many_requests_one_connection(sy):
    """Virtual host chosen per request, not per connection."""
    d = sy.daemon()
    d.start(routing_config(d))
    with HttpConn(port=d.port) as c:
        for host, want in [("api.example.com", b"exact\n"), ("foo.example.com", b"suffix\n"),
                           ("www.x", b"prefix\n"), ("z", None)] * 3:
            r = c.roundtrip(request("GET", "/exact", host=host))
            if want is None:
                assert r.body == b"path\n"
            else:
                assert r.body == want


def test_route_path_ignores_query(sy):
    """Envoy semantics: `path` and `safe_regex` match the path without its
    query string; `prefix` matches the start of the path."""
    d = sy.daemon()
    d.start(routing_config(d))
    assert get(d.port, "/exact?x=1", host="o").body == b"path\n"
    assert get(d.port, "/re/42?y=2", host="o").body == b"regex\n"


def test_two_listeners(sy):
    d = sy.daemon()
    port2 = d.port
    from sylib import free_port
    port1 = free_port()
    cfg = d.config(listeners=[
        listener("one", "127.0.0.1:%d" % port1, "one_http", routes=[route(prefix="/", body="one\n")]),
        listener("two", "127.0.0.1:%d" % port2, "two_http", routes=[route(prefix="/", body="two\n")]),
    ])
    d.start(cfg)
    assert get(port1, "/").body == b"one\n"
    assert get(port1, "/").body == b"one\n"
    assert get(port2, "/").body == b"two\n"
    d.wait_stat("http.one_http.downstream_rq_total", lambda v: v == 2)
    d.wait_stat("http.two_http.downstream_rq_total", lambda v: v == 1)
    assert d.stat("listener.127.0.0.1:%d.downstream_cx_total" % port1) == 2
    assert d.stat("listener.127.0.0.1:%d.downstream_cx_total" % port2) == 1


def test_ipv6_listener(sy):
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        sylib.skip_or_fail("no IPv6 loopback")
    d = sy.daemon()
    from sylib import free_port
    port = free_port(socket.AF_INET6, "::1")
    cfg = d.config(listeners=[listener("v6", "[::1]:%d" % port, "v6_http",
                                       routes=[route(prefix="/", body="six\n")])])
    d.start(cfg)
    r = get(port, "/", addr="::1")
    assert (r.status, r.body) == (200, b"six\n")
    d.wait_stat("http.v6_http.downstream_rq_total", lambda v: v == 1)
    names = [n for n in d.stats() if n.startswith("listener.") and n.endswith(".downstream_cx_total")]
    assert len(names) == 1 and "::1" in names[0] and str(port) in names[0], names
    assert d.stat(names[0]) == 1


def test_many_connections(sy):
    """More concurrent connections than workers; all served."""
    d = start_simple(sy)
    conns = [HttpConn(port=d.port) for _ in range(50)]
    try:
        for c in conns:
            c.send(request("GET", "/a"))
        for c in conns:
            r = c.read_response()
            assert (r.status, r.body) == (200, b"alpha\n")
        d.wait_stat(P + "downstream_cx_active", lambda v: v == 50)
    finally:
        for c in conns:
            c.close()
    d.wait_stat(P + "downstream_cx_active", lambda v: v == 0)
    wait_until(lambda: d.stat("listener.127.0.0.1:%d.downstream_cx_active" % d.port) == 0)
