"""The mistralai instrumentor, with the real SDK talking to the local fake Mistral API (tests/fake_sdk_apis.py)."""

from __future__ import annotations

import asyncio

import pytest

try:
    from mistralai.client import Mistral, errors  # 2.x and later

    SDK_ERROR = "mistralai.client.errors.SDKError"
except ImportError:  # 1.x, the newest release for Python 3.9
    from mistralai import Mistral
    from mistralai import models as errors

    SDK_ERROR = "mistralai.models.sdkerror.SDKError"

import llm_sdk_host
import optel
from fake_llm_api import OPENAI_USAGE, PROMPT_TEXT, RESPONSE_TEXT
from host_process import receiver_for
from llm_recording import assert_no_text, ended_spans, streamed_facts
from optel.record import spans

MESSAGES = [{"role": "user", "content": PROMPT_TEXT}]
MODEL = "mistral-small-latest"
FACTS = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "mistral_ai",
    "gen_ai.request.model": MODEL,
    "gen_ai.response.model": MODEL + "-2025-01-01",
    "gen_ai.response.id": "chatcmpl-1",
    "gen_ai.response.finish_reasons": ["stop"],
    "gen_ai.usage.input_tokens": OPENAI_USAGE["prompt_tokens"],
    "gen_ai.usage.output_tokens": OPENAI_USAGE["completion_tokens"],
    "gen_ai.usage.cache_read.input_tokens": OPENAI_USAGE["cached_tokens"],
    "gen_ai.usage.reasoning.output_tokens": OPENAI_USAGE["reasoning_tokens"],
}


@pytest.fixture
def client(api):
    return Mistral(api_key="test", server_url=api.mistral_base_url)


@pytest.fixture
def recorded():
    with ended_spans("mistralai") as ended:
        yield ended


def test_a_chat_completion_records_one_genai_span(client, recorded):
    reply = client.chat.complete(model=MODEL, messages=MESSAGES, max_tokens=30)

    assert reply.choices[0].message.content == RESPONSE_TEXT
    (span,) = recorded()
    assert span["kind"] == "client"
    assert span["attributes"] == {**FACTS, "gen_ai.request.max_tokens": 30}
    assert_no_text([span])


def test_a_stream_ends_its_span_when_exhausted_with_its_last_chunks_usage(client, recorded):
    stream = client.chat.stream(model=MODEL, messages=MESSAGES)
    assert spans.current() is None, "a stream being read must not parent the host's spans"
    assert recorded() == []

    text = "".join(
        event.data.choices[0].delta.content or "" for event in stream if event.data.choices
    )

    assert text == RESPONSE_TEXT
    (span,) = recorded()
    assert streamed_facts(span) == FACTS


def test_a_stream_closed_early_ends_its_span_at_close(client, recorded):
    with client.chat.stream(model=MODEL, messages=MESSAGES) as stream:
        next(iter(stream))
        assert recorded() == []
    (span,) = recorded()
    assert span["attributes"]["gen_ai.request.stream"] is True
    assert span["end_ns"] > 0


def test_async_calls_async_streams_and_embeddings_are_recorded(client, recorded):
    async def main():
        await client.chat.complete_async(model=MODEL, messages=MESSAGES)
        stream = await client.chat.stream_async(model=MODEL, messages=MESSAGES)
        async for _ in stream:
            pass
        client.embeddings.create(model="mistral-embed", inputs=[PROMPT_TEXT])

    asyncio.run(main())
    plain, streamed, embedded = recorded()
    assert plain["attributes"] == FACTS
    assert streamed_facts(streamed) == FACTS
    assert embedded["attributes"]["gen_ai.operation.name"] == "embeddings"
    assert embedded["attributes"]["gen_ai.usage.input_tokens"] == 4


def test_a_private_model_name_is_sent_as_custom(client, recorded):
    client.chat.complete(model="ft:open-mistral-7b:acme:support", messages=MESSAGES)
    (span,) = recorded()
    assert span["attributes"]["gen_ai.request.model"] == "custom"
    assert "acme" not in str(span)


def test_an_api_error_records_its_class_and_status_never_its_message(client, recorded):
    with pytest.raises(errors.SDKError) as raised:
        client.chat.complete(model=MODEL, messages=MESSAGES, http_headers=llm_sdk_host.REFUSED)
    assert PROMPT_TEXT in str(raised.value), "the fake API quotes the prompt in its error"
    (span,) = recorded()
    assert span["status"] == "error"
    assert span["attributes"]["error.type"] == SDK_ERROR
    assert span["attributes"]["http.response.status_code"] == 400
    assert_no_text([span])


def test_with_telemetry_off_calls_behave_as_unpatched_and_record_nothing(client):
    def calls():
        return [
            client.chat.complete(model=MODEL, messages=MESSAGES),
            [event.data for event in client.chat.stream(model=MODEL, messages=MESSAGES)],
        ]

    spans.set_recording(False)
    unpatched = calls()
    spans.set_recording(True)
    optel.instrument("mistralai")  # patched now: something records
    spans.set_recording(False)
    try:
        assert type(client.chat).complete.__wrapped__
        patched = calls()
    finally:
        optel.uninstrument("mistralai")
    assert patched == unpatched
    assert not hasattr(type(client.chat).complete, "__wrapped__")
    assert spans.take() == []


@pytest.mark.slow
def test_a_host_process_sends_its_mistral_calls_to_the_collector(api, isolated_home, tmp_path):
    with receiver_for(llm_sdk_host.APP, isolated_home) as receiver:
        sent = llm_sdk_host.run("mistralai", api.mistral_base_url, PROMPT_TEXT, receiver, tmp_path)
    counts = (OPENAI_USAGE["prompt_tokens"], OPENAI_USAGE["completion_tokens"])
    llm_sdk_host.check(sent, "mistral_ai", MODEL, counts, SDK_ERROR)
