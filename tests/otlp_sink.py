"""A small OTLP/HTTP receiver on 127.0.0.1 for the collector tests: it keeps what it is sent."""

from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, List, Optional

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

_ROUTES: dict[str, tuple[Any, Any, str]] = {
    "/v1/traces": (ExportTraceServiceRequest, ExportTraceServiceResponse, "traces"),
    "/v1/metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse, "metrics"),
}


class OtlpSink:
    """Accepts OTLP/HTTP protobuf exports of traces and metrics and stores the decoded requests.

    Use as a context manager; ``url`` is the base URL an exporter is pointed at.
    """

    def __init__(self) -> None:
        self.traces: List[ExportTraceServiceRequest] = []
        self.metrics: List[ExportMetricsServiceRequest] = []
        self.paths: List[str] = []
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-sink", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> OtlpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait_for(self, condition: Callable[[OtlpSink], bool], timeout: float = 10.0) -> bool:
        """Blocks until condition(self) holds or timeout passes; returns whether it held."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def _store(self, kind: str, path: str, message: Any) -> None:
        with self._changed:
            getattr(self, kind).append(message)
            self.paths.append(path)
            self._changed.notify_all()

    def _handler_class(self) -> type:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                route = _ROUTES.get(self.path)
                if route is None:
                    self._answer(404, b"")
                    return
                request_type, response_type, kind = route
                if "protobuf" not in self.headers.get("Content-Type", ""):
                    self._answer(415, b"")
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding", "").lower() == "gzip":
                    body = gzip.decompress(body)
                message = request_type()
                message.ParseFromString(body)
                sink._store(kind, self.path, message)
                self._answer(200, response_type().SerializeToString())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep pytest output about the test, not about each POST

        return Handler


def resource_attributes(resource: Any) -> dict[str, Optional[str]]:
    """A protobuf Resource's attributes as {key: string value} (non-strings become str())."""
    out: dict[str, Optional[str]] = {}
    for kv in resource.attributes:
        which = kv.value.WhichOneof("value")
        out[kv.key] = None if which is None else str(getattr(kv.value, which))
    return out
