"""What a failed span keeps of the exception that failed it.

Its type, its message (none for an LLM call's error, docs/privacy.md) and the host's own frames,
formatted and scrubbed at flush.
"""

from __future__ import annotations

import sys

from optel.record.exits import is_exit, stated_status
from optel.record.names import (
    COMMAND_NAME,
    EXCEPTION,
    EXCEPTION_MESSAGE,
    EXCEPTION_STACKTRACE,
    EXCEPTION_TYPE,
    GEN_AI_OPERATION_NAME,
    PROCESS_EXIT_CODE,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from types import ModuleType

    from optel.record.spans import SpanHandle


def record_exception(
    handle: SpanHandle,
    exc: BaseException,
    given_type: str | None,
    at_ns: int,
    host_package: str | None,
) -> None:
    """Mark ``handle`` failed by ``exc`` (typed ``given_type``, else by its class) with its
    exception event; an exit with status 0 (a command's ``sys.exit(0)``) is no failure."""
    attributes = handle.attributes
    code = stated_status(exc)
    command = code is not None and COMMAND_NAME in attributes
    if command:
        attributes[PROCESS_EXIT_CODE] = code
    if code == 0 or isinstance(exc, GeneratorExit):
        return
    if command:
        # The rule of every CLI framework (optel.record.exits): a command's non-zero exit is
        # typed by its code, and an exit that only carries a status is no exception event.
        given_type = given_type or str(code)
        if is_exit(exc):
            handle._fail(given_type, None, id(exc), at_ns)
            return
    class_name = error_type(exc)
    message = kept_message(exc, GEN_AI_OPERATION_NAME in attributes)
    handle._fail(given_type or class_name, message, id(exc), at_ns)
    events = handle.events
    if events is None:
        events = handle.events = []
    events.append((EXCEPTION, at_ns, event_attributes(exc, class_name, message, host_package)))


def error_type(exc: BaseException) -> str:
    """An exception's class, qualified by its module outside builtins (``error.type``)."""
    cls = type(exc)
    module = getattr(cls, "__module__", None)
    name = getattr(cls, "__qualname__", None) or cls.__name__
    return name if module in (None, "builtins", "__builtin__") else f"{module}.{name}"


def kept_message(exc: BaseException, llm_call: bool) -> str | None:
    """The message a span keeps of ``exc`` (scrubbed at flush), or None.

    An LLM request's error message is the provider's, and providers quote the prompt back in it
    ("Invalid content: '...'"), which no scrubber can tell from prose: an LLM call keeps the
    exception's type and HTTP status only, and the process forgets the message wherever the host
    passes it on (optel.record.provider_errors).
    """
    if llm_call:
        _provider_errors().remember(exc)
        try:
            status = getattr(exc, "status_code", None)
        except Exception:
            status = None
        return f"HTTP {status}" if type(status) is int else None
    if _provider_errors_active() and _provider_errors().tainted(exc):
        return None  # it failed an LLM call, or was raised while handling one that did
    try:
        return str(exc) or None
    except Exception:
        return None


def event_attributes(
    exc: BaseException, class_name: str, message: str | None, host_package: str | None
) -> dict[str, object]:
    """The attributes of a span's ``exception`` event."""
    attributes: dict[str, object] = {EXCEPTION_TYPE: class_name, EXCEPTION_MESSAGE: message or ""}
    if host_package is not None:
        # Frames as (module, function, line) tuples, formatted at flush: no locals are kept alive.
        from optel.privacy.exceptions import MAX_RECORDED_FRAMES, own_frame_tuples

        attributes[EXCEPTION_STACKTRACE] = own_frame_tuples(
            exc.__traceback__, host_package, MAX_RECORDED_FRAMES
        )
    return attributes


def stacktrace(frames: Iterable[object], limit: int) -> str:
    """``module:function:line`` lines of the (module, function, line) frames a span recorded,
    the outermost dropped first when they would not fit in ``limit`` characters (at flush)."""
    lines: list[str] = []
    size = 0
    for frame in reversed(tuple(frames)):
        if type(frame) is not tuple or len(frame) != 3:
            continue
        line = f"{frame[0]}:{frame[1]}:{frame[2]}"
        size += len(line) + 1
        if size > limit + 1:
            break
        lines.append(line)
    return "\n".join(reversed(lines))


def with_stacktrace(attributes: Mapping[str, object], limit: int) -> dict[str, object]:
    """An exception event's attributes, its recorded frames formatted (none when none is left)."""
    out = dict(attributes)
    frames = out.pop(EXCEPTION_STACKTRACE)
    text = stacktrace(frames, limit)  # type: ignore[arg-type]
    if text:
        out[EXCEPTION_STACKTRACE] = text
    return out


def _provider_errors() -> ModuleType:
    # Imported on the failure path only: a process whose LLM calls succeed never loads it.
    from optel.record import provider_errors

    return provider_errors


def _provider_errors_active() -> bool:
    module = sys.modules.get("optel.record.provider_errors")
    return module is not None and bool(module.active)
