"""Starting the detached uploader when delivery is due, and the lock's life in the uploader itself.

The host's exit path only ever makes non-blocking attempts here: one listdir, one read of the
backoff, one exclusive create of the lock, one spawn (`optel.spool.process`).
"""

from __future__ import annotations

import _thread
import os
import sys
import time

from optel import _paths
from optel.spool import LOCK_NAME, SUFFIX, created_ns, delivery_due, waiting
from optel.spool.disk import log_failure
from optel.spool.files import Spool
from optel.spool.lock import (
    TOKEN_ENV,
    acquire_lock,
    held_here,
    read_lock,
    release_lock,
    rewrite_lock,
    take_over_own,
)
from optel.spool.process import spawn, uploader_command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType


class UploaderLock:
    """`with uploader_lock(app) as held:` — held is False when another uploader runs. Never waits.

    A detached uploader started by `start_uploader` inherits the lock its host took for it
    (through the `OPTEL_UPLOADER_TOKEN` variable), so no other uploader can slip in between.
    """

    __slots__ = ("app", "directory", "held", "since_ns", "token")

    def __init__(self, directory: str, app: str = "") -> None:
        self.app = app
        self.directory = directory
        self.token = ""
        self.held = False
        self.since_ns = 0

    def __enter__(self) -> bool:
        inherited = os.environ.pop(TOKEN_ENV, "")
        try:
            os.makedirs(self.directory, 0o700, exist_ok=True)
            if self.app:
                _paths.check_spool_dir(self.directory)
            info = read_lock(self.directory)
            if inherited and info is not None and info.token == inherited:
                self.token = inherited
                rewrite_lock(self.directory, os.getpid(), inherited)
                self.held = True
                # Hosts that flushed from now on found the lock taken and started no uploader:
                # this one starts the next when it is done (`__exit__`).
                self.since_ns = time.time_ns()
            else:
                self.token = os.urandom(8).hex()
                self.held = acquire_lock(self.directory, os.getpid(), self.token)
        except OSError:
            self.held = False
        if self.held:
            held_here.add(self.token)
        return self.held

    def refresh(self) -> None:
        """Tell other processes this uploader is still alive (call at least every few minutes)."""
        if self.held:
            try:
                os.utime(os.path.join(self.directory, LOCK_NAME))
            except OSError:
                pass

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.held:
            held_here.discard(self.token)
            # The tally counts what this run sent and deleted: the next writer looks afresh, and
            # the delivery policy's size rule does not start another uploader for sent bytes.
            Spool.at(self.directory).forget_tally()
            release_lock(self.directory, self.token)
            self.held = False
            if self.since_ns and self.app and _written_since(self.directory, self.since_ns):
                start_uploader(self.app, directory=self.directory, when_due=True)


def _written_since(directory: str, since_ns: int) -> bool:
    """Whether a flush was spooled after `since_ns` and is still unclaimed: one whose host found
    the lock held and left it to the lock's holder. Files this uploader gave back are older."""
    try:
        names = os.listdir(directory)
    except OSError:
        return False
    return any(name.endswith(SUFFIX) and (created_ns(name) or 0) >= since_ns for name in names)


def uploader_lock(app: str, *, directory: str | None = None) -> UploaderLock:
    """The lock the uploader process holds while it uploads `app`'s spool."""
    return UploaderLock(directory if directory is not None else _paths.spool_dir(app), app)


def uploader_running(app: str) -> bool:
    """Whether an uploader for `app` holds the lock now."""
    try:
        info = read_lock(_paths.spool_dir(app))
    except OSError:
        return False
    return info is not None and info.held()


# One start at a time in this process (see start_uploader).
_starting = _thread.allocate_lock()
# A spawn takes milliseconds; a start stuck longer than this is not worth the host's exit.
START_WAIT_S = 0.5


def _after_fork_in_child() -> None:
    # A thread of the parent may have held it at the fork: in the child, that thread is gone.
    global _starting
    _starting = _thread.allocate_lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def start_uploader(
    app: str,
    *,
    directory: str | None = None,
    destination: str | None = None,
    when_due: bool = False,
) -> bool:
    """Start the detached uploader when the spool has files, none runs and the backoff has elapsed:
    that of `destination` (where the caller's flush goes), else the spool-wide one. With
    `when_due` (a host's flush, init, a successor), only when the spool is due (`delivery_due`).

    Returns whether one was started. Never raises, never waits, prints nothing.
    """
    try:
        spool = Spool(app, directory)
        try:
            names = os.listdir(spool.path)
        except OSError:
            return False  # no spool yet: the common first run, not worth a log line
        if not any(waiting(name) for name in names):
            return False
        if when_due and not delivery_due(spool, names):
            return False
        if spool.backoff_until(destination) is not None:
            return False
        if destination is not None:
            spool.set_backoff(None)  # a flush for a destination that is due: so is the spool
        if not sys.executable or getattr(sys, "frozen", False):
            # A frozen app's executable is the app itself: `-m optel` would run the host again.
            return False
        # One start at a time in this process: the init thread's start (lock taken, uploader not
        # yet spawned) must not make the exit's start see a lock of its own process it cannot take.
        if not _starting.acquire(True, START_WAIT_S):
            return False
        try:
            return _start_locked(app, spool.path)
        finally:
            _starting.release()
    except BaseException as exc:
        log_failure("starting the uploader", exc)
        return False


def _start_locked(app: str, directory: str) -> bool:
    token = os.urandom(8).hex()
    if not acquire_lock(directory, os.getpid(), token) and not take_over_own(directory, token):
        return False
    pid = spawn(uploader_command(app, directory), token)
    if pid is None:
        release_lock(directory, token)
        return False
    info = read_lock(directory)
    if info is not None and info.token == token:
        rewrite_lock(directory, pid, token)
    return True


def drain_leftovers(app: str) -> None:
    """At init, on a background thread: start an uploader for files earlier runs left, when they
    are due (`delivery_due`). Never raises."""
    try:
        start_uploader(app, when_due=True)
    except BaseException:
        pass
