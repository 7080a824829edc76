"""Helpers for tests that run a real host process and then deliver its spool to a real receiver.

``receiver_for(app, home)`` stores anonymous consent in the test's home and runs a real OTLP
receiver (stopping, at the end, a detached uploader the test left behind); ``drain(app, env)``
waits for a detached uploader the host started and runs ``optel upload`` until the spool holds no
flush, so that what the receiver got is everything the host's processes spooled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from optel.spool import Spool
from optel.spool.lock import read_lock
from otlp_receiver import OTLPReceiver


def consent(app: str, home: Path) -> None:
    config = home / ".config" / app
    config.mkdir(parents=True, exist_ok=True)
    (config / "telemetry.toml").write_text(
        'mode = "anonymous"\ninstall_id = "3f1d0c9e-0000-4000-8000-0000000010a9"\n'
        'decided_at = "2026-11-23T18:00:00Z"\nconsent_version = 1\n'
    )


def alive(pid: int) -> bool:
    """Alive and not a zombie (the init of a container may never reap the detached uploaders)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def settle(spool: Spool, timeout: float = 30.0) -> None:
    """Wait for the detached uploader that holds the spool's lock, if any, to end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = read_lock(spool.path)
        if info is None or not alive(info.pid):
            return
        time.sleep(0.02)
    raise AssertionError("the detached uploader did not finish")


def spooled(app: str) -> list[str]:
    """The spool's flush files (claimed ones included)."""
    try:
        return [n for n in os.listdir(Spool(app).path) if ".jsonl" in n]
    except FileNotFoundError:
        return []


def drain(app: str, env: dict[str, str]) -> None:
    """Deliver everything spooled for `app` (a few `optel upload` rounds at most)."""
    spool = Spool(app)
    for _ in range(5):
        settle(spool)
        if not spooled(app):
            return
        subprocess.run(
            [sys.executable, "-m", "optel", "upload", "--app", app],
            env=env,
            capture_output=True,
            timeout=60,
        )
    raise AssertionError(f"the spool still holds {spooled(app)}")


@contextlib.contextmanager
def receiver_for(app: str, home: Path) -> Iterator[OTLPReceiver]:
    consent(app, home)
    with OTLPReceiver() as receiver:
        yield receiver
    reap_uploader(app)


def reap_uploader(app: str) -> None:
    info = read_lock(Spool(app).path)
    if info is not None and info.pid > 0 and alive(info.pid):
        with open(f"/proc/{info.pid}/cmdline", "rb") as f:
            if b"optel" in f.read():
                os.kill(info.pid, signal.SIGKILL)
