"""Streaming readers: audit logs, spool files and OTLP JSON lines, as one stream of spool-schema records.

Every input becomes the records of the spool schema (docs/spool-format.md#lines-of-a-spool-file): a
header (`{"schema", "app", "resource"}`) before the records it describes, then `{"t": "span"}` and
`{"t": "metric"}` records. A collector's file exporter writes one OTLP export request per line; each
resource block in it becomes a header and its spans and data points become records, so everything
downstream reads one format. Lines are read one at a time: memory does not grow with the file.
"""

from __future__ import annotations

import json
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    Record = dict[str, object]

BAD: dict[str, object] = {"t": "bad"}
_STATUS = {2: "error", "STATUS_CODE_ERROR": "error", 1: "ok", "STATUS_CODE_OK": "ok"}


def input_files(path: str) -> list[str]:
    """The files to read: `path` itself, or a spool directory's flush files, oldest first."""
    if not os.path.isdir(path):
        return [path]
    names = sorted(n for n in os.listdir(path) if ".jsonl" in n)
    return [os.path.join(path, n) for n in names]


def read_lines(
    paths: Iterable[str], advanced: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The lines of every file in turn; `advanced(n)` is told of each n bytes read (a progress bar)."""
    for path in paths:
        with open(path, "rb") as f:
            for line in f:
                if advanced is not None:
                    advanced(len(line))
                yield line


def records(lines: Iterable[bytes]) -> Iterator[Record]:
    """Spool-schema records from lines of any of the three formats; an unusable line yields `BAD`."""
    for line in lines:
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            yield BAD
            continue
        if not isinstance(value, dict):
            yield BAD
        elif "resourceSpans" in value:
            yield from _otlp_blocks(value["resourceSpans"], "scopeSpans", "spans", _otlp_span)
        elif "resourceMetrics" in value:
            yield from _otlp_blocks(
                value["resourceMetrics"], "scopeMetrics", "metrics", _otlp_metric
            )
        else:
            yield value


def _otlp_blocks(
    blocks: object,
    scopes_key: str,
    items_key: str,
    convert: Callable[[dict[str, object]], Iterator[Record]],
) -> Iterator[Record]:
    for block in _dicts(blocks):
        resource = block.get("resource")
        attrs = otlp_attributes(resource.get("attributes") if isinstance(resource, dict) else None)
        yield {"schema": "otlp", "app": attrs.get("service.name"), "resource": attrs}
        for scope in _dicts(block.get(scopes_key)):
            for item in _dicts(scope.get(items_key)):
                yield from convert(item)


def _otlp_span(span: dict[str, object]) -> Iterator[Record]:
    status = span.get("status")
    code = status.get("code") if isinstance(status, dict) else None
    yield {
        "t": "span",
        "name": span.get("name"),
        "parent_span_id": span.get("parentSpanId") or None,
        "start_ns": _int(span.get("startTimeUnixNano")),
        "end_ns": _int(span.get("endTimeUnixNano")),
        "attributes": otlp_attributes(span.get("attributes")),
        "status": _STATUS.get(code, "unset") if isinstance(code, (int, str)) else "unset",
    }


def _otlp_metric(metric: dict[str, object]) -> Iterator[Record]:
    name = metric.get("name")
    for kind in ("sum", "gauge", "histogram"):
        data = metric.get(kind)
        if not isinstance(data, dict):
            continue
        for point in _dicts(data.get("dataPoints")):
            record: Record = {
                "t": "metric", "name": name, "time_ns": _int(point.get("timeUnixNano")),
                "attributes": otlp_attributes(point.get("attributes")),
            }  # fmt: skip
            if kind == "histogram":
                record["value"] = _number(point.get("sum"))
                record["count"] = _int(point.get("count"))
            else:
                record["value"] = _number(point.get("asDouble", point.get("asInt")))
            yield record


def otlp_attributes(values: object) -> dict[str, object]:
    """OTLP JSON `[{"key", "value": {"stringValue": ...}}]` as a plain dict."""
    out: dict[str, object] = {}
    for item in _dicts(values):
        key = item.get("key")
        if isinstance(key, str):
            out[key] = _any_value(item.get("value"))
    return out


def _any_value(value: object) -> object:
    if not isinstance(value, dict):
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return _int(value["intValue"])
    if "doubleValue" in value:
        return _number(value["doubleValue"])
    if "boolValue" in value:
        return value["boolValue"]
    array = value.get("arrayValue")
    if isinstance(array, dict):
        return [_any_value(v) for v in _dicts(array.get("values"))]
    return None


def _dicts(values: object) -> list[dict[str, object]]:
    return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []


def _int(value: object) -> int | None:
    # OTLP JSON writes 64-bit integers as strings.
    try:
        return int(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else None
    except ValueError:
        return None


def _number(value: object) -> float | None:
    try:
        return (
            float(value)
            if isinstance(value, (int, float, str)) and not isinstance(value, bool)
            else None
        )
    except ValueError:
        return None
