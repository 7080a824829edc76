"""``optel.cli.click_group``: the ``telemetry`` group and ``--telemetry/--no-telemetry`` in a click CLI (see ``optel.cli.embed``)."""

from __future__ import annotations

from typing import Any

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
    from collections.abc import Mapping


def click_group(
    app: str, *, cli: Any = None, command_name: str | None = None, **settings: Any
) -> Any:
    """The ``telemetry`` click group for ``app``; with ``cli`` (the host's root group), added to
    it together with the ``--telemetry/--no-telemetry`` flags. ``command_name``: what the user
    types to run the tool, if not ``app``."""
    import click

    settings = checked_settings(settings)
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

    checked_settings(settings)

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
