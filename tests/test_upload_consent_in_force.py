"""The consent in force at upload time reaches queued data: real hosts, the real CLI, a real receiver.

A host records while identified with its collector down, so its flush waits in the spool; the user
then changes their choice (`optel enable`, `optel disable`, the stored file edited, or the
environment of the upload); the upload that follows applies the choice of that moment.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from optel import _paths
from optel.record.clean import FORBIDDEN_KEYS
from optel.spool import Spool
from optel.spool.launch import uploader_running
from optel.upload.in_force import bring_down
from otlp_receiver import OTLPReceiver

pytestmark = pytest.mark.slow

APP = "in-force-app"
USER_ID = "alice@example.com"
INSTALL_ID = "5b0c2a71-0000-4000-8000-00000000a11c"
IDENTITY = FORBIDDEN_KEYS | {"user.id"}

HOST = r"""
import optel

optel.init("in-force-app", version="2.0")

@optel.command("sync")
def sync():
    optel.step("fetch")(lambda: None)()
    optel.count_input()

sync()
"""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def optel_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "optel", *args, "--app", APP],
        capture_output=True, text=True, timeout=60, env=env or dict(os.environ),
    )  # fmt: skip


def store(text: str) -> None:
    path = Path(_paths.user_config_file(APP))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def settle() -> None:
    deadline = time.monotonic() + 30
    while uploader_running(APP):
        assert time.monotonic() < deadline, "the detached uploader did not finish"
        time.sleep(0.05)


def queued_while_identified(tmp_path: Path, url: str) -> None:
    """One host run, identified, collector down: its flush is in the spool, with the user id."""
    enabled = optel_cli("enable", "--user-id", USER_ID)
    assert enabled.returncode == 0, enabled.stderr
    script = tmp_path / "host.py"
    script.write_text(HOST)
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": url}
    host = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env
    )
    assert (host.returncode, host.stdout, host.stderr) == (0, "", "")
    settle()
    spool = Spool(APP)
    [name] = spool.files()
    with open(os.path.join(spool.path, name)) as f:
        assert f'"user.id":"{USER_ID}"' in f.read(), "the host recorded identified"


def resources_and_attributes(receiver: OTLPReceiver) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for span in receiver.spans():
        out += [
            span["resource"],
            span["attributes"],
            *(event["attributes"] for event in span["events"]),
        ]
    for point in receiver.metrics():
        out += [point["resource"], point["attributes"]]
    return out


def upload_to(port: int, **env: str) -> OTLPReceiver:
    with OTLPReceiver(port=port) as receiver:
        done = optel_cli("upload", env={**os.environ, **env})
        assert done.returncode == 0 and done.stderr == "", done
        assert done.stdout.startswith("sent "), done.stdout
    return receiver


DOWNGRADES = {
    "optel enable (anonymous)": lambda: optel_cli("enable"),
    "stored file edited": lambda: store(
        f'mode = "anonymous"\ninstall_id = "{INSTALL_ID}"\nconsent_version = 1\n'
    ),
}


@pytest.mark.parametrize("downgrade", list(DOWNGRADES))
def test_a_downgrade_to_anonymous_strips_the_identity_of_files_queued_while_identified(
    tmp_path: Path, downgrade: str
) -> None:
    port = closed_port()
    queued_while_identified(tmp_path, f"http://127.0.0.1:{port}")
    DOWNGRADES[downgrade]()
    receiver = upload_to(port)
    assert {s["name"] for s in receiver.spans()} >= {"sync", "fetch"}
    assert receiver.metrics(), "the metrics went too"
    seen = resources_and_attributes(receiver)
    assert not [key for attrs in seen for key in attrs if key in IDENTITY]
    assert {s["resource"]["optel.consent.mode"] for s in receiver.spans()} == {"anonymous"}
    assert {p["resource"]["optel.consent.mode"] for p in receiver.metrics()} == {"anonymous"}
    assert USER_ID not in str(seen)


def test_an_anonymous_environment_at_upload_time_strips_the_identity_too(tmp_path: Path) -> None:
    port = closed_port()
    queued_while_identified(tmp_path, f"http://127.0.0.1:{port}")
    receiver = upload_to(port, IN_FORCE_APP_TELEMETRY="anonymous")
    assert receiver.spans() and not [
        k for attrs in resources_and_attributes(receiver) for k in attrs if k in IDENTITY
    ]


def test_identified_then_identified_keeps_the_user_id(tmp_path: Path) -> None:
    port = closed_port()
    queued_while_identified(tmp_path, f"http://127.0.0.1:{port}")
    receiver = upload_to(port)
    assert receiver.spans() and receiver.metrics()
    assert {s["resource"].get("user.id") for s in receiver.spans()} == {USER_ID}
    assert {p["resource"].get("user.id") for p in receiver.metrics()} == {USER_ID}
    assert {s["resource"]["optel.consent.mode"] for s in receiver.spans()} == {"identified"}


def test_optel_disable_deletes_what_was_queued_while_identified(tmp_path: Path) -> None:
    port = closed_port()
    queued_while_identified(tmp_path, f"http://127.0.0.1:{port}")
    assert optel_cli("disable").returncode == 0
    with OTLPReceiver(port=port) as receiver:
        done = optel_cli("upload")
        assert receiver.connections == 0, done
    assert Spool(APP).files() == []


def test_bring_down_leaves_a_file_recorded_under_no_more_than_the_consent_in_force_untouched() -> (
    None
):
    header = {"consent": {"mode": "anonymous"}, "resource": {"service.name": "x"}}
    records = [{"t": "span", "attributes": {"a": 1}}]
    assert bring_down(header, records, "identified") == (header, records)
    assert bring_down(header, records, "anonymous")[0] is header
    identified = {
        "consent": {"mode": "identified"},
        "resource": {"user.id": "u", "optel.consent.mode": "identified"},
    }
    down, _ = bring_down(identified, [], "anonymous")
    assert (
        down["resource"] == {"optel.consent.mode": "anonymous"}
        and down["consent"]["mode"] == "anonymous"
    )
    assert identified["resource"]["user.id"] == "u", "the header read is not changed in place"
