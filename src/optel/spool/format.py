"""Reading the spool back: a flush file, `optel.spool/1`, parsed strictly, and the names its layout produces.

The uploader's side (and `optel status`, `delete_all`): a file is a header line (built by
`optel.record.resource`), one line per record and a trailer `{"t":"end","records":N}` that tells a
complete file from a torn one (docs/spool-format.md#trailer). Writing it is `spool.writer`'s.
"""

from __future__ import annotations

import os

from optel import _fs
from optel.spool import (
    BACKOFF,
    DROPPED,
    FIRST_VERSION,
    PROJECTS,
    SCHEMA,
    SUFFIX,
    TALLY,
    created_ns,
    writer_pid,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def spool_name(name: str, *, quarantined: bool = False) -> bool:
    """Whether `name` is one the spool format produces (docs/spool-format.md#file-names): all `delete_all` removes."""
    base, sep, tail = name.partition(SUFFIX)
    if sep and (created_ns(base) is None or writer_pid(base) == 0):
        return False
    if quarantined:
        return bool(sep)
    if name in (
        DROPPED,
        BACKOFF,
        BACKOFF + ".tmp",
        TALLY,
        FIRST_VERSION,
        FIRST_VERSION + ".tmp",
        PROJECTS,
    ):
        return True
    if name.startswith(BACKOFF + "."):
        # A destination's backoff: `backoff.<16 hex digits>` (destination()), or its temporary file.
        part = name[len(BACKOFF) + 1 :]
        part = part[: -len(".tmp")] if part.endswith(".tmp") else part
        return len(part) == 16 and all(c in "0123456789abcdef" for c in part)
    if name.startswith((DROPPED + ".", TALLY + ".")):
        middle = name.split(".")[1:-1]
        return (
            name.endswith((".taking", ".tmp"))
            and bool(middle)
            and all(part.isdigit() for part in middle)
        )
    if not sep:
        return False
    tail = tail[: -len(".tmp")] if tail.endswith(".tmp") else tail
    return tail == "" or (
        tail.startswith((".claimed.", ".dropping.")) and tail.rpartition(".")[2].isdigit()
    )


class CorruptSpoolFile(ValueError):
    """A spool file that is truncated, not JSON lines, or not schema `optel.spool/1`."""


def count_records(path: str) -> int:
    """How many records a spool file holds: from its trailer, else by counting lines."""
    try:
        with os.fdopen(_fs.open_regular(path), "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - 64))
            tail = f.read()
            at = tail.rfind(b'"records":')
            if at >= 0 and tail.endswith(b"}\n"):
                digits = tail[at + 10 : -2]
                if digits.isdigit():
                    return int(digits)
            f.seek(0)
            return max(0, f.read().count(b"\n") - 1)
    except OSError:
        return 0


def parse_flush(data: bytes, name: str) -> tuple[dict[str, object], list[dict[str, object]]]:
    """(header, records) of a whole file's bytes; CorruptSpoolFile when it is not a complete,
    valid `optel.spool/1` file (`name` is for the message)."""
    if not data.endswith(b"\n"):
        raise CorruptSpoolFile(f"{name}: truncated (no final newline)")
    values = _parse_lines(data)
    if values is None:
        values = _parse_lines_one_by_one(data, name)
    header, body = values[0], values[1:-1]
    if not isinstance(header, dict) or header.get("schema") != SCHEMA:
        raise CorruptSpoolFile(f"{name}: not a {SCHEMA} file")
    _check_export(name, header.get("export"))
    trailer = values[-1] if len(values) > 1 else None
    if not (isinstance(trailer, dict) and trailer.get("t") == "end"):
        raise CorruptSpoolFile(f"{name}: truncated (no trailer)")
    if trailer.get("records") != len(body):
        raise CorruptSpoolFile(
            f"{name}: trailer says {trailer.get('records')} records, found {len(body)}"
        )
    records: list[dict[str, object]] = []
    for record in body:
        if not (isinstance(record, dict) and record.get("t") in ("span", "metric")):
            raise CorruptSpoolFile(f"{name}: a line is neither a span nor a metric")
        records.append(record)
    return header, records


def parse_header(data: bytes, name: str) -> dict[str, object]:
    """The header of a file's bytes, its first line alone; CorruptSpoolFile when that is not a
    valid `optel.spool/1` header. The records are not read: what an uploader needs to know where
    a file goes (`Claim.peek_export`)."""
    line = data.partition(b"\n")[0]
    values = _parse_lines(line + b"\n")
    header = values[0] if values else None
    if not isinstance(header, dict) or header.get("schema") != SCHEMA:
        raise CorruptSpoolFile(f"{name}: not a {SCHEMA} file")
    return header


def _parse_lines_one_by_one(data: bytes, name: str) -> list[object]:
    import json

    values: list[object] = []
    for number, line in enumerate(data[:-1].split(b"\n"), 1):
        try:
            values.append(json.loads(line))
        except ValueError as exc:
            raise CorruptSpoolFile(f"{name}: line {number} is not JSON ({exc})") from None
    return values


def _check_export(name: str, export: object) -> None:
    """The header's endpoint and headers must be ones `optel.init()` would accept (the one rule,
    in _settings and optel/_urls.py): a file that could never be sent is set aside at once."""
    if export is None:
        return
    if not isinstance(export, dict):
        raise CorruptSpoolFile(f"{name}: the export section is not an object")
    headers = export.get("headers")
    if headers is not None:
        from optel._urls import header_problem

        if not isinstance(headers, dict):
            raise CorruptSpoolFile(f"{name}: the export headers are not an object")
        for key, value in headers.items():
            problem = header_problem(key, value) if isinstance(value, str) else "not a string"
            if problem is not None:
                raise CorruptSpoolFile(f"{name}: the export headers: {problem}")
    endpoint = export.get("endpoint")
    if endpoint is None:
        return
    from optel._settings import endpoint_problem

    problem = endpoint_problem(endpoint, scheme_required=False)
    if problem is not None:
        raise CorruptSpoolFile(f"{name}: the endpoint {problem}")


def _parse_lines(data: bytes) -> list[object] | None:
    """Every line of `data` parsed as one JSON value, or None when any line is not exactly one.

    One scanner call per line instead of `json.loads` per line (a third of the uploader's reading
    time): no per-line decoding, encoding detection or whitespace skipping. It accepts a line only
    when the value starts at its first character and ends at its newline, so whatever it accepts
    `json.loads` reads the same way; anything else (whitespace around a value, a value spanning
    lines, a BOM, bad JSON) returns None and the caller parses line by line, for the exact error.
    """
    try:
        text = data.decode("utf-8", "surrogatepass")
        scan = _scanner()
        find = text.find
        values: list[object] = []
        append = values.append
        pos = 0
        size = len(text)
        while pos < size:
            newline = find("\n", pos)
            value, end = scan(text, pos)
            if end != newline:
                return None
            append(value)
            pos = newline + 1
    except (
        Exception
    ):  # StopIteration, JSONDecodeError, UnicodeDecodeError, RecursionError: the slow path says
        return None
    return values


class _Decoding:
    """What the C scanner reads of a `json.JSONDecoder` (its defaults: strict, no hooks, JSON's
    three constants), so that a run that reads valid files does not import `json`, whose regular
    expressions bring `re` and `enum`: ~30 M instructions, a fifth of an uploader run."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {
        "-Infinity": float("-inf"),
        "Infinity": float("inf"),
        "NaN": float("nan"),
    }.__getitem__


def _scanner() -> Any:
    """The scanner `json.JSONDecoder().scan_once` is: the C one, made without `json`."""
    try:
        from _json import make_scanner
    except ImportError:  # pragma: no cover - a Python without the accelerator (PyPy)
        import json

        return json.JSONDecoder().scan_once  # type: ignore[attr-defined]
    return make_scanner(_Decoding())  # type: ignore[arg-type]
