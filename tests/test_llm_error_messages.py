"""An LLM call's error keeps its type and HTTP status, never the provider's message (it quotes the prompt)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest

import optel
import optel.testing
from llm_recording import forget_provider_errors
from optel.record import provider_errors, spans

PROMPT = "Project Falcon quarterly plans for the board"


class _Echoing(BaseHTTPRequestHandler):
    """Answers every request with a 400 whose message quotes the request's content, as APIs do."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        content = body.get("messages", [{}])[0].get("content", "")
        payload = json.dumps(
            {
                "error": {
                    "message": f"Invalid content: '{content}' violates policy",
                    "type": "invalid_request_error",
                }
            }
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


def test_an_instrumented_openai_error_records_its_type_and_status_but_not_the_quoted_prompt(
    echoing_api,
):
    optel.instrument("openai")
    try:
        client = openai.OpenAI(base_url=echoing_api, api_key="test", max_retries=0)
        with (
            optel.testing.capture() as records,
            client,
            pytest.raises(openai.BadRequestError) as raised,
        ):
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": PROMPT}]
            )
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


# --- the failed call's message, passed on by the host (issue 11.1) -----------------------------


@pytest.fixture(autouse=True)
def _forgotten():
    forget_provider_errors()
    yield
    forget_provider_errors()


def _messages(records):
    """Every status and exception message, and every event attribute, of the captured spans."""
    out = []
    for span in _spans(records):
        out.append(span["status_message"] or "")
        for event in span["events"]:
            out.extend(str(v) for v in event["attributes"].values())
    return out


@optel.llm_call(provider="openai", model="gpt-4o")
def _ask(prompt: str) -> None:
    raise _ProviderError(f"Invalid content: '{prompt}' violates policy")


def test_an_exception_raised_while_handling_a_failed_llm_call_keeps_no_message():
    @optel.step()
    def summarise() -> None:
        try:
            _ask(PROMPT)
        except _ProviderError as ex:
            raise RuntimeError(f"LLM failed: {ex}") from None

    @optel.command()
    def main() -> None:
        try:
            summarise()
        except RuntimeError as ex:
            raise SystemExit(f"error: {ex}") from ex

    with optel.testing.capture() as records, pytest.raises(SystemExit):
        main()
    _llm, step, command = _spans(records)
    assert (step["status"], step["status_message"]) == ("error", None)
    assert step["events"][0]["attributes"] == {
        "exception.type": "RuntimeError",
        "exception.message": "",
    }
    assert (command["status"], command["status_message"]) == ("error", None)
    assert "Falcon" not in json.dumps(records)


def test_a_provider_message_passed_on_without_a_chain_is_cut_from_every_later_record():
    saved = ""
    try:
        with optel.testing.capture():
            _ask(PROMPT)
    except _ProviderError as ex:
        saved = str(ex)

    @optel.step("report")
    def report() -> None:
        optel.event("llm.failed", detail=saved)
        raise ValueError(f"could not summarise ({saved[10:40]}); the index is stale")

    with optel.testing.capture(attributes=["detail"]) as records, pytest.raises(ValueError):
        report()
    (step,) = _spans(records)
    assert step["status_message"] == "could not summarise (<redacted>); the index is stale"
    assert step["events"][0]["attributes"]["detail"] == "<redacted>"
    assert not any("Falcon" in m or "quarterly" in m for m in _messages(records))


def test_an_unrelated_exception_that_reuses_a_freed_errors_address_keeps_its_message():
    with optel.testing.capture() as records:
        for _ in range(50):
            with pytest.raises(_ProviderError):
                _ask(PROMPT)

        @optel.step("prepare")
        def prepare() -> None:
            raise ValueError("the index is stale")

        for _ in range(50):
            with pytest.raises(ValueError):
                prepare()
    steps = [s for s in _spans(records) if s["name"] == "prepare"]
    assert {s["status_message"] for s in steps} == {"the index is stale"}


def test_past_its_memory_bound_no_exception_message_is_kept(monkeypatch):
    monkeypatch.setattr(provider_errors, "MAX_CHARS", 200)

    @optel.step()
    def prepare() -> None:
        raise ValueError("the index is stale")

    with optel.testing.capture() as records:
        for n in range(5):
            with pytest.raises(_ProviderError):
                _ask(f"{PROMPT} number {n}")
        with pytest.raises(ValueError):
            prepare()
    assert provider_errors.strict
    assert _spans(records)[-1]["status_message"] is None


def test_llm_calls_that_succeed_load_no_forgetting():
    @optel.llm_call(provider="openai", model="gpt-4o")
    def ask(prompt: str) -> dict:
        return {"model": "gpt-4o", "usage": {"prompt_tokens": 3, "completion_tokens": 1}}

    with optel.testing.capture() as records:
        ask(PROMPT)
    assert not provider_errors.active and provider_errors.forgetter() is None
    assert _spans(records)[0]["status"] == "unset"


def test_a_piece_shorter_than_the_minimum_is_left_alone_and_a_long_one_is_cut():
    provider_errors.remember(
        RuntimeError("Invalid content: 'Project Falcon quarterly plans' violates policy")
    )
    forget = provider_errors.forgetter()
    assert forget is not None
    assert forget.text("Project Falcon quarterly plans failed") == "<redacted> failed"
    assert forget.text("Invalid input") == "Invalid input"
    assert forget.text(["a", "see: Falcon quarterly"]) == ["a", "see:<redacted>"]
    # A giant value is looked at as far as the flush keeps any of it.
    assert forget.text("Project Falcon quarterly " + "x" * 10**6) == "<redacted>" + "x" * 4071


def test_a_model_name_quoted_in_an_error_stays_on_later_calls():
    @optel.llm_call(provider="openai")
    def ask(prompt: str, model: str = "gpt-4o-2024-08-06") -> dict:
        if prompt == "first":
            raise _ProviderError(
                f"Rate limit reached for {model} in organization org-abc on tokens"
            )
        return {"model": model, "usage": {"prompt_tokens": 3, "completion_tokens": 1}}

    with optel.testing.capture() as records:
        with pytest.raises(_ProviderError):
            ask("first")
        ask("second")
    later = _spans(records)[-1]
    assert later["attributes"]["gen_ai.request.model"] == "gpt-4o-2024-08-06"
    assert later["attributes"]["gen_ai.response.model"] == "gpt-4o-2024-08-06"


def test_a_span_without_events_loses_the_pieces_from_its_name_and_status_message():
    with optel.testing.capture(), pytest.raises(_ProviderError):
        _ask(PROMPT)
    with optel.testing.capture() as records:
        optel.event(f"asked {PROMPT}")  # outside a span: a span of its own, without events
        handle = spans.start("summary", attributes={"step.name": "summary"})
        handle.fail("ValueError", f"gave up on {PROMPT}")
        handle.end()
    named, failed = _spans(records)
    assert named["name"] == "asked <redacted>" and named["events"] == []
    assert failed["status_message"] == "gave up on <redacted>"
