"""GenAI spans and metrics for the ``ollama`` SDK (>= 0.4): ``chat``, ``generate`` and ``embed``.

``Client`` and ``AsyncClient``, and the module's own ``ollama.chat``/``generate``/``embed`` (bound
to a default client when ``ollama`` is imported, so patched beside the class). With
``stream=True`` the SDK hands back a generator that sends the request when first read: the span
ends when it is exhausted, fails or is closed, with the counts of its last chunk (``done``).
Ollama reports ``prompt_eval_count`` and ``eval_count`` and a ``done_reason``; only those, the
model name and the token limit (``options={"num_predict": N}``) are read, never the text.
"""

from __future__ import annotations

from optel.instrumentation._sdk import Sdk, Site

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from optel.instrumentation._llm import Usage

TARGET = "ollama"
# (distribution, first release patched, first release not): checked by optel status.
SUPPORTED = ("ollama", "0.4", "1")
PROVIDER = "ollama"
_CALLS = (("chat", "chat"), ("generate", "text_completion"), ("embed", "embeddings"))


def _stream_types() -> tuple[type, ...]:
    import types

    # What Client._request(stream=True) returns: a generator, or an async one.
    return (types.GeneratorType, types.AsyncGeneratorType)


def _arguments(
    site: Site, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Mapping[str, Any]:
    """``chat("llama3", messages)``: the model is the first positional argument."""
    model = args[0] if args else kwargs.get("model")
    options = kwargs.get("options")
    # A dict, or ollama's Options model.
    if isinstance(options, dict):
        limit = options.get("num_predict")
    else:
        limit = getattr(options, "num_predict", None)
    return {"model": model, "max_tokens": limit, "stream": kwargs.get("stream") is True}


def _read(result: Any, usage: Usage) -> None:
    """A ChatResponse, GenerateResponse or EmbedResponse, whole or one streamed chunk: the
    counts and ``done_reason`` ride on the response itself (on a stream's last chunk)."""
    usage.read(result)
    usage.add_usage(result)


_SITES = tuple(
    Site(module, owner, method, operation, is_async)
    for method, operation in _CALLS
    for module, owner, is_async in (
        ("ollama._client", "Client", False),
        ("ollama._client", "AsyncClient", True),
        ("ollama", "", False),
    )
)
_READERS = {op: (_read, _read) for op in ("chat", "text_completion", "embeddings")}
_SDK = Sdk("ollama", PROVIDER, _SITES, _READERS, _stream_types, _arguments)
instrument = _SDK.instrument
uninstrument = _SDK.uninstrument
