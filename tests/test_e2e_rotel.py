"""End to end through a real collector: spool -> uploader -> rotel (pip install rotel) -> OTLP receiver."""

from __future__ import annotations

from typing import Any

import pytest

from optel.spool.files import Spool
from optel.upload import upload
from otlp_receiver import OTLPReceiver
from rotel_process import running_rotel

APP = "e2e-tool"
T0 = 1_790_000_000_000_000_000
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"

pytestmark = pytest.mark.slow


def _header(endpoint: str) -> dict[str, Any]:
    return {
        "app": APP,
        "created_ns": T0,
        "resource": {
            "service.name": APP,
            "service.version": "2.0.0",
            "optel.install.id": "install-1",
        },
        "consent": {"mode": "anonymous", "source": "user_file", "install_id": "install-1"},
        "export": {"endpoint": endpoint, "headers": None},
        "settings": {
            "policy": "opt-in",
            "sample_percent": 100.0,
            "consent_version": 1,
            "version_module": None,
        },
    }


def _records() -> list[dict[str, Any]]:
    root = {
        "t": "span", "trace_id": TRACE, "span_id": "00f067aa0ba902b7", "parent_span_id": None,
        "name": "deploy", "kind": "internal", "start_ns": T0, "end_ns": T0 + 2_000_000,
        "attributes": {"command.name": "deploy"}, "status": "ok", "status_message": None, "events": [],
    }  # fmt: skip
    child = {
        **root, "span_id": "b7ad6b7169203331", "parent_span_id": "00f067aa0ba902b7", "name": "chat gpt-4o",
        "kind": "client", "start_ns": T0 + 10, "end_ns": T0 + 1_000_000, "status": "error",
        "status_message": "RateLimitError", "attributes": {"gen_ai.request.model": "gpt-4o"},
    }  # fmt: skip
    metrics = [
        {"t": "metric", "name": "optel.cli.command.invocations", "value": 1,
         "attributes": {"command.name": "deploy", "outcome": "success"}, "time_ns": T0 + 2_000_000},
        {"t": "metric", "name": "gen_ai.client.token.usage", "value": 120,
         "attributes": {"gen_ai.token.type": "input"}, "time_ns": T0 + 1_000_000},
    ]  # fmt: skip
    return [root, child, *metrics]


def test_spooled_records_reach_a_backend_through_rotel_unchanged() -> None:
    with OTLPReceiver() as backend, running_rotel(backend.url) as collector:
        assert Spool(APP).write(_header(collector), _records()) is not None
        summary = upload(APP)
        assert (summary.files_sent, summary.sent_spans, summary.sent_metrics) == (1, 2, 2)
        assert backend.wait_for(lambda r: len(r.spans()) == 2 and len(r.metrics()) == 2, timeout=15)
    spans = {s["name"]: s for s in backend.spans()}
    assert spans["chat gpt-4o"]["trace_id"] == TRACE
    assert spans["chat gpt-4o"]["parent_span_id"] == "00f067aa0ba902b7"
    assert (spans["chat gpt-4o"]["kind"], spans["chat gpt-4o"]["status"]) == ("client", "error")
    assert (spans["deploy"]["start_ns"], spans["deploy"]["end_ns"]) == (T0, T0 + 2_000_000)
    assert spans["deploy"]["resource"]["service.version"] == "2.0.0"
    metrics = {m["name"]: m for m in backend.metrics()}
    assert metrics["optel.cli.command.invocations"]["temporality"] == "delta"
    assert metrics["optel.cli.command.invocations"]["value"] == 1
    tokens = metrics["gen_ai.client.token.usage"]
    assert (tokens["type"], tokens["count"], tokens["sum"], tokens["unit"]) == (
        "histogram",
        1,
        120,
        "{token}",
    )
    assert Spool(APP).files() == []


HOST_APP = r"""
import sys
import optel

optel.init("e2e-host", version="3.1.4", endpoint=sys.argv[1], session_flag=True,
           headers={"authorization": "Bearer e2e"})


@optel.step()
def plan():
    return 1


@optel.command()
def deploy():
    plan()
    optel.count_input()
    return 0


deploy()
print("done")
"""


def test_a_host_app_delivers_through_the_detached_uploader_and_rotel(
    tmp_path: Any, python: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import subprocess

    # The delivery interval 0: this host's one run starts the uploader
    # (docs/internals.md#the-delivery-policy).
    monkeypatch.setenv("OPTEL_UPLOAD_INTERVAL", "0")

    script = tmp_path / "host.py"
    script.write_text(HOST_APP)
    with OTLPReceiver() as backend, running_rotel(backend.url) as collector:
        result = subprocess.run(
            [python, str(script), collector],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ),
        )
        assert (result.returncode, result.stdout, result.stderr) == (0, "done\n", "")
        # The host exits at once; its detached uploader delivers in the background.
        assert backend.wait_for(
            lambda r: {"deploy", "plan"} <= {s["name"] for s in r.spans()}, timeout=30
        )
        assert backend.wait_for(
            lambda r: any(m["name"] == "optel.cli.command.invocations" for m in r.metrics())
        )
    spans = {s["name"]: s for s in backend.spans()}
    assert spans["plan"]["parent_span_id"] == spans["deploy"]["span_id"]
    assert spans["plan"]["trace_id"] == spans["deploy"]["trace_id"]
    assert spans["deploy"]["resource"]["service.name"] == "e2e-host"
    assert spans["deploy"]["resource"]["service.version"] == "3.1.4"
    invocations = [m for m in backend.metrics() if m["name"] == "optel.cli.command.invocations"]
    assert [(m["value"], m["temporality"]) for m in invocations] == [(1, "delta")]
    assert Spool("e2e-host").files() == []
