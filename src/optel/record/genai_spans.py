"""GenAI client spans, and the one answer to "is this code running inside an LLM call?".

Opened and ended for ``@optel.llm_call`` and every LLM instrumentor.

``start`` opens a CLIENT span with the GenAI semantic-convention attributes; ``finish`` adds what
the response said (read by ``optel.record.genai``) and ends it. The metrics
``gen_ai.client.operation.duration``, ``gen_ai.client.token.usage`` and
``gen_ai.client.operation.time_to_first_chunk`` are derived from the ended span at flush
(``optel.record.flush``), so callers must not measure them again. The span name,
``{gen_ai.operation.name} {gen_ai.request.model}``, is also set at flush, after the model name
passed the public-model check.
"""

from __future__ import annotations

from optel.record import names as n
from optel.record import spans
from optel.record.genai import provider_name, put_facts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from optel.record.spans import SpanHandle


def in_llm_call() -> bool:
    """Whether the caller runs inside an open LLM span of optel.

    What runs there is that call's own work: an HTTP request is its traffic, an instrumented SDK
    called by another (litellm calling the openai SDK, ``acompletion`` running ``completion``)
    is part of it; neither is recorded again. Context-local, as the current span is: a thread or
    a task of its own is a call of its own.
    """
    span = spans._current.get()
    while span is not None:
        if n.GEN_AI_OPERATION_NAME in span.attributes and not span.end_ns:
            return True
        span = span.parent
    return False


def start(
    provider: str,
    operation: str = "chat",
    request_model: str | None = None,
    attributes: Mapping[str, object] | None = None,
) -> SpanHandle | None:
    """Open a GenAI client span (current until ``finish``); None when not recording."""
    if not spans._on:
        return None
    try:
        attrs: dict[str, object] = {
            n.GEN_AI_OPERATION_NAME: operation,
            n.GEN_AI_PROVIDER_NAME: provider_name(provider),
        }
        if request_model is not None:
            attrs[n.GEN_AI_REQUEST_MODEL] = request_model
        if attributes:
            attrs.update(attributes)
        model = attrs.get(n.GEN_AI_REQUEST_MODEL)
        name = f"{operation} {model}" if model else operation
        return spans.start(name, "client", attrs)
    except Exception:
        return None


def first_chunk(handle: SpanHandle | None, at_ns: int) -> None:
    """Record that a streamed response's first chunk arrived at ``at_ns`` (the conventions'
    time to first chunk: from the request to the first chunk, in seconds)."""
    if handle is not None and n.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK not in handle.attributes:
        handle.attributes[n.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = (
            max(at_ns - handle.start_ns, 0) / 1e9
        )


def finish(
    handle: SpanHandle | None,
    *,
    attributes: Mapping[str, object] | None = None,
    exc: BaseException | None = None,
    error_type: str | None = None,
    **facts: object,
) -> None:
    """Record the response's facts and end the span; ``error_type`` alone marks it failed.

    ``attributes`` are facts already under the conventions' names (``genai.read_response``,
    ``genai.usage_attributes``); ``facts`` are the same by the keyword names of ``genai.FACTS``
    (``response_model=``, ``input_tokens=``, ...), as a host's own ``extract=`` gives them.
    """
    if handle is None:
        return
    try:
        if attributes:
            handle.attributes.update(attributes)
        if facts:
            put_facts(handle.attributes, facts)
        if exc is not None and error_type is not None:
            # The caller's code is more precise than the class name (a provider's error code).
            handle.record_exception(exc, error_type)
            exc = None
        elif error_type is not None:
            handle.fail(error_type)
    except Exception:
        pass
    handle.end(exc)
