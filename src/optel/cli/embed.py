"""``<tool> telemetry status|enable|disable|reset|show`` and ``--telemetry/--no-telemetry`` in a host CLI.

Three front-ends, one behaviour: the commands call the same functions as ``optel --app APP ...``
(``optel.cli.consent_commands``), so they print the same lines and return the same exit codes.
The flags are the session flag of SPEC §3 row 4: given the app's ``optel.init`` settings, the
helper calls ``optel.init(app, session_flag=<flag or None>, **settings)`` while the command line
is parsed, before any command of the host runs, so that its commands are recorded (or not) as the
user just said. A host that uses the flags passes its init settings here instead of calling
``optel.init`` itself. The ``telemetry`` commands themselves are never recorded: the
instrumentors skip commands whose callback is defined in this module (SPEC §3: no event ever
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

The host's identity comes from the host, not from this module: the version and the frames of an
exception are those of the package that defined ``cli``/``parser``, and the texts optel shows
name the host's own command (``llm telemetry disable``; ``command_name=`` when the user types
something else than the app name).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from optel.cli.embed_argparse import add_argparse

__all__ = ["add_argparse", "click_group", "typer_app"]

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


def _checked(settings: Mapping[str, Any]) -> dict[str, Any]:
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


# --- click --------------------------------------------------------------------------------


def click_group(
    app: str, *, cli: Any = None, command_name: str | None = None, **settings: Any
) -> Any:
    """The ``telemetry`` click group for ``app``; with ``cli`` (the host's root group), added to
    it together with the ``--telemetry/--no-telemetry`` flags. ``command_name``: what the user
    types to run the tool, if not ``app``."""
    import click

    settings = _checked(settings)
    register_command_name(app, f"{command_name or app} telemetry")

    @click.group("telemetry", help=HELP["telemetry"])
    def telemetry() -> None:
        pass

    def leaf(name: str, params: list[Any] | None = None) -> None:
        def callback(**options: Any) -> None:
            code = run_command(app, name, settings, **options)
            if code:
                click.get_current_context().exit(code)

        telemetry.add_command(
            click.Command(name, callback=callback, params=params or [], help=HELP[name])
        )

    leaf("status")
    leaf(
        "enable",
        [
            click.Option(["--identified"], is_flag=True, help="also send a user id"),
            click.Option(
                ["--user-id"], metavar="ID", help="the user id to send; implies --identified"
            ),
        ],
    )
    for name in ("disable", "reset", "show"):
        leaf(name)
    if cli is not None:
        cli.add_command(telemetry)
        cli.params.append(click_flag(app, **settings))
        host = host_module(cli.callback, type(cli), *getattr(cli, "commands", {}).values())
        _decide_in_callback(cli, app, settings, host)
        original_parse = cli.parse_args

        def parse_args(ctx: Any, args: list[str]) -> Any:
            return original_parse(ctx, flags_first(list(args)))

        cli.parse_args = parse_args
    return telemetry


def click_flag(app: str, **settings: Any) -> Any:
    """The ``--telemetry/--no-telemetry`` option for a click group (eager, not passed on).

    It only notes the flag; ``click_group(cli=...)`` decides in the group's callback, once click
    knows the subcommand, so that ``tool telemetry ...`` never prompts.
    """
    import click

    _checked(settings)

    def callback(ctx: Any, param: Any, value: bool | None) -> None:
        ctx.meta["optel.session_flag"] = value

    return click.Option(
        ["--telemetry/--no-telemetry"],
        default=None,
        is_eager=True,
        expose_value=False,
        callback=callback,
        help=FLAG_HELP,
    )


def _decide_in_callback(cli: Any, app: str, settings: Mapping[str, Any], host: str | None) -> None:
    import functools

    import click

    original = cli.callback

    def decide(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        if ctx.invoked_subcommand != "telemetry":
            apply_session_flag(app, ctx.meta.get("optel.session_flag"), settings, host)
        return None if original is None else original(*args, **kwargs)

    if original is not None:
        functools.update_wrapper(decide, original)
    cli.callback = decide


# --- typer --------------------------------------------------------------------------------


def typer_app(
    app: str, *, cli: Any = None, command_name: str | None = None, **settings: Any
) -> Any:
    """The ``telemetry`` typer app for ``app``; with ``cli`` (the host's Typer), added to it, with
    the flags (on the host's own callback, if it has one). ``command_name``: what the user types
    to run the tool, if not ``app``."""
    import typer

    settings = _checked(settings)
    register_command_name(app, f"{command_name or app} telemetry")
    sub = typer.Typer(name="telemetry", help=HELP["telemetry"], no_args_is_help=True)

    def finish(code: int) -> None:
        if code:
            raise typer.Exit(code)

    @sub.command("status", help=HELP["status"])
    def status() -> None:
        finish(run_command(app, "status", settings))

    @sub.command("enable", help=HELP["enable"])
    def enable(
        identified: bool = typer.Option(False, "--identified", help="also send a user id"),
        user_id: Optional[str] = typer.Option(
            None, "--user-id", metavar="ID", help="the user id to send; implies --identified"
        ),
    ) -> None:
        finish(run_command(app, "enable", settings, identified=identified, user_id=user_id))

    @sub.command("disable", help=HELP["disable"])
    def disable() -> None:
        finish(run_command(app, "disable", settings))

    @sub.command("reset", help=HELP["reset"])
    def reset() -> None:
        finish(run_command(app, "reset", settings))

    @sub.command("show", help=HELP["show"])
    def show() -> None:
        finish(run_command(app, "show", settings))

    if cli is not None:
        registered = getattr(cli, "registered_callback", None)
        host = host_module(
            getattr(registered, "callback", None),
            *(getattr(c, "callback", None) for c in getattr(cli, "registered_commands", ())),
        )
        cli.add_typer(sub, name="telemetry")
        if registered is None or getattr(registered, "callback", None) is None:
            flag = typer.Option(None, "--telemetry/--no-telemetry", help=FLAG_HELP)

            def root(ctx: Any, telemetry: Any = flag) -> None:
                # Decided here, once the subcommand is known: `tool telemetry ...` never prompts.
                if ctx.invoked_subcommand != "telemetry":
                    apply_session_flag(app, telemetry, settings, host)

            # typer reads the annotations; this module's are strings it could not resolve.
            root.__annotations__ = {
                "ctx": typer.Context,
                "telemetry": Optional[bool],
                "return": None,
            }
            cli.callback()(root)
        else:
            registered.callback = _with_session_flag(
                typer, registered.callback, app, settings, host
            )
        _flags_anywhere_typer(cli)

    return sub


def _flags_anywhere_typer(cli: Any) -> None:
    """typer builds the root click group at each call: give it a class that takes the flags
    wherever they are (the class of the host's callback or app, if it set one, extended)."""
    from typer.core import TyperGroup
    from typer.models import DefaultPlaceholder

    registered = getattr(cli, "registered_callback", None)
    owner = (
        registered
        if registered is not None and not isinstance(registered.cls, DefaultPlaceholder)
        else cli.info
    )
    base = owner.cls
    if isinstance(base, DefaultPlaceholder) or base is None:
        base = TyperGroup

    def parse_args(self: Any, ctx: Any, args: list[str]) -> Any:
        return base.parse_args(self, ctx, flags_first(list(args)))

    owner.cls = type(
        base.__name__, (base,), {"parse_args": parse_args, "__module__": base.__module__}
    )


def _with_session_flag(
    typer: Any, callback: Callable[..., Any], app: str, settings: dict[str, Any], host: str | None
) -> Callable[..., Any]:
    """The host's own typer callback, with ``--telemetry/--no-telemetry`` added and consent
    decided before it runs (typer builds the options from the signature, so the wrapper has the
    callback's parameters, plus the flag and a context when the callback takes none)."""
    import inspect
    import typing

    signature = inspect.signature(callback)
    try:
        hints = typing.get_type_hints(callback)
    except Exception:
        hints = dict(getattr(callback, "__annotations__", {}))
    params = list(signature.parameters.values())
    own_ctx = next((p.name for p in params if hints.get(p.name) is typer.Context), None)
    added_ctx = own_ctx is None
    ctx_name = "_optel_ctx" if own_ctx is None else own_ctx
    if added_ctx:
        params.insert(0, inspect.Parameter(ctx_name, inspect.Parameter.POSITIONAL_OR_KEYWORD))
    flag = inspect.Parameter(
        "_optel_telemetry",
        inspect.Parameter.KEYWORD_ONLY,
        default=typer.Option(None, "--telemetry/--no-telemetry", help=FLAG_HELP),
    )
    if params and params[-1].kind is inspect.Parameter.VAR_KEYWORD:
        params.insert(len(params) - 1, flag)
    else:
        params.append(flag)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        telemetry = kwargs.pop("_optel_telemetry", None)
        ctx = kwargs.pop(ctx_name, None) if added_ctx else kwargs.get(ctx_name)
        # Decided here, once the subcommand is known: `tool telemetry ...` never prompts.
        if getattr(ctx, "invoked_subcommand", None) != "telemetry":
            apply_session_flag(app, telemetry, settings, host)
        return callback(*args, **kwargs)

    for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(wrapper, attr, getattr(callback, attr, None))
    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**hints, ctx_name: typer.Context, "_optel_telemetry": Optional[bool]}
    return wrapper


# --- argparse: optel.cli.embed_argparse -----------------------------------------------------


def __getattr__(name: str) -> Any:
    # Loaded only by an argparse tool: a click tool's start does not pay for it.
    if name == "add_argparse":
        from optel.cli.embed_argparse import add_argparse

        return add_argparse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
