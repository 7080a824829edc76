"""Cleaning one record's values where records leave the process.

The allow-list, declared types, bounds, public model names and the scrubber (docs/privacy.md).
"""

from __future__ import annotations

from optel.privacy.modes import FORBIDDEN_KEYS, USER_ID
from optel.record import dictionary as _dictionary
from optel.record import names as _n

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

MAX_STRING = 1024
MAX_ARRAY = 64
SPAN_NAMES = _dictionary.names_in(_dictionary.SPAN)
EVENT_NAMES = _dictionary.names_in(_dictionary.EVENT)
# Names the maintainer declares (a command, a step, a timed request: the attributes that name a span
# family) are not personal data (docs/privacy.md#names-the-maintainer-declares): kept as written,
# only bounded. Values are scrubbed.
DECLARED_NAMES = frozenset(
    s.name[1:-1]
    for s in _dictionary.SPANS
    if s.name[:1] == "{" and s.name.count("{") == 1 and " " not in s.name
)
_TYPES = {name: a.type for name, a in _dictionary.ATTRIBUTES.items()}
KINDS = frozenset(_dictionary.SPAN_KINDS)
_SCALARS = (str, bool, int, float)
# A host may allow-list its own attributes, never one that names a machine or a person: those are
# not sent in any mode (docs/contract.md#what-is-collected), and `user.id` only as the resource's,
# in identified mode.
_NEVER_FROM_HOST = FORBIDDEN_KEYS | {USER_ID}


MAX_MESSAGE = 512


class Scrubber:
    """The privacy functions a flush applies (``optel.privacy``'s, or a test's)."""

    __slots__ = ("attributes", "model", "text")

    def __init__(
        self,
        text: Callable[[str], str],
        model: Callable[[str, str | None], str | None],
        attributes: Callable[[Mapping[str, object]], dict[str, object]],
    ) -> None:
        self.text = text
        self.model = model
        self.attributes = attributes

    def message(self, text: str) -> str:
        """An exception message: scrubbed, then bounded to MAX_MESSAGE characters."""
        from optel.privacy.exceptions import bounded_message

        return bounded_message(text, self.text, MAX_MESSAGE)


def scrubber() -> Scrubber:
    """optel.privacy's current scrubber (the host's rules from ``init(scrub=...)`` included)."""
    from optel import privacy

    return Scrubber(privacy.scrub_text, privacy.public_model_name, privacy.scrub_attributes)


def cut(text: str) -> str:
    # Every string of a record passes here: made writable as UTF-8 (a lone surrogate from a
    # non-UTF-8 file name would make the whole spool file unsendable), then bounded before the
    # scrubber sees it, so the cut must never split a token: half a key is too short for its
    # rule and would leak. The split word is dropped instead.
    if not text.isascii():
        from optel.privacy.exceptions import encodable

        text = encodable(text)
    if len(text) <= MAX_STRING:
        return text
    from optel.privacy.exceptions import cut_at_whitespace

    return cut_at_whitespace(text, MAX_STRING)


def finite(value: float) -> bool:
    return value - value == 0.0


def clean_value(value: object, declared: str | None) -> object:
    """``value`` if it fits the declared type (any scalar or scalar list when undeclared), else None."""
    kind = type(value)
    if declared is None:
        if kind is str:
            return cut(value)  # type: ignore[arg-type]
        if kind is bool or kind is int:
            return value
        if kind is float:
            return value if finite(value) else None  # type: ignore[arg-type]
        if kind in (list, tuple):
            items = list(value)[:MAX_ARRAY]  # type: ignore[call-overload]
            if (
                items
                and all(type(i) is type(items[0]) for i in items)
                and type(items[0]) in _SCALARS
            ):
                if type(items[0]) is str:
                    return [cut(i) for i in items]
                return items
        return None
    if declared == _dictionary.STRING:
        return cut(value) if kind is str else None  # type: ignore[arg-type]
    if declared == _dictionary.INT:
        return value if isinstance(value, int) and kind is not bool else None
    if declared == _dictionary.DOUBLE:
        if isinstance(value, (int, float)) and kind is not bool and finite(float(value)):
            return float(value)
        return None
    if declared == _dictionary.BOOLEAN:
        return value if kind is bool else None
    if declared == _dictionary.STRING_ARRAY:
        if kind in (list, tuple):
            items = [cut(i) for i in value if type(i) is str][:MAX_ARRAY]  # type: ignore[attr-defined]
            return items or None
        return None
    return None


def clean_attributes(
    attributes: Mapping[str, object] | None,
    allowed: Collection[str],
    host: Collection[str],
    scrub: Scrubber,
) -> dict[str, object]:
    """Keep allowed attributes whose value fits, map model names, scrub every string."""
    out: dict[str, object] = {}
    if not attributes:
        return out
    for key, value in attributes.items():
        if value is None or type(key) is not str:
            continue
        if key in allowed:
            cleaned = clean_value(value, _TYPES.get(key))
        elif key in host and key not in _NEVER_FROM_HOST:
            cleaned = clean_value(value, None)
        else:
            continue
        if cleaned is not None:
            out[key] = cleaned
    provider = out.get("gen_ai.provider.name")
    for key in ("gen_ai.request.model", "gen_ai.response.model"):
        model = out.get(key)
        if isinstance(model, str):
            public = scrub.model(model, provider if isinstance(provider, str) else None)
            if public:
                out[key] = public
            else:
                del out[key]
    if "exception.message" in out:
        out["exception.message"] = scrub.message(str(out["exception.message"]))
    names = {key: out.pop(key) for key in DECLARED_NAMES if key in out}
    return {**scrub.attributes(out), **names}


def declared_host_only(raw: Mapping[str, object], attrs: dict[str, object]) -> dict[str, object]:
    """``server.address`` as written when the maintainer declared that host, else no host at all.

    The HTTP instrumentors only ever set a declared one; this holds for every other way a value
    could get there (``optel.event(..., **{"server.address": ...})``), checked where records
    leave. A declared name is not personal data, so no scrubbing rule for host names rewrites it.
    """
    from optel.record.hosts import declared_hosts  # only a span that names a host gets here

    address = raw.get(_n.SERVER_ADDRESS)
    if type(address) is str and address in declared_hosts():
        attrs[_n.SERVER_ADDRESS] = address
    else:
        attrs.pop(_n.SERVER_ADDRESS, None)
        attrs.pop(_n.SERVER_PORT, None)
    return attrs
