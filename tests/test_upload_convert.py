"""Records -> OTLP messages: ids, parentage, times, delta metrics and buckets survive, and each file's consent decides."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.proto.metrics.v1.metrics_pb2 import AGGREGATION_TEMPORALITY_DELTA, Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from optel.consent import Consent
from optel.record import dictionary
from optel.upload import convert, metrics
from optel.upload.attributes import InvalidRecord, clean_attributes, resource_for
from optel.upload.consent import file_consent, sending
from optel.upload.metrics import inferred_spec, spec_for
from optel.upload.otlp import decode_attributes


def span_from_record(record: dict[str, Any]) -> Span:
    """The encoded span (upload/convert.py), read back with opentelemetry-proto."""
    return Span.FromString(convert.span_from_record(record))


def metrics_from_records(records: list[dict[str, Any]]) -> list[Metric]:
    return [Metric.FromString(m) for m in metrics.metrics_from_records(records)]


TRACE = "0af7651916cd43dd8448eb211c80319c"
ROOT = "b7ad6b7169203331"
CHILD = "00f067aa0ba902b7"


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
    child = span_from_record(span(span_id=CHILD, parent_span_id=ROOT, name="step"))
    assert (child.trace_id.hex(), child.span_id.hex()) == (TRACE, CHILD)
    assert child.parent_span_id.hex() == ROOT
    assert child.flags == 0x100  # the parent is known not to be remote, as the SDK writes it
    root = span_from_record(span())
    assert root.parent_span_id == b""


def test_span_keeps_name_kind_times_status_and_events() -> None:
    record = span(
        kind="client", status="error", status_message="ValueError: <path> missing",
        events=[{"name": "exception", "time_ns": 1_700_000_000_100_000_000,
                 "attributes": {"exception.type": "ValueError"}}],
    )  # fmt: skip
    s = span_from_record(record)
    assert (s.name, s.kind) == ("deploy", Span.SPAN_KIND_CLIENT)
    assert (s.start_time_unix_nano, s.end_time_unix_nano) == (record["start_ns"], record["end_ns"])
    assert s.status.code == Status.STATUS_CODE_ERROR
    assert s.status.message == "ValueError: <path> missing"
    [event] = s.events
    assert (event.name, event.time_unix_nano) == ("exception", 1_700_000_000_100_000_000)
    assert decode_attributes(event.attributes) == {"exception.type": "ValueError"}
    assert decode_attributes(s.attributes) == {"command.name": "deploy"}


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
        span_from_record(span(**overrides))


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
        metric("optel.cli.command.invocations", 1, 100, **{"command.name": "a", "outcome": "success"}),
        metric("optel.cli.command.invocations", 1, 300, **{"command.name": "a", "outcome": "success"}),
        metric("optel.cli.command.invocations", 1, 200, **{"command.name": "b", "outcome": "failure"}),
    ]  # fmt: skip
    [m] = metrics_from_records(records)
    assert m.WhichOneof("data") == "sum"
    assert m.sum.aggregation_temporality == AGGREGATION_TEMPORALITY_DELTA
    assert m.sum.is_monotonic is True
    assert m.unit == dictionary.METRICS["optel.cli.command.invocations"].unit
    points = {decode_attributes(p.attributes)["command.name"]: p for p in m.sum.data_points}
    a, b = points["a"], points["b"]
    assert (a.as_int, a.start_time_unix_nano, a.time_unix_nano) == (2, 100, 300)
    assert (b.as_int, b.start_time_unix_nano, b.time_unix_nano) == (1, 200, 200)


def test_histogram_uses_the_dictionary_buckets_upper_inclusive() -> None:
    bounds = dictionary.METRICS["optel.cli.command.duration"].buckets
    assert bounds is not None
    values = [bounds[0] / 2, bounds[0], bounds[0] * 1.5, bounds[-1] * 10]
    records = [metric("optel.cli.command.duration", v, 10 + i) for i, v in enumerate(values)]
    [m] = metrics_from_records(records)
    assert m.WhichOneof("data") == "histogram"
    assert m.histogram.aggregation_temporality == AGGREGATION_TEMPORALITY_DELTA
    assert (m.unit, m.description) == (
        "s",
        dictionary.METRICS["optel.cli.command.duration"].description,
    )
    [point] = m.histogram.data_points
    assert list(point.explicit_bounds) == list(bounds)
    expected = [0] * (len(bounds) + 1)
    expected[0], expected[1], expected[-1] = 2, 1, 1
    assert list(point.bucket_counts) == expected
    assert (point.count, point.min, point.max) == (4, values[0], values[-1])
    assert point.sum == pytest.approx(sum(values))
    assert (point.start_time_unix_nano, point.time_unix_nano) == (10, 13)


def test_unknown_metric_names_get_a_sensible_aggregation() -> None:
    assert "plugin.widget.duration" not in dictionary.METRICS
    duration = spec_for("plugin.widget.duration", [0.2, 1.5])
    assert (duration.kind, duration.unit) == ("histogram", "s")
    assert spec_for("plugin.widgets", [1, 2, 3]).kind == "counter"
    assert spec_for("plugin.ratio", [0.25, -1.0]).kind == "histogram"
    assert inferred_spec("plugin.widgets", [1, -2]).kind == "histogram"
    [m] = metrics_from_records([metric("plugin.widgets", 2, 1), metric("plugin.widgets", 3, 2)])
    assert m.WhichOneof("data") == "sum" and m.sum.data_points[0].as_int == 5
    assert (m.unit, m.description) == ("", "")


def test_malformed_measurements_are_skipped_and_none_left_means_no_data() -> None:
    records = [
        metric("optel.cli.errors", float("nan"), 1),
        metric("optel.cli.errors", True, 1),
        {"t": "metric", "name": "x"},
    ]
    assert metrics_from_records(records) == []


def _consent(mode: str, sampled: bool = True) -> Consent:
    return Consent(mode, "test", "user_file", install_id="id", sampled=sampled)


@pytest.mark.parametrize(
    ("consent", "allowed"),
    [
        (_consent("anonymous"), True),
        (_consent("identified"), True),
        (_consent("off"), False),
        (_consent("anonymous", sampled=False), False),
        (None, False),
    ],
)
def test_nothing_is_sent_unless_the_files_consent_allows_sending(
    consent: Consent | None, allowed: bool
) -> None:
    assert sending(consent) is allowed


@pytest.mark.parametrize(
    ("recorded", "allowed"),
    [
        ({"mode": "anonymous", "install_id": "id"}, True),
        ({"mode": "off", "install_id": "id"}, False),
        ({"mode": "bogus"}, False),
        (None, False),
    ],
)
def test_a_files_consent_is_read_back_from_its_header(recorded: Any, allowed: bool) -> None:
    assert sending(file_consent({"consent": recorded})) is allowed
    # Out of the sample (0 %): recorded, but never sent.
    header = {"consent": recorded, "settings": {"sample_percent": 0}}
    assert sending(file_consent(header)) is False


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
    session = span_from_record(span(name="cli.session", attributes={"cli.summary.commands": 2}))
    assert session.name == "optel.cli.session"
    assert decode_attributes(session.attributes) == {"optel.cli.summary.commands": 2}
    (converted,) = metrics_from_records(
        [metric("cli.command.duration", 0.5, 1, **{"command.name": "x"})]
    )
    assert converted.name == "optel.cli.command.duration"
    assert list(converted.histogram.data_points[0].explicit_bounds) == list(
        dictionary.METRICS["optel.cli.command.duration"].buckets or ()
    )
