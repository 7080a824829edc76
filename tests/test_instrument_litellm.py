"""The litellm instrumentor, with real litellm calling the local fake OpenAI and Ollama APIs.

A litellm call is recorded once, as litellm's, under the provider and model litellm resolved:
``acompletion`` runs litellm's own (instrumented) ``completion``, and litellm reaches OpenAI
through the openai SDK's client (instrumented too in these tests).
"""

from __future__ import annotations

import asyncio

import litellm
import pytest

import llm_sdk_host
import optel
from fake_llm_api import OPENAI_USAGE, PROMPT_TEXT, RESPONSE_TEXT
from fake_sdk_apis import OLLAMA_USAGE
from host_process import receiver_for
from llm_recording import assert_no_text, ended_spans, streamed_facts
from optel.record import spans

MESSAGES = [{"role": "user", "content": PROMPT_TEXT}]
OPENAI_COUNTS = {
    "gen_ai.usage.input_tokens": OPENAI_USAGE["prompt_tokens"],
    "gen_ai.usage.output_tokens": OPENAI_USAGE["completion_tokens"],
    "gen_ai.usage.cache_read.input_tokens": OPENAI_USAGE["cached_tokens"],
    "gen_ai.usage.reasoning.output_tokens": OPENAI_USAGE["reasoning_tokens"],
}


@pytest.fixture
def openai_args(api):
    return {"api_base": api.openai_base_url, "api_key": "test", "num_retries": 0}


@pytest.fixture
def recorded():
    # openai too: litellm's requests go through the openai SDK, and must not be recorded twice.
    optel.instrument("openai")
    try:
        with ended_spans("litellm") as ended:
            yield ended
    finally:
        optel.uninstrument("openai")


def test_a_completion_through_the_openai_sdk_is_one_span_with_the_resolved_provider_and_model(
    openai_args, recorded
):
    reply = litellm.completion("openai/gpt-4o", messages=MESSAGES, max_tokens=20, **openai_args)

    assert reply.choices[0].message.content == RESPONSE_TEXT
    (span,) = recorded()
    assert span["kind"] == "client"
    assert span["name"] == "chat gpt-4o"
    assert span["attributes"] == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.request.max_tokens": 20,
        "gen_ai.response.model": "gpt-4o-2025-01-01",
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.response.finish_reasons": ["stop"],
        **OPENAI_COUNTS,
    }
    assert_no_text([span])


def test_an_ollama_model_is_recorded_with_provider_ollama(api, recorded):
    litellm.completion("ollama/llama3", messages=MESSAGES, api_base=api.ollama_host)
    (span,) = recorded()
    assert span["attributes"]["gen_ai.provider.name"] == "ollama"
    assert span["attributes"]["gen_ai.request.model"] == "llama3"
    assert span["attributes"]["gen_ai.usage.input_tokens"] == OLLAMA_USAGE["prompt_eval_count"]
    assert span["attributes"]["gen_ai.usage.output_tokens"] == OLLAMA_USAGE["eval_count"]


def test_a_stream_ends_its_span_when_exhausted_with_its_last_chunks_usage(openai_args, recorded):
    stream = litellm.completion(
        "openai/gpt-4o",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        **openai_args,
    )
    assert spans.current() is None, "a stream being read must not parent the host's spans"
    assert recorded() == []

    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    assert text == RESPONSE_TEXT
    (span,) = recorded()
    facts = streamed_facts(span)
    assert facts["gen_ai.provider.name"] == "openai"
    assert facts["gen_ai.request.model"] == "gpt-4o"
    assert facts["gen_ai.response.finish_reasons"] == ["stop"]
    assert facts["gen_ai.usage.input_tokens"] == OPENAI_USAGE["prompt_tokens"]
    assert facts["gen_ai.usage.output_tokens"] == OPENAI_USAGE["completion_tokens"]


def test_acompletion_and_async_streams_are_one_span_each(openai_args, recorded):
    async def main():
        await litellm.acompletion("openai/gpt-4o-mini", messages=MESSAGES, **openai_args)
        stream = await litellm.acompletion(
            "openai/gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            **openai_args,
        )
        async for _ in stream:
            pass

    asyncio.run(main())
    # acompletion runs litellm's own completion, and that the openai SDK: one span per call.
    plain, streamed = recorded()
    assert plain["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
    assert plain["attributes"]["gen_ai.usage.input_tokens"] == OPENAI_USAGE["prompt_tokens"]
    assert (
        streamed_facts(streamed)["gen_ai.usage.output_tokens"] == OPENAI_USAGE["completion_tokens"]
    )


def test_embeddings_are_recorded(openai_args, recorded):
    litellm.embedding("openai/text-embedding-3-small", input=[PROMPT_TEXT], **openai_args)
    (span,) = recorded()
    assert span["attributes"]["gen_ai.operation.name"] == "embeddings"
    assert span["attributes"]["gen_ai.usage.input_tokens"] == 4


def test_a_private_model_name_is_sent_as_custom(openai_args, recorded):
    litellm.completion("openai/ft:gpt-4o:acme::abc123", messages=MESSAGES, **openai_args)
    (span,) = recorded()
    assert span["attributes"]["gen_ai.request.model"] == "custom"
    assert "acme" not in str(span)


def test_an_api_error_records_litellms_class_and_status_never_its_message(openai_args, recorded):
    with pytest.raises(litellm.BadRequestError) as raised:
        litellm.completion(
            "openai/gpt-4o", messages=MESSAGES, extra_headers=llm_sdk_host.REFUSED, **openai_args
        )
    assert PROMPT_TEXT in str(raised.value), "the fake API quotes the prompt in its error"
    (span,) = recorded()
    assert span["status"] == "error"
    assert span["attributes"]["error.type"] == "litellm.BadRequestError"
    assert span["attributes"]["http.response.status_code"] == 400
    assert_no_text([span])


def test_with_telemetry_off_calls_behave_as_unpatched_and_record_nothing(openai_args):
    def calls():
        reply = litellm.completion("openai/gpt-4o", messages=MESSAGES, **openai_args)
        stream = litellm.completion("openai/gpt-4o", messages=MESSAGES, stream=True, **openai_args)
        return [
            reply.choices[0].message.content,
            type(stream),
            [c.choices[0].delta.content for c in stream],
        ]

    original = litellm.completion
    spans.set_recording(False)
    unpatched = calls()
    spans.set_recording(True)
    optel.instrument("litellm")  # patched now: something records
    spans.set_recording(False)
    try:
        assert litellm.completion is not original and litellm.completion.__wrapped__ is original
        patched = calls()
    finally:
        optel.uninstrument("litellm")
    assert patched == unpatched
    assert litellm.completion is original
    assert spans.take() == []


@pytest.mark.slow
def test_a_host_process_sends_its_litellm_calls_to_the_collector(api, isolated_home, tmp_path):
    with receiver_for(llm_sdk_host.APP, isolated_home) as receiver:
        sent = llm_sdk_host.run("litellm", api.openai_base_url, PROMPT_TEXT, receiver, tmp_path)
    counts = (OPENAI_USAGE["prompt_tokens"], OPENAI_USAGE["completion_tokens"])
    llm_sdk_host.check(sent, "openai", "gpt-4o", counts, "litellm.BadRequestError")
