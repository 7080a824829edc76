"""`optel demo`: the example LLM tool, instrumented end to end, fully offline, with a summary of what arrived."""

from __future__ import annotations

import argparse
import sys

HELP = "run an example LLM tool offline and show the telemetry it produced"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep", action="store_true", help="keep the demo's temporary config and spool"
    )


def run(args: argparse.Namespace) -> int:
    from optel.demo import run_demo

    try:
        return run_demo(sys.stdout, keep=args.keep)
    except Exception as exc:
        print(f"optel demo: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
