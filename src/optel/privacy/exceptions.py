"""Turning an exception into the three attributes optel may send: type, scrubbed message, own frames."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import TracebackType

MAX_FRAMES = 32
# What the recorder keeps on an `exception` span event: the innermost frames of the host's own code.
MAX_RECORDED_FRAMES = 20
ELLIPSIS = "…"


def error_type(exc: BaseException) -> str:
    """``ValueError`` for a builtin, else ``module.QualifiedName`` (``requests.exceptions.HTTPError``)."""
    cls = type(exc)
    module = getattr(cls, "__module__", None) or ""
    name = getattr(cls, "__qualname__", None) or cls.__name__
    if module in ("builtins", "exceptions", ""):
        return name
    return module + "." + name


def encodable(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, so that it can be written as UTF-8.

    ``os.fsdecode`` turns each byte of a non-UTF-8 file name into a lone surrogate (``\\udcff``);
    one such string in a spool file would make the whole file unsendable. An ASCII string (the
    common case) costs one flag check, a valid non-ASCII one an encode.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    return text


def cut_at_whitespace(text: str, limit: int) -> str:
    """`text` if it has at most `limit` characters, else its head up to the last whitespace
    before `limit`: a token the cut would split (half a key) is dropped, not left for the rules
    to miss."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
    return head[:space] if space > 0 else ""


def bounded_message(text: str, scrub: Callable[[str], str], max_message: int) -> str:
    """`text` scrubbed, then cut to `max_message` characters (with an ellipsis when cut).

    Scrubbing comes before the cut so that a cut never leaves half a secret the rules no longer
    recognise. Giant messages are first cut, generously, at a whitespace, so that no token is split
    before the rules see it; the text after that cut is dropped unseen.
    """
    if max_message <= 0:
        return ""
    cleaned = scrub(encodable(cut_at_whitespace(text, max(4 * max_message, 2048))))
    if len(cleaned) > max_message:
        cleaned = cleaned[: max_message - 1] + ELLIPSIS
    return cleaned


def _message(exc: BaseException) -> str:
    errors = sys.modules.get("optel.record.provider_errors")
    if errors is not None and errors.active and errors.tainted(exc):
        # It failed an LLM call or was raised from one that did: the provider's message quotes
        # the prompt (optel.record.provider_errors).
        return ""
    args: tuple[object, ...] = getattr(exc, "args", ())
    # str(KeyError(k)) is repr(k): its escapes ("\\n") would glue words together for the rules.
    if isinstance(exc, KeyError) and len(args) == 1 and isinstance(args[0], str):
        return args[0]
    try:
        return str(exc)
    except Exception:
        # A broken __str__ is the host's bug; telemetry reports the type and stays quiet.
        return ""


def own_frame_tuples(
    tb: TracebackType | None, host_package: str | None, limit: int = MAX_FRAMES
) -> tuple[tuple[str, str, int], ...]:
    """``(module, function, line)`` of each traceback entry whose module is `host_package` or inside
    it, outermost first, at most `limit` (the innermost ones). Reads code objects and line numbers
    only: never a local, never a file name. Cheap enough for the moment a span ends."""
    if not host_package or tb is None or limit <= 0:
        return ()
    prefix = host_package + "."
    frames: list[tuple[str, str, int]] = []
    while tb is not None:
        frame = tb.tb_frame
        f_globals = frame.f_globals
        module = f_globals.get("__name__")
        if module == "__main__":
            # `python -m tool` runs tool/__main__.py as __main__; its spec still knows the name.
            module = getattr(f_globals.get("__spec__"), "name", None) or module
        if type(module) is str and (module == host_package or module.startswith(prefix)):
            frames.append((module, frame.f_code.co_name, tb.tb_lineno))
            if len(frames) > limit:
                del frames[0]
        tb = tb.tb_next
    return tuple(frames)


def format_frames(frames: Iterable[tuple[str, str, int]]) -> str:
    """``module:function:line`` lines, one per frame."""
    return "\n".join(f"{module}:{function}:{line}" for module, function, line in frames)


def own_frames(exc: BaseException, host_package: str | None) -> str:
    """``module:function:line`` for each frame whose module is `host_package` or inside it,
    outermost first, at most MAX_FRAMES (the innermost ones). No locals, no file names."""
    return format_frames(own_frame_tuples(exc.__traceback__, host_package))


def describe(
    exc: BaseException, host_package: str | None, max_message: int, scrub: Callable[[str], str]
) -> dict[str, str]:
    """The attributes for `exc`: ``error.type``, ``exception.message``, ``exception.stacktrace``."""
    return {
        "error.type": error_type(exc),
        "exception.message": bounded_message(_message(exc), scrub, max_message),
        "exception.stacktrace": own_frames(exc, host_package),
    }
