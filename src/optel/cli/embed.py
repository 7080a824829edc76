"""``<tool> telemetry status|enable|disable|reset|show`` and ``--telemetry/--no-telemetry`` in a host CLI.

Three front-ends, one behaviour: the commands call the same functions as ``optel --app APP ...``
(``optel.cli.consent_commands``), so they print the same lines and return the same exit codes.
The flags are the session flag of docs/guide.md#give-your-users-the-controls: given the app's ``optel.init`` settings, the
helper calls ``optel.init(app, session_flag=<flag or None>, **settings)`` while the command line
is parsed, before any command of the host runs, so that its commands are recorded (or not) as the
user just said. A host that uses the flags passes its init settings here instead of calling
``optel.init`` itself. The ``telemetry`` commands themselves are never recorded: the
instrumentors skip commands whose callback is defined in this module (docs/contract.md#consent: no event ever
records the opt-out).

- click: ``optel.cli.click_group("tool", cli=cli, endpoint=...)`` adds the group and the flags to
  the host's root group ``cli``, and decides in its callback (without ``cli``: returns the group
  for ``cli.add_command``, and the host calls ``optel.init`` itself).
- typer: ``optel.cli.typer_app("tool", cli=app, endpoint=...)`` adds the ``telemetry`` sub-app,
  and the flags when the host's app has no callback of its own.
- argparse: ``optel.cli.add_argparse(parser, "tool", endpoint=...)`` adds the flags (``dest``
  ``telemetry``: True, False or None) and, to a parser with sub-commands, the ``telemetry``
  sub-command (call it after ``add_subparsers``); to a parser without (httpie's), an option
  ``--telemetry-command {status,enable,disable,reset,show}`` instead, since a sub-command would
  make a positional required and break every command line the tool took. Either runs the command
  and exits while ``parse_args`` parses it, like ``--version`` does.

The flags are global flags: a user types them wherever a global flag goes (``llm prompt
--no-telemetry``, ``tool run --telemetry``), not only right after the program name; ``--help``
shows both spellings.

This module holds what the three share; the front-ends are ``optel.cli.embed_click``,
``optel.cli.embed_typer`` and ``optel.cli.embed_argparse`` (with ``optel.cli.flags`` for a tool's own
flag names), each loaded only by a host of that framework.

The host's identity comes from the host, not from this module: the version and the frames of an
exception are those of the package that defined ``cli``/``parser``, and the texts optel shows
name the host's own command (``llm telemetry disable``; ``command_name=`` when the user types
something else than the app name).
"""

from __future__ import annotations

import os
import sys
from typing import Any

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

COMMANDS = ("status", "enable", "disable", "reset", "show")
HELP = {
    "telemetry": "see and change what this tool may send about its usage",
    "status": "show whether telemetry is on, which setting decided it and why",
    "enable": "turn telemetry on (anonymous unless --identified)",
    "disable": "turn telemetry off, for good, and delete what was not sent",
    "reset": "start again with a new install id; unsent data is deleted",
    "show": "list everything that may be collected",
}
FLAG_HELP = "send usage telemetry for this run only / never for this run"
FLAGS = ("--telemetry", "--no-telemetry")
COMMAND_OPTION = "--telemetry-command"
# optel.init's keyword arguments; anything else given to a helper is a mistake.
INIT_SETTINGS = frozenset(
    (
        "version", "endpoint", "policy", "ask_percent", "sample_percent", "modes", "headers",
        "log_file", "flush_interval", "consent_version", "scrub", "attributes", "project_dir",
        "notice", "off_switches", "answers", "confirm_flag",
    )
)  # fmt: skip


def checked_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(settings) - INIT_SETTINGS)
    if unknown:
        raise TypeError(f"unexpected optel.init() setting(s): {', '.join(unknown)}")
    return dict(settings)


def run_command(app: str, command: str, settings: Mapping[str, Any], **options: Any) -> int:
    """Run one ``telemetry`` command as ``optel --app APP <command>`` would; its exit code."""
    from optel.cli import consent_commands as cc

    _tell_texts(app)
    if command == "status":
        project_dir = settings.get("project_dir")
        return cc.status(
            app,
            policy=settings.get("policy", "opt-in"),
            consent_version=settings.get("consent_version", 1),
            sample_percent=settings.get("sample_percent", 100.0),
            endpoint=settings.get("endpoint"),
            project_dir=None if project_dir is None else os.fspath(project_dir),
            off_switches=tuple(settings.get("off_switches") or ()),
        )
    if command == "enable":
        return cc.enable(
            app,
            identified=bool(options.get("identified")),
            user_id=options.get("user_id"),
            consent_version=settings.get("consent_version", 1),
        )
    if command == "disable":
        return cc.disable(app)
    if command == "reset":
        return cc.reset(app)
    if command == "show":
        from optel.record import dictionary

        sys.stdout.write(dictionary.render())
        return 0
    raise ValueError(f"no telemetry command {command!r}")


def apply_session_flag(
    app: str, flag: bool | None, settings: Mapping[str, Any], host: str | None = None
) -> None:
    """``optel.init`` with the user's flag; a second init keeps the first (and logs it).

    ``host`` is the module that defined the host's CLI: init() called from here would otherwise
    take optel for the host (its version for the app's, optel's frames for the host's).
    """
    import optel

    _tell_texts(app)
    telemetry = optel.init(app, session_flag=flag, **settings)
    _own_host(telemetry, host)


def _own_host(telemetry: Any, host: str | None) -> None:
    """Give the host's package, not optel's, the version lookup and the exception frames; with
    no package to name (a script), no version rather than optel's."""
    from optel._settings import caller_module
    from optel.record import spans

    module = sys.modules.get(host) if host else None
    package = caller_module(vars(module) if module is not None else {"__name__": host})
    if package == "optel":
        return
    settings = telemetry.settings
    if settings.version is None and settings.version_module == "optel":
        settings.version_module = package
    if spans.host_package == "optel":
        spans.host_package = package or ("__main__" if host == "__main__" else None)


def host_module(*candidates: Any) -> str | None:
    """The module of the first candidate (a function or a class) that is not optel's or a
    framework's own: where the host defined its CLI."""
    for candidate in candidates:
        name = getattr(candidate, "__module__", None)
        if isinstance(name, str) and name.partition(".")[0] not in _NOT_HOSTS:
            return name
    return None


_NOT_HOSTS = frozenset(("optel", "click", "typer", "argparse", "builtins"))


def flags_first(args: list[str]) -> list[str]:
    """The command line with the session flags moved to the front (up to ``--``), where the root
    command parses them: they are global flags, typed wherever the user types one."""
    end = args.index("--") if "--" in args else len(args)
    head = args[:end]
    flags = [a for a in head if a in FLAGS]
    if not flags or head[: len(flags)] == flags:
        return args
    return flags + [a for a in head if a not in FLAGS] + args[end:]


# app -> how its user runs its telemetry commands ("llm telemetry"), told to optel's texts once
# they are about to be shown (init, a telemetry command): importing optel.consent at every start
# of the tool, for a `--version`, would cost milliseconds.
_command_words: dict[str, str] = {}


def register_command_name(app: str, words: str) -> None:
    """Note how the user runs this app's telemetry commands (``llm telemetry``)."""
    _command_words[app] = words


def _tell_texts(app: str) -> None:
    words = _command_words.get(app)
    if words is None:
        return
    try:
        import importlib

        howto = importlib.import_module("optel.consent.howto")
    except ImportError:
        return  # optel before the texts learned to name the host's command
    howto.set_telemetry_command(app, words)
