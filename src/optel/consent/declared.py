"""What a maintainer declares about consent beyond optel's defaults: a tool's own off switches
(an environment variable, a key of a legacy config file) and the answers its prompt accepts.

A ported tool keeps the switches its users already know (``BLINDAI_DISABLE_TELEMETRY=1``,
``telemetry.enabled = false`` in ``~/.gpt-pilot/config.json``) by declaring them, not by host code
that reads them before ``optel.init()``. A declared switch can only turn telemetry off; reading
one is ``optel.consent.switches``, loaded only for a tool that declares one; what a tool declared
is carried to the decision by ``optel.consent.value.Declarations``.
"""

from __future__ import annotations

import os

# The sentinel for OffSwitch.file(..., off=ABSENT): the key missing (or empty) means off.
ABSENT = "<absent>"
FILE_KINDS = {".json": "json", ".toml": "toml", ".yml": "yaml", ".yaml": "yaml"}


class OffSwitch:
    """One declared off switch; build it with ``OffSwitch.env`` or ``OffSwitch.file``."""

    __slots__ = ("key", "kind", "off", "where")

    def __init__(self, kind: str, where: str, key: str = "", off: object = False) -> None:
        self.kind = kind
        self.where = where
        self.key = key
        self.off = off

    @classmethod
    def env(cls, name: str) -> OffSwitch:
        """``name`` set to anything but empty or a false word (``0``, ``false``, ``no``...) is off,
        the rule ``DO_NOT_TRACK`` follows."""
        if not isinstance(name, str) or not name or "=" in name:
            raise ValueError(f"optel.OffSwitch.env(): {name!r} is not an environment variable name")
        return cls("env", name)

    @classmethod
    def file(cls, path: str, key: str, *, off: object = False) -> OffSwitch:
        """``key`` (dotted: ``telemetry.enabled``) of the JSON, TOML or flat YAML file ``path``
        (``~`` expanded; a relative path is looked up in the project directory) equal to ``off`` is
        off. ``off=OffSwitch.ABSENT``: the file exists but the key is missing or empty."""
        if not isinstance(path, str) or not path:
            raise ValueError(
                f"optel.OffSwitch.file(): path must be a non-empty string, not {path!r}"
            )
        if os.path.splitext(path)[1].lower() not in FILE_KINDS:
            raise ValueError(
                f"optel.OffSwitch.file(): {path!r} must end in .json, .toml, .yml or .yaml"
            )
        if not isinstance(key, str) or not key.strip("."):
            raise ValueError(f"optel.OffSwitch.file(): key must be a dotted name, not {key!r}")
        if not (off is ABSENT or off is None or isinstance(off, (bool, int, float, str))):
            raise TypeError(f"optel.OffSwitch.file(): off must be a plain value, not {off!r}")
        return cls("file", path, key, off)

    ABSENT = ABSENT

    def __repr__(self) -> str:
        if self.kind == "env":
            return f"OffSwitch.env({self.where!r})"
        return f"OffSwitch.file({self.where!r}, {self.key!r}, off={self.off!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OffSwitch):
            return NotImplemented
        return (self.kind, self.where, self.key, self.off) == (
            other.kind,
            other.where,
            other.key,
            other.off,
        )

    def __hash__(self) -> int:
        return hash((self.kind, self.where, self.key, repr(self.off)))
