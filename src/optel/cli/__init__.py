"""The `optel` command line, and helpers that embed `telemetry ...` in a host's own CLI."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from optel.cli.embed import add_argparse, click_group, typer_app

__all__ = ["add_argparse", "click_group", "typer_app"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from optel.cli import embed

        return getattr(embed, name)
    raise AttributeError(f"module 'optel.cli' has no attribute {name!r}")
