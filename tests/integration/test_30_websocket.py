"""test_30_websocket - WebSocket over HTTP/1.1 through switchyard.

Real clients and servers on both sides: Debian's python3-websockets
(client and server) and node-ws (client), our sy-backend, and raw sockets
for byte-exact cases (the handshake as relayed, early frames, fragmented
frames fed byte by byte).  Covers echo of text and binary messages up to
16 MiB, a custom upgrade filter chain next to an HTTP-only buffer filter,
the RFC 6455 checks switchyard makes (request basics, the upstream's
Sec-WebSocket-Accept) and upstream refusals.  After every scenario
downstream_cx_upgrades_active is back to 0.
"""

import asyncio
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

import sylib
from sylib import (WS_BINARY, WS_CLOSE, WS_CONT, WS_PING, WS_PONG, WS_TEXT, HttpConn,
                   RawServer, TunnelConn, WebSocketServer, parse_head, head_value,
                   proxy_config, request, upgrade_config, wait_upgrades_idle,
                   ws_accept, ws_close_payload, ws_frame, ws_request,
                   ws_upgrade_echo_handler)

P = "http.ingress_http."
C = "cluster.app."
WS = P + "upgrades.websocket."
SIZES = (0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20)


def websockets_mod():
    return pytest.importorskip("websockets")


async def echo_session(port, path="/", text_sizes=(0, 5, 70000, 1 << 20),
                       binary_sizes=SIZES, subprotocols=None):
    """A python3-websockets client session: every message echoed exactly."""
    websockets = websockets_mod()
    url = "ws://127.0.0.1:%d%s" % (port, path)
    async with websockets.connect(url, max_size=None, compression=None, ping_interval=None,
                                  subprotocols=subprotocols) as ws:
        for n in text_sizes:
            msg = ("ü✓x" * (n // 3 + 1))[:n]
            await ws.send(msg)
            got = await ws.recv()
            assert isinstance(got, str) and got == msg, "text of %d chars" % n
        for n in binary_sizes:
            data = os.urandom(n)
            await ws.send(data)
            got = await ws.recv()
            assert isinstance(got, bytes) and got == data, "binary of %d bytes" % n
        await asyncio.wait_for(await ws.ping(b"through the proxy"), 10)
        sub = ws.subprotocol
        await ws.close(4000, "bye")
        return sub, ws.close_code


def start(sy, upstream_port, **kw):
    d = sy.daemon()
    d.start(proxy_config(d, [upstream_port], **kw))
    return d


# ------------------------------------------------------------- real peers --

def test_python_client_to_sy_backend(sy):
    b = sy.backend()
    d = start(sy, b.port)
    sub, code = asyncio.run(asyncio.wait_for(
        echo_session(d.port, "/chat", subprotocols=["chat.v1", "other"]), 90))
    assert sub == "chat.v1"
    assert code == 4000           # sy-backend echoes the close code back
    b.wait_out(r"websocket: close 4000 received, 12 messages echoed")
    wait_upgrades_idle(d, types=["websocket"])
    s = d.stats()
    assert s[P + "downstream_cx_upgrades_total"] == 1
    assert s[WS + "total"] == 1 and s[WS + "failed"] == 0
    assert s[C + "upstream_cx_tx_bytes_total"] > (16 << 20) + (1 << 20)
    assert s[C + "upstream_cx_rx_bytes_total"] > (16 << 20) + (1 << 20)


def test_python_client_to_python_server(sy):
    websockets_mod()
    srv = sy.upstream(WebSocketServer())
    d = start(sy, srv.port)
    sub, code = asyncio.run(asyncio.wait_for(echo_session(d.port, "/py"), 90))
    assert code == 4000
    assert srv.messages == 12
    hdrs = dict((k.lower(), v) for k, v in srv.request_headers[0])
    assert hdrs["x-forwarded-for"] == "127.0.0.1"
    assert hdrs["upgrade"].lower() == "websocket"
    assert "x-request-id" in hdrs
    wait_upgrades_idle(d, types=["websocket"])
    assert d.stat(P + "downstream_cx_upgrades_total") == 1


NODE_SCRIPT = r"""
const WebSocket = require('ws');
const crypto = require('crypto');
const ws = new WebSocket(process.argv[1], { maxPayload: 64 << 20, perMessageDeflate: false });
const sizes = [0, 10, 200, 70000, 1 << 20, 16 << 20];
let i = 0, expect;
function next() {
  if (i === sizes.length) { ws.close(1000, 'done'); return; }
  const bin = i % 2 === 0;
  expect = bin ? crypto.randomBytes(sizes[i]) : 'ü'.repeat(sizes[i] / 2);
  ws.send(expect, { binary: bin });
}
ws.on('open', next);
ws.on('message', (data, isBinary) => {
  const ok = isBinary === (i % 2 === 0) &&
    (isBinary ? Buffer.compare(data, expect) === 0 : data.toString() === expect);
  if (!ok) { console.log('mismatch at', sizes[i]); process.exit(1); }
  i++; next();
});
ws.on('close', (code) => { console.log('closed', code, 'after', i); process.exit(code === 1000 && i === sizes.length ? 0 : 1); });
ws.on('error', (e) => { console.log('error', e.message); process.exit(1); });
"""


@pytest.mark.parametrize("upstream", ["sy-backend", "python-websockets"])
def test_node_ws_client(sy, upstream):
    node = shutil.which("node")
    if node is None or not Path("/usr/share/nodejs/ws").exists():
        sylib.skip_or_fail("node or Debian's node-ws missing")
    if upstream == "sy-backend":
        port = sy.backend().port
    else:
        websockets_mod()
        port = sy.upstream(WebSocketServer()).port
    d = start(sy, port)
    env = dict(os.environ, NODE_PATH="/usr/share/nodejs")
    r = subprocess.run([node, "-e", NODE_SCRIPT, "ws://127.0.0.1:%d/node" % d.port], env=env,
                       timeout=90, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0 and "closed 1000 after 6" in out, out
    wait_upgrades_idle(d, types=["websocket"])
    assert d.stat(P + "downstream_cx_upgrades_total") == 1


# ------------------------------------------------------------- raw bytes --

def test_handshake_relayed_exactly_and_frames_byte_by_byte(sy):
    """The upstream sees the client's key and version unchanged; the client
    gets a bare 101 (no Content-Length, no Transfer-Encoding) with the right
    accept and the negotiated subprotocol; frames sent one byte at a time
    come back whole, control frames included."""
    b = sy.backend()
    d = start(sy, b.port)
    c = TunnelConn(port=d.port, timeout=10)
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    c.send(ws_request("/raw", key, extra=[("Sec-WebSocket-Protocol", "p1, p2")]))
    r = c.read_response()
    assert r.status == 101, r
    assert r.header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert r.header("upgrade").lower() == "websocket"
    assert "upgrade" in r.header("connection").lower()
    assert r.header("sec-websocket-protocol") == "p1"
    assert r.header("content-length") is None and r.header("transfer-encoding") is None
    binary = os.urandom(300)
    stream = (ws_frame(WS_TEXT, b"Hel", fin=False) + ws_frame(WS_PING, b"p1") +
              ws_frame(WS_CONT, b"lo ", fin=False) + ws_frame(WS_CONT, "wörld".encode()) +
              ws_frame(WS_BINARY, binary) + ws_frame(WS_TEXT, b""))
    for i in range(len(stream)):
        c.send(stream[i:i + 1])
    assert c.read_frame() == (False, WS_TEXT, b"Hel", False)
    assert c.read_frame() == (True, WS_PONG, b"p1", False)
    assert c.read_frame() == (False, WS_CONT, b"lo ", False)
    assert c.read_frame() == (True, WS_CONT, "wörld".encode(), False)
    assert c.read_frame() == (True, WS_BINARY, binary, False)
    assert c.read_frame() == (True, WS_TEXT, b"", False)
    assert d.stat(P + "downstream_cx_upgrades_active") == 1
    assert d.stat(WS + "active") == 1
    c.send(ws_frame(WS_CLOSE, ws_close_payload(1000, b"done")))
    fin, op, payload, masked = c.read_frame()
    assert (op, payload[:2]) == (WS_CLOSE, struct.pack("!H", 1000))
    assert c.read_until_eof() == b""
    c.close()
    wait_upgrades_idle(d, types=["websocket"])


def test_request_head_as_the_upstream_sees_it(sy):
    srv = sy.upstream(RawServer(ws_upgrade_echo_handler))
    d = start(sy, srv.port)
    with TunnelConn(port=d.port) as c:
        key = "AAAAAAAAAAAAAAAAAAAAAA=="
        c.send(ws_request("/seen", key, extra=[("Sec-WebSocket-Protocol", "chat"),
                                               ("Origin", "http://o.example")]))
        r = c.read_response()
        assert r.status == 101 and r.header("sec-websocket-accept") == ws_accept(key)
        c.send(b"raw after upgrade")
        assert c.take(17) == b"raw after upgrade"
        c.shutdown_write()
        assert c.read_until_eof() == b""
    conn = srv.wait_conns(1)
    line, hdrs = parse_head(conn.request_head)
    assert line == "GET /seen HTTP/1.1"
    assert head_value(hdrs, "upgrade") == "websocket"
    assert "upgrade" in head_value(hdrs, "connection").lower()
    assert head_value(hdrs, "sec-websocket-key") == key
    assert head_value(hdrs, "sec-websocket-version") == "13"
    assert head_value(hdrs, "sec-websocket-protocol") == "chat"
    assert head_value(hdrs, "origin") == "http://o.example"
    assert head_value(hdrs, "x-forwarded-for") == "127.0.0.1"
    assert head_value(hdrs, "content-length") is None
    assert head_value(hdrs, "transfer-encoding") is None
    wait_upgrades_idle(d, types=["websocket"])


def test_frames_sent_with_the_handshake_arrive_after_the_101(sy):
    b = sy.backend()
    d = start(sy, b.port)
    c = TunnelConn(port=d.port, timeout=10)
    early = ws_frame(WS_TEXT, b"early one") + ws_frame(WS_BINARY, b"\x00early two\xff")
    c.ws_handshake("/early", early=early)
    assert c.read_frame() == (True, WS_TEXT, b"early one", False)
    assert c.read_frame() == (True, WS_BINARY, b"\x00early two\xff", False)
    c.send(ws_frame(WS_CLOSE, ws_close_payload(1000)))
    assert c.read_frame()[1] == WS_CLOSE
    assert c.read_until_eof() == b""
    c.close()
    wait_upgrades_idle(d, types=["websocket"])


@pytest.mark.parametrize("name,req", [
    ("no key", ws_request(key=False)),
    ("short key", ws_request(key="dG9vIHNob3J0")),
    ("version 8", ws_request(version="8")),
    ("POST", ws_request(method="POST")),
])
def test_invalid_websocket_requests_400_not_forwarded(sy, name, req):
    b = sy.backend()
    d = start(sy, b.port)
    with TunnelConn(port=d.port) as c:
        c.send(req + ws_frame(WS_TEXT, b"must not pass"))
        r = c.read_response()
        assert r.status == 400, (name, r)
        assert c.wait_closed(), "connection left open after a 400 to a bad handshake"
    s = d.stats()
    assert s[C + "upstream_rq_total"] == 0, name
    assert s[P + "downstream_cx_upgrades_total"] == 0
    wait_upgrades_idle(d, types=["websocket"])


# ------------------------------------------------------ upstream answers --

def test_wrong_accept_from_upstream_502(sy):
    b = sy.backend()
    d = start(sy, b.port)
    with TunnelConn(port=d.port) as c:
        c.send(ws_request("/bad-accept") + ws_frame(WS_TEXT, b"held"))
        r = c.read_response()
        assert r.status == 502, r
        assert c.wait_closed()
        assert c.buf == b"", "bytes after the 502: %r" % c.buf[:100]
    s = d.stats()
    assert s[WS + "failed"] == 1 and s[WS + "total"] == 0
    assert s[P + "downstream_cx_upgrades_total"] == 0
    wait_upgrades_idle(d, types=["websocket"])


def test_missing_accept_from_upstream_502(sy):
    def no_accept(conn):
        conn.read_head()
        conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\n\r\n")
        conn.read_until_eof()

    srv = sy.upstream(RawServer(no_accept))
    d = start(sy, srv.port)
    with TunnelConn(port=d.port) as c:
        c.send(ws_request("/") + ws_frame(WS_TEXT, b"held"))
        r = c.read_response()
        assert r.status == 502, r
        assert c.wait_closed()
    conn = srv.wait_conns(1)
    assert conn.eof.wait(10), "upstream connection left open after a bad 101"
    assert conn.buf == b"" and conn.received.endswith(b"\r\n\r\n"), conn.received[-100:]
    wait_upgrades_idle(d, types=["websocket"])


@pytest.mark.parametrize("status", [426, 400, 403, 500])
def test_upstream_refuses_websocket(sy, status):
    """/status/NNN: sy-backend answers an upgrade request with NNN.  The
    answer is relayed as an ordinary response, the frame sent with the
    handshake is dropped, the connection closes."""
    b = sy.backend()
    d = start(sy, b.port)
    with TunnelConn(port=d.port) as c:
        c.send(ws_request("/status/%d" % status) + ws_frame(WS_TEXT, b"held"))
        r = c.read_response()
        assert (r.status, r.body) == (status, b"status %d\n" % status), r
        assert c.wait_closed()
        assert c.buf == b""
    s = d.stats()
    assert s[WS + "failed"] == 1 and s[WS + "total"] == 0
    assert s[P + "downstream_cx_upgrades_total"] == 0
    assert s[C + "upstream_rq_%dxx" % (status // 100)] == 1
    wait_upgrades_idle(d, types=["websocket"])


# ---------------------------------------------------------- custom chain --

def test_custom_chain_websocket_passes_buffer_limits_http(sy):
    """buffer (1024 bytes) in the default chain, a router-only chain for
    websocket: 1 MiB WebSocket messages pass, a 2 KiB POST gets 413."""
    b = sy.backend()
    d = sy.daemon()
    http = {"http_filters": [{"name": "buffer", "max_request_bytes": 1024},
                             {"name": "router"}]}
    d.start(proxy_config(d, [b.port], http=http,
                         upgrades=[upgrade_config("websocket", True,
                                                  filters=[{"name": "router"}])]))
    sub, code = asyncio.run(asyncio.wait_for(echo_session(
        d.port, "/chain", text_sizes=(1 << 20,), binary_sizes=(1 << 20, 1 << 20, 3 << 20)), 60))
    assert code == 4000
    with HttpConn(port=d.port) as c:
        r = c.roundtrip(request("POST", "/echo", body=os.urandom(2048)))
        assert r.status == 413, r
    with HttpConn(port=d.port) as c:
        body = os.urandom(1000)
        r = c.roundtrip(request("POST", "/echo", body=body))
        assert r.status == 200 and r.body == body
    s = d.stats()
    assert s[P + "downstream_rq_too_large"] == 1
    assert s[P + "downstream_cx_upgrades_total"] == 1
    wait_upgrades_idle(d, types=["websocket"])


def test_default_chain_header_mutation_applies_to_handshake(sy):
    """Without a custom chain the websocket handshake goes through the
    listener's http_filters: header_mutation edits both heads."""
    srv = sy.upstream(RawServer(ws_upgrade_echo_handler))
    d = sy.daemon()
    hm = {"name": "header_mutation",
          "request_headers_to_add": [{"name": "x-via-chain", "value": "default"}],
          "response_headers_to_add": [{"name": "x-resp", "value": "yes"}]}
    d.start(proxy_config(d, [srv.port], http={"http_filters": [hm, {"name": "router"}]}))
    with TunnelConn(port=d.port) as c:
        r = c.ws_handshake("/hm")
        assert r.header("x-resp") == "yes"
        c.send(ws_frame(WS_BINARY, b"x"))
        assert c.read_frame()[2] == b"x"       # the echo returns our masked frame
    _, hdrs = parse_head(srv.wait_conns(1).request_head)
    assert head_value(hdrs, "x-via-chain") == "default"
    wait_upgrades_idle(d, types=["websocket"])
