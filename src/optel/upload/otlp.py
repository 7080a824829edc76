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

from optel._version import __version__
from optel.upload.attributes import FileResource

__all__ = [
    "SCOPE", "ExportMetricsServiceRequest", "ExportTraceServiceRequest", "FileResource", "SpanRequest",
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


_SPAN_PAIRS: dict[tuple[str, type, Any], bytes] = {}


def span_attributes(attributes: Mapping[str, Any]) -> bytes:
    """Clean attributes as the wire bytes of a `Span` holding only them, to merge into a span.

    Merging bytes (`MergeFromString`) costs a fifth of copying `KeyValue` messages into a span,
    and a span's wire form is its fields in any order: the result is the same message. Each
    (key, value) pair is serialised once a run.
    """
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    parts = []
    pairs = _SPAN_PAIRS
    for key, value in attributes.items():
        kind = type(value)
        if kind is list:
            parts.append(
                Span(attributes=[KeyValue(key=key, value=_value(value))]).SerializeToString()
            )
            continue
        cached = pairs.get((key, kind, value))
        if cached is None:
            cached = Span(attributes=[KeyValue(key=key, value=_value(value))]).SerializeToString()
            if len(pairs) < _MAX_PAIRS:
                pairs[(key, kind, value)] = cached
        parts.append(cached)
    return b"".join(parts)


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


class SpanRequest:
    """An `ExportTraceServiceRequest` filled in place: each span is built inside its resource's
    `ScopeSpans` (`convert.span_from_record(record, into=...)`); building spans apart and putting
    them in a request afterwards copies each, a quarter of the cost of converting it."""

    __slots__ = ("_spans", "count", "message", "resources")

    def __init__(self) -> None:
        self.message = ExportTraceServiceRequest()
        self.resources: list[FileResource] = []  # one per `ResourceSpans`, in order
        self._spans: dict[int, Any] = {}
        self.count = 0  # spans added

    def spans(self, resource: FileResource) -> Any:
        """The repeated `spans` field of `resource`'s `ScopeSpans`, made on first use."""
        found = self._spans.get(id(resource))
        if found is None:
            scope = self.message.resource_spans.add().scope_spans.add()
            scope.scope.CopyFrom(SCOPE)
            found = self._spans[id(resource)] = scope.spans
            self.resources.append(resource)
        return found

    def finish(
        self, extra: Mapping[str, str] | None = None, keeps: Any = None
    ) -> ExportTraceServiceRequest:
        """The request, each resource filled in (`extra`: the user's own resource attributes, added
        under each file's own, for the user's endpoint only); `keeps(trace_id)`: the user's sampler."""
        message = self.message
        if keeps is not None:
            message = ExportTraceServiceRequest()
            message.CopyFrom(self.message)
            for group in message.resource_spans:
                spans = group.scope_spans[0].spans
                kept = [s for s in spans if keeps(int.from_bytes(s.trace_id, "big"))]
                del spans[:]
                spans.extend(kept)
        for group, resource in zip(message.resource_spans, self.resources):
            group.resource.CopyFrom(_resource(resource, extra))
        if keeps is not None:
            empty = [i for i, g in enumerate(message.resource_spans) if not g.scope_spans[0].spans]
            for i in reversed(empty):
                del message.resource_spans[i]
        return message


def trace_request(
    groups: list[tuple[FileResource, list[Any]]], extra: Mapping[str, str] | None = None
) -> ExportTraceServiceRequest:
    """One request of the given `Span`s, one `ResourceSpans` per resource (copies them: for tests)."""
    request = SpanRequest()
    for resource, spans in groups:
        request.spans(resource).extend(spans)
    return request.finish(extra)


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
