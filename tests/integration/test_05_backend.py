"""test_05_backend - sy-backend, the C backend the other suites proxy to.

The later suites trust this backend to tell them what reached it, so it is
checked here on its own, with independent clients: Debian's
python3-websockets and node-ws for WebSocket, raw sockets for byte-exact
cases (fragmentation, protocol errors, half-close, pipelining).  Each test
starts build/tools/sy-backend with "-l 127.0.0.1:0" (the backend binds port
0 itself, so no port race) and waits for its "listening on" line; nothing
sleeps for a fixed time.
"""

import asyncio
import base64
import hashlib
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

import sylib

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


# ------------------------------------------------------------- helpers ---

# One sy-backend process: sylib's, shared with the proxy suites.
Backend = sylib.Backend


@pytest.fixture
def backends(request):
    root = tempfile.mkdtemp(prefix="sy-it-", dir="/tmp")
    started = []

    def start(*args):
        b = Backend(root, args)
        started.append(b)
        return b
    yield start
    problems = []
    for b in started:
        b.stop()
        problems += b.problems()
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed or problems:
        for b in started:
            print("---- %s stdout tail ----\n%s" % (b.dir, "\n".join(b.out().splitlines()[-40:])))
            print("---- stderr ----\n%s" % b.err())
    else:
        shutil.rmtree(root, ignore_errors=True)
    if problems:
        pytest.fail("teardown: " + "\n".join(problems), pytrace=False)


@pytest.fixture
def backend(backends):
    return backends()


class Conn(sylib.HttpConn):
    """sylib's raw HTTP connection plus byte and WebSocket frame reads."""

    def take(self, n):
        return self._take(n)

    def read_until_eof(self):
        """Everything up to the peer's FIN (or reset)."""
        while True:
            try:
                self._fill()
            except sylib.PeerClosed:
                break
        out, self.buf = self.buf, b""
        return out

    def read_frame(self):
        """(fin, opcode, payload, masked) of the next frame."""
        b0, b1 = self.take(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.take(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.take(8))[0]
        mask = self.take(4) if b1 & 0x80 else None
        payload = self.take(n)
        if mask:
            payload = xor_mask(payload, mask)
        return bool(b0 & 0x80), b0 & 0x0F, payload, mask is not None


def frame(op, payload=b"", fin=True, mask=True, rsv=0):
    """A client frame (masked unless told otherwise)."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | rsv | op])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + xor_mask(payload, key)


def xor_mask(data, key):
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def ws_key():
    return base64.b64encode(os.urandom(16)).decode()


def ws_accept(key):
    return base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()


def ws_request(path="/", key=None, method="GET", version="13", extra=()):
    hdrs = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", version)]
    if key is not None:
        hdrs.append(("Sec-WebSocket-Key", key))
    return sylib.request(method, path, host="backend.test", headers=hdrs + list(extra))


def ws_open(port, path="/"):
    """A raw WebSocket connection after a checked handshake."""
    c = Conn("127.0.0.1", port, timeout=10)
    key = ws_key()
    c.send(ws_request(path, key))
    r = c.read_response()
    assert r.status == 101, r
    assert r.header("upgrade").lower() == "websocket"
    assert r.header("sec-websocket-accept") == ws_accept(key)
    return c


def close_code(payload):
    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


# ----------------------------------------------------------- WebSocket ---

def test_websocket_echo_python_websockets(backend):
    websockets = pytest.importorskip("websockets")

    async def run():
        url = "ws://127.0.0.1:%d/chat" % backend.port
        async with websockets.connect(url, max_size=None, compression=None,
                                      subprotocols=["chat.v1", "other"]) as ws:
            assert ws.subprotocol == "chat.v1"
            for msg in ["hello", "unicode ✓ wörld ☃", "", "x" * 70000]:
                await ws.send(msg)
                assert await ws.recv() == msg
            for size in (0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20):
                data = os.urandom(size)
                await ws.send(data)
                got = await ws.recv()
                assert isinstance(got, bytes) and got == data, "binary %d bytes" % size
            big = "é" * (1 << 19)           # 1 MiB of UTF-8 text
            await ws.send(big)
            assert await ws.recv() == big
            await ws.send(iter(["frag", "mented ", "text"]))
            assert await ws.recv() == "fragmented text"
            await asyncio.wait_for(await ws.ping(b"are you there"), 10)
            await ws.close(4001, "done")
            assert ws.close_code == 4001    # the backend echoes the code
    asyncio.run(asyncio.wait_for(run(), 60))
    backend.wait_out(r"websocket: close 4001 received, 14 messages echoed")


def test_websocket_node_ws_client(backend):
    node = shutil.which("node")
    if node is None or not Path("/usr/share/nodejs/ws").exists():
        sylib.skip_or_fail("node or Debian's node-ws missing")
    script = r"""
const WebSocket = require('ws');
const crypto = require('crypto');
const ws = new WebSocket('ws://127.0.0.1:' + process.argv[1] + '/',
                         { maxPayload: 64 << 20, perMessageDeflate: false });
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
    env = dict(os.environ, NODE_PATH="/usr/share/nodejs")
    r = subprocess.run([node, "-e", script, str(backend.port)], env=env, timeout=60,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert r.returncode == 0, r.stdout.decode(errors="replace")
    assert b"closed 1000 after 6" in r.stdout


def test_websocket_fragments_and_control_frames_raw(backend):
    c = ws_open(backend.port)
    binary = os.urandom(300)
    stream = (frame(TEXT, b"Hel", fin=False) + frame(PING, b"p1") +
              frame(CONT, b"lo ", fin=False) + frame(PONG, b"unsolicited") +
              frame(CONT, "wörld".encode(), fin=True) + frame(BINARY, binary) +
              frame(TEXT, b"", fin=True))
    # One byte at a time: the frame parser must not care how reads split.
    for i in range(len(stream)):
        c.send(stream[i:i + 1])
    assert c.read_frame() == (False, TEXT, b"Hel", False)
    assert c.read_frame() == (True, PONG, b"p1", False)
    assert c.read_frame() == (False, CONT, b"lo ", False)
    assert c.read_frame() == (True, CONT, "wörld".encode(), False)
    assert c.read_frame() == (True, BINARY, binary, False)
    assert c.read_frame() == (True, TEXT, b"", False)
    c.send(frame(CLOSE, struct.pack("!H", 1000) + b"normal"))
    fin, op, payload, masked = c.read_frame()
    assert (fin, op, close_code(payload), masked) == (True, CLOSE, 1000, False)
    assert c.read_until_eof() == b""
    c.close()


@pytest.mark.parametrize("name,data,code", [
    ("unmasked frame", frame(TEXT, b"hi", mask=False), 1002),
    ("reserved bit", frame(TEXT, b"hi", rsv=0x40), 1002),
    ("continuation first", frame(CONT, b"hi"), 1002),
    ("text inside fragmented text", frame(TEXT, b"a", fin=False) + frame(TEXT, b"b"), 1002),
    ("fragmented ping", frame(PING, b"x", fin=False), 1002),
    ("unknown opcode", frame(0x3, b"x"), 1002),
    ("bad close code", frame(CLOSE, struct.pack("!H", 1005)), 1002),
    ("invalid utf-8", frame(TEXT, b"\xc3\x28"), 1007),
    ("truncated utf-8 at message end", frame(TEXT, b"ok\xe2\x82"), 1007),
    ("surrogate in utf-8", frame(TEXT, b"\xed\xa0\x80"), 1007),
])
def test_websocket_protocol_errors_close(backend, name, data, code):
    c = ws_open(backend.port)
    c.send(data)
    frames = []
    while True:
        f = c.read_frame()
        frames.append(f)
        if f[1] == CLOSE:
            break
    assert close_code(frames[-1][2]) == code, (name, frames)
    c.send(frame(CLOSE, struct.pack("!H", code)))
    assert c.read_until_eof() == b""
    c.close()


def test_websocket_half_close_delivers_queued_echo(backend):
    """Client FIN right after a 4 MiB message: the echo still arrives whole."""
    c = ws_open(backend.port)
    data = os.urandom(4 << 20)
    wire = frame(BINARY, data)

    def send():
        c.sock.sendall(wire)
        c.sock.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=send, daemon=True)
    t.start()
    assert c.read_frame() == (True, BINARY, data, False)
    assert c.read_until_eof() == b""
    t.join(10)
    c.close()


@pytest.mark.parametrize("kw,status,header", [
    ({"key": None}, 400, None),
    ({"key": "too-short=="}, 400, None),
    ({"key": "dGhlIHNhbXBsZSBub25jZQ==", "version": "8"}, 426, ("sec-websocket-version", "13")),
    ({"key": "dGhlIHNhbXBsZSBub25jZQ==", "method": "POST"}, 400, None),
])
def test_websocket_bad_handshakes(backend, kw, status, header):
    with Conn("127.0.0.1", backend.port) as c:
        c.send(ws_request(**kw) + frame(TEXT, b"must not echo"))
        r = c.read_response()
        assert r.status == status and r.conn_close, r
        if header:
            assert r.header(header[0]) == header[1]
        assert c.read_until_eof() == b""


def test_websocket_rfc_example_accept(backend):
    """RFC 6455 section 1.3's key and accept value."""
    with Conn("127.0.0.1", backend.port) as c:
        c.send(ws_request(key="dGhlIHNhbXBsZSBub25jZQ=="))
        r = c.read_response()
        assert r.status == 101
        assert r.header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        assert r.header("connection").lower() == "upgrade"


# ------------------------------------------------------ other upgrades ---

def test_upgrade_foo_post_raw_echo_with_half_close(backend):
    """Docker-style: POST with a body and Upgrade: foo.  The body is read
    first, the 101 names the token, then bytes (including those sent right
    after the body, before the 101) come back unchanged; after our FIN the
    backend sends what is queued, then its FIN."""
    c = Conn("127.0.0.1", backend.port, timeout=10)
    body = b'{"Detach":false}'
    req = sylib.request("POST", "/exec/1/start", host="backend.test", body=body,
                        headers=[("Upgrade", "foo"), ("Connection", "Upgrade"),
                                 ("Content-Type", "application/json")])
    early = b"sent before the 101\n"
    c.send(req + early)
    r = c.read_response()
    assert r.status == 101, r
    assert r.header("upgrade") == "foo" and r.header("connection").lower() == "upgrade"
    assert r.header("content-length") is None and r.header("transfer-encoding") is None
    assert c.take(len(early)) == early

    data = os.urandom(3 << 20)        # beyond the backend's high-water mark

    def send():
        for i in range(0, len(data), 65536):
            c.sock.sendall(data[i:i + 65536])
        c.sock.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=send, daemon=True)
    t.start()
    got = c.read_until_eof()
    t.join(10)
    assert len(got) == len(data) and got == data
    c.close()
    backend.wait_out(r"POST /exec/1/start upgrade=foo -> 101")


def test_upgrade_token_list_names_first_token(backend):
    with Conn("127.0.0.1", backend.port) as c:
        c.send(sylib.request("GET", "/", host="b", headers=[
            ("Upgrade", "tcp/1.0, bar"), ("Connection", "keep-alive, Upgrade")]))
        r = c.read_response()
        assert r.status == 101 and r.header("upgrade") == "tcp/1.0"
        c.send(b"ping")
        assert c.take(4) == b"ping"


@pytest.mark.parametrize("status", [426, 200, 403, 503])
def test_status_path_with_upgrade_never_tunnels(backend, status):
    """An upgrade request to /status/NNN gets NNN, not 101; the bytes sent
    after the head are never echoed and the connection closes."""
    for up in ("foo", "websocket"):
        with Conn("127.0.0.1", backend.port) as c:
            extra = [("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", ws_key())] \
                if up == "websocket" else []
            c.send(sylib.request("GET", "/status/%d" % status, host="b",
                                 headers=[("Upgrade", up), ("Connection", "upgrade")] + extra)
                   + b"tunnel payload that must not come back")
            r = c.read_response()
            assert r.status == status and r.conn_close, r
            assert r.body == b"status %d\n" % status
            assert r.header("upgrade") == up    # a trap for proxies: still no tunnel
            assert c.read_until_eof() == b""


def test_special_upgrade_paths(backend):
    # A 101 with a wrong Sec-WebSocket-Accept.
    with Conn("127.0.0.1", backend.port) as c:
        key = ws_key()
        c.send(ws_request("/bad-accept", key))
        r = c.read_response()
        assert r.status == 101
        acc = r.header("sec-websocket-accept")
        assert acc and len(acc) == 28 and acc != ws_accept(key)
    # A 101 without an Upgrade header.
    with Conn("127.0.0.1", backend.port) as c:
        c.send(sylib.request("GET", "/no-upgrade-101", host="b",
                             headers=[("Upgrade", "foo"), ("Connection", "upgrade")]))
        r = c.read_response()
        assert r.status == 101 and r.header("upgrade") is None
    # 101, "bye", FIN; the backend keeps reading and reports what it got.
    with Conn("127.0.0.1", backend.port) as c:
        c.send(sylib.request("GET", "/close-after-101", host="b",
                             headers=[("Upgrade", "foo"), ("Connection", "upgrade")]))
        r = c.read_response()
        assert r.status == 101 and r.header("upgrade") == "foo"
        assert c.read_until_eof() == b"bye"
        c.send(b"z" * 12345)             # our direction still flows
        c.sock.shutdown(socket.SHUT_WR)
        backend.wait_out(r"close-after-101: 12345 bytes received after the 101")
        assert c.wait_closed()
    # The WebSocket flavour says bye in a text frame.
    c = ws_open(backend.port, "/close-after-101")
    assert c.read_frame() == (True, TEXT, b"bye", False)
    assert c.read_until_eof() == b""
    c.send(frame(CLOSE, struct.pack("!H", 1000)))
    c.sock.shutdown(socket.SHUT_WR)
    c.close()


def test_slow_path_delays_the_answer(backend):
    with Conn("127.0.0.1", backend.port) as c:
        t0 = time.monotonic()
        c.send(sylib.request("GET", "/slow/300/status/202", host="b") +
               sylib.request("GET", "/slow/1", host="b"))
        r1 = c.read_response()
        elapsed = time.monotonic() - t0
        r2 = c.read_response()
        assert r1.status == 202 and elapsed >= 0.29, (r1, elapsed)
        assert r2.status == 200 and r2.body == b"hello from sy-backend\n"
    # An upgrade waits too; bytes sent meanwhile are echoed after the 101.
    with Conn("127.0.0.1", backend.port) as c:
        t0 = time.monotonic()
        c.send(sylib.request("GET", "/slow/200", host="b",
                             headers=[("Upgrade", "foo"), ("Connection", "upgrade")]) + b"early")
        r = c.read_response()
        assert r.status == 101 and time.monotonic() - t0 >= 0.19
        c.send(b" late")
        assert c.take(10) == b"early late"


# ---------------------------------------------------------------- HTTP ---

def test_echo_headers_lists_head_exactly(backend):
    head = ("GET /echo-headers?x=1 HTTP/1.1\r\n"
            "Host: app.example:8080\r\n"
            "X-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n"
            "Connection: keep-alive, X-Hop\r\n"
            "X-Hop: secret\r\n"
            "x-lower: MiXeD Value  \r\n"
            "Accept: */*\r\n"
            "\r\n")
    with Conn("127.0.0.1", backend.port) as c:
        c.send(head)
        r = c.read_response()
    assert r.status == 200
    assert r.body.decode() == head.replace("\r\n", "\n")[:-1]


def test_keepalive_pipelining(backend):
    reqs = (sylib.request("GET", "/", host="b") +
            sylib.request("GET", "/echo-headers", host="b", headers=[("X-N", "2")]) +
            b"POST /upload HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n" +
            sylib.request("POST", "/echo", host="b", body=b"echo me") +
            sylib.request("HEAD", "/", host="b") +
            sylib.request("GET", "/status/204", host="b") +
            sylib.request("GET", "/last", host="b", headers=[("Connection", "close")]))
    with Conn("127.0.0.1", backend.port) as c:
        c.send(reqs)
        r = [c.read_response() for _ in range(4)]
        r.append(c.read_response(head_request=True))
        r += [c.read_response() for _ in range(2)]
        assert [x.status for x in r] == [200, 200, 200, 200, 200, 204, 200]
        assert r[0].body == b"hello from sy-backend\n" and not r[0].conn_close
        assert r[1].body == b"GET /echo-headers HTTP/1.1\nHost: b\nX-N: 2\n"
        assert r[2].body == b"hello from sy-backend\n"
        assert r[3].body == b"echo me"
        assert r[4].header("content-length") == "22" and r[4].body == b""
        assert r[5].body == b"" and r[5].header("content-length") is None
        assert r[6].conn_close
        assert c.read_until_eof() == b""


def test_http10_keepalive_and_close(backend):
    with Conn("127.0.0.1", backend.port) as c:
        c.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.header("connection") == "keep-alive"
        c.send(b"GET / HTTP/1.0\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.conn_close
        assert c.read_until_eof() == b""


@pytest.mark.parametrize("raw,status", [
    (b"FOO BAR BAZ\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),                                  # no Host
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400),          # obs-fold
    (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 70000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64), 400),  # TLS hello
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
])
def test_malformed_requests_get_an_error_and_close(backend, raw, status):
    with Conn("127.0.0.1", backend.port) as c:
        c.send(raw)
        r = c.read_response()
        assert r.status == status and r.conn_close, r
        assert c.wait_closed()
    # Still serving.
    assert sylib.get(backend.port, "/").status == 200


def test_incomplete_request_then_fin(backend):
    with Conn("127.0.0.1", backend.port) as c:
        c.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        c.sock.shutdown(socket.SHUT_WR)
        r = c.read_response()
        assert r.status == 400 and r.conn_close
        assert c.read_until_eof() == b""


def test_expect_100_continue(backend):
    with Conn("127.0.0.1", backend.port) as c:
        c.send(sylib.request("POST", "/echo", host="b", content_length=4,
                             headers=[("Expect", "100-continue")]))
        assert c.read_response().status == 100
        c.send(b"data")
        r = c.read_response()
        assert r.status == 200 and r.body == b"data"


# ------------------------------------------------- scale and processes ---

def _fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def test_many_connections_two_workers(backends):
    """1,000 connections open at once over two worker processes (raw
    echo and WebSocket alternately), every echo checked; afterwards each
    worker is back to its baseline of descriptors."""
    b = backends("-w", "2", "-q")
    ready = sylib.wait_until(lambda: len(re.findall(r"worker \d+ ready: pid (\d+)", b.out())) == 2
                             and re.findall(r"worker \d+ ready: pid (\d+)", b.out()),
                             what="2 workers ready")
    workers = sorted(int(p) for p in ready)
    assert workers == sylib.children(b.proc.pid)
    base = {p: _fd_count(p) for p in workers}
    conns = []
    try:
        for i in range(1000):
            if i % 2:
                c = ws_open(b.port)
            else:
                c = Conn("127.0.0.1", b.port, timeout=10)
                c.send(sylib.request("GET", "/", host="b",
                                     headers=[("Upgrade", "foo"), ("Connection", "upgrade")]))
                assert c.read_response().status == 101
            conns.append(c)
        for i, c in enumerate(conns):
            msg = b"message %d" % i
            c.send(frame(BINARY, msg) if i % 2 else msg)
        for i, c in enumerate(conns):
            msg = b"message %d" % i
            if i % 2:
                assert c.read_frame() == (True, BINARY, msg, False)
            else:
                assert c.take(len(msg)) == msg
        owners = sylib.server_conn_owner_counts(workers, b.port)
        assert sum(owners.values()) == 1000, owners
    finally:
        for c in conns:
            c.close()
    sylib.wait_until(lambda: all(_fd_count(p) == base[p] for p in workers), timeout=20,
                     what="worker fd counts back to %r" % base)
    sylib.figure("sy-backend", "1000 connections over 2 workers: %r" % owners)
