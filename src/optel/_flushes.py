"""Flushing a process's records to the spool: on demand, every `flush_interval`, after a long span, and at exit (SIGTERM held meanwhile).

A flush cleans what was recorded (``optel.record.flush``) and ``deliver`` hands it to its
destinations: debug output, the audit log, or the spool file (``optel.spool.writer``), after which
the detached uploader starts when delivery is due (``optel.spool``): the
OpenTelemetry SDK never loads in the host, however long it runs (docs/internals.md#the-import-budget-of-the-host-side). Flushes run
one at a time under ``_flush_lock``, which a fork waits for (see ``_before_fork``). Never raises.
"""

from __future__ import annotations

import _thread
import os
from time import time_ns

from optel.record import spans as _spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import FrameType, ModuleType

    from optel._runtime import Telemetry
    from optel.record.flush import Record

# Re-entrant: a host's own SIGTERM handler may call shutdown() while the main thread is inside a
# flush. Made anew in a forked child, where the fork's wait for it (or, past that wait, a flush
# thread of the parent) holds it.
_flush_lock = _thread.RLock()
# A host without flush_interval writes what it recorded to the spool in the background once a span
# ends this long after the last flush: optel catches no SIGTERM (see "SIGTERM" below), and a long run
# killed by one loses at most this much. A short run never gets there: its exit flush is its only one.
DURABLE_AFTER_S = 30.0
# How long a fork waits for a flush in progress, where optel's threads import what they need
# (`_before_fork`); a flush takes milliseconds, one of a full buffer about a second.
FORK_WAIT_S = 2.0


def _log(message: str, *args: object) -> None:
    # optel._logger (and `logging`) only when there is something to say.
    from optel._logger import debug

    debug(message, *args)


def start_flush_loop(telemetry: Telemetry, interval: float) -> None:
    """A long-running host flushes to the spool every `interval` seconds, on a thread, until
    ``telemetry._stop`` is released; each flush starts the detached uploader when delivery is due
    (optel.spool's policy, docs/guide.md)."""
    # Imported here, on the host's own thread: imported first by a thread of `_thread` (a flush
    # that logs), `threading` would take that thread for the main one, and the interpreter's exit
    # would wait for it before running atexit, where shutdown stops it: the host would never exit.
    import threading  # noqa: F401

    stop = _thread.allocate_lock()
    stop.acquire()
    telemetry._stop = stop
    from optel import _threads

    _threads.start(_flush_loop, telemetry, interval, stop)


def _flush_loop(telemetry: Telemetry, interval: float, stop: _thread.LockType) -> None:
    while not stop.acquire(timeout=interval):
        if telemetry._closed:
            return
        flush(telemetry, final=False)


def arm_durable_flush(telemetry: Telemetry) -> None:
    """Flush on a thread once a span ends ``DURABLE_AFTER_S`` from now (a host without `flush_interval`)."""
    _spans.flush_due(
        time_ns() + int(DURABLE_AFTER_S * 1e9), lambda: _start_durable_flush(telemetry)
    )


def _start_durable_flush(telemetry: Telemetry) -> None:
    # Called by the span that ended past the due time, in the host's thread: the flush runs on a
    # thread of its own, as flush_interval's do.
    if not telemetry._closed:
        from optel import _threads

        _threads.start(_durable_flush, telemetry)


def _durable_flush(telemetry: Telemetry) -> None:
    try:
        flush(telemetry, final=False)
    finally:
        if not telemetry._closed:
            arm_durable_flush(telemetry)


def flush(telemetry: Telemetry, *, final: bool) -> int:
    """Clean what was recorded and hand it to the spool; returns the records delivered."""
    try:
        with _flush_lock:
            from optel.record.flush import Summary, session_records, to_dicts, uptime_record

            if telemetry._summary is None and telemetry.recording:
                telemetry._summary = Summary()
            dropped = _spans.take_dropped()
            if dropped:
                _log("optel: %d records were dropped: too many waited for a flush", dropped)
            records: list[Record] = to_dicts(
                _spans.take(),
                host_attributes=telemetry.settings.attributes,
                summary=telemetry._summary,
            )
            if final and telemetry._summary is not None:
                records.extend(
                    session_records(telemetry._summary, telemetry._started_ns, time_ns())
                )
            if not records:
                return 0
            if telemetry._summary is not None:
                # With every flush that carries something, so that a server's uptime is known while it runs.
                records.append(uptime_record(telemetry._started_ns, time_ns()))
            from optel.record.resource import spool_header

            deliver(
                telemetry.app,
                spool_header(
                    telemetry.settings,
                    telemetry.consent,
                    spooled=telemetry.sending and not telemetry.debug,
                ),
                records,
                send=telemetry.sending,
                debug=telemetry.debug,
                log_file=telemetry.log_file,
            )
            return len(records)
    except Exception as exc:
        _log("optel: flushing telemetry failed: %r", exc)
        return 0


def deliver(
    app: str,
    header: Mapping[str, object],
    records: Sequence[Mapping[str, object]],
    *,
    send: bool,
    debug: bool,
    log_file: str | None,
) -> None:
    """Hand one flush of records to its destinations. Never raises; prints only debug output.

    - `debug`: each record (after the header) as one JSON line on stderr; nothing is spooled.
    - `log_file`: every record appended as one JSON line, whether or not sending is on.
    - `send` (and not `debug`): the spool file is written and the uploader started.
    """
    try:
        if debug or log_file:
            from optel.spool.audit import show

            show(header, records, debug=debug, log_file=log_file)
        if send and not debug:
            _spool(app, header, records)
    except BaseException as exc:
        # Also KeyboardInterrupt and SystemExit: this runs at exit, where a traceback is noise.
        from optel.spool.disk import log_failure

        log_failure("delivering telemetry", exc)


def _spool(app: str, header: Mapping[str, object], records: Sequence[Mapping[str, object]]) -> None:
    """Write the flush, then start an uploader if one is due (docs/guide.md#where-the-data-goes,
    "How late the data is").

    The tally the write leaves says whether anything is due: a run with nothing due makes no
    other system call, and does not import the launcher; nor does a due run in a backoff.
    """
    from optel.spool import due_after_write, in_backoff
    from optel.spool.writer import SpoolWriter, destination

    spool = SpoolWriter(app)
    tally = None
    if records:
        try:
            tally = spool.write_tallied(header, records)[1]
        except Exception as exc:
            from optel.spool.disk import log_failure

            log_failure("writing the spool", exc)
    if tally is not None and not due_after_write(tally):
        return
    # A collector that is down keeps every run due for hours: its backoff, one small read, is
    # checked before the launcher (and its modules) is imported, as start_uploader would.
    # Gated by this flush's own destination: another collector's backoff never delays it.
    where = destination(header.get("export"))
    if tally is not None and in_backoff(spool.path, where):
        return
    from optel.spool.launch import start_uploader

    start_uploader(app, destination=where, when_due=True)


def hand_over_last_flush(app: str) -> None:
    """A long-running host's (`flush_interval`) last flush goes to a detached uploader at once,
    whatever the delivery policy says of a CLI's runs (one uploader per long run; the next start
    of a service may be days away)."""
    try:
        from optel import spool

        spool.start_uploader(app)
    except Exception as exc:
        _log("optel: handing the last flush to the uploader failed: %r", exc)


def final_flush(telemetry: Telemetry, *, hand_over: bool) -> None:
    """The exit flush, then with `hand_over` the last flush to an uploader: a SIGTERM meanwhile
    waits for the records to reach the spool, then kills (`hold_sigterm`)."""
    # The cyclic GC is paused throughout, the imports included (an import here set off a
    # collection of the young generations, ~0.6 ms, in every run): the modules it imports and the
    # records it builds would otherwise set off collections of the host's heap, all to free memory
    # the interpreter releases a moment later anyway.
    import gc

    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        held = hold_sigterm()
        try:
            # Off first: nothing recorded after the last take() would ever be flushed.
            _spans.set_recording(False)
            flush(telemetry, final=True)
            if hand_over:
                hand_over_last_flush(telemetry.app)
        finally:
            release_sigterm(held)
    finally:
        if paused:
            gc.enable()


# -- SIGTERM ---------------------------------------------------------------------------------------
# SIGTERM keeps its default action: a host dies of it at once, with optel as without.
#
# A Python-level handler runs only between bytecodes of the main thread, so a host busy in a long C
# call (a hash of gigabytes, a C library's blocking wait) would die only when that call returns,
# minutes later perhaps. optel therefore installs no handler while the host runs: what was recorded
# and not flushed yet dies with the process (a host that wants it handles SIGTERM itself and exits
# through ``sys.exit``, so atexit flushes). A run that lasts flushes in the background every
# ``flush_interval``, or else once a span ends ``DURABLE_AFTER_S`` after the last flush, which
# bounds what it loses.
#
# The one stretch where a handler cannot hold death back for more than optel's own work is the exit
# flush: the main thread runs optel's code, and the process is about to end anyway. During it,
# ``hold_sigterm()`` notes a SIGTERM instead of dying of it, and ``release_sigterm()`` restores the
# default action and sends the signal again once the records are in the spool, so the run is not
# lost and the parent still sees a death by SIGTERM.

_caught = False


def _signal_module() -> ModuleType:
    # The C module: `signal` itself imports enum (~6 ms) to build its enums.
    return __import__("_signal")


def _note(signum: int, frame: FrameType | None) -> None:
    global _caught
    _caught = True


def hold_sigterm() -> bool:
    """Note SIGTERM instead of dying of it, until ``release_sigterm()``; False when left as it was.

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


def release_sigterm(held: bool) -> None:
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


# A thread of the parent does not exist in a forked child; a module it was importing at the fork
# stays half-imported there, and the child waits on that module's import lock for ever when it
# imports it too. optel's threads import only while they flush, under _flush_lock: a fork waits
# for that lock (up to FORK_WAIT_S), so it cannot catch them mid-import.
_held_at_fork: dict[int, _thread.RLock] = {}


def _before_fork() -> None:
    lock = _flush_lock
    try:
        if lock.acquire(timeout=FORK_WAIT_S):
            _held_at_fork[_thread.get_ident()] = lock
    except Exception:
        pass


def _after_fork_in_parent() -> None:
    lock = _held_at_fork.pop(_thread.get_ident(), None)
    if lock is not None:
        lock.release()


def _after_fork_in_child() -> None:
    # The fork's wait (or, past it, a flush thread of the parent) holds the parent's lock.
    global _flush_lock
    _held_at_fork.clear()
    _flush_lock = _thread.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )
