"""Spool measurements -> encoded delta OTLP `Metric`s: one point per series, aggregated as the data dictionary says."""

from __future__ import annotations

import bisect
import math

from optel import _logger
from optel.record.names import RENAMED
from optel.upload.attributes import InvalidRecord, already_clean, clean_attributes, ns
from optel.upload.wire import double, field, fixed64, key_values, sfixed64, text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any

# The SDK's default explicit bucket boundaries, for histograms the dictionary does not describe.
DEFAULT_BOUNDARIES: tuple[float, ...] = (
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
)  # fmt: skip
_INT64 = (-(2**63), 2**63 - 1)


class InstrumentSpec:
    """How a metric's measurements aggregate: `kind` is counter, updowncounter, histogram or gauge."""

    __slots__ = ("boundaries", "description", "kind", "unit")

    def __init__(
        self,
        kind: str,
        unit: str = "",
        description: str = "",
        boundaries: Sequence[float] | None = None,
    ) -> None:
        self.kind = kind
        self.unit = unit
        self.description = description
        self.boundaries = tuple(boundaries) if boundaries is not None else DEFAULT_BOUNDARIES

    def __repr__(self) -> str:
        return f"InstrumentSpec({self.kind!r}, unit={self.unit!r})"


def declared_spec(name: str) -> InstrumentSpec | None:
    """The data dictionary's description of metric `name` (`optel.record.dictionary.METRICS`), or None."""
    from optel.record import dictionary

    found = dictionary.METRICS.get(name)
    if found is None:
        return None
    return InstrumentSpec(
        found.instrument, found.unit or "", found.description or "", found.buckets
    )


def inferred_spec(name: str, values: Iterable[float]) -> InstrumentSpec:
    """A sensible aggregation for a metric the dictionary does not know.

    Durations (`*.duration`, `*.time`) become histograms in seconds, whole non-negative numbers
    become a monotonic counter, anything else a histogram: no measurement is ever thrown away.
    """
    if name.endswith((".duration", ".time", ".latency")):
        return InstrumentSpec("histogram", "s")
    if all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        return InstrumentSpec("counter")
    return InstrumentSpec("histogram")


def host_spec(declared: object) -> InstrumentSpec | None:
    """The kind, unit and description a host's ``optel.metric(...)`` declared, as its measurements
    carry them (docs/spool-format.md#metric-records); None when there is no usable declaration."""
    if not isinstance(declared, dict):
        return None
    kind, unit, description = (declared.get(k, "") for k in ("kind", "unit", "description"))
    if kind not in ("counter", "histogram") or not isinstance(unit, str):
        return None
    return InstrumentSpec(kind, unit, description if isinstance(description, str) else "")


def spec_for(name: str, values: Sequence[float], declared: object = None) -> InstrumentSpec:
    """The dictionary's spec for `name`, else the host's declaration, else an inferred one."""
    try:
        spec = declared_spec(name)
    except Exception:  # a dictionary bug must not cost the data
        _logger.debug("optel: data dictionary lookup failed for %s", name, exc_info=True)
        spec = None
    if spec is None:
        spec = host_spec(declared)
    return spec if spec is not None else inferred_spec(name, values)


class _Series:
    __slots__ = ("attributes", "end", "start", "values")

    def __init__(self, attributes: dict[str, Any], time_ns: int) -> None:
        self.attributes = attributes
        self.start = time_ns
        self.end = time_ns
        self.values: list[float] = []


def measurement_parts(record: Mapping[str, Any]) -> tuple[str, float, dict[str, Any], int]:
    """(name, value, attributes, time_ns) of a metric record, or InvalidRecord."""
    name = record.get("name")
    value = record.get("value")
    if not isinstance(name, str) or not name:
        raise InvalidRecord(f"a metric name must be a string, not {name!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRecord(f"a metric value must be a finite number, not {value!r}")
    if not (_INT64[0] <= value <= _INT64[1] if isinstance(value, int) else math.isfinite(value)):
        raise InvalidRecord(f"a metric value must be a finite number within int64, not {value!r}")
    return name, value, clean_attributes(record.get("attributes")), ns(record.get("time_ns"))


def _parts(record: Mapping[str, Any]) -> tuple[Any, Any, Any, Any]:
    # The common record, exactly as the JSON parser makes it, is checked inline; anything else goes
    # through `measurement_parts`, which accepts a superset and says what is wrong.
    get = record.get
    name: Any = get("name")
    value: Any = get("value")
    time_ns: Any = get("time_ns")
    attrs: Any = get("attributes")
    kind = type(value)
    if (
        type(name) is str
        and name
        and ((kind is float and math.isfinite(value)) or (kind is int and _INT64[0] <= value <= _INT64[1]))
        and type(time_ns) is int
        and 0 <= time_ns < 2**64
        and type(attrs) is dict
        and already_clean(attrs)
    ):  # fmt: skip
        return name, value, attrs, time_ns
    return measurement_parts(record)


def _series(
    records: Iterable[Mapping[str, Any]],
    skipped: list[int] | None,
    declared: dict[str, object] | None = None,
) -> dict[str, dict[tuple[Any, ...], _Series]]:
    series: dict[str, dict[tuple[Any, ...], _Series]] = {}
    for record in records:
        try:
            name, value, attrs, time_ns = _parts(record)
        except InvalidRecord as error:
            _logger.debug("optel: skipping a metric record: %s", error)
            if skipped is not None:
                skipped[0] += 1
            continue
        by_attrs = series.get(name)
        if by_attrs is None:
            by_attrs = series[name] = {}
            if declared is not None and "declared" in record:  # how optel.metric(...) declared it
                declared[name] = record["declared"]
        try:
            # Keys are distinct strings, so sorting never compares values; scalars hash as they are.
            key: tuple[Any, ...] = tuple(sorted(attrs.items()))
            one = by_attrs.get(key)
        except TypeError:  # a list value: hashed as a tuple
            key = tuple(
                sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in attrs.items())
            )
            one = by_attrs.get(key)
        if one is None:
            one = by_attrs[key] = _Series(dict(attrs), time_ns)
        elif time_ns < one.start:
            one.start = time_ns
        elif time_ns > one.end:
            one.end = time_ns
        one.values.append(value)
    return series


def metrics_from_records(
    records: Iterable[Mapping[str, Any]],
    skipped: list[int] | None = None,
    points: list[int] | None = None,
) -> list[bytes]:
    """Measurements aggregated into encoded delta `Metric`s (empty when there are none).

    Invalid measurements are skipped, and counted in ``skipped[0]`` when given. One data point
    per (metric, attribute set), counted in ``points[0]`` when given: counters sum, histograms
    keep count, sum, min, max and the dictionary's buckets; each point spans its first to its
    last measurement.
    """
    declared: dict[str, object] = {}
    series = _series(records, skipped, declared)
    if points is not None:
        points[0] += sum(len(by_attrs) for by_attrs in series.values())
    out = []
    for name, by_attrs in series.items():
        all_series = list(by_attrs.values())
        spec = None
        if name in declared:
            spec = spec_for(name, [v for s in all_series for v in s.values], declared[name])
        out.append(metric(RENAMED.get(name, name), all_series, spec))
    return out


# Metric: name 1, description 2, unit 3, gauge 5, sum 7, histogram 9. Sum: data_points 1,
# aggregation_temporality 2 (DELTA 1), is_monotonic 3. Gauge: data_points 1. Histogram:
# data_points 1, aggregation_temporality 2. A zero time is a default: not written.
_DELTA = b"\x10\x01"
_MONOTONIC = b"\x18\x01"


def _number(attributes: dict[str, Any], start: int | None, end: int, value: float) -> bytes:
    """A `NumberDataPoint` (start 2, time 3, as_double 4, as_int 6, attributes 7) as `data_points`."""
    return field(
        b"\x0a",
        (
            b"\x11" + fixed64(start) if start else b""
        )  # a gauge point has no start, as the SDK writes it
        + (b"\x19" + fixed64(end) if end else b"")
        + (b"\x31" + sfixed64(value) if isinstance(value, int) else b"\x21" + double(value))
        + key_values(b"\x3a", attributes),
    )


def _histogram_point(s: _Series, bounds: tuple[float, ...]) -> bytes:
    """A `HistogramDataPoint` (start 2, time 3, count 4, sum 5, bucket_counts 6, explicit_bounds 7,
    attributes 9, min 11, max 12; the arrays packed) as `data_points`."""
    counts = [0] * (len(bounds) + 1)
    for v in s.values:
        counts[bisect.bisect_left(bounds, v)] += 1  # explicit buckets are upper-inclusive
    return field(
        b"\x0a",
        (b"\x11" + fixed64(s.start) if s.start else b"")
        + (b"\x19" + fixed64(s.end) if s.end else b"")
        + b"\x21" + fixed64(len(s.values))
        + b"\x29" + double(_total(s.values))
        + field(b"\x32", b"".join([fixed64(n) for n in counts]))
        + (field(b"\x3a", b"".join([double(b) for b in bounds])) if bounds else b"")
        + key_values(b"\x4a", s.attributes)
        + b"\x59" + double(min(s.values))
        + b"\x61" + double(max(s.values)),
    )  # fmt: skip


def _head(name: str, unit: str, description: str) -> bytes:
    return b"".join(
        field(key, text(value)) for key, value in ((b"\x0a", name), (b"\x12", description), (b"\x1a", unit)) if value
    )  # fmt: skip


def metric(name: str, all_series: list[_Series], spec: InstrumentSpec | None = None) -> bytes:
    """One encoded `Metric` of `all_series`, aggregated as `spec` (default: `spec_for(name)`) says."""
    if spec is None:
        spec = spec_for(name, [v for s in all_series for v in s.values])
    head = _head(name, spec.unit, spec.description)
    if spec.kind in ("counter", "updowncounter", "sum"):
        points = b"".join(
            [_number(s.attributes, s.start, s.end, _total(s.values)) for s in all_series]
        )
        return head + field(
            b"\x3a", points + _DELTA + (_MONOTONIC if spec.kind != "updowncounter" else b"")
        )
    if spec.kind == "gauge":
        return head + field(
            b"\x2a",
            b"".join([_number(s.attributes, None, s.end, s.values[-1]) for s in all_series]),
        )
    points = b"".join([_histogram_point(s, spec.boundaries) for s in all_series])
    return head + field(b"\x4a", points + _DELTA)  # fmt: skip


def _total(values: list[float]) -> float:
    if all(isinstance(v, int) for v in values):
        return sum(values)
    try:
        return math.fsum(values)
    except OverflowError:
        # fsum's exact partial sums went past float's range: plain addition rounds as it goes and
        # gives inf (or a finite total) instead of losing the file's metrics to an exception.
        return sum(values)


def counter_metric(
    name: str,
    points: Iterable[tuple[dict[str, Any], int]],
    start_ns: int,
    end_ns: int,
    unit: str = "",
    description: str = "",
) -> bytes:
    """An encoded delta monotonic counter from (attributes, value) pairs over one window (for optel's own counts)."""
    data = b"".join([_number(attrs, start_ns, end_ns, value) for attrs, value in points])
    return _head(name, unit, description) + field(b"\x3a", data + _DELTA + _MONOTONIC)
