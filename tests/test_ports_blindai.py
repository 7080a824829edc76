"""examples/ports/blindai.py against BlindAI's telemetry page (shared/seeds), row by row, in real processes."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from ports_harness import PORTS, fresh_log, port_env, read_log, run, spooled

SEED, APP = "blindai", "blindai"
NOTICE = "blindai WARNING blindai sends anonymous usage telemetry"


def serve(*argv: str, env: dict[str, str] | None = None):
    return run(SEED, APP, "serve", "--duration", "0.6", *argv, env=env)


def run_status(env: dict[str, str]) -> str:
    return run(SEED, APP, "telemetry", "status", env=env).stdout


def attributes_of(done, event: str) -> dict[str, object]:
    (found,) = [
        e["attributes"] for s in done.spans() for e in s["events"] if e["name"] == event
    ] or [s["attributes"] for s in done.spans(event)]
    return found


def on_by_default_the_notice_goes_to_the_server_log() -> None:
    done = serve()
    assert done.mode == "anonymous" and done.source == "opt_out_notice"
    assert NOTICE in done.stderr and "BLINDAI_DISABLE_TELEMETRY=1 or DO_NOT_TRACK=1" in done.stderr


def the_notice_is_logged_once() -> None:
    serve()
    again = serve()
    assert again.mode == "anonymous" and NOTICE not in again.stderr


def disable_telemetry_environment_variable() -> None:
    done = serve(env={"BLINDAI_DISABLE_TELEMETRY": "1"})
    assert (done.mode, done.source) == ("off", "off_switch")
    assert NOTICE not in done.stderr and spooled(APP) == []
    # `blindai telemetry status` says so too: the embedded commands know the declared switches.
    status = run_status({"BLINDAI_DISABLE_TELEMETRY": "1"})
    assert "mode: off" in status and "source: off_switch" in status


def disable_variable_set_to_0_does_not_disable() -> None:
    assert serve(env={"BLINDAI_DISABLE_TELEMETRY": "0"}).mode == "anonymous"


def platform_os_type_version_release_and_architecture() -> None:
    resource = serve().resource
    assert resource["os.type"] == platform.system().lower()
    assert resource["os.version"] == platform.release()
    assert resource["host.arch"]


def server_version_and_client_user_agents() -> None:
    done = serve()
    assert done.resource["service.version"] == "0.5.2"
    assert (
        attributes_of(done, "model.uploaded")["blindai.client.user_agent"] == "blindai-python/0.5.2"
    )


def running_mode() -> None:
    done = serve("--mode", "hardware")
    assert attributes_of(done, "server.started")["blindai.mode"] == "hardware"


def user_identifier_generated_at_startup() -> None:
    first, second = serve(), serve()
    ids = {first.resource["optel.install.id"], second.resource["optel.install.id"]}
    # Deliberate deviation (docs/porting.md): one random id per install, not one per startup.
    assert len(ids) == 1 and re.fullmatch(r"[0-9a-f-]{36}", ids.pop())


def how_long_a_request_took() -> None:
    done = serve()
    names = sorted(m["attributes"]["request.name"] for m in done.metrics("optel.request.duration"))
    assert names == ["run_model", "upload_model"]
    assert all(m["value"] > 0 for m in done.metrics("optel.request.duration"))


def model_sizes_and_names() -> None:
    uploaded = attributes_of(serve(), "model.uploaded")
    assert (uploaded["blindai.model.name"], uploaded["blindai.model.size"]) == (
        "resnet18",
        46_827_520,
    )


def hardware_cores_and_memory() -> None:
    resource = serve().resource
    assert (
        resource["optel.host.cpu.count"] == os.cpu_count()
        and resource["optel.host.memory.gib"] >= 0
    )


def never_identity_ip_email_urls_or_uploaded_data() -> None:
    done = serve()
    text = done.text()
    assert "user.id" not in done.resource
    assert (
        "hospital.example" not in text
        and "patient" not in text
        and "weights of a private model" not in text
    )


def uptime_of_the_server_and_time_of_the_event_while_it_runs() -> None:
    """The server sends its new events every 2 s (flush_interval), with its uptime, before it stops."""
    log = fresh_log()
    started_ns = time.time_ns()
    server = subprocess.Popen(
        [sys.executable, str(PORTS / f"{SEED}.py"), "serve", "--duration", "6"],
        env=port_env(APP, log), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 5
        records: list[dict[str, object]] = []
        while time.monotonic() < deadline and not any(
            r["name"] == "process.uptime" for r in records
        ):
            time.sleep(0.2)
            _, records = read_log(log)
        assert server.poll() is None, "the server had already stopped"
        uptime = [r for r in records if r["name"] == "process.uptime"]
        assert uptime and 0 < float(uptime[0]["value"]) < 5  # type: ignore[arg-type]
        assert {"server.started", "upload_model"} <= {str(r["name"]) for r in records}
        assert all(int(r.get("time_ns") or r.get("end_ns")) >= started_ns for r in records)  # type: ignore[call-overload]
    finally:
        server.wait(timeout=30)


ROWS: list[tuple[str, Callable[[], None]]] = [
    (
        "collects anonymous usage data (on, also in Docker: notice in the server log)",
        on_by_default_the_notice_goes_to_the_server_log,
    ),
    ("optel: the notice is logged once", the_notice_is_logged_once),
    (
        "BLINDAI_DISABLE_TELEMETRY=1 disables telemetry (Docker -e or export)",
        disable_telemetry_environment_variable,
    ),
    ("BLINDAI_DISABLE_TELEMETRY=0 is not a disable", disable_variable_set_to_0_does_not_disable),
    (
        "platform: OS type, version and release, architecture",
        platform_os_type_version_release_and_architecture,
    ),
    ("version of the server and client user agents", server_version_and_client_user_agents),
    ("running mode (hardware, simulation, dcsv3)", running_mode),
    (
        "deviation: user identifier generated once per install, not per startup",
        user_identifier_generated_at_startup,
    ),
    ("how long a request took and other performance information", how_long_a_request_took),
    ("model sizes and names", model_sizes_and_names),
    ("hardware: number of cores, memory", hardware_cores_and_memory),
    (
        "never: user identity, IP or e-mail addresses, URLs, models or data uploaded",
        never_identity_ip_email_urls_or_uploaded_data,
    ),
    (
        "uptime of the server and time of the event, sent every 2 seconds while it runs",
        uptime_of_the_server_and_time_of_the_event_while_it_runs,
    ),
]


@pytest.mark.parametrize("check", [row[1] for row in ROWS], ids=[row[0] for row in ROWS])
def test_blindai_behaviour(check: Callable[[], None]) -> None:
    check()
