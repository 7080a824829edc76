"""`optel show`: print the data dictionary, everything optel may record (docs/telemetry-data.md)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

HELP = "print everything optel may record: metrics, spans, attributes (the data dictionary)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # no options: the dictionary is the same for every app


def run(args: argparse.Namespace) -> int:
    from optel.record.dictionary import render

    sys.stdout.write(render())
    return 0
