"""Reading the consent files: the user's stored choice and a project's restriction, never writing.

Reading is on every host's start-up path and is all an uploader may do (docs/consent.md), so it
imports nothing heavy: the files optel writes are read by the flat reader below (``loads_flat``),
and tomllib (~19 ms) loads only for a file it declines. optel writes ``key = value`` lines with
basic strings, integers, floats and booleans; the flat reader accepts exactly that subset and
returns None for anything outside it (tables, arrays, dates, literal or multi-line strings, dotted
or quoted keys, underscores in numbers, ...). A hypothesis test pins that it either agrees with
tomllib or declines (tests/test_store_tomlflat.py).
"""

from __future__ import annotations

import os

from optel._fs import NotRegularFile, read_small
from optel._terminal import shown
from optel.consent.value import MODES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

PROJECT_DIR_PREFIX = "."
PROJECT_FILE_NAME = "telemetry.toml"
MAX_FILE_BYTES = 1 << 20
_A_DIRECTORY = "a directory stands where the file should be"

# The keys optel owns in the user file and the type each must have; other keys are kept as found.
USER_KEYS: dict[str, type] = {
    "mode": str,
    "install_id": str,
    "decided_at": str,
    # How the choice was made: a prompt answer (answer, enter, eof, timeout, unknown, error) or
    # the enable/disable command, so that `status` can say "you answered no" or "no answer in 30 s".
    "decided_by": str,
    "consent_version": int,
    "user_id": str,
    "notice_shown": bool,
    "salt": str,
    "first_seen": str,
    "first_version": str,
    # The policy and consent_version the app last decided with, for the CLI, which runs without
    # the app's settings (see ``recorded_app_settings``).
    "app_policy": str,
    "app_consent_version": int,
}


# What ties data to this install; `reset` removes all of it.
IDENTITY_KEYS = ("install_id", "salt", "first_seen", "first_version")


class Broken:
    """A config file that exists but cannot be used; ``reason`` says why, for a person."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        # Reasons quote the file's values, which are printed in warnings and `status`.
        self.reason = shown(reason)

    def __repr__(self) -> str:
        return f"Broken({self.reason!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Broken) and other.reason == self.reason

    def __hash__(self) -> int:
        return hash(("Broken", self.reason))


def _toml_parser() -> object:
    try:
        return __import__("tomllib")
    except ImportError:
        return __import__("tomli")


def parse_toml(text: str) -> dict[str, object] | Broken:
    """Parse TOML text: the flat fast path, else tomllib/tomli; Broken when it is not TOML."""
    table = loads_flat(text)
    if table is not None:
        return table
    parser = _toml_parser()
    try:
        full: dict[str, object] = parser.loads(text)  # type: ignore[attr-defined]
    except ValueError as exc:
        return Broken(f"not valid TOML: {exc}")
    except Exception as exc:
        # Deep nesting (`a = [[[...]]]`) exhausts the recursive parser: RecursionError or
        # MemoryError. The file is as unusable as invalid TOML, and must be replaceable like it.
        return Broken(f"too deeply nested or too large to parse ({exc.__class__.__name__})")
    return full


def read_toml_file(path: str, *, empty_is_broken: bool = True) -> dict[str, object] | Broken | None:
    """The table in ``path``; None when there is no such file; Broken when it cannot be used.

    An empty user file is broken (docs/contract.md#consent: something truncated it); an empty
    project file is just an empty table, which restricts nothing.
    """
    try:
        # Never waits on a FIFO or device (inside the host's init()): optel's one small-file reader.
        data = read_small(path, MAX_FILE_BYTES + 1, follow=True)
    except (FileNotFoundError, NotADirectoryError):
        # A file where the config directory should be means no choice can be stored there:
        # that is "nothing stored", and writing will fail with a clear error.
        return None
    except IsADirectoryError:
        return Broken(_A_DIRECTORY)
    except NotRegularFile:
        return Broken("not a regular file")
    except PermissionError:
        return Broken("not readable: permission denied")
    except OSError as exc:
        return Broken(f"not readable: {exc.strerror or exc}")
    if len(data) > MAX_FILE_BYTES:
        return Broken("larger than 1 MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Broken("not UTF-8 text")
    if not text.strip():
        return Broken("empty") if empty_is_broken else {}
    return parse_toml(text)


def check_user_table(table: dict[str, object]) -> Broken | None:
    """Broken when a key optel owns has the wrong type or value, else None."""
    for key, kind in USER_KEYS.items():
        if key not in table:
            continue
        value = table[key]
        # bool is an int subclass: a `consent_version = true` is wrong-typed, not version 1.
        if type(value) is not kind:
            return Broken(f"{key!r} should be a {kind.__name__}, not {type(value).__name__}")
    mode = table.get("mode")
    if mode is not None and mode not in MODES:
        return Broken(f"mode = {mode!r} is not one of off, anonymous, identified")
    version = table.get("consent_version")
    if isinstance(version, int) and version < 0:
        return Broken("consent_version is negative")
    return None


def recorded_app_settings(table: Mapping[str, object]) -> tuple[str, int]:
    """``(policy, consent_version)`` the app last decided with, as its user file records them.

    The version is 0 when none is recorded. A file without ``app_policy`` but with
    ``notice_shown = true`` was written by an opt-out app (only that policy shows the notice).
    """
    policy = table.get("app_policy")
    if policy not in ("opt-in", "opt-out"):
        policy = "opt-out" if table.get("notice_shown") is True else "opt-in"
    version = table.get("app_consent_version")
    if not isinstance(version, int) or isinstance(version, bool):
        version = 0
    return str(policy), version


# The identity keys of the last table read from each user file: the resource of a run's flush
# takes its salt and first-seen date from what init read, instead of parsing the file again.
_identities: dict[str, dict[str, object]] = {}


def read_user_file(path: str) -> dict[str, object] | Broken:
    """The stored table in the user file ``path`` (``{}`` when there is none), or Broken with the reason."""
    table = read_toml_file(path)
    if table is None:
        table = {}
    elif isinstance(table, Broken):
        return table
    else:
        problem = check_user_table(table)
        if problem is not None:
            return problem
    _identities[path] = {key: table[key] for key in IDENTITY_KEYS if key in table}
    return table


def identity_read(path: str) -> dict[str, object] | None:
    """The identity keys (IDENTITY_KEYS) of the table this process last read from ``path``."""
    found = _identities.get(path)
    return None if found is None else dict(found)


def find_project_file(app: str, project_dir: str | None = None) -> str | None:
    """The nearest ``.<app>/telemetry.toml`` in ``project_dir`` (default: cwd) or a parent."""
    try:
        here = os.path.abspath(project_dir if project_dir is not None else os.getcwd())
    except OSError:
        return None
    name = os.path.join(PROJECT_DIR_PREFIX + app, PROJECT_FILE_NAME)
    while True:
        candidate = os.path.join(here, name)
        if os.path.lexists(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def read_project_mode(path: str) -> tuple[str, str | None]:
    """The most a project file allows: ``("off"|"anonymous"|"identified", problem or None)``.

    A project file can only restrict. One that cannot be read, or names no known mode, restricts
    to off: it exists because someone wanted less telemetry, and we fail closed.
    """
    table = read_toml_file(path, empty_is_broken=False)
    if table is None:
        return "identified", None
    if isinstance(table, Broken):
        return "off", table.reason
    mode = table.get("mode")
    if mode is None:
        return "identified", None
    if mode not in MODES:
        return "off", f"mode = {mode!r} is not one of off, anonymous, identified"
    return str(mode), None


# -- the flat reader: optel's own files without tomllib ------------------------------------

_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
# TOML forbids control characters other than tab in strings and comments.
_CONTROL = frozenset([chr(c) for c in range(0x20) if c != 0x09] + ["\x7f"])
_TOKEN_END = frozenset(" \t#")


class _Decline(Exception):
    """The text is outside the flat subset: let the full TOML parser decide."""


def loads_flat(text: str) -> dict[str, object] | None:
    """Parse ``text`` if it is flat optel TOML; None means "not in the subset, ask tomllib"."""
    try:
        return _parse(text)
    except _Decline:
        return None


def _parse(text: str) -> dict[str, object]:
    table: dict[str, object] = {}
    lines = text.split("\n")
    last = len(lines) - 1
    for index, raw in enumerate(lines):
        # Only CRLF is a line ending; a CR with no LF after it (the end of the text) is an error.
        line = raw[:-1] if raw.endswith("\r") and index < last else raw
        n = len(line)
        i = _skip_ws(line, 0)
        if i == n:
            continue
        if line[i] == "#":
            _check_comment(line, i)
            continue
        j = i
        while j < n and line[j] in _KEY_CHARS:
            j += 1
        if j == i:
            raise _Decline
        key = line[i:j]
        j = _skip_ws(line, j)
        if j == n or line[j] != "=":
            raise _Decline
        j = _skip_ws(line, j + 1)
        value, j = _value(line, j)
        j = _skip_ws(line, j)
        if j < n:
            if line[j] != "#":
                raise _Decline
            _check_comment(line, j)
        if key in table:
            raise _Decline
        table[key] = value
    return table


def _skip_ws(line: str, i: int) -> int:
    n = len(line)
    while i < n and (line[i] == " " or line[i] == "\t"):
        i += 1
    return i


def _check_comment(line: str, i: int) -> None:
    for ch in line[i:]:
        if ch in _CONTROL:
            raise _Decline


def _value(line: str, i: int) -> tuple[object, int]:
    if i >= len(line):
        raise _Decline
    if line[i] == '"':
        return _basic_string(line, i + 1)
    j = i
    while j < len(line) and line[j] not in _TOKEN_END:
        j += 1
    token = line[i:j]
    if token == "true":
        return True, j
    if token == "false":
        return False, j
    return _number(token), j


def _basic_string(line: str, i: int) -> tuple[str, int]:
    if line.startswith('"""', i - 1):
        # A multi-line string: left to tomllib.
        raise _Decline
    out: list[str] = []
    n = len(line)
    start = i
    while i < n:
        ch = line[i]
        if ch == '"':
            out.append(line[start:i])
            return "".join(out), i + 1
        if ch == "\\":
            out.append(line[start:i])
            esc = line[i + 1 : i + 2]
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                i += 2
            elif esc == "u" or esc == "U":
                width = 4 if esc == "u" else 8
                digits = line[i + 2 : i + 2 + width]
                if len(digits) != width or not all(c in _HEX for c in digits):
                    raise _Decline
                code = int(digits, 16)
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise _Decline
                out.append(chr(code))
                i += 2 + width
            else:
                raise _Decline
            start = i
            continue
        if ch in _CONTROL:
            raise _Decline
        i += 1
    raise _Decline


def _number(token: str) -> int | float:
    body = token[1:] if token[:1] in ("+", "-") else token
    mantissa, e, exponent = body.partition("e") if "e" in body else body.partition("E")
    whole, dot, fraction = mantissa.partition(".")
    if not whole or not all(c in _DIGITS for c in whole):
        raise _Decline
    if len(whole) > 1 and whole[0] == "0":
        raise _Decline
    if dot and (not fraction or not all(c in _DIGITS for c in fraction)):
        raise _Decline
    if e:
        digits = exponent[1:] if exponent[:1] in ("+", "-") else exponent
        if not digits or not all(c in _DIGITS for c in digits):
            raise _Decline
    if not dot and not e:
        value = int(token)
        # TOML integers are 64-bit; leave the out-of-range error to tomllib.
        if not -(2**63) <= value < 2**63:
            raise _Decline
        return value
    return float(token)
