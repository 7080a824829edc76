"""A real OTLP/HTTP receiver on 127.0.0.1 for tests: it decodes what arrives and misbehaves on request.

Use it as a context manager (``with OTLPReceiver() as receiver: ... receiver.url``) or through the
``otlp_receiver`` fixture (``from otlp_receiver import otlp_receiver``; ``tests/`` is on ``sys.path``
because it is the conftest's directory). Every TCP connection is counted, so a test can assert that
nothing at all reached the network; every request is kept with its path, headers, status answered and
decoded protobuf message; ``spans()`` and ``metrics()`` flatten what was accepted (answered 2xx).
"""

from __future__ import annotations

import gzip
import http.server
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from optel.demo.receiver import attributes

_MESSAGES: dict[str, tuple[type[Any], type[Any]]] = {
    "/v1/traces": (ExportTraceServiceRequest, ExportTraceServiceResponse),
    "/v1/metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse),
    "/v1/logs": (ExportLogsServiceRequest, ExportLogsServiceResponse),
}

_SPAN_KINDS = {
    0: "unspecified",
    1: "internal",
    2: "server",
    3: "client",
    4: "producer",
    5: "consumer",
}
_STATUS_CODES = {0: "unset", 1: "ok", 2: "error"}
_TEMPORALITIES = {0: "unspecified", 1: "delta", 2: "cumulative"}


class ReceivedRequest:
    """One HTTP request as the receiver saw it."""

    __slots__ = ("body", "headers", "message", "path", "status")

    def __init__(
        self, path: str, headers: dict[str, str], body: bytes, message: Any, status: int
    ) -> None:
        self.path = path
        self.headers = headers  # lower-cased names
        self.body = body  # decompressed
        self.message = message  # the decoded protobuf request, or None
        self.status = status  # what the receiver answered (0: it hung or reset)

    def __repr__(self) -> str:
        return f"ReceivedRequest({self.path!r}, status={self.status})"


class _Plan:
    __slots__ = ("action", "after", "delay", "headers", "path", "status", "times")

    def __init__(
        self,
        action: str,
        status: int,
        headers: dict[str, str],
        times: int | None,
        path: str | None,
        after: int = 0,
        delay: float = 0.0,
    ) -> None:
        self.action = action
        self.after = after
        self.delay = delay
        self.status = status
        self.headers = headers
        self.times = times
        self.path = path


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    receiver: OTLPReceiver

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        with self.receiver._lock:
            self.receiver.connections += 1
        return conn, addr


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        receiver = self.server.receiver
        path = self.path.split("?", 1)[0]
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(headers.get("content-length", "0") or 0)
        plan = receiver._next_plan(path)

        if plan is not None and plan.action == "reset":
            # Read part of the body, then abort with a RST so the client sees a reset mid-body.
            self.rfile.read(max(1, length // 2)) if length else None
            receiver._record(ReceivedRequest(path, headers, b"", None, 0))
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return

        raw = self.rfile.read(length) if length else b""
        if plan is not None and plan.action == "delay":
            time.sleep(plan.delay)
            plan = None  # then answered as usual
        if plan is not None and plan.action == "hang":
            receiver._record(ReceivedRequest(path, headers, raw, None, 0))
            receiver._release.wait()
            self.close_connection = True
            return

        encoding = headers.get("content-encoding", "").strip().lower()
        try:
            if encoding == "gzip":
                body = gzip.decompress(raw)
            elif encoding == "deflate":
                body = zlib.decompress(raw)
            else:
                body = raw
        except (OSError, zlib.error):
            self._answer(400, b"bad compression", {})
            receiver._record(ReceivedRequest(path, headers, raw, None, 400))
            return

        types = _MESSAGES.get(path)
        if types is None:
            self._answer(404, b"", {})
            receiver._record(ReceivedRequest(path, headers, body, None, 404))
            return
        request_type, response_type = types
        message = request_type()
        is_json = headers.get("content-type", "").split(";")[0].strip() == "application/json"
        try:
            if is_json:
                _parse_otlp_json(body, message)
            else:
                message.ParseFromString(body)
        except Exception:
            self._answer(400, b"undecodable " + (b"OTLP/JSON" if is_json else b"protobuf"), {})
            receiver._record(ReceivedRequest(path, headers, body, None, 400))
            return

        if plan is not None and plan.action == "slow":
            time.sleep(plan.status / 1000)  # the delay, in ms, then a normal answer
            plan = None
        if plan is not None:
            status, extra = plan.status, plan.headers
            payload = b""
        else:
            status, extra = 200, {}
            payload = b"{}" if is_json else response_type().SerializeToString()
        # Recorded before answering, so a client that saw the answer always finds the request here.
        receiver._record(ReceivedRequest(path, headers, body, message, status))
        self._answer(status, payload, extra)

    def _answer(self, status: int, payload: bytes, extra: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def _parse_otlp_json(body: bytes, message: Any) -> None:
    """OTLP/JSON into `message`: protobuf's JSON mapping, but trace and span ids are hex (the OTLP
    specification), which protobuf would read as base64: turned into base64 first, strictly."""
    import base64
    import json

    from google.protobuf.json_format import ParseDict

    def ids(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: base64.b64encode(bytes.fromhex(v)).decode()
                if k in ("traceId", "spanId", "parentSpanId")
                else ids(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [ids(v) for v in value]
        return value

    ParseDict(ids(json.loads(body)), message)


class OTLPReceiver:
    """An OTLP/HTTP receiver listening on 127.0.0.1 in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls: Any = None) -> None:
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._plans: list[_Plan] = []
        self.requests: list[ReceivedRequest] = []
        self.connections = 0
        self._server = _Server((host, port), _Handler)
        self._server.receiver = self
        self._scheme = "http"
        if tls is not None:  # an ssl.SSLContext: HTTPS, the handshake made on accept
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
            self._scheme = "https"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    # lifecycle -----------------------------------------------------------------------------------
    def start(self) -> OTLPReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it."""
        return f"{self._scheme}://127.0.0.1:{self.port}"

    # behaviour -----------------------------------------------------------------------------------
    def respond_with(
        self,
        status: int,
        headers: dict[str, str] | None = None,
        *,
        times: int | None = None,
        path: str | None = None,
        after: int = 0,
    ) -> None:
        """Answer `status` (with `headers`, such as Retry-After) to `times` requests (None: all) to
        `path` (None: any), once `after` of them were answered normally."""
        self._add(_Plan("status", status, dict(headers or {}), times, path, after))

    def slow(self, seconds: float, *, times: int | None = None, path: str | None = None) -> None:
        """Answer the next requests normally, but only after `seconds`."""
        self._add(_Plan("slow", int(seconds * 1000), {}, times, path))

    def hang(self, *, times: int | None = None, path: str | None = None, after: int = 0) -> None:
        """Read the next requests' bodies and never answer (until the receiver stops)."""
        self._add(_Plan("hang", 0, {}, times, path, after))

    def delay(self, seconds: float, *, times: int | None = None, path: str | None = None) -> None:
        """Answer the next requests normally, but only after `seconds` (a slow, healthy collector)."""
        self._add(_Plan("delay", 0, {}, times, path, 0, seconds))

    def reset(self, *, times: int | None = None, path: str | None = None, after: int = 0) -> None:
        """Read half of the next requests' bodies, then reset the connection."""
        self._add(_Plan("reset", 0, {}, times, path, after))

    def behave(self) -> None:
        """Forget every planned misbehaviour: answer 200 from now on."""
        with self._lock:
            self._plans.clear()

    def _add(self, plan: _Plan) -> None:
        with self._lock:
            self._plans.append(plan)

    def _next_plan(self, path: str) -> _Plan | None:
        with self._lock:
            for plan in self._plans:
                if plan.path is not None and plan.path != path:
                    continue
                if plan.after > 0:
                    plan.after -= 1
                    return None
                if plan.times is not None:
                    plan.times -= 1
                    if plan.times <= 0:
                        self._plans.remove(plan)
                return plan
        return None

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    # what arrived --------------------------------------------------------------------------------
    def accepted(self, path: str | None = None) -> list[ReceivedRequest]:
        """The requests answered with a 2xx, optionally only those to `path`."""
        with self._lock:
            done = list(self.requests)
        return [r for r in done if 200 <= r.status < 300 and (path is None or r.path == path)]

    def spans(self) -> list[dict[str, Any]]:
        """Every accepted span, flat, with its resource and scope."""
        out: list[dict[str, Any]] = []
        for request in self.accepted("/v1/traces"):
            for resource_spans in request.message.resource_spans:
                resource = attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        out.append(
                            {
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_span_id": span.parent_span_id.hex() or None,
                                "name": span.name,
                                "kind": _SPAN_KINDS.get(span.kind, str(span.kind)),
                                "start_ns": span.start_time_unix_nano,
                                "end_ns": span.end_time_unix_nano,
                                "attributes": attributes(span.attributes),
                                "status": _STATUS_CODES.get(
                                    span.status.code, str(span.status.code)
                                ),
                                "status_message": span.status.message,
                                "events": [
                                    {
                                        "name": e.name,
                                        "time_ns": e.time_unix_nano,
                                        "attributes": attributes(e.attributes),
                                    }
                                    for e in span.events
                                ],
                                "flags": span.flags,
                                "resource": resource,
                                "scope": scope_spans.scope.name,
                                "scope_version": scope_spans.scope.version,
                            }
                        )
        return out

    def metrics(self) -> list[dict[str, Any]]:
        """Every accepted metric data point, flat, with its metric's name, unit, type and resource."""
        out: list[dict[str, Any]] = []
        for request in self.accepted("/v1/metrics"):
            for resource_metrics in request.message.resource_metrics:
                resource = attributes(resource_metrics.resource.attributes)
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        which = metric.WhichOneof("data")
                        data = getattr(metric, which)
                        common = {
                            "name": metric.name,
                            "unit": metric.unit,
                            "description": metric.description,
                            "type": which,
                            "temporality": _TEMPORALITIES.get(
                                getattr(data, "aggregation_temporality", 0), "unspecified"
                            ),
                            "is_monotonic": getattr(data, "is_monotonic", None),
                            "resource": resource,
                            "scope": scope_metrics.scope.name,
                        }
                        for point in data.data_points:
                            row = dict(common)
                            row["attributes"] = attributes(point.attributes)
                            row["start_ns"] = point.start_time_unix_nano
                            row["time_ns"] = point.time_unix_nano
                            if which in ("sum", "gauge"):
                                row["value"] = getattr(point, point.WhichOneof("value"))
                            elif which == "histogram":
                                row["count"] = point.count
                                row["sum"] = point.sum
                                row["min"] = point.min if point.HasField("min") else None
                                row["max"] = point.max if point.HasField("max") else None
                                row["bucket_counts"] = list(point.bucket_counts)
                                row["explicit_bounds"] = list(point.explicit_bounds)
                            out.append(row)
        return out

    def wait_for(self, condition: Callable[[OTLPReceiver], bool], timeout: float = 10.0) -> bool:
        """Poll `condition(self)` until it holds or `timeout` seconds pass; returns whether it held."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(self):
                return True
            time.sleep(0.02)
        return condition(self)


@pytest.fixture
def otlp_receiver() -> Iterator[OTLPReceiver]:
    """A running receiver, stopped after the test."""
    with OTLPReceiver() as receiver:
        yield receiver
