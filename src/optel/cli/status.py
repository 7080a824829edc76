"""`optel status`: what is decided for an app, by which source and why, and where its files are."""

from __future__ import annotations

from optel.cli.consent_commands import status

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

HELP = "show whether telemetry is on, which setting decided it and why"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Without them, status uses what the app recorded when it last decided: `optel status` runs
    # without the app's settings, and a guessed opt-in or version 1 would misreport the app.
    parser.add_argument(
        "--policy",
        choices=("opt-in", "opt-out"),
        default=None,
        help="the app's consent policy (default: the one the app last used, else opt-in)",
    )
    parser.add_argument(
        "--consent-version",
        type=int,
        default=None,
        metavar="N",
        help="the app's consent version (default: the one the app last used, else 1)",
    )


def run(args: argparse.Namespace) -> int:
    return status(args.app, policy=args.policy, consent_version=args.consent_version)
