"""Reading optel's environment variables one way everywhere (docs/contract.md#consent)."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

TRUE_WORDS = frozenset(("1", "true", "yes", "on", "y", "t"))
FALSE_WORDS = frozenset(("0", "false", "no", "off", "n", "f", ""))


def parse_bool(value: str | None) -> bool | None:
    """Read a boolean env value: True, False, or None when unset or not a boolean word.

    Trimmed and case-insensitive; an empty value is false.
    """
    if value is None:
        return None
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def otel_bool(value: str | None) -> tuple[bool, bool]:
    """An OpenTelemetry boolean variable, by the specification's own rule (not `parse_bool`'s):
    (value, understood). Only `true` (any case, trimmed) is true; everything else is false, and
    `understood` is False for a value other than `true`, `false` or empty, which deserves a warning.
    """
    word = (value or "").strip().lower()
    return word == "true", word in ("true", "false", "")


def do_not_track(environ: Mapping[str, str] | None = None) -> bool:
    """True when DO_NOT_TRACK opts out: set to anything but empty or a false word."""
    value = (os.environ if environ is None else environ).get("DO_NOT_TRACK")
    if value is None:
        return False
    return value.strip().lower() not in FALSE_WORDS


def app_env_prefix(app: str) -> str:
    """`<APP>`: the app name upper-cased, every run of non-alphanumerics turned into `_`.

    >>> app_env_prefix("my-tool.v2")
    'MY_TOOL_V2'
    """
    out: list[str] = []
    in_gap = False
    for ch in app.upper():
        if ch.isascii() and ch.isalnum():
            out.append(ch)
            in_gap = False
        elif not in_gap:
            out.append("_")
            in_gap = True
    return "".join(out)


def app_env(app: str, suffix: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of `<APP>_<suffix>` (for example `MY_TOOL_TELEMETRY`), or None."""
    return (os.environ if environ is None else environ).get(app_env_prefix(app) + "_" + suffix)


def debug_enabled(app: str, environ: Mapping[str, str] | None = None) -> bool:
    """`<APP>_TELEMETRY_DEBUG=1` or `OPTEL_DEBUG=1`: print records, send nothing."""
    env = os.environ if environ is None else environ
    return bool(
        parse_bool(app_env(app, "TELEMETRY_DEBUG", env)) or parse_bool(env.get("OPTEL_DEBUG"))
    )
