"""One process's telemetry: ``init()`` decides consent and starts recording, ``shutdown()`` flushes.

The path, as in STYLE.md: decide (``optel.consent.resolve``) -> record (``optel.record``) ->
clean (``optel.record.flush``: allow-list, scrub, derived metrics) -> ``optel.spool.deliver``
(spool file and detached uploader, debug output, audit log). Recording is on only when consent
says send, or the user asked to see the records (debug) or to keep them (audit log); nothing
is recorded before that decision. Apart from the checks of ``init()``'s arguments, nothing here
raises into the host.
"""

from __future__ import annotations

import _thread
import atexit
import os
import sys
from time import time, time_ns

from optel import _atfork, _env, _sigterm
from optel._settings import Settings, caller_module
from optel.record import spans as _spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from types import ModuleType

    from optel.consent import Consent
    from optel.record.flush import Record, Summary

# Set by optel.testing's pytest plugin (and inherited by subprocesses): telemetry off, as if the
# user had passed --no-telemetry, so a host's test suite never prompts, records or writes.
TESTING_ENV = "OPTEL_TESTING"

# Re-entrant: a host's own SIGTERM handler may call shutdown() while the main thread is inside a
# flush. Made anew in a forked child, where a thread of the parent may have held them at the fork.
_state_lock = _thread.RLock()
_flush_lock = _thread.RLock()
_telemetry: Telemetry | None = None
# A host without flush_interval writes what it recorded to the spool in the background once a span
# ends this long after the last flush: optel catches no SIGTERM (optel._sigterm), and a long run
# killed by one loses at most this much. A short run never gets there: its exit flush is its only one.
DURABLE_AFTER_S = 30.0


def _log(message: str, *args: object) -> None:
    from optel._logger import logger

    logger().debug(message, *args)


class Telemetry:
    """What ``optel.init()`` returns: the app, its consent decision, and the settings in force."""

    __slots__ = (
        "_closed",
        "_started_ns",
        "_stop",
        "_summary",
        "app",
        "consent",
        "debug",
        "log_file",
        "recording",
        "settings",
    )

    app: str
    consent: Consent
    settings: Settings
    debug: bool
    log_file: str | None
    recording: bool

    def __init__(
        self, settings: Settings, consent: Consent, *, debug: bool, log_file: str | None
    ) -> None:
        self.app = settings.app
        self.settings = settings
        self.consent = consent
        self.debug = debug
        self.log_file = log_file
        # Fail closed: records are kept only for a destination the user agreed to or asked for.
        self.recording = bool(consent.sending or debug or log_file)
        self._started_ns = time_ns()
        self._summary: Summary | None = None
        self._closed = False
        self._stop: _thread.LockType | None = None

    @property
    def sending(self) -> bool:
        """Whether records leave the machine (consent given, sampled, and not in debug mode)."""
        return bool(self.consent.sending and not self.debug)

    def shutdown(self) -> None:
        """Flush and stop recording; the same as ``optel.shutdown()``."""
        if self is _telemetry:
            shutdown()

    def __repr__(self) -> str:
        return (
            f"Telemetry(app={self.app!r}, mode={self.consent.mode!r}, "
            f"source={self.consent.source!r}, recording={self.recording})"
        )


def init(
    app: str,
    *,
    version: str | None = None,
    endpoint: str | None = None,
    policy: str = "opt-in",
    ask_percent: float = 100.0,
    sample_percent: float = 100.0,
    modes: Iterable[str] = ("off", "anonymous", "identified"),
    session_flag: bool | None = None,
    headers: Mapping[str, str] | None = None,
    log_file: str | os.PathLike[str] | None = None,
    flush_interval: float | None = None,
    consent_version: int = 1,
    scrub: Iterable[object] | None = None,
    attributes: Iterable[str] | None = None,
    project_dir: str | os.PathLike[str] | None = None,
    notice: object = "terminal",
    off_switches: Iterable[object] | None = None,
    answers: Mapping[str, str] | None = None,
    confirm_flag: bool = False,
) -> Telemetry:
    """Decide consent for this process (SPEC §3) and start recording if it allows.

    Raises TypeError or ValueError for a wrong argument, and nothing else ever. A second call
    returns the first call's Telemetry. ``attributes`` names the host's own attributes that may be
    recorded (``optel.event("x", plan="pro")``); ``scrub`` adds the host's scrubbing rules;
    ``project_dir`` (default: the working directory) is where the project file and the git
    remote of the project id are looked for. ``notice``, ``off_switches``, ``answers`` and
    ``confirm_flag`` port a tool's own consent habits (docs/porting.md).
    """
    caller = sys._getframe(1).f_globals
    host_package = caller_module(caller)
    settings = Settings.check(
        app,
        version=version,
        version_module=None if version is not None else host_package,
        endpoint=endpoint,
        policy=policy,
        ask_percent=ask_percent,
        sample_percent=sample_percent,
        modes=modes,
        session_flag=session_flag,
        headers=headers,
        log_file=log_file,
        flush_interval=flush_interval,
        consent_version=consent_version,
        scrub=scrub,
        attributes=attributes,
        project_dir=project_dir,
        notice=notice,
        off_switches=off_switches,
        answers=answers,
        confirm_flag=confirm_flag,
    )
    global _telemetry
    with _state_lock:
        if _telemetry is None and (settings.scrub is not None or settings.attributes):
            # A malformed scrub rule is a setup error: raise it now, not at exit.
            from optel import privacy

            privacy.configure(settings.scrub, attributes=settings.attributes)  # type: ignore[arg-type]
        if _telemetry is not None:
            _log("optel.init(%r) called again; the first call's settings stay", settings.app)
            return _telemetry
        # A script run as `python tool.py` has no package, but it is the host's own code all the
        # same; its frames are named `__main__`, never by path.
        _spans.host_package = host_package or (
            "__main__" if caller.get("__name__") == "__main__" else None
        )
        _telemetry = _start(settings)
        return _telemetry


def _resolve(settings: Settings) -> Consent:
    from optel import consent as _consent

    session_flag = settings.session_flag
    if _env.parse_bool(os.environ.get(TESTING_ENV)):
        session_flag = False
    return _consent.resolve(
        settings.app,
        policy=settings.policy,
        ask_percent=settings.ask_percent,
        sample_percent=settings.sample_percent,
        modes=settings.modes,
        session_flag=session_flag,
        consent_version=settings.consent_version,
        project_dir=settings.project_dir,
        declared=settings.declarations(),  # type: ignore[arg-type]
    )


def _start(settings: Settings) -> Telemetry:
    try:
        consent = _resolve(settings)
    except Exception as exc:
        from optel.consent import Consent

        _log("optel: deciding consent failed (%r); telemetry is off", exc)
        consent = Consent("off", f"optel could not decide ({type(exc).__name__})", "error")
    app = settings.app
    try:
        debug = _env.debug_enabled(app)
        log_file = settings.log_file or _env.app_env(app, "TELEMETRY_LOG") or None
    except Exception:
        debug, log_file = False, None
    telemetry = Telemetry(settings, consent, debug=debug, log_file=log_file)
    if consent.mode == "off" and _has_leftovers(app):
        if consent.source == "user_file":
            _forget_withdrawn(app, settings.project_dir)
        elif consent.source == "off_switch":
            # The tool's own switch is its users' stored off (docs/porting.md): same as the user file.
            _forget_switched_off(app)
        else:
            _expire_leftovers(app)
    if not telemetry.recording:
        return telemetry
    try:
        # The session Summary is made at the first flush: optel.record.flush (and the data
        # dictionary it loads) is imported only when records leave the process.
        _spans.set_recording(True)
        instrumentation = sys.modules.get("optel.instrumentation")
        if instrumentation is not None:
            # The LLM SDKs' patches wait for recording to start (optel.instrumentation).
            instrumentation.recording_started()
        atexit.register(shutdown)
        if telemetry.sending and _has_leftovers(app):
            # Imported here, not in the thread: a host that forks while another thread holds the
            # import lock leaves its child waiting on that lock for ever.
            from optel import spool

            if spool.delivery_due(spool.Spool(app)):
                _thread.start_new_thread(_drain_leftovers, (spool, app))
        if settings.flush_interval is not None:
            _start_flush_loop(telemetry, settings.flush_interval)
        else:
            _arm_durable_flush()
    except Exception as exc:
        _log("optel: starting to record failed: %r", exc)
    return telemetry


def _has_leftovers(app: str) -> bool:
    """Whether earlier runs left spool files (the uploader usually took them all).

    A cheap look before spool.drain_leftovers() looks again: with nothing to drain, init()
    neither imports optel.spool nor starts a thread.
    """
    try:
        from optel import _paths

        names = os.listdir(_paths.spool_dir(app))
    except OSError:
        return False
    return any(name.endswith(".jsonl") or ".jsonl.claimed." in name for name in names)


def _forget_switched_off(app: str) -> None:
    try:
        from optel import spool

        spool.delete_all(app)
    except Exception as exc:
        _log("optel: deleting the spool after an off switch failed: %r", exc)


def _forget_withdrawn(app: str, project_dir: str | None) -> None:
    """Delete what earlier runs spooled when the user has since stored "off" (SPEC §6).

    The uploader would, but none starts when consent is off. Only the stored choice counts here:
    a run under ``DO_NOT_TRACK``, ``<APP>_TELEMETRY=off``, ``--no-telemetry`` or a project's file
    says nothing about the runs recorded before it (the uploader still deletes the spool when
    such a variable is set where it runs). Done here, not on a thread: it happens once (the
    spool is gone afterwards), and a short run would end before a thread got to it.
    """
    try:
        from optel import spool
        from optel.consent import withdrawn

        if withdrawn(app, project_dir=project_dir) is not None:
            spool.delete_all(app)
    except Exception as exc:
        _log("optel: deleting the spool after an opt-out failed: %r", exc)


def _expire_leftovers(app: str) -> None:
    """Drop what earlier runs spooled once it is past the age bound, though this run sends nothing.

    Otherwise a user who keeps ``DO_NOT_TRACK`` set would keep that data on disk for ever: no
    uploader runs, and no write applies the bounds. Cheap: the spool's tally says when a look at
    the files is needed.
    """
    try:
        from optel import spool

        spool.Spool(app).drop_expired()
    except Exception as exc:
        _log("optel: expiring the spool failed: %r", exc)


def _drain_leftovers(spool: ModuleType, app: str) -> None:
    try:
        spool.drain_leftovers(app)
    except BaseException:
        pass


def _start_flush_loop(telemetry: Telemetry, interval: float) -> None:
    """A long-running host flushes to the spool every `interval` seconds, on a thread; each flush
    starts the detached uploader when delivery is due (optel.spool's policy), so the OpenTelemetry
    SDK never loads in the host, long-running or not (docs/internals.md §1)."""
    # Imported here, on the host's own thread: imported first by a thread of `_thread` (a flush
    # that logs), `threading` would take that thread for the main one, and the interpreter's exit
    # would wait for it before running atexit, where shutdown stops it: the host would never exit.
    import threading  # noqa: F401

    stop = _thread.allocate_lock()
    stop.acquire()
    telemetry._stop = stop
    _thread.start_new_thread(_flush_loop, (telemetry, interval, stop))


def _flush_loop(telemetry: Telemetry, interval: float, stop: _thread.LockType) -> None:
    while not stop.acquire(timeout=interval):
        if telemetry._closed:
            return
        flush(telemetry, final=False)


def _arm_durable_flush() -> None:
    _spans.flush_due(time_ns() + int(DURABLE_AFTER_S * 1e9), _start_durable_flush)


def _start_durable_flush() -> None:
    # Called by the span that ended past the due time, in the host's thread: the flush runs on a
    # thread of its own, as flush_interval's do.
    telemetry = _telemetry
    if telemetry is not None and not telemetry._closed:
        _thread.start_new_thread(_durable_flush, (telemetry,))


def _durable_flush(telemetry: Telemetry) -> None:
    try:
        flush(telemetry, final=False)
    finally:
        if not telemetry._closed:
            _arm_durable_flush()


def header(telemetry: Telemetry) -> dict[str, object]:
    """The spool file header (docs/internals.md §5), resource scrubbed."""
    from optel import privacy
    from optel.record import resource

    settings = telemetry.settings
    consent = telemetry.consent
    project_dir = settings.project_dir
    if project_dir is None:
        try:
            project_dir = os.getcwd()
        except OSError:
            project_dir = None
    facts = resource.collect(
        settings.app, settings.version, consent, project_dir=project_dir, now_s=time()
    )
    facts.pop("user.id", None)
    # Facts optel makes itself (random ids, the salted hash, values read from the OS's own files,
    # fixed vocabularies) carry nothing of the user's; the scrubber would only mistake the hashes
    # for secrets. The host's strings (name, versions) are scrubbed like any other.
    scrubbed = privacy.scrub_attributes(
        {k: v for k, v in facts.items() if k not in resource.GENERATED}
    )
    facts = {k: v if k in resource.GENERATED else scrubbed[k] for k, v in facts.items()}
    # apply_mode comes after scrubbing: the id a user typed for identified mode is theirs to send.
    # A debug or audit log with consent off shows what anonymous mode would send.
    mode = consent.mode if consent.mode != "off" else "anonymous"
    facts = privacy.apply_mode(facts, mode, consent.user_id)
    return {
        "schema": "optel.spool/1",
        "app": settings.app,
        "created_ns": time_ns(),
        "resource": facts,
        "consent": {
            "mode": consent.mode,
            "source": consent.source,
            "install_id": consent.install_id,
        },
        "export": _export_section(settings),
        "settings": settings.header_settings(),
    }


def _export_section(settings: Settings) -> dict[str, object]:
    """Where this run's data goes: the app's endpoint and headers, and the endpoints (only) that
    this run's OTEL_EXPORTER_OTLP_* variables name, signal by signal, so that an `optel upload`
    from another shell sends them where this run meant (optel/_endpoints.py)."""
    from optel import _endpoints

    export = settings.export()
    mine = _endpoints.recorded(os.environ)
    if mine:
        export[_endpoints.RECORDED_KEY] = mine
    return export


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
            from optel import spool

            spool.deliver(
                telemetry.app,
                header(telemetry),
                records,
                send=telemetry.sending,
                debug=telemetry.debug,
                log_file=telemetry.log_file,
            )
            return len(records)
    except Exception as exc:
        _log("optel: flushing telemetry failed: %r", exc)
        return 0


def shutdown() -> None:
    """Flush what was recorded and stop recording. Idempotent; also runs at exit."""
    telemetry = _telemetry
    if telemetry is None:
        return
    with _state_lock:
        if telemetry._closed:
            return
        telemetry._closed = True
    stop = telemetry._stop
    if stop is not None:
        try:
            stop.release()
        except RuntimeError:
            pass
    if not telemetry.recording:
        return
    # A SIGTERM now waits for the records to reach the spool, then kills (optel._sigterm).
    held = _sigterm.hold()
    try:
        # Off first: nothing recorded after the last take() would ever be flushed.
        _spans.set_recording(False)
        _flush_without_gc(telemetry)
        if stop is not None and telemetry.sending:
            _hand_over_last_flush(telemetry.app)
    finally:
        _sigterm.release(held)


def _hand_over_last_flush(app: str) -> None:
    """A long-running host's (`flush_interval`) last flush goes to a detached uploader at once,
    whatever the delivery policy says of a CLI's runs (one uploader per long run; the next start
    of a service may be days away)."""
    try:
        from optel import spool

        spool.start_uploader(app)
    except Exception as exc:
        _log("optel: handing the last flush to the uploader failed: %r", exc)


def _flush_without_gc(telemetry: Telemetry) -> None:
    """The exit flush with the cyclic GC paused: the modules it imports and the records it builds
    would otherwise set off collections of the host's whole heap (~0.5-1 ms a run), all to free
    memory the interpreter releases a moment later anyway."""
    import gc

    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        flush(telemetry, final=True)
    finally:
        if paused:
            gc.enable()


# How long a fork waits for a flush in progress, where optel's threads import what they need
# (optel._atfork); a flush takes milliseconds, one of a full buffer about a second.
FORK_WAIT_S = 2.0


class _Token:
    # What multiprocessing's after-fork registry holds (weakly) for optel.
    __slots__ = ("__weakref__",)


_WORKER_TOKEN = _Token()
_worker_flush_registered = False


def _after_fork_in_child() -> None:
    """A forked child: fresh locks, a session of its own from now on, its own flush loop, and a
    flush at a multiprocessing worker's end.

    optel.record.spans emptied the buffer and marked the parent's open spans as the parent's; the
    parent's threads (its flush loop) do not exist here. What a child records is
    described in docs/guide.md, "Forked processes".
    """
    global _state_lock, _flush_lock
    # The state lock may have been held by a thread of the parent; the flush lock is held by
    # the fork's wait for it (or, past that wait, by a flush thread of the parent).
    _state_lock = _thread.RLock()
    _flush_lock = _thread.RLock()
    telemetry = _telemetry
    if telemetry is None or telemetry._closed or not telemetry.recording:
        return
    try:
        # Its optel.cli.session counts what the child did, from the fork on; the parent's counts the rest.
        telemetry._summary = None
        telemetry._started_ns = time_ns()
        _flush_when_worker_ends()
        interval = telemetry.settings.flush_interval
        if interval is not None:
            _start_flush_loop(telemetry, interval)
    except Exception:
        pass


def _flush_when_worker_ends() -> None:
    # A multiprocessing worker ends with os._exit, past atexit, but runs multiprocessing's own
    # finalizers first. Its registry of finalizers is emptied once the worker starts; the
    # after-fork hooks run after that, so one of them registers the flush.
    global _worker_flush_registered
    util = sys.modules.get("multiprocessing.util")
    if util is not None and not _worker_flush_registered:
        util.register_after_fork(_WORKER_TOKEN, _register_worker_flush)
        _worker_flush_registered = True


def _register_worker_flush(token: object) -> None:
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        util.Finalize(None, shutdown, exitpriority=0)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
    _atfork.wait_at_fork(lambda: _flush_lock, lambda: FORK_WAIT_S)


def current() -> Telemetry | None:
    """The Telemetry of this process's ``init()``, if it was called."""
    return _telemetry


def reset() -> None:
    """Forget this process's init() without flushing (for optel's and hosts' tests)."""
    global _telemetry
    with _state_lock:
        telemetry = _telemetry
        _telemetry = None
    if telemetry is not None:
        telemetry._closed = True
        if telemetry._stop is not None:
            try:
                telemetry._stop.release()
            except RuntimeError:
                pass
    atexit.unregister(shutdown)
    _spans.set_recording(False)
    _spans.flush_due(0, None)
    _spans.host_package = None
    _spans.take()
    _spans.take_dropped()
    del _spans._open_commands[:]
