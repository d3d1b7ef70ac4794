"""Malformed input, size limits and timeouts.  Every bad request gets its
status, the connection is closed, the error is counted, and the worker
keeps serving (a good request on a new connection gets 200, no worker
restarts)."""

import select
import socket
import time

import pytest

from sylib import HttpConn, PeerClosed, get, request

P = "http.ingress_http."

H = b"Host: test.local\r\n"

MALFORMED = [
    # (id, bytes, status)
    ("obs-fold", b"GET / HTTP/1.1\r\n" + H + b"X-Fold: a\r\n b\r\n\r\n", 400),
    ("obs-fold-tab", b"GET / HTTP/1.1\r\n" + H + b"X-Fold: a\r\n\tb\r\n\r\n", 400),
    ("space-before-colon", b"GET / HTTP/1.1\r\nHost : test.local\r\n\r\n", 400),
    ("cr-in-value", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n", 400),
    ("lf-in-value", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\nb\r\n\r\n", 400),
    ("nul-in-value", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", 400),
    ("cr-in-name", b"GET / HTTP/1.1\r\n" + H + b"X\rA: b\r\n\r\n", 400),
    ("lf-in-name", b"GET / HTTP/1.1\r\n" + H + b"X\nA: b\r\n\r\n", 400),
    ("nul-in-name", b"GET / HTTP/1.1\r\n" + H + b"X\x00A: b\r\n\r\n", 400),
    ("http-1.2", b"GET / HTTP/1.2\r\n" + H + b"\r\n", 505),
    ("http-2.0", b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("two-hosts", b"GET / HTTP/1.1\r\n" + H + b"Host: other.local\r\n\r\n", 400),
    ("two-hosts-same", b"GET / HTTP/1.1\r\n" + H + H + b"\r\n", 400),
    ("no-host-1.1", b"GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400),
    ("garbage", b"hello there\r\n\r\n", 400),
]

LIMITS = {"max_request_headers_kb": 2, "max_headers_count": 10}

OVERSIZE = [
    ("long-request-line", request("GET", "/" + "a" * 3000), 431),
    ("long-header", request("GET", "/", headers=[("X-Big", "b" * 3000)]), 431),
    ("many-small-headers-bytes", request("GET", "/", headers=[("X-H%d" % i, "v" * 90)
                                                              for i in range(8)] +
                                         [("X-Tail", "t" * 1400)]), 431),
    ("too-many-headers", request("GET", "/", headers=[("X-H%d" % i, "v") for i in range(10)]), 431),
]


def start(sy, workers=2, **http):
    d = sy.daemon()
    h = dict(LIMITS)
    h.update(http)
    d.start(d.config(workers=workers, http=h))
    return d


def read_status_then_close(c):
    """The response status, after which the server must close."""
    r = c.read_response()
    closed = c.wait_closed(5)
    return r, closed


def check_bad(d, data, status):
    before = d.stat(P + "downstream_cx_protocol_error")
    with HttpConn(port=d.port) as c:
        c.send(data)
        r, closed = read_status_then_close(c)
    assert r.status == status, "want %d, got %r" % (status, r)
    assert closed, "connection left open after a %d" % status
    # the error is counted
    d.wait_stat(P + "downstream_cx_protocol_error", lambda v: v == before + 1)
    # and the worker carries on: a good request on a new connection
    g = get(d.port, "/")
    assert (g.status, g.body) == (200, b"ok\n")


@pytest.mark.parametrize("name,data,status", MALFORMED + OVERSIZE, ids=[m[0] for m in MALFORMED + OVERSIZE])
def test_malformed(sy, name, data, status):
    d = start(sy)
    pids = d.worker_pids()
    check_bad(d, data, status)
    # no worker died on the way
    assert d.worker_pids() == pids
    assert d.stat("server.worker_restarts") == 0
    d.wait_stat(P + "downstream_cx_active", lambda v: v == 0)


def test_malformed_all_on_one_daemon(sy):
    """Every bad input in a row against the same workers, then good traffic."""
    d = start(sy)
    pids = d.worker_pids()
    for name, data, status in MALFORMED + OVERSIZE:
        with HttpConn(port=d.port) as c:
            c.send(data)
            r, closed = read_status_then_close(c)
            assert r.status == status, (name, r)
            assert closed, name
    n = len(MALFORMED) + len(OVERSIZE)
    d.wait_stat(P + "downstream_cx_protocol_error", lambda v: v == n)
    d.wait_stat(P + "downstream_rq_4xx", lambda v: v == n - 2)
    d.wait_stat(P + "downstream_rq_5xx", lambda v: v == 2)
    for _ in range(20):
        assert get(d.port, "/").status == 200
    assert d.worker_pids() == pids
    assert d.stat("server.worker_restarts") == 0


def test_bad_request_after_good_on_keepalive(sy):
    """A malformed request after good ones on a keep-alive connection: the
    good ones are answered, the bad one gets 400, then the close."""
    d = start(sy)
    with HttpConn(port=d.port) as c:
        c.send(request("GET", "/") + request("GET", "/") +
               b"GET / HTTP/1.1\r\n" + H + b"X-Fold: a\r\n b\r\n\r\n" + request("GET", "/"))
        assert c.read_response().status == 200
        assert c.read_response().status == 200
        r = c.read_response()
        assert r.status == 400
        assert c.wait_closed(5)
        assert c.buf == b"", "bytes after the 400: %r" % c.buf


def test_limits_not_hit(sy):
    """Just under the limits is served."""
    d = start(sy)
    with HttpConn(port=d.port) as c:
        # Host + 9 = exactly max_headers_count
        r = c.roundtrip(request("GET", "/", headers=[("X-H%d" % i, "v") for i in range(9)]))
        assert r.status == 200
        r = c.roundtrip(request("GET", "/" + "a" * 1000, headers=[("X-Big", "b" * 500)]))
        assert r.status == 200


def test_request_headers_timeout_slowloris(sy):
    """request_headers_timeout is an absolute deadline: a client trickling
    one byte every 100 ms is cut at the deadline (408 or close) and counted
    in downstream_rq_header_timeout."""
    d = start(sy, request_headers_timeout="1s")
    head = b"GET / HTTP/1.1\r\nHost: test.local\r\n" + b"X-Slow: " + b"s" * 200
    with HttpConn(port=d.port, timeout=10) as c:
        t0 = time.monotonic()
        cut_at = None
        status = None
        for i in range(len(head)):
            try:
                c.send(head[i:i + 1])
            except OSError:
                cut_at = time.monotonic() - t0
                break
            r, _, _ = select.select([c.sock], [], [], 0.1)   # the 100 ms pacing
            if r:
                if c.wait_closed(5):
                    cut_at = time.monotonic() - t0
                    break
            if time.monotonic() - t0 > 8:
                break
        assert cut_at is not None, "slowloris connection still open after 8s with a 1s deadline"
        if c.buf:
            status = int(c.buf.split(b" ", 2)[1])
            assert status == 408, c.buf
    assert 0.8 <= cut_at <= 3.0, "cut after %.2fs, deadline 1s" % cut_at
    d.wait_stat(P + "downstream_rq_header_timeout", lambda v: v == 1)
    assert get(d.port, "/").status == 200


def test_request_headers_timeout_not_hit(sy):
    """Headers that arrive in pieces within the deadline are served."""
    d = start(sy, request_headers_timeout="2s")
    data = request("GET", "/")
    with HttpConn(port=d.port) as c:
        for piece in (data[:5], data[5:20], data[20:]):
            c.send(piece)
            select.select([c.sock], [], [], 0.05)
        r = c.read_response()
        assert r.status == 200
    assert d.stat(P + "downstream_rq_header_timeout") == 0


def test_request_headers_timeout_resets_per_request(sy):
    """The deadline covers one request's headers, not the connection: a
    keep-alive connection used for longer than the timeout keeps working."""
    d = start(sy, request_headers_timeout="1s", idle_timeout="30s")
    with HttpConn(port=d.port) as c:
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < 1.6:
            r = c.roundtrip(request("GET", "/"))
            assert r.status == 200
            n += 1
            select.select([], [], [], 0.1)
        assert n >= 10
    assert d.stat(P + "downstream_rq_header_timeout") == 0


def test_idle_timeout(sy):
    d = start(sy, idle_timeout="500ms")
    with HttpConn(port=d.port) as c:
        r = c.roundtrip(request("GET", "/"))
        assert r.status == 200
        t0 = time.monotonic()
        assert c.wait_closed(5), "idle connection not closed by idle_timeout"
        elapsed = time.monotonic() - t0
    assert 0.3 <= elapsed <= 3.0, elapsed
    d.wait_stat(P + "downstream_cx_idle_timeout", lambda v: v == 1)
    d.wait_stat(P + "downstream_cx_active", lambda v: v == 0)


def test_client_half_close_and_reset(sy):
    """Clients that vanish (half-close mid-head, RST) leave no trace in the
    gauges and do not disturb the worker."""
    d = start(sy)
    c = HttpConn(port=d.port)
    c.send(b"GET / HTTP/1.1\r\nHo")
    c.sock.shutdown(socket.SHUT_WR)
    assert c.wait_closed(5)
    c.close()
    c = HttpConn(port=d.port)
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()   # RST
    d.wait_stat(P + "downstream_cx_active", lambda v: v == 0)
    d.wait_stat(P + "downstream_rq_active", lambda v: v == 0)
    assert get(d.port, "/").status == 200
    assert d.stat("server.worker_restarts") == 0


def test_peer_closed_before_response_read(sy):
    """A client that sends a request and closes without reading the answer."""
    d = start(sy)
    for _ in range(20):
        c = HttpConn(port=d.port)
        c.send(request("GET", "/"))
        c.close()
    d.wait_stat(P + "downstream_cx_active", lambda v: v == 0)
    assert get(d.port, "/").status == 200
    assert d.stat("server.worker_restarts") == 0


def test_worker_connections_limit_does_not_crash(sy):
    """worker_connections = 2 with one worker: extra connections wait or are
    closed, but the worker survives and serves once they go."""
    d = sy.daemon()
    cfg = d.config(workers=1)
    cfg["worker_connections"] = 2
    d.start(cfg)
    held = [HttpConn(port=d.port) for _ in range(4)]
    try:
        for c in held[:2]:
            assert c.roundtrip(request("GET", "/")).status == 200
    finally:
        for c in held:
            c.close()
    r = None
    for _ in range(3):
        try:
            r = get(d.port, "/")
            break
        except (PeerClosed, OSError):
            continue
    assert r is not None and r.status == 200
    assert d.stat("server.worker_restarts") == 0
