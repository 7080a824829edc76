"""`optel status`: what is decided for an app, by which source and why, and where its files are."""

from __future__ import annotations

from optel.cli.consent_commands import status

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

HELP = "show whether telemetry is on, which setting decided it and why"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy",
        choices=("opt-in", "opt-out"),
        default="opt-in",
        help="the app's consent policy (default: opt-in)",
    )
    parser.add_argument(
        "--consent-version", type=int, default=1, metavar="N", help="the app's consent version"
    )


def run(args: argparse.Namespace) -> int:
    return status(args.app, policy=args.policy, consent_version=args.consent_version)
