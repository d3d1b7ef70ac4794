"""The binary as a Unix daemon: -t, -V, -h, -X, daemon mode and the pid
file, signals (SIGQUIT graceful, SIGTERM/SIGINT fast, SIGUSR1 reopen),
the access log, privilege drop."""

import os
import re
import signal
import time

import pytest

import sylib
from sylib import (SWITCHYARD, HttpConn, children, connect_refused, free_port, get, pid_alive,
                   pid_ppid, request, route, run_cmd, wait_until)

P = "http.ingress_http."


# ------------------------------------------------------------------- -t ---

def valid_lines(d, port2=None):
    """A valid config as a list of lines (line N is index N-1)."""
    port2 = port2 or free_port()
    return [
        'workers = 2;',                                                     # 1
        'worker_connections = 100;',                                        # 2
        'drain_timeout = "5s";',                                            # 3
        'pid_file = "%s";' % d.pid_file,                                    # 4
        'log = { level = "info"; error_log = "%s"; };' % d.error_log,       # 5
        'admin = { socket = "%s"; };' % d.admin_sock,                       # 6
        'listeners = (',                                                    # 7
        '  { name = "a"; address = "127.0.0.1:%d";' % d.port,               # 8
        '    http = {',                                                     # 9
        '      stat_prefix = "a_http";',                                    # 10
        '      max_headers_count = 50;',                                    # 11
        '      route_config = { virtual_hosts = ( { name = "v"; domains = [ "*" ];',  # 12
        '        routes = ( {',                                             # 13
        '          match = { prefix = "/"; };',                             # 14
        '          direct_response = { status = 200; body = "ok\\n"; };',   # 15
        '        } ); } ); };',                                             # 16
        '    };',                                                           # 17
        '  },',                                                             # 18
        '  { name = "b"; address = "127.0.0.1:%d";' % port2,                # 19
        '    http = { stat_prefix = "b_http";',                             # 20
        '      route_config = { virtual_hosts = ( { name = "v"; domains = [ "*" ];',  # 21
        '        routes = ( { match = { path = "/b"; }; direct_response = { status = 204; }; } );',  # 22
        '      } ); };',                                                    # 23
        '    };',                                                           # 24
        '  }',                                                              # 25
        ');',                                                               # 26
    ]


def check_t(d, lines):
    path = d.write_config("\n".join(lines) + "\n")
    p = run_cmd([SWITCHYARD, "-t", "-c", path])
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"), str(path)


def test_t_good(sy):
    d = sy.daemon()
    rc, out, err, _ = check_t(d, valid_lines(d))
    assert rc == 0, err
    assert "configuration ok" in out + err
    # -t neither starts nor creates anything
    assert not d.admin_sock.exists() and not d.pid_file.exists()
    assert connect_refused("127.0.0.1", d.port)


def edit(lines, lineno, text):
    out = list(lines)
    out[lineno - 1] = text
    return out


BAD_CASES = {
    "unknown-top-key": lambda L: (edit(L, 2, "worker_connectionz = 100;"), {2}),
    "unknown-nested-key": lambda L: (edit(L, 11, "      max_headers_cnt = 50;"), {11}),
    "unknown-key-in-match": lambda L: (edit(L, 14, '          match = { prefix = "/"; pathh = "/x"; };'), {14}),
    "wrong-type-top": lambda L: (edit(L, 2, 'worker_connections = "many";'), {2}),
    "wrong-type-nested": lambda L: (edit(L, 11, '      max_headers_count = "fifty";'), {11}),
    "wrong-type-group": lambda L: (edit(L, 6, 'admin = "socket";'), {6}),
    "out-of-range": lambda L: (edit(L, 2, "worker_connections = -5;"), {2}),
    "bad-duration": lambda L: (edit(L, 3, 'drain_timeout = "5 parsecs";'), {3}),
    "bad-log-level": lambda L: (edit(L, 5, 'log = { level = "loud"; };'), {5}),
    "bad-status": lambda L: (edit(L, 15, '          direct_response = { status = 1000; };'), {15}),
    "bad-regex": lambda L: (edit(L, 14, '          match = { safe_regex = "(["; };'), {14}),
    "two-match-kinds": lambda L: (edit(L, 14, '          match = { prefix = "/"; path = "/x"; };'), {14}),
    "bad-address": lambda L: (edit(L, 19, '  { name = "b"; address = "127.0.0.1:notaport";'), {19}),
    "duplicate-listener-name": lambda L: (edit(L, 19, L[18].replace('name = "b"', 'name = "a"')), {19}),
    "missing-address": lambda L: (edit(L, 19, '  { name = "b";'), {19}),
    "syntax-error": lambda L: (edit(L, 2, "worker_connections = = 100;"), {2}),
    "two-errors": lambda L: (edit(edit(L, 2, "worker_connectionz = 100;"), 11,
                                  '      max_headers_count = "fifty";'), {2, 11}),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_t_bad(sy, case):
    d = sy.daemon()
    lines, want = BAD_CASES[case](valid_lines(d))
    rc, out, err, path = check_t(d, lines)
    assert rc == 1, "exit %d for %s\n%s%s" % (rc, case, out, err)
    rx = re.compile(r"^%s:(\d+): (\S.*)$" % re.escape(path))
    got = set()
    for line in err.splitlines():
        m = rx.match(line)
        if m:
            got.add(int(m.group(1)))
    assert got == want, "want errors on lines %s, stderr was:\n%s" % (sorted(want), err)
    assert "configuration ok" not in out + err
    assert not d.admin_sock.exists() and not d.pid_file.exists()


def test_t_missing_file(sy):
    d = sy.daemon()
    path = d.dir / "does-not-exist.conf"
    p = run_cmd([SWITCHYARD, "-t", "-c", path])
    assert p.returncode == 1
    assert str(path) in p.stderr.decode()


def test_V_and_h():
    p = run_cmd([SWITCHYARD, "-V"])
    assert p.returncode == 0
    out = (p.stdout + p.stderr).decode()
    assert "switchyard" in out.lower()
    assert re.search(r"\d+\.\d+", out)
    p = run_cmd([SWITCHYARD, "-h"])
    assert p.returncode == 0
    out = (p.stdout + p.stderr).decode()
    for opt in ("-c", "-t", "-f", "-X", "-V"):
        assert opt in out, opt
    p = run_cmd([SWITCHYARD, "-Z"])
    assert p.returncode != 0


# ------------------------------------------------------------ daemon mode --

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGQUIT], ids=["SIGTERM", "SIGQUIT"])
def test_daemon_mode_pid_file(sy, sig):
    d = sy.daemon()
    d.start(d.config(), args=())
    pid = d.master_pid
    assert int(d.pid_file.read_text().strip()) == pid
    assert pid_alive(pid)
    assert pid_ppid(pid) != os.getpid(), "did not detach from the parent"
    assert os.readlink("/proc/%d/cwd" % pid) == "/"
    for fd in (0, 1, 2):
        assert os.readlink("/proc/%d/fd/%d" % (pid, fd)) == "/dev/null", fd
    assert os.getsid(pid) != os.getsid(0), "still in the caller's session"
    assert get(d.port, "/").status == 200
    assert d.server_info()["pid"] == pid
    workers = d.worker_pids()
    assert children(pid) == workers
    os.kill(pid, sig)
    wait_until(lambda: not pid_alive(pid), what="daemon to exit")
    wait_until(lambda: not d.pid_file.exists(), timeout=2, what="pid file removal")
    wait_until(lambda: not any(pid_alive(w) for w in workers), timeout=5)
    assert not d.admin_sock.exists()
    d.wait_log("master exiting")


# ---------------------------------------------------------------- signals --

def test_sigquit_drains_inflight_request(sy):
    d = sy.daemon()
    d.start(d.config(workers=1, top={"drain_timeout": "20s"},
                     http={"request_headers_timeout": "30s"},
                     routes=[route(prefix="/slow", body="finished\n")]))
    workers = d.worker_pids()
    c = HttpConn(port=d.port, timeout=15)
    try:
        c.send(b"GET /slow HTTP/1.1\r\nHost: test.local\r\n")
        d.wait_stat(P + "downstream_cx_active", lambda v: v == 1)
        m = d.mark()
        d.signal(signal.SIGQUIT)
        d.wait_log(r"shutdown: graceful", since=m)
        # listeners close: new connections are refused
        wait_until(lambda: connect_refused("127.0.0.1", d.port), what="listener to close")
        assert d.running(), "master exited before the in-flight request finished"
        # the slow request still gets its answer
        c.send(b"X-Slow: yes\r\n\r\n")
        r = c.read_response()
        assert (r.status, r.body) == (200, b"finished\n")
        assert r.conn_close, "draining worker did not send Connection: close"
        assert c.wait_closed(5)
    finally:
        c.close()
    rc = d.wait_exit(15)
    assert rc == 0
    assert not any(pid_alive(w) for w in workers)
    d.wait_log(r"master exiting", since=m)
    assert not d.admin_sock.exists()


def test_sigquit_ready_503_while_draining(sy):
    d = sy.daemon()
    d.start(d.config(workers=1, top={"drain_timeout": "20s"},
                     http={"request_headers_timeout": "30s"}))
    c = HttpConn(port=d.port, timeout=15)
    try:
        c.send(b"GET / HTTP/1.1\r\nHost: test.local\r\n")
        d.wait_stat(P + "downstream_cx_active", lambda v: v == 1)
        assert d.admin("GET", "/ready").status == 200
        m = d.mark()
        d.signal(signal.SIGQUIT)
        d.wait_log(r"shutdown: graceful", since=m)
        assert d.admin("GET", "/ready").status == 503
        assert d.stat("server.live") == 0
        c.send(b"\r\n")
        assert c.read_response().status == 200
    finally:
        c.close()
    assert d.wait_exit(15) == 0


def test_sigquit_drain_timeout(sy):
    """A connection that never finishes is closed at drain_timeout and the
    master still exits 0."""
    d = sy.daemon()
    d.start(d.config(workers=1, top={"drain_timeout": "1s"},
                     http={"request_headers_timeout": "60s"}))
    c = HttpConn(port=d.port, timeout=15)
    try:
        c.send(b"GET / HTTP/1.1\r\nHost: test.local\r\n")
        d.wait_stat(P + "downstream_cx_active", lambda v: v == 1)
        t0 = time.monotonic()
        d.signal(signal.SIGQUIT)
        assert c.wait_closed(10), "connection not closed at drain_timeout"
        rc = d.wait_exit(10)
        took = time.monotonic() - t0
    finally:
        c.close()
    assert rc == 0
    assert 0.5 <= took <= 6, took


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_fast_stop(sy, sig):
    d = sy.daemon()
    d.start(d.config(workers=2, top={"drain_timeout": "60s"},
                     http={"request_headers_timeout": "60s"}))
    workers = d.worker_pids()
    idle = HttpConn(port=d.port)
    busy = HttpConn(port=d.port)
    try:
        assert idle.roundtrip(request("GET", "/")).status == 200
        busy.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
        d.wait_stat(P + "downstream_cx_active", lambda v: v == 2)
        m = d.mark()
        t0 = time.monotonic()
        d.signal(sig)
        rc = d.wait_exit(10)
        took = time.monotonic() - t0
        assert idle.wait_closed(2) and busy.wait_closed(2)
    finally:
        idle.close()
        busy.close()
    assert rc == 0
    assert took < 5, "fast stop took %.1fs" % took
    assert "shutdown: fast" in d.log()[m:]
    assert "master exiting" in d.log()[m:]
    wait_until(lambda: not any(pid_alive(w) for w in workers), timeout=5)
    assert connect_refused("127.0.0.1", d.port)


def test_foreground_logs_to_stderr(sy):
    d = sy.daemon()
    cfg = d.config()
    del cfg["log"]["error_log"]
    d.start(cfg)
    err = d.stderr_path.read_text()
    assert re.search(r"listening on 127\.0\.0\.1:%d \(listener \"ingress\"\)" % d.port, err), err
    assert re.search(r"worker \d+ started: pid \d+ generation 1", err)
    assert re.search(r"^\S.* \[\w+\] ", err, re.M), "no `TIMESTAMP [level]` lines"
    assert not d.error_log.exists()


def test_log_line_formats(sy):
    d = sy.daemon()
    d.start(d.config(workers=2))
    log = d.error_log.read_text()
    for line in log.splitlines():
        assert re.match(r"^\S+( \S+)? \[(emerg|alert|crit|error|warn|notice|info|debug)\] ", line), line
    assert re.search(r"listening on 127\.0\.0\.1:%d \(listener \"ingress\"\)" % d.port, log)
    started = d.started_workers(1)
    assert sorted(w for w, _, _ in started) == sorted(set(w for w, _, _ in started))
    assert sorted(p for _, p, _ in started) == d.worker_pids()


def test_one_process_mode(sy):
    d = sy.daemon()
    d.start(d.config(workers=2), args=("-X",), wait=False)
    wait_until(lambda: get(d.port, "/").status == 200, what="-X to serve")
    assert d.running()
    assert children(d.master_pid) == [], "-X forked: %r" % children(d.master_pid)
    for _ in range(5):
        assert get(d.port, "/").body == b"ok\n"
    d.signal(signal.SIGTERM)
    assert d.wait_exit(10) == 0


# ------------------------------------------------------------ log files ---

def test_access_log_and_reopen(sy):
    d = sy.daemon()
    d.start(d.config(workers=1, routes=[route(prefix="/", body="ok\n")]))
    paths = ["/one", "/two?q=1", "/three"]
    for p in paths:
        assert get(d.port, p).status == 200
    assert get(d.port, "/", host="x").status == 200

    def lines(f):
        try:
            return [l for l in f.read_text().splitlines() if l]
        except FileNotFoundError:
            return []
    wait_until(lambda: len(lines(d.access_log)) == 4, what="4 access log lines")
    got = lines(d.access_log)
    for p, line in zip(paths, got):
        assert "GET" in line and p.split("?")[0] in line and " 200 " in line, line
    # rotate: rename, SIGUSR1, the daemon writes to a new file
    rotated = d.dir / "access.log.1"
    os.rename(d.access_log, rotated)
    d.signal(signal.SIGUSR1)
    wait_until(lambda: d.access_log.exists(), what="access log reopened")
    # The worker may reopen a moment after the master: probe until a request
    # lands in the new file (each probe is waited for in whichever file).
    probe = 0

    def where(tag):
        if any(tag in l for l in lines(d.access_log)):
            return "new"
        if any(tag in l for l in lines(rotated)):
            return "old"
        return None

    def probe_lands():
        nonlocal probe
        probe += 1
        tag = "/probe-%d-end" % probe
        assert get(d.port, tag).status == 200
        return wait_until(lambda: where(tag), timeout=5, what="%s logged" % tag) == "new"
    wait_until(probe_lands, what="requests logged to the new file")
    old = len(lines(rotated))
    assert old == 4 + probe - 1
    for p in ("/after1", "/after2", "/after3"):
        assert get(d.port, p).status == 200
    wait_until(lambda: len(lines(d.access_log)) == 4, what="lines in the new file")
    assert len(lines(rotated)) == old
    assert all("/after" in l for l in lines(d.access_log)[1:])


def test_access_log_one_line_per_request_keepalive(sy):
    d = sy.daemon()
    d.start(d.config(workers=2))
    with HttpConn(port=d.port) as c:
        for i in range(7):
            assert c.roundtrip(request("GET", "/k%d" % i)).status == 200
        c.send(request("GET", "/p1") + request("GET", "/p2"))
        c.read_response()
        c.read_response()
    assert get(d.port, "/missing-host-route", host="x").status == 200
    wait_until(lambda: len(d.access_log.read_text().splitlines()) == 10, what="10 lines")
    text = d.access_log.read_text()
    for i in range(7):
        assert "/k%d" % i in text


def test_error_log_reopen(sy):
    d = sy.daemon()
    d.start(d.config())
    rotated = d.dir / "error.log.old"
    os.rename(d.error_log, rotated)
    d.signal(signal.SIGUSR1)
    wait_until(lambda: d.error_log.exists(), what="error log reopened")
    m_old = len(rotated.read_text())
    d.signal(signal.SIGHUP)
    wait_until(lambda: "reload ok: generation 2" in d.error_log.read_text(), what="reload line in new file")
    assert "reload ok" not in rotated.read_text()[m_old:]


# ------------------------------------------------------------ privileges --

def test_workers_drop_privileges(sy):
    import pwd
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        sylib.skip_or_fail("no user nobody")
    if os.getuid() != 0:
        sylib.skip_or_fail("not root")
    d = sy.daemon()
    cfg = d.config(top={"user": "nobody"})
    d.start(cfg)
    def uids(pid):
        with open("/proc/%d/status" % pid) as f:
            return [int(u) for u in re.search(r"^Uid:\s+(.*)$", f.read(), re.M).group(1).split()]
    # the master logs `started` right after fork; the drop follows at once
    for w in d.worker_pids():
        wait_until(lambda: all(u == nobody.pw_uid for u in uids(w)), timeout=5,
                   what="worker %d to run as nobody" % w)
    with open("/proc/%d/status" % d.master_pid) as f:
        assert re.search(r"^Uid:\s+0\s", f.read(), re.M)
    assert get(d.port, "/").status == 200
    # a reload still works (the master binds, workers are forked and drop again)
    d.signal(signal.SIGHUP)
    d.wait_log(r"reload ok: generation 2")
    d.wait_log(r"worker \d+ started: pid \d+ generation 2", count=2)
    assert get(d.port, "/").status == 200
