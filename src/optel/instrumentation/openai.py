"""GenAI spans and metrics for the ``openai`` SDK (>= 1.0): chat completions, responses, embeddings.

Sync and async ``create`` methods are wrapped, streams included: a streamed call's span ends when
its stream is exhausted or closed, with the usage of the final chunk (chat completions send it
when ``stream_options={"include_usage": True}``). The SDK loads its resource modules lazily, so
each one is patched when the host first touches it. Only counts, model names, ids and finish
reasons are read (by ``optel.record.genai``'s one reader); prompt and response text never are.
An ``AzureOpenAI`` client's calls are recorded with the provider ``azure.ai.openai``; a Responses
API call's finish reason comes from its output items (``tool_calls``, ``stop``, ``length``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

    from optel.instrumentation._llm import SdkPatches, Usage

TARGET = "openai"
# (distribution, first release patched, first release not): checked by optel status.
SUPPORTED = ("openai", "1.0", "4")
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


def _read(result: Any, usage: Usage) -> None:
    """A ChatCompletion, a Response (responses API) or an embeddings response."""
    usage.read(result)


def _observe_chat(item: Any, usage: Usage) -> None:
    """A ChatCompletionChunk, or an event of a streamed Response."""
    event_type = getattr(item, "type", None)
    if isinstance(event_type, str):
        # The responses API streams events; the finished response rides on the last one.
        if event_type in ("response.completed", "response.incomplete", "response.failed"):
            usage.read(getattr(item, "response", None))
        return
    usage.set_response(getattr(item, "model", None), getattr(item, "id", None))
    for choice in getattr(item, "choices", None) or ():
        usage.add_finish_reason(getattr(choice, "finish_reason", None))
    usage.add_usage(getattr(item, "usage", None))


def _observe_nothing(item: Any, usage: Usage) -> None:
    return None


_READERS = {
    "chat": (_read, _observe_chat),
    "embeddings": (_read, _observe_nothing),
}
