"""examples/ports/piperider.py against PipeRider's telemetry page (shared/seeds), row by row, in real processes."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ports_harness import install_id, run, store, stored

SEED, APP = "piperider", "piperider"


def project(name: str = "shop") -> str:
    path = Path(os.environ["HOME"]) / name
    path.mkdir(exist_ok=True)
    return str(path)


def piperider(*argv: str, cwd: str | None = None):
    return run(SEED, APP, *argv, cwd=cwd or project())


def profile(text: str) -> None:
    path = Path(os.environ["HOME"]) / ".piperider" / "profile.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def tracked_project() -> str:
    where = project()
    piperider("init", cwd=where)
    return where


def counts(done) -> dict[str, object]:
    return {
        r["name"]: (r["value"], r["attributes"])
        for r in done.records
        if r["name"].startswith("piperider.")
    }


def user_telemetry_on_by_default() -> None:
    where = project()
    first = piperider("init", cwd=where)
    assert first.mode == "anonymous" and "sends anonymous usage telemetry" in first.stderr
    done = piperider("run", cwd=where)
    assert done.mode == "anonymous" and "sends anonymous usage telemetry" not in done.stderr


def anonymous_tracking_false_opts_out_of_all_tracking() -> None:
    where = tracked_project()
    profile("user_id: abc123\nanonymous_tracking: false\n")
    done = piperider("run", cwd=where)
    assert (done.mode, done.source) == ("off", "off_switch")
    assert piperider("run", cwd=project("other")).mode == "off"


def anonymous_tracking_true_keeps_tracking() -> None:
    profile("user_id: abc123\nanonymous_tracking: true\n")
    assert piperider("run", cwd=tracked_project()).mode == "anonymous"


def creating_a_project_creates_its_telemetry_id() -> None:
    where = project()
    done = piperider("init", cwd=where)
    assert "telemetry:\n  id: " in Path(where, ".piperider", "config.yml").read_text()
    assert done.mode == "anonymous" and done.resource["optel.project.id"]
    assert "project.created" in [s["name"] for s in done.spans()]


def removing_the_projects_telemetry_id_opts_the_project_out() -> None:
    where = tracked_project()
    config = Path(where, ".piperider", "config.yml")
    config.write_text(config.read_text().split("telemetry:")[0] + "telemetry:\n")
    done = piperider("run", cwd=where)
    assert (done.mode, done.source) == ("off", "off_switch")
    assert piperider("run", cwd=tracked_project_named("other")).mode == "anonymous"


def tracked_project_named(name: str) -> str:
    where = project(name)
    piperider("init", cwd=where)
    return where


def first_seen() -> None:
    done = piperider("run", cwd=tracked_project())
    assert done.resource["optel.install.age_days"] == 0
    assert str(stored(APP)["first_seen"]).startswith(time.strftime("%Y-%m-%d", time.gmtime()))


def last_seen() -> None:
    # Every record carries its time; the backend's latest one for an install id is its last-seen date.
    before = time.time_ns()
    done = piperider("run", cwd=tracked_project())
    times = [r.get("time_ns") or r.get("end_ns") for r in done.records]
    assert times and all(before <= t <= time.time_ns() for t in times)


def no_location_and_no_device_id() -> None:
    # Deliberate deviation (docs/porting.md): no IP, country, region or device id, ever.
    done = piperider("run", cwd=tracked_project())
    keys = set(done.resource)
    assert not {
        k for k in keys if "ip" in k.split(".") or "geo" in k or "country" in k or "device" in k
    }
    machine_id = (
        Path("/etc/machine-id").read_text().strip() if Path("/etc/machine-id").exists() else "none"
    )
    assert machine_id not in done.text()


def platform_and_python_version() -> None:
    done = piperider("run", cwd=tracked_project())
    assert done.resource["os.type"] == platform.system().lower()
    assert done.resource["process.runtime.version"] == platform.python_version()


def current_and_initial_piperider_version() -> None:
    store(APP, install_id=install_id(True, 100), notice_shown=True, consent_version=1,
          first_seen="2026-01-02T00:00:00Z", first_version="0.30.0", salt="00" * 16)  # fmt: skip
    done = piperider("run", cwd=tracked_project())
    assert done.resource["service.version"] == "0.33.0"
    assert done.resource["optel.install.first_version"] == "0.30.0"


def data_source_type() -> None:
    done = piperider("run", "--datasource", "snowflake", cwd=tracked_project())
    (event,) = [e for s in done.spans("run") for e in s["events"] if e["name"] == "datasource"]
    assert event["attributes"]["piperider.datasource.type"] == "snowflake"


def counts_per_event() -> None:
    done = piperider("run", "--tables", "3", "--fail", cwd=tracked_project())
    run_attrs = {"command.name": "run"}
    assert counts(done) == {
        "piperider.tables": (3, run_attrs),
        "piperider.columns": (18, run_attrs),
        "piperider.rows": (3000, run_attrs),
        "piperider.assertions.builtin": (9, run_attrs),
        "piperider.assertions.custom": (3, run_attrs),
        "piperider.assertions.passed": (12, run_attrs),
        "piperider.assertions.failed": (1, run_attrs),
    }


def an_event_is_a_piperider_command() -> None:
    where = tracked_project()
    for command in ("run", "generate-assertions", "generate-report"):
        done = piperider(command, cwd=where)
        assert [s["name"] for s in done.spans() if "command.name" in s["attributes"]] == [command]
        assert counts(done)["piperider.tables"][1] == {"command.name": command}


ROWS: list[tuple[str, Callable[[], None]]] = [
    ("CLI gathers telemetry per user (on unless opted out)", user_telemetry_on_by_default),
    (
        "anonymous_tracking: false in ~/.piperider/profile.yml opts out of all tracking",
        anonymous_tracking_false_opts_out_of_all_tracking,
    ),
    ("anonymous_tracking: true keeps tracking", anonymous_tracking_true_keeps_tracking),
    (
        "each project created gets a telemetry ID (Project ID)",
        creating_a_project_creates_its_telemetry_id,
    ),
    (
        "per project opt-out: remove the telemetry ID from .piperider/config.yml",
        removing_the_projects_telemetry_id_opts_the_project_out,
    ),
    ("First seen: the date you first used PipeRider", first_seen),
    ("Last seen: the date of the last time you used PipeRider", last_seen),
    ("deviation: no Location (via IP) and no Device ID", no_location_and_no_device_id),
    ("Platform (operating system) and Python version", platform_and_python_version),
    ("Current and initial PipeRider version", current_and_initial_piperider_version),
    ("Data source type", data_source_type),
    (
        "per event: tables, columns, rows, built-in/custom/passed/failed assertions",
        counts_per_event,
    ),
    (
        "an event is a PipeRider command (run, generate-assertions, generate-report)",
        an_event_is_a_piperider_command,
    ),
]


@pytest.mark.parametrize("check", [row[1] for row in ROWS], ids=[row[0] for row in ROWS])
def test_piperider_behaviour(check: Callable[[], None]) -> None:
    check()
