"""Rows for the ClickHouse exporter's tables, converted from OTLP export requests the way the
exporter converts them (exporter/clickhouseexporter: attribute values as `AsString()`, ids in
hex, SpanKind/StatusCode as `traceutil.SpanKindStr`/`StatusCodeStr`, Duration in nanoseconds).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

_KINDS = {0: "SPAN_KIND_UNSPECIFIED", 1: "SPAN_KIND_INTERNAL", 2: "SPAN_KIND_SERVER", 3: "SPAN_KIND_CLIENT",
          4: "SPAN_KIND_PRODUCER", 5: "SPAN_KIND_CONSUMER"}  # fmt: skip
_STATUS = {0: "STATUS_CODE_UNSET", 1: "STATUS_CODE_OK", 2: "STATUS_CODE_ERROR"}


def as_string(value: Any) -> Any:
    """pcommon.Value.AsString(): strings as they are, numbers and booleans as text, arrays as JSON."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "int_value":
        return str(value.int_value)
    if kind == "double_value":
        return repr(value.double_value)
    if kind == "array_value":
        return json.dumps([_raw(v) for v in value.array_value.values], separators=(",", ":"))
    return ""


def _raw(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind and kind != "array_value" else None


def attributes(values: Any) -> dict[str, str]:
    return {kv.key: as_string(kv.value) for kv in values}


def timestamp(ns: int) -> str:
    seconds, rest = divmod(ns, 10**9)
    return (
        datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        + f".{rest:09d}"
    )


def trace_rows(request: Any) -> list[dict[str, Any]]:
    rows = []
    for block in request.resource_spans:
        resource = attributes(block.resource.attributes)
        for scope in block.scope_spans:
            for span in scope.spans:
                rows.append({
                    "Timestamp": timestamp(span.start_time_unix_nano), "TraceId": span.trace_id.hex(),
                    "SpanId": span.span_id.hex(), "ParentSpanId": span.parent_span_id.hex(),
                    "TraceState": span.trace_state, "SpanName": span.name, "SpanKind": _KINDS[span.kind],
                    "ServiceName": resource.get("service.name", ""), "ResourceAttributes": resource,
                    "ScopeName": scope.scope.name, "ScopeVersion": scope.scope.version,
                    "SpanAttributes": attributes(span.attributes),
                    "Duration": span.end_time_unix_nano - span.start_time_unix_nano,
                    "StatusCode": _STATUS[span.status.code], "StatusMessage": span.status.message,
                })  # fmt: skip
    return rows


def metric_rows(request: Any) -> dict[str, list[dict[str, Any]]]:
    """{"otel_metrics_sum": [...], "otel_metrics_histogram": [...]} for one metrics request."""
    out: dict[str, list[dict[str, Any]]] = {"otel_metrics_sum": [], "otel_metrics_histogram": []}
    for block in request.resource_metrics:
        resource = attributes(block.resource.attributes)
        for scope in block.scope_metrics:
            for metric in scope.metrics:
                base = {
                    "ResourceAttributes": resource, "ScopeName": scope.scope.name,
                    "ServiceName": resource.get("service.name", ""), "MetricName": metric.name,
                    "MetricDescription": metric.description, "MetricUnit": metric.unit,
                }  # fmt: skip
                kind = metric.WhichOneof("data")
                if kind not in ("sum", "histogram"):
                    # A gauge (process.uptime) goes to otel_metrics_gauge, which no query reads.
                    continue
                data = getattr(metric, kind)
                for point in data.data_points:
                    row = dict(base, Attributes=attributes(point.attributes),
                               StartTimeUnix=timestamp(point.start_time_unix_nano),
                               TimeUnix=timestamp(point.time_unix_nano),
                               AggregationTemporality=data.aggregation_temporality)  # fmt: skip
                    if kind == "sum":
                        number = point.WhichOneof("value")
                        row.update(
                            Value=float(getattr(point, number)), IsMonotonic=data.is_monotonic
                        )
                        out["otel_metrics_sum"].append(row)
                    elif kind == "histogram":
                        row.update(Count=point.count, Sum=point.sum, BucketCounts=list(point.bucket_counts),
                                   ExplicitBounds=list(point.explicit_bounds), Min=point.min, Max=point.max)  # fmt: skip
                        out["otel_metrics_histogram"].append(row)
    return out
