"""`optel reset`: forget an app's install id (a new one is made when next needed) and delete its unsent data."""

from __future__ import annotations

from optel.cli.consent_commands import reset

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

HELP = "forget the install id (a new one is made when next needed) and delete unsent data; the choice is kept"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options of its own


def run(args: argparse.Namespace) -> int:
    return reset(args.app)
