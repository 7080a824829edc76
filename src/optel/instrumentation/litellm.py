"""GenAI spans and metrics for ``litellm`` (>= 1.40): ``completion``, ``acompletion``, ``embedding``.

The module functions (``litellm.completion`` and the ``litellm.main`` ones that ``acompletion``
and the router call), sync and async, streamed or not. Each call's span names the provider and
model litellm resolves from its arguments (``ollama/llama3`` is provider ``ollama``, model
``llama3``; ``gpt-4o`` is ``openai``), by litellm's own ``get_llm_provider``. litellm calls other
SDKs (openai's for OpenAI-compatible APIs) and its own ``completion`` from ``acompletion``: those
calls are inside this one and are not recorded again. A stream (litellm's
``CustomStreamWrapper``) ends its span when exhausted or closed, with the usage of its last
chunk. Errors are litellm's exception classes (``litellm.RateLimitError``) with their HTTP status.
"""

from __future__ import annotations

import sys

from optel.instrumentation._sdk import Sdk, Site

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from optel.instrumentation._llm import Usage

TARGET = "litellm"
# (distribution, first release patched, first release not): checked by optel status.
SUPPORTED = ("litellm", "1.40", "2")
PROVIDER = "litellm"  # only when litellm cannot resolve the provider
_FUNCTIONS = (
    ("completion", "chat", False),
    ("acompletion", "chat", True),
    ("embedding", "embeddings", False),
    ("aembedding", "embeddings", True),
)


def _stream_types() -> tuple[type, ...]:
    from optel.instrumentation._sdk import loaded_types

    return loaded_types(("litellm.litellm_core_utils.streaming_handler", "CustomStreamWrapper"))


def _arguments(
    site: Site, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Mapping[str, Any]:
    """The model and provider litellm resolves (``completion("ollama/llama3", messages)``)."""
    model = args[0] if args else kwargs.get("model")
    request = dict(kwargs)
    request["model"] = model
    if not isinstance(model, str):
        return request
    try:
        resolve = sys.modules["litellm"].get_llm_provider
        resolved, provider, _, _ = resolve(
            model=model,
            custom_llm_provider=kwargs.get("custom_llm_provider"),
            api_base=kwargs.get("api_base") or kwargs.get("base_url"),
        )
    except Exception:
        # litellm will raise for this model itself; the span keeps the name as given.
        return request
    if isinstance(resolved, str) and resolved:
        request["model"] = resolved
    request["provider"] = provider
    return request


def _read(result: Any, usage: Usage) -> None:
    """A ModelResponse or EmbeddingResponse (OpenAI's shape, whatever the provider)."""
    usage.read(result)


def _observe(chunk: Any, usage: Usage) -> None:
    """A ModelResponseStream chunk."""
    usage.set_response(getattr(chunk, "model", None), getattr(chunk, "id", None))
    for choice in getattr(chunk, "choices", None) or ():
        usage.add_finish_reason(getattr(choice, "finish_reason", None))
    usage.add_usage(getattr(chunk, "usage", None))


_SITES = tuple(
    Site(module, "", name, operation, is_async)
    for module in ("litellm.main", "litellm")
    for name, operation, is_async in _FUNCTIONS
)
_READERS = {"chat": (_read, _observe), "embeddings": (_read, _observe)}
_SDK = Sdk("litellm", PROVIDER, _SITES, _READERS, _stream_types, _arguments)
instrument = _SDK.instrument
uninstrument = _SDK.uninstrument
