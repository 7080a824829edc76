"""GenAI spans and metrics for Amazon Bedrock through boto3/botocore (>= 1.34): the
``bedrock-runtime`` client's ``converse``, ``converse_stream``, ``invoke_model`` and
``invoke_model_with_response_stream``.

botocore makes its client methods at run time, one class per client, all ending in
``BaseClient._make_api_call(operation_name, api_params)``: that one method is wrapped, and every
call of another service or operation goes straight through. Converse reports ``usage``
(``inputTokens``, ``outputTokens``, the cache reads and writes beside the input) and a
``stopReason``; a streamed Converse's span ends with its event stream, with the ``metadata``
event's usage. ``invoke_model``'s body is the model's own format and is never read: its counts
come from Bedrock's ``x-amzn-bedrock-*-token-count`` response headers (and, streamed, from the
``amazon-bedrock-invocationMetrics`` of the last chunk). Errors are botocore's ``ClientError``
with their HTTP status, never their message.
"""

from __future__ import annotations

from optel.instrumentation._sdk import Sdk, Site

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from optel.instrumentation._llm import Call, Usage

TARGET = "botocore.client"
# (distribution, first release patched, first release not): checked by optel status.
SUPPORTED = ("botocore", "1.34", "2")
PROVIDER = "aws.bedrock"
SERVICE = "bedrock-runtime"
_OPERATIONS = frozenset(
    ("Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream")
)
_METRICS_KEY = b"amazon-bedrock-invocationMetrics"


def _stream_types() -> tuple[type, ...]:
    from optel.instrumentation._sdk import loaded_types

    return loaded_types(("botocore.eventstream", "EventStream"))


def _arguments(
    site: Site, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Mapping[str, Any] | None:
    """A Bedrock runtime request's model and token limit; None for any other AWS call."""
    operation, params = (
        args if len(args) == 2 else (kwargs.get("operation_name"), kwargs.get("api_params"))
    )
    if operation not in _OPERATIONS or instance.meta.service_model.service_name != SERVICE:
        return None
    params = params if isinstance(params, dict) else {}
    config = params.get("inferenceConfig")
    limit = config.get("maxTokens") if isinstance(config, dict) else None
    return {
        "model": params.get("modelId"),
        "max_tokens": limit,
        "stream": operation.endswith("Stream"),
    }


def _returned(call: Call, result: Any) -> Any:
    """The response dict, with its event stream (if any) followed until its end."""
    if isinstance(result, dict):
        for key in ("stream", "body"):
            inner = result.get(key)
            streams = _stream_types()
            if streams and isinstance(inner, streams):
                result[key] = call.returned(inner, streams, is_async=False)
                return result
    return call.returned(result, ())


def _read(result: Any, usage: Usage) -> None:
    """A Converse response, or an InvokeModel one (whose counts are in its headers)."""
    usage.read(result)
    headers = (result.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    counts = {
        "inputTokens": headers.get("x-amzn-bedrock-input-token-count"),
        "outputTokens": headers.get("x-amzn-bedrock-output-token-count"),
    }
    usage.add_usage({k: int(v) for k, v in counts.items() if isinstance(v, str) and v.isdigit()})


def _observe(event: Any, usage: Usage) -> None:
    """A ConverseStream event, or an InvokeModelWithResponseStream chunk."""
    if not isinstance(event, dict):
        return
    if "messageStop" in event:
        usage.add_finish_reason((event["messageStop"] or {}).get("stopReason"))
    elif "metadata" in event:
        usage.add_usage((event["metadata"] or {}).get("usage"))
    elif "chunk" in event:
        data = (event["chunk"] or {}).get("bytes")
        # Only the last chunk carries the metrics; the others (the model's text) are not parsed.
        if isinstance(data, bytes) and _METRICS_KEY in data:
            import json

            metrics = json.loads(data).get(_METRICS_KEY.decode()) or {}
            usage.add_usage(
                {
                    "inputTokens": metrics.get("inputTokenCount"),
                    "outputTokens": metrics.get("outputTokenCount"),
                }
            )


_SITE = Site(TARGET, "BaseClient", "_make_api_call", "chat", False)
_READERS = {"chat": (_read, _observe)}
_SDK = Sdk(
    "botocore.exceptions", PROVIDER, (_SITE,), _READERS, _stream_types, _arguments, _returned
)
instrument = _SDK.instrument
uninstrument = _SDK.uninstrument
