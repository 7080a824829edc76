"""The hot path: spans and measurements kept as slotted values, parented through one ContextVar.

Everything here is cheap and never raises into the host: a span costs two clock reads, a
ContextVar set/reset and one small object. Nothing is scrubbed, checked or converted here;
``optel.record.flush`` does that once, when the records leave the process.

Parenting: the current span lives in a ContextVar, so nesting follows calls, asyncio tasks (which
copy the context) and ``contextvars.copy_context().run``. A plain thread starts with an empty
context; a span started there becomes a child of the process's open command span when exactly
one command is open (the common CLI shape: a command fanning work out to a thread pool), and a
new trace otherwise.
"""

from __future__ import annotations

import os
from _contextvars import ContextVar  # the C module; `contextvars` only re-exports it
from time import time_ns

from optel.record.names import COMMAND_NAME, ERROR_TYPE, OPTEL_ERRORS, PROCESS_EXIT_CODE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from contextvars import Token

# Whether records are kept at all: flipped by optel.init() once consent is decided, and by
# optel.testing.capture(). Read by every decorator before doing anything else.
_on = False
# Ended spans and measurements waiting for the next flush. Appends are atomic under the GIL, and
# take() removes only what it read, so threads never lose a record to a flush.
_buffer: list[SpanHandle | Measurement] = []
# A process that records but never flushes (no flush_interval in a server) must not grow forever.
MAX_PENDING = 100_000
dropped = 0

# When the first span to end after it is due for a flush (0: not armed), and what starts it: armed
# by optel.init without flush_interval, as optel catches no SIGTERM (the spool is what survives).
flush_due_ns = 0
_flush_when_due: Callable[[], None] | None = None

# The host's top-level package, or `__main__` for a script (set by optel.init()): exception events
# keep frames from it only.
host_package: str | None = None
_current: ContextVar[SpanHandle | None] = ContextVar("optel_current_span", default=None)
# Span and trace ids, popped inline for every span; optel.record's `new_id` and `new_trace_id` refill them.
_ids: list[str] = []
_trace_ids: list[str] = []
_open_commands: list[SpanHandle] = []

MAX_EVENTS = 128
# Forks between this process and the one that imported optel. A span started before a fork is the
# parent's, which records it: the child never records it again (its end, exception, events), though
# the child's own spans keep it as their parent, in its trace (docs/guide.md#forked-processes).
_forks = 0


def _after_fork_in_child() -> None:
    # A forked child must neither reuse its parent's ids nor flush its parent's records again.
    global dropped, _forks
    _forks += 1
    del _ids[:], _trace_ids[:]
    del _buffer[:]
    dropped = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def recording() -> bool:
    """Whether records are being kept (consent given, debug or audit log on, or a capture)."""
    return _on


def set_recording(on: bool) -> None:
    """Turn recording on or off for the whole process (optel.init, shutdown, testing)."""
    global _on
    _on = bool(on)


def current() -> SpanHandle | None:
    """The span the caller runs in, if any."""
    return _current.get()


class Measurement:
    """One metric measurement: instrument name, value, attributes and the time it was taken."""

    __slots__ = ("attributes", "name", "time_ns", "value")

    def __init__(
        self, name: str, value: float, attributes: dict[str, object] | None, at_ns: int
    ) -> None:
        self.name = name
        self.value = value
        self.attributes = attributes
        self.time_ns = at_ns

    def __repr__(self) -> str:
        return f"Measurement({self.name!r}, {self.value!r}, {self.attributes!r})"


class SpanHandle:
    """A span being recorded; ended spans are the records a flush turns into spool lines.

    ``set``, ``add_event`` and ``end`` never raise; ``end`` is idempotent.
    """

    __slots__ = (
        "_child_error",
        "_command",
        "_fork",
        "_token",
        "_usage",
        "attributes",
        "end_ns",
        "events",
        "kind",
        "name",
        "parent",
        "span_id",
        "start_ns",
        "status",
        "status_message",
        "trace_id",
    )

    _child_error: int  # the id of an exception a child counted; unset until one did

    def __init__(
        self,
        name: str,
        kind: str,
        attributes: Mapping[str, object] | None,
        parent: SpanHandle | None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.attributes: dict[str, object] = (
            {}
            if attributes is None
            else attributes.copy()
            if type(attributes) is dict
            else dict(attributes)
        )
        self.parent = parent
        if parent is not None:
            self.trace_id: str = parent.trace_id
        else:
            try:
                self.trace_id = _trace_ids.pop()
            except IndexError:
                from optel.record import new_trace_id

                self.trace_id = new_trace_id(_trace_ids)
        try:
            self.span_id: str = _ids.pop()
        except IndexError:
            from optel.record import new_id

            self.span_id = new_id(_ids)
        self.events: list[tuple[str, int, dict[str, object] | None]] | None = None
        self.status = "unset"
        self.status_message: str | None = None
        self.end_ns = 0
        self._token: Token[SpanHandle | None] | None = None
        self._command = False
        # An LLM call's usage object (or a copy of its dict), read into attributes when the
        # span is cleaned for a flush (optel.record.genai.read_usage).
        self._usage: object = None
        self._fork = _forks
        # _child_error is set only when a child fails (read with a default).
        self.start_ns = time_ns()

    def __repr__(self) -> str:
        return f"SpanHandle({self.name!r}, span_id={self.span_id!r})"

    @property
    def parent_span_id(self) -> str | None:
        return self.parent.span_id if self.parent is not None else None

    @property
    def ended(self) -> bool:
        return self.end_ns != 0

    def set(self, key: str, value: object) -> None:
        """Set one attribute (checked against the data dictionary at flush)."""
        try:
            self.attributes[key] = value
        except Exception:
            pass

    def add_event(self, name: str, attributes: Mapping[str, object] | None = None) -> None:
        """Record a point event on this span."""
        try:
            events = self.events
            if events is None:
                events = self.events = []
            elif len(events) >= MAX_EVENTS:
                return
            events.append((name, time_ns(), None if attributes is None else dict(attributes)))
        except Exception:
            pass

    def fail(self, error_type: str, message: str | None = None, *, error_id: int = 0) -> None:
        """Mark the span failed without an exception object (an error code from a response)."""
        try:
            self._fail(error_type, message, error_id, self.end_ns or time_ns())
        except Exception:
            pass

    def _fail(self, error_type: str, message: str | None, error_id: int, at_ns: int) -> None:
        if self._fork != _forks:
            return  # the parent process's span: its error is the parent's to count
        self.status = "error"
        self.attributes[ERROR_TYPE] = error_type
        if message is not None:
            self.status_message = message
        # Count each error once however many spans it unwinds: a parent ending with the
        # exception a direct child already counted does not count it again.
        if error_id == 0 or getattr(self, "_child_error", 0) != error_id:
            _append(Measurement(OPTEL_ERRORS, 1, {ERROR_TYPE: error_type}, at_ns))
        if error_id and self.parent is not None:
            self.parent._child_error = error_id

    def end(self, exc: BaseException | None = None) -> None:
        """End the span; with ``exc``, record it as failed (SystemExit(0) is a success)."""
        if self.end_ns:
            return
        try:
            self.end_ns = time_ns()
            inherited = self._fork != _forks
            if exc is not None and not inherited:
                self._record_exception(exc, None, self.end_ns)
            attributes = self.attributes
            if COMMAND_NAME in attributes and PROCESS_EXIT_CODE not in attributes:
                if exc is None and self.status != "error":
                    attributes[PROCESS_EXIT_CODE] = 0
                else:
                    from optel.record.exits import command_exit

                    command_exit(self, exc)
            token = self._token
            if token is not None:
                self._token = None
                try:
                    _current.reset(token)
                except (ValueError, RuntimeError):
                    # Ended in another context than it started in: that context's current span
                    # is not ours to change.
                    pass
            if self._command:
                try:
                    _open_commands.remove(self)
                except ValueError:
                    pass
            if inherited:
                return
            # _append(self), inlined: this runs for every span.
            if len(_buffer) < MAX_PENDING:
                _buffer.append(self)
            else:
                _append(self)
            if flush_due_ns and self.end_ns > flush_due_ns:
                _flush_now()
        except Exception:
            pass

    def record_exception(self, exc: BaseException, error_type: str | None = None) -> None:
        """Mark the span failed by ``exc`` (``error_type`` overrides its class name)."""
        try:
            self._record_exception(exc, error_type, self.end_ns or time_ns())
        except Exception:
            pass

    def _record_exception(self, exc: BaseException, error_type: str | None, at_ns: int) -> None:
        # The failure path only: a run whose commands succeed never loads these.
        from optel.record.failure import record_exception

        record_exception(self, exc, error_type, at_ns, host_package)


def flush_due(at_ns: int, start_flush: Callable[[], None] | None) -> None:
    """Call ``start_flush()`` once, when the first span ends after ``at_ns`` (None: never)."""
    global flush_due_ns, _flush_when_due
    _flush_when_due = start_flush
    flush_due_ns = at_ns if start_flush is not None else 0


def _flush_now() -> None:
    global flush_due_ns
    flush_due_ns = 0
    start_flush = _flush_when_due
    if start_flush is not None:
        start_flush()


def _append(record: SpanHandle | Measurement) -> None:
    global dropped
    if len(_buffer) < MAX_PENDING:
        _buffer.append(record)
    else:
        dropped += 1


def _parent_for(attributes: Mapping[str, object] | None) -> SpanHandle | None:
    parent = _current.get()
    if (
        parent is None
        and len(_open_commands) == 1
        and (attributes is None or COMMAND_NAME not in attributes)
    ):
        parent = _open_commands[0]
    return parent


def begin(
    name: str, kind: str = "internal", attributes: Mapping[str, object] | None = None
) -> SpanHandle | None:
    """Start a span without making it current (generators switch it in and out per step)."""
    if not _on:
        return None
    try:
        parent = _parent_for(attributes)
        handle = SpanHandle(name, kind, attributes, parent)
        if parent is None and attributes is not None and COMMAND_NAME in attributes:
            handle._command = True
            _open_commands.append(handle)
        return handle
    except Exception:
        return None


def start(
    name: str, kind: str = "internal", attributes: Mapping[str, object] | None = None
) -> SpanHandle | None:
    """Start a span and make it current until ``handle.end()``; None when not recording."""
    if not _on:
        return None
    try:
        parent = _current.get()
        if parent is None or (attributes is not None and COMMAND_NAME in attributes):
            # begin(), inlined without its second ContextVar read: a root span or a command.
            command = attributes is not None and COMMAND_NAME in attributes
            if parent is None and not command and len(_open_commands) == 1:
                parent = _open_commands[0]
            handle = SpanHandle(name, kind, attributes, parent)
            if parent is None and command:
                handle._command = True
                _open_commands.append(handle)
        else:
            handle = SpanHandle(name, kind, attributes, parent)
        handle._token = _current.set(handle)
        return handle
    except Exception:
        return None


def measure(name: str, value: float, attributes: Mapping[str, object] | None = None) -> None:
    """Record one measurement of the metric ``name`` (declared in the data dictionary)."""
    if not _on:
        return
    try:
        _append(
            Measurement(name, value, None if attributes is None else dict(attributes), time_ns())
        )
    except Exception:
        pass


def event(name: str, attributes: Mapping[str, object] | None = None) -> None:
    """A point event: on the current span, or a zero-length span when there is none."""
    if not _on:
        return
    try:
        span = _current.get()
        if span is not None and not span.end_ns and span._fork == _forks:
            span.add_event(name, attributes)
            return
        handle = SpanHandle(name, "internal", attributes, _parent_for(None))
        handle.end_ns = handle.start_ns
        _append(handle)
    except Exception:
        pass


def take() -> list[SpanHandle | Measurement]:
    """Remove and return the records waiting for a flush."""
    n = len(_buffer)
    records = _buffer[:n]
    del _buffer[:n]
    return records


def take_dropped() -> int:
    """How many records were dropped because too many were waiting, since the last call."""
    global dropped
    n, dropped = dropped, 0
    return n
