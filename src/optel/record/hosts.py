"""The hosts a maintainer declared for the HTTP client spans: only these are ever recorded.

Kept apart from ``optel.record.http`` so that declaring them (``optel.instrument(...,
http_hosts=[...])``, usually at import time) loads nothing else.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

# Lower case, without a trailing dot; replaced whole on each declaration (readers never lock).
hosts: frozenset[str] = frozenset()


def declare_hosts(names: Iterable[str]) -> None:
    """Add host names whose requests may carry ``server.address``; raises for anything else.

    A host is a bare DNS name as the URL spells it (``api.example.com``): no scheme, port, path
    or wildcard. Raises TypeError for a non-string and ValueError for a malformed one, before
    anything is declared.
    """
    global hosts
    if isinstance(names, (str, bytes)) or not hasattr(names, "__iter__"):
        raise TypeError(f"http_hosts must be a list of host names, not {names!r}")
    added = {_host_name(name) for name in names}
    hosts = hosts | added


def declared_hosts() -> frozenset[str]:
    """The host names declared so far."""
    return hosts


def _host_name(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"http_hosts: a host name is a string, not {value!r}")
    host = value.strip().lower().rstrip(".")
    if not host or any(c in host for c in "/:@?#*[] \t") or host.startswith("."):
        raise ValueError(
            f"http_hosts: {value!r} is not a bare host name; declare it as the URL spells its "
            "host, without scheme, port, path or wildcard (e.g. 'api.example.com')"
        )
    return host
