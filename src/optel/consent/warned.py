"""The broken-config warning, once per broken file across runs, not once per run
(docs/contract.md#consent).

A broken file is left untouched until the user runs ``enable``/``disable``/``reset``, so every
run finds it again. The runs remember which files they warned about in a small list in the app's
cache dir, one fingerprint a line: device, inode, size and modification time, so a file broken
anew (edited, replaced) is warned about again, and the file itself is never written.
"""

from __future__ import annotations

import os
import stat
import sys

from optel import _paths
from optel._terminal import LINE_LIMIT, shown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

MARKS_FILE = "telemetry-warned"
MAX_MARKS = 32
MAX_BYTES = 4096

# Within one process, the list is not read again (and a run whose cache dir is unusable still
# warns only once).
_warned: set[str] = set()


def fingerprint(path: str) -> str | None:
    """What identifies this version of the file at ``path``, or None when there is nothing there."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def warn_once(app: str, path: str, message: str, stderr: TextIO | None = None) -> bool:
    """Print ``message`` on stderr unless this version of ``path`` was warned about before.

    Returns whether it printed. Never raises.
    """
    found = fingerprint(path)
    mark = found or f"missing:{path}"
    if mark in _warned:
        return False
    _warned.add(mark)
    marks_path = ""
    if found is not None:
        try:
            marks_path = os.path.join(_paths.user_cache_dir(app), MARKS_FILE)
        except (OSError, ValueError):
            pass
    marks = _read_marks(marks_path) if marks_path else []
    if mark in marks:
        return False
    stream = sys.stderr if stderr is None else stderr
    try:
        stream.write(shown(message, LINE_LIMIT) + "\n")
        stream.flush()
    except (OSError, ValueError, AttributeError):
        return False
    if marks_path:
        _write_marks(marks_path, [*marks, mark][-MAX_MARKS:])
    return True


def _read_marks(path: str) -> list[str]:
    try:
        # No link followed and no FIFO waited on: the cache dir is not trusted to be tidy.
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
    except OSError:
        return []
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return []
        data = os.read(fd, MAX_BYTES)
    except OSError:
        return []
    finally:
        os.close(fd)
    return data.decode("ascii", "replace").split()


def _write_marks(path: str, marks: list[str]) -> None:
    directory = os.path.dirname(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
        try:
            os.write(fd, ("\n".join(marks) + "\n").encode("ascii", "replace"))
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
