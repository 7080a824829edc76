"""The uploader of a long-running host: a daemon thread that ships each flush from inside the process.

A host started with ``optel.init(..., flush_interval=S)`` flushes its records to the spool every S
seconds; this thread uploads them on the same rhythm, so a server-like process does not wait for
its exit to send anything. Importing this module costs nothing (``_thread`` and ``time`` only): the
SDK is imported by the thread, off the host's hot path. At shutdown the host hands over to the
detached uploader as usual.
"""

from __future__ import annotations

import _thread

DEFAULT_INTERVAL = 60.0
MIN_INTERVAL = 0.05

_stops: dict[str, _thread.LockType] = {}
_guard = _thread.allocate_lock()


def start_background_uploader(app: str, interval: float | None = None) -> bool:
    """Start the daemon thread that uploads `app`'s spool every `interval` seconds (default: the
    host's `flush_interval`, else 60 s). Returns False when one runs already. Never raises."""
    try:
        if interval is None:
            interval = _host_interval(app)
        interval = max(float(interval), MIN_INTERVAL)
        with _guard:
            if app in _stops:
                return False
            stop = _thread.allocate_lock()
            stop.acquire()
            _stops[app] = stop
        _thread.start_new_thread(_loop, (app, interval, stop))
        return True
    except Exception:
        return False


def stop_background_uploader(app: str) -> None:
    """Stop `app`'s thread after its current upload (shutdown hands over to the detached uploader)."""
    with _guard:
        stop = _stops.pop(app, None)
    if stop is not None:
        try:
            stop.release()
        except RuntimeError:
            pass


def running(app: str) -> bool:
    """Whether a background uploader runs for `app` in this process."""
    return app in _stops


def _host_interval(app: str) -> float:
    from optel import _runtime

    telemetry = _runtime.current()
    if telemetry is not None and telemetry.app == app:
        value = getattr(telemetry.settings, "flush_interval", None)
        if isinstance(value, (int, float)) and value > 0:
            return float(value)
    return DEFAULT_INTERVAL


def _host_closed(app: str) -> bool:
    try:
        from optel import _runtime

        telemetry = _runtime.current()
    except Exception:
        return False
    return telemetry is not None and telemetry.app == app and bool(getattr(telemetry, "_closed", False))


def _loop(app: str, interval: float, stop: _thread.LockType) -> None:
    try:
        while not stop.acquire(timeout=interval):
            if _host_closed(app):
                break
            from optel.upload import upload

            # Bounded by the interval, so a dead collector never piles runs up; upload() honours the
            # backoff and never raises.
            upload(app, max_seconds=max(interval, 10.0))
    except BaseException:
        pass
    finally:
        with _guard:
            if _stops.get(app) is stop:
                del _stops[app]
