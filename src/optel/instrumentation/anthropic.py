"""GenAI spans and metrics for the ``anthropic`` SDK: ``messages.create``, sync, async and streamed.

Usage includes the prompt-cache counts (``cache_read_input_tokens``,
``cache_creation_input_tokens``), passed on as reported: Anthropic's ``input_tokens`` do not
include them. A streamed call's span ends when its stream is exhausted or closed; the counts come
from the ``message_start`` and ``message_delta`` events. Only counts, model names and stop
reasons are read; prompt and response text never are.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

    from optel.instrumentation._llm import Usage
    from optel.instrumentation._patch import Patches

TARGET = "anthropic"
PROVIDER = "anthropic"

_SITES = {
    "anthropic.resources.messages": (("Messages", False), ("AsyncMessages", True)),
}

_patches: Patches | None = None
_cancels: list[Callable[[], None]] = []


def instrument(module: ModuleType) -> None:
    """Wrap ``Messages.create`` and ``AsyncMessages.create`` now, or when they load."""
    global _patches
    if _patches is not None:
        return
    from optel.instrumentation import when_imported
    from optel.instrumentation._patch import Patches

    patches = _patches = Patches()
    for module_name, sites in _SITES.items():
        _cancels.append(when_imported(module_name, _patcher(patches, sites)))


def uninstrument(module: ModuleType) -> None:
    """Put the SDK's original methods back."""
    global _patches
    while _cancels:
        _cancels.pop()()
    if _patches is not None:
        _patches.restore()
        _patches = None


def _patcher(patches: Patches, sites: tuple[tuple[str, bool], ...]) -> Callable[[Any], None]:
    def patch(resource_module: Any) -> None:
        from optel.instrumentation import _llm

        for class_name, is_async in sites:
            owner = getattr(resource_module, class_name, None)
            if owner is None or "create" not in vars(owner):
                continue
            factory = _llm.async_call if is_async else _llm.sync_call
            patches.wrap(owner, "create", factory(PROVIDER, "chat", _read, _observe, _stream_types))

    return patch


def _stream_types() -> tuple[type, ...]:
    streaming = sys.modules.get("anthropic._streaming")
    if streaming is None:
        return ()
    found = (getattr(streaming, "Stream", None), getattr(streaming, "AsyncStream", None))
    return tuple(t for t in found if isinstance(t, type))


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
