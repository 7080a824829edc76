"""A tool's own names for the telemetry flags in an argparse parser (``add_argparse(flag_names=...)``).

A ported tool keeps the switches its users know. Roles, each an option string or a list of them:

- ``on`` / ``off``: the session flag (docs/guide.md#give-your-users-the-controls), ``--analytics`` / ``--no-analytics``;
- ``disable``: off for good from a flag, as ``telemetry disable`` stores it (``--analytics-disable``);
  the run itself goes on with telemetry off;
- ``log``: ``FILE``, the audit log of this run (``--analytics-log FILE``), written whether or
  not sending is on.

The flags may come in any order: consent is decided once, when argparse has read the whole
command line (a hidden option's default is converted then), so ``--no-analytics --analytics-log
f`` and ``--analytics-log f --no-analytics`` mean the same.
"""

from __future__ import annotations

import sys
from typing import Any

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

ROLES = ("on", "off", "disable", "log")
HELP = {
    "on": "send usage telemetry for this run",
    "off": "send no usage telemetry for this run",
    "disable": "turn usage telemetry off for good",
    "log": "append every telemetry record of this run to FILE (JSON lines), sent or not",
}
_FINISH = "--optel-decide-after-parsing"


def _names(role: str, value: Any) -> list[str]:
    names = [value] if isinstance(value, str) else list(value)
    if not names or not all(isinstance(n, str) and n.startswith("-") for n in names):
        raise ValueError(
            f"flag_names[{role!r}] must be option strings such as '--analytics', not {value!r}"
        )
    return names


def add_named_flags(
    parser: argparse.ArgumentParser,
    app: str,
    flag_names: Mapping[str, Any],
    settings: dict[str, Any],
    host: str | None = None,
) -> None:
    """Add the roles ``flag_names`` names to ``parser``; decide consent once parsing is done."""
    import argparse

    unknown = sorted(set(flag_names) - set(ROLES))
    if unknown:
        raise ValueError(
            f"flag_names: unknown role(s) {', '.join(unknown)}; roles are {', '.join(ROLES)}"
        )
    state: dict[str, Any] = {}
    if "on" in flag_names or "off" in flag_names:
        from optel.consent.howto import set_session_flags

        # Reasons (`status`, tel.consent.reason) name the flags the user typed.
        on, off = (_names(r, flag_names[r])[0] if r in flag_names else "" for r in ("on", "off"))
        set_session_flags(app, on or "--telemetry", off or "--no-telemetry")

    class Remember(argparse.Action):
        def __call__(
            self, parser: Any, namespace: Any, values: Any, option_string: Any = None
        ) -> None:
            state[self.const] = values if self.const == "log" else True
            if self.const != "log":
                setattr(namespace, self.dest, self.const != "off" and self.const != "disable")

    def finish(_unused: str) -> None:
        decide(app, state, settings, host)
        state.clear()

    group = parser.add_mutually_exclusive_group()
    for role in ("on", "off", "disable"):
        if role in flag_names:
            group.add_argument(
                *_names(role, flag_names[role]), dest="telemetry", action=Remember, nargs=0,
                const=role, default=None, help=HELP[role],
            )  # fmt: skip
    if "log" in flag_names:
        parser.add_argument(
            *_names("log", flag_names["log"]), dest="telemetry_log", action=Remember,
            const="log", metavar="FILE", default=None, help=HELP["log"],
        )  # fmt: skip
    parser.add_argument(
        _FINISH, dest="_optel_decided", default="", type=finish, help=argparse.SUPPRESS
    )


def decide(
    app: str, state: Mapping[str, Any], settings: Mapping[str, Any], host: str | None = None
) -> None:
    """``optel.init`` with what the flags said: disable stores off first, then the run is off."""
    from optel.cli.embed import apply_session_flag

    run_settings = dict(settings)
    if state.get("log"):
        run_settings["log_file"] = state["log"]
    flag: bool | None = None
    if state.get("disable"):
        from optel.cli import consent_commands

        # On stderr: the tool's own output stays the tool's.
        consent_commands.disable(app, stdout=sys.stderr)
        flag = False
    elif state.get("off"):
        flag = False
    elif state.get("on"):
        flag = True
    apply_session_flag(app, flag, run_settings, host)
