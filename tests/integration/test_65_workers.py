"""Worker crash and respawn: kill -9 of a worker under load.  The master
respawns it (with back-off, no fork storm), logs it, counts it, reclaims
its gauges, and no counter ever goes down."""

import os
import signal

from sylib import (CounterSampler, HttpConn, LoadClient, PeerClosed, children, expected_stat_names,
                   figure, get, pid_alive, request, server_conn_owner_counts, wait_until)

P = "http.ingress_http."

# A deliberately killed worker may be reported at alert level (nginx does);
# only that exact line is tolerated by the teardown check.
KILLED_LINE = r"worker \d+ exited on signal 9\b"


def counter_names(d):
    names = expected_stat_names(["127.0.0.1:%d" % d.port], ["ingress_http"])
    return [n for n, t in names.items() if t == "COUNTER"]


def test_kill_worker_under_load(sy):
    d = sy.daemon()
    d.allowed_bad.append(KILLED_LINE)
    d.start(d.config(workers=2))
    lst = "listener.127.0.0.1:%d." % d.port
    pids = d.worker_pids()
    assert len(pids) == 2

    # idle keep-alive connections spread over the workers
    held = []
    for _ in range(16):
        c = HttpConn(port=d.port)
        assert c.roundtrip(request("GET", "/")).status == 200
        held.append(c)
    d.wait_stat(P + "downstream_cx_active", lambda v: v == 16)
    owners = wait_until(lambda: (lambda o: o if sum(o.values()) == 16 else None)(
        server_conn_owner_counts(pids, d.port)), what="connection owners in /proc")
    victim = max(owners, key=owners.get)
    assert owners[victim] > 0, owners

    stop = sy.stop_event()
    sampler = CounterSampler(d, stop, counter_names(d))
    load = [LoadClient(d.port, "keepalive", stop, rate=100),
            LoadClient(d.port, "close", stop, rate=100)]
    sampler.start()
    for c in load:
        c.start()
    try:
        wait_until(lambda: all(c.ok >= 20 for c in load), what="load to start")
        before = d.stats()
        m = d.mark()
        os.kill(victim, signal.SIGKILL)
        d.wait_log(r"worker \d+ exited on signal 9\b", since=m)
        started = d.wait_log(r"worker \d+ started: pid (\d+) generation 1\b", since=m)
        new_pid = int(started[0].group(1))
        assert new_pid != victim and pid_alive(new_pid)
        wait_until(lambda: sorted(d.worker_pids()) == sorted([p for p in pids if p != victim] + [new_pid]),
                   what="server_info to list the respawned worker")
        d.wait_stat("server.worker_restarts", lambda v: v == 1)
        assert d.stat("server.workers") == 2
        # load continues on the survivors and the new worker
        base = sum(c.ok for c in load)
        wait_until(lambda: sum(c.ok for c in load) >= base + 50, what="load after the respawn")
    finally:
        stop.set()
        for c in load:
            c.join(15)
        sampler.join(15)

    # the victim's connections are gone (EOF or reset), the others still work
    victim_conns = owners[victim]
    dead = alive = 0
    for c in held:
        try:
            r = c.roundtrip(request("GET", "/"))
            assert r.status == 200
            alive += 1
        except (PeerClosed, OSError):
            dead += 1
    for c in held:
        c.close()
    assert dead >= victim_conns, (dead, alive, owners)

    # gauges reclaimed: everything closed means zero active, for every gauge
    d.wait_stat(P + "downstream_cx_active", lambda v: v == 0)
    d.wait_stat(P + "downstream_rq_active", lambda v: v == 0)
    d.wait_stat(P + "downstream_cx_http1_active", lambda v: v == 0)
    d.wait_stat(lst + "downstream_cx_active", lambda v: v == 0)
    after = d.stats()
    dec = [n for n in counter_names(d) if after[n] < before[n]]
    assert not dec, "counters went down across the crash: %r" % [(n, before[n], after[n]) for n in dec]
    assert sampler.samples >= 10
    assert not sampler.decreases, sampler.decreases

    # the respawned worker serves: find a connection it accepted
    served = False
    for _ in range(200):
        c = HttpConn(port=d.port)
        try:
            r = c.roundtrip(request("GET", "/"))
            assert r.status == 200
            if server_conn_owner_counts([new_pid], d.port)[new_pid] > 0:
                served = True
                break
        finally:
            c.close()
    assert served, "respawned worker %d never accepted a connection" % new_pid
    assert children(d.master_pid) == sorted(d.worker_pids())
    figure("kill -9 under load", "victim held %d idle connections; %s; %s; sampler %d samples"
           % (victim_conns, load[0].summary(), load[1].summary(), sampler.samples))


def test_repeated_crash_backoff_no_storm(sy):
    """Kill the same worker slot three times: respawned each time, counted,
    and exactly one new process per death (no fork storm)."""
    d = sy.daemon()
    d.allowed_bad.append(KILLED_LINE)
    d.start(d.config(workers=1))
    for i in range(3):
        (pid,) = d.worker_pids()
        m = d.mark()
        os.kill(pid, signal.SIGKILL)
        d.wait_log(r"worker \d+ exited on signal 9\b", since=m)
        started = d.wait_log(r"worker \d+ started: pid (\d+) generation 1\b", since=m, timeout=20)
        new = int(started[0].group(1))
        wait_until(lambda: d.worker_pids() == [new], timeout=20, what="respawn %d" % (i + 1))
        d.wait_stat("server.worker_restarts", lambda v: v == i + 1)
        assert get(d.port, "/").status == 200
    assert len(d.started_workers()) == 4
    assert children(d.master_pid) == d.worker_pids()

