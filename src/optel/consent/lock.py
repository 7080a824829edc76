"""The user file's lock: one writer at a time, and nothing left behind in the config dir.

Only the writers (``UserStore.update`` and friends) take it; reading never does.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager


def file_lock(lock_path: str) -> AbstractContextManager[None]:
    import contextlib

    @contextlib.contextmanager
    def locked() -> Iterator[None]:
        os.makedirs(os.path.dirname(lock_path) or ".", mode=0o700, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if sys.platform == "win32":
                import msvcrt

                while True:
                    try:
                        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                        break
                    except OSError:
                        # LK_LOCK gives up after ~10 s of contention; keep waiting.
                        continue
                try:
                    yield
                finally:
                    os.lseek(fd, 0, os.SEEK_SET)
                    msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
            else:
                fd = _flock_current(lock_path, fd)
                try:
                    yield
                finally:
                    # Removed while still held: a run leaves nothing in the config dir but the
                    # user's file. A waiter that opened it meanwhile sees it gone and tries again.
                    _unlink_quietly(lock_path)
                    import fcntl

                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    return locked()


def _flock_current(lock_path: str, fd: int) -> int:
    """Lock `fd` exclusively, and return a locked fd of the file that is at `lock_path` now.

    The holder unlinks the lock file before it unlocks: a process that opened the old file and
    got its lock afterwards holds a lock nobody else will ever ask for, so it opens the path again.
    """
    import fcntl

    while True:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock_path))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
