"""`optel upload`: drain an app's spool to its collector now (foreground), or as the detached uploader.

A host's detached run normally skips this parser: upload/detached.py takes its command line.
"""

from __future__ import annotations

import argparse
import sys

from optel.upload.detached import DETACHED_MAX_SECONDS, detach, sending_time

HELP = "send the spooled telemetry of an app now, and say what was sent, kept and dropped"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--detached",
        action="store_true",
        help="run as the background uploader a host starts: print nothing, respect the retry backoff",
    )
    # Where the host ran (its project consent file), since the detached uploader runs in the spool dir.
    parser.add_argument("--project-dir", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        metavar="S",
        help="stop after S seconds, keeping what was not sent for the next run",
    )


def run(args: argparse.Namespace) -> int:
    from optel.upload import upload

    if args.detached:
        detach()
        max_seconds = args.max_seconds if args.max_seconds is not None else DETACHED_MAX_SECONDS
        upload(
            args.app,
            max_seconds=sending_time(max_seconds),
            respect_backoff=True,
            project_dir=args.project_dir,
        )
        return 0
    # Asked for by a person: try now, even while the backoff of earlier failures runs.
    max_seconds = None if args.max_seconds is None else sending_time(args.max_seconds)
    summary = upload(args.app, max_seconds=max_seconds, respect_backoff=False)
    sys.stdout.write(summary.line() + "\n")
    return 0
