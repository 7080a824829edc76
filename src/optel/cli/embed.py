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
  ``telemetry``: True, False or None) and the ``telemetry`` sub-command, which runs and exits
  while ``parse_args`` parses it, like ``--version`` does. Call it after ``add_subparsers``.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Mapping

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


def run_command(
    app: str, command: str, settings: Mapping[str, Any], **options: Any
) -> int:
    """Run one ``telemetry`` command as ``optel --app APP <command>`` would; its exit code."""
    from optel.cli import consent_commands as cc

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


def apply_session_flag(app: str, flag: bool | None, settings: Mapping[str, Any]) -> None:
    """``optel.init`` with the user's flag; a second init keeps the first (and logs it)."""
    import optel

    optel.init(app, session_flag=flag, **settings)


# --- click --------------------------------------------------------------------------------


def click_group(app: str, *, cli: Any = None, **settings: Any) -> Any:
    """The ``telemetry`` click group for ``app``; with ``cli`` (the host's root group), added to
    it together with the ``--telemetry/--no-telemetry`` flags."""
    import click

    settings = _checked(settings)

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
            click.Option(["--user-id"], metavar="ID", help="the user id to send; implies --identified"),
        ],
    )
    for name in ("disable", "reset", "show"):
        leaf(name)
    if cli is not None:
        cli.add_command(telemetry)
        cli.params.append(click_flag(app, **settings))
        _decide_in_callback(cli, app, settings)
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


def _decide_in_callback(cli: Any, app: str, settings: Mapping[str, Any]) -> None:
    import functools

    import click

    original = cli.callback

    def decide(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        if ctx.invoked_subcommand != "telemetry":
            apply_session_flag(app, ctx.meta.get("optel.session_flag"), settings)
        return None if original is None else original(*args, **kwargs)

    if original is not None:
        functools.update_wrapper(decide, original)
    cli.callback = decide


# --- typer --------------------------------------------------------------------------------


def typer_app(app: str, *, cli: Any = None, **settings: Any) -> Any:
    """The ``telemetry`` typer app for ``app``; with ``cli`` (the host's Typer), added to it, and
    the flags too when ``cli`` has no callback of its own."""
    import typer

    settings = _checked(settings)
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
        cli.add_typer(sub, name="telemetry")
        registered = getattr(cli, "registered_callback", None)
        if registered is None or getattr(registered, "callback", None) is None:
            flag = typer.Option(None, "--telemetry/--no-telemetry", help=FLAG_HELP)

            def root(ctx: Any, telemetry: Any = flag) -> None:
                # Decided here, once the subcommand is known: `tool telemetry ...` never prompts.
                if ctx.invoked_subcommand != "telemetry":
                    apply_session_flag(app, telemetry, settings)

            # typer reads the annotations; this module's are strings it could not resolve.
            root.__annotations__ = {"ctx": typer.Context, "telemetry": Optional[bool], "return": None}
            cli.callback()(root)
        else:
            registered.callback = _with_session_flag(typer, registered.callback, app, settings)

    return sub


def _with_session_flag(
    typer: Any, callback: Callable[..., Any], app: str, settings: dict[str, Any]
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
            apply_session_flag(app, telemetry, settings)
        return callback(*args, **kwargs)

    for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(wrapper, attr, getattr(callback, attr, None))
    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**hints, ctx_name: typer.Context, "_optel_telemetry": Optional[bool]}
    return wrapper


# --- argparse -----------------------------------------------------------------------------


def add_argparse(
    parser: argparse.ArgumentParser,
    app: str,
    *,
    flag_names: Mapping[str, Any] | None = None,
    **settings: Any,
) -> None:
    """Add ``--telemetry/--no-telemetry`` and the ``telemetry`` sub-command to ``parser``.

    ``flag_names`` renames the flags and adds a tool's own (``optel.cli.flags``): for aider,
    ``{"on": "--analytics", "off": "--no-analytics", "disable": "--analytics-disable",
    "log": "--analytics-log"}``.
    """
    import argparse

    settings = _checked(settings)
    if flag_names is not None:
        from optel.cli.flags import add_named_flags

        add_named_flags(parser, app, flag_names, settings)

    class Flag(argparse.Action):
        def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
            flag = self.const
            setattr(namespace, self.dest, flag)
            apply_session_flag(app, flag, settings)

    def unset(value: str) -> None:
        # argparse converts a string default with `type` once parsing is done and the flag was
        # not given: the moment to decide with no session flag.
        apply_session_flag(app, None, settings)

    if flag_names is None:
        flags = parser.add_mutually_exclusive_group()
        flags.add_argument(
            "--telemetry", dest="telemetry", action=Flag, nargs=0, const=True,
            default="unset", type=unset, help=FLAG_HELP,
        )  # fmt: skip
        flags.add_argument(
            "--no-telemetry", dest="telemetry", action=Flag, nargs=0, const=False,
            default=argparse.SUPPRESS, help=argparse.SUPPRESS,
        )  # fmt: skip

    commands = next(
        (a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None
    )
    if commands is None:
        commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    class RunNow(argparse._SubParsersAction):  # type: ignore[type-arg]
        """Runs the chosen telemetry command as soon as it is parsed, then exits with its code."""

        def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
            super().__call__(parser, namespace, values, option_string)
            options = {k: getattr(namespace, k, None) for k in ("identified", "user_id")}
            parser.exit(run_command(app, str(values[0]), settings, **options))

    telemetry = commands.add_parser("telemetry", help=HELP["telemetry"], description=HELP["telemetry"])
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
