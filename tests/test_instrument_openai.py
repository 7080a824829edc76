"""The openai instrumentor, with the real SDK talking to the local fake API."""

from __future__ import annotations

import asyncio

import openai
import pytest

import optel
import optel.testing
from fake_llm_api import OPENAI_USAGE, PROMPT_TEXT, RESPONSE_TEXT, RESPONSES_USAGE
from llm_recording import assert_no_text, ended_spans, streamed_facts
from optel.record import spans

MESSAGES = [{"role": "user", "content": PROMPT_TEXT}]


@pytest.fixture
def client(api):
    with openai.OpenAI(base_url=api.openai_base_url, api_key="test", max_retries=0) as c:
        yield c


@pytest.fixture
def instrumented():
    optel.instrument("openai")
    yield
    optel.uninstrument("openai")


@pytest.fixture
def recorded(instrumented):
    with ended_spans() as ended:
        yield ended


def test_a_chat_completion_records_one_genai_span_with_models_tokens_and_finish_reasons(
    client, recorded
):
    reply = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    assert reply.choices[0].message.content == RESPONSE_TEXT
    (span,) = recorded()
    assert span["kind"] == "client"
    assert span["attributes"] == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2025-01-01",
        "gen_ai.response.id": "chatcmpl-1",
        "gen_ai.usage.input_tokens": OPENAI_USAGE["prompt_tokens"],
        "gen_ai.usage.output_tokens": OPENAI_USAGE["completion_tokens"],
        "gen_ai.usage.cache_read.input_tokens": OPENAI_USAGE["cached_tokens"],
        "gen_ai.usage.reasoning.output_tokens": OPENAI_USAGE["reasoning_tokens"],
        "gen_ai.response.finish_reasons": ["stop"],
    }
    assert span["status"] == "unset"
    assert_no_text([span])


def test_a_streamed_chat_span_ends_when_the_stream_is_exhausted_with_the_final_chunk_usage(
    client, recorded
):
    stream = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    assert isinstance(stream, openai.Stream)
    assert spans.current() is None, "a stream being read must not parent the host's spans"
    assert recorded() == []

    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    assert text == RESPONSE_TEXT
    (span,) = recorded()
    assert span["attributes"]["gen_ai.usage.input_tokens"] == OPENAI_USAGE["prompt_tokens"]
    assert span["attributes"]["gen_ai.usage.output_tokens"] == OPENAI_USAGE["completion_tokens"]
    assert span["attributes"]["gen_ai.response.model"] == "gpt-4o-2025-01-01"
    assert span["attributes"]["gen_ai.response.finish_reasons"] == ["stop"]
    assert span["attributes"]["gen_ai.response.id"] == "chatcmpl-1"
    assert (
        streamed_facts(span)["gen_ai.usage.reasoning.output_tokens"]
        == OPENAI_USAGE["reasoning_tokens"]
    )
    assert_no_text([span])


def test_a_stream_without_include_usage_records_no_token_counts(client, recorded):
    for _ in client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True):
        pass
    (span,) = recorded()
    assert "gen_ai.usage.input_tokens" not in span["attributes"]
    assert span["attributes"]["gen_ai.response.finish_reasons"] == ["stop"]


def test_a_stream_closed_early_ends_its_span_at_close(client, recorded):
    with client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True) as stream:
        next(iter(stream))
        assert recorded() == []
    (span,) = recorded()
    assert span["attributes"]["gen_ai.request.model"] == "gpt-4o"
    assert span["end_ns"] > 0


def test_the_responses_api_is_recorded_plain_and_streamed(client, recorded):
    response = client.responses.create(model="gpt-4o", input=PROMPT_TEXT)
    assert response.output_text == RESPONSE_TEXT
    events = [
        e.type for e in client.responses.create(model="gpt-4o", input=PROMPT_TEXT, stream=True)
    ]
    assert events[-1] == "response.completed"

    plain, streamed = recorded()
    for span in (plain, streamed):
        assert span["attributes"]["gen_ai.operation.name"] == "chat"
        assert span["attributes"]["gen_ai.usage.input_tokens"] == RESPONSES_USAGE["input_tokens"]
        assert span["attributes"]["gen_ai.usage.output_tokens"] == RESPONSES_USAGE["output_tokens"]
        assert (
            span["attributes"]["gen_ai.usage.cache_read.input_tokens"]
            == RESPONSES_USAGE["cached_tokens"]
        )
        assert (
            span["attributes"]["gen_ai.usage.reasoning.output_tokens"]
            == RESPONSES_USAGE["reasoning_tokens"]
        )
        assert span["attributes"]["gen_ai.response.id"] == "resp_1"
        # From the output items (a message): what stopped the model, not the response's status.
        assert span["attributes"]["gen_ai.response.finish_reasons"] == ["stop"]
    assert "gen_ai.request.stream" not in plain["attributes"]
    assert streamed_facts(streamed)["gen_ai.response.finish_reasons"] == ["stop"]
    assert_no_text([plain, streamed])


def test_a_responses_finish_reason_says_tool_calls_or_length_from_its_output(client, recorded):
    tool = {
        "type": "function",
        "name": "lookup",
        "parameters": {"type": "object", "properties": {}},
    }
    client.responses.create(model="gpt-4o", input=PROMPT_TEXT, tools=[tool])
    client.responses.create(model="gpt-4o", input=PROMPT_TEXT, max_output_tokens=1)
    called, cut = recorded()
    assert called["attributes"]["gen_ai.response.finish_reasons"] == ["tool_calls"]
    assert cut["attributes"]["gen_ai.response.finish_reasons"] == ["length"]
    assert cut["attributes"]["gen_ai.request.max_tokens"] == 1


def test_a_request_records_its_token_limit(client, recorded):
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_completion_tokens=50)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=40)
    newer, older = recorded()
    assert newer["attributes"]["gen_ai.request.max_tokens"] == 50
    assert older["attributes"]["gen_ai.request.max_tokens"] == 40


def test_an_azure_openai_client_is_recorded_as_azure_ai_openai(api, recorded):
    with openai.AzureOpenAI(
        base_url=api.openai_base_url, api_key="test", api_version="2024-10-21", max_retries=0
    ) as azure:
        azure.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        for _ in azure.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True):
            pass

    async def main():
        async with openai.AsyncAzureOpenAI(
            base_url=api.openai_base_url, api_key="test", api_version="2024-10-21", max_retries=0
        ) as client:
            await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    asyncio.run(main())
    spans_seen = recorded()
    assert [s["attributes"]["gen_ai.provider.name"] for s in spans_seen] == ["azure.ai.openai"] * 3
    assert spans_seen[0]["attributes"]["gen_ai.response.model"] == "gpt-4o-2025-01-01"


def test_embeddings_are_recorded_with_their_input_tokens(client, recorded):
    result = client.embeddings.create(model="text-embedding-3-small", input=[PROMPT_TEXT])
    assert result.data[0].embedding == [0.25, -0.5, 1.0]
    (span,) = recorded()
    assert span["attributes"]["gen_ai.operation.name"] == "embeddings"
    assert span["attributes"]["gen_ai.usage.input_tokens"] == 4
    assert "gen_ai.usage.output_tokens" not in span["attributes"]


def test_async_calls_and_async_streams_are_recorded(api, recorded):
    seen = {}

    async def main():
        async with openai.AsyncOpenAI(
            base_url=api.openai_base_url, api_key="test", max_retries=0
        ) as client:
            await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            stream = await client.chat.completions.create(
                model="gpt-4o-mini",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
            assert isinstance(stream, openai.AsyncStream)
            seen["before reading the stream"] = recorded()
            async for _ in stream:
                pass
            await client.embeddings.create(model="text-embedding-3-small", input="x")

    asyncio.run(main())
    (plain,) = seen["before reading the stream"]
    streamed, embedded = recorded()
    assert plain["attributes"]["gen_ai.usage.input_tokens"] == OPENAI_USAGE["prompt_tokens"]
    assert streamed["attributes"]["gen_ai.usage.output_tokens"] == OPENAI_USAGE["completion_tokens"]
    assert embedded["attributes"]["gen_ai.operation.name"] == "embeddings"


@pytest.mark.parametrize(
    ("status", "error"), [(429, openai.RateLimitError), (500, openai.InternalServerError)]
)
def test_an_api_error_records_its_sdk_class_and_http_status_and_is_raised_unchanged(
    client, recorded, status, error
):
    with pytest.raises(error) as raised:
        client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, extra_headers={"x-fake-status": str(status)}
        )
    assert raised.value.status_code == status
    (span,) = recorded()
    assert span["status"] == "error"
    assert span["attributes"]["error.type"] == f"openai.{error.__name__}"
    assert span["attributes"]["http.response.status_code"] == status


def calls(client):
    """Every kind of call, and what it gave back, in a comparable form."""
    out = [client.chat.completions.create(model="gpt-4o", messages=MESSAGES).model_dump()]
    stream = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    out.append(type(stream))
    out.append([chunk.model_dump() for chunk in stream])
    out.append(client.responses.create(model="gpt-4o", input="x").model_dump())
    out.append(client.embeddings.create(model="text-embedding-3-small", input="x").model_dump())
    try:
        client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, extra_headers={"x-fake-status": "429"}
        )
    except openai.APIError as exc:
        out.append((type(exc), str(exc), exc.body))
    return out


def test_with_telemetry_off_patched_calls_behave_as_unpatched_and_record_nothing(client):
    spans.set_recording(False)
    unpatched = calls(client)
    optel.instrument("openai")
    try:
        patched = calls(client)
        assert openai.resources.chat.completions.Completions.create.__wrapped__
    finally:
        optel.uninstrument("openai")
    assert patched == unpatched
    assert unpatched[1] is openai.Stream
    assert spans.take() == []


def test_with_telemetry_off_the_sdks_own_stream_object_is_returned(client, instrumented):
    spans.set_recording(False)
    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    assert type(stream) is openai.Stream
    stream.close()


def test_an_sdk_call_inside_an_llm_call_function_is_recorded_once_by_the_function(client, recorded):
    # One answer to "inside an LLM call?" (genai_spans.in_llm_call) for the instrumentors and the
    # HTTP spans: the host's own @llm_call span is the call, the SDK's request is part of it.
    @optel.llm_call(provider="openai")
    def ask(model):
        return client.chat.completions.create(model=model, messages=MESSAGES)

    ask("gpt-4o")
    (span,) = recorded()
    assert span["attributes"]["gen_ai.request.model"] == "gpt-4o"
    assert span["attributes"]["gen_ai.usage.input_tokens"] == OPENAI_USAGE["prompt_tokens"]
