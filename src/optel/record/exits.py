"""The one exit-status rule of a CLI run, for the decorators and every CLI framework.

The exit status a run ends with, and what a command span records of it (click, typer,
argparse, ``@optel.command``):

- ``status(value)``: what ``sys.exit(value)`` gives the process, as CPython decides it (None: 0,
  an int, a bool included: itself, anything else: 1);
- ``stated_status(exc)``: the status an exception that ends a command states (``SystemExit``'s
  code, the ``exit_code`` of click's and typer's exceptions, which their standalone ``main`` exits
  with); None for any other exception;
- ``exit_status(exc)``: the status ``exc`` ends the process with: the stated one, else 130 for a
  Ctrl-C nobody caught, else 1;
- ``record_exit(handle, code, cause)``: ``process.exit.code`` on a command span and, for a non-zero
  code, the failure typed by the code (the CLI semantic conventions), with the exception that caused
  it as the span's exception event (docs/guide.md#the-exit-status-one-rule-for-every-framework).
"""

from __future__ import annotations

from optel.record.names import PROCESS_EXIT_CODE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel.record.spans import SpanHandle

# The status shells show for a process that a Ctrl-C (SIGINT) nobody caught ended.
CTRL_C_STATUS = 130
_FRAMEWORKS = ("click", "typer")


def status(value: object) -> int:
    """The exit status ``sys.exit(value)`` gives the process."""
    if value is None:
        return 0
    if isinstance(value, int):
        return int(value)  # sys.exit(False) exits 0, sys.exit(True) 1
    return 1


def _from_framework(exc: BaseException) -> bool:
    try:
        return any(
            (getattr(cls, "__module__", None) or "").partition(".")[0] in _FRAMEWORKS
            for cls in type(exc).__mro__
        )
    except Exception:
        return False


def stated_status(exc: BaseException) -> int | None:
    """The status ``exc`` says the process exits with (SystemExit, click's and typer's
    exceptions); None for an exception that states none."""
    if isinstance(exc, SystemExit):
        return status(exc.code)
    code = getattr(exc, "exit_code", None)
    if type(code) is int and _from_framework(exc):
        return code
    return None


def exit_status(exc: BaseException) -> int:
    """The exit status the process gets when ``exc`` ends it."""
    stated = stated_status(exc)
    if stated is not None:
        return stated
    return CTRL_C_STATUS if isinstance(exc, KeyboardInterrupt) else 1


def is_exit(exc: BaseException) -> bool:
    """An exception that only carries a status (SystemExit, click's Exit), not an error."""
    return isinstance(exc, SystemExit) or (
        type(exc).__name__ == "Exit" and stated_status(exc) is not None
    )


def command_exit(handle: SpanHandle, exc: BaseException | None) -> None:
    """``process.exit.code`` of a command span that ends without one stated (the CLI conventions
    require it on every command span): the status ``exc`` ends the process with when it failed
    the command (``exit_status``), 1 for a command failed otherwise, 0 for a success."""
    failed = handle.status == "error"
    if exc is not None and (failed or isinstance(exc, KeyboardInterrupt)):
        code = exit_status(exc)
    else:
        code = 1 if failed else 0
    handle.attributes[PROCESS_EXIT_CODE] = code


def record_exit(handle: SpanHandle, code: int, cause: BaseException | None = None) -> None:
    """``code`` on a command span: a non-zero one fails it, typed by the code; ``cause``, the
    exception behind it (if it is an error, not an exit), becomes its exception event."""
    handle.set(PROCESS_EXIT_CODE, code)
    if not code:
        return
    if cause is not None and not is_exit(cause):
        handle.record_exception(cause, str(code))
    else:
        handle.fail(str(code))
