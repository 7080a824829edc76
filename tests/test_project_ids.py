"""The project id is remembered in the spool (`projects`, optel.record.project): a run in a project
seen before loads no hash module, the file names no path or remote, and every id is the one
SHA-256 gives (docs/spool-format.md#state-files). Real host processes in real git checkouts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from optel import _paths
from optel.record import project
from optel.spool import PROJECTS, delete_all
from optel.spool.lock import acquire_lock

APP = "projects-app"
SALT = "8d0f4a7c2b9e6d1f3a5c7e9b0d2f4a6c"
REMOTE = "git@example.com:Alice/secret-plans.git"
HOST = r"""
import atexit, json, os, sys
# Registered before init: runs after optel's exit flush.
atexit.register(lambda: open(os.environ["MODULES_REPORT"], "w").write(
    json.dumps(sorted(m for m in sys.modules if m.startswith(("_sha", "hashlib", "_hashlib"))))))
import optel
optel.init("projects-app", version="1.0")

@optel.command("run")
def run():
    return 1

run()
"""


def _host(cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", HOST], env={**os.environ, **env}, cwd=cwd,
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip


def _install(remote: str | None, checkout: Path) -> str:
    path = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            'mode = "anonymous"\ninstall_id = "0b7f3c52-7d36-4c5e-9d2a-6f1f7f0f7a10"\n'
            f'consent_version = 1\nsalt = "{SALT}"\nfirst_seen = "2026-01-02T03:04:05Z"\n'
        )
    (checkout / ".git").mkdir(parents=True, exist_ok=True)
    (checkout / ".git" / "config").write_text(
        f'[remote "origin"]\n\turl = {remote}\n' if remote else "[core]\n\tbare = false\n"
    )
    spool = _paths.spool_dir(APP)
    os.makedirs(spool, mode=0o700, exist_ok=True)
    # A held lock keeps the detached uploader from starting: the spool files stay to be read.
    acquire_lock(spool, os.getpid(), "test")
    return spool


def _run(tmp_path: Path, cwd: Path) -> tuple[list[str], str]:
    report = tmp_path / "modules.json"
    spool = _paths.spool_dir(APP)
    before = set(os.listdir(spool))
    _host(cwd, MODULES_REPORT=str(report))
    (name,) = [n for n in set(os.listdir(spool)) - before if n.endswith(".jsonl")]
    with open(os.path.join(spool, name), encoding="utf-8") as f:
        resource = json.loads(f.readline())["resource"]
    return json.loads(report.read_text()), resource["optel.project.id"]


def test_a_project_seen_before_needs_no_hash_module_and_gets_the_same_id(tmp_path: Path) -> None:
    checkout = tmp_path / "work" / "plans"
    spool = _install(REMOTE, checkout)
    first_modules, first = _run(tmp_path, checkout)
    assert first_modules  # the first run in the project hashed
    second_modules, second = _run(tmp_path, checkout / ".git")  # a subdirectory: the same project
    assert second_modules == []
    assert first == second == project.project_id(str(checkout), SALT)
    remembered = (Path(spool) / PROJECTS).read_text()
    # Nothing in it names the project: not its remote, its owner, its directory.
    for word in ("Alice", "secret-plans", "example.com", "plans", str(tmp_path)):
        assert word not in remembered
    assert [len(part) for part in remembered.split()] == [16, 32]


def test_a_changed_remote_or_another_project_gets_its_own_id(tmp_path: Path) -> None:
    checkout = tmp_path / "one"
    _install(REMOTE, checkout)
    _, first = _run(tmp_path, checkout)
    (checkout / ".git" / "config").write_text(
        '[remote "origin"]\n\turl = https://example.com/b/c\n'
    )
    _, moved = _run(tmp_path, checkout)
    assert moved != first and moved == project.project_id(str(checkout), SALT)
    other = tmp_path / "two"
    _install(None, other)  # no remote: the path is the key
    _, second = _run(tmp_path, other)
    assert second not in (first, moved) and second == project.project_id(str(other), SALT)


def test_a_garbled_or_foreign_projects_file_never_gives_a_wrong_id(tmp_path: Path) -> None:
    checkout = tmp_path / "p"
    spool = Path(_install(REMOTE, checkout))
    right = project.project_id(str(checkout), SALT)
    fingerprint = project._fs.fnv1a_64(f"{SALT}\n{project.project_key(str(checkout))}".encode())
    for text in (b"\xff\xfe garbage\n", f"{fingerprint} not-an-id\n".encode(), b""):
        (spool / PROJECTS).write_bytes(text)
        assert _run(tmp_path, checkout)[1] == right
    # A symlink in its place is not followed: its target is never read or written.
    (spool / PROJECTS).unlink()
    target = tmp_path / "elsewhere"
    target.write_text(f"{fingerprint} {'0' * 32}\n")
    (spool / PROJECTS).symlink_to(target)
    assert _run(tmp_path, checkout)[1] == right
    assert target.read_text() == f"{fingerprint} {'0' * 32}\n"


def test_the_file_stays_small_and_goes_with_the_spool(tmp_path: Path) -> None:
    spool = Path(_install(REMOTE, tmp_path / "p"))
    for i in range(200):
        project.project_id(str(tmp_path / f"dir{i}"), SALT, APP, remember=True)
    size = (spool / PROJECTS).stat().st_size
    assert 0 < size <= project._MAX_REMEMBERED_BYTES + 50
    assert oct((spool / PROJECTS).stat().st_mode & 0o777) == "0o600"
    delete_all(APP)  # opt-out or reset
    assert not (spool / PROJECTS).exists()


def test_a_run_that_spools_nothing_remembers_nothing(tmp_path: Path) -> None:
    # Debug output and an audit log alone write nothing to the spool: not even this.
    checkout = tmp_path / "p"
    spool = Path(_install(REMOTE, checkout))
    report = str(tmp_path / "modules.json")
    debug = _host(checkout, MODULES_REPORT=report, PROJECTS_APP_TELEMETRY_DEBUG="1")
    assert project.project_id(str(checkout), SALT) in debug.stderr
    audit = tmp_path / "audit.jsonl"
    _host(
        checkout,
        MODULES_REPORT=report,
        PROJECTS_APP_TELEMETRY="off",
        PROJECTS_APP_TELEMETRY_LOG=str(audit),
    )
    assert project.project_id(str(checkout), SALT) in audit.read_text()
    assert sorted(os.listdir(spool)) == ["uploader.lock"]
