"""OTLP/HTTP as the OpenTelemetry SDK sends it goes through a real collector process (rotel) intact."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

pytest.importorskip("rotel")

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otlp_sink import OtlpSink, resource_attributes
from rotel_process import running_rotel

pytestmark = pytest.mark.slow

RESOURCE = {
    "service.name": "my-tool",
    "service.version": "1.2.3",
    "os.type": "linux",
    "optel.install.id": "4f3c2a10-9b7e-4c1d-8e2f-0a1b2c3d4e5f",
    "optel.consent.mode": "anonymous",
}


def send_a_span(endpoint: str) -> None:
    # A provider of its own: the process-wide OpenTelemetry globals stay untouched.
    provider = TracerProvider(resource=Resource.create(RESOURCE))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=5)))
    with provider.get_tracer("optel").start_as_current_span("cli.command") as span:
        span.set_attribute("command.name", "init")
    provider.shutdown()


def send_a_counter(endpoint: str) -> None:
    exporter = OTLPMetricExporter(
        endpoint=f"{endpoint}/v1/metrics",
        timeout=5,
        preferred_temporality={Counter: AggregationTemporality.DELTA, Histogram: AggregationTemporality.DELTA},
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    provider = MeterProvider(resource=Resource.create(RESOURCE), metric_readers=[reader])
    provider.get_meter("optel").create_counter("cli.command.invocations").add(1, {"command.name": "init"})
    provider.shutdown()  # collects and exports once


def test_span_and_metric_pass_through_rotel_with_resource_attributes_intact() -> None:
    with OtlpSink() as sink, running_rotel(sink.url) as endpoint:
        send_a_span(endpoint)
        send_a_counter(endpoint)
        assert sink.wait_for(lambda s: s.traces and s.metrics, timeout=15), sink.paths

    spans = [(rs, span) for req in sink.traces for rs in req.resource_spans
             for ss in rs.scope_spans for span in ss.spans]
    assert [span.name for _, span in spans] == ["cli.command"]
    resource_spans, span = spans[0]
    assert resource_attributes(resource_spans.resource).items() >= RESOURCE.items()
    assert {kv.key: kv.value.string_value for kv in span.attributes} == {"command.name": "init"}

    metrics = [(rm, metric) for req in sink.metrics for rm in req.resource_metrics
               for sm in rm.scope_metrics for metric in sm.metrics]
    assert [metric.name for _, metric in metrics] == ["cli.command.invocations"]
    resource_metrics, metric = metrics[0]
    assert resource_attributes(resource_metrics.resource).items() >= RESOURCE.items()
    (point,) = metric.sum.data_points
    assert point.as_int == 1
    assert metric.sum.aggregation_temporality == AggregationTemporality.DELTA.value


def test_rotel_is_stopped_when_the_context_exits() -> None:
    with OtlpSink() as sink, running_rotel(sink.url) as endpoint:
        port = urlsplit(endpoint).port
        assert port is not None
    with socket.socket() as sock:
        sock.settimeout(1)
        assert sock.connect_ex(("127.0.0.1", port)) != 0
