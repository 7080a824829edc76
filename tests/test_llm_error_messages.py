"""An LLM call's error keeps its type and HTTP status, never the provider's message (it quotes the prompt)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest

import optel
import optel.testing

PROMPT = "Project Falcon quarterly plans for the board"


class _Echoing(BaseHTTPRequestHandler):
    """Answers every request with a 400 whose message quotes the request's content, as APIs do."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        content = body.get("messages", [{}])[0].get("content", "")
        payload = json.dumps(
            {"error": {"message": f"Invalid content: '{content}' violates policy", "type": "invalid_request_error"}}
        ).encode()
        self.send_response(400)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echoing_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echoing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _spans(records):
    return [r for r in records if r["t"] == "span"]


def test_an_instrumented_openai_error_records_its_type_and_status_but_not_the_quoted_prompt(echoing_api):
    optel.instrument("openai")
    try:
        client = openai.OpenAI(base_url=echoing_api, api_key="test", max_retries=0)
        with optel.testing.capture() as records, client, pytest.raises(openai.BadRequestError) as raised:
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": PROMPT}])
    finally:
        optel.uninstrument("openai")
    assert PROMPT in str(raised.value)  # the host still gets the SDK's whole message
    (span,) = _spans(records)
    assert span["attributes"]["error.type"] == "openai.BadRequestError"
    assert span["attributes"]["http.response.status_code"] == 400
    assert span["status"] == "error"
    assert span["status_message"] == "HTTP 400"
    assert PROMPT not in json.dumps(records)
    (event,) = span["events"]
    assert event["attributes"]["exception.type"] == "openai.BadRequestError"
    assert event["attributes"]["exception.message"] == "HTTP 400"


class _ProviderError(Exception):
    status_code = 422


def test_a_decorated_llm_call_that_raises_keeps_no_message_and_other_spans_keep_theirs():
    @optel.llm_call(provider="openai", model="gpt-4o")
    def ask(prompt: str) -> None:
        raise _ProviderError(f"could not process {prompt!r}")

    @optel.step()
    def prepare() -> None:
        raise ValueError("the index is stale")

    with optel.testing.capture() as records:
        with pytest.raises(_ProviderError):
            ask(PROMPT)
        with pytest.raises(ValueError):
            prepare()
    llm, step = _spans(records)
    assert llm["status_message"] == "HTTP 422"
    assert PROMPT not in json.dumps(records)
    assert step["status_message"] == "the index is stale"


def test_an_llm_error_without_a_status_has_no_message_at_all():
    @optel.llm_call(provider="anthropic", model="claude-3-5-sonnet-20241022")
    def ask(prompt: str) -> None:
        raise RuntimeError(prompt)

    with optel.testing.capture() as records, pytest.raises(RuntimeError):
        ask(PROMPT)
    (span,) = _spans(records)
    assert span["status"] == "error"
    assert span["status_message"] is None
    assert span["attributes"]["error.type"] == "RuntimeError"
    assert PROMPT not in json.dumps(records)
