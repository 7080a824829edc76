"""Text from untrusted sources (config values, directory names, audit-log span names, arguments)
reaches the terminal escaped and bounded, in real processes: `optel status`, `optel report`, a
usage error, and the host's broken-config warning."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from optel import _paths

APP = "safe-app"
EVIL = "\x1b]0;evil\x07\x1b[2J\u202e\x9b"
LONG = "A" * 10_000
MAX_LINE = 1100


def assert_terminal_safe(text: str, *, max_total: int = 20_000) -> None:
    bad = sorted({hex(ord(ch)) for ch in text if ch != "\n" and not ch.isprintable()})
    assert not bad, f"raw control characters {bad} in output: {text[:300]!r}"
    assert max(len(line) for line in text.splitlines() or [""]) <= MAX_LINE
    assert len(text) <= max_total


def run(
    args: list[str], *, cwd: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def write_user_file(text: str) -> str:
    path = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def toml_escaped(value: str) -> str:
    return json.dumps(value)  # JSON's \\u escapes are TOML's too


def test_status_escapes_and_bounds_values_read_from_the_config_file():
    write_user_file(
        f'mode = "identified"\nuser_id = {toml_escaped(EVIL + LONG)}\n'
        f"install_id = {toml_escaped(EVIL + LONG)}\ndecided_at = {toml_escaped(EVIL + LONG)}\n"
    )
    proc = run(["-m", "optel", "--app", APP, "status"])
    assert proc.returncode == 0, proc.stderr
    assert_terminal_safe(proc.stdout)
    assert "\\x1b]0;evil\\x07" in proc.stdout
    assert "characters)" in proc.stdout


def test_the_hosts_broken_config_warning_escapes_and_bounds_the_bad_value():
    write_user_file(f"mode = {toml_escaped(EVIL + LONG)}\n")
    proc = run(["-c", f"import optel; print(optel.init({APP!r}).consent.source)"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "broken_user_file"
    assert "warning:" in proc.stderr
    assert_terminal_safe(proc.stderr, max_total=2000)


@pytest.mark.skipif(sys.platform == "win32", reason="control characters in file names are POSIX")
def test_status_escapes_a_hostile_directory_name_and_environment_value(isolated_home):
    project = isolated_home / f"repo{EVIL}"
    (project / f".{APP}").mkdir(parents=True)
    (project / f".{APP}" / "telemetry.toml").write_text('mode = "anonymous"\n')
    env = {
        "SAFE_APP_TELEMETRY": EVIL + LONG,
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9/" + EVIL,
    }
    proc = run(["-m", "optel", "--app", APP, "status"], cwd=str(project), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "project config: " in proc.stdout
    assert_terminal_safe(proc.stdout)


def test_report_escapes_and_bounds_span_names_from_the_log(tmp_path):
    log = tmp_path / "audit.jsonl"
    records = [{"schema": "optel.spool/1", "app": EVIL + "app"}]
    for n in range(300):
        name = f"{EVIL}span{n}" + (LONG if n == 0 else "")
        records.append(
            {"t": "span", "name": name, "start_ns": 1, "end_ns": 2, "status": "error",
             "attributes": {"error.type": EVIL + LONG, "command.name": EVIL + str(n)}}
        )  # fmt: skip
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    proc = run(["-m", "optel", "report", str(log)])
    assert proc.returncode == 0, proc.stderr
    assert "\\x1b]0;evil\\x07\\x1b[2J\\u202e\\x9bspan1" in proc.stdout
    assert "... and 200 more" in proc.stdout
    assert_terminal_safe(proc.stdout, max_total=60_000)


def test_a_usage_error_escapes_what_was_typed():
    proc = run(["-m", "optel", "--app", APP, f"status{EVIL}{LONG}"])
    assert proc.returncode == 2
    assert proc.stderr.startswith("optel: error: ")
    assert_terminal_safe(proc.stderr, max_total=2000)
