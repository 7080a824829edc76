"""Scrubbing: nothing personal or secret leaves the machine
(docs/privacy.md#nothing-personal-leaves-at-all).

Every string attribute, event attribute, exception message and resource value passes
``scrub_text`` once, when records are flushed. The built-in rules replace home directories and
other paths with ``<path>``, URLs with ``<url>``, e-mail addresses with ``<email>``, IPv4/IPv6
addresses with ``<ip>``, host names with ``<host>`` (``hosts``), keys and tokens with ``<secret>``
(their shapes in one table, ``table``), card, phone and social security numbers with ``<number>``
and MAC addresses with ``<mac>`` (``numbers``), and the user's login name with ``<user>``; the
values of credential-like keys are replaced whole (``optel.privacy.keys``).

Importing this package loads neither ``re`` nor the rules, nor their table: strings made only of
plain name characters are recognised without any regex (``optel.privacy.fastpath``, whose
pre-filter is generated from the table), the first other string loads the chain (``rules``), whose
patterns compile on first need, the first model name loads the model lists (``models``), the first
exception its description (``exceptions``) and host rules their parser (``hostrules``).

``optel.init(..., scrub=[...], attributes=[...])`` calls ``configure``; the built-in rules stay on
unless ``disable_builtin_rules=True`` is passed explicitly (see ``Scrubber``).
"""

from __future__ import annotations

from optel.privacy.keys import is_sensitive_key
from optel.privacy.markers import CUSTOM, EMAIL, IP, MARKERS, PATH, REDACTED, SECRET, URL, USER
from optel.privacy.modes import FORBIDDEN_KEYS, apply_mode
from optel.privacy.scrubber import Scrubber

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from optel.privacy.hostrules import HostRule, PatternRule

__all__ = [
    "CUSTOM",
    "EMAIL",
    "FORBIDDEN_KEYS",
    "IP",
    "MARKERS",
    "PATH",
    "REDACTED",
    "SECRET",
    "URL",
    "USER",
    "PatternRule",
    "Scrubber",
    "apply_mode",
    "configure",
    "default_scrubber",
    "describe_exception",
    "is_sensitive_key",
    "public_model_name",
    "scrub_attributes",
    "scrub_text",
    "scrub_value",
]

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


def __getattr__(name: str) -> object:
    # PatternRule is public, but only a host that gives ``(pattern, marker)`` rules needs its module.
    if name == "PatternRule":
        from optel.privacy.hostrules import PatternRule

        return PatternRule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def public_model_name(model: str | None, provider: str | None = None) -> str | None:
    """`model` when it is a public model name, else ``custom`` (see ``optel.privacy.models``)."""
    # Imported on the first call: only a run that records an LLM call needs the model lists.
    from optel.privacy.models import public_model_name as public

    return public(model, provider)


def describe_exception(
    exc: BaseException, host_package: str | None = None, *, max_message: int = 512
) -> dict[str, str]:
    """``{"error.type", "exception.message", "exception.stacktrace"}`` for `exc`; no locals ever."""
    return _default.describe_exception(exc, host_package, max_message=max_message)
