"""A host app that calls one LLM SDK through optel's instrumentor, as a real process
(``python llm_sdk_host.py SDK BASE_URL``): a plain call, a streamed one, and one the API refuses
quoting the prompt back. ``run(sdk, api, receiver)`` runs it and returns what the receiver got.

``optel.instrument`` is called before the SDK is imported, as a tool does at the top of its module.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

APP = "llmsdkhost"
REFUSED = {"x-fake-status": "400", "x-fake-echo": "1"}
# The SDK's ordinary clients refuse to start without these; litellm must not fetch its price list.
ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "MISTRAL_API_KEY": "test", "OPENAI_API_KEY": "test"}
# Fake AWS credentials and region: boto3 signs requests, and asks no one for them.
AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _ollama(base: str, prompt: str) -> None:
    os.environ["OLLAMA_HOST"] = base  # for the default client behind ollama.chat
    import ollama

    messages = [{"role": "user", "content": prompt}]
    ollama.chat("llama3", messages=messages)
    for _ in ollama.Client(host=base).chat("llama3", messages=messages, stream=True):
        pass
    ollama.Client(host=base, headers=REFUSED).chat("llama3", messages=messages)


def _mistralai(base: str, prompt: str) -> None:
    try:
        from mistralai.client import Mistral  # 2.x and later
    except ImportError:  # 1.x, the newest release for Python 3.9
        from mistralai import Mistral

    client = Mistral(api_key="test", server_url=base)
    messages: Any = [{"role": "user", "content": prompt}]
    client.chat.complete(model="mistral-small-latest", messages=messages)
    for _ in client.chat.stream(model="mistral-small-latest", messages=messages):
        pass
    client.chat.complete(model="mistral-small-latest", messages=messages, http_headers=REFUSED)


def _litellm(base: str, prompt: str) -> None:
    import litellm

    messages = [{"role": "user", "content": prompt}]
    litellm.completion("openai/gpt-4o", messages=messages, api_base=base, api_key="test")
    stream = litellm.completion(
        "openai/gpt-4o",
        messages=messages,
        api_base=base,
        api_key="test",
        stream=True,
        stream_options={"include_usage": True},
    )
    for _ in stream:
        pass
    litellm.completion(
        "openai/gpt-4o",
        messages=messages,
        api_base=base,
        api_key="test",
        extra_headers=REFUSED,
        num_retries=0,
    )


def _google_genai(base: str, prompt: str) -> None:
    from google import genai

    client = genai.Client(api_key="test", http_options={"base_url": base})
    client.models.generate_content(model="gemini-2.0-flash", contents=prompt)
    for _ in client.models.generate_content_stream(model="gemini-2.0-flash", contents=prompt):
        pass
    refused = genai.Client(api_key="test", http_options={"base_url": base, "headers": REFUSED})
    refused.models.generate_content(model="gemini-2.0-flash", contents=prompt)


def _bedrock(base: str, prompt: str) -> None:
    import boto3

    client = boto3.client("bedrock-runtime", endpoint_url=base)
    model = "anthropic.claude-3-haiku-20240307-v1:0"
    messages = [{"role": "user", "content": [{"text": prompt}]}]
    client.converse(modelId=model, messages=messages)
    for _ in client.converse_stream(modelId=model, messages=messages)["stream"]:
        pass

    def refuse(request: Any, **kwargs: Any) -> None:
        request.headers.update(REFUSED)

    client.meta.events.register("before-send.bedrock-runtime.Converse", refuse)
    client.converse(modelId=model, messages=messages)


CALLS = {
    "bedrock": _bedrock,
    "ollama": _ollama,
    "mistralai": _mistralai,
    "litellm": _litellm,
    "google_genai": _google_genai,
}


def main(sdk: str, base: str, prompt: str) -> None:
    import optel

    optel.instrument(sdk)
    optel.init(APP, version="1.0")

    @optel.command("main")
    def command() -> None:
        try:
            CALLS[sdk](base, prompt)
        except Exception as exc:
            print("refused:", type(exc).__name__, flush=True)

    command()


def run(sdk: str, base: str, prompt: str, receiver: Any, tmp: Path) -> list[dict[str, Any]]:
    """Run the host once; the spans the receiver got from it (the session span left out)."""
    from host_process import drain

    env = {**os.environ, **ENV, **AWS, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}
    host = subprocess.Popen(
        [sys.executable, __file__, sdk, base, prompt],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = host.communicate(timeout=120)
    finally:
        try:
            os.killpg(host.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert host.returncode == 0, err
    assert "refused:" in out, (out, err)  # litellm prints its own advice first
    drain(APP, env)
    return [s for s in receiver.spans() if s["name"] != "optel.cli.session"]


def check(
    spans: list[dict[str, Any]], provider: str, model: str, usage: tuple[int, int], error_type: str
) -> None:
    """The command, and under it a plain, a streamed and a refused LLM span, with no text."""
    import json

    from fake_llm_api import PROMPT_TEXT, RESPONSE_TEXT

    (command,) = [s for s in spans if s["name"] == "main"]
    llm = [s for s in spans if "gen_ai.operation.name" in s["attributes"]]
    assert len(llm) == 3, [s["name"] for s in spans]
    plain, streamed, refused = sorted(llm, key=lambda s: s["start_ns"])
    for span in llm:
        assert span["parent_span_id"] == command["span_id"]
        assert span["attributes"]["gen_ai.provider.name"] == provider
        assert span["attributes"]["gen_ai.request.model"] == model
    for span in (plain, streamed):
        attributes = span["attributes"]
        assert (
            attributes["gen_ai.usage.input_tokens"],
            attributes["gen_ai.usage.output_tokens"],
        ) == usage
        assert span["status"] != "error"
    assert streamed["attributes"]["gen_ai.request.stream"] is True
    assert refused["attributes"]["http.response.status_code"] == 400
    # The provider's message quoted the prompt: only the type and the HTTP status are kept.
    assert refused["status"] == "error"
    assert refused["status_message"] in ("HTTP 400", "")  # an error with no status_code: none
    assert refused["attributes"]["error.type"] == error_type
    sent = json.dumps(spans)
    assert RESPONSE_TEXT not in sent and PROMPT_TEXT not in sent


if __name__ == "__main__":
    main(*sys.argv[1:4])
