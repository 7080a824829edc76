"""Cumulative temporality for a user's endpoint that asks for it (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative`).

A spool file holds the deltas of one flush. A backend that wants cumulative series (Prometheus and
its kin) needs, per series, the total since a start time: so the uploader keeps a running total per
series of that destination in the spool directory (`cumulative.<16 hex>`, JSON), turns each delta
point into the total so far, and stores the new totals only once the collector took the request
(a request that failed is built again from the same totals). A series keeps its first start time;
one that is no longer in the file (the spool reset, or more than `MAX_SERIES` series, the least
recently seen forgotten) starts again with the delta's own start time: a reset, as OTLP means it.
Gauges are left as they are; the delta and lowmemory preferences ask for delta counters and
histograms, which is what optel sends anyway (it has no up-down counters).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AGGREGATION_TEMPORALITY_CUMULATIVE,
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
)

from optel.upload.otlp import Encoded, decode_attributes

_log = logging.getLogger("optel")

MAX_SERIES = 5000
_CUMULATIVE = AGGREGATION_TEMPORALITY_CUMULATIVE

# One series' total: [start_ns, time_ns, value] for a sum; for a histogram
# [start_ns, time_ns, count, sum, min, max, bucket_counts, explicit_bounds].
Total = list[Any]


def state_file(directory: str, url: str) -> str:
    """The file of running totals for the destination at `url`."""
    return os.path.join(directory, "cumulative." + hashlib.sha256(url.encode()).hexdigest()[:16])


class Totals:
    """The running totals of one destination: `cumulative()` converts a request, `commit()` keeps it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._totals: dict[str, Total] = _load(path)
        self._pending: dict[str, Total] = {}

    def cumulative(self, data: Encoded) -> Encoded:
        """`data` with every delta sum and histogram as the running total of its series."""
        pending: dict[str, Total] = {}

        def total(key: str) -> Total | None:
            return pending.get(key) or self._totals.get(key)

        out = data.message()  # parsed from the wire bytes: a user's endpoint that asks for it only
        for rm in out.resource_metrics:
            resource = _canonical(decode_attributes(rm.resource.attributes))
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    _metric(metric, f"{resource}|{sm.scope.name}", total, pending)
        self._pending = pending
        return Encoded(data.signal, out.SerializeToString())

    def commit(self) -> None:
        """The collector took the last converted request: its totals are the series' totals now."""
        if not self._pending:
            return
        totals = self._totals
        for key, value in self._pending.items():
            totals.pop(key, None)  # re-inserted last: the dict's order is least recently seen first
            totals[key] = value
        while len(totals) > MAX_SERIES:
            del totals[next(iter(totals))]
        self._pending = {}
        _store(self.path, totals)


def _metric(metric: Metric, prefix: str, total: Any, pending: dict[str, Total]) -> None:
    """Turn `metric`'s delta points into running totals, in place."""
    which = metric.WhichOneof("data")
    if which == "sum" and metric.sum.aggregation_temporality != _CUMULATIVE:
        points = []
        for p in sorted(metric.sum.data_points, key=lambda p: p.time_unix_nano):
            key = _key(prefix, metric.name, "sum", decode_attributes(p.attributes))
            before = total(key)
            value = getattr(p, p.WhichOneof("value") or "as_int")
            start, end, value = (before[0], max(before[1], p.time_unix_nano), before[2] + value) if before else (
                p.start_time_unix_nano, p.time_unix_nano, value
            )  # fmt: skip
            pending[key] = [start, end, value]
            point = NumberDataPoint(
                attributes=p.attributes, start_time_unix_nano=start, time_unix_nano=end
            )
            if isinstance(value, int):
                point.as_int = value
            else:
                point.as_double = value
            points.append(point)
        del metric.sum.data_points[:]
        metric.sum.data_points.extend(points)
        metric.sum.aggregation_temporality = _CUMULATIVE
    elif which == "histogram" and metric.histogram.aggregation_temporality != _CUMULATIVE:
        hist = []
        for h in sorted(metric.histogram.data_points, key=lambda p: p.time_unix_nano):
            key = _key(prefix, metric.name, "histogram", decode_attributes(h.attributes))
            before = total(key)
            now: Total = [h.start_time_unix_nano, h.time_unix_nano, h.count, h.sum, h.min, h.max,
                          list(h.bucket_counts), list(h.explicit_bounds)]  # fmt: skip
            if before and before[7] == now[7]:  # other buckets than before: a new series (a reset)
                now = [before[0], max(before[1], now[1]), before[2] + now[2], before[3] + now[3],
                       min(before[4], now[4]), max(before[5], now[5]),
                       [a + b for a, b in zip(before[6], now[6])], now[7]]  # fmt: skip
            pending[key] = now
            start, end, count, total_sum, low, high, buckets, bounds = now
            hist.append(
                HistogramDataPoint(
                    attributes=h.attributes, start_time_unix_nano=start, time_unix_nano=end,
                    count=count, sum=total_sum, bucket_counts=buckets, explicit_bounds=bounds,
                    min=low, max=high,
                )
            )  # fmt: skip
        del metric.histogram.data_points[:]
        metric.histogram.data_points.extend(hist)
        metric.histogram.aggregation_temporality = _CUMULATIVE


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _key(prefix: str, name: str, kind: str, attributes: Mapping[str, Any] | None) -> str:
    text = f"{prefix}|{name}|{kind}|{_canonical(dict(attributes or {}))}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _load(path: str) -> dict[str, Total]:
    try:
        with open(path, encoding="utf-8") as f:
            loaded = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        _log.debug(
            "optel: unreadable cumulative totals %s; the series start again", path, exc_info=True
        )
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {k: v for k, v in loaded.items() if isinstance(v, list) and len(v) in (3, 8)}


def _store(path: str, totals: dict[str, Total]) -> None:
    tmp = (
        path + ".new"
    )  # one uploader at a time (the uploader lock); not `.tmp`, which the spool's sweep owns
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(totals, f, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError:
        # Not stored: the next run starts these series again (a reset), nothing is lost or doubled.
        _log.debug("optel: could not store cumulative totals %s", path, exc_info=True)
        try:
            os.unlink(tmp)
        except OSError:
            pass
