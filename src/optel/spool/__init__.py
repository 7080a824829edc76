"""Leaving the host: spool files, the audit log, debug output, and starting the detached uploader.

Host-side (docs/internals.md#the-import-budget-of-the-host-side): this package imports only the
standard library's cheapest modules, and each name is imported on first use (PEP 562), so that a
host's run loads only the modules its path needs: writing a flush does not load the uploader's
claims or the spawn. `deliver`, where a host's flush leaves it, is defined here: every import is
a module's fixed cost (~35 µs through optel._loader) before its code, and every flush imports this package anyway. The
uploader process uses `Spool`, its claims and `uploader_lock`.
"""

from __future__ import annotations

from optel import _loader

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from optel.spool.claims import Claim
    from optel.spool.files import Spool, SpoolInfo, delete_all, describe, write
    from optel.spool.format import CorruptSpoolFile
    from optel.spool.launch import (
        UploaderLock,
        drain_leftovers,
        start_uploader,
        uploader_lock,
        uploader_running,
    )
    from optel.spool.names import SCHEMA
    from optel.spool.policy import delivery_due
    from optel.spool.process import DETACHED_FLAG
    from optel.spool.writer import MAX_AGE_S, MAX_BYTES, dumps

# Where each public name lives.
_WHERE = {
    "dumps": "writer",
    "MAX_AGE_S": "writer",
    "MAX_BYTES": "writer",
    "Claim": "claims",
    "Spool": "files",
    "SpoolInfo": "files",
    "delete_all": "files",
    "describe": "files",
    "write": "files",
    "SCHEMA": "names",
    "CorruptSpoolFile": "format",
    "UploaderLock": "launch",
    "drain_leftovers": "launch",
    "start_uploader": "launch",
    "uploader_lock": "launch",
    "uploader_running": "launch",
    "delivery_due": "policy",
    "DETACHED_FLAG": "process",
}

__all__ = [
    "Claim",
    "CorruptSpoolFile",
    "DETACHED_FLAG",
    "MAX_AGE_S",
    "MAX_BYTES",
    "SCHEMA",
    "Spool",
    "SpoolInfo",
    "UploaderLock",
    "delete_all",
    "deliver",
    "delivery_due",
    "describe",
    "drain_leftovers",
    "dumps",
    "start_uploader",
    "uploader_lock",
    "uploader_running",
    "write",
]


def __getattr__(name: str) -> object:
    return _loader.lazy_attribute(__name__, globals(), _WHERE, name)


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
    from optel.spool.policy import due_after_write, in_backoff
    from optel.spool.writer import SpoolWriter

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
    from optel.spool.writer import destination

    # Gated by this flush's own destination: another collector's backoff never delays it.
    where = destination(header.get("export"))
    if tally is not None and in_backoff(spool.path, where):
        return
    from optel.spool.launch import start_uploader

    start_uploader(app, destination=where, when_due=True)
