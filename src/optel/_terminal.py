"""Text from untrusted sources made safe to print on a terminal: escaped and bounded.

A directory name, a config value, an environment variable or a span name in an audit log can
hold escape sequences (``\\x1b]0;title\\x07`` retitles the window, others rewrite what is on screen
or hide text) or be megabytes long. Every place that prints such text passes it through
``shown`` (a field) or ``shown_lines`` (whole output lines), so one rule decides what reaches
the terminal. Standard library only: the consent code in the host prints warnings with it.
"""

from __future__ import annotations

# A field (a path, a value, a name) rarely needs more; a whole line holds a few of them.
FIELD_LIMIT = 200
PATH_LIMIT = 400
LINE_LIMIT = 1000

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\"}


def _escape(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def shown(text: object, limit: int = FIELD_LIMIT) -> str:
    """``text`` as a terminal may print it: every character that is not printable (C0 and C1
    controls, DEL, bidi overrides, lone surrogates, line breaks) escaped as ``\\x1b``-style text,
    and at most ``limit`` characters, the rest summarised as ``...(+N characters)``.

    A backslash is escaped only in text that needs escaping, so plain text (a Windows path)
    prints as it is and an escaped ``\\x1b`` can never be told apart from a real one.
    """
    value = text if isinstance(text, str) else str(text)
    if not value.isprintable():
        value = "".join(ch if ch.isprintable() and ch != "\\" else _escape(ch) for ch in value)
    if len(value) > limit:
        cut = max(limit - 24, 1)
        value = f"{value[:cut]}...(+{len(value) - cut} characters)"
    return value


def shown_lines(text: str, limit: int = LINE_LIMIT) -> str:
    """Several lines of output, each passed through ``shown``; the line breaks are kept."""
    ending = "\n" if text.endswith("\n") else ""
    body = text[:-1] if ending else text
    return "\n".join(shown(line, limit) for line in body.split("\n")) + ending
