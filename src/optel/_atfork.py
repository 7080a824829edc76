"""A lock that fork() waits for: a child never starts while one of optel's threads is mid-import.

A thread of the parent does not exist in a forked child; a module it was importing at the fork
stays half-imported there, and the child waits on that module's import lock for ever when it
imports it too. optel's threads import only while holding a known lock (a flush's), so a fork
that waits for that lock cannot catch them mid-import.
"""

from __future__ import annotations

import _thread
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    Lock = _thread.LockType | _thread.RLock


def wait_at_fork(lock: Callable[[], Lock], timeout: Callable[[], float]) -> None:
    """Make every fork wait up to `timeout()` seconds for `lock()`, released again in the parent.

    `lock()` returns the lock in force (a child makes its own anew). Past the timeout the fork goes
    on without it.
    """
    if not hasattr(os, "register_at_fork"):
        return
    held: dict[int, Lock] = {}

    def before() -> None:
        try:
            current = lock()
            if current.acquire(timeout=timeout()):
                held[_thread.get_ident()] = current
        except Exception:
            pass

    def after_in_parent() -> None:
        current = held.pop(_thread.get_ident(), None)
        if current is not None:
            current.release()

    os.register_at_fork(before=before, after_in_parent=after_in_parent, after_in_child=held.clear)
