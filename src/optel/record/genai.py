"""GenAI client spans, and the one reader of what an LLM response says, for every GenAI source.

``start`` opens a CLIENT span with the GenAI semantic-convention attributes; ``finish`` adds what
the response said and ends it. The metrics ``gen_ai.client.operation.duration``,
``gen_ai.client.token.usage`` and ``gen_ai.client.operation.time_to_first_chunk`` are derived
from the ended span at flush (``optel.record.flush``), so callers must not measure them again.
The span name, ``{gen_ai.operation.name} {gen_ai.request.model}``, is also set at flush, after the
model name passed the public-model check.

**The reader** (a stable internal API: ``@optel.llm_call`` and every instrumentor use it, and a
new instrumentor must too, instead of reading counts itself):

- ``provider_name(name)`` and ``client_provider(package, client)``: the conventions'
  ``gen_ai.provider.name`` for what a host wrote or for an SDK client (an ``AzureOpenAI`` client
  is ``azure.ai.openai``, an ``AnthropicBedrock`` one ``aws.bedrock``);
- ``read_response(result, out)``: the response model, id and finish reasons of a whole response
  (an object or a dict), written into ``out`` under the conventions' names; returns its usage;
- ``merge_usage(into, usage)``: keeps the counts a usage object or dict reports, for a stream
  that reports them piece by piece (Anthropic's ``message_start`` then ``message_delta``);
- ``usage_attributes(usage, out)``: the conventions' token counts of a usage object or dict.

The conventions count cached tokens in ``gen_ai.usage.input_tokens``: OpenAI's ``prompt_tokens``
include them already, Anthropic's ``input_tokens`` do not (its cache reads and writes are
reported beside them), so those are added. A new SDK's usage shape is added to the field
tables below, with a test against the SDK's real objects.
"""

from __future__ import annotations

from optel.record import names as n
from optel.record import spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from optel.record.spans import SpanHandle

# --- providers -------------------------------------------------------------------------------

# What hosts and libraries call a provider -> the conventions' well-known value.
_PROVIDER_ALIASES = {
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "azure-openai": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "aws": "aws.bedrock",
    "google": "gcp.gen_ai",
    "google_genai": "gcp.gen_ai",
    "gemini": "gcp.gemini",
    "vertex": "gcp.vertex_ai",
    "vertex_ai": "gcp.vertex_ai",
    "mistral": "mistral_ai",
    "mistralai": "mistral_ai",
    "xai": "x_ai",
    "x-ai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
}
# SDK client classes (by name, anywhere in the client's MRO) that talk to another provider
# than their package's name says.
_CLIENT_PROVIDERS = {
    "BaseAzureClient": "azure.ai.openai",  # openai.AzureOpenAI, openai.AsyncAzureOpenAI
    "AnthropicBedrock": "aws.bedrock",
    "AsyncAnthropicBedrock": "aws.bedrock",
    "AnthropicVertex": "gcp.vertex_ai",
    "AsyncAnthropicVertex": "gcp.vertex_ai",
}
UNKNOWN_PROVIDER = "unknown"


def provider_name(name: object) -> str:
    """The conventions' ``gen_ai.provider.name`` for a provider a host or SDK named."""
    if not isinstance(name, str) or not name.strip():
        return UNKNOWN_PROVIDER
    key = name.strip().lower()
    return _PROVIDER_ALIASES.get(key, key)


def client_provider(package: str, client: object) -> str:
    """The provider an SDK client talks to: its package's, unless its class says otherwise."""
    try:
        for cls in type(client).__mro__:
            found = _CLIENT_PROVIDERS.get(cls.__name__)
            if found is not None:
                return found
    except Exception:
        pass
    return provider_name(package)


# --- the response reader ---------------------------------------------------------------------

# The Responses API's incomplete_details.reason -> the finish reason chat completions would say.
_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


def _get(obj: object, key: str) -> object:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    try:
        fields = getattr(obj, "__dict__", None)
        if fields is not None and key in fields:
            return fields[key]
        if getattr(type(obj), "__pydantic_fields__", None) is not None:
            # A pydantic model's fields are in its __dict__; what is not there is an extra field
            # or nothing. Asking getattr for a missing name costs a pydantic model ~3 us (its
            # __getattr__ raises), and the reader asks for every SDK's names.
            extra = getattr(obj, "__pydantic_extra__", None)
            return extra.get(key) if isinstance(extra, dict) else None
        return getattr(obj, key, None)
    except Exception:
        return None


def _view(obj: object) -> object:
    """A pydantic model's fields as a dict (read many times below: a dict lookup is cheap),
    anything else as it is."""
    try:
        if getattr(type(obj), "__pydantic_fields__", None) is not None:
            fields = obj.__dict__
            extra = getattr(obj, "__pydantic_extra__", None)
            return {**fields, **extra} if extra else fields
    except Exception:
        pass
    return obj


def _count(value: object) -> int | None:
    """A reported token count: a non-negative int (never a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def read_response(result: object, out: dict[str, object]) -> object:
    """Write the response model, id and finish reasons of ``result`` into ``out``; return its usage.

    OpenAI chat completions (``choices[].finish_reason``), Anthropic messages (``stop_reason``),
    Ollama responses (``done_reason``; their counts are on the response itself), Gemini's
    (``candidates[].finish_reason``, ``model_version``, ``usage_metadata``) and OpenAI Responses (``object == "response"``: the reasons come from its output items).
    """
    result = _view(result)
    model = _first(result, ("model", "model_version"))
    if isinstance(model, str) and model:
        out[n.GEN_AI_RESPONSE_MODEL] = model
    response_id = _first(result, ("id", "response_id"))
    if isinstance(response_id, str) and response_id:
        out[n.GEN_AI_RESPONSE_ID] = response_id
    stop = _first(result, _STOP_REASONS)
    if isinstance(stop, str) and stop:
        out[n.GEN_AI_RESPONSE_FINISH_REASONS] = [stop]
    elif _get(result, "object") == "response":
        reasons = _response_output_reasons(result)
        if reasons:
            out[n.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
    else:
        choices = _first(result, ("choices", "candidates"))
        if isinstance(choices, (list, tuple)) and choices:
            found = (_reason(_get(c, "finish_reason")) for c in choices)
            reasons = [r for r in found if r]
            if reasons:
                out[n.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
    return _first(result, ("usage", "usage_metadata"))


def _reason(value: object) -> str | None:
    """A finish reason as a string: Gemini's are enum members (``FinishReason.STOP``), said as
    the conventions' lower-case values (``stop``, ``max_tokens``)."""
    if isinstance(value, str) and value and type(value) is str:
        return value
    member = getattr(value, "value", None)
    if isinstance(member, str) and member:
        return member.lower()
    return None


def _response_output_reasons(response: object) -> list[str]:
    """A Responses API response's finish reason, from its output items (its status says only
    whether it completed): ``tool_calls`` when it asks for a tool, ``length`` or ``content_filter``
    when it was cut short, ``stop`` when it ended with a message."""
    details = _get(response, "incomplete_details")
    cut = _get(details, "reason")
    if isinstance(cut, str) and cut:
        return [_INCOMPLETE_REASONS.get(cut, cut)]
    items = _get(response, "output")
    if not isinstance(items, (list, tuple)):
        return []
    kinds = [k for k in (_get(item, "type") for item in items) if isinstance(k, str)]
    if any(k.endswith("_call") for k in kinds):
        return ["tool_calls"]
    return ["stop"] if "message" in kinds else []


def add_finish_reason(out: dict[str, object], reason: object) -> None:
    """Append one streamed finish reason to ``out``'s list."""
    if isinstance(reason, str) and reason:
        reasons = out.get(n.GEN_AI_RESPONSE_FINISH_REASONS)
        if isinstance(reasons, list):
            reasons.append(reason)
        else:
            out[n.GEN_AI_RESPONSE_FINISH_REASONS] = [reason]


# --- the usage reader ------------------------------------------------------------------------

# A whole response's one finish reason: Anthropic, Ollama.
_STOP_REASONS = ("stop_reason", "done_reason", "stopReason")  # Bedrock's Converse: the last
# Each count, as the SDKs name it, first match wins: OpenAI's Responses API and Anthropic,
# OpenAI's chat completions (mistralai, litellm), Ollama.
_INPUT = ("input_tokens", "prompt_tokens", "prompt_eval_count", "prompt_token_count", "inputTokens")
_OUTPUT = (
    "output_tokens",
    "completion_tokens",
    "eval_count",
    "candidates_token_count",
    "outputTokens",
)
# Gemini: cached tokens inside the input count; thinking tokens beside the output count (the
# conventions' output count includes them, as OpenAI's does): added to it.
_CACHE_READ_INSIDE = "cached_content_token_count"
_REASONING_BESIDE = "thoughts_token_count"
# Counts reported beside the input count, not in it (Anthropic; Bedrock's Converse): added to it.
_CACHE_READ_BESIDE = ("cache_read_input_tokens", "cacheReadInputTokens")
_CACHE_WRITE_BESIDE = ("cache_creation_input_tokens", "cacheWriteInputTokens")
# Details objects: ``cached_tokens`` inside the input count (OpenAI), ``reasoning_tokens``
# inside the output count.
_INPUT_DETAILS = ("prompt_tokens_details", "input_tokens_details")
_OUTPUT_DETAILS = ("completion_tokens_details", "output_tokens_details")
USAGE_FIELDS = (
    *_INPUT,
    *_OUTPUT,
    *_CACHE_READ_BESIDE,
    *_CACHE_WRITE_BESIDE,
    _CACHE_READ_INSIDE,
    _REASONING_BESIDE,
    *_INPUT_DETAILS,
    *_OUTPUT_DETAILS,
)

_USAGE_NAMES = frozenset(USAGE_FIELDS)


def _first(usage: object, fields: Iterable[str]) -> object:
    for field in fields:
        value = _get(usage, field)
        if value is not None:
            return value
    return None


def merge_usage(into: dict[str, object], usage: object) -> None:
    """Keep in ``into`` every count ``usage`` reports (a stream's later events win)."""
    if usage is None:
        return
    usage = _view(usage)
    if isinstance(usage, dict):
        # Only the names it has (most SDKs report a few of USAGE_FIELDS): one set operation.
        for field in usage.keys() & _USAGE_NAMES:
            value = usage[field]
            if value is not None:
                into[field] = value
        return
    for field in USAGE_FIELDS:
        value = _get(usage, field)
        if value is not None:
            into[field] = value


def usage_attributes(usage: object, out: dict[str, object]) -> None:
    """Write the conventions' token counts of ``usage`` (an SDK object or a dict) into ``out``."""
    if usage is None:
        return
    usage = _view(usage)
    input_tokens = _count(_first(usage, _INPUT))
    output_tokens = _count(_first(usage, _OUTPUT))
    cache_read = _count(_first(usage, _CACHE_READ_BESIDE))
    cache_write = _count(_first(usage, _CACHE_WRITE_BESIDE))
    if input_tokens is not None and (cache_read or cache_write):
        input_tokens += (cache_read or 0) + (cache_write or 0)
    if cache_read is None:
        cache_read = _count(_get(_first(usage, _INPUT_DETAILS), "cached_tokens"))
    if cache_read is None:
        cache_read = _count(_get(usage, _CACHE_READ_INSIDE))
    reasoning = _count(_get(_first(usage, _OUTPUT_DETAILS), "reasoning_tokens"))
    thoughts = _count(_get(usage, _REASONING_BESIDE))
    if thoughts is not None:
        reasoning = thoughts
        output_tokens = (output_tokens or 0) + thoughts
    for key, value in (
        (n.GEN_AI_USAGE_INPUT_TOKENS, input_tokens),
        (n.GEN_AI_USAGE_OUTPUT_TOKENS, output_tokens),
        (n.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, cache_read),
        (n.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, cache_write),
        (n.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, reasoning),
    ):
        if value is not None:
            out[key] = value


def request_attributes(kwargs: Mapping[str, object], stream: bool) -> dict[str, object]:
    """What a request's arguments say that the conventions record (never the prompt)."""
    out: dict[str, object] = {}
    model = kwargs.get("model")
    if isinstance(model, str) and model:
        out[n.GEN_AI_REQUEST_MODEL] = model
    # chat completions: max_completion_tokens (max_tokens, deprecated); responses: max_output_tokens.
    limit = _count(_first(kwargs, ("max_tokens", "max_completion_tokens", "max_output_tokens")))
    if limit is not None:
        out[n.GEN_AI_REQUEST_MAX_TOKENS] = limit
    if stream:
        out[n.GEN_AI_REQUEST_STREAM] = True
    return out


# --- spans -----------------------------------------------------------------------------------


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
    response_model: str | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    cache_read_tokens: int | None = None,
    cache_creation_tokens: int | None = None,
    finish_reasons: Iterable[str] | None = None,
    attributes: Mapping[str, object] | None = None,
    exc: BaseException | None = None,
    error_type: str | None = None,
) -> None:
    """Record the response's facts and end the span; ``error_type`` alone marks it failed.

    ``attributes`` are facts already under the conventions' names (``read_response``,
    ``usage_attributes``); the keywords are the same facts for a host's own ``extract=``.
    """
    if handle is None:
        return
    try:
        put = handle.attributes.__setitem__
        if attributes:
            handle.attributes.update(attributes)
        if response_model is not None:
            put(n.GEN_AI_RESPONSE_MODEL, response_model)
        for key, value in (
            (n.GEN_AI_USAGE_INPUT_TOKENS, input_tokens),
            (n.GEN_AI_USAGE_OUTPUT_TOKENS, output_tokens),
            (n.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, cache_read_tokens),
            (n.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, cache_creation_tokens),
        ):
            if value is not None:
                put(key, value)
        if finish_reasons is not None:
            reasons = [r for r in finish_reasons if isinstance(r, str)]
            if reasons:
                put(n.GEN_AI_RESPONSE_FINISH_REASONS, reasons)
        if exc is not None and error_type is not None:
            # The caller's code is more precise than the class name (a provider's error code).
            handle.record_exception(exc, error_type)
            exc = None
        elif error_type is not None:
            handle.fail(error_type)
    except Exception:
        pass
    handle.end(exc)
