"""A readable account of what a receiver got: span trees with durations, metric values, resource attributes."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, TextIO

from optel.record import names as n

_STATUS_ERROR = 2
# Attributes worth a glance in the tree; everything else is in the data dictionary (`optel show`).
_SHOWN = (
    n.COMMAND_NAME,
    n.STEP_NAME,
    n.REQUEST_NAME,
    n.GEN_AI_PROVIDER_NAME,
    n.GEN_AI_REQUEST_MODEL,
    n.GEN_AI_RESPONSE_MODEL,
    n.GEN_AI_USAGE_INPUT_TOKENS,
    n.GEN_AI_USAGE_OUTPUT_TOKENS,
    n.ERROR_TYPE,
    n.EXCEPTION_MESSAGE,
    n.PROCESS_EXIT_CODE,
)


def _fmt_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render_spans(spans: list[dict[str, Any]], out: TextIO) -> None:
    """Each trace as an indented tree, children in start order, with durations and key attributes."""
    by_id = {s["span_id"]: s for s in spans}
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        parent = span["parent_span_id"] if span["parent_span_id"] in by_id else None
        children[parent].append(span)

    def walk(span: dict[str, Any], depth: int) -> None:
        took = (span["end_ns"] - span["start_ns"]) / 1e6
        mark = "  ERROR" if span["status_code"] == _STATUS_ERROR else ""
        shown = ", ".join(
            f"{k}={_fmt_value(span['attributes'][k])}" for k in _SHOWN if k in span["attributes"]
        )
        out.write(
            f"  {'  ' * depth}{span['name']}  {took:.1f} ms{mark}{'  [' + shown + ']' if shown else ''}\n"
        )
        for name, attrs in span["events"]:
            detail = ": ".join(
                str(attrs[k]) for k in (n.EXCEPTION_TYPE, n.EXCEPTION_MESSAGE) if k in attrs
            )
            out.write(f"  {'  ' * depth}  ! {name}{'  ' + detail if detail else ''}\n")
        for child in sorted(children[span["span_id"]], key=lambda s: s["start_ns"]):
            walk(child, depth + 1)

    roots = sorted(children[None], key=lambda s: s["start_ns"])
    out.write(f"Spans ({len(spans)} in {len(roots)} trace{'s' if len(roots) != 1 else ''}):\n")
    for root in roots:
        walk(root, 0)


def merge_points(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Points of one metric and attribute set added up across runs (each run exports its own deltas)."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for point in points:
        key = (point["name"], repr(sorted(point["attributes"].items())))
        seen = merged.get(key)
        if seen is None:
            merged[key] = dict(point)
        elif point["kind"] == "histogram":
            seen["count"] += point["count"]
            seen["sum"] += point["sum"]
        else:
            seen["value"] += point["value"]
    return list(merged.values())


def render_metrics(points: list[dict[str, Any]], out: TextIO) -> None:
    """One line per metric and attribute set, over all runs: a sum, or a histogram's count, sum and mean."""
    merged = merge_points(points)
    out.write(
        f"Metrics ({len({p['name'] for p in points})} instruments, {len(points)} points from all runs):\n"
    )
    for point in sorted(merged, key=lambda p: (p["name"], sorted(p["attributes"].items()))):
        attrs = ", ".join(f"{k}={_fmt_value(v)}" for k, v in sorted(point["attributes"].items()))
        unit = f" {point['unit']}" if point["unit"] and point["unit"] != "1" else ""
        if point["kind"] == "histogram":
            mean = point["sum"] / point["count"] if point["count"] else 0.0
            value = f"count={point['count']} sum={point['sum']:.4g}{unit} mean={mean:.4g}{unit}"
        else:
            value = f"{_fmt_value(point['value'])}{unit}"
        out.write(f"  {point['name']}{' {' + attrs + '}' if attrs else ''}  {value}\n")


def render_resource(spans: list[dict[str, Any]], points: list[dict[str, Any]], out: TextIO) -> None:
    """The resource attributes the data carried (identical for every run of one install)."""
    resource = (spans or points or [{"resource": {}}])[0]["resource"]
    out.write("Resource attributes:\n")
    for key in sorted(resource):
        out.write(f"  {key} = {_fmt_value(resource[key])}\n")


def render_summary(spans: list[dict[str, Any]], points: list[dict[str, Any]], out: TextIO) -> None:
    """Everything the receiver got, in the order a reader wants it."""
    render_spans(spans, out)
    out.write("\n")
    render_metrics(points, out)
    out.write("\n")
    render_resource(spans, points, out)
