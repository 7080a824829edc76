"""An uploader never writes the user's config dir (docs/consent.md#who-may-write).

Real processes: a host records with its collector down, so its data waits in the spool; then
`python -m optel upload` (foreground or `--detached`, as a host starts it) runs against a config
dir in one of the states a user can leave it in. Whatever the uploader decides (send, keep,
withdraw), the config dir is byte-for-byte and mtime-identical afterwards, and is not created
when there is none (the install's first version is noted in the spool, not in the user file:
tests/test_first_version.py). The consent decision it makes (`optel.consent.readonly.in_force`) is also
checked in-process for every row that can answer without a terminal.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from optel import _paths
from optel.consent.readonly import in_force
from optel.spool import Spool
from optel.spool.launch import uploader_running

pytestmark = pytest.mark.slow

APP = "ro-app"
INSTALL_ID = "5b0c2a71-0000-4000-8000-00000000b0b0"
HOST = r"""
import optel

optel.init("ro-app", version="2.0")

@optel.command("sync")
def sync():
    optel.count_input()

sync()
"""
STORED = {
    "anonymous": (
        f'mode = "anonymous"\ninstall_id = "{INSTALL_ID}"\nconsent_version = 1\n'
        'decided_at = "2026-01-01T00:00:00Z"\ndecided_by = "answer"\nfirst_version = "2.0"\n'
    ),
    "off": f'mode = "off"\ninstall_id = "{INSTALL_ID}"\nconsent_version = 1\n',
    "broken": 'mode = "sometimes"\n',
    "notice shown, older version": (
        f'install_id = "{INSTALL_ID}"\nnotice_shown = true\nconsent_version = 1\n'
        'app_policy = "opt-out"\nfirst_version = "2.0"\n'
    ),
}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def settle() -> None:
    deadline = time.monotonic() + 30
    while uploader_running(APP):
        assert time.monotonic() < deadline, "the detached uploader did not finish"
        time.sleep(0.05)


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry under ``root``: kind, bytes, mode and mtime (ns); the root's own mtime too."""
    out: dict[str, tuple[object, ...]] = {}
    if not root.exists():
        return out
    for path in [root, *sorted(root.rglob("*"))]:
        st = path.lstat()
        data = path.read_bytes() if path.is_file() else b""
        out[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns, data)
    return out


def queue_one_run(tmp_path: Path, config_home: Path, env: dict[str, str]) -> None:
    """A host run whose flush waits in the spool (its collector is down)."""
    script = tmp_path / "host.py"
    script.write_text(HOST)
    run_env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(config_home),
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{closed_port()}",
        **env,
    }
    host = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=run_env
    )
    assert (host.returncode, host.stderr) == (0, ""), host
    settle()
    assert Spool(APP).files(), "the host's data waits in the spool"


def upload(detached: bool, **env: str) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "optel", "upload", "--app", APP]
    run_env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{closed_port()}"}
    done = subprocess.run(
        args + (["--detached"] if detached else []),
        capture_output=True,
        text=True,
        timeout=60,
        env={**run_env, **env},
    )
    assert done.returncode == 0, done
    return done


@pytest.mark.parametrize("detached", [False, True], ids=["foreground", "detached"])
@pytest.mark.parametrize("stored", list(STORED))
def test_an_upload_leaves_the_stored_choice_untouched(
    tmp_path: Path, stored: str, detached: bool
) -> None:
    config_home = Path(os.environ["XDG_CONFIG_HOME"])
    user_file = Path(_paths.user_config_file(APP))
    # Recorded while the stored choice allowed it; then the user changed or broke the file.
    user_file.parent.mkdir(parents=True)
    user_file.write_text(STORED["anonymous"])
    queue_one_run(tmp_path, config_home, {})
    user_file.write_text(STORED[stored])
    os.utime(user_file, ns=(1_000_000_000, 1_000_000_000))
    before = snapshot(config_home)
    upload(detached)
    assert snapshot(config_home) == before
    withdrawn = stored in ("off", "broken")
    assert bool(Spool(APP).files()) is not withdrawn, "kept, or deleted when withdrawn"


@pytest.mark.parametrize("detached", [False, True], ids=["foreground", "detached"])
@pytest.mark.parametrize("config_dir", ["absent", "empty"])
@pytest.mark.parametrize("env", [{}, {"CI": "true"}, {"RO_APP_TELEMETRY": "on"}], ids=str)
def test_an_upload_with_no_choice_stored_creates_nothing(
    tmp_path: Path, config_dir: str, env: dict[str, str], detached: bool
) -> None:
    """No install id, no lock, no notice or prompt state: the uploader stores nothing at all.

    The data was recorded by a run raised for itself whose install id is gone by the upload (as
    after `optel reset`): the host kept its config elsewhere.
    """
    config_home = Path(os.environ["XDG_CONFIG_HOME"])
    queue_one_run(tmp_path, tmp_path / "host-config", {"RO_APP_TELEMETRY": "on"})
    if config_dir == "empty":
        Path(_paths.user_config_dir(APP)).mkdir(parents=True)
    before = snapshot(config_home)
    done = upload(detached, **env)
    assert snapshot(config_home) == before
    assert Spool(APP).files(), "nothing stored is not a withdrawal: the data is kept"
    if not detached:
        assert done.stdout.startswith("sent "), done.stdout


@pytest.mark.parametrize(
    ("env", "stored", "expected"),
    [
        ({"DO_NOT_TRACK": "1"}, "anonymous", ("off", "DO_NOT_TRACK", True)),
        ({"RO_APP_TELEMETRY": "maybe"}, None, ("off", "app_env", True)),
        ({}, "off", ("off", "user_file", True)),
        ({}, "broken", ("off", "broken_user_file", True)),
        ({}, "anonymous", ("anonymous", "user_file", False)),
        ({"RO_APP_TELEMETRY": "on"}, None, ("anonymous", "app_env", False)),
        ({"CI": "true"}, None, ("off", "ci", False)),
        ({}, None, ("off", "not_asked", False)),
        ({}, "notice shown, older version", ("off", "not_asked", False)),
    ],
)
def test_in_force_answers_from_the_chain_without_writing(
    env: dict[str, str], stored: str | None, expected: tuple[str, str, bool]
) -> None:
    config_home = Path(os.environ["XDG_CONFIG_HOME"])
    if stored is not None:
        user_file = Path(_paths.user_config_file(APP))
        user_file.parent.mkdir(parents=True)
        user_file.write_text(STORED[stored])
    before = snapshot(config_home)
    consent, withdraws = in_force(APP, environ=env, project_dir=None)
    assert (consent.mode, consent.source, withdraws) == expected
    assert snapshot(config_home) == before
