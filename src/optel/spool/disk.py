"""The file operations the spool is built on: its safe directory, atomic writes, who is alive, and
the report of their failures (to the `optel` logger, never to the host's terminal).

Every writer and reader of the spool runs as the user, in the user's own 0700 directory; these
helpers never follow what another user could have planted there.
"""

from __future__ import annotations

import os

from optel import _fs


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


def ensure_dir(path: str) -> bool:
    """Create the spool dir (and its parents) with mode 0700, tightening an existing one; returns
    whether it was created just now.

    Raises UnsafeDirectory (an OSError) when `path` is a symlink or another user's directory.
    """
    try:
        os.mkdir(path, 0o700)  # one system call where the directory is there (nearly always)
        created = True
    except FileExistsError:
        created = False
    except FileNotFoundError:
        os.makedirs(path, 0o700, exist_ok=True)
        created = True
    problem = _fs.dir_problem(path)
    if problem is not None:
        raise _fs.UnsafeDirectory(f"refusing {path}: it {problem}")
    _fs.tighten_dir(path, 0o077)
    return created


def write_atomically(path: str, data: bytes, *, sync: bool = True) -> None:
    """Write `path` through `path.tmp` (mode 0600, fsynced) and a rename: readers see all or nothing."""
    tmp = path + ".tmp"
    try:
        fd = os.open(tmp, _fs.WRITE_FLAGS | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        # Also on KeyboardInterrupt: a half-written file must not outlive the attempt.
        unlink(tmp)
        raise


def unlink(path: str) -> bool:
    try:
        os.unlink(path)
    except OSError:
        return False
    return True


def regular_or_missing(path: str) -> bool:
    try:
        return _fs.is_regular(os.lstat(path).st_mode)
    except OSError:
        return True


def remove_odd(path: str) -> None:
    # Only ever inside the user's own spool dir (checked): a FIFO, symlink or empty directory
    # standing where a state file belongs.
    if not unlink(path):
        try:
            os.rmdir(path)
        except OSError:
            pass


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
