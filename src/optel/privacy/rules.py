"""The built-in chain: every rule, a plain ``str -> str`` function, in the order it runs.

The order is ``table.RULES``'s. Regular expressions are compiled on the first call that needs them,
never at import (``patterns``), and most strings never reach this chain (``fastpath``: the
``Scrubber`` imports this module only for a string that fails it). Every rule replaces what it finds by a
marker that keeps nothing of the original (``table``).
"""

from __future__ import annotations

from optel.privacy.credentials import (
    scrub_auth_headers,
    scrub_auth_schemes,
    scrub_jwts,
    scrub_key_values,
    scrub_long_hex,
    scrub_long_runs,
    scrub_private_keys,
    scrub_token_prefixes,
)
from optel.privacy.hosts import scrub_hosts
from optel.privacy.identity import current_identity
from optel.privacy.locations import scrub_emails, scrub_home, scrub_ips, scrub_paths, scrub_urls
from optel.privacy.markers import USER
from optel.privacy.numbers import scrub_macs, scrub_numbers
from optel.privacy.table import RULES

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Callable

_login_patterns: dict[tuple[str, ...], re.Pattern[str]] = {}


def scrub_login(text: str) -> str:
    """The current user's login name, as a word in any case (``alice``, ``Alice_notes``) -> ``<user>``."""
    _, logins = current_identity()
    if not logins:
        return text
    folded = text.lower()
    if not any(login in folded for login in logins):
        return text
    compiled = _login_patterns.get(logins)
    if compiled is None:
        import re

        alternation = "|".join(re.escape(login) for login in sorted(logins, key=len, reverse=True))
        # "<" and ">" as boundaries keep a login such as "path" from eating the markers.
        compiled = re.compile(r"(?i)(?<![A-Za-z0-9<])(?:" + alternation + r")(?![A-Za-z0-9>])")
        if len(_login_patterns) > 32:
            # Only tests change USER mid-process; keep their many logins from piling up.
            _login_patterns.clear()
        _login_patterns[logins] = compiled
    return compiled.sub(USER, text)


# By the names of table.RULES, the one statement of the chain's order (docs/privacy.md is
# generated from it): a row without a function here fails at import, and the tests import this.
_FUNCTIONS: dict[str, Callable[[str], str]] = {
    "home": scrub_home,
    "urls": scrub_urls,
    "paths": scrub_paths,
    "emails": scrub_emails,
    "ips": scrub_ips,
    "private_keys": scrub_private_keys,
    "auth_headers": scrub_auth_headers,
    "auth_schemes": scrub_auth_schemes,
    "token_prefixes": scrub_token_prefixes,
    "jwts": scrub_jwts,
    "key_values": scrub_key_values,
    "long_hex": scrub_long_hex,
    "long_runs": scrub_long_runs,
    "macs": scrub_macs,
    "hosts": scrub_hosts,
    "numbers": scrub_numbers,
    "login": scrub_login,
}
BUILTIN_RULES: tuple[Callable[[str], str], ...] = tuple(_FUNCTIONS[rule.name] for rule in RULES)


def apply_builtin_rules(text: str) -> str:
    """The whole built-in chain."""
    for rule in BUILTIN_RULES:
        text = rule(text)
    return text
