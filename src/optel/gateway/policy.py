"""What the gateway keeps of an attribute list, in plain Python (no rotel type here, so it is testable).

The rules are those of collector/gateway.yaml, from the same sources: the identity keys and the scrub
rules of ``optel.privacy.table``, the attribute allow-list of the data dictionary
(``optel.record.dictionary``), plus the keys the operator allows for their apps' own attributes.
In the gateway's order: identity keys deleted, keys outside the allow-list dropped, values scrubbed,
secret-named keys and secret shapes masked, and last (so the long-hex rule cannot eat the digest)
the install ids pseudonymised when a salt is set.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Iterable, Optional

from optel.privacy import table
from optel.record.dictionary import EVENT, METRIC, RESOURCE, SPAN, names_in

# The settings reach the processors (inside rotel's interpreter) through its environment; the names
# are collector/gateway.yaml's.
SALT_ENV = "OPTEL_INSTALL_ID_SALT"
SERVICES_ENV = "OPTEL_GATEWAY_ALLOWED_SERVICES"
ALLOW_ENV = "OPTEL_GATEWAY_ALLOW_ATTRIBUTES"
SECRET = "<secret>"
# What Policy.value answers for an attribute that must go whole.
DROP = object()
_SCALARS = (str, bool, int, float)
_SALT_SHAPE = re.compile(r"[A-Za-z0-9]+")

# Scopes: where an attribute list sits. A span's status message is scrubbed as a span value.
SCOPES = (RESOURCE, SPAN, EVENT, METRIC)


def _any_key(keys: Iterable[str], *patterns: str) -> re.Pattern[str]:
    exact = [re.escape(key) for key in keys]
    return re.compile("|".join([*(f"^(?:{k})$" for k in exact), *patterns]))


class Policy:
    """The gateway's rules, compiled once per process."""

    def __init__(self, *, salt: str = "", services: str = "", allow: Iterable[str] = ()) -> None:
        problem = settings_problem(salt, services)
        if problem:
            raise ValueError(problem)
        self.salt = salt
        self.services = re.compile(services) if services else None
        extra = frozenset(key for key in allow if key)
        self.allowed = {scope: names_in(scope) | extra for scope in SCOPES}
        self.drop = {
            RESOURCE: _any_key(table.GATEWAY_RESOURCE_IDENTITY_KEYS, table.GATEWAY_IP_KEY),
            SPAN: _any_key(
                table.GATEWAY_IDENTITY_KEYS, table.GATEWAY_NETWORK_KEY, table.GATEWAY_IP_KEY
            ),
            EVENT: _any_key(("client.address",), table.GATEWAY_IP_KEY),
            METRIC: _any_key(
                table.GATEWAY_IDENTITY_KEYS, table.GATEWAY_NETWORK_KEY, table.GATEWAY_IP_KEY
            ),
        }
        self.rules = {
            resource: tuple(
                (re.compile(pattern), marker)
                for pattern, marker in table.gateway_scrub_rules(resource=resource)
            )
            for resource in (False, True)
        }
        self.secret_key = re.compile(table.GATEWAY_SECRET_KEYS)
        self.blocked = tuple(re.compile(p) for p in table.gateway_blocked_values())

    @classmethod
    def from_environment(cls) -> Policy:
        allow = os.environ.get(ALLOW_ENV, "").split(",")
        return cls(
            salt=os.environ.get(SALT_ENV, ""),
            services=os.environ.get(SERVICES_ENV, ""),
            allow=(key.strip() for key in allow),
        )

    def admits(self, service_name: Optional[str]) -> bool:
        """Whether data of this service.name may pass (always, unless services were named)."""
        if self.services is None:
            return True
        return bool(service_name) and self.services.fullmatch(service_name or "") is not None

    def scrub(self, text: str, *, resource: bool = False) -> str:
        """`text` after the gateway's scrub rules and its blocked-value patterns."""
        for pattern, marker in self.rules[resource]:
            text = pattern.sub(marker, text)
        for pattern in self.blocked:
            text = pattern.sub(SECRET, text)
        return text

    def value(self, scope: str, key: str, value: object) -> object:
        """The value to send for an attribute that is kept: the same object when nothing changes, a
        new string, or DROP. An array (a tuple here) passes whole or not at all: optel's arrays hold
        names, so one that scrubbing would change is not optel's and is dropped; so is anything that
        is not a scalar or an array of scalars (bytes, key/value lists)."""
        if isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, tuple):
            if self.secret_key.search(key) or not all(isinstance(v, _SCALARS) for v in value):
                return DROP
            same = all(self.value(scope, key, v) == v for v in value)
            return value if same else DROP
        if not isinstance(value, str):
            return DROP
        if self.secret_key.search(key):
            return SECRET
        value = self.scrub(value, resource=scope == RESOURCE)
        if scope == RESOURCE and self.salt and key in table.GATEWAY_INSTALL_ID_KEYS:
            value = hashlib.sha256(f"{self.salt}:{value}".encode()).hexdigest()
        return value

    def keeps(self, scope: str, key: str) -> bool:
        """Whether an attribute survives the identity rules and the allow-list."""
        return key in self.allowed[scope] and not self.drop[scope].search(key)


def settings_problem(salt: str, services: str) -> Optional[str]:
    """Why these settings cannot be used, in one line, or None."""
    if salt and not _SALT_SHAPE.fullmatch(salt):
        return f"{SALT_ENV} must be letters and digits only"
    if services:
        try:
            re.compile(services)
        except re.error as exc:
            return f"{SERVICES_ENV} is not a regular expression: {exc}"
    return None
