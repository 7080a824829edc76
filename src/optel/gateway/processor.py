"""The processor module rotel loads (``--otlp-with-trace-processor`` / ``--otlp-with-metrics-processor``).

Runs inside rotel's embedded interpreter, where ``rotel_sdk`` exists; ``optel gateway`` puts optel on
its path. rotel calls ``process_spans`` / ``process_metrics`` with one ResourceSpans / ResourceMetrics
and sends what they leave. Any failure drops the whole batch: fail closed, never send unscrubbed data.
"""

from __future__ import annotations

import sys
from typing import Any

from rotel_sdk.open_telemetry.common.v1 import KeyValue  # type: ignore[import-not-found]

from optel.gateway.policy import DROP, Policy
from optel.record.dictionary import EVENT, METRIC, RESOURCE, SPAN

POLICY = Policy.from_environment()


def _plain(value: Any) -> Any:
    """A rotel value as Python: scalars as they are, an ArrayValue as a tuple of its elements'
    values (bytes arrive as a list of ints and key/value lists as their own type: both dropped)."""
    if value is None or isinstance(value, (str, bool, int, float, list)):
        return value
    try:
        return tuple(item.value for item in value)
    except (TypeError, AttributeError):
        return value


def _cleaned(scope: str, attributes: Any) -> list[Any]:
    kept = []
    for kv in attributes:
        if not POLICY.keeps(scope, kv.key):
            continue
        value = _plain(kv.value.value) if kv.value is not None else None
        new = POLICY.value(scope, kv.key, value)
        if new is DROP:
            continue
        kept.append(kv if new is value else KeyValue.new_string_value(kv.key, new))
    return kept


def _rewrite(owner: Any, scope: str) -> None:
    """Replaces ``owner.attributes`` by its cleaned list."""
    kept = _cleaned(scope, owner.attributes)
    try:
        owner.attributes = kept
    except TypeError:
        # Some of rotel's lists (span events') take no Python list: rewrite them in place.
        attributes = owner.attributes
        for index, kv in enumerate(kept):
            attributes[index] = kv
        for index in range(len(attributes) - 1, len(kept) - 1, -1):
            del attributes[index]


def _service_name(resource: Any) -> str | None:
    for kv in resource.attributes if resource is not None else ():
        if kv.key == "service.name" and kv.value is not None:
            value = kv.value.value
            return value if isinstance(value, str) else None
    return None


def _resource(message: Any) -> bool:
    """Cleans the resource; False when the batch must be dropped (an app this gateway does not serve)."""
    resource = message.resource
    if not POLICY.admits(_service_name(resource)):
        return False
    if resource is not None:
        _rewrite(resource, RESOURCE)
    return True


def _fail_closed(signal: str, exc: BaseException) -> None:
    sys.stderr.write(f"optel gateway: dropped a {signal} batch: {type(exc).__name__}: {exc}\n")


def process_spans(resource_spans: Any) -> None:
    try:
        if not _resource(resource_spans):
            resource_spans.scope_spans = []
            return
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                _rewrite(span, SPAN)
                status = span.status
                if status is not None and status.message:
                    status.message = POLICY.scrub(status.message)
                for event in span.events:
                    _rewrite(event, EVENT)
    except Exception as exc:
        resource_spans.scope_spans = []
        _fail_closed("trace", exc)


def process_metrics(resource_metrics: Any) -> None:
    try:
        if not _resource(resource_metrics):
            resource_metrics.scope_metrics = []
            return
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                data = metric.data
                points = getattr(data._0, "data_points", ()) if data is not None else ()
                for point in points:
                    _rewrite(point, METRIC)
    except Exception as exc:
        resource_metrics.scope_metrics = []
        _fail_closed("metrics", exc)
