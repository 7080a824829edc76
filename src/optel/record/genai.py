"""The one reader of what an LLM request and its response say, for every GenAI source.

The spans these facts go on are ``optel.record.genai_spans``'s. **The reader** (a stable internal API: ``@optel.llm_call`` and every instrumentor use it, and a
new instrumentor must too, instead of reading counts itself):

- ``provider_name(name)`` and ``client_provider(package, client)``: the conventions'
  ``gen_ai.provider.name`` for what a host wrote or for an SDK client (an ``AzureOpenAI`` client
  is ``azure.ai.openai``, an ``AnthropicBedrock`` one ``aws.bedrock``);
- ``read_response(result, out)``: the response model, id and finish reasons of a whole response
  (an object or a dict), written into ``out`` under the conventions' names; returns its usage;
- ``merge_usage(into, usage)``: keeps the counts a usage object or dict reports, for a stream
  that reports them piece by piece (Anthropic's ``message_start`` then ``message_delta``);
- ``usage_attributes(usage, out)``: the conventions' token counts of a usage object or dict;
  ``read_usage(handle)`` applies it, at flush, to the usage a ``@llm_call`` left on its span;
- ``put_facts(out, facts)``: the same facts given by keyword (``response_model``,
  ``input_tokens``, ...: ``FACTS``), from a host's ``extract=`` or ``genai_spans.finish``.

The conventions count cached tokens in ``gen_ai.usage.input_tokens``: OpenAI's ``prompt_tokens``
include them already, Anthropic's ``input_tokens`` do not (its cache reads and writes are
reported beside them), so those are added. A new SDK's usage shape is added to the field
tables below, with a test against the SDK's real objects.
"""

from __future__ import annotations

from optel.record import names as n

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


def read_usage(handle: SpanHandle) -> None:
    """Write the token counts of the usage an LLM call left on ``handle`` (``_usage``, read at
    flush rather than on the call's hot path) into its attributes; never raises."""
    usage = handle._usage
    if usage is not None:
        handle._usage = None
        try:
            usage_attributes(usage, handle.attributes)
        except Exception:
            pass


# --- facts given by keyword ------------------------------------------------------------------

# What a host's ``extract=`` returns (and ``genai_spans.finish`` takes), and the span attribute
# of each; the attribute names themselves are accepted too.
FACTS = {
    "response_model": n.GEN_AI_RESPONSE_MODEL,
    "response_id": n.GEN_AI_RESPONSE_ID,
    "input_tokens": n.GEN_AI_USAGE_INPUT_TOKENS,
    "output_tokens": n.GEN_AI_USAGE_OUTPUT_TOKENS,
    "cache_read_tokens": n.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    "cache_creation_tokens": n.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    "reasoning_tokens": n.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    "finish_reasons": n.GEN_AI_RESPONSE_FINISH_REASONS,
}
_FACT_NAMES = frozenset(FACTS.values())


def put_facts(out: dict[str, object], facts: Mapping[str, object]) -> None:
    """Write ``facts`` (keyword names of ``FACTS`` or attribute names) into ``out``; a finish
    reason may be one string or a list, anything else is left out."""
    for key, value in facts.items():
        attr = FACTS.get(key, key if key in _FACT_NAMES else None)
        if attr is None or value is None:
            continue
        if attr == n.GEN_AI_RESPONSE_FINISH_REASONS:
            if isinstance(value, str):
                value = [value]
            try:
                value = [r for r in value if isinstance(r, str)]  # type: ignore[attr-defined]
            except TypeError:
                continue
            if not value:
                continue
        out[attr] = value
