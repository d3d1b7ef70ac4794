"""h2lib - HTTP/2 helpers for switchyard's integration tests (test_20_h2,
test_45_h2_upgrade, test_46_h2_edges).

Independent HTTP/2 peers written with Debian's python3-h2 (4.1):

  H2Client    a blocking prior-knowledge h2c client: requests, extended
              CONNECT (RFC 8441), DATA with flow control, RST_STREAM and
              GOAWAY seen as they arrive, the peer's SETTINGS kept.
  H2Server    an h2c server on 127.0.0.1:0, one thread per connection:
              plain requests (a JSON description of what arrived, /echo,
              /status/N) and extended CONNECT tunnels that echo DATA (a
              `websocket` tunnel speaks RFC 6455 and echoes unmasked frames,
              as a WebSocket server must; any other :protocol echoes bytes).
              ENABLE_CONNECT_PROTOCOL is advertised or not on request.

plus an RFC 6455 frame decoder (the encoder is sylib.ws_frame), the
python3-websockets application used behind the chain (WsApp: records every
handshake and every close), node helpers, and chain(): the seed's two
switchyard instances, front (HTTP/1.1 in, HTTP/2 cluster) and sidecar
(h2c in with allow_connect, HTTP/1.1 cluster to the app).

Nothing sleeps: every wait polls a socket or a predicate with a deadline.
"""

import asyncio
import json
import os
import select
import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

import sylib
from sylib import (WS_CLOSE, WS_PING, WS_PONG, cluster, proxy_config,
                   proxy_route, wait_until, ws_frame, xor_mask)

ENABLE_CONNECT_PROTOCOL = 0x8      # RFC 8441 section 3
TOOLS = Path(__file__).resolve().parent / "tools"
NODE_PATH = "/usr/share/nodejs"

__all__ = ["ENABLE_CONNECT_PROTOCOL", "Chain", "H2Client", "H2Closed", "H2Server", "H2Stream",
           "UPGRADES", "WsApp", "WsDecoder", "chain", "curl_or_skip", "h2_options",
           "nghttp_or_skip", "node_or_skip", "run_node", "ws_decode", "ws_frame"]


# ------------------------------------------------------- RFC 6455 frames --

class WsDecoder:
    """Incremental RFC 6455 frame decoder: feed() bytes, get whole frames
    as (fin, opcode, payload, masked), the payload unmasked."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            f = self._one()
            if f is None:
                return out
            out.append(f)

    def _one(self):
        b = self.buf
        if len(b) < 2:
            return None
        n = b[1] & 0x7F
        pos = 2
        if n == 126:
            if len(b) < 4:
                return None
            n = struct.unpack("!H", b[2:4])[0]
            pos = 4
        elif n == 127:
            if len(b) < 10:
                return None
            n = struct.unpack("!Q", b[2:10])[0]
            pos = 10
        masked = bool(b[1] & 0x80)
        key = None
        if masked:
            if len(b) < pos + 4:
                return None
            key = b[pos:pos + 4]
            pos += 4
        if len(b) < pos + n:
            return None
        payload = b[pos:pos + n]
        if masked:
            payload = xor_mask(payload, key)
        self.buf = b[pos + n:]
        return bool(b[0] & 0x80), b[0] & 0x0F, payload, masked


def ws_decode(data):
    """(frames, leftover bytes) of a byte string."""
    d = WsDecoder()
    frames = d.feed(data)
    return frames, d.buf


# ------------------------------------------------------------ h2 client --

class H2Stream:
    """What a client saw on one stream."""

    def __init__(self, sid):
        self.id = sid
        self.headers = None         # [(name, value)] of the final response head
        self.informational = []
        self.trailers = None
        self.data = bytearray()
        self.ended = False          # END_STREAM received
        self.reset = None           # RST_STREAM error code received
        self.ws = WsDecoder()
        self.frames = []            # WebSocket frames decoded from data (ws mode)

    @property
    def status(self):
        if self.headers is None:
            return None
        return int(self.header(":status"))

    def header(self, name, default=None):
        for k, v in self.headers or ():
            if k == name:
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers or () if k == name]

    @property
    def closed(self):
        return self.ended or self.reset is not None

    def __repr__(self):
        return "<H2Stream %d headers=%r data=%r ended=%r reset=%r>" % (
            self.id, self.headers, bytes(self.data[:80]), self.ended, self.reset)


class H2Closed(Exception):
    """The server closed the TCP connection."""


class H2Client:
    """A python3-h2 client on one prior-knowledge h2c connection.

    validate=False turns off h2's checks of what we send, so a test can send
    what a correct client would not (a :protocol without the peer's
    setting, :authority and host that disagree).  Every DATA byte received
    is acknowledged at once (our windows never close) unless auto_ack is
    False.

    survive_goaway=True keeps python-h2 from seeing the server's GOAWAY
    (h2 4.1 refuses every frame, sent or received, after one): the frame
    is taken out of the byte stream, recorded in `goaway` (and `events`)
    as a ConnectionTerminated, and the streams the server still processes
    (ids up to last_stream_id, RFC 9113 6.8) keep working.  Opening a new
    stream afterwards is the test's mistake."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0, validate=True, auto_ack=True,
                 local_settings=None, survive_goaway=False):
        self.timeout = timeout
        self.auto_ack = auto_ack
        self.survive_goaway = survive_goaway
        self._rx = b""              # survive_goaway: bytes of an incomplete frame
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                        validate_outbound_headers=validate,
                                        normalize_outbound_headers=validate)
        self.conn = h2.connection.H2Connection(config=cfg)
        if local_settings:
            self.conn.local_settings = h2.settings.Settings(client=True,
                                                            initial_values=local_settings)
        self.streams = {}
        self.settings_frames = []   # one {code: value} per SETTINGS received
        self.goaway = None          # ConnectionTerminated event
        self.eof = False
        self.events = []            # every event, in order
        self.conn.initiate_connection()
        self.flush()

    # -- plumbing

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def pump(self, timeout=0.05):
        """Read what arrived within timeout and process it; False on EOF."""
        if self.eof:
            return False
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return True
        try:
            data = self.sock.recv(1 << 20)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.eof = True
            return False
        if self.survive_goaway:
            data = self._take_goaway(data)
        self._handle(self.conn.receive_data(data))
        self.flush()
        return True

    def _take_goaway(self, data):
        """survive_goaway: the bytes minus GOAWAY frames (recorded), whole
        frames only (a partial one waits for the next read)."""
        buf = self._rx + data
        out = []
        pos = 0
        while len(buf) - pos >= 9:
            n = int.from_bytes(buf[pos:pos + 3], "big")
            if len(buf) - pos < 9 + n:
                break
            ftype = buf[pos + 3]
            if ftype == 0x7:
                payload = buf[pos + 9:pos + 9 + n]
                ev = h2.events.ConnectionTerminated()
                ev.last_stream_id = int.from_bytes(payload[0:4], "big") & 0x7FFFFFFF
                ev.error_code = h2.errors._error_code_from_int(
                    int.from_bytes(payload[4:8], "big"))
                ev.additional_data = bytes(payload[8:]) or None
                self.events.append(ev)
                self.goaway = ev
            else:
                out.append(buf[pos:pos + 9 + n])
            pos += 9 + n
        self._rx = buf[pos:]
        return b"".join(out)

    def _stream(self, sid):
        s = self.streams.get(sid)
        if s is None:
            s = self.streams[sid] = H2Stream(sid)
        return s

    def _handle(self, events):
        for ev in events:
            self.events.append(ev)
            if isinstance(ev, h2.events.ResponseReceived):
                self._stream(ev.stream_id).headers = list(ev.headers)
            elif isinstance(ev, h2.events.InformationalResponseReceived):
                self._stream(ev.stream_id).informational.append(list(ev.headers))
            elif isinstance(ev, h2.events.TrailersReceived):
                self._stream(ev.stream_id).trailers = list(ev.headers)
            elif isinstance(ev, h2.events.DataReceived):
                s = self._stream(ev.stream_id)
                s.data += ev.data
                s.frames.extend(s.ws.feed(ev.data))
                if self.auto_ack and ev.flow_controlled_length:
                    self.conn.acknowledge_received_data(ev.flow_controlled_length,
                                                        ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                self._stream(ev.stream_id).ended = True
            elif isinstance(ev, h2.events.StreamReset):
                self._stream(ev.stream_id).reset = ev.error_code
            elif isinstance(ev, h2.events.RemoteSettingsChanged):
                self.settings_frames.append({int(k): v.new_value
                                             for k, v in ev.changed_settings.items()})
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.goaway = ev

    def wait(self, pred, timeout=None, what="h2 condition"):
        """Pump until pred() is true; AssertionError at the deadline or if
        the connection ends first."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            v = pred()
            if v:
                return v
            left = deadline - time.monotonic()
            if left <= 0:
                raise sylib.Timeout("timed out waiting for %s (goaway=%r eof=%r)"
                                    % (what, self.goaway, self.eof))
            if not self.pump(min(left, 0.05)):
                v = pred()
                if v:
                    return v
                raise H2Closed("connection closed while waiting for %s (goaway=%r)"
                               % (what, self.goaway))

    # -- settings

    def wait_settings(self, timeout=None):
        """The server's first SETTINGS frame as {code: value}."""
        self.wait(lambda: self.settings_frames, timeout, "the server's SETTINGS")
        return self.settings_frames[0]

    def peer_allows_connect_protocol(self):
        s = self.wait_settings()
        return s.get(ENABLE_CONNECT_PROTOCOL, 0) == 1

    # -- streams

    def request(self, headers, body=None, end_stream=True):
        """Open a stream with headers ([(name, value)] in order); send body
        if any; END_STREAM unless end_stream is False.  Returns the id."""
        sid = self.conn.get_next_available_stream_id()
        self._stream(sid)
        self.conn.send_headers(sid, headers, end_stream=end_stream and not body)
        self.flush()
        if body:
            self.send_data(sid, body, end_stream=end_stream)
        return sid

    def send_data(self, sid, data, end_stream=False):
        """Send data on sid in frames the peer's windows allow, pumping
        (and so reading) while a window is closed."""
        view = memoryview(bytes(data))
        while len(view):
            win = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if win <= 0:
                s = self.streams[sid]
                self.wait(lambda: s.closed or self.conn.local_flow_control_window(sid) > 0,
                          what="a WINDOW_UPDATE on stream %d" % sid)
                if s.closed:
                    raise AssertionError("stream %d closed while sending: %r" % (sid, s))
                continue
            n = min(win, len(view))
            self.conn.send_data(sid, view[:n].tobytes())
            view = view[n:]
            self.flush()
        if end_stream:
            self.conn.end_stream(sid)
            self.flush()

    def end_stream(self, sid):
        self.conn.end_stream(sid)
        self.flush()

    def reset_stream(self, sid, code=h2.errors.ErrorCodes.CANCEL):
        self.conn.reset_stream(sid, code)
        self.flush()

    def wait_headers(self, sid, timeout=None):
        s = self.streams[sid]
        self.wait(lambda: s.headers is not None or s.reset is not None, timeout,
                  "response headers on stream %d" % sid)
        return s

    def wait_end(self, sid, timeout=None):
        s = self.streams[sid]
        self.wait(lambda: s.closed, timeout, "the end of stream %d" % sid)
        return s

    def wait_reset(self, sid, timeout=None):
        s = self.streams[sid]
        self.wait(lambda: s.reset is not None or s.ended, timeout,
                  "RST_STREAM on stream %d" % sid)
        return s

    def wait_data(self, sid, n, timeout=None):
        s = self.streams[sid]
        self.wait(lambda: len(s.data) >= n or s.closed, timeout,
                  "%d bytes on stream %d" % (n, sid))
        return s

    def fetch(self, method="GET", path="/", authority="h2.test", scheme="http", extra=(),
              body=None, timeout=None):
        """One request on a new stream; the whole response as an H2Stream."""
        hdrs = [(":method", method), (":scheme", scheme), (":authority", authority),
                (":path", path)] + list(extra)
        sid = self.request(hdrs, body=body)
        return self.wait_end(sid, timeout)

    # -- extended CONNECT and WebSocket frames inside DATA

    def extended_connect(self, path="/ws", protocol="websocket", authority="h2.test",
                         extra=(("sec-websocket-version", "13"),)):
        """Open an RFC 8441 tunnel as browsers do it (no sec-websocket-key);
        returns the stream id without waiting for the answer."""
        hdrs = [(":method", "CONNECT"), (":protocol", protocol), (":scheme", "http"),
                (":path", path), (":authority", authority)] + list(extra)
        return self.request(hdrs, end_stream=False)

    def ws_send(self, sid, op, payload=b"", fin=True):
        self.send_data(sid, ws_frame(op, payload, fin=fin, mask=True))

    def ws_recv(self, sid, timeout=None):
        """The next WebSocket frame the server sent on sid."""
        s = self.streams[sid]
        self.wait(lambda: s.frames or s.closed, timeout, "a WebSocket frame on stream %d" % sid)
        if not s.frames:
            raise AssertionError("stream %d ended without a frame: %r" % (sid, s))
        return s.frames.pop(0)


# ------------------------------------------------------------ h2 server --

class _SrvStream:
    def __init__(self, rec):
        self.rec = rec
        self.out = bytearray()
        self.end_after = False      # END_STREAM once out is flushed
        self.tunnel = None          # None, "ws" or "raw"
        self.ws = WsDecoder()
        self.closed = False


class H2Server:
    """A python3-h2 h2c server on 127.0.0.1:0, one thread per connection.

    connect_protocol: advertise SETTINGS_ENABLE_CONNECT_PROTOCOL=1 and
    accept extended CONNECT (else the setting is sent as 0 and a :protocol
    request is reset with PROTOCOL_ERROR, as RFC 8441 says).  Every request
    is recorded in `requests` as a dict: conn (index), stream, headers
    [(name, value)], body, ended, reset, frames (WebSocket frames received
    in a tunnel), client_ended.

    Plain requests: /status/NNN answers NNN; /echo echoes the body; any
    other path answers 200 with a JSON description of the request.  An
    extended CONNECT to /status/NNN is refused with NNN and a body.

    Edge behaviours, each off unless asked for (test_46_h2_edges):
      goaway_after=N     once N ordinary requests were answered on a
                         connection, send GOAWAY(NO_ERROR, last_stream_id =
                         the stream just answered) with the last response;
                         what arrives afterwards is counted in late_bytes,
                         not processed, until the peer closes.
      refuse=N           the first N requests (server-wide) are answered
                         RST_STREAM(REFUSED_STREAM) before any response
                         (record: refused = True).
      initial_window=W   advertise SETTINGS_INITIAL_WINDOW_SIZE = W.
      window_hold=event  no WINDOW_UPDATE for received DATA while the event
                         is clear; once it is set, everything held is
                         acknowledged and later DATA at once.
      connect_response_headers / connect_response_data
                         extra fields on the 200 that accepts an extended
                         CONNECT, and DATA sent right after it.
      tunnel_control     in a raw (:protocol other than websocket) tunnel,
                         the bytes "!reset" make the server reset the stream
                         with CANCEL and "!end" make it send END_STREAM
                         (after echoing what came before); DATA received
                         after that END_STREAM is kept in the record's
                         after_end.
    abort_connections(how) closes every open connection, "rst" (SO_LINGER
    0, a TCP reset) or "fin" (a plain close), with no GOAWAY; conn_ends
    maps a connection index to how it ended ("eof", "rst", "fin")."""

    def __init__(self, connect_protocol=True, max_concurrent_streams=1000, goaway_after=None,
                 refuse=0, initial_window=None, window_hold=None, connect_response_headers=(),
                 connect_response_data=b"", tunnel_control=False):
        self.connect_protocol = connect_protocol
        self.max_concurrent_streams = max_concurrent_streams
        self.goaway_after = goaway_after
        self.refuse = refuse
        self.initial_window = initial_window
        self.window_hold = window_hold
        self.connect_response_headers = list(connect_response_headers)
        self.connect_response_data = connect_response_data
        self.tunnel_control = tunnel_control
        self.refused = 0
        self.goaways = []           # (connection index, last_stream_id) of GOAWAYs sent
        self.late_bytes = 0         # bytes received after our GOAWAY
        self.conn_ends = {}         # connection index -> "eof", "rst" or "fin"
        self.abort_how = None
        self.abort_gen = 0
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(256)
        self.port = self.lsock.getsockname()[1]
        self.requests = []
        self.events = []            # (connection index, h2 event), for failures
        self.connections = 0
        self.errors = []
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.socks = []
        self.threads = []
        self.acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self.acceptor.start()

    # -- records

    def connects(self):
        return [r for r in self.requests if r["method"] == "CONNECT"]

    def wait_requests(self, n=1, timeout=10.0):
        wait_until(lambda: len(self.requests) >= n, timeout=timeout,
                   what="%d request(s) at the python-h2 server" % n)
        return self.requests[n - 1]

    def abort_connections(self, how="rst"):
        """Close every connection open now, without GOAWAY: "rst" sends a
        TCP reset (SO_LINGER 0), "fin" a plain close.  Returns once each
        connection thread has done it."""
        assert how in ("rst", "fin"), how
        with self.lock:
            live = [i for i in range(self.connections) if i not in self.conn_ends]
            self.abort_how = how
            self.abort_gen += 1
        wait_until(lambda: all(i in self.conn_ends for i in live),
                   what="the python-h2 server to close %r" % (live,))
        return live

    # -- threads

    def _accept_loop(self):
        while not self.stop_ev.is_set():
            r, _, _ = select.select([self.lsock], [], [], 0.05)
            if not r:
                continue
            try:
                s, _ = self.lsock.accept()
            except OSError:
                continue
            with self.lock:
                idx = self.connections
                self.connections += 1
                self.socks.append(s)
            t = threading.Thread(target=self._serve, args=(s, idx), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, sock, idx):
        # connect_response_headers may hold fields HTTP/2 forbids (a test of
        # switchyard's refusal): h2 must send them as they are.
        raw = bool(self.connect_response_headers)
        cfg = h2.config.H2Configuration(client_side=False, header_encoding="utf-8",
                                        validate_outbound_headers=not raw,
                                        normalize_outbound_headers=not raw)
        conn = h2.connection.H2Connection(config=cfg)
        settings = {
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.max_concurrent_streams,
            h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1 if self.connect_protocol else 0,
        }
        if self.initial_window is not None:
            settings[h2.settings.SettingCodes.INITIAL_WINDOW_SIZE] = self.initial_window
        conn.local_settings = h2.settings.Settings(client=False, initial_values=settings)
        # Per-connection state of the edge behaviours (see the class comment).
        conn.sy_edge = {"answered": 0, "goaway": False, "unacked": []}
        with self.lock:
            abort_gen = self.abort_gen
        streams = {}                # open streams (ours not yet ended)
        recs = {}                   # stream id -> record, for the connection's life
        end = "eof"
        try:
            conn.initiate_connection()
            sock.sendall(conn.data_to_send())
            while not self.stop_ev.is_set():
                if self.abort_gen != abort_gen:
                    end = self.abort_how
                    if end == "rst":
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                        struct.pack("ii", 1, 0))
                    break
                if self._release_window(conn):
                    sock.sendall(conn.data_to_send())
                r, _, _ = select.select([sock], [], [], 0.05)
                if not r:
                    continue
                try:
                    data = sock.recv(1 << 20)
                except (ConnectionResetError, BrokenPipeError):
                    data = b""
                if not data:
                    break
                if conn.sy_edge["goaway"]:
                    # After our GOAWAY nothing more is processed.
                    self.late_bytes += len(data)
                    continue
                try:
                    events = conn.receive_data(data)
                except h2.exceptions.ProtocolError as e:
                    # python-h2 refuses frames after the client's GOAWAY,
                    # which RFC 9113 allows on open streams: not an error.
                    if "ConnectionState.CLOSED" not in str(e):
                        self.errors.append("connection %d: protocol error from the client: %r"
                                           % (idx, e))
                    sock.sendall(conn.data_to_send())
                    break
                for ev in events:
                    self.events.append((idx, ev))
                    self._event(conn, idx, streams, recs, ev)
                for sid in list(streams):
                    self._flush(conn, streams, sid)
                self._maybe_goaway(conn, idx)
                out = conn.data_to_send()
                if out:
                    sock.sendall(out)
        except OSError:
            pass
        except Exception as e:  # noqa: BLE001 - reported at teardown
            self.errors.append("connection %d: %r" % (idx, e))
        finally:
            with self.lock:
                self.conn_ends[idx] = end
            try:
                sock.close()
            except OSError:
                pass

    def _release_window(self, conn):
        """window_hold: acknowledge what was held once the event is set."""
        held = conn.sy_edge["unacked"]
        if not held or self.window_hold is None or not self.window_hold.is_set():
            return False
        for n, sid in held:
            conn.acknowledge_received_data(n, sid)
        del held[:]
        return True

    def _maybe_goaway(self, conn, idx):
        e = conn.sy_edge
        if self.goaway_after is None or e["goaway"] or e["answered"] < self.goaway_after:
            return
        conn.close_connection(error_code=h2.errors.ErrorCodes.NO_ERROR,
                              last_stream_id=e["last_answered"])
        e["goaway"] = True
        self.goaways.append((idx, e["last_answered"]))

    def _event(self, conn, idx, streams, recs, ev):
        if isinstance(ev, h2.events.RequestReceived):
            hdrs = list(ev.headers)
            d = dict(hdrs)
            rec = {"conn": idx, "stream": ev.stream_id, "headers": hdrs,
                   "method": d.get(":method"), "path": d.get(":path"),
                   "protocol": d.get(":protocol"), "body": bytearray(), "ended": False,
                   "reset": None, "frames": [], "client_ended": False}
            with self.lock:
                self.requests.append(rec)
                refuse = self.refused < self.refuse
                if refuse:
                    self.refused += 1
            recs[ev.stream_id] = rec
            st = streams[ev.stream_id] = _SrvStream(rec)
            if refuse:
                rec["refused"] = True
                conn.reset_stream(ev.stream_id, h2.errors.ErrorCodes.REFUSED_STREAM)
                st.closed = True
                return
            if rec["method"] == "CONNECT":
                if rec["protocol"] is not None and not self.connect_protocol:
                    conn.reset_stream(ev.stream_id, h2.errors.ErrorCodes.PROTOCOL_ERROR)
                    st.closed = True
                    return
                path = rec["path"] or ""
                if path.startswith("/status/") and path[8:].isdigit():
                    # A refusal: an ordinary response, no tunnel.
                    body = ("status %s\n" % path[8:]).encode()
                    conn.send_headers(ev.stream_id, [(":status", path[8:]),
                                                     ("content-type", "text/plain"),
                                                     ("content-length", str(len(body)))])
                    st.out += body
                    st.end_after = True
                    st.tunnel = "refused"
                    return
                st.tunnel = "ws" if rec["protocol"] == "websocket" else "raw"
                conn.send_headers(ev.stream_id, [(":status", "200")] +
                                  self.connect_response_headers)
                if self.connect_response_data:
                    conn.send_data(ev.stream_id, self.connect_response_data)
            # END_STREAM on the HEADERS frame comes as its own StreamEnded.
        elif isinstance(ev, h2.events.DataReceived):
            st = streams.get(ev.stream_id)
            if ev.flow_controlled_length:
                if self.window_hold is not None and not self.window_hold.is_set():
                    conn.sy_edge["unacked"].append((ev.flow_controlled_length, ev.stream_id))
                else:
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            rec = recs.get(ev.stream_id)
            if self.tunnel_control and rec is not None and "after_end" in rec:
                rec["after_end"] += ev.data
                return
            if st is None or st.closed:
                return
            if st.tunnel == "refused":
                return
            if st.tunnel == "raw" and self.tunnel_control:
                self._tunnel_control(conn, st, ev.stream_id, ev.data)
            elif st.tunnel == "raw":
                st.out += ev.data
            elif st.tunnel == "ws":
                for fin, op, payload, masked in st.ws.feed(ev.data):
                    st.rec["frames"].append((fin, op, payload, masked))
                    if op == WS_PING:
                        st.out += ws_frame(WS_PONG, payload, mask=False)
                    elif op == WS_CLOSE:
                        st.out += ws_frame(WS_CLOSE, payload[:2], mask=False)
                        st.end_after = True
                    elif op != WS_PONG:
                        st.out += ws_frame(op, payload, fin=fin, mask=False)
            else:
                st.rec["body"] += ev.data
        elif isinstance(ev, h2.events.StreamEnded):
            if ev.stream_id in recs:
                recs[ev.stream_id]["client_ended"] = True
            st = streams.get(ev.stream_id)
            if st is not None and not st.closed:
                self._request_ended(conn, st, ev.stream_id)
        elif isinstance(ev, h2.events.StreamReset):
            if ev.stream_id in recs:
                recs[ev.stream_id]["reset"] = ev.error_code
            st = streams.get(ev.stream_id)
            if st is not None:
                st.closed = True
                st.out = bytearray()

    def _tunnel_control(self, conn, st, sid, data):
        """tunnel_control: echo, but "!reset" resets the stream (CANCEL) and
        "!end" ends our side after the echo of what came before it."""
        st.ctl = getattr(st, "ctl", b"") + data
        for cmd in (b"!reset", b"!end"):
            if cmd in st.ctl:
                before = st.ctl.split(cmd, 1)[0]
                st.ctl = b""
                if cmd == b"!reset":
                    st.out = bytearray()
                    conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
                    st.closed = True
                    st.rec["server_reset"] = True
                else:
                    st.out += before
                    st.end_after = True
                    st.rec["after_end"] = bytearray()
                return
        # Keep what might be the start of a command; echo the rest.
        keep = 0
        for n in range(1, min(5, len(st.ctl)) + 1):
            if any(c.startswith(st.ctl[-n:]) for c in (b"!reset", b"!end")):
                keep = n
        st.out += st.ctl[:len(st.ctl) - keep]
        st.ctl = st.ctl[len(st.ctl) - keep:]

    def _request_ended(self, conn, st, sid):
        rec = st.rec
        rec["client_ended"] = True
        if st.tunnel is not None:
            st.end_after = True         # FIN <-> END_STREAM, after the echo
            return
        rec["ended"] = True
        path = rec["path"] or ""
        status, body, ctype = 200, None, "application/json"
        if path.startswith("/status/") and path[8:].isdigit():
            status = int(path[8:])
            body = ("status %d\n" % status).encode()
            ctype = "text/plain"
        elif path.split("?")[0] == "/echo":
            body = bytes(rec["body"])
            ctype = "application/octet-stream"
        else:
            body = json.dumps({"headers": rec["headers"], "body_len": len(rec["body"]),
                               "stream": sid, "conn": rec["conn"]}).encode()
        conn.send_headers(sid, [(":status", str(status)), ("content-type", ctype),
                                ("content-length", str(len(body))),
                                ("x-served-by", "python-h2")])
        st.out += body
        st.end_after = True

    def _flush(self, conn, streams, sid):
        st = streams[sid]
        if st.closed:
            del streams[sid]
            return
        while st.out:
            try:
                win = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size)
            except h2.exceptions.StreamClosedError:
                st.closed = True
                return
            if win <= 0:
                return
            chunk = bytes(st.out[:win])
            conn.send_data(sid, chunk)
            del st.out[:len(chunk)]
        if st.end_after:
            try:
                conn.end_stream(sid)
            except h2.exceptions.StreamClosedError:
                pass
            st.closed = True
            del streams[sid]
            if st.tunnel is None:
                conn.sy_edge["answered"] += 1
                conn.sy_edge["last_answered"] = sid

    # -- life

    def stop(self):
        self.stop_ev.set()
        self.acceptor.join(5)
        try:
            self.lsock.close()
        except OSError:
            pass
        for t in self.threads:
            t.join(5)
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass

    def problems(self):
        return ["python-h2 server: %s" % e for e in self.errors]


# ------------------------------------------------ python3-websockets app --

class WsApp(sylib.AsyncioServer):
    """The app behind the chain: a python3-websockets echo server on
    127.0.0.1:0 that records each handshake (path, headers) and each close
    it saw (code).  Path /server-close: the app closes with 4002 "bye" right
    after the handshake (closure starting at the far end)."""

    def __init__(self):
        import websockets       # python3-websockets
        self.handshakes = []    # [(path, [(name, value)])]
        self.closes = []        # close codes the app received or sent
        self.open = 0
        self.messages = 0
        self.loop = asyncio.new_event_loop()
        self.error = None
        ready = threading.Event()

        async def handler(ws, *args):
            self.handshakes.append((ws.path, list(ws.request_headers.raw_items())))
            self.open += 1
            try:
                if ws.path == "/server-close":
                    await ws.close(4002, "bye")
                    return
                async for msg in ws:
                    self.messages += 1
                    await ws.send(msg)
            except websockets.ConnectionClosed:
                pass
            finally:
                self.closes.append(ws.close_code)
                self.open -= 1

        def run():
            asyncio.set_event_loop(self.loop)
            try:
                self.server = self.loop.run_until_complete(websockets.serve(
                    handler, "127.0.0.1", 0, max_size=None, compression=None,
                    ping_interval=None, max_queue=None))
                self.port = self.server.sockets[0].getsockname()[1]
            except Exception as e:  # noqa: BLE001
                self.error = e
            ready.set()
            if self.error is None:
                self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)
        if self.error is not None:
            raise self.error
        assert ready.is_set(), "python websockets app did not start"

    def headers(self, i=0):
        """{lower-case name: value} of the i-th handshake."""
        return {k.lower(): v for k, v in self.handshakes[i][1]}



# ------------------------------------------------------------- programs --

def node_or_skip(need_ws=False):
    node = shutil.which("node")
    if node is None:
        sylib.skip_or_fail("node (nodejs) missing")
    if need_ws and not Path(NODE_PATH, "ws").exists():
        sylib.skip_or_fail("Debian's node-ws missing (%s/ws)" % NODE_PATH)
    return node


def run_node(script, args, timeout=60, input=None):
    """Run tests/integration/tools/<script> with node; (returncode, output)."""
    node = node_or_skip(need_ws=script.startswith("ws-"))
    env = dict(os.environ, NODE_PATH=NODE_PATH)
    r = subprocess.run([node, str(TOOLS / script)] + [str(a) for a in args], env=env,
                       input=input, timeout=timeout, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT,
                       stdin=None if input is not None else subprocess.DEVNULL)
    return r.returncode, r.stdout.decode(errors="replace")


def curl_or_skip():
    curl = shutil.which("curl")
    if curl is None:
        sylib.skip_or_fail("curl missing")
    v = subprocess.run([curl, "--version"], stdout=subprocess.PIPE).stdout.decode()
    if "HTTP2" not in v:
        sylib.skip_or_fail("this curl has no HTTP/2 support")
    return curl


def nghttp_or_skip():
    nghttp = shutil.which("nghttp")
    if nghttp is None:
        sylib.skip_or_fail("nghttp (nghttp2-client) missing")
    return nghttp


# ---------------------------------------------------------------- chain --

def h2_options(allow_connect=None, max_concurrent_streams=256, **kw):
    """An http2_protocol_options group (every key given explicitly)."""
    o = {}
    if allow_connect is not None:
        o["allow_connect"] = allow_connect
    o.update({"max_concurrent_streams": max_concurrent_streams,
              "initial_stream_window_size": 65536,
              "initial_connection_window_size": 1048576,
              "max_header_list_kb": 60})
    o.update(kw)
    return o


UPGRADES = {"websocket": True, "foo": True}


class Chain:
    """front -> (h2c) -> sidecar -> (HTTP/1.1) -> app."""

    FP = "http.front_http."
    SP = "http.sidecar_http."
    FC = "cluster.sidecar."
    SC = "cluster.app."

    def __init__(self, front, sidecar, app_port):
        self.front = front
        self.sidecar = sidecar
        self.app_port = app_port

    @property
    def port(self):
        return self.front.port

    def assert_h2_hop(self, upgrades=None):
        """The front reached the sidecar over exactly one HTTP/2
        connection (so whatever passed crossed an HTTP/2 hop), and, if
        given, both instances counted `upgrades` tunnels."""
        fs, ss = self.front.stats(), self.sidecar.stats()
        got = {"front " + n: fs[self.FC + n] for n in ("upstream_cx_http2_total",
                                                        "upstream_cx_total")}
        got.update({"sidecar " + n: ss[self.SP + n] for n in ("downstream_cx_http2_total",
                                                               "downstream_cx_http1_total")})
        want = {"front upstream_cx_http2_total": 1, "front upstream_cx_total": 1,
                "sidecar downstream_cx_http2_total": 1, "sidecar downstream_cx_http1_total": 0}
        if upgrades is not None:
            got["front upgrades"] = fs[self.FP + "downstream_cx_upgrades_total"]
            got["sidecar upgrades"] = ss[self.SP + "downstream_cx_upgrades_total"]
            want["front upgrades"] = want["sidecar upgrades"] = upgrades
        assert got == want, "front -> sidecar hop: got %r, want %r" % (got, want)
        return fs, ss

    def wait_idle(self, timeout=10.0):
        """No tunnel left counted as open on either instance."""
        sylib.wait_upgrades_idle(self.front, prefix="front_http", timeout=timeout)
        sylib.wait_upgrades_idle(self.sidecar, prefix="sidecar_http", timeout=timeout)


def chain(sy, app_port, allow_connect=True, preserve_upgrade_method=None, front_workers=1,
          sidecar_workers=1, max_concurrent_streams=256, front_http=None, sidecar_http=None):
    """Start the seed's two-instance topology in front of app_port.

    front:   HTTP/1.1 listener (stat prefix front_http), websocket and foo
             upgrades, cluster "sidecar" with protocol http2.
    sidecar: codec_type http2 listener (stat prefix sidecar_http) with
             allow_connect as given, websocket and foo upgrades, cluster
             "app" over HTTP/1.1.
    preserve_upgrade_method, when not None, is set on both listeners.  One
    worker each by default, so the front holds exactly one HTTP/2
    connection to the sidecar."""
    sidecar = sy.daemon()
    sh = {"codec_type": "http2",
          "http2_protocol_options": h2_options(allow_connect, max_concurrent_streams)}
    if preserve_upgrade_method is not None:
        sh["preserve_upgrade_method"] = preserve_upgrade_method
    sh.update(sidecar_http or {})
    sidecar.start(proxy_config(sidecar, [app_port], upgrades=UPGRADES, http=sh,
                               stat_prefix="sidecar_http", workers=sidecar_workers))
    front = sy.daemon()
    fh = {"codec_type": "http1"}
    if preserve_upgrade_method is not None:
        fh["preserve_upgrade_method"] = preserve_upgrade_method
    fh.update(front_http or {})
    clusters = [cluster("sidecar", [sidecar.port], protocol="http2",
                        http2_protocol_options=h2_options(None, max_concurrent_streams))]
    front.start(proxy_config(front, None, upgrades=UPGRADES, http=fh, clusters=clusters,
                             routes=[proxy_route("sidecar")], stat_prefix="front_http",
                             workers=front_workers))
    return Chain(front, sidecar, app_port)
