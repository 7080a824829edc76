"""The uploader lock: at most one uploader per spool, stale locks broken, and nobody ever waits.

`uploader.lock` holds `<pid> <start ns> <token>`; it is created whole (a hard link of a private
file), refreshed by its holder, and presumed abandoned after `LOCK_STALE_S` without a refresh.
"""

from __future__ import annotations

import os
import time

from optel import _fs
from optel._fs import unlink
from optel.spool import LOCK_NAME
from optel.spool.disk import pid_alive

# An uploader is presumed gone after this long without refreshing the lock (`UploaderLock.refresh`).
LOCK_STALE_S = 15 * 60.0
# Hands the lock from the host that spawned the uploader to the uploader itself.
TOKEN_ENV = "OPTEL_UPLOADER_TOKEN"


class LockInfo:
    """The parsed uploader lock: who holds it, since when."""

    __slots__ = ("mtime", "path", "pid", "start_ns", "token")

    def __init__(self, path: str, pid: int, start_ns: int, token: str, mtime: float) -> None:
        self.path = path
        self.pid = pid
        self.start_ns = start_ns
        self.token = token
        self.mtime = mtime

    def key(self) -> tuple[int, int, str]:
        return (self.pid, self.start_ns, self.token)

    def held(self) -> bool:
        """The holder is alive and refreshed the lock recently (the stale-lock rule).

        A lock refreshed "in the future" was written before the clock was set back: its age
        says nothing, and trusting it would stop every uploader for as long as the jump.
        """
        age = time.time() - self.mtime
        if age > LOCK_STALE_S or age < -60.0:
            return False
        if self.pid == 0:
            # Unparsable: a writer on a file system without hard links may be mid-write.
            return time.time() - self.mtime < 10.0
        return pid_alive(self.pid)


def read_lock(directory: str) -> LockInfo | None:
    """The uploader lock of the spool in `directory`, or None when there is none."""
    return _read_lock_path(os.path.join(directory, LOCK_NAME))


def _read_lock_path(path: str) -> LockInfo | None:
    try:
        fd = _fs.open_regular(path)
        try:
            mtime = os.fstat(fd).st_mtime
            parts = _fs.read_fd(fd, 200).split()
        finally:
            os.close(fd)
    except FileNotFoundError:
        return None
    except OSError:
        # A symlink (dangling or not), FIFO or directory named like the lock is no uploader's
        # lock: it is reported as a stale one, so that `acquire_lock` moves it aside.
        return LockInfo(path, 0, 0, "", 0.0) if os.path.lexists(path) else None
    try:
        return LockInfo(path, int(parts[0]), int(parts[1]), parts[2].decode("ascii"), mtime)
    except (IndexError, ValueError, UnicodeDecodeError):
        return LockInfo(path, 0, 0, "", mtime)


def _content(pid: int, token: str) -> bytes:
    return f"{pid} {time.time_ns()} {token}\n".encode("ascii")


def _create_lock(directory: str, pid: int, token: str) -> bool:
    """Create the lock with its content in one step (hard link of a private file); False if it exists."""
    path = os.path.join(directory, LOCK_NAME)
    tmp = os.path.join(directory, f"{LOCK_NAME}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, _content(pid, token))
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        except OSError:
            pass
        # No hard links here: an exclusive create, then the content (readers allow for the gap).
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        try:
            os.write(fd, _content(pid, token))
        finally:
            os.close(fd)
        return True
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def acquire_lock(directory: str, pid: int, token: str) -> bool:
    """Take the uploader lock for `pid`, breaking a stale one; never waits."""
    if _create_lock(directory, pid, token):
        return True
    info = read_lock(directory)
    if info is not None and info.held():
        return False
    if info is not None:
        # Move the stale lock aside and check it is the one we judged: another process may
        # have broken it and taken a fresh lock in between, which must survive.
        aside = f"{info.path}.stale.{os.getpid()}"
        try:
            os.rename(info.path, aside)
        except OSError:
            return False
        moved = _read_lock_path(aside)
        if moved is None or moved.key() != info.key():
            try:
                os.link(aside, info.path)
            except OSError:
                pass
            unlink(aside)
            return False
        _remove(aside)
    return _create_lock(directory, pid, token)


def rewrite_lock(directory: str, pid: int, token: str) -> None:
    path = os.path.join(directory, LOCK_NAME)
    tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, _content(pid, token))
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        unlink(tmp)


def release_lock(directory: str, token: str) -> None:
    info = read_lock(directory)
    if info is not None and info.token == token:
        unlink(info.path)


# Tokens of the uploader locks this process holds now (a long-running host's background thread).
# At shutdown the detached uploader takes over such a lock instead of waiting for the thread.
held_here: set[str] = set()


def take_over_own(directory: str, token: str) -> bool:
    """Take the lock from an upload of this very process (a background thread still waiting on a
    collector at shutdown), so the last flush goes to a detached uploader instead of the next run.

    The thread's files stay claimed by this process, which is about to exit: the next uploader
    claims them again then. Its release no longer matches the token, so it leaves the new lock be.
    """
    info = read_lock(directory)
    if info is None or info.pid != os.getpid() or info.token not in held_here:
        return False
    held_here.discard(info.token)
    rewrite_lock(directory, os.getpid(), token)
    again = read_lock(directory)
    return again is not None and again.token == token


def _remove(path: str) -> None:
    # What was moved aside from the lock's name: a file or symlink, or an (empty) directory.
    try:
        os.unlink(path)
    except OSError:
        try:
            os.rmdir(path)
        except OSError:
            pass
