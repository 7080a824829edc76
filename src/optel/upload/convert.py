"""Spool records -> OpenTelemetry SDK data: `ReadableSpan`s and delta `MetricsData`, ids and times kept."""

from __future__ import annotations

import bisect
import logging
import math
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from optel._version import __version__
from optel.record.names import APP_INSTALLATION_ID, OPTEL_INSTALL_ID, RENAMED

_log = logging.getLogger("optel")

SCOPE = InstrumentationScope("optel", __version__)

# The SDK's default explicit bucket boundaries, for histograms the dictionary does not describe.
DEFAULT_BOUNDARIES: tuple[float, ...] = (
    0.0,
    5.0,
    10.0,
    25.0,
    50.0,
    75.0,
    100.0,
    250.0,
    500.0,
    750.0,
    1000.0,
    2500.0,
    5000.0,
    7500.0,
    10000.0,
)

_KINDS = {
    "internal": SpanKind.INTERNAL,
    "client": SpanKind.CLIENT,
    "server": SpanKind.SERVER,
    "producer": SpanKind.PRODUCER,
    "consumer": SpanKind.CONSUMER,
}
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_OK = Status(StatusCode.OK)
_UNSET = Status(StatusCode.UNSET)
_INT64 = (-(2**63), 2**63 - 1)


class InvalidRecord(ValueError):
    """A record that does not follow the spool schema (docs/internals.md §5)."""


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


# resources -------------------------------------------------------------------------------------------


def resource_for(header: Mapping[str, Any]) -> Resource:
    """One spool file's `Resource`: the header's attributes, `service.name` and `service.version` filled in.

    `Resource(...)` and not `Resource.create(...)`: the latter would add the SDK's own attributes and
    `OTEL_RESOURCE_ATTRIBUTES` from the uploader's environment, none of which are in the data dictionary
    (the user's own attributes are added for the user's own endpoint only: `with_user_resource`).
    """
    attrs = _renamed(clean_attributes(header.get("resource")))
    if APP_INSTALLATION_ID not in attrs and isinstance(attrs.get(OPTEL_INSTALL_ID), str):
        # Written before the conventions' name was sent beside optel's own.
        attrs[APP_INSTALLATION_ID] = attrs[OPTEL_INSTALL_ID]
    if not attrs.get("service.name"):
        attrs["service.name"] = str(header.get("app") or "unknown_service")
    if not attrs.get("service.version"):
        settings = header.get("settings")
        module = settings.get("version_module") if isinstance(settings, Mapping) else None
        version = distribution_version(module) if isinstance(module, str) else None
        if version:
            attrs["service.version"] = version
    return FileResource(attrs)


class FileResource(Resource):
    """A `Resource` whose hash is computed once.

    The SDK's span encoder groups spans by resource and hashes it once per span, and
    `Resource.__hash__` serialises every attribute to JSON each time: a third of the encoding
    cost for a file's worth of spans that all share one resource.
    """

    def __init__(self, attributes: dict[str, Any], schema_url: str | None = None) -> None:
        super().__init__(attributes, schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash


def with_user_resource(resource: Resource, extra: Mapping[str, str]) -> Resource:
    """`resource` with the user's own attributes (`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_SERVICE_NAME`)
    added under its own, as the SDK ranks them: for the user's own endpoint only (optel/_endpoints.py)."""
    return FileResource({**extra, **resource.attributes}, resource.schema_url or None)


def with_resource(span: ReadableSpan, resource: Resource) -> ReadableSpan:
    """The same span with another resource."""
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=resource,
        attributes=span.attributes,
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


_VERSIONS: dict[str, str | None] = {}


def distribution_version(module: str) -> str | None:
    """The installed version of the distribution that provides `module` (or is named like it), or None."""
    if module in _VERSIONS:
        return _VERSIONS[module]
    if sys.version_info >= (3, 10):
        from importlib import metadata
    else:
        # The stdlib's metadata of 3.9 has no packages_distributions(): the backport (a dependency
        # on 3.9 for this) finds the distribution of a package named unlike it.
        import importlib_metadata as metadata

    top = module.split(".", 1)[0]
    candidates = [module, top]
    try:
        candidates.extend(metadata.packages_distributions().get(top, ()))
    except Exception:  # broken metadata of some unrelated distribution
        pass
    version: str | None = None
    for name in candidates:
        try:
            version = metadata.version(name)
            break
        except Exception:
            continue
    _VERSIONS[module] = version
    return version


# attributes ------------------------------------------------------------------------------------------


def _clean_value(value: object) -> Any:
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else None
    if isinstance(value, float):
        return value
    if isinstance(value, (list, tuple)):
        items = [_clean_value(v) for v in value]
        items = [v for v in items if v is not None and not isinstance(v, list)]
        if not items:
            return []
        # OTLP arrays are homogeneous: keep the items of the first item's type.
        first = type(items[0])
        return [v for v in items if type(v) is first]
    return None


def _already_clean(attributes: dict[Any, Any]) -> bool:
    # Exact types (what the JSON parser makes), which also keeps bool apart from int.
    for key, value in attributes.items():
        if type(key) is not str or not key:
            return False
        kind = type(value)
        if kind is str or kind is bool or kind is float:
            continue
        if kind is int and -(2**63) <= value < 2**63:
            continue
        return False
    return True


def clean_attributes(attributes: object) -> dict[str, Any]:
    """Attributes as OTLP can carry them: str/bool/int64/float or homogeneous lists; others dropped."""
    if type(attributes) is dict:
        if not attributes:
            return {}
        if _already_clean(attributes):
            # The common case (the host wrote plain scalars): a plain copy, which the SDK's encoder
            # reads faster than any wrapper.
            return attributes.copy()
    elif not isinstance(attributes, Mapping):
        return {}
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        if isinstance(key, str) and key:
            clean = _clean_value(value)
            if clean is not None:
                out[key] = clean
    return out


_LEGACY = frozenset(RENAMED)


def _renamed(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attributes under today's names: a spool file written by optel 0.x used a few old ones."""
    if _LEGACY.isdisjoint(attributes):
        return attributes
    return {RENAMED.get(key, key): value for key, value in attributes.items()}


# spans -----------------------------------------------------------------------------------------------


def _id(value: object, digits: int) -> int:
    if type(value) is str and len(value) == digits:
        try:
            number = int(value, 16)
        except ValueError:
            raise InvalidRecord(f"an id must be hex, not {value!r}") from None
        if number > 0:
            return number
        raise InvalidRecord(f"an id must be a positive hex number, not {value!r}")
    raise InvalidRecord(f"an id must be {digits} hex digits, not {value!r}")


def _ns(value: object) -> int:
    # Exact type: JSON makes ints, and a bool is not a time.
    if type(value) is int and value >= 0:
        return value
    raise InvalidRecord(f"a time must be a non-negative integer of ns, not {value!r}")


def _events(events: object, start: int) -> tuple[Event, ...]:
    if not isinstance(events, (list, tuple)):
        return ()
    return tuple(
        Event(
            event["name"],
            clean_attributes(event.get("attributes")),
            timestamp=_ns(event.get("time_ns", start)),
        )
        for event in events
        if isinstance(event, Mapping) and isinstance(event.get("name"), str)
    )


def span_from_record(
    record: Mapping[str, Any], resource: Resource, scope: InstrumentationScope = SCOPE
) -> ReadableSpan:
    """A `ReadableSpan` with the record's own trace, span and parent ids, name, kind, times and status.

    Built for the SDK's encoder as much as for correctness: a plain attribute dict, shared status,
    scope and resource objects, and empty tuples for no events and no links, so that encoding does
    no per-span work that the data does not need.
    """
    get = record.get
    trace_id = _id(get("trace_id"), 32)
    context = SpanContext(trace_id, _id(get("span_id"), 16), False, _SAMPLED)
    parent_id = get("parent_span_id")
    parent = (
        SpanContext(trace_id, _id(parent_id, 16), False, _SAMPLED)
        if parent_id is not None
        else None
    )
    name = get("name")
    if not isinstance(name, str):
        raise InvalidRecord(f"a span name must be a string, not {name!r}")
    name = RENAMED.get(name, name)
    start = _ns(get("start_ns"))
    end = _ns(get("end_ns", start))
    status_word = get("status")
    if status_word == "ok":
        status = _OK
    elif status_word == "error":
        message = get("status_message")
        status = Status(StatusCode.ERROR, message if isinstance(message, str) else None)
    else:
        status = _UNSET
    events = get("events")
    kind = get("kind")
    return ReadableSpan(
        name=name,
        context=context,
        parent=parent,
        resource=resource,
        attributes=_renamed(clean_attributes(get("attributes"))),
        events=_events(events, start) if events else (),
        kind=_KINDS.get(kind, SpanKind.INTERNAL) if type(kind) is str else SpanKind.INTERNAL,
        status=status,
        start_time=start,
        end_time=end if end > start else start,
        instrumentation_scope=scope,
    )


# metrics ---------------------------------------------------------------------------------------------


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


def spec_for(name: str, values: Sequence[float]) -> InstrumentSpec:
    """The dictionary's spec for `name`, else an inferred one."""
    try:
        spec = declared_spec(name)
    except Exception:  # a dictionary bug must not cost the data
        _log.debug("optel: data dictionary lookup failed for %s", name, exc_info=True)
        spec = None
    return spec if spec is not None else inferred_spec(name, values)


def _key(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


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
    return name, value, clean_attributes(record.get("attributes")), _ns(record.get("time_ns"))


def metrics_from_records(
    records: Iterable[Mapping[str, Any]],
    resource: Resource,
    scope: InstrumentationScope = SCOPE,
    extra: Sequence[Metric] = (),
    skipped: list[int] | None = None,
) -> MetricsData | None:
    """The measurements of one file aggregated into delta `MetricsData` (None when there are none).

    Invalid measurements are skipped, and counted in ``skipped[0]`` when given.

    One data point per (metric, attribute set): counters sum, histograms keep count, sum, min, max
    and the dictionary's buckets; each point spans its first to its last measurement.
    """
    series: dict[str, dict[tuple[Any, ...], _Series]] = {}
    isfinite = math.isfinite
    for record in records:
        # The common record, exactly as the JSON parser makes it, is checked inline; anything
        # else goes through `measurement_parts`, which accepts a superset and says what is wrong.
        get = record.get
        name: Any = get("name")
        value: Any = get("value")
        time_ns: Any = get("time_ns")
        attrs: Any = get("attributes")
        kind = type(value)
        if not (
            type(name) is str
            and name
            and (
                (kind is float and isfinite(value))
                or (kind is int and _INT64[0] <= value <= _INT64[1])
            )
            and type(time_ns) is int
            and time_ns >= 0
            and type(attrs) is dict
            and _already_clean(attrs)
        ):
            try:
                name, value, attrs, time_ns = measurement_parts(record)
            except InvalidRecord as error:
                _log.debug("optel: skipping a metric record: %s", error)
                if skipped is not None:
                    skipped[0] += 1
                continue
        by_attrs = series.get(name)
        if by_attrs is None:
            by_attrs = series[name] = {}
        try:
            # Keys are distinct strings, so sorting never compares values; scalars hash as they are.
            key: tuple[Any, ...] = tuple(sorted(attrs.items()))
            one = by_attrs.get(key)
        except TypeError:  # a list value: hashed as a tuple
            key = tuple(sorted((k, _key(v)) for k, v in attrs.items()))
            one = by_attrs.get(key)
        if one is None:
            one = by_attrs[key] = _Series(dict(attrs), time_ns)
        elif time_ns < one.start:
            one.start = time_ns
        elif time_ns > one.end:
            one.end = time_ns
        one.values.append(value)

    metrics = [
        _metric(RENAMED.get(name, name), list(by_attrs.values()))
        for name, by_attrs in series.items()
    ]
    metrics.extend(extra)
    if not metrics:
        return None
    return MetricsData(
        resource_metrics=[
            ResourceMetrics(
                resource=resource,
                scope_metrics=[ScopeMetrics(scope=scope, metrics=metrics, schema_url="")],
                schema_url="",
            )
        ]
    )


def _metric(name: str, all_series: list[_Series]) -> Metric:
    spec = spec_for(name, [v for s in all_series for v in s.values])
    delta = AggregationTemporality.DELTA
    data: Sum | Histogram | Gauge
    if spec.kind in ("counter", "updowncounter", "sum"):
        data = Sum(
            data_points=[
                NumberDataPoint(s.attributes, s.start, s.end, _total(s.values)) for s in all_series
            ],
            aggregation_temporality=delta,
            is_monotonic=spec.kind != "updowncounter",
        )
    elif spec.kind == "gauge":
        data = Gauge(
            data_points=[
                NumberDataPoint(s.attributes, s.start, s.end, s.values[-1]) for s in all_series
            ]
        )
    else:
        bounds = spec.boundaries
        points = []
        for s in all_series:
            counts = [0] * (len(bounds) + 1)
            for v in s.values:
                # Explicit buckets are upper-inclusive: (bounds[i-1], bounds[i]].
                counts[bisect.bisect_left(bounds, v)] += 1
            points.append(
                HistogramDataPoint(
                    attributes=s.attributes,
                    start_time_unix_nano=s.start,
                    time_unix_nano=s.end,
                    count=len(s.values),
                    sum=_total(s.values),
                    bucket_counts=counts,
                    explicit_bounds=list(bounds),
                    min=min(s.values),
                    max=max(s.values),
                    exemplars=[],
                )
            )
        data = Histogram(data_points=points, aggregation_temporality=delta)
    return Metric(name=name, description=spec.description, unit=spec.unit, data=data)


def _total(values: list[float]) -> float:
    if all(isinstance(v, int) for v in values):
        return sum(values)
    return math.fsum(values)


def counter_metric(
    name: str,
    points: Iterable[tuple[dict[str, Any], int]],
    start_ns: int,
    end_ns: int,
    unit: str = "",
    description: str = "",
) -> Metric:
    """A delta monotonic counter from (attributes, value) pairs over one window (for optel's own counts)."""
    return Metric(
        name=name,
        description=description,
        unit=unit,
        data=Sum(
            data_points=[
                NumberDataPoint(attrs, start_ns, end_ns, value) for attrs, value in points
            ],
            aggregation_temporality=AggregationTemporality.DELTA,
            is_monotonic=True,
        ),
    )


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """`items` in lists of at most `size`."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
