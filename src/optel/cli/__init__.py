"""The `optel` command line, and helpers that embed `telemetry ...` in a host's own CLI."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel.cli.embed_argparse import add_argparse
    from optel.cli.embed_click import click_group
    from optel.cli.embed_typer import typer_app
    from optel.consent.howto import set_telemetry_command

__all__ = ["add_argparse", "click_group", "set_telemetry_command", "typer_app"]
_HOMES = {
    "add_argparse": "optel.cli.embed_argparse",
    "click_group": "optel.cli.embed_click",
    "typer_app": "optel.cli.embed_typer",
}


def __getattr__(name: str) -> object:
    if name == "set_telemetry_command":
        # Cheap, and needed by a host before init(): no need to load the framework helpers.
        from optel.consent.howto import set_telemetry_command

        return set_telemetry_command
    home = _HOMES.get(name)
    if home is not None:
        # Each front-end is loaded by a host of its framework only.
        return getattr(__import__(home, fromlist=[name]), name)
    raise AttributeError(f"module 'optel.cli' has no attribute {name!r}")
