"""SIGTERM keeps its default action: a host dies of it at once, with optel as without.

A Python-level handler runs only between bytecodes of the main thread, so a host busy in a long C
call (a hash of gigabytes, a C library's blocking wait) would die only when that call returns,
minutes later perhaps. optel therefore installs no handler while the host runs: what was recorded
and not flushed yet dies with the process (a host that wants it handles SIGTERM itself and exits
through ``sys.exit``, so atexit flushes). A run that lasts flushes in the background every
``flush_interval``, or else once a span ends ``optel._flushes.DURABLE_AFTER_S`` after the last
flush, which bounds what it loses.

The one stretch where a handler cannot hold death back for more than optel's own work is the exit
flush: the main thread runs optel's code, and the process is about to end anyway. During it,
``hold()`` notes a SIGTERM instead of dying of it, and ``release()`` restores the default action
and sends the signal again once the records are in the spool, so the run is not lost and the
parent still sees a death by SIGTERM.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType, ModuleType

_caught = False


def _signal_module() -> ModuleType:
    # The C module: `signal` itself imports enum (~6 ms) to build its enums.
    return __import__("_signal")


def _note(signum: int, frame: FrameType | None) -> None:
    global _caught
    _caught = True


def hold() -> bool:
    """Note SIGTERM instead of dying of it, until ``release()``; False when left as it was.

    Only the default action is replaced: a host's own handler, or SIGTERM ignored, stays as it is.
    Outside the main thread Python cannot set a handler, and nothing changes.
    """
    global _caught
    try:
        _signal = _signal_module()
        sigterm = getattr(_signal, "SIGTERM", None)
        if sigterm is None or _signal.getsignal(sigterm) != _signal.SIG_DFL:
            return False
        _caught = False
        _signal.signal(sigterm, _note)
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def release(held: bool) -> None:
    """Restore SIGTERM's default action and die of a SIGTERM that came while it was held."""
    if not held:
        return
    _signal = _signal_module()
    try:
        if _signal.getsignal(_signal.SIGTERM) is _note:
            # signal() first runs the handlers of signals already caught: none slips in between.
            _signal.signal(_signal.SIGTERM, _signal.SIG_DFL)
        if _caught:
            os.kill(os.getpid(), _signal.SIGTERM)
    except (ValueError, OSError, RuntimeError):
        if _caught:
            os._exit(128 + _signal.SIGTERM)
