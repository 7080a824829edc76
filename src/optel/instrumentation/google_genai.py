"""GenAI spans and metrics for the ``google-genai`` SDK (>= 1.0): ``client.models`` and ``client.aio.models``.

``generate_content``, ``generate_content_stream`` and ``embed_content``, sync and async. A call
with automatic function calling is one span (the SDK's requests inside it are not recorded
apart), with the usage of its last response. Gemini reports ``prompt_token_count`` (cached
tokens included), ``candidates_token_count`` and, beside it, ``thoughts_token_count``: the
conventions' output count includes the thinking tokens, so the one usage reader adds them. A
client made with ``vertexai=True`` is recorded as ``gcp.vertex_ai``, any other as
``gcp.gemini``. Errors are ``google.genai.errors`` classes with their HTTP status.
"""

from __future__ import annotations

from optel.instrumentation._sdk import Sdk, Site

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from optel.instrumentation._llm import Usage

TARGET = "google.genai"
# (distribution, first release patched, first release not): checked by optel status.
SUPPORTED = ("google-genai", "1.0", "4")
PROVIDER = "gcp.gemini"
_METHODS = (
    ("generate_content", "generate_content", False),
    ("generate_content_stream", "generate_content", True),
    ("embed_content", "embeddings", False),
)


def _stream_types() -> tuple[type, ...]:
    import types

    # generate_content_stream is a generator function; the async one returns an async generator.
    return (types.GeneratorType, types.AsyncGeneratorType)


def _arguments(
    site: Site, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Mapping[str, Any]:
    """``model=``, ``config.max_output_tokens`` (a dict or the SDK's config), and the client's kind."""
    config = kwargs.get("config")
    if isinstance(config, dict):
        limit = config.get("max_output_tokens")
    else:
        limit = getattr(config, "max_output_tokens", None)
    api_client = getattr(instance, "_api_client", None)
    vertex = getattr(api_client, "vertexai", False) is True
    return {
        "model": kwargs.get("model"),
        "max_tokens": limit,
        "provider": "gcp.vertex_ai" if vertex else PROVIDER,
    }


def _read(response: Any, usage: Usage) -> None:
    """A GenerateContentResponse (whole, or a streamed chunk: its usage is the total so far), or
    an EmbedContentResponse (which reports no tokens on the Gemini API)."""
    usage.read(response)


_SITES = tuple(
    Site("google.genai.models", owner, method, operation, is_async, stream)
    for method, operation, stream in _METHODS
    for owner, is_async in (("Models", False), ("AsyncModels", True))
)
_READERS = {op: (_read, _read) for op in ("generate_content", "embeddings")}
_SDK = Sdk("google.genai.errors", PROVIDER, _SITES, _READERS, _stream_types, _arguments)
instrument = _SDK.instrument
uninstrument = _SDK.uninstrument
