"""The google-genai instrumentor, with the real SDK talking to the local fake Gemini API (tests/fake_sdk_apis.py)."""

from __future__ import annotations

import asyncio

import pytest
from google import genai
from google.genai import errors

import llm_sdk_host
import optel
from fake_llm_api import PROMPT_TEXT, RESPONSE_TEXT
from fake_sdk_apis import GEMINI_USAGE
from host_process import receiver_for
from llm_recording import assert_no_text, ended_spans, streamed_facts
from optel.record import spans

MODEL = "gemini-2.0-flash"
THOUGHTS = GEMINI_USAGE["thoughtsTokenCount"]
FACTS = {
    "gen_ai.operation.name": "generate_content",
    "gen_ai.provider.name": "gcp.gemini",
    "gen_ai.request.model": MODEL,
    "gen_ai.response.model": MODEL + "-001",
    "gen_ai.response.id": "gemini-1",
    "gen_ai.response.finish_reasons": ["stop"],
    # Cached tokens are inside Gemini's prompt count; thinking tokens beside its output count.
    "gen_ai.usage.input_tokens": GEMINI_USAGE["promptTokenCount"],
    "gen_ai.usage.output_tokens": GEMINI_USAGE["candidatesTokenCount"] + THOUGHTS,
    "gen_ai.usage.cache_read.input_tokens": GEMINI_USAGE["cachedContentTokenCount"],
    "gen_ai.usage.reasoning.output_tokens": THOUGHTS,
}


@pytest.fixture
def client(api):
    return genai.Client(api_key="test", http_options={"base_url": api.google_base_url})


@pytest.fixture
def recorded():
    with ended_spans("google_genai") as ended:
        yield ended


def test_generate_content_records_one_genai_span(client, recorded):
    reply = client.models.generate_content(
        model=MODEL, contents=PROMPT_TEXT, config={"max_output_tokens": 50}
    )

    assert reply.text == RESPONSE_TEXT
    (span,) = recorded()
    assert span["kind"] == "client"
    assert span["name"] == f"generate_content {MODEL}"
    assert span["attributes"] == {**FACTS, "gen_ai.request.max_tokens": 50}
    assert_no_text([span])


def test_a_stream_ends_its_span_when_exhausted_with_its_last_chunks_usage(client, recorded):
    stream = client.models.generate_content_stream(model=MODEL, contents=PROMPT_TEXT)
    text = "".join(chunk.text or "" for chunk in stream)

    assert text == RESPONSE_TEXT
    (span,) = recorded()
    assert streamed_facts(span) == FACTS


def test_async_calls_and_async_streams_are_recorded(client, recorded):
    seen = {}

    async def main():
        config = genai.types.GenerateContentConfig(max_output_tokens=9)
        await client.aio.models.generate_content(model=MODEL, contents=PROMPT_TEXT, config=config)
        stream = await client.aio.models.generate_content_stream(model=MODEL, contents=PROMPT_TEXT)
        seen["before reading"] = recorded()
        async for _ in stream:
            pass

    asyncio.run(main())
    (plain,) = seen["before reading"]
    (streamed,) = recorded()
    assert plain["attributes"] == {**FACTS, "gen_ai.request.max_tokens": 9}
    assert streamed_facts(streamed) == FACTS


def test_embeddings_are_recorded(client, recorded):
    result = client.models.embed_content(model="text-embedding-004", contents=PROMPT_TEXT)
    assert result.embeddings[0].values == [0.25, -0.5, 1.0]
    (span,) = recorded()
    assert span["attributes"]["gen_ai.operation.name"] == "embeddings"
    assert span["attributes"]["gen_ai.request.model"] == "text-embedding-004"


def test_a_private_model_name_is_sent_as_custom(client, recorded):
    client.models.generate_content(model="gemini-2.0-flash-acme-support", contents=PROMPT_TEXT)
    (span,) = recorded()
    assert span["attributes"]["gen_ai.request.model"] == "custom"
    assert "acme" not in str(span)


def test_an_api_error_records_its_class_and_status_never_its_message(api, recorded):
    refused = genai.Client(
        api_key="test",
        http_options={"base_url": api.google_base_url, "headers": llm_sdk_host.REFUSED},
    )
    with pytest.raises(errors.ClientError) as raised:
        refused.models.generate_content(model=MODEL, contents=PROMPT_TEXT)
    assert PROMPT_TEXT in str(raised.value), "the fake API quotes the prompt in its error"
    (span,) = recorded()
    assert span["status"] == "error"
    assert span["attributes"]["error.type"] == "google.genai.errors.ClientError"
    assert span["attributes"]["http.response.status_code"] == 400
    assert_no_text([span])


def test_with_telemetry_off_calls_behave_as_unpatched_and_record_nothing(client):
    def calls():
        reply = client.models.generate_content(model=MODEL, contents="x")
        return [
            reply.text,
            [c.text for c in client.models.generate_content_stream(model=MODEL, contents="x")],
        ]

    models = type(client.models)
    spans.set_recording(False)
    unpatched = calls()
    spans.set_recording(True)
    optel.instrument("google_genai")  # patched now: something records
    spans.set_recording(False)
    try:
        assert models.generate_content.__wrapped__
        patched = calls()
    finally:
        optel.uninstrument("google_genai")
    assert patched == unpatched
    assert not hasattr(models.generate_content, "__wrapped__")
    assert spans.take() == []


@pytest.mark.slow
def test_a_host_process_sends_its_gemini_calls_to_the_collector(api, isolated_home, tmp_path):
    with receiver_for(llm_sdk_host.APP, isolated_home) as receiver:
        sent = llm_sdk_host.run(
            "google_genai", api.google_base_url, PROMPT_TEXT, receiver, tmp_path
        )
    counts = (GEMINI_USAGE["promptTokenCount"], GEMINI_USAGE["candidatesTokenCount"] + THOUGHTS)
    llm_sdk_host.check(sent, "gcp.gemini", MODEL, counts, "google.genai.errors.ClientError")
