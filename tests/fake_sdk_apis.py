"""The other providers' APIs that tests/fake_llm_api.py answers as, for the real SDKs.

- Ollama: ``POST /api/chat``, ``/api/generate``, ``/api/embed``; JSON, or with ``"stream": true``
  (Ollama's default) newline-delimited JSON whose last line (``"done": true``) carries the counts.
- Google's Gemini API (``genai.Client(http_options={"base_url": api.google_base_url})``):
  ``/v1beta/models/MODEL:generateContent`` (or ``/v1/...``, as google-genai 3 asks), ``:streamGenerateContent`` (server-sent events, each
  chunk with the usage so far) and ``:batchEmbedContents``.
- Mistral, under ``/mistral`` (``Mistral(server_url=api.mistral_base_url)``): ``/v1/chat/completions``
  and ``/v1/embeddings`` as OpenAI's, except that a stream always ends with its usage, as
  Mistral's do.

- Amazon Bedrock runtime (boto3 with ``endpoint_url=api.bedrock_endpoint``):
  ``/model/ID/converse``, ``/converse-stream`` (AWS event-stream framing, CRCs included),
  ``/invoke`` (the counts in the ``x-amzn-bedrock-*-token-count`` headers) and
  ``/invoke-with-response-stream`` (the counts in the last chunk's invocation metrics).

``answer(path, body)`` returns ``(content type, payload[, headers])`` or None for a path that is not theirs;
a request header ``x-fake-status`` fails them as it does OpenAI's routes.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct

from fake_llm_api import RESPONSE_TEXT

BEDROCK_USAGE = {
    "inputTokens": 15,
    "outputTokens": 5,
    "cacheReadInputTokens": 2,
    "cacheWriteInputTokens": 1,
}
OLLAMA_USAGE = {"prompt_eval_count": 21, "eval_count": 8}
GEMINI_USAGE = {
    "promptTokenCount": 19,
    "candidatesTokenCount": 6,
    "cachedContentTokenCount": 4,
    "thoughtsTokenCount": 3,
}
OLLAMA_EMBED_USAGE = {"prompt_eval_count": 6}
MISTRAL_PREFIX = "/mistral"


def answer(
    path: str, body: dict[str, object]
) -> tuple[str, bytes] | tuple[str, bytes, dict[str, str]] | None:
    if path.startswith("/model/"):
        return _bedrock(path, body)
    if path.startswith(("/v1beta/models/", "/v1/models/")) and ":" in path:
        return _gemini(path.rpartition("/")[2], body)
    route = {
        "/api/chat": _ollama_chat,
        "/api/generate": _ollama_generate,
        "/api/embed": _ollama_embed,
    }
    handler = route.get(path)
    if handler is None:
        return None
    lines = handler(body)
    if body.get("stream", True) is False or handler is _ollama_embed:
        return "application/json", json.dumps(lines[-1]).encode()
    return "application/x-ndjson", b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def _ollama_lines(body: dict[str, object], key: str, text: object) -> list[dict[str, object]]:
    base = {"model": body.get("model"), "created_at": "2026-01-01T00:00:00Z"}
    pieces = (RESPONSE_TEXT[:10], RESPONSE_TEXT[10:])
    lines: list[dict[str, object]] = [{**base, key: text(piece), "done": False} for piece in pieces]
    last = {
        **base,
        key: text(""),
        "done": True,
        "done_reason": "stop",
        "total_duration": 1000,
        "load_duration": 10,
        "prompt_eval_duration": 100,
        "eval_duration": 500,
        **OLLAMA_USAGE,
    }
    return [*lines, last] if body.get("stream", True) else [{**last, key: text(RESPONSE_TEXT)}]


def _ollama_chat(body: dict[str, object]) -> list[dict[str, object]]:
    return _ollama_lines(body, "message", lambda t: {"role": "assistant", "content": t})


def _ollama_generate(body: dict[str, object]) -> list[dict[str, object]]:
    return _ollama_lines(body, "response", lambda t: t)


def _ollama_embed(body: dict[str, object]) -> list[dict[str, object]]:
    return [{"model": body.get("model"), "embeddings": [[0.25, -0.5, 1.0]], **OLLAMA_EMBED_USAGE}]


def _gemini(target: str, body: dict[str, object]) -> tuple[str, bytes]:
    model, _, method = target.partition(":")
    if method == "batchEmbedContents":
        requests = body.get("requests") or [None]
        vectors = [{"values": [0.25, -0.5, 1.0]} for _ in requests]  # type: ignore[union-attr]
        return "application/json", json.dumps({"embeddings": vectors}).encode()
    base = {"modelVersion": model + "-001", "responseId": "gemini-1"}
    usage = {**GEMINI_USAGE, "totalTokenCount": sum(GEMINI_USAGE.values())}

    def candidate(text: str, done: bool) -> dict[str, object]:
        found: dict[str, object] = {
            "content": {"role": "model", "parts": [{"text": text}]},
            "index": 0,
        }
        if done:
            found["finishReason"] = "STOP"
        return found

    if method == "generateContent":
        whole = {**base, "candidates": [candidate(RESPONSE_TEXT, True)], "usageMetadata": usage}
        return "application/json", json.dumps(whole).encode()
    first = {
        **base,
        "candidates": [candidate(RESPONSE_TEXT[:10], False)],
        "usageMetadata": {"promptTokenCount": GEMINI_USAGE["promptTokenCount"]},
    }
    last = {**base, "candidates": [candidate(RESPONSE_TEXT[10:], True)], "usageMetadata": usage}
    events = b"".join(b"data: " + json.dumps(e).encode() + b"\r\n\r\n" for e in (first, last))
    return "text/event-stream", events


def _bedrock(
    path: str, body: dict[str, object]
) -> tuple[str, bytes] | tuple[str, bytes, dict[str, str]]:
    operation = path.rpartition("/")[2]
    usage = {**BEDROCK_USAGE, "totalTokens": sum(BEDROCK_USAGE.values())}
    message = {"role": "assistant", "content": [{"text": RESPONSE_TEXT}]}
    if operation == "converse":
        whole = {
            "output": {"message": message},
            "stopReason": "end_turn",
            "usage": usage,
            "metrics": {"latencyMs": 12},
        }
        return "application/json", json.dumps(whole).encode()
    if operation == "converse-stream":
        events = [
            ("messageStart", {"role": "assistant"}),
            ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": RESPONSE_TEXT[:10]}}),
            ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": RESPONSE_TEXT[10:]}}),
            ("contentBlockStop", {"contentBlockIndex": 0}),
            ("messageStop", {"stopReason": "end_turn"}),
            ("metadata", {"usage": usage, "metrics": {"latencyMs": 12}}),
        ]
        return "application/vnd.amazon.eventstream", b"".join(_event(n, p) for n, p in events)
    # invoke_model: the model's own format (here Anthropic's); Bedrock's counts in headers.
    reply = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": RESPONSE_TEXT}],
    }
    counts = {
        "x-amzn-bedrock-input-token-count": str(BEDROCK_USAGE["inputTokens"]),
        "x-amzn-bedrock-output-token-count": str(BEDROCK_USAGE["outputTokens"]),
    }
    if operation == "invoke":
        return "application/json", json.dumps(reply).encode(), counts
    metrics = {
        "inputTokenCount": BEDROCK_USAGE["inputTokens"],
        "outputTokenCount": BEDROCK_USAGE["outputTokens"],
    }
    chunks = [reply, {"type": "message_stop", "amazon-bedrock-invocationMetrics": metrics}]
    encoded = [{"bytes": base64.b64encode(json.dumps(c).encode()).decode()} for c in chunks]
    return "application/vnd.amazon.eventstream", b"".join(_event("chunk", c) for c in encoded)


def _event(event_type: str, payload: dict[str, object]) -> bytes:
    """One message of AWS's event-stream framing: prelude, its CRC, headers, payload, CRC."""
    headers = b""
    for name, value in (
        (":event-type", event_type),
        (":content-type", "application/json"),
        (":message-type", "event"),
    ):
        raw = value.encode()
        headers += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(raw)) + raw
    data = json.dumps(payload).encode()
    prelude = struct.pack(">II", 12 + len(headers) + len(data) + 4, len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message = prelude + headers + data
    return message + struct.pack(">I", binascii.crc32(message))
