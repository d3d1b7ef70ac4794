"""test_20_h2 - plain HTTP/2 (h2c) on both sides of switchyard.

Independent clients: nghttp (nghttp2-client), curl --http2-prior-knowledge,
Node's built-in http2 module (tools/h2-request.js) and python3-h2
(h2lib.H2Client).  Upstreams: our sy-backend over HTTP/1.1, and over
HTTP/2 a second switchyard instance and a python3-h2 server
(h2lib.H2Server).  Covers codec_type http2 (prior knowledge) and auto
(HTTP/1.1 and h2c on one port), request bodies across flow control,
:authority/host disagreement (400), cookie crumbs joined for HTTP/1.1, one
shared HTTP/2 connection per cluster endpoint, and the HTTP/2 counters.
Nothing sleeps: every wait is on a counter, a log line or a socket.
"""

import base64
import json
import os
import re
import subprocess

from h2lib import (H2Client, H2Server, curl_or_skip, h2_options, nghttp_or_skip, run_node)
from sylib import (HttpConn, RawServer, cluster, get, proxy_config, proxy_route, request,
                   route)

P = "http.ingress_http."
C = "cluster.app."


def echo_lines(body):
    """sy-backend's /echo-headers body: (request line, [(lower name, value)])."""
    lines = body.decode("latin-1").split("\n")
    hdrs = []
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            hdrs.append((k.strip().lower(), v.strip()))
    return lines[0], hdrs


def curl(args, timeout=20):
    r = subprocess.run([curl_or_skip(), "-sS", "-i", "--max-time", "10"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode("latin-1")


def nghttp(args, timeout=20):
    r = subprocess.run([nghttp_or_skip(), "-v", "-t", "10"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode("latin-1")


def nghttp_status(out):
    m = re.findall(r"recv \(stream_id=\d+\) :status: (\d+)", out)
    return [int(x) for x in m]


def h2_listener(sy, routes=None, upstream_port=None, workers=2, **http):
    """A daemon whose listener speaks prior-knowledge h2c (codec_type
    http2 unless given): direct responses, or a proxy to upstream_port."""
    http.setdefault("codec_type", "http2")
    d = sy.daemon()
    if upstream_port is None:
        d.start(d.config(routes=routes, http=http, workers=workers))
    else:
        d.start(proxy_config(d, [upstream_port], routes=routes, http=http, workers=workers))
    return d


# -------------------------------------------------- direct responses -----

def test_nghttp_direct_response(sy):
    d = h2_listener(sy, routes=[route(path="/hello", body="hello over h2\n"),
                                route(prefix="/", status=404, body="nope\n")])
    rc, out = nghttp(["http://127.0.0.1:%d/hello" % d.port])
    assert rc == 0, out
    assert nghttp_status(out) == [200], out
    assert "hello over h2\n" in out
    # allow_connect defaults to false: no ENABLE_CONNECT_PROTOCOL=1 offered.
    assert "SETTINGS_ENABLE_CONNECT_PROTOCOL(0x08):1" not in out, out
    rc, out = nghttp(["http://127.0.0.1:%d/other" % d.port])
    assert rc == 0 and nghttp_status(out) == [404], out
    d.wait_stat(P + "downstream_cx_http2_active", lambda v: v == 0)
    s = d.stats()
    assert s[P + "downstream_cx_http2_total"] == 2
    assert s[P + "downstream_rq_http2_total"] == 2
    assert s[P + "downstream_cx_http1_total"] == 0
    assert s[P + "downstream_rq_2xx"] == 1 and s[P + "downstream_rq_4xx"] == 1
    assert s[P + "http2.streams_active"] == 0


def test_codec_auto_serves_http1_and_h2c_on_one_port(sy):
    d = h2_listener(sy, routes=[route(prefix="/", body="either way\n")], codec_type="auto")
    rc, out = curl(["--http1.1", "http://127.0.0.1:%d/a" % d.port])
    assert rc == 0 and out.startswith("HTTP/1.1 200"), out
    assert out.endswith("either way\n")
    rc, out = curl(["--http2-prior-knowledge", "http://127.0.0.1:%d/b" % d.port])
    assert rc == 0 and out.startswith("HTTP/2 200"), out
    assert out.endswith("either way\n")
    rc, out = nghttp(["http://127.0.0.1:%d/c" % d.port])
    assert rc == 0 and nghttp_status(out) == [200] and "either way\n" in out, out
    assert get(d.port, "/d").status == 200
    d.wait_stat(P + "downstream_cx_active", lambda v: v == 0)
    s = d.stats()
    assert s[P + "downstream_cx_http1_total"] == 2
    assert s[P + "downstream_cx_http2_total"] == 2
    assert s[P + "downstream_rq_http1_total"] == 2
    assert s[P + "downstream_rq_http2_total"] == 2
    assert s[P + "downstream_rq_2xx"] == 4


def test_h2_client_on_http1_codec_is_not_served_h2(sy):
    """codec_type http1: the HTTP/2 preface is not a request; no h2 stream
    is counted and a plain HTTP/1.1 request still works."""
    d = h2_listener(sy, routes=[route(prefix="/", body="h1 only\n")], codec_type="http1")
    rc, out = curl(["--http2-prior-knowledge", "http://127.0.0.1:%d/" % d.port])
    assert not out.startswith("HTTP/2 200"), out
    assert get(d.port, "/").body == b"h1 only\n"
    s = d.stats()
    assert s[P + "downstream_cx_http2_total"] == 0
    assert s[P + "downstream_rq_http2_total"] == 0


# --------------------------------------------- proxied to HTTP/1.1 -------

def test_curl_h2_to_http1_backend(sy):
    b = sy.backend()
    d = h2_listener(sy, upstream_port=b.port)
    rc, out = curl(["--http2-prior-knowledge", "-H", "X-Test: yes",
                    "http://127.0.0.1:%d/echo-headers?x=1" % d.port])
    assert rc == 0 and out.startswith("HTTP/2 200"), out
    head, _, body = out.partition("\r\n\r\n")
    line, hdrs = echo_lines(body.encode("latin-1"))
    assert line == "GET /echo-headers?x=1 HTTP/1.1", body
    h = dict(hdrs)
    assert h["host"] == "127.0.0.1:%d" % d.port, hdrs     # from :authority
    assert h["x-test"] == "yes"
    assert h["x-forwarded-proto"] == "http"
    assert not any(k.startswith(":") for k, _ in hdrs), hdrs
    rc, out = curl(["--http2-prior-knowledge", "http://127.0.0.1:%d/" % d.port])
    assert rc == 0 and out.startswith("HTTP/2 200") and out.endswith("hello from sy-backend\n")
    s = d.stats()
    assert s[C + "upstream_rq_total"] == 2 and s[C + "upstream_rq_2xx"] == 2
    assert s[P + "downstream_rq_http2_total"] == 2


def test_node_http2_get_and_post_body(sy):
    b = sy.backend()
    d = h2_listener(sy, upstream_port=b.port)
    url = "http://127.0.0.1:%d" % d.port
    rc, out = run_node("h2-request.js", [url, "GET", "/echo-headers", "x-node=1"])
    assert rc == 0, out
    j = json.loads(out.splitlines()[-1])
    assert j["status"] == 200, j
    line, hdrs = echo_lines(base64.b64decode(j["body_b64"]))
    assert line == "GET /echo-headers HTTP/1.1" and dict(hdrs)["x-node"] == "1", hdrs
    # A body larger than the 64 KiB stream window: flow control both ways.
    body = os.urandom(300 * 1024)
    rc, out = run_node("h2-request.js", [url, "POST", "/echo"], input=body)
    assert rc == 0, out
    j = json.loads(out.splitlines()[-1])
    assert j["status"] == 200, j
    got = base64.b64decode(j["body_b64"])
    assert len(got) == len(body) and got == body
    b.wait_out(r"POST /echo -> 200")
    s = d.stats()
    assert s[P + "downstream_rq_http2_total"] == 2
    assert s[C + "upstream_cx_tx_bytes_total"] > len(body)


def test_authority_and_host_disagree_400(sy):
    b = sy.backend()
    d = h2_listener(sy, upstream_port=b.port)
    with H2Client(d.port, validate=False) as c:
        s = c.fetch("GET", "/echo-headers", authority="a.test", extra=[("host", "b.test")])
        assert s.status == 400, s
        # The stream got the answer; the connection is still good.
        s = c.fetch("GET", "/echo-headers", authority="a.test", extra=[("host", "a.test")])
        assert s.status == 200, s
        line, hdrs = echo_lines(bytes(s.data))
        assert [v for k, v in hdrs if k == "host"] == ["a.test"], hdrs
        assert c.goaway is None
    st = d.stats()
    assert st[P + "downstream_rq_4xx"] == 1
    assert st[C + "upstream_rq_total"] == 1


def test_cookie_crumbs_joined_for_http1(sy):
    b = sy.backend()
    d = h2_listener(sy, upstream_port=b.port)
    with H2Client(d.port) as c:
        s = c.fetch("GET", "/echo-headers", extra=[("cookie", "a=1"), ("x-between", "x"),
                                                    ("cookie", "b=2"), ("cookie", "c=3")])
        assert s.status == 200, s
    _, hdrs = echo_lines(bytes(s.data))
    cookies = [v for k, v in hdrs if k == "cookie"]
    assert cookies == ["a=1; b=2; c=3"], hdrs


def test_streams_active_gauge(sy):
    """Four streams held open by an upstream that answers only when told:
    http2.streams_active and downstream_rq_active say 4, then 0."""
    release = sy.stop_event()

    def held(conn):
        conn.read_head()
        release.wait(10)
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
        conn.read_until_eof()

    srv = sy.upstream(RawServer(held))
    d = h2_listener(sy, upstream_port=srv.port)
    with H2Client(d.port) as c:
        sids = [c.request([(":method", "GET"), (":scheme", "http"), (":authority", "h.test"),
                           (":path", "/held/%d" % i)]) for i in range(4)]
        srv.wait_conns(4)
        d.wait_stat(P + "http2.streams_active", lambda v: v == 4)
        s = d.stats()
        assert s[P + "downstream_rq_active"] == 4
        assert s[P + "downstream_cx_http2_active"] == 1
        release.set()
        for sid in sids:
            st = c.wait_end(sid)
            assert st.status == 200 and bytes(st.data) == b"ok\n", st
        d.wait_stat(P + "http2.streams_active", lambda v: v == 0)
    d.wait_stat(P + "downstream_cx_http2_active", lambda v: v == 0)
    assert d.stat(P + "downstream_rq_http2_total") == 4


# ------------------------------------------------ HTTP/2 clusters --------

def test_h2_cluster_to_another_switchyard(sy):
    """front (codec auto) -> cluster protocol http2 -> sidecar (codec http2)
    -> direct response or sy-backend.  Every request of every client,
    HTTP/1.1 or h2, rides the one HTTP/2 connection the front's worker
    holds to the sidecar."""
    b = sy.backend()
    sidecar = sy.daemon()
    sidecar.start(proxy_config(
        sidecar, [b.port], stat_prefix="sidecar_http", workers=1,
        http={"codec_type": "http2", "http2_protocol_options": h2_options()},
        routes=[route(path="/direct", body="from the sidecar\n"), proxy_route("app")]))
    front = sy.daemon()
    front.start(proxy_config(
        front, None, workers=1, http={"codec_type": "auto"},
        clusters=[cluster("sidecar", [sidecar.port], protocol="http2",
                          http2_protocol_options=h2_options())],
        routes=[proxy_route("sidecar")]))
    rc, out = curl(["--http1.1", "http://127.0.0.1:%d/direct" % front.port])
    assert rc == 0 and out.startswith("HTTP/1.1 200") and out.endswith("from the sidecar\n"), out
    body = os.urandom(200 * 1024)
    with HttpConn(port=front.port) as c:
        r = c.roundtrip(request("GET", "/echo-headers", host="app.example"))
        assert r.status == 200, r
        line, hdrs = echo_lines(r.body)
        assert line == "GET /echo-headers HTTP/1.1"
        assert dict(hdrs)["host"] == "app.example"
        r = c.roundtrip(request("POST", "/echo", body=body))
        assert r.status == 200 and r.body == body
    rc, out = nghttp(["http://127.0.0.1:%d/direct" % front.port])
    assert rc == 0 and nghttp_status(out) == [200] and "from the sidecar\n" in out, out
    rc, out = curl(["--http2-prior-knowledge", "http://127.0.0.1:%d/" % front.port])
    assert rc == 0 and out.startswith("HTTP/2 200") and out.endswith("hello from sy-backend\n")
    fs = front.stats()
    assert fs["cluster.sidecar.upstream_cx_http2_total"] == 1, fs
    assert fs["cluster.sidecar.upstream_cx_total"] == 1
    assert fs["cluster.sidecar.upstream_rq_total"] == 5
    assert fs[P + "downstream_rq_http2_total"] == 2
    ss = sidecar.stats()
    assert ss["http.sidecar_http.downstream_cx_http2_total"] == 1
    assert ss["http.sidecar_http.downstream_rq_http2_total"] == 5
    assert ss["http.sidecar_http.downstream_cx_http1_total"] == 0
    assert ss[C + "upstream_rq_total"] == 3


def test_h2_cluster_to_python_h2_server(sy):
    srv = sy.upstream(H2Server())
    d = sy.daemon()
    d.start(proxy_config(d, None, workers=1,
                         clusters=[cluster("app", [srv.port], protocol="http2",
                                           http2_protocol_options=h2_options())]))
    with HttpConn(port=d.port) as c:
        r = c.roundtrip(request("GET", "/info?q=1", host="app.test",
                                headers=[("X-Custom", "1"), ("Connection", "keep-alive, X-Hop"),
                                         ("X-Hop", "drop me"), ("Keep-Alive", "timeout=5"),
                                         ("TE", "trailers")]))
        assert r.status == 200, r
        assert r.header("x-served-by") == "python-h2"
        info = json.loads(r.body)
        body = os.urandom(200 * 1024)
        r = c.roundtrip(request("POST", "/echo", body=body))
        assert r.status == 200 and r.body == body
        r = c.roundtrip(request("GET", "/status/404"))
        assert r.status == 404 and r.body == b"status 404\n"
    hdrs = info["headers"]
    h = dict(hdrs)
    assert h[":method"] == "GET" and h[":path"] == "/info?q=1" and h[":scheme"] == "http"
    assert h[":authority"] == "app.test"
    assert h["x-custom"] == "1"
    assert h.get("te", "trailers") == "trailers"
    for hop in ("connection", "keep-alive", "x-hop", "upgrade", "transfer-encoding"):
        assert hop not in h, hdrs
    # An h2 client through the same worker: same upstream connection.
    rc, out = nghttp(["http://127.0.0.1:%d/from-nghttp" % d.port])
    assert rc == 0 and nghttp_status(out) == [200] and "python-h2" in out, out
    assert srv.connections == 1
    assert len(srv.requests) == 4
    assert srv.requests[-1]["path"] == "/from-nghttp"
    s = d.stats()
    assert s[C + "upstream_cx_http2_total"] == 1
    assert s[C + "upstream_rq_total"] == 4
    assert s[C + "upstream_rq_2xx"] == 3 and s[C + "upstream_rq_4xx"] == 1
