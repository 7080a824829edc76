"""``optel.cli.typer_app``: the ``telemetry`` sub-app and ``--telemetry/--no-telemetry`` in a typer CLI (see ``optel.cli.embed``)."""

from __future__ import annotations

from typing import Any, Optional

from optel.cli.embed import (
    FLAG_HELP,
    HELP,
    apply_session_flag,
    checked_settings,
    flags_first,
    host_module,
    register_command_name,
    run_command,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def typer_app(
    app: str, *, cli: Any = None, command_name: str | None = None, **settings: Any
) -> Any:
    """The ``telemetry`` typer app for ``app``; with ``cli`` (the host's Typer), added to it, with
    the flags (on the host's own callback, if it has one). ``command_name``: what the user types
    to run the tool, if not ``app``."""
    import typer

    settings = checked_settings(settings)
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
        _attach(typer, cli, sub, app, settings)

    return sub


def _attach(typer: Any, cli: Any, sub: Any, app: str, settings: dict[str, Any]) -> None:
    """Add ``sub`` to the host's Typer ``cli``, with the flags (on the host's own callback, if any)."""
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
        registered.callback = _with_session_flag(typer, registered.callback, app, settings, host)
    _flags_anywhere_typer(cli)


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
