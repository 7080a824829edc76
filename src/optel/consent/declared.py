"""What a maintainer declares about consent beyond optel's defaults: a tool's own off switches
(an environment variable, a key of a legacy config file) and the answers its prompt accepts.

A ported tool keeps the switches its users already know (``BLINDAI_DISABLE_TELEMETRY=1``,
``telemetry.enabled = false`` in ``~/.gpt-pilot/config.json``) by declaring them, not by host code
that reads them before ``optel.init()``. A declared switch can only turn telemetry off.
"""

from __future__ import annotations

import os

from optel._env import FALSE_WORDS
from optel._terminal import PATH_LIMIT, shown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# An answer that stores nothing: off for this run, and the question comes back next run.
LATER = "later"
# The sentinel for OffSwitch.file(..., off=ABSENT): the key missing (or empty) means off.
ABSENT = "<absent>"
_FILE_KINDS = {".json": "json", ".toml": "toml", ".yml": "yaml", ".yaml": "yaml"}


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
        if os.path.splitext(path)[1].lower() not in _FILE_KINDS:
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


def switched_off(
    switches: Sequence[OffSwitch], env: Mapping[str, str], project_dir: str | None
) -> str | None:
    """The reason the first declared switch that says off gives, or None when none does."""
    for switch in switches:
        if switch.kind == "env":
            value = env.get(switch.where)
            if value is not None and value.strip().lower() not in FALSE_WORDS:
                return f"{switch.where}={shown(value.strip())} is set in the environment"
            continue
        reason = _file_says_off(switch, project_dir)
        if reason:
            return reason
    return None


def _file_says_off(switch: OffSwitch, project_dir: str | None) -> str | None:
    path = os.path.expanduser(switch.where)
    if not os.path.isabs(path):
        path = os.path.join(project_dir or os.getcwd(), path)
    where = shown(path, PATH_LIMIT)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(1 << 20)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        # It exists but cannot be read: the user may have written "off" in it. Fail closed.
        return f"{where} cannot be read ({exc.__class__.__name__}), and it may turn telemetry off"
    try:
        table = _parse(_FILE_KINDS[os.path.splitext(path)[1].lower()], text)
    except ValueError as exc:
        return f"{where} cannot be parsed ({exc}), and it may turn telemetry off"
    found, value = _lookup(table, switch.key)
    if switch.off is ABSENT:
        if not found or value in (None, ""):
            return f"{where} has no {switch.key}"
        return None
    if found and _same(value, switch.off):
        return f"{where} sets {switch.key} to {shown(str(value), 40)}"
    return None


def _same(value: object, off: object) -> bool:
    if isinstance(off, bool):
        if isinstance(value, bool):
            return value is off
        if isinstance(value, str):
            word = value.strip().lower()
            return (
                word in FALSE_WORDS
                if off is False
                else word in ("1", "true", "yes", "on", "y", "t")
            )
        return False
    return value == off


def _lookup(table: object, key: str) -> tuple[bool, object]:
    for part in key.split("."):
        if not isinstance(table, dict) or part not in table:
            return False, None
        table = table[part]
    return True, table


def _parse(kind: str, text: str) -> object:
    if kind == "json":
        import json

        try:
            return json.loads(text)
        except ValueError as exc:
            raise ValueError("not JSON") from exc
    if kind == "toml":
        from optel.consent.files import Broken, parse_toml

        table = parse_toml(text)
        if isinstance(table, Broken):
            raise ValueError("not TOML")
        return table
    return _flat_yaml(text)


def _flat_yaml(text: str) -> dict[str, object]:
    """The ``key: value`` and nested-block mappings of a small YAML config (PipeRider's
    ``profile.yml``), without a YAML library: the host side imports only the standard library."""
    root: dict[str, object] = {}
    stack: list[tuple[int, dict[str, object]]] = [(-1, root)]
    in_list: int | None = None
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith(("#", "---")):
            continue
        indent = len(line) - len(line.lstrip(" "))
        item = line.strip() == "-" or line.strip().startswith("- ")
        if item or (in_list is not None and indent > in_list):
            # Lists (data sources, ...) are not read: an item and what nests under it are skipped.
            in_list = indent if item else in_list
            continue
        in_list = None
        key, sep, value = line.strip().partition(":")
        if not sep:
            raise ValueError("not a flat YAML mapping")
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        value = value.strip()
        if not value:
            child: dict[str, object] = {}
            parent[key.strip()] = child
            stack.append((indent, child))
        else:
            parent[key.strip()] = _yaml_scalar(value)
    return root


def _yaml_scalar(value: str) -> object:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    word = value.lower()
    if word in ("true", "yes", "on"):
        return True
    if word in ("false", "no", "off"):
        return False
    if word in ("null", "~"):
        return None
    return value


def interpret_declared(text: str, answers: Mapping[str, str]) -> str | None:
    """The mode (or ``later``) a declared answer names; None when ``text`` is not one of them."""
    return answers.get(text.strip().lower())


class Declarations:
    """The consent settings a maintainer declared in ``optel.init()`` (checked by ``_settings``)."""

    __slots__ = ("answers", "confirm_flag", "notice", "off_switches")

    def __init__(
        self,
        *,
        notice: object = "terminal",
        off_switches: Sequence[OffSwitch] = (),
        answers: Mapping[str, str] | None = None,
        confirm_flag: bool = False,
    ) -> None:
        self.notice = notice
        self.off_switches = tuple(off_switches)
        self.answers = dict(answers) if answers else None
        self.confirm_flag = confirm_flag

    @property
    def headless_notice(self) -> bool:
        """Whether the opt-out notice may go where no terminal shows it (stderr or the tool's log)."""
        return self.notice != "terminal"


NONE = Declarations()
