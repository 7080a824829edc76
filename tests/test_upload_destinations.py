"""Delivery per destination: a dead, failing or misconfigured collector holds back only its own files.

Files for one destination (the header's `export` section) keep their order and share a backoff;
files for another go in the same run and are never delayed by it. 401/403/404 say the endpoint or
its credentials are wrong: the files wait (within the spool's bounds) instead of being dropped.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from optel import _paths
from optel.spool.files import Spool
from optel.spool.launch import uploader_running
from optel.spool.writer import destination
from optel.upload import upload
from optel.upload.uploader import MISCONFIGURED_HINT
from otlp_receiver import OTLPReceiver

APP = "destinations-test"
T0 = 1_790_000_000_000_000_000


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def header(endpoint: str) -> dict[str, Any]:
    return {
        "app": APP, "created_ns": T0,
        "resource": {"service.name": APP, "service.version": "1.0", "optel.install.id": "id-1"},
        "consent": {"mode": "anonymous", "source": "user_file", "install_id": "id-1"},
        "export": {"endpoint": endpoint, "headers": None},
        "settings": {"policy": "opt-in", "sample_percent": 100.0, "consent_version": 1, "version_module": None},
    }  # fmt: skip


def span(name: str, n: int) -> dict[str, Any]:
    return {
        "t": "span", "trace_id": f"{n:032x}", "span_id": f"{n:016x}", "parent_span_id": None, "name": name,
        "kind": "internal", "start_ns": T0 + n, "end_ns": T0 + n + 10, "attributes": {}, "status": "ok",
        "status_message": None, "events": [],
    }  # fmt: skip


def spool_in_order(*files: tuple[str, str]) -> None:
    """One file per (endpoint, span name), oldest first."""
    for n, (endpoint, name) in enumerate(files, 1):
        assert Spool(APP).write(header(endpoint), [span(name, n)]) is not None
        time.sleep(0.001)  # names sort by creation time


def names(receiver: OTLPReceiver) -> list[str]:
    return [s["name"] for s in receiver.spans()]


def names_in(spool: Spool) -> list[str]:
    out = []
    for name in spool.files():
        with open(os.path.join(spool.path, name)) as f:
            out += [line.split('"name":"')[1].split('"')[0] for line in f if '"t":"span"' in line]
    return out


@pytest.mark.parametrize("dead", ["refused", "503"])
def test_a_dead_collector_holds_back_only_its_own_files_and_the_live_one_gets_its_data_in_the_same_run(
    dead: str,
) -> None:
    with OTLPReceiver() as live, OTLPReceiver() as failing:
        failing.respond_with(503)
        down = f"http://127.0.0.1:{closed_port()}" if dead == "refused" else failing.url
        spool_in_order((down, "d1"), (live.url, "l1"), (down, "d2"), (live.url, "l2"), (down, "d3"))
        summary = upload(APP)
        assert names(live) == ["l1", "l2"]
        # d1 failed: d2 and d3 were not tried after it (their order is kept for the next run).
        assert len(failing.requests) == (1 if dead == "503" else 0)
        assert (summary.files_sent, summary.files_kept) == (2, 3)
        assert down.split("//")[1] in (summary.error or "")
    spool = Spool(APP)
    assert sorted(names_in(spool)) == ["d1", "d2", "d3"]
    assert spool.backoff_until(destination(header(down)["export"])) is not None
    assert spool.backoff_until(destination(header(live.url)["export"])) is None
    # Every file kept waits for that backoff: the spool-wide gate (leftovers, status) says so too.
    assert spool.backoff_until() is not None and spool.failures() == 1


def test_files_of_one_destination_arrive_in_order_once_it_is_back() -> None:
    with OTLPReceiver() as live, OTLPReceiver() as flaky:
        flaky.respond_with(503, times=1)
        spool_in_order((flaky.url, "f1"), (live.url, "l1"), (flaky.url, "f2"), (flaky.url, "f3"))
        upload(APP)
        assert names(live) == ["l1"] and names(flaky) == []
        again = upload(APP)  # within f's backoff: nothing is tried
        assert again.skipped and "backing off" in again.skipped and len(flaky.requests) == 1
        upload(APP, respect_backoff=False)
        assert names(flaky) == ["f1", "f2", "f3"]
    spool = Spool(APP)
    assert spool.files() == [] and spool.backoff_until() is None
    assert spool.backoff_until(destination(header(flaky.url)["export"])) is None


def test_a_file_written_during_a_run_is_not_held_back_by_the_spool_wide_backoff() -> None:
    import threading

    with OTLPReceiver() as live, OTLPReceiver() as hanging:
        hanging.hang()
        spool_in_order((hanging.url, "h1"))
        run = threading.Thread(
            target=upload, args=(APP,), kwargs={"environ": {"OTEL_EXPORTER_OTLP_TIMEOUT": "1000"}}
        )
        run.start()
        assert hanging.wait_for(lambda r: len(r.requests) == 1)
        spool_in_order((live.url, "l1"))  # a host's flush while the run waits on the dead collector
        run.join(30)
    spool = Spool(APP)
    assert spool.backoff_until(destination(header(hanging.url)["export"])) is not None
    assert spool.backoff_until() is None, "l1 is due: the launcher's spool-wide gate must let it go"


HOST = r"""
import sys
import optel

optel.init("destinations-test", version="1.0")
optel.command("run " + sys.argv[1])(lambda: None)()
"""


def host(script: Path, run: str, endpoint: str) -> None:
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
    done = subprocess.run(
        [sys.executable, str(script), run], capture_output=True, text=True, timeout=60, env=env
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    deadline = time.monotonic() + 30
    while uploader_running(APP):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_dead_collectors_backoff_does_not_delay_the_next_run_of_a_live_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every run starts its uploader (docs/internals.md#the-delivery-policy): the gate under test is
    # the backoff's.
    monkeypatch.setenv("OPTEL_UPLOAD_INTERVAL", "0")
    config = Path(_paths.user_config_file(APP))
    config.parent.mkdir(parents=True)
    config.write_text('mode = "anonymous"\ninstall_id = "id-1"\nconsent_version = 1\n')
    script = tmp_path / "host.py"
    script.write_text(HOST)
    with OTLPReceiver() as live, OTLPReceiver() as dead:
        dead.respond_with(503)
        host(script, "a", dead.url)  # its uploader gets a 503: the dead collector backs off
        assert len(dead.requests) == 1 and Spool(APP).backoff_until() is not None
        host(script, "b", live.url)  # its own uploader starts at once and delivers
        assert live.wait_for(lambda r: "run b" in names(r), timeout=10), "the live collector waited"
        host(script, "c", dead.url)  # within the dead one's backoff: no uploader tries it again
        assert len(dead.requests) == 1
    assert sorted(n for n in names_in(Spool(APP)) if n.startswith("run")) == ["run a", "run c"]


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_misconfigured_endpoint_keeps_the_data_backs_off_and_says_why(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    with OTLPReceiver() as receiver, OTLPReceiver() as live:
        receiver.respond_with(status)
        spool_in_order(
            *[
                (url, f"{name}{i}")
                for i in range(3)
                for url, name in ((receiver.url, "s"), (live.url, "l"))
            ]
        )
        with caplog.at_level(logging.DEBUG, logger="optel"):
            summary = upload(APP)
        assert (summary.files_sent, summary.files_kept, summary.files_dropped) == (3, 3, 0)
        assert len(receiver.requests) == 1 and names(live) == ["l0", "l1", "l2"]
        assert (
            f"HTTP {status} from {receiver.url}/v1/traces: {MISCONFIGURED_HINT}" in summary.line()
        )
        assert [r.getMessage() for r in caplog.records].count(
            f"optel: HTTP {status} from {receiver.url}/v1/traces: {MISCONFIGURED_HINT}; its files are kept for a later run"
        ) == 1
        assert Spool(APP).backoff_until(destination(header(receiver.url)["export"])) is not None
        assert Spool(APP).drop_counts() == {}
        receiver.behave()  # the maintainer fixed the endpoint
        upload(APP, respect_backoff=False)
        assert names(receiver) == ["s0", "s1", "s2"]


def test_optel_upload_prints_the_misconfiguration_once() -> None:
    with OTLPReceiver() as receiver:
        receiver.respond_with(401)
        spool_in_order((receiver.url, "s0"), (receiver.url, "s1"))
        done = subprocess.run(
            [sys.executable, "-m", "optel", "upload", "--app", APP],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.count("\n") == 1 and done.stdout.count("HTTP 401") == 1, done.stdout
    assert "kept 2; dropped 0" in done.stdout and "maintainer can fix" in done.stdout


def test_a_collector_url_in_a_message_carries_no_credentials_or_query() -> None:
    from optel.upload.uploader import _shown

    assert (
        _shown("https://user:pw@collector.example:4318/v1/traces?api_key=k#x")
        == "https://collector.example:4318/v1/traces"
    )
    assert _shown("collector:4317") == "collector:4317"
