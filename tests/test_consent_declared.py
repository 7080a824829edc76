"""What a maintainer declares beyond optel's defaults (issue 14): off switches, prompt answers, where
the opt-out notice goes, and the DO_NOT_TRACK rule checked against the convention and the seeds."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import optel
from optel._settings import Settings
from optel.consent import resolve
from optel.consent.declared import OffSwitch
from optel.consent.prompt import ask
from optel.consent.switches import _flat_yaml
from optel.consent.value import Declarations

# DO_NOT_TRACK, value -> off? Console Do Not Track (consoledonottrack.com) defines only
# DO_NOT_TRACK=1; the common practice reads any non-empty value but 0/false as set; Pipelex disables
# for anything but false/0. optel (docs/contract.md#consent): anything but empty or a false word (0
# false no off n f, any case, trimmed).
DO_NOT_TRACK = [
    ("1", True, "the convention's value"),
    ("true", True, "common practice, Pipelex"),
    (" TRUE ", True, "trimmed, any case"),
    ("yes", True, "common practice, Pipelex"),
    ("anything", True, "common practice, Pipelex: any other value"),
    ("2", True, "common practice"),
    ("0", False, "common practice, Pipelex"),
    ("false", False, "common practice, Pipelex"),
    ("False", False, "any case"),
    ("no", False, "optel: a false word says 'do not not track' (Pipelex: off)"),
    ("off", False, "optel: a false word (Pipelex: off)"),
    ("n", False, "optel: a false word"),
    ("", False, "set but empty is not set (common practice; Pipelex: off)"),
]


@pytest.mark.parametrize(
    ("value", "off", "why"), DO_NOT_TRACK, ids=[repr(v[0]) for v in DO_NOT_TRACK]
)
def test_do_not_track_rule(value: str, off: bool, why: str) -> None:
    consent = resolve("dnt-app", environ={"DO_NOT_TRACK": value}, session_flag=True)
    assert (consent.mode == "off") is off, why
    assert (consent.source == "DO_NOT_TRACK") is off


def test_do_not_track_turns_a_real_process_off_over_a_stored_choice() -> None:
    code = "import optel; t = optel.init('dnt-proc', session_flag=True); print(t.consent.mode, t.consent.source)"
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30
    )
    assert out.stdout.split() == ["off", "DO_NOT_TRACK"]


def test_env_switch_is_off_for_anything_but_empty_or_a_false_word() -> None:
    switches = Declarations(off_switches=[OffSwitch.env("TOOL_DISABLE_TELEMETRY")])
    for value, off in (("1", True), ("yes", True), ("0", False), ("", False), ("false", False)):
        consent = resolve(
            "sw-app",
            environ={"TOOL_DISABLE_TELEMETRY": value},
            session_flag=True,
            declared=switches,
        )
        assert (consent.mode == "off") is off, value


def test_a_switch_never_turns_telemetry_on(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"telemetry": {"enabled": True}}))
    declared = Declarations(off_switches=[OffSwitch.file(str(path), "telemetry.enabled")])
    assert resolve("sw-app", environ={}, declared=declared, interactive=False).mode == "off"


@pytest.mark.parametrize(
    ("name", "text", "key", "off", "is_off"),
    [
        ("c.json", '{"telemetry": {"enabled": false}}', "telemetry.enabled", False, True),
        ("c.json", '{"telemetry": {"enabled": "false"}}', "telemetry.enabled", False, True),
        ("c.json", '{"telemetry": {}}', "telemetry.enabled", False, False),
        ("c.toml", "[telemetry]\nenabled = false\n", "telemetry.enabled", False, True),
        ("p.yml", "user_id: a\nanonymous_tracking: false\n", "anonymous_tracking", False, True),
        ("p.yml", "anonymous_tracking: true\n", "anonymous_tracking", False, False),
        ("p.yml", "telemetry:\n  id: xyz\n", "telemetry.id", OffSwitch.ABSENT, False),
        ("p.yml", "telemetry:\n", "telemetry.id", OffSwitch.ABSENT, True),
        ("c.json", "{broken", "telemetry.enabled", False, True),
    ],
)
def test_file_switches(
    tmp_path: Path, name: str, text: str, key: str, off: object, is_off: bool
) -> None:
    (tmp_path / name).write_text(text)
    declared = Declarations(off_switches=[OffSwitch.file(name, key, off=off)])
    consent = resolve(
        "sw-app", environ={}, session_flag=True, project_dir=str(tmp_path), declared=declared
    )
    assert (consent.source == "off_switch") is is_off, consent.reason


def test_a_missing_switch_file_is_no_answer(tmp_path: Path) -> None:
    declared = Declarations(
        off_switches=[OffSwitch.file("absent.yml", "telemetry.id", off=OffSwitch.ABSENT)]
    )
    consent = resolve(
        "sw-app", environ={}, session_flag=True, project_dir=str(tmp_path), declared=declared
    )
    assert consent.mode == "anonymous"


def test_flat_yaml_skips_lists_and_reads_nested_keys() -> None:
    text = "dataSources:\n  - name: w\n    type: pg\ntelemetry:\n  id: abc # why\nflag: 'off'\n"
    assert _flat_yaml(text) == {"dataSources": {}, "telemetry": {"id": "abc"}, "flag": "off"}


@pytest.mark.parametrize(
    ("typed", "mode", "how"),
    [
        ("1\n", "off", "answer"),
        ("2\n", "anonymous", "answer"),
        ("q\n", "off", "later"),
        ("\n", "off", "enter"),
        ("Q\n", "off", "later"),
    ],
)
def test_declared_answers(typed: str, mode: str, how: str) -> None:
    answers = {"1": "off", "2": "anonymous", "3": "identified", "q": "later"}
    out = io.StringIO()
    answer = ask(
        "a",
        ("off", "anonymous", "identified"),
        timeout=5,
        stdin=io.StringIO(typed),
        stdout=out,
        answers=answers,
    )
    assert (answer.mode, answer.how) == (mode, how)
    assert "[1] off" in out.getvalue() and "[q] later" in out.getvalue()


def test_notice_to_a_log_function_without_a_terminal() -> None:
    lines: list[str] = []
    declared = Declarations(notice=lines.append)
    consent = resolve("log-app", policy="opt-out", environ={}, interactive=False, declared=declared)
    assert consent.mode == "anonymous" and consent.source == "opt_out_notice"
    assert len(lines) == 1 and "This notice is shown once" in lines[0]
    again = resolve("log-app", policy="opt-out", environ={}, interactive=False, declared=declared)
    assert again.mode == "anonymous" and len(lines) == 1


def test_a_notice_that_cannot_be_logged_leaves_telemetry_off() -> None:
    def broken(line: str) -> None:
        raise OSError("log is full")

    consent = resolve(
        "log-app2",
        policy="opt-out",
        environ={},
        interactive=False,
        declared=Declarations(notice=broken),
    )
    assert consent.mode == "off"


def test_without_a_declared_notice_no_terminal_stays_off() -> None:
    consent = resolve("tty-app", policy="opt-out", environ={}, interactive=False)
    assert (consent.mode, consent.source) == ("off", "not_a_tty")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"notice": "stderr"}, ValueError),  # the opt-in policy shows no notice
        ({"policy": "opt-out", "notice": "log"}, ValueError),
        ({"off_switches": ["BLINDAI_DISABLE_TELEMETRY"]}, TypeError),
        ({"off_switches": optel.OffSwitch.env("X")}, TypeError),
        ({"answers": {"": "off"}}, ValueError),  # Enter is always off
        ({"answers": {"1": "maybe"}}, ValueError),
        ({"answers": {"3": "identified"}, "modes": ("off", "anonymous")}, ValueError),
        ({"answers": ["1"]}, TypeError),
        ({"confirm_flag": "yes"}, TypeError),
    ],
)
def test_init_rejects_wrong_declarations(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        Settings.check("decl-app", **kwargs)


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: OffSwitch.env(""), ValueError),
        (lambda: OffSwitch.env("A=B"), ValueError),
        (lambda: OffSwitch.file("~/.tool/config.ini", "x"), ValueError),
        (lambda: OffSwitch.file("~/.tool/config.json", ""), ValueError),
        (lambda: OffSwitch.file("~/.tool/config.json", "x", off=object()), TypeError),
    ],
)
def test_off_switch_rejects_what_it_cannot_read(build, error) -> None:
    with pytest.raises(error):
        build()


def test_host_metrics_are_declared_in_optels_rules() -> None:
    with pytest.raises(ValueError):
        optel.metric("cli.tables")
    with pytest.raises(ValueError):
        optel.metric("Tables")
    with pytest.raises(ValueError):
        optel.metric("tool.tables", kind="gauge")
    assert optel.metric("tool.tables").name == "tool.tables"
