"""Scrubbing: nothing personal or secret leaves the machine
(docs/privacy.md#nothing-personal-leaves-at-all).

Every string attribute, event attribute, exception message and resource value passes
``scrub_text`` once, when records are flushed, but the names the maintainer declares and the
facts optel makes itself (docs/privacy.md#names-the-maintainer-declares). The built-in rules
replace home directories and other paths with ``<path>``, URLs with ``<url>``, e-mail addresses
with ``<email>``, IPv4/IPv6 addresses with ``<ip>``, host names with ``<host>`` (``hosts``), keys
and tokens with ``<secret>`` (their shapes in one table, ``table``), card, phone and social
security numbers with ``<number>`` and MAC addresses with ``<mac>`` (``numbers``), and the user's
login name with ``<user>``; the values of credential-like keys are replaced whole
(``optel.privacy.keys``).

Importing this package loads nothing but this file; each public name loads its module on first
use (PEP 562). What each consent mode allows in the identity attributes (``apply_mode``,
``FORBIDDEN_KEYS``: never a host, user name or address; ``user.id`` only when identified) is
defined in ``optel.record.clean``, which every flush loads: a flush with no string to scrub
loads nothing of this package. The scrubber (``optel.privacy.scrubber``) loads with the first string that needs
it; strings made only of plain name characters are recognised without any regex
(``optel.privacy.fastpath``, whose pre-filter is generated from the table), the first other string
loads the chain (``rules``), whose patterns compile on first need, the first model name loads the
model lists (``models``), the first exception its description (``exceptions``) and host rules
their parser (``hostrules``).

``optel.init(..., scrub=[...], attributes=[...])`` calls ``configure``; the built-in rules stay on
unless ``disable_builtin_rules=True`` is passed explicitly (see ``Scrubber``).
"""

from __future__ import annotations

from optel import _loader

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel.privacy.hostrules import PatternRule
    from optel.privacy.keys import is_sensitive_key
    from optel.privacy.markers import CUSTOM, EMAIL, IP, MARKERS, PATH, REDACTED, SECRET, URL, USER
    from optel.privacy.models import public_model_name
    from optel.privacy.scrubber import (
        Scrubber,
        configure,
        default_scrubber,
        describe_exception,
        scrub_attributes,
        scrub_text,
        scrub_value,
    )
    from optel.record.clean import FORBIDDEN_KEYS, USER_ID, apply_mode

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
    "USER_ID",
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

# Where each public name lives. A flush whose strings are all declared names or optel's own facts
# (nearly every CLI run's) needs none of them: not the scrubber, its fast path, the login names or
# the key rule (docs/internals.md#the-import-budget-of-the-host-side).
_WHERE = {
    "apply_mode": "optel.record.clean",
    "FORBIDDEN_KEYS": "optel.record.clean",
    "USER_ID": "optel.record.clean",
    "is_sensitive_key": "keys",
    "Scrubber": "scrubber",
    "configure": "scrubber",
    "default_scrubber": "scrubber",
    "describe_exception": "scrubber",
    "scrub_attributes": "scrubber",
    "scrub_text": "scrubber",
    "scrub_value": "scrubber",
    "public_model_name": "models",
    "PatternRule": "hostrules",
    "CUSTOM": "markers",
    "EMAIL": "markers",
    "IP": "markers",
    "MARKERS": "markers",
    "PATH": "markers",
    "REDACTED": "markers",
    "SECRET": "markers",
    "URL": "markers",
    "USER": "markers",
}


def __getattr__(name: str) -> object:
    return _loader.lazy_attribute(__name__, globals(), _WHERE, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
