"""Long-running hosts (issue 5 item 5): `flush_interval=` ships records while the host runs, and the rest at exit.

A real host process records a command every few milliseconds until the test tells it to stop; the
receiver must get data while the host still runs, and once the host has exited (handing its last
flush to the detached uploader) every command must have arrived exactly once.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from host_process import consent, drain, reap_uploader, settle
from optel.spool import Spool
from otlp_receiver import OTLPReceiver

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="POSIX processes")]

APP = "long-runner"

# `host.py STOPFILE`: records `tick N` commands until STOPFILE exists, then says how many it recorded
# and whether the SDK was loaded in this process (by the background uploader thread, never by the
# main thread's recording).
HOST = r"""
import os
import sys
import time

import optel

optel.init("long-runner", version="1.0", flush_interval=0.3)
loaded_at_init = "google.protobuf" in sys.modules
ticks = 0
deadline = time.monotonic() + 30
while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
    @optel.command(f"tick {ticks}")
    def tick():
        return None

    tick()
    ticks += 1
    time.sleep(0.01)
print(f"ticks {ticks}", flush=True)
print(f"sdk at init: {loaded_at_init}; sdk at exit: {'google.protobuf' in sys.modules}", flush=True)
"""


@pytest.fixture
def host_script(tmp_path: Path, isolated_home: Path) -> Iterator[Path]:
    consent(APP, isolated_home)
    script = tmp_path / "host.py"
    script.write_text(HOST)
    yield script
    reap_uploader(APP)


def test_a_long_running_host_ships_while_it_runs_and_everything_arrives_exactly_once(
    host_script: Path, tmp_path: Path
) -> None:
    stop = tmp_path / "stop"
    spool = Spool(APP)
    with OTLPReceiver() as receiver:
        env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}
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
                timeout=20,
            )
            running_still = host.poll() is None
        finally:
            stop.touch()
            try:
                out, err = host.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                host.kill()
                host.communicate()
                pytest.fail("the host did not exit once told to stop")
        assert got_while_running and running_still, "nothing arrived while the host ran"
        assert host.returncode == 0 and err == b"", err
        first, second = out.decode().splitlines()
        ticks = int(first.split()[1])
        # The background uploader loaded its encoder (protobuf) in this process, not while init() ran.
        assert second == "sdk at init: False; sdk at exit: True"

        settle(spool)
        # What the detached uploader left (it may have found the lock taken) goes now.
        drain(APP, env)
        spans = receiver.spans()
    counts = collections.Counter(s["name"] for s in spans)
    expected = [f"tick {i}" for i in range(ticks)]
    assert {name: counts[name] for name in expected} == dict.fromkeys(expected, 1)
    assert counts["optel.cli.session"] == 1
    ids = [s["span_id"] for s in spans]
    assert len(ids) == len(set(ids)), "a span arrived twice"
    assert not [n for n in os.listdir(spool.path) if ".jsonl" in n]


HANGING_HOST = r"""
import sys
import time

import optel

optel.init("long-runner", version="1.0", flush_interval=0.2)
ticks = 0
end = time.monotonic() + 0.8
while time.monotonic() < end:
    @optel.command(f"tick {ticks}")
    def tick():
        return None

    tick()
    ticks += 1
    time.sleep(0.01)
print(f"ticks {ticks}", flush=True)
"""


def test_a_collector_that_never_answers_does_not_keep_the_last_flush_from_the_detached_uploader(
    host_script: Path, tmp_path: Path
) -> None:
    script = tmp_path / "hanging_host.py"
    script.write_text(HANGING_HOST)
    spool = Spool(APP)
    with OTLPReceiver() as receiver:
        # The background thread's first span request is read and never answered: at shutdown
        # that upload is still in flight.
        receiver.hang(times=1, path="/v1/traces")
        env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}
        done = subprocess.run(
            [sys.executable, str(script)], capture_output=True, env=env, timeout=60
        )
        assert (done.returncode, done.stderr) == (0, b"")
        ticks = int(done.stdout.split()[1])
        settle(spool)
        # The host handed its last flush (with the session summary) to a detached uploader,
        # although its own thread still held the uploader lock, waiting on the collector.
        assert [s["name"] for s in receiver.spans()].count("optel.cli.session") == 1
        # What the thread had claimed is claimed again once its process is gone.
        drain(APP, env)
        spans = receiver.spans()
    counts = collections.Counter(s["name"] for s in spans)
    expected = [f"tick {i}" for i in range(ticks)]
    assert {name: counts[name] for name in expected} == dict.fromkeys(expected, 1)
    assert counts["optel.cli.session"] == 1
