"""How the uploader reads an export's outcome and the standard OTEL_EXPORTER_OTLP_* variables."""

from __future__ import annotations

import http.server
import threading
import time
from email.utils import formatdate

import pytest

from optel._endpoints import APP, USER, protocol, recorded, resolve
from optel.upload.attributes import FileResource
from optel.upload.convert import span_from_record
from optel.upload.export import (
    INVALID,
    REJECTED,
    RETRY,
    SENT,
    Exporters,
    classify,
)
from optel.upload.http import parse_retry_after
from optel.upload.otlp import SpanRequest
from otlp_receiver import OTLPReceiver


def one_span() -> SpanRequest:
    request = SpanRequest()
    record = {"trace_id": "1" * 32, "span_id": "2" * 16, "name": "x", "start_ns": 1, "end_ns": 2}
    span_from_record(record, request.spans(FileResource({})))
    request.count += 1
    return request


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
    app = {"endpoint": "https://telemetry.example.com/"}
    assert resolve("traces", app, {}).url == "https://telemetry.example.com/v1/traces"
    assert resolve("metrics", {"endpoint": None}, {}).url == "http://localhost:4318/v1/metrics"
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://gw:4318"}
    assert resolve("metrics", app, env).url == "http://gw:4318/v1/metrics"
    env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://traces:9/custom"
    assert resolve("traces", app, env).url == "http://traces:9/custom"
    assert resolve("metrics", app, env).url == "http://gw:4318/v1/metrics"


def test_the_users_headers_go_only_where_the_users_endpoint_is_in_force() -> None:
    app = {
        "endpoint": "https://telemetry.example.com",
        "headers": {"Authorization": "Bearer app", "x-b": "2"},
    }
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20env,x-a=1"}
    # No endpoint variable: the app's endpoint with the app's headers, none of the environment's.
    assert (resolve("traces", app, env).owner, resolve("traces", app, env).headers) == (
        APP, {"authorization": "Bearer app", "x-b": "2"},
    )  # fmt: skip
    env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://mine:4318/v1/traces"
    traces, metrics = resolve("traces", app, env), resolve("metrics", app, env)
    # The user's endpoint gets the user's headers and none of the app's; the other signal stays the app's.
    assert (traces.owner, traces.headers) == (USER, {"authorization": "Bearer env", "x-a": "1"})
    assert (metrics.owner, metrics.headers) == (APP, {"authorization": "Bearer app", "x-b": "2"})
    env["OTEL_EXPORTER_OTLP_TRACES_HEADERS"] = "x-t=3"
    assert resolve("traces", app, env).headers == {"x-t": "3"}


def test_a_recorded_endpoint_is_used_without_any_setting_of_the_uploaders_environment() -> None:
    export = {"endpoint": "https://telemetry.example.com", "headers": {"authorization": "Bearer app"},
              "user_endpoints": recorded({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://mine:1/m"})}  # fmt: skip
    env = {"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20env", "OTEL_EXPORTER_OTLP_TIMEOUT": "9",
           "OTEL_RESOURCE_ATTRIBUTES": "team=x"}  # fmt: skip
    metrics = resolve("metrics", export, env)
    assert (metrics.owner, metrics.url, metrics.headers, metrics.timeout, metrics.resource) == (
        USER, "http://mine:1/m", {}, 5.0, {},
    )  # fmt: skip
    assert resolve("traces", export, env).headers == {"authorization": "Bearer app"}


def test_protocol_and_timeout_variables() -> None:
    assert protocol({}, "traces") == "http/protobuf"
    assert protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "traces") == "grpc"
    assert protocol({"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"}, "traces") == "http/protobuf"
    # http/json is the specification's, and sent as OTLP/JSON (upload/otlp_json.py);
    # a value the specification does not know falls back to the default, with a note.
    assert protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "traces") == "http/json"
    assert protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"}, "traces") == "http/protobuf"
    mine = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://mine:4318"}
    assert resolve("traces", None, {**mine, "OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"}).notes
    assert resolve("traces", None, mine).timeout == 5.0
    # Milliseconds, as the specification says; the per-signal variable first.
    assert (
        resolve("traces", None, {**mine, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "1500"}).timeout
        == 1.5
    )
    assert resolve("metrics", None, {**mine, "OTEL_EXPORTER_OTLP_TIMEOUT": "12000"}).timeout == 12.0
    assert resolve("traces", None, {**mine, "OTEL_EXPORTER_OTLP_TIMEOUT": "bogus"}).timeout == 5.0
    assert resolve("traces", None, {**mine, "OTEL_EXPORTER_OTLP_TIMEOUT": "0"}).timeout == 5.0
    # A protocol or timeout of the user's is not applied to the app's endpoint.
    app = resolve("traces", {"endpoint": "https://t.example.com"}, {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                                                                   "OTEL_EXPORTER_OTLP_TIMEOUT": "60"})  # fmt: skip
    assert (app.protocol, app.timeout) == ("http/protobuf", 5.0)


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


def test_proxy_variables_are_honoured_on_every_request_of_a_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Proxy.seen = []
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    span = one_span()
    exporters = Exporters({})
    try:
        with OTLPReceiver() as receiver:
            for _ in range(2):
                # The proxy answers for the collector: its name is never resolved here.
                outcome = exporters.export_spans(
                    span, {"endpoint": "http://collector.invalid:4318"}, 5.0
                )
                assert outcome.kind == SENT
                # NO_PROXY is read too: this one goes straight to the receiver.
                assert exporters.export_spans(span, {"endpoint": receiver.url}, 5.0).kind == SENT
            assert len(receiver.spans()) == 2
    finally:
        exporters.close()
        server.shutdown()
        server.server_close()
    assert _Proxy.seen == ["http://collector.invalid:4318/v1/traces"] * 2


def test_status_says_where_each_signal_goes_from_the_same_resolution() -> None:
    from optel._endpoints import describe

    assert describe({}, None) == "set by the app"
    assert describe({}, "https://t.example.com") == "https://t.example.com (set by the app)"
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    assert (
        describe(env, "https://t.example.com")
        == "http://127.0.0.1:4318 (from OTEL_EXPORTER_OTLP_ENDPOINT)"
    )
    env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}
    assert describe(env, "https://t.example.com") == (
        "traces: http://127.0.0.1:4318/v1/traces (from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); "
        "metrics: https://t.example.com (set by the app)"
    )


def test_the_recorded_endpoint_keeps_no_credential() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://me:s3cret@backend.example:4318/otlp"}
    assert recorded(env) == {
        signal: {
            "endpoint": f"https://backend.example:4318/otlp/v1/{signal}",
            "protocol": "http/protobuf",
        }
        for signal in ("traces", "metrics")
    }
    grpc = {
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "k@collector:4317",
    }
    assert recorded(grpc) == {"traces": {"endpoint": "collector:4317", "protocol": "grpc"}}
    assert recorded({"OTEL_EXPORTER_OTLP_HEADERS": "a=b"}) is None


def test_what_the_sdk_reads_from_os_environ_never_reaches_the_wire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The SDK's HTTP exporter merges OTEL_EXPORTER_OTLP_HEADERS from os.environ into its requests
    # even when given headers; the uploader's own mapping of the environment is what decides.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=from-os-environ")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-traces-key=from-os-environ")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    span = one_span()
    exporters = Exporters({})
    try:
        with OTLPReceiver() as receiver:
            export = {"endpoint": receiver.url, "headers": {"authorization": "Bearer app"}}
            assert exporters.export_spans(span, export, 5.0).kind == SENT
            [request] = receiver.requests
    finally:
        exporters.close()
    assert "x-api-key" not in request.headers and "x-traces-key" not in request.headers
    assert "content-encoding" not in request.headers
    assert request.headers["authorization"] == "Bearer app"


def test_the_users_exporter_sampler_and_temporality_settings_and_what_cannot_be_applied() -> None:
    mine = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://mine:4318"}

    def traces(**env: str) -> object:
        return resolve("traces", None, {**mine, **env})

    def metrics(**env: str) -> object:
        return resolve("metrics", None, {**mine, **env})

    assert [traces(OTEL_TRACES_EXPORTER=v).exporting for v in ("none", " NONE ", "none,none", "otlp", "")] == [
        False, False, False, True, True,
    ]  # fmt: skip
    assert traces(OTEL_TRACES_EXPORTER="console").notes  # OTLP anyway, said once a run
    assert metrics(OTEL_TRACES_EXPORTER="none").exporting  # per signal
    ratios = {name: traces(OTEL_TRACES_SAMPLER=name, OTEL_TRACES_SAMPLER_ARG="0.25").ratio
              for name in ("always_on", "always_off", "traceidratio", "parentbased_always_off",
                           "parentbased_traceidratio", "xray")}  # fmt: skip
    assert ratios == {"always_on": 1.0, "always_off": 0.0, "traceidratio": 0.25, "parentbased_always_off": 0.0,
                      "parentbased_traceidratio": 0.25, "xray": 1.0}  # fmt: skip
    assert traces(OTEL_TRACES_SAMPLER="xray").notes
    bad = traces(OTEL_TRACES_SAMPLER="traceidratio", OTEL_TRACES_SAMPLER_ARG="2")
    assert (bad.ratio, bool(bad.notes)) == (1.0, True)
    prefer = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
    assert [metrics(**{prefer: v}).temporality for v in ("", "Cumulative", "LOWMEMORY", "bogus")] == [
        "delta", "cumulative", "lowmemory", "delta",
    ]  # fmt: skip
    assert metrics(**{prefer: "bogus"}).notes
    # gRPC without a scheme: INSECURE by OpenTelemetry's boolean rule (only "true").
    grpc = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"}
    assert [resolve("traces", None, {**grpc, "OTEL_EXPORTER_OTLP_INSECURE": v}).insecure
            for v in ("true", "TRUE", "1", "yes", "")] == [True, True, False, False, False]  # fmt: skip
    # None of it reaches the app's endpoint.
    app = resolve("traces", {"endpoint": "https://t.example.com"},
                  {"OTEL_TRACES_EXPORTER": "none", "OTEL_TRACES_SAMPLER": "always_off"})  # fmt: skip
    assert (app.exporting, app.ratio, app.notes) == (True, 1.0, ())
