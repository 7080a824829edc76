"""The spool's on-disk format: its file names and what they carry, and a flush file,
`optel.spool/1`, encoded as JSON lines and read back strictly.

Layout of `_paths.spool_dir(app)` (docs/spool-format.md#file-names):

- `<time_ns>-<pid>-<8 hex>.jsonl`            a flush, ready to send
- `<name>.tmp`                               a flush being written (never read)
- `<name>.claimed.<pid>`                     a flush claimed by the uploader process `pid`
- `<name>.dropping.<pid>`                    a flush being dropped by the bounds (never read)
- `quarantine/<name>`                        a corrupt flush, kept for a human to look at (within the bounds)
- `dropped`, `dropped.<pid>.taking`          counts of records dropped, one `reason count` per line
- `backoff.<destination>`                    `<until epoch s> <failures>`: when a destination may be tried
- `backoff`                                  the same, spool-wide: nothing waiting is due before then
- `tally`                                    `<checked ns> <bytes> <oldest ns>`: the spool's size and
                                             oldest flush as of the last full look, plus writes since
- `uploader.lock`                            `<pid> <start ns> <token>` of the running uploader

A flush file is a header line (the run's resource, consent and export section, built by
`optel.record.header`), one line per record, and a trailer `{"t":"end","records":N}` that
tells a complete file from a torn one (docs/spool-format.md#trailer).
"""

from __future__ import annotations

import os

from optel import _fs

try:
    from _json import encode_basestring_ascii as _quote
except ImportError:  # pragma: no cover - interpreters without the C accelerator
    from json.encoder import py_encode_basestring_ascii as _quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

SCHEMA = "optel.spool/1"
SUFFIX = ".jsonl"
QUARANTINE_DIR = "quarantine"
CLAIMED = SUFFIX + ".claimed."
DROPPING = SUFFIX + ".dropping."
TMP = SUFFIX + ".tmp"
DROPPED = "dropped"
BACKOFF = "backoff"
TALLY = "tally"
# `<install id> <version>`: the first version of the install that uploaded from this spool.
FIRST_VERSION = "first_version"
LOCK_NAME = "uploader.lock"


def waiting(name: str) -> bool:
    """Whether `name` is a flush waiting to be sent, claimed or not."""
    return name.endswith(SUFFIX) or CLAIMED in name


def created_ns(name: str) -> int | None:
    """The creation time a spool file's name carries, or None for a foreign name."""
    head = name.split("-", 1)[0]
    return int(head) if head.isdigit() else None


def name_pid(name: str, marker: str) -> int:
    tail = name.rpartition(marker)[2]
    return int(tail) if tail.isdigit() else 0


def lock_leftover_pid(name: str) -> int:
    # The launcher's private files: `uploader.lock.<pid>.<hex>.tmp` and `uploader.lock.stale.<pid>`.
    parts = name.split(".")
    for part in parts[2:4]:
        if part.isdigit():
            return int(part)
    return 0


def writer_pid(name: str) -> int:
    parts = name.split("-")
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0


def spool_name(name: str, *, quarantined: bool = False) -> bool:
    """Whether `name` is one the spool format produces (module docstring): all `delete_all` removes."""
    base, sep, tail = name.partition(SUFFIX)
    if sep and (created_ns(base) is None or writer_pid(base) == 0):
        return False
    if quarantined:
        return bool(sep)
    if name in (DROPPED, BACKOFF, BACKOFF + ".tmp", TALLY, FIRST_VERSION, FIRST_VERSION + ".tmp"):
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


def encode_file(header: Mapping[str, object], records: Iterable[Mapping[str, object]]) -> bytes:
    """The bytes of one spool file: header line, one line per record, then the trailer."""
    return _join_lines(_header_line(header), [dumps(record) for record in records])


def _header_line(header: Mapping[str, object]) -> str:
    head = dict(header)
    head["schema"] = SCHEMA
    return dumps(head)


def _join_lines(head: str, lines: list[str]) -> bytes:
    return "\n".join([head, *lines, f'{{"t":"end","records":{len(lines)}}}', ""]).encode("ascii")


def encode_fitting(
    header: Mapping[str, object], records: Iterable[Mapping[str, object]], max_bytes: int
) -> tuple[bytes | None, int]:
    """The bytes of a spool file holding the newest of `records` that fit in `max_bytes` (None when
    not one does), and how many were left out. The newest come last (a run's command span ends after its children), and
    are the ones worth keeping: what happened at the end is what explains a run."""
    head = _header_line(header)
    lines = [dumps(record) for record in records]
    data = _join_lines(head, lines)
    if len(data) <= max_bytes:
        return data, 0
    # Header and a trailer counting 0 records; a larger count takes as many more bytes as digits.
    base = len(_join_lines(head, [])) - 1
    used = 0
    start = len(lines)
    while start > 0:
        more = used + len(lines[start - 1]) + 1
        if base + len(str(len(lines) - start + 1)) + more > max_bytes:
            break
        start -= 1
        used = more
    if start == len(lines):
        return None, start
    return _join_lines(head, lines[start:]), start


def destination(export: object) -> str:
    """A file name part that stands for where a flush goes: its header's `export` section, hashed
    (the section may hold a token). Files with the same one share ordering and backoff."""
    # 64-bit FNV-1a: no module to import on the host's exit path (~20 µs for a usual section); a
    # name, not a secret's protection (the spool files beside it hold the section itself).
    value = 0xCBF29CE484222325
    for byte in dumps(export if isinstance(export, dict) else None).encode("ascii"):
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


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
    """The header's endpoint must be one `optel.init()` would accept (the one rule, in _settings)."""
    if export is None:
        return
    if not isinstance(export, dict):
        raise CorruptSpoolFile(f"{name}: the export section is not an object")
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
    import json

    # The decoder's scanner (the C one): what json.loads calls after decoding and skipping whitespace.
    decoder: Any = json.JSONDecoder()
    try:
        text = data.decode("utf-8", "surrogatepass")
        scan = decoder.scan_once
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


# JSON text for records, written without importing `json` (about 9 ms of the host's exit budget).
# Deeper values are not records; cutting them off keeps a cycle from becoming a RecursionError.
_MAX_DEPTH = 32
_INF = float("inf")


def dumps(value: object) -> str:
    """Compact JSON for str/int/float/bool/None/list/tuple/dict values; never raises.

    Non-finite floats become ``null`` (JSON has no spelling for them and a string would change the
    value's type); values of any other type, and anything nested deeper than 32 levels, become
    ``null`` too, so that an object's ``repr`` can never carry personal data into a file.
    """
    parts: list[str] = []
    _encode(value, parts.append, 0)
    return "".join(parts)


def _encode(value: object, out: Callable[[str], object], depth: int) -> None:
    if isinstance(value, str):
        out(_quote(value))
    elif value is None or value is True or value is False:
        out("null" if value is None else "true" if value else "false")
    elif isinstance(value, int):
        out(int.__repr__(value))
    elif isinstance(value, float):
        out(float.__repr__(value) if -_INF < value < _INF else "null")
    elif depth >= _MAX_DEPTH:
        out("null")
    elif isinstance(value, dict):
        out("{")
        first = True
        for key, item in value.items():
            name = _key(key)
            if name is None:
                continue
            if not first:
                out(",")
            first = False
            out(_quote(name))
            out(":")
            _encode(item, out, depth + 1)
        out("}")
    elif isinstance(value, (list, tuple)):
        out("[")
        for index, item in enumerate(value):
            if index:
                out(",")
            _encode(item, out, depth + 1)
        out("]")
    else:
        out("null")


def _key(key: object) -> str | None:
    # The keys `json` itself accepts, spelled the way it spells them; others are skipped.
    if isinstance(key, str):
        return key
    if key is None or key is True or key is False:
        return "null" if key is None else "true" if key else "false"
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):
        if key != key:
            return "NaN"
        if key in (_INF, -_INF):
            return "Infinity" if key > 0 else "-Infinity"
        return float.__repr__(key)
    return None
