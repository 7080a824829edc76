"""The anthropic instrumentor, with the real SDK talking to the local fake API."""

from __future__ import annotations

import asyncio
import time

import anthropic
import pytest

import optel
import optel.testing
from fake_llm_api import ANTHROPIC_USAGE, PROMPT_TEXT, RESPONSE_TEXT
from llm_recording import assert_no_text, ended_spans, streamed_facts
from optel.record import spans

MESSAGES = [{"role": "user", "content": PROMPT_TEXT}]
MODEL = "claude-opus-4-5"

ANTHROPIC_INPUT_TOKENS = (
    ANTHROPIC_USAGE["input_tokens"]
    + ANTHROPIC_USAGE["cache_read_input_tokens"]
    + ANTHROPIC_USAGE["cache_creation_input_tokens"]
)
EXPECTED = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.request.model": MODEL,
    "gen_ai.request.max_tokens": 64,
    "gen_ai.response.id": "msg_1",
    "gen_ai.response.model": MODEL + "-2025-01-01",
    # The conventions count cached tokens in input; Anthropic reports them beside it.
    "gen_ai.usage.input_tokens": ANTHROPIC_INPUT_TOKENS,
    "gen_ai.usage.output_tokens": ANTHROPIC_USAGE["output_tokens"],
    "gen_ai.usage.cache_read.input_tokens": ANTHROPIC_USAGE["cache_read_input_tokens"],
    "gen_ai.usage.cache_creation.input_tokens": ANTHROPIC_USAGE["cache_creation_input_tokens"],
    "gen_ai.response.finish_reasons": ["end_turn"],
}


@pytest.fixture
def client(api):
    with anthropic.Anthropic(base_url=api.anthropic_base_url, api_key="test", max_retries=0) as c:
        yield c


@pytest.fixture
def recorded():
    with ended_spans("anthropic") as ended:
        yield ended


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
    assert streamed_facts(span) == EXPECTED
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
            # anthropic 0.x overrides isinstance for its streams: the proxy must still pass.
            assert isinstance(stream, anthropic.AsyncStream)
            async with stream:
                async for _ in stream:
                    pass

    asyncio.run(main())
    plain, streamed = recorded()
    assert plain["attributes"] == EXPECTED
    assert streamed_facts(streamed) == EXPECTED


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


def stream_helper(client, **extra):
    return client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES, **extra)


def test_the_stream_helper_read_as_text_records_one_span_from_entering_to_the_end_of_the_stream(
    api, client, recorded
):
    manager = stream_helper(client)
    requests_before = len(api.requests)
    entered_ns = time.time_ns()
    with manager as stream:
        assert len(api.requests) == requests_before + 1
        assert spans.current() is None, "a stream being read must not parent the host's spans"
        assert recorded() == []
        text = "".join(stream.text_stream)
        (span,) = recorded()
    assert text == RESPONSE_TEXT
    assert isinstance(stream, anthropic.MessageStream)
    assert span["kind"] == "client"
    assert span["start_ns"] >= entered_ns
    assert streamed_facts(span) == EXPECTED
    assert_no_text([span])


def test_the_stream_helpers_final_message_is_recorded_with_the_same_facts(client, recorded):
    with stream_helper(client) as stream:
        message = stream.get_final_message()
    assert message.content[0].text == RESPONSE_TEXT
    (span,) = recorded()
    assert streamed_facts(span) == EXPECTED
    assert_no_text([span])


def test_a_stream_helper_left_early_ends_its_span_when_its_context_exits(client, recorded):
    with stream_helper(client) as stream:
        assert next(iter(stream)).type == "message_start"
        assert recorded() == []
    (span,) = recorded()
    assert span["attributes"]["gen_ai.response.model"] == MODEL + "-2025-01-01"
    assert span["attributes"]["gen_ai.usage.input_tokens"] == ANTHROPIC_INPUT_TOKENS
    assert "gen_ai.response.finish_reasons" not in span["attributes"]
    assert span["status"] != "error"


def test_the_async_stream_helper_is_recorded(api, recorded):
    async def main():
        async with anthropic.AsyncAnthropic(
            base_url=api.anthropic_base_url, api_key="test", max_retries=0
        ) as client:
            async with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as s:
                chunks = [text async for text in s.text_stream]
                assert recorded() != [], "the span ends with the stream, before the context exits"
            async with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as s:
                message = await s.get_final_message()
            return "".join(chunks), message

    text, message = asyncio.run(main())
    assert text == RESPONSE_TEXT and message.content[0].text == RESPONSE_TEXT
    (final,) = recorded()
    assert streamed_facts(final) == EXPECTED


def test_the_beta_stream_helper_and_beta_create_are_recorded(client, recorded):
    with client.beta.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
        assert "".join(stream.text_stream) == RESPONSE_TEXT
    client.beta.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES)
    streamed, plain = recorded()
    assert streamed_facts(streamed) == EXPECTED
    assert plain["attributes"] == EXPECTED
    assert_no_text([streamed, plain])


def test_a_stream_helper_whose_request_fails_records_the_sdk_error_and_raises_it(client, recorded):
    with (
        pytest.raises(anthropic.RateLimitError),
        stream_helper(client, extra_headers={"x-fake-status": "429"}),
    ):
        pass
    (span,) = recorded()
    assert span["status"] == "error"
    assert span["attributes"]["error.type"] == "anthropic.RateLimitError"
    assert span["attributes"]["http.response.status_code"] == 429


def test_an_error_event_in_the_middle_of_a_helper_stream_records_its_sdk_error(client, recorded):
    failing = stream_helper(client, extra_headers={"x-fake-stream-error": "1"})
    with pytest.raises(anthropic.APIStatusError) as raised, failing as stream:
        stream.get_final_message()
    (span,) = recorded()
    assert span["status"] == "error"
    assert span["attributes"]["error.type"] == f"anthropic.{type(raised.value).__name__}"
    assert span["attributes"]["gen_ai.response.model"] == MODEL + "-2025-01-01"
    assert_no_text([span])


def test_uninstrument_gives_back_the_sdks_own_create_and_stream_methods():
    import anthropic.resources.beta.messages.messages as beta
    import anthropic.resources.messages as messages

    sites = [
        (owner, name)
        for owner in (messages.Messages, messages.AsyncMessages, beta.Messages, beta.AsyncMessages)
        for name in ("create", "stream")
    ]
    originals = [owner.__dict__[name] for owner, name in sites]
    with optel.testing.capture():  # the SDK patches wait for recording to start
        optel.instrument("anthropic")
    try:
        for (owner, name), original in zip(sites, originals):
            assert owner.__dict__[name].__wrapped__ is original, (owner, name)
    finally:
        optel.uninstrument("anthropic")
    for (owner, name), original in zip(sites, originals):
        assert owner.__dict__[name] is original, (owner, name)


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
    manager = client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES)
    out.append(type(manager))
    with manager as stream:
        out.append(type(stream))
        out.append([event.model_dump() for event in stream])
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
    assert unpatched[-3] is anthropic.MessageStreamManager
    assert spans.take() == []
