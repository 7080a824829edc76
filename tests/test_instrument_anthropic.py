"""The anthropic instrumentor, with the real SDK talking to the local fake API."""

from __future__ import annotations

import asyncio
import json

import anthropic
import pytest

import optel
import optel.testing
from fake_llm_api import ANTHROPIC_USAGE, PROMPT_TEXT, RESPONSE_TEXT, FakeLLMAPI
from optel.record import spans

MESSAGES = [{"role": "user", "content": PROMPT_TEXT}]
MODEL = "claude-opus-4-5"

EXPECTED = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.request.model": MODEL,
    "gen_ai.response.model": MODEL + "-2025-01-01",
    "gen_ai.usage.input_tokens": ANTHROPIC_USAGE["input_tokens"],
    "gen_ai.usage.output_tokens": ANTHROPIC_USAGE["output_tokens"],
    "gen_ai.usage.cache_read.input_tokens": ANTHROPIC_USAGE["cache_read_input_tokens"],
    "gen_ai.usage.cache_creation.input_tokens": ANTHROPIC_USAGE["cache_creation_input_tokens"],
    "gen_ai.response.finish_reasons": ["end_turn"],
}


@pytest.fixture(scope="module")
def api():
    with FakeLLMAPI() as server:
        yield server


@pytest.fixture
def client(api):
    with anthropic.Anthropic(base_url=api.anthropic_base_url, api_key="test", max_retries=0) as c:
        yield c


@pytest.fixture
def recorded():
    optel.instrument("anthropic")
    """Records as a flush cleans them; the fixture's value returns the spans ended since last asked."""
    with optel.testing.capture() as records:
        seen = [0]

        def ended():
            fresh, seen[0] = records[seen[0] :], len(records)
            return [r for r in fresh if r["t"] == "span"]

        yield ended
    optel.uninstrument("anthropic")


def assert_no_text(records):
    dump = json.dumps(records)
    assert PROMPT_TEXT not in dump and RESPONSE_TEXT not in dump


def test_a_message_records_models_tokens_including_cache_tokens_and_stop_reason(client, recorded):
    message = client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    assert message.content[0].text == RESPONSE_TEXT
    (span,) = recorded()
    assert span["kind"] == "client"
    assert span["attributes"] == EXPECTED
    assert_no_text([span])


def test_a_streamed_message_span_ends_with_the_stream_and_has_the_same_facts(client, recorded):
    stream = client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, stream=True)
    assert isinstance(stream, anthropic.Stream)
    assert recorded() == []
    kinds = [event.type for event in stream]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    (span,) = recorded()
    assert span["attributes"] == EXPECTED
    assert_no_text([span])


def test_an_async_streamed_message_is_recorded(api, recorded):
    async def main():
        async with anthropic.AsyncAnthropic(
            base_url=api.anthropic_base_url, api_key="test", max_retries=0
        ) as client:
            await client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
            stream = await client.messages.create(
                model=MODEL, max_tokens=64, messages=MESSAGES, stream=True
            )
            async with stream:
                async for _ in stream:
                    pass

    asyncio.run(main())
    plain, streamed = recorded()
    assert plain["attributes"] == EXPECTED
    assert streamed["attributes"] == EXPECTED


@pytest.mark.parametrize(
    ("status", "error"), [(429, anthropic.RateLimitError), (500, anthropic.InternalServerError)]
)
def test_an_api_error_records_its_sdk_class_and_http_status_and_is_raised_unchanged(
    client, recorded, status, error
):
    with pytest.raises(error):
        client.messages.create(
            model=MODEL,
            max_tokens=64,
            messages=MESSAGES,
            extra_headers={"x-fake-status": str(status)},
        )
    (span,) = recorded()
    assert span["status"] == "error"
    assert span["attributes"]["error.type"] == f"anthropic.{error.__name__}"
    assert span["attributes"]["http.response.status_code"] == status


def calls(client):
    out = [client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES).model_dump()]
    stream = client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, stream=True)
    out.append(type(stream))
    out.append([event.model_dump() for event in stream])
    try:
        client.messages.create(
            model=MODEL, max_tokens=64, messages=MESSAGES, extra_headers={"x-fake-status": "500"}
        )
    except anthropic.APIError as exc:
        out.append((type(exc), str(exc), exc.body))
    return out


def test_with_telemetry_off_patched_calls_behave_as_unpatched_and_record_nothing(client):
    spans.set_recording(False)
    unpatched = calls(client)
    optel.instrument("anthropic")
    try:
        assert anthropic.resources.messages.Messages.create.__wrapped__
        patched = calls(client)
    finally:
        optel.uninstrument("anthropic")
    assert patched == unpatched
    assert unpatched[1] is anthropic.Stream
    assert spans.take() == []
