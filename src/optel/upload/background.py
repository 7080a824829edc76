"""The uploader of a long-running host: a daemon thread that ships each flush from inside the process.

A host started with ``optel.init(..., flush_interval=S)`` flushes its records to the spool every S
seconds; this thread uploads them on the same rhythm, so a server-like process does not wait for
its exit to send anything. Importing this module costs nothing (``_thread`` and ``time`` only): the
SDK is imported by the thread, off the host's hot path. At shutdown the host hands over to the
detached uploader as usual, after waiting briefly for an upload in flight (a thread killed
between the collector's answer and the file's deletion would leave a claim that a later uploader
sends again). A collector that does not answer within that wait is not worth more of the host's
exit: the detached uploader takes the thread's lock over (``spool.launch``) and sends the last
flush, and the files the thread had claimed are sent by the next uploader after the host is gone.
"""

from __future__ import annotations

import _thread
import os

from optel._atfork import wait_at_fork

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

MIN_INTERVAL = 0.05
# How long shutdown waits for an upload in flight: a healthy collector answers in tens of
# milliseconds, and a hanging one is not worth more of the host's exit than this.
STOP_WAIT = 0.1

_stops: dict[str, _thread.LockType] = {}
# Released by each app's thread when its loop is over (after the upload in flight, if any).
_done: dict[str, _thread.LockType] = {}
_guard = _thread.allocate_lock()
# Held while a thread imports the uploader and the SDK (~100 ms, at its first upload): a fork waits
# for it, so that no child inherits a module half-imported by a thread it does not have (the
# child would wait on that module's import lock for ever when it imports it too).
_importing = _thread.allocate_lock()
FORK_WAIT_S = 2.0


def start_background_uploader(app: str, interval: float) -> bool:
    """Start the daemon thread that uploads `app`'s spool every `interval` seconds (the host's
    `flush_interval`). Returns False when one runs already. Never raises."""
    try:
        # The thread imports the SDK, which imports `threading`. Imported first by a thread of
        # `_thread`, `threading` takes that thread for the main one, and the interpreter's exit then
        # waits for it before running atexit, where shutdown would stop it: the host never exits.
        import threading  # noqa: F401

        # The exporters log a misconfiguration at WARNING; in the host that must not reach stderr.
        from optel._logger import logger

        logger()
        interval = max(float(interval), MIN_INTERVAL)
        with _guard:
            if app in _stops:
                return False
            stop = _thread.allocate_lock()
            stop.acquire()
            done = _thread.allocate_lock()
            done.acquire()
            _stops[app] = stop
            _done[app] = done
        try:
            _thread.start_new_thread(_loop, (app, interval, stop, done))
        except BaseException:
            with _guard:
                _stops.pop(app, None)
                _done.pop(app, None)
            raise
        return True
    except Exception:
        return False


def stop_background_uploader(app: str, wait: float = STOP_WAIT) -> bool:
    """Stop `app`'s thread, waiting up to `wait` seconds for its upload in flight to end.

    Shutdown calls this before its last flush, which then goes to the detached uploader. Returns
    whether the thread is over (True too when none ran). Never raises.
    """
    with _guard:
        stop = _stops.pop(app, None)
        done = _done.pop(app, None)
    if stop is None:
        return True
    try:
        stop.release()
    except RuntimeError:
        pass
    if done is None:
        return True
    try:
        if done.acquire(timeout=max(wait, 0.0)):
            return True
    except (RuntimeError, ValueError, OverflowError):
        pass
    return False


def _load_uploader() -> Callable[..., object]:
    # Everything an upload imports, at once and under _importing (a dict lookup once loaded).
    with _importing:
        from optel.upload import convert, export, http, metrics, uploader  # noqa: F401

        return uploader.upload


def _after_fork_in_child() -> None:
    # The parent's threads do not exist in a forked child, and one of them may have held _guard
    # at the fork: the child starts with none running (the parent's thread keeps uploading the
    # spool, the child's last flush included) and fresh locks.
    global _guard, _importing
    _guard = _thread.allocate_lock()
    _importing = _thread.allocate_lock()
    _stops.clear()
    _done.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
    wait_at_fork(lambda: _importing, lambda: FORK_WAIT_S)


def running(app: str) -> bool:
    """Whether a background uploader runs for `app` in this process."""
    return app in _stops


def _host_closed(app: str) -> bool:
    try:
        from optel import _runtime

        telemetry = _runtime.current()
    except Exception:
        return False
    return (
        telemetry is not None
        and telemetry.app == app
        and bool(getattr(telemetry, "_closed", False))
    )


def _loop(app: str, interval: float, stop: _thread.LockType, done: _thread.LockType) -> None:
    try:
        while not stop.acquire(timeout=interval):
            if _host_closed(app):
                break
            upload = _load_uploader()
            # Bounded by the interval, so a dead collector never piles runs up; upload() honours the
            # backoff and never raises.
            upload(app, max_seconds=max(interval, 10.0))
    except BaseException:
        pass
    finally:
        with _guard:
            if _stops.get(app) is stop:
                del _stops[app]
                _done.pop(app, None)
        done.release()
