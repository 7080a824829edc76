"""Writing a flush file, `optel.spool/1`: its header, one compact JSON line per record, its trailer.

What the host needs to write a flush (docs/spool-format.md#lines-of-a-spool-file), without
importing `json` (about 9 ms of the host's exit budget); reading a file back is `spool.format`'s,
in the uploader.
"""

from __future__ import annotations

try:
    from _json import encode_basestring_ascii as _quote
except ImportError:  # pragma: no cover - interpreters without the C accelerator
    from json.encoder import py_encode_basestring_ascii as _quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

SCHEMA = "optel.spool/1"


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
