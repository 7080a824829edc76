"""The ollama instrumentor, with the real SDK talking to the local fake Ollama API (tests/fake_sdk_apis.py)."""

from __future__ import annotations

import asyncio

import ollama
import pytest

import llm_sdk_host
import optel
from fake_llm_api import PROMPT_TEXT, RESPONSE_TEXT
from fake_sdk_apis import OLLAMA_EMBED_USAGE, OLLAMA_USAGE
from host_process import receiver_for
from llm_recording import assert_no_text, ended_spans, streamed_facts
from optel.record import spans

MESSAGES = [{"role": "user", "content": PROMPT_TEXT}]
COUNTS = {
    "gen_ai.usage.input_tokens": OLLAMA_USAGE["prompt_eval_count"],
    "gen_ai.usage.output_tokens": OLLAMA_USAGE["eval_count"],
}


@pytest.fixture
def client(api):
    with ollama.Client(host=api.ollama_host) as c:
        yield c


@pytest.fixture
def recorded():
    with ended_spans("ollama") as ended:
        yield ended


def test_a_chat_records_one_genai_span_with_the_model_counts_limit_and_done_reason(
    client, recorded
):
    reply = client.chat("llama3", messages=MESSAGES, options={"num_predict": 64})

    assert reply.message.content == RESPONSE_TEXT
    (span,) = recorded()
    assert span["kind"] == "client"
    assert span["name"] == "chat llama3"
    assert span["attributes"] == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "ollama",
        "gen_ai.request.model": "llama3",
        "gen_ai.request.max_tokens": 64,
        "gen_ai.response.model": "llama3",
        "gen_ai.response.finish_reasons": ["stop"],
        **COUNTS,
    }
    assert_no_text([span])


def test_a_streamed_chat_ends_its_span_with_the_last_chunks_counts(client, recorded):
    stream = client.chat("llama3", messages=MESSAGES, stream=True)
    assert spans.current() is None, "a stream being read must not parent the host's spans"
    assert recorded() == []

    text = "".join(part.message.content for part in stream)

    assert text == RESPONSE_TEXT
    (span,) = recorded()
    assert streamed_facts(span) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "ollama",
        "gen_ai.request.model": "llama3",
        "gen_ai.response.model": "llama3",
        "gen_ai.response.finish_reasons": ["stop"],
        **COUNTS,
    }


def test_the_module_functions_and_generate_and_embed_are_recorded(api, recorded, monkeypatch):
    # ollama.chat & co. are bound to a default client made at import (from OLLAMA_HOST then):
    # point that client's HTTP client at the fake.
    default = ollama.chat.__self__
    monkeypatch.setattr(default, "_client", ollama.Client(host=api.ollama_host)._client)

    ollama.chat("llama3", messages=MESSAGES)
    for _ in ollama.generate("llama3", PROMPT_TEXT, stream=True):
        pass
    ollama.embed("nomic-embed-text", PROMPT_TEXT)

    chat, generate, embed = recorded()
    assert chat["attributes"]["gen_ai.usage.output_tokens"] == OLLAMA_USAGE["eval_count"]
    assert generate["attributes"]["gen_ai.operation.name"] == "text_completion"
    assert generate["attributes"]["gen_ai.usage.input_tokens"] == OLLAMA_USAGE["prompt_eval_count"]
    assert embed["attributes"]["gen_ai.operation.name"] == "embeddings"
    assert (
        embed["attributes"]["gen_ai.usage.input_tokens"] == OLLAMA_EMBED_USAGE["prompt_eval_count"]
    )
    assert "gen_ai.usage.output_tokens" not in embed["attributes"]


def test_async_calls_and_async_streams_are_recorded(api, recorded):
    seen = {}

    async def main():
        client = ollama.AsyncClient(host=api.ollama_host)
        await client.chat("llama3", messages=MESSAGES)
        stream = await client.generate("llama3", PROMPT_TEXT, stream=True)
        seen["before reading"] = recorded()
        async for _ in stream:
            pass

    asyncio.run(main())
    (plain,) = seen["before reading"]
    (streamed,) = recorded()
    assert plain["attributes"]["gen_ai.usage.input_tokens"] == OLLAMA_USAGE["prompt_eval_count"]
    assert streamed_facts(streamed)["gen_ai.usage.output_tokens"] == OLLAMA_USAGE["eval_count"]


def test_a_private_model_name_is_sent_as_custom(client, recorded):
    client.chat("acme-support-bot-v3", messages=MESSAGES)
    (span,) = recorded()
    assert span["attributes"]["gen_ai.request.model"] == "custom"
    assert span["attributes"]["gen_ai.response.model"] == "custom"
    assert "acme" not in str(span)


def test_an_api_error_records_its_class_and_status_never_its_message(api, recorded):
    refused = ollama.Client(host=api.ollama_host, headers=llm_sdk_host.REFUSED)
    with pytest.raises(ollama.ResponseError) as raised:
        refused.chat("llama3", messages=MESSAGES)
    assert PROMPT_TEXT in str(raised.value), "the fake API quotes the prompt in its error"
    (span,) = recorded()
    assert span["status"] == "error"
    assert span["attributes"]["error.type"] == "ollama.ResponseError"
    assert span["attributes"]["http.response.status_code"] == 400
    assert_no_text([span])


def test_with_telemetry_off_calls_behave_as_unpatched_and_record_nothing(client):
    spans.set_recording(False)
    unpatched = [
        client.chat("llama3", messages=MESSAGES),
        list(client.generate("llama3", "x", stream=True)),
    ]
    spans.set_recording(True)
    optel.instrument("ollama")  # patched now: something records
    spans.set_recording(False)
    try:
        assert ollama.Client.chat.__wrapped__
        patched = [
            client.chat("llama3", messages=MESSAGES),
            list(client.generate("llama3", "x", stream=True)),
        ]
        assert type(client.chat("llama3", messages=MESSAGES, stream=True)).__name__ == "generator"
    finally:
        optel.uninstrument("ollama")
    assert patched == unpatched
    assert not hasattr(ollama.Client.chat, "__wrapped__")
    assert spans.take() == []


@pytest.mark.slow
def test_a_host_process_sends_its_ollama_calls_to_the_collector(api, isolated_home, tmp_path):
    with receiver_for(llm_sdk_host.APP, isolated_home) as receiver:
        sent = llm_sdk_host.run("ollama", api.ollama_host, PROMPT_TEXT, receiver, tmp_path)
    counts = (OLLAMA_USAGE["prompt_eval_count"], OLLAMA_USAGE["eval_count"])
    llm_sdk_host.check(sent, "ollama", "llama3", counts, "ollama.ResponseError")
