"""An LLM command-line tool with optel: usage telemetry from two lines and a `telemetry` command.

    python examples/llm_tool_typer.py ask "What is OTLP?" --model gpt-4o-mini
    python examples/llm_tool_typer.py --no-telemetry ask "..."     # nothing recorded this run
    python examples/llm_tool_typer.py telemetry status             # what is decided, and why

The two lines are ``optel.instrument(...)`` (a span per command and per OpenAI call, with token
counts, never the prompt or the answer) and ``optel.init(...)`` with the user's session flag.
``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` are the OpenAI SDK's own variables;
``LLM_TOOL_TELEMETRY_ENDPOINT`` points the telemetry at your collector.
"""

from __future__ import annotations

import os
from typing import Optional

import typer

import optel
import optel.cli

APP = "llm-tool"

# Before openai or typer do anything: the patches wait for the host to import them.
optel.instrument("openai", "typer")

app = typer.Typer(help="Ask a language model from the command line.", no_args_is_help=True)
app.add_typer(optel.cli.typer_app(APP), name="telemetry")


@app.callback()
def main(
    ctx: typer.Context,
    telemetry: Optional[bool] = typer.Option(
        None, "--telemetry/--no-telemetry", help="send usage telemetry for this run, or not"
    ),
) -> None:
    if ctx.invoked_subcommand != "telemetry":
        optel.init(
            APP,
            version="1.0.0",
            endpoint=os.environ.get("LLM_TOOL_TELEMETRY_ENDPOINT", "https://telemetry.example.com"),
            session_flag=telemetry,
        )


@app.command()
def ask(
    question: str,
    model: str = typer.Option("gpt-4o-mini", "--model", help="the model to ask"),
    stream: bool = typer.Option(False, "--stream", help="print the answer as it comes"),
) -> None:
    """Ask MODEL a QUESTION and print the answer."""
    import openai

    client = openai.OpenAI(max_retries=0)
    messages = [{"role": "user", "content": question}]
    if stream:
        chunks = client.chat.completions.create(
            model=model, messages=messages, stream=True, stream_options={"include_usage": True}
        )
        for chunk in chunks:
            if chunk.choices:
                typer.echo(chunk.choices[0].delta.content or "", nl=False)
        typer.echo()
    else:
        reply = client.chat.completions.create(model=model, messages=messages)
        typer.echo(reply.choices[0].message.content)


if __name__ == "__main__":
    app()
