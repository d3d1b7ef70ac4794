"""The admin interface: endpoints and formats, socket permissions, TCP
admin, and switchyardctl."""

import json
import os
import re
import stat
import subprocess
from urllib.parse import quote

from sylib import (SWITCHYARD, SWITCHYARDCTL, HttpConn, children, expected_stat_names, free_port,
                   get, parse_stats_text, request, run_cmd, wait_until)

P = "http.ingress_http."


def started(sy, **kw):
    d = sy.daemon()
    d.start(d.config(**kw))
    return d


def test_stats_text(sy):
    d = started(sy)
    for _ in range(3):
        assert get(d.port, "/").status == 200
    d.wait_stat(P + "downstream_rq_total", lambda v: v == 3)
    r = d.admin("GET", "/stats")
    assert r.status == 200
    assert r.headers.get("content-type", "").startswith("text/plain")
    lines = r.text.splitlines()
    assert all(re.fullmatch(r"[A-Za-z0-9_.:\[\]-]+: -?\d+", l) for l in lines), \
        [l for l in lines if not re.fullmatch(r"[A-Za-z0-9_.:\[\]-]+: -?\d+", l)]
    names = [l.rpartition(": ")[0] for l in lines]
    assert names == sorted(names), "stats not sorted"
    assert len(set(names)) == len(names), "duplicate names"
    s = parse_stats_text(r.text)
    want = expected_stat_names(["127.0.0.1:%d" % d.port], ["ingress_http"])
    missing = sorted(set(want) - set(s))
    assert not missing, "stats missing from /stats: %r" % missing
    assert s["server.live"] == 1
    assert s["server.workers"] == 2
    assert s["server.generation"] == 1
    assert s["server.uptime"] >= 0
    assert s["server.reloads"] == 0
    assert s[P + "downstream_rq_2xx"] == 3
    assert s["listener.127.0.0.1:%d.downstream_cx_total" % d.port] == 3


def test_stats_uptime_advances(sy):
    d = started(sy)
    u0 = d.stat("server.uptime")
    d.wait_stat("server.uptime", lambda v: v >= u0 + 1, timeout=5)


def test_stats_filter(sy):
    d = started(sy)
    s = d.stats(filter=r"^server\.")
    want = {n for n in expected_stat_names([], []) if n.startswith("server.")}
    assert set(s) == want
    s = d.stats(filter="rq_2xx")
    assert set(s) == {P + "downstream_rq_2xx"}
    s = d.stats(filter="^listener\\..*cx_total$")
    assert set(s) == {"listener.127.0.0.1:%d.downstream_cx_total" % d.port}
    assert d.stats(filter="no-such-stat-anywhere") == {}
    r = d.admin("GET", "/stats?filter=" + quote("(unclosed", safe=""))
    assert r.status == 400


def test_stats_json(sy):
    d = started(sy)
    assert get(d.port, "/").status == 200
    d.wait_stat(P + "downstream_rq_total", lambda v: v == 1)
    text = d.stats()
    r = d.admin("GET", "/stats?format=json")
    assert r.status == 200
    assert "json" in r.headers.get("content-type", "")
    doc = r.json()
    assert list(doc) == ["stats"]
    items = doc["stats"]
    assert all(set(i) == {"name", "value"} for i in items)
    assert all(isinstance(i["value"], int) for i in items)
    js = {i["name"]: i["value"] for i in items}
    assert set(js) == set(text)
    for n in js:
        if n != "server.uptime":
            assert js[n] == text[n], n
    # filter and format together
    r = d.admin("GET", "/stats?format=json&filter=" + quote(r"^server\.re", safe=""))
    assert {i["name"] for i in r.json()["stats"]} == {"server.reloads", "server.reload_failed"}
    assert d.admin("GET", "/stats?format=yaml").status == 400


def test_stats_prometheus(sy):
    d = started(sy)
    for _ in range(4):
        assert get(d.port, "/").status == 200
    d.wait_stat(P + "downstream_rq_total", lambda v: v == 4)
    r = d.admin("GET", "/stats/prometheus")
    assert r.status == 200
    assert r.headers.get("content-type", "").startswith("text/plain")
    body = r.text
    p = subprocess.run(["promtool", "check", "metrics"], input=body.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    assert p.returncode == 0, "promtool check metrics failed (%d):\n%s%s\n--- exposition ---\n%s" % (
        p.returncode, p.stdout.decode(), p.stderr.decode(), body[:3000])
    assert "# TYPE switchyard_http_downstream_cx_total counter" in body
    m = re.search(r'^switchyard_http_downstream_cx_total\{stat_prefix="ingress_http"\} (\d+)$',
                  body, re.M)
    assert m, body[:2000]
    assert int(m.group(1)) == 4
    m = re.search(r'^switchyard_http_downstream_cx_active\{stat_prefix="ingress_http"\} (\d+)$',
                  body, re.M)
    assert m and "# TYPE switchyard_http_downstream_cx_active gauge" in body
    # every sample line belongs to a declared family
    types = set(re.findall(r"^# TYPE (\S+) ", body, re.M))
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
            assert name in types, line


def test_server_info(sy):
    d = started(sy, workers=3)
    info = d.server_info()
    assert isinstance(info["version"], str) and info["version"]
    assert info["pid"] == d.master_pid
    assert isinstance(info["uptime"], (int, float)) and info["uptime"] >= 0
    assert info["generation"] == 1
    ws = sorted(info["workers"])
    assert len(ws) == 3
    assert ws == sorted(p for _, p, _ in d.started_workers(1))
    assert ws == children(d.master_pid)
    v = run_cmd([SWITCHYARD, "-V"])
    assert v.returncode == 0
    assert info["version"] in (v.stdout + v.stderr).decode()


def test_ready(sy):
    d = started(sy)
    r = d.admin("GET", "/ready")
    assert r.status == 200


def test_config_dump(sy):
    d = started(sy)
    r = d.admin("GET", "/config_dump")
    assert r.status == 200
    doc = r.json()
    flat = json.dumps(doc)

    def values(o):
        if isinstance(o, dict):
            for v in o.values():
                yield from values(v)
        elif isinstance(o, list):
            for v in o:
                yield from values(v)
        else:
            yield o
    vals = list(values(doc))
    assert "ingress" in vals, flat[:2000]
    assert "ingress_http" in vals
    assert "127.0.0.1:%d" % d.port in vals
    assert str(d.admin_sock) in vals
    assert "ok\n" in vals


def test_reset_counters(sy):
    d = started(sy)
    for _ in range(3):
        assert get(d.port, "/").status == 200
    d.wait_stat(P + "downstream_rq_total", lambda v: v == 3)
    held = HttpConn(port=d.port)
    try:
        held.roundtrip(request("GET", "/"))
        d.wait_stat(P + "downstream_cx_active", lambda v: v == 1)
        r = d.admin("POST", "/reset_counters")
        assert r.status == 200
        s = d.stats()
        assert s[P + "downstream_rq_total"] == 0
        assert s[P + "downstream_rq_2xx"] == 0
        assert s["listener.127.0.0.1:%d.downstream_cx_total" % d.port] == 0
        # gauges are not counters
        assert s[P + "downstream_cx_active"] == 1
        assert s["server.workers"] == 2
        assert s["server.generation"] == 1
        assert s["server.live"] == 1
        # counting goes on from zero
        held.roundtrip(request("GET", "/"))
        d.wait_stat(P + "downstream_rq_total", lambda v: v == 1)
    finally:
        held.close()
    assert d.admin("GET", "/reset_counters").status == 405


def test_help_and_unknown(sy):
    d = started(sy)
    r = d.admin("GET", "/help")
    assert r.status == 200
    for ep in ("/stats", "/stats/prometheus", "/server_info", "/ready", "/config_dump",
               "/reset_counters", "/help"):
        assert ep in r.text, ep
    assert d.admin("GET", "/no/such/endpoint").status == 404
    assert d.admin("POST", "/stats").status == 405


def test_admin_socket_permissions(sy):
    d = sy.daemon()
    assert not d.admin_dir.exists()
    d.start(d.config())
    st = os.stat(d.admin_sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    dst = os.stat(d.admin_dir)
    assert stat.S_IMODE(dst.st_mode) == 0o700, oct(dst.st_mode)
    # removed at exit
    assert d.stop() == 0
    assert not d.admin_sock.exists()


def test_admin_socket_mode_configured(sy):
    d = sy.daemon()
    d.start(d.config(admin={"socket_mode": "0660"}))
    assert stat.S_IMODE(os.stat(d.admin_sock).st_mode) == 0o660


def test_admin_tcp_loopback(sy):
    d = sy.daemon()
    aport = free_port()
    d.start(d.config(admin={"address": "127.0.0.1:%d" % aport}))
    assert get(d.port, "/").status == 200
    d.wait_stat(P + "downstream_rq_total", lambda v: v == 1)
    r = d.admin_tcp("127.0.0.1", aport, "GET", "/stats")
    assert r.status == 200
    s = parse_stats_text(r.text)
    assert s[P + "downstream_rq_total"] == 1
    r = d.admin_tcp("127.0.0.1", aport, "GET", "/server_info")
    assert r.json()["pid"] == d.master_pid


def test_admin_non_loopback_rejected(sy):
    d = sy.daemon()
    text = (
        'workers = 1;\n'
        'pid_file = "%s";\n'
        'admin = {\n'
        '  socket = "%s";\n'
        '  address = "0.0.0.0:%d";\n'
        '};\n'
        'listeners = ( { name = "l"; address = "127.0.0.1:%d"; http = { stat_prefix = "p";\n'
        '  route_config = { virtual_hosts = ( { name = "v"; domains = [ "*" ]; routes = ( {\n'
        '    match = { prefix = "/"; }; direct_response = { status = 200; }; } ); } ); }; }; } );\n'
    ) % (d.pid_file, d.admin_sock, free_port(), d.port)
    path = d.write_config(text)
    p = run_cmd([SWITCHYARD, "-t", "-c", path])
    err = p.stderr.decode()
    assert p.returncode == 1, (p.returncode, err)
    assert re.search(r"^%s:5: .+" % re.escape(str(path)), err, re.M), err
    # the same file, started for real, refuses to start
    d.start(args=("-f",), wait=False)
    assert d.wait_exit(10) != 0
    assert not os.path.exists(d.admin_sock)
    # allow_remote = true makes it acceptable
    path = d.write_config(text.replace("};\nlisteners", "  allow_remote = true;\n};\nlisteners"))
    p = run_cmd([SWITCHYARD, "-t", "-c", path])
    assert p.returncode == 0, p.stderr.decode()


def test_switchyardctl(sy):
    d = started(sy)
    for _ in range(2):
        assert get(d.port, "/").status == 200
    d.wait_stat(P + "downstream_rq_total", lambda v: v == 2)
    sock = str(d.admin_sock)
    p = run_cmd([SWITCHYARDCTL, "-s", sock, "stats"])
    assert p.returncode == 0, p.stderr
    s = parse_stats_text(p.stdout.decode())
    assert s[P + "downstream_rq_total"] == 2
    assert set(s) == set(d.stats())
    p = run_cmd([SWITCHYARDCTL, "-s", sock, "stats", r"^server\.gen"])
    assert p.returncode == 0
    assert parse_stats_text(p.stdout.decode()) == {"server.generation": 1}
    p = run_cmd([SWITCHYARDCTL, "-s", sock, "server-info"])
    assert p.returncode == 0
    info = json.loads(p.stdout.decode())
    assert info["pid"] == d.master_pid
    p = run_cmd([SWITCHYARDCTL, "-s", sock, "ready"])
    assert p.returncode == 0
    # a socket nobody listens on: failure exit and a message
    p = run_cmd([SWITCHYARDCTL, "-s", str(d.dir / "nope.sock"), "stats"])
    assert p.returncode != 0
    assert p.stderr.strip()
    p = run_cmd([SWITCHYARDCTL, "-s", sock, "no-such-command"])
    assert p.returncode != 0


def test_admin_stalled_client_does_not_block(sy):
    """A client that connects to the admin socket and sends half a request
    must not stop the master from answering others."""
    import socket
    d = started(sy)
    stalled = []
    for _ in range(5):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(d.admin_sock))
        s.sendall(b"GET /stats HTTP/1.1\r\nHo")
        stalled.append(s)
    try:
        for _ in range(5):
            assert d.admin("GET", "/ready", timeout=3).status == 200
        assert get(d.port, "/").status == 200
    finally:
        for s in stalled:
            s.close()
    wait_until(lambda: d.admin("GET", "/ready").status == 200)
