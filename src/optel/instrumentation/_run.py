"""The one command span of a CLI run, for every framework, ended with the exit status of the process.

click, typer and argparse tools all end the same way, so their instrumentors share one rule:

- a run has one command span, named by the app name and the command path (``llm prompt``, never
  ``argv[0]`` as typed: ``python -m llm``, an alias or ``cli`` under a test runner would split one
  command into several series); a framework only opens it (``begin``) and renames it as it learns
  the path; a host's own ``@optel.command`` span open at that moment *is* the run's (``begin``
  joins it, adding the options, and the decorator ends it): never two command spans for one run;
- it ends with the status the process exits with: the code of the last ``sys.exit`` (console
  scripts' ``sys.exit(main())``, click's and typer's standalone ``main``, argparse's
  ``parser.exit``; ``sys.exit`` is watched from ``optel.instrument()`` on, since
  ``sys.exit(main())`` looks ``sys.exit`` up before ``main`` runs), 1 for an exception nobody caught (``sys.excepthook``), 130 for a Ctrl-C nobody
  caught, and 0 for a run that ends without any of them. A ``sys.exit`` that the host catches
  (httpie catches argparse's exit 2 and returns 1) is overridden by the one that follows. A
  framework whose ``main`` ends by ``SystemExit`` (click's standalone mode) ends the run there,
  since that is the process's exit (and a test's ``CliRunner`` sees it the same way);
- a non-zero status makes the command a failure whose ``error.type`` is the status as a string
  (the CLI semantic conventions), whatever the framework; the exception that caused it, if any,
  is recorded as the span's exception event (type, scrubbed message, the host's frames).

A bare ``raise SystemExit(n)`` at the very top of a script is not seen (Python gives no hook for
it): the run ends at interpreter exit as a success. ``sys.exit(n)`` is seen.
"""

from __future__ import annotations

import sys

# The one exit-status rule, shared with the decorators.
from optel.record.exits import exit_status, record_exit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _Run:
    """The open run: its span, the exit status requested so far, the exception behind a failure."""

    __slots__ = ("code", "exc", "excepthook", "handle", "joined")

    def __init__(self, handle: Any, joined: bool) -> None:
        self.handle = handle
        self.joined = joined
        self.code: int | None = None
        self.exc: BaseException | None = None
        self.excepthook: Any = None


_run: _Run | None = None


def app_name(fallback: str | None) -> str | None:
    """The name commands are known by: the app of ``optel.init()``, else the framework's root name."""
    runtime = sys.modules.get("optel._runtime")
    telemetry = runtime.current() if runtime is not None else None
    return telemetry.app if telemetry is not None else fallback


def is_open() -> bool:
    """Whether a run's command span is open (and not ended by a host's decorator)."""
    return _run is not None and not _run.handle.ended


def is_current() -> bool:
    """Whether the current span is the run's own command span, opened by the framework: a
    command the host decorated and that runs right inside it (a click callback) *is* that
    command, and records no span of its own (``optel.record.wrappers.CommandCall``)."""
    if _run is None or _run.joined or _run.handle.ended:
        return False
    from optel.record import spans

    return spans.current() is _run.handle


def begin(path: str, options: list[str] | None = None) -> bool:
    """Open the run's command span, or name the open one by ``path`` and add ``options``.

    Returns whether a run is open afterwards (False when nothing is recorded).
    """
    global _run
    try:
        from optel.record import spans

        current = _run
        if current is not None and current.handle.ended:
            # A host's @optel.command that the run joined has ended: the next one starts afresh.
            _disarm(current)
            _run = current = None
        if current is not None:
            _describe(current.handle, None if current.joined else path, options)
            return True
        if not spans.recording():
            return False
        host = spans.current()
        if host is not None and "command.name" in host.attributes:
            _run = _Run(host, joined=True)
            _describe(host, None, options)
            return True
        handle = spans.start(path, attributes={"command.name": path})
        if handle is None:
            return False
        _run = _Run(handle, joined=False)
        _describe(handle, None, options)
        _arm(_run)
        return True
    except Exception:
        _log_failure()
        return False


def _describe(handle: Any, path: str | None, options: list[str] | None) -> None:
    if path:
        handle.name = path
        handle.set("command.name", path)
    if options:
        known = handle.attributes.get("optel.cli.command.options")
        merged = list(known) if isinstance(known, list) else []
        merged += [name for name in options if name not in merged]
        handle.set("optel.cli.command.options", merged)


def note_exit(code: int) -> None:
    """The process asked to exit with ``code`` (the last request wins)."""
    if _run is not None:
        _run.code = code


def note_exception(exc: BaseException) -> None:
    """``exc`` left the command: the cause of the failure, if the process then exits non-zero."""
    if _run is not None and not isinstance(exc, (SystemExit, GeneratorExit)):
        _run.exc = exc


def finish(code: int | None = None, exc: BaseException | None = None) -> None:
    """End the open run with ``code`` (default: the status asked for so far, else 0)."""
    global _run
    current, _run = _run, None
    if current is None:
        return
    _disarm(current)
    if current.joined:
        return  # the host's decorator ends its own span
    if code is None:
        code = current.code if current.code is not None else 0
    handle = current.handle
    try:
        record_exit(handle, code, exc if exc is not None else current.exc)
        handle.end()
    except Exception:
        _log_failure()


def _at_exit() -> None:
    finish(None)


def _arm(run: _Run) -> None:
    """Watch how the process ends while the run is open: sys.exit, sys.excepthook, atexit."""
    import atexit

    from optel import instrumentation

    instrumentation.watch_exits()
    run.excepthook = _excepthook_wrapper(sys.excepthook)
    sys.excepthook = run.excepthook
    # Registered again at each run: atexit calls last-registered first, so the run ends before
    # optel's own shutdown (registered by init) flushes.
    atexit.unregister(_at_exit)
    atexit.register(_at_exit)


def _disarm(run: _Run) -> None:
    if run.excepthook is not None and sys.excepthook is run.excepthook:
        sys.excepthook = getattr(run.excepthook, "__wrapped__", sys.excepthook)


def _excepthook_wrapper(original: Any) -> Any:
    def excepthook(kind: Any, value: Any, tb: Any) -> None:
        if isinstance(value, BaseException):
            finish(exit_status(value), value)
        original(kind, value, tb)

    excepthook.__wrapped__ = original  # type: ignore[attr-defined]
    return excepthook


def _log_failure() -> None:
    from optel._logger import logger

    logger().debug("optel: recording a command run failed", exc_info=True)
