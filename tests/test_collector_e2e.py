"""OTLP/HTTP as the OpenTelemetry SDK sends it goes through a real collector process (rotel) intact."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from otlp_receiver import OTLPReceiver
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
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=5))
    )
    with provider.get_tracer("optel").start_as_current_span("cli.command") as span:
        span.set_attribute("command.name", "init")
    provider.shutdown()


def send_a_counter(endpoint: str) -> None:
    exporter = OTLPMetricExporter(
        endpoint=f"{endpoint}/v1/metrics",
        timeout=5,
        preferred_temporality={
            Counter: AggregationTemporality.DELTA,
            Histogram: AggregationTemporality.DELTA,
        },
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    provider = MeterProvider(resource=Resource.create(RESOURCE), metric_readers=[reader])
    provider.get_meter("optel").create_counter("optel.cli.command.invocations").add(
        1, {"command.name": "init"}
    )
    provider.shutdown()  # collects and exports once


def test_span_and_metric_pass_through_rotel_with_resource_attributes_intact() -> None:
    with OTLPReceiver() as receiver, running_rotel(receiver.url) as endpoint:
        send_a_span(endpoint)
        send_a_counter(endpoint)
        assert receiver.wait_for(lambda r: bool(r.spans() and r.metrics()), timeout=15), (
            receiver.requests
        )

    spans = receiver.spans()
    assert [span["name"] for span in spans] == ["cli.command"]
    assert spans[0]["resource"].items() >= RESOURCE.items()
    assert spans[0]["attributes"] == {"command.name": "init"}

    (point,) = receiver.metrics()
    assert point["name"] == "optel.cli.command.invocations"
    assert point["resource"].items() >= RESOURCE.items()
    assert point["value"] == 1
    assert point["temporality"] == "delta"


def test_rotel_is_stopped_when_the_context_exits() -> None:
    with OTLPReceiver() as receiver, running_rotel(receiver.url) as endpoint:
        port = urlsplit(endpoint).port
        assert port is not None
    with socket.socket() as sock:
        sock.settimeout(1)
        assert sock.connect_ex(("127.0.0.1", port)) != 0
