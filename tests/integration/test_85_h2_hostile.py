"""test_85_h2_hostile - hostile HTTP/2 input against a prior-knowledge h2c
listener.

Every attack is written by hand, frame by frame, over a raw socket (the
frame and HPACK helpers below; python3-hyperframe and python3-hpack check
them in test_frame_helpers_agree_with_hyperframe), because the
well-behaved libraries refuse to send what is sent here.  The
well-behaved client is Debian's python3-h2 (and curl
--http2-prior-knowledge at the end of each test).

Each test runs one worker and checks, besides the protocol's answer
(RST_STREAM / GOAWAY with its error code / a 4xx / the connection being
closed) and the counter that names the attack:
  - the worker is the same process afterwards (pid from /server_info,
    server.worker_restarts == 0);
  - the worker's peak RSS (VmHWM, reset through /proc/PID/clear_refs
    before the attack) stays within a bound of its RSS before it;
  - a python3-h2 client on a second connection is served during the
    attack (at least one request completes after the attack started, none
    fails) and after it.

Where RFC 9113 fixes the answer the assertion is exact; where it leaves a
choice (which code a flood GOAWAY carries, stream or connection error
for an oversized header section) the accepted set is listed next to the
check, with the reason.
"""

import hashlib
import random
import select
import shutil
import socket
import struct
import threading
import time

import pytest

from sylib import (RawServer, PeerClosed, cluster, figure, proxy_route, route, run_cmd,
                   skip_or_fail, wait_until)

try:
    import h2.config
    import h2.connection
    import h2.events
    import hpack
    import hyperframe.frame
    H2_IMPORT_ERROR = None
except ImportError as e:        # python3-h2 / python3-hpack / python3-hyperframe
    H2_IMPORT_ERROR = e

P = "http.ingress_http."
H2 = P + "http2."
MIB = 1024 * 1024
GOOD = (200, b"good\n")

# ------------------------------------------------------------ constants --

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, \
    WINDOW_UPDATE, CONTINUATION = range(10)

F_END_STREAM = 0x1
F_ACK = 0x1
F_END_HEADERS = 0x4
F_PADDED = 0x8
F_PRIORITY = 0x20

NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, SETTINGS_TIMEOUT, \
    STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL, COMPRESSION_ERROR, \
    CONNECT_ERROR, ENHANCE_YOUR_CALM, INADEQUATE_SECURITY, HTTP_1_1_REQUIRED = range(14)
ERR_NAMES = {v: k for k, v in dict(
    NO_ERROR=0, PROTOCOL_ERROR=1, INTERNAL_ERROR=2, FLOW_CONTROL_ERROR=3, SETTINGS_TIMEOUT=4,
    STREAM_CLOSED=5, FRAME_SIZE_ERROR=6, REFUSED_STREAM=7, CANCEL=8, COMPRESSION_ERROR=9,
    CONNECT_ERROR=10, ENHANCE_YOUR_CALM=11, INADEQUATE_SECURITY=12,
    HTTP_1_1_REQUIRED=13).items()}

S_HEADER_TABLE_SIZE, S_ENABLE_PUSH, S_MAX_CONCURRENT_STREAMS, S_INITIAL_WINDOW_SIZE, \
    S_MAX_FRAME_SIZE, S_MAX_HEADER_LIST_SIZE = range(1, 7)
S_ENABLE_CONNECT_PROTOCOL = 8

MAX_WINDOW = 2 ** 31 - 1

# A flood is answered by tearing the connection down.  RFC 9113 names no
# code for "too many frames of a legal kind": ENHANCE_YOUR_CALM (11) is
# what Envoy, nghttp2's own flood checks and h2o send; PROTOCOL_ERROR is
# also defensible.  Nothing else is accepted.
FLOOD_CODES = (ENHANCE_YOUR_CALM, PROTOCOL_ERROR)


def err_name(code):
    return ERR_NAMES.get(code, "0x%x" % code) if code is not None else None


# ------------------------------------------------------ frame builders ---

def frame(ftype, flags, stream_id, payload=b""):
    n = len(payload)
    return struct.pack("!BHBBI", n >> 16, n & 0xFFFF, ftype, flags,
                       stream_id & 0x7FFFFFFF) + payload


def settings_frame(settings=(), ack=False):
    return frame(SETTINGS, F_ACK if ack else 0, 0,
                 b"".join(struct.pack("!HI", k, v) for k, v in settings))


def headers_frame(stream_id, block, end_stream=True, end_headers=True):
    return frame(HEADERS, (F_END_STREAM if end_stream else 0) |
                 (F_END_HEADERS if end_headers else 0), stream_id, block)


def continuation_frame(stream_id, block, end_headers=False):
    return frame(CONTINUATION, F_END_HEADERS if end_headers else 0, stream_id, block)


def data_frame(stream_id, data=b"", end_stream=False):
    return frame(DATA, F_END_STREAM if end_stream else 0, stream_id, data)


def rst_frame(stream_id, code):
    return frame(RST_STREAM, 0, stream_id, struct.pack("!I", code))


def ping_frame(opaque=b"\0" * 8, ack=False):
    return frame(PING, F_ACK if ack else 0, 0, opaque)


def priority_frame(stream_id, depends_on=0, weight=16, exclusive=False):
    return frame(PRIORITY, 0, stream_id,
                 struct.pack("!IB", (depends_on & 0x7FFFFFFF) | (0x80000000 if exclusive else 0),
                             weight - 1))


def window_update_frame(stream_id, increment):
    return frame(WINDOW_UPDATE, 0, stream_id, struct.pack("!I", increment & 0x7FFFFFFF))


# -------------------------------------------------------- HPACK builders --
# Our own encoder never touches the dynamic table (except hpack_lit_indexed,
# used on purpose), so the server's decoder state after an attack does not
# matter for the requests that follow on the same connection.

def hpack_int(value, prefix_bits, first=0):
    """RFC 7541 5.1 integer with an N-bit prefix; `first` holds the bits
    above the prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_str(s):
    if isinstance(s, str):
        s = s.encode("latin-1")
    return hpack_int(len(s), 7) + s          # H = 0: no Huffman


def hpack_lit(name, value):
    """Literal header field without indexing, new name (RFC 7541 6.2.2)."""
    return b"\x00" + hpack_str(name) + hpack_str(value)


def hpack_lit_indexed(name, value):
    """Literal header field with incremental indexing, new name (6.2.1):
    the entry becomes dynamic index 62."""
    return b"\x40" + hpack_str(name) + hpack_str(value)


def hpack_indexed(index):
    """Indexed header field (6.1)."""
    return hpack_int(index, 7, 0x80)


def block(headers):
    return b"".join(hpack_lit(k, v) for k, v in headers)


def get_headers(path="/good", authority="test.local", extra=()):
    return [(":method", "GET"), (":scheme", "http"), (":path", path),
            (":authority", authority)] + list(extra)


# --------------------------------------------------------- raw client ----

class RawH2:
    """A hand-driven HTTP/2 client connection.  It sends exactly what it is
    given; what comes back is parsed frame by frame into goaway, rst,
    responses, data and server_settings.  auto_ack answers the server's
    SETTINGS and PINGs and returns connection window as DATA is consumed,
    as a polite client does; the attacks that must not read never call
    the receive side at all."""

    def __init__(self, port, settings=((S_ENABLE_PUSH, 0),), rcvbuf=None, timeout=10.0,
                 decode=True, auto_ack=True, auto_window=True, preface=True):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.timeout = timeout
        self.decode = decode
        self.auto_ack = auto_ack
        self.auto_window = auto_window
        self.inbuf = bytearray()
        self.pending = bytearray()      # acks owed to the server
        self.eof = False
        self.reset = False
        self.goaway = None              # (last_stream_id, error_code, debug)
        self.rst = {}                   # stream -> error code
        self.responses = {}             # stream -> [[(name, value)], ...] (header blocks)
        self.data = {}                  # stream -> bytearray
        self.data_frames = {}           # stream -> count of DATA frames
        self.ended = set()              # streams the server ended (END_STREAM)
        self.server_settings = None     # first non-ACK SETTINGS, as a dict
        self.settings_acked = 0
        self.ping_acks = 0
        self.frames_in = 0
        self._hdr = None                # (stream, flags, bytearray) while in a header block
        self._unacked_data = 0
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 20
        self.decoder.max_allowed_table_size = 1 << 16
        if preface:
            self.send(PREFACE + settings_frame(settings))

    # -- sending

    def send(self, data):
        """Blocking send of data (after any owed acks); False if the server
        is gone."""
        out = bytes(self.pending) + bytes(data)
        self.pending.clear()
        try:
            self.sock.sendall(out)
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.reset = True
            return False

    def blast(self, data, timeout=15.0, drain=True):
        """Write data as fast as the socket takes it, without waiting for
        any answer.  drain=True reads (and parses) whatever the server sends
        meanwhile so neither side's buffers can deadlock; drain=False never
        reads, like a client that does not read its socket.  Returns the
        number of bytes written: stops early when the server closes, or at
        the deadline when it stops reading."""
        view = memoryview(bytes(self.pending) + bytes(data))
        self.pending.clear()
        off = 0
        deadline = time.monotonic() + timeout
        self.sock.setblocking(False)
        try:
            while off < len(view):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                rl = [self.sock] if drain and not self.eof else []
                r, w, _ = select.select(rl, [self.sock], [], min(left, 0.5))
                if r:
                    self._recv_some()
                    if self.eof:
                        break
                if w:
                    try:
                        off += self.sock.send(view[off:off + 256 * 1024])
                    except (BlockingIOError, InterruptedError):
                        pass
                    except (BrokenPipeError, ConnectionResetError):
                        self.reset = True
                        break
                if self.pending and drain:
                    # Owed acks go out before the rest of the attack; a
                    # small frame, and the socket was writable a moment ago.
                    extra = bytes(self.pending)
                    self.pending.clear()
                    view = memoryview(bytes(view[:off]) + extra + bytes(view[off:]))
        finally:
            self.sock.settimeout(self.timeout)
        return off

    def request(self, stream_id, headers, end_stream=True):
        return self.send(headers_frame(stream_id, block(headers), end_stream=end_stream))

    # -- receiving

    def _recv_some(self):
        try:
            d = self.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError, socket.timeout):
            return
        except ConnectionResetError:
            self.reset = True
            d = b""
        if not d:
            self.eof = True
            return
        self.inbuf += d
        self._parse()

    def _parse(self):
        buf = self.inbuf
        off = 0
        while len(buf) - off >= 9:
            n = (buf[off] << 16) | (buf[off + 1] << 8) | buf[off + 2]
            if len(buf) - off < 9 + n:
                break
            ftype, flags = buf[off + 3], buf[off + 4]
            sid = struct.unpack_from("!I", buf, off + 5)[0] & 0x7FFFFFFF
            payload = bytes(buf[off + 9:off + 9 + n])
            off += 9 + n
            self.frames_in += 1
            self._frame(ftype, flags, sid, payload)
        del buf[:off]

    def _frame(self, ftype, flags, sid, payload):
        if ftype in (HEADERS, PUSH_PROMISE, DATA) and flags & F_PADDED:
            pad = payload[0]
            payload = payload[1:len(payload) - pad]
        if ftype == HEADERS:
            if flags & F_PRIORITY:
                payload = payload[5:]
            self._hdr = (sid, flags, bytearray(payload))
            if flags & F_END_HEADERS:
                self._headers_done()
        elif ftype == CONTINUATION and self._hdr is not None:
            self._hdr[2].extend(payload)
            if flags & F_END_HEADERS:
                self._headers_done()
        elif ftype == DATA:
            self.data.setdefault(sid, bytearray()).extend(payload)
            self.data_frames[sid] = self.data_frames.get(sid, 0) + 1
            if flags & F_END_STREAM:
                self.ended.add(sid)
            if self.auto_window and payload:
                self._unacked_data += len(payload)
                if self._unacked_data >= 16384:
                    self.pending += window_update_frame(0, self._unacked_data)
                    self._unacked_data = 0
        elif ftype == RST_STREAM:
            self.rst[sid] = struct.unpack("!I", payload[:4])[0]
        elif ftype == SETTINGS:
            if flags & F_ACK:
                self.settings_acked += 1
            else:
                s = dict(struct.unpack_from("!HI", payload, i)
                         for i in range(0, len(payload) - len(payload) % 6, 6))
                if self.server_settings is None:
                    self.server_settings = s
                if self.auto_ack:
                    self.pending += settings_frame(ack=True)
        elif ftype == PING:
            if flags & F_ACK:
                self.ping_acks += 1
            elif self.auto_ack:
                self.pending += ping_frame(payload, ack=True)
        elif ftype == GOAWAY:
            last, code = struct.unpack("!II", payload[:8])
            self.goaway = (last & 0x7FFFFFFF, code, payload[8:])

    def _headers_done(self):
        sid, flags, blk = self._hdr
        self._hdr = None
        if self.decode:
            hdrs = [(k.decode("latin-1") if isinstance(k, bytes) else k,
                     v.decode("latin-1") if isinstance(v, bytes) else v)
                    for k, v in self.decoder.decode(bytes(blk), raw=True)]
        else:
            hdrs = []
        self.responses.setdefault(sid, []).append(hdrs)
        if flags & F_END_STREAM:
            self.ended.add(sid)

    def read_until(self, pred, timeout=10.0):
        """Read and parse until pred() holds, the server closes, or the
        deadline; returns pred().  Owed acks are sent on the way."""
        deadline = time.monotonic() + timeout
        while not pred():
            if self.pending and not self.reset:
                self.send(b"")
            left = deadline - time.monotonic()
            if self.eof or left <= 0:
                break
            r, _, _ = select.select([self.sock], [], [], min(left, 0.5))
            if r:
                self._recv_some()
        return pred()

    def read_to_close(self, timeout=10.0):
        """Everything until the server closes; True if it did."""
        return self.read_until(lambda: self.eof, timeout)

    def handshake(self, timeout=5.0):
        """Wait for the server's SETTINGS (acked automatically) and for the
        ack of ours."""
        ok = self.read_until(lambda: self.server_settings is not None and self.settings_acked,
                             timeout)
        if self.pending:
            self.send(b"")
        assert ok, "no SETTINGS exchange with the server (eof=%s goaway=%r)" % (
            self.eof, self.goaway)
        return self.server_settings

    # -- answers

    def status(self, sid):
        for blk in self.responses.get(sid, []):
            for k, v in blk:
                if k == ":status":
                    return int(v)
        return None

    def stream_done(self, sid):
        return (sid in self.rst or sid in self.ended or self.goaway is not None or self.eof)

    def outcome(self, sid):
        """What became of stream sid, for messages."""
        return ("status=%r rst=%s ended=%s goaway=%r eof=%s data=%r" % (
            self.status(sid), err_name(self.rst.get(sid)), sid in self.ended,
            self.goaway and (self.goaway[0], err_name(self.goaway[1]), self.goaway[2][:80]),
            self.eof, bytes(self.data.get(sid, b""))[:80]))

    def get_good(self, sid, timeout=5.0):
        """A good GET on this (still usable) connection: (status, body)."""
        assert self.request(sid, get_headers("/good")), "server closed the connection"
        self.read_until(lambda: self.stream_done(sid), timeout)
        return self.status(sid), bytes(self.data.get(sid, b""))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ------------------------------------------------- well-behaved clients --

def h2_get(port, path="/good", timeout=5.0, extra=()):
    """One GET with python3-h2 on a new connection: (status, body)."""
    cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
    conn = h2.connection.H2Connection(config=cfg)
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    deadline = time.monotonic() + timeout
    try:
        conn.initiate_connection()
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "GET"), (":scheme", "http"),
                                (":authority", "test.local"), (":path", path)] + list(extra),
                          end_stream=True)
        s.sendall(conn.data_to_send())
        status, body = None, bytearray()
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError("python3-h2 GET %s: no complete response in %.1fs"
                                   % (path, timeout))
            d = s.recv(65536)
            if not d:
                raise PeerClosed("python3-h2 GET %s: connection closed" % path)
            done = False
            for ev in conn.receive_data(d):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    status = int(dict(ev.headers)[":status"])
                elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == sid:
                    body += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                    done = True
                elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == sid:
                    raise PeerClosed("python3-h2 GET %s: RST_STREAM %s"
                                     % (path, err_name(ev.error_code)))
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    raise PeerClosed("python3-h2 GET %s: GOAWAY %s"
                                     % (path, err_name(ev.error_code)))
            s.sendall(conn.data_to_send())
            if done:
                return status, bytes(body)
    finally:
        s.close()


def curl_get(port, path="/good"):
    """curl --http2-prior-knowledge: (status, body, http_version)."""
    if shutil.which("curl") is None:
        skip_or_fail("curl not installed (scripts/bootstrap test)")
    r = run_cmd(["curl", "-sS", "--http2-prior-knowledge", "--max-time", "5",
                 "-o", "-", "-w", "\n%{http_code} %{http_version}",
                 "http://127.0.0.1:%d%s" % (port, path)])
    assert r.returncode == 0, r.stderr
    body, _, tail = r.stdout.rpartition(b"\n")
    code, ver = tail.decode().split()
    return int(code), body, ver


class GoodClient(threading.Thread):
    """python3-h2 GETs on fresh connections, one after another, while an
    attack runs.  start_and_wait() returns once one request was served;
    finish() stops the loop once at least one more request completed after
    the attack started, and fails if any request failed.  The stop event
    comes from sy.stop_event(), so a test failing mid-attack stops it too."""

    def __init__(self, port, stop_ev, want=GOOD, max_seconds=45.0):
        super().__init__(daemon=True)
        self.port, self.want, self.max_seconds = port, want, max_seconds
        self.stop_ev = stop_ev
        self.ok = 0
        self.failures = []

    def run(self):
        deadline = time.monotonic() + self.max_seconds
        while not self.stop_ev.is_set() and time.monotonic() < deadline:
            try:
                got = h2_get(self.port)
                if got == self.want:
                    self.ok += 1
                else:
                    self.failures.append("got %r" % (got,))
            except Exception as e:  # noqa: BLE001 - reported by finish()
                self.failures.append(repr(e))
            self.stop_ev.wait(0.02)

    def start_and_wait(self):
        self.start()
        wait_until(lambda: self.ok >= 1 or self.failures, timeout=10,
                   what="the well-behaved client's first request")
        assert not self.failures, "well-behaved client failed before the attack: %r" % (
            self.failures,)
        self.ok_at_attack = self.ok
        return self

    def finish(self):
        try:
            wait_until(lambda: self.ok > self.ok_at_attack or self.failures, timeout=10,
                       what="a well-behaved request served after the attack started")
        finally:
            self.stop_ev.set()
            self.join(10)
        assert not self.failures, "well-behaved client (python3-h2, second connection) " \
            "failed during the attack: %r" % (self.failures[:5],)
        assert self.ok > self.ok_at_attack


# ----------------------------------------------------- daemon and checks --

def h2_http(allow_connect=False, **opts):
    o = {"allow_connect": allow_connect, "max_concurrent_streams": 100,
         "initial_stream_window_size": 65536, "initial_connection_window_size": 1048576,
         "max_header_list_kb": 60}
    o.update(opts)
    return {"codec_type": "http2", "http2_protocol_options": o}


def start(sy, backend_port=None, allow_connect=False, **opts):
    """One worker, an h2c listener; /good is a direct response; everything
    else goes to backend_port (cluster app) or gets a direct "ok"."""
    d = sy.daemon()
    routes = [route(prefix="/good", body="good\n")]
    top = {}
    if backend_port is not None:
        routes.append(proxy_route("app"))
        top["clusters"] = [cluster("app", [backend_port])]
    else:
        routes.append(route(prefix="/", body="ok\n"))
    d.start(d.config(workers=1, routes=routes, http=h2_http(allow_connect, **opts), top=top))
    return d


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


class Watch:
    """The worker before an attack: its pid, RSS, and a peak-RSS mark."""

    def __init__(self, d):
        self.d = d
        # Warm the worker up (first HTTP/2 connection, first request) so
        # one-time allocations are not charged to the attack.
        assert h2_get(d.port) == GOOD
        self.pids = d.worker_pids()
        assert len(self.pids) == 1, self.pids
        self.pid = self.pids[0]
        self.asan = asan_build(self.pid)
        self.rss0 = proc_kb(self.pid, "VmRSS")
        try:    # Linux >= 4.0: "5" resets VmHWM to the current RSS
            with open("/proc/%d/clear_refs" % self.pid, "w") as f:
                f.write("5")
            self.hwm_reset = True
        except OSError:
            self.hwm_reset = False
        self.hwm0 = proc_kb(self.pid, "VmHWM")

    def growth_mib(self):
        """Peak RSS growth since the mark, in MiB."""
        hwm = proc_kb(self.pid, "VmHWM")
        if self.hwm_reset or hwm > self.hwm0:
            return (hwm - self.rss0) / 1024.0
        return (proc_kb(self.pid, "VmRSS") - self.rss0) / 1024.0   # no new peak

    def check(self, limit_mib=64, what=None):
        """The worker survived, memory stayed bounded, good clients are served."""
        assert self.d.worker_pids() == self.pids, "worker replaced: %r -> %r" % (
            self.pids, self.d.worker_pids())
        assert self.d.stat("server.worker_restarts") == 0
        # ASan's quarantine keeps up to 256 MiB of freed memory resident.
        limit = limit_mib + (256 if self.asan else 0)
        g = self.growth_mib()
        assert g < limit, "worker peak RSS grew %.1f MiB under attack (limit %d MiB)" % (
            g, limit)
        if what:
            figure("h2 hostile", "%s: worker peak RSS +%.1f MiB (limit %d)" % (what, g, limit))
        assert h2_get(self.d.port) == GOOD
        code, body, ver = curl_get(self.d.port)
        assert (code, body, ver) == (200, b"good\n", "2"), (code, body, ver)


def stat(d, name):
    return d.stat(H2 + name)


def h2stats(d):
    s = d.stats(filter=r"^http\.ingress_http\.http2\.")
    return {k[len(H2):]: v for k, v in s.items()}


def delta(before, after, name):
    assert name in after, "no stat %s%s" % (H2, name)
    return after[name] - before.get(name, 0)


@pytest.fixture(autouse=True)
def _h2_libs():
    if H2_IMPORT_ERROR is not None:
        skip_or_fail("python3-h2/hpack/hyperframe missing (%s)" % H2_IMPORT_ERROR)


# ------------------------------------------------------------ the tests --

def test_frame_helpers_agree_with_hyperframe():
    """The hand-built frames and header blocks parse as intended with the
    independent implementations (hyperframe, hpack), so an attack below is
    the attack it claims to be."""
    f = hyperframe.frame.Frame
    blk = block(get_headers("/x", extra=[("x-long", "v" * 300)]))
    for raw, cls, sid, flags in [
            (headers_frame(5, blk, end_stream=True), hyperframe.frame.HeadersFrame, 5,
             {"END_STREAM", "END_HEADERS"}),
            (continuation_frame(5, b"ab"), hyperframe.frame.ContinuationFrame, 5, set()),
            (rst_frame(7, CANCEL), hyperframe.frame.RstStreamFrame, 7, set()),
            (ping_frame(b"12345678"), hyperframe.frame.PingFrame, 0, set()),
            (settings_frame([(S_INITIAL_WINDOW_SIZE, 0)]), hyperframe.frame.SettingsFrame, 0,
             set()),
            (priority_frame(9), hyperframe.frame.PriorityFrame, 9, set()),
            (window_update_frame(0, 1), hyperframe.frame.WindowUpdateFrame, 0, set()),
            (data_frame(3), hyperframe.frame.DataFrame, 3, set())]:
        fr, n = f.parse_frame_header(memoryview(raw[:9]))
        fr.parse_body(memoryview(raw[9:9 + n]))
        assert isinstance(fr, cls) and fr.stream_id == sid and set(fr.flags) == flags, fr
    assert hpack.Decoder().decode(blk) == get_headers("/x", extra=[("x-long", "v" * 300)])
    # The bomb: one 4000-byte entry, then references to it.
    dec = hpack.Decoder()
    dec.max_header_list_size = 1 << 30
    bomb = hpack_lit_indexed("x-bomb", "b" * 4000) + hpack_indexed(62) * 3
    assert dec.decode(bomb) == [("x-bomb", "b" * 4000)] * 4
    assert hpack_int(1337, 5) == bytes([31, 154, 10])          # RFC 7541 C.1.2
    rf, _ = f.parse_frame_header(memoryview(rst_frame(1, CANCEL)[:9]))
    rf.parse_body(memoryview(rst_frame(1, CANCEL)[9:]))
    assert rf.error_code == CANCEL


def test_well_behaved_clients_baseline(sy):
    """The precondition of everything below: the h2c listener serves
    python3-h2, curl and the raw client, and counts them."""
    d = start(sy)
    assert h2_get(d.port) == GOOD
    assert curl_get(d.port) == (200, b"good\n", "2")
    with RawH2(d.port) as c:
        st = c.handshake()
        # allow_connect = false: no SETTINGS_ENABLE_CONNECT_PROTOCOL = 1
        assert st.get(S_ENABLE_CONNECT_PROTOCOL, 0) == 0, st
        assert c.get_good(1) == GOOD, c.outcome(1)
        assert c.get_good(3) == GOOD, c.outcome(3)
    d.wait_stat(P + "downstream_rq_http2_total", lambda v: v == 4)
    d.wait_stat(P + "downstream_cx_http2_total", lambda v: v == 3)
    d.wait_stat(P + "downstream_cx_http2_active", lambda v: v == 0)
    assert stat(d, "streams_active") == 0


def test_rapid_reset(sy):
    """CVE-2023-44487: HEADERS + RST_STREAM(CANCEL) x 20,000 on one
    connection, written without waiting.  The stream reset rate limit must
    tear the connection down with a GOAWAY long before the 20,000th."""
    d = start(sy)
    w = Watch(d)
    before = h2stats(d)
    good = GoodClient(d.port, sy.stop_event()).start_and_wait()
    n = 20000
    blk = block(get_headers("/"))
    attack = b"".join(headers_frame(sid, blk) + rst_frame(sid, CANCEL)
                      for sid in range(1, 2 * n, 2))
    with RawH2(d.port, decode=False) as c:
        c.handshake()
        sent = c.blast(attack, timeout=10)
        c.read_until(lambda: c.goaway is not None, timeout=5)
        c.read_to_close(timeout=5)
        assert c.goaway is not None, "no GOAWAY after %d of %d bytes of rapid reset (eof=%s)" \
            % (sent, len(attack), c.eof)
        last, code, dbg = c.goaway
        # nghttp2's own stream_reset_rate_limit answers INTERNAL_ERROR
        # (1.57+/Debian backport); switchyard's own check ENHANCE_YOUR_CALM.
        assert code in (ENHANCE_YOUR_CALM, INTERNAL_ERROR), (err_name(code), dbg)
        assert last < n, "GOAWAY last-stream-id %d: more than half of the %d streams " \
            "were processed before the rate limit hit" % (last, n)
        assert c.eof, "connection left open after the GOAWAY"
    figure("h2 hostile", "rapid reset: GOAWAY %s last-stream-id %d after %d of %d bytes"
           % (err_name(code), last, sent, len(attack)))
    good.finish()
    after = h2stats(d)
    assert delta(before, after, "rx_reset") >= 1
    assert delta(before, after, "goaway_sent") >= 1
    if code == ENHANCE_YOUR_CALM:
        assert delta(before, after, "reset_flood") == 1
    d.wait_stat(P + "downstream_cx_http2_active", lambda v: v == 0)
    d.wait_stat(H2 + "streams_active", lambda v: v == 0)
    w.check(what="rapid reset")


def test_continuation_flood(sy):
    """CVE-2024-27316 style: a HEADERS without END_HEADERS, then 20,000
    CONTINUATION frames each carrying one more small header, never ending
    the block.  The server must give up on the connection (it cannot
    answer the stream while the block is open) and not buffer the block."""
    d = start(sy)
    w = Watch(d)
    before = h2stats(d)
    good = GoodClient(d.port, sy.stop_event()).start_and_wait()
    attack = headers_frame(1, block(get_headers("/")), end_stream=True, end_headers=False)
    attack += b"".join(continuation_frame(1, hpack_lit("x-c%d" % (i % 10), "v" * 8))
                       for i in range(20000))
    with RawH2(d.port) as c:
        c.handshake()
        c.blast(attack, timeout=10)
        closed = c.read_to_close(timeout=5)
        # Accepted: GOAWAY (ENHANCE_YOUR_CALM, PROTOCOL_ERROR, or
        # INTERNAL_ERROR from nghttp2's max_continuations path) then close,
        # or a plain close: the header block never ended, so no stream-level
        # answer is possible (RFC 9113 6.10: a block is one unit).
        assert closed, "connection still open after a CONTINUATION flood: %s" % c.outcome(1)
        if c.goaway is not None:
            assert c.goaway[1] in (ENHANCE_YOUR_CALM, PROTOCOL_ERROR, INTERNAL_ERROR), \
                c.outcome(1)
        assert c.status(1) is None, "the endless header block was answered: %s" % c.outcome(1)
        figure("h2 hostile", "continuation flood: %s" % c.outcome(1))
    good.finish()
    after = h2stats(d)
    assert delta(before, after, "continuation_flood") + \
        delta(before, after, "header_overflow") >= 1, after
    d.wait_stat(P + "downstream_cx_http2_active", lambda v: v == 0)
    w.check(limit_mib=16, what="continuation flood")


def test_hpack_bomb(sy):
    """One 4000-byte header inserted in the HPACK dynamic table, then
    12,000 one-byte references to it in the same block: ~16 KB on the
    wire, ~48 MB decoded against max_header_list_kb = 60.  The stream is
    refused without decoding into memory; the connection either stays
    usable (stream error) or is closed (connection error)."""
    d = start(sy)
    w = Watch(d)
    before = h2stats(d)
    good = GoodClient(d.port, sy.stop_event()).start_and_wait()
    refs = 12000
    blk = block(get_headers("/bomb")) + hpack_lit_indexed("x-bomb", "b" * 4000) + \
        hpack_indexed(62) * refs
    assert len(blk) < 16384          # one frame at the default SETTINGS_MAX_FRAME_SIZE
    with RawH2(d.port) as c:
        c.handshake()
        assert c.send(headers_frame(1, blk))
        c.read_until(lambda: c.stream_done(1), timeout=10)
        # RFC 9113 10.5.1 leaves the choice: a 431 response, a stream error
        # (nghttp2 resets with INTERNAL_ERROR when the header callback
        # refuses, REFUSED_STREAM / PROTOCOL_ERROR / ENHANCE_YOUR_CALM are
        # as good) or a connection error (GOAWAY COMPRESSION_ERROR /
        # ENHANCE_YOUR_CALM / PROTOCOL_ERROR / INTERNAL_ERROR, or close).
        # Never a response from the route.
        st = c.status(1)
        if st is not None:
            assert st == 431, c.outcome(1)
            stream_level = True
        elif 1 in c.rst:
            assert c.rst[1] in (INTERNAL_ERROR, REFUSED_STREAM, PROTOCOL_ERROR,
                                ENHANCE_YOUR_CALM), c.outcome(1)
            stream_level = True
        else:
            assert c.goaway is not None or c.eof, "no answer to the HPACK bomb: %s" % \
                c.outcome(1)
            if c.goaway is not None:
                assert c.goaway[1] in (COMPRESSION_ERROR, ENHANCE_YOUR_CALM, PROTOCOL_ERROR,
                                       INTERNAL_ERROR), c.outcome(1)
            stream_level = False
        if stream_level:
            # The server decoded the whole block (HPACK state in sync) and
            # the connection goes on.
            assert c.goaway is None and not c.eof, c.outcome(1)
            assert c.get_good(3) == GOOD, c.outcome(3)
        figure("h2 hostile", "hpack bomb: %s" % c.outcome(1))
    good.finish()
    after = h2stats(d)
    assert delta(before, after, "header_overflow") == 1, after
    w.check(limit_mib=16, what="hpack bomb")


@pytest.mark.parametrize("kind", ["ping", "settings"])
def test_control_frame_flood_client_never_reads(sy, kind):
    """100,000 PINGs (or empty SETTINGS) from a client with a tiny receive
    buffer that never reads: every one obliges an ACK that cannot be
    delivered.  The server must not queue them without bound: the
    connection is closed and the flood counted."""
    d = start(sy)
    w = Watch(d)
    before = h2stats(d)
    good = GoodClient(d.port, sy.stop_event()).start_and_wait()
    one = ping_frame(b"pingpong") if kind == "ping" else settings_frame()
    attack = one * 100000
    c = RawH2(d.port, rcvbuf=4096, auto_ack=False)
    try:
        # Never read: drain=False.  The server's SETTINGS stay unacked too.
        sent = c.blast(attack, timeout=8, drain=False)
        good.finish()
        # Oracle: the server closed its side (the gauge counts it even
        # though our socket still holds unread ACKs).
        d.wait_stat(P + "downstream_cx_http2_active", lambda v: v == 0, timeout=10)
        # Now look: everything up to the close is readable, then EOF/reset.
        assert c.read_to_close(timeout=5), "flooding connection not closed"
    finally:
        c.close()
    after = h2stats(d)
    assert delta(before, after, "outbound_flood") + \
        delta(before, after, "inbound_control_frames_flood") == 1, (sent, after)
    figure("h2 hostile", "%s flood: closed after %d of %d bytes, GOAWAY %s, outbound_flood "
           "+%d inbound_control_frames_flood +%d" % (
               kind, sent, len(attack), err_name(c.goaway and c.goaway[1]),
               delta(before, after, "outbound_flood"),
               delta(before, after, "inbound_control_frames_flood")))
    if c.goaway is not None:
        assert c.goaway[1] in FLOOD_CODES, err_name(c.goaway[1])
    w.check(what="%s flood" % kind)


def test_zero_window_stall_20mb(sy):
    """A client with SETTINGS_INITIAL_WINDOW_SIZE = 0 asks for 20 MB from
    an HTTP/1.1 upstream.  Back-pressure: switchyard stops reading the
    upstream (cluster rx stalls far below 20 MB) and its RSS does not grow
    by anything near 20 MB; another client is served meanwhile; once the
    window opens all 20 MB arrive intact."""
    size = 20 * 1000 * 1000
    body = random.Random(85).randbytes(size)
    digest = hashlib.sha256(body).hexdigest()
    progress = {"sent": 0}

    def answer(conn):
        conn.read_head()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        step = 64 * 1024
        for off in range(0, size, step):
            conn.send(body[off:off + step])
            progress["sent"] = off + len(body[off:off + step])

    srv = sy.upstream(RawServer(answer, conn_timeout=40))
    d = start(sy, backend_port=srv.port)
    w = Watch(d)
    rx = "cluster.app.upstream_cx_rx_bytes_total"
    with RawH2(d.port, settings=[(S_ENABLE_PUSH, 0), (S_INITIAL_WINDOW_SIZE, 0)],
               auto_window=False, timeout=30) as c:
        c.handshake()
        assert c.request(1, get_headers("/big"))
        assert c.read_until(lambda: c.status(1) is not None or c.stream_done(1), 10), \
            c.outcome(1)
        assert c.status(1) == 200, c.outcome(1)
        last = {"v": -1, "t": time.monotonic()}

        def stalled():
            c.read_until(lambda: False, timeout=0.05)     # keep parsing what arrives
            v = d.stats()[rx]
            now = time.monotonic()
            if v != last["v"]:
                last["v"], last["t"] = v, now
                return False
            return v > 0 and now - last["t"] >= 0.3
        wait_until(stalled, timeout=15, what="switchyard to stop reading the upstream")
        # Zero window: not one DATA byte may have been sent on stream 1.
        assert len(c.data.get(1, b"")) == 0, "DATA sent into a zero window: %d bytes" % \
            len(c.data.get(1, b""))
        assert 1 not in c.rst and c.goaway is None and not c.eof, c.outcome(1)
        buffered = last["v"]
        assert buffered < 8 * MIB, "switchyard read %d bytes from the upstream for a " \
            "stream with a zero window" % buffered
        assert progress["sent"] < size, "the upstream could send all 20 MB: no back-pressure"
        limit = 8 + (256 if w.asan else 0)
        g = w.growth_mib()
        assert g < limit, "worker RSS grew %.1f MiB while the client stalled" % g
        figure("h2 hostile", "zero window: upstream read stalled at %d bytes (upstream sent %d "
               "of %d), worker peak RSS +%.1f MiB" % (buffered, progress["sent"], size, g))
        # The stall harms nobody else.
        for _ in range(3):
            assert h2_get(d.port) == GOOD
        # Open the windows: stream (SETTINGS delta) and connection.
        assert c.send(settings_frame([(S_INITIAL_WINDOW_SIZE, MAX_WINDOW)]) +
                      window_update_frame(0, MAX_WINDOW - 65535))
        assert c.read_until(lambda: 1 in c.ended or 1 in c.rst or c.eof, timeout=30), \
            "got %d of %d bytes" % (len(c.data.get(1, b"")), size)
        got = bytes(c.data.get(1, b""))
        assert 1 in c.ended, c.outcome(1)
        assert len(got) == size, (len(got), size)
        assert hashlib.sha256(got).hexdigest() == digest, "20 MB body corrupted"
    d.wait_stat(H2 + "streams_active", lambda v: v == 0)
    w.check(limit_mib=16, what="zero window")


def test_extended_connect_refused_without_allow_connect(sy):
    """A `:protocol` request on a listener with allow_connect = false (the
    server did not send SETTINGS_ENABLE_CONNECT_PROTOCOL = 1): that stream
    is reset, the connection stays usable for the next stream."""
    d = start(sy, allow_connect=False)
    w = Watch(d)
    before = h2stats(d)
    with RawH2(d.port) as c:
        st = c.handshake()
        assert st.get(S_ENABLE_CONNECT_PROTOCOL, 0) == 0, st
        assert c.request(1, [(":method", "CONNECT"), (":protocol", "websocket"),
                             (":scheme", "http"), (":path", "/chat"),
                             (":authority", "test.local"), ("sec-websocket-version", "13")],
                         end_stream=False)
        c.read_until(lambda: c.stream_done(1), timeout=5)
        # RFC 8441 3: :protocol without the setting is malformed ->
        # PROTOCOL_ERROR (what nghttp2 sends); REFUSED_STREAM is accepted
        # for a refusal decided by switchyard itself.  Not a GOAWAY.
        assert c.rst.get(1) in (PROTOCOL_ERROR, REFUSED_STREAM), c.outcome(1)
        assert c.status(1) is None, c.outcome(1)
        assert c.goaway is None and not c.eof, c.outcome(1)
        assert c.get_good(3) == GOOD, c.outcome(3)
    after = h2stats(d)
    assert delta(before, after, "extended_connect_refused") == 1, after
    w.check(what="extended connect")


def recording_backend(sy):
    """An upstream that answers every request 200 "ok" and keeps every
    byte it received, to prove what did (not) reach it."""
    def answer(conn):
        while True:
            conn.read_head()
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    return sy.upstream(RawServer(answer))


def received(srv):
    return b"".join(c.received for c in srv.conns)


def run_bad_streams(d, cases, counter="rx_messaging_error"):
    """Send each bad request on a new stream of one connection, each
    followed by a good GET on the same connection; every bad request must
    move `counter` by exactly one.  Returns problems."""
    problems = []
    with RawH2(d.port) as c:
        c.handshake()
        sid = 1
        for name, hdrs in cases:
            n0 = stat(d, counter)
            if not c.request(sid, hdrs):
                problems.append("%s: connection gone before sending" % name)
                break
            c.read_until(lambda: c.stream_done(sid), timeout=5)
            # RFC 9113 8.1.1: a malformed request is a stream error of type
            # PROTOCOL_ERROR; a server may instead answer 400 first (8.1.1:
            # "MAY send an HTTP response prior to closing or resetting").
            st = c.status(sid)
            ok = (c.rst.get(sid) == PROTOCOL_ERROR and st in (None, 400)) or \
                (st == 400 and sid in c.ended)
            if not ok:
                problems.append("%s: %s" % (name, c.outcome(sid)))
            if c.goaway is not None or c.eof:
                problems.append("%s: connection torn down for a stream error: %s"
                                % (name, c.outcome(sid)))
                break
            got = c.get_good(sid + 2)
            if got != GOOD:
                problems.append("%s: good request after it on the same connection: %r %s"
                                % (name, got, c.outcome(sid + 2)))
            n = stat(d, counter) - n0
            if n != 1:
                problems.append("%s: %s moved by %d, not 1" % (name, counter, n))
            sid += 4
    return problems


def check_bad_requests(sy, what, cases):
    srv = recording_backend(sy)
    d = start(sy, backend_port=srv.port)
    w = Watch(d)
    problems = run_bad_streams(d, cases)
    # Only /good requests were valid, and /good is a direct response: not
    # one byte may have reached the upstream.
    seen = received(srv)
    if seen:
        problems.append("reached the upstream: %r" % seen[:600])
    assert not problems, "\n".join(problems)
    w.check(what=what)
    return d, srv


def bad_get(tag, extra=(), path=None):
    return get_headers(path or "/bad/" + tag, extra=extra)


def test_malformed_pseudo_headers(sy):
    A = ("x-a", "b")
    cases = [
        ("missing-path", [(":method", "GET"), (":scheme", "http"),
                          (":authority", "test.local")]),
        ("missing-method", [(":scheme", "http"), (":path", "/bad/missing-method"),
                            (":authority", "test.local")]),
        ("missing-scheme", [(":method", "GET"), (":path", "/bad/missing-scheme"),
                            (":authority", "test.local")]),
        ("empty-path", [(":method", "GET"), (":scheme", "http"), (":path", ""),
                        (":authority", "test.local")]),
        ("duplicate-method", [(":method", "GET"), (":method", "GET")] +
         bad_get("dup")[1:]),
        ("duplicate-path", bad_get("dup-path") + [(":path", "/bad/dup-path2")]),
        ("status-in-request", [(":status", "200")] + bad_get("status")),
        ("unknown-pseudo", bad_get("unknown") + [(":foo", "bar")]),
        ("pseudo-after-regular", [(":method", "GET"), (":scheme", "http"), A,
                                  (":path", "/bad/after"), (":authority", "test.local")]),
        ("uppercase-name", bad_get("upper", extra=[("X-Upper", "v")])),
        ("mixed-case-name", bad_get("mixed", extra=[("x-A", "v")])),
    ]
    check_bad_requests(sy, "malformed pseudo-headers", cases)


def test_connection_specific_headers(sy):
    """RFC 9113 8.2.2: connection-specific fields make a request malformed;
    TE other than "trailers" too.  `te: trailers` is the one allowed."""
    cases = [(name, bad_get(name.replace(":", ""), extra=[(name, value)])) for name, value in [
        ("connection", "keep-alive"),
        ("transfer-encoding", "chunked"),
        ("upgrade", "websocket"),
        ("keep-alive", "timeout=5"),
        ("proxy-connection", "keep-alive"),
        ("te", "gzip"),
        ("te", "trailers, gzip"),
    ]]
    d, srv = check_bad_requests(sy, "connection-specific headers", cases)
    # The control: te: trailers passes and reaches the upstream.
    with RawH2(d.port) as c:
        c.handshake()
        assert c.request(1, get_headers("/te-trailers", extra=[("te", "trailers")]))
        c.read_until(lambda: c.stream_done(1), timeout=5)
        assert c.status(1) == 200 and bytes(c.data.get(1, b"")) == b"ok\n", c.outcome(1)
    assert b"GET /te-trailers " in received(srv)


def test_cr_lf_nul_in_values(sy):
    """CR, LF or NUL in a field value make the request malformed (RFC 9113
    8.2.1): the stream is reset (or 400) and nothing reaches the upstream,
    in particular no header split off a value.  (nghttp2 by default drops
    such a regular header silently and goes on: switchyard must refuse.)"""
    inj = "a\r\nx-injected: 1"
    cases = [
        ("cr", bad_get("cr", extra=[("x-v", "a\rb")])),
        ("lf", bad_get("lf", extra=[("x-v", "a\nb")])),
        ("nul", bad_get("nul", extra=[("x-v", "a\x00b")])),
        ("crlf-injection", bad_get("crlf", extra=[("x-v", inj)])),
        ("crlf-in-name", bad_get("crlf-name", extra=[("x-v\r\nx-injected", "1")])),
        ("crlf-in-path", [(":method", "GET"), (":scheme", "http"),
                          (":path", "/bad/p HTTP/1.1\r\nx-injected: 1\r\nx-z: "),
                          (":authority", "test.local")]),
        ("crlf-in-authority", [(":method", "GET"), (":scheme", "http"),
                               (":path", "/bad/auth"), (":authority", "test.local\r\nx-injected: 1")]),
        ("crlf-in-method", [(":method", "GET /bad/m HTTP/1.1\r\nx-injected: 1\r\nX"),
                            (":scheme", "http"), (":path", "/bad/m2"),
                            (":authority", "test.local")]),
    ]
    check_bad_requests(sy, "CR/LF/NUL", cases)


def test_empty_data_frame_flood(sy):
    """10,000 zero-length DATA frames without END_STREAM on an open POST
    stream (an upstream that waits for the body): each costs the server
    work and carries nothing.  GOAWAY, counted once."""
    srv = sy.backend()
    d = start(sy, backend_port=srv.port)
    w = Watch(d)
    before = h2stats(d)
    good = GoodClient(d.port, sy.stop_event()).start_and_wait()
    with RawH2(d.port) as c:
        c.handshake()
        assert c.request(1, [(":method", "POST"), (":scheme", "http"), (":path", "/echo"),
                             (":authority", "test.local")], end_stream=False)
        c.blast(data_frame(1) * 10000, timeout=10)
        c.read_until(lambda: c.goaway is not None, timeout=5)
        assert c.goaway is not None, "no GOAWAY after 10,000 empty DATA frames: %s" % \
            c.outcome(1)
        assert c.goaway[1] in FLOOD_CODES, c.outcome(1)
        assert c.read_to_close(timeout=5), "connection left open after the GOAWAY"
    good.finish()
    after = h2stats(d)
    assert delta(before, after, "inbound_empty_frames_flood") == 1, after
    d.wait_stat(H2 + "streams_active", lambda v: v == 0)
    w.check(what="empty DATA flood")


@pytest.mark.parametrize("kind", ["priority", "window_update"])
def test_priority_and_window_update_floods(sy, kind):
    """50,000 PRIORITY frames (for a stream never opened), or 50,000
    connection WINDOW_UPDATEs of 1 byte: legal one by one, a flood
    together.  GOAWAY, counted once."""
    d = start(sy)
    w = Watch(d)
    before = h2stats(d)
    good = GoodClient(d.port, sy.stop_event()).start_and_wait()
    if kind == "priority":
        one, counter = priority_frame(1), "inbound_priority_frames_flood"
    else:
        one, counter = window_update_frame(0, 1), "inbound_window_update_frames_flood"
    with RawH2(d.port) as c:
        c.handshake()
        sent = c.blast(one * 50000, timeout=10)
        c.read_until(lambda: c.goaway is not None, timeout=5)
        assert c.goaway is not None, "no GOAWAY after %d bytes of %s frames (eof=%s)" % (
            sent, kind, c.eof)
        assert c.goaway[1] in FLOOD_CODES, err_name(c.goaway[1])
        assert c.read_to_close(timeout=5), "connection left open after the GOAWAY"
    good.finish()
    after = h2stats(d)
    assert delta(before, after, counter) == 1, after
    assert delta(before, after, "goaway_sent") >= 1, after
    w.check(what="%s flood" % kind)
