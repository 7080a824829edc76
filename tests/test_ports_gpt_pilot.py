"""examples/ports/gpt_pilot.py against GPT Pilot's telemetry page (shared/seeds), row by row, in real processes."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from pathlib import Path

import pytest

from ports_harness import run, spooled, stored

SEED, APP = "gpt_pilot", "gpt-pilot"
NOTICE = "sends anonymous usage telemetry"


def pilot(*argv: str, env: dict[str, str] | None = None):
    return run(SEED, APP, "create", "a todo app for my cat Felix", *argv, env=env)


def config(text: str) -> None:
    path = Path(os.environ["HOME"]) / ".gpt-pilot" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def summary(done) -> dict[str, object]:
    (session,) = done.spans("optel.cli.session")
    return session["attributes"]


def on_by_default_without_a_terminal() -> None:
    done = pilot()
    assert done.mode == "anonymous" and done.source == "opt_out_notice"
    assert NOTICE in done.stderr and "GPT_PILOT_TELEMETRY=off" in done.stderr


def the_notice_is_written_once() -> None:
    pilot()
    again = pilot()
    assert again.mode == "anonymous" and NOTICE not in again.stderr
    assert stored(APP)["notice_shown"] is True


def total_runtime() -> None:
    done = pilot()
    assert done.metrics("optel.cli.session.duration")[0]["value"] > 0
    assert done.metrics("process.uptime")[0]["value"] > 0


def command_runs() -> None:
    done = pilot()
    assert summary(done)["optel.cli.summary.commands"] == 1
    assert (
        done.metrics("optel.cli.command.invocations")[0]["attributes"]["command.name"] == "create"
    )


def development_steps() -> None:
    done = pilot("--steps", "3")
    assert (
        summary(done)["optel.cli.summary.steps"] == 3 and len(done.spans("development step")) == 3
    )


def llm_requests() -> None:
    done = pilot("--steps", "3")
    assert summary(done)["optel.cli.summary.llm_requests"] == 3


def user_inputs() -> None:
    done = pilot()
    assert summary(done)["optel.cli.summary.user_inputs"] == 1 and done.metrics(
        "optel.cli.user.inputs"
    )


def operating_system_and_linux_distro() -> None:
    done = pilot()
    assert done.resource["os.type"] == platform.system().lower()
    if platform.system() == "Linux" and os.path.exists("/etc/os-release"):
        assert done.resource["os.description"]


def python_version() -> None:
    assert pilot().resource["process.runtime.version"] == platform.python_version()


def gpt_pilot_version() -> None:
    assert pilot().resource["service.version"] == "0.2.7"


def llm_model_used_for_the_session() -> None:
    done = pilot("--model", "gpt-4o-mini")
    assert summary(done)["optel.cli.summary.models"] == ["gpt-4o-mini"]


def time_to_generate_a_project() -> None:
    (duration,) = pilot().metrics("optel.cli.command.duration")
    assert duration["attributes"]["command.name"] == "create" and duration["value"] > 0


def anonymous_and_no_personal_information() -> None:
    done = pilot()
    assert "user.id" not in done.resource
    assert "Felix" not in done.text() and "todo app" not in done.text()


def opt_out_with_telemetry_enabled_false() -> None:
    config('{"telemetry": {"enabled": false, "id": "x"}}')
    done = pilot()
    assert done.mode == "off" and done.source == "off_switch"
    assert NOTICE not in done.stderr and spooled(APP) == []


def after_the_update_no_more_data_leaves() -> None:
    pilot()
    queued = spooled(APP)
    config('{"telemetry": {"enabled": false}}')
    done = pilot()
    assert done.mode == "off"
    # What an earlier run queued but had not sent is deleted, not sent
    # (docs/spool-format.md#deleting-the-spool).
    assert queued and spooled(APP) == []


def telemetry_enabled_true_leaves_it_on() -> None:
    config(json.dumps({"telemetry": {"enabled": True}}))
    assert pilot().mode == "anonymous"


def unreadable_config_is_off() -> None:
    # optel's rule (docs/porting.md): a switch file that cannot be parsed may say off, so it is off.
    config('{"telemetry": {"enabled": fal')
    done = pilot()
    assert (done.mode, done.source) == ("off", "off_switch")


ROWS: list[tuple[str, Callable[[], None]]] = [
    (
        "anonymous telemetry is gathered (on by default, also without a terminal)",
        on_by_default_without_a_terminal,
    ),
    ("optel: the notice that says so is written once, on stderr", the_notice_is_written_once),
    ("Total Runtime", total_runtime),
    ("Command Runs", command_runs),
    ("Development Steps", development_steps),
    ("LLM Requests", llm_requests),
    ("User Inputs", user_inputs),
    ("Operating System (and Linux distro)", operating_system_and_linux_distro),
    ("Python Version", python_version),
    ("GPT Pilot Version", gpt_pilot_version),
    ("LLM Model used for the session", llm_model_used_for_the_session),
    ("Time: how long it took to generate a project", time_to_generate_a_project),
    ("no personal information, completely anonymized", anonymous_and_no_personal_information),
    (
        "opt out: telemetry.enabled false in ~/.gpt-pilot/config.json",
        opt_out_with_telemetry_enabled_false,
    ),
    (
        "after the update, no longer collects telemetry from your machine",
        after_the_update_no_more_data_leaves,
    ),
    ("telemetry.enabled true keeps it on", telemetry_enabled_true_leaves_it_on),
    ("deviation: a config.json that cannot be parsed means off", unreadable_config_is_off),
]


@pytest.mark.parametrize("check", [row[1] for row in ROWS], ids=[row[0] for row in ROWS])
def test_gpt_pilot_behaviour(check: Callable[[], None]) -> None:
    check()
