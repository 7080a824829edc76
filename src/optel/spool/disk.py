"""What the spool's readers need beside ``optel._fs`` (its safe directory and atomic writes): who is
alive, a listing, and the report of their failures (to the `optel` logger, never to the host's
terminal).

Every writer and reader of the spool runs as the user, in the user's own 0700 directory.
"""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists (on Windows: assumed, so that only the age rules apply)."""
    if pid <= 0:
        return False
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    # A detached uploader's parent is init; in a container whose init never reaps (any program
    # run as PID 1), an uploader that was killed stays a zombie, which holds no lock or claim.
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read(512)
    except OSError:
        return False
    state = stat.rpartition(b")")[2][1:2]
    return state in (b"Z", b"X")


def listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def log_failure(doing: str, exc: BaseException) -> None:
    """Report a failure to the `optel` logger only: a host's terminal never sees it.

    Expected trouble (a read-only or full disk) goes out at DEBUG, anything else at WARNING
    (``optel._logger`` keeps both off the terminal of a host that set up no logging).
    """
    try:
        import logging

        from optel._logger import logger

        level = (
            logging.DEBUG
            if isinstance(exc, (OSError, KeyboardInterrupt, SystemExit))
            else logging.WARNING
        )
        logger().log(level, "optel: %s failed: %s: %s", doing, type(exc).__name__, exc)
    except BaseException:
        pass
