"""The records a user asked to see: each flush as JSON lines on stderr (debug) or appended to the audit log.

Loaded only by a run with `<APP>_TELEMETRY_DEBUG`/`OPTEL_DEBUG` or an audit log
(docs/guide.md, `log_file=`); the spool's own path is `optel._flushes.deliver`.
"""

from __future__ import annotations

import os
import stat
import sys

from optel.spool.disk import log_failure
from optel.spool.writer import dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_BINARY = getattr(os, "O_BINARY", 0)


def show(
    header: Mapping[str, object],
    records: Sequence[Mapping[str, object]],
    *,
    debug: bool,
    log_file: str | None,
) -> None:
    """The header (its secrets masked) and each record as one JSON line: on stderr with `debug`,
    appended to `log_file` when given."""
    lines = [dumps(public_header(header))]
    lines.extend(dumps(record) for record in records)
    text = "\n".join(lines) + "\n"
    if debug:
        _print_debug(text)
    if log_file:
        append_audit(log_file, text)


def public_header(header: Mapping[str, object]) -> dict[str, object]:
    """The header as a user may see it: collector header values (tokens) and the credentials of
    endpoint URLs (``user:pass@``, query values) are masked."""
    shown = dict(header)
    export = shown.get("export")
    if isinstance(export, dict):
        from optel.privacy.endpoints import redact_export

        shown["export"] = redact_export(export)
    return shown


def _print_debug(text: str) -> None:
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):
        pass


def append_audit(path: str, text: str) -> None:
    """Append lines to the audit log (created 0600 with its directory); failures are logged.

    The log never ends in a torn line: a write cut short (a full disk) is taken back, and a writer
    that finds the log ending mid-line (a crash mid-write, or a cut that could not be taken back)
    starts on a new line, so that a reader loses only the torn line, never the next record.
    """
    try:
        path = os.path.expanduser(path)
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        data = text.encode("ascii")
        fd = _open_log(path)
        try:
            if _ends_mid_line(fd):
                data = b"\n" + data
            _append_whole(fd, data)
        finally:
            os.close(fd)
    except (OSError, ValueError) as exc:
        log_failure("writing the audit log", exc)


def _open_log(path: str) -> int:
    # Non-blocking: a FIFO or device named as the log must never hang the host's exit.
    flags = (
        os.O_APPEND
        | os.O_CREAT
        | _BINARY
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_CLOEXEC", 0)
    )
    try:
        fd = os.open(path, os.O_RDWR | flags, 0o600)
    except PermissionError:
        # A log its owner made write-only: appended to without the look at its last byte.
        fd = os.open(path, os.O_WRONLY | flags, 0o600)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path} is not a regular file")
    return fd


def _ends_mid_line(fd: int) -> bool:
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return False
        os.lseek(fd, size - 1, os.SEEK_SET)  # O_APPEND writes still go to the end
        return os.read(fd, 1) != b"\n"
    except OSError:
        return False


def _append_whole(fd: int, data: bytes) -> None:
    """One O_APPEND write (two processes sharing a log never interleave within a line), looped
    for a short count; on failure, what went out is cut back off unless someone wrote after it."""
    view = memoryview(data)
    written = 0
    try:
        while written < len(data):
            written += os.write(fd, view[written:])
    except OSError:
        if written:
            try:
                end = os.lseek(fd, 0, os.SEEK_CUR)  # just after our bytes
                if os.fstat(fd).st_size == end:
                    os.ftruncate(fd, end - written)
            except OSError:
                pass
        raise
