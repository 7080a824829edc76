"""`optel enable`: store the user's yes (anonymous, or identified with a user id)."""

from __future__ import annotations

from optel.cli.consent_commands import enable

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

HELP = "turn telemetry on for an app (anonymous unless --identified)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--identified", action="store_true", help="also send a user id (with --user-id)"
    )
    parser.add_argument("--user-id", metavar="ID", help="the user id to send; implies --identified")
    parser.add_argument(
        "--consent-version",
        type=int,
        default=1,
        metavar="N",
        help="the app's consent version (the one the app last used is stored if it is newer)",
    )


def run(args: argparse.Namespace) -> int:
    return enable(
        args.app,
        identified=args.identified,
        user_id=args.user_id,
        consent_version=args.consent_version,
    )
