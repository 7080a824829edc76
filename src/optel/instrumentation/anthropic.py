"""GenAI spans and metrics for the ``anthropic`` SDK: ``messages.create`` and ``messages.stream``.

Sync and async, ``client.messages`` and ``client.beta.messages``, ``create(stream=True)`` and the
``with client.messages.stream(...) as s`` helper (which sends its request itself, not through
``create``: its span starts when the context is entered). Usage includes the prompt-cache counts
(``cache_read_input_tokens``, ``cache_creation_input_tokens``): Anthropic's ``input_tokens`` do
not include them, the conventions' ``gen_ai.usage.input_tokens`` do, so the one usage reader
(``optel.record.genai.usage_attributes``) adds them. ``AnthropicBedrock`` and ``AnthropicVertex``
clients are recorded as ``aws.bedrock`` and ``gcp.vertex_ai``. A streamed call's span ends when its stream is
exhausted, fails or is closed (for the helper, at the latest when its context exits); the counts
come from the ``message_start`` and ``message_delta`` events. Only counts, model names and stop
reasons are read; prompt and response text never are.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

    from optel.instrumentation._llm import SdkPatches, Usage

TARGET = "anthropic"
# (distribution, first release patched, first release not): checked by optel status.
SUPPORTED = ("anthropic", "0.30", "3")
PROVIDER = "anthropic"

_SITES = {
    "anthropic.resources.messages": (("Messages", "chat", False), ("AsyncMessages", "chat", True)),
    "anthropic.resources.beta.messages.messages": (
        ("Messages", "chat", False),
        ("AsyncMessages", "chat", True),
    ),
}


def instrument(module: ModuleType) -> None:
    """Wrap ``create`` and ``stream`` of ``Messages`` and ``AsyncMessages`` now, or when they load."""
    _sdk().instrument()


def uninstrument(module: ModuleType) -> None:
    """Put the SDK's original methods back."""
    _sdk().uninstrument()


_patches: SdkPatches | None = None


def _sdk() -> SdkPatches:
    global _patches
    if _patches is None:
        from optel.instrumentation._llm import SdkPatches

        _patches = SdkPatches(
            PROVIDER, _SITES, {"chat": (_read, _observe)}, "anthropic._streaming", ("stream",)
        )
    return _patches


def _read(result: Any, usage: Usage) -> None:
    """A Message."""
    usage.read(result)


def _observe(event: Any, usage: Usage) -> None:
    """A raw stream event: ``message_start`` and ``message_delta`` carry what we count."""
    kind = getattr(event, "type", None)
    if kind == "message_start":
        usage.read(getattr(event, "message", None))
    elif kind == "message_delta":
        usage.add_finish_reason(getattr(getattr(event, "delta", None), "stop_reason", None))
        # Cumulative counts, some of them None: the merge keeps what message_start said.
        usage.add_usage(getattr(event, "usage", None))
