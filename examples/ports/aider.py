"""aider's analytics, ported to optel (docs/porting.md): opt-in, asked of a random 10% of installs,
``--analytics/--no-analytics`` for one session, ``--analytics-disable`` for good, the first
``--analytics`` confirmed and stored, and ``--analytics-log FILE`` to audit what is collected.

    python examples/ports/aider.py --model gpt-4o --message "/add README.md"
"""

from __future__ import annotations

import argparse

import optel
import optel.cli

APP = "aider"
FLAGS = {
    "on": "--analytics",
    "off": "--no-analytics",
    "disable": "--analytics-disable",
    "log": "--analytics-log",
}
SETTINGS = {
    "version": "0.60.0",
    "policy": "opt-in",
    "ask_percent": 10.0,  # aider asks a random subset of its users
    "modes": ("off", "anonymous"),  # anonymous only: a random UUID4, no personal info
    "confirm_flag": True,  # the first --analytics asks before it turns anything on
    "attributes": ("aider.edit_format",),
}
# The in-chat commands, declared here: their names are recorded as written (`/add`), never what follows.
CHAT_COMMANDS = ("/add", "/drop", "/run", "/ask", "/commit")
EDIT_FORMATS = ("whole", "diff", "udiff")


@optel.llm_call(provider="openai")
def send(model: str, text: str) -> dict[str, object]:
    # A stand-in for the model call: the text is never recorded, only the model and the tokens.
    return {
        "model": model,
        "usage": {"prompt_tokens": len(text.split()) + 10, "completion_tokens": 7},
    }


@optel.command("chat")
def chat(model: str, message: str, edit_format: str) -> None:
    word = message.split(maxsplit=1)[0] if message.strip() else ""
    if word in CHAT_COMMANDS:
        optel.event(word)
        if word == "/run":
            raise RuntimeError(f"command failed: {message}")
        return
    optel.count_input()
    optel.event("edit", **{"aider.edit_format": edit_format})
    send(model, message)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=APP)
    parser.add_argument("--model", default="gpt-4o")
    parser.add_argument("--edit-format", choices=EDIT_FORMATS, default="diff")
    parser.add_argument("--message", "-m", default="")
    parser.add_argument(
        "--show-reason", action="store_true", help="print why analytics are on or off"
    )
    optel.cli.add_argparse(parser, APP, flag_names=FLAGS, **SETTINGS)
    args = parser.parse_args(argv)
    if args.show_reason:
        print(optel.init(APP).consent.reason)  # the decision already made while parsing
    try:
        chat(args.model, args.message, args.edit_format)
    except RuntimeError as exc:
        print(f"aider: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
