"""GenAI client spans for `@optel.llm_call` and the openai/anthropic instrumentors.

``start`` opens a CLIENT span with the GenAI semantic-convention attributes; ``finish`` adds what
the response said (models, token counts, finish reasons) and ends it. The metrics
``gen_ai.client.operation.duration`` and ``gen_ai.client.token.usage`` are derived from the ended
span at flush (``optel.record.flush``), so callers must not measure them again. The span name,
``{gen_ai.operation.name} {gen_ai.request.model}``, is also set at flush, after the model name
passed the public-model check.
"""

from __future__ import annotations

from optel.record import spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from optel.record.spans import SpanHandle


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
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": provider,
        }
        if request_model is not None:
            attrs["gen_ai.request.model"] = request_model
        if attributes:
            attrs.update(attributes)
        name = f"{operation} {request_model}" if request_model else operation
        return spans.start(name, "client", attrs)
    except Exception:
        return None


def finish(
    handle: SpanHandle | None,
    *,
    response_model: str | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    cache_read_tokens: int | None = None,
    cache_creation_tokens: int | None = None,
    finish_reasons: Iterable[str] | None = None,
    exc: BaseException | None = None,
    error_type: str | None = None,
) -> None:
    """Record the response's facts and end the span; ``error_type`` alone marks it failed."""
    if handle is None:
        return
    try:
        put = handle.attributes.__setitem__
        if response_model is not None:
            put("gen_ai.response.model", response_model)
        if input_tokens is not None:
            put("gen_ai.usage.input_tokens", input_tokens)
        if output_tokens is not None:
            put("gen_ai.usage.output_tokens", output_tokens)
        if cache_read_tokens is not None:
            put("gen_ai.usage.cache_read.input_tokens", cache_read_tokens)
        if cache_creation_tokens is not None:
            put("gen_ai.usage.cache_creation.input_tokens", cache_creation_tokens)
        if finish_reasons is not None:
            reasons = [r for r in finish_reasons if isinstance(r, str)]
            if reasons:
                put("gen_ai.response.finish_reasons", reasons)
        if exc is not None and error_type is not None:
            # The caller's code is more precise than the class name (a provider's error code).
            handle.record_exception(exc, error_type)
            exc = None
        elif error_type is not None:
            handle.fail(error_type)
    except Exception:
        pass
    handle.end(exc)
