"""Every request has a total deadline, and every uploader run keeps to its lifetime and `--max-seconds`.

A collector that accepts and then stalls (never answers, drips its answer a byte a second, or
sends its headers and drips the body) must not keep an uploader past its time: the requests'
timeout bounds each read only, and a drip resets it. Real uploader processes against a real
server on 127.0.0.1 (tests/stalling_server.py); the wall time is measured from outside, and the
data stays in the spool for a later run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest

from optel import _paths
from optel.spool.files import Spool
from optel.spool.launch import uploader_running
from optel.spool.lock import read_lock
from stalling_server import MODES, StallingServer

APP = "deadline-tool"
T0 = 1_790_000_000_000_000_000
MAX_SECONDS = 3.0
SLACK = 1.0  # "within a second"


@pytest.fixture(autouse=True)
def consented() -> None:
    user_file = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(user_file), exist_ok=True)
    with open(user_file, "w") as f:
        f.write(
            'mode = "anonymous"\ninstall_id = "3f1d0c9e-0000-4000-8000-0000000030d3"\nconsent_version = 1\n'
        )


def _spool_one() -> Spool:
    spool = Spool(APP)
    header = {
        "app": APP, "created_ns": T0, "resource": {"service.name": APP},
        "consent": {"mode": "anonymous", "source": "user_file", "install_id": "3f1d0c9e-0000-4000-8000-0000000030d3"},
        "export": {"endpoint": None, "headers": None},
        "settings": {"policy": "opt-in", "sample_percent": 100.0, "consent_version": 1, "version_module": None},
    }  # fmt: skip
    span = {"t": "span", "trace_id": "1" * 32, "span_id": "2" * 16, "parent_span_id": None, "name": "go",
            "kind": "internal", "start_ns": T0, "end_ns": T0 + 5, "attributes": {}, "status": "ok",
            "status_message": None, "events": []}  # fmt: skip
    assert spool.write(header, [span]) is not None
    return spool


def _timed_upload(
    env: dict[str, str], *flags: str
) -> tuple[float, subprocess.CompletedProcess[str]]:
    command = [
        sys.executable,
        "-m",
        "optel",
        "upload",
        "--app",
        APP,
        "--max-seconds",
        str(MAX_SECONDS),
        *flags,
    ]
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=90)
    return time.monotonic() - started, done


def _user_endpoint(url: str, **extra: str) -> dict[str, str]:
    # The user's own timeout is a minute: only the run's own bound can end it in time.
    return {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": url,
        "OTEL_EXPORTER_OTLP_TIMEOUT": "60000",
        **extra,
    }


@pytest.mark.parametrize("detached", [False, True], ids=["optel upload", "detached"])
@pytest.mark.parametrize("mode", MODES)
def test_an_upload_against_a_stalling_collector_ends_within_max_seconds_and_keeps_the_data(
    mode: str, detached: bool
) -> None:
    spool = _spool_one()
    with StallingServer(mode) as server:
        elapsed, done = _timed_upload(
            _user_endpoint(server.url), *(["--detached"] if detached else [])
        )
        assert server.connections >= 1
    assert done.returncode == 0, done.stderr
    assert elapsed <= MAX_SECONDS + SLACK, (elapsed, done.stdout)
    if not detached:
        assert "kept 1" in done.stdout and "timed out" in done.stdout, done.stdout
    assert len(spool.files()) == 1


@pytest.mark.parametrize("mode", ["silent", "drip"])
def test_a_grpc_upload_against_a_stalling_collector_ends_within_max_seconds(mode: str) -> None:
    spool = _spool_one()
    with StallingServer(mode) as server:
        elapsed, done = _timed_upload(
            _user_endpoint(server.url, OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
        )
    assert done.returncode == 0, done.stderr
    assert elapsed <= MAX_SECONDS + SLACK, (elapsed, done.stdout)
    assert "kept 1" in done.stdout, done.stdout
    assert len(spool.files()) == 1


def test_a_grpc_collector_that_takes_the_call_and_never_answers_is_left_in_time() -> None:
    from test_upload_grpc import GrpcCollector

    spool = _spool_one()
    with GrpcCollector() as collector:
        collector.answer("hang", "hang")
        elapsed, done = _timed_upload(
            _user_endpoint(collector.url, OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
        )
        assert len(collector.exports) >= 1
    assert done.returncode == 0, done.stderr
    assert elapsed <= MAX_SECONDS + SLACK, (elapsed, done.stdout)
    assert "DEADLINE_EXCEEDED" in done.stdout and "kept 1" in done.stdout, done.stdout
    assert len(spool.files()) == 1


HOST = """
import optel
optel.init({app!r}, endpoint={endpoint!r})

@optel.command()
def go():
    pass

go()
"""


def _uploader_pid(timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = read_lock(Spool(APP).path)
        if info is not None:
            return info.pid
        time.sleep(0.01)
    return None


def test_the_uploader_a_host_starts_gives_a_dripping_collector_one_request_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "OPTEL_UPLOAD_INTERVAL", "0"
    )  # the run starts its uploader (docs/internals.md#the-delivery-policy)
    # The app's endpoint drips; the uploader's request may last the default 5 s in all, not the
    # minutes a drip would make of a per-read timeout.
    from optel.upload.export import DEFAULT_TIMEOUT

    with StallingServer("drip") as server:
        script = HOST.format(app=APP, endpoint=server.url)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
        exited = time.monotonic()
        assert (done.returncode, done.stderr) == (0, b"")
        pid = _uploader_pid()
        while uploader_running(APP) and time.monotonic() - exited < 40:
            time.sleep(0.05)
        elapsed = time.monotonic() - exited
        assert server.connections >= 1
    assert pid is not None
    # The uploader's own start (an interpreter, the SDK's imports: seconds on a loaded machine) comes
    # before the request's deadline; without one, the drip held it for the server's whole 30 s.
    assert elapsed <= DEFAULT_TIMEOUT + 3.0, elapsed
    assert len(Spool(APP).files()) == 1
