"""Long-running hosts: `flush_interval=` spools records while the host runs, and the detached uploader ships them.

A real host process records a command every few milliseconds until the test tells it to stop. It
flushes to the spool every interval and starts the detached uploader when delivery is due (here at
every flush: `OPTEL_UPLOAD_INTERVAL=0`); the OpenTelemetry SDK never loads in the host
(docs/internals.md#the-import-budget-of-the-host-side). The receiver must get data while the host still runs, and once the host has
exited (handing its last flush to a detached uploader) every command must have arrived exactly once.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from host_process import consent, drain, reap_uploader, settle, spooled
from optel.spool import Spool
from otlp_receiver import OTLPReceiver

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="POSIX processes")]

APP = "long-runner"

# `host.py STOPFILE`: records `tick N` commands until STOPFILE exists, then says how many it recorded
# and every module of the OpenTelemetry SDK, protobuf, grpc or requests this process ever imported
# (an audit hook sees each import as it starts, even one that fails or is removed afterwards).
HOST = r"""
import os
import sys
import time

HEAVY = ("opentelemetry", "google.protobuf", "grpc", "requests")
heavy = []

def is_heavy(name):
    return any(name == h or name.startswith(h + ".") for h in HEAVY)

def audit(event, args):
    if event == "import" and is_heavy(args[0]):
        heavy.append(args[0])

sys.addaudithook(audit)

import optel

optel.init("long-runner", version="1.0", flush_interval=0.2)
ticks = 0
deadline = time.monotonic() + 60
while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
    @optel.command(f"tick {ticks}")
    def tick():
        return None

    tick()
    ticks += 1
    time.sleep(0.01)
optel.shutdown()
print(f"ticks {ticks}", flush=True)
print(f"heavy imports: {sorted(set(heavy) | {m for m in sys.modules if is_heavy(m)})}", flush=True)
"""


@pytest.fixture
def host_script(tmp_path: Path, isolated_home: Path) -> Iterator[Path]:
    consent(APP, isolated_home)
    script = tmp_path / "host.py"
    script.write_text(HOST)
    yield script
    reap_uploader(APP)


def _environment(receiver: OTLPReceiver) -> dict[str, str]:
    # An uploader at every flush that finds none running; a hung export gives up after 1 s.
    return {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_EXPORTER_OTLP_TIMEOUT": "1000",
        "OPTEL_UPLOAD_INTERVAL": "0",
    }


def _stop(host: subprocess.Popen[bytes], stop: Path) -> tuple[str, str]:
    """Tell the host to stop; (its `ticks` line, its `heavy imports` line) once it exited cleanly."""
    stop.touch()
    try:
        out, err = host.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        host.kill()
        host.communicate()
        pytest.fail("the host did not exit once told to stop")
    assert host.returncode == 0 and err == b"", err
    first, second = out.decode().splitlines()
    return first, second


def _assert_every_tick_once(spans: list[dict[str, object]], ticks: int) -> None:
    counts = collections.Counter(s["name"] for s in spans)
    expected = [f"tick {i}" for i in range(ticks)]
    assert {name: counts[name] for name in expected} == dict.fromkeys(expected, 1)
    assert counts["optel.cli.session"] == 1
    ids = [s["span_id"] for s in spans]
    assert len(ids) == len(set(ids)), "a span arrived twice"


def test_a_long_running_host_ships_while_it_runs_without_ever_importing_the_sdk(
    host_script: Path, tmp_path: Path
) -> None:
    stop = tmp_path / "stop"
    spool = Spool(APP)
    with OTLPReceiver() as receiver:
        env = _environment(receiver)
        host = subprocess.Popen(
            [sys.executable, str(host_script), str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            # Several flush intervals' worth of data must arrive before the host is told to stop.
            got_while_running = receiver.wait_for(
                lambda r: (
                    len({s["name"] for s in r.spans() if s["name"].startswith("tick ")}) >= 20
                    and host.poll() is None
                ),
                timeout=30,
            )
            running_still = host.poll() is None
        finally:
            first, second = _stop(host, stop)
        assert got_while_running and running_still, "nothing arrived while the host ran"
        # Detached uploaders delivered it all: the host never imported the SDK, not even for a moment.
        assert second == "heavy imports: []"
        settle(spool)
        # What the last detached uploader left (it may have found the lock taken) goes now.
        drain(APP, env)
        spans = receiver.spans()
    _assert_every_tick_once(spans, int(first.split()[1]))
    assert not [n for n in os.listdir(spool.path) if ".jsonl" in n]


def test_a_collector_that_never_answers_neither_holds_the_host_nor_loses_its_flushes(
    host_script: Path, tmp_path: Path
) -> None:
    stop = tmp_path / "stop"
    spool = Spool(APP)
    with OTLPReceiver() as receiver:
        # The first span request (an uploader started by a periodic flush) is read and never
        # answered: at shutdown that upload is still in flight and holds the uploader lock.
        receiver.hang(times=1, path="/v1/traces")
        env = _environment(receiver)
        host = subprocess.Popen(
            [sys.executable, str(host_script), str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            hung = receiver.wait_for(
                lambda r: any(q.path == "/v1/traces" and q.status == 0 for q in r.requests),
                timeout=30,
            )
        finally:
            stopped = time.monotonic()
            first, _ = _stop(host, stop)
        # The host's exit waits for nothing of the uploader's.
        assert hung, "the hung request never reached the receiver"
        assert time.monotonic() - stopped < 10
        # The hung uploader gives up (its export timeout), keeps its files and starts a successor
        # for the flushes spooled meanwhile (the last one included); what is left goes now.
        settle(spool)
        drain(APP, env)
        spans = receiver.spans()
    _assert_every_tick_once(spans, int(first.split()[1]))


def test_a_long_running_host_follows_the_delivery_policy_and_hands_over_at_exit(
    host_script: Path, tmp_path: Path
) -> None:
    """With the default policy (docs/guide.md: an uploader once the oldest flush waited 4 hours),
    the periodic flushes wait in the spool and start no uploader; the exit hands all of them to one."""
    stop = tmp_path / "stop"
    spool = Spool(APP)
    with OTLPReceiver() as receiver:
        env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}
        env.pop("OPTEL_UPLOAD_INTERVAL", None)
        host = subprocess.Popen(
            [sys.executable, str(host_script), str(stop)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            deadline = time.monotonic() + 30
            while len(spooled(APP)) < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            flushes = len(spooled(APP))
            sent_while_running = list(receiver.requests)
        finally:
            first, second = _stop(host, stop)
        assert flushes >= 3, "the host did not flush every interval"
        assert sent_while_running == [], "an uploader ran before delivery was due"
        assert second == "heavy imports: []"
        settle(spool)
        spans = receiver.spans()
    _assert_every_tick_once(spans, int(first.split()[1]))
    assert spooled(APP) == []
