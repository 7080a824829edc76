"""The broken-config warning is printed once per broken file, across runs, and names the commands
the user can actually run."""

from __future__ import annotations

import os
import subprocess
import sys

from optel import _paths
from optel.consent import howto

APP = "warn-app"
HOST = (
    "import optel, optel.consent.howto as h\n{setup}\nprint(optel.init({app!r}).consent.source)\n"
)


def run_host(setup: str = "", cwd: str | None = None) -> tuple[str, str]:
    proc = subprocess.run(
        [sys.executable, "-c", HOST.format(app=APP, setup=setup)],
        cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip(), proc.stderr


def put_user_file(data: bytes) -> str:
    path = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_a_broken_user_file_is_warned_about_once_across_runs_and_again_once_it_changes():
    path = put_user_file(b"mode = 1\n")
    before = os.stat(path)
    runs = [run_host() for _ in range(3)]
    assert [source for source, _ in runs] == ["broken_user_file"] * 3
    assert "warning" in runs[0][1] and path in runs[0][1]
    assert runs[1][1] == runs[2][1] == ""
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    with open(path, "rb") as f:
        assert f.read() == b"mode = 1\n"
    # Broken anew (another edit): one more warning, then silence again.
    put_user_file(b'mode = "maybe"\n')
    assert "warning" in run_host()[1]
    assert run_host()[1] == ""


def test_a_broken_project_file_is_warned_about_once(tmp_path):
    project = tmp_path / "repo"
    (project / f".{APP}").mkdir(parents=True)
    (project / f".{APP}" / "telemetry.toml").write_text("mode = [\n")
    first = run_host(cwd=str(project))
    second = run_host(cwd=str(project))
    assert first[0] == second[0] == "project_file"
    assert "warning" in first[1]
    assert second[1] == ""


def test_the_warning_names_the_commands_the_user_can_run():
    put_user_file(b"mode = 1\n")
    _, standalone = run_host()
    assert f"`{howto._find_optel_command()} --app {APP} enable`" in standalone
    put_user_file(b"mode = 2\n")
    _, embedded = run_host(setup=f"h.set_telemetry_command({APP!r}, 'warn-app telemetry')")
    assert "`warn-app telemetry enable` or `warn-app telemetry disable` replaces it" in embedded
    assert "-m optel" not in embedded


def test_the_standalone_command_is_the_one_path_gives_this_interpreter(tmp_path, monkeypatch):
    elsewhere = tmp_path / "bin"
    elsewhere.mkdir()
    for name in ("python3", "python", "optel", os.path.basename(sys.executable)):
        (elsewhere / name).write_text("#!/bin/sh\n")
        (elsewhere / name).chmod(0o755)
    # Another interpreter first on PATH (a system python without this optel): the full path.
    monkeypatch.setenv("PATH", str(elsewhere))
    assert howto._find_optel_command() == f"{sys.executable} -m optel"
    # This interpreter's own directory first: its name there, or the console script beside it.
    monkeypatch.setenv("PATH", os.pathsep.join([os.path.dirname(sys.executable), str(elsewhere)]))
    beside = os.path.exists(os.path.join(os.path.dirname(sys.executable), "optel"))
    expected = "optel" if beside else f"{os.path.basename(sys.executable)} -m optel"
    assert howto._find_optel_command() == expected
