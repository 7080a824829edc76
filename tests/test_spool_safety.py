"""Issue 12, from the host's side: a hostile working directory, blocking files, broken spool state
and a slow uploader never run foreign code, hang the host or keep a run's data from its collector.

Each test runs a real host process (and the detached uploader it starts) against a real receiver
on 127.0.0.1. Shared-directory attacks by a second user are in tests/test_spool_shared_dirs.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from optel import _paths
from optel.spool import LOCK_NAME, Spool
from optel.spool.launch import uploader_running
from otlp_receiver import OTLPReceiver

APP = "safe-tool"


@pytest.fixture(autouse=True)
def _an_uploader_at_every_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about what a run's uploader does with unsafe dirs and broken state, not
    about when it starts: with the delivery interval 0, every run starts one
    (docs/internals.md#the-delivery-policy)."""
    monkeypatch.setenv("OPTEL_UPLOAD_INTERVAL", "0")


INSTALL_ID = "3f1d0c9e-0000-4000-8000-0000000012a1"
HOST = """\
import os, sys, time, optel
optel.init({app!r}, endpoint={endpoint!r})
{before}
@optel.command()
def {name}(): pass
{name}()
print(os.getpid())
"""


@pytest.fixture
def receiver():
    with OTLPReceiver() as server:
        yield server


def grant() -> None:
    """The user said yes earlier (a stored choice), so each host run sends."""
    user_file = _paths.user_config_file(APP)
    os.makedirs(os.path.dirname(user_file), exist_ok=True)
    with open(user_file, "w") as f:
        # A salt, as an install id's creation writes: the project id (read from .git) is computed.
        f.write(
            f'mode = "anonymous"\ninstall_id = "{INSTALL_ID}"\nconsent_version = 1\nsalt = "{"5" * 32}"\n'
        )


def run_host(
    tmp_path: Path,
    endpoint: str,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    name: str = "go",
    before: str = "",
    timeout: float = 30,
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run a host script from a directory of its own; returns the process and its wall time."""
    script = tmp_path / "host" / "host.py"
    script.parent.mkdir(exist_ok=True)
    script.write_text(
        HOST.format(app=APP, endpoint=endpoint, name=name, before=textwrap.dedent(before))
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=str(cwd or tmp_path),
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done, time.monotonic() - started


def optel_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`optel --app APP ARGS`, as the user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "optel", "--app", APP, *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def wait_for_no_uploader(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while uploader_running(APP) and time.monotonic() < deadline:
        time.sleep(0.05)


def span_names(receiver: OTLPReceiver) -> list[str]:
    return [span["name"] for span in receiver.spans()]


def arrives(receiver: OTLPReceiver, name: str, timeout: float = 20.0) -> bool:
    return receiver.wait_for(lambda r: name in span_names(r), timeout=timeout)


# --- 1. code from the working directory -------------------------------------------------------


def _hostile(path: Path, markers: Path, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"import os\nopen(os.path.join({str(markers)!r}, {name!r} + '-' + str(os.getpid())), 'w').close()\n"
    )


def test_a_hostile_working_directory_and_python_variables_never_run_in_the_uploader(
    tmp_path: Path, receiver: OTLPReceiver
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    # A cloned repository: everything the uploader (or Python's start-up) would import from the cwd.
    repo = tmp_path / "repo"
    for module in (
        "optel/__init__.py",
        "optel/__main__.py",
        "argparse.py",
        "json.py",
        "sitecustomize.py",
        "usercustomize.py",
        "opentelemetry/__init__.py",
        "encodings/__init__.py",
    ):
        _hostile(repo / module, markers, "cwd-" + module.replace("/", "."))
    (repo / "evil.pth").write_text(
        f"import os; open(os.path.join({str(markers)!r}, 'cwd-pth-' + str(os.getpid())), 'w').close()\n"
    )
    # And variables pointing at hostile code (the host itself runs them too: only other pids count).
    elsewhere = tmp_path / "pythonpath"
    for module in ("sitecustomize.py", "usercustomize.py", "startup.py"):
        _hostile(elsewhere / module, markers, "env-" + module)
    (elsewhere / "evil.pth").write_text(
        f"import os; open(os.path.join({str(markers)!r}, 'env-pth-' + str(os.getpid())), 'w').close()\n"
    )
    # A user site-packages of the attacker's choosing, with a .pth line (run by `site` at start-up).
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    user_site = elsewhere / "userbase" / "lib" / version / "site-packages"
    user_site.mkdir(parents=True)
    (user_site / "evil.pth").write_text(
        (elsewhere / "evil.pth").read_text().replace("env-pth-", "userbase-pth-")
    )
    _hostile(user_site / "usercustomize.py", markers, "userbase-usercustomize")
    grant()
    done, _ = run_host(
        tmp_path,
        receiver.url,
        cwd=repo,
        env={
            "PYTHONPATH": str(elsewhere),
            "PYTHONSTARTUP": str(elsewhere / "startup.py"),
            "PYTHONUSERBASE": str(elsewhere / "userbase"),
        },
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    host_pid = done.stdout.split()[-1]
    # The data still reaches the collector, through the detached uploader the host started.
    assert arrives(receiver, "go"), span_names(receiver)
    wait_for_no_uploader()
    foreign = sorted(name for name in os.listdir(markers) if not name.endswith("-" + host_pid))
    assert foreign == []


# --- 4. blocking files --------------------------------------------------------------------------


def _fifo_in_git_config(project: Path) -> None:
    (project / ".git").mkdir()
    os.mkfifo(project / ".git" / "config")


def _fifo_as_gitdir_commondir(project: Path) -> None:
    (project / ".git").write_text("gitdir: ../worktree-git\n")
    (project.parent / "worktree-git").mkdir()
    os.mkfifo(project.parent / "worktree-git" / "commondir")


def _fifo_as_gitdir_file(project: Path) -> None:
    os.mkfifo(project / ".git")


def _fifo_as_common_config(project: Path) -> None:
    (project / ".git").write_text("gitdir: ../worktree-git\n")
    (project.parent / "worktree-git").mkdir()
    (project.parent / "worktree-git" / "commondir").write_text("../common-git\n")
    (project.parent / "common-git").mkdir()
    os.mkfifo(project.parent / "common-git" / "config")


def _fifo_in_spool(name: str):
    def plant(project: Path) -> None:
        directory = _paths.spool_dir(APP)
        os.makedirs(directory, 0o700, exist_ok=True)
        # A fresh name (within the age bound): the uploader claims it rather than expiring it.
        os.mkfifo(os.path.join(directory, name.format(now=time.time_ns())))

    return plant


BLOCKING = {
    ".git/config": _fifo_in_git_config,
    "gitdir commondir": _fifo_as_gitdir_commondir,
    ".git itself": _fifo_as_gitdir_file,
    "commondir config": _fifo_as_common_config,
    "backoff": _fifo_in_spool("backoff"),
    "tally": _fifo_in_spool("tally"),
    "dropped": _fifo_in_spool("dropped"),
    "uploader.lock": _fifo_in_spool(LOCK_NAME),
    "a .jsonl": _fifo_in_spool("{now}-4242-0badf00d.jsonl"),
}


@pytest.mark.parametrize("plant", list(BLOCKING.values()), ids=list(BLOCKING))
def test_a_fifo_where_a_small_file_belongs_never_hangs_the_host_or_the_uploader(
    tmp_path: Path, receiver: OTLPReceiver, plant
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    plant(project)
    grant()
    done, took = run_host(tmp_path, receiver.url, cwd=project)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert took < 10, f"the host took {took:.1f} s to exit"
    # Its detached uploader ends (none hangs holding the lock), and a foreground one finishes promptly.
    wait_for_no_uploader(timeout=20)
    assert not uploader_running(APP), "the detached uploader hangs"
    upload = optel_cli("upload")
    assert upload.returncode == 0, upload.stderr
    assert arrives(receiver, "go", timeout=5), upload.stdout


# --- 9. self-repair -----------------------------------------------------------------------------


def _backoff(text: str):
    def plant(directory: str) -> None:
        with open(os.path.join(directory, "backoff"), "w") as f:
            f.write(text)

    return plant


def _lock_symlink(directory: str) -> None:
    os.symlink("/nonexistent/optel-lock-target", os.path.join(directory, LOCK_NAME))


def _lock_of(pid: int, mtime_offset: float):
    def plant(directory: str) -> None:
        path = os.path.join(directory, LOCK_NAME)
        with open(path, "w") as f:
            f.write(f"{pid} {time.time_ns()} 0123456789abcdef\n")
        when = time.time() + mtime_offset
        os.utime(path, (when, when))

    return plant


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


BROKEN_STATE = {
    "backoff nan": _backoff("nan 3\n"),
    "backoff inf": _backoff("inf 2\n"),
    "backoff 30 days ahead (clock set back)": _backoff(f"{time.time() + 30 * 86400!r} 4\n"),
    "backoff negative failures": _backoff(f"{time.time() - 5!r} -7\n"),
    "dangling lock symlink": _lock_symlink,
    "lock of a dead process": lambda d: _lock_of(_dead_pid(), 0)(d),
    "lock not refreshed for 20 minutes": _lock_of(1, -20 * 60),
    "lock refreshed a day in the future": _lock_of(1, 86400),
}


@pytest.mark.parametrize("plant", list(BROKEN_STATE.values()), ids=list(BROKEN_STATE))
def test_broken_spool_state_recovers_on_the_next_run(
    tmp_path: Path, receiver: OTLPReceiver, plant
) -> None:
    directory = _paths.spool_dir(APP)
    os.makedirs(directory, 0o700)
    plant(directory)
    grant()
    done, _ = run_host(tmp_path, receiver.url)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    # No manual upload: the run's own detached uploader starts and delivers.
    assert arrives(receiver, "go"), span_names(receiver)


# --- 13. the init drain and the exit's uploader ----------------------------------------------


def test_a_run_whose_init_started_an_uploader_still_has_its_own_flush_sent(
    tmp_path: Path, receiver: OTLPReceiver
) -> None:
    grant()
    header = {
        "app": APP,
        "created_ns": 1,
        "resource": {},
        "consent": {"mode": "anonymous"},
        "export": {"endpoint": receiver.url},
    }
    span = {
        "t": "span", "trace_id": "1" * 32, "span_id": "2" * 16, "parent_span_id": None, "name": "leftover",
        "kind": "internal", "start_ns": 1, "end_ns": 2, "attributes": {}, "status": "unset",
        "status_message": None, "events": [],
    }  # fmt: skip
    Spool(APP).write(header, [span])
    # The leftover's upload is slow: the uploader init() started is still at it when the run exits.
    receiver.delay(2.0, times=2)
    directory = _paths.spool_dir(APP)
    done, _ = run_host(
        tmp_path,
        receiver.url,
        before=f"""\
        deadline = time.time() + 10
        while time.time() < deadline and not any(".claimed." in n for n in os.listdir({directory!r})):
            time.sleep(0.01)
        """,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert arrives(receiver, "leftover")
    # This run's own flush goes too, without waiting for a next run.
    assert arrives(receiver, "go", timeout=20), span_names(receiver)
