"""A local HTTP server on 127.0.0.1 that answers like the OpenAI and Anthropic APIs, for real clients.

Routes: ``POST /v1/chat/completions``, ``/v1/responses``, ``/v1/embeddings`` (OpenAI) and
``/v1/messages`` (Anthropic), and those of tests/fake_sdk_apis.py (Ollama, Mistral, ...), as JSON or, with ``"stream": true``, as server-sent events whose final
chunk carries the token usage. A request header ``x-fake-status: 429`` (or 500, ...) makes the
server answer with that error in the provider's error format (with ``x-fake-echo: 1`` its message
quotes the request's text back, as real APIs do for refused content); ``x-fake-stream-error: 1`` makes an
Anthropic stream fail part-way, with an ``error`` event after ``message_start``. The streams carry
every event the SDKs' stream helpers (``messages.stream``, ``responses.stream``) need to build
their final message. Every text the server sends back
contains RESPONSE_TEXT, and tests send PROMPT_TEXT, so a test can assert that neither reaches a record.

Run alone (``python tests/fake_llm_api.py``) it prints its base URL and serves until interrupted.
"""

from __future__ import annotations

import base64
import json
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROMPT_TEXT = "PROMPT-TEXT-that-must-never-be-recorded"
RESPONSE_TEXT = "RESPONSE-TEXT-that-must-never-be-recorded"

# Token counts the server reports; tests compare recorded usage against these.
OPENAI_USAGE = {
    "prompt_tokens": 11,
    "completion_tokens": 7,
    "cached_tokens": 3,
    "reasoning_tokens": 2,
}
RESPONSES_USAGE = {
    "input_tokens": 17,
    "output_tokens": 9,
    "cached_tokens": 5,
    "reasoning_tokens": 4,
}
EMBEDDING_USAGE = {"prompt_tokens": 4}
ANTHROPIC_USAGE = {
    "input_tokens": 13,
    "output_tokens": 5,
    "cache_read_input_tokens": 2,
    "cache_creation_input_tokens": 6,
}
RESPONSE_MODEL_SUFFIX = "-2025-01-01"


class FakeLLMAPI:
    """The server and what it was asked; use as a context manager or call ``start``/``stop``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, object]] = []
        api = self

        class Handler(_Handler):
            server_api = api

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ollama_host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def google_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def bedrock_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mistral_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mistral"

    def start(self) -> FakeLLMAPI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeLLMAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # A client that closes a stream early hangs up on us; that is what the test wanted.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _prompt_of(body: dict[str, object]) -> str:
    """The text a request sent: every string inside its messages, input or prompt, joined."""
    texts: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for key in ("content", "text", "input", "parts"):
                if key in value:
                    walk(value[key])
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for key in ("messages", "input", "prompt", "contents"):
        walk(body.get(key))
    return " ".join(texts)


class _Handler(BaseHTTPRequestHandler):
    server_api: FakeLLMAPI
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, a kept-alive connection waits ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server_api.requests.append({"path": self.path, "body": body})
        status = int(self.headers.get("x-fake-status") or 200)
        anthropic = self.path.startswith("/v1/messages")
        if status != 200:
            echoed = _prompt_of(body) if self.headers.get("x-fake-echo") else None
            if self.path.startswith("/model/"):
                return self._bedrock_error(status, echoed)
            return self._error(status, anthropic, echoed)
        path = self.path.split("?")[0]
        import fake_sdk_apis  # here: it imports this module's texts

        other = fake_sdk_apis.answer(path, body)
        if other is not None:
            return self._send(200, *other)
        mistral = path.startswith(fake_sdk_apis.MISTRAL_PREFIX)
        path = path.removeprefix(fake_sdk_apis.MISTRAL_PREFIX)
        deployment = None
        if "/deployments/" in path:
            # Azure OpenAI: /openai/deployments/<deployment>/chat/completions, the model in the path.
            rest = path.partition("/deployments/")[2]
            deployment, _, tail = rest.partition("/")
            path = f"/v1/{tail}"
        route = {
            "/v1/chat/completions": _chat,
            "/v1/responses": _responses,
            "/v1/embeddings": _embeddings,
            "/v1/messages": _messages,
        }.get(path)
        if route is None:
            return self._json(404, {"error": {"message": "no such route", "type": "not_found"}})
        model = deployment or str(body.get("model", "unknown"))
        if body.get("stream"):
            include_usage = mistral or bool((body.get("stream_options") or {}).get("include_usage"))
            events = route(body, model, True, include_usage)
            if anthropic and self.headers.get("x-fake-stream-error"):
                # The API reports an error found mid-stream as an SSE event, after a 200.
                failure = {
                    "type": "error",
                    "error": {"type": "overloaded_error", "message": "fake"},
                }
                events = [*events[:1], ("error", failure)]  # type: ignore[index]
            return self._sse(events)
        return self._json(200, route(body, model, False, False))

    def _error(self, status: int, anthropic: bool, echoed: str | None = None) -> None:
        kind = {429: "rate_limit_error", 500: "api_error", 401: "authentication_error"}.get(
            status, "invalid_request_error"
        )
        # As real APIs do, a request refused for its content quotes that content back.
        message = (
            f"fake {status}" if echoed is None else f"Invalid content: '{echoed}' violates policy"
        )
        if anthropic:
            payload: dict[str, object] = {
                "type": "error",
                "error": {"type": kind, "message": message},
            }
        else:
            payload = {"error": {"message": message, "type": kind, "code": None}}
        extra = {"retry-after": "0"} if status == 429 else {}
        self._json(status, payload, extra)

    def _bedrock_error(self, status: int, echoed: str | None) -> None:
        """AWS's JSON protocol: the error code in a header, the message in the body."""
        kind = {429: "ThrottlingException", 500: "InternalServerException"}.get(
            status, "ValidationException"
        )
        message = (
            f"fake {status}" if echoed is None else f"Invalid content: '{echoed}' violates policy"
        )
        self._json(
            status,
            {"message": message},
            {"x-amzn-errortype": f"{kind}:http://internal.amazon.com/"},
        )

    def _json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        self._send(status, "application/json", json.dumps(payload).encode(), headers)

    def _send(
        self, status: int, content_type: str, data: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: object) -> None:
        chunks = []
        for event in events:  # type: ignore[attr-defined]
            name, data = event
            prefix = f"event: {name}\n" if name else ""
            payload = data if isinstance(data, str) else json.dumps(data)
            chunks.append(f"{prefix}data: {payload}\n\n".encode())
        data = b"".join(chunks)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _chat(body: dict[str, object], model: str, stream: bool, include_usage: bool) -> object:
    response_model = model + RESPONSE_MODEL_SUFFIX
    usage = {
        "prompt_tokens": OPENAI_USAGE["prompt_tokens"],
        "completion_tokens": OPENAI_USAGE["completion_tokens"],
        "total_tokens": OPENAI_USAGE["prompt_tokens"] + OPENAI_USAGE["completion_tokens"],
        "prompt_tokens_details": {"cached_tokens": OPENAI_USAGE["cached_tokens"]},
        "completion_tokens_details": {"reasoning_tokens": OPENAI_USAGE["reasoning_tokens"]},
    }
    base = {"id": "chatcmpl-1", "created": 1700000000, "model": response_model}
    if not stream:
        return {
            **base,
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": RESPONSE_TEXT},
                }
            ],
            "usage": usage,
        }
    chunk = {**base, "object": "chat.completion.chunk"}
    events: list[tuple[str, object]] = []
    for i, piece in enumerate((RESPONSE_TEXT[:10], RESPONSE_TEXT[10:])):
        delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
        events.append(
            ("", {**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        )
    events.append(("", {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    if include_usage:
        events.append(("", {**chunk, "choices": [], "usage": usage}))
    events.append(("", "[DONE]"))
    return events


def _response_output(body: dict[str, object]) -> list[dict[str, object]]:
    """A message; a function call too when the request offered tools."""
    message: dict[str, object] = {
        "type": "message",
        "id": "msg_1",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": RESPONSE_TEXT, "annotations": []}],
    }
    if not body.get("tools"):
        return [message]
    call = {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_1",
        "name": "lookup",
        "arguments": "{}",
        "status": "completed",
    }
    return [message, call]


def _response_object(
    model: str, status: str, body: dict[str, object] | None = None
) -> dict[str, object]:
    body = body or {}
    # A request allowing a single output token is cut short, as the API does.
    cut = body.get("max_output_tokens") == 1
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1700000000,
        "model": model + RESPONSE_MODEL_SUFFIX,
        "status": "incomplete" if cut else status,
        "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
        "output": _response_output(body),
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": RESPONSES_USAGE["input_tokens"],
            "input_tokens_details": {
                "cached_tokens": RESPONSES_USAGE["cached_tokens"],
                "cache_write_tokens": 0,
            },
            "output_tokens": RESPONSES_USAGE["output_tokens"],
            "output_tokens_details": {"reasoning_tokens": RESPONSES_USAGE["reasoning_tokens"]},
            "total_tokens": RESPONSES_USAGE["input_tokens"] + RESPONSES_USAGE["output_tokens"],
        },
    }


def _responses(body: dict[str, object], model: str, stream: bool, include_usage: bool) -> object:
    done = _response_object(model, "completed", body)
    if not stream:
        return done
    started = {**done, "status": "in_progress", "output": [], "usage": None}
    (item,) = done["output"]  # type: ignore[misc]
    part = item["content"][0]
    where = {"item_id": item["id"], "output_index": 0}
    in_text = {**where, "content_index": 0}
    # The order the API sends them in; responses.stream() rejects a delta before its item and part.
    events: list[tuple[str, dict[str, object]]] = [
        ("response.created", {"response": started}),
        ("response.in_progress", {"response": started}),
        (
            "response.output_item.added",
            {"output_index": 0, "item": {**item, "status": "in_progress", "content": []}},
        ),
        ("response.content_part.added", {**in_text, "part": {**part, "text": ""}}),
        ("response.output_text.delta", {**in_text, "delta": RESPONSE_TEXT, "logprobs": []}),
        ("response.output_text.done", {**in_text, "text": RESPONSE_TEXT, "logprobs": []}),
        ("response.content_part.done", {**in_text, "part": part}),
        ("response.output_item.done", {"output_index": 0, "item": item}),
        ("response.completed", {"response": done}),
    ]
    return [
        (name, {"type": name, "sequence_number": i, **data})
        for i, (name, data) in enumerate(events)
    ]


def _embeddings(body: dict[str, object], model: str, stream: bool, include_usage: bool) -> object:
    vector = [0.25, -0.5, 1.0]
    if body.get("encoding_format") == "base64":
        encoded: object = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    else:
        encoded = vector
    inputs = body.get("input")
    count = len(inputs) if isinstance(inputs, list) and inputs and isinstance(inputs[0], str) else 1
    return {
        "id": "embd-1",  # Mistral's SDK requires it; OpenAI's ignores it
        "object": "list",
        "model": model + RESPONSE_MODEL_SUFFIX,
        "data": [{"object": "embedding", "index": i, "embedding": encoded} for i in range(count)],
        "usage": {
            "prompt_tokens": EMBEDDING_USAGE["prompt_tokens"],
            "total_tokens": EMBEDDING_USAGE["prompt_tokens"],
        },
    }


def _messages(body: dict[str, object], model: str, stream: bool, include_usage: bool) -> object:
    response_model = model + RESPONSE_MODEL_SUFFIX
    usage = dict(ANTHROPIC_USAGE)
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": response_model,
        "content": [{"type": "text", "text": RESPONSE_TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }
    if not stream:
        return message
    start_usage = {**usage, "output_tokens": 1}
    return [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {**message, "content": [], "stop_reason": None, "usage": start_usage},
            },
        ),
        ("ping", {"type": "ping"}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": RESPONSE_TEXT},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


if __name__ == "__main__":
    with FakeLLMAPI() as api:
        print(api.openai_base_url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
