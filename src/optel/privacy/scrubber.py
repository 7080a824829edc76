"""The Scrubber: host rules, then the built-in chain, applied to texts, attribute values and exceptions."""

from __future__ import annotations

from optel.privacy.fastpath import plainly_safe
from optel.privacy.identity import watch_words
from optel.privacy.keys import is_sensitive_key
from optel.privacy.markers import REDACTED, SECRET

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from optel.privacy.hostrules import HostRule

_SCALARS = (int, float)
_KEY_CACHE_LIMIT = 4096
# Longer texts are cut (at whitespace) before scrubbing; see Scrubber.scrub_text.
MAX_TEXT = 16384
_warned: set[str] = set()


def _log_once(kind: str, message: str, *args: object) -> None:
    if kind in _warned:
        return
    _warned.add(kind)
    from optel._logger import logger

    logger().warning(message, *args)


def _load_builtin_rules(text: str) -> str:
    """The built-in chain, imported on the first text that fails the fast path: its modules cost a
    fair share of the host's import time, and a run whose strings all pass never needs them."""
    global _builtin_rules
    from optel.privacy.rules import apply_builtin_rules

    _builtin_rules = apply_builtin_rules
    return apply_builtin_rules(text)


# Replaced by the chain itself on first use (an import statement per slow string costs ~1 µs).
_builtin_rules: Callable[[str], str] = _load_builtin_rules


class Scrubber:
    """Host rules (in the order given), then the built-in rules, on every text.

    Host rules run first so that they see the original text; the built-ins run on their output,
    so no host rule can bring back what a built-in rule removes. The built-in rules, including the
    replacement of sensitive attribute keys, are on unless ``disable_builtin_rules=True`` is passed:
    that switch exists for hosts that scrub everything themselves, is logged as a warning, and no
    other argument (an empty list, ``None``) turns them off.

    `attributes` (the host's allow-listed attribute names, as ``init(attributes=...)`` passes them)
    exempt nothing from the sensitive-key rule: a host attribute is recorded only when it is
    allow-listed, so an exemption would turn the rule off for every host attribute. The
    allow-list itself is applied by ``optel.record``.

    No method raises: a failing rule turns the value it was scrubbing into ``<redacted>``.
    """

    __slots__ = ("_builtin", "_host_rules", "_sensitive")

    def __init__(
        self,
        rules: Iterable[HostRule] | HostRule | None = None,
        *,
        attributes: Iterable[str] | None = None,
        disable_builtin_rules: bool = False,
    ) -> None:
        self._host_rules: tuple[Callable[[str], str], ...] = ()
        if rules is not None:
            # Their parsing (and PatternRule) is loaded only by a host that gives rules.
            from optel.privacy.hostrules import host_rules

            self._host_rules = host_rules(rules)
        self._builtin = disable_builtin_rules is not True
        # Attribute keys repeat from span to span; judging one costs a few µs the first time only.
        self._sensitive: dict[str, bool] = {}
        if not self._builtin:
            _log_once(
                "builtin-off",
                "optel: built-in scrubbing rules are disabled (disable_builtin_rules=True); "
                "only the host's %d rule(s) run",
                len(self._host_rules),
            )

    @property
    def host_rules(self) -> tuple[Callable[[str], str], ...]:
        return self._host_rules

    @property
    def builtin_rules_enabled(self) -> bool:
        return self._builtin

    def scrub_text(self, text: str) -> str:
        """`text` with every personal or secret part replaced by a marker.

        A text longer than MAX_TEXT characters is first cut at the last whitespace before that
        bound, and ends in an ellipsis.
        """
        return self._text(text, None)

    def _text(self, text: object, logins: tuple[str, ...] | None) -> str:
        # `logins` is looked up once per attribute dict by the callers that scrub many strings.
        try:
            if not isinstance(text, str):
                text = str(text)
            if len(text) > MAX_TEXT:
                # Scrubbing is linear but not free: a megabyte value must not eat the exit budget.
                from optel.privacy.exceptions import ELLIPSIS, cut_at_whitespace

                text = cut_at_whitespace(text, MAX_TEXT) + ELLIPSIS
            for rule in self._host_rules:
                text = rule(text)
                if not isinstance(text, str):
                    raise TypeError(f"scrub rule {rule!r} returned {type(text).__name__}, not str")
            if self._builtin:
                if logins is None:
                    logins = watch_words()
                if not plainly_safe(text, logins):
                    text = _builtin_rules(text)
            return text
        except Exception as exc:
            # Fail closed: a rule that cannot run might have been the one hiding this value.
            _log_once("rule-failed", "optel: a scrub rule failed (%s); values are redacted", exc)
            return REDACTED

    def is_sensitive_key(self, key: str) -> bool:
        """True when the value under `key` is replaced whole (see ``optel.privacy.keys``)."""
        if not self._builtin:
            return False
        known = self._sensitive.get(key)
        if known is None:
            known = is_sensitive_key(key)
            if len(self._sensitive) < _KEY_CACHE_LIMIT:
                self._sensitive[key] = known
        return known

    def scrub_value(self, key: str, value: object) -> object:
        """`value` as it may be exported under `key`.

        None and booleans pass (they cannot hold a secret); under a sensitive key anything else
        becomes ``<secret>``; strings are scrubbed, lists and tuples element by element, mappings
        key by key; numbers pass; anything else is scrubbed as its ``str()``.
        """
        return self._value(key, value, None)

    def _value(self, key: str, value: object, logins: tuple[str, ...] | None) -> object:
        try:
            if value is None or isinstance(value, bool):
                return value
            if self.is_sensitive_key(key):
                return SECRET
            if isinstance(value, str):
                if logins is not None and not self._host_rules and plainly_safe(value, logins):
                    # The common case, without _text's call and guards (plainly_safe bounds length).
                    return value
                return self._text(value, logins)
            if isinstance(value, _SCALARS):
                return value
            if isinstance(value, (list, tuple)):
                items = [
                    item
                    if item is None or isinstance(item, (bool, int, float))
                    else self._text(item, logins)
                    for item in value
                ]
                return items if isinstance(value, list) else tuple(items)
            if isinstance(value, dict):
                return self.scrub_attributes(value)
            if isinstance(value, (bytes, bytearray, memoryview)):
                return SECRET
            return self._text(str(value), logins)
        except Exception:
            return REDACTED

    def scrub_attributes(self, attributes: Mapping[str, object] | None) -> dict[str, object]:
        """A new dict with every value passed through ``scrub_value`` under its key."""
        if not attributes:
            return {}
        try:
            items = list(attributes.items())
        except Exception:
            return {}
        logins = watch_words()
        return {str(key): self._value(str(key), value, logins) for key, value in items}

    def describe_exception(
        self, exc: BaseException, host_package: str | None = None, *, max_message: int = 512
    ) -> dict[str, str]:
        """``error.type``, the scrubbed and bounded ``exception.message``, and
        ``exception.stacktrace`` as ``module:function:line`` lines for the host's own frames."""
        # Loaded by the first exception only: most runs record none.
        from optel.privacy import exceptions

        try:
            return exceptions.describe(exc, host_package, max_message, self.scrub_text)
        except Exception:
            try:
                kind = exceptions.error_type(exc)
            except Exception:
                kind = "Exception"
            return {"error.type": kind, "exception.message": "", "exception.stacktrace": ""}


# -- the default scrubber: what ``optel.privacy.scrub_text`` and its siblings apply ----------------

_default = Scrubber()


def configure(
    rules: Iterable[HostRule] | HostRule | None = None,
    *,
    attributes: Iterable[str] | None = None,
    disable_builtin_rules: bool = False,
) -> Scrubber:
    """Make a new default scrubber with the host's rules and allow-listed attribute names.

    Called by ``optel.init(scrub=..., attributes=...)``; ``configure()`` restores the built-ins
    alone. Raises TypeError for a rule that is neither a callable nor a ``(pattern, marker)`` pair.
    """
    global _default
    _default = Scrubber(rules, attributes=attributes, disable_builtin_rules=disable_builtin_rules)
    return _default


def default_scrubber() -> Scrubber:
    """The scrubber the module-level functions use."""
    return _default


def scrub_text(text: str) -> str:
    """`text` with paths, URLs, e-mails, IPs, secrets and the login name replaced by markers."""
    return _default.scrub_text(text)


def scrub_value(key: str, value: object) -> object:
    """`value` as it may be exported under attribute `key` (see ``Scrubber.scrub_value``)."""
    return _default.scrub_value(key, value)


def scrub_attributes(attributes: Mapping[str, object] | None) -> dict[str, object]:
    """A new dict of scrubbed attribute values."""
    return _default.scrub_attributes(attributes)


def describe_exception(
    exc: BaseException, host_package: str | None = None, *, max_message: int = 512
) -> dict[str, str]:
    """``{"error.type", "exception.message", "exception.stacktrace"}`` for `exc`; no locals ever."""
    return _default.describe_exception(exc, host_package, max_message=max_message)
