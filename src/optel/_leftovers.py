"""What ``init()`` does with the spool files earlier runs left: deliver them when due, delete them after an opt-out, expire them.

``optel._runtime`` imports this module only when there is something to do: spool files in a run
with consent off, or files due for delivery (``optel.spool.leftovers_due``) in a run that
sends. A run with an empty spool, or whose files are not due yet, loads none of it. Never raises.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel.consent import Consent


def _log(message: str, *args: object) -> None:
    # optel._logger (and `logging`) only when there is something to say.
    from optel._logger import debug

    debug(message, *args)


def after_decision(app: str, consent: Consent, *, sending: bool, project_dir: str | None) -> None:
    """Deal with what earlier runs left, now that this run's consent is known: the caller saw
    spool files, and in a run that sends, found them due (``leftovers_due``)."""
    if consent.mode == "off":
        if consent.source == "user_file":
            _forget_withdrawn(app, project_dir)
        elif consent.source == "off_switch":
            # The tool's own switch is its users' stored off (docs/porting.md): same as the user file.
            _forget_switched_off(app)
        else:
            _expire_leftovers(app)
    elif sending:
        _deliver_due(app)


def _deliver_due(app: str) -> None:
    """Start an uploader, on a thread, for what earlier runs left: the caller found it due and
    the spool-wide backoff elapsed (`policy.leftovers_due`)."""
    try:
        # The launcher is imported here, not in the thread: a host that forks while another thread
        # holds the import lock leaves its child waiting on that lock for ever.
        from optel import _threads
        from optel.spool.launch import drain_leftovers

        _threads.start(drain_leftovers, app)
    except Exception as exc:
        _log("optel: delivering what earlier runs left failed: %r", exc)


def _forget_switched_off(app: str) -> None:
    try:
        from optel import spool

        spool.delete_all(app)
    except Exception as exc:
        _log("optel: deleting the spool after an off switch failed: %r", exc)


def _forget_withdrawn(app: str, project_dir: str | None) -> None:
    """Delete what earlier runs spooled when the user has since stored "off" (docs/spool-format.md#deleting-the-spool).

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
