"""The bedrock instrumentor, with real boto3 talking to the local fake Bedrock runtime API
(tests/fake_sdk_apis.py: JSON, and AWS's binary event-stream framing for the streams)."""

from __future__ import annotations

import json

import boto3
import botocore.exceptions
import pytest

import llm_sdk_host
import optel
from fake_llm_api import PROMPT_TEXT, RESPONSE_TEXT
from fake_sdk_apis import BEDROCK_USAGE
from host_process import receiver_for
from llm_recording import assert_no_text, ended_spans, streamed_facts
from optel.record import spans

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": PROMPT_TEXT}]}]
BODY = json.dumps(
    {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20, "messages": MESSAGES}
)
REQUEST = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "aws.bedrock",
    "gen_ai.request.model": MODEL,
}
CONVERSE = {
    **REQUEST,
    "gen_ai.response.finish_reasons": ["end_turn"],
    # Bedrock's cache reads and writes are beside its inputTokens; the conventions count them in.
    "gen_ai.usage.input_tokens": BEDROCK_USAGE["inputTokens"]
    + BEDROCK_USAGE["cacheReadInputTokens"]
    + BEDROCK_USAGE["cacheWriteInputTokens"],
    "gen_ai.usage.output_tokens": BEDROCK_USAGE["outputTokens"],
    "gen_ai.usage.cache_read.input_tokens": BEDROCK_USAGE["cacheReadInputTokens"],
    "gen_ai.usage.cache_creation.input_tokens": BEDROCK_USAGE["cacheWriteInputTokens"],
}
INVOKE = {
    **REQUEST,
    "gen_ai.usage.input_tokens": BEDROCK_USAGE["inputTokens"],
    "gen_ai.usage.output_tokens": BEDROCK_USAGE["outputTokens"],
}


@pytest.fixture
def aws(monkeypatch):
    for name, value in llm_sdk_host.AWS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def client(api, aws):
    return boto3.client("bedrock-runtime", endpoint_url=api.bedrock_endpoint)


@pytest.fixture
def recorded():
    with ended_spans("bedrock") as ended:
        yield ended


def test_converse_records_one_genai_span_with_its_usage_and_stop_reason(client, recorded):
    reply = client.converse(modelId=MODEL, messages=MESSAGES, inferenceConfig={"maxTokens": 30})

    assert reply["output"]["message"]["content"][0]["text"] == RESPONSE_TEXT
    (span,) = recorded()
    assert span["kind"] == "client"
    assert span["attributes"] == {**CONVERSE, "gen_ai.request.max_tokens": 30}
    assert_no_text([span])


def test_converse_stream_ends_its_span_with_the_event_stream_and_its_metadata_usage(
    client, recorded
):
    response = client.converse_stream(modelId=MODEL, messages=MESSAGES)
    assert spans.current() is None, "a stream being read must not parent the host's spans"
    assert recorded() == []

    events = list(response["stream"])

    text = "".join(
        e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e
    )
    assert text == RESPONSE_TEXT
    (span,) = recorded()
    assert streamed_facts(span) == CONVERSE


def test_invoke_model_reads_its_counts_from_the_headers_never_the_body(client, recorded):
    response = client.invoke_model(modelId=MODEL, body=BODY)
    assert json.loads(response["body"].read())["content"][0]["text"] == RESPONSE_TEXT
    streamed = client.invoke_model_with_response_stream(modelId=MODEL, body=BODY)
    chunks = list(streamed["body"])
    assert len(chunks) == 2

    plain, stream = recorded()
    assert plain["attributes"] == INVOKE
    assert streamed_facts(stream) == INVOKE


def test_other_aws_calls_are_not_recorded(api, aws, recorded):
    other = boto3.client("bedrock", endpoint_url=api.bedrock_endpoint)
    with pytest.raises(botocore.exceptions.ClientError):
        other.list_foundation_models()
    assert recorded() == []


def test_an_api_error_records_its_class_and_status_never_its_message(client, recorded):
    def refuse(request, **kwargs):
        request.headers.update(llm_sdk_host.REFUSED)

    client.meta.events.register("before-send.bedrock-runtime.Converse", refuse)
    with pytest.raises(client.exceptions.ValidationException) as raised:
        client.converse(modelId=MODEL, messages=MESSAGES)
    assert PROMPT_TEXT in str(raised.value), "the fake API quotes the prompt in its error"
    (span,) = recorded()
    assert span["status"] == "error"
    assert span["attributes"]["error.type"] == "botocore.errorfactory.ValidationException"
    assert span["attributes"]["http.response.status_code"] == 400
    assert_no_text([span])


def test_with_telemetry_off_calls_behave_as_unpatched_and_record_nothing(client):
    def calls():
        reply = client.converse(modelId=MODEL, messages=MESSAGES)
        events = list(client.converse_stream(modelId=MODEL, messages=MESSAGES)["stream"])
        return [reply["output"], reply["usage"], events]

    base = botocore.client.BaseClient
    original = vars(base)["_make_api_call"]
    spans.set_recording(False)
    unpatched = calls()
    spans.set_recording(True)
    optel.instrument("bedrock")  # patched now: something records
    spans.set_recording(False)
    try:
        assert vars(base)["_make_api_call"].__wrapped__ is original
        patched = calls()
    finally:
        optel.uninstrument("bedrock")
    assert patched == unpatched
    assert vars(base)["_make_api_call"] is original
    assert spans.take() == []


@pytest.mark.slow
def test_a_host_process_sends_its_bedrock_calls_to_the_collector(api, isolated_home, tmp_path):
    with receiver_for(llm_sdk_host.APP, isolated_home) as receiver:
        sent = llm_sdk_host.run("bedrock", api.bedrock_endpoint, PROMPT_TEXT, receiver, tmp_path)
    counts = (CONVERSE["gen_ai.usage.input_tokens"], BEDROCK_USAGE["outputTokens"])
    llm_sdk_host.check(
        sent, "aws.bedrock", MODEL, counts, "botocore.errorfactory.ValidationException"
    )
