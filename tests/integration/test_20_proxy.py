"""test_20_proxy - plain HTTP/1.1 proxying to clusters.

switchyard in front of build/tools/sy-backend (and, where the exact bytes
on the upstream side matter, a scripted Python server): forwarded headers,
hop-by-hop stripping, bodies, the filter chain (header_mutation, buffer),
prefix and host rewrites, the keep-alive pool, round robin, and the local
replies 502/503/504/404 with their counters.  Nothing sleeps: every wait is
on a counter, a log line or a socket, with a deadline.
"""

import re
import select
import socket
import time

import pytest

import sylib
from sylib import (HttpConn, PeerClosed, RawServer, TunnelConn, free_port, get, head_value,
                   parse_head, proxy_config, proxy_route, request, upgrade_request,
                   wait_until, wait_upgrades_idle)

P = "http.ingress_http."
C = "cluster.app."


def echo_lines(r):
    """The /echo-headers body as (request line, [(lower name, value)])."""
    lines = r.body.decode("latin-1").split("\n")
    hdrs = []
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            hdrs.append((k.strip().lower(), v.strip()))
    return lines[0], hdrs


def names(hdrs):
    return [k for k, _ in hdrs]


def start_proxy(sy, backend_args=(), **kw):
    b = sy.backend(*backend_args)
    d = sy.daemon()
    d.start(proxy_config(d, [b.port], **kw))
    return d, b


# ------------------------------------------------------ request forwarding --

def test_forwarded_headers_added(sy):
    d, b = start_proxy(sy)
    r = get(d.port, "/echo-headers?q=1", host="app.example:8080")
    assert r.status == 200, r
    line, hdrs = echo_lines(r)
    assert line == "GET /echo-headers?q=1 HTTP/1.1"
    h = dict(hdrs)
    assert h["host"] == "app.example:8080"
    assert h["x-forwarded-for"] == "127.0.0.1"
    assert h["x-forwarded-proto"] == "http"
    rid = h["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", rid), rid
    # A client's x-forwarded-for is extended, not replaced; its
    # x-forwarded-proto is overwritten.
    r2 = get(d.port, "/echo-headers", headers=[("X-Forwarded-For", "10.0.0.1"),
                                              ("X-Forwarded-Proto", "https")])
    h2 = dict(echo_lines(r2)[1])
    assert h2["x-forwarded-for"] == "10.0.0.1, 127.0.0.1"
    assert h2["x-forwarded-proto"] == "http"
    assert h2["x-request-id"] != rid
    s = d.stats()
    assert s[C + "upstream_rq_total"] == 2 and s[C + "upstream_rq_2xx"] == 2
    assert s[P + "downstream_rq_2xx"] == 2


def test_hop_by_hop_headers_stripped(sy):
    d, b = start_proxy(sy)
    with HttpConn(port=d.port) as c:
        c.send(b"GET /echo-headers HTTP/1.1\r\n"
               b"Host: hop.test\r\n"
               b"Connection: keep-alive, X-Hop, x-other-hop\r\n"
               b"Keep-Alive: timeout=5\r\n"
               b"Proxy-Connection: keep-alive\r\n"
               b"X-Hop: secret\r\n"
               b"X-Other-Hop: secret too\r\n"
               b"Upgrade: h2c\r\n"
               b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
               b"Proxy-Authorization: Basic dXNlcjpwYXNz\r\n"
               b"X-End-To-End: kept\r\n"
               b"\r\n")
        r = c.read_response()
    assert r.status == 200, r
    line, hdrs = echo_lines(r)
    got = names(hdrs)
    for gone in ("connection", "keep-alive", "proxy-connection", "x-hop", "x-other-hop",
                 "upgrade", "http2-settings", "proxy-authorization"):
        assert gone not in got, "%s forwarded: %r" % (gone, hdrs)
    assert ("x-end-to-end", "kept") in hdrs
    # Response side: the backend's own hop-by-hop fields do not leak either.
    assert r.header("keep-alive") is None


def test_request_bodies_content_length_and_chunked(sy):
    d, b = start_proxy(sy)
    body = bytes(range(256)) * 300          # 76,800 bytes, every byte value
    with HttpConn(port=d.port, timeout=10) as c:
        r = c.roundtrip(request("POST", "/echo", body=body))
        assert r.status == 200 and r.body == body
        chunks = [body[:1000], body[1000:50000], body[50000:]]
        wire = b"".join(b"%x\r\n%s\r\n" % (len(x), x) for x in chunks) + b"0\r\n\r\n"
        c.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(wire), 7001):  # cut anywhere, also inside chunk heads
            c.send(wire[i:i + 7001])
        r = c.read_response()
        assert r.status == 200 and r.body == body
        # The connection still works after both.
        r = c.roundtrip(request("GET", "/"))
        assert r.status == 200 and r.body == b"hello from sy-backend\n"


def test_response_statuses_relayed_and_counted(sy):
    d, b = start_proxy(sy)
    with HttpConn(port=d.port) as c:
        for st in (200, 201, 302, 404, 418, 500, 503):
            r = c.roundtrip(request("GET", "/status/%d" % st))
            assert (r.status, r.body) == (st, b"status %d\n" % st), r
        r = c.roundtrip(request("GET", "/status/204"))
        assert r.status == 204 and r.body == b""
        r = c.roundtrip(request("HEAD", "/"), head_request=True)
        assert r.status == 200 and r.body == b"" and r.header("content-length") == "22"
    s = d.stats()
    assert s[C + "upstream_rq_total"] == 9
    assert (s[C + "upstream_rq_2xx"], s[C + "upstream_rq_3xx"], s[C + "upstream_rq_4xx"],
            s[C + "upstream_rq_5xx"]) == (4, 1, 2, 2)
    d.wait_stat(C + "upstream_rq_active", lambda v: v == 0)


# ---------------------------------------------------------------- filters --

def test_header_mutation(sy):
    hm = {"name": "header_mutation",
          "request_headers_to_add": [{"name": "x-a", "value": "1"},
                                     {"name": "x-multi", "value": "two", "append": True}],
          "request_headers_to_remove": ["x-secret"],
          "response_headers_to_add": [{"name": "x-served-by", "value": "switchyard"}],
          "response_headers_to_remove": ["content-type"]}
    d, b = start_proxy(sy, http={"http_filters": [hm, {"name": "router"}]})
    r = get(d.port, "/echo-headers", headers=[("X-A", "from client"), ("X-Multi", "one"),
                                              ("X-Secret", "s3cr3t"), ("X-Keep", "k")])
    assert r.status == 200, r
    _, hdrs = echo_lines(r)
    assert [v for k, v in hdrs if k == "x-a"] == ["1"], hdrs           # set, not added
    assert [v for k, v in hdrs if k == "x-multi"] == ["one", "two"], hdrs  # appended
    assert "x-secret" not in names(hdrs)
    assert ("x-keep", "k") in hdrs
    assert r.header("x-served-by") == "switchyard"
    assert r.header("content-type") is None, r
    # Every response gets the response mutations, not only the first.
    r = get(d.port, "/")
    assert r.body == b"hello from sy-backend\n" and r.header("x-served-by") == "switchyard"


def test_buffer_filter_limits_plain_requests(sy):
    d, b = start_proxy(sy, http={"http_filters": [{"name": "buffer", "max_request_bytes": 1024},
                                                  {"name": "router"}]})
    with HttpConn(port=d.port) as c:
        r = c.roundtrip(request("POST", "/echo", body=b"a" * 1024))
        assert r.status == 200 and r.body == b"a" * 1024
    with HttpConn(port=d.port) as c:
        r = c.roundtrip(request("POST", "/echo", body=b"b" * 2048))
        assert r.status == 413, r
    # chunked: the size is only known while reading
    with HttpConn(port=d.port) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"300\r\n" + b"c" * 0x300 + b"\r\n300\r\n" + b"d" * 0x300 + b"\r\n0\r\n\r\n")
        r = c.read_response()
        assert r.status == 413, r
    s = d.stats()
    assert s[P + "downstream_rq_too_large"] == 2
    assert s[C + "upstream_rq_total"] == 1, "a refused body reached the upstream"


# --------------------------------------------------------------- rewrites --

def test_prefix_rewrite_and_host_rewrite(sy):
    b = sy.backend()
    d = sy.daemon()
    routes = [proxy_route("app", prefix="/api/", prefix_rewrite="/"),
              proxy_route("app", prefix="/v1", prefix_rewrite="/echo-headers",
                          host_rewrite_literal="internal.example"),
              proxy_route("app", prefix="/")]
    d.start(proxy_config(d, [b.port], routes=routes))
    r = get(d.port, "/api/echo-headers?x=1", host="front.example")
    line, hdrs = echo_lines(r)
    assert line == "GET /echo-headers?x=1 HTTP/1.1"
    assert dict(hdrs)["host"] == "front.example"
    r = get(d.port, "/v1", host="front.example")
    line, hdrs = echo_lines(r)
    assert line == "GET /echo-headers HTTP/1.1"
    assert [v for k, v in hdrs if k == "host"] == ["internal.example"]
    r = get(d.port, "/echo-headers", host="front.example")
    assert echo_lines(r)[0] == "GET /echo-headers HTTP/1.1"


def test_no_route_404_not_forwarded(sy):
    b = sy.backend()
    d = sy.daemon()
    d.start(proxy_config(d, [b.port], routes=[proxy_route("app", prefix="/app/")]))
    r = get(d.port, "/elsewhere")
    assert r.status == 404, r
    with TunnelConn(port=d.port) as c:
        c.send(upgrade_request("websocket", "/elsewhere",
                               extra=[("Sec-WebSocket-Version", "13"),
                                      ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]))
        r = c.read_response()
        assert r.status == 404, r
    assert get(d.port, "/app/x").status == 200
    s = d.stats()
    assert s[C + "upstream_rq_total"] == 1
    assert s[P + "downstream_rq_ws_on_non_ws_route"] == 0


# ------------------------------------------------------------------- pool --

def test_keepalive_pool_reuses_upstream_connections(sy):
    d, b = start_proxy(sy, workers=1)
    n = 30
    for i in range(n):
        r = get(d.port, "/n/%d" % i)           # a new client connection each time
        assert r.status == 200, r
    with HttpConn(port=d.port) as c:
        for i in range(n):
            assert c.roundtrip(request("GET", "/k/%d" % i)).status == 200
    s = d.stats()
    assert s[C + "upstream_rq_total"] == 2 * n
    assert s[C + "upstream_cx_total"] == 1, \
        "one worker, sequential requests: one pooled upstream connection expected, got %d" \
        % s[C + "upstream_cx_total"]
    assert b.count(r"accepted") == 1
    assert s[C + "upstream_cx_active"] == 1       # idle in the pool


def test_pool_survives_upstream_closing_idle_connection(sy):
    """An upstream that closes every connection after one keep-alive
    answer: the pooled connection it closed must never be lent again, so
    no client request fails."""
    def one_answer_then_close(conn):
        conn.read_head()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
        conn.shutdown_write()
        conn.read_until_eof()

    srv = sy.upstream(RawServer(one_answer_then_close))
    d = sy.daemon()
    d.start(proxy_config(d, [srv.port], workers=1))
    for i in range(5):
        with HttpConn(port=d.port) as c:
            r = c.roundtrip(request("GET", "/%d" % i))
            assert (r.status, r.body) == (200, b"ok\n"), (i, r)
    assert len(srv.conns) == 5


def test_round_robin_two_endpoints(sy):
    b1, b2 = sy.backend(), sy.backend()
    d = sy.daemon()
    d.start(proxy_config(d, [b1.port, b2.port], workers=1,
                         cluster_kw={"lb_policy": "round_robin"}))
    for i in range(10):
        assert get(d.port, "/rr/%d" % i).status == 200
    n1, n2 = b1.count(r"GET /rr/\d+ -> 200"), b2.count(r"GET /rr/\d+ -> 200")
    assert (n1, n2) == (5, 5), (n1, n2)


# ---------------------------------------------------------- local replies --

def test_connect_refused_502(sy):
    dead = free_port()
    d = sy.daemon()
    d.start(proxy_config(d, [dead]))
    for _ in range(3):
        r = get(d.port, "/")
        assert r.status == 502, r
    s = d.stats()
    assert s[C + "upstream_cx_connect_fail"] == 3
    assert s[P + "downstream_rq_5xx"] == 3
    assert s[C + "upstream_cx_active"] == 0
    # An upgrade to a dead cluster is a 502 too, and no tunnel is counted.
    with TunnelConn(port=d.port) as c:
        c.send(upgrade_request("websocket", extra=[("Sec-WebSocket-Version", "13"),
                                                   ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]))
        assert c.read_response().status == 502
    s = d.stats()
    assert s[C + "upstream_cx_connect_fail"] == 4
    assert s[P + "downstream_cx_upgrades_total"] == 0
    assert s[P + "upgrades.websocket.failed"] == 1


def test_route_timeout_504(sy):
    b = sy.backend()
    d = sy.daemon()
    d.start(proxy_config(d, [b.port], routes=[proxy_route("app", timeout="300ms")]))
    t0 = time.monotonic()
    r = get(d.port, "/slow/3000")
    elapsed = time.monotonic() - t0
    assert r.status == 504, r
    assert 0.25 <= elapsed < 2.5, elapsed
    s = d.stats()
    assert s[C + "upstream_rq_timeout"] == 1
    assert s[P + "downstream_rq_5xx"] == 1
    # A fast answer on the same route is fine.
    assert get(d.port, "/slow/10").status == 200


def test_upstream_closes_without_answer_502(sy):
    def close_at_once(conn):
        conn.read_head()
        conn.close()

    def garbage(conn):
        conn.read_head()
        conn.send(b"NOT HTTP AT ALL\r\n\r\n")
        conn.read_until_eof()

    for handler in (close_at_once, garbage):
        srv = sy.upstream(RawServer(handler))
        d = sy.daemon()
        d.start(proxy_config(d, [srv.port], workers=1))
        r = get(d.port, "/")
        assert r.status == 502, (handler.__name__, r)
        d.wait_stat(C + "upstream_cx_active", lambda v: v == 0)


def test_max_connections_503(sy):
    """max_connections = 1 per worker and endpoint: while a tunnel holds the
    only upstream connection, the next request gets 503."""
    b = sy.backend()
    d = sy.daemon()
    d.start(proxy_config(d, [b.port], workers=1, upgrades={"foo": True},
                         cluster_kw={"max_connections": 1}))
    with TunnelConn(port=d.port) as t:
        t.upgrade("foo")
        t.send(b"ping")
        assert t.take(4) == b"ping"
        r = get(d.port, "/")
        assert r.status == 503, r
        s = d.stats()
        assert s[C + "upstream_cx_none_healthy"] == 1
    d.wait_stat(C + "upstream_cx_active", lambda v: v == 0)
    assert get(d.port, "/").status == 200
    wait_upgrades_idle(d, types=["foo"])


@pytest.mark.parametrize("policy", ["round_robin", "least_request", "random"])
def test_lb_policies_use_every_endpoint(sy, policy):
    b1, b2 = sy.backend(), sy.backend()
    d = sy.daemon()
    d.start(proxy_config(d, [b1.port, b2.port], workers=1, cluster_kw={"lb_policy": policy}))
    n = 40
    for i in range(n):
        assert get(d.port, "/lb/%d" % i).status == 200
    n1, n2 = b1.count(r"GET /lb/\d+ -> 200"), b2.count(r"GET /lb/\d+ -> 200")
    assert n1 + n2 == n and n1 > 0 and n2 > 0, (policy, n1, n2)


def test_endpoint_host_name_resolved(sy):
    addrs = {ai[4][0] for ai in socket.getaddrinfo("localhost", 80, proto=socket.IPPROTO_TCP)}
    if addrs != {"127.0.0.1"}:
        sylib.skip_or_fail("localhost resolves to %r here" % sorted(addrs))
    b = sy.backend()
    d = sy.daemon()
    d.start(proxy_config(d, ["localhost:%d" % b.port]))
    r = get(d.port, "/")
    assert (r.status, r.body) == (200, b"hello from sy-backend\n")


def test_connect_timeout(sy):
    """An endpoint whose accept queue is full drops our SYNs: the connect
    attempt ends at connect_timeout with a 5xx and the counter."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    port = lsock.getsockname()[1]
    fillers = []
    try:
        # Fill the accept queue (nobody accepts) until a connect hangs.
        for _ in range(8):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        d = sy.daemon()
        d.start(proxy_config(d, [port], cluster_kw={"connect_timeout": "300ms"}))
        t0 = time.monotonic()
        r = get(d.port, "/")
        elapsed = time.monotonic() - t0
        assert r.status in (502, 504), r
        assert 0.25 <= elapsed < 3, elapsed
        s = d.stats()
        assert s[C + "upstream_cx_connect_timeout"] == 1
        assert s[C + "upstream_cx_active"] == 0
    finally:
        for s in fillers:
            s.close()
        lsock.close()


def test_upgrade_attempt_connection_never_reused(sy):
    """A keep-alive upstream answering an upgrade request with an ordinary
    404 (no Connection: close): the connection that carried the upgrade
    attempt is never lent again."""
    def keepalive_server(conn):
        conn.requests = []
        while True:
            head = conn.read_head()
            line, hdrs = parse_head(head)
            conn.requests.append(line)
            if head_value(hdrs, "upgrade"):
                conn.send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope")
            else:
                conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")

    srv = sy.upstream(RawServer(keepalive_server))
    d = sy.daemon()
    d.start(proxy_config(d, [srv.port], workers=1, upgrades={"foo": True}))
    for i in range(3):
        assert get(d.port, "/plain/%d" % i).body == b"ok\n"
        with TunnelConn(port=d.port) as c:
            c.send(upgrade_request("foo", "/up/%d" % i) + b"held")
            r = c.read_response()
            assert (r.status, r.body) == (404, b"nope"), r
            assert c.wait_closed()
    assert get(d.port, "/plain/last").body == b"ok\n"
    wait_until(lambda: sum(len(getattr(c, "requests", [])) for c in srv.conns) == 7,
               what="7 requests at the upstream")
    for c in srv.conns:
        reqs = c.requests
        ups = [i for i, line in enumerate(reqs) if line.startswith("GET /up/")]
        assert not ups or ups == [len(reqs) - 1], \
            "requests after an upgrade attempt on one upstream connection: %r" % reqs


def test_listener_idle_timeout_spares_request_in_progress(sy):
    """The listener's idle_timeout is for a connection with no request in
    progress: a request waiting 600 ms for its upstream answer is not cut
    by a 300 ms idle_timeout, while an idle keep-alive connection is."""
    b = sy.backend()
    d = sy.daemon()
    d.start(proxy_config(d, [b.port], http={"idle_timeout": "300ms"}))
    with HttpConn(port=d.port) as c:
        t0 = time.monotonic()
        c.send(request("GET", "/slow/600"))
        try:
            r = c.read_response()
        except PeerClosed as e:
            raise AssertionError("request waiting for its upstream cut after %.2f s by the "
                                 "listener idle_timeout (300 ms): %s"
                                 % (time.monotonic() - t0, e))
        assert r.status == 200, r
        # Now idle: that connection is closed by the idle timeout.
        assert c.wait_closed(5)
    s = d.stats()
    assert s[P + "downstream_cx_idle_timeout"] == 1


def test_pipelined_requests_answered_in_order(sy):
    d, b = start_proxy(sy)
    with HttpConn(port=d.port, timeout=10) as c:
        c.send(b"".join(request("GET", "/slow/%d/status/%d" % ((20 - i) * 5, 200 + i))
                        for i in range(20)) + request("POST", "/echo", body=b"last"))
        got = [c.read_response() for _ in range(21)]
    assert [r.status for r in got[:20]] == [200 + i for i in range(20)]
    assert got[20].body == b"last"


@pytest.mark.parametrize("kind", ["chunked", "close-delimited", "chunked with trailers"])
def test_upstream_response_framings(sy, kind):
    body = bytes(range(256)) * 40

    def answer(conn):
        while True:             # keep-alive: every request on the connection
            conn.read_head()
            if kind == "close-delimited":
                conn.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body)
                conn.close()
                return
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 3000]), body[i:i + 3000])
                              for i in range(0, len(body), 3000))
            trailer = b"X-Checksum: 42\r\n" if "trailers" in kind else b""
            conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks +
                      b"0\r\n" + trailer + b"\r\n")

    srv = sy.upstream(RawServer(answer))
    d = sy.daemon()
    d.start(proxy_config(d, [srv.port]))
    with HttpConn(port=d.port, timeout=10) as c:
        r = c.roundtrip(request("GET", "/framing"))
        assert r.status == 200 and r.body == body, (kind, r)
        if not r.conn_close:
            # the client connection is still usable
            r2 = c.roundtrip(request("GET", "/again"))
            assert r2.status == 200 and r2.body == body


def test_trailers_cross_the_proxy_both_ways(sy):
    """Trailer fields of a chunked request reach the upstream after the
    body, and those of a chunked response reach the client, through the
    filter chain's trailer callbacks."""
    seen = {}

    def answer(conn):
        conn.read_head()
        # the request body: "5\r\nhello\r\n0\r\nx-req-sum: 7\r\n\r\n"
        want = b"5\r\nhello\r\n0\r\nx-req-sum: 7\r\n\r\n"
        seen["body"] = conn.read_exact(len(want))
        conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"3\r\nabc\r\n0\r\nX-Resp-Sum: 9\r\n\r\n")

    srv = sy.upstream(RawServer(answer))
    d = sy.daemon()
    d.start(proxy_config(d, [srv.port]))
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    try:
        s.sendall(b"POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                  b"Connection: close\r\n\r\n5\r\nhello\r\n0\r\nX-Req-Sum: 7\r\n\r\n")
        got = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    finally:
        s.close()
    assert seen["body"] == b"5\r\nhello\r\n0\r\nx-req-sum: 7\r\n\r\n", seen
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), got
    assert b"transfer-encoding: chunked" in head.lower(), got
    assert body == b"3\r\nabc\r\n0\r\nx-resp-sum: 9\r\n\r\n", got


def test_expect_100_continue_is_relayed(sy):
    """A client that sends Expect: 100-continue gets the upstream's 100
    before it sends its body, not after a client-side timeout."""
    b = sy.backend()
    d = sy.daemon()
    d.start(proxy_config(d, [b.port]))
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    try:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        s.settimeout(5)
        first = s.recv(4096)
        assert first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), first
        s.sendall(b"hello")
        got = first[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        while b"hello" not in got:
            more = s.recv(4096)
            assert more, got
            got += more
        assert got.startswith(b"HTTP/1.1 200"), got
    finally:
        s.close()


def test_pipelined_flood_behind_pending_response_is_bounded(sy):
    """While a response is pending, switchyard stops reading once 64 KiB
    of pipelined requests are queued: a client cannot make it buffer
    without bound, and the queued requests are answered afterwards."""
    b = sy.backend()
    d = sy.daemon()
    d.start(proxy_config(d, [b.port]))
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    try:
        s.sendall(request("GET", "/slow/1500"))
        s.setblocking(False)
        one = request("GET", "/x")
        flood = one * (256 * 1024 // len(one))
        sent, deadline = 0, time.monotonic() + 1.0
        while time.monotonic() < deadline and sent < 64 * 1024 * 1024:
            try:
                sent += s.send(flood)
            except BlockingIOError:
                r = select.select([], [s], [], 0.05)
        # Kernel socket buffers hold a few MiB at most; the daemon must not
        # have swallowed the rest.
        assert sent < 24 * 1024 * 1024, sent
        s.setblocking(True)
        s.settimeout(10)
        first = b""
        while b"\r\n\r\n" not in first:
            chunk = s.recv(65536)
            assert chunk, first
            first += chunk
        assert first.startswith(b"HTTP/1.1 200"), first[:100]
    finally:
        s.close()


def test_slow_client_large_response_is_not_buffered(sy):
    """A 64 MiB response to a client that does not read: switchyard stops
    reading the upstream (cluster rx bytes stop growing far below the
    response size) instead of buffering it, then delivers all of it."""
    size = 64 * 1024 * 1024
    block = bytes(range(256)) * 4096          # 1 MiB

    def answer(conn):
        conn.read_head()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        for _ in range(size // len(block)):
            conn.send(block)

    srv = sy.upstream(RawServer(answer, conn_timeout=30))
    d = sy.daemon()
    d.start(proxy_config(d, [srv.port]))
    rx = "cluster.app.upstream_cx_rx_bytes_total"
    s = socket.create_connection(("127.0.0.1", d.port), timeout=30)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.sendall(request("GET", "/big"))
        # Wait until the proxy stops reading: rx unchanged over 300 ms.
        last = {"v": -1, "t": time.monotonic()}

        def stalled():
            v = d.stats()[rx]
            now = time.monotonic()
            if v != last["v"]:
                last["v"], last["t"] = v, now
                return False
            return v > 0 and now - last["t"] >= 0.3
        wait_until(stalled, timeout=15)
        assert last["v"] < 24 * 1024 * 1024, \
            "read %d bytes from the upstream for a client that reads nothing" % last["v"]
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(65536)
        got = len(head.partition(b"\r\n\r\n")[2])
        while got < size:
            chunk = s.recv(1 << 20)
            assert chunk, got
            got += len(chunk)
        assert got == size
    finally:
        s.close()
