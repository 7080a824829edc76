"""GenAI spans and metrics for the ``mistralai`` SDK (>= 1.0): chat and embeddings.

``client.chat.complete`` / ``complete_async`` / ``stream`` / ``stream_async`` and
``client.embeddings.create`` / ``create_async``, in the 1.x layout (``mistralai.chat``) and the
later one (``mistralai.client.chat``). Mistral's responses and chunks have OpenAI's shape (a
stream's last chunk carries the usage), so they are read as the openai instrumentor reads them,
by the one GenAI reader; errors are named by their class in ``mistralai.client.errors``
(``SDKError``, ``HTTPValidationError``) with their HTTP status, never their message.
"""

from __future__ import annotations

from optel.instrumentation._sdk import Sdk, Site

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from optel.instrumentation._llm import Usage

TARGET = "mistralai"
# (distribution, first release patched, first release not): checked by optel status.
SUPPORTED = ("mistralai", "1.0", "4")
PROVIDER = "mistral_ai"
_LAYOUTS = ("mistralai.client", "mistralai")  # 2.x and later, 1.x
_METHODS = (
    ("chat", "Chat", "complete", "chat", False, False),
    ("chat", "Chat", "complete_async", "chat", True, False),
    ("chat", "Chat", "stream", "chat", False, True),
    ("chat", "Chat", "stream_async", "chat", True, True),
    ("embeddings", "Embeddings", "create", "embeddings", False, False),
    ("embeddings", "Embeddings", "create_async", "embeddings", True, False),
)


def _stream_types() -> tuple[type, ...]:
    from optel.instrumentation._sdk import loaded_types

    return loaded_types(
        *(
            (f"{layout}.utils.eventstreaming", name)
            for layout in _LAYOUTS
            for name in ("EventStream", "EventStreamAsync")
        )
    )


def _read(result: Any, usage: Usage) -> None:
    """A ChatCompletionResponse or EmbeddingResponse."""
    usage.read(result)


def _observe(event: Any, usage: Usage) -> None:
    """A CompletionEvent: its ``data`` is a chunk shaped as OpenAI's."""
    chunk = getattr(event, "data", None)
    usage.set_response(getattr(chunk, "model", None), getattr(chunk, "id", None))
    for choice in getattr(chunk, "choices", None) or ():
        usage.add_finish_reason(getattr(choice, "finish_reason", None))
    usage.add_usage(getattr(chunk, "usage", None))


_SITES = tuple(
    Site(f"{layout}.{module}", owner, method, operation, is_async, stream)
    for layout in _LAYOUTS
    for module, owner, method, operation, is_async, stream in _METHODS
)
_READERS = {"chat": (_read, _observe), "embeddings": (_read, _observe)}
_SDK = Sdk("mistralai.client.errors", PROVIDER, _SITES, _READERS, _stream_types)
instrument = _SDK.instrument
uninstrument = _SDK.uninstrument
