"""Run a piece of Python as another user: the suite runs as root here, and root ignores permissions.

A test of "what happens when the user cannot read or write X" makes a home that the unprivileged user
owns, then runs its code there with `setpriv`, which drops every privilege before the interpreter starts.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

OTHER = "nobody"


def other_ids() -> tuple[int, int]:
    entry = pwd.getpwnam(OTHER)
    return entry.pw_uid, entry.pw_gid


@contextmanager
def home_of_other_user() -> Iterator[str]:
    """A fresh home directory owned by the other user, outside any root-only directory."""
    path = tempfile.mkdtemp(prefix="optel-other-")
    os.chmod(path, 0o755)
    uid, gid = other_ids()
    os.chown(path, uid, gid)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run_as_other_user(
    code: str, home: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`code` run by this suite's interpreter as the other user, with HOME and the XDG dirs in `home`."""
    uid, gid = other_ids()
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "XDG_CACHE_HOME": os.path.join(home, ".cache"),
        "PYTHONDONTWRITEBYTECODE": "1",
        **(env or {}),
    }
    command = [
        "setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all",
        "--bounding-set=-all", sys.executable, "-c", code,
    ]  # fmt: skip
    return subprocess.run(
        command, env=environ, cwd=home, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
