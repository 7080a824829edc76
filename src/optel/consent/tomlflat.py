"""Reading optel's own flat TOML files without importing tomllib (~19 ms), declining anything else.

optel writes ``key = value`` lines with basic strings, integers, floats and booleans. This reader
accepts exactly that subset and returns None for anything outside it (tables, arrays, dates,
literal or multi-line strings, dotted or quoted keys, underscores in numbers, ...), so the caller
can fall back to the real parser. A hypothesis test pins that it either agrees with tomllib or
declines.
"""

from __future__ import annotations

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
