"""Records -> OpenTelemetry SDK data: ids, parentage, times, delta metrics and buckets survive, and the sampler decides."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics.export import AggregationTemporality, Histogram, Sum
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import SpanKind, StatusCode

from optel.consent import Consent
from optel.record import dictionary
from optel.upload.convert import (
    InvalidRecord,
    clean_attributes,
    inferred_spec,
    metrics_from_records,
    resource_for,
    span_from_record,
    spec_for,
)
from optel.upload.sampler import ConsentSampler

TRACE = "0af7651916cd43dd8448eb211c80319c"
ROOT = "b7ad6b7169203331"
CHILD = "00f067aa0ba902b7"
RESOURCE = Resource({"service.name": "tool"})


def span(**overrides: Any) -> dict[str, Any]:
    record = {
        "t": "span", "trace_id": TRACE, "span_id": ROOT, "parent_span_id": None, "name": "deploy",
        "kind": "internal", "start_ns": 1_700_000_000_000_000_000, "end_ns": 1_700_000_000_250_000_000,
        "attributes": {"command.name": "deploy"}, "status": "unset", "status_message": None, "events": [],
    }  # fmt: skip
    record.update(overrides)
    return record


def metric(name: str, value: float, time_ns: int, **attributes: Any) -> dict[str, Any]:
    return {
        "t": "metric",
        "name": name,
        "value": value,
        "attributes": attributes,
        "time_ns": time_ns,
    }


def test_span_keeps_its_trace_span_and_parent_ids() -> None:
    child = span_from_record(span(span_id=CHILD, parent_span_id=ROOT, name="step"), RESOURCE)
    assert child.context.trace_id == int(TRACE, 16)
    assert child.context.span_id == int(CHILD, 16)
    assert child.parent is not None
    assert (child.parent.trace_id, child.parent.span_id) == (int(TRACE, 16), int(ROOT, 16))
    assert child.parent.is_remote is False
    root = span_from_record(span(), RESOURCE)
    assert root.parent is None


def test_span_keeps_name_kind_times_status_and_events() -> None:
    record = span(
        kind="client", status="error", status_message="ValueError: <path> missing",
        events=[{"name": "exception", "time_ns": 1_700_000_000_100_000_000,
                 "attributes": {"exception.type": "ValueError"}}],
    )  # fmt: skip
    s = span_from_record(record, RESOURCE)
    assert (s.name, s.kind) == ("deploy", SpanKind.CLIENT)
    assert (s.start_time, s.end_time) == (record["start_ns"], record["end_ns"])
    assert s.status.status_code is StatusCode.ERROR
    assert s.status.description == "ValueError: <path> missing"
    [event] = s.events
    assert (event.name, event.timestamp) == ("exception", 1_700_000_000_100_000_000)
    assert dict(event.attributes or {}) == {"exception.type": "ValueError"}
    assert s.resource is RESOURCE
    assert s.instrumentation_scope is not None and s.instrumentation_scope.name == "optel"


def test_encoded_span_carries_the_original_ids() -> None:
    request = encode_spans([span_from_record(span(span_id=CHILD, parent_span_id=ROOT), RESOURCE)])
    encoded = request.resource_spans[0].scope_spans[0].spans[0]
    assert encoded.trace_id.hex() == TRACE
    assert encoded.span_id.hex() == CHILD
    assert encoded.parent_span_id.hex() == ROOT


@pytest.mark.parametrize(
    "overrides",
    [
        {"trace_id": "xyz"},
        {"span_id": "0" * 16},
        {"start_ns": -1},
        {"name": None},
        {"parent_span_id": "12"},
    ],
)
def test_malformed_span_record_is_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidRecord):
        span_from_record(span(**overrides), RESOURCE)


def test_attributes_otlp_cannot_carry_are_dropped() -> None:
    cleaned = clean_attributes(
        {"ok": "x", "n": 3, "f": 1.5, "b": True, "none": None, "nested": {"a": 1}, "big": 2**70,
         "mixed": ["a", 1, "b"], "": "no key"}
    )  # fmt: skip
    assert cleaned == {"ok": "x", "n": 3, "f": 1.5, "b": True, "mixed": ["a", "b"]}


def test_resource_fills_service_version_from_the_version_module() -> None:
    from importlib.metadata import version

    header = {
        "app": "tool",
        "resource": {"os.type": "linux"},
        "settings": {"version_module": "pytest"},
    }
    attributes = dict(resource_for(header).attributes)
    assert attributes == {
        "os.type": "linux",
        "service.name": "tool",
        "service.version": version("pytest"),
    }


def test_resource_keeps_a_given_service_version_and_adds_nothing_of_the_sdk() -> None:
    header = {"app": "tool", "resource": {"service.name": "tool", "service.version": "1.2.3"},
              "settings": {"version_module": "pytest"}}  # fmt: skip
    assert dict(resource_for(header).attributes) == {
        "service.name": "tool",
        "service.version": "1.2.3",
    }


def test_counter_measurements_become_one_delta_monotonic_sum_per_attribute_set() -> None:
    records = [
        metric(
            "optel.cli.command.invocations", 1, 100, **{"command.name": "a", "outcome": "success"}
        ),
        metric(
            "optel.cli.command.invocations", 1, 300, **{"command.name": "a", "outcome": "success"}
        ),
        metric(
            "optel.cli.command.invocations", 1, 200, **{"command.name": "b", "outcome": "failure"}
        ),
    ]
    data = metrics_from_records(records, RESOURCE)
    assert data is not None
    [m] = data.resource_metrics[0].scope_metrics[0].metrics
    assert isinstance(m.data, Sum)
    assert m.data.aggregation_temporality is AggregationTemporality.DELTA
    assert m.data.is_monotonic is True
    assert m.unit == dictionary.METRICS["optel.cli.command.invocations"].unit
    points = {p.attributes["command.name"]: p for p in m.data.data_points}
    assert (points["a"].value, points["a"].start_time_unix_nano, points["a"].time_unix_nano) == (
        2,
        100,
        300,
    )
    assert (points["b"].value, points["b"].start_time_unix_nano, points["b"].time_unix_nano) == (
        1,
        200,
        200,
    )


def test_histogram_uses_the_dictionary_buckets_upper_inclusive() -> None:
    bounds = dictionary.METRICS["optel.cli.command.duration"].buckets
    assert bounds is not None
    values = [bounds[0] / 2, bounds[0], bounds[0] * 1.5, bounds[-1] * 10]
    records = [metric("optel.cli.command.duration", v, 10 + i) for i, v in enumerate(values)]
    data = metrics_from_records(records, RESOURCE)
    assert data is not None
    [m] = data.resource_metrics[0].scope_metrics[0].metrics
    assert isinstance(m.data, Histogram)
    assert m.data.aggregation_temporality is AggregationTemporality.DELTA
    assert (m.unit, m.description) == (
        "s",
        dictionary.METRICS["optel.cli.command.duration"].description,
    )
    [point] = m.data.data_points
    assert list(point.explicit_bounds) == list(bounds)
    expected = [0] * (len(bounds) + 1)
    expected[0], expected[1], expected[-1] = 2, 1, 1
    assert list(point.bucket_counts) == expected
    assert (point.count, point.min, point.max) == (4, values[0], values[-1])
    assert point.sum == pytest.approx(sum(values))
    assert (point.start_time_unix_nano, point.time_unix_nano) == (10, 13)


def test_encoded_metrics_are_delta() -> None:
    data = metrics_from_records(
        [metric("optel.cli.errors", 1, 5, **{"error.type": "KeyError"})], RESOURCE
    )
    assert data is not None
    encoded = encode_metrics(data).resource_metrics[0].scope_metrics[0].metrics[0]
    assert encoded.sum.aggregation_temporality == 1  # AGGREGATION_TEMPORALITY_DELTA
    assert encoded.sum.data_points[0].as_int == 1


def test_unknown_metric_names_get_a_sensible_aggregation() -> None:
    assert "plugin.widget.duration" not in dictionary.METRICS
    duration = spec_for("plugin.widget.duration", [0.2, 1.5])
    assert (duration.kind, duration.unit) == ("histogram", "s")
    assert spec_for("plugin.widgets", [1, 2, 3]).kind == "counter"
    assert spec_for("plugin.ratio", [0.25, -1.0]).kind == "histogram"
    assert inferred_spec("plugin.widgets", [1, -2]).kind == "histogram"
    data = metrics_from_records(
        [metric("plugin.widgets", 2, 1), metric("plugin.widgets", 3, 2)], RESOURCE
    )
    assert data is not None
    [m] = data.resource_metrics[0].scope_metrics[0].metrics
    assert isinstance(m.data, Sum) and m.data.data_points[0].value == 5
    assert (m.unit, m.description) == ("", "")


def test_malformed_measurements_are_skipped_and_none_left_means_no_data() -> None:
    records = [
        metric("optel.cli.errors", float("nan"), 1),
        metric("optel.cli.errors", True, 1),
        {"t": "metric", "name": "x"},
    ]
    assert metrics_from_records(records, RESOURCE) is None


def _consent(mode: str, sampled: bool = True) -> Consent:
    return Consent(mode, "test", "user_file", install_id="id", sampled=sampled)


@pytest.mark.parametrize(
    ("consent", "decision"),
    [
        (_consent("anonymous"), Decision.RECORD_AND_SAMPLE),
        (_consent("identified"), Decision.RECORD_AND_SAMPLE),
        (_consent("off"), Decision.DROP),
        (_consent("anonymous", sampled=False), Decision.DROP),
        (None, Decision.DROP),
    ],
)
def test_consent_sampler_drops_unless_consent_allows_sending(
    consent: Consent | None, decision: Decision
) -> None:
    sampler = ConsentSampler(consent)
    assert sampler.should_sample(None, int(TRACE, 16), "deploy").decision is decision
    assert sampler.metrics_allowed() is (decision is Decision.RECORD_AND_SAMPLE)


def test_consent_sampler_drops_everything_once_withdrawn() -> None:
    sampler = ConsentSampler(_consent("anonymous"))
    sampler.withdraw()
    assert sampler.should_sample(None, 1, "deploy").decision is Decision.DROP
    assert not sampler.metrics_allowed()
    assert "off" in sampler.get_description()


def test_a_spool_file_written_with_the_pre_conventions_names_is_sent_under_todays_names() -> None:
    # What optel 0.x wrote: its own names under the conventions' cli., host. and app. namespaces.
    resource = resource_for(
        {
            "app": "tool",
            "resource": {"service.name": "tool", "host.memory.gib": 16, "optel.install.id": "id-1"},
        }
    )
    assert resource.attributes["optel.host.memory.gib"] == 16
    assert "host.memory.gib" not in resource.attributes
    assert resource.attributes["app.installation.id"] == "id-1"
    session = span_from_record(
        span(name="cli.session", attributes={"cli.summary.commands": 2}), RESOURCE
    )
    assert session.name == "optel.cli.session"
    assert dict(session.attributes or {}) == {"optel.cli.summary.commands": 2}
    (data,) = metrics_from_records(
        [metric("cli.command.duration", 0.5, 1, **{"command.name": "x"})], RESOURCE
    ).resource_metrics
    (converted,) = data.scope_metrics[0].metrics
    assert converted.name == "optel.cli.command.duration"
    assert list(converted.data.data_points[0].explicit_bounds) == list(
        dictionary.METRICS["optel.cli.command.duration"].buckets or ()
    )
