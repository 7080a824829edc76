"""Records leaving the host at a flush: to the spool and, when due, its uploader; to debug output or the audit log when asked."""

from __future__ import annotations

from optel.spool.disk import log_failure
from optel.spool.policy import due_after_write
from optel.spool.writer import SpoolWriter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


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
        log_failure("delivering telemetry", exc)


def _spool(app: str, header: Mapping[str, object], records: Sequence[Mapping[str, object]]) -> None:
    """Write the flush, then start an uploader if one is due (docs/guide.md#where-the-data-goes,
    "How late the data is").

    The tally the write leaves says whether anything is due: a run with nothing due makes no
    other system call, and does not import the launcher; nor does a due run in a backoff.
    """
    spool = SpoolWriter(app)
    tally = None
    if records:
        try:
            tally = spool.write_tallied(header, records)[1]
        except Exception as exc:
            log_failure("writing the spool", exc)
    if tally is not None and not due_after_write(tally):
        return
    # A collector that is down keeps every run due for hours: its backoff, one small read, is
    # checked before the launcher (and its modules) is imported, as start_uploader would.
    from optel.spool.state import SpoolState, destination

    # Gated by this flush's own destination: another collector's backoff never delays it.
    where = destination(header.get("export"))
    if tally is not None and SpoolState(app, spool.path).backoff_until(where) is not None:
        return
    from optel.spool.launch import start_uploader

    start_uploader(app, destination=where, when_due=True)
