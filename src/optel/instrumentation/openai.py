"""GenAI spans and metrics for the ``openai`` SDK (>= 1.0): chat completions, responses, embeddings.

Sync and async ``create`` methods are wrapped, streams included: a streamed call's span ends when
its stream is exhausted or closed, with the usage of the final chunk (chat completions send it
when ``stream_options={"include_usage": True}``). The SDK loads its resource modules lazily, so
each one is patched when the host first touches it. Only counts, model names and finish reasons
are read; prompt and response text never are.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

    from optel.instrumentation._llm import SdkPatches, Usage

TARGET = "openai"
PROVIDER = "openai"

# module -> (class name, operation, is async): the SDK's resources, each its own lazy import.
_SITES = {
    "openai.resources.chat.completions": (
        ("Completions", "chat", False),
        ("AsyncCompletions", "chat", True),
    ),
    "openai.resources.responses": (
        ("Responses", "chat", False),
        ("AsyncResponses", "chat", True),
    ),
    "openai.resources.embeddings": (
        ("Embeddings", "embeddings", False),
        ("AsyncEmbeddings", "embeddings", True),
    ),
}

def instrument(module: ModuleType) -> None:
    """Wrap the SDK's ``create`` methods now, or as soon as their resource modules load."""
    _sdk().instrument()


def uninstrument(module: ModuleType) -> None:
    """Put the SDK's original methods back."""
    _sdk().uninstrument()


_patches: SdkPatches | None = None


def _sdk() -> SdkPatches:
    global _patches
    if _patches is None:
        from optel.instrumentation._llm import SdkPatches

        _patches = SdkPatches(PROVIDER, _SITES, _READERS, "openai._streaming")
    return _patches


def _read_chat(result: Any, usage: Usage) -> None:
    """A ChatCompletion (chat) or a Response (responses API)."""
    model = getattr(result, "model", None)
    if isinstance(model, str):
        usage.response_model = model
    for choice in getattr(result, "choices", None) or ():
        usage.add_finish_reason(getattr(choice, "finish_reason", None))
    status = getattr(result, "status", None)
    if getattr(result, "object", None) == "response":
        usage.add_finish_reason(status)
    _read_usage(getattr(result, "usage", None), usage)


def _read_usage(reported: Any, usage: Usage) -> None:
    from optel.instrumentation._llm import tokens

    if reported is None:
        return
    # Chat completions and embeddings say prompt/completion, the responses API input/output.
    usage.input_tokens = tokens(getattr(reported, "prompt_tokens", None))
    if usage.input_tokens is None:
        usage.input_tokens = tokens(getattr(reported, "input_tokens", None))
    usage.output_tokens = tokens(getattr(reported, "completion_tokens", None))
    if usage.output_tokens is None:
        usage.output_tokens = tokens(getattr(reported, "output_tokens", None))
    details = getattr(reported, "prompt_tokens_details", None) or getattr(
        reported, "input_tokens_details", None
    )
    if details is not None:
        usage.cache_read_tokens = tokens(getattr(details, "cached_tokens", None))


def _observe_chat(item: Any, usage: Usage) -> None:
    """A ChatCompletionChunk, or an event of a streamed Response."""
    event_type = getattr(item, "type", None)
    if isinstance(event_type, str):
        # The responses API streams events; the finished response rides on the last one.
        if event_type in ("response.completed", "response.incomplete", "response.failed"):
            _read_chat(getattr(item, "response", None), usage)
        return
    model = getattr(item, "model", None)
    if isinstance(model, str) and usage.response_model is None:
        usage.response_model = model
    for choice in getattr(item, "choices", None) or ():
        usage.add_finish_reason(getattr(choice, "finish_reason", None))
    if getattr(item, "usage", None) is not None:
        _read_usage(item.usage, usage)


def _read_embeddings(result: Any, usage: Usage) -> None:
    model = getattr(result, "model", None)
    if isinstance(model, str):
        usage.response_model = model
    _read_usage(getattr(result, "usage", None), usage)


def _observe_nothing(item: Any, usage: Usage) -> None:
    return None


_READERS = {
    "chat": (_read_chat, _observe_chat),
    "embeddings": (_read_embeddings, _observe_nothing),
}
