"""Issue 12.2: a cache dir shared with other users (XDG_CACHE_HOME in a world-writable sticky dir).

A second user (`nobody`, through `setpriv`: the suite runs as root here) plants symlinks, a
directory of their own or spool files; the host run by the user must refuse what is not theirs,
say so in `optel status`, delete nothing outside the spool's own names, and never send anywhere a
planted file says.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from optel import _paths
from optel.spool.writer import encode_file
from otlp_receiver import OTLPReceiver
from rotel_process import free_port
from test_spool_safety import (
    APP,
    arrives,
    grant,
    optel_cli,
    run_host,
    span_names,
    wait_for_no_uploader,
)

NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
SPAN = {
    "t": "span", "trace_id": "a" * 32, "span_id": "b" * 16, "parent_span_id": None, "name": "planted",
    "kind": "internal", "start_ns": 1, "end_ns": 2, "attributes": {}, "status": "unset",
    "status_message": None, "events": [],
}  # fmt: skip


@pytest.fixture(autouse=True)
def _an_uploader_at_every_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about what a run's uploader does with unsafe dirs and broken state, not
    about when it starts: with the delivery interval 0, every run starts one
    (docs/internals.md#the-delivery-policy)."""
    monkeypatch.setenv("OPTEL_UPLOAD_INTERVAL", "0")


@pytest.fixture
def shared_cache(monkeypatch: pytest.MonkeyPatch):
    """XDG_CACHE_HOME in a fresh directory like /tmp: mode 1777, so every user can create in it."""
    path = Path(f"/tmp/optel-shared-{os.getpid()}-{time.monotonic_ns()}")
    path.mkdir()
    path.chmod(0o1777)
    monkeypatch.setenv("XDG_CACHE_HOME", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def receiver():
    with OTLPReceiver() as server:
        yield server


@pytest.fixture
def attacker_receiver():
    with OTLPReceiver() as server:
        yield server


def as_nobody(*argv: str) -> None:
    done = subprocess.run([*NOBODY, *argv], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def planted_file(directory: Path, endpoint: str) -> Path:
    """A well-formed spool file that sends to `endpoint`, readable by the second user."""
    source = directory.parent / f"source-{time.monotonic_ns()}.jsonl"
    header = {
        "app": APP,
        "created_ns": 1,
        "resource": {},
        "consent": {"mode": "anonymous"},
        "export": {"endpoint": endpoint},
    }
    source.write_bytes(encode_file(header, [SPAN]))
    source.chmod(0o644)
    return source


def fresh_name() -> str:
    """A spool file name within the age bound (an older one would just expire)."""
    return f"{time.time_ns()}-4242-0badf00d.jsonl"


def status() -> str:
    done = optel_cli("status")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_planted_symlink_for_the_app_dir_is_refused_and_nothing_is_written_or_deleted_there(
    tmp_path: Path, shared_cache: Path, receiver: OTLPReceiver
) -> None:
    # The target: a directory of the user's that holds a name the spool format also produces.
    victim = tmp_path / "victim"
    (victim / "telemetry-spool").mkdir(parents=True)
    precious = victim / "telemetry-spool" / "1700000000000000000-1-00000000.jsonl"
    precious.write_text("not telemetry\n")
    as_nobody("ln", "-s", str(victim), str(shared_cache / APP))
    grant()
    done, _ = run_host(tmp_path, receiver.url)
    assert (done.returncode, done.stderr) == (0, "")
    assert sorted(p.name for p in (victim / "telemetry-spool").iterdir()) == [precious.name]
    assert "refusing" in status() and "symbolic link" in status()
    for command in ("reset", "disable"):
        subprocess.run(
            [sys.executable, "-m", "optel", "--app", APP, command], capture_output=True, timeout=30
        )
    assert precious.read_text() == "not telemetry\n"


def test_a_spool_dir_of_another_user_is_refused_and_its_files_never_sent(
    tmp_path: Path, shared_cache: Path, receiver: OTLPReceiver, attacker_receiver: OTLPReceiver
) -> None:
    source = planted_file(shared_cache, attacker_receiver.url)
    spool = shared_cache / APP / "telemetry-spool"
    as_nobody("mkdir", "-p", "-m", "0777", str(spool))
    as_nobody("cp", str(source), str(spool / fresh_name()))
    grant()
    done, _ = run_host(tmp_path, receiver.url)
    assert (done.returncode, done.stderr) == (0, "")
    upload = optel_cli("upload")
    assert "refusing" in upload.stdout + upload.stderr
    time.sleep(0.5)
    assert attacker_receiver.requests == []
    assert f"refusing {shared_cache / APP}: it belongs to another user" in status()


@pytest.mark.parametrize("how", ["a copy", "a symlink to a file of the user's"])
def test_a_file_planted_in_a_loose_spool_dir_is_quarantined_and_the_run_still_arrives(
    tmp_path: Path,
    shared_cache: Path,
    receiver: OTLPReceiver,
    attacker_receiver: OTLPReceiver,
    how: str,
) -> None:
    # The user's own spool dir, left open to everyone (an old umask, a careless chmod).
    spool = Path(_paths.spool_dir(APP))
    spool.mkdir(parents=True)
    spool.chmod(0o777)
    spool.parent.chmod(0o777)
    source = planted_file(shared_cache, attacker_receiver.url)
    name = fresh_name()
    if how == "a copy":
        as_nobody("cp", str(source), str(spool / name))
    else:
        # Owned by the user and 0600, as a spool file is: only the link is the other user's.
        source.chmod(0o600)
        as_nobody("ln", "-s", str(source), str(spool / name))
    grant()
    done, _ = run_host(tmp_path, receiver.url)
    assert (done.returncode, done.stderr) == (0, "")
    assert arrives(receiver, "go"), span_names(receiver)
    wait_for_no_uploader()
    assert "planted" not in span_names(receiver)
    assert attacker_receiver.requests == []
    assert spool.stat().st_mode & 0o777 == 0o700
    assert spool.parent.stat().st_mode & 0o022 == 0  # nobody else can rename the spool dir away
    assert not (spool / name).exists()


def test_a_planted_endpoint_of_the_users_own_file_must_be_one_init_accepts(
    tmp_path: Path, receiver: OTLPReceiver
) -> None:
    spool = Path(_paths.spool_dir(APP))
    spool.mkdir(parents=True, mode=0o700)
    header = {
        "app": APP,
        "created_ns": 1,
        "resource": {},
        "consent": {"mode": "anonymous"},
        "export": {"endpoint": "file:///etc/passwd"},
    }
    planted = spool / fresh_name()
    planted.write_bytes(encode_file(header, [SPAN]))
    planted.chmod(0o600)
    grant()
    done, _ = run_host(tmp_path, receiver.url)
    assert (done.returncode, done.stderr) == (0, "")
    assert arrives(receiver, "go")
    wait_for_no_uploader()
    assert not planted.exists() and "planted" not in span_names(receiver)


def test_reset_deletes_only_the_names_the_spool_format_produces(
    tmp_path: Path, receiver: OTLPReceiver
) -> None:
    grant()
    spool = Path(_paths.spool_dir(APP))
    # A collector nobody listens on keeps the run's file in the spool, with a backoff for it.
    done, _ = run_host(tmp_path, f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 0
    wait_for_no_uploader()
    foreign = ["notes.txt", "1700000000000000000.jsonl", "uploader.lock.keep", "tally.x.tmp"]
    for name in foreign:
        (spool / name).write_text("mine\n")
    reset = optel_cli("reset")
    assert reset.returncode == 0, reset.stderr
    assert "Deleted 1 unsent spool file" in reset.stdout
    assert sorted(p.name for p in spool.iterdir()) == sorted(foreign)


def test_a_config_dir_planted_by_another_user_is_refused_and_never_read_as_consent(
    tmp_path: Path, shared_cache: Path, monkeypatch: pytest.MonkeyPatch, receiver: OTLPReceiver
) -> None:
    # The shared dir is the config root this time: another user's "yes" must not count as the user's.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(shared_cache))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    planted = shared_cache / "planted.toml"
    planted.write_text(
        'mode = "identified"\nuser_id = "attacker"\ninstall_id = "3f1d0c9e-0000-4000-8000-0000000012a2"\n'
    )
    planted.chmod(0o644)
    as_nobody("mkdir", "-m", "0755", str(shared_cache / APP))
    as_nobody("cp", str(planted), str(shared_cache / APP / "telemetry.toml"))
    done, _ = run_host(tmp_path, receiver.url)
    assert (done.returncode, done.stderr) == (0, "")
    assert (
        f"user config: unavailable (refusing {shared_cache / APP}: it belongs to another user"
        in status()
    )
    enable = optel_cli("enable")
    assert enable.returncode != 0 or "refusing" in enable.stdout + enable.stderr
    time.sleep(0.5)
    assert receiver.requests == []
    assert (shared_cache / APP / "telemetry.toml").read_text() == planted.read_text()
