"""What the decorators leave for the flush: an LLM call's token counts are read when records are cleaned.

optel.testing's capture reads records as they arrive; these tests take them the way a flush
does (``spans.take()``, then ``flush.to_dicts``), so the deferred reading is what fills the
attributes.
"""

from __future__ import annotations

import pytest

import optel
from optel.record import flush, spans


@pytest.fixture
def recording():
    spans.take()
    spans.set_recording(True)
    try:
        yield
    finally:
        spans.set_recording(False)
        spans.take()


def taken_spans():
    """The spans a flush takes, after the flush cleaned them (what it reads is on the handles)."""
    taken = [r for r in spans.take() if isinstance(r, spans.SpanHandle)]
    flush.to_dicts(taken)
    return taken


def test_llm_call_token_counts_are_on_the_span_when_records_are_taken(recording):
    @optel.llm_call(provider="anthropic")
    def ask(prompt, model="claude-3-5-sonnet-20241022"):
        return {
            "model": model,
            "usage": {"input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 50},
            "stop_reason": "end_turn",
        }

    ask("hi")
    (span,) = taken_spans()
    assert span.attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-3-5-sonnet-20241022",
        "gen_ai.response.model": "claude-3-5-sonnet-20241022",
        "gen_ai.response.finish_reasons": ["end_turn"],
        "gen_ai.usage.input_tokens": 60,
        "gen_ai.usage.output_tokens": 20,
        "gen_ai.usage.cache_read.input_tokens": 50,
    }
    assert span._usage is None


def test_a_usage_dict_the_host_changes_after_the_call_is_recorded_as_returned(recording):
    totals = {"prompt_tokens": 3, "completion_tokens": 4}

    @optel.llm_call(provider="openai", model="gpt-4o")
    def ask():
        return {"model": "gpt-4o", "usage": totals, "choices": [{"finish_reason": "stop"}]}

    ask()
    totals["prompt_tokens"] += 100
    (span,) = taken_spans()
    assert (
        span.attributes["gen_ai.usage.input_tokens"],
        span.attributes["gen_ai.usage.output_tokens"],
    ) == (3, 4)
    assert span.attributes["gen_ai.response.finish_reasons"] == ["stop"]


def test_usage_objects_are_read_at_flush_too(recording):
    class Usage:
        prompt_tokens = 7
        completion_tokens = 2
        prompt_tokens_details = {"cached_tokens": 5}

    class Response:
        model = "gpt-4o-mini"
        usage = Usage()
        choices = ()

    @optel.llm_call(provider="openai")
    def ask(model):
        return Response()

    ask(model="gpt-4o-mini")
    (span,) = taken_spans()
    assert span.attributes["gen_ai.usage.input_tokens"] == 7
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == 5
    assert "gen_ai.response.finish_reasons" not in span.attributes


def test_token_counts_are_not_read_on_the_call_itself(recording):
    @optel.llm_call(provider="openai", model="gpt-4o")
    def ask():
        return {"model": "gpt-4o", "usage": {"prompt_tokens": 3, "completion_tokens": 4}}

    ask()
    (span,) = [r for r in spans.take() if isinstance(r, spans.SpanHandle)]
    # Left for the flush: the call paid for reading the response's model, not its counts.
    assert "gen_ai.usage.input_tokens" not in span.attributes
    assert span._usage == {"prompt_tokens": 3, "completion_tokens": 4}
    (cleaned, *metrics) = flush.to_dicts([span])
    assert cleaned["attributes"]["gen_ai.usage.input_tokens"] == 3
    assert [m["value"] for m in metrics if m["name"] == "gen_ai.client.token.usage"] == [3, 4]
