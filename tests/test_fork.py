"""A host that forks (issue 12 item 3): children exit normally and never send their parent's records.

Real host processes fork three children inside a command, with and without ``flush_interval``,
while the flush thread cleans a big buffer (the fork waits for it) or while another thread holds
the flush lock past the fork's wait, with children that exit through ``sys.exit`` or
``os._exit``, and through a multiprocessing pool of the 'fork' kind.
Everything the processes spooled then goes to a real OTLP receiver, where it is counted against
what docs/guide.md#forked-processes says a child records.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from host_process import drain, receiver_for
from otlp_receiver import OTLPReceiver

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX"),
]

APP = "forker"
CHILDREN = 3

# `host.py INTERVAL EXIT HOLD`: a command forks CHILDREN children, each running one step of its
# own and then leaving by EXIT; with HOLD, another thread holds optel's flush lock across the forks
# (past the time a fork waits for a flush in progress).
HOST = r"""
import os
import sys
import threading

import optel
from optel import _flushes

interval = None if sys.argv[1] == "none" else float(sys.argv[1])
how, hold = sys.argv[2], sys.argv[3] == "hold"
optel.init("forker", version="1.0", flush_interval=interval)


@optel.step("child work")
def work(n):
    optel.event("child event")
    return n


@optel.command("main")
def main():
    release = threading.Event()
    if hold:
        # A flush that outlasts the fork's wait for it: the children fork while it holds the lock.
        _flushes.FORK_WAIT_S = 0.05
        held = threading.Event()

        def holder():
            with _flushes._flush_lock:
                held.set()
                release.wait(10)

        threading.Thread(target=holder, daemon=True).start()
        held.wait(10)
    pids = []
    for n in range(CHILDREN):
        pid = os.fork()
        if pid == 0:
            work(n)
            if how == "os._exit":
                os._exit(0)
            sys.exit(n)  # 1 and 2 pass through the parent's command as failures, in the child only
        pids.append(pid)
    release.set()
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    print("children", codes, flush=True)


main()
""".replace("CHILDREN", str(CHILDREN))

# `host.py`: the flush thread is cleaning TICKS spans (a few hundred milliseconds) when the command
# forks: the buffer is empty once the thread took it, and nothing else records meanwhile.
BUSY_FLUSH_HOST = r"""
import os
import sys
import time

import optel
from optel import _flushes
from optel.record import spans

optel.init("forker", version="1.0", flush_interval=0.05)


@optel.step("tick")
def tick():
    return None


@optel.step("child work")
def work():
    return None


@optel.command("main")
def main():
    with _flushes._flush_lock:  # the flush thread waits, then takes all of them at once
        for _ in range(TICKS):
            tick()
    while spans._buffer:
        time.sleep(0.0005)
    pids = []
    for n in range(CHILDREN):
        pid = os.fork()
        if pid == 0:
            work()
            sys.exit(0)
        pids.append(pid)
    print("children", [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids], flush=True)


main()
""".replace("CHILDREN", str(CHILDREN))

# `host.py`: the flush thread's first flush imports optel.record.flush, made to take half a second
# here, and the command forks while it does: a child that started then would find the module
# half-imported by a thread it does not have, and wait for it for ever at its own flush.
SLOW_IMPORT_HOST = r"""
import os
import sys
import time
from importlib.machinery import PathFinder

import optel


class SlowFlushModule:
    def find_spec(self, name, path, target=None):
        if name != "optel.record.flush":
            return None
        spec = PathFinder.find_spec(name, path)
        load = spec.loader.exec_module

        def exec_module(module):
            time.sleep(0.5)
            load(module)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, SlowFlushModule())
optel.init("forker", version="1.0", flush_interval=0.05)


@optel.step("child work")
def work():
    return None


@optel.command("main")
def main():
    while "optel.record.flush" not in sys.modules:
        time.sleep(0.001)
    pids = []
    for n in range(CHILDREN):
        pid = os.fork()
        if pid == 0:
            work()
            sys.exit(0)
        pids.append(pid)
    print("children", [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids], flush=True)


main()
""".replace("CHILDREN", str(CHILDREN))

POOL_HOST = r"""
import multiprocessing

import optel

optel.init("forker", version="1.0")


@optel.step("pool task")
def task(n):
    return n * n


@optel.command("main")
def main():
    pool = multiprocessing.get_context("fork").Pool(CHILDREN)
    print("results", pool.map(task, range(2 * CHILDREN)), flush=True)
    pool.close()
    pool.join()


if __name__ == "__main__":
    main()
""".replace("CHILDREN", str(CHILDREN))


@pytest.fixture
def receiver(isolated_home: Path) -> Iterator[OTLPReceiver]:
    with receiver_for(APP, isolated_home) as receiver:
        yield receiver


def run_host(
    tmp_path: Path, receiver: OTLPReceiver, source: str, *args: str
) -> tuple[str, dict[str, Any]]:
    script = tmp_path / "host.py"
    script.write_text(source)
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}
    # A session of its own: a child that hangs is killed with its parent, not left behind.
    host = subprocess.Popen(
        [sys.executable, str(script), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = host.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(host.pid, signal.SIGKILL)
        host.communicate()
        pytest.fail("the host or one of its children did not exit")
    finally:
        try:
            os.killpg(host.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert host.returncode == 0 and err == "", err
    drain(APP, env)
    return out, receiver.spans()


def the_one(spans: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [s for s in spans if s["name"] == name]
    assert len(found) == 1, f"{len(found)} copies of {name!r}"
    return found[0]


def check_children(spans: list[dict[str, Any]], name: str, count: int, processes: int) -> None:
    """One command span, `count` child spans under it, one session per process that flushed (each
    counting only its own spans), and no span id twice."""
    command = the_one(spans, "main")
    assert command["status"] != "error" and "error.type" not in command["attributes"]
    sessions = [s["attributes"] for s in spans if s["name"] == "optel.cli.session"]
    assert len(sessions) == processes
    assert sum(s["optel.cli.summary.commands"] for s in sessions) == 1
    assert sum(s["optel.cli.summary.steps"] for s in sessions) == count + sum(
        n == "tick" for n in names(spans)
    )
    ids = [s["span_id"] for s in spans]
    assert len(ids) == len(set(ids)), "a span arrived twice"
    children = [s for s in spans if s["name"] == name]
    assert len(children) == count
    for child in children:
        assert (child["trace_id"], child["parent_span_id"]) == (
            command["trace_id"],
            command["span_id"],
        )


def names(spans: list[dict[str, Any]]) -> list[str]:
    return [s["name"] for s in spans]


def points(receiver: OTLPReceiver, name: str) -> float:
    return sum(p.get("value", p.get("count", 0)) for p in receiver.metrics() if p["name"] == name)


@pytest.mark.parametrize("interval", ["none", "0.05"])
@pytest.mark.parametrize("hold", ["hold", "free"])
def test_children_exiting_normally_record_their_own_work_once_and_never_the_parents(
    tmp_path: Path, receiver: OTLPReceiver, interval: str, hold: str
) -> None:
    out, spans = run_host(tmp_path, receiver, HOST, interval, "sys.exit", hold)
    assert out == "children [0, 1, 2]\n"
    check_children(spans, "child work", CHILDREN, 1 + CHILDREN)
    # The event inside each child's step stays on that step; the parent's command got none.
    assert all(
        s["events"] and s["events"][0]["name"] == "child event"
        for s in spans
        if s["name"] == "child work"
    )
    # The children's exits through the parent's command count nothing against it.
    assert points(receiver, "optel.cli.command.invocations") == 1
    assert points(receiver, "optel.cli.errors") == 0


@pytest.mark.parametrize("interval", ["none", "0.05"])
def test_children_leaving_by_os_exit_record_nothing(
    tmp_path: Path, receiver: OTLPReceiver, interval: str
) -> None:
    out, spans = run_host(tmp_path, receiver, HOST, interval, "os._exit", "hold")
    assert out == "children [0, 0, 0]\n"
    check_children(spans, "child work", 0, 1)


def test_multiprocessing_fork_workers_flush_their_tasks_when_the_pool_is_closed(
    tmp_path: Path, receiver: OTLPReceiver
) -> None:
    out, spans = run_host(tmp_path, receiver, POOL_HOST)
    assert out == f"results {[n * n for n in range(2 * CHILDREN)]}\n"
    check_children(spans, "pool task", 2 * CHILDREN, 1 + CHILDREN)
    assert collections.Counter(s["name"] for s in spans)["main"] == 1


def test_a_fork_while_the_flush_thread_cleans_a_big_buffer_costs_nothing_and_sends_it_once(
    tmp_path: Path, receiver: OTLPReceiver
) -> None:
    ticks = 20_000
    out, spans = run_host(tmp_path, receiver, BUSY_FLUSH_HOST.replace("TICKS", str(ticks)))
    assert out == "children [0, 0, 0]\n"
    check_children(spans, "child work", CHILDREN, 1 + CHILDREN)
    assert collections.Counter(s["name"] for s in spans)["tick"] == ticks


def test_a_fork_while_the_flush_thread_imports_waits_for_the_import(
    tmp_path: Path, receiver: OTLPReceiver
) -> None:
    out, spans = run_host(tmp_path, receiver, SLOW_IMPORT_HOST)
    assert out == "children [0, 0, 0]\n"
    check_children(spans, "child work", CHILDREN, 1 + CHILDREN)
