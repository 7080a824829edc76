"""Starting optel's threads in the host: each one running before the caller goes on.

A thread still starting when the interpreter finalizes aborts CPython 3.9 ("Fatal Python error:
_PyGILState_NoteThreadState: Couldn't create autoTSSkey mapping", exit status -6). A run that
starts an uploader at its exit starts a reaper thread a moment before the interpreter ends, and a
short run's init may start the leftovers' drain just as briefly before. ``threading.Thread.start``
waits for its thread to run for the same reason; importing ``threading`` costs a host
milliseconds, so this waits the same way with ``_thread`` (tens of µs, on these rare paths only).
"""

from __future__ import annotations

import _thread

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

# A thread that is not running after this long is left to start on its own.
START_WAIT_S = 1.0


def start(function: Callable[..., object], *args: object) -> None:
    """Run ``function(*args)`` on a new daemon thread, and return once that thread runs.
    Raises RuntimeError when no thread can be started (as ``_thread.start_new_thread``)."""
    running = _thread.allocate_lock()
    running.acquire()

    def run() -> None:
        running.release()
        function(*args)

    _thread.start_new_thread(run, ())
    running.acquire(timeout=START_WAIT_S)
