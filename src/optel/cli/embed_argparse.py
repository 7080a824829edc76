"""``optel.cli.add_argparse``: the telemetry controls in an argparse CLI (see ``optel.cli.embed``).

A parser with sub-commands gets the ``telemetry`` sub-command; one without (httpie's) gets
``--telemetry-command {status,enable,disable,reset,show}``, since a sub-command would make a
positional required and break every command line the tool took. Either runs and exits while
``parse_args`` parses it, like ``--version``. Both get ``--telemetry, --no-telemetry`` (``dest``
``telemetry``: True, False or None), taken after a sub-command too.
"""

from __future__ import annotations

import sys
from typing import Any

from optel.cli.embed import (
    COMMAND_OPTION,
    COMMANDS,
    FLAG_HELP,
    FLAGS,
    HELP,
    apply_session_flag,
    checked_settings,
    host_module,
    register_command_name,
    run_command,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

__all__ = ["add_argparse"]


def add_argparse(
    parser: argparse.ArgumentParser,
    app: str,
    *,
    command_name: str | None = None,
    flag_names: Mapping[str, Any] | None = None,
    **settings: Any,
) -> None:
    """Add ``--telemetry/--no-telemetry`` and the telemetry commands to ``parser``: the
    ``telemetry`` sub-command when it has sub-commands, else ``--telemetry-command COMMAND``.
    ``command_name``: what the user types to run the tool, if not ``app``. ``flag_names``
    renames the flags and adds a tool's own (``optel.cli.flags``): for aider, ``{"on":
    "--analytics", "off": "--no-analytics", "disable": "--analytics-disable", "log":
    "--analytics-log"}``."""
    import argparse

    settings = checked_settings(settings)
    host = host_module(type(parser)) or _caller_module()
    if flag_names is None:
        _add_flags(parser, app, settings, host)
    else:
        from optel.cli.flags import add_named_flags

        add_named_flags(parser, app, flag_names, settings, host)
    commands = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    words = command_name or app
    if commands is None:
        _add_command_option(parser, app, settings)
        register_command_name(app, f"{words} {COMMAND_OPTION}")
    else:
        _add_command_parser(commands, app, settings, host)
        register_command_name(app, f"{words} telemetry")


def _caller_module() -> str | None:
    # The module that called add_argparse: the host's, when its parser is a plain ArgumentParser.
    frame = sys._getframe(2)
    name = frame.f_globals.get("__name__")
    return name if isinstance(name, str) else None


def _add_flags(
    parser: argparse.ArgumentParser, app: str, settings: Mapping[str, Any], host: str | None
) -> None:
    import argparse

    class Flag(argparse.Action):
        """``--telemetry`` and ``--no-telemetry`` in one action, so that help shows both."""

        def __call__(
            self, parser: Any, namespace: Any, values: Any, option_string: Any = None
        ) -> None:
            flag = option_string != "--no-telemetry"
            setattr(namespace, self.dest, flag)
            apply_session_flag(app, flag, settings, host)

    def unset(value: str) -> None:
        # argparse converts a string default with `type` once parsing is done and the flag was
        # not given: the moment to decide with no session flag.
        apply_session_flag(app, None, settings, host)

    parser.add_argument(
        *FLAGS, dest="telemetry", action=Flag, nargs=0, default="unset", type=unset, help=FLAG_HELP,
    )  # fmt: skip


def _add_command_option(
    parser: argparse.ArgumentParser, app: str, settings: Mapping[str, Any]
) -> None:
    """``--telemetry-command COMMAND`` for a parser without sub-commands: runs it and exits."""
    import argparse

    class RunCommand(argparse.Action):
        def __call__(
            self, parser: Any, namespace: Any, values: Any, option_string: Any = None
        ) -> None:
            parser.exit(run_command(app, str(values), settings))

    parser.add_argument(
        COMMAND_OPTION, choices=COMMANDS, metavar="{" + ",".join(COMMANDS) + "}",
        action=RunCommand, default=argparse.SUPPRESS,
        help=f"{HELP['telemetry']}: " + "; ".join(f"{n}: {HELP[n]}" for n in COMMANDS),
    )  # fmt: skip


def _add_command_parser(
    commands: Any, app: str, settings: Mapping[str, Any], host: str | None
) -> None:
    """The ``telemetry`` sub-command, and the session flags taken after any sub-command too."""
    import argparse

    class RunNow(argparse._SubParsersAction):  # type: ignore[type-arg]
        """Runs the chosen telemetry command as soon as it is parsed, then exits with its code."""

        def __call__(
            self, parser: Any, namespace: Any, values: Any, option_string: Any = None
        ) -> None:
            super().__call__(parser, namespace, values, option_string)
            options = {k: getattr(namespace, k, None) for k in ("identified", "user_id")}
            parser.exit(run_command(app, str(values[0]), settings, **options))

    _flags_anywhere_argparse(commands, app, settings, host)
    telemetry = commands.add_parser(
        "telemetry", help=HELP["telemetry"], description=HELP["telemetry"]
    )
    setattr(telemetry, "_optel_internal", True)  # noqa: B010
    inner = telemetry.add_subparsers(
        dest="telemetry_command", metavar="COMMAND", action=RunNow, required=True
    )
    for name in COMMANDS:
        leaf = inner.add_parser(name, help=HELP[name], description=HELP[name])
        setattr(leaf, "_optel_internal", True)  # noqa: B010
        if name == "enable":
            leaf.add_argument("--identified", action="store_true", help="also send a user id")
            leaf.add_argument(
                "--user-id", metavar="ID", help="the user id to send; implies --identified"
            )


def _flags_anywhere_argparse(
    commands: Any, app: str, settings: Mapping[str, Any], host: str | None
) -> None:
    """The host's sub-command action takes the session flags out of the sub-command's line (up
    to ``--``), wherever the user typed them (``tool run --no-telemetry``), sub-commands added
    later included."""
    base = type(commands)

    def __call__(
        self: Any, parser: Any, namespace: Any, values: Any, option_string: Any = None
    ) -> None:
        name, *rest = values
        end = rest.index("--") if "--" in rest else len(rest)
        given = [a for a in rest[:end] if a in FLAGS]
        if given:
            values = [name, *(a for a in rest[:end] if a not in FLAGS), *rest[end:]]
            flag = given[-1] != "--no-telemetry"
            setattr(namespace, "telemetry", flag)  # noqa: B010
            apply_session_flag(app, flag, settings, host)
        base.__call__(self, parser, namespace, values, option_string)

    commands.__class__ = type(base.__name__, (base,), {"__call__": __call__})
