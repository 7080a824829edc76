"""The host's own metrics, declared in code: ``optel.metric("piperider.tables").add(12)``.

Every signal optel sends is declared somewhere a reader can find it: optel's own in the data
dictionary, a host's with ``optel.metric(...)`` in the host's source, next to where it is recorded.
A measurement of a name nobody declared is dropped at flush, as an undeclared attribute is.
Imports nothing but optel's recorder, so declaring metrics at import time costs nothing.
"""

from __future__ import annotations

from optel.record import spans as _spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

KINDS = ("counter", "histogram")
# optel's namespaces and the semantic conventions it follows: a host metric never shadows them.
RESERVED = ("optel.", "cli.", "app.", "gen_ai.", "process.", "otel.")
_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.")
_declared: dict[str, tuple[str, str, str, tuple[str, ...]]] = {}


class Metric:
    """A host metric: ``add`` for a counter, ``record`` for a histogram (either name works)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def add(self, value: float, **attributes: object) -> None:
        """Record ``value`` with the declared ``attributes``; never raises, records nothing before init."""
        _spans.measure(self.name, value, attributes or None)

    record = add

    def __repr__(self) -> str:
        return f"optel.metric({self.name!r})"


def metric(
    name: str,
    *,
    kind: str = "counter",
    unit: str = "1",
    description: str = "",
    attributes: Iterable[str] = (),
) -> Metric:
    """Declare a metric of the host (``<tool>.<what>``, lower case) and return it.

    ``attributes`` names what a measurement may carry (``command.name``, the host's own keys);
    their values are scrubbed at flush like every other value. Raises ValueError for a name optel
    reserves or a malformed one: a setup error, raised where the host declares it.
    """
    if (
        not isinstance(name, str)
        or not name
        or not set(name) <= _ALLOWED
        or "." not in name.strip(".")
    ):
        raise ValueError(
            f"optel.metric(): {name!r} must be a dotted lower-case name such as 'mytool.tables'"
        )
    if name.startswith(RESERVED):
        raise ValueError(
            f"optel.metric(): {name!r} is in a namespace optel reserves ({', '.join(RESERVED)})"
        )
    if kind not in KINDS:
        raise ValueError(f"optel.metric(): kind must be 'counter' or 'histogram', not {kind!r}")
    names = tuple(str(a) for a in attributes)
    _declared[name] = (kind, str(unit), str(description), names)
    return Metric(name)


def declaration(name: str) -> tuple[str, str, str, tuple[str, ...]] | None:
    """The host metric ``name`` as declared: its kind, unit, description and the attributes a
    measurement may carry; None when undeclared."""
    return _declared.get(name)
