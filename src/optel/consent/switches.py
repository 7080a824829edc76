"""Reading a tool's declared off switches (docs/porting.md): its environment variables and the keys
of its own JSON, TOML or flat YAML config files. Loaded only when a tool declares one.
"""

from __future__ import annotations

import os

from optel._env import FALSE_WORDS
from optel._terminal import PATH_LIMIT, shown
from optel.consent.declared import ABSENT, FILE_KINDS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from optel.consent.declared import OffSwitch


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
        table = _parse(FILE_KINDS[os.path.splitext(path)[1].lower()], text)
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
