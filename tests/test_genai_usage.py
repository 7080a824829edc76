"""One GenAI reader: `@optel.llm_call` and the instrumentors say the same of the same response.

The real SDKs talk to the local fake API (tests/fake_llm_api.py). The same response is recorded
twice: by the instrumentor, and by a decorated function that returns it with the instrumentor off.
"""

from __future__ import annotations

import time

import anthropic
import openai
import pytest

import optel
from fake_llm_api import ANTHROPIC_USAGE, PROMPT_TEXT
from llm_recording import ended_spans, streamed_facts

MESSAGES = [{"role": "user", "content": PROMPT_TEXT}]
# What the response says; the request side (model asked, token limit) is the caller's to pass.
RESPONSE_FACTS = (
    "gen_ai.response.model",
    "gen_ai.response.id",
    "gen_ai.response.finish_reasons",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.reasoning.output_tokens",
)


def _facts(span):
    return {k: v for k, v in span["attributes"].items() if k in RESPONSE_FACTS}


def _both_ways(instrument, call):
    """The span the instrumentor records for `call()`, and the one `@llm_call` records for it."""
    with ended_spans(instrument) as recorded:
        call()
        (instrumented,) = recorded()

    @optel.llm_call(provider=instrument)
    def decorated():
        return call()

    with ended_spans() as recorded:
        decorated()
        (by_decorator,) = recorded()
    return instrumented, by_decorator


def test_anthropic_input_tokens_include_cached_tokens_for_the_decorator_and_the_instrumentor(api):
    with anthropic.Anthropic(base_url=api.anthropic_base_url, api_key="t", max_retries=0) as c:
        instrumented, decorated = _both_ways(
            "anthropic",
            lambda: c.messages.create(model="claude-opus-4-5", max_tokens=64, messages=MESSAGES),
        )
    everything = sum(
        ANTHROPIC_USAGE[k]
        for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    )
    assert instrumented["attributes"]["gen_ai.usage.input_tokens"] == everything
    assert _facts(instrumented) == _facts(decorated)


@pytest.mark.parametrize("api_name", ["chat", "responses"])
def test_openai_responses_are_read_alike_by_the_decorator_and_the_instrumentor(api, api_name):
    with openai.OpenAI(base_url=api.openai_base_url, api_key="t", max_retries=0) as c:
        if api_name == "chat":
            call = lambda: c.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # noqa: E731
        else:
            call = lambda: c.responses.create(model="gpt-4o", input=PROMPT_TEXT)  # noqa: E731
        instrumented, decorated = _both_ways("openai", call)
    facts = _facts(instrumented)
    assert facts == _facts(decorated)
    assert facts["gen_ai.response.finish_reasons"] == ["stop"]
    assert facts["gen_ai.usage.reasoning.output_tokens"] > 0


def test_a_streaming_llm_call_generator_is_a_streamed_call_with_its_time_to_first_chunk():
    @optel.llm_call(provider="openai", model="gpt-4o")
    def chunks():
        time.sleep(0.05)
        yield {"model": "gpt-4o-2024-08-06", "choices": [{"finish_reason": None}]}
        time.sleep(0.1)
        yield {
            "choices": [{"finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2},
        }

    @optel.llm_call(provider="openai", model="gpt-4o")
    def whole():
        return {"usage": {"prompt_tokens": 3, "completion_tokens": 2}}

    with ended_spans() as recorded:
        list(chunks())
        whole()
        streamed, plain = recorded()
    facts = streamed_facts(streamed)
    first_chunk = streamed["attributes"]["gen_ai.response.time_to_first_chunk"]
    # From the call to the first chunk: the first sleep, not the second.
    assert 0.05 <= first_chunk < 0.15
    assert facts["gen_ai.usage.input_tokens"] == 3
    assert "gen_ai.request.stream" not in plain["attributes"]
    assert "gen_ai.response.time_to_first_chunk" not in plain["attributes"]


@pytest.mark.parametrize(
    ("given", "recorded_as"),
    [
        ("azure", "azure.ai.openai"),
        ("Bedrock", "aws.bedrock"),
        ("mistral", "mistral_ai"),
        ("openai", "openai"),
    ],
)
def test_providers_are_named_as_the_conventions_name_them(given, recorded_as):
    @optel.llm_call(provider=given, model="gpt-4o")
    def call():
        return None

    with ended_spans() as recorded:
        call()
        (span,) = recorded()
    assert span["attributes"]["gen_ai.provider.name"] == recorded_as
