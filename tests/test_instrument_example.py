"""examples/llm_tool_typer.py end to end: real SDK, fake LLM API, spool, uploader, real OTLP receiver."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from fake_llm_api import OPENAI_USAGE, PROMPT_TEXT, RESPONSE_TEXT, FakeLLMAPI
from otlp_receiver import OTLPReceiver

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "llm_tool_typer.py"
APP = "llm-tool"


def run_example(python, api, receiver, *argv):
    env = {
        **os.environ,
        "OPENAI_BASE_URL": api.openai_base_url,
        "OPENAI_API_KEY": "test",
        "LLM_TOOL_TELEMETRY_ENDPOINT": receiver.url,
    }
    return subprocess.run(
        [python, str(EXAMPLE), *argv], env=env, capture_output=True, text=True, timeout=60
    )


def received(receiver, count, metrics=(), timeout=20.0):
    """Upload what the run spooled (unless its own uploader already did) and wait for it."""
    from optel.upload import upload

    upload(APP)
    deadline = time.monotonic() + timeout
    while True:
        spans = [s for s in receiver.spans() if s["name"] != "optel.cli.session"]
        names = {m["name"] for m in receiver.metrics()}
        if (len(spans) >= count and set(metrics) <= names) or time.monotonic() > deadline:
            return spans, names
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize("stream", [False, True])
def test_the_example_tool_sends_its_command_and_llm_spans_to_the_collector(python, stream):
    with FakeLLMAPI() as api, OTLPReceiver() as receiver:
        argv = ["--telemetry", "ask", PROMPT_TEXT, "--model", "gpt-4o-mini"]
        done = run_example(python, api, receiver, *argv, *(["--stream"] if stream else []))
        assert done.returncode == 0, done.stderr
        assert RESPONSE_TEXT in done.stdout

        spans, metrics = received(
            receiver, 2, metrics=("gen_ai.client.token.usage", "optel.cli.command.invocations")
        )
        by_name = {s["name"]: s for s in spans}
        command = by_name[f"{APP} ask"]  # the app name, not argv[0]
        llm = by_name["chat gpt-4o-mini"]
        assert command["attributes"]["optel.cli.command.options"] == (
            ["--telemetry", "--model", "--stream"] if stream else ["--telemetry", "--model"]
        )
        assert command["attributes"]["process.exit.code"] == 0
        assert llm["parent_span_id"] == command["span_id"]
        assert llm["kind"] == "client"
        assert llm["attributes"]["gen_ai.provider.name"] == "openai"
        assert llm["attributes"]["gen_ai.usage.input_tokens"] == OPENAI_USAGE["prompt_tokens"]
        assert llm["attributes"]["gen_ai.usage.output_tokens"] == OPENAI_USAGE["completion_tokens"]
        sent = json.dumps(spans) + repr([r.message for r in receiver.accepted()])
        assert PROMPT_TEXT not in sent and RESPONSE_TEXT not in sent
        assert {"gen_ai.client.token.usage", "optel.cli.command.invocations"} <= metrics


@pytest.mark.slow
def test_the_example_tool_with_no_telemetry_sends_nothing(python):
    with FakeLLMAPI() as api, OTLPReceiver() as receiver:
        done = run_example(python, api, receiver, "--no-telemetry", "ask", PROMPT_TEXT)
        assert done.returncode == 0, done.stderr
        assert RESPONSE_TEXT in done.stdout
        from optel.upload import upload

        upload(APP)
        assert receiver.requests == []


def test_the_example_tool_has_the_telemetry_command(python):
    with FakeLLMAPI() as api, OTLPReceiver() as receiver:
        done = run_example(python, api, receiver, "telemetry", "status")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"app: {APP}\n")
