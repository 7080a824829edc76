"""How the uploader reads an export's outcome and the standard OTEL_EXPORTER_OTLP_* variables."""

from __future__ import annotations

import http.server
import threading
import time
from email.utils import formatdate

import pytest
from opentelemetry.sdk.resources import Resource

from optel.upload.convert import span_from_record
from optel.upload.export import (
    INVALID,
    REJECTED,
    RETRY,
    SENT,
    Exporters,
    classify,
    endpoint,
    headers,
    parse_retry_after,
    protocol,
    timeout_seconds,
)
from otlp_receiver import OTLPReceiver


@pytest.mark.parametrize(
    ("status", "kind"),
    [(408, RETRY), (429, RETRY), (500, RETRY), (502, RETRY), (503, RETRY), (504, RETRY), (307, RETRY),
     (400, REJECTED), (401, RETRY), (403, RETRY), (404, RETRY), (413, REJECTED)],
)  # fmt: skip
def test_status_codes_keep_or_drop_the_file(status: int, kind: str) -> None:
    assert classify(status, None, None).kind == kind


def test_connection_errors_keep_the_file_and_nothing_sent_means_invalid() -> None:
    assert classify(None, ConnectionError("refused"), None).kind == RETRY
    assert classify(None, None, None).kind == INVALID


def test_retry_after_is_kept_only_where_it_means_something() -> None:
    assert classify(429, None, 30.0).retry_after == 30.0
    assert classify(503, None, 30.0).retry_after == 30.0
    assert classify(500, None, 30.0).retry_after is None


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0
    later = parse_retry_after(formatdate(time.time() + 600, usegmt=True))
    assert later is not None and 590 <= later <= 601
    assert parse_retry_after(formatdate(time.time() - 600, usegmt=True)) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("nan") is None


def test_endpoint_variables_win_in_the_standard_order() -> None:
    app = "https://telemetry.example.com/"
    assert endpoint({}, "traces", app, "http/protobuf") == "https://telemetry.example.com/v1/traces"
    assert endpoint({}, "metrics", None, "http/protobuf") == "http://localhost:4318/v1/metrics"
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://gw:4318"}
    assert endpoint(env, "metrics", app, "http/protobuf") == "http://gw:4318/v1/metrics"
    env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://traces:9/custom"
    assert endpoint(env, "traces", app, "http/protobuf") == "http://traces:9/custom"
    assert endpoint(env, "metrics", app, "http/protobuf") == "http://gw:4318/v1/metrics"


def test_headers_merge_app_and_environment_with_the_environment_winning() -> None:
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20env,x-a=1"}
    assert headers(env, "traces", {"Authorization": "Bearer app", "x-b": "2"}) == {
        "authorization": "Bearer env", "x-a": "1", "x-b": "2",
    }  # fmt: skip
    env["OTEL_EXPORTER_OTLP_METRICS_HEADERS"] = "x-m=3"
    assert headers(env, "metrics", None) == {"x-m": "3"}


def test_protocol_and_timeout_variables() -> None:
    assert protocol({}, "traces") == "http/protobuf"
    assert protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "traces") == "grpc"
    assert protocol({"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"}, "traces") == "http/protobuf"
    assert protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "traces") == "http/protobuf"
    assert timeout_seconds({}, "traces") == 5.0
    assert timeout_seconds({"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "1.5"}, "traces") == 1.5
    assert timeout_seconds({"OTEL_EXPORTER_OTLP_TIMEOUT": "bogus"}, "traces") == 5.0


class _Proxy(http.server.BaseHTTPRequestHandler):
    """An HTTP proxy that accepts every OTLP request itself and remembers the URLs it was asked for."""

    protocol_version = "HTTP/1.1"
    seen: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        type(self).seen.append(self.path)
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_proxy_variables_are_honoured_on_every_request_of_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Proxy.seen = []
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    span = span_from_record(
        {"trace_id": "1" * 32, "span_id": "2" * 16, "name": "x", "start_ns": 1, "end_ns": 2}, Resource({})
    )
    exporters = Exporters({})
    try:
        with OTLPReceiver() as receiver:
            for _ in range(2):
                # The proxy answers for the collector: its name is never resolved here.
                outcome = exporters.export_spans([span], {"endpoint": "http://collector.invalid:4318"}, 5.0)
                assert outcome.kind == SENT
                # NO_PROXY is read too: this one goes straight to the receiver.
                assert exporters.export_spans([span], {"endpoint": receiver.url}, 5.0).kind == SENT
            assert len(receiver.spans()) == 2
    finally:
        exporters.close()
        server.shutdown()
        server.server_close()
    assert _Proxy.seen == ["http://collector.invalid:4318/v1/traces"] * 2
