"""OTLP export requests as protobuf wire bytes: resources, the scope, `ExportTraceServiceRequest` and `ExportMetricsServiceRequest`.

The uploader writes the requests itself (upload/wire.py), field for field what the SDK's encoder
writes for the same spans and metrics (`tests/test_upload_wire.py` compares the bytes), without
the SDK and without protobuf: the OTLP/HTTP protobuf path posts these bytes as they are. The gRPC
and OTLP/JSON paths parse them into opentelemetry-proto's messages (`Encoded.message`): one
encoding, no second converter (docs/internals.md, "Upload").
"""

from __future__ import annotations

from optel import __version__
from optel.upload.attributes import FileResource
from optel.upload.wire import field, key_values, text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = [
    "SCOPE", "Encoded", "FileResource", "SpanRequest", "decode_attributes", "metrics_request",
    "trace_request",
]  # fmt: skip

# InstrumentationScope: name 1, version 2; as field 1 of `ScopeSpans` and `ScopeMetrics`.
SCOPE = field(b"\x0a", text("optel")) + field(b"\x12", text(__version__))
_SCOPE = field(b"\x0a", SCOPE)
_MESSAGES = {
    "traces": ("opentelemetry.proto.collector.trace.v1.trace_service_pb2", "ExportTraceServiceRequest"),
    "metrics": ("opentelemetry.proto.collector.metrics.v1.metrics_service_pb2", "ExportMetricsServiceRequest"),
}  # fmt: skip


class Encoded:
    """One export request of `signal` ("traces" or "metrics"): its wire bytes, `data`."""

    __slots__ = ("data", "signal")

    def __init__(self, signal: str, data: bytes) -> None:
        self.signal = signal
        self.data = data

    def message(self) -> Any:
        """The request as an opentelemetry-proto message, parsed from `data` (gRPC, OTLP/JSON)."""
        import importlib

        module, name = _MESSAGES[self.signal]
        return getattr(importlib.import_module(module), name).FromString(self.data)

    def __repr__(self) -> str:
        return f"Encoded({self.signal!r}, {len(self.data)} bytes)"


def _resource(resource: FileResource, extra: Mapping[str, str] | None) -> bytes:
    """Field 1 (`resource`) of a `ResourceSpans`/`ResourceMetrics`: `Resource.attributes` is its field 1."""
    attributes = {**extra, **resource.attributes} if extra else resource.attributes
    return field(b"\x0a", key_values(b"\x0a", attributes))


def _requests(groups: list[tuple[bytes, bytes]]) -> bytes:
    """`resource_spans`/`resource_metrics` (field 1 of the request) of (resource field, items) pairs:
    each a resource and one scope (field 2) holding the items (its field 2, after the scope)."""
    return b"".join(
        field(b"\x0a", resource + field(b"\x12", _SCOPE + items)) for resource, items in groups
    )


def _items(bodies: list[bytes]) -> bytes:
    return b"".join([field(b"\x12", body) for body in bodies])


class SpanRequest:
    """The spans of one `ExportTraceServiceRequest`, gathered per resource (`convert.span_from_record(record,
    into=request.spans(resource))`), encoded into one request by `finish`."""

    __slots__ = ("_spans", "count", "resources")

    def __init__(self) -> None:
        self.resources: list[FileResource] = []  # one per `ResourceSpans`, in order
        self._spans: dict[int, list[bytes]] = {}
        self.count = 0  # spans added

    def spans(self, resource: FileResource) -> list[bytes]:
        """The encoded `Span`s of `resource`, made on first use."""
        found = self._spans.get(id(resource))
        if found is None:
            found = self._spans[id(resource)] = []
            self.resources.append(resource)
        return found

    def finish(
        self, extra: Mapping[str, str] | None = None, keeps: Callable[[int], bool] | None = None
    ) -> Encoded:
        """The request, each resource filled in (`extra`: the user's own resource attributes, added
        under each file's own, for the user's endpoint only); `keeps(trace_id)`: the user's sampler.
        A resource left without spans is left out (no spans at all: empty `data`)."""
        groups = []
        for resource in self.resources:
            spans = self._spans[id(resource)]
            if keeps is not None:
                # A span's wire form starts with its trace id: key 0x0a, length 16, the 16 bytes.
                spans = [s for s in spans if keeps(int.from_bytes(s[2:18], "big"))]
            if spans:
                groups.append((_resource(resource, extra), _items(spans)))
        return Encoded("traces", _requests(groups))


def trace_request(
    groups: list[tuple[FileResource, list[bytes]]], extra: Mapping[str, str] | None = None
) -> Encoded:
    """One request of encoded `Span`s, one `ResourceSpans` per resource (for tests)."""
    request = SpanRequest()
    for resource, spans in groups:
        request.spans(resource).extend(spans)
    return request.finish(extra)


def metrics_request(
    groups: list[tuple[FileResource, list[bytes]]], extra: Mapping[str, str] | None = None
) -> Encoded:
    """One request of encoded `Metric`s, one `ResourceMetrics` per group (already aggregated per resource)."""
    return Encoded(
        "metrics",
        _requests([(_resource(resource, extra), _items(metrics)) for resource, metrics in groups]),
    )


def decode_attributes(pairs: Any) -> dict[str, Any]:
    """opentelemetry-proto `KeyValue`s back to plain values (for keys of running totals and for tests)."""
    return {pair.key: _plain(pair.value) for pair in pairs}


def _plain(value: Any) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_plain(v) for v in value.array_value.values]
    return getattr(value, which) if which else None
