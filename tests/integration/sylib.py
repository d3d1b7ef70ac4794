"""sylib - helpers for switchyard's integration tests.

Everything here talks to the real binary: it writes a libconfig file in a
fresh directory, starts the daemon on free loopback ports, and waits on log
lines, admin counters or sockets becoming connectable.  Nothing sleeps for
a fixed time: every wait is a poll with a deadline (wait_until).

Only the Python standard library is used (Debian's python3 + pytest), plus
Debian's python3-websockets for WebSocketServer, imported when one is made.
"""

import asyncio
import base64
import hashlib
import http.client
import json
import os
import re
import select
import shutil
import signal as _signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SWITCHYARD_BUILD", REPO / "build")).resolve()
SWITCHYARD = BUILD / "switchyard"
SWITCHYARDCTL = BUILD / "switchyardctl"
STATS_DEFS = REPO / "include" / "switchyard" / "stats_defs.h"

# Log lines at these levels fail a test at teardown (nginx-tests style).
BAD_LEVEL_RE = re.compile(r"\[(alert|emerg|crit)\]")
# Sanitizer reports (make check-asan) on stderr fail a test the same way.
SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |"
                          r"WARNING: ThreadSanitizer")
STARTED_RE = re.compile(r"worker (\d+) started: pid (\d+) generation (\d+)")

# Figures printed in the terminal summary (reload-under-load numbers...).
FIGURES = []


def figure(name, text):
    """Record a line for the end-of-run summary (shown even with -q)."""
    FIGURES.append("%s: %s" % (name, text))


# ---------------------------------------------------------------- waiting --

class Timeout(AssertionError):
    pass


def wait_until(fn, timeout=10.0, interval=0.02, what=None):
    """Poll fn() every interval seconds until it returns a true value
    (returned) or the deadline passes (AssertionError).  Exceptions from fn
    count as "not yet"; the last one is quoted in the failure."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = fn()
            if v:
                return v
            last_exc = None
        except Exception as e:  # noqa: BLE001 - reported below
            last_exc = e
        if time.monotonic() >= deadline:
            msg = "timed out after %.1fs waiting for %s" % (
                timeout, what or getattr(fn, "__name__", repr(fn)))
            if last_exc is not None:
                msg += " (last error: %r)" % (last_exc,)
            raise Timeout(msg)
        time.sleep(interval)


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A TCP port nobody listens on right now (bind port 0, close)."""
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def pid_alive(pid):
    """True if pid exists and is not a zombie (pid 1 here may not reap)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = st.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def pid_ppid(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    return int(st.rsplit(")", 1)[1].split()[1])


def pid_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def children(pid):
    """Live (non-zombie) child pids of pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if pid_ppid(int(d)) == pid and pid_alive(int(d)):
                out.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return sorted(out)


def connect_refused(host, port, timeout=2.0):
    """True if a TCP connect to host:port is refused right now."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        return False
    except ConnectionRefusedError:
        return True
    finally:
        s.close()


def server_conn_owner_counts(pids, port):
    """How many ESTABLISHED server-side sockets on local port each pid
    holds, found through /proc/net/tcp* and /proc/PID/fd."""
    inodes = set()
    for fn in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(fn) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    counts = {}
    for pid in pids:
        n = 0
        try:
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    continue
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    n += 1
        except OSError:
            pass
        counts[pid] = n
    return counts


# ---------------------------------------------------------- stats table ---

def stats_defs():
    """{scope: [(type, name), ...]} parsed from include/switchyard/stats_defs.h,
    so the tests follow the one table that declares every stat."""
    text = STATS_DEFS.read_text()
    out = {}
    for scope in ("SERVER", "LISTENER", "HTTP"):
        m = re.search(r"#define SY_STATS_%s\(X\)(.*?)(?:\n\s*\n|\n/\*|\n#)" % scope,
                      text, re.S)
        assert m, "SY_STATS_%s not found in %s" % (scope, STATS_DEFS)
        out[scope.lower()] = re.findall(r"X\((COUNTER|GAUGE),\s*(\w+),", m.group(1))
    return out


def expected_stat_names(listener_labels, stat_prefixes):
    d = stats_defs()
    names = {}
    for t, n in d["server"]:
        names["server." + n] = t
    for lab in listener_labels:
        for t, n in d["listener"]:
            names["listener.%s.%s" % (lab, n)] = t
    for p in stat_prefixes:
        for t, n in d["http"]:
            names["http.%s.%s" % (p, n)] = t
    return names


# --------------------------------------------------------------- config ---

class Raw(str):
    """A value written into the config verbatim."""


def _q(s):
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _val(v, ind):
    pad = "  " * ind
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return _q(v)
    if isinstance(v, dict):
        return "{\n" + render(v, ind + 1) + pad + "}"
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, dict) for x in v):
            inner = (",\n").join("  " * (ind + 1) + _val(x, ind + 1) for x in v)
            return "(\n" + inner + "\n" + pad + ")"
        if not v:
            return "()"
        return "[ " + ", ".join(_val(x, ind) for x in v) + " ]"
    raise TypeError("cannot render %r" % (v,))


def render(settings, ind=0):
    """Render a dict as libconfig settings (insertion order kept)."""
    pad = "  " * ind
    return "".join("%s%s = %s;\n" % (pad, k, _val(v, ind)) for k, v in settings.items())


def route(prefix=None, path=None, regex=None, headers=None, status=200, body=None):
    m = {}
    if prefix is not None:
        m["prefix"] = prefix
    if path is not None:
        m["path"] = path
    if regex is not None:
        m["safe_regex"] = regex
    if headers:
        m["headers"] = [dict(h) for h in headers]
    dr = {"status": status}
    if body is not None:
        dr["body"] = body
    return {"match": m, "direct_response": dr}


def vhost(name, domains, routes):
    return {"name": name, "domains": list(domains), "routes": list(routes)}


def listener(name, address, stat_prefix, vhosts=None, routes=None, **http_kw):
    if vhosts is None:
        vhosts = [vhost("local", ["*"], routes or [route(prefix="/", body="ok\n")])]
    http = {
        "stat_prefix": stat_prefix,
        "codec_type": "auto",
        "request_headers_timeout": "10s",
        "idle_timeout": "60s",
        "stream_idle_timeout": "5m",
        "max_request_headers_kb": 60,
        "max_headers_count": 100,
    }
    http.update(http_kw)
    http["route_config"] = {"virtual_hosts": vhosts}
    return {"name": name, "address": address, "http": http}


# ------------------------------------------------------------ HTTP client --

def request(method="GET", path="/", host="test.local", headers=(), body=b"",
            version="HTTP/1.1", content_length=None):
    """Bytes of one HTTP/1.x request.  host=None sends no Host header."""
    if isinstance(body, str):
        body = body.encode()
    lines = ["%s %s %s" % (method, path, version)]
    if host is not None:
        lines.append("Host: %s" % host)
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
    if body and content_length is None and not any(
            k.lower() in ("content-length", "transfer-encoding") for k, _ in headers):
        content_length = len(body)
    if content_length is not None:
        lines.append("Content-Length: %d" % content_length)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Response:
    def __init__(self, version, status, reason, headers, body, raw_len):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers          # [(lower-case name, value)]
        self.body = body
        self.raw_len = raw_len

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    @property
    def conn_close(self):
        v = self.header("connection", "")
        return "close" in [t.strip().lower() for t in v.split(",")]

    def __repr__(self):
        return "<Response %s %d %r %r>" % (self.version, self.status, self.headers, self.body[:80])


class PeerClosed(Exception):
    """The server closed the connection (EOF or reset) before a full response."""


class HttpConn:
    """A raw HTTP/1.x client connection: exact bytes out, parsed responses in,
    with a buffer so pipelined responses can be read one after another."""

    def __init__(self, host="127.0.0.1", port=None, timeout=5.0):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.timeout = timeout
        self.buf = b""
        self.sent = 0
        self.received = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)
        self.sent += len(data)

    def _fill(self):
        try:
            d = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError) as e:
            raise PeerClosed("connection reset: %r (buffered %r)" % (e, self.buf[:200]))
        if not d:
            raise PeerClosed("EOF (buffered %r)" % (self.buf[:200],))
        self.buf += d
        self.received += len(d)

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_response(self, head_request=False):
        start = self.received - len(self.buf)
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        assert len(parts) >= 2 and parts[0].startswith("HTTP/"), "bad status line %r" % lines[0]
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.append((k.strip().lower(), v.strip()))
        r = Response(version, status, reason, headers, b"", 0)
        if head_request or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in (r.header("transfer-encoding") or "").lower():
            body = b""
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line() != b"":
                        pass
                    break
                body += self._take(size)
                self._take(2)
        elif r.header("content-length") is not None:
            body = self._take(int(r.header("content-length")))
        else:
            while True:
                try:
                    self._fill()
                except PeerClosed:
                    break
            body, self.buf = self.buf, b""
        r.body = body
        r.raw_len = (self.received - len(self.buf)) - start
        return r

    def wait_closed(self, timeout=5.0):
        """True once the peer has closed (EOF or reset), False on timeout.
        Data arriving meanwhile is kept in the buffer."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.sock], [], [], min(left, 0.05))
            if r:
                try:
                    d = self.sock.recv(65536)
                except (ConnectionResetError, BrokenPipeError):
                    return True
                if not d:
                    return True
                self.buf += d
                self.received += len(d)

    def roundtrip(self, data, head_request=False):
        self.send(data)
        return self.read_response(head_request=head_request)


def get(port, path="/", host="test.local", headers=(), addr="127.0.0.1", timeout=5.0):
    """One request on a new connection with Connection: close."""
    with HttpConn(addr, port, timeout=timeout) as c:
        return c.roundtrip(request("GET", path, host=host,
                                   headers=list(headers) + [("Connection", "close")]))


# ---------------------------------------------------------- admin client --

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=5.0):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class AdminReply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode()

    def json(self):
        return json.loads(self.body.decode())


def admin_request(conn, method, path, body=None):
    try:
        conn.request(method, path, body=body)
        r = conn.getresponse()
        return AdminReply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def parse_stats_text(text):
    out = {}
    for line in text.splitlines():
        if not line:
            continue
        name, sep, value = line.rpartition(": ")
        assert sep, "bad stats line %r" % line
        out[name] = int(value)
    return out


# ----------------------------------------------------------------- daemon --

class Daemon:
    """One switchyard instance with its own directory, config and ports."""

    def __init__(self, root):
        self.dir = Path(tempfile.mkdtemp(prefix="sy-", dir=root))
        self.conf_path = self.dir / "switchyard.conf"
        self.error_log = self.dir / "error.log"
        self.access_log = self.dir / "access.log"
        self.pid_file = self.dir / "switchyard.pid"
        self.admin_dir = self.dir / "admin"
        self.admin_sock = self.admin_dir / "admin.sock"
        self.stdout_path = self.dir / "stdout.txt"
        self.stderr_path = self.dir / "stderr.txt"
        self.port = free_port()
        self.proc = None
        self.master_pid = None
        self.daemonized = False
        self.seen_pids = set()
        self.allowed_bad = []       # regexes of [alert]-level lines a test expects
        self.stopped = False

    # -- config

    def config(self, workers=2, routes=None, vhosts=None, listeners=None,
               http=None, log=None, admin=None, top=None, stat_prefix="ingress_http"):
        """The default test config as a dict; keyword arguments adjust it."""
        lg = {"level": "info", "error_log": str(self.error_log),
              "access_log": str(self.access_log)}
        lg.update(log or {})
        ad = {"socket": str(self.admin_sock)}
        ad.update(admin or {})
        if listeners is None:
            listeners = [listener("ingress", "127.0.0.1:%d" % self.port, stat_prefix,
                                  vhosts=vhosts, routes=routes, **(http or {}))]
        cfg = {
            "workers": workers,
            "worker_connections": 1024,
            "drain_timeout": "10s",
            "pid_file": str(self.pid_file),
            "log": lg,
            "admin": ad,
        }
        cfg.update(top or {})
        cfg["listeners"] = listeners
        return cfg

    def write_config(self, cfg, path=None):
        text = cfg if isinstance(cfg, str) else render(cfg)
        p = Path(path) if path else self.conf_path
        tmp = p.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, p)
        return p

    # -- processes

    def start(self, cfg=None, args=("-f",), wait=True, workers=None):
        """Start the daemon (foreground by default) and wait until every
        listener logged `listening on`, the workers of generation 1 logged
        `started`, and the admin socket answers /ready."""
        if cfg is not None:
            self.write_config(cfg)
        if isinstance(cfg, dict):
            workers = cfg.get("workers") if workers is None else workers
            nlisteners = len(cfg["listeners"])
        else:
            nlisteners = 1
        self._out = open(self.stdout_path, "ab")
        self._err = open(self.stderr_path, "ab")
        cmd = [str(SWITCHYARD)] + list(args) + ["-c", str(self.conf_path)]
        fg = "-f" in args or "-X" in args
        # A daemonizing run must detach by itself: no help from us.
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, start_new_session=fg)
        self.cmd = cmd
        if fg:
            self.master_pid = self.proc.pid
        else:
            self.daemonized = True
        if not wait:
            return self
        if self.daemonized:
            rc = self.proc.wait(timeout=10)
            assert rc == 0, "daemonizing switchyard exited %d\n%s" % (rc, self.logs_tail())
            self.master_pid = wait_until(self._pid_from_file, what="pid file %s" % self.pid_file)
        self.wait_log(r"listening on ", count=nlisteners)
        if workers:
            self.wait_log(r"worker \d+ started: pid \d+ generation 1\b", count=workers)
        wait_until(lambda: self.admin("GET", "/ready").status == 200, what="admin /ready 200")
        return self

    def _pid_from_file(self):
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def running(self):
        if self.proc is not None and not self.daemonized:
            return self.proc.poll() is None
        return self.master_pid is not None and pid_alive(self.master_pid)

    def signal(self, sig):
        os.kill(self.master_pid, sig)

    def wait_exit(self, timeout=15.0):
        """Wait for the master to exit; returns its status (None if it is
        not our child, i.e. daemonized)."""
        if not self.daemonized:
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                raise Timeout("switchyard (pid %d) still running after %.1fs"
                              % (self.proc.pid, timeout))
        wait_until(lambda: not pid_alive(self.master_pid), timeout=timeout,
                   what="daemon pid %d to exit" % self.master_pid)
        return None

    def stop(self, sig=_signal.SIGTERM, timeout=15.0):
        """Stop the daemon; returns the exit status (or None)."""
        if self.stopped:
            return self.proc.returncode if self.proc else None
        self.stopped = True
        self.collect_pids()
        rc = None
        if self.master_pid and self.running():
            try:
                self.signal(sig)
                rc = self.wait_exit(timeout)
            except (Timeout, ProcessLookupError):
                pass
        if self.master_pid and self.running():
            try:
                os.kill(self.master_pid, _signal.SIGKILL)
            except ProcessLookupError:
                pass
            if self.proc is not None and not self.daemonized:
                rc = self.proc.wait(timeout=10)
        elif self.proc is not None and not self.daemonized:
            rc = self.proc.wait(timeout=10)
        return rc

    def collect_pids(self):
        if self.master_pid:
            self.seen_pids.add(self.master_pid)
        for _, pid, _ in self.started_workers():
            self.seen_pids.add(pid)

    def leftovers(self):
        """Processes of this daemon still alive."""
        self.collect_pids()
        return [p for p in sorted(self.seen_pids)
                if pid_alive(p) and "switchyard" in pid_cmdline(p)]

    def kill_leftovers(self):
        left = self.leftovers()
        for p in left:
            try:
                os.kill(p, _signal.SIGKILL)
            except ProcessLookupError:
                pass
        return left

    # -- logs

    def log_files(self):
        files = sorted(self.dir.glob("error.log*"))
        files.append(self.stderr_path)
        return [f for f in files if f.exists()]

    def log(self):
        """Error log text (the file, or stderr when logging goes there)."""
        parts = []
        for f in self.log_files():
            try:
                parts.append(f.read_text(errors="replace"))
            except OSError:
                pass
        return "".join(parts)

    def mark(self):
        """A position in the log; wait_log(since=mark) looks after it."""
        return len(self.log())

    def wait_log(self, pattern, count=1, since=0, timeout=10.0):
        rx = re.compile(pattern)

        def found():
            matches = list(rx.finditer(self.log()[since:]))
            if len(matches) >= count:
                return matches
            if not self.running():
                raise AssertionError("switchyard exited while waiting for %r:\n%s"
                                     % (pattern, self.logs_tail()))
            return None
        try:
            return wait_until(found, timeout=timeout, what="log %r x%d" % (pattern, count))
        except Timeout as e:
            raise Timeout("%s\n--- log tail ---\n%s" % (e, self.logs_tail()))

    def started_workers(self, generation=None):
        """[(worker id, pid, generation)] from `worker N started` lines."""
        out = []
        for m in STARTED_RE.finditer(self.log()):
            w, pid, gen = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if generation is None or gen == generation:
                out.append((w, pid, gen))
        return out

    def bad_log_lines(self):
        out = []
        for line in self.log().splitlines():
            if BAD_LEVEL_RE.search(line) and not any(re.search(a, line) for a in self.allowed_bad):
                out.append(line)
        return out

    def sanitizer_reports(self):
        out = []
        for line in self.log().splitlines():
            if SANITIZER_RE.search(line):
                out.append(line)
        return out

    def logs_tail(self, n=60):
        lines = self.log().splitlines()
        return "\n".join(lines[-n:])

    # -- admin

    def admin(self, method, path, body=None, timeout=5.0):
        return admin_request(UnixHTTPConnection(str(self.admin_sock), timeout), method, path, body)

    def admin_tcp(self, addr, port, method, path, body=None, timeout=5.0):
        return admin_request(http.client.HTTPConnection(addr, port, timeout=timeout),
                             method, path, body)

    def stats(self, filter=None):
        path = "/stats"
        if filter is not None:
            from urllib.parse import quote
            path += "?filter=" + quote(filter, safe="")
        r = self.admin("GET", path)
        assert r.status == 200, "GET %s -> %d %r" % (path, r.status, r.body)
        return parse_stats_text(r.text)

    def stat(self, name):
        s = self.stats()
        assert name in s, "no stat %r in /stats (have %d names)" % (name, len(s))
        return s[name]

    def wait_stat(self, name, pred, timeout=10.0):
        """Wait until pred(value of stat name) holds; returns the value."""
        last = [None]

        def ok():
            last[0] = self.stat(name)
            return pred(last[0])
        try:
            wait_until(ok, timeout=timeout, what="stat %s" % name)
        except Timeout as e:
            raise Timeout("%s (last value %r)" % (e, last[0]))
        return last[0]

    def server_info(self):
        r = self.admin("GET", "/server_info")
        assert r.status == 200, r
        return r.json()

    def worker_pids(self):
        return sorted(int(p) for p in self.server_info()["workers"])


# ------------------------------------------------------------ load client --

class LoadClient(threading.Thread):
    """A request loop for load tests.  mode "keepalive" reuses a connection
    until the server says Connection: close; mode "close" opens a connection
    per request.  Paced to `rate` requests per second, bounded by a stop
    event and a hard deadline.  Every sent request must get a 200 with the
    expected body: anything else is counted as failed, with its kind."""

    def __init__(self, port, mode, stop, path="/load", host="load.test", body=None,
                 rate=200.0, max_seconds=120.0, addr="127.0.0.1", timeout=5.0):
        super().__init__(daemon=True)
        self.port, self.mode, self.stop_ev = port, mode, stop
        self.path, self.host, self.body = path, host, body
        self.rate, self.max_seconds, self.addr, self.timeout = rate, max_seconds, addr, timeout
        self.sent = self.ok = self.failed = 0
        self.refused = 0
        self.connections = 0
        self.server_closes = 0      # Connection: close seen on keep-alive
        self.failures = {}          # kind -> count
        self.examples = []
        self.lock = threading.Lock()

    def _fail(self, kind, detail):
        self.failed += 1
        self.failures[kind] = self.failures.get(kind, 0) + 1
        if len(self.examples) < 5:
            self.examples.append("%s: %s" % (kind, detail))

    def _connect(self):
        try:
            c = HttpConn(self.addr, self.port, timeout=self.timeout)
        except ConnectionRefusedError as e:
            self.refused += 1
            self._fail("refused", repr(e))
            return None
        except OSError as e:
            self._fail("connect-error", repr(e))
            return None
        self.connections += 1
        return c

    def run(self):
        deadline = time.monotonic() + self.max_seconds
        next_t = time.monotonic()
        conn = None
        hdrs = [] if self.mode == "keepalive" else [("Connection", "close")]
        req = request("GET", self.path, host=self.host, headers=hdrs)
        while not self.stop_ev.is_set() and time.monotonic() < deadline:
            next_t += 1.0 / self.rate
            delay = next_t - time.monotonic()
            if delay > 0:
                self.stop_ev.wait(delay)
            else:
                next_t = time.monotonic()
            if conn is None:
                conn = self._connect()
                if conn is None:
                    continue
            reqs_before = conn.sent // len(req)
            try:
                conn.send(req)
            except OSError as e:
                self._fail("send-failed:" + type(e).__name__,
                           "%r after %d requests on this connection" % (e, reqs_before))
                conn.close()
                conn = None
                continue
            self.sent += 1
            try:
                r = conn.read_response()
            except (PeerClosed, OSError) as e:
                self._fail("lost:" + type(e).__name__,
                           "%s (request %d on this connection)" % (e, reqs_before + 1))
                conn.close()
                conn = None
                continue
            if r.status == 200 and (self.body is None or r.body == self.body):
                self.ok += 1
            else:
                self._fail("bad-response", repr(r))
            if self.mode != "keepalive" or r.conn_close:
                if self.mode == "keepalive":
                    self.server_closes += 1
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def summary(self):
        return ("mode=%s sent=%d ok=%d failed=%d refused=%d connections=%d server_closes=%d%s"
                % (self.mode, self.sent, self.ok, self.failed, self.refused, self.connections,
                   self.server_closes,
                   (" failures=%r examples=%r" % (self.failures, self.examples)) if self.failed else ""))


class CounterSampler(threading.Thread):
    """Samples every counter through the admin socket and records any that
    goes down between two samples (totals must never go backwards)."""

    def __init__(self, daemon, stop, counter_names, max_seconds=120.0):
        super().__init__(daemon=True)
        self.d, self.stop_ev, self.names = daemon, stop, set(counter_names)
        self.max_seconds = max_seconds
        self.samples = 0
        self.decreases = []
        self.errors = 0

    def run(self):
        last = {}
        deadline = time.monotonic() + self.max_seconds
        while not self.stop_ev.is_set() and time.monotonic() < deadline:
            try:
                s = self.d.stats()
            except Exception:  # noqa: BLE001 - admin busy; counted
                self.errors += 1
                self.stop_ev.wait(0.02)
                continue
            self.samples += 1
            for n in self.names:
                if n in s:
                    if n in last and s[n] < last[n] and len(self.decreases) < 20:
                        self.decreases.append("%s: %d -> %d" % (n, last[n], s[n]))
                    last[n] = s[n]
            self.stop_ev.wait(0.02)


def run_cmd(args, timeout=20):
    return subprocess.run([str(a) for a in args], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def rmtree(p):
    shutil.rmtree(p, ignore_errors=True)


# ====================================================== proxying helpers ===
# Used by the proxy, WebSocket, upgrade-rule and tunnel suites
# (test_20/30/35/40): upstream servers (our sy-backend, scripted Python
# sockets, python3-websockets), raw WebSocket framing, and config pieces
# for clusters and proxy routes.

BACKEND = BUILD / "tools" / "sy-backend"
BACKEND_LISTEN_RE = re.compile(r"sy-backend listening on (\S+)")
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
WS_CONT, WS_TEXT, WS_BINARY, WS_CLOSE, WS_PING, WS_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


# ---------------------------------------------------------- config pieces --

def cluster(name, endpoints, **kw):
    """One clusters entry; endpoints are "host:port" strings or ports."""
    eps = ["127.0.0.1:%d" % e if isinstance(e, int) else e for e in endpoints]
    c = {"name": name, "endpoints": eps}
    c.update(kw)
    return c


def proxy_route(cluster_name, prefix="/", path=None, upgrades=None, **action):
    """A route sending matching requests to cluster_name.  upgrades:
    {type: enabled} (None = no upgrade_configs on the route)."""
    m = {"path": path} if path is not None else {"prefix": prefix}
    act = {"cluster": cluster_name}
    act.update(action)
    if upgrades:
        act["upgrade_configs"] = [upgrade_config(t, e) for t, e in upgrades.items()]
    return {"match": m, "route": act}


def upgrade_config(upgrade_type, enabled=None, filters=None):
    u = {"upgrade_type": upgrade_type}
    if enabled is not None:
        u["enabled"] = enabled
    if filters is not None:
        u["filters"] = [dict(f) for f in filters]
    return u


def proxy_config(d, endpoints, routes=None, upgrades=None, http=None, clusters=None,
                 cluster_kw=None, **kw):
    """d.config() for a listener proxying everything to cluster "app".
    upgrades: listener upgrade_configs as {type: enabled} or a list of
    upgrade_config() dicts (default: websocket enabled)."""
    if upgrades is None:
        upgrades = {"websocket": True}
    h = dict(http or {})
    if isinstance(upgrades, dict):
        h["upgrade_configs"] = [upgrade_config(t, e) for t, e in upgrades.items()]
    else:
        h["upgrade_configs"] = list(upgrades)
    if not h["upgrade_configs"]:
        del h["upgrade_configs"]
    top = dict(kw.pop("top", None) or {})
    top["clusters"] = clusters if clusters is not None else \
        [cluster("app", endpoints, **(cluster_kw or {}))]
    return d.config(routes=routes or [proxy_route("app")], http=h, top=top, **kw)


def wait_upgrades_idle(d, prefix="ingress_http", types=(), timeout=10.0):
    """After a scenario: no tunnel may be left counted as open."""
    d.wait_stat("http.%s.downstream_cx_upgrades_active" % prefix, lambda v: v == 0,
                timeout=timeout)
    for t in types:
        d.wait_stat("http.%s.upgrades.%s.active" % (prefix, t), lambda v: v == 0,
                    timeout=timeout)


def stat_or_zero(stats, name):
    return stats.get(name, 0)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


# ------------------------------------------------------------- sy-backend --

class Backend:
    """One build/tools/sy-backend process on 127.0.0.1:0 (it binds the port
    itself, so there is no race), stdout and stderr in files we poll."""

    def __init__(self, root, args=()):
        self.dir = Path(tempfile.mkdtemp(prefix="sy-backend-", dir=root))
        self.out_path = self.dir / "stdout.txt"
        self.err_path = self.dir / "stderr.txt"
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.cmd = [str(BACKEND), "-l", "127.0.0.1:0"] + [str(a) for a in args]
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, start_new_session=True)
        m = wait_until(self._listening, what="sy-backend listening line")
        self.addr = m.group(1)
        self.port = int(self.addr.rsplit(":", 1)[1])

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError("sy-backend exited with %s: %s" % (self.proc.returncode,
                                                                    self.err()))
        return BACKEND_LISTEN_RE.search(self.out())

    def out(self):
        return self.out_path.read_text(errors="replace")

    def err(self):
        return self.err_path.read_text(errors="replace")

    def count(self, pattern):
        return len(re.findall(pattern, self.out()))

    def wait_out(self, pattern, count=1, timeout=10.0):
        rx = re.compile(pattern)
        return wait_until(lambda: len(rx.findall(self.out())) >= count, timeout=timeout,
                          what="sy-backend output %r x%d" % (pattern, count))

    def stop(self):
        """SIGTERM; returns the exit status (0 expected)."""
        if self.proc.poll() is None:
            self.proc.send_signal(_signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, _signal.SIGKILL)
            self.proc.wait(timeout=10)
            rc = "still running after SIGTERM"
        self._out.close()
        self._err.close()
        return rc

    def problems(self):
        rc = self.proc.returncode
        out = []
        if rc not in (0, None):
            out.append("%s: exit status %r" % (" ".join(self.cmd), rc))
        san = [ln for ln in self.err().splitlines() if SANITIZER_RE.search(ln)]
        if san:
            out.append("sy-backend sanitizer reports:\n  " + "\n  ".join(san[:20]))
        return out

    def tail(self, n=40):
        return "\n".join(self.out().splitlines()[-n:]) + "\n--- stderr ---\n" + self.err()


# ----------------------------------------------- scripted Python upstream --

class ServerConn:
    """The server side of one connection accepted by RawServer.  Every byte
    read through it is kept in `received`; `eof` is set once the peer's FIN
    (or a reset) was seen."""

    def __init__(self, sock, timeout=10.0):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.received = b""
        self.buf = b""          # received but not yet consumed by the handler
        self.eof = threading.Event()
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.error = None

    def _fill(self):
        try:
            d = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            d = b""
        if not d:
            self.eof.set()
            raise PeerClosed("EOF (buffered %r)" % (self.buf[:200],))
        with self.lock:
            self.received += d
        self.buf += d

    def read_head(self):
        """The next request or response head, CRLFCRLF included."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head + b"\r\n\r\n"

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_until_eof(self):
        while True:
            try:
                self._fill()
            except PeerClosed:
                break
        out, self.buf = self.buf, b""
        return out

    def send(self, data):
        self.sock.sendall(data)

    def shutdown_write(self):
        self.sock.shutdown(socket.SHUT_WR)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def parse_head(head):
    """(first line, [(lower-case name, value)]) of a raw head."""
    lines = head.decode("latin-1").split("\r\n")
    hdrs = []
    for line in lines[1:]:
        if not line:
            continue
        k, _, v = line.partition(":")
        hdrs.append((k.strip().lower(), v.strip()))
    return lines[0], hdrs


def head_value(hdrs, name):
    vals = [v for k, v in hdrs if k == name.lower()]
    return ", ".join(vals) if vals else None


class RawServer:
    """A TCP server on 127.0.0.1:0 whose behaviour is a Python function:
    handler(conn) runs in a thread per accepted connection (conn is a
    ServerConn).  Used where a test must know exactly which bytes reached
    the upstream, or needs an answer sy-backend does not give."""

    def __init__(self, handler, conn_timeout=10.0):
        self.handler = handler
        self.conn_timeout = conn_timeout
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(512)
        self.port = self.lsock.getsockname()[1]
        self.conns = []
        self.errors = []
        self.stop_ev = threading.Event()
        self.threads = []
        self.acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self.acceptor.start()

    def _accept_loop(self):
        while not self.stop_ev.is_set():
            r, _, _ = select.select([self.lsock], [], [], 0.05)
            if not r:
                continue
            try:
                s, _ = self.lsock.accept()
            except OSError:
                continue
            c = ServerConn(s, self.conn_timeout)
            self.conns.append(c)
            t = threading.Thread(target=self._run, args=(c,), daemon=True)
            self.threads.append(t)
            t.start()

    def _run(self, c):
        try:
            self.handler(c)
        except (PeerClosed, OSError) as e:
            c.error = e
        except Exception as e:  # noqa: BLE001 - reported at teardown
            c.error = e
            self.errors.append(repr(e))
        finally:
            c.done.set()
            c.close()

    def wait_conns(self, n=1, timeout=10.0):
        wait_until(lambda: len(self.conns) >= n, timeout=timeout,
                   what="%d upstream connection(s) to the Python server" % n)
        return self.conns[n - 1]

    def stop(self):
        self.stop_ev.set()
        self.acceptor.join(5)
        try:
            self.lsock.close()
        except OSError:
            pass
        for c in self.conns:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self.threads:
            t.join(5)

    def problems(self):
        """Handler failures other than the peer going away (what reached
        the server is for the test to judge)."""
        return ["python upstream handler failed: %s" % e for e in self.errors]


def ws_upgrade_echo_handler(conn):
    """A Python upstream for upgrades: answers every request head with a
    101 (websocket: with the right Sec-WebSocket-Accept; any other token:
    the first one offered), then echoes raw bytes until the client's FIN,
    then sends its own FIN."""
    head = conn.read_head()
    conn.request_head = head
    _, hdrs = parse_head(head)
    up = head_value(hdrs, "upgrade") or ""
    toks = [t.strip() for t in up.split(",") if t.strip()]
    if any(t.lower() == "websocket" for t in toks):
        key = head_value(hdrs, "sec-websocket-key") or ""
        conn.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                   % ws_accept(key)).encode())
    else:
        conn.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: %s\r\n"
                   "Connection: Upgrade\r\n\r\n" % (toks[0] if toks else "none")).encode())
    if conn.buf:
        conn.send(conn.buf)
        conn.buf = b""
    while True:
        try:
            conn._fill()
        except PeerClosed:
            break
        conn.send(conn.buf)
        conn.buf = b""
    conn.shutdown_write()


# -------------------------------------------- python3-websockets server --

class AsyncioServer:
    """Stopping a python3-websockets server that runs its own asyncio loop
    in a thread (self.server, self.loop, self.thread): shared by the
    WebSocket apps of sylib, h2lib and tlslib."""

    def stop(self):
        async def shut():
            self.server.close()
            await self.server.wait_closed()

        if self.thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)
            except Exception:  # noqa: BLE001 - stopping anyway
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    def problems(self):
        return []


class WebSocketServer(AsyncioServer):
    """Debian's python3-websockets as the upstream: an echo server on
    127.0.0.1:0 in its own thread and event loop; it keeps the request
    headers of every handshake it accepted (request_headers)."""

    def __init__(self):
        import websockets       # python3-websockets
        self.request_headers = []
        self.messages = 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.error = None

        async def echo(ws, *args):
            self.request_headers.append(list(ws.request_headers.raw_items()))
            async for msg in ws:
                self.messages += 1
                await ws.send(msg)

        def run():
            asyncio.set_event_loop(self.loop)
            try:
                self.server = self.loop.run_until_complete(websockets.serve(
                    echo, "127.0.0.1", 0, max_size=None, compression=None,
                    ping_interval=None))
                self.port = self.server.sockets[0].getsockname()[1]
            except Exception as e:  # noqa: BLE001
                self.error = e
                ready.set()
                return
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)
        if self.error is not None:
            raise self.error
        assert ready.is_set(), "python websockets server did not start"



# ----------------------------------------------------- WebSocket framing --

def xor_mask(data, key):
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def ws_frame(op, payload=b"", fin=True, mask=True):
    """One WebSocket frame (masked, as a client sends it, unless told)."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | op])
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


def ws_key():
    return base64.b64encode(os.urandom(16)).decode()


def ws_accept(key):
    if isinstance(key, str):
        key = key.encode()
    return base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()


def ws_request(path="/", key=None, host="ws.test", method="GET", version="13",
               upgrade="websocket", connection="Upgrade", extra=()):
    """Bytes of a WebSocket handshake request (a fresh key unless given;
    key=False sends none)."""
    if key is None:
        key = ws_key()
    hdrs = [("Upgrade", upgrade), ("Connection", connection),
            ("Sec-WebSocket-Version", version)]
    if key is not False:
        hdrs.append(("Sec-WebSocket-Key", key))
    return request(method, path, host=host, headers=hdrs + list(extra))


def upgrade_request(token="foo", path="/", host="up.test", method="GET", body=b"",
                    extra=()):
    return request(method, path, host=host, body=body,
                   headers=[("Upgrade", token), ("Connection", "Upgrade")] + list(extra))


class TunnelConn(HttpConn):
    """HttpConn plus what a tunnel needs: exact byte reads, reads to EOF,
    WebSocket frames, half-close."""

    def take(self, n):
        return self._take(n)

    def read_until_eof(self):
        while True:
            try:
                self._fill()
            except PeerClosed:
                break
        out, self.buf = self.buf, b""
        return out

    def shutdown_write(self):
        self.sock.shutdown(socket.SHUT_WR)

    def read_frame(self):
        """(fin, opcode, payload, masked) of the next frame."""
        b0, b1 = self._take(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._take(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._take(8))[0]
        mask = self._take(4) if b1 & 0x80 else None
        payload = self._take(n)
        if mask:
            payload = xor_mask(payload, mask)
        return bool(b0 & 0x80), b0 & 0x0F, payload, mask is not None

    def ws_handshake(self, path="/", host="ws.test", extra=(), early=b""):
        """Send a handshake (plus early bytes), check the 101 and its accept."""
        key = ws_key()
        self.send(ws_request(path, key, host=host, extra=extra) + early)
        r = self.read_response()
        assert r.status == 101, "websocket handshake through the proxy: %r" % (r,)
        assert (r.header("upgrade") or "").lower() == "websocket", r
        assert r.header("sec-websocket-accept") == ws_accept(key), r
        return r

    def upgrade(self, token="foo", path="/", early=b"", method="GET", body=b"", extra=()):
        self.send(upgrade_request(token, path, method=method, body=body, extra=extra) + early)
        r = self.read_response()
        assert r.status == 101, "upgrade %s through the proxy: %r" % (token, r)
        return r


def ws_close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


def skip_or_fail(reason):
    """A precondition the project's own set-up provides (scripts/bootstrap,
    root, loopback): missing on a developer's machine it skips, missing in
    CI (CI=true) it fails, so no test is silently skipped there."""
    import pytest
    if os.environ.get("CI"):
        pytest.fail("precondition missing in CI: " + reason, pytrace=False)
    pytest.skip(reason)
