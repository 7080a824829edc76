"""A host app whose LLM call fails with an error that quotes the prompt, and which passes that error
on in the ways real hosts do (tests/test_provider_errors_e2e.py).

Imported, ``run(...)`` is the host; run as a script (``python llm_error_host.py APP PATTERN PROVIDER
PROMPT OPENAI_URL ANTHROPIC_URL LOG_FILE``) it is a whole host process.
"""

from __future__ import annotations

import sys
from typing import Callable

import anthropic
import click
import openai

import optel

# A refused request: the fake API answers 400 and quotes the request's text in the message.
REFUSED = {"x-fake-status": "400", "x-fake-echo": "1"}
# Messages with no part of the provider's error: they must arrive as they are.
BEFORE = "the index is stale"
AFTER = "cache directory is full"


def _message(ex: Exception) -> str:
    body = getattr(ex, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return str(ex)


def _bare(ask: Callable[[], None]) -> None:
    ask()


def _click(ask: Callable[[], None]) -> None:
    try:
        ask()
    except Exception as ex:
        raise click.ClickException(str(ex)) from None


def _wrapped(ask: Callable[[], None]) -> None:
    try:
        ask()
    except Exception as ex:
        raise RuntimeError(f"LLM failed: {ex}") from ex


def _later(ask: Callable[[], None]) -> None:
    # Raised after the except block: no __context__ links it to the provider's error.
    message = ""
    try:
        ask()
    except Exception as ex:
        message = str(ex)
    raise RuntimeError(f"LLM failed: {message}")


def _body(ask: Callable[[], None]) -> None:
    message = ""
    try:
        ask()
    except Exception as ex:
        message = _message(ex)
    raise ValueError(message)


def _slice(ask: Callable[[], None]) -> None:
    message = ""
    try:
        ask()
    except Exception as ex:
        message = str(ex)
    raise click.UsageError("bad request: " + message[len(message) // 3 :])


PATTERNS: dict[str, Callable[[Callable[[], None]], None]] = {
    "bare": _bare,
    "click": _click,
    "wrapped": _wrapped,
    "later": _later,
    "body": _body,
    "slice": _slice,
}


def run(
    app: str,
    pattern: str,
    provider: str,
    prompt: str,
    openai_url: str,
    anthropic_url: str,
    log_file: str,
) -> None:
    optel.init(app, version="1.0.0", log_file=log_file, attributes=("detail",))
    optel.instrument("openai", "anthropic")

    def ask() -> None:
        if provider == "openai":
            with openai.OpenAI(
                base_url=openai_url, api_key="k", max_retries=0, default_headers=REFUSED
            ) as client:
                client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": prompt}]
                )
        else:
            with anthropic.Anthropic(
                base_url=anthropic_url, api_key="k", max_retries=0, default_headers=REFUSED
            ) as client:
                client.messages.create(
                    model="claude-3-5-sonnet-20241022",
                    max_tokens=16,
                    messages=[{"role": "user", "content": prompt}],
                )

    @optel.step("prepare")
    def prepare() -> None:
        raise ValueError(BEFORE)

    @optel.step("ask")
    def step() -> None:
        PATTERNS[pattern](ask)

    @optel.step("cleanup")
    def cleanup() -> None:
        raise OSError(AFTER)

    @optel.command("summarise")
    def command() -> None:
        try:
            prepare()
        except ValueError:
            pass
        try:
            step()
        except Exception as exc:
            optel.event("llm.failed", detail=str(exc))
            raise RuntimeError(f"summarise failed: {exc}") from exc

    failure = ""
    try:
        command()
    except Exception as exc:
        failure = str(exc)
    # Outside any span: a zero-length span of its own.
    optel.event("llm.failed", detail=failure)
    try:
        cleanup()
    except OSError:
        pass
    optel.shutdown()


if __name__ == "__main__":
    run(*sys.argv[1:8])
