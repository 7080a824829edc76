"""OTLP protobuf messages built straight from plain values: attributes, resources, and the export requests.

The uploader builds `ExportTraceServiceRequest` and `ExportMetricsServiceRequest` itself, with the
generated pb2 classes of `opentelemetry-proto`, as the SDK's encoder would from its span and metric
objects: the same messages, field for field (`tests/test_upload_speed.py` compares them), without
building those objects first, and without importing the SDK (docs/internals.md, the process split).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import ResourceMetrics, ScopeMetrics
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans

from optel._version import __version__
from optel.upload.attributes import FileResource

__all__ = [
    "SCOPE", "ExportMetricsServiceRequest", "ExportTraceServiceRequest", "FileResource",
    "decode_attributes", "encode_attributes", "metrics_request", "trace_request",
]  # fmt: skip

SCOPE = InstrumentationScope(name="optel", version=__version__)

# Encoded (key, value) pairs, reused: a CLI's spans repeat the same few attribute values, and a
# message built once is copied by protobuf faster than it is built again.
_PAIRS: dict[tuple[str, type, Any], KeyValue] = {}
_MAX_PAIRS = 50_000


def _value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, (list, tuple)):
        return AnyValue(array_value=ArrayValue(values=[_value(v) for v in value]))
    return AnyValue()


def encode_attributes(attributes: Mapping[str, Any]) -> list[KeyValue]:
    """Clean attributes (`convert.clean_attributes`) as OTLP `KeyValue`s, in their order."""
    out = []
    pairs = _PAIRS
    for key, value in attributes.items():
        kind = type(value)
        if kind is list:
            out.append(KeyValue(key=key, value=_value(value)))
            continue
        cached = pairs.get((key, kind, value))
        if cached is None:
            cached = KeyValue(key=key, value=_value(value))
            if len(pairs) < _MAX_PAIRS:
                pairs[(key, kind, value)] = cached
        out.append(cached)
    return out


def decode_attributes(pairs: Any) -> dict[str, Any]:
    """`KeyValue`s back to plain values (for keys of running totals and for tests)."""
    return {pair.key: _plain(pair.value) for pair in pairs}


def _plain(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_plain(v) for v in value.array_value.values]
    return getattr(value, which) if which else None


def _resource(resource: FileResource, extra: Mapping[str, str] | None) -> Resource:
    attributes = {**extra, **resource.attributes} if extra else resource.attributes
    return Resource(attributes=encode_attributes(attributes))


def trace_request(
    groups: list[tuple[FileResource, list[Any]]], extra: Mapping[str, str] | None = None
) -> ExportTraceServiceRequest:
    """One request of `Span`s, one `ResourceSpans` per resource (`extra`: the user's own resource
    attributes, added under each file's own, for the user's endpoint only)."""
    by_resource: dict[int, tuple[FileResource, list[Any]]] = {}
    for resource, spans in groups:
        found = by_resource.get(id(resource))
        if found is None:
            by_resource[id(resource)] = (resource, list(spans))
        else:
            found[1].extend(spans)
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=_resource(resource, extra),
                scope_spans=[ScopeSpans(scope=SCOPE, spans=spans)],
            )
            for resource, spans in by_resource.values()
        ]
    )


def metrics_request(
    groups: list[tuple[FileResource, list[Any]]], extra: Mapping[str, str] | None = None
) -> ExportMetricsServiceRequest:
    """One request of `Metric`s, one `ResourceMetrics` per group (already aggregated per resource)."""
    return ExportMetricsServiceRequest(
        resource_metrics=[
            ResourceMetrics(
                resource=_resource(resource, extra),
                scope_metrics=[ScopeMetrics(scope=SCOPE, metrics=metrics)],
            )
            for resource, metrics in groups
        ]
    )
