"""An exception's `exception` span event carries `exception.stacktrace`: the frames of the host's own
top-level package only (the package that called `optel.init()`), as `module:function:line`, bounded,
never a frame of optel, the standard library or another installed package, never a local's value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import optel
import optel.upload
from optel import _paths, _runtime
from optel.privacy.exceptions import MAX_RECORDED_FRAMES, own_frame_tuples
from optel.record import failure, flush, spans
from optel.record.clean import MAX_STRING
from optel.spool.lock import TOKEN_ENV, acquire_lock
from otlp_receiver import OTLPReceiver

USER_FILE = (
    'mode = "anonymous"\n'
    'install_id = "0b7f3c52-7d36-4c5e-9d2a-6f1f7f0f7a10"\n'
    'decided_at = "2026-01-01T00:00:00Z"\n'
    "consent_version = 1\n"
)

# The host package: a command in __main__ (run with `python -m hosttool`) calling two steps; one
# fails in a callback the standard library's json calls, the other inside PyYAML (site-packages).
# Every function holds a local whose value must never be recorded.
HOST_MAIN = """\
import optel

optel.init("hosttool", version="1.0")

from hosttool import work


@optel.command("run")
def main():
    local_in_main = "LOCAL-main-value-1234"
    try:
        work.decode('{"a": 1}')
    except ValueError:
        pass
    work.parse_yaml("a: [1, 2")  # FAILS-HERE-main


try:
    main()
except Exception:
    pass
optel.shutdown()
"""

HOST_WORK = """\
import json

import yaml

import optel


def _hook(obj):
    local_api_key = "LOCAL-hook-value-5678"
    raise ValueError("the hook refused")  # FAILS-HERE-hook


@optel.step("decode")
def decode(text):
    local_password = "LOCAL-decode-value-9012"
    return json.loads(text, object_hook=_hook)  # FAILS-HERE-decode


@optel.step("parse_yaml")
def parse_yaml(text):
    local_secret = "LOCAL-yaml-value-3456"
    return yaml.safe_load(text)  # FAILS-HERE-yaml
"""


def _line(source: str, mark: str) -> int:
    (number,) = [i for i, text in enumerate(source.splitlines(), 1) if mark in text]
    return number


def _exception_events(record: dict) -> list[dict]:
    return [e["attributes"] for e in record["events"] if e["name"] == "exception"]


def test_a_host_packages_exception_events_carry_its_own_frames_only_and_no_locals(
    tmp_path: Path,
) -> None:
    package = tmp_path / "hosttool"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(HOST_MAIN)
    (package / "work.py").write_text(HOST_WORK)
    log = tmp_path / "audit.jsonl"
    env = dict(os.environ, PYTHONPATH=str(tmp_path), HOSTTOOL_TELEMETRY_LOG=str(log))
    result = subprocess.run(
        [sys.executable, "-m", "hosttool"],
        env=env,
        cwd=str(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr

    text = log.read_text()
    records = [json.loads(line) for line in text.splitlines()]
    by_name = {r["name"]: r for r in records if r.get("t") == "span"}
    main_line = _line(HOST_MAIN, "FAILS-HERE-main")
    hook_line = _line(HOST_WORK, "FAILS-HERE-hook")
    decode_line = _line(HOST_WORK, "FAILS-HERE-decode")
    yaml_line = _line(HOST_WORK, "FAILS-HERE-yaml")

    # json's own frames between decode() and the hook are left out; the hook, called back by
    # the standard library, is the host's and stays.
    (decode,) = _exception_events(by_name["decode"])
    assert decode["exception.stacktrace"] == (
        f"hosttool.work:decode:{decode_line}\nhosttool.work:_hook:{hook_line}"
    )
    # PyYAML's frames under parse_yaml() are left out.
    (parse,) = _exception_events(by_name["parse_yaml"])
    assert parse["exception.stacktrace"] == f"hosttool.work:parse_yaml:{yaml_line}"
    assert parse["exception.type"].startswith("yaml.")
    # The command ran as __main__ (`python -m hosttool`): its frame is named by its module spec.
    (command,) = _exception_events(by_name["run"])
    assert command["exception.stacktrace"] == (
        f"hosttool.__main__:main:{main_line}\nhosttool.work:parse_yaml:{yaml_line}"
    )

    for frame in "\n".join(
        e["exception.stacktrace"] for e in (decode, parse, command)
    ).splitlines():
        module, function, line = frame.split(":")
        assert module.startswith("hosttool.") and function.isidentifier() and line.isdigit()
    assert "LOCAL-" not in text
    assert "optel." not in "".join(e["exception.stacktrace"] for e in (decode, parse, command))
    assert str(tmp_path) not in text and ".py" not in text


HOST_SCRIPT = """\
import optel

optel.init("hostscript", version="1.0")


def helper():
    local_token = "LOCAL-script-value-7890"
    raise LookupError("not there")  # FAILS-HERE-helper


@optel.command("run")
def main():
    helper()  # FAILS-HERE-main


try:
    main()
except LookupError:
    pass
optel.shutdown()
"""


def test_a_host_script_run_by_path_records_its_frames_as_main(tmp_path: Path) -> None:
    script = tmp_path / "hostscript.py"
    script.write_text(HOST_SCRIPT)
    log = tmp_path / "audit.jsonl"
    env = dict(os.environ, HOSTSCRIPT_TELEMETRY_LOG=str(log))
    result = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        cwd=str(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr

    text = log.read_text()
    records = [json.loads(line) for line in text.splitlines()]
    (run,) = [r for r in records if r.get("t") == "span" and r["name"] == "run"]
    (event,) = _exception_events(run)
    main_line = _line(HOST_SCRIPT, "FAILS-HERE-main")
    helper_line = _line(HOST_SCRIPT, "FAILS-HERE-helper")
    assert (
        event["exception.stacktrace"] == f"__main__:main:{main_line}\n__main__:helper:{helper_line}"
    )
    assert "LOCAL-" not in text and str(tmp_path) not in text and ".py" not in text


def test_frames_outside_the_host_package_and_beyond_the_bound_are_left_out() -> None:
    def recurse(n: int) -> None:
        if n == 0:
            raise RuntimeError("deep")
        recurse(n - 1)

    try:
        recurse(MAX_RECORDED_FRAMES + 10)
    except RuntimeError as exc:
        tb = exc.__traceback__
    frames = own_frame_tuples(tb, __name__, MAX_RECORDED_FRAMES)
    assert len(frames) == MAX_RECORDED_FRAMES
    # The innermost ones are kept: the raising call is the last.
    assert frames[-1][:2] == (__name__, "recurse")
    assert {f[0] for f in frames} == {__name__}
    assert own_frame_tuples(tb, "json", MAX_RECORDED_FRAMES) == ()
    assert own_frame_tuples(tb, None, MAX_RECORDED_FRAMES) == ()
    # A package whose name merely starts like the host's is another package.
    assert own_frame_tuples(tb, __name__[:-1], MAX_RECORDED_FRAMES) == ()


def test_the_formatted_stacktrace_keeps_the_innermost_frames_within_the_string_bound() -> None:
    frames = tuple((f"host.module_{i:03d}", "function_" + "x" * 40, i) for i in range(40))
    text = failure.stacktrace(frames, MAX_STRING)
    lines = text.splitlines()
    assert len(text) <= MAX_STRING
    assert lines[-1] == f"host.module_039:function_{'x' * 40}:39"
    assert len(lines) < 40
    assert failure.stacktrace((), MAX_STRING) == ""


def test_without_a_host_package_no_stacktrace_is_recorded() -> None:
    spans.set_recording(True)
    try:
        handle = spans.start("work")
        assert handle is not None
        handle.end(ValueError("x"))
        records = flush.to_dicts(spans.take())
    finally:
        spans.set_recording(False)
    (span,) = [r for r in records if r["t"] == "span"]
    (event,) = span["events"]
    assert set(event["attributes"]) == {"exception.type", "exception.message"}


def _fail_in_the_test_module() -> None:
    secret_local = "LOCAL-in-process-value"  # noqa: F841
    raise KeyError("missing")


def test_the_stacktrace_reaches_the_collector_through_the_spool_and_the_uploader() -> None:
    app = "frametool"
    config = _paths.user_config_file(app)
    os.makedirs(os.path.dirname(config), exist_ok=True)
    Path(config).write_text(USER_FILE)
    spool = _paths.spool_dir(app)
    os.makedirs(spool, mode=0o700)
    assert acquire_lock(spool, os.getpid(), "frames")  # no detached uploader: this test uploads
    try:
        with OTLPReceiver() as receiver:
            os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.url
            # Called from this module: its top-level name is the host package.
            optel.init(app, version="2.0")

            @optel.step("lookup")
            def lookup() -> None:
                _fail_in_the_test_module()

            with pytest.raises(KeyError):
                lookup()
            optel.shutdown()
            os.environ[TOKEN_ENV] = "frames"
            summary = optel.upload.upload(app)
            assert summary.files_sent == 1, summary
            (span,) = [s for s in receiver.spans() if s["name"] == "lookup"]
    finally:
        os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        os.environ.pop(TOKEN_ENV, None)
        _runtime.reset()
    (event,) = [e for e in span["events"] if e["name"] == "exception"]
    frames = event["attributes"]["exception.stacktrace"].splitlines()
    assert [f.rsplit(":", 1)[0] for f in frames] == [
        f"{__name__}:lookup",
        f"{__name__}:_fail_in_the_test_module",
    ]
    assert "LOCAL-" not in repr(span)
