"""The `optel` command line, and helpers that embed `telemetry ...` in a host's own CLI."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel.cli.embed import add_argparse, click_group, typer_app
    from optel.consent.howto import set_telemetry_command

__all__ = ["add_argparse", "click_group", "set_telemetry_command", "typer_app"]


def __getattr__(name: str) -> object:
    if name == "set_telemetry_command":
        # Cheap, and needed by a host before init(): no need to load the framework helpers.
        from optel.consent.howto import set_telemetry_command

        return set_telemetry_command
    if name in __all__:
        from optel.cli import embed

        return getattr(embed, name)
    raise AttributeError(f"module 'optel.cli' has no attribute {name!r}")
