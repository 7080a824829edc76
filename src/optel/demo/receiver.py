"""A local OTLP/HTTP receiver: accepts protobuf exports on 127.0.0.1 and keeps what arrived, decoded."""

from __future__ import annotations

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

_REQUESTS: dict[str, tuple[Any, Any]] = {
    "/v1/traces": (
        trace_service_pb2.ExportTraceServiceRequest,
        trace_service_pb2.ExportTraceServiceResponse,
    ),
    "/v1/metrics": (
        metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
    ),
}


def any_value(value: AnyValue) -> object:
    """An OTLP AnyValue as a plain Python value."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, kind)


def attributes(pairs: Any) -> dict[str, object]:
    """OTLP key/value pairs as a dict."""
    return {kv.key: any_value(kv.value) for kv in pairs if isinstance(kv, KeyValue)}


class LocalReceiver:
    """An OTLP/HTTP receiver on a free loopback port, for the demo: `with LocalReceiver() as r: r.endpoint`."""

    def __init__(self) -> None:
        self.traces: list[Any] = []
        self.metrics: list[Any] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                kinds = _REQUESTS.get(self.path)
                if kinds is None:
                    self.send_error(404)
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = kinds[0]()
                try:
                    request.ParseFromString(body)
                except Exception:
                    self.send_error(400, "not an OTLP protobuf body")
                    return
                with receiver._lock:
                    (receiver.traces if self.path == "/v1/traces" else receiver.metrics).append(
                        request
                    )
                payload = kinds[1]().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="optel-demo-receiver", daemon=True
        )

    @property
    def endpoint(self) -> str:
        """The OTLP/HTTP base URL to export to."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> LocalReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def spans(self) -> list[dict[str, Any]]:
        """Every span received, flattened, with its resource attributes."""
        out: list[dict[str, Any]] = []
        with self._lock:
            requests = list(self.traces)
        for request in requests:
            for rs in request.resource_spans:
                resource = attributes(rs.resource.attributes)
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        out.append(
                            {
                                "name": span.name,
                                "span_id": span.span_id.hex(),
                                "parent_span_id": span.parent_span_id.hex() or None,
                                "trace_id": span.trace_id.hex(),
                                "start_ns": span.start_time_unix_nano,
                                "end_ns": span.end_time_unix_nano,
                                "kind": span.kind,
                                "status_code": span.status.code,
                                "attributes": attributes(span.attributes),
                                "events": [(e.name, attributes(e.attributes)) for e in span.events],
                                "resource": resource,
                            }
                        )
        return out

    def metric_points(self) -> list[dict[str, Any]]:
        """Every metric data point received, flattened."""
        out: list[dict[str, Any]] = []
        with self._lock:
            requests = list(self.metrics)
        for request in requests:
            for rm in request.resource_metrics:
                resource = attributes(rm.resource.attributes)
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        kind = metric.WhichOneof("data")
                        data = getattr(metric, kind)
                        for point in data.data_points:
                            row: dict[str, Any] = {
                                "name": metric.name,
                                "unit": metric.unit,
                                "kind": kind,
                                "temporality": getattr(data, "aggregation_temporality", 0),
                                "attributes": attributes(point.attributes),
                                "resource": resource,
                                "start_ns": point.start_time_unix_nano,
                                "time_ns": point.time_unix_nano,
                            }
                            if kind == "histogram":
                                row.update(
                                    count=point.count,
                                    sum=point.sum,
                                    bounds=list(point.explicit_bounds),
                                    buckets=list(point.bucket_counts),
                                )
                            else:
                                row["value"] = (
                                    point.as_int
                                    if point.WhichOneof("value") == "as_int"
                                    else point.as_double
                                )
                            out.append(row)
        return out
