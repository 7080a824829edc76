"""The uploader's fast paths give exactly what the plain paths give: reading, cleaning, converting, aggregating."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from optel.spool.claims import Claim
from optel.spool.format import CorruptSpoolFile, _parse_lines
from optel.upload.attributes import InvalidRecord, clean_attributes, resource_for
from optel.upload.convert import span_from_record
from optel.upload.metrics import metrics_from_records
from optel.upload.otlp import decode_attributes, trace_request

HEADER = {
    "schema": "optel.spool/1",
    "app": "tool",
    "resource": {"service.name": "tool", "service.version": "1"},
}
TRAILER = {"t": "end", "records": 1}
SPAN = {
    "t": "span", "trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331",
    "parent_span_id": "00f067aa0ba902b7", "name": "deploy", "kind": "client", "start_ns": 10, "end_ns": 20,
    "attributes": {"command.name": "deploy", "n": 3, "ok": True, "ratio": 0.5}, "status": "ok",
    "status_message": None, "events": [],
}  # fmt: skip


def line_by_line(data: bytes) -> list[object]:
    """What reading a spool file meant before the fast path: one `json.loads` per line."""
    return [json.loads(line) for line in data[:-1].split(b"\n")]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
fragments = st.sampled_from(
    [
        " ",
        "\t",
        ",",
        "[",
        "]",
        "{",
        "}",
        '"',
        ":",
        "1",
        "\ufeff",
        "\\",
        "\x00",
        "NaN",
        "\u00e9",
        "\ud800",
    ]
)


@st.composite
def spool_bytes(draw: st.DrawFn) -> bytes:
    """Lines that are mostly single JSON values, some with whitespace, junk or values split over lines."""
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        text = json.dumps(draw(json_values), ensure_ascii=draw(st.booleans()))
        if draw(st.integers(0, 3)) == 0:
            at = draw(st.integers(0, len(text)))
            text = (
                text[:at] + "".join(draw(st.lists(fragments, min_size=1, max_size=3))) + text[at:]
            )
        lines.append(text)
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


@settings(max_examples=400, deadline=None)
@given(spool_bytes())
def test_the_fast_line_parser_accepts_only_what_json_loads_reads_the_same_way(data: bytes) -> None:
    fast = _parse_lines(data)
    if fast is not None:
        # By repr: a NaN is not equal to itself, and the fast path's NaN is not `json`'s object.
        assert repr(fast) == repr(line_by_line(data))


def test_the_fast_line_parser_reads_json_s_constants_and_big_numbers_as_json_loads() -> None:
    # Its scanner is made without `json` (spool/format.py): the same defaults, checked by value.
    lines = [
        b"NaN",
        b"-Infinity",
        b"Infinity",
        b"1e400",
        b"-0.0",
        b"12345678901234567890123",
        b'"\\ud800"',
    ]
    fast = _parse_lines(b"\n".join(lines) + b"\n")
    assert fast is not None
    assert [repr(value) for value in fast] == [repr(json.loads(line)) for line in lines]


@pytest.mark.parametrize(
    "body",
    [
        b' {"t": "span"} \n',  # whitespace around a value: json.loads reads it, the fast path steps aside
        b'\t{"t":"metric"}\r\n',
    ],
)
def test_lines_the_fast_path_declines_are_still_read(tmp_path: Path, body: bytes) -> None:
    data = json.dumps(HEADER).encode() + b"\n" + body + json.dumps(TRAILER).encode() + b"\n"
    assert _parse_lines(data) is None
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    header, records = Claim("f.jsonl", str(path)).read()
    assert header == HEADER and records == [json.loads(body)]


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (b'{"t": "span",\n"a": 1}\n', 2),  # one value spread over two lines
        (b'{"t": "span"}{"t": "span"}\n', 2),  # two values on one line
        (b'1,{"t":"span"}\n', 2),  # joined with its neighbours this would be valid JSON
        (b"\xef\xbb\xbf{}\n", None),  # a BOM: json.loads reads it; it is not a record, though
        (b'{"t": "sp\xffan"}\n', 2),  # not UTF-8
        (b"\n", 2),
    ],
)
def test_corrupt_lines_are_reported_as_before(
    tmp_path: Path, body: bytes, line: int | None
) -> None:
    data = json.dumps(HEADER).encode() + b"\n" + body + json.dumps(TRAILER).encode() + b"\n"
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    with pytest.raises(CorruptSpoolFile) as caught:
        Claim("f.jsonl", str(path)).read()
    if line is not None:
        assert f"line {line} is not JSON" in str(caught.value)


attribute_values = (
    st.text(max_size=4) | st.booleans() | st.integers() | st.floats() | st.none()
    | st.lists(st.integers(-3, 3) | st.text(max_size=2) | st.booleans(), max_size=3)
    | st.dictionaries(st.text(max_size=2), st.integers(), max_size=2)
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6), attribute_values, max_size=5))
def test_attribute_cleaning_fast_path_matches_the_general_one(attributes: dict[str, Any]) -> None:
    fast = clean_attributes(attributes)
    general = clean_attributes(MappingProxyType(attributes))  # not a dict: the general path
    assert fast == general
    assert [type(v) for v in fast.values()] == [type(v) for v in general.values()]
    assert fast is not attributes


def naive_span(record: dict[str, Any], resource: Resource) -> ReadableSpan:
    """The same span built the straightforward way, with fresh objects everywhere."""
    trace_id = int(record["trace_id"], 16)
    flags = TraceFlags(TraceFlags.SAMPLED)
    parent = record["parent_span_id"]
    status = {
        "ok": Status(StatusCode.OK),
        "error": Status(StatusCode.ERROR, record["status_message"]),
    }
    return ReadableSpan(
        name=record["name"],
        context=SpanContext(
            trace_id, int(record["span_id"], 16), is_remote=False, trace_flags=flags
        ),
        parent=SpanContext(trace_id, int(parent, 16), is_remote=False, trace_flags=flags)
        if parent
        else None,
        resource=resource,
        attributes=dict(record["attributes"]),
        events=[
            Event(e["name"], dict(e["attributes"]), timestamp=e["time_ns"])
            for e in record["events"]
        ],
        kind={"client": SpanKind.CLIENT, "server": SpanKind.SERVER}.get(
            record["kind"], SpanKind.INTERNAL
        ),
        status=status.get(record["status"], Status(StatusCode.UNSET)),
        start_time=record["start_ns"],
        end_time=record["end_ns"],
        instrumentation_scope=InstrumentationScope("optel", __import__("optel").__version__),
    )


def test_spans_encode_exactly_as_the_sdks_encoder_writes_the_same_spans() -> None:
    # The uploader builds OTLP messages itself: byte for byte what the SDK's exporter would send.
    records = [
        SPAN,
        {**SPAN, "span_id": "00f067aa0ba902b7", "parent_span_id": None, "kind": "internal", "status": "unset"},
        {**SPAN, "span_id": "00000000000000ff", "status": "error", "status_message": "ValueError: <path>",
         "events": [{"name": "exception", "time_ns": 15, "attributes": {"exception.type": "ValueError"}}]},
    ]  # fmt: skip
    header = {
        "app": "tool",
        "resource": {"service.name": "tool", "os.type": "linux", "host.cpus": 8},
    }
    encoded = trace_request([(resource_for(header), [span_from_record(r) for r in records])])
    plain = Resource({"service.name": "tool", "os.type": "linux", "host.cpus": 8})
    naive = encode_spans([naive_span(r, plain) for r in records])
    assert encoded.data == naive.SerializeToString()
    fast = encoded.message()
    assert fast == naive
    assert len(fast.resource_spans) == 1 and len(fast.resource_spans[0].scope_spans) == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"trace_id": "-" + "f" * 31},
        {"span_id": "-000000000000001"},
        {"end_ns": True},
        {"name": b"x"},
    ],
)
def test_ids_and_times_that_would_break_encoding_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidRecord):
        span_from_record({**SPAN, **overrides})


def test_odd_kind_events_and_end_before_start_still_make_a_span() -> None:
    span = Span.FromString(
        span_from_record(
            {**SPAN, "kind": ["client"], "events": {"name": "x"}, "end_ns": 5, "attributes": None}
        )
    )
    assert span.kind == Span.SPAN_KIND_INTERNAL
    assert list(span.events) == []
    assert (span.start_time_unix_nano, span.end_time_unix_nano) == (10, 10)
    assert list(span.attributes) == []


def measurement(name: str, value: Any, time_ns: int, **attributes: Any) -> dict[str, Any]:
    return {
        "t": "metric",
        "name": name,
        "value": value,
        "attributes": attributes,
        "time_ns": time_ns,
    }


def test_metric_aggregation_fast_path_matches_the_general_one() -> None:
    records = [
        measurement(
            "optel.cli.command.invocations", 1, 30, **{"command.name": "a", "outcome": "success"}
        ),
        measurement(
            "optel.cli.command.invocations", 1, 10, **{"outcome": "success", "command.name": "a"}
        ),
        measurement(
            "optel.cli.command.invocations", 2, 20, **{"command.name": "b", "outcome": "failure"}
        ),
        measurement("optel.cli.step.duration", 0.25, 5, **{"step.name": "x"}),
        measurement("optel.cli.step.duration", 7, 50, **{"step.name": "x"}),
        measurement("plugin.tags", 1, 7, tags=["a", "b"]),
        measurement("plugin.tags", 1, 8, tags=["a", "b"]),
        measurement("plugin.big", 2**64, 9),  # beyond int64: skipped, not an encoding failure
        measurement("plugin.nan", float("inf"), 9),
        measurement("", 1, 9),
    ]
    fast = metrics_from_records(records)
    # Attributes that are not a dict take the general path for every record.
    general = metrics_from_records(
        [{**r, "attributes": MappingProxyType(r["attributes"])} for r in records]
    )
    assert fast == general
    fast = [Metric.FromString(m) for m in fast]
    names = [m.name for m in fast]
    assert names == ["optel.cli.command.invocations", "optel.cli.step.duration", "plugin.tags"]
    counter = fast[0]
    assert counter.WhichOneof("data") == "sum"
    points = {decode_attributes(p.attributes)["command.name"]: p for p in counter.sum.data_points}
    a = points["a"]
    assert (a.as_int, a.start_time_unix_nano, a.time_unix_nano) == (2, 10, 30)
