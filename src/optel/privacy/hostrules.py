"""The host's own scrub rules (``init(scrub=[...])``): callables, and ``(pattern, marker)`` pairs as ``PatternRule``.

Loaded only by a host that gives rules: most runs have none.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Callable

    HostRule = Callable[[str], str] | tuple[str | re.Pattern[str], str]


class PatternRule:
    """A host rule given as ``(pattern, marker)``: every match becomes `marker`.

    The pattern is compiled on first use, not at ``init()``, to keep ``re`` off the start-up path.
    A pattern that does not compile fails closed (see ``Scrubber.scrub_text``).
    """

    __slots__ = ("_compiled", "marker", "source")

    def __init__(self, source: str | re.Pattern[str], marker: str) -> None:
        if not isinstance(marker, str):
            raise TypeError(f"a scrub rule's marker must be a str, not {type(marker).__name__}")
        if not isinstance(source, str) and not hasattr(source, "sub"):
            raise TypeError(
                f"a scrub rule's pattern must be a str or re.Pattern, not {type(source).__name__}"
            )
        self.source = source
        self.marker = marker
        self._compiled: re.Pattern[str] | None = None if isinstance(source, str) else source

    def __call__(self, text: str) -> str:
        compiled = self._compiled
        if compiled is None:
            import re

            compiled = self._compiled = re.compile(self.source)
        return compiled.sub(lambda _match: self.marker, text)

    def __repr__(self) -> str:
        return f"PatternRule({self.source!r}, {self.marker!r})"


def host_rules(rules: object) -> tuple[Callable[[str], str], ...]:
    """The host's ``scrub=`` rules as callables, in order; TypeError for one that is neither a
    callable nor a ``(pattern, marker)`` pair."""
    if rules is None:
        return ()
    if callable(rules) or (
        isinstance(rules, tuple)
        and len(rules) == 2
        and isinstance(rules[1], str)
        and not callable(rules[0])
    ):
        rules = (rules,)
    if isinstance(rules, (str, bytes)) or not hasattr(rules, "__iter__"):
        raise TypeError(
            "scrub= takes a list of rules: callables str -> str or (pattern, marker) pairs"
        )
    normalised: list[Callable[[str], str]] = []
    for rule in rules:
        if callable(rule):
            normalised.append(rule)
        elif isinstance(rule, (tuple, list)) and len(rule) == 2:
            normalised.append(PatternRule(rule[0], rule[1]))
        else:
            raise TypeError(
                f"not a scrub rule: {rule!r} (want a callable str -> str or a (pattern, marker) pair)"
            )
    return tuple(normalised)
