"""Forgetting what a failed LLM call's error said, everywhere it could be recorded later.

A provider's error message quotes the prompt back ("Invalid content: '...'"), and hosts pass it
on: ``raise click.ClickException(str(ex))``, ``raise RuntimeError(f"LLM failed: {ex}")``, an
event attribute. No scrubber can tell a quoted prompt from prose, so once an LLM call fails this
module remembers two facts about its error, for the rest of the process:

- the exception objects (the one that failed the call and its ``__cause__``/``__context__``
  chain): an exception recorded later whose chain holds one of them keeps no message at all
  (``tainted``, at record time, while the objects are alive);
- the texts the error carried (``str(exc)``, its args, an SDK error's ``message``, ``body`` and
  response text): every string of every record cleaned later (span and event names, attributes,
  status and exception messages) loses each piece of MIN_MATCH characters or more that one of
  those texts contains (``Forgetter``, at flush, before the scrubber).

Nothing here runs unless an LLM call failed: ``spans`` calls ``remember`` on that path only, and
a flush asks ``forgetter()``, which is None until then. Memory is bounded: past MAX_CHARS of
remembered text (or MAX_EXCEPTIONS exceptions) nothing more is remembered and ``strict`` turns
on, which drops every exception and status message recorded from then on.
"""

from __future__ import annotations

from optel.record import names as n

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from optel.record.spans import Measurement, SpanHandle

# A quoted piece shorter than this is left alone: shorter common substrings are ordinary words.
MIN_MATCH = 12
MAX_CHARS = 256 * 1024
MAX_TEXT = 16 * 1024  # of one text; the rest of a giant body is not looked at
MAX_EXCEPTIONS = 4096
_CHAIN_DEPTH = 16
_BODY_LEAVES = 64

# Attributes whose values cannot carry a prompt, and which errors often quote ("Rate limit reached
# for gpt-4o-2024-08-06"): model names pass the public-name check at flush, the others are names
# from code or from a closed list. Cutting them would only blur later calls' records.
_CLOSED = frozenset(
    {
        n.GEN_AI_REQUEST_MODEL,
        n.GEN_AI_RESPONSE_MODEL,
        n.GEN_AI_OPERATION_NAME,
        n.GEN_AI_PROVIDER_NAME,
        n.GEN_AI_RESPONSE_FINISH_REASONS,
        n.ERROR_TYPE,
        n.EXCEPTION_TYPE,
    }
)

# Set once anything was remembered: the cheap test callers make first.
active = False
# Past the memory bounds: every exception and status message is dropped from then on.
strict = False
# id -> (type, args) of each exception that failed an LLM call: the id alone could be a later,
# unrelated exception's, once the first one was freed (CPython reuses addresses at once).
_exceptions: dict[int, tuple[type, object]] = {}
_pending: list[str] = []  # texts not yet cut into pieces (that waits for a flush)
_texts: set[str] = set()
_pieces: set[str] = set()
_chars = 0
# text -> the text with remembered pieces cut out, valid until new pieces are added.
_checked: dict[str, str] = {}
_MAX_CHECKED = 4096
# Nothing past this survives the flush's cuts (flush.MAX_STRING, 4 * flush.MAX_MESSAGE): a giant
# attribute is not looked at to its end.
_LONGEST = 4096


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """`exc`, then its causes and contexts, each once, at most _CHAIN_DEPTH of them."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < _CHAIN_DEPTH:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo.append(getattr(item, "__context__", None))
        todo.append(getattr(item, "__cause__", None))


def _leaves(value: object, out: list[str], depth: int = 0) -> None:
    """The strings inside a decoded JSON body (an SDK error's ``body``)."""
    if len(out) >= _BODY_LEAVES or depth > 6:
        return
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _leaves(key, out, depth + 1)
            _leaves(item, out, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _leaves(item, out, depth + 1)


def texts_of(exc: BaseException) -> list[str]:
    """What an error says, in each form a host may pass on: its str, args, SDK message and body."""
    out: list[str] = []
    try:
        out.append(str(exc))
    except Exception:
        pass
    for name in ("args", "message", "body"):
        try:
            _leaves(getattr(exc, name, None), out)
        except Exception:
            pass
    try:
        response = getattr(exc, "response", None)
        text = getattr(response, "text", None) if response is not None else None
        if isinstance(text, str):
            out.append(text)
    except Exception:
        pass
    return [t for t in out if len(t) >= MIN_MATCH]


def remember(exc: BaseException) -> None:
    """`exc` failed an LLM call: forget its messages, and those of its chain, from now on."""
    global active, strict, _chars
    # No lock (threading is not imported on the host's path): each step is one atomic operation on
    # a dict, set or list, and a race can only remember a text twice.
    try:
        for item in _chain(exc):
            if len(_exceptions) >= MAX_EXCEPTIONS:
                strict = True
            else:
                _exceptions[id(item)] = (type(item), getattr(item, "args", None))
            for text in texts_of(item):
                text = text[:MAX_TEXT]
                if text in _texts:
                    continue
                if _chars + len(text) > MAX_CHARS:
                    strict = True
                    continue
                _chars += len(text)
                _texts.add(text)
                _pending.append(text)
        active = True
    except Exception:
        # Fail closed: whatever could not be remembered, no message is kept at all.
        strict = active = True


def tainted(exc: BaseException) -> bool:
    """Whether `exc` or an exception in its chain failed an LLM call (or messages are off)."""
    if strict:
        return True
    known = _exceptions
    try:
        for item in _chain(exc):
            seen = known.get(id(item))
            if (
                seen is not None
                and seen[0] is type(item)
                and seen[1] == getattr(item, "args", None)
            ):
                return True
        return False
    except Exception:
        return True


def _cut_pending() -> None:
    if _pending:
        _checked.clear()
    while _pending:
        try:
            text = _pending.pop()
        except IndexError:  # another thread took the last one
            return
        _pieces.update([text[i : i + MIN_MATCH] for i in range(len(text) - MIN_MATCH + 1)])


def forget_in(text: str, marker: str) -> str:
    """`text` with every piece of MIN_MATCH characters or more that a remembered error contains
    replaced by `marker` (adjacent and overlapping pieces make one marker)."""
    n = len(text) - MIN_MATCH + 1
    if n <= 0:
        return text
    pieces = _pieces
    runs: list[list[int]] = []
    for i in range(n):
        if text[i : i + MIN_MATCH] in pieces:
            if runs and i <= runs[-1][1]:
                runs[-1][1] = i + MIN_MATCH
            else:
                runs.append([i, i + MIN_MATCH])
    if not runs:
        return text
    out: list[str] = []
    kept = 0
    for start, end in runs:
        out.append(text[kept:start])
        out.append(marker)
        kept = end
    out.append(text[kept:])
    return "".join(out)


class Forgetter:
    """Rewrites a record's strings in place, before a flush cleans it (see the module docstring)."""

    __slots__ = ("marker", "strict")

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.strict = strict

    def text(self, value: object) -> object:
        if type(value) is str:
            return self._forget(value)
        if type(value) in (list, tuple) and any(type(v) is str for v in value):  # type: ignore[attr-defined]
            return [self._forget(v) if type(v) is str else v for v in value]  # type: ignore[attr-defined]
        return value

    def _forget(self, text: str) -> str:
        # Names and attribute values repeat from span to span: each is looked at once.
        if len(text) < MIN_MATCH:
            return text
        if len(text) > _LONGEST:
            text = text[:_LONGEST]
        done = _checked.get(text)
        if done is None:
            done = forget_in(text, self.marker)
            if len(_checked) < _MAX_CHECKED:
                _checked[text] = done
        return done

    def attributes(self, attributes: dict[str, object] | None) -> dict[str, object] | None:
        if not attributes:
            return attributes
        out = {
            key: value if key in _CLOSED else self.text(value) for key, value in attributes.items()
        }
        if self.strict and n.EXCEPTION_MESSAGE in out:
            out[n.EXCEPTION_MESSAGE] = ""
        return out

    def measurement(self, record: Measurement) -> None:
        record.attributes = self.attributes(record.attributes)

    def span(self, record: SpanHandle) -> None:
        record.attributes = self.attributes(record.attributes)  # type: ignore[assignment]
        record.name = self.text(record.name)  # type: ignore[assignment]
        message = record.status_message
        record.status_message = None if self.strict or message is None else self._forget(message)
        if record.events:
            record.events = [
                (self.text(name), at, self.attributes(attrs))  # type: ignore[misc]
                for name, at, attrs in record.events
            ]


def forgetter() -> Forgetter | None:
    """What a flush applies to each record before cleaning it; None while no LLM call failed."""
    if not active:
        return None
    _cut_pending()
    from optel.privacy import REDACTED

    return Forgetter(REDACTED)
