"""GenAI spans and metrics for the ``anthropic`` SDK: ``messages.create`` and ``messages.stream``.

Sync and async, ``client.messages`` and ``client.beta.messages``, ``create(stream=True)`` and the
``with client.messages.stream(...) as s`` helper (which sends its request itself, not through
``create``: its span starts when the context is entered). Usage includes the prompt-cache counts
(``cache_read_input_tokens``, ``cache_creation_input_tokens``), passed on as reported:
Anthropic's ``input_tokens`` do not include them. A streamed call's span ends when its stream is
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


def _read_usage(reported: Any, usage: Usage) -> None:
    from optel.instrumentation._llm import tokens

    if reported is None:
        return
    # message_delta carries cumulative counts, some of them None: keep what is known.
    for source, target in (
        ("input_tokens", "input_tokens"),
        ("output_tokens", "output_tokens"),
        ("cache_read_input_tokens", "cache_read_tokens"),
        ("cache_creation_input_tokens", "cache_creation_tokens"),
    ):
        value = tokens(getattr(reported, source, None))
        if value is not None:
            setattr(usage, target, value)


def _read(result: Any, usage: Usage) -> None:
    """A Message."""
    model = getattr(result, "model", None)
    if isinstance(model, str):
        usage.response_model = model
    usage.add_finish_reason(getattr(result, "stop_reason", None))
    _read_usage(getattr(result, "usage", None), usage)


def _observe(event: Any, usage: Usage) -> None:
    """A raw stream event: ``message_start`` and ``message_delta`` carry what we count."""
    kind = getattr(event, "type", None)
    if kind == "message_start":
        message = getattr(event, "message", None)
        model = getattr(message, "model", None)
        if isinstance(model, str):
            usage.response_model = model
        _read_usage(getattr(message, "usage", None), usage)
    elif kind == "message_delta":
        usage.add_finish_reason(getattr(getattr(event, "delta", None), "stop_reason", None))
        _read_usage(getattr(event, "usage", None), usage)
