"""What the decorators leave for the flush: an LLM call's token counts are read when records are taken.

optel.testing's capture reads records as they arrive; these tests take them the way a flush
does (``spans.take()``), so the deferred work is what fills the attributes.
"""

from __future__ import annotations

import pytest

import optel
from optel.record import spans


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
    return [r for r in spans.take() if isinstance(r, spans.SpanHandle)]


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
    assert spans._later == []


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


def test_work_for_a_span_still_open_at_a_flush_is_done_by_that_flush(recording):
    handle = spans.start("chat", "client", {})
    spans.later(
        handle, lambda h, value: h.attributes.update(value), {"gen_ai.usage.output_tokens": 1}
    )
    assert spans.take() == []
    assert handle.attributes == {"gen_ai.usage.output_tokens": 1}
    handle.end()
    assert taken_spans() == [handle]


def test_failing_work_costs_only_itself(recording):
    def broken(handle, value):
        raise RuntimeError("no")

    first = spans.start("a")
    spans.later(first, broken, None)
    first.end()
    second = spans.start("b")
    spans.later(second, lambda h, v: h.set("k", v), 2)
    second.end()
    assert taken_spans() == [first, second]
    assert second.attributes == {"k": 2}
