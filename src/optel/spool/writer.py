"""The host's side of the spool: a flush encoded as `optel.spool/1` JSON lines, written atomically within the bounds.

All a run with telemetry on and nothing due loads at exit, with the package (`optel._flushes.deliver`):
the uploader's reader (`format`), state (`state`), bounds
(`bounds`) and claims are not loaded by it. A file is its header, one compact JSON line per record and a trailer
(docs/spool-format.md#lines-of-a-spool-file), encoded without importing `json` (about 9 ms of the
host's exit budget). The size and age bounds are applied as the flush is written, looking at every
file (`look`) only when the tally cannot vouch for them (`policy.TALLY_TRUSTED_S`).
"""

from __future__ import annotations

import os
import time

from optel import _fs, _paths
from optel.spool import DROPPED, SCHEMA, SUFFIX, TALLY, read_tally, read_words, trusted, write_tally

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from optel.spool import Tally

MAX_BYTES = 20 * 1024 * 1024
MAX_AGE_S = 14 * 24 * 3600.0


def _clean_reason(reason: str) -> str:
    kept = "".join(
        ch for ch in str(reason).lower() if ch.isascii() and (ch.isalnum() or ch in "._-")
    )
    return kept[:40] or "other"


class SpoolWriter:
    """One app's spool directory as a host writes to it: the flush, the tally, drop counts."""

    __slots__ = ("_checked", "app", "path")

    def __init__(self, app: str, path: str | None = None) -> None:
        self.app = app
        # `spool_dir` checks the spool dir and the app's dir above it (`check_spool_dir`).
        self._checked = path is None
        self.path = path if path is not None else _paths.spool_dir(app)

    def __repr__(self) -> str:
        return f"Spool({self.path!r})"

    def _join(self, *names: str) -> str:
        return os.path.join(self.path, *names)

    def _names(self) -> list[str]:
        try:
            return sorted(os.listdir(self.path))
        except OSError:
            return []

    def _ensure_dir(self) -> None:
        created = _fs.ensure_dir(self.path)
        if self.app:
            if created or not self._checked:
                # Created just now (or never checked): the app's dir above it must be checked
                # again too.
                _paths.check_spool_dir(self.path)
            # The app's dir must not let other users rename the spool dir away (an umask of 000
            # made it so, or another program that made it).
            _fs.tighten_dir(os.path.dirname(self.path), 0o022)

    def _read_state(self, name: str) -> list[bytes] | None:
        """The words of the small state file `name`, or None (`tally.read_words`)."""
        return read_words(self._join(name))

    # -- the flush -----------------------------------------------------------------------------

    def write_tallied(
        self,
        header: Mapping[str, object],
        records: Iterable[Mapping[str, object]],
        *,
        max_bytes: int = MAX_BYTES,
        max_age: float = MAX_AGE_S,
    ) -> tuple[str | None, Tally | None]:
        """Write one flush atomically, dropping the oldest files first to stay within the bounds;
        returns its path (None when not one record fits) and the tally it left: what the delivery
        policy needs to know without looking at the directory again (`policy.due_after_write`).

        A flush larger than `max_bytes` alone keeps its newest records that fit (the others are
        counted as dropped). Raises OSError when the directory cannot be written or is not safe.
        """
        data, left_out = encode_fitting(header, records, max_bytes)
        self._ensure_dir()
        now = time.time_ns()
        if left_out:
            # One flush over the bound alone: it keeps its newest records that fit, and counts the rest.
            self.add_drop_counts({"size": left_out})
        if data is None:
            return None, None
        tally = self._read_tally()
        if (
            tally is None
            or not trusted(tally, now)
            or tally[1] + len(data) > max_bytes
            or (tally[2] and tally[2] < now - int(max_age * 1e9))
        ):
            from optel.spool.look import look

            _, total, oldest = look(self, len(data), max_bytes, max_age, now)
            tally = (now, total, oldest)
        final = self._join(f"{now}-{os.getpid()}-{os.urandom(4).hex()}{SUFFIX}")
        _fs.write_atomically(final, data)
        tally = (tally[0], tally[1] + len(data), tally[2] or now)
        self._write_tally(*tally)
        return final, tally

    # -- the tally -----------------------------------------------------------------------------

    def _read_tally(self) -> Tally | None:
        return read_tally(self._join(TALLY))

    def _write_tally(self, checked_ns: int, total: int, oldest_ns: int) -> None:
        write_tally(self._join(TALLY), checked_ns, total, oldest_ns)

    def add_drop_counts(self, counts: Mapping[str, int]) -> None:
        """Count dropped records by reason; also how an uploader puts back counts it failed to send."""
        text = "".join(
            f"{_clean_reason(reason)} {int(n)}\n" for reason, n in counts.items() if n > 0
        )
        if not text:
            return
        try:
            self._ensure_dir()
            # One O_APPEND write per call, so concurrent writers never interleave within a line.
            path = self._join(DROPPED)
            if not _fs.regular_or_missing(path):
                _fs.remove_odd(path)
            fd = os.open(path, _fs.WRITE_FLAGS | os.O_APPEND, 0o600)
            try:
                os.write(fd, text.encode("ascii"))
            finally:
                os.close(fd)
        except OSError:
            pass


# -- the file format -------------------------------------------------------------------------------


def encode_file(header: Mapping[str, object], records: Iterable[Mapping[str, object]]) -> bytes:
    """The bytes of one spool file: header line, one line per record, then the trailer."""
    return _join_lines(_header_line(header), _dump_all(records))


def _header_line(header: Mapping[str, object]) -> str:
    head = dict(header)
    head["schema"] = SCHEMA
    return dumps(head)


def _join_lines(head: str, lines: list[str]) -> bytes:
    return "\n".join([head, *lines, f'{{"t":"end","records":{len(lines)}}}', ""]).encode("ascii")


def _dump_all(records: Iterable[Mapping[str, object]]) -> list[str]:
    records = list(records)
    if len(records) > _C_QUOTE_FROM:
        _load_c_quote()
    return [dumps(record) for record in records]


def encode_fitting(
    header: Mapping[str, object], records: Iterable[Mapping[str, object]], max_bytes: int
) -> tuple[bytes | None, int]:
    """The bytes of a spool file holding the newest of `records` that fit in `max_bytes` (None when
    not one does), and how many were left out. The newest come last (a run's command span ends after its children), and
    are the ones worth keeping: what happened at the end is what explains a run."""
    head = _header_line(header)
    lines = _dump_all(records)
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
    return _encode(value, 0)


def _encode(value: object, depth: int) -> str:
    # The types records are made of first, by identity: a flush encodes every value of every record.
    kind = type(value)
    if kind is str:
        return _quote(value)  # type: ignore[arg-type]
    if kind is int:
        return int.__repr__(value)
    if kind is dict:
        return _object(value, depth) if depth < _MAX_DEPTH else "null"  # type: ignore[arg-type]
    if value is None or value is True or value is False:
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value) if -_INF < value < _INF else "null"
    if depth >= _MAX_DEPTH:
        return "null"
    if isinstance(value, dict):
        return _object(value, depth)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join([_encode(item, depth + 1) for item in value]) + "]"
    return "null"


def _object(value: dict[object, object], depth: int) -> str:
    parts = []
    for key, item in value.items():
        if type(key) is str:
            head = _quoted_keys.get(key)
            if head is None:
                head = _quote(key) + ":"
                if len(_quoted_keys) < _MAX_QUOTED_KEYS:
                    _quoted_keys[key] = head
        else:
            name = _key(key)
            if name is None:
                continue
            head = _quote(name) + ":"
        parts.append(head + (_quote(item) if type(item) is str else _encode(item, depth + 1)))
    return "{" + ",".join(parts) + "}"


# Keys as they are written, kept: a flush's records share their field and attribute names, which
# are the few optel and the host declare (the bound keeps a flood of others from growing it).
_quoted_keys: dict[str, str] = {}
_MAX_QUOTED_KEYS = 1024


# JSON's escapes, spelled as `json.dumps` spells them (ensure_ascii): `_json` is a shared library
# whose loading alone costs a run more than quoting its strings here.
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


# A flush of more records than this (a long-running process's) has enough strings to pay for
# loading `_json` (~0.65 ms), whose quoting is ~0.2 us faster a string.
_C_QUOTE_FROM = 128


def _load_c_quote() -> None:
    global _quote
    try:
        from _json import encode_basestring_ascii
    except ImportError:  # pragma: no cover - interpreters without the C accelerator
        return
    _quote = encode_basestring_ascii


def _py_quote(text: str) -> str:
    if type(text) is not str:
        text = str.__str__(text)  # a str subclass's own methods never decide what is written
    # Nearly every string is printable ASCII with nothing to escape: checked by C loops.
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'
    return '"' + "".join([_escape(ch) for ch in text]) + '"'


_quote: Callable[[str], str] = _py_quote


def _escape(ch: str) -> str:
    escaped = _ESCAPES.get(ch)
    if escaped is not None:
        return escaped
    n = ord(ch)
    if 0x20 <= n < 0x7F:
        return ch
    if n < 0x10000:
        return f"\\u{n:04x}"
    n -= 0x10000  # a UTF-16 surrogate pair, as JSON spells characters beyond the BMP
    return f"\\u{0xD800 | (n >> 10):04x}\\u{0xDC00 | (n & 0x3FF):04x}"


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


def destination(export: object) -> str:
    """A file name part that stands for where a flush goes: its header's `export` section, hashed
    (the section may hold a token). Files with the same one share ordering and backoff."""
    # A name, not a secret's protection (the spool files beside it hold the section itself).
    return _fs.fnv1a_64(dumps(export if isinstance(export, dict) else None).encode("ascii"))
