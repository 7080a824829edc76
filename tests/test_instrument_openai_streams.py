"""The openai SDK's stream helpers, which go through ``create``: one span each, with the real SDK."""

from __future__ import annotations

import asyncio

import openai
import pytest

from fake_llm_api import OPENAI_USAGE, PROMPT_TEXT, RESPONSE_TEXT, RESPONSES_USAGE
from llm_recording import assert_no_text, ended_spans, streamed_facts

MESSAGES = [{"role": "user", "content": PROMPT_TEXT}]

RESPONSES_EXPECTED = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2025-01-01",
    "gen_ai.response.id": "resp_1",
    "gen_ai.usage.input_tokens": RESPONSES_USAGE["input_tokens"],
    "gen_ai.usage.output_tokens": RESPONSES_USAGE["output_tokens"],
    "gen_ai.usage.cache_read.input_tokens": RESPONSES_USAGE["cached_tokens"],
    "gen_ai.usage.reasoning.output_tokens": RESPONSES_USAGE["reasoning_tokens"],
    "gen_ai.response.finish_reasons": ["stop"],
}


@pytest.fixture
def client(api):
    with openai.OpenAI(base_url=api.openai_base_url, api_key="test", max_retries=0) as c:
        yield c


@pytest.fixture
def recorded():
    with ended_spans("openai") as ended:
        yield ended


def test_the_responses_stream_helper_records_one_span_with_the_final_responses_usage(
    client, recorded
):
    with client.responses.stream(model="gpt-4o", input=PROMPT_TEXT) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[-1] == "response.completed"
    assert final.output_text == RESPONSE_TEXT
    (span,) = recorded()
    assert span["kind"] == "client"
    assert streamed_facts(span) == RESPONSES_EXPECTED
    assert_no_text([span])


def test_the_async_responses_stream_helper_is_recorded(api, recorded):
    async def main():
        client = openai.AsyncOpenAI(base_url=api.openai_base_url, api_key="test", max_retries=0)
        async with client, client.responses.stream(model="gpt-4o", input=PROMPT_TEXT) as stream:
            return (await stream.get_final_response()).output_text

    assert asyncio.run(main()) == RESPONSE_TEXT
    (span,) = recorded()
    assert streamed_facts(span) == RESPONSES_EXPECTED


def test_a_streamed_responses_create_is_recorded_once_with_its_usage(client, recorded):
    for _ in client.responses.create(model="gpt-4o", input=PROMPT_TEXT, stream=True):
        pass
    (span,) = recorded()
    assert streamed_facts(span) == RESPONSES_EXPECTED


def test_the_chat_completions_stream_helper_records_one_span_with_the_final_chunk_usage(
    client, recorded
):
    with client.chat.completions.stream(
        model="gpt-4o", messages=MESSAGES, stream_options={"include_usage": True}
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == RESPONSE_TEXT
    (span,) = recorded()
    assert span["attributes"]["gen_ai.usage.input_tokens"] == OPENAI_USAGE["prompt_tokens"]
    assert span["attributes"]["gen_ai.usage.output_tokens"] == OPENAI_USAGE["completion_tokens"]
    assert span["attributes"]["gen_ai.response.finish_reasons"] == ["stop"]
    assert_no_text([span])
