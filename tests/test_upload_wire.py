"""The hand-written protobuf encoder (upload/wire.py) writes exactly what opentelemetry-proto's
`SerializeToString` writes for the same messages: spans (against the SDK's own encoder), metrics of
every kind, whole requests, and every attribute value optel produces."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
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
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as PbResource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span
from opentelemetry.sdk.resources import Resource

import optel
from optel.upload import metrics
from optel.upload.attributes import FileResource, clean_attributes
from optel.upload.convert import span_from_record
from optel.upload.otlp import SpanRequest, metrics_request
from optel.upload.wire import varint
from test_upload_speed import naive_span

INT64 = (-(2**63), 2**63 - 1)
EDGES = [0, 1, -1, 127, 128, -128, 2**31, -(2**31), 2**32, INT64[0], INT64[1], INT64[1] + 1]
FLOATS = [0.0, -0.0, math.inf, -math.inf, math.nan, 1e-310, 5e-324, 1.5]
ints = st.integers(INT64[0], INT64[1]) | st.sampled_from(EDGES)
floats = st.floats() | st.sampled_from(FLOATS)
texts = st.text(max_size=6) | st.sampled_from(["", "é", "日本", "\U0001f600", "\x00"])
scalars = texts | st.booleans() | ints | floats
values = (
    scalars
    | st.none()
    | st.lists(texts, max_size=3) | st.lists(ints, max_size=3) | st.lists(floats, max_size=3)
    | st.lists(st.booleans(), max_size=3)
    | st.lists(scalars, max_size=3)  # mixed: cleaned to the first item's type
    | st.dictionaries(st.text(max_size=2), ints, max_size=2)  # dropped by cleaning
)  # fmt: skip
attribute_sets = st.dictionaries(texts, values, max_size=5).map(clean_attributes)


def pb_value(value: Any) -> AnyValue:
    """An AnyValue built with opentelemetry-proto (what the uploader built before upload/wire.py)."""
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(array_value=ArrayValue(values=[pb_value(v) for v in value]))


def pb_attributes(attributes: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=pb_value(v)) for k, v in attributes.items()]


SCOPE = InstrumentationScope(name="optel", version=optel.__version__)


def test_varints_are_protobufs_own() -> None:
    from google.protobuf.internal.encoder import _VarintBytes

    for n in [0, 1, 127, 128, 300, 2**32, 2**63 - 1, 2**63, 2**64 - 1]:
        assert varint(n) == _VarintBytes(n)
    for n in [-1, -128, INT64[0]]:  # an int64 as protobuf writes it: ten bytes
        assert b"\x18" + varint(n) == AnyValue(int_value=n).SerializeToString()


def record(attributes: dict[str, Any], event: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    span = {
        "t": "span", "trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331",
        "parent_span_id": "00f067aa0ba902b7", "name": "deploy ü", "kind": "server",
        "start_ns": 10, "end_ns": 2**64 - 1, "attributes": attributes, "status": "error",
        "status_message": "ValueError: <path>",
        "events": [{"name": "exception", "time_ns": 15, "attributes": event}],
    }  # fmt: skip
    return {**span, **overrides}


@settings(max_examples=300, deadline=None)
@given(attribute_sets, attribute_sets, attribute_sets)
def test_spans_of_any_attributes_encode_as_the_sdks_encoder_writes_them(
    attributes: dict[str, Any], event: dict[str, Any], resource: dict[str, Any]
) -> None:
    records = [
        record(attributes, event),
        record({}, {}, parent_span_id=None, kind="client", status="ok", events=[], name=""),
        record(attributes, event, status="unset", kind="internal", start_ns=0, end_ns=0),
        record({}, event, status="error", status_message=""),
    ]
    request = SpanRequest()
    file_resource = FileResource({**resource, "service.name": "tool"})
    for r in records:
        span_from_record(r, request.spans(file_resource))
    sdk_resource = Resource({**resource, "service.name": "tool"})
    expected = encode_spans([naive_span(r, sdk_resource) for r in records])
    assert request.finish().data == expected.SerializeToString()


def test_a_user_s_sampler_and_resource_attributes_shape_the_request_as_protobuf_would() -> None:
    keep, drop = "0af7651916cd43dd8448eb211c80319c", "ff" * 16
    request = SpanRequest()
    one, two = FileResource({"service.name": "a"}), FileResource({"service.name": "b", "n": 1})
    span_from_record(record({"x": 1}, {}, trace_id=keep), request.spans(one))
    span_from_record(record({}, {}, trace_id=drop), request.spans(one))
    span_from_record(record({}, {}, trace_id=drop), request.spans(two))
    encoded = request.finish({"deployment": "prod"}, lambda trace_id: trace_id == int(keep, 16))
    expected = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=PbResource(attributes=pb_attributes({"deployment": "prod", "service.name": "a"})),
                scope_spans=[ScopeSpans(scope=SCOPE, spans=[Span.FromString(span_from_record(record({"x": 1}, {}, trace_id=keep)))])],
            )
        ]
    )  # fmt: skip
    assert encoded.data == expected.SerializeToString()
    assert encoded.message() == expected
    assert request.finish(None, lambda trace_id: False).data == b""


def pb_number(s: Any, start: int | None, value: float) -> pb.NumberDataPoint:
    point = pb.NumberDataPoint(attributes=pb_attributes(s.attributes), time_unix_nano=s.end)
    if start is not None:
        point.start_time_unix_nano = start
    if isinstance(value, int):
        point.as_int = value
    else:
        point.as_double = value
    return point


def pb_metric(name: str, series: list[Any], spec: metrics.InstrumentSpec) -> pb.Metric:
    """The metric built with opentelemetry-proto from the same series (the encoder before upload/wire.py)."""
    metric = pb.Metric(name=name, description=spec.description, unit=spec.unit)
    delta = pb.AGGREGATION_TEMPORALITY_DELTA
    if spec.kind in ("counter", "updowncounter"):
        points = [pb_number(s, s.start, metrics._total(s.values)) for s in series]
        metric.sum.CopyFrom(pb.Sum(data_points=points, aggregation_temporality=delta, is_monotonic=spec.kind == "counter"))  # fmt: skip
    elif spec.kind == "gauge":
        metric.gauge.CopyFrom(pb.Gauge(data_points=[pb_number(s, None, s.values[-1]) for s in series]))  # fmt: skip
    else:
        points = []
        for s in series:
            counts = [sum(1 for v in s.values if (i == 0 or v > spec.boundaries[i - 1]) and (i == len(spec.boundaries) or v <= spec.boundaries[i])) for i in range(len(spec.boundaries) + 1)]  # fmt: skip
            points.append(
                pb.HistogramDataPoint(
                    attributes=pb_attributes(s.attributes), start_time_unix_nano=s.start,
                    time_unix_nano=s.end, count=len(s.values), sum=metrics._total(s.values),
                    bucket_counts=counts, explicit_bounds=spec.boundaries, min=min(s.values), max=max(s.values),
                )
            )  # fmt: skip
        metric.histogram.CopyFrom(pb.Histogram(data_points=points, aggregation_temporality=delta))
    return metric


measurements = st.lists(
    st.tuples(
        st.integers(*INT64)
        | st.sampled_from(EDGES[:-1])  # a measurement beyond int64 is skipped
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.sampled_from([0.0, -0.0]),
        st.integers(0, 2**64 - 1) | st.just(0),
        st.dictionaries(
            st.sampled_from(["a", "b", "é"]),
            st.sampled_from(["x", "", 1, True, 0.5, -0.0]),
            max_size=2,
        ),
    ),
    min_size=1,
    max_size=6,
)
specs = st.builds(
    metrics.InstrumentSpec,
    st.sampled_from(["counter", "updowncounter", "gauge", "histogram"]),
    texts,
    texts,
    st.none() | st.lists(st.floats(-100, 100), max_size=4).map(sorted),
)


@settings(max_examples=300, deadline=None)
@given(measurements, specs, texts.filter(bool), attribute_sets)
def test_metrics_of_every_kind_encode_as_protobuf_serializes_them(
    points: list[tuple[float, int, dict[str, Any]]],
    spec: metrics.InstrumentSpec,
    name: str,
    resource: dict[str, Any],
) -> None:
    records = [{"name": name, "value": v, "time_ns": t, "attributes": a} for v, t, a in points]
    [series] = metrics._series(records, None).values()
    totals = [metrics._total(s.values) for s in series.values()]
    if spec.kind in ("counter", "updowncounter") and any(isinstance(t, int) and not INT64[0] <= t <= INT64[1] for t in totals):  # fmt: skip
        return  # a sum beyond int64 is not something a counter point can carry
    encoded = metrics.metric(name, list(series.values()), spec)
    expected = pb_metric(name, list(series.values()), spec)
    assert encoded == expected.SerializeToString()
    own = metrics.counter_metric(
        "optel.spool.dropped", [({"reason": "full"}, 3)], 5, 9, "{record}", "d"
    )
    request = metrics_request([(FileResource(resource), [encoded, own])], {"extra": "1"})
    whole = ExportMetricsServiceRequest()
    group = whole.resource_metrics.add()
    group.resource.attributes.extend(pb_attributes({"extra": "1", **resource}))
    scope = group.scope_metrics.add(scope=SCOPE)
    counter = pb.Metric(name="optel.spool.dropped", unit="{record}", description="d")
    counter.sum.CopyFrom(pb.Sum(data_points=[pb.NumberDataPoint(attributes=pb_attributes({"reason": "full"}), start_time_unix_nano=5, time_unix_nano=9, as_int=3)], aggregation_temporality=pb.AGGREGATION_TEMPORALITY_DELTA, is_monotonic=True))  # fmt: skip
    scope.metrics.extend([expected, counter])
    assert request.data == whole.SerializeToString()


def test_a_counter_whose_total_passes_floats_range_is_encoded_as_infinity():
    """fsum raises OverflowError on totals past float's range (found by Hypothesis on 3.9):
    the total is inf, as plain addition gives it, and the file's metrics are still encoded."""
    big = [0, 0, 8.98846567431158e307, 8.988465674311579e307]
    assert metrics._total(big) == math.inf
    assert metrics._total([1.5, 2.5]) == 4.0 and metrics._total([1, 2]) == 3
    records = [{"name": "n", "value": v, "time_ns": 1, "attributes": {}} for v in big]
    [series] = metrics._series(records, None).values()
    spec = metrics.InstrumentSpec("counter", "", "", None)
    encoded = metrics.metric("n", list(series.values()), spec)
    [point] = pb.Metric.FromString(encoded).sum.data_points
    assert point.as_double == math.inf
