"""One process's telemetry: ``init()`` decides consent and starts recording, ``shutdown()`` flushes.

The path, as in STYLE.md: decide (``optel.consent.resolve``) -> record (``optel.record``) ->
clean (``optel.record.flush``: allow-list, scrub, derived metrics) -> ``optel._flushes.deliver``
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
from time import time_ns

from optel import _env
from optel._settings import Settings, caller_module
from optel.record import spans as _spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from optel.consent import Consent
    from optel.record.flush import Summary

# Set by optel.testing's pytest plugin (and inherited by subprocesses): telemetry off, as if the
# user had passed --no-telemetry, so a host's test suite never prompts, records or writes.
TESTING_ENV = "OPTEL_TESTING"

# Re-entrant: a host's own SIGTERM handler may call shutdown() while the main thread is inside
# init(). Made anew in a forked child, where a thread of the parent may have held it at the fork.
_state_lock = _thread.RLock()
_telemetry: Telemetry | None = None

# Modules are imported where they are first needed, not here: a run with telemetry off never loads
# the flush path (optel._flushes), and one whose spool holds nothing due never
# loads optel._leftovers (docs/internals.md#the-import-budget-of-the-host-side).


def _log(message: str, *args: object) -> None:
    from optel._logger import debug

    debug(message, *args)


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
    """Decide consent for this process (docs/contract.md#consent) and start recording if it allows.

    Raises TypeError or ValueError for a wrong argument, and nothing else ever. A second call
    returns the first call's Telemetry. ``attributes`` names the host's own attributes that may be
    recorded (``optel.event("x", plan="pro")``); ``scrub`` adds the host's scrubbing rules;
    ``project_dir`` (default: the working directory) is where the project file and the git
    remote of the project id are looked for. ``notice``, ``off_switches``, ``answers`` and
    ``confirm_flag`` port a tool's own consent habits (docs/porting.md).
    """
    # First, before any other name is bound: exactly init()'s arguments, all checked by Settings.
    arguments = dict(locals())
    caller = sys._getframe(1).f_globals
    host_package = caller_module(caller)
    settings = Settings.check(
        **arguments, version_module=None if version is not None else host_package
    )
    # A script run as `python tool.py` has no package, but it is the host's own code all the
    # same; its frames are named `__main__`, never by path.
    if not host_package and caller.get("__name__") == "__main__":
        host_package = "__main__"
    return _init_once(settings, host_package)


def _init_once(settings: Settings, host_package: str | None) -> Telemetry:
    global _telemetry
    with _state_lock:
        if _telemetry is None and (settings.scrub is not None or settings.attributes):
            # A malformed scrub rule is a setup error: raise it now, not at exit.
            from optel import privacy

            privacy.configure(settings.scrub, attributes=settings.attributes)  # type: ignore[arg-type]
        if _telemetry is not None:
            _log("optel.init(%r) called again; the first call's settings stay", settings.app)
            return _telemetry
        _spans.host_package = host_package
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
    if consent.mode == "off" or telemetry.sending:
        _after_earlier_runs(telemetry)
    if telemetry.recording:
        _start_recording(telemetry)
    return telemetry


def _after_earlier_runs(telemetry: Telemetry) -> None:
    # optel._leftovers deals with the spool files earlier runs left, only when there is something
    # to do: one listdir finds none (the uploader usually took them all), or, in a run that sends,
    # the delivery policy finds them not due yet (one small read, and only modules its exit flush
    # loads anyway): the common case, as files wait up to 4 hours (docs/guide.md#where-the-data-goes).
    app = telemetry.app
    try:
        from optel import _paths

        spool_dir = _paths.spool_dir(app)
        names = os.listdir(spool_dir)
    except OSError:
        return  # no spool: the first run, or one with no cache dir
    if not any(_waiting(name) for name in names):
        return
    try:
        if telemetry.sending:
            from optel.spool import leftovers_due

            if not leftovers_due(spool_dir, names):
                return
        from optel import _leftovers

        _leftovers.after_decision(
            app,
            telemetry.consent,
            sending=telemetry.sending,
            project_dir=telemetry.settings.project_dir,
        )
    except Exception as exc:
        _log("optel: looking at what earlier runs left failed: %r", exc)


def _waiting(name: str) -> bool:
    # optel.spool.waiting, spelled out so that a spool holding no flush (only its state
    # files) loads no optel.spool at init; tests/test_spool_files.py holds the two together.
    return name.endswith(".jsonl") or ".jsonl.claimed." in name


def _start_recording(telemetry: Telemetry) -> None:
    try:
        from optel import _flushes

        # The session Summary is made at the first flush: optel.record.flush (and the data
        # dictionary it loads) is imported only when records leave the process.
        _spans.set_recording(True)
        instrumentation = sys.modules.get("optel.instrumentation")
        if instrumentation is not None:
            # The LLM SDKs' patches wait for recording to start (optel.instrumentation).
            instrumentation.recording_started()
        atexit.register(shutdown)
        interval = telemetry.settings.flush_interval
        if interval is not None:
            _flushes.start_flush_loop(telemetry, interval)
        else:
            _flushes.arm_durable_flush(telemetry)
    except Exception as exc:
        _log("optel: starting to record failed: %r", exc)


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
    from optel import _flushes

    _flushes.final_flush(telemetry, hand_over=stop is not None and telemetry.sending)


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
    described in docs/guide.md#forked-processes.
    """
    global _state_lock
    _state_lock = _thread.RLock()  # optel._flushes renews its own flush lock
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
            from optel import _flushes

            _flushes.start_flush_loop(telemetry, interval)
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
