"""test_40_tunnel - life of an upgraded connection (a tunnel).

Half-close both ways (a FIN one way ends only that direction), back-
pressure (a peer that does not read stops the other side instead of
growing buffers), idle timeouts, the route timeout for the 101, aborts on
either side, 1,000 concurrent tunnels over two workers with every echo
checked and the workers' descriptors back to baseline, and a reload with
100 tunnels open: they keep working until drain_timeout while new
connections reach the new generation.  After every scenario
downstream_cx_upgrades_active is back to 0.
"""

import os
import select
import signal
import socket
import threading
import time

import pytest

from sylib import (WS_BINARY, WS_CLOSE, WS_TEXT, RawServer, TunnelConn, fd_count,
                   figure, get, pid_alive, proxy_config, proxy_route,
                   server_conn_owner_counts, upgrade_request, wait_until, wait_upgrades_idle,
                   ws_close_payload, ws_frame, ws_request, ws_upgrade_echo_handler)

P = "http.ingress_http."
C = "cluster.app."
FOO = {"websocket": True, "foo": True}


def start(sy, port, **kw):
    kw.setdefault("upgrades", FOO)
    d = sy.daemon()
    d.start(proxy_config(d, [port], **kw))
    return d


# ------------------------------------------------------------ half-close --

def test_client_fin_then_upstream_still_delivers(sy):
    """The client sends, then FIN.  The upstream sees our bytes then EOF (a
    FIN, not a close: it can still write), and only then answers; the
    answer reaches the client, then the upstream's FIN."""
    def answer_after_eof(conn):
        conn.read_head()
        conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n")
        got = conn.read_until_eof()
        conn.got = got
        reply = b"after your FIN I got %d bytes\n" % len(got) + got[::-1]
        conn.send(reply)
        conn.shutdown_write()

    srv = sy.upstream(RawServer(answer_after_eof))
    d = start(sy, srv.port)
    data = os.urandom(1 << 20)
    with TunnelConn(port=d.port, timeout=10) as c:
        c.upgrade("foo")
        c.send(data)
        c.shutdown_write()
        head = b"after your FIN I got %d bytes\n" % len(data)
        assert c.take(len(head)) == head
        assert c.take(len(data)) == data[::-1]
        assert c.read_until_eof() == b""
    assert srv.wait_conns(1).got == data
    wait_upgrades_idle(d, types=["foo"])
    d.wait_stat(C + "upstream_cx_active", lambda v: v == 0)


def test_client_fin_with_sy_backend_queue(sy):
    """4 MiB then FIN at once: sy-backend's queued echo still arrives whole."""
    b = sy.backend()
    d = start(sy, b.port)
    data = os.urandom(4 << 20)
    with TunnelConn(port=d.port, timeout=20) as c:
        c.upgrade("foo", early=data[:1000])

        def send():
            c.sock.sendall(data[1000:])
            c.shutdown_write()
        t = threading.Thread(target=send, daemon=True)
        t.start()
        got = c.read_until_eof()
        t.join(20)
    assert len(got) == len(data) and got == data
    wait_upgrades_idle(d, types=["foo"])


@pytest.mark.parametrize("token", ["foo", "websocket"])
def test_upstream_fin_then_client_still_delivers(sy, token):
    """sy-backend's /close-after-101: 101, "bye", FIN.  The client sees the
    FIN (EOF) and can still send: the backend counts what arrives until our
    own FIN."""
    b = sy.backend()
    d = start(sy, b.port)
    c = TunnelConn(port=d.port, timeout=10)
    if token == "websocket":
        c.ws_handshake("/close-after-101")
        assert c.read_frame() == (True, WS_TEXT, b"bye", False)
    else:
        c.upgrade("foo", "/close-after-101")
        assert c.take(3) == b"bye"
    assert c.read_until_eof() == b""          # upstream FIN reached us
    n = 12345 if token == "foo" else None
    if token == "websocket":
        wire = ws_frame(WS_BINARY, b"z" * 5000) + ws_frame(WS_CLOSE, ws_close_payload(1000))
        n = len(wire)
        c.send(wire)
    else:
        c.send(b"z" * n)
    c.shutdown_write()
    b.wait_out(r"close-after-101: %d bytes received after the 101" % n)
    assert c.wait_closed()
    c.close()
    wait_upgrades_idle(d, types=[token])
    d.wait_stat(C + "upstream_cx_active", lambda v: v == 0)


def test_client_fin_before_the_101(sy):
    """Request, payload and FIN all sent before the (200 ms late) 101: the
    held payload and then the FIN reach the upstream after the 101."""
    b = sy.backend()
    d = start(sy, b.port)
    with TunnelConn(port=d.port, timeout=10) as c:
        c.send(upgrade_request("foo", "/slow/200/") + b"held until the 101")
        c.shutdown_write()
        r = c.read_response()
        assert r.status == 101, r
        assert c.read_until_eof() == b"held until the 101"
    wait_upgrades_idle(d, types=["foo"])


def test_large_payload_before_the_101(sy):
    """4 MiB sent right behind the handshake while the upstream waits 300 ms
    before its 101: the proxy holds it (pausing the client, not buffering
    without bound) and delivers every byte after the 101."""
    b = sy.backend()
    d = start(sy, b.port)
    data = os.urandom(4 << 20)
    with TunnelConn(port=d.port, timeout=20) as c:
        c.send(upgrade_request("foo", "/slow/300/"))

        def send():
            c.sock.sendall(data)
            c.shutdown_write()
        t = threading.Thread(target=send, daemon=True)
        t.start()
        r = c.read_response()
        assert r.status == 101, r
        got = c.read_until_eof()
        t.join(20)
    assert len(got) == len(data) and got == data
    wait_upgrades_idle(d, types=["foo"])


# ------------------------------------------------------------ aborts ------

def test_client_reset_closes_upstream(sy):
    srv = sy.upstream(RawServer(ws_upgrade_echo_handler))
    d = start(sy, srv.port)
    c = TunnelConn(port=d.port)
    c.upgrade("foo")
    c.send(b"x")
    assert c.take(1) == b"x"
    # RST instead of FIN
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()
    conn = srv.wait_conns(1)
    assert conn.eof.wait(10), "upstream side of the tunnel still open after a client reset"
    wait_upgrades_idle(d, types=["foo"])
    d.wait_stat(C + "upstream_cx_active", lambda v: v == 0)


def test_upstream_reset_closes_client(sy):
    def reset_after_101(conn):
        conn.read_head()
        conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n"
                  b"hi")
        conn.read_exact(5)
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()

    srv = sy.upstream(RawServer(reset_after_101))
    d = start(sy, srv.port)
    with TunnelConn(port=d.port) as c:
        c.upgrade("foo")
        assert c.take(2) == b"hi"
        c.send(b"hello")
        assert c.wait_closed(10), "client side still open after the upstream reset"
    wait_upgrades_idle(d, types=["foo"])


# ------------------------------------------------------------ timeouts ----

@pytest.mark.parametrize("where", ["route idle_timeout", "listener stream_idle_timeout"])
def test_idle_timeout_closes_silent_tunnel(sy, where):
    b = sy.backend()
    if where == "route idle_timeout":
        d = start(sy, b.port, routes=[proxy_route("app", idle_timeout="300ms")])
    else:
        d = start(sy, b.port, http={"stream_idle_timeout": "300ms"})
    c = TunnelConn(port=d.port, timeout=10)
    c.upgrade("foo")
    c.send(b"activity")
    assert c.take(8) == b"activity"
    last = time.monotonic()
    assert c.wait_closed(10), "silent tunnel still open 10 s after a 300 ms idle timeout"
    idle = time.monotonic() - last
    c.close()
    assert idle >= 0.28, "closed after %.3f s of silence, before the 300 ms timeout" % idle
    assert d.stat(P + "downstream_rq_idle_timeout") == 1
    wait_upgrades_idle(d, types=["foo"])
    d.wait_stat(C + "upstream_cx_active", lambda v: v == 0)


def test_idle_timeout_zero_disables(sy):
    """idle_timeout "0" on the route: a tunnel silent for longer than the
    listener's (300 ms) stream_idle_timeout stays open."""
    b = sy.backend()
    d = start(sy, b.port, http={"stream_idle_timeout": "300ms"},
              routes=[proxy_route("app", prefix="/never", idle_timeout="0"),
                      proxy_route("app", prefix="/")])
    quiet = TunnelConn(port=d.port, timeout=10)
    quiet.upgrade("foo", "/never")
    ref = TunnelConn(port=d.port, timeout=10)
    ref.upgrade("foo", "/")
    # The reference tunnel times out; the /never one must outlive it.
    assert ref.wait_closed(10)
    assert not quiet.wait_closed(0.3)
    quiet.send(b"still here")
    assert quiet.take(10) == b"still here"
    quiet.close()
    ref.close()
    assert d.stat(P + "downstream_rq_idle_timeout") == 1
    wait_upgrades_idle(d, types=["foo"])


@pytest.mark.parametrize("setting", ["listener idle_timeout", "route timeout"])
def test_tunnel_not_cut_by_request_timeouts(sy, setting):
    """The listener's idle_timeout (a connection with no request in
    progress) and the route's timeout (waiting for the response head) do
    not apply once the tunnel is up: a quiet tunnel outlives a 300 ms
    setting, measured against a reference tunnel on a route whose
    idle_timeout (600 ms) is longer."""
    b = sy.backend()
    http = {"stream_idle_timeout": "5m"}
    quiet_kw = {}
    if setting == "listener idle_timeout":
        http["idle_timeout"] = "300ms"
    else:
        quiet_kw["timeout"] = "300ms"
    d = start(sy, b.port, http=http,
              routes=[proxy_route("app", prefix="/ref", idle_timeout="600ms"),
                      proxy_route("app", prefix="/", **quiet_kw)])
    quiet = TunnelConn(port=d.port, timeout=10)
    quiet.upgrade("foo", "/quiet")
    t0 = time.monotonic()
    ref = TunnelConn(port=d.port, timeout=10)
    ref.upgrade("foo", "/ref")
    assert ref.wait_closed(10)
    assert not quiet.wait_closed(0.1), \
        "silent tunnel closed within %.2f s by the %s (300 ms)" % (time.monotonic() - t0, setting)
    quiet.send(b"alive")
    assert quiet.take(5) == b"alive"
    quiet.close()
    ref.close()
    s = d.stats()
    assert s[P + "downstream_rq_idle_timeout"] == 1
    assert s[P + "downstream_cx_idle_timeout"] == 0
    assert s[C + "upstream_rq_timeout"] == 0
    wait_upgrades_idle(d, types=["foo"])


def test_route_timeout_bounds_wait_for_101(sy):
    b = sy.backend()
    d = start(sy, b.port, routes=[proxy_route("app", timeout="300ms")])
    t0 = time.monotonic()
    with TunnelConn(port=d.port) as c:
        c.send(upgrade_request("foo", "/slow/3000/") + b"held")
        r = c.read_response()
        assert r.status == 504, r
        assert c.wait_closed()
    assert time.monotonic() - t0 < 2.5
    s = d.stats()
    assert s[C + "upstream_rq_timeout"] == 1
    assert s[P + "upgrades.foo.failed"] == 1
    assert s[P + "downstream_cx_upgrades_total"] == 0
    # a 101 within the timeout is fine
    with TunnelConn(port=d.port) as c:
        c.upgrade("foo", "/slow/20/")
        c.send(b"ok")
        assert c.take(2) == b"ok"
    wait_upgrades_idle(d, types=["foo"])


# -------------------------------------------------------- back-pressure --

STALL = 0.5     # a sender blocked this long is considered stopped
BOUND = 24 << 20    # kernel socket buffers on both hops + the daemon's high-water marks
PATTERN = bytes(range(256)) * 256


class Sender:
    """Sends `total` pattern bytes on a socket; `stalled` is set (with the
    count sent so far) once the socket stays unwritable for STALL seconds."""

    def __init__(self, sock, total):
        self.sock, self.total = sock, total
        self.sent = 0
        self.stalled_at = None
        self.stalled = threading.Event()
        self.finished = threading.Event()

    def run(self):
        self.sock.setblocking(False)
        deadline = time.monotonic() + 60
        try:
            while self.sent < self.total and time.monotonic() < deadline:
                _, w, _ = select.select([], [self.sock], [], STALL)
                if not w:
                    if self.stalled_at is None:
                        self.stalled_at = self.sent
                        self.stalled.set()
                    continue
                off = self.sent % len(PATTERN)
                n = min(len(PATTERN) - off, self.total - self.sent)
                try:
                    self.sent += self.sock.send(PATTERN[off:off + n])
                except BlockingIOError:
                    continue
        finally:
            self.sock.setblocking(True)
            self.finished.set()


def check_pattern(data, offset):
    """data is the stream's bytes from offset on."""
    exp = (PATTERN * (len(data) // len(PATTERN) + 2))
    start = offset % len(PATTERN)
    return data == exp[start:start + len(data)]


def read_stream(recv, total, got=0):
    """Read the pattern stream from offset got up to total; returns the
    offset reached."""
    while got < total:
        data = recv()
        if not data:
            break
        assert check_pattern(data, got), "corrupt data at offset %d" % got
        got += len(data)
    return got


def test_backpressure_upstream_to_non_reading_client(sy):
    """The upstream pushes 64 MiB at a client that reads nothing: it is
    stopped after a bounded amount; once the client reads, all of it
    arrives intact."""
    total = 64 << 20
    senders = []

    def pusher(conn):
        conn.read_head()
        conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n")
        s = Sender(conn.sock, total)
        senders.append(s)
        s.run()
        conn.shutdown_write()
        conn.read_until_eof()

    srv = sy.upstream(RawServer(pusher, conn_timeout=60))
    d = start(sy, srv.port)
    c = TunnelConn(port=d.port, timeout=30)
    c.upgrade("foo")
    wait_until(lambda: senders, what="the upstream to start sending")
    s = senders[0]
    assert s.stalled.wait(30), "upstream never blocked (sent %d): no back-pressure" % s.sent
    assert s.stalled_at < BOUND, \
        "the upstream pushed %d bytes at a client reading nothing" % s.stalled_at
    head, c.buf = c.buf, b""
    assert check_pattern(head, 0)

    def recv():
        try:
            return c.sock.recv(1 << 20)
        except ConnectionResetError:
            return b""
    got = read_stream(recv, total, len(head))
    assert got == total, "got %d of %d bytes" % (got, total)
    assert recv() == b""            # then the upstream's FIN
    c.close()
    assert s.finished.wait(30) and s.sent == total
    figure("back-pressure", "upstream stopped after %d bytes to a non-reading client"
           % s.stalled_at)
    wait_upgrades_idle(d, types=["foo"])


def test_backpressure_client_to_non_reading_upstream(sy):
    """The client pushes 64 MiB at an upstream that reads nothing until told:
    the client is stopped after a bounded amount; then all of it arrives."""
    total = 64 << 20
    go = threading.Event()
    result = {}

    def sink(conn):
        conn.read_head()
        conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n")
        assert go.wait(60)
        conn.sock.settimeout(30)
        got = 0
        while True:
            data = conn.sock.recv(1 << 20)
            if not data:
                break
            if not check_pattern(data, got):
                result["corrupt_at"] = got
                break
            got += len(data)
        result["got"] = got
        conn.shutdown_write()

    srv = sy.upstream(RawServer(sink, conn_timeout=60))
    d = start(sy, srv.port)
    c = TunnelConn(port=d.port, timeout=30)
    c.upgrade("foo")
    s = Sender(c.sock, total)
    t = threading.Thread(target=s.run, daemon=True)
    t.start()
    try:
        assert s.stalled.wait(30), "client never blocked (sent %d): no back-pressure" % s.sent
        assert s.stalled_at < BOUND, \
            "the client pushed %d bytes at an upstream reading nothing" % s.stalled_at
    finally:
        go.set()
    assert s.finished.wait(60) and s.sent == total
    c.shutdown_write()
    assert c.read_until_eof() == b""
    c.close()
    wait_until(lambda: "got" in result, timeout=30, what="the upstream to read everything")
    assert "corrupt_at" not in result, result
    assert result["got"] == total
    figure("back-pressure", "client stopped after %d bytes to a non-reading upstream"
           % s.stalled_at)
    wait_upgrades_idle(d, types=["foo"])


# ------------------------------------------------------------------ scale --

def open_tunnels(port, n, tag, early=True):
    """n tunnels to sy-backend, websocket and raw foo alternately; the first
    message goes with the handshake (held until the 101).  Returns them
    after checking every echo."""
    conns = []
    try:
        for i in range(n):
            conns.append(TunnelConn(port=port, timeout=20))
        for i, c in enumerate(conns):
            msg = b"%s %d first" % (tag, i)
            if i % 2:
                c.send(ws_request("/t/%d" % i) + (ws_frame(WS_BINARY, msg) if early else b""))
            else:
                c.send(upgrade_request("foo", "/t/%d" % i) + (msg if early else b""))
        for i, c in enumerate(conns):
            r = c.read_response()
            assert r.status == 101, "tunnel %d: %r" % (i, r)
            if early:
                check_echo(c, i, b"%s %d first" % (tag, i))
    except BaseException:
        for c in conns:
            c.close()
        raise
    return conns


def send_msg(c, i, msg):
    c.send(ws_frame(WS_BINARY, msg) if i % 2 else msg)


def check_echo(c, i, msg):
    if i % 2:
        got = c.read_frame()
        assert got == (True, WS_BINARY, msg, False), "tunnel %d: %r" % (i, got)
    else:
        got = c.take(len(msg))
        assert got == msg, "tunnel %d: %r" % (i, got)


def echo_all(conns, tag):
    for i, c in enumerate(conns):
        send_msg(c, i, b"%s %d" % (tag, i))
    for i, c in enumerate(conns):
        check_echo(c, i, b"%s %d" % (tag, i))


def test_1000_concurrent_tunnels_two_workers(sy):
    b = sy.backend("-q")
    d = sy.daemon()
    d.start(proxy_config(d, [b.port], workers=2, upgrades=FOO,
                         top={"worker_connections": 4096}))
    workers = d.worker_pids()
    assert len(workers) == 2
    base = {p: fd_count(p) for p in workers}
    n = 1000
    t0 = time.monotonic()
    conns = open_tunnels(d.port, n, b"hello")
    try:
        echo_all(conns, b"second")
        elapsed = time.monotonic() - t0
        s = d.stats()
        assert s[P + "downstream_cx_upgrades_active"] == n
        assert s[P + "upgrades.websocket.active"] == n // 2
        assert s[P + "upgrades.foo.active"] == n // 2
        assert s[C + "upstream_cx_active"] == n
        owners = server_conn_owner_counts(workers, d.port)
        assert sum(owners.values()) == n, owners
        assert all(fd_count(p) > base[p] for p in workers if owners[p])
    finally:
        for c in conns:
            c.close()
    wait_upgrades_idle(d, types=["websocket", "foo"], timeout=20)
    wait_until(lambda: all(fd_count(p) == base[p] for p in workers), timeout=20,
               what="worker descriptors back to %r" % base)
    d.wait_stat(C + "upstream_cx_active", lambda v: v == 0)
    s = d.stats()
    assert s[P + "downstream_cx_upgrades_total"] == n
    assert s[C + "upstream_cx_total"] == n
    figure("tunnels", "%d concurrent tunnels over 2 workers %r, all echoes checked in %.2f s"
           % (n, sorted(owners.values()), elapsed))


# ----------------------------------------------------------------- reload --

def gen_config(d, port, gen):
    hm = {"name": "header_mutation",
          "request_headers_to_add": [{"name": "x-generation", "value": str(gen)}]}
    return proxy_config(d, [port], workers=2, upgrades=FOO,
                        http={"http_filters": [hm, {"name": "router"}]},
                        top={"drain_timeout": "2s"})


def test_reload_with_100_open_tunnels(sy):
    """SIGHUP with 100 tunnels open: they keep echoing after `reload ok`
    and are closed only when drain_timeout (2 s) expires; new connections
    go to generation 2 (its header_mutation marks the requests)."""
    b = sy.backend("-q")
    d = sy.daemon()
    d.start(gen_config(d, b.port, 1))
    old_workers = d.worker_pids()
    r = get(d.port, "/echo-headers")
    assert "x-generation: 1\n" in r.body.decode()
    conns = open_tunnels(d.port, 100, b"gen1")
    new = None
    try:
        d.write_config(gen_config(d, b.port, 2))
        m = d.mark()
        t_hup = time.monotonic()
        d.signal(signal.SIGHUP)
        d.wait_log(r"reload ok: generation 2\b", since=m)
        d.wait_log(r"worker \d+ started: pid \d+ generation 2\b", count=2, since=m)
        # Old tunnels still work after the reload.
        echo_all(conns, b"after reload")
        # New connections reach generation 2.
        r = get(d.port, "/echo-headers")
        assert "x-generation: 2\n" in r.body.decode(), r.body
        new = open_tunnels(d.port, 2, b"gen2")
        # Through most of the drain period the old tunnels keep echoing;
        # between rounds, watch them for an early close.
        rounds = 0
        while time.monotonic() - t_hup < 1.6 and rounds < 100:
            rounds += 1
            echo_all(conns, b"draining %d" % rounds)
            early, _, _ = select.select([c.sock for c in conns], [], [], 0.1)
            assert not early, "%d old tunnels readable (closed?) %.2f s after SIGHUP" % (
                len(early), time.monotonic() - t_hup)
        # The old tunnels end when drain_timeout expires, not before.
        open_now = list(range(len(conns)))
        closed_at = {}
        deadline = time.monotonic() + 15
        while open_now and time.monotonic() < deadline:
            socks = {conns[i].sock: i for i in open_now}
            r_ready, _, _ = select.select(list(socks), [], [], 0.2)
            for sk in r_ready:
                i = socks[sk]
                if conns[i].wait_closed(0.01):
                    closed_at[i] = time.monotonic() - t_hup
                    open_now.remove(i)
        assert not open_now, "%d old tunnels still open 15 s after the reload" % len(open_now)
        first = min(closed_at.values())
        assert first >= 1.8, "an old tunnel closed %.2f s after SIGHUP, before drain_timeout " \
                             "(2 s)" % first
        wait_until(lambda: not any(pid_alive(p) for p in old_workers),
                   what="old workers to exit")
        # The new generation's tunnels are untouched.
        echo_all(new, b"still there")
        assert d.stat(P + "downstream_cx_upgrades_active") == 2
        assert d.stat(P + "downstream_cx_drain_close") >= 100
        figure("reload", "100 tunnels closed %.2f-%.2f s after SIGHUP (drain_timeout 2 s)"
               % (first, max(closed_at.values())))
    finally:
        for c in conns + (new or []):
            c.close()
    wait_upgrades_idle(d, types=["websocket", "foo"])
