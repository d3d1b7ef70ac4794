"""Fixtures for switchyard's integration tests.

`sy` is a factory: sy.daemon() gives a Daemon with its own directory and a
free port; sy.backend(*args) starts build/tools/sy-backend; sy.upstream(obj)
registers another upstream (sylib.RawServer, sylib.WebSocketServer) to be
stopped; sy.stop_event() gives an event set at teardown.  At
teardown every daemon is stopped (SIGTERM, wait, SIGKILL fallback), any
leftover process is killed, and the test fails if an error log holds an
[alert], [emerg] or [crit] line, if stderr holds a sanitizer report
(make check-asan), or if a process outlived its master.
"""

import os
import signal
import tempfile
import threading

import pytest

import sylib


def pytest_configure(config):
    missing = [str(p) for p in (sylib.SWITCHYARD, sylib.SWITCHYARDCTL) if not os.access(p, os.X_OK)]
    if missing:
        raise pytest.UsageError("switchyard binaries not found: %s (set SWITCHYARD_BUILD)"
                                % ", ".join(missing))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def pytest_terminal_summary(terminalreporter):
    if sylib.FIGURES:
        terminalreporter.section("switchyard figures")
        for line in sylib.FIGURES:
            terminalreporter.write_line(line)


class Factory:
    def __init__(self, root):
        self.root = root
        self.daemons = []
        self.stops = []
        self.upstreams = []     # stopped after the daemons, in reverse order

    def backend(self, *args):
        b = sylib.Backend(self.root, args)
        self.upstreams.append(b)
        return b

    def upstream(self, obj):
        self.upstreams.append(obj)
        return obj

    def daemon(self):
        d = sylib.Daemon(self.root)
        self.daemons.append(d)
        return d

    def stop_event(self):
        ev = threading.Event()
        self.stops.append(ev)
        return ev


@pytest.fixture
def sy(request):
    root = tempfile.mkdtemp(prefix="sy-it-", dir="/tmp")
    f = Factory(root)
    yield f
    for ev in f.stops:
        ev.set()
    problems = []
    for d in f.daemons:
        if d.proc is None and d.master_pid is None:
            continue
        d.stop(signal.SIGTERM)
        # Workers must not outlive their master.
        try:
            sylib.wait_until(lambda: not d.leftovers(), timeout=5, what="workers to exit")
        except AssertionError:
            left = d.kill_leftovers()
            problems.append("processes still alive after the master exited: %r" % left)
        bad = d.bad_log_lines()
        if bad:
            problems.append("alert/emerg/crit lines in %s:\n  %s" % (d.dir, "\n  ".join(bad[:20])))
        san = d.sanitizer_reports()
        if san:
            problems.append("sanitizer reports in %s (see stderr.txt):\n  %s"
                            % (d.dir, "\n  ".join(san[:20])))
    for u in reversed(f.upstreams):
        u.stop()
        problems.extend(u.problems())
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed or problems:
        for d in f.daemons:
            if d.proc is None and d.master_pid is None:
                continue
            print("---- %s (%s) log tail ----" % (d.dir, " ".join(getattr(d, "cmd", []))))
            print(d.logs_tail(80))
        for u in f.upstreams:
            if isinstance(u, sylib.Backend):
                print("---- sy-backend %s output tail ----" % u.dir)
                print(u.tail())
    if not failed and not problems and not os.environ.get("SY_KEEP"):
        sylib.rmtree(root)
    if problems:
        pytest.fail("teardown: " + "\n".join(problems), pytrace=False)
