"""Pipelex's telemetry, ported to optel (docs/porting.md): asked on the first command after
``pipelex init`` with numbered answers ([1] off, [2] anonymous, [3] identified, [q] ask me next
time), ``DO_NOT_TRACK`` respected, the choice kept in a file the user may edit or delete.

    python examples/ports/pipelex.py run hello_pipe --input notes/today.txt
"""

from __future__ import annotations

import argparse
import time

import optel

APP = "pipelex"
SETTINGS = {
    "version": "0.9.0",
    "policy": "opt-in",
    "answers": {"1": "off", "2": "anonymous", "3": "identified", "q": "later"},
    "attributes": ("pipelex.pipe.outcome", "pipelex.feature", "pipelex.input"),
}


@optel.step("pipe")
def run_pipe(name: str, source: str) -> str:
    time.sleep(0.001)
    if name.startswith("broken"):
        raise ValueError(f"pipe {name} failed on {source}")
    return name


def run(args: argparse.Namespace) -> int:
    @optel.command("run")
    def command() -> int:
        # What the pipe reads is a value: recorded scrubbed (a path becomes `<path>`).
        optel.event(
            "pipeline", **{"pipelex.feature": "structured_output", "pipelex.input": args.input}
        )
        try:
            run_pipe(args.pipe, args.input)
        except ValueError:
            optel.event("pipeline.result", **{"pipelex.pipe.outcome": "failure"})
            return 1
        optel.event("pipeline.result", **{"pipelex.pipe.outcome": "success"})
        return 0

    return command()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=APP)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help="set up a project (never asks about telemetry)")
    runner = commands.add_parser("run", help="run a pipe")
    runner.add_argument("pipe")
    runner.add_argument("--input", default="")
    args = parser.parse_args(argv)
    if args.command == "init":
        print("pipelex: project initialised")
        return 0
    # Asked on the first command after `init`: optel.init decides (and asks on a terminal) here.
    optel.init(APP, **SETTINGS)  # type: ignore[arg-type]
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
