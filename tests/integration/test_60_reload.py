"""SIGHUP reload: a changed config takes effect for new connections, a
broken file keeps the old generation, old workers drain, and 20 reloads
under continuous load lose no request and refuse no connection."""

import json
import os
import signal
import time

from sylib import (HttpConn, LoadClient, children, connect_refused, figure, free_port, get,
                   listener, pid_alive, request, route, wait_until)

P = "http.ingress_http."


def reload_ok(d, generation, workers=None):
    """SIGHUP and wait for `reload ok: generation G` and the new workers."""
    m = d.mark()
    d.signal(signal.SIGHUP)
    d.wait_log(r"reload ok: generation %d\b" % generation, since=m)
    if workers:
        d.wait_log(r"worker \d+ started: pid \d+ generation %d\b" % generation,
                   count=workers, since=m)


def test_reload_changed_route(sy):
    d = sy.daemon()
    cfg = d.config(routes=[route(prefix="/", body="v1\n")])
    d.start(cfg)
    assert get(d.port, "/").body == b"v1\n"
    old = d.worker_pids()
    assert d.server_info()["generation"] == 1
    assert d.stat("server.generation") == 1

    d.write_config(d.config(routes=[route(prefix="/new", status=201, body="new\n"),
                                    route(prefix="/", body="v2\n")]))
    reload_ok(d, 2, workers=2)
    r = get(d.port, "/")
    assert (r.status, r.body) == (200, b"v2\n")
    r = get(d.port, "/new/thing")
    assert (r.status, r.body) == (201, b"new\n")
    assert d.stat("server.generation") == 2
    assert d.stat("server.reloads") == 1
    assert d.stat("server.reload_failed") == 0
    assert d.server_info()["generation"] == 2
    # old generation drains and exits; the new one is what server_info shows
    wait_until(lambda: not any(pid_alive(p) for p in old), what="old workers to exit")
    new = d.worker_pids()
    assert len(new) == 2 and not set(new) & set(old)
    new_gen = sorted(p for _, p, g in d.started_workers(2))
    assert new == new_gen
    assert d.stat("server.workers") == 2
    # counters survived the reload
    assert d.stat(P + "downstream_rq_total") == 3


def test_reload_ok_means_new_connections_see_new_config(sy):
    """Once `reload ok: generation G` is logged, every new connection is
    served by generation G: 5 reloads, each followed at once by 10
    connections opened together."""
    d = sy.daemon()
    d.start(d.config(workers=4, routes=[route(prefix="/", body="gen1\n")]))
    stale = []
    for g in range(2, 7):
        d.write_config(d.config(workers=4, routes=[route(prefix="/", body="gen%d\n" % g)]))
        reload_ok(d, g)
        conns = [HttpConn(port=d.port) for _ in range(10)]
        try:
            for c in conns:
                c.send(request("GET", "/", headers=[("Connection", "close")]))
            for i, c in enumerate(conns):
                body = c.read_response().body
                if body != b"gen%d\n" % g:
                    stale.append("reload to generation %d: connection %d got %r" % (g, i, body))
        finally:
            for c in conns:
                c.close()
    assert not stale, "connections opened after `reload ok` served by the old generation:\n" + \
        "\n".join(stale)


def test_reload_broken_file_keeps_old(sy):
    d = sy.daemon()
    d.start(d.config(routes=[route(prefix="/", body="v1\n")]))
    pids = d.worker_pids()
    text = open(d.conf_path).read()
    # an unknown key on a known line, plus a changed body that must not apply
    lines = text.replace('"v1\\n"', '"v2\\n"').splitlines()
    lines.insert(2, "no_such_key = 1;")
    bad_line = 3
    d.write_config("\n".join(lines) + "\n")
    m = d.mark()
    d.signal(signal.SIGHUP)
    d.wait_log(r"reload failed: keeping generation 1\b", since=m)
    log = d.log()[m:]
    where = "%s:%d: " % (d.conf_path, bad_line)
    assert where in log, "no `%s<reason>` line before `reload failed`:\n%s" % (where, log)
    assert log.index(where) < log.index("reload failed: keeping generation 1")
    d.wait_stat("server.reload_failed", lambda v: v == 1)
    assert d.stat("server.reloads") == 0
    assert d.stat("server.generation") == 1
    assert d.server_info()["generation"] == 1
    assert d.worker_pids() == pids
    assert get(d.port, "/").body == b"v1\n"

    # a syntax error is reported with its line too
    lines = text.splitlines()
    lines.insert(4, "workers = 2")      # missing semicolon: error on the next setting
    d.write_config("\n".join(lines) + "\n")
    m = d.mark()
    d.signal(signal.SIGHUP)
    d.wait_log(r"reload failed: keeping generation 1\b", since=m)
    assert str(d.conf_path) + ":" in d.log()[m:]
    d.wait_stat("server.reload_failed", lambda v: v == 2)

    # fixing the file makes the next reload succeed as generation 2
    d.write_config(d.config(routes=[route(prefix="/", body="v3\n")]))
    reload_ok(d, 2, workers=2)
    assert get(d.port, "/").body == b"v3\n"
    assert d.stat("server.reloads") == 1
    assert d.stat("server.reload_failed") == 2


def test_reload_keepalive_connection_drains(sy):
    """A keep-alive connection of the old generation: an idle one is closed
    by the drain; one with a request in flight gets its (old-config)
    response with Connection: close, then the close."""
    d = sy.daemon()
    d.start(d.config(routes=[route(prefix="/", body="v1\n")]))
    idle = HttpConn(port=d.port)
    busy = HttpConn(port=d.port, timeout=10)
    try:
        assert idle.roundtrip(request("GET", "/")).body == b"v1\n"
        assert busy.roundtrip(request("GET", "/")).body == b"v1\n"
        busy.send(b"GET / HTTP/1.1\r\nHost: x\r\n")          # head not finished yet
        d.wait_stat(P + "downstream_cx_active", lambda v: v == 2)
        d.write_config(d.config(routes=[route(prefix="/", body="v2\n")]))
        reload_ok(d, 2, workers=2)
        assert get(d.port, "/").body == b"v2\n"
        # the idle keep-alive connection is closed by the draining worker
        assert idle.wait_closed(10), "idle keep-alive connection of the old generation not closed"
        # the in-flight request still completes, on the old config
        busy.send(b"\r\n")
        r = busy.read_response()
        assert (r.status, r.body) == (200, b"v1\n")
        assert r.conn_close, "draining worker did not send Connection: close"
        assert busy.wait_closed(5)
    finally:
        idle.close()
        busy.close()
    d.wait_stat(P + "downstream_cx_drain_close", lambda v: v >= 1)
    d.wait_stat(P + "downstream_cx_active", lambda v: v == 0)
    wait_until(lambda: len(children(d.master_pid)) == 2, what="old generation to exit")


def test_reload_listener_set_changes(sy):
    """Kept listeners keep serving, removed ones close, added ones open."""
    d = sy.daemon()
    keep, gone, added = d.port, free_port(), free_port()

    def lst(name, port, body):
        return listener(name, "127.0.0.1:%d" % port, name + "_http",
                        routes=[route(prefix="/", body=body)])
    d.start(d.config(listeners=[lst("keep", keep, "keep1\n"), lst("gone", gone, "gone\n")]))
    assert get(gone, "/").body == b"gone\n"
    assert connect_refused("127.0.0.1", added)
    d.write_config(d.config(listeners=[lst("keep", keep, "keep2\n"), lst("added", added, "added\n")]))
    m = d.mark()
    reload_ok(d, 2, workers=2)
    d.wait_log(r"listening on 127\.0\.0\.1:%d" % added, since=m)
    assert get(keep, "/").body == b"keep2\n"
    assert get(added, "/").body == b"added\n"
    wait_until(lambda: connect_refused("127.0.0.1", gone), what="removed listener to close")
    assert d.stat("listener.127.0.0.1:%d.downstream_cx_total" % added) == 1
    assert d.stat("http.added_http.downstream_rq_total") == 1


def test_reload_log_reports_generation_in_worker_lines(sy):
    d = sy.daemon()
    d.start(d.config(workers=3))
    assert len(d.started_workers(1)) == 3
    reload_ok(d, 2, workers=3)
    reload_ok(d, 3, workers=3)
    assert len(d.started_workers(3)) == 3
    wait_until(lambda: len(children(d.master_pid)) == 3, what="only generation 3 left")
    assert sorted(d.worker_pids()) == sorted(p for _, p, _ in d.started_workers(3))
    assert d.stat("server.reloads") == 2


def test_reload_20_times_under_load(sy):
    """20 SIGHUPs during continuous load: zero requests lost, zero
    connections refused, every reload counted, counters exact."""
    d = sy.daemon()
    d.start(d.config(workers=2, routes=[route(prefix="/load", body="load\n")]))
    stop = sy.stop_event()
    clients = ([LoadClient(d.port, "keepalive", stop, body=b"load\n", rate=250) for _ in range(2)] +
               [LoadClient(d.port, "close", stop, body=b"load\n", rate=250) for _ in range(2)])
    for c in clients:
        c.start()

    def total_ok():
        return sum(c.ok for c in clients)
    t0 = time.monotonic()
    try:
        wait_until(lambda: total_ok() >= 50, what="load to start")
        for i in range(20):
            reload_ok(d, i + 2, workers=2)
            # some traffic in every generation before the next SIGHUP
            base = total_ok()
            wait_until(lambda: total_ok() >= base + 30, what="load after reload %d" % (i + 1))
        base = total_ok()
        wait_until(lambda: total_ok() >= base + 50, what="load after the last reload")
    finally:
        stop.set()
        for c in clients:
            c.join(15)
    elapsed = time.monotonic() - t0
    sent = sum(c.sent for c in clients)
    ok = total_ok()
    failed = sum(c.failed for c in clients)
    refused = sum(c.refused for c in clients)
    conns = sum(c.connections for c in clients)
    figure("reload under load", "20 SIGHUPs in %.1fs: requests sent=%d ok=%d failed=%d, "
           "connections=%d refused=%d, reloads=%d" % (elapsed, sent, ok, failed, conns, refused,
                                                       d.stat("server.reloads")))
    for c in clients:
        figure("reload under load client", c.summary())
    assert not any(c.is_alive() for c in clients)
    assert refused == 0, [c.summary() for c in clients]
    assert failed == 0, [c.summary() for c in clients]
    assert ok == sent
    assert d.stat("server.reloads") == 20
    assert d.stat("server.generation") == 21
    assert d.stat("server.reload_failed") == 0
    assert d.stat("server.worker_restarts") == 0
    # old generations drain away; counters add up across all of them
    wait_until(lambda: len(children(d.master_pid)) == 2, timeout=30,
               what="old generations to exit (children: %r)" % (children(d.master_pid),))
    d.wait_stat(P + "downstream_rq_total", lambda v: v == sent)
    assert d.stat(P + "downstream_rq_2xx") == ok
    d.wait_stat(P + "downstream_cx_active", lambda v: v == 0)
    assert d.stat("listener.127.0.0.1:%d.downstream_cx_total" % d.port) == conns
    assert d.stat("listener.127.0.0.1:%d.downstream_cx_active" % d.port) == 0


def test_sighup_burst(sy):
    """Ten SIGHUPs sent back to back (the kernel may merge some): the master
    survives, every reload it did is counted, and one generation is left."""
    d = sy.daemon()
    d.start(d.config(workers=2))
    m = d.mark()
    for _ in range(10):
        d.signal(signal.SIGHUP)
    d.wait_log(r"reload ok: generation \d+", since=m)
    # settle: no reload in progress once the generation stops moving
    def settled():
        g = d.stat("server.generation")
        return (d.stat("server.reloads") == g - 1 and
                len(d.started_workers(g)) == 2 and
                len(children(d.master_pid)) == 2 and g)
    g = wait_until(settled, timeout=30, what="reloads to settle")
    assert 2 <= g <= 11
    for _ in range(10):
        assert get(d.port, "/").status == 200
    wait_until(lambda: settled() and sorted(d.worker_pids()) == sorted(
        p for _, p, _ in d.started_workers(d.stat("server.generation"))), timeout=30)
    assert d.stat("server.reload_failed") == 0
    assert d.stat("server.worker_restarts") == 0


def test_reload_keeps_restart_only_settings(sy):
    """pid_file is restart-only: a reload that changes it is applied for
    everything else, logs a warning naming the key, and the running
    value stays (config_dump and the pid file itself)."""
    d = sy.daemon()
    d.start(d.config(routes=[route(prefix="/", body="v1\n")]))
    other = str(d.pid_file) + ".other"
    d.write_config(d.config(routes=[route(prefix="/", body="v2\n")],
                            top={"pid_file": other}))
    m = d.mark()
    reload_ok(d, 2, workers=2)
    d.wait_log(r'"pid_file" changed but needs a restart', since=m)
    assert get(d.port, "/").body == b"v2\n"
    dump = json.loads(d.admin("GET", "/config_dump").body)
    assert dump["pid_file"] == str(d.pid_file), dump["pid_file"]
    assert not os.path.exists(other)
