"""Recognising strings that no built-in rule could change, without importing or running a regex.

Most attribute values are command names, model names, outcomes and counts; proving them safe with
a few ``str`` methods costs well under a microsecond, where the full chain costs ``import re``
once and tens of microseconds per string. The test suite checks that every string this module
calls safe comes out of the full chain unchanged.
"""

from __future__ import annotations

from optel.privacy.table import CONTEXT_HINTS, PRIVATE_KEY_TRIGGER, SHAPES, TLD_LABELS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

MAX_LENGTH = 160
# Every base64/hex detector needs a run of 32; a shorter bound here only sends more to the chain.
LONG_RUN = 32
# A digit run (spaces, dashes and dots between digits ignored) this long may be one of the numbers
# rules' but for an international phone number, whose "+" keeps it off the fast path.
MIN_DIGITS = 9


# The triggers of every token shape in the one table (``table.SHAPES``), grouped by what a text must
# hold for any of them to occur there, so that a typical string checks few of them.
def _grouped(
    triggers: tuple[str, ...],
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(with "_", with "-", with a capital, the rest): each group is only searched in a text that
    holds the same kind of character, the last in every text."""
    underscore = tuple(t for t in triggers if "_" in t)
    dash = tuple(t for t in triggers if "-" in t and "_" not in t)
    upper = tuple(t for t in triggers if t not in underscore and t not in dash and t != t.lower())
    rest = tuple(t for t in triggers if t not in underscore and t not in dash and t not in upper)
    return underscore, dash, upper, rest


def _chain(triggers: tuple[str, ...]) -> Callable[[str], bool]:
    """``lambda t: "sk_" in t or "rk_" in t or ...``, built from the table once at import: a chain
    of ``in`` runs at half the cost of ``any(map(t.__contains__, triggers))``, and this runs for
    every string attribute at exit. The triggers are literals of the table (``repr`` quotes them)."""
    if not triggers:
        return lambda text: False
    found: Callable[[str], bool] = eval("lambda t: " + " or ".join(f"{t!r} in t" for t in triggers))
    return found


SECRET_PREFIXES = (
    *dict.fromkeys(t for shape in SHAPES for t in shape.triggers),
    PRIVATE_KEY_TRIGGER,
)
UNDERSCORE_PREFIXES, DASH_PREFIXES, UPPER_PREFIXES, OTHER_PREFIXES = _grouped(SECRET_PREFIXES)
_underscore_prefix = _chain(UNDERSCORE_PREFIXES)
_dash_prefix = _chain(DASH_PREFIXES)
_upper_prefix = _chain(UPPER_PREFIXES)
_other_prefix = _chain(OTHER_PREFIXES)
# Words that may name a credential in "key: value" or "--key value" text (lower case).
KEY_HINTS = (
    "pass",
    "pwd",
    "secret",
    "token",
    "auth",
    "key",
    "cookie",
    "session",
    "credential",
    "bearer",
    "basic",
    "digest",
    "jwt",
)
# ...and the words around a host name a message names as one ("host: db", "not known: db").
_HINTS = KEY_HINTS + CONTEXT_HINTS


def plainly_safe(text: str, logins: tuple[str, ...]) -> bool:
    """True when `text` is short, made only of ``[A-Za-z0-9._: -]``, and shows none of: a secret
    prefix, an IPv4, IPv6 or MAC shape, a dotted name ending in a top-level domain, a run of digits
    as long as a phone number's, a 32-character run, a key/value hint, or a login or machine name
    (`logins`: ``identity.watch_words()``)."""
    # Written for speed (it runs for every string attribute at exit): `in` and C-level map()s,
    # no Python loops where one can be avoided.
    if len(text) > MAX_LENGTH or not text.isascii():
        return False
    if not text.isalnum():
        bare = (
            text.replace("-", "")
            .replace(".", "")
            .replace("_", "")
            .replace(":", "")
            .replace(" ", "")
        )
        if bare and not bare.isalnum():
            return False
        # Three dots: an IPv4 shape; two colons: IPv6 or a MAC; five dashes: a MAC.
        if text.count(".") >= 3 or text.count(":") >= 2 or text.count("-") >= 5:
            return False
        if "." in text and has_dotted_host(text):
            return False
        if "_" in text and _underscore_prefix(text):
            return False
        if "-" in text and _dash_prefix(text):
            return False
    lowered = text.lower()
    if text != lowered and _upper_prefix(text):
        return False
    if _other_prefix(text):
        return False
    if "www." in lowered:
        return False
    # Key/value, "Bearer x" and "host: x" shapes need a colon or a space; without one a hint is harmless.
    if (":" in text or " " in text) and _has_hint(lowered):
        return False
    for login in logins:
        if login in lowered:
            return False
    # Card, social security and phone numbers need a run of MIN_DIGITS digits once separators go
    # (bytes.translate: one C loop over an ASCII text, where str.translate looks up a dict).
    if (
        len(text) >= MIN_DIGITS
        and not text.isalpha()
        and _DIGIT_RUN in text.encode().translate(_DIGITS, b" -._:")
    ):
        return False
    if len(text) >= LONG_RUN:
        for piece in text.replace(":", " ").replace(".", " ").split():
            if len(piece) >= LONG_RUN:
                return False
    return True


_DIGITS = bytes(48 if 48 <= i <= 57 else 120 for i in range(256))  # digits -> "0", the rest -> "x"
_DIGIT_RUN = b"0" * MIN_DIGITS


def _has_hint(lowered: str) -> bool:
    # A plain loop: any() over a generator costs more than the few checks it would replace.
    for hint in _HINTS:  # noqa: SIM110
        if hint in lowered:
            return True
    return False


def has_dotted_host(text: str) -> bool:
    """Cheaply, for a text of the fast path's alphabet (``[A-Za-z0-9._: -]``): whether a label after
    a dot is a known top-level domain. A True may still be no host; a False never is one."""
    for part in text.split(".")[1:]:
        if part.partition(" ")[0].partition(":")[0] in TLD_LABELS:
            return True
    return False


_HEX = frozenset("0123456789abcdefABCDEF")


def hex_between(text: str, separator: str, shortest: int, longest: int) -> bool:
    """Whether two consecutive `separator`s of `text` enclose only hex digits, `shortest` to `longest`
    of them: what an IPv6 address (``::``, ``:1f:``) or a MAC address (``:1f:``) holds. A cheap
    pre-filter for the rules (a stack trace's ``module:function:line`` holds two colons, and would
    otherwise cost ``import re`` and a compile)."""
    for piece in text.split(separator)[1:-1]:
        if shortest <= len(piece) <= longest and _HEX.issuperset(piece):
            return True
    return False
