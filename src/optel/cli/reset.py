"""`optel reset`: a new install id for an app, and its unsent data deleted."""

from __future__ import annotations

from optel.cli.consent_commands import reset

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

HELP = "start over with a new install id and delete unsent data (the on/off choice is kept)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options of its own


def run(args: argparse.Namespace) -> int:
    return reset(args.app)
