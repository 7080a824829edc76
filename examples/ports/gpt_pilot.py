"""GPT Pilot's telemetry, ported to optel (docs/porting.md): anonymous and on by default, for users
who may never see a terminal (the VS Code extension runs it), so the one-time notice goes to stderr;
``telemetry.enabled = false`` in ``~/.gpt-pilot/config.json`` turns it off, as it always did.

    python examples/ports/gpt_pilot.py create "a todo app" --model gpt-4o --steps 3
"""

from __future__ import annotations

import argparse
import sys

import optel

APP = "gpt-pilot"
SETTINGS = {
    "version": "0.2.7",
    "policy": "opt-out",
    "notice": "stderr",
    "modes": ("off", "anonymous"),
    "off_switches": [optel.OffSwitch.file("~/.gpt-pilot/config.json", "telemetry.enabled")],
}


@optel.llm_call(provider="openai")
def ask_llm(model: str, prompt: str) -> dict[str, object]:
    # A stand-in for the model: the prompt is never recorded, only the model and its token counts.
    return {"model": model, "usage": {"prompt_tokens": 40, "completion_tokens": 60}}


@optel.step("development step")
def develop(model: str, task: str, number: int) -> None:
    ask_llm(model, f"step {number} of {task}")
    if number == 1:
        answer = sys.stdin.readline() if not sys.stdin.isatty() else ""
        optel.count_input()  # the user answered the tool's question
        del answer


@optel.command("create")
def create(description: str, model: str, steps: int) -> None:
    for number in range(1, steps + 1):
        develop(model, description, number)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=APP)
    commands = parser.add_subparsers(dest="command", required=True)
    creating = commands.add_parser("create", help="generate a project from a description")
    creating.add_argument("description")
    creating.add_argument("--model", default="gpt-4o")
    creating.add_argument("--steps", type=int, default=2)
    args = parser.parse_args(argv)
    optel.init(APP, **SETTINGS)  # type: ignore[arg-type]
    create(args.description, args.model, args.steps)
    print("gpt-pilot: project created")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
