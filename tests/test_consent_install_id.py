"""One install id per install, stored once apart from any choice: runs consented one at a time
(`--telemetry`, `<APP>_TELEMETRY=on`) count as one install, and `reset` removes the id."""

from __future__ import annotations

import os
import subprocess
import sys

from optel import _paths
from optel.consent import UserStore

APP = "id-app"
HOST = (
    "import optel\n"
    "t = optel.init('id-app', endpoint='http://127.0.0.1:9')\n"
    "print('RESULT', t.consent.mode, t.consent.source, t.consent.install_id)\n"
)


def run_host(**env: str) -> list[str]:
    full = {**os.environ, "ID_APP_TELEMETRY_DEBUG": "1", **env}
    proc = subprocess.run(
        [sys.executable, "-c", HOST],
        env=full,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return next(line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("RESULT"))


def optel_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "optel", "--app", APP, *args],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_runs_raised_by_the_env_var_share_one_install_id_stored_once():
    path = _paths.user_config_file(APP)
    first = run_host(ID_APP_TELEMETRY="on")
    before = os.stat(path)
    runs = [run_host(ID_APP_TELEMETRY="on") for _ in range(3)]
    assert first[:2] == ["anonymous", "app_env"]
    assert {run[2] for run in runs} == {first[2]}
    after = os.stat(path)
    # A run that only reads the id writes nothing.
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    table = UserStore(path).read()
    assert isinstance(table, dict) and table["install_id"] == first[2]
    # The id is not a choice: without the variable, nothing is stored and nobody answered yet.
    assert "mode" not in table
    assert run_host()[:2] == ["off", "not_a_tty"]


def test_the_session_flag_and_the_env_var_use_the_same_id():
    from optel.consent import resolve

    flag = resolve(APP, session_flag=True, environ={}, interactive=False)
    env = resolve(APP, environ={"ID_APP_TELEMETRY": "on"}, interactive=False)
    assert flag.install_id == env.install_id
    assert flag.sending and env.sending


def test_status_previews_without_creating_an_id():
    proc = optel_cli("status")
    assert proc.returncode == 0, proc.stderr
    assert "install id: none yet" in proc.stdout
    assert not os.path.exists(_paths.user_config_file(APP))


def test_reset_removes_the_install_id_and_the_next_raised_run_gets_a_new_one():
    first = run_host(ID_APP_TELEMETRY="on")[2]
    proc = optel_cli("reset")
    assert proc.returncode == 0, proc.stderr
    assert first not in proc.stdout
    table = UserStore(_paths.user_config_file(APP)).read()
    assert isinstance(table, dict) and "install_id" not in table
    assert "install id: none yet" in optel_cli("status").stdout
    second = run_host(ID_APP_TELEMETRY="on")[2]
    assert second != first
    assert run_host(ID_APP_TELEMETRY="on")[2] == second


def test_concurrent_first_runs_agree_on_one_id():
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", HOST],
            env={**os.environ, "ID_APP_TELEMETRY": "on", "ID_APP_TELEMETRY_DEBUG": "1"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(4)
    ]
    ids = set()
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        ids.add(next(line.split()[3] for line in out.splitlines() if line.startswith("RESULT")))
    table = UserStore(_paths.user_config_file(APP)).read()
    assert isinstance(table, dict)
    assert ids == {table["install_id"]}
