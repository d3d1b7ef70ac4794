"""test_46_h2_edges - HTTP/2 edge behaviours of issue 4 not covered by
test_20_h2 and test_45_h2_upgrade.

* toward an HTTP/2 cluster (python3-h2 upstream, h2lib.H2Server): GOAWAY
  after a response and a TCP close between requests are followed by a new
  connection and no client error; RST_STREAM(REFUSED_STREAM) before any
  response is retried exactly once; a slow upstream (small window, no
  WINDOW_UPDATE) stops switchyard reading a 20 MB HTTP/1.1 request body,
  with the worker's memory bounded, and the body arrives intact later.
* upgrade responses with a body indication across an HTTP/2 hop are a
  502: a 200 with content-length and DATA from an HTTP/2 upstream, a 101
  with Content-Length from an HTTP/1.1 app behind an h2c listener.
* tunnel closure across versions: a TCP reset from the app becomes
  RST_STREAM(CONNECT_ERROR) on that stream only, a FIN becomes
  END_STREAM, a client's RST_STREAM closes the app's connection; and the
  other way, an HTTP/2 upstream's RST_STREAM closes the HTTP/1.1 client's
  connection while its END_STREAM becomes a FIN with the client still
  able to send.
* draining: SIGHUP sends GOAWAY(NO_ERROR) to an HTTP/2 client with an open
  tunnel, the tunnel keeps working until drain_timeout, and new
  connections reach the new generation.
* codec_type "auto" with allow_connect takes extended CONNECT over h2c.

Nothing sleeps: every wait is on a counter, a log line or a socket.
"""

import hashlib
import json
import random
import signal
import socket
import struct
import threading
import time

import pytest

import h2.errors

import sylib
from h2lib import H2Client, H2Closed, H2Server, h2_options
from sylib import (HttpConn, RawServer, TunnelConn, cluster, head_value, parse_head,
                   proxy_config, proxy_route, request, route, upgrade_request, wait_until,
                   wait_upgrades_idle, ws_accept, ws_request, ws_upgrade_echo_handler)

P = "http.ingress_http."
C = "cluster.app."
CH2 = C + "http2."
MIB = 1024 * 1024
CANCEL = h2.errors.ErrorCodes.CANCEL
CONNECT_ERROR = h2.errors.ErrorCodes.CONNECT_ERROR
REFUSED_STREAM = h2.errors.ErrorCodes.REFUSED_STREAM
UPGRADES = {"websocket": True, "foo": True}


# ------------------------------------------------------------ set-ups ---

def h1_to_h2(sy, srv, workers=1):
    """An HTTP/1.1 listener proxying to cluster "app", which speaks h2c to
    the python-h2 server srv.  One worker: one shared upstream session."""
    d = sy.daemon()
    d.start(proxy_config(d, None, workers=workers, upgrades=UPGRADES,
                         http={"codec_type": "http1"},
                         clusters=[cluster("app", [srv.port], protocol="http2",
                                           http2_protocol_options=h2_options())]))
    return d


def h2_to_h1(sy, app_port, codec="http2", allow_connect=True, workers=1, routes=None,
             top=None):
    """An h2c listener (codec as given, allow_connect as given) proxying to
    an HTTP/1.1 cluster "app" on app_port."""
    d = sy.daemon()
    d.start(h2_to_h1_config(d, app_port, codec, allow_connect, workers, routes, top))
    return d


def h2_to_h1_config(d, app_port, codec="http2", allow_connect=True, workers=1, routes=None,
                    top=None):
    return proxy_config(d, [app_port], workers=workers, upgrades=UPGRADES, routes=routes,
                        top=top, http={"codec_type": codec,
                                       "http2_protocol_options": h2_options(allow_connect)})


def proc_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))


def asan_build(pid):
    try:
        with open("/proc/%d/maps" % pid) as f:
            return "libasan" in f.read()
    except OSError:
        return False


def body_of(r):
    return json.loads(r.body.decode())


def open_tunnel(c, path, protocol="foo"):
    """An extended CONNECT tunnel on the H2Client c, accepted (200)."""
    sid = c.extended_connect(path, protocol=protocol, extra=())
    s = c.wait_headers(sid)
    assert s.status == 200 and s.reset is None, s
    return sid


def echo(c, sid, data):
    """data through the tunnel sid and back, exactly."""
    s = c.streams[sid]
    start = len(s.data)
    c.send_data(sid, data)
    c.wait(lambda: len(s.data) >= start + len(data) or s.closed,
           what="the echo of %r on stream %d" % (data[:20], sid))
    got = bytes(s.data[start:start + len(data)])
    assert got == data, "stream %d echoed %r for %r (%r)" % (sid, got, data, s)


# ======================================== toward an HTTP/2 cluster ======

def test_upstream_goaway_then_new_connection(sy):
    """The upstream answers the first request on a connection and, in the
    same write, sends GOAWAY(NO_ERROR, last_stream_id = that stream).  The
    next request goes out on a new connection (upstream_cx_http2_total
    1 -> 2), switchyard closes each connection that went away once its
    streams are done, and no client sees an error."""
    srv = sy.upstream(H2Server(goaway_after=1))
    d = h1_to_h2(sy, srv)
    with HttpConn(port=d.port, timeout=10) as c:
        r1 = c.roundtrip(request("GET", "/first"))
        assert r1.status == 200, r1
        assert (body_of(r1)["conn"], body_of(r1)["stream"]) == (0, 1), r1
        assert srv.goaways == [(0, 1)]
        assert d.stat(C + "upstream_cx_http2_total") == 1
        r2 = c.roundtrip(request("GET", "/second"))
        assert r2.status == 200, r2
        assert (body_of(r2)["conn"], body_of(r2)["stream"]) == (1, 1), r2
        assert not r2.conn_close, r2
    # Both connections went away (goaway_after applies to each) and were
    # closed by switchyard, not by the server.
    wait_until(lambda: srv.conn_ends == {0: "eof", 1: "eof"},
               what="switchyard to close the upstream connections after GOAWAY")
    assert srv.goaways == [(0, 1), (1, 1)]
    assert [(q["conn"], q["stream"], q["path"]) for q in srv.requests] == \
        [(0, 1, "/first"), (1, 1, "/second")]
    assert srv.late_bytes == 0, "frames sent on a connection after its GOAWAY"
    d.wait_stat(C + "upstream_cx_active", lambda v: v == 0)
    st = d.stats()
    assert st[C + "upstream_cx_http2_total"] == 2
    assert st[C + "upstream_cx_total"] == 2
    assert st[C + "upstream_rq_total"] == 2
    assert st[C + "upstream_rq_2xx"] == 2
    assert st[P + "downstream_rq_2xx"] == 2
    assert st[P + "downstream_rq_5xx"] == 0


@pytest.mark.parametrize("how", ["rst", "fin"])
def test_upstream_closes_tcp_between_requests(sy, how):
    """The upstream drops the TCP connection (a reset, or a plain close)
    with no GOAWAY between two requests: the next request is served on a
    new connection."""
    srv = sy.upstream(H2Server())
    d = h1_to_h2(sy, srv)
    with HttpConn(port=d.port, timeout=10) as c:
        r1 = c.roundtrip(request("GET", "/before"))
        assert r1.status == 200 and body_of(r1)["conn"] == 0, r1
        assert srv.abort_connections(how) == [0]
        # switchyard noticed: the dead session is gone.
        d.wait_stat(C + "upstream_cx_active", lambda v: v == 0)
        r2 = c.roundtrip(request("GET", "/after"))
        assert r2.status == 200, r2
        assert (body_of(r2)["conn"], body_of(r2)["stream"]) == (1, 1), r2
    st = d.stats()
    assert st[C + "upstream_cx_http2_total"] == 2
    assert st[C + "upstream_rq_total"] == 2
    assert st[P + "downstream_rq_2xx"] == 2
    assert st[P + "downstream_rq_5xx"] == 0


def test_refused_stream_retried_once(sy):
    """RST_STREAM(REFUSED_STREAM) before any response: switchyard sends the
    request once more and the client gets the answer of that retry."""
    srv = sy.upstream(H2Server(refuse=1))
    d = h1_to_h2(sy, srv)
    with HttpConn(port=d.port, timeout=10) as c:
        r = c.roundtrip(request("GET", "/refused-once", headers=[("X-Mark", "m1")]))
        assert r.status == 200, r
    assert len(srv.requests) == 2, srv.requests
    first, retry = srv.requests
    assert first.get("refused") is True and retry.get("refused") is None
    assert first["path"] == retry["path"] == "/refused-once"
    assert dict(retry["headers"]).get("x-mark") == "m1"
    j = body_of(r)
    assert (j["conn"], j["stream"]) == (retry["conn"], retry["stream"]), (j, retry)
    st = d.stats()
    assert st[CH2 + "rx_reset"] == 1
    assert st[C + "upstream_rq_2xx"] == 1
    assert st[P + "downstream_rq_2xx"] == 1
    assert st[P + "downstream_rq_5xx"] == 0


def test_refused_stream_twice_is_502(sy):
    """Only one retry: refused twice, the client gets 502 and the upstream
    saw exactly two attempts."""
    srv = sy.upstream(H2Server(refuse=2))
    d = h1_to_h2(sy, srv)
    with HttpConn(port=d.port, timeout=10) as c:
        r = c.roundtrip(request("GET", "/refused-twice"))
        assert r.status == 502, r
    # The upstream serves again once it stops refusing.
    with HttpConn(port=d.port, timeout=10) as c:
        r = c.roundtrip(request("GET", "/third"))
        assert r.status == 200, r
    assert [(q["path"], q.get("refused")) for q in srv.requests] == \
        [("/refused-twice", True), ("/refused-twice", True), ("/third", None)]
    st = d.stats()
    assert st[CH2 + "rx_reset"] == 2
    assert st[P + "downstream_rq_5xx"] == 1


def test_slow_h2_upstream_backpressure_20mb_post(sy):
    """An HTTP/1.1 client POSTs 20 MB toward an HTTP/2 upstream that
    advertises a 16 KiB stream window and sends no WINDOW_UPDATE: switchyard
    stops reading the client (its rx stalls far below 20 MB, the client's
    send blocks), the worker's RSS stays bounded; once the upstream opens
    its window every byte arrives, intact."""
    size = 20 * 1000 * 1000
    body = random.Random(46).randbytes(size)
    digest = hashlib.sha256(body).hexdigest()
    hold = threading.Event()
    srv = sy.upstream(H2Server(initial_window=16384, window_hold=hold))
    d = h1_to_h2(sy, srv)
    # Warm the worker up (upstream session, buffers) before the mark.
    with HttpConn(port=d.port, timeout=10) as c:
        assert c.roundtrip(request("GET", "/warm-up")).status == 200
    pids = d.worker_pids()
    assert len(pids) == 1, pids
    pid = pids[0]
    asan = asan_build(pid)
    rss0 = proc_kb(pid, "VmRSS")
    try:    # Linux >= 4.0: "5" resets VmHWM to the current RSS
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
    except OSError:
        pass
    rx = P + "downstream_cx_rx_bytes_total"
    rx0 = d.stat(rx)
    progress = {"sent": 0, "error": None, "resp": None}
    stop = sy.stop_event()

    conn = HttpConn(port=d.port, timeout=60)

    def client():
        try:
            conn.send(request("POST", "/upload", content_length=size,
                              headers=[("Content-Type", "application/octet-stream")]))
            step = 64 * 1024
            for off in range(0, size, step):
                if stop.is_set():
                    return
                conn.send(body[off:off + step])
                progress["sent"] = off + len(body[off:off + step])
            progress["resp"] = conn.read_response()
        except Exception as e:  # noqa: BLE001 - asserted below
            progress["error"] = e

    t = threading.Thread(target=client, daemon=True)
    t.start()
    try:
        last = {"v": -1, "t": time.monotonic()}

        def stalled():
            v = d.stat(rx) - rx0
            now = time.monotonic()
            if v != last["v"]:
                last["v"], last["t"] = v, now
                return False
            return v > 0 and now - last["t"] >= 0.3
        wait_until(stalled, timeout=20, what="switchyard to stop reading the client")
        assert progress["error"] is None, progress
        got_rx = last["v"]
        assert got_rx < 8 * MIB, "switchyard read %d bytes of a body its upstream does not " \
            "take" % got_rx
        assert progress["sent"] < size, "the client could send all 20 MB: no back-pressure"
        rec = srv.wait_requests(2)
        assert rec["path"] == "/upload", rec["headers"]
        # Without WINDOW_UPDATE the upstream cannot have more than the
        # connection's initial window (65535).
        assert len(rec["body"]) <= 65535, len(rec["body"])
        hwm = proc_kb(pid, "VmHWM")
        growth = (max(hwm, proc_kb(pid, "VmRSS")) - rss0) / 1024.0
        limit = 8 + (256 if asan else 0)
        assert growth < limit, "worker RSS grew %.1f MiB while the upstream stalled" % growth
        sylib.figure("h2 edges", "slow h2 upstream: client rx stalled at %d bytes (client sent "
                     "%d of %d), worker RSS +%.1f MiB" % (got_rx, progress["sent"], size, growth))
        hold.set()
        t.join(60)
        assert not t.is_alive(), "the POST did not finish after the window opened (%d sent)" \
            % progress["sent"]
    finally:
        hold.set()
        stop.set()
        t.join(10)
        conn.close()
    assert progress["error"] is None, progress
    r = progress["resp"]
    assert r.status == 200, r
    assert body_of(r)["body_len"] == size, r
    rec = srv.requests[1]
    assert rec["path"] == "/upload" and rec["ended"], rec["headers"]
    assert len(rec["body"]) == size
    assert hashlib.sha256(bytes(rec["body"])).hexdigest() == digest, "20 MB body corrupted"
    st = d.stats()
    assert st[P + "downstream_cx_rx_bytes_total"] - rx0 >= size
    assert st[C + "upstream_cx_http2_total"] == 1


# ============================== upgrade responses with a body: 502 ======

@pytest.mark.parametrize("token", ["websocket", "foo"])
def test_h2_upstream_200_with_body_to_extended_connect_502(sy, token):
    """The HTTP/2 upstream accepts the extended CONNECT with a 200 that
    says a body follows (transfer-encoding: chunked) and sends DATA.  An
    upgrade response with a body cannot cross the hop: the HTTP/1.1 client
    gets 502 and nothing tunnels."""
    srv = sy.upstream(H2Server(connect_response_headers=[("transfer-encoding", "chunked")],
                               connect_response_data=b"hello"))
    d = h1_to_h2(sy, srv)
    with TunnelConn(port=d.port, timeout=10) as c:
        req = ws_request("/cl") if token == "websocket" else upgrade_request("foo", "/cl")
        c.send(req)
        r = c.read_response()
        assert r.status == 502, "%r (then %r)" % (r, c.buf[:80])
        assert c.wait_closed(), "no close after the 502"
    assert [q["method"] for q in srv.requests] == ["CONNECT"]
    st = d.stats()
    assert st[P + "downstream_cx_upgrades_total"] == 0
    assert st[P + "upgrades.%s.total" % token] == 0
    assert st[P + "upgrades.%s.failed" % token] == 1
    wait_upgrades_idle(d, types=[token])


def test_h2_upstream_200_content_length_to_connect_is_ignored(sy):
    """RFC 9110 9.3.6: a client MUST ignore Content-Length in a 2xx answer
    to CONNECT, and nghttp2 removes it before switchyard sees the head, so
    this one body indication cannot be refused: the 200 opens the tunnel
    and the DATA that follows is tunnel payload (documented in
    switchyard.conf(5))."""
    srv = sy.upstream(H2Server(connect_response_headers=[("content-length", "5")],
                               connect_response_data=b"hello"))
    d = h1_to_h2(sy, srv)
    with TunnelConn(port=d.port, timeout=10) as c:
        c.send(upgrade_request("foo", "/cl"))
        r = c.read_response()
        assert r.status == 101, "%r (then %r)" % (r, c.buf[:80])
        assert c._take(5) == b"hello"
    st = d.stats()
    assert st[P + "downstream_cx_upgrades_total"] == 1


@pytest.mark.parametrize("token", ["websocket", "foo"])
def test_h1_app_101_with_content_length_behind_h2_listener_502(sy, token):
    """An HTTP/1.1 app answers the (translated) extended CONNECT with a 101
    carrying Content-Length: 5: the HTTP/2 client gets :status 502 and no
    tunnel."""
    def app(conn):
        head = conn.read_head()
        conn.request_head = head
        _, hdrs = parse_head(head)
        extra = ""
        if token == "websocket":
            key = head_value(hdrs, "sec-websocket-key")
            extra = "Sec-WebSocket-Accept: %s\r\n" % ws_accept(key)
        conn.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: %s\r\nConnection: Upgrade\r\n"
                   "%sContent-Length: 5\r\n\r\nhello" % (token, extra)).encode())
        conn.read_until_eof()

    srv = sy.upstream(RawServer(app))
    d = h2_to_h1(sy, srv.port, routes=[route(path="/direct", body="direct\n"),
                                       proxy_route("app")])
    with H2Client(d.port) as c:
        assert c.peer_allows_connect_protocol()
        extra = [("sec-websocket-version", "13")] if token == "websocket" else []
        sid = c.extended_connect("/cl101", protocol=token, extra=extra)
        s = c.wait_headers(sid)
        assert s.status == 502, s
        c.wait_end(sid)
        assert s.ended, "the 502 did not end with END_STREAM: %r" % (s,)
        # Only that stream: the connection carries on.
        s2 = c.fetch("GET", "/direct")
        assert (s2.status, bytes(s2.data)) == (200, b"direct\n"), s2
        assert c.goaway is None
    line, _ = parse_head(srv.wait_conns(1).request_head)
    assert line == "GET /cl101 HTTP/1.1", line
    st = d.stats()
    assert st[P + "downstream_cx_upgrades_total"] == 0
    assert st[P + "upgrades.%s.total" % token] == 0
    assert st[P + "upgrades.%s.failed" % token] == 1
    wait_upgrades_idle(d, types=[token])


# ==================================================== tunnel closure ======

def control_app(conn):
    """An HTTP/1.1 upgrade app: 101 Upgrade: foo, then echo.  "!rst" ends
    the connection with a TCP reset, "!fin" with a FIN (what the client
    sends afterwards is kept in conn.after); otherwise it echoes until the
    client's FIN, then closes.  conn.how says which."""
    head = conn.read_head()
    conn.request_head = head
    conn.path = parse_head(head)[0].split(" ")[1]
    conn.after = b""
    conn.how = None
    conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n")
    pending = conn.buf
    conn.buf = b""
    while True:
        for cmd in (b"!rst", b"!fin"):
            if cmd in pending:
                before = pending.split(cmd, 1)[0]
                if before:
                    conn.send(before)
                if cmd == b"!rst":
                    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                         struct.pack("ii", 1, 0))
                    conn.how = "rst"
                    return      # RawServer closes the socket: a reset
                conn.shutdown_write()
                conn.how = "fin"
                conn.after = conn.read_until_eof()
                return
        if pending:
            conn.send(pending)
        try:
            conn._fill()
        except sylib.PeerClosed:
            conn.how = "eof"
            conn.shutdown_write()
            return
        pending = conn.buf
        conn.buf = b""


def app_conn(app, path):
    return wait_until(lambda: next((x for x in app.conns if getattr(x, "path", None) == path),
                                   None), what="the app's connection for %s" % path)


def two_tunnels(sy):
    app = sy.upstream(RawServer(control_app))
    d = h2_to_h1(sy, app.port)
    c = H2Client(d.port)
    assert c.peer_allows_connect_protocol()
    t1 = open_tunnel(c, "/one")
    t2 = open_tunnel(c, "/two")
    echo(c, t1, b"one says hi")
    echo(c, t2, b"two says hi")
    d.wait_stat(P + "downstream_cx_upgrades_active", lambda v: v == 2)
    return app, d, c, t1, t2


def close_tunnel(c, sid, app, path):
    """Client END_STREAM; the app sees EOF and closes; END_STREAM back."""
    c.end_stream(sid)
    s = c.wait_end(sid)
    assert s.ended and s.reset is None, s
    conn = app_conn(app, path)
    assert conn.done.wait(10)
    assert conn.how == "eof", conn.how


def test_app_tcp_reset_is_connect_error_on_that_stream_only(sy):
    """The HTTP/1.1 app resets its TCP connection mid-tunnel: that stream
    gets RST_STREAM(CONNECT_ERROR); the other tunnel on the same HTTP/2
    connection keeps echoing."""
    app, d, c, t1, t2 = two_tunnels(sy)
    with c:
        # (After a reset, bytes in flight may be lost: none are sent.)
        c.send_data(t1, b"!rst")
        s = c.wait_reset(t1)
        assert s.reset == CONNECT_ERROR, "stream %d ended with %r, want RST_STREAM(" \
            "CONNECT_ERROR)" % (t1, s)
        assert bytes(s.data) == b"one says hi", s
        assert app_conn(app, "/one").how == "rst"
        d.wait_stat(P + "downstream_cx_upgrades_active", lambda v: v == 1)
        echo(c, t2, b"two is still here")
        assert c.streams[t2].closed is False
        assert c.goaway is None and not c.eof
        close_tunnel(c, t2, app, "/two")
    wait_upgrades_idle(d, types=["foo"])
    st = d.stats()
    assert st[P + "downstream_cx_upgrades_total"] == 2
    assert st[P + "http2.tx_reset"] == 1
    assert st[P + "downstream_cx_http2_total"] == 1


def test_app_fin_is_end_stream(sy):
    """The app closes cleanly (FIN): the client gets END_STREAM, not a
    reset, and may still send on its side until it ends it."""
    app, d, c, t1, t2 = two_tunnels(sy)
    with c:
        c.send_data(t1, b"bye!fin")
        s = c.wait_end(t1)
        assert s.ended and s.reset is None, "stream %d: %r, want END_STREAM" % (t1, s)
        assert bytes(s.data) == b"one says hibye", s
        # Half-closed: the client's direction still reaches the app.
        c.send_data(t1, b"after your FIN")
        c.end_stream(t1)
        conn = app_conn(app, "/one")
        assert conn.done.wait(10)
        assert (conn.how, conn.after) == ("fin", b"after your FIN")
        assert c.streams[t1].reset is None, c.streams[t1]
        echo(c, t2, b"two unaffected")
        close_tunnel(c, t2, app, "/two")
        assert c.goaway is None
    wait_upgrades_idle(d, types=["foo"])
    st = d.stats()
    assert st[P + "http2.tx_reset"] == 0
    assert st[P + "downstream_cx_upgrades_total"] == 2


def test_client_rst_stream_closes_app_connection(sy):
    """RST_STREAM(CANCEL) from the client on one tunnel: the app sees its
    connection closed; the active count drops to the tunnels left."""
    app, d, c, t1, t2 = two_tunnels(sy)
    with c:
        c.reset_stream(t1, CANCEL)
        conn = app_conn(app, "/one")
        assert conn.eof.wait(10), "the app's connection was not closed after RST_STREAM"
        assert conn.done.wait(10)
        d.wait_stat(P + "downstream_cx_upgrades_active", lambda v: v == 1)
        assert d.stat(P + "upgrades.foo.active") == 1
        echo(c, t2, b"two unaffected")
        close_tunnel(c, t2, app, "/two")
        assert c.goaway is None
    wait_upgrades_idle(d, types=["foo"])
    st = d.stats()
    assert st[P + "http2.rx_reset"] == 1
    assert st[P + "downstream_cx_upgrades_total"] == 2


def test_h2_upstream_rst_stream_closes_h1_client(sy):
    """HTTP/1.1 client -> switchyard -> HTTP/2 upstream tunnel: the
    upstream resets the stream (CANCEL) mid-tunnel, the client's connection
    is closed; a second tunnel on the same upstream connection is
    untouched."""
    srv = sy.upstream(H2Server(tunnel_control=True))
    d = h1_to_h2(sy, srv)
    with TunnelConn(port=d.port, timeout=10) as a, TunnelConn(port=d.port, timeout=10) as b:
        a.upgrade("foo", "/a")
        b.upgrade("foo", "/b")
        a.send(b"hello a")
        assert a.take(7) == b"hello a"
        b.send(b"hello b")
        assert b.take(7) == b"hello b"
        a.send(b"!reset")
        assert a.wait_closed(10), "the client's connection stayed open after RST_STREAM"
        assert a.buf == b"", a.buf
        d.wait_stat(P + "downstream_cx_upgrades_active", lambda v: v == 1)
        b.send(b"b still works")
        assert b.take(13) == b"b still works"
        b.shutdown_write()
        assert b.read_until_eof() == b""
    recs = {q["path"]: q for q in srv.connects()}
    assert recs["/a"].get("server_reset") is True
    assert recs["/b"]["client_ended"] and recs["/b"]["reset"] is None
    wait_upgrades_idle(d, types=["foo"])
    st = d.stats()
    assert st[C + "upstream_cx_http2_total"] == 1 and srv.connections == 1
    assert st[CH2 + "rx_reset"] == 1
    assert st[P + "downstream_cx_upgrades_total"] == 2


def test_h2_upstream_end_stream_is_fin_h1_client_half_close(sy):
    """The HTTP/2 upstream ends its side (END_STREAM): the HTTP/1.1 client
    sees a FIN after every byte, can still send, and its own FIN becomes
    END_STREAM toward the upstream."""
    srv = sy.upstream(H2Server(tunnel_control=True))
    d = h1_to_h2(sy, srv)
    with TunnelConn(port=d.port, timeout=10) as c:
        c.upgrade("foo", "/half")
        c.send(b"abc!end")
        assert c.read_until_eof() == b"abc"
        rec = srv.connects()[0]
        c.send(b"more after your FIN")
        wait_until(lambda: bytes(rec.get("after_end", b"")) == b"more after your FIN",
                   what="the client's bytes after the upstream's END_STREAM (got %r)"
                   % bytes(rec.get("after_end", b"")))
        assert not rec["client_ended"] and rec["reset"] is None
        c.shutdown_write()
        wait_until(lambda: rec["client_ended"] or rec["reset"] is not None,
                   what="END_STREAM from switchyard after the client's FIN")
        assert rec["client_ended"] and rec["reset"] is None, rec
        assert c.wait_closed(10)
    wait_upgrades_idle(d, types=["foo"])
    assert d.stat(CH2 + "tx_reset") == 0


# ========================================================== draining ======

def test_reload_sends_goaway_tunnel_lives_until_drain_timeout(sy):
    """SIGHUP while an HTTP/2 client holds an idle extended-CONNECT tunnel:
    the client gets GOAWAY(NO_ERROR, last stream = the tunnel's), the
    tunnel keeps echoing until drain_timeout closes it, and a new
    connection is served by the new generation."""
    drain = 2.0
    app = sy.upstream(RawServer(control_app))
    d = sy.daemon()

    def cfg(body):
        return h2_to_h1_config(d, app.port, routes=[route(path="/gen", body=body),
                                                    proxy_route("app")],
                               top={"drain_timeout": "%ds" % drain})
    d.start(cfg("v1\n"))
    old = d.worker_pids()
    with H2Client(d.port, timeout=15, survive_goaway=True) as c:
        assert c.fetch("GET", "/gen").data == b"v1\n"
        sid = open_tunnel(c, "/one")
        echo(c, sid, b"before the reload")
        d.write_config(cfg("v2\n"))
        m = d.mark()
        t_hup = time.monotonic()
        d.signal(signal.SIGHUP)
        d.wait_log(r"reload ok: generation 2\b", since=m)
        c.wait(lambda: c.goaway is not None, what="GOAWAY after SIGHUP")
        assert c.goaway.error_code == h2.errors.ErrorCodes.NO_ERROR, c.goaway
        assert c.goaway.last_stream_id == sid, c.goaway
        echo(c, sid, b"after the GOAWAY")
        # New connections reach the new generation.
        with H2Client(d.port) as c2:
            s = c2.fetch("GET", "/gen")
            assert (s.status, bytes(s.data)) == (200, b"v2\n"), s
        # The tunnel echoes until the drain timeout ends it.
        n, last_ok = 0, None
        deadline = time.monotonic() + drain + 10
        while time.monotonic() < deadline:
            try:
                echo(c, sid, b"ping %d" % n)
            except (H2Closed, AssertionError, OSError):
                break
            last_ok = time.monotonic()
            n += 1
            try:
                c.wait(lambda: False, timeout=0.1)
            except sylib.Timeout:
                pass
            except H2Closed:
                break
        t_end = time.monotonic()
        sylib.figure("h2 edges", "drain: %d echoes after GOAWAY, last %.2fs after SIGHUP, "
                     "closed %.2fs after SIGHUP (drain_timeout %.1fs)" % (
                         n, (last_ok or t_hup) - t_hup, t_end - t_hup, drain))
        assert last_ok is not None and last_ok - t_hup >= drain * 0.75, \
            "the tunnel stopped %.2fs after SIGHUP, before drain_timeout (%.1fs)" % (
                (last_ok or t_hup) - t_hup, drain)
        assert t_end - t_hup < drain + 10, "the tunnel outlived drain_timeout"
        c.wait(lambda: c.eof or c.streams[sid].closed, timeout=5,
               what="the end of the tunnel at drain_timeout")
    d.wait_log(r"drain_timeout expired: closing 1 connections")
    assert app_conn(app, "/one").done.wait(10)
    wait_until(lambda: not any(sylib.pid_alive(p) for p in old),
               what="the old generation's worker to exit")
    assert d.stat(P + "downstream_cx_upgrades_active") == 0


# ============================================ codec_type auto, h2c ======

def test_codec_auto_accepts_extended_connect(sy):
    """codec_type "auto" with allow_connect: an h2c prior-knowledge client
    is offered SETTINGS_ENABLE_CONNECT_PROTOCOL and opens a tunnel; an
    HTTP/1.1 upgrade on the same port still works."""
    app = sy.upstream(RawServer(ws_upgrade_echo_handler))
    d = h2_to_h1(sy, app.port, codec="auto")
    with H2Client(d.port) as c:
        assert c.peer_allows_connect_protocol()
        sid = open_tunnel(c, "/auto-h2")
        echo(c, sid, b"over h2c on an auto listener")
        c.end_stream(sid)
        s = c.wait_end(sid)
        assert s.ended and s.reset is None, s
    with TunnelConn(port=d.port, timeout=10) as t:
        t.upgrade("foo", "/auto-h1")
        t.send(b"over http/1.1")
        t.shutdown_write()
        assert t.read_until_eof() == b"over http/1.1"
    lines = sorted(parse_head(x.request_head)[0] for x in app.conns)
    assert lines == ["GET /auto-h1 HTTP/1.1", "GET /auto-h2 HTTP/1.1"], lines
    wait_upgrades_idle(d, types=["foo"])
    st = d.stats()
    assert st[P + "downstream_cx_http2_total"] == 1
    assert st[P + "downstream_cx_http1_total"] == 1
    assert st[P + "downstream_cx_upgrades_total"] == 2
    assert st[P + "upgrades.foo.total"] == 2
