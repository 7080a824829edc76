"""A small LLM command-line tool instrumented with optel, used by `optel demo`.

It plans and writes a change with a (fake, local) language model, asks the user one question and
fails once on purpose, so that every kind of signal optel records shows up in the demo:
commands, steps, LLM calls with token usage, a user input, an error whose message holds a path and
an API key (both scrubbed before anything leaves the machine), and a timed request.

Run it yourself: `python examples/llm_cli.py build "add a --json flag"`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import optel

APP = "optel-demo"


class _Usage:
    def __init__(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens


class _Completion:
    """Shaped like an OpenAI chat completion, which is what `llm_call` reads usage from."""

    def __init__(self, model: str, text: str, prompt_tokens: int, completion_tokens: int) -> None:
        self.model = model
        self.text = text
        self.usage = _Usage(prompt_tokens, completion_tokens)


def _fake_model(model: str, prompt: str, answer: str, latency: float) -> _Completion:
    # A local stand-in for a hosted model: the demo never touches the network.
    time.sleep(latency)
    return _Completion(
        model,
        answer,
        prompt_tokens=len(prompt.split()) * 3,
        completion_tokens=len(answer.split()) * 2,
    )


@optel.llm_call(provider="openai", model="gpt-4o-mini")
def ask_planner(task: str) -> _Completion:
    return _fake_model(
        "gpt-4o-mini-2024-07-18",
        f"Plan the change: {task}",
        "1. parse flag 2. print json 3. test",
        0.03,
    )


@optel.llm_call(provider="anthropic", model="claude-3-5-sonnet-20241022")
def ask_coder(plan: str) -> _Completion:
    return _fake_model(
        "claude-3-5-sonnet-20241022", f"Write code for: {plan}", "def main(): print('{}')", 0.05
    )


@optel.timed("fetch-docs")
def fetch_docs() -> str:
    time.sleep(0.01)
    return "docs"


@optel.step()
def plan(task: str) -> str:
    fetch_docs()
    return ask_planner(task).text


@optel.step()
def write_code(plan_text: str) -> str:
    return ask_coder(plan_text).text


@optel.step()
def confirm(answer: str) -> bool:
    # The demo answers for the user; a real tool would call input() here.
    optel.count_input()
    return answer.strip().lower() in ("y", "yes", "")


@optel.step()
def run_tests() -> None:
    home = os.path.expanduser("~")
    raise RuntimeError(
        f"tests failed in {home}/projects/acme/tests/test_cli.py with OPENAI_API_KEY=sk-proj-a1B2c3D4e5F6g7H8i9J0kLmN"
    )


@optel.command(exit_code=True)
def build(task: str, answer: str) -> int:
    """Plan and write a change, then ask before applying it."""
    plan_text = plan(task)
    code = write_code(plan_text)
    if not confirm(answer):
        return 1
    print(f"applied: {code}")
    return 0


@optel.command(exit_code=True)
def check() -> int:
    """Run the project's tests (fails in the demo, on purpose)."""
    try:
        run_tests()
    except RuntimeError as exc:
        print(f"check failed: {type(exc).__name__}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llm-cli", description=__doc__.splitlines()[0])
    parser.add_argument("--no-telemetry", dest="telemetry", action="store_false", default=None)
    parser.add_argument("--telemetry", dest="telemetry", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help=build.__doc__)
    b.add_argument("task")
    b.add_argument("--answer", default="y", help="the answer to the confirmation question")
    sub.add_parser("check", help=check.__doc__)
    args = parser.parse_args(argv)

    optel.init(APP, version="1.0.0", session_flag=args.telemetry)
    if args.command == "build":
        return build(args.task, args.answer)
    return check()


if __name__ == "__main__":
    sys.exit(main())
