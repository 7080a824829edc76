"""`optel disable`: store the user's no, permanently, and delete what was not sent yet."""

from __future__ import annotations

from optel.cli.consent_commands import disable

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

HELP = "turn telemetry off for an app (stays off until enabled) and delete unsent data"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options of its own


def run(args: argparse.Namespace) -> int:
    return disable(args.app)
